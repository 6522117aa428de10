// Patches, step for step as DMP's JavaScript port so that results are
// identical, but without its quadratic costs:
//  - patch_make keeps DMP's rolling pre-patch text as two views (the
//    destination text before the hunk, the source text after it) instead of
//    rebuilding it per diff;
//  - patch_splitMax consumes the big hunk through an index instead of
//    re-slicing its texts per chunk;
//  - patch_apply edits a gap buffer, matching each hunk against the text after
//    the gap (MatchReach says how far back a match reads), so that applying
//    hunks in order costs about the text size plus the work per hunk.
//
// Where this differs from JavaScript (only for text outside the BMP, where
// JavaScript would split a surrogate pair and then fail to encode the patch):
//  - patch_addContext_ widens its context to whole characters;
//  - patch_splitMax cuts chunks and their pre/post context at character
//    boundaries, narrowing them by a unit (a chunk that would be empty takes
//    the whole character instead);
//  - patch_apply cuts the start and end patterns of a long hunk, and the text
//    it compares with the hunk, at character boundaries, and moves any edit
//    position that falls inside a pair to the start of the pair.
// And where JavaScript never returns: patch_addContext_ with a zero margin
// stops growing the context (it cannot grow); patch_splitMax needs
// 2 * margin < max bits (see CheckPatchSettings). patch_fromText refuses the
// one header range JavaScript reads into a hunk it cannot print back ("0,00").

#include "diffsync/dmp/patch.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmp/diff_core.h"
#include "dmp/match_core.h"
#include "dmp/patch_core.h"
#include "dmp/utf.h"

namespace diffsync::dmp::internal {
namespace {

// JavaScript's largest exact integer.
constexpr int64_t kMaxExact = (int64_t{1} << 53) - 1;

int64_t ClampExact(int64_t v) { return std::clamp(v, -kMaxExact, kMaxExact); }

int64_t Size(U16View s) { return static_cast<int64_t>(s.size()); }

// The first `n` units of `s`, one fewer if the n-th would split a pair.
U16View FirstUnits(U16View s, int64_t n) {
  if (n >= Size(s)) return s;
  if (n > 0 && !IsCharBoundary(s, static_cast<size_t>(n))) --n;
  return s.substr(0, static_cast<size_t>(std::max<int64_t>(n, 0)));
}

// The last `n` units of `s`, one fewer if that would split a pair.
U16View LastUnits(U16View s, int64_t n) {
  if (n >= Size(s)) return s;
  auto from = static_cast<size_t>(Size(s) - std::max<int64_t>(n, 0));
  if (!IsCharBoundary(s, from)) ++from;
  return s.substr(from);
}

// FirstUnits / LastUnits, but at least one whole character of non-empty `s`
// (a single unit can't hold a surrogate pair).
U16View FirstChars(U16View s, int64_t n) {
  const U16View out = FirstUnits(s, n);
  return out.empty() ? FirstUnits(s, 2) : out;
}
U16View LastChars(U16View s, int64_t n) {
  const U16View out = LastUnits(s, n);
  return out.empty() ? LastUnits(s, 2) : out;
}

// For the texts below, which are not contiguous and so give size() and
// At(i) instead of a view: `i` clamped to the text, then moved back /
// forward off the inside of a surrogate pair.
template <typename Text>
bool IsBoundary(const Text& text, int64_t i) {
  return i <= 0 || i >= text.size() || !IsLowSurrogate(text.At(i)) ||
         !IsHighSurrogate(text.At(i - 1));
}
template <typename Text>
int64_t FloorBoundary(const Text& text, int64_t i) {
  i = std::clamp<int64_t>(i, 0, text.size());
  return IsBoundary(text, i) ? i : i - 1;
}
template <typename Text>
int64_t CeilBoundary(const Text& text, int64_t i) {
  i = std::clamp<int64_t>(i, 0, text.size());
  return IsBoundary(text, i) ? i : i + 1;
}

// Finds instances of short patterns in a fixed text. patch_make asks, per
// hunk, whether a pattern occurs twice in the whole text, which a scan answers
// in time proportional to the text; once scans have cost a few text lengths,
// an index of the text's 4-unit grams answers instead, by checking only
// where the pattern's rarest gram occurs.
class Occurrences {
 public:
  explicit Occurrences(U16View text) : text_(text) {}

  U16View text() const { return text_; }

  // Instances of non-empty `pattern` starting within [lo, hi], counting up
  // to `limit`.
  int Count(U16View pattern, int64_t lo, int64_t hi, int limit) {
    lo = std::max<int64_t>(lo, 0);
    hi = std::min(hi, Size(text_) - Size(pattern));
    if (lo > hi) return 0;
    if (!index_ && scanned_ > kScansBeforeIndex * Size(text_) &&
        Size(text_) <= std::numeric_limits<uint32_t>::max()) {
      index_.emplace(text_);
    }
    if (index_ && pattern.size() >= GramIndex::kGram) {
      return CountIndexed(pattern, lo, hi, limit);
    }
    return CountScanning(pattern, lo, hi, limit);
  }

 private:
  static constexpr int64_t kScansBeforeIndex = 2;

  class GramIndex {
   public:
    static constexpr size_t kGram = 4;

    explicit GramIndex(U16View text) {
      const size_t n = text.size() >= kGram ? text.size() - kGram + 1 : 0;
      starts_.assign(kBuckets + 1, 0);
      for (size_t i = 0; i < n; ++i) ++starts_[Hash(text.data() + i) + 1];
      for (size_t b = 0; b < kBuckets; ++b) starts_[b + 1] += starts_[b];
      std::vector<uint32_t> next(starts_.begin(), starts_.end() - 1);
      positions_.resize(n);
      for (size_t i = 0; i < n; ++i) {
        positions_[next[Hash(text.data() + i)]++] = static_cast<uint32_t>(i);
      }
    }

    // Ascending start positions of the grams that hash like the one at
    // `gram` (a superset of the gram's instances).
    std::span<const uint32_t> Bucket(const char16_t* gram) const {
      const uint32_t h = Hash(gram);
      return std::span<const uint32_t>(positions_)
          .subspan(starts_[h], starts_[h + 1] - starts_[h]);
    }

   private:
    static constexpr int kBucketBits = 16;
    static constexpr size_t kBuckets = size_t{1} << kBucketBits;

    static uint32_t Hash(const char16_t* gram) {
      uint64_t bits;
      static_assert(sizeof(bits) == kGram * sizeof(char16_t));
      std::memcpy(&bits, gram, sizeof(bits));
      return static_cast<uint32_t>((bits * 0x9E3779B97F4A7C15u) >>
                                   (64 - kBucketBits));
    }

    std::vector<uint32_t> starts_;
    std::vector<uint32_t> positions_;
  };

  int CountScanning(U16View pattern, int64_t lo, int64_t hi, int limit) {
    const U16View region = text_.substr(
        static_cast<size_t>(lo), static_cast<size_t>(hi - lo) + pattern.size());
    int found = 0;
    size_t from = 0;
    size_t at;
    while (found < limit &&
           (at = region.find(pattern, from)) != U16View::npos) {
      ++found;
      from = at + 1;
    }
    scanned_ += found < limit ? Size(region) : static_cast<int64_t>(from);
    return found;
  }

  int CountIndexed(U16View pattern, int64_t lo, int64_t hi, int limit) const {
    // The gram of the pattern with the fewest candidates.
    size_t best_offset = 0;
    std::span<const uint32_t> best = index_->Bucket(pattern.data());
    for (size_t o = 1; o + GramIndex::kGram <= pattern.size(); ++o) {
      const std::span<const uint32_t> bucket =
          index_->Bucket(pattern.data() + o);
      if (bucket.size() < best.size()) {
        best = bucket;
        best_offset = o;
      }
    }
    const auto o = static_cast<int64_t>(best_offset);
    int found = 0;
    for (auto it = std::lower_bound(best.begin(), best.end(), lo + o);
         it != best.end() && *it - o <= hi && found < limit; ++it) {
      if (text_.substr(*it - best_offset, pattern.size()) == pattern) ++found;
    }
    return found;
  }

  U16View text_;
  int64_t scanned_ = 0;
  std::optional<GramIndex> index_;
};

// DMP's rolling pre-patch text: the destination text up to the end of the
// previous hunk, then the source text from there on. `left` and `right`
// are the full destination and source texts; the pre-patch text is
// left.text()[0, left_size) + right.text()[right_from, end).
class SplitText {
 public:
  SplitText(Occurrences& left, int64_t left_size, Occurrences& right,
            int64_t right_from)
      : left_(left.text().substr(0, static_cast<size_t>(left_size))),
        right_(right.text().substr(static_cast<size_t>(right_from))),
        right_from_(right_from),
        left_occurrences_(left),
        right_occurrences_(right) {}

  int64_t size() const { return Size(left_) + Size(right_); }

  char16_t At(int64_t i) const {
    return i < Size(left_) ? left_[static_cast<size_t>(i)]
                           : right_[static_cast<size_t>(i - Size(left_))];
  }

  // JavaScript's substring(lo, hi): both clamped to the text, swapped if
  // reversed.
  U16 Substring(int64_t lo, int64_t hi) const {
    lo = std::clamp<int64_t>(lo, 0, size());
    hi = std::clamp<int64_t>(hi, 0, size());
    if (lo > hi) std::swap(lo, hi);
    U16 out;
    out.reserve(static_cast<size_t>(hi - lo));
    const int64_t split = Size(left_);
    if (lo < split) {
      out.append(left_.substr(static_cast<size_t>(lo),
                              static_cast<size_t>(std::min(hi, split) - lo)));
    }
    if (hi > split) {
      const int64_t from = std::max(lo, split) - split;
      out.append(right_.substr(static_cast<size_t>(from),
                               static_cast<size_t>(hi - split - from)));
    }
    return out;
  }

  // True if `pattern` occurs at two or more places (DMP's
  // indexOf(pattern) != lastIndexOf(pattern)).
  bool OccursTwice(U16View pattern) const {
    if (pattern.empty()) return size() > 0;
    const int64_t m = Size(pattern);
    const int64_t split = Size(left_);
    int found = left_occurrences_.Count(pattern, 0, split - m, 2);
    if (found < 2) {
      found += right_occurrences_.Count(
          pattern, right_from_, right_from_ + Size(right_) - m, 2 - found);
    }
    // Instances across the seam.
    for (int64_t at = std::max<int64_t>(0, split - m + 1);
         found < 2 && at < split && at + m <= size(); ++at) {
      const auto head = static_cast<size_t>(split - at);
      if (left_.substr(static_cast<size_t>(at)) == pattern.substr(0, head) &&
          right_.substr(0, pattern.size() - head) == pattern.substr(head)) {
        ++found;
      }
    }
    return found >= 2;
  }

 private:
  U16View left_;
  U16View right_;
  int64_t right_from_;
  Occurrences& left_occurrences_;
  Occurrences& right_occurrences_;
};

void AddContext(Patch16& patch, const SplitText& text,
                const Settings& settings) {
  if (text.size() == 0) return;
  const int64_t margin = settings.patch_margin;
  const int64_t start = patch.start2;
  const int64_t end = patch.start2 + patch.length1;
  U16 pattern = text.Substring(start, end);
  int64_t padding = 0;
  // Look for the first and last matches of pattern in text. If two different
  // matches are found, increase the pattern length.
  while (margin > 0 && Size(pattern) < settings.match_max_bits - 2 * margin &&
         text.OccursTwice(pattern)) {
    padding += margin;
    pattern = text.Substring(FloorBoundary(text, start - padding),
                             CeilBoundary(text, end + padding));
  }
  // Add one chunk for good luck.
  padding += margin;

  U16 prefix = text.Substring(FloorBoundary(text, start - padding), start);
  U16 suffix = text.Substring(end, CeilBoundary(text, end + padding));
  const int64_t added = Size(prefix) + Size(suffix);
  patch.start1 -= Size(prefix);
  patch.start2 -= Size(prefix);
  patch.length1 += added;
  patch.length2 += added;
  if (!prefix.empty()) {
    patch.diffs.insert(patch.diffs.begin(),
                       Diff16{Operation::kEqual, std::move(prefix)});
  }
  if (!suffix.empty()) {
    patch.diffs.push_back(Diff16{Operation::kEqual, std::move(suffix)});
  }
}

// The last `n` units of the destination text of `diffs` (DMP's
// diff_text2(diffs).substring(length - n)), cut on a character boundary.
U16 Text2Tail(const Diffs16& diffs, int64_t n) {
  // One unit more than needed shows whether the cut splits a pair.
  U16 out;
  for (auto it = diffs.rbegin(); it != diffs.rend() && Size(out) <= n; ++it) {
    if (it->operation == Operation::kDelete) continue;
    const U16View piece = it->text;
    out.insert(0, piece.substr(static_cast<size_t>(std::max<int64_t>(
                      0, Size(piece) - (n + 1 - Size(out))))));
  }
  return U16(LastUnits(out, n));
}

// The first `n` units of the source text of diffs[head...], the first of
// which starts at `offset` (DMP's diff_text1(diffs).substring(0, n)), cut on
// a character boundary.
U16 Text1Head(const Diffs16& diffs, size_t head, size_t offset, int64_t n) {
  U16 out;
  for (size_t i = head; i < diffs.size() && Size(out) <= n; ++i) {
    if (diffs[i].operation == Operation::kInsert) continue;
    const U16View piece = U16View(diffs[i].text).substr(i == head ? offset : 0);
    out.append(piece.substr(0, static_cast<size_t>(n + 1 - Size(out))));
  }
  return U16(FirstUnits(out, n));
}

// A text with a movable gap: edits at the gap cost only what they insert,
// and moving the gap costs the distance moved. PatchApply keeps the gap at
// or before the region the current hunk reads, so the text after the gap
// serves as the contiguous TextTail that matching needs.
class GapBuffer {
 public:
  explicit GapBuffer(U16 text) : buf_(std::move(text)) {}

  int64_t size() const { return Size(buf_) - (gap_end_ - gap_start_); }

  char16_t At(int64_t i) const {
    return buf_[static_cast<size_t>(i < gap_start_ ? i : i + GapSize())];
  }

  // The text from a position at or before `from` on.
  TextTail TailFrom(int64_t from) {
    if (from < gap_start_) MoveGap(std::max<int64_t>(from, 0));
    return TextTail{U16View(buf_).substr(static_cast<size_t>(gap_end_)),
                    gap_start_};
  }

  U16 Substring(int64_t lo, int64_t hi) const {
    U16 out;
    out.reserve(static_cast<size_t>(std::max<int64_t>(hi - lo, 0)));
    if (lo < gap_start_) {
      out.append(U16View(buf_).substr(
          static_cast<size_t>(lo),
          static_cast<size_t>(std::min(hi, gap_start_) - lo)));
    }
    const int64_t from = std::max(lo, gap_start_);
    if (hi > from) {
      out.append(U16View(buf_).substr(static_cast<size_t>(from + GapSize()),
                                      static_cast<size_t>(hi - from)));
    }
    return out;
  }

  // Replaces text[pos, pos + count) by `insert`; pos and count are clamped to
  // the text.
  void Replace(int64_t pos, int64_t count, U16View insert) {
    pos = std::clamp<int64_t>(pos, 0, size());
    MoveGap(pos);
    gap_end_ += std::clamp<int64_t>(count, 0, size() - pos);
    if (Size(insert) > GapSize()) Grow(Size(insert));
    std::copy(insert.begin(), insert.end(),
              buf_.begin() + static_cast<ptrdiff_t>(gap_start_));
    gap_start_ += Size(insert);
  }

 private:
  int64_t GapSize() const { return gap_end_ - gap_start_; }

  void MoveGap(int64_t pos) {
    const auto b = buf_.begin();
    if (pos < gap_start_) {
      std::copy_backward(b + pos, b + gap_start_, b + gap_end_);
      gap_end_ -= gap_start_ - pos;
    } else if (pos > gap_start_) {
      const int64_t count = pos - gap_start_;
      std::copy(b + gap_end_, b + gap_end_ + count, b + gap_start_);
      gap_end_ += count;
    }
    gap_start_ = pos;
  }

  // Makes the gap at least `need` units, with room to spare so that a run of
  // insertions costs amortized linear time.
  void Grow(int64_t need) {
    const int64_t extra = std::max(need, Size(buf_) / 2 + 64) - GapSize();
    buf_.insert(static_cast<size_t>(gap_end_), static_cast<size_t>(extra),
                u'\0');
    gap_end_ += extra;
  }

  U16 buf_;
  int64_t gap_start_ = 0;
  int64_t gap_end_ = 0;
};

// match_main over the gap buffer.
std::optional<int64_t> Match(GapBuffer& text, U16View pattern, int64_t loc,
                             const Settings& settings) {
  const int64_t reach = MatchReach(text.size(), Size(pattern), loc, settings);
  return MatchMain(text.TailFrom(reach), pattern, loc, settings);
}

Patch16 ToPatch16(const Patch& p) {
  return Patch16{ToDiffs16(p.diffs), ClampExact(p.start1), ClampExact(p.start2),
                 ClampExact(p.length1), ClampExact(p.length2)};
}

Patch ToPatch(const Patch16& p) {
  return Patch{ToDiffs(p.diffs), p.start1, p.start2, p.length1, p.length2};
}

}  // namespace

Patches16 ToPatches16(const Patches& patches) {
  Patches16 out;
  out.reserve(patches.size());
  for (const Patch& p : patches) out.push_back(ToPatch16(p));
  return out;
}

Patches ToPatches(const Patches16& patches) {
  Patches out;
  out.reserve(patches.size());
  for (const Patch16& p : patches) out.push_back(ToPatch(p));
  return out;
}

Status CheckPatchSettings(const Settings& settings) {
  if (Status s = CheckMatchSettings(settings); !s.ok()) return s;
  if (settings.patch_margin < 0 ||
      2 * settings.patch_margin >= settings.match_max_bits) {
    return Status::InvalidArgument(
        "settings.patch_margin is " + std::to_string(settings.patch_margin) +
        "; it must be at least 0 and less than half of "
        "settings.match_max_bits (" +
        std::to_string(settings.match_max_bits) + ")");
  }
  return Status::Ok();
}

Settings ClampPatchSettings(const Settings& settings) {
  Settings out = settings;
  out.match_max_bits = std::clamp(out.match_max_bits, 1, kMaxBitapPattern);
  out.patch_margin =
      std::clamp(out.patch_margin, 0, (out.match_max_bits - 1) / 2);
  return out;
}

void PatchAddContext(Patch16& patch, U16View text, const Settings& settings) {
  Occurrences none{U16View()};
  Occurrences all(text);
  AddContext(patch, SplitText(none, 0, all, 0), settings);
}

Patches16 PatchMake(U16View text1, const Diffs16& diffs,
                    const Settings& settings) {
  Patches16 patches;
  if (diffs.empty()) return patches;
  const U16 text2 = Text2(diffs);
  const int64_t margin2 = 2 * int64_t{settings.patch_margin};
  Patch16 patch;
  // Positions in the pre-patch text (char_count1), in text2 (char_count2)
  // and in text1. DMP resets char_count1 to char_count2 after each hunk, as
  // its pre-patch text then has the hunk applied.
  int64_t count1 = 0;
  int64_t count2 = 0;
  int64_t source = 0;
  // The pre-patch text is text2[0, seam2) + text1[seam1, end).
  int64_t seam2 = 0;
  int64_t seam1 = 0;
  Occurrences in_text2(text2);
  Occurrences in_text1(text1);
  auto prepatch = [&] { return SplitText(in_text2, seam2, in_text1, seam1); };
  for (size_t x = 0; x < diffs.size(); ++x) {
    const Diff16& diff = diffs[x];
    const int64_t length = Size(diff.text);
    if (patch.diffs.empty() && diff.operation != Operation::kEqual) {
      // A new patch starts here.
      patch.start1 = count1;
      patch.start2 = count2;
    }
    switch (diff.operation) {
      case Operation::kInsert:
        patch.diffs.push_back(diff);
        patch.length2 += length;
        break;
      case Operation::kDelete:
        patch.length1 += length;
        patch.diffs.push_back(diff);
        break;
      case Operation::kEqual:
        if (length <= margin2 && !patch.diffs.empty() &&
            x + 1 != diffs.size()) {
          // Small equality inside a patch.
          patch.diffs.push_back(diff);
          patch.length1 += length;
          patch.length2 += length;
        } else if (length >= margin2 && !patch.diffs.empty()) {
          // Time for a new patch; the rolling context now has this one
          // applied.
          AddContext(patch, prepatch(), settings);
          patches.push_back(std::move(patch));
          patch = Patch16();
          seam2 = count2;
          seam1 = source;
          count1 = count2;
        }
        break;
    }
    if (diff.operation != Operation::kInsert) {
      count1 += length;
      source += length;
    }
    if (diff.operation != Operation::kDelete) count2 += length;
  }
  // Pick up the leftover patch if not empty.
  if (!patch.diffs.empty()) {
    AddContext(patch, prepatch(), settings);
    patches.push_back(std::move(patch));
  }
  return patches;
}

void PatchSplitMax(Patches16& patches, const Settings& settings) {
  const int64_t patch_size = settings.match_max_bits;
  const int64_t margin = settings.patch_margin;
  // Nothing to split is the common case; leave the vector alone then.
  if (std::none_of(patches.begin(), patches.end(),
                   [&](const Patch16& p) { return p.length1 > patch_size; })) {
    return;
  }
  Patches16 out;
  out.reserve(patches.size());
  for (Patch16& big : patches) {
    if (big.length1 <= patch_size) {
      out.push_back(std::move(big));
      continue;
    }
    // The diffs of `big` not yet handed out: diffs[head...], of whose first
    // `offset` units are gone.
    Diffs16& rest = big.diffs;
    size_t head = 0;
    size_t offset = 0;
    int64_t start1 = big.start1;
    int64_t start2 = big.start2;
    U16 precontext;
    while (head < rest.size()) {
      // Create one of several smaller patches.
      Patch16 patch;
      bool empty = true;
      patch.start1 = start1 - Size(precontext);
      patch.start2 = start2 - Size(precontext);
      if (!precontext.empty()) {
        patch.length1 = patch.length2 = Size(precontext);
        patch.diffs.push_back(Diff16{Operation::kEqual, precontext});
      }
      while (head < rest.size() && patch.length1 < patch_size - margin) {
        const Operation op = rest[head].operation;
        const U16View text = U16View(rest[head].text).substr(offset);
        if (op == Operation::kInsert) {
          // Insertions are harmless.
          patch.length2 += Size(text);
          start2 += Size(text);
          patch.diffs.push_back(Diff16{op, U16(text)});
          ++head;
          offset = 0;
          empty = false;
        } else if (op == Operation::kDelete && patch.diffs.size() == 1 &&
                   patch.diffs[0].operation == Operation::kEqual &&
                   Size(text) > 2 * patch_size) {
          // This is a large deletion. Let it pass in one chunk.
          patch.length1 += Size(text);
          start1 += Size(text);
          patch.diffs.push_back(Diff16{op, U16(text)});
          ++head;
          offset = 0;
          empty = false;
        } else {
          // Deletion or equality. Only take as much as we can stomach, in
          // whole characters (at least one).
          int64_t take =
              std::min(patch_size - patch.length1 - margin, Size(text));
          if (!IsCharBoundary(text, static_cast<size_t>(take))) {
            take = take > 1 ? take - 1 : take + 1;
          }
          const U16View chunk = text.substr(0, static_cast<size_t>(take));
          patch.length1 += take;
          start1 += take;
          if (op == Operation::kEqual) {
            patch.length2 += take;
            start2 += take;
          } else {
            empty = false;
          }
          patch.diffs.push_back(Diff16{op, U16(chunk)});
          if (take == Size(text)) {
            ++head;
            offset = 0;
          } else {
            offset += static_cast<size_t>(take);
          }
        }
      }
      // Compute the head context for the next patch.
      precontext = Text2Tail(patch.diffs, margin);
      // Append the end context for this patch.
      U16 postcontext = Text1Head(rest, head, offset, margin);
      if (!postcontext.empty()) {
        patch.length1 += Size(postcontext);
        patch.length2 += Size(postcontext);
        if (!patch.diffs.empty() &&
            patch.diffs.back().operation == Operation::kEqual) {
          patch.diffs.back().text += postcontext;
        } else {
          patch.diffs.push_back(
              Diff16{Operation::kEqual, std::move(postcontext)});
        }
      }
      if (!empty) out.push_back(std::move(patch));
    }
  }
  patches = std::move(out);
}

U16 PatchAddPadding(Patches16& patches, const Settings& settings) {
  const int64_t padding_length = settings.patch_margin;
  U16 padding;
  for (int64_t x = 1; x <= padding_length; ++x) {
    padding.push_back(static_cast<char16_t>(x));
  }
  // Bump all the patches forward.
  for (Patch16& p : patches) {
    p.start1 += padding_length;
    p.start2 += padding_length;
  }
  if (patches.empty()) return padding;

  // Add some padding on start of first diff.
  Patch16& first = patches.front();
  if (first.diffs.empty() ||
      first.diffs.front().operation != Operation::kEqual) {
    first.diffs.insert(first.diffs.begin(), Diff16{Operation::kEqual, padding});
    first.start1 -= padding_length;
    first.start2 -= padding_length;
    first.length1 += padding_length;
    first.length2 += padding_length;
  } else if (padding_length > Size(first.diffs.front().text)) {
    // Grow first equality.
    U16& text = first.diffs.front().text;
    const int64_t extra = padding_length - Size(text);
    text.insert(0, U16View(padding).substr(text.size()));
    first.start1 -= extra;
    first.start2 -= extra;
    first.length1 += extra;
    first.length2 += extra;
  }

  // Add some padding on end of last diff.
  Patch16& last = patches.back();
  if (last.diffs.empty() || last.diffs.back().operation != Operation::kEqual) {
    last.diffs.push_back(Diff16{Operation::kEqual, padding});
    last.length1 += padding_length;
    last.length2 += padding_length;
  } else if (padding_length > Size(last.diffs.back().text)) {
    // Grow last equality.
    U16& text = last.diffs.back().text;
    const int64_t extra = padding_length - Size(text);
    text.append(U16View(padding).substr(0, static_cast<size_t>(extra)));
    last.length1 += extra;
    last.length2 += extra;
  }
  return padding;
}

Applied16 PatchApply(Patches16 patches, U16View text,
                     const Settings& settings) {
  if (patches.empty()) return Applied16{U16(text), {}};
  const U16 padding = PatchAddPadding(patches, settings);
  PatchSplitMax(patches, settings);

  U16 padded;
  padded.reserve(text.size() + 2 * padding.size());
  padded.append(padding).append(text).append(padding);
  GapBuffer buf(std::move(padded));

  const int64_t max_bits = settings.match_max_bits;
  Applied16 result;
  result.applied.reserve(patches.size());
  // The offset between the expected and actual location of the previous
  // patch: if patches are expected at 10 and 20 but the first was found at
  // 12, the second is expected at 22.
  int64_t delta = 0;
  for (const Patch16& patch : patches) {
    const int64_t expected_loc = patch.start2 + delta;
    const U16 text1 = Text1(patch.diffs);
    const int64_t size1 = Size(text1);
    std::optional<int64_t> start_loc;
    // Where the matched text ends.
    int64_t end = 0;
    if (size1 > max_bits) {
      // patch_splitMax only leaves an oversized pattern for a monster
      // delete: match its two ends.
      const U16View head = FirstChars(text1, max_bits);
      const U16View tail = LastChars(text1, max_bits);
      start_loc = Match(buf, head, expected_loc, settings);
      if (start_loc) {
        const std::optional<int64_t> end_loc =
            Match(buf, tail, expected_loc + size1 - Size(tail), settings);
        if (!end_loc || *start_loc >= *end_loc) {
          // Can't find valid trailing context. Drop this patch.
          start_loc.reset();
        } else {
          end = *end_loc + Size(tail);
        }
      }
    } else {
      start_loc = Match(buf, text1, expected_loc, settings);
      if (start_loc) end = *start_loc + size1;
    }
    if (!start_loc) {
      result.applied.push_back(false);
      // Subtract the delta for this failed patch from subsequent patches.
      delta = ClampExact(delta - (patch.length2 - patch.length1));
      continue;
    }
    result.applied.push_back(true);
    delta = *start_loc - expected_loc;
    const U16 text2 = buf.Substring(*start_loc, CeilBoundary(buf, end));
    if (text1 == text2) {
      // Perfect match, just shove the replacement text in.
      buf.Replace(*start_loc, size1, Text2(patch.diffs));
      continue;
    }
    // Imperfect match. Run a diff to get a framework of equivalent indices.
    Diffs16 diffs = DiffMain(text1, text2, /*check_lines=*/false,
                             DeadlineAfter(settings.diff_timeout));
    if (size1 > max_bits &&
        static_cast<double>(Levenshtein(diffs)) / static_cast<double>(size1) >
            settings.patch_delete_threshold) {
      // The end points match, but the content is unacceptably bad.
      result.applied.back() = false;
      continue;
    }
    CleanupSemanticLossless(diffs);
    int64_t index1 = 0;
    for (const Diff16& mod : patch.diffs) {
      if (mod.operation == Operation::kInsert) {
        buf.Replace(FloorBoundary(buf, *start_loc + XIndex(diffs, index1)), 0,
                    mod.text);
      } else if (mod.operation == Operation::kDelete) {
        const int64_t from =
            FloorBoundary(buf, *start_loc + XIndex(diffs, index1));
        const int64_t to = FloorBoundary(
            buf, *start_loc + XIndex(diffs, index1 + Size(mod.text)));
        buf.Replace(from, to - from, U16View());
      }
      if (mod.operation != Operation::kDelete) index1 += Size(mod.text);
    }
  }
  // Strip the padding off (JavaScript's substring: swapped if reversed).
  int64_t lo = Size(padding);
  int64_t hi = buf.size() - Size(padding);
  if (lo > hi) std::swap(lo, hi);
  result.text = buf.Substring(FloorBoundary(buf, lo), CeilBoundary(buf, hi));
  return result;
}

}  // namespace diffsync::dmp::internal

namespace diffsync::dmp {
namespace {

using internal::U16;

// "start,length" of a hunk header, 1-based as DMP writes it: an empty range
// names the position before it, a one-unit range omits the length.
void AppendCoords(int64_t start, int64_t length, std::string& out) {
  if (length == 0) {
    out += std::to_string(start) + ",0";
  } else if (length == 1) {
    out += std::to_string(start + 1);
  } else {
    out += std::to_string(start + 1) + "," + std::to_string(length);
  }
}

std::string LineError(size_t line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

// A hunk header "@@ -a[,b] +c[,d] @@" (DMP's /^@@ -(\d+),?(\d*) \+(\d+),?(\d*)
// @@$/), filling start1/length1/start2/length2 of `patch`.
Status ParseHeader(std::string_view line, size_t line_no, Patch& patch) {
  const std::string_view original = line;
  auto bad = [&] {
    // The line may be long or not UTF-8; show a printable ASCII prefix.
    std::string shown;
    for (char c : original.substr(0, 40)) {
      shown += (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    if (original.size() > 40) shown += "...";
    return Status::InvalidArgument(LineError(
        line_no, "invalid patch header \"" + shown +
                     "\"; expected \"@@ -start[,length] +start[,length] @@\""));
  };
  auto consume = [&](std::string_view token) {
    if (line.substr(0, token.size()) != token) return false;
    line.remove_prefix(token.size());
    return true;
  };
  auto digits = [&] {
    size_t n = 0;
    while (n < line.size() && line[n] >= '0' && line[n] <= '9') ++n;
    std::string_view d = line.substr(0, n);
    line.remove_prefix(n);
    return d;
  };
  auto value = [&](std::string_view d, int64_t* out) {
    int64_t v = 0;
    for (char c : d) {
      v = v * 10 + (c - '0');
      if (v > internal::kMaxExact) {
        return Status::InvalidArgument(
            LineError(line_no, "number " + std::string(d.substr(0, 20)) +
                                   (d.size() > 20 ? "..." : "") +
                                   " in patch header is too large"));
      }
    }
    *out = v;
    return Status::Ok();
  };
  // One "start[,length]" pair, decoded as DMP does: no length means 1 and a
  // 1-based start; length "0" means an empty range after `start`.
  auto range = [&](int64_t* start, int64_t* length) {
    const std::string_view start_digits = digits();
    if (start_digits.empty()) return bad();
    consume(",");
    const std::string_view length_digits = digits();
    if (Status s = value(start_digits, start); !s.ok()) return s;
    if (length_digits.empty()) {
      --*start;
      *length = 1;
    } else if (length_digits == "0") {
      *length = 0;
    } else {
      --*start;
      if (Status s = value(length_digits, length); !s.ok()) return s;
      // DMP reads "0,00" as an empty range at -1, which no header can
      // express: its own patch_toText would write "-1,0".
      if (*length == 0 && *start < 0) {
        return Status::InvalidArgument(LineError(
            line_no, "range \"" + std::string(start_digits) + "," +
                         std::string(length_digits) +
                         "\" in patch header starts before the text"));
      }
    }
    return Status::Ok();
  };
  if (!consume("@@ -")) return bad();
  if (Status s = range(&patch.start1, &patch.length1); !s.ok()) return s;
  if (!consume(" +")) return bad();
  if (Status s = range(&patch.start2, &patch.length2); !s.ok()) return s;
  if (!consume(" @@") || !line.empty()) return bad();
  return Status::Ok();
}

}  // namespace

std::string Patch::ToString() const {
  std::string out = "@@ -";
  AppendCoords(start1, length1, out);
  out += " +";
  AppendCoords(start2, length2, out);
  out += " @@\n";
  for (const Diff& diff : diffs) {
    switch (diff.operation) {
      case Operation::kInsert:
        out += '+';
        break;
      case Operation::kDelete:
        out += '-';
        break;
      case Operation::kEqual:
        out += ' ';
        break;
    }
    internal::AppendEncodeUri(diff.text, out);
    out += '\n';
  }
  return out;
}

Result<Patches> PatchMake(std::string_view text1, std::string_view text2,
                          const Settings& settings) {
  if (Status s = internal::CheckPatchSettings(settings); !s.ok()) return s;
  Result<U16> a = internal::DecodeUtf8(text1, "text1");
  if (!a.ok()) return a.status();
  Result<U16> b = internal::DecodeUtf8(text2, "text2");
  if (!b.ok()) return b.status();
  internal::Diffs16 diffs =
      internal::DiffMain(*a, *b, /*check_lines=*/true,
                         internal::DeadlineAfter(settings.diff_timeout));
  if (diffs.size() > 2) {
    internal::CleanupSemantic(diffs);
    internal::CleanupEfficiency(diffs, settings.diff_edit_cost);
  }
  return internal::ToPatches(internal::PatchMake(*a, diffs, settings));
}

Patches PatchMake(const Diffs& diffs, const Settings& settings) {
  const internal::Diffs16 diffs16 = internal::ToDiffs16(diffs);
  return internal::ToPatches(
      internal::PatchMake(internal::Text1(diffs16), diffs16,
                          internal::ClampPatchSettings(settings)));
}

Result<Patches> PatchMake(std::string_view text1, const Diffs& diffs,
                          const Settings& settings) {
  if (Status s = internal::CheckPatchSettings(settings); !s.ok()) return s;
  Result<U16> a = internal::DecodeUtf8(text1, "text1");
  if (!a.ok()) return a.status();
  const internal::Diffs16 diffs16 = internal::ToDiffs16(diffs);
  const U16 source = internal::Text1(diffs16);
  if (source != *a) {
    return Status::InvalidArgument(
        "diffs do not start from text1: their source text differs from it "
        "at UTF-16 offset " +
        std::to_string(internal::CommonPrefix(source, *a)));
  }
  return internal::ToPatches(internal::PatchMake(*a, diffs16, settings));
}

std::string PatchToText(const Patches& patches) {
  std::string out;
  for (const Patch& p : patches) out += p.ToString();
  return out;
}

Result<Patches> PatchFromText(std::string_view text) {
  Patches patches;
  size_t line_no = 0;
  // Lines as JavaScript's split('\n') gives them: a trailing newline leaves
  // a last, empty line.
  std::string_view rest = text;
  bool more = !text.empty();
  auto next_line = [&] {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    if (end == std::string_view::npos) {
      more = false;
    } else {
      rest.remove_prefix(end + 1);
    }
    ++line_no;
    return line;
  };
  std::string_view line;
  bool have_line = false;
  while (have_line || more) {
    if (!have_line) line = next_line();
    have_line = false;
    Patch& patch = patches.emplace_back();
    if (Status s = ParseHeader(line, line_no, patch); !s.ok()) return s;
    while (more) {
      line = next_line();
      if (line.empty()) continue;  // Blank line? Whatever.
      Operation op = Operation::kEqual;
      switch (line[0]) {
        case '-':
          op = Operation::kDelete;
          break;
        case '+':
          op = Operation::kInsert;
          break;
        case ' ':
          op = Operation::kEqual;
          break;
        case '@':
          have_line = true;
          break;
        default:
          return Status::InvalidArgument(LineError(
              line_no, "a patch line must start with ' ', '-', '+' or \"@@\""));
      }
      if (have_line) break;
      Result<std::string> decoded = internal::DecodeUri(
          line.substr(1), "line " + std::to_string(line_no), 1);
      if (!decoded.ok()) return decoded.status();
      patch.diffs.push_back(Diff{op, std::move(*decoded)});
    }
  }
  return patches;
}

void PatchSplitMax(Patches& patches, const Settings& settings) {
  internal::Patches16 patches16 = internal::ToPatches16(patches);
  internal::PatchSplitMax(patches16, internal::ClampPatchSettings(settings));
  patches = internal::ToPatches(patches16);
}

std::string PatchAddPadding(Patches& patches, const Settings& settings) {
  internal::Patches16 patches16 = internal::ToPatches16(patches);
  const U16 padding = internal::PatchAddPadding(
      patches16, internal::ClampPatchSettings(settings));
  patches = internal::ToPatches(patches16);
  return internal::ToUtf8(padding);
}

Result<ApplyResult> PatchApply(const Patches& patches, std::string_view text,
                               const Settings& settings) {
  if (Status s = internal::CheckPatchSettings(settings); !s.ok()) return s;
  Result<U16> text16 = internal::DecodeUtf8(text, "text");
  if (!text16.ok()) return text16.status();
  internal::Applied16 applied =
      internal::PatchApply(internal::ToPatches16(patches), *text16, settings);
  return ApplyResult{internal::ToUtf8(applied.text),
                     std::move(applied.applied)};
}

}  // namespace diffsync::dmp
