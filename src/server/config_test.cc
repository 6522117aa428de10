#include "server/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace diffsync::server {
namespace {

Result<DaemonConfig> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "diffsyncd");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseDaemonConfig(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, DefaultsAreLocalAndDurable) {
  Result<DaemonConfig> c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->gateway_path, "/scripts/q.py");
  EXPECT_EQ(c->service.engine.view_expiry_millis, int64_t{7} * 24 * 3600 * 1000);
  EXPECT_EQ(c->service.commit_gather, std::chrono::milliseconds(2));
}

TEST(Config, CommitGatherIsInMillisecondsAndBounded) {
  Result<DaemonConfig> c = Parse({"--commit-gather-ms", "0.5"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->service.commit_gather, std::chrono::microseconds(500));
  Result<DaemonConfig> off = Parse({"--commit-gather-ms", "0"});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(off->service.commit_gather.count(), 0);
  Result<DaemonConfig> bad = Parse({"--commit-gather-ms", "-1"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--commit-gather-ms"), std::string::npos)
      << bad.status().message();
}

TEST(Config, FlagsAndTheTomlFileSetTheSameThings) {
  const std::string path = ::testing::TempDir() + "/diffsyncd_config.toml";
  {
    std::ofstream out(path);
    out << "listen = \"0.0.0.0:9000\"\n"
           "data = \"/srv/diffsync\"\n"
           "max-document-units = 5000\n"
           "view-expiry-days = 30\n"
           "gateway-path = \"/sync\"\n";
  }
  Result<DaemonConfig> c = Parse({"--config", path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "0.0.0.0");
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->data_dir, "/srv/diffsync");
  EXPECT_EQ(c->service.engine.max_document_units, 5000);
  EXPECT_EQ(c->service.engine.view_expiry_millis,
            int64_t{30} * 24 * 3600 * 1000);
  EXPECT_EQ(c->gateway_path, "/sync");
  // A flag wins over the file.
  Result<DaemonConfig> flag = Parse({"--config", path, "--listen", "[::1]:0"});
  ASSERT_TRUE(flag.ok()) << flag.status().ToString();
  EXPECT_EQ(flag->host, "::1");
  EXPECT_EQ(flag->port, 0);
  EXPECT_EQ(flag->data_dir, "/srv/diffsync");
  std::remove(path.c_str());
}

TEST(Config, LimitsHaveDefaultsAndAreSetByFlagsOrTheFile) {
  Result<DaemonConfig> d = Parse({});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(d->limits.max_connections_per_ip, 1000u);
  EXPECT_EQ(d->limits.requests_per_second, 100);
  EXPECT_EQ(d->limits.http_idle_seconds, 60);
  EXPECT_EQ(d->limits.header_timeout_seconds, 10);
  EXPECT_EQ(d->limits.ws_idle_seconds, 300);
  EXPECT_EQ(d->service.max_edits_per_request, 10'000u);
  EXPECT_EQ(d->service.max_documents_per_connection, 100u);
  EXPECT_EQ(d->service.max_clients_per_document, 1000u);

  const std::string path = ::testing::TempDir() + "/diffsyncd_limits.toml";
  {
    std::ofstream out(path);
    out << "max-header-bytes = 4096\n"
           "max-edits-per-request = 50\n"
           "max-documents-per-connection = 5\n"
           "max-clients-per-document = 7\n"
           "max-connections-per-ip = 9\n"
           "max-requests-per-second = 2.5\n"
           "request-burst = 4\n"
           "http-idle-seconds = 11\n"
           "header-timeout-seconds = 2\n"
           "body-timeout-seconds = 3\n"
           "ws-idle-seconds = 20\n";
  }
  Result<DaemonConfig> c =
      Parse({"--config", path, "--max-connections-per-ip", "0"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->limits.max_header_bytes, 4096u);
  EXPECT_EQ(c->service.max_edits_per_request, 50u);
  EXPECT_EQ(c->service.max_documents_per_connection, 5u);
  EXPECT_EQ(c->service.max_clients_per_document, 7u);
  EXPECT_EQ(c->limits.max_connections_per_ip, 0u);  // The flag wins.
  EXPECT_EQ(c->limits.requests_per_second, 2.5);
  EXPECT_EQ(c->limits.request_burst, 4);
  EXPECT_EQ(c->limits.http_idle_seconds, 11);
  EXPECT_EQ(c->limits.header_timeout_seconds, 2);
  EXPECT_EQ(c->limits.body_timeout_seconds, 3);
  EXPECT_EQ(c->limits.ws_idle_seconds, 20);
  std::remove(path.c_str());
}

TEST(Config, BadValuesNameTheOption) {
  for (const auto& [args, needle] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--listen", "localhost"}, "--listen"},
           {{"--listen", "h:99999"}, "port"},
           {{"--max-document-units", "0"}, "max-document-units"},
           {{"--log-level", "loud"}, "log-level"},
           {{"--max-requests-per-second", "-1"}, "max-requests-per-second"},
           {{"--header-timeout-seconds", "0"}, "header-timeout-seconds"},
           {{"--max-header-bytes", "10"}, "max-header-bytes"},
           {{"--max-edits-per-request", "many"}, "max-edits-per-request"},
           {{"--gateway-path", "q.py"}, "gateway-path"},
           {{"--config", "/nonexistent/diffsyncd.toml"}, "diffsyncd.toml"},
           {{"--no-such-flag"}, "no-such-flag"}}) {
    Result<DaemonConfig> c = Parse(args);
    ASSERT_FALSE(c.ok()) << args[0];
    EXPECT_NE(c.status().message().find(needle), std::string::npos)
        << c.status().message();
  }
}

TEST(Config, AccessControlNeedsASecretOrAnExplicitAnonymousMode) {
  unsetenv("DIFFSYNC_SECRET");
  Result<DaemonConfig> none = Parse({});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->service.access.secret.empty());
  EXPECT_FALSE(none->service.access.allow_anonymous);
  Status refused = CheckAccessControl(*none);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("--allow-anonymous"), std::string::npos);

  Result<DaemonConfig> open = Parse({"--allow-anonymous"});
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->service.access.allow_anonymous);
  EXPECT_TRUE(CheckAccessControl(*open).ok());

  const std::string path = ::testing::TempDir() + "/diffsyncd_secret";
  std::ofstream(path) << "0123456789abcdef0123\n";
  Result<DaemonConfig> file = Parse({"--secret-file", path});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->service.access.secret, "0123456789abcdef0123");
  EXPECT_TRUE(CheckAccessControl(*file).ok());

  std::ofstream(path) << "short\n";
  Result<DaemonConfig> short_file = Parse({"--secret-file", path});
  ASSERT_FALSE(short_file.ok());
  EXPECT_NE(short_file.status().message().find("--secret-file: secret file"),
            std::string::npos)
      << short_file.status().message();
  std::remove(path.c_str());
  Result<DaemonConfig> missing = Parse({"--secret-file", path});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);

  setenv("DIFFSYNC_SECRET", "from the environment, long enough", 1);
  Result<DaemonConfig> env = Parse({});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->service.access.secret, "from the environment, long enough");
  setenv("DIFFSYNC_SECRET", "short", 1);
  Result<DaemonConfig> short_env = Parse({});
  ASSERT_FALSE(short_env.ok());
  EXPECT_NE(short_env.status().message().find("DIFFSYNC_SECRET"),
            std::string::npos);
  unsetenv("DIFFSYNC_SECRET");
}

TEST(Config, AccessOptionsAreTomlKeysToo) {
  const std::string secret = ::testing::TempDir() + "/diffsyncd_secret2";
  std::ofstream(secret) << "a secret of at least sixteen bytes";
  const std::string path = ::testing::TempDir() + "/diffsyncd_access.toml";
  std::ofstream(path) << "secret-file = \"" << secret
                      << "\"\nallow-anonymous = true\n";
  Result<DaemonConfig> c = Parse({"--config", path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->service.access.secret, "a secret of at least sixteen bytes");
  EXPECT_TRUE(c->service.access.allow_anonymous);
  std::remove(path.c_str());
  std::remove(secret.c_str());
}

}  // namespace
}  // namespace diffsync::server
