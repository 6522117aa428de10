// The diff algorithms. They follow DMP's JavaScript port step for step, so
// that results are identical, with three deliberate differences:
//  - no diff splits a surrogate pair (prefixes and suffixes are snapped to
//    character boundaries, edits shift by whole characters, and a final pass
//    repairs any split the Myers search made);
//  - line mode has no 65,535-line limit (line ids are 32-bit);
//  - past the deadline, bisection keeps splitting at the furthest point it
//    reached instead of replacing the whole region by one delete + insert.
// Strings are walked through views and indices; no step copies a text per
// character, so long equalities cost what their length costs once.

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstring>
#include <string>
#include <type_traits>
#include <unordered_map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DIFFSYNC_HAVE_AVX2_SNAKE 1
#else
#define DIFFSYNC_HAVE_AVX2_SNAKE 0
#endif

#include "dmp/diff_core.h"
#include "dmp/utf.h"

namespace diffsync::dmp::internal {
namespace {

using U32 = std::u32string;
using U32View = std::u32string_view;

// After the deadline, each bisection searches this many edit steps before it
// settles for the furthest point reached.
constexpr int kStepsAfterDeadline = 64;

template <typename C>
using View = std::basic_string_view<C>;

// True if `i` is a character boundary of `s`: never inside a UTF-8 sequence
// or a UTF-16 surrogate pair. Line ids (char32_t) have no inner boundaries.
template <typename C>
bool IsBoundary(View<C> s, size_t i) {
  if constexpr (std::is_same_v<C, char>) {
    return i == 0 || i >= s.size() || !IsContinuationByte(s[i]);
  } else if constexpr (std::is_same_v<C, char16_t>) {
    return IsCharBoundary(s, i);
  } else {
    return true;
  }
}

// Number of equal leading elements of a[0, n) and b[0, n).
template <typename C>
size_t MismatchForward(const C* a, const C* b, size_t n) {
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    constexpr size_t kPer = 8 / sizeof(C);
    for (; i + kPer <= n; i += kPer) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) return i + std::countr_zero(x ^ y) / (8 * sizeof(C));
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Number of equal trailing elements of a[-n, 0) and b[-n, 0) (pointers to
// one past the end).
template <typename C>
size_t MismatchBackward(const C* a_end, const C* b_end, size_t n) {
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    constexpr size_t kPer = 8 / sizeof(C);
    for (; i + kPer <= n; i += kPer) {
      uint64_t x, y;
      std::memcpy(&x, a_end - i - kPer, 8);
      std::memcpy(&y, b_end - i - kPer, 8);
      if (x != y) return i + std::countl_zero(x ^ y) / (8 * sizeof(C));
    }
  }
  while (i < n && a_end[-1 - static_cast<ptrdiff_t>(i)] ==
                      b_end[-1 - static_cast<ptrdiff_t>(i)]) {
    ++i;
  }
  return i;
}

// Common prefix / suffix of whole texts can be megabytes long: skip equal
// blocks with memcmp (vectorised by the C library) before the word loop.
constexpr size_t kBlockBytes = 1024;

template <typename C>
size_t LongMismatchForward(const C* a, const C* b, size_t n) {
  constexpr size_t kBlock = kBlockBytes / sizeof(C);
  size_t i = 0;
  while (i + kBlock <= n && std::memcmp(a + i, b + i, kBlockBytes) == 0) {
    i += kBlock;
  }
  return i + MismatchForward(a + i, b + i, n - i);
}

template <typename C>
size_t LongMismatchBackward(const C* a_end, const C* b_end, size_t n) {
  constexpr size_t kBlock = kBlockBytes / sizeof(C);
  size_t i = 0;
  while (i + kBlock <= n && std::memcmp(a_end - i - kBlock, b_end - i - kBlock,
                                        kBlockBytes) == 0) {
    i += kBlock;
  }
  return i + MismatchBackward(a_end - i, b_end - i, n - i);
}

#if defined(__SSE2__)
// Lanes of 16 bytes equal to `c`, as a byte mask (sizeof(C) bits per lane).
template <typename C>
unsigned EqualLanes(const C* p, C c) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i eq;
  if constexpr (sizeof(C) == 1) {
    eq = _mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(c)));
  } else if constexpr (sizeof(C) == 2) {
    eq = _mm_cmpeq_epi16(v, _mm_set1_epi16(static_cast<int16_t>(c)));
  } else {
    eq = _mm_cmpeq_epi32(v, _mm_set1_epi32(static_cast<int32_t>(c)));
  }
  return static_cast<unsigned>(_mm_movemask_epi8(eq));
}
#endif

// haystack.find(needle, from), faster than char_traits' element loop: a
// vector pass finds the positions where both the needle's first and last
// elements match (few, in text), memcmp checks the middle.
template <typename C>
size_t Find(View<C> haystack, View<C> needle, size_t from = 0) {
  if (from > haystack.size()) return View<C>::npos;
  if (needle.empty()) return from;
  if (needle.size() > haystack.size() - from) return View<C>::npos;
  const size_t m = needle.size();
  const C* const h = haystack.data();
  const C first = needle.front(), last = needle.back();
  // Last position at which the whole needle still fits.
  const size_t last_start = haystack.size() - m;
  size_t i = from;
#if defined(__SSE2__)
  constexpr size_t kLanes = 16 / sizeof(C);
  for (; i + kLanes - 1 <= last_start; i += kLanes) {
    unsigned hits = EqualLanes(h + i, first) & EqualLanes(h + i + m - 1, last);
    while (hits != 0) {
      const size_t lane =
          static_cast<size_t>(std::countr_zero(hits)) / sizeof(C);
      if (std::memcmp(h + i + lane, needle.data(), m * sizeof(C)) == 0) {
        return i + lane;
      }
      hits &= ~(((1u << sizeof(C)) - 1) << (lane * sizeof(C)));
    }
  }
#endif
  for (; i <= last_start; ++i) {
    if (h[i] == first && h[i + m - 1] == last &&
        std::memcmp(h + i, needle.data(), m * sizeof(C)) == 0) {
      return i;
    }
  }
  return View<C>::npos;
}

// Compares the 64 bytes at a and b; if they are equal, ORs a's bytes into
// *bits (whose high bits then tell whether a non-ASCII byte was seen).
#if defined(__SSE2__)
using ByteBits = __m128i;
inline ByteBits NoByteBits() { return _mm_setzero_si128(); }
inline bool AllAscii(ByteBits bits) { return _mm_movemask_epi8(bits) == 0; }
inline bool Equal64(const char* a, const char* b, ByteBits* bits) {
  const auto load = [](const char* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  const __m128i x0 = load(a), x1 = load(a + 16), x2 = load(a + 32),
                x3 = load(a + 48);
  const __m128i same =
      _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(x0, load(b)),
                                  _mm_cmpeq_epi8(x1, load(b + 16))),
                    _mm_and_si128(_mm_cmpeq_epi8(x2, load(b + 32)),
                                  _mm_cmpeq_epi8(x3, load(b + 48))));
  if (_mm_movemask_epi8(same) != 0xFFFF) return false;
  *bits = _mm_or_si128(
      *bits, _mm_or_si128(_mm_or_si128(x0, x1), _mm_or_si128(x2, x3)));
  return true;
}
#else
using ByteBits = uint64_t;
inline ByteBits NoByteBits() { return 0; }
inline bool AllAscii(ByteBits bits) {
  return (bits & 0x8080808080808080ULL) == 0;
}
inline bool Equal64(const char* a, const char* b, ByteBits* bits) {
  uint64_t differ = 0, any = 0;
  for (int i = 0; i < 64; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    differ |= x ^ y;
    any |= x;
  }
  if (differ != 0) return false;
  *bits |= any;
  return true;
}
#endif

// The common prefix / suffix of two byte texts, on a character boundary,
// 64 bytes per step, that also tells (if `ascii` is not null) whether the
// equal bytes are all ASCII: the caller then knows them to be valid UTF-8
// without reading them again.
size_t BytePrefixLength(std::string_view a, std::string_view b, bool* ascii) {
  const size_t n = std::min(a.size(), b.size());
  ByteBits bits = NoByteBits();
  size_t i = 0;
  while (i + 64 <= n && Equal64(a.data() + i, b.data() + i, &bits)) i += 64;
  size_t m = i + MismatchForward(a.data() + i, b.data() + i, n - i);
  bool high = false;
  for (size_t j = i; j < m; ++j) high |= (a[j] & 0x80) != 0;
  while (m > 0 && !(IsBoundary(a, m) && IsBoundary(b, m))) --m;
  if (ascii != nullptr) *ascii = !high && AllAscii(bits);
  return m;
}

size_t ByteSuffixLength(std::string_view a, std::string_view b, bool* ascii) {
  const size_t n = std::min(a.size(), b.size());
  const char* const a_end = a.data() + a.size();
  const char* const b_end = b.data() + b.size();
  ByteBits bits = NoByteBits();
  size_t i = 0;
  while (i + 64 <= n && Equal64(a_end - i - 64, b_end - i - 64, &bits)) {
    i += 64;
  }
  size_t m = i + MismatchBackward(a_end - i, b_end - i, n - i);
  bool high = false;
  for (size_t j = i; j < m; ++j) {
    high |= (a_end[-1 - static_cast<ptrdiff_t>(j)] & 0x80) != 0;
  }
  while (m > 0 &&
         !(IsBoundary(a, a.size() - m) && IsBoundary(b, b.size() - m))) {
    --m;
  }
  if (ascii != nullptr) *ascii = !high && AllAscii(bits);
  return m;
}

template <typename C>
size_t PrefixLength(View<C> a, View<C> b) {
  size_t n =
      LongMismatchForward(a.data(), b.data(), std::min(a.size(), b.size()));
  while (n > 0 && !(IsBoundary(a, n) && IsBoundary(b, n))) --n;
  return n;
}

template <typename C>
size_t SuffixLength(View<C> a, View<C> b) {
  size_t n = LongMismatchBackward(a.data() + a.size(), b.data() + b.size(),
                                  std::min(a.size(), b.size()));
  while (n > 0 &&
         !(IsBoundary(a, a.size() - n) && IsBoundary(b, b.size() - n))) {
    --n;
  }
  return n;
}

template <typename C>
size_t OverlapLength(View<C> a, View<C> b) {
  if (a.empty() || b.empty()) return 0;
  if (a.size() > b.size()) a = a.substr(a.size() - b.size());
  if (b.size() > a.size()) b = b.substr(0, a.size());
  const size_t n = a.size();
  if (a == b) return n;
  // Grow a candidate suffix of `a`; each time it is found in `b`, jump ahead
  // by where it was found (DMP's algorithm, linear in practice).
  size_t best = 0;
  size_t length = 1;
  while (true) {
    const size_t found = Find(b, a.substr(n - length));
    if (found == View<C>::npos) return best;
    length += found;
    if (length > n) return best;
    if (found == 0 || a.substr(n - length) == b.substr(0, length)) {
      best = length;
      ++length;
      if (length > n) return best;
    }
  }
}

template <typename C>
using DiffsOf = std::vector<BasicDiff<C>>;

template <typename C>
struct HalfMatchParts {
  View<C> long_a, long_b, short_a, short_b;
  std::basic_string<C> common;
};

// Does a substring of `shorttext` exist within `longtext` such that the
// substring is at least half the length of `longtext`? Seeds with the
// quarter-length substring at `i`.
template <typename C>
std::optional<HalfMatchParts<C>> HalfMatchAt(View<C> longtext,
                                             View<C> shorttext, size_t i) {
  const View<C> seed = longtext.substr(i, longtext.size() / 4);
  size_t best_length = 0;
  HalfMatchParts<C> best;
  size_t j = Find(shorttext, seed);
  while (j != View<C>::npos) {
    const size_t prefix = PrefixLength(longtext.substr(i), shorttext.substr(j));
    const size_t suffix =
        SuffixLength(longtext.substr(0, i), shorttext.substr(0, j));
    if (best_length < suffix + prefix) {
      best_length = suffix + prefix;
      best.common =
          std::basic_string<C>(shorttext.substr(j - suffix, suffix + prefix));
      best.long_a = longtext.substr(0, i - suffix);
      best.long_b = longtext.substr(i + prefix);
      best.short_a = shorttext.substr(0, j - suffix);
      best.short_b = shorttext.substr(j + prefix);
    }
    j = Find(shorttext, seed, j + 1);
  }
  if (best_length * 2 >= longtext.size()) return best;
  return std::nullopt;
}

// {text1_a, text1_b, text2_a, text2_b, common} as views into the inputs
// (common owned).
template <typename C>
struct HalfMatchResult {
  View<C> text1_a, text1_b, text2_a, text2_b;
  std::basic_string<C> common;
};

template <typename C>
std::optional<HalfMatchResult<C>> HalfMatchImpl(View<C> text1, View<C> text2) {
  const bool text1_longer = text1.size() > text2.size();
  const View<C> longtext = text1_longer ? text1 : text2;
  const View<C> shorttext = text1_longer ? text2 : text1;
  if (longtext.size() < 4 || shorttext.size() * 2 < longtext.size()) {
    return std::nullopt;
  }
  auto hm1 = HalfMatchAt(longtext, shorttext, (longtext.size() + 3) / 4);
  auto hm2 = HalfMatchAt(longtext, shorttext, (longtext.size() + 1) / 2);
  if (!hm1 && !hm2) return std::nullopt;
  HalfMatchParts<C>* hm;
  if (!hm2) {
    hm = &*hm1;
  } else if (!hm1) {
    hm = &*hm2;
  } else {
    hm = hm1->common.size() > hm2->common.size() ? &*hm1 : &*hm2;
  }
  HalfMatchResult<C> r;
  if (text1_longer) {
    r.text1_a = hm->long_a;
    r.text1_b = hm->long_b;
    r.text2_a = hm->short_a;
    r.text2_b = hm->short_b;
  } else {
    r.text2_a = hm->long_a;
    r.text2_b = hm->long_b;
    r.text1_a = hm->short_a;
    r.text1_b = hm->short_b;
  }
  r.common = std::move(hm->common);
  return r;
}

template <typename C>
void Append(DiffsOf<C>& out, DiffsOf<C>&& more) {
  out.insert(out.end(), std::make_move_iterator(more.begin()),
             std::make_move_iterator(more.end()));
}

template <typename C>
DiffsOf<C> MainImpl(View<C> text1, View<C> text2, bool check_lines,
                    TimePoint deadline);

template <typename C>
DiffsOf<C> BisectSplit(View<C> text1, View<C> text2, size_t x, size_t y,
                       TimePoint deadline) {
  DiffsOf<C> diffs =
      MainImpl(text1.substr(0, x), text2.substr(0, y), false, deadline);
  Append(diffs, MainImpl(text1.substr(x), text2.substr(y), false, deadline));
  return diffs;
}

// Two copies of the middle-snake search: plain, and (x86-64) one that
// advances eight diagonals per instruction where the CPU has AVX2. Each
// copy lives in its own namespace, so no inline function of one is merged
// with the other's at link time.
namespace plain {
#define DIFFSYNC_SNAKE_TARGET
#define DIFFSYNC_SNAKE_AVX2 0
#include "dmp/middle_snake.inc"
#undef DIFFSYNC_SNAKE_AVX2
#undef DIFFSYNC_SNAKE_TARGET
}  // namespace plain

#if DIFFSYNC_HAVE_AVX2_SNAKE
namespace avx2 {
#define DIFFSYNC_SNAKE_TARGET __attribute__((target("avx2")))
#define DIFFSYNC_SNAKE_AVX2 1
#include "dmp/middle_snake.inc"
#undef DIFFSYNC_SNAKE_AVX2
#undef DIFFSYNC_SNAKE_TARGET
}  // namespace avx2

// Read on every bisection; set only by tests (UseVectorSnakeForTesting).
std::atomic<bool> vector_snake_allowed{true};

bool UseAvx2Snake() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has && vector_snake_allowed.load(std::memory_order_relaxed);
}
#endif

template <typename C, typename I, bool kFront>
std::optional<plain::SnakeSplit> FindMiddleSnake(View<C> text1, View<C> text2,
                                                 TimePoint deadline) {
#if DIFFSYNC_HAVE_AVX2_SNAKE
  if constexpr (std::is_same_v<C, char16_t> && std::is_same_v<I, int32_t>) {
    if (UseAvx2Snake()) {
      if (auto met = avx2::MiddleSnake<C, I, kFront>(text1, text2, deadline)) {
        return plain::SnakeSplit{met->x, met->y};
      }
      return std::nullopt;
    }
  }
#endif
  return plain::MiddleSnake<C, I, kFront>(text1, text2, deadline);
}

// Myers' bisection: split at the middle snake and diff both halves.
template <typename C, typename I, bool kFront>
DiffsOf<C> BisectWith(View<C> text1, View<C> text2, TimePoint deadline) {
  if (const auto met = FindMiddleSnake<C, I, kFront>(text1, text2, deadline)) {
    return BisectSplit(text1, text2, met->x, met->y, deadline);
  }
  // No commonality at all.
  DiffsOf<C> diffs;
  diffs.push_back({Operation::kDelete, std::basic_string<C>(text1)});
  diffs.push_back({Operation::kInsert, std::basic_string<C>(text2)});
  return diffs;
}

template <typename C>
DiffsOf<C> Bisect(View<C> text1, View<C> text2, TimePoint deadline) {
  // If the total number of characters is odd, the front path collides with
  // the reverse path.
  const bool front = (text1.size() + text2.size()) % 2 != 0;
  if (text1.size() + text2.size() < (size_t{1} << 30)) {
    return front ? BisectWith<C, int32_t, true>(text1, text2, deadline)
                 : BisectWith<C, int32_t, false>(text1, text2, deadline);
  }
  return front ? BisectWith<C, int64_t, true>(text1, text2, deadline)
               : BisectWith<C, int64_t, false>(text1, text2, deadline);
}

Diffs16 LineMode(U16View text1, U16View text2, TimePoint deadline);

// Diffs two texts that share no common prefix or suffix.
template <typename C>
DiffsOf<C> Compute(View<C> text1, View<C> text2, bool check_lines,
                   TimePoint deadline) {
  using S = std::basic_string<C>;
  if (text1.empty()) return {{Operation::kInsert, S(text2)}};
  if (text2.empty()) return {{Operation::kDelete, S(text1)}};

  const bool text1_longer = text1.size() > text2.size();
  const View<C> longtext = text1_longer ? text1 : text2;
  const View<C> shorttext = text1_longer ? text2 : text1;
  if (const size_t i = Find(longtext, shorttext); i != View<C>::npos) {
    // Shorter text is inside the longer text. (An end is empty only when a
    // shared half of a surrogate pair kept the prefix or suffix unstripped.)
    const Operation op = text1_longer ? Operation::kDelete : Operation::kInsert;
    DiffsOf<C> diffs;
    if (i > 0) diffs.push_back({op, S(longtext.substr(0, i))});
    diffs.push_back({Operation::kEqual, S(shorttext)});
    if (i + shorttext.size() < longtext.size()) {
      diffs.push_back({op, S(longtext.substr(i + shorttext.size()))});
    }
    return diffs;
  }
  if (shorttext.size() == 1) {
    // After the previous check, the character can't be an equality.
    return {{Operation::kDelete, S(text1)}, {Operation::kInsert, S(text2)}};
  }
  if (deadline != kNoDeadline) {
    // Half-match can yield a non-minimal diff, so only when time is limited.
    if (auto hm = HalfMatchImpl(text1, text2)) {
      DiffsOf<C> diffs =
          MainImpl(hm->text1_a, hm->text2_a, check_lines, deadline);
      diffs.push_back({Operation::kEqual, std::move(hm->common)});
      Append(diffs, MainImpl(hm->text1_b, hm->text2_b, check_lines, deadline));
      return diffs;
    }
  }
  if constexpr (std::is_same_v<C, char16_t>) {
    if (check_lines && text1.size() > 100 && text2.size() > 100) {
      return LineMode(text1, text2, deadline);
    }
  }
  return Bisect(text1, text2, deadline);
}

template <typename D>
void CleanupMergeImpl(std::vector<D>& diffs);

template <typename C>
DiffsOf<C> MainImpl(View<C> text1, View<C> text2, bool check_lines,
                    TimePoint deadline) {
  using S = std::basic_string<C>;
  if (text1 == text2) {
    if (text1.empty()) return {};
    return {{Operation::kEqual, S(text1)}};
  }
  const size_t prefix = PrefixLength(text1, text2);
  const View<C> common_prefix = text1.substr(0, prefix);
  text1.remove_prefix(prefix);
  text2.remove_prefix(prefix);
  const size_t suffix = SuffixLength(text1, text2);
  const View<C> common_suffix = text1.substr(text1.size() - suffix);
  text1.remove_suffix(suffix);
  text2.remove_suffix(suffix);

  DiffsOf<C> middle = Compute(text1, text2, check_lines, deadline);
  DiffsOf<C> diffs;
  diffs.reserve(middle.size() + 2);
  if (!common_prefix.empty()) {
    diffs.push_back({Operation::kEqual, S(common_prefix)});
  }
  Append(diffs, std::move(middle));
  if (!common_suffix.empty()) {
    diffs.push_back({Operation::kEqual, S(common_suffix)});
  }
  CleanupMergeImpl(diffs);
  return diffs;
}

// Line ids for line mode: each distinct line (including its '\n') gets a
// number from 1 up, shared by both texts. Lines are hashed 4 code units at a
// time into an open-addressing table (std::unordered_map spent most of line
// mode's time on 10 MB texts).
class LineTable {
 public:
  explicit LineTable(size_t expected_lines) {
    size_t capacity = 16;
    while (capacity < 2 * expected_lines) capacity *= 2;
    slots_.assign(capacity, 0);
  }

  U32 Encode(U16View text) {
    U32 out;
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = LineEnd(text, start);
      out.push_back(Intern(text.substr(start, end - start)));
      start = end;
    }
    return out;
  }

  U16View Line(char32_t id) const { return lines_[id].text; }

 private:
  struct Entry {
    U16View text;
    uint64_t hash;
  };

  // One past the '\n' that ends the line starting at `start`, or the end.
  static size_t LineEnd(U16View text, size_t start) {
    const char16_t* p = text.data() + start;
    const char16_t* const end = text.data() + text.size();
#if defined(__SSE2__)
    const __m128i newline = _mm_set1_epi16(u'\n');
    for (; p + 8 <= end; p += 8) {
      const int hits = _mm_movemask_epi8(_mm_cmpeq_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), newline));
      if (hits != 0) {
        return static_cast<size_t>(p - text.data()) +
               static_cast<size_t>(
                   std::countr_zero(static_cast<unsigned>(hits))) /
                   2 +
               1;
      }
    }
#endif
    for (; p < end; ++p) {
      if (*p == u'\n') return static_cast<size_t>(p - text.data()) + 1;
    }
    return text.size();
  }

  static uint64_t Hash(U16View line) {
    constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
    uint64_t h = line.size() * kMul;
    size_t i = 0;
    for (; i + 4 <= line.size(); i += 4) {
      uint64_t w;
      std::memcpy(&w, line.data() + i, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    for (; i < line.size(); ++i) h = (h ^ line[i]) * kMul;
    return h ^ (h >> 32);
  }

  char32_t Intern(U16View line) {
    const uint64_t hash = Hash(line);
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t id = slots_[i];
      if (id == 0) break;
      const U16View seen = lines_[id].text;
      if (lines_[id].hash == hash && seen.size() == line.size() &&
          std::memcmp(seen.data(), line.data(), line.size() * 2) == 0) {
        return id;
      }
    }
    const auto id = static_cast<uint32_t>(lines_.size());
    lines_.push_back({line, hash});
    if (2 * lines_.size() > slots_.size()) {
      Grow();
      mask = slots_.size() - 1;
    }
    size_t i = hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = id;
    return id;
  }

  void Grow() {
    std::vector<uint32_t> bigger(2 * slots_.size(), 0);
    const size_t mask = bigger.size() - 1;
    for (const uint32_t id : slots_) {
      if (id == 0) continue;
      size_t i = lines_[id].hash & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = id;
    }
    slots_ = std::move(bigger);
  }

  std::vector<Entry> lines_{Entry{}};  // id 0 is no line
  std::vector<uint32_t> slots_;        // ids; 0 is an empty slot
};

// Quick line-level diff, then a character diff of each replaced block. Can
// produce non-minimal diffs.
Diffs16 LineMode(U16View text1, U16View text2, TimePoint deadline) {
  // Lines of text are rarely shorter than 64 units on average; the table
  // grows if they are.
  LineTable table((text1.size() + text2.size()) / 64 + 16);
  const U32 chars1 = table.Encode(text1);
  const U32 chars2 = table.Encode(text2);
  const DiffsOf<char32_t> line_diffs =
      MainImpl<char32_t>(chars1, chars2, false, deadline);

  Diffs16 diffs;
  diffs.reserve(line_diffs.size());
  for (const auto& d : line_diffs) {
    U16 text;
    for (const char32_t id : d.text) text.append(table.Line(id));
    diffs.push_back({d.operation, std::move(text)});
  }
  // Eliminate freak matches (e.g. blank lines).
  CleanupSemantic(diffs);

  // Rediff each run of deletions and insertions character by character.
  Diffs16 out;
  out.reserve(diffs.size());
  U16 text_delete, text_insert;
  size_t run_start = 0;  // Index in `out` where the current edit run begins.
  int count_delete = 0, count_insert = 0;
  auto flush = [&] {
    if (count_delete >= 1 && count_insert >= 1) {
      out.resize(run_start);
      Append(out,
             MainImpl<char16_t>(text_delete, text_insert, false, deadline));
    }
    count_delete = count_insert = 0;
    text_delete.clear();
    text_insert.clear();
  };
  for (auto& d : diffs) {
    if (d.operation == Operation::kEqual) {
      flush();
      out.push_back(std::move(d));
      run_start = out.size();
      continue;
    }
    if (d.operation == Operation::kInsert) {
      ++count_insert;
      text_insert += d.text;
    } else {
      ++count_delete;
      text_delete += d.text;
    }
    out.push_back(std::move(d));
  }
  flush();
  return out;
}

// Moves the halves of surrogate pairs that a diff boundary separated so that
// every diff text is whole characters: a low surrogate opening an equality
// joins the edits before it, a high surrogate closing an equality joins the
// edits after it. Returns whether anything moved (the diff then needs a
// CleanupMerge).
bool RepairSplitSurrogates(Diffs16& diffs) {
  bool split = false;
  for (const auto& d : diffs) {
    if (!d.text.empty() &&
        (IsLowSurrogate(d.text.front()) || IsHighSurrogate(d.text.back()))) {
      split = true;
      break;
    }
  }
  if (!split) return false;
  Diffs16 out;
  U16 pending_delete, pending_insert;
  auto flush_edits = [&] {
    if (!pending_delete.empty()) {
      out.push_back({Operation::kDelete, std::move(pending_delete)});
    }
    if (!pending_insert.empty()) {
      out.push_back({Operation::kInsert, std::move(pending_insert)});
    }
    pending_delete.clear();
    pending_insert.clear();
  };
  for (auto& d : diffs) {
    if (d.operation == Operation::kDelete) {
      pending_delete += d.text;
    } else if (d.operation == Operation::kInsert) {
      pending_insert += d.text;
    } else {
      U16 text = std::move(d.text);
      if (!text.empty() && IsLowSurrogate(text.front())) {
        pending_delete += text.front();
        pending_insert += text.front();
        text.erase(0, 1);
      }
      char16_t carry = 0;
      if (!text.empty() && IsHighSurrogate(text.back())) {
        carry = text.back();
        text.pop_back();
      }
      flush_edits();
      if (!text.empty()) out.push_back({Operation::kEqual, std::move(text)});
      if (carry != 0) {
        pending_delete.push_back(carry);
        pending_insert.push_back(carry);
      }
    }
  }
  flush_edits();
  diffs = std::move(out);
  return true;
}

template <typename D>
using StringOf = decltype(D::text);

template <typename S>
View<typename S::value_type> AsView(const S& s) {
  return View<typename S::value_type>(s);
}

// Reorders and merges like edit sections, merges equalities, then shifts
// single edits over a neighbouring equality where that removes it. One
// linear rebuild per sweep (DMP splices in place; results are the same).
template <typename D>
void CleanupMergeImpl(std::vector<D>& diffs) {
  using S = StringOf<D>;
  for (;;) {
    std::vector<D> out;
    out.reserve(diffs.size() + 1);
    S text_delete, text_insert;
    int count_delete = 0, count_insert = 0;
    size_t run_start = 0;  // Index in `out` of the first edit of the run.
    auto on_equality = [&](S equality_text) {
      if (count_delete + count_insert > 1) {
        out.resize(run_start);
        if (count_delete != 0 && count_insert != 0) {
          // Factor out any common prefix.
          size_t common =
              PrefixLength(AsView(text_insert), AsView(text_delete));
          if (common != 0) {
            if (!out.empty() && out.back().operation == Operation::kEqual) {
              out.back().text.append(text_insert, 0, common);
            } else {
              out.insert(out.begin(),
                         D{Operation::kEqual, text_insert.substr(0, common)});
            }
            text_insert.erase(0, common);
            text_delete.erase(0, common);
          }
          // Factor out any common suffix.
          common = SuffixLength(AsView(text_insert), AsView(text_delete));
          if (common != 0) {
            equality_text.insert(0, text_insert, text_insert.size() - common,
                                 common);
            text_insert.resize(text_insert.size() - common);
            text_delete.resize(text_delete.size() - common);
          }
        }
        if (!text_delete.empty()) {
          out.push_back(D{Operation::kDelete, std::move(text_delete)});
        }
        if (!text_insert.empty()) {
          out.push_back(D{Operation::kInsert, std::move(text_insert)});
        }
        out.push_back(D{Operation::kEqual, std::move(equality_text)});
      } else if (!out.empty() && count_delete + count_insert == 0 &&
                 out.back().operation == Operation::kEqual) {
        out.back().text += equality_text;
      } else {
        out.push_back(D{Operation::kEqual, std::move(equality_text)});
      }
      count_delete = count_insert = 0;
      text_delete.clear();
      text_insert.clear();
      run_start = out.size();
    };
    for (auto& d : diffs) {
      switch (d.operation) {
        case Operation::kInsert:
          ++count_insert;
          text_insert += d.text;
          out.push_back(std::move(d));
          break;
        case Operation::kDelete:
          ++count_delete;
          text_delete += d.text;
          out.push_back(std::move(d));
          break;
        case Operation::kEqual:
          on_equality(std::move(d.text));
          break;
      }
    }
    on_equality(S());  // The sentinel equality DMP appends.
    if (out.back().text.empty()) out.pop_back();

    // Second pass: shift single edits surrounded by equalities sideways to
    // eliminate an equality, e.g. A<ins>BA</ins>C -> <ins>AB</ins>AC.
    bool changes = false;
    size_t pointer = 1;
    while (pointer + 1 < out.size()) {
      D& prev = out[pointer - 1];
      D& cur = out[pointer];
      D& next = out[pointer + 1];
      if (prev.operation == Operation::kEqual &&
          next.operation == Operation::kEqual) {
        const auto edit = AsView(cur.text);
        if (edit.ends_with(AsView(prev.text))) {
          // Shift the edit over the previous equality.
          cur.text =
              prev.text + cur.text.substr(0, edit.size() - prev.text.size());
          next.text = prev.text + next.text;
          out.erase(out.begin() + static_cast<ptrdiff_t>(pointer - 1));
          changes = true;
        } else if (edit.starts_with(AsView(next.text))) {
          // Shift the edit over the next equality.
          prev.text += next.text;
          cur.text = cur.text.substr(next.text.size()) + next.text;
          out.erase(out.begin() + static_cast<ptrdiff_t>(pointer + 1));
          changes = true;
        }
      }
      ++pointer;
    }
    diffs = std::move(out);
    if (!changes) return;
  }
}

// --- Semantic cleanup -------------------------------------------------------

bool IsAsciiAlnum(char16_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

// JavaScript's \s.
bool IsJsWhitespace(char16_t c) {
  switch (c) {
    case u'\t':
    case u'\n':
    case 0x0B:
    case 0x0C:
    case u'\r':
    case u' ':
    case 0x00A0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool IsLineBreak(char16_t c) { return c == u'\r' || c == u'\n'; }

// The text equality1 + edit + equality2 of the lossless cleanup, read in
// place: sliding the edit never changes this concatenation.
class Joined {
 public:
  Joined(U16View a, U16View b, U16View c) : a_(a), b_(b), c_(c) {}
  size_t size() const { return a_.size() + b_.size() + c_.size(); }
  char16_t operator[](size_t i) const {
    if (i < a_.size()) return a_[i];
    i -= a_.size();
    if (i < b_.size()) return b_[i];
    return c_[i - b_.size()];
  }
  U16 Slice(size_t begin, size_t end) const {
    U16 out;
    out.reserve(end - begin);
    for (U16View part : {a_, b_, c_}) {
      const size_t take_begin = std::min(begin, part.size());
      const size_t take_end = std::min(end, part.size());
      out.append(part.substr(take_begin, take_end - take_begin));
      begin -= take_begin;
      end -= take_end;
    }
    return out;
  }

 private:
  U16View a_, b_, c_;
};

// How well the boundary at `mid` between one = s[begin, mid) and
// two = s[mid, end) falls on a logical boundary: 6 (edge of the text) ... 0
// (inside a word). DMP's scores and JavaScript's character classes.
int SemanticScore(const Joined& s, size_t begin, size_t mid, size_t end) {
  if (begin == mid || mid == end) return 6;
  const char16_t char1 = s[mid - 1];
  const char16_t char2 = s[mid];
  const bool non_alnum1 = !IsAsciiAlnum(char1);
  const bool non_alnum2 = !IsAsciiAlnum(char2);
  const bool whitespace1 = non_alnum1 && IsJsWhitespace(char1);
  const bool whitespace2 = non_alnum2 && IsJsWhitespace(char2);
  const bool line_break1 = whitespace1 && IsLineBreak(char1);
  const bool line_break2 = whitespace2 && IsLineBreak(char2);
  // /\n\r?\n$/ on one, /^\r?\n\r?\n/ on two.
  auto at = [&](size_t i, size_t lo, size_t hi) -> char16_t {
    return (i >= lo && i < hi) ? s[i] : 0;
  };
  const bool blank_line1 =
      line_break1 && char1 == u'\n' &&
      (at(mid - 2, begin, mid) == u'\n' ||
       (at(mid - 2, begin, mid) == u'\r' && at(mid - 3, begin, mid) == u'\n'));
  bool blank_line2 = false;
  if (line_break2) {
    size_t i = mid;
    if (at(i, mid, end) == u'\r') ++i;
    if (at(i, mid, end) == u'\n') {
      ++i;
      if (at(i, mid, end) == u'\r') ++i;
      blank_line2 = at(i, mid, end) == u'\n';
    }
  }
  if (blank_line1 || blank_line2) return 5;
  if (line_break1 || line_break2) return 4;
  if (non_alnum1 && !whitespace1 && whitespace2) return 3;
  if (whitespace1 || whitespace2) return 2;
  if (non_alnum1 || non_alnum2) return 1;
  return 0;
}

}  // namespace

TimePoint DeadlineAfter(double seconds) {
  if (!(seconds > 0)) return kNoDeadline;
  const auto now = std::chrono::steady_clock::now();
  const auto span = std::chrono::duration<double>(seconds);
  if (span >= std::chrono::duration<double>(TimePoint::max() - now)) {
    return kNoDeadline;
  }
  return now +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(span);
}

Diffs16 DiffCompute(U16View text1, U16View text2, bool check_lines,
                    TimePoint deadline) {
  Diffs16 diffs = Compute<char16_t>(text1, text2, check_lines, deadline);
  RepairSplitSurrogates(diffs);
  return diffs;
}

Diffs16 DiffMain(U16View text1, U16View text2, bool check_lines,
                 TimePoint deadline) {
  // As MainImpl, with the surrogate repair between the middle's diff and the
  // one final merge (the public UTF-8 DiffMain takes the same steps).
  if (text1 == text2) {
    if (text1.empty()) return {};
    return {{Operation::kEqual, U16(text1)}};
  }
  const size_t prefix = PrefixLength(text1, text2);
  const size_t suffix =
      SuffixLength(text1.substr(prefix), text2.substr(prefix));
  Diffs16 diffs;
  if (prefix > 0)
    diffs.push_back({Operation::kEqual, U16(text1.substr(0, prefix))});
  Append(diffs,
         DiffCompute(text1.substr(prefix, text1.size() - prefix - suffix),
                     text2.substr(prefix, text2.size() - prefix - suffix),
                     check_lines, deadline));
  if (suffix > 0) {
    diffs.push_back(
        {Operation::kEqual, U16(text1.substr(text1.size() - suffix))});
  }
  CleanupMerge(diffs);
  return diffs;
}

size_t CommonPrefix(U16View a, U16View b) { return PrefixLength(a, b); }
size_t CommonSuffix(U16View a, U16View b) { return SuffixLength(a, b); }
size_t CommonPrefix(std::string_view a, std::string_view b, bool* ascii) {
  return BytePrefixLength(a, b, ascii);
}
size_t CommonSuffix(std::string_view a, std::string_view b, bool* ascii) {
  return ByteSuffixLength(a, b, ascii);
}
size_t CommonOverlap(U16View a, U16View b) {
  size_t n = OverlapLength(a, b);
  // The overlap is a suffix of `a` and a prefix of `b`; keep it whole chars.
  while (n > 0 && !(IsCharBoundary(a, a.size() - n) && IsCharBoundary(b, n))) {
    --n;
  }
  return n;
}

std::optional<std::array<U16, 5>> HalfMatch(U16View text1, U16View text2) {
  auto hm = HalfMatchImpl(text1, text2);
  if (!hm) return std::nullopt;
  return std::array<U16, 5>{U16(hm->text1_a), U16(hm->text1_b),
                            U16(hm->text2_a), U16(hm->text2_b),
                            std::move(hm->common)};
}

void CleanupMerge(Diffs16& diffs) {
  if (!diffs.empty()) CleanupMergeImpl(diffs);
}

void CleanupMerge(Diffs& diffs) {
  if (!diffs.empty()) CleanupMergeImpl(diffs);
}

void CleanupSemantic(Diffs16& diffs) {
  bool changes = false;
  std::vector<size_t> equalities;  // Indices of candidate equalities.
  bool have_last_equality = false;
  size_t last_equality_length = 0;
  // Characters changed before and after the last equality.
  size_t length_insertions1 = 0, length_deletions1 = 0;
  size_t length_insertions2 = 0, length_deletions2 = 0;
  ptrdiff_t pointer = 0;
  while (pointer < static_cast<ptrdiff_t>(diffs.size())) {
    Diff16& d = diffs[pointer];
    if (d.operation == Operation::kEqual) {
      equalities.push_back(static_cast<size_t>(pointer));
      length_insertions1 = length_insertions2;
      length_deletions1 = length_deletions2;
      length_insertions2 = length_deletions2 = 0;
      have_last_equality = !d.text.empty();
      last_equality_length = d.text.size();
    } else {
      if (d.operation == Operation::kInsert) {
        length_insertions2 += d.text.size();
      } else {
        length_deletions2 += d.text.size();
      }
      // Eliminate an equality that is smaller or equal to the edits on both
      // sides of it.
      if (have_last_equality &&
          last_equality_length <=
              std::max(length_insertions1, length_deletions1) &&
          last_equality_length <=
              std::max(length_insertions2, length_deletions2)) {
        const size_t at = equalities.back();
        diffs.insert(diffs.begin() + static_cast<ptrdiff_t>(at),
                     Diff16{Operation::kDelete, diffs[at].text});
        diffs[at + 1].operation = Operation::kInsert;
        equalities.pop_back();  // The equality just deleted.
        if (!equalities.empty()) equalities.pop_back();  // Re-evaluate it.
        pointer =
            equalities.empty() ? -1 : static_cast<ptrdiff_t>(equalities.back());
        length_insertions1 = length_deletions1 = 0;
        length_insertions2 = length_deletions2 = 0;
        have_last_equality = false;
        changes = true;
      }
    }
    ++pointer;
  }

  if (changes) CleanupMerge(diffs);
  CleanupSemanticLossless(diffs);

  // Extract overlaps between deletions and insertions, e.g.
  // <del>abcxxx</del><ins>xxxdef</ins> -> <del>abc</del>xxx<ins>def</ins>, and
  // <del>xxxabc</del><ins>defxxx</ins> -> <ins>def</ins>xxx<del>abc</del>,
  // when the overlap is as big as the edit ahead or behind it.
  size_t p = 1;
  while (p < diffs.size()) {
    if (diffs[p - 1].operation == Operation::kDelete &&
        diffs[p].operation == Operation::kInsert) {
      U16 deletion = diffs[p - 1].text;
      U16 insertion = diffs[p].text;
      const size_t overlap1 = CommonOverlap(deletion, insertion);
      const size_t overlap2 = CommonOverlap(insertion, deletion);
      if (overlap1 >= overlap2) {
        if (overlap1 * 2 >= deletion.size() ||
            overlap1 * 2 >= insertion.size()) {
          diffs.insert(
              diffs.begin() + static_cast<ptrdiff_t>(p),
              Diff16{Operation::kEqual, insertion.substr(0, overlap1)});
          diffs[p - 1].text = deletion.substr(0, deletion.size() - overlap1);
          diffs[p + 1].text = insertion.substr(overlap1);
          ++p;
        }
      } else if (overlap2 * 2 >= deletion.size() ||
                 overlap2 * 2 >= insertion.size()) {
        diffs.insert(diffs.begin() + static_cast<ptrdiff_t>(p),
                     Diff16{Operation::kEqual, deletion.substr(0, overlap2)});
        diffs[p - 1] = {Operation::kInsert,
                        insertion.substr(0, insertion.size() - overlap2)};
        diffs[p + 1] = {Operation::kDelete, deletion.substr(overlap2)};
        ++p;
      }
      ++p;
    }
    ++p;
  }
}

void CleanupSemanticLossless(Diffs16& diffs) {
  // Intentionally ignore the first and last element (no need to check them).
  size_t pointer = 1;
  while (diffs.size() >= 3 && pointer < diffs.size() - 1) {
    if (diffs[pointer - 1].operation != Operation::kEqual ||
        diffs[pointer + 1].operation != Operation::kEqual) {
      ++pointer;
      continue;
    }
    // A single edit surrounded by equalities: the edit is the window
    // [pos, pos + len) of equality1 + edit + equality2.
    const U16& e1 = diffs[pointer - 1].text;
    const U16& edit = diffs[pointer].text;
    const Joined s(e1, edit, diffs[pointer + 1].text);
    const size_t n = s.size();
    const size_t len = edit.size();
    auto score_at = [&](size_t p) {
      return SemanticScore(s, 0, p, p + len) + SemanticScore(s, p, p + len, n);
    };
    // First, shift the edit as far left as possible.
    size_t pos = e1.size() - CommonSuffix(e1, edit);
    // Second, step right a character at a time, looking for the best fit.
    // (An empty edit never moves: DMP compares its missing first character.)
    size_t best_pos = pos;
    int best_score = score_at(pos);
    while (len > 0 && pos + len < n) {
      const size_t step =
          (IsHighSurrogate(s[pos]) && pos + 1 < n && IsLowSurrogate(s[pos + 1]))
              ? 2
              : 1;
      if (pos + len + step > n || s[pos] != s[pos + len] ||
          (step == 2 && s[pos + 1] != s[pos + len + 1])) {
        break;
      }
      pos += step;
      const int score = score_at(pos);
      // The >= encourages trailing rather than leading whitespace on edits.
      if (score >= best_score) {
        best_score = score;
        best_pos = pos;
      }
    }
    if (best_pos != e1.size()) {
      // An improvement: save it back to the diff.
      U16 best_e1 = s.Slice(0, best_pos);
      U16 best_edit = s.Slice(best_pos, best_pos + len);
      U16 best_e2 = s.Slice(best_pos + len, n);
      if (!best_e1.empty()) {
        diffs[pointer - 1].text = std::move(best_e1);
      } else {
        diffs.erase(diffs.begin() + static_cast<ptrdiff_t>(pointer - 1));
        --pointer;
      }
      diffs[pointer].text = std::move(best_edit);
      if (!best_e2.empty()) {
        diffs[pointer + 1].text = std::move(best_e2);
      } else {
        diffs.erase(diffs.begin() + static_cast<ptrdiff_t>(pointer + 1));
        --pointer;
      }
    }
    ++pointer;
  }
}

void CleanupEfficiency(Diffs16& diffs, int edit_cost) {
  bool changes = false;
  std::vector<size_t> equalities;  // Indices of candidate equalities.
  bool have_last_equality = false;
  size_t last_equality_length = 0;
  // Whether there is an insertion / deletion before / after the last equality.
  bool pre_ins = false, pre_del = false, post_ins = false, post_del = false;
  ptrdiff_t pointer = 0;
  const size_t cost = edit_cost < 0 ? 0 : static_cast<size_t>(edit_cost);
  while (pointer < static_cast<ptrdiff_t>(diffs.size())) {
    Diff16& d = diffs[pointer];
    if (d.operation == Operation::kEqual) {
      if (d.text.size() < cost && (post_ins || post_del)) {
        // Candidate found.
        equalities.push_back(static_cast<size_t>(pointer));
        pre_ins = post_ins;
        pre_del = post_del;
        have_last_equality = !d.text.empty();
        last_equality_length = d.text.size();
      } else {
        // Not a candidate, and can never become one.
        equalities.clear();
        have_last_equality = false;
      }
      post_ins = post_del = false;
    } else {
      if (d.operation == Operation::kDelete) {
        post_del = true;
      } else {
        post_ins = true;
      }
      // Five types to be split:
      // <ins>A</ins><del>B</del>XY<ins>C</ins><del>D</del>
      // <ins>A</ins>X<ins>C</ins><del>D</del>
      // <ins>A</ins><del>B</del>X<ins>C</ins>
      // <ins>A</del>X<ins>C</ins><del>D</del>
      // <ins>A</ins><del>B</del>X<del>C</del>
      const int sides = pre_ins + pre_del + post_ins + post_del;
      if (have_last_equality &&
          ((pre_ins && pre_del && post_ins && post_del) ||
           (last_equality_length * 2 < cost && sides == 3))) {
        const size_t at = equalities.back();
        diffs.insert(diffs.begin() + static_cast<ptrdiff_t>(at),
                     Diff16{Operation::kDelete, diffs[at].text});
        diffs[at + 1].operation = Operation::kInsert;
        equalities.pop_back();  // The equality just deleted.
        have_last_equality = false;
        if (pre_ins && pre_del) {
          // No changes made which could affect the previous entry.
          post_ins = post_del = true;
          equalities.clear();
        } else {
          if (!equalities.empty()) equalities.pop_back();
          pointer = equalities.empty()
                        ? -1
                        : static_cast<ptrdiff_t>(equalities.back());
          post_ins = post_del = false;
        }
        changes = true;
      }
    }
    ++pointer;
  }
  if (changes) CleanupMerge(diffs);
}

Status ForEachDeltaToken(std::string_view delta,
                         Status (*fn)(void* ctx, DeltaToken& token),
                         void* ctx) {
  if (Status s = ValidateUtf8(delta, "delta"); !s.ok()) return s;
  auto error = [](size_t offset, const std::string& why) {
    return Status::InvalidArgument("delta: " + why + " at offset " +
                                   std::to_string(offset));
  };
  DeltaToken token;
  std::string decoded;  // The text of a '+' token that had escapes.
  size_t offset = 0;
  while (offset <= delta.size()) {
    size_t end = delta.find('\t', offset);
    if (end == std::string_view::npos) end = delta.size();
    const std::string_view raw = delta.substr(offset, end - offset);
    // Empty tokens (as after a trailing tab) are allowed, as in DMP.
    if (!raw.empty()) {
      const std::string_view param = raw.substr(1);
      token.op = raw[0];
      token.offset = offset;
      token.count = 0;
      token.text = {};
      if (token.op == '+') {
        if (param.find('%') == std::string_view::npos) {
          // Nothing to decode, and the delta was checked as UTF-8 above.
          token.text = param;
        } else {
          Result<std::string> text = DecodeUri(param, "delta", offset + 1);
          if (!text.ok()) return text.status();
          decoded = std::move(*text);
          token.text = decoded;
        }
      } else if (token.op == '=' || token.op == '-') {
        const auto [ptr, ec] = std::from_chars(
            param.data(), param.data() + param.size(), token.count);
        if (param.empty() || ec != std::errc() ||
            ptr != param.data() + param.size() || token.count < 0) {
          return error(offset, "invalid number '" + std::string(param) + "'");
        }
      } else {
        // Its first character, not byte: the message must stay UTF-8.
        size_t op_bytes = 1;
        while (op_bytes < raw.size() && IsContinuationByte(raw[op_bytes])) {
          ++op_bytes;
        }
        return error(offset, "invalid operation '" +
                                 std::string(raw.substr(0, op_bytes)) + "'");
      }
      if (Status s = fn(ctx, token); !s.ok()) return s;
    }
    offset = end + 1;
  }
  return Status::Ok();
}

Diffs16 ToDiffs16(const Diffs& diffs) {
  Diffs16 out;
  out.reserve(diffs.size());
  for (const auto& d : diffs) out.push_back({d.operation, ToUtf16(d.text)});
  return out;
}

Diffs ToDiffs(const Diffs16& diffs) {
  Diffs out;
  out.reserve(diffs.size());
  for (const auto& d : diffs) out.push_back({d.operation, ToUtf8(d.text)});
  return out;
}

bool UseVectorSnakeForTesting(bool on) {
#if DIFFSYNC_HAVE_AVX2_SNAKE
  vector_snake_allowed.store(on, std::memory_order_relaxed);
  return on && __builtin_cpu_supports("avx2");
#else
  (void)on;
  return false;
#endif
}

}  // namespace diffsync::dmp::internal
