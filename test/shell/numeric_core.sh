#!/usr/bin/env bash
# Compile and run the numeric core's unit tests (no PostgreSQL needed).
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -Wall -Werror -I"$REPO/src" -o "$out/numeric_test" \
   "$REPO/test/unit/numeric_test.c" "$REPO/src/numeric.c" "$REPO/src/optimize.c" -lm
"$out/numeric_test"
