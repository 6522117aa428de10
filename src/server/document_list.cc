#include "server/document_list.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <optional>

#include "server/auth.h"

namespace diffsync::server {
namespace {

DocumentList::Answer Refused(std::string why) {
  return {.status = 401, .content_type = "text/plain", .body = why + "\n"};
}

}  // namespace

DocumentList::Answer DocumentList::Respond(std::string_view token,
                                           int64_t now_seconds) const {
  std::optional<TokenClaims> claims;
  if (!secret.empty() && !token.empty()) {
    Result<TokenClaims> checked = VerifyToken(token, secret, now_seconds);
    if (!checked.ok()) return Refused(checked.status().message());
    claims = std::move(*checked);
  } else if (!secret.empty() && !allow_anonymous) {
    return Refused("a token is required (Authorization: Bearer TOKEN)");
  }
  Result<std::vector<std::string>> all = names();
  if (!all.ok()) {
    return {
        .status = 500,
        .content_type = "text/plain",
        .body = "cannot list the documents: " + all.status().message() + "\n"};
  }
  boost::json::array list;
  for (const std::string& name : *all) {
    if (!claims || claims->Covers(name)) list.emplace_back(name);
  }
  boost::json::object body;
  body["documents"] = std::move(list);
  return {.status = 200,
          .content_type = "application/json",
          .body = boost::json::serialize(body) + "\n"};
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";  // Any case.
  const auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  };
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                  [&](char want, char c) { return same(c, want); })) {
    return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace diffsync::server
