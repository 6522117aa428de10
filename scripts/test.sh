#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, runs every test,
# then runs each fuzz target for a short bounded time.
# Environment: DIFFSYNC_FUZZ_SECONDS (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --fuzz
scripts/build.sh -DDIFFSYNC_WERROR=ON
(cd build && ctest --output-on-failure -j "$(nproc)")
fuzz_seconds="${DIFFSYNC_FUZZ_SECONDS:-20}"
if [[ "$fuzz_seconds" != 0 ]]; then
  fuzz/run.sh "$fuzz_seconds"
fi
