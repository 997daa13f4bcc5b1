#!/usr/bin/env bash
# Claim: a change to prediction_intervals makes 200 CDNOW replicates so much cheaper, measured as
# the backend's CPU time (user + system, from /proc/self/stat: what the call costs, not what a
# loaded machine's scheduler adds) and wall time, for two builds of customer_score.so in one run,
# alternately, so load drifts hit both alike.
#
#   BENCH_LIB       the customer_score.so the server loads (replaced by each build in turn, by mv)
#   BENCH_BUILDS    "label=path label=path": the builds to compare (default: none; say which)
#   BENCH_RUNS      runs per build and model (default 3); BENCH_FITS the purchase fits timed
#   PG*             a database with the extension and the table cdnow that bench/bootstrap.sh
#                   makes (CS_KEEP_CLUSTER=1 bash bench/run --quick bootstrap leaves one)
#
# Each run: a fresh session fits the purchase model and Gamma-Gamma on cdnow, then times
# prediction_intervals(..., 52, replicates 200, seed 1, discount_rate 0.0074, step 4) as
# bench/bootstrap.sh calls it, and prints the sums of the interval widths (equal sums: the same
# intervals). The server's copy is put back to the last build given.
set -euo pipefail
: "${BENCH_LIB:?the customer_score.so the server loads}" "${BENCH_BUILDS:?label=path label=path}"
runs=${BENCH_RUNS:-3}
tck=$(getconf CLK_TCK)
cpu="(string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))"
for fit in ${BENCH_FITS:-bgnbd_fit pareto_nbd_fit mbgnbd_fit}; do
  for ((i = 1; i <= runs; i++)); do
    for build in $BENCH_BUILDS; do
      cp "${build#*=}" "$BENCH_LIB.tmp" && mv "$BENCH_LIB.tmp" "$BENCH_LIB"
      out=$(psql -X -At -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE m AS SELECT customer_score.$fit(frequency, recency, t) AS bg,
       customer_score.gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS gg FROM cdnow;
SELECT 'before ' || (${cpu}[12]::bigint + ${cpu}[13]::bigint);
\\timing on
SELECT 'widths ' || count(*) || ' ' || sum(purchases_upper - purchases_lower) || ' ' || sum(clv_upper - clv_lower)
FROM m, customer_score.prediction_intervals(bg, gg, 'SELECT customer_id, frequency, recency, t, monetary FROM cdnow', 52,
       replicates => 200, seed => 1, discount_rate => 0.0074, step => 4);
\\timing off
SELECT 'after ' || (${cpu}[12]::bigint + ${cpu}[13]::bigint);
SQL
)
      b=$(sed -n 's/^before //p' <<<"$out") a=$(sed -n 's/^after //p' <<<"$out")
      printf '%-15s run %d %-6s cpu %6d ms  wall %9s ms  widths %s\n' "$fit" "$i" "${build%%=*}" \
        $(((a - b) * 1000 / tck)) "$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")" "$(sed -n 's/^widths //p' <<<"$out")"
    done
  done
done
