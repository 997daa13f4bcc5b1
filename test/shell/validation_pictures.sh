#!/usr/bin/env bash
# The validation pictures: scripts/validation-plots (which scripts/demo calls) draws the tracking
# plot, the conditional-expectation plot, the period-transactions histogram and the P(alive)
# heat map from the extension's SQL on CDNOW, and every one is a non-empty PNG.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_validation_pictures
out=$CLUSTER_DIR/validation_pictures

q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d "$db" -c "CREATE EXTENSION customer_score" -c "CREATE SCHEMA fixture" >/dev/null
pg_dump -t fixture.cdnow_sample -d cs_regress | q -d "$db" >/dev/null
rows=$(q -d "$db" -c "SELECT count(*) FROM fixture.cdnow_sample")
if [[ $rows == 0 ]]; then
  for f in plots tracking conditional period_transactions p_alive; do
    echo "ok $((++_tap_n)) - $f # SKIP no shared CDNOW data"
  done
  echo "1..$_tap_n"; exit 0
fi

rm -rf "$out"
made=$(PGDATABASE=$db bash "$REPO/scripts/validation-plots" "$out" \
         "SELECT customer_id, day::timestamptz AS at, amount FROM fixture.cdnow_sample" \
         1997-09-30 1998-06-30 '7 days' 2>&1)
check "validation-plots names the four pictures it made" \
      "$out/tracking.png $out/conditional.png $out/period_transactions.png $out/p_alive.png" "$(echo $made)"
for f in tracking conditional period_transactions p_alive; do
  file=$out/$f.png
  # a PNG signature and more than a blank canvas's worth of bytes
  sig=$(head -c 8 "$file" 2>/dev/null | od -An -tx1 | tr -d ' \n')
  size=$(stat -c %s "$file" 2>/dev/null || echo 0)
  check "$f.png is a PNG of some substance" "89504e470d0a1a0a big" "$sig $( ((size > 10000)) && echo big || echo "small: $size bytes")"
done
q -d postgres -c "DROP DATABASE $db" >/dev/null
echo "1..$_tap_n"
