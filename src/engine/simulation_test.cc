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
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
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

}  // namespace
}  // namespace diffsync::engine
