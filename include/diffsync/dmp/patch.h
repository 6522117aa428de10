// Patch: hunks with context that turn one text into another and still apply,
// fuzzily, to a text that has changed meanwhile. Compatible with
// diff-match-patch: same hunks from PatchMake, same patch text (a GNU
// unidiff-like format with encodeURI-escaped lines), same PatchApply results.
//
// Starts and lengths count UTF-16 code units (see settings.h), as the patch
// text does. A hunk that does not apply is a result (ApplyResult::applied),
// not an error.
//
// Thread safety: reentrant; Patches are plain values.
//
// Example:
//   using namespace diffsync::dmp;
//   Result<Patches> patches = PatchMake("The cat sat.", "The hat sat.");
//   std::string wire = PatchToText(*patches);  // "@@ -1,9 +1,9 @@\n The \n-c\n+h\n at s\n"
//   Result<Patches> parsed = PatchFromText(wire);
//   Result<ApplyResult> out = PatchApply(*parsed, "The cat sat down.");
//   // out->text == "The hat sat down.", out->applied == {true}
#ifndef DIFFSYNC_DMP_PATCH_H_
#define DIFFSYNC_DMP_PATCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"

namespace diffsync::dmp {

// One hunk. start1/length1 locate it in the source text, start2/length2 in
// the destination text (0-based; the patch text shows them 1-based as DMP).
struct Patch {
  Diffs diffs;
  int64_t start1 = 0;
  int64_t start2 = 0;
  int64_t length1 = 0;
  int64_t length2 = 0;

  // This hunk in patch-text form, as DMP's patch_obj.toString().
  std::string ToString() const;

  friend bool operator==(const Patch&, const Patch&) = default;
};

using Patches = std::vector<Patch>;

// Hunks turning `text1` into `text2` (computes the diff with DiffMain, then
// CleanupSemantic and CleanupEfficiency when there are more than two diffs).
Result<Patches> PatchMake(std::string_view text1, std::string_view text2,
                          const Settings& settings = {});
// Hunks from a diff alone (text1 is reconstructed from it).
Patches PatchMake(const Diffs& diffs, const Settings& settings = {});
// Hunks from the source text and the diff from it (the fastest form).
// Errors: invalid UTF-8 in `text1`, or `diffs` not starting from `text1`.
Result<Patches> PatchMake(std::string_view text1, const Diffs& diffs,
                          const Settings& settings = {});

// Patch text, as DMP's patch_toText.
std::string PatchToText(const Patches& patches);
// Parses patch text. Errors name the line and what is wrong with it.
Result<Patches> PatchFromText(std::string_view text);

// Splits hunks longer than settings.match_max_bits so Bitap can place them.
void PatchSplitMax(Patches& patches, const Settings& settings = {});
// Adds settings.patch_margin padding characters (U+0001...) around the
// patches so edits at the very start or end of a text can be matched;
// returns the padding. Used by PatchApply on a copy.
std::string PatchAddPadding(Patches& patches, const Settings& settings = {});

struct ApplyResult {
  std::string text;           // The patched text.
  // One entry per hunk after PatchSplitMax cut the long ones, as DMP.
  std::vector<bool> applied;
  friend bool operator==(const ApplyResult&, const ApplyResult&) = default;
};

// Applies `patches` to `text`: each hunk is located with MatchMain near its
// expected place and applied there; hunks that cannot be placed are skipped
// and reported as not applied. Runs in time proportional to the text plus
// the work per hunk (the text is not rebuilt per hunk).
// Errors: invalid UTF-8 in `text`; settings out of range (match_max_bits
// 1..64 and 2 * patch_margin < match_max_bits, or splitting never ends).
Result<ApplyResult> PatchApply(const Patches& patches, std::string_view text,
                               const Settings& settings = {});

}  // namespace diffsync::dmp

#endif  // DIFFSYNC_DMP_PATCH_H_
