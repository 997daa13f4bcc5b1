-- rfm: purchase histories in the buy-till-you-die conventions
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

CREATE TEMP TABLE tx (customer_id int, at timestamptz, amount float8);
INSERT INTO tx VALUES
  (1, '2024-01-01 09:00', 10),   -- first occasion
  (1, '2024-01-01 17:30', 5),    -- same day: same occasion
  (1, '2024-01-08 12:00', 20),
  (1, '2024-01-15 08:00', 40),
  (1, '2024-02-01 00:00', 99),   -- after as_of: ignored
  (2, '2024-01-10 10:00', 7),    -- a single purchase
  (3, '2024-01-31 23:59', 3),    -- bought on the as_of day
  (4, '2024-03-01', 1),          -- only after as_of: no summary
  (5, NULL, 5),                  -- no time: not counted
  (5, '2024-01-20', NULL);       -- a NULL amount: a purchase of value 0

SELECT customer_id, (r).frequency, (r).recency, round((r).t::numeric, 6) AS t, (r).monetary, (r).total,
       (r).purchases, (r).first_at, (r).last_at
FROM (SELECT customer_id, rfm(at, amount, '2024-01-31 23:59:59') AS r FROM tx GROUP BY customer_id) s
ORDER BY customer_id;

-- recency and t in weeks
SELECT customer_id, (r).frequency, round((r).recency::numeric, 4) AS recency, round((r).t::numeric, 4) AS t, (r).monetary
FROM (SELECT customer_id, rfm(at, amount, '2024-01-31', '7 days') AS r FROM tx GROUP BY customer_id) s
ORDER BY customer_id;

-- calendar days follow the session time zone: 23:30 and 00:30 UTC are one day in New York
SET timezone = 'America/New_York';
SELECT (rfm(at, 1, '2024-06-30')).frequency AS frequency_new_york
FROM (VALUES ('2024-03-05 23:30+00'::timestamptz), ('2024-03-06 00:30+00')) v(at);
SET timezone = 'UTC';
SELECT (rfm(at, 1, '2024-06-30')).frequency AS frequency_utc
FROM (VALUES ('2024-03-05 23:30+00'::timestamptz), ('2024-03-06 00:30+00')) v(at);

-- across a daylight-saving change t counts wall-clock days
SET timezone = 'Europe/Berlin';
SELECT (r).frequency, (r).recency, (r).t
FROM (SELECT rfm(at, 1, '2024-04-10 00:00') AS r
      FROM (VALUES ('2024-03-20 10:00'::timestamptz), ('2024-04-05 10:00')) v(at)) s;
SET timezone = 'UTC';

-- input order does not matter
SELECT (rfm(at, amount, '2024-12-31')) = (SELECT rfm(at, amount, '2024-12-31') FROM (SELECT * FROM tx ORDER BY at) o) AS same
FROM (SELECT * FROM tx ORDER BY at DESC) d;

-- an empty group gives NULL
SELECT rfm(at, amount, '2024-12-31') IS NULL AS empty_is_null FROM tx WHERE false;

-- monetary excludes the first occasion; negative amounts (refunds) are summed in
SELECT (rfm(at, amount, '2024-12-31')).*
FROM (VALUES ('2024-01-01'::timestamptz, 100.0::float8), ('2024-01-02', 30), ('2024-01-02', -10), ('2024-01-05', 50)) v(at, amount);

-- CDNOW: rfm over the raw sample reproduces Hardie's summary file exactly
-- (frequency exactly, recency and t to the file's two decimals, zbar to the cent)
WITH s AS (
  SELECT customer_id, (rfm(day::timestamptz, amount, '1997-09-30', '7 days')).*
  FROM fixture.cdnow_sample GROUP BY customer_id)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE s.frequency = c.x) AS frequency_equal,
       count(*) FILTER (WHERE round(s.recency::numeric, 2) = c.t_x::numeric) AS recency_equal,
       count(*) FILTER (WHERE round(s.t::numeric, 2) = c.t::numeric) AS t_equal,
       count(*) FILTER (WHERE abs(s.monetary - c.zbar) <= 0.005 + 1e-9) AS monetary_equal,
       round(sum(s.total)::numeric, 2) AS total_usd
FROM s JOIN fixture.cdnow_summary_tx c ON c.id = s.customer_id;

-- and the frequency/recency/T file
WITH s AS (
  SELECT customer_id, (rfm(day::timestamptz, amount, '1997-09-30', '7 days')).*
  FROM fixture.cdnow_sample GROUP BY customer_id)
SELECT count(*) FILTER (WHERE s.frequency = c.frequency
                          AND round(s.recency::numeric, 2) = c.recency::numeric
                          AND round(s.t::numeric, 2) = c.t::numeric) AS rows_equal
FROM s JOIN fixture.cdnow_summary c ON c.id = s.customer_id;
