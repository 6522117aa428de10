// The protocol thread's cost per sync without the network: many clients over
// many documents, each inserting a character and syncing through
// SyncService (decode, engine, group-commit staging, encode, pushes to the
// document's other sessions), with the durable store in memory. Compare with
// diffsync_load's end-to-end numbers (docs/benchmarks.md) to see what the
// sockets cost.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "diffsync/engine/client.h"
#include "server/service_test_util.h"
#include "server/sync_service.h"

namespace diffsync::server {
namespace {

class CountingSession final : public Session {
 public:
  void Push(std::string message) override { pending.push_back(std::move(message)); }
  std::vector<std::string> pending;
};

void BM_SyncWithPushes(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const int per_document = static_cast<int>(state.range(1));
  test_util::GatedStore durable;
  engine::SystemClock clock;
  test_util::ManualExecutor executor;
  Metrics metrics;
  SyncService service(durable, clock, {}, executor.Post(), metrics);
  std::vector<engine::ClientDocument> docs;
  std::vector<std::unique_ptr<CountingSession>> sessions;
  for (int i = 0; i < clients; ++i) {
    docs.emplace_back("doc-" + std::to_string(i / per_document));
    sessions.push_back(std::make_unique<CountingSession>());
  }
  std::mt19937 rng(1);
  auto sync = [&](int i) {
    engine::Message request;
    request.documents.push_back(docs[i].MakeRequest());
    request.documents.back().client_id = "client-" + std::to_string(i);
    bool replied = false;
    std::string reply;
    service.Handle(*engine::EncodeMessage(request), sessions[i].get(),
                   [&](std::string r) {
                     reply = std::move(r);
                     replied = true;
                   });
    executor.RunUntil([&] { return replied; });
    (void)docs[i].HandleReply(engine::DecodeMessage(reply)->documents.at(0));
    // Pushes to idle clients are applied, as a WebSocket client does.
    for (int j = (i / per_document) * per_document;
         j < (i / per_document + 1) * per_document && j < clients; ++j) {
      for (const std::string& push : sessions[j]->pending) {
        (void)docs[j].HandleReply(engine::DecodeMessage(push)->documents.at(0));
      }
      sessions[j]->pending.clear();
    }
  };
  for (int i = 0; i < clients; ++i) sync(i);  // Join.
  int next = 0;
  for (auto _ : state) {
    const int i = next;
    next = (next + 1) % clients;
    std::uniform_int_distribution<int64_t> pos(0, docs[i].text().size16());
    (void)docs[i].Replace(pos(rng), 0, "x");
    sync(i);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SyncWithPushes)->Args({1000, 10})->Args({10000, 10})->UseRealTime();

}  // namespace
}  // namespace diffsync::server
