-- Forced parallel plans: the combine functions give what the serial plan gives
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- enough rows to split: CDNOW replicated under distinct customer ids
CREATE TABLE parallel_tx AS
SELECT customer_id + 100000 * k AS customer_id, day::timestamptz AS at, amount
FROM fixture.cdnow_sample, generate_series(0, 9) k;
CREATE TABLE parallel_summary AS
SELECT c.*, k FROM fixture.cdnow_summary_tx c, generate_series(1, 20) k;
ANALYZE parallel_tx;
ANALYZE parallel_summary;

CREATE TEMP TABLE serial_rfm AS
SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM parallel_tx GROUP BY customer_id;
CREATE TEMP TABLE serial_holdout AS
SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days') AS h
FROM parallel_tx GROUP BY customer_id;
CREATE TEMP TABLE serial_fit AS
SELECT bgnbd_fit(x, t_x, t)::text AS bg, gamma_gamma_fit(x, zbar)::text AS gg FROM parallel_summary;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

-- the plans really are partial aggregates under a Gather
EXPLAIN (COSTS OFF)
SELECT bgnbd_fit(x, t_x, t), gamma_gamma_fit(x, zbar) FROM parallel_summary;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') FROM parallel_tx GROUP BY customer_id;
RESET enable_hashagg;

-- identical results: the fits bit for bit (the state is a sorted histogram)
SELECT bgnbd_fit(x, t_x, t)::text = (SELECT bg FROM serial_fit) AS bgnbd_same,
       gamma_gamma_fit(x, zbar)::text = (SELECT gg FROM serial_fit) AS gamma_gamma_same
FROM parallel_summary;

-- rfm per customer: the same summaries, whichever worker saw which row
SET enable_hashagg = off;
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM parallel_tx GROUP BY customer_id
) p FULL JOIN serial_rfm s USING (customer_id)
WHERE p.r IS DISTINCT FROM s.r;
RESET enable_hashagg;
-- a parallel hash aggregate does the same
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM parallel_tx GROUP BY customer_id
) p FULL JOIN serial_rfm s USING (customer_id)
WHERE p.r IS DISTINCT FROM s.r;

-- rfm_holdout with a time_zone, in a session of another zone: the partial states carry the
-- zone through the combine, and the summaries are the serial ones of a UTC session
SET timezone = 'America/Los_Angeles';
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days', 'UTC')
FROM parallel_tx GROUP BY customer_id;
SELECT count(*) AS holdout_customers_differing FROM (
  SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days', 'UTC') AS h
  FROM parallel_tx GROUP BY customer_id
) p FULL JOIN serial_holdout s USING (customer_id)
WHERE p.h IS DISTINCT FROM s.h;
RESET enable_hashagg;
SET timezone = 'UTC';

-- every aggregate of the extension is parallel safe with a combine function and a concrete state
SELECT p.proname, a.aggcombinefn <> 0 AS has_combine, p.proparallel = 's' AS parallel_safe,
       a.aggtranstype::regtype AS state_type
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'customer_score'::regnamespace
ORDER BY p.proname, p.pronargs;

DROP TABLE parallel_tx, parallel_summary;
