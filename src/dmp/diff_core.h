// Internal: the diff algorithms on UTF-16 code units, shared by the public
// diff, patch and match code. Same algorithms and results as DMP's JavaScript
// port, except that no function here returns a diff that splits a surrogate
// pair.
//
// Thread safety: pure functions.
//
// Example:
//   Diffs16 d = DiffMain(u"abc", u"abd", /*check_lines=*/false, kNoDeadline);
//   CleanupSemantic(d);
#ifndef DIFFSYNC_SRC_DMP_DIFF_CORE_H_
#define DIFFSYNC_SRC_DMP_DIFF_CORE_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "dmp/utf.h"

namespace diffsync::dmp::internal {

using U16 = std::u16string;
using U16View = std::u16string_view;
using TimePoint = std::chrono::steady_clock::time_point;
inline constexpr TimePoint kNoDeadline = TimePoint::max();

// A diff over code units of type C: char16_t for text, char32_t for the line
// ids of line mode.
template <typename C>
struct BasicDiff {
  Operation operation = Operation::kEqual;
  std::basic_string<C> text;
  friend bool operator==(const BasicDiff&, const BasicDiff&) = default;
};
using Diff16 = BasicDiff<char16_t>;
using Diffs16 = std::vector<Diff16>;

// now + seconds, or kNoDeadline for seconds <= 0.
TimePoint DeadlineAfter(double seconds);

Diffs16 DiffMain(U16View text1, U16View text2, bool check_lines,
                 TimePoint deadline);
// The middle step of DiffMain for texts with no common prefix or suffix:
// the diff before its final CleanupMerge, which the caller runs once over
// prefix + diff + suffix (as DMP does; merging the middle alone first can
// shift edits differently).
Diffs16 DiffCompute(U16View text1, U16View text2, bool check_lines,
                    TimePoint deadline);

// The middle-snake search has a plain and, on x86-64 CPUs with AVX2, a
// vectorised form, used by default; both must find the same snakes.
// Turning the vector form off (on = false) lets tests compare the two.
// Returns whether the vector form is now in use. Affects all threads.
bool UseVectorSnakeForTesting(bool on);

size_t CommonPrefix(U16View a, U16View b);
// Byte lengths of the common prefix / suffix of two UTF-8 texts, on a
// character boundary. With `ascii`, also whether those bytes are all ASCII
// (found in the same pass).
size_t CommonPrefix(std::string_view a, std::string_view b,
                    bool* ascii = nullptr);
size_t CommonSuffix(std::string_view a, std::string_view b,
                    bool* ascii = nullptr);
size_t CommonSuffix(U16View a, U16View b);
size_t CommonOverlap(U16View a, U16View b);
// {text1_prefix, text1_suffix, text2_prefix, text2_suffix, common}; the
// caller decides whether half-match is allowed (only with a deadline).
std::optional<std::array<U16, 5>> HalfMatch(U16View text1, U16View text2);

void CleanupMerge(Diffs16& diffs);
// The same merge run directly on UTF-8 diffs (what the public API uses, so
// that merging never converts the text).
void CleanupMerge(Diffs& diffs);
void CleanupSemantic(Diffs16& diffs);
void CleanupSemanticLossless(Diffs16& diffs);
void CleanupEfficiency(Diffs16& diffs, int edit_cost);

// Length in UTF-16 units of a diff text of either form.
inline int64_t Units(U16View text) { return static_cast<int64_t>(text.size()); }
inline int64_t Units(std::string_view utf8) {
  return static_cast<int64_t>(Utf16Length(utf8));
}

// The source (equalities and deletions) or destination (equalities and
// insertions) text of a diff of either form.
template <typename D>
auto TextOf(const std::vector<D>& diffs, Operation skipped) {
  decltype(D::text) text;
  for (const D& d : diffs) {
    if (d.operation != skipped) text += d.text;
  }
  return text;
}

// DMP's diff_xIndex: maps a position in text1 to text2.
template <typename D>
int64_t XIndexOf(const std::vector<D>& diffs, int64_t loc) {
  int64_t chars1 = 0, chars2 = 0, last_chars1 = 0, last_chars2 = 0;
  size_t x = 0;
  for (; x < diffs.size(); ++x) {
    const int64_t size = Units(diffs[x].text);
    if (diffs[x].operation != Operation::kInsert) chars1 += size;
    if (diffs[x].operation != Operation::kDelete) chars2 += size;
    if (chars1 > loc) break;  // Overshot the location.
    last_chars1 = chars1;
    last_chars2 = chars2;
  }
  // Was the location deleted?
  if (x != diffs.size() && diffs[x].operation == Operation::kDelete) {
    return last_chars2;
  }
  return last_chars2 + (loc - last_chars1);
}

// DMP's diff_levenshtein: inserted, deleted or substituted units.
template <typename D>
int64_t LevenshteinOf(const std::vector<D>& diffs) {
  int64_t levenshtein = 0, insertions = 0, deletions = 0;
  for (const D& d : diffs) {
    switch (d.operation) {
      case Operation::kInsert:
        insertions += Units(d.text);
        break;
      case Operation::kDelete:
        deletions += Units(d.text);
        break;
      case Operation::kEqual:
        // A deletion and an insertion is one substitution.
        levenshtein += std::max(insertions, deletions);
        insertions = deletions = 0;
        break;
    }
  }
  return levenshtein + std::max(insertions, deletions);
}

inline U16 Text1(const Diffs16& diffs) {
  return TextOf(diffs, Operation::kInsert);
}
inline U16 Text2(const Diffs16& diffs) {
  return TextOf(diffs, Operation::kDelete);
}
inline int64_t XIndex(const Diffs16& diffs, int64_t loc) {
  return XIndexOf(diffs, loc);
}
inline int64_t Levenshtein(const Diffs16& diffs) {
  return LevenshteinOf(diffs);
}

// One token of a delta (DMP's delta format): `op` is '=', '-' or '+';
// `count` the units of '=' and '-'; `text` the decoded insertion of '+',
// valid during the call it is passed to (it points into the delta when
// nothing needed decoding); `offset` where the token starts in the delta.
struct DeltaToken {
  char op = '=';
  int64_t count = 0;
  std::string_view text;
  size_t offset = 0;
};
// Calls `fn` (Status(DeltaToken&)) for each token of `delta` in order and
// stops at the first non-OK Status it returns. Malformed UTF-8, numbers,
// escapes or operations are errors naming the offset ("delta: ... at offset
// N"). A template rather than std::function: this runs for every delta of
// every sync cycle.
Status ForEachDeltaToken(std::string_view delta,
                         Status (*fn)(void* ctx, DeltaToken& token),
                         void* ctx);
template <typename F>
Status ForEachDeltaToken(std::string_view delta, F&& fn) {
  using FRef = std::remove_reference_t<F>;
  return ForEachDeltaToken(
      delta,
      [](void* ctx, DeltaToken& token) -> Status {
        return (*static_cast<FRef*>(ctx))(token);
      },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Conversions between the public (UTF-8) and internal (UTF-16) forms.
Diffs16 ToDiffs16(const Diffs& diffs);
Diffs ToDiffs(const Diffs16& diffs);

}  // namespace diffsync::dmp::internal

#endif  // DIFFSYNC_SRC_DMP_DIFF_CORE_H_
