// FaultInjectionStore: an engine::Store that forwards to another one and
// fails on command, for tests of what the engine and the server do when the
// disk does. Every injected failure forwards nothing, as a Commit that
// returns an error must not have stored anything.
//
// Faults (counted from the call that arms them; n = 1 is the next call):
// - FailNthCommit: one commit fails (kUnavailable unless told otherwise).
// - FailCommitsAfter: after n more commits succeed, every commit fails with
//   kResourceExhausted, as on a full disk, until Heal().
// - CrashBeforeNthCommit: that commit is dropped and reported failed, and the
//   store is then down: every call fails with kUnavailable until Restart().
//   This is the process dying before the commit was durable: whoever held
//   state in memory (the engine::Server) must be discarded and a new one made
//   over the store after Restart(), as after a real restart.
// - FailNthLoad: one load (LoadDocument, LoadView, LoadChanges or LoadLink)
//   fails with kIoError.
//
// Thread safety: thread-safe if the wrapped store is; the fault state has its
// own mutex, which is not held while the wrapped store runs.
//
// Example:
//   engine::MemoryStore disk;
//   store::FaultInjectionStore store(disk);
//   engine::Server server(store, clock);
//   store.FailNthCommit(1);
//   EXPECT_FALSE(server.Handle(request).ok());  // nothing acknowledged
//   EXPECT_TRUE(server.Handle(request).ok());   // the client's retry
#ifndef DIFFSYNC_SRC_STORE_FAULT_INJECTION_STORE_H_
#define DIFFSYNC_SRC_STORE_FAULT_INJECTION_STORE_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "diffsync/engine/store.h"
#include "diffsync/status.h"

namespace diffsync::store {

class FaultInjectionStore final : public engine::Store {
 public:
  explicit FaultInjectionStore(engine::Store& inner) : inner_(inner) {}

  Result<std::optional<engine::DocumentRecord>> LoadDocument(
      const std::string& name) override;
  Result<std::optional<engine::ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override;
  Result<std::vector<engine::ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override;
  Result<std::optional<engine::LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override;
  Status Commit(engine::WriteBatch batch) override;

  void FailNthCommit(int64_t n, Status status = Status::Unavailable(
                                    "injected commit failure"));
  void FailCommitsAfter(int64_t n);
  void CrashBeforeNthCommit(int64_t n);
  void FailNthLoad(int64_t n);
  // Brings a crashed store back up; other armed faults stay armed.
  void Restart();
  // Disarms every fault and brings a crashed store back up.
  void Heal();

  bool crashed() const;

  struct Counters {
    int64_t commits = 0;            // Calls of Commit.
    int64_t forwarded_commits = 0;  // Passed on (and their result returned).
    int64_t failed_commits = 0;     // Injected failures, crashes included.
    int64_t loads = 0;              // Of documents, views, changes and links.
    int64_t failed_loads = 0;
  };
  Counters counters() const;

 private:
  // Decides the fate of the next commit or load under the lock: the injected
  // error, or nullopt to forward.
  std::optional<Status> NextCommitFault();
  std::optional<Status> NextLoadFault();

  engine::Store& inner_;
  mutable std::mutex mu_;
  // Calls left before the fault fires (1: the next call); 0 when disarmed.
  int64_t fail_commit_in_ = 0;
  Status fail_commit_status_;
  // Successful commits left before the disk is full; -1 when disarmed.
  int64_t full_after_ = -1;
  int64_t crash_in_ = 0;
  bool crashed_ = false;
  int64_t fail_load_in_ = 0;
  Counters counters_;
};

}  // namespace diffsync::store

#endif  // DIFFSYNC_SRC_STORE_FAULT_INJECTION_STORE_H_
