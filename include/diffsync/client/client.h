// Client: one document kept in sync with a DiffSync server, offline-first.
// It runs the engine's client side (engine::ClientDocument) over a
// WebSocket to diffsyncd's /ws, where the server pushes other clients' edits
// as they happen, and falls back to MobWrite's HTTP gateway (polling) when
// the server answers but offers no WebSocket (a plain MobWrite gateway). Edits
// made while the server cannot be reached are kept, in memory and, with a state
// path, in the state file (client/state_file.h, saved atomically before each
// request leaves, after each answer, and before a Poll waits with local edits
// unsaved), so a client killed while offline resumes with them.
//
// The cycle (docs/PROTOCOL.md): at most one request in flight; its reply
// acknowledges our edits and brings the server's. A push (a message carrying
// m:push) that arrives while a request is in flight is ignored, as the
// protocol requires, and another cycle follows the reply in case the reply
// predates what the push carried; one that arrives while idle is applied like a
// reply and acknowledged at once by the next request. A lost connection, or a
// request unanswered within `timeout`, makes the client offline; it reconnects
// after an exponential backoff with jitter (reset by the first answer), trying
// the WebSocket first each time. Over HTTP it polls every `poll_interval`
// and tries the WebSocket again now and then (`websocket_retry`, doubling),
// moving back to it as soon as one opens.
//
// Presence (docs/PROTOCOL.md): a client that calls ShareSelection sends its
// selection (m:cursor) with every request from then on and is told the
// selections of the others who do the same (peers(), on_peers). One that
// never calls it is not present, as MobWrite's clients.
//
// Threading: the client does nothing on its own. One thread drives it by
// calling Poll (or SyncNow) in a loop, and the events are called on that
// thread, from inside those calls, after the client's state is consistent
// and saved: an event handler may call the edit methods (SetText, Replace,
// SetWrittenText, RequestSync) but not Poll or SyncNow. Wake is the only
// method any thread may call: it ends the wait of a Poll in progress (or
// makes the next one return at once), so a thread that sees a local change
// can hand it over. Everything else must be called from the driving thread.
//
// Example:
//   ClientEvents events;
//   events.on_remote_change = [](const RemoteChange& c) { show(c.text); };
//   Result<std::unique_ptr<Client>> client = Client::Open(
//       {.server = "http://127.0.0.1:8080", .document = "notes",
//        .state_path = "notes.state.json"}, events);
//   (*client)->Replace(0, 0, "Hello");
//   (*client)->RequestSync();
//   while (running) {
//     if (Status s = (*client)->Poll(std::chrono::seconds(1)); !s.ok()) ...
//   }
#ifndef DIFFSYNC_CLIENT_CLIENT_H_
#define DIFFSYNC_CLIENT_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "diffsync/client/state_file.h"
#include "diffsync/client/transport.h"
#include "diffsync/engine/change_set.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/text.h"
#include "diffsync/engine/wire_session.h"
#include "diffsync/status.h"

namespace diffsync::client {

enum class ConnectionState { kOffline, kConnecting, kConnected };
std::string_view ToString(ConnectionState state);

// A selection (a caret when anchor == head), in UTF-16 units of text().
struct Selection {
  int64_t anchor = 0;
  int64_t head = 0;
  friend bool operator==(const Selection&, const Selection&) = default;
};

// Text that changed because of the server (another client's edits).
struct RemoteChange {
  engine::Text text;  // text() after the change.
  // Each change applied to the text, in order (to map other positions).
  std::vector<engine::ChangeSet> changes;
  // The selection given to SetSelection, mapped through `changes` (and
  // kept by the client as the new selection).
  Selection selection;
  bool push = false;  // It came unasked (a push), not as a reply.
};

// Another client's selection in the document (presence), in text().
struct PeerSelection {
  std::string client_id;
  Selection selection;
  friend bool operator==(const PeerSelection&, const PeerSelection&) = default;
};

// One of our hunks that did not make it into the document: the user should
// be told. Either the server reported it (c: lines; reason is its code, e.g.
// "overlap") or our side found it lost to a server edit of the same text
// (version -1, reason "overlap"). Each is told once.
struct Conflict {
  int64_t version = -1;
  std::string reason;
  std::string hunk;  // DMP patch text.
};

// After each reply or push the client handled.
struct SyncEvent {
  bool push = false;
  size_t pending_edits = 0;  // Local edits the server has not acknowledged.
  // True when the server has everything we have and we have its news.
  bool in_sync = false;
  // This exchange's bytes (request + reply, or the push).
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
};

struct ClientEvents {
  std::function<void(const RemoteChange&)> on_remote_change;
  // kConnected: `detail` is Ok, or why the WebSocket failed when the client
  // fell back to HTTP. kOffline: why (kUnavailable naming the URL).
  std::function<void(ConnectionState, const Status& detail)> on_connection;
  std::function<void(const Conflict&)> on_conflict;
  // Errors the server reported (x: lines, as "CODE: message"); the client
  // goes on (a resync or a retry follows).
  std::function<void(const Status&)> on_error;
  std::function<void(const SyncEvent&)> on_synced;
  // The others' selections changed (someone came, moved or left); called
  // only for a client that shares its own (ShareSelection).
  std::function<void(const std::vector<PeerSelection>&)> on_peers;
};

struct ClientOptions {
  // http://HOST[:PORT][/GATEWAY_PATH] or ws://HOST[:PORT][/PATH]; see
  // ParseServerUrl.
  std::string server;
  std::string document;
  // Sent with every message as the protocol's t: line.
  std::string token;
  // Where the state is saved; empty: not saved.
  std::string state_path;
  // The application's local copy (e.g. a file) this state belongs to;
  // recorded in the state file and checked when it is loaded.
  std::string local_path;
  // Id for a new state (a saved state keeps its own). Empty: a fresh one.
  std::string client_id;
  // false: HTTP only (no WebSocket is tried).
  bool websocket = true;
  // Use the HTTP gateway when the server answers without a WebSocket.
  bool http_fallback = true;
  // On a WebSocket, offer the compact form (docs/PROTOCOL.md): a server
  // that agrees gets shorter messages; one that does not, the normal form.
  bool compact = true;
  std::chrono::milliseconds timeout{10'000};       // Per connect and reply.
  std::chrono::milliseconds poll_interval{2'000};  // Over HTTP only.
  // On the HTTP fallback: the WebSocket is tried again after this, then
  // after twice as long each time it fails (up to max_backoff), with jitter.
  std::chrono::milliseconds websocket_retry{5'000};
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{60'000};
  uint64_t seed = 0;  // Of the backoff's jitter; 0: random.
  engine::ClientOptions engine;
};

class Client {
 public:
  // Parses the server URL, loads the saved state (or starts one with a new
  // client id when there is none) and makes the two transports. It does not
  // connect: the first Poll does. Errors: a bad URL; a state saved for
  // another server, document or local path; an unreadable or corrupt state
  // file.
  static Result<std::unique_ptr<Client>> Open(ClientOptions options,
                                              ClientEvents events = {});
  // The same with the transports and the clock given (tests): `primary` is
  // tried first, `fallback` (may be null) when it cannot connect.
  static Result<std::unique_ptr<Client>> OpenWith(
      ClientOptions options, ClientEvents events,
      std::unique_ptr<Transport> primary, std::unique_ptr<Transport> fallback,
      engine::Clock& clock);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // --- Local edits (each makes a sync due).
  const engine::Text& text() const { return doc_.text(); }
  // Errors: out of range, or a boundary inside a surrogate pair.
  Status Replace(int64_t pos, int64_t length, std::string_view text);
  // Errors: not UTF-8.
  Status SetText(std::string_view utf8);
  // Our selection, mapped through remote changes from now on (RemoteChange).
  void SetSelection(Selection selection) { selection_ = selection; }
  // The same, and shares it with the others: this request and every later
  // one carries it, so the client is present in the document (a new
  // selection makes a sync due). Positions past the text are clamped.
  void ShareSelection(Selection selection);
  const Selection& selection() const { return selection_; }
  // The others' selections as the server last told them (empty when we
  // share none, or are alone), clamped to text().
  const std::vector<PeerSelection>& peers() const { return peers_; }
  // What the application last wrote into (or read from) its local copy;
  // saved with the state (SyncState::last_written_text).
  const std::string& written_text() const { return state_.last_written_text; }
  void SetWrittenText(std::string text);
  // Asks for a cycle (e.g. to fetch news over HTTP without waiting).
  void RequestSync();

  // --- Driving.
  // One step: connects (or waits out the backoff), sends a request if one
  // is due, then waits at most `max_wait` (less if a deadline comes first)
  // for a message and handles it. Returns early after an event or Wake.
  // Being offline is not an error. Errors (the client cannot go on): the
  // state cannot be saved; the server refused a request outright (an HTTP
  // error status) or sent what does not decode; the engine refused a reply.
  Status Poll(std::chrono::milliseconds max_wait);
  // Syncs until the server has acknowledged everything and nothing is due
  // (at most a few cycles), connecting now even during a backoff. Returns
  // false if the server could not be reached (the edits are kept). Errors:
  // Poll's.
  Result<bool> SyncNow();
  // Thread-safe; see above.
  void Wake();

  // --- State.
  ConnectionState connection_state() const { return state_kind_; }
  // "ws" or "http" while connected, "" otherwise.
  std::string_view transport() const;
  std::string transport_url() const;  // Its URL; "" while not connected.
  const std::string& client_id() const { return state_.client_id; }
  const std::string& state_path() const { return options_.state_path; }
  // Local edits the server has not acknowledged, counting a change not yet
  // sent as one.
  size_t pending_edits() const {
    return doc_.pending_edits() + (doc_.text() == doc_.shadow() ? 0 : 1);
  }
  // The join is done (a reply about our state came, ever).
  bool joined() const { return state_.client.joined; }
  // Acknowledged everything, and nothing typed is unsent.
  bool in_sync() const;
  int64_t bytes_sent() const { return bytes_sent_; }
  int64_t bytes_received() const { return bytes_received_; }
  // Pushes taken, and pushes ignored: those that crossed our request, and
  // those made before the server saw our latest request (which the engine
  // ignores, engine::ReplyEffects::push_ignored).
  int64_t pushes_applied() const { return pushes_applied_; }
  int64_t pushes_ignored() const { return pushes_ignored_; }
  // Saves the state now (it is also saved at each step).
  Status Save();

 private:
  Client(ClientOptions options, ClientEvents events, ServerUrl url,
         SyncState state, engine::ClientDocument doc,
         std::unique_ptr<Transport> primary,
         std::unique_ptr<Transport> fallback, engine::Clock& clock);

  Status SaveIfEdited();
  bool SyncDue(int64_t now) const;
  void Connect();
  void TryWebSocketAgain();
  // active_ was just connected.
  void NewConnection();
  void GoOffline(const Status& why);
  void SetState(ConnectionState state, const Status& detail);
  Status SendRequest();
  Status HandleMessage(const std::string& wire);
  // Takes the peer cursors of a block for our document.
  void TakePeers(const engine::DocumentBlock& block);
  std::chrono::milliseconds Jittered(std::chrono::milliseconds delay);

  ClientOptions options_;
  ClientEvents events_;
  ServerUrl url_;
  SyncState state_;
  engine::ClientDocument doc_;
  std::unique_ptr<Transport> primary_;
  std::unique_ptr<Transport> fallback_;
  engine::Clock& clock_;
  std::mt19937_64 rng_;

  Transport* active_ = nullptr;  // The connected transport, if any.
  // The codec of active_'s connection when it is a WebSocket (one per
  // connection: the compact form is read against what it carried).
  std::optional<engine::WireSession> wire_;
  ConnectionState state_kind_ = ConnectionState::kOffline;
  bool in_flight_ = false;
  int64_t request_deadline_ = 0;
  int64_t request_bytes_ = 0;  // Of the request in flight.
  bool need_sync_ = true;
  bool dirty_ = false;           // Edited since the last save.
  int64_t sync_not_before_ = 0;  // After server errors: not at once.
  int64_t next_poll_ = 0;        // Over HTTP.
  int64_t next_attempt_ = 0;     // Reconnect, while offline.
  std::chrono::milliseconds backoff_;
  int64_t next_websocket_try_ = 0;  // While on the HTTP fallback.
  std::chrono::milliseconds websocket_backoff_;
  Selection selection_;
  bool share_selection_ = false;
  bool selection_unsent_ = false;  // Shared, not yet carried by a request.
  std::vector<PeerSelection> peers_;
  // Server-reported conflicts already told (they repeat until acknowledged).
  std::set<std::tuple<int64_t, std::string, std::string>> told_;
  int64_t requests_ = 0;
  int64_t offline_count_ = 0;
  int64_t bytes_sent_ = 0;
  int64_t bytes_received_ = 0;
  int64_t pushes_applied_ = 0;
  int64_t pushes_ignored_ = 0;
};

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_CLIENT_H_
