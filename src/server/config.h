// DaemonConfig: diffsyncd's settings, from the command line and an optional
// TOML file (`--config`), where every flag is also a key of the same name
// (e.g. `max-document-units = 1000000`); flags win over the file.
//
// Thread safety: plain values and a pure function.
//
// Example:
//   Result<DaemonConfig> config = ParseDaemonConfig(argc, argv);
//   if (!config.ok()) { std::cerr << config.status().ToString(); return 2; }
#ifndef DIFFSYNC_SERVER_CONFIG_H_
#define DIFFSYNC_SERVER_CONFIG_H_

#include <cstdint>
#include <string>

#include "diffsync/status.h"
#include "server/limits.h"
#include "server/sync_service.h"

namespace diffsync::server {

// Where the build writes the editor's bundle (build/web), set by CMake.
std::string DefaultWebRoot();

struct DaemonConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (printed at start).
  std::string data_dir = "./data";
  // Where MobWrite's client posts (`mobwrite.syncGateway`).
  std::string gateway_path = "/scripts/q.py";
  // Largest request (HTTP body or WebSocket message), in bytes.
  size_t max_message_bytes = size_t{8} << 20;
  ConnectionLimits limits;
  std::string log_level = "info";
  // The browser editor's files (index.html, assets/); served if present.
  std::string web_root = DefaultWebRoot();
  // A client's view unused this long leaves memory (it stays stored).
  int64_t unload_idle_seconds = 600;
  ServiceOptions service;
  // Access control: service.access.secret comes from --secret-file (or the
  // TOML key secret-file), else the environment variable DIFFSYNC_SECRET;
  // service.access.allow_anonymous from --allow-anonymous (off).
  std::string secret_file;
  // Set by --help: print `output` and exit successfully.
  bool exit_now = false;
  std::string output;
};

// Parses argv. A bad flag, file or value is an InvalidArgument naming it.
Result<DaemonConfig> ParseDaemonConfig(int argc, const char* const* argv);

// A server without a secret that does not allow anonymous clients would
// serve nobody: refused (kFailedPrecondition) with what to do.
Status CheckAccessControl(const DaemonConfig& config);

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_CONFIG_H_
