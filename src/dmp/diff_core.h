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
#include <vector>

#include "diffsync/dmp/diff.h"

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

size_t CommonPrefix(U16View a, U16View b);
// Byte lengths of the common prefix / suffix of two UTF-8 texts, on a
// character boundary.
size_t CommonPrefix(std::string_view a, std::string_view b);
size_t CommonSuffix(std::string_view a, std::string_view b);
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

U16 Text1(const Diffs16& diffs);
U16 Text2(const Diffs16& diffs);
int64_t XIndex(const Diffs16& diffs, int64_t loc);
int64_t Levenshtein(const Diffs16& diffs);

// Conversions between the public (UTF-8) and internal (UTF-16) forms.
Diffs16 ToDiffs16(const Diffs& diffs);
Diffs ToDiffs(const Diffs16& diffs);

}  // namespace diffsync::dmp::internal

#endif  // DIFFSYNC_SRC_DMP_DIFF_CORE_H_
