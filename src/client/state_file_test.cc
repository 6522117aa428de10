#include "diffsync/client/state_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "diffsync/engine/server.h"
#include "diffsync/engine/text.h"

namespace diffsync::client {
namespace {

namespace fs = std::filesystem;
using engine::ClientDocument;
using engine::ClientState;
using engine::Edit;

// A fresh directory per test, removed at the end.
class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "state_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/notes.state.json";
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all);
    fs::remove_all(dir_);
  }

  std::string dir_;
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteRaw(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

Edit MakeEdit(Edit::Kind kind, bool overwrite, int64_t version,
              std::string data, std::optional<uint32_t> checksum) {
  Edit edit;
  edit.kind = kind;
  edit.overwrite = overwrite;
  edit.version = version;
  edit.data = std::move(data);
  edit.checksum = checksum;
  return edit;
}

// Every kind of value the format holds: non-ASCII and astral text, quotes,
// control characters and NUL, each kind of edit, with and without checksum.
SyncState FullState() {
  SyncState s;
  s.server_url = "http://127.0.0.1:8080/scripts/q.py";
  s.document = "notes \xE2\x80\x94 caf\xC3\xA9";
  s.client_id = "k3x9";
  s.file_path = "/home/\xC3\xBC/notes.txt";
  s.last_written_text = std::string("a \"quoted\"\tline\n\x01\0end", 20);
  s.client.document = s.document;
  s.client.text = "\xF0\x9F\x98\x80 smile \xE6\x97\xA5\xE6\x9C\xAC e\xCC\x81";
  s.client.shadow = "\xF0\x9F\x98\x80 smile";
  s.client.confirmed = "";
  s.client.client_version = 7;
  s.client.server_version = engine::kMaxWireInteger;
  s.client.delta_ok = true;
  s.client.joined = true;
  s.client.rebase = true;
  s.client.local_delta = "=3\t-1\t+%E6%97%A5%E6%9C%AC\t=6";
  s.client.edit_stack = {
      MakeEdit(Edit::Kind::kRaw, false, 4, "r\xC3\xA9sum\xC3\xA9", 0),
      MakeEdit(Edit::Kind::kRaw, true, 5, "", std::nullopt),
      MakeEdit(Edit::Kind::kDelta, false, 6, "=3\t+%F0%9F%98%80\t-1",
               0xFFFFFFFFu),
      MakeEdit(Edit::Kind::kDelta, true, 7, "", std::nullopt),
  };
  return s;
}

TEST_F(StateFileTest, RoundTripsEveryField) {
  const SyncState state = FullState();
  Result<std::string> text = FormatStateFile(state);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->back(), '\n');
  Result<SyncState> parsed = ParseStateFile(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, state);

  ASSERT_TRUE(SaveStateFile(path_, state).ok());
  Result<SyncState> loaded = LoadStateFile(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, state);
  EXPECT_EQ(ReadAll(path_), *text);
}

TEST_F(StateFileTest, RoundTripsAnEmptyState) {
  SyncState state;
  state.client.local_delta = "";
  Result<SyncState> parsed = ParseStateFile(*FormatStateFile(state));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, state);
  EXPECT_EQ(parsed->client.local_delta, "");
}

TEST_F(StateFileTest, ARealClientResumesFromTheFile) {
  engine::MemoryStore store;
  engine::ManualClock clock;
  engine::Server server(store, clock);
  ClientDocument doc("notes");
  ASSERT_TRUE(doc.Replace(0, 0, "caf\xC3\xA9 \xF0\x9F\x98\x80").ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(doc.Replace(0, 0, "+").ok());
    engine::Message request;
    request.documents.push_back(doc.MakeRequest());
    request.documents.back().client_id = "k3x9";
    if (i == 2) break;  // The last reply is lost: edits stay pending.
    Result<engine::Message> reply = server.Handle(request);
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(doc.HandleReply(reply->documents.at(0)).ok());
  }
  doc.SetText(engine::Text::FromValidUtf8("typed meanwhile"));
  SyncState state;
  state.server_url = "http://127.0.0.1:8080";
  state.document = "notes";
  state.client_id = "k3x9";
  state.file_path = "notes.txt";
  state.last_written_text = "++caf\xC3\xA9 \xF0\x9F\x98\x80";
  state.client = doc.SaveState();
  ASSERT_FALSE(state.client.edit_stack.empty());
  ASSERT_TRUE(SaveStateFile(path_, state).ok());
  Result<SyncState> loaded = LoadStateFile(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, state);
  Result<ClientDocument> restored = ClientDocument::Restore(loaded->client);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->MakeRequest(), doc.MakeRequest());
}

TEST_F(StateFileTest, AMissingFileIsNotFound) {
  Result<SyncState> loaded = LoadStateFile(path_);
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound);
  EXPECT_NE(loaded.status().message().find(path_), std::string::npos);
}

TEST_F(StateFileTest, SavingLeavesOnlyTheFileReadableByItsOwner) {
  ASSERT_TRUE(SaveStateFile(path_, FullState()).ok());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, ATemporaryFileLeftByACrashIsIgnoredAndReplaced) {
  SyncState old_state = FullState();
  ASSERT_TRUE(SaveStateFile(path_, old_state).ok());
  // A crash in the middle of the next save left half a file behind.
  const std::string next = *FormatStateFile(SyncState());
  WriteRaw(path_ + ".tmp", next.substr(0, next.size() / 2));
  ::chmod((path_ + ".tmp").c_str(), 0644);
  Result<SyncState> loaded = LoadStateFile(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, old_state);

  SyncState new_state = old_state;
  new_state.client.text = "newer";
  ASSERT_TRUE(SaveStateFile(path_, new_state).ok());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  EXPECT_EQ(*LoadStateFile(path_), new_state);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, AWriteThatCannotStartLeavesTheOldFile) {
  const SyncState old_state = FullState();
  ASSERT_TRUE(SaveStateFile(path_, old_state).ok());
  const std::string old_text = ReadAll(path_);
  // The temporary name is taken by something that cannot be written.
  fs::create_directory(path_ + ".tmp");
  SyncState new_state = old_state;
  new_state.client.text = "newer";
  Status saved = SaveStateFile(path_, new_state);
  EXPECT_EQ(saved.code(), StatusCode::kIoError);
  EXPECT_NE(saved.message().find(path_ + ".tmp"), std::string::npos)
      << saved.message();
  EXPECT_EQ(ReadAll(path_), old_text);
  EXPECT_EQ(*LoadStateFile(path_), old_state);
}

TEST_F(StateFileTest, AWriteThatFailsHalfwayLeavesTheOldFile) {
  const SyncState old_state = FullState();
  ASSERT_TRUE(SaveStateFile(path_, old_state).ok());
  const std::string old_text = ReadAll(path_);
  SyncState new_state = old_state;
  new_state.last_written_text = std::string(100'000, 'x');
  // The file size limit stops the write after 4 KiB, as a full disk would
  // (EFBIG instead of SIGXFSZ once the signal is ignored).
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status saved = SaveStateFile(path_, new_state);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(saved.code(), StatusCode::kIoError);
  EXPECT_NE(saved.message().find("writing " + path_ + ".tmp"),
            std::string::npos)
      << saved.message();
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  EXPECT_EQ(ReadAll(path_), old_text);
  EXPECT_EQ(*LoadStateFile(path_), old_state);
}

TEST_F(StateFileTest, AnUnwritableDirectoryLeavesTheOldFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes any directory";
  const SyncState old_state = FullState();
  ASSERT_TRUE(SaveStateFile(path_, old_state).ok());
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  SyncState new_state = old_state;
  new_state.client.text = "newer";
  Status saved = SaveStateFile(path_, new_state);
  EXPECT_EQ(saved.code(), StatusCode::kIoError);
  EXPECT_EQ(*LoadStateFile(path_), old_state);
}

TEST_F(StateFileTest, SavingRefusesWhatTheFileCannotHold) {
  SyncState state = FullState();
  state.file_path = "/tmp/\xFF.txt";  // A Linux path need not be UTF-8.
  Status s = SaveStateFile(path_, state);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("file_path: invalid UTF-8 at byte 5"),
            std::string::npos)
      << s.message();
  state = FullState();
  state.client.document = "other";
  s = SaveStateFile(path_, state);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("client.document"), std::string::npos);
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(StateFileTest, EveryTruncationIsRefused) {
  const std::string text = *FormatStateFile(FullState());
  // Everything up to the closing brace is needed; the line break is not.
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    Result<SyncState> parsed = ParseStateFile(text.substr(0, n));
    ASSERT_FALSE(parsed.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption);
    EXPECT_FALSE(parsed.status().message().empty());
  }
  WriteRaw(path_, text.substr(0, text.size() / 3));
  Result<SyncState> loaded = LoadStateFile(path_);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(loaded.status().message().rfind(path_ + ": state file: JSON: ", 0),
            0u)
      << loaded.status().message();
}

// `text` with the first occurrence of `from` replaced by `to`.
std::string Replaced(std::string text, std::string_view from,
                     std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST_F(StateFileTest, CorruptFilesAreRefusedNamingTheProblem) {
  const std::string good = *FormatStateFile(FullState());
  ASSERT_NE(good.find("\"version\":1,"), std::string::npos) << good;
  ASSERT_NE(good.find("\"client_version\":7,"), std::string::npos) << good;
  ASSERT_NE(good.find("\"checksum\":0}"), std::string::npos) << good;
  struct Case {
    std::string input;
    StatusCode code;
    std::string expected;
  };
  const Case cases[] = {
      {"", StatusCode::kCorruption,
       "state file: JSON: incomplete JSON at byte 0"},
      {"[1, 2]", StatusCode::kCorruption, "state file: JSON: not an object"},
      {good + "{}", StatusCode::kCorruption,
       "state file: JSON: extra data at byte " + std::to_string(good.size())},
      {Replaced(good, "diffsync-sync-state", "something-else"),
       StatusCode::kCorruption,
       "state file: format: \"something-else\" is not"},
      {Replaced(good, "\"version\":1,", "\"version\":2,"),
       StatusCode::kFailedPrecondition,
       "state file: version 2 (this diffsync reads version 1)"},
      {Replaced(good, "\"version\":1,", ""), StatusCode::kCorruption,
       "state file: version: missing"},
      {Replaced(good, "\"client_id\"", "\"client_idx\""),
       StatusCode::kCorruption, "state file: unknown key \"client_idx\""},
      {Replaced(good, "\"joined\":true", "\"joined\":1"),
       StatusCode::kCorruption, "state file: client.joined: not true or false"},
      {Replaced(good, "\"client_version\":7", "\"client_version\":7.5"),
       StatusCode::kCorruption,
       "state file: client.client_version: not an integer"},
      {Replaced(good, "\"client_version\":7",
                "\"client_version\":18446744073709551615"),
       StatusCode::kCorruption,
       "state file: client.client_version: not an integer in the 64-bit "
       "range"},
      {Replaced(good, "\"local_delta\":\"=3\\t-1\\t+%E6%97%A5%E6%9C%AC\\t=6\"",
                "\"local_delta\":3"),
       StatusCode::kCorruption,
       "state file: client.local_delta: neither a string nor null"},
      {Replaced(good, "\"kind\":\"raw\"", "\"kind\":\"patch\""),
       StatusCode::kCorruption,
       "state file: client.edit_stack[0].kind: \"patch\" is neither"},
      {Replaced(good, "\"checksum\":0}", "\"checksum\":-1}"),
       StatusCode::kCorruption,
       "state file: client.edit_stack[0].checksum: not a 32-bit"},
      {Replaced(good, "\"checksum\":0}", "\"checksum\":4294967296}"),
       StatusCode::kCorruption,
       "state file: client.edit_stack[0].checksum: not a 32-bit"},
      {Replaced(good, "\"edit_stack\":[", "\"edit_stack\":[7,"),
       StatusCode::kCorruption,
       "state file: client.edit_stack[0]: not an object"},
      {good.substr(0, good.find("\"edit_stack\":")) + "\"edit_stack\":{}}}",
       StatusCode::kCorruption, "state file: client.edit_stack: not an array"},
      {good.substr(0, good.find("\"client\":")) + "\"client\":\"\"}",
       StatusCode::kCorruption, "state file: client: not an object"},
      {Replaced(good, "\"client_id\":\"k3x9\"", "\"client_id\":[]"),
       StatusCode::kCorruption, "state file: client_id: not a string"},
      {Replaced(good, "\"server_url\":\"", "\"server_url\":\"\xC3"),
       StatusCode::kCorruption,
       "state file: JSON: syntax error at byte " +
           std::to_string(good.find("\"server_url\":\"") + 14)},
      {std::string(64, '[') + std::string(64, ']'), StatusCode::kCorruption,
       "state file: JSON: too deep at byte 8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    Result<SyncState> parsed = ParseStateFile(c.input);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), c.code) << parsed.status().ToString();
    EXPECT_EQ(parsed.status().message().rfind(c.expected, 0), 0u)
        << parsed.status().message();
  }
}

}  // namespace
}  // namespace diffsync::client
