#include "engine/merge.h"

#include <algorithm>
#include <string>

#include "diffsync/dmp/diff.h"
#include "diffsync/dmp/patch.h"

namespace diffsync::engine::internal {
namespace {

using Kind = ChangeSet::Op::Kind;

// One hunk of a change: the base range [begin, end) it replaces and the
// text it inserts there.
struct Hunk {
  int64_t begin = 0;
  int64_t end = 0;
  std::string insert;
};

std::vector<Hunk> HunksOf(const ChangeSet& change) {
  std::vector<Hunk> hunks;
  int64_t pos = 0;
  bool open = false;
  for (const auto& op : change.ops()) {
    if (op.kind == Kind::kRetain) {
      open = false;
      pos += op.length;
      continue;
    }
    if (!open) {
      hunks.push_back({pos, pos, {}});
      open = true;
    }
    if (op.kind == Kind::kDelete) {
      pos += op.length;
      hunks.back().end = pos;
    } else {
      hunks.back().insert += op.text;
    }
  }
  return hunks;
}

// True if `hunk` touches text that `others` (a change of the same base)
// deleted, or replaces a range into which `others` inserted. Inserting at
// the same place, or next to a deletion, is not a conflict.
bool Overlaps(const Hunk& hunk, const ChangeSet& others) {
  int64_t pos = 0;
  for (const auto& op : others.ops()) {
    if (pos > hunk.end) break;
    switch (op.kind) {
      case Kind::kRetain:
        pos += op.length;
        break;
      case Kind::kDelete: {
        const int64_t x = pos, y = pos + op.length;
        if (hunk.begin == hunk.end ? (x < hunk.begin && hunk.begin < y)
                                   : std::max(x, hunk.begin) <
                                         std::min(y, hunk.end)) {
          return true;
        }
        pos = y;
        break;
      }
      case Kind::kInsert:
        if (hunk.begin < pos && pos < hunk.end) return true;
        break;
    }
  }
  return false;
}

// `change` with the hunks flagged in `drop` turned back into retains.
ChangeSet Without(const ChangeSet& change, const std::vector<Hunk>& hunks,
                  const std::vector<bool>& drop) {
  ChangeSet out;
  int64_t pos = 0;
  for (size_t i = 0; i < hunks.size(); ++i) {
    out.Retain(hunks[i].begin - pos);
    if (drop[i]) {
      out.Retain(hunks[i].end - hunks[i].begin);
    } else {
      out.Delete(hunks[i].end - hunks[i].begin);
      out.Insert(hunks[i].insert);
    }
    pos = hunks[i].end;
  }
  out.Retain(change.base_length() - pos);
  return out;
}

}  // namespace

int CountHunks(const ChangeSet& change) {
  int hunks = 0;
  bool open = false;
  for (const auto& op : change.ops()) {
    const bool edit = op.kind != Kind::kRetain;
    hunks += edit && !open;
    open = edit;
  }
  return hunks;
}

ChangeSet DiffChange(const Text& from, const Text& to,
                     const dmp::Settings& settings) {
  if (from == to) return ChangeSet::Identity(from.size16());
  // Both are valid UTF-8, so the diff cannot fail.
  dmp::Diffs diffs = *dmp::DiffMain(from.ToString(), to.ToString(), settings);
  dmp::CleanupEfficiency(diffs, settings);
  return ChangeSet::FromDiffs(diffs);
}

MergeResult Merge(const Text& base, const ChangeSet& to_text,
                  const ChangeSet& change, const Text& text,
                  const dmp::Settings& settings) {
  MergeResult result;
  if (to_text.IsIdentity()) {
    // Nobody else changed the text: the change applies as it is.
    result.text = *change.Apply(text);
    result.to_text = ChangeSet::Identity(change.target_length());
    result.applied = change;
    result.exact_hunks = CountHunks(change);
    return result;
  }
  const std::vector<Hunk> hunks = HunksOf(change);
  std::vector<bool> conflicted(hunks.size());
  bool any_conflict = false;
  for (size_t i = 0; i < hunks.size(); ++i) {
    conflicted[i] = Overlaps(hunks[i], to_text);
    any_conflict |= conflicted[i];
  }
  const ChangeSet exact =
      any_conflict ? Without(change, hunks, conflicted) : change;
  auto [to_text_after, exact_after] = ChangeSet::Transform(to_text, exact);
  // Both changes are of `text`'s lineage and were validated on arrival.
  Text merged = *exact_after.Apply(text);

  result.exact_hunks = static_cast<int>(
      std::count(conflicted.begin(), conflicted.end(), false));
  if (!any_conflict) {
    result.text = std::move(merged);
    result.to_text = std::move(to_text_after);
    result.applied = std::move(exact_after);
    return result;
  }

  // Place each conflicting hunk with DMP's fuzzy patch near where the exact
  // mapping puts it.
  const std::string base_string = base.ToString();
  std::string merged_string = merged.ToString();
  for (size_t i = 0; i < hunks.size(); ++i) {
    if (!conflicted[i]) continue;
    const Hunk& h = hunks[i];
    const size_t begin_byte = base.ByteOffset(h.begin);
    const size_t end_byte = base.ByteOffset(h.end);
    dmp::Diffs diffs;
    if (begin_byte > 0) {
      diffs.push_back({dmp::Operation::kEqual, base_string.substr(0, begin_byte)});
    }
    if (end_byte > begin_byte) {
      diffs.push_back({dmp::Operation::kDelete,
                       base_string.substr(begin_byte, end_byte - begin_byte)});
    }
    if (!h.insert.empty()) diffs.push_back({dmp::Operation::kInsert, h.insert});
    if (end_byte < base_string.size()) {
      diffs.push_back({dmp::Operation::kEqual, base_string.substr(end_byte)});
    }
    dmp::Patches patches = *dmp::PatchMake(base_string, diffs, settings);
    // Reported where the author made it, in the author's snapshot.
    std::string report = dmp::PatchToText(patches);
    const int64_t expected =
        exact_after.MapPosition(to_text.MapPosition(h.begin));
    for (dmp::Patch& p : patches) {
      p.start1 += expected - h.begin;
      p.start2 += expected - h.begin;
    }
    dmp::ApplyResult applied = *dmp::PatchApply(patches, merged_string, settings);
    const bool all = std::all_of(applied.applied.begin(), applied.applied.end(),
                                 [](bool b) { return b; });
    if (all) {
      merged_string = std::move(applied.text);
      ++result.fuzzy_hunks;
    } else {
      result.dropped_hunks.push_back(std::move(report));
    }
  }
  result.text = Text::FromValidUtf8(merged_string);
  const Text authored = *change.Apply(base);
  result.to_text = DiffChange(authored, result.text, settings);
  result.applied = ChangeSet::Compose(exact_after,
                                      DiffChange(merged, result.text, settings));
  return result;
}

}  // namespace diffsync::engine::internal
