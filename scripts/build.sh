#!/usr/bin/env bash
# Configures and builds DiffSync into build/ (binaries in build/bin/), or into
# $DIFFSYNC_BUILD_DIR (scripts/test.sh builds its sanitizer builds so).
# Usage: scripts/build.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${DIFFSYNC_BUILD_DIR:-build}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Two cores and large translation units: more jobs only thrash.
cmake --build "$dir" -j "$(nproc)"
