#include "dmp/utf.h"

#include <gtest/gtest.h>

namespace diffsync::dmp::internal {
namespace {

TEST(Utf8Validation, AcceptsAllValidForms) {
  EXPECT_TRUE(ValidateUtf8("", "t").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii text, longer than eight", "t").ok());
  EXPECT_TRUE(ValidateUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "t").ok());
  EXPECT_TRUE(ValidateUtf8("\xEF\xBF\xBF\xF4\x8F\xBF\xBF", "t").ok());
}

TEST(Utf8Validation, NamesTheOffsetOfTheFirstBadByte) {
  struct Case {
    std::string text;
    size_t offset;
  };
  const Case cases[] = {
      {"abc\x80", 3},                  // Lone continuation byte.
      {"ab\xC0\xAF", 2},               // Overlong '/'.
      {"\xE0\x80\xAF", 0},             // Overlong three-byte form.
      {"0123456789\xED\xA0\x80", 10},  // Encoded surrogate.
      {"\xF4\x90\x80\x80", 0},         // Past U+10FFFF.
      {"\xE2\x82", 0},                 // Truncated.
      {"\xFF", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FindInvalidUtf8(c.text), c.offset);
    Status s = ValidateUtf8(c.text, "text1");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "text1: invalid UTF-8 at byte " + std::to_string(c.offset));
  }
}

TEST(Utf8Validation, StopsAtTheEndOfAView) {
  // 32 ASCII bytes, then bytes outside the view that are not valid UTF-8.
  const std::string buffer = std::string(32, 'a') + "\xE4\xB8";
  EXPECT_EQ(FindInvalidUtf8(std::string_view(buffer).substr(0, 32)),
            std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8(buffer), 32u);
}

TEST(Utf16Conversion, RoundTripsEveryPlane) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
  const std::u16string u = ToUtf16(text);
  EXPECT_EQ(u, u"a\u00E9\u20AC\U0001F600z");
  EXPECT_EQ(ToUtf8(u), text);
  EXPECT_EQ(Utf16Length(text), u.size());
}

TEST(Utf16Conversion, ReplacesWhatCannotBeConverted) {
  EXPECT_EQ(ToUtf16("a\xFFz"), u"a\uFFFDz");
  EXPECT_EQ(ToUtf8(std::u16string(u"a") + char16_t(0xD83D) + u"z"),
            "a\xEF\xBF\xBDz");
  EXPECT_FALSE(DecodeUtf8("a\xFF", "x").ok());
}

TEST(Utf16Conversion, PrefixForUnitsNeverSplitsAPair) {
  const std::string text = "ab\xF0\x9F\x98\x80" "c";  // a b 😀 c: 5 units.
  size_t units = 0;
  EXPECT_EQ(Utf8PrefixForUtf16(text, 2, &units), 2u);
  EXPECT_EQ(units, 2u);
  EXPECT_EQ(Utf8PrefixForUtf16(text, 3, &units), 2u);  // Would split 😀.
  EXPECT_EQ(units, 2u);
  EXPECT_EQ(Utf8PrefixForUtf16(text, 4, &units), 6u);
  EXPECT_EQ(units, 4u);
  EXPECT_EQ(Utf8PrefixForUtf16(text, 99, &units), text.size());
  EXPECT_EQ(units, 5u);
}

TEST(CharBoundary, OnlyBetweenHalvesOfAPairIsNotABoundary) {
  const std::u16string s = u"a\U0001F600b";
  EXPECT_TRUE(IsCharBoundary(s, 0));
  EXPECT_TRUE(IsCharBoundary(s, 1));
  EXPECT_FALSE(IsCharBoundary(s, 2));
  EXPECT_TRUE(IsCharBoundary(s, 3));
  EXPECT_TRUE(IsCharBoundary(s, 4));
}

TEST(EncodeUri, MatchesJavaScriptEncodeUriWithSpaces) {
  std::string out;
  AppendEncodeUri("A-z 0;,/?:@&=+$_.!~*'()#%\"<>[]\\^`{|}\t\n", out);
  EXPECT_EQ(out,
            "A-z 0;,/?:@&=+$_.!~*'()#%25%22%3C%3E%5B%5D%5C%5E%60%7B%7C%7D%09"
            "%0A");
  out.clear();
  AppendEncodeUri("\xDA\x82\xF0\x9F\x98\x80", out);
  EXPECT_EQ(out, "%DA%82%F0%9F%98%80");
}

TEST(DecodeUri, InvertsEncodeAndKeepsReservedEscapes) {
  EXPECT_EQ(*DecodeUri("%DA%82 %02 %5C %7C", "d"), "\xDA\x82 \x02 \\ |");
  // decodeURI leaves escapes of reserved characters as they are.
  EXPECT_EQ(*DecodeUri("%23%2B%3b", "d"), "%23%2B%3b");
  EXPECT_EQ(*DecodeUri("%F0%9F%98%80", "d"), "\xF0\x9F\x98\x80");
}

TEST(DecodeUri, RejectsMalformedEscapesWithTheirOffset) {
  auto r = DecodeUri("ok%c3%xy", "delta", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "delta: incomplete UTF-8 character in %-escapes at offset 12");
  EXPECT_FALSE(DecodeUri("%", "d").ok());
  EXPECT_FALSE(DecodeUri("%G0", "d").ok());
  EXPECT_FALSE(DecodeUri("%80", "d").ok());           // Continuation first.
  EXPECT_FALSE(DecodeUri("%ED%A0%80", "d").ok());     // A lone surrogate.
  EXPECT_FALSE(DecodeUri("%C0%AF", "d").ok());        // Overlong.
  EXPECT_FALSE(DecodeUri("raw \xFF byte", "d").ok());  // Unescaped garbage.
}

}  // namespace
}  // namespace diffsync::dmp::internal
