#!/usr/bin/env bash
# Coverage-guided fuzzing of every type's text input and binary receive function with libFuzzer
# (clang-14, libclang-rt-14-dev) under AddressSanitizer and UndefinedBehaviorSanitizer, over the
# same source files the server loads (test/fuzz/fuzz_types.c says what is checked,
# test/fuzz/pg_stubs.c what stands in for the backend).  Seeds: test/fuzz/corpus/<type>/ (valid
# texts and past findings; the binary seeds are the texts' send() forms plus the past findings in
# test/fuzz/corpus/<type>_recv/), tokens: test/fuzz/types.dict.
#
# CS_FUZZ_SECONDS (default 60) is the total time, shared among the 10 targets (text inputs get
# two thirds).  Any finding (a refusal that is not a data exception, a broken round trip, an
# ASan or UBSan report, a crash) fails its target; the input is kept in .tmp/fuzz-<target>-*.
set -u
# shellcheck source=test/lib/tap.sh disable=SC2154  # _tap_n comes from tap.sh
source "$REPO/test/lib/tap.sh"
total=${CS_FUZZ_SECONDS:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build=$(make -s --no-print-directory -C "$REPO/test/fuzz" O="$work/build" 2>&1) && built=ok || built="failed: $(tail -n 30 <<<"$build")"
check "the libFuzzer harness builds (clang-14 -fsanitize=fuzzer,address,undefined)" "ok" "$built"
[[ $built == ok ]] || exit 1
fuzzer=$work/build/fuzz_types

types=(bgnbd gamma_gamma bgnbd_state gamma_gamma_state rfm_state)
text_s=$((total * 2 / 3 / ${#types[@]})) recv_s=$((total / 3 / ${#types[@]}))
((text_s >= 1)) || text_s=1
((recv_s >= 1)) || recv_s=1
executions=0
for t in "${types[@]}"; do
  # the binary seeds: the send() form of each valid text seed
  mkdir -p "$work/seeds/$t"
  CS_FUZZ_TARGET=$t CS_FUZZ_WRITE_BINARY="$REPO/test/fuzz/corpus/$t:$work/seeds/$t" "$fuzzer" 2>/dev/null
  for target in "$t" "${t}_recv"; do
    # seeds: the committed corpus (texts; for _recv, inputs of past findings) and the sent forms
    seeds=()
    [[ -d $REPO/test/fuzz/corpus/$target ]] && seeds+=("$REPO/test/fuzz/corpus/$target")
    if [[ $target == *_recv ]]; then seeds+=("$work/seeds/$t") seconds=$recv_s; else seconds=$text_s; fi
    mkdir -p "$work/corpus/$target"
    rc=0
    # new inputs go to the first directory (scratch), the seeds are only read
    CS_FUZZ_TARGET=$target "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
      -dict="$REPO/test/fuzz/types.dict" -artifact_prefix="$work/$target-" \
      "$work/corpus/$target" "${seeds[@]}" >"$work/$target.log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$work/$target.log" | tail -n 1)
    executions=$((executions + ${runs:-0}))
    kept=
    if ((rc != 0)); then
      mkdir -p "$REPO/.tmp"
      for a in "$work/$target"-*; do [[ -e $a ]] && cp "$a" "$REPO/.tmp/fuzz-${a##*/}" && kept+=" .tmp/fuzz-${a##*/}"; done
      cp "$work/$target.log" "$REPO/.tmp/fuzz-$target.log" && kept+=" .tmp/fuzz-$target.log"
    fi
    check "$target: ${runs:-0} executions in ${seconds} s, no finding ($cov)" "exit status 0" "exit status $rc"
    if ((rc != 0)); then
      grep -m 1 -B 4 -A 12 -E '==== customer_score fuzz finding|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' \
        "$work/$target.log" | sed 's/^/# /'
      echo "# kept:$kept"
    fi
  done
done
echo "# $executions executions in all"
echo "1..$_tap_n"
