# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the scripts that source this file
# Shared functions of the benchmark scripts.  Source it; it defines functions and variables only.
# The scripts talk to whatever PG* variables point at (bench/run starts a throwaway cluster and
# exports them); the database must have the extension (bench/run creates it).
#
# Session settings for every measured query, in PGOPTIONS so each new connection gets them:
#   max_parallel_workers_per_gather = 0   both sides of every comparison run in one process
#   work_mem = 1GB (hash_mem_multiplier 2 => 2 GB per hash table)   no hash aggregate spills;
#                                          each measured run reports its batches to prove it
#   TimeZone = UTC (BENCH_TIMEZONE)        the calendar day of rfm and of date_trunc('day', ...)
# Everything else (jit, shared_buffers = 256MB, ...) is the cluster's setting from scripts/cluster.sh.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$BENCH_DIR/.." && pwd -P)
BENCH_TIMEZONE=${BENCH_TIMEZONE:-UTC}
BENCH_WORK_MEM=${BENCH_WORK_MEM:-1GB}
BENCH_RUNS=${BENCH_RUNS:-3}
export PGOPTIONS="-c max_parallel_workers_per_gather=0 -c work_mem=$BENCH_WORK_MEM -c TimeZone=$BENCH_TIMEZONE -c client_min_messages=warning"
export PGDATABASE=${PGDATABASE:-postgres}

# psql for scripts: no psqlrc, quiet, unaligned tuples only, stop at the first error.
bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

bench_init() {
  bq -f "$BENCH_DIR/lib.sql" >/dev/null
}

# Print the settings the measurements ran with (from a fresh connection, so PGOPTIONS applies).
print_settings() {
  bq -F ' ' -c "SELECT 'settings: ' || string_agg(name || '=' || current_setting(name), ' ' ORDER BY name)
                  FROM pg_settings WHERE name IN ('max_parallel_workers_per_gather', 'work_mem',
                  'hash_mem_multiplier', 'jit', 'shared_buffers', 'TimeZone')"
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# median of the arguments (the lower middle one for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# smallest of the arguments
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
# a / b with 3 significant digits, "-" when b is 0 or empty
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.3g", a / b }'; }
# a number with d decimals
fmt() { awk -v a="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, a }'; }

# A line bench/run collects for its summary table.  MEASURED and BASELINE carry their unit.
# result NAME MEASURED BASELINE RATIO TARGET [MET]   (MET: yes/no/-)
result() {
  printf 'RESULT|%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" "${6:--}"
}

# measure QUERY [PRETOUCH]: run QUERY once in a fresh connection and print
#   "ms hash_kb hash_batches disk_kb hwm_before_kb hwm_after_kb"
# hwm_* is VmHWM (peak resident set) of the backend, read by this script from
# /proc/<pg_backend_pid()>/status just before and just after the query.  Before the first
# reading the connection loads the extension's library and runs PRETOUCH (e.g. a count(*) of the
# table, so the shared buffers the query reads are already counted in the "before" figure).
measure() {
  local query=$1 pretouch=${2:-SELECT 1} hwm_file out
  hwm_file=$(mktemp)
  out=$(HWM_FILE=$hwm_file bq -F ' ' -v q="$query" -v pre="$pretouch" <<'SQL'
SELECT customer_score.bgnbd(1, 1, 1, 1) IS NOT NULL AS loaded \gset
SELECT bench.explain(:'pre') IS NOT NULL AS pretouched \gset
SELECT pg_backend_pid() AS backend_pid \gset
\setenv BENCH_BACKEND_PID :backend_pid
\! awk '/^VmHWM:/ { print $2 }' "/proc/$BENCH_BACKEND_PID/status" >>"$HWM_FILE"
SELECT ms, coalesce(hash_kb, 0), coalesce(hash_batches, 0), coalesce(disk_kb, 0) FROM bench.run(:'q');
\! awk '/^VmHWM:/ { print $2 }' "/proc/$BENCH_BACKEND_PID/status" >>"$HWM_FILE"
SQL
  ) || { rm -f "$hwm_file"; return 1; }
  echo "$out $(tr '\n' ' ' <"$hwm_file")"
  rm -f "$hwm_file"
}

# Field N (1-based) of a measure line.
field() { awk -v n="$2" '{ print $n }' <<<"$1"; }
kb_to_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---- the rfm queries (bench/rfm.sh times them, bench/memory.sh measures their memory) ----------
# %WHERE% / %AND% are placeholders for a filter (the agreement check runs on a sample).

AS_OF="timestamptz '2025-01-01 00:00:00+00'"

# rfm: one aggregate per customer.
RFM_ROWS="SELECT customer_id, (s).frequency, (s).recency, (s).t, (s).monetary, (s).total, (s).purchases
  FROM (SELECT customer_id, customer_score.rfm(at, amount, $AS_OF) AS s
          FROM tx %WHERE% GROUP BY customer_id) q"

# The baseline: the same summary from built-in aggregates.  Stage 1 groups by customer and
# calendar day (date_trunc in the session time zone); stage 2 per customer: frequency = days - 1,
# recency = last day - first day, t = as_of - first day (both on the local wall clock, in days,
# as rfm counts them), monetary = (all value - first day's value) / (days - 1), total, purchases.
# The first day's value is the second element of min(ARRAY[epoch of day, value]): a built-in
# aggregate that can hash (an ordered aggregate such as array_agg(... ORDER BY day) cannot), in
# float8 (date_part, not numeric extract) to keep it cheap.
BASE_ROWS="SELECT customer_id,
       (count(*) - 1)::int AS frequency,
       date_part('epoch', max(day)::timestamp - min(day)::timestamp) / 86400 AS recency,
       date_part('epoch', ($AS_OF)::timestamp - min(day)::timestamp) / 86400 AS t,
       CASE WHEN count(*) > 1
            THEN (sum(amount) - (min(ARRAY[date_part('epoch', day), amount]))[2]) / (count(*) - 1)
            ELSE 0 END AS monetary,
       sum(amount) AS total,
       sum(n)::int AS purchases
  FROM (SELECT customer_id, date_trunc('day', at) AS day, sum(amount) AS amount, count(*) AS n
          FROM tx WHERE at <= $AS_OF %AND%
         GROUP BY customer_id, date_trunc('day', at)) d
 GROUP BY customer_id"

sums() {  # consume every customer's row: count and sums of every column
  echo "SELECT count(*), sum(frequency), sum(recency), sum(t), sum(monetary), sum(total), sum(purchases) FROM ($1) r"
}
RFM_Q=$(sums "${RFM_ROWS//%WHERE%/}")
BASE_Q=$(sums "${BASE_ROWS//%AND%/}")
PLAIN_Q="SELECT count(*), sum(n), sum(s) FROM (SELECT customer_id, count(*) AS n, sum(amount) AS s FROM tx GROUP BY customer_id) p"
# the one-level built-in aggregate issue 16 measures rfm against: what rfm reads of each customer
ONE_LEVEL_Q="SELECT count(*), sum(n), sum(s), max(l - f) FROM (SELECT customer_id, count(*) AS n, min(at) AS f, max(at) AS l, sum(amount) AS s FROM tx GROUP BY customer_id) p"

# ---- data ---------------------------------------------------------------------------------
# Each table carries a comment with the parameters it was generated with; a script regenerates
# it when the comment differs, so scripts can run alone or after each other.

# load_cdnow: table cdnow (id, x, t_x, t, zbar) from the CDNOW summary in ../shared/data (needs
# scripts/cluster.sh for shared_data_dir); prints a SKIP line and returns 1 without the file.
load_cdnow() {
  local data_dir csv
  data_dir=$(shared_data_dir) || data_dir=
  csv=$data_dir/cdnow_customers_summary_with_transactions.csv
  if [[ -z $data_dir || ! -r $csv ]]; then
    echo "SKIP: cdnow_customers_summary_with_transactions.csv not found beside the repository (../shared/data)"
    return 1
  fi
  echo "data: $csv"
  bq -c "DROP TABLE IF EXISTS cdnow" -c "CREATE TABLE cdnow (id int, x int, t_x float8, t float8, zbar float8)" \
     -c "\copy cdnow FROM pstdin WITH (FORMAT csv, HEADER true)" -c "VACUUM ANALYZE cdnow" <"$csv"
}

table_tag() { bq -c "SELECT coalesce(obj_description(to_regclass('$1'), 'pg_class'), '')"; }

# ensure_tx: tx(customer_id, at, amount) with BENCH_TX rows for BENCH_CUSTOMERS customers.
ensure_tx() {
  local n_tx=${BENCH_TX:-10000000} n_cust=${BENCH_CUSTOMERS:-1000000} order=${BENCH_TX_ORDER:-time}
  local tag="bench tx v1 n_tx=$n_tx n_customers=$n_cust order=$order" t0
  [[ $(table_tag tx) == "$tag" ]] && { echo "data: reusing tx ($tag)"; return 0; }
  t0=$(now_s)
  bq -v n_tx="$n_tx" -v n_customers="$n_cust" -v order="$order" -v tag="$tag" \
     -f "$BENCH_DIR/data/tx.sql" >/dev/null
  echo "data: generated tx ($tag) in $(elapsed "$t0") s"
}

# ensure_synth: synth(customer_id, frequency, recency_days, t_days, monetary, recency, t) with
# BENCH_SYNTH customers simulated by bench/data/synth.py (recency and t in weeks = days / 7).
ensure_synth() {
  local n=${BENCH_SYNTH:-1000000} seed=${BENCH_SEED:-20240601}
  local tag="bench synth v1 n=$n seed=$seed" t0 csv
  [[ $(table_tag synth) == "$tag" ]] && { echo "data: reusing synth ($tag)"; return 0; }
  t0=$(now_s)
  csv=$(mktemp --suffix=.csv)
  python3 "$BENCH_DIR/data/synth.py" "$n" "$seed" >"$csv" || { rm -f "$csv"; return 1; }
  bq -v tag="$tag" <<SQL || { rm -f "$csv"; return 1; }
DROP TABLE IF EXISTS synth;
CREATE UNLOGGED TABLE synth (customer_id int, frequency int, recency_days int, t_days int,
                             monetary float8) WITH (autovacuum_enabled = off);
\\copy synth FROM '$csv' WITH (FORMAT csv, HEADER true)
CREATE UNLOGGED TABLE synth_w WITH (autovacuum_enabled = off) AS
SELECT *, recency_days::float8 / 7 AS recency, t_days::float8 / 7 AS t FROM synth;
DROP TABLE synth;
ALTER TABLE synth_w RENAME TO synth;
VACUUM (FREEZE, ANALYZE) synth;
COMMENT ON TABLE synth IS :'tag';
SQL
  rm -f "$csv"
  echo "data: generated synth ($tag) in $(elapsed "$t0") s"
}
