// The HTTP transport (each Send is one blocking exchange through
// HttpGateway) and the parsing of a server URL into both transports'.
#include <condition_variable>
#include <mutex>
#include <optional>

#include "diffsync/client/transport.h"

namespace diffsync::client {
namespace {

constexpr std::string_view kHttp = "http://";
constexpr std::string_view kWs = "ws://";
constexpr std::string_view kDefaultWsPath = "/ws";

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(HttpGateway gateway) : gateway_(std::move(gateway)) {}

  std::string_view name() const override { return "http"; }
  std::string url() const override { return gateway_.url(); }
  bool pushes() const override { return false; }
  bool connected() const override { return connected_; }

  Status Connect(std::chrono::milliseconds) override {
    reply_.reset();
    connected_ = true;
    return Status::Ok();
  }

  void Close() override {
    reply_.reset();
    connected_ = false;
  }

  Status Send(std::string_view message,
              std::chrono::milliseconds timeout) override {
    if (!connected_) return Status::Unavailable("not connected to " + url());
    Result<std::string> reply = gateway_.Exchange(message, timeout);
    if (!reply.ok()) {
      if (reply.status().code() == StatusCode::kUnavailable) Close();
      return reply.status();
    }
    reply_ = std::move(*reply);
    return Status::Ok();
  }

  Result<std::optional<std::string>> Receive(
      std::chrono::milliseconds timeout) override {
    if (reply_) {
      std::optional<std::string> reply = std::move(reply_);
      reply_.reset();
      return reply;
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, timeout, [this] { return woken_; });
    woken_ = false;
    return std::optional<std::string>();
  }

  void Interrupt() override {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    wake_.notify_all();
  }

 private:
  const HttpGateway gateway_;
  bool connected_ = false;
  std::optional<std::string> reply_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;  // Guarded by mu_.
};

}  // namespace

std::string ServerUrl::ws_url() const {
  return "ws://" + host + ":" + std::to_string(port) + ws_path;
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  const bool ws = url.starts_with(kWs);
  if (!ws && !url.starts_with(kHttp)) {
    return Status::InvalidArgument("server URL \"" + std::string(url) +
                                   "\": only http:// and ws:// are supported");
  }
  // A ws:// URL reads as the http:// one of the same host and port.
  const std::string_view rest = url.substr(ws ? kWs.size() : kHttp.size());
  Result<HttpGateway> as_http =
      HttpGateway::Parse(std::string(kHttp) + std::string(rest));
  if (!as_http.ok()) {
    if (!ws) return as_http.status();
    return Status::InvalidArgument(
        "server URL \"" + std::string(url) + "\" is not a usable ws:// URL (" +
        std::string(as_http.status().message()) + ")");
  }
  ServerUrl out{.host = as_http->host(),
                .port = as_http->port(),
                .ws_path = std::string(kDefaultWsPath),
                .gateway = *as_http};
  if (ws) {
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos && rest.size() > slash + 1) {
      out.ws_path = as_http->path();
    }
    Result<HttpGateway> gateway = HttpGateway::Parse(
        std::string(kHttp) + out.host + ":" + std::to_string(out.port));
    if (!gateway.ok()) return gateway.status();
    out.gateway = std::move(*gateway);
  }
  return out;
}

std::unique_ptr<Transport> NewHttpTransport(HttpGateway gateway) {
  return std::make_unique<HttpTransport>(std::move(gateway));
}

}  // namespace diffsync::client
