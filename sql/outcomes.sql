-- Outcome metrics, path attribution, backtest and learned weights: cases computed by hand.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
SET search_path = customer_score, public;
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- Four customers, realized 60, 30, 10, 0 (total 100), scored 4, 3, 2, 1: the perfect order.
-- Capture curve after each quarter: 0.6, 0.9, 1.0, 1.0; area = 1/4 (0.3 + 0.75 + 0.95 + 1.0) = 0.75,
-- Gini 2 x 0.75 - 1 = 0.5, which is also the best order's: normalised 1.  Top 10 % = 0.4 of a
-- customer of 60: 0.24.  Spearman 1.
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r)
FROM (VALUES (4, 60), (3, 30), (2, 10), (1, 0)) v(s, r);
-- reversed: the curve 0, 0.1, 0.4, 1.0; area = 1/4 (0 + 0.05 + 0.25 + 0.7) = 0.25, Gini -0.5,
-- normalised -1; the top 10 % hold 0.4 x 0 = 0
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r)
FROM (VALUES (1, 60), (2, 30), (3, 10), (4, 0)) v(s, r);
-- a tie: scores 3, 2, 2, 1 for 60, 0, 30, 10.  Blocks {60}, {0, 30}, {10}: curve 0.6, 0.9, 1.0 at
-- 1/4, 3/4, 1; area = 1/4 x 0.3 + 2/4 x 0.75 + 1/4 x 0.95 = 0.6875, Gini 0.375, normalised 0.75.
-- Spearman: score ranks 4, 2.5, 2.5, 1 and realized ranks 4, 1, 3, 2: correlation 0.6325 (= 2 / sqrt(10)).
SELECT normalized_gini(s, r), top_decile_capture(s, r), round(spearman(s, r)::numeric, 4) AS spearman,
       round((2 / sqrt(10))::numeric, 4) AS by_hand
FROM (VALUES (3, 60), (2, 0), (2, 30), (1, 10)) v(s, r);
-- every score tied: no better than chance, whatever the order of the rows
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r)
FROM (VALUES (1, 60), (1, 30), (1, 10), (1, 0)) v(s, r);
-- one customer, all outcomes zero, no rows, NULL rows: NULL (or the pro-rata tenth), never NaN
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r) FROM (VALUES (1, 60)) v(s, r);
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r) FROM (VALUES (1, 0), (2, 0)) v(s, r);
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r) FROM (VALUES (1, 0)) v(s, r) WHERE false;
SELECT normalized_gini(s, r), top_decile_capture(s, r), spearman(s, r)
FROM (VALUES (1, NULL), (NULL, 5), (4, 60), (3, 30), (2, 10), (1, 0)) v(s, r);
-- bad input names the value
SELECT normalized_gini(s, r) FROM (VALUES (1, 'NaN'::float8)) v(s, r);
SELECT normalized_gini(s, r) FROM (VALUES (1, -1)) v(s, r);
SELECT spearman(s, r) FROM (VALUES ('Infinity'::float8, 1)) v(s, r);
SELECT outcome_transfn(NULL, 1, 1);
-- the state: text round trip, equal pairs merged
SELECT outcome_partial(s, r) FROM (VALUES (2, 5), (1, 0), (2, 5), (-0.0, 3)) v(s, r);
SELECT 'v1 (2,5):2 (1,0):1'::outcome_state;
SELECT 'v1 (2,5):0'::outcome_state;
SELECT 'v1 (2,-5):1'::outcome_state;

-- calibration: 23 customers, score k and realized 2k: groups of 3, 2, 2, 3, 2, 2, 3, 2, 2, 2
SELECT * FROM calibration((SELECT outcome_partial(k, 2 * k) FROM generate_series(1, 23) k));
-- fewer than ten customers: the empty groups give no row; ties go realized ascending
SELECT * FROM calibration('v1 (1,5):1 (1,0):1 (2,7):1'::outcome_state);

-- Markov removal effects and Shapley values, two channels by hand.
--   paths A > B (converted, value 100), A (did not), B (converted once, value 50, and once not)
--   start -> A 1/2, -> B 1/2; A -> B 1/2, -> null 1/2; B -> conversion 2/3, -> null 1/3
--   P(conversion) = 1/2 (1/2 x 2/3) + 1/2 (2/3) = 1/2; without A 1/3 (removal effect 1/3),
--   without B 0 (removal effect 1); shares 1/4 and 3/4 of 2 conversions and 150.
--   Shapley: v({A, B}) = 1, v({A}) = 0, v({B}) = 1/2: on A > B, A gets 1/4 and B 3/4; B takes the path B.
SELECT state, paths, conversions, round(removal_effect::numeric, 6) AS removal_effect,
       round(markov_conversions::numeric, 6) AS markov_conversions, round(markov_value::numeric, 6) AS markov_value,
       round(shapley_conversions::numeric, 6) AS shapley_conversions, round(shapley_value::numeric, 6) AS shapley_value
FROM path_attribution(ARRAY['A > B', 'A', 'B'], ARRAY[1, 0, 1], ARRAY[0, 1, 1], ARRAY[100, 0, 50]);
-- Three channels by hand: A > B > C (1 conversion), A > C (1 and 1 not), B (1 not), C (1 and 1 not).
--   P(C) = 3/5, P(B) = 3/10, P(A) = 1/3 x 3/10 + 2/3 x 3/5 = 1/2; P = (3 x 1/2 + 3/10 + 2 x 3/5) / 6 = 1/2.
--   Without A 1/4 (0.5), without B 2/5 (0.2), without C 0 (1): conversions 15/17, 6/17, 30/17 of 3.
--   Shapley on {A, B, C} with v(C) = v(A, C) = 1/2, v(A, B, C) = 1, others 0: 1/3, 1/12, 7/12;
--   on {A, C}: A 0, C 1; so A 1/3, B 1/12, C 31/12.
SELECT state, round(removal_effect::numeric, 6) AS removal_effect,
       round(markov_conversions::numeric, 6) AS markov_conversions, round((15 / 17.0)::numeric, 6) AS a_by_hand,
       round(shapley_conversions::numeric, 6) AS shapley_conversions
FROM path_attribution(ARRAY['A > B > C', 'A > C', 'B', 'C'], ARRAY[1, 1, 0, 1], ARRAY[0, 1, 1, 1], ARRAY[10, 10, 0, 10]);
-- ChannelAttribution's example (pychattr's README): A > B > A > B > B > A, A > B > B > A > A,
-- A > A, each converting once: A gets 2 conversions, B 1 (repeats in a row are one visit)
SELECT state, removal_effect, markov_conversions FROM path_attribution(
    ARRAY['A >B> A > B > B > A', 'A > B > B > A > A', 'A > A'], ARRAY[1, 1, 1], ARRAY[0, 0, 0], ARRAY[1, 1, 1]);
-- nothing converts: no removal effect, nothing attributed; no paths: no rows
SELECT * FROM path_attribution(ARRAY['A > B'], ARRAY[0], ARRAY[3], ARRAY[0]);
SELECT * FROM path_attribution('{}', '{}', '{}', '{}');
-- bad input
SELECT * FROM path_attribution(ARRAY['A > > B'], ARRAY[1], ARRAY[0], ARRAY[0]);
SELECT * FROM path_attribution(ARRAY['A'], ARRAY[1, 2], ARRAY[0], ARRAY[0]);
SELECT * FROM path_attribution(ARRAY['A'], ARRAY[-1], ARRAY[0], ARRAY[0]);
SELECT * FROM path_attribution(ARRAY[NULL::text], ARRAY[1], ARRAY[0], ARRAY[0]);
SELECT * FROM path_attribution(ARRAY['A'], ARRAY[1], ARRAY['NaN'::float8], ARRAY[0]);

-- Backtest: scores as of a past date, outcomes after it
CREATE SCHEMA crm;
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO crm.tx VALUES
  (1, '2024-01-05', 100), (1, '2024-02-05', 100), (1, '2024-03-05', 100), (1, '2024-04-10', 300),
  (2, '2024-01-10', 50),  (2, '2024-03-01', 70),  (2, '2024-05-01', 20),
  (3, '2024-02-01', 20),
  (4, '2024-01-20', 500), (4, '2024-02-20', 10),  (4, '2024-04-02', 40),
  (5, '2024-01-02', 300), (5, '2024-02-02', 300), (5, '2024-03-02', 300), (5, '2024-04-20', 250),
  (6, '2024-01-15', 40),  (6, '2024-04-15', 999),                               -- opted out
  (7, '2024-04-05', 80);                                                        -- new after as_of
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz,
                          value float8, channel text, kind text);
INSERT INTO crm.actions VALUES
  (1, 1, NULL, '2024-01-06', 0,  'community', 'review'),
  (2, 2, 1,    '2024-01-10', 50, 'web',       'purchase'),
  (3, 3, 1,    '2024-02-01', 20, 'store',     'purchase'),
  (4, 4, NULL, '2024-01-21', 0,  'social',    'post'),
  (5, 2, 4,    '2024-01-22', 0,  'social',    'like'),
  (8, 3, 4,    '2024-01-23', 0,  'social',    'share'),
  (6, 6, NULL, '2024-01-16', 0,  'community', 'review'),     -- by an opted-out customer
  (9, 2, 6,    '2024-01-17', 0,  'social',    'like'),       -- reacting to it: counts for nobody
  (10, 2, 1,   '2024-04-01', 40, 'web',       'purchase');   -- after as_of: realized influence of 1
INSERT INTO opt_outs (customer_id, reason) VALUES (6, 'asked not to be tracked');
SELECT set_source('transactions', 'crm.tx'), set_source('actions', 'crm.actions');

SELECT backtest('default', '2024-03-31', '2024-06-30') AS bt \gset
-- the backtest's run never reaches the live scores
SELECT count(*) AS live_runs FROM score_runs;
SELECT count(*) AS live_scores FROM scores;
SELECT model, version, as_of, until, customers, components FROM backtests WHERE backtest_id = :bt;
SELECT customer_id, round(score::numeric, 4) AS score, popularity, realized_spend, realized_purchases, realized_influence
FROM backtest_customers WHERE backtest_id = :bt ORDER BY customer_id;
SELECT subject, metric, round(value::numeric, 4) AS value, customers FROM backtest_metrics WHERE backtest_id = :bt;
SELECT decile, customers, round(mean_predicted_clv::numeric, 2) AS mean_predicted_clv, mean_realized_spend
FROM backtest_calibration WHERE backtest_id = :bt;
-- argument errors (terse: the line numbers of PL/pgSQL contexts are not the interface)
\set VERBOSITY terse
SELECT backtest('default', '2024-03-31', '2024-03-31');
SELECT backtest('default', '2024-03-31', '2999-01-01');
SELECT backtest('default', '-infinity', '2024-03-31');
SELECT backtest('nosuch', '2024-03-31', '2024-06-30');
\set VERBOSITY default

-- learned weights: a new draft, weights >= 0 summing to 1, the note states the metric before and after
SELECT component, weight_before, weight_after >= 0 AS non_negative FROM learn_weights(:bt) ORDER BY component;
SELECT version, status, note ~ 'normalised Gini of realized spend on the fitting half [0-9.-]+ -> [0-9.-]+, on the held-out half' AS note_states_metric
FROM model_versions WHERE model = 'default' ORDER BY version;
SELECT round(sum(weight)::numeric, 10) AS weights_sum, bool_and(missing = 'renormalize') AS missing_kept
FROM model_components WHERE model = 'default' AND version = 2;
\set VERBOSITY terse
SELECT learn_weights(-1);
\set VERBOSITY default
-- a customer with no social activity: the influence weights do not change its composite
SELECT composite(ARRAY[0.5, 0.5, 0], ARRAY[0.8, 0.4, NULL], ARRAY['renormalize', 'renormalize', 'renormalize']) =
       composite(ARRAY[0.25, 0.25, 0.5], ARRAY[0.8, 0.4, NULL], ARRAY['renormalize', 'renormalize', 'renormalize']) AS unchanged;
SELECT composite(ARRAY[1, 0], ARRAY[NULL, 0.4], ARRAY['renormalize', 'renormalize']) AS nothing_counted,
       composite(ARRAY[1, 1], ARRAY[NULL, 0.4], ARRAY['neutral', 'renormalize']) AS neutral;
-- the learning scores exactly as refresh did: the composite of the stored normalised values
SELECT count(*) AS differing FROM backtest_customers c JOIN backtests b USING (backtest_id)
WHERE c.backtest_id = :bt AND abs(1000 * composite(b.weights, c.normalized, b.missing) - c.score) > 0.0005 * 6;

-- data-driven action weights from the actions source
SELECT * FROM action_paths('SELECT * FROM crm.actions', '2024-06-30');
SELECT channel, kind, round(weight::numeric, 4) AS weight, current_weight, paths, conversions, value,
       round(removal_effect::numeric, 4) AS removal_effect, round(markov_value::numeric, 4) AS markov_value,
       round(shapley_value::numeric, 4) AS shapley_value
FROM propose_action_weights('2024-06-30');
\set VERBOSITY terse
SELECT * FROM action_paths('SELECT 1::bigint AS id, 1::bigint AS customer_id, now() - interval ''1 day'' AS at, -1::float8 AS value, ''web'' AS channel, ''visit'' AS kind', now());
\set VERBOSITY default

-- attribution 'weighted': a conversion split by the touches' action weights.  Purchase 3 (100)
-- was touched by 20's answer (weight 8) and 50's review (weight 6): 800/14 and 600/14
CREATE TEMP TABLE wa (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text);
INSERT INTO wa VALUES (2, 20, NULL, '2024-01-05', 0, 'community', 'answer'), (5, 50, NULL, '2024-01-08', 0, 'web', 'review'),
                      (3, 30, 2, '2024-01-10', 100, 'web', 'purchase');
CREATE TEMP TABLE wt (action_id bigint, touched_by bigint);
INSERT INTO wt VALUES (3, 5);
SELECT customer_id, round(direct_value::numeric, 4) AS direct_value, round((100 * 8 / 14.0)::numeric, 4) AS answer_by_hand
FROM influence('SELECT * FROM wa', '2024-06-01', touches => 'SELECT * FROM wt', attribution => 'weighted') ORDER BY customer_id;

-- Forced parallel plans: the combine function gives the serial answer
CREATE TABLE outcome_rows AS
SELECT g AS id, (g % 97)::float8 AS score, ((g * 7919) % 101)::float8 AS realized FROM generate_series(1, 50000) g;
ANALYZE outcome_rows;
CREATE TEMP TABLE serial_metrics AS
SELECT normalized_gini(score, realized) AS g, top_decile_capture(score, realized) AS t, spearman(score, realized) AS s,
       outcome_partial(score, realized)::text AS state FROM outcome_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT normalized_gini(score, realized) FROM outcome_rows;
SELECT normalized_gini(score, realized) = (SELECT g FROM serial_metrics) AS gini_same,
       top_decile_capture(score, realized) = (SELECT t FROM serial_metrics) AS capture_same,
       spearman(score, realized) = (SELECT s FROM serial_metrics) AS spearman_same,
       outcome_partial(score, realized)::text = (SELECT state FROM serial_metrics) AS state_same
FROM outcome_rows;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE outcome_rows;
DROP SCHEMA crm CASCADE;
DELETE FROM opt_outs;
DELETE FROM sources;
DELETE FROM backtests;
DELETE FROM model_components WHERE model = 'default' AND version = 2;
DELETE FROM model_versions WHERE model = 'default' AND version = 2;

-- Tiers: a presentation of the score that scores shows, not a second score
SELECT new_version('tiered', 'tiers') AS tv \gset
INSERT INTO model_components (model, version, position, component, weight) VALUES ('tiered', :tv, 1, 'historic_value', 1);
UPDATE model_versions SET tier_names = '{A,B,C}', tier_floors = '{800,500,0}' WHERE model = 'tiered' AND version = :tv;
\set VERBOSITY terse
UPDATE model_versions SET tier_names = '{A,B}', tier_floors = '{500,800}' WHERE model = 'tiered' AND version = :tv;
UPDATE model_versions SET tier_names = '{A,A}', tier_floors = '{800,500}' WHERE model = 'tiered' AND version = :tv;
UPDATE model_versions SET tier_names = '{A,B}', tier_floors = '{800}' WHERE model = 'tiered' AND version = :tv;
\set VERBOSITY default
SELECT publish('tiered', :tv);
CREATE TEMP TABLE tiered_tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO tiered_tx SELECT c, '2024-01-01'::timestamptz + k * interval '9 days', c * 10 FROM generate_series(1, 5) c, generate_series(1, c) k;
SELECT set_source('transactions', 'tiered_tx', 'tiered');
SELECT refresh('tiered', '2024-03-31') > 0 AS refreshed;
SELECT customer_id, score, tier FROM scores WHERE model = 'tiered' ORDER BY customer_id;
SELECT tier(799.9999, '{A,B,C}', '{800,500,0}') AS b, tier(800, '{A,B,C}', '{800,500,0}') AS a,
       tier(5, '{A,B}', '{800,500}') AS below_all, tier(5, NULL, NULL) AS no_tiers;
-- a new version copies the tiers; a published version's tiers cannot change
SELECT new_version('tiered') AS tv2 \gset
SELECT tier_names, tier_floors FROM model_versions WHERE model = 'tiered' AND version = :tv2;
\set VERBOSITY terse
UPDATE model_versions SET tier_names = NULL, tier_floors = NULL WHERE model = 'tiered' AND version = :tv;
\set VERBOSITY default
DELETE FROM model_components WHERE model = 'tiered' AND version = :tv2;
DELETE FROM model_versions WHERE model = 'tiered' AND version = :tv2;
DELETE FROM sources WHERE model = 'tiered';
DELETE FROM score_runs WHERE model = 'tiered';
