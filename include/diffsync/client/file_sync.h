// FileSync: keeps one local file and one server document in step,
// offline-first, through a client::Client (WebSocket with pushes, HTTP
// gateway as fallback). The client's whole state (shadow, versions,
// unacknowledged edits, the text it last wrote into the file) is saved
// atomically at every step, so edits made while the server is unreachable,
// or while no FileSync runs at all, are merged when it is back.
//
// Local side: before a request the file is read; if it differs from what we
// last wrote there, the user edited it and that is the local change. Remote
// side: after every reply or push, if the document's text differs from the
// file's, it is written back atomically (temp file + rename), unless the
// user saved again meanwhile, in which case that newer edit is merged first.
//
// Two ways to drive it: SyncOnce (one sync, for `diffsync sync --once` and
// scripts), or FileChanged + Poll in a loop (the running `diffsync sync`,
// where pushes arrive between the user's saves).
//
// Thread safety: not thread-safe, except Wake (any thread: ends a Poll's
// wait, e.g. when a watcher sees the file change).
//
// Example:
//   Result<std::unique_ptr<FileSync>> sync = FileSync::Open({.file =
//       "notes.txt", .server = "http://127.0.0.1:8080", .document = "notes"});
//   Result<FileSyncReport> r = (*sync)->SyncOnce();  // r->online, ...
#ifndef DIFFSYNC_CLIENT_FILE_SYNC_H_
#define DIFFSYNC_CLIENT_FILE_SYNC_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "diffsync/client/client.h"
#include "diffsync/status.h"

namespace diffsync::client {

struct FileSyncOptions {
  std::string file;
  std::string server;  // http://HOST:PORT[/PATH]
  std::string document;
  // Default: .diffsync/FILE_NAME.state.json beside the file.
  std::string state_path;
  std::string token;  // Sent as the protocol's t: line.
  std::chrono::milliseconds timeout{10'000};
  // Between polls when only the HTTP gateway can be used.
  std::chrono::milliseconds poll_interval{2'000};
  bool websocket = true;  // false: HTTP gateway only.
  // With websocket: use the HTTP gateway when the server answers without one.
  bool http_fallback = true;
  // Connection changes (see ClientEvents::on_connection).
  std::function<void(ConnectionState, const Status&)> on_connection;
};

// What one step did: for SyncOnce, the whole sync; for Poll, one reply or
// push.
struct FileSyncReport {
  bool online = false;        // The server answered.
  bool push = false;          // Poll: the step was a push.
  bool file_written = false;  // Remote changes went into the file.
  size_t pending_edits = 0;   // Local edits the server has not acknowledged.
  // Hunks of ours that lost to another client's edit of the same text
  // (patch text), and errors the server reported: the user should be told.
  std::vector<std::string> dropped_hunks;
  std::vector<std::string> errors;
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
};

class FileSync {
 public:
  // Loads the saved state, or starts one (a new client id) if there is none.
  // Does not connect. Errors: a bad URL; a state saved for another server,
  // document or file; an unreadable or corrupt state file.
  static Result<std::unique_ptr<FileSync>> Open(FileSyncOptions options);

  // Reads the file and syncs until the server has acknowledged everything
  // or is unreachable. Unreachable is not an error: the report says offline
  // and the edits stay saved. Errors: the file is unreadable, not UTF-8 or
  // was deleted (nothing is sent; the last synced text stays in the state);
  // the state cannot be saved; Client::Poll's.
  Result<FileSyncReport> SyncOnce();

  // The file may have changed: it is read at the next Poll.
  void FileChanged() { file_changed_ = true; }
  // One step of a running sync: reads the file if it changed (or was never
  // read), then Client::Poll(max_wait). Returns the report of the reply or
  // push handled, if one was. Errors: SyncOnce's.
  Result<std::optional<FileSyncReport>> Poll(
      std::chrono::milliseconds max_wait);
  void Wake() { client_->Wake(); }

  const Client& client() const { return *client_; }
  const std::string& client_id() const { return client_->client_id(); }
  const std::string& state_path() const { return client_->state_path(); }

 private:
  explicit FileSync(FileSyncOptions options) : options_(std::move(options)) {}
  // The user's edit of the file, if any, into the client.
  Status ReadLocal();
  // After a reply or push: the document's text into the file.
  Status WriteBack();
  void OnSynced(const SyncEvent& event);

  FileSyncOptions options_;
  std::unique_ptr<Client> client_;
  bool file_changed_ = true;
  bool joined_ = false;
  bool stepped_ = false;   // A reply or push was handled since report_ began.
  FileSyncReport report_;  // Of the step in progress.
  Status step_error_;      // From an event handler, for the caller.
};

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_FILE_SYNC_H_
