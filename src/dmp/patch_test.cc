// Tests of the patch functions: DMP's own patch cases, the patch-text parser's
// errors, characters outside the BMP in contexts and at split points, hunks
// that fail to apply, and large texts.
//
// The randomized test prints its seed; DIFFSYNC_SEED=<seed> repeats a run.
#include "diffsync/dmp/patch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/settings.h"
#include "dmp/patch_core.h"
#include "dmp/utf.h"
#include "common/test_seed.h"

namespace diffsync::dmp {
namespace {

uint64_t Seed() { return diffsync::test_util::TestSeed(20240611); }

Patches Make(std::string_view a, std::string_view b, const Settings& s = {}) {
  Result<Patches> r = PatchMake(a, b, s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Patches();
}

Patches FromText(std::string_view text) {
  Result<Patches> r = PatchFromText(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Patches();
}

ApplyResult Apply(const Patches& p, std::string_view text,
                  const Settings& s = {}) {
  Result<ApplyResult> r = PatchApply(p, text, s);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ApplyResult();
}

// The error PatchFromText gives for `text` ("" if it parses).
std::string ParseError(std::string_view text) {
  Result<Patches> r = PatchFromText(text);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

bool IsValidUtf8(std::string_view s) {
  return internal::FindInvalidUtf8(s) == std::string_view::npos;
}

TEST(PatchTest, ToStringAsDmp) {
  Patch p;
  p.start1 = 20;
  p.start2 = 21;
  p.length1 = 18;
  p.length2 = 17;
  p.diffs = {{Operation::kEqual, "jump"}, {Operation::kDelete, "s"},
             {Operation::kInsert, "ed"},  {Operation::kEqual, " over "},
             {Operation::kDelete, "the"}, {Operation::kInsert, "a"},
             {Operation::kEqual, "\nlaz"}};
  EXPECT_EQ(
      p.ToString(),
      "@@ -21,18 +22,17 @@\n jump\n-s\n+ed\n  over \n-the\n+a\n %0Alaz\n");
}

TEST(PatchFromTextTest, DmpCases) {
  EXPECT_TRUE(FromText("").empty());

  const std::string strp =
      "@@ -21,18 +22,17 @@\n jump\n-s\n+ed\n  over \n-the\n+a\n %0Alaz\n";
  EXPECT_EQ(FromText(strp).at(0).ToString(), strp);
  EXPECT_EQ(FromText("@@ -1 +1 @@\n-a\n+b\n").at(0).ToString(),
            "@@ -1 +1 @@\n-a\n+b\n");
  EXPECT_EQ(FromText("@@ -1,3 +0,0 @@\n-abc\n").at(0).ToString(),
            "@@ -1,3 +0,0 @@\n-abc\n");
  EXPECT_EQ(FromText("@@ -0,0 +1,3 @@\n+abc\n").at(0).ToString(),
            "@@ -0,0 +1,3 @@\n+abc\n");

  // Character decoding.
  const Patches p = FromText(
      "@@ -1,21 +1,21 @@\n-%601234567890-=%5B%5D%5C;',./\n"
      "+~!@#$%25%5E&*()_+%7B%7D%7C:%22%3C%3E?\n");
  const Diffs expected = {{Operation::kDelete, "`1234567890-=[]\\;',./"},
                          {Operation::kInsert, "~!@#$%^&*()_+{}|:\"<>?"}};
  EXPECT_EQ(p.at(0).diffs, expected);
}

TEST(PatchFromTextTest, HeaderNumbersAsDmpReadsThem) {
  // No length: one unit, 1-based start.
  Patch p = FromText("@@ -5 +7 @@\n").at(0);
  EXPECT_EQ(p.start1, 4);
  EXPECT_EQ(p.length1, 1);
  EXPECT_EQ(p.start2, 6);
  EXPECT_EQ(p.length2, 1);
  // Length 0: the start names the position before the empty range.
  p = FromText("@@ -5,0 +7,0 @@\n").at(0);
  EXPECT_EQ(p.start1, 5);
  EXPECT_EQ(p.length1, 0);
  // A comma without digits reads as no length; "00" is not "0".
  p = FromText("@@ -5, +7,00 @@\n").at(0);
  EXPECT_EQ(p.start1, 4);
  EXPECT_EQ(p.length1, 1);
  EXPECT_EQ(p.start2, 6);
  EXPECT_EQ(p.length2, 0);
}

TEST(PatchFromTextTest, BodyLines) {
  // Blank lines are skipped; reserved characters stay escaped, as decodeURI
  // leaves them; non-ASCII text may come unescaped.
  const Patches p =
      FromText("@@ -1,2 +1,3 @@\n\n %23%41\n\n+é😀\n@@ -9 +10 @@\n-x");
  ASSERT_EQ(p.size(), 2u);
  const Diffs expected = {{Operation::kEqual, "%23A"},
                          {Operation::kInsert, "é😀"}};
  EXPECT_EQ(p[0].diffs, expected);
  EXPECT_EQ(p[1].diffs, (Diffs{{Operation::kDelete, "x"}}));
}

TEST(PatchFromTextTest, ErrorsNameTheLine) {
  EXPECT_EQ(ParseError("Bad\nPatch\n").rfind("line 1: invalid patch header", 0),
            0u);
  EXPECT_EQ(ParseError("\n").rfind("line 1: invalid patch header", 0), 0u);
  EXPECT_EQ(ParseError("@@ -1 +1 @@\r\n-a\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(ParseError("@@ -1 +1 @@ \n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(ParseError("@@ -a +1 @@\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(ParseError("@@ -1,2,3 +1 @@\n").rfind("line 1:", 0), 0u);
  // A line that starts with '@' must be a header.
  EXPECT_EQ(ParseError("@@ -1 +1 @@\n-a\n@ oops\n")
                .rfind("line 3: invalid patch header", 0),
            0u);
  // Blank lines are fine inside a hunk, not where a header is due.
  EXPECT_EQ(ParseError("@@ -1 +1 @@\n-a\n\n@@ -2 +2 @@\n"), "");

  const std::string mode = ParseError("@@ -1 +1 @@\n-a\nxb\n");
  EXPECT_EQ(mode.rfind("line 3: ", 0), 0u) << mode;
  EXPECT_NE(mode.find("'-', '+'"), std::string::npos) << mode;

  const std::string escape = ParseError("@@ -1 +1 @@\n-a\n+ab%ZZ\n");
  EXPECT_EQ(escape.rfind("line 3: ", 0), 0u) << escape;
  EXPECT_NE(escape.find("offset 3"), std::string::npos) << escape;
  // %C3 alone is half a character.
  EXPECT_EQ(ParseError("@@ -1 +1 @@\n+%C3\n").rfind("line 2: ", 0), 0u);
  // Raw bytes that are not UTF-8.
  EXPECT_EQ(ParseError("@@ -1 +1 @@\n+\xFF\n").rfind("line 2: ", 0), 0u);

  // DMP would read this as an empty range at -1, which prints as "-1,0".
  EXPECT_EQ(ParseError("@@ -0,00 +1 @@\n").rfind("line 1: range \"0,00\"", 0),
            0u);

  const std::string big = ParseError("@@ -99999999999999999999 +1 @@\n");
  EXPECT_EQ(big.rfind("line 1: ", 0), 0u) << big;
  EXPECT_NE(big.find("too large"), std::string::npos) << big;
  // 2^53 - 1 is JavaScript's largest exact integer and still fine.
  EXPECT_EQ(FromText("@@ -9007199254740991 +1 @@\n").at(0).start1,
            9007199254740990);
}

TEST(PatchFromTextTest, NeverCrashesOnGarbage) {
  std::mt19937_64 rng(Seed());
  const std::string_view pieces[] = {"@@ -",
                                     " +",
                                     " @@",
                                     "\n",
                                     ",",
                                     "0",
                                     "1",
                                     "9",
                                     "-",
                                     "+",
                                     " ",
                                     "%",
                                     "%2",
                                     "%41",
                                     "%C3",
                                     "%A9",
                                     "@",
                                     "a",
                                     "\xFF",
                                     "\xF0\x9F\x98",
                                     "99999999999999999999",
                                     "\r"};
  for (int iter = 0; iter < 5000; ++iter) {
    std::string text;
    const int parts = static_cast<int>(rng() % 30);
    for (int i = 0; i < parts; ++i) text += pieces[rng() % std::size(pieces)];
    Result<Patches> r = PatchFromText(text);
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("line ", 0), 0u)
          << r.status().message();
      continue;
    }
    // Whatever parses prints back to text that parses to the same patches.
    const std::string again = PatchToText(*r);
    EXPECT_TRUE(IsValidUtf8(again));
    Result<Patches> reparsed = PatchFromText(again);
    ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
    EXPECT_EQ(*reparsed, *r);
    // And applying it to some text neither crashes nor breaks UTF-8.
    Result<ApplyResult> applied = PatchApply(*r, "a😀b%A0 ,+-");
    ASSERT_TRUE(applied.ok());
    EXPECT_TRUE(IsValidUtf8(applied->text));
  }
}

TEST(PatchToTextTest, DmpCases) {
  std::string strp =
      "@@ -21,18 +22,17 @@\n jump\n-s\n+ed\n  over \n-the\n+a\n  laz\n";
  EXPECT_EQ(PatchToText(FromText(strp)), strp);
  strp =
      "@@ -1,9 +1,9 @@\n-f\n+F\n oo+fooba\n@@ -7,9 +7,9 @@\n obar\n-,\n+.\n"
      "  tes\n";
  EXPECT_EQ(PatchToText(FromText(strp)), strp);
}

// PatchAddContext on the one patch parsed from `patch_text`.
std::string WithContext(std::string_view patch_text, std::string_view text,
                        const Settings& s = {}) {
  internal::Patches16 p = internal::ToPatches16(FromText(patch_text));
  internal::PatchAddContext(p.at(0), internal::ToUtf16(text), s);
  return PatchToText(internal::ToPatches(p));
}

TEST(PatchAddContextTest, DmpCases) {
  EXPECT_EQ(WithContext("@@ -21,4 +21,10 @@\n-jump\n+somersault\n",
                        "The quick brown fox jumps over the lazy dog."),
            "@@ -17,12 +17,18 @@\n fox \n-jump\n+somersault\n s ov\n");
  // Not enough trailing context.
  EXPECT_EQ(WithContext("@@ -21,4 +21,10 @@\n-jump\n+somersault\n",
                        "The quick brown fox jumps."),
            "@@ -17,10 +17,16 @@\n fox \n-jump\n+somersault\n s.\n");
  // Not enough leading context.
  EXPECT_EQ(
      WithContext("@@ -3 +3,2 @@\n-e\n+at\n", "The quick brown fox jumps."),
      "@@ -1,7 +1,8 @@\n Th\n-e\n+at\n  qui\n");
  // Ambiguity.
  EXPECT_EQ(WithContext("@@ -3 +3,2 @@\n-e\n+at\n",
                        "The quick brown fox jumps.  The quick brown fox "
                        "crashes."),
            "@@ -1,27 +1,28 @@\n Th\n-e\n+at\n  quick brown fox jumps. \n");
}

TEST(PatchAddContextTest, ContextTakesWholeCharacters) {
  // Four units before "f" start inside the first "😀": the context takes
  // all of it (JavaScript would take its low half). After "f", four units
  // end exactly after the second one.
  EXPECT_EQ(WithContext("@@ -8 +7,0 @@\n-f\n", "ab😀cdefgh😀ij"),
            "@@ -3,10 +3,9 @@\n %F0%9F%98%80cde\n-f\n gh%F0%9F%98%80\n");
  // Four units after "c" end inside the second "😀".
  EXPECT_EQ(WithContext("@@ -3 +2,0 @@\n-c\n", "abcd😀😀"),
            "@@ -1,8 +1,7 @@\n ab\n-c\n d%F0%9F%98%80%F0%9F%98%80\n");
}

TEST(PatchAddContextTest, ZeroMarginStopsGrowing) {
  // DMP loops forever here: the pattern repeats and cannot grow.
  Settings s;
  s.patch_margin = 0;
  EXPECT_EQ(WithContext("@@ -3 +3,0 @@\n-a\n", "aaaaaa", s),
            "@@ -3 +3,0 @@\n-a\n");
}

TEST(PatchMakeTest, DmpCases) {
  EXPECT_EQ(PatchToText(Make("", "")), "");

  const std::string text1 = "The quick brown fox jumps over the lazy dog.";
  const std::string text2 = "That quick brown fox jumped over a lazy dog.";
  // The second hunk is "-21,17 +21,18", not "-22,17 +21,18": the context
  // rolls.
  EXPECT_EQ(PatchToText(Make(text2, text1)),
            "@@ -1,8 +1,7 @@\n Th\n-at\n+e\n  qui\n@@ -21,17 +21,18 @@\n jump\n"
            "-ed\n+s\n  over \n-a\n+the\n  laz\n");

  const std::string expected =
      "@@ -1,11 +1,12 @@\n Th\n-e\n+at\n  quick b\n@@ -22,18 +22,17 @@\n"
      " jump\n-s\n+ed\n  over \n-the\n+a\n  laz\n";
  EXPECT_EQ(PatchToText(Make(text1, text2)), expected);

  Settings s;
  Result<Diffs> diffs = DiffMain(text1, text2, s, /*check_lines=*/false);
  ASSERT_TRUE(diffs.ok());
  EXPECT_EQ(PatchToText(PatchMake(*diffs)), expected);
  Result<Patches> from_text1 = PatchMake(text1, *diffs);
  ASSERT_TRUE(from_text1.ok());
  EXPECT_EQ(PatchToText(*from_text1), expected);

  // Character encoding.
  EXPECT_EQ(
      PatchToText(Make("`1234567890-=[]\\;',./", "~!@#$%^&*()_+{}|:\"<>?")),
      "@@ -1,21 +1,21 @@\n-%601234567890-=%5B%5D%5C;',./\n"
      "+~!@#$%25%5E&*()_+%7B%7D%7C:%22%3C%3E?\n");

  // Long string with repeats.
  std::string repeats;
  for (int x = 0; x < 100; ++x) repeats += "abcdef";
  EXPECT_EQ(PatchToText(Make(repeats, repeats + "123")),
            "@@ -573,28 +573,31 @@\n cdefabcdefabcdefabcdefabcdef\n+123\n");
}

TEST(PatchMakeTest, Errors) {
  Result<Patches> r = PatchMake("ok", "bad\xC3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "text2: invalid UTF-8 at byte 3");

  r = PatchMake("abc", Diffs{{Operation::kEqual, "abd"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 2"), std::string::npos)
      << r.status().message();

  Settings s;
  s.patch_margin = 16;  // Not less than half of match_max_bits (32).
  r = PatchMake("a", "b", s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("patch_margin"), std::string::npos);
  s.patch_margin = -1;
  EXPECT_FALSE(PatchMake("a", "b", s).ok());
}

TEST(PatchSplitMaxTest, DmpCases) {
  Patches p = Make("abcdefghijklmnopqrstuvwxyz01234567890",
                   "XabXcdXefXghXijXklXmnXopXqrXstXuvXwxXyzX01X23X45X67X89X0");
  PatchSplitMax(p);
  EXPECT_EQ(PatchToText(p),
            "@@ -1,32 +1,46 @@\n+X\n ab\n+X\n cd\n+X\n ef\n+X\n gh\n+X\n ij\n"
            "+X\n kl\n+X\n mn\n+X\n op\n+X\n qr\n+X\n st\n+X\n uv\n+X\n wx\n"
            "+X\n yz\n+X\n 012345\n@@ -25,13 +39,18 @@\n zX01\n+X\n 23\n+X\n"
            " 45\n+X\n 67\n+X\n 89\n+X\n 0\n");

  p = Make(
      "abcdef1234567890123456789012345678901234567890123456789012345678"
      "901234567890uvwxyz",
      "abcdefuvwxyz");
  const std::string old = PatchToText(p);
  PatchSplitMax(p);
  EXPECT_EQ(PatchToText(p), old);

  p = Make(
      "1234567890123456789012345678901234567890123456789012345678901234"
      "567890",
      "abc");
  PatchSplitMax(p);
  EXPECT_EQ(PatchToText(p),
            "@@ -1,32 +1,4 @@\n-1234567890123456789012345678\n 9012\n"
            "@@ -29,32 +1,4 @@\n-9012345678901234567890123456\n 7890\n"
            "@@ -57,14 +1,3 @@\n-78901234567890\n+abc\n");

  p = Make(
      "abcdefghij , h : 0 , t : 1 abcdefghij , h : 0 , t : 1 abcdefghij "
      ", h : 0 , t : 1",
      "abcdefghij , h : 1 , t : 1 abcdefghij , h : 1 , t : 1 abcdefghij "
      ", h : 0 , t : 1");
  PatchSplitMax(p);
  EXPECT_EQ(
      PatchToText(p),
      "@@ -2,32 +2,32 @@\n bcdefghij , h : \n-0\n+1\n  , t : 1 abcdef\n"
      "@@ -29,32 +29,32 @@\n bcdefghij , h : \n-0\n+1\n  , t : 1 abcdef\n");
}

TEST(PatchSplitMaxTest, CutsBetweenCharacters) {
  // 30 emoji (60 units, short of a deletion that passes in one piece): with
  // one or three units of ASCII in front, chunk boundaries and a 3-unit
  // margin fall inside pairs.
  const std::string emoji = [] {
    std::string s;
    for (int i = 0; i < 30; ++i) s += "😀";
    return s;
  }();
  Settings odd_margin;
  odd_margin.patch_margin = 3;
  for (const std::string& a : {"x" + emoji + "y", "xyz" + emoji}) {
    for (const Settings& s : {Settings(), odd_margin}) {
      Patches p = Make(a, "x---y", s);
      PatchSplitMax(p, s);
      for (const Patch& hunk : p) {
        for (const Diff& d : hunk.diffs) {
          // A split pair would come out as U+FFFD.
          EXPECT_EQ(d.text.find("\uFFFD"), std::string::npos) << PatchToText(p);
          EXPECT_FALSE(d.text.empty());
        }
      }
      const ApplyResult out = Apply(Make(a, "x---y", s), a, s);
      EXPECT_EQ(out.text, "x---y");
      EXPECT_TRUE(std::all_of(out.applied.begin(), out.applied.end(),
                              [](bool b) { return b; }));
    }
  }
  // One unit of room left for a two-unit character: the chunk takes it whole
  // rather than nothing.
  Settings s;
  s.match_max_bits = 3;
  s.patch_margin = 1;
  Patches p = Make("😀😀😀😀", "", s);
  PatchSplitMax(p, s);
  for (const Patch& hunk : p) {
    for (const Diff& d : hunk.diffs) {
      EXPECT_EQ(d.text.find("\uFFFD"), std::string::npos);
    }
  }
  EXPECT_EQ(Apply(p, "😀😀😀😀", s).text, "");
}

TEST(PatchSplitMaxTest, ClampsAMarginThatWouldNeverEnd) {
  // With 2 * margin >= max bits DMP's split never ends; ours uses the
  // widest margin that works.
  Patches p = Make(std::string(100, 'a'), std::string(100, 'b'));
  Settings s;
  s.patch_margin = 20;
  PatchSplitMax(p, s);
  EXPECT_GT(p.size(), 1u);
}

TEST(PatchAddPaddingTest, DmpCases) {
  // Both edges full.
  Patches p = Make("", "test");
  EXPECT_EQ(PatchToText(p), "@@ -0,0 +1,4 @@\n+test\n");
  EXPECT_EQ(PatchAddPadding(p), "\x01\x02\x03\x04");
  EXPECT_EQ(PatchToText(p),
            "@@ -1,8 +1,12 @@\n %01%02%03%04\n+test\n %01%02%03%04\n");

  // Both edges partial.
  p = Make("XY", "XtestY");
  EXPECT_EQ(PatchToText(p), "@@ -1,2 +1,6 @@\n X\n+test\n Y\n");
  PatchAddPadding(p);
  EXPECT_EQ(PatchToText(p),
            "@@ -2,8 +2,12 @@\n %02%03%04X\n+test\n Y%01%02%03\n");

  // Both edges none.
  p = Make("XXXXYYYY", "XXXXtestYYYY");
  EXPECT_EQ(PatchToText(p), "@@ -1,8 +1,12 @@\n XXXX\n+test\n YYYY\n");
  PatchAddPadding(p);
  EXPECT_EQ(PatchToText(p), "@@ -5,8 +5,12 @@\n XXXX\n+test\n YYYY\n");
}

TEST(PatchAddPaddingTest, NoPatches) {
  Patches p;
  EXPECT_EQ(PatchAddPadding(p), "\x01\x02\x03\x04");
  EXPECT_TRUE(p.empty());
}

TEST(PatchApplyTest, DmpCases) {
  // Null case.
  EXPECT_EQ(Apply(Make("", ""), "Hello world."),
            (ApplyResult{"Hello world.", {}}));

  Patches p = Make("The quick brown fox jumps over the lazy dog.",
                   "That quick brown fox jumped over a lazy dog.");
  // Exact match.
  EXPECT_EQ(Apply(p, "The quick brown fox jumps over the lazy dog."),
            (ApplyResult{"That quick brown fox jumped over a lazy dog.",
                         {true, true}}));
  // Partial match.
  EXPECT_EQ(Apply(p, "The quick red rabbit jumps over the tired tiger."),
            (ApplyResult{"That quick red rabbit jumped over a tired tiger.",
                         {true, true}}));
  // Failed match.
  EXPECT_EQ(Apply(p, "I am the very model of a modern major general."),
            (ApplyResult{"I am the very model of a modern major general.",
                         {false, false}}));

  // Big delete, small change. One hunk, split in two by PatchSplitMax:
  // `applied` has an entry per split hunk, as in DMP.
  const std::string big =
      "x1234567890123456789012345678901234567890123456789012345678901234567890"
      "y";
  p = Make(big, "xabcy");
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(Apply(p,
                  "x123456789012345678901234567890-----++++++++++-----"
                  "123456789012345678901234567890y"),
            (ApplyResult{"xabcy", {true, true}}));
  // Big delete, big change 1.
  EXPECT_EQ(Apply(p,
                  "x12345678901234567890---------------++++++++++-------"
                  "--------12345678901234567890y"),
            (ApplyResult{"xabc12345678901234567890---------------++++++++++--"
                         "-------------12345678901234567890y",
                         {false, true}}));
  // Big delete, big change 2.
  Settings loose;
  loose.patch_delete_threshold = 0.6;
  EXPECT_EQ(Apply(p,
                  "x12345678901234567890---------------++++++++++-------"
                  "--------12345678901234567890y",
                  loose),
            (ApplyResult{"xabcy", {true, true}}));

  // Compensate for failed patch.
  Settings strict;
  strict.match_threshold = 0.0;
  strict.match_distance = 0;
  p = Make("abcdefghijklmnopqrstuvwxyz--------------------1234567890",
           "abcXXXXXXXXXXdefghijklmnopqrstuvwxyz--------------------1234567YYY"
           "YYYYYYY890",
           strict);
  EXPECT_EQ(Apply(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ--------------------1234567890",
                  strict),
            (ApplyResult{"ABCDEFGHIJKLMNOPQRSTUVWXYZ--------------------1234567"
                         "YYYYYYYYYY890",
                         {false, true}}));

  // No side effects, even with a major delete (the patches are const).
  p = Make("The quick brown fox jumps over the lazy dog.", "Woof");
  const std::string before = PatchToText(p);
  EXPECT_EQ(Apply(p, "The quick brown fox jumps over the lazy dog."),
            (ApplyResult{"Woof", {true, true}}));
  EXPECT_EQ(PatchToText(p), before);

  // Edge exact match.
  EXPECT_EQ(Apply(Make("", "test"), ""), (ApplyResult{"test", {true}}));
  // Near edge exact match.
  EXPECT_EQ(Apply(Make("XY", "XtestY"), "XY"), (ApplyResult{"XtestY", {true}}));
  // Edge partial match.
  EXPECT_EQ(Apply(Make("y", "y123"), "x"), (ApplyResult{"x123", {true}}));
}

TEST(PatchApplyTest, Errors) {
  Result<ApplyResult> r = PatchApply(Make("a", "b"), "\xE2\x82");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "text: invalid UTF-8 at byte 0");

  Settings s;
  s.match_max_bits = 100;
  r = PatchApply(Make("a", "b"), "a", s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("match_max_bits"), std::string::npos);
}

TEST(PatchApplyTest, AbsurdPositionsAreHarmless) {
  // Hunks parsed from text may claim any position.
  const Patches p = FromText(
      "@@ -9007199254740991,3 +9007199254740991,3 @@\n-abc\n+xyz\n"
      "@@ -1,0 +0,9007199254740991 @@\n+q\n");
  const ApplyResult out = Apply(p, "abc");
  EXPECT_TRUE(IsValidUtf8(out.text));
  EXPECT_EQ(out.applied.size(), 2u);

  Patch huge;
  huge.start1 = huge.start2 = INT64_MAX;
  huge.length1 = INT64_MIN;
  huge.length2 = INT64_MAX;
  huge.diffs = {{Operation::kDelete, "a"}};
  EXPECT_EQ(Apply({huge, huge}, "bbb").text.size(), 3u);
}

TEST(PatchApplyTest, EmojiInContextAndEdits) {
  const std::string a = "😀😀 hello 😀😀 world 😀 ok 👍🏽 fine";
  const std::string b =
      "😀😀 hi 😀🙂😀 wide world 😀 ok 👍 fine🎉";
  const Patches p = Make(a, b);
  const std::string text = PatchToText(p);
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(FromText(text), p);
  EXPECT_EQ(Apply(p, a).text, b);
  // Applied to a text that changed around the hunks.
  EXPECT_EQ(Apply(p, "🙃" + a).text, "🙃" + b);
}

TEST(PatchApplyTest, EditPositionsStayOnCharacterBoundaries) {
  // The hunk lands fuzzily next to emoji; whatever it does, the result is
  // whole characters.
  const Patches p = Make("ab😀cd😀ef", "ab😀cXd😀ef");
  for (const char* text :
       {"ab😀cd😀ef", "😀b😀cd😀ef", "ab😀😀d😀ef", "a😀😀cd😀😀f", "😀😀😀😀"}) {
    const ApplyResult out = Apply(p, text);
    EXPECT_TRUE(IsValidUtf8(out.text)) << text;
  }
}

// Random texts over alphabets rich in astral characters, with small match
// widths so that splits and contexts often land next to a surrogate pair:
// patches made from a pair turn the first text into the second and print as
// valid UTF-8.
TEST(PatchApplyTest, AstralTextsRoundTrip) {
  std::mt19937_64 rng(Seed() + 1);
  const std::vector<std::string> alphabet = {"a",    "b", " ",  "😀", "😁",
                                             "🙂", "é", "\n", "𝄞"};
  auto random_text = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int iter = 0; iter < 300; ++iter) {
    Settings s;
    s.match_max_bits = 4 + static_cast<int>(rng() % 29);
    s.patch_margin = static_cast<int>(rng() % ((s.match_max_bits - 1) / 2 + 1));
    const std::string a = random_text(rng() % 120);
    std::string b = a;
    for (int e = static_cast<int>(rng() % 4); e >= 0; --e) {
      // Edits on character boundaries of the UTF-8 text.
      size_t consumed;
      const size_t at = internal::Utf8PrefixForUtf16(
          b, rng() % (internal::Utf16Length(b) + 1), &consumed);
      const size_t cut = internal::Utf8PrefixForUtf16(
          std::string_view(b).substr(at), rng() % 40, &consumed);
      b = b.substr(0, at) + random_text(rng() % 50) + b.substr(at + cut);
    }
    SCOPED_TRACE("iteration " + std::to_string(iter));
    Patches p = Make(a, b, s);
    const std::string text = PatchToText(p);
    ASSERT_TRUE(IsValidUtf8(text));
    ASSERT_EQ(FromText(text), p);
    const ApplyResult out = Apply(p, a, s);
    EXPECT_EQ(out.text, b);
    EXPECT_TRUE(std::all_of(out.applied.begin(), out.applied.end(),
                            [](bool x) { return x; }));
    PatchSplitMax(p, s);
    EXPECT_TRUE(IsValidUtf8(PatchToText(p)));
  }
}

// A deterministic wiki-like text of about `size` bytes, and a copy with
// `edits` word-level edits.
std::pair<std::string, std::string> LargePair(size_t size, int edits) {
  std::mt19937_64 rng(12345);
  const std::vector<std::string> words = {
      "the",  "of",     "and",    "patch",  "diff", "match",    "context",
      "text", "server", "client", "shadow", "edit", "[[link]]", "{{cite}}",
      "1998", "=",      "|",      "é",      "über", "naïve",    "😀"};
  std::string a;
  while (a.size() < size) {
    a += words[rng() % words.size()];
    a += rng() % 12 == 0 ? "\n" : " ";
  }
  std::string b = a;
  for (int e = 0; e < edits; ++e) {
    size_t at = rng() % b.size();
    at = b.rfind(' ', at);
    at = at == std::string::npos ? 0 : at + 1;
    const size_t end = std::min(b.size(), b.find(' ', at));
    switch (rng() % 3) {
      case 0:
        b.replace(at, end - at, words[rng() % words.size()]);
        break;
      case 1:
        b.insert(at, "inserted " + words[rng() % words.size()] + " ");
        break;
      default:
        b.erase(at, std::min(b.size(), end + 1) - at);
        break;
    }
  }
  return {a, b};
}

TEST(PatchApplyTest, LargeText) {
  const auto [a, b] = LargePair(1 << 19, 100);
  const Patches p = Make(a, b);
  EXPECT_GE(p.size(), 80u);
  ApplyResult out = Apply(p, a);
  EXPECT_EQ(out.text, b);
  EXPECT_EQ(std::count(out.applied.begin(), out.applied.end(), true),
            static_cast<std::ptrdiff_t>(out.applied.size()));

  // The same hunks still find their places in a text that grew in front
  // (within Match_Distance * Match_Threshold of where they are expected).
  const std::string prefix(300, '#');
  out = Apply(p, prefix + a);
  EXPECT_EQ(out.text, prefix + b);

  // A hunk whose surroundings are gone fails; the others still apply.
  const size_t k = p.size() / 2;
  const size_t at = a.find(Text1(p[k].diffs));
  ASSERT_NE(at, std::string::npos);
  std::string damaged = a;
  damaged.replace(at - 2000, 4000, std::string(4000, '~'));
  out = Apply(p, damaged);
  ASSERT_EQ(out.applied.size(), p.size());  // No hunk here needs splitting.
  EXPECT_FALSE(out.applied[k]);
  EXPECT_LE(std::count(out.applied.begin(), out.applied.end(), false), 3);
  EXPECT_TRUE(IsValidUtf8(out.text));
}

TEST(PatchApplyTest, HunksOutOfOrder) {
  // Same-length replacements far apart: each hunk applies where it is
  // expected whatever the order, so the gap buffer moves back and forth.
  std::string a;
  for (int i = 0; i < 2000; ++i) a += "line " + std::to_string(i) + "\n";
  std::string b = a;
  for (size_t at : {100u, 5000u, 9000u, 14000u}) b[at] = '*';
  Patches p = Make(a, b);
  ASSERT_EQ(p.size(), 4u);
  std::reverse(p.begin(), p.end());
  std::swap(p[1], p[2]);
  const ApplyResult out = Apply(p, a);
  EXPECT_EQ(out.text, b);
  EXPECT_EQ(out.applied, std::vector<bool>(4, true));
}

}  // namespace
}  // namespace diffsync::dmp
