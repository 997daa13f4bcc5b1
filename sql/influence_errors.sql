-- influence, influence_trace, influence_rank: bad input gets a clear error with a specific SQLSTATE
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS customer_score;
RESET client_min_messages;
SET search_path = customer_score, public;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

-- SQLSTATE and message of a statement's error
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TEMP TABLE ok (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8,
                      channel text, kind text);
INSERT INTO ok VALUES (1, 1, NULL, '2024-01-01', 0, 'web', 'review'), (2, 2, 1, '2024-01-02', 10, 'web', 'purchase');

-- the query: missing columns, wrong types, a column twice, not a query
SELECT * FROM influence('SELECT id, customer_id, at, value, channel, kind FROM ok');
SELECT * FROM influence('SELECT id, customer_id, sparked_by, at::text AS at, value, channel, kind FROM ok');
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at::timestamp AS at, value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id::float8 AS id, customer_id, sparked_by, at, value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, value::text, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, value, 1 AS channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT *, 1 AS topic FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT *, customer_id AS id FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SET work_mem = ''4MB''')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok; SELECT * FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM no_such_table')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELEC * FROM ok')$$);

-- the rows: NULL ids, duplicate ids, values and times that cannot be credited
SELECT * FROM influence('SELECT NULL::bigint AS id, customer_id, sparked_by, at, value, channel, kind FROM ok');
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, NULLIF(customer_id, 2) AS customer_id, sparked_by, at, value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, NULLIF(at, ''2024-01-02'') AS at, value, channel, kind FROM ok')$$);
SELECT * FROM influence('SELECT * FROM ok UNION ALL SELECT * FROM ok WHERE id = 2');
SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, -value AS value, channel, kind FROM ok WHERE id = 2');
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, ''NaN''::float8 AS value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, ''Infinity''::float8 AS value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, at, ''NaN''::numeric AS value, channel, kind FROM ok')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT id, customer_id, sparked_by, CASE WHEN id = 2 THEN ''infinity'' ELSE at END AS at, value, channel, kind FROM ok')$$);
-- NULL value counts as 0, NULL sparked_by starts nothing, NULL channel and kind match '*' rows only
SELECT customer_id, direct_value, influence_points
FROM influence('SELECT id, customer_id, sparked_by, at, NULL::float8 AS value, NULL AS channel, NULL AS kind FROM ok', '2024-12-31');

-- the options
SELECT * FROM influence('SELECT * FROM ok', max_depth => 0);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', max_depth => 101)$$);
SELECT * FROM influence('SELECT * FROM ok', depth_decay => 1.5);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', depth_decay => -0.1)$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', depth_decay => 'NaN')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', max_gap => '0')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', max_gap => '1 month -31 days')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', half_life => '-1 day')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', as_of => 'infinity')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', as_of => NULL)$$);
SELECT pg_temp.err($$SELECT * FROM influence(NULL)$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', by_topic => NULL)$$);
SELECT * FROM influence('SELECT * FROM ok', attribution => 'u_shaped');
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', attribution => NULL)$$);
SELECT pg_temp.err($$SELECT * FROM influence_trace('SELECT * FROM ok', NULL)$$);
SELECT pg_temp.err($$SELECT * FROM influence_trace('SELECT * FROM ok', 1, max_depth => -1)$$);
-- a huge max_gap saturates instead of overflowing
SELECT customer_id, direct_value FROM influence('SELECT * FROM ok', '2024-12-31', max_gap => '178000000 years');

-- the touches query
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', touches => 'SELECT 2 AS action_id')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', touches => 'SELECT 2 AS action_id, NULL::bigint AS touched_by')$$);
SELECT pg_temp.err($$SELECT * FROM influence('SELECT * FROM ok', touches => 'SELECT 2 AS action_id, ''1''::text AS touched_by')$$);

-- influence_rank
CREATE TEMP TABLE e (source bigint, target bigint, weight float8);
INSERT INTO e VALUES (1, 2, 1), (1, 3, 2);
SELECT * FROM influence_rank('SELECT * FROM e', damping => 1);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT * FROM e', damping => -0.5)$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT * FROM e', max_iterations => 0)$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT * FROM e', tolerance => -1)$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT source, target, -weight AS weight FROM e')$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT source, target, ''NaN''::float8 AS weight FROM e')$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT source, target, NULL::float8 AS weight FROM e')$$);
SELECT * FROM influence_rank('SELECT NULL::bigint AS source, target FROM e');
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT source AS src, target FROM e')$$);
SELECT pg_temp.err($$SELECT * FROM influence_rank('SELECT source, target, 1e308 AS weight FROM e UNION ALL SELECT 4, 3, 1e308')$$);
-- STRICT: a NULL argument gives no rows; no edges give no rows
SELECT count(*) FROM influence_rank(NULL);
SELECT count(*) FROM influence_rank('SELECT * FROM e WHERE false');
-- not converging within max_iterations is a notice, not an error
SELECT count(*) FROM influence_rank('SELECT * FROM e', max_iterations => 1, tolerance => 0);

-- the weights table checks its weights
INSERT INTO action_weights (channel, kind, weight) VALUES ('web', 'x', -1);
INSERT INTO action_weights (channel, kind, weight) VALUES ('web', 'x', 'Infinity');

-- statement_timeout interrupts a long read (the reader checks for interrupts on every row)
SET statement_timeout = '200ms';
SELECT count(*) FROM influence('SELECT g AS id, g AS customer_id, NULL::bigint AS sparked_by, now() AS at, 0 AS value, NULL AS channel, NULL AS kind
                                FROM generate_series(1, 1000000000) g');
RESET statement_timeout;
