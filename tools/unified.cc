#include "unified.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace diffsync::cli {
namespace {

using dmp::Diff;
using dmp::Diffs;
using dmp::Operation;

struct Line {
  Operation operation;
  std::string text;
};

// Regroups a character diff into lines. Each side (old text, new text) builds
// its current line; a line counts as kept only if both sides started it
// together and no edit touched either copy, in which case the copies are
// equal.
class LineSplitter {
 public:
  void Add(const Diff& diff) {
    switch (diff.operation) {
      case Operation::kEqual:
        AddEqual(diff.text);
        break;
      case Operation::kDelete:
        AddOneSide(diff.text, Operation::kDelete, old_, new_);
        break;
      case Operation::kInsert:
        AddOneSide(diff.text, Operation::kInsert, new_, old_);
        break;
    }
  }

  std::vector<Line> Finish() && {
    if (!old_.text.empty() || !new_.text.empty()) EndBoth();
    return std::move(lines_);
  }

 private:
  struct PartialLine {
    std::string text;
    bool touched = false;
  };

  void AddEqual(std::string_view text) {
    for (size_t nl; (nl = text.find('\n')) != std::string_view::npos;) {
      old_.text.append(text.substr(0, nl + 1));
      new_.text.append(text.substr(0, nl + 1));
      EndBoth();
      text.remove_prefix(nl + 1);
    }
    old_.text.append(text);
    new_.text.append(text);
  }

  // An edit that ends a line on one side leaves the other side's current
  // line without its counterpart, so that line changed too.
  void AddOneSide(std::string_view text, Operation operation, PartialLine& side,
                  PartialLine& other) {
    for (size_t nl; (nl = text.find('\n')) != std::string_view::npos;) {
      side.text.append(text.substr(0, nl + 1));
      lines_.push_back({operation, std::move(side.text)});
      side = {};
      if (!other.text.empty()) other.touched = true;
      text.remove_prefix(nl + 1);
    }
    if (!text.empty()) {
      side.text.append(text);
      side.touched = true;
    }
  }

  void EndBoth() {
    if (!old_.touched && !new_.touched) {
      lines_.push_back({Operation::kEqual, std::move(old_.text)});
    } else {
      if (!old_.text.empty()) {
        lines_.push_back({Operation::kDelete, std::move(old_.text)});
      }
      if (!new_.text.empty()) {
        lines_.push_back({Operation::kInsert, std::move(new_.text)});
      }
    }
    old_ = {};
    new_ = {};
  }

  PartialLine old_;
  PartialLine new_;
  std::vector<Line> lines_;
};

std::vector<Line> SplitLines(const Diffs& diffs) {
  LineSplitter splitter;
  for (const Diff& diff : diffs) splitter.Add(diff);
  return std::move(splitter).Finish();
}

// End of the run of changed lines starting at `begin`.
size_t ChangeRunEnd(const std::vector<Line>& lines, size_t begin) {
  size_t end = begin;
  while (end < lines.size() && lines[end].operation != Operation::kEqual) {
    ++end;
  }
  return end;
}

void AppendLine(char prefix, std::string_view text, std::string& out) {
  out += prefix;
  out.append(text);
  if (text.empty() || text.back() != '\n') {
    out += "\n\\ No newline at end of file\n";
  }
}

// "start,count" as diff -u writes it: ",1" is left out, and an empty range
// names the line before it.
std::string Range(size_t lines_before, size_t count) {
  size_t start = count == 0 ? lines_before : lines_before + 1;
  if (count == 1) return std::to_string(start);
  return std::to_string(start) + "," + std::to_string(count);
}

}  // namespace

Diffs WholeLines(const Diffs& diffs) {
  std::vector<Line> lines = SplitLines(diffs);
  Diffs out;
  for (size_t i = 0; i < lines.size();) {
    if (lines[i].operation == Operation::kEqual) {
      if (out.empty() || out.back().operation != Operation::kEqual) {
        out.push_back({Operation::kEqual, {}});
      }
      out.back().text.append(lines[i].text);
      ++i;
      continue;
    }
    size_t end = ChangeRunEnd(lines, i);
    for (Operation operation : {Operation::kDelete, Operation::kInsert}) {
      Diff merged{operation, {}};
      for (size_t j = i; j < end; ++j) {
        if (lines[j].operation == operation) merged.text.append(lines[j].text);
      }
      if (!merged.text.empty()) out.push_back(std::move(merged));
    }
    i = end;
  }
  return out;
}

std::string UnifiedDiff(const Diffs& diffs, std::string_view label1,
                        std::string_view label2, int context) {
  const size_t margin = static_cast<size_t>(std::max(context, 0));
  std::vector<Line> lines = SplitLines(diffs);
  const size_t n = lines.size();
  // before1[i] / before2[i]: old / new lines that precede lines[i].
  std::vector<size_t> before1(n + 1, 0);
  std::vector<size_t> before2(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    Operation op = lines[i].operation;
    before1[i + 1] = before1[i] + (op != Operation::kInsert ? 1 : 0);
    before2[i + 1] = before2[i] + (op != Operation::kDelete ? 1 : 0);
  }

  std::string out;
  for (size_t i = 0; i < n;) {
    while (i < n && lines[i].operation == Operation::kEqual) ++i;
    if (i == n) break;
    const size_t first_change = i;
    size_t changes_end = ChangeRunEnd(lines, i);
    // Absorb the next change while the unchanged gap before it is no longer
    // than the context both hunks would show.
    while (changes_end < n) {
      size_t next = changes_end;
      while (next < n && lines[next].operation == Operation::kEqual) ++next;
      if (next == n || next - changes_end > 2 * margin) break;
      changes_end = ChangeRunEnd(lines, next);
    }
    const size_t begin = first_change - std::min(first_change, margin);
    const size_t end = std::min(n, changes_end + margin);

    if (out.empty()) {
      out.append("--- ").append(label1).append("\n");
      out.append("+++ ").append(label2).append("\n");
    }
    out.append("@@ -")
        .append(Range(before1[begin], before1[end] - before1[begin]))
        .append(" +")
        .append(Range(before2[begin], before2[end] - before2[begin]))
        .append(" @@\n");
    for (size_t j = begin; j < end;) {
      if (lines[j].operation == Operation::kEqual) {
        AppendLine(' ', lines[j].text, out);
        ++j;
        continue;
      }
      size_t run_end = ChangeRunEnd(lines, j);
      for (size_t k = j; k < run_end; ++k) {
        if (lines[k].operation == Operation::kDelete) {
          AppendLine('-', lines[k].text, out);
        }
      }
      for (size_t k = j; k < run_end; ++k) {
        if (lines[k].operation == Operation::kInsert) {
          AppendLine('+', lines[k].text, out);
        }
      }
      j = run_end;
    }
    i = end;
  }
  return out;
}

}  // namespace diffsync::cli
