#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, runs each fuzz
# target for a short bounded time, then runs every test (ctest's summary is
# the last thing printed).
# Environment: DIFFSYNC_FUZZ_SECONDS (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --fuzz
scripts/build.sh -DDIFFSYNC_WERROR=ON
fuzz_seconds="${DIFFSYNC_FUZZ_SECONDS:-20}"
if [[ "$fuzz_seconds" != 0 ]]; then
  fuzz/run.sh "$fuzz_seconds" > build/fuzz.log 2>&1 || {
    tail -50 build/fuzz.log
    exit 1
  }
  tail -1 build/fuzz.log
fi
(cd build && ctest --output-on-failure -j "$(nproc)")
