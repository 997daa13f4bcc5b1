-- Opt-outs of customers whose ids are text ('C00042'), by customer_key or by their number, and of
-- integer ids by customer_key: refresh, backtest and the action paths leave them out alike.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(15);

-- CDNOW with the ids a CRM has ('C00001'), and actions as in test/pgtap/scores.sql
CREATE TEMP TABLE tx AS
SELECT 'C' || lpad(customer_id::text, 5, '0') AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
CREATE TEMP TABLE actions AS
SELECT g::bigint AS id, 'C' || lpad((g * 7 % 2357 + 1)::text, 5, '0') AS customer_id, NULL::bigint AS sparked_by,
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' AS at, 0::float8 AS value,
       'community'::text AS channel, (ARRAY['review', 'answer', 'blog_post', 'like'])[1 + g % 4] AS kind
FROM generate_series(1, 300) g
UNION ALL
SELECT 1000 + g, 'C' || lpad((g * 13 % 785 + 1)::text, 5, '0'), 1 + (g % 300),
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' + (g % 20) * interval '1 day',
       (g % 5) * 12.5, (ARRAY['web', 'store', 'event'])[1 + g % 3], (ARRAY['purchase', 'signup', 'like', 'comment'])[1 + g % 4]
FROM generate_series(1, 2000) g;
-- opted out: every tenth customer with actions (by key), and one more by its number below
CREATE TEMP TABLE opted AS SELECT DISTINCT customer_id FROM actions WHERE right(customer_id, 1) = '3';
CREATE TEMP TABLE by_number AS SELECT min(customer_id) AS customer_id FROM actions WHERE right(customer_id, 1) = '7';
INSERT INTO opted SELECT customer_id FROM by_number;

SELECT lives_ok($$SELECT set_source('transactions', 'tx'); SELECT set_source('actions', 'actions')$$, 'text-id sources set');
SELECT ok((SELECT count(*) FROM opted) > 50, 'opted: more than 50 customers with actions');

-- by key, before refresh has ever seen the keys (the run numbers them first, then applies the opt-outs)
INSERT INTO opt_outs (customer_key, reason)
SELECT customer_id, 'asked not to be tracked' FROM opted WHERE customer_id NOT IN (SELECT customer_id FROM by_number);
SELECT refresh('default', '1997-09-30') AS run_keys \gset
-- by the number customer_keys gives the key (the way of 0.1.0's opt_outs)
INSERT INTO opt_outs (customer_id) SELECT k.customer_id FROM customer_keys k JOIN by_number b ON b.customer_id = k.customer_key;
SELECT refresh('default', '1997-09-30') AS run \gset
SELECT is((SELECT customer_keys FROM score_runs WHERE run_id = :run), true, 'the run has text customer ids');

CREATE TEMP TABLE with_opt_out AS
SELECT customer_key, component, raw_value FROM score_explanation
WHERE model = 'default' AND component IN ('influence_value', 'influence_points', 'referral_value', 'knowledge');
SELECT is((SELECT count(*) FROM with_opt_out w JOIN opted o ON o.customer_id = w.customer_key WHERE w.raw_value IS NOT NULL),
          0::bigint, 'customers opted out by key or by number have no influence components of their own');
SELECT is((SELECT count(*) FROM scores s JOIN opted o ON o.customer_id = s.customer_key WHERE s.model = 'default'),
          (SELECT count(*) FROM opted), 'and are still scored on their transactions');

-- the actions source of the backtest and the paths, before the opted-out actions are deleted below
SELECT backtest('default', '1997-09-30', '1998-06-30') AS backtest_id \gset
SELECT is((SELECT count(*) FROM backtest_customers b JOIN customer_keys k ON k.customer_id = b.customer_id
           JOIN opted o ON o.customer_id = k.customer_key WHERE b.backtest_id = :backtest_id),
          0::bigint, 'a backtest leaves out the customers opted out by key or by number');
SELECT is((SELECT count(*) FROM backtest_customers WHERE backtest_id = :backtest_id),
          2357::bigint - (SELECT count(*) FROM opted), 'and keeps everyone else');
CREATE TEMP TABLE paths_with_opt_out AS SELECT * FROM action_paths('SELECT * FROM actions', '1997-09-30');
CREATE TEMP TABLE proposed_with_opt_out AS SELECT * FROM propose_action_weights('1997-09-30');
SELECT ok((SELECT count(*) FROM proposed_with_opt_out) > 0, 'propose_action_weights reads a text-id actions source');

DELETE FROM opt_outs;
DELETE FROM actions a USING opted o WHERE a.customer_id = o.customer_id;
SELECT refresh('default', '1997-09-30') AS run_without \gset
SELECT is((SELECT count(*) FROM (
              SELECT customer_key, component, raw_value FROM with_opt_out
              EXCEPT
              SELECT customer_key, component, raw_value FROM score_explanation
              WHERE model = 'default' AND component IN ('influence_value', 'influence_points', 'referral_value', 'knowledge')) d),
          0::bigint, 'opt-outs by key leave no trace in anyone''s influence (same as deleting their actions)');
SELECT results_eq('SELECT * FROM paths_with_opt_out ORDER BY path',
                  $$SELECT * FROM action_paths('SELECT * FROM actions', '1997-09-30') ORDER BY path$$,
                  'action_paths of text ids leaves the opted-out customers out, as if their actions were deleted');
SELECT results_eq('SELECT * FROM proposed_with_opt_out ORDER BY channel, kind',
                  $$SELECT * FROM propose_action_weights('1997-09-30') ORDER BY channel, kind$$,
                  'and so does propose_action_weights');

-- integer ids: customer_key is the id's digits ('42'; '042' names nobody)
CREATE TEMP TABLE itx AS SELECT customer_id::bigint AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
CREATE TEMP TABLE iactions AS
SELECT a.id, substr(a.customer_id, 2)::bigint AS customer_id, a.sparked_by, a.at, a.value, a.channel, a.kind FROM actions a;
SELECT lives_ok($$SELECT set_source('transactions', 'itx'); SELECT set_source('actions', 'iactions')$$, 'integer-id sources set');
CREATE TEMP TABLE two AS
SELECT (SELECT min(customer_id) FROM iactions) AS by_key, (SELECT max(customer_id) FROM iactions) AS padded;
INSERT INTO opt_outs (customer_key) SELECT by_key::text FROM two UNION ALL SELECT '0' || padded FROM two;
SELECT refresh('default', '1997-09-30') AS irun \gset
SELECT is((SELECT array_agg(e.raw_value IS NULL ORDER BY e.customer_id) FROM score_explanation e JOIN two t ON e.customer_id IN (t.by_key, t.padded)
           WHERE e.model = 'default' AND e.component = 'influence_points'),
          ARRAY[true, false], 'an integer id opts out by its digits as customer_key, not by a padded form');
SELECT results_eq($$SELECT * FROM action_paths('SELECT * FROM iactions', '1997-09-30') ORDER BY path$$,
                  $$SELECT * FROM action_paths('SELECT * FROM iactions WHERE customer_id <> (SELECT by_key FROM two)', '1997-09-30') ORDER BY path$$,
                  'action_paths of integer ids honours customer_key too');

-- a row names the customer one way
SELECT throws_ok($$INSERT INTO opt_outs (customer_id, customer_key) VALUES (1, 'C00001')$$, '23514', NULL,
                 'an opt-out with both customer_id and customer_key is refused');
SELECT * FROM finish();
ROLLBACK;
