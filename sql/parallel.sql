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

-- rows in time order, as a table of transactions usually is: each worker's states come sorted
-- and the combine merges them, keeping them sorted; the same summaries as the serial plan
CREATE TABLE parallel_tx_by_time AS SELECT * FROM parallel_tx ORDER BY at, amount, customer_id;
ANALYZE parallel_tx_by_time;
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM parallel_tx_by_time GROUP BY customer_id
) p FULL JOIN serial_rfm s USING (customer_id)
WHERE p.r IS DISTINCT FROM s.r;

-- refresh reads the purchase histories with parallel workers where the plan allows: the stored
-- scores are those of a single-process refresh, bit for bit (in a transaction rolled back:
-- published models are kept)
BEGIN;
SELECT new_version('parallel_check', 'forced parallel plans') AS version \gset
INSERT INTO model_components (model, version, position, component, weight) VALUES
  ('parallel_check', :version, 1, 'predicted_clv', 0.5), ('parallel_check', :version, 2, 'historic_value', 0.3),
  ('parallel_check', :version, 3, 'p_alive', 0.2);
SELECT publish('parallel_check', :version) IS NOT NULL AS published;
SELECT count(*) AS sources_set FROM (SELECT set_source('transactions', 'parallel_tx_by_time', 'parallel_check')) s;
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SELECT refresh('parallel_check', '1998-06-30') AS serial_run \gset
SET max_parallel_workers_per_gather = 2;
SELECT refresh('parallel_check', '1998-06-30') AS parallel_run \gset
RESET client_min_messages;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (a.score, a.confidence, a.raw, a.normalized, a.contribution, a.observed)
                              IS DISTINCT FROM (b.score, b.confidence, b.raw, b.normalized, b.contribution, b.observed)) AS differing
FROM (SELECT * FROM scores_history WHERE run_id = :serial_run) a
FULL JOIN (SELECT * FROM scores_history WHERE run_id = :parallel_run) b USING (customer_id);
SELECT r.purchase_model::text = p.purchase_model::text AND r.spend_model::text = p.spend_model::text AS same_fits
FROM score_runs r, score_runs p WHERE r.run_id = :serial_run AND p.run_id = :parallel_run;
ROLLBACK;
DROP TABLE parallel_tx_by_time;

-- every aggregate of the extension is parallel safe with a combine function and a concrete state
SELECT p.proname, a.aggcombinefn <> 0 AS has_combine, p.proparallel = 's' AS parallel_safe,
       a.aggtranstype::regtype AS state_type
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE p.pronamespace = 'customer_score'::regnamespace
ORDER BY p.proname, p.pronargs;

DROP TABLE parallel_tx, parallel_summary;
