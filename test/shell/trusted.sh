#!/usr/bin/env bash
# A non-superuser who owns a database can create and use the extension (it is trusted).
set -u
source "$REPO/test/lib/tap.sh"

q -d postgres -c "DROP DATABASE IF EXISTS cs_trusted" -c "DROP ROLE IF EXISTS crm_analyst" >/dev/null
q -d postgres -c "CREATE ROLE crm_analyst LOGIN NOSUPERUSER" -c "CREATE DATABASE cs_trusted OWNER crm_analyst" >/dev/null

check "crm_analyst is not a superuser" "f" "$(q -d postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'crm_analyst'")"
check "a database owner creates the extension" "" "$(q -U crm_analyst -d cs_trusted -c 'CREATE EXTENSION customer_score')"
check "its objects live in schema customer_score" "customer_score" \
  "$(q -U crm_analyst -d cs_trusted -c "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'customer_score'")"
check "the extension is not relocatable" "" \
  "$(q -U crm_analyst -d cs_trusted -c "SELECT 1 FROM pg_extension WHERE extname = 'customer_score' AND extrelocatable")"
check "the owner fits and stores a model, then uses it" "1.226" "$(q -U crm_analyst -d cs_trusted <<'SQL'
CREATE TABLE summary (id int, frequency int, recency float8, t float8);
INSERT INTO summary VALUES (1, 2, 30.43, 38.86), (2, 1, 1.71, 38.86), (3, 0, 0, 38.86), (4, 5, 30, 38.86);
CREATE TABLE models AS SELECT customer_score.bgnbd(0.243, 4.414, 0.793, 2.426) AS m, customer_score.bgnbd_fit(frequency, recency, t) AS fitted FROM summary;
SELECT round(customer_score.expected_purchases(m, 39, 2, 30.43, 38.86)::numeric, 3) FROM models;
SQL
)"
check "another unprivileged role can use the functions" "0.0532" "$(q -d postgres -c "DROP ROLE IF EXISTS crm_reader" -c "CREATE ROLE crm_reader LOGIN" >/dev/null
  q -U crm_reader -d cs_trusted -c "SELECT round(customer_score.expected_purchases(customer_score.bgnbd(0.2425945, 4.4136019, 0.7929199, 2.4258881), 1)::numeric, 4)")"
check "the owner configures sources, publishes a model and refreshes" "t t" "$(q -U crm_analyst -d cs_trusted <<'SQL' | tail -n 2 | xargs
CREATE TABLE tx (customer_id bigint, at timestamptz, amount float8);
INSERT INTO tx SELECT c, '2024-01-01'::timestamptz + (k * 5 + c) * interval '1 day', 10 + c FROM generate_series(1, 20) c, generate_series(0, c % 4) k;
SELECT customer_score.set_source('transactions', 'tx');
INSERT INTO customer_score.opt_outs (customer_id) VALUES (3);
SELECT customer_score.new_version('mine');
INSERT INTO customer_score.model_components (model, version, position, component, weight) VALUES ('mine', 1, 1, 'historic_value', 1);
SELECT customer_score.publish('mine', 1);
SET client_min_messages = warning;
SELECT customer_score.refresh('mine', '2024-06-30') > 0 AS refreshed;
SELECT count(*) = 20 FROM customer_score.scores;
SQL
)"
check "and grants reading the scores to another role" "20" "$(q -U crm_analyst -d cs_trusted -c 'GRANT SELECT ON customer_score.scores_history, customer_score.score_runs TO crm_reader' >/dev/null
  q -U crm_reader -d cs_trusted -c 'SELECT count(*) FROM customer_score.scores')"
q -U crm_analyst -d cs_trusted -c 'DROP TABLE tx' >/dev/null
check "dropping the extension as its owner works" "" "$(q -U crm_analyst -d cs_trusted -c 'DROP TABLE models' -c 'DROP EXTENSION customer_score')"

q -d postgres -c "DROP DATABASE cs_trusted" -c "DROP ROLE crm_analyst" -c "DROP ROLE crm_reader" >/dev/null
echo "1..$_tap_n"
