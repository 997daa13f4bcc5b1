-- Bad input is part of the interface.  Every function and aggregate the extension owns is
-- called with edge values (NULL, 0, -1, NaN, +-Infinity, huge and tiny magnitudes, empty and
-- huge texts, malformed type text), generated from the catalog so that a new function is
-- covered without anyone remembering to.  Each call must give a defined result or a clear
-- error with a specific SQLSTATE: never an internal error (XX000), a hang (statement_timeout),
-- a crash (the connection would be lost and this file would fail), or NaN/Infinity in a result.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(9);

-- a sane value per argument (by name first, then by type), so that one argument at a time varies
CREATE FUNCTION pg_temp.sane(argname text, argtype regtype) RETURNS text LANGUAGE sql AS $$
  SELECT CASE
    WHEN argname = 'actions' THEN quote_literal('SELECT 1::bigint AS id, 1::bigint AS customer_id, NULL::bigint AS sparked_by, '
                                               '''1997-01-01''::timestamptz AS at, 5::float8 AS value, ''web'' AS channel, ''review'' AS kind '
                                               'UNION ALL SELECT 2, 2, 1, ''1997-01-02'', 10, ''web'', ''purchase''')
    WHEN argname = 'edges' THEN quote_literal('SELECT 1::bigint AS source, 2::bigint AS target, 1::float8 AS weight')
    WHEN argname = 'query' THEN quote_literal('SELECT 2 AS frequency, 30.43::float8 AS recency, 38.86::float8 AS t, '
                                             '1 AS holdout_frequency, 39::float8 AS holdout_t, 22.35::float8 AS monetary, '
                                             '20::float8 AS holdout_spend UNION ALL SELECT 0, 0, 20, 0, 39, 0, 0')
    WHEN argname = 'transactions' THEN quote_literal('SELECT 1::bigint AS customer_id, ''1997-01-01''::timestamptz AS at '
                                                    'UNION ALL SELECT 1, ''1997-03-01'' UNION ALL SELECT 2, ''1997-02-01''')
    WHEN argname = 'customers' THEN quote_literal('SELECT 1::bigint AS customer_id, 2 AS frequency, 30.43::float8 AS recency, '
                                                 '38.86::float8 AS t, 22.35::float8 AS monetary '
                                                 'UNION ALL SELECT 2, 0, 0, 20, 0 UNION ALL SELECT 3, 1, 10, 30, 15')
    WHEN argname = 'level' THEN '0.9'
    WHEN argname = 'touches' THEN 'NULL'
    WHEN argname = 'attribution' THEN quote_literal('last')
    WHEN argname = 'model' AND argtype = 'text'::regtype THEN quote_literal('default')
    WHEN argname = 'kind' AND argtype = 'text'::regtype THEN quote_literal('transactions')
    ELSE CASE argtype
      WHEN 'double precision'::regtype THEN '2.5'
      WHEN 'integer'::regtype THEN '3'
      WHEN 'bigint'::regtype THEN '1'
      WHEN 'text'::regtype THEN quote_literal('x')
      WHEN 'boolean'::regtype THEN 'false'
      WHEN 'timestamp with time zone'::regtype THEN quote_literal('1997-09-30')
      WHEN 'interval'::regtype THEN quote_literal('7 days')
      WHEN 'regclass'::regtype THEN quote_literal('pg_catalog.pg_class')
      WHEN 'regrole'::regtype THEN quote_literal('postgres')
      WHEN 'oid'::regtype THEN '1259'
      WHEN 'jsonb'::regtype THEN quote_literal('{"r": 0.243, "converged": true}')
      WHEN 'customer_score.bgnbd'::regtype THEN quote_literal('(r=0.243,alpha=4.414,a=0.793,b=2.426)')
      WHEN 'customer_score.gamma_gamma'::regtype THEN quote_literal('(p=6.25,q=3.74,v=15.44)')
      WHEN 'customer_score.pareto_nbd'::regtype THEN quote_literal('(r=0.553,alpha=10.578,s=0.606,beta=11.669)')
      WHEN 'customer_score.mbgnbd'::regtype THEN quote_literal('(r=0.525,alpha=6.183,a=0.891,b=1.614)')
      WHEN 'customer_score.bgbb'::regtype THEN quote_literal('(alpha=1.204,beta=0.75,gamma=0.657,delta=2.783)')
      WHEN 'customer_score.sbg'::regtype THEN quote_literal('(alpha=0.704,beta=1.182)')
      WHEN 'customer_score.bgbb_state'::regtype THEN quote_literal('v1 (2,4,6):3 (0,0,6):2 (6,6,6):1')
      WHEN 'customer_score.sbg_state'::regtype THEN quote_literal('v1 (1,1):369 (2,1):163 (7,0):241')
      WHEN 'customer_score.bgnbd_state'::regtype THEN quote_literal('v1 (2,30.43,38.86):1 (0,0,38.86):2 (1,5,38):1')
      WHEN 'customer_score.pareto_nbd_state'::regtype THEN quote_literal('v1 (2,30.43,38.86):1 (0,0,38.86):2 (1,5,38):1')
      WHEN 'customer_score.mbgnbd_state'::regtype THEN quote_literal('v1 (2,30.43,38.86):1 (0,0,38.86):2 (1,5,38):1')
      WHEN 'customer_score.gamma_gamma_state'::regtype THEN quote_literal('v1 (2,22.35):3 (1,10):1')
      WHEN 'customer_score.rfm_state'::regtype THEN quote_literal('v1 as_of=-71107200000000 as_of_local=-71107200000000 unit=604800 first_at=-94608000000000 last_at=-91929600000000 rows=2 days=-1095:29.33,-1064:14.96')
      WHEN 'customer_score.rfm_holdout_state'::regtype THEN quote_literal('v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5')
      WHEN 'customer_score.purchase_days'::regtype THEN quote_literal('{2024-01-01:15.00/2,2024-01-08:20/1}')
      WHEN 'date'::regtype THEN quote_literal('2024-01-05')
      WHEN 'date[]'::regtype THEN quote_literal('{2024-01-08,2024-01-01}')
      WHEN 'bigint[]'::regtype THEN quote_literal('{1,1}')
      WHEN 'customer_score.outcome_state'::regtype THEN quote_literal('v1 (1,10):2 (2,0):1 (3,30):1')
      WHEN 'text[]'::regtype THEN CASE WHEN argname = 'missing' THEN quote_literal('{renormalize,neutral}')
                                       WHEN argname = 'names' THEN quote_literal('{A,B}') ELSE quote_literal('{"A > B",B}') END
      WHEN 'numeric'::regtype THEN '500'
      WHEN 'numeric[]'::regtype THEN CASE WHEN argname = 'floors' THEN quote_literal('{800,0}') ELSE quote_literal('{1.5,2}') END
      WHEN 'double precision[]'::regtype THEN quote_literal('{1,0.5}')
      WHEN 'boolean[]'::regtype THEN quote_literal('{true,false}')
    END
  END || '::' || argtype::text
$$;
-- (a type without a sane value would drop an argument silently: the test below catches it)

-- the edge values of each type
CREATE FUNCTION pg_temp.edges(argtype regtype) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT e || '::' || argtype::text FROM unnest(CASE argtype
    WHEN 'double precision'::regtype THEN ARRAY['NULL', '0', '''-0''', '-1', '''NaN''', '''Infinity''', '''-Infinity''',
                                       '1e308', '-1e308', '1e-308', '5e-324', '1e15']
    WHEN 'integer'::regtype THEN ARRAY['NULL', '0', '-1', '2147483647', '-2147483648']
    WHEN 'bigint'::regtype THEN ARRAY['NULL', '0', '-1', '9223372036854775807', '(-9223372036854775807 - 1)']
    WHEN 'text'::regtype THEN ARRAY['NULL', '''''', ''' ''', '''SELECT''', '''SELECT 1''', '''last''',
                           'repeat(''a'', 100000)', '''SELECT NULL::bigint AS id''']
    WHEN 'boolean'::regtype THEN ARRAY['NULL', 'true']
    WHEN 'timestamp with time zone'::regtype THEN ARRAY['NULL', '''infinity''', '''-infinity''', '''4713-01-01 BC''',
                                               '''294276-12-31''', '''epoch''']
    WHEN 'interval'::regtype THEN ARRAY['NULL', '''0''', '''-7 days''', '''1 microsecond''', '''178000000 years''',
                               '''-178000000 years''']
    WHEN 'regclass'::regtype THEN ARRAY['NULL', '''pg_catalog.pg_class''']
    WHEN 'regrole'::regtype THEN ARRAY['NULL', '''pg_database_owner''']
    WHEN 'oid'::regtype THEN ARRAY['NULL', '0', '4294967295']
    WHEN 'jsonb'::regtype THEN ARRAY['NULL', '''{}''', '''{"r": 0}''', '''{"r": -1e308, "converged": null}''', '''[1]''']
    WHEN 'customer_score.bgnbd'::regtype THEN ARRAY['NULL', '''(r=1e-300,alpha=1e300,a=1e-300,b=1e300)''',
                                           '''(r=1e300,alpha=1e-300,a=1e300,b=1e-300)''', '''(r=1,alpha=1,a=1,b=1)''']
    WHEN 'customer_score.pareto_nbd'::regtype THEN ARRAY['NULL', '''(r=1e-300,alpha=1e300,s=1e-300,beta=1e-300)''',
                                           '''(r=1e300,alpha=1e-300,s=1e300,beta=1e300)''', '''(r=1,alpha=1e300,s=1,beta=1e-300)''',
                                           '''(r=1,alpha=1,s=1,beta=1)''']
    WHEN 'customer_score.mbgnbd'::regtype THEN ARRAY['NULL', '''(r=1e-300,alpha=1e300,a=1e-300,b=1e300)''',
                                           '''(r=1e300,alpha=1e-300,a=1e300,b=1e-300)''', '''(r=1,alpha=1,a=1,b=1)''']
    WHEN 'customer_score.bgbb'::regtype THEN ARRAY['NULL', '''(alpha=1e-300,beta=1e300,gamma=1e-300,delta=1e300)''',
                                           '''(alpha=1e300,beta=1e-300,gamma=1e300,delta=1e-300)''', '''(alpha=1,beta=1,gamma=1,delta=1)''']
    WHEN 'customer_score.sbg'::regtype THEN ARRAY['NULL', '''(alpha=1e-300,beta=1e300)''', '''(alpha=1e300,beta=1e-300)''',
                                          '''(alpha=1,beta=1)''']
    WHEN 'customer_score.bgbb_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (10000,10000,10000):9223372036854775807''',
                                                '''v1 (0,0,10000):1 (1,1,10000):1''', '''v1 (0,0,0):1''']
    WHEN 'customer_score.sbg_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (2147483647,1):9223372036854775807''',
                                               '''v1 (0,0):1''', '''v1 (1,1):1''']
    WHEN 'customer_score.pareto_nbd_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (2000000000,1e300,1e300):9223372036854775807''',
                                                 '''v1 (0,0,0):1''']
    WHEN 'customer_score.mbgnbd_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (2000000000,1e300,1e300):9223372036854775807''',
                                                 '''v1 (0,0,0):1''']
    WHEN 'customer_score.gamma_gamma'::regtype THEN ARRAY['NULL', '''(p=1e-300,q=1e-300,v=1e300)''',
                                                 '''(p=1e300,q=1e300,v=1e-300)''', '''(p=1,q=1,v=1)''']
    WHEN 'customer_score.bgnbd_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (2000000000,1e300,1e300):9223372036854775807''',
                                                 '''v1 (0,0,0):1''']
    WHEN 'customer_score.gamma_gamma_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (2000000000,1e300):9223372036854775807''',
                                                       '''v1 (1,5e-324):1''']
    WHEN 'customer_score.rfm_state'::regtype THEN ARRAY['NULL']
    WHEN 'customer_score.rfm_holdout_state'::regtype THEN ARRAY['NULL']
    WHEN 'customer_score.purchase_days'::regtype THEN ARRAY['NULL', '''{}''', '''{2024-01-01:1/0}''',
      '''{4714-11-24 BC:0/-9223372036854775808,5874897-12-31:99999999999999999999.99/9223372036854775807}''',
      '''{2024-01-01:-1e-1000/9223372036854775807,2024-01-08:1/9223372036854775807}''']
    WHEN 'date'::regtype THEN ARRAY['NULL', '''infinity''', '''-infinity''', '''4714-11-24 BC''', '''5874897-12-31''']
    WHEN 'date[]'::regtype THEN ARRAY['NULL', '''{}''', '''{NULL,NULL}''', '''{infinity,2024-01-01}''', '''{{2024-01-01},{2024-01-02}}''',
                              '''{2024-01-01,2024-01-01}''']
    WHEN 'numeric[]'::regtype THEN ARRAY['NULL', '''{}''', '''{NaN,1}''', '''{Infinity,1}''', '''{NULL,1}''', '''{1e-1000,-1e1000}''']
    WHEN 'bigint[]'::regtype THEN ARRAY['NULL', '''{}''', '''{0,0}''', '''{9223372036854775807,9223372036854775807}''',
                                '''{-9223372036854775808,-1}''']
    WHEN 'customer_score.outcome_state'::regtype THEN ARRAY['NULL', '''v1''', '''v1 (0,0):1''',
      '''v1 (1e308,1e308):9223372036854775807 (-1e308,0):9223372036854775807''', '''v1 (5e-324,1e308):1 (0,1e308):1''']
    WHEN 'text[]'::regtype THEN ARRAY['NULL', '''{}''', '''{"",B}''', '''{" > ",NULL}''', '''{">>>",A}''',
                              'ARRAY[repeat(''a > '', 300) || ''z'', ''b'']']
    WHEN 'double precision[]'::regtype THEN ARRAY['NULL', '''{}''', '''{NaN,1}''', '''{Infinity,1}''', '''{NULL,1}''',
                                          '''{1e308,1e308}''', '''{-1,0}''', '''{5e-324,0}''', '''{{1},{2}}''']
    WHEN 'boolean[]'::regtype THEN ARRAY['NULL', '''{}''', '''{NULL,NULL}''', '''{false,false}''']
    WHEN 'numeric'::regtype THEN ARRAY['NULL', '''NaN''', '''Infinity''', '''-Infinity''', '-1', '0', '1e1000']
    ELSE ARRAY['NULL']
  END) e
$$;

CREATE TEMP TABLE edge_results (fn text, call text, sqlstate text, message text, result text);

DO $$
DECLARE
  f record;
  i int;
  e text;
  args text[];
  call text;
  res text;
  state text;
  msg text;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname, p.prokind, p.proretset,
           -- proargtypes is an oidvector, indexed from 0: rebuild it from 1 like proargnames
           ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types, coalesce(p.proargnames, '{}') AS names, p.pronargs
    FROM pg_proc p
    WHERE p.pronamespace = 'customer_score'::regnamespace
      AND p.prorettype <> 'trigger'::regtype
      AND NOT ('internal'::regtype = ANY (p.proargtypes::regtype[]))
      AND NOT ('cstring'::regtype = ANY (p.proargtypes::regtype[]))
      AND p.pronargs > 0
    ORDER BY 2
  LOOP
    FOR i IN 1 .. f.pronargs LOOP
      FOR e IN SELECT * FROM pg_temp.edges(f.types[i]) LOOP
        args := ARRAY(SELECT CASE WHEN j = i THEN e ELSE pg_temp.sane(f.names[j], f.types[j]) END
                      FROM generate_series(1, f.pronargs) j);
        IF f.prokind = 'a' THEN
          -- an aggregate over a sane row and the edge row
          call := format('SELECT %s(%s)::text FROM (VALUES (%s), (%s)) v(%s)',
                         f.oid::regproc,
                         (SELECT string_agg(format('c%s', j), ', ') FROM generate_series(1, f.pronargs) j),
                         (SELECT string_agg(pg_temp.sane(f.names[j], f.types[j]), ', ') FROM generate_series(1, f.pronargs) j),
                         array_to_string(args, ', '),
                         (SELECT string_agg(format('c%s', j), ', ') FROM generate_series(1, f.pronargs) j));
        ELSIF f.proretset THEN
          call := format('SELECT string_agg(r::text, '';'') FROM %s(%s) r', f.oid::regproc, array_to_string(args, ', '));
        ELSE
          call := format('SELECT %s(%s)::text', f.oid::regproc, array_to_string(args, ', '));
        END IF;
        BEGIN
          SET LOCAL statement_timeout = '10s';
          EXECUTE call INTO res;
          INSERT INTO edge_results VALUES (f.signature, call, 'ok', NULL, res);
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
          INSERT INTO edge_results VALUES (f.signature, call, state, msg, NULL);
        END;
      END LOOP;
    END LOOP;
  END LOOP;
END
$$;

SELECT is((SELECT count(*) FROM edge_results WHERE sqlstate = '42883'), 0::bigint,
          'every generated call names an existing function (the generator knows every argument type)')
UNION ALL SELECT diag(message) FROM (SELECT DISTINCT message FROM edge_results WHERE sqlstate = '42883') m;
SELECT cmp_ok((SELECT count(*) FROM edge_results), '>', 700::bigint, 'more than 700 edge calls generated from the catalog');
SELECT cmp_ok((SELECT count(DISTINCT fn) FROM edge_results), '>=', 40::bigint, 'covering every function and aggregate with arguments');
SELECT is((SELECT count(*) FROM edge_results WHERE sqlstate LIKE 'XX%'), 0::bigint, 'no internal errors')
UNION ALL SELECT diag(fn || ': ' || message || ' <- ' || left(call, 300)) FROM edge_results WHERE sqlstate LIKE 'XX%';
SELECT is((SELECT count(*) FROM edge_results WHERE sqlstate = '57014'), 0::bigint, 'no call hangs (10 s statement_timeout)')
UNION ALL SELECT diag(fn || ' <- ' || left(call, 300)) FROM edge_results WHERE sqlstate = '57014';
SELECT is((SELECT count(*) FROM edge_results WHERE result ~* '(^|[^a-z])(nan|-?infinity)([^a-z]|$)'),
          0::bigint, 'no NaN or Infinity in any result')
UNION ALL SELECT diag(fn || ' = ' || left(result, 200) || ' <- ' || left(call, 300)) FROM edge_results
WHERE result ~* '(^|[^a-z])(nan|-?infinity)([^a-z]|$)' AND fn NOT LIKE '%rfm_state%';
-- every error a user can cause carries a specific SQLSTATE (a class other than XX)
SELECT is((SELECT count(*) FROM edge_results WHERE sqlstate <> 'ok' AND sqlstate !~ '^(22|23|42|54|55|57|0A|3F|P0|2B|42)'), 0::bigint,
          'errors come from the data, syntax, limit or state classes')
UNION ALL SELECT diag(sqlstate || ' ' || fn || ': ' || message) FROM edge_results
WHERE sqlstate <> 'ok' AND sqlstate !~ '^(22|23|42|54|55|57|0A|3F|P0|2B|42)';

-- the text input of every type, fuzzed at SQL level: mutations of valid texts (insert, delete,
-- replace, duplicate a character; splice in digits, signs, separators), cast to the type
SELECT setseed(0.20261125);
CREATE TEMP TABLE fuzz_seeds (type regtype, seed text);
INSERT INTO fuzz_seeds VALUES
  ('customer_score.bgnbd', '(r=0.24259290733431274,alpha=4.413531563207213,a=0.7928861410291201,b=2.4257534097503193,log_likelihood=-9582.425560567362,customers=2357,converged=true)'),
  ('customer_score.gamma_gamma', '(p=6.25,q=3.74,v=15.44,log_likelihood=-4055.9,customers=946,converged=false)'),
  ('customer_score.bgnbd_state', 'v1 (0,0,38.86):2 (2,30.43,38.86):1 (17,28.43,28.86):4'),
  ('customer_score.gamma_gamma_state', 'v1 (1,11.77):3 (2,22.35):1 (7,73.74):2'),
  ('customer_score.bgbb', '(alpha=1.2035223437610536,beta=0.7497163534417648,gamma=0.6567182103508744,delta=2.783442235477201,log_likelihood=-33225.581274347016,customers=11104,converged=true)'),
  ('customer_score.sbg', '(alpha=0.7040772989194493,beta=1.1820430268460895,log_likelihood=-1680.2651884632867,customers=1000,converged=true)'),
  ('customer_score.bgbb_state', 'v1 (0,0,6):3464 (1,1,6):1091 (2,4,6):179 (6,6,6):1203'),
  ('customer_score.sbg_state', 'v1 (1,1):369 (2,1):163 (7,0):241'),
  ('customer_score.rfm_state', 'v1 as_of=-71107200000000 as_of_local=-71107200000000 unit=604800 first_at=-94608000000000 last_at=-91929600000000 rows=3 days=-1095:29.33,-1078:29.73,-1064:14.96');
CREATE FUNCTION pg_temp.mutate(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  pieces text[] := ARRAY['0', '9', '-', '+', '.', 'e', 'e999', ',', ':', '(', ')', '=', ' ', 'NaN', 'inf', 'v1', 'x', '1e-400', '99999999999999999999'];
  p int;
BEGIN
  FOR k IN 1 .. 1 + floor(random() * 4)::int LOOP
    p := 1 + floor(random() * greatest(length(t), 1))::int;
    t := CASE floor(random() * 5)::int
      WHEN 0 THEN overlay(t PLACING '' FROM p FOR 1)
      WHEN 1 THEN overlay(t PLACING pieces[1 + floor(random() * array_length(pieces, 1))::int] FROM p FOR 0)
      WHEN 2 THEN overlay(t PLACING pieces[1 + floor(random() * array_length(pieces, 1))::int] FROM p FOR 1)
      WHEN 3 THEN overlay(t PLACING substr(t, p, 1 + floor(random() * 10)::int) FROM p FOR 0)
      ELSE left(t, p)
    END;
  END LOOP;
  RETURN t;
END
$$;
CREATE TEMP TABLE fuzz_results (type regtype, input text, sqlstate text, message text, reparsed text);
DO $$
DECLARE
  s record;
  input text;
  state text;
  msg text;
BEGIN
  FOR s IN SELECT * FROM fuzz_seeds LOOP
    FOR k IN 1 .. 2000 LOOP
      input := pg_temp.mutate(s.seed);
      BEGIN
        EXECUTE format('SELECT %L::%s::text', input, s.type) INTO msg;
        EXECUTE format('SELECT %L::%s::text', msg, s.type) INTO state;
        INSERT INTO fuzz_results VALUES (s.type, input, 'ok', msg, state);
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO fuzz_results VALUES (s.type, input, state, msg, NULL);
      END;
    END LOOP;
  END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM fuzz_results WHERE sqlstate !~ '^(ok|22)'), 0::bigint,
          format('%s fuzzed inputs over 5 types: each parses or fails with a data error (22xxx)',
                 (SELECT count(*) FROM fuzz_results)))
UNION ALL SELECT diag(type || ' ' || sqlstate || ': ' || message || ' <- ' || input) FROM fuzz_results WHERE sqlstate !~ '^(ok|22)';
-- what parses prints as text that parses to the same value (output round-trips exactly)
SELECT is((SELECT count(*) FROM fuzz_results WHERE sqlstate = 'ok' AND reparsed IS DISTINCT FROM message), 0::bigint,
          format('the %s accepted fuzz inputs round-trip through their text output',
                 (SELECT count(*) FROM fuzz_results WHERE sqlstate = 'ok')))
UNION ALL SELECT diag(type || ': ' || input || ' -> ' || message || ' -> ' || reparsed) FROM fuzz_results
WHERE sqlstate = 'ok' AND reparsed IS DISTINCT FROM message;

SELECT * FROM finish();
ROLLBACK;
