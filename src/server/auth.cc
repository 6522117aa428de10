#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace diffsync::server {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// The header every token carries: {"alg":"HS256","typ":"JWT"}.
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr size_t kMacBytes = 32;

using Mac = std::array<unsigned char, kMacBytes>;

Mac Sign(std::string_view secret, std::string_view input) {
  Mac mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       mac.data(), &length);
  return mac;
}

int DecodeChar(char c) {
  const size_t at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// base64url `text`, found at `base` in what the caller reads: errors name
// the offset there.
Result<std::string> DecodeAt(std::string_view text, size_t base) {
  if (text.size() % 4 == 1) {
    return Status::InvalidArgument("bad base64url length " +
                                   std::to_string(text.size()) + " at offset " +
                                   std::to_string(base));
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int value = DecodeChar(text[i]);
    if (value < 0) {
      return Status::InvalidArgument("bad base64url character at offset " +
                                     std::to_string(base + i));
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  // The unused low bits of the last character must be zero, so that each
  // byte string has one encoding.
  if ((bits & ((1u << count) - 1)) != 0) {
    return Status::InvalidArgument("bad base64url (stray low bits) at offset " +
                                   std::to_string(base + text.size() - 1));
  }
  return out;
}

Status Malformed(std::string what) {
  return Status::InvalidArgument("malformed token: " + std::move(what));
}

Status BadClaims(std::string what) {
  return Status::InvalidArgument("malformed token claims: " + std::move(what));
}

// `text` (at `offset` in the token) as JSON; errors name the token offset.
Result<json::value> ParseJson(std::string_view text, size_t offset,
                              std::string_view part) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = json::error::extra_data;
  if (!ec) parser.finish(ec);
  if (ec) {
    return Malformed(std::string(part) + " is not JSON (" + ec.message() +
                     " at byte " + std::to_string(used) +
                     " of the decoded part at offset " +
                     std::to_string(offset) + ")");
  }
  return parser.release();
}

Result<std::vector<std::string>> StringList(const json::value& value,
                                            std::string_view key) {
  const json::array* array = value.if_array();
  if (array == nullptr) {
    return BadClaims("\"" + std::string(key) + "\" must be a list of strings");
  }
  std::vector<std::string> out;
  for (const json::value& item : *array) {
    const json::string* s = item.if_string();
    if (s == nullptr) {
      return BadClaims("\"" + std::string(key) +
                       "\" must be a list of strings");
    }
    out.emplace_back(s->data(), s->size());
  }
  return out;
}

Result<TokenClaims> ReadClaims(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return BadClaims("not a JSON object");
  TokenClaims claims;
  bool has_right = false;
  bool has_expiry = false;
  for (const auto& [key, item] : *object) {
    if (key == "docs" || key == "prefixes") {
      Result<std::vector<std::string>> list = StringList(item, key);
      if (!list.ok()) return list.status();
      (key == "docs" ? claims.documents : claims.prefixes) = std::move(*list);
    } else if (key == "right") {
      const json::string* s = item.if_string();
      if (s != nullptr && *s == "read") {
        claims.right = Right::kRead;
      } else if (s != nullptr && *s == "read-write") {
        claims.right = Right::kReadWrite;
      } else {
        return BadClaims("\"right\" must be \"read\" or \"read-write\"");
      }
      has_right = true;
    } else if (key == "exp") {
      if (item.is_int64()) {
        claims.expires = item.get_int64();
      } else if (item.is_uint64()) {
        return BadClaims("\"exp\" is out of range");
      } else {
        return BadClaims("\"exp\" must be an integer (unix seconds)");
      }
      has_expiry = true;
    } else if (key == "sub") {
      const json::string* s = item.if_string();
      if (s == nullptr) return BadClaims("\"sub\" must be a string");
      claims.subject.assign(s->data(), s->size());
    } else if (key == "iat") {
      // Issued-at: informative only.
      if (!item.is_int64() && !item.is_uint64()) {
        return BadClaims("\"iat\" must be an integer");
      }
    } else {
      // A claim we do not know could be a restriction we would not enforce.
      return BadClaims("unknown claim \"" + std::string(key) + "\"");
    }
  }
  if (!has_right) return BadClaims("no \"right\"");
  if (!has_expiry) return BadClaims("no \"exp\"");
  if (claims.documents.empty() && claims.prefixes.empty()) {
    return BadClaims("no \"docs\" or \"prefixes\": it covers no document");
  }
  return claims;
}

}  // namespace

std::string_view ToString(Right right) {
  return right == Right::kRead ? "read" : "read-write";
}

bool TokenClaims::Covers(std::string_view document) const {
  for (const std::string& d : documents) {
    if (d == document) return true;
  }
  for (const std::string& p : prefixes) {
    if (document.starts_with(p)) return true;
  }
  return false;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  return DecodeAt(text, 0);
}

std::string MintToken(const TokenClaims& claims, std::string_view secret) {
  json::object object;
  json::array docs;
  for (const std::string& d : claims.documents) docs.emplace_back(d);
  json::array prefixes;
  for (const std::string& p : claims.prefixes) prefixes.emplace_back(p);
  if (!docs.empty()) object["docs"] = std::move(docs);
  if (!prefixes.empty()) object["prefixes"] = std::move(prefixes);
  object["right"] = ToString(claims.right);
  object["exp"] = claims.expires;
  if (!claims.subject.empty()) object["sub"] = claims.subject;
  const std::string input =
      Base64UrlEncode(kHeader) + "." + Base64UrlEncode(json::serialize(object));
  return input + "." + TokenSignature(input, secret);
}

std::string TokenSignature(std::string_view signed_part,
                           std::string_view secret) {
  const Mac mac = Sign(secret, signed_part);
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

Result<TokenClaims> VerifyToken(std::string_view token, std::string_view secret,
                                int64_t now_seconds) {
  if (token.empty()) return Malformed("empty");
  const size_t first = token.find('.');
  const size_t second =
      first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos ||
      token.find('.', second + 1) != std::string_view::npos) {
    return Malformed("expected three parts HEADER.CLAIMS.SIGNATURE");
  }
  const size_t offsets[3] = {0, first + 1, second + 1};
  const std::string_view parts[3] = {
      token.substr(0, first), token.substr(first + 1, second - first - 1),
      token.substr(second + 1)};
  std::string decoded[3];
  static constexpr std::string_view kNames[3] = {"header", "claims",
                                                 "signature"};
  for (int i = 0; i < 3; ++i) {
    Result<std::string> bytes = DecodeAt(parts[i], offsets[i]);
    if (!bytes.ok()) {
      return Malformed(std::string(kNames[i]) + ": " +
                       bytes.status().message());
    }
    decoded[i] = std::move(*bytes);
  }
  if (decoded[2].size() != kMacBytes) {
    return Malformed("the signature is " + std::to_string(decoded[2].size()) +
                     " bytes, not 32 (HMAC-SHA256)");
  }
  const Mac mac = Sign(secret, token.substr(0, second));
  if (CRYPTO_memcmp(mac.data(), decoded[2].data(), kMacBytes) != 0) {
    return Status::InvalidArgument(
        "bad signature (not signed with this server's secret, or altered)");
  }
  Result<json::value> header = ParseJson(decoded[0], offsets[0], "header");
  if (!header.ok()) return header.status();
  const json::object* h = header->if_object();
  const json::value* alg = h == nullptr ? nullptr : h->if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") {
    return Malformed("header: \"alg\" must be \"HS256\"");
  }
  Result<json::value> body = ParseJson(decoded[1], offsets[1], "claims");
  if (!body.ok()) return body.status();
  Result<TokenClaims> claims = ReadClaims(*body);
  if (!claims.ok()) return claims.status();
  if (now_seconds >= claims->expires) {
    return Status::FailedPrecondition(
        "token expired at " + std::to_string(claims->expires) + " (now " +
        std::to_string(now_seconds) + ")");
  }
  return claims;
}

std::string Identity(std::string_view token, const TokenClaims& claims) {
  if (!claims.subject.empty()) return "sub:" + claims.subject;
  const size_t dot = token.rfind('.');
  // 22 base64url characters: 132 bits of the signature.
  return "token:" + std::string(token.substr(dot + 1, 22));
}

Status CheckSecret(std::string_view secret, std::string_view where) {
  if (secret.size() < kMinSecretBytes) {
    return Status::InvalidArgument(
        std::string(where) + ": the secret is " +
        std::to_string(secret.size()) + " bytes; at least " +
        std::to_string(kMinSecretBytes) +
        " are needed (e.g. head -c 32 /dev/urandom | base64 > FILE)");
  }
  return Status::Ok();
}

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read secret file " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string secret = bytes.str();
  if (secret.ends_with('\n')) secret.pop_back();
  if (secret.ends_with('\r')) secret.pop_back();
  if (Status s = CheckSecret(secret, "secret file " + path); !s.ok()) return s;
  return secret;
}

Result<std::optional<std::string>> MemoryViewOwners::Owner(
    const std::string& client_id) {
  auto it = owners_.find(client_id);
  if (it == owners_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryViewOwners::Bind(const std::string& client_id,
                              const std::string& identity) {
  owners_.emplace(client_id, identity);
  return Status::Ok();
}

SqliteViewOwners::SqliteViewOwners(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

SqliteViewOwners::~SqliteViewOwners() { sqlite3_close(db_); }

Status SqliteViewOwners::Error(std::string_view what) const {
  return Status::IoError(path_ + ": " + std::string(what) + ": " +
                         sqlite3_errmsg(db_));
}

Result<std::unique_ptr<SqliteViewOwners>> SqliteViewOwners::Open(
    const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<SqliteViewOwners> owners(new SqliteViewOwners(db, path));
  if (rc != SQLITE_OK) return owners->Error("open");
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                   "CREATE TABLE IF NOT EXISTS owners (client_id TEXT PRIMARY "
                   "KEY, identity TEXT NOT NULL, bound_millis INTEGER NOT "
                   "NULL) WITHOUT ROWID;",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return owners->Error("create the owners table");
  }
  return owners;
}

Result<std::optional<std::string>> SqliteViewOwners::Owner(
    const std::string& client_id) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT identity FROM owners WHERE client_id=?",
                         -1, &statement, nullptr) != SQLITE_OK) {
    return Error("read an owner");
  }
  sqlite3_bind_text(statement, 1, client_id.data(),
                    static_cast<int>(client_id.size()), SQLITE_TRANSIENT);
  std::optional<std::string> identity;
  const int rc = sqlite3_step(statement);
  if (rc == SQLITE_ROW) {
    identity.emplace(
        reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)),
        static_cast<size_t>(sqlite3_column_bytes(statement, 0)));
  }
  sqlite3_finalize(statement);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("read an owner");
  return identity;
}

Status SqliteViewOwners::Bind(const std::string& client_id,
                              const std::string& identity) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO owners VALUES (?, ?, ?)",
                         -1, &statement, nullptr) != SQLITE_OK) {
    return Error("bind a client id");
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  sqlite3_bind_text(statement, 1, client_id.data(),
                    static_cast<int>(client_id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(statement, 2, identity.data(),
                    static_cast<int>(identity.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(statement, 3, now);
  const int rc = sqlite3_step(statement);
  sqlite3_finalize(statement);
  if (rc != SQLITE_DONE) return Error("bind a client id");
  return Status::Ok();
}

namespace {

// Owners remembered in memory at most; past it the memory is cleared and
// refilled from the store as clients come.
constexpr size_t kMaxKnownOwners = 100'000;

engine::Error Refusal(std::string code, std::string message) {
  return {std::move(code), std::move(message)};
}

}  // namespace

AccessControl::AccessControl(AccessOptions options, engine::Clock& clock)
    : options_(std::move(options)), clock_(clock), owners_(options_.owners) {
  if (owners_ == nullptr) {
    own_owners_ = std::make_unique<MemoryViewOwners>();
    owners_ = own_owners_.get();
  }
}

std::optional<engine::Error> AccessControl::CheckToken(std::string_view token) {
  if (options_.secret.empty()) return std::nullopt;
  Result<TokenClaims> claims =
      VerifyToken(token, options_.secret, clock_.NowMillis() / 1000);
  if (!claims.ok()) {
    return Refusal("unauthorized",
                   "token refused: " + claims.status().message());
  }
  return std::nullopt;
}

void AccessControl::Remember(const std::string& client_id,
                             const std::string& identity) {
  if (known_.size() >= kMaxKnownOwners) known_.clear();
  known_.emplace(client_id, identity);
}

Result<std::optional<std::string>> AccessControl::OwnerOf(
    const std::string& client_id) {
  if (auto it = known_.find(client_id); it != known_.end()) {
    return std::optional<std::string>(it->second);
  }
  return owners_->Owner(client_id);
}

Admission AccessControl::Admit(const engine::Message& request,
                               std::string_view transport_token) {
  Admission admission;
  if (options_.secret.empty()) {
    if (!options_.allow_anonymous) {
      admission.refusal =
          Refusal("unauthorized", "this server admits nobody (no secret)");
    }
    return admission;
  }
  const std::string_view token =
      request.token.empty() ? transport_token : std::string_view(request.token);
  std::string identity;
  std::optional<TokenClaims> claims;
  if (token.empty()) {
    if (!options_.allow_anonymous) {
      admission.refusal = Refusal(
          "unauthorized",
          "no token: this server needs one (a t: line, an Authorization: "
          "Bearer header or an access_token query parameter)");
      return admission;
    }
    identity = kAnonymous;
  } else {
    Result<TokenClaims> checked =
        VerifyToken(token, options_.secret, clock_.NowMillis() / 1000);
    if (!checked.ok()) {
      admission.refusal = Refusal(
          "unauthorized", "token refused: " + checked.status().message());
      return admission;
    }
    claims = std::move(*checked);
    identity = Identity(token, *claims);
    admission.read_only = claims->right == Right::kRead;
  }
  std::set<std::string> unbound;
  for (const engine::DocumentBlock& block : request.documents) {
    if (claims && !claims->Covers(block.document)) {
      admission.refusal =
          Refusal("forbidden",
                  "the token does not cover document '" + block.document + "'");
      return admission;
    }
    if (block.client_id.empty() || unbound.contains(block.client_id)) continue;
    Result<std::optional<std::string>> owner = OwnerOf(block.client_id);
    if (!owner.ok()) {
      admission.refusal = Refusal("store", owner.status().message());
      return admission;
    }
    if (!owner->has_value()) {
      unbound.insert(block.client_id);
    } else if (**owner != identity) {
      admission.refusal = Refusal(
          "forbidden", "client id '" + block.client_id +
                           "' belongs to another identity (a client id is "
                           "bound to the token that first used it)");
      return admission;
    } else {
      Remember(block.client_id, identity);
    }
  }
  for (const std::string& client_id : unbound) {
    if (Status s = owners_->Bind(client_id, identity); !s.ok()) {
      admission.refusal = Refusal("store", s.message());
      return admission;
    }
    Remember(client_id, identity);
  }
  return admission;
}

}  // namespace diffsync::server
