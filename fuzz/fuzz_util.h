// Shared by the libFuzzer targets: how an input is cut into two texts, and
// how a broken property is reported (abort, so libFuzzer saves the input).
//
// Thread safety: pure functions.
//
// Example:
//   auto [a, b] = diffsync::fuzz::SplitAtFF(AsView(data, size));
//   diffsync::fuzz::Check(Text1(diffs) == a, "Text1 rebuilds a");
#ifndef DIFFSYNC_FUZZ_FUZZ_UTIL_H_
#define DIFFSYNC_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "dmp/utf.h"

namespace diffsync::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts at the first 0xFF byte, which never occurs in UTF-8: both halves can
// still be any valid text, and the mutator can still put invalid bytes
// (0xFF included) in the second one.
inline std::pair<std::string_view, std::string_view> SplitAtFF(
    std::string_view input) {
  const size_t cut = input.find('\xff');
  if (cut == std::string_view::npos) return {input, {}};
  return {input.substr(0, cut), input.substr(cut + 1)};
}

inline bool IsValidUtf8(std::string_view text) {
  return dmp::internal::FindInvalidUtf8(text) == std::string_view::npos;
}

inline void Check(bool ok, const char* property) {
  if (!ok) {
    std::fprintf(stderr, "property broken: %s\n", property);
    std::abort();
  }
}

}  // namespace diffsync::fuzz

#endif  // DIFFSYNC_FUZZ_FUZZ_UTIL_H_
