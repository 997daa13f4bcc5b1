-- clv: discounted expected value of future purchases
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;

-- models stored in a table and used later, as a CRM report would
CREATE TEMP TABLE models AS
SELECT 'cdnow'::text AS name, bgnbd_fit(x, t_x, t) AS purchases, gamma_gamma_fit(x, zbar) AS spend
FROM fixture.cdnow_summary_tx;

-- lifetimes' quickstart: time = 12 months of 30 units each on weekly data, discount 1 %
-- gives 140.096211 for ID 1 and 1003.868107 for ID 6
SELECT c.id, round(clv(purchases, spend, c.x, c.t_x, c.t, c.zbar, 360, 0.01, 30)::numeric, 4) AS clv
FROM models, fixture.cdnow_summary_tx c WHERE name = 'cdnow' AND c.id IN (1, 6) ORDER BY c.id;

-- without discounting clv is expected purchases times expected spend
SELECT round(clv(purchases, spend, 2, 30.43, 38.86, 22.35, 52)::numeric, 6) =
       round((expected_purchases(purchases, 52, 2, 30.43, 38.86) * expected_spend(spend, 2, 22.35))::numeric, 6) AS undiscounted_is_product
FROM models;

-- discounting lowers value; a step that does not divide the horizon ends with a partial step
SELECT clv(purchases, spend, 2, 30.43, 38.86, 22.35, 52, 0.1, 4) < clv(purchases, spend, 2, 30.43, 38.86, 22.35, 52) AS discount_lowers,
       round(clv(purchases, spend, 2, 30.43, 38.86, 22.35, 50, 0, 4)::numeric, 6) = round(clv(purchases, spend, 2, 30.43, 38.86, 22.35, 50)::numeric, 6) AS partial_step
FROM models;

-- top customers by 52-week CLV (weekly steps, 10 % a year)
SELECT c.id, c.x, round(clv(purchases, spend, c.x, c.t_x, c.t, c.zbar, 52, 0.10 / 52, 1)::numeric, 2) AS clv_52_weeks
FROM models, fixture.cdnow_summary_tx c
ORDER BY clv(purchases, spend, c.x, c.t_x, c.t, c.zbar, 52, 0.10 / 52, 1) DESC, c.id LIMIT 5;
