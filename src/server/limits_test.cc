#include "server/limits.h"

#include <gtest/gtest.h>

namespace diffsync::server {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, AllowsTheBurstThenTheRate) {
  const TokenBucket::TimePoint start;
  TokenBucket bucket(/*per_second=*/10, /*burst=*/3, start);
  EXPECT_TRUE(bucket.TryTake(start));
  EXPECT_TRUE(bucket.TryTake(start));
  EXPECT_TRUE(bucket.TryTake(start));
  EXPECT_FALSE(bucket.TryTake(start));
  EXPECT_EQ(bucket.Wait(start), milliseconds(100));
  // 10 a second: one token every 100 ms.
  EXPECT_FALSE(bucket.TryTake(start + milliseconds(99)));
  EXPECT_TRUE(bucket.TryTake(start + milliseconds(100)));
  EXPECT_FALSE(bucket.TryTake(start + milliseconds(100)));
  // A long pause refills up to the burst, not beyond.
  const auto later = start + std::chrono::seconds(60);
  EXPECT_EQ(bucket.Wait(later), milliseconds(0));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.TryTake(later)) << i;
  EXPECT_FALSE(bucket.TryTake(later));
}

TEST(TokenBucketTest, ARateOfZeroIsNoLimit) {
  const TokenBucket::TimePoint start;
  TokenBucket bucket(0, 1, start);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(bucket.TryTake(start)) << i;
  EXPECT_EQ(bucket.Wait(start), milliseconds(0));
}

TEST(TokenBucketTest, TimeGoingBackwardsGivesNothing) {
  const auto start = TokenBucket::TimePoint() + std::chrono::seconds(10);
  TokenBucket bucket(1, 1, start);
  EXPECT_TRUE(bucket.TryTake(start));
  EXPECT_FALSE(bucket.TryTake(start - std::chrono::seconds(5)));
  EXPECT_TRUE(bucket.TryTake(start + std::chrono::seconds(1)));
}

TEST(DocumentRosterTest, AdmitsUpToTheLimitPerDocument) {
  DocumentRoster roster(/*max_clients=*/2, /*window_millis=*/1000);
  EXPECT_TRUE(roster.Admit("doc", "a", 0));
  EXPECT_TRUE(roster.Admit("doc", "b", 0));
  EXPECT_FALSE(roster.Admit("doc", "c", 0));
  // Those already there keep coming; another document has its own limit.
  EXPECT_TRUE(roster.Admit("doc", "a", 10));
  EXPECT_TRUE(roster.Admit("other", "c", 10));
  EXPECT_EQ(roster.ClientsOf("doc"), 2u);
  EXPECT_EQ(roster.ClientsOf("other"), 1u);
}

TEST(DocumentRosterTest, AClientIdlePastTheWindowLeavesRoom) {
  DocumentRoster roster(2, 1000);
  EXPECT_TRUE(roster.Admit("doc", "a", 0));
  EXPECT_TRUE(roster.Admit("doc", "b", 500));
  EXPECT_FALSE(roster.Admit("doc", "c", 1000));  // a used it 1000 ms ago.
  EXPECT_TRUE(roster.Admit("doc", "c", 1001));
  EXPECT_FALSE(roster.Admit("doc", "a", 1001));  // a has to wait its turn.
  roster.Prune(2000);
  EXPECT_EQ(roster.ClientsOf("doc"), 1u);  // c
  roster.Prune(5000);
  EXPECT_EQ(roster.ClientsOf("doc"), 0u);
}

TEST(DocumentRosterTest, ZeroIsNoLimit) {
  DocumentRoster roster(0, 1000);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(roster.Admit("doc", std::to_string(i), 0)) << i;
  }
  EXPECT_EQ(roster.ClientsOf("doc"), 0u);
}

}  // namespace
}  // namespace diffsync::server
