-- Real CRM data through the managed layer (issue 11): data without spend, fits that did not
-- converge, an empty source, an as_of beyond the data, two models scoring two data sets side by
-- side from sources of their own, and refresh run phase by phase.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
SET search_path = public, customer_score;
SET timezone = 'UTC';
SET extra_float_digits = 0;
-- errors show their message, detail and hint; not the line of the PL/pgSQL function raising them
\set SHOW_CONTEXT never

CREATE SCHEMA rd;
-- the BTYDplus grocery log has no spend; the CLVTools apparel data has prices
CREATE VIEW rd.grocery AS SELECT customer_id, day::timestamptz AS at, 0::float8 AS amount FROM fixture.grocery_tx;
CREATE VIEW rd.apparel AS SELECT id AS customer_id, day::timestamptz AS at, price AS amount FROM fixture.apparel_tx;
CREATE TABLE rd.nothing (customer_id bigint, at timestamptz, amount float8);

-- two models, each reading a transactions source of its own
SELECT new_version('grocery', 'BTYDplus grocery log') AS grocery, new_version('apparel', 'CLVTools apparel') AS apparel;
INSERT INTO model_components (model, version, position, component, weight) VALUES
  ('grocery', 1, 1, 'predicted_clv', 0.6), ('grocery', 1, 2, 'historic_value', 0.2), ('grocery', 1, 3, 'expected_purchases', 0.2),
  ('apparel', 1, 1, 'predicted_clv', 0.7), ('apparel', 1, 2, 'historic_value', 0.3);
SELECT publish('grocery', 1), publish('apparel', 1);
SELECT set_source('transactions', 'rd.grocery', 'grocery'), set_source('transactions', 'rd.apparel', 'apparel');
SELECT set_source('transactions', 'rd.apparel', 'no_such_model');
SELECT kind, model, relation FROM sources WHERE model <> '' ORDER BY model, kind;

-- no spend data: predicted_clv ranks by expected purchases, and says so
SELECT refresh('grocery', '2006-12-31') > 0 AS refreshed;
SELECT customers, transactions, purchase_fit, spend_fit, clv_basis, warnings, spend_model IS NULL AS no_spend_model
FROM score_runs WHERE model = 'grocery';
SELECT count(*) AS customers, count(DISTINCT score) > 100 AS scores_spread, min(score) < 200 AS some_low, max(score) >= 790 AS some_high
FROM scores WHERE model = 'grocery';
SELECT component, observed, explanation FROM score_explanation WHERE model = 'grocery' AND customer_id = 1 ORDER BY position;
SELECT code FROM score_reasons WHERE model = 'grocery' AND customer_id = 1 ORDER BY rank;

-- amount 1 for every purchase: the Gamma-Gamma fit runs off (p to infinity), with a WARNING, unused
CREATE VIEW rd.grocery_one AS SELECT customer_id, at, 1::float8 AS amount FROM rd.grocery;
SELECT set_source('transactions', 'rd.grocery_one', 'grocery');
SELECT refresh('grocery', '2006-12-31') AS one_run \gset
SELECT purchase_fit, spend_fit, clv_basis, spend_model IS NULL AS spend_model_unused FROM score_runs WHERE run_id = :one_run;
SELECT set_source('transactions', 'rd.grocery', 'grocery');

-- a BG/NBD fit that runs along its ridge (a, b to infinity): a WARNING, recorded, not used
SET client_min_messages = warning;
SELECT refresh('apparel', '2005-10-09') AS apparel_run \gset
SELECT customers, purchase_fit, spend_fit, clv_basis, purchase_model IS NULL AS purchase_model_unused,
       cardinality(warnings) AS warnings
FROM score_runs WHERE run_id = :apparel_run;
SELECT count(*) FILTER (WHERE observed) AS clv_observed, count(*) AS customers
FROM score_explanation WHERE model = 'apparel' AND component = 'predicted_clv';

-- ... unless the model version says to use such fits
SELECT new_version('apparel') AS v2 \gset
UPDATE model_versions SET use_unconverged_fits = true WHERE model = 'apparel' AND version = :v2;
SELECT publish('apparel', :v2);
SELECT refresh('apparel', '2005-10-09') AS apparel_run2 \gset
SELECT version, purchase_fit, clv_basis, purchase_model IS NOT NULL AS purchase_model_used, cardinality(warnings) AS warnings
FROM score_runs WHERE run_id = :apparel_run2;

-- two data sets side by side, each model with its own runs
SELECT model, count(*) AS customers FROM scores WHERE model IN ('grocery', 'apparel') GROUP BY model ORDER BY model;
SELECT model, count(*) AS runs FROM score_runs WHERE model IN ('grocery', 'apparel') GROUP BY model ORDER BY model;

-- customer ids as CRMs have them: text ('C00001') and uuid, numbered through customer_keys; the
-- views show them as the source has them, and the scores are those of the integer ids
CREATE VIEW rd.apparel_text AS SELECT 'C' || lpad(id::text, 5, '0') AS customer_id, day::timestamp AS at, price AS amount FROM fixture.apparel_tx;
CREATE VIEW rd.apparel_uuid AS
SELECT md5(id::text)::uuid AS customer_id, day::timestamptz AS at, price::numeric AS amount FROM fixture.apparel_tx;
SELECT new_version('apparel_text') AS t1, new_version('apparel_uuid') AS u1 \gset
INSERT INTO model_components (model, version, position, component, weight)
SELECT m, 1, position, component, weight FROM model_components, unnest(ARRAY['apparel_text', 'apparel_uuid']) m
WHERE model = 'apparel' AND version = :v2;
UPDATE model_versions SET use_unconverged_fits = true WHERE model IN ('apparel_text', 'apparel_uuid');
SELECT publish('apparel_text', 1), publish('apparel_uuid', 1);
SELECT set_source('transactions', 'rd.apparel_text', 'apparel_text'), set_source('transactions', 'rd.apparel_uuid', 'apparel_uuid');
SELECT refresh('apparel_text', '2005-10-09') > 0 AS text_ids, refresh('apparel_uuid', '2005-10-09') > 0 AS uuid_ids;
SELECT model, customer_keys FROM latest_runs WHERE model LIKE 'apparel%' ORDER BY model;
SELECT customer_key, score FROM scores WHERE model = 'apparel_text' ORDER BY score DESC, customer_key LIMIT 3;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE t.score = i.score) AS same_score_as_integer_ids,
       count(*) FILTER (WHERE u.score = i.score) AS same_score_with_uuid_ids
FROM scores i
JOIN scores t ON t.model = 'apparel_text' AND t.customer_key = 'C' || lpad(i.customer_id::text, 5, '0')
JOIN scores u ON u.model = 'apparel_uuid' AND u.customer_key = md5(i.customer_id::text)::uuid::text
WHERE i.model = 'apparel';
SELECT count(DISTINCT customer_key) AS keyed_explanations FROM score_explanation WHERE model = 'apparel_uuid';
SELECT count(*) AS reasons_with_keys FROM score_reasons WHERE model = 'apparel_text' AND customer_key LIKE 'C%';
-- live scores of a table with text ids: the trigger numbers the keys as refresh does
CREATE TABLE rd.live_text (customer_id text, at timestamptz, amount numeric);
INSERT INTO rd.live_text SELECT 'C' || lpad(id::text, 5, '0'), day::timestamptz, price FROM fixture.apparel_tx WHERE id <= 20;
SELECT track_transactions('rd.live_text') AS counted;
INSERT INTO rd.live_text VALUES ('C00001', '2006-01-01', 10), ('NEW-1', '2006-01-02', 5), ('NEW-1', '2006-03-01', 7);
DELETE FROM rd.live_text WHERE customer_id = 'C00002';
UPDATE rd.live_text SET customer_id = 'NEW-2' WHERE customer_id = 'C00003';
SELECT count(*) AS drift FROM live_days_differences();
SELECT customer_key, frequency, purchases FROM live_scores
WHERE model = 'apparel_text' AND customer_key IN ('C00001', 'C00002', 'C00003', 'NEW-1', 'NEW-2') ORDER BY 1;
-- the numbers are refresh's: a live customer and its scores share customer_id
SELECT count(*) AS live_customers_with_scores
FROM live_customers c JOIN scores s ON s.model = 'apparel_text' AND s.customer_id = c.customer_id
JOIN customer_keys k ON k.customer_id = c.customer_id AND k.customer_key = s.customer_key;
SELECT untrack_transactions();

-- a model's sources agree on the kind of customer id
CREATE VIEW rd.signals_int AS SELECT 1::bigint AS customer_id, 'nps'::text AS component, 1::float8 AS value;
SELECT set_source('signals', 'rd.signals_int', 'apparel_text');
SELECT refresh('apparel_text', '2005-10-09');
DELETE FROM sources WHERE model = 'apparel_text' AND kind = 'signals';

-- an as_of long after the data: a WARNING
SELECT refresh('grocery', '2012-01-01') AS late_run \gset
SELECT warnings FROM score_runs WHERE run_id = :late_run;

-- an empty source is refused and the previous scores stay the ones shown
SELECT set_source('transactions', 'rd.nothing', 'apparel');
SELECT refresh('apparel', '2005-10-09');
SELECT count(*) AS apparel_customers_still_shown FROM scores WHERE model = 'apparel';
SELECT set_source('transactions', 'rd.apparel', 'apparel');

-- refresh phase by phase, as refresh() runs them, in one transaction
BEGIN;
SELECT refresh_begin('grocery', '2006-12-31') AS run \gset
SELECT refresh_lifetime_value(:run);
SELECT count(*) AS histories, count(expected_purchases) AS with_expected_purchases,
       count(predicted_clv) AS with_predicted_clv FROM pg_temp.cs_ltv;
SELECT refresh_influence(:run), refresh_signals(:run);
SELECT refresh_normalise_and_score(:run) AS scored \gset
SELECT :scored AS scored, status FROM score_runs WHERE run_id = :run;
SELECT count(*) AS shown_while_running FROM scores WHERE model = 'grocery' AND as_of = '2006-12-31';
SELECT refresh_store(:run, :scored);
SELECT status, customers FROM score_runs WHERE run_id = :run;
ROLLBACK;

-- phases of a run that is not running
SELECT refresh_influence(-1);

DELETE FROM sources WHERE model IN ('grocery', 'apparel', 'apparel_text', 'apparel_uuid');
DELETE FROM score_runs WHERE model IN ('grocery', 'apparel', 'apparel_text', 'apparel_uuid');
DROP SCHEMA rd CASCADE;
