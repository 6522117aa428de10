// The state the compact form is read and written against (docs/PROTOCOL.md,
// "Compact form"), and the codec entry points that follow it. Internal to
// the engine: WireSession holds one WireContext per direction of its
// connection and calls these instead of EncodeMessage / DecodeMessage, so
// that a message is written or read in one pass, in either form.
//
// Thread safety: plain values; one context per direction of one connection.
//
// Example:
//   WireContext sent;
//   Result<std::string> wire = EncodeMessage(m, WireForm::kNormal, sent);
//   // `sent` now knows m's client id, documents and versions; the next
//   // message may be written with WireForm::kCompact against it.
#ifndef DIFFSYNC_ENGINE_WIRE_CONTEXT_H_
#define DIFFSYNC_ENGINE_WIRE_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "diffsync/engine/protocol.h"
#include "diffsync/status.h"

namespace diffsync::engine::internal {

// What one direction of a connection has said so far.
struct WireContext {
  // The `u`/`U` line in force: it stays in force across messages.
  struct Client {
    std::string id;
    bool echo = false;
    friend bool operator==(const Client&, const Client&) = default;
  };
  struct Versions {
    std::optional<int64_t> edit;  // Of the last edit line.
    std::optional<int64_t> ack;   // Of the last F line.
  };
  struct NameHash : std::hash<std::string_view> {
    using is_transparent = void;
  };

  Client client;
  std::string document;  // Of the last block (decoded); "" before any.
  std::unordered_map<std::string, Versions, NameHash, std::equal_to<>>
      documents;
  // documents' entry for `document`, or null (the map's nodes stay put).
  Versions* current = nullptr;
};

enum class WireForm { kNormal, kCompact };

// A delta without its trailing retain ("=N" as the last token, whatever N):
// what the compact form writes, the receiver's shadow length implying the
// rest.
std::string_view StripTrailingRetain(std::string_view delta);

// EncodeMessage, in `form` (kCompact: against `context`); `context` then
// follows what was written. Errors as EncodeMessage's; `context` is
// unchanged by a message that fails.
Result<std::string> EncodeMessage(const Message& message, WireForm form,
                                  WireContext& context);

// DecodeMessage of a message in the normal form, or (kCompact) in either
// form read against `context`, whose deltas are then open-ended; `context`
// then follows what was read. Errors as DecodeMessage's, and for a compact
// line whose context is missing; `context` is unchanged by a message that
// fails.
Result<Message> DecodeMessage(std::string_view wire, WireForm form,
                              WireContext& context);

}  // namespace diffsync::engine::internal

#endif  // DIFFSYNC_ENGINE_WIRE_CONTEXT_H_
