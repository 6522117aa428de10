#include "diffsync/engine/protocol.h"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmp/utf.h"
#include "engine/wire_context.h"

namespace diffsync::engine {
namespace {

using dmp::internal::AppendEncodeUri;
using dmp::internal::DecodeUri;
using dmp::internal::FindInvalidUtf8;
using internal::WireContext;
using internal::WireForm;

// The compact form's checksum digits.
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::string_view kLineBreaks = "\r\n";

// The first CR or LF from `pos`, or npos. A plain loop: find_first_of calls
// memchr once per byte, which dominated decoding short lines.
size_t FindLineBreak(std::string_view text, size_t pos = 0) {
  for (; pos < text.size(); ++pos) {
    if (text[pos] == '\n' || text[pos] == '\r') return pos;
  }
  return std::string_view::npos;
}

// A number as the protocol writes it: decimal digits only. Leading zeros are
// accepted (MobWrite's parsers accept them); signs and spaces are not.
std::optional<int64_t> ParseNumber(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kMaxWireInteger) return std::nullopt;
  }
  return value;
}

// Bad input quoted in an error message, cut so a huge line stays readable.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 32;
  std::string out = "\"";
  out.append(text.substr(0, kMax));
  if (text.size() > kMax) out += "...";
  out += "\"";
  return out;
}

// "F line" for F and f: errors name a line kind as the canonical form
// writes it.
std::string LineName(char letter) {
  if (letter == 'f') letter = 'F';
  if (letter == 'n') letter = 'N';
  if (letter == 'B') letter = 'b';
  return std::string(1, letter) + " line";
}

bool IsEmpty(const DocumentBlock& block) {
  return block.edits.empty() && block.conflicts.empty() &&
         block.errors.empty() && block.metadata.empty();
}

// What a delta starts with (or it is empty), so that the compact form can
// tell it from a version number.
bool StartsAsDelta(std::string_view data) {
  return data.empty() || data[0] == '=' || data[0] == '+' || data[0] == '-';
}


std::optional<uint32_t> CrcFromBase64(std::string_view text) {
  if (text.size() != 6) return std::nullopt;
  uint64_t v = 0;
  for (const char c : text) {
    const size_t d = kBase64.find(c);
    if (d == std::string_view::npos) return std::nullopt;
    v = (v << 6) | d;
  }
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

void AppendNumber(int64_t n, std::string& out) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

// Follows one message through a WireContext (none: follows nothing), which
// changes only when the message is done, so that one that fails leaves it
// as it was.
class ContextUpdate {
 public:
  using Versions = WireContext::Versions;

  explicit ContextUpdate(WireContext* base) : base_(base) {}

  bool active() const { return base_ != nullptr; }
  // In force: as set by this message, else as before it (none without a
  // context).
  const WireContext::Client& client() const {
    static const WireContext::Client kNone;
    return client_ ? *client_ : active() ? base_->client : kNone;
  }
  const std::string& document() const {
    static const std::string kNone;
    return document_ ? *document_ : active() ? base_->document : kNone;
  }
  std::optional<int64_t> Ack(std::string_view name) const {
    return Find(name, &Versions::ack);
  }
  std::optional<int64_t> LastEdit(std::string_view name) const {
    return Find(name, &Versions::edit);
  }

  // Setting what is in force already copies nothing.
  void SetClient(std::string_view id, bool echo) {
    if (!active() || (client().id == id && client().echo == echo)) return;
    client_ = WireContext::Client{std::string(id), echo};
  }
  void SetDocument(std::string_view name) {
    if (active() && document() != name) document_ = std::string(name);
  }
  void SetAck(std::string_view name, int64_t version) {
    if (active()) Touch(name).ack = version;
  }
  void SetLastEdit(std::string_view name, int64_t version) {
    if (active()) Touch(name).edit = version;
  }

  void Commit() {
    if (!active()) return;
    if (client_) base_->client = std::move(*client_);
    if (document_) {
      base_->document = std::move(*document_);
      base_->current = nullptr;
    }
    for (size_t i = 0; i < touched_count_; ++i) {
      auto& [name, versions] = Touched(i);
      Versions& slot = Slot(name);
      if (versions.edit) slot.edit = versions.edit;
      if (versions.ack) slot.ack = versions.ack;
    }
    if (base_->current == nullptr) {
      auto it = base_->documents.find(base_->document);
      if (it != base_->documents.end()) base_->current = &it->second;
    }
  }

 private:
  using Entry = std::pair<std::string, Versions>;

  // A message names few documents, most one: a short list, its first entry
  // in place, beats copying the map.
  Entry& Touched(size_t i) { return i == 0 ? first_ : more_[i - 1]; }
  const Entry& Touched(size_t i) const { return i == 0 ? first_ : more_[i - 1]; }

  Versions& Touch(std::string_view name) {
    for (size_t i = 0; i < touched_count_; ++i) {
      if (Touched(i).first == name) return Touched(i).second;
    }
    if (touched_count_++ == 0) {
      first_.first = name;
      return first_.second;
    }
    more_.emplace_back(std::string(name), Versions{});
    return more_.back().second;
  }

  std::optional<int64_t> Find(std::string_view name,
                              std::optional<int64_t> Versions::*field) const {
    if (!active()) return std::nullopt;
    for (size_t i = 0; i < touched_count_; ++i) {
      const auto& [touched, versions] = Touched(i);
      if (touched == name && versions.*field) return versions.*field;
    }
    // Most lookups are of the document in force, which is not hashed.
    if (base_->current != nullptr && name == base_->document) {
      return base_->current->*field;
    }
    auto it = base_->documents.find(name);
    if (it == base_->documents.end()) return std::nullopt;
    return it->second.*field;
  }

  Versions& Slot(std::string_view name) {
    if (base_->current != nullptr && name == base_->document) {
      return *base_->current;
    }
    auto it = base_->documents.find(name);
    if (it == base_->documents.end()) {
      it = base_->documents.emplace(std::string(name), Versions{}).first;
    }
    return it->second;
  }

  WireContext* base_;
  std::optional<WireContext::Client> client_;
  std::optional<std::string> document_;
  Entry first_;
  std::vector<Entry> more_;
  size_t touched_count_ = 0;
};

class Decoder {
 public:
  // `context` (may be null) is followed, and with kCompact also read.
  Decoder(WireForm form, WireContext* context)
      : compact_(form == WireForm::kCompact), track_(context) {}

  Result<Message> Run(std::string_view wire) {
    size_t pos = 0;
    for (;;) {
      if (pos == wire.size()) {
        return Status::OutOfRange(
            "truncated message: the input ends after line " +
            std::to_string(line_) +
            " without the blank line that ends a message");
      }
      ++line_;
      const size_t end = FindLineBreak(wire, pos);
      if (end == std::string_view::npos) {
        return Status::OutOfRange("truncated message: line " +
                                  std::to_string(line_) + " has no line break");
      }
      const std::string_view line = wire.substr(pos, end - pos);
      pos = end + 1;
      if (wire[end] == '\r' && pos < wire.size() && wire[pos] == '\n') ++pos;
      if (line.empty()) break;
      if (size_t bad = FindInvalidUtf8(line); bad != std::string_view::npos) {
        return LineError("invalid UTF-8 at offset " + std::to_string(bad));
      }
      if (Status s = DecodeLine(line); !s.ok()) return s;
    }
    const size_t rest = wire.find_first_not_of(kLineBreaks, pos);
    if (rest != std::string_view::npos) {
      // Count the blank lines between, so the error points at the text.
      for (size_t i = pos; i < rest; ++i) {
        if (wire[i] == '\n' || (wire[i] == '\r' && wire[i + 1] != '\n')) {
          ++line_;
        }
      }
      ++line_;
      return LineError("text after the blank line that ends the message");
    }
    track_.Commit();
    return std::move(message_);
  }

 private:
  Status LineError(std::string_view what) const {
    return Status::InvalidArgument("line " + std::to_string(line_) + ": " +
                                   std::string(what));
  }

  // A compact line whose context is missing.
  Status CompactError(std::string_view what) const {
    return Status::InvalidArgument("compact form: " +
                                   LineError(what).message());
  }

  Status DecodeLine(std::string_view line) {
    // MobWrite's rule: the first ':' must be the second character.
    if (line.size() < 2 || line[1] != ':' || line[0] == ':') return Ok();
    const char letter = line[0];
    const std::string_view value = line.substr(2);
    bool is_edit = false;
    Status status;
    switch (letter) {
      case 'u':
      case 'U':
        client_id_ = std::string(value);
        echo_ = letter == 'U';
        named_client_ = true;
        track_.SetClient(client_id_, echo_);
        break;
      case 'F':
      case 'f':
      case 'N':
      case 'n':
        status = DecodeDocumentLine(letter, value);
        break;
      case 'd':
      case 'D':
      case 'r':
      case 'R':
        status = DecodeEdit(letter, value);
        is_edit = true;
        break;
      case 'h':
        status = DecodeChecksum(value);
        break;
      case 'c':
        status = DecodeConflict(value);
        break;
      case 'x':
        status = DecodeError(value);
        break;
      case 'm':
        status = DecodeMetadata(value);
        break;
      case 't':
        if (token_seen_) return LineError("a second t line");
        token_seen_ = true;
        message_.token = std::string(value);
        break;
      case 'b':
      case 'B':
        status = DecodeFragment(value);
        break;
      default:
        return Ok();  // Unknown letters are someone else's extension.
    }
    after_edit_ = is_edit;
    return status;
  }

  static Status Ok() { return Status(); }

  // Splits "NUMBER:rest" of the lines that carry a version.
  Status SplitVersion(char letter, std::string_view value, int64_t* version,
                      std::string_view* rest) const {
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return LineError(LineName(letter) + ": missing version number");
    }
    if (Status s = Version(letter, value.substr(0, colon), version); !s.ok()) {
      return s;
    }
    *rest = value.substr(colon + 1);
    return Ok();
  }

  Status Version(char letter, std::string_view digits, int64_t* version) const {
    const std::optional<int64_t> number = ParseNumber(digits);
    if (!number) {
      return LineError(LineName(letter) + ": version " + Quote(digits) +
                       " is not a number from 0 to " +
                       std::to_string(kMaxWireInteger));
    }
    *version = *number;
    return Ok();
  }

  // Decodes an escaped field that starts at byte `offset` of the line.
  Result<std::string> Unescape(std::string_view text, std::string_view what,
                               size_t offset) const {
    // Most fields hold no escape; the error context is built only for one.
    if (text.find('%') == std::string_view::npos) return std::string(text);
    return DecodeUri(text,
                     "line " + std::to_string(line_) + ": " + std::string(what),
                     offset);
  }

  // "CODE" or "CODE:rest" of the x, c and m lines; a missing rest is empty.
  Status SplitCode(char letter, std::string_view value, std::string_view* code,
                   std::string_view* rest) const {
    const size_t colon = value.find(':');
    *code = value.substr(0, colon);
    *rest = colon == std::string_view::npos ? value.substr(value.size())
                                            : value.substr(colon + 1);
    if (!IsProtocolCode(*code)) {
      return LineError(LineName(letter) + ": " + Quote(*code) +
                       " is not a code (letters, digits, '-', '_', '.')");
    }
    return Ok();
  }

  Status DecodeDocumentLine(char letter, std::string_view value) {
    const bool nullify = letter == 'N' || letter == 'n';
    int64_t version = 0;
    if (compact_ && !nullify && value.find(':') == std::string_view::npos) {
      // "F:V": the document in force.
      if (track_.document().empty()) {
        return CompactError("F line without a document before");
      }
      if (value.empty()) {
        return LineError(LineName(letter) + ": missing version number");
      }
      if (Status s = Version(letter, value, &version); !s.ok()) return s;
      BeginBlock(track_.document(), nullify, version);
      return Ok();
    }
    std::string_view name = value;
    if (!nullify) {
      if (Status s = SplitVersion(letter, value, &version, &name); !s.ok()) {
        return s;
      }
    }
    Result<std::string> document =
        Unescape(name, "document name", OffsetInLine(value, name));
    if (!document.ok()) return document.status();
    if (document->empty()) {
      return LineError(LineName(letter) + ": empty document name");
    }
    BeginBlock(std::move(*document), nullify, version);
    return Ok();
  }

  void BeginBlock(std::string document, bool nullify, int64_t version) {
    if (compact_ && !named_client_) {
      // The client id in force carries over from the earlier messages.
      client_id_ = track_.client().id;
      echo_ = track_.client().echo;
      named_client_ = true;
    }
    track_.SetDocument(document);
    if (!nullify) track_.SetAck(document, version);
    if (compact_) prev_edit_ = track_.LastEdit(document);
    DocumentBlock& block = message_.documents.emplace_back();
    block.client_id = client_id_;
    block.echo_client_id = echo_;
    block.document = std::move(document);
    block.nullify = nullify;
    block.version = version;
    block_ = message_.documents.size() - 1;
  }

  // Offset within the line of `part`, a view into `value` (which starts at
  // offset 2, after "X:").
  static size_t OffsetInLine(std::string_view value, std::string_view part) {
    return 2 + static_cast<size_t>(part.data() - value.data());
  }

  // The block a content line (edit, c, x, m) belongs to, or nullptr before
  // any F or N line. MobWrite takes the client id in force at each edit, so a
  // u line between an F line and its edits renames a still empty block, and
  // one between edits starts a new block for the same document.
  DocumentBlock* ContentBlock() {
    if (!block_) return nullptr;
    DocumentBlock* block = &message_.documents[*block_];
    if (block->client_id == client_id_ && block->echo_client_id == echo_) {
      return block;
    }
    if (!block->nullify && IsEmpty(*block)) {
      block->client_id = client_id_;
      block->echo_client_id = echo_;
      return block;
    }
    DocumentBlock next;
    next.client_id = client_id_;
    next.echo_client_id = echo_;
    next.document = block->document;
    next.nullify = block->nullify;
    next.version = block->version;
    message_.documents.push_back(std::move(next));
    block_ = message_.documents.size() - 1;
    return &message_.documents.back();
  }

  Status DecodeEdit(char letter, std::string_view value) {
    const bool is_delta = letter == 'd' || letter == 'D';
    if (compact_ && !block_) {
      // The block starts at its first edit: the document in force, one
      // cycle after its last F line.
      const std::optional<int64_t> ack = track_.Ack(track_.document());
      if (track_.document().empty() || !ack) {
        return CompactError("edit without a block, and no earlier block");
      }
      BeginBlock(track_.document(), false, *ack + 1);
    }
    Edit edit;
    std::string_view data;
    if (compact_ && is_delta && StartsAsDelta(value)) {
      if (!prev_edit_) {
        return CompactError("implied version with no earlier edit");
      }
      if (*prev_edit_ >= kMaxWireInteger) {
        return LineError(LineName(letter) + ": implied version past " +
                         std::to_string(kMaxWireInteger));
      }
      edit.version = *prev_edit_ + 1;
      data = value;
    } else if (Status s = SplitVersion(letter, value, &edit.version, &data);
               !s.ok()) {
      return s;
    }
    DocumentBlock* block = ContentBlock();
    if (block == nullptr) {
      return LineError(LineName(letter) + " before any F line");
    }
    if (block->nullify) {
      return LineError(LineName(letter) +
                       " after an N line: edits need an F line");
    }
    SetEditLetter(letter, edit);
    prev_edit_ = edit.version;
    track_.SetLastEdit(block->document, edit.version);
    if (is_delta) {
      edit.data = std::string(data);
      edit.open_end = compact_;
    } else {
      Result<std::string> text =
          Unescape(data, "raw text", OffsetInLine(value, data));
      if (!text.ok()) return text.status();
      edit.data = std::move(*text);
    }
    block->edits.push_back(std::move(edit));
    return Ok();
  }

  Status DecodeChecksum(std::string_view value) {
    if (compact_ && value.find(':') == std::string_view::npos) {
      // "h:C6" checks the edit just before it.
      const std::optional<uint32_t> crc = CrcFromBase64(value);
      if (!crc) return CompactError("checksum is not 6 base64url digits");
      if (!prev_edit_) return CompactError("checksum with no edit before");
      if (!after_edit_) {
        return LineError(
            "h line not right after the d, D, r or R line it checks");
      }
      message_.documents[*block_].edits.back().checksum = *crc;
      return Ok();
    }
    if (!after_edit_) {
      return LineError(
          "h line not right after the d, D, r or R line it checks");
    }
    int64_t version = 0;
    std::string_view hex;
    if (Status s = SplitVersion('h', value, &version, &hex); !s.ok()) return s;
    Edit& edit = message_.documents[*block_].edits.back();
    if (version != edit.version) {
      return LineError("h line: version " + std::to_string(version) +
                       " is not the version of its edit (" +
                       std::to_string(edit.version) + ")");
    }
    if (hex.size() != 8) {
      return LineError("h line: checksum " + Quote(hex) +
                       " is not 8 hexadecimal digits");
    }
    uint32_t crc = 0;
    for (const char c : hex) {
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) {
        return LineError("h line: checksum " + Quote(hex) +
                         " is not 8 hexadecimal digits");
      }
      crc = crc << 4 | static_cast<uint32_t>(digit);
    }
    edit.checksum = crc;
    return Ok();
  }

  Status DecodeConflict(std::string_view value) {
    Conflict conflict;
    std::string_view rest;
    if (Status s = SplitVersion('c', value, &conflict.version, &rest);
        !s.ok()) {
      return s;
    }
    std::string_view reason, hunk;
    if (Status s = SplitCode('c', rest, &reason, &hunk); !s.ok()) {
      return s;
    }
    DocumentBlock* block = ContentBlock();
    if (block == nullptr) return LineError("c line before any F or N line");
    conflict.reason = std::string(reason);
    Result<std::string> text =
        Unescape(hunk, "conflict hunk", OffsetInLine(value, hunk));
    if (!text.ok()) return text.status();
    conflict.hunk = std::move(*text);
    block->conflicts.push_back(std::move(conflict));
    return Ok();
  }

  Status DecodeError(std::string_view value) {
    std::string_view code, text;
    if (Status s = SplitCode('x', value, &code, &text); !s.ok()) {
      return s;
    }
    Result<std::string> message =
        Unescape(text, "error message", OffsetInLine(value, text));
    if (!message.ok()) return message.status();
    DocumentBlock* block = ContentBlock();
    std::vector<Error>& errors =
        block != nullptr ? block->errors : message_.errors;
    errors.push_back({std::string(code), std::move(*message)});
    return Ok();
  }

  Status DecodeMetadata(std::string_view value) {
    std::string_view key, text;
    if (Status s = SplitCode('m', value, &key, &text); !s.ok()) {
      return s;
    }
    Result<std::string> decoded =
        Unescape(text, "metadata value", OffsetInLine(value, text));
    if (!decoded.ok()) return decoded.status();
    DocumentBlock* block = ContentBlock();
    if (block == nullptr) return LineError("m line before any F or N line");
    block->metadata.push_back({std::string(key), std::move(*decoded)});
    return Ok();
  }

  // "ID SIZE INDEX TEXT", as MobWrite's gateway splits long messages.
  Status DecodeFragment(std::string_view value) {
    auto bad = [&](std::string_view why) {
      return LineError("b line: " + std::string(why) +
                       " (expected \"b:ID SIZE INDEX TEXT\")");
    };
    std::string_view fields[3];
    std::string_view rest = value;
    for (std::string_view& field : fields) {
      const size_t space = rest.find(' ');
      if (space == std::string_view::npos) return bad("too few fields");
      field = rest.substr(0, space);
      rest = rest.substr(space + 1);
    }
    if (fields[0].empty()) return bad("empty buffer id");
    const std::optional<int64_t> size = ParseNumber(fields[1]);
    const std::optional<int64_t> index = ParseNumber(fields[2]);
    if (!size || *size < 1) {
      return bad("size " + Quote(fields[1]) + " is not a number from 1");
    }
    if (!index || *index < 1 || *index > *size) {
      return bad("index " + Quote(fields[2]) + " is not a number from 1 to " +
                 std::to_string(*size));
    }
    message_.fragments.push_back(
        {std::string(fields[0]), *size, *index, std::string(rest)});
    return Ok();
  }

  const bool compact_;
  ContextUpdate track_;
  Message message_;
  int64_t line_ = 0;
  std::string client_id_;
  bool echo_ = false;
  // A u or U line was read, or (compact) the one in force taken over.
  bool named_client_ = false;
  std::optional<size_t> block_;  // The block of the last F or N line.
  bool after_edit_ = false;      // The previous known line was an edit.
  bool token_seen_ = false;
  // Compact: the version of the block document's last edit line, which an
  // implied version follows.
  std::optional<int64_t> prev_edit_;
};

// Why a field cannot be encoded, or "" if it can. The encoder adds the
// field's name only on failure, so encoding allocates nothing for names.
std::string Utf8Problem(std::string_view text) {
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return "invalid UTF-8 at offset " + std::to_string(bad);
  }
  return "";
}

// A field written as it is must not end its line early.
std::string UnescapedProblem(std::string_view text) {
  // Deltas and ids are short and ASCII: one pass settles most of them.
  bool plain = true;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\n' || c == '\r') {
      plain = false;
      break;
    }
  }
  if (plain) return "";
  if (size_t at = FindLineBreak(text);
      at != std::string_view::npos) {
    return "line break at offset " + std::to_string(at) +
           " in a field sent unescaped";
  }
  return Utf8Problem(text);
}

std::string NumberProblem(int64_t n, int64_t min) {
  if (n >= min && n <= kMaxWireInteger) return "";
  return std::to_string(n) + " is outside " + std::to_string(min) + ".." +
         std::to_string(kMaxWireInteger);
}

std::string CodeProblem(std::string_view code) {
  if (IsProtocolCode(code)) return "";
  return Quote(code) +
         " is not a code (one or more letters, digits, '-', '_', '.')";
}

std::string Item(std::string_view name, size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

class Encoder {
 public:
  // `context` (may be null) is followed, and with kCompact also written
  // against.
  Encoder(WireForm form, WireContext* context)
      : compact_(form == WireForm::kCompact), track_(context) {
    if (compact_) {
      client_id_ = track_.client().id;
      echo_ = track_.client().echo;
    }
  }

  Result<std::string> Run(const Message& message) {
    out_.reserve(EstimatedSize(message));
    if (!message.token.empty()) {
      if (std::string p = UnescapedProblem(message.token); !p.empty()) {
        return Fail("token", p);
      }
      Line('t', message.token);
    }
    for (size_t i = 0; i < message.errors.size(); ++i) {
      if (Status s = WriteError(message.errors[i], i); !s.ok()) return s;
    }
    for (size_t i = 0; i < message.documents.size(); ++i) {
      block_ = i;
      if (Status s = WriteBlock(message.documents[i]); !s.ok()) return s;
    }
    block_.reset();
    for (size_t i = 0; i < message.fragments.size(); ++i) {
      if (Status s = WriteFragment(message.fragments[i], i); !s.ok()) return s;
    }
    out_ += '\n';
    track_.Commit();
    return std::move(out_);
  }

 private:
  // Enough for the usual message, whose fields need no escapes, so that
  // the output grows once.
  static size_t EstimatedSize(const Message& message) {
    size_t size = 16 + message.token.size();
    for (const DocumentBlock& block : message.documents) {
      size += 48 + block.client_id.size() + block.document.size();
      for (const Edit& edit : block.edits) size += 40 + edit.data.size();
    }
    return size;
  }

  // "documents[2].edits[0].data: <problem>" for field "edits[0].data" of
  // the block being written.
  Status Fail(std::string_view field, std::string_view problem) const {
    std::string path;
    if (block_) {
      path = Item("documents", *block_);
      if (!field.empty()) path += '.';
    }
    path += field;
    return Status::InvalidArgument(path + ": " + std::string(problem));
  }

  void Line(char letter, std::string_view value) {
    out_ += letter;
    out_ += ':';
    out_ += value;
    out_ += '\n';
  }

  // "X:NUMBER:" with the rest of the line still to write.
  void Start(char letter, int64_t number) {
    out_ += letter;
    out_ += ':';
    AppendNumber(number, out_);
    out_ += ':';
  }

  // ":" and the escaped `text`, left out when empty (the decoder reads a
  // missing part as empty).
  void OptionalEscaped(std::string_view text) {
    if (text.empty()) return;
    out_ += ':';
    AppendEncodeUri(text, out_);
  }

  Status WriteBlock(const DocumentBlock& block) {
    bool named_client = false;
    if (block.client_id != client_id_ || block.echo_client_id != echo_) {
      if (std::string p = UnescapedProblem(block.client_id); !p.empty()) {
        return Fail("client_id", p);
      }
      Line(block.echo_client_id ? 'U' : 'u', block.client_id);
      client_id_ = block.client_id;
      echo_ = block.echo_client_id;
      named_client = true;
      track_.SetClient(client_id_, echo_);
    }
    if (block.document.empty()) return Fail("document", "empty");
    // The document in force was checked when it was written.
    if (std::string p = block.document == track_.document()
                            ? std::string()
                            : Utf8Problem(block.document);
        !p.empty()) {
      return Fail("document", p);
    }
    if (block.nullify) {
      if (block.version != 0 || !block.edits.empty()) {
        return Fail("", "a nullify block has no version and no edits");
      }
      out_ += "N:";
      AppendEncodeUri(block.document, out_);
      out_ += '\n';
    } else {
      if (std::string p = NumberProblem(block.version, 0); !p.empty()) {
        return Fail("version", p);
      }
      WriteDocumentLine(block, named_client);
      track_.SetAck(block.document, block.version);
    }
    track_.SetDocument(block.document);
    prev_edit_ = track_.LastEdit(block.document);
    first_block_ = false;
    for (size_t i = 0; i < block.edits.size(); ++i) {
      if (Status s = WriteEdit(block.edits[i], i); !s.ok()) return s;
    }
    for (size_t i = 0; i < block.conflicts.size(); ++i) {
      const Conflict& c = block.conflicts[i];
      if (std::string p = NumberProblem(c.version, 0); !p.empty()) {
        return Fail(Item("conflicts", i) + ".version", p);
      }
      if (std::string p = CodeProblem(c.reason); !p.empty()) {
        return Fail(Item("conflicts", i) + ".reason", p);
      }
      if (std::string p = Utf8Problem(c.hunk); !p.empty()) {
        return Fail(Item("conflicts", i) + ".hunk", p);
      }
      Start('c', c.version);
      out_ += c.reason;
      OptionalEscaped(c.hunk);
      out_ += '\n';
    }
    for (size_t i = 0; i < block.errors.size(); ++i) {
      if (Status s = WriteError(block.errors[i], i); !s.ok()) return s;
    }
    for (size_t i = 0; i < block.metadata.size(); ++i) {
      const Metadata& m = block.metadata[i];
      if (std::string p = CodeProblem(m.key); !p.empty()) {
        return Fail(Item("metadata", i) + ".key", p);
      }
      if (std::string p = Utf8Problem(m.value); !p.empty()) {
        return Fail(Item("metadata", i) + ".value", p);
      }
      out_ += "m:";
      out_ += m.key;
      OptionalEscaped(m.value);
      out_ += '\n';
    }
    return Status();
  }

  // The F line, which the compact form shortens to "F:V" for the document
  // in force, or leaves out for the message's first block when it
  // acknowledges the next version and an edit follows.
  void WriteDocumentLine(const DocumentBlock& block, bool named_client) {
    if (compact_ && block.document == track_.document()) {
      const std::optional<int64_t> ack = track_.Ack(block.document);
      if (first_block_ && !named_client && !block.edits.empty() && ack &&
          *ack + 1 == block.version) {
        return;
      }
      out_ += "F:";
      AppendNumber(block.version, out_);
      out_ += '\n';
      return;
    }
    Start('F', block.version);
    AppendEncodeUri(block.document, out_);
    out_ += '\n';
  }

  Status WriteEdit(const Edit& edit, size_t i) {
    if (std::string p = NumberProblem(edit.version, 0); !p.empty()) {
      return Fail(Item("edits", i) + ".version", p);
    }
    const bool delta = edit.kind == Edit::Kind::kDelta;
    if (std::string p =
            delta ? UnescapedProblem(edit.data) : Utf8Problem(edit.data);
        !p.empty()) {
      return Fail(Item("edits", i) + ".data", p);
    }
    if (edit.open_end) {
      return Fail(Item("edits", i) + ".open_end",
                  "an open-ended delta exists only in the compact form");
    }
    const char letter = EditLetter(edit.kind, edit.overwrite);
    if (compact_ && delta) {
      // The trailing retain is the receiver's to imply, and so is a
      // version that follows the previous edit's.
      const std::string_view data = internal::StripTrailingRetain(edit.data);
      out_ += letter;
      out_ += ':';
      if (!prev_edit_ || *prev_edit_ + 1 != edit.version ||
          !StartsAsDelta(data)) {
        AppendNumber(edit.version, out_);
        out_ += ':';
      }
      out_ += data;
    } else {
      Start(letter, edit.version);
      if (delta) {
        out_ += edit.data;
      } else {
        AppendEncodeUri(edit.data, out_);
      }
    }
    out_ += '\n';
    prev_edit_ = edit.version;
    track_.SetLastEdit(track_.document(), edit.version);
    if (edit.checksum) {
      // The digits go into a buffer and out in one append.
      char digits[9];
      size_t n = 0;
      if (compact_) {
        out_ += "h:";
        for (int shift = 30; shift >= 0; shift -= 6) {
          digits[n++] = kBase64[(*edit.checksum >> shift) & 63];
        }
      } else {
        static constexpr char kHex[] = "0123456789abcdef";
        Start('h', edit.version);
        for (int shift = 28; shift >= 0; shift -= 4) {
          digits[n++] = kHex[(*edit.checksum >> shift) & 0xF];
        }
      }
      digits[n++] = '\n';
      out_.append(digits, n);
    }
    return Status();
  }

  // An x line of the block being written, or of the message.
  Status WriteError(const Error& error, size_t i) {
    if (std::string p = CodeProblem(error.code); !p.empty()) {
      return Fail(Item("errors", i) + ".code", p);
    }
    if (std::string p = Utf8Problem(error.message); !p.empty()) {
      return Fail(Item("errors", i) + ".message", p);
    }
    out_ += "x:";
    out_ += error.code;
    OptionalEscaped(error.message);
    out_ += '\n';
    return Status();
  }

  Status WriteFragment(const BufferFragment& f, size_t i) {
    if (f.id.empty() || f.id.find(' ') != std::string::npos) {
      return Fail(Item("fragments", i) + ".id",
                  Quote(f.id) + " is empty or holds a space");
    }
    if (std::string p = UnescapedProblem(f.id); !p.empty()) {
      return Fail(Item("fragments", i) + ".id", p);
    }
    if (std::string p = NumberProblem(f.size, 1); !p.empty()) {
      return Fail(Item("fragments", i) + ".size", p);
    }
    if (std::string p = NumberProblem(f.index, 1); !p.empty()) {
      return Fail(Item("fragments", i) + ".index", p);
    }
    if (f.index > f.size) {
      return Fail(Item("fragments", i) + ".index", std::to_string(f.index) +
                                                       " is past the size " +
                                                       std::to_string(f.size));
    }
    if (std::string p = UnescapedProblem(f.text); !p.empty()) {
      return Fail(Item("fragments", i) + ".text", p);
    }
    out_ += "b:";
    out_ += f.id;
    out_ += ' ';
    out_ += std::to_string(f.size);
    out_ += ' ';
    out_ += std::to_string(f.index);
    out_ += ' ';
    out_ += f.text;
    out_ += '\n';
    return Status();
  }

  const bool compact_;
  ContextUpdate track_;
  std::string out_;
  std::optional<size_t> block_;  // The block being written.
  // The client id and echo flag the receiver will have in force.
  std::string client_id_;
  bool echo_ = false;
  bool first_block_ = true;
  // Compact: the version of the block document's last edit, which the
  // next edit's may follow implicitly.
  std::optional<int64_t> prev_edit_;
};

}  // namespace

char EditLetter(Edit::Kind kind, bool overwrite) {
  if (kind == Edit::Kind::kDelta) return overwrite ? 'D' : 'd';
  return overwrite ? 'R' : 'r';
}

bool SetEditLetter(char letter, Edit& edit) {
  if (letter != 'd' && letter != 'D' && letter != 'r' && letter != 'R') {
    return false;
  }
  edit.kind =
      letter == 'd' || letter == 'D' ? Edit::Kind::kDelta : Edit::Kind::kRaw;
  edit.overwrite = letter == 'D' || letter == 'R';
  return true;
}

Result<Message> DecodeMessage(std::string_view wire) {
  return Decoder(WireForm::kNormal, nullptr).Run(wire);
}

Result<std::string> EncodeMessage(const Message& message) {
  return Encoder(WireForm::kNormal, nullptr).Run(message);
}

namespace internal {

std::string_view StripTrailingRetain(std::string_view delta) {
  // From the end: digits, then '=' at the start or after a tab. A plain
  // loop: find_first_not_of calls memchr once per digit.
  size_t i = delta.size();
  while (i > 0 && delta[i - 1] >= '0' && delta[i - 1] <= '9') --i;
  if (i == delta.size() || i == 0 || delta[i - 1] != '=') return delta;
  const size_t token = i - 1;
  if (token == 0) return std::string_view();
  if (delta[token - 1] != '\t') return delta;
  return delta.substr(0, token - 1);
}

Result<std::string> EncodeMessage(const Message& message, WireForm form,
                                  WireContext& context) {
  return Encoder(form, &context).Run(message);
}

Result<Message> DecodeMessage(std::string_view wire, WireForm form,
                              WireContext& context) {
  return Decoder(form, &context).Run(wire);
}

}  // namespace internal

bool IsProtocolCode(std::string_view code) {
  if (code.empty()) return false;
  for (const char c : code) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace diffsync::engine
