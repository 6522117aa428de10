#include "server/http_server.h"

#include <chrono>
#include <deque>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "server/form.h"

namespace diffsync::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kDrainDeadline(10);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response MakeResponse(const Request& req, http::status status,
                      std::string_view content_type, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "diffsyncd");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

// The path of a request target, without its query.
std::string_view TargetPath(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// The token a request carries outside the protocol: an `Authorization:
// Bearer` header or, for a browser's WebSocket (which cannot set headers),
// an `access_token` query parameter (RFC 6750).
std::string TransportToken(const Request& req) {
  const std::string_view auth = req[http::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() &&
      beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
    return std::string(auth.substr(kBearer.size()));
  }
  const std::string_view target = req.target();
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return "";
  Result<std::string> token =
      FormField(target.substr(question + 1), "access_token");
  return token.ok() ? *token : "";
}

// A gateway reply: 401 when the request had no valid token, 403 when its
// token does not allow it (docs/PROTOCOL.md, "Access control").
Response GatewayResponse(const Request& req, std::string_view reply,
                         std::string_view content_type, std::string body) {
  const bool unauthorized = reply.starts_with("x:unauthorized:");
  const http::status status =
      unauthorized                         ? http::status::unauthorized
      : reply.starts_with("x:forbidden:") ? http::status::forbidden
                                           : http::status::ok;
  Response res = MakeResponse(req, status, content_type, std::move(body));
  if (unauthorized) res.set(http::field::www_authenticate, "Bearer");
  return res;
}

// A WebSocket refused as a whole closes with 1008 (policy violation) and
// the refusal as its reason, "unauthorized: WHY", cut to the 123 bytes a
// close frame holds (at a character boundary).
websocket::close_reason CloseReason(const engine::Error& refusal) {
  std::string reason = refusal.code + ": " + refusal.message;
  if (reason.size() > 123) {
    size_t end = 123;
    while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) {
      --end;
    }
    reason.resize(end);
  }
  return {websocket::close_code::policy_error, reason};
}

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, SyncService& service, Metrics& metrics,
       HttpOptions options)
      : io_(io),
        service_(service),
        metrics_(metrics),
        options_(std::move(options)),
        acceptor_(io) {}

  Status Start();
  uint16_t port() const { return port_; }
  void Shutdown(std::function<void()> done);

 private:
  class WsSession;

  asio::awaitable<void> Accept();
  asio::awaitable<void> ServeHttp(tcp::socket socket);
  asio::awaitable<Response> Route(const Request& req);
  // The service's reply to one request, as an awaitable.
  asio::awaitable<std::string> Sync(std::string request, std::string token);

  // Work that Shutdown waits for: WebSockets open, HTTP requests answering.
  void Busy() { ++busy_; }
  void Idle() {
    if (--busy_ == 0 && stopping_) FinishShutdown();
  }
  void FinishShutdown();

  asio::io_context& io_;
  SyncService& service_;
  Metrics& metrics_;
  HttpOptions options_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  bool stopping_ = false;
  int busy_ = 0;
  std::function<void()> on_stopped_;
  std::unique_ptr<asio::steady_timer> drain_timer_;
  std::map<WsSession*, std::weak_ptr<WsSession>> sockets_;
};

// One WebSocket connection: reads requests, hands them to the service, and
// writes replies and pushes in the order they come.
class HttpServer::Impl::WsSession final
    : public Session,
      public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, Impl& server)
      : ws_(std::move(socket)), server_(server) {}

  asio::awaitable<void> Run(Request req) {
    auto timeouts = websocket::stream_base::timeout::suggested(
        beast::role_type::server);
    timeouts.idle_timeout = std::chrono::seconds(server_.options_.idle_timeout_seconds);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(server_.options_.max_message_bytes);
    ws_.text(true);
    auto [ec] = co_await ws_.async_accept(req, kNoThrow);
    if (ec) co_return;
    token_ = TransportToken(req);
    if (!token_.empty()) {
      if (auto refusal = server_.service_.CheckConnectionToken(token_)) {
        server_.metrics_.RecordError(refusal->code);
        co_await ws_.async_close(CloseReason(*refusal), kNoThrow);
        co_return;
      }
    }
    server_.metrics_.connections().Increment();
    server_.sockets_[this] = weak_from_this();
    server_.Busy();
    beast::flat_buffer buffer;
    for (;;) {
      auto [read_ec, n] = co_await ws_.async_read(buffer, kNoThrow);
      if (read_ec) {
        if (read_ec == websocket::error::message_too_big) {
          server_.metrics_.RecordError("too-large-request");
          spdlog::warn("event=ws-closed reason=message-too-big limit={}",
                       server_.options_.max_message_bytes);
        }
        break;
      }
      // A flat buffer holds the message in one piece: the service reads it
      // in place (it copies what it keeps).
      const asio::const_buffer data = buffer.cdata();
      ++awaiting_;
      server_.service_.Handle(
          std::string_view(static_cast<const char*>(data.data()), data.size()),
          this,
          [self = shared_from_this()](std::string reply) {
            --self->awaiting_;
            self->Send(std::move(reply));
          },
          token_);
      buffer.consume(buffer.size());
    }
    closed_ = true;
    server_.service_.Detach(this);
    server_.sockets_.erase(this);
    server_.metrics_.connections().Decrement();
    server_.Idle();
  }

  void Push(std::string message) override { Send(std::move(message)); }

  // Closes once the replies owed are written.
  void CloseWhenDone() {
    closing_ = true;
    if (!writing_) WriteNext();
  }

 private:
  void Send(std::string message) {
    if (closed_) return;
    if (message.starts_with("x:unauthorized:")) {
      // Nothing this connection sends is accepted: say why, then close.
      Result<engine::Message> refusal = engine::DecodeMessage(message);
      if (refusal.ok() && !refusal->errors.empty()) {
        close_reason_ = CloseReason(refusal->errors.front());
      }
      closing_ = true;
    }
    outbox_.push_back(std::move(message));
    if (!writing_) WriteNext();
  }

  // Writes the outbox one message after the other. A completion handler,
  // not a coroutine: a reply or push to an idle socket (the common case)
  // would otherwise spawn a coroutine frame for one write.
  void WriteNext() {
    if (outbox_.empty() || closed_) {
      FinishWriting();
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(outbox_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) {
                        self->outbox_.clear();
                        self->FinishWriting();
                        return;
                      }
                      self->outbox_.pop_front();
                      self->WriteNext();
                    });
  }

  void FinishWriting() {
    if (closing_ && awaiting_ == 0 && !closed_) {
      closed_ = true;
      writing_ = true;
      ws_.async_close(close_reason_,
                      [self = shared_from_this()](beast::error_code) {
                        self->writing_ = false;
                      });
      return;
    }
    writing_ = false;
  }

  // On the bare socket: the WebSocket stream keeps its own idle timer, and
  // beast::tcp_stream's per-operation timer costs on every message.
  websocket::stream<tcp::socket> ws_;
  Impl& server_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool closing_ = false;
  // The token given when the connection opened (TransportToken).
  std::string token_;
  websocket::close_reason close_reason_{websocket::close_code::going_away};
  bool closed_ = false;
  int awaiting_ = 0;  // Requests whose replies are not yet queued.
};

Status HttpServer::Impl::Start() {
  beast::error_code ec;
  const asio::ip::address address =
      asio::ip::make_address(options_.host, ec);
  if (ec) {
    return Status::InvalidArgument("listen address \"" + options_.host +
                                   "\": " + ec.message());
  }
  const tcp::endpoint endpoint(address, options_.port);
  const std::string where =
      options_.host + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, Accept(), asio::detached);
  return Status::Ok();
}

asio::awaitable<void> HttpServer::Impl::Accept() {
  auto self = shared_from_this();
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // Out of descriptors and the like: log and keep serving the others.
      spdlog::warn("event=accept-failed error=\"{}\"", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(io_, ServeHttp(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::ServeHttp(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_message_bytes);
    parser.header_limit(16 * 1024);
    stream.expires_after(std::chrono::seconds(options_.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      metrics_.RecordError("too-large-request");
      Response res{http::status::payload_too_large, 11};
      res.set(http::field::content_type, "text/plain");
      res.body() = "request larger than " +
                   std::to_string(options_.max_message_bytes) + " bytes\n";
      res.keep_alive(false);
      res.prepare_payload();
      co_await http::async_write(stream, res, kNoThrow);
      break;
    }
    if (ec) break;
    if (websocket::is_upgrade(parser.get())) {
      Request req = parser.release();
      if (TargetPath(req.target()) == "/ws" && !stopping_) {
        stream.expires_never();
        auto session =
            std::make_shared<WsSession>(stream.release_socket(), *this);
        co_await session->Run(std::move(req));
        co_return;
      }
      Response res = MakeResponse(req, http::status::not_found, "text/plain",
                                  "WebSocket endpoint is /ws\n");
      res.prepare_payload();
      co_await http::async_write(stream, res, kNoThrow);
      break;
    }
    Request req = parser.release();
    Busy();
    Response res = co_await Route(req);
    res.keep_alive(req.keep_alive() && !stopping_);
    res.prepare_payload();
    auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
    Idle();
    if (write_ec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<std::string> HttpServer::Impl::Sync(std::string request,
                                                   std::string token) {
  // Not a coroutine itself: g++ 12 frees a coroutine's by-value parameter
  // twice when a lambda in it takes the parameter by move.
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::string)>(
      [this](auto handler, std::string text, std::string bearer) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        service_.Handle(
            text, nullptr,
            [shared](std::string reply) { (*shared)(std::move(reply)); },
            bearer);
      },
      asio::use_awaitable, std::move(request), std::move(token));
}

asio::awaitable<Response> HttpServer::Impl::Route(const Request& req) {
  const std::string_view target = req.target();
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos
                                     ? std::string_view()
                                     : target.substr(question + 1);
  if (path == "/healthz") {
    if (stopping_) {
      co_return MakeResponse(req, http::status::service_unavailable,
                             "text/plain", "stopping\n");
    }
    co_return MakeResponse(req, http::status::ok, "text/plain", "ok\n");
  }
  if (path == "/metrics") {
    co_return MakeResponse(req, http::status::ok,
                           "text/plain; version=0.0.4", metrics_.Render());
  }
  if (path == options_.gateway_path) {
    if (req.method() != http::verb::post && req.method() != http::verb::get) {
      Response res = MakeResponse(req, http::status::method_not_allowed,
                                  "text/plain", "use POST q= or GET ?p=\n");
      res.set(http::field::allow, "GET, POST");
      co_return res;
    }
    // MobWrite: q= answers as text, p= as JSON-P; in the body (POST) or the
    // query string.
    const std::string_view form =
        req.method() == http::verb::post ? std::string_view(req.body()) : query;
    bool jsonp = false;
    Result<std::string> request = FormField(form, "q");
    if (request.status().code() == StatusCode::kNotFound) {
      jsonp = true;
      request = FormField(form, "p");
    }
    if (!request.ok()) {
      metrics_.RecordError("malformed-request");
      std::string why = request.status().code() == StatusCode::kNotFound
                            ? "no q= or p= field\n"
                            : request.status().message() + "\n";
      co_return MakeResponse(req, http::status::bad_request, "text/plain",
                             std::move(why));
    }
    std::string reply = co_await Sync(std::move(*request), TransportToken(req));
    if (jsonp) {
      co_return GatewayResponse(req, reply, "application/javascript",
                                JsonpReply(reply));
    }
    // An empty answer (a b: piece) is one blank line, as MobWrite's q.py.
    if (reply.empty()) reply = "\n";
    co_return GatewayResponse(req, reply, "text/plain", reply);
  }
  if (path == "/documents" && options_.documents != nullptr) {
    // On this thread: one short query on the store's read connection
    // (thread-safe), and a token check that is a pure function.
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    DocumentList::Answer list = options_.documents->Respond(
        BearerToken(req[http::field::authorization]), now);
    co_return MakeResponse(req, static_cast<http::status>(list.status),
                           list.content_type, std::move(list.body));
  }
  if (options_.web != nullptr && (req.method() == http::verb::get ||
                                   req.method() == http::verb::head)) {
    if (const StaticFile* file = options_.web->Find(path)) {
      co_return MakeResponse(req, http::status::ok, file->content_type,
                             file->body);
    }
  }
  if (path == "/") {
    co_return MakeResponse(
        req, http::status::ok, "text/plain",
        "diffsyncd\n  WebSocket  /ws\n  MobWrite   " + options_.gateway_path +
            " (POST q=, GET ?p=)\n  health     /healthz\n  metrics    "
            "/metrics\n");
  }
  co_return MakeResponse(req, http::status::not_found, "text/plain",
                         "not found\n");
}

void HttpServer::Impl::Shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  on_stopped_ = std::move(done);
  beast::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [raw, weak] : sockets_) {
    if (auto socket = weak.lock()) socket->CloseWhenDone();
  }
  drain_timer_ = std::make_unique<asio::steady_timer>(io_, kDrainDeadline);
  drain_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) {
      spdlog::warn("event=drain-deadline busy={}", self->busy_);
      self->FinishShutdown();
    }
  });
  if (busy_ == 0) FinishShutdown();
}

void HttpServer::Impl::FinishShutdown() {
  if (!on_stopped_) return;
  drain_timer_->cancel();
  auto done = std::move(on_stopped_);
  on_stopped_ = nullptr;
  service_.Flush(std::move(done));
}

HttpServer::HttpServer(boost::asio::io_context& io, SyncService& service,
                       Metrics& metrics, HttpOptions options)
    : impl_(std::make_shared<Impl>(io, service, metrics, std::move(options))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Shutdown(std::function<void()> done) {
  impl_->Shutdown(std::move(done));
}

}  // namespace diffsync::server
