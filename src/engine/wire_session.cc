#include "diffsync/engine/wire_session.h"

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffsync::engine {
namespace {

constexpr char kCompactKey[] = "compact";
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The lines of a message up to (without) its blank line; CR LF and CR end
// lines too, as in DecodeMessage. `rest` gets what follows the blank line.
std::vector<std::string_view> Lines(std::string_view wire,
                                    std::string_view* rest = nullptr) {
  std::vector<std::string_view> lines;
  size_t at = 0;
  while (at < wire.size()) {
    // A plain loop: find_first_of calls memchr once per byte.
    size_t end = at;
    while (end < wire.size() && wire[end] != '\n' && wire[end] != '\r') ++end;
    const std::string_view line = wire.substr(at, end - at);
    size_t next = end;
    if (next < wire.size()) {
      next +=
          wire[next] == '\r' && next + 1 < wire.size() && wire[next + 1] == '\n'
              ? 2
              : 1;
    }
    if (line.empty() && end < wire.size()) {
      if (rest != nullptr) *rest = wire.substr(next);
      return lines;
    }
    lines.push_back(line);
    at = next;
  }
  if (rest != nullptr) *rest = {};
  return lines;
}

bool IsLine(std::string_view line) {
  return line.size() >= 2 && line[1] == ':';
}

std::optional<int64_t> Number(std::string_view digits) {
  int64_t n = 0;
  if (digits.empty()) return std::nullopt;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return n;
}

// "V:REST" -> V and REST (the value of F, d, D, r, R and h lines).
std::optional<std::pair<int64_t, std::string_view>> VersionAndRest(
    std::string_view value) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::optional<int64_t> v = Number(value.substr(0, colon));
  if (!v) return std::nullopt;
  return std::make_pair(*v, value.substr(colon + 1));
}

bool IsEditLetter(char c) {
  return c == 'd' || c == 'D' || c == 'r' || c == 'R';
}

// A delta without its trailing retain: what the receiver's shadow length
// implies in the compact form.
std::string_view StripTail(std::string_view delta) {
  const size_t tab = delta.rfind('\t');
  const std::string_view last =
      tab == std::string_view::npos ? delta : delta.substr(tab + 1);
  if (last.size() < 2 || last[0] != '=' ||
      last.find_first_not_of("0123456789", 1) != std::string_view::npos) {
    return delta;
  }
  return tab == std::string_view::npos ? std::string_view()
                                       : delta.substr(0, tab);
}

std::string Base64Crc(uint32_t crc) {
  std::string out;
  for (int shift = 30; shift >= 0; shift -= 6)
    out += kBase64[(crc >> shift) & 63];
  return out;
}

std::optional<uint32_t> CrcFromBase64(std::string_view text) {
  if (text.size() != 6) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    const size_t d = kBase64.find(c);
    if (d == std::string_view::npos) return std::nullopt;
    v = (v << 6) | d;
  }
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::string Hex8(uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xF];
  return out;
}

Status Bad(size_t line, std::string_view what) {
  return Status::InvalidArgument("compact form: line " + std::to_string(line) +
                                 ": " + std::string(what));
}

}  // namespace

void WireSession::Track(std::string_view full, Direction& dir) {
  std::string current = dir.document;
  for (const std::string_view line : Lines(full)) {
    if (!IsLine(line)) continue;
    const char letter = line[0];
    const std::string_view value = line.substr(2);
    if (letter == 'u' || letter == 'U') {
      dir.client_line = std::string(line);
    } else if (letter == 'F' || letter == 'f') {
      if (auto vr = VersionAndRest(value)) {
        current = std::string(vr->second);
        dir.last_ack[current] = vr->first;
      }
    } else if (letter == 'N' || letter == 'n') {
      current = std::string(value);
    } else if (IsEditLetter(letter)) {
      if (auto vr = VersionAndRest(value)) dir.last_edit[current] = vr->first;
    }
  }
  dir.document = current;
}

std::string WireSession::Compact(const std::string& full,
                                 std::string* client_line) {
  const std::vector<std::string_view> lines = Lines(full);
  std::string out;
  auto emit = [&out](std::string_view line) {
    out += line;
    out += '\n';
  };
  std::string compact_client = out_.client_line;
  std::string canon_client;  // In force in the normal form.
  std::string doc = out_.document;
  // Versions seen so far, which this message updates as it goes (Track
  // then records the same).
  std::map<std::string, int64_t> last_edit;
  std::map<std::string, int64_t> last_ack;
  auto seen = [](const std::map<std::string, int64_t>& local,
                 const std::map<std::string, int64_t>& before,
                 const std::string& name) -> std::optional<int64_t> {
    if (auto it = local.find(name); it != local.end()) return it->second;
    if (auto it = before.find(name); it != before.end()) return it->second;
    return std::nullopt;
  };
  std::optional<int64_t> prev;
  bool first_block = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const char letter = line[0];
    const std::string_view value = line.substr(2);
    if (letter == 'u' || letter == 'U') {
      canon_client = std::string(line);
      continue;
    }
    if (letter == 'F' || letter == 'N') {
      const bool name_client = canon_client != compact_client;
      if (name_client) {
        emit(canon_client.empty() ? std::string_view("u:") : canon_client);
        compact_client = canon_client;
      }
      std::string name(value);
      if (letter == 'F') {
        const auto vr = VersionAndRest(value);
        name = std::string(vr->second);
        const std::optional<int64_t> ack = seen(last_ack, out_.last_ack, name);
        const bool expected = ack && *ack + 1 == vr->first;
        const bool edit_follows =
            i + 1 < lines.size() && IsEditLetter(lines[i + 1][0]);
        if (first_block && !name_client && edit_follows && name == doc &&
            expected) {
          // Left out: the receiver starts the block at the first edit.
        } else if (name == doc) {
          emit("F:" + std::to_string(vr->first));
        } else {
          emit(line);
        }
        last_ack[name] = vr->first;
      } else {
        emit(line);
      }
      doc = name;
      prev = seen(last_edit, out_.last_edit, doc);
      first_block = false;
      continue;
    }
    if (IsEditLetter(letter)) {
      const auto vr = VersionAndRest(value);
      if (letter == 'd' || letter == 'D') {
        const std::string_view delta = StripTail(vr->second);
        // The codec carries deltas unread: only one that starts as a delta
        // does can go without its version.
        const bool delta_like = delta.empty() || delta[0] == '=' ||
                                delta[0] == '+' || delta[0] == '-';
        std::string compact(1, letter);
        compact += ':';
        if (!prev || *prev + 1 != vr->first || !delta_like) {
          compact += std::to_string(vr->first);
          compact += ':';
        }
        compact += delta;
        emit(compact);
      } else {
        emit(line);
      }
      prev = vr->first;
      last_edit[doc] = vr->first;
      continue;
    }
    if (letter == 'h') {
      const auto vr = VersionAndRest(value);
      uint32_t crc = 0;
      std::from_chars(vr->second.data(), vr->second.data() + vr->second.size(),
                      crc, 16);
      emit("h:" + Base64Crc(crc));
      continue;
    }
    emit(line);
  }
  out += '\n';
  *client_line = compact_client;
  return out;
}

Result<std::string> WireSession::Expand(std::string_view wire) {
  std::string_view rest;
  const std::vector<std::string_view> lines = Lines(wire, &rest);
  std::string out;
  auto emit = [&out](std::string_view line) {
    out += line;
    out += '\n';
  };
  bool named_client = false;
  std::string doc = in_.document;
  std::map<std::string, int64_t> last_edit;  // Updated by this message.
  bool in_block = false;
  std::optional<int64_t> prev;
  auto begin_block = [&](const std::string& name, const std::string& f_line) {
    if (!named_client && !in_.client_line.empty()) emit(in_.client_line);
    named_client = true;
    emit(f_line);
    doc = name;
    in_block = true;
    if (auto e = last_edit.find(doc); e != last_edit.end()) {
      prev = e->second;
    } else if (auto f = in_.last_edit.find(doc); f != in_.last_edit.end()) {
      prev = f->second;
    } else {
      prev.reset();
    }
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (!IsLine(line)) {
      emit(line);
      continue;
    }
    const char letter = line[0];
    const std::string_view value = line.substr(2);
    if (letter == 'u' || letter == 'U') {
      named_client = true;
      emit(line);
    } else if (letter == 'F' || letter == 'f') {
      if (value.find(':') == std::string_view::npos) {
        if (doc.empty()) return Bad(i + 1, "F line without a document before");
        begin_block(doc, "F:" + std::string(value) + ":" + doc);
      } else {
        const auto vr = VersionAndRest(value);
        begin_block(vr ? std::string(vr->second) : doc, std::string(line));
      }
    } else if (letter == 'N' || letter == 'n') {
      begin_block(std::string(value), std::string(line));
    } else if (IsEditLetter(letter)) {
      if (!in_block) {
        auto ack = in_.last_ack.find(doc);
        if (doc.empty() || ack == in_.last_ack.end()) {
          return Bad(i + 1, "edit without a block, and no earlier block");
        }
        begin_block(doc, "F:" + std::to_string(ack->second + 1) + ":" + doc);
      }
      const bool implied = (letter == 'd' || letter == 'D') &&
                           (value.empty() || value[0] == '=' ||
                            value[0] == '+' || value[0] == '-');
      int64_t version = 0;
      if (implied) {
        if (!prev) return Bad(i + 1, "implied version with no earlier edit");
        version = *prev + 1;
        emit(std::string(1, letter) + ":" + std::to_string(version) + ":" +
             std::string(value));
      } else {
        const auto vr = VersionAndRest(value);
        if (vr) version = vr->first;
        emit(line);
      }
      prev = version;
      last_edit[doc] = version;
    } else if (letter == 'h' && value.find(':') == std::string_view::npos) {
      const std::optional<uint32_t> crc = CrcFromBase64(value);
      if (!crc) return Bad(i + 1, "checksum is not 6 base64url digits");
      if (!prev) return Bad(i + 1, "checksum with no edit before");
      emit("h:" + std::to_string(*prev) + ":" + Hex8(*crc));
    } else {
      emit(line);
    }
  }
  out += '\n';
  out += rest;
  return out;
}

Result<std::string> WireSession::Encode(const Message& message) {
  const bool announce = allow_ && !active_ && !message.documents.empty() &&
                        (role_ == Role::kClient ? !offered_ : requested_);
  Result<std::string> full = [&] {
    if (!announce) return EncodeMessage(message);
    Message m = message;
    m.documents[0].metadata.push_back({kCompactKey, ""});
    return EncodeMessage(m);
  }();
  if (!full.ok()) return full.status();
  if (!allow_) return full;
  if (!active_) {
    Track(*full, out_);
    if (announce) {
      if (role_ == Role::kClient) {
        offered_ = true;
      } else {
        active_ = true;
      }
    }
    return full;
  }
  std::string client_line;
  std::string wire = Compact(*full, &client_line);
  Track(*full, out_);
  // The normal form starts each message with no client id in force, the
  // compact form with the previous one: what the receiver has in force is
  // what the compact text left.
  out_.client_line = std::move(client_line);
  return wire;
}

Result<Message> WireSession::Decode(std::string_view wire) {
  const bool expand = active_;
  std::string expanded;
  if (expand) {
    Result<std::string> e = Expand(wire);
    if (!e.ok()) return e.status();
    expanded = std::move(*e);
  }
  const std::string_view full = expand ? std::string_view(expanded) : wire;
  Result<Message> message = DecodeMessage(full);
  if (!message.ok()) return message.status();
  if (allow_) Track(full, in_);
  for (DocumentBlock& block : message->documents) {
    const size_t before = block.metadata.size();
    std::erase_if(block.metadata,
                  [](const Metadata& m) { return m.key == kCompactKey; });
    if (block.metadata.size() != before && allow_) {
      if (role_ == Role::kServer) requested_ = true;
      if (role_ == Role::kClient && offered_) active_ = true;
    }
    if (expand) {
      for (Edit& edit : block.edits) {
        if (edit.kind == Edit::Kind::kDelta) edit.open_end = true;
      }
    }
  }
  return message;
}

}  // namespace diffsync::engine
