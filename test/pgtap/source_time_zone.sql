-- The calendar of a source: set_source fixes a time zone (the session TimeZone unless named), and
-- refresh counts the purchase days in it, so a refresh under another session TimeZone stores the
-- same scores; a date or timestamp at reads as a wall-clock time in the source's zone. So do the
-- backtest's realized spend and propose_action_weights' paths.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(15);

CREATE TEMP TABLE tx AS SELECT customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
CREATE TEMP TABLE tx_wall AS SELECT customer_id, day::timestamp AS at, amount FROM fixture.cdnow_sample;
CREATE TEMP TABLE tx_day AS SELECT customer_id, day::date AS at, amount FROM fixture.cdnow_sample;

-- got(): every stored figure of the default model's latest run, customer by customer
CREATE FUNCTION pg_temp.got() RETURNS TABLE (customer_id bigint, component text, raw_value float8, normalized float8,
                                             contribution numeric, score numeric, confidence numeric)
LANGUAGE sql AS $$
    SELECT e.customer_id, e.component, e.raw_value, e.normalized, e.contribution::numeric, s.score::numeric, s.confidence::numeric
    FROM customer_score.score_explanation e JOIN customer_score.scores s USING (customer_id, model)
    WHERE e.model = 'default' ORDER BY 1, 2
$$;

SELECT set_source('transactions', 'tx');
SELECT is((SELECT time_zone FROM sources WHERE kind = 'transactions'), 'UTC', 'set_source fixes the session TimeZone as the source''s zone');
SELECT refresh('default', '1997-09-30 00:00+00') AS run \gset
CREATE TEMP TABLE in_utc AS SELECT * FROM pg_temp.got();
SELECT ok((SELECT count(DISTINCT customer_id) FROM in_utc) = 2357, 'a refresh in UTC scores the 2357 CDNOW customers');

SET timezone = 'America/Los_Angeles';
SELECT refresh('default', '1997-09-30 00:00+00') AS run \gset
SELECT results_eq('SELECT * FROM pg_temp.got()', 'SELECT * FROM in_utc',
                  'a refresh under SET TimeZone = ''America/Los_Angeles'' stores the same scores, components and figures');
-- what the session's calendar would have given: other days, so other t
SELECT ok((SELECT count(*) FROM (SELECT customer_id, rfm(at, amount, '1997-09-30 00:00+00', '7 days') AS s,
                                        rfm(at, amount, '1997-09-30 00:00+00', '7 days', 'UTC') AS z FROM tx GROUP BY 1) c
           WHERE (c.s).t <> (c.z).t) = 2357, '(rfm on the session''s America/Los_Angeles calendar differs for every customer)');

-- a source set in this session takes its zone; a named one wins
SELECT set_source('transactions', 'tx');
SELECT is((SELECT time_zone FROM sources WHERE kind = 'transactions'), 'America/Los_Angeles', 'a source set under America/Los_Angeles gets that zone');
SELECT set_source('transactions', 'tx', '', 'UTC');
SELECT is((SELECT time_zone FROM sources WHERE kind = 'transactions'), 'UTC', 'set_source(kind, relation, model, time_zone) names the zone');
SELECT throws_ok($$SELECT set_source('transactions', 'tx', '', 'Mars/Olympus_Mons')$$, '22023',
                 'time zone "Mars/Olympus_Mons" not recognized', 'an unknown zone is refused as rfm refuses it');

-- a timestamp or date at is the wall-clock time in the source's zone, not the session's
SELECT set_source('transactions', 'tx_wall', '', 'UTC');
SELECT refresh('default', '1997-09-30 00:00+00') AS run \gset
SELECT results_eq('SELECT * FROM pg_temp.got()', 'SELECT * FROM in_utc',
                  'a timestamp source in UTC, refreshed under America/Los_Angeles, scores as the timestamptz one in UTC');
SELECT set_source('transactions', 'tx_day', '', 'UTC');
SET timezone = 'Asia/Tokyo';
SELECT refresh('default', '1997-09-30 00:00+00') AS run \gset
SELECT results_eq('SELECT * FROM pg_temp.got()', 'SELECT * FROM in_utc',
                  'and so does a date source, refreshed under Asia/Tokyo');
SELECT is((SELECT count(*) FROM sources WHERE time_zone IS NULL), 0::bigint, 'every source has a zone');

-- the backtest's realized spend reads at on the source's calendar too
SELECT set_source('transactions', 'tx_wall', '', 'UTC');
SET timezone = 'UTC';
SELECT backtest('default', '1997-06-30 00:00+00', '1997-09-30 00:00+00') AS bt \gset
CREATE TEMP TABLE bt_utc AS SELECT customer_id, score, realized_spend, realized_purchases
FROM backtest_customers WHERE backtest_id = :bt;
SET timezone = 'America/Los_Angeles';
SELECT ok((SELECT count(*) FROM tx_wall
           WHERE (at::timestamptz > '1997-06-30 00:00+00') <> ((at AT TIME ZONE 'UTC') > '1997-06-30 00:00+00')
              OR (at::timestamptz <= '1997-09-30 00:00+00') <> ((at AT TIME ZONE 'UTC') <= '1997-09-30 00:00+00')) > 0,
          '(on the session''s America/Los_Angeles calendar some purchases change period)');
SELECT backtest('default', '1997-06-30 00:00+00', '1997-09-30 00:00+00') AS bt \gset
SELECT results_eq(format('SELECT customer_id, score, realized_spend, realized_purchases FROM backtest_customers WHERE backtest_id = %s ORDER BY 1', :bt),
                  'SELECT * FROM bt_utc ORDER BY 1',
                  'a backtest of a timestamp source in UTC, run under America/Los_Angeles, realizes the same spend and purchases as in UTC');
SELECT ok((SELECT sum(realized_purchases) FROM bt_utc) > 0, '(and something was realized)');

-- so do the paths propose_action_weights reads from the actions source
CREATE TEMP TABLE act_wall AS
SELECT g::bigint AS id, g % 40 + 1 AS customer_id, NULL::bigint AS sparked_by,
       '1997-09-29 12:00'::timestamp + g * interval '6 minutes' AS at, (g % 5 / 4) * 12.5 AS value,
       (ARRAY['web', 'store', 'event'])[1 + g % 3] AS channel, (ARRAY['visit', 'signup', 'like'])[1 + g / 7 % 3] AS kind
FROM generate_series(1, 400) g;
SELECT set_source('actions', 'act_wall', '', 'UTC');
SET timezone = 'UTC';
CREATE TEMP TABLE proposed_utc AS SELECT * FROM propose_action_weights('1997-09-30 00:00+00');
SET timezone = 'America/Los_Angeles';
SELECT ok((SELECT count(*) FROM act_wall WHERE at::timestamptz <= '1997-09-30 00:00+00') <
          (SELECT count(*) FROM act_wall WHERE at AT TIME ZONE 'UTC' <= '1997-09-30 00:00+00'),
          '(on the session''s America/Los_Angeles calendar fewer actions are up to as_of)');
SELECT results_eq($$SELECT * FROM propose_action_weights('1997-09-30 00:00+00') ORDER BY channel, kind$$,
                  'SELECT * FROM proposed_utc ORDER BY channel, kind',
                  'propose_action_weights of a timestamp actions source in UTC, run under America/Los_Angeles, proposes what it does in UTC');

SELECT * FROM finish();
ROLLBACK;
