-- rfm keeps a customer's rows sorted as they arrive when they come nearly in order (a row moves
-- back past at most 8 others) and sorts a copy in the final function otherwise: the summary is
-- the same bit for bit whatever the order, with many rows on one day, refunds and amounts that
-- do not add up exactly in floating point.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'UTC';

SELECT plan(4);

-- customer 1: 30 rows on one day then 20 days of 3 rows; customer 2: 200 rows over 60 days with
-- refunds; customer 3: one row
CREATE TEMP TABLE rows_in AS
SELECT 1 AS customer_id, g AS n,
       timestamptz '2024-01-01' + CASE WHEN g <= 30 THEN 0 ELSE (g - 28) / 3 END * interval '1 day'
           + (g % 7) * interval '1 hour' AS at,
       (0.1 * (g % 11) + 0.01 * g)::float8 AS amount
  FROM generate_series(1, 90) g
UNION ALL
SELECT 2, g, timestamptz '2024-01-01' + (g % 60) * interval '1 day',
       CASE WHEN g % 13 = 0 THEN -7.3 ELSE 0.3 * (g % 17) END
  FROM generate_series(1, 200) g
UNION ALL
SELECT 3, 1, timestamptz '2024-03-01', 9.99;

CREATE TEMP TABLE summaries AS
SELECT 'ascending' AS o, customer_id,
       customer_score.rfm(at, amount, timestamptz '2024-06-01' ORDER BY at, amount)::text AS s
  FROM rows_in GROUP BY customer_id
UNION ALL
SELECT 'descending', customer_id,
       customer_score.rfm(at, amount, timestamptz '2024-06-01' ORDER BY at DESC, amount DESC)::text
  FROM rows_in GROUP BY customer_id
UNION ALL
SELECT 'time, amounts reversed', customer_id,
       customer_score.rfm(at, amount, timestamptz '2024-06-01' ORDER BY date_trunc('day', at), amount DESC)::text
  FROM rows_in GROUP BY customer_id
UNION ALL
SELECT 'shuffled', customer_id,
       customer_score.rfm(at, amount, timestamptz '2024-06-01' ORDER BY md5(n::text || customer_id))::text
  FROM rows_in GROUP BY customer_id;

SELECT is((SELECT count(DISTINCT s) FROM summaries WHERE customer_id = 1), 1::bigint,
          '30 rows on one day and 20 days of 3: the same summary in every order');
SELECT is((SELECT count(DISTINCT s) FROM summaries WHERE customer_id = 2), 1::bigint,
          '200 rows with refunds: the same summary in every order');
SELECT is((SELECT count(DISTINCT s) FROM summaries WHERE customer_id = 3), 1::bigint,
          'one row: the same summary');
SELECT is((SELECT s FROM summaries WHERE customer_id = 2 AND o = 'shuffled'),
          (SELECT customer_score.rfm(customer_score.rfm_merge(p))::text FROM (
              SELECT customer_score.rfm_partial(at, amount, timestamptz '2024-06-01') AS p
                FROM rows_in WHERE customer_id = 2 GROUP BY n % 5) x),
          'and the same as merging partial states of the rows');

SELECT * FROM finish();
ROLLBACK;
