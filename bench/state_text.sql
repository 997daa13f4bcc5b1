-- The histogram states' text on one node: size and out + in per distinct history, for 100,000
-- customers on whole days in weeks with monetary in cents (h_days) and the same with continuous
-- times and money (h_cont). Run with psql in a scratch database that has the extension:
--   psql -X -f bench/state_text.sql        (creates tables h_days, h_cont and st in schema public)
-- Printed: distinct histories, the text's length, that text -> state -> text is the identity and
-- gives the same binary state, and the median of 5 of out (::text), out + in (::text::type) in ms.
SET search_path = public, customer_score;
SELECT setseed(0.42);
DROP TABLE IF EXISTS h_days, h_cont, st;
-- CDNOW-like histories on whole days in weeks (rfm with '7 days'), 100k customers
CREATE TABLE h_days AS
SELECT i AS customer_id, f AS frequency, CASE WHEN f = 0 THEN 0 ELSE floor(random() * td)::int / 7.0::float8 END AS recency,
       td / 7.0::float8 AS t, 5 + round((random() * 100)::numeric, 2)::float8 AS monetary
FROM (SELECT i, floor(-ln(random()) * 3)::int AS f, 273 + floor(random() * 273)::int AS td FROM generate_series(1, 100000) i) s;
-- continuous times: every history distinct
CREATE TABLE h_cont AS
SELECT i AS customer_id, f AS frequency, CASE WHEN f = 0 THEN 0 ELSE random() * tt END AS recency, tt AS t,
       random() * 100 AS monetary
FROM (SELECT i, floor(-ln(random()) * 3)::int AS f, 39 + random() * 39 AS tt FROM generate_series(1, 100000) i) s;
SELECT 'days' AS data, count(DISTINCT (frequency, recency, t)) AS distinct_bgnbd, count(DISTINCT (frequency, monetary)) AS distinct_gg FROM h_days
UNION ALL SELECT 'cont', count(DISTINCT (frequency, recency, t)), count(DISTINCT (frequency, monetary)) FROM h_cont;
CREATE TABLE st AS SELECT 'days' AS data, bgnbd_partial(frequency, recency, t) AS b, gamma_gamma_partial(frequency, monetary) AS g FROM h_days
UNION ALL SELECT 'cont', bgnbd_partial(frequency, recency, t), gamma_gamma_partial(frequency, monetary) FROM h_cont;
SELECT data, length(b::text) AS bgnbd_text, length(g::text) AS gg_text, pg_column_size(b) AS bgnbd_binary FROM st ORDER BY 1;
SELECT data, b::text::bgnbd_state::text = b::text AS bgnbd_roundtrip, g::text::gamma_gamma_state::text = g::text AS gg_roundtrip,
       bgnbd_state_send(b::text::bgnbd_state) = bgnbd_state_send(b) AS same_state FROM st ORDER BY 1;
-- out and out + in of each state, median of 5 (the state is built once, in st)
CREATE OR REPLACE FUNCTION pg_temp.t(q text, runs int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ms float8[] := '{}'; x int;
BEGIN FOR i IN 1..runs LOOP t0 := clock_timestamp(); EXECUTE q INTO x; ms := ms || extract(epoch FROM clock_timestamp() - t0) * 1000; END LOOP;
RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY m) FROM unnest(ms) m); END $$;
SELECT data,
  round(pg_temp.t(format($q$SELECT length(b::text) FROM st WHERE data = %L$q$, data), 5)::numeric, 1) AS bgnbd_out_ms,
  round(pg_temp.t(format($q$SELECT pg_column_size(b::text::bgnbd_state) FROM st WHERE data = %L$q$, data), 5)::numeric, 1) AS bgnbd_out_in_ms,
  round(pg_temp.t(format($q$SELECT pg_column_size(g::text::gamma_gamma_state) FROM st WHERE data = %L$q$, data), 5)::numeric, 1) AS gg_out_in_ms
FROM (VALUES ('days'), ('cont')) v(data);
