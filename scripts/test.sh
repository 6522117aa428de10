#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, runs each fuzz
# target for a short bounded time, then runs every test (ctest's summary is
# the last thing printed).
# Environment: DIFFSYNC_FUZZ_SECONDS (default 20; 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --fuzz --browser
scripts/build.sh -DDIFFSYNC_WERROR=ON -DDIFFSYNC_BUILD_TESTS=ON -DDIFFSYNC_BUILD_BENCH=ON
fuzz_seconds="${DIFFSYNC_FUZZ_SECONDS:-20}"
if [[ "$fuzz_seconds" != 0 ]]; then
  fuzz/run.sh "$fuzz_seconds" > build/fuzz.log 2>&1 || {
    tail -50 build/fuzz.log
    exit 1
  }
  tail -1 build/fuzz.log
fi
# The end-to-end tests drive MobWrite's own client (pinned by the lock file).
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd build && ctest --output-on-failure -j "$(nproc)")
