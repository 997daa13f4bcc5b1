# tap.sh — helpers for the shell tests (source it): numbered TAP lines and quiet psql.
_tap_n=0
# check DESCRIPTION EXPECTED ACTUAL
check() {
  _tap_n=$((_tap_n + 1))
  if [[ "$2" == "$3" ]]; then
    echo "ok $_tap_n - $1"
  else
    echo "not ok $_tap_n - $1"
    printf '# expected: %s\n# got:      %s\n' "$2" "$3"
  fi
}
# q [psql options...]: psql without psqlrc, unaligned, tuples only, stop at the first error
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@" 2>&1; }
# sqlstate DB SQL [psql options...]: the SQLSTATE the statement fails with, or "ok"
sqlstate() {
  local db=$1 sql=$2; shift 2
  local out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" "$@" -c '\set VERBOSITY verbose' -c "$sql" 2>&1 >/dev/null) && { echo ok; return; }
  sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -n 1
}
