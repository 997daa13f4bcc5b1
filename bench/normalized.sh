#!/usr/bin/env bash
# Claim (issue 16): normalized(...) OVER () keeps its memory within work_mem, and costs close to
# the built-in percent_rank() OVER (ORDER BY v) it replaces, in memory and on disk.
#
#   bench/run normalized      (or, with PG* pointing at a database with the extension: bash bench/normalized.sh)
#   BENCH_NORM_ROWS    values normalised (default 4000000)
#   BENCH_NORM_SMALL   the work_mem of the on-disk runs (default 4MB; the other runs use lib.sh's 1GB)
#   BENCH_RUNS         runs of each query, interleaved (median reported)
#
# The table bench.norm_values holds BENCH_NORM_ROWS random values (setseed), every 13th NULL.
# Queries, each consuming every row inside the server (max over the window's output), timed by
# EXPLAIN ANALYZE in a fresh connection with the backend's peak memory (bench/lib.sh measure):
#   percentile   normalized(v, 'percentile') OVER ()
#   baseline     percent_rank() OVER (ORDER BY v) over the non-NULL values (the same numbers)
#   six          six normalisations, as a refresh of six components runs them: three percentiles,
#                zscore, log and minmax
# at work_mem 1GB (in memory) and BENCH_NORM_SMALL (on disk).  The values of the six are compared
# between the two settings (a digest of every row's six doubles): they must be the same.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init

rows=${BENCH_NORM_ROWS:-4000000}
small=${BENCH_NORM_SMALL:-4MB}

echo "== normalized: ${rows} values, in memory (work_mem $BENCH_WORK_MEM) and on disk (work_mem $small) =="
print_settings
if [[ $(bq -c "SELECT count(*) FROM pg_class WHERE oid = to_regclass('bench.norm_values')") == 0 ||
      $(bq -c "SELECT count(*) FROM bench.norm_values") != "$rows" ]]; then
  bq -c "DROP TABLE IF EXISTS bench.norm_values" \
     -c "SELECT setseed(0.16)" \
     -c "CREATE TABLE bench.norm_values AS
         SELECT g AS id, CASE WHEN g % 13 = 0 THEN NULL ELSE round((random() * 100000)::numeric, 2)::float8 END AS v
         FROM generate_series(1, $rows) g" \
     -c "VACUUM ANALYZE bench.norm_values" >/dev/null
fi

SIX="customer_score.normalized(v, 'percentile') OVER (), customer_score.normalized(v * 2, 'percentile') OVER (),
     customer_score.normalized(v + 1, 'percentile') OVER (), customer_score.normalized(v, 'zscore') OVER (),
     customer_score.normalized(v, 'log') OVER (), customer_score.normalized(v, 'minmax') OVER ()"
declare -A Q=(
  [percentile]="SELECT max(n) FROM (SELECT customer_score.normalized(v, 'percentile') OVER () AS n FROM bench.norm_values) x"
  [baseline]="SELECT max(n) FROM (SELECT percent_rank() OVER (ORDER BY v) AS n FROM bench.norm_values WHERE v IS NOT NULL) x"
  [six]="SELECT max(n) FROM (SELECT greatest($SIX) AS n FROM bench.norm_values) x"
)
digest_q="SELECT md5(string_agg(n::text, ',' ORDER BY id)) FROM (SELECT id, ARRAY[$SIX] AS n FROM bench.norm_values) x"

echo
echo "-- agreement (untimed): the six normalisations' every value, in memory and on disk"
d_mem=$(bq -c "$digest_q")
d_disk=$(PGOPTIONS="$PGOPTIONS -c work_mem=$small" bq -c "$digest_q")
echo "  digest in memory: $d_mem   on disk: $d_disk   identical: $([[ $d_mem == "$d_disk" ]] && echo yes || echo NO)"

echo
echo "-- timed runs (fresh connection each; ms = Execution Time; peak = VmHWM increase)"
declare -A ms=() peak=()
for ((run = 1; run <= BENCH_RUNS; run++)); do
  for mem in "$BENCH_WORK_MEM" "$small"; do
    for q in percentile baseline six; do
      m=$(PGOPTIONS="$PGOPTIONS -c work_mem=$mem" measure "${Q[$q]}" "SELECT count(*) FROM bench.norm_values")
      ms[$mem/$q]+="$(field "$m" 1) "
      peak[$mem/$q]+="$(($(field "$m" 6) - $(field "$m" 5))) "
      printf '  run %d work_mem %-6s %-11s %10.1f ms  peak +%s MiB\n' "$run" "$mem" "$q" "$(field "$m" 1)" \
        "$(kb_to_mib $(($(field "$m" 6) - $(field "$m" 5))))"
    done
  done
done

echo
echo "== summary (medians) =="
for mem in "$BENCH_WORK_MEM" "$small"; do
  # shellcheck disable=SC2086  # the lists are space-separated numbers
  p=$(median ${ms[$mem/percentile]}) b=$(median ${ms[$mem/baseline]}) s=$(median ${ms[$mem/six]})
  # shellcheck disable=SC2086
  printf '  work_mem %-6s percentile %8.1f ms, percent_rank() %8.1f ms: %s x; six normalisations %8.1f ms, peak +%s MiB\n' \
    "$mem" "$p" "$b" "$(ratio "$p" "$b")" "$s" "$(kb_to_mib "$(median ${peak[$mem/six]})")"
done
same=$([[ $d_mem == "$d_disk" ]] && echo yes || echo NO)
echo "  the same values in memory and on disk: $same"
for mem in "$BENCH_WORK_MEM" "$small"; do
  # shellcheck disable=SC2086
  p=$(median ${ms[$mem/percentile]}) b=$(median ${ms[$mem/baseline]})
  result "normalized percentile vs percent_rank(), work_mem $mem" "$(fmt "$p" 0) ms" "$(fmt "$b" 0) ms" "$(ratio "$p" "$b")" "-" "-"
done
# shellcheck disable=SC2086
result "six normalisations' peak, work_mem $small vs $BENCH_WORK_MEM (same values: $same)" \
  "$(kb_to_mib "$(median ${peak[$small/six]})") MiB" "$(kb_to_mib "$(median ${peak[$BENCH_WORK_MEM/six]})") MiB" \
  "$(ratio "$(median ${peak[$small/six]})" "$(median ${peak[$BENCH_WORK_MEM/six]})")" "-" "-"
