// GET /documents: every document without access control, those a token
// covers with it, none (401) for a caller it does not admit.
#include "server/document_list.h"

#include <gtest/gtest.h>

#include "server/auth.h"

namespace diffsync::server {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef-secret";
constexpr int64_t kNow = 1'800'000'000;

DocumentList Lister(std::string secret, bool allow_anonymous) {
  return {
      .names =
          [] {
            return Result<std::vector<std::string>>(std::vector<std::string>{
                "notes", "shared ✍️", "team/plan"});
          },
      .secret = std::move(secret),
      .allow_anonymous = allow_anonymous};
}

std::string Token(std::vector<std::string> documents,
                  std::vector<std::string> prefixes) {
  TokenClaims claims;
  claims.documents = std::move(documents);
  claims.prefixes = std::move(prefixes);
  claims.expires = kNow + 60;
  return MintToken(claims, kSecret);
}

TEST(DocumentListTest, WithoutASecretEveryoneSeesEveryDocument) {
  DocumentList::Answer a = Lister("", false).Respond("", kNow);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.body,
            "{\"documents\":[\"notes\",\"shared ✍️\",\"team/plan\"]}\n");
  // A token is not even looked at.
  EXPECT_EQ(Lister("", true).Respond("not-a-token", kNow).status, 200);
}

TEST(DocumentListTest, ATokenSeesWhatItCovers) {
  const DocumentList list = Lister(std::string(kSecret), true);
  DocumentList::Answer a = list.Respond(Token({"notes"}, {"team/"}), kNow);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "{\"documents\":[\"notes\",\"team/plan\"]}\n");
  // Anonymous access allowed: no token sees everything.
  EXPECT_EQ(list.Respond("", kNow).body,
            "{\"documents\":[\"notes\",\"shared ✍️\",\"team/plan\"]}\n");
}

TEST(DocumentListTest, ACallerNotAdmittedIsRefused) {
  DocumentList::Answer bad =
      Lister(std::string(kSecret), true).Respond(Token({}, {""}) + "x", kNow);
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.body.find("signature"), std::string::npos) << bad.body;
  DocumentList::Answer none =
      Lister(std::string(kSecret), false).Respond("", kNow);
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("token is required"), std::string::npos);
  DocumentList::Answer expired =
      Lister(std::string(kSecret), false).Respond(Token({}, {""}), kNow + 3600);
  EXPECT_EQ(expired.status, 401);
}

TEST(DocumentListTest, AStoreThatCannotListIsAServerError) {
  DocumentList list = Lister("", true);
  list.names = [] {
    return Result<std::vector<std::string>>(Status::IoError("disk gone"));
  };
  DocumentList::Answer a = list.Respond("", kNow);
  EXPECT_EQ(a.status, 500);
  EXPECT_NE(a.body.find("disk gone"), std::string::npos);
}

TEST(DocumentListTest, BearerTokens) {
  EXPECT_EQ(BearerToken("Bearer abc.def"), "abc.def");
  EXPECT_EQ(BearerToken("bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken(""), "");
}

}  // namespace
}  // namespace diffsync::server
