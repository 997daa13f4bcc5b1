-- Validation: rfm_holdout, the holdout table, the period-transactions histogram, tracking and
-- bootstrap prediction intervals, on small hand-made cases and on CDNOW (39 + 39 weeks)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- rfm_holdout: rfm's summary at calibration_end, then the holdout
SELECT (rfm_holdout(at, amount, '2024-03-31', '2024-06-30', '7 days')).*
FROM (VALUES ('2024-01-01 09:00+00'::timestamptz, 30.0),
             ('2024-01-01 17:00+00', 10.0),
             ('2024-01-15 12:00+00', 25.0),
             ('2024-02-26 12:00+00', 35.0),
             ('2024-04-02 10:00+00', 99.0),   -- holdout: one occasion worth 100
             ('2024-04-02 18:00+00', 1.0),
             ('2024-06-30 00:00+00', 5.0),    -- exactly at holdout_end: counts
             ('2024-07-01 12:00+00', 50.0)    -- after the holdout: ignored
     ) AS tx(at, amount);
-- the day of calibration_end is one occasion: its later rows add spend, not an occasion
SELECT frequency, holdout_frequency, holdout_spend, holdout_t
FROM (SELECT (rfm_holdout(at, amount, '2024-03-31 12:00+00', '2024-04-30 12:00+00')).*
      FROM (VALUES ('2024-03-01 10:00+00'::timestamptz, 10.0), ('2024-03-31 09:00+00', 20.0),
                   ('2024-03-31 15:00+00', 7.0), ('2024-04-10 10:00+00', 3.0)) AS tx(at, amount)) s;
-- a customer whose first purchase is in the holdout has no calibration history
SELECT rfm_holdout(at, 1.0, '2024-03-31', '2024-06-30') IS NULL AS no_history
FROM (VALUES ('2024-05-01'::timestamptz)) AS tx(at);
-- errors: an empty or reversed holdout, a unit that is not positive, a changing window
SELECT rfm_holdout(now(), 1.0, '2024-03-31', '2024-03-31');
SELECT rfm_holdout(now(), 1.0, '2024-03-31', '2024-01-31');
SELECT rfm_holdout(now(), 1.0, '2024-03-31', '2024-06-30', '-1 day');
SELECT rfm_holdout(now(), 1.0, 'infinity', '2024-06-30');
SELECT rfm_holdout(at, 1.0, '2024-03-31', e)
FROM (VALUES ('2024-01-01'::timestamptz, '2024-06-30'::timestamptz), ('2024-01-02', '2024-07-30')) AS tx(at, e);
SELECT rfm_holdout('2024-01-01', 'NaN', '2024-03-31', '2024-06-30');

-- the state: its text form reads back exactly, and the final function finishes a state read from text
SELECT s::text::rfm_holdout_state::text = s::text AS round_trip, s::text
FROM (SELECT 'v1 calibration_end=0 calibration_end_local=3600000000 holdout_end=86400000000 holdout_end_local=90000000000 unit=86400 first_at=-86400000000 last_at=-3600000000 rows=2 days=-1:1.5,-1:0.25 holdout_days=0:2.5,1:1'::rfm_holdout_state AS s) x;
SELECT (rfm_holdout_finalfn('v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5'::rfm_holdout_state)).*;
SELECT 'v1 calibration_end=0 calibration_end_local=0 holdout_end=0 holdout_end_local=0 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days='::rfm_holdout_state;
SELECT 'v1 calibration_end=0'::rfm_holdout_state;

-- CDNOW: 39 weeks of calibration to 1997-09-30, 39 weeks of holdout to 1998-06-30
CREATE TABLE validation_history AS
SELECT customer_id, (rfm_holdout(day::timestamptz, amount, '1997-09-30', '1998-06-30', '7 days')).*
FROM fixture.cdnow_sample GROUP BY customer_id;
SELECT count(*) AS customers, sum(frequency) AS repeat_calibration, sum(holdout_frequency) AS repeat_holdout,
       min(holdout_t) AS holdout_weeks, max(holdout_t) AS holdout_weeks_max,
       round(sum(holdout_spend)::numeric, 2) AS holdout_spend
FROM validation_history;
-- the calibration columns are rfm's, exactly
SELECT count(*) AS differing
FROM validation_history h
JOIN (SELECT customer_id, rfm(day::timestamptz, amount, '1997-09-30', '7 days') AS r
      FROM fixture.cdnow_sample GROUP BY customer_id) r USING (customer_id)
WHERE (h.frequency, h.recency, h.t, h.monetary, h.total, h.purchases, h.first_at, h.last_at)::rfm_summary
      IS DISTINCT FROM r.r;
CREATE TABLE validation_models AS
SELECT bgnbd_fit(frequency, recency, t) AS purchases,
       gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS spend
FROM validation_history;

-- the conditional-expectation table: the BTYD walkthrough's rows to 3 decimals
-- (actual .237 .697 1.393 1.560 2.532 2.947 3.862 6.359; BG/NBD .225 .523 1.044 1.520 2.164 2.654 3.504 6.157)
SELECT frequency_bin, customers, round(actual::numeric, 3) AS actual, round(predicted::numeric, 3) AS predicted,
       round(actual_total::numeric, 1) AS actual_total, round(predicted_total::numeric, 1) AS predicted_total,
       round(mae::numeric, 3) AS mae, round(rmse::numeric, 3) AS rmse, round(bias::numeric, 3) AS bias,
       round(correlation::numeric, 3) AS correlation
FROM validation_models, holdout_table(purchases, 'SELECT * FROM validation_history');
SELECT frequency_bin, customers, round(actual::numeric, 3) AS actual, round(predicted::numeric, 3) AS predicted
FROM validation_models, holdout_table(purchases, 'SELECT * FROM validation_history', max_frequency => 2);
-- errors: a missing column, an empty holdout, a negative holdout count, a bad max_frequency
SELECT * FROM validation_models, holdout_table(purchases, 'SELECT frequency, recency, t, holdout_t FROM validation_history');
SELECT * FROM validation_models, holdout_table(purchases, 'SELECT frequency, recency, t, holdout_frequency, 0 AS holdout_t FROM validation_history');
SELECT * FROM validation_models, holdout_table(purchases, 'SELECT frequency, recency, t, -1 AS holdout_frequency, holdout_t FROM validation_history');
SELECT * FROM validation_models, holdout_table(purchases, 'SELECT * FROM validation_history', 0);

-- the spend model's holdout table: the value of the holdout purchases against expected_spend
SELECT frequency_bin, customers, round(actual::numeric, 2) AS actual, round(predicted::numeric, 2) AS predicted,
       round(actual_total::numeric, 2) AS actual_total, round(predicted_total::numeric, 2) AS predicted_total,
       round(mae::numeric, 2) AS mae, round(bias::numeric, 2) AS bias, round(correlation::numeric, 3) AS correlation
FROM validation_models, holdout_table(spend, 'SELECT * FROM validation_history', 3);
SELECT * FROM validation_models, holdout_table(spend, 'SELECT frequency, monetary, holdout_frequency, ''NaN''::float8 AS holdout_spend FROM validation_history');

-- the period-transactions histogram
SELECT frequency_bin, customers, round(expected::numeric, 2) AS expected
FROM validation_models, period_transactions(purchases, 'SELECT frequency, t FROM validation_history');
SELECT round(sum(expected)::numeric, 6) AS expected_customers
FROM validation_models, period_transactions(purchases, 'SELECT frequency, t FROM validation_history', 3);
-- P(X(39) = 0) with the published parameters: 0.5737864 (BTYD)
SELECT round(probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 0)::numeric, 7) AS p0,
       probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 0, 0) AS at_zero,
       probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 0, 3) AS at_zero_3;
SELECT probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), -1, 0);
SELECT probability_of_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 1, -2);

-- tracking: weekly repeat purchases from 1997-01-01; actual cumulative weeks 20..25 are
-- 1359, 1414, 1484, 1517, 1573, 1672 (BTYD walkthrough)
SELECT period_number, period_start, actual, round(expected::numeric, 2) AS expected,
       actual_cumulative, round(expected_cumulative::numeric, 1) AS expected_cumulative
FROM validation_models,
     tracking(purchases, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
              '1997-01-01', '1998-07-01', '7 days', '7 days')
WHERE period_number BETWEEN 20 AND 25 OR period_number >= 78;
SELECT * FROM validation_models, tracking(purchases, 'SELECT 1 AS customer_id', '1997-01-01', '1998-07-01');
SELECT * FROM validation_models, tracking(purchases, 'SELECT 1 AS customer_id, now() AS at', '1998-01-01', '1997-07-01');
SELECT * FROM validation_models, tracking(purchases, 'SELECT 1 AS customer_id, now() AS at', '1997-01-01', '1998-07-01', '0 days');

-- the other purchase models on the same histories: Pareto/NBD (BTYD: .138 .600 1.196 1.714 2.399
-- 2.907 3.819 6.403, whose bins 1 and 4 are 0.59947 and 2.39831 exactly) and MBG/NBD
CREATE TABLE validation_counting AS
SELECT pareto_nbd_fit(frequency, recency, t) AS pnbd, mbgnbd_fit(frequency, recency, t) AS mbg
FROM validation_history;
SELECT p.frequency_bin, p.customers, round(p.actual::numeric, 3) AS actual,
       round(p.predicted::numeric, 3) AS pareto_nbd, round(m.predicted::numeric, 3) AS mbgnbd,
       round(p.rmse::numeric, 3) AS pareto_nbd_rmse, round(m.rmse::numeric, 3) AS mbgnbd_rmse
FROM validation_counting,
     holdout_table(pnbd, 'SELECT * FROM validation_history') p
     JOIN holdout_table(mbg, 'SELECT * FROM validation_history') m USING (frequency_bin);
SELECT p.frequency_bin, p.customers, round(p.expected::numeric, 2) AS pareto_nbd, round(m.expected::numeric, 2) AS mbgnbd
FROM validation_counting,
     period_transactions(pnbd, 'SELECT frequency, t FROM validation_history', 4) p
     JOIN period_transactions(mbg, 'SELECT frequency, t FROM validation_history', 4) m USING (frequency_bin);
SELECT p.period_number, p.actual_cumulative, round(p.expected_cumulative::numeric, 1) AS pareto_nbd,
       round(m.expected_cumulative::numeric, 1) AS mbgnbd
FROM validation_counting,
     tracking(pnbd, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
              '1997-01-01', '1998-07-01', '7 days', '7 days') p
     JOIN tracking(mbg, 'SELECT customer_id, day::timestamptz AS at FROM fixture.cdnow_sample',
                   '1997-01-01', '1998-07-01', '7 days', '7 days') m USING (period_number)
WHERE p.period_number IN (20, 39, 78);
-- the same argument checks as BG/NBD's
SELECT * FROM validation_counting, holdout_table(pnbd, 'SELECT frequency, recency, t, holdout_t FROM validation_history');
SELECT * FROM validation_counting, holdout_table(mbg, 'SELECT * FROM validation_history', 0);
SELECT * FROM validation_counting, period_transactions(mbg, 'SELECT frequency FROM validation_history');
SELECT * FROM validation_counting, tracking(pnbd, 'SELECT 1 AS customer_id, now() AS at', '1998-01-01', '1997-07-01');

-- bootstrap prediction intervals: deterministic for a seed, and around the point values
CREATE TABLE validation_intervals AS
SELECT p.* FROM validation_models m,
     prediction_intervals(m.purchases, m.spend, 'SELECT customer_id, frequency, recency, t, monetary FROM validation_history',
                          52, replicates => 50, seed => 7, discount_rate => 0.0074, step => 4) p;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE purchases_lower <= purchases_upper AND spend_lower <= spend_upper
                        AND clv_lower <= clv_upper) AS ordered,
       count(*) FILTER (WHERE purchases BETWEEN purchases_lower AND purchases_upper) AS purchases_inside,
       count(*) FILTER (WHERE clv BETWEEN clv_lower AND clv_upper) AS clv_inside
FROM validation_intervals;
SELECT count(*) AS differing
FROM validation_intervals a
FULL JOIN (SELECT p.* FROM validation_models m,
           prediction_intervals(m.purchases, m.spend, 'SELECT customer_id, frequency, recency, t, monetary FROM validation_history',
                                52, replicates => 50, seed => 7, discount_rate => 0.0074, step => 4) p) b USING (customer_id)
WHERE (a.*) IS DISTINCT FROM (b.*);
SELECT count(*) > 0 AS another_seed_differs
FROM validation_intervals a
JOIN (SELECT p.* FROM validation_models m,
      prediction_intervals(m.purchases, m.spend, 'SELECT customer_id, frequency, recency, t, monetary FROM validation_history',
                           52, replicates => 50, seed => 8, discount_rate => 0.0074, step => 4) p) b USING (customer_id)
WHERE a.clv_upper <> b.clv_upper;
SELECT customer_id, round(purchases::numeric, 2) AS purchases, round(clv::numeric, 2) AS clv,
       round(spend::numeric, 2) AS spend
FROM validation_intervals WHERE customer_id IN (1, 509, 1516) ORDER BY customer_id;
SELECT * FROM validation_models m, prediction_intervals(m.purchases, m.spend, 'SELECT * FROM validation_history', 52, level => 1);
SELECT * FROM validation_models m, prediction_intervals(m.purchases, m.spend, 'SELECT * FROM validation_history', 52, replicates => 1);
SELECT * FROM validation_models m, prediction_intervals(m.purchases, m.spend, 'SELECT * FROM validation_history WHERE false', 52);
SELECT * FROM validation_models m, prediction_intervals(m.purchases, m.spend, 'SELECT * FROM validation_history WHERE frequency = 0', 52);

-- stored states: per partition (here: calibration months and the rest), merged, finished
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm_holdout(rfm_holdout_merge(s)) AS h
  FROM (SELECT customer_id, rfm_holdout_partial(day::timestamptz, amount, '1997-09-30', '1998-06-30', '7 days') AS s
        FROM fixture.cdnow_sample GROUP BY customer_id, date_trunc('month', day)) p
  GROUP BY customer_id) m
FULL JOIN (SELECT customer_id, rfm_holdout(day::timestamptz, amount, '1997-09-30', '1998-06-30', '7 days') AS h
           FROM fixture.cdnow_sample GROUP BY customer_id) o USING (customer_id)
WHERE m.h IS DISTINCT FROM o.h;
SELECT rfm_holdout(rfm_holdout_partial(at, 1, '2024-03-31', '2024-06-30')) IS NOT NULL AS finished_in_days
FROM (VALUES ('2024-03-01'::timestamptz)) AS tx(at);

-- the likelihood-ratio test of nested models: 5% points of chi-square with 1, 2 and 10 degrees of freedom
SELECT df, round(statistic::numeric, 4) AS statistic, round(p_value::numeric, 4) AS p_value
FROM (VALUES (1, 3.841458820694124), (2, 5.991464547107979), (10, 18.307038053275146), (1, 0)) AS v(df, x),
     LATERAL likelihood_ratio_test(-1000, -1000 + x / 2, df);
SELECT p_value < 1e-20 AS tiny, p_value > 0 AS positive FROM likelihood_ratio_test(-1000, -950, 1);
SELECT likelihood_ratio_test(-1000, -1001, 1);
SELECT likelihood_ratio_test(-1000, -999, 0);

-- forced parallel plans: rfm_holdout combines to the serial answer
CREATE TABLE validation_tx AS
SELECT customer_id + 100000 * k AS customer_id, day::timestamptz AS at, amount
FROM fixture.cdnow_sample, generate_series(0, 9) k;
ANALYZE validation_tx;
CREATE TEMP TABLE validation_serial AS
SELECT customer_id, rfm_holdout(at, amount, '1997-09-30', '1998-06-30', '7 days') AS h
FROM validation_tx GROUP BY customer_id;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, rfm_holdout(at, amount, '1997-09-30', '1998-06-30', '7 days') FROM validation_tx GROUP BY customer_id;
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm_holdout(at, amount, '1997-09-30', '1998-06-30', '7 days') AS h
  FROM validation_tx GROUP BY customer_id
) p FULL JOIN validation_serial s USING (customer_id)
WHERE p.h IS DISTINCT FROM s.h;
RESET enable_hashagg;
SELECT count(*) AS customers_differing FROM (
  SELECT customer_id, rfm_holdout(at, amount, '1997-09-30', '1998-06-30', '7 days') AS h
  FROM validation_tx GROUP BY customer_id
) p FULL JOIN validation_serial s USING (customer_id)
WHERE p.h IS DISTINCT FROM s.h;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

DROP TABLE validation_history, validation_models, validation_counting, validation_intervals, validation_tx;
