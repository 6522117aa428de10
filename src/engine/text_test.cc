// Tests of Text: edits against a std::u16string model (random, with
// non-BMP characters), persistence of old versions, storage sharing, the
// position rules at surrogate pairs, texts of 100 MB, and the common
// prefix/suffix of related and unrelated versions, and the cached CRC-32
// against zlib's.
//
// Random cases print their seed; DIFFSYNC_SEED=<seed> repeats a run.
#include "diffsync/engine/text.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/test_seed.h"
#include "diffsync/engine/protocol.h"
#include "dmp/diff_core.h"
#include "dmp/utf.h"

namespace diffsync::engine {
namespace {

using dmp::internal::IsCharBoundary;
using dmp::internal::ToUtf16;
using dmp::internal::ToUtf8;

uint64_t Seed() { return diffsync::test_util::TestSeed(20261125); }

// "a", "é" (2 bytes), "中" (3 bytes), "😀" (4 bytes, 2 UTF-16 units), "b".
constexpr std::string_view kMixed =
    "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"
    "b";

// A random text of about `chars` characters: mostly ASCII words, with
// accents, CJK, emoji and newlines.
std::string RandomText(std::mt19937_64& rng, size_t chars) {
  static constexpr std::string_view kPieces[] = {"a",
                                                 "b",
                                                 "c",
                                                 " ",
                                                 "e",
                                                 "the ",
                                                 "\n",
                                                 "\xC3\xA9",
                                                 "\xE4\xB8\xAD",
                                                 "\xF0\x9F\x98\x80",
                                                 "\xF0\x9F\x91\x8D",
                                                 "xyz",
                                                 "\xE2\x82\xAC"};
  std::string out;
  for (size_t i = 0; i < chars; ++i) {
    out += kPieces[rng() % std::size(kPieces)];
  }
  return out;
}

// A random position of `s` that is not inside a surrogate pair.
int64_t RandomBoundary(std::mt19937_64& rng, const std::u16string& s) {
  size_t p = rng() % (s.size() + 1);
  if (!IsCharBoundary(s, p)) --p;
  return static_cast<int64_t>(p);
}

// Expects `t` to hold exactly `model`, checking every accessor.
void ExpectText(const Text& t, const std::u16string& model) {
  const std::string utf8 = ToUtf8(model);
  ASSERT_EQ(t.size16(), static_cast<int64_t>(model.size()));
  ASSERT_EQ(t.size_bytes(), utf8.size());
  ASSERT_EQ(t.empty(), model.empty());
  ASSERT_EQ(t.ToString(), utf8);
  ASSERT_TRUE(t.Equals(utf8));
  ASSERT_TRUE(t.CheckInvariants().ok()) << t.CheckInvariants().ToString();
}

TEST(TextTest, Empty) {
  const Text t;
  ExpectText(t, u"");
  EXPECT_TRUE(t.SameStorage(Text()));
  EXPECT_EQ(t, Text::FromValidUtf8(""));
  EXPECT_EQ(t.Substr(0, 0), "");
  EXPECT_EQ(t.ByteOffset(0), 0u);
  EXPECT_EQ(t.Pos16(0), 0);
  EXPECT_TRUE(t.IsBoundary(0));
  EXPECT_FALSE(t.IsBoundary(1));
  EXPECT_EQ(t.MemoryBytes(), 0u);
  EXPECT_EQ(Text::CommonPrefix16(t, Text::FromValidUtf8("x")), 0);
  EXPECT_EQ(Text::CommonSuffix16(t, Text::FromValidUtf8("x")), 0);
  const Text abc = t.Replace(0, 0, "abc");
  ExpectText(abc, u"abc");
  ExpectText(t, u"");
}

TEST(TextTest, FromUtf8RejectsInvalidUtf8WithItsOffset) {
  const Result<Text> bad = Text::FromUtf8("ok\xC3(");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("byte 2"), std::string::npos)
      << bad.status().ToString();
  const Result<Text> good = Text::FromUtf8(kMixed);
  ASSERT_TRUE(good.ok());
  ExpectText(*good, ToUtf16(kMixed));
}

TEST(TextTest, PositionsCountUtf16Units) {
  const Text t = Text::FromValidUtf8(kMixed);
  EXPECT_EQ(t.size16(), 6);
  EXPECT_EQ(t.size_bytes(), 11u);
  const size_t bytes[] = {0, 1, 3, 6, 6, 10, 11};  // 4 is inside the emoji.
  for (int64_t p = 0; p <= 6; ++p) {
    EXPECT_EQ(t.ByteOffset(p), bytes[p]) << p;
    EXPECT_EQ(t.IsBoundary(p), p != 4) << p;
  }
  const int64_t units[] = {0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 5, 6};
  for (size_t b = 0; b <= 11; ++b) EXPECT_EQ(t.Pos16(b), units[b]) << b;
  EXPECT_EQ(t.ByteOffset(-5), 0u);
  EXPECT_EQ(t.ByteOffset(99), 11u);
  EXPECT_EQ(t.Pos16(99), 6);
  EXPECT_EQ(t.Substr(1, 2), "\xC3\xA9\xE4\xB8\xAD");
  EXPECT_EQ(t.Substr(3, 2), "\xF0\x9F\x98\x80");
  EXPECT_EQ(t.Replace(3, 2, "!").ToString(), "a\xC3\xA9\xE4\xB8\xAD!b");
  EXPECT_EQ(t.Slice(2, 4).ToString(),
            "\xE4\xB8\xAD\xF0\x9F\x98\x80"
            "b");
}

TEST(TextTest, CheckRangeNamesTheProblem) {
  const Text t = Text::FromValidUtf8(kMixed);
  EXPECT_TRUE(t.CheckRange(0, 6).ok());
  EXPECT_TRUE(t.CheckRange(6, 0).ok());
  EXPECT_TRUE(t.CheckRange(3, 2).ok());
  const Status inside = t.CheckRange(4, 1);
  EXPECT_EQ(inside.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(inside.message().find("position 4"), std::string::npos)
      << inside.ToString();
  EXPECT_FALSE(t.CheckRange(3, 1).ok());  // Ends inside the pair.
  EXPECT_EQ(t.CheckRange(5, 2).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(t.CheckRange(-1, 1).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(t.CheckRange(1, -1).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(t.CheckRange(7, 0).code(), StatusCode::kOutOfRange);
}

// Ranges that CheckRange rejects are a programming error (asserted); in
// release builds they are clamped and widened to whole characters.
TEST(TextDeathTest, InvalidRangesAssertInDebugAndStayValidInRelease) {
  const Text t = Text::FromValidUtf8(kMixed);
  Text r;
  EXPECT_DEBUG_DEATH(r = t.Replace(4, 0, "x"), "");
#ifdef NDEBUG
  // An insertion inside the pair goes before the character.
  EXPECT_EQ(r.ToString(),
            "a\xC3\xA9\xE4\xB8\xADx\xF0\x9F\x98\x80"
            "b");
#endif
  EXPECT_DEBUG_DEATH(r = t.Replace(4, 1, ""), "");
#ifdef NDEBUG
  EXPECT_EQ(r.ToString(),
            "a\xC3\xA9\xE4\xB8\xAD"
            "b");
#endif
  EXPECT_DEBUG_DEATH(r = t.Replace(3, 1, "-"), "");
#ifdef NDEBUG
  EXPECT_EQ(r.ToString(), "a\xC3\xA9\xE4\xB8\xAD-b");
#endif
  EXPECT_DEBUG_DEATH(r = t.Replace(5, 100, ""), "");
#ifdef NDEBUG
  EXPECT_EQ(r.ToString(), "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
#endif
  EXPECT_DEBUG_DEATH(r = t.Replace(-3, 1, "<"), "");
#ifdef NDEBUG
  EXPECT_EQ(r.ToString(),
            "<\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"
            "b");
#endif
  std::string s;
  EXPECT_DEBUG_DEATH(s = t.Substr(4, 2), "");
#ifdef NDEBUG
  EXPECT_EQ(s,
            "\xF0\x9F\x98\x80"
            "b");
#endif
  EXPECT_DEBUG_DEATH(r = t.Slice(2, 2), "");
#ifdef NDEBUG
  EXPECT_EQ(r.ToString(), "\xE4\xB8\xAD\xF0\x9F\x98\x80");
  EXPECT_TRUE(r.CheckInvariants().ok());
#endif
}

TEST(TextTest, EditsAtTheEdges) {
  const std::string big(5000, 'x');
  for (const std::string& start : {std::string("hello"), big}) {
    SCOPED_TRACE(start.size());
    const Text t = Text::FromValidUtf8(start);
    const int64_t n = t.size16();
    std::u16string model = ToUtf16(start);

    ExpectText(t.Replace(n, 0, "!"), model + u"!");
    ExpectText(t.Replace(0, 0, "!"), u"!" + model);
    ExpectText(t.Replace(0, n, ""), u"");
    ExpectText(t.Replace(0, n, "new"), u"new");
    ExpectText(t.Replace(n - 1, 1, ""), model.substr(0, n - 1));
    ExpectText(t.Replace(0, 1, ""), model.substr(1));
    ExpectText(t.Replace(2, 0, ""), model);
    ExpectText(t, model);

    Text all = t;
    all = std::move(all).Replace(0, n, "");
    ExpectText(all, u"");
    all = std::move(all).Replace(0, 0, "again");
    ExpectText(all, u"again");
    ExpectText(t, model);
  }
}

// Thousands of random edits, half on rvalues (edited in place where
// unshared), checked against a std::u16string; old versions are kept and
// must never change.
TEST(TextTest, RandomEditsMatchModel) {
  std::mt19937_64 rng(Seed());
  struct Version {
    Text text;
    std::u16string model;
  };
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string start =
        RandomText(rng, rng() % 3 == 0 ? 0 : rng() % 4000);
    Text text = Text::FromValidUtf8(start);
    std::u16string model = ToUtf16(start);
    std::vector<Version> kept;
    for (int step = 0; step < 1500; ++step) {
      const int64_t pos = RandomBoundary(rng, model);
      int64_t end = pos;
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 4) {
        end = pos;  // Typing.
      } else if (kind < 8) {
        end = std::min<int64_t>(model.size(), pos + 1 + rng() % 4);
      } else {
        end = std::min<int64_t>(model.size(), pos + rng() % 3000);
      }
      if (!IsCharBoundary(model, end)) ++end;
      const std::string insert =
          kind == 9 ? RandomText(rng, rng() % 2500)
                    : RandomText(rng, rng() % 3 == 0 ? 0 : 1 + rng() % 3);
      ASSERT_TRUE(text.CheckRange(pos, end - pos).ok());
      if (rng() % 2 == 0) {
        text = std::move(text).Replace(pos, end - pos, insert);
      } else {
        text = text.Replace(pos, end - pos, insert);
      }
      model.replace(pos, end - pos, ToUtf16(insert));
      ASSERT_EQ(text.size16(), static_cast<int64_t>(model.size()));
      ASSERT_EQ(text.size_bytes(), ToUtf8(model).size());
      if (step % 97 == 0) {
        ASSERT_NO_FATAL_FAILURE(ExpectText(text, model));
      }
      if (rng() % 50 == 0) kept.push_back({text, model});
      if (kept.size() > 8) kept.erase(kept.begin() + rng() % kept.size());
      if (step % 13 == 0) {
        // Reads at random ranges and positions.
        const int64_t a = RandomBoundary(rng, model);
        int64_t b = std::min<int64_t>(model.size(), a + rng() % 2000);
        if (!IsCharBoundary(model, b)) ++b;
        ASSERT_EQ(text.Substr(a, b - a), ToUtf8(model.substr(a, b - a)));
        const Text slice = text.Slice(a, b - a);
        ASSERT_NO_FATAL_FAILURE(ExpectText(slice, model.substr(a, b - a)));
        const size_t byte = ToUtf8(model.substr(0, a)).size();
        ASSERT_EQ(text.ByteOffset(a), byte);
        ASSERT_EQ(text.Pos16(byte), a);
      }
      if (step % 29 == 0 && !kept.empty()) {
        const Version& v = kept[rng() % kept.size()];
        ASSERT_EQ(
            Text::CommonPrefix16(text, v.text),
            static_cast<int64_t>(dmp::internal::CommonPrefix(model, v.model)));
        ASSERT_EQ(
            Text::CommonSuffix16(text, v.text),
            static_cast<int64_t>(dmp::internal::CommonSuffix(model, v.model)));
        ASSERT_EQ(text == v.text, model == v.model);
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectText(text, model));
    for (const Version& v : kept)
      ASSERT_NO_FATAL_FAILURE(ExpectText(v.text, v.model));
  }
}

TEST(TextTest, CopiesShareStorageAndEditsCopyOnlyAPath) {
  std::mt19937_64 rng(Seed() + 1);
  const std::string content = RandomText(rng, 300000);
  const Text original = Text::FromValidUtf8(content);
  const size_t full = original.MemoryBytes();
  EXPECT_GE(full, content.size());
  EXPECT_LE(full, content.size() * 3 / 2);

  const Text copy = original;  // NOLINT: the copy is the point.
  EXPECT_TRUE(copy.SameStorage(original));
  EXPECT_EQ(copy, original);
  EXPECT_EQ(copy.MemoryBytes(), full);
  const Text both[] = {original, copy};
  EXPECT_EQ(Text::MemoryBytes(both), full);

  const int64_t mid = original.size16() / 2;
  const int64_t at = original.IsBoundary(mid) ? mid : mid + 1;
  // '#' is not in RandomText's alphabet: the common parts end at `at`.
  const Text edited = original.Replace(at, 0, "#typed#");
  EXPECT_FALSE(edited.SameStorage(original));
  EXPECT_EQ(original.ToString(), content);
  EXPECT_EQ(edited.Substr(at, 7), "#typed#");
  const Text versions[] = {original, edited};
  // One new leaf and the inner nodes above it.
  EXPECT_LT(Text::MemoryBytes(versions) - full, 4096u);
  EXPECT_EQ(Text::CommonPrefix16(original, edited), at);
  EXPECT_EQ(Text::CommonSuffix16(original, edited), original.size16() - at);

  // Moving the only reference edits in place: no new storage at all.
  Text solo = Text::FromValidUtf8(content);
  const size_t before = solo.MemoryBytes();
  solo = std::move(solo).Replace(at, 1, "");
  EXPECT_LE(solo.MemoryBytes(), before);
}

TEST(TextTest, CommonPrefixAndSuffixNeverSplitACharacter) {
  const Text a = Text::FromValidUtf8("a\xF0\x9F\x98\x80z");  // a😀z
  const Text b = Text::FromValidUtf8("a\xF0\x9F\x98\x81z");  // a😁z
  EXPECT_EQ(Text::CommonPrefix16(a, b), 1);
  EXPECT_EQ(Text::CommonSuffix16(a, b), 1);
  const Text c = Text::FromValidUtf8("\xC3\xA9");  // é
  const Text d = Text::FromValidUtf8("\xC3\xA8");  // è: same lead byte.
  EXPECT_EQ(Text::CommonPrefix16(c, d), 0);
  const Text e = Text::FromValidUtf8("\xC2\xA9");  // ©: same last byte as é.
  EXPECT_EQ(Text::CommonSuffix16(c, e), 0);
  EXPECT_EQ(Text::CommonPrefix16(a, a.Replace(0, 0, "")), 4);
}

TEST(TextTest, CommonPrefixOfUnrelatedStorage) {
  std::mt19937_64 rng(Seed() + 2);
  const std::string content = RandomText(rng, 50000);
  const Text x = Text::FromValidUtf8(content);
  // Same content, built differently: nothing shared, bytes compared.
  Text y = Text::FromValidUtf8(content.substr(0, 1000));
  y = std::move(y).Replace(y.size16(), 0, content.substr(1000));
  EXPECT_EQ(x, y);
  EXPECT_EQ(Text::CommonPrefix16(x, y), x.size16());
  EXPECT_EQ(Text::CommonSuffix16(x, y), x.size16());
  const Text z = y.Replace(y.size16(), 0, "tail");
  EXPECT_FALSE(x == z);
  EXPECT_EQ(Text::CommonPrefix16(x, z), x.size16());
  EXPECT_EQ(Text::CommonSuffix16(x, z), 0);
}

TEST(TextTest, ForEachChunkCoversTheTextAndCanStop) {
  std::mt19937_64 rng(Seed() + 3);
  const std::string content = RandomText(rng, 20000);
  const Text t = Text::FromValidUtf8(content);
  std::string joined;
  int chunks = 0;
  t.ForEachChunk([&](std::string_view chunk) {
    EXPECT_FALSE(chunk.empty());
    joined += chunk;
    ++chunks;
  });
  EXPECT_EQ(joined, content);
  EXPECT_GT(chunks, 1);
  int seen = 0;
  t.ForEachChunk([&](std::string_view) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
  EXPECT_FALSE(t.Equals(content + "x"));
  EXPECT_FALSE(t.Equals(std::string(content.size(), 'q')));
}

// A chunk of a Text inserted into that same Text, edited in place: a small
// part (inside its own leaf) and the whole chunk replacing itself and more
// (through the general path, which must read it before freeing its leaf).
TEST(TextTest, InsertingItsOwnChunk) {
  std::mt19937_64 rng(Seed() + 6);
  const std::string content = RandomText(rng, 3000);
  for (const bool whole : {false, true}) {
    Text t = Text::FromValidUtf8(content);
    std::string_view chunk;
    t.ForEachChunk([&](std::string_view c) {
      chunk = c;
      return false;
    });
    if (!whole) chunk = chunk.substr(0, 10);
    const std::string inserted(chunk);
    // The small part goes in after its own start, overlapping itself.
    const int64_t at = whole ? 0 : t.Pos16(5);
    const int64_t del = whole ? t.Pos16(chunk.size()) + 5 : 0;
    const size_t at_byte = t.ByteOffset(at);
    const size_t end_byte = t.ByteOffset(at + del);
    t = std::move(t).Replace(at, del, chunk);
    EXPECT_EQ(t.ToString(),
              content.substr(0, at_byte) + inserted + content.substr(end_byte));
    EXPECT_TRUE(t.CheckInvariants().ok()) << t.CheckInvariants().ToString();
  }
}

TEST(TextTest, HundredMegabytes) {
  std::mt19937_64 rng(Seed() + 4);
  std::string content = RandomText(rng, 4000);
  while (content.size() < 100'000'000) content += content;
  content.resize(100'000'000);
  while (dmp::internal::FindInvalidUtf8(content) != std::string_view::npos) {
    content.pop_back();
  }
  const Text original = Text::FromValidUtf8(content);
  ASSERT_TRUE(original.CheckInvariants().ok())
      << original.CheckInvariants().ToString();
  ASSERT_TRUE(original.Equals(content));
  EXPECT_EQ(original.size16(),
            static_cast<int64_t>(dmp::internal::Utf16Length(content)));

  // Edits from the end towards the start keep each position the same in
  // the original and the edited text, so the expected result is one pass.
  std::vector<size_t> at(3000);
  for (size_t& b : at)
    b = original.ByteOffset(original.Pos16(rng() % content.size()));
  std::sort(at.begin(), at.end(), std::greater<>());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  struct Edit {
    size_t at;
    size_t del_bytes;
    std::string insert;
  };
  std::vector<Edit> edits;
  Text t = original;
  for (const size_t b : at) {
    const int64_t pos = t.Pos16(b);
    int64_t end = pos;
    if (rng() % 3 == 0 && pos < t.size16()) {
      end = t.IsBoundary(pos + 1) ? pos + 1 : pos + 2;
    }
    Edit e{b, t.ByteOffset(end) - b, RandomText(rng, rng() % 4)};
    t = std::move(t).Replace(pos, end - pos, e.insert);
    edits.push_back(std::move(e));
  }
  ASSERT_TRUE(t.CheckInvariants().ok()) << t.CheckInvariants().ToString();
  std::string expected;
  size_t done = 0;
  for (auto e = edits.rbegin(); e != edits.rend(); ++e) {
    expected.append(content, done, e->at - done);
    expected += e->insert;
    done = e->at + e->del_bytes;
  }
  expected.append(content, done);
  EXPECT_TRUE(t.Equals(expected));
  EXPECT_TRUE(original.Equals(content));
}

TEST(TextTest, CopiesAreSafeAcrossThreads) {
  std::mt19937_64 rng(Seed() + 5);
  const std::string content = RandomText(rng, 100000);
  const Text shared = Text::FromValidUtf8(content);
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&shared, &results, k] {
      Text mine = shared;
      for (int i = 0; i < 2000; ++i) {
        const int64_t pos = (i * 7919 + k * 104729) % (mine.size16() + 1);
        if (!mine.IsBoundary(pos)) continue;
        Text before = mine;
        mine = std::move(mine).Replace(pos, 0, "k");
        mine = mine.Replace(pos, 1, "");
        if (!(mine == before)) return;
      }
      results[k] = mine.ToString();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& r : results) EXPECT_EQ(r, content);
  EXPECT_EQ(shared.ToString(), content);
}

uint32_t ZlibCrc(const std::string& s) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data()),
            static_cast<uInt>(s.size())));
}

TEST(TextTest, Crc32OfKnownTexts) {
  EXPECT_EQ(Text().Crc32(), 0u);
  EXPECT_EQ(Text::FromValidUtf8("123456789").Crc32(), 0xCBF43926u);
  std::mt19937_64 rng(Seed() + 6);
  // engine::Crc32 itself (folded 64 and 16 bytes at a time where the CPU
  // can, then byte by byte), continued from a previous CRC as zlib's.
  for (size_t size = 0; size < 1500; size += 1 + rng() % 7) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ASSERT_EQ(Crc32(bytes), ZlibCrc(bytes)) << size << " bytes";
    const size_t cut = rng() % (size + 1);
    ASSERT_EQ(Crc32(std::string_view(bytes).substr(cut),
                    Crc32(std::string_view(bytes).substr(0, cut))),
              ZlibCrc(bytes));
  }
  // Sizes around one leaf and around several levels of inner nodes.
  for (const size_t chars : {1, 700, 1100, 5000, 90000, 400000}) {
    const std::string content = RandomText(rng, chars);
    const Text text = Text::FromValidUtf8(content);
    EXPECT_EQ(text.Crc32(), ZlibCrc(content)) << chars << " characters";
    EXPECT_TRUE(text.CheckInvariants().ok());
  }
}

// The cached CRC after every edit of random sequences (in place and on
// shared versions, small and large edits, slices) equals zlib's crc32 of
// the flattened text, and the versions kept along the way keep theirs.
TEST(TextTest, Crc32EqualsZlibAfterRandomEdits) {
  std::mt19937_64 rng(Seed() + 7);
  struct Version {
    Text text;
    std::string content;
  };
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Text text =
        Text::FromValidUtf8(RandomText(rng, round == 3 ? 60000 : rng() % 5000));
    std::vector<Version> kept;
    for (int step = 0; step < 1200; ++step) {
      std::u16string model = ToUtf16(text.ToString());
      const int64_t pos = RandomBoundary(rng, model);
      int64_t end = std::min<int64_t>(
          model.size(), pos + (rng() % 4 == 0 ? rng() % 3000 : rng() % 3));
      if (!IsCharBoundary(model, end)) ++end;
      const std::string insert = RandomText(
          rng, rng() % 10 == 0 ? rng() % 2500 : rng() % 3);
      // Reading the CRC first caches it along the path the edit changes.
      if (rng() % 2 == 0) (void)text.Crc32();
      if (rng() % 2 == 0) {
        text = std::move(text).Replace(pos, end - pos, insert);
      } else {
        text = text.Replace(pos, end - pos, insert);
      }
      const std::string content = text.ToString();
      ASSERT_EQ(text.Crc32(), ZlibCrc(content)) << "step " << step;
      if (step % 50 == 0) {
        ASSERT_TRUE(text.CheckInvariants().ok())
            << text.CheckInvariants().ToString();
        const int64_t a = RandomBoundary(rng, model);
        int64_t b = std::min<int64_t>(model.size(), a + rng() % 4000);
        if (!IsCharBoundary(model, b)) ++b;
        if (b <= text.size16() && text.IsBoundary(a) && text.IsBoundary(b)) {
          const Text slice = text.Slice(a, b - a);
          ASSERT_EQ(slice.Crc32(), ZlibCrc(slice.ToString()));
        }
      }
      if (rng() % 40 == 0) kept.push_back({text, content});
    }
    for (const Version& v : kept) {
      ASSERT_EQ(v.text.Crc32(), ZlibCrc(v.content));
      ASSERT_TRUE(v.text.CheckInvariants().ok());
    }
  }
}

TEST(TextTest, Crc32IsSafeAcrossThreads) {
  std::mt19937_64 rng(Seed() + 8);
  const std::string content = RandomText(rng, 200000);
  const Text shared = Text::FromValidUtf8(content);
  const uint32_t expected = ZlibCrc(content);
  std::vector<std::thread> threads;
  // Each thread reads the shared version's CRC (first use races between
  // threads) and CRCs of its own edits of it.
  std::vector<int> all_right(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) {
        const int64_t pos = (i * 7919 + k * 104729) % (shared.size16() + 1);
        if (!shared.IsBoundary(pos)) continue;
        const Text edited = shared.Replace(pos, 0, "k");
        if (shared.Crc32() != expected || edited.Crc32() == expected ||
            edited.Replace(pos, 1, "").Crc32() != expected) {
          return;
        }
      }
      all_right[k] = 1;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(all_right, std::vector<int>(4, 1));
  EXPECT_TRUE(shared.CheckInvariants().ok());
}

}  // namespace
}  // namespace diffsync::engine
