-- normalized(value, method) OVER (...): the window function refresh normalises components with.
-- Each method against its definition written in plain SQL over the same rows, NULLs, ties,
-- degenerate populations, partitions, order independence and bad input.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file

SELECT plan(22);

-- 5,000 values with many ties, negatives, and NULLs; two groups
CREATE TEMP TABLE pop AS
SELECT g AS id, g % 2 AS grp,
       CASE WHEN g % 17 = 0 THEN NULL ELSE round((sin(g) * 1000)::numeric, 0)::float8 / 10 END AS v
FROM generate_series(1, 5000) g;

SELECT is((SELECT count(*) FROM (
              SELECT normalized(v, 'percentile') OVER () AS got,
                     CASE WHEN v IS NOT NULL THEN percent_rank() OVER (PARTITION BY v IS NULL ORDER BY v) END AS want
              FROM pop) x WHERE got IS DISTINCT FROM want),
          0::bigint, 'percentile is percent_rank() among the non-NULL values, to the last bit');
SELECT is((SELECT count(*) FROM (
              SELECT normalized(v, 'percentile') OVER (PARTITION BY grp) AS got,
                     CASE WHEN v IS NOT NULL THEN percent_rank() OVER (PARTITION BY grp, v IS NULL ORDER BY v) END AS want
              FROM pop) x WHERE got IS DISTINCT FROM want),
          0::bigint, 'each window partition is a population of its own');
SELECT is((SELECT count(*) FROM (
              SELECT normalized(v, 'log') OVER () AS got,
                     CASE WHEN v IS NOT NULL THEN ln(1 + greatest(v, 0)) / ln(1 + max(greatest(v, 0)) OVER ()) END AS want
              FROM pop) x WHERE abs(got - want) > 1e-13 OR (got IS NULL) <> (want IS NULL)),
          0::bigint, 'log is ln(1 + max(v, 0)) / ln(1 + the largest such value)');
SELECT is((SELECT count(*) FROM (
              SELECT normalized(v, 'zscore') OVER () AS got,
                     CASE WHEN v IS NOT NULL THEN normal_cdf((v - avg(v) OVER ()) / stddev_pop(v) OVER ()) END AS want
              FROM pop) x WHERE abs(got - want) > 1e-13 OR (got IS NULL) <> (want IS NULL)),
          0::bigint, 'zscore is normal_cdf((v - mean) / population standard deviation)');
SELECT is((SELECT count(*) FROM (
              SELECT normalized(v, 'minmax') OVER () AS got,
                     (v - min(v) OVER ()) / (max(v) OVER () - min(v) OVER ()) AS want
              FROM pop) x WHERE abs(got - want) > 1e-15 OR (got IS NULL) <> (want IS NULL)),
          0::bigint, 'minmax is (v - min) / (max - min)');
SELECT ok((SELECT bool_and(n BETWEEN 0 AND 1) FROM (
              SELECT unnest(ARRAY[normalized(v, 'percentile') OVER (), normalized(v, 'log') OVER (),
                                  normalized(v, 'zscore') OVER (), normalized(v, 'minmax') OVER ()]) AS n FROM pop) x),
          'every method gives values in 0..1');

-- the result does not depend on the order the rows arrive in (sums run over the sorted values)
CREATE TEMP TABLE ordered AS
SELECT id, normalized(v, 'zscore') OVER () AS z, normalized(v, 'percentile') OVER () AS p
FROM (SELECT * FROM pop ORDER BY id OFFSET 0) s;
CREATE TEMP TABLE shuffled AS
SELECT id, normalized(v, 'zscore') OVER () AS z, normalized(v, 'percentile') OVER () AS p
FROM (SELECT * FROM pop ORDER BY md5(id::text) OFFSET 0) s;
SELECT is((SELECT count(*) FROM ordered o JOIN shuffled s USING (id)
           WHERE o.z IS DISTINCT FROM s.z OR o.p IS DISTINCT FROM s.p),
          0::bigint, 'the same values in another row order give the same doubles');

-- NULLs and degenerate populations
SELECT is((SELECT array_agg(n ORDER BY id) FROM (SELECT id, normalized(v, 'percentile') OVER () AS n
                                                  FROM (VALUES (1, NULL::float8), (2, 5), (3, NULL), (4, 7)) s(id, v)) x),
          ARRAY[NULL, 0, NULL, 1]::float8[], 'a NULL value gives NULL and is not part of the population');
SELECT is((SELECT array_agg(n ORDER BY m) FROM (
              SELECT m, normalized(v, m) OVER (PARTITION BY m) AS n
              FROM (VALUES (3.5::float8)) s(v), unnest(ARRAY['percentile', 'log', 'zscore', 'minmax']) m) x),
          ARRAY[1, 0.5, 0, 0.5]::float8[], 'one value: log 1, minmax 0.5, percentile 0, zscore 0.5');
SELECT is((SELECT array_agg(DISTINCT n) FROM (
              SELECT normalized(v, 'zscore') OVER () AS n FROM (VALUES (2::float8), (2), (2)) s(v)
              UNION ALL SELECT normalized(v, 'minmax') OVER () FROM (VALUES (2::float8), (2), (2)) s(v)) x),
          ARRAY[0.5]::float8[], 'all values equal: zscore and minmax give 0.5');
SELECT is((SELECT array_agg(n) FROM (SELECT normalized(v, 'log') OVER () AS n FROM (VALUES (-3::float8), (0)) s(v)) x),
          ARRAY[0, 0]::float8[], 'log with nothing above 0: 0');
SELECT is((SELECT count(*) || ' rows, ' || count(n) || ' values' FROM (SELECT normalized(v, 'zscore') OVER () AS n FROM (VALUES (NULL::float8), (NULL)) s(v)) x),
          '2 rows, 0 values', 'a partition of NULLs only: NULL for every row, no error');

-- values at the limits of double: no overflow, no NaN
SELECT ok((SELECT bool_and(n BETWEEN 0 AND 1) FROM (
              SELECT unnest(ARRAY[normalized(v, 'zscore') OVER (), normalized(v, 'minmax') OVER (), normalized(v, 'log') OVER ()]) AS n
              FROM (VALUES (-1.7e308::float8), (1.7e308), (0), (1e-300)) s(v)) x),
          'values near the limits of double give finite results in 0..1');
SELECT is((SELECT array_agg(n ORDER BY v) FROM (
              SELECT v, normalized(v, 'minmax') OVER () AS n FROM (VALUES (-1.7e308::float8), (1.7e308), (0)) s(v)) x),
          ARRAY[0, 0.5, 1]::float8[], 'minmax across the whole range of double');

-- beyond work_mem the partition is sorted on disk; the same doubles as in memory
CREATE TEMP TABLE wide AS
SELECT g AS id, g % 3 AS grp,
       CASE WHEN g % 11 = 0 THEN NULL ELSE round((sin(g) * 5000)::numeric, 0)::float8 / 10 END AS v
FROM generate_series(1, 60000) g;
CREATE FUNCTION pg_temp.normalize_all() RETURNS TABLE (id int, methods float8[]) LANGUAGE sql AS $$
    SELECT id, ARRAY[normalized(v, 'percentile') OVER (), normalized(v, 'log') OVER (),
                     normalized(v, 'zscore') OVER (), normalized(v, 'minmax') OVER (),
                     normalized(v, 'percentile') OVER (PARTITION BY grp), normalized(v, 'zscore') OVER (PARTITION BY grp),
                     normalized(v, CASE WHEN id % 2 = 0 THEN 'percentile' ELSE 'minmax' END) OVER ()]
    FROM pg_temp.wide
$$;
-- the WindowAgg's temporary blocks: its tuplestore's and, on disk, the normalisations' sorts
CREATE FUNCTION pg_temp.temp_blocks(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN (WITH RECURSIVE nodes(node) AS (SELECT plan -> 0 -> 'Plan'
                                           UNION ALL SELECT json_array_elements(node -> 'Plans') FROM nodes)
            SELECT sum((node ->> 'Temp Written Blocks')::bigint) FROM nodes WHERE node ->> 'Node Type' = 'WindowAgg');
END $$;
SET LOCAL work_mem = '1GB';
CREATE TEMP TABLE in_memory AS SELECT * FROM pg_temp.normalize_all();
SET LOCAL work_mem = '64kB';
CREATE TEMP TABLE on_disk AS SELECT * FROM pg_temp.normalize_all();
SELECT is((SELECT count(*) FROM in_memory m JOIN on_disk d USING (id) WHERE m.methods IS NOT DISTINCT FROM d.methods),
          60000::bigint, 'beyond work_mem: every method, partitions and per-row methods give the in-memory doubles');
SELECT cmp_ok(pg_temp.temp_blocks('SELECT max(n) FROM (SELECT normalized(v, ''percentile'') OVER () AS n FROM pg_temp.wide) x'),
              '>', 2 * pg_temp.temp_blocks('SELECT max(n) FROM (SELECT count(v) OVER () AS n FROM pg_temp.wide) x'),
              '... and those values came from sorts on disk, not an array beyond work_mem');
SELECT is((SELECT array_agg(n ORDER BY id) FROM (SELECT id, normalized(v, 'percentile') OVER () AS n FROM pg_temp.wide ORDER BY id LIMIT 3) x),
          (SELECT array_agg(methods[1] ORDER BY id) FROM (SELECT * FROM in_memory ORDER BY id LIMIT 3) x),
          'a query that stops early ends the sorts (no temporary file is left to the transaction)');
SELECT throws_ok($$SELECT normalized(CASE WHEN id = 50000 THEN 'NaN' ELSE v END, 'zscore') OVER () FROM pg_temp.wide$$, '22023',
                 'value must be a finite number, got NaN', 'bad input on disk is refused as in memory, and the sorts go with the error');
RESET work_mem;

-- bad input
SELECT throws_ok($$SELECT normalized(v, 'rank') OVER () FROM (VALUES (1::float8)) s(v)$$, '22023',
                 'unknown normalization "rank"', 'an unknown method is named in the error');
SELECT throws_ok($$SELECT normalized(v, NULL) OVER () FROM (VALUES (1::float8)) s(v)$$, '22004',
                 NULL, 'a NULL method is an error');
SELECT throws_ok($$SELECT normalized(v, 'percentile') OVER () FROM (VALUES (1::float8), ('NaN')) s(v)$$, '22023',
                 'value must be a finite number, got NaN', 'NaN is refused, naming it');
SELECT throws_ok($$SELECT normalized(v, 'zscore') OVER () FROM (VALUES (1::float8), ('-Infinity')) s(v)$$, '22023',
                 'value must be a finite number, got -Infinity', 'infinities are refused, naming them');

SELECT * FROM finish();
ROLLBACK;
