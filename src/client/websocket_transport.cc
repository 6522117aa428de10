// The WebSocket transport: Beast's stream driven by an io_context of its
// own, run by the calling thread only while a call waits, so that every wait
// has a deadline and Interrupt can end it (a handler posted to the context).
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "diffsync/client/transport.h"

namespace diffsync::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

class WebSocketTransport final : public Transport {
 public:
  explicit WebSocketTransport(const ServerUrl& url)
      : host_(url.host),
        port_(url.port),
        path_(url.ws_path),
        url_(url.ws_url()),
        timer_(io_) {}
  ~WebSocketTransport() override { Close(); }

  std::string_view name() const override { return "ws"; }
  std::string url() const override { return url_; }
  bool pushes() const override { return true; }
  bool connected() const override { return connected_; }

  Status Connect(std::chrono::milliseconds timeout) override {
    Close();
    const auto deadline = SteadyClock::now() + timeout;
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) {
      return Status::Unavailable("cannot resolve " + host_ + ": " +
                                 ec.message());
    }
    ws_.emplace(io_);
    bool done = false;
    asio::async_connect(ws_->next_layer(), endpoints,
                        [&](beast::error_code e, const tcp::endpoint&) {
                          ec = e;
                          done = true;
                        });
    if (!RunUntil(done, deadline)) {
      Close();
      return Status::Unavailable("cannot reach " + url_ + ": timed out");
    }
    if (ec) {
      Close();
      return Status::Unavailable("cannot reach " + url_ + ": " + ec.message());
    }
    // A request is one small write answered by the server: no Nagle delay.
    ws_->next_layer().set_option(tcp::no_delay(true), ec);
    done = false;
    ws_->set_option(
        websocket::stream_base::decorator([](websocket::request_type& req) {
          req.set(beast::http::field::user_agent, "diffsync");
        }));
    ws_->async_handshake(host_ + ":" + std::to_string(port_), path_,
                         [&](beast::error_code e) {
                           ec = e;
                           done = true;
                         });
    if (!RunUntil(done, deadline)) {
      Close();
      return Status::Unavailable("no WebSocket handshake from " + url_ +
                                 ": timed out");
    }
    if (ec) {
      Close();
      if (ec == websocket::error::upgrade_declined) {
        // The server is there and answered, but not with a WebSocket.
        return Status::FailedPrecondition("no WebSocket at " + url_ +
                                          " (the server declined)");
      }
      return Status::Unavailable("no WebSocket handshake from " + url_ + ": " +
                                 ec.message());
    }
    ws_->text(true);
    connected_ = true;
    return Status::Ok();
  }

  void Close() override {
    connected_ = false;
    if (!ws_) return;
    beast::error_code ignored;
    ws_->next_layer().close(ignored);
    // Pending operations refer to the stream: let them finish (aborted)
    // before it goes.
    io_.restart();
    while (reading_ || writing_) {
      if (io_.run_one() == 0) break;
    }
    ws_.reset();
    buffer_.clear();
    read_done_ = false;
  }

  Status Send(std::string_view message,
              std::chrono::milliseconds timeout) override {
    if (!connected_) return Status::Unavailable("not connected to " + url_);
    beast::error_code ec;
    bool done = false;
    writing_ = true;
    ws_->async_write(asio::buffer(message.data(), message.size()),
                     [&](beast::error_code e, size_t) {
                       ec = e;
                       done = true;
                       writing_ = false;
                     });
    if (!RunUntil(done, SteadyClock::now() + timeout)) {
      Close();
      return Status::Unavailable("sending to " + url_ + " timed out");
    }
    if (ec) {
      Close();
      return Status::Unavailable("connection to " + url_ +
                                 " lost: " + ec.message());
    }
    return Status::Ok();
  }

  Result<std::optional<std::string>> Receive(
      std::chrono::milliseconds timeout) override {
    // A timer of an earlier call may still fire: only this call's counts.
    const uint64_t wait = ++wait_;
    timed_out_ = false;
    timer_.expires_after(timeout);
    timer_.async_wait([this, wait](beast::error_code e) {
      if (!e && wait == wait_) timed_out_ = true;
    });
    if (connected_ && !reading_ && !read_done_) {
      reading_ = true;
      ws_->async_read(buffer_, [this](beast::error_code e, size_t) {
        read_error_ = e;
        read_done_ = true;
        reading_ = false;
      });
    }
    io_.restart();
    while (!read_done_ && !timed_out_ && !woken_) {
      if (io_.run_one() == 0) break;
    }
    timer_.cancel();
    if (!read_done_) {
      woken_ = false;  // This wake is used; one that comes later is kept.
      return std::optional<std::string>();
    }
    read_done_ = false;
    if (read_error_) {
      const std::string why = read_error_ == websocket::error::closed
                                  ? "the server closed it"
                                  : read_error_.message();
      Close();
      return Status::Unavailable("connection to " + url_ + " lost: " + why);
    }
    std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return std::optional<std::string>(std::move(text));
  }

  void Interrupt() override {
    asio::post(io_, [this] { woken_ = true; });
  }

 private:
  // Runs handlers until `done` or `deadline`; false if the deadline came
  // first. Interrupts are remembered for the next Receive, not obeyed here:
  // a connect or a write is short and must not be left half done.
  bool RunUntil(const bool& done, SteadyClock::time_point deadline) {
    io_.restart();
    while (!done) {
      if (io_.run_one_until(deadline) == 0 &&
          (io_.stopped() || SteadyClock::now() >= deadline)) {
        return done;
      }
    }
    return true;
  }

  const std::string host_;
  const uint16_t port_;
  const std::string path_;
  const std::string url_;
  asio::io_context io_;
  asio::steady_timer timer_;
  std::optional<websocket::stream<tcp::socket>> ws_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool read_done_ = false;
  beast::error_code read_error_;
  uint64_t wait_ = 0;  // Receive calls, naming their timers.
  bool timed_out_ = false;
  bool woken_ = false;  // Set by Interrupt's handler, on the calling thread.
};

}  // namespace

std::unique_ptr<Transport> NewWebSocketTransport(const ServerUrl& url) {
  return std::make_unique<WebSocketTransport>(url);
}

}  // namespace diffsync::client
