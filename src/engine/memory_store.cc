#include "diffsync/engine/store.h"

#include <cstdint>

namespace diffsync::engine {

Result<std::optional<DocumentRecord>> MemoryStore::LoadDocument(
    const std::string& name) {
  auto it = documents_.find(name);
  if (it == documents_.end()) return std::optional<DocumentRecord>();
  return std::optional<DocumentRecord>(it->second);
}

Result<std::optional<ViewRecord>> MemoryStore::LoadView(
    const std::string& client_id, const std::string& document) {
  auto it = views_.find({client_id, document});
  if (it == views_.end()) return std::optional<ViewRecord>();
  return std::optional<ViewRecord>(it->second);
}

Result<std::vector<ChangeRecord>> MemoryStore::LoadChanges(
    const std::string& document, int64_t from_revision) {
  std::vector<ChangeRecord> out;
  auto doc = changes_.find(document);
  if (doc == changes_.end()) return out;
  for (auto it = doc->second.lower_bound(from_revision);
       it != doc->second.end(); ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<std::optional<LinkRecord>> MemoryStore::LoadLink(
    const std::string& link_id, const std::string& document) {
  auto it = links_.find({link_id, document});
  if (it == links_.end()) return std::optional<LinkRecord>();
  return std::optional<LinkRecord>(it->second);
}

Status MemoryStore::Commit(WriteBatch batch) {
  for (const auto& name : batch.deleted_documents) {
    documents_.erase(name);
    changes_.erase(name);
  }
  for (const auto& key : batch.deleted_views) views_.erase(key);
  // Each key is copied before its record is moved from.
  for (auto& d : batch.documents) {
    documents_.insert_or_assign(d.name, std::move(d));
  }
  for (auto& v : batch.views) {
    views_.insert_or_assign(std::pair(v.client_id, v.document), std::move(v));
  }
  for (auto& l : batch.links) {
    links_.insert_or_assign(std::pair(l.link_id, l.client.document),
                            std::move(l));
  }
  auto changes = changes_.end();
  for (auto& c : batch.changes) {
    // A batch's changes come one document at a time.
    if (changes == changes_.end() || changes->first != c.document) {
      changes = changes_.try_emplace(c.document).first;
    }
    changes->second.insert_or_assign(changes->second.end(), c.revision,
                                     std::move(c));
  }
  for (const auto& [name, first_kept] : batch.trimmed_changes) {
    auto doc = changes_.find(name);
    if (doc == changes_.end()) continue;
    doc->second.erase(doc->second.begin(), doc->second.lower_bound(first_kept));
  }
  return Status::Ok();
}

}  // namespace diffsync::engine
