-- The calendar of rfm_holdout, tracking and track_transactions: with a time_zone the results
-- under SET TimeZone = 'America/Los_Angeles' equal the session-zone results in UTC (what a Citus
-- worker in another zone must also give); rfm_holdout_state records the zone (text and binary),
-- states of different zones do not merge, and the text that did not record a zone still reads.
\ir ../lib/pgtap_begin.sql
SET timezone = 'UTC';

SELECT plan(32);

-- CDNOW's purchases at hours spread over the day, so that UTC and Los Angeles days differ
CREATE TEMP TABLE tx AS
SELECT customer_id, day::timestamptz + ((customer_id * 7 + (day - date '1997-01-01')) % 24) * interval '1 hour' AS at, amount
FROM fixture.cdnow_sample;

-- the reference: computed in a UTC session without a time_zone
CREATE TEMP TABLE ref_h AS
SELECT customer_id, (rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days')).* FROM tx GROUP BY 1;
CREATE TEMP TABLE m AS SELECT bgnbd_fit(frequency, recency, t) AS bg FROM ref_h;
CREATE TEMP TABLE ref_tr AS
SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '7 days') t;

SET timezone = 'America/Los_Angeles';

-- 1. rfm_holdout
SELECT results_eq(
  $$SELECT customer_id, (rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days', 'UTC')).* FROM tx GROUP BY 1 ORDER BY 1$$,
  $$SELECT * FROM ref_h ORDER BY 1$$,
  'rfm_holdout(..., ''UTC'') under SET TimeZone = ''America/Los_Angeles'' equals rfm_holdout in a UTC session');
SELECT ok((SELECT count(*) FROM ref_h JOIN (
             SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days') AS h FROM tx GROUP BY 1) s
           USING (customer_id) WHERE (s.h).t <> ref_h.t OR (s.h).frequency <> ref_h.frequency) > 1000,
          '(without a time_zone the session''s Los Angeles calendar gives other summaries)');
SELECT is((SELECT count(*) FROM (
             SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days', 'America/New_York') AS h,
                    rfm(at, amount, '1997-09-30 00:00+00', '7 days', 'America/New_York') AS r
             FROM tx GROUP BY 1) s
           WHERE (s.h).frequency IS NOT NULL
             AND ((s.h).frequency, (s.h).recency, (s.h).t, (s.h).monetary, (s.h).total, (s.h).purchases, (s.h).first_at, (s.h).last_at)::rfm_summary
                 IS DISTINCT FROM s.r),
          0::bigint, 'the calibration columns of rfm_holdout(..., ''America/New_York'') are rfm(..., ''America/New_York'')''s');
SELECT is((SELECT count(*) FROM (
             SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days') AS h,
                    rfm(at, amount, '1997-09-30 00:00+00', '7 days') AS r
             FROM tx GROUP BY 1) s
           WHERE (s.h).frequency IS NOT NULL
             AND ((s.h).frequency, (s.h).recency, (s.h).t, (s.h).monetary, (s.h).total, (s.h).purchases, (s.h).first_at, (s.h).last_at)::rfm_summary
                 IS DISTINCT FROM s.r),
          0::bigint, 'without a time_zone the calibration columns are rfm''s in the session''s zone');

-- stored states per half-year, merged: one pass; their text round-trips and records the zone
CREATE TEMP TABLE h_states AS
SELECT customer_id, at < '1997-07-01 00:00+00' AS first_half,
       rfm_holdout_partial(at, amount, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days', 'UTC') AS s
FROM tx GROUP BY 1, 2;
SELECT results_eq(
  $$SELECT customer_id, (rfm_holdout(rfm_holdout_merge(s))).* FROM h_states GROUP BY 1 ORDER BY 1$$,
  $$SELECT * FROM ref_h ORDER BY 1$$,
  'rfm_holdout(rfm_holdout_merge(stored states in UTC)) under Los Angeles equals one pass in a UTC session');
SELECT results_eq(
  $$SELECT customer_id, (rfm_holdout(rfm_holdout_merge(s::text::rfm_holdout_state))).* FROM h_states GROUP BY 1 ORDER BY 1$$,
  $$SELECT * FROM ref_h ORDER BY 1$$,
  'the same through the states'' text (as Citus ships them)');
SELECT is((SELECT count(*) FROM h_states WHERE s::text::rfm_holdout_state::text <> s::text), 0::bigint,
          'every state''s text round-trips exactly');
SELECT is((SELECT count(*) FROM h_states WHERE s::text NOT LIKE 'v2 % zone=UTC first_at=%'), 0::bigint,
          'a state built with a time_zone is written "v2 ... zone=UTC ..."');
SELECT is((SELECT substring(rfm_holdout_partial('1997-01-01 12:00+00'::timestamptz, 1, '1997-09-30', '1998-06-30', '7 days', 'america/los_angeles')::text
                            FROM ' zone=(\S+) ')),
          'America/Los_Angeles', 'the state records the zone''s canonical name');
SELECT is((SELECT substring(rfm_holdout_partial('1997-01-01 12:00+00'::timestamptz, 1, '1997-09-30', '1998-06-30', '7 days')::text
                            FROM ' zone=(\S+) ')),
          'America/Los_Angeles', 'without a time_zone the state records the session''s zone');

-- binary form
CREATE TEMP TABLE bin_states AS SELECT customer_id, first_half, s FROM h_states;
INSERT INTO bin_states VALUES (0, true,
  'v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5');
COPY bin_states TO '/tmp/customer_score_calendar_zones.bin' (FORMAT binary);
CREATE TEMP TABLE bin_read (LIKE bin_states);
COPY bin_read FROM '/tmp/customer_score_calendar_zones.bin' (FORMAT binary);
SELECT is((SELECT count(*) FROM bin_states b JOIN bin_read r USING (customer_id, first_half) WHERE b.s::text IS NOT DISTINCT FROM r.s::text),
          (SELECT count(*) FROM bin_states), 'binary send and receive keep every state, with its zone or without one');

-- the old text, without a zone, still reads and merges with any zone, taking it
SELECT is('v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5'::rfm_holdout_state::text,
          'v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5',
          'the v1 text (no zone recorded) still reads and is written as it was');
SELECT is((SELECT rfm_holdout_merge(s)::text FROM (
             SELECT 'v1 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days='::rfm_holdout_state AS s
             UNION ALL SELECT rfm_holdout_partial('2000-01-01 12:00+00'::timestamptz, 2.5, '2000-01-01 00:00+00', '2000-01-02 00:00+00', '1 day', 'UTC')) x),
          'v2 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 zone=UTC first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5',
          'a v1 state merges with a zoned one and takes its zone');
SELECT is((rfm_holdout('v2 calibration_end=0 calibration_end_local=19800000000 holdout_end=86400000000 holdout_end_local=106200000000 unit=86400 zone=Asia/Kolkata first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days=0:2.5'::rfm_holdout_state)).holdout_frequency,
          1, 'a v2 text with its zone reads and finishes');
SELECT throws_ok($$SELECT 'v2 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 zone=Asia/Kolkata first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days='::rfm_holdout_state$$,
                 '22P02', NULL, 'state text whose local ends are not the ends in its zone is refused');
SELECT throws_ok($$SELECT 'v2 calibration_end=0 calibration_end_local=0 holdout_end=86400000000 holdout_end_local=86400000000 unit=86400 zone=Mars/Olympus_Mons first_at=-86400000000 last_at=-86400000000 rows=1 days=-1:5 holdout_days='::rfm_holdout_state$$,
                 '22P02', NULL, 'state text with an unknown zone is refused');

-- different calendars do not merge
SELECT throws_ok($$SELECT rfm_holdout(rfm_holdout_merge(s)) FROM (
                     SELECT rfm_holdout_partial('1997-01-01'::timestamptz, 1, '1997-09-30', '1998-06-30', '7 days', 'UTC') AS s
                     UNION ALL SELECT rfm_holdout_partial('1997-01-02'::timestamptz, 1, '1997-09-30', '1998-06-30', '7 days', 'America/New_York')) x$$,
                 '22023', 'cannot merge rfm_holdout states of different time zones: "UTC" and "America/New_York"',
                 'merging states of different zones is an error naming both');
CREATE TEMP TABLE la_state AS
SELECT rfm_holdout_partial('1997-01-02 00:00+00'::timestamptz, 1, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days') AS s;
SET timezone = 'UTC';
CREATE TEMP TABLE utc_state AS
SELECT rfm_holdout_partial('1997-01-01 00:00+00'::timestamptz, 1, '1997-09-30 00:00+00', '1998-06-30 00:00+00', '7 days') AS s;
SET timezone = 'America/Los_Angeles';
SELECT throws_ok($$SELECT rfm_holdout_merge(s) FROM (SELECT s FROM utc_state UNION ALL SELECT s FROM la_state) x$$,
                 '22023', 'cannot merge rfm_holdout states of different time zones: "UTC" and "America/Los_Angeles"',
                 'states built in sessions (or Citus workers) of different TimeZones do not merge either');
SELECT throws_ok($$SELECT rfm_holdout(at, 1, '1997-09-30', '1998-06-30', '7 days', zone)
                   FROM (VALUES ('1997-01-01'::timestamptz, 'UTC'), ('1997-01-02', 'Europe/Berlin')) v(at, zone)$$,
                 '22023', 'time_zone must be the same for every row of a group, got "UTC" and "Europe/Berlin"',
                 'the rows of one group must share the zone');
SELECT throws_ok($$SELECT rfm_holdout('1997-01-01'::timestamptz, 1, '1997-09-30', '1998-06-30', '7 days', 'Mars/Olympus_Mons')$$,
                 '22023', 'time zone "Mars/Olympus_Mons" not recognized', 'an unknown zone is refused as rfm refuses it');

-- 2. tracking
SELECT results_eq(
  $$SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '7 days', 'UTC') t$$,
  $$SELECT * FROM ref_tr$$,
  'tracking(..., ''UTC'') under Los Angeles equals tracking in a UTC session');
SELECT ok((SELECT count(*) FROM ref_tr r JOIN (
             SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '7 days') t) s
           USING (period_number) WHERE s.actual <> r.actual) > 0,
          '(without a time_zone the session''s calendar counts other periods'' purchases)');
SELECT results_eq(
  $$SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '7 days', NULL) t$$,
  $$SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '7 days') t$$,
  'tracking with a NULL time_zone is the session''s calendar, as without one');
SELECT results_eq(
  $$SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', time_zone => 'UTC') t$$,
  $$SELECT t.* FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01 00:00+00', '1998-07-01 00:00+00', '7 days', '1 day', 'UTC') t$$,
  'tracking(..., time_zone => ...) keeps the defaults of period and unit');
SELECT is((SELECT count(*) FROM m, tracking(bg, NULL, '1997-01-01', '1998-07-01', '7 days', '7 days', 'UTC')), 0::bigint,
          'a NULL argument other than time_zone gives no rows');
SELECT throws_ok($$SELECT * FROM m, tracking(bg, 'SELECT customer_id, at FROM tx', '1997-01-01', '1998-07-01', '7 days', '7 days', 'Mars/Olympus_Mons')$$,
                 '22023', 'time zone "Mars/Olympus_Mons" not recognized', 'tracking refuses an unknown zone');

-- 3. track_transactions
CREATE TABLE calendar_live_tx (customer_id bigint, at timestamptz, amount numeric);
INSERT INTO calendar_live_tx SELECT customer_id, at, amount FROM tx WHERE customer_id <= 200;
SELECT lives_ok($$SELECT track_transactions('calendar_live_tx', 'UTC')$$, 'track_transactions(relation, time_zone) under Los Angeles');
SELECT is((SELECT time_zone FROM live_tracking), 'UTC', 'live_tracking records the zone given');
INSERT INTO calendar_live_tx VALUES (1, '1997-03-01 03:00+00', 10);   -- 28 February in Los Angeles
SELECT results_eq(
  $$SELECT customer_id, day, rows FROM live_days ORDER BY 1, 2$$,
  $$SELECT customer_id, (at AT TIME ZONE 'UTC')::date, count(*) FROM calendar_live_tx GROUP BY 1, 2 ORDER BY 1, 2$$,
  'the live state (load and a later insert in a Los Angeles session) has the UTC days');
SELECT throws_ok($$SELECT track_transactions('calendar_live_tx', 'Mars/Olympus_Mons')$$,
                 '22023', NULL, 'track_transactions refuses an unknown zone, as rfm does');
SELECT ok(track_transactions('calendar_live_tx', NULL) > 0, 'track_transactions(relation, NULL) loads the state');
SELECT is((SELECT time_zone FROM live_tracking), 'America/Los_Angeles',
          'track_transactions(relation, NULL) and track_transactions(relation) take the session TimeZone');

SELECT * FROM finish();
ROLLBACK;
