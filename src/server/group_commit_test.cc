#include "server/group_commit.h"

#include <gtest/gtest.h>

#include "server/service_test_util.h"

namespace diffsync::server {
namespace {

using test_util::GatedStore;
using test_util::ManualExecutor;

engine::WriteBatch DocumentBatch(const std::string& name,
                                 const std::string& text) {
  engine::WriteBatch batch;
  batch.documents.push_back({name, *engine::Text::FromUtf8(text), 1});
  return batch;
}

std::string StoredText(engine::Store& store, const std::string& name) {
  Result<std::optional<engine::DocumentRecord>> doc = store.LoadDocument(name);
  if (!doc.ok() || !doc->has_value()) return "<none>";
  return (*doc)->text.ToString();
}

class GroupCommitTest : public ::testing::Test {
 protected:
  GatedStore durable_;
  ManualExecutor executor_;
  int failures_ = 0;
  GroupCommitStore staged_{durable_, executor_.Post(),
                           [this](const Status&) { ++failures_; }};
};

TEST_F(GroupCommitTest, AWaiterRunsOnlyOnceItsBatchIsDurable) {
  durable_.Hold();
  ASSERT_TRUE(staged_.Commit(DocumentBatch("a", "one")).ok());
  std::optional<Status> result;
  staged_.WhenDurable([&](Status s) { result = s; });
  durable_.WaitEntered(1);
  executor_.RunReady();
  EXPECT_FALSE(result.has_value()) << "the commit is still held";
  EXPECT_EQ(StoredText(durable_, "a"), "<none>");
  // The engine already reads its own staged write.
  EXPECT_EQ(StoredText(staged_, "a"), "one");
  durable_.Release();
  executor_.RunUntil([&] { return result.has_value(); });
  EXPECT_TRUE(result->ok());
  EXPECT_EQ(StoredText(durable_, "a"), "one");
  EXPECT_EQ(staged_.pending(), 0);
}

TEST_F(GroupCommitTest, BatchesStagedDuringACommitShareTheNextOne) {
  durable_.Hold();
  ASSERT_TRUE(staged_.Commit(DocumentBatch("first", "x")).ok());
  int durable_waiters = 0;
  staged_.WhenDurable([&](Status s) { durable_waiters += s.ok(); });
  durable_.WaitEntered(1);  // The commit thread holds "first" alone.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        staged_.Commit(DocumentBatch("doc" + std::to_string(i), "v")).ok());
    staged_.WhenDurable([&](Status s) { durable_waiters += s.ok(); });
  }
  EXPECT_EQ(staged_.pending(), 11);
  durable_.Release();
  executor_.RunUntil([&] { return durable_waiters == 11; });
  EXPECT_EQ(durable_.commits(), 2) << "ten requests, one transaction";
  EXPECT_EQ(StoredText(durable_, "doc9"), "v");
}

TEST(GroupCommitGatherTest, ACommitWaitsForTheGatherUnlessStopping) {
  GatedStore durable;
  ManualExecutor executor;
  int durable_waiters = 0;
  {
    // An hour: the second commit can only start early because the store
    // is being destroyed.
    GroupCommitStore staged(durable, executor.Post(), nullptr, nullptr,
                            std::chrono::hours(1));
    ASSERT_TRUE(staged.Commit(DocumentBatch("first", "x")).ok());
    staged.WhenDurable([&](Status s) { durable_waiters += s.ok(); });
    executor.RunUntil([&] { return durable_waiters == 1; });
    EXPECT_EQ(durable.commits(), 1) << "an idle store commits at once";
    ASSERT_TRUE(staged.Commit(DocumentBatch("second", "y")).ok());
    executor.RunReady();
    EXPECT_EQ(StoredText(durable, "second"), "<none>")
        << "committed within the gather window";
    EXPECT_EQ(StoredText(staged, "second"), "y");
  }
  EXPECT_EQ(durable.commits(), 2) << "stopping commits what is staged";
  EXPECT_EQ(StoredText(durable, "second"), "y");
}

TEST_F(GroupCommitTest, AFailedCommitFailsEverythingStagedAndFallsBack) {
  ASSERT_TRUE(staged_.Commit(DocumentBatch("a", "durable")).ok());
  bool first = false;
  staged_.WhenDurable([&](Status s) { first = s.ok(); });
  executor_.RunUntil([&] { return first; });

  durable_.Hold();
  durable_.FailNext();
  ASSERT_TRUE(staged_.Commit(DocumentBatch("a", "lost")).ok());
  std::vector<Status> results;
  staged_.WhenDurable([&](Status s) { results.push_back(s); });
  durable_.WaitEntered(2);
  // Staged while the failing commit runs: it may build on it, so it fails too.
  ASSERT_TRUE(staged_.Commit(DocumentBatch("b", "also lost")).ok());
  staged_.WhenDurable([&](Status s) { results.push_back(s); });
  durable_.Release();
  executor_.RunUntil([&] { return results.size() == 2; });
  EXPECT_EQ(results[0].code(), StatusCode::kIoError);
  EXPECT_EQ(results[1].code(), StatusCode::kIoError);
  EXPECT_EQ(failures_, 1);
  EXPECT_EQ(StoredText(staged_, "a"), "durable");
  EXPECT_EQ(StoredText(staged_, "b"), "<none>");

  // And it keeps working afterwards.
  ASSERT_TRUE(staged_.Commit(DocumentBatch("b", "later")).ok());
  bool later = false;
  staged_.WhenDurable([&](Status s) { later = s.ok(); });
  executor_.RunUntil([&] { return later; });
  EXPECT_EQ(StoredText(durable_, "b"), "later");
}

TEST_F(GroupCommitTest, ADeleteThenRecreateInOneGroupKeepsTheLatest) {
  durable_.Hold();
  ASSERT_TRUE(staged_.Commit(DocumentBatch("held", "x")).ok());
  durable_.WaitEntered(1);
  ASSERT_TRUE(staged_.Commit(DocumentBatch("a", "old")).ok());
  engine::WriteBatch remove;
  remove.deleted_documents.push_back("a");
  ASSERT_TRUE(staged_.Commit(remove).ok());
  EXPECT_EQ(StoredText(staged_, "a"), "<none>");
  ASSERT_TRUE(staged_.Commit(DocumentBatch("a", "new")).ok());
  bool done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  durable_.Release();
  executor_.RunUntil([&] { return done; });
  EXPECT_EQ(StoredText(durable_, "a"), "new");
}

std::vector<int64_t> Revisions(engine::Store& store, const std::string& doc) {
  Result<std::vector<engine::ChangeRecord>> changes = store.LoadChanges(doc, 0);
  std::vector<int64_t> out;
  for (const auto& c : *changes) out.push_back(c.revision);
  return out;
}

engine::WriteBatch ChangeBatch(const std::string& doc, int64_t first,
                               int64_t count) {
  engine::WriteBatch batch = DocumentBatch(doc, "t");
  for (int64_t r = first; r < first + count; ++r) {
    batch.changes.push_back({doc, r, 1, "=1"});
  }
  return batch;
}

TEST_F(GroupCommitTest, ChangesAreReadThroughTheOverlayAndTrimmed) {
  ASSERT_TRUE(staged_.Commit(ChangeBatch("a", 0, 3)).ok());
  bool done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  executor_.RunUntil([&] { return done; });
  durable_.Hold();
  ASSERT_TRUE(staged_.Commit(ChangeBatch("a", 3, 2)).ok());
  durable_.WaitEntered(2);
  engine::WriteBatch trim;
  trim.trimmed_changes.emplace_back("a", 2);
  ASSERT_TRUE(staged_.Commit(trim).ok());
  EXPECT_EQ(Revisions(staged_, "a"), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(staged_.LoadChanges("a", 4)->size(), 1u);
  done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  durable_.Release();
  executor_.RunUntil([&] { return done; });
  EXPECT_EQ(Revisions(durable_, "a"), (std::vector<int64_t>{2, 3, 4}));
}

TEST_F(GroupCommitTest, ADocumentDeletedAndRecreatedInOneGroupLosesOldChanges) {
  ASSERT_TRUE(staged_.Commit(ChangeBatch("a", 0, 3)).ok());
  bool done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  executor_.RunUntil([&] { return done; });
  durable_.Hold();
  ASSERT_TRUE(staged_.Commit(DocumentBatch("held", "x")).ok());
  durable_.WaitEntered(2);
  engine::WriteBatch remove;
  remove.deleted_documents.push_back("a");
  ASSERT_TRUE(staged_.Commit(remove).ok());
  EXPECT_TRUE(Revisions(staged_, "a").empty());
  ASSERT_TRUE(staged_.Commit(ChangeBatch("a", 0, 1)).ok());
  EXPECT_EQ(Revisions(staged_, "a"), (std::vector<int64_t>{0}));
  done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  durable_.Release();
  executor_.RunUntil([&] { return done; });
  EXPECT_EQ(Revisions(durable_, "a"), (std::vector<int64_t>{0}));
  EXPECT_EQ(StoredText(durable_, "a"), "t");
}

TEST_F(GroupCommitTest, WaitingWithNothingStagedCompletesAtOnce) {
  bool done = false;
  staged_.WhenDurable([&](Status s) { done = s.ok(); });
  executor_.RunUntil([&] { return done; });
  EXPECT_EQ(durable_.commits(), 0);
}

}  // namespace
}  // namespace diffsync::server
