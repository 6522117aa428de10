// Transport: how a client::Client carries whole protocol messages to a
// server and back. Two real ones: a WebSocket to diffsyncd's /ws (the server
// pushes other clients' edits) and MobWrite's HTTP gateway (one exchange per
// request; the client polls). Tests give the client a fake one: no sockets,
// no real time.
//
// The WebSocket transport is the only code of the client library that
// includes Boost.Beast's WebSocket headers (they cost about a minute of
// compile time per translation unit); everything else sees this interface.
//
// Thread safety: one thread calls a transport's methods, except Interrupt,
// which any thread may call at any time.
//
// Example:
//   Result<ServerUrl> url = ParseServerUrl("http://127.0.0.1:8080");
//   std::unique_ptr<Transport> ws = NewWebSocketTransport(*url);
//   if (Status s = ws->Connect(std::chrono::seconds(10)); !s.ok()) ...
//   ws->Send("u:me\nF:0:notes\nr:0:\n\n", std::chrono::seconds(10));
//   Result<std::optional<std::string>> reply =
//       ws->Receive(std::chrono::seconds(10));  // nullopt: nothing yet
#ifndef DIFFSYNC_CLIENT_TRANSPORT_H_
#define DIFFSYNC_CLIENT_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "diffsync/client/http_gateway.h"
#include "diffsync/status.h"

namespace diffsync::client {

// Where a server's two transports are, from the one URL a user gives:
//   http://HOST[:PORT][/GATEWAY_PATH]: WebSocket ws://HOST:PORT/ws, HTTP
//     gateway as given (default path /scripts/q.py);
//   ws://HOST[:PORT][/PATH]: WebSocket as given (default path /ws), HTTP
//     gateway http://HOST:PORT/scripts/q.py.
struct ServerUrl {
  std::string host;
  uint16_t port = 80;
  std::string ws_path;
  HttpGateway gateway;

  // ws://HOST:PORT/PATH.
  std::string ws_url() const;
};

// Errors (kInvalidArgument) name what is wrong: not a URL, a scheme other
// than http:// or ws://, no host, a bad port.
Result<ServerUrl> ParseServerUrl(std::string_view url);

class Transport {
 public:
  virtual ~Transport() = default;

  // "ws" or "http", for status lines.
  virtual std::string_view name() const = 0;
  // The URL it talks to, for messages.
  virtual std::string url() const = 0;
  // True if the server sends edits unasked over this transport (pushes);
  // false if the client must poll.
  virtual bool pushes() const = 0;

  // Opens a connection (closing any), within `timeout`. Errors:
  // kUnavailable naming the URL and why (cannot reach it, no answer in
  // time); kFailedPrecondition when the server answered but offers no
  // WebSocket there (a client may then use another transport).
  virtual Status Connect(std::chrono::milliseconds timeout) = 0;
  virtual bool connected() const = 0;
  // Closes the connection; messages not yet received are lost.
  virtual void Close() = 0;

  // Sends one message (protocol text ending in a blank line). Errors:
  // kUnavailable when not connected or the connection failed (it is then
  // closed; nothing is acknowledged); kInvalidArgument when the server
  // refused it outright (an HTTP error status, with the server's message).
  virtual Status Send(std::string_view message,
                      std::chrono::milliseconds timeout) = 0;
  // The next message from the server (a reply, or a push), waiting at most
  // `timeout`, also while not connected (then it only waits); nullopt when
  // nothing came in time or Interrupt ended the wait. Errors: kUnavailable
  // when the connection was lost (it is then closed).
  virtual Result<std::optional<std::string>> Receive(
      std::chrono::milliseconds timeout) = 0;

  // Ends a Receive in progress, or else makes the next one return at once.
  // Thread-safe.
  virtual void Interrupt() = 0;
};

// A WebSocket to `url.ws_url()`, one text message per protocol message.
std::unique_ptr<Transport> NewWebSocketTransport(const ServerUrl& url);
// MobWrite's HTTP gateway: Send exchanges the message (a POST of q=) and
// keeps the reply for Receive; Connect only marks it usable.
std::unique_ptr<Transport> NewHttpTransport(HttpGateway gateway);

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_TRANSPORT_H_
