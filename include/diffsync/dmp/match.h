// Match: fuzzy search for a pattern near an expected location, with
// diff-match-patch's Bitap scorer (Match_Threshold, Match_Distance,
// Match_MaxBits). Same results as DMP's match_main.
//
// Locations count UTF-16 code units (see settings.h). A match never starts
// inside a character.
//
// Thread safety: reentrant.
//
// Example:
//   auto loc = diffsync::dmp::MatchMain("I am the very model", "modle", 10);
//   if (loc.ok() && loc->has_value()) Use(**loc);  // 14
#ifndef DIFFSYNC_DMP_MATCH_H_
#define DIFFSYNC_DMP_MATCH_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "diffsync/dmp/settings.h"
#include "diffsync/status.h"

namespace diffsync::dmp {

// Finds the best instance of `pattern` in `text` near `loc` (clamped to the
// text). nullopt when nothing scores within settings.match_threshold.
// Errors: invalid UTF-8; a pattern longer than settings.match_max_bits that
// is not found verbatim at `loc`; settings out of range (match_max_bits must
// be 1..64).
Result<std::optional<int64_t>> MatchMain(std::string_view text,
                                         std::string_view pattern, int64_t loc,
                                         const Settings& settings = {});

}  // namespace diffsync::dmp

#endif  // DIFFSYNC_DMP_MATCH_H_
