-- BG/NBD: fit on CDNOW and predictions
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
CREATE TEMP TABLE m AS SELECT bgnbd_fit(frequency, recency, t) AS model FROM fixture.cdnow_summary;
SELECT round((p->>'r')::numeric, 4) AS r, round((p->>'alpha')::numeric, 3) AS alpha,
       round((p->>'a')::numeric, 4) AS a, round((p->>'b')::numeric, 3) AS b,
       round((p->>'log_likelihood')::numeric, 1) AS log_likelihood,
       p->'customers' AS customers, p->'converged' AS converged
FROM (SELECT params(model) AS p FROM m) s;

-- the same fit from raw transactions through rfm (full-precision recency and t: LL -9582.429)
SELECT round((params(bgnbd_fit(frequency, recency, t))->>'log_likelihood')::numeric, 3) AS log_likelihood
FROM (SELECT (rfm(day::timestamptz, amount, '1997-09-30', '7 days')).* FROM fixture.cdnow_sample GROUP BY customer_id) s;

-- predictions with the published parameters (values from the paper, Hardie's notes and BTYD)
SELECT horizon, round(expected_purchases(bgnbd(0.2425945, 4.4136019, 0.7929199, 2.4258881), horizon)::numeric, 4) AS expected
FROM unnest(ARRAY[0.1429, 1, 3, 31.8571, 32, 78]) AS horizon;
SELECT round(expected_purchases(bgnbd(0.243, 4.414, 0.793, 2.426), 39, 2, 30.43, 38.86)::numeric, 3) AS paper_1_226;
SELECT round(expected_purchases(bgnbd(0.2425982, 4.413684, 0.7929899, 2.426167), 52, 26, 216.0 / 7, 31)::numeric, 5) AS btyd_25_75659,
       round(p_alive(bgnbd(0.2425982, 4.413684, 0.7929899, 2.426167), 26, 216.0 / 7, 31)::numeric, 7) AS btyd_0_9688523;

-- a customer without repeat purchases is alive for sure; P(alive) falls with time since the last purchase
SELECT p_alive(model, 0, 0, 38) AS new_customer,
       round(p_alive(model, 5, 10, 38)::numeric, 4) AS quiet_since_week_10,
       round(p_alive(model, 5, 37, 38)::numeric, 4) AS bought_last_week
FROM m;

-- top customers by expected purchases in the next 52 weeks
SELECT c.id, c.frequency, c.recency, c.t,
       round(p_alive(model, c.frequency, c.recency, c.t)::numeric, 4) AS p_alive,
       round(expected_purchases(model, 52, c.frequency, c.recency, c.t)::numeric, 3) AS next_52_weeks
FROM m, fixture.cdnow_summary c
ORDER BY expected_purchases(model, 52, c.frequency, c.recency, c.t) DESC, c.id
LIMIT 5;

-- horizon 0 gives 0; predictions are monotone in the horizon
SELECT (SELECT expected_purchases(model, 0) FROM m) AS zero,
       bool_and(expected_purchases(model, h + 1, 3, 20, 30) > expected_purchases(model, h, 3, 20, 30)) AS increasing
FROM m, generate_series(0, 200) h;

-- the state's text form groups identical histories
SELECT 'v1 (2,30.43,38.86):1 (0,5,38.86):3 (0,0,38.86):2'::bgnbd_state;
