// diffsyncd: the DiffSync server. See README.md ("Running the server") and
// docs/PROTOCOL.md.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "diffsync/engine/clock.h"
#include "diffsync/store/sqlite_store.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/sync_service.h"

namespace {

using diffsync::server::DaemonConfig;

int Run(const DaemonConfig& config) {
  // Logs go to stderr; stdout carries only the line with the URL.
  spdlog::set_default_logger(spdlog::stderr_color_mt("diffsyncd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v",
                      spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    std::cerr << "diffsyncd: cannot create data directory " << config.data_dir
              << ": " << ec.message() << "\n";
    return 1;
  }
  const std::string db =
      (std::filesystem::path(config.data_dir) / "diffsync.db").string();
  auto store = diffsync::store::SqliteStore::Open(db);
  if (!store.ok()) {
    std::cerr << "diffsyncd: " << store.status().ToString() << "\n";
    return 1;
  }

  // Who owns each client id, beside the store (docs/PROTOCOL.md, "Access
  // control"); needed only where tokens are checked.
  diffsync::server::ServiceOptions service_options = config.service;
  std::unique_ptr<diffsync::server::SqliteViewOwners> owners;
  if (!service_options.access.secret.empty()) {
    auto opened = diffsync::server::SqliteViewOwners::Open(
        (std::filesystem::path(config.data_dir) / "owners.db").string());
    if (!opened.ok()) {
      std::cerr << "diffsyncd: " << opened.status().ToString() << "\n";
      return 1;
    }
    owners = std::move(*opened);
    service_options.access.owners = owners.get();
  }

  boost::asio::io_context io(1);
  diffsync::engine::SystemClock clock;
  diffsync::server::Metrics metrics;
  diffsync::server::SyncService service(
      **store, clock, service_options,
      [&io](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); },
      metrics);
  // Without the editor's files (not built) the rest still serves.
  auto web = diffsync::server::StaticFiles::Load(config.web_root);
  if (!web.ok()) {
    spdlog::warn("event=no-editor error=\"{}\"", web.status().ToString());
  }
  // The editor's document list: the stored names a caller may see.
  const diffsync::server::DocumentList documents{
      .names = [&store] { return (*store)->ListDocuments(); },
      .secret = config.service.access.secret,
      .allow_anonymous = config.service.access.allow_anonymous};
  diffsync::server::HttpServer http(
      io, service, metrics,
      {.host = config.host,
       .port = config.port,
       .gateway_path = config.gateway_path,
       .max_message_bytes = config.max_message_bytes,
       .limits = config.limits,
       .web = web.ok() ? &*web : nullptr,
       .documents = &documents});
  if (diffsync::Status s = http.Start(); !s.ok()) {
    std::cerr << "diffsyncd: " << s.ToString() << "\n";
    return 1;
  }
  // Housekeeping, once a minute: idle views leave memory; views past their
  // expiry leave the store (their clients would be resynced anyway).
  boost::asio::steady_timer housekeeping(io);
  std::function<void()> schedule = [&] {
    housekeeping.expires_after(std::chrono::minutes(1));
    housekeeping.async_wait([&](const boost::system::error_code& error) {
      if (error) return;
      const size_t unloaded =
          service.UnloadIdle(config.unload_idle_seconds * 1000);
      auto purged = (*store)->DeleteViewsIdleBefore(
          clock.NowMillis() - config.service.engine.view_expiry_millis);
      if (!purged.ok()) {
        spdlog::warn("event=purge-failed error=\"{}\"", purged.status().ToString());
      } else if (unloaded > 0 || *purged > 0) {
        spdlog::info("event=housekeeping unloaded_views={} expired_views={}",
                     unloaded, *purged);
      }
      schedule();
    });
  };
  schedule();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("event=stopping signal={}", signal);
    // A second signal stops at once; the store is consistent either way.
    signals.async_wait([&](const boost::system::error_code& e, int) {
      if (!e) io.stop();
    });
    housekeeping.cancel();
    http.Shutdown([&] {
      spdlog::info("event=stopped pending_commits={}",
                   service.pending_commits());
      io.stop();
    });
  });
  // Announced only now, so that a signal sent as soon as the line is read
  // finds its handler.
  const std::string base =
      "http://" + config.host + ":" + std::to_string(http.port());
  std::cout << "diffsyncd listening on " << base << "/ (WebSocket "
            << "ws://" << config.host << ":" << http.port()
            << "/ws, MobWrite gateway " << base << config.gateway_path
            << "), data in " << db << std::endl;
  const bool tokens = !service_options.access.secret.empty();
  const bool anonymous = service_options.access.allow_anonymous;
  spdlog::info("event=started address={}:{} data=\"{}\" access={}",
               config.host, http.port(), db,
               tokens && anonymous ? "tokens+anonymous"
               : tokens            ? "tokens"
                                   : "anonymous");
  if (anonymous) {
    boost::system::error_code bad_address;
    const auto address =
        boost::asio::ip::make_address(config.host, bad_address);
    if (bad_address || !address.is_loopback()) {
      spdlog::warn("event=anonymous-access address={} note=\"anyone who "
                   "can reach this address may read and write every "
                   "document without a token\"",
                   config.host);
    }
  }
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto config = diffsync::server::ParseDaemonConfig(argc, argv);
  if (!config.ok()) {
    std::cerr << "diffsyncd: " << config.status().message() << "\n";
    return 2;
  }
  if (config->exit_now) {
    std::cout << config->output;
    return 0;
  }
  if (diffsync::Status s = diffsync::server::CheckAccessControl(*config);
      !s.ok()) {
    std::cerr << "diffsyncd: " << s.message() << "\n";
    return 2;
  }
  return Run(*config);
}
