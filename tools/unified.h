// Line views of a diff for the diffsync CLI: a character diff regrouped into
// whole-line edits, and rendered as a GNU-style unified diff.
//
// A line is its text up to and including its '\n' (the last line of a text
// may lack one). A line is kept when the character diff leaves it untouched;
// any line that a character edit touches is deleted and re-inserted whole.
// That makes the line view exact (applying it to text1 gives text2) and as
// fine as the character diff it comes from.
//
// Thread safety: pure functions.
//
// Example:
//   auto diffs = diffsync::dmp::DiffMain("a\nb\nc\n", "a\nB\nc\n");
//   diffsync::cli::WholeLines(*diffs);  // {=a\n, -b\n, +B\n, =c\n}
//   std::string u = diffsync::cli::UnifiedDiff(*diffs, "old", "new");
//   // "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
#ifndef DIFFSYNC_TOOLS_UNIFIED_H_
#define DIFFSYNC_TOOLS_UNIFIED_H_

#include <string>
#include <string_view>

#include "diffsync/dmp/diff.h"

namespace diffsync::cli {

// The diff with every edit widened to whole lines. Within each changed
// region the deleted lines come first, then the inserted ones, each merged
// into one Diff; Text1 and Text2 of the result equal those of `diffs`.
dmp::Diffs WholeLines(const dmp::Diffs& diffs);

// A unified diff (as `diff -u`, without timestamps in the ---/+++ header)
// with `context` unchanged lines around each change; hunks whose context
// would touch or overlap are merged. A last line without '\n' is followed by
// "\ No newline at end of file". Empty when the texts are equal.
std::string UnifiedDiff(const dmp::Diffs& diffs, std::string_view label1,
                        std::string_view label2, int context = 3);

}  // namespace diffsync::cli

#endif  // DIFFSYNC_TOOLS_UNIFIED_H_
