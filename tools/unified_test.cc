#include "unified.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "common/test_seed.h"

namespace diffsync::cli {
namespace {

using dmp::Diff;
using dmp::Diffs;
using dmp::Operation;

constexpr Operation kEq = Operation::kEqual;
constexpr Operation kDel = Operation::kDelete;
constexpr Operation kIns = Operation::kInsert;

std::string OldText(const Diffs& diffs) {
  std::string out;
  for (const Diff& d : diffs) {
    if (d.operation != kIns) out += d.text;
  }
  return out;
}

std::string NewText(const Diffs& diffs) {
  std::string out;
  for (const Diff& d : diffs) {
    if (d.operation != kDel) out += d.text;
  }
  return out;
}

std::vector<std::string> SplitKeepingNewlines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.emplace_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return lines;
}

// Applies a unified diff to `old_text` the way patch(1) would with no fuzz,
// failing the test on any inconsistency (bad counts, mismatched context,
// hunks out of order or with more than `context` lines of edge context).
std::string ApplyUnified(std::string_view old_text, std::string_view unified,
                         int context) {
  std::vector<std::string> old_lines = SplitKeepingNewlines(old_text);
  std::vector<std::string> rows = SplitKeepingNewlines(unified);
  std::string out;
  size_t cursor = 0;  // Next old line not yet copied or consumed.
  size_t r = 0;
  if (!rows.empty()) {
    EXPECT_EQ(rows.at(0), "--- a\n");
    EXPECT_EQ(rows.at(1), "+++ b\n");
    r = 2;
  }
  while (r < rows.size()) {
    // "@@ -start,count +start,count @@", where ",1" may be left out.
    int64_t start1 = 0, count1 = 1, start2 = 0, count2 = 1;
    const std::string& header = rows[r++];
    std::istringstream in(header);
    std::string at, side1, side2;
    in >> at >> side1 >> side2;
    EXPECT_EQ(at, "@@");
    auto parse = [](const std::string& side, int64_t& start, int64_t& count) {
      size_t comma = side.find(',');
      start = std::stoll(side.substr(1, comma - 1));
      count =
          comma == std::string::npos ? 1 : std::stoll(side.substr(comma + 1));
    };
    parse(side1, start1, count1);
    parse(side2, start2, count2);
    // Body rows with their line text ("\ No newline" strips the '\n').
    std::vector<std::pair<char, std::string>> body;
    while (r < rows.size() && rows[r].rfind("@@", 0) != 0) {
      if (rows[r] == "\\ No newline at end of file\n") {
        EXPECT_FALSE(body.empty());
        EXPECT_EQ(body.back().second.back(), '\n');
        body.back().second.pop_back();
      } else {
        body.push_back({rows[r][0], rows[r].substr(1)});
      }
      ++r;
    }
    size_t first = static_cast<size_t>(count1 == 0 ? start1 : start1 - 1);
    EXPECT_GE(first, cursor) << header;
    while (cursor < first) out += old_lines.at(cursor++);
    int64_t seen1 = 0, seen2 = 0;
    for (const auto& [prefix, text] : body) {
      if (prefix == ' ' || prefix == '-') {
        EXPECT_LT(cursor, old_lines.size()) << header;
        if (cursor >= old_lines.size()) return out;
        EXPECT_EQ(old_lines[cursor], text) << header;
        ++cursor;
        ++seen1;
      }
      if (prefix == ' ' || prefix == '+') {
        out += text;
        ++seen2;
      }
      EXPECT_TRUE(prefix == ' ' || prefix == '-' || prefix == '+') << header;
    }
    EXPECT_EQ(seen1, count1) << header;
    EXPECT_EQ(seen2, count2) << header;
    // Leading and trailing context: at most `context` lines.
    int lead = 0;
    while (lead < static_cast<int>(body.size()) && body[lead].first == ' ') {
      ++lead;
    }
    int trail = 0;
    while (trail < static_cast<int>(body.size()) &&
           body[body.size() - 1 - trail].first == ' ') {
      ++trail;
    }
    EXPECT_LE(lead, context) << header;
    EXPECT_LE(trail, context) << header;
    EXPECT_LT(lead, static_cast<int>(body.size())) << "hunk without changes";
  }
  while (cursor < old_lines.size()) out += old_lines[cursor++];
  return out;
}

TEST(WholeLinesTest, WidensEditsToLines) {
  Diffs diffs = {{kEq, "a\nb"}, {kDel, "c"}, {kIns, "C"}, {kEq, "\nd\n"}};
  Diffs expected = {{kEq, "a\n"}, {kDel, "bc\n"}, {kIns, "bC\n"}, {kEq, "d\n"}};
  EXPECT_EQ(WholeLines(diffs), expected);
}

TEST(WholeLinesTest, DeletedNewlineJoinsLines) {
  // "p\nq" -> "pq": neither new line is an old line.
  Diffs diffs = {{kEq, "p"}, {kDel, "\n"}, {kEq, "q"}};
  Diffs expected = {{kDel, "p\nq"}, {kIns, "pq"}};
  EXPECT_EQ(WholeLines(diffs), expected);
}

TEST(WholeLinesTest, WholeLineEditsStayAsTheyAre) {
  Diffs diffs = {{kDel, "x\n"}, {kEq, "a\n"}, {kIns, "b\n"}};
  EXPECT_EQ(WholeLines(diffs), diffs);
  EXPECT_EQ(WholeLines({}), Diffs{});
  Diffs equal = {{kEq, "same\ntext"}};
  EXPECT_EQ(WholeLines(equal), equal);
}

TEST(WholeLinesTest, AddedFinalNewlineChangesTheLastLine) {
  Diffs diffs = {{kEq, "a\nx"}, {kIns, "\n"}};
  Diffs expected = {{kEq, "a\n"}, {kDel, "x"}, {kIns, "x\n"}};
  EXPECT_EQ(WholeLines(diffs), expected);
}

TEST(UnifiedDiffTest, OneChangeWithContext) {
  Diffs diffs = {{kEq, "one\n"},
                 {kDel, "two"},
                 {kIns, "2"},
                 {kEq, "\nthree\n"},
                 {kIns, "four"}};
  EXPECT_EQ(UnifiedDiff(diffs, "a.txt", "b.txt"),
            "--- a.txt\n+++ b.txt\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n three\n"
            "+four\n\\ No newline at end of file\n");
}

TEST(UnifiedDiffTest, EqualTextsGiveNothing) {
  EXPECT_EQ(UnifiedDiff({{kEq, "a\nb\n"}}, "a", "b"), "");
  EXPECT_EQ(UnifiedDiff({}, "a", "b"), "");
}

TEST(UnifiedDiffTest, EmptyRangesNameTheLineBefore) {
  EXPECT_EQ(UnifiedDiff({{kIns, "x\ny\n"}}, "a", "b"),
            "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  EXPECT_EQ(UnifiedDiff({{kEq, "k\n"}, {kDel, "x\n"}}, "a", "b", 0),
            "--- a\n+++ b\n@@ -2 +1,0 @@\n-x\n");
}

TEST(UnifiedDiffTest, BothLastLinesWithoutNewline) {
  EXPECT_EQ(UnifiedDiff({{kDel, "x"}, {kIns, "y"}}, "a", "b"),
            "--- a\n+++ b\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n"
            "+y\n\\ No newline at end of file\n");
  EXPECT_EQ(UnifiedDiff({{kDel, "x"}, {kIns, "y"}, {kEq, "\nz"}}, "a", "b"),
            "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-x\n+y\n z\n"
            "\\ No newline at end of file\n");
}

std::string Numbered(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += std::to_string(i) + "\n";
  return out;
}

TEST(UnifiedDiffTest, HunksMergeWhenTheirContextTouches) {
  // Changes at lines 1 and 8: six unchanged lines between, merged.
  Diffs merged = {{kDel, "1\n"}, {kIns, "one\n"},   {kEq, Numbered(2, 7)},
                  {kDel, "8\n"}, {kIns, "eight\n"}, {kEq, Numbered(9, 20)}};
  EXPECT_EQ(UnifiedDiff(merged, "a", "b"),
            "--- a\n+++ b\n@@ -1,11 +1,11 @@\n-1\n+one\n 2\n 3\n 4\n 5\n"
            " 6\n 7\n-8\n+eight\n 9\n 10\n 11\n");
  // Changes at lines 1 and 9: seven between, two hunks.
  Diffs split = {{kDel, "1\n"}, {kIns, "one\n"},  {kEq, Numbered(2, 8)},
                 {kDel, "9\n"}, {kIns, "nine\n"}, {kEq, Numbered(10, 20)}};
  EXPECT_EQ(UnifiedDiff(split, "a", "b"),
            "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n"
            "@@ -6,7 +6,7 @@\n 6\n 7\n 8\n-9\n+nine\n 10\n 11\n 12\n");
}

uint32_t Seed() {
  return static_cast<uint32_t>(
      diffsync::test_util::TestSeed(std::random_device{}()));
}

// Random diffs of any shape (not only those DiffMain makes), over an alphabet
// rich in newlines so that edits start, end and cross lines everywhere.
Diffs RandomDiffs(std::mt19937& rng) {
  static constexpr std::string_view kPieces[] = {"a", "b", "\n",   "\n",
                                                 "é", "😀", "xy\n", "\n\n"};
  Diffs diffs;
  int n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < n; ++i) {
    Operation op =
        static_cast<Operation>(std::uniform_int_distribution<int>(-1, 1)(rng));
    std::string text;
    int len = std::uniform_int_distribution<int>(1, 5)(rng);
    for (int j = 0; j < len; ++j) {
      text += kPieces[std::uniform_int_distribution<size_t>(
          0, std::size(kPieces) - 1)(rng)];
    }
    diffs.push_back({op, text});
  }
  return diffs;
}

// Also true at the end, where a last line without '\n' ends.
bool AtLineBoundary(const std::string& text, size_t pos) {
  return pos == 0 || pos == text.size() || text[pos - 1] == '\n';
}

TEST(LineViewPropertyTest, ExactAndLineAligned) {
  std::mt19937 rng(Seed());
  for (int iteration = 0; iteration < 3000; ++iteration) {
    Diffs diffs = RandomDiffs(rng);
    const std::string text1 = OldText(diffs);
    const std::string text2 = NewText(diffs);
    SCOPED_TRACE(testing::Message()
                 << "iteration " << iteration << " text1 "
                 << testing::PrintToString(text1) << " text2 "
                 << testing::PrintToString(text2));

    Diffs lines = WholeLines(diffs);
    EXPECT_EQ(OldText(lines), text1);
    EXPECT_EQ(NewText(lines), text2);
    size_t pos1 = 0, pos2 = 0;
    for (const Diff& d : lines) {
      EXPECT_TRUE(AtLineBoundary(text1, pos1) && AtLineBoundary(text2, pos2));
      if (d.operation != kIns) pos1 += d.text.size();
      if (d.operation != kDel) pos2 += d.text.size();
    }

    const std::string unified = UnifiedDiff(diffs, "a", "b", 3);
    EXPECT_EQ(ApplyUnified(text1, unified, 3), text2) << unified;
    const bool has_edits =
        std::any_of(diffs.begin(), diffs.end(),
                    [](const Diff& d) { return d.operation != kEq; });
    EXPECT_EQ(unified.empty(), !has_edits) << unified;
    const std::string tight = UnifiedDiff(diffs, "a", "b", 0);
    EXPECT_EQ(ApplyUnified(text1, tight, 0), text2) << tight;
  }
}

}  // namespace
}  // namespace diffsync::cli
