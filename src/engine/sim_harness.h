// Internal, for tests: one Server and several ClientDocuments joined by a
// simulated faulty network, driven tick by tick from a seed.
//
// The network carries the real wire text (EncodeMessage / DecodeMessage) and
// can drop, duplicate, delay (and so reorder) messages in both directions,
// deliver a message after its sender gave up on it, cut clients off for a
// while, and make the server's store refuse a commit (the server then
// answers nothing). Clients behave as MobWrite's: at most one request in
// flight; a request unanswered within the timeout is abandoned and the next
// one carries the whole unacknowledged stack again. Like an HTTP client, a
// client's transport discards a reply to a request it abandoned, so every
// reply the engine sees answers the client's latest request; the server, on
// the other hand, sees every copy of every request the network delivers.
//
// Everything is deterministic for a given seed and configuration, so a
// failing run is replayed exactly with DIFFSYNC_SEED (and traced message by
// message with DIFFSYNC_SIM_VERBOSE=1).
//
// Thread safety: none; one Simulation per thread.
//
// Example:
//   sim::Simulation s(seed, {.clients = 3, .faults = sim::Faults::Harsh()});
//   for (int t = 0; t < 100; ++t) {
//     s.rng().Chance(0.3) && s.doc(0).Replace(0, 0, "x").ok();
//     s.Tick();
//   }
//   s.Heal();
//   int rounds = s.SyncUntilConverged(3);  // -1 if it did not converge
#ifndef DIFFSYNC_SRC_ENGINE_SIM_HARNESS_H_
#define DIFFSYNC_SRC_ENGINE_SIM_HARNESS_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "diffsync/engine/text.h"
#include "diffsync/status.h"

namespace diffsync::engine::sim {

// A non-negative integer from the environment, or nullopt when unset or
// not a number.
inline std::optional<uint64_t> EnvNumber(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(value, &end, 10);
  if (*end != '\0') return std::nullopt;
  return static_cast<uint64_t>(n);
}

// DIFFSYNC_SIM_VERBOSE=1 traces every message; 2 also every text after it.
inline int Verbosity() {
  return static_cast<int>(EnvNumber("DIFFSYNC_SIM_VERBOSE").value_or(0));
}

// The seeds a test runs: DIFFSYNC_SEED alone replays one seed; otherwise
// DIFFSYNC_SIM_SEEDS (default `default_count`) seeds from
// DIFFSYNC_SIM_FIRST_SEED (default 1), so that long runs can be split.
inline std::vector<uint64_t> SeedsToRun(uint64_t default_count) {
  if (std::optional<uint64_t> seed = EnvNumber("DIFFSYNC_SEED")) return {*seed};
  const uint64_t count = EnvNumber("DIFFSYNC_SIM_SEEDS").value_or(default_count);
  const uint64_t first = EnvNumber("DIFFSYNC_SIM_FIRST_SEED").value_or(1);
  std::vector<uint64_t> seeds;
  seeds.reserve(count);
  for (uint64_t i = 0; i < count; ++i) seeds.push_back(first + i);
  return seeds;
}

// A seeded generator whose sequence depends only on the seed (the standard
// distributions are not portable, so none is used).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    // SplitMix64 spreads nearby seeds apart.
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    engine_.seed(z ^ (z >> 31));
  }
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return engine_() % n; }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// What goes wrong, per message or per tick.
struct Faults {
  double drop = 0;       // A message is lost.
  double duplicate = 0;  // A message is delivered twice (each copy delayed).
  int64_t max_delay = 1;  // Ticks in flight, uniform in [1, max_delay].
  // A message is held past its sender's timeout (up to 3 timeouts), so it
  // arrives after the sender gave up and sent newer ones.
  double late = 0;
  double disconnect = 0;  // A client is cut off, per client per tick...
  int64_t max_offline = 0;  // ...for up to this many ticks.
  double store_failure = 0;  // The server's store refuses a request's commit.

  static Faults None() { return {}; }
  // Ranges wide enough that every fault happens in a short run.
  static Faults Random(Rng& rng) {
    Faults f;
    f.drop = 0.02 * static_cast<double>(rng.Between(0, 15));
    f.duplicate = 0.02 * static_cast<double>(rng.Between(0, 10));
    f.max_delay = rng.Between(1, 6);
    f.late = 0.01 * static_cast<double>(rng.Between(0, 8));
    f.disconnect = 0.002 * static_cast<double>(rng.Between(0, 5));
    f.max_offline = rng.Between(5, 60);
    f.store_failure = 0.01 * static_cast<double>(rng.Between(0, 5));
    // To tell the failures that need a request to arrive after a newer one
    // from the rest (docs/TESTING.md).
    if (EnvNumber("DIFFSYNC_SIM_NO_LATE_COPIES").value_or(0) != 0) {
      f.duplicate = 0;
      f.late = 0;
    }
    return f;
  }
  static Faults Harsh() {
    return {.drop = 0.2, .duplicate = 0.15, .max_delay = 5, .late = 0.05,
            .disconnect = 0.005, .max_offline = 40, .store_failure = 0.03};
  }
  int64_t timeout() const { return 2 * max_delay + 2; }
};

inline std::ostream& operator<<(std::ostream& os, const Faults& f) {
  return os << "drop=" << f.drop << " duplicate=" << f.duplicate
            << " max_delay=" << f.max_delay << " late=" << f.late
            << " disconnect=" << f.disconnect << " max_offline=" << f.max_offline
            << " store_failure=" << f.store_failure;
}

// A MemoryStore whose next Commit can be made to fail (and store nothing).
class FlakyStore final : public Store {
 public:
  Result<std::optional<DocumentRecord>> LoadDocument(
      const std::string& name) override {
    return inner_.LoadDocument(name);
  }
  Result<std::optional<ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override {
    return inner_.LoadView(client_id, document);
  }
  Result<std::vector<ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override {
    return inner_.LoadChanges(document, from_revision);
  }
  Result<std::optional<LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override {
    return inner_.LoadLink(link_id, document);
  }
  Status Commit(WriteBatch batch) override {
    if (fail_next_) {
      fail_next_ = false;
      return Status::Unavailable("simulated store failure");
    }
    return inner_.Commit(std::move(batch));
  }
  void FailNextCommit() { fail_next_ = true; }

 private:
  MemoryStore inner_;
  bool fail_next_ = false;
};

// Counts over a run (or summed over runs).
struct NetStats {
  int64_t requests = 0;  // Requests clients sent.
  int64_t replies = 0;   // Replies clients accepted.
  int64_t dropped = 0;
  int64_t duplicated = 0;
  int64_t late = 0;
  int64_t stale_replies = 0;  // Replies to abandoned requests, discarded.
  int64_t timeouts = 0;
  int64_t disconnects = 0;
  int64_t store_failures = 0;
  int64_t client_resyncs = 0;        // Replies that put a client out of step.
  int64_t client_dropped_hunks = 0;  // Client hunks that lost to the server's.
  int64_t conflicts_reported = 0;    // c: lines clients received (distinct).
  int64_t pushes_applied = 0;  // Pushes a client applied (it was idle).
  // Pushes that came while a request was out, or were made before the
  // client's latest request reached the server.
  int64_t pushes_ignored = 0;

  NetStats& operator+=(const NetStats& o) {
    requests += o.requests;
    replies += o.replies;
    dropped += o.dropped;
    duplicated += o.duplicated;
    late += o.late;
    stale_replies += o.stale_replies;
    timeouts += o.timeouts;
    disconnects += o.disconnects;
    store_failures += o.store_failures;
    client_resyncs += o.client_resyncs;
    client_dropped_hunks += o.client_dropped_hunks;
    conflicts_reported += o.conflicts_reported;
    pushes_applied += o.pushes_applied;
    pushes_ignored += o.pushes_ignored;
    return *this;
  }
};

inline std::ostream& operator<<(std::ostream& os, const NetStats& s) {
  return os << "requests " << s.requests << ", replies " << s.replies
            << ", dropped " << s.dropped << ", duplicated " << s.duplicated
            << ", late " << s.late << ", stale replies " << s.stale_replies
            << ", timeouts " << s.timeouts << ", disconnects " << s.disconnects
            << ", store failures " << s.store_failures << ", client resyncs "
            << s.client_resyncs << ", client dropped hunks "
            << s.client_dropped_hunks << ", conflicts reported "
            << s.conflicts_reported << ", pushes applied " << s.pushes_applied
            << ", pushes ignored " << s.pushes_ignored;
}

inline void Accumulate(Server::Stats& total, const Server::Stats& s) {
  total.exact_hunks += s.exact_hunks;
  total.dropped_hunks += s.dropped_hunks;
  total.diffed_merges += s.diffed_merges;
  total.resyncs += s.resyncs;
}

inline std::string Format(const Server::Stats& s) {
  return "exact hunks " + std::to_string(s.exact_hunks) + ", dropped hunks " +
         std::to_string(s.dropped_hunks) + ", diffed merges " +
         std::to_string(s.diffed_merges) + ", resyncs " +
         std::to_string(s.resyncs);
}

struct Options {
  int clients = 2;
  std::string document = "doc";
  Faults faults;
  ClientOptions client;
  ServerOptions server;
  // A client idle this many ticks (drawn per client in [1, max_poll]) syncs
  // even if nobody asked it to, as MobWrite's clients poll.
  int64_t max_poll = 8;
  // After each request, the server pushes the document's news to the other
  // clients (Server::Push), over the same faulty network; a client applies a
  // push only when it has no request in flight, as docs/PROTOCOL.md says.
  bool pushes = false;
};

class Simulation {
 public:
  // Called after a client handled a reply, with what it did to its text.
  using ReplyHook = std::function<void(int client, const ReplyEffects&)>;

  Simulation(uint64_t seed, Options options)
      : rng_(seed),
        push_rng_(~seed),
        options_(std::move(options)),
        server_(store_, clock_, options_.server),
        verbosity_(Verbosity()) {
    for (int i = 0; i < options_.clients; ++i) {
      clients_.push_back(
          Client("c" + std::to_string(i),
                 ClientDocument(options_.document, options_.client),
                 rng_.Between(1, options_.max_poll)));
    }
  }

  Rng& rng() { return rng_; }
  Server& server() { return server_; }
  int clients() const { return static_cast<int>(clients_.size()); }
  ClientDocument& doc(int i) { return clients_[i].doc; }
  const std::string& client_id(int i) const { return clients_[i].id; }
  // The c: lines client `i` received, each once.
  const std::set<std::tuple<int64_t, std::string, std::string>>& conflicts(
      int i) const {
    return clients_[i].conflicts;
  }
  // The client's own hunks that lost to the server's, as it was told.
  const std::vector<std::string>& dropped(int i) const {
    return clients_[i].dropped;
  }
  const NetStats& stats() const { return stats_; }
  int64_t now() const { return now_; }
  // The first failure (an engine error or a broken invariant), if any; the
  // simulation stops doing anything once one happened.
  const std::optional<std::string>& failure() const { return failure_; }
  void set_reply_hook(ReplyHook hook) { reply_hook_ = std::move(hook); }
  void set_faults(const Faults& faults) { options_.faults = faults; }

  // Asks client `i` to sync as soon as it has no request in flight.
  void RequestSync(int i) { clients_[i].wants_sync = true; }

  // One unit of time: messages due are delivered, clients time out, poll,
  // drop off and come back.
  void Tick() {
    if (failure_) return;
    ++now_;
    clock_.Advance(std::chrono::milliseconds(1000));
    while (!in_flight_.empty() && in_flight_.top().deliver_at <= now_ &&
           !failure_) {
      Packet p = in_flight_.top();
      in_flight_.pop();
      Deliver(p);
    }
    for (int i = 0; i < clients() && !failure_; ++i) {
      Client& c = clients_[i];
      if (c.offline_until > now_) continue;
      if (options_.faults.disconnect > 0 &&
          rng_.Chance(options_.faults.disconnect)) {
        ++stats_.disconnects;
        c.offline_until = now_ + rng_.Between(1, options_.faults.max_offline);
        c.awaiting = false;  // The connection, and its request, are gone.
        Log("client " + c.id + " disconnected until " +
            std::to_string(c.offline_until));
        continue;
      }
      if (c.awaiting && now_ - c.sent_at > options_.faults.timeout()) {
        ++stats_.timeouts;
        c.awaiting = false;
        c.wants_sync = true;  // Resend the unacknowledged stack at once.
      }
      if (!c.awaiting && !draining_ &&
          (c.wants_sync || now_ - c.last_sync >= c.poll)) {
        SendRequest(i);
      }
    }
  }

  // From now on the network is perfect and every client is online.
  void Heal() {
    options_.faults = Faults::None();
    for (Client& c : clients_) c.offline_until = 0;
  }

  // Delivers everything still in flight (late copies included) without
  // starting new requests; then no request is in flight.
  void Drain() {
    draining_ = true;
    while (!in_flight_.empty() && !failure_) Tick();
    for (Client& c : clients_) c.awaiting = false;
    draining_ = false;
  }

  // One synchronous cycle of client `i` over a perfect wire.
  void SyncNow(int i) {
    if (failure_) return;
    immediate_ = true;
    SendRequest(i);
    immediate_ = false;
  }

  // True if every client is in sync and holds the server's text.
  bool Converged() {
    std::optional<Text> text = server_.DocumentText(options_.document);
    if (!text) return false;
    for (Client& c : clients_) {
      if (!c.doc.in_sync() || !(c.doc.text() == *text)) return false;
    }
    return true;
  }

  // After Heal: drains the network, then runs rounds in which every client
  // syncs once, in order, until Converged. Returns the number of rounds, or
  // -1 if `max_rounds` were not enough.
  int SyncUntilConverged(int max_rounds) {
    Drain();
    for (int round = 1; round <= max_rounds && !failure_; ++round) {
      for (int i = 0; i < clients(); ++i) SyncNow(i);
      if (Converged()) return round;
    }
    return -1;
  }

 private:
  struct Client {
    Client(std::string id_in, ClientDocument doc_in, int64_t poll_in)
        : id(std::move(id_in)), doc(std::move(doc_in)), poll(poll_in) {}
    std::string id;
    ClientDocument doc;
    int64_t poll = 1;
    bool awaiting = false;
    uint64_t request_id = 0;  // Of the latest request.
    int64_t sent_at = 0;
    int64_t last_sync = 0;
    int64_t offline_until = 0;
    bool wants_sync = false;
    std::set<std::tuple<int64_t, std::string, std::string>> conflicts;
    std::vector<std::string> dropped;  // Own hunks that lost (patch text).
  };

  struct Packet {
    int64_t deliver_at = 0;
    uint64_t order = 0;  // Ties break by send order, for determinism.
    bool to_server = true;
    int client = 0;
    uint64_t request_id = 0;
    bool push = false;
    std::string wire;
    bool operator>(const Packet& o) const {
      return std::tie(deliver_at, order) > std::tie(o.deliver_at, o.order);
    }
  };

  void Fail(std::string what) {
    if (!failure_) failure_ = "t=" + std::to_string(now_) + ": " + what;
  }

  void Log(const std::string& line) {
    if (verbosity_ > 0) std::cerr << "[t=" << now_ << "] " << line << "\n";
  }

  static std::string Printable(std::string_view wire) {
    std::string out;
    for (char ch : wire) {
      if (ch == '\n') {
        out += "\\n";
      } else if (ch == '\t') {
        out += "\\t";
      } else {
        out += ch;
      }
    }
    return out;
  }

  void Send(Packet p) {
    const Faults& f = options_.faults;
    const bool offline = clients_[p.client].offline_until > now_;
    if (offline || (f.drop > 0 && rng_.Chance(f.drop))) {
      ++stats_.dropped;
      Log(std::string(p.to_server ? "request" : "reply") + " of " +
          clients_[p.client].id + " lost");
      return;
    }
    const int copies = f.duplicate > 0 && rng_.Chance(f.duplicate) ? 2 : 1;
    if (copies == 2) ++stats_.duplicated;
    for (int k = 0; k < copies; ++k) {
      Packet copy = p;
      copy.deliver_at = now_ + rng_.Between(1, f.max_delay);
      if (f.late > 0 && rng_.Chance(f.late)) {
        ++stats_.late;
        copy.deliver_at = now_ + rng_.Between(f.timeout() + 1, 3 * f.timeout());
      }
      copy.order = next_order_++;
      in_flight_.push(std::move(copy));
    }
  }

  void SendRequest(int i) {
    Client& c = clients_[i];
    Message request;
    request.documents.push_back(c.doc.MakeRequest());
    request.documents.back().client_id = c.id;
    Result<std::string> wire = EncodeMessage(request);
    if (!wire.ok()) {
      return Fail("encoding a request of " + c.id + ": " +
                  wire.status().ToString());
    }
    ++stats_.requests;
    c.awaiting = true;
    c.wants_sync = false;
    c.sent_at = now_;
    c.last_sync = now_;
    ++c.request_id;
    Log("request " + std::to_string(c.request_id) + " of " + c.id + ": " +
        Printable(*wire));
    Packet p{.to_server = true, .client = i, .request_id = c.request_id,
             .wire = std::move(*wire)};
    if (immediate_) {
      ServerReceives(p);
    } else {
      Send(std::move(p));
    }
  }

  void Deliver(const Packet& p) {
    if (p.to_server) return ServerReceives(p);
    if (clients_[p.client].offline_until > now_) {
      ++stats_.dropped;
      return;
    }
    ClientReceives(p);
  }

  void ServerReceives(const Packet& p) {
    Client& c = clients_[p.client];
    Result<Message> request = DecodeMessage(p.wire);
    if (!request.ok()) {
      return Fail("server cannot decode a request of " + c.id + ": " +
                  request.status().ToString());
    }
    if (options_.faults.store_failure > 0 &&
        rng_.Chance(options_.faults.store_failure)) {
      ++stats_.store_failures;
      store_.FailNextCommit();
    }
    Result<Message> reply = server_.Handle(*request);
    if (Status s = server_.CheckInvariants(); !s.ok()) {
      return Fail("server invariants after a request of " + c.id + ": " +
                  s.ToString());
    }
    if (!reply.ok()) {
      Log("server failed a request of " + c.id + ": " +
          reply.status().ToString());
      return;  // Nothing acknowledged; the client times out and resends.
    }
    Result<std::string> wire = EncodeMessage(*reply);
    if (!wire.ok()) {
      return Fail("encoding a reply to " + c.id + ": " +
                  wire.status().ToString());
    }
    Log("reply to request " + std::to_string(p.request_id) + " of " + c.id +
        ": " + Printable(*wire));
    if (verbosity_ > 1) {
      Log("  document: " + Printable(server_.DocumentText(options_.document)
                                         .value_or(Text())
                                         .ToString()));
    }
    Packet back{.to_server = false, .client = p.client,
                .request_id = p.request_id, .wire = std::move(*wire)};
    if (immediate_) {
      ClientReceives(back);
    } else {
      Send(std::move(back));
    }
    if (options_.pushes) PushToOthers(p.client);
  }

  void PushToOthers(int sender) {
    for (int j = 0; j < clients() && !failure_; ++j) {
      if (j == sender) continue;
      // Pushes fail commits from a stream of their own, so that what every
      // seed does before its first failed push stays as it was.
      if (options_.faults.store_failure > 0 &&
          push_rng_.Chance(options_.faults.store_failure)) {
        ++stats_.store_failures;
        store_.FailNextCommit();
      }
      Result<Message> push = server_.Push(clients_[j].id, options_.document);
      if (Status s = server_.CheckInvariants(); !s.ok()) {
        return Fail("server invariants after a push to " + clients_[j].id +
                    ": " + s.ToString());
      }
      if (!push.ok()) {
        Log("server failed a push to " + clients_[j].id);
        continue;
      }
      if (push->documents.empty()) continue;
      Result<std::string> wire = EncodeMessage(*push);
      if (!wire.ok()) return Fail("encoding a push: " + wire.status().ToString());
      Log("push to " + clients_[j].id + ": " + Printable(*wire));
      Packet p{.to_server = false, .client = j, .push = true,
               .wire = std::move(*wire)};
      if (immediate_) {
        ClientReceives(p);
      } else {
        Send(std::move(p));
      }
    }
  }

  void ClientReceives(const Packet& p) {
    Client& c = clients_[p.client];
    if (p.push && c.awaiting) {
      ++stats_.pushes_ignored;
      Log("push to " + c.id + " ignored: a request is in flight");
      return;
    }
    if (!p.push && (!c.awaiting || p.request_id != c.request_id)) {
      ++stats_.stale_replies;
      Log("stale reply to " + c.id + " discarded");
      return;
    }
    Result<Message> reply = DecodeMessage(p.wire);
    if (!reply.ok()) return Fail(c.id + " cannot decode a reply: " +
                                 reply.status().ToString());
    if (reply->documents.size() != 1) {
      return Fail(c.id + " got a reply with " +
                  std::to_string(reply->documents.size()) + " blocks");
    }
    if (!p.push) {
      c.awaiting = false;
      ++stats_.replies;
    }
    Result<ReplyEffects> fx = c.doc.HandleReply(reply->documents[0]);
    if (!fx.ok()) return Fail(c.id + " failed a reply: " + fx.status().ToString());
    if (fx->push_ignored) {
      ++stats_.pushes_ignored;
      Log("push to " + c.id + " ignored: made before its latest request");
    } else if (p.push) {
      ++stats_.pushes_applied;
    }
    if (Status s = c.doc.CheckInvariants(); !s.ok()) {
      return Fail(c.id + " invariants after a reply: " + s.ToString());
    }
    if (fx->resync) ++stats_.client_resyncs;
    stats_.client_dropped_hunks +=
        static_cast<int64_t>(fx->dropped_hunks.size());
    c.dropped.insert(c.dropped.end(), fx->dropped_hunks.begin(),
                     fx->dropped_hunks.end());
    for (const Conflict& k : fx->conflicts) {
      if (c.conflicts.emplace(k.version, k.reason, k.hunk).second) {
        ++stats_.conflicts_reported;
      }
    }
    if (verbosity_ > 1) {
      Log("  " + c.id + " text: " + Printable(c.doc.text().ToString()));
    }
    if (reply_hook_) reply_hook_(p.client, *fx);
  }

  Rng rng_;
  Rng push_rng_;
  Options options_;
  FlakyStore store_;
  ManualClock clock_;
  Server server_;
  int verbosity_ = 0;
  std::vector<Client> clients_;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> in_flight_;
  uint64_t next_order_ = 0;
  int64_t now_ = 0;
  bool draining_ = false;
  bool immediate_ = false;  // In SyncNow: no network in between.
  NetStats stats_;
  std::optional<std::string> failure_;
  ReplyHook reply_hook_;
};

}  // namespace diffsync::engine::sim

#endif  // DIFFSYNC_SRC_ENGINE_SIM_HARNESS_H_
