// ClientDocument: the client side of Differential Synchronization for one
// document, as a transport-free state machine (Fraser, DocEng 2009, §3–4,
// with MobWrite's wire semantics).
//
// The application edits `text()` (with Replace, which doubles as an edit
// hint so no diff is needed, or with SetText); MakeRequest() runs the client
// half of the cycle (diff shadow→text, push onto the edit stack, send the
// whole unacknowledged stack); HandleReply() applies the server's edits:
// strictly to the shadow, and to the text by operational transform through
// what the user typed meanwhile, so both are kept; where the user replaced
// text the server's edit also replaced, the server's edit wins (it reached
// the server first) and the user's hunk is reported. Every change applied to
// the text is returned so editors can map cursors (ChangeSet::MapPosition).
//
// SaveState() and Restore() turn a client into plain values and back, so a
// client that stops (a process that exits, a device that reboots) resumes
// exactly where it was: same next request, same answer to every reply.
//
// Thread safety: not thread-safe.
//
// Example:
//   ClientDocument doc("notes");
//   doc.Replace(0, 0, "Hello");
//   Message request;
//   request.documents.push_back(doc.MakeRequest());
//   request.documents.back().client_id = "alice";
//   ... send EncodeMessage(request), decode the reply into `reply` ...
//   Result<ReplyEffects> fx = doc.HandleReply(reply.documents[0]);
//   ClientState saved = doc.SaveState();           // ... process restarts ...
//   Result<ClientDocument> again = ClientDocument::Restore(saved);
#ifndef DIFFSYNC_ENGINE_CLIENT_H_
#define DIFFSYNC_ENGINE_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "diffsync/engine/change_set.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/text.h"
#include "diffsync/status.h"

namespace diffsync::engine {

struct ClientOptions {
  dmp::Settings dmp;
  // false: last writer wins (MobWrite's D/R mode, for fields where merging
  // makes no sense).
  bool merge = true;
  // Send our shadow checksum extension (h:) with each edit, so the server
  // detects a drifted shadow (and its replies carry one for us to check).
  // Text caches CRCs in its nodes, so a checksum costs O(log n + edit), not
  // a pass over the document.
  bool send_checksums = true;
};

// What a reply did to the client's text.
struct ReplyEffects {
  // Each change applied to text(), in order; compose them to map cursors.
  std::vector<ChangeSet> text_changes;
  // The user's hunks that lost to a server edit replacing the same text (or,
  // after a full resync, to the server's text), as DMP patch text in the
  // coordinates of the shadow: the user should be told.
  std::vector<std::string> dropped_hunks;
  // Conflicts the server reported for our edits (our hunks it dropped).
  std::vector<Conflict> conflicts;
  // Errors the server reported (x: lines).
  std::vector<Error> errors;
  // True if the shadows were found out of step; the next request resyncs.
  bool resync = false;
  // True if the block was a push (m:push) made before the server saw edits
  // this client has sent since: nothing of it was applied, and the next
  // request (which resends those edits) gets the same news.
  bool push_ignored = false;
};

// Everything a ClientDocument holds, as plain values (texts in UTF-8).
// ClientOptions are not part of it: they are the application's settings,
// given again to Restore.
struct ClientState {
  std::string document;
  std::string text;
  std::string shadow;
  // The shadow as of the last reply that acknowledged all our edits.
  std::string confirmed;
  int64_t client_version = 0;  // n
  int64_t server_version = 0;  // m
  bool delta_ok = false;
  bool joined = false;
  bool rebase = false;
  // The exact change from shadow to text as a DMP delta (against the
  // shadow), or nullopt when the client knows only that the text was
  // replaced (SetText): the next request diffs the two.
  std::optional<std::string> local_delta;
  // The unacknowledged edits, oldest first.
  std::vector<Edit> edit_stack;

  friend bool operator==(const ClientState&, const ClientState&) = default;
};

class ClientDocument {
 public:
  explicit ClientDocument(std::string document, ClientOptions options = {});

  // The whole state; Restore(SaveState()) behaves exactly as this client.
  ClientState SaveState() const;
  // A client in `state`, after checking it is one a client can be in:
  // non-empty UTF-8 document name, UTF-8 texts, versions in
  // [0, kMaxWireInteger], an edit stack in increasing version order (a
  // delta's version below client_version, a raw text's at most
  // client_version, as MakeRequest numbers them) holding well-formed deltas
  // without line breaks and UTF-8 raw texts, and a local delta that turns
  // the shadow into the text. Errors (kInvalidArgument) name the field, e.g.
  // "client state: edit_stack[1]: delta edit version 7 is not below
  // client_version 5".
  static Result<ClientDocument> Restore(const ClientState& state,
                                        ClientOptions options = {});

  const std::string& document() const { return document_; }
  const Text& text() const { return text_; }
  const Text& shadow() const { return shadow_; }
  int64_t client_version() const { return client_version_; }
  int64_t server_version() const { return server_version_; }
  size_t pending_edits() const { return edit_stack_.size(); }
  // True once a reply confirmed both shadows agree (until a mismatch).
  bool in_sync() const { return delta_ok_; }

  // Local edit at [pos, pos + length) (UTF-16 units) replaced by `text`.
  // Errors: out of range, or a boundary inside a surrogate pair.
  Status Replace(int64_t pos, int64_t length, std::string_view text);
  // A local edit given as a change of the whole text (base_length() ==
  // text().size16()); an edit hint, as Replace. Errors: a change of another
  // length, or a boundary inside a surrogate pair.
  Status Apply(const ChangeSet& change);
  // Replaces the whole text (no hint: the next request diffs it).
  void SetText(Text text);

  // Step 1: the document block to send (F line + unacknowledged edits).
  DocumentBlock MakeRequest();
  // Step 5: applies the server's reply block for this document.
  Result<ReplyEffects> HandleReply(const DocumentBlock& reply);

  Status CheckInvariants() const;

 private:
  // The exact change from shadow_ to text_ (computing it if only SetText
  // told us about the change).
  const ChangeSet& LocalChange();
  // A raw-text edit with the next client version.
  Edit RawEdit(const Text& text);

  std::string document_;
  ClientOptions options_;
  Text text_;
  Text shadow_;
  int64_t client_version_ = 0;  // n
  int64_t server_version_ = 0;  // m
  bool delta_ok_ = false;  // As MobWrite: the first request sends raw text.
  // shadow_ -> text_, valid while local_known_.
  ChangeSet local_;
  bool local_known_ = true;
  // The shadow as of the last reply that acknowledged all our edits: the
  // base from which a full resync rebases what the server may have lost.
  Text confirmed_;
  // The last request resynced: the local change may repeat edits the
  // server already has.
  bool rebase_ = false;
  // A reply about our state has come (the join is done).
  bool joined_ = false;
  std::vector<Edit> edit_stack_;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_CLIENT_H_
