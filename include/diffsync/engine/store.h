// Store: where the server engine keeps documents, every client's view of
// them (shadow, backup shadow, versions, unacknowledged edits) and the client
// half of each link to an upstream server, so that all survive a restart. The
// engine writes one batch per request and replies only after Commit returned
// OK: a reply never acknowledges what is not durable.
//
// Implementations: MemoryStore (below, for tests and benchmarks); the server
// adds durable ones. Thread safety: implementations say; MemoryStore is not
// thread-safe (the engine serializes calls).
//
// Example:
//   diffsync::engine::MemoryStore store;
//   diffsync::engine::Server server(store, clock);
#ifndef DIFFSYNC_ENGINE_STORE_H_
#define DIFFSYNC_ENGINE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diffsync/engine/client.h"
#include "diffsync/engine/text.h"
#include "diffsync/status.h"

namespace diffsync::engine {

struct DocumentRecord {
  std::string name;
  Text text;
  int64_t revision = 0;
  friend bool operator==(const DocumentRecord&, const DocumentRecord&) = default;
};

// One change of a document's text, from revision `revision` to the next, as
// a delta against the text at `revision` (`base_length` UTF-16 units). The
// server keeps the recent ones to merge each client's edit exactly where it
// was typed; they are stored so that this survives a restart.
struct ChangeRecord {
  std::string document;
  int64_t revision = 0;
  int64_t base_length = 0;
  std::string delta;
  friend bool operator==(const ChangeRecord&, const ChangeRecord&) = default;
};

// A shadow's exact relation to its document: the delta (against the shadow)
// that turns it into the document's text at `revision`; revision < 0 when
// unknown (then the next merge goes through a diff).
struct AnchorRecord {
  int64_t revision = -1;
  std::string delta;
  friend bool operator==(const AnchorRecord&, const AnchorRecord&) = default;
};

// One unacknowledged server edit, as sent on the wire.
struct StackedEdit {
  char kind = 'd';  // 'd', 'D' (delta, overwrite delta) or 'R' (raw text).
  int64_t version = 0;
  std::string data;  // The delta, or the raw text.
  friend bool operator==(const StackedEdit&, const StackedEdit&) = default;
};

// A conflict report (`c:` line) the client has not yet acknowledged: it is
// repeated in every reply until the client acknowledges a server edit sent
// with it, so a lost reply cannot lose it.
struct PendingConflict {
  int64_t client_version = 0;  // Of the client's edit that lost the hunk.
  std::string reason;
  std::string hunk;  // DMP patch text.
  int64_t sent_with = 0;  // Version of the latest server edit it went with.
  friend bool operator==(const PendingConflict&, const PendingConflict&) = default;
};

struct ViewRecord {
  std::string client_id;
  std::string document;
  Text shadow;
  int64_t client_version = 0;  // n
  int64_t server_version = 0;  // m
  Text backup_shadow;
  int64_t backup_server_version = 0;
  std::vector<StackedEdit> edit_stack;
  std::vector<PendingConflict> pending_conflicts;
  int64_t last_seen_millis = 0;
  AnchorRecord anchor;         // Of the shadow.
  AnchorRecord backup_anchor;  // Of the backup shadow.
  friend bool operator==(const ViewRecord&, const ViewRecord&) = default;
};

// The client half of a server-to-server link (Server::MakeUpstreamRequest):
// the link's client, as ClientDocument::SaveState() gives it (its document
// is `client.document`), and the exact change from the client's text to the
// document at `anchor.revision`. Stored before each request goes upstream,
// so that a restarted server resends what the upstream may have applied
// instead of numbering a new edit at a version the upstream already used.
struct LinkRecord {
  std::string link_id;
  ClientState client;
  AnchorRecord anchor;  // Of client.text.
  friend bool operator==(const LinkRecord&, const LinkRecord&) = default;
};

// What one request changed; applied atomically by Commit: first the
// deletions (a deleted document loses its changes too, not its links), then
// the rest.
struct WriteBatch {
  std::vector<DocumentRecord> documents;
  std::vector<ViewRecord> views;
  std::vector<std::string> deleted_documents;
  std::vector<std::pair<std::string, std::string>> deleted_views;  // client, document
  // Appended document changes, and per document the first revision whose
  // change is still kept (older ones are deleted).
  std::vector<ChangeRecord> changes;
  std::vector<std::pair<std::string, int64_t>> trimmed_changes;
  std::vector<LinkRecord> links;
  bool empty() const {
    return documents.empty() && views.empty() && deleted_documents.empty() &&
           deleted_views.empty() && changes.empty() &&
           trimmed_changes.empty() && links.empty();
  }
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::optional<DocumentRecord>> LoadDocument(
      const std::string& name) = 0;
  virtual Result<std::optional<ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) = 0;
  // The stored changes of `document` from revision `from_revision` on, in
  // revision order.
  virtual Result<std::vector<ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) = 0;
  virtual Result<std::optional<LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) = 0;
  // All or nothing; when it returns OK the batch is durable. The batch is
  // taken by value: the engine moves its batch in, so that a store that
  // keeps the records (in memory, or staged for a group commit) takes them
  // without copying texts, names and edit stacks.
  virtual Status Commit(WriteBatch batch) = 0;
};

class MemoryStore final : public Store {
 public:
  Result<std::optional<DocumentRecord>> LoadDocument(
      const std::string& name) override;
  Result<std::optional<ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override;
  Result<std::vector<ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override;
  Result<std::optional<LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override;
  Status Commit(WriteBatch batch) override;

  size_t document_count() const { return documents_.size(); }
  size_t view_count() const { return views_.size(); }

 private:
  std::map<std::string, DocumentRecord> documents_;
  std::map<std::pair<std::string, std::string>, ViewRecord> views_;
  // Per document, by revision: a commit appends one and trims the oldest
  // without comparing document names.
  std::map<std::string, std::map<int64_t, ChangeRecord>> changes_;
  // By (link id, document).
  std::map<std::pair<std::string, std::string>, LinkRecord> links_;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_STORE_H_
