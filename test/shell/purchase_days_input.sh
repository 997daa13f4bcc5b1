#!/usr/bin/env bash
# Malformed text for the purchase_days type, in the server: 24,000 mutations of valid values
# (a character replaced, inserted or removed, a cut, a token appended or repeated; fixed seed).
# Each is either accepted, and then survives the text round trip and the binary one (COPY BINARY
# out and in, which calls purchase_days_send and purchase_days_recv), or refused with a data
# exception (SQLSTATE class 22).  Anything else (an internal error, a crash) fails.
# The libFuzzer harness (test/shell/fuzz.sh) covers the other types; this one needs numeric and
# date input, which the harness does not stand in for.
set -u
source "$REPO/test/lib/tap.sh"

db=cs_purchase_days_input
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d $db -c "CREATE EXTENSION customer_score" >/dev/null

out=$(q -d $db <<'SQL'
SET client_min_messages = warning;
CREATE TABLE seeds (s text);
INSERT INTO seeds VALUES ('{2024-01-01:15.00/2,2024-01-08:20/1}'), ('{}'),
    ('{0044-03-15 BC:-1.5/-3, 2024-01-01 : 15.00/2,2024-01-08:20/1}'),
    ('{4714-11-24 BC:0.000001/1,5874897-12-31:123456789012345678901234567890.5/-9223372036854775808}');
SELECT setseed(0.7);
CREATE TABLE inputs AS
WITH m AS (
    SELECT s, floor(random() * length(s))::int AS pos, floor(random() * 6)::int AS op,
           (ARRAY['{', '}', ':', '/', ',', '-', ' ', '9', '0', '.', 'e', 'NaN', 'Infinity', 'BC',
                  '99999999999999999999', '\', '''', '2024-13-40', ''])[1 + floor(random() * 19)::int] AS tok
    FROM seeds, generate_series(1, 6000) g)
SELECT row_number() OVER () AS id,
       CASE op WHEN 0 THEN overlay(s PLACING tok FROM pos + 1 FOR 1)
               WHEN 1 THEN overlay(s PLACING tok FROM pos + 1 FOR 0)
               WHEN 2 THEN overlay(s PLACING '' FROM pos + 1 FOR 1 + floor(random() * 4)::int)
               WHEN 3 THEN left(s, pos)
               WHEN 4 THEN s || tok
               ELSE repeat(tok, 1 + floor(random() * 50)::int) END AS input
FROM m;
CREATE TABLE accepted (id bigint, v customer_score.purchase_days);
DO $$
DECLARE
    r      record;
    v      customer_score.purchase_days;
    state  text;
    msg    text;
    bad    text[] := '{}';
    refused bigint := 0;
BEGIN
    FOR r IN SELECT id, input FROM inputs LOOP
        BEGIN
            v := r.input::customer_score.purchase_days;
            IF v::text::customer_score.purchase_days::text IS DISTINCT FROM v::text THEN
                bad := bad || format('round trip of %L', r.input);
            END IF;
            INSERT INTO accepted VALUES (r.id, v);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF left(state, 2) = '22' THEN
                refused := refused + 1;
            ELSE
                bad := bad || format('%s %s for %L', state, msg, r.input);
            END IF;
        END;
    END LOOP;
    RAISE WARNING 'summary: % accepted, % refused', (SELECT count(*) FROM accepted), refused;
    FOREACH msg IN ARRAY bad[1:10] LOOP
        RAISE WARNING 'finding: %', msg;
    END LOOP;
END $$;
SQL
)
findings=$(grep -c "finding:" <<<"$out")
summary=$(sed -n 's/.*summary: \(.*\)/\1/p' <<<"$out")
check "24,000 mutated texts: each accepted with an exact text round trip or refused with a data exception ($summary)" \
  "0" "$findings$(grep -E 'finding:|ERROR' <<<"$out" | head -n 5 | sed 's/^/ /')"
check "some mutations are accepted and some refused (the test reaches both paths)" "yes" \
  "$([[ $summary =~ ^[1-9][0-9]*\ accepted,\ [1-9][0-9]*\ refused$ ]] && echo yes || echo "no: '$summary'")"

# binary: COPY BINARY out and back in, through purchase_days_send and purchase_days_recv
q -d $db -c "CREATE TABLE reloaded (id bigint, v customer_score.purchase_days)" >/dev/null
copied=$(psql -X -q -d $db -c "\\copy accepted TO PSTDOUT (FORMAT binary)" | psql -X -q -d $db -c "\\copy reloaded FROM PSTDIN (FORMAT binary)" 2>&1)
check "every accepted value survives COPY BINARY out and in" "0" "$copied$(q -d $db -c \
  "SELECT count(*) FROM accepted a FULL JOIN reloaded r USING (id) WHERE a.v::text IS DISTINCT FROM r.v::text")"
q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
