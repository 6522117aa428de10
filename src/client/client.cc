#include "diffsync/client/client.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "diffsync/client/client_id.h"
#include "diffsync/engine/protocol.h"

namespace diffsync::client {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// SyncNow's bound: a cycle normally suffices; a push or a resync may take
// one or two more.
constexpr int kMaxCycles = 4;
// Server-reported conflicts remembered to tell each once.
constexpr size_t kMaxTold = 1024;
constexpr double kJitter = 0.2;

bool HasMetadata(const engine::Message& message, std::string_view key) {
  for (const engine::DocumentBlock& block : message.documents) {
    for (const engine::Metadata& m : block.metadata) {
      if (m.key == key) return true;
    }
  }
  return false;
}

// "ANCHOR:HEAD:ID" of an m:peer-cursor value (the id last: it may hold
// colons).
std::optional<PeerSelection> ParsePeerCursor(std::string_view value) {
  int64_t numbers[2];
  for (int64_t& n : numbers) {
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto [end, ec] = std::from_chars(value.data(), value.data() + colon, n);
    if (ec != std::errc() || end != value.data() + colon || n < 0) {
      return std::nullopt;
    }
    value.remove_prefix(colon + 1);
  }
  if (value.empty()) return std::nullopt;
  return PeerSelection{std::string(value),
                       {.anchor = numbers[0], .head = numbers[1]}};
}

// peers() promises positions inside our text, which a local edit may
// shorten before the server's next word.
void ClampPeers(std::vector<PeerSelection>& peers, int64_t size) {
  for (PeerSelection& peer : peers) {
    peer.selection.anchor = std::min(peer.selection.anchor, size);
    peer.selection.head = std::min(peer.selection.head, size);
  }
}

Status ServerError(const engine::Error& e) {
  return Status::Unavailable(e.message.empty() ? e.code
                                               : e.code + ": " + e.message);
}

}  // namespace

std::string_view ToString(ConnectionState state) {
  switch (state) {
    case ConnectionState::kOffline:
      return "offline";
    case ConnectionState::kConnecting:
      return "connecting";
    case ConnectionState::kConnected:
      return "connected";
  }
  return "unknown";
}

Client::Client(ClientOptions options, ClientEvents events, ServerUrl url,
               SyncState state, engine::ClientDocument doc,
               std::unique_ptr<Transport> primary,
               std::unique_ptr<Transport> fallback, engine::Clock& clock)
    : options_(std::move(options)),
      events_(std::move(events)),
      url_(std::move(url)),
      state_(std::move(state)),
      doc_(std::move(doc)),
      primary_(std::move(primary)),
      fallback_(std::move(fallback)),
      clock_(clock),
      rng_(options_.seed != 0 ? options_.seed
                              : (uint64_t{std::random_device{}()} << 32) ^
                                    std::random_device{}()),
      backoff_(options_.initial_backoff),
      websocket_backoff_(options_.websocket_retry) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Open(ClientOptions options,
                                             ClientEvents events) {
  Result<ServerUrl> url = ParseServerUrl(options.server);
  if (!url.ok()) return url.status();
  static engine::SystemClock system_clock;
  std::unique_ptr<Transport> http = NewHttpTransport(url->gateway);
  if (!options.websocket) {
    return OpenWith(std::move(options), std::move(events), std::move(http),
                    nullptr, system_clock);
  }
  std::unique_ptr<Transport> ws = NewWebSocketTransport(*url);
  if (!options.http_fallback) http.reset();
  return OpenWith(std::move(options), std::move(events), std::move(ws),
                  std::move(http), system_clock);
}

Result<std::unique_ptr<Client>> Client::OpenWith(
    ClientOptions options, ClientEvents events,
    std::unique_ptr<Transport> primary, std::unique_ptr<Transport> fallback,
    engine::Clock& clock) {
  Result<ServerUrl> url = ParseServerUrl(options.server);
  if (!url.ok()) return url.status();
  if (options.document.empty()) {
    return Status::InvalidArgument("no document name given");
  }
  SyncState state;
  std::optional<engine::ClientDocument> doc;
  Result<SyncState> loaded = options.state_path.empty()
                                 ? Result<SyncState>(Status::NotFound(""))
                                 : LoadStateFile(options.state_path);
  if (loaded.ok()) {
    if (loaded->server_url != url->gateway.url() ||
        loaded->document != options.document ||
        loaded->file_path != options.local_path) {
      return Status::FailedPrecondition(
          options.state_path + " belongs to " + loaded->file_path +
          " synced with " + loaded->server_url + " document \"" +
          loaded->document +
          "\"; give another --state or remove it to start over");
    }
    Result<engine::ClientDocument> restored =
        engine::ClientDocument::Restore(loaded->client, options.engine);
    if (!restored.ok()) {
      return restored.status().WithContext(options.state_path);
    }
    state = std::move(*loaded);
    doc.emplace(std::move(*restored));
  } else {
    if (loaded.status().code() != StatusCode::kNotFound) {
      return loaded.status();
    }
    if (!options.state_path.empty()) {
      std::error_code ec;
      fs::create_directories(fs::path(options.state_path).parent_path(), ec);
      if (ec) return Status::IoError(options.state_path + ": " + ec.message());
    }
    state.server_url = url->gateway.url();
    state.document = options.document;
    state.client_id =
        options.client_id.empty() ? NewClientId("client") : options.client_id;
    state.file_path = options.local_path;
    doc.emplace(options.document, options.engine);
    state.client = doc->SaveState();
  }
  return std::unique_ptr<Client>(new Client(
      std::move(options), std::move(events), std::move(*url), std::move(state),
      std::move(*doc), std::move(primary), std::move(fallback), clock));
}

Status Client::Replace(int64_t pos, int64_t length, std::string_view text) {
  if (Status s = doc_.Replace(pos, length, text); !s.ok()) return s;
  ClampPeers(peers_, doc_.text().size16());
  dirty_ = true;
  RequestSync();
  return Status::Ok();
}

Status Client::SetText(std::string_view utf8) {
  Result<engine::Text> text = engine::Text::FromUtf8(utf8);
  if (!text.ok()) return text.status();
  if (doc_.text() == *text) return Status::Ok();
  doc_.SetText(std::move(*text));
  ClampPeers(peers_, doc_.text().size16());
  dirty_ = true;
  RequestSync();
  return Status::Ok();
}

void Client::SetWrittenText(std::string text) {
  state_.last_written_text = std::move(text);
  dirty_ = true;
}

void Client::ShareSelection(Selection selection) {
  if (share_selection_ && selection == selection_) return;
  selection_ = selection;
  share_selection_ = true;
  selection_unsent_ = true;
  RequestSync();
}

void Client::RequestSync() { need_sync_ = true; }

void Client::Wake() {
  primary_->Interrupt();
  if (fallback_) fallback_->Interrupt();
}

std::string_view Client::transport() const {
  return active_ == nullptr ? std::string_view() : active_->name();
}

std::string Client::transport_url() const {
  return active_ == nullptr ? std::string() : active_->url();
}

bool Client::in_sync() const {
  return doc_.in_sync() && doc_.pending_edits() == 0 &&
         doc_.text() == doc_.shadow();
}

Status Client::Save() {
  dirty_ = false;
  state_.client = doc_.SaveState();
  if (options_.state_path.empty()) return Status::Ok();
  return SaveStateFile(options_.state_path, state_);
}

Status Client::SaveIfEdited() { return dirty_ ? Save() : Status::Ok(); }

milliseconds Client::Jittered(milliseconds delay) {
  std::uniform_real_distribution<double> factor(1 - kJitter, 1 + kJitter);
  return milliseconds(
      static_cast<int64_t>(static_cast<double>(delay.count()) * factor(rng_)));
}

void Client::SetState(ConnectionState state, const Status& detail) {
  state_kind_ = state;
  if (events_.on_connection) events_.on_connection(state, detail);
}

void Client::Connect() {
  SetState(ConnectionState::kConnecting, Status::Ok());
  Status primary = primary_->Connect(options_.timeout);
  Status detail = Status::Ok();
  if (primary.ok()) {
    active_ = primary_.get();
  } else if (fallback_ != nullptr &&
             primary.code() == StatusCode::kFailedPrecondition) {
    // The server is there without a WebSocket (a plain MobWrite gateway):
    // the HTTP gateway is the way. An unreachable one is not tried twice.
    if (fallback_->Connect(options_.timeout).ok()) {
      active_ = fallback_.get();
      detail = primary;
    }
  }
  if (active_ == nullptr) return GoOffline(primary);
  NewConnection();
  if (active_ == fallback_.get()) {
    websocket_backoff_ = options_.websocket_retry;
    next_websocket_try_ =
        clock_.NowMillis() + Jittered(websocket_backoff_).count();
  }
  // A new connection may have missed news (and the server pushes only to a
  // session that has synced): sync at once.
  need_sync_ = true;
  next_poll_ = clock_.NowMillis();
  SetState(ConnectionState::kConnected, detail);
}

// Between two exchanges over the HTTP fallback: a WebSocket that opens now
// (the server got one, a proxy lets it through) brings pushes back.
void Client::TryWebSocketAgain() {
  if (!primary_->Connect(options_.timeout).ok()) {
    websocket_backoff_ =
        std::min(websocket_backoff_ * 2,
                 std::max(options_.max_backoff, options_.websocket_retry));
    next_websocket_try_ =
        clock_.NowMillis() + Jittered(websocket_backoff_).count();
    return;
  }
  fallback_->Close();
  active_ = primary_.get();
  NewConnection();
  // The server pushes only to a session that has synced.
  need_sync_ = true;
  SetState(ConnectionState::kConnected, Status::Ok());
}

void Client::NewConnection() {
  if (active_->pushes()) {
    wire_.emplace(engine::WireSession::Role::kClient, options_.compact);
  } else {
    wire_.reset();
  }
}

void Client::GoOffline(const Status& why) {
  if (active_ != nullptr) active_->Close();
  active_ = nullptr;
  wire_.reset();
  in_flight_ = false;
  ++offline_count_;
  next_attempt_ = clock_.NowMillis() + Jittered(backoff_).count();
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  SetState(ConnectionState::kOffline, why);
}

bool Client::SyncDue(int64_t now) const {
  if (need_sync_ && now >= sync_not_before_) return true;
  return !active_->pushes() && now >= next_poll_;
}

Status Client::Poll(milliseconds max_wait) {
  int64_t now = clock_.NowMillis();
  const int64_t until = now + std::max<int64_t>(max_wait.count(), 0);
  if (active_ == nullptr) {
    if (now < next_attempt_) {
      if (Status s = SaveIfEdited(); !s.ok()) return s;
      // Not connected, the transport only waits (and Wake ends it).
      Result<std::optional<std::string>> waited =
          primary_->Receive(milliseconds(std::min(until, next_attempt_) - now));
      return waited.status();
    }
    Connect();
    if (active_ == nullptr) return SaveIfEdited();
    now = clock_.NowMillis();
  }
  const auto on_fallback = [this] {
    return active_ != nullptr && active_ == fallback_.get() && !in_flight_;
  };
  if (on_fallback() && now >= next_websocket_try_) {
    TryWebSocketAgain();
    now = clock_.NowMillis();
  }
  if (!in_flight_ && SyncDue(now)) {
    if (Status s = SendRequest(); !s.ok()) return s;
    if (active_ == nullptr) return Status::Ok();
  }
  // Edits not sent (none is sent while a request is in flight) are kept
  // even if the process is killed during the wait.
  if (Status s = SaveIfEdited(); !s.ok()) return s;
  int64_t wait_until = until;
  if (in_flight_) {
    wait_until = std::min(wait_until, request_deadline_);
  } else {
    if (need_sync_) wait_until = std::min(wait_until, sync_not_before_);
    if (!active_->pushes()) wait_until = std::min(wait_until, next_poll_);
    if (on_fallback()) wait_until = std::min(wait_until, next_websocket_try_);
  }
  Result<std::optional<std::string>> got =
      active_->Receive(milliseconds(std::max<int64_t>(wait_until - now, 0)));
  if (!got.ok()) {
    GoOffline(got.status());
    return Status::Ok();
  }
  if (!got->has_value()) {
    if (in_flight_ && clock_.NowMillis() >= request_deadline_) {
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.3g",
                    static_cast<double>(options_.timeout.count()) / 1000);
      GoOffline(Status::Unavailable("no answer from " + active_->url() +
                                    " within " + seconds + " s"));
    }
    return Status::Ok();
  }
  return HandleMessage(**got);
}

Result<bool> Client::SyncNow() {
  RequestSync();
  sync_not_before_ = 0;
  if (active_ == nullptr) next_attempt_ = 0;
  const int64_t offline_before = offline_count_;
  const int64_t requests_before = requests_;
  for (;;) {
    if (Status s = Poll(options_.timeout); !s.ok()) return s;
    if (offline_count_ != offline_before) return false;
    if (in_flight_ || requests_ == requests_before) continue;
    if (!need_sync_ || requests_ - requests_before >= kMaxCycles) return true;
  }
}

Status Client::SendRequest() {
  engine::Message request;
  request.token = options_.token;
  // A delta request leaves the shadow equal to the text, where our
  // selection is: the protocol's cursor is in that shadow. A join or a
  // resync sends another text, so the cursor waits for the next request.
  const bool cursor_fits = doc_.in_sync();
  request.documents.push_back(doc_.MakeRequest());
  engine::DocumentBlock& block = request.documents.back();
  block.client_id = state_.client_id;
  if (share_selection_ && cursor_fits) {
    const int64_t size = doc_.text().size16();
    const Selection at = {
        .anchor = std::clamp<int64_t>(selection_.anchor, 0, size),
        .head = std::clamp<int64_t>(selection_.head, 0, size)};
    block.metadata.push_back(
        {"cursor", std::to_string(at.anchor) + ":" + std::to_string(at.head)});
    selection_unsent_ = false;
  }
  // The request's edits are saved before they leave: if we stop now, the
  // next run sends them again and the server recognises them.
  if (Status s = Save(); !s.ok()) return s;
  Result<std::string> wire =
      wire_ ? wire_->Encode(request) : engine::EncodeMessage(request);
  if (!wire.ok()) return wire.status();
  need_sync_ = false;
  const int64_t now = clock_.NowMillis();
  next_poll_ = now + options_.poll_interval.count();
  if (Status s = active_->Send(*wire, options_.timeout); !s.ok()) {
    // The connection's codec counted the message as sent: a connection
    // that lost one can no longer be read against.
    const bool retry = s.code() == StatusCode::kUnavailable;
    if (!retry && !wire_) return s;
    need_sync_ = true;
    GoOffline(s);
    return retry ? Status::Ok() : s;
  }
  ++requests_;
  in_flight_ = true;
  request_deadline_ = now + options_.timeout.count();
  request_bytes_ = static_cast<int64_t>(wire->size());
  bytes_sent_ += request_bytes_;
  return Status::Ok();
}

Status Client::HandleMessage(const std::string& wire) {
  bytes_received_ += static_cast<int64_t>(wire.size());
  Result<engine::Message> message =
      wire_ ? wire_->Decode(wire) : engine::DecodeMessage(wire);
  if (!message.ok()) {
    Status bad =
        message.status().WithContext("a message from " + active_->url());
    // The server counted it as read: the connection's later messages could
    // not be.
    if (wire_) GoOffline(bad);
    return bad;
  }
  // Others' selections only (m:presence): nothing to apply or answer.
  if (HasMetadata(*message, "presence")) {
    const std::vector<PeerSelection> before = peers_;
    for (const engine::DocumentBlock& block : message->documents) {
      if (block.document == doc_.document()) TakePeers(block);
    }
    if (peers_ != before && events_.on_peers) events_.on_peers(peers_);
    return Status::Ok();
  }
  const bool push = HasMetadata(*message, "push");
  if (push && in_flight_) {
    // Our request acknowledges what the push started from, so the server
    // rolls it back. Its news come with the reply, unless the push
    // overtook an older reply; then only our next request fetches them
    // (the server pushes no more until then), so make one.
    ++pushes_ignored_;
    need_sync_ = true;
    return Status::Ok();
  }
  if (!push && !in_flight_) return Status::Ok();  // Not ours to take.
  SyncEvent synced;
  synced.push = push;
  synced.bytes_received = static_cast<int64_t>(wire.size());
  if (!push) {
    in_flight_ = false;
    backoff_ = options_.initial_backoff;
    synced.bytes_sent = request_bytes_;
  }
  const std::vector<PeerSelection> peers_before = peers_;
  std::vector<Status> errors;
  for (const engine::Error& e : message->errors) {
    errors.push_back(ServerError(e));
  }
  bool push_taken = push;
  RemoteChange change;
  change.push = push;
  std::vector<Conflict> conflicts;
  std::set<std::tuple<int64_t, std::string, std::string>> reported;
  for (const engine::DocumentBlock& block : message->documents) {
    if (block.document != doc_.document()) continue;
    Result<engine::ReplyEffects> fx = doc_.HandleReply(block);
    if (!fx.ok())
      return fx.status().WithContext("the reply of " + active_->url());
    // A push made before the server saw our latest request: the engine
    // took nothing of it.
    push_taken = push_taken && !fx->push_ignored;
    for (engine::ChangeSet& c : fx->text_changes) {
      if (!c.IsIdentity()) change.changes.push_back(std::move(c));
    }
    for (std::string& hunk : fx->dropped_hunks) {
      conflicts.push_back({-1, "overlap", std::move(hunk)});
    }
    for (const engine::Conflict& c : fx->conflicts) {
      reported.emplace(c.version, c.reason, c.hunk);
      if (told_.contains({c.version, c.reason, c.hunk})) continue;
      // Our side may have found the same hunk lost.
      if (std::any_of(conflicts.begin(), conflicts.end(),
                      [&](const Conflict& k) { return k.hunk == c.hunk; })) {
        continue;
      }
      conflicts.push_back({c.version, c.reason, c.hunk});
    }
    for (const engine::Error& e : fx->errors) errors.push_back(ServerError(e));
    TakePeers(block);
  }
  if (push) ++(push_taken ? pushes_applied_ : pushes_ignored_);
  if (told_.size() + reported.size() > kMaxTold) told_.clear();
  told_.merge(reported);
  if (Status s = Save(); !s.ok()) return s;

  if (push) {
    need_sync_ = true;  // Acknowledge it, so the server may push again.
  } else if (!in_sync() || selection_unsent_) {
    // Also a selection the join could not carry: it makes us present.
    need_sync_ = true;
  }
  if (!errors.empty()) {
    // Whatever the server could not do, retrying at once would not help.
    sync_not_before_ = clock_.NowMillis() + Jittered(backoff_).count();
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    need_sync_ = true;
  }
  synced.pending_edits = pending_edits();
  synced.in_sync = in_sync();
  for (const Status& e : errors) {
    if (events_.on_error) events_.on_error(e);
  }
  for (const Conflict& c : conflicts) {
    if (events_.on_conflict) events_.on_conflict(c);
  }
  if (!change.changes.empty()) {
    for (const engine::ChangeSet& c : change.changes) {
      const auto map = [&c](int64_t pos) {
        return c.MapPosition(std::clamp<int64_t>(pos, 0, c.base_length()));
      };
      selection_ = {.anchor = map(selection_.anchor),
                    .head = map(selection_.head)};
    }
    change.selection = selection_;
    change.text = doc_.text();
    if (events_.on_remote_change) events_.on_remote_change(change);
  }
  if (peers_ != peers_before && events_.on_peers) events_.on_peers(peers_);
  if (events_.on_synced) events_.on_synced(synced);
  return Status::Ok();
}

void Client::TakePeers(const engine::DocumentBlock& block) {
  // Every reply and push to a present client lists all the others: none
  // means we are alone.
  if (!share_selection_) return;
  std::vector<PeerSelection> peers;
  for (const engine::Metadata& m : block.metadata) {
    if (m.key != "peer-cursor") continue;
    std::optional<PeerSelection> peer = ParsePeerCursor(m.value);
    if (!peer || peer->client_id == state_.client_id) continue;
    peers.push_back(std::move(*peer));
  }
  ClampPeers(peers, doc_.text().size16());
  peers_ = std::move(peers);
}

}  // namespace diffsync::client
