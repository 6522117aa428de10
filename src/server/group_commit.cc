#include "server/group_commit.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string_view>

namespace diffsync::server {

GroupCommitStore::GroupCommitStore(
    engine::Store& durable, Post post,
    std::function<void(const Status&)> on_failure, CommitObserver observer,
    std::chrono::microseconds gather)
    : durable_(durable),
      post_(std::move(post)),
      on_failure_(std::move(on_failure)),
      observer_(std::move(observer)),
      gather_(gather),
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
void EraseChanges(Map& changes, std::string_view document, int64_t below) {
  changes.erase(changes.lower_bound({document, INT64_MIN}),
                changes.lower_bound({document, below}));
}

}  // namespace

engine::WriteBatch GroupCommitStore::MergeForCommit(const Queue& queue) {
  // The latest record per key (null: deleted), pointing into the staged
  // batches, which outlive this call; so do the names the keys view (no
  // copy of a name per record on the commit thread).
  using ViewKey = std::pair<std::string_view, std::string_view>;
  using ChangeKey = std::pair<std::string_view, int64_t>;  // document, revision
  std::map<std::string_view, const engine::DocumentRecord*> documents;
  std::map<ViewKey, const engine::ViewRecord*> views;
  std::map<ChangeKey, const engine::ChangeRecord*> changes;
  std::map<ViewKey, const engine::LinkRecord*> links;  // link id, document
  std::map<std::string_view, int64_t> trims;  // document -> first kept
  // Deleted documents, kept even if re-created later: the store must drop
  // their old changes first.
  std::set<std::string_view> deleted;
  for (const auto& staged : queue) {
    const engine::WriteBatch& batch = staged->batch;
    for (const std::string& name : batch.deleted_documents) {
      documents[name] = nullptr;
      deleted.insert(name);
      EraseChanges(changes, name, INT64_MAX);
      trims.erase(name);
    }
    for (const auto& key : batch.deleted_views) views[key] = nullptr;
    for (const auto& d : batch.documents) documents[d.name] = &d;
    for (const auto& v : batch.views) views[{v.client_id, v.document}] = &v;
    for (const auto& c : batch.changes) changes[{c.document, c.revision}] = &c;
    for (const auto& l : batch.links)
      links[{l.link_id, l.client.document}] = &l;
    for (const auto& [name, first_kept] : batch.trimmed_changes) {
      int64_t& trim = trims[name];
      trim = std::max(trim, first_kept);
      EraseChanges(changes, name, first_kept);
    }
  }
  engine::WriteBatch out;
  out.documents.reserve(documents.size());
  for (const auto& [name, record] : documents) {
    if (record != nullptr) {
      out.documents.push_back(*record);
    } else {
      out.deleted_documents.emplace_back(name);
    }
  }
  out.views.reserve(views.size());
  for (const auto& [key, record] : views) {
    if (record != nullptr) {
      out.views.push_back(*record);
    } else {
      out.deleted_views.emplace_back(key.first, key.second);
    }
  }
  for (std::string_view name : deleted) {
    if (documents.at(name) != nullptr) out.deleted_documents.emplace_back(name);
  }
  out.changes.reserve(changes.size());
  for (const auto& [key, record] : changes) out.changes.push_back(*record);
  for (const auto& [name, first_kept] : trims) {
    out.trimmed_changes.emplace_back(name, first_kept);
  }
  out.links.reserve(links.size());
  for (const auto& [key, record] : links) out.links.push_back(*record);
  return out;
}

Result<std::optional<engine::DocumentRecord>> GroupCommitStore::LoadDocument(
    const std::string& name) {
  for (auto it = overlay_.rbegin(); it != overlay_.rend(); ++it) {
    const engine::WriteBatch& batch = (*it)->batch;
    // Within a batch the deletions come first, then the writes.
    for (auto d = batch.documents.rbegin(); d != batch.documents.rend(); ++d) {
      if (d->name == name) return std::optional<engine::DocumentRecord>(*d);
    }
    if (std::find(batch.deleted_documents.begin(),
                  batch.deleted_documents.end(),
                  name) != batch.deleted_documents.end()) {
      return std::optional<engine::DocumentRecord>();
    }
  }
  return durable_.LoadDocument(name);
}

Result<std::optional<engine::ViewRecord>> GroupCommitStore::LoadView(
    const std::string& client_id, const std::string& document) {
  for (auto it = overlay_.rbegin(); it != overlay_.rend(); ++it) {
    const engine::WriteBatch& batch = (*it)->batch;
    for (auto v = batch.views.rbegin(); v != batch.views.rend(); ++v) {
      if (v->client_id == client_id && v->document == document) {
        return std::optional<engine::ViewRecord>(*v);
      }
    }
    for (const auto& [c, d] : batch.deleted_views) {
      if (c == client_id && d == document) {
        return std::optional<engine::ViewRecord>();
      }
    }
  }
  return durable_.LoadView(client_id, document);
}

Result<std::vector<engine::ChangeRecord>> GroupCommitStore::LoadChanges(
    const std::string& document, int64_t from_revision) {
  // What the staged batches say about `document`, oldest first.
  bool deleted = false;
  int64_t first_kept = -1;  // None trimmed.
  std::map<int64_t, const engine::ChangeRecord*> staged;
  for (const auto& s : overlay_) {
    const engine::WriteBatch& batch = s->batch;
    if (std::find(batch.deleted_documents.begin(),
                  batch.deleted_documents.end(),
                  document) != batch.deleted_documents.end()) {
      deleted = true;
      first_kept = -1;
      staged.clear();
    }
    for (const engine::ChangeRecord& c : batch.changes) {
      if (c.document == document) staged[c.revision] = &c;
    }
    for (const auto& [name, kept] : batch.trimmed_changes) {
      if (name != document) continue;
      first_kept = std::max(first_kept, kept);
      staged.erase(staged.begin(), staged.lower_bound(kept));
    }
  }
  std::map<int64_t, engine::ChangeRecord> merged;
  if (!deleted) {
    Result<std::vector<engine::ChangeRecord>> stored =
        durable_.LoadChanges(document, from_revision);
    if (!stored.ok()) return stored.status();
    for (engine::ChangeRecord& c : *stored) merged[c.revision] = std::move(c);
  }
  for (auto it = staged.lower_bound(from_revision); it != staged.end(); ++it) {
    merged[it->first] = *it->second;
  }
  if (first_kept >= 0) {
    merged.erase(merged.begin(), merged.lower_bound(first_kept));
  }
  std::vector<engine::ChangeRecord> out;
  for (auto& [revision, c] : merged) out.push_back(std::move(c));
  return out;
}

Result<std::optional<engine::LinkRecord>> GroupCommitStore::LoadLink(
    const std::string& link_id, const std::string& document) {
  for (auto it = overlay_.rbegin(); it != overlay_.rend(); ++it) {
    const engine::WriteBatch& batch = (*it)->batch;
    for (auto l = batch.links.rbegin(); l != batch.links.rend(); ++l) {
      if (l->link_id == link_id && l->client.document == document) {
        return std::optional<engine::LinkRecord>(*l);
      }
    }
  }
  return durable_.LoadLink(link_id, document);
}

Status GroupCommitStore::Commit(engine::WriteBatch batch) {
  if (batch.empty()) return Status::Ok();
  auto staged = std::make_shared<const StagedBatch>(
      StagedBatch{std::move(batch), ++staged_seq_});
  overlay_.push_back(staged);
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(staged));
  }
  cv_.notify_one();
  return Status::Ok();
}

void GroupCommitStore::WhenDurable(std::function<void(Status)> done) {
  if (staged_seq_ == durable_seq_) {
    post_([done = std::move(done)] { done(Status::Ok()); });
    return;
  }
  waiters_.emplace_back(staged_seq_, std::move(done));
}

void GroupCommitStore::CommitLoop() {
  auto last_start = std::chrono::steady_clock::time_point::min();
  for (;;) {
    Queue batches;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || (!failed_ && !queue_.empty()); });
      if (failed_ || queue_.empty()) return;  // Stopping, nothing to write.
      if (gather_.count() > 0 && !stop_) {
        // Let more requests join this transaction. Stopping cuts it short:
        // what is staged is committed at once.
        cv_.wait_until(lock, last_start + gather_, [&] { return stop_; });
        if (failed_ || queue_.empty()) continue;
      }
      batches.swap(queue_);
    }
    const auto start = std::chrono::steady_clock::now();
    last_start = start;
    Status status = durable_.Commit(MergeForCommit(batches));
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    if (observer_) observer_(batches.size(), took.count(), status);
    if (!status.ok()) {
      std::lock_guard lock(mu_);
      failed_ = true;
    }
    post_([this, up_to = batches.back()->seq, status] {
      OnCommitted(up_to, status);
    });
  }
}

void GroupCommitStore::OnCommitted(int64_t up_to, const Status& status) {
  if (status.ok()) {
    durable_seq_ = std::max(durable_seq_, up_to);
    while (!overlay_.empty() && overlay_.front()->seq <= up_to) {
      overlay_.pop_front();
    }
    while (!waiters_.empty() && waiters_.front().first <= up_to) {
      auto done = std::move(waiters_.front().second);
      waiters_.pop_front();
      done(Status::Ok());
    }
    return;
  }
  // Everything staged may build on the failed batch: drop it all and fall
  // back to what is durable.
  {
    std::lock_guard lock(mu_);
    queue_.clear();
    failed_ = false;
  }
  cv_.notify_one();
  overlay_.clear();
  durable_seq_ = staged_seq_;
  if (on_failure_) on_failure_(status);
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [seq, done] : waiters) done(status);
}

}  // namespace diffsync::server
