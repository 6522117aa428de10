#include "server/auth.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace diffsync::server {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1'800'000'000;

TokenClaims Claims() {
  return {.documents = {"notes"},
          .prefixes = {"team/"},
          .right = Right::kReadWrite,
          .expires = kNow + 3600,
          .subject = "alice"};
}

TEST(TokenTest, MintedTokenVerifies) {
  const std::string token = MintToken(Claims(), kSecret);
  Result<TokenClaims> claims = VerifyToken(token, kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(*claims, Claims());
  // URL-safe: usable in a query string as it is.
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                    "opqrstuvwxyz0123456789-_."),
            std::string::npos);
  // A JWT: its header is the fixed HS256 one.
  EXPECT_TRUE(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
}

TEST(TokenTest, ExpiredTokenIsRefusedNamingTheTimes) {
  const std::string token = MintToken(Claims(), kSecret);
  Result<TokenClaims> at_expiry = VerifyToken(token, kSecret, kNow + 3600);
  ASSERT_FALSE(at_expiry.ok());
  EXPECT_EQ(at_expiry.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(at_expiry.status().message(),
            "token expired at 1800003600 (now 1800003600)");
  EXPECT_TRUE(VerifyToken(token, kSecret, kNow + 3599).ok());
}

TEST(TokenTest, WrongSecretIsABadSignature) {
  const std::string token = MintToken(Claims(), kSecret);
  Result<TokenClaims> claims =
      VerifyToken(token, "another secret of enough bytes", kNow);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.status().message().find("bad signature"), std::string::npos)
      << claims.status().message();
}

TEST(TokenTest, EveryAlteredCharacterIsRefused) {
  const std::string token = MintToken(Claims(), kSecret);
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    for (char replacement : {'A', 'z', '-', '_'}) {
      if (token[i] == replacement) continue;
      std::string altered = token;
      altered[i] = replacement;
      EXPECT_FALSE(VerifyToken(altered, kSecret, kNow).ok())
          << "altered at " << i << ": " << altered;
    }
  }
}

TEST(TokenTest, ClaimsSignedElsewhereAreNotTrusted) {
  // Someone raises their right by re-encoding the claims: the signature
  // over the old claims no longer fits.
  TokenClaims read = Claims();
  read.right = Right::kRead;
  const std::string token = MintToken(read, kSecret);
  const std::string other = MintToken(Claims(), kSecret);
  const std::string forged =
      other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  Result<TokenClaims> claims = VerifyToken(forged, kSecret, kNow);
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.status().message().find("bad signature"), std::string::npos);
}

TEST(TokenTest, PrefixAndExactNames) {
  TokenClaims claims{.documents = {"notes"},
                     .prefixes = {"team/"},
                     .right = Right::kRead,
                     .expires = kNow + 1,
                     .subject = ""};
  EXPECT_TRUE(claims.Covers("notes"));
  EXPECT_FALSE(claims.Covers("notes2"));  // Exact means exact.
  EXPECT_FALSE(claims.Covers("note"));
  EXPECT_TRUE(claims.Covers("team/plan"));
  EXPECT_TRUE(claims.Covers("team/"));
  EXPECT_FALSE(claims.Covers("team"));
  EXPECT_FALSE(claims.Covers("teams/plan"));
  claims.prefixes = {""};
  EXPECT_TRUE(claims.Covers("anything"));
}

TEST(TokenTest, MalformedTokensNameTheProblem) {
  const std::string token = MintToken(Claims(), kSecret);
  struct Case {
    std::string token;
    std::string error;
  };
  const size_t second_dot = token.rfind('.');
  std::string bad_char = token;
  bad_char[40] = '+';
  const std::vector<Case> cases = {
      {"", "malformed token: empty"},
      {"abc", "malformed token: expected three parts HEADER.CLAIMS.SIGNATURE"},
      {"a.b.c.d",
       "malformed token: expected three parts HEADER.CLAIMS.SIGNATURE"},
      {bad_char,
       "malformed token: claims: bad base64url character at offset 40"},
      {token.substr(0, second_dot + 1) + "AAAA",
       "malformed token: the signature is 3 bytes, not 32 (HMAC-SHA256)"},
      {token.substr(0, second_dot + 1) + "A",
       "malformed token: signature: bad base64url length 1 at offset " +
           std::to_string(second_dot + 1)},
  };
  for (const Case& c : cases) {
    Result<TokenClaims> claims = VerifyToken(c.token, kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << c.token;
    EXPECT_EQ(claims.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(claims.status().message(), c.error) << c.token;
  }
}

// A correctly signed token whose claims are wrong: what a minting bug (or
// another minting tool) could produce.
std::string Signed(std::string_view header, std::string_view claims) {
  const std::string input =
      Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  return input + "." + TokenSignature(input, kSecret);
}

TEST(TokenTest, BadClaimsAreNamed) {
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  struct Case {
    std::string header;
    std::string claims;
    std::string error;
  };
  const std::vector<Case> cases = {
      {header, R"({"docs":["a"],"right":"write","exp":1900000000})",
       "malformed token claims: \"right\" must be \"read\" or \"read-write\""},
      {header, R"({"docs":["a"],"right":"read"})",
       "malformed token claims: no \"exp\""},
      {header, R"({"docs":["a"],"exp":1900000000})",
       "malformed token claims: no \"right\""},
      {header, R"({"right":"read","exp":1900000000})",
       "malformed token claims: no \"docs\" or \"prefixes\": it covers no "
       "document"},
      {header, R"({"docs":"a","right":"read","exp":1900000000})",
       "malformed token claims: \"docs\" must be a list of strings"},
      {header, R"({"docs":["a"],"right":"read","exp":"soon"})",
       "malformed token claims: \"exp\" must be an integer (unix seconds)"},
      {header, R"({"docs":["a"],"right":"read","exp":1900000000,"adm":1})",
       "malformed token claims: unknown claim \"adm\""},
      {R"({"alg":"none"})", R"({"docs":["a"],"right":"read","exp":1900000000})",
       "malformed token: header: \"alg\" must be \"HS256\""},
  };
  for (const Case& c : cases) {
    Result<TokenClaims> claims =
        VerifyToken(Signed(c.header, c.claims), kSecret, kNow);
    ASSERT_FALSE(claims.ok()) << c.claims;
    EXPECT_EQ(claims.status().message(), c.error);
  }
  Result<TokenClaims> not_json =
      VerifyToken(Signed(header, R"({"docs":[)"), kSecret, kNow);
  ASSERT_FALSE(not_json.ok());
  EXPECT_TRUE(not_json.status().message().starts_with(
      "malformed token: claims is not JSON"))
      << not_json.status().message();
}

TEST(TokenTest, IdentityIsTheSubjectOrTheToken) {
  TokenClaims claims = Claims();
  const std::string a = MintToken(claims, kSecret);
  claims.expires += 1;
  const std::string b = MintToken(claims, kSecret);
  EXPECT_EQ(Identity(a, *VerifyToken(a, kSecret, kNow)), "sub:alice");
  EXPECT_EQ(Identity(b, *VerifyToken(b, kSecret, kNow)), "sub:alice");
  claims.subject.clear();
  const std::string c = MintToken(claims, kSecret);
  claims.expires += 1;
  const std::string d = MintToken(claims, kSecret);
  const std::string ic = Identity(c, *VerifyToken(c, kSecret, kNow));
  EXPECT_TRUE(ic.starts_with("token:"));
  EXPECT_EQ(ic.size(), 6u + 22u);
  EXPECT_NE(ic, Identity(d, *VerifyToken(d, kSecret, kNow)));
}

TEST(Base64UrlTest, RoundTripsAndRefusesWhatIsNotCanonical) {
  for (std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    bytes += '\xff';
    Result<std::string> back = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").ok());  // No padding.
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());     // Stray low bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
}

TEST(SecretTest, ShortSecretsAndMissingFilesAreRefused) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("auth_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "secret").string();
  std::ofstream(path) << "short\n";
  Result<std::string> short_secret = ReadSecretFile(path);
  ASSERT_FALSE(short_secret.ok());
  EXPECT_NE(short_secret.status().message().find("5 bytes; at least 16"),
            std::string::npos);
  std::ofstream(path) << kSecret << "\n";
  Result<std::string> secret = ReadSecretFile(path);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, kSecret);  // Less its line break.
  EXPECT_FALSE(ReadSecretFile((dir / "absent").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(ViewOwnersTest, SqliteBindingsOutliveTheProcessAndTheFirstWins) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("owners_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "owners.db").string();
  {
    auto owners = SqliteViewOwners::Open(path);
    ASSERT_TRUE(owners.ok()) << owners.status().ToString();
    EXPECT_EQ(*(*owners)->Owner("c1"), std::nullopt);
    ASSERT_TRUE((*owners)->Bind("c1", "sub:alice").ok());
    ASSERT_TRUE((*owners)->Bind("c1", "sub:mallory").ok());
    EXPECT_EQ(*(*owners)->Owner("c1"), "sub:alice");
  }
  auto reopened = SqliteViewOwners::Open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->Owner("c1"), "sub:alice");
  EXPECT_EQ(*(*reopened)->Owner("c2"), std::nullopt);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace diffsync::server
