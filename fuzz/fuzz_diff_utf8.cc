// Arbitrary bytes, valid UTF-8 or not, through the diff and match entry
// points: each either reports an error or returns valid UTF-8 that means
// what it should. The first byte chooses where the rest is cut in two, so
// invalid sequences can sit anywhere in either text. Valid texts are also
// diffed with the plain and the vector middle-snake search, which must agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/match.h"
#include "dmp/diff_core.h"
#include "fuzz_util.h"

namespace diffsync::dmp {
namespace {

using fuzz::Check;

constexpr size_t kMaxInput = 1 << 14;

void CheckWhole(const Diffs& diffs, const char* what) {
  for (const auto& d : diffs) {
    Check(fuzz::IsValidUtf8(d.text), what);
  }
}

int TestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kMaxInput) return 0;
  const std::string_view rest = fuzz::AsView(data + 1, size - 1);
  const size_t cut = rest.size() * data[0] / 255;
  const std::string_view a = rest.substr(0, cut), b = rest.substr(cut);
  const bool valid = fuzz::IsValidUtf8(a) && fuzz::IsValidUtf8(b);

  for (bool check_lines : {false, true}) {
    Result<Diffs> diffs = DiffMain(a, b, Settings(), check_lines);
    Check(diffs.ok() == valid, "DiffMain fails exactly on invalid UTF-8");
    if (!diffs.ok()) {
      Check(!diffs.status().message().empty(), "an error says what is wrong");
      continue;
    }
    CheckWhole(*diffs, "DiffMain output is valid UTF-8");
    Check(Text1(*diffs) == a && Text2(*diffs) == b, "DiffMain rebuilds a, b");
    internal::UseVectorSnakeForTesting(false);
    // Without a deadline the result is deterministic: the plain and the
    // vector middle-snake searches must agree.
    Settings no_deadline;
    no_deadline.diff_timeout = 0;
    Result<Diffs> plain = DiffMain(a, b, no_deadline, check_lines);
    internal::UseVectorSnakeForTesting(true);
    Result<Diffs> vector = DiffMain(a, b, no_deadline, check_lines);
    Check(plain.ok() && vector.ok() && *plain == *vector,
          "vector and plain snake searches agree");
    Result<DiffViews> views = DiffMainViews(a, b, no_deadline, check_lines);
    Check(views.ok() && ToDiffs(*views) == *vector,
          "DiffMainViews is DiffMain without copies");
  }

  // Diffs built by hand from the raw bytes (the cut in `a` may fall inside a
  // character). Functions taking Diffs expect valid UTF-8 and have no error
  // channel, so with bad bytes they are only run under the sanitizers; with
  // valid texts every cleanup keeps both texts and characters whole.
  const Diffs raw = {
      {Operation::kEqual, std::string(a.substr(0, a.size() / 2))},
      {Operation::kDelete, std::string(a.substr(a.size() / 2))},
      {Operation::kInsert, std::string(b)}};
  const bool raw_valid = std::all_of(raw.begin(), raw.end(), [](const Diff& x) {
    return fuzz::IsValidUtf8(x.text);
  });
  const std::string text1 = Text1(raw), text2 = Text2(raw);
  const std::pair<const char*, void (*)(Diffs&)> cleanups[] = {
      {"CleanupSemantic", [](Diffs& x) { CleanupSemantic(x); }},
      {"CleanupEfficiency", [](Diffs& x) { CleanupEfficiency(x); }},
      {"CleanupSemanticLossless", [](Diffs& x) { CleanupSemanticLossless(x); }},
      {"CleanupMerge", [](Diffs& x) { CleanupMerge(x); }},
  };
  for (const auto& [name, cleanup] : cleanups) {
    Diffs d = raw;
    cleanup(d);
    if (!raw_valid) continue;
    CheckWhole(d, name);
    Check(Text1(d) == text1 && Text2(d) == text2, name);
  }
  const std::string html = PrettyHtml(raw);
  const std::string delta = ToDelta(raw);
  if (raw_valid) {
    Check(fuzz::IsValidUtf8(html), "PrettyHtml output is valid UTF-8");
    Result<Diffs> back = FromDelta(text1, delta);
    Check(back.ok() && *back == raw, "FromDelta(Text1(d), ToDelta(d)) == d");
  }
  Check(Levenshtein(raw) >= 0, "Levenshtein is not negative");
  Check(CommonPrefix(a, b) >= 0 && CommonSuffix(a, b) >= 0 &&
            CommonOverlap(a, b) >= 0,
        "common lengths are not negative");

  // Bitap takes at most Match_MaxBits (32) code units; 32 bytes never exceed
  // that.
  const std::string_view pattern = b.substr(0, 32);
  const bool match_valid = fuzz::IsValidUtf8(a) && fuzz::IsValidUtf8(pattern);
  const int64_t loc = static_cast<int64_t>(data[0]) - 8;
  Result<std::optional<int64_t>> found = MatchMain(a, pattern, loc);
  Check(found.ok() == match_valid, "MatchMain fails exactly on invalid UTF-8");
  if (found.ok() && found->has_value()) {
    Check(**found >= 0 && **found <= Utf16Length(a),
          "MatchMain finds a location inside the text");
  }
  return 0;
}

}  // namespace
}  // namespace diffsync::dmp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::dmp::TestOneInput(data, size);
}
