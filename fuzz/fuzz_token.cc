// Access tokens from outside (docs/PROTOCOL.md, "Access control"): any bytes
// as a token are refused with a message or verified, never a crash; and the
// claims parser, reached by signing the input's second half as claims with
// the fuzzer's own secret, accepts only what re-mints to the same claims.
// base64url decoding inverts encoding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/auth.h"

namespace diffsync::server {
namespace {

using fuzz::Check;

constexpr std::string_view kSecret = "the fuzzer's secret, 32 bytes...";
constexpr int64_t kNow = 1'800'000'000;

void CheckVerified(std::string_view token) {
  Result<TokenClaims> claims = VerifyToken(token, kSecret, kNow);
  if (!claims.ok()) {
    Check(!claims.status().message().empty(), "a refusal says why");
    return;
  }
  Check(claims->expires > kNow, "a verified token has not expired");
  Check(!claims->documents.empty() || !claims->prefixes.empty(),
        "a verified token covers a document");
  Result<TokenClaims> again =
      VerifyToken(MintToken(*claims, kSecret), kSecret, kNow);
  Check(again.ok() && *again == *claims, "verified claims re-mint as they are");
  Check(!VerifyToken(token, "another secret of 32 bytes......", kNow).ok(),
        "another secret's signature is refused");
}

}  // namespace
}  // namespace diffsync::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace diffsync::server;
  const std::string_view input = diffsync::fuzz::AsView(data, size);
  CheckVerified(input);
  auto [header, claims] = diffsync::fuzz::SplitAtFF(input);
  const std::string signed_part =
      Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  CheckVerified(signed_part + "." + TokenSignature(signed_part, kSecret));
  diffsync::Result<std::string> back = Base64UrlDecode(Base64UrlEncode(input));
  diffsync::fuzz::Check(back.ok() && *back == input, "base64url round-trips");
  return 0;
}
