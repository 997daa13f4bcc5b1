#!/usr/bin/env bash
# Claim: the calibration/holdout pass (rfm_holdout) over 10 million transactions of 1 million
# customers costs at most 1.2x rfm alone, measured in the same run.
#
#   bench/run holdout         (or, with PG* pointing at a database with the extension: bash bench/holdout.sh)
#   BENCH_TX, BENCH_CUSTOMERS, BENCH_TX_ORDER, BENCH_RUNS   as for bench/rfm.sh (the same tx table)
#
# The transactions cover 2023-01-01 .. 2024-12-31. rfm_holdout splits them at 2024-07-01 into
# calibration and holdout; the baselines are rfm at the calibration end (the summary one would
# otherwise compute, followed by a separate holdout query) and rfm at the holdout end (the same
# rows kept in the state). Each query's result is consumed inside the server (sums over all
# customers) and timed by EXPLAIN ANALYZE in a fresh connection (bench/lib.sh measure); runs are
# interleaved and the median is reported.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init

CAL="timestamptz '2024-07-01 00:00:00+00'"
END="timestamptz '2025-01-01 00:00:00+00'"
rfm_q() {
  echo "SELECT count(*), sum((s).frequency), sum((s).recency), sum((s).t), sum((s).monetary)
          FROM (SELECT customer_id, customer_score.rfm(at, amount, $1, '1 day') AS s FROM tx GROUP BY customer_id) q"
}
HOLDOUT_Q="SELECT count(*), sum((s).frequency), sum((s).recency), sum((s).t), sum((s).monetary),
                  sum((s).holdout_frequency), sum((s).holdout_spend)
             FROM (SELECT customer_id, customer_score.rfm_holdout(at, amount, $CAL, $END, '1 day') AS s
                     FROM tx GROUP BY customer_id) q"
RFM_CAL_Q=$(rfm_q "$CAL")
RFM_END_Q=$(rfm_q "$END")

echo "== rfm_holdout: ${BENCH_TX:-10000000} transactions / ${BENCH_CUSTOMERS:-1000000} customers, against rfm alone =="
print_settings
ensure_tx

echo
echo "-- agreement (untimed, also the warm-up): the calibration columns of rfm_holdout are rfm's"
h=$(bq -F ' ' -c "$HOLDOUT_Q")
r=$(bq -F ' ' -c "$RFM_CAL_Q")
echo "  rfm_holdout count, sums of frequency, recency, t, monetary, holdout_frequency, holdout_spend: $h"
echo "  rfm at the calibration end                                                    : $r"
same=$( [[ $(cut -d' ' -f1-5 <<<"$h") == "$r" ]] && echo yes || echo NO)
echo "  identical: $same"
bq -F ' ' -c "$RFM_END_Q" >/dev/null

echo
echo "-- timed runs (fresh connection each; ms = Execution Time)"
declare -a t_h=() t_c=() t_e=()
for ((run = 1; run <= BENCH_RUNS; run++)); do
  for q in h c e; do
    case $q in
      h) m=$(measure "$HOLDOUT_Q") ;;
      c) m=$(measure "$RFM_CAL_Q") ;;
      e) m=$(measure "$RFM_END_Q") ;;
    esac
    printf '  run %d %-28s %10.1f ms\n' "$run" "$(case $q in h) echo rfm_holdout;; c) echo 'rfm at calibration end';; e) echo 'rfm at holdout end';; esac)" "$(field "$m" 1)"
    eval "t_$q+=(\"$(field "$m" 1)\")"
  done
done
h_ms=$(median "${t_h[@]}") c_ms=$(median "${t_c[@]}") e_ms=$(median "${t_e[@]}")
rc=$(ratio "$h_ms" "$c_ms") re=$(ratio "$h_ms" "$e_ms")
met=$(awk -v r="$rc" 'BEGIN { print (r <= 1.2 ? "yes" : "no") }')
echo
echo "-- medians of $BENCH_RUNS runs"
echo "  rfm_holdout $(fmt "$h_ms" 0) ms; rfm at the calibration end $(fmt "$c_ms" 0) ms (ratio $rc, target <= 1.2: $met);" \
     "rfm at the holdout end $(fmt "$e_ms" 0) ms (ratio $re)"
result "rfm_holdout vs rfm at calibration end (agree: $same)" "$(fmt "$h_ms" 0) ms" "$(fmt "$c_ms" 0) ms" "$rc" "<= 1.2" "$met"
result "rfm_holdout vs rfm at holdout end" "$(fmt "$h_ms" 0) ms" "$(fmt "$e_ms" 0) ms" "$re" "-" "-"
