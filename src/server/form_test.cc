#include "server/form.h"

#include <gtest/gtest.h>

namespace diffsync::server {
namespace {

TEST(Form, FindsAndDecodesAField) {
  EXPECT_EQ(*FormField("q=u%3Aalice%0AF%3A0%3Adoc%0A%0A", "q"),
            "u:alice\nF:0:doc\n\n");
  EXPECT_EQ(*FormField("x=1&p=a+b%2Bc", "p"), "a b+c");
  EXPECT_EQ(*FormField("q=", "q"), "");
  EXPECT_EQ(*FormField("q", "q"), "");
  EXPECT_EQ(*FormField("q=%E2%9C%93", "q"), "\u2713");
}

TEST(Form, ReportsWhatIsWrong) {
  EXPECT_EQ(FormField("p=1", "q").status().code(), StatusCode::kNotFound);
  Result<std::string> bad = FormField("a=1&q=ab%zz", "q");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset 8"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(FormField("q=%", "q").ok());
  EXPECT_FALSE(FormField("q=%ff", "q").ok()) << "not UTF-8";
}

TEST(Form, PercentDecodeKeepsPlus) {
  EXPECT_EQ(*PercentDecode("a+b%20c%0A"), "a+b c\n");
  EXPECT_FALSE(PercentDecode("%4").ok());
}

TEST(Form, JsonpEscapesLikeMobWritesGateway) {
  EXPECT_EQ(JsonpReply("F:1:d\nd:0:=3\n\n"),
            "mobwrite.callback(\"F:1:d\\nd:0:=3\\n\\n\");");
  EXPECT_EQ(JsonpReply("a\"b\\c\r"), "mobwrite.callback(\"a\\\"b\\\\c\\r\");");
  EXPECT_EQ(JsonpReply(""), "mobwrite.callback(\"\");");
}

}  // namespace
}  // namespace diffsync::server
