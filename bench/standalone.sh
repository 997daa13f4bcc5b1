# bench/standalone.sh — the start every standalone benchmark shares (source it, after set -euo
# pipefail): the PostgreSQL 15 tools first on PATH, no standard input, the extension built and
# installed (unless CS_SKIP_BUILD=1), and a throwaway cluster of the given name with database
# `bench` (PGDATABASE).  The cluster stops when the script exits (scripts/cluster.sh).
#
#   bench_start NAME
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
export PATH=${CS_PG_ROOT:+$CS_PG_ROOT/usr/lib/postgresql/15/bin:}/usr/lib/postgresql/15/bin:$PATH
exec </dev/null

# CS_PG_ROOT=DIR: install into, and run from, a private copy of PostgreSQL (see cs_install)
bench_start() {
  # shellcheck source=scripts/cluster.sh
  source "$REPO/scripts/cluster.sh"
  if [[ ${CS_SKIP_BUILD:-0} != 1 ]]; then
    echo "building and installing" >&2
    make -s >&2
    cs_install >&2
  fi
  cluster_start "$1"
  createdb bench
  export PGDATABASE=bench
}
