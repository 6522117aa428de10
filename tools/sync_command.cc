#include "sync_command.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

#include "diffsync/client/file_sync.h"
#include "exit_codes.h"

namespace diffsync::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// Tells the loop when the file's directory changed (the file saved, moved
// in or removed), so a save is sent at once rather than at the next poll.
class DirectoryWatch {
 public:
  explicit DirectoryWatch(const std::string& file) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return;
    std::filesystem::path dir =
        std::filesystem::absolute(file).parent_path();
    inotify_add_watch(fd_, dir.c_str(),
                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
  }
  ~DirectoryWatch() {
    if (fd_ >= 0) close(fd_);
  }
  // Waits up to `timeout` for a change (or a signal); drains the events.
  void Wait(std::chrono::milliseconds timeout) {
    if (fd_ < 0) {
      poll(nullptr, 0, static_cast<int>(timeout.count()));
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) > 0) {
      char buffer[4096];
      while (read(fd_, buffer, sizeof(buffer)) > 0) {
      }
    }
  }

 private:
  int fd_ = -1;
};

void Report(const client::FileSyncReport& r, bool tty, bool events,
            int64_t& sent, int64_t& received) {
  if (events) {
    std::cout << "{\"online\":" << (r.online ? "true" : "false")
              << ",\"file_written\":" << (r.file_written ? "true" : "false")
              << ",\"pending_edits\":" << r.pending_edits
              << ",\"dropped_hunks\":" << r.dropped_hunks.size() << "}"
              << std::endl;
  }
  for (const std::string& hunk : r.dropped_hunks) {
    std::cerr << "diffsync: an edit of yours lost to another client's edit of "
                 "the same text and was not applied:\n"
              << hunk;
  }
  for (const std::string& e : r.errors) std::cerr << "diffsync: " << e << "\n";
  sent += r.bytes_sent;
  received += r.bytes_received;
  if (!tty) return;
  char when[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%H:%M:%S", std::localtime(&now));
  std::cerr << "\r\033[K" << (r.online ? "connected" : "offline")
            << " | last sync " << when << " | pending edits "
            << r.pending_edits << " | sent " << sent << " B, received "
            << received << " B" << std::flush;
}

}  // namespace

int RunSync(const SyncArgs& args) {
  Result<client::FileSync> sync = client::FileSync::Open(
      {.file = args.file,
       .server = args.server,
       .document = args.doc,
       .state_path = args.state,
       .timeout = std::chrono::milliseconds(
           static_cast<int64_t>(args.timeout_seconds * 1000))});
  if (!sync.ok()) {
    std::cerr << "diffsync: " << sync.status().message() << "\n";
    return kExitBadInput;
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  int64_t sent = 0, received = 0;
  if (args.once) {
    Result<client::FileSyncReport> r = sync->SyncOnce();
    if (!r.ok()) {
      std::cerr << "diffsync: " << r.status().message() << "\n";
      return kExitBadInput;
    }
    Report(*r, false, args.events, sent, received);
    if (!r->online) {
      std::cerr << "diffsync: " << args.server << " is unreachable; "
                << r->pending_edits << " edit(s) kept for the next sync\n";
      return kExitUnreachable;
    }
    return kExitOk;
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  DirectoryWatch watch(args.file);
  std::mt19937 rng(std::random_device{}());
  const auto interval = std::chrono::milliseconds(
      static_cast<int64_t>(args.interval_seconds * 1000));
  auto backoff = interval;
  while (!g_stop) {
    Result<client::FileSyncReport> r = sync->SyncOnce();
    if (!r.ok()) {
      std::cerr << (tty ? "\n" : "") << "diffsync: " << r.status().message()
                << "\n";
      return kExitBadInput;
    }
    Report(*r, tty, args.events, sent, received);
    if (r->online) {
      backoff = interval;
    } else {
      // Exponential backoff with jitter, up to a minute.
      backoff = std::min<std::chrono::milliseconds>(backoff * 2,
                                                    std::chrono::seconds(60));
    }
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    watch.Wait(std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng))));
  }
  if (tty) std::cerr << "\n";
  return kExitOk;
}

}  // namespace diffsync::cli
