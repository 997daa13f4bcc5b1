#!/usr/bin/env bash
# Privileges: nothing runs as a more privileged role, search_path tricks do not redirect the
# extension, the explanation views honour row-level security, and a role without rights on a
# CRM table learns nothing of it through any function or view.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_privileges

q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS cs_analyst_eu" -c "DROP ROLE IF EXISTS cs_outsider" >/dev/null
q -d postgres -c "CREATE DATABASE $db" -c "CREATE ROLE cs_analyst_eu LOGIN" -c "CREATE ROLE cs_outsider LOGIN" >/dev/null
q -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION customer_score;
CREATE SCHEMA crm;
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount float8);
INSERT INTO crm.tx SELECT c, '2024-01-01'::timestamptz + (k * 9 + c % 7) * interval '1 day', 10 + c % 13
FROM generate_series(1, 40) c, generate_series(0, c % 5) k;
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text);
INSERT INTO crm.actions VALUES (1, 2, NULL, '2024-01-05', 0, 'community', 'review'), (2, 3, 1, '2024-01-06', 42, 'web', 'purchase');
SQL

# 1. no SECURITY DEFINER anywhere
check "no function of the extension is SECURITY DEFINER" "0" "$(q -d "$db" -c "
  SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_score' WHERE p.prosecdef")"
# 2. every PL/pgSQL function pins its search_path
check "every PL/pgSQL function pins search_path" "" "$(q -d "$db" -c "
  SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_score'
  WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
    AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false)")"
# 3. the install scripts create, never replace
check "install scripts never CREATE OR REPLACE (an object a user could own)" "0" \
  "$(cat "$REPO"/install/*.sql | grep -ci 'create or replace')"

# 4. search_path tricks: shadowing functions in a schema searched before pg_catalog are never called
q -d "$db" >/dev/null <<'SQL'
CREATE SCHEMA evil;
CREATE FUNCTION evil.format(text, VARIADIC "any") RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'evil.format called'; END $$;
CREATE FUNCTION evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'evil.unnest called'; END $$;
CREATE FUNCTION evil.coalesce(text, text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'evil.coalesce called'; END $$;
CREATE FUNCTION evil.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'evil.set_config called'; END $$;
CREATE TABLE evil.sources (kind text, relation regclass);
SQL
check "set_source and refresh ignore a hostile search_path" "t" "$(q -d "$db" -c "SET search_path = evil, pg_catalog, public" \
  -c "SELECT customer_score.set_source('transactions', 'crm.tx')" -c "SELECT customer_score.set_source('actions', 'crm.actions')" \
  -c "SET client_min_messages = warning" -c "SELECT customer_score.refresh('default', '2024-06-30') > 0" | tail -n 1)"

# 5. the views honour row-level security on the stored scores
q -d "$db" >/dev/null <<'SQL'
GRANT USAGE ON SCHEMA customer_score TO cs_analyst_eu;
GRANT SELECT ON customer_score.scores_history, customer_score.score_runs TO cs_analyst_eu;
ALTER TABLE customer_score.scores_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY eu_only ON customer_score.scores_history TO cs_analyst_eu USING (customer_id % 2 = 0);
SQL
check "the owner sees every score" "40" "$(q -d "$db" -c "SELECT count(*) FROM customer_score.scores")"
check "an analyst under a row-level policy sees only the rows it allows (scores)" "20|0" \
  "$(q -U cs_analyst_eu -d "$db" -c "SELECT count(*), count(*) FILTER (WHERE customer_id % 2 = 1) FROM customer_score.scores")"
check "... and in score_explanation and score_reasons" "0|0" \
  "$(q -U cs_analyst_eu -d "$db" -c "SELECT (SELECT count(*) FROM customer_score.score_explanation WHERE customer_id % 2 = 1), (SELECT count(*) FROM customer_score.score_reasons WHERE customer_id % 2 = 1)")"

# 6. a role without rights on a CRM table learns nothing of it
check "influence over a table the caller cannot read: permission denied" "42501" \
  "$(sqlstate "$db" "SELECT * FROM customer_score.influence('SELECT * FROM crm.actions')" -U cs_outsider)"
check "influence_rank likewise" "42501" \
  "$(sqlstate "$db" "SELECT * FROM customer_score.influence_rank('SELECT customer_id AS source, 1::bigint AS target, 1::float8 AS weight FROM crm.tx')" -U cs_outsider)"
check "refresh as that role: permission denied" "42501" \
  "$(sqlstate "$db" "SELECT customer_score.refresh()" -U cs_outsider)"
check "the stored scores are not readable by a role without grants" "42501" \
  "$(sqlstate "$db" "SELECT * FROM customer_score.scores" -U cs_outsider)"
check "nor the sources and opt-outs" "42501|42501" \
  "$(sqlstate "$db" "SELECT * FROM customer_score.sources" -U cs_outsider)|$(sqlstate "$db" "SELECT * FROM customer_score.opt_outs" -U cs_outsider)"
check "the models and their explanation in words are public" "ok" \
  "$(sqlstate "$db" "SELECT component, weight, description FROM customer_score.model_components JOIN customer_score.components ON name = component" -U cs_outsider)"

q -d postgres -c "DROP DATABASE $db" -c "DROP ROLE cs_analyst_eu" -c "DROP ROLE cs_outsider" >/dev/null
echo "1..$_tap_n"
