-- The rfm benchmark's transactions: tx(customer_id int, at timestamptz, amount float8).
--   psql -v n_tx=10000000 -v n_customers=1000000 -v order=time -v tag=... -f bench/data/tx.sql
-- n_tx rows; each row's customer is drawn uniformly from 1..n_customers, so customers have
-- ~n_tx/n_customers rows each (Poisson), interleaved.  Purchase days cover the 730 days
-- 2023-01-01 .. 2024-12-31 (UTC); half of the rows sit at midnight (date-only CRM records), half at
-- a random second of their day.  Amounts are 1.00 .. 250.00, in cents.
-- order=time: the days rise with the row number, as in an append-only transaction log (rows of
-- one day are in random order); order=random: each row's day is random.
-- Deterministic: setseed() and no parallel workers.
SET max_parallel_workers_per_gather = 0;
DROP TABLE IF EXISTS tx;
CREATE UNLOGGED TABLE tx (customer_id int NOT NULL, at timestamptz NOT NULL, amount float8 NOT NULL)
    WITH (autovacuum_enabled = off);
SELECT setseed(0.42);
INSERT INTO tx
SELECT 1 + floor(random() * :n_customers)::int,
       timestamptz '2023-01-01 00:00:00+00'
           + CASE WHEN :'order' = 'random' THEN floor(random() * 730)::int
                  ELSE ((g::bigint - 1) * 730 / :n_tx)::int END * interval '1 day'
           + CASE WHEN random() < 0.5 THEN interval '0'
                  ELSE floor(random() * 86400)::int * interval '1 second' END,
       round((1 + random() * 249)::numeric, 2)::float8
FROM generate_series(1, :n_tx) AS g;
VACUUM (FREEZE, ANALYZE) tx;
COMMENT ON TABLE tx IS :'tag';
