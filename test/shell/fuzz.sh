#!/usr/bin/env bash
# Coverage-guided fuzzing of every type's text input and binary receive function with libFuzzer
# (clang-14, libclang-rt-14-dev) under AddressSanitizer and UndefinedBehaviorSanitizer, over the
# same source files the server loads (test/fuzz/fuzz_types.c says what is checked,
# test/fuzz/pg_stubs.c what stands in for the backend).  Seeds: test/fuzz/corpus/<type>/ (valid
# texts and past findings; the binary seeds are the texts' send() forms plus the past findings in
# test/fuzz/corpus/<type>_recv/), tokens: test/fuzz/types.dict.
#
# CS_FUZZ_SECONDS (default 60) is the total time, shared among the 18 targets (two at a time when
# there are two cores).  Any finding (a refusal that is not a data exception, a broken round trip, an
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

types=(bgnbd gamma_gamma pareto_nbd mbgnbd bgnbd_state gamma_gamma_state pareto_nbd_state mbgnbd_state rfm_state)
# With two cores or more, a type's text and binary targets run side by side, each for the type's
# share of the time; on one core one after the other, the text input getting two thirds.
if (($(nproc 2>/dev/null || echo 1) >= 2)); then
  parallel=1 text_s=$((total / ${#types[@]})) recv_s=$((total / ${#types[@]}))
else
  parallel=0 text_s=$((total * 2 / 3 / ${#types[@]})) recv_s=$((total / 3 / ${#types[@]}))
fi
((text_s >= 1)) || text_s=1
((recv_s >= 1)) || recv_s=1

fuzz() {   # fuzz TARGET SECONDS SEEDDIR...: run libFuzzer, its exit status in $work/TARGET.rc
  local target=$1 seconds=$2 rc=0
  shift 2
  mkdir -p "$work/corpus/$target"
  # new inputs go to the first directory (scratch), the seeds are only read
  CS_FUZZ_TARGET=$target "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
    -dict="$REPO/test/fuzz/types.dict" -artifact_prefix="$work/$target-" \
    "$work/corpus/$target" "$@" >"$work/$target.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$target.rc"
}

report() {   # report TARGET SECONDS: one TAP line, the finding and the kept files on failure
  local target=$1 seconds=$2 rc runs cov kept='' a
  rc=$(cat "$work/$target.rc")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$work/$target.log" | tail -n 1)
  executions=$((executions + ${runs:-0}))
  check "$target: ${runs:-0} executions in ${seconds} s, no finding ($cov)" "exit status 0" "exit status $rc"
  ((rc == 0)) && return
  mkdir -p "$REPO/.tmp"
  for a in "$work/$target"-*; do [[ -e $a ]] && cp "$a" "$REPO/.tmp/fuzz-${a##*/}" && kept+=" .tmp/fuzz-${a##*/}"; done
  cp "$work/$target.log" "$REPO/.tmp/fuzz-$target.log" && kept+=" .tmp/fuzz-$target.log"
  grep -m 1 -B 4 -A 12 -E '==== customer_score fuzz finding|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' \
    "$work/$target.log" | sed 's/^/# /'
  echo "# kept:$kept"
}

executions=0
for t in "${types[@]}"; do
  # seeds: the committed corpus (valid texts, inputs of past findings) and, for the binary
  # target, the send() form of each valid text seed
  mkdir -p "$work/seeds/$t"
  CS_FUZZ_TARGET=$t CS_FUZZ_WRITE_BINARY="$REPO/test/fuzz/corpus/$t:$work/seeds/$t" "$fuzzer" 2>/dev/null
  recv_seeds=("$work/seeds/$t")
  [[ -d $REPO/test/fuzz/corpus/${t}_recv ]] && recv_seeds+=("$REPO/test/fuzz/corpus/${t}_recv")
  if ((parallel)); then
    fuzz "$t" "$text_s" "$REPO/test/fuzz/corpus/$t" &
    fuzz "${t}_recv" "$recv_s" "${recv_seeds[@]}"
    wait
  else
    fuzz "$t" "$text_s" "$REPO/test/fuzz/corpus/$t"
    fuzz "${t}_recv" "$recv_s" "${recv_seeds[@]}"
  fi
  report "$t" "$text_s"
  report "${t}_recv" "$recv_s"
done
echo "# $executions executions in all"
echo "1..$_tap_n"
