// `diffsync sync FILE --server URL --doc NAME [--once]`: keeps FILE in step
// with a server document (client::FileSync): over a WebSocket the server
// pushes other clients' edits as they happen; a thread watches the file
// (inotify) and hands each save over at once. Without a WebSocket (a plain
// MobWrite gateway) it polls. Runs until interrupted, or one sync with
// --once.
//
// Exit status: 0 in sync; 2 bad usage, a file or state problem, a request
// the server refused; 3 the server could not be reached (--once; the edits
// are kept for the next run).
#ifndef DIFFSYNC_TOOLS_SYNC_COMMAND_H_
#define DIFFSYNC_TOOLS_SYNC_COMMAND_H_

#include <string>

namespace diffsync::cli {

struct SyncArgs {
  std::string file;
  std::string server;
  std::string doc;
  std::string state;  // Empty: beside the file.
  std::string token;  // Sent as the protocol's t: line.
  // auto: WebSocket, else the HTTP gateway; ws or http: only that one.
  std::string transport = "auto";
  bool once = false;
  double interval_seconds = 2;  // Between polls, over HTTP only.
  double timeout_seconds = 10;
  // One JSON line per step on stdout (for scripts and tests):
  // {"online":B,"file_written":B,"pending_edits":N,"dropped_hunks":N,
  //  "push":B,"transport":S}, and {"online":false,...} when the connection
  // is lost.
  bool events = false;
};

int RunSync(const SyncArgs& args);

}  // namespace diffsync::cli

#endif  // DIFFSYNC_TOOLS_SYNC_COMMAND_H_
