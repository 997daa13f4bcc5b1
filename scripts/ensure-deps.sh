#!/usr/bin/env bash
# Install the Debian packages the build and the test suites need, only when one is missing.
# Idempotent and silent when everything is already there, so test/run can call it every time
# (CI starts on machines where nothing was installed by hand).
set -euo pipefail

packages=(
  postgresql-15                           # server binaries for the throwaway test cluster
  postgresql-server-dev-15                # pg_config, PGXS, pg_regress, pg_isolation_regress
  postgresql-15-pgtap                     # the pgtap extension used by test/pgtap/*.sql
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  build-essential                         # cc and make
  python3-psycopg2                        # a standard client driver, as BI tools use (test/shell/bi_client.sh)
  sqlsmith                                # random queries against the extension (test/shell/sqlsmith.sh)
  clang-14 libclang-rt-14-dev             # libFuzzer and the sanitizer runtimes (test/shell/fuzz.sh)
  gnuplot-nox                             # the demo's validation pictures (scripts/validation-plots)
)

missing=()
for pkg in "${packages[@]}"; do
  # dpkg-query fails for unknown packages and reports e.g. "deinstall ok config-files" for removed ones.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

echo "ensure-deps: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { echo "ensure-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
# Package lists may be stale or absent on a fresh machine, so always update before installing.
# apt's own output goes to stderr: this script promises to print nothing on stdout.
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
