#include "diffsync/engine/change_set.h"
#include "common/test_seed.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

namespace diffsync::engine {
namespace {

Text T(std::string_view s) { return Text::FromValidUtf8(s); }

std::string Apply(const ChangeSet& c, std::string_view s) {
  Result<Text> r = c.Apply(T(s));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->ToString() : "";
}

uint64_t Seed() {
  return diffsync::test_util::TestSeed(std::random_device{}());
}

TEST(ChangeSet, ParsesAndWritesDmpDeltas) {
  Result<ChangeSet> c =
      ChangeSet::FromDelta("=4\t-1\t+ed\t=6\t-3\t+a\t=5\t+old dog", 19);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Apply(*c, "jumps over the lazy"), "jumped over a lazyold dog");
  EXPECT_EQ(c->ToDelta(), "=4\t-1\t+ed\t=6\t-3\t+a\t=5\t+old dog");
  EXPECT_EQ(c->base_length(), 19);
  EXPECT_EQ(c->target_length(), 25);
}

TEST(ChangeSet, DeltaMustCoverTheBaseExactly) {
  EXPECT_EQ(ChangeSet::FromDelta("=3", 4).status().message(),
            "delta: covers 3 of the 4 units of the base text");
  EXPECT_FALSE(ChangeSet::FromDelta("=5", 4).ok());
  EXPECT_FALSE(ChangeSet::FromDelta("=2\t*2", 4).ok());
  EXPECT_FALSE(ChangeSet::FromDelta("=2\t+%zz\t=2", 4).ok());
  EXPECT_TRUE(ChangeSet::FromDelta("", 0).ok());
}

TEST(ChangeSet, OpenDeltaRetainsTheRestOfTheBase) {
  Result<ChangeSet> c = ChangeSet::FromOpenDelta("=2\t+x", 5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToDelta(), "=2\t+x\t=3");
  EXPECT_TRUE(ChangeSet::FromOpenDelta("", 4)->IsIdentity());
  // A full delta reads the same; counts past the base are still refused.
  EXPECT_EQ(ChangeSet::FromOpenDelta("=2\t-3", 5)->ToDelta(), "=2\t-3");
  EXPECT_FALSE(ChangeSet::FromOpenDelta("=6", 5).ok());
}

TEST(ChangeSet, ApplyRefusesToSplitASurrogatePair) {
  // "a😀": the emoji is units 1 and 2.
  Result<ChangeSet> c = ChangeSet::FromDelta("=2\t-1", 3);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->Apply(T("a\xF0\x9F\x98\x80")).ok());
  Result<ChangeSet> whole = ChangeSet::FromDelta("=1\t-2\t+b", 3);
  EXPECT_EQ(Apply(*whole, "a\xF0\x9F\x98\x80"), "ab");
}

TEST(ChangeSet, MapsPositionsLikeACursor) {
  ChangeSet c = *ChangeSet::FromDelta("=2\t+XY\t=2\t-3\t=3", 10);
  EXPECT_EQ(c.MapPosition(0), 0);
  EXPECT_EQ(c.MapPosition(2, /*after_inserts=*/false), 2);  // Typing at the caret.
  EXPECT_EQ(c.MapPosition(2, /*after_inserts=*/true), 4);
  EXPECT_EQ(c.MapPosition(5), 6);  // Inside the deletion: collapses to its start.
  EXPECT_EQ(c.MapPosition(7), 6);
  EXPECT_EQ(c.MapPosition(8), 7);
  EXPECT_EQ(c.MapPosition(10), 9);
}

TEST(ChangeSet, TransformMergesIndependentEdits) {
  ChangeSet mine = *ChangeSet::FromDelta("=4\t+big \t=3", 7);
  ChangeSet theirs = *ChangeSet::FromDelta("=7\t+!", 7);
  auto [theirs_after, mine_after] = ChangeSet::Transform(theirs, mine);
  EXPECT_EQ(Apply(theirs_after, Apply(mine, "The cat")), "The big cat!");
  EXPECT_EQ(Apply(mine_after, Apply(theirs, "The cat")), "The big cat!");
}

TEST(ChangeSet, TransformPutsTheFirstArgumentsInsertFirst) {
  ChangeSet a = *ChangeSet::FromDelta("=1\t+A", 1);
  ChangeSet b = *ChangeSet::FromDelta("=1\t+B", 1);
  auto [a_after, b_after] = ChangeSet::Transform(a, b);
  EXPECT_EQ(Apply(a_after, Apply(b, "x")), "xAB");
  EXPECT_EQ(Apply(b_after, Apply(a, "x")), "xAB");
}

// Random changes of random texts: Compose agrees with applying in sequence,
// Transform converges, ToDelta/FromDelta round-trip.
TEST(ChangeSet, RandomizedAgainstApplication) {
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("DIFFSYNC_SEED=" + std::to_string(seed));
  const std::string pieces[] = {"a", "b", " ", "\xC3\xA9", "\xE4\xB8\xAD",
                                "\xF0\x9F\x98\x80", "\n"};
  auto random_text = [&](int max) {
    std::string s;
    const int n = static_cast<int>(rng() % (max + 1));
    for (int i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
    return s;
  };
  // A random change of `text`, walking whole characters.
  auto random_change = [&](const std::string& text) {
    ChangeSet c;
    const std::u16string u16 = [&] {
      std::u16string u;
      for (size_t i = 0; i < text.size();) {
        const unsigned char b = text[i];
        const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        u.push_back(len == 4 ? 2 : 1);  // Units of this character.
        i += len;
      }
      return u;
    }();
    for (char16_t units : u16) {
      switch (rng() % 4) {
        case 0:
          c.Delete(units);
          break;
        case 1:
          c.Insert(random_text(2));
          c.Retain(units);
          break;
        default:
          c.Retain(units);
      }
    }
    if (rng() % 2) c.Insert(random_text(3));
    return c;
  };
  for (int i = 0; i < 2000; ++i) {
    const std::string text = random_text(12);
    const ChangeSet a = random_change(text);
    const ChangeSet b = random_change(text);
    const std::string after_a = Apply(a, text);
    const ChangeSet c = random_change(after_a);
    ASSERT_EQ(Apply(ChangeSet::Compose(a, c), text), Apply(c, after_a));
    auto [a_after, b_after] = ChangeSet::Transform(a, b);
    ASSERT_EQ(Apply(a_after, Apply(b, text)), Apply(b_after, after_a));
    Result<ChangeSet> parsed = ChangeSet::FromDelta(a.ToDelta(), a.base_length());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(Apply(*parsed, text), after_a);
  }
}

}  // namespace
}  // namespace diffsync::engine
