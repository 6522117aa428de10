#include "server/config.h"

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "server/auth.h"

#ifndef DIFFSYNC_DEFAULT_WEB_ROOT
#define DIFFSYNC_DEFAULT_WEB_ROOT "web"
#endif

namespace diffsync::server {

std::string DefaultWebRoot() { return DIFFSYNC_DEFAULT_WEB_ROOT; }

Result<DaemonConfig> ParseDaemonConfig(int argc, const char* const* argv) {
  DaemonConfig config;
  CLI::App app{"diffsyncd: Differential Synchronization server (WebSocket "
               "/ws, MobWrite HTTP gateway, /healthz, /metrics)",
               "diffsyncd"};
  app.set_config("--config", "", "TOML file with any of these options");
  std::string listen = config.host + ":" + std::to_string(config.port);
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any)")
      ->capture_default_str();
  app.add_option("--data", config.data_dir,
                 "Data directory (holds the SQLite store)")
      ->capture_default_str();
  app.add_option("--gateway-path", config.gateway_path,
                 "HTTP path of the MobWrite gateway")
      ->capture_default_str();
  app.add_option("--max-message-bytes", config.max_message_bytes,
                 "Largest request (HTTP body or WebSocket message)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{64}, size_t{1} << 30));
  app.add_option("--max-header-bytes", config.limits.max_header_bytes,
                 "Largest request line and headers of an HTTP request "
                 "(431 over it)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{256}, size_t{1} << 24));
  app.add_option("--max-edits-per-request",
                 config.service.max_edits_per_request,
                 "Most edit lines in one request (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-documents-per-connection",
                 config.service.max_documents_per_connection,
                 "Most documents one WebSocket syncs, or one HTTP request "
                 "names (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-clients-per-document",
                 config.service.max_clients_per_document,
                 "Most client ids using one document within 10 minutes "
                 "(0: no limit)")
      ->capture_default_str();
  app.add_option("--max-connections-per-ip",
                 config.limits.max_connections_per_ip,
                 "Most open connections from one IP address (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-requests-per-second", config.limits.requests_per_second,
                 "Requests per second on one connection (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--request-burst", config.limits.request_burst,
                 "Requests one connection may send at once before "
                 "--max-requests-per-second applies")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  app.add_option("--http-idle-seconds", config.limits.http_idle_seconds,
                 "Close an HTTP connection idle this long between requests")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--header-timeout-seconds",
                 config.limits.header_timeout_seconds,
                 "A request's line and headers must arrive within this long "
                 "of its first byte")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--body-timeout-seconds", config.limits.body_timeout_seconds,
                 "A request's body must arrive within this long of its "
                 "headers")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--ws-idle-seconds", config.limits.ws_idle_seconds,
                 "Close a WebSocket silent this long (pinged halfway)")
      ->capture_default_str()
      ->check(CLI::Range(2, 86400));
  int64_t max_units = config.service.engine.max_document_units;
  app.add_option("--max-document-units", max_units,
                 "Largest document, in UTF-16 code units")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  double expiry_days = static_cast<double>(
                           config.service.engine.view_expiry_millis) /
                       (24 * 3600 * 1000.0);
  app.add_option("--view-expiry-days", expiry_days,
                 "Forget a client's view unused this long (it is resynced, "
                 "keeping its edits)")
      ->capture_default_str()
      // Bounded so that it stays a positive number of milliseconds.
      ->check(CLI::Range(1e-6, 1e6));
  size_t history = config.service.engine.history_limit;
  app.add_option("--history-limit", history,
                 "Document changes kept for exact merging")
      ->capture_default_str();
  app.add_option("--unload-idle-seconds", config.unload_idle_seconds,
                 "Unload a client's view from memory after this long unused "
                 "(it stays in the store)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  double gather_ms = static_cast<double>(config.service.commit_gather.count()) / 1000;
  app.add_option("--commit-gather-ms", gather_ms,
                 "Start a durable commit at least this long after the "
                 "previous one, so that one fsync serves more requests")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--web-root", config.web_root,
                 "Directory of the browser editor (index.html, assets/)")
      ->capture_default_str();
  app.add_option("--secret-file", config.secret_file,
                 "File holding the secret that signs access tokens (else "
                 "the environment variable DIFFSYNC_SECRET); see `diffsync "
                 "token`");
  bool allow_anonymous = false;
  app.add_flag("--allow-anonymous", allow_anonymous,
               "Serve requests without a token, as one anonymous identity "
               "that may read and write every document (for a trusted "
               "network, such as loopback)");
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    config.exit_now = true;
    config.output = app.help();
    return config;
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen: \"" + listen +
                                   "\" is not HOST:PORT");
  }
  config.host = listen.substr(0, colon);
  if (config.host.size() > 2 && config.host.front() == '[' &&
      config.host.back() == ']') {
    config.host = config.host.substr(1, config.host.size() - 2);  // [::1]
  }
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::InvalidArgument("--listen: port \"" + port +
                                   "\" is not 0 to 65535");
  }
  config.port = static_cast<uint16_t>(std::stoi(port));
  if (config.gateway_path.empty() || config.gateway_path[0] != '/') {
    return Status::InvalidArgument("--gateway-path must start with '/'");
  }
  config.service.engine.max_document_units = max_units;
  config.service.engine.view_expiry_millis =
      static_cast<int64_t>(expiry_days * 24 * 3600 * 1000);
  config.service.engine.history_limit = history;
  config.service.commit_gather =
      std::chrono::microseconds(static_cast<int64_t>(gather_ms * 1000));
  config.service.access.allow_anonymous = allow_anonymous;
  if (!config.secret_file.empty()) {
    Result<std::string> secret = ReadSecretFile(config.secret_file);
    if (!secret.ok()) {
      return Status::InvalidArgument("--secret-file: " +
                                     secret.status().message());
    }
    config.service.access.secret = std::move(*secret);
  } else if (const char* env = std::getenv("DIFFSYNC_SECRET");
             env != nullptr && *env != '\0') {
    if (Status s = CheckSecret(env, "DIFFSYNC_SECRET"); !s.ok()) {
      return Status::InvalidArgument(s.message());
    }
    config.service.access.secret = env;
  }
  return config;
}

Status CheckAccessControl(const DaemonConfig& config) {
  if (config.service.access.secret.empty() &&
      !config.service.access.allow_anonymous) {
    return Status::FailedPrecondition(
        "no token secret (--secret-file FILE or DIFFSYNC_SECRET) and no "
        "--allow-anonymous: nobody could sync. Give a secret to check "
        "tokens (mint them with `diffsync token`), or --allow-anonymous to "
        "let anyone who can reach the server read and write");
  }
  return Status::Ok();
}

}  // namespace diffsync::server
