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
  for (auto it = changes_.lower_bound({document, from_revision});
       it != changes_.end() && it->first.first == document; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Status MemoryStore::Commit(const WriteBatch& batch) {
  for (const auto& name : batch.deleted_documents) {
    documents_.erase(name);
    changes_.erase(changes_.lower_bound({name, INT64_MIN}),
                   changes_.lower_bound({name, INT64_MAX}));
  }
  for (const auto& key : batch.deleted_views) views_.erase(key);
  for (const auto& d : batch.documents) documents_[d.name] = d;
  for (const auto& v : batch.views) views_[{v.client_id, v.document}] = v;
  for (const auto& c : batch.changes) changes_[{c.document, c.revision}] = c;
  for (const auto& [name, first_kept] : batch.trimmed_changes) {
    changes_.erase(changes_.lower_bound({name, INT64_MIN}),
                   changes_.lower_bound({name, first_kept}));
  }
  return Status::Ok();
}

}  // namespace diffsync::engine
