#!/usr/bin/env bash
# The documentation's examples run, and show what the docs say they show: every ```sql block of
# README.md and docs/*.md runs, in order, in one psql session per file, and the output the docs
# show after a statement is compared with what psql prints (the rule is in test/lib/doc_examples.py).
# Each file runs in a fresh database with the fixtures of test/load-fixtures.sh and
# demo.transactions made as scripts/demo makes it, from the shared CDNOW sample; the docs/ pages
# run after CREATE EXTENSION customer_score, with search_path public, customer_score, as their
# introductions say. Blocks marked
# "<!-- example: not run: REASON -->" are not run; they are counted and listed here.
set -u
source "$REPO/test/lib/tap.sh"
export PGTZ=UTC
template=cs_doc_examples
q -d postgres -c "DROP DATABASE IF EXISTS $template" -c "CREATE DATABASE $template" >/dev/null
bash "$REPO/test/load-fixtures.sh" "$template" >/dev/null 2>&1
q -d "$template" -c "SET client_min_messages = warning" -c "CREATE SCHEMA demo" \
  -c "CREATE TABLE demo.transactions AS
      SELECT customer_id, day::timestamptz AS purchased_at, amount::numeric AS amount FROM fixture.cdnow_sample" >/dev/null
check "the CDNOW sample is there to run the examples on" "6919" \
  "$(q -d "$template" -c "SELECT count(*) FROM demo.transactions")"

skipped=()
for file in README.md docs/*.md; do
  db=cs_doc_example
  q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $template" >/dev/null
  opts=${PGOPTIONS:-}
  if [[ $file == docs/* ]]; then
    opts+=" -c search_path=public,customer_score"
    q -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION customer_score" >/dev/null
  fi
  while IFS= read -r line; do
    case $line in
      "#count "*) _tap_n=$((_tap_n + ${line#\#count })) ;;
      "#skipped "*) skipped+=("${line#\#skipped }") ;;
      *) echo "$line" ;;
    esac
  done < <(cd "$REPO" && PGOPTIONS=$opts /usr/bin/python3 "$REPO/test/lib/doc_examples.py" "$file" "$db" $((_tap_n + 1)))
  q -d postgres -c "DROP DATABASE $db" >/dev/null
done
echo "# ${#skipped[@]} blocks not run:"
printf '#   %s\n' "${skipped[@]}"
q -d postgres -c "DROP DATABASE $template" >/dev/null
echo "1..$_tap_n"
