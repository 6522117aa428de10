// Metrics: what diffsyncd counts, exported as Prometheus text at /metrics.
// Wraps prometheus-cpp so the rest of the server records with one call.
//
// Thread safety: every method is thread-safe (prometheus-cpp metrics are
// atomic), so the commit thread records store latency directly.
//
// Example:
//   Metrics metrics;
//   metrics.RecordSync(0.004, 120, 80);
//   std::string text = metrics.Render();  // "# HELP diffsync_syncs_total ..."
#ifndef DIFFSYNC_SERVER_METRICS_H_
#define DIFFSYNC_SERVER_METRICS_H_

#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace diffsync::server {

class Metrics {
 public:
  Metrics();

  // One request answered: seconds from receipt to the reply being sent
  // (including the wait for durability), and its size both ways.
  void RecordSync(double seconds, size_t bytes_in, size_t bytes_out);
  // A push sent to a WebSocket client.
  void RecordPush(size_t bytes_out);
  // One durable commit of `batches` staged batches.
  void RecordCommit(size_t batches, double seconds, bool ok);
  // A problem, by kind: a protocol error code ("bad-delta"), or one of the
  // server's own ("malformed-request", "store", "too-large-request").
  void RecordError(std::string_view kind);

  // The engine's merge counters (engine::Server::Stats), as totals so far.
  void SetEngineTotals(int64_t exact_hunks, int64_t dropped_hunks,
                       int64_t diffed_merges, int64_t resyncs);

  prometheus::Gauge& connections() { return *connections_; }
  prometheus::Gauge& documents() { return *documents_; }
  prometheus::Gauge& views() { return *views_; }

  // The Prometheus text exposition format.
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* connections_;
  prometheus::Gauge* documents_;
  prometheus::Gauge* views_;
  prometheus::Counter* syncs_;
  prometheus::Counter* pushes_;
  prometheus::Counter* bytes_in_;
  prometheus::Counter* bytes_out_;
  prometheus::Histogram* sync_seconds_;
  prometheus::Histogram* commit_seconds_;
  prometheus::Histogram* commit_batches_;
  prometheus::Counter* commit_failures_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Gauge* exact_hunks_;
  prometheus::Gauge* dropped_hunks_;
  prometheus::Gauge* diffed_merges_;
  prometheus::Gauge* resyncs_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_METRICS_H_
