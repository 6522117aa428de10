#include "diffsync/client/http_gateway.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "dmp/utf.h"

namespace diffsync::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kDefaultPath = "/scripts/q.py";

}  // namespace

Result<HttpGateway> HttpGateway::Parse(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return Status::InvalidArgument("server URL \"" + std::string(url) +
                                   "\" is not a URL: " +
                                   parsed.error().message());
  }
  if (parsed->scheme() != "http") {
    return Status::InvalidArgument("server URL \"" + std::string(url) +
                                   "\": only http:// is supported");
  }
  HttpGateway gw;
  gw.host_ = std::string(parsed->host_address());
  if (gw.host_.empty()) {
    return Status::InvalidArgument("server URL \"" + std::string(url) +
                                   "\" has no host");
  }
  if (parsed->has_port()) {
    const std::string_view port = parsed->port();
    if (port.empty() || parsed->port_number() == 0) {
      return Status::InvalidArgument("server URL \"" + std::string(url) +
                                     "\": bad port");
    }
    gw.port_ = parsed->port_number();
  }
  const std::string_view path = parsed->encoded_path();
  gw.path_ = path.empty() || path == "/" ? std::string(kDefaultPath)
                                         : std::string(path);
  return gw;
}

std::string HttpGateway::url() const {
  return "http://" + host_ + ":" + std::to_string(port_) + path_;
}

Result<std::string> HttpGateway::Exchange(
    std::string_view request, std::chrono::milliseconds timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) {
    return Status::Unavailable("cannot resolve " + host_ + ": " + ec.message());
  }
  stream.expires_after(timeout);
  stream.connect(endpoints, ec);
  if (ec) {
    return Status::Unavailable("cannot reach " + url() + ": " + ec.message());
  }
  http::request<http::string_body> req{http::verb::post, path_, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "diffsync");
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = "q=" + boost::urls::encode(request, boost::urls::unreserved_chars);
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    // Whether or not the server applied it, nothing was acknowledged.
    return Status::Unavailable("no answer from " + url() + ": " + ec.message());
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  if (res.result() != http::status::ok) {
    std::string body = res.body();
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return Status::InvalidArgument(url() + " answered " +
                                   std::to_string(res.result_int()) + ": " +
                                   body);
  }
  if (Status s = dmp::internal::ValidateUtf8(res.body(), "the reply"); !s.ok()) {
    return s;
  }
  return std::move(res.body());
}

Result<Exchanged> HttpGateway::ExchangeMessage(
    const engine::Message& request, std::chrono::milliseconds timeout) const {
  Result<std::string> wire = engine::EncodeMessage(request);
  if (!wire.ok()) return wire.status();
  Result<std::string> reply = Exchange(*wire, timeout);
  if (!reply.ok()) return reply.status();
  Result<engine::Message> decoded = engine::DecodeMessage(*reply);
  if (!decoded.ok()) {
    return decoded.status().WithContext("the reply of " + url());
  }
  return Exchanged{std::move(*decoded), wire->size(), reply->size()};
}

}  // namespace diffsync::client
