#!/usr/bin/env bash
# pg_dump and pg_restore of a database using every type, the configuration tables and stored
# scores round-trip exactly, and the restored database goes on working.
set -u
source "$REPO/test/lib/tap.sh"
src=cs_dump_src
dst=cs_dump_dst
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT

q -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" -c "CREATE DATABASE $src" >/dev/null
q -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION customer_score;
CREATE SCHEMA crm;
CREATE TABLE crm.tx (customer_id bigint, at timestamptz, amount float8);
INSERT INTO crm.tx SELECT c, '2024-01-01'::timestamptz + (k * 11 + c % 9) * interval '1 day', 5 + (c * k) % 17
FROM generate_series(1, 200) c, generate_series(0, c % 6) k;
CREATE TABLE crm.actions (id bigint, customer_id bigint, sparked_by bigint, at timestamptz, value float8, channel text, kind text);
INSERT INTO crm.actions
SELECT g, g % 50 + 1, NULL, '2024-01-10'::timestamptz + g * interval '1 day', 0, 'community', 'review' FROM generate_series(1, 30) g
UNION ALL
SELECT 100 + g, g % 120 + 60, g % 30 + 1, '2024-02-15'::timestamptz + g * interval '1 hour', g % 40, 'web', 'purchase' FROM generate_series(1, 80) g;
-- every type of the extension, stored in a user table
CREATE TABLE crm.models_store AS
SELECT customer_score.bgnbd_fit(frequency, recency, t) AS purchases,
       customer_score.gamma_gamma_fit(frequency, monetary) FILTER (WHERE monetary > 0) AS spend,
       customer_score.bgnbd_partial(frequency, recency, t) AS purchase_state,
       customer_score.gamma_gamma_partial(frequency, monetary) FILTER (WHERE monetary > 0) AS spend_state,
       customer_score.bgnbd(0.243, 4.414, 0.793, 2.426) AS published
FROM (SELECT (customer_score.rfm(at, amount, '2024-06-30', '7 days')).* FROM crm.tx GROUP BY customer_id) s;
CREATE TABLE crm.rfm_store AS
SELECT customer_id, customer_score.rfm_partial(at, amount, '2024-06-30', '7 days') AS state FROM crm.tx GROUP BY customer_id;
-- configuration: sources, opt-outs, a model of our own (published and draft), an edited weight
SELECT customer_score.set_source('transactions', 'crm.tx');
SELECT customer_score.set_source('actions', 'crm.actions');
INSERT INTO customer_score.opt_outs (customer_id, reason) VALUES (7, 'test');
SELECT customer_score.new_version('vip', 'value only');
INSERT INTO customer_score.model_components (model, version, position, component, weight, normalization)
VALUES ('vip', 1, 1, 'predicted_clv', 2, 'log'), ('vip', 1, 2, 'influence_value', 1, 'minmax');
SELECT customer_score.publish('vip', 1);
SELECT customer_score.new_version('vip', 'a draft');
INSERT INTO customer_score.action_weights (channel, kind, weight, description) VALUES ('web', 'purchase', 7, 'ours');
UPDATE customer_score.action_weights SET weight = 9 WHERE channel = '*' AND kind = 'review';
-- stored scores: two runs of the default model, one of ours
SELECT customer_score.refresh('default', '2024-05-31');
SELECT customer_score.refresh('default', '2024-06-30');
SELECT customer_score.refresh('vip', '2024-06-30');
SQL

# one text snapshot of everything that must survive
snapshot() {
  q -d "$1" <<'SQL'
SELECT 'store', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM crm.models_store t;
SELECT 'rfm', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM crm.rfm_store t;
SELECT 'sources', md5(string_agg(kind || relation::text, '|' ORDER BY kind)) FROM customer_score.sources;
SELECT 'opt_outs', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.opt_outs t;
SELECT 'models', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.models t;
SELECT 'versions', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.model_versions t;
SELECT 'components', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.model_components t;
SELECT 'weights', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.action_weights t;
SELECT 'runs', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.score_runs t;
SELECT 'history', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.scores_history t;
SELECT 'scores', md5(string_agg(t::text, '|' ORDER BY t::text)) FROM customer_score.scores t;
SQL
}

before=$(snapshot "$src")
pg_dump -Fc -d "$src" -f "$dump" 2>&1
check "pg_dump succeeds" "0" "$?"
q -d postgres -c "CREATE DATABASE $dst" >/dev/null
restore_out=$(pg_restore -d "$dst" --exit-on-error "$dump" 2>&1)
check "pg_restore succeeds without errors" "" "$restore_out"
after=$(snapshot "$dst")
for what in store rfm sources opt_outs models versions components weights runs history scores; do
  check "$what round-trips exactly" "$(grep "^$what|" <<<"$before")" "$(grep "^$what|" <<<"$after")"
done
check "the shipped default model is there once, still published" "1|published" \
  "$(q -d "$dst" -c "SELECT count(*), min(status) FROM customer_score.model_versions WHERE model = 'default'")"
check "published versions stay immutable after restore" "55000" \
  "$(sqlstate "$dst" "UPDATE customer_score.model_components SET weight = 3 WHERE model = 'vip' AND version = 1")"
check "the restored database refreshes on, with new run ids" "t" \
  "$(q -d "$dst" -c "SET client_min_messages = warning" \
       -c "SELECT customer_score.refresh('vip', '2024-07-31') > (SELECT max(run_id) FROM customer_score.score_runs WHERE as_of < '2024-07-31')" | tail -n 1)"
check "stored types are usable after restore" "t" \
  "$(q -d "$dst" -c "SELECT customer_score.bgnbd_fit(customer_score.bgnbd_merge(purchase_state))::text = purchases::text FROM crm.models_store GROUP BY purchases::text")"

q -d postgres -c "DROP DATABASE $src" -c "DROP DATABASE $dst" >/dev/null
echo "1..$_tap_n"
