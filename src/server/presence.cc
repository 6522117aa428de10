#include "server/presence.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "diffsync/engine/change_set.h"
#include "engine/merge.h"

namespace diffsync::server {
namespace {

// "ANCHOR:HEAD" of an m:cursor value.
std::optional<std::pair<int64_t, int64_t>> ParseCursor(std::string_view value) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view digits) -> std::optional<int64_t> {
    int64_t n = 0;
    if (digits.empty() || digits.size() > 16) return std::nullopt;
    auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n < 0) {
      return std::nullopt;
    }
    return n;
  };
  auto anchor = number(value.substr(0, colon));
  auto head = number(value.substr(colon + 1));
  if (!anchor || !head) return std::nullopt;
  return std::make_pair(*anchor, *head);
}

// The length of a delta's base text: its `=` and `-` counts.
std::optional<int64_t> DeltaBaseLength(std::string_view delta) {
  int64_t length = 0;
  size_t at = 0;
  while (at <= delta.size()) {
    size_t tab = delta.find('\t', at);
    if (tab == std::string_view::npos) tab = delta.size();
    std::string_view token = delta.substr(at, tab - at);
    if (!token.empty() && (token[0] == '=' || token[0] == '-')) {
      int64_t n = 0;
      auto [end, ec] =
          std::from_chars(token.data() + 1, token.data() + token.size(), n);
      if (ec != std::errc() || end != token.data() + token.size()) {
        return std::nullopt;
      }
      length += n;
    }
    at = tab + 1;
  }
  return length;
}

const engine::Metadata* FindMetadata(const engine::DocumentBlock& block,
                                     std::string_view key) {
  for (const engine::Metadata& m : block.metadata) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

}  // namespace

bool Presence::Refresh(const std::string& name, Document& doc) {
  const int64_t now = clock_.NowMillis();
  const size_t before = doc.peers.size();
  std::erase_if(doc.peers, [&](const auto& entry) {
    return entry.second.session == nullptr &&
           now - entry.second.last_seen_millis > kPollerExpiryMillis;
  });
  std::optional<engine::Text> current = server_.DocumentText(name);
  if (current && !current->SameStorage(doc.basis)) {
    if (!(*current == doc.basis)) {
      const engine::ChangeSet change =
          engine::internal::DiffChange(doc.basis, *current, dmp::Settings{});
      for (auto& [id, peer] : doc.peers) {
        peer.anchor =
            change.MapPosition(std::min(peer.anchor, doc.basis.size16()));
        peer.head = change.MapPosition(std::min(peer.head, doc.basis.size16()));
      }
    }
    doc.basis = std::move(*current);
  }
  return doc.peers.size() != before;
}

void Presence::Annotate(const std::string& client_id, Document& doc,
                        engine::DocumentBlock& block) {
  auto self = doc.peers.find(client_id);
  if (self == doc.peers.end()) return;
  self->second.last_version = block.version;
  for (const auto& [id, peer] : doc.peers) {
    if (id == client_id) continue;
    block.metadata.push_back({"peer-cursor", std::to_string(peer.anchor) + ":" +
                                                 std::to_string(peer.head) +
                                                 ":" + id});
  }
}

std::vector<std::string> Presence::OnReply(const engine::Message& request,
                                           engine::Message& reply,
                                           const Session* session) {
  std::set<std::string> changed;
  const bool paired = request.documents.size() == reply.documents.size();
  for (size_t i = 0; i < request.documents.size(); ++i) {
    const engine::DocumentBlock& asked = request.documents[i];
    if (asked.client_id.empty() || asked.nullify) continue;
    const engine::Metadata* cursor = FindMetadata(asked, "cursor");
    auto known = documents_.find(asked.document);
    if (cursor == nullptr && known == documents_.end()) continue;
    Document& doc = documents_[asked.document];
    if (Refresh(asked.document, doc)) changed.insert(asked.document);
    auto peer = doc.peers.find(asked.client_id);
    if (cursor == nullptr && peer == doc.peers.end()) continue;
    engine::DocumentBlock* answer =
        paired && reply.documents[i].document == asked.document
            ? &reply.documents[i]
            : nullptr;
    const bool joined = peer == doc.peers.end();
    Peer& p = doc.peers[asked.client_id];
    p.session = session;
    p.last_seen_millis = clock_.NowMillis();
    if (joined) changed.insert(asked.document);
    if (cursor != nullptr && answer != nullptr) {
      if (auto position = ParseCursor(cursor->value)) {
        // In the client's shadow after its edits; the reply's new edits
        // turn that shadow into the document.
        int64_t anchor = position->first;
        int64_t head = position->second;
        for (const engine::Edit& edit : answer->edits) {
          if (edit.kind != engine::Edit::Kind::kDelta ||
              edit.version < asked.version) {
            continue;
          }
          std::optional<int64_t> base = DeltaBaseLength(edit.data);
          if (!base) continue;
          Result<engine::ChangeSet> change =
              engine::ChangeSet::FromDelta(edit.data, *base);
          if (!change.ok()) continue;
          // Others' text inserted at the caret goes after it.
          anchor = change->MapPosition(std::min(anchor, *base), false);
          head = change->MapPosition(std::min(head, *base), false);
        }
        anchor = std::min(anchor, doc.basis.size16());
        head = std::min(head, doc.basis.size16());
        if (joined || anchor != p.anchor || head != p.head) {
          changed.insert(asked.document);
        }
        p.anchor = anchor;
        p.head = head;
      }
    }
    if (answer != nullptr) Annotate(asked.client_id, doc, *answer);
  }
  return {changed.begin(), changed.end()};
}

void Presence::AnnotatePush(const std::string& client_id,
                            engine::DocumentBlock& block) {
  auto doc = documents_.find(block.document);
  if (doc == documents_.end()) return;
  Refresh(block.document, doc->second);
  Annotate(client_id, doc->second, block);
}

std::optional<engine::Message> Presence::PresenceMessage(
    const std::string& client_id, const std::string& document) {
  auto doc = documents_.find(document);
  if (doc == documents_.end()) return std::nullopt;
  auto self = doc->second.peers.find(client_id);
  if (self == doc->second.peers.end()) return std::nullopt;
  Refresh(document, doc->second);
  engine::Message message;
  engine::DocumentBlock& block = message.documents.emplace_back();
  block.document = document;
  block.version = self->second.last_version;
  block.metadata.push_back({"push", ""});
  block.metadata.push_back({"presence", ""});
  Annotate(client_id, doc->second, block);
  return message;
}

std::vector<std::string> Presence::Leave(const Session* session) {
  std::vector<std::string> left;
  for (auto it = documents_.begin(); it != documents_.end();) {
    const size_t erased = std::erase_if(it->second.peers, [&](const auto& e) {
      return e.second.session == session;
    });
    if (erased > 0) left.push_back(it->first);
    if (it->second.peers.empty()) {
      it = documents_.erase(it);
    } else {
      ++it;
    }
  }
  return left;
}

}  // namespace diffsync::server
