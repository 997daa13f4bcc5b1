#!/usr/bin/env bash
# A crash in the middle of refresh loses nothing: kill -9 of the refreshing backend (during the
# purchase histories, influence, and normalising phases) and an immediate shutdown of the
# server leave the previous run's scores, explanations, reasons and history byte-identical, no
# orphan rows, and a next refresh that works.  Runs on a cluster of its own, since a crash
# restarts every backend of the cluster.
set -u
source "$REPO/test/lib/tap.sh"
# shellcheck source=scripts/cluster.sh
source "$REPO/scripts/cluster.sh"
cluster_start crash >/dev/null || { echo "not ok 1 - a cluster of its own started"; echo "1..1"; exit 1; }
db=cs_crash
q -d postgres -c "CREATE DATABASE $db" >/dev/null
q -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION customer_score;
SET client_min_messages = warning;
CREATE TABLE tx AS
SELECT (g % 40000)::bigint AS customer_id,
       '2021-01-01'::timestamptz + ((g::bigint * 7919) % 1200) * interval '1 day' AS at, (g % 80 + 5)::float8 AS amount
FROM generate_series(1, 600000) g;
CREATE TABLE actions AS
SELECT g::bigint AS id, (g % 40000)::bigint AS customer_id, CASE WHEN g > 1000 THEN (g / 3)::bigint END AS sparked_by,
       '2021-01-01'::timestamptz + (g % 1000) * interval '1 day' + g * interval '1 second' AS at,
       (g % 4 * 10)::float8 AS value, 'web'::text AS channel,
       (ARRAY['purchase', 'review', 'answer', 'like'])[1 + g % 4] AS kind
FROM generate_series(1, 120000) g;
SELECT customer_score.set_source('transactions', 'tx');
SELECT customer_score.set_source('actions', 'actions');
SELECT customer_score.refresh('default', '2024-06-30');
SQL

fingerprint() {   # one md5 over everything a reader of the scores sees
  q -d "$db" <<'SQL'
SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
  SELECT format('run %s %s %s %s %s %s', run_id, model, version, as_of, status, customers) AS t FROM customer_score.score_runs
  UNION ALL SELECT format('h %s %s %s %s %s', run_id, customer_id, score, confidence, contribution) FROM customer_score.scores_history
  UNION ALL SELECT format('e %s %s %s %s', customer_id, component, contribution, explanation) FROM customer_score.score_explanation
  UNION ALL SELECT format('r %s %s %s', customer_id, code, rank) FROM customer_score.score_reasons) x
SQL
}
orphans() {
  q -d "$db" -c "SELECT count(*) FROM customer_score.scores_history h
                 WHERE NOT EXISTS (SELECT 1 FROM customer_score.score_runs r WHERE r.run_id = h.run_id AND r.status = 'done')"
}
before=$(fingerprint)
check "a first refresh stored scores" "t" "$(q -d "$db" -c "SELECT count(*) > 30000 FROM customer_score.scores")"

# wait_for_phase TEXT: the pid of the backend whose application_name says refresh is in that phase
wait_for_phase() {
  local i pid
  for ((i = 0; i < 600; i++)); do
    pid=$(q -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'customer_score.refresh %: $1%' AND backend_type = 'client backend'")
    [[ -n $pid ]] && { echo "$pid"; return 0; }
    sleep 0.02
  done
  return 1
}
wait_up() {
  local i
  for ((i = 0; i < 300; i++)); do
    q -d "$db" -c "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
start_refresh() {
  psql -X -q -At -d "$db" -c "SET client_min_messages = warning" \
       -c "SELECT customer_score.refresh('default', '2024-09-30')" >/dev/null 2>&1 &
}

for phase in "purchase histories" "influence" "normalising"; do
  start_refresh
  client=$!
  if pid=$(wait_for_phase "$phase"); then
    kill -9 "$pid"
    wait "$client"
    wait_up
    check "kill -9 during the $phase phase: the server recovers" "1" "$(q -d "$db" -c "SELECT 1")"
    check "... the previous run's scores, explanations, reasons and history are byte-identical" "$before" "$(fingerprint)"
    check "... no orphan rows" "0" "$(orphans)"
  else
    wait "$client"
    check "refresh reached the $phase phase to be killed in" "reached" "not reached"
  fi
done

start_refresh
client=$!
if wait_for_phase "normalising" >/dev/null; then
  _cs_as_owner "$CS_PGBIN/pg_ctl" stop -D "$CLUSTER_DIR/data" -m immediate -w >/dev/null 2>&1
  wait "$client"
  _cs_as_owner "$CS_PGBIN/pg_ctl" start -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -t 60 \
    -o "-p $PGPORT" >/dev/null 2>&1
  wait_up
  check "an immediate shutdown during refresh: the server comes back" "1" "$(q -d "$db" -c "SELECT 1")"
  check "... the previous run's scores are byte-identical" "$before" "$(fingerprint)"
  check "... no orphan rows" "0" "$(orphans)"
else
  wait "$client"
  check "refresh reached the normalising phase to be shut down in" "reached" "not reached"
fi

check "the next refresh works" "t" "$(q -d "$db" -c "SET client_min_messages = warning" \
  -c "SELECT customer_score.refresh('default', '2024-09-30') > 0" | tail -n 1)"
check "... and its scores are the ones shown" "2024-09-30 00:00:00+00" \
  "$(q -d "$db" -c "SELECT DISTINCT as_of FROM customer_score.scores WHERE model = 'default'")"
echo "1..$_tap_n"
