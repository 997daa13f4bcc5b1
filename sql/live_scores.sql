-- live_scores: per-customer purchase days kept current by the transaction triggers, and the
-- live view that scores them with the last finished run of each model
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = public, customer_score;
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- after every step: the live state equals a recount from scratch
CREATE FUNCTION pg_temp.drift() RETURNS bigint LANGUAGE sql AS
    $$ SELECT count(*) FROM customer_score.live_days_differences() $$;
CREATE FUNCTION pg_temp.days() RETURNS TABLE (customer_id bigint, day date, amount numeric, rows bigint)
    LANGUAGE sql AS $$ SELECT * FROM customer_score.live_days ORDER BY 1, 2 $$;

CREATE TABLE live_tx (id serial PRIMARY KEY, customer_id integer, at timestamptz, amount numeric(12,2), note text);
-- rows written before tracking starts are counted by track_transactions
INSERT INTO live_tx (customer_id, at, amount) VALUES
  (1, '2024-01-01 09:00', 10),
  (1, '2024-01-01 17:30', 5);
SELECT track_transactions('live_tx') AS counted;
SELECT relation, time_zone, at_type FROM live_tracking;
SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'live_tx'::regclass ORDER BY 1;
SELECT * FROM pg_temp.days();

-- a single row; a multi-row insert with two rows on one day; rows that are not counted
INSERT INTO live_tx (customer_id, at, amount) VALUES (1, '2024-01-08 12:00', 20);
INSERT INTO live_tx (customer_id, at, amount) VALUES
  (2, '2024-01-03 08:00', 7),
  (2, '2024-01-03 21:00', 3.5),
  (2, '2024-01-20 10:00', 12),
  (3, NULL, 5),                    -- NULL at
  (NULL, '2024-01-05', 5),         -- NULL customer
  (4, '2024-01-05', NULL),         -- NULL amount: counted as 0
  (5, 'infinity', 1),              -- infinite at
  (6, '2024-02-29 23:59:59', 0);   -- a zero amount is a purchase
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();

-- updates: the amount; another day; another customer; a row becoming counted; a column not counted
UPDATE live_tx SET amount = 25 WHERE customer_id = 1 AND at = '2024-01-08 12:00';
UPDATE live_tx SET at = '2024-01-09 00:30' WHERE customer_id = 2 AND at = '2024-01-03 21:00';
UPDATE live_tx SET customer_id = 7 WHERE customer_id = 2 AND at = '2024-01-20 10:00';
UPDATE live_tx SET at = '2024-01-06 10:00' WHERE customer_id = 3;
UPDATE live_tx SET note = 'checked';
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
-- one statement moving every row of customer 1 to customer 8 and a day later
UPDATE live_tx SET customer_id = 8, at = at + interval '1 day' WHERE customer_id = 1;
SELECT * FROM pg_temp.days() WHERE customer_id IN (1, 8);
SELECT pg_temp.drift();

-- deletes: one of two rows of a day, then the last one (the day goes), then a whole customer
DELETE FROM live_tx WHERE customer_id = 8 AND at = '2024-01-02 09:00';
SELECT * FROM pg_temp.days() WHERE customer_id = 8;
DELETE FROM live_tx WHERE customer_id = 8 AND at = '2024-01-02 17:30';
SELECT * FROM pg_temp.days() WHERE customer_id = 8;
DELETE FROM live_tx WHERE customer_id = 8;
SELECT count(*) AS days_of_8 FROM live_days WHERE customer_id = 8;
-- deleting rows that were never counted changes nothing
DELETE FROM live_tx WHERE customer_id IS NULL OR amount IS NULL OR NOT isfinite(at);
SELECT pg_temp.drift();

-- INSERT ... ON CONFLICT DO UPDATE on the tracked table fires both the insert and the update trigger
INSERT INTO live_tx (id, customer_id, at, amount)
SELECT id, customer_id, at, amount + 1 FROM live_tx WHERE customer_id = 2
UNION ALL SELECT 1000, 9, '2024-03-01', 4
ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount;
SELECT * FROM pg_temp.days() WHERE customer_id IN (2, 9);
SELECT pg_temp.drift();
-- a writable CTE moving rows between customers in one statement
WITH moved AS (DELETE FROM live_tx WHERE customer_id = 9 RETURNING at, amount)
INSERT INTO live_tx (customer_id, at, amount) SELECT 10, at, amount FROM moved;
SELECT * FROM pg_temp.days() WHERE customer_id IN (9, 10);
SELECT pg_temp.drift();

-- MERGE: its inserts, updates and deletes fire the same triggers
MERGE INTO live_tx t
USING (VALUES (10, '2024-03-02 10:00'::timestamptz, 6), (11, '2024-03-03 10:00', 7)) s(customer_id, at, amount)
ON t.customer_id = s.customer_id
WHEN MATCHED THEN UPDATE SET at = s.at, amount = s.amount
WHEN NOT MATCHED THEN INSERT (customer_id, at, amount) VALUES (s.customer_id, s.at, s.amount);
SELECT * FROM pg_temp.days() WHERE customer_id IN (10, 11);
MERGE INTO live_tx t USING (VALUES (11)) s(customer_id) ON t.customer_id = s.customer_id WHEN MATCHED THEN DELETE;
SELECT * FROM pg_temp.days() WHERE customer_id IN (10, 11);
SELECT pg_temp.drift();

-- a writer in another time zone counts on the tracked zone's days (here UTC)
SET timezone = 'Pacific/Auckland';
INSERT INTO live_tx (customer_id, at, amount) VALUES (11, '2024-05-01 08:00', 1);   -- 2024-04-30 20:00 UTC
SELECT day FROM live_days WHERE customer_id = 11;
SELECT pg_temp.drift();
RESET timezone;
SET timezone = 'UTC';

-- a large statement (sorted on disk, merged in batches) and exact sums
SET work_mem = '64kB';
INSERT INTO live_tx (customer_id, at, amount)
SELECT 100 + g % 700, '2024-01-01'::timestamptz + (g % 97) * interval '11 hours', (g % 1000) / 100.0
FROM generate_series(1, 20000) g;
SELECT count(*) AS days, sum(rows) AS rows, sum(amount) AS amount FROM live_days WHERE customer_id >= 100;
SELECT pg_temp.drift();
UPDATE live_tx SET amount = amount + 0.01, at = at + interval '13 hours' WHERE customer_id >= 100 AND id % 3 = 0;
SELECT pg_temp.drift();
DELETE FROM live_tx WHERE customer_id >= 100 AND id % 2 = 0;
SELECT pg_temp.drift();
DELETE FROM live_tx WHERE customer_id >= 100;
SELECT count(*) AS days_left FROM live_days WHERE customer_id >= 100;
RESET work_mem;

-- the packed state: one row per customer, its days in a purchase_days value
SELECT customer_id, days FROM live_customers ORDER BY 1;
-- a state behind its table (here emptied by hand): an update that only changes an amount
-- finds no state for the customer; its zero-count day is not kept, and no empty state is left
DELETE FROM live_customers WHERE customer_id = 11;
UPDATE live_tx SET amount = amount + 1 WHERE customer_id = 11;
SELECT count(*) AS states_of_11 FROM live_customers WHERE customer_id = 11;
SELECT track_transactions('live_tx') > 0 AS recounted;
SELECT pg_temp.drift();

-- TRUNCATE empties the state; then rows come back
TRUNCATE live_tx;
SELECT count(*) AS days_after_truncate FROM live_days;
INSERT INTO live_tx (customer_id, at, amount) VALUES
  (1, '2024-01-01 09:00', 10), (1, '2024-01-01 17:30', 5), (1, '2024-01-08 12:00', 20), (1, '2024-01-15 08:00', 40),
  (2, '2024-01-10 10:00', 7),
  (3, '2024-01-05 10:00', 30), (3, '2024-02-05 10:00', 10);
SELECT * FROM pg_temp.days();

--------------------------------------------------------------------------
-- The view: P(alive), expected purchases and CLV from the live state and the latest runs
--------------------------------------------------------------------------

INSERT INTO models (name, description) VALUES ('live_test', 'live_scores regression test');
INSERT INTO model_versions (model, version, time_unit, horizon, clv_step, discount_rate)
VALUES ('live_test', 1, '7 days', 52, 13, 0.10);
-- an older finished run, the latest finished run, and a newer run still running (ignored)
INSERT INTO score_runs (model, version, as_of, status, finished_at, components, weights,
                        purchase_model, spend_model, time_unit, horizon, clv_step, discount_rate, scale)
VALUES ('live_test', 1, '2024-03-01', 'done', '2024-03-02', '{p_alive}', '{1}',
        bgnbd(1, 1, 1, 1), gamma_gamma(1, 1, 1), '7 days', 52, 13, 0.10, 1000),
       ('live_test', 1, '2024-06-01', 'done', '2024-06-02', '{p_alive}', '{1}',
        bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 3.74, 15.44), '7 days', 52, 13, 0.10, 1000),
       ('live_test', 1, '2024-07-01', 'running', NULL, '{p_alive}', '{1}',
        NULL, NULL, '7 days', 52, 13, 0.10, 1000);
SELECT customer_id, frequency, total, purchases, round(monetary::numeric, 6) AS monetary,
       run_id = (SELECT max(run_id) FROM score_runs WHERE model = 'live_test' AND status = 'done') AS latest_done_run,
       as_of = now() AS as_of_now
FROM live_scores WHERE model = 'live_test' ORDER BY customer_id;

-- the same figures computed directly from the transactions with rfm as of now() (one now() per
-- statement, so the time-dependent figures agree to rounding)
WITH run AS (SELECT * FROM score_runs WHERE model = 'live_test' AND status = 'done' ORDER BY finished_at DESC LIMIT 1),
ref AS (
    SELECT customer_id, (rfm(at, amount::float8, now(), '7 days')).*
    FROM live_tx GROUP BY customer_id
),
expected AS (
    SELECT ref.customer_id, ref.frequency, ref.recency, ref.t, ref.monetary,
           p_alive(run.purchase_model, ref.frequency, ref.recency, ref.t) AS p_alive,
           expected_purchases(run.purchase_model, 52, ref.frequency, ref.recency, ref.t) AS expected_purchases,
           clv(run.purchase_model, run.spend_model, ref.frequency, ref.recency, ref.t, ref.monetary,
               52, power(1.10, 13 * 7 / 365.25) - 1, 13) AS clv
    FROM ref, run
)
SELECT e.customer_id,
       l.frequency = e.frequency AS frequency,
       abs(l.recency - e.recency) < 1e-12 AS recency,
       abs(l.t - e.t) < 1e-9 AS t,
       abs(l.monetary - e.monetary) < 1e-9 AS monetary,
       abs(l.p_alive - e.p_alive) <= 1e-9 * e.p_alive AS p_alive,
       abs(l.expected_purchases - e.expected_purchases) <= 1e-9 * e.expected_purchases AS expected_purchases,
       abs(l.clv - e.clv) <= 1e-9 * e.clv AS clv
FROM expected e JOIN live_scores l ON l.customer_id = e.customer_id AND l.model = 'live_test'
ORDER BY 1;

-- t is measured to now(): a customer's first day started at midnight (UTC here)
SELECT customer_id,
       abs(t - extract(epoch FROM now() - '2024-01-01 00:00+00') / (7 * 86400)) < 1e-9 AS t_from_midnight,
       recency = 2 AS recency_two_weeks
FROM live_scores WHERE model = 'live_test' AND customer_id = 1;

-- CLV is NULL, not an error, without a spend model or where expected spend is unbounded
-- (p * frequency + q <= 1: here q = 0.5, so for frequency 0 only)
INSERT INTO models (name) VALUES ('live_test_spend');
INSERT INTO model_versions (model, version) VALUES ('live_test_spend', 1);
INSERT INTO score_runs (model, version, as_of, status, finished_at, components, weights,
                        purchase_model, spend_model, time_unit, horizon, clv_step, discount_rate, scale)
VALUES ('live_test_spend', 1, '2024-06-01', 'done', '2024-06-02', '{p_alive}', '{1}',
        bgnbd(0.243, 4.414, 0.793, 2.426), gamma_gamma(6.25, 0.5, 15.44), '7 days', 52, 13, 0.10, 1000);
INSERT INTO models (name) VALUES ('live_test_none');
INSERT INTO model_versions (model, version) VALUES ('live_test_none', 1);
INSERT INTO score_runs (model, version, as_of, status, finished_at, components, weights,
                        purchase_model, spend_model, time_unit, horizon, clv_step, discount_rate, scale)
VALUES ('live_test_none', 1, '2024-06-01', 'done', '2024-06-02', '{p_alive}', '{1}',
        bgnbd(0.243, 4.414, 0.793, 2.426), NULL, '7 days', 52, 13, 0.10, 1000);
SELECT model, customer_id, frequency, p_alive > 0 AS has_p_alive, clv IS NOT NULL AS has_clv
FROM live_scores WHERE model LIKE 'live_test%' ORDER BY model, customer_id;

-- one customer: the primary key of live_customers, not a scan of the state
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM live_scores WHERE customer_id = 1;
RESET enable_seqscan;

-- plain column types only
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'live_scores'::regclass AND attnum > 0 ORDER BY attnum;

-- a day after today is not in the view yet (rfm ignores rows after as_of alike)
INSERT INTO live_tx (customer_id, at, amount) VALUES (12, now() + interval '2 days', 5);
SELECT count(*) AS future_customer_rows FROM live_scores WHERE customer_id = 12;
SELECT pg_temp.drift();

--------------------------------------------------------------------------
-- The type purchase_days and its functions
--------------------------------------------------------------------------

-- text form: days ascending (BC before year 1), exact amounts, row counts; it reads back exactly
SELECT '{0044-03-15 BC:-1.5/-3, 2024-01-01 : 15.00/2,2024-01-08:20/1}'::purchase_days AS value;
SELECT v::text::purchase_days::text = v::text AS round_trip
FROM (VALUES ('{}'::purchase_days), ('{4714-11-24 BC:0.000001/1,5874897-12-31:123456789012345678901234567890.5/-9223372036854775808}')) t(v);
-- merge: days added up, a day whose count reaches 0 dropped, a NULL state empty, a NULL delta nothing
SELECT purchase_days_merge('{2024-01-01:15.00/2,2024-01-08:20/1}',
                           '{2023-12-01:1/1,2024-01-01:-5.00/-1,2024-01-08:-20/-1,2024-02-01:3/1}') AS merged,
       purchase_days_merge(NULL, '{2024-01-01:5/0,2024-01-02:1/1}') AS normalised,
       purchase_days_merge('{2024-01-01:5/1}', NULL) AS unchanged,
       purchase_days_is_normal('{}') AS empty_is_normal, purchase_days_is_normal('{2024-01-01:5/0}') AS zero_count_is_normal;
-- from arrays (any order, repeated days added up, zero counts left out), unnest, count and summary
SELECT purchase_days(ARRAY['2024-01-02', '2024-01-01', '2024-01-02', '2024-01-03']::date[], ARRAY[1, 2, 3.5, 4], ARRAY[1, 1, 1, 0]) AS built;
SELECT * FROM purchase_days_unnest('{2024-01-01:15.00/2,2024-01-08:20/1}');
SELECT purchase_days_count('{2024-01-01:15.00/2,2024-01-08:20/1}') AS days;
SELECT * FROM purchase_days_summary('{2024-01-01:15.00/2,2024-01-08:20/1,2030-01-01:1/1}', '2025-01-01');
SELECT * FROM purchase_days_summary('{2030-01-01:1/1}', '2025-01-01');
-- malformed text: 22P02, naming the value, with what is wrong
SELECT 'x'::purchase_days;
SELECT '{2024-02-30:1/1}'::purchase_days;
SELECT '{2024-01-02:1/1,2024-01-01:1/1}'::purchase_days;
SELECT '{2024-01-01:1/1,2024-01-01:1/1}'::purchase_days;
SELECT '{2024-01-02:NaN/1}'::purchase_days;
SELECT '{2024-01-02:1e3/1}'::purchase_days;
SELECT '{2024-01-02:1/9223372036854775808}'::purchase_days;
SELECT '{0000-01-01:1/1}'::purchase_days;
SELECT '{5874898-01-01:1/1}'::purchase_days;
SELECT '{2024-01-01:1/1} x'::purchase_days;
SELECT '{2024-01-01:1}'::purchase_days;
-- bad arrays
\set VERBOSITY terse
SELECT purchase_days(ARRAY['2024-01-01']::date[], ARRAY[1, 2], ARRAY[1]);
SELECT purchase_days(ARRAY[NULL]::date[], ARRAY[1], ARRAY[1]);
SELECT purchase_days(ARRAY['infinity']::date[], ARRAY[1], ARRAY[1]);
SELECT purchase_days(ARRAY['2024-01-01']::date[], ARRAY['NaN']::numeric[], ARRAY[1]);
\set VERBOSITY default

--------------------------------------------------------------------------
-- Other kinds of at, time zones, restarting and errors
--------------------------------------------------------------------------

\set VERBOSITY terse
-- one table at a time
CREATE TABLE live_tx_dates (customer_id bigint, at date, amount double precision);
SELECT track_transactions('live_tx_dates');
-- not a table, missing or mistyped columns
CREATE VIEW live_tx_view AS SELECT * FROM live_tx;
SELECT track_transactions('live_tx_view');
CREATE TABLE live_tx_bad (customer_id bigint, at timestamptz);
SELECT track_transactions('live_tx_bad');
CREATE TABLE live_tx_text (customer_id numeric, at timestamptz, amount numeric);   -- ids: integers, text, varchar or uuid
SELECT track_transactions('live_tx_text');
-- the trigger function is not called by hand nor attached by hand
SELECT track_transactions();
CREATE TRIGGER by_hand AFTER INSERT ON live_tx_bad FOR EACH STATEMENT EXECUTE FUNCTION track_transactions();
ALTER TABLE live_tx_bad ADD COLUMN amount numeric;
INSERT INTO live_tx_bad VALUES (1, now(), 1);
DROP TRIGGER by_hand ON live_tx_bad;
-- the recount at REPEATABLE READ could miss rows committed before the lock
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT track_transactions('live_tx');
ROLLBACK;
-- a writer without rights on live_customers is told which grant it needs
CREATE ROLE regress_live_writer;
GRANT INSERT, UPDATE, DELETE, SELECT ON live_tx TO regress_live_writer;
GRANT USAGE ON SEQUENCE live_tx_id_seq TO regress_live_writer;
SET ROLE regress_live_writer;
INSERT INTO live_tx (customer_id, at, amount) VALUES (13, '2024-01-01', 1);
RESET ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON live_customers TO regress_live_writer;
SET ROLE regress_live_writer;
INSERT INTO live_tx (customer_id, at, amount) VALUES (13, '2024-01-01', 1);
RESET ROLE;
REVOKE ALL ON live_customers FROM regress_live_writer;
REVOKE ALL ON live_tx FROM regress_live_writer;
REVOKE ALL ON SEQUENCE live_tx_id_seq FROM regress_live_writer;
DROP ROLE regress_live_writer;
SELECT * FROM pg_temp.days() WHERE customer_id = 13;
\set VERBOSITY default

-- restarting on the same table recounts; switching tables needs untrack first
SELECT track_transactions('live_tx') AS counted;
SELECT untrack_transactions();
SELECT count(*) AS days, (SELECT count(*) FROM live_tracking) AS tracked,
       (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'live_tx'::regclass AND NOT tgisinternal) AS triggers
FROM live_days;

-- a date column: the day as written, whatever the time zone
INSERT INTO live_tx_dates VALUES (1, '2024-01-01', 1.5), (1, '2024-01-01', 2.25), (2, 'infinity', 1), (3, '2024-01-02', 'NaN');
SET timezone = 'America/New_York';
SELECT track_transactions('live_tx_dates') AS counted;
SELECT relation, time_zone, at_type FROM live_tracking;
INSERT INTO live_tx_dates VALUES (1, '2024-01-02', 0.25);
SET timezone = 'Asia/Tokyo';
UPDATE live_tx_dates SET amount = amount * 2 WHERE at = '2024-01-01';
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
SELECT untrack_transactions('live_tx_dates');

-- a timestamptz table tracked in a zone with daylight saving time
SET timezone = 'Europe/Paris';
CREATE TABLE live_tx_paris (customer_id smallint, at timestamptz, amount real);
INSERT INTO live_tx_paris VALUES (1, '2024-03-30 23:30+01', 1), (1, '2024-03-31 23:30+02', 2), (1, '2024-03-31 22:30+00', 4);
SELECT track_transactions('live_tx_paris') AS counted;
SET timezone = 'UTC';
INSERT INTO live_tx_paris VALUES (2, '2024-10-26 22:30+00', 8);   -- 2024-10-27 00:30 in Paris
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
SELECT live_local_time('2024-10-26 22:30+00', 'Europe/Paris') AS paris_wall_clock;
\set VERBOSITY terse
SELECT live_local_time(now(), 'Nowhere/Atlantis');
SELECT live_local_time('infinity', 'UTC');
\set VERBOSITY default
SELECT untrack_transactions();

-- a zone with one fixed offset (UTC+14), and days before 2000 (negative day numbers)
SET timezone = 'Etc/GMT-14';
CREATE TABLE live_tx_fixed (customer_id integer, at timestamptz, amount numeric);
SELECT track_transactions('live_tx_fixed') AS counted;
SET timezone = 'UTC';
INSERT INTO live_tx_fixed VALUES
  (1, '1999-12-31 09:59:59+00', 1),   -- 1999-12-31 23:59:59 at UTC+14
  (1, '1999-12-31 10:00:00+00', 2),   -- 2000-01-01 00:00:00
  (2, '1969-07-20 20:17:40+00', 4),   -- 1969-07-21 10:17:40
  (2, '1969-07-20 09:59:59+00', 8);   -- 1969-07-20 23:59:59
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
SELECT untrack_transactions();

-- a partitioned table: writes through the parent and straight into a partition are both seen
CREATE TABLE live_tx_parts (customer_id bigint, at timestamptz, amount numeric) PARTITION BY RANGE (at);
CREATE TABLE live_tx_parts_2024 PARTITION OF live_tx_parts FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE live_tx_parts_2025 PARTITION OF live_tx_parts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (customer_id);
CREATE TABLE live_tx_parts_2025_odd PARTITION OF live_tx_parts_2025 FOR VALUES IN (1, 3, 5);
CREATE TABLE live_tx_parts_2025_even PARTITION OF live_tx_parts_2025 FOR VALUES IN (2, 4, 6);
INSERT INTO live_tx_parts VALUES (1, '2024-05-01', 10), (2, '2025-05-01', 20);
SELECT track_transactions('live_tx_parts') AS counted;
SELECT tgrelid::regclass AS member, count(*) AS triggers FROM pg_trigger
WHERE tgfoid = 'track_transactions()'::regprocedure GROUP BY 1 ORDER BY 1;
INSERT INTO live_tx_parts VALUES (3, '2025-02-01', 1);
INSERT INTO live_tx_parts_2024 VALUES (3, '2024-02-01', 2);
INSERT INTO live_tx_parts_2025_even VALUES (4, '2025-02-01', 4);
UPDATE live_tx_parts SET at = '2025-06-01' WHERE customer_id = 1;         -- to another partition
UPDATE live_tx_parts_2025 SET customer_id = 6 WHERE customer_id = 4;       -- between sub-partitions
DELETE FROM live_tx_parts_2025_odd WHERE customer_id = 3;
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
TRUNCATE live_tx_parts;
SELECT count(*) AS days_after_truncate FROM live_days;
SELECT untrack_transactions();
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgfoid = 'track_transactions()'::regprocedure;

-- an INSERT is merged without SQL only into live_customers as the extension makes it: a
-- trigger or a row-level security policy added to it applies (the statement runs instead)
CREATE TABLE live_tx_hooks (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO live_tx_hooks VALUES (1, '2024-03-01 12:00+00', 5);
SELECT track_transactions('live_tx_hooks') AS counted;
CREATE TABLE live_hook_log (customer_id bigint, op text, days text);
CREATE FUNCTION live_hook() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO live_hook_log VALUES (NEW.customer_id, TG_OP, NEW.days::text); RETURN NEW; END $$;
CREATE TRIGGER live_hook AFTER INSERT OR UPDATE ON live_customers FOR EACH ROW EXECUTE FUNCTION live_hook();
INSERT INTO live_tx_hooks VALUES (1, '2024-03-01 18:00+00', 2), (2, '2024-03-02 12:00+00', 7);
INSERT INTO live_tx_hooks VALUES (1, '2024-03-03 12:00+00', 1);
SELECT * FROM live_hook_log ORDER BY customer_id, days;
DROP TRIGGER live_hook ON live_customers;
INSERT INTO live_tx_hooks VALUES (3, '2024-03-04 12:00+00', 1);   -- merged directly: not logged
SELECT count(*) AS logged FROM live_hook_log;
CREATE ROLE regress_live_writer;
GRANT INSERT ON live_tx_hooks TO regress_live_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON live_customers TO regress_live_writer;
CREATE POLICY live_few ON live_customers USING (customer_id < 10) WITH CHECK (customer_id < 10);
ALTER TABLE live_customers ENABLE ROW LEVEL SECURITY;
SET ROLE regress_live_writer;
INSERT INTO live_tx_hooks VALUES (4, '2024-03-05 12:00+00', 1);
INSERT INTO live_tx_hooks VALUES (40, '2024-03-05 12:00+00', 1);
RESET ROLE;
ALTER TABLE live_customers DISABLE ROW LEVEL SECURITY;
DROP POLICY live_few ON live_customers;
REVOKE ALL ON live_customers FROM regress_live_writer;
REVOKE ALL ON live_tx_hooks FROM regress_live_writer;
DROP ROLE regress_live_writer;
SELECT * FROM pg_temp.days();
SELECT pg_temp.drift();
SELECT untrack_transactions();
DROP TABLE live_tx_hooks, live_hook_log;
DROP FUNCTION live_hook();

-- clean up: nothing tracked, nothing left behind
DELETE FROM score_runs WHERE model LIKE 'live_test%';
DELETE FROM model_versions WHERE model LIKE 'live_test%';
DELETE FROM models WHERE name LIKE 'live_test%';
DROP VIEW live_tx_view;
DROP TABLE live_tx, live_tx_dates, live_tx_bad, live_tx_text, live_tx_paris, live_tx_parts, live_tx_fixed;
SELECT (SELECT count(*) FROM live_days) AS days, (SELECT count(*) FROM live_tracking) AS tracked;
