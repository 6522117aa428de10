// SqliteStore: the durable engine::Store of the DiffSync server, one SQLite
// file holding every document, its recent changes, every client's view of it
// and the client half of each link to an upstream server, so that a restarted
// server still merges the edits its clients made while it was down, exactly
// where they were typed.
//
// Durability: the file is in WAL mode with synchronous=FULL, so when Commit
// returns OK the batch has been fsync'd and survives a crash or power loss.
// Commit is one transaction: a batch is stored entirely or not at all. Each
// commit costs an fsync, so a busy server merges many requests' batches into
// one (group commit; docs/benchmarks.md, "Store").
//
// Errors name the file and carry SQLite's message. A lock held too long by
// another connection to the file is kUnavailable (retry), a full disk
// kResourceExhausted, an I/O error kIoError, a damaged file or a row that
// does not decode kCorruption (naming the row and the column); a file of a
// newer schema, or not a DiffSync store, is refused at Open with
// kFailedPrecondition. Open migrates a file of an older schema in one
// transaction. The schema and the encoding are in docs/STORAGE.md.
//
// Thread safety: thread-safe. The store holds two connections to the file,
// each behind its own mutex: writes (Commit, DeleteViewsIdleBefore) use one,
// reads (LoadDocument, LoadView, LoadChanges, LoadLink, ListDocuments,
// Counts) the other. WAL lets them run at once, so a commit thread never
// waits for readers nor readers for the commit's fsync; each read sees the
// state after some whole number of commits. Concurrent calls of the same kind
// are serialized. A third connection, on the store's own thread, checkpoints
// the WAL in the background (SqliteOptions::checkpoint_pages).
//
// Example:
//   using diffsync::store::SqliteStore;
//   diffsync::Result<std::unique_ptr<SqliteStore>> store =
//       SqliteStore::Open("/var/lib/diffsync/store.db", {});
//   if (!store.ok()) return store.status();  // names the file and why
//   diffsync::engine::SystemClock clock;
//   diffsync::engine::Server server(**store, clock);
#ifndef DIFFSYNC_STORE_SQLITE_STORE_H_
#define DIFFSYNC_STORE_SQLITE_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "diffsync/engine/store.h"
#include "diffsync/status.h"

struct sqlite3;

namespace diffsync::store {

struct SqliteOptions {
  // How long a statement waits for a lock another process holds on the file
  // before it fails with kUnavailable.
  int busy_timeout_millis = 5000;
  // WAL frames (pages) after which a background thread copies the WAL back
  // into the file (a passive checkpoint), off the committing thread. A
  // large WAL is checkpointed less often and writes a page rewritten many
  // times once; a WAL four times this size is checkpointed by the
  // committing thread itself, so it stays bounded if the thread lags.
  int checkpoint_pages = 16384;
};

struct StoreCounts {
  int64_t documents = 0;
  int64_t views = 0;
  int64_t changes = 0;
  friend bool operator==(const StoreCounts&, const StoreCounts&) = default;
};

class SqliteStore final : public engine::Store {
 public:
  // The schema this build reads and writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 4;

  // Opens the store at `path`, creating the file and its schema if needed
  // and migrating a file of an older schema.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   SqliteOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::optional<engine::DocumentRecord>> LoadDocument(
      const std::string& name) override;
  Result<std::optional<engine::ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override;
  Result<std::vector<engine::ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override;
  Result<std::optional<engine::LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override;
  // One transaction: the batch's deletions (a document's with its changes),
  // then its upserts, appended changes and trims.
  Status Commit(engine::WriteBatch batch) override;

  // Names of all documents, in byte order.
  Result<std::vector<std::string>> ListDocuments();
  // Deletes the views last seen before `millis`; returns how many.
  Result<int64_t> DeleteViewsIdleBefore(int64_t millis);
  // Documents, views and changes, from one consistent snapshot.
  Result<StoreCounts> Counts();

  const std::string& path() const { return path_; }

 private:
  class Connection;

  SqliteStore(std::string path, std::unique_ptr<Connection> writer,
              std::unique_ptr<Connection> reader,
              std::unique_ptr<Connection> checkpointer, int checkpoint_pages);
  // SQLite's WAL hook on the writer, after each commit.
  static int OnWalCommit(void* store, sqlite3* db, const char* name,
                         int frames);
  void CheckpointLoop();

  const std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;  // Guarded by write_mu_.
  std::mutex read_mu_;
  std::unique_ptr<Connection> reader_;  // Guarded by read_mu_.
  std::unique_ptr<Connection> checkpointer_;  // The checkpoint thread's.
  const int checkpoint_pages_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // Guarded by checkpoint_mu_.
  bool stopping_ = false;           // Guarded by checkpoint_mu_.
  std::thread checkpoint_thread_;
};

}  // namespace diffsync::store

#endif  // DIFFSYNC_STORE_SQLITE_STORE_H_
