// PatchFromText on arbitrary text: it either reports an error or returns
// patches whose diff texts are valid UTF-8, that apply (or fail to apply,
// as a result) to any text without harm, and that survive a
// PatchToText/PatchFromText round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "diffsync/dmp/patch.h"
#include "fuzz_util.h"

namespace diffsync::dmp {
namespace {

using fuzz::Check;

int TestOneInput(const uint8_t* data, size_t size) {
  Result<Patches> patches = PatchFromText(fuzz::AsView(data, size));
  if (!patches.ok()) {
    Check(!patches.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  for (const Patch& p : *patches) {
    for (const Diff& d : p.diffs) {
      Check(fuzz::IsValidUtf8(d.text), "diff texts are valid UTF-8");
    }
  }
  // Parsed hunks carry whatever starts and lengths the header said; applying
  // them to the text they describe, and to nothing, must stay in bounds.
  std::string source;
  for (const Patch& p : *patches) source += Text1(p.diffs);
  for (const std::string_view target : {std::string_view(source), {}}) {
    Result<ApplyResult> applied = PatchApply(*patches, target);
    Check(applied.ok(), "PatchApply on valid text succeeds");
    Check(fuzz::IsValidUtf8(applied->text), "PatchApply output is valid UTF-8");
  }

  const std::string text = PatchToText(*patches);
  Result<Patches> again = PatchFromText(text);
  Check(again.ok(), "PatchFromText accepts what PatchToText wrote");
  Check(*again == *patches, "PatchFromText(PatchToText(p)) == p");
  Check(PatchToText(*again) == text, "PatchToText is a fixed point");
  return 0;
}

}  // namespace
}  // namespace diffsync::dmp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::dmp::TestOneInput(data, size);
}
