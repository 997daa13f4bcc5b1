#!/usr/bin/env bash
# Claim: bootstrap prediction intervals cost so much per replicate on one million customers, and
# 200 replicates on CDNOW take about a second (BG/NBD; Pareto/NBD and MBG/NBD timed beside it).
#
#   bench/run bootstrap       (or, with PG* pointing at a database with the extension: bash bench/bootstrap.sh)
#   BENCH_SYNTH, BENCH_SEED   the synthetic customers (bench/data/synth.py; default 1,000,000)
#   BENCH_BOOT_REPLICATES     the two replicate counts timed on them (default "2 6")
#   BENCH_RUNS                timed runs per query (median reported)
#
# prediction_intervals(..., horizon 52, step 4) is timed at two replicate counts in the same run;
# the cost per replicate is the difference over the difference in replicates (it resamples one
# million customers, refits both models and predicts every distinct customer history), the fixed
# cost (reading the customers, the point predictions) what is left. The baseline is one fit of
# both models by the aggregates over the same table. CDNOW (../shared/data) when present: 200
# replicates against one fit, for each counting purchase model.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init
read -r b1 b2 <<<"${BENCH_BOOT_REPLICATES:-2 6}"

boot_q() {  # boot_q TABLE REPLICATES [FIT]: consume every row of prediction_intervals
  echo "SELECT count(*), sum(purchases_upper - purchases_lower), sum(clv_upper - clv_lower)
          FROM (SELECT customer_score.${3:-bgnbd_fit}(frequency, recency, t) AS bg,
                       customer_score.gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS gg
                  FROM $1) m,
               customer_score.prediction_intervals(bg, gg,
                   'SELECT customer_id, frequency, recency, t, monetary FROM $1', 52,
                   replicates => $2, seed => 1, discount_rate => 0.0074, step => 4)"
}
fit_q() {  # fit_q TABLE [FIT]
  echo "SELECT customer_score.${2:-bgnbd_fit}(frequency, recency, t) IS NOT NULL,
               customer_score.gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) IS NOT NULL FROM $1"
}

echo "== bootstrap prediction intervals: ${BENCH_SYNTH:-1000000} synthetic customers, $b1 and $b2 replicates =="
print_settings
ensure_synth
bq -c "SELECT 'distinct histories: ' || count(DISTINCT (frequency, recency, t)) || ' BG/NBD, ' ||
              count(DISTINCT (frequency, recency, t, monetary)) || ' predictions' FROM synth"
declare -a t1=() t2=() tf=()
for ((run = 1; run <= BENCH_RUNS; run++)); do
  m=$(measure "$(boot_q synth "$b1")"); t1+=("$(field "$m" 1)")
  m=$(measure "$(boot_q synth "$b2")"); t2+=("$(field "$m" 1)")
  m=$(measure "$(fit_q synth)"); tf+=("$(field "$m" 1)")
  printf '  run %d: %d replicates %10.1f ms, %d replicates %10.1f ms, one fit %8.1f ms\n' "$run" \
    "$b1" "${t1[-1]}" "$b2" "${t2[-1]}" "${tf[-1]}"
done
m1=$(median "${t1[@]}") m2=$(median "${t2[@]}") mf=$(median "${tf[@]}")
per=$(awk -v a="$m1" -v b="$m2" -v n1="$b1" -v n2="$b2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
fixed=$(awk -v a="$m1" -v p="$per" -v n1="$b1" 'BEGIN { printf "%.1f", a - n1 * p }')
echo "  per replicate $per ms, fixed $fixed ms, one fit of both models $(fmt "$mf" 1) ms (ratio $(ratio "$per" "$mf"))"
result "bootstrap per replicate, $(awk -v n="${BENCH_SYNTH:-1000000}" 'BEGIN { printf "%.3gM", n / 1e6 }') customers" \
  "$per ms" "$(fmt "$mf" 0) ms" "$(ratio "$per" "$mf")" "-" "-"

cdnow=$REPO/../shared/data/CDNOW_sample.txt
if [[ -r $cdnow ]]; then
  echo
  echo "-- CDNOW (2,357 customers): 200 replicates"
  awk '{ sub(/\r$/, "") } NF == 5 { printf "%d\t%s-%s-%s\t%s\n", $2, substr($3, 1, 4), substr($3, 5, 2), substr($3, 7, 2), $5 }' "$cdnow" |
    bq -c "DROP TABLE IF EXISTS cdnow_tx, cdnow" -c "CREATE TABLE cdnow_tx (customer_id int, at timestamptz, amount float8)" \
       -c "\\copy cdnow_tx FROM STDIN"
  bq -c "CREATE TABLE cdnow AS SELECT customer_id, (customer_score.rfm(at, amount, '1997-09-30', '7 days')).* FROM cdnow_tx GROUP BY customer_id"
  declare -a tc=() tcf=()
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    m=$(measure "$(boot_q cdnow 200)"); tc+=("$(field "$m" 1)")
    m=$(measure "$(fit_q cdnow)"); tcf+=("$(field "$m" 1)")
    printf '  run %d: 200 replicates %8.1f ms, one fit %6.1f ms\n' "$run" "${tc[-1]}" "${tcf[-1]}"
  done
  mc=$(median "${tc[@]}") mcf=$(median "${tcf[@]}")
  met=$(awk -v a="$mc" 'BEGIN { print (a <= 1500 ? "yes" : "no") }')
  result "bootstrap 200 replicates, CDNOW" "$(fmt "$mc" 0) ms" "$(fmt "$mcf" 1) ms" "$(ratio "$mc" "$mcf")" "~1 s" "$met"
  for fit in pareto_nbd_fit mbgnbd_fit; do
    tc=() tcf=()
    for ((run = 1; run <= BENCH_RUNS; run++)); do
      m=$(measure "$(boot_q cdnow 200 "$fit")"); tc+=("$(field "$m" 1)")
      m=$(measure "$(fit_q cdnow "$fit")"); tcf+=("$(field "$m" 1)")
      printf '  run %d (%s): 200 replicates %8.1f ms, one fit %6.1f ms\n' "$run" "$fit" "${tc[-1]}" "${tcf[-1]}"
    done
    mc=$(median "${tc[@]}") mcf=$(median "${tcf[@]}")
    result "bootstrap 200 replicates, CDNOW, ${fit%_fit}" "$(fmt "$mc" 0) ms" "$(fmt "$mcf" 1) ms" "$(ratio "$mc" "$mcf")" "-" "-"
  done
fi
