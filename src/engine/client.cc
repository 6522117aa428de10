#include "diffsync/engine/client.h"

#include <algorithm>
#include <iterator>

#include "dmp/diff_core.h"
#include "dmp/utf.h"
#include "engine/merge.h"

namespace diffsync::engine {

namespace {

Status BadState(std::string_view field, std::string_view problem) {
  return Status::InvalidArgument("client state: " + std::string(field) + ": " +
                                 std::string(problem));
}

Status CheckVersion(std::string_view field, int64_t version) {
  if (version >= 0 && version <= kMaxWireInteger) return Status::Ok();
  return BadState(field, std::to_string(version) + " is outside [0, " +
                             std::to_string(kMaxWireInteger) + "]");
}

Result<Text> StateText(std::string_view field, const std::string& utf8) {
  Status valid = dmp::internal::ValidateUtf8(utf8, field);
  if (!valid.ok()) return valid.WithContext("client state");
  return Text::FromValidUtf8(utf8);
}

Status CheckEditStack(const ClientState& state) {
  for (size_t i = 0; i < state.edit_stack.size(); ++i) {
    const Edit& edit = state.edit_stack[i];
    const std::string field = "edit_stack[" + std::to_string(i) + "]";
    if (Status s = CheckVersion(field + ".version", edit.version); !s.ok()) {
      return s;
    }
    // A raw edit says "after this, n is version" (MakeRequest numbers it
    // client_version); a delta applies at n = version and the next one
    // takes client_version.
    const bool raw = edit.kind == Edit::Kind::kRaw;
    if (raw ? edit.version > state.client_version
            : edit.version >= state.client_version) {
      return BadState(field,
                      std::string(raw ? "raw" : "delta") + " edit version " +
                          std::to_string(edit.version) + " is not " +
                          (raw ? "at most" : "below") + " client_version " +
                          std::to_string(state.client_version));
    }
    if (i > 0 && edit.version <= state.edit_stack[i - 1].version) {
      return BadState(field,
                      "version " + std::to_string(edit.version) +
                          " does not follow version " +
                          std::to_string(state.edit_stack[i - 1].version));
    }
    // A delta goes on the wire as it is: a line break would end its line.
    if (size_t at = edit.data.find_first_of("\r\n");
        edit.kind == Edit::Kind::kDelta && at != std::string::npos) {
      return BadState(
          field, "line break at byte " + std::to_string(at) + " of the delta");
    }
    // The delta's base is a shadow long gone, so only its form can be
    // checked; the server checks it against its copy of that shadow.
    Status data =
        edit.kind == Edit::Kind::kDelta
            ? dmp::internal::ForEachDeltaToken(
                  edit.data,
                  [](dmp::internal::DeltaToken&) { return Status::Ok(); })
            : dmp::internal::ValidateUtf8(edit.data, "raw text");
    if (!data.ok()) return data.WithContext("client state: " + field);
  }
  return Status::Ok();
}

}  // namespace

ClientDocument::ClientDocument(std::string document, ClientOptions options)
    : document_(std::move(document)), options_(std::move(options)) {}

ClientState ClientDocument::SaveState() const {
  ClientState state;
  state.document = document_;
  state.text = text_.ToString();
  state.shadow = shadow_.SameStorage(text_) ? state.text : shadow_.ToString();
  state.confirmed =
      confirmed_.SameStorage(shadow_) ? state.shadow : confirmed_.ToString();
  state.client_version = client_version_;
  state.server_version = server_version_;
  state.delta_ok = delta_ok_;
  state.joined = joined_;
  state.rebase = rebase_;
  if (local_known_) state.local_delta = local_.ToDelta();
  state.edit_stack = edit_stack_;
  return state;
}

Result<ClientDocument> ClientDocument::Restore(const ClientState& state,
                                               ClientOptions options) {
  if (state.document.empty()) return BadState("document", "empty name");
  if (Status s = dmp::internal::ValidateUtf8(state.document, "document");
      !s.ok()) {
    return s.WithContext("client state");
  }
  ClientDocument doc(state.document, std::move(options));
  Result<Text> shadow = StateText("shadow", state.shadow);
  if (!shadow.ok()) return shadow.status();
  doc.shadow_ = std::move(*shadow);
  // Equal texts share storage again, as they did before the save: an idle
  // client costs one copy of the document, not three.
  if (state.text == state.shadow) {
    doc.text_ = doc.shadow_;
  } else {
    Result<Text> text = StateText("text", state.text);
    if (!text.ok()) return text.status();
    doc.text_ = std::move(*text);
  }
  if (state.confirmed == state.shadow) {
    doc.confirmed_ = doc.shadow_;
  } else {
    Result<Text> confirmed = StateText("confirmed", state.confirmed);
    if (!confirmed.ok()) return confirmed.status();
    doc.confirmed_ = std::move(*confirmed);
  }
  if (Status s = CheckVersion("client_version", state.client_version);
      !s.ok()) {
    return s;
  }
  if (Status s = CheckVersion("server_version", state.server_version);
      !s.ok()) {
    return s;
  }
  if (Status s = CheckEditStack(state); !s.ok()) return s;
  doc.local_known_ = state.local_delta.has_value();
  if (doc.local_known_) {
    Result<ChangeSet> local =
        ChangeSet::FromDelta(*state.local_delta, doc.shadow_.size16());
    if (!local.ok()) {
      return local.status().WithContext("client state: local_delta");
    }
    Result<Text> rebuilt = local->Apply(doc.shadow_);
    if (!rebuilt.ok()) {
      return rebuilt.status().WithContext("client state: local_delta");
    }
    if (!(*rebuilt == doc.text_)) {
      return BadState("local_delta", "does not turn the shadow into the text");
    }
    doc.local_ = std::move(*local);
  }
  doc.client_version_ = state.client_version;
  doc.server_version_ = state.server_version;
  doc.delta_ok_ = state.delta_ok;
  doc.joined_ = state.joined;
  doc.rebase_ = state.rebase;
  doc.edit_stack_ = state.edit_stack;
  return doc;
}

Status ClientDocument::Replace(int64_t pos, int64_t length,
                               std::string_view text) {
  if (pos < 0 || length < 0 || pos + length > text_.size16()) {
    return Status::OutOfRange("replace [" + std::to_string(pos) + ", " +
                              std::to_string(pos + length) + ") of a " +
                              std::to_string(text_.size16()) + "-unit text");
  }
  ChangeSet change;
  change.Retain(pos);
  change.Delete(length);
  change.Insert(text);
  change.Retain(text_.size16() - pos - length);
  return Apply(change);
}

Status ClientDocument::Apply(const ChangeSet& change) {
  Result<Text> edited = change.Apply(text_);
  if (!edited.ok()) return edited.status();
  text_ = std::move(*edited);
  // Most edits follow a sync, after which the local change is the
  // identity: composing onto it would only rebuild `change`.
  if (local_known_) {
    local_ = local_.IsIdentity() ? change : ChangeSet::Compose(local_, change);
  }
  return Status::Ok();
}

void ClientDocument::SetText(Text text) {
  text_ = std::move(text);
  local_known_ = false;
}

const ChangeSet& ClientDocument::LocalChange() {
  if (!local_known_) {
    local_ = internal::DiffChange(shadow_, text_, options_.dmp);
    local_known_ = true;
  }
  return local_;
}

Edit ClientDocument::RawEdit(const Text& text) {
  Edit edit;
  edit.kind = Edit::Kind::kRaw;
  edit.version = ++client_version_;
  edit.data = text.ToString();
  return edit;
}

DocumentBlock ClientDocument::MakeRequest() {
  if (delta_ok_) {
    const ChangeSet& change = LocalChange();
    const bool changed = !change.IsIdentity();
    if (changed) shadow_ = text_;
    // An empty delta is still sent when nothing is pending: it carries our
    // acknowledgement and asks for the server's changes.
    if (changed || edit_stack_.empty()) {
      Edit edit;
      edit.kind = Edit::Kind::kDelta;
      edit.overwrite = !options_.merge;
      edit.version = client_version_++;
      edit.data = change.ToDelta();
      if (options_.send_checksums) edit.checksum = shadow_.Crc32();
      edit_stack_.push_back(std::move(edit));
    }
    local_ = ChangeSet::Identity(text_.size16());
    local_known_ = true;
  } else if (!joined_) {
    // The first request (MobWrite's join): our whole text. A new document
    // takes it; an existing one wins, as there is no common base to merge.
    shadow_ = text_;
    local_ = ChangeSet::Identity(text_.size16());
    local_known_ = true;
    edit_stack_.clear();
    edit_stack_.push_back(RawEdit(text_));
  } else {
    // Out of step with the server: tell it the last shadow we both
    // confirmed, and keep everything typed since as a local change, merged
    // onto its answer. Sending the live text instead would make the
    // server's answer revert what the user typed.
    shadow_ = confirmed_;
    local_known_ = false;
    rebase_ = true;
    edit_stack_.clear();
    edit_stack_.push_back(RawEdit(confirmed_));
  }
  DocumentBlock block;
  block.document = document_;
  block.version = server_version_;
  block.edits = edit_stack_;
  return block;
}

Result<ReplyEffects> ClientDocument::HandleReply(const DocumentBlock& reply) {
  if (reply.document != document_) {
    return Status::InvalidArgument("reply for document '" + reply.document +
                                   "' given to '" + document_ + "'");
  }
  ReplyEffects effects;
  // A push that counts fewer of our edits than we have numbered was made
  // before the server saw our latest request, which may still arrive (a
  // timed-out request is not a lost one). It is ignored, as one that
  // crosses our request: the request acknowledges the version the push
  // started from, so the server rolls the push back (or, if a late copy got
  // there first and was answered, rolls back to its backup), and the reply
  // to the stack we resend carries the same news. Taking it instead can
  // only go wrong: its R, or its F below our count, would number our next
  // edit at a version we already used, and the server, which may have
  // applied the first edit of that number, would skip the new one as a
  // duplicate; its deltas were made against a shadow without our edits.
  // Ignoring a push is always safe under loss, duplication and reordering,
  // as pushes are news the next reply repeats, whereas no count of ours
  // could tell a stale R from a fresh one. A reply is taken as before: it
  // answers our latest request, whose whole stack the server has seen.
  const bool push = std::any_of(
      reply.metadata.begin(), reply.metadata.end(),
      [](const Metadata& m) { return m.key == "push"; });
  if (push && reply.version < client_version_) {
    effects.push_ignored = true;
    return effects;
  }
  effects.errors = reply.errors;
  effects.conflicts = reply.conflicts;
  std::erase_if(edit_stack_,
                [&](const Edit& e) { return e.version <= reply.version; });
  const auto is_raw = [](const Edit& e) { return e.kind == Edit::Kind::kRaw; };
  const bool has_raw =
      std::any_of(reply.edits.begin(), reply.edits.end(), is_raw);
  if (!has_raw && std::any_of(edit_stack_.begin(), edit_stack_.end(), is_raw)) {
    // Our whole text (a join or a resync) is not acknowledged and the reply
    // brings no text of its own: it answers a request from before ours (a
    // server always answers a text with its version or with an R). We stay
    // out of step and send the text again; taking the reply would number a
    // delta at our text's version.
    return effects;
  }
  delta_ok_ = true;
  auto out_of_step = [&] {
    delta_ok_ = false;
    effects.resync = true;
  };
  if (!has_raw && reply.version > client_version_) {
    // The server counts edits we never made: its view is of an earlier
    // client under our id (e.g. one whose state was lost). Nothing in this
    // reply is about our state; resync, numbering our edits past its count
    // so that it takes them as new.
    client_version_ = reply.version;
    out_of_step();
    return effects;
  }
  joined_ = true;
  for (const Edit& edit : reply.edits) {
    if (edit.kind == Edit::Kind::kRaw) {
      Result<Text> server_text = Text::FromUtf8(edit.data);
      if (!server_text.ok()) {
        out_of_step();
        continue;
      }
      // A full resync. Rather than dropping what the user typed since the
      // server last confirmed our shadow (unacknowledged edits included),
      // rebase it onto the server's text; edits the server already has are
      // recognised and not applied twice. Unless the server refused them
      // (a read-only client): then its text is ours, or they would be sent
      // and refused again forever.
      const bool refused = std::any_of(
          reply.errors.begin(), reply.errors.end(),
          [](const Error& e) { return e.code == "read-only"; });
      internal::MergeResult merged = internal::Merge(
          confirmed_, internal::DiffChange(confirmed_, *server_text, options_.dmp),
          internal::DiffChange(confirmed_, refused ? confirmed_ : text_,
                               options_.dmp),
          *server_text,
          internal::Priority::kExisting, options_.dmp, /*skip_repeats=*/true);
      effects.text_changes.push_back(
          internal::DiffChange(text_, merged.text, options_.dmp));
      std::move(merged.dropped_hunks.begin(), merged.dropped_hunks.end(),
                std::back_inserter(effects.dropped_hunks));
      text_ = std::move(merged.text);
      local_ = std::move(merged.applied);
      local_known_ = true;
      shadow_ = std::move(*server_text);
      confirmed_ = shadow_;
      local_known_ = true;
      client_version_ = reply.version;
      server_version_ = edit.version;
      edit_stack_.clear();
      continue;
    }
    if (reply.version != client_version_ || edit.version > server_version_) {
      out_of_step();
      continue;
    }
    if (edit.version < server_version_) continue;  // Seen already.
    if (edit.open_end && edit.data.empty()) {
      // The usual reply: nothing new, which fits any shadow.
      if (edit.checksum.has_value() && *edit.checksum != shadow_.Crc32()) {
        out_of_step();
        continue;
      }
      ++server_version_;
      continue;
    }
    Result<ChangeSet> change =
        edit.open_end ? ChangeSet::FromOpenDelta(edit.data, shadow_.size16())
                      : ChangeSet::FromDelta(edit.data, shadow_.size16());
    Result<Text> new_shadow =
        change.ok() ? change->Apply(shadow_) : Result<Text>(change.status());
    if (!new_shadow.ok() ||
        (edit.checksum.has_value() && *edit.checksum != new_shadow->Crc32())) {
      out_of_step();
      continue;
    }
    ++server_version_;
    if (change->IsIdentity()) continue;
    if (edit.overwrite) {
      effects.text_changes.push_back(
          internal::DiffChange(text_, *new_shadow, options_.dmp));
      text_ = *new_shadow;
      local_ = ChangeSet::Identity(text_.size16());
      local_known_ = true;
    } else if (LocalChange().IsIdentity()) {
      // The user typed nothing since the shadow: the new shadow is the text.
      effects.text_changes.push_back(*change);
      text_ = *new_shadow;
      local_ = ChangeSet::Identity(text_.size16());
    } else {
      // After a resync our local change may repeat edits the server
      // already applied (their acknowledgement was lost): apply those once.
      internal::MergeResult merged =
          internal::Merge(shadow_, LocalChange(), *change, text_,
                          internal::Priority::kIncoming, options_.dmp,
                          /*skip_repeats=*/rebase_);
      std::move(merged.dropped_hunks.begin(), merged.dropped_hunks.end(),
                std::back_inserter(effects.dropped_hunks));
      effects.text_changes.push_back(std::move(merged.applied));
      text_ = std::move(merged.text);
      local_ = std::move(merged.to_text);
    }
    shadow_ = std::move(*new_shadow);
  }
  if (delta_ok_) rebase_ = false;
  if (edit_stack_.empty()) confirmed_ = shadow_;
  // In sync, text and shadow are the same text: let them share storage, so
  // an idle client costs one copy of the document, not two.
  if (local_known_ && local_.IsIdentity() && !text_.SameStorage(shadow_)) {
    text_ = shadow_;
  }
  return effects;
}

Status ClientDocument::CheckInvariants() const {
  if (local_known_) {
    if (local_.base_length() != shadow_.size16() ||
        local_.target_length() != text_.size16()) {
      return Status::Internal(document_ + ": local change does not join shadow and text");
    }
    Result<Text> rebuilt = local_.Apply(shadow_);
    if (!rebuilt.ok() || !(*rebuilt == text_)) {
      return Status::Internal(document_ + ": shadow + local change != text");
    }
  }
  for (size_t i = 1; i < edit_stack_.size(); ++i) {
    if (edit_stack_[i].version <= edit_stack_[i - 1].version) {
      return Status::Internal(document_ + ": edit stack out of order");
    }
  }
  return Status::Ok();
}

}  // namespace diffsync::engine
