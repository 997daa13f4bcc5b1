#!/usr/bin/env bash
# Every long call stops when asked: each long entry point, on data big enough to run for seconds,
# is stopped by statement_timeout (or pg_cancel_backend) after a moment, and the cancel error
# must arrive within a bound.  A latency bound here is a correctness check (a call that ignores
# interrupts runs to its end), not a speed test, so it is generous: 600 ms past the moment.
# The measured latencies are printed as TAP comments.
set -u
source "$REPO/test/lib/tap.sh"

db=cs_cancel
slack_ms=600
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION customer_score;
SET client_min_messages = warning;
-- a million customers with continuous (all distinct) times: the fits' worst case
CREATE TABLE histories AS
SELECT (g % 12)::int AS x, (random() * 30)::float8 AS t_x, (30 + random() * 9)::float8 AS t,
       (5 + random() * 95)::float8 AS m
FROM generate_series(1, 1000000) g;
UPDATE histories SET t_x = 0 WHERE x = 0;
CREATE TABLE bg_state AS SELECT customer_score.bgnbd_partial(x, t_x, t) AS s FROM histories;
CREATE TABLE gg_state AS SELECT customer_score.gamma_gamma_partial(x, m) AS s FROM histories WHERE x > 0;
-- one customer with four million rows on as many days
CREATE TABLE one_customer AS
SELECT '1990-01-01'::timestamptz + g * interval '1 hour' AS at, (g % 97)::float8 AS amount
FROM generate_series(1, 4000000) g;
CREATE TABLE rfm_big_state AS
SELECT customer_score.rfm_partial(at, amount, '2500-01-01'::timestamptz) AS s FROM one_customer;
SQL
check "the inputs were built" "1 1 1" \
  "$(q -d "$db" -c "SELECT (SELECT count(*) FROM bg_state) || ' ' || (SELECT count(*) FROM gg_state) || ' ' || (SELECT count(*) FROM rfm_big_state)")"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# answer EXPECTED OUTPUT: EXPECTED if the output holds it, else what the output said instead
answer() {
  grep -o -m 1 "$1" <<<"$2" && return
  [[ -n $2 ]] && head -n 3 <<<"$2" | tr '\n' ' ' || echo "(no error: the statement ran to its end)"
}

# stops_on_timeout DESCRIPTION TIMEOUT_MS SQL: the statement must fail with 57014 no later than
# slack_ms after the timeout.
stops_on_timeout() {
  local what=$1 timeout=$2 sql=$3 start out elapsed late
  start=$(now_ms)
  out=$(psql -X -q -At -d "$db" -c "SET statement_timeout = '${timeout}ms'" -c "$sql" 2>&1 >/dev/null)
  elapsed=$(($(now_ms) - start))
  late=$((elapsed - timeout))
  echo "# $what: stopped $late ms after a ${timeout} ms statement_timeout ($elapsed ms in all)"
  check "$what answers statement_timeout" "canceling statement due to statement timeout" \
    "$(answer 'canceling statement due to statement timeout' "$out")"
  check "$what stops within $slack_ms ms of it" "yes" "$( ((late <= slack_ms)) && echo yes || echo "no: $late ms")"
}

# stops_on_cancel DESCRIPTION SQL [DELAY_S]: pg_cancel_backend after DELAY_S seconds (default 1),
# well inside the statement's run; the error must follow within slack_ms.
stops_on_cancel() {
  local what=$1 sql=$2 delay=${3:-1} out pid cancelled late
  out=$(mktemp)
  # found by a comment in its text (refresh sets application_name as it goes)
  psql -X -q -At -d "$db" -c "/* cs_cancel_probe */ $sql" >/dev/null 2>"$out" &
  pid=$!
  sleep "$delay"
  cancelled=$(now_ms)
  q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '/* cs_cancel_probe */%' AND pid <> pg_backend_pid()" >/dev/null
  wait "$pid"
  late=$(($(now_ms) - cancelled))
  echo "# $what: stopped $late ms after pg_cancel_backend"
  check "$what answers pg_cancel_backend" "canceling statement due to user request" \
    "$(answer 'canceling statement due to user request' "$(cat "$out")")"
  check "$what stops within $slack_ms ms of it" "yes" "$( ((late <= slack_ms)) && echo yes || echo "no: $late ms")"
  rm -f "$out"
}

# clv over a horizon of 100,000 steps whose every step needs the quadrature
clv_sql="SELECT customer_score.clv(customer_score.bgnbd(0.243, 4.414, 1e-5, 2.426),
                                   customer_score.gamma_gamma(6.25, 3.74, 15.44), 0, 0, 38, 40, 100000, 0.01, 1)"
stops_on_timeout "clv (100,000 steps of quadrature)" 1000 "$clv_sql"
stops_on_cancel "clv (100,000 steps of quadrature)" "$clv_sql"
# the fit takes about a second: the timeout and the cancel come well before its end
stops_on_timeout "bgnbd_fit of a million distinct histories (the fit itself)" 300 \
  "SELECT customer_score.bgnbd_fit(s) FROM bg_state"
stops_on_cancel "bgnbd_fit of a million distinct histories (the fit itself)" \
  "SELECT customer_score.bgnbd_fit(s) FROM bg_state" 0.3
stops_on_timeout "gamma_gamma_fit of a million distinct histories" 500 \
  "SELECT customer_score.gamma_gamma_fit(s) FROM gg_state"
stops_on_timeout "bgnbd_fit over raw rows (transitions, then the fit)" 800 \
  "SELECT customer_score.bgnbd_fit(x, t_x, t) FROM histories"
stops_on_timeout "rfm of one customer with four million rows" 1000 \
  "SELECT customer_score.rfm(at, amount, '2500-01-01'::timestamptz) FROM one_customer"
stops_on_timeout "rfm(state) of a stored four-million-row state" 300 \
  "SELECT customer_score.rfm(s) FROM rfm_big_state"
stops_on_timeout "the text output of that state" 300 \
  "SELECT length(s::text) FROM rfm_big_state"
stops_on_timeout "influence over two million actions" 500 \
  "SELECT count(*) FROM customer_score.influence(
     'SELECT g AS id, g % 50000 AS customer_id, CASE WHEN g > 50000 THEN g / 2 END AS sparked_by,
             ''2024-01-01''::timestamptz + g * interval ''1 second'' AS at, 10.0 AS value,
             ''web'' AS channel, ''purchase'' AS kind FROM generate_series(1, 2000000) g', '2025-01-01')"
# (the result is used: an unused window column is planned away, leaving a bare count)
stops_on_timeout "normalized over four million rows" 1000 \
  "SELECT max(v) FROM (SELECT customer_score.normalized(amount, 'percentile') OVER () AS v FROM one_customer) n"

# refresh over two million transactions of 200,000 customers, and the live-score trigger
q -d "$db" >/dev/null <<'SQL'
CREATE TABLE tx AS
SELECT (g % 200000)::bigint AS customer_id, '2020-01-01'::timestamptz + (g % 1500) * interval '1 day' + (g % 7) * interval '1 hour' AS at,
       (g % 90 + 5)::float8 AS amount
FROM generate_series(1, 2000000) g;
SELECT customer_score.set_source('transactions', 'tx');
CREATE TABLE tracked (customer_id bigint, at timestamptz, amount float8);
SELECT customer_score.track_transactions('tracked');
SQL
stops_on_timeout "refresh over two million transactions" 1500 "SELECT customer_score.refresh('default', '2024-06-30')"
stops_on_cancel "refresh over two million transactions" "SELECT customer_score.refresh('default', '2024-06-30')"
stops_on_timeout "the live-score trigger under a two-million-row insert" 1500 "INSERT INTO tracked SELECT * FROM tx"
check "nothing of the cancelled runs is kept" "0 0" \
  "$(q -d "$db" -c "SELECT (SELECT count(*) FROM customer_score.score_runs) || ' ' || (SELECT count(*) FROM tracked)")"

q -d postgres -c "DROP DATABASE $db" >/dev/null
echo "1..$_tap_n"
