// Limits that diffsyncd keeps per connection and per document, so that one
// abusive client cannot starve the others (docs/PROTOCOL.md, "Limits"):
//   ConnectionLimits  the transport's limits (sizes, rates, timeouts);
//   TokenBucket     a request rate with a burst (per connection);
//   DocumentRoster  the clients that used each document lately, at most N.
// Both take the time as an argument, so tests drive it by hand.
//
// Thread safety: not thread-safe; each is used on the service thread.
//
// Example:
//   TokenBucket bucket(/*per_second=*/20, /*burst=*/40, now);
//   if (!bucket.TryTake(now)) Refuse("rate-limited");
//   DocumentRoster roster(/*max_clients=*/1000, /*window_millis=*/600'000);
//   if (!roster.Admit("notes", "alice", clock.NowMillis())) Refuse(...);
#ifndef DIFFSYNC_SERVER_LIMITS_H_
#define DIFFSYNC_SERVER_LIMITS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace diffsync::server {

// What HttpServer allows one connection and one peer address. A count or
// rate of 0 is no limit.
struct ConnectionLimits {
  // Request line and headers of one HTTP request (431 over it).
  size_t max_header_bytes = 16 * 1024;
  // Open connections from one IP address; one more is answered 429 and
  // closed.
  size_t max_connections_per_ip = 1000;
  // Requests (HTTP requests or WebSocket messages) per second on one
  // connection, with bursts of up to `request_burst`.
  double requests_per_second = 100;
  double request_burst = 200;
  // An HTTP connection waiting this long for its next request is closed.
  int http_idle_seconds = 60;
  // From a request's first byte, its line and headers must arrive within
  // this long, and then its body within `body_timeout_seconds`.
  int header_timeout_seconds = 10;
  int body_timeout_seconds = 60;
  // A WebSocket that sends nothing (not even a pong) this long is closed;
  // it is pinged halfway.
  int ws_idle_seconds = 300;
};

// Starts full with `burst` tokens and regains `per_second` tokens a second,
// never more than `burst`. A rate of 0 means no limit.
class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  TokenBucket(double per_second, double burst, TimePoint now);

  // Takes one token if there is one.
  bool TryTake(TimePoint now);
  // How long until a token is available (zero if one is).
  std::chrono::milliseconds Wait(TimePoint now);

 private:
  void Refill(TimePoint now);

  double per_second_;
  double burst_;
  double tokens_;
  TimePoint last_;
};

// Per document, the client ids that used it within the last
// `window_millis`; a new client is admitted while fewer than `max_clients`
// are there. A client already there is always admitted (its time renewed).
// `max_clients` 0 means no limit (and nothing is kept).
class DocumentRoster {
 public:
  DocumentRoster(size_t max_clients, int64_t window_millis);

  bool Admit(const std::string& document, const std::string& client_id,
             int64_t now_millis);
  // Forgets clients idle past the window, and documents left with none.
  void Prune(int64_t now_millis);
  // Clients of `document` kept: those idle past the window go at the next
  // Prune, or when the document is full.
  size_t ClientsOf(const std::string& document) const;

 private:
  using Clients = std::unordered_map<std::string, int64_t>;  // id -> last use
  void PruneDocument(Clients& clients, int64_t now_millis) const;

  size_t max_clients_;
  int64_t window_millis_;
  std::unordered_map<std::string, Clients> documents_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_LIMITS_H_
