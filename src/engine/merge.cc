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

// True if both hunks replace (delete, and at least one inserts) some of the
// same text: the only case where two edits cannot both be kept.
bool Compete(const Hunk& a, const Hunk& b) {
  return std::max(a.begin, b.begin) < std::min(a.end, b.end) &&
         (!a.insert.empty() || !b.insert.empty());
}

// Marks, in `lose`, the hunks of `losers` that compete with a hunk of
// `winners`. Both lists are in base order.
bool MarkLosers(const std::vector<Hunk>& winners,
                const std::vector<Hunk>& losers, std::vector<bool>& lose) {
  bool any = false;
  size_t w = 0;
  for (size_t i = 0; i < losers.size(); ++i) {
    while (w < winners.size() && winners[w].end <= losers[i].begin &&
           winners[w].begin < losers[i].begin) {
      ++w;
    }
    for (size_t j = w; j < winners.size() && winners[j].begin < losers[i].end;
         ++j) {
      if (Compete(winners[j], losers[i])) {
        lose[i] = true;
        any = true;
        break;
      }
    }
  }
  return any;
}

// The DMP patch text of `hunk`, with context from `base`.
std::string HunkPatch(const std::string& base, const Text& base_text,
                      const Hunk& h, const dmp::Settings& settings) {
  const size_t begin = base_text.ByteOffset(h.begin);
  const size_t end = base_text.ByteOffset(h.end);
  dmp::Diffs diffs;
  if (begin > 0) diffs.push_back({dmp::Operation::kEqual, base.substr(0, begin)});
  if (end > begin) {
    diffs.push_back({dmp::Operation::kDelete, base.substr(begin, end - begin)});
  }
  if (!h.insert.empty()) diffs.push_back({dmp::Operation::kInsert, h.insert});
  if (end < base.size()) diffs.push_back({dmp::Operation::kEqual, base.substr(end)});
  return dmp::PatchToText(*dmp::PatchMake(base, diffs, settings));
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
                  const ChangeSet& change, const Text& text, Priority priority,
                  const dmp::Settings& settings, bool skip_repeats) {
  if (skip_repeats && !to_text.IsIdentity()) {
    const std::vector<Hunk> incoming = HunksOf(change);
    const std::vector<Hunk> existing = HunksOf(to_text);
    std::vector<bool> repeated(incoming.size());
    bool any = false;
    for (size_t i = 0; i < incoming.size(); ++i) {
      for (const Hunk& e : existing) {
        if (e.begin == incoming[i].begin && e.end == incoming[i].end &&
            e.insert == incoming[i].insert) {
          repeated[i] = any = true;
          break;
        }
      }
    }
    if (any) {
      MergeResult r = Merge(base, to_text, Without(change, incoming, repeated),
                            text, priority, settings);
      // The change is no longer what base+change would give: re-derive.
      r.to_text = DiffChange(*change.Apply(base), r.text, settings);
      return r;
    }
  }
  MergeResult result;
  if (to_text.IsIdentity()) {
    // Nobody else changed the text: the change applies as it is.
    result.text = *change.Apply(text);
    result.to_text = ChangeSet::Identity(change.target_length());
    result.applied = change;
    result.exact_hunks = CountHunks(change);
    return result;
  }
  const std::vector<Hunk> incoming = HunksOf(change);
  const std::vector<Hunk> existing = HunksOf(to_text);
  std::vector<bool> drop_incoming(incoming.size());
  std::vector<bool> drop_existing(existing.size());
  const bool dropped =
      priority == Priority::kExisting
          ? MarkLosers(existing, incoming, drop_incoming)
          : MarkLosers(incoming, existing, drop_existing);
  result.exact_hunks = static_cast<int>(
      std::count(drop_incoming.begin(), drop_incoming.end(), false));
  if (!dropped) {
    auto [to_text_after, change_after] = ChangeSet::Transform(to_text, change);
    result.text = *change_after.Apply(text);
    result.to_text = std::move(to_text_after);
    result.applied = std::move(change_after);
    return result;
  }

  // Competing replacements: drop the losing hunks, then transform the rest.
  const std::string base_string = base.ToString();
  const ChangeSet kept_change =
      priority == Priority::kExisting ? Without(change, incoming, drop_incoming)
                                      : change;
  const ChangeSet kept_existing =
      priority == Priority::kIncoming
          ? Without(to_text, existing, drop_existing)
          : to_text;
  const std::vector<Hunk>& losers =
      priority == Priority::kExisting ? incoming : existing;
  const std::vector<bool>& lost =
      priority == Priority::kExisting ? drop_incoming : drop_existing;
  for (size_t i = 0; i < losers.size(); ++i) {
    if (lost[i]) {
      result.dropped_hunks.push_back(
          HunkPatch(base_string, base, losers[i], settings));
    }
  }
  // The text as it would be without the existing hunks that lost.
  const Text start = priority == Priority::kIncoming
                         ? *kept_existing.Apply(base)
                         : text;
  auto [to_text_after, change_after] =
      ChangeSet::Transform(kept_existing, kept_change);
  result.text = *change_after.Apply(start);
  result.applied = priority == Priority::kIncoming
                       ? DiffChange(text, result.text, settings)
                       : std::move(change_after);
  result.to_text = priority == Priority::kIncoming
                       ? std::move(to_text_after)
                       : DiffChange(*change.Apply(base), result.text, settings);
  return result;
}

}  // namespace diffsync::engine::internal
