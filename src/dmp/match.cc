// match_main and Bitap, step for step as DMP's JavaScript port so that
// results are identical, with two differences that only matter for speed:
//  - the search for an exact instance of the pattern, which only tightens the
//    score threshold, looks no further from `loc` than a match could still
//    score, and scans the rest of the text only when that decides the answer
//    (see MatchBitap);
//  - Bitap's rows cover just the columns a pass visits, and character masks
//    come from a table instead of a hash.
// Bit masks are 64 bits wide. Shifts only move bits up and only bit
// pattern.size() - 1 is tested, so for patterns of up to 32 units the
// results equal those of JavaScript's 32-bit integers.

#include "diffsync/dmp/match.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "dmp/match_core.h"
#include "dmp/utf.h"

namespace diffsync::dmp::internal {
namespace {

// The view of text[lo, hi); lo must not be before text.base.
U16View Slice(TextTail text, int64_t lo, int64_t hi) {
  assert(lo >= text.base && lo <= hi && hi <= text.size());
  return text.tail.substr(static_cast<size_t>(lo - text.base),
                          static_cast<size_t>(hi - lo));
}

// text[i]; i must be within [text.base, text.size()).
char16_t At(TextTail text, int64_t i) {
  assert(i >= text.base && i < text.size());
  return text.tail[static_cast<size_t>(i - text.base)];
}

// IsCharBoundary for a TextTail; reads text[i - 1], so i - 1 >= text.base
// unless i is 0.
bool IsBoundary(TextTail text, int64_t i) {
  return i <= 0 || i >= text.size() || !IsLowSurrogate(At(text, i)) ||
         !IsHighSurrogate(At(text, i - 1));
}

// JavaScript's Math.min: NaN if either argument is NaN.
double JsMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return std::min(a, b);
}

// Bitap's alphabet: for each pattern character, the bits of the positions
// where it occurs (the last pattern character is bit 0). ASCII characters
// index an array; the at most 64 others live in a small open-addressed
// table, where 0 marks an empty slot (0 is ASCII, so never a key there).
class Alphabet {
 public:
  explicit Alphabet(U16View pattern) {
    const size_t m = pattern.size();
    for (size_t i = 0; i < m; ++i) {
      Add(pattern[i], uint64_t{1} << (m - i - 1));
    }
  }

  uint64_t Mask(char16_t c) const {
    if (c < kAscii) return ascii_[c];
    if (!has_others_) return 0;
    for (size_t slot = Hash(c);; slot = (slot + 1) % kSlots) {
      if (keys_[slot] == c) return masks_[slot];
      if (keys_[slot] == 0) return 0;
    }
  }

 private:
  static constexpr size_t kAscii = 128;
  // Twice the widest pattern, so probes stay short and always end.
  static constexpr size_t kSlots = 2 * kMaxBitapPattern;

  static size_t Hash(char16_t c) { return (c * 40503u >> 7) % kSlots; }

  void Add(char16_t c, uint64_t bit) {
    if (c < kAscii) {
      ascii_[c] |= bit;
      return;
    }
    has_others_ = true;
    size_t slot = Hash(c);
    while (keys_[slot] != 0 && keys_[slot] != c) slot = (slot + 1) % kSlots;
    keys_[slot] = c;
    masks_[slot] |= bit;
  }

  std::array<uint64_t, kAscii> ascii_{};
  std::array<char16_t, kSlots> keys_{};
  std::array<uint64_t, kSlots> masks_{};
  bool has_others_ = false;
};

// match_bitapScore_: 0.0 is a perfect match at `loc`, 1.0 a bad one.
class Scorer {
 public:
  Scorer(int64_t pattern_size, int64_t loc, int distance)
      : pattern_size_(static_cast<double>(pattern_size)),
        loc_(loc),
        distance_(distance) {}

  double operator()(int64_t errors, int64_t x) const {
    const double accuracy = static_cast<double>(errors) / pattern_size_;
    const int64_t proximity = std::abs(loc_ - x);
    if (distance_ == 0) return proximity != 0 ? 1.0 : accuracy;
    return accuracy + static_cast<double>(proximity) / distance_;
  }

 private:
  double pattern_size_;
  int64_t loc_;
  int distance_;
};

// Bitap's binary search: how far from `loc` a match with `errors` errors may
// be and still score within `threshold`, searching below `bin_max`.
int64_t SearchReach(const Scorer& score, int64_t errors, int64_t loc,
                    double threshold, int64_t bin_max) {
  int64_t bin_min = 0;
  int64_t bin_mid = bin_max;
  while (bin_min < bin_mid) {
    if (score(errors, loc + bin_mid) <= threshold) {
      bin_min = bin_mid;
    } else {
      bin_max = bin_mid;
    }
    bin_mid = (bin_max - bin_min) / 2 + bin_min;
  }
  return bin_mid;
}

// How far from `loc` Bitap looks, over all its passes: the first pass's
// reach with the initial threshold (later passes and lower thresholds reach
// no further), or the whole text when scores do not grow with the distance.
int64_t BitapReach(int64_t text_size, int64_t pattern_size, int64_t loc,
                   const Settings& settings) {
  const int64_t whole = text_size + pattern_size;
  if (settings.match_distance < 0) return whole;
  const Scorer score(pattern_size, loc, settings.match_distance);
  return SearchReach(score, 0, loc, settings.match_threshold, whole);
}

// First instance of `pattern` in `text` starting within [from, last].
std::optional<int64_t> FindForward(TextTail text, U16View pattern, int64_t from,
                                   int64_t last) {
  const auto m = static_cast<int64_t>(pattern.size());
  last = std::min(last, text.size() - m);
  if (from > last) return std::nullopt;
  const size_t at = Slice(text, from, last + m).find(pattern);
  if (at == U16View::npos) return std::nullopt;
  return from + static_cast<int64_t>(at);
}

// Last instance of `pattern` in `text` starting within [first, from].
std::optional<int64_t> FindBackward(TextTail text, U16View pattern,
                                    int64_t first, int64_t from) {
  const auto m = static_cast<int64_t>(pattern.size());
  from = std::min(from, text.size() - m);
  if (first > from) return std::nullopt;
  const size_t at = Slice(text, first, from + m).rfind(pattern);
  if (at == U16View::npos) return std::nullopt;
  return first + static_cast<int64_t>(at);
}

// Bitap's passes proper, from the score threshold `threshold`; each pass
// allows one more error.
std::optional<int64_t> BitapPasses(TextTail text, U16View pattern,
                                   const Alphabet& alphabet, int64_t loc,
                                   const Scorer& score, double threshold) {
  const auto m = static_cast<int64_t>(pattern.size());
  const int64_t n = text.size();
  const uint64_t match_mask = uint64_t{1} << (m - 1);
  std::optional<int64_t> best_loc;
  int64_t bin_max = m + n;
  // Row d of the Bitap table over columns [row_base, row_base + row.size()).
  // Columns a pass does not reach stay 0, as JavaScript's undefined entries
  // read as 0 in bit operations.
  std::vector<uint64_t> row;
  std::vector<uint64_t> last_row;
  int64_t row_base = 0;
  int64_t last_row_base = 0;
  for (int64_t d = 0; d < m; ++d) {
    const int64_t bin_mid = SearchReach(score, d, loc, threshold, bin_max);
    bin_max = bin_mid;
    int64_t start = std::max<int64_t>(1, loc - bin_mid + 1);
    const int64_t finish = std::min(loc + bin_mid, n) + m;
    // A match past loc moves start to its mirror image, at most one pattern
    // length below the first start.
    row_base = std::max<int64_t>(1, std::min(start, 2 * loc - finish + 1));
    row.assign(static_cast<size_t>(finish - row_base + 2), 0);
    auto cell = [&](std::vector<uint64_t>& r, int64_t base,
                    int64_t j) -> uint64_t& {
      return r[static_cast<size_t>(j - base)];
    };
    cell(row, row_base, finish + 1) = (uint64_t{1} << d) - 1;
    for (int64_t j = finish; j >= start; --j) {
      const uint64_t char_match =
          j - 1 < n ? alphabet.Mask(At(text, j - 1)) : 0;
      uint64_t rd = ((cell(row, row_base, j + 1) << 1) | 1) & char_match;
      if (d > 0) {
        const uint64_t next = cell(last_row, last_row_base, j + 1);
        rd |= (((next | cell(last_row, last_row_base, j)) << 1) | 1) | next;
      }
      cell(row, row_base, j) = rd;
      if ((rd & match_mask) != 0 && IsBoundary(text, j - 1)) {
        const double candidate = score(d, j - 1);
        if (candidate <= threshold) {
          threshold = candidate;
          best_loc = j - 1;
          if (*best_loc > loc) {
            start = std::max<int64_t>(1, 2 * loc - *best_loc);
          } else {
            break;
          }
        }
      }
    }
    if (score(d + 1, loc) > threshold) break;
    std::swap(row, last_row);
    last_row_base = row_base;
  }
  return best_loc;
}

}  // namespace

Status CheckMatchSettings(const Settings& settings) {
  if (settings.match_max_bits < 1 ||
      settings.match_max_bits > kMaxBitapPattern) {
    return Status::InvalidArgument("settings.match_max_bits is " +
                                   std::to_string(settings.match_max_bits) +
                                   "; it must be within [1, " +
                                   std::to_string(kMaxBitapPattern) + "]");
  }
  return Status::Ok();
}

int64_t MatchReach(int64_t text_size, int64_t pattern_size, int64_t loc,
                   const Settings& settings) {
  // Comparing the pattern with the whole text reads all of it.
  if (text_size <= pattern_size) return 0;
  loc = std::clamp<int64_t>(loc, 0, text_size);
  const int64_t reach = BitapReach(text_size, pattern_size, loc, settings);
  // A pass may step back one pattern length past its reach (DMP's "don't
  // exceed our current distance from loc"), and the boundary check reads one
  // unit before a candidate.
  return std::max<int64_t>(0, loc - reach - pattern_size - 2);
}

std::optional<std::optional<int64_t>> MatchShortcut(TextTail text,
                                                    U16View pattern,
                                                    int64_t loc) {
  const int64_t n = text.size();
  const auto m = static_cast<int64_t>(pattern.size());
  loc = std::clamp<int64_t>(loc, 0, n);
  if (n == m && Slice(text, 0, n) == pattern) return std::optional<int64_t>(0);
  if (n == 0) return std::optional<int64_t>();
  if (m == 0) {
    // An empty pattern matches anywhere; keep it off the inside of a pair.
    return std::optional<int64_t>(IsBoundary(text, loc) ? loc : loc - 1);
  }
  if (loc + m <= n && Slice(text, loc, loc + m) == pattern) {
    return std::optional<int64_t>(loc);
  }
  return std::nullopt;
}

std::optional<int64_t> MatchBitap(TextTail text, U16View pattern, int64_t loc,
                                  const Settings& settings) {
  const auto m = static_cast<int64_t>(pattern.size());
  assert(m > 0 && m <= kMaxBitapPattern);
  const int64_t n = text.size();
  const Alphabet alphabet(pattern);
  const Scorer score(m, loc, settings.match_distance);
  auto passes = [&](double threshold) {
    return BitapPasses(text, pattern, alphabet, loc, score, threshold);
  };

  // DMP first lowers the threshold to the score of the first exact instance
  // at or after loc (indexOf) and then, if that search found one, of the last
  // one starting at or before loc + m (lastIndexOf). Instances farther from
  // loc than `reach` score above the threshold and change nothing, so both
  // searches stay within reach. Only whether lastIndexOf counts depends on
  // the whole text: if no instance follows loc within reach, one may still
  // follow beyond it. Both answers are computed then, and the rest of the
  // text is scanned only in the rare case that they differ.
  const int64_t reach = BitapReach(n, m, loc, settings);
  double threshold = settings.match_threshold;
  const std::optional<int64_t> after =
      FindForward(text, pattern, loc, loc + reach);
  if (after) threshold = JsMin(score(0, *after), threshold);
  const std::optional<int64_t> before =
      FindBackward(text, pattern, std::max<int64_t>(0, loc - reach), loc + m);
  if (!before) return passes(threshold);
  const double lowered = JsMin(score(0, *before), threshold);
  if (after) return passes(lowered);
  const std::optional<int64_t> with_before = passes(lowered);
  const std::optional<int64_t> without = passes(threshold);
  if (with_before == without) return without;
  return FindForward(text, pattern, loc + reach + 1, n) ? with_before : without;
}

std::optional<int64_t> MatchMain(TextTail text, U16View pattern, int64_t loc,
                                 const Settings& settings) {
  assert(pattern.size() <= static_cast<size_t>(kMaxBitapPattern));
  if (auto shortcut = MatchShortcut(text, pattern, loc)) return *shortcut;
  return MatchBitap(text, pattern, std::clamp<int64_t>(loc, 0, text.size()),
                    settings);
}

}  // namespace diffsync::dmp::internal

namespace diffsync::dmp {

Result<std::optional<int64_t>> MatchMain(std::string_view text,
                                         std::string_view pattern, int64_t loc,
                                         const Settings& settings) {
  if (Status s = internal::CheckMatchSettings(settings); !s.ok()) return s;
  Result<std::u16string> text16 = internal::DecodeUtf8(text, "text");
  if (!text16.ok()) return text16.status();
  Result<std::u16string> pattern16 = internal::DecodeUtf8(pattern, "pattern");
  if (!pattern16.ok()) return pattern16.status();
  const internal::TextTail whole{*text16, 0};
  if (auto shortcut = internal::MatchShortcut(whole, *pattern16, loc)) {
    return *shortcut;
  }
  if (pattern16->size() > static_cast<size_t>(settings.match_max_bits)) {
    return Status::InvalidArgument(
        "pattern is " + std::to_string(pattern16->size()) +
        " UTF-16 code units long, more than settings.match_max_bits (" +
        std::to_string(settings.match_max_bits) +
        "), and is not found verbatim at loc");
  }
  return internal::MatchBitap(
      whole, *pattern16, std::clamp<int64_t>(loc, 0, whole.size()), settings);
}

}  // namespace diffsync::dmp
