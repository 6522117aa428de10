// Benchmarks of SqliteStore::Commit on a real file: what one durable commit
// (one fsync) costs, and what group commit saves by merging many requests'
// batches into one transaction.
//
// Rows:
//   commit/batches_per_txn:K/doc_bytes:B  Each request's batch is what one
//       sync cycle writes: one document of B bytes and one view of it
//       (shadow = backup shadow = the document, one stacked edit). K such
//       batches, for K different clients and documents, are merged into one
//       WriteBatch and committed. K = 1 is a commit per request; K = 64 is
//       group commit under load. Time is per commit (transaction);
//       batches_per_second is the throughput in requests.
//   commit_with_history/batches_per_txn:K/doc_bytes:B  The same, plus what
//       schema version 2 adds to each request's batch: the view's anchors
//       (the backup's shared with the shadow's), one appended change and,
//       once the document has kHistory changes stored, the trim of its
//       oldest. The server keeps up to ServerOptions::history_limit (4096)
//       changes; a trim deletes one row whatever the limit, so a small one
//       reaches the steady state sooner.
//   commit_load/batches_per_txn:K/doc_bytes:B/views:V  The shape of
//       diffsync_load's run (docs/benchmarks.md): V views over V / 10
//       documents, each request's batch (its document, its view with
//       anchors, one change) followed by a push's (another view of the same
//       document), K requests per transaction. The table of views is as
//       large as the load test's, so pages are not shared as on 256 keys.
//
// The file is created in a fresh directory under DIFFSYNC_BENCH_DIR (default:
// the system's temporary directory), so the numbers are those of that
// directory's file system and disk.
//
// usage: sqlite_store_benchmark [benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "diffsync/engine/store.h"
#include "diffsync/engine/text.h"
#include "diffsync/store/sqlite_store.h"

namespace diffsync::store {
namespace {

using engine::Text;
using engine::ViewRecord;
using engine::WriteBatch;

std::string BenchDir() {
  const char* env = std::getenv("DIFFSYNC_BENCH_DIR");
  const std::filesystem::path base =
      env != nullptr && *env != '\0' ? std::filesystem::path(env)
                                     : std::filesystem::temp_directory_path();
  std::string pattern = (base / "diffsync-store-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// Request `i`'s batch: client and document i % kKeys, so the table holds
// kKeys documents and views and every write is an update, as in steady
// state.
void AddRequest(int64_t i, const Text& text, bool with_history,
                WriteBatch& batch) {
  constexpr int64_t kKeys = 256;
  constexpr int64_t kHistory = 16;
  const std::string name = "doc" + std::to_string(i % kKeys);
  batch.documents.push_back({name, text, i});
  ViewRecord v;
  v.client_id = "client" + std::to_string(i % kKeys);
  v.document = name;
  v.shadow = text;
  v.backup_shadow = text;
  v.client_version = i;
  v.server_version = i;
  v.backup_server_version = i;
  v.edit_stack = {{'d', i, "=100\t+typed\t=20"}};
  v.last_seen_millis = 1'700'000'000'000 + i;
  if (with_history) {
    v.anchor = {i + 1, "="};
    v.anchor.delta += std::to_string(text.size16());
    v.backup_anchor = v.anchor;
    batch.changes.push_back({name, i, text.size16() - 5, "=100\t+typed\t=20"});
    const int64_t first_kept = i - (kHistory - 1) * kKeys;
    if (first_kept > 0) batch.trimmed_changes.emplace_back(name, first_kept);
  }
  batch.views.push_back(std::move(v));
}

// diffsync_load's shape: request `i` is client i % views syncing document
// (i % views) % (views / 10), then that document's change pushed to the
// next client of the document.
void AddLoadRequest(int64_t i, int64_t views, const Text& text,
                    WriteBatch& batch) {
  const int64_t documents = views / 10;
  const int64_t client = i % views;
  const std::string name = "load-doc-" + std::to_string(client % documents);
  batch.documents.push_back({name, text, i});
  batch.changes.push_back({name, i, text.size16() - 1, "=100\t+x"});
  auto view = [&](int64_t c) {
    ViewRecord v;
    v.client_id = "load-123456-" + std::to_string(c);
    v.document = name;
    v.shadow = text;
    v.backup_shadow = text;
    v.client_version = i;
    v.server_version = i;
    v.backup_server_version = i;
    v.edit_stack = {{'d', i, "=100\t+x"}};
    v.last_seen_millis = 1'700'000'000'000 + i;
    v.anchor = {i + 1, "="};
    v.anchor.delta += std::to_string(text.size16());
    v.backup_anchor = v.anchor;
    return v;
  };
  batch.views.push_back(view(client));
  batch.views.push_back(view((client + documents) % views));
}

// `views` > 0: commit_load.
void Commit(benchmark::State& state, bool with_history, int64_t views = 0) {
  const int64_t per_txn = state.range(0);
  const auto doc_bytes = static_cast<size_t>(state.range(1));
  const std::string dir = BenchDir();
  if (dir.empty()) {
    state.SkipWithError("cannot create a directory for the store");
    return;
  }
  const std::string path = dir + "/bench.db";
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  std::string content;
  while (content.size() < doc_bytes) content += "Lorem ipsum dolor sit 世界. ";
  content.resize(doc_bytes);
  const Text text = Text::FromValidUtf8(content);
  // commit_load: every view and document exists before the timing starts.
  int64_t request = 0;
  if (views > 0) {
    WriteBatch all;
    for (int64_t i = 0; i < views; ++i) AddLoadRequest(i, views, text, all);
    if (Status s = (*store)->Commit(all); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    request = views;
  }
  for (auto _ : state) {
    state.PauseTiming();
    WriteBatch batch;
    for (int64_t k = 0; k < per_txn; ++k) {
      if (views > 0) {
        AddLoadRequest(request++, views, text, batch);
      } else {
        AddRequest(request++, text, with_history, batch);
      }
    }
    state.ResumeTiming();
    if (Status s = (*store)->Commit(batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  const double batches = static_cast<double>(state.iterations() * per_txn);
  state.counters["batches_per_second"] =
      benchmark::Counter(batches, benchmark::Counter::kIsRate);
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((path + suffix).c_str());
  }
  std::remove(dir.c_str());
}

void BM_Commit(benchmark::State& state) { Commit(state, false); }
void BM_CommitWithHistory(benchmark::State& state) { Commit(state, true); }
void BM_CommitLoad(benchmark::State& state) {
  Commit(state, true, state.range(2));
}

BENCHMARK(BM_Commit)
    ->Name("commit")
    ->ArgNames({"batches_per_txn", "doc_bytes"})
    ->Args({1, 1024})
    ->Args({8, 1024})
    ->Args({64, 1024})
    ->Args({1, 100 * 1024})
    ->Args({64, 100 * 1024})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_CommitLoad)
    ->Name("commit_load")
    ->ArgNames({"batches_per_txn", "doc_bytes", "views"})
    ->Args({8, 512, 10000})
    ->Args({64, 512, 10000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_CommitWithHistory)
    ->Name("commit_with_history")
    ->ArgNames({"batches_per_txn", "doc_bytes"})
    ->Args({1, 1024})
    ->Args({64, 1024})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace diffsync::store

BENCHMARK_MAIN();
