// Internal: DMP's match_main and Bitap on UTF-16 code units, shared by the
// public MatchMain and by PatchApply.
//
// Results are those of DMP's JavaScript match_main, except that a match never
// starts inside a surrogate pair (Bitap skips such candidates; an empty
// pattern at a location inside a pair matches at the start of the pair). For
// text without characters outside the BMP this changes nothing.
//
// Only a window around `loc` is read (MatchReach tells how far back it goes),
// so PatchApply can keep its text in a gap buffer with the gap before that
// window and match without copying the text.
//
// Thread safety: pure functions.
//
// Example:
//   Settings s;
//   std::optional<int64_t> at = MatchMain(u"abcdef", u"cxe", 1, s);  // 2
#ifndef DIFFSYNC_SRC_DMP_MATCH_CORE_H_
#define DIFFSYNC_SRC_DMP_MATCH_CORE_H_

#include <cstdint>
#include <optional>

#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"
#include "dmp/diff_core.h"

namespace diffsync::dmp::internal {

// Widest pattern Bitap can take (its bit masks are 64 bits).
inline constexpr int kMaxBitapPattern = 64;

// A text of which only the part from `base` on is at hand: logical position
// i (>= base) is tail[i - base]; the size is base + tail.size().
struct TextTail {
  U16View tail;
  int64_t base = 0;

  int64_t size() const { return base + static_cast<int64_t>(tail.size()); }
};

// Checks the settings the match code depends on: match_max_bits within
// [1, kMaxBitapPattern]. The error names the setting and its value.
Status CheckMatchSettings(const Settings& settings);

// The lowest position MatchMain(text, pattern, loc, settings) may read, for a
// text of `text_size` units. Needs settings that pass CheckMatchSettings.
int64_t MatchReach(int64_t text_size, int64_t pattern_size, int64_t loc,
                   const Settings& settings);

// The answer of match_main's shortcuts (the pattern is the whole text, the
// text is empty, or the pattern is found verbatim at the clamped `loc`), or
// nullopt when only Bitap can tell.
std::optional<std::optional<int64_t>> MatchShortcut(TextTail text,
                                                    U16View pattern,
                                                    int64_t loc);

// DMP's match_bitap_: the best fuzzy instance of `pattern` near `loc`
// (0 <= loc <= text.size()), or nullopt when none scores within
// settings.match_threshold. Requires 0 < pattern.size() <= kMaxBitapPattern;
// the caller enforces settings.match_max_bits.
std::optional<int64_t> MatchBitap(TextTail text, U16View pattern, int64_t loc,
                                  const Settings& settings);

// DMP's match_main: MatchShortcut, else MatchBitap. Requires
// pattern.size() <= kMaxBitapPattern.
std::optional<int64_t> MatchMain(TextTail text, U16View pattern, int64_t loc,
                                 const Settings& settings);
inline std::optional<int64_t> MatchMain(U16View text, U16View pattern,
                                        int64_t loc, const Settings& settings) {
  return MatchMain(TextTail{text, 0}, pattern, loc, settings);
}

}  // namespace diffsync::dmp::internal

#endif  // DIFFSYNC_SRC_DMP_MATCH_CORE_H_
