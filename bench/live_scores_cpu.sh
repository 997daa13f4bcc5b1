#!/usr/bin/env bash
# bench/live_scores_cpu.sh — the backend's CPU time per single-row INSERT into a plain table and
# into the same table tracked by the live-score triggers (issue 16), a figure that depends less
# on the machine's other load than bench/live_scores.sh's throughput ratios do.
# Figures only: nothing here asserts a time.
#
#   bash bench/live_scores_cpu.sh
#   BENCH_SECONDS  each pgbench run (default 12; CPU is read from second 2 to BENCH_SECONDS - 2)
#   BENCH_RUNS     runs of each table, alternating (default 3; median reported)
#   BENCH_MANY_DAYS=365  the customers of bench/live_scores.sh's load 1b (1,000 customers of 365
#                  days, loaded first); default 0: 100,000 customers as in its load 1
#   CS_SKIP_BUILD=1  use the extension already installed;  CS_KEEP_CLUSTER=1  keep the cluster
#
# One pgbench client (-M prepared) inserts one row per transaction, as bench/live_scores.sh
# does; the backend's utime + stime (/proc/PID/stat) over the window, divided by the rows
# inserted in it (the identity sequence), is the CPU per row.
set -euo pipefail

# shellcheck source=bench/standalone.sh
source "$(dirname "${BASH_SOURCE[0]}")/standalone.sh"

seconds=${BENCH_SECONDS:-12}
runs=${BENCH_RUNS:-3}
many_days=${BENCH_MANY_DAYS:-0}

bench_start bench-live-cpu
export PGDATABASE=bench PGOPTIONS="-c TimeZone=UTC -c client_min_messages=warning"
work=$CLUSTER_DIR/work
_cs_as_owner mkdir -p "$work"
bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== live scores: backend CPU per single-row insert, with the tracking triggers and without =="
echo "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $(postgres --version)"
bq <<SQL
CREATE EXTENSION customer_score;
CREATE TABLE tx_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL,
                       at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
CREATE INDEX ON tx_plain (customer_id, at);
CREATE TABLE tx_live (LIKE tx_plain INCLUDING ALL);
SELECT customer_score.track_transactions('tx_live') >= 0;
SQL
customers=100000
if ((many_days > 0)); then
  customers=1000
  for t in plain live; do
    bq -c "INSERT INTO tx_$t (customer_id, at, amount)
           SELECT c, now() - (2 * d + c % 2) * interval '1 day', (1 + (c * d) % 200)::numeric(12,2)
           FROM generate_series(1, $customers) c, generate_series(0, $many_days - 1) d" -c "VACUUM ANALYZE tx_$t"
  done
  bq -c "VACUUM ANALYZE customer_score.live_customers"
fi
echo "customers: $customers$( ((many_days > 0)) && echo " of $many_days days each, loaded first")"
hz=$(getconf CLK_TCK)
declare -A us=()
for ((i = 1; i <= runs; i++)); do
  for t in plain live; do
    cat >"$work/insert_$t.sql" <<PGB
\set c random(1, $customers)
\set s random(0, 63072000)
\set a random(1, 20000)
INSERT INTO tx_$t (customer_id, at, amount) VALUES (:c, now() - :s * interval '1 second', :a / 100.0);
PGB
    bq -c "CHECKPOINT"
    pgbench -n -M prepared -c 1 -T "$seconds" -f "$work/insert_$t.sql" >"$work/pgbench_$t.out" 2>&1 &
    sleep 2
    pid=$(bq -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'INSERT INTO tx_$t%' LIMIT 1")
    c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat") n0=$(bq -c "SELECT last_value FROM tx_${t}_id_seq")
    sleep $((seconds - 4))
    c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat") n1=$(bq -c "SELECT last_value FROM tx_${t}_id_seq")
    wait
    v=$(awk -v c=$((c1 - c0)) -v n=$((n1 - n0)) -v hz="$hz" 'BEGIN { printf "%.1f", c / hz * 1e6 / n }')
    printf '  run %d  %-5s  %7d rows  %6.1f us CPU per row\n' "$i" "$t" $((n1 - n0)) "$v"
    us[$t]="${us[$t]:-} $v"
  done
done
# shellcheck disable=SC2086
awk -v p="$(median ${us[plain]})" -v l="$(median ${us[live]})" 'BEGIN {
  printf "  median: without trigger %.1f us, with trigger %.1f us per row: plain / tracked %.2f\n", p, l, p / l }'
bq -c "SELECT '  differences from a recount: ' || count(*) FROM customer_score.live_days_differences()"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reproduce: bash bench/live_scores_cpu.sh"
