// Internal: the patch algorithms on UTF-16 code units, behind the public
// patch API (which converts from and to UTF-8 at its edges).
//
// Same results as DMP's JavaScript port, except that no context, chunk or
// location splits a surrogate pair (see patch.cc for where that differs from
// JavaScript, which can only happen for text outside the BMP), and that
// settings under which JavaScript loops forever are refused or clamped (see
// CheckPatchSettings).
//
// Thread safety: pure functions; Patch16 is a plain value.
//
// Example:
//   Settings s;
//   Patches16 p = PatchMake(u"The cat", DiffMain(u"The cat", u"The hat",
//                           false, kNoDeadline), s);
//   Applied16 out = PatchApply(p, u"The cat sat", s);  // u"The hat sat"
#ifndef DIFFSYNC_SRC_DMP_PATCH_CORE_H_
#define DIFFSYNC_SRC_DMP_PATCH_CORE_H_

#include <cstdint>
#include <vector>

#include "diffsync/dmp/patch.h"
#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"
#include "dmp/diff_core.h"

namespace diffsync::dmp::internal {

struct Patch16 {
  Diffs16 diffs;
  int64_t start1 = 0;
  int64_t start2 = 0;
  int64_t length1 = 0;
  int64_t length2 = 0;
  friend bool operator==(const Patch16&, const Patch16&) = default;
};
using Patches16 = std::vector<Patch16>;

// Conversions from and to the public form. Starts and lengths are clamped to
// +-2^53 (beyond JavaScript's exact integers) so that no sum overflows.
Patches16 ToPatches16(const Patches& patches);
Patches ToPatches(const Patches16& patches);

// Settings the patch code needs: match_max_bits within [1, 64], patch_margin
// >= 0 and 2 * patch_margin < match_max_bits (with a wider margin DMP's
// patch_splitMax never ends). The error names the setting and its value.
Status CheckPatchSettings(const Settings& settings);
// The nearest settings that pass CheckPatchSettings, for the functions that
// have no way to report an error.
Settings ClampPatchSettings(const Settings& settings);

// The functions below need settings that pass CheckPatchSettings.

// DMP's patch_addContext_: grows `patch` with context from `text` (the text
// the patch applies to) until its pattern is unique in `text` or as long as
// Bitap allows, plus one margin.
void PatchAddContext(Patch16& patch, U16View text, const Settings& settings);

// DMP's patch_make from the source text and the diff from it (which must
// start from `text1`).
Patches16 PatchMake(U16View text1, const Diffs16& diffs,
                    const Settings& settings);

// DMP's patch_splitMax and patch_addPadding (which returns the padding).
void PatchSplitMax(Patches16& patches, const Settings& settings);
U16 PatchAddPadding(Patches16& patches, const Settings& settings);

struct Applied16 {
  U16 text;
  std::vector<bool> applied;  // One entry per hunk after PatchSplitMax.
};
// DMP's patch_apply. `text` must be well-formed UTF-16.
Applied16 PatchApply(Patches16 patches, U16View text, const Settings& settings);

}  // namespace diffsync::dmp::internal

#endif  // DIFFSYNC_SRC_DMP_PATCH_CORE_H_
