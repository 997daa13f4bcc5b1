-- The explanation views answer one customer through an index whatever the statistics say, and
-- score_changes gives what its definition says: checked against an independent formulation (each
-- customer's two latest runs found by ranking, then joined component by component).
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET timezone = 'UTC';

SELECT plan(8);

CREATE TEMP TABLE tx AS
SELECT customer_id::bigint AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
SELECT set_source('transactions', 'tx');
SELECT new_version('changes');
INSERT INTO model_components (model, version, position, component, weight) VALUES
    ('changes', 1, 1, 'historic_value', 0.6), ('changes', 1, 2, 'predicted_clv', 0.4);
SELECT publish('changes', 1);
SELECT refresh('changes', '1997-06-30') > 0;
SELECT refresh('changes', '1997-09-30') > 0;
-- a new version with another component: components that appear and disappear
SELECT new_version('changes');
UPDATE model_components SET component = 'p_alive' WHERE model = 'changes' AND version = 2 AND position = 2;
SELECT publish('changes', 2);
SELECT refresh('changes', '1997-12-31') > 0;
-- customers missing from a run: their change spans the runs they are in
DELETE FROM scores_history h USING score_runs r
WHERE h.run_id = r.run_id AND r.model = 'changes' AND r.as_of = '1997-09-30' AND h.customer_id % 3 = 0;

CREATE TEMP TABLE expected_changes AS
WITH ranked AS (
    SELECT h.run_id, h.customer_id, r.model, r.version, r.as_of, h.score, r.components, h.contribution,
           rank() OVER (PARTITION BY r.model, h.customer_id ORDER BY h.run_id DESC) AS k
    FROM scores_history h JOIN score_runs r ON r.run_id = h.run_id AND r.status = 'done'
)
SELECT c.customer_id, c.model, comp AS component, p.version AS previous_version, c.version AS current_version,
       p.version IS DISTINCT FROM c.version AS version_changed, p.as_of AS previous_as_of, c.as_of AS current_as_of,
       p.score AS previous_score, c.score AS current_score, c.score - p.score AS score_change,
       coalesce(p.contribution[array_position(p.components, comp)], 0) AS previous_contribution,
       coalesce(c.contribution[array_position(c.components, comp)], 0) AS current_contribution,
       coalesce(c.contribution[array_position(c.components, comp)], 0)
         - coalesce(p.contribution[array_position(p.components, comp)], 0) AS contribution_change,
       c.customer_id::text AS customer_key
FROM ranked c
JOIN ranked p ON p.model = c.model AND p.customer_id = c.customer_id AND p.k = 2
CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.components || p.components)) u(comp)
WHERE c.k = 1;

SELECT ok((SELECT count(*) FROM expected_changes) > 2357, 'the reference has a row per customer and component');
SELECT set_eq('SELECT * FROM score_changes WHERE model = ''changes''', 'SELECT * FROM expected_changes',
              'score_changes equals the independent formulation (components that came and went included)');
SELECT is((SELECT count(*) FROM score_changes WHERE customer_id = 1516 AND model = 'changes'), 3::bigint,
          'one customer: a row per component of either run');

-- plans for one customer, without statistics on the score tables (as right after a restore)
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP plan := plan || line || E'\n'; END LOOP;
    RETURN plan;
END $$;
DELETE FROM pg_statistic WHERE starelid IN ('customer_score.score_runs'::regclass, 'customer_score.scores_history'::regclass);
-- (through either index that leads to the customer's rows, by a plain or a bitmap scan, as the
-- heap's size decides: other files' rolled-back rows stay in its pages; matches() shows the plan
-- when it fails)
SELECT matches(pg_temp.plan_of('SELECT * FROM score_changes WHERE customer_id = 1516'),
               '(Index (Only )?Scan using|Bitmap Index Scan on) scores_history_(customer|pkey)[^\n]*\s+Index Cond: \([^\n]*customer_id = 1516',
               'score_changes for one customer reads its rows through an index on the customer');
SELECT doesnt_match(pg_temp.plan_of('SELECT * FROM score_changes WHERE customer_id = 1516'),
                    'Seq Scan on scores_history',
                    '... and never scans the whole history');
SELECT ok(pg_temp.plan_of('SELECT * FROM score_changes WHERE customer_id = 1516') !~ 'CTE Scan',
          '... and materialises nothing');
SELECT ok(pg_temp.plan_of('SELECT * FROM score_explanation WHERE customer_id = 1516') ~ 'Index',
          'score_explanation for one customer uses an index');
SELECT ok(pg_temp.plan_of('SELECT * FROM score_reasons WHERE customer_id = 1516') ~ 'Index',
          'score_reasons for one customer uses an index');

SELECT * FROM finish();
ROLLBACK;
