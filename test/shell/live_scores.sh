#!/usr/bin/env bash
# Live scores in a real setting: the database owner (not a superuser) creates the extension and
# tracks its transactions table, grants the application role what the trigger needs, and then
#   (a) pgbench clients write single-statement inserts, updates and deletes on a few customers
#       and days at once: no deadlock, no failure, and the state equals a recount afterwards;
#   (b) clients run multi-statement transactions over the same keys (deadlocks are possible
#       between statements of different transactions; pgbench retries them): the state equals
#       a recount afterwards;
#   (c) pg_dump and restore: the state and the triggers come back and go on agreeing.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_live
restored=cs_live_restored
owner=cs_live_owner
writer=cs_live_app
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seconds=${CS_LIVE_SECONDS:-5}

cleanup() {
  q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS $restored" \
    -c "DROP ROLE IF EXISTS $writer" -c "DROP ROLE IF EXISTS $owner" >/dev/null
}
cleanup
q -d postgres -c "CREATE ROLE $owner LOGIN" -c "CREATE ROLE $writer LOGIN" -c "CREATE DATABASE $db OWNER $owner" >/dev/null

check "the database owner creates the extension and tracks its table" "120" "$(q -U "$owner" -d "$db" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION customer_score;
CREATE TABLE tx (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
INSERT INTO tx (customer_id, at, amount)
SELECT 1 + g % 40, '2024-01-01'::timestamptz + (g % 10) * interval '1 day' + (g % 7) * interval '3 hours', 1 + g % 50
FROM generate_series(1, 120) g;
SELECT customer_score.track_transactions('tx');
GRANT SELECT, INSERT, UPDATE, DELETE ON tx TO $writer;
GRANT USAGE ON SEQUENCE tx_id_seq TO $writer;
SQL
)"
check "without a grant on live_customers the application's writes fail, naming the grant" \
  "ERROR:  permission denied for table live_customers|HINT:  The owner of the extension can run GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_customers TO $writer;" \
  "$(q -U "$writer" -d "$db" -c "INSERT INTO tx (customer_id, at, amount) VALUES (1, now(), 1)" | grep -E '^(ERROR|HINT)' | paste -sd'|')"
check "the owner may grant it (WITH GRANT OPTION)" "" \
  "$(q -U "$owner" -d "$db" -c "GRANT SELECT, INSERT, UPDATE, DELETE ON customer_score.live_customers TO $writer")"

# (a) one statement per transaction: customers' states are locked in order within a statement, so
# the trigger adds no deadlock; every client hits the same 40 customers on 12 days.
cat >"$work/single.sql" <<'PGB'
\set c random(1, 40)
\set d random(0, 11)
\set id random(1, 400)
\set op random(1, 5)
INSERT INTO tx (customer_id, at, amount) VALUES (:c, '2024-01-01'::timestamptz + :d * interval '1 day' + random() * interval '20 hours', (random() * 100)::numeric(12,2));
INSERT INTO tx (customer_id, at, amount) SELECT 1 + (:c + k * 7) % 40, '2024-01-01'::timestamptz + ((:d + k) % 12) * interval '1 day', k FROM generate_series(1, 4) k;
UPDATE tx SET customer_id = :c, at = at + (:op - 3) * interval '1 day' WHERE id = :id;
UPDATE tx SET amount = amount + 1 WHERE id = :id + 1;
DELETE FROM tx WHERE id = :id + 2;
PGB
out=$(pgbench -n -U "$writer" -d "$db" -c 4 -j 2 -T "$seconds" -f "$work/single.sql" 2>&1)
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
check "single statements from 4 clients: scripts ran (${processed:-?} in ${seconds} s)" "yes" \
  "$( ((${processed:-0} > 50)) && echo yes || { echo no; echo "$out" | tail -5 >&2; })"
check "... and none failed (no deadlock, no error)" "0" "${failed:-?}"
check "... and the state equals a recount" "0" \
  "$(q -U "$owner" -d "$db" -c "SELECT count(*) FROM customer_score.live_days_differences()")"

# (b) multi-statement transactions over the same keys, in varying orders: a deadlock between two
# transactions is possible (as with any row locks taken in different orders) and is retried.
cat >"$work/multi.sql" <<'PGB'
\set c random(1, 40)
\set e random(1, 40)
\set d random(0, 11)
\set id random(1, 400)
BEGIN;
INSERT INTO tx (customer_id, at, amount) VALUES (:c, '2024-01-01'::timestamptz + :d * interval '1 day', 3.5);
UPDATE tx SET customer_id = :e WHERE id = :id;
INSERT INTO tx (customer_id, at, amount) VALUES (:e, '2024-01-01'::timestamptz + :d * interval '1 day', 1.25);
DELETE FROM tx WHERE id = (SELECT max(id) FROM tx WHERE customer_id = :c);
END;
PGB
out=$(pgbench -n -U "$writer" -d "$db" -c 4 -j 2 -T "$seconds" --max-tries=100 -f "$work/multi.sql" 2>&1)
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' <<<"$out")
check "multi-statement transactions from 4 clients ran (${processed:-?} in ${seconds} s, ${retried:-0} retried after a deadlock)" "yes" \
  "$( ((${processed:-0} > 50)) && echo yes || { echo no; echo "$out" | tail -5 >&2; })"
check "... and the state equals a recount" "0" \
  "$(q -U "$owner" -d "$db" -c "SELECT count(*) FROM customer_score.live_days_differences()")"

# (c) pg_dump and restore
pg_dump -d "$db" -f "$work/dump.sql" 2>&1
q -d postgres -c "CREATE DATABASE $restored OWNER $owner" >/dev/null
check "the dump restores without errors" "" "$(q -d "$restored" -f "$work/dump.sql" 2>&1 | grep -i error)"
check "after restore: the same state, tracked in the same zone, equal to a recount" "t|UTC|0" \
  "$(q -d "$restored" -c "SELECT (SELECT md5(string_agg(c::text, '|' ORDER BY customer_id)) FROM customer_score.live_customers c)
                                  = '$(q -d "$db" -c "SELECT md5(string_agg(c::text, '|' ORDER BY customer_id)) FROM customer_score.live_customers c")',
                                  (SELECT time_zone FROM customer_score.live_tracking),
                                  (SELECT count(*) FROM customer_score.live_days_differences())")"
check "... and the restored triggers keep it current" "0" \
  "$(q -U "$writer" -d "$restored" -c "INSERT INTO tx (customer_id, at, amount) VALUES (77, '2024-02-01', 9)" \
       -c "DELETE FROM tx WHERE id IN (SELECT id FROM tx ORDER BY id LIMIT 10)" \
       -c "SELECT count(*) FROM customer_score.live_days_differences()")"

[[ ${CS_LIVE_KEEP:-0} == 1 ]] || cleanup
echo "1..$_tap_n"
