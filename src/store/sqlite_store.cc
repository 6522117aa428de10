#include "diffsync/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "dmp/utf.h"

namespace diffsync::store {
namespace {

using engine::AnchorRecord;
using engine::ChangeRecord;
using engine::DocumentRecord;
using engine::Edit;
using engine::LinkRecord;
using engine::PendingConflict;
using engine::StackedEdit;
using engine::Text;
using engine::ViewRecord;
using engine::WriteBatch;

// "DSYN": marks the file as a DiffSync store, so that Open never adopts (or
// switches to WAL) some other program's database.
constexpr int64_t kApplicationId = 0x4453594E;

// The schema, as the steps that took it from each version to the next:
// step i turns a file of version i into one of version i + 1, inside Open's
// transaction. A new file runs every step, so a created file and a migrated
// one have the very same schema. docs/STORAGE.md explains every column.
// STRICT makes SQLite refuse a value of the wrong type instead of storing it.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
    R"sql(
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
)sql",
    // Version 2: each document's recent changes and each view's anchors, so
    // that merges after a restart stay exact. The views of a version-1 file
    // get unknown anchors (NULL), which is what they had in memory.
    R"sql(
ALTER TABLE views ADD COLUMN anchor_revision INTEGER
  CHECK (anchor_revision >= 0);
ALTER TABLE views ADD COLUMN anchor_delta TEXT
  CHECK ((anchor_delta IS NULL) = (anchor_revision IS NULL));
ALTER TABLE views ADD COLUMN backup_anchor_revision INTEGER
  CHECK (backup_anchor_revision >= 0);
ALTER TABLE views ADD COLUMN backup_anchor_delta TEXT
  CHECK (CASE WHEN backup_anchor_revision IS NULL
              THEN backup_anchor_delta IS NULL
              ELSE backup_anchor_delta IS NOT NULL OR
                   backup_anchor_revision IS anchor_revision END);
CREATE TABLE changes (
  document TEXT NOT NULL,
  revision INTEGER NOT NULL CHECK (revision >= 0),
  base_length INTEGER NOT NULL CHECK (base_length >= 0),
  delta TEXT NOT NULL,
  PRIMARY KEY (document, revision)
) STRICT, WITHOUT ROWID;
)sql",
    // Version 3: no index on last_seen_millis. Every request rewrites its
    // view's last_seen_millis, so the index cost a B-tree delete and insert
    // (about one more page in the WAL) per view written, to speed up an
    // expiry purge that runs once a minute and may as well scan.
    R"sql(
DROP INDEX views_by_last_seen;
)sql",
    // Version 4: the client half of each link to an upstream server, so that
    // a restarted downstream server resends what it sent instead of joining
    // again. A version-3 file has no links: its server joins afresh, as it
    // would have.
    R"sql(
CREATE TABLE links (
  link_id TEXT NOT NULL,
  document TEXT NOT NULL,
  text TEXT NOT NULL,
  shadow TEXT,
  confirmed TEXT,
  client_version INTEGER NOT NULL CHECK (client_version >= 0),
  server_version INTEGER NOT NULL CHECK (server_version >= 0),
  delta_ok INTEGER NOT NULL CHECK (delta_ok IN (0, 1)),
  joined INTEGER NOT NULL CHECK (joined IN (0, 1)),
  rebase INTEGER NOT NULL CHECK (rebase IN (0, 1)),
  local_delta TEXT,
  edit_stack BLOB NOT NULL,
  anchor_revision INTEGER CHECK (anchor_revision >= 0),
  anchor_delta TEXT
    CHECK ((anchor_delta IS NULL) = (anchor_revision IS NULL)),
  PRIMARY KEY (link_id, document)
) STRICT;
)sql",
};

// The statements a connection prepares once and reuses.
enum class Sql : size_t {
  kBegin,
  kCommit,
  kDeleteDocument,
  kDeleteDocumentChanges,
  kDeleteView,
  kUpsertDocument,
  kUpsertView,
  kUpsertChange,
  kTrimChanges,
  kUpsertLink,
  kDeleteIdleViews,
  kLoadDocument,
  kLoadView,
  kLoadChanges,
  kLoadLink,
  kListDocuments,
  kCounts,
  kEnd,
};

constexpr std::array<const char*, static_cast<size_t>(Sql::kEnd)> kSql = {
    // A write transaction takes the file's write lock at once, so waiting
    // for another writer happens here (under the busy timeout) rather than
    // failing halfway through a batch.
    "BEGIN IMMEDIATE",
    "COMMIT",
    "DELETE FROM documents WHERE name = ?1",
    "DELETE FROM changes WHERE document = ?1",
    "DELETE FROM views WHERE client_id = ?1 AND document = ?2",
    "INSERT INTO documents (name, text, revision) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET text = excluded.text, "
    "revision = excluded.revision",
    "INSERT INTO views (client_id, document, shadow, client_version, "
    "server_version, backup_shadow, backup_server_version, edit_stack, "
    "pending_conflicts, last_seen_millis, anchor_revision, anchor_delta, "
    "backup_anchor_revision, backup_anchor_delta) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
    "ON CONFLICT (client_id, document) DO UPDATE SET "
    "shadow = excluded.shadow, client_version = excluded.client_version, "
    "server_version = excluded.server_version, "
    "backup_shadow = excluded.backup_shadow, "
    "backup_server_version = excluded.backup_server_version, "
    "edit_stack = excluded.edit_stack, "
    "pending_conflicts = excluded.pending_conflicts, "
    "last_seen_millis = excluded.last_seen_millis, "
    "anchor_revision = excluded.anchor_revision, "
    "anchor_delta = excluded.anchor_delta, "
    "backup_anchor_revision = excluded.backup_anchor_revision, "
    "backup_anchor_delta = excluded.backup_anchor_delta",
    "INSERT INTO changes (document, revision, base_length, delta) "
    "VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (document, revision) DO UPDATE SET "
    "base_length = excluded.base_length, delta = excluded.delta",
    "DELETE FROM changes WHERE document = ?1 AND revision < ?2",
    "INSERT OR REPLACE INTO links (link_id, document, text, shadow, "
    "confirmed, client_version, server_version, delta_ok, joined, rebase, "
    "local_delta, edit_stack, anchor_revision, anchor_delta) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    "DELETE FROM views WHERE last_seen_millis < ?1",
    "SELECT text, revision FROM documents WHERE name = ?1",
    "SELECT shadow, client_version, server_version, backup_shadow, "
    "backup_server_version, edit_stack, pending_conflicts, last_seen_millis, "
    "anchor_revision, anchor_delta, backup_anchor_revision, "
    "backup_anchor_delta "
    "FROM views WHERE client_id = ?1 AND document = ?2",
    "SELECT revision, base_length, delta FROM changes "
    "WHERE document = ?1 AND revision >= ?2 ORDER BY revision",
    "SELECT text, shadow, confirmed, client_version, server_version, "
    "delta_ok, joined, rebase, local_delta, edit_stack, anchor_revision, "
    "anchor_delta FROM links WHERE link_id = ?1 AND document = ?2",
    "SELECT name FROM documents ORDER BY name",
    // One statement reads one snapshot, so the counts agree.
    "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM views), "
    "(SELECT count(*) FROM changes)",
};

constexpr std::initializer_list<Sql> kWriterSql = {
    Sql::kBegin,          Sql::kCommit,
    Sql::kDeleteDocument, Sql::kDeleteDocumentChanges,
    Sql::kDeleteView,     Sql::kUpsertDocument,
    Sql::kUpsertView,     Sql::kUpsertChange,
    Sql::kTrimChanges,    Sql::kUpsertLink,
    Sql::kDeleteIdleViews};
constexpr std::initializer_list<Sql> kReaderSql = {
    Sql::kLoadDocument, Sql::kLoadView,      Sql::kLoadChanges,
    Sql::kLoadLink,     Sql::kListDocuments, Sql::kCounts};

StatusCode CodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return StatusCode::kResourceExhausted;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return StatusCode::kIoError;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kCorruption;
    case SQLITE_CONSTRAINT:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

std::string DocumentName(std::string_view name) {
  return "document \"" + std::string(name) + "\"";
}

std::string ViewName(std::string_view client_id, std::string_view document) {
  return "view (\"" + std::string(client_id) + "\", \"" +
         std::string(document) + "\")";
}

std::string LinkName(std::string_view link_id, std::string_view document) {
  return "link (\"" + std::string(link_id) + "\", \"" + std::string(document) +
         "\")";
}

std::string ChangeName(std::string_view document, int64_t revision) {
  return "change (\"" + std::string(document) + "\", " +
         std::to_string(revision) + ")";
}

// The blob columns (docs/STORAGE.md): unsigned LEB128 varints, signed
// integers zigzag-encoded first, strings as a varint byte count and the
// bytes; a list is its count and its items, and an empty list is the empty
// blob.
void PutVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void PutInt(int64_t v, std::string& out) {
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63),
            out);
}

void PutString(std::string_view s, std::string& out) {
  PutVarint(s.size(), out);
  out += s;
}

std::string EncodeEditStack(const std::vector<StackedEdit>& stack) {
  std::string out;
  if (stack.empty()) return out;
  PutVarint(stack.size(), out);
  for (const StackedEdit& e : stack) {
    out += e.kind;
    PutInt(e.version, out);
    PutString(e.data, out);
  }
  return out;
}

// A link's unacknowledged edits, as its client sends them: kind (MobWrite's
// letter), version, data, and the shadow's checksum or -1 for none.
std::string EncodeLinkEdits(const std::vector<Edit>& stack) {
  std::string out;
  if (stack.empty()) return out;
  PutVarint(stack.size(), out);
  for (const Edit& e : stack) {
    out += engine::EditLetter(e.kind, e.overwrite);
    PutInt(e.version, out);
    PutString(e.data, out);
    PutInt(e.checksum ? static_cast<int64_t>(*e.checksum) : -1, out);
  }
  return out;
}

std::string EncodeConflicts(const std::vector<PendingConflict>& conflicts) {
  std::string out;
  if (conflicts.empty()) return out;
  PutVarint(conflicts.size(), out);
  for (const PendingConflict& c : conflicts) {
    PutInt(c.client_version, out);
    PutString(c.reason, out);
    PutString(c.hunk, out);
    PutInt(c.sent_with, out);
  }
  return out;
}

// Reads a blob written by the functions above; every error is kCorruption
// naming the field and the byte offset.
class BlobReader {
 public:
  explicit BlobReader(std::string_view blob) : blob_(blob) {}

  bool done() const { return pos_ == blob_.size(); }

  Status Varint(uint64_t* out, std::string_view what) {
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (pos_ == blob_.size()) return Error(what, start, "truncated");
      const auto byte = static_cast<uint8_t>(blob_[pos_++]);
      if (shift == 63 && byte > 1) return Error(what, start, "too large");
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    *out = v;
    return Status::Ok();
  }

  Status Int(int64_t* out, std::string_view what) {
    uint64_t v = 0;
    if (Status s = Varint(&v, what); !s.ok()) return s;
    *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    return Status::Ok();
  }

  // A list's item count; each item takes at least `min_item_bytes`, so a
  // damaged count cannot make the caller reserve more than the blob holds.
  Status Count(uint64_t* out, size_t min_item_bytes) {
    const size_t start = pos_;
    if (Status s = Varint(out, "count"); !s.ok()) return s;
    if (*out > (blob_.size() - pos_) / min_item_bytes) {
      return Error("count", start,
                   std::to_string(*out) + " items cannot fit in " +
                       std::to_string(blob_.size() - pos_) + " bytes");
    }
    return Status::Ok();
  }

  Status String(std::string* out, std::string_view what) {
    const size_t start = pos_;
    uint64_t size = 0;
    if (Status s = Varint(&size, what); !s.ok()) return s;
    if (size > blob_.size() - pos_) {
      return Error(what, start,
                   "length " + std::to_string(size) + " runs past the end");
    }
    const std::string_view bytes = blob_.substr(pos_, size);
    if (Status s = dmp::internal::ValidateUtf8(bytes, what); !s.ok()) {
      return Status::Corruption(s.message() + " (field at byte " +
                                std::to_string(start) + ")");
    }
    out->assign(bytes);
    pos_ += size;
    return Status::Ok();
  }

  Status Byte(char* out, std::string_view what) {
    if (pos_ == blob_.size()) return Error(what, pos_, "truncated");
    *out = blob_[pos_++];
    return Status::Ok();
  }

  Status End() const {
    if (done()) return Status::Ok();
    return Error("end", pos_,
                 std::to_string(blob_.size() - pos_) + " bytes left over");
  }

  static Status Error(std::string_view what, size_t at,
                      std::string_view problem) {
    return Status::Corruption(std::string(what) + " at byte " +
                              std::to_string(at) + ": " + std::string(problem));
  }

 private:
  std::string_view blob_;
  size_t pos_ = 0;
};

Result<std::vector<StackedEdit>> DecodeEditStack(std::string_view blob) {
  std::vector<StackedEdit> stack;
  if (blob.empty()) return stack;
  BlobReader in(blob);
  uint64_t count = 0;
  // Smallest edit: kind, version, empty data.
  if (Status s = in.Count(&count, 3); !s.ok()) return s;
  stack.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    StackedEdit& e = stack[i];
    const std::string item = "edit " + std::to_string(i);
    if (Status s = in.Byte(&e.kind, item + " kind"); !s.ok()) return s;
    if (e.kind != 'd' && e.kind != 'D' && e.kind != 'R') {
      return Status::Corruption(item + " kind: byte " +
                                std::to_string(static_cast<uint8_t>(e.kind)) +
                                " is not d, D or R");
    }
    if (Status s = in.Int(&e.version, item + " version"); !s.ok()) return s;
    if (Status s = in.String(&e.data, item + " data"); !s.ok()) return s;
  }
  if (Status s = in.End(); !s.ok()) return s;
  return stack;
}

Result<std::vector<Edit>> DecodeLinkEdits(std::string_view blob) {
  std::vector<Edit> stack;
  if (blob.empty()) return stack;
  BlobReader in(blob);
  uint64_t count = 0;
  // Smallest edit: kind, version, empty data, no checksum.
  if (Status s = in.Count(&count, 4); !s.ok()) return s;
  stack.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    Edit& e = stack[i];
    const std::string item = "edit " + std::to_string(i);
    char kind = 0;
    if (Status s = in.Byte(&kind, item + " kind"); !s.ok()) return s;
    if (!engine::SetEditLetter(kind, e)) {
      return Status::Corruption(item + " kind: byte " +
                                std::to_string(static_cast<uint8_t>(kind)) +
                                " is not d, D, r or R");
    }
    if (Status s = in.Int(&e.version, item + " version"); !s.ok()) return s;
    if (Status s = in.String(&e.data, item + " data"); !s.ok()) return s;
    int64_t checksum = 0;
    if (Status s = in.Int(&checksum, item + " checksum"); !s.ok()) return s;
    if (checksum < -1 || checksum > int64_t{UINT32_MAX}) {
      return Status::Corruption(item +
                                " checksum: " + std::to_string(checksum) +
                                " is not a CRC-32 or -1");
    }
    if (checksum >= 0) e.checksum = static_cast<uint32_t>(checksum);
  }
  if (Status s = in.End(); !s.ok()) return s;
  return stack;
}

Result<std::vector<PendingConflict>> DecodeConflicts(std::string_view blob) {
  std::vector<PendingConflict> conflicts;
  if (blob.empty()) return conflicts;
  BlobReader in(blob);
  uint64_t count = 0;
  // Smallest conflict: two versions and two empty strings.
  if (Status s = in.Count(&count, 4); !s.ok()) return s;
  conflicts.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    PendingConflict& c = conflicts[i];
    const std::string item = "conflict " + std::to_string(i);
    if (Status s = in.Int(&c.client_version, item + " client_version");
        !s.ok()) {
      return s;
    }
    if (Status s = in.String(&c.reason, item + " reason"); !s.ok()) return s;
    if (Status s = in.String(&c.hunk, item + " hunk"); !s.ok()) return s;
    if (Status s = in.Int(&c.sent_with, item + " sent_with"); !s.ok()) {
      return s;
    }
  }
  if (Status s = in.End(); !s.ok()) return s;
  return conflicts;
}

// One use of a cached statement: binds in order, and resets the statement
// (ending its read transaction) when it goes out of scope. Text and blobs
// are bound without a copy, so what they point at must outlive the Query.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Text(std::string_view v) {
    // A null pointer would bind NULL rather than the empty string.
    const char* data = v.data() != nullptr ? v.data() : "";
    return Check(sqlite3_bind_text64(stmt_, ++index_, data, v.size(),
                                     SQLITE_STATIC, SQLITE_UTF8));
  }
  Query& Blob(std::string_view v) {
    const char* data = v.data() != nullptr ? v.data() : "";
    return Check(
        sqlite3_bind_blob64(stmt_, ++index_, data, v.size(), SQLITE_STATIC));
  }
  Query& Int(int64_t v) {
    return Check(sqlite3_bind_int64(stmt_, ++index_, v));
  }
  Query& Null() { return Check(sqlite3_bind_null(stmt_, ++index_)); }

  // SQLITE_ROW, SQLITE_DONE, or the error (of binding, if one failed).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  bool IsNull(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }
  std::string_view Column(int col) const {
    // A blob read as text keeps its bytes; the pointer is null for NULL and
    // for some empty values.
    const auto* data =
        reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (data == nullptr) return {};
    return {data, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  std::string_view ColumnBlob(int col) const {
    const auto* data =
        static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    if (data == nullptr) return {};
    return {data, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  Query& Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3_stmt* stmt_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
};

Result<Text> ReadText(const Query& q, int col, std::string_view row,
                      std::string_view column) {
  Result<Text> text = Text::FromUtf8(q.Column(col));
  if (!text.ok()) {
    return Status::Corruption(std::string(row) + ": " + std::string(column) +
                              ": " + text.status().message());
  }
  return text;
}

// A TEXT column that is not a document text (a delta), checked as UTF-8.
Result<std::string> ReadString(const Query& q, int col, std::string_view row,
                               std::string_view column) {
  const std::string_view bytes = q.Column(col);
  if (Status s = dmp::internal::ValidateUtf8(bytes, column); !s.ok()) {
    return Status::Corruption(std::string(row) + ": " + s.message());
  }
  return std::string(bytes);
}

// A link's text column that usually equals another of its texts (`same`):
// NULL then, so that the text is stored once.
void BindUnlessSame(const std::string& text, const std::string& same,
                    Query& q) {
  if (text == same) {
    q.Null();
  } else {
    q.Text(text);
  }
}

// Reads what BindUnlessSame wrote.
Result<std::string> ReadStringOrSame(const Query& q, int col,
                                     const std::string& same,
                                     std::string_view row,
                                     std::string_view column) {
  if (q.IsNull(col)) return same;
  return ReadString(q, col, row, column);
}

// An anchor's two columns: NULL, NULL when unknown.
void BindAnchor(const AnchorRecord& anchor, Query& q) {
  if (anchor.revision < 0) {
    q.Null().Null();
  } else {
    q.Int(anchor.revision).Text(anchor.delta);
  }
}

// The backup anchor's columns: as BindAnchor, except that its delta is NULL
// when it is the anchor itself (the usual case: the last reply was
// acknowledged), so that the delta is stored once.
void BindBackupAnchor(const AnchorRecord& backup, const AnchorRecord& anchor,
                      Query& q) {
  if (backup.revision >= 0 && backup == anchor) {
    q.Int(backup.revision).Null();
  } else {
    BindAnchor(backup, q);
  }
}

Result<AnchorRecord> ReadAnchor(const Query& q, int col, std::string_view row,
                                std::string_view column) {
  if (q.IsNull(col)) return AnchorRecord{};
  Result<std::string> delta = ReadString(q, col + 1, row, column);
  if (!delta.ok()) return delta.status();
  return AnchorRecord{q.ColumnInt(col), std::move(*delta)};
}

}  // namespace

// One SQLite connection and its prepared statements. Not thread-safe: the
// store guards each connection with its own mutex.
class SqliteStore::Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(
      const std::string& path, int flags, const SqliteOptions& options) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db,
                                   flags | SQLITE_OPEN_NOMUTEX, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(path, db));
    if (rc != SQLITE_OK) {
      if (db == nullptr) {
        return Status(CodeOf(rc), path + ": open: " + sqlite3_errstr(rc));
      }
      return conn->Error(rc, "open");
    }
    sqlite3_extended_result_codes(db, 1);
    if (int busy = sqlite3_busy_timeout(db, options.busy_timeout_millis);
        busy != SQLITE_OK) {
      return conn->Error(busy, "set busy timeout");
    }
    return conn;
  }

  ~Connection() {
    for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Status Prepare(std::initializer_list<Sql> which) {
    for (Sql sql : which) {
      const auto i = static_cast<size_t>(sql);
      const int rc =
          sqlite3_prepare_v3(db_, kSql[i], -1, SQLITE_PREPARE_PERSISTENT,
                             &statements_[i], nullptr);
      if (rc != SQLITE_OK) {
        return Error(rc, std::string("prepare \"") + kSql[i] + "\"");
      }
    }
    return Status::Ok();
  }

  sqlite3_stmt* Statement(Sql sql) const {
    sqlite3_stmt* stmt = statements_[static_cast<size_t>(sql)];
    assert(stmt != nullptr && "statement not prepared on this connection");
    return stmt;
  }

  // Runs a statement that returns no rows.
  Status Run(Query& q, std::string_view what) {
    const int rc = q.Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
    return Error(rc, what);
  }
  Status Run(Sql sql, std::string_view what) {
    Query q(Statement(sql));
    return Run(q, what);
  }

  // Runs SQL text once (setup and error paths, not the hot path).
  Status Exec(const char* sql, std::string_view what) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : Error(rc, what);
  }

  // The first column of the single row `sql` returns, as text.
  Result<std::string> QueryText(const char* sql, std::string_view what) {
    std::string value;
    Status s = QueryRow(
        sql, what, [&](const Query& q) { value = std::string(q.Column(0)); });
    if (!s.ok()) return s;
    return value;
  }
  Result<int64_t> QueryInt(const char* sql, std::string_view what) {
    int64_t value = 0;
    Status s =
        QueryRow(sql, what, [&](const Query& q) { value = q.ColumnInt(0); });
    if (!s.ok()) return s;
    return value;
  }

  // Ends the open transaction, if SQLite has not already rolled it back.
  void Rollback() {
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Status Error(int rc, std::string_view what) const {
    return Status(CodeOf(rc), path_ + ": " + std::string(what) + ": " +
                                  sqlite3_errmsg(db_) + " (SQLite code " +
                                  std::to_string(rc) + ")");
  }

  // Checks that the file is a DiffSync store of a version we read, creating
  // the schema in an empty file.
  Status PrepareSchema();
  // The batch's statements, inside the caller's transaction.
  Status Write(const WriteBatch& batch);

  int64_t changes() const { return sqlite3_changes64(db_); }
  sqlite3* db() const { return db_; }

 private:
  Connection(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {
    statements_.fill(nullptr);
  }

  template <typename F>
  Status QueryRow(const char* sql, std::string_view what, F&& read) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, what);
    {
      Query q(stmt);
      rc = q.Step();
      if (rc == SQLITE_ROW) read(q);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW) return Status::Ok();
    if (rc == SQLITE_DONE) {
      return Status::Internal(path_ + ": " + std::string(what) + ": no row");
    }
    return Error(rc, what);
  }

  const std::string path_;
  sqlite3* db_;
  std::array<sqlite3_stmt*, static_cast<size_t>(Sql::kEnd)> statements_;
};

// One transaction, so two processes opening a new file at once cannot both
// create the schema, and a migration interrupted by a crash leaves the file
// as it was.
Status SqliteStore::Connection::PrepareSchema() {
  if (Status s = Exec("BEGIN IMMEDIATE", "begin"); !s.ok()) return s;
  auto refuse = [&](Status s) {
    Rollback();
    return s;
  };
  Result<int64_t> version =
      QueryInt("PRAGMA user_version", "read schema version");
  if (!version.ok()) return refuse(version.status());
  Result<int64_t> app_id =
      QueryInt("PRAGMA application_id", "read application id");
  if (!app_id.ok()) return refuse(app_id.status());
  Result<int64_t> objects =
      QueryInt("SELECT count(*) FROM sqlite_schema", "read schema");
  if (!objects.ok()) return refuse(objects.status());

  const bool empty = *version == 0 && *app_id == 0 && *objects == 0;
  if (!empty && (*app_id != kApplicationId || *version == 0)) {
    return refuse(Status::FailedPrecondition(
        path_ + ": not a DiffSync store (application id " +
        std::to_string(*app_id) + ", schema version " +
        std::to_string(*version) + ", " + std::to_string(*objects) +
        " schema objects); refusing to change it"));
  }
  if (*version > kSchemaVersion) {
    return refuse(Status::FailedPrecondition(
        path_ + ": schema version " + std::to_string(*version) +
        " is newer than this build's (" + std::to_string(kSchemaVersion) +
        "); open it with a newer DiffSync"));
  }
  for (int64_t from = *version; from < kSchemaVersion; ++from) {
    const std::string what = from == 0 ? std::string("create schema")
                                       : "migrate schema from version " +
                                             std::to_string(from) + " to " +
                                             std::to_string(from + 1);
    if (Status s = Exec(kMigrations[from], what); !s.ok()) return refuse(s);
  }
  if (*version < kSchemaVersion) {
    const std::string pragmas =
        "PRAGMA application_id = " + std::to_string(kApplicationId) +
        "; PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
    if (Status s = Exec(pragmas.c_str(), "set schema version"); !s.ok()) {
      return refuse(s);
    }
  }
  if (Status s = Exec("COMMIT", "commit schema"); !s.ok()) return refuse(s);
  return Status::Ok();
}

Status SqliteStore::Connection::Write(const WriteBatch& batch) {
  for (const std::string& name : batch.deleted_documents) {
    for (Sql sql : {Sql::kDeleteDocument, Sql::kDeleteDocumentChanges}) {
      Query q(Statement(sql));
      q.Text(name);
      if (Status s = Run(q, "delete " + DocumentName(name)); !s.ok()) return s;
    }
  }
  for (const auto& [client_id, document] : batch.deleted_views) {
    Query q(Statement(Sql::kDeleteView));
    q.Text(client_id).Text(document);
    if (Status s = Run(q, "delete " + ViewName(client_id, document)); !s.ok()) {
      return s;
    }
  }
  for (const DocumentRecord& d : batch.documents) {
    const std::string text = d.text.ToString();
    Query q(Statement(Sql::kUpsertDocument));
    q.Text(d.name).Text(text).Int(d.revision);
    if (Status s = Run(q, "write " + DocumentName(d.name)); !s.ok()) return s;
  }
  for (const ViewRecord& v : batch.views) {
    const std::string shadow = v.shadow.ToString();
    // The backup shadow is usually the shadow itself (the last reply was
    // acknowledged); NULL then stores it once.
    const bool same_backup = v.backup_shadow == v.shadow;
    const std::string backup =
        same_backup ? std::string() : v.backup_shadow.ToString();
    const std::string stack = EncodeEditStack(v.edit_stack);
    const std::string conflicts = EncodeConflicts(v.pending_conflicts);
    Query q(Statement(Sql::kUpsertView));
    q.Text(v.client_id).Text(v.document).Text(shadow).Int(v.client_version);
    q.Int(v.server_version);
    if (same_backup) {
      q.Null();
    } else {
      q.Text(backup);
    }
    q.Int(v.backup_server_version).Blob(stack).Blob(conflicts);
    q.Int(v.last_seen_millis);
    BindAnchor(v.anchor, q);
    BindBackupAnchor(v.backup_anchor, v.anchor, q);
    if (Status s = Run(q, "write " + ViewName(v.client_id, v.document));
        !s.ok()) {
      return s;
    }
  }
  for (const ChangeRecord& c : batch.changes) {
    Query q(Statement(Sql::kUpsertChange));
    q.Text(c.document).Int(c.revision).Int(c.base_length).Text(c.delta);
    if (Status s = Run(q, "write " + ChangeName(c.document, c.revision));
        !s.ok()) {
      return s;
    }
  }
  for (const auto& [document, first_kept] : batch.trimmed_changes) {
    Query q(Statement(Sql::kTrimChanges));
    q.Text(document).Int(first_kept);
    if (Status s = Run(q, "trim the changes of " + DocumentName(document));
        !s.ok()) {
      return s;
    }
  }
  for (const LinkRecord& l : batch.links) {
    const engine::ClientState& c = l.client;
    const std::string stack = EncodeLinkEdits(c.edit_stack);
    Query q(Statement(Sql::kUpsertLink));
    q.Text(l.link_id).Text(c.document).Text(c.text);
    // In step, the three texts are one.
    BindUnlessSame(c.shadow, c.text, q);
    BindUnlessSame(c.confirmed, c.shadow, q);
    q.Int(c.client_version).Int(c.server_version);
    q.Int(c.delta_ok ? 1 : 0).Int(c.joined ? 1 : 0).Int(c.rebase ? 1 : 0);
    if (c.local_delta) {
      q.Text(*c.local_delta);
    } else {
      q.Null();
    }
    q.Blob(stack);
    BindAnchor(l.anchor, q);
    if (Status s = Run(q, "write " + LinkName(l.link_id, c.document));
        !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       SqliteOptions options) {
  Result<std::unique_ptr<Connection>> writer = Connection::Open(
      path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options);
  if (!writer.ok()) return writer.status();
  Connection& w = **writer;
  if (Status s = w.PrepareSchema(); !s.ok()) return s;
  // WAL: readers and the writer do not block each other, and a commit costs
  // one append and one fsync. The mode is kept in the file.
  Result<std::string> mode =
      w.QueryText("PRAGMA journal_mode = WAL", "set WAL mode");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return Status::FailedPrecondition(path + ": cannot use WAL mode (got \"" +
                                      *mode + "\")");
  }
  // FULL: the WAL is fsync'd at every commit, so an acknowledged commit
  // survives power loss (NORMAL would only survive a process crash).
  if (Status s = w.Exec("PRAGMA synchronous = FULL", "set synchronous");
      !s.ok()) {
    return s;
  }
  // Every request rewrites its view and document rows; with SQLite's
  // default 2 MB cache a store of thousands of views rereads its pages from
  // the file on every commit. This is a cap, not an allocation.
  if (Status s = w.Exec("PRAGMA cache_size = -65536", "set cache size");
      !s.ok()) {
    return s;
  }
  if (Status s = w.Prepare(kWriterSql); !s.ok()) return s;

  Result<std::unique_ptr<Connection>> reader =
      Connection::Open(path, SQLITE_OPEN_READWRITE, options);
  if (!reader.ok()) return reader.status();
  if (Status s = (*reader)->Exec("PRAGMA query_only = 1", "set query_only");
      !s.ok()) {
    return s;
  }
  if (Status s = (*reader)->Prepare(kReaderSql); !s.ok()) return s;

  Result<std::unique_ptr<Connection>> checkpointer =
      Connection::Open(path, SQLITE_OPEN_READWRITE, options);
  if (!checkpointer.ok()) return checkpointer.status();
  // The checkpoint syncs the file before the WAL may be reused.
  if (Status s = (*checkpointer)->Exec("PRAGMA synchronous = FULL",
                                       "set synchronous");
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(
      path, std::move(*writer), std::move(*reader), std::move(*checkpointer),
      std::max(options.checkpoint_pages, 1)));
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> reader,
                         std::unique_ptr<Connection> checkpointer,
                         int checkpoint_pages)
    : path_(std::move(path)),
      writer_(std::move(writer)),
      reader_(std::move(reader)),
      checkpointer_(std::move(checkpointer)),
      checkpoint_pages_(checkpoint_pages) {
  // Replaces SQLite's automatic checkpoint, which would copy the WAL back
  // on the committing thread, inside Commit, every 1000 pages.
  sqlite3_wal_hook(writer_->db(), &SqliteStore::OnWalCommit, this);
  checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(checkpoint_mu_);
    stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  checkpoint_thread_.join();
}

int SqliteStore::OnWalCommit(void* store, sqlite3* db, const char* name,
                             int frames) {
  auto* self = static_cast<SqliteStore*>(store);
  if (frames >= 4 * self->checkpoint_pages_) {
    // The background checkpoint cannot keep up (or a reader holds it
    // back): the writer copies what it can itself, as SQLite would.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                              nullptr);
  } else if (frames >= self->checkpoint_pages_) {
    {
      std::lock_guard lock(self->checkpoint_mu_);
      self->checkpoint_wanted_ = true;
    }
    self->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock,
                          [&] { return stopping_ || checkpoint_wanted_; });
      if (stopping_) return;
      checkpoint_wanted_ = false;
    }
    // Passive: it never blocks the writer or readers; what a reader still
    // needs is left for the next one. A failure leaves the WAL as it is,
    // which is safe; the next signal tries again.
    sqlite3_wal_checkpoint_v2(checkpointer_->db(), nullptr,
                              SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

Result<std::optional<DocumentRecord>> SqliteStore::LoadDocument(
    const std::string& name) {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kLoadDocument));
  q.Text(name);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<DocumentRecord>();
  if (rc != SQLITE_ROW) return reader_->Error(rc, "load " + DocumentName(name));
  Result<Text> text = ReadText(q, 0, path_ + ": " + DocumentName(name), "text");
  if (!text.ok()) return text.status();
  return std::optional<DocumentRecord>(
      DocumentRecord{name, std::move(*text), q.ColumnInt(1)});
}

Result<std::optional<ViewRecord>> SqliteStore::LoadView(
    const std::string& client_id, const std::string& document) {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kLoadView));
  q.Text(client_id).Text(document);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<ViewRecord>();
  if (rc != SQLITE_ROW) {
    return reader_->Error(rc, "load " + ViewName(client_id, document));
  }
  const std::string row = path_ + ": " + ViewName(client_id, document);
  ViewRecord v;
  v.client_id = client_id;
  v.document = document;
  Result<Text> shadow = ReadText(q, 0, row, "shadow");
  if (!shadow.ok()) return shadow.status();
  v.shadow = std::move(*shadow);
  v.client_version = q.ColumnInt(1);
  v.server_version = q.ColumnInt(2);
  if (q.IsNull(3)) {
    v.backup_shadow = v.shadow;
  } else {
    Result<Text> backup = ReadText(q, 3, row, "backup_shadow");
    if (!backup.ok()) return backup.status();
    v.backup_shadow = std::move(*backup);
  }
  v.backup_server_version = q.ColumnInt(4);
  Result<std::vector<StackedEdit>> stack = DecodeEditStack(q.ColumnBlob(5));
  if (!stack.ok()) {
    return Status::Corruption(row +
                              ": edit_stack: " + stack.status().message());
  }
  v.edit_stack = std::move(*stack);
  Result<std::vector<PendingConflict>> conflicts =
      DecodeConflicts(q.ColumnBlob(6));
  if (!conflicts.ok()) {
    return Status::Corruption(
        row + ": pending_conflicts: " + conflicts.status().message());
  }
  v.pending_conflicts = std::move(*conflicts);
  v.last_seen_millis = q.ColumnInt(7);
  Result<AnchorRecord> anchor = ReadAnchor(q, 8, row, "anchor_delta");
  if (!anchor.ok()) return anchor.status();
  v.anchor = std::move(*anchor);
  if (!q.IsNull(10) && q.IsNull(11)) {
    v.backup_anchor = v.anchor;
  } else {
    Result<AnchorRecord> backup = ReadAnchor(q, 10, row, "backup_anchor_delta");
    if (!backup.ok()) return backup.status();
    v.backup_anchor = std::move(*backup);
  }
  return std::optional<ViewRecord>(std::move(v));
}

Result<std::vector<ChangeRecord>> SqliteStore::LoadChanges(
    const std::string& document, int64_t from_revision) {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kLoadChanges));
  q.Text(document).Int(from_revision);
  std::vector<ChangeRecord> changes;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    const int64_t revision = q.ColumnInt(0);
    const std::string_view delta = q.Column(2);
    // The row's name is made only for the error: a load reads up to
    // history_limit rows.
    if (Status s = dmp::internal::ValidateUtf8(delta, "delta"); !s.ok()) {
      return Status::Corruption(path_ + ": " + ChangeName(document, revision) +
                                ": " + s.message());
    }
    changes.push_back({document, revision, q.ColumnInt(1), std::string(delta)});
  }
  if (rc != SQLITE_DONE) {
    return reader_->Error(rc, "load the changes of " + DocumentName(document));
  }
  return changes;
}

Result<std::optional<LinkRecord>> SqliteStore::LoadLink(
    const std::string& link_id, const std::string& document) {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kLoadLink));
  q.Text(link_id).Text(document);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<LinkRecord>();
  if (rc != SQLITE_ROW) {
    return reader_->Error(rc, "load " + LinkName(link_id, document));
  }
  const std::string row = path_ + ": " + LinkName(link_id, document);
  LinkRecord l;
  l.link_id = link_id;
  engine::ClientState& c = l.client;
  c.document = document;
  Result<std::string> text = ReadString(q, 0, row, "text");
  if (!text.ok()) return text.status();
  c.text = std::move(*text);
  Result<std::string> shadow = ReadStringOrSame(q, 1, c.text, row, "shadow");
  if (!shadow.ok()) return shadow.status();
  c.shadow = std::move(*shadow);
  Result<std::string> confirmed =
      ReadStringOrSame(q, 2, c.shadow, row, "confirmed");
  if (!confirmed.ok()) return confirmed.status();
  c.confirmed = std::move(*confirmed);
  c.client_version = q.ColumnInt(3);
  c.server_version = q.ColumnInt(4);
  c.delta_ok = q.ColumnInt(5) != 0;
  c.joined = q.ColumnInt(6) != 0;
  c.rebase = q.ColumnInt(7) != 0;
  if (!q.IsNull(8)) {
    Result<std::string> delta = ReadString(q, 8, row, "local_delta");
    if (!delta.ok()) return delta.status();
    c.local_delta = std::move(*delta);
  }
  Result<std::vector<Edit>> stack = DecodeLinkEdits(q.ColumnBlob(9));
  if (!stack.ok()) {
    return Status::Corruption(row +
                              ": edit_stack: " + stack.status().message());
  }
  c.edit_stack = std::move(*stack);
  Result<AnchorRecord> anchor = ReadAnchor(q, 10, row, "anchor_delta");
  if (!anchor.ok()) return anchor.status();
  l.anchor = std::move(*anchor);
  return std::optional<LinkRecord>(std::move(l));
}

Status SqliteStore::Commit(WriteBatch batch) {
  if (batch.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  Connection& c = *writer_;
  if (Status s = c.Run(Sql::kBegin, "begin"); !s.ok()) return s;
  Status s = c.Write(batch);
  if (s.ok()) s = c.Run(Sql::kCommit, "commit");
  if (!s.ok()) c.Rollback();
  return s;
}

Result<std::vector<std::string>> SqliteStore::ListDocuments() {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kListDocuments));
  std::vector<std::string> names;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) names.emplace_back(q.Column(0));
  if (rc != SQLITE_DONE) return reader_->Error(rc, "list documents");
  return names;
}

Result<int64_t> SqliteStore::DeleteViewsIdleBefore(int64_t millis) {
  std::lock_guard lock(write_mu_);
  Query q(writer_->Statement(Sql::kDeleteIdleViews));
  q.Int(millis);
  if (Status s = writer_->Run(q, "delete idle views"); !s.ok()) return s;
  return writer_->changes();
}

Result<StoreCounts> SqliteStore::Counts() {
  std::lock_guard lock(read_mu_);
  Query q(reader_->Statement(Sql::kCounts));
  const int rc = q.Step();
  if (rc != SQLITE_ROW) return reader_->Error(rc, "count");
  return StoreCounts{q.ColumnInt(0), q.ColumnInt(1), q.ColumnInt(2)};
}

}  // namespace diffsync::store
