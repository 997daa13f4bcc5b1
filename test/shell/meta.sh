#!/usr/bin/env bash
# Packaging metadata: META.json is a PGXN Meta Spec 1.0 document whose version is the one in
# customer_score.control (default_version, the only place the version is written), and
# CHANGELOG.md has an entry for it.
set -u
source "$REPO/test/lib/tap.sh"
cd "$REPO" || exit 1

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" customer_score.control)
comment=$(sed -n "s/^comment = '\(.*\)'/\1/p" customer_score.control)
check "customer_score.control has a default_version" "yes" "$([[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && echo yes || echo "no: '$version'")"

# One line per META.json field: key=value, read with Debian's python3 (standard library only).
meta=$(/usr/bin/python3 - <<'PY' 2>&1
import json
m = json.load(open("META.json"))
p = m.get("provides", {}).get("customer_score", {})
for key, value in [("name", m.get("name")), ("version", m.get("version")), ("abstract", m.get("abstract")),
                   ("maintainer", bool(m.get("maintainer"))), ("license", m.get("license")),
                   ("meta-spec", m.get("meta-spec", {}).get("version")),
                   ("provides.version", p.get("version")), ("provides.file", p.get("file")),
                   ("provides.docfile", p.get("docfile")),
                   ("tags", all(isinstance(t, str) and len(t) >= 2 and "/" not in t and "\\" not in t
                                for t in m.get("tags", []))),
                   ("release_status", m.get("release_status"))]:
    print("%s=%s" % (key, value))
PY
)
field() { sed -n "s/^$1=//p" <<<"$meta"; }
check "META.json is valid JSON" "yes" "$(grep -q '^name=' <<<"$meta" && echo yes || echo "no: $meta")"
check "META.json name is the extension's" "customer_score" "$(field name)"
check "META.json version is customer_score.control's default_version" "$version" "$(field version)"
check "META.json provides customer_score at that version" "$version" "$(field provides.version)"
check "META.json abstract is the control file's comment" "$comment" "$(field abstract)"
check "META.json has a maintainer" "True" "$(field maintainer)"
check "META.json license is one PGXN knows" "yes" "$(grep -qxE 'license=(agpl_3|apache_1_1|apache_2_0|artistic_1|artistic_2|bsd|freebsd|gfdl_1_2|gfdl_1_3|gpl_1|gpl_2|gpl_3|lgpl_2_1|lgpl_3_0|mit|mozilla_1_0|mozilla_1_1|openssl|perl_5|postgresql|qpl_1_0|ssleay|sun|zlib|open_source|restricted|unrestricted|unknown)' <<<"$meta" && echo yes || echo "no: $(field license)")"
check "META.json meta-spec is 1.0.x" "yes" "$([[ $(field meta-spec) =~ ^1\.0\.[0-9]+$ ]] && echo yes || echo no)"
check "META.json tags are PGXN tags (2+ characters, no slash or backslash)" "True" "$(field tags)"
check "META.json release_status is stable, testing or unstable" "yes" "$([[ $(field release_status) =~ ^(stable|testing|unstable)$ ]] && echo yes || echo no)"
check "META.json provides file and docfile are in the repository" "yes
yes" "$(for f in "$(field provides.file)" "$(field provides.docfile)"; do git ls-files --error-unmatch -- "$f" >/dev/null 2>&1 && echo yes || echo "no: $f"; done)"
check "CHANGELOG.md has an entry for $version" "yes" "$(grep -qE "^## $version( |$)" CHANGELOG.md && echo yes || echo no)"
# shellcheck disable=SC2016  # $(EXTVERSION) is for make
check "make sees the same version (EXTVERSION)" "$version" \
  "$(make -s --no-print-directory -f Makefile -f <(printf '_cs_print_version:\n\t@echo $(EXTVERSION)\n') _cs_print_version 2>/dev/null)"

echo "1..$_tap_n"
