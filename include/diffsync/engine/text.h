// Text: the engine's document text. An immutable UTF-8 text indexed in
// UTF-16 code units (the unit of DMP's positions and of the wire), stored as
// a persistent B-tree of chunks: a copy is O(1) and shares all storage, and
// an edit returns a new Text that shares everything but the path to the
// changed chunk, in O(log n + edit + chunk). A client in sync keeps its text
// and its shadow as two Texts over the same nodes, so it costs one copy of
// the document, and a sync cycle costs O(edit) rather than O(document):
// CommonPrefix16 and CommonSuffix16 skip the subtrees two versions share.
//
// Positions. Every position and length counts UTF-16 code units; a
// character outside the Basic Multilingual Plane counts 2, and the position
// between its two halves is not a position of this text. CheckRange says
// whether a range is valid (in range, on character boundaries). Replace,
// Substr and Slice require valid ranges (asserted in debug builds); in
// release builds they clamp the range to the text and move a boundary that
// falls inside a character outwards to include the whole character (an empty
// range moves to the character's start), so the text stays valid UTF-8.
//
// Thread safety: a Text is an immutable value. Its storage is shared through
// atomic reference counts, so copies of one Text may be read, edited (an edit
// makes a new Text) and destroyed on different threads at once. Assigning to
// one Text object from several threads needs a lock, as for any variable.
//
// Example:
//   Result<Text> text = Text::FromUtf8("Hello, world");
//   if (!text.ok()) return text.status();
//   Text shadow = *text;                             // O(1), shared storage
//   Text edited = text->Replace(7, 5, "there");      // "Hello, there"
//   // shadow is still "Hello, world".
//   int64_t same = Text::CommonPrefix16(shadow, edited);  // 7
//   // A Text nobody else holds is edited in place:
//   edited = std::move(edited).Replace(0, 5, "Hi");  // "Hi, there"
#ifndef DIFFSYNC_ENGINE_TEXT_H_
#define DIFFSYNC_ENGINE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "diffsync/status.h"

namespace diffsync::engine {

namespace text_internal {
struct Node;
}  // namespace text_internal

class Text {
 public:
  Text() = default;  // Empty.
  Text(const Text& other);
  Text(Text&& other) noexcept
      : root_(std::exchange(other.root_, nullptr)),
        bytes_(std::exchange(other.bytes_, 0)),
        units_(std::exchange(other.units_, 0)) {}
  Text& operator=(const Text& other);
  Text& operator=(Text&& other) noexcept;
  ~Text() {
    if (root_ != nullptr) Release(root_);
  }

  // Copies `utf8` after checking it is valid UTF-8; the error names the
  // byte offset of the first invalid byte.
  static Result<Text> FromUtf8(std::string_view utf8);
  // Precondition: `utf8` is valid UTF-8 (asserted in debug builds; invalid
  // bytes give wrong UTF-16 counts, never undefined behaviour).
  static Text FromValidUtf8(std::string_view utf8);

  int64_t size16() const { return static_cast<int64_t>(units_); }
  size_t size_bytes() const { return static_cast<size_t>(bytes_); }
  bool empty() const { return bytes_ == 0; }

  std::string ToString() const;
  void AppendTo(std::string& out) const;
  // True if the text is exactly `utf8`. O(size).
  bool Equals(std::string_view utf8) const;

  // OK if [pos16, pos16 + len16) lies within the text and both ends are on
  // character boundaries; otherwise an error naming the position and why.
  Status CheckRange(int64_t pos16, int64_t len16) const;
  // True if 0 <= pos16 <= size16() and pos16 is not inside a character.
  bool IsBoundary(int64_t pos16) const;

  // The UTF-8 of [pos16, pos16 + len16). See "Positions" above for ranges
  // that CheckRange rejects.
  std::string Substr(int64_t pos16, int64_t len16) const;
  // The same range as a Text sharing this one's storage, in O(log n).
  Text Slice(int64_t pos16, int64_t len16) const;

  // This text with [pos16, pos16 + del16) replaced by `insert_utf8`, which
  // must be valid UTF-8 (as for FromValidUtf8). O(log n + |insert| + chunk);
  // this Text is unchanged. On an rvalue (std::move(text).Replace(...)),
  // nodes no other Text shares are edited in place.
  Text Replace(int64_t pos16, int64_t del16,
               std::string_view insert_utf8) const&;
  Text Replace(int64_t pos16, int64_t del16, std::string_view insert_utf8) &&;

  // True if both Texts are the same version (one is a copy of the other, or
  // both are empty): they are then equal, found in O(1).
  bool SameStorage(const Text& other) const { return root_ == other.root_; }
  // O(1) for the same storage or different lengths; otherwise as
  // CommonPrefix16.
  friend bool operator==(const Text& a, const Text& b);

  // Length of the longest common prefix (suffix) of `a` and `b` that ends
  // (starts) on a character boundary. Subtrees the two texts share are
  // skipped whole, so for two versions that differ by one edit this is
  // O(log n + chunk); for unrelated texts it compares bytes, O(result).
  static int64_t CommonPrefix16(const Text& a, const Text& b);
  static int64_t CommonSuffix16(const Text& a, const Text& b);

  // The byte offset of UTF-16 position `pos16`, clamped to [0, size16()]; a
  // position inside a character gives the offset of that character.
  size_t ByteOffset(int64_t pos16) const;
  // The UTF-16 position of byte offset `byte_offset`, clamped to
  // [0, size_bytes()]; an offset inside a character gives the position of
  // that character.
  int64_t Pos16(size_t byte_offset) const;

  // Calls f(std::string_view chunk) for the text's chunks in order; their
  // concatenation is the text, and none splits a character. If f returns
  // bool, false stops the walk. The views stay valid while this Text keeps
  // its value (until it is destroyed, assigned, or edited as an rvalue).
  template <typename F>
  void ForEachChunk(F&& f) const {
    using FRef = std::remove_reference_t<F>;
    VisitChunks(
        [](void* ctx, std::string_view chunk) -> bool {
          FRef& fn = *static_cast<FRef*>(ctx);
          if constexpr (std::is_same_v<
                            std::invoke_result_t<FRef&, std::string_view>,
                            bool>) {
            return fn(chunk);
          } else {
            fn(chunk);
            return true;
          }
        },
        const_cast<void*>(static_cast<const void*>(&f)));
  }

  // CRC-32 (IEEE 802.3, as zlib's crc32 and engine::Crc32) of the UTF-8
  // text. Every node caches the CRC of its subtree, and a parent's is
  // combined from its children's (as zlib's crc32_combine, with the shift
  // for each child's length cached beside its CRC), so a version made by an
  // edit recomputes only what the edit created: the changed leaves' bytes
  // and one combine per child of each node on their path, O(log n + edit +
  // chunk). Thread-safe like the rest: concurrent first uses of a shared
  // node compute and store the same value.
  uint32_t Crc32() const;

  // Heap bytes of the storage this Text reaches, counting shared parts in
  // full (each Text that reaches a chunk counts it).
  size_t MemoryBytes() const;
  // Heap bytes reached by any of `texts`, counting each shared part once:
  // what holding all of them costs.
  static size_t MemoryBytes(std::span<const Text> texts);

  // Checks the tree's structural invariants (sizes, balance, chunks on
  // character boundaries, cached CRCs); for tests and debugging. O(size).
  Status CheckInvariants() const;

 private:
  Text(text_internal::Node* root, uint64_t bytes, uint64_t units)
      : root_(root), bytes_(bytes), units_(units) {}

  static void Release(text_internal::Node* node);
  void VisitChunks(bool (*fn)(void*, std::string_view), void* ctx) const;
  void ReplaceInPlace(int64_t pos16, int64_t del16,
                      std::string_view insert_utf8);

  // Owns one reference; null when empty.
  text_internal::Node* root_ = nullptr;
  uint64_t bytes_ = 0;
  uint64_t units_ = 0;
};

}  // namespace diffsync::engine

#endif  // DIFFSYNC_ENGINE_TEXT_H_
