-- influence: hand-checked graphs with known answers
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- One table, one small graph per scenario.  Day numbers are days after 2024-01-01.
CREATE TEMP TABLE act (scenario text, id bigint, customer_id bigint, sparked_by bigint,
                       at timestamptz, value float8, channel text, kind text, topic text);
CREATE FUNCTION pg_temp.day(d float8) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    RETURN timestamptz '2024-01-01 00:00+00' + d * interval '1 day';
INSERT INTO act VALUES
  -- chain: 10 writes a post, 20 answers from it, 30 buys from the answer, 40 buys from 30's purchase
  ('chain', 1, 10, NULL, pg_temp.day(0),  0,   'community', 'blog_post', 'pg'),
  ('chain', 2, 20, 1,    pg_temp.day(4),  0,   'community', 'answer',    'pg'),
  ('chain', 3, 30, 2,    pg_temp.day(9),  100, 'web',       'purchase',  'pg'),
  ('chain', 4, 40, 3,    pg_temp.day(19), 50,  'store',     'purchase',  NULL),
  ('chain', 5, 50, NULL, pg_temp.day(2),  70,  'web',       'purchase',  NULL),  -- acts, sparks nothing
  -- windows (max_gap 90 days): a step counts when 0 <= gap <= max_gap
  ('gap', 11, 1, NULL, pg_temp.day(0),   0,  'web', 'referral', NULL),
  ('gap', 12, 2, 11,   pg_temp.day(10),  10, 'web', 'purchase', NULL),   -- 10 days: counts
  ('gap', 13, 3, 11,   pg_temp.day(100), 20, 'web', 'purchase', NULL),   -- 100 days: too late
  ('gap', 14, 4, 12,   pg_temp.day(100), 40, 'web', 'purchase', NULL),   -- exactly 90 days: counts
  ('gap', 15, 5, 12,   pg_temp.day(5),   80, 'web', 'purchase', NULL),   -- before its spark: never
  -- self-credit: 2 signs up from 1's referral, then buys from its own sign-up
  ('self', 21, 1, NULL, pg_temp.day(0), 0,   'web', 'referral', NULL),
  ('self', 22, 2, 21,   pg_temp.day(1), 0,   'web', 'signup',   NULL),
  ('self', 23, 2, 22,   pg_temp.day(2), 100, 'web', 'purchase', NULL),   -- credits 1 at depth 2
  ('self', 24, 1, 21,   pg_temp.day(3), 30,  'web', 'purchase', NULL),   -- 1's own: nobody
  -- cycles in bad data (only possible at one instant): a 2-cycle, a self-loop, a 3-cycle
  ('cycle', 31, 1, 32, pg_temp.day(0), 10, 'web', 'purchase', NULL),
  ('cycle', 32, 2, 31, pg_temp.day(0), 20, 'web', 'purchase', NULL),
  ('cycle', 33, 3, 33, pg_temp.day(0), 99, 'web', 'purchase', NULL),
  ('cycle', 34, 4, 36, pg_temp.day(1), 8,  'web', 'purchase', NULL),
  ('cycle', 35, 5, 34, pg_temp.day(1), 8,  'web', 'purchase', NULL),
  ('cycle', 36, 6, 35, pg_temp.day(1), 8,  'web', 'purchase', NULL),
  -- orphans: sparked_by names an action that is not there
  ('orphan', 41, 1, 999, pg_temp.day(0), 10, 'web', 'purchase', NULL),
  ('orphan', 42, 2, 41,  pg_temp.day(1), 10, 'web', 'purchase', NULL),
  -- topics: 1 writes about pg and about mysql
  ('topic', 51, 1, NULL, pg_temp.day(0), 0,   'community', 'blog_post', 'pg'),
  ('topic', 52, 1, NULL, pg_temp.day(0), 0,   'community', 'blog_post', 'mysql'),
  ('topic', 53, 2, 51,   pg_temp.day(1), 100, 'web',       'purchase',  'pg'),
  ('topic', 54, 3, 52,   pg_temp.day(1), 60,  'web',       'purchase',  'mysql'),
  ('topic', 55, 4, 53,   pg_temp.day(2), 10,  'web',       'purchase',  NULL);

-- The chain, defaults (depth 3, decay 0.5, 90 days): 10 gets 100/2 + 50/4 at depth 2 and 3
-- and 8 + 4/2 + 4/4 points (answer 8, purchase 4); 50 acted but sparked nothing: no row.
SELECT * FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, '2024-06-01') ORDER BY customer_id;
-- depth 2 drops 40's purchase from 10's credit; decay 1 counts every depth fully; decay 0: depth 1 only
SELECT customer_id, actions_sparked, direct_value, cascade_value, influence_points
FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, '2024-06-01', max_depth => 2) ORDER BY customer_id;
SELECT customer_id, actions_sparked, direct_value, cascade_value, influence_points
FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, '2024-06-01', depth_decay => 1) ORDER BY customer_id;
SELECT customer_id, actions_sparked, direct_value, cascade_value, influence_points
FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, '2024-06-01', depth_decay => 0) ORDER BY customer_id;
-- as_of between 30's and 40's purchases: 40's does not exist yet
SELECT customer_id, actions_sparked, direct_value, cascade_value, influence_points
FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, pg_temp.day(15)) ORDER BY customer_id;
-- half_life 10 days seen from day 19: 40's purchase (age 0) counts fully, 30's (age 10) half,
-- 20's answer (age 15) 0.5^1.5
SELECT customer_id, round(direct_value::numeric, 6) AS direct, round(cascade_value::numeric, 6) AS cascade,
       round(influence_points::numeric, 6) AS points
FROM influence($$SELECT * FROM act WHERE scenario = 'chain'$$, pg_temp.day(19), half_life => '10 days') ORDER BY customer_id;
SELECT round((8 * 0.5 ^ 1.5 + 4 * 0.5 * 0.5 + 4 * 0.25)::numeric, 6) AS customer_10_points_by_hand;

-- Windows: 1 gets 10 (day 10) and 40/2 through 12 (exactly 90 days); 13 is too late, 15 precedes
-- its spark.  With max_gap 10 days, 14 (90 days after 12) no longer counts.
SELECT customer_id, actions_sparked, people_moved, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'gap'$$, '2024-12-31') ORDER BY customer_id;
SELECT customer_id, actions_sparked, people_moved, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'gap'$$, '2024-12-31', max_gap => '10 days') ORDER BY customer_id;
SELECT customer_id, direct_value
FROM influence($$SELECT * FROM act WHERE scenario = 'gap'$$, '2024-12-31', max_gap => '9 days 23:59:59') ORDER BY customer_id;

-- Self-credit: 2's own sign-up is skipped and the walk goes on to 1 (depth 2: 100/2);
-- 1's own purchase from 1's own referral credits nobody.  people_moved counts 2 once.
SELECT * FROM influence($$SELECT * FROM act WHERE scenario = 'self'$$, '2024-12-31') ORDER BY customer_id;

-- Cycles end: each of a 2-cycle gets the other's value at depth 1; the self-loop credits
-- nobody; the 3-cycle gives each 8 at depth 1 and 8/2 at depth 2, then stops, even at max_depth 100.
SELECT customer_id, actions_sparked, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'cycle'$$, '2024-12-31', max_depth => 100) ORDER BY customer_id;

-- Orphans end their chain: 41's sparked_by 999 does not exist
SELECT customer_id, actions_sparked, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'orphan'$$, '2024-12-31') ORDER BY customer_id;

-- by_topic groups by the topic of the credited customer's own action at that step
SELECT customer_id, topic, actions_sparked, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'topic'$$, '2024-12-31', by_topic => true) ORDER BY customer_id, topic;
SELECT customer_id, topic, actions_sparked, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'topic'$$, '2024-12-31') ORDER BY customer_id;
-- without a topic column, by_topic gives NULL topics
SELECT customer_id, topic, direct_value, cascade_value
FROM influence($$SELECT id, customer_id, sparked_by, at, value, channel, kind FROM act WHERE scenario = 'topic'$$,
               '2024-12-31', by_topic => true) ORDER BY customer_id;

-- Columns are found by name in any order; extra columns are ignored; integer ids, numeric
-- values and varchar texts are accepted.
SELECT customer_id, direct_value, cascade_value
FROM influence($$SELECT kind::varchar, channel, value::numeric, at, sparked_by::int, customer_id::int, id::int, 'x' AS other
                 FROM act WHERE scenario = 'chain'$$, '2024-06-01') ORDER BY customer_id;
-- an empty query gives no rows
SELECT count(*) FROM influence($$SELECT * FROM act WHERE false$$);

--------------------------------------------------------------------------
-- Weights: (channel, kind), ('*', kind), (channel, '*'), ('*', '*'), else 0
--------------------------------------------------------------------------
CREATE TEMP TABLE wact AS
SELECT * FROM (VALUES
  (1::bigint, 1::bigint, NULL::bigint, pg_temp.day(0), 0::float8, 'web'::text, 'blog_post'::text),
  (2, 2, 1, pg_temp.day(1), 0, 'store', 'visit'),        -- (store, visit) = 3
  (3, 3, 1, pg_temp.day(1), 0, 'web',   'answer'),       -- ('*', answer) = 8
  (4, 4, 1, pg_temp.day(1), 0, 'store', 'tasting'),      -- (store, '*') = 3
  (5, 5, 1, pg_temp.day(1), 0, 'web',   'tasting'),      -- ('*', '*') = 1
  (6, 6, 1, pg_temp.day(1), 0, NULL,    'answer'),       -- NULL channel: ('*', answer) = 8
  (7, 7, 1, pg_temp.day(1), 0, 'event', NULL),           -- NULL kind: (event, '*') = 4
  (8, 8, 1, pg_temp.day(1), 0, 'app',   'poke')          -- ('*', '*') = 1
) v(id, customer_id, sparked_by, at, value, channel, kind);
SELECT action_id, channel, kind, weight, points_credit, weight = action_weight(channel, kind) AS same_as_sql
FROM influence_trace('SELECT * FROM wact', 1, '2024-12-31') ORDER BY action_id;
BEGIN;
-- user rows: a channel-specific answer weight, a new kind, a changed shipped row; and no
-- fallback at all (no match weighs 0)
INSERT INTO action_weights (channel, kind, weight) VALUES ('web', 'answer', 20), ('*', 'tasting', 5);
UPDATE action_weights SET weight = 2.5 WHERE channel = 'store' AND kind = '*';
DELETE FROM action_weights WHERE channel = '*' AND kind = '*';
SELECT action_id, channel, kind, weight, weight = action_weight(channel, kind) AS same_as_sql
FROM influence_trace('SELECT * FROM wact', 1, '2024-12-31') ORDER BY action_id;
SELECT channel, kind, weight, is_default FROM action_weights
WHERE (channel, kind) IN (('web', 'answer'), ('*', 'tasting'), ('store', '*')) ORDER BY 1, 2;
ROLLBACK;
-- the shipped defaults: content and answers far above reactions; offline channels present
SELECT channel, kind, weight FROM action_weights
WHERE kind IN ('blog_post', 'answer', 'review', 'like', 'follow', 'share', '*') ORDER BY weight DESC, channel, kind;

--------------------------------------------------------------------------
-- Trace: every credit line; summed they give the influence row
--------------------------------------------------------------------------
SELECT action_id, actor, depth, via_action_id, topic, channel, kind, value, weight, depth_factor, age_factor, share,
       money_credit, points_credit
FROM influence_trace($$SELECT * FROM act WHERE scenario = 'chain'$$, 10, '2024-06-01') ORDER BY action_id, depth;
SELECT i.customer_id,
       i.actions_sparked = t.actions AND i.people_moved = t.people
       AND i.direct_value = t.direct AND i.cascade_value = t.cascade AND i.influence_points = t.points AS trace_adds_up
FROM influence($$SELECT * FROM act WHERE scenario IN ('chain', 'self', 'gap')$$, '2024-12-31', half_life => '30 days') i,
     LATERAL (SELECT count(DISTINCT action_id) AS actions, count(DISTINCT actor) AS people,
                     coalesce(sum(money_credit) FILTER (WHERE depth = 1), 0) AS direct,
                     coalesce(sum(money_credit) FILTER (WHERE depth > 1), 0) AS cascade,
                     sum(points_credit) AS points
              FROM influence_trace($$SELECT * FROM act WHERE scenario IN ('chain', 'self', 'gap')$$, i.customer_id,
                                   '2024-12-31', half_life => '30 days')) t
ORDER BY i.customer_id;
-- a customer nobody credits has no lines
SELECT count(*) FROM influence_trace($$SELECT * FROM act WHERE scenario = 'chain'$$, 40, '2024-06-01');

--------------------------------------------------------------------------
-- Multi-touch attribution
--------------------------------------------------------------------------
-- Conversion 109 (customer 9, 100 on day 10) was touched by 101 (customer 1, day 0), 102 (2, day 3),
-- 103 (3, day 8, also its sparked_by), 109's own author's 108 (dropped: self) and 100 (day -200:
-- outside max_gap, dropped).  102 itself was sparked by 107 (customer 7): its share continues at depth 2.
-- Conversion 119 (customer 9, 60) has two touches: position splits 50/50.
CREATE TEMP TABLE mt (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8,
                      channel text, kind text);
INSERT INTO mt VALUES
  (100, 5, NULL, pg_temp.day(-200), 0,   'web', 'review'),
  (107, 7, NULL, pg_temp.day(1),    0,   'web', 'blog_post'),
  (101, 1, NULL, pg_temp.day(0),    0,   'web', 'review'),
  (102, 2, 107,  pg_temp.day(3),    0,   'web', 'answer'),
  (103, 3, NULL, pg_temp.day(8),    0,   'web', 'referral'),
  (108, 9, NULL, pg_temp.day(9),    0,   'web', 'like'),
  (109, 9, 103,  pg_temp.day(10),   100, 'web', 'purchase'),
  (111, 1, NULL, pg_temp.day(20),   0,   'web', 'review'),
  (112, 2, NULL, pg_temp.day(21),   0,   'web', 'review'),
  (119, 9, NULL, pg_temp.day(22),   60,  'web', 'purchase');
CREATE TEMP TABLE mt_touch (action_id bigint, touched_by bigint);
INSERT INTO mt_touch VALUES (109, 101), (109, 102), (109, 103), (109, 108), (109, 100), (109, 102),
                            (119, 112), (119, 111), (119, 999), (998, 101);
SELECT m AS attribution, customer_id, round(direct_value::numeric, 4) AS direct, round(cascade_value::numeric, 4) AS cascade
FROM unnest(ARRAY['first', 'last', 'linear', 'position', 'time_decay']) m,
     influence('SELECT * FROM mt', '2024-12-31', touches => 'SELECT * FROM mt_touch', attribution => m)
ORDER BY array_position(ARRAY['first', 'last', 'linear', 'position', 'time_decay'], m), customer_id;
-- time_decay by hand: touches 10, 7 and 2 days old weigh 0.5^(age / 7 days)
SELECT round((100 * w1 / (w1 + w2 + w3))::numeric, 4) AS c1, round((100 * w2 / (w1 + w2 + w3))::numeric, 4) AS c2,
       round((100 * w3 / (w1 + w2 + w3))::numeric, 4) AS c3
FROM (SELECT 0.5 ^ (10 / 7.0) AS w1, 0.5 ^ (7 / 7.0) AS w2, 0.5 ^ (2 / 7.0) AS w3) w;
-- the depth-1 credit of each conversion sums to its value, whatever the model
SELECT m AS attribution, t.action_id, t.value, round(sum(t.money_credit)::numeric, 12) AS depth_1_credit
FROM unnest(ARRAY['first', 'last', 'linear', 'position', 'time_decay']) m,
     generate_series(1, 9) c,
     influence_trace('SELECT * FROM mt', c, '2024-12-31', touches => 'SELECT * FROM mt_touch', attribution => m) t
WHERE t.depth = 1
GROUP BY m, t.action_id, t.value
ORDER BY array_position(ARRAY['first', 'last', 'linear', 'position', 'time_decay'], m), t.action_id;
-- shares in the trace
SELECT action_id, via_action_id, depth, round(share::numeric, 4) AS share, round(money_credit::numeric, 4) AS money
FROM generate_series(1, 9) c,
     influence_trace('SELECT * FROM mt', c, '2024-12-31', touches => 'SELECT * FROM mt_touch', attribution => 'position')
ORDER BY action_id, depth, via_action_id;
-- without touches, every model is the plain cascade (one touch: share 1)
SELECT count(DISTINCT (customer_id, direct_value, cascade_value, influence_points)) AS distinct_results
FROM unnest(ARRAY['first', 'last', 'linear', 'position', 'time_decay']) m,
     influence($$SELECT * FROM act WHERE scenario = 'chain'$$, '2024-06-01', attribution => m);
-- a conversion whose only touches are its own author's follows the plain cascade: 23 (customer 2)
-- touched by 2's own 22 still credits 1 at depth 2
SELECT customer_id, direct_value, cascade_value
FROM influence($$SELECT * FROM act WHERE scenario = 'self'$$, '2024-12-31',
               touches => 'SELECT 23 AS action_id, 22 AS touched_by', attribution => 'linear');
