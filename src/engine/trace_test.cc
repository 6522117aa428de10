// Tests of the trace loader: code-point positions become UTF-16 ones,
// malformed traces are reported with the transaction and patch, and every
// shared sequential trace replays through Text to its endContent.
#include "engine/trace.h"

#include <gtest/gtest.h>

#include <string>

#include "diffsync/engine/text.h"

namespace diffsync::engine {
namespace {

Text Replay(const Trace& trace) {
  Text text = Text::FromValidUtf8(trace.start_content);
  for (const TraceEdit& e : trace.edits) {
    EXPECT_TRUE(text.CheckRange(e.pos16, e.del16).ok())
        << text.CheckRange(e.pos16, e.del16).ToString();
    text = std::move(text).Replace(e.pos16, e.del16, e.insert);
  }
  return text;
}

TEST(TraceTest, ConvertsCodePointPositionsToUtf16) {
  // "a😀b": code point 2 is UTF-16 position 3.
  const Result<Trace> trace = ParseTrace(R"({
    "startContent": "a\ud83d\ude00b", "endContent": "a\ud83d\ude01xb!",
    "txns": [{"patches": [[2, 0, "x"]]},
             {"patches": [[4, 0, "!"], [1, 1, "\ud83d\ude01"]]}]})");
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  ASSERT_EQ(trace->edits.size(), 3u);
  EXPECT_EQ(trace->txn_ends, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(trace->edits[0].pos16, 3);
  EXPECT_EQ(trace->edits[0].del16, 0);
  EXPECT_EQ(trace->edits[1].pos16, 5);
  EXPECT_EQ(trace->edits[2].pos16, 1);
  EXPECT_EQ(trace->edits[2].del16, 2);
  EXPECT_EQ(trace->edits[2].insert, "\xF0\x9F\x98\x81");
  EXPECT_TRUE(Replay(*trace).Equals(trace->end_content));
}

TEST(TraceTest, BmpPositionsAreKept) {
  const Result<Trace> trace = ParseTrace(R"({"startContent": "\u00e9t\u00e9",
    "endContent": "\u00e9t\u00e9\u4e2d", "txns": [{"patches": [[3, 0, "\u4e2d"]]}]})");
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  EXPECT_EQ(trace->edits[0].pos16, 3);
  EXPECT_TRUE(Replay(*trace).Equals(trace->end_content));
}

TEST(TraceTest, ErrorsNameThePlace) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {"{", "malformed JSON"},
      {"[]", "not an object"},
      {R"({"endContent": "", "txns": []})", "startContent"},
      {R"({"startContent": "", "endContent": ""})", "txns"},
      {R"({"startContent": "", "endContent": "", "txns": [{}]})",
       "txns[0]: no \"patches\""},
      {R"({"startContent": "", "endContent": "", "txns": [{"patches": [[0, 0]]}]})",
       "txns[0].patches[0]: not [position"},
      {R"({"startContent": "ab", "endContent": "", "txns": [{"patches": [[-1, 0, ""]]}]})",
       "non-negative"},
      {R"({"startContent": "ab", "endContent": "b",
           "txns": [{"patches": [[0, 1, ""]]}, {"patches": [[1, 1, ""]]}]})",
       "txns[1].patches[0]: 1+1 is past the text's 1 characters"},
      {R"({"startContent": "ab", "endContent": "abc", "txns": []})",
       "leave 2 characters but endContent has 3"},
  };
  for (const Case& c : cases) {
    const Result<Trace> trace = ParseTrace(c.json);
    ASSERT_FALSE(trace.ok()) << c.json;
    EXPECT_NE(trace.status().message().find(c.message), std::string::npos)
        << trace.status().ToString();
  }
  const Result<Trace> missing = LoadTrace("/nonexistent/trace.json.gz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("/nonexistent/trace.json.gz"),
            std::string::npos);
}

TEST(TraceTest, SharedTracesReplayToTheirEndContent) {
  struct Expected {
    const char* name;
    size_t txns;
    size_t patches;
  };
  // Counts from ../shared/data/README.md.
  const Expected traces[] = {
      {"automerge-paper", 259778, 259778},
      {"seph-blog1", 137154, 137993},
      {"rustcode", 36981, 40173},
      {"sveltecomponent", 18335, 19749},
      {"friendsforever_flat", 26078, 26078},
  };
  for (const Expected& e : traces) {
    SCOPED_TRACE(e.name);
    const std::string path = std::string(DIFFSYNC_SHARED_DATA_DIR) +
                             "/traces/sequential/" + e.name + ".json.gz";
    const Result<Trace> trace = LoadTrace(path);
    ASSERT_TRUE(trace.ok()) << trace.status().ToString()
                            << " (the shared data directory is missing?)";
    EXPECT_EQ(trace->txn_ends.size(), e.txns);
    EXPECT_EQ(trace->edits.size(), e.patches);
    const Text end = Replay(*trace);
    EXPECT_TRUE(end.Equals(trace->end_content));
    EXPECT_TRUE(end.CheckInvariants().ok()) << end.CheckInvariants().ToString();
  }
}

}  // namespace
}  // namespace diffsync::engine
