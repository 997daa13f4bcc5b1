#!/usr/bin/env bash
# action_weights: the role that created the extension edits the weights, user rows survive
# pg_dump and restore, and the queries given to influence run with the caller's privileges.
set -u
n=0
check() {   # check DESCRIPTION EXPECTED ACTUAL
  n=$((n + 1))
  if [[ "$2" == "$3" ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "# expected: $2"; echo "# got:      $3"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@" 2>&1; }
dump=$(mktemp)
cleanup() {
  rm -f "$dump"
  q -d postgres -c "DROP DATABASE IF EXISTS cs_weights" -c "DROP DATABASE IF EXISTS cs_weights_restored" \
    -c "DROP ROLE IF EXISTS cs_weights_owner" -c "DROP ROLE IF EXISTS cs_weights_reader" >/dev/null
}
trap cleanup EXIT
cleanup
q -d postgres -c "CREATE ROLE cs_weights_owner LOGIN NOSUPERUSER" -c "CREATE ROLE cs_weights_reader LOGIN NOSUPERUSER" \
  -c "CREATE DATABASE cs_weights OWNER cs_weights_owner" >/dev/null

check "the database owner (not a superuser) creates the extension" "" \
  "$(q -U cs_weights_owner -d cs_weights -c 'CREATE EXTENSION customer_score')"
check "and edits the weights: a changed shipped row, a new row, a deleted shipped row" "UPDATE 1|INSERT 0 1|DELETE 1" \
  "$(q -U cs_weights_owner -d cs_weights -c "UPDATE customer_score.action_weights SET weight = 12 WHERE channel = '*' AND kind = 'review'" \
       -c "INSERT INTO customer_score.action_weights (channel, kind, weight, description) VALUES ('store', 'tasting', 7, 'Wine tasting')" \
       -c "DELETE FROM customer_score.action_weights WHERE channel = '*' AND kind = 'view'" -c "SELECT 'UPDATE 1|INSERT 0 1|DELETE 1'")"
check "edited rows are the user's (is_default = false), the rest stay shipped" "*|review|12|f
store|tasting|7|f" \
  "$(q -U cs_weights_owner -d cs_weights -c "SELECT channel, kind, weight, is_default FROM customer_score.action_weights WHERE NOT is_default ORDER BY 1, 2")"
check "another role may read the weights but not change them" "3|permission denied for table action_weights" \
  "$({ q -U cs_weights_reader -d cs_weights -c "SELECT customer_score.action_weight('store', 'visit')"
       q -U cs_weights_reader -d cs_weights -c "UPDATE customer_score.action_weights SET weight = 0" | sed 's/^ERROR:  //'; } | paste -sd'|')"

# The actions query runs as the caller: the owner's table is not readable by the reader.
q -U cs_weights_owner -d cs_weights >/dev/null <<'SQL'
CREATE TABLE actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text);
INSERT INTO actions VALUES (1, 1, NULL, '2024-01-01', 0, 'web', 'review'), (2, 2, 1, '2024-01-02', 10, 'store', 'tasting');
SQL
check "influence uses the caller's rights and the edited weights" "1|10|7" \
  "$(q -U cs_weights_owner -d cs_weights -c "SELECT customer_id, direct_value, influence_points FROM customer_score.influence('SELECT * FROM actions', '2024-12-31')")"
check "a role without SELECT on the table cannot read it through influence" "permission denied for table actions" \
  "$(q -U cs_weights_reader -d cs_weights -c "SELECT * FROM customer_score.influence('SELECT * FROM public.actions', '2024-12-31')" | sed -n 's/^ERROR:  //p')"

# pg_dump and restore into a fresh database (ON_ERROR_STOP: a clash with the shipped rows fails here)
pg_dump -d cs_weights -f "$dump" 2>&1
check "the dump holds the user rows only" "2" \
  "$(awk '/^COPY customer_score.action_weights/ { on = 1; next } /^\\\.$/ { on = 0 } on' "$dump" | wc -l | tr -d ' ')"
q -d postgres -c "CREATE DATABASE cs_weights_restored OWNER cs_weights_owner" >/dev/null
check "the dump restores without errors" "" "$(q -d cs_weights_restored -f "$dump" 2>&1 | grep -i error)"
check "after restore the user rows are there, replacing the shipped rows with the same key" "*|review|12|f
store|tasting|7|f" \
  "$(q -d cs_weights_restored -c "SELECT channel, kind, weight, is_default FROM customer_score.action_weights WHERE (channel, kind) IN (('*', 'review'), ('store', 'tasting')) ORDER BY 1, 2")"
rows() { q -d "$1" -c "SELECT channel || '|' || kind || '|' || weight || '|' || is_default FROM customer_score.action_weights" | LC_ALL=C sort; }
check "every other row is as before the dump, except that a deleted shipped row comes back" "*|view|0.1|true" \
  "$(LC_ALL=C comm -3 <(rows cs_weights) <(rows cs_weights_restored) | sed 's/^\t//')"
check "influence gives the same result in the restored database" "1|10|7" \
  "$(q -U cs_weights_owner -d cs_weights_restored -c "SELECT customer_id, direct_value, influence_points FROM customer_score.influence('SELECT * FROM actions', '2024-12-31')")"
