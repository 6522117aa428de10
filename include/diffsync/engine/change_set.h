// ChangeSet: an exact edit from one text to another, as a list of retain /
// delete / insert operations counted in UTF-16 code units. It is the engine's
// unit of change: a delta on the wire parses into one (without the base
// text), a local edit builds one, and the server maps a client's change
// through the changes others made meanwhile (Transform) instead of guessing
// its place by fuzzy matching.
//
// Thread safety: a plain value type.
//
// Example:
//   using diffsync::engine::ChangeSet;
//   ChangeSet mine = *ChangeSet::FromDelta("=4\t+big \t=3", 7);   // "The cat" -> "The big cat"
//   ChangeSet theirs = *ChangeSet::FromDelta("=7\t+!", 7);        // "The cat" -> "The cat!"
//   auto [theirs_after_mine, mine_after_theirs] = ChangeSet::Transform(theirs, mine);
//   // mine then theirs_after_mine == theirs then mine_after_theirs: "The big cat!"
#ifndef DIFFSYNC_ENGINE_CHANGE_SET_H_
#define DIFFSYNC_ENGINE_CHANGE_SET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diffsync/dmp/diff.h"
#include "diffsync/engine/text.h"
#include "diffsync/status.h"

namespace diffsync::engine {

class ChangeSet {
 public:
  struct Op {
    enum class Kind : uint8_t { kRetain, kDelete, kInsert };
    Kind kind = Kind::kRetain;
    int64_t length = 0;  // UTF-16 units retained, deleted or inserted.
    std::string text;    // kInsert only: UTF-8.
    friend bool operator==(const Op&, const Op&) = default;
  };

  // The identity on the empty text.
  ChangeSet() = default;
  // The identity on a text of `length` units.
  static ChangeSet Identity(int64_t length);

  // Parses a DMP delta against a base text of `base_length` units, without
  // needing the text: counts must add up to `base_length` exactly (the
  // strictness of shadow patching). Errors name the offset and the reason.
  static Result<ChangeSet> FromDelta(std::string_view delta,
                                     int64_t base_length);
  // The same for a delta of the compact wire form (docs/PROTOCOL.md), whose
  // counts may stop short of `base_length`: the rest of the base is
  // retained. Counts past it are still an error.
  static Result<ChangeSet> FromOpenDelta(std::string_view delta,
                                         int64_t base_length);
  static ChangeSet FromDiffs(const dmp::Diffs& diffs);
  // The delta text (DMP's format). Counts only; byte-compatible with DMP.
  std::string ToDelta() const;

  // Builders; each appends to the end and merges with the last operation.
  void Retain(int64_t n);
  void Delete(int64_t n);
  void Insert(std::string_view utf8);

  int64_t base_length() const { return base_length_; }
  int64_t target_length() const { return target_length_; }
  const std::vector<Op>& ops() const { return ops_; }
  bool IsIdentity() const;

  // Applies to `text` (whose length must be base_length()); O(number of ops
  // x log |text|). Errors: wrong length, or a boundary inside a surrogate
  // pair of `text`.
  Result<Text> Apply(const Text& text) const;

  // Where position `pos` of the base text ends up in the target. An insert
  // exactly at `pos` goes before it when `after_inserts` is false.
  int64_t MapPosition(int64_t pos, bool after_inserts = true) const;

  // `first` then `second` as one change (second.base == first.target).
  static ChangeSet Compose(const ChangeSet& first, const ChangeSet& second);
  // The same into `out` (neither `first` nor `second`), reusing its storage:
  // composing a run of changes alternates between two of them instead of
  // allocating one per step.
  static void ComposeInto(const ChangeSet& first, const ChangeSet& second,
                          ChangeSet& out);

  // For two changes of the same base, returns {a', b'} such that
  // b then a' == a then b' (operational transform). Where both insert at the
  // same place, `a`'s text comes first.
  static std::pair<ChangeSet, ChangeSet> Transform(const ChangeSet& a,
                                                   const ChangeSet& b);

  friend bool operator==(const ChangeSet&, const ChangeSet&) = default;

 private:
  static Result<ChangeSet> FromDelta(std::string_view delta,
                                     int64_t base_length, bool open_end);
  void Push(Op::Kind kind, int64_t length, std::string_view text);
  // Insert, for text whose length in units the caller already knows.
  void Insert(std::string_view utf8, int64_t units);

  std::vector<Op> ops_;
  int64_t base_length_ = 0;
  int64_t target_length_ = 0;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_CHANGE_SET_H_
