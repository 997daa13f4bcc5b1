# shellcheck shell=bash
# shellcheck disable=SC2034  # CITUS_NODE_PORT and CITUS_NODE_DIRS are read by the caller
# Citus nodes on loopback ports for tests and benchmarks. Source after scripts/cluster.sh (this
# file uses its _cs_make_dir, _cs_free_port, _cs_as_owner and _cs_wipe); it defines functions only.
# Citus itself is never built here: it must already be installed in the PostgreSQL in use.
#
#   citus_installed || skip          is citus.control in the PostgreSQL the servers run from?
#   trap citus_nodes_stop EXIT       the caller owns the trap
#   citus_node_start NAME            initdb + start $REPO/.tmp/NAME with shared_preload_libraries =
#                                    citus on a free port: sets CITUS_NODE_PORT, records the directory
#   citus_cluster_create DB C W...   on ports C (coordinator) and W... (workers): database DB with
#                                    extension citus on each, the workers added to the coordinator

CITUS_NODE_DIRS=()
CITUS_NEXT_PORT=${CITUS_NEXT_PORT:-$((CS_FIRST_PORT + 200))}

citus_installed() {
  [[ -f $("$CS_PGBIN/pg_config" --sharedir)/extension/citus.control ]]
}

citus_nodes_stop() {
  local dir
  for dir in "${CITUS_NODE_DIRS[@]}"; do _cs_wipe "$dir"; done
  CITUS_NODE_DIRS=()
}

citus_node_start() {
  local name=$1 dir port
  CITUS_NODE_PORT=
  dir=$(_cs_make_dir "$name") || return 1
  CITUS_NODE_DIRS+=("$dir")
  _cs_as_owner "$CS_PGBIN/initdb" -D "$dir/data" --auth=trust -E UTF8 --locale=C -U postgres \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  _cs_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_preload_libraries = 'citus'
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 16
max_connections = 100
shared_buffers = 64MB
timezone = 'UTC'
log_timezone = 'UTC'
log_min_messages = warning
CONF
  for _ in 1 2 3 4 5; do
    port=$(_cs_free_port "$CITUS_NEXT_PORT") || return 1
    CITUS_NEXT_PORT=$((port + 1))
    if _cs_as_owner "$CS_PGBIN/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-p $port" >/dev/null 2>&1; then
      CITUS_NODE_PORT=$port
      return 0
    fi
    grep -q 'could not bind\|could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null || break
  done
  tail -n 20 "$dir/server.log" >&2
  return 1
}

citus_cluster_create() {
  local db=$1 coord=$2 port
  shift 2
  for port in "$coord" "$@"; do
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null || return 1
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d "$db" -c "SET client_min_messages = warning" \
      -c "CREATE EXTENSION citus" >/dev/null || return 1
  done
  psql -X -q -At -h 127.0.0.1 -p "$coord" -U postgres -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT citus_set_coordinator_host('127.0.0.1', $coord)" >/dev/null || return 1
  for port in "$@"; do
    psql -X -q -At -h 127.0.0.1 -p "$coord" -U postgres -d "$db" -c "SET client_min_messages = warning" \
      -c "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null || return 1
  done
}
