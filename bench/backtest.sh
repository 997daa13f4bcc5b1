#!/usr/bin/env bash
# bench/backtest.sh — the backtest claim of issue 13: customer_score.backtest() on 1,000,000
# customers costs at most 1.5x a refresh() on the same data, measured in the same run.
# It runs bench/refresh.sh (same data, same settings; BENCH_RUNS defaults to 1 here) and then
# bench/backtest_runs.sh in the same cluster: BENCH_BT_RUNS (default 3) pairs of
#   refresh('default', BENCH_BT_AS_OF)  and  backtest('default', BENCH_BT_AS_OF, BENCH_BT_UNTIL)
# each in a fresh backend, interleaved, medians and their ratio reported (wall and CPU).
# Defaults: as of 2024-07-01, outcomes to 2025-01-01 (the data ends 2024-12-31).
#
#   bash bench/backtest.sh        (CS_PG_ROOT=DIR to install into a private PostgreSQL copy)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export BENCH_RUNS=${BENCH_RUNS:-1}
export BENCH_AFTER="$here/backtest_runs.sh"
exec bash "$here/refresh.sh"
