// FileSync: keeps one local file and one server document in step,
// offline-first. The client's whole state (shadow, versions, unacknowledged
// edits, the text it last wrote into the file) is saved atomically after
// every step, so edits made while the server is unreachable, or while no
// FileSync runs at all, are merged when it is back.
//
// One step (SyncOnce): read the file; if it differs from what we last wrote
// there, the user edited it and the difference is the local change; send,
// apply the server's answer (remote edits merge with the local change);
// write the result back atomically (temp file + rename) unless the user
// saved again meanwhile, in which case that newer edit is merged first.
//
// Thread safety: not thread-safe.
//
// Example:
//   Result<FileSync> sync = FileSync::Open({.file = "notes.txt",
//       .server = "http://127.0.0.1:8080", .document = "notes"});
//   Result<FileSyncReport> r = sync->SyncOnce();  // r->online, r->pending_edits
#ifndef DIFFSYNC_CLIENT_FILE_SYNC_H_
#define DIFFSYNC_CLIENT_FILE_SYNC_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "diffsync/client/http_gateway.h"
#include "diffsync/client/state_file.h"
#include "diffsync/engine/client.h"
#include "diffsync/status.h"

namespace diffsync::client {

struct FileSyncOptions {
  std::string file;
  std::string server;    // http://HOST:PORT[/PATH]
  std::string document;
  // Default: .diffsync/FILE_NAME.state.json beside the file.
  std::string state_path;
  std::chrono::milliseconds timeout{10'000};
};

struct FileSyncReport {
  bool online = false;        // The server answered.
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
  // Errors: a bad URL; a state saved for another server, document or file;
  // an unreadable or corrupt state file.
  static Result<FileSync> Open(FileSyncOptions options);

  // One step, repeated (at most a few cycles) until the server has
  // acknowledged everything or is unreachable. Unreachable is not an error:
  // the report says offline and the edits stay saved. Errors: the file is
  // unreadable, not UTF-8 or was deleted (nothing is sent; the last synced
  // text stays in the state); the state cannot be saved.
  Result<FileSyncReport> SyncOnce();

  const std::string& client_id() const { return state_.client_id; }
  const std::string& state_path() const { return options_.state_path; }

 private:
  FileSync(FileSyncOptions options, HttpGateway gateway, SyncState state,
           engine::ClientDocument doc);
  Status Save();

  FileSyncOptions options_;
  HttpGateway gateway_;
  SyncState state_;
  engine::ClientDocument doc_;
};

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_FILE_SYNC_H_
