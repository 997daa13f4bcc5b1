#!/usr/bin/env bash
# bench/influence.sh — the influence claims of issue 3, each with its baseline from the same run:
#   1. influence() on 1,000,000 actions by 100,000 customers at depth 3, against the same credit
#      computed by a recursive CTE: both times, the ratio (target >= 10x, under 2 s), whether the
#      numbers agree, and the peak memory of each backend.
#   2. influence_rank() on 1,000,000 edges to tolerance 1e-10 (target under 5 s), its peak memory,
#      and 10 iterations against a power iteration written in PL/pgSQL (time ratio, agreement).
# Figures only: nothing here asserts a time.
#
#   bash bench/influence.sh
#   BENCH_ACTIONS (default 1000000)  BENCH_CUSTOMERS (100000)  BENCH_EDGES (1000000)
#   BENCH_RUNS    timed runs of each query, each in a fresh backend (default 3; median reported)
#   BENCH_SKIP_CTE=1   skip the recursive CTE (about 25 s a run on 2 cores)
#   CS_SKIP_BUILD=1    use the extension already installed;  CS_KEEP_CLUSTER=1  keep the cluster
#
# It builds and installs the extension, starts a throwaway cluster (scripts/cluster.sh, name
# bench-influence) and generates the data itself with a fixed seed:
#   actions: id 1..N one minute apart (so times strictly increase with id: no cycles), customers
#     uniform; 80% sparked by an earlier action, how far back drawn as 200,000 * u^3 (mostly close,
#     some beyond the 90-day window); 30% with a value; channel and kind from the shipped weights.
#   edges: source skewed towards low ids (customer c * u^2: a few move many), target uniform,
#     weight 0.5 .. 5.
# Times are measured in the server (clock_timestamp around EXECUTE of CREATE TEMP TABLE ... AS
# <query>, so both sides pay for storing their result).  Peak memory is VmHWM of the backend that
# ran the query, read from /proc/<pid>/status, and its growth over the fresh backend (shared
# buffers touched count too; large scans use a small ring, so the growth is mostly private memory).
set -euo pipefail

# shellcheck source=bench/standalone.sh
source "$(dirname "${BASH_SOURCE[0]}")/standalone.sh"

actions=${BENCH_ACTIONS:-1000000}
customers=${BENCH_CUSTOMERS:-100000}
edges=${BENCH_EDGES:-1000000}
runs=${BENCH_RUNS:-3}

bench_start bench-influence
export PGDATABASE=bench

bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "== influence and influence_rank on generated data =="
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); $(postgres --version)"
bq -c "CREATE EXTENSION customer_score" -c "SET work_mem = '256MB'" >/dev/null

echo "generating $actions actions by $customers customers and $edges edges (fixed seed)" >&2
bq -v n="$actions" -v c="$customers" -v e="$edges" <<'SQL'
SET client_min_messages = warning;
SELECT setseed(0.42);
CREATE TABLE actions AS
SELECT i::bigint AS id,
       1 + floor(random() * :c)::bigint AS customer_id,
       CASE WHEN i > 1 AND random() < 0.8
            THEN greatest(1, i - 1 - floor(200000 * random() ^ 3))::bigint END AS sparked_by,
       timestamptz '2023-01-01 00:00+00' + i * interval '1 minute' AS at,
       CASE WHEN random() < 0.3 THEN round((random() * 200)::numeric, 2)::float8 ELSE 0 END AS value,
       (ARRAY['web', 'app', 'community', 'email', 'store', 'event', 'phone'])[1 + floor(random() * 7)::int] AS channel,
       (ARRAY['purchase', 'signup', 'referral', 'like', 'share', 'follow', 'answer', 'review', 'blog_post',
              'visit', 'attend', 'call'])[1 + floor(random() * 12)::int] AS kind
FROM generate_series(1, :n) i;
ALTER TABLE actions ADD PRIMARY KEY (id);
CREATE TABLE edges AS
SELECT 1 + floor(:c * random() ^ 2)::bigint AS source, 1 + floor(random() * :c)::bigint AS target,
       round((0.5 + random() * 4.5)::numeric, 2)::float8 AS weight
FROM generate_series(1, :e);
VACUUM (FREEZE, ANALYZE) actions, edges;

CREATE FUNCTION bench_ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

-- the reference power iteration (same conventions as influence_rank), PL/pgSQL over tables
CREATE FUNCTION ref_rank(damping float8, iterations int) RETURNS TABLE (customer_id bigint, rank float8)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    dangling float8;
BEGIN
    CREATE TEMP TABLE rr_node AS SELECT x AS node FROM (SELECT source AS x FROM edges UNION SELECT target FROM edges) s;
    SELECT count(*) INTO n FROM rr_node;
    CREATE TEMP TABLE rr_link AS
        SELECT source, target, weight / sum(weight) OVER (PARTITION BY target) AS p
        FROM edges WHERE source <> target AND weight > 0;
    CREATE TEMP TABLE rr_moved AS SELECT DISTINCT target AS node FROM rr_link;
    CREATE TEMP TABLE rr_rank AS SELECT node, 1.0::float8 / n AS r FROM rr_node;
    FOR i IN 1 .. iterations LOOP
        SELECT coalesce(sum(r), 0) INTO dangling FROM rr_rank WHERE node NOT IN (SELECT node FROM rr_moved);
        CREATE TEMP TABLE rr_next AS
            SELECT nd.node, (1 - damping) / n + damping * dangling / n + damping * coalesce(s.flow, 0) AS r
            FROM rr_node nd
            LEFT JOIN (SELECT l.source, sum(t.r * l.p) AS flow FROM rr_link l JOIN rr_rank t ON t.node = l.target
                       GROUP BY l.source) s ON s.source = nd.node;
        DROP TABLE rr_rank;
        ALTER TABLE rr_next RENAME TO rr_rank;
    END LOOP;
    RETURN QUERY SELECT node, r FROM rr_rank;
    DROP TABLE rr_rank, rr_link, rr_moved, rr_node;
END $$;
SQL
bq -F ' ' -c "SELECT 'actions: ' || count(*) || ' rows, ' || count(DISTINCT customer_id) || ' customers, '
                     || count(sparked_by) || ' with a spark, ' || pg_size_pretty(pg_table_size('actions'))
                     || '; edges: ' || (SELECT count(*) FROM edges) || ' rows, '
                     || pg_size_pretty(pg_table_size('edges')) FROM actions"
echo "settings: shared_buffers $(bq -c 'SHOW shared_buffers'), work_mem 256MB (both sides), max_parallel_workers_per_gather $(bq -c 'SHOW max_parallel_workers_per_gather')"

INFLUENCE_Q="SELECT * FROM customer_score.influence('SELECT * FROM actions', '2025-12-31')"
# The same credit as a recursive CTE: weights resolved once per (channel, kind), the spark chain
# joined on the primary key, depth and window as in influence().  No cycle guard: ids and times
# strictly increase here, so chains cannot loop (this only helps the CTE).
CTE_Q="WITH RECURSIVE w AS (
    SELECT channel, kind, customer_score.action_weight(channel, kind) AS weight
    FROM (SELECT DISTINCT channel, kind FROM actions) d),
conv AS (
    SELECT a.id, a.customer_id, a.sparked_by, a.at, a.value, w.weight
    FROM actions a JOIN w ON w.channel IS NOT DISTINCT FROM a.channel AND w.kind IS NOT DISTINCT FROM a.kind
    WHERE a.at <= '2025-12-31'),
walk AS (
    SELECT c.id AS conv, c.customer_id AS conv_author, c.value, c.weight, 1 AS depth,
           s.customer_id AS credited, s.at AS via_at, s.sparked_by
    FROM conv c JOIN actions s ON s.id = c.sparked_by
    WHERE s.at <= c.at AND c.at - s.at <= interval '90 days'
    UNION ALL
    SELECT w.conv, w.conv_author, w.value, w.weight, w.depth + 1, s.customer_id, s.at, s.sparked_by
    FROM walk w JOIN actions s ON s.id = w.sparked_by
    WHERE w.depth < 3 AND s.at <= w.via_at AND w.via_at - s.at <= interval '90 days')
SELECT credited AS customer_id, NULL::text AS topic, count(DISTINCT conv) AS actions_sparked,
       count(DISTINCT conv_author) AS people_moved,
       coalesce(sum(value) FILTER (WHERE depth = 1), 0) AS direct_value,
       coalesce(sum(value * 0.5 ^ (depth - 1)) FILTER (WHERE depth > 1), 0) AS cascade_value,
       sum(value * 0.5 ^ (depth - 1)) AS influence_value,
       sum(weight * 0.5 ^ (depth - 1)) AS influence_points
FROM walk WHERE credited <> conv_author GROUP BY credited"
RANK_Q="SELECT * FROM customer_score.influence_rank('SELECT * FROM edges', 0.85, 1000, 1e-10)"
RANK10_Q="SELECT * FROM customer_score.influence_rank('SELECT * FROM edges', 0.85, 10, 0)"
REF10_Q="SELECT * FROM ref_rank(0.85, 10)"

# measure TABLE QUERY: run CREATE TABLE TABLE AS QUERY in a fresh backend; print
# "ms hwm_before_kB hwm_after_kB" (the table is kept: unlogged, dropped first)
measure() {
  local out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v tbl="$1" -v q="$2" <<'SQL'
SET work_mem = '256MB';
SET client_min_messages = warning;
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\! awk '/^VmHWM/ { print "before", $2 }' /proc/$BENCH_PID/status
DROP TABLE IF EXISTS :tbl;
SELECT 'ms ' || bench_ms(format('CREATE UNLOGGED TABLE %I AS %s', :'tbl', :'q'));
\! awk '/^VmHWM/ { print "after", $2 }' /proc/$BENCH_PID/status
SQL
)
  awk '$1 == "ms" { ms = $2 } $1 == "before" { b = $2 } $1 == "after" { a = $2 } END { print ms, b, a }' <<<"$out"
}

# series LABEL TABLE QUERY: BENCH_RUNS measurements; prints the median ms and the peak memory
# and sets MEDIAN_MS.
series() {
  local label=$1 tbl=$2 q=$3 i ms=() hwm=0 growth=0 m b a
  for ((i = 1; i <= runs; i++)); do
    read -r m b a < <(measure "$tbl" "$q")
    ms+=("$m")
    ((a > hwm)) && hwm=$a
    ((a - b > growth)) && growth=$((a - b))
  done
  MEDIAN_MS=$(printf '%s\n' "${ms[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '  %-34s median %9.1f ms  (runs: %s)   peak memory: VmHWM %d MB, +%d MB over a fresh backend\n' \
    "$label" "$MEDIAN_MS" "$(printf '%.0f ' "${ms[@]}" | sed 's/ $//')" $((hwm / 1024)) $((growth / 1024))
}

echo
echo "-- 1. influence, depth 3, decay 0.5, 90-day window ($runs run(s) each, each in a fresh backend)"
bq -c "SELECT count(*) FROM actions" >/dev/null   # warm the OS cache
series "influence()" r_influence "$INFLUENCE_Q"
influence_ms=$MEDIAN_MS
if [[ ${BENCH_SKIP_CTE:-0} == 1 ]]; then
  echo "  recursive CTE: skipped (BENCH_SKIP_CTE=1)"
else
  series "recursive CTE" r_cte "$CTE_Q"
  cte_ms=$MEDIAN_MS
  awk -v a="$cte_ms" -v b="$influence_ms" 'BEGIN { printf "  ratio: influence() is %.1fx faster than the recursive CTE (target >= 10x)\n", a / b }'
  bq -F ' ' <<'SQL' | awk '{ printf "  numbers agree: %s (%s rows vs %s; counts differ on %s rows; largest relative difference in money and points %s)\n", ($3 == 0 && $4 == 0 && $5 < 1e-9) ? "yes" : "NO", $1, $2, $3, $5 }'
SELECT (SELECT count(*) FROM r_influence), (SELECT count(*) FROM r_cte),
       count(*) FILTER (WHERE i.customer_id IS NULL OR c.customer_id IS NULL
                        OR i.actions_sparked <> c.actions_sparked OR i.people_moved <> c.people_moved),
       count(*) FILTER (WHERE i.customer_id IS NULL OR c.customer_id IS NULL),
       coalesce(max(greatest(abs(i.direct_value - c.direct_value) / greatest(1, abs(c.direct_value)),
                             abs(i.cascade_value - c.cascade_value) / greatest(1, abs(c.cascade_value)),
                             abs(i.influence_points - c.influence_points) / greatest(1, abs(c.influence_points)))), 0)
FROM r_influence i FULL JOIN r_cte c USING (customer_id)
SQL
fi
bq -F ' ' -c "SELECT count(*), sum(actions_sparked), round(sum(influence_value)::numeric, 2), round(sum(influence_points)::numeric, 2)
              FROM r_influence" | awk '{ printf "  influence(): %s influencers, %s (influencer, action) credits, total value %s, total points %s\n", $1, $2, $3, $4 }'

echo
echo "-- 2. influence_rank, damping 0.85, tolerance 1e-10 ($runs run(s) each, each in a fresh backend)"
series "influence_rank() to 1e-10" r_rank "$RANK_Q"
iters=$(PGOPTIONS='-c client_min_messages=debug1' psql -X -q -At -c "SELECT count(*) FROM ($RANK_Q) r" 2>&1 |
        sed -n 's/.*converged after \([0-9]*\) iterations.*/\1/p; s/.*stopped after \([0-9]*\) iterations.*/not converged after \1/p')
bq -F ' ' -c "SELECT count(*), sum(rank), max(rank) FROM r_rank" |
  awk -v it="$iters" '{ printf "  %s customers, converged after %s iterations, ranks sum to %.15f, largest %.3g\n", $1, it, $2, $3 }'
series "influence_rank(), 10 iterations" r_rank10 "$RANK10_Q"
rank10_ms=$MEDIAN_MS
runs_saved=$runs runs=1
series "PL/pgSQL power iteration, 10 it." r_ref10 "$REF10_Q"
runs=$runs_saved
awk -v a="$MEDIAN_MS" -v b="$rank10_ms" 'BEGIN { printf "  ratio over 10 iterations: influence_rank() is %.0fx faster than the PL/pgSQL reference\n", a / b }'
bq -F ' ' -c "SELECT count(*), (SELECT count(*) FROM r_ref10), max(abs(a.rank - b.rank)) FROM r_rank10 a JOIN r_ref10 b USING (customer_id)" |
  awk '{ printf "  numbers agree: %s (%s vs %s customers, largest difference %.2g)\n", ($1 == $2 && $3 < 1e-9) ? "yes" : "NO", $1, $2, $3 }'
echo
echo "reproduce: bash bench/influence.sh"
