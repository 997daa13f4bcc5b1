#!/usr/bin/env bash
# The fits on Citus against single node on the same cores (issue 14: at most 1.5x).  A
# coordinator and two workers on this machine (scripts/citus-cluster.sh; Citus must already be
# installed in the PostgreSQL in use, else the script prints a skip), BENCH_CUSTOMERS (100k)
# customers' histories on whole days in weeks (as rfm gives them with '7 days') and monetary
# values in cents, as a local table on the coordinator and a table distributed by customer in 32
# shards.  Timed, interleaved, median of BENCH_RUNS (5): bgnbd_fit and gamma_gamma_fit over each
# table; the ratio is Citus / single node.  Also printed: the fits are equal on both, the partial
# states' text over the 32 shards (what the workers send), and one state's text out + in on the
# coordinator per distinct history (the same histories in one state), and count(*) over both
# tables: Citus's own cost of a query over 32 shards.
#
#   CS_PG_ROOT=/tmp/pgroot bash bench/citus.sh      (CS_SKIP_BUILD=1: use the installed build)
set -euo pipefail
# shellcheck source=bench/standalone.sh
source "$(dirname "${BASH_SOURCE[0]}")/standalone.sh"
# shellcheck source=scripts/cluster.sh
source "$REPO/scripts/cluster.sh"
# shellcheck source=scripts/citus-cluster.sh
source "$REPO/scripts/citus-cluster.sh"

customers=${BENCH_CUSTOMERS:-100000}
runs=${BENCH_RUNS:-5}
if ! citus_installed; then
  echo "citus: skipped, Citus is not installed in $("$CS_PGBIN/pg_config" --sharedir)/extension"
  exit 0
fi
if [[ ${CS_SKIP_BUILD:-0} != 1 ]]; then
  echo "building and installing" >&2
  make -s >&2
  cs_install >&2
fi
trap citus_nodes_stop EXIT
ports=()
for name in coordinator worker1 worker2; do
  citus_node_start "bench-citus-$name"
  ports+=("$CITUS_NODE_PORT")
done
citus_cluster_create bench "${ports[@]}"
export PGHOST=127.0.0.1 PGPORT=${ports[0]} PGUSER=postgres PGDATABASE=bench
export PGOPTIONS="-c max_parallel_workers_per_gather=0 -c client_min_messages=warning"
bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "== bgnbd_fit and gamma_gamma_fit on Citus (coordinator + 2 workers, 32 shards) and single node: $customers customers =="
echo "Citus $(bq -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), $(nproc) cores, commit $(git -C "$REPO" rev-parse --short HEAD)"
bq -v customers="$customers" >/dev/null <<'SQL'
CREATE EXTENSION customer_score;
SET citus.shard_count = 32;
SELECT setseed(0.14);
CREATE TABLE local_h AS
SELECT i AS customer_id, f AS frequency,
       CASE WHEN f = 0 THEN 0 ELSE floor(random() * td)::int / 7.0::float8 END AS recency,
       td / 7.0::float8 AS t, 5 + round((random() * 100)::numeric, 2)::float8 AS monetary
FROM (SELECT i, floor(-ln(random()) * 3)::int AS f, 273 + floor(random() * 273)::int AS td
        FROM generate_series(1, :customers) i) s;
CREATE TABLE dist_h (LIKE local_h);
SELECT create_distributed_table('dist_h', 'customer_id');
INSERT INTO dist_h SELECT * FROM local_h;
ANALYZE local_h;
ANALYZE dist_h;
CREATE FUNCTION median_ms(q text, runs int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ms float8[] := '{}'; x text;
BEGIN
  FOR i IN 0 .. runs LOOP
    t0 := clock_timestamp();
    EXECUTE q INTO x;
    IF i > 0 THEN ms := ms || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000; END IF;
  END LOOP;
  RETURN (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY m) FROM unnest(ms) m);
END $$;
SQL
echo "distinct histories: $(bq -c "SELECT count(DISTINCT (frequency, recency, t)) FROM local_h") BG/NBD, $(bq -c "SELECT count(DISTINCT (frequency, monetary)) FROM local_h") Gamma-Gamma"
same=$(bq -c "SELECT (SELECT customer_score.bgnbd_fit(frequency, recency, t)::text FROM local_h) = (SELECT customer_score.bgnbd_fit(frequency, recency, t)::text FROM dist_h)
                 AND (SELECT customer_score.gamma_gamma_fit(frequency, monetary)::text FROM local_h) = (SELECT customer_score.gamma_gamma_fit(frequency, monetary)::text FROM dist_h)")
echo "fits equal on Citus and single node: $same"
bq -F ' ' <<'SQL' | awk '{ printf "state text sent by the workers (32 shards): BG/NBD %.2f MB, Gamma-Gamma %.2f MB\n", $1 / 1e6, $2 / 1e6 }'
SELECT (SELECT sum(length(result)) FROM run_command_on_shards('dist_h', $$SELECT customer_score.bgnbd_partial(frequency, recency, t)::text FROM %s$$)),
       (SELECT sum(length(result)) FROM run_command_on_shards('dist_h', $$SELECT customer_score.gamma_gamma_partial(frequency, monetary)::text FROM %s$$));
SQL
bq -F ' ' -v runs="$runs" <<'SQL' | awk '{ printf "one state of all histories (coordinator): BG/NBD %d points, %.1f bytes and %.2f us out + in per point; Gamma-Gamma %d points, %.1f bytes and %.2f us\n", $1, $2, $3, $4, $5, $6 }'
CREATE TABLE st AS SELECT customer_score.bgnbd_partial(frequency, recency, t) AS b, customer_score.gamma_gamma_partial(frequency, monetary) AS g FROM local_h;
WITH n AS (SELECT (SELECT count(DISTINCT (frequency, recency, t)) FROM local_h) AS nb, (SELECT count(DISTINCT (frequency, monetary)) FROM local_h) AS ng)
SELECT nb, (SELECT length(b::text) FROM st)::float8 / nb,
       median_ms('SELECT pg_column_size(b::text::customer_score.bgnbd_state) FROM st', :runs) * 1000 / nb,
       ng, (SELECT length(g::text) FROM st)::float8 / ng,
       median_ms('SELECT pg_column_size(g::text::customer_score.gamma_gamma_state) FROM st', :runs) * 1000 / ng
FROM n;
SQL
echo "-- timed: median of $runs runs each (after one warm-up), single node then Citus, same cores"
echo "   Citus a: default settings (each query opens new connections to the workers: citus.max_cached_conns_per_worker = 1)"
echo "   Citus b: citus.max_cached_conns_per_worker = 16 (the workers' backends are kept between queries)"
bq -F ' ' -v runs="$runs" <<'SQL' | awk '{ printf "%-16s single node %7.1f ms   Citus a %7.1f ms (ratio %.2f)   Citus b %7.1f ms (ratio %.2f)\n", $1, $2, $3, $3 / $2, $4, $4 / $2 }'
CREATE TEMP TABLE q (n int, m text, e text);
INSERT INTO q VALUES (1, 'bgnbd_fit', 'customer_score.bgnbd_fit(frequency, recency, t)::text'),
                     (2, 'gamma_gamma_fit', 'customer_score.gamma_gamma_fit(frequency, monetary)::text'),
                     (3, 'count(*)', 'count(*)');
CREATE TEMP TABLE timed AS
SELECT n, m, median_ms(format('SELECT %s FROM local_h', e), :runs) AS single, median_ms(format('SELECT %s FROM dist_h', e), :runs) AS a
  FROM q ORDER BY n;
SET citus.max_cached_conns_per_worker = 16;
SELECT m, single, a, median_ms(format('SELECT %s FROM dist_h', e), :runs) FROM timed JOIN q USING (n, m) ORDER BY n;
SQL
