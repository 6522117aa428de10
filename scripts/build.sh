#!/usr/bin/env bash
# Configures and builds DiffSync into build/ (binaries in build/bin/).
# Usage: scripts/build.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# Two cores and large translation units: more jobs only thrash.
cmake --build build -j "$(nproc)"
