#include "server/sync_service.h"

#include <algorithm>

#include "server/form.h"

namespace diffsync::server {
namespace {

constexpr int64_t kMaxBufferPieces = 10'000;

std::string ErrorMessage(std::string code, std::string message) {
  engine::Message out;
  out.errors.push_back({std::move(code), std::move(message)});
  Result<std::string> wire = engine::EncodeMessage(out);
  return wire.ok() ? *wire : "x:internal\n\n";
}

}  // namespace

SyncService::SyncService(engine::Store& durable, engine::Clock& clock,
                         ServiceOptions options, Post post, Metrics& metrics)
    : clock_(clock),
      options_(std::move(options)),
      post_(std::move(post)),
      metrics_(metrics),
      access_(options_.access, clock),
      roster_(options_.max_clients_per_document,
              options_.client_window_millis) {
  staged_ = std::make_unique<GroupCommitStore>(
      durable, post_,
      [this](const Status&) {
        // Replies built on the failed commit are never sent; forget the
        // state they came from.
        server_->DropCache();
        metrics_.RecordError("store");
      },
      [this](size_t batches, double seconds, const Status& status) {
        metrics_.RecordCommit(batches, seconds, status.ok());
      },
      options_.commit_gather);
  server_ = std::make_unique<engine::Server>(*staged_, clock_, options_.engine);
  presence_ = std::make_unique<Presence>(*server_, clock_);
}

SyncService::~SyncService() {
  // The commit thread finishes before the engine it reports to goes away.
  staged_.reset();
}

void SyncService::ReplyError(const Reply& reply, std::string code,
                             std::string message) {
  metrics_.RecordError(code);
  // Behind the replies still waiting for durability, to keep their order.
  staged_->WhenDurable(
      [reply, text = ErrorMessage(std::move(code), std::move(message))](
          Status) { reply(text); });
}

void SyncService::Refuse(const Reply& reply, std::string code,
                         std::string message) {
  ReplyError(reply, std::move(code), std::move(message));
}

std::optional<engine::Error> SyncService::OverLimit(
    const engine::Message& request, Session* session) {
  size_t edits = 0;
  for (const engine::DocumentBlock& block : request.documents) {
    edits += block.edits.size();
  }
  if (options_.max_edits_per_request != 0 &&
      edits > options_.max_edits_per_request) {
    return engine::Error{"too-many-edits",
                         std::to_string(edits) +
                             " edits in one request; at most " +
                             std::to_string(options_.max_edits_per_request)};
  }
  if (options_.max_documents_per_connection != 0) {
    // The connection's documents and the request's new ones, counted
    // without copying the connection's set (it runs on every request).
    const std::set<std::string>* known = nullptr;
    if (session != nullptr) {
      if (auto it = attached_.find(session); it != attached_.end()) {
        known = &it->second.documents;
      }
    }
    const size_t known_count = known != nullptr ? known->size() : 0;
    std::vector<std::string_view> fresh;  // At most one past the limit.
    for (const engine::DocumentBlock& block : request.documents) {
      if (known_count + fresh.size() > options_.max_documents_per_connection) {
        break;
      }
      if (known != nullptr && known->contains(block.document)) continue;
      if (std::find(fresh.begin(), fresh.end(), block.document) ==
          fresh.end()) {
        fresh.push_back(block.document);
      }
    }
    if (known_count + fresh.size() > options_.max_documents_per_connection) {
      return engine::Error{
          "too-many-documents",
          "at most " + std::to_string(options_.max_documents_per_connection) +
              " documents per connection"};
    }
  }
  const int64_t now = clock_.NowMillis();
  for (const engine::DocumentBlock& block : request.documents) {
    if (block.client_id.empty() || block.nullify) continue;
    if (!roster_.Admit(block.document, block.client_id, now)) {
      return engine::Error{
          "too-many-clients",
          "document " + block.document + " has " +
              std::to_string(options_.max_clients_per_document) +
              " clients, the most it may have"};
    }
  }
  return std::nullopt;
}

void SyncService::Handle(std::string_view request, Session* session,
                         Reply reply, std::string_view transport_token) {
  Result<engine::Message> message = engine::DecodeMessage(request);
  if (!message.ok()) {
    ReplyError(reply, "malformed-request", message.status().message());
    return;
  }
  Handle(std::move(*message), request.size(), session, std::move(reply),
         transport_token);
}

void SyncService::Handle(engine::Message request, size_t wire_bytes,
                         Session* session, Reply reply,
                         std::string_view transport_token) {
  const auto start = std::chrono::steady_clock::now();
  if (request.fragments.empty()) {
    HandleMessage(std::move(request), wire_bytes, session, std::move(reply),
                  start, transport_token);
    return;
  }
  // MobWrite's JSON-P client splits a long request over several `b:`
  // requests; each is answered empty until the buffer is whole.
  std::optional<std::string> whole;
  for (const engine::BufferFragment& piece : request.fragments) {
    Result<std::optional<std::string>> fed = Feed(piece);
    if (!fed.ok()) {
      ReplyError(reply, "bad-buffer", fed.status().message());
      return;
    }
    if (fed->has_value()) whole = std::move(**fed);
  }
  if (!whole) {
    staged_->WhenDurable([reply](Status) { reply(""); });
    return;
  }
  Result<engine::Message> joined = engine::DecodeMessage(*whole);
  if (!joined.ok()) {
    ReplyError(reply, "malformed-request",
               joined.status().WithContext("buffer").message());
    return;
  }
  if (!joined->fragments.empty()) {
    ReplyError(reply, "bad-buffer", "a buffer holds further b: lines");
    return;
  }
  // The pieces' own t: line serves a joined request without one.
  if (joined->token.empty()) joined->token = std::move(request.token);
  HandleMessage(std::move(*joined), wire_bytes, session, std::move(reply),
                start, transport_token);
}

Result<std::optional<std::string>> SyncService::Feed(
    const engine::BufferFragment& piece) {
  const int64_t now = clock_.NowMillis();
  for (auto it = buffers_.begin(); it != buffers_.end();) {
    if (now - it->second.touched_millis > options_.buffer_expiry_millis) {
      buffered_bytes_ -= it->second.bytes;
      it = buffers_.erase(it);
    } else {
      ++it;
    }
  }
  if (piece.size > kMaxBufferPieces) {
    return Status::InvalidArgument("buffer " + piece.id + " has " +
                                   std::to_string(piece.size) +
                                   " pieces; at most " +
                                   std::to_string(kMaxBufferPieces));
  }
  std::string text;
  if (piece.size == 1) {
    text = piece.text;
  } else {
    if (buffered_bytes_ + piece.text.size() > options_.max_buffer_bytes) {
      return Status::ResourceExhausted(
          "buffers would exceed " + std::to_string(options_.max_buffer_bytes) +
          " bytes");
    }
    Buffer& buffer = buffers_[{piece.id, piece.size}];
    buffer.pieces.resize(static_cast<size_t>(piece.size));
    buffer.touched_millis = now;
    std::optional<std::string>& slot =
        buffer.pieces[static_cast<size_t>(piece.index - 1)];
    if (slot) buffer.bytes -= slot->size(), buffered_bytes_ -= slot->size();
    slot = piece.text;
    buffer.bytes += piece.text.size();
    buffered_bytes_ += piece.text.size();
    if (!std::all_of(buffer.pieces.begin(), buffer.pieces.end(),
                     [](const auto& p) { return p.has_value(); })) {
      return std::optional<std::string>();
    }
    for (const auto& p : buffer.pieces) text += *p;
    buffered_bytes_ -= buffer.bytes;
    buffers_.erase({piece.id, piece.size});
  }
  Result<std::string> decoded = PercentDecode(text);
  if (!decoded.ok()) return decoded.status().WithContext("buffer " + piece.id);
  return std::optional<std::string>(std::move(*decoded));
}

void SyncService::Subscribe(Session* session, const std::string& client_id,
                            const std::string& document) {
  std::vector<Watch>& watches = watchers_[document];
  for (Watch& w : watches) {
    if (w.session == session && w.client_id == client_id) {
      // This request ends the view's outstanding push, if any.
      w.pushed = false;
      return;
    }
  }
  Attached& attached = attached_[session];
  if (attached.id == 0) attached.id = next_session_id_++;
  attached.documents.insert(document);
  watches.push_back({session, attached.id, client_id, false});
}

void SyncService::Detach(Session* session) {
  auto it = attached_.find(session);
  if (it == attached_.end()) return;
  for (const std::string& document : it->second.documents) {
    auto w = watchers_.find(document);
    if (w == watchers_.end()) continue;
    std::erase_if(w->second,
                  [&](const Watch& watch) { return watch.session == session; });
    if (w->second.empty()) watchers_.erase(w);
  }
  attached_.erase(it);
  for (const std::string& document : presence_->Leave(session)) {
    ForEachPresencePush(document, [](const Watch& w, std::string text) {
      w.session->Push(std::move(text));
    });
  }
}

void SyncService::ForEachPresencePush(
    const std::string& document,
    const std::function<void(const Watch&, std::string)>& send) {
  auto w = watchers_.find(document);
  if (w == watchers_.end()) return;
  for (const Watch& watch : w->second) {
    auto message = presence_->PresenceMessage(watch.client_id, document);
    if (!message) continue;
    Result<std::string> text = engine::EncodeMessage(*message);
    if (text.ok()) send(watch, std::move(*text));
  }
}

void SyncService::HandleMessage(engine::Message request, size_t request_bytes,
                                Session* session, Reply reply,
                                std::chrono::steady_clock::time_point start,
                                std::string_view transport_token) {
  // Before anything else, so that a refused request costs no other state.
  Admission admission = access_.Admit(request, transport_token);
  if (admission.refusal) {
    ReplyError(reply, std::move(admission.refusal->code),
               std::move(admission.refusal->message));
    return;
  }
  if (std::optional<engine::Error> over = OverLimit(request, session)) {
    ReplyError(reply, std::move(over->code), std::move(over->message));
    return;
  }
  Result<engine::Message> answer = server_->Handle(request, admission.read_only);
  if (!answer.ok()) {
    ReplyError(reply, "store", answer.status().message());
    return;
  }
  for (const engine::DocumentBlock& block : answer->documents) {
    for (const engine::Error& e : block.errors) metrics_.RecordError(e.code);
  }
  const engine::Server::Stats& stats = server_->stats();
  metrics_.SetEngineTotals(stats.exact_hunks, stats.dropped_hunks,
                           stats.diffed_merges, stats.resyncs);
  UpdateLoadedGauges();
  const std::vector<std::string> moved =
      presence_->OnReply(request, *answer, session);
  // The requester's own views get their news in this reply.
  auto is_requester = [&](const std::string& client_id,
                          const std::string& document) {
    return std::any_of(request.documents.begin(), request.documents.end(),
                       [&](const engine::DocumentBlock& block) {
                         return block.client_id == client_id &&
                                block.document == document;
                       });
  };
  for (const engine::DocumentBlock& block : request.documents) {
    if (block.client_id.empty()) continue;
    if (session != nullptr && !block.nullify) {
      Subscribe(session, block.client_id, block.document);
    }
  }
  Result<std::string> wire = engine::EncodeMessage(*answer);
  if (!wire.ok()) {
    ReplyError(reply, "internal", wire.status().message());
    return;
  }
  struct Push {
    Session* session;
    uint64_t session_id;
    std::string text;
  };
  std::vector<Push> pushes;
  for (const std::string& document : server_->changed_documents()) {
    auto w = watchers_.find(document);
    if (w == watchers_.end()) continue;
    for (Watch& watch : w->second) {
      if (watch.pushed || is_requester(watch.client_id, document)) continue;
      Result<engine::Message> push = server_->Push(watch.client_id, document);
      if (!push.ok() || push->documents.empty()) continue;
      watch.pushed = true;
      presence_->AnnotatePush(watch.client_id, push->documents.front());
      Result<std::string> text = engine::EncodeMessage(*push);
      if (!text.ok()) continue;
      pushes.push_back({watch.session, watch.session_id, std::move(*text)});
    }
  }
  for (const std::string& document : moved) {
    ForEachPresencePush(document, [&](const Watch& w, std::string text) {
      // A client with a push outstanding gets the cursors with its next
      // reply, which its answer to the push brings.
      if (w.pushed || is_requester(w.client_id, document)) return;
      pushes.push_back({w.session, w.session_id, std::move(text)});
    });
  }
  staged_->WhenDurable([this, reply = std::move(reply), wire = std::move(*wire),
                        pushes = std::move(pushes), request_bytes,
                        start](Status status) mutable {
    // Called once: the reply and the pushes are moved out, not copied.
    if (!status.ok()) {
      reply(ErrorMessage("store", "not stored, nothing acknowledged: " +
                                      status.message()));
      return;
    }
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    metrics_.RecordSync(took.count(), request_bytes, wire.size());
    reply(std::move(wire));
    for (Push& push : pushes) {
      auto it = attached_.find(push.session);
      if (it == attached_.end() || it->second.id != push.session_id) continue;
      metrics_.RecordPush(push.text.size());
      push.session->Push(std::move(push.text));
    }
  });
}

size_t SyncService::UnloadIdle(int64_t idle_millis) {
  roster_.Prune(clock_.NowMillis());
  const size_t unloaded = server_->UnloadIdle(
      clock_.NowMillis() - idle_millis,
      [&](const std::string& client_id, const std::string& document) {
        auto w = watchers_.find(document);
        if (w == watchers_.end()) return false;
        return std::any_of(w->second.begin(), w->second.end(),
                           [&](const Watch& watch) {
                             return watch.client_id == client_id;
                           });
      });
  UpdateLoadedGauges();
  return unloaded;
}

void SyncService::UpdateLoadedGauges() {
  metrics_.documents().Set(static_cast<double>(server_->loaded_documents()));
  metrics_.views().Set(static_cast<double>(server_->loaded_views()));
}

void SyncService::Flush(std::function<void()> done) {
  staged_->WhenDurable([done = std::move(done)](Status) { done(); });
}

}  // namespace diffsync::server
