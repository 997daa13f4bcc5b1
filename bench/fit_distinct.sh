#!/usr/bin/env bash
# The fits' worst case: one million customers whose purchase times are continuous, so every
# customer is a distinct history (issue: at most 2 s for bgnbd_fit).  The synthetic customers of
# fit_synthetic.sh (true BG/NBD r=0.25, alpha=4, a=0.8, b=2.5), each purchase moved to a moment
# of its day (a fixed fraction per customer, from a hash of its id, so every run sees the same
# data).  Timed: bgnbd_fit as it runs (the starts on a coarse copy, then the exact likelihood
# from its optimum: customer_score.fit_warm_start), the same fit with every start on the full
# data (fit_warm_start off, the exact multi-start, timed once), the whole-day fit of the same
# customers, the two halves of the continuous fit apart (building the state: the transition
# functions alone, bench.bgnbd_state_only; the fit alone on a stored state, bgnbd_fit(state)),
# and avg(t) over the same table as the baseline.  Printed: the parameters of both
# continuous fits and their largest relative difference.
#
#   bench/run fit_distinct    (or bash bench/fit_distinct.sh with PG* set)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init
echo "== distinct histories: bgnbd_fit on ${BENCH_SYNTH:-1000000} customers with continuous times =="
print_settings
ensure_synth
bq <<'SQL'
DROP TABLE IF EXISTS synth_continuous;
CREATE UNLOGGED TABLE synth_continuous WITH (autovacuum_enabled = off) AS
SELECT customer_id, frequency,
       CASE WHEN frequency = 0 THEN 0 ELSE (recency_days + j) / 7 END AS recency, (t_days + j) / 7 AS t,
       recency AS recency_days_w, t AS t_days_w
FROM (SELECT *, ((customer_id::bigint * 2654435761) % 1000003) / 1000003.0 AS j FROM synth) s;
VACUUM (FREEZE, ANALYZE) synth_continuous;
DROP TABLE IF EXISTS synth_continuous_state;
CREATE UNLOGGED TABLE synth_continuous_state AS
SELECT customer_score.bgnbd_partial(frequency, recency, t) AS state FROM synth_continuous;
SQL
echo "distinct histories: $(bq -c "SELECT count(*) FROM (SELECT DISTINCT frequency, recency, t FROM synth_continuous) d") continuous," \
     "$(bq -c "SELECT count(*) FROM (SELECT DISTINCT frequency, recency, t FROM synth) d") on whole days"

WARM_Q="SELECT customer_score.bgnbd_fit(frequency, recency, t) FROM synth_continuous, (SELECT set_config('customer_score.fit_warm_start', 'on', true)) s"
EXACT_Q="SELECT customer_score.bgnbd_fit(frequency, recency, t) FROM synth_continuous, (SELECT set_config('customer_score.fit_warm_start', 'off', true)) s"
DAYS_Q="SELECT customer_score.bgnbd_fit(frequency, recency_days_w, t_days_w) FROM synth_continuous"
BASE_Q="SELECT avg(t) FROM synth_continuous"
STORED_Q="SELECT customer_score.bgnbd_fit(state) FROM synth_continuous_state"
BUILD_Q="SELECT pg_column_size(bench.bgnbd_state_only(frequency, recency, t)) FROM synth_continuous"

echo
echo "-- the two continuous fits"
bq -F ' ' <<SQL | awk '{ printf "  %-6s warm start %.9g  exact %.9g  (%.2g relative)\n", $1, $2, $3, $4 }'
WITH w AS (SELECT customer_score.params(($WARM_Q)) AS j), e AS (SELECT customer_score.params(($EXACT_Q)) AS j)
SELECT k, (w.j ->> k)::float8, (e.j ->> k)::float8, abs((w.j ->> k)::float8 / (e.j ->> k)::float8 - 1)
FROM w, e, unnest(ARRAY['r', 'alpha', 'a', 'b', 'log_likelihood']) k;
SQL

echo
echo "-- timed: $BENCH_RUNS runs each of the warm-start fit, whole days, avg(t), the stored state's fit and building the state, interleaved; the exact fit once"
stats=$(bq -F ' ' -v warm="$WARM_Q" -v days="$DAYS_Q" -v base="$BASE_Q" -v stored="$STORED_Q" -v build="$BUILD_Q" -v runs="$BENCH_RUNS" <<'SQL'
SELECT query, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms), min(ms), max(ms)
  FROM bench.time_interleaved(ARRAY[:'warm', :'days', :'base', :'stored', :'build'], :runs, 1)
 GROUP BY query ORDER BY query;
SQL
)
exact=$(bq -F ' ' -v exact="$EXACT_Q" <<'SQL'
SELECT 6, ms, ms, ms FROM bench.time_interleaved(ARRAY[:'exact'], 1, 0);
SQL
)
line() { awk -v q="$1" '$1 == q { print $2, $3, $4 }' <<<"$stats"$'\n'"$exact"; }
warm=$(line 1) days=$(line 2) base=$(line 3) stored=$(line 4) build=$(line 5) ex=$(line 6)
# shellcheck disable=SC2086  # each variable is "median min max"
printf '  %-34s median %9.1f ms  min %9.1f  max %9.1f\n' \
  "bgnbd_fit, continuous (warm start)" $warm "bgnbd_fit, continuous (exact)" $ex \
  "bgnbd_fit, whole days" $days "bgnbd_fit(state), stored state" $stored \
  "building the state alone" $build "avg(t) baseline" $base
warm_ms=$(field "$warm" 1) base_ms=$(field "$base" 1)
met=$(awk -v m="$warm_ms" 'BEGIN { print (m <= 2000 ? "yes" : "no") }')
echo "  continuous: $(fmt "$warm_ms" 0) ms (target <= 2000 ms: $met), $(ratio "$(field "$ex" 1)" "$warm_ms") x faster than every start on the full data; $(ratio "$warm_ms" "$base_ms") x avg(t)"
n=$(awk -v n="${BENCH_SYNTH:-1000000}" 'BEGIN { printf "%.3gM", n / 1e6 }')
result "bgnbd_fit $n continuous times (all distinct)" "$(fmt "$warm_ms" 0) ms" "$(fmt "$base_ms" 0) ms" "$(ratio "$warm_ms" "$base_ms")" "<= 2000 ms" "$met"
