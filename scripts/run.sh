#!/usr/bin/env bash
# The README's run command: installs what it needs, builds, and runs the main
# program. Until the server lands, that is the CLI diffing two sample files.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh -DDIFFSYNC_BUILD_BENCH=OFF
build/bin/diffsync diff tools/testdata/sample_a.txt tools/testdata/sample_b.txt \
  --format unified
