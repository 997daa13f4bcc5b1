-- The fit states compact as they grow (sort the points added since the last compaction, merge
-- them into the sorted prefix): whatever the input order, and with duplicates arriving across
-- many compactions, the state holds each distinct history once with its count.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET max_parallel_workers_per_gather = 0;

SELECT plan(5);

-- 30,000 rows on whole days (many duplicates) and 10,000 with continuous times (distinct), so
-- the state compacts at every doubling from 64 points on with both kinds in every batch
CREATE TEMP TABLE rows_in AS
SELECT g, (g % 5) AS frequency,
       CASE WHEN g % 5 = 0 THEN 0 ELSE (g::bigint * 7919 % 40)::float8 END AS recency,
       (40 + g::bigint * 104729 % 13)::float8 AS t
FROM generate_series(1, 30000) g
UNION ALL
SELECT 30000 + g, 1 + g % 3, (g * 0.0037)::float8, (40 + g * 0.0037)::float8
FROM generate_series(1, 10000) g;

CREATE TEMP TABLE states AS
SELECT 'random' AS o, bgnbd_partial(frequency, recency, t)::text AS s
  FROM (SELECT * FROM rows_in ORDER BY md5(g::text)) r
UNION ALL
SELECT 'sorted', bgnbd_partial(frequency, recency, t)::text
  FROM (SELECT * FROM rows_in ORDER BY frequency, recency, t) r
UNION ALL
SELECT 'reversed', bgnbd_partial(frequency, recency, t)::text
  FROM (SELECT * FROM rows_in ORDER BY frequency DESC, recency DESC, t DESC) r;

SELECT is((SELECT count(DISTINCT s) FROM states), 1::bigint,
          'the state is the same in any input order');
-- the text is "v2 grid=..." and one "keys[*count]" per point (see history.h)
CREATE TEMP VIEW points AS
SELECT o, p, coalesce(nullif(split_part(p, '*', 2), '')::bigint, 1) AS count
  FROM states, regexp_split_to_table(s, ' ') WITH ORDINALITY AS x(p, n) WHERE n > 2;
SELECT is((SELECT count(*)::int FROM points WHERE o = 'random'),
          (SELECT count(*)::int FROM (SELECT DISTINCT frequency, recency, t FROM rows_in) d),
          'one point per distinct history');
SELECT is((SELECT sum(count) FROM points WHERE o = 'random'),
          40000::numeric, 'the counts add up to the rows');
SELECT is((SELECT max(count) FROM points WHERE o = 'random'),
          (SELECT max(c) FROM (SELECT count(*) AS c FROM rows_in GROUP BY frequency, recency, t) d),
          'the largest count is the largest group''s');
SELECT is((SELECT bgnbd_fit(frequency, recency, t)::text FROM (SELECT * FROM rows_in ORDER BY md5(g::text)) r),
          (SELECT bgnbd_fit(frequency, recency, t)::text FROM rows_in),
          'the fit does not depend on the input order');

SELECT * FROM finish();
ROLLBACK;
