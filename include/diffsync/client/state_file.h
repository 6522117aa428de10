// The state file of a synced local file: everything `diffsync sync` must
// remember between runs — which server, document and client id, the text it
// last wrote into the local file (so it can tell whether the user edited the
// file since), and the client document's whole state (engine::ClientState) —
// as one JSON object.
//
// Saving is atomic and durable: the JSON goes to NAME.tmp, which is fsynced
// and renamed over NAME, then the directory is fsynced. A crash at any point
// leaves either the old file or the new one, never a mix; a NAME.tmp left by
// a crash is ignored by loading and replaced by the next save. Loading never
// trusts the file: malformed, truncated or foreign JSON is an error naming
// the path and what is wrong. The client state it holds is checked by
// engine::ClientDocument::Restore, not here.
//
// Format, version 1:
//   {"format": "diffsync-sync-state", "version": 1, "server_url": S,
//    "document": S, "client_id": S, "file_path": S, "last_written_text": S,
//    "client": {"text": S, "shadow": S, "confirmed": S, "client_version": N,
//               "server_version": N, "delta_ok": B, "joined": B,
//               "rebase": B, "local_delta": S or null,
//               "edit_stack": [{"kind": "delta" or "raw", "overwrite": B,
//                               "version": N, "data": S, "checksum": N}]}}
// with the meanings of engine::ClientState. Every key is required except
// "checksum" (absent when the edit has none); no other key is allowed (of a
// key given twice, the last counts, as JSON parsers commonly do).
//
// Thread safety: free functions over values. Two processes saving the same
// path at once would share NAME.tmp; callers hold one writer per path.
//
// Example:
//   SyncState state;
//   state.server_url = "http://127.0.0.1:8080";
//   state.document = "notes";
//   state.client_id = "k3x9";
//   state.file_path = "notes.txt";
//   state.client = doc.SaveState();          // doc's document is "notes"
//   if (Status s = SaveStateFile("notes.state.json", state); !s.ok()) ...
//   Result<SyncState> loaded = LoadStateFile("notes.state.json");
//   if (loaded.status().code() == StatusCode::kNotFound) ... // first run
//   auto doc = engine::ClientDocument::Restore(loaded->client);
#ifndef DIFFSYNC_CLIENT_STATE_FILE_H_
#define DIFFSYNC_CLIENT_STATE_FILE_H_

#include <string>
#include <string_view>

#include "diffsync/engine/client.h"
#include "diffsync/status.h"

namespace diffsync::client {

// The version this build writes and the only one it reads.
inline constexpr int kStateFileVersion = 1;

struct SyncState {
  std::string server_url;
  // The document's name; client.document must be the same.
  std::string document;
  std::string client_id;
  // The local file this state belongs to, as the user named it.
  std::string file_path;
  // What the last run wrote into (or read from) the local file: if the file
  // now differs, the user edited it.
  std::string last_written_text;
  engine::ClientState client;

  friend bool operator==(const SyncState&, const SyncState&) = default;
};

// The JSON text of `state` (one line, ending in a line break). Errors
// (kInvalidArgument, naming the field): a string that is not UTF-8 (JSON
// cannot hold it), or client.document differing from document.
Result<std::string> FormatStateFile(const SyncState& state);

// Reads FormatStateFile's output back. Errors name what is wrong:
// kFailedPrecondition for a version other than kStateFileVersion (a newer
// diffsync wrote it); kCorruption for anything else — not JSON (truncated,
// invalid UTF-8; the error names the byte offset), not a state file, a key
// missing, unknown or of the wrong type (named by its path, e.g.
// "client.edit_stack[2].version"), a number out of range.
Result<SyncState> ParseStateFile(std::string_view json);

// Writes `state` to `path` atomically and durably (see above).
// Errors: FormatStateFile's; kIoError naming the step that failed (the old
// file, if any, is then intact, and NAME.tmp removed).
Status SaveStateFile(const std::string& path, const SyncState& state);

// Reads `path`. Errors: kNotFound if it does not exist; kIoError if it
// cannot be read; ParseStateFile's, prefixed with the path.
Result<SyncState> LoadStateFile(const std::string& path);

// Replaces `path` with `contents` as SaveStateFile does (PATH.tmp, fsync,
// rename, fsync of the directory); `mode` is the new file's permission bits.
// For any file that must never be seen half-written.
Status WriteFileAtomically(const std::string& path, std::string_view contents,
                           int mode = 0600);

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_STATE_FILE_H_
