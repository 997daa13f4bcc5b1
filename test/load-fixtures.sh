#!/usr/bin/env bash
# test/load-fixtures.sh DBNAME — (re)create schema `fixture` in DBNAME and load the shared
# reference data (../shared/data beside the repo) into it.
# Connection comes from the usual PG* variables (test/run exports them via cluster_start).
# Files are converted here (awk) and streamed with psql's client-side \copy ... FROM pstdin,
# so the server never reads a file: it may run as another user or on another host.
# shellcheck disable=SC2016  # the single-quoted $1, $2 ... below are awk's, not the shell's
set -euo pipefail

db=${1:?usage: test/load-fixtures.sh DBNAME}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/cluster.sh
source "$here/../scripts/cluster.sh"   # for shared_data_dir (defines functions only)

# -X: ignore ~/.psqlrc; client_min_messages: no NOTICE chatter from DROP ... CASCADE.
psql_db() { PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql_db <<'SQL'
DROP SCHEMA IF EXISTS fixture CASCADE;
CREATE SCHEMA fixture;
COMMENT ON SCHEMA fixture IS 'shared reference data for tests (test/load-fixtures.sh)';
-- CDNOW 1/10 sample: master id, sample id 1..2357, purchase day, CDs, USD.
CREATE TABLE fixture.cdnow_sample (master_id int, customer_id int, day date, cds int, amount float8);
-- CDNOW full Q1-1997 cohort.
CREATE TABLE fixture.cdnow_master (customer_id int, day date, cds int, amount float8);
-- Hardie's CDNOW calibration summary (weeks): frequency = x, recency = t_x, t = T.
CREATE TABLE fixture.cdnow_summary (id int, frequency int, recency float8, t float8);
-- Same with zbar, the mean value of repeat purchases (USD).
CREATE TABLE fixture.cdnow_summary_tx (id int, x int, t_x float8, t float8, zbar float8);
-- CLVTools apparel data, current (2024) and older (pre-2024-09-15) versions.
CREATE TABLE fixture.apparel_tx (id int, day date, price float8);
CREATE TABLE fixture.apparel2020_tx (id int, day date, price float8);
-- lifetimes simulated transactions.
CREATE TABLE fixture.example_tx (at timestamp, id int);
-- BTYDplus online grocery event log: no spend.
CREATE TABLE fixture.grocery_tx (customer_id int, day date);
SQL

if ! data=$(shared_data_dir); then
  echo "load-fixtures: WARNING: shared data directory $(dirname "$REPO")/shared/data not found;" \
       "fixture tables are left empty" >&2
  exit 0
fi

# load TABLE FILE AWK-PROGRAM: convert FILE to CSV with awk and \copy it into TABLE.
# Every program first strips the CR of CRLF files (the CDNOW files have them) and skips blanks.
load() {
  local table=$1 file=$data/$2 prog=$3
  [[ -r $file ]] || { echo "load-fixtures: missing $file" >&2; exit 1; }
  awk '{ sub(/\r$/, "") } NF == 0 { next } '"$prog" "$file" |
    psql_db -c "\\copy fixture.$table FROM pstdin WITH (FORMAT csv)"
}

# yyyymmdd -> yyyy-mm-dd; ids like 00004 -> 4.
ymd='function ymd(s) { return substr(s, 1, 4) "-" substr(s, 5, 2) "-" substr(s, 7, 2) }'
load cdnow_sample     CDNOW_sample.txt  "$ymd"' { print $1+0 "," $2+0 "," ymd($3) "," $4 "," $5 }'
load cdnow_master     CDNOW_master.txt  "$ymd"' NR > 1 { print $1+0 "," ymd($2) "," $3 "," $4 }'
# The CSVs have a header line; they are already in the column order of their tables.
load cdnow_summary    cdnow_customers_summary.csv                   'NR > 1'
load cdnow_summary_tx cdnow_customers_summary_with_transactions.csv 'NR > 1'
load apparel_tx       apparelTrans.csv                              'NR > 1'
load apparel2020_tx   apparelTrans_2020.csv                         'NR > 1'
load example_tx       example_transactions.csv                      'NR > 1'
load grocery_tx       groceryElog.csv                               'NR > 1'

psql_db -c 'ANALYZE fixture.cdnow_sample, fixture.cdnow_master, fixture.cdnow_summary,
  fixture.cdnow_summary_tx, fixture.apparel_tx, fixture.apparel2020_tx, fixture.example_tx, fixture.grocery_tx'

# Row counts from ../shared/data/README.md: a mismatch means a broken file or conversion.
bad=$(psql_db -At -F ' ' <<'SQL'
SELECT t, n, expected FROM (VALUES
  ('cdnow_sample',     (SELECT count(*) FROM fixture.cdnow_sample),      6919),
  ('cdnow_master',     (SELECT count(*) FROM fixture.cdnow_master),     69659),
  ('cdnow_summary',    (SELECT count(*) FROM fixture.cdnow_summary),     2357),
  ('cdnow_summary_tx', (SELECT count(*) FROM fixture.cdnow_summary_tx),  2357),
  ('apparel_tx',       (SELECT count(*) FROM fixture.apparel_tx),        3187),
  ('apparel2020_tx',   (SELECT count(*) FROM fixture.apparel2020_tx),    2353),
  ('example_tx',       (SELECT count(*) FROM fixture.example_tx),       15273),
  ('grocery_tx',       (SELECT count(*) FROM fixture.grocery_tx),       10483)
) AS c(t, n, expected) WHERE n <> expected
SQL
)
if [[ -n $bad ]]; then
  echo "load-fixtures: ERROR: unexpected row counts (table, loaded, expected):" >&2
  echo "$bad" >&2
  exit 1
fi
