// Server: the server side of Differential Synchronization for many documents
// and clients, as a transport-free state machine. Feed it decoded requests,
// send back what it returns; it persists through a Store and reads time from
// a Clock.
//
// Per (client, document) it keeps a view: the shadow with versions n
// (client_version) and m (server_version), a backup shadow for lost replies,
// and the stack of unacknowledged server edits — MobWrite's semantics, so
// MobWrite's clients work unchanged. Client edits are applied strictly to the
// shadow and merged into the document exactly where they were made: each
// edit is moved (by operational transform) through the changes the document
// received since that client's shadow. Only where two clients replaced the
// same text do their edits compete: the first to reach the server wins and
// the other's hunk is reported back (a `c:` line), never silently reverted.
//
// Thread safety: not thread-safe; one Server per thread or external locking.
//
// Example:
//   MemoryStore store;
//   SystemClock clock;
//   Server server(store, clock);
//   Result<Message> reply = server.Handle(*DecodeMessage(request_bytes));
//   if (reply.ok()) Send(*EncodeMessage(*reply));
#ifndef DIFFSYNC_ENGINE_SERVER_H_
#define DIFFSYNC_ENGINE_SERVER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "diffsync/engine/change_set.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/store.h"
#include "diffsync/engine/text.h"
#include "diffsync/status.h"

namespace diffsync::engine {

struct ServerOptions {
  dmp::Settings dmp;
  // Largest document, in UTF-16 units. An edit that would grow a document
  // past it is refused with an `x:too-large` line; nothing is truncated.
  int64_t max_document_units = 10'000'000;
  // Document changes remembered for exact merging. A client whose shadow is
  // older is merged through a diff instead (still correct, less exact).
  size_t history_limit = 4096;
  // A view unused this long is forgotten; its client gets a full resync.
  int64_t view_expiry_millis = int64_t{7} * 24 * 3600 * 1000;
};

class Server {
 public:
  Server(Store& store, Clock& clock, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Handles one request and returns the reply. Problems with one document
  // are reported in its block (`x:` lines); a non-OK Status means nothing
  // was acknowledged (the store failed) and the client should retry.
  Result<Message> Handle(const Message& request);
  // As Handle, for a client allowed to read but not to write (a read-only
  // token): its blocks keep versions and acknowledgements as usual, but an
  // edit that would change a document (a delta that is not all retains, an
  // overwriting raw text unlike the document, a nullify) is refused with an
  // `x:read-only` line and the client is resynced to the document's text
  // (an `R:` edit). Its text never becomes a new document's.
  Result<Message> Handle(const Message& request, bool read_only);

  // A server-initiated cycle (Fraser's step 4 without a request), for
  // transports that can push: if `document` changed since the view of
  // `client_id` last saw it, returns a reply block marked `m:push` with the
  // view's unacknowledged edits, and commits the view. Returns an empty
  // message when there is nothing to push, the view is not loaded, or an
  // earlier push is not yet answered by a request.
  //
  // The push keeps the shadow it started from, so a push that crosses the
  // client's next request (the client must ignore a push that arrives while
  // it waits for a reply) or that is lost is rolled back like a lost reply;
  // the backup shadow stays for a reply lost before the push. At most one
  // push is outstanding per view, as one saved shadow undoes one step.
  Result<Message> Push(const std::string& client_id,
                       const std::string& document);

  // Server to server (scale-out): this server keeps `document` in step with
  // the same document on an upstream server, to which it is one more client
  // (id `link_id`). Fraser's guaranteed delivery holds on both ends: the
  // upstream keeps that view's shadow, backup shadow, n/m and edit stack as
  // for any client (a lost reply or push rolls back to the backup there);
  // this end keeps the client half — shadow, n/m and the stack of
  // unacknowledged edits, resent whole until acknowledged — and its text is
  // this server's document. Changes flow exactly both ways: what this
  // server's own clients wrote since the last request goes up as one edit;
  // what comes down is merged into the document through the changes made
  // here meanwhile. The upstream's edits reached the root first, so where
  // both replaced the same text the upstream's wins (the local hunk is
  // counted in stats().dropped_hunks; the upstream reports the competing
  // hunk of ours with a c: line, as for any client). The link's half is
  // stored (LinkRecord) and reloaded after a restart, so a restart loses
  // none of the edits this server acknowledged to its clients.
  //
  // MakeUpstreamRequest returns the request to send upstream, after the
  // link's state it carries is committed (a non-OK status: the store failed,
  // send nothing); with a store that stages commits (group commit), send it
  // only once that commit is durable. The transport gives the reply, or a
  // push that came while no request was in flight (a push crossing a
  // request is ignored, as by any client), to HandleUpstreamReply, which
  // commits the link with the document in one batch. A non-OK status from
  // it means the store failed and nothing changed: as if the reply had been
  // lost.
  Result<Message> MakeUpstreamRequest(const std::string& link_id,
                                      const std::string& document);
  Status HandleUpstreamReply(const std::string& link_id,
                             const DocumentBlock& reply);
  // True once the upstream confirmed both shadows agree and nothing is
  // pending either way, for tests and health checks.
  bool UpstreamInSync(const std::string& link_id,
                      const std::string& document) const;

  // Documents whose text the last Handle (or HandleUpstreamReply) changed,
  // in the order changed; a transport pushes to their other clients.
  const std::vector<std::string>& changed_documents() const {
    return changed_documents_;
  }

  // Unloads views not used since `before_millis` (and documents left without
  // loaded views), keeping memory to the clients that are active; they are
  // in the store and reload on use. Views for which `keep(client, document)`
  // is true (e.g. a connection waiting for pushes) and views with a push
  // outstanding stay. Returns how many views were unloaded.
  size_t UnloadIdle(
      int64_t before_millis,
      const std::function<bool(const std::string&, const std::string&)>&
          keep = nullptr);

  // Forgets every loaded document, view and upstream link, so that the next
  // request reloads them from the store: what a server does when a commit it
  // already built replies on failed (group commit), to fall back to what is
  // durable.
  void DropCache();

  // The current text of a document, if it exists.
  std::optional<Text> DocumentText(const std::string& document);
  // Clients whose views of `document` are loaded (for pushing changes).
  std::vector<std::string> ClientsOf(const std::string& document) const;

  // Documents and views loaded in memory.
  size_t loaded_documents() const { return documents_.size(); }
  size_t loaded_views() const { return views_.size(); }

  // Verifies internal consistency (shadow lengths match anchors, versions
  // ordered, histories contiguous); for tests and simulations.
  Status CheckInvariants() const;

  struct Stats {
    int64_t exact_hunks = 0;
    int64_t dropped_hunks = 0;
    int64_t diffed_merges = 0;  // Merges without exact history.
    int64_t resyncs = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct DocumentState;
  struct ViewState;
  struct UpstreamLink;

  Result<DocumentState*> GetDocument(const std::string& name, bool* created);
  Result<ViewState*> GetView(const std::string& client_id,
                             const std::string& document);
  // Rewrites CR LF and lone CR in the document to LF, as a recorded change.
  void NormalizeLineBreaks(DocumentState& doc);
  // The view's record with its anchors, as stored.
  static ViewRecord SavedView(const ViewState& view);
  // The link in memory, else as stored (after a restart); null if neither.
  Result<UpstreamLink*> FindLink(const std::string& link_id,
                                 const std::string& document);
  static LinkRecord SavedLink(const std::string& link_id,
                              const UpstreamLink& link);
  DocumentBlock Process(const std::string& client_id,
                        const DocumentBlock& request, bool read_only,
                        WriteBatch& batch);

  Store& store_;
  Clock& clock_;
  ServerOptions options_;
  // Looked up on every request and push: hashed, not ordered, and by
  // (client, document) views, so that a lookup copies no name.
  using ViewKeyView = std::pair<std::string_view, std::string_view>;
  struct ViewKeyHash {
    using is_transparent = void;
    size_t operator()(ViewKeyView k) const {
      const size_t h = std::hash<std::string_view>()(k.first);
      return h ^ (std::hash<std::string_view>()(k.second) +
                  0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
    size_t operator()(const std::pair<std::string, std::string>& k) const {
      return (*this)(ViewKeyView(k.first, k.second));
    }
  };
  struct ViewKeyEqual {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.first == b.first && a.second == b.second;
    }
  };
  std::unordered_map<std::string, std::unique_ptr<DocumentState>> documents_;
  std::unordered_map<std::pair<std::string, std::string>,
                     std::unique_ptr<ViewState>, ViewKeyHash, ViewKeyEqual>
      views_;
  // (link id, document) -> the client half of a link to an upstream server.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<UpstreamLink>>
      upstream_;
  std::vector<std::string> changed_documents_;
  // The blocks of the request being handled whose views went into its
  // batch (kept across requests for its capacity): what a failed commit
  // makes us forget, the batch itself having been moved to the store.
  std::vector<const DocumentBlock*> saved_views_;
  Stats stats_;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_SERVER_H_
