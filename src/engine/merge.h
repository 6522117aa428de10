// Internal: applying one side's change to a text that others changed since
// the side's snapshot — exactly where possible, fuzzily only where it must.
//
// The server knows where a client's edit was made: in that client's shadow,
// whose relation to the current document is the exact change `to_text`
// (composed from the edits the server applied since). Each hunk of the edit
// that does not touch text the others changed is moved through `to_text` and
// applied at its exact place; only hunks that overlap others' changes fall
// back to DMP's fuzzy patch, and those that still fail are reported.
//
// Thread safety: pure functions.
//
// Example:
//   MergeResult r = Merge(shadow, to_doc, client_change, doc, settings);
//   doc = r.text;  // r.to_text maps the client's new shadow onto doc.
#ifndef DIFFSYNC_SRC_ENGINE_MERGE_H_
#define DIFFSYNC_SRC_ENGINE_MERGE_H_

#include <optional>
#include <string>
#include <vector>

#include "diffsync/dmp/settings.h"
#include "diffsync/engine/change_set.h"
#include "diffsync/engine/text.h"

namespace diffsync::engine::internal {

struct MergeResult {
  Text text;  // The merged text.
  // The change from base+change (the author's new snapshot) to `text`: exact
  // when every hunk merged exactly, else recomputed by a diff.
  ChangeSet to_text;
  // The change `text` received, relative to the text before the merge.
  ChangeSet applied;
  // The author's hunks that could not be placed and were dropped, each as
  // DMP patch text (with context from the author's snapshot).
  std::vector<std::string> dropped_hunks;
  int exact_hunks = 0;  // Hunks placed exactly.
  int fuzzy_hunks = 0;  // Hunks placed by fuzzy matching.
};

// Number of hunks (maximal runs of deletes and inserts) in `change`.
int CountHunks(const ChangeSet& change);

// `base`: the author's snapshot; `to_text`: exact change from `base` to
// `text` (the current shared text); `change`: the author's change of `base`.
MergeResult Merge(const Text& base, const ChangeSet& to_text,
                  const ChangeSet& change, const Text& text,
                  const dmp::Settings& settings);

// The change from `from` to `to` computed by a diff, for when no exact
// history relates them.
ChangeSet DiffChange(const Text& from, const Text& to,
                     const dmp::Settings& settings);

}  // namespace diffsync::engine::internal

#endif  // DIFFSYNC_SRC_ENGINE_MERGE_H_
