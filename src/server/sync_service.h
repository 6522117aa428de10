// SyncService: diffsyncd's protocol core, below the transports. It decodes
// requests, collects MobWrite's `b:` buffers, runs the engine, holds every
// reply until what it acknowledges is durable (group commit), and pushes a
// document's new edits to the other WebSocket sessions that have it open.
// It knows nothing of sockets: transports hand it request text and get reply
// text back.
//
// Thread safety: not thread-safe. Every call, and every callback it makes,
// is on one thread (the service thread); `post` must run its argument there.
//
// Example:
//   SyncService service(sqlite, clock, {}, post, metrics);
//   service.Handle("u:alice\nF:0:notes\nr:0:hi\n\n", nullptr,
//                  [](std::string reply) { Send(reply); });
#ifndef DIFFSYNC_SERVER_SYNC_SERVICE_H_
#define DIFFSYNC_SERVER_SYNC_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "server/auth.h"
#include "server/group_commit.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/presence.h"

namespace diffsync::server {

struct ServiceOptions {
  // Who may read and write what (docs/PROTOCOL.md, "Access control"). The
  // default serves everyone, as anonymous.
  AccessOptions access;
  engine::ServerOptions engine;
  // All unfinished `b:` buffers together; a piece past it is refused.
  size_t max_buffer_bytes = size_t{16} << 20;
  // An unfinished buffer untouched this long is dropped.
  int64_t buffer_expiry_millis = 60'000;
  // A durable commit starts at least this long after the previous one, so
  // that under load one transaction carries many requests (see
  // GroupCommitStore); it adds at most this much to a reply's wait.
  std::chrono::microseconds commit_gather{2000};
  // Limits on one request, connection and document (docs/PROTOCOL.md,
  // "Limits"); 0 is no limit. A request over one is refused whole with an
  // `x:` error and changes nothing.
  // Edit lines (d, D, r, R) in one request, over all its blocks.
  size_t max_edits_per_request = 10'000;
  // Documents one WebSocket session syncs over its life (or one HTTP
  // request names).
  size_t max_documents_per_connection = 100;
  // Client ids that used one document within `client_window_millis`.
  size_t max_clients_per_document = 1000;
  int64_t client_window_millis = 600'000;
};

// A connection that can receive pushes (a WebSocket).
class Session {
 public:
  virtual ~Session() = default;
  // Sends an unrequested message (wire text). Called on the service thread.
  virtual void Push(std::string message) = 0;
};

class SyncService {
 public:
  using Post = GroupCommitStore::Post;
  using Reply = std::function<void(std::string)>;

  // `durable` must allow loads while a commit runs on another thread.
  SyncService(engine::Store& durable, engine::Clock& clock,
              ServiceOptions options, Post post, Metrics& metrics);
  ~SyncService();

  // Answers one request (protocol text). `reply` is called later, on the
  // service thread, with the reply text: the engine's answer once all it
  // acknowledges is durable; an `x:` error for a malformed request or a
  // failed commit (nothing acknowledged); or "" for a `b:` piece that does
  // not complete its buffer. Replies come in the order of the requests.
  // `session` (or null) is the connection the request came on: it is sent
  // pushes for the documents its requests named, until Detach.
  // `transport_token` is the token the transport carried (an HTTP
  // Authorization header, a WebSocket's access_token), used for a request
  // without a t: line. A request that may not be served is answered with
  // an `x:unauthorized` or `x:forbidden` error and changes nothing.
  void Handle(std::string_view request, Session* session, Reply reply,
              std::string_view transport_token = {});
  // The same for a request its transport decoded (a WebSocket's
  // engine::WireSession, which may read the compact form); `wire_bytes` is
  // its size as received.
  void Handle(engine::Message request, size_t wire_bytes, Session* session,
              Reply reply, std::string_view transport_token = {});
  // The refusal (`x:unauthorized`) of a token given once for a connection,
  // if it is not valid.
  std::optional<engine::Error> CheckConnectionToken(std::string_view token) {
    return access_.CheckToken(token);
  }
  void Detach(Session* session);
  // Answers a request the transport refused (e.g. over its rate) with an
  // `x:CODE:MESSAGE` error, in order behind the replies still owed.
  void Refuse(const Reply& reply, std::string code, std::string message);

  // Unloads the engine's views idle for `idle_millis` (except those a
  // session waits on for pushes); see engine::Server::UnloadIdle.
  size_t UnloadIdle(int64_t idle_millis);

  // Runs `done` once everything staged so far is durable (or failed).
  void Flush(std::function<void()> done);

  engine::Server& engine() { return *server_; }
  int64_t pending_commits() const { return staged_->pending(); }

 private:
  struct Buffer {
    std::vector<std::optional<std::string>> pieces;
    size_t bytes = 0;
    int64_t touched_millis = 0;
  };
  using BufferKey = std::pair<std::string, int64_t>;  // id, size

  void HandleMessage(engine::Message request, size_t request_bytes,
                     Session* session, Reply reply,
                     std::chrono::steady_clock::time_point start,
                     std::string_view transport_token);
  // Adds a piece; returns the whole message text when the buffer completes.
  Result<std::optional<std::string>> Feed(const engine::BufferFragment& piece);
  void ReplyError(const Reply& reply, std::string code, std::string message);
  // The limit `request` goes over (ServiceOptions), if any.
  std::optional<engine::Error> OverLimit(const engine::Message& request,
                                         Session* session);
  void Subscribe(Session* session, const std::string& client_id,
                 const std::string& document);
  struct Watch;
  // `send(watch, message)` for each watcher of `document` present there
  // (Presence): a message with the others' cursors.
  void ForEachPresencePush(
      const std::string& document,
      const std::function<void(const Watch&, std::string)>& send);
  void UpdateLoadedGauges();

  engine::Clock& clock_;
  ServiceOptions options_;
  Post post_;
  Metrics& metrics_;
  std::unique_ptr<GroupCommitStore> staged_;
  std::unique_ptr<engine::Server> server_;
  std::unique_ptr<Presence> presence_;
  AccessControl access_;
  DocumentRoster roster_;

  std::map<BufferKey, Buffer> buffers_;
  size_t buffered_bytes_ = 0;
  // One client id a session syncs a document as. Looked up on every request
  // and scanned on every change of the document: a short vector per
  // document, not nested ordered maps.
  struct Watch {
    Session* session = nullptr;
    uint64_t session_id = 0;
    std::string client_id;
    // Pushed since this client's last request: the engine keeps one push
    // outstanding per view and would answer a further Push with nothing,
    // so it is not asked.
    bool pushed = false;
  };
  std::unordered_map<std::string, std::vector<Watch>> watchers_;
  struct Attached {
    uint64_t id = 0;  // Tells a new session from a freed one at one address.
    std::set<std::string> documents;
  };
  std::unordered_map<Session*, Attached> attached_;
  uint64_t next_session_id_ = 1;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_SYNC_SERVICE_H_
