#!/usr/bin/env bash
# Upgrades keep the catalog: ALTER EXTENSION customer_score UPDATE from every earlier released
# version (every upgrade script installed) must give the same catalog as a fresh install of the
# current version.  The catalog snapshot lists every object of the extension with its full
# definition, comment and privileges.
set -u
source "$REPO/test/lib/tap.sh"
sharedir=$(pg_config --sharedir)/extension
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/customer_score.control")

snapshot() {   # snapshot DB: one line per object, sorted
  q -d "$1" <<'SQL'
WITH objs AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
  WHERE e.extname = 'customer_score' AND d.deptype = 'e')
SELECT pg_describe_object(o.classid, o.objid, o.objsubid) || ' | ' ||
       coalesce(CASE o.classid
         WHEN 'pg_proc'::regclass THEN
           CASE WHEN (SELECT prokind FROM pg_proc WHERE oid = o.objid) = 'a'
                THEN (SELECT format('aggregate %s %s %s %s %s', aggtransfn, aggcombinefn, aggfinalfn, aggtranstype::regtype, aggfinalmodify)
                      FROM pg_aggregate WHERE aggfnoid = o.objid) || (SELECT format(' parallel %s', proparallel) FROM pg_proc WHERE oid = o.objid)
                ELSE pg_get_functiondef(o.objid) END
           || coalesce(array_to_string((SELECT proacl FROM pg_proc WHERE oid = o.objid), ','), '')
         WHEN 'pg_class'::regclass THEN
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || coalesce(' ' || col_description(o.objid, a.attnum), ''), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = o.objid AND a.attnum > 0 AND NOT a.attisdropped)
           || coalesce(' VIEW ' || pg_get_viewdef(o.objid), '')
           || coalesce(' ACL ' || array_to_string((SELECT relacl FROM pg_class WHERE oid = o.objid), ','), '')
           || coalesce(' OPTIONS ' || array_to_string((SELECT reloptions FROM pg_class WHERE oid = o.objid), ','), '')
         WHEN 'pg_type'::regclass THEN (SELECT format('%s %s %s %s', typinput, typoutput, typreceive, typsend) FROM pg_type WHERE oid = o.objid)
       END, '') || ' | ' || coalesce(obj_description(o.objid, (SELECT relname FROM pg_class WHERE oid = o.classid)), '')
FROM objs o
UNION ALL
SELECT 'constraint ' || conname || ' on ' || conrelid::regclass || ' | ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'customer_score'::regnamespace
UNION ALL
SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass || ' | ' || pg_get_triggerdef(oid)
FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'customer_score'::regnamespace) AND NOT tgisinternal
UNION ALL
SELECT 'config ' || extconfig::regclass[]::text || ' ' || extcondition::text FROM pg_extension WHERE extname = 'customer_score'
ORDER BY 1
SQL
}

q -d postgres -c "DROP DATABASE IF EXISTS cs_fresh" -c "DROP DATABASE IF EXISTS cs_fresh2" \
              -c "CREATE DATABASE cs_fresh" -c "CREATE DATABASE cs_fresh2" >/dev/null
q -d cs_fresh -c "CREATE EXTENSION customer_score" >/dev/null
q -d cs_fresh2 -c "CREATE EXTENSION customer_score" >/dev/null
fresh=$(snapshot cs_fresh)
check "the catalog snapshot covers the extension ($(grep -c "^[a-z]* customer_score\.\|^function\|^type\|^table\|^view" <<<"$fresh") objects, $(wc -l <<<"$fresh") lines)" "t" "$( (( $(wc -l <<<"$fresh") > 100 )) && echo t || echo f)"
check "two fresh installs give the same catalog (the comparison is exact)" "$(md5sum <<<"$fresh")" "$(snapshot cs_fresh2 | md5sum)"

# every installed upgrade script that leads to the current version
paths=0
for script in "$sharedir"/customer_score--*--*.sql; do
  [[ -e $script ]] || continue
  from=$(basename "$script" .sql | sed 's/^customer_score--\(.*\)--.*/\1/')
  [[ -e $sharedir/customer_score--$from.sql ]] || continue
  paths=$((paths + 1))
  q -d postgres -c "DROP DATABASE IF EXISTS cs_upgraded" -c "CREATE DATABASE cs_upgraded" >/dev/null
  q -d cs_upgraded -c "CREATE EXTENSION customer_score VERSION '$from'" -c "ALTER EXTENSION customer_score UPDATE" >/dev/null
  upgraded=$(snapshot cs_upgraded)
  check "upgrading from $from to $current gives the catalog of a fresh install" "$(md5sum <<<"$fresh")" "$(md5sum <<<"$upgraded")"
  [[ $fresh == "$upgraded" ]] || diff <(echo "$fresh") <(echo "$upgraded") | head -n 40 | sed 's/^/# /'
  q -d postgres -c "DROP DATABASE cs_upgraded" >/dev/null
done
# 0.1.0 is released: its install script ships (install/released/), so an upgrade path must exist.
# Creating it also proves the 0.1.0 SQL binds to this library: CREATE FUNCTION looks up every
# C symbol it names.
check "an upgrade path from every released version was tested" "t" "$( ((paths > 0)) && echo t || echo f)"

q -d postgres -c "DROP DATABASE cs_fresh" -c "DROP DATABASE cs_fresh2" >/dev/null
echo "1..$_tap_n"
