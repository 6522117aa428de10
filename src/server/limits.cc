#include "server/limits.h"

#include <algorithm>
#include <cmath>

namespace diffsync::server {

TokenBucket::TokenBucket(double per_second, double burst, TimePoint now)
    : per_second_(per_second),
      burst_(std::max(burst, 1.0)),
      tokens_(burst_),
      last_(now) {}

void TokenBucket::Refill(TimePoint now) {
  if (now <= last_) return;
  const std::chrono::duration<double> elapsed = now - last_;
  tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
  last_ = now;
}

bool TokenBucket::TryTake(TimePoint now) {
  if (per_second_ <= 0) return true;
  Refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

std::chrono::milliseconds TokenBucket::Wait(TimePoint now) {
  if (per_second_ <= 0) return std::chrono::milliseconds(0);
  Refill(now);
  if (tokens_ >= 1) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil((1 - tokens_) / per_second_ * 1000)));
}

DocumentRoster::DocumentRoster(size_t max_clients, int64_t window_millis)
    : max_clients_(max_clients), window_millis_(window_millis) {}

void DocumentRoster::PruneDocument(Clients& clients, int64_t now_millis) const {
  std::erase_if(clients, [&](const auto& entry) {
    return now_millis - entry.second > window_millis_;
  });
}

bool DocumentRoster::Admit(const std::string& document,
                           const std::string& client_id, int64_t now_millis) {
  if (max_clients_ == 0) return true;
  Clients& clients = documents_[document];
  if (auto it = clients.find(client_id); it != clients.end()) {
    it->second = now_millis;
    return true;
  }
  // Pruned only when full, so that a request costs one lookup.
  if (clients.size() >= max_clients_) PruneDocument(clients, now_millis);
  if (clients.size() >= max_clients_) return false;
  clients.emplace(client_id, now_millis);
  return true;
}

void DocumentRoster::Prune(int64_t now_millis) {
  for (auto it = documents_.begin(); it != documents_.end();) {
    PruneDocument(it->second, now_millis);
    it = it->second.empty() ? documents_.erase(it) : std::next(it);
  }
}

size_t DocumentRoster::ClientsOf(const std::string& document) const {
  auto it = documents_.find(document);
  return it == documents_.end() ? 0 : it->second.size();
}

}  // namespace diffsync::server
