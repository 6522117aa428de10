// The merge workloads over the simulated faulty network
// (sim_harness.h):
//
// "Sections": W writers share one document that starts with W marker lines,
// each followed by the text of the automerge-paper trace where that writer's
// slice of keystrokes begins. Writer w replays its slice in its own section
// (trace positions offset by where the section starts in its text), syncing
// every K keystrokes, the writers taking turns in random order. Nobody edits
// anyone else's text, so an exact merge must leave every section equal to
// the trace's text at the end of its slice, in every seed.
//
// "Same spot": W writers type, backspace and overwrite at one place. The
// text must converge; every hunk the server drops must be reported to its
// author (c: lines); and every character a writer typed must be in the final
// text exactly once unless someone deleted it on purpose or the server
// reported the hunk that inserted it as dropped.
//
// The default run is small (a few seconds). The full matrix, W in {2, 10,
// 50} by K in {1, 10, 100}, runs with DIFFSYNC_SECTIONS_FULL=1; see
// docs/TESTING.md for the knobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/patch.h"
#include "engine/sim_harness.h"
#include "engine/trace.h"

namespace diffsync::engine {
namespace {

// One round carries the last edits to the server, the next brings the
// result back; a client found out of step in the first needs one more.
constexpr int kMaxRounds = 3;

bool FullMatrix() {
  return sim::EnvNumber("DIFFSYNC_SECTIONS_FULL").value_or(0) != 0;
}

const Trace& AutomergePaper() {
  static const Trace* trace = [] {
    Result<Trace> loaded =
        LoadTrace(std::string(DIFFSYNC_SHARED_DATA_DIR) +
                  "/traces/sequential/automerge-paper.json.gz");
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status().ToString()
                    << " (the shared data directory is missing?)";
      return new Trace();
    }
    return new Trace(std::move(*loaded));
  }();
  return *trace;
}

// The edits of keystroke (transaction) `t`.
std::pair<size_t, size_t> Keystroke(const Trace& trace, size_t t) {
  return {t == 0 ? 0 : trace.txn_ends[t - 1], trace.txn_ends[t]};
}

// The trace's text after keystrokes [0, t), for each t in `at` (sorted).
std::vector<Text> Snapshots(const Trace& trace, const std::vector<size_t>& at) {
  std::vector<Text> out;
  Text text = Text::FromValidUtf8(trace.start_content);
  size_t t = 0;
  for (const size_t target : at) {
    for (; t < target; ++t) {
      auto [begin, end] = Keystroke(trace, t);
      for (size_t i = begin; i < end; ++i) {
        const TraceEdit& e = trace.edits[i];
        text = std::move(text).Replace(e.pos16, e.del16, e.insert);
      }
    }
    out.push_back(text);
  }
  return out;
}

// The first UTF-16 position where `a` and `b` differ, with some context.
std::string FirstDifference(const Text& a, const Text& b) {
  const int64_t at = Text::CommonPrefix16(a, b);
  const int64_t from = std::max<int64_t>(0, at - 20);
  auto around = [&](const Text& t) {
    const int64_t begin = std::min(from, t.size16());
    int64_t len = std::min<int64_t>(60, t.size16() - begin);
    if (!t.IsBoundary(begin + len)) --len;
    return t.Substr(begin, len);
  };
  return "at unit " + std::to_string(at) + ": \"" + around(a) + "\" vs \"" +
         around(b) + "\"";
}

// The UTF-16 position of `needle` in `text`, or -1.
int64_t Find(const Text& text, std::string_view needle) {
  const std::string s = text.ToString();
  const size_t byte = s.find(needle);
  return byte == std::string::npos ? -1 : text.Pos16(byte);
}

bool HasAt(const Text& text, int64_t pos16, const std::string& what,
           int64_t what16) {
  return pos16 >= 0 && pos16 + what16 <= text.size16() &&
         text.IsBoundary(pos16) && text.IsBoundary(pos16 + what16) &&
         text.Substr(pos16, what16) == what;
}

int64_t Size16(std::string_view utf8) {
  return Text::FromValidUtf8(utf8).size16();
}

struct Combo {
  int writers = 2;
  int every = 1;           // Sync every K keystrokes.
  int keystrokes = 100;    // Per writer.
};

std::string Name(const Combo& c) {
  return std::to_string(c.writers) + " writers, sync every " +
         std::to_string(c.every) + ", " + std::to_string(c.keystrokes) +
         " keystrokes each";
}

std::vector<Combo> Combos(std::vector<Combo> defaults, int full_keystrokes) {
  if (!FullMatrix()) return defaults;
  const int keystrokes = static_cast<int>(
      sim::EnvNumber("DIFFSYNC_SECTIONS_KEYSTROKES").value_or(full_keystrokes));
  std::vector<Combo> all;
  for (const int w : {2, 10, 50}) {
    for (const int k : {1, 10, 100}) all.push_back({w, k, keystrokes});
  }
  return all;
}

struct Totals {
  int runs = 0;
  int failures = 0;
  Server::Stats server;
  sim::NetStats net;
  int max_rounds = 0;

  void Add(sim::Simulation& s, int rounds) {
    ++runs;
    sim::Accumulate(server, s.server().stats());
    net += s.stats();
    max_rounds = std::max(max_rounds, rounds);
  }
  void Print(const std::string& what) const {
    std::cout << what << ": " << runs << " runs, " << failures
              << " failed; most rounds to converge " << max_rounds
              << "\n  server: " << sim::Format(server) << "\n  network: " << net
              << "\n";
  }
};

// Everyone joins over a perfect network: the first writer brings `initial`.
std::optional<std::string> Join(sim::Simulation& s, const Text& initial,
                                const sim::Faults& faults) {
  s.set_faults(sim::Faults::None());
  s.doc(0).SetText(initial);
  for (int i = 0; i < s.clients(); ++i) s.SyncNow(i);
  s.set_faults(faults);
  if (s.failure()) return *s.failure();
  if (!s.Converged()) return "the writers did not join over a perfect network";
  return std::nullopt;
}

// ---- Sections -----------------------------------------------------------------

std::string Marker(int w) {
  return "\xE2\x90\x9E" + std::to_string(w) + "\xE2\x90\x9E\n";  // ␞w␞
}

std::optional<std::string> RunSections(const Combo& combo, uint64_t seed,
                                       Totals& totals) {
  const Trace& trace = AutomergePaper();
  const size_t w_count = static_cast<size_t>(combo.writers);
  const size_t slice = static_cast<size_t>(combo.keystrokes);
  if (trace.txn_ends.size() < w_count * slice) {
    return "the trace has fewer than " + std::to_string(w_count * slice) +
           " keystrokes";
  }
  std::vector<size_t> at;
  for (size_t w = 0; w <= w_count; ++w) at.push_back(w * slice);
  const std::vector<Text> snapshots = Snapshots(trace, at);

  sim::Rng config_rng(seed ^ 0x5EC7);
  sim::Options options;
  options.clients = combo.writers;
  options.faults = sim::Faults::Random(config_rng);
  options.max_poll = 40;  // Writers sync every K keystrokes, idle ones seldom.
  const double type_rate = 0.3 + 0.1 * static_cast<double>(config_rng.Between(0, 5));
  sim::Simulation s(seed, options);

  struct Writer {
    std::string marker, next_marker;  // next_marker empty for the last.
    int64_t marker16 = 0, next_marker16 = 0;
    int64_t offset = 0;  // Where the section starts in the writer's text.
    Text expected;       // What the section must hold.
    size_t typed = 0;    // Keystrokes of the slice typed so far.
    int since_sync = 0;
    bool moved = false;  // Its text received changes since the last check.
  };
  std::vector<Writer> writers(w_count);
  Text initial;
  for (size_t w = 0; w < w_count; ++w) {
    Writer& wr = writers[w];
    wr.marker = Marker(static_cast<int>(w));
    wr.marker16 = Size16(wr.marker);
    if (w + 1 < w_count) {
      wr.next_marker = Marker(static_cast<int>(w + 1));
      wr.next_marker16 = Size16(wr.next_marker);
    }
    initial = initial.Replace(initial.size16(), 0, wr.marker);
    wr.offset = initial.size16();
    wr.expected = snapshots[w];
    initial = initial.Replace(initial.size16(), 0, snapshots[w].ToString());
  }

  std::optional<std::string> failure;
  auto describe = [&] {
    std::ostringstream os;
    os << Name(combo) << ", seed " << seed << " (replay: DIFFSYNC_SEED=" << seed
       << "), type_rate=" << type_rate << " " << options.faults;
    return os.str();
  };
  // Where writer w's section starts in its own text, after changes came in.
  auto relocate = [&](size_t w) -> bool {
    Writer& wr = writers[w];
    const Text& text = s.doc(static_cast<int>(w)).text();
    if (!HasAt(text, wr.offset - wr.marker16, wr.marker, wr.marker16)) {
      const int64_t found = Find(text, wr.marker);
      if (found < 0) return false;
      wr.offset = found + wr.marker16;
    }
    const int64_t end = wr.offset + wr.expected.size16();
    const bool end_ok = wr.next_marker.empty()
                            ? end == text.size16()
                            : HasAt(text, end, wr.next_marker, wr.next_marker16);
    return end_ok && text.IsBoundary(end) &&
           text.Substr(wr.offset, wr.expected.size16()) ==
               wr.expected.ToString();
  };
  s.set_reply_hook([&](int client, const ReplyEffects& fx) {
    Writer& wr = writers[static_cast<size_t>(client)];
    for (const ChangeSet& change : fx.text_changes) {
      wr.offset = change.MapPosition(wr.offset, /*after_inserts=*/false);
    }
    if (!fx.text_changes.empty()) wr.moved = true;
  });

  if (std::optional<std::string> f = Join(s, initial, options.faults)) {
    return describe() + ": " + *f;
  }

  std::vector<size_t> order(w_count);
  for (size_t w = 0; w < w_count; ++w) order[w] = w;
  size_t remaining = w_count * slice;
  while (remaining > 0 && !failure && !s.failure()) {
    s.rng().Shuffle(order);
    for (const size_t w : order) {
      Writer& wr = writers[w];
      if (wr.typed == slice || !s.rng().Chance(type_rate)) continue;
      ClientDocument& doc = s.doc(static_cast<int>(w));
      if (wr.moved) {
        wr.moved = false;
        if (!relocate(w)) {
          failure = "before keystroke " + std::to_string(wr.typed) +
                    " of writer " + std::to_string(w) +
                    ", its section is no longer what it typed";
          break;
        }
      }
      auto [begin, end] = Keystroke(trace, w * slice + wr.typed);
      for (size_t i = begin; i < end; ++i) {
        const TraceEdit& e = trace.edits[i];
        if (Status st = doc.Replace(wr.offset + e.pos16, e.del16, e.insert);
            !st.ok()) {
          failure = "writer " + std::to_string(w) + ": " + st.ToString();
          break;
        }
        wr.expected = std::move(wr.expected).Replace(e.pos16, e.del16, e.insert);
      }
      ++wr.typed;
      --remaining;
      if (++wr.since_sync >= combo.every || wr.typed == slice) {
        wr.since_sync = 0;
        s.RequestSync(static_cast<int>(w));
      }
    }
    s.Tick();
  }
  s.Heal();
  const int rounds = failure ? 0 : s.SyncUntilConverged(kMaxRounds);
  totals.Add(s, rounds);
  if (!failure && s.failure()) failure = *s.failure();
  if (!failure && rounds < 0) {
    failure = "not converged within " + std::to_string(kMaxRounds) +
              " rounds after the network healed";
  }
  if (!failure) {
    const Text final_text = s.server().DocumentText("doc").value_or(Text());
    std::string wrong;
    int wrong_count = 0;
    for (size_t w = 0; w < w_count; ++w) {
      const Writer& wr = writers[w];
      const int64_t start = Find(final_text, wr.marker);
      const int64_t stop =
          wr.next_marker.empty() ? final_text.size16() : Find(final_text, wr.next_marker);
      const Text& want = snapshots[w + 1];
      if (start < 0 || stop < start + wr.marker16) {
        ++wrong_count;
        wrong += "\n  section " + std::to_string(w) + ": its markers are gone";
        continue;
      }
      const Text got = final_text.Slice(start + wr.marker16,
                                        stop - start - wr.marker16);
      if (!(got == want)) {
        if (++wrong_count <= 5) {
          wrong += "\n  section " + std::to_string(w) + " differs " +
                   FirstDifference(got, want);
        }
      }
    }
    if (wrong_count > 0) {
      failure = std::to_string(wrong_count) + " of " + std::to_string(w_count) +
                " sections differ from their trace slice:" + wrong;
    }
  }
  if (failure) {
    ++totals.failures;
    return describe() + ":\n" + *failure;
  }
  return std::nullopt;
}

// Runs `run` for every combination and seed, reporting each failure and the
// time per combination, then the totals under `label`.
void RunMatrix(const char* label, const std::vector<Combo>& combos,
               const std::vector<uint64_t>& seeds,
               std::optional<std::string> (*run)(const Combo&, uint64_t,
                                                 Totals&)) {
  Totals totals;
  for (const Combo& combo : combos) {
    const auto start = std::chrono::steady_clock::now();
    for (const uint64_t seed : seeds) {
      if (std::optional<std::string> f = run(combo, seed, totals)) {
        ADD_FAILURE() << *f;
      }
    }
    std::cout << Name(combo) << ": " << seeds.size() << " seeds in "
              << std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count()
              << " s\n";
  }
  totals.Print(label);
}

TEST(Sections, EveryWritersSectionIsItsTraceSliceExactly) {
  ASSERT_FALSE(AutomergePaper().txn_ends.empty());
  const std::vector<Combo> combos =
      Combos({{2, 1, 150}, {10, 10, 100}, {50, 100, 120}}, 1000);
  const std::vector<uint64_t> seeds = sim::SeedsToRun(FullMatrix() ? 20 : 2);
  RunMatrix("sections", combos, seeds, RunSections);
}

// ---- Same spot ------------------------------------------------------------------

// Every character typed in this workload is unique, so that the final text
// tells exactly which survived: alternately a CJK ideograph (one UTF-16
// unit) and one from CJK Extension B (a surrogate pair).
std::string UniqueChar(int64_t k) {
  const uint32_t cp = (k % 2 == 0) ? 0x4E00 + static_cast<uint32_t>(k / 2)
                                   : 0x20000 + static_cast<uint32_t>(k / 2);
  std::string s;
  if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

constexpr int64_t kMaxUniqueChars = 2 * 20000;

// The characters of `utf8` that UniqueChar makes, in order.
std::vector<std::string> UniqueCharsOf(std::string_view utf8) {
  std::vector<std::string> out;
  for (size_t i = 0; i < utf8.size();) {
    const unsigned char lead = static_cast<unsigned char>(utf8[i]);
    const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    if (len >= 3) out.emplace_back(utf8.substr(i, len));
    i += len;
  }
  return out;
}

std::optional<std::string> RunSameSpot(const Combo& combo, uint64_t seed,
                                       Totals& totals) {
  sim::Rng config_rng(seed ^ 0x5A3E);
  sim::Options options;
  options.clients = combo.writers;
  options.faults = sim::Faults::Random(config_rng);
  // The server counts the hunks it dropped in requests whose commit then
  // failed and that it later saw again; without store failures its count is
  // exactly the hunks it dropped for good.
  options.faults.store_failure = 0;
  options.max_poll = 40;
  const double type_rate = 0.3 + 0.1 * static_cast<double>(config_rng.Between(0, 5));
  sim::Simulation s(seed, options);

  struct Writer {
    int64_t cursor = 0;
    int since_sync = 0;
    int typed = 0;
  };
  std::vector<Writer> writers(static_cast<size_t>(combo.writers));
  const std::string head = "The spot: [";
  s.set_reply_hook([&](int client, const ReplyEffects& fx) {
    Writer& wr = writers[static_cast<size_t>(client)];
    for (const ChangeSet& change : fx.text_changes) {
      wr.cursor = change.MapPosition(wr.cursor, /*after_inserts=*/false);
    }
  });
  auto describe = [&] {
    std::ostringstream os;
    os << "same spot, " << Name(combo) << ", seed " << seed
       << " (replay: DIFFSYNC_SEED=" << seed << "), type_rate=" << type_rate
       << " " << options.faults;
    return os.str();
  };
  if (std::optional<std::string> f =
          Join(s, Text::FromValidUtf8(head + "].\n"), options.faults)) {
    return describe() + ": " + *f;
  }
  for (Writer& wr : writers) wr.cursor = Size16(head);

  std::map<std::string, int> author;    // Typed character -> writer.
  std::set<std::string> deleted;        // Deleted on purpose by someone.
  int64_t next_char = 0;
  std::optional<std::string> failure;
  std::vector<size_t> order(writers.size());
  for (size_t w = 0; w < order.size(); ++w) order[w] = w;
  int remaining = combo.writers * combo.keystrokes;
  while (remaining > 0 && !s.failure() && !failure) {
    s.rng().Shuffle(order);
    for (const size_t w : order) {
      Writer& wr = writers[w];
      if (wr.typed == combo.keystrokes || !s.rng().Chance(type_rate)) continue;
      ClientDocument& doc = s.doc(static_cast<int>(w));
      const Text& text = doc.text();
      wr.cursor = std::clamp<int64_t>(wr.cursor, 0, text.size16());
      if (!text.IsBoundary(wr.cursor)) --wr.cursor;
      // Mostly typing; sometimes a backspace or an overwritten selection
      // around the cursor, which may take others' text with it.
      int64_t from = wr.cursor, to = wr.cursor;
      const uint64_t action = s.rng().Below(20);
      if (action >= 17) {
        from = std::max<int64_t>(0, wr.cursor - s.rng().Between(1, 3));
      } else if (action == 16) {
        from = std::max<int64_t>(0, wr.cursor - s.rng().Between(0, 6));
        to = std::min<int64_t>(text.size16(), wr.cursor + s.rng().Between(1, 6));
      }
      if (!text.IsBoundary(from)) --from;
      if (!text.IsBoundary(to)) ++to;
      std::string insert;
      if (action <= 16) {
        const int64_t n = s.rng().Between(1, 3);
        for (int64_t i = 0; i < n && next_char < kMaxUniqueChars; ++i) {
          const std::string c = UniqueChar(next_char++);
          author[c] = static_cast<int>(w);
          insert += c;
        }
      }
      for (std::string& c : UniqueCharsOf(text.Substr(from, to - from))) {
        deleted.insert(std::move(c));
      }
      if (Status st = doc.Replace(from, to - from, insert); !st.ok()) {
        failure = "writer " + std::to_string(w) + ": " + st.ToString();
        break;
      }
      wr.cursor = from + Size16(insert);
      ++wr.typed;
      --remaining;
      if (++wr.since_sync >= combo.every || wr.typed == combo.keystrokes) {
        wr.since_sync = 0;
        s.RequestSync(static_cast<int>(w));
      }
    }
    s.Tick();
  }
  s.Heal();
  const int rounds = failure ? 0 : s.SyncUntilConverged(kMaxRounds);
  totals.Add(s, rounds);
  if (!failure && s.failure()) failure = *s.failure();
  if (!failure && rounds < 0) {
    failure = "not converged within " + std::to_string(kMaxRounds) +
              " rounds after the network healed";
  }
  if (!failure) {
    // Every dropped hunk reported to its author, and only those.
    std::vector<std::string> problems;
    std::set<std::string> reported;  // Characters in reported hunks.
    int64_t reports = 0;
    // Records the characters a reported hunk inserted.
    auto note_reported = [&](const std::string& hunk, const char* what) {
      Result<dmp::Patches> patches = dmp::PatchFromText(hunk);
      if (!patches.ok()) {
        problems.push_back(std::string("a ") + what + " is not patch text: " +
                           patches.status().ToString());
        return;
      }
      for (const dmp::Patch& p : *patches) {
        for (const dmp::Diff& d : p.diffs) {
          if (d.operation != dmp::Operation::kInsert) continue;
          for (std::string& c : UniqueCharsOf(d.text)) reported.insert(c);
        }
      }
    };
    for (int i = 0; i < s.clients(); ++i) {
      for (const auto& [version, reason, hunk] : s.conflicts(i)) {
        ++reports;
        note_reported(hunk, "reported hunk");
      }
      // A client told that its own hunk lost to the server's was told too.
      for (const std::string& hunk : s.dropped(i)) {
        note_reported(hunk, "dropped local hunk");
      }
    }
    const int64_t dropped = s.server().stats().dropped_hunks;
    if (reports != dropped) {
      problems.push_back("the server dropped " + std::to_string(dropped) +
                         " hunks but its clients were told of " +
                         std::to_string(reports));
    }
    const Text final_doc = s.server().DocumentText("doc").value_or(Text());
    const std::string final_text = final_doc.ToString();
    std::map<std::string, int> seen;
    for (std::string& c : UniqueCharsOf(final_text)) ++seen[c];
    int64_t lost = 0, doubled = 0;
    std::string example;
    for (const auto& [c, w] : author) {
      const auto it = seen.find(c);
      if (it != seen.end()) {
        if (it->second > 1) ++doubled;
        continue;
      }
      if (deleted.count(c) || reported.count(c)) continue;
      if (++lost == 1) example = "\"" + c + "\" of writer " + std::to_string(w);
    }
    if (lost > 0 || doubled > 0) {
      int64_t shown = std::min<int64_t>(80, final_doc.size16());
      if (!final_doc.IsBoundary(shown)) --shown;
      problems.push_back(
          std::to_string(lost) + " typed characters lost without a report"
          " (e.g. " + example + "), " + std::to_string(doubled) +
          " doubled (client hunks that lost to a server edit: " +
          std::to_string(s.stats().client_dropped_hunks) +
          "); final text \"" + final_doc.Substr(0, shown) + "...\"");
    }
    if (!failure && !problems.empty()) {
      std::string all;
      for (const std::string& p : problems) all += (all.empty() ? "" : "\n") + p;
      failure = all;
    }
  }
  if (failure) {
    ++totals.failures;
    return describe() + ":\n" + *failure;
  }
  return std::nullopt;
}

TEST(Sections, SameSpotConvergesAndReportsEveryDroppedHunk) {
  const std::vector<Combo> combos =
      Combos({{2, 1, 150}, {10, 10, 60}, {10, 1, 40}}, 300);
  const std::vector<uint64_t> seeds = sim::SeedsToRun(FullMatrix() ? 20 : 4);
  RunMatrix("same spot", combos, seeds, RunSameSpot);
}

}  // namespace
}  // namespace diffsync::engine
