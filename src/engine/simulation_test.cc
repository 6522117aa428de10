// The seeded simulation of the proof: one server, 2-5 clients
// editing at random (ASCII, accents, CJK, emoji, line breaks; by Replace and
// sometimes by SetText), over a network that drops, duplicates, delays,
// reorders and cuts clients off, with a store that sometimes refuses a
// commit. Invariants are checked after every request and reply. After the
// edits stop and the network heals, every client must hold the server's text
// within kMaxRounds sync rounds; with a single writer, the final text must be
// exactly what the writer typed.
//
// Each seed draws its own configuration. A failing seed is printed and
// replayed alone with DIFFSYNC_SEED=<seed> (DIFFSYNC_SIM_VERBOSE=1 traces
// every message); DIFFSYNC_SIM_SEEDS=<n> runs n seeds (docs/TESTING.md).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <queue>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/sim_harness.h"

namespace diffsync::engine {
namespace {

// Seeds per default run: about 10 s in an optimized build (1.7 ms a seed).
constexpr uint64_t kDefaultSeeds = 6000;
// After the network heals, one round carries every client's last edits to
// the server and the next brings the result to everyone; a client that
// learned in the first round that it was out of step needs one more.
constexpr int kMaxRounds = 3;

// Pieces of inserted text: 1- to 4-byte characters, a grapheme of several
// code points, a line break.
constexpr std::string_view kPieces[] = {
    "a", "b", "e", " ", "the ", "\n", "\xC3\xA9",      // é
    "\xE6\xBC\xA2", "\xE5\xAD\x97",                    // 漢 字
    "\xF0\x9F\x98\x80",                                // 😀
    "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",                // 👍🏽
    "\xF0\x9D\x84\x9E",                                // 𝄞
};

std::string RandomInsert(sim::Rng& rng) {
  std::string s;
  const int64_t n = rng.Between(1, 6);
  for (int64_t i = 0; i < n; ++i) {
    s += kPieces[rng.Below(std::size(kPieces))];
  }
  return s;
}

// A random edit of `text`, on character boundaries: {pos, length, insert}.
struct RandomEdit {
  int64_t pos = 0;
  int64_t length = 0;
  std::string insert;
};

RandomEdit MakeRandomEdit(sim::Rng& rng, const Text& text) {
  RandomEdit e;
  e.pos = rng.Between(0, text.size16());
  if (!text.IsBoundary(e.pos)) --e.pos;
  const uint64_t kind = rng.Below(10);
  if (kind < 3 && e.pos < text.size16()) {  // Delete or replace.
    e.length = std::min<int64_t>(rng.Between(1, 12), text.size16() - e.pos);
    if (!text.IsBoundary(e.pos + e.length)) ++e.length;
  }
  if (kind != 0) e.insert = RandomInsert(rng);
  return e;
}

struct RunResult {
  std::optional<std::string> failure;
  std::string kind;  // Of the failure, for the summary.
  int rounds = 0;
  Server::Stats server;
  sim::NetStats net;
};

struct RunConfig {
  int clients = 2;
  bool single_writer = false;
  bool checksums = false;
  // Whether the clients first meet the server over the faulty network. A
  // client's first request sends its whole text, which the server answers
  // with its own document (MobWrite's "join"), so a single writer first
  // shares the document over a perfect network: what it typed before
  // joining an existing document is not an edit of that document.
  bool cold_start = false;
  int64_t edit_ticks = 0;
  double edit_rate = 0;
  sim::Faults faults;
  bool pushes = false;
};

RunConfig DrawConfig(uint64_t seed) {
  sim::Rng rng(seed ^ 0xC0FFEE);
  RunConfig c;
  c.clients = static_cast<int>(rng.Between(2, 5));
  c.single_writer = rng.Chance(0.3);
  c.checksums = rng.Chance(0.5);
  c.cold_start = !c.single_writer && rng.Chance(0.5);
  c.edit_ticks = rng.Between(20, 150);
  c.edit_rate = 0.05 * static_cast<double>(rng.Between(1, 10));
  c.faults = sim::Faults::Random(rng);
  c.pushes = rng.Chance(0.5);
  return c;
}

std::string Describe(uint64_t seed, const RunConfig& c) {
  std::ostringstream os;
  os << "seed " << seed << " (replay: DIFFSYNC_SEED=" << seed
     << "): clients=" << c.clients << " single_writer=" << c.single_writer
     << " checksums=" << c.checksums << " cold_start=" << c.cold_start
     << " edit_ticks=" << c.edit_ticks
     << " edit_rate=" << c.edit_rate << " pushes=" << c.pushes << " "
     << c.faults;
  return os.str();
}

RunResult RunSeed(uint64_t seed) {
  const RunConfig config = DrawConfig(seed);
  sim::Options options;
  options.clients = config.clients;
  options.faults = config.faults;
  options.client.send_checksums = config.checksums;
  options.pushes = config.pushes;
  sim::Simulation s(seed, options);
  RunResult result;
  auto fail = [&](std::string what, std::string kind = "engine error") {
    if (result.failure) return;
    result.failure = std::move(what);
    result.kind = std::move(kind);
  };

  // With one writer, its own model of what it typed: no reply may change it.
  Text typed;
  if (!config.cold_start) {
    const sim::Faults faults = config.faults;
    s.set_faults(sim::Faults::None());
    const std::string start = "Hello, world. \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x8C\x8D\n";
    if (Status st = s.doc(0).Replace(0, 0, start); !st.ok()) fail(st.ToString());
    typed = s.doc(0).text();
    for (int i = 0; i < s.clients(); ++i) s.SyncNow(i);
    if (!s.Converged()) fail("the clients did not join over a perfect network");
    s.set_faults(faults);
  }
  if (config.single_writer) {
    s.set_reply_hook([&](int client, const ReplyEffects&) {
      if (client == 0 && !(s.doc(0).text() == typed)) {
        fail("t=" + std::to_string(s.now()) +
             ": a reply changed the single writer's text to \"" +
             s.doc(0).text().ToString() + "\", typed \"" + typed.ToString() +
             "\"",
             "a reply changed the single writer's text");
      }
    });
  }

  for (int64_t t = 0; t < config.edit_ticks && !s.failure() && !result.failure;
       ++t) {
    const int writers = config.single_writer ? 1 : s.clients();
    for (int i = 0; i < writers; ++i) {
      if (!s.rng().Chance(config.edit_rate)) continue;
      ClientDocument& doc = s.doc(i);
      const RandomEdit e = MakeRandomEdit(s.rng(), doc.text());
      if (s.rng().Chance(0.15)) {
        doc.SetText(doc.text().Replace(e.pos, e.length, e.insert));
      } else if (Status st = doc.Replace(e.pos, e.length, e.insert); !st.ok()) {
        fail("Replace(" + std::to_string(e.pos) + ", " +
             std::to_string(e.length) + ") failed: " + st.ToString());
      }
      if (i == 0 && config.single_writer) {
        typed = typed.Replace(e.pos, e.length, e.insert);
      }
      if (Status st = doc.CheckInvariants(); !st.ok()) {
        fail("client invariants after a local edit: " + st.ToString());
      }
      if (s.rng().Chance(0.3)) s.RequestSync(i);
    }
    s.Tick();
  }

  s.Heal();
  result.rounds = s.SyncUntilConverged(kMaxRounds);
  result.server = s.server().stats();
  result.net = s.stats();
  if (s.failure()) fail(*s.failure());
  if (!result.failure && result.rounds < 0) {
    const Text server_text = s.server().DocumentText("doc").value_or(Text());
    std::string texts;
    for (int i = 0; i < s.clients(); ++i) {
      texts += "\n  " + s.client_id(i) +
               (s.doc(i).in_sync() ? "" : " (out of step)") +
               (s.doc(i).text() == server_text ? " (same)" : "") + ": \"" +
               s.doc(i).text().ToString() + "\"";
    }
    fail("not converged within " + std::to_string(kMaxRounds) +
         " rounds after the network healed; server: \"" +
         s.server().DocumentText("doc").value_or(Text()).ToString() + "\"" +
         texts,
         "not converged");
  }
  if (!result.failure && config.single_writer &&
      !(s.server().DocumentText("doc").value_or(Text()) == typed)) {
    fail("the single writer lost edits: server has \"" +
         s.server().DocumentText("doc").value_or(Text()).ToString() +
         "\", the writer typed \"" + typed.ToString() + "\"",
         "the single writer lost edits");
  }
  if (result.failure) {
    result.failure = Describe(seed, config) + ":\n" + *result.failure;
  }
  return result;
}

TEST(Simulation, RandomEditsOverAFaultyNetworkConverge) {
  const std::vector<uint64_t> seeds = sim::SeedsToRun(kDefaultSeeds);
  std::cout << "simulation: " << seeds.size() << " seeds from " << seeds.front()
            << " (DIFFSYNC_SEED=<seed> replays one)\n";
  const auto start = std::chrono::steady_clock::now();
  Server::Stats server;
  sim::NetStats net;
  int failures = 0;
  int max_rounds = 0;
  std::map<std::string, std::pair<int, uint64_t>> kinds;  // Count, first seed.
  for (const uint64_t seed : seeds) {
    const RunResult r = RunSeed(seed);
    sim::Accumulate(server, r.server);
    net += r.net;
    max_rounds = std::max(max_rounds, r.rounds);
    if (r.failure) {
      ++failures;
      auto [it, added] = kinds.try_emplace(r.kind, 0, seed);
      ++it->second.first;
      if (failures <= 5) ADD_FAILURE() << *r.failure;
    }
  }
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  std::cout << "simulation: " << seeds.size() << " seeds in " << seconds
            << " s, " << failures << " failed; most rounds to converge "
            << max_rounds << "\n  server: " << sim::Format(server) << "\n  network: " << net
            << "\n";
  for (const auto& [kind, count_seed] : kinds) {
    std::cout << "  failed: " << kind << ": " << count_seed.first
              << " seeds (first: DIFFSYNC_SEED=" << count_seed.second << ")\n";
  }
  EXPECT_EQ(failures, 0);
}

// ---- Server to server ------------------------------------------------------
//
// Two servers, an upstream A and a downstream B, each with its own 1-3
// clients editing at random, and B linked to A (Server::MakeUpstreamRequest /
// HandleUpstreamReply): B's link is one more client of A whose text is B's
// document. Every message — clients to their server, the link to A, pushes —
// crosses the same faulty network (loss, duplicates, delays and reordering,
// late copies, disconnects of clients and of the link), both stores
// sometimes refuse a commit, and in half the seeds B restarts now and then (a
// new Server over its store; the link's request in flight is forgotten).
// Both servers' invariants (the link's included) are checked after every
// step. After the network heals, every client of both servers, both
// documents and the link must agree within kMaxLinkedRounds rounds; with a
// single writer (a client of B), both documents must be exactly what it
// typed, so a restart that lost an edit B had acknowledged fails the seed.
constexpr uint64_t kDefaultLinkedSeeds = 1500;
constexpr int kMaxLinkedRounds = 4;

class LinkedSimulation {
 public:
  static constexpr int kUpstream = 0;
  static constexpr int kDownstream = 1;

  LinkedSimulation(uint64_t seed, int clients_a, int clients_b,
                   sim::Faults faults, bool pushes, double restart_rate)
      : rng_(seed),
        faults_(faults),
        pushes_(pushes),
        restart_rate_(restart_rate),
        verbosity_(sim::Verbosity()) {
    for (int k = 0; k < 2; ++k) {
      servers_.push_back(
          std::make_unique<Server>(stores_[k], clocks_[k], ServerOptions()));
    }
    for (int i = 0; i < clients_a + clients_b; ++i) {
      Endpoint e;
      e.server = i < clients_a ? kUpstream : kDownstream;
      e.id = (i < clients_a ? "a" : "b") + std::to_string(i);
      e.doc.emplace(kDocument);
      e.poll = rng_.Between(1, 8);
      endpoints_.push_back(std::move(e));
    }
    Endpoint link;
    link.server = kUpstream;
    link.id = "link-b";
    link.poll = rng_.Between(1, 4);
    endpoints_.push_back(std::move(link));
  }

  static constexpr char kDocument[] = "doc";

  sim::Rng& rng() { return rng_; }
  int endpoints() const { return static_cast<int>(endpoints_.size()); }
  int link() const { return endpoints() - 1; }
  // Client i's document; null for the link.
  ClientDocument* doc(int i) {
    return endpoints_[i].doc ? &*endpoints_[i].doc : nullptr;
  }
  const std::optional<std::string>& failure() const { return failure_; }
  const sim::NetStats& stats() const { return stats_; }
  Server& server(int k) { return *servers_[k]; }
  void set_faults(const sim::Faults& f) { faults_ = f; }
  void RequestSync(int i) { endpoints_[i].wants_sync = true; }
  int64_t restarts() const { return restarts_; }

  void Tick() {
    if (failure_) return;
    ++now_;
    for (ManualClock& c : clocks_) c.Advance(std::chrono::milliseconds(1000));
    if (restart_rate_ > 0 && rng_.Chance(restart_rate_)) RestartDownstream();
    while (!in_flight_.empty() && in_flight_.top().deliver_at <= now_ &&
           !failure_) {
      Packet p = in_flight_.top();
      in_flight_.pop();
      if (endpoints_[p.endpoint].offline_until > now_) {
        ++stats_.dropped;
        continue;
      }
      if (p.to_server) {
        ServerReceives(p);
      } else {
        EndpointReceives(p);
      }
    }
    for (int i = 0; i < endpoints() && !failure_; ++i) {
      Endpoint& e = endpoints_[i];
      if (e.offline_until > now_) continue;
      if (faults_.disconnect > 0 && rng_.Chance(faults_.disconnect)) {
        ++stats_.disconnects;
        e.offline_until = now_ + rng_.Between(1, faults_.max_offline);
        e.awaiting = false;
        continue;
      }
      if (e.awaiting && now_ - e.sent_at > faults_.timeout()) {
        ++stats_.timeouts;
        e.awaiting = false;
        e.wants_sync = true;
      }
      if (!e.awaiting && !draining_ &&
          (e.wants_sync || now_ - e.last_sync >= e.poll)) {
        SendRequest(i);
      }
    }
  }

  void Heal() {
    faults_ = sim::Faults::None();
    restart_rate_ = 0;
    for (Endpoint& e : endpoints_) e.offline_until = 0;
  }

  // Delivers what is in flight, then syncs every endpoint once per round
  // (B's clients, the link, A's clients, the link again) until all agree.
  int SyncUntilConverged(int max_rounds) {
    draining_ = true;
    while (!in_flight_.empty() && !failure_) Tick();
    for (Endpoint& e : endpoints_) e.awaiting = false;
    draining_ = false;
    std::vector<int> order;
    for (int i = 0; i < link(); ++i) {
      if (endpoints_[i].server == kDownstream) order.push_back(i);
    }
    order.push_back(link());
    for (int i = 0; i < link(); ++i) {
      if (endpoints_[i].server == kUpstream) order.push_back(i);
    }
    order.push_back(link());
    for (int round = 1; round <= max_rounds && !failure_; ++round) {
      for (const int i : order) {
        immediate_ = true;
        SendRequest(i);
        immediate_ = false;
      }
      if (Converged()) return round;
    }
    return -1;
  }

  bool Converged() {
    const std::optional<Text> a = servers_[kUpstream]->DocumentText(kDocument);
    const std::optional<Text> b =
        servers_[kDownstream]->DocumentText(kDocument);
    if (!a || !b || !(*a == *b)) return false;
    if (!servers_[kDownstream]->UpstreamInSync(endpoints_[link()].id,
                                               kDocument)) {
      return false;
    }
    for (int i = 0; i < link(); ++i) {
      if (!doc(i)->in_sync() || !(doc(i)->text() == *a)) return false;
    }
    return true;
  }

  std::string Texts() {
    std::string out;
    for (int k = 0; k < 2; ++k) {
      out += std::string("\n  server ") + (k == 0 ? "A" : "B") + ": \"" +
             servers_[k]->DocumentText(kDocument).value_or(Text()).ToString() +
             "\"";
    }
    for (int i = 0; i < link(); ++i) {
      out += "\n  " + endpoints_[i].id +
             (doc(i)->in_sync() ? "" : " (out of step)") + ": \"" +
             doc(i)->text().ToString() + "\"";
    }
    return out;
  }

 private:
  struct Endpoint {
    int server = kUpstream;  // Where its requests go.
    std::string id;
    std::optional<ClientDocument> doc;  // Empty for the link.
    int64_t poll = 1;
    bool awaiting = false;
    uint64_t request_id = 0;
    int64_t sent_at = 0;
    int64_t last_sync = 0;
    int64_t offline_until = 0;
    bool wants_sync = false;
  };

  struct Packet {
    int64_t deliver_at = 0;
    uint64_t order = 0;
    bool to_server = true;
    int endpoint = 0;
    uint64_t request_id = 0;
    bool push = false;
    std::string wire;
    bool operator>(const Packet& o) const {
      return std::tie(deliver_at, order) > std::tie(o.deliver_at, o.order);
    }
  };

  // B's process ends and starts again: all it keeps is its store. Its
  // clients' requests in flight still reach the new process; the link's
  // reply, if one comes, is to a request the new process never sent.
  void RestartDownstream() {
    ++restarts_;
    Log("restart of server B");
    servers_[kDownstream] = std::make_unique<Server>(
        stores_[kDownstream], clocks_[kDownstream], ServerOptions());
    endpoints_[link()].awaiting = false;
    CheckServers("a restart of B");
  }

  void Fail(std::string what) {
    if (!failure_) failure_ = "t=" + std::to_string(now_) + ": " + what;
  }

  void Log(const std::string& line) {
    if (verbosity_ > 0) std::cerr << "[t=" << now_ << "] " << line << "\n";
  }

  void CheckServers(const std::string& after) {
    for (int k = 0; k < 2; ++k) {
      if (Status s = servers_[k]->CheckInvariants(); !s.ok()) {
        Fail(std::string("server ") + (k == 0 ? "A" : "B") +
             " invariants after " + after + ": " + s.ToString());
      }
    }
  }

  void Send(Packet p) {
    if (immediate_) {
      return p.to_server ? ServerReceives(p) : EndpointReceives(p);
    }
    if (endpoints_[p.endpoint].offline_until > now_ ||
        (faults_.drop > 0 && rng_.Chance(faults_.drop))) {
      ++stats_.dropped;
      return;
    }
    const int copies =
        faults_.duplicate > 0 && rng_.Chance(faults_.duplicate) ? 2 : 1;
    if (copies == 2) ++stats_.duplicated;
    for (int k = 0; k < copies; ++k) {
      Packet copy = p;
      copy.deliver_at = now_ + rng_.Between(1, faults_.max_delay);
      if (faults_.late > 0 && rng_.Chance(faults_.late)) {
        ++stats_.late;
        copy.deliver_at =
            now_ + rng_.Between(faults_.timeout() + 1, 3 * faults_.timeout());
      }
      copy.order = next_order_++;
      in_flight_.push(std::move(copy));
    }
  }

  void SendRequest(int i) {
    Endpoint& e = endpoints_[i];
    Message request;
    if (e.doc) {
      request.documents.push_back(e.doc->MakeRequest());
      request.documents.back().client_id = e.id;
    } else {
      // The link's state is committed before its request leaves; a failed
      // commit sends nothing, and the link tries again at its next poll.
      if (faults_.store_failure > 0 && rng_.Chance(faults_.store_failure)) {
        ++stats_.store_failures;
        stores_[kDownstream].FailNextCommit();
      }
      Result<Message> up =
          servers_[kDownstream]->MakeUpstreamRequest(e.id, kDocument);
      CheckServers("a link request");
      if (!up.ok()) {
        if (up.status().message().find("store") == std::string::npos) {
          return Fail("link request: " + up.status().ToString());
        }
        e.last_sync = now_;
        return;
      }
      request = std::move(*up);
    }
    Result<std::string> wire = EncodeMessage(request);
    if (!wire.ok()) return Fail("encode request: " + wire.status().ToString());
    ++stats_.requests;
    e.awaiting = true;
    e.wants_sync = false;
    e.sent_at = now_;
    e.last_sync = now_;
    ++e.request_id;
    Log("request of " + e.id + ": " + *wire);
    Send({.to_server = true, .endpoint = i, .request_id = e.request_id,
          .wire = std::move(*wire)});
  }

  void ServerReceives(const Packet& p) {
    const Endpoint& e = endpoints_[p.endpoint];
    Result<Message> request = DecodeMessage(p.wire);
    if (!request.ok()) return Fail("decode request: " + request.status().ToString());
    if (faults_.store_failure > 0 && rng_.Chance(faults_.store_failure)) {
      ++stats_.store_failures;
      stores_[e.server].FailNextCommit();
    }
    Server& server = *servers_[e.server];
    Result<Message> reply = server.Handle(*request);
    CheckServers("a request of " + e.id);
    if (!reply.ok()) return;  // Nothing acknowledged; it times out.
    Result<std::string> wire = EncodeMessage(*reply);
    if (!wire.ok()) return Fail("encode reply: " + wire.status().ToString());
    Log("reply to " + e.id + ": " + *wire);
    Send({.to_server = false, .endpoint = p.endpoint,
          .request_id = p.request_id, .wire = std::move(*wire)});
    if (pushes_ && !server.changed_documents().empty()) {
      PushFrom(e.server, p.endpoint);
    }
  }

  // Server k pushes the document's news to its endpoints other than `except`.
  void PushFrom(int k, int except) {
    for (int j = 0; j < endpoints() && !failure_; ++j) {
      if (j == except || endpoints_[j].server != k) continue;
      Result<Message> push = servers_[k]->Push(endpoints_[j].id, kDocument);
      CheckServers("a push to " + endpoints_[j].id);
      if (!push.ok() || push->documents.empty()) continue;
      Result<std::string> wire = EncodeMessage(*push);
      if (!wire.ok()) return Fail("encode push: " + wire.status().ToString());
      Log("push to " + endpoints_[j].id + ": " + *wire);
      Send({.to_server = false, .endpoint = j, .push = true,
            .wire = std::move(*wire)});
    }
  }

  void EndpointReceives(const Packet& p) {
    Endpoint& e = endpoints_[p.endpoint];
    if (p.push && e.awaiting) {
      ++stats_.pushes_ignored;
      return;
    }
    if (!p.push && (!e.awaiting || p.request_id != e.request_id)) {
      ++stats_.stale_replies;
      return;
    }
    Result<Message> reply = DecodeMessage(p.wire);
    if (!reply.ok() || reply->documents.size() != 1) {
      return Fail(e.id + " got a bad reply: " + p.wire);
    }
    if (p.push) {
      ++stats_.pushes_applied;
    } else {
      e.awaiting = false;
      ++stats_.replies;
    }
    if (e.doc) {
      Result<ReplyEffects> fx = e.doc->HandleReply(reply->documents[0]);
      if (!fx.ok()) return Fail(e.id + ": " + fx.status().ToString());
      if (Status s = e.doc->CheckInvariants(); !s.ok()) {
        return Fail(e.id + " invariants: " + s.ToString());
      }
      if (fx->resync) ++stats_.client_resyncs;
      return;
    }
    // The link: B takes A's reply into its document (a failed commit is a
    // lost reply), then tells its own clients.
    if (faults_.store_failure > 0 && rng_.Chance(faults_.store_failure)) {
      ++stats_.store_failures;
      stores_[kDownstream].FailNextCommit();
    }
    Server& b = *servers_[kDownstream];
    Status s = b.HandleUpstreamReply(e.id, reply->documents[0]);
    CheckServers("a reply to the link");
    if (!s.ok()) {
      if (s.message().find("store") == std::string::npos) {
        return Fail("link reply: " + s.ToString());
      }
      return;
    }
    if (pushes_ && !b.changed_documents().empty()) PushFrom(kDownstream, -1);
  }

  sim::Rng rng_;
  sim::Faults faults_;
  bool pushes_ = false;
  double restart_rate_ = 0;  // Chance per tick that B restarts.
  int64_t restarts_ = 0;
  int verbosity_ = 0;
  sim::FlakyStore stores_[2];
  ManualClock clocks_[2];
  std::vector<std::unique_ptr<Server>> servers_;
  std::vector<Endpoint> endpoints_;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> in_flight_;
  uint64_t next_order_ = 0;
  int64_t now_ = 0;
  bool draining_ = false;
  bool immediate_ = false;
  sim::NetStats stats_;
  std::optional<std::string> failure_;
};

struct LinkedResult {
  std::optional<std::string> failure;
  int rounds = 0;
  int64_t restarts = 0;
  Server::Stats upstream;
  Server::Stats downstream;
  sim::NetStats net;
};

LinkedResult RunLinkedSeed(uint64_t seed) {
  sim::Rng config(seed ^ 0x5EED11);
  const int clients_a = static_cast<int>(config.Between(1, 3));
  const int clients_b = static_cast<int>(config.Between(1, 3));
  const sim::Faults faults = sim::Faults::Random(config);
  const bool pushes = config.Chance(0.5);
  const int64_t edit_ticks = config.Between(20, 120);
  const double edit_rate = 0.05 * static_cast<double>(config.Between(1, 8));
  // Drawn after the rest, so that the other draws of a seed stay as they
  // were before restarts were simulated.
  const double restart_rate =
      config.Chance(0.5) ? 0.01 * static_cast<double>(config.Between(1, 3)) : 0;
  const bool single_writer = config.Chance(0.3);
  std::ostringstream describe;
  describe << "seed " << seed << " (replay: DIFFSYNC_SEED=" << seed
           << "): clients A=" << clients_a << " B=" << clients_b
           << " pushes=" << pushes << " edit_ticks=" << edit_ticks
           << " edit_rate=" << edit_rate << " restart_rate=" << restart_rate
           << " single_writer=" << single_writer << " " << faults;

  LinkedSimulation s(seed, clients_a, clients_b, faults, pushes, restart_rate);
  LinkedResult result;
  // The single writer is B's first client. It shares its text with everyone
  // over a perfect network first: what a client typed before joining an
  // existing document is not an edit of that document.
  const int writer = clients_a;
  Text typed;
  if (single_writer) {
    s.set_faults(sim::Faults::None());
    if (Status st = s.doc(writer)->Replace(0, 0, "Hello, world.\n"); !st.ok()) {
      result.failure = describe.str() + ": Replace: " + st.ToString();
      return result;
    }
    typed = s.doc(writer)->text();
    if (s.SyncUntilConverged(kMaxLinkedRounds) < 0) {
      result.failure = describe.str() + ": no join over a perfect network";
      return result;
    }
    s.set_faults(faults);
  }
  for (int64_t t = 0; t < edit_ticks && !s.failure(); ++t) {
    for (int i = 0; i < s.link(); ++i) {
      if (single_writer && i != writer) continue;
      if (!s.rng().Chance(edit_rate)) continue;
      ClientDocument& doc = *s.doc(i);
      const RandomEdit e = MakeRandomEdit(s.rng(), doc.text());
      if (Status st = doc.Replace(e.pos, e.length, e.insert); !st.ok()) {
        result.failure = describe.str() + ": Replace: " + st.ToString();
        return result;
      }
      if (single_writer) typed = typed.Replace(e.pos, e.length, e.insert);
      if (s.rng().Chance(0.3)) s.RequestSync(i);
    }
    s.Tick();
  }
  s.Heal();
  result.rounds = s.SyncUntilConverged(kMaxLinkedRounds);
  result.restarts = s.restarts();
  result.upstream = s.server(LinkedSimulation::kUpstream).stats();
  result.downstream = s.server(LinkedSimulation::kDownstream).stats();
  result.net = s.stats();
  if (s.failure()) {
    result.failure = describe.str() + ":\n" + *s.failure();
  } else if (result.rounds < 0) {
    result.failure = describe.str() + ":\nnot converged within " +
                     std::to_string(kMaxLinkedRounds) +
                     " rounds after the network healed:" + s.Texts();
  } else if (single_writer && !(s.server(LinkedSimulation::kUpstream)
                                    .DocumentText(LinkedSimulation::kDocument)
                                    .value_or(Text()) == typed)) {
    result.failure = describe.str() +
                     ":\nthe single writer lost edits: it typed \"" +
                     typed.ToString() + "\";" + s.Texts();
  }
  return result;
}

TEST(Simulation, TwoServersLinkedServerToServerConverge) {
  const std::vector<uint64_t> seeds = sim::SeedsToRun(kDefaultLinkedSeeds);
  std::cout << "linked servers: " << seeds.size() << " seeds from "
            << seeds.front() << " (DIFFSYNC_SEED=<seed> replays one)\n";
  Server::Stats upstream;
  Server::Stats downstream;
  sim::NetStats net;
  int failures = 0;
  int max_rounds = 0;
  int64_t restarts = 0;
  for (const uint64_t seed : seeds) {
    const LinkedResult r = RunLinkedSeed(seed);
    restarts += r.restarts;
    sim::Accumulate(upstream, r.upstream);
    sim::Accumulate(downstream, r.downstream);
    net += r.net;
    max_rounds = std::max(max_rounds, r.rounds);
    if (r.failure && ++failures <= 5) ADD_FAILURE() << *r.failure;
  }
  std::cout << "linked servers: " << seeds.size() << " seeds, " << failures
            << " failed; most rounds to converge " << max_rounds
            << "; restarts of B " << restarts
            << "\n  upstream: " << sim::Format(upstream)
            << "\n  downstream: " << sim::Format(downstream)
            << "\n  network: " << net << "\n";
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace diffsync::engine
