#!/usr/bin/env bash
# The README's run command: installs what it needs, builds, and starts
# diffsyncd on 127.0.0.1:8080 with its embedded store in ./data (override
# with DIFFSYNC_LISTEN and DIFFSYNC_DATA; extra arguments go to diffsyncd).
# It serves anyone without a token (--allow-anonymous), which is fine on
# loopback; elsewhere give a secret instead (README.md, "Access tokens").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh -DDIFFSYNC_BUILD_BENCH=OFF -DDIFFSYNC_BUILD_TESTS=OFF
exec build/bin/diffsyncd --listen "${DIFFSYNC_LISTEN:-127.0.0.1:8080}" \
  --data "${DIFFSYNC_DATA:-./data}" --allow-anonymous "$@"
