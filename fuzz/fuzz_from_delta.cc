// FromDelta on arbitrary (text1, delta) pairs: it either reports an error or
// returns a diff that rebuilds text1, keeps characters whole, and survives a
// ToDelta/FromDelta round trip unchanged.
#include <cstddef>
#include <cstdint>

#include "diffsync/dmp/diff.h"
#include "fuzz_util.h"

namespace diffsync::dmp {
namespace {

using fuzz::Check;

int TestOneInput(const uint8_t* data, size_t size) {
  const auto [text1, delta] = fuzz::SplitAtFF(fuzz::AsView(data, size));

  Result<Diffs> diffs = FromDelta(text1, delta);
  if (!diffs.ok()) {
    Check(!diffs.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  Check(fuzz::IsValidUtf8(text1), "invalid text1 is an error");
  for (const Diff& d : *diffs) {
    Check(fuzz::IsValidUtf8(d.text), "diff texts are valid UTF-8");
  }
  Check(Text1(*diffs) == text1, "Text1(FromDelta(text1, delta)) == text1");

  const std::string canonical = ToDelta(*diffs);
  Result<Diffs> again = FromDelta(text1, canonical);
  Check(again.ok(), "FromDelta accepts what ToDelta wrote");
  Check(*again == *diffs, "FromDelta(text1, ToDelta(d)) == d");
  Check(ToDelta(*again) == canonical, "ToDelta is a fixed point");
  return 0;
}

}  // namespace
}  // namespace diffsync::dmp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::dmp::TestOneInput(data, size);
}
