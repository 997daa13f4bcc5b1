-- Store-and-combine: partial states per partition, merged later, equal one pass
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';

-- a partitioned transactions table, as a CRM would keep it
CREATE TABLE part_tx (customer_id int, at timestamptz, amount float8) PARTITION BY RANGE (at);
CREATE TABLE part_tx_h1 PARTITION OF part_tx FOR VALUES FROM ('1997-01-01') TO ('1997-07-01');
CREATE TABLE part_tx_h2 PARTITION OF part_tx FOR VALUES FROM ('1997-07-01') TO ('1999-01-01');
INSERT INTO part_tx SELECT customer_id, day::timestamptz, amount FROM fixture.cdnow_sample;

-- rfm per customer and partition, stored, then merged: the same summaries as one pass
CREATE TABLE rfm_states AS
SELECT tableoid::regclass AS partition, customer_id, rfm_partial(at, amount, '1997-09-30', '7 days') AS state
FROM part_tx GROUP BY 1, 2;
SELECT partition, count(*) AS customers FROM rfm_states GROUP BY 1 ORDER BY 1;
SELECT count(*) AS customers, count(*) FILTER (WHERE merged IS DISTINCT FROM one_pass) AS differing
FROM (SELECT customer_id, rfm(rfm_merge(state)) AS merged FROM rfm_states GROUP BY customer_id) m
JOIN (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS one_pass FROM part_tx GROUP BY customer_id) o
USING (customer_id);

-- fit states per segment, stored in a rollup table, merged and fitted later: the same models bit for bit
CREATE TABLE fit_states AS
SELECT id % 4 AS segment, bgnbd_partial(x, t_x, t) AS purchases, gamma_gamma_partial(x, zbar) AS spend
FROM fixture.cdnow_summary_tx GROUP BY 1;
SELECT bgnbd_fit(bgnbd_merge(purchases))::text = (SELECT bgnbd_fit(x, t_x, t)::text FROM fixture.cdnow_summary_tx) AS bgnbd_same,
       gamma_gamma_fit(gamma_gamma_merge(spend))::text = (SELECT gamma_gamma_fit(x, zbar)::text FROM fixture.cdnow_summary_tx) AS gamma_gamma_same
FROM fit_states;
-- a stored state survives a text round trip (as Citus ships it) with the same fit
SELECT bgnbd_fit(bgnbd_merge(purchases::text::bgnbd_state))::text = bgnbd_fit(bgnbd_merge(purchases))::text AS text_round_trip
FROM fit_states;
SELECT round((params(bgnbd_fit(bgnbd_merge(purchases)))->>'r')::numeric, 4) AS r FROM fit_states;

-- merging states of different observation windows is refused
SELECT rfm(rfm_merge(s)) FROM (
  SELECT rfm_partial('1997-01-01'::timestamptz, 1, '1997-09-30') AS s
  UNION ALL SELECT rfm_partial('1997-01-02'::timestamptz, 1, '1997-12-31')) x;

-- the calendar is part of the state: rfm with a time_zone counts days on that zone's calendar,
-- whatever the session's TimeZone (as on a Citus worker, which does not get the session's)
SET timezone = 'America/Los_Angeles';
CREATE TEMP TABLE session_la AS
SELECT customer_id, rfm(at, amount, '1997-09-30 00:00+00', '7 days') AS r FROM part_tx GROUP BY customer_id;
SET timezone = 'UTC';
SELECT count(*) AS customers,
       count(*) FILTER (WHERE in_zone IS DISTINCT FROM la.r) AS differing_from_session_la,
       count(*) FILTER (WHERE in_utc IS DISTINCT FROM la.r) AS utc_differing_from_la
FROM (SELECT customer_id, rfm(at, amount, '1997-09-30 00:00+00', '7 days', 'America/Los_Angeles') AS in_zone,
             rfm(at, amount, '1997-09-30 00:00+00', '7 days', 'UTC') AS in_utc
      FROM part_tx GROUP BY customer_id) z
JOIN session_la la USING (customer_id);
DROP TABLE session_la;
-- the state records the zone (canonical name), and its text and binary forms carry it
SELECT rfm_partial('1997-01-01 12:00+00'::timestamptz, 1, '1997-09-30 00:00+00', '7 days', 'america/los_angeles')::text;
CREATE TEMP TABLE zone_states AS
SELECT rfm_partial('1997-01-01 12:00+00'::timestamptz, 1, '1997-09-30 00:00+00', '7 days', 'Asia/Kolkata') AS zoned,
       'v1 as_of=-71107200000000 as_of_local=-71107200000000 unit=604800 first_at=-94608000000000 last_at=-91929600000000 rows=3 days=-1095:29.33,-1078:29.73,-1064:14.96'::rfm_state AS unrecorded;
COPY zone_states TO '/tmp/customer_score_zone_states.bin' (FORMAT binary);
CREATE TEMP TABLE zone_states_read (LIKE zone_states);
COPY zone_states_read FROM '/tmp/customer_score_zone_states.bin' (FORMAT binary);
SELECT s.zoned::text = r.zoned::text AS zone_binary, s.unrecorded::text = r.unrecorded::text AS v1_binary,
       r.zoned::text::rfm_state::text = r.zoned::text AS zone_text, r.unrecorded::text
FROM zone_states s, zone_states_read r;
-- a state without a zone (0.1.0's text) merges with one that has a zone and takes its zone
SELECT rfm_merge(s)::text FROM (
  SELECT 'v1 as_of=-71107200000000 as_of_local=-71107200000000 unit=604800 first_at=-94608000000000 last_at=-94608000000000 rows=1 days=-1095:29.33'::rfm_state AS s
  UNION ALL SELECT rfm_partial('1997-01-02'::timestamptz, 2, '1997-09-30', '7 days', 'UTC')) x;
-- states of different zones do not merge; rows of one group must share the zone
SELECT rfm(rfm_merge(s)) FROM (
  SELECT rfm_partial('1997-01-01'::timestamptz, 1, '1997-09-30', '7 days', 'UTC') AS s
  UNION ALL SELECT rfm_partial('1997-01-02'::timestamptz, 1, '1997-09-30', '7 days', 'America/Los_Angeles')) x;
SELECT rfm(at, 1, '1997-09-30', '7 days', zone) FROM (VALUES ('1997-01-01'::timestamptz, 'UTC'), ('1997-01-02', 'Europe/Berlin')) v(at, zone);
SELECT rfm('1997-01-01'::timestamptz, 1, '1997-09-30', '7 days', 'Mars/Olympus_Mons');
-- state text: an unknown zone, and an as_of_local that is not as_of in the zone
SELECT 'v2 as_of=0 as_of_local=0 unit=86400 zone=Mars/Olympus_Mons first_at=0 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT 'v2 as_of=0 as_of_local=0 unit=86400 zone=Asia/Kolkata first_at=0 last_at=0 rows=1 days=0:1'::rfm_state;
SELECT 'v2 as_of=0 as_of_local=19800000000 unit=86400 zone=Asia/Kolkata first_at=0 last_at=0 rows=1 days=0:1'::rfm_state::text;
DROP TABLE zone_states, zone_states_read;

DROP TABLE part_tx, rfm_states, fit_states;
