#!/usr/bin/env bash
# No confused deputy: code chosen by one role never runs with the rights of another.
# The extension's owner (a non-superuser, trusted install) points a source at a view whose
# function tries to make the owner a superuser, or to write; a superuser then runs refresh.
# refresh reads sources as the role that set them, in a security-restricted operation,
# read-only; the owner cannot add objects to the extension's schema; a dropped or renamed
# source is an error naming it; query texts must be read-only.
set -u
source "$REPO/test/lib/tap.sh"

db=cs_deputy
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS crm_owner" -c "DROP ROLE IF EXISTS crm_other" >/dev/null
q -d postgres -c "CREATE ROLE crm_owner LOGIN NOSUPERUSER" -c "CREATE ROLE crm_other LOGIN NOSUPERUSER" \
  -c "CREATE DATABASE $db OWNER crm_owner" >/dev/null
owner() { q -U crm_owner -d "$db" "$@"; }
super() { q -d "$db" "$@"; }
is_super() { q -d postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'crm_owner'"; }
state_as() {   # state_as ROLE SQL: the SQLSTATE of SQL run by ROLE
  local role=$1 sql=$2
  sqlstate "$db" "SET client_min_messages = warning; $sql" -U "$role"
}

owner -c "CREATE EXTENSION customer_score" >/dev/null
check "the extension's schema is not owned by the role that created it" "t" \
  "$(owner -c "SELECT nspowner <> 'crm_owner'::regrole FROM pg_namespace WHERE nspname = 'customer_score'")"
check "the owner cannot overload an extension function in its schema (42501)" "42501" \
  "$(state_as crm_owner "CREATE FUNCTION customer_score.influence(text, timestamptz, integer, double precision, interval, interval)
     RETURNS TABLE (customer_id bigint) LANGUAGE sql AS 'SELECT 1::bigint'")"

owner >/dev/null <<'SQL'
CREATE TABLE tx (customer_id bigint, at timestamptz, amount float8);
INSERT INTO tx SELECT c, '2024-01-01'::timestamptz + (k * 7 + c) * interval '1 day', 10 + c
FROM generate_series(1, 30) c, generate_series(0, c % 5) k;
-- the attack: a function that tries to make its owner a superuser whenever it runs
CREATE FUNCTION escalate() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE crm_owner SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;   -- stay quiet when it does not work
    END;
    RETURN true;
END $$;
CREATE VIEW tx_view AS SELECT * FROM tx WHERE escalate();
SELECT customer_score.new_version('mine');
INSERT INTO customer_score.model_components (model, version, position, component, weight)
VALUES ('mine', 1, 1, 'historic_value', 1);
SELECT customer_score.publish('mine', 1);
SELECT customer_score.set_source('transactions', 'tx_view');
SQL

# control: the view does what the attacker wants when a superuser reads it directly
super -c "SELECT count(*) FROM tx_view" >/dev/null
check "control: a superuser reading the view directly makes the owner a superuser" "t" "$(is_super)"
q -d postgres -c "ALTER ROLE crm_owner NOSUPERUSER" >/dev/null

check "a superuser's refresh over the owner's view succeeds" "30" \
  "$(super -c "SET client_min_messages = warning" -c "SELECT customer_score.refresh('mine', '2024-12-31') > 0" \
           -c "SELECT count(*) FROM customer_score.scores WHERE model = 'mine'" | tail -n 1)"
check "... and the owner did not become a superuser" "f" "$(is_super)"
check "the source was read as the role that set it" "crm_owner" \
  "$(super -c "SELECT configured_by FROM customer_score.sources WHERE kind = 'transactions'")"

# the function tries to leave the restricted context instead
owner >/dev/null <<'SQL'
CREATE FUNCTION escape_role() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RESET ROLE;
    EXECUTE 'ALTER ROLE crm_owner SUPERUSER';
    RETURN true;
END $$;
CREATE VIEW tx_escape AS SELECT * FROM tx WHERE escape_role();
SELECT customer_score.set_source('transactions', 'tx_escape');
SQL
check "a view function that tries RESET ROLE fails the refresh (42501, security-restricted)" "42501" \
  "$(state_as postgres "SELECT customer_score.refresh('mine', '2024-12-31')")"
check "... and the owner is still not a superuser" "f" "$(is_super)"

# a function that writes: refused, nothing written
owner >/dev/null <<'SQL'
CREATE TABLE audit (note text);
CREATE FUNCTION scribble() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.audit VALUES ('written during refresh');   -- refresh pins search_path
    RETURN true;
END $$;
CREATE VIEW tx_writing AS SELECT * FROM tx WHERE scribble();
SELECT customer_score.set_source('transactions', 'tx_writing');
SQL
check "a source whose function writes fails the refresh (25006, read-only)" "25006" \
  "$(state_as postgres "SELECT customer_score.refresh('mine', '2024-12-31')")"
check "... and nothing was written" "0" "$(owner -c "SELECT count(*) FROM audit")"

# a role without the configuring role's rights may not read its sources
owner -c "SELECT customer_score.set_source('transactions', 'tx')" \
      -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA customer_score TO crm_other" \
      -c "GRANT USAGE ON ALL SEQUENCES IN SCHEMA customer_score TO crm_other" >/dev/null
check "refresh by a role without the configuring role's privileges is refused (42501)" "42501" \
  "$(state_as crm_other "SELECT customer_score.refresh('mine', '2024-12-31')")"
check "... with a message naming both roles" "t" \
  "$(psql -X -q -At -U crm_other -d "$db" -c "SELECT customer_score.refresh('mine', '2024-12-31')" 2>&1 |
     grep -q 'role "crm_other" may not read the sources configured by role "crm_owner"' && echo t || echo f)"
q -d postgres -c "GRANT crm_owner TO crm_other" >/dev/null
check "... and allowed once it is granted that role" "ok" \
  "$(state_as crm_other "SELECT customer_score.refresh('mine', '2024-12-31')")"

# a source keeps its name: dropped or renamed is an error naming it, never another relation
owner -c "CREATE TABLE tx_copy AS SELECT * FROM tx" -c "SELECT customer_score.set_source('transactions', 'tx_copy')" \
      -c "ALTER TABLE tx_copy RENAME TO tx_renamed" >/dev/null
check "a renamed source fails refresh, naming the old and the new name" "t" \
  "$(psql -X -q -At -d "$db" -c "SELECT customer_score.refresh('mine', '2024-12-31')" 2>&1 |
     grep -q 'the transactions source public.tx_copy was dropped or renamed: its oid now names public.tx_renamed' && echo t || echo f)"
owner -c "DROP TABLE tx_renamed" >/dev/null
check "a dropped source fails refresh with 42P01 naming it" "42P01" \
  "$(state_as postgres "SELECT customer_score.refresh('mine', '2024-12-31')")"
check "... the message names the source" "t" \
  "$(psql -X -q -At -d "$db" -c "SELECT customer_score.refresh('mine', '2024-12-31')" 2>&1 |
     grep -q 'the transactions source public.tx_copy no longer exists' && echo t || echo f)"
check "set_source refuses a relation its caller cannot read (42501)" "42501" \
  "$(q -d "$db" -c "CREATE TABLE secret (customer_id bigint, at timestamptz, amount float8)" >/dev/null
     state_as crm_owner "SELECT customer_score.set_source('transactions', 'secret')")"

# query texts are read-only
owner -c "CREATE TABLE acts (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text)" \
      -c "INSERT INTO acts VALUES (1, 1, NULL, '2024-01-01', 0, 'web', 'review'), (2, 2, 1, '2024-01-02', 50, 'web', 'purchase')" >/dev/null
for query in "DELETE FROM acts RETURNING *" \
             "WITH d AS (DELETE FROM acts RETURNING *) SELECT * FROM d" \
             "SELECT * FROM acts FOR UPDATE" \
             "SELECT a.* FROM acts a WHERE (SELECT scribble())"; do
  check "influence refuses a query that writes or locks: $query (25006)" "25006" \
    "$(state_as crm_owner "SELECT * FROM customer_score.influence('$query', '2024-12-31')")"
done
check "... and the actions and the audit are untouched" "2 0" \
  "$(owner -c "SELECT (SELECT count(*) FROM acts) || ' ' || (SELECT count(*) FROM audit)")"
check "a plain SELECT still works" "1" \
  "$(owner -c "SELECT count(*) FROM customer_score.influence('SELECT * FROM acts', '2024-12-31')")"

q -d postgres -c "DROP DATABASE $db" -c "DROP ROLE crm_other" -c "DROP ROLE crm_owner" >/dev/null
echo "1..$_tap_n"
