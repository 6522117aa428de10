#include "diffsync/engine/store.h"

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

Status MemoryStore::Commit(const WriteBatch& batch) {
  for (const auto& name : batch.deleted_documents) documents_.erase(name);
  for (const auto& key : batch.deleted_views) views_.erase(key);
  for (const auto& d : batch.documents) documents_[d.name] = d;
  for (const auto& v : batch.views) views_[{v.client_id, v.document}] = v;
  return Status::Ok();
}

}  // namespace diffsync::engine
