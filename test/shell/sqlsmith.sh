#!/usr/bin/env bash
# sqlsmith (Debian's package) sends a bounded number of random queries to a database with the
# extension and sample data loaded, as a non-superuser that owns the database (the extension is
# trusted), and the server must survive them all: no backend terminated by a signal, no crash
# restart, the postmaster still the same process, and no internal error (XX000) raised by the
# extension's own code.  Ordinary errors (most random queries fail) are expected and summarised.
#
# CS_SQLSMITH_QUERIES (default 8000, about 60-90 s on 2 cores) and CS_SQLSMITH_SEED (default:
# random, printed) reproduce a run; CS_SQLSMITH_TIMEOUT (default 180 s) bounds it whatever happens.
# sqlsmith runs each statement in a transaction it rolls back, with statement_timeout = 1s.
# On a failure the generated queries are kept in .tmp/sqlsmith-queries.sql.
set -u
n=0
check() {   # check DESCRIPTION OK(0/1) [DIAGNOSTICS]
  n=$((n + 1))
  if [[ $2 == 0 ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
  [[ -z ${3:-} ]] || printf '%s\n' "$3" | sed 's/^/# /'
}
db=cs_sqlsmith role=cs_sqlsmith
queries=${CS_SQLSMITH_QUERIES:-8000}
seed=${CS_SQLSMITH_SEED:-$(( (RANDOM << 15 | RANDOM) % 2000000000 ))}
limit=${CS_SQLSMITH_TIMEOUT:-180}
: "${CLUSTER_DIR:?run me from test/run}" "${REPO:?run me from test/run}"
log=$CLUSTER_DIR/server.log
work=$(mktemp -d)
trap 'rm -rf "$work"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@" 2>&1; }

if ! command -v sqlsmith >/dev/null; then
  echo "1..0 # SKIP sqlsmith is not installed (scripts/ensure-deps.sh installs it)"
  exit 0
fi

# ---- the database: the extension, a CRM schema with sample data, fitted models and scores ----
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $role" >/dev/null
q -d postgres -c "CREATE ROLE $role LOGIN NOSUPERUSER" -c "CREATE DATABASE $db OWNER $role" >/dev/null
# every error with its SQLSTATE and source location, to tell internal errors of ours from others
q -d postgres -c "ALTER DATABASE $db SET log_error_verbosity = verbose" >/dev/null
setup() {
  local -
  set -o pipefail
  q -U $role -d $db -c "CREATE EXTENSION customer_score" || return 1
  # the extension's tables belong to the bootstrap superuser (trusted extension): grant them
  q -d $db -c "GRANT ALL ON ALL TABLES IN SCHEMA customer_score TO $role" \
           -c "GRANT ALL ON ALL SEQUENCES IN SCHEMA customer_score TO $role" || return 1
  q -U $role -d $db <<'SQL' || return 1
CREATE SCHEMA crm;
CREATE TABLE crm.transactions (customer_id bigint, at timestamptz, amount float8);
CREATE TABLE crm.actions (id bigint PRIMARY KEY, customer_id bigint, sparked_by bigint, at timestamptz,
                          value float8, channel text, kind text, topic text);
CREATE TABLE crm.signals (customer_id bigint, component text, value float8);
SQL
  # CDNOW sample transactions from the fixtures (synthetic ones if the shared data is missing)
  psql -X -q -v ON_ERROR_STOP=1 -d cs_regress \
    -c "\\copy (SELECT customer_id, day::timestamptz, amount FROM fixture.cdnow_sample) TO STDOUT" |
    q -U $role -d $db -c "\\copy crm.transactions FROM STDIN" || return 1
  q -U $role -d $db <<'SQL' || return 1
SET timezone = 'UTC';
INSERT INTO crm.transactions
SELECT 1 + i % 500, '1997-01-01'::timestamptz + (i * 7919 % 540) * interval '1 day', (i * 37 % 200) + 0.99
FROM generate_series(1, 3000) i WHERE NOT EXISTS (SELECT FROM crm.transactions);
-- actions: the first 600 purchases, each sparked by an earlier action (a quarter by nobody)
INSERT INTO crm.actions
SELECT id, customer_id, CASE WHEN id % 4 = 1 THEN NULL ELSE id - 1 - (id * 7919 % least(id - 1, 40)) END,
       at, CASE WHEN id % 5 = 0 THEN amount ELSE 0 END,
       (ARRAY['web', 'app', 'community', 'email', 'store'])[1 + id % 5],
       (ARRAY['purchase', 'review', 'answer', 'like', 'visit', 'blog_post'])[1 + id % 6],
       (ARRAY['music', 'books', NULL])[1 + id % 3]
FROM (SELECT row_number() OVER (ORDER BY at, customer_id, amount) AS id, * FROM crm.transactions) t
WHERE id <= 600;
INSERT INTO crm.signals SELECT DISTINCT customer_id, 'nps', customer_id % 11 FROM crm.transactions WHERE customer_id % 3 = 0;
INSERT INTO customer_score.opt_outs (customer_id, reason) VALUES (3, 'asked not to be tracked');

-- values of every type of the extension, in tables sqlsmith can read
CREATE TABLE crm.summaries AS
  SELECT customer_id, (customer_score.rfm(at, amount, '1998-06-30', '7 days')).* FROM crm.transactions GROUP BY customer_id;
CREATE TABLE crm.rfm_states AS
  SELECT customer_id, customer_score.rfm_partial(at, amount, '1998-06-30', '7 days') AS state
  FROM crm.transactions GROUP BY customer_id;
CREATE TABLE crm.fit_states AS
  SELECT customer_id % 4 AS segment, customer_score.bgnbd_partial(frequency, recency, t) AS purchases,
         customer_score.gamma_gamma_partial(frequency, monetary) FILTER (WHERE frequency > 0 AND monetary > 0) AS spend
  FROM crm.summaries GROUP BY 1;
CREATE TABLE crm.models AS
  SELECT segment, customer_score.bgnbd_fit(purchases) AS purchases, customer_score.gamma_gamma_fit(spend) AS spend
  FROM crm.fit_states;
INSERT INTO crm.models VALUES (-1, '(r=0.243,alpha=4.414,a=0.793,b=2.426)', '(p=6.25,q=3.74,v=15.44)');

-- the set-returning functions, which sqlsmith does not call itself, behind views
CREATE VIEW crm.influence AS SELECT * FROM customer_score.influence(
  'SELECT id, customer_id, sparked_by, at, value, channel, kind, topic FROM crm.actions', '1998-06-30', by_topic => true);
CREATE VIEW crm.influence_trace AS SELECT * FROM customer_score.influence_trace(
  'SELECT id, customer_id, sparked_by, at, value, channel, kind FROM crm.actions',
  (SELECT customer_id FROM crm.actions WHERE id = 2), '1998-06-30', attribution => 'linear',
  touches => 'SELECT id AS action_id, sparked_by AS touched_by FROM crm.actions WHERE sparked_by IS NOT NULL');
CREATE VIEW crm.influence_rank AS SELECT * FROM customer_score.influence_rank(
  'SELECT a.customer_id AS source, b.customer_id AS target FROM crm.actions b JOIN crm.actions a ON a.id = b.sparked_by');

-- scores: sources, a model of our own with a signal, two runs of each (score_changes has rows)
SELECT customer_score.set_source('transactions', 'crm.transactions');
SELECT customer_score.set_source('actions', 'crm.actions');
SELECT customer_score.set_source('signals', 'crm.signals');
SELECT customer_score.new_version('smith', 'historic value, influence and NPS');
INSERT INTO customer_score.model_components (model, version, position, component, weight, normalization, missing) VALUES
  ('smith', 1, 1, 'historic_value', 0.5, 'log', 'renormalize'),
  ('smith', 1, 2, 'influence_value', 0.3, 'zscore', 'zero'),
  ('smith', 1, 3, 'nps', 0.2, 'minmax', 'neutral');
SELECT customer_score.publish('smith', 1);
SET client_min_messages = warning;
SELECT customer_score.refresh('default', '1998-03-31'), customer_score.refresh('default', '1998-06-30');
SELECT customer_score.refresh('smith', '1998-03-31'), customer_score.refresh('smith', '1998-06-30');
ANALYZE;
SQL
}
setup >"$work/setup.log" 2>&1
setup_rc=$?
check "the extension, sample data, fitted models and two refreshes are set up" "$setup_rc" "$( ((setup_rc == 0)) || cat "$work/setup.log")"
((setup_rc == 0)) || exit 1
rows=$(q -U $role -d $db -c "SELECT (SELECT count(*) FROM crm.transactions) || ' transactions, ' ||
  (SELECT count(*) FROM crm.actions) || ' actions, ' || (SELECT count(*) FROM customer_score.scores) || ' scores, ' ||
  (SELECT count(*) FROM customer_score.score_explanation) || ' explanation rows, ' ||
  (SELECT count(*) FROM crm.influence) || ' influence rows'")
echo "# data: $rows"

# ---- the random queries ---------------------------------------------------------------------
pid_before=$(head -n 1 "$CLUSTER_DIR/data/postmaster.pid")
offset=$(stat -c %s "$log")
target="host=$PGHOST port=$PGPORT dbname=$db user=$role"
echo "# sqlsmith --seed=$seed --max-queries=$queries --exclude-catalog --target=\"$target\""
start=$SECONDS
timeout -k 10 "$limit" sqlsmith --target="$target" --seed="$seed" --max-queries="$queries" \
  --exclude-catalog --verbose --dump-all-queries >"$work/queries.sql" 2>"$work/sqlsmith.log"
rc=$?
elapsed=$((SECONDS - start))
ran=$(grep -c ';$' "$work/queries.sql")
echo "# $ran queries in $elapsed s (sqlsmith exit status $rc)"
# sqlsmith's closing report: the commonest errors and the error rate
awk '/^queries: /{ report = "" } { report = report $0 "\n" } END { printf "%s", report }' "$work/sqlsmith.log" |
  sed -n '/^queries: /,/^impedance report/p' | grep -v '^impedance' | head -n 16 | sed 's/^/# /'
# how much of the extension the random queries reached
used=$(awk 'BEGIN { RS = ";\n" } /customer_score\./ { n++ } END { print n + 0 }' "$work/queries.sql")
calls=$(grep -oE 'customer_score\.[a-z_0-9]+\(' "$work/queries.sql" | wc -l)
funcs=$(grep -oE 'customer_score\.[a-z_0-9]+\(' "$work/queries.sql" | sort -u | wc -l)
echo "# $used queries used the extension's tables, views or functions: $calls calls of $funcs distinct functions"
# progress lines: one character per query, e = error, t = timeout, c = connection lost
broken=$(grep -E '^[.ecst]+$' "$work/sqlsmith.log" | tr -cd 'c' | wc -c)
timeouts=$(grep -E '^[.ecst]+$' "$work/sqlsmith.log" | tr -cd 't' | wc -c)
echo "# $timeouts statement timeouts (1 s), $broken lost connections" 

# ---- the verdict ----------------------------------------------------------------------------
tail -c +"$((offset + 1))" "$log" >"$work/server.log"
smith_ok=1
((rc == 0 || rc == 124)) && ((ran > 0)) && smith_ok=0
check "sqlsmith ran to its query limit (or its time limit) without failing itself" "$smith_ok" \
  "$( ((smith_ok == 0)) || tail -n 5 "$work/sqlsmith.log")"
# (a parallel worker that raised an error exits with code 1 and is logged: that is no crash)
crashes=$(grep -E 'terminated by signal|terminated by exception|terminating any other active server processes|all server processes terminated|PANIC:' "$work/server.log")
check "no backend crashed (server log since the start of the run)" "$([[ -z $crashes ]] && echo 0 || echo 1)" \
  "$( [[ -z $crashes ]] || { echo "$crashes" | head -n 20; grep -A3 'Failed process was running' "$work/server.log" | head -n 40; })"
check "the postmaster is the same process ($pid_before)" \
  "$([[ -f $CLUSTER_DIR/data/postmaster.pid && $(head -n 1 "$CLUSTER_DIR/data/postmaster.pid") == "$pid_before" ]] &&
     kill -0 "$pid_before" 2>/dev/null && echo 0 || echo 1)"
check "the server still answers" "$([[ $(q -d $db -c 'SELECT 1') == 1 ]] && echo 0 || echo 1)"
# internal errors raised from a function defined in src/*.c (log_error_verbosity = verbose)
ours=$(grep -hoE '^[a-z_][a-z_0-9]*\(' "$REPO"/src/*.c | tr -d '(' | sort -u | paste -sd '|')
internal=$(grep -A1 -E 'ERROR:  XX000:' "$work/server.log" | grep -E "LOCATION:  ($ours), [a-z_]+\.c:" -B1)
all_internal=$(grep -c -E 'ERROR:  XX000:' "$work/server.log")
check "no internal error (XX000) from the extension's code ($all_internal XX000 in all, from PostgreSQL itself)" \
  "$([[ -z $internal ]] && echo 0 || echo 1)" "$internal"
grep -E 'ERROR:  XX000:' "$work/server.log" | sed 's/.*ERROR:  XX000: //' | sort | uniq -c | sort -rn | head -n 5 |
  sed 's/^ */# XX000 from PostgreSQL: /'
echo "# errors by SQLSTATE class: $(grep -oE 'ERROR:  [0-9A-Z]{5}:' "$work/server.log" | cut -c9-10 | sort | uniq -c | sort -rn | head -n 12 | awk '{ printf "%s=%s ", $2, $1 }')"

failed=$( [[ -z $crashes && -z $internal ]] || echo 1)
if [[ -n $failed ]]; then
  mkdir -p "$REPO/.tmp" && cp "$work/queries.sql" "$REPO/.tmp/sqlsmith-queries.sql" &&
    cp "$work/server.log" "$REPO/.tmp/sqlsmith-server.log" &&
    echo "# queries kept in .tmp/sqlsmith-queries.sql, the server log in .tmp/sqlsmith-server.log (seed $seed)"
fi
echo "1..$n"
