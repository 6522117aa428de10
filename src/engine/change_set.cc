#include "diffsync/engine/change_set.h"

#include <algorithm>
#include <charconv>

#include "dmp/diff_core.h"
#include "dmp/utf.h"

namespace diffsync::engine {
namespace {

using Kind = ChangeSet::Op::Kind;

using dmp::internal::Units;

// Splits `utf8` after `units` UTF-16 code units (a character boundary for
// the valid changes this class is given).
std::pair<std::string_view, std::string_view> SplitAt(std::string_view utf8,
                                                      int64_t units) {
  size_t consumed = 0;
  const size_t bytes = dmp::internal::Utf8PrefixForUtf16(
      utf8, static_cast<size_t>(units), &consumed);
  return {utf8.substr(0, bytes), utf8.substr(bytes)};
}

// What Cursor::Take consumed of an insert: its text and that text's length
// in UTF-16 units.
struct Taken {
  std::string_view text;
  int64_t units = 0;
};

// Walks the ops of a change one piece at a time: Take(n) consumes up to n
// units of the current op and returns what was taken.
class Cursor {
 public:
  explicit Cursor(const std::vector<ChangeSet::Op>& ops) : ops_(ops) {}

  bool Done() const { return index_ >= ops_.size(); }
  Kind kind() const { return ops_[index_].kind; }
  int64_t Remaining() const { return ops_[index_].length - offset_; }

  // Consumes min(n, Remaining()) units; for an insert returns the text.
  // Composing a document's history takes whole inserts, or pieces of ASCII
  // ones, far more often than pieces of others: those need no scan.
  Taken Take(int64_t n) {
    const ChangeSet::Op& op = ops_[index_];
    const int64_t units = std::min(n, Remaining());
    Taken taken;
    if (op.kind == Kind::kInsert) {
      if (offset_ == 0 && units == op.length) {
        taken = {op.text, units};
      } else if (op.text.size() == static_cast<size_t>(op.length)) {
        // One byte per unit: all ASCII.
        taken = {std::string_view(op.text).substr(static_cast<size_t>(offset_),
                                                  static_cast<size_t>(units)),
                 units};
      } else {
        taken.text = SplitAt(SplitAt(op.text, offset_).second, units).first;
        taken.units = Units(taken.text);
      }
    }
    Skip(units);
    return taken;
  }

  // Consumes min(n, Remaining()) units.
  void Skip(int64_t n) {
    offset_ += std::min(n, Remaining());
    if (offset_ >= ops_[index_].length) {
      ++index_;
      offset_ = 0;
    }
  }

 private:
  const std::vector<ChangeSet::Op>& ops_;
  size_t index_ = 0;
  int64_t offset_ = 0;
};

}  // namespace

ChangeSet ChangeSet::Identity(int64_t length) {
  ChangeSet c;
  c.Retain(length);
  return c;
}

void ChangeSet::Push(Kind kind, int64_t length, std::string_view text) {
  if (length == 0) return;
  if (!ops_.empty() && ops_.back().kind == kind) {
    ops_.back().length += length;
    if (kind == Kind::kInsert) ops_.back().text += text;
    return;
  }
  // Most changes are a retain, an edit and a retain: one allocation.
  if (ops_.capacity() == 0) ops_.reserve(4);
  Op& op = ops_.emplace_back();
  op.kind = kind;
  op.length = length;
  if (kind == Kind::kInsert) op.text = text;
}

void ChangeSet::Retain(int64_t n) {
  base_length_ += n;
  target_length_ += n;
  Push(Kind::kRetain, n, {});
}

void ChangeSet::Delete(int64_t n) {
  base_length_ += n;
  Push(Kind::kDelete, n, {});
}

void ChangeSet::Insert(std::string_view utf8) { Insert(utf8, Units(utf8)); }

void ChangeSet::Insert(std::string_view utf8, int64_t units) {
  target_length_ += units;
  Push(Kind::kInsert, units, utf8);
}

bool ChangeSet::IsIdentity() const {
  for (const Op& op : ops_) {
    if (op.kind != Kind::kRetain) return false;
  }
  return true;
}

Result<ChangeSet> ChangeSet::FromOpenDelta(std::string_view delta,
                                           int64_t base_length) {
  return FromDelta(delta, base_length, /*open_end=*/true);
}

Result<ChangeSet> ChangeSet::FromDelta(std::string_view delta,
                                       int64_t base_length) {
  return FromDelta(delta, base_length, /*open_end=*/false);
}

Result<ChangeSet> ChangeSet::FromDelta(std::string_view delta,
                                       int64_t base_length, bool open_end) {
  ChangeSet c;
  Status status = dmp::internal::ForEachDeltaToken(
      delta, [&](dmp::internal::DeltaToken& token) -> Status {
        if (token.op == '+') {
          c.Insert(token.text);
          return Status::Ok();
        }
        if (token.count > base_length - c.base_length()) {
          return Status::InvalidArgument(
              "delta: counts exceed the length of the base text (" +
              std::to_string(base_length) + " units) at offset " +
              std::to_string(token.offset));
        }
        token.op == '=' ? c.Retain(token.count) : c.Delete(token.count);
        return Status::Ok();
      });
  if (!status.ok()) return status;
  if (open_end) c.Retain(base_length - c.base_length());
  if (c.base_length() != base_length) {
    return Status::InvalidArgument(
        "delta: covers " + std::to_string(c.base_length()) + " of the " +
        std::to_string(base_length) + " units of the base text");
  }
  return c;
}

ChangeSet ChangeSet::FromDiffs(const dmp::Diffs& diffs) {
  ChangeSet c;
  for (const dmp::Diff& d : diffs) {
    switch (d.operation) {
      case dmp::Operation::kEqual:
        c.Retain(Units(d.text));
        break;
      case dmp::Operation::kDelete:
        c.Delete(Units(d.text));
        break;
      case dmp::Operation::kInsert:
        c.Insert(d.text);
        break;
    }
  }
  return c;
}

std::string ChangeSet::ToDelta() const {
  std::string delta;
  for (const Op& op : ops_) {
    if (op.kind == Kind::kInsert) {
      if (!delta.empty()) delta += '\t';
      delta += '+';
      dmp::internal::AppendEncodeUri(op.text, delta);
      continue;
    }
    // "\t=123" built in a buffer and appended at once: a delta is written
    // for every edit of every sync cycle.
    char buffer[24];
    char* end = buffer;
    if (!delta.empty()) *end++ = '\t';
    *end++ = op.kind == Kind::kRetain ? '=' : '-';
    end = std::to_chars(end, buffer + sizeof buffer, op.length).ptr;
    delta.append(buffer, end);
  }
  return delta;
}

Result<Text> ChangeSet::Apply(const Text& text) const {
  if (text.size16() != base_length_) {
    return Status::InvalidArgument(
        "change of a " + std::to_string(base_length_) +
        "-unit text applied to a " + std::to_string(text.size16()) +
        "-unit text");
  }
  if (IsIdentity()) return text;
  Text out = text;
  int64_t pos = 0;  // In the text being built.
  for (size_t i = 0; i < ops_.size(); ++i) {
    const Op& op = ops_[i];
    if (op.kind == Kind::kRetain) {
      pos += op.length;
      continue;
    }
    // A delete and an insert next to each other are one replacement.
    int64_t del = 0;
    std::string_view ins;
    if (op.kind == Kind::kDelete) {
      del = op.length;
      if (i + 1 < ops_.size() && ops_[i + 1].kind == Kind::kInsert) {
        ins = ops_[++i].text;
      }
    } else {
      ins = op.text;
      if (i + 1 < ops_.size() && ops_[i + 1].kind == Kind::kDelete) {
        del = ops_[++i].length;
      }
    }
    if (!out.IsBoundary(pos) || !out.IsBoundary(pos + del)) {
      return Status::InvalidArgument(
          "change splits a surrogate pair near unit " + std::to_string(pos));
    }
    out = std::move(out).Replace(pos, del, ins);
    pos += Units(ins);
  }
  return out;
}

int64_t ChangeSet::MapPosition(int64_t pos, bool after_inserts) const {
  int64_t base = 0;
  int64_t target = 0;
  for (const Op& op : ops_) {
    switch (op.kind) {
      case Kind::kRetain:
        if (pos < base + op.length) return target + (pos - base);
        base += op.length;
        target += op.length;
        break;
      case Kind::kDelete:
        if (pos < base + op.length) return target;
        base += op.length;
        break;
      case Kind::kInsert:
        if (pos == base && !after_inserts) return target;
        target += op.length;
        break;
    }
  }
  return target + (pos - base);
}

ChangeSet ChangeSet::Compose(const ChangeSet& first, const ChangeSet& second) {
  ChangeSet out;
  ComposeInto(first, second, out);
  return out;
}

void ChangeSet::ComposeInto(const ChangeSet& first, const ChangeSet& second,
                            ChangeSet& out) {
  out.ops_.clear();
  // Each operation of the result ends where one of the inputs' does. (Not
  // in Transform: its results are kept, in a document's history and its
  // views' anchors, and would keep the spare room.)
  out.ops_.reserve(first.ops_.size() + second.ops_.size());
  out.base_length_ = 0;
  out.target_length_ = 0;
  Cursor a(first.ops_);
  Cursor b(second.ops_);
  while (!a.Done() || !b.Done()) {
    if (!a.Done() && a.kind() == Kind::kDelete) {
      out.Delete(a.Remaining());
      a.Skip(a.Remaining());
      continue;
    }
    if (!b.Done() && b.kind() == Kind::kInsert) {
      const Taken inserted = b.Take(b.Remaining());
      out.Insert(inserted.text, inserted.units);
      continue;
    }
    if (a.Done() || b.Done()) break;  // Mismatched lengths: a precondition.
    const int64_t n = std::min(a.Remaining(), b.Remaining());
    if (a.kind() == Kind::kRetain && b.kind() == Kind::kRetain) {
      out.Retain(n);
      a.Skip(n);
      b.Skip(n);
    } else if (a.kind() == Kind::kInsert && b.kind() == Kind::kDelete) {
      a.Skip(n);  // Inserted, then deleted: nothing remains.
      b.Skip(n);
    } else if (a.kind() == Kind::kInsert && b.kind() == Kind::kRetain) {
      const Taken inserted = a.Take(n);
      out.Insert(inserted.text, inserted.units);
      b.Skip(n);
    } else {  // a retains what b deletes.
      out.Delete(n);
      a.Skip(n);
      b.Skip(n);
    }
  }
}

std::pair<ChangeSet, ChangeSet> ChangeSet::Transform(const ChangeSet& a,
                                                     const ChangeSet& b) {
  ChangeSet a_prime;  // a, applied after b.
  ChangeSet b_prime;  // b, applied after a.
  Cursor ca(a.ops_);
  Cursor cb(b.ops_);
  while (!ca.Done() || !cb.Done()) {
    if (!ca.Done() && ca.kind() == Kind::kInsert) {
      const Taken inserted = ca.Take(ca.Remaining());
      a_prime.Insert(inserted.text, inserted.units);
      b_prime.Retain(inserted.units);
      continue;
    }
    if (!cb.Done() && cb.kind() == Kind::kInsert) {
      const Taken inserted = cb.Take(cb.Remaining());
      a_prime.Retain(inserted.units);
      b_prime.Insert(inserted.text, inserted.units);
      continue;
    }
    if (ca.Done() || cb.Done()) break;  // Mismatched bases: a precondition.
    const int64_t n = std::min(ca.Remaining(), cb.Remaining());
    const Kind ka = ca.kind();
    const Kind kb = cb.kind();
    ca.Skip(n);
    cb.Skip(n);
    if (ka == Kind::kRetain && kb == Kind::kRetain) {
      a_prime.Retain(n);
      b_prime.Retain(n);
    } else if (ka == Kind::kDelete && kb == Kind::kRetain) {
      a_prime.Delete(n);
    } else if (ka == Kind::kRetain && kb == Kind::kDelete) {
      b_prime.Delete(n);
    }
    // Both deleted the same text: nothing left to do on either side.
  }
  return {std::move(a_prime), std::move(b_prime)};
}

}  // namespace diffsync::engine
