// Internal: editing traces (../shared/data/traces, from josephg/
// editing-traces) for benchmarks and tests: real keystroke histories to
// replay through the engine.
//
// A sequential trace is gzipped (or plain) JSON:
//   {"startContent": "...", "endContent": "...",
//    "txns": [{"patches": [[pos, numDeleted, "inserted"], ...]}, ...]}
// Applying every patch in order to startContent gives endContent. The file
// counts positions in Unicode code points; LoadTrace converts them to UTF-16
// code units, the unit of Text and of the wire.
//
// Thread safety: pure functions; a Trace is a plain value.
//
// Example:
//   Result<Trace> trace = LoadTrace(dir +
//   "/traces/sequential/rustcode.json.gz"); if (!trace.ok()) return
//   trace.status(); Text text = Text::FromValidUtf8(trace->start_content); for
//   (const TraceEdit& e : trace->edits) {
//     text = std::move(text).Replace(e.pos16, e.del16, e.insert);
//   }
//   assert(text.Equals(trace->end_content));
#ifndef DIFFSYNC_SRC_ENGINE_TRACE_H_
#define DIFFSYNC_SRC_ENGINE_TRACE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/status.h"

namespace diffsync::engine {

// Replace [pos16, pos16 + del16) of the current text by `insert` (UTF-8).
struct TraceEdit {
  int64_t pos16 = 0;
  int64_t del16 = 0;
  std::string insert;
};

struct Trace {
  std::string start_content;
  std::string end_content;
  // Every patch of every transaction, in the order they apply.
  std::vector<TraceEdit> edits;
  // Transaction i is edits[txn_ends[i - 1], txn_ends[i]) (from 0 for i = 0):
  // what one keystroke or one paste changed.
  std::vector<size_t> txn_ends;
};

// Parses the JSON of a trace. Errors name the transaction and patch, and why
// (malformed JSON, a missing field, a patch outside the text of its time).
// O(size) when no character lies outside the BMP; otherwise the conversion
// to UTF-16 replays the trace, O(size * edits).
Result<Trace> ParseTrace(std::string_view json);

// Reads and parses a trace file, gzipped or not.
Result<Trace> LoadTrace(const std::string& path);

}  // namespace diffsync::engine

#endif  // DIFFSYNC_SRC_ENGINE_TRACE_H_
