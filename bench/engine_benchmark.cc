// Benchmarks of the synchronization engine: a real editing trace replayed
// through the whole Differential Synchronization loop, and the memory of
// clients that sit in sync. The default trace is
// ../shared/data/traces/sequential/automerge-paper.json.gz (259,778
// keystrokes). bench/run_engine.py runs this next to Yjs and plain
// JavaScript string splicing (bench/js/yjs_trace.js) and prints the ratios;
// see docs/benchmarks.md.
//
// Rows:
//   loop/sync_every:K/checksums:C/compact:P  One client types the trace
//       (ClientDocument::Replace, the edit-hint path) and syncs after every
//       K keystrokes (trace transactions) and once at the end; with C = 1
//       (the client's default) every edit carries the h: checksum of the
//       shadow and so does the server's reply where it changes something,
//       with C = 0 none does; with P = 1 the messages cross one connection's
//       WireSessions (the compact form, as between our peers on a
//       WebSocket), with P = 0 the plain codec (MobWrite's form). A sync is the full cycle:
//       MakeRequest, EncodeMessage, DecodeMessage, Server::Handle (strict
//       patch of the shadow, exact-then-fuzzy merge, reply diff),
//       EncodeMessage, DecodeMessage, HandleReply (the codec steps through
//       WireSession when compact). Counters: cycles,
//       us_per_cycle, up/down wire bytes per keystroke (everything
//       EncodeMessage produced, both ways), peak_rss_mb (the process's VmHWM
//       during the replay) and base_rss_mb (its RSS before, mostly the loaded
//       trace). After the replay the client's text and the server's document
//       must equal the trace's endContent, and the server must have merged
//       every hunk exactly: anything else stops the run with WRONG RESULT.
//   idle/clients:N  N clients in sync on the document (the trace's
//       endContent); the timed part is one idle cycle per client (nothing
//       typed). Counters: us_per_cycle, doc_bytes (Text::MemoryBytes of one
//       copy), client_bytes_per_client (MemoryBytes over every client's text
//       and shadow, shared parts once, divided by N: 1.0 x doc_bytes when a
//       client's text and shadow share storage, 2.0 when they are copies),
//       server_bytes_per_view (the server's shadows and backup shadows beyond
//       the document itself, per client).
//
// A loop row is one replay (Iterations(1)), with its setup (server, store,
// client) and checks outside the timed part; the benchmark library's
// repetitions give the median. Peak memory is per process, so
// bench/run_engine.py runs each row in its own process.
//
// usage: engine_benchmark [--trace=PATH] [benchmark flags]
// Defaults to 5 repetitions reporting aggregates (read the median) in wall
// time; later --benchmark_* flags override.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "diffsync/engine/text.h"
#include "diffsync/engine/wire_session.h"
#include "engine/trace.h"

namespace diffsync::engine {
namespace {

// Short ids, as an editor would use: the u: and F: lines are part of every
// message, so their length is part of the bytes per keystroke.
constexpr char kDocument[] = "paper";
constexpr char kClient[] = "alice";

std::string& TracePath() {
  static auto* path = new std::string(
      DIFFSYNC_SHARED_DATA_DIR "/traces/sequential/automerge-paper.json.gz");
  return *path;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "engine_benchmark: %s\n", message.c_str());
  std::exit(2);
}

[[noreturn]] void WrongResult(const std::string& row, const std::string& what) {
  Fail(row + ": WRONG RESULT: " + what);
}

const Trace& GetTrace() {
  static const Trace* trace = [] {
    Result<Trace> t = LoadTrace(TracePath());
    if (!t.ok()) {
      Fail(t.status().ToString() + " (pass --trace=PATH)");
    }
    return new Trace(std::move(*t));
  }();
  return *trace;
}

// A field of /proc/self/status in kB ("VmHWM", "VmRSS"), as MB.
double ProcStatusMb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field) && line.size() > field.size() &&
        line[field.size()] == ':') {
      return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
    }
  }
  return -1;
}

// Returns freed heap to the system, then lowers VmHWM to the current RSS
// (Linux >= 4.0), so that the peak read later is the peak of what ran in
// between, not of loading the trace, and growth is not hidden by reuse of
// memory the trace parser freed.
void ResetPeakRss() {
  malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

// A server and its in-process wire: each message goes through the real
// codec both ways, and its encoded size is counted. With `compact`, one
// connection's pair of WireSessions (client and server end) carries the
// messages, so the compact form is used once both agreed (the first cycle).
class Loop {
 public:
  explicit Loop(std::string row, bool compact = false)
      : row_(std::move(row)), server_(store_, clock_),
        client_session_(WireSession::Role::kClient, compact),
        server_session_(WireSession::Role::kServer, compact) {}

  void Sync(const std::string& client_id, ClientDocument& client) {
    Message request;
    request.documents.push_back(client.MakeRequest());
    request.documents.back().client_id = client_id;
    const std::string wire =
        Check(client_session_.Encode(request), "encode request");
    up_bytes_ += static_cast<int64_t>(wire.size());
    const Message decoded =
        Check(server_session_.Decode(wire), "decode request");
    const Message reply = Check(server_.Handle(decoded), "server");
    const std::string reply_wire =
        Check(server_session_.Encode(reply), "encode reply");
    down_bytes_ += static_cast<int64_t>(reply_wire.size());
    const Message reply_decoded =
        Check(client_session_.Decode(reply_wire), "decode reply");
    if (reply_decoded.documents.size() != 1) {
      WrongResult(row_, "reply has " +
                            std::to_string(reply_decoded.documents.size()) +
                            " document blocks: " + reply_wire);
    }
    const ReplyEffects effects =
        Check(client.HandleReply(reply_decoded.documents[0]), "client");
    if (effects.resync || !effects.dropped_hunks.empty() ||
        !effects.conflicts.empty() || !effects.errors.empty()) {
      WrongResult(
          row_, "a single writer's cycle was not clean; reply: " + reply_wire);
    }
    ++cycles_;
  }

  Server& server() { return server_; }
  MemoryStore& store() { return store_; }
  int64_t cycles() const { return cycles_; }
  int64_t up_bytes() const { return up_bytes_; }
  int64_t down_bytes() const { return down_bytes_; }

 private:
  template <typename T>
  T Check(Result<T> result, const char* step) {
    if (!result.ok()) {
      WrongResult(row_, std::string(step) + ": " + result.status().ToString());
    }
    return std::move(*result);
  }

  std::string row_;
  MemoryStore store_;
  ManualClock clock_;
  Server server_;
  WireSession client_session_;
  WireSession server_session_;
  int64_t cycles_ = 0;
  int64_t up_bytes_ = 0;
  int64_t down_bytes_ = 0;
};

void ApplyTransaction(const std::string& row, const Trace& trace, size_t txn,
                      ClientDocument& client) {
  const size_t begin = txn == 0 ? 0 : trace.txn_ends[txn - 1];
  for (size_t i = begin; i < trace.txn_ends[txn]; ++i) {
    const TraceEdit& e = trace.edits[i];
    if (Status s = client.Replace(e.pos16, e.del16, e.insert); !s.ok()) {
      WrongResult(row, "edit " + std::to_string(i) + ": " + s.ToString());
    }
  }
}

void BM_Loop(benchmark::State& state) {
  const Trace& trace = GetTrace();
  const size_t every = static_cast<size_t>(state.range(0));
  ClientOptions options;
  options.send_checksums = state.range(1) != 0;
  const bool compact = state.range(2) != 0;
  const std::string row = "loop/sync_every:" + std::to_string(every) +
                          "/checksums:" + std::to_string(state.range(1)) +
                          "/compact:" + std::to_string(state.range(2));
  const size_t keystrokes = trace.txn_ends.size();
  // Untimed (the row runs one iteration): a fresh server, and the client
  // opening the start content. Its first request is MobWrite's raw text,
  // the second the first delta.
  auto loop = std::make_unique<Loop>(row, compact);
  auto client = std::make_unique<ClientDocument>(kDocument, options);
  client->SetText(Text::FromValidUtf8(trace.start_content));
  loop->Sync(kClient, *client);
  loop->Sync(kClient, *client);
  const int64_t setup_cycles = loop->cycles();
  const int64_t setup_up = loop->up_bytes();
  const int64_t setup_down = loop->down_bytes();
  ResetPeakRss();
  const double base_rss_mb = ProcStatusMb("VmRSS");

  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (size_t txn = 0; txn < keystrokes; ++txn) {
      ApplyTransaction(row, trace, txn, *client);
      if ((txn + 1) % every == 0 || txn + 1 == keystrokes) {
        loop->Sync(kClient, *client);
      }
    }
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }

  const double peak_rss_mb = ProcStatusMb("VmHWM");
  const double cycles = static_cast<double>(loop->cycles() - setup_cycles);
  state.counters["keystrokes"] = static_cast<double>(keystrokes);
  state.counters["cycles"] = cycles;
  state.counters["us_per_cycle"] = seconds * 1e6 / cycles;
  state.counters["us_per_keystroke"] = seconds * 1e6 / keystrokes;
  state.counters["up_bytes_per_keystroke"] =
      static_cast<double>(loop->up_bytes() - setup_up) / keystrokes;
  state.counters["down_bytes_per_keystroke"] =
      static_cast<double>(loop->down_bytes() - setup_down) / keystrokes;
  state.counters["base_rss_mb"] = base_rss_mb;
  state.counters["peak_rss_mb"] = peak_rss_mb;

  if (!client->text().Equals(trace.end_content)) {
    WrongResult(row, "the client's final text is not the trace's endContent");
  }
  const std::optional<Text> server_text =
      loop->server().DocumentText(kDocument);
  if (!server_text || !server_text->Equals(trace.end_content)) {
    WrongResult(row, "the server's document is not the trace's endContent");
  }
  const Server::Stats& stats = loop->server().stats();
  if (stats.dropped_hunks != 0 || stats.diffed_merges != 0 ||
      stats.resyncs != 0) {
    WrongResult(row, "a single writer's edits were not all merged exactly (" +
                         std::to_string(stats.dropped_hunks) + " dropped, " +
                         std::to_string(stats.diffed_merges) + " diffed, " +
                         std::to_string(stats.resyncs) + " resyncs)");
  }
  if (Status s = loop->server().CheckInvariants(); !s.ok()) {
    WrongResult(row, "server invariants: " + s.ToString());
  }
  if (Status s = client->CheckInvariants(); !s.ok()) {
    WrongResult(row, "client invariants: " + s.ToString());
  }
  state.SetItemsProcessed(static_cast<int64_t>(keystrokes));
}
BENCHMARK(BM_Loop)
    ->Name("loop")
    ->ArgNames({"sync_every", "checksums", "compact"})
    ->Args({1, 1, 1})
    ->Args({10, 1, 1})
    ->Args({100, 1, 1})
    ->Args({1, 1, 0})
    ->Args({10, 1, 0})
    ->Args({100, 1, 0})
    ->Args({1, 0, 0})
    ->Args({1, 0, 1})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Idle(benchmark::State& state) {
  const Trace& trace = GetTrace();
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string row = "idle/clients:" + std::to_string(n);
  Loop loop(row);
  std::vector<std::unique_ptr<ClientDocument>> clients;
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<ClientDocument>(kDocument));
    ids.push_back(std::string("c").append(std::to_string(i)));
  }
  // The first client writes the document, the others fetch it; two rounds
  // bring every client from raw text to deltas, a third settles them.
  clients[0]->SetText(Text::FromValidUtf8(trace.end_content));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < n; ++i) loop.Sync(ids[i], *clients[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!clients[i]->text().Equals(trace.end_content) ||
        !clients[i]->in_sync()) {
      WrongResult(row, "client " + ids[i] + " did not converge");
    }
  }

  const int64_t setup_cycles = loop.cycles();
  const int64_t setup_up = loop.up_bytes();
  const int64_t setup_down = loop.down_bytes();
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n; ++i) loop.Sync(ids[i], *clients[i]);
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  const double cycles = static_cast<double>(loop.cycles() - setup_cycles);
  state.counters["us_per_cycle"] = seconds * 1e6 / cycles;
  state.counters["up_bytes_per_cycle"] =
      static_cast<double>(loop.up_bytes() - setup_up) / cycles;
  state.counters["down_bytes_per_cycle"] =
      static_cast<double>(loop.down_bytes() - setup_down) / cycles;

  std::vector<Text> client_texts;
  for (const auto& client : clients) {
    client_texts.push_back(client->text());
    client_texts.push_back(client->shadow());
  }
  const std::optional<Text> document = loop.server().DocumentText(kDocument);
  std::vector<Text> server_texts = {*document};
  for (const std::string& id : ids) {
    Result<std::optional<ViewRecord>> view =
        loop.store().LoadView(id, kDocument);
    if (!view.ok() || !view->has_value()) {
      WrongResult(row, "no stored view for client " + id);
    }
    server_texts.push_back((*view)->shadow);
    server_texts.push_back((*view)->backup_shadow);
  }
  const double doc_bytes = static_cast<double>(document->MemoryBytes());
  const double server_bytes =
      static_cast<double>(Text::MemoryBytes(server_texts));
  state.counters["doc_bytes"] = doc_bytes;
  state.counters["client_bytes_per_client"] =
      static_cast<double>(Text::MemoryBytes(client_texts)) / n;
  state.counters["server_bytes_per_view"] = (server_bytes - doc_bytes) / n;
}
BENCHMARK(BM_Idle)
    ->Name("idle")
    ->ArgName("clients")
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Takes --trace out of argv (the benchmark library rejects unknown flags)
// and puts the default repetition flags first so the caller's win.
std::vector<char*> ParseFlags(int argc, char** argv) {
  static char repetitions[] = "--benchmark_repetitions=5";
  static char aggregates_only[] = "--benchmark_report_aggregates_only=true";
  std::vector<char*> rest = {argv[0], repetitions, aggregates_only};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--trace=")) {
      TracePath() = std::string(arg.substr(arg.find('=') + 1));
    } else {
      rest.push_back(argv[i]);
    }
  }
  return rest;
}

}  // namespace
}  // namespace diffsync::engine

int main(int argc, char** argv) {
  std::vector<char*> args = diffsync::engine::ParseFlags(argc, argv);
  int args_count = static_cast<int>(args.size());
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
