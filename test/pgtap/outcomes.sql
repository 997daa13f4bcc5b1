-- The outcome metrics and path attribution against independent computations on generated data:
-- Gini, top-decile capture, Spearman and calibration in plain SQL over 5,000 customers with ties
-- and zeros; Markov removal effects by a PL/pgSQL value iteration and Shapley values by the
-- formula summed over coalitions in SQL, over generated paths.  And privacy: opted-out customers
-- are absent from backtests, learned weights and the evidence of proposed action weights.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(12);

-- 5,000 customers: scores with many ties, realized values with many zeros and ties
CREATE TEMP TABLE pop AS
SELECT g AS id, round((sin(g) * 20)::numeric)::float8 AS s,
       CASE WHEN g % 3 = 0 THEN 0 ELSE round((abs(cos(g * 7)) * 100)::numeric)::float8 + (g % 5) END AS r
FROM generate_series(1, 5000) g;

-- Gini in plain SQL: blocks of equal score, highest first; the curve is straight within a block
CREATE TEMP VIEW plain_gini AS
WITH b AS (SELECT s, count(*)::float8 AS n, sum(r) AS v FROM pop GROUP BY s),
     c AS (SELECT n, v, sum(v) OVER (ORDER BY s DESC) AS held FROM b),
     best AS (SELECT r, sum(r) OVER (ORDER BY r DESC ROWS UNBOUNDED PRECEDING) AS held FROM pop),
     t AS (SELECT count(*)::float8 AS n, sum(r) AS v FROM pop)
SELECT (2 * (SELECT sum(c.n / t.n * (c.held - c.v + c.held) / 2 / t.v) FROM c) - 1)
     / (2 * (SELECT sum(1 / t.n * (best.held - best.r + best.held) / 2 / t.v) FROM best) - 1) AS gini
FROM t;
SELECT ok(abs((SELECT normalized_gini(s, r) FROM pop) - (SELECT gini FROM plain_gini)) < 1e-12,
          'normalized_gini equals the plain-SQL Gini over tie blocks');
-- top-decile capture in plain SQL: whole blocks above the cut, the block across it pro rata
SELECT ok(abs((SELECT top_decile_capture(s, r) FROM pop) - (
    WITH b AS (SELECT s, count(*)::float8 AS n, sum(r) AS v FROM pop GROUP BY s),
         c AS (SELECT s, n, v, sum(n) OVER (ORDER BY s DESC) - n AS before,
                      sum(v) OVER (ORDER BY s DESC) - v AS held_before FROM b)
    SELECT (held_before + v * (500 - before) / n) / (SELECT sum(r) FROM pop)
    FROM c WHERE before < 500 AND before + n >= 500)) < 1e-12,
    'top_decile_capture equals the plain-SQL share of the top 500 of 5,000, tied block pro rata');
-- without ties: the sum of the top tenth over the total
SELECT ok(abs((SELECT top_decile_capture(id, r) FROM pop) -
              (SELECT sum(r) FILTER (WHERE id > 4500) / sum(r) FROM pop)) < 1e-12,
          'top_decile_capture without ties is the top tenth''s share');
-- Spearman: Pearson correlation of average ranks
SELECT ok(abs((SELECT spearman(s, r) FROM pop) - (
    SELECT corr(rs, rr) FROM (
        SELECT rank() OVER (ORDER BY s) + (count(*) OVER (PARTITION BY s) - 1) / 2.0 AS rs,
               rank() OVER (ORDER BY r) + (count(*) OVER (PARTITION BY r) - 1) / 2.0 AS rr FROM pop) x)) < 1e-12,
          'spearman equals corr() of the average ranks');
-- calibration: position order (score descending, realized ascending), ten equal groups
SELECT is((SELECT count(*) FROM (
              SELECT k.decile, k.customers, k.mean_score, k.mean_realized, p.decile AS pd, p.customers AS pc,
                     p.mean_score AS ps, p.mean_realized AS pr
              FROM calibration((SELECT outcome_partial(s, r) FROM pop)) k
              FULL JOIN (SELECT (((rn - 1) * 10) / 5000 + 1)::integer AS decile, count(*) AS customers,
                                avg(s) AS mean_score, avg(r) AS mean_realized
                         FROM (SELECT s, r, row_number() OVER (ORDER BY s DESC, r) AS rn FROM pop) x
                         GROUP BY 1) p ON p.decile = k.decile) y
           WHERE pd IS NULL OR decile IS NULL OR pc <> customers OR abs(ps - mean_score) > 1e-9
              OR abs(pr - mean_realized) > 1e-9),
          0::bigint, 'calibration equals ntile-style groups in plain SQL');
-- order independence: the same rows shuffled give the same bits
SELECT is((SELECT normalized_gini(s, r)::text || top_decile_capture(s, r)::text || spearman(s, r)::text
           FROM (SELECT * FROM pop ORDER BY md5(id::text)) x),
          (SELECT normalized_gini(s, r)::text || top_decile_capture(s, r)::text || spearman(s, r)::text
           FROM (SELECT * FROM pop ORDER BY id DESC) x),
          'the metrics do not depend on row order');

-- Generated paths over four states
CREATE TEMP TABLE gen_paths AS
SELECT path, sum(conv)::float8 AS conversions, sum(1 - conv)::float8 AS nulls, sum(conv * (10 + j % 7))::float8 AS value
FROM (SELECT j, (SELECT string_agg(chr(65 + ((j * 31 + k * 17 + (j / 7) * k) % 4)), ' > ' ORDER BY k)
                 FROM generate_series(1, 1 + j % 4) k) AS path,
             CASE WHEN (j * 13) % 10 < 3 + (j % 4) THEN 1 ELSE 0 END AS conv
      FROM generate_series(1, 400) j) x
GROUP BY path;
CREATE TEMP TABLE got AS
SELECT * FROM path_attribution((SELECT array_agg(path ORDER BY path) FROM gen_paths),
                               (SELECT array_agg(conversions ORDER BY path) FROM gen_paths),
                               (SELECT array_agg(nulls ORDER BY path) FROM gen_paths),
                               (SELECT array_agg(value ORDER BY path) FROM gen_paths));

-- Markov: transition counts in SQL, P(conversion) by value iteration in PL/pgSQL
CREATE TEMP TABLE trans AS
SELECT src, dst, sum(w) AS w FROM (
    SELECT CASE WHEN o = 1 THEN '(start)' ELSE st[o - 1] END AS src, st[o] AS dst, p.conversions + p.nulls AS w
    FROM gen_paths p, LATERAL (SELECT string_to_array(p.path, ' > ') AS st) a, generate_series(1, array_length(a.st, 1)) o
    WHERE o = 1 OR st[o - 1] <> st[o]
    UNION ALL
    SELECT st[array_length(st, 1)], '(conversion)', p.conversions FROM gen_paths p, LATERAL (SELECT string_to_array(p.path, ' > ') AS st) a
    UNION ALL
    SELECT st[array_length(st, 1)], '(null)', p.nulls FROM gen_paths p, LATERAL (SELECT string_to_array(p.path, ' > ') AS st) a) t
GROUP BY src, dst;
CREATE FUNCTION pg_temp.p_conversion(removed text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    it int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS x (state text PRIMARY KEY, p float8);
    TRUNCATE x;
    INSERT INTO x SELECT DISTINCT src, 0 FROM pg_temp.trans;
    FOR it IN 1 .. 2000 LOOP
        UPDATE x SET p = n.p FROM (
            SELECT t.src, sum(t.w * CASE WHEN t.dst = '(conversion)' THEN 1
                                         WHEN t.dst = removed OR t.dst = '(null)' THEN 0
                                         ELSE (SELECT y.p FROM x y WHERE y.state = t.dst) END)
                          / sum(t.w) AS p
            FROM pg_temp.trans t GROUP BY t.src) n
        WHERE x.state = n.src AND x.state IS DISTINCT FROM removed;
    END LOOP;
    RETURN (SELECT p FROM x WHERE state = '(start)');
END
$$;
CREATE TEMP TABLE want_markov AS
SELECT s.state, 1 - pg_temp.p_conversion(s.state) / pg_temp.p_conversion(NULL) AS removal_effect
FROM (SELECT DISTINCT dst AS state FROM trans WHERE dst NOT IN ('(conversion)', '(null)')) s;
SELECT is((SELECT count(*) FROM got g JOIN want_markov w USING (state)
           WHERE abs(g.removal_effect - w.removal_effect) < 1e-9), 4::bigint,
          'removal effects equal a value iteration of the chain in PL/pgSQL (4 states)');
SELECT ok(abs((SELECT sum(markov_conversions) FROM got) - (SELECT sum(conversions) FROM gen_paths)) < 1e-9
          AND abs((SELECT sum(markov_value) FROM got) - (SELECT sum(value) FROM gen_paths)) < 1e-9,
          'Markov attribution shares out every conversion and its value');

-- Shapley: v(T) = conversion rate of the paths whose distinct states are exactly T; each
-- converting set's conversions split by sum over T of |T|! (m-|T|-1)! / m! (v(T + i) - v(T)) / v(S)
CREATE TEMP TABLE sets AS
SELECT st, sum(conversions) AS c, sum(nulls) AS u, sum(value) AS v
FROM (SELECT (SELECT array_agg(DISTINCT x ORDER BY x) FROM unnest(string_to_array(path, ' > ')) x) AS st, conversions, nulls, value
      FROM gen_paths) p GROUP BY st;
CREATE FUNCTION pg_temp.worth(t text[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT coalesce((SELECT c / (c + u) FROM pg_temp.sets WHERE st = t), 0)
$$;
CREATE TEMP TABLE want_shapley AS
SELECT player AS state, sum(s.c * phi / pg_temp.worth(s.st)) AS conversions, sum(s.v * phi / pg_temp.worth(s.st)) AS value
FROM sets s
CROSS JOIN LATERAL (
    SELECT s.st[i] AS player,
           sum(exp(lgamma_t.lt) * (pg_temp.worth(tu.t_with) - pg_temp.worth(tu.t_without))) AS phi
    FROM generate_series(1, array_length(s.st, 1)) i,
         generate_series(0, (1 << array_length(s.st, 1)) - 1) mask,
         LATERAL (SELECT coalesce(array_agg(s.st[k] ORDER BY s.st[k]) FILTER (WHERE mask & (1 << (k - 1)) <> 0), '{}') AS t_without,
                         array_agg(s.st[k] ORDER BY s.st[k]) FILTER (WHERE mask & (1 << (k - 1)) <> 0 OR k = i) AS t_with,
                         count(*) FILTER (WHERE mask & (1 << (k - 1)) <> 0) AS size
                  FROM generate_series(1, array_length(s.st, 1)) k) tu,
         LATERAL (SELECT ln(factorial(tu.size)::float8) + ln(factorial(array_length(s.st, 1) - tu.size - 1)::float8)
                         - ln(factorial(array_length(s.st, 1))::float8) AS lt) lgamma_t
    WHERE mask & (1 << (i - 1)) = 0
    GROUP BY i) sh
WHERE s.c > 0
GROUP BY player;
SELECT is((SELECT count(*) FROM got g JOIN want_shapley w USING (state)
           WHERE abs(g.shapley_conversions - w.conversions) < 1e-9 AND abs(g.shapley_value - w.value) < 1e-9), 4::bigint,
          'Shapley attribution equals the formula summed over coalitions in SQL (4 states)');
SELECT ok(abs((SELECT sum(shapley_conversions) FROM got) - (SELECT sum(conversions) FROM gen_paths)) < 1e-9,
          'Shapley values of each path add up to its conversions');

-- Privacy: an opted-out customer is absent from a backtest, the learned weights' data and the
-- evidence of proposed action weights
CREATE SCHEMA crm;
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO crm.tx SELECT c, '2024-01-01'::timestamptz + (c * 3 + k * 11) % 80 * interval '1 day', 10 + (c * k) % 50
FROM generate_series(1, 60) c, generate_series(1, 1 + c % 4) k;
INSERT INTO crm.tx SELECT c, '2024-05-01'::timestamptz + c * interval '1 hour', c FROM generate_series(1, 60) c WHERE c % 3 <> 0;
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text);
INSERT INTO crm.actions VALUES
  (1, 7, NULL, '2024-01-05', 0, 'secret', 'visit'),      -- customer 7 opts out
  (2, 7, NULL, '2024-01-06', 25, 'web', 'purchase'),
  (3, 8, NULL, '2024-01-05', 0, 'web', 'visit'),
  (4, 8, NULL, '2024-01-07', 15, 'web', 'purchase');
INSERT INTO opt_outs (customer_id) VALUES (7);
SELECT set_source('transactions', 'crm.tx'), set_source('actions', 'crm.actions');
SELECT backtest('default', '2024-03-31', '2024-06-30') AS bt \gset
SELECT is((SELECT count(*) FROM backtest_customers WHERE backtest_id = :bt AND customer_id = 7), 0::bigint,
          'an opted-out customer is absent from the backtest (and so from what weights are learned from)');
SELECT is((SELECT count(*) FROM propose_action_weights('2024-06-30') WHERE channel = 'secret'), 0::bigint,
          'an opted-out customer''s touches are absent from the proposed action weights');

SELECT * FROM finish();
ROLLBACK;
