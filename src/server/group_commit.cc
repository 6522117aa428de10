#include "server/group_commit.h"

#include <chrono>

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

void GroupCommitStore::Merge(const engine::WriteBatch& batch, int64_t seq,
                             Batch& into) {
  for (const std::string& name : batch.deleted_documents) {
    into.documents[name] = {std::nullopt, seq};
  }
  for (const auto& key : batch.deleted_views) {
    into.views[key] = {std::nullopt, seq};
  }
  for (const engine::DocumentRecord& d : batch.documents) {
    into.documents[d.name] = {d, seq};
  }
  for (const engine::ViewRecord& v : batch.views) {
    into.views[{v.client_id, v.document}] = {v, seq};
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
  return out;
}

Result<std::optional<engine::DocumentRecord>> GroupCommitStore::LoadDocument(
    const std::string& name) {
  auto it = overlay_.documents.find(name);
  if (it != overlay_.documents.end()) return it->second.record;
  return durable_.LoadDocument(name);
}

Result<std::optional<engine::ViewRecord>> GroupCommitStore::LoadView(
    const std::string& client_id, const std::string& document) {
  auto it = overlay_.views.find({client_id, document});
  if (it != overlay_.views.end()) return it->second.record;
  return durable_.LoadView(client_id, document);
}

Status GroupCommitStore::Commit(const engine::WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  ++staged_seq_;
  Merge(batch, staged_seq_, overlay_);
  {
    std::lock_guard lock(mu_);
    Merge(batch, staged_seq_, queue_);
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
