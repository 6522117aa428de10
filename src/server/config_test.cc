#include "server/config.h"

#include <cstdio>
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

TEST(Config, BadValuesNameTheOption) {
  for (const auto& [args, needle] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--listen", "localhost"}, "--listen"},
           {{"--listen", "h:99999"}, "port"},
           {{"--max-document-units", "0"}, "max-document-units"},
           {{"--log-level", "loud"}, "log-level"},
           {{"--gateway-path", "q.py"}, "gateway-path"},
           {{"--config", "/nonexistent/diffsyncd.toml"}, "diffsyncd.toml"},
           {{"--no-such-flag"}, "no-such-flag"}}) {
    Result<DaemonConfig> c = Parse(args);
    ASSERT_FALSE(c.ok()) << args[0];
    EXPECT_NE(c.status().message().find(needle), std::string::npos)
        << c.status().message();
  }
}

}  // namespace
}  // namespace diffsync::server
