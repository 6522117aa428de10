// HttpGateway: one protocol exchange with a DiffSync (or MobWrite) server
// over its HTTP gateway: the request is POSTed as the form field q= and the
// reply text comes back. The transport of `diffsync get`, `put` and
// `sync --once`; blocking, one connection per exchange.
//
// Thread safety: an HttpGateway is an immutable value; Exchange may run on
// several threads at once.
//
// Example:
//   Result<HttpGateway> gw = HttpGateway::Parse("http://127.0.0.1:8080");
//   Result<std::string> reply =
//       gw->Exchange("u:me\nF:0:notes\nr:0:\n\n", std::chrono::seconds(10));
//   Result<Exchanged> decoded = gw->ExchangeMessage(message, timeout);
#ifndef DIFFSYNC_CLIENT_HTTP_GATEWAY_H_
#define DIFFSYNC_CLIENT_HTTP_GATEWAY_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "diffsync/engine/protocol.h"
#include "diffsync/status.h"

namespace diffsync::client {

// A decoded reply and the sizes of both messages on the wire.
struct Exchanged {
  engine::Message reply;
  size_t bytes_sent = 0;
  size_t bytes_received = 0;
};

class HttpGateway {
 public:
  // `url` is http://HOST[:PORT][/PATH]; PATH defaults to MobWrite's
  // /scripts/q.py, PORT to 80. kInvalidArgument names what is wrong.
  static Result<HttpGateway> Parse(std::string_view url);

  // Sends `request` (protocol text ending in a blank line) and returns the
  // reply text. Errors: kUnavailable when the server cannot be reached or
  // does not answer within `timeout` (nothing was acknowledged: retry
  // later); kInvalidArgument for an HTTP error status (with the server's
  // message) or a reply that is not UTF-8.
  Result<std::string> Exchange(std::string_view request,
                               std::chrono::milliseconds timeout) const;

  // The same for a decoded message: encodes `request`, exchanges it, and
  // decodes the reply (an undecodable reply is kInvalidArgument naming the
  // server).
  Result<Exchanged> ExchangeMessage(const engine::Message& request,
                                    std::chrono::milliseconds timeout) const;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& path() const { return path_; }
  // http://HOST:PORT/PATH, for messages.
  std::string url() const;

 private:
  std::string host_;
  uint16_t port_ = 80;
  std::string path_;
};

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_HTTP_GATEWAY_H_
