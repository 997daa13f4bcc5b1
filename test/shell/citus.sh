#!/usr/bin/env bash
# On a Citus cluster the lifetime-value core gives exactly the single-node figures: a coordinator
# and two workers (shared_preload_libraries = citus) on free loopback ports, CDNOW's transactions
# distributed by customer in 32 shards, and rfm by customer, bgnbd_fit, gamma_gamma_fit and stored
# states (partial, merge) compared as text with the same queries over a local copy of the table
# on the coordinator; rfm with a time_zone whatever the nodes' TimeZone; set_source and refresh
# on distributed transactions and actions, on a distributed table partitioned by time and on views
# over them, every stored score equal to a single-node refresh; live scores refused on distributed
# tables (tracking, and a trigger Citus copies onto the shards);
# score_changes over scores_history distributed by customer, equal to single node; distribute_tables()
# and undistribute_tables(): refresh, the views and a backtest equal to single node both ways. Skipped (a TAP `1..0 # SKIP`) when Citus is not installed in the
# PostgreSQL the tests use.
set -u
source "$REPO/test/lib/tap.sh"
source "$REPO/scripts/cluster.sh"         # helpers only: _cs_make_dir, _cs_free_port, _cs_as_owner
source "$REPO/scripts/citus-cluster.sh"   # citus_installed, citus_node_start, citus_nodes_stop

if ! citus_installed; then
  echo "1..0 # SKIP Citus is not installed (citus.control not found in $("$CS_PGBIN/pg_config" --sharedir)/extension)"
  exit 0
fi
data=$(shared_data_dir) || { echo "1..0 # SKIP the shared data directory (CDNOW) is not there"; exit 0; }

# ---- three servers on free loopback ports -----------------------------------------------------
trap citus_nodes_stop EXIT
started=$(date +%s)
ports=() ok=t
for name in coordinator worker1 worker2; do
  if citus_node_start "citus-$name"; then ports+=("$CITUS_NODE_PORT"); else ok=f; fi
done
check "a coordinator and two workers start with shared_preload_libraries = citus" "t" "$ok"
[[ $ok == t ]] || { echo "1..$_tap_n"; exit 1; }
coord=${ports[0]}
export PGHOST=127.0.0.1 PGUSER=postgres
on() { local port=$1; shift; PGPORT=$port q -d cs_citus "$@"; }   # on PORT psql-args...
cq() { on "$coord" "$@"; }

for port in "${ports[@]}"; do
  PGPORT=$port q -d postgres -c "CREATE DATABASE cs_citus" >/dev/null
  on "$port" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" >/dev/null
done
setup=$(cq -c "SET client_min_messages = warning" \
           -c "SELECT citus_set_coordinator_host('127.0.0.1', $coord)" \
           -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
           -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" \
           -c "CREATE EXTENSION customer_score" -c "SELECT count(*) FROM citus_get_active_worker_nodes()" | tail -n 1)
check "Citus $(cq -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'") has two active workers and customer_score" "2" "$setup"
check "customer_score is installed on both workers" "t
t" "$(for p in "${ports[@]:1}"; do on "$p" -c "SELECT count(*) = 1 FROM pg_extension WHERE extname = 'customer_score'"; done)"

# ---- CDNOW, read in place from ../shared/data: a local copy and a distributed one ----------
PGPORT=$coord SHARED_DATA=$data bash "$REPO/test/load-fixtures.sh" cs_citus >/dev/null 2>&1
check "the CDNOW sample is loaded on the coordinator" "6919" "$(cq -c "SELECT count(*) FROM fixture.cdnow_sample")"
cq >/dev/null <<'SQL'
SET client_min_messages = warning;
SET citus.shard_count = 32;
CREATE TABLE local_tx AS SELECT customer_id::bigint AS customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample;
CREATE TABLE dist_tx (customer_id bigint, at timestamptz, amount float8);
SELECT create_distributed_table('dist_tx', 'customer_id');
INSERT INTO dist_tx SELECT * FROM local_tx;
SQL
check "transactions are distributed by customer in 32 shards over both workers" "32 2 6919" \
  "$(cq -F ' ' -c "SELECT count(*), count(DISTINCT nodeport), (SELECT count(*) FROM dist_tx) FROM citus_shards WHERE table_name = 'dist_tx'::regclass")"

# ---- rfm by customer --------------------------------------------------------------------------
# summary_text: an rfm_summary r as text, with first_at and last_at as epoch seconds so the text
# does not depend on the TimeZone of the node that renders it (on Citus, a worker)
summary_text="concat_ws(' ', (r).frequency, (r).recency, (r).t, (r).monetary, (r).total, (r).purchases,
  extract(epoch FROM (r).first_at), extract(epoch FROM (r).last_at))"
# summaries TABLE [SETTING]: every customer's rfm summary, one line each in customer order
summaries() {
  cq -c "SET search_path = customer_score, public" ${2:+-c "$2"} -c "SELECT string_agg(customer_id || ' ' || $summary_text, E'\n' ORDER BY customer_id)
    FROM (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r FROM $1 GROUP BY customer_id) s"
}
single=$(summaries local_tx)
check "rfm by customer is pushed down to the 32 shards" "t" \
  "$(cq -c "SET search_path = customer_score, public" -c "EXPLAIN SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') FROM dist_tx GROUP BY customer_id" | grep -q 'Task Count: 32' && echo t || echo f)"
distributed=$(summaries dist_tx)
check "rfm by customer on Citus equals single node ($(wc -l <<<"$single") customers)" "$(md5sum <<<"$single")" "$(md5sum <<<"$distributed")"

# ---- the fits over the summaries ----------------------------------------------------------------
cq >/dev/null <<'SQL'
SET client_min_messages = warning;
SET search_path = customer_score, public;
SET citus.shard_count = 32;
CREATE TABLE local_history AS
SELECT customer_id, (r).* FROM (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r
                                FROM local_tx GROUP BY customer_id) s;
CREATE TABLE dist_history (LIKE local_history);
SELECT create_distributed_table('dist_history', 'customer_id', colocate_with => 'dist_tx');
INSERT INTO dist_history SELECT customer_id, (r).* FROM (SELECT customer_id, rfm(at, amount, '1997-09-30', '7 days') AS r
                                                         FROM dist_tx GROUP BY customer_id) s;
SQL
fits() { cq -c "SET search_path = customer_score, public" -c "SELECT bgnbd_fit(frequency, recency, t) FROM $1" -c "SELECT gamma_gamma_fit(frequency, monetary) FROM $1"; }
single=$(fits local_history)
distributed=$(fits dist_history)
check "bgnbd_fit on Citus equals single node" "$(sed -n 1p <<<"$single")" "$(sed -n 1p <<<"$distributed")"
check "gamma_gamma_fit on Citus equals single node" "$(sed -n 2p <<<"$single")" "$(sed -n 2p <<<"$distributed")"
echo "# single node and Citus: $(cq -c "SET search_path = customer_score, public" -c "SELECT format('r %s alpha %s a %s b %s', round((p->>'r')::numeric, 4), round((p->>'alpha')::numeric, 4), round((p->>'a')::numeric, 4), round((p->>'b')::numeric, 4)) FROM (SELECT params(bgnbd_fit(frequency, recency, t)) AS p FROM dist_history) s")"
check "the fit is a worker_partial_agg / coord_combine_agg plan" "t" \
  "$(cq -c "SET search_path = customer_score, public" -c "EXPLAIN VERBOSE SELECT bgnbd_fit(frequency, recency, t) FROM dist_history" | grep -q 'worker_partial_agg' && echo t || echo f)"

# ---- stored states: partial per segment, merged later ---------------------------------------
cq >/dev/null <<'SQL'
SET client_min_messages = warning;
SET search_path = customer_score, public;
CREATE TABLE dist_fit_states AS
SELECT customer_id % 4 AS segment, bgnbd_partial(frequency, recency, t) AS purchases,
       gamma_gamma_partial(frequency, monetary) AS spend
FROM dist_history GROUP BY 1;
CREATE TABLE dist_rfm_states (half int, customer_id bigint, state rfm_state);
SELECT create_distributed_table('dist_rfm_states', 'customer_id', colocate_with => 'dist_tx');
INSERT INTO dist_rfm_states
SELECT (at >= '1997-07-01')::int, customer_id, rfm_partial(at, amount, '1997-09-30', '7 days') FROM dist_tx GROUP BY 1, 2;
SQL
check "bgnbd_fit(bgnbd_merge(stored states)) on Citus equals the single-node one-pass fit" "$(sed -n 1p <<<"$single")" \
  "$(cq -c "SET search_path = customer_score, public" -c "SELECT bgnbd_fit(bgnbd_merge(purchases)) FROM dist_fit_states")"
check "gamma_gamma_fit(gamma_gamma_merge(stored states)) on Citus equals the single-node one-pass fit" "$(sed -n 2p <<<"$single")" \
  "$(cq -c "SET search_path = customer_score, public" -c "SELECT gamma_gamma_fit(gamma_gamma_merge(spend)) FROM dist_fit_states")"
merged=$(cq -c "SET search_path = customer_score, public" -c "SELECT string_agg(customer_id || ' ' || $summary_text, E'\n' ORDER BY customer_id)
  FROM (SELECT customer_id, rfm(rfm_merge(state)) AS r FROM dist_rfm_states GROUP BY customer_id) s")
check "rfm(rfm_merge(stored states per half-year)) on Citus equals single-node rfm" "$(md5sum <<<"$(summaries local_tx)")" "$(md5sum <<<"$merged")"

# ---- the calendar ----------------------------------------------------------------------------
# Citus does not pass the session's TimeZone to the workers: rfm without a time_zone counts days
# in each worker's own zone. With the time_zone argument the calendar is the call's.
la="SET TimeZone = 'America/Los_Angeles'"
single=$(summaries local_tx "$la")
distributed=$(summaries dist_tx "$la")
differing=$(paste -d '|' <(echo "$single") <(echo "$distributed") | awk -F '|' '$1 != $2' | wc -l)
echo "# with $la on the coordinator, rfm without time_zone: $differing of $(wc -l <<<"$single") summaries differ from single node"
paste -d '|' <(echo "$single") <(echo "$distributed") | awk -F '|' '$1 != $2 { print "#   single node: " $1; print "#   Citus:       " $2; exit }'
# zoned TABLE [SETTING]: the summaries of rfm(..., time_zone => 'America/Los_Angeles')
zoned() {
  cq -c "SET search_path = customer_score, public" ${2:+-c "$2"} -c "SELECT string_agg(customer_id || ' ' || $summary_text, E'\n' ORDER BY customer_id)
    FROM (SELECT customer_id, rfm(at, amount, '1997-09-30 00:00-07', '7 days', 'America/Los_Angeles') AS r FROM $1 GROUP BY customer_id) s"
}
check "rfm(..., 'America/Los_Angeles') on Citus equals single node under SET TimeZone = 'America/Los_Angeles'" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$(zoned dist_tx "$la")")"
check "rfm(..., 'America/Los_Angeles') on Citus is the same whatever the coordinator's TimeZone" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$(zoned dist_tx "SET TimeZone = 'Asia/Tokyo'")")"

# Workers whose default zones differ build states on different calendars: merging them is an
# error that names both zones, not a silent mix.
# (Citus refuses ALTER DATABASE on a worker; ALTER SYSTEM is the worker's own default.)
worker_zone() {   # worker_zone ZONE: worker 1's default TimeZone, waited for until new sessions see it
  on "${ports[1]}" -c "ALTER SYSTEM SET TimeZone = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [[ $(on "${ports[1]}" -c "SHOW TimeZone") == "$1" ]] && return
    sleep 0.2
  done
}
worker_zone Asia/Tokyo
check "worker 1 runs in Asia/Tokyo, worker 2 in UTC" "Asia/Tokyo UTC" \
  "$(cq -c "SELECT string_agg(result, ' ' ORDER BY nodeport) FROM run_command_on_workers('SHOW TimeZone')")"
mixed=$(cq -c "SET search_path = customer_score, public" -c "SELECT rfm(rfm_merge(state)) IS NULL FROM (SELECT rfm_partial(at, amount, '1997-09-30', '7 days') AS state FROM dist_tx) s" 2>&1)
check "states built by workers in UTC and Asia/Tokyo do not merge: the error names both zones" "t" \
  "$(grep -q 'cannot merge rfm states of different time zones: "\(UTC\|Asia/Tokyo\)" and "\(UTC\|Asia/Tokyo\)"' <<<"$mixed" && echo t || echo "f: $mixed")"
check "... and rfm with time_zone gives the single-node summaries on those workers" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$(zoned dist_tx)")"
# rfm_holdout takes the same time_zone, and its states record the zone too
holdout_text="concat_ws(' ', (h).frequency, (h).recency, (h).t, (h).monetary, (h).total, (h).purchases,
  extract(epoch FROM (h).first_at), extract(epoch FROM (h).last_at), (h).holdout_frequency, (h).holdout_spend, (h).holdout_t)"
holdouts() {   # holdouts TABLE [SETTING]: rfm_holdout(..., 'America/Los_Angeles') per customer, one line each
  cq -c "SET search_path = customer_score, public" ${2:+-c "$2"} -c "SELECT string_agg(customer_id || ' ' || $holdout_text, E'\n' ORDER BY customer_id)
    FROM (SELECT customer_id, rfm_holdout(at, amount, '1997-09-30 00:00-07', '1998-06-30 00:00-07', '7 days', 'America/Los_Angeles') AS h
          FROM $1 GROUP BY customer_id) s"
}
check "rfm_holdout(..., 'America/Los_Angeles') on those workers equals single node under SET TimeZone = 'America/Los_Angeles'" \
  "$(md5sum <<<"$(holdouts local_tx "$la")")" "$(md5sum <<<"$(holdouts dist_tx)")"
mixed=$(cq -c "SET search_path = customer_score, public" -c "SELECT rfm_holdout(rfm_holdout_merge(state)) IS NULL FROM (SELECT rfm_holdout_partial(at, amount, '1997-09-30', '1998-06-30', '7 days') AS state FROM dist_tx) s" 2>&1)
check "rfm_holdout states built by workers in UTC and Asia/Tokyo do not merge: the error names both zones" "t" \
  "$(grep -q 'cannot merge rfm_holdout states of different time zones: "\(UTC\|Asia/Tokyo\)" and "\(UTC\|Asia/Tokyo\)"' <<<"$mixed" && echo t || echo "f: $mixed")"
worker_zone UTC

# ---- refresh on distributed sources -------------------------------------------------------------
# A transactions and an actions source on tables distributed by customer (co-located), an
# opt-out, and refresh: every stored score and component equals a refresh of local copies on the
# coordinator alone, whatever the session's zone (the sources' calendar is UTC, fixed when set).
cq >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE local_actions AS
SELECT g::bigint AS id, (g * 7 % 2357 + 1)::bigint AS customer_id, NULL::bigint AS sparked_by,
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' AS at, 0::float8 AS value,
       'community'::text AS channel, (ARRAY['review', 'answer', 'blog_post', 'like'])[1 + g % 4] AS kind
FROM generate_series(1, 300) g
UNION ALL
SELECT 1000 + g, g * 13 % 785 + 1, 1 + (g % 300),
       '1997-02-01'::timestamptz + (g % 150) * interval '1 day' + (g % 20) * interval '1 day',
       (g % 5) * 12.5, (ARRAY['web', 'store', 'event'])[1 + g % 3], (ARRAY['purchase', 'signup', 'like', 'comment'])[1 + g % 4]
FROM generate_series(1, 2000) g;
CREATE TABLE dist_actions (LIKE local_actions);
SELECT create_distributed_table('dist_actions', 'customer_id', colocate_with => 'dist_tx');
INSERT INTO dist_actions SELECT * FROM local_actions;
INSERT INTO customer_score.opt_outs (customer_id) SELECT DISTINCT customer_id FROM local_actions WHERE customer_id % 10 = 3;
INSERT INTO customer_score.opt_outs (customer_key) VALUES ('17');
SQL
check "actions are distributed co-located with the transactions, and 99 opt-outs" "32 2300 99" \
  "$(cq -F ' ' -c "SELECT count(*), (SELECT count(*) FROM dist_actions), (SELECT count(*) FROM customer_score.opt_outs)
                   FROM citus_shards WHERE table_name = 'dist_actions'::regclass")"
# stored TIMEZONE: every row of scores and score_explanation of the latest default run, as text
stored() {
  cq -c "SET search_path = customer_score, public" -c "SET TimeZone = '$1'" \
     -c "SELECT string_agg(concat_ws(' ', customer_id, score, confidence, tier), E'\n' ORDER BY customer_id) FROM scores WHERE model = 'default'" \
     -c "SELECT string_agg(concat_ws(' ', customer_id, component, raw_value, normalized, contribution, observed), E'\n' ORDER BY customer_id, position)
         FROM score_explanation WHERE model = 'default'"
}
# refresh_on TABLES TIMEZONE: set the sources (in UTC), refresh as of 1997-09-30 UTC in TIMEZONE; seconds
refresh_on() {
  cq -c "SET search_path = customer_score, public" -c "SET client_min_messages = warning" \
     -c "SELECT set_source('transactions', '$1_tx', '', 'UTC'), set_source('actions', '$1_actions', '', 'UTC')" \
     -c "SET TimeZone = '$2'" -c "\\timing on" -c "SELECT refresh('default', '1997-09-30 00:00+00') IS NOT NULL" 2>&1 |
    awk '/^Time:/ { printf "%.2f", $2 / 1000 } /ERROR|WARNING/ { print }'
}
t_single=$(refresh_on local UTC)
single=$(stored UTC)
check "refresh on the coordinator's local tables scores the 2357 CDNOW customers" "2357" \
  "$(cq -c "SELECT count(*) FROM customer_score.scores WHERE model = 'default'")"
t_citus=$(refresh_on dist America/Los_Angeles)
[[ $t_citus =~ ^[0-9.]+$ ]] || echo "# refresh on Citus: $t_citus" | head -n 5
check "refresh with transactions and actions sources distributed in 32 shards runs" "2" \
  "$(cq -c "SELECT count(*) FROM customer_score.score_runs WHERE model = 'default' AND status = 'done'")"
distributed=$(stored UTC)
check "... and stores every score and component equal to the single-node refresh (session in America/Los_Angeles)" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$distributed")"
paste -d '|' <(echo "$single") <(echo "$distributed") | awk -F '|' '$1 != $2 && (++n <= 2 || $1 ~ /^1 [a-z]/) { print "#   single node: " $1; print "#   Citus:       " $2 }' | head -n 24
check "... opted-out customers have no influence components there either" "0" \
  "$(cq -c "SELECT count(*) FROM customer_score.score_explanation e JOIN customer_score.opt_outs o ON o.customer_id = e.customer_id
            WHERE e.model = 'default' AND e.component IN ('influence_value', 'influence_points') AND e.observed")"
worker_zone Asia/Tokyo
t_tokyo=$(refresh_on dist UTC)
check "... and with worker 1 in Asia/Tokyo too" "$(md5sum <<<"$single")" "$(md5sum <<<"$(stored UTC)")"
worker_zone UTC
echo "# refresh of CDNOW (2357 customers, 2300 actions): single node ${t_single} s, Citus 32 shards ${t_citus} s (${t_tokyo} s with a worker in Asia/Tokyo)"

# ---- partitioned and view sources -------------------------------------------------------------
# A distributed table partitioned by time, a view over it and a view over the distributed actions:
# refresh reads each as it reads a table, and scores every customer as on one node.
cq >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE part_tx (customer_id bigint, at timestamptz, amount float8) PARTITION BY RANGE (at);
CREATE TABLE part_tx_early PARTITION OF part_tx FOR VALUES FROM (MINVALUE) TO ('1997-04-01 00:00+00');
CREATE TABLE part_tx_later PARTITION OF part_tx FOR VALUES FROM ('1997-04-01 00:00+00') TO (MAXVALUE);
SELECT create_distributed_table('part_tx', 'customer_id', colocate_with => 'dist_tx');
INSERT INTO part_tx SELECT * FROM local_tx;
CREATE VIEW part_actions AS SELECT * FROM dist_actions;
CREATE VIEW view_tx AS SELECT customer_id, at, amount FROM part_tx;
CREATE VIEW view_actions AS SELECT id, customer_id, sparked_by, at, value, channel, kind FROM dist_actions;
SQL
check "a distributed table partitioned by time: 2 partitions of 32 shards each" "64 6919" \
  "$(cq -F ' ' -c "SELECT count(*), (SELECT count(*) FROM part_tx) FROM citus_shards WHERE table_name::text LIKE 'part_tx_%'")"
refresh_on part UTC >/dev/null
check "refresh on the partitioned distributed transactions and a view over the actions equals single node" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$(stored UTC)")"
refresh_on view America/Los_Angeles >/dev/null
check "... and on views over both" "$(md5sum <<<"$single")" "$(md5sum <<<"$(stored UTC)")"

# ---- live scores: never a state split over the nodes ------------------------------------------
# The live-score trigger on a distributed table would fire on each shard, on its worker, and each
# node would keep a live_customers of its own: tracking refuses it, and a trigger Citus copies
# onto shards (citus.enable_unsafe_triggers) refuses the writes.
check "track_transactions refuses a distributed table (0A000)" "0A000" \
  "$(PGPORT=$coord sqlstate cs_citus "SELECT customer_score.track_transactions('dist_tx', 'UTC')")"
check "... and a partitioned distributed one" "0A000" \
  "$(PGPORT=$coord sqlstate cs_citus "SELECT customer_score.track_transactions('part_tx', 'UTC')")"
cq >/dev/null -c "CREATE TABLE live_tx (customer_id bigint, at timestamptz, amount float8)" \
   -c "SELECT customer_score.track_transactions('live_tx', 'UTC')"
check "a tracked table is not distributed: Citus refuses a table with triggers" "XX000" \
  "$(PGPORT=$coord sqlstate cs_citus "SELECT create_distributed_table('live_tx', 'customer_id')")"
cq >/dev/null -c "SET citus.enable_unsafe_triggers = on" -c "SELECT create_distributed_table('live_tx', 'customer_id')"
out=$(cq -c "INSERT INTO live_tx SELECT customer_id, at, amount FROM local_tx WHERE customer_id <= 100" 2>&1 | sed -n 's/^ERROR:  \(customer_score does not track\) "live_tx_[0-9]*"$/\1 a shard/p' | head -n 1)
check "... with citus.enable_unsafe_triggers it is, and the trigger copied onto the shards refuses the writes" \
  "customer_score does not track a shard" "$out"
check "... so no row is written and no node keeps a live state of its own" "0 0 0 0" \
  "$({ cq -c "SELECT count(*) FROM live_tx"; for port in "${ports[@]}"; do on "$port" -c "SELECT count(*) FROM customer_score.live_customers"; done; } | paste -sd ' ')"
cq >/dev/null -c "SET citus.enable_unsafe_triggers = on" -c "SELECT customer_score.untrack_transactions('live_tx')"

# ---- the extension's own tables in the Citus shape: distribute_tables() ------------------------
# Two refreshes with the data changed between them and a backtest, on the local tables with the
# extension's tables on the coordinator; then distribute_tables() (reference tables, scores_history
# and backtest_customers distributed by customer co-located with the transactions), the same on
# the distributed tables, and undistribute_tables(): every row of scores, score_explanation,
# score_reasons, score_changes and the backtest equal, every row kept both ways.
changes() {
  cq -c "SET search_path = customer_score, public" -c "SET TimeZone = 'UTC'" \
     -c "SELECT string_agg(c::text, E'\n' ORDER BY c.customer_id, c.component) FROM score_changes c WHERE model = 'default'"
}
reasons() {
  cq -c "SET search_path = customer_score, public" -c "SET TimeZone = 'UTC'" \
     -c "SELECT string_agg(r::text, E'\n' ORDER BY r.customer_id, r.rank) FROM score_reasons r WHERE model = 'default'"
}
# backtest_rows PREFIX: a backtest of the default model on PREFIX's sources, every customer's row
# and every metric as text (without the backtest's id)
backtest_rows() {
  cq -c "SET search_path = customer_score, public" -c "SET client_min_messages = warning" -c "SET TimeZone = 'UTC'" \
     -c "SELECT set_source('transactions', '$1_tx', '', 'UTC'), set_source('actions', '$1_actions', '', 'UTC')" \
     -c "SELECT backtest('default', '1997-06-30 00:00+00', '1997-09-30 00:00+00') IS NULL" \
     -c "SELECT string_agg(concat_ws(' ', customer_id, score, normalized, predicted_clv, popularity, realized_spend, realized_purchases, realized_influence), E'\n' ORDER BY customer_id)
         FROM backtest_customers WHERE backtest_id = (SELECT max(backtest_id) FROM backtests)" \
     -c "SELECT string_agg(concat_ws(' ', subject, metric, value, customers), E'\n' ORDER BY subject, metric)
         FROM backtest_metrics WHERE backtest_id = (SELECT max(backtest_id) FROM backtests)"
}
# refresh_phases PREFIX: a refresh on PREFIX's sources; each phase's seconds from its NOTICE to the
# next one, "phase<TAB>seconds" per line, and the total
refresh_phases() {
  cq -c "SET search_path = customer_score, public" -c "SET client_min_messages = warning" \
     -c "SELECT set_source('transactions', '$1_tx', '', 'UTC'), set_source('actions', '$1_actions', '', 'UTC')" \
     -c "SET client_min_messages = notice" -c "SELECT refresh('default', '1997-09-30 00:00+00') IS NOT NULL" |
    sed -n 's/^NOTICE:  refresh run [0-9]*: \(.*\) (\([0-9.]*\) s)$/\1\t\2/p' |
    awk -F '\t' 'NR > 1 { printf "%s\t%.2f\n", name, $2 - at } { name = $1; at = $2 } END { printf "total\t%.2f\n", at }'
}
change_data() {   # change_data PREFIX: more purchases for every fifth customer, fewer actions
  cq >/dev/null -c "SET client_min_messages = warning" \
     -c "INSERT INTO $1_tx SELECT customer_id, at + interval '10 days', amount * 2 FROM $1_tx WHERE customer_id % 5 = 0 AND at < '1997-09-01'" \
     -c "DELETE FROM $1_actions WHERE id % 11 = 0"
}
refresh_on local UTC >/dev/null
change_data local
phases_single=$(refresh_phases local)
single=$(changes)
single_stored=$(stored UTC)
single_reasons=$(reasons)
single_backtest=$(backtest_rows local)
check "score_changes on one node has a row per customer and component of two refreshes" "t" \
  "$(cq -c "SELECT count(*) > 2357 AND count(*) FILTER (WHERE score_change <> 0) > 0 FROM customer_score.score_changes WHERE model = 'default'")"
check "... and the backtest a row per customer and metrics" "t" "$(awk 'END { print (NR > 1000) ? "t" : "f" }' <<<"$single_backtest")"

# shapes: each table of citus_tables(), its shape, and whether it is in dist_tx's co-location group
shapes() {
  cq -F ' ' -c "SELECT c.relation, coalesce(customer_score.citus_shape(c.relation), 'local'),
                       (SELECT count(*) FROM pg_dist_partition p WHERE p.logicalrelid = c.relation
                          AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'dist_tx'::regclass))
                FROM customer_score.citus_tables() c ORDER BY c.step"
}
# table_rows: per table of citus_tables(), its rows' count and the md5 of their text
table_rows() {
  local t
  for t in opt_outs components reason_codes scores_history backtest_customers; do
    cq -c "SELECT '$t ' || count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM customer_score.$t x"
  done
}
cq >/dev/null -c "SELECT customer_score.set_source('transactions', 'dist_tx', '', 'UTC'), customer_score.set_source('actions', 'dist_actions', '', 'UTC')"
rows_before=$(table_rows)
out=$(cq -F ' ' -c "SET client_min_messages = warning" -c "SELECT * FROM customer_score.distribute_tables()")
check "distribute_tables(): opt_outs, components, reason_codes reference tables, scores_history and backtest_customers co-located with the transactions source" \
  "customer_score.opt_outs reference 
customer_score.components reference 
customer_score.reason_codes reference 
customer_score.scores_history distributed dist_tx
customer_score.backtest_customers distributed dist_tx" "$out"
check "... in Citus's metadata: reference, or distributed in dist_tx's co-location group (32 shards)" \
  "customer_score.opt_outs reference 0
customer_score.components reference 0
customer_score.reason_codes reference 0
customer_score.scores_history distributed 1
customer_score.backtest_customers distributed 1
32" "$(shapes; cq -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'customer_score.scores_history'::regclass")"
check "... with every row kept" "$rows_before" "$(table_rows)"
check "... and again: a no-op on tables in shape" "5" "$(cq -c "SET client_min_messages = warning" -c "SELECT count(*) FROM customer_score.distribute_tables()")"
check "score_changes over the distributed history equals the single-node rows" "$(md5sum <<<"$single")" "$(md5sum <<<"$(changes)")"

# text ids are shown from customer_keys, which only the coordinator holds
cq >/dev/null -c "CREATE VIEW dist_tx_text AS SELECT customer_id::text AS customer_id, at, amount FROM dist_tx" \
   -c "CREATE VIEW dist_actions_text AS SELECT id, customer_id::text AS customer_id, sparked_by, at, value, channel, kind FROM dist_actions"
check "refresh of sources with text ids is refused while scores_history is distributed (0A000)" "0A000" \
  "$(PGPORT=$coord sqlstate cs_citus "SELECT customer_score.refresh('default', '1997-09-30 00:00+00')" \
       -c "SELECT customer_score.set_source('transactions', 'dist_tx_text', '', 'UTC'), customer_score.set_source('actions', 'dist_actions_text', '', 'UTC')")"
refresh_on dist America/Los_Angeles >/dev/null
change_data dist
phases_citus=$(refresh_phases dist)
distributed=$(changes)
check "two refreshes on distributed sources into the distributed history: score_changes equals single node, every row" \
  "$(md5sum <<<"$single")" "$(md5sum <<<"$distributed")"
paste -d '|' <(echo "$single") <(echo "$distributed") | awk -F '|' '$1 != $2 && ++n <= 2 { print "#   single node: " $1; print "#   Citus:       " $2 }'
check "... scores and score_explanation equal" "$(md5sum <<<"$single_stored")" "$(md5sum <<<"$(stored UTC)")"
check "... score_reasons equal" "$(md5sum <<<"$single_reasons")" "$(md5sum <<<"$(reasons)")"
distributed=$(backtest_rows dist)
check "a backtest on distributed sources into the distributed backtest_customers equals single node, every row and metric" \
  "$(md5sum <<<"$single_backtest")" "$(md5sum <<<"$distributed")"
paste -d '|' <(echo "$single_backtest") <(echo "$distributed") | awk -F '|' '$1 != $2 && ++n <= 2 { print "#   single node: " $1; print "#   Citus:       " $2 }'
check "... and its scratch run's scores are deleted from the distributed history with the run (score_runs' cascade)" "0" \
  "$(cq -c "SELECT count(*) FROM customer_score.scores_history h WHERE h.run_id NOT IN (SELECT run_id FROM customer_score.score_runs)")"
check "... and deleting the backtest deletes its customers from the distributed backtest_customers (backtests' cascade)" "0" \
  "$(cq -c "DELETE FROM customer_score.backtests WHERE backtest_id = (SELECT max(backtest_id) FROM customer_score.backtests)" \
        -c "SELECT count(*) FROM customer_score.backtest_customers c WHERE c.backtest_id NOT IN (SELECT backtest_id FROM customer_score.backtests)")"
echo "# refresh phases (s, from the NOTICEs), single node | Citus 32 shards with the tables distributed:"
paste <(echo "$phases_single") <(echo "$phases_citus" | cut -f 2) | awk -F '\t' '{ printf "#   %-34s %6s | %s\n", $1, $2, $3 }'

# ---- undistribute_tables(): back to local tables, every row kept --------------------------------
rows_before=$(table_rows)
out=$(cq -F ' ' -c "SET client_min_messages = warning" -c "SELECT relation, shape FROM customer_score.undistribute_tables()")
check "undistribute_tables() returns the five tables to the coordinator" "customer_score.backtest_customers distributed
customer_score.scores_history distributed
customer_score.reason_codes reference
customer_score.components reference
customer_score.opt_outs reference" "$out"
check "... they are local tables again, in no node's metadata" "customer_score.opt_outs local 0
customer_score.components local 0
customer_score.reason_codes local 0
customer_score.scores_history local 0
customer_score.backtest_customers local 0
0 0" "$(shapes; cq -F ' ' -c "SELECT (SELECT count(*) FROM pg_dist_partition p JOIN customer_score.citus_tables() c ON c.relation = p.logicalrelid),
  (SELECT sum(result::int) FROM run_command_on_workers(\$\$SELECT count(*) FROM pg_dist_partition p JOIN customer_score.citus_tables() c ON c.relation = p.logicalrelid\$\$))")"
check "... with every row kept" "$rows_before" "$(table_rows)"
check "... score_changes, scores, score_explanation and score_reasons as before" \
  "$(md5sum <<<"$single$single_stored$single_reasons")" "$(md5sum <<<"$(changes)$(stored UTC)$(reasons)")"
check "distribute_tables() is refused while customer_keys has rows (text ids: 0A000)" "0A000" \
  "$(PGPORT=$coord sqlstate cs_citus "SELECT customer_score.distribute_tables()" -c "INSERT INTO customer_score.customer_keys (customer_key) VALUES ('C1')")"
cq >/dev/null -c "TRUNCATE customer_score.customer_keys"
check "... and refresh on the distributed sources writes into the local history again" "2357" \
  "$(refresh_on dist UTC >/dev/null; cq -c "SELECT count(*) FROM ONLY customer_score.scores_history h JOIN customer_score.latest_runs r USING (run_id) WHERE r.model = 'default'")"

echo "# citus.sh: $(($(date +%s) - started)) s"
echo "1..$_tap_n"
