# shellcheck shell=bash
# Throwaway PostgreSQL 15 clusters for tests. Source this file; it defines functions only.
#
#   source scripts/cluster.sh
#   cluster_start test     # exports PGHOST PGPORT PGUSER PGDATABASE CLUSTER_DIR, sets an EXIT trap
#   ...                    # psql, pg_regress, pg_prove ... talk to it through the PG* variables
#   cluster_stop           # optional: the EXIT trap calls it too; safe to call twice
#
# cluster_start owns the EXIT trap (and INT/TERM/HUP, which turn into a normal exit so the EXIT
# trap runs). Callers must not set their own EXIT trap; define a function named cluster_on_exit
# instead, which runs just before the cluster is stopped.
# One cluster per shell. CS_KEEP_CLUSTER=1 makes the EXIT trap leave it running and print how
# to connect.
#
# No `set -euo pipefail` here on purpose: a sourced file would change the caller's shell options.
# The functions check their own errors and return non-zero, so they work with or without -e.

# CS_PG_ROOT=DIR: run the servers from a private copy of the PostgreSQL 15 installation under DIR
# (see cs_install), so that two checkouts can test side by side without replacing each other's
# library. Unset: the system's installation.
CS_PGBIN=${CS_PG_ROOT:-}/usr/lib/postgresql/15/bin   # never /usr/local/bin/pg_ctl: that is a wrapper
# The repository root, from this file's location (scripts/..), whatever the caller's cwd is.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CS_FIRST_PORT=54329

# Run a server-side command as the cluster owner: postgres refuses to run as root.
_cs_as_owner() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

# Is a TCP port free on this machine? ss when present, else try to connect to it.
_cs_port_free() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

_cs_free_port() {
  local port=$1
  while ((port < CS_FIRST_PORT + 1000)); do
    _cs_port_free "$port" && { echo "$port"; return 0; }
    port=$((port + 1))
  done
  echo "cluster: no free TCP port from $CS_FIRST_PORT upwards" >&2
  return 1
}

# Stop whatever server runs in DIR/data (left over by a killed run) and remove DIR.
_cs_wipe() {
  local dir=$1
  if [[ -f $dir/data/postmaster.pid ]]; then
    _cs_as_owner "$CS_PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
  fi
  rm -rf -- "$dir"
}

# Absolute path of ../shared/data beside the repository; returns 1 when it is not there.
# SHARED_DATA in the environment wins, so a test can point elsewhere.
shared_data_dir() {
  local d=${SHARED_DATA:-$(dirname "$REPO")/shared/data}
  [[ -d $d ]] || return 1
  (cd "$d" && pwd -P)
}

# cs_install: `make install` the extension where the test servers load it from: the system's
# PostgreSQL 15, or with CS_PG_ROOT a private copy of it (made on first use; the server finds
# its share and lib directories relative to its executable, so the copy loads only its own;
# remade when the system's server is a different minor release, whose headers we compile with).
cs_install() {
  if [[ -z ${CS_PG_ROOT:-} ]]; then
    local sudo=()
    ((EUID == 0)) || ! command -v sudo >/dev/null 2>&1 || sudo=(sudo)
    "${sudo[@]}" make -s -C "$REPO" install PG_CONFIG="${PG_CONFIG:-$CS_PGBIN/pg_config}"
    return
  fi
  local copy=$CS_PG_ROOT/usr/lib/postgresql/15/bin/postgres
  if [[ -x $copy && $("$copy" --version) != $(/usr/lib/postgresql/15/bin/postgres --version) ]]; then
    echo "cs_install: $CS_PG_ROOT holds $("$copy" --version); copying the system's server again"
    rm -rf "$CS_PG_ROOT/usr/lib/postgresql/15" "$CS_PG_ROOT/usr/share/postgresql/15"
  fi
  if [[ ! -x $copy ]]; then
    mkdir -p "$CS_PG_ROOT/usr/lib/postgresql/15" "$CS_PG_ROOT/usr/share/postgresql/15" &&
      cp -a /usr/lib/postgresql/15/bin /usr/lib/postgresql/15/lib "$CS_PG_ROOT/usr/lib/postgresql/15/" &&
      cp -a /usr/share/postgresql/15/. "$CS_PG_ROOT/usr/share/postgresql/15/" || return 1
  fi
  make -s -C "$REPO" install PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config DESTDIR="$CS_PG_ROOT"
}

# Make the cluster directory for NAME, owned by whoever runs the server, and print its path.
# As root the server runs as postgres, which needs to traverse every ancestor of the directory;
# a checkout under a mode-700 mktemp dir (as CI does) fails that, so fall back to /tmp.
_cs_make_dir() {
  local name=$1 dir=$REPO/.tmp/$1 pointer=$REPO/.tmp/$1.fallback
  # A previous run that fell back to /tmp left a pointer to its directory: clean that up too.
  if [[ -f $pointer ]]; then
    local old
    old=$(cat "$pointer")
    [[ $old == /tmp/customer_score.* ]] && _cs_wipe "$old"
    rm -f -- "$pointer"
  fi
  _cs_wipe "$dir"
  if mkdir -p -- "$dir" 2>/dev/null; then
    if ((EUID != 0)); then echo "$dir"; return 0; fi
    chown postgres: "$dir"
    # test -w as postgres succeeds only if postgres can also traverse every ancestor.
    if runuser -u postgres -- test -w "$dir"; then echo "$dir"; return 0; fi
    rmdir -- "$dir"
  fi
  local tmp
  tmp=$(mktemp -d /tmp/customer_score.XXXXXX) || return 1
  ((EUID == 0)) && chown postgres: "$tmp"
  echo "cluster: $REPO is not reachable by the server's user; using $tmp instead" >&2
  echo "$tmp" >"$pointer" 2>/dev/null || true
  echo "$tmp"
}

# cluster_start NAME: initdb + start a cluster for tests, export the PG* variables, set the trap.
cluster_start() {
  local name=${1:?usage: cluster_start NAME}
  local dir port sockdir attempt
  dir=$(_cs_make_dir "$name") || return 1
  _cs_as_owner "$CS_PGBIN/initdb" -D "$dir/data" --auth=trust -E UTF8 --locale=C -U postgres \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; _cs_wipe "$dir"; return 1; }

  # Unix socket paths are limited to ~107 bytes; a deep checkout falls back to TCP only.
  sockdir=$dir
  ((${#dir} > 80)) && sockdir=

  # Settings for tests, not for durability. Parallel workers on so combine paths get exercised.
  _cs_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF

# --- customer_score test cluster (scripts/cluster.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 8
max_parallel_workers = 4
max_parallel_workers_per_gather = 2
shared_buffers = 256MB
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
CONF

  # The port is checked free before starting; if another process grabs it meanwhile, try the next.
  port=$CS_FIRST_PORT
  for attempt in 1 2 3 4 5; do
    port=$(_cs_free_port "$port") || { _cs_wipe "$dir"; return 1; }
    if _cs_as_owner "$CS_PGBIN/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-p $port" >/dev/null 2>&1; then
      break
    fi
    if ((attempt == 5)) || ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null; then
      echo "cluster: server failed to start; tail of $dir/server.log:" >&2
      tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
      _cs_wipe "$dir"
      return 1
    fi
    port=$((port + 1))
  done

  _CS_NAME=$name
  export CLUSTER_DIR=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  export PGHOST=${sockdir:-127.0.0.1}
  trap _cs_on_exit EXIT
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
}

# cluster_stop: fast shutdown and remove the directory. Does nothing when no cluster is running.
cluster_stop() {
  local dir=${CLUSTER_DIR:-}
  [[ -n $dir && -d $dir ]] || return 0
  if [[ -f $dir/data/postmaster.pid ]]; then
    _cs_as_owner "$CS_PGBIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null 2>&1 ||
      _cs_as_owner "$CS_PGBIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null 2>&1 || true
  fi
  rm -rf -- "$dir"
  rm -f -- "$REPO/.tmp/${_CS_NAME:-}.fallback" 2>/dev/null || true
  rmdir -- "$REPO/.tmp" 2>/dev/null || true   # only if nothing else lives there
  unset CLUSTER_DIR
}

# How to reach and stop a cluster left running; printed once (test/run prints it before its
# summary so that the summary stays the last line).
cluster_keep_message() {
  [[ -n ${CLUSTER_DIR:-} && -z ${_CS_KEEP_SHOWN:-} ]] || return 0
  _CS_KEEP_SHOWN=1
  local prefix=
  ((EUID == 0)) && prefix='runuser -u postgres -- '
  cat <<MSG
cluster: left running (CS_KEEP_CLUSTER=1). Connect with:
  PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER psql -d $PGDATABASE
Stop it with:
  $prefix$CS_PGBIN/pg_ctl stop -D $CLUSTER_DIR/data -m fast && rm -rf $CLUSTER_DIR
MSG
}

_cs_on_exit() {
  local rc=$?
  if declare -F cluster_on_exit >/dev/null; then cluster_on_exit || true; fi
  if [[ ${CS_KEEP_CLUSTER:-0} == 1 ]]; then
    cluster_keep_message >&2
  else
    cluster_stop
  fi
  exit "$rc"
}
