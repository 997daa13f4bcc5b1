-- influence and influence_rank against independent references written in plain SQL and PL/pgSQL:
-- a recursive CTE for the cascade credit, the traces for every influence row, per-conversion
-- attribution sums, and a power iteration for the rank.
\ir ../lib/pgtap_begin.sql
SET timezone = 'UTC';

SELECT plan(22);

--------------------------------------------------------------------------
-- A generated graph: 20,000 actions by 2,000 customers over 21 months.  Most sparks point up to
-- 4,000 actions (125 days) back (so some steps are longer than 90 days); some point forward (they never count unless at an
-- equal instant, where they can close cycles: actions come in groups of four sharing a time);
-- some name no action (orphans); some customers spark themselves.
--------------------------------------------------------------------------
SELECT setseed(0.17);
CREATE TEMP TABLE g_act AS
SELECT i::bigint AS id,
       1 + floor(random() * 2000)::bigint AS customer_id,
       CASE WHEN r < 0.75 AND i > 1 THEN greatest(1, i - 1 - floor(random() * 4000))::bigint
            WHEN r < 0.80 THEN (i + 1 + floor(random() * 3))::bigint
            WHEN r < 0.83 THEN (1000000 + i)::bigint
       END AS sparked_by,
       timestamptz '2023-01-01' + floor(i / 4) * interval '3 hours' AS at,
       CASE WHEN random() < 0.4 THEN round((random() * 100)::numeric, 2)::float8 ELSE 0 END AS value,
       (ARRAY['web', 'app', 'community', 'store', 'event', 'phone', NULL])[1 + floor(random() * 7)::int] AS channel,
       (ARRAY['purchase', 'signup', 'like', 'share', 'answer', 'review', 'blog_post', 'visit', 'poke', NULL])[1 + floor(random() * 10)::int] AS kind,
       (ARRAY['pg', 'mysql', 'sqlite', NULL])[1 + floor(random() * 4)::int] AS topic
FROM (SELECT i, random() AS r FROM generate_series(1, 20000) i) s;
UPDATE g_act a SET customer_id = s.customer_id FROM g_act s WHERE s.id = a.sparked_by AND a.id % 7 = 0;
CREATE INDEX ON g_act (id);
ANALYZE g_act;

-- The reference: the same credit as a recursive CTE over the table (a path array ends cycles).
CREATE FUNCTION pg_temp.ref_influence(as_of timestamptz, max_depth int, decay float8, max_gap interval,
                                      half_life interval, by_topic bool)
RETURNS TABLE (customer_id bigint, topic text, actions_sparked bigint, people_moved bigint,
               direct_value float8, cascade_value float8, influence_points float8)
LANGUAGE sql AS $$
WITH RECURSIVE conv AS (
    SELECT a.id, a.customer_id, a.sparked_by, a.at, coalesce(a.value, 0) AS value,
           customer_score.action_weight(a.channel, a.kind) AS weight,
           CASE WHEN half_life IS NULL THEN 1::float8
                ELSE power(0.5::float8, extract(epoch FROM as_of - a.at)::float8 / extract(epoch FROM half_life)::float8)
           END AS age
    FROM g_act a WHERE a.at <= as_of),
walk AS (
    SELECT c.id AS conv, c.customer_id AS conv_author, c.value, c.weight, c.age, 1 AS depth,
           s.customer_id AS credited, s.topic, s.at AS via_at, s.sparked_by, ARRAY[c.id, s.id] AS path
    FROM conv c JOIN g_act s ON s.id = c.sparked_by
    WHERE s.at <= c.at AND c.at - s.at <= max_gap AND s.id <> c.id
    UNION ALL
    SELECT w.conv, w.conv_author, w.value, w.weight, w.age, w.depth + 1,
           s.customer_id, s.topic, s.at, s.sparked_by, w.path || s.id
    FROM walk w JOIN g_act s ON s.id = w.sparked_by
    WHERE w.depth < max_depth AND decay > 0 AND s.at <= w.via_at AND w.via_at - s.at <= max_gap
      AND s.id <> ALL (w.path))
SELECT credited, CASE WHEN by_topic THEN topic END, count(DISTINCT conv), count(DISTINCT conv_author),
       coalesce(sum(value * power(decay, depth - 1) * age) FILTER (WHERE depth = 1), 0),
       coalesce(sum(value * power(decay, depth - 1) * age) FILTER (WHERE depth > 1), 0),
       sum(weight * power(decay, depth - 1) * age)
FROM walk WHERE credited <> conv_author
GROUP BY 1, 2
$$;

-- rows of influence(...) and the reference that differ (by more than 1e-9 relative)
CREATE FUNCTION pg_temp.mismatches(as_of timestamptz, max_depth int, decay float8, max_gap interval,
                                   half_life interval, by_topic bool) RETURNS bigint LANGUAGE sql AS $$
SELECT count(*)
FROM (SELECT * FROM customer_score.influence('SELECT * FROM g_act', as_of, max_depth, decay, max_gap, half_life, by_topic)) c
FULL JOIN pg_temp.ref_influence(as_of, max_depth, decay, max_gap, half_life, by_topic) r
       ON r.customer_id = c.customer_id AND r.topic IS NOT DISTINCT FROM c.topic
WHERE c.customer_id IS NULL OR r.customer_id IS NULL
   OR c.actions_sparked <> r.actions_sparked OR c.people_moved <> r.people_moved
   OR abs(c.direct_value - r.direct_value) > 1e-9 * greatest(1, abs(r.direct_value))
   OR abs(c.cascade_value - r.cascade_value) > 1e-9 * greatest(1, abs(r.cascade_value))
   OR abs(c.influence_value - (r.direct_value + r.cascade_value)) > 1e-9 * greatest(1, abs(r.direct_value + r.cascade_value))
   OR abs(c.influence_points - r.influence_points) > 1e-9 * greatest(1, abs(r.influence_points))
$$;

SELECT ok((SELECT count(*) FROM g_act a JOIN g_act s ON s.id = a.sparked_by
           WHERE s.at = a.at AND a.id < s.id) > 100
          AND (SELECT count(*) FROM g_act a WHERE a.sparked_by > 1000000) > 100
          AND (SELECT count(*) FROM g_act a JOIN g_act s ON s.id = a.sparked_by WHERE s.customer_id = a.customer_id) > 1000
          AND (SELECT count(*) FROM g_act a JOIN g_act s ON s.id = a.sparked_by WHERE a.at - s.at > interval '90 days') > 1000,
          'the generated graph has equal-time forward sparks, orphans, self-sparks and steps beyond 90 days');
SELECT ok((SELECT count(*) FROM influence('SELECT * FROM g_act', '2024-12-31')) > 1500
          AND (SELECT count(*) FROM influence('SELECT * FROM g_act', '2024-12-31') WHERE cascade_value > 0) > 1000,
          'most customers get direct and cascade credit');
SELECT is(pg_temp.mismatches('2024-12-31', 3, 0.5, '90 days', NULL, false), 0::bigint,
          'defaults (depth 3, decay 0.5, 90 days): every row equals the recursive CTE to 1e-9');
SELECT is(pg_temp.mismatches('2023-10-31', 6, 0.7, '30 days', '60 days', true), 0::bigint,
          'depth 6, decay 0.7, 30 days, half_life 60 days, by topic, earlier as_of: equals the recursive CTE');
SELECT is(pg_temp.mismatches('2024-06-30', 1, 0.5, '1 year', '1 day', false), 0::bigint,
          'depth 1, a one-year window, a one-day half-life: equals the recursive CTE');
SELECT is(pg_temp.mismatches('2024-06-30', 100, 0, '120 days', NULL, true), 0::bigint,
          'depth_decay 0 (depth 1 only) at max_depth 100: equals the recursive CTE');
SELECT is(pg_temp.mismatches('2024-06-30', 100, 1, '120 days', NULL, false), 0::bigint,
          'depth_decay 1 at max_depth 100 (long chains, cycles at one instant): equals the recursive CTE');

-- the result does not depend on the order the query returns rows in
SELECT is((SELECT count(*) FROM (
             SELECT * FROM influence('SELECT * FROM g_act ORDER BY random()', '2024-12-31', by_topic => true)
             EXCEPT
             SELECT * FROM influence('SELECT * FROM g_act ORDER BY id', '2024-12-31', by_topic => true)) d),
          0::bigint, 'shuffled input gives bit-identical results');

--------------------------------------------------------------------------
-- Traces add up to the influence rows
--------------------------------------------------------------------------
CREATE TEMP TABLE g_top AS
SELECT * FROM influence('SELECT * FROM g_act', '2024-03-31', 4, 0.6, '60 days', '45 days', by_topic => true)
ORDER BY influence_value DESC, customer_id, topic LIMIT 40;
SELECT is((SELECT count(*) FROM g_top i,
                  LATERAL (SELECT count(DISTINCT action_id) AS actions, count(DISTINCT actor) AS people,
                                  coalesce(sum(money_credit) FILTER (WHERE depth = 1), 0) AS direct,
                                  coalesce(sum(money_credit) FILTER (WHERE depth > 1), 0) AS cascade,
                                  sum(points_credit) AS points
                           FROM influence_trace('SELECT * FROM g_act', i.customer_id, '2024-03-31', 4, 0.6, '60 days', '45 days') t
                           WHERE t.topic IS NOT DISTINCT FROM i.topic) t
           WHERE i.actions_sparked = t.actions AND i.people_moved = t.people
             AND abs(i.direct_value - t.direct) <= 1e-9 * greatest(1, abs(t.direct))
             AND abs(i.cascade_value - t.cascade) <= 1e-9 * greatest(1, abs(t.cascade))
             AND abs(i.influence_points - t.points) <= 1e-9 * greatest(1, abs(t.points))),
          40::bigint, 'for the top 40 (customer, topic) rows the trace sums to the influence row');
SELECT is((SELECT count(*) FROM influence_trace('SELECT * FROM g_act', (SELECT customer_id FROM g_top LIMIT 1), '2024-03-31', 4, 0.6, '60 days', '45 days') t
           JOIN g_act a ON a.id = t.action_id
           WHERE t.weight <> action_weight(a.channel, a.kind) OR t.value <> a.value
              OR t.depth_factor <> 0.6 ^ (t.depth - 1) OR t.share <> 1
              OR abs(t.money_credit - t.value * t.depth_factor * t.age_factor) > 1e-12 * greatest(1, t.money_credit)),
          0::bigint, 'trace lines carry the action''s value, the SQL lookup''s weight and their factors');

--------------------------------------------------------------------------
-- Attribution: every conversion's depth-1 credit sums to its value
--------------------------------------------------------------------------
-- 800 actions by 60 customers, 4 hours apart; touches up to 700 actions (117 days) back
CREATE TEMP TABLE m_act AS
SELECT id, 1 + (customer_id % 60) AS customer_id, sparked_by, timestamptz '2023-01-01' + id * interval '4 hours' AS at,
       value, channel, kind
FROM g_act WHERE id <= 800;
CREATE TEMP TABLE m_touch AS
SELECT a.id AS action_id, greatest(1, a.id - 1 - floor(random() * 700))::bigint AS touched_by
FROM m_act a, generate_series(1, 4) k WHERE random() < 0.5
UNION ALL SELECT 5000000, 1;   -- a conversion that does not exist
-- the expected depth-1 total of each conversion: its value when any touch (touches and sparked_by)
-- names an existing action by someone else, no later than it and within 90 days
CREATE TEMP TABLE m_expected AS
SELECT a.id, a.value * (EXISTS (
          SELECT 1 FROM (SELECT touched_by AS t FROM m_touch WHERE action_id = a.id UNION SELECT a.sparked_by) tt
          JOIN m_act s ON s.id = tt.t
          WHERE s.customer_id <> a.customer_id AND s.at <= a.at AND a.at - s.at <= interval '90 days'))::int AS credit
FROM m_act a WHERE a.at <= '2023-12-31';
CREATE TEMP TABLE m_credit AS
SELECT m AS model, t.action_id, sum(t.money_credit) AS credit, count(*) AS lines
FROM unnest(ARRAY['first', 'last', 'linear', 'time_decay', 'position']) m,
     (SELECT DISTINCT customer_id FROM m_act) c,
     influence_trace('SELECT * FROM m_act', c.customer_id, '2023-12-31', touches => 'SELECT * FROM m_touch', attribution => m) t
WHERE t.depth = 1
GROUP BY m, t.action_id;
SELECT ok((SELECT count(*) FROM m_credit WHERE model = 'linear' AND lines >= 3) > 20
          AND (SELECT count(*) FROM m_touch t JOIN m_act a ON a.id = t.action_id JOIN m_act s ON s.id = t.touched_by
               WHERE a.at - s.at > interval '90 days') > 20
          AND (SELECT count(*) FROM m_touch t JOIN m_act a ON a.id = t.action_id JOIN m_act s ON s.id = t.touched_by
               WHERE a.customer_id = s.customer_id) > 5,
          'the attribution graph has conversions with three or more touches, touches out of the window and self-touches');
SELECT is((SELECT count(*) FROM m_expected e CROSS JOIN unnest(ARRAY['first', 'last', 'linear', 'time_decay', 'position']) m
           LEFT JOIN m_credit c ON c.model = m AND c.action_id = e.id
           WHERE abs(coalesce(c.credit, 0) - e.credit) > 1e-9 * greatest(1, e.credit)),
          0::bigint, 'first, last, linear, time_decay, position: each conversion''s depth-1 credit sums to its value');
SELECT is((SELECT count(*) FROM (
             SELECT * FROM influence('SELECT * FROM m_act', '2023-12-31', touches => 'SELECT * FROM m_touch WHERE false')
             EXCEPT SELECT * FROM influence('SELECT * FROM m_act', '2023-12-31')) d),
          0::bigint, 'an empty touches query changes nothing');
SELECT is((SELECT count(*) FROM (
             SELECT customer_id, direct_value, cascade_value FROM influence('SELECT * FROM m_act', '2023-12-31',
                          touches => 'SELECT * FROM m_touch', attribution => 'linear')
             EXCEPT SELECT customer_id, direct_value, cascade_value FROM influence('SELECT * FROM m_act', '2023-12-31',
                          touches => 'SELECT * FROM m_touch ORDER BY random()', attribution => 'linear')) d),
          0::bigint, 'touches in any order give the same result');

--------------------------------------------------------------------------
-- influence_rank against a power iteration in PL/pgSQL with the same conventions
--------------------------------------------------------------------------
CREATE TEMP TABLE r_edges AS
SELECT 1 + floor(random() * 300)::bigint AS source, 1 + floor(random() * 350)::bigint AS target,
       CASE WHEN random() < 0.1 THEN 0 ELSE round((random() * 5)::numeric, 3)::float8 END AS weight
FROM generate_series(1, 2500);
INSERT INTO r_edges VALUES (1000, 1000, 3), (1001, 1, 1), (1, 2, 1), (1, 2, 2);   -- a self-loop only, parallel edges

CREATE FUNCTION pg_temp.ref_rank(damping float8, max_iterations int, tolerance float8)
RETURNS TABLE (customer_id bigint, rank float8) LANGUAGE plpgsql AS $$
DECLARE
    n int;
    dangling_rank float8;
    delta float8;
BEGIN
    CREATE TEMP TABLE rr_node ON COMMIT DROP AS
        SELECT x AS node FROM (SELECT source AS x FROM r_edges UNION SELECT target FROM r_edges) s;
    SELECT count(*) INTO n FROM rr_node;
    -- walk from target to source with probability w / (total weight into target)
    CREATE TEMP TABLE rr_link ON COMMIT DROP AS
        SELECT source, target, weight / sum(weight) OVER (PARTITION BY target) AS p
        FROM r_edges WHERE source <> target AND weight > 0;
    CREATE TEMP TABLE rr_rank ON COMMIT DROP AS SELECT node, 1.0::float8 / n AS r FROM rr_node;
    FOR i IN 1 .. max_iterations LOOP
        SELECT coalesce(sum(r), 0) INTO dangling_rank FROM rr_rank
        WHERE node NOT IN (SELECT target FROM rr_link);
        CREATE TEMP TABLE rr_next ON COMMIT DROP AS
            SELECT nd.node, (1 - damping) / n + damping * dangling_rank / n
                            + damping * coalesce((SELECT sum(t.r * l.p) FROM rr_link l JOIN rr_rank t ON t.node = l.target
                                                  WHERE l.source = nd.node), 0) AS r
            FROM rr_node nd;
        SELECT sum(abs(x.r - y.r)) INTO delta FROM rr_next x JOIN rr_rank y USING (node);
        DROP TABLE rr_rank;
        ALTER TABLE rr_next RENAME TO rr_rank;
        EXIT WHEN delta < tolerance;
    END LOOP;
    RETURN QUERY SELECT node, r FROM rr_rank;
    DROP TABLE rr_rank, rr_link, rr_node;
END $$;

SELECT is((SELECT max(abs(c.rank - r.rank)) < 1e-9 AND count(*) = (SELECT count(*) FROM pg_temp.ref_rank(0.85, 100, 1e-10))
           FROM influence_rank('SELECT * FROM r_edges') c JOIN pg_temp.ref_rank(0.85, 100, 1e-10) r USING (customer_id)),
          true, 'influence_rank equals the reference power iteration to 1e-9 (damping 0.85, tolerance 1e-10)');
SET LOCAL client_min_messages = warning;   -- tolerance 0: "stopped after 7 iterations"
SELECT is((SELECT max(abs(c.rank - r.rank)) < 1e-9
           FROM influence_rank('SELECT * FROM r_edges', 0.5, 7, 0) c JOIN pg_temp.ref_rank(0.5, 7, 0) r USING (customer_id)),
          true, 'and after exactly 7 iterations at damping 0.5');
RESET client_min_messages;
SELECT ok((SELECT abs(sum(rank) - 1) < 1e-12 AND min(rank) > 0 FROM influence_rank('SELECT * FROM r_edges')),
          'ranks are positive and sum to 1');
SELECT is((SELECT count(*) FROM influence_rank('SELECT * FROM r_edges WHERE source <> target')),
          (SELECT count(*) FROM (SELECT source FROM r_edges WHERE source <> target UNION SELECT target FROM r_edges WHERE source <> target) s),
          'one row per customer seen as a source or target');

-- a star: customer 1 moved five others; 7 moved 8 (a second, smaller star)
SELECT results_eq(
    $$SELECT customer_id FROM influence_rank('SELECT 1 AS source, t AS target FROM generate_series(2, 6) t UNION ALL SELECT 7, 8')
      ORDER BY rank DESC, customer_id LIMIT 2$$,
    ARRAY[1::bigint, 7::bigint],
    'in a star the customer who moved five others ranks first, the one who moved one second');
SELECT ok((SELECT count(DISTINCT round(rank::numeric, 12)) = 1
           FROM influence_rank('SELECT 1 AS source, t AS target FROM generate_series(2, 6) t') WHERE customer_id > 1),
          'the moved customers of a star rank equally');
-- weights: 1 moved 3 with weight 3, 2 moved 3 with weight 1: 1 ranks above 2; no weight column means 1
SELECT results_eq(
    $$SELECT customer_id FROM influence_rank('SELECT * FROM (VALUES (1, 3, 3.0), (2, 3, 1.0)) e(source, target, weight)')
      ORDER BY rank DESC LIMIT 2$$,
    ARRAY[1::bigint, 2::bigint], 'a heavier edge passes more rank');
SELECT is((SELECT count(*) FROM influence_rank('SELECT source, target FROM r_edges WHERE weight > 0') a
           JOIN influence_rank('SELECT source, target, 1 AS weight FROM r_edges WHERE weight > 0') b USING (customer_id)
           WHERE a.rank <> b.rank),
          0::bigint, 'without a weight column every edge weighs 1');

SELECT * FROM finish();
ROLLBACK;
