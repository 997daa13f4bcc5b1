#!/usr/bin/env bash
# bench/refresh.sh — the refresh claim of issue 4: customer_score.refresh() on 1,000,000 customers
# with 10,000,000 transactions and 1,000,000 actions (target: under 60 s on 2 cores), with the
# time of each phase (from refresh's progress NOTICEs), the backend's peak memory, and as a
# baseline from the same run the plain scans refresh cannot avoid (one GROUP BY customer_id over
# each source, single process).  Then sanity checks on what the refresh stored.
# Figures only: nothing here asserts a time.
#
#   bash bench/refresh.sh
#   BENCH_TX (default 10000000)  BENCH_CUSTOMERS (1000000)  BENCH_ACTIONS (1000000)
#   BENCH_ACTIVE (150000: customers with actions)  BENCH_OPT_OUTS (1500: of the active customers)
#   BENCH_RUNS      timed refreshes, each in a fresh backend (default 3; median reported)
#   BENCH_WORK_MEM  work_mem of every session (default 256MB)
#   CS_SKIP_BUILD=1    use the extension already installed;  CS_KEEP_CLUSTER=1  keep the cluster
#   BENCH_EXPECT_DIGEST  the digest of the stored rows of an earlier run (printed as "digest of the
#                   stored rows"): the last run's rows are compared with it
#
# It builds and installs the extension, starts a throwaway cluster (scripts/cluster.sh, name
# bench-refresh) and generates the data in SQL, deterministically (setseed, one process):
#   tx (customer_id bigint, at timestamptz, amount float8), exactly BENCH_TX rows over
#     2023-01-01 .. 2024-12-31, in time order (an append-only log).  Every customer buys on a
#     first day drawn uniformly over the two years.  45 % buy once only; the others, BG/NBD-like,
#     have a purchase rate exp(1.1 z) (lognormal: a few buy very often) and stay active for an
#     exponential time (mean 400 days) after their first day; the rows beyond one per customer
#     are shared out in proportion to rate x active days (largest remainders, so the total is
#     exact), on days uniform over the active span.  Spend per customer exp(ln 35 + 0.6 z), each
#     purchase 0.4 .. 1.6 times that, in cents, at least 1.00; 30 % of rows at midnight.
#   actions (id bigint PRIMARY KEY, customer_id, sparked_by, at, value, channel, kind, topic),
#     BENCH_ACTIONS rows by BENCH_ACTIVE customers (chosen at random, repeat buyers 4x as likely;
#     activity skewed: actor rank n * u^2); ids one per 63 s over the two years (times rise with
#     ids, so sparks always point back).  Kinds: like 28 %, share 8 %, follow 6 % (web, app,
#     social), review 6 %, answer 6 %, blog_post 2 % (web, community, app), purchase 20 % (web,
#     app, store; value exp(ln 40 + 0.7 z)), signup 4 % (web, app, event), referral 2 %,
#     visit 8 % (store), attend 7 %, talk 3 % (event).  sparked_by: 90 % of reactions point to the
#     latest review/answer/blog_post/talk at or before a target drawn 150,000 * u^3 ids back
#     (mean ~27 days, ~6 % beyond the 90-day window); 30 % of content and 20 % of referrals the
#     same; 50 % of purchases, 70 % of signups and 30 % of visits/attends point to the latest
#     content, share, referral, visit, attend or talk before such a target.  Eight topics.
#   customer_score.opt_outs: BENCH_OPT_OUTS of the active customers.
# Sessions: work_mem BENCH_WORK_MEM, TimeZone UTC, the rest the cluster's (scripts/cluster.sh:
# shared_buffers 256MB, jit on, max_parallel_workers_per_gather 2, fsync off).  Of refresh's
# statements only the read of the purchase histories (rfm per customer, read_as with parallel)
# may use parallel workers (INSERT ... SELECT and temp tables are never parallel in PostgreSQL
# 15), so the baseline is measured twice: single process and with the cluster's parallel workers.
# Every timed query runs in a fresh connection that has loaded the library: wall clock in the
# server (clock_timestamp before and after the statement, its commit included), the backend's CPU
# time (user + system from /proc/<pid>/stat), the parallel workers' (the postmaster's children's
# CPU, cutime + cstime, over the statement: an autovacuum worker that ended meanwhile counts too)
# and the backend's peak memory (VmHWM from /proc/<pid>/status; shared buffers it touches count
# too; the workers' memory is their own).  The phase times are the differences between refresh's
# NOTICEs.
# Baseline: untimed warm-up, then BENCH_RUNS runs interleaved; medians reported.  On a machine
# shared with other work, wall times stretch while CPU times stay close: compare both.
set -euo pipefail

# shellcheck source=bench/standalone.sh
source "$(dirname "${BASH_SOURCE[0]}")/standalone.sh"

n_tx=${BENCH_TX:-10000000}
n_cust=${BENCH_CUSTOMERS:-1000000}
n_act=${BENCH_ACTIONS:-1000000}
n_active=${BENCH_ACTIVE:-150000}
n_opt=${BENCH_OPT_OUTS:-1500}
runs=${BENCH_RUNS:-3}
work_mem=${BENCH_WORK_MEM:-256MB}
AS_OF='2025-01-01 00:00:00+00'
t_script=$(date +%s.%N)

bench_start bench-refresh
export PGDATABASE=bench
export PGOPTIONS="-c work_mem=$work_mem -c TimeZone=UTC"

bq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== refresh on $n_cust customers, $n_tx transactions, $n_act actions =="
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); $(postgres --version)"
bq -c "CREATE EXTENSION customer_score"
echo "settings: $(bq -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings
                         WHERE name IN ('work_mem', 'hash_mem_multiplier', 'shared_buffers', 'temp_buffers', 'jit',
                                        'max_parallel_workers_per_gather', 'TimeZone', 'fsync')")"

# ---- data ------------------------------------------------------------------------------------
t0=$(date +%s.%N)
echo "generating data (fixed seed)" >&2
bq -v n_tx="$n_tx" -v n_cust="$n_cust" -v n_act="$n_act" -v n_active="$n_active" -v n_opt="$n_opt" >/dev/null <<'SQL'
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;   -- one process: random() in a fixed order
SET work_mem = '1GB';
SELECT setseed(0.42);

-- customers: first day, one-time buyer or not, last active day, purchase rate, spend
CREATE UNLOGGED TABLE gen_customer AS
SELECT c::bigint AS customer_id, f, one_time,
       least(729, f + floor(-ln(1 - u_life) * 400)::int) AS last_day, rate, spend
FROM (SELECT c, floor(random() * 730)::int AS f, random() < 0.45 AS one_time, random() AS u_life,
             exp(1.1 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS rate,
             exp(ln(35) + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS spend
      FROM generate_series(1, :n_cust) c) s;

-- purchases per customer: 1 + a share of the other n_tx - n_cust rows in proportion to
-- rate x active days (one-time buyers: none), largest remainders so the total is exact
CREATE UNLOGGED TABLE gen_alloc AS
WITH w AS (
    SELECT customer_id, f, last_day, spend,
           CASE WHEN one_time THEN 0 ELSE rate * (last_day - f + 30) END AS w
    FROM gen_customer),
q AS (SELECT *, (:n_tx - :n_cust)::float8 * w / sum(w) OVER () AS share FROM w),
r AS (SELECT *, floor(share)::bigint AS base,
             row_number() OVER (ORDER BY share - floor(share) DESC, customer_id) AS frac_rank FROM q)
SELECT customer_id, f, last_day, spend,
       (1 + base + (frac_rank <= (:n_tx - :n_cust) - sum(base) OVER ())::int)::int AS n
FROM r;

CREATE UNLOGGED TABLE tx (customer_id bigint NOT NULL, at timestamptz NOT NULL, amount float8 NOT NULL)
    WITH (autovacuum_enabled = off);
INSERT INTO tx
SELECT customer_id, at, amount
FROM (SELECT a.customer_id,
             timestamptz '2023-01-01 00:00:00+00'
                 + CASE WHEN k = 1 OR a.last_day <= a.f THEN a.f
                        ELSE a.f + 1 + floor(random() * (a.last_day - a.f))::int END * interval '1 day'
                 + CASE WHEN random() < 0.3 THEN interval '0'
                        ELSE floor(random() * 86400)::int * interval '1 second' END AS at,
             greatest(1, round((a.spend * (0.4 + 1.2 * random()))::numeric, 2))::float8 AS amount
      FROM gen_alloc a, generate_series(1, a.n) k) s
ORDER BY at, customer_id, amount;

-- actions: the active customers (repeat buyers 4x as likely), ranked; actor rank n * u^2
CREATE UNLOGGED TABLE gen_active AS
SELECT row_number() OVER (ORDER BY h, customer_id)::int AS j, customer_id
FROM (SELECT customer_id, random() * CASE WHEN one_time THEN 4 ELSE 1 END AS h FROM gen_customer) s
ORDER BY h, customer_id LIMIT :n_active;
ALTER TABLE gen_active ADD PRIMARY KEY (j);

CREATE UNLOGGED TABLE gen_action AS
SELECT id, j, kind,
       CASE WHEN kind IN ('like', 'share', 'follow') THEN (ARRAY['web', 'app', 'social'])[1 + floor(random() * 3)::int]
            WHEN kind IN ('review', 'answer', 'blog_post') THEN (ARRAY['web', 'community', 'app'])[1 + floor(random() * 3)::int]
            WHEN kind = 'purchase' THEN (ARRAY['web', 'web', 'app', 'store'])[1 + floor(random() * 4)::int]
            WHEN kind = 'signup' THEN (ARRAY['web', 'app', 'event'])[1 + floor(random() * 3)::int]
            WHEN kind = 'referral' THEN (ARRAY['web', 'email', 'store'])[1 + floor(random() * 3)::int]
            WHEN kind = 'visit' THEN 'store'
            ELSE 'event' END AS channel,
       CASE WHEN kind = 'purchase'
            THEN round(exp(ln(40) + 0.7 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 2)::float8
            ELSE 0 END AS value,
       (ARRAY['billing', 'setup', 'performance', 'pricing', 'integrations', 'mobile', 'security', 'reporting'])[1 + floor(random() * 8)::int] AS topic,
       CASE WHEN random() < CASE WHEN kind IN ('like', 'share', 'follow') THEN 0.9
                                 WHEN kind IN ('review', 'answer', 'blog_post') THEN 0.3
                                 WHEN kind = 'referral' THEN 0.2
                                 WHEN kind = 'purchase' THEN 0.5
                                 WHEN kind = 'signup' THEN 0.7
                                 WHEN kind IN ('visit', 'attend') THEN 0.3
                                 ELSE 0 END
            THEN id - 1 - floor(150000 * random() ^ 3)::bigint END AS target,
       CASE WHEN kind IN ('like', 'share', 'follow', 'review', 'answer', 'blog_post', 'referral') THEN 'content'
            ELSE 'promo' END AS spark_class
FROM (SELECT i::bigint AS id, 1 + floor(:n_active * random() ^ 2)::int AS j,
             CASE WHEN u < 0.28 THEN 'like' WHEN u < 0.36 THEN 'share' WHEN u < 0.42 THEN 'follow'
                  WHEN u < 0.48 THEN 'review' WHEN u < 0.54 THEN 'answer' WHEN u < 0.56 THEN 'blog_post'
                  WHEN u < 0.76 THEN 'purchase' WHEN u < 0.80 THEN 'signup' WHEN u < 0.82 THEN 'referral'
                  WHEN u < 0.90 THEN 'visit' WHEN u < 0.97 THEN 'attend' ELSE 'talk' END AS kind
      FROM (SELECT i, random() AS u FROM generate_series(1, :n_act) i) g) s;
CREATE UNLOGGED TABLE gen_content AS
SELECT id FROM gen_action WHERE kind IN ('review', 'answer', 'blog_post', 'talk');
ALTER TABLE gen_content ADD PRIMARY KEY (id);
CREATE UNLOGGED TABLE gen_promo AS
SELECT id FROM gen_action WHERE kind IN ('review', 'answer', 'blog_post', 'talk', 'share', 'referral', 'visit', 'attend');
ALTER TABLE gen_promo ADD PRIMARY KEY (id);

CREATE UNLOGGED TABLE actions (id bigint PRIMARY KEY, customer_id bigint NOT NULL, sparked_by bigint,
                               at timestamptz NOT NULL, value float8 NOT NULL CHECK (value >= 0),
                               channel text NOT NULL, kind text NOT NULL, topic text)
    WITH (autovacuum_enabled = off);
INSERT INTO actions
SELECT a.id, c.customer_id,
       CASE WHEN a.target IS NULL OR a.target < 1 THEN NULL
            WHEN a.spark_class = 'content' THEN (SELECT max(x.id) FROM gen_content x WHERE x.id <= a.target)
            ELSE (SELECT max(x.id) FROM gen_promo x WHERE x.id <= a.target) END,
       timestamptz '2023-01-01 00:00:00+00' + a.id * interval '63 seconds',
       a.value, a.channel, a.kind, a.topic
FROM gen_action a JOIN gen_active c USING (j)
ORDER BY a.id;

INSERT INTO customer_score.opt_outs (customer_id, reason)
SELECT customer_id, 'benchmark' FROM gen_active
WHERE j % greatest(1, :n_active / greatest(:n_opt, 1)) = 0 ORDER BY j LIMIT :n_opt;

DROP TABLE gen_customer, gen_alloc, gen_active, gen_action, gen_content, gen_promo;
VACUUM (FREEZE, ANALYZE) tx;
VACUUM (FREEZE, ANALYZE) actions;
SQL
echo "data: generated in $(elapsed "$t0") s"
bq -F ' ' <<'SQL' | sed 's/^/  /'
SELECT 'tx: ' || count(*) || ' rows, ' || count(DISTINCT customer_id) || ' customers, ' || min(at)::date || ' .. '
       || max(at)::date || ', ' || pg_size_pretty(pg_table_size('tx'))
FROM tx;
SELECT 'purchases per customer: one-time ' || round(100.0 * count(*) FILTER (WHERE n = 1) / count(*), 1)
       || ' %, median ' || percentile_disc(0.5) WITHIN GROUP (ORDER BY n) || ', p90 '
       || percentile_disc(0.9) WITHIN GROUP (ORDER BY n) || ', p99 ' || percentile_disc(0.99) WITHIN GROUP (ORDER BY n)
       || ', max ' || max(n) || '; purchase days per customer: one-day ' || round(100.0 * count(*) FILTER (WHERE d = 1) / count(*), 1) || ' %'
FROM (SELECT customer_id, count(*) AS n, count(DISTINCT at::date) AS d FROM tx GROUP BY customer_id) s;
SELECT 'actions: ' || count(*) || ' rows, ' || count(DISTINCT a.customer_id) || ' customers, ' || count(a.sparked_by)
       || ' with a spark (' || count(*) FILTER (WHERE a.at - s.at > interval '90 days') || ' beyond 90 days), '
       || pg_size_pretty(pg_table_size('actions'))
FROM actions a LEFT JOIN actions s ON s.id = a.sparked_by;
SELECT 'kinds: ' || string_agg(kind || ' ' || n, ', ' ORDER BY n DESC)
FROM (SELECT kind, count(*) AS n FROM actions GROUP BY kind) k;
SELECT 'channels: ' || string_agg(channel || ' ' || n, ', ' ORDER BY n DESC)
FROM (SELECT channel, count(*) AS n FROM actions GROUP BY channel) k;
SELECT 'customers with actions but no transactions: ' || count(*)
FROM (SELECT DISTINCT customer_id FROM actions EXCEPT SELECT customer_id FROM tx) s;
SELECT 'opt-outs: ' || count(*) FROM customer_score.opt_outs;
SQL
bq -c "SELECT customer_score.set_source('transactions', 'tx')" -c "SELECT customer_score.set_source('actions', 'actions')" >/dev/null

# ---- measuring ---------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# timed QUERY: run QUERY (one column named result) in a fresh backend that has loaded the library;
# prints the NOTICEs, then "secs S" (wall clock in the server, commit included), "cpu S" (the
# backend's user + system CPU), "wcpu S" (the CPU of the postmaster's children that exited
# meanwhile: the parallel workers, and an autovacuum worker if one ran), "hwm_before KB",
# "hwm_after KB" (VmHWM) and "result VALUE".
timed() {
  psql -X -q -At -v ON_ERROR_STOP=1 -v q="$1" 2>&1 <<'SQL' |
SET client_min_messages = notice;
SELECT customer_score.normal_cdf(0) IS NOT NULL AS loaded \gset
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
-- the previous query's backend gone, so that its CPU is not counted as this one's workers'
DO $$ BEGIN
  WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) LOOP
    PERFORM pg_sleep(0.05);
  END LOOP;
  PERFORM pg_sleep(0.2);
END $$;
\! awk '/^VmHWM/ { print "hwm_before", $2 }' /proc/$BENCH_PID/status
\! awk '{ print "cpu_before", $14 + $15 }' /proc/$BENCH_PID/stat
\! awk '{ print "wcpu_before", $16 + $17 }' /proc/$(cut -d' ' -f4 /proc/$BENCH_PID/stat)/stat
SELECT clock_timestamp() AS t0 \gset
:q \gset
SELECT 'secs ' || extract(epoch FROM clock_timestamp() - :'t0'::timestamptz);
\! awk '{ print "cpu_after", $14 + $15 }' /proc/$BENCH_PID/stat
\! awk '{ print "wcpu_after", $16 + $17 }' /proc/$(cut -d' ' -f4 /proc/$BENCH_PID/stat)/stat
\! awk '/^VmHWM/ { print "hwm_after", $2 }' /proc/$BENCH_PID/status
SELECT 'result ' || :'result';
SQL
    awk -v tck="$CLK_TCK" '$1 == "cpu_before" { c0 = $2; next } $1 == "cpu_after" { printf "cpu %.2f\n", ($2 - c0) / tck; next }
                           $1 == "wcpu_before" { w0 = $2; next } $1 == "wcpu_after" { printf "wcpu %.2f\n", ($2 - w0) / tck; next }
                           { print }'
}
get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$2"; }

# ---- baseline: the scans refresh cannot avoid --------------------------------------------------
TX_Q="SELECT count(*) || ' ' || sum(n) || ' ' || sum(s) AS result
      FROM (SELECT customer_id, count(*) AS n, sum(amount) AS s FROM tx GROUP BY customer_id) p"
ACT_Q="SELECT count(*) || ' ' || sum(n) || ' ' || sum(s) AS result
       FROM (SELECT customer_id, count(*) AS n, sum(value) AS s FROM actions GROUP BY customer_id) p"
echo
# base_runs LABEL WORKERS: the two baseline queries with max_parallel_workers_per_gather WORKERS
# (warm-up, then $runs runs interleaved); sets base_s, base_cpu (backend + workers) and prints
base_runs() {
  local label=$1 opts="$PGOPTIONS -c max_parallel_workers_per_gather=$2" i out tx_s act_s
  local b_tx=() b_act=() c_tx=() c_act=()
  echo
  echo "-- baseline, $label: one GROUP BY customer_id over each source (warm-up, then $runs runs, each in a fresh backend)"
  PGOPTIONS="$opts" timed "$TX_Q" >/dev/null
  PGOPTIONS="$opts" timed "$ACT_Q" >/dev/null
  for ((i = 1; i <= runs; i++)); do
    out=$(PGOPTIONS="$opts" timed "$TX_Q")
    b_tx+=("$(get secs "$out")") c_tx+=("$(awk -v a="$(get cpu "$out")" -v b="$(get wcpu "$out")" 'BEGIN { print a + b }')")
    out=$(PGOPTIONS="$opts" timed "$ACT_Q")
    b_act+=("$(get secs "$out")") c_act+=("$(awk -v a="$(get cpu "$out")" -v b="$(get wcpu "$out")" 'BEGIN { print a + b }')")
  done
  tx_s=$(median "${b_tx[@]}") act_s=$(median "${b_act[@]}")
  base_s=$(awk -v a="$tx_s" -v b="$act_s" 'BEGIN { printf "%.2f", a + b }')
  base_cpu=$(awk -v a="$(median "${c_tx[@]}")" -v b="$(median "${c_act[@]}")" 'BEGIN { printf "%.2f", a + b }')
  printf '  tx      count(*), sum(amount) per customer: median %6.2f s, CPU %6.2f s  (runs: %s s)\n' "$tx_s" "$(median "${c_tx[@]}")" "$(printf '%.2f ' "${b_tx[@]}" | sed 's/ $//')"
  printf '  actions count(*), sum(value) per customer:  median %6.2f s, CPU %6.2f s  (runs: %s s)\n' "$act_s" "$(median "${c_act[@]}")" "$(printf '%.2f ' "${b_act[@]}" | sed 's/ $//')"
  echo "  baseline, $label (sum of the medians): $base_s s, CPU $base_cpu s"
}
workers=$(bq -c "SHOW max_parallel_workers_per_gather")
base_runs "single process" 0
base1_s=$base_s base1_cpu=$base_cpu
base_runs "up to $workers parallel workers (CPU: the backend's and the workers')" "$workers"
basep_s=$base_s basep_cpu=$base_cpu

# ---- refresh -----------------------------------------------------------------------------------
echo
echo "-- refresh('default', '$AS_OF'), $runs run(s), each in a fresh backend"
r_secs=() r_cpu=() r_wcpu=() r_hwm=() r_growth=() run_ids=()
declare -A phase_times=()
phase_order=()
for ((i = 1; i <= runs; i++)); do
  out=$(timed "SELECT customer_score.refresh('default', '$AS_OF') AS result")
  secs=$(get secs "$out") cpu=$(get cpu "$out") wcpu=$(get wcpu "$out") run_id=$(get result "$out")
  hb=$(get hwm_before "$out") ha=$(get hwm_after "$out")
  [[ -n $secs && -n $run_id ]] || { echo "refresh failed:"; echo "$out"; exit 1; }
  r_secs+=("$secs") r_cpu+=("$cpu") r_wcpu+=("$wcpu") r_hwm+=("$ha") r_growth+=("$((ha - hb))") run_ids+=("$run_id")
  printf '  run %d (run_id %s): %.2f s, backend CPU %.2f s, parallel workers %.2f s   VmHWM %d MiB (+%d MiB over the fresh backend with the library loaded)\n' \
    "$i" "$run_id" "$secs" "$cpu" "$wcpu" $((ha / 1024)) $(((ha - hb) / 1024))
  # "NOTICE:  refresh run 7: phase (12.34 s)": the phase starts at that offset and lasts until the next one
  phases=$(sed -n 's/^.*NOTICE: *refresh run [0-9]*: \(.*\) (\([0-9.]*\) s)$/\2|\1/p' <<<"$out" |
           awk -F'|' -v total="$secs" '{ t[NR] = $1; p[NR] = $2 }
             END { for (k = 1; k <= NR; k++) {
                     d = (k < NR ? t[k + 1] : total) - t[k]
                     printf "%s|%.2f|%.2f\n", p[k], t[k], d } }')
  while IFS='|' read -r name start dur; do
    [[ -n $name ]] || continue
    label=$name
    [[ $label == done:* ]] && label="commit and return"
    printf '      %-40s at %7.2f s  %7.2f s\n' "$label" "$start" "$dur"
    [[ -n ${phase_times[$label]+x} ]] || phase_order+=("$label")
    phase_times[$label]="${phase_times[$label]:-} $dur"
  done <<<"$phases"
done
refresh_s=$(median "${r_secs[@]}")
refresh_cpu=$(median "${r_cpu[@]}")
refresh_wcpu=$(median "${r_wcpu[@]}")
hwm_max=$(printf '%s\n' "${r_hwm[@]}" | sort -n | tail -n 1)
growth_max=$(printf '%s\n' "${r_growth[@]}" | sort -n | tail -n 1)
echo "  phases, median of the runs:"
for label in "${phase_order[@]}"; do
  # shellcheck disable=SC2086
  printf '      %-40s %7.2f s\n' "$label" "$(median ${phase_times[$label]})"
done

# ---- what was stored -------------------------------------------------------------------------
last=${run_ids[-1]} first=${run_ids[0]}
echo
echo "-- checks"
checks=$(bq -F '|' -v last="$last" -v first="$first" <<'SQL'
SELECT (SELECT count(*) FROM customer_score.scores_history),
       (SELECT count(*) FROM customer_score.scores_history WHERE run_id = :last),
       (SELECT customers FROM customer_score.score_runs WHERE run_id = :last),
       (SELECT count(*) FROM (SELECT customer_id FROM tx UNION SELECT customer_id FROM actions) p),
       (SELECT count(*) FROM (SELECT customer_id FROM tx UNION SELECT customer_id FROM actions) p
        WHERE NOT EXISTS (SELECT 1 FROM customer_score.scores_history h WHERE h.run_id = :last AND h.customer_id = p.customer_id)),
       (SELECT count(*) FROM customer_score.scores_history WHERE score <> (SELECT sum(c) FROM unnest(contribution) c)),
       (SELECT count(*)
        FROM (SELECT customer_id, score, contribution FROM customer_score.scores_history WHERE run_id = :first) a
        FULL JOIN (SELECT customer_id, score, contribution FROM customer_score.scores_history WHERE run_id = :last) b
          USING (customer_id)
        WHERE a.customer_id IS NULL OR b.customer_id IS NULL
           OR a.score IS DISTINCT FROM b.score OR a.contribution IS DISTINCT FROM b.contribution);
SQL
)
IFS='|' read -r hist_rows last_rows run_customers population missing not_adding differ <<<"$checks"
all_scored=$([[ $last_rows == "$population" && $missing == 0 ]] && echo yes || echo NO)
adds_up=$([[ $not_adding == 0 ]] && echo yes || echo NO)
same=$([[ $differ == 0 ]] && echo yes || echo NO)
echo "  scores_history: $hist_rows rows in all ($runs runs), $last_rows in the last run (score_runs.customers $run_customers)"
echo "  every customer scored: $all_scored ($population customers with a transaction or an action, $missing of them without a score)"
echo "  contributions add up to the score: $adds_up ($not_adding of $hist_rows rows with score <> sum(contribution))"
echo "  first and last run give the same scores: $same ($differ customers differ)"
bq -F ' ' -v last="$last" <<'SQL' | sed 's/^/  /'
SELECT 'scores: min ' || min(score) || ', median ' || percentile_disc(0.5) WITHIN GROUP (ORDER BY score)
       || ', max ' || max(score) || '; confidence 1 for ' || count(*) FILTER (WHERE confidence = 1)
       || ' customers, below 1 for ' || count(*) FILTER (WHERE confidence < 1)
       || ' (min ' || min(confidence) || ')'
FROM customer_score.scores_history WHERE run_id = :last;
SELECT 'fitted: ' || purchase_model::text || '; ' || spend_model::text || '; transactions ' || transactions || ', actions ' || actions
FROM customer_score.score_runs WHERE run_id = :last;
SQL

# every stored value of the last run, as text, digested: the same digest means the same rows bit
# for bit (float8 text is shortest-exact, numeric text exact); BENCH_EXPECT_DIGEST compares it
digest=$(bq -v last="$last" <<'SQL'
SELECT md5(string_agg(md5(h::text), '' ORDER BY h.customer_id))
FROM (SELECT customer_id, score, confidence, raw, normalized, contribution, observed
      FROM customer_score.scores_history WHERE run_id = :last) h;
SQL
)
if [[ -n ${BENCH_EXPECT_DIGEST:-} ]]; then
  digest_same=$([[ $digest == "$BENCH_EXPECT_DIGEST" ]] && echo yes || echo NO)
  echo "  digest of the stored rows: $digest (expected $BENCH_EXPECT_DIGEST: same $digest_same)"
else
  digest_same="not compared (no BENCH_EXPECT_DIGEST)"
  echo "  digest of the stored rows: $digest"
fi

# ---- summary -----------------------------------------------------------------------------------
echo
echo "== summary =="
printf '  refresh, median of %d:   %.2f s  (runs: %s s)  target under 60 s: %s\n' "$runs" "$refresh_s" \
  "$(printf '%.2f ' "${r_secs[@]}" | sed 's/ $//')" "$(awk -v s="$refresh_s" 'BEGIN { print (s < 60 ? "met" : "NOT met") }')"
printf '  refresh CPU, median: backend %.2f s (runs: %s s), parallel workers %.2f s (runs: %s s)\n' \
  "$refresh_cpu" "$(printf '%.2f ' "${r_cpu[@]}" | sed 's/ $//')" "$refresh_wcpu" "$(printf '%.2f ' "${r_wcpu[@]}" | sed 's/ $//')"
refresh_tcpu=$(awk -v a="$refresh_cpu" -v b="$refresh_wcpu" 'BEGIN { print a + b }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
printf '  baseline single process (plain GROUP BY over tx and actions): %.2f s, CPU %.2f s; refresh / baseline = %sx (CPU %sx)\n' \
  "$base1_s" "$base1_cpu" "$(ratio "$refresh_s" "$base1_s")" "$(ratio "$refresh_tcpu" "$base1_cpu")"
printf '  baseline with %s parallel workers: %.2f s, CPU %.2f s; refresh / baseline = %sx (CPU %sx)  target <= 3x: %s\n' \
  "$workers" "$basep_s" "$basep_cpu" "$(ratio "$refresh_s" "$basep_s")" "$(ratio "$refresh_tcpu" "$basep_cpu")" \
  "$(awk -v a="$refresh_s" -v b="$base1_s" -v c="$basep_s" 'BEGIN { print (a <= 3 * c ? "met against both" : a <= 3 * b ? "met against the single-process baseline only" : "NOT met") }')"
printf '  load average when done: %s (other processes share the %d cores: compare ratios, and wall with CPU)\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
printf '  peak backend memory: VmHWM %d MiB, +%d MiB over a fresh backend with the library loaded\n' \
  $((hwm_max / 1024)) $((growth_max / 1024))
echo "  checks: every customer scored $all_scored, contributions add up $adds_up, runs agree $same, rows as expected $digest_same"
echo "  whole script: $(elapsed "$t_script") s"
echo "reproduce: bash bench/refresh.sh"
# further measurements on the same data and cluster (bench/backtest.sh sets it)
if [[ -n ${BENCH_AFTER:-} ]]; then
  # shellcheck source=/dev/null
  source "$BENCH_AFTER"
fi
