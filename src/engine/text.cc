#include "diffsync/engine/text.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <unordered_set>
#include <vector>

#include "diffsync/engine/protocol.h"
#include "dmp/diff_core.h"
#include "engine/crc32.h"
#include "dmp/utf.h"

namespace diffsync::engine {

using dmp::internal::Utf16Length;

namespace text_internal {
namespace {

// Leaves hold at most kLeafMax bytes: an edit copies one leaf, and smaller
// leaves mean more nodes per byte and a deeper tree. An edit of a shared tree
// also copies the inner nodes on its path, one atomic increment per child,
// which favours few children. Replaying automerge-paper with the previous
// version kept (text_benchmark), ns per edit: 1 KB leaves with 8 children
// 147; 1 KB/16 167; 1 KB/32 198; 512 B/8 170; 2 KB/8 159; 4 KB/16 159.
// Leaves other than a lone root hold at least kLeafMin bytes, so the tree
// stays dense after deletions; texts are built with leaves kLeafBuild long,
// leaving room to type before a leaf must split.
constexpr uint32_t kLeafMax = 1024;
constexpr uint32_t kLeafMin = kLeafMax / 4;
constexpr uint32_t kLeafBuild = kLeafMax * 3 / 4;
// Inner nodes other than the root have kMinChildren..kMaxChildren children.
constexpr int kMaxChildren = 8;
constexpr int kMinChildren = kMaxChildren / 2;
// With at least kMinChildren children per inner node and kLeafMin bytes per
// leaf, 2^64 bytes need fewer levels than this.
constexpr int kMaxHeight = 32;

}  // namespace

// Trivial, so that inner nodes are not zeroed on creation; write Len{} for
// zero.
struct Len {
  uint64_t bytes;
  uint64_t units;
};

struct Node {
  explicit Node(uint8_t h) : height(h) {}
  mutable std::atomic<uint32_t> refs{1};
  const uint8_t height;  // 0 for a leaf.
  // The subtree's CRC-32 (low half) and x^(8 * its bytes) modulo the CRC
  // polynomial (high half, never 0: x is invertible modulo the
  // polynomial), computed on first use; 0 until then and after an edit in
  // place. One atomic word, so a reader never sees half of a pair.
  mutable std::atomic<uint64_t> crc{0};
};

namespace {

void Unref(Node* node);

// An owning, counted reference to a node.
class NodeRef {
 public:
  NodeRef() = default;
  // Takes over the reference `node` holds (a new node starts with one).
  static NodeRef Adopt(Node* node) {
    NodeRef r;
    r.node_ = node;
    return r;
  }
  // Adds a reference to `node`. Sharing never edits it: an edit in place
  // first checks that its reference is the only one.
  static NodeRef Share(const Node* node) {
    node->refs.fetch_add(1, std::memory_order_relaxed);
    return Adopt(const_cast<Node*>(node));
  }
  NodeRef(const NodeRef& other) : node_(other.node_) {
    if (node_ != nullptr) node_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  NodeRef(NodeRef&& other) noexcept
      : node_(std::exchange(other.node_, nullptr)) {}
  NodeRef& operator=(NodeRef other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~NodeRef() {
    if (node_ != nullptr) Unref(node_);
  }

  Node* get() const { return node_; }
  Node* operator->() const { return node_; }
  explicit operator bool() const { return node_ != nullptr; }
  Node* release() { return std::exchange(node_, nullptr); }
  // True if this is the only reference, so the node may be edited in place.
  // Acquire pairs with the release of the other owners' decrements: their
  // reads of the node happen before our writes.
  bool unique() const {
    return node_->refs.load(std::memory_order_acquire) == 1;
  }

 private:
  Node* node_ = nullptr;
};

}  // namespace

// Bytes of UTF-8 follow the struct in the same allocation.
struct Leaf final : Node {
  explicit Leaf(uint32_t cap) : Node(0), capacity(cap) {}
  uint32_t size = 0;
  uint32_t units = 0;  // UTF-16 code units of the bytes.
  const uint32_t capacity;

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view view() const { return {data(), size}; }
  // All ASCII: UTF-16 positions are byte offsets.
  bool ascii() const { return units == size; }
};

// Children's lengths are kept here rather than in the children, so a search
// reads one node per level. Only the first `count` entries of the arrays are
// initialized: a copy on every edit writes just what it uses.
struct Inner final : Node {
  explicit Inner(uint8_t h) : Node(h) {}
  ~Inner() { std::destroy_n(child, count); }

  void Push(NodeRef kid, Len kid_len) {
    assert(count < kMaxChildren);
    len[count] = kid_len;
    new (&child[count]) NodeRef(std::move(kid));
    ++count;
  }

  int count = 0;
  Len len[kMaxChildren];
  union {
    NodeRef child[kMaxChildren];
  };

  std::span<const NodeRef> children() const {
    return {child, static_cast<size_t>(count)};
  }
  Len Total() const {
    Len t{};
    for (int i = 0; i < count; ++i) {
      t.bytes += len[i].bytes;
      t.units += len[i].units;
    }
    return t;
  }
};

namespace {

const Leaf* AsLeaf(const Node* n) { return static_cast<const Leaf*>(n); }
Leaf* AsLeaf(Node* n) { return static_cast<Leaf*>(n); }
const Inner* AsInner(const Node* n) { return static_cast<const Inner*>(n); }
Inner* AsInner(Node* n) { return static_cast<Inner*>(n); }

void Unref(Node* node) {
  if (node->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (node->height == 0) {
    Leaf* leaf = AsLeaf(node);
    leaf->~Leaf();
    ::operator delete(leaf);
  } else {
    delete AsInner(node);
  }
}

Len LenOf(const Node* n) {
  if (n == nullptr) return {};
  if (n->height == 0) return {AsLeaf(n)->size, AsLeaf(n)->units};
  return AsInner(n)->Total();
}

size_t NodeBytes(const Node* n) {
  return n->height == 0 ? sizeof(Leaf) + AsLeaf(n)->capacity : sizeof(Inner);
}

bool IsContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Bytes of the character whose lead byte is `c`.
uint32_t CharBytes(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
}

// A cut of `s` at most `k` bytes in that does not split a character.
size_t CutAtChar(std::string_view s, size_t k) {
  if (k >= s.size()) return s.size();
  for (size_t j = k; j > 0 && j + 3 >= k; --j) {
    if (!IsContinuation(s[j])) return j;
  }
  return k;  // Not UTF-8 here; any cut keeps the counts consistent.
}

// Allocation sizes go up in 64-byte steps, so a leaf made for n bytes has
// room to grow in place until the next step.
uint32_t LeafCapacity(size_t size) {
  const size_t rounded = (sizeof(Leaf) + size + 63) / 64 * 64 - sizeof(Leaf);
  return static_cast<uint32_t>(std::min<size_t>(kLeafMax, rounded));
}

// A leaf holding the concatenation of `parts` (at most kLeafMax bytes).
NodeRef MakeLeaf(std::initializer_list<std::string_view> parts,
                 uint32_t units) {
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  assert(size > 0 && size <= kLeafMax);
  const uint32_t cap = LeafCapacity(size);
  void* mem = ::operator new(sizeof(Leaf) + cap);
  Leaf* leaf = new (mem) Leaf(cap);
  char* out = leaf->data();
  for (std::string_view p : parts) {
    if (p.empty()) continue;  // p.data() may be null: memcpy would be UB.
    std::memcpy(out, p.data(), p.size());
    out += p.size();
  }
  leaf->size = static_cast<uint32_t>(size);
  leaf->units = units;
  return NodeRef::Adopt(leaf);
}

NodeRef MakeLeaf(std::string_view s) {
  return MakeLeaf({s}, static_cast<uint32_t>(Utf16Length(s)));
}

// An inner node over `kids`, which share one height.
NodeRef MakeInner(std::span<const NodeRef> kids) {
  assert(!kids.empty() && kids.size() <= kMaxChildren);
  auto* in = new Inner(static_cast<uint8_t>(kids[0]->height + 1));
  for (const NodeRef& k : kids) {
    assert(k->height + 1 == in->height);
    in->Push(k, LenOf(k.get()));
  }
  return NodeRef::Adopt(in);
}

NodeRef MakeInner(std::initializer_list<NodeRef> kids) {
  return MakeInner(std::span<const NodeRef>(kids.begin(), kids.size()));
}

// Makes `slot` (an inner node) safe to edit: shared nodes are copied, which
// shares their children in turn.
Inner* MutableInner(NodeRef& slot) {
  if (!slot.unique()) {
    const Inner* old = AsInner(slot.get());
    auto* copy = new Inner(old->height);
    for (int i = 0; i < old->count; ++i) copy->Push(old->child[i], old->len[i]);
    slot = NodeRef::Adopt(copy);
  } else {
    slot->crc.store(0, std::memory_order_relaxed);
  }
  return AsInner(slot.get());
}

// Builds a balanced tree over the nodes of one level.
NodeRef BuildLevels(std::vector<NodeRef> level) {
  while (level.size() > 1) {
    const size_t m = level.size();
    const size_t groups = (m + kMaxChildren - 1) / kMaxChildren;
    std::vector<NodeRef> up;
    up.reserve(groups);
    // Even groups: when m > kMaxChildren each holds at least m / groups >=
    // kMaxChildren / 2 nodes.
    for (size_t g = 0; g < groups; ++g) {
      const size_t begin = g * m / groups;
      const size_t end = (g + 1) * m / groups;
      up.push_back(MakeInner(
          std::span<const NodeRef>(level.data() + begin, end - begin)));
    }
    level = std::move(up);
  }
  return level.empty() ? NodeRef() : std::move(level[0]);
}

NodeRef BuildTree(std::string_view s) {
  std::vector<NodeRef> leaves;
  leaves.reserve(s.size() / kLeafBuild + 1);
  size_t i = 0;
  while (i < s.size()) {
    const size_t rest = s.size() - i;
    size_t take;
    if (rest <= kLeafMax) {
      take = rest;
    } else if (rest < kLeafBuild + kLeafMin) {
      take = rest / 2;  // Two halves rather than a short last leaf.
    } else {
      take = kLeafBuild;
    }
    take = CutAtChar(s.substr(i), take);
    leaves.push_back(MakeLeaf(s.substr(i, take)));
    i += take;
  }
  return BuildLevels(std::move(leaves));
}

bool IsFull(const Node* n) {
  return n->height == 0 ? AsLeaf(n)->size >= kLeafMin
                        : AsInner(n)->count >= kMinChildren;
}

// One node over the children of both lists, or two when they do not fit.
NodeRef MergeNodes(std::span<const NodeRef> a, std::span<const NodeRef> b) {
  std::vector<NodeRef> all(a.begin(), a.end());
  all.insert(all.end(), b.begin(), b.end());
  const size_t n = all.size();
  if (n <= kMaxChildren) return MakeInner(all);
  const size_t split = std::min<size_t>(kMaxChildren, n - kMinChildren);
  return MakeInner({MakeInner(std::span<const NodeRef>(all).first(split)),
                    MakeInner(std::span<const NodeRef>(all).subspan(split))});
}

NodeRef MergeLeaves(const Leaf* a, const Leaf* b) {
  if (a->size + b->size <= kLeafMax) {
    return MakeLeaf({a->view(), b->view()}, a->units + b->units);
  }
  std::string both(a->view());
  both += b->view();
  const size_t cut = CutAtChar(both, both.size() / 2);
  const std::string_view all(both);
  return MakeInner({MakeLeaf(all.substr(0, cut)), MakeLeaf(all.substr(cut))});
}

// The concatenation of two trees, sharing their nodes where the balance
// allows: O(difference in height + 1) new nodes. Nodes below the two roots
// must be full; the result's are too.
NodeRef Concat(NodeRef a, NodeRef b) {
  if (!a) return b;
  if (!b) return a;
  const int ha = a->height;
  const int hb = b->height;
  if (ha < hb) {
    const std::span<const NodeRef> kids = AsInner(b.get())->children();
    if (ha == hb - 1 && IsFull(a.get())) {
      return MergeNodes(std::span<const NodeRef>(&a, 1), kids);
    }
    NodeRef left = Concat(std::move(a), kids[0]);
    if (left->height == hb - 1) {
      return MergeNodes(std::span<const NodeRef>(&left, 1), kids.subspan(1));
    }
    return MergeNodes(AsInner(left.get())->children(), kids.subspan(1));
  }
  if (ha > hb) {
    const std::span<const NodeRef> kids = AsInner(a.get())->children();
    const size_t last = kids.size() - 1;
    if (hb == ha - 1 && IsFull(b.get())) {
      return MergeNodes(kids, std::span<const NodeRef>(&b, 1));
    }
    NodeRef right = Concat(kids[last], std::move(b));
    if (right->height == ha - 1) {
      return MergeNodes(kids.first(last), std::span<const NodeRef>(&right, 1));
    }
    return MergeNodes(kids.first(last), AsInner(right.get())->children());
  }
  if (IsFull(a.get()) && IsFull(b.get())) return MakeInner({a, b});
  if (ha == 0) return MergeLeaves(AsLeaf(a.get()), AsLeaf(b.get()));
  return MergeNodes(AsInner(a.get())->children(), AsInner(b.get())->children());
}

// Bytes [begin, end) of `node` (whose length is `size` bytes) as a tree;
// `begin` and `end` are character boundaries. Whole subtrees are shared.
NodeRef SliceBytes(const Node* node, uint64_t size, uint64_t begin,
                   uint64_t end) {
  if (begin >= end) return {};
  if (begin == 0 && end == size) return NodeRef::Share(node);
  if (node->height == 0) {
    return MakeLeaf(AsLeaf(node)->view().substr(begin, end - begin));
  }
  const Inner* in = AsInner(node);
  NodeRef out;
  uint64_t off = 0;
  for (int i = 0; i < in->count && off < end; ++i) {
    const uint64_t n = in->len[i].bytes;
    if (off + n > begin) {
      out = Concat(std::move(out),
                   SliceBytes(in->child[i].get(), n, std::max(begin, off) - off,
                              std::min(end, off + n) - off));
    }
    off += n;
  }
  return out;
}

// Where UTF-16 position `pos` falls: the byte offset of the character
// boundary at or before it, and the bytes of the character it splits (0 if
// it splits none).
struct Location {
  uint64_t byte = 0;
  uint32_t split_bytes = 0;
};

Location Locate(const Node* root, uint64_t pos) {
  Location loc;
  if (root == nullptr) return loc;
  const Node* n = root;
  while (n->height > 0) {
    const Inner* in = AsInner(n);
    int i = 0;
    while (i + 1 < in->count && in->len[i].units < pos) {
      pos -= in->len[i].units;
      loc.byte += in->len[i].bytes;
      ++i;
    }
    n = in->child[i].get();
  }
  const Leaf* leaf = AsLeaf(n);
  if (leaf->ascii()) {
    loc.byte += std::min<uint64_t>(pos, leaf->size);
    return loc;
  }
  size_t consumed = 0;
  const size_t b =
      dmp::internal::Utf8PrefixForUtf16(leaf->view(), pos, &consumed);
  loc.byte += b;
  if (consumed < pos && b < leaf->size) {
    loc.split_bytes = std::min<uint32_t>(CharBytes(leaf->data()[b]),
                                         leaf->size - static_cast<uint32_t>(b));
  }
  return loc;
}

// Calls fn on the chunks of bytes [begin, end) of `n`, in order, until it
// returns false; returns false if it did.
bool VisitBytes(const Node* n, uint64_t begin, uint64_t end,
                bool (*fn)(void*, std::string_view), void* ctx) {
  if (n->height == 0) {
    return fn(ctx, AsLeaf(n)->view().substr(begin, end - begin));
  }
  const Inner* in = AsInner(n);
  uint64_t off = 0;
  for (int i = 0; i < in->count && off < end; ++i) {
    const uint64_t size = in->len[i].bytes;
    if (off + size > begin &&
        !VisitBytes(in->child[i].get(), std::max(begin, off) - off,
                    std::min(end, off + size) - off, fn, ctx)) {
      return false;
    }
    off += size;
  }
  return true;
}

// Walks a tree from its start (kForward) or from its end, entering a node
// only when asked: a subtree can be passed whole without visiting it. The
// walker stands at the start of the current node, or inside it when that is
// a leaf partly passed; pos() counts the bytes passed.
template <bool kForward>
class Walker {
 public:
  explicit Walker(const Node* root)
      : node_(root), node_size_(LenOf(root).bytes) {}

  bool done() const { return node_ == nullptr; }
  uint64_t pos() const { return pos_; }
  const Node* node() const { return node_; }
  bool at_node_start() const { return in_leaf_ == 0; }

  // Makes the first child (in walking order) of the current inner node the
  // current node.
  void Enter() {
    assert(depth_ < kMaxHeight);
    const Inner* in = AsInner(node_);
    const int i = kForward ? 0 : in->count - 1;
    frames_[depth_++] = {in, i};
    node_ = in->child[i].get();
    node_size_ = in->len[i].bytes;
  }

  // Passes the rest of the current node.
  void Skip() {
    pos_ += node_size_ - in_leaf_;
    in_leaf_ = 0;
    while (depth_ > 0) {
      Frame& f = frames_[depth_ - 1];
      const int next = kForward ? f.index + 1 : f.index - 1;
      if (next >= 0 && next < f.node->count) {
        f.index = next;
        node_ = f.node->child[next].get();
        node_size_ = f.node->len[next].bytes;
        return;
      }
      --depth_;
    }
    node_ = nullptr;
  }

  // The bytes of the current leaf not yet passed, in text order.
  std::string_view rest() const {
    const std::string_view v = AsLeaf(node_)->view();
    return kForward ? v.substr(in_leaf_) : v.substr(0, v.size() - in_leaf_);
  }

  // Passes n <= rest().size() bytes of the current leaf.
  void Advance(size_t n) {
    if (in_leaf_ + n == node_size_) {
      Skip();
    } else {
      pos_ += n;
      in_leaf_ += static_cast<uint32_t>(n);
    }
  }

 private:
  struct Frame {
    const Inner* node;
    int index;  // The child that is, or contains, the current node.
  };

  Frame frames_[kMaxHeight];
  int depth_ = 0;
  const Node* node_;
  uint64_t node_size_;
  uint64_t pos_ = 0;
  uint32_t in_leaf_ = 0;
};

// Bytes of the common prefix (kForward) or suffix of two trees, ending on a
// character boundary.
template <bool kForward>
uint64_t CommonBytes(const Node* a, const Node* b) {
  Walker<kForward> wa(a);
  Walker<kForward> wb(b);
  while (!wa.done() && !wb.done()) {
    // Both walkers are at the same position: a node both reach there is
    // common text.
    if (wa.node() == wb.node() && wa.at_node_start() && wb.at_node_start()) {
      wa.Skip();
      wb.Skip();
      continue;
    }
    // Go down towards the leaves, the taller side first, so that nodes of
    // one height meet.
    const int ha = wa.node()->height;
    const int hb = wb.node()->height;
    if (ha > 0 || hb > 0) {
      if (ha >= hb) wa.Enter();
      if (hb >= ha) wb.Enter();
      continue;
    }
    const std::string_view ra = wa.rest();
    const std::string_view rb = wb.rest();
    const size_t n = std::min(ra.size(), rb.size());
    // Each walker stands on a character boundary, and the end of the
    // shorter rest is one, so n equal bytes end on a boundary in both.
    const size_t same =
        kForward ? dmp::internal::CommonPrefix(ra.substr(0, n), rb.substr(0, n))
                 : dmp::internal::CommonSuffix(ra.substr(ra.size() - n),
                                               rb.substr(rb.size() - n));
    if (same < n) return wa.pos() + same;
    wa.Advance(n);
    wb.Advance(n);
  }
  return wa.pos();
}

// Replaces UTF-16 range [p, e) of the tree at `root` (whose totals are
// `bytes` and `units`) by `insert` when the range lies in one leaf that stays
// within its size limits: the path to the leaf is copied where shared and
// edited in place where not. Returns false, changing nothing, otherwise.
bool ReplaceInLeaf(Node*& root, uint64_t p, uint64_t e, std::string_view insert,
                   uint64_t& bytes, uint64_t& units) {
  // Find the leaf without changing anything. An insertion at a leaf
  // boundary goes to the leaf before it (typing at its end); a deletion to
  // the leaf holding its first unit.
  int path[kMaxHeight];
  int depth = 0;
  const uint64_t probe = e > p ? p + 1 : p;
  uint64_t base = 0;
  const Node* n = root;
  while (n->height > 0) {
    const Inner* in = AsInner(n);
    int i = 0;
    while (i + 1 < in->count && base + in->len[i].units < probe) {
      base += in->len[i].units;
      ++i;
    }
    if (e > base + in->len[i].units) return false;
    path[depth++] = i;
    n = in->child[i].get();
  }
  const Leaf* leaf = AsLeaf(n);
  const std::string_view v = leaf->view();
  const uint64_t lp = p - base;
  const uint64_t le = e - base;
  size_t bp = lp;
  size_t be = le;
  if (!leaf->ascii()) {
    size_t at_p = 0;
    bp = dmp::internal::Utf8PrefixForUtf16(v, lp, &at_p);
    be = bp;
    if (le > lp) {
      const uint64_t want = le - at_p;
      size_t got = 0;
      be = bp + dmp::internal::Utf8PrefixForUtf16(v.substr(bp), want, &got);
      if (got < want && be < v.size()) {
        be += std::min<size_t>(CharBytes(v[be]), v.size() - be);
      }
    }
  }
  const size_t new_size = v.size() - (be - bp) + insert.size();
  if (new_size > kLeafMax || (depth > 0 && new_size < kLeafMin)) return false;

  const uint64_t del_units =
      leaf->ascii() ? be - bp : Utf16Length(v.substr(bp, be - bp));
  const uint64_t ins_units = Utf16Length(insert);
  const uint64_t del_bytes = be - bp;
  bytes = bytes - del_bytes + insert.size();
  units = units - del_units + ins_units;
  NodeRef tree = NodeRef::Adopt(root);
  if (new_size == 0) {  // A lone root leaf emptied.
    root = nullptr;
    return true;
  }
  NodeRef* slot = &tree;
  for (int d = 0; d < depth; ++d) {
    Inner* in = MutableInner(*slot);
    Len& l = in->len[path[d]];
    l.bytes = l.bytes - del_bytes + insert.size();
    l.units = l.units - del_units + ins_units;
    slot = &in->child[path[d]];
  }
  Leaf* target = AsLeaf(slot->get());
  const uint32_t new_units =
      static_cast<uint32_t>(target->units - del_units + ins_units);
  // `insert` may be a view of this very leaf (from ForEachChunk); it is then
  // read before the leaf changes, by copying.
  const auto buffer = reinterpret_cast<uintptr_t>(target->data());
  const auto source = reinterpret_cast<uintptr_t>(insert.data());
  const bool aliased =
      source < buffer + target->capacity && source + insert.size() > buffer;
  if (slot->unique() && new_size <= target->capacity && !aliased) {
    char* d = target->data();
    std::memmove(d + bp + insert.size(), d + be, target->size - be);
    if (!insert.empty()) std::memcpy(d + bp, insert.data(), insert.size());
    target->size = static_cast<uint32_t>(new_size);
    target->units = new_units;
    target->crc.store(0, std::memory_order_relaxed);
  } else {
    const std::string_view old = target->view();
    *slot = MakeLeaf({old.substr(0, bp), insert, old.substr(be)}, new_units);
  }
  root = tree.release();
  return true;
}

// The shift of each leaf size: a leaf's is a lookup.
const uint32_t* LeafShifts() {
  static const auto* shifts = [] {
    auto* table = new uint32_t[kLeafMax + 1];
    for (uint32_t n = 0; n <= kLeafMax; ++n) table[n] = internal::XPow8N(n);
    return table;
  }();
  return shifts;
}

uint64_t PackCrc(uint32_t crc, uint32_t shift) {
  return (uint64_t{shift} << 32) | crc;
}

uint64_t NodeCrc(const Node* n);

// A leaf's (CRC, shift) pair from its bytes.
uint64_t LeafCrc(const Leaf* leaf) {
  return PackCrc(engine::Crc32(leaf->view()), LeafShifts()[leaf->size]);
}

// An inner node's pair from its children's.
uint64_t CombineChildren(const Inner* in) {
  uint64_t kids[kMaxChildren];
  for (int i = 0; i < in->count; ++i) kids[i] = NodeCrc(in->child[i].get());
  return internal::CombineCrcPairs(kids, in->count);
}

// The node's (CRC, shift) pair, from its cache or computed and cached.
// Relaxed order suffices: the pair depends only on the node's bytes, which
// are immutable while the node is shared, and whoever shared it published
// them.
uint64_t NodeCrc(const Node* n) {
  uint64_t pair = n->crc.load(std::memory_order_relaxed);
  if (pair != 0) return pair;
  pair = n->height == 0 ? LeafCrc(AsLeaf(n)) : CombineChildren(AsInner(n));
  n->crc.store(pair, std::memory_order_relaxed);
  return pair;
}

size_t TreeMemory(const Node* n) {
  size_t total = NodeBytes(n);
  if (n->height > 0) {
    for (const NodeRef& c : AsInner(n)->children())
      total += TreeMemory(c.get());
  }
  return total;
}

size_t NewMemory(const Node* n, std::unordered_set<const Node*>& seen) {
  // A node seen before was counted with everything below it.
  if (!seen.insert(n).second) return 0;
  size_t total = NodeBytes(n);
  if (n->height > 0) {
    for (const NodeRef& c : AsInner(n)->children()) {
      total += NewMemory(c.get(), seen);
    }
  }
  return total;
}

Status CheckNode(const Node* n, bool is_root, Len* len) {
  if (n->refs.load(std::memory_order_relaxed) == 0) {
    return Status::Internal("text: node with no references");
  }
  if (n->height == 0) {
    const Leaf* leaf = AsLeaf(n);
    if (leaf->size == 0 || leaf->size > leaf->capacity ||
        leaf->capacity > kLeafMax) {
      return Status::Internal("text: leaf of " + std::to_string(leaf->size) +
                              " bytes, capacity " +
                              std::to_string(leaf->capacity));
    }
    if (!is_root && leaf->size < kLeafMin) {
      return Status::Internal("text: leaf of " + std::to_string(leaf->size) +
                              " bytes, below the minimum");
    }
    if (IsContinuation(leaf->data()[0])) {
      return Status::Internal("text: leaf starts inside a character");
    }
    if (leaf->units != Utf16Length(leaf->view())) {
      return Status::Internal("text: leaf UTF-16 length is stale");
    }
    const uint64_t cached = leaf->crc.load(std::memory_order_relaxed);
    if (cached != 0 && cached != LeafCrc(leaf)) {
      return Status::Internal("text: cached CRC of a leaf is stale");
    }
    *len = {leaf->size, leaf->units};
    return Status::Ok();
  }
  const Inner* in = AsInner(n);
  const int min = is_root ? 2 : kMinChildren;
  if (in->count < min || in->count > kMaxChildren) {
    return Status::Internal("text: inner node of height " +
                            std::to_string(n->height) + " has " +
                            std::to_string(in->count) + " children");
  }
  *len = Len{};
  for (int i = 0; i < in->count; ++i) {
    const Node* c = in->child[i].get();
    if (c == nullptr || c->height + 1 != n->height) {
      return Status::Internal("text: child " + std::to_string(i) +
                              " at the wrong height");
    }
    Len child_len{};
    Status s = CheckNode(c, false, &child_len);
    if (!s.ok()) return s;
    if (child_len.bytes != in->len[i].bytes ||
        child_len.units != in->len[i].units) {
      return Status::Internal("text: cached length of child " +
                              std::to_string(i) + " is stale");
    }
    len->bytes += child_len.bytes;
    len->units += child_len.units;
  }
  // The children's pairs are checked: combining them must give the cached
  // one.
  const uint64_t cached = in->crc.load(std::memory_order_relaxed);
  if (cached != 0 && cached != CombineChildren(in)) {
    return Status::Internal("text: cached CRC of an inner node of height " +
                            std::to_string(n->height) + " is stale");
  }
  return Status::Ok();
}

}  // namespace
}  // namespace text_internal

using text_internal::AsInner;
using text_internal::AsLeaf;
using text_internal::NodeRef;

Text::Text(const Text& other)
    : root_(other.root_), bytes_(other.bytes_), units_(other.units_) {
  if (root_ != nullptr) root_->refs.fetch_add(1, std::memory_order_relaxed);
}

Text& Text::operator=(const Text& other) {
  Text copy(other);
  return *this = std::move(copy);
}

Text& Text::operator=(Text&& other) noexcept {
  std::swap(root_, other.root_);
  std::swap(bytes_, other.bytes_);
  std::swap(units_, other.units_);
  return *this;
}

void Text::Release(text_internal::Node* node) { text_internal::Unref(node); }

Result<Text> Text::FromUtf8(std::string_view utf8) {
  Status s = dmp::internal::ValidateUtf8(utf8, "text");
  if (!s.ok()) return s;
  return FromValidUtf8(utf8);
}

Text Text::FromValidUtf8(std::string_view utf8) {
  assert(dmp::internal::FindInvalidUtf8(utf8) == std::string_view::npos);
  NodeRef root = text_internal::BuildTree(utf8);
  const text_internal::Len len = text_internal::LenOf(root.get());
  return Text(root.release(), len.bytes, len.units);
}

std::string Text::ToString() const {
  std::string out;
  AppendTo(out);
  return out;
}

void Text::AppendTo(std::string& out) const {
  out.reserve(out.size() + bytes_);
  ForEachChunk([&out](std::string_view chunk) { out += chunk; });
}

bool Text::Equals(std::string_view utf8) const {
  if (utf8.size() != bytes_) return false;
  size_t off = 0;
  bool same = true;
  ForEachChunk([&](std::string_view chunk) {
    same = utf8.compare(off, chunk.size(), chunk) == 0;
    off += chunk.size();
    return same;
  });
  return same;
}

void Text::VisitChunks(bool (*fn)(void*, std::string_view), void* ctx) const {
  if (root_ != nullptr) text_internal::VisitBytes(root_, 0, bytes_, fn, ctx);
}

Status Text::CheckRange(int64_t pos16, int64_t len16) const {
  auto range = [&] {
    return "range " + std::to_string(pos16) + "+" + std::to_string(len16);
  };
  if (pos16 < 0 || len16 < 0) {
    return Status::OutOfRange(range() + " is negative");
  }
  if (pos16 > size16() || len16 > size16() - pos16) {
    return Status::OutOfRange(range() + " ends past the text's " +
                              std::to_string(size16()) + " UTF-16 units");
  }
  for (const int64_t p : {pos16, pos16 + len16}) {
    if (!IsBoundary(p)) {
      return Status::InvalidArgument(
          range() + ": position " + std::to_string(p) +
          " is between the two halves of a surrogate pair");
    }
  }
  return Status::Ok();
}

bool Text::IsBoundary(int64_t pos16) const {
  if (pos16 < 0 || pos16 > size16()) return false;
  return text_internal::Locate(root_, static_cast<uint64_t>(pos16))
             .split_bytes == 0;
}

size_t Text::ByteOffset(int64_t pos16) const {
  const uint64_t p =
      static_cast<uint64_t>(std::clamp<int64_t>(pos16, 0, size16()));
  return static_cast<size_t>(text_internal::Locate(root_, p).byte);
}

int64_t Text::Pos16(size_t byte_offset) const {
  uint64_t b = std::min<uint64_t>(byte_offset, bytes_);
  if (root_ == nullptr) return 0;
  uint64_t units = 0;
  const text_internal::Node* n = root_;
  while (n->height > 0) {
    const text_internal::Inner* in = AsInner(n);
    int i = 0;
    while (i + 1 < in->count && in->len[i].bytes < b) {
      b -= in->len[i].bytes;
      units += in->len[i].units;
      ++i;
    }
    n = in->child[i].get();
  }
  const text_internal::Leaf* leaf = AsLeaf(n);
  if (leaf->ascii()) return static_cast<int64_t>(units + b);
  const std::string_view v = leaf->view();
  while (b > 0 && b < v.size() && text_internal::IsContinuation(v[b])) --b;
  return static_cast<int64_t>(units + Utf16Length(v.substr(0, b)));
}

namespace {

// A range resolved to byte offsets: [pos16, pos16 + len16) clamped to a text
// of `units` code units, a boundary inside a character moved to its start,
// or for the end of a non-empty range, to its end.
struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

ByteRange ResolveRange(const text_internal::Node* root, uint64_t units,
                       int64_t pos16, int64_t len16) {
  const uint64_t p = static_cast<uint64_t>(
      std::clamp<int64_t>(pos16, 0, static_cast<int64_t>(units)));
  const uint64_t len = static_cast<uint64_t>(std::max<int64_t>(len16, 0));
  const uint64_t e = len > units - p ? units : p + len;
  ByteRange r;
  r.begin = text_internal::Locate(root, p).byte;
  if (e == p) {
    r.end = r.begin;
  } else {
    const text_internal::Location end = text_internal::Locate(root, e);
    r.end = end.byte + end.split_bytes;
  }
  return r;
}

}  // namespace

std::string Text::Substr(int64_t pos16, int64_t len16) const {
  assert(CheckRange(pos16, len16).ok());
  const ByteRange r = ResolveRange(root_, units_, pos16, len16);
  std::string out;
  if (r.begin == r.end) return out;
  out.reserve(r.end - r.begin);
  text_internal::VisitBytes(
      root_, r.begin, r.end,
      [](void* ctx, std::string_view chunk) {
        *static_cast<std::string*>(ctx) += chunk;
        return true;
      },
      &out);
  return out;
}

Text Text::Slice(int64_t pos16, int64_t len16) const {
  assert(CheckRange(pos16, len16).ok());
  const ByteRange r = ResolveRange(root_, units_, pos16, len16);
  NodeRef slice = text_internal::SliceBytes(root_, bytes_, r.begin, r.end);
  const text_internal::Len len = text_internal::LenOf(slice.get());
  return Text(slice.release(), len.bytes, len.units);
}

Text Text::Replace(int64_t pos16, int64_t del16,
                   std::string_view insert_utf8) const& {
  Text copy(*this);
  copy.ReplaceInPlace(pos16, del16, insert_utf8);
  return copy;
}

Text Text::Replace(int64_t pos16, int64_t del16,
                   std::string_view insert_utf8) && {
  ReplaceInPlace(pos16, del16, insert_utf8);
  return std::move(*this);
}

void Text::ReplaceInPlace(int64_t pos16, int64_t del16,
                          std::string_view insert) {
  assert(CheckRange(pos16, del16).ok());
  assert(dmp::internal::FindInvalidUtf8(insert) == std::string_view::npos);
  if (del16 <= 0 && insert.empty()) return;
  const uint64_t p =
      static_cast<uint64_t>(std::clamp<int64_t>(pos16, 0, size16()));
  const uint64_t len = static_cast<uint64_t>(std::max<int64_t>(del16, 0));
  const uint64_t e = len > units_ - p ? units_ : p + len;

  if (root_ != nullptr &&
      text_internal::ReplaceInLeaf(root_, p, e, insert, bytes_, units_)) {
    return;
  }

  // General path: the text before the range, the insertion and the text
  // after it, concatenated; untouched subtrees are shared.
  NodeRef root = NodeRef::Adopt(std::exchange(root_, nullptr));
  const text_internal::Location b = text_internal::Locate(root.get(), p);
  uint64_t end_byte = b.byte;
  if (e > p) {
    const text_internal::Location end = text_internal::Locate(root.get(), e);
    end_byte = end.byte + end.split_bytes;
  }
  NodeRef left = text_internal::SliceBytes(root.get(), bytes_, 0, b.byte);
  NodeRef right =
      text_internal::SliceBytes(root.get(), bytes_, end_byte, bytes_);
  // The old tree lives until the end: `insert` may be one of its chunks.
  NodeRef result = text_internal::Concat(
      text_internal::Concat(std::move(left), text_internal::BuildTree(insert)),
      std::move(right));
  const text_internal::Len total = text_internal::LenOf(result.get());
  root_ = result.release();
  bytes_ = total.bytes;
  units_ = total.units;
}

bool operator==(const Text& a, const Text& b) {
  if (a.SameStorage(b)) return true;
  if (a.bytes_ != b.bytes_ || a.units_ != b.units_) return false;
  return text_internal::CommonBytes<true>(a.root_, b.root_) == a.bytes_;
}

int64_t Text::CommonPrefix16(const Text& a, const Text& b) {
  if (a.SameStorage(b)) return a.size16();
  return a.Pos16(text_internal::CommonBytes<true>(a.root_, b.root_));
}

int64_t Text::CommonSuffix16(const Text& a, const Text& b) {
  if (a.SameStorage(b)) return a.size16();
  const uint64_t common = text_internal::CommonBytes<false>(a.root_, b.root_);
  return a.size16() - a.Pos16(a.bytes_ - common);
}

uint32_t Text::Crc32() const {
  if (root_ == nullptr) return 0;
  return static_cast<uint32_t>(text_internal::NodeCrc(root_));
}

size_t Text::MemoryBytes() const {
  return root_ == nullptr ? 0 : text_internal::TreeMemory(root_);
}

size_t Text::MemoryBytes(std::span<const Text> texts) {
  std::unordered_set<const text_internal::Node*> seen;
  size_t total = 0;
  for (const Text& t : texts) {
    if (t.root_ != nullptr) total += text_internal::NewMemory(t.root_, seen);
  }
  return total;
}

Status Text::CheckInvariants() const {
  if (root_ == nullptr) {
    if (bytes_ != 0 || units_ != 0) {
      return Status::Internal("text: empty tree with a nonzero length");
    }
    return Status::Ok();
  }
  text_internal::Len len{};
  Status s = text_internal::CheckNode(root_, true, &len);
  if (!s.ok()) return s;
  if (len.bytes != bytes_ || len.units != units_) {
    return Status::Internal("text: cached total length is stale");
  }
  if (root_->height >= text_internal::kMaxHeight) {
    return Status::Internal("text: tree too tall");
  }
  return Status::Ok();
}

}  // namespace diffsync::engine
