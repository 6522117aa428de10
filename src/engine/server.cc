#include "diffsync/engine/server.h"

#include <algorithm>
#include <set>

#include "dmp/utf.h"
#include "engine/merge.h"
#include "engine/wire_context.h"

namespace diffsync::engine {
namespace {

// True for a delta that only retains ("=N", or nothing on an empty text).
bool IsIdentityDelta(std::string_view delta) {
  return internal::StripTrailingRetain(delta).empty();
}

// The delta of a change that keeps all `units` of its text, as
// ChangeSet::ToDelta writes it.
std::string RetainAll(int64_t units) {
  return units == 0 ? std::string() : "=" + std::to_string(units);
}

// The view's unacknowledged server edits and conflict reports, as reply
// lines; with `checksum`, the last delta (unless it changes nothing)
// carries the CRC of the shadow it leads to (the view's shadow: each reply and push leaves the shadow where
// the stack's last edit leads).
void AppendStack(const ViewRecord& view, DocumentBlock& reply, bool checksum) {
  for (const PendingConflict& c : view.pending_conflicts) {
    reply.conflicts.push_back({c.client_version, c.reason, c.hunk});
  }
  for (const StackedEdit& e : view.edit_stack) {
    Edit out;
    SetEditLetter(e.kind, out);
    out.version = e.version;
    out.data = e.data;
    reply.edits.push_back(std::move(out));
  }
  // An edit that changes nothing leads to the shadow the client's own h:
  // line vouched for, so it needs none.
  if (checksum && !reply.edits.empty() &&
      reply.edits.back().kind == Edit::Kind::kDelta &&
      !IsIdentityDelta(reply.edits.back().data)) {
    reply.edits.back().checksum = view.shadow.Crc32();
  }
}

// The link's client, with the server's diff settings.
ClientOptions LinkOptions(const ServerOptions& options) {
  ClientOptions client;
  client.dmp = options.dmp;
  return client;
}

}  // namespace

// A shadow's exact relation to the document: `to_document` turns the shadow
// into the document text at `revision`. Unknown (revision < 0) after a
// restart or a raw text, until the next reply re-anchors it.
struct Anchor {
  ChangeSet to_document;
  int64_t revision = -1;

  AnchorRecord ToRecord() const {
    if (revision < 0) return {};
    return {revision, to_document.ToDelta()};
  }
  // Unknown if the stored one does not fit `shadow` (then the next merge
  // diffs, as after any loss of history).
  static Anchor FromRecord(const AnchorRecord& record, const Text& shadow) {
    if (record.revision < 0) return {};
    Result<ChangeSet> change = ChangeSet::FromDelta(record.delta, shadow.size16());
    if (!change.ok()) return {};
    return {std::move(*change), record.revision};
  }
};

struct Server::DocumentState {
  std::string name;
  Text text;
  int64_t revision = 0;
  // history[i] changed revision history_base + i into the next one.
  std::deque<ChangeSet> history;
  int64_t history_base = 0;

  // Whether `anchor` leads to the current text unchanged: its shadow is the
  // document, as after every reply nobody else's edit followed.
  bool Unchanged(const Anchor& anchor) const {
    return anchor.revision == revision && anchor.to_document.IsIdentity();
  }

  // The change from the text at `anchor.revision`, composed onto the anchor,
  // or nullopt if that history is no longer kept.
  std::optional<ChangeSet> ToCurrent(const Anchor& anchor) const {
    if (anchor.revision < history_base || anchor.revision > revision) {
      return std::nullopt;
    }
    if (anchor.revision == revision) return anchor.to_document;
    ChangeSet change;
    ChangeSet next;
    const ChangeSet* so_far = &anchor.to_document;
    for (int64_t r = anchor.revision; r < revision; ++r) {
      ChangeSet::ComposeInto(*so_far, history[r - history_base], next);
      std::swap(change, next);
      so_far = &change;
    }
    return change;
  }

  void Record(ChangeSet applied, Text new_text, size_t limit) {
    unsaved.push_back({name, revision, applied.base_length(), applied.ToDelta()});
    text = std::move(new_text);
    history.push_back(std::move(applied));
    ++revision;
    while (history.size() > limit) {
      history.pop_front();
      ++history_base;
      trimmed = true;
    }
  }

  // Rebuilds the history from stored changes: the longest run that ends at
  // `revision` and chains exactly onto the text.
  void Restore(const std::vector<ChangeRecord>& changes) {
    std::deque<ChangeSet> restored;
    int64_t expected_target = text.size16();
    int64_t next_revision = revision;
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      if (it->revision != next_revision - 1) break;
      Result<ChangeSet> change = ChangeSet::FromDelta(it->delta, it->base_length);
      if (!change.ok() || change->target_length() != expected_target) break;
      expected_target = change->base_length();
      restored.push_front(std::move(*change));
      --next_revision;
    }
    history = std::move(restored);
    history_base = next_revision;
  }

  // Moves what changed since the last save into `batch`.
  void Save(WriteBatch& batch) {
    batch.documents.push_back({name, text, revision});
    std::move(unsaved.begin(), unsaved.end(), std::back_inserter(batch.changes));
    unsaved.clear();
    if (trimmed) batch.trimmed_changes.emplace_back(name, history_base);
    trimmed = false;
  }

  // Changes recorded but not yet in a batch, and whether old ones were
  // dropped from the history since.
  std::vector<ChangeRecord> unsaved;
  bool trimmed = false;
};

struct Server::ViewState {
  ViewRecord record;
  Anchor anchor;
  Anchor backup_anchor;
  // Set by Push until the next request: the shadow the push started from,
  // to roll back to if the client ignored or lost the push. Kept apart from
  // the backup, which a reply lost before the push may still need. Not
  // stored: after a restart such a client is resynced instead.
  struct PushBase {
    Text shadow;
    int64_t server_version = 0;
    Anchor anchor;
  };
  std::optional<PushBase> push_base;
  // The client's last request sent checksums (h:), so our replies and
  // pushes do too. MobWrite's clients never send them and so never get any.
  bool checksums = false;
};

struct Server::UpstreamLink {
  explicit UpstreamLink(ClientDocument c) : client(std::move(c)) {}
  ClientDocument client;
  // client.text() -> the document's text at anchor.revision.
  Anchor anchor;
};

Server::Server(Store& store, Clock& clock, ServerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Server::~Server() = default;

Result<Server::DocumentState*> Server::GetDocument(const std::string& name,
                                                   bool* created) {
  *created = false;
  auto it = documents_.find(name);
  if (it != documents_.end()) return it->second.get();
  Result<std::optional<DocumentRecord>> loaded = store_.LoadDocument(name);
  if (!loaded.ok()) return loaded.status();
  auto doc = std::make_unique<DocumentState>();
  doc->name = name;
  if (loaded->has_value()) {
    doc->text = (*loaded)->text;
    doc->revision = (*loaded)->revision;
    doc->history_base = doc->revision;
    const int64_t from = std::max<int64_t>(
        0, doc->revision - static_cast<int64_t>(options_.history_limit));
    Result<std::vector<ChangeRecord>> changes =
        store_.LoadChanges(name, from);
    if (!changes.ok()) return changes.status();
    doc->Restore(*changes);
  } else {
    *created = true;
  }
  DocumentState* raw = doc.get();
  documents_[name] = std::move(doc);
  return raw;
}

Result<Server::ViewState*> Server::GetView(const std::string& client_id,
                                           const std::string& document) {
  const int64_t now = clock_.NowMillis();
  auto it = views_.find(ViewKeyView(client_id, document));
  bool existed = it != views_.end();
  if (!existed) {
    Result<std::optional<ViewRecord>> loaded =
        store_.LoadView(client_id, document);
    if (!loaded.ok()) return loaded.status();
    auto view = std::make_unique<ViewState>();
    existed = loaded->has_value();
    if (existed) {
      view->record = **loaded;
      view->anchor = Anchor::FromRecord(view->record.anchor, view->record.shadow);
      view->backup_anchor = Anchor::FromRecord(view->record.backup_anchor,
                                               view->record.backup_shadow);
    }
    it = views_.emplace(std::make_pair(client_id, document), std::move(view))
             .first;
  }
  ViewState* view = it->second.get();
  if (existed &&
      now - view->record.last_seen_millis > options_.view_expiry_millis) {
    // Expired: start over. The client's next request does not match this
    // fresh view and is answered with a full resync.
    *view = ViewState();
  }
  if (view->record.client_id.empty()) {  // New, or expired just now.
    view->record.client_id = client_id;
    view->record.document = document;
  }
  view->record.last_seen_millis = now;
  return view;
}

Result<Message> Server::Handle(const Message& request) {
  return Handle(request, false);
}

Result<Message> Server::Handle(const Message& request, bool read_only) {
  Message reply;
  WriteBatch batch;
  changed_documents_.clear();
  saved_views_.clear();
  for (const DocumentBlock& block : request.documents) {
    const size_t views_before = batch.views.size();
    DocumentBlock out = Process(block.client_id, block, read_only, batch);
    if (batch.views.size() != views_before) saved_views_.push_back(&block);
    // As MobWrite's daemon, a nullify is answered with nothing.
    if (!block.nullify || !out.errors.empty()) {
      reply.documents.push_back(std::move(out));
    }
  }
  for (const DocumentRecord& d : batch.documents) {
    if (std::find(changed_documents_.begin(), changed_documents_.end(),
                  d.name) == changed_documents_.end()) {
      changed_documents_.push_back(d.name);
    }
  }
  if (batch.empty()) return reply;
  if (Status s = store_.Commit(std::move(batch)); !s.ok()) {
    // Nothing of this request is durable: forget the in-memory state it
    // touched so that it is reloaded as stored, and acknowledge nothing.
    for (const std::string& name : changed_documents_) documents_.erase(name);
    for (const DocumentBlock* block : saved_views_) {
      auto it = views_.find(ViewKeyView(block->client_id, block->document));
      if (it != views_.end()) views_.erase(it);  // A view may come twice.
    }
    changed_documents_.clear();
    return s.WithContext("store");
  }
  return reply;
}

void Server::NormalizeLineBreaks(DocumentState& doc) {
  const std::string text = doc.text.ToString();
  if (text.find('\r') == std::string::npos) return;
  ChangeSet change;
  std::string normalized;
  size_t start = 0;
  for (size_t i = text.find('\r'); i != std::string::npos;
       i = text.find('\r', i + 1)) {
    const std::string_view kept(text.data() + start, i - start);
    change.Retain(static_cast<int64_t>(dmp::internal::Utf16Length(kept)));
    normalized += kept;
    change.Delete(1);
    if (i + 1 == text.size() || text[i + 1] != '\n') {
      change.Insert("\n");
      normalized += '\n';
    }
    start = i + 1;
  }
  const std::string_view rest(text.data() + start, text.size() - start);
  change.Retain(static_cast<int64_t>(dmp::internal::Utf16Length(rest)));
  normalized += rest;
  doc.Record(std::move(change), *Text::FromUtf8(normalized),
             options_.history_limit);
}

ViewRecord Server::SavedView(const ViewState& view) {
  ViewRecord record = view.record;
  record.anchor = view.anchor.ToRecord();
  // After a reply nobody else's edit followed, the backup is anchored
  // where the shadow is.
  record.backup_anchor =
      view.backup_anchor.revision == view.anchor.revision &&
              view.backup_anchor.to_document == view.anchor.to_document
          ? record.anchor
          : view.backup_anchor.ToRecord();
  return record;
}

Result<Message> Server::Push(const std::string& client_id,
                             const std::string& document) {
  Message message;
  auto view_it = views_.find(ViewKeyView(client_id, document));
  auto doc_it = documents_.find(document);
  if (view_it == views_.end() || doc_it == documents_.end()) return message;
  ViewState& view = *view_it->second;
  const DocumentState& doc = *doc_it->second;
  if (view.push_base) return message;  // One outstanding push per view.
  std::optional<ChangeSet> to_doc = doc.ToCurrent(view.anchor);
  if (to_doc ? to_doc->IsIdentity() : view.record.shadow == doc.text) {
    return message;
  }
  if (!to_doc) {
    to_doc = internal::DiffChange(view.record.shadow, doc.text, options_.dmp);
  }
  ViewRecord& v = view.record;
  // What a failed commit must put back; the rest is in the push base.
  std::vector<int64_t> sent_with;
  for (const PendingConflict& c : v.pending_conflicts) {
    sent_with.push_back(c.sent_with);
  }
  view.push_base =
      ViewState::PushBase{v.shadow, v.server_version, std::move(view.anchor)};
  v.edit_stack.push_back({'d', v.server_version, to_doc->ToDelta()});
  ++v.server_version;
  v.shadow = doc.text;
  view.anchor = {ChangeSet::Identity(doc.text.size16()), doc.revision};
  for (PendingConflict& c : v.pending_conflicts) {
    c.sent_with = v.edit_stack.back().version;
  }
  WriteBatch batch;
  batch.views.push_back(SavedView(view));
  if (Status s = store_.Commit(std::move(batch)); !s.ok()) {
    ViewState::PushBase& base = *view.push_base;
    v.edit_stack.pop_back();
    v.server_version = base.server_version;
    v.shadow = std::move(base.shadow);
    view.anchor = std::move(base.anchor);
    for (size_t i = 0; i < sent_with.size(); ++i) {
      v.pending_conflicts[i].sent_with = sent_with[i];
    }
    view.push_base.reset();
    return s.WithContext("store");
  }
  DocumentBlock block;
  block.document = document;
  block.version = v.client_version;
  AppendStack(v, block, view.checksums);
  block.metadata.push_back({"push", ""});
  message.documents.push_back(std::move(block));
  return message;
}

size_t Server::UnloadIdle(
    int64_t before_millis,
    const std::function<bool(const std::string&, const std::string&)>& keep) {
  const size_t before = views_.size();
  std::erase_if(views_, [&](const auto& entry) {
    const ViewState& view = *entry.second;
    return view.record.last_seen_millis < before_millis && !view.push_base &&
           !(keep && keep(entry.first.first, entry.first.second));
  });
  std::set<std::string> in_use;
  for (const auto& [key, view] : views_) in_use.insert(key.second);
  std::erase_if(documents_, [&](const auto& entry) {
    // Unsaved changes never outlive a request, so any document may go.
    return !in_use.contains(entry.first);
  });
  return before - views_.size();
}

void Server::DropCache() {
  documents_.clear();
  views_.clear();
  upstream_.clear();
}

DocumentBlock Server::Process(const std::string& client_id,
                              const DocumentBlock& request, bool read_only,
                              WriteBatch& batch) {
  DocumentBlock reply;
  reply.document = request.document;
  // U: asks for the client to be named (u:) before its block in the reply.
  if (request.echo_client_id) reply.client_id = client_id;
  auto error = [&](std::string code, std::string message) {
    reply.errors.push_back({std::move(code), std::move(message)});
  };
  if (client_id.empty()) {
    error("no-client-id", "a request needs a u: line before its documents");
    return reply;
  }
  if (request.nullify && read_only) {
    error("read-only", "this client may not delete documents");
    return reply;
  }
  if (request.nullify) {
    documents_.erase(request.document);
    views_.erase({client_id, request.document});
    // Other clients' shadows no longer relate to any revision of the (new)
    // document: their next merge goes through a diff.
    for (auto& [key, view] : views_) {
      if (key.second == request.document) {
        view->anchor = Anchor();
        view->backup_anchor = Anchor();
      }
    }
    batch.deleted_documents.push_back(request.document);
    batch.deleted_views.emplace_back(client_id, request.document);
    return reply;
  }
  bool created = false;
  Result<DocumentState*> doc_or = GetDocument(request.document, &created);
  Result<ViewState*> view_or = GetView(client_id, request.document);
  if (!doc_or.ok() || !view_or.ok()) {
    error("store", (!doc_or.ok() ? doc_or.status() : view_or.status()).ToString());
    return reply;
  }
  DocumentState& doc = **doc_or;
  ViewState& view = **view_or;
  ViewRecord& v = view.record;
  const int64_t acked = request.version;
  view.checksums =
      std::any_of(request.edits.begin(), request.edits.end(),
                  [](const Edit& e) { return e.checksum.has_value(); });

  // A request that brings no edit we have not applied and does not
  // acknowledge our latest reply is a retransmission after that reply was
  // lost, or a late copy of a request we answered. Both get the
  // unacknowledged edits as they stand and change nothing: rebuilding them
  // from the current document would leave our shadow unlike the one a
  // client that did receive our reply holds.
  // (A raw text older than our client version is a copy; one at it is a
  // copy if it repeats the text it set, in a request acknowledging an older
  // reply.)
  const bool brings_new = std::any_of(
      request.edits.begin(), request.edits.end(), [&](const Edit& e) {
        if (e.kind != Edit::Kind::kRaw) return e.version >= v.client_version;
        return e.version > v.client_version ||
               (e.version == v.client_version &&
                (acked == v.server_version || !v.backup_shadow.Equals(e.data)));
      });
  if (!request.edits.empty() && !brings_new && acked != v.server_version) {
    reply.version = v.client_version;
    AppendStack(v, reply, view.checksums);
    return reply;
  }
  // The full text of our last resync is not acknowledged yet (a client
  // that got it acknowledges exactly its version): this request was sent
  // before it arrived, a late copy or a retry after it was lost. It gets
  // the same resync again and changes nothing; a second resync would
  // renumber the client's edits again, and a client that did get the first
  // would see its next edit taken as already applied.
  if (!v.edit_stack.empty() && v.edit_stack.back().kind == 'R' &&
      v.edit_stack.back().version == v.server_version &&
      acked != v.server_version) {
    reply.version = v.client_version;
    AppendStack(v, reply, view.checksums);
    return reply;
  }
  const std::optional<ViewState::PushBase> push_base = std::move(view.push_base);
  view.push_base.reset();
  if (acked != v.server_version && push_base &&
      acked == push_base->server_version) {
    // The client ignored (or lost) our push: roll back to where it started.
    v.shadow = push_base->shadow;
    v.server_version = push_base->server_version;
    view.anchor = push_base->anchor;
    v.edit_stack.clear();
  } else if (acked != v.server_version && acked == v.backup_server_version) {
    // The client did not receive our last reply: roll back to the backup.
    v.shadow = v.backup_shadow;
    v.server_version = v.backup_server_version;
    view.anchor = view.backup_anchor;
    v.edit_stack.clear();
  }
  // Forget the edits the client acknowledged, and the conflict reports that
  // came with them.
  std::erase_if(v.edit_stack,
                [&](const StackedEdit& e) { return e.version <= acked; });
  std::erase_if(v.pending_conflicts,
                [&](const PendingConflict& c) { return c.sent_with < acked; });

  bool delta_ok = true;
  bool overwrite = false;
  bool document_changed = false;
  for (const Edit& edit : request.edits) {
    overwrite = edit.overwrite;
    if (edit.kind == Edit::Kind::kRaw) {
      Result<Text> raw = Text::FromUtf8(edit.data);
      if (!raw.ok() || raw->size16() > options_.max_document_units) {
        delta_ok = false;
        error(raw.ok() ? "too-large" : "bad-text",
              raw.ok() ? "text exceeds " +
                             std::to_string(options_.max_document_units) +
                             " units"
                       : raw.status().message());
        continue;
      }
      if (read_only && edit.overwrite && !(doc.text == *raw)) {
        delta_ok = false;
        error("read-only", "this client may not change documents");
        continue;
      }
      v.shadow = *raw;
      v.client_version = edit.version;
      v.server_version = acked;
      v.backup_shadow = v.shadow;
      v.backup_server_version = v.server_version;
      v.edit_stack.clear();
      view.anchor = Anchor();
      delta_ok = true;
      if (edit.overwrite && !(doc.text == *raw)) {
        doc.Record(internal::DiffChange(doc.text, *raw, options_.dmp), *raw,
                   options_.history_limit);
        document_changed = true;
      }
      continue;
    }
    if (acked != v.server_version) {
      delta_ok = false;
      error("version-mismatch", "acknowledged server version " +
                                    std::to_string(acked) + ", expected " +
                                    std::to_string(v.server_version));
      continue;
    }
    if (edit.version > v.client_version) {
      delta_ok = false;
      error("future-version", "client version " + std::to_string(edit.version) +
                                  " is ahead of " +
                                  std::to_string(v.client_version));
      continue;
    }
    if (edit.version < v.client_version) continue;  // Seen already.

    // Strict: the delta must fit the shadow exactly.
    Result<ChangeSet> change =
        edit.open_end ? ChangeSet::FromOpenDelta(edit.data, v.shadow.size16())
                      : ChangeSet::FromDelta(edit.data, v.shadow.size16());
    Result<Text> new_shadow =
        change.ok() ? change->Apply(v.shadow) : Result<Text>(change.status());
    ++v.client_version;  // As MobWrite: consumed even when it fails.
    if (!new_shadow.ok()) {
      delta_ok = false;
      error("bad-delta", new_shadow.status().message());
      continue;
    }
    if (edit.checksum.has_value() &&
        *edit.checksum != new_shadow->Crc32()) {
      delta_ok = false;
      error("checksum", "shadow checksum mismatch after client version " +
                            std::to_string(edit.version));
      continue;
    }
    if (!change->IsIdentity() && read_only) {
      // Refused whole, so that the resync below takes the client back to
      // the document's text.
      delta_ok = false;
      error("read-only",
            "this client may not change documents; edit of "
            "client version " +
                std::to_string(edit.version) + " refused");
      continue;
    }
    if (!change->IsIdentity()) {
      const int64_t growth = new_shadow->size16() - v.shadow.size16();
      if (doc.text.size16() + std::max<int64_t>(growth, 0) >
          options_.max_document_units) {
        delta_ok = false;
        error("too-large", "document would exceed " +
                               std::to_string(options_.max_document_units) +
                               " units; edit refused");
        continue;
      }
      const bool unchanged = doc.Unchanged(view.anchor);
      std::optional<ChangeSet> to_doc;
      if (!unchanged) to_doc = doc.ToCurrent(view.anchor);
      if (!unchanged && !to_doc) {
        ++stats_.diffed_merges;
        to_doc = internal::DiffChange(v.shadow, doc.text, options_.dmp);
      }
      if (edit.overwrite) {
        doc.Record(internal::DiffChange(doc.text, *new_shadow, options_.dmp),
                   *new_shadow, options_.history_limit);
        view.anchor = {ChangeSet::Identity(new_shadow->size16()), doc.revision};
      } else if (unchanged || to_doc->IsIdentity()) {
        // Nobody else changed the document since this shadow: the new
        // shadow is the new document (and shares its storage).
        stats_.exact_hunks += internal::CountHunks(*change);
        doc.Record(std::move(*change), *new_shadow, options_.history_limit);
        view.anchor = {ChangeSet::Identity(new_shadow->size16()), doc.revision};
      } else {
        internal::MergeResult merged =
            internal::Merge(v.shadow, *to_doc, *change, doc.text,
                            internal::Priority::kExisting, options_.dmp);
        stats_.exact_hunks += merged.exact_hunks;
        stats_.dropped_hunks += static_cast<int64_t>(merged.dropped_hunks.size());
        for (std::string& hunk : merged.dropped_hunks) {
          v.pending_conflicts.push_back(
              {edit.version, "overlap", std::move(hunk), 0});
        }
        if (!merged.applied.IsIdentity()) {
          doc.Record(std::move(merged.applied), std::move(merged.text),
                     options_.history_limit);
        }
        view.anchor = {std::move(merged.to_text), doc.revision};
      }
      document_changed = true;
    }
    v.shadow = std::move(*new_shadow);
    v.backup_shadow = v.shadow;
    v.backup_server_version = v.server_version;
    view.backup_anchor = view.anchor;
  }

  // The reply: acknowledge n, then send what the document has that the
  // shadow lacks.
  reply.version = v.client_version;
  if (created && !document_changed && !read_only) {
    // A document nobody has written yet takes this view's text (as a
    // recorded change, so every view's anchor stays exact).
    if (delta_ok && !v.shadow.empty()) {
      ChangeSet insert_all;
      insert_all.Insert(v.shadow.ToString());
      doc.Record(insert_all, v.shadow, options_.history_limit);
    }
    document_changed = true;
  }
  // As MobWrite's daemon, documents hold LF line breaks only: CR LF and
  // CR that came in are rewritten, as a change of their own that the reply
  // carries back. Only incoming text can bring a CR.
  const bool may_bring_cr = std::any_of(
      request.edits.begin(), request.edits.end(), [](const Edit& e) {
        return e.kind == Edit::Kind::kRaw
                   ? e.data.find('\r') != std::string::npos
                   : e.data.find("%0D") != std::string::npos ||
                         e.data.find("%0d") != std::string::npos;
      });
  if (document_changed && may_bring_cr) NormalizeLineBreaks(doc);
  if (delta_ok) {
    std::string delta;
    if (doc.Unchanged(view.anchor)) {
      delta = RetainAll(v.shadow.size16());
    } else {
      std::optional<ChangeSet> to_doc = doc.ToCurrent(view.anchor);
      if (!to_doc) {
        to_doc = internal::DiffChange(v.shadow, doc.text, options_.dmp);
      }
      delta = to_doc->ToDelta();
    }
    v.edit_stack.push_back({EditLetter(Edit::Kind::kDelta, overwrite),
                            v.server_version, std::move(delta)});
    ++v.server_version;
  } else {
    // MobWrite's resync: consume a client version and send the whole text.
    ++stats_.resyncs;
    ++v.client_version;
    reply.version = v.client_version;
    v.edit_stack.push_back({'R', v.server_version, doc.text.ToString()});
  }
  v.shadow = doc.text;
  view.anchor = {ChangeSet::Identity(doc.text.size16()), doc.revision};
  for (PendingConflict& c : v.pending_conflicts) {
    c.sent_with = v.edit_stack.back().version;
  }
  AppendStack(v, reply, view.checksums);
  if (document_changed) doc.Save(batch);
  batch.views.push_back(SavedView(view));
  return reply;
}

Result<Server::UpstreamLink*> Server::FindLink(const std::string& link_id,
                                               const std::string& document) {
  auto it = upstream_.find({link_id, document});
  if (it != upstream_.end()) return it->second.get();
  Result<std::optional<LinkRecord>> loaded = store_.LoadLink(link_id, document);
  if (!loaded.ok()) return loaded.status().WithContext("store");
  if (!loaded->has_value()) return nullptr;
  const LinkRecord& record = **loaded;
  Result<ClientDocument> client =
      ClientDocument::Restore(record.client, LinkOptions(options_));
  if (!client.ok()) {
    return Status::Corruption("store: upstream link '" + link_id +
                              "' for document '" + document +
                              "': " + client.status().message());
  }
  auto link = std::make_unique<UpstreamLink>(std::move(*client));
  link->anchor = Anchor::FromRecord(record.anchor, link->client.text());
  UpstreamLink* raw = link.get();
  upstream_[{link_id, document}] = std::move(link);
  return raw;
}

LinkRecord Server::SavedLink(const std::string& link_id,
                             const UpstreamLink& link) {
  return {link_id, link.client.SaveState(), link.anchor.ToRecord()};
}

Result<Message> Server::MakeUpstreamRequest(const std::string& link_id,
                                            const std::string& document) {
  bool created = false;
  Result<DocumentState*> doc_or = GetDocument(document, &created);
  if (!doc_or.ok()) return doc_or.status().WithContext("store");
  DocumentState& doc = **doc_or;
  Result<UpstreamLink*> found = FindLink(link_id, document);
  if (!found.ok()) return found.status();
  UpstreamLink* link = *found;
  if (link == nullptr) {
    // Never linked: join with this server's text (the upstream answers
    // with its own if it has the document).
    auto fresh = std::make_unique<UpstreamLink>(
        ClientDocument(document, LinkOptions(options_)));
    fresh->client.SetText(doc.text);
    link = fresh.get();
    upstream_[{link_id, document}] = std::move(fresh);
  } else {
    // What this server's clients wrote since the link last looked, as an
    // exact local edit of the link's text.
    std::optional<ChangeSet> change = doc.ToCurrent(link->anchor);
    if (!change) {
      ++stats_.diffed_merges;
      change = internal::DiffChange(link->client.text(), doc.text, options_.dmp);
    }
    if (!change->IsIdentity()) {
      if (Status s = link->client.Apply(*change); !s.ok()) return s;
    }
  }
  link->anchor = {ChangeSet::Identity(doc.text.size16()), doc.revision};
  Message request;
  request.documents.push_back(link->client.MakeRequest());
  request.documents.back().client_id = link_id;
  // The edits and n the request carries are durable before it leaves: a
  // restarted server that numbered a new edit at a version the upstream
  // already applied would see it skipped there as a duplicate.
  WriteBatch batch;
  batch.links.push_back(SavedLink(link_id, *link));
  if (Status s = store_.Commit(std::move(batch)); !s.ok()) {
    // Nothing is sent; the link is reloaded as stored on next use.
    upstream_.erase({link_id, document});
    return s.WithContext("store");
  }
  return request;
}

Status Server::HandleUpstreamReply(const std::string& link_id,
                                   const DocumentBlock& reply) {
  changed_documents_.clear();
  Result<UpstreamLink*> found = FindLink(link_id, reply.document);
  if (!found.ok()) return found.status();
  if (*found == nullptr) {
    return Status::NotFound("no upstream link '" + link_id +
                            "' for document '" + reply.document + "'");
  }
  UpstreamLink& link = **found;
  bool created = false;
  Result<DocumentState*> doc_or = GetDocument(reply.document, &created);
  if (!doc_or.ok()) return doc_or.status().WithContext("store");
  DocumentState& doc = **doc_or;
  const UpstreamLink before = link;
  Result<ReplyEffects> effects = link.client.HandleReply(reply);
  if (!effects.ok()) return effects.status();
  stats_.dropped_hunks +=
      static_cast<int64_t>(effects->dropped_hunks.size());
  ChangeSet incoming = ChangeSet::Identity(before.client.text().size16());
  for (const ChangeSet& change : effects->text_changes) {
    incoming = ChangeSet::Compose(incoming, change);
  }
  WriteBatch batch;
  const bool document_changed = !incoming.IsIdentity();
  if (document_changed) {
    std::optional<ChangeSet> to_doc = doc.ToCurrent(link.anchor);
    if (!to_doc) {
      ++stats_.diffed_merges;
      to_doc =
          internal::DiffChange(before.client.text(), doc.text, options_.dmp);
    }
    if (to_doc->IsIdentity()) {
      stats_.exact_hunks += internal::CountHunks(incoming);
      doc.Record(incoming, link.client.text(), options_.history_limit);
      link.anchor = {ChangeSet::Identity(doc.text.size16()), doc.revision};
    } else {
      internal::MergeResult merged =
          internal::Merge(before.client.text(), *to_doc, incoming, doc.text,
                          internal::Priority::kIncoming, options_.dmp);
      stats_.exact_hunks += merged.exact_hunks;
      stats_.dropped_hunks += static_cast<int64_t>(merged.dropped_hunks.size());
      if (!merged.applied.IsIdentity()) {
        doc.Record(std::move(merged.applied), std::move(merged.text),
                   options_.history_limit);
      }
      link.anchor = {std::move(merged.to_text), doc.revision};
    }
    doc.Save(batch);
  }
  // The link with the document it was merged into, in one batch: a restart
  // never finds the document ahead of the link's shadow or behind it.
  batch.links.push_back(SavedLink(link_id, link));
  if (Status s = store_.Commit(std::move(batch)); !s.ok()) {
    // Nothing is durable: the document is reloaded as stored, and the link
    // is as before the reply, which the upstream then takes for lost.
    if (document_changed) documents_.erase(reply.document);
    link = before;
    return s.WithContext("store");
  }
  if (document_changed) changed_documents_.push_back(reply.document);
  return Status::Ok();
}

bool Server::UpstreamInSync(const std::string& link_id,
                            const std::string& document) const {
  auto it = upstream_.find({link_id, document});
  if (it == upstream_.end()) return false;
  const UpstreamLink& link = *it->second;
  auto doc = documents_.find(document);
  return link.client.in_sync() && link.client.pending_edits() == 0 &&
         doc != documents_.end() && link.client.text() == doc->second->text;
}

std::optional<Text> Server::DocumentText(const std::string& document) {
  auto it = documents_.find(document);
  if (it != documents_.end()) return it->second->text;
  Result<std::optional<DocumentRecord>> loaded = store_.LoadDocument(document);
  if (!loaded.ok() || !loaded->has_value()) return std::nullopt;
  return (*loaded)->text;
}


std::vector<std::string> Server::ClientsOf(const std::string& document) const {
  std::vector<std::string> clients;
  for (const auto& [key, view] : views_) {
    if (key.second == document) clients.push_back(key.first);
  }
  return clients;
}

Status Server::CheckInvariants() const {
  for (const auto& [name, doc] : documents_) {
    if (doc->revision - doc->history_base !=
        static_cast<int64_t>(doc->history.size())) {
      return Status::Internal("document " + name + ": history is not contiguous");
    }
  }
  for (const auto& [key, link] : upstream_) {
    const std::string where = "upstream link " + key.first + "/" + key.second;
    if (Status s = link->client.CheckInvariants(); !s.ok()) {
      return s.WithContext(where);
    }
    if (link->anchor.revision >= 0 &&
        link->anchor.to_document.base_length() != link->client.text().size16()) {
      return Status::Internal(where + ": anchor does not start at the text");
    }
    auto doc = documents_.find(key.second);
    if (doc != documents_.end() &&
        link->anchor.revision == doc->second->revision &&
        link->anchor.to_document.target_length() !=
            doc->second->text.size16()) {
      return Status::Internal(where + ": anchor does not end at the document");
    }
  }
  for (const auto& [key, view] : views_) {
    const ViewRecord& v = view->record;
    const std::string where = "view " + key.first + "/" + key.second;
    if (view->anchor.revision >= 0 &&
        view->anchor.to_document.base_length() != v.shadow.size16()) {
      return Status::Internal(where + ": anchor does not start at the shadow");
    }
    if (v.backup_server_version > v.server_version) {
      return Status::Internal(where + ": backup is newer than the shadow");
    }
    // Versions increase; a full text (R) does not consume one, so the edit
    // after it may carry the same version.
    for (size_t i = 1; i < v.edit_stack.size(); ++i) {
      const StackedEdit& prev = v.edit_stack[i - 1];
      const StackedEdit& next = v.edit_stack[i];
      if (next.version < prev.version ||
          (next.version == prev.version && prev.kind != 'R' && next.kind != 'R')) {
        return Status::Internal(where + ": edit stack out of order");
      }
    }
  }
  return Status::Ok();
}

}  // namespace diffsync::engine
