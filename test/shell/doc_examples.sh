#!/usr/bin/env bash
# The documentation's examples run, and show what the docs say they show: every ```sql block of
# the sections listed below runs in one psql session per section, and where a statement is
# followed by comment lines ("-- ..."), they are its expected output, compared with what psql
# prints (aligned, without the row-count footer; spaces, column bars and rule lines ignored, so
# that the docs may wrap long rows). The README quick start runs in a database with
# demo.transactions made as scripts/demo makes it, from the shared CDNOW sample.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_doc_examples
export PGTZ=UTC
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
bash "$REPO/test/load-fixtures.sh" "$db" >/dev/null 2>&1
q -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION customer_score" \
  -c "CREATE SCHEMA demo" \
  -c "CREATE TABLE demo.transactions AS
      SELECT customer_id, day::timestamptz AS purchased_at, amount::numeric AS amount FROM fixture.cdnow_sample" >/dev/null
check "the CDNOW sample is there to run the examples on" "6919" \
  "$(q -d "$db" -c "SELECT count(*) FROM demo.transactions")"

# examples FILE HEADING: the section's statements, each followed by a line "#expect <text>" per
# expected-output comment line; one statement per line group, as psql runs them.
examples() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
path, heading = sys.argv[1], sys.argv[2]
text = open(path).read()
start = text.index(heading + "\n")
end = text.find("\n## ", start + len(heading))
section = text[start:end if end >= 0 else len(text)]
for block in re.findall(r"```sql\n(.*?)```", section, re.S):
    for line in block.splitlines():
        if line.startswith("--"):
            print("#expect " + line[2:])
        else:
            print(line)
PY
}

# run_section FILE HEADING: runs the statements in order; checks each one with expected output.
run_section() {
  local file=$1 heading=$2 sql="" expect="" n=0 line out
  while IFS= read -r line; do
    if [[ $line == "#expect "* ]]; then
      expect+="${line#\#expect }"$'\n'
      continue
    fi
    if [[ -n $expect ]]; then compare; fi
    sql+="$line"$'\n'
  done < <(examples "$REPO/$file" "$heading")
  [[ -z $expect ]] || compare
  # the statements after the last expected output still have to run
  out=$(psql -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$db" 2>&1 <<<"$sql")
  check "$file, $heading: the rest of the examples run" "0" "$?"
}
# compare: the statements collected so far run; the last one's output must match $expect
norm() { sed -E 's/-{2,}//g; s/[|+[:space:]]//g' | tr -d '\n'; }
compare() {
  local out
  n=$((n + 1))
  out=$(psql -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$db" 2>&1 <<<"$sql")
  if [[ $(norm <<<"$out") == *"$(norm <<<"$expect")" ]]; then
    check "$file, $heading: example $n shows what the docs say" "" ""
  else
    check "$file, $heading: example $n shows what the docs say" "$expect" "$out"
  fi
  sql="" expect=""
}

run_section README.md "## Quick start"
# the reference pages' examples use SET search_path = customer_score, public
PGOPTIONS="${PGOPTIONS:-} -c search_path=customer_score,public" run_section docs/scores.md "## How transactions are counted"
echo "1..$_tap_n"
