// Test helper: the seed of a test binary's random cases. DIFFSYNC_SEED, when
// set, replays a run; otherwise the caller's default is used. Either way the
// seed is printed once, so any run can be repeated.
//
// Thread safety: the first call initialises a function-local static.
//
// Example:
//   std::mt19937_64 rng(diffsync::test_util::TestSeed(20240611));
#ifndef DIFFSYNC_SRC_COMMON_TEST_SEED_H_
#define DIFFSYNC_SRC_COMMON_TEST_SEED_H_

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>

namespace diffsync::test_util {

// DIFFSYNC_SEED as a number (decimal, or 0x... hex), if it is set.
inline std::optional<uint64_t> SeedFromEnv() {
  const char* env = std::getenv("DIFFSYNC_SEED");
  if (env == nullptr || *env == '\0') return std::nullopt;
  return std::strtoull(env, nullptr, 0);
}

// The binary's seed: DIFFSYNC_SEED or `default_seed`, printed on first use.
inline uint64_t TestSeed(uint64_t default_seed) {
  static const uint64_t seed = [&] {
    const uint64_t s = SeedFromEnv().value_or(default_seed);
    std::cout << "[ seed ] DIFFSYNC_SEED=" << s << "\n";
    return s;
  }();
  return seed;
}

}  // namespace diffsync::test_util

#endif  // DIFFSYNC_SRC_COMMON_TEST_SEED_H_
