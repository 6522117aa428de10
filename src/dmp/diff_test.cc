#include "diffsync/dmp/diff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "common/test_seed.h"
#include "dmp/diff_core.h"
#include "dmp/utf.h"

namespace diffsync::dmp {
namespace {

constexpr Operation kDel = Operation::kDelete;
constexpr Operation kIns = Operation::kInsert;
constexpr Operation kEq = Operation::kEqual;

Settings NoTimeout() {
  Settings s;
  s.diff_timeout = 0;
  return s;
}

bool AllValidUtf8(const Diffs& diffs) {
  for (const auto& d : diffs) {
    if (internal::FindInvalidUtf8(d.text) != std::string::npos) return false;
  }
  return true;
}

TEST(DiffMain, TrivialCases) {
  EXPECT_EQ(*DiffMain("", "", NoTimeout()), Diffs{});
  EXPECT_EQ(*DiffMain("abc", "abc", NoTimeout()), (Diffs{{kEq, "abc"}}));
  EXPECT_EQ(*DiffMain("abc", "ab123c", NoTimeout()),
            (Diffs{{kEq, "ab"}, {kIns, "123"}, {kEq, "c"}}));
  EXPECT_EQ(
      *DiffMain("a123b456c", "abc", NoTimeout()),
      (Diffs{
          {kEq, "a"}, {kDel, "123"}, {kEq, "b"}, {kDel, "456"}, {kEq, "c"}}));
}

TEST(DiffMain, RejectsInvalidUtf8NamingTheText) {
  auto r = DiffMain("fine", "bad \xC3(", NoTimeout());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "text2: invalid UTF-8 at byte 4");
  EXPECT_FALSE(DiffMain("\x80", "", NoTimeout()).ok());
}

TEST(DiffMain, NeverSplitsASurrogatePair) {
  // Both emoji share their high surrogate; DMP JS diffs the low halves apart.
  const std::string a = "\xF0\x9F\x98\x80";  // U+1F600
  const std::string b = "\xF0\x9F\x98\x81";  // U+1F601
  EXPECT_EQ(*DiffMain(a, b, NoTimeout()), (Diffs{{kDel, a}, {kIns, b}}));
  auto d = *DiffMain("x" + a + "y" + a, "z" + b + "y" + b, NoTimeout(), false);
  EXPECT_TRUE(AllValidUtf8(d));
  EXPECT_EQ(Text1(d), "x" + a + "y" + a);
  EXPECT_EQ(Text2(d), "z" + b + "y" + b);
}

TEST(DiffMain, NeverSplitsCharactersOnRandomAstralText) {
  std::mt19937_64 rng(test_util::TestSeed(20261201));
  const std::string alphabet[] = {"a",
                                  "\xC3\xA9",
                                  "\xE4\xB8\xAD",
                                  "\xF0\x9F\x98\x80",
                                  "\xF0\x9F\x98\x81",
                                  "\xF0\x9F\x98\x82",
                                  "\n"};
  auto random_text = [&] {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) s += alphabet[rng() % std::size(alphabet)];
    return s;
  };
  for (int i = 0; i < 300; ++i) {
    const std::string a = random_text(), b = random_text();
    for (bool lines : {false, true}) {
      Diffs d = *DiffMain(a, b, NoTimeout(), lines);
      ASSERT_TRUE(AllValidUtf8(d));
      ASSERT_EQ(Text1(d), a);
      ASSERT_EQ(Text2(d), b);
      CleanupSemantic(d);
      ASSERT_TRUE(AllValidUtf8(d));
      ASSERT_EQ(Text2(d), b);
      CleanupEfficiency(d);
      ASSERT_EQ(Text1(d), a);
      ASSERT_EQ(Text2(d), b);
      ASSERT_EQ(*FromDelta(a, ToDelta(d)), d);
    }
  }
}

// The vector middle-snake search must find exactly the snakes the plain
// one finds: same diffs with and without it, with no deadline and with one
// already passed (which cuts every bisection short the same way each run).
// Pairs are a random text and an edited copy, so both long snakes and many
// short chance matches occur; small alphabets make the chance matches dense.
TEST(DiffMain, VectorAndPlainSnakeSearchesAgree) {
  if (!internal::UseVectorSnakeForTesting(true)) {
    GTEST_SKIP() << "no vector snake search on this CPU";
  }
  std::mt19937_64 rng(test_util::TestSeed(20261201));
  const std::vector<std::vector<std::string>> alphabets = {
      {"a", "b"},
      {"a", "b", "c", "d", " ", "\n"},
      {"the ", "cat ", "sat ", "on ", "a ", "mat", ".", "\n", "e", "t"},
      {"a", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", " "}};
  auto random_text = [&](const std::vector<std::string>& alphabet, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  const auto past = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (int i = 0; i < 400; ++i) {
    const auto& alphabet = alphabets[rng() % alphabets.size()];
    const std::string a =
        random_text(alphabet, static_cast<int>(rng() % (i < 360 ? 300 : 3000)));
    // An edited copy: random deletions and insertions along the text.
    std::string b;
    for (size_t at = 0; at < a.size();) {
      size_t keep = std::min<size_t>(a.size() - at, rng() % 40);
      while (at + keep < a.size() &&
             internal::IsContinuationByte(a[at + keep])) {
        ++keep;  // Keep whole characters.
      }
      b += a.substr(at, keep);
      at += keep;
      if (rng() % 2 == 0)
        b += random_text(alphabet, static_cast<int>(rng() % 8));
      while (at < a.size() && rng() % 3 != 0) {
        // Delete whole characters only (skip continuation bytes).
        ++at;
        while (at < a.size() && internal::IsContinuationByte(a[at])) ++at;
      }
    }
    for (int mode = 0; mode < 3; ++mode) {
      auto diff = [&] {
        return mode == 2 ? *DiffMain(a, b, past, false)
                         : *DiffMain(a, b, NoTimeout(), mode == 1);
      };
      internal::UseVectorSnakeForTesting(true);
      const Diffs vector = diff();
      internal::UseVectorSnakeForTesting(false);
      const Diffs plain = diff();
      internal::UseVectorSnakeForTesting(true);
      ASSERT_EQ(vector, plain) << "case " << i << " mode " << mode;
      ASSERT_EQ(Text1(vector), a);
      ASSERT_EQ(Text2(vector), b);
    }
  }
}

// DiffMainViews merges only a window of the common prefix and suffix (see
// diff.cc); it must give what merging all of them gives, which is what the
// UTF-16 core's DiffMain does. Edits clustered in one spot of texts made of
// a few repeated pieces keep the prefix and suffix long and make the merge
// shift edits back and forth at their edges.
TEST(DiffMainViews, EqualsTheWholeMergeAndPointsIntoTheTexts) {
  std::mt19937_64 rng(test_util::TestSeed(20261201));
  const std::string pieces[] = {
      "a", "b", " ", "ab", "\n", "\xC3\xA9", "\xF0\x9F\x98\x80"};
  auto random_text = [&](int n, int alphabet) {
    std::string s;
    for (int i = 0; i < n; ++i) s += pieces[rng() % alphabet];
    return s;
  };
  auto boundary = [](const std::string& s, size_t at) {
    while (at < s.size() && internal::IsContinuationByte(s[at])) {
      ++at;
    }
    return at;
  };
  for (int i = 0; i < 2000; ++i) {
    const int alphabet = 1 + static_cast<int>(rng() % std::size(pieces));
    std::string a = random_text(20 + static_cast<int>(rng() % 600), alphabet);
    std::string b = a;
    const size_t spot = boundary(b, rng() % (b.size() + 1));
    for (int e = 1 + static_cast<int>(rng() % 4); e > 0; --e) {
      const size_t at = boundary(b, std::min(b.size(), spot + rng() % 6));
      if (rng() % 2 == 0) {
        b.insert(at, random_text(static_cast<int>(rng() % 4), alphabet));
      } else {
        b.erase(at, boundary(b, std::min(b.size(), at + 1 + rng() % 4)) - at);
      }
    }
    if (rng() % 2 == 0) std::swap(a, b);
    for (bool lines : {false, true}) {
      const Result<DiffViews> views = DiffMainViews(a, b, NoTimeout(), lines);
      ASSERT_TRUE(views.ok());
      const internal::Diffs16 whole =
          internal::DiffMain(internal::ToUtf16(a), internal::ToUtf16(b), lines,
                             internal::kNoDeadline);
      ASSERT_EQ(ToDiffs(*views), internal::ToDiffs(whole)) << "case " << i;
      ASSERT_EQ(*DiffMain(a, b, NoTimeout(), lines), ToDiffs(*views));
      for (const DiffView& v : *views) {
        const std::string& source = v.operation == kIns ? b : a;
        ASSERT_GE(v.text.data(), source.data());
        ASSERT_LE(v.text.data() + v.text.size(), source.data() + source.size());
      }
    }
  }
}

TEST(DiffMain, LineModeHasNoDistinctLineLimit) {
  // 70,000 distinct lines: past the 65,535 that DMP JS can encode.
  std::string a, b;
  for (int i = 0; i < 70000; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    a += line;
    b += (i % 10000 == 5000) ? "changed " + line : line;
  }
  Diffs d = *DiffMain(a, b);
  EXPECT_EQ(Text1(d), a);
  EXPECT_EQ(Text2(d), b);
  int inserts = 0;
  for (const auto& x : d) {
    // DMP's overlap extraction leaves an empty deletion behind; so do we.
    if (x.text.empty()) continue;
    EXPECT_NE(x.operation, kDel);
    if (x.operation == kIns) {
      ++inserts;
      EXPECT_EQ(x.text, "changed ");
    }
  }
  EXPECT_EQ(inserts, 7);
}

TEST(DiffMain, PastTheDeadlineKeepsFindingCommonText) {
  // An already-expired deadline: DMP would answer "delete all, insert all".
  std::string a, b;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const char c = static_cast<char>('a' + rng() % 26);
    a += c;
    b += (i % 97 == 0) ? '#' : c;
  }
  const auto expired =
      std::chrono::steady_clock::now() - std::chrono::seconds(1);
  Diffs d = *DiffMain(a, b, expired, false);
  EXPECT_EQ(Text1(d), a);
  EXPECT_EQ(Text2(d), b);
  // 207 substitutions; a coarse diff may use more, but nowhere near 20,000.
  EXPECT_LT(Levenshtein(d), 2000);
  EXPECT_GE(Levenshtein(d), 207);
}

TEST(DiffMain, TimeoutZeroIsMinimal) {
  Diffs d =
      *DiffMain("The quick brown fox", "The quack brown box", NoTimeout());
  EXPECT_EQ(Levenshtein(d), 2);
}

TEST(CommonAffixes, CountUtf16UnitsOnCharacterBoundaries) {
  EXPECT_EQ(CommonPrefix("1234abcdef", "1234xyz"), 4);
  EXPECT_EQ(CommonSuffix("abcdef1234", "xyz1234"), 4);
  EXPECT_EQ(CommonPrefix("\xF0\x9F\x98\x80x", "\xF0\x9F\x98\x80y"), 2);
  EXPECT_EQ(CommonPrefix("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x81"), 0);
  EXPECT_EQ(CommonPrefix("\xC3\xA9", "\xC3\xA8"), 0);
  EXPECT_EQ(CommonSuffix("a\xC3\xA9", "b\xC2\xA9"), 0);
  EXPECT_EQ(CommonOverlap("123456xxx", "xxxabcd"), 3);
  EXPECT_EQ(CommonOverlap("fi", "\xEF\xAC\x81i"), 0);
}

// The affix scans compare 64 bytes at a time and the overlap search uses a
// vector substring search: random texts over small alphabets (long runs,
// many candidate matches), checked against the plain definitions.
TEST(CommonAffixes, MatchTheirDefinitionsOnRandomTexts) {
  std::mt19937_64 rng(test_util::TestSeed(20261201));
  const std::string pieces[] = {"a", "b", "\xC3\xA9", "\xF0\x9F\x98\x80"};
  auto random_text = [&](size_t n, size_t alphabet) {
    std::string s;
    while (s.size() < n) s += pieces[rng() % alphabet];
    return s;
  };
  for (int i = 0; i < 3000; ++i) {
    const size_t alphabet = 1 + rng() % std::size(pieces);
    const std::string shared = random_text(rng() % 300, alphabet);
    const std::string a = random_text(rng() % 40, alphabet) + shared +
                          random_text(rng() % 40, alphabet);
    const std::string b = random_text(rng() % 40, alphabet) + shared +
                          random_text(rng() % 40, alphabet);
    const std::u16string ua = internal::ToUtf16(a), ub = internal::ToUtf16(b);
    size_t prefix = 0, suffix = 0, overlap = 0;
    while (prefix < std::min(ua.size(), ub.size()) &&
           ua[prefix] == ub[prefix]) {
      ++prefix;
    }
    while (suffix < std::min(ua.size(), ub.size()) &&
           ua[ua.size() - 1 - suffix] == ub[ub.size() - 1 - suffix]) {
      ++suffix;
    }
    for (size_t k = std::min(ua.size(), ub.size()); k > 0; --k) {
      if (ua.compare(ua.size() - k, k, ub, 0, k) == 0 &&
          internal::IsCharBoundary(ua, ua.size() - k) &&
          internal::IsCharBoundary(ub, k)) {
        overlap = k;
        break;
      }
    }
    while (!internal::IsCharBoundary(ua, prefix) ||
           !internal::IsCharBoundary(ub, prefix)) {
      --prefix;
    }
    while (!internal::IsCharBoundary(ua, ua.size() - suffix) ||
           !internal::IsCharBoundary(ub, ub.size() - suffix)) {
      --suffix;
    }
    ASSERT_EQ(CommonPrefix(a, b), static_cast<int64_t>(prefix))
        << a << "|" << b;
    ASSERT_EQ(CommonSuffix(a, b), static_cast<int64_t>(suffix))
        << a << "|" << b;
    ASSERT_EQ(CommonOverlap(a, b), static_cast<int64_t>(overlap))
        << a << "|" << b;
  }
}

TEST(HalfMatch, OnlyWithADeadline) {
  auto hm = FindHalfMatch("1234567890", "a345678z");
  ASSERT_TRUE(hm.has_value());
  EXPECT_EQ(*hm, (HalfMatch{"12", "90", "a", "z", "345678"}));
  EXPECT_FALSE(FindHalfMatch("1234567890", "a345678z", NoTimeout()));
}

TEST(Cleanups, MergeRunsDirectlyOnUtf8) {
  Diffs d = {{kDel, "a"}, {kIns, "abc"}, {kDel, "dc"}};
  CleanupMerge(d);
  EXPECT_EQ(d, (Diffs{{kEq, "a"}, {kDel, "d"}, {kIns, "b"}, {kEq, "c"}}));
  // Common affixes are factored out whole: é and è share a UTF-8 lead byte.
  d = {{kDel, "\xC3\xA9"}, {kIns, "\xC3\xA8"}};
  CleanupMerge(d);
  EXPECT_EQ(d, (Diffs{{kDel, "\xC3\xA9"}, {kIns, "\xC3\xA8"}}));
}

TEST(Cleanups, SemanticLosslessAlignsToWords) {
  Diffs d = {{kEq, "The c"}, {kIns, "ow and the c"}, {kEq, "at."}};
  CleanupSemanticLossless(d);
  EXPECT_EQ(d, (Diffs{{kEq, "The "}, {kIns, "cow and the "}, {kEq, "cat."}}));
  // Slides by whole characters through astral text.
  const std::string e = "\xF0\x9F\x98\x80";
  d = {{kEq, "x" + e}, {kIns, e + " y" + e}, {kEq, " z"}};
  CleanupSemanticLossless(d);
  EXPECT_TRUE(AllValidUtf8(d));
  EXPECT_EQ(Text2(d), "x" + e + e + " y" + e + " z");
}

TEST(Cleanups, SemanticLosslessLeavesAnEmptyEditInPlace) {
  // DMP's line mode can leave an empty edit; its lossless pass never moves it.
  Diffs d = {{kEq, "ab\n"}, {kIns, ""}, {kEq, "abc"}};
  CleanupSemanticLossless(d);
  EXPECT_EQ(d, (Diffs{{kEq, "ab\n"}, {kIns, ""}, {kEq, "abc"}}));
}

TEST(DiffMain, MergesOnceOverPrefixMiddleAndSuffixAsDmp) {
  // Half-match case where merging the middle alone first shifts the edits
  // differently; expected result recorded from DMP JS 1.0.5.
  Diffs d =
      *DiffMain("bbabbbbabbaaaaaabbaababbbbababaaabbbabababbaaaaabbabbbbaba",
                "bbbaaaaaabbaababbbbabaaaabbbabababbaaabaabbabbbbaba");
  ASSERT_GE(d.size(), 3u);
  EXPECT_EQ(d[0], (Diff{kDel, "bbab"}));
  EXPECT_EQ(d[1], (Diff{kEq, "bbba"}));
  EXPECT_EQ(d[2], (Diff{kDel, "bba"}));
}

TEST(Delta, RoundTripsAndCountsUtf16Units) {
  const Diffs d = {{kEq, "jump"},   {kDel, "s"},      {kIns, "ed"},
                   {kEq, " over "}, {kDel, "the"},    {kIns, "a"},
                   {kEq, " lazy"},  {kIns, "old dog"}};
  EXPECT_EQ(ToDelta(d), "=4\t-1\t+ed\t=6\t-3\t+a\t=5\t+old dog");
  EXPECT_EQ(*FromDelta(Text1(d), ToDelta(d)), d);
  const Diffs astral = {{kEq, "\xF0\x9F\x98\x80"}, {kIns, "\xF0\x9F\x98\x81"}};
  EXPECT_EQ(ToDelta(astral), "=2\t+%F0%9F%98%81");
  EXPECT_EQ(*FromDelta("\xF0\x9F\x98\x80", "=2\t+%F0%9F%98%81"), astral);
}

TEST(Delta, ErrorsSayWhereAndWhy) {
  auto expect_error = [](std::string_view text1, std::string_view delta,
                         std::string_view message) {
    auto r = FromDelta(text1, delta);
    ASSERT_FALSE(r.ok()) << delta;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), message);
  };
  expect_error(
      "abc", "=2\t-2",
      "delta: counts exceed the length of text1 (3 UTF-16 units) at offset 3");
  expect_error("abc", "=2", "delta: covers 2 of the 3 UTF-16 units of text1");
  expect_error("abc", "=x3", "delta: invalid number 'x3' at offset 0");
  expect_error("abc", "=3\t-", "delta: invalid number '' at offset 3");
  expect_error("abc", "=3\t*1", "delta: invalid operation '*' at offset 3");
  // The operation is quoted whole, so the message stays UTF-8 (it goes back
  // to the client in an x: line).
  expect_error("abc", "\xC3\xA9\xF0\x9F\x98\x80",
               "delta: invalid operation '\xC3\xA9' at offset 0");
  expect_error("abc", "=3\t+%zz", "delta: malformed %-escape at offset 4");
  expect_error("\xF0\x9F\x98\x80", "=1\t-1",
               "delta: count 1 splits a character of text1 at offset 0");
  expect_error("abc", "=3\t+\xFF", "delta: invalid UTF-8 at byte 4");
  // A trailing tab is accepted, as DMP does.
  EXPECT_TRUE(FromDelta("abc", "=3\t").ok());
}

TEST(Counts, XIndexLevenshteinAndHtml) {
  EXPECT_EQ(XIndex({{kDel, "a"}, {kIns, "1234"}, {kEq, "xyz"}}, 2), 5);
  EXPECT_EQ(XIndex({{kEq, "a"}, {kDel, "1234"}, {kEq, "xyz"}}, 3), 1);
  EXPECT_EQ(Levenshtein({{kDel, "abc"}, {kIns, "1234"}, {kEq, "xyz"}}), 4);
  EXPECT_EQ(Levenshtein({{kEq, "xyz"}, {kDel, "\xF0\x9F\x98\x80"}}), 2);
  EXPECT_EQ(PrettyHtml({{kEq, "a\n"}, {kDel, "<B>b</B>"}, {kIns, "c&d"}}),
            "<span>a&para;<br></span><del style=\"background:#ffe6e6;\">&lt;B"
            "&gt;b&lt;/B&gt;</del><ins style=\"background:#e6ffe6;\">c&amp;d"
            "</ins>");
}

}  // namespace
}  // namespace diffsync::dmp
