// `diffsync sync FILE --server URL --doc NAME [--once]`: keeps FILE in step
// with a server document (client::FileSync), watching the file and polling
// the server until interrupted, or one step with --once.
//
// Exit status: 0 in sync; 2 bad usage, a file or state problem; 3 the server
// could not be reached (--once; the edits are kept for the next run).
#ifndef DIFFSYNC_TOOLS_SYNC_COMMAND_H_
#define DIFFSYNC_TOOLS_SYNC_COMMAND_H_

#include <string>

namespace diffsync::cli {

struct SyncArgs {
  std::string file;
  std::string server;
  std::string doc;
  std::string state;  // Empty: beside the file.
  bool once = false;
  double interval_seconds = 2;  // Between polls of the server.
  double timeout_seconds = 10;
  // One JSON line per step on stdout (for scripts and tests):
  // {"online":B,"file_written":B,"pending_edits":N,"dropped_hunks":N}.
  bool events = false;
};

int RunSync(const SyncArgs& args);

}  // namespace diffsync::cli

#endif  // DIFFSYNC_TOOLS_SYNC_COMMAND_H_
