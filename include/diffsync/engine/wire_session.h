// WireSession: the protocol codec for one persistent, ordered connection
// (a WebSocket), which may speak the compact form of our extension
// (docs/PROTOCOL.md, "Compact form"): after both ends agreed to it, a
// message leaves out what the receiver already knows from the earlier
// messages of the connection — the client id in force, the document and an
// acknowledgement that is the expected one, edit versions that follow the
// previous ones, the trailing retain of a delta — and writes checksums in
// base64. MobWrite's peers never offer it and so never see it; until both
// ends agreed, and for whatever the compact form cannot shorten, a session
// writes the normal form, which it always reads.
//
// Each end of a connection holds one session, created with the connection
// and dropped with it: the compact form is only understood by the session
// that saw every earlier message of the connection, in order. The client's
// session offers the compact form (an `m:compact` line in its first
// message); the server's accepts it (the same line in its next message).
//
// Thread safety: not thread-safe; one session per connection, used in the
// connection's message order.
//
// Example:
//   WireSession client(WireSession::Role::kClient);
//   WireSession server(WireSession::Role::kServer);
//   Result<std::string> up = client.Encode(request);     // with m:compact
//   Result<Message> in = server.Decode(*up);
//   Result<std::string> down = server.Encode(reply);     // with m:compact
//   Result<Message> back = client.Decode(*down);         // now both compact
#ifndef DIFFSYNC_ENGINE_WIRE_SESSION_H_
#define DIFFSYNC_ENGINE_WIRE_SESSION_H_

#include <memory>
#include <string>
#include <string_view>

#include "diffsync/engine/protocol.h"
#include "diffsync/status.h"

namespace diffsync::engine {

class WireSession {
 public:
  enum class Role {
    kClient,  // Offers the compact form in its first message.
    kServer,  // Accepts an offer in its next message.
  };
  // `compact` false: the session never offers or accepts the compact form
  // and is then exactly EncodeMessage / DecodeMessage.
  explicit WireSession(Role role, bool compact = true);
  ~WireSession();
  WireSession(WireSession&&) noexcept;
  WireSession& operator=(WireSession&&) noexcept;

  // The message as the receiver's session expects it next. Errors as
  // EncodeMessage's.
  Result<std::string> Encode(const Message& message);
  // The next message of the connection, in either form. Errors as
  // DecodeMessage's, and for a compact line the session cannot resolve
  // (e.g. an implied version with no earlier edit to follow). The
  // negotiation's `m:compact` lines are not returned.
  Result<Message> Decode(std::string_view wire);

  // True once both ends agreed on the compact form.
  bool compact() const { return active_; }

 private:
  Role role_;
  bool allow_;
  bool offered_ = false;    // kClient: our offer was sent.
  bool requested_ = false;  // kServer: the client offered.
  bool active_ = false;
  // What each direction of the connection said so far.
  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_WIRE_SESSION_H_
