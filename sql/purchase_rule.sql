-- The purchase rule (src/purchase_rule.h, docs/scores.md "How transactions are counted"): rfm,
-- the live-score state and live_scores count refunds, zero and NULL amounts, rows without a
-- customer or time and duplicate rows the same way, and predicted_clv values them the same way.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = public, customer_score;
SET timezone = 'UTC';
SET extra_float_digits = 0;

CREATE TABLE rule_tx (customer_id bigint, at timestamptz, amount numeric(12,2), note text);
INSERT INTO rule_tx VALUES
  (1, '2024-01-01 10:00', 100, 'first purchase'),
  (1, '2024-01-08 10:00', 50, 'repeat purchase'),
  (1, '2024-01-09 10:00', -30, 'refund on another day: nets against 01-08, no occasion'),
  (2, '2024-01-01 10:00', 100, 'first purchase'),
  (2, '2024-01-02 10:00', -500, 'refund after the first purchase: nets against it'),
  (2, '2024-01-15 10:00', 20, 'repeat purchase'),
  (3, '2024-01-01 10:00', 40, 'purchase and refund on one day: the day nets below 0'),
  (3, '2024-01-01 12:00', -60, NULL),
  (3, '2024-01-05 10:00', 10, 'first occasion; the refund day before it nets against it'),
  (4, '2024-01-03 10:00', -20, 'only a refund: no purchase history'),
  (5, '2024-01-01 10:00', 0, 'zero amounts: purchases (data without spend)'),
  (5, '2024-01-10 10:00', 0, NULL),
  (6, '2024-01-01 10:00', NULL, 'NULL amount: a purchase of value 0'),
  (6, '2024-01-12 10:00', 30, NULL),
  (7, '2024-01-01 10:00', 25, 'duplicate rows: two purchases on one day'),
  (7, '2024-01-01 10:00', 25, NULL),
  (7, '2024-01-20 10:00', 10, NULL),
  (8, '2024-01-02 10:00', 10, 'repeat purchases that are refunded in full'),
  (8, '2024-01-09 10:00', 10, NULL),
  (8, '2024-01-10 10:00', -10, NULL),
  (NULL, '2024-01-01 10:00', 99, 'no customer: not counted'),
  (9, NULL, 99, 'no time: not counted');

-- rfm under the rule
SELECT customer_id, (r).frequency, (r).recency, (r).monetary, (r).total, (r).purchases
FROM (SELECT customer_id, rfm(at, amount::float8, '2024-02-01', '1 day') AS r
      FROM rule_tx WHERE customer_id IS NOT NULL GROUP BY customer_id) s
ORDER BY customer_id;

-- the live state counts the same rows on the same days
SELECT track_transactions('rule_tx') AS counted;
SELECT * FROM live_days ORDER BY customer_id, day;
SELECT count(*) AS drift FROM live_days_differences();

-- live_scores and refresh-style rfm agree on every customer, CLV included
INSERT INTO models (name) VALUES ('rule_test');
INSERT INTO model_versions (model, version, time_unit, horizon, clv_step, discount_rate)
VALUES ('rule_test', 1, '7 days', 52, 13, 0.10);
INSERT INTO score_runs (model, version, as_of, status, finished_at, components, weights,
                        purchase_model, spend_model, time_unit, horizon, clv_step, discount_rate, scale)
VALUES ('rule_test', 1, '2024-06-01', 'done', '2024-06-02', '{p_alive}', '{1}',
        bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), '7 days', 52, 13, 0.10, 1000);
WITH ref AS (
    SELECT customer_id, (rfm(at, amount::float8, now(), '7 days')).*
    FROM rule_tx WHERE customer_id IS NOT NULL GROUP BY customer_id
), expected AS (
    SELECT ref.*, predicted_clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44),
                                ref.frequency, ref.recency, ref.t, ref.monetary,
                                52, power(1.10, 13 * 7 / 365.25) - 1, 13) AS clv
    FROM ref WHERE ref.frequency IS NOT NULL
)
SELECT coalesce(e.customer_id, l.customer_id) AS customer_id,
       l.frequency = e.frequency AS frequency,
       abs(l.recency - e.recency) < 1e-12 AS recency,
       abs(l.t - e.t) < 1e-9 AS t,
       abs(l.monetary - e.monetary) < 1e-9 AS monetary,
       l.total = e.total AS total,
       l.purchases = e.purchases AS purchases,
       abs(l.clv - e.clv) <= 1e-9 * e.clv AS clv,
       sign(l.clv) AS live_clv_sign   -- (its value moves with now(): live_scores is as of the present)
FROM expected e FULL JOIN (SELECT * FROM live_scores WHERE model = 'rule_test') l ON l.customer_id = e.customer_id
ORDER BY 1;

-- predicted_clv: 0 for a repeat customer whose repeat purchases net to nothing, NULL without a
-- spend model or where expected spend is unbounded, clv otherwise
SELECT predicted_clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 5, 10, 0, 52, 0.02, 13) AS nothing_kept,
       predicted_clv(bgnbd(0.243, 4.414, 0.793, 2.426), NULL, 2, 5, 10, 30, 52, 0.02, 13) AS no_spend_model,
       predicted_clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 0.5, 15.44), 0, 0, 10, 0, 52, 0.02, 13) AS unbounded,
       predicted_clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 5, 10, 30, 52, 0.02, 13)
         = clv(bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), 2, 5, 10, 30, 52, 0.02, 13) AS same_as_clv;

SELECT untrack_transactions();
DROP TABLE rule_tx;
DELETE FROM score_runs WHERE model = 'rule_test';
DELETE FROM model_versions WHERE model = 'rule_test';
DELETE FROM models WHERE name = 'rule_test';
