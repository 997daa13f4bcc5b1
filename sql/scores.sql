-- Composite scores: sources, versioned models, refresh, explanations
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
-- refresh reports progress in NOTICEs with timings: keep them out of the expected output
SET search_path = customer_score, public;
SET timezone = 'UTC';

CREATE SCHEMA crm;
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO crm.tx VALUES
  (1, '2024-01-05', 100), (1, '2024-02-05', 100), (1, '2024-03-05', 100),
  (2, '2024-01-10', 50),  (2, '2024-03-01', 70),
  (3, '2024-02-01', 20),
  (4, '2024-01-20', 500), (4, '2024-02-20', 10),
  (5, '2024-01-02', 300), (5, '2024-02-02', 300), (5, '2024-03-02', 300),   -- no actions at all
  (6, '2024-01-15', 40);                                                   -- opted out of tracking
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz,
                          value float8, channel text, kind text);
INSERT INTO crm.actions VALUES
  (1, 1, NULL, '2024-01-06', 0,  'community', 'review'),
  (2, 2, 1,    '2024-01-10', 50, 'web',       'purchase'),
  (3, 3, 1,    '2024-02-01', 20, 'store',     'purchase'),
  (4, 4, NULL, '2024-01-21', 0,  'social',    'like'),      -- active, moved nobody
  (6, 6, NULL, '2024-01-16', 0,  'community', 'review'),    -- by an opted-out customer
  (7, 2, 6,    '2024-02-02', 99, 'web',       'purchase');  -- sparked by it: must credit nobody
CREATE TABLE crm.signals (customer_id bigint, component text, value float8);
INSERT INTO crm.signals VALUES (1, 'nps', 9), (2, 'nps', 7), (3, 'nps', 3), (4, 'nps', 10), (6, 'nps', 8);
INSERT INTO opt_outs (customer_id, reason) VALUES (6, 'asked not to be tracked');

-- sources are checked by column name and type
SELECT set_source('transactions', 'crm.tx');
SELECT set_source('actions', 'crm.actions');
SELECT set_source('signals', 'crm.signals');
SELECT set_source('orders', 'crm.tx');
SELECT set_source('transactions', 'crm.signals');
CREATE TABLE crm.bad_tx (customer_id bigint, at text, amount numeric);
SELECT set_source('transactions', 'crm.bad_tx');
SELECT kind, relation FROM sources ORDER BY kind;

-- a model of our own: hand-checkable components
SELECT new_version('test', 'historic value, influence and NPS');
INSERT INTO model_components (model, version, position, component, weight, normalization, missing) VALUES
  ('test', 1, 1, 'historic_value', 0.5, 'percentile', 'renormalize'),
  ('test', 1, 2, 'influence_value', 0.3, 'minmax', 'renormalize'),
  ('test', 1, 3, 'nps', 0.2, 'minmax', 'neutral');
SELECT refresh('test', '2024-03-31');   -- a draft is not used
SELECT publish('test', 1);
SELECT refresh('test', '2024-03-31') AS run_1 \gset

-- published versions are immutable; a change is a new version
UPDATE model_components SET weight = 0.9 WHERE model = 'test' AND version = 1 AND component = 'nps';
DELETE FROM model_components WHERE model = 'test' AND version = 1;
UPDATE model_versions SET scale = 100 WHERE model = 'test' AND version = 1;
DELETE FROM model_versions WHERE model = 'test' AND version = 1;
SELECT publish('test', 1);

SELECT customer_id, model, version, as_of, score, confidence FROM scores WHERE model = 'test' ORDER BY customer_id;

-- how each score was derived; contributions add up to the score exactly
SELECT customer_id, component, raw_value, round(normalized::numeric, 4) AS normalized, weight,
       round(weight_used::numeric, 4) AS weight_used, contribution, share, observed
FROM score_explanation WHERE model = 'test' ORDER BY customer_id, position;
SELECT count(*) AS customers_not_adding_up
FROM scores s
WHERE s.model = 'test'
  AND s.score <> (SELECT sum(e.contribution) FROM score_explanation e WHERE e.model = s.model AND e.customer_id = s.customer_id);

-- customer 5 has no actions: influence is left out and the other weights renormalised, not a penalty
SELECT explanation FROM score_explanation WHERE model = 'test' AND customer_id = 5 AND component = 'influence_value';
-- the opted-out customer's review credits nobody, and nobody credits it
SELECT customer_id, raw_value FROM score_explanation
WHERE model = 'test' AND component = 'influence_value' ORDER BY customer_id;

SELECT customer_id, rank, code, effect, component, impact, sentence
FROM score_reasons WHERE model = 'test' ORDER BY customer_id, rank;

SELECT model, version, status, position, component, weight, direction, normalization, missing, data_as_of,
       left(description, 50) AS description, parameters
FROM model_explanation WHERE model = 'test' ORDER BY version, position;
-- the fitted models are part of the explanation of the lifetime-value components
SELECT component, (parameters::jsonb) ? 'bgnbd' AS shows_bgnbd, (parameters::jsonb) ? 'gamma_gamma' AS shows_gamma_gamma
FROM model_explanation WHERE model = 'default' AND component IN ('predicted_clv', 'p_alive', 'historic_value') ORDER BY position;

-- a second version and a later refresh: why did the scores move?
SELECT new_version('test', 'NPS counts more');
UPDATE model_components SET weight = 0.4 WHERE model = 'test' AND version = 2 AND component = 'nps';
SELECT publish('test', 2);
INSERT INTO crm.tx VALUES (3, '2024-04-10', 400);
SELECT refresh('test', '2024-04-30') AS run_2 \gset
SELECT customer_id, component, previous_version, current_version, version_changed,
       previous_score, current_score, score_change, contribution_change
FROM score_changes WHERE model = 'test' AND customer_id IN (3, 5) ORDER BY customer_id, component;
SELECT count(*) AS changes_not_adding_up FROM (
  SELECT customer_id, max(score_change) AS score_change, sum(contribution_change) AS moved
  FROM score_changes WHERE model = 'test' GROUP BY customer_id) c
WHERE score_change <> moved;

-- the history keeps every run, each naming its model version
SELECT r.run_id - :run_1 AS run, r.model, r.version, r.as_of, r.status, r.customers, r.transactions, r.actions, r.components
FROM score_runs r WHERE r.model = 'test' ORDER BY r.run_id;

-- a customer for whom nothing the model uses is observed scores 0 with confidence 0
SELECT new_version('actions_only');
INSERT INTO model_components (model, version, position, component, weight) VALUES ('actions_only', 1, 1, 'influence_value', 1);
SELECT publish('actions_only', 1);
SELECT refresh('actions_only', '2024-04-30') > 0 AS refreshed;
SELECT customer_id, score, confidence FROM scores WHERE model = 'actions_only' AND customer_id IN (1, 5) ORDER BY customer_id;

-- errors
SELECT refresh('no_such_model');
SELECT refresh('test', 'infinity');
DELETE FROM sources WHERE kind = 'signals';
SELECT refresh('test');

-- the default model ships published
SELECT model, version, status, component, weight FROM model_explanation WHERE model = 'default' ORDER BY position;

DROP SCHEMA crm CASCADE;
DELETE FROM scores_history;
DELETE FROM score_runs;
DELETE FROM sources;
DELETE FROM opt_outs;
