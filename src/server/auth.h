// Access control for diffsyncd: signed tokens that name the documents a
// client may open and whether it may change them, and the binding of each
// client id to the identity that first used it (so no one else can take
// over its views). docs/PROTOCOL.md ("Access control") is the specification.
//
// A token is a JSON Web Token (RFC 7519) in compact form, signed with
// HMAC-SHA256 (`alg` HS256) under the server's secret:
//   base64url(header) "." base64url(claims) "." base64url(mac)
// with the claims
//   {"docs": ["notes"], "prefixes": ["team/"], "right": "read-write",
//    "exp": 1767225600, "sub": "alice"}
// where `docs` are exact document names, `prefixes` cover every document
// whose name starts with one of them, `right` is "read" or "read-write",
// `exp` the expiry in unix seconds and `sub` (optional) who holds it.
//
// AccessControl applies them to each request: who sends it (its `t:` line,
// or the token its transport carried), whether that may open each document
// it names and use each client id, and whether it may change anything.
//
// Thread safety: the functions are pure; AccessControl, MemoryViewOwners and
// SqliteViewOwners are not thread-safe (diffsyncd calls them on its service
// thread only).
//
// Example:
//   TokenClaims claims{.documents = {"notes"}, .right = Right::kRead,
//                      .expires = now + 3600, .subject = "alice"};
//   std::string token = MintToken(claims, secret);
//   Result<TokenClaims> checked = VerifyToken(token, secret, now);
//   if (!checked.ok()) return checked.status();  // says what was wrong
//   if (checked->Covers("notes")) ...
#ifndef DIFFSYNC_SERVER_AUTH_H_
#define DIFFSYNC_SERVER_AUTH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/status.h"

struct sqlite3;

namespace diffsync::server {

// A secret shorter than this is refused: HMAC-SHA256 keys should carry at
// least 128 bits.
inline constexpr size_t kMinSecretBytes = 16;

enum class Right { kRead, kReadWrite };

std::string_view ToString(Right right);  // "read", "read-write"

struct TokenClaims {
  std::vector<std::string> documents;  // Exact names.
  std::vector<std::string> prefixes;   // "" covers every document.
  Right right = Right::kRead;
  int64_t expires = 0;  // Unix seconds; valid while now < expires.
  std::string subject;  // Optional.

  bool Covers(std::string_view document) const;
  friend bool operator==(const TokenClaims&, const TokenClaims&) = default;
};

// The token for `claims`. `secret` must be at least kMinSecretBytes long.
std::string MintToken(const TokenClaims& claims, std::string_view secret);

// The third part of a token whose first two are `signed_part`
// ("HEADER.CLAIMS"): base64url(HMAC-SHA256(secret, signed_part)).
std::string TokenSignature(std::string_view signed_part,
                           std::string_view secret);

// Checks the signature first (in constant time), then the claims and the
// expiry against `now_seconds`. The error says what was wrong, e.g.
// "malformed token: bad base64url at offset 12", "bad signature (not signed
// with this server's secret, or altered)", "token expired at 1767225600
// (now 1767229200)", "malformed token claims: \"right\" must be \"read\" or
// \"read-write\"". Every error is kInvalidArgument, except expiry
// (kFailedPrecondition).
Result<TokenClaims> VerifyToken(std::string_view token, std::string_view secret,
                                int64_t now_seconds);

// Who a client id belongs to. With a subject, every token of that subject is
// the same identity ("sub:alice"); without one, only the same token is
// ("token:" and the first 128 bits of its signature). Clients without a
// token, where the server allows them, are all one identity: kAnonymous.
std::string Identity(std::string_view token, const TokenClaims& claims);
inline constexpr std::string_view kAnonymous = "anonymous";

// base64url without padding (RFC 4648 section 5).
std::string Base64UrlEncode(std::string_view bytes);
// Refuses padding, other characters and impossible lengths, naming the
// offset of the first bad character.
Result<std::string> Base64UrlDecode(std::string_view text);

// The secret in `path`: its bytes less one trailing line break. Errors name
// the file; a secret shorter than kMinSecretBytes is refused.
Result<std::string> ReadSecretFile(const std::string& path);
// Checks the length of a secret from elsewhere (`where` names its source).
Status CheckSecret(std::string_view secret, std::string_view where);

// Which identity owns each client id: the first to use it. Durable when
// Bind returns OK, so the binding outlives a restart as the views do.
class ViewOwners {
 public:
  virtual ~ViewOwners() = default;
  virtual Result<std::optional<std::string>> Owner(
      const std::string& client_id) = 0;
  virtual Status Bind(const std::string& client_id,
                      const std::string& identity) = 0;
};

class MemoryViewOwners final : public ViewOwners {
 public:
  Result<std::optional<std::string>> Owner(
      const std::string& client_id) override;
  Status Bind(const std::string& client_id,
              const std::string& identity) override;

 private:
  std::unordered_map<std::string, std::string> owners_;
};

// One SQLite file (WAL, synchronous=FULL) with one table,
// `owners(client_id TEXT PRIMARY KEY, identity TEXT, bound_millis INTEGER)`.
// A separate file from the document store: bindings are written once per
// new client id, ahead of the request that creates its views.
class SqliteViewOwners final : public ViewOwners {
 public:
  static Result<std::unique_ptr<SqliteViewOwners>> Open(
      const std::string& path);
  ~SqliteViewOwners() override;

  Result<std::optional<std::string>> Owner(
      const std::string& client_id) override;
  Status Bind(const std::string& client_id,
              const std::string& identity) override;

 private:
  SqliteViewOwners(sqlite3* db, std::string path);
  Status Error(std::string_view what) const;

  sqlite3* db_;
  std::string path_;
};

struct AccessOptions {
  // Tokens are checked against it; empty: no tokens are checked (they are
  // ignored) and every client is anonymous.
  std::string secret;
  // Requests without a token are served, as the anonymous identity, with
  // the right to read and write every document.
  bool allow_anonymous = true;
  // Where client ids are bound to identities; null: in memory. Only used
  // with a secret (without one every client is the same identity).
  ViewOwners* owners = nullptr;
};

// What a request may do.
struct Admission {
  // Why it is refused, if it is: code "unauthorized" (no valid token: HTTP
  // 401) or "forbidden" (a document or client id it may not use: 403), or
  // "store" (a binding could not be stored). Nothing of it may be applied.
  std::optional<engine::Error> refusal;
  // Its changes are refused (engine::Server::Handle's `read_only`).
  bool read_only = false;
};

class AccessControl {
 public:
  AccessControl(AccessOptions options, engine::Clock& clock);

  // Decides for `request`, whose token is its t: line or else
  // `transport_token`. Binds the client ids it is the first to use to its
  // identity (durably) when it is admitted.
  Admission Admit(const engine::Message& request,
                  std::string_view transport_token);
  // Checks a token given once for a whole connection: the refusal
  // ("unauthorized") if it is not valid.
  std::optional<engine::Error> CheckToken(std::string_view token);

 private:
  Result<std::optional<std::string>> OwnerOf(const std::string& client_id);
  void Remember(const std::string& client_id, const std::string& identity);

  AccessOptions options_;
  engine::Clock& clock_;
  std::unique_ptr<ViewOwners> own_owners_;  // When options_.owners is null.
  ViewOwners* owners_;
  // Owners looked up or bound, so that a busy client costs no query.
  std::unordered_map<std::string, std::string> known_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_AUTH_H_
