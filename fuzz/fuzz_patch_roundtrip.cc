// Two texts a and b (cut at the first 0xFF byte). When both are valid UTF-8:
// DiffMain rebuilds both, and the patches PatchMake(a, b) all apply to a and
// give b, also after a trip through patch text. When either is not, DiffMain
// and PatchMake report an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/patch.h"
#include "fuzz_util.h"

namespace diffsync::dmp {
namespace {

using fuzz::Check;

// Large inputs only make each run slower without reaching new code.
constexpr size_t kMaxInput = 1 << 14;

int TestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return 0;
  const auto [a, b] = fuzz::SplitAtFF(fuzz::AsView(data, size));
  const bool valid = fuzz::IsValidUtf8(a) && fuzz::IsValidUtf8(b);

  Result<Diffs> diffs = DiffMain(a, b);
  Check(diffs.ok() == valid, "DiffMain fails exactly on invalid UTF-8");
  Result<Patches> patches = PatchMake(a, b);
  Check(patches.ok() == valid, "PatchMake fails exactly on invalid UTF-8");
  if (!valid) return 0;

  Check(Text1(*diffs) == a, "Text1(DiffMain(a, b)) == a");
  Check(Text2(*diffs) == b, "Text2(DiffMain(a, b)) == b");

  Result<ApplyResult> applied = PatchApply(*patches, a);
  Check(applied.ok(), "PatchApply on valid text succeeds");
  Check(applied->text == b, "PatchApply(PatchMake(a, b), a) == b");
  Check(std::all_of(applied->applied.begin(), applied->applied.end(),
                    [](bool x) { return x; }),
        "every hunk of PatchMake(a, b) applies to a");

  Result<Patches> parsed = PatchFromText(PatchToText(*patches));
  Check(parsed.ok(), "PatchFromText accepts what PatchToText wrote");
  Check(*parsed == *patches, "PatchFromText(PatchToText(p)) == p");
  return 0;
}

}  // namespace
}  // namespace diffsync::dmp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::dmp::TestOneInput(data, size);
}
