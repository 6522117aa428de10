// GroupCommitStore: the Store the server's engine writes to. Commit stages a
// batch in memory and returns at once; a commit thread writes everything
// staged so far to the durable store in one transaction, so that many
// requests share one fsync. Replies wait for WhenDurable: a reply never
// acknowledges what is not durable.
//
// If a durable commit fails, every staged batch is dropped (later batches
// may build on the failed one), every waiter is told, and the owner must make
// the engine forget its cached state (engine::Server::DropCache) so that it
// reloads what is durable. Clients get no acknowledgement and retry.
//
// Thread safety: Load*, Commit and WhenDurable must be called on one thread
// (the service thread); completions are run there through `post`. The
// destructor waits for the commit thread.
//
// Example:
//   GroupCommitStore staged(sqlite, [&](auto fn) { asio::post(io, fn); });
//   engine::Server server(staged, clock);
//   Result<Message> reply = server.Handle(request);
//   staged.WhenDurable([=](Status s) { if (s.ok()) Send(*reply); });
#ifndef DIFFSYNC_SERVER_GROUP_COMMIT_H_
#define DIFFSYNC_SERVER_GROUP_COMMIT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "diffsync/engine/store.h"

namespace diffsync::server {

class GroupCommitStore final : public engine::Store {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Called on the commit thread after each durable commit, with the number
  // of staged batches it held and how long it took.
  using CommitObserver = std::function<void(size_t batches, double seconds,
                                            const Status& status)>;

  // `durable` must allow Load* on the service thread while Commit runs on
  // the commit thread (SqliteStore does). `on_failure` runs on the service
  // thread when a commit failed, before the waiters are told.
  //
  // `gather`: a commit starts at least this long after the previous one
  // started, so that under load each transaction (and its fsync) carries
  // more requests; an idle store commits at once. Zero commits whenever
  // anything is staged.
  GroupCommitStore(engine::Store& durable, Post post,
                   std::function<void(const Status&)> on_failure,
                   CommitObserver observer = nullptr,
                   std::chrono::microseconds gather = {});
  ~GroupCommitStore() override;
  GroupCommitStore(const GroupCommitStore&) = delete;
  GroupCommitStore& operator=(const GroupCommitStore&) = delete;

  Result<std::optional<engine::DocumentRecord>> LoadDocument(
      const std::string& name) override;
  Result<std::optional<engine::ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override;
  Result<std::vector<engine::ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override;
  Result<std::optional<engine::LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override;
  // Stages the batch; always OK.
  Status Commit(engine::WriteBatch batch) override;

  // Runs `done` (on the service thread) once every batch staged so far is
  // durable, with OK, or with the error that made them fail.
  void WhenDurable(std::function<void(Status)> done);

  // Batches staged and not yet durable (for metrics and tests).
  int64_t pending() const { return staged_seq_ - durable_seq_; }

 private:
  // A staged request's batch, shared between the loads' overlay and the
  // commit queue: one copy of its records, and no per-record work on the
  // service thread beyond that copy.
  struct StagedBatch {
    engine::WriteBatch batch;
    int64_t seq = 0;
  };
  using Queue = std::vector<std::shared_ptr<const StagedBatch>>;
  // Merges staged batches into the one WriteBatch a durable commit writes
  // (commit thread).
  static engine::WriteBatch MergeForCommit(const Queue& queue);

  void CommitLoop();
  void OnCommitted(int64_t up_to, const Status& status);

  engine::Store& durable_;
  Post post_;
  std::function<void(const Status&)> on_failure_;
  CommitObserver observer_;
  const std::chrono::microseconds gather_;

  // Service thread only.
  // Staged or being committed, oldest first: newer than the durable store.
  // Loads search it newest first; they are rare (the engine caches what it
  // loaded), staging is on every request.
  std::deque<std::shared_ptr<const StagedBatch>> overlay_;
  int64_t staged_seq_ = 0;
  int64_t durable_seq_ = 0;
  // Waiting for the batches up to their seq; seqs only grow, so the oldest
  // is at the front.
  std::deque<std::pair<int64_t, std::function<void(Status)>>> waiters_;

  // Shared with the commit thread.
  std::mutex mu_;
  std::condition_variable cv_;
  Queue queue_;
  bool failed_ = false;  // A commit failed; nothing more until OnCommitted.
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_GROUP_COMMIT_H_
