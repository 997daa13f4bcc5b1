-- purchase_days_merge against a recount: for states of 1 to 400 days and deltas that add before,
-- between, on and after their days, and that remove days (rows netting to 0), the merged value
-- must equal the value built from the days of both added up (purchase_days over the summed
-- unnest), in text and binary form and in size.  The merge copies a state's unchanged days in
-- blocks as they are encoded; a block taken from the wrong place, with the wrong day count or
-- relative to the wrong day would show here as a different day list.
\ir ../lib/pgtap_begin.sql
SET client_min_messages = warning;   -- NOTICEs stay quiet through the file

SELECT plan(5);

-- case g: a state of n days (every k-th day from 2024-01-01), amounts with up to 4 decimals
CREATE TEMP TABLE cases AS
SELECT g, n, k FROM generate_series(1, 240) g,
     LATERAL (SELECT 1 + (g * 37) % 400 AS n, 1 + g % 3 AS k) p;
CREATE TEMP TABLE states AS
SELECT c.g, purchase_days(array_agg(date '2024-01-01' + i * c.k ORDER BY i),
                          array_agg(round((i * 7.3 + c.g) % 997 / 3.0, 1 + i % 4) ORDER BY i),
                          array_agg((1 + (i + c.g) % 5)::bigint ORDER BY i)) AS state
FROM cases c, generate_series(0, c.n - 1) i GROUP BY c.g;
-- the delta of case g: up to 6 days around and inside the state, some removing a state day
CREATE TEMP TABLE deltas AS
SELECT c.g, purchase_days(array_agg(d.day), array_agg(d.amount), array_agg(d.rows)) AS delta
FROM cases c,
     LATERAL (SELECT DISTINCT ON (day) date '2024-01-01' + ((c.g * 13 + j * 101) % (c.n * c.k + 20)) - 10 AS day,
                     (j * 3.25 - 4)::numeric AS amount,
                     CASE WHEN j % 3 = 0 THEN -(1 + (((c.g * 13 + j * 101) % (c.n * c.k + 20)) - 10 + c.g) % 5)
                          ELSE 1 + j % 2 END::bigint AS rows
              FROM generate_series(0, c.g % 6) j ORDER BY day, j) d
GROUP BY c.g;
-- sizes taken before the row is stored (storing may compress a value), each inside a row so
-- that both have the same kind of varlena header
CREATE TEMP TABLE merged AS
SELECT m.*, pg_column_size(ROW(m.got)) AS got_size, pg_column_size(ROW(m.want)) AS want_size FROM (
SELECT s.g, purchase_days_merge(s.state, d.delta) AS got,
       coalesce((SELECT purchase_days(array_agg(u.day), array_agg(u.amount), array_agg(u.rows::bigint))
                 FROM (SELECT day, sum(amount) AS amount, sum(rows) AS rows
                       FROM (SELECT * FROM purchase_days_unnest(s.state)
                             UNION ALL SELECT * FROM purchase_days_unnest(d.delta)) a
                       GROUP BY day HAVING sum(rows) <> 0) u),
                '{}'::purchase_days) AS want
FROM states s JOIN deltas d USING (g)) m;

SELECT is((SELECT count(*) FROM merged), 240::bigint, 'every case has a state and a delta');
SELECT ok((SELECT sum(purchase_days_count(got)) FROM merged) > 20000, 'the states are long (copied blocks of many days)');
SELECT is((SELECT count(*) FROM merged WHERE got::text IS DISTINCT FROM want::text), 0::bigint,
          'merge equals the recount (text)');
SELECT is((SELECT count(*) FROM merged WHERE purchase_days_send(got) IS DISTINCT FROM purchase_days_send(want)
                                          OR got_size <> want_size), 0::bigint,
          'merge equals the recount (binary form and size: the same encoding byte for byte)');
-- the other way round: the delta as the state, whose days are copied in blocks between the state's
SELECT is((SELECT count(*) FROM states s JOIN deltas d USING (g)
           WHERE purchase_days_merge(d.delta, s.state)::text IS DISTINCT FROM purchase_days_merge(s.state, d.delta)::text),
          0::bigint, 'merge is symmetric');

SELECT * FROM finish();
ROLLBACK;
