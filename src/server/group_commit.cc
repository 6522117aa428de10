#include "server/group_commit.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace diffsync::server {

GroupCommitStore::GroupCommitStore(
    engine::Store& durable, Post post,
    std::function<void(const Status&)> on_failure, CommitObserver observer)
    : durable_(durable),
      post_(std::move(post)),
      on_failure_(std::move(on_failure)),
      observer_(std::move(observer)),
      thread_([this] { CommitLoop(); }) {}

GroupCommitStore::~GroupCommitStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

namespace {

// Erases the entries of `document` from a map keyed (document, revision)
// whose revision is below `below`.
template <typename Map>
void EraseChanges(Map& changes, const std::string& document, int64_t below) {
  changes.erase(changes.lower_bound({document, INT64_MIN}),
                changes.lower_bound({document, below}));
}

}  // namespace

void GroupCommitStore::Merge(const SharedBatch& shared, int64_t seq,
                             Batch& into) {
  const engine::WriteBatch& batch = shared.batch;
  for (const std::string& name : batch.deleted_documents) {
    into.documents[name] = {nullptr, seq};
    into.deleted[name] = seq;
    EraseChanges(into.changes, name, INT64_MAX);
    into.trims.erase(name);
  }
  for (const auto& key : batch.deleted_views) {
    into.views[key] = {nullptr, seq};
  }
  for (const auto& d : shared.documents) into.documents[d->name] = {d, seq};
  for (const auto& v : shared.views) {
    into.views[{v->client_id, v->document}] = {v, seq};
  }
  for (const auto& c : shared.changes) {
    into.changes[{c->document, c->revision}] = {c, seq};
  }
  for (const auto& [name, first_kept] : batch.trimmed_changes) {
    StagedTrim& trim = into.trims[name];
    trim = {std::max(trim.first_kept, first_kept), seq};
    EraseChanges(into.changes, name, first_kept);
  }
  ++into.batches;
  into.up_to = seq;
}

engine::WriteBatch GroupCommitStore::ToWriteBatch(const Batch& batch) {
  engine::WriteBatch out;
  for (const auto& [name, staged] : batch.documents) {
    if (staged.record) {
      out.documents.push_back(*staged.record);
    } else {
      out.deleted_documents.push_back(name);
    }
  }
  for (const auto& [key, staged] : batch.views) {
    if (staged.record) {
      out.views.push_back(*staged.record);
    } else {
      out.deleted_views.push_back(key);
    }
  }
  for (const auto& [name, seq] : batch.deleted) {
    if (batch.documents.at(name).record) out.deleted_documents.push_back(name);
  }
  for (const auto& [key, staged] : batch.changes) {
    out.changes.push_back(*staged.record);
  }
  for (const auto& [name, trim] : batch.trims) {
    out.trimmed_changes.emplace_back(name, trim.first_kept);
  }
  return out;
}

Result<std::optional<engine::DocumentRecord>> GroupCommitStore::LoadDocument(
    const std::string& name) {
  auto it = overlay_.documents.find(name);
  if (it != overlay_.documents.end()) {
    if (!it->second.record) return std::optional<engine::DocumentRecord>();
    return std::optional<engine::DocumentRecord>(*it->second.record);
  }
  return durable_.LoadDocument(name);
}

Result<std::optional<engine::ViewRecord>> GroupCommitStore::LoadView(
    const std::string& client_id, const std::string& document) {
  auto it = overlay_.views.find({client_id, document});
  if (it != overlay_.views.end()) {
    if (!it->second.record) return std::optional<engine::ViewRecord>();
    return std::optional<engine::ViewRecord>(*it->second.record);
  }
  return durable_.LoadView(client_id, document);
}

Result<std::vector<engine::ChangeRecord>> GroupCommitStore::LoadChanges(
    const std::string& document, int64_t from_revision) {
  std::map<int64_t, engine::ChangeRecord> merged;
  if (!overlay_.deleted.contains(document)) {
    Result<std::vector<engine::ChangeRecord>> stored =
        durable_.LoadChanges(document, from_revision);
    if (!stored.ok()) return stored.status();
    for (engine::ChangeRecord& c : *stored) merged[c.revision] = std::move(c);
  }
  for (auto it = overlay_.changes.lower_bound({document, from_revision});
       it != overlay_.changes.end() && it->first.first == document; ++it) {
    merged[it->first.second] = *it->second.record;
  }
  if (auto trim = overlay_.trims.find(document); trim != overlay_.trims.end()) {
    merged.erase(merged.begin(), merged.lower_bound(trim->second.first_kept));
  }
  std::vector<engine::ChangeRecord> out;
  for (auto& [revision, c] : merged) out.push_back(std::move(c));
  return out;
}

Status GroupCommitStore::Commit(const engine::WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  ++staged_seq_;
  SharedBatch shared{batch, {}, {}, {}};
  for (const auto& d : batch.documents) {
    shared.documents.push_back(std::make_shared<const engine::DocumentRecord>(d));
  }
  for (const auto& v : batch.views) {
    shared.views.push_back(std::make_shared<const engine::ViewRecord>(v));
  }
  for (const auto& c : batch.changes) {
    shared.changes.push_back(std::make_shared<const engine::ChangeRecord>(c));
  }
  Merge(shared, staged_seq_, overlay_);
  {
    std::lock_guard lock(mu_);
    Merge(shared, staged_seq_, queue_);
  }
  cv_.notify_one();
  return Status::Ok();
}

void GroupCommitStore::WhenDurable(std::function<void(Status)> done) {
  if (staged_seq_ == durable_seq_) {
    post_([done = std::move(done)] { done(Status::Ok()); });
    return;
  }
  waiters_.emplace(staged_seq_, std::move(done));
}

void GroupCommitStore::CommitLoop() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || (!failed_ && !queue_.empty()); });
      if (failed_ || queue_.empty()) return;  // Stopping, nothing to write.
      batch = std::move(queue_);
      queue_ = Batch();
    }
    const auto start = std::chrono::steady_clock::now();
    Status status = durable_.Commit(ToWriteBatch(batch));
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    if (observer_) observer_(batch.batches, took.count(), status);
    if (!status.ok()) {
      std::lock_guard lock(mu_);
      failed_ = true;
    }
    post_([this, up_to = batch.up_to, status] { OnCommitted(up_to, status); });
  }
}

void GroupCommitStore::OnCommitted(int64_t up_to, const Status& status) {
  if (status.ok()) {
    durable_seq_ = std::max(durable_seq_, up_to);
    std::erase_if(overlay_.documents,
                  [&](const auto& e) { return e.second.seq <= up_to; });
    std::erase_if(overlay_.views,
                  [&](const auto& e) { return e.second.seq <= up_to; });
    std::erase_if(overlay_.changes,
                  [&](const auto& e) { return e.second.seq <= up_to; });
    std::erase_if(overlay_.trims,
                  [&](const auto& e) { return e.second.seq <= up_to; });
    std::erase_if(overlay_.deleted,
                  [&](const auto& e) { return e.second <= up_to; });
    while (!waiters_.empty() && waiters_.begin()->first <= up_to) {
      auto done = std::move(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
      done(Status::Ok());
    }
    return;
  }
  // Everything staged may build on the failed batch: drop it all and fall
  // back to what is durable.
  {
    std::lock_guard lock(mu_);
    queue_ = Batch();
    failed_ = false;
  }
  cv_.notify_one();
  overlay_ = Batch();
  durable_seq_ = staged_seq_;
  if (on_failure_) on_failure_(status);
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [seq, done] : waiters) done(status);
}

}  // namespace diffsync::server
