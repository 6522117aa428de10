#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (in build-fuzz/) and runs each one
# for SECONDS (default 30). Exits non-zero if any target finds a failure; the
# input that broke it is saved as build-fuzz/artifacts/<target>-crash-*.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Env:   DIFFSYNC_FUZZ_BUILD_DIR (default <repo>/build-fuzz),
#        DIFFSYNC_FUZZ_JOBS (build parallelism, default 2),
#        CXX (default clang++-14, else clang++).
set -euo pipefail

seconds="${1:-30}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${DIFFSYNC_FUZZ_BUILD_DIR:-${root}/build-fuzz}"
jobs="${DIFFSYNC_FUZZ_JOBS:-2}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_from_delta fuzz_patch_from_text fuzz_patch_roundtrip fuzz_diff_utf8
    fuzz_protocol fuzz_gateway fuzz_state_file fuzz_wire_session fuzz_engine
    fuzz_presence fuzz_config fuzz_token fuzz_client_receive)
fi

cxx="${CXX:-}"
if [ -z "${cxx}" ]; then
  cxx="$(command -v clang++-14 || command -v clang++ || true)"
fi
if [ -z "${cxx}" ]; then
  echo "fuzz/run.sh: clang++ not found (apt-get install clang-14)" >&2
  exit 2
fi

cmake -S "${root}" -B "${build}" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${cxx}" \
  -DDIFFSYNC_BUILD_FUZZ=ON \
  -DDIFFSYNC_BUILD_TESTS=OFF \
  -DDIFFSYNC_BUILD_BENCH=OFF \
  -DDIFFSYNC_SANITIZE=address,undefined >/dev/null
ninja -C "${build}" -j "${jobs}" "${targets[@]}"

mkdir -p "${build}/artifacts"
failed=()
for target in "${targets[@]}"; do
  # New inputs go to a scratch corpus; the checked-in seeds stay untouched.
  work="${build}/corpus/${target}"
  mkdir -p "${work}"
  echo "== ${target}: ${seconds}s"
  if ! "${build}/bin/${target}" \
      -max_total_time="${seconds}" -timeout=20 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="${build}/artifacts/${target}-" \
      "${work}" "${root}/fuzz/corpus/${target}"; then
    failed+=("${target}")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: failures in: ${failed[*]} (inputs in ${build}/artifacts)" >&2
  exit 1
fi
echo "fuzz/run.sh: ${#targets[@]} targets ran ${seconds}s each without failures"
