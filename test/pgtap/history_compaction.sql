-- The fit states compact as they grow (sort the points added since the last compaction, merge
-- them into the sorted prefix): whatever the input order, and with duplicates arriving across
-- many compactions, the state holds each distinct history once with its count.  Combining
-- states appends each one's sorted points and merges the runs pairwise when the buffer fills
-- or the final function reads it: many states, an odd number of them, overlapping keys and
-- empty ones give the state of all the rows at once.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file
SET max_parallel_workers_per_gather = 0;

SELECT plan(9);

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

-- 37 slices (an odd number of runs; every slice shares keys with the others), merged in an
-- order unrelated to the slices, and the whole state merged with itself 33 times.  A state
-- read from text (as Citus ships it) is compacted, one sorted run; a partial aggregate's
-- stored state is as the transition function left it.
CREATE TEMP TABLE slices AS
SELECT g % 37 AS k, bgnbd_partial(frequency, recency, t) AS s
  FROM rows_in GROUP BY g % 37;
INSERT INTO slices SELECT 100 + g, NULL FROM generate_series(1, 3) g;  -- states of no rows
SELECT is((SELECT bgnbd_merge(s::text::customer_score.bgnbd_state ORDER BY md5(k::text))::text FROM slices),
          (SELECT s FROM states WHERE o = 'random'),
          'merging 37 overlapping states read from text gives the state of all rows');
SELECT is((SELECT bgnbd_merge(s ORDER BY k DESC)::text FROM slices),
          (SELECT s FROM states WHERE o = 'random'),
          'so does merging them as stored, in another order');
SELECT is((SELECT sum(coalesce(nullif(split_part(p, '*', 2), '')::bigint, 1))
             FROM (SELECT bgnbd_merge(s::customer_score.bgnbd_state)::text AS m
                     FROM states, generate_series(1, 33) WHERE o = 'random') x,
                  regexp_split_to_table(m, ' ') WITH ORDINALITY AS y(p, n) WHERE n > 2),
          33 * 40000::numeric, 'a state merged with itself 33 times counts every row 33 times');
SELECT is((SELECT gamma_gamma_merge(s::text::customer_score.gamma_gamma_state ORDER BY md5(k::text))::text
             FROM (SELECT g % 37 AS k, gamma_gamma_partial(1 + frequency, 1 + recency) AS s
                     FROM rows_in GROUP BY g % 37) x),
          (SELECT gamma_gamma_partial(1 + frequency, 1 + recency)::text FROM rows_in),
          'Gamma-Gamma states merge the same way');

SELECT * FROM finish();
ROLLBACK;
