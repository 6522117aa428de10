// Tests of MatchMain and the Bitap matcher: DMP's own match cases, the
// errors of the public API, characters outside the BMP, and randomized
// comparisons of the windowed matcher with a literal transcription of DMP's
// algorithm (which reads the whole text).
//
// Random cases print their seed; DIFFSYNC_SEED=<seed> repeats a run.
#include "diffsync/dmp/match.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "dmp/match_core.h"
#include "dmp/utf.h"
#include "common/test_seed.h"

namespace diffsync::dmp {
namespace {

using internal::TextTail;
using internal::U16;
using internal::U16View;

uint64_t Seed() { return diffsync::test_util::TestSeed(20240611); }

// -1 for "no match", as DMP writes it.
int64_t Bitap(U16View text, U16View pattern, int64_t loc, const Settings& s) {
  return internal::MatchBitap(TextTail{text, 0}, pattern, loc, s).value_or(-1);
}

int64_t Match(std::string_view text, std::string_view pattern, int64_t loc,
              const Settings& s = {}) {
  Result<std::optional<int64_t>> r = MatchMain(text, pattern, loc, s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->value_or(-1) : -2;
}

TEST(MatchBitapTest, DmpCases) {
  Settings s;
  s.match_distance = 100;
  s.match_threshold = 0.5;
  // Exact matches.
  EXPECT_EQ(Bitap(u"abcdefghijk", u"fgh", 5, s), 5);
  EXPECT_EQ(Bitap(u"abcdefghijk", u"fgh", 0, s), 5);
  // Fuzzy matches.
  EXPECT_EQ(Bitap(u"abcdefghijk", u"efxhi", 0, s), 4);
  EXPECT_EQ(Bitap(u"abcdefghijk", u"cdefxyhijk", 5, s), 2);
  EXPECT_EQ(Bitap(u"abcdefghijk", u"bxy", 1, s), -1);
  // Overflow.
  EXPECT_EQ(Bitap(u"123456789xx0", u"3456789x0", 2, s), 2);
  // Threshold.
  s.match_threshold = 0.4;
  EXPECT_EQ(Bitap(u"abcdefghijk", u"efxyhi", 1, s), 4);
  s.match_threshold = 0.3;
  EXPECT_EQ(Bitap(u"abcdefghijk", u"efxyhi", 1, s), -1);
  s.match_threshold = 0.0;
  EXPECT_EQ(Bitap(u"abcdefghijk", u"bcdef", 1, s), 1);
  s.match_threshold = 0.5;
  // Multiple select.
  EXPECT_EQ(Bitap(u"abcdexyzabcde", u"abccde", 3, s), 0);
  EXPECT_EQ(Bitap(u"abcdexyzabcde", u"abccde", 5, s), 8);
  // Distance: strict, then loose.
  s.match_distance = 10;
  EXPECT_EQ(Bitap(u"abcdefghijklmnopqrstuvwxyz", u"abcdefg", 24, s), -1);
  EXPECT_EQ(Bitap(u"abcdefghijklmnopqrstuvwxyz", u"abcdxxefg", 1, s), 0);
  s.match_distance = 1000;
  EXPECT_EQ(Bitap(u"abcdefghijklmnopqrstuvwxyz", u"abcdefg", 24, s), 0);
}

TEST(MatchBitapTest, ZeroDistanceNeedsTheExactLocation) {
  Settings s;
  s.match_distance = 0;
  EXPECT_EQ(Bitap(u"abcdefghijk", u"defxh", 3, s), 3);
  EXPECT_EQ(Bitap(u"abcdefghijk", u"defxh", 2, s), -1);
  // Any other location scores 1.0, which a threshold of 1 accepts.
  s.match_threshold = 1.0;
  EXPECT_EQ(Bitap(u"abcdefghijk", u"defxh", 2, s), 2);
}

TEST(MatchBitapTest, UsesAll64Bits) {
  Settings s;
  s.match_max_bits = 64;
  U16 text(200, u'.');
  U16 pattern;
  for (int i = 0; i < 64; ++i) pattern.push_back(u'a' + i % 26);
  text.replace(100, pattern.size(), pattern);
  U16 fuzzy = pattern;
  fuzzy[0] = u'#';
  fuzzy[40] = u'#';
  EXPECT_EQ(Bitap(text, fuzzy, 90, s), 100);
}

TEST(MatchMainTest, DmpCases) {
  // Shortcut matches.
  EXPECT_EQ(Match("abcdef", "abcdef", 1000), 0);
  EXPECT_EQ(Match("", "abcdef", 1), -1);
  EXPECT_EQ(Match("abcdef", "", 3), 3);
  EXPECT_EQ(Match("abcdef", "de", 3), 3);
  // Beyond end match.
  EXPECT_EQ(Match("abcdef", "defy", 4), 3);
  // Oversized pattern.
  EXPECT_EQ(Match("abcdef", "abcdefy", 0), 0);
  // Complex match.
  EXPECT_EQ(Match("I am the very model of a modern major general.",
                  " that berry ", 5),
            4);
}

TEST(MatchMainTest, ClampsTheLocation) {
  EXPECT_EQ(Match("abcdef", "", -7), 0);
  EXPECT_EQ(Match("abcdef", "", 1000), 6);
  EXPECT_EQ(Match("abcdef", "ef", 1000), 4);
}

TEST(MatchMainTest, CountsUtf16Units) {
  // "é" is one unit, "😀" two.
  EXPECT_EQ(Match("é😀abc", "abc", 0), 3);
  EXPECT_EQ(Match("é😀abc", "abx", 3), 3);
}

TEST(MatchMainTest, RejectsInvalidUtf8) {
  Result<std::optional<int64_t>> r = MatchMain("ab\xFF", "a", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("text"), std::string::npos);
  EXPECT_NE(r.status().message().find("byte 2"), std::string::npos);

  r = MatchMain("abc", "\xC0\x80", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pattern"), std::string::npos);
}

TEST(MatchMainTest, LongPatternOnlyMatchesVerbatimAtLoc) {
  const std::string text = "0123456789012345678901234567890123456789";
  const std::string pattern = text.substr(2, 35);
  EXPECT_EQ(Match(text, pattern, 2), 2);

  Result<std::optional<int64_t>> r = MatchMain(text, pattern, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("match_max_bits (32)"),
            std::string::npos);

  Settings wide;
  wide.match_max_bits = 64;
  EXPECT_EQ(Match(text, pattern, 3, wide), 2);
}

TEST(MatchMainTest, RejectsMaxBitsOutOfRange) {
  for (int bits : {0, -1, 65}) {
    Settings s;
    s.match_max_bits = bits;
    Result<std::optional<int64_t>> r = MatchMain("abc", "b", 0, s);
    ASSERT_FALSE(r.ok()) << bits;
    EXPECT_NE(r.status().message().find("match_max_bits"), std::string::npos);
  }
}

// DMP's match_main and match_bitap_, transcribed literally: whole-text
// indexOf and lastIndexOf, full-width rows, no character-boundary rule (so
// only valid for BMP text).
int64_t ReferenceMatch(U16View text, U16View pattern, int64_t loc,
                       const Settings& s) {
  const auto n = static_cast<int64_t>(text.size());
  const auto m = static_cast<int64_t>(pattern.size());
  loc = std::clamp<int64_t>(loc, 0, n);
  if (text == pattern) return 0;
  if (n == 0) return -1;
  if (text.substr(loc, m) == pattern) return loc;
  auto score = [&](int64_t e, int64_t x) {
    const double accuracy = static_cast<double>(e) / m;
    const int64_t proximity = std::abs(loc - x);
    if (s.match_distance == 0) return proximity ? 1.0 : accuracy;
    return accuracy + static_cast<double>(proximity) / s.match_distance;
  };
  auto mask = [&](char16_t c) {
    uint64_t bits = 0;
    for (int64_t i = 0; i < m; ++i) {
      if (pattern[i] == c) bits |= uint64_t{1} << (m - i - 1);
    }
    return bits;
  };
  double threshold = s.match_threshold;
  size_t exact = text.find(pattern, loc);
  if (exact != U16View::npos) {
    threshold = std::min(score(0, exact), threshold);
    exact = text.rfind(pattern, loc + m);
    if (exact != U16View::npos) {
      threshold = std::min(score(0, exact), threshold);
    }
  }
  const uint64_t match_mask = uint64_t{1} << (m - 1);
  int64_t best = -1;
  int64_t bin_max = m + n;
  std::vector<uint64_t> last_rd;
  for (int64_t d = 0; d < m; ++d) {
    int64_t bin_min = 0;
    int64_t bin_mid = bin_max;
    while (bin_min < bin_mid) {
      if (score(d, loc + bin_mid) <= threshold) {
        bin_min = bin_mid;
      } else {
        bin_max = bin_mid;
      }
      bin_mid = (bin_max - bin_min) / 2 + bin_min;
    }
    bin_max = bin_mid;
    int64_t start = std::max<int64_t>(1, loc - bin_mid + 1);
    const int64_t finish = std::min(loc + bin_mid, n) + m;
    std::vector<uint64_t> rd(finish + 2, 0);
    rd[finish + 1] = (uint64_t{1} << d) - 1;
    for (int64_t j = finish; j >= start; --j) {
      const uint64_t char_match = j - 1 < n ? mask(text[j - 1]) : 0;
      rd[j] = ((rd[j + 1] << 1) | 1) & char_match;
      if (d > 0) {
        rd[j] |= (((last_rd[j + 1] | last_rd[j]) << 1) | 1) | last_rd[j + 1];
      }
      if (rd[j] & match_mask) {
        const double sc = score(d, j - 1);
        if (sc <= threshold) {
          threshold = sc;
          best = j - 1;
          if (best > loc) {
            start = std::max<int64_t>(1, 2 * loc - best);
          } else {
            break;
          }
        }
      }
    }
    if (score(d + 1, loc) > threshold) break;
    last_rd = std::move(rd);
  }
  return best;
}

TEST(MatchMainTest, NeverStartsInsideASurrogatePair) {
  // An empty pattern at a location inside a pair matches before the pair.
  EXPECT_EQ(Match("a😀b", "", 2), 1);
  // The best fuzzy match starts on the low half of "😀" (unit 3), where
  // DMP's Bitap answers; ours takes the best match on a boundary.
  Settings s;
  s.match_distance = 100;
  const U16 text = u"xx😀bcdefg";
  EXPECT_EQ(ReferenceMatch(text, u"Zbcdefg", 3, s), 3);
  EXPECT_EQ(Match(internal::ToUtf8(text), "Zbcdefg", 3, s), 4);
  // Every answer, over many patterns and locations, is on a boundary.
  const U16 emoji = u"a😀b😀😀cd😀";
  int split_by_dmp = 0;
  for (int64_t loc = 0; loc <= static_cast<int64_t>(emoji.size()); ++loc) {
    for (U16View pattern : {u"a", u"b😀c", u"Xcd", u"😀b😀", u"d😀x"}) {
      const std::optional<int64_t> at =
          internal::MatchMain(emoji, pattern, loc, Settings());
      if (at) {
        EXPECT_TRUE(internal::IsCharBoundary(emoji, *at)) << loc;
      }
      const int64_t dmp = ReferenceMatch(emoji, pattern, loc, Settings());
      if (dmp >= 0 && !internal::IsCharBoundary(emoji, dmp)) ++split_by_dmp;
    }
  }
  EXPECT_GT(split_by_dmp, 0);  // The cases do tempt DMP into a split.
}

U16 RandomText(std::mt19937_64& rng, U16View alphabet, size_t size) {
  U16 out;
  for (size_t i = 0; i < size; ++i)
    out.push_back(alphabet[rng() % alphabet.size()]);
  return out;
}

// The windowed matcher (exact-instance search near loc, rows over the
// visited columns, reading only from MatchReach on) against the literal
// transcription, over repetitive texts and varied settings.
TEST(MatchMainTest, AgreesWithLiteralTranscriptionOfDmp) {
  std::mt19937_64 rng(Seed());
  const U16View alphabets[] = {u"ab", u"abc", u"abcd ", u"abcdefghij"};
  const double thresholds[] = {0.0, 0.2, 0.5, 0.8, 1.0};
  const int distances[] = {0, 1, 10, 100, 1000};
  for (int iter = 0; iter < 3000; ++iter) {
    Settings s;
    s.match_threshold = thresholds[rng() % 5];
    s.match_distance = distances[rng() % 5];
    s.match_max_bits = 64;
    const U16View alphabet = alphabets[rng() % 4];
    const U16 text = RandomText(rng, alphabet, rng() % 400);
    U16 pattern;
    if (!text.empty() && rng() % 2 == 0) {
      pattern = text.substr(rng() % text.size(), 1 + rng() % 40);
      if (!pattern.empty()) pattern[rng() % pattern.size()] = u'z';
    } else {
      pattern = RandomText(rng, alphabet, 1 + rng() % 40);
    }
    const int64_t loc = static_cast<int64_t>(rng() % (text.size() + 10)) - 3;
    const int64_t expected = ReferenceMatch(text, pattern, loc, s);
    // Only the part of the text from MatchReach on is handed over.
    const int64_t reach =
        internal::MatchReach(static_cast<int64_t>(text.size()),
                             static_cast<int64_t>(pattern.size()), loc, s);
    const TextTail tail{U16View(text).substr(reach), reach};
    EXPECT_EQ(internal::MatchMain(tail, pattern, loc, s).value_or(-1), expected)
        << "iteration " << iter << " loc " << loc << " reach " << reach
        << " text " << internal::ToUtf8(text) << " pattern "
        << internal::ToUtf8(pattern);
  }
}

// DMP lowers its threshold with exact instances of the pattern: the first
// at or after loc, and -- only if that search found one anywhere -- the last
// before loc + pattern size. Here the near instance is before loc and the
// only later one, if any, is far past the window the matcher reads.
TEST(MatchMainTest, ExactInstancesOnBothSidesOfLoc) {
  Settings s;
  s.match_distance = 10;
  const U16 text = u"xxabcdefgxx" + U16(500, u'-');
  for (const U16& t : {text, text + u"abcdefg"}) {
    const int64_t loc = 4;
    const int64_t reach =
        internal::MatchReach(static_cast<int64_t>(t.size()), 7, loc, s);
    const TextTail tail{U16View(t).substr(reach), reach};
    EXPECT_EQ(internal::MatchMain(tail, u"abcdefg", loc, s).value_or(-1), 2);
    EXPECT_EQ(ReferenceMatch(t, u"abcdefg", loc, s), 2);
  }
}

}  // namespace
}  // namespace diffsync::dmp
