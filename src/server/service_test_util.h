// Test helpers for the server's service layer: an executor the test thread
// drives by hand (the "service thread"), and a thread-safe store wrapper
// whose commits can be held or made to fail, so tests see exactly what
// waits for durability without sleeping.
#ifndef DIFFSYNC_SERVER_SERVICE_TEST_UTIL_H_
#define DIFFSYNC_SERVER_SERVICE_TEST_UTIL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "diffsync/engine/store.h"

namespace diffsync::server::test_util {

// Tasks posted from any thread; run on the test thread by RunUntil.
class ManualExecutor {
 public:
  std::function<void(std::function<void()>)> Post() {
    return [this](std::function<void()> fn) {
      {
        std::lock_guard lock(mu_);
        tasks_.push_back(std::move(fn));
      }
      cv_.notify_all();
    };
  }
  // Runs tasks, waiting for more as needed, until `done()` holds.
  void RunUntil(const std::function<bool()>& done) {
    while (!done()) RunOne();
  }
  // Runs the tasks already queued, without waiting.
  void RunReady() {
    for (;;) {
      std::function<void()> fn;
      {
        std::lock_guard lock(mu_);
        if (tasks_.empty()) return;
        fn = std::move(tasks_.front());
        tasks_.pop_front();
      }
      fn();
    }
  }

 private:
  void RunOne() {
    std::function<void()> fn;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !tasks_.empty(); });
      fn = std::move(tasks_.front());
      tasks_.pop_front();
    }
    fn();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
};

// A MemoryStore safe to load from one thread while another commits; commits
// can be held at a gate (to see who waits for them) or failed.
class GatedStore final : public engine::Store {
 public:
  Result<std::optional<engine::DocumentRecord>> LoadDocument(
      const std::string& name) override {
    std::lock_guard lock(mu_);
    return store_.LoadDocument(name);
  }
  Result<std::optional<engine::ViewRecord>> LoadView(
      const std::string& client_id, const std::string& document) override {
    std::lock_guard lock(mu_);
    return store_.LoadView(client_id, document);
  }
  Result<std::vector<engine::ChangeRecord>> LoadChanges(
      const std::string& document, int64_t from_revision) override {
    std::lock_guard lock(mu_);
    return store_.LoadChanges(document, from_revision);
  }
  Result<std::optional<engine::LinkRecord>> LoadLink(
      const std::string& link_id, const std::string& document) override {
    std::lock_guard lock(mu_);
    return store_.LoadLink(link_id, document);
  }
  Status Commit(engine::WriteBatch batch) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !held_; });
    ++commits_;
    if (fail_next_) {
      fail_next_ = false;
      return Status::IoError("injected commit failure");
    }
    return store_.Commit(std::move(batch));
  }

  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  void FailNext() {
    std::lock_guard lock(mu_);
    fail_next_ = true;
  }
  // Blocks until `n` commits have started.
  void WaitEntered(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  int commits() {
    std::lock_guard lock(mu_);
    return commits_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  engine::MemoryStore store_;
  bool held_ = false;
  bool fail_next_ = false;
  int entered_ = 0;
  int commits_ = 0;
};

}  // namespace diffsync::server::test_util

#endif  // DIFFSYNC_SERVER_SERVICE_TEST_UTIL_H_
