#!/usr/bin/env bash
# Claim 1: rfm over 10 million transactions of 1 million customers takes at most half the time of
# the same summary written with built-in aggregates; and its per-row cost next to a plain
# built-in aggregate (count + sum per customer) and to the one-level built-in aggregate
# count(*), min(at), max(at), sum(amount) per customer (issue 16: at most 1.0x) on the same table.
#
#   bench/run rfm            (or, with PG* pointing at a database with the extension: bash bench/rfm.sh)
#   BENCH_TX, BENCH_CUSTOMERS  table size (default 10000000, 1000000)
#   BENCH_TX_ORDER=random      rows in random day order instead of time order (default time)
#   BENCH_RUNS                 timed runs per query (default 3; the median is reported)
#
# Every query is wrapped so its whole result is consumed inside the server (count and sums over
# all customers) and runs under EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) in a fresh connection:
# the figure is the server's Execution Time.  Runs are interleaved (rfm, baseline, plain, scan,
# then again), after an untimed run of rfm and baseline that also checks they agree.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init

SCAN_Q="SELECT count(*) FROM tx"

echo "== rfm: ${BENCH_TX:-10000000} transactions / ${BENCH_CUSTOMERS:-1000000} customers, rfm vs built-in aggregates =="
print_settings
ensure_tx
info=$(bq -F ' ' -c "SELECT count(*), count(DISTINCT customer_id), pg_size_pretty(pg_table_size('tx')) FROM tx")
rows=$(field "$info" 1) customers=$(field "$info" 2)
echo "table tx: $rows rows, $customers customers, $(field "$info" 3) $(field "$info" 4)"

echo
echo "-- plans (EXPLAIN, COSTS OFF)"
bq -c "EXPLAIN (COSTS OFF) $RFM_Q" | sed 's/^/  rfm      | /'
bq -c "EXPLAIN (COSTS OFF) $BASE_Q" | sed 's/^/  baseline | /'

echo
echo "-- agreement (untimed run of each full query, also the warm-up)"
rfm_sums=$(bq -F ' ' -c "$RFM_Q")
base_sums=$(bq -F ' ' -c "$BASE_Q")
echo "  rfm      count, sum(frequency, recency, t, monetary, total, purchases): $rfm_sums"
echo "  baseline count, sum(frequency, recency, t, monetary, total, purchases): $base_sums"
agree=$(awk -v a="$rfm_sums" -v b="$base_sums" 'BEGIN {
  n = split(a, x, " "); split(b, y, " "); ok = "yes"
  for (i = 1; i <= n; i++) {
    d = x[i] - y[i]; if (d < 0) d = -d; m = (x[i] < 0 ? -x[i] : x[i])
    if (d > 1e-9 * (m > 1 ? m : 1)) ok = "NO"
  }
  print ok }')
sample_where="WHERE customer_id % 1000 = 7"
sample=$(bq -F ' ' -c "
  WITH a AS (${RFM_ROWS//%WHERE%/$sample_where}),
       b AS (${BASE_ROWS//%AND%/AND customer_id % 1000 = 7})
  SELECT count(*),
         count(*) FILTER (WHERE a.customer_id IS NULL OR b.customer_id IS NULL
              OR a.frequency <> b.frequency OR a.purchases <> b.purchases
              OR abs(a.recency - b.recency) > 1e-9 OR abs(a.t - b.t) > 1e-9
              OR abs(a.monetary - b.monetary) > 1e-9 * greatest(1, abs(b.monetary))
              OR abs(a.total - b.total) > 1e-9 * greatest(1, abs(b.total)))
    FROM a FULL JOIN b USING (customer_id)")
echo "  sums agree (relative 1e-9): $agree"
echo "  customer by customer on a sample (customer_id % 1000 = 7): $(field "$sample" 1) customers, $(field "$sample" 2) differ"
[[ $agree == yes && $(field "$sample" 2) == 0 ]] && agreement=yes || agreement=NO
echo "  rfm and baseline agree: $agreement ($(awk -v a="$rfm_sums" 'BEGIN { split(a, x, " "); printf "%d", x[1] + x[2] }') purchase occasions = customers + repeat days)"

echo
echo "-- timed runs: fresh connection each; ms = Execution Time; hash = peak memory of the hash aggregates (batches 1 = no spill)"
declare -a t_rfm=() t_base=() t_plain=() t_one=() t_scan=()
for ((run = 1; run <= BENCH_RUNS; run++)); do
  for q in rfm base plain one scan; do
    case $q in
      rfm) m=$(measure "$RFM_Q") ;;
      base) m=$(measure "$BASE_Q") ;;
      plain) m=$(measure "$PLAIN_Q") ;;
      one) m=$(measure "$ONE_LEVEL_Q") ;;
      scan) m=$(measure "$SCAN_Q") ;;
    esac
    printf '  run %d %-9s %10.1f ms  hash %8.1f MiB  batches %s  disk %s kB  VmHWM +%.1f MiB\n' "$run" "$q" \
      "$(field "$m" 1)" "$(kb_to_mib "$(field "$m" 2)")" "$(field "$m" 3)" "$(field "$m" 4)" \
      "$(kb_to_mib $(($(field "$m" 6) - $(field "$m" 5))))"
    eval "t_$q+=(\"$(field "$m" 1)\")"
  done
done

rfm_ms=$(median "${t_rfm[@]}")
base_ms=$(median "${t_base[@]}")
plain_ms=$(median "${t_plain[@]}")
one_ms=$(median "${t_one[@]}")
scan_ms=$(median "${t_scan[@]}")
ns() { awk -v ms="$1" -v n="$rows" 'BEGIN { printf "%.0f", ms * 1e6 / n }'; }
rfm_ns=$(ns "$rfm_ms") plain_ns=$(ns "$plain_ms") scan_ns=$(ns "$scan_ms")
echo
echo "-- medians (and best) of $BENCH_RUNS runs"
show() { printf '  %-34s %10.1f ms  (%s ns/row)   best %10.1f ms\n' "$1" "$2" "$(ns "$2")" "$3"; }
show "rfm" "$rfm_ms" "$(best "${t_rfm[@]}")"
show "baseline (built-in, two GROUP BYs)" "$base_ms" "$(best "${t_base[@]}")"
show "plain count+sum per customer" "$plain_ms" "$(best "${t_plain[@]}")"
show "count, min, max, sum per customer" "$one_ms" "$(best "${t_one[@]}")"
show "scan only (count(*))" "$scan_ms" "$(best "${t_scan[@]}")"
r=$(ratio "$rfm_ms" "$base_ms")
met=$(awk -v r="$r" 'BEGIN { print (r <= 0.5 ? "yes" : "no") }')
echo "  rfm / baseline = $r (best of $BENCH_RUNS: $(ratio "$(best "${t_rfm[@]}")" "$(best "${t_base[@]}")"))   (target <= 0.5: $met; results agree: $agreement)"
echo "  rfm / plain aggregate = $(ratio "$rfm_ms" "$plain_ms") per row;" \
     "above the scan: rfm $((rfm_ns - scan_ns)) ns/row vs plain $((plain_ns - scan_ns)) ns/row" \
     "($(ratio $((rfm_ns - scan_ns)) $((plain_ns - scan_ns))))"

result "rfm $(awk -v n="$rows" 'BEGIN { printf "%.3gM", n / 1e6 }') tx / $(awk -v n="$customers" 'BEGIN { printf "%.3gM", n / 1e6 }') customers (agree: $agreement)" \
  "$(fmt "$rfm_ms" 0) ms" "$(fmt "$base_ms" 0) ms" "$r" "<= 0.5" "$met"
result "rfm per-row cost vs count+sum" "$rfm_ns ns/row" "$plain_ns ns/row" "$(ratio "$rfm_ms" "$plain_ms")" "-" "-"
r1=$(ratio "$rfm_ms" "$one_ms")
result "rfm vs count, min(at), max(at), sum per customer" "$(fmt "$rfm_ms" 0) ms" "$(fmt "$one_ms" 0) ms" "$r1" "<= 1.0" \
  "$(awk -v r="$r1" 'BEGIN { print (r <= 1.0 ? "yes" : "no") }')"
