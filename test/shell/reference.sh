#!/usr/bin/env bash
# Reference completeness: every object the extension owns (pg_depend deptype 'e': functions,
# aggregates, types, tables, views, and anything else but the sequences behind serial columns)
# has a COMMENT ON and is named in the reference (README.md or docs/*.md); every column of its
# tables and views has a COMMENT or is named in the reference. One line per object, so a new
# object without either fails by name.
set -u
source "$REPO/test/lib/tap.sh"
db=cs_reference

q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION customer_score" >/dev/null

# The reference, as one text: the README and every page under docs/.
reference=$(cat "$REPO/README.md" "$REPO"/docs/*.md)
named() { grep -qw -- "$1" <<<"$reference"; }

members="WITH m AS (
    SELECT d.classid, d.objid FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_score'
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')"

# kind|name|identity|commented, sorted by kind and identity
objects=$(q -d "$db" -F '|' -c "$members
SELECT * FROM (
    SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END,
           p.proname::text, p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc') IS NOT NULL
    FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT 'type', t.typname::text, format_type(t.oid, NULL), obj_description(t.oid, 'pg_type') IS NOT NULL
    FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                          WHEN 'f' THEN 'foreign table' ELSE 'table' END,
           c.relname::text, c.oid::regclass::text, obj_description(c.oid, 'pg_class') IS NOT NULL
    FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    -- the sequence of a serial column is the column's business
    WHERE NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend s
                                           WHERE s.classid = 'pg_class'::regclass AND s.objid = c.oid
                                             AND s.refobjsubid > 0 AND s.deptype IN ('a', 'i')))
    UNION ALL
    -- anything else (operators, casts, event triggers ...): by its description
    SELECT pg_describe_object(m.classid, m.objid, 0), pg_describe_object(m.classid, m.objid, 0),
           pg_describe_object(m.classid, m.objid, 0), obj_description(m.objid, c.relname) IS NOT NULL
    FROM m JOIN pg_class c ON c.oid = m.classid
    WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
) o(kind, name, identity, commented)
ORDER BY kind, identity")

count=$(grep -c . <<<"$objects")
check "the extension owns objects to check (found $count)" "yes" "$( ((count > 50)) && echo yes || echo no)"

while IFS='|' read -r kind name identity commented; do
  [[ -n $kind ]] || continue
  problems=
  [[ $commented == t ]] || problems="no COMMENT ON"
  named "$name" || problems="${problems:+$problems; }not named in README.md or docs/*.md"
  check "$kind $identity: COMMENT ON and a reference entry" "" "$problems"
done <<<"$objects"

# Columns of the tables and views: a COMMENT or a mention by name in the reference.
columns=$(q -d "$db" -F '|' -c "$members
SELECT c.oid::regclass::text, a.attname, col_description(c.oid, a.attnum) IS NOT NULL
FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, a.attnum")
for relation in $(cut -d '|' -f 1 <<<"$columns" | uniq); do
  undocumented=()
  while IFS='|' read -r rel column commented; do
    [[ $rel == "$relation" ]] || continue
    [[ $commented == t ]] || named "$column" || undocumented+=("$column")
  done <<<"$columns"
  check "columns of $relation: each has a COMMENT or is named in the reference" "" "${undocumented[*]:-}"
done

q -d postgres -c "DROP DATABASE $db" >/dev/null
echo "1..$_tap_n"
