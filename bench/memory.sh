#!/usr/bin/env bash
# Claim 4: memory.  The peak memory of a backend running each aggregate, next to a baseline over
# the same rows, and the size of the aggregate states themselves.
#
#   bench/run memory          (or bash bench/memory.sh with PG* set)
#   Uses the tables of bench/rfm.sh (tx) and bench/fit_synthetic.sh (synth), generating them when
#   missing (same BENCH_* knobs).
#
# Peak memory: each query runs once in a fresh connection (EXPLAIN (ANALYZE, TIMING OFF), so no
# result is sent).  Before it, the connection loads the extension's library and scans the table
# once (count(*)), so shared buffers the query reads are already resident; this script then reads
# VmHWM (the peak resident set) from /proc/<pg_backend_pid()>/status before and after the query
# and reports the increase.  State sizes: pg_column_size of what the transition functions built,
# from aggregates without a final function (bench.*_state_only, see bench/lib.sql) - the bytes
# held, unused capacity included.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init

echo "== memory: peak backend memory (VmHWM increase) and aggregate state sizes =="
print_settings
ensure_synth
ensure_tx

peak() {  # peak LABEL QUERY PRETOUCH -> prints a line, sets PEAK_KB
  local m
  m=$(measure "$2" "$3")
  PEAK_KB=$(($(field "$m" 6) - $(field "$m" 5)))
  printf '  %-36s VmHWM %8.1f -> %8.1f MiB  (+%.1f MiB)  [%.0f ms]' "$1" \
    "$(kb_to_mib "$(field "$m" 5)")" "$(kb_to_mib "$(field "$m" 6)")" "$(kb_to_mib "$PEAK_KB")" "$(field "$m" 1)"
  if (($(field "$m" 3) > 0)); then
    printf '  hash aggregates %.1f MiB, batches %s' "$(kb_to_mib "$(field "$m" 2)")" "$(field "$m" 3)"
  fi
  echo
}

echo
n_synth=$(bq -c "SELECT count(*) FROM synth")
n_tx=$(bq -c "SELECT count(*) FROM tx")
short() { awk -v n="$1" 'BEGIN { printf "%.3gM", n / 1e6 }'; }
echo "-- fits on synth ($n_synth customers)"
pre="SELECT count(*) FROM synth"
peak "bgnbd_fit" "SELECT customer_score.bgnbd_fit(frequency, recency, t) FROM synth" "$pre"; bg_kb=$PEAK_KB
peak "gamma_gamma_fit" "SELECT customer_score.gamma_gamma_fit(frequency, monetary) FROM synth" "$pre"; gg_kb=$PEAK_KB
peak "avg(t) baseline" "SELECT avg(t) FROM synth" "$pre"; fitbase_kb=$PEAK_KB
states=$(bq -F ' ' <<'SQL'
SELECT pg_column_size(bench.bgnbd_state_only(frequency, recency, t)),
       pg_column_size(bench.gamma_gamma_state_only(frequency, monetary)),
       (SELECT count(*) FROM (SELECT DISTINCT frequency, CASE WHEN frequency > 0 THEN recency ELSE 0 END, t FROM synth) d),
       (SELECT count(*) FROM (SELECT DISTINCT frequency, monetary FROM synth WHERE frequency > 0) d)
  FROM synth;
SQL
)
bg_state=$(field "$states" 1) gg_state=$(field "$states" 2)
# a compacted state holds 32 bytes per distinct history (3 keys + count) after a 12-byte header
printf '  bgnbd_fit state:       %.2f MiB allocated at the end of the scan; %s distinct histories = %.2f MiB compacted\n' \
  "$(awk -v b="$bg_state" 'BEGIN { print b / 1048576 }')" "$(field "$states" 3)" "$(awk -v n="$(field "$states" 3)" 'BEGIN { print (12 + 32 * n) / 1048576 }')"
printf '  gamma_gamma_fit state: %.2f MiB allocated at the end of the scan; %s distinct histories = %.2f MiB compacted\n' \
  "$(awk -v b="$gg_state" 'BEGIN { print b / 1048576 }')" "$(field "$states" 4)" "$(awk -v n="$(field "$states" 4)" 'BEGIN { print (12 + 32 * n) / 1048576 }')"

echo
echo "-- rfm on tx ($n_tx rows)"
pre="SELECT count(*) FROM tx"
peak "rfm" "$RFM_Q" "$pre"; rfm_kb=$PEAK_KB
peak "baseline (built-in, two GROUP BYs)" "$BASE_Q" "$pre"; rfmbase_kb=$PEAK_KB
peak "plain count+sum per customer" "$PLAIN_Q" "$pre"; plain_kb=$PEAK_KB
customers=$(bq -c "SELECT count(DISTINCT customer_id) FROM tx")
echo "  per customer: rfm $(awk -v k="$rfm_kb" -v n="$customers" 'BEGIN { printf "%.0f", k * 1024 / n }') bytes," \
     "baseline $(awk -v k="$rfmbase_kb" -v n="$customers" 'BEGIN { printf "%.0f", k * 1024 / n }') bytes," \
     "plain $(awk -v k="$plain_kb" -v n="$customers" 'BEGIN { printf "%.0f", k * 1024 / n }') bytes (VmHWM increase / $customers customers)"
echo "  rfm state per customer (pg_column_size after the scan, customers with customer_id % 100 = 0):"
bq -F ' ' <<SQL | awk '{ printf "    %3s purchase days: %6s customers, state %s bytes\n", $1, $2, $3 }'
SELECT days, count(*), string_agg(DISTINCT size::text, '/')
  FROM (SELECT (customer_score.rfm_finalfn(s)).frequency + 1 AS days, pg_column_size(s) AS size
          FROM (SELECT bench.rfm_state_only(at, amount, $AS_OF) AS s FROM tx
                 WHERE customer_id % 100 = 0 GROUP BY customer_id) q) r
 GROUP BY days ORDER BY days;
SQL
rfm_state=$(bq -c "SELECT round(avg(pg_column_size(s))) FROM (SELECT bench.rfm_state_only(at, amount, $AS_OF) AS s FROM tx WHERE customer_id % 100 = 0 GROUP BY customer_id) q")
echo "  mean rfm state: $rfm_state bytes per customer"

mib() { kb_to_mib "$1"; }
result "peak mem bgnbd_fit $(short "$n_synth") customers" "+$(mib "$bg_kb") MiB" "+$(mib "$fitbase_kb") MiB" "$(ratio "$bg_kb" "$fitbase_kb")" "-" "-"
result "peak mem gamma_gamma_fit $(short "$n_synth") customers" "+$(mib "$gg_kb") MiB" "+$(mib "$fitbase_kb") MiB" "$(ratio "$gg_kb" "$fitbase_kb")" "-" "-"
result "  bgnbd_fit / gamma_gamma_fit state" "$(awk -v b="$bg_state" 'BEGIN { printf "%.1f", b / 1048576 }') / $(awk -v b="$gg_state" 'BEGIN { printf "%.1f", b / 1048576 }') MiB" "-" "-" "-" "-"
result "peak mem rfm $(short "$n_tx") tx" "+$(mib "$rfm_kb") MiB" "+$(mib "$rfmbase_kb") MiB" "$(ratio "$rfm_kb" "$rfmbase_kb")" "-" "-"
result "  rfm state per customer (mean)" "$rfm_state B" "-" "-" "-" "-"
