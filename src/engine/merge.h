// Internal: applying one side's change to a text that others changed since
// the side's snapshot, exactly.
//
// The server knows where a client's edit was made: in that client's shadow,
// whose relation to the current document is the exact change `to_text`
// (composed from the edits the server applied since). The edit is moved
// through `to_text` by operational transform: hunks land where they were
// made, deletions of text others deleted too count once, and text others
// inserted inside a deleted range survives. Only where both sides *replaced*
// the same text do the edits compete; then the one already in the text wins
// (MobWrite: "first to reach the server wins") or, on a client applying the
// server's edits, the server's wins, and the losing hunk is dropped and
// reported as patch text — never silently reverted.
//
// Thread safety: pure functions.
//
// Example:
//   MergeResult r = Merge(shadow, to_doc, client_change, doc,
//                         Priority::kExisting, settings);
//   doc = r.text;  // r.to_text maps the client's new shadow onto doc.
#ifndef DIFFSYNC_SRC_ENGINE_MERGE_H_
#define DIFFSYNC_SRC_ENGINE_MERGE_H_

#include <string>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "diffsync/engine/change_set.h"
#include "diffsync/engine/text.h"

namespace diffsync::engine::internal {

// Which side keeps its hunk when both replaced the same text.
enum class Priority {
  kExisting,  // The changes already in the text (`to_text`): the server.
  kIncoming,  // The incoming change: a client applying the server's edits.
};

struct MergeResult {
  Text text;  // The merged text.
  // The change from base+change (the author's new snapshot) to `text`: exact
  // unless an incoming hunk was dropped, then recomputed by a diff.
  ChangeSet to_text;
  // The change `text` received, relative to the text before the merge.
  ChangeSet applied;
  // Hunks that lost a competition and were dropped, each as DMP patch text
  // in the coordinates of `base` (the snapshot both started from): incoming
  // hunks with Priority::kExisting, existing ones with kIncoming.
  std::vector<std::string> dropped_hunks;
  int exact_hunks = 0;  // Incoming hunks placed.
};

// Number of hunks (maximal runs of deletes and inserts) in `change`.
int CountHunks(const ChangeSet& change);

// `base`: the common snapshot; `to_text`: exact change from `base` to
// `text` (the current text); `change`: the incoming change of `base`.
// `skip_repeats`: an incoming hunk identical to an existing one (same range,
// same text) is taken as already applied, as when a client rebases edits
// the server may already have onto the server's whole text.
MergeResult Merge(const Text& base, const ChangeSet& to_text,
                  const ChangeSet& change, const Text& text, Priority priority,
                  const dmp::Settings& settings, bool skip_repeats = false);

// The change from `from` to `to` computed by a diff, for when no exact
// history relates them.
ChangeSet DiffChange(const Text& from, const Text& to,
                     const dmp::Settings& settings);

}  // namespace diffsync::engine::internal

#endif  // DIFFSYNC_SRC_ENGINE_MERGE_H_
