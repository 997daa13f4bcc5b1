-- distribute_tables() and undistribute_tables() without Citus: a NOTICE, no row, every table as
-- it was; only their owner may run them (test/shell/citus.sh runs them on a real cluster).
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file

SELECT plan(8);

SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'citus'), 0::bigint, 'Citus is not installed here');
CREATE TEMP TABLE shape_before AS
SELECT c.oid, c.relname, c.relkind, c.relfilenode FROM pg_class c
WHERE c.relnamespace = 'customer_score'::regnamespace AND c.relkind IN ('r', 'p');
CREATE TEMP TABLE rows_before AS SELECT (SELECT count(*) FROM components) AS components, (SELECT count(*) FROM reason_codes) AS reason_codes;

SELECT is((SELECT count(*) FROM distribute_tables()), 0::bigint, 'distribute_tables() without Citus shapes no table');
SELECT is((SELECT count(*) FROM distribute_tables('customer_score.scores_history')), 0::bigint,
          '... whatever it is asked to co-locate with');
SELECT is((SELECT count(*) FROM undistribute_tables()), 0::bigint, 'undistribute_tables() without Citus changes no table');
SET client_min_messages = warning;
SELECT set_eq($$SELECT c.oid, c.relname, c.relkind, c.relfilenode FROM pg_class c
                WHERE c.relnamespace = 'customer_score'::regnamespace AND c.relkind IN ('r', 'p')$$,
              'SELECT * FROM shape_before', 'every table of the extension is the same relation, with the same file');
SELECT is((SELECT ROW(r.components, r.reason_codes)::text FROM rows_before r),
          ROW((SELECT count(*) FROM components), (SELECT count(*) FROM reason_codes))::text, '... and the same rows');
SELECT ok(NOT has_function_privilege('public', 'customer_score.distribute_tables(regclass)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'customer_score.undistribute_tables()', 'EXECUTE'),
          'PUBLIC may not run distribute_tables or undistribute_tables');
SELECT is((SELECT string_agg(relation::text || ' ' || shape, ', ' ORDER BY step) FROM citus_tables()),
          'opt_outs reference, components reference, reason_codes reference, scores_history distributed, backtest_customers distributed',
          'citus_tables() lists the tables and their shape on Citus');

SELECT * FROM finish();
ROLLBACK;
