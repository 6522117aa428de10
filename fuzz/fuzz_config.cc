// diffsyncd's settings from outside bytes: the input up to the first 0xFF
// byte is a TOML file given with --config, the rest command-line arguments
// (one per line). ParseDaemonConfig returns an error with a message, or
// settings inside the bounds its options state.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "server/config.h"

namespace diffsync::server {
namespace {

using fuzz::Check;

// The config file lives in memory: a memfd named through /proc/self/fd.
class MemoryFile {
 public:
  MemoryFile() : fd_(memfd_create("diffsyncd.toml", 0)) {
    Check(fd_ >= 0, "memfd_create works");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemoryFile() { close(fd_); }

  void Set(std::string_view text) {
    Check(ftruncate(fd_, 0) == 0, "ftruncate works");
    Check(pwrite(fd_, text.data(), text.size(), 0) ==
              static_cast<ssize_t>(text.size()),
          "pwrite works");
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

int TestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  auto [toml, rest] = fuzz::SplitAtFF(fuzz::AsView(data, size));
  file.Set(toml);
  std::vector<std::string> args = {"diffsyncd", "--config", file.path()};
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    args.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  Result<DaemonConfig> config =
      ParseDaemonConfig(static_cast<int>(argv.size()), argv.data());
  if (!config.ok()) {
    Check(!config.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  if (config->exit_now) return 0;
  Check(config->max_message_bytes >= 64 &&
            config->max_message_bytes <= (size_t{1} << 30),
        "--max-message-bytes is in its range");
  Check(config->service.engine.max_document_units >= 1,
        "--max-document-units is positive");
  Check(config->service.engine.view_expiry_millis > 0,
        "--view-expiry-days is positive");
  Check(config->unload_idle_seconds > 0, "--unload-idle-seconds is positive");
  Check(config->service.commit_gather.count() >= 0 &&
            config->service.commit_gather.count() <= 1'000'000,
        "--commit-gather-ms is 0 to 1000");
  Check(!config->gateway_path.empty() && config->gateway_path[0] == '/',
        "--gateway-path starts with '/'");
  return 0;
}

}  // namespace
}  // namespace diffsync::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::server::TestOneInput(data, size);
}
