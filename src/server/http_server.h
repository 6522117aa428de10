// HttpServer: diffsyncd's network side on Boost.Beast. One listener serves
//   /ws             WebSocket: each text message is a protocol request and
//                   is answered in order; pushes arrive between replies;
//   <gateway path>  MobWrite's HTTP gateway: POST with form field q=
//                   (reply as text/plain) or GET ?p= (JSON-P
//                   `mobwrite.callback("…");`), b: buffers included;
//   /healthz        "ok" while the server accepts requests;
//   /metrics        Prometheus text;
//   /, /d/<name>, /assets/...  the browser editor (StaticFiles), if given.
// Everything runs on the io_context's one thread, which is also the
// SyncService's thread.
//
// Thread safety: construct, Start and Shutdown on the io_context's thread
// (or before it runs).
//
// Example:
//   boost::asio::io_context io;
//   HttpServer http(io, service, metrics, {.host = "127.0.0.1", .port = 0});
//   if (Status s = http.Start(); !s.ok()) return s;
//   std::cout << "listening on port " << http.port() << "\n";
//   io.run();
#ifndef DIFFSYNC_SERVER_HTTP_SERVER_H_
#define DIFFSYNC_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "diffsync/status.h"
#include "server/document_list.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/static_files.h"
#include "server/sync_service.h"

namespace diffsync::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string gateway_path = "/scripts/q.py";
  size_t max_message_bytes = size_t{8} << 20;
  // Sizes, rates and timeouts per connection and per peer address.
  ConnectionLimits limits;
  // The browser editor's files (`/`, `/d/<name>`, `/assets/`), or null.
  const StaticFiles* web = nullptr;
  // GET /documents (the editor's document list), or null: not found.
  const DocumentList* documents = nullptr;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, SyncService& service,
             Metrics& metrics, HttpOptions options);
  ~HttpServer();

  // Binds and starts accepting. Errors name the address.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;

  // Stops accepting, lets requests in progress finish and their replies go
  // out, closes WebSockets ("going away"), waits for the store to be
  // durable, then runs `done`.
  void Shutdown(std::function<void()> done);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_HTTP_SERVER_H_
