// Presence: who has a document open and where their selections are, over
// the protocol's metadata lines (docs/PROTOCOL.md, "Presence"): a client
// sends `m:cursor:ANCHOR:HEAD` in its request; every reply and push to a
// client that does so carries `m:peer-cursor:ANCHOR:HEAD:ID` for each other
// client present in the document.
//
// Positions are kept in the coordinates of the document's current text: a
// client's cursor, in its shadow after its own edits, is moved through the
// reply's edits (which turn that shadow into the document); when the
// document changes later, every kept cursor is moved through the change
// (a diff from the text they were last moved to). A WebSocket client is
// present until its session detaches; an HTTP client (which only polls)
// until it has not asked for kPollerExpiryMillis.
//
// Only clients that send cursors are affected: for the others each call is
// one lookup that finds nothing.
//
// Thread safety: not thread-safe; SyncService calls it on its thread.
//
// Example (what SyncService does):
//   Presence presence(server, clock);
//   Result<Message> reply = server.Handle(request);
//   std::vector<std::string> changed = presence.OnReply(request, *reply,
//   session); for (doc : changed) for (each other watcher w of doc)
//     if (auto m = presence.PresenceMessage(w.client_id, doc))
//     w.session->Push(Encode(*m));
#ifndef DIFFSYNC_SERVER_PRESENCE_H_
#define DIFFSYNC_SERVER_PRESENCE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/text.h"

namespace diffsync::server {

class Session;

class Presence {
 public:
  static constexpr int64_t kPollerExpiryMillis = 30'000;

  Presence(engine::Server& server, engine::Clock& clock)
      : server_(server), clock_(clock) {}

  // After the engine answered `request` with `reply` (block for block):
  // takes the cursors the request carried and adds peer cursors to the
  // reply's blocks for clients present in their document. Returns the
  // documents whose presence changed (someone came, moved or left).
  std::vector<std::string> OnReply(const engine::Message& request,
                                   engine::Message& reply,
                                   const Session* session);

  // Adds peer cursors to an engine push for `client_id`.
  void AnnotatePush(const std::string& client_id, engine::DocumentBlock& block);

  // A message with only the others' cursors in `document`, for a present
  // client (`m:push`, `m:presence`, its last F version), or nullopt.
  std::optional<engine::Message> PresenceMessage(const std::string& client_id,
                                                 const std::string& document);

  // The session closed: its clients left. Returns the documents they left.
  std::vector<std::string> Leave(const Session* session);

 private:
  struct Peer {
    const Session* session = nullptr;  // null: an HTTP poller.
    int64_t anchor = 0;
    int64_t head = 0;
    int64_t last_seen_millis = 0;
    // The F version of the last block sent to this client.
    int64_t last_version = 0;
  };
  struct Document {
    // The text the peers' positions refer to.
    engine::Text basis;
    std::map<std::string, Peer> peers;
  };

  // Moves the positions to the document's current text and drops expired
  // pollers; true if a poller was dropped.
  bool Refresh(const std::string& name, Document& doc);
  void Annotate(const std::string& client_id, Document& doc,
                engine::DocumentBlock& block);

  engine::Server& server_;
  engine::Clock& clock_;
  std::unordered_map<std::string, Document> documents_;
};

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_PRESENCE_H_
