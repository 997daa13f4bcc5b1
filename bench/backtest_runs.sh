# bench/backtest_runs.sh — sourced by bench/refresh.sh (BENCH_AFTER) when bench/backtest.sh runs
# it: the data, the cluster and the helpers timed, get and median of refresh.sh are in place.
bt_runs=${BENCH_BT_RUNS:-3}
bt_as_of=${BENCH_BT_AS_OF:-2024-07-01 00:00:00+00}
bt_until=${BENCH_BT_UNTIL:-2025-01-01 00:00:00+00}
echo
echo "-- backtest('default', '$bt_as_of', '$bt_until') against refresh('default', '$bt_as_of'): $bt_runs pairs, interleaved, each in a fresh backend"
f_secs=() f_cpu=() t_secs=() t_cpu=()
for ((i = 1; i <= bt_runs; i++)); do
  out=$(timed "SELECT customer_score.refresh('default', '$bt_as_of') AS result")
  f_secs+=("$(get secs "$out")") f_cpu+=("$(get cpu "$out")")
  out=$(timed "SELECT customer_score.backtest('default', '$bt_as_of', '$bt_until') AS result")
  t_secs+=("$(get secs "$out")") t_cpu+=("$(get cpu "$out")")
  bt_id=$(get result "$out")
  [[ -n $bt_id ]] || { echo "backtest failed:"; echo "$out"; exit 1; }
  printf '  pair %d: refresh %.2f s (CPU %.2f s), backtest %s %.2f s (CPU %.2f s)\n' "$i" "${f_secs[-1]}" "${f_cpu[-1]}" \
    "$bt_id" "${t_secs[-1]}" "${t_cpu[-1]}"
  # the backtest's phases after its refresh: outcomes, copy, delete
  sed -n 's/^.*NOTICE: *refresh run [0-9]*: \(backtest.*\) (\([0-9.]*\) s)$/      at \2 s: \1/p' <<<"$out"
done
f_med=$(median "${f_secs[@]}") t_med=$(median "${t_secs[@]}")
fc_med=$(median "${f_cpu[@]}") tc_med=$(median "${t_cpu[@]}")
echo "  backtest_metrics of the last backtest:"
bq -F ' ' -c "SELECT subject, metric, round(value::numeric, 4), customers FROM customer_score.backtest_metrics
               WHERE backtest_id = $bt_id AND metric <> 'spearman'" | sed 's/^/    /'
out=$(timed "SELECT count(*) AS result FROM customer_score.backtest_metrics WHERE backtest_id = $bt_id")
echo "  reading backtest_metrics of one backtest: $(get secs "$out") s"
echo "  live runs untouched: $(bq -c "SELECT count(*) FROM customer_score.score_runs WHERE as_of = '$bt_as_of'") refresh runs as of $bt_as_of (the $bt_runs refreshes), backtests $(bq -c "SELECT count(*) FROM customer_score.backtests")"
echo
echo "== backtest summary =="
printf '  refresh median %.2f s (CPU %.2f s); backtest median %.2f s (CPU %.2f s)\n' "$f_med" "$fc_med" "$t_med" "$tc_med"
printf '  backtest / refresh = %.2fx (CPU %.2fx); target at most 1.5x: %s\n' \
  "$(awk -v a="$t_med" -v b="$f_med" 'BEGIN { print a / b }')" "$(awk -v a="$tc_med" -v b="$fc_med" 'BEGIN { print a / b }')" \
  "$(awk -v a="$t_med" -v b="$f_med" 'BEGIN { print (a <= 1.5 * b ? "met" : "NOT met") }')"
echo "reproduce: bash bench/backtest.sh"
