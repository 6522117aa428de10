#include "sync_command.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>
#include <thread>

#include "diffsync/client/file_sync.h"
#include "exit_codes.h"

namespace diffsync::cli {
namespace {

using client::ConnectionState;

std::atomic<bool> g_stop{false};
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int) {
  g_stop = true;
  const char byte = 0;
  // Async-signal-safe; the watcher thread wakes the sync.
  if (write(g_signal_pipe[1], &byte, 1) < 0) {
  }
}

// A thread that waits for the file to be saved (inotify on its directory:
// editors save by rename as often as in place) or for a signal, and wakes
// the sync loop, so a save is sent at once and pushes need no polling.
class Watcher {
 public:
  Watcher(const std::string& file, client::FileSync& sync) : sync_(sync) {
    const std::filesystem::path path = std::filesystem::absolute(file);
    name_ = path.filename().string();
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0) {
      // Not IN_CREATE: a file just created is still empty or half written
      // (IN_CLOSE_WRITE follows).
      inotify_add_watch(fd_, path.parent_path().c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE);
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() {
    g_stop = true;
    OnSignal(0);
    thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  // True once after each change of the file.
  bool TakeChanged() { return changed_.exchange(false); }

 private:
  void Run() {
    pollfd fds[2] = {{g_signal_pipe[0], POLLIN, 0}, {fd_, POLLIN, 0}};
    while (!g_stop) {
      if (poll(fds, fd_ >= 0 ? 2 : 1, -1) < 0) continue;
      if (fds[0].revents != 0) break;
      if (fd_ >= 0 && (fds[1].revents & POLLIN) != 0 && Drain()) {
        changed_ = true;
        sync_.Wake();
      }
    }
    sync_.Wake();
  }

  // Reads the pending events; true if one is about the file.
  bool Drain() {
    alignas(inotify_event) char buffer[4096];
    bool about_file = false;
    ssize_t n;
    while ((n = read(fd_, buffer, sizeof(buffer))) > 0) {
      for (ssize_t at = 0; at < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
        if (e->len > 0 && name_ == e->name) about_file = true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    return about_file;
  }

  client::FileSync& sync_;
  std::string name_;
  int fd_ = -1;
  std::atomic<bool> changed_{false};
  std::thread thread_;
};

struct Output {
  bool tty = false;
  bool events = false;
  int64_t sent = 0;
  int64_t received = 0;
  ConnectionState state = ConnectionState::kOffline;
  std::string transport;
  // Told once until they change (or the server answers again).
  std::string offline_told;
  std::string fallback_told;
  std::string last_sync = "never";
  size_t pending = 0;

  void Line() {
    if (!tty) return;
    std::cerr << "\r\033[K" << client::ToString(state);
    if (state == ConnectionState::kConnected)
      std::cerr << " (" << transport << ")";
    std::cerr << " | last sync " << last_sync << " | pending edits " << pending
              << " | sent " << sent << " B, received " << received << " B"
              << std::flush;
  }

  void Tell(const std::string& message) {
    std::cerr << (tty ? "\r\033[K" : "") << "diffsync: " << message << "\n";
    Line();
  }

  void Connection(ConnectionState now, const Status& detail,
                  std::string_view via) {
    state = now;
    transport = std::string(via);
    if (now == ConnectionState::kOffline) {
      const std::string problem = detail.message();
      if (problem != offline_told) {
        offline_told = problem;
        Tell("offline: " + problem + "; edits are kept, retrying");
      }
      if (events) {
        std::cout << "{\"online\":false,\"file_written\":false,"
                     "\"pending_edits\":"
                  << pending
                  << ",\"dropped_hunks\":0,\"push\":false,\"transport\":\"\"}"
                  << std::endl;
      }
    } else if (now == ConnectionState::kConnected && !detail.ok()) {
      const std::string fallback = "no WebSocket (" + detail.message() +
                                   "); using the HTTP gateway, polling";
      if (fallback != fallback_told) {
        fallback_told = fallback;
        Tell(fallback);
      }
    }
    Line();
  }

  // After a reply or push over `url`: the server answers (again).
  void Step(const client::FileSyncReport& r, std::string_view via,
            const std::string& url) {
    if (!offline_told.empty()) {
      offline_told.clear();
      Tell("connected to " + url + " again");
    }
    if (events) {
      std::cout << "{\"online\":" << (r.online ? "true" : "false")
                << ",\"file_written\":" << (r.file_written ? "true" : "false")
                << ",\"pending_edits\":" << r.pending_edits
                << ",\"dropped_hunks\":" << r.dropped_hunks.size()
                << ",\"push\":" << (r.push ? "true" : "false")
                << ",\"transport\":\"" << via << "\"}" << std::endl;
    }
    for (const std::string& hunk : r.dropped_hunks) {
      Tell(
          "an edit of yours lost to another client's edit of the same text "
          "and was not applied:\n" +
          hunk);
    }
    for (const std::string& e : r.errors) Tell(e);
    sent += r.bytes_sent;
    received += r.bytes_received;
    pending = r.pending_edits;
    char when[16];
    const std::time_t now = std::time(nullptr);
    std::strftime(when, sizeof(when), "%H:%M:%S", std::localtime(&now));
    last_sync = when;
    Line();
  }
};

// Whether a server's error refuses our token: an `x:unauthorized` or
// `x:forbidden` line (the client reports "CODE: MESSAGE"), or the gateway's
// HTTP 401/403 carrying one.
bool IsRefusal(std::string_view error) {
  return error.starts_with("unauthorized: ") ||
         error.starts_with("forbidden: ") ||
         error.find(" answered 401: ") != std::string_view::npos ||
         error.find(" answered 403: ") != std::string_view::npos;
}

int Refused(std::string_view why, size_t pending) {
  std::cerr << "diffsync: the server refused the token: " << why
            << "\ndiffsync: nothing was changed; " << pending
            << " local edit(s) kept (try again with a valid --token)\n";
  return kExitRefused;
}

// The refusal among a report's errors, if any.
std::optional<std::string> Refusal(const client::FileSyncReport& report) {
  for (const std::string& e : report.errors) {
    if (IsRefusal(e)) return e;
  }
  return std::nullopt;
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace

int RunSync(const SyncArgs& args) {
  Output out;
  out.tty = !args.once && isatty(STDERR_FILENO) != 0;
  out.events = args.events;
  client::FileSync* running = nullptr;
  std::string offline_reason;
  client::FileSyncOptions options;
  options.file = args.file;
  options.server = args.server;
  options.document = args.doc;
  options.state_path = args.state;
  options.token = args.token;
  options.timeout = Millis(args.timeout_seconds);
  options.poll_interval = Millis(args.interval_seconds);
  options.websocket = args.transport != "http";
  options.http_fallback = args.transport != "ws";
  options.on_connection = [&](ConnectionState state, const Status& detail) {
    if (state == ConnectionState::kOffline) offline_reason = detail.message();
    if (running != nullptr) {
      out.Connection(state, detail, running->client().transport());
    }
  };
  Result<std::unique_ptr<client::FileSync>> sync =
      client::FileSync::Open(std::move(options));
  if (!sync.ok()) {
    std::cerr << "diffsync: " << sync.status().message() << "\n";
    return kExitBadInput;
  }
  if (args.once) {
    Result<client::FileSyncReport> r = (*sync)->SyncOnce();
    if (!r.ok()) {
      if (IsRefusal(r.status().message())) {
        return Refused(r.status().message(), (*sync)->client().pending_edits());
      }
      std::cerr << "diffsync: " << r.status().message() << "\n";
      return kExitBadInput;
    }
    if (std::optional<std::string> refusal = Refusal(*r)) {
      return Refused(*refusal, r->pending_edits);
    }
    out.Step(*r, (*sync)->client().transport(),
             (*sync)->client().transport_url());
    if (!r->online) {
      std::cerr << "diffsync: " << args.server << " is unreachable ("
                << offline_reason << "); " << r->pending_edits
                << " edit(s) kept for the next sync\n";
      return kExitUnreachable;
    }
    return kExitOk;
  }

  if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::cerr << "diffsync: cannot create a pipe\n";
    return kExitBadInput;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  running = sync->get();
  int code = kExitOk;
  {
    Watcher watcher(args.file, *running);
    while (!g_stop) {
      if (watcher.TakeChanged()) running->FileChanged();
      // Pushes, saves (the watcher) and signals end the wait early.
      Result<std::optional<client::FileSyncReport>> r =
          running->Poll(std::chrono::minutes(1));
      if (!r.ok()) {
        if (IsRefusal(r.status().message())) {
          code = Refused(r.status().message(),
                         running->client().pending_edits());
          break;
        }
        out.Tell(r.status().message());
        code = kExitBadInput;
        break;
      }
      if (r->has_value()) {
        if (std::optional<std::string> refusal = Refusal(**r)) {
          code = Refused(*refusal, (*r)->pending_edits);
          break;
        }
        out.Step(**r, running->client().transport(),
                 running->client().transport_url());
      }
    }
  }
  if (out.tty) std::cerr << "\n";
  return code;
}

}  // namespace diffsync::cli
