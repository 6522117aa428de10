// Arbitrary bytes, valid UTF-8 or not, through the diff and match entry
// points: each either reports an error or returns valid UTF-8 that means
// what it should. The first byte chooses where the rest is cut in two, so
// invalid sequences can sit anywhere in either text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/match.h"
#include "fuzz_util.h"

constexpr size_t kMaxInput = 1 << 14;

namespace {

void CheckWhole(const diffsync::dmp::Diffs& diffs, const char* what) {
  for (const auto& d : diffs) {
    diffsync::fuzz::Check(diffsync::fuzz::IsValidUtf8(d.text), what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffsync::dmp;
  using diffsync::fuzz::Check;
  if (size < 1 || size > kMaxInput) return 0;
  const std::string_view rest = diffsync::fuzz::AsView(data + 1, size - 1);
  const size_t cut = rest.size() * data[0] / 255;
  const std::string_view a = rest.substr(0, cut), b = rest.substr(cut);
  const bool valid =
      diffsync::fuzz::IsValidUtf8(a) && diffsync::fuzz::IsValidUtf8(b);

  for (bool check_lines : {false, true}) {
    Result<Diffs> diffs = DiffMain(a, b, Settings(), check_lines);
    Check(diffs.ok() == valid, "DiffMain fails exactly on invalid UTF-8");
    if (!diffs.ok()) {
      Check(!diffs.status().message().empty(), "an error says what is wrong");
      continue;
    }
    CheckWhole(*diffs, "DiffMain output is valid UTF-8");
    Check(Text1(*diffs) == a && Text2(*diffs) == b, "DiffMain rebuilds a, b");
  }

  // Diffs built by hand from the raw bytes: the documented reading of bad
  // bytes is U+FFFD, so every cleanup must still produce valid UTF-8.
  const Diffs raw = {{Operation::kEqual, std::string(a.substr(0, a.size() / 2))},
                     {Operation::kDelete, std::string(a.substr(a.size() / 2))},
                     {Operation::kInsert, std::string(b)}};
  Diffs d = raw;
  CleanupSemantic(d);
  CheckWhole(d, "CleanupSemantic output is valid UTF-8");
  d = raw;
  CleanupEfficiency(d);
  CheckWhole(d, "CleanupEfficiency output is valid UTF-8");
  d = raw;
  CleanupSemanticLossless(d);
  CheckWhole(d, "CleanupSemanticLossless output is valid UTF-8");
  Check(diffsync::fuzz::IsValidUtf8(PrettyHtml(raw)),
        "PrettyHtml output is valid UTF-8");
  Check(Levenshtein(raw) >= 0, "Levenshtein is not negative");
  Check(CommonPrefix(a, b) >= 0 && CommonSuffix(a, b) >= 0 &&
            CommonOverlap(a, b) >= 0,
        "common lengths are not negative");

  // Bitap takes at most Match_MaxBits (32) code units; 32 bytes never exceed
  // that.
  const std::string_view pattern = b.substr(0, 32);
  const bool match_valid =
      diffsync::fuzz::IsValidUtf8(a) && diffsync::fuzz::IsValidUtf8(pattern);
  const int64_t loc = static_cast<int64_t>(data[0]) - 8;
  Result<std::optional<int64_t>> found = MatchMain(a, pattern, loc);
  Check(found.ok() == match_valid, "MatchMain fails exactly on invalid UTF-8");
  if (found.ok() && found->has_value()) {
    Check(**found >= 0 && **found <= Utf16Length(a),
          "MatchMain finds a location inside the text");
  }
  return 0;
}
