// Settings: the tuning knobs of diff, match and patch, with diff-match-patch's
// defaults and meanings (Diff_Timeout, Diff_EditCost, Match_Threshold, ...).
//
// Units: every position and length in diffsync::dmp counts UTF-16 code units,
// as diff-match-patch and its wire formats (deltas, patch text) do. For text
// made only of Basic Multilingual Plane characters that is the number of
// characters; a character outside the BMP (most emoji) counts 2.
//
// Thread safety: a plain value type.
//
// Example:
//   diffsync::dmp::Settings s;
//   s.diff_timeout = 0;  // No deadline: always the minimal diff.
//   auto diffs = diffsync::dmp::DiffMain(a, b, s);
#ifndef DIFFSYNC_DMP_SETTINGS_H_
#define DIFFSYNC_DMP_SETTINGS_H_

namespace diffsync::dmp {

struct Settings {
  // Seconds a diff may spend before it settles for a coarser (still correct)
  // result. 0 or less: no deadline. (Diff_Timeout)
  double diff_timeout = 1.0;
  // Cost of an empty edit operation in terms of edit characters, used by
  // CleanupEfficiency. (Diff_EditCost)
  int diff_edit_cost = 4;
  // 0.0 = match only exactly, 1.0 = match anything. (Match_Threshold)
  double match_threshold = 0.5;
  // How far from the expected location a match may be before it scores as
  // a complete mismatch; 0 requires the exact location. (Match_Distance)
  int match_distance = 1000;
  // Fraction of a large deleted block that must match for the deletion to
  // apply when patching. (Patch_DeleteThreshold)
  double patch_delete_threshold = 0.5;
  // Context size around each patch hunk. (Patch_Margin)
  int patch_margin = 4;
  // Longest pattern Bitap matches, and so the largest patch hunk before
  // PatchSplitMax cuts it. At most 64. (Match_MaxBits)
  int match_max_bits = 32;
};

}  // namespace diffsync::dmp

#endif  // DIFFSYNC_DMP_SETTINGS_H_
