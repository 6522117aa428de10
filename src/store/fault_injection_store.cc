#include "store/fault_injection_store.h"

namespace diffsync::store {
namespace {

// Counts one call down; true when the armed fault fires on this call.
bool Fires(int64_t& calls_left) {
  if (calls_left <= 0) return false;
  return --calls_left == 0;
}

Status Down() {
  return Status::Unavailable("store is down (crashed, not restarted)");
}

}  // namespace

std::optional<Status> FaultInjectionStore::NextCommitFault() {
  std::lock_guard lock(mu_);
  ++counters_.commits;
  std::optional<Status> fault;
  if (crashed_) {
    fault = Down();
  } else if (Fires(crash_in_)) {
    crashed_ = true;
    fault = Status::Unavailable("injected crash before the commit was durable");
  }
  // Every armed countdown sees every call, whichever fault wins it.
  if (Fires(fail_commit_in_) && !fault) fault = fail_commit_status_;
  if (!fault && full_after_ == 0) {
    fault = Status::ResourceExhausted("injected failure: disk full");
  }
  if (fault) {
    ++counters_.failed_commits;
    return fault;
  }
  if (full_after_ > 0) --full_after_;
  ++counters_.forwarded_commits;
  return std::nullopt;
}

std::optional<Status> FaultInjectionStore::NextLoadFault() {
  std::lock_guard lock(mu_);
  ++counters_.loads;
  std::optional<Status> fault;
  if (crashed_) {
    fault = Down();
  }
  if (Fires(fail_load_in_) && !fault) {
    fault = Status::IoError("injected load failure");
  }
  if (fault) ++counters_.failed_loads;
  return fault;
}

Result<std::optional<engine::DocumentRecord>> FaultInjectionStore::LoadDocument(
    const std::string& name) {
  if (std::optional<Status> fault = NextLoadFault()) return *fault;
  return inner_.LoadDocument(name);
}

Result<std::optional<engine::ViewRecord>> FaultInjectionStore::LoadView(
    const std::string& client_id, const std::string& document) {
  if (std::optional<Status> fault = NextLoadFault()) return *fault;
  return inner_.LoadView(client_id, document);
}

Result<std::vector<engine::ChangeRecord>> FaultInjectionStore::LoadChanges(
    const std::string& document, int64_t from_revision) {
  if (std::optional<Status> fault = NextLoadFault()) return *fault;
  return inner_.LoadChanges(document, from_revision);
}

Result<std::optional<engine::LinkRecord>> FaultInjectionStore::LoadLink(
    const std::string& link_id, const std::string& document) {
  if (std::optional<Status> fault = NextLoadFault()) return *fault;
  return inner_.LoadLink(link_id, document);
}

Status FaultInjectionStore::Commit(engine::WriteBatch batch) {
  if (std::optional<Status> fault = NextCommitFault()) return *fault;
  return inner_.Commit(std::move(batch));
}

void FaultInjectionStore::FailNthCommit(int64_t n, Status status) {
  std::lock_guard lock(mu_);
  fail_commit_in_ = n;
  // An OK status would report success for a batch that was never stored.
  fail_commit_status_ = status.ok()
                            ? Status::Unavailable("injected commit failure")
                            : std::move(status);
}

void FaultInjectionStore::FailCommitsAfter(int64_t n) {
  std::lock_guard lock(mu_);
  full_after_ = n;
}

void FaultInjectionStore::CrashBeforeNthCommit(int64_t n) {
  std::lock_guard lock(mu_);
  crash_in_ = n;
}

void FaultInjectionStore::FailNthLoad(int64_t n) {
  std::lock_guard lock(mu_);
  fail_load_in_ = n;
}

void FaultInjectionStore::Restart() {
  std::lock_guard lock(mu_);
  crashed_ = false;
}

void FaultInjectionStore::Heal() {
  std::lock_guard lock(mu_);
  fail_commit_in_ = 0;
  full_after_ = -1;
  crash_in_ = 0;
  crashed_ = false;
  fail_load_in_ = 0;
}

bool FaultInjectionStore::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

FaultInjectionStore::Counters FaultInjectionStore::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace diffsync::store
