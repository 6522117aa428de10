#include "server/http_server.h"

#include <chrono>
#include <deque>
#include <map>
#include <unordered_map>

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
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "diffsync/engine/protocol.h"
#include "diffsync/engine/wire_session.h"
#include "dmp/utf.h"
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
// Replies and pushes queued for a WebSocket that does not read them: past
// this many the connection is dropped rather than holding them all.
constexpr size_t kMaxOutbox = 1024;

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

// An answer to a request refused by a limit, after which the connection
// closes.
Response Refusal(unsigned version, http::status status, std::string body) {
  Response res{status, version};
  res.set(http::field::server, "diffsyncd");
  res.set(http::field::content_type, "text/plain");
  res.body() = std::move(body);
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

// A rate as people write it: 100, 2.5.
std::string Rate(double per_second) { return fmt::format("{:g}", per_second); }

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
    while (end > 0 && dmp::internal::IsContinuationByte(reason[end])) --end;
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

  class AddressSlot;

  asio::awaitable<void> Accept();
  // `refused`: the peer's address has too many connections; its first
  // request is answered 429 and the connection closed. `slot` counts the
  // connection from the moment it is accepted.
  asio::awaitable<void> ServeHttp(tcp::socket socket,
                                  std::unique_ptr<AddressSlot> slot,
                                  bool refused);

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
  std::unordered_map<asio::ip::address, size_t> connections_per_ip_;
};

// One open connection of an address, counted while it lives. It keeps the
// server alive: a connection's coroutine frame may be destroyed (with the
// io_context) after everything else let the server go.
class HttpServer::Impl::AddressSlot {
 public:
  AddressSlot(std::shared_ptr<Impl> server, asio::ip::address address)
      : server_(std::move(server)), address_(std::move(address)) {
    ++server_->connections_per_ip_[address_];
  }
  ~AddressSlot() {
    auto it = server_->connections_per_ip_.find(address_);
    if (--it->second == 0) server_->connections_per_ip_.erase(it);
  }
  AddressSlot(const AddressSlot&) = delete;
  AddressSlot& operator=(const AddressSlot&) = delete;

 private:
  std::shared_ptr<Impl> server_;
  asio::ip::address address_;
};

// One WebSocket connection: reads requests, hands them to the service, and
// writes replies and pushes in the order they come.
class HttpServer::Impl::WsSession final
    : public Session,
      public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, Impl& server, TokenBucket rate)
      : ws_(std::move(socket)), server_(server), rate_(rate) {}

  asio::awaitable<void> Run(Request req) {
    auto timeouts = websocket::stream_base::timeout::suggested(
        beast::role_type::server);
    timeouts.idle_timeout =
        std::chrono::seconds(server_.options_.limits.ws_idle_seconds);
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
      auto reply = [self = shared_from_this()](std::string text) {
        --self->awaiting_;
        self->Send(std::move(text));
      };
      // Every message is read, refused or not: the compact form is read
      // against all the connection said before.
      Result<engine::Message> request = wire_.Decode(std::string_view(
          static_cast<const char*>(data.data()), data.size()));
      if (!request.ok()) {
        server_.service_.Refuse(reply, "malformed-request",
                                request.status().message());
      } else if (rate_.TryTake(std::chrono::steady_clock::now())) {
        server_.service_.Handle(std::move(*request), data.size(), this,
                                std::move(reply), token_);
      } else {
        server_.service_.Refuse(
            reply, "rate-limited",
            "over " + Rate(server_.options_.limits.requests_per_second) +
                " requests a second; nothing was applied");
      }
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
    if (outbox_.size() >= kMaxOutbox) {
      // It sends but does not read: its replies would pile up here.
      server_.metrics_.RecordError("not-reading");
      spdlog::warn("event=ws-dropped reason=not-reading queued={}",
                   outbox_.size());
      // A write in flight still reads the front message: it stays until
      // the write completes.
      outbox_.erase(writing_ ? outbox_.begin() + 1 : outbox_.begin(),
                    outbox_.end());
      closed_ = true;
      beast::error_code ignored;
      ws_.next_layer().close(ignored);
      return;
    }
    outbox_.push_back(Compact(std::move(message)));
    if (!writing_) WriteNext();
  }

  // The service's replies and pushes are in the normal form; a client that
  // offered the compact form gets them in it. Messages are written in the
  // order they are queued, which is the order the session must see them.
  //
  // A client offers the compact form in its first message with documents,
  // which is read before anything with documents is written to it. So once
  // a message with documents was written and the form is still normal, it
  // stays normal: the session is not asked again (it would only decode and
  // re-encode each message to the same text), and since it then never
  // writes its acceptance, a later offer cannot switch the form either.
  std::string Compact(std::string message) {
    if (message.empty() || normal_only_) return message;
    Result<engine::Message> decoded = engine::DecodeMessage(message);
    if (!decoded.ok()) return message;  // Not ours to shorten.
    Result<std::string> wire = wire_.Encode(*decoded);
    if (!wire.ok()) return message;
    if (!decoded->documents.empty() && !wire_.compact()) normal_only_ = true;
    return std::move(*wire);
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
                      if (ec || self->closed_) {
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
  // The protocol codec of this connection (our clients' compact form).
  engine::WireSession wire_{engine::WireSession::Role::kServer};
  bool normal_only_ = false;  // The client did not offer it (Compact).
  Impl& server_;
  TokenBucket rate_;
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
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) continue;  // Gone already.
    const size_t limit = options_.limits.max_connections_per_ip;
    auto count = connections_per_ip_.find(peer.address());
    const bool refused = limit != 0 && count != connections_per_ip_.end() &&
                         count->second >= limit;
    auto slot = std::make_unique<AddressSlot>(self, peer.address());
    asio::co_spawn(io_, ServeHttp(std::move(socket), std::move(slot), refused),
                   asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::ServeHttp(
    tcp::socket socket, std::unique_ptr<AddressSlot> slot, bool refused) {
  auto self = shared_from_this();
  const ConnectionLimits& limits = options_.limits;
  TokenBucket rate(limits.requests_per_second, limits.request_burst,
                   std::chrono::steady_clock::now());
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_message_bytes);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    // Between requests the idle limit holds; from a request's first byte,
    // the header and then the body limits (so that a client sending a byte
    // now and then cannot hold the connection).
    if (buffer.size() == 0) {
      // A refused connection gets no idle time: it is told and closed.
      stream.expires_after(std::chrono::seconds(
          refused ? limits.header_timeout_seconds : limits.http_idle_seconds));
      auto [read_ec, n] =
          co_await stream.async_read_some(buffer.prepare(4096), kNoThrow);
      if (read_ec) break;
      buffer.commit(n);
    }
    stream.expires_after(std::chrono::seconds(limits.header_timeout_seconds));
    auto [read_ec, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    if (!read_ec && !parser.is_done()) {
      stream.expires_after(std::chrono::seconds(limits.body_timeout_seconds));
      auto [body_ec, body_bytes] =
          co_await http::async_read(stream, buffer, parser, kNoThrow);
      read_ec = body_ec;
    }
    if (read_ec == http::error::body_limit) {
      metrics_.RecordError("too-large-request");
      co_await http::async_write(
          stream,
          Refusal(11, http::status::payload_too_large,
                  "request larger than " +
                      std::to_string(options_.max_message_bytes) +
                      " bytes\n"),
          kNoThrow);
      break;
    }
    if (read_ec == http::error::header_limit) {
      metrics_.RecordError("too-large-header");
      co_await http::async_write(
          stream,
          Refusal(11, http::status::request_header_fields_too_large,
                  "request line and headers larger than " +
                      std::to_string(limits.max_header_bytes) + " bytes\n"),
          kNoThrow);
      break;
    }
    if (read_ec == beast::error::timeout) {
      // The stream closed the socket: nothing can be said any more.
      metrics_.RecordError("slow-request");
      spdlog::info("event=http-closed reason=slow-request");
      break;
    }
    if (read_ec) break;
    if (refused) {
      metrics_.RecordError("too-many-connections");
      co_await http::async_write(
          stream,
          Refusal(parser.get().version(), http::status::too_many_requests,
                  "more than " + std::to_string(limits.max_connections_per_ip) +
                      " connections from your address\n"),
          kNoThrow);
      break;
    }
    if (!rate.TryTake(std::chrono::steady_clock::now())) {
      metrics_.RecordError("rate-limited");
      Response res = MakeResponse(
          parser.get(), http::status::too_many_requests, "text/plain",
          "over " + Rate(limits.requests_per_second) +
              " requests a second on one connection\n");
      const auto wait = rate.Wait(std::chrono::steady_clock::now());
      res.set(http::field::retry_after,
              std::to_string((wait.count() + 999) / 1000));
      res.keep_alive(parser.get().keep_alive() && !stopping_);
      res.prepare_payload();
      auto [write_ec, written] =
          co_await http::async_write(stream, res, kNoThrow);
      if (write_ec || !res.keep_alive()) break;
      continue;
    }
    if (websocket::is_upgrade(parser.get())) {
      Request req = parser.release();
      if (TargetPath(req.target()) == "/ws" && !stopping_) {
        stream.expires_never();
        auto session = std::make_shared<WsSession>(stream.release_socket(),
                                                   *this, rate);
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
