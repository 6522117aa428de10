// The synchronization wire protocol: MobWrite's line protocol plus our
// optional extension lines, as a pure encode/decode pair over a data model.
// docs/PROTOCOL.md ("Synchronization protocol") is the specification; this
// header is its C++ form.
//
// A message is a list of `X:value` lines ending with a blank line. The same
// grammar serves both directions (a client's request, a server's reply, and
// server to server); which lines a side sends and what they mean is the
// engine's business, not the codec's. The codec only guarantees:
//   - DecodeMessage accepts everything MobWrite's clients and daemon send;
//   - for any Message m that EncodeMessage accepts,
//     DecodeMessage(EncodeMessage(m)) == m;
//   - everything DecodeMessage returns is accepted by EncodeMessage, so
//     EncodeMessage(DecodeMessage(x)) is the canonical form of x.
//
// Text is UTF-8. Document names, raw texts and the free-text parts of our
// extension lines are escaped on the wire (encodeURI, space kept) and held
// decoded here; deltas are held exactly as on the wire (dmp::FromDelta reads
// them against the shadow they apply to).
//
// Thread safety: pure functions over plain values.
//
// Example:
//   using namespace diffsync::engine;
//   Result<Message> request =
//   DecodeMessage("u:alice\nF:3:notes\nd:7:=5\t+!\n\n"); if (!request.ok())
//   return request.status();  // names the line and why const DocumentBlock&
//   doc = request->documents[0];  // alice, "notes", m=3 Message reply;
//   reply.documents.push_back({.document = "notes", .version = 8});
//   reply.documents[0].edits.push_back(
//       {.kind = Edit::Kind::kDelta, .version = 3, .data = "=6",
//        .checksum = Crc32("hello!")});
//   Result<std::string> wire = EncodeMessage(reply);
//   // "F:8:notes\nd:3:=6\nh:3:9a86c960\n\n"
#ifndef DIFFSYNC_ENGINE_PROTOCOL_H_
#define DIFFSYNC_ENGINE_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/status.h"

namespace diffsync::engine {

// Largest number the protocol carries (versions, buffer sizes). MobWrite's
// JavaScript client parses numbers as doubles, which are exact up to 2^53 - 1.
inline constexpr int64_t kMaxWireInteger = (int64_t{1} << 53) - 1;

// One edit of a document: a delta against the receiver's copy of the
// sender's shadow (`d`/`D`), or the sender's whole text (`r`/`R`).
struct Edit {
  enum class Kind { kDelta, kRaw };
  Kind kind = Kind::kDelta;
  // `D`/`R`: the receiver's text takes this edit as is (last writer wins)
  // instead of merging it; for fields where merging makes no sense.
  bool overwrite = false;
  // Client to server: the client's version n of this edit. Server to
  // client: the server's version m.
  int64_t version = 0;
  // kDelta: the delta exactly as on the wire. kRaw: the decoded text.
  std::string data;
  // Extension `h`: CRC-32 of the sender's shadow (UTF-8) after this edit,
  // so the receiver can tell its shadow drifted even when the edit applied.
  std::optional<uint32_t> checksum;
  // kDelta read from the compact form (WireSession): the delta's counts may
  // stop short of the shadow's length, the rest being retained
  // (ChangeSet::FromOpenDelta). Never set by DecodeMessage; EncodeMessage
  // refuses it.
  bool open_end = false;

  friend bool operator==(const Edit&, const Edit&) = default;
};

// An edit's line letter, as MobWrite's: d a delta, r a raw text, upper case
// (D, R) to overwrite.
char EditLetter(Edit::Kind kind, bool overwrite);
// Sets `edit`'s kind and overwrite from its letter; false, and `edit`
// untouched, for a letter other than d, D, r and R.
bool SetEditLetter(char letter, Edit& edit);

// Extension `c`: a hunk of the client's edit `version` that the server could
// not apply and dropped, reported instead of being silently reverted.
struct Conflict {
  int64_t version = 0;
  std::string reason;  // A code, see IsProtocolCode.
  std::string hunk;    // The dropped hunk, as dmp patch text.

  friend bool operator==(const Conflict&, const Conflict&) = default;
};

// Extension `x`: an error the receiver should act on (e.g. resend its whole
// text), scoped to a document block or, before any block, to the message.
struct Error {
  std::string code;  // E.g. "future-version"; see IsProtocolCode.
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

// Extension `m`: metadata about a document that is not its text, such as a
// cursor (key "cursor"). Receivers ignore keys they do not know.
struct Metadata {
  std::string key;  // See IsProtocolCode.
  std::string value;

  friend bool operator==(const Metadata&, const Metadata&) = default;
};

// Everything one message says about one document for one client: MobWrite
// ties each edit to the client id and the document in force when it is read,
// so a message may hold several blocks, for several clients or documents.
struct DocumentBlock {
  // The `u`/`U` line in force (empty when there is none, as in a server
  // reply that does not echo ids). `U` asks the server to name the client
  // in its reply, for messages that carry several clients.
  std::string client_id;
  bool echo_client_id = false;
  std::string document;  // Decoded; never empty.
  // `N` line: the document is to be deleted. Such a block has no version
  // (0) and no edits.
  bool nullify = false;
  // `F` line. Client to server: the client's server version m, the number
  // of server edits it has applied. Server to client: the server's client
  // version n, the number of client edits it has applied. Both acknowledge.
  int64_t version = 0;
  std::vector<Edit> edits;
  std::vector<Conflict> conflicts;
  std::vector<Error> errors;
  std::vector<Metadata> metadata;

  friend bool operator==(const DocumentBlock&, const DocumentBlock&) = default;
};

// `b`: a piece of a message too long for one JSON-P URL. The pieces of
// buffer `id`, joined in index order and percent-decoded, are a message;
// collecting them across requests is the gateway's job.
struct BufferFragment {
  std::string id;     // Non-empty, no space.
  int64_t size = 0;   // Number of pieces, 1 or more.
  int64_t index = 0;  // 1-based, at most `size`.
  std::string text;   // As on the wire (still percent-encoded).

  friend bool operator==(const BufferFragment&,
                         const BufferFragment&) = default;
};

struct Message {
  // Extension `t`: an authentication token for the whole message.
  std::string token;
  // `x` lines before any document block: errors about the whole message.
  std::vector<Error> errors;
  std::vector<DocumentBlock> documents;
  std::vector<BufferFragment> fragments;

  friend bool operator==(const Message&, const Message&) = default;
};

// Reads one message: lines ending in LF, CRLF or CR, up to the first blank
// line; after it only further line breaks may follow. Lines whose first ':'
// is not their second character, and lines with unknown letters, are
// ignored (MobWrite's rule, which lets old peers skip our extensions).
//
// Errors name the 1-based line and the problem (escape offsets count bytes
// within the line):
//   - kOutOfRange: the input ends before the blank line (a truncated
//     message, which MobWrite drops whole);
//   - kInvalidArgument: invalid UTF-8; a malformed known line (missing or
//     bad number, bad escape, empty document name, malformed b/h/c/x/m);
//     an edit, h, c or m line outside a document block; an edit in a
//     nullify block; an h line not right after its edit; a second t line;
//     text after the blank line. MobWrite skips such lines, but none of its
//     peers sends them, and skipping an F line would apply the following
//     edits to the previous document.
Result<Message> DecodeMessage(std::string_view wire);

// Writes `message` in canonical form: the t line, message-level x lines,
// then per block a u/U line when the client id or echo flag changes, the F
// (or N) line, its edits each followed by its h line, then its c, x and m
// lines; then the b lines; then the blank line.
// Errors (kInvalidArgument, naming the field) for what the wire cannot
// carry: a line break in an unescaped field (client id, token, delta,
// buffer), invalid UTF-8, a number outside [0, kMaxWireInteger], an empty
// document name, a nullify block with a version or edits, a code that fails
// IsProtocolCode, or a malformed buffer fragment.
Result<std::string> EncodeMessage(const Message& message);

// Codes of x and c lines and keys of m lines: one or more of A-Z a-z 0-9 and
// "-_.", so that they never contain the ':' that ends them.
bool IsProtocolCode(std::string_view code);

// CRC-32 (IEEE 802.3, as zlib's crc32) of `data`, continuing from `previous`
// so that Crc32(b, Crc32(a)) == Crc32(a + b); Crc32("123456789") ==
// 0xCBF43926. The checksum of the `h` line.
uint32_t Crc32(std::string_view data, uint32_t previous = 0);

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_PROTOCOL_H_
