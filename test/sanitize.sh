#!/usr/bin/env bash
# bash test/sanitize.sh — the pg_regress suite (REGRESS in the Makefile) and the pgTAP edge calls
# (test/pgtap/edge_calls.sql) against the extension built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc -fsanitize=address,undefined,float-cast-overflow -fno-wrapv),
# loaded into a stock PostgreSQL 15 server that has libasan preloaded.  Prints TAP; exits 1 on a
# failure.  About a minute; test/shell/sanitize.sh runs it within test/run.
#
# Nothing outside a temporary directory $T is touched, so other people's clusters and test runs,
# which load the installed $libdir/customer_score.so, never see the sanitizer build:
#   1. a private copy of the PostgreSQL installation (/usr/lib/postgresql/15 and
#      /usr/share/postgresql/15, 50 MB) under $T/inst/usr/...; PostgreSQL finds its share and lib
#      directories relative to its own executable, so a server started from the copy loads
#      extensions from the copy only (MODULE_PATHNAME '$libdir/customer_score' is the copy's);
#   2. the working tree copied to $T/src and built there (no object lands in src/), with COPT
#      adding the sanitizer flags and with_llvm=no (no bitcode; jit is off), then
#      `make install DESTDIR=$T/inst` into the copy;
#   3. a throwaway cluster started from the copy with LD_PRELOAD=libasan.so (the runtime must
#      come first in a process whose executable was not built with it) plus a small helper (see
#      below: libasan's lazy start-up deadlocks a stock postgres otherwise), and
#      ASAN_OPTIONS=detect_leaks=0 (memory is palloc-managed and freed by context resets),
#      abort_on_error=1 (a report kills the backend: the postmaster sees a crash),
#      allocator_may_return_null=1 (huge requests fail as out-of-memory errors, as without ASan);
#      the reports go to the server's stderr, which is its log;
#   4. fixtures, pg_regress, pg_prove;
#   5. the verdict: every test passed, no crash, no ASan or UBSan report in the log;
#   6. positive controls: a module built the same way with a deliberate signed overflow and a
#      write past a palloc chunk must be reported (so a silent run means something); then the
#      cluster is stopped and $T removed.
# What is checked: PostgreSQL's allocator carves small palloc chunks out of larger malloc'd
# blocks, so an overrun that stays inside its block goes unseen; chunks above 8 kB get blocks of
# their own and are checked, as are the extension's stack and global variables and every malloc'd
# block.  UBSan checks every line of the extension: signed overflow (-fno-wrapv undoes PGXS's
# -fwrapv here, so a count or a time that would wrap around is reported rather than defined),
# shifts, float-to-integer casts out of range, array bounds, misaligned and null pointers.
#
# CS_SANITIZE_KEEP=1 keeps $T (and the cluster running) for debugging.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGLIB=/usr/lib/postgresql/15
PGSHARE=/usr/share/postgresql/15
exec </dev/null

n=0 failed=0
check() {   # check DESCRIPTION OK(0/1) [DIAGNOSTICS]
  n=$((n + 1))
  if [[ $2 == 0 ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
  [[ -z ${3:-} ]] || printf '%s\n' "$3" | head -n 60 | sed 's/^/# /'
}
finish() { echo "1..$n"; ((failed == 0)) && exit 0; exit 1; }
as_owner() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }

T=$(mktemp -d /tmp/cs_sanitize.XXXXXX) || exit 1
chmod 755 "$T"
INST=$T/inst
BIN=$INST$PGLIB/bin
RUN=$T/run      # the server's: data directory, log, socket, sanitizer reports
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  [[ ${CS_SANITIZE_KEEP:-0} == 1 ]] && { echo "# kept $T" >&2; return; }
  [[ -f $RUN/data/postmaster.pid ]] && as_owner "$BIN/pg_ctl" stop -D "$RUN/data" -m immediate -w >/dev/null 2>&1
  rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

libasan=$(gcc -print-file-name=libasan.so)
[[ -e $libasan ]] || { check "libasan is installed (gcc)" 1 "$libasan not found"; finish; }

# ---- 1. a private copy of the PostgreSQL installation, without the extension ----------------
mkdir -p "$INST$PGLIB" "$INST$PGSHARE"
cp -a "$PGLIB/bin" "$PGLIB/lib" "$INST$PGLIB/" && cp -a "$PGSHARE/." "$INST$PGSHARE/"
rc=$?
rm -rf "$INST$PGLIB/lib/customer_score.so" "$INST$PGLIB/lib/bitcode/customer_score" \
       "$INST$PGLIB/lib/bitcode/customer_score.index.bc" "$INST$PGSHARE/extension/customer_score"*
check "a private copy of the PostgreSQL 15 installation in $INST" "$rc"

# ---- 2. the sanitizer build, installed into the copy only ----------------------------------
mkdir -p "$T/src"
tar -C "$REPO" --exclude=.git --exclude=.tmp --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    --exclude=results --exclude=test/fuzz/build -cf - . | tar -C "$T/src" -xf -
sanitize='-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-common -fno-wrapv'
build=$(make -s -C "$T/src" -j2 PG_CONFIG="$PG_CONFIG" with_llvm=no COPT="$sanitize" 2>&1 &&
        make -s -C "$T/src" install PG_CONFIG="$PG_CONFIG" with_llvm=no COPT="$sanitize" DESTDIR="$INST" 2>&1)
rc=$?
so=$INST$PGLIB/lib/customer_score.so
[[ $rc == 0 && $(ldd "$so" 2>&1) != *libasan* ]] && rc=1 build+=$'\n'"customer_score.so does not link libasan"
check "built with $sanitize and installed into the copy" "$rc" "$( ((rc == 0)) || tail -n 30 <<<"$build")"
((rc == 0)) || finish
check "the installed extension is untouched (no sanitizer runtime in $PGLIB/lib/customer_score.so)" \
  "$([[ $(ldd "$PGLIB/lib/customer_score.so" 2>&1) == *libasan* ]] && echo 1 || echo 0)"

# ---- 3. a cluster from the copy, with the sanitizer runtime preloaded ----------------------
mkdir -p "$RUN"
((EUID == 0)) && chown -R postgres: "$RUN"
as_owner "$BIN/initdb" -D "$RUN/data" --auth=trust -E UTF8 --locale=C -U postgres >"$T/initdb.log" 2>&1
rc=$?
port_free() {   # ss when present, else try to connect
  if command -v ss >/dev/null 2>&1; then [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  else ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}
port=55500
until port_free "$port" || ((port >= 56500)); do port=$((port + 1)); done
as_owner tee -a "$RUN/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
port = $port
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
max_parallel_workers_per_gather = 2
timezone = 'UTC'
log_timezone = 'UTC'
log_min_messages = warning
CONF
# libasan initialises itself on the first intercepted call.  Preloaded into a stock postgres, that
# is a malloc inside glibc's bindtextdomain (called by libgpg-error's constructor, before
# libasan's own runs), while gettext's lock is held; its initialisation calls dlerror, which
# takes the same lock: the lock's state is corrupted and postgres hangs in its own
# bindtextdomain.  A second preloaded library wraps bindtextdomain to malloc before taking it.
cat >"$T/asan_first.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static char *(*real) (const char *, const char *);
	void	   *volatile p = malloc(1);	/* initialises ASan here, outside gettext's lock */

	free(p);
	if (real == NULL)
		real = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return real(domainname, dirname);
}
C
gcc -shared -fPIC -O2 -o "$T/asan_first.so" "$T/asan_first.c" -ldl || { check "the preload helper builds" 1; finish; }
preload=$libasan:$T/asan_first.so
asan_options="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:verify_asan_link_order=0"
ubsan_options="print_stacktrace=1"
((rc == 0)) && as_owner env LD_PRELOAD="$preload" ASAN_OPTIONS="$asan_options" UBSAN_OPTIONS="$ubsan_options" \
  "$BIN/pg_ctl" start -D "$RUN/data" -l "$RUN/server.log" -w -t 120 >/dev/null 2>&1
rc=$?
check "a cluster from the copy started with LD_PRELOAD=$preload" "$rc" \
  "$( ((rc == 0)) || { tail -n 20 "$T/initdb.log"; tail -n 20 "$RUN/server.log"; })"
((rc == 0)) || finish
export PGHOST=$RUN PGPORT=$port PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS

# the backend runs the sanitizer build: it maps libasan and the copy's customer_score.so
mapped=$(psql -X -q -At -d postgres 2>&1 <<'SQL' | grep -oE '/[^ ]*(libasan[^ ]*|customer_score\.so)$' | sort -u
CREATE EXTENSION customer_score;
SELECT customer_score.bgnbd(1, 1, 1, 1) IS NOT NULL;
SELECT pg_read_file('/proc/self/maps');
SQL
)
check "a backend maps libasan and $so" \
  "$([[ $mapped == *libasan* && $'\n'$mapped$'\n' == *$'\n'$so$'\n'* ]] && echo 0 || echo 1)" "$mapped"
psql -X -q -d postgres -c "DROP EXTENSION customer_score" >/dev/null 2>&1

# ---- 4. the suites --------------------------------------------------------------------------
psql -X -q -d postgres -c "CREATE DATABASE cs_regress" >/dev/null &&
  bash "$REPO/test/load-fixtures.sh" cs_regress >"$T/fixtures.log" 2>&1
check "fixtures loaded" "$?" "$(tail -n 5 "$T/fixtures.log")"
# shellcheck disable=SC2016  # $(REGRESS) is for make
regress=$(make -s --no-print-directory -C "$REPO" -f Makefile \
            -f <(printf '_cs_print_regress:\n\t@echo $(REGRESS)\n') _cs_print_regress 2>/dev/null)
pgxs_src=$(dirname "$("$PG_CONFIG" --pgxs)")/..
start=$SECONDS
# shellcheck disable=SC2086  # REGRESS is a word list
"$pgxs_src/test/regress/pg_regress" --use-existing --dbname=cs_regress --inputdir="$T/src" \
  --outputdir="$T/regress" --bindir="$PGLIB/bin" --host="$PGHOST" --port="$PGPORT" --user=postgres \
  $regress >"$T/regress.log" 2>&1
while read -r name status; do
  check "pg_regress $name under ASan + UBSan" "$([[ $status == ok ]] && echo 0 || echo 1)" \
    "$([[ $status == ok ]] || sed -n "/\/$name.out/,/^diff /p" "$T/regress/regression.diffs" | head -n 40)"
done < <(sed -nE 's/^(test| ) *([a-z_0-9]+) +\.\.\. (ok|FAILED|failed).*/\2 \3/p' "$T/regress.log")
echo "# pg_regress: $((SECONDS - start)) s"
start=$SECONDS
pg_prove -h "$PGHOST" -p "$PGPORT" -U postgres -d cs_regress "$REPO/test/pgtap/edge_calls.sql" >"$T/pgtap.log" 2>&1
check "pgTAP edge_calls.sql under ASan + UBSan" "$?" "$(tail -n 20 "$T/pgtap.log")"
echo "# pgTAP: $((SECONDS - start)) s"

# ---- 5. the verdict -------------------------------------------------------------------------
alive=$(psql -X -q -At -d postgres -c 'SELECT 1' 2>&1)
check "the server is still up" "$([[ $alive == 1 ]] && echo 0 || echo 1)" "$alive"
crashes=$(grep -E 'terminated by signal|terminating any other active server processes|PANIC:' "$RUN/server.log")
check "no backend crashed" "$([[ -z $crashes ]] && echo 0 || echo 1)" \
  "$crashes$(grep -h -A2 'Failed process was running' "$RUN/server.log" | head -n 20)"
# the sanitizers write their reports to the server's stderr, that is its log
asan=$(grep -A 40 'ERROR: AddressSanitizer' "$RUN/server.log")
check "no AddressSanitizer report" "$([[ -z $asan ]] && echo 0 || echo 1)" "$asan"
ubsan=$(grep -A 12 'runtime error:' "$RUN/server.log")
check "no UndefinedBehaviorSanitizer report" "$([[ -z $ubsan ]] && echo 0 || echo 1)" "$ubsan"

# ---- 6. positive controls: the same set-up does catch a bug ---------------------------------
# A module built the same way with one signed overflow and one write past a 16 kB palloc chunk
# (above the 8 kB limit, so it is a malloc block of its own): both must be reported, and the
# overflow must kill its backend.  Run last: the crash restarts the server.
cat >"$T/cs_canary.c" <<'C'
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(ubsan_canary);
Datum
ubsan_canary(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_INT32(0) + PG_INT32_MAX);
}

PG_FUNCTION_INFO_V1(asan_canary);
Datum
asan_canary(PG_FUNCTION_ARGS)
{
	char	   *p = palloc(16384);

	p[16384 + PG_GETARG_INT32(0)] = 1;
	PG_RETURN_INT32(p[0]);
}
C
# shellcheck disable=SC2086  # $sanitize is a list of flags
gcc -shared -fPIC -O1 $sanitize -I"$("$PG_CONFIG" --includedir-server)" -o "$INST$PGLIB/lib/cs_canary.so" "$T/cs_canary.c" 2>&1
offset=$(stat -c %s "$RUN/server.log")
psql -X -q -At -d postgres >/dev/null 2>&1 <<'SQL'
CREATE FUNCTION ubsan_canary(int) RETURNS int AS '$libdir/cs_canary' LANGUAGE C STRICT;
CREATE FUNCTION asan_canary(int) RETURNS int AS '$libdir/cs_canary' LANGUAGE C STRICT;
SELECT ubsan_canary(1);
SELECT asan_canary(64);
SQL
sleep 1
control=$(tail -c +"$((offset + 1))" "$RUN/server.log")
check "control: UBSan reports a signed overflow" \
  "$([[ $control == *'runtime error: signed integer overflow'* ]] && echo 0 || echo 1)"
check "control: ASan reports a write past a palloc chunk and the backend dies" \
  "$([[ $control == *'ERROR: AddressSanitizer: heap-buffer-overflow'*'terminated by signal'* ]] && echo 0 || echo 1)" \
  "$(tail -n 5 <<<"$control")"
as_owner "$BIN/pg_ctl" stop -D "$RUN/data" -m fast -w >/dev/null 2>&1
if [[ -n $asan$ubsan || $failed != 0 ]]; then
  mkdir -p "$REPO/.tmp/sanitize"
  cp -r "$RUN/server.log" "$T/regress" "$REPO/.tmp/sanitize/" 2>/dev/null &&
    echo "# the server log (with the sanitizers' reports) and pg_regress output kept in .tmp/sanitize/"
fi
finish
