// Benchmarks of Text, the engine's persistent text, on a real editing trace
// (default: ../shared/data/traces/sequential/automerge-paper.json.gz,
// 259,778 keystrokes) and on large synthetic texts.
//
// The trace rows replay every edit and check the final text against the
// trace's endContent (a wrong result aborts the run). "KeepPrevious" rows
// keep the version before each edit alive, as a shadow does; the std::string
// row of that kind has to copy the document per edit to do so. Counters:
// per_edit is time per edit; bytes_* are heap bytes at the end.
//
// usage: text_benchmark [--trace=PATH] [benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/engine/text.h"
#include "engine/trace.h"

namespace diffsync::engine {
namespace {

std::string& TracePath() {
  static auto* path = new std::string(
#ifdef DIFFSYNC_SHARED_DATA_DIR
      DIFFSYNC_SHARED_DATA_DIR "/traces/sequential/automerge-paper.json.gz"
#endif
  );
  return *path;
}

const Trace& GetTrace() {
  static const Trace* trace = [] {
    Result<Trace> t = LoadTrace(TracePath());
    if (!t.ok()) {
      std::fprintf(stderr, "text_benchmark: %s (pass --trace=PATH)\n",
                   t.status().ToString().c_str());
      std::exit(1);
    }
    return new Trace(std::move(*t));
  }();
  return *trace;
}

void Check(bool ok, const char* row) {
  if (!ok) {
    std::fprintf(stderr, "text_benchmark: %s: wrong final text\n", row);
    std::exit(1);
  }
}

void SetPerEdit(benchmark::State& state, size_t edits) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * edits));
  state.counters["per_edit"] =
      benchmark::Counter(static_cast<double>(edits),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

bool IsAscii(const Trace& trace) {
  auto ascii = [](std::string_view s) {
    for (const char c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
  };
  if (!ascii(trace.start_content)) return false;
  for (const TraceEdit& e : trace.edits) {
    if (!ascii(e.insert)) return false;
  }
  return true;
}

// The baseline: one std::string edited in place (UTF-16 positions are byte
// offsets in an ASCII trace).
void BM_TraceStringSplice(benchmark::State& state) {
  const Trace& trace = GetTrace();
  if (!IsAscii(trace)) {
    state.SkipWithError("std::string rows need an ASCII trace");
    return;
  }
  std::string text;
  for (auto _ : state) {
    text = trace.start_content;
    for (const TraceEdit& e : trace.edits) {
      text.replace(static_cast<size_t>(e.pos16), static_cast<size_t>(e.del16),
                   e.insert);
    }
    benchmark::DoNotOptimize(text.data());
  }
  Check(text == trace.end_content, "string splice");
  SetPerEdit(state, trace.edits.size());
}
BENCHMARK(BM_TraceStringSplice)->Unit(benchmark::kMillisecond);

// std::string keeping the previous version: a copy of the document per
// edit, as a client whose shadow is a string.
void BM_TraceStringSpliceKeepPrevious(benchmark::State& state) {
  const Trace& trace = GetTrace();
  if (!IsAscii(trace)) {
    state.SkipWithError("std::string rows need an ASCII trace");
    return;
  }
  std::string text;
  std::string previous;
  for (auto _ : state) {
    text = trace.start_content;
    for (const TraceEdit& e : trace.edits) {
      previous = text;
      text.replace(static_cast<size_t>(e.pos16), static_cast<size_t>(e.del16),
                   e.insert);
    }
    benchmark::DoNotOptimize(previous.data());
  }
  Check(text == trace.end_content, "string splice keep previous");
  SetPerEdit(state, trace.edits.size());
  state.counters["bytes_text+previous"] =
      static_cast<double>(text.capacity() + previous.capacity());
}
BENCHMARK(BM_TraceStringSpliceKeepPrevious)->Unit(benchmark::kMillisecond);

// Each edit makes a new version while the previous one stays alive.
void BM_TraceTextKeepPrevious(benchmark::State& state) {
  const Trace& trace = GetTrace();
  Text text;
  Text previous;
  for (auto _ : state) {
    text = Text::FromValidUtf8(trace.start_content);
    for (const TraceEdit& e : trace.edits) {
      Text next = text.Replace(e.pos16, e.del16, e.insert);
      previous = std::move(text);
      text = std::move(next);
    }
    benchmark::DoNotOptimize(previous);
  }
  Check(text.Equals(trace.end_content), "text keep previous");
  SetPerEdit(state, trace.edits.size());
  state.counters["bytes_text"] = static_cast<double>(text.MemoryBytes());
  const Text both[] = {text, previous};
  state.counters["bytes_text+previous"] =
      static_cast<double>(Text::MemoryBytes(both));
}
BENCHMARK(BM_TraceTextKeepPrevious)->Unit(benchmark::kMillisecond);

// Each edit, then finding it again from the two versions (the first step
// of diffing a shadow against its text).
void BM_TraceTextFindChange(benchmark::State& state) {
  const Trace& trace = GetTrace();
  Text text;
  int64_t checksum = 0;
  for (auto _ : state) {
    text = Text::FromValidUtf8(trace.start_content);
    for (const TraceEdit& e : trace.edits) {
      Text next = text.Replace(e.pos16, e.del16, e.insert);
      checksum += Text::CommonPrefix16(text, next);
      checksum += Text::CommonSuffix16(text, next);
      text = std::move(next);
    }
    benchmark::DoNotOptimize(checksum);
  }
  Check(text.Equals(trace.end_content), "text find change");
  SetPerEdit(state, trace.edits.size());
}
BENCHMARK(BM_TraceTextFindChange)->Unit(benchmark::kMillisecond);

// No other version alive: edits in place.
void BM_TraceTextUnique(benchmark::State& state) {
  const Trace& trace = GetTrace();
  Text text;
  for (auto _ : state) {
    text = Text::FromValidUtf8(trace.start_content);
    for (const TraceEdit& e : trace.edits) {
      text = std::move(text).Replace(e.pos16, e.del16, e.insert);
    }
    benchmark::DoNotOptimize(text);
  }
  Check(text.Equals(trace.end_content), "text unique");
  SetPerEdit(state, trace.edits.size());
}
BENCHMARK(BM_TraceTextUnique)->Unit(benchmark::kMillisecond);

// A snapshot every `range(0)` edits, as a shadow taken at each sync.
void BM_TraceTextSnapshotEvery(benchmark::State& state) {
  const Trace& trace = GetTrace();
  const size_t every = static_cast<size_t>(state.range(0));
  Text text;
  Text snapshot;
  for (auto _ : state) {
    text = Text::FromValidUtf8(trace.start_content);
    for (size_t i = 0; i < trace.edits.size(); ++i) {
      const TraceEdit& e = trace.edits[i];
      if (i % every == 0) snapshot = text;
      text = std::move(text).Replace(e.pos16, e.del16, e.insert);
    }
    benchmark::DoNotOptimize(snapshot);
  }
  Check(text.Equals(trace.end_content), "text snapshot every");
  SetPerEdit(state, trace.edits.size());
}
BENCHMARK(BM_TraceTextSnapshotEvery)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);

// The text work of a per-keystroke sync cycle: the client edits its text,
// finds the change against its shadow (common prefix and suffix) and takes
// the new shadow; the server applies the edit to its shadow and its text,
// backs the shadow up, and finds its text equal to the shadow.
void BM_TraceSyncCycleTextWork(benchmark::State& state) {
  const Trace& trace = GetTrace();
  Text client;
  Text server_text;
  int64_t checksum = 0;
  for (auto _ : state) {
    client = Text::FromValidUtf8(trace.start_content);
    Text client_shadow = client;
    Text server_shadow = client;
    Text backup = client;
    server_text = client;
    for (const TraceEdit& e : trace.edits) {
      client = client.Replace(e.pos16, e.del16, e.insert);
      const int64_t prefix = Text::CommonPrefix16(client_shadow, client);
      const int64_t suffix = Text::CommonSuffix16(client_shadow, client);
      client_shadow = client;
      server_shadow = server_shadow.Replace(e.pos16, e.del16, e.insert);
      backup = server_shadow;
      server_text = server_text.Replace(e.pos16, e.del16, e.insert);
      if (server_text == server_shadow) server_text = server_shadow;
      checksum += prefix + suffix;
    }
    benchmark::DoNotOptimize(checksum);
  }
  Check(
      client.Equals(trace.end_content) && server_text.Equals(trace.end_content),
      "sync cycle text work");
  SetPerEdit(state, trace.edits.size());
}
BENCHMARK(BM_TraceSyncCycleTextWork)->Unit(benchmark::kMillisecond);

// Typing and deleting at random places in a large text, the previous
// version kept: the cost grows with log(size), not size.
void BM_RandomEditsKeepPrevious(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  std::string content;
  content.reserve(size);
  while (content.size() < size) {
    content += "lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
  }
  content.resize(size);
  std::mt19937_64 rng(1);
  Text text = Text::FromValidUtf8(content);
  Text previous;
  bool insert = true;
  for (auto _ : state) {
    const int64_t pos = static_cast<int64_t>(rng() % text.size16());
    Text next = insert ? text.Replace(pos, 0, "x") : text.Replace(pos, 1, "");
    previous = std::move(text);
    text = std::move(next);
    insert = !insert;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_text"] = static_cast<double>(text.MemoryBytes());
}
BENCHMARK(BM_RandomEditsKeepPrevious)->Arg(100'000)->Arg(100'000'000);

void BM_FromValidUtf8(benchmark::State& state) {
  const std::string content(static_cast<size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    Text text = Text::FromValidUtf8(content);
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * content.size()));
}
BENCHMARK(BM_FromValidUtf8)->Arg(100'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace diffsync::engine

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.starts_with("--trace=")) {
      diffsync::engine::TracePath() = std::string(arg.substr(8));
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
