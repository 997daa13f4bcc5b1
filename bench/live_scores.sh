#!/usr/bin/env bash
# bench/live_scores.sh — the live-score claim of issue 4: insert throughput on a transactions
# table with the tracking triggers (customer_score.track_transactions) against the same table
# without them, measured in the same run (target: at least 80 % of it in every load, single-row,
# many-day customers and bulk: issue 16; issue 4 asked for 70 %).
# Figures only: nothing here asserts a time.
#
#   bash bench/live_scores.sh
#   BENCH_SECONDS  pgbench duration of each single-row run (default 20)
#   BENCH_CLIENTS  pgbench clients (default 4, on 2 threads)
#   BENCH_RUNS     single-row runs of each table, interleaved (default 3; median reported)
#   BENCH_ROWS     rows of each bulk load (default 1000000)
#   BENCH_BULK_RUNS  bulk loads of each kind and table, interleaved (default 3; median reported)
#   BENCH_WORK_MEM   work_mem of the bulk loads (default: the server's, 4MB)
#   CS_SKIP_BUILD=1  use the extension already installed;  CS_KEEP_CLUSTER=1  keep the cluster
#
# It builds and installs the extension, starts a throwaway cluster (scripts/cluster.sh, name
# bench-live; fsync and synchronous_commit off, shared_buffers 256MB) and creates two identical
# tables, a plain one and a tracked one:
#   (id bigint identity PRIMARY KEY, customer_id bigint, at timestamptz, amount numeric(12,2))
#   with an index on (customer_id, at), the one index a CRM reads a customer's history with.
# 1. single-row: pgbench, prepared statements, one INSERT of one row per transaction, customer
#    uniform over 100,000, at uniform over the last two years: nearly every row starts a new
#    (customer, day) of the state.  Plain and tracked runs alternate; tps is the median.
# 1b. the same for customers with many days (BENCH_MANY_CUSTOMERS customers of BENCH_MANY_DAYS
#    days, default 1,000 of 365): the state packs a customer's days in one value, which a
#    single-row insert rewrites.
# 2. bulk, from a staging table generated with a fixed seed (setseed), loaded by
#    INSERT ... SELECT and by COPY FROM a server-side file, in two shapes:
#      history:  BENCH_ROWS rows of 100,000 customers over two years (nearly one new
#                (customer, day) per transaction, about 10 per customer);
#      day:      BENCH_ROWS rows of one day's batch by 200,000 customers (about 5 rows per
#                customer and day).
#    Each load goes into the emptied table (TRUNCATE, then CHECKPOINT, so both sides start from
#    the same state); the time is the server's (clock_timestamp around EXECUTE), the trigger's
#    work at the end of the statement included; rows/s is the median of the runs.
set -euo pipefail

# shellcheck source=bench/standalone.sh
source "$(dirname "${BASH_SOURCE[0]}")/standalone.sh"

seconds=${BENCH_SECONDS:-20}
clients=${BENCH_CLIENTS:-4}
runs=${BENCH_RUNS:-3}
rows=${BENCH_ROWS:-1000000}
bulk_runs=${BENCH_BULK_RUNS:-3}

bench_start bench-live
export PGDATABASE=bench PGOPTIONS="-c TimeZone=UTC -c client_min_messages=warning"
work=$CLUSTER_DIR/work
_cs_as_owner mkdir -p "$work"

bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== live scores: insert throughput with the tracking triggers against without them =="
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); $(postgres --version)"
bq <<SQL
CREATE EXTENSION customer_score;
CREATE TABLE tx_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL,
                       at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
CREATE INDEX ON tx_plain (customer_id, at);
CREATE TABLE tx_live (LIKE tx_plain INCLUDING ALL);
SELECT customer_score.track_transactions('tx_live') >= 0;
CREATE FUNCTION bench_ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
SQL
echo "settings: $(bq -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) FROM pg_settings
                      WHERE name IN ('shared_buffers', 'work_mem', 'fsync', 'synchronous_commit', 'max_wal_size', 'TimeZone')")"
echo "tables: (id identity PRIMARY KEY, customer_id bigint, at timestamptz, amount numeric(12,2)) + index (customer_id, at); tx_live tracked"

# ---- 1. single-row inserts ---------------------------------------------------------------
echo
echo "-- 1. single-row inserts: pgbench -M prepared, $clients clients, $seconds s per run, $runs run(s) per table, alternating"
for t in plain live; do
  cat >"$work/insert_$t.sql" <<PGB
\set c random(1, 100000)
\set s random(0, 63072000)
\set a random(1, 20000)
INSERT INTO tx_$t (customer_id, at, amount) VALUES (:c, now() - :s * interval '1 second', :a / 100.0);
PGB
done
# single_row LABEL: alternate pgbench runs of $work/insert_{plain,live}.sql, print the median tps
single_row() {
  local i t out v failed plain_tps live_tps
  local -A tps=()
  for ((i = 1; i <= runs; i++)); do
    for t in plain live; do
      bq -c "CHECKPOINT"
      out=$(pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/insert_$t.sql" 2>&1)
      v=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
      failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
      [[ -n $v ]] || { echo "pgbench failed:"; echo "$out"; exit 1; }
      printf '  run %d  %-5s  %8.0f tps  (failed: %s)\n' "$i" "$t" "$v" "${failed:-0}"
      tps[$t]="${tps[$t]:-} $v"
    done
  done
  # shellcheck disable=SC2086
  plain_tps=$(median ${tps[plain]}) live_tps=$(median ${tps[live]})
  awk -v p="$plain_tps" -v l="$live_tps" -v what="$1" 'BEGIN {
    printf "  %s median: without trigger %.0f tps, with trigger %.0f tps: ratio %.2f (target >= 0.80: %s)\n", what, p, l, l / p, (l / p >= 0.80) ? "met" : "NOT met" }'
  bq -F ' ' -c "SELECT (SELECT count(*) FROM tx_live), count(*), (SELECT count(*) FROM customer_score.live_days),
                       (SELECT count(*) FROM customer_score.live_days_differences())
                FROM customer_score.live_customers" |
    awk '{ printf "  tracked table: %s rows, live_customers: %s rows (%s days), differences from a recount: %s\n", $1, $2, $3, $4 }'
}
single_row single-row

# ---- 1b. single-row inserts for customers with many days ------------------------------------
# The state packs a customer's days in one value, so writing a day rewrites them all: the cost
# of a single-row insert grows with the days of its customer.  Both tables are loaded with
# BENCH_MANY_CUSTOMERS customers of BENCH_MANY_DAYS days each first (the tracked one through its
# trigger), then pgbench inserts rows of those customers only (at uniform over two years, so
# about half the rows add a day).
many_customers=${BENCH_MANY_CUSTOMERS:-1000}
many_days=${BENCH_MANY_DAYS:-365}
echo
echo "-- 1b. single-row inserts for customers with $many_days days each: $many_customers customers loaded first, then pgbench as in 1"
for t in plain live; do
  bq -c "TRUNCATE tx_$t" \
     -c "INSERT INTO tx_$t (customer_id, at, amount)
         SELECT c, now() - (2 * d + c % 2) * interval '1 day', (1 + (c * d) % 200)::numeric(12,2)
         FROM generate_series(1, $many_customers) c, generate_series(0, $many_days - 1) d" -c "VACUUM ANALYZE tx_$t"
  cat >"$work/insert_$t.sql" <<PGB
\set c random(1, $many_customers)
\set s random(0, 63072000)
\set a random(1, 20000)
INSERT INTO tx_$t (customer_id, at, amount) VALUES (:c, now() - :s * interval '1 second', :a / 100.0);
PGB
done
bq -c "VACUUM ANALYZE customer_score.live_customers"
bq -F ' ' -c "SELECT count(*), pg_size_pretty(pg_total_relation_size('customer_score.live_customers')),
                     pg_size_pretty(avg(pg_column_size(days))::bigint) FROM customer_score.live_customers" |
  awk '{ printf "  before: live_customers %s rows, %s %s, a packed value %s %s on average (as stored)\n", $1, $2, $3, $4, $5 }'
single_row "many days"

# ---- 2. bulk loads -----------------------------------------------------------------------
echo
echo "-- 2. bulk loads of $rows rows: INSERT ... SELECT from a staging table and COPY from a file, $bulk_runs run(s) each, alternating"
bq -v n="$rows" <<'SQL'
SELECT setseed(0.2024);
CREATE TABLE stage_history AS
SELECT 1 + floor(random() * 100000)::bigint AS customer_id,
       timestamptz '2024-01-01 00:00+00' + random() * interval '730 days' AS at,
       round((1 + random() * 199)::numeric, 2) AS amount
FROM generate_series(1, :n);
CREATE TABLE stage_day AS
SELECT 1 + floor(random() * 200000)::bigint AS customer_id,
       timestamptz '2025-12-31 00:00+00' + random() * interval '23 hours' AS at,
       round((1 + random() * 199)::numeric, 2) AS amount
FROM generate_series(1, :n);
VACUUM (FREEZE, ANALYZE) stage_history, stage_day;
SQL
for shape in history day; do
  bq -c "COPY stage_$shape TO '$work/stage_$shape.copy'"
  bq -F ' ' -c "SELECT count(*), count(DISTINCT (customer_id, (at AT TIME ZONE 'UTC')::date)) FROM stage_$shape" |
    awk -v s="$shape" '{ printf "  %-8s %s rows, %s distinct (customer, day): %.2f state rows per row\n", s, $1, $2, $2 / $1 }'
done
wm=()
[[ -z ${BENCH_WORK_MEM:-} ]] || wm=(-c "SET work_mem = '$BENCH_WORK_MEM'")
declare -A ms=()
for shape in history day; do
  for how in insert copy; do
    for ((i = 1; i <= bulk_runs; i++)); do
      for t in plain live; do
        if [[ $how == insert ]]; then
          q="INSERT INTO tx_$t (customer_id, at, amount) SELECT customer_id, at, amount FROM stage_$shape"
        else
          q="COPY tx_$t (customer_id, at, amount) FROM '$work/stage_$shape.copy'"
        fi
        # an empty table, and for the tracked one a fresh live_customers (its TRUNCATE trigger
        # deleted the rows; truncating it too leaves no dead rows behind)
        empty=(-c "TRUNCATE tx_$t")
        [[ $t == plain ]] || empty+=(-c "TRUNCATE customer_score.live_customers")
        m=$(bq "${empty[@]}" -c "CHECKPOINT" "${wm[@]}" -c "SELECT bench_ms(\$q\$$q\$q\$)")
        ms[$shape.$how.$t]="${ms[$shape.$how.$t]:-} $m"
      done
    done
    # shellcheck disable=SC2086
    p=$(median ${ms[$shape.$how.plain]}) l=$(median ${ms[$shape.$how.live]})
    awk -v s="$shape" -v h="$how" -v n="$rows" -v p="$p" -v l="$l" -v pr="${ms[$shape.$how.plain]}" -v lr="${ms[$shape.$how.live]}" 'BEGIN {
      printf "  %-8s %-7s without trigger %8.0f rows/s (%6.0f ms), with trigger %8.0f rows/s (%6.0f ms): ratio %.2f (target >= 0.80: %s)   runs ms: [%s] [%s]\n",
             s, (h == "insert" ? "INSERT" : "COPY"), n / p * 1000, p, n / l * 1000, l, p / l, (p / l >= 0.80) ? "met" : "NOT met", pr, lr }'
  done
  bq -F ' ' -c "SELECT count(*), (SELECT count(*) FROM customer_score.live_days),
                       pg_size_pretty(pg_total_relation_size('customer_score.live_customers')),
                       pg_size_pretty(pg_total_relation_size('tx_live')),
                       (SELECT count(*) FROM customer_score.live_days_differences())
                FROM customer_score.live_customers" |
    awk '{ printf "  state after the last load: live_customers %s rows (%s days), %s %s (table: %s %s); differences from a recount: %s\n", $1, $2, $3, $4, $5, $6, $7 }'
done
echo
echo "reproduce: bash bench/live_scores.sh"
