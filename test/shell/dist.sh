#!/usr/bin/env bash
# make dist: customer_score-<version>.tar.gz from git archive, everything under a
# customer_score-<version>/ prefix, every tracked file in it, and it builds on its own with
# PGXS. (Running the suites inside it would start a second cluster; what it contains is
# checked against `git ls-files` instead.)
set -u
source "$REPO/test/lib/tap.sh"
cd "$REPO" || exit 1
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" customer_score.control)
name=customer_score-$version
tmp=$(mktemp -d)
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT

check "make dist succeeds" "ok" "$(make -s --no-print-directory dist DISTDIR="$tmp" 2>&1 && echo ok)"
check "it writes $name.tar.gz" "yes" "$([[ -s $tmp/$name.tar.gz ]] && echo yes || echo no)"
listing=$(tar -tzf "$tmp/$name.tar.gz" 2>&1)
check "every entry is under $name/" "" "$(grep -v "^$name/" <<<"$listing" | head -n 5)"
check "the archive holds every file git ls-files lists" "" \
  "$(comm -23 <(git ls-files | LC_ALL=C sort) <(sed -n "s#^$name/##p" <<<"$listing" | grep -v '/$' | LC_ALL=C sort) | head -n 20 | tr '\n' ' ')"

tar -xzf "$tmp/$name.tar.gz" -C "$tmp"
build=$(cd "$tmp/$name" && make -s -j2 PG_CONFIG="$PG_CONFIG" 2>&1) && built=ok || built="failed: $(tail -n 20 <<<"$build")"
check "the unpacked archive builds with make (PGXS)" "ok" "$built"
check "the build made customer_score.so and customer_score--$version.sql" "yes
yes" "$(for f in customer_score.so "customer_score--$version.sql"; do [[ -s $tmp/$name/$f ]] && echo yes || echo "no: $f"; done)"
check "the archive's META.json carries the version" "yes" \
  "$(grep -q "\"version\": \"$version\"" "$tmp/$name/META.json" 2>/dev/null && echo yes || echo no)"

echo "1..$_tap_n"
