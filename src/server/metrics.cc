#include "server/metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace diffsync::server {
namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5};
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  auto& r = *registry_;
  connections_ = &BuildGauge()
                      .Name("diffsync_connections")
                      .Help("Open WebSocket connections")
                      .Register(r)
                      .Add({});
  documents_ = &BuildGauge()
                    .Name("diffsync_documents")
                    .Help("Documents loaded in memory")
                    .Register(r)
                    .Add({});
  views_ = &BuildGauge()
                .Name("diffsync_views")
                .Help("Client views loaded in memory")
                .Register(r)
                .Add({});
  syncs_ = &BuildCounter()
                .Name("diffsync_syncs_total")
                .Help("Requests answered (rate() gives syncs per second)")
                .Register(r)
                .Add({});
  pushes_ = &BuildCounter()
                 .Name("diffsync_pushes_total")
                 .Help("Edits pushed to WebSocket clients without a request")
                 .Register(r)
                 .Add({});
  auto& bytes = BuildCounter()
                    .Name("diffsync_bytes_total")
                    .Help("Protocol bytes received and sent")
                    .Register(r);
  bytes_in_ = &bytes.Add({{"direction", "in"}});
  bytes_out_ = &bytes.Add({{"direction", "out"}});
  sync_seconds_ = &BuildHistogram()
                       .Name("diffsync_sync_seconds")
                       .Help("From a request's arrival to its durable reply")
                       .Register(r)
                       .Add({}, LatencyBuckets());
  commit_seconds_ = &BuildHistogram()
                         .Name("diffsync_store_commit_seconds")
                         .Help("Durable store commits (one per group)")
                         .Register(r)
                         .Add({}, LatencyBuckets());
  commit_batches_ = &BuildHistogram()
                         .Name("diffsync_store_commit_batches")
                         .Help("Requests' batches written per durable commit")
                         .Register(r)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      1, 2, 4, 8, 16, 32, 64, 128, 256});
  commit_failures_ = &BuildCounter()
                          .Name("diffsync_store_commit_failures_total")
                          .Help("Durable commits that failed")
                          .Register(r)
                          .Add({});
  errors_ = &BuildCounter()
                 .Name("diffsync_errors_total")
                 .Help("Problems by kind (protocol error codes and the "
                       "server's own)")
                 .Register(r);
  // Present from the start (at 0), so that rate() and alerts see them.
  for (const char* kind :
       {"malformed-request", "bad-buffer", "too-large-request", "store",
        "bad-delta", "version-mismatch", "future-version", "too-large",
        "checksum", "no-client-id"}) {
    errors_->Add({{"kind", kind}});
  }
  auto& merges = BuildGauge()
                     .Name("diffsync_engine_hunks")
                     .Help("Client hunks merged since start, by outcome")
                     .Register(r);
  exact_hunks_ = &merges.Add({{"outcome", "exact"}});
  dropped_hunks_ = &merges.Add({{"outcome", "dropped"}});
  diffed_merges_ = &BuildGauge()
                        .Name("diffsync_engine_diffed_merges")
                        .Help("Merges without exact history since start")
                        .Register(r)
                        .Add({});
  resyncs_ = &BuildGauge()
                  .Name("diffsync_engine_resyncs")
                  .Help("Full-text resyncs sent since start")
                  .Register(r)
                  .Add({});
}

void Metrics::SetEngineTotals(int64_t exact_hunks, int64_t dropped_hunks,
                              int64_t diffed_merges, int64_t resyncs) {
  exact_hunks_->Set(static_cast<double>(exact_hunks));
  dropped_hunks_->Set(static_cast<double>(dropped_hunks));
  diffed_merges_->Set(static_cast<double>(diffed_merges));
  resyncs_->Set(static_cast<double>(resyncs));
}

void Metrics::RecordSync(double seconds, size_t bytes_in, size_t bytes_out) {
  syncs_->Increment();
  sync_seconds_->Observe(seconds);
  bytes_in_->Increment(static_cast<double>(bytes_in));
  bytes_out_->Increment(static_cast<double>(bytes_out));
}

void Metrics::RecordPush(size_t bytes_out) {
  pushes_->Increment();
  bytes_out_->Increment(static_cast<double>(bytes_out));
}

void Metrics::RecordCommit(size_t batches, double seconds, bool ok) {
  commit_seconds_->Observe(seconds);
  commit_batches_->Observe(static_cast<double>(batches));
  if (!ok) commit_failures_->Increment();
}

void Metrics::RecordError(std::string_view kind) {
  errors_->Add({{"kind", std::string(kind)}}).Increment();
}

std::string Metrics::Render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace diffsync::server
