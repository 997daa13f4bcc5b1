#!/usr/bin/env bash
# Memory follows the settings: customer_score.max_state_size bounds every state that grows with
# its input (a customer's rows in rfm, the distinct histories of a fit).  Ten concurrent sessions
# each build the largest state the setting allows (rfm of one customer, Gamma-Gamma fits and
# BG/NBD states of distinct histories); the server neither crashes nor runs out of memory, each
# backend's peak stays within a bound of the setting, and one more row past the limit is a clear
# error naming the setting.
set -u
source "$REPO/test/lib/tap.sh"

db=cs_memory
limit_mb=32
rfm_rows=2000000          # 16 bytes a row: just under 32 MB
histories=1000000         # 32 bytes a distinct history: just under 32 MB
bound_mb=$((limit_mb * 4 + 160))   # the state, its copy while it grows, a fit's arrays, the backend
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d "$db" -c "CREATE EXTENSION customer_score" >/dev/null

check "the setting exists, 256MB by default" "256MB" "$(q -d "$db" -c "LOAD 'customer_score'" -c "SHOW customer_score.max_state_size")"

# session KIND N: one backend building the largest allowed state, then its peak memory (VmHWM)
session() {
  local kind=$1 n=$2 sql
  case $kind in
    rfm) sql="SELECT (customer_score.rfm(at, amount, '2100-01-01'::timestamptz)).frequency > 0
              FROM (SELECT '1990-01-01'::timestamptz + g * interval '1 minute' AS at, 1.0::float8 AS amount
                    FROM generate_series(1, $n) g) x" ;;
    fit) sql="SELECT customer_score.gamma_gamma_fit(1 + g % 7, 1 + g * 1e-4) IS NOT NULL FROM generate_series(1, $n) g" ;;
    state) sql="SELECT length(customer_score.bgnbd_partial(1 + g % 7, (g % 997) * 0.03, 30 + g * 1e-6)::text) > 0
                FROM generate_series(1, $n) g" ;;
  esac
  psql -X -q -At -d "$db" -v ON_ERROR_STOP=1 <<SQL 2>&1
SET customer_score.max_state_size = '${limit_mb}MB';
SET work_mem = '64MB';
SELECT pg_backend_pid() AS pid \gset
$sql;
\setenv CS_BACKEND_PID :pid
\! awk '/VmHWM/ { print "peak_kb", \$2 }' /proc/\$CS_BACKEND_PID/status
SQL
}

out=$(mktemp -d)
for i in 0 1 2 3 4 5 6 7 8 9; do
  case $((i % 3)) in
    0) session rfm "$rfm_rows" >"$out/$i" & ;;
    1) session fit "$histories" >"$out/$i" & ;;
    2) session state "$histories" >"$out/$i" & ;;
  esac
done
wait
ok=0 peak=0
for i in 0 1 2 3 4 5 6 7 8 9; do
  grep -qx t "$out/$i" && ok=$((ok + 1))
  p=$(awk '/^peak_kb/ { print $2 }' "$out/$i")
  ((${p:-0} > peak)) && peak=${p:-0}
done
echo "# ten sessions at a ${limit_mb} MB max_state_size: the largest backend peaked at $((peak / 1024)) MB"
check "ten concurrent sessions, each with the largest state the setting allows, all succeed" "10" "$ok"
check "every backend's peak memory stays under $bound_mb MB" "yes" \
  "$( ((peak > 0 && peak < bound_mb * 1024)) && echo yes || echo "no: $((peak / 1024)) MB")"
check "the server is still up, no backend crashed" "1" "$(q -d "$db" -c "SELECT 1")"
grep -h "" "$out"/* | grep -v '^t$\|^peak_kb' | sed 's/^/# /' | head -n 10
rm -rf "$out"

over() {   # the SQLSTATE and message of a state one element past the limit
  psql -X -q -At -d "$db" -c "SET customer_score.max_state_size = '${limit_mb}MB'" -c "$1" 2>&1 >/dev/null | head -n 1
}
check "rfm past the limit: 54000 naming the setting" "t" \
  "$(over "SELECT customer_score.rfm(at, 1.0, '2100-01-01') FROM (SELECT '1990-01-01'::timestamptz + g * interval '1 minute' AS at FROM generate_series(1, 2100000) g) x" |
     grep -q 'rfm state of [0-9]* rows would take more than customer_score.max_state_size' && echo t || echo f)"
check "a fit past the limit: the same error" "t" \
  "$(over "SELECT customer_score.gamma_gamma_fit(1 + g % 7, 1 + g * 1e-4) FROM generate_series(1, 1100000) g" |
     grep -q 'would take more than customer_score.max_state_size' && echo t || echo f)"
check "raised for the session, the same input works" "t" \
  "$(q -d "$db" -c "SET customer_score.max_state_size = '64MB'" \
       -c "SELECT customer_score.gamma_gamma_fit(1 + g % 7, 1 + g * 1e-4) IS NOT NULL FROM generate_series(1, 1100000) g")"

q -d postgres -c "DROP DATABASE $db" >/dev/null
echo "1..$_tap_n"
