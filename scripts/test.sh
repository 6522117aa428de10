#!/usr/bin/env bash
# The README's test command: installs what it needs, builds, runs each fuzz
# target for a short bounded time, runs every test, then builds and runs
# every test again (end-to-end tests included) under AddressSanitizer+UBSan
# (build-asan/) and under ThreadSanitizer (build-tsan/), both with g++
# (docs/TESTING.md, "Sanitizers"). Each ctest run prints its summary; the
# last line says which runs failed, if any.
# Environment: DIFFSYNC_FUZZ_SECONDS (default 20; 0 skips fuzzing),
#   DIFFSYNC_SANITIZERS (default "asan tsan"; "asan" or "tsan" runs one of
#   them; "none" skips the sanitizer builds).
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
failed=()
(cd build && ctest --output-on-failure -j "$(nproc)") || failed+=(build)

# Any report stops the process with an error, so the test that ran it fails.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_summary=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# ThreadSanitizer (GCC 12) needs the address space laid out as it expects:
# with a kernel that randomizes mmap with more than 28 bits it dies at start
# ("unexpected memory mapping"). Running without address randomization
# (setarch -R, inherited by every process the tests start) avoids it without
# privileges; failing that, root can lower vm.mmap_rnd_bits.
tsan_runner=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  tsan_runner=(setarch "$(uname -m)" -R)
elif [[ $(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) -gt 28 ]]; then
  sysctl -q -w vm.mmap_rnd_bits=28 || echo "test.sh: cannot lower vm.mmap_rnd_bits" >&2
fi

sanitizers="${DIFFSYNC_SANITIZERS:-asan tsan}"
[[ "$sanitizers" == none ]] && sanitizers=""
for s in $sanitizers; do
  case "$s" in
    asan) flags=address,undefined runner=() ;;
    tsan) flags=thread runner=("${tsan_runner[@]}") ;;
    *) echo "test.sh: unknown sanitizer $s (asan, tsan)" >&2; exit 2 ;;
  esac
  # g++: clang's UBSan crashes on Asio's coroutines (docs/TESTING.md).
  DIFFSYNC_BUILD_DIR="build-$s" scripts/build.sh -DCMAKE_CXX_COMPILER=g++ \
    -DDIFFSYNC_WERROR=ON -DDIFFSYNC_BUILD_TESTS=ON -DDIFFSYNC_BUILD_BENCH=OFF \
    -DDIFFSYNC_SANITIZE="$flags"
  echo "== ctest under $s"
  (cd "build-$s" && "${runner[@]}" ctest --output-on-failure -j "$(nproc)") \
    || failed+=("build-$s")
done

if ((${#failed[@]} > 0)); then
  echo "test.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: every run passed (build ${sanitizers:+and $sanitizers})"
