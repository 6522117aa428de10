// Diff: the differences between two texts, compatible with Google's
// diff-match-patch (DMP). Same algorithm (Myers' O(ND) bisection with DMP's
// speedups), same cleanups, same delta format, same results on DMP's tests.
//
// Text model. Texts are UTF-8 in and out; invalid UTF-8 is reported as an
// error, never passed through. A diff never splits a character (DMP can split
// a surrogate pair; we do not). Positions and lengths (XIndex, Levenshtein,
// deltas) count UTF-16 code units, the unit of DMP's wire formats.
//
// Thread safety: all functions are reentrant; Diffs are plain values,
// DiffViews point into the caller's texts.
//
// Example:
//   using namespace diffsync::dmp;
//   Result<Diffs> diffs = DiffMain("The cat sat.", "The hat sat down.");
//   if (!diffs.ok()) return diffs.status();
//   CleanupSemantic(*diffs);
//   std::string delta = ToDelta(*diffs);          // "=4\t-1\t+h\t=7\t+
//   down"... Result<Diffs> again = FromDelta("The cat sat.", delta);  // ==
//   *diffs
//   // Large texts: the same diff as views into the inputs, no copies.
//   Result<DiffViews> views = DiffMainViews(big1, big2);
#ifndef DIFFSYNC_DMP_DIFF_H_
#define DIFFSYNC_DMP_DIFF_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"

namespace diffsync::dmp {

enum class Operation : int8_t { kDelete = -1, kEqual = 0, kInsert = 1 };

// One step of a diff: keep, delete or insert `text` (UTF-8).
struct Diff {
  Operation operation = Operation::kEqual;
  std::string text;

  friend bool operator==(const Diff&, const Diff&) = default;
};

using Diffs = std::vector<Diff>;

// One step of a diff whose text is not a copy but a view into the texts that
// were diffed: into text1 for keep and delete, into text2 for insert.
struct DiffView {
  Operation operation = Operation::kEqual;
  std::string_view text;

  friend bool operator==(const DiffView&, const DiffView&) = default;
};

using DiffViews = std::vector<DiffView>;

// Functions taking Diffs expect their texts to be valid UTF-8, as everything
// this library returns is. Those that must decode the text (the semantic and
// efficiency cleanups, CommonOverlap, FindHalfMatch) read invalid bytes as
// U+FFFD; the others pass them through.

// Finds the differences between `text1` and `text2`. With `check_lines` and
// texts over 100 characters, a fast line-level diff runs first and only
// changed lines are diffed by character (DMP's line mode; no limit on the
// number of distinct lines). Past `settings.diff_timeout` the search stops
// refining and returns a correct but less minimal diff of the remaining
// region; it never degrades the whole document to one delete + one insert
// unless nothing else was found. Errors: invalid UTF-8 in either text.
Result<Diffs> DiffMain(std::string_view text1, std::string_view text2,
                       const Settings& settings = {}, bool check_lines = true);

// Same, with an explicit deadline instead of settings.diff_timeout
// (time_point::max() means none).
Result<Diffs> DiffMain(std::string_view text1, std::string_view text2,
                       std::chrono::steady_clock::time_point deadline,
                       bool check_lines = true);

// DiffMain without copying: the same diff, as views into `text1` and
// `text2`, valid as long as they are. For long texts with few changes the
// copies are most of DiffMain's cost (a one-character change in 10 MB costs
// little more than comparing the texts once).
Result<DiffViews> DiffMainViews(std::string_view text1, std::string_view text2,
                                const Settings& settings = {},
                                bool check_lines = true);
Result<DiffViews> DiffMainViews(std::string_view text1, std::string_view text2,
                                std::chrono::steady_clock::time_point deadline,
                                bool check_lines = true);

// Copies the texts of a diff of views.
Diffs ToDiffs(const DiffViews& views);

// Length of the common prefix / suffix of two texts, and of the longest
// suffix of `text1` that is a prefix of `text2` (overlap); in UTF-16 code
// units, ending on a character boundary.
int64_t CommonPrefix(std::string_view text1, std::string_view text2);
int64_t CommonSuffix(std::string_view text1, std::string_view text2);
int64_t CommonOverlap(std::string_view text1, std::string_view text2);

// DMP's half-match speedup: if the texts share a substring at least half as
// long as the longer text, the five pieces around it. Never used (nullopt)
// when there is no deadline, because it can yield a non-minimal diff.
struct HalfMatch {
  std::string text1_prefix, text1_suffix;
  std::string text2_prefix, text2_suffix;
  std::string common;
  friend bool operator==(const HalfMatch&, const HalfMatch&) = default;
};
std::optional<HalfMatch> FindHalfMatch(std::string_view text1,
                                       std::string_view text2,
                                       const Settings& settings = {});

// Reorders and merges like edit sections; merges equalities. Any edit
// section can move as long as it doesn't cross an equality.
void CleanupMerge(Diffs& diffs);
// Reduces the number of edits by eliminating semantically trivial equalities.
void CleanupSemantic(Diffs& diffs);
// Shifts single edits surrounded on both sides by equalities so that the edit
// aligns to a word or line boundary (e.g. "The c<ins>at c</ins>ame." becomes
// "The <ins>cat </ins>came.").
void CleanupSemanticLossless(Diffs& diffs);
// Reduces the number of edits by eliminating operationally trivial
// equalities (cost: settings.diff_edit_cost).
void CleanupEfficiency(Diffs& diffs, const Settings& settings = {});

// Maps a position in text1 to the equivalent position in text2.
int64_t XIndex(const Diffs& diffs, int64_t loc);
// The source and destination texts of a diff.
std::string Text1(const Diffs& diffs);
std::string Text2(const Diffs& diffs);
// Number of inserted, deleted or substituted UTF-16 code units.
int64_t Levenshtein(const Diffs& diffs);
// An HTML rendering of the diff, exactly as DMP's diff_prettyHtml.
std::string PrettyHtml(const Diffs& diffs);

// The delta format: "=3\t-2\t+ing" keeps 3, deletes 2, inserts "ing"; counts
// in UTF-16 code units, inserted text escaped as JavaScript's encodeURI with
// "%20" written as a space. Byte-identical to DMP's diff_toDelta.
std::string ToDelta(const Diffs& diffs);
// Rebuilds the diff from `text1` and a delta. Errors (with the offset in the
// delta and the reason): malformed escapes or numbers, an unknown operation,
// counts that do not fit `text1`, or a count that splits a character.
Result<Diffs> FromDelta(std::string_view text1, std::string_view delta);

// Number of UTF-16 code units in a UTF-8 text.
int64_t Utf16Length(std::string_view utf8);

}  // namespace diffsync::dmp

#endif  // DIFFSYNC_DMP_DIFF_H_
