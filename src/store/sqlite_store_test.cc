#include "diffsync/store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/test_seed.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/server.h"
#include "store/test_util.h"

// Failure messages show records by field, not as bytes.
namespace diffsync::engine {

void PrintTo(const AnchorRecord& a, std::ostream* os) {
  *os << "{" << a.revision << ", \"" << a.delta << "\"}";
}

void PrintTo(const ChangeRecord& c, std::ostream* os) {
  *os << "{\"" << c.document << "\", " << c.revision << ", " << c.base_length
      << ", \"" << c.delta << "\"}";
}

void PrintTo(const DocumentRecord& d, std::ostream* os) {
  *os << "{\"" << d.name << "\", \"" << d.text.ToString() << "\", "
      << d.revision << "}";
}

void PrintTo(const ViewRecord& v, std::ostream* os) {
  *os << "{\"" << v.client_id << "\", \"" << v.document << "\", shadow \""
      << v.shadow.ToString() << "\", n " << v.client_version << ", m "
      << v.server_version << ", backup \"" << v.backup_shadow.ToString()
      << "\", backup m " << v.backup_server_version << ", "
      << v.edit_stack.size() << " stacked, " << v.pending_conflicts.size()
      << " conflicts, seen " << v.last_seen_millis << ", anchor ";
  PrintTo(v.anchor, os);
  *os << ", backup anchor ";
  PrintTo(v.backup_anchor, os);
  *os << "}";
}

}  // namespace diffsync::engine

namespace diffsync::store {
namespace {

using engine::AnchorRecord;
using engine::ChangeRecord;
using engine::ClientDocument;
using engine::DocumentRecord;
using engine::ManualClock;
using engine::MemoryStore;
using engine::PendingConflict;
using engine::Server;
using engine::StackedEdit;
using engine::Text;
using engine::ViewRecord;
using engine::WriteBatch;
using test_util::Sync;
using test_util::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

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
  v.anchor = {12, "=6\t+%E4%B8%96%E7%95%8C\t=17"};
  v.backup_anchor = {11, "=8\t-2"};
  return v;
}

ChangeRecord Change(const std::string& document, int64_t revision,
                    std::string delta = "") {
  if (delta.empty()) delta = "=" + std::to_string(revision) + "\t+r";
  return {document, revision, revision, std::move(delta)};
}

// The schema a version-1 server created (copied from that release), to
// build the files it left behind.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE documents (
  name TEXT NOT NULL PRIMARY KEY,
  text TEXT NOT NULL,
  revision INTEGER NOT NULL CHECK (revision >= 0)
) STRICT;
CREATE TABLE views (
  client_id TEXT NOT NULL,
  document TEXT NOT NULL,
  shadow TEXT NOT NULL,
  client_version INTEGER NOT NULL CHECK (client_version >= 0),
  server_version INTEGER NOT NULL CHECK (server_version >= 0),
  backup_shadow TEXT,
  backup_server_version INTEGER NOT NULL CHECK (backup_server_version >= 0),
  edit_stack BLOB NOT NULL,
  pending_conflicts BLOB NOT NULL,
  last_seen_millis INTEGER NOT NULL,
  PRIMARY KEY (client_id, document)
) STRICT;
CREATE INDEX views_by_last_seen ON views (last_seen_millis);
PRAGMA application_id = 1146313038;  -- "DSYN"
PRAGMA user_version = 1;
PRAGMA journal_mode = WAL;
)sql";

// Every schema object's SQL, in name order.
std::string SchemaOf(const std::string& path) {
  return RawQuery(path,
                  "SELECT group_concat(sql, char(10)) FROM (SELECT sql FROM "
                  "sqlite_schema WHERE sql IS NOT NULL ORDER BY name)");
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

  std::vector<ChangeRecord> Changes(const std::string& document,
                                    int64_t from_revision = 0) {
    Result<std::vector<ChangeRecord>> c =
        store_->LoadChanges(document, from_revision);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : std::vector<ChangeRecord>();
  }

  void CommitBatch(const WriteBatch& batch) {
    Status s = store_->Commit(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
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
      {"anchor_delta = CAST(x'3dc0' AS TEXT)",
       "anchor_delta: invalid UTF-8 at byte 1"},
      {"backup_anchor_delta = CAST(x'ff' AS TEXT)",
       "backup_anchor_delta: invalid UTF-8 at byte 0"},
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

  WriteBatch changes;
  changes.changes = {Change("doc", 0), Change("doc", 1)};
  CommitBatch(changes);
  RawExec(
      path_,
      "UPDATE changes SET delta = CAST(x'2bff' AS TEXT) WHERE revision = 1");
  Result<std::vector<ChangeRecord>> loaded = store_->LoadChanges("doc", 0);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr(path_ + ": change (\"doc\", 1): delta: invalid UTF-8 "
                                "at byte 1"));
}

TEST_F(SqliteStoreTest, AnchorsRoundTripKnownUnknownAndShared) {
  const AnchorRecord a{12, "=3\t+%E4%B8%96"};
  struct Case {
    std::string name;
    AnchorRecord anchor, backup;
    bool backup_delta_stored;  // Not NULL in the file.
  };
  const std::vector<Case> cases = {
      {"unknown", {}, {}, false},
      {"shared", a, a, false},
      {"different", a, {11, "=4"}, true},
      {"same delta, older revision", a, {11, a.delta}, true},
      {"same revision, other delta", a, {12, "=4"}, true},
      {"backup unknown", a, {}, false},
      {"anchor unknown", {}, {11, "=4"}, true},
      {"empty deltas", {0, ""}, {0, ""}, false},
      {"empty backup delta", {0, "=1"}, {0, ""}, true},
  };
  std::vector<ViewRecord> views;
  for (const Case& c : cases) {
    ViewRecord v = FullView();
    v.client_id = c.name;
    v.anchor = c.anchor;
    v.backup_anchor = c.backup;
    views.push_back(v);
  }
  Commit({}, views);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(cases[i].name);
      EXPECT_EQ(View(views[i].client_id, views[i].document), views[i]);
      EXPECT_EQ(RawQuery(path_,
                         "SELECT backup_anchor_delta IS NOT NULL FROM views "
                         "WHERE client_id = '" +
                             cases[i].name + "'"),
                cases[i].backup_delta_stored ? "1" : "0");
    }
    Reopen();
  }
  // Any negative revision means unknown; its delta is not kept.
  ViewRecord v = FullView();
  v.anchor = {-3, "=1"};
  v.backup_anchor = {-1, "=2"};
  Commit({}, {v});
  ViewRecord expected = v;
  expected.anchor = {};
  expected.backup_anchor = {};
  EXPECT_EQ(View(v.client_id, v.document), expected);
}

TEST_F(SqliteStoreTest, ChangesComeBackInRevisionOrderFromTheOneAsked) {
  WriteBatch first;
  first.changes = {Change("doc", 2), Change("doc", 0), Change("doc-2", 0),
                   Change("do", 1), Change("doc", 1)};
  CommitBatch(first);
  const ChangeRecord big{"doc", int64_t{1} << 40, int64_t{1} << 33,
                         "=8589934592\t+%F0%9F%8E%89 世界"};
  WriteBatch second;
  second.changes = {big, Change("doc", 3)};
  CommitBatch(second);
  const std::vector<ChangeRecord> all = {Change("doc", 0), Change("doc", 1),
                                         Change("doc", 2), Change("doc", 3),
                                         big};
  EXPECT_EQ(Changes("doc"), all);
  EXPECT_EQ(Changes("doc", -5), all);
  EXPECT_EQ(Changes("doc", 2), (std::vector<ChangeRecord>{
                                   Change("doc", 2), Change("doc", 3), big}));
  EXPECT_EQ(Changes("doc", 4), std::vector<ChangeRecord>{big});
  EXPECT_EQ(Changes("doc", big.revision + 1), std::vector<ChangeRecord>{});
  EXPECT_EQ(Changes("nothing"), std::vector<ChangeRecord>{});
  EXPECT_EQ(Changes("do"), std::vector<ChangeRecord>{Change("do", 1)});
  // A revision written again is replaced.
  WriteBatch again;
  again.changes = {{"doc", 3, 9, "=9"}};
  CommitBatch(again);
  Reopen();
  EXPECT_EQ(Changes("doc", 3),
            (std::vector<ChangeRecord>{{"doc", 3, 9, "=9"}, big}));
  EXPECT_EQ(*store_->Counts(), (StoreCounts{0, 0, 7}));
}

TEST_F(SqliteStoreTest, TrimsDeleteOnlyOlderChangesOfTheirDocument) {
  WriteBatch batch;
  for (int64_t r = 0; r < 6; ++r) {
    for (const char* doc : {"a", "b", "ab"}) {
      batch.changes.push_back(Change(doc, r));
    }
  }
  CommitBatch(batch);
  auto revisions = [&](const std::string& document) {
    std::vector<int64_t> out;
    for (const ChangeRecord& c : Changes(document)) out.push_back(c.revision);
    return out;
  };
  WriteBatch trim;
  trim.trimmed_changes = {{"a", 3}, {"nothing", 10}};
  CommitBatch(trim);
  EXPECT_EQ(revisions("a"), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(revisions("b"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(revisions("ab"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  // Trims come after the batch's changes, as when a new change pushes the
  // oldest out of the history: an appended change below the kept revision
  // is gone too.
  WriteBatch append_and_trim;
  append_and_trim.changes = {Change("a", 6), Change("a", 2)};
  append_and_trim.trimmed_changes = {{"a", 4}, {"b", 100}};
  CommitBatch(append_and_trim);
  EXPECT_EQ(revisions("a"), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(revisions("b"), std::vector<int64_t>{});
  EXPECT_EQ(revisions("ab"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(SqliteStoreTest, ADeletedDocumentLosesItsChanges) {
  WriteBatch batch;
  batch.documents = {{"a", T("aaa"), 3}, {"ab", T("ab"), 2}};
  batch.changes = {Change("a", 0), Change("a", 1), Change("a", 2),
                   Change("ab", 0), Change("ab", 1)};
  CommitBatch(batch);
  WriteBatch remove;
  remove.deleted_documents = {"a"};
  CommitBatch(remove);
  EXPECT_EQ(Document("a"), std::nullopt);
  EXPECT_EQ(Changes("a"), std::vector<ChangeRecord>{});
  EXPECT_EQ(Changes("ab"),
            (std::vector<ChangeRecord>{Change("ab", 0), Change("ab", 1)}));
  // Deleted and made again by one batch: the deletion comes first, so the
  // new document keeps the changes the batch gives it, and only those.
  CommitBatch(batch);
  WriteBatch recreate;
  recreate.deleted_documents = {"a"};
  recreate.documents = {{"a", T("new"), 1}};
  recreate.changes = {{"a", 0, 0, "+new"}};
  CommitBatch(recreate);
  EXPECT_EQ(Document("a"), (DocumentRecord{"a", T("new"), 1}));
  EXPECT_EQ(Changes("a"), (std::vector<ChangeRecord>{{"a", 0, 0, "+new"}}));
}

TEST_F(SqliteStoreTest, AFailingChangeLeavesNothingOfTheBatch) {
  const ViewRecord v = FullView();
  WriteBatch before;
  before.documents = {{"doc", T("before"), 2}, {"old", T("o"), 1}};
  before.views = {v};
  before.changes = {Change("doc", 0), Change("doc", 1), Change("old", 0)};
  CommitBatch(before);
  for (const ChangeRecord& bad :
       {ChangeRecord{"doc", 3, -1, "=1"}, ChangeRecord{"doc", -1, 0, ""}}) {
    SCOPED_TRACE(bad.revision);
    ViewRecord changed = v;
    changed.anchor = {4, "=5"};
    WriteBatch batch;
    batch.documents = {{"doc", T("after"), 4}};
    batch.views = {changed};
    batch.deleted_documents = {"old"};
    batch.changes = {Change("doc", 2), bad};
    batch.trimmed_changes = {{"doc", 2}};
    Status s = store_->Commit(batch);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr(path_ + ": write change (\"doc\", " +
                                       std::to_string(bad.revision) + ")"));
    EXPECT_THAT(s.message(), HasSubstr("CHECK constraint failed"));
    for (int pass = 0; pass < 2; ++pass) {
      EXPECT_EQ(Document("doc"), (DocumentRecord{"doc", T("before"), 2}));
      EXPECT_EQ(Document("old"), (DocumentRecord{"old", T("o"), 1}));
      EXPECT_EQ(View(v.client_id, v.document), v);
      EXPECT_EQ(Changes("doc"), (std::vector<ChangeRecord>{Change("doc", 0),
                                                           Change("doc", 1)}));
      EXPECT_EQ(Changes("old"), std::vector<ChangeRecord>{Change("old", 0)});
      Reopen();
    }
  }
}

// The memory store is the reference: seeded random batches of every kind,
// committed to both, leave both answering every load alike.
TEST_F(SqliteStoreTest, AppliesRandomBatchesAsTheMemoryStoreDoes) {
  std::mt19937_64 rng(test_util::TestSeed(20251125));
  auto below = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
  const std::vector<std::string> documents = {"a", "b", "ab", "笔记"};
  const std::vector<std::string> clients = {"x", "y"};
  auto document = [&] { return documents[below(documents.size())]; };
  auto anchor = [&]() -> AnchorRecord {
    if (below(3) == 0) return {};
    return {below(20), "=" + std::to_string(below(50))};
  };
  MemoryStore reference;
  for (int step = 0; step < 300; ++step) {
    WriteBatch batch;
    if (below(8) == 0) batch.deleted_documents.push_back(document());
    if (below(8) == 0) {
      batch.deleted_views.emplace_back(clients[below(2)], document());
    }
    if (below(2) == 0) {
      batch.documents.push_back(
          {document(), T("text " + std::to_string(step)), below(20)});
    }
    if (below(2) == 0) {
      ViewRecord v = FullView();
      v.client_id = clients[below(2)];
      v.document = document();
      v.server_version = step;
      v.anchor = anchor();
      v.backup_anchor = below(2) == 0 ? v.anchor : anchor();
      batch.views.push_back(v);
    }
    for (int64_t i = below(4); i > 0; --i) {
      const int64_t revision = below(20);
      batch.changes.push_back({document(), revision, below(100),
                               "=" + std::to_string(step) + "\t+%E4%B8%96"});
    }
    if (below(3) == 0) {
      batch.trimmed_changes.emplace_back(document(), below(20));
    }
    ASSERT_TRUE(reference.Commit(batch).ok());
    CommitBatch(batch);
    if (step % 25 != 24) continue;
    if (step % 100 == 99) Reopen();
    for (const std::string& d : documents) {
      SCOPED_TRACE("step " + std::to_string(step) + ", document " + d);
      EXPECT_EQ(Document(d), *reference.LoadDocument(d));
      const int64_t from = below(22) - 1;
      EXPECT_EQ(Changes(d), *reference.LoadChanges(d, 0));
      EXPECT_EQ(Changes(d, from), *reference.LoadChanges(d, from));
      for (const std::string& c : clients) {
        EXPECT_EQ(View(c, d), *reference.LoadView(c, d));
      }
    }
  }
}

TEST(SqliteStoreMigration, AVersion1FileIsUpgradedAndKeepsItsData) {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  RawExec(path, std::string(kVersion1Schema) +
                    "INSERT INTO documents VALUES ('notes', 'ab|ab|ab|', 7);"
                    "INSERT INTO views VALUES ('alice', 'notes', 'ab|ab|', 3, "
                    "6, NULL, 6, x'', x'', 1700000000000);"
                    "INSERT INTO views VALUES ('bob', 'notes', 'ab|ab|ab|', 2, "
                    "7, 'ab|', 5, x'0164020d3d33092b254534254238253936', "
                    "x'', 1700000000001);");
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"),
            std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(*(*store)->LoadDocument("notes"),
            (DocumentRecord{"notes", T("ab|ab|ab|"), 7}));
  ViewRecord alice;
  alice.client_id = "alice";
  alice.document = "notes";
  alice.shadow = T("ab|ab|");
  alice.client_version = 3;
  alice.server_version = 6;
  alice.backup_shadow = alice.shadow;
  alice.backup_server_version = 6;
  alice.last_seen_millis = 1'700'000'000'000;
  // What a version-1 server knew of the anchors after its restart: nothing.
  EXPECT_EQ(*(*store)->LoadView("alice", "notes"), alice);
  Result<std::optional<ViewRecord>> bob = (*store)->LoadView("bob", "notes");
  ASSERT_TRUE(bob.ok() && bob->has_value()) << bob.status().ToString();
  EXPECT_EQ((*bob)->backup_shadow.ToString(), "ab|");
  EXPECT_EQ((*bob)->edit_stack,
            (std::vector<StackedEdit>{{'d', 1, "=3\t+%E4%B8%96"}}));
  EXPECT_EQ((*bob)->anchor, AnchorRecord{});
  EXPECT_EQ(*(*store)->LoadChanges("notes", 0), std::vector<ChangeRecord>{});
  EXPECT_EQ(*(*store)->Counts(), (StoreCounts{1, 2, 0}));

  // It now stores what the current version does, and a reopened file is
  // not migrated again.
  alice.anchor = {7, "=6\t+ab|"};
  WriteBatch batch;
  batch.views = {alice};
  batch.changes = {{"notes", 6, 6, "=6\t+ab|"}};
  ASSERT_TRUE((*store)->Commit(batch).ok());
  store->reset();
  store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->LoadView("alice", "notes"), alice);
  EXPECT_EQ(*(*store)->LoadChanges("notes", 0), batch.changes);

  // Migrated and new files have the very same schema.
  const std::string fresh = dir.File("new.db");
  ASSERT_TRUE(SqliteStore::Open(fresh).ok());
  EXPECT_EQ(SchemaOf(path), SchemaOf(fresh));
  EXPECT_THAT(SchemaOf(path), HasSubstr("CREATE TABLE changes"));
  EXPECT_THAT(SchemaOf(path), Not(HasSubstr("views_by_last_seen")));
}

// A link's record with every field set: texts that differ, a local delta,
// an edit of each kind with and without a checksum, a known anchor.
engine::LinkRecord FullLink() {
  engine::LinkRecord l;
  l.link_id = "link-b 🔗";
  engine::ClientState& c = l.client;
  c.document = "笔记/notes";
  c.text = "Hello 世界 🎉!";
  c.shadow = "Hello 世界";
  c.confirmed = "Hello";
  c.client_version = 9;
  c.server_version = 4;
  c.delta_ok = true;
  c.joined = true;
  c.rebase = true;
  c.local_delta = "=8\t+ %F0%9F%8E%89!";
  engine::Edit raw;
  raw.kind = engine::Edit::Kind::kRaw;
  raw.version = 6;
  raw.data = "raw 🎉\ntext";
  engine::Edit raw_overwrite = raw;
  raw_overwrite.overwrite = true;
  raw_overwrite.version = 7;
  raw_overwrite.checksum = 0;
  engine::Edit delta;
  delta.version = 7;
  delta.data = "=5\t+ %E4%B8%96%E7%95%8C";
  delta.checksum = 0xFFFFFFFFu;
  engine::Edit overwrite = delta;
  overwrite.overwrite = true;
  overwrite.version = 8;
  overwrite.checksum.reset();
  c.edit_stack = {raw, raw_overwrite, delta, overwrite};
  l.anchor = {41, "=8\t-3\t+x"};
  return l;
}

TEST_F(SqliteStoreTest, LinksRoundTripAndSurviveReopen) {
  engine::LinkRecord full = FullLink();
  // In step: one text, nothing pending, the anchor unknown.
  engine::LinkRecord plain;
  plain.link_id = "b";
  plain.client.document = "notes";
  plain.client.text = plain.client.shadow = plain.client.confirmed = "";
  WriteBatch batch;
  batch.links = {full, plain};
  CommitBatch(batch);
  EXPECT_EQ(*store_->LoadLink(full.link_id, full.client.document), full);
  EXPECT_EQ(*store_->LoadLink("b", "notes"), plain);
  EXPECT_EQ(*store_->LoadLink("b", "other"), std::nullopt);
  EXPECT_EQ(*store_->LoadLink("c", "notes"), std::nullopt);
  EXPECT_EQ(RawQuery(path_,
                     "SELECT count(*) FROM links WHERE shadow IS NULL "
                     "AND confirmed IS NULL AND local_delta IS NULL"),
            "1");

  // A later record of the same key replaces the whole record.
  plain.client.text = plain.client.shadow = plain.client.confirmed = "in step";
  plain.client.server_version = 3;
  plain.anchor = {2, "=7"};
  batch.links = {plain};
  CommitBatch(batch);
  Reopen();
  EXPECT_EQ(*store_->LoadLink(full.link_id, full.client.document), full);
  EXPECT_EQ(*store_->LoadLink("b", "notes"), plain);
  // The restored client is one ClientDocument accepts.
  EXPECT_TRUE(
      engine::ClientDocument::Restore((*store_->LoadLink("b", "notes"))->client)
          .ok());

  RawExec(path_, "UPDATE links SET edit_stack = x'0178' WHERE link_id = 'b'");
  Result<std::optional<engine::LinkRecord>> bad =
      store_->LoadLink("b", "notes");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("link (\"b\", \"notes\"): edit_stack: "));
}

TEST(SqliteStoreMigration, AVersion3FileIsUpgradedAndStoresLinks) {
  TempDir dir;
  const std::string path = dir.File("v3.db");
  const std::string fresh = dir.File("new.db");
  ASSERT_TRUE(SqliteStore::Open(fresh).ok());
  // Version 3 is every step before the links table: a file of the current
  // schema without it is exactly what a version-3 server left behind.
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  RawExec(path,
          "DROP TABLE links; PRAGMA user_version = 3;"
          "INSERT INTO documents VALUES ('notes', 'kept', 3);"
          "INSERT INTO views (client_id, document, shadow, client_version, "
          "server_version, backup_shadow, backup_server_version, edit_stack, "
          "pending_conflicts, last_seen_millis) VALUES ('alice', 'notes', "
          "'kept', 1, 2, NULL, 2, x'', x'', 1700000000000);");
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), "4");
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(SchemaOf(path), SchemaOf(fresh));
  EXPECT_EQ(*(*store)->LoadDocument("notes"),
            (DocumentRecord{"notes", T("kept"), 3}));
  EXPECT_EQ((*(*store)->LoadView("alice", "notes"))->server_version, 2);
  // No link was stored before: the server joins afresh, as it did.
  EXPECT_EQ(*(*store)->LoadLink("b", "notes"), std::nullopt);

  WriteBatch batch;
  batch.links = {FullLink()};
  ASSERT_TRUE((*store)->Commit(batch).ok());
  store->reset();
  store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->LoadLink(FullLink().link_id, FullLink().client.document),
            FullLink());
}

TEST(SqliteStoreMigration, AFailedMigrationLeavesTheFileAsItWas) {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  // A table in the way of version 2 makes the migration fail halfway, after
  // the views got their new columns.
  RawExec(path, std::string(kVersion1Schema) +
                    "INSERT INTO documents VALUES ('notes', 'kept', 3);"
                    "CREATE TABLE changes (in_the_way TEXT);");
  const std::string schema = SchemaOf(path);
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr(path + ": migrate schema from version 1 to 2: "));
  EXPECT_THAT(store.status().message(), HasSubstr("already exists"));
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), "1");
  EXPECT_EQ(SchemaOf(path), schema);
  EXPECT_EQ(RawQuery(path, "SELECT text FROM documents"), "kept");

  RawExec(path, "DROP TABLE changes");
  store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->LoadDocument("notes"),
            (DocumentRecord{"notes", T("kept"), 3}));
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
  // Each view's anchor was stored: both merges were exact.
  EXPECT_EQ(server.stats().diffed_merges, 0);
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
  EXPECT_EQ(server.stats().diffed_merges, 0);
}

// In repeated text a diff cannot tell the copies apart: merging an edit made
// against an old shadow by diffing that shadow against the document can
// land it in the wrong copy. The stored history and anchors keep every merge
// after a restart exact; the expected texts below are the exact ones (a
// diff-based merge would give another text).
TEST(SqliteStoreWithServer, RepeatedTextMergesExactlyAcrossRestarts) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  ManualClock clock(1'000'000);
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<Server> server;
  int64_t diffed_merges = 0, resyncs = 0, dropped_hunks = 0;
  auto restart = [&] {
    if (server != nullptr) {
      diffed_merges += server->stats().diffed_merges;
      resyncs += server->stats().resyncs;
      dropped_hunks += server->stats().dropped_hunks;
    }
    server.reset();
    store.reset();
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
    server = std::make_unique<Server>(*store, clock);
  };
  ClientDocument alice("notes"), bob("notes");
  restart();
  ASSERT_TRUE(alice.Replace(0, 0, "ab|ab|ab|").ok());
  ASSERT_TRUE(Sync(*server, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server, "bob", bob).ok());
  // Bob adds a copy in front; alice does not hear of it before the restart.
  ASSERT_TRUE(bob.Replace(0, 0, "ab|").ok());
  ASSERT_TRUE(Sync(*server, "bob", bob).ok());

  // After the restart alice types inside her second copy, which is now the
  // document's third: only the stored history says so.
  restart();
  ASSERT_TRUE(alice.Replace(4, 0, "X").ok());
  ASSERT_TRUE(Sync(*server, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server, "bob", bob).ok());
  ASSERT_TRUE(Sync(*server, "alice", alice).ok());
  EXPECT_EQ(server->DocumentText("notes")->ToString(), "ab|ab|aXb|ab|");
  EXPECT_EQ(alice.text().ToString(), "ab|ab|aXb|ab|");
  EXPECT_EQ(bob.text().ToString(), "ab|ab|aXb|ab|");

  // Both type while the server is down; bob's edit lands first, then
  // alice's is merged against her stored anchor.
  restart();
  ASSERT_TRUE(bob.Replace(0, 0, "ab|").ok());
  ASSERT_TRUE(alice.Replace(1, 0, "Y").ok());
  restart();
  ASSERT_TRUE(Sync(*server, "bob", bob).ok());
  ASSERT_TRUE(Sync(*server, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server, "bob", bob).ok());
  const std::string expected = "ab|aYb|ab|aXb|ab|";
  EXPECT_EQ(server->DocumentText("notes")->ToString(), expected);
  EXPECT_EQ(alice.text().ToString(), expected);
  EXPECT_EQ(bob.text().ToString(), expected);
  EXPECT_EQ(alice.pending_edits(), 0u);
  EXPECT_EQ(bob.pending_edits(), 0u);
  restart();
  EXPECT_EQ(diffed_merges, 0);
  EXPECT_EQ(resyncs, 0);
  EXPECT_EQ(dropped_hunks, 0);
  // Five edits, five stored changes.
  EXPECT_EQ(*store->Counts(), (StoreCounts{1, 2, 5}));
}

// A disk that fills up: a VFS over the default one whose writes fail with
// SQLITE_FULL (what SQLite makes of ENOSPC) once a byte budget is spent, so
// a real SqliteStore meets a full disk without a small file system to mount.
// While a test holds it, it is the default VFS, which SqliteStore opens.
class FullDisk {
 public:
  FullDisk() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "diffsync-full-disk";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~FullDisk() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, /*makeDflt=*/1);
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

  // From now on `bytes` more may be written; then every write fails.
  void LeaveRoom(int64_t bytes) { room_ = bytes; }
  void Unlimited() { room_ = -1; }

 private:
  struct File {
    sqlite3_file base;
    FullDisk* disk;
    sqlite3_file* real;  // Right after this struct, szOsFile bytes.
  };

  static sqlite3_file* Real(sqlite3_file* f) {
    return reinterpret_cast<File*>(f)->real;
  }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file,
                  int flags, int* out_flags) {
    FullDisk* disk = static_cast<FullDisk*>(vfs->pAppData);
    File* f = reinterpret_cast<File*>(file);
    f->disk = disk;
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    const int rc =
        disk->real_->xOpen(disk->real_, name, f->real, flags, out_flags);
    f->base.pMethods = rc == SQLITE_OK ? &kMethods : nullptr;
    return rc;
  }

  static int Write(sqlite3_file* file, const void* data, int amount,
                   sqlite3_int64 offset) {
    FullDisk* disk = reinterpret_cast<File*>(file)->disk;
    int64_t room = disk->room_.load();
    while (room >= 0) {
      if (room < amount) return SQLITE_FULL;
      if (disk->room_.compare_exchange_weak(room, room - amount)) break;
    }
    return Real(file)->pMethods->xWrite(Real(file), data, amount, offset);
  }

  static const sqlite3_io_methods kMethods;

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  std::atomic<int64_t> room_{-1};
};

// Every other call goes to the real file as is.
const sqlite3_io_methods FullDisk::kMethods = {
    .iVersion = 3,
    .xClose =
        [](sqlite3_file* f) {
          sqlite3_file* real = Real(f);
          const int rc = real->pMethods->xClose(real);
          f->pMethods = nullptr;
          return rc;
        },
    .xRead =
        [](sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
          return Real(f)->pMethods->xRead(Real(f), data, amount, offset);
        },
    .xWrite = &FullDisk::Write,
    .xTruncate =
        [](sqlite3_file* f, sqlite3_int64 size) {
          return Real(f)->pMethods->xTruncate(Real(f), size);
        },
    .xSync = [](sqlite3_file* f,
                int flags) { return Real(f)->pMethods->xSync(Real(f), flags); },
    .xFileSize =
        [](sqlite3_file* f, sqlite3_int64* size) {
          return Real(f)->pMethods->xFileSize(Real(f), size);
        },
    .xLock = [](sqlite3_file* f,
                int lock) { return Real(f)->pMethods->xLock(Real(f), lock); },
    .xUnlock =
        [](sqlite3_file* f, int lock) {
          return Real(f)->pMethods->xUnlock(Real(f), lock);
        },
    .xCheckReservedLock =
        [](sqlite3_file* f, int* out) {
          return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
        },
    .xFileControl =
        [](sqlite3_file* f, int op, void* arg) {
          return Real(f)->pMethods->xFileControl(Real(f), op, arg);
        },
    .xSectorSize =
        [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
    .xDeviceCharacteristics =
        [](sqlite3_file* f) {
          return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
        },
    .xShmMap =
        [](sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
          return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
        },
    .xShmLock =
        [](sqlite3_file* f, int offset, int n, int flags) {
          return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
        },
    .xShmBarrier =
        [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
    .xShmUnmap =
        [](sqlite3_file* f, int delete_flag) {
          return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
        },
    .xFetch =
        [](sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
          return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
        },
    .xUnfetch =
        [](sqlite3_file* f, sqlite3_int64 offset, void* page) {
          return Real(f)->pMethods->xUnfetch(Real(f), offset, page);
        },
};

// A real full disk under the store: the commit that does not fit fails with
// kResourceExhausted naming the file and stores nothing of its batch; reads
// go on; once there is room again commits land, and a reopened file holds
// exactly what was acknowledged.
TEST(SqliteStoreFullDisk, AFullDiskFailsTheCommitAndKeepsWhatWasStored) {
  FullDisk disk;
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.File("store.db");
  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(
        (*store)->Commit(Batch({{"kept", T("stored before"), 1}})).ok());
    disk.LeaveRoom(0);
    Status full = (*store)->Commit(Batch(
        {{"big", T(std::string(100'000, 'x')), 1}, {"kept", T("no"), 2}}));
    EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.ToString();
    EXPECT_THAT(full.message(), HasSubstr(path));
    Result<std::optional<DocumentRecord>> kept = (*store)->LoadDocument("kept");
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    ASSERT_TRUE(kept->has_value());
    EXPECT_EQ((*kept)->text.ToString(), "stored before");
    EXPECT_FALSE((*store)->LoadDocument("big")->has_value());
    // Still full: a second commit fails the same way.
    EXPECT_EQ((*store)->Commit(Batch({{"small", T("s"), 1}})).code(),
              StatusCode::kResourceExhausted);
    disk.Unlimited();
    ASSERT_TRUE((*store)->Commit(Batch({{"after", T("room again"), 1}})).ok());
  }
  Result<std::unique_ptr<SqliteStore>> reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*(*reopened)->ListDocuments(),
            (std::vector<std::string>{"after", "kept"}));
  EXPECT_EQ((*(*reopened)->LoadDocument("kept"))->text.ToString(),
            "stored before");
}

// The server over a store on a disk that fills while clients sync: a
// request that cannot be stored is not acknowledged (the client keeps its
// edits), other requests are refused while the disk is full, and when
// there is room again the retried edits land; a reopened file holds them.
TEST(SqliteStoreFullDisk, TheServerAcknowledgesNothingItCouldNotStore) {
  FullDisk disk;
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string path = dir.File("store.db");
  ManualClock clock(1'000'000);
  ClientDocument alice("doc"), bob("doc");
  {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Server server(**store, clock);
    ASSERT_TRUE(alice.Replace(0, 0, "acknowledged").ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_TRUE(Sync(server, "bob", bob).ok());
    disk.LeaveRoom(0);
    ASSERT_TRUE(alice.Replace(12, 0, " and more").ok());
    Status s = Sync(server, "alice", alice);
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
    EXPECT_EQ(alice.pending_edits(), 1u);
    ASSERT_TRUE(bob.Replace(0, 0, "[bob] ").ok());
    EXPECT_EQ(Sync(server, "bob", bob).code(), StatusCode::kResourceExhausted);
    EXPECT_EQ((*(*store)->LoadDocument("doc"))->text.ToString(),
              "acknowledged");
    disk.Unlimited();
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    ASSERT_TRUE(Sync(server, "bob", bob).ok());
    ASSERT_TRUE(Sync(server, "alice", alice).ok());
    EXPECT_EQ(alice.pending_edits(), 0u);
    EXPECT_EQ(bob.pending_edits(), 0u);
    EXPECT_EQ(server.stats().resyncs, 0);
  }
  Result<std::unique_ptr<SqliteStore>> reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  const std::string text = (*(*reopened)->LoadDocument("doc"))->text.ToString();
  EXPECT_EQ(text, "[bob] acknowledged and more");
  EXPECT_EQ(alice.text().ToString(), text);
  EXPECT_EQ(bob.text().ToString(), text);
}

}  // namespace
}  // namespace diffsync::store
