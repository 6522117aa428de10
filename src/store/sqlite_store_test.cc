#include "diffsync/store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/server.h"
#include "store/test_util.h"

namespace diffsync::store {
namespace {

using engine::ClientDocument;
using engine::DocumentRecord;
using engine::ManualClock;
using engine::PendingConflict;
using engine::Server;
using engine::StackedEdit;
using engine::Text;
using engine::ViewRecord;
using engine::WriteBatch;
using test_util::Sync;
using test_util::TempDir;
using ::testing::HasSubstr;

Text T(std::string_view utf8) { return *Text::FromUtf8(utf8); }

WriteBatch Batch(
    std::vector<DocumentRecord> documents, std::vector<ViewRecord> views = {},
    std::vector<std::string> deleted_documents = {},
    std::vector<std::pair<std::string, std::string>> deleted_views = {}) {
  WriteBatch batch;
  batch.documents = std::move(documents);
  batch.views = std::move(views);
  batch.deleted_documents = std::move(deleted_documents);
  batch.deleted_views = std::move(deleted_views);
  return batch;
}

// Runs SQL on the file through a connection of its own, as another program
// (or a damaged disk) would change it.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// A view with every field set, in several scripts.
ViewRecord FullView() {
  ViewRecord v;
  v.client_id = "alice 👩‍💻";
  v.document = "笔记/notes";
  v.shadow = T("Hello 世界 🎉\nsecond line\tend");
  v.client_version = 7;
  v.server_version = 12;
  v.backup_shadow = T("Hello 世界");
  v.backup_server_version = 11;
  v.edit_stack = {{'d', 11, "=6\t+%E4%B8%96%E7%95%8C"},
                  {'D', 12, "=3\t-2\t+%F0%9F%8E%89"},
                  {'R', 13, "raw 🎉 text\nwith lines"}};
  v.pending_conflicts = {
      {5, "replaced", "@@ -1,3 +1,3 @@\n-abc\n+xyz\n", 12},
      {6, "", "", 0},
      {int64_t{1} << 50, "日本語", "@@ -0,0 +1,2 @@\n+%F0%9F%98%80\n",
       int64_t{1} << 52}};
  v.last_seen_millis = 1'700'000'000'123;
  return v;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.File("store.db");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  void Commit(
      std::vector<DocumentRecord> documents, std::vector<ViewRecord> views = {},
      std::vector<std::string> deleted_documents = {},
      std::vector<std::pair<std::string, std::string>> deleted_views = {}) {
    Status s = store_->Commit(Batch(std::move(documents), std::move(views),
                                    std::move(deleted_documents),
                                    std::move(deleted_views)));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::optional<ViewRecord> View(const std::string& client,
                                 const std::string& document) {
    Result<std::optional<ViewRecord>> v = store_->LoadView(client, document);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::nullopt;
  }

  std::optional<DocumentRecord> Document(const std::string& name) {
    Result<std::optional<DocumentRecord>> d = store_->LoadDocument(name);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : std::nullopt;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, EveryViewFieldRoundTrips) {
  const ViewRecord v = FullView();
  Commit({}, {v});
  EXPECT_EQ(View(v.client_id, v.document), v);
  EXPECT_EQ(View(v.client_id, "other"), std::nullopt);
  EXPECT_EQ(View("bob", v.document), std::nullopt);
}

TEST_F(SqliteStoreTest, EmptyTextsListsAndOddBytesRoundTrip) {
  ViewRecord empty;
  empty.client_id = "c";
  empty.document = "";
  ViewRecord same_backup = FullView();
  same_backup.backup_shadow = same_backup.shadow;  // Stored once (NULL).
  ViewRecord nul = FullView();
  nul.client_id = "nul";
  nul.shadow = T(std::string_view("a\0b", 3));
  nul.backup_shadow = Text();
  nul.edit_stack = {{'R', 0, std::string("\0", 1)}, {'d', 0, ""}};
  DocumentRecord doc{"", Text(), 0};
  DocumentRecord big{"big", T(std::string(200'000, 'x') + "🎉"), 1 << 30};
  Commit({doc, big}, {empty, same_backup, nul});
  EXPECT_EQ(View("c", ""), empty);
  EXPECT_EQ(View(same_backup.client_id, same_backup.document), same_backup);
  EXPECT_EQ(View("nul", nul.document), nul);
  EXPECT_EQ(Document(""), doc);
  EXPECT_EQ(Document("big"), big);
}

TEST_F(SqliteStoreTest, UpsertsReplaceWholeRecords) {
  ViewRecord v = FullView();
  Commit({{"doc", T("one"), 1}}, {v});
  v.edit_stack.clear();
  v.pending_conflicts.resize(1);
  v.shadow = T("changed");
  v.client_version = 8;
  Commit({{"doc", T("two 二"), 2}}, {v});
  EXPECT_EQ(View(v.client_id, v.document), v);
  EXPECT_EQ(Document("doc"), (DocumentRecord{"doc", T("two 二"), 2}));
  EXPECT_EQ(*store_->Counts(), (StoreCounts{1, 1}));
}

TEST_F(SqliteStoreTest, CommittedStateSurvivesCloseAndReopen) {
  const ViewRecord v = FullView();
  const DocumentRecord d{v.document, T("Hello 世界 🎉"), 42};
  Commit({d}, {v});
  Reopen();
  EXPECT_EQ(View(v.client_id, v.document), v);
  EXPECT_EQ(Document(d.name), d);
  EXPECT_EQ(RawQuery(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(path_, "PRAGMA user_version"),
            std::to_string(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, DeletesExactlyWhatTheBatchNames) {
  ViewRecord a = FullView(), b = FullView();
  a.client_id = "a";
  b.client_id = "b";
  Commit({{a.document, T("x"), 1}, {"keep", T("k"), 1}}, {a, b});
  // A document's views stay unless the batch deletes them too.
  Commit({}, {}, {a.document, "never-existed"},
         {{"a", a.document}, {"nobody", "nothing"}});
  EXPECT_EQ(Document(a.document), std::nullopt);
  EXPECT_EQ(Document("keep"), (DocumentRecord{"keep", T("k"), 1}));
  EXPECT_EQ(View("a", a.document), std::nullopt);
  EXPECT_EQ(View("b", b.document), b);
  // Deletions come before upserts: a record deleted and written by one batch
  // is written.
  Commit({{"keep", T("new"), 2}}, {a}, {"keep"}, {{"a", a.document}});
  EXPECT_EQ(Document("keep"), (DocumentRecord{"keep", T("new"), 2}));
  EXPECT_EQ(View("a", a.document), a);
}

TEST_F(SqliteStoreTest, AFailingStatementLeavesNothingOfTheBatch) {
  const ViewRecord v = FullView();
  Commit({{"doc", T("before"), 1}, {"old", T("o"), 1}}, {v});
  ViewRecord changed = v;
  changed.shadow = T("after");
  ViewRecord bad = v;
  bad.client_id = "bad";
  bad.client_version = -1;  // Refused by the schema, after the other writes.
  Status s =
      store_->Commit(Batch({{"doc", T("after"), 2}}, {changed, bad}, {"old"}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(path_));
  EXPECT_THAT(s.message(), HasSubstr("view (\"bad\""));
  EXPECT_THAT(s.message(), HasSubstr("CHECK constraint failed"));
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_EQ(Document("doc"), (DocumentRecord{"doc", T("before"), 1}));
    EXPECT_EQ(Document("old"), (DocumentRecord{"old", T("o"), 1}));
    EXPECT_EQ(View(v.client_id, v.document), v);
    EXPECT_EQ(View("bad", v.document), std::nullopt);
    Reopen();
  }
  // The store is usable after a failed commit.
  Commit({}, {changed});
  EXPECT_EQ(View(v.client_id, v.document), changed);
}

TEST_F(SqliteStoreTest, ListsCountsAndExpiresIdleViews) {
  for (const char* name : {"b", "ä", "A", "a"}) {
    Commit({{name, T(name), 0}});
  }
  EXPECT_EQ(*store_->ListDocuments(),
            (std::vector<std::string>{"A", "a", "b", "ä"}));
  for (int64_t seen : {10, 20, 30}) {
    ViewRecord v = FullView();
    v.client_id = "c" + std::to_string(seen);
    v.last_seen_millis = seen;
    Commit({}, {v});
  }
  EXPECT_EQ(*store_->Counts(), (StoreCounts{4, 3}));
  EXPECT_EQ(*store_->DeleteViewsIdleBefore(25), 2);
  EXPECT_EQ(*store_->DeleteViewsIdleBefore(25), 0);
  EXPECT_EQ(*store_->Counts(), (StoreCounts{4, 1}));
  EXPECT_TRUE(View("c30", FullView().document).has_value());
}

TEST_F(SqliteStoreTest, RefusesANewerSchemaAndLeavesItAlone) {
  store_.reset();
  RawExec(path_, "PRAGMA user_version = " +
                     std::to_string(SqliteStore::kSchemaVersion + 1));
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr(path_));
  EXPECT_THAT(
      opened.status().message(),
      HasSubstr("schema version " +
                std::to_string(SqliteStore::kSchemaVersion + 1) + " is newer"));
  EXPECT_EQ(RawQuery(path_, "PRAGMA user_version"),
            std::to_string(SqliteStore::kSchemaVersion + 1));
}

TEST(SqliteStoreOpen, RefusesSomeOtherProgramsDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RawExec(path, "CREATE TABLE documents (name TEXT)");
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr(path));
  EXPECT_THAT(opened.status().message(), HasSubstr("not a DiffSync store"));
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "delete");
}

TEST(SqliteStoreOpen, ErrorsNameTheFile) {
  TempDir dir;
  const std::string garbage = dir.File("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'g');
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(garbage);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(opened.status().message(), HasSubstr(garbage));
  EXPECT_THAT(opened.status().message(), HasSubstr("not a database"));

  const std::string missing = dir.File("no/such/dir/store.db");
  opened = SqliteStore::Open(missing);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kIoError);
  EXPECT_THAT(opened.status().message(), HasSubstr(missing));
}

TEST_F(SqliteStoreTest, ACorruptRowIsAnErrorNamingTheRow) {
  struct Case {
    std::string set;       // SQL assignment that damages the row.
    std::string expected;  // In the error, after the row's name.
  };
  const std::vector<Case> cases = {
      {"edit_stack = x'01'", "edit_stack: count at byte 0: 1 items cannot fit"},
      {"edit_stack = x'01780000'", "edit 0 kind: byte 120 is not d, D or R"},
      {"edit_stack = x'0164020541'", "edit 0 data at byte 3: length 5 runs"},
      {"edit_stack = x'01640200ff'", "end at byte 4: 1 bytes left over"},
      {"edit_stack = x'01520201ff'", "edit 0 data: invalid UTF-8 at byte 0"},
      {"edit_stack = x'ffffffffffffffffffff01'", "count at byte 0: too large"},
      {"edit_stack = x'016402ff'", "edit 0 data at byte 3: truncated"},
      {"pending_conflicts = x'0100'", "pending_conflicts: count at byte 0"},
      {"pending_conflicts = x'0102000080'",
       "conflict 0 sent_with at byte 4: truncated"},
      {"shadow = CAST(x'41c3' AS TEXT)", "shadow: "},
      {"backup_shadow = CAST(x'ff' AS TEXT)", "backup_shadow: "},
  };
  const ViewRecord v = FullView();
  ViewRecord other = v;
  other.client_id = "other";
  Commit({}, {v, other});
  const std::string row =
      path_ + ": view (\"" + v.client_id + "\", \"" + v.document + "\"): ";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.set);
    Commit({}, {v});
    RawExec(path_, "UPDATE views SET " + c.set + " WHERE client_id = '" +
                       v.client_id + "'");
    Result<std::optional<ViewRecord>> loaded =
        store_->LoadView(v.client_id, v.document);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
    EXPECT_THAT(loaded.status().message(), HasSubstr(row));
    EXPECT_THAT(loaded.status().message(), HasSubstr(c.expected));
    EXPECT_EQ(View("other", v.document), other);
  }
  Commit({{"doc", T("fine"), 1}});
  RawExec(path_, "UPDATE documents SET text = CAST(x'e282' AS TEXT)");
  Result<std::optional<DocumentRecord>> doc = store_->LoadDocument("doc");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(doc.status().message(),
              HasSubstr(path_ + ": document \"doc\": text: "));
}

// One thread commits while another loads: every load sees a whole batch
// (the document and the view of one commit agree), never a half-written one,
// and what it sees only moves forward.
TEST_F(SqliteStoreTest, ReadersSeeWholeCommitsWhileTheWriterCommits) {
  constexpr int kCommits = 60;
  auto content = [](int64_t revision) {
    return "revision " + std::to_string(revision) + " 版本 " +
           std::string(static_cast<size_t>(revision) * 37 % 5000, 'x');
  };
  auto batch = [&](int64_t revision) {
    ViewRecord v;
    v.client_id = "alice";
    v.document = "doc";
    v.shadow = T(content(revision));
    v.server_version = revision;
    v.backup_shadow = v.shadow;
    return Batch({{"doc", v.shadow, revision}}, {v});
  };
  ASSERT_TRUE(store_->Commit(batch(0)).ok());
  std::atomic<bool> writer_done = false;
  Status writer_status;
  std::thread writer([&] {
    for (int64_t r = 1; r <= kCommits && writer_status.ok(); ++r) {
      writer_status = store_->Commit(batch(r));
    }
    writer_done = true;
  });
  int64_t last = 0;
  int reads = 0;
  for (bool finished = false; !finished;) {
    finished = writer_done;  // Read once more after the writer ends.
    Result<std::optional<DocumentRecord>> d = store_->LoadDocument("doc");
    Result<std::optional<ViewRecord>> v = store_->LoadView("alice", "doc");
    ASSERT_TRUE(d.ok() && d->has_value()) << d.status().ToString();
    ASSERT_TRUE(v.ok() && v->has_value()) << v.status().ToString();
    const int64_t revision = (*d)->revision;
    ++reads;
    EXPECT_GE(revision, last);
    EXPECT_TRUE((*d)->text.Equals(content(revision)));
    // The view was read later, so it is at least as new.
    EXPECT_GE((*v)->server_version, revision);
    EXPECT_TRUE((*v)->shadow.Equals(content((*v)->server_version)));
    last = revision;
  }
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status.ToString();
  EXPECT_EQ(last, kCommits);
  EXPECT_GT(reads, 1);
}

// The issue's promise: a client's view survives a server restart, so edits
// made offline meanwhile still merge, with no full resync.
TEST(SqliteStoreWithServer, OfflineEditsMergeAfterARestart) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  ManualClock clock(1'000'000);
  ClientDocument alice("notes"), bob("notes");
  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Server server(**store, clock);
    ASSERT_TRUE(alice.Replace(0, 0, "The cat sat on the mat. 猫").ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_TRUE(Sync(server, "bob", bob).ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_EQ(bob.text().ToString(), "The cat sat on the mat. 猫");
  }
  // The server is down; both edit offline.
  clock.Advance(std::chrono::hours(2));
  ASSERT_TRUE(alice.Replace(4, 3, "dog").ok());
  ASSERT_TRUE(bob.Replace(19, 3, "rug").ok());
  ASSERT_TRUE(bob.Replace(24, 0, "🐈").ok());

  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Server server(**store, clock);
  engine::ReplyEffects fx;
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(Sync(server, "alice", alice, true, &fx).ok());
    EXPECT_TRUE(fx.dropped_hunks.empty());
    ASSERT_TRUE(Sync(server, "bob", bob, true, &fx).ok());
    EXPECT_TRUE(fx.dropped_hunks.empty());
  }
  const std::string expected = "The dog sat on the rug. 🐈猫";
  EXPECT_EQ(alice.text().ToString(), expected);
  EXPECT_EQ(bob.text().ToString(), expected);
  EXPECT_EQ(server.DocumentText("notes")->ToString(), expected);
  EXPECT_EQ(server.stats().resyncs, 0);
  EXPECT_EQ(server.stats().dropped_hunks, 0);
}

// A reply lost because the server went down right after its commit: the
// client sends the same edit again to the restarted server, which answers
// from the stored backup shadow and applies nothing twice.
TEST(SqliteStoreWithServer, AReplyLostToARestartIsAnsweredFromTheStore) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  ManualClock clock(1'000'000);
  ClientDocument alice("notes"), bob("notes");
  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Server server(**store, clock);
    ASSERT_TRUE(alice.Replace(0, 0, "hello").ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_TRUE(Sync(server, "bob", bob).ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_TRUE(bob.Replace(5, 0, " world").ok());
    ASSERT_TRUE(Sync(server, "bob", bob).ok());
    // Alice's edit is applied and committed; its reply (carrying bob's
    // change) never reaches her.
    ASSERT_TRUE(alice.Replace(0, 0, "Hi: ").ok());
    ASSERT_TRUE(Sync(server, "alice", alice, /*deliver_reply=*/false).ok());
    EXPECT_EQ(server.DocumentText("notes")->ToString(), "Hi: hello world");
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Server server(**store, clock);
  ASSERT_TRUE(Sync(server, "alice", alice).ok());
  ASSERT_TRUE(Sync(server, "bob", bob).ok());
  ASSERT_TRUE(Sync(server, "alice", alice).ok());
  EXPECT_EQ(alice.text().ToString(), "Hi: hello world");
  EXPECT_EQ(bob.text().ToString(), "Hi: hello world");
  EXPECT_EQ(server.DocumentText("notes")->ToString(), "Hi: hello world");
  EXPECT_EQ(alice.pending_edits(), 0u);
  EXPECT_EQ(server.stats().resyncs, 0);
}

}  // namespace
}  // namespace diffsync::store
