#include "store/fault_injection_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/test_seed.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/server.h"
#include "diffsync/store/sqlite_store.h"
#include "store/test_util.h"

namespace diffsync::store {
namespace {

using engine::ChangeRecord;
using engine::ClientDocument;
using engine::DocumentRecord;
using engine::ManualClock;
using engine::MemoryStore;
using engine::Server;
using engine::Text;
using engine::WriteBatch;
using test_util::Sync;
using test_util::TempDir;

WriteBatch DocBatch(const std::string& name, int64_t revision) {
  WriteBatch batch;
  batch.documents.push_back({name, Text::FromValidUtf8(name), revision});
  return batch;
}

int64_t Revision(engine::Store& store, const std::string& name) {
  Result<std::optional<DocumentRecord>> d = store.LoadDocument(name);
  if (!d.ok() || !d->has_value()) return -1;
  return (*d)->revision;
}

TEST(FaultInjectionStore, FailsTheNthCommitAndForwardsNothing) {
  MemoryStore disk;
  FaultInjectionStore store(disk);
  store.FailNthCommit(2);
  EXPECT_TRUE(store.Commit(DocBatch("a", 1)).ok());
  Status failed = store.Commit(DocBatch("b", 1));
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store.Commit(DocBatch("c", 1)).ok());
  EXPECT_EQ(disk.document_count(), 2u);
  EXPECT_EQ(Revision(disk, "b"), -1);

  store.FailNthCommit(1, Status::IoError("fsync failed"));
  EXPECT_EQ(store.Commit(DocBatch("b", 1)).code(), StatusCode::kIoError);
  const FaultInjectionStore::Counters c = store.counters();
  EXPECT_EQ(c.commits, 4);
  EXPECT_EQ(c.forwarded_commits, 2);
  EXPECT_EQ(c.failed_commits, 2);
}

TEST(FaultInjectionStore, AFullDiskFailsEveryCommitUntilHealed) {
  MemoryStore disk;
  FaultInjectionStore store(disk);
  store.FailCommitsAfter(2);
  EXPECT_TRUE(store.Commit(DocBatch("a", 1)).ok());
  EXPECT_TRUE(store.Commit(DocBatch("b", 1)).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store.Commit(DocBatch("c", 1)).code(),
              StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(Revision(store, "a"), 1);  // Reads still work.
  EXPECT_EQ(Revision(disk, "c"), -1);
  store.Heal();
  EXPECT_TRUE(store.Commit(DocBatch("c", 1)).ok());
  EXPECT_EQ(Revision(disk, "c"), 1);
}

TEST(FaultInjectionStore, ACrashDropsTheCommitAndDownsTheStoreUntilRestart) {
  MemoryStore disk;
  FaultInjectionStore store(disk);
  store.CrashBeforeNthCommit(1);
  EXPECT_EQ(store.Commit(DocBatch("a", 1)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store.crashed());
  EXPECT_EQ(store.Commit(DocBatch("b", 1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.LoadDocument("a").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(disk.document_count(), 0u);
  store.Restart();
  EXPECT_FALSE(store.crashed());
  EXPECT_EQ(Revision(store, "a"), -1);
  EXPECT_TRUE(store.Commit(DocBatch("a", 1)).ok());
  EXPECT_EQ(Revision(store, "a"), 1);
}

TEST(FaultInjectionStore, FailsTheNthLoad) {
  MemoryStore disk;
  FaultInjectionStore store(disk);
  WriteBatch batch = DocBatch("a", 3);
  batch.changes = {{"a", 1, 0, "+a"}, {"a", 2, 1, "=1\t+a"}};
  ASSERT_TRUE(store.Commit(batch).ok());
  store.FailNthLoad(2);
  EXPECT_TRUE(store.LoadDocument("a").ok());
  EXPECT_EQ(store.LoadView("c", "a").status().code(), StatusCode::kIoError);
  EXPECT_EQ(Revision(store, "a"), 3);
  store.FailNthLoad(2);
  Result<std::vector<ChangeRecord>> changes = store.LoadChanges("a", 2);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_EQ(*changes, std::vector<ChangeRecord>{batch.changes[1]});
  EXPECT_EQ(store.LoadChanges("a", 0).status().code(), StatusCode::kIoError);
  EXPECT_EQ(store.counters().loads, 5);
  EXPECT_EQ(store.counters().failed_loads, 2);

  store.CrashBeforeNthCommit(1);
  EXPECT_FALSE(store.Commit(DocBatch("b", 1)).ok());
  EXPECT_EQ(store.LoadChanges("a", 0).status().code(),
            StatusCode::kUnavailable);
}

// A server over a disk that fails: the failed request is not acknowledged,
// the client sends it again, and nothing that was acknowledged is lost.
class ServerOverFaultyDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.File("store.db");
    Start();
  }

  // A new process: the store reopened from the file, a new Server.
  void Start() {
    server_.reset();
    faulty_.reset();
    sqlite_.reset();
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    sqlite_ = std::move(*opened);
    faulty_ = std::make_unique<FaultInjectionStore>(*sqlite_);
    server_ = std::make_unique<Server>(*faulty_, clock_);
  }

  std::string Stored(const std::string& document) {
    Result<std::optional<DocumentRecord>> d = sqlite_->LoadDocument(document);
    if (!d.ok() || !d->has_value()) return "<none>";
    return (*d)->text.ToString();
  }

  TempDir dir_;
  std::string path_;
  ManualClock clock_{1'000'000};
  std::unique_ptr<SqliteStore> sqlite_;
  std::unique_ptr<FaultInjectionStore> faulty_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerOverFaultyDisk, AFailedCommitIsNotAcknowledgedAndTheRetryLands) {
  ClientDocument alice("doc"), bob("doc");
  ASSERT_TRUE(alice.Replace(0, 0, "acknowledged").ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  ASSERT_EQ(alice.pending_edits(), 0u);

  ASSERT_TRUE(alice.Replace(12, 0, " and more").ok());
  faulty_->FailNthCommit(1);
  Status failed = Sync(*server_, "alice", alice);
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_EQ(alice.pending_edits(), 1u);  // Not acknowledged.
  EXPECT_EQ(Stored("doc"), "acknowledged");
  EXPECT_EQ(server_->DocumentText("doc")->ToString(), "acknowledged");

  // Bob's edit meanwhile commits; then alice retries the same stack.
  ASSERT_TRUE(bob.Replace(0, 0, "[bob] ").ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  EXPECT_EQ(alice.pending_edits(), 0u);
  EXPECT_EQ(Stored("doc"), "[bob] acknowledged and more");
  EXPECT_EQ(alice.text().ToString(), "[bob] acknowledged and more");
  EXPECT_EQ(bob.text().ToString(), "[bob] acknowledged and more");
  EXPECT_EQ(server_->stats().resyncs, 0);
}

TEST_F(ServerOverFaultyDisk, AFullDiskRefusesEveryRequestUntilItHasRoom) {
  ClientDocument alice("doc");
  ASSERT_TRUE(alice.Replace(0, 0, "kept").ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  faulty_->FailCommitsAfter(0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(alice.Replace(0, 0, std::to_string(i)).ok());
    EXPECT_EQ(Sync(*server_, "alice", alice).code(),
              StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(Stored("doc"), "kept");
  faulty_->Heal();
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  EXPECT_EQ(Stored("doc"), "210kept");
  EXPECT_EQ(alice.text().ToString(), "210kept");
  EXPECT_EQ(alice.pending_edits(), 0u);
}

TEST_F(ServerOverFaultyDisk, ACrashBeforeTheCommitLosesNothingAcknowledged) {
  ClientDocument alice("doc"), bob("doc");
  ASSERT_TRUE(alice.Replace(0, 0, "one").ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  ASSERT_TRUE(alice.Replace(3, 0, " two").ok());
  faulty_->CrashBeforeNthCommit(1);
  EXPECT_FALSE(Sync(*server_, "alice", alice).ok());
  Start();  // The process died; a new one opens the same file.
  ASSERT_TRUE(bob.Replace(0, 0, "zero ").ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  EXPECT_EQ(Stored("doc"), "zero one two");
  EXPECT_EQ(alice.text().ToString(), "zero one two");
  EXPECT_EQ(bob.text().ToString(), "zero one two");
  EXPECT_EQ(server_->stats().resyncs, 0);
  // The restarted server merged both from the stored history and anchors.
  EXPECT_EQ(server_->stats().diffed_merges, 0);
}

// After a restart the first request loads the document, its changes and the
// view; whichever of those loads fails, the request acknowledges nothing and
// its retry merges exactly (a failed load of the changes must not leave a
// document without its history behind).
TEST_F(ServerOverFaultyDisk, AFailedLoadAfterARestartFailsOnlyThatRequest) {
  ClientDocument alice("doc"), bob("doc");
  ASSERT_TRUE(alice.Replace(0, 0, "ab|ab|").ok());
  ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
  ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
  for (int64_t n = 1; n <= 3; ++n) {
    SCOPED_TRACE("load " + std::to_string(n) + " fails");
    // Bob adds a copy in front; alice, not told, types into her first copy.
    ASSERT_TRUE(bob.Replace(0, 0, "ab|").ok());
    ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
    const std::string before = Stored("doc");
    ASSERT_TRUE(alice.Replace(1, 0, std::to_string(n)).ok());
    Start();
    faulty_->FailNthLoad(n);
    Status s = Sync(*server_, "alice", alice, /*deliver_reply=*/false);
    EXPECT_EQ(faulty_->counters().failed_loads, 1);
    EXPECT_EQ(Stored("doc"), before);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Sync(*server_, "alice", alice).ok());
    ASSERT_TRUE(Sync(*server_, "bob", bob).ok());
    EXPECT_EQ(alice.pending_edits(), 0u);
    EXPECT_EQ(alice.text().ToString(), Stored("doc"));
    EXPECT_EQ(bob.text().ToString(), Stored("doc"));
    EXPECT_EQ(server_->stats().diffed_merges, 0);
    EXPECT_EQ(server_->stats().resyncs, 0);
  }
  EXPECT_EQ(Stored("doc"), "ab|a3b|a2b|a1b|ab|");
}

// Seeded: clients insert unique markers while commits fail, replies are
// lost and the server restarts. Once the faults stop, every client converges
// on a text holding every marker exactly once, with no full resync, and
// every merge was exact.
TEST_F(ServerOverFaultyDisk, RandomFaultsNeverLoseOrDuplicateAnEdit) {
  std::mt19937_64 rng(test_util::TestSeed(20240901));
  auto below = [&](uint64_t n) { return rng() % n; };
  constexpr int kClients = 3;
  std::vector<ClientDocument> docs(kClients, ClientDocument("doc"));
  std::vector<std::string> markers;
  // A client's first contact takes the server's text (MobWrite's rule), so
  // every client joins before anyone types.
  for (int c = 0; c < kClients; ++c) {
    ASSERT_TRUE(Sync(*server_, "client" + std::to_string(c), docs[c]).ok());
  }
  int64_t resyncs = 0, diffed_merges = 0, failures = 0, restarts = 0;
  for (int step = 0; step < 300; ++step) {
    const int c = static_cast<int>(below(kClients));
    ClientDocument& doc = docs[c];
    if (below(2) == 0) {
      // Insert between markers, so none is ever split.
      const std::string text = doc.text().ToString();
      std::vector<int64_t> gaps = {0};
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '>') gaps.push_back(static_cast<int64_t>(i) + 1);
      }
      // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
      // positive) on "<" + std::to_string(...).
      std::string marker = "<";
      marker += std::to_string(c);
      marker += ":";
      marker += std::to_string(step);
      marker += ">";
      markers.push_back(std::move(marker));
      ASSERT_TRUE(
          doc.Replace(gaps[below(gaps.size())], 0, markers.back()).ok());
    }
    const uint64_t fault = below(100);
    if (fault < 10) {
      faulty_->FailNthCommit(1);
    } else if (fault < 13) {
      faulty_->CrashBeforeNthCommit(1);
    }
    const bool deliver = below(10) != 0;
    Status s = Sync(*server_, "client" + std::to_string(c), doc, deliver);
    if (!s.ok()) {
      ASSERT_TRUE(s.code() == StatusCode::kUnavailable) << s.ToString();
      ++failures;
    }
    faulty_->Heal();  // An armed fault the request did not reach is dropped.
    if (fault < 13 || below(50) == 0) {
      resyncs += server_->stats().resyncs;
      diffed_merges += server_->stats().diffed_merges;
      ++restarts;
      Start();
    }
    clock_.Advance(std::chrono::seconds(1));
  }
  bool converged = false;
  for (int round = 0; round < 5 && !converged; ++round) {
    for (int c = 0; c < kClients; ++c) {
      ASSERT_TRUE(Sync(*server_, "client" + std::to_string(c), docs[c]).ok());
    }
    converged = true;
    for (const ClientDocument& doc : docs) {
      converged = converged && doc.pending_edits() == 0 &&
                  doc.text().ToString() == Stored("doc");
    }
  }
  resyncs += server_->stats().resyncs;
  diffed_merges += server_->stats().diffed_merges;
  ASSERT_TRUE(converged);
  const std::string final_text = Stored("doc");
  for (const std::string& m : markers) {
    const size_t first = final_text.find(m);
    EXPECT_NE(first, std::string::npos) << m << " lost";
    EXPECT_EQ(final_text.find(m, first + 1), std::string::npos)
        << m << " duplicated";
  }
  EXPECT_EQ(resyncs, 0);
  // Failed commits and restarts never cost the exact merge.
  EXPECT_EQ(diffed_merges, 0);
  EXPECT_GT(failures, 0);
  EXPECT_GT(restarts, 0);
}

// A fixed workload (three clients typing unique markers and syncing in
// turn) in which commit number N fails, for every N from 1 to the number
// of commits the workload makes without faults; then the same with the
// process crashing before commit N. A marker is acknowledged once a reply to
// a request carrying it reached its client. At the failure, every
// acknowledged marker is in the file, which is reopened as after a crash;
// once the clients have synced again, every marker is in it exactly once.
class EveryCommitFails : public ::testing::TestWithParam<bool> {
 protected:
  struct Outcome {
    int64_t commits = 0;  // Commits the workload asked of the store.
    bool failed = false;  // Commit N was reached and failed.
  };

  // Runs the workload; fails commit `n` (0: none) by an error, or by a crash
  // if `crash`.
  Outcome Run(int64_t n, bool crash) {
    TempDir dir;
    EXPECT_TRUE(dir.ok());
    const std::string path = dir.File("store.db");
    std::unique_ptr<SqliteStore> sqlite;
    std::unique_ptr<FaultInjectionStore> faulty;
    std::unique_ptr<Server> server;
    ManualClock clock(1'000'000);
    auto start = [&] {
      server.reset();
      faulty.reset();
      sqlite.reset();
      Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(path);
      EXPECT_TRUE(opened.ok()) << opened.status().ToString();
      sqlite = std::move(*opened);
      faulty = std::make_unique<FaultInjectionStore>(*sqlite);
      server = std::make_unique<Server>(*faulty, clock);
    };
    auto stored = [&] {
      Result<std::optional<DocumentRecord>> d = sqlite->LoadDocument("doc");
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      return d.ok() && d->has_value() ? (*d)->text.ToString() : "";
    };
    start();
    if (n > 0) {
      if (crash) {
        faulty->CrashBeforeNthCommit(n);
      } else {
        faulty->FailNthCommit(n, Status::IoError("injected write failure"));
      }
    }
    constexpr int kClients = 3;
    std::vector<ClientDocument> docs(kClients, ClientDocument("doc"));
    // Markers typed but not yet acknowledged, per client; and acknowledged.
    std::vector<std::vector<std::string>> typed(kClients);
    std::vector<std::string> acknowledged, all;
    Outcome outcome;
    for (int step = 0; step < 24; ++step) {
      const int c = step % kClients;
      const std::string id = "client" + std::to_string(c);
      if (step >= kClients) {  // Everyone joins before anyone types.
        std::string marker = "<";
        marker += std::to_string(step);
        marker += ">";
        // At the start or the end, never inside another marker.
        const int64_t at = step % 2 == 0 ? 0 : docs[c].text().size16();
        EXPECT_TRUE(docs[c].Replace(at, 0, marker).ok());
        typed[c].push_back(marker);
        all.push_back(marker);
      }
      const std::vector<std::string> carried = typed[c];
      // Every fourth reply after the joins is lost (each client's in turn):
      // its request's edits stay unacknowledged.
      const bool deliver = step < kClients || step % 4 != 3;
      Status s = Sync(*server, id, docs[c], deliver);
      if (!s.ok()) {
        EXPECT_TRUE(n > 0 && !outcome.failed) << s.ToString();
        outcome.failed = true;
        // The moment of failure: whatever was acknowledged is durable.
        if (crash) start();
        const std::string text = stored();
        for (const std::string& m : acknowledged) {
          EXPECT_NE(text.find(m), std::string::npos)
              << m << " was acknowledged and is lost after commit " << n
              << " failed";
        }
        faulty->Heal();
        // A first contact takes the server's text, so a client whose join
        // failed joins again before it types.
        if (step < kClients) {
          EXPECT_TRUE(Sync(*server, id, docs[c]).ok());
        }
        continue;
      }
      if (deliver) {
        acknowledged.insert(acknowledged.end(), carried.begin(), carried.end());
        typed[c].erase(typed[c].begin(), typed[c].begin() + carried.size());
      }
      clock.Advance(std::chrono::seconds(1));
    }
    outcome.commits = faulty->counters().commits;
    start();  // Reopened: the acknowledged markers are there.
    const std::string reopened = stored();
    for (const std::string& m : acknowledged) {
      EXPECT_NE(reopened.find(m), std::string::npos) << m << " lost";
    }
    for (int round = 0; round < 3; ++round) {
      for (int c = 0; c < kClients; ++c) {
        EXPECT_TRUE(Sync(*server, "client" + std::to_string(c), docs[c]).ok());
      }
    }
    const std::string final_text = stored();
    for (const std::string& m : all) {
      const size_t first = final_text.find(m);
      EXPECT_NE(first, std::string::npos) << m << " lost";
      EXPECT_EQ(final_text.find(m, first + 1), std::string::npos)
          << m << " duplicated";
    }
    for (const ClientDocument& doc : docs) {
      EXPECT_EQ(doc.text().ToString(), final_text);
      EXPECT_EQ(doc.pending_edits(), 0u);
    }
    EXPECT_EQ(server->stats().resyncs, 0);
    return outcome;
  }
};

TEST_P(EveryCommitFails, NothingAcknowledgedIsLost) {
  const bool crash = GetParam();
  const Outcome clean = Run(0, crash);
  ASSERT_FALSE(clean.failed);
  ASSERT_GT(clean.commits, 20);
  for (int64_t n = 1; n <= clean.commits; ++n) {
    SCOPED_TRACE((crash ? "crash before commit " : "commit fails: ") +
                 std::to_string(n));
    const Outcome o = Run(n, crash);
    EXPECT_TRUE(o.failed);
    if (::testing::Test::HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(ErrorOrCrash, EveryCommitFails, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Crash" : "Error";
                         });

}  // namespace
}  // namespace diffsync::store
