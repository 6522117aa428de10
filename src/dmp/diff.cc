// The public diff API: UTF-8 in and out around the UTF-16 core, and the
// functions that need no conversion (merge, delta, counts) run on UTF-8
// directly.

#include "diffsync/dmp/diff.h"

#include "dmp/diff_core.h"
#include "dmp/utf.h"

namespace diffsync::dmp {
Result<Diffs> DiffMain(std::string_view text1, std::string_view text2,
                       const Settings& settings, bool check_lines) {
  return DiffMain(text1, text2, internal::DeadlineAfter(settings.diff_timeout),
                  check_lines);
}

Result<Diffs> DiffMain(std::string_view text1, std::string_view text2,
                       std::chrono::steady_clock::time_point deadline,
                       bool check_lines) {
  Result<DiffViews> views = DiffMainViews(text1, text2, deadline, check_lines);
  if (!views.ok()) return views.status();
  return ToDiffs(*views);
}

Result<DiffViews> DiffMainViews(std::string_view text1, std::string_view text2,
                                const Settings& settings, bool check_lines) {
  return DiffMainViews(text1, text2,
                       internal::DeadlineAfter(settings.diff_timeout),
                       check_lines);
}

Result<DiffViews> DiffMainViews(std::string_view text1, std::string_view text2,
                                std::chrono::steady_clock::time_point deadline,
                                bool check_lines) {
  // Trim the common prefix and suffix on the UTF-8 bytes (only the middle is
  // converted). They are the same bytes in both texts, so they are checked
  // once, and in the same pass as the comparison when they are ASCII.
  bool prefix_ascii = false, suffix_ascii = false;
  const size_t prefix = internal::CommonPrefix(text1, text2, &prefix_ascii);
  const size_t suffix = internal::CommonSuffix(
      text1.substr(prefix), text2.substr(prefix), &suffix_ascii);
  const std::string_view middle1 =
      text1.substr(prefix, text1.size() - prefix - suffix);
  const std::string_view middle2 =
      text2.substr(prefix, text2.size() - prefix - suffix);
  if ((!prefix_ascii && internal::FindInvalidUtf8(text1.substr(0, prefix)) !=
                            std::string::npos) ||
      internal::FindInvalidUtf8(middle1) != std::string::npos ||
      (!suffix_ascii && internal::FindInvalidUtf8(text1.substr(
                            text1.size() - suffix)) != std::string::npos)) {
    return internal::ValidateUtf8(text1, "text1");
  }
  if (internal::FindInvalidUtf8(middle2) != std::string::npos) {
    return internal::ValidateUtf8(text2, "text2");
  }
  if (text1.size() == text2.size() && prefix == text1.size()) {
    if (text1.empty()) return DiffViews{};
    return DiffViews{{Operation::kEqual, text1}};
  }
  const internal::Diffs16 middle =
      internal::DiffCompute(internal::ToUtf16(middle1),
                            internal::ToUtf16(middle2), check_lines, deadline);

  // DMP merges the whole diff, prefix and suffix included. The merge reads
  // an equality whole only to ask whether an edit ends or starts with it,
  // which no edit longer than the middle can; so it runs on the last and
  // first `window` bytes of the prefix and suffix, and the result is mapped
  // back onto the texts.
  const size_t window = std::max(middle1.size(), middle2.size()) + 1;
  size_t head = prefix - std::min(prefix, window);
  while (head > 0 && internal::IsContinuationByte(text1[head])) --head;
  size_t tail = text1.size() - suffix + std::min(suffix, window);
  while (tail < text1.size() && internal::IsContinuationByte(text1[tail]))
    ++tail;
  Diffs diffs;
  diffs.reserve(middle.size() + 2);
  if (prefix > head) {
    diffs.push_back(
        {Operation::kEqual, std::string(text1.substr(head, prefix - head))});
  }
  for (const auto& d : middle) {
    diffs.push_back({d.operation, internal::ToUtf8(d.text)});
  }
  const size_t suffix_start = text1.size() - suffix;
  if (tail > suffix_start) {
    diffs.push_back(
        {Operation::kEqual,
         std::string(text1.substr(suffix_start, tail - suffix_start))});
  }
  internal::CleanupMerge(diffs);

  DiffViews views;
  views.reserve(diffs.size());
  size_t at1 = head, at2 = head;
  for (const Diff& d : diffs) {
    const size_t n = d.text.size();
    if (d.operation == Operation::kInsert) {
      views.push_back({d.operation, text2.substr(at2, n)});
      at2 += n;
    } else {
      views.push_back({d.operation, text1.substr(at1, n)});
      at1 += n;
      if (d.operation == Operation::kEqual) at2 += n;
    }
  }
  // The prefix before the window and the suffix after it join the
  // equalities that the merge keeps first and last.
  if (head > 0) {
    views.front().text = text1.substr(0, head + views.front().text.size());
  }
  if (tail < text1.size()) {
    const std::string_view last = views.back().text;
    views.back().text =
        text1.substr(static_cast<size_t>(last.data() - text1.data()));
  }
  return views;
}

Diffs ToDiffs(const DiffViews& views) {
  Diffs diffs;
  diffs.reserve(views.size());
  for (const DiffView& v : views) {
    diffs.push_back({v.operation, std::string(v.text)});
  }
  return diffs;
}

int64_t CommonPrefix(std::string_view text1, std::string_view text2) {
  return Utf16Length(text1.substr(0, internal::CommonPrefix(text1, text2)));
}

int64_t CommonSuffix(std::string_view text1, std::string_view text2) {
  const size_t n = internal::CommonSuffix(text1, text2);
  return Utf16Length(text1.substr(text1.size() - n));
}

int64_t CommonOverlap(std::string_view text1, std::string_view text2) {
  return static_cast<int64_t>(internal::CommonOverlap(
      internal::ToUtf16(text1), internal::ToUtf16(text2)));
}

std::optional<HalfMatch> FindHalfMatch(std::string_view text1,
                                       std::string_view text2,
                                       const Settings& settings) {
  // Without a deadline DMP never risks the non-minimal half-match.
  if (!(settings.diff_timeout > 0)) return std::nullopt;
  auto hm =
      internal::HalfMatch(internal::ToUtf16(text1), internal::ToUtf16(text2));
  if (!hm) return std::nullopt;
  return HalfMatch{internal::ToUtf8((*hm)[0]), internal::ToUtf8((*hm)[1]),
                   internal::ToUtf8((*hm)[2]), internal::ToUtf8((*hm)[3]),
                   internal::ToUtf8((*hm)[4])};
}

void CleanupMerge(Diffs& diffs) { internal::CleanupMerge(diffs); }

void CleanupSemantic(Diffs& diffs) {
  internal::Diffs16 d = internal::ToDiffs16(diffs);
  internal::CleanupSemantic(d);
  diffs = internal::ToDiffs(d);
}

void CleanupSemanticLossless(Diffs& diffs) {
  internal::Diffs16 d = internal::ToDiffs16(diffs);
  internal::CleanupSemanticLossless(d);
  diffs = internal::ToDiffs(d);
}

void CleanupEfficiency(Diffs& diffs, const Settings& settings) {
  internal::Diffs16 d = internal::ToDiffs16(diffs);
  internal::CleanupEfficiency(d, settings.diff_edit_cost);
  diffs = internal::ToDiffs(d);
}

int64_t XIndex(const Diffs& diffs, int64_t loc) {
  return internal::XIndexOf(diffs, loc);
}

std::string Text1(const Diffs& diffs) {
  return internal::TextOf(diffs, Operation::kInsert);
}

std::string Text2(const Diffs& diffs) {
  return internal::TextOf(diffs, Operation::kDelete);
}

int64_t Levenshtein(const Diffs& diffs) {
  return internal::LevenshteinOf(diffs);
}

std::string PrettyHtml(const Diffs& diffs) {
  std::string html;
  for (const auto& d : diffs) {
    switch (d.operation) {
      case Operation::kInsert:
        html += "<ins style=\"background:#e6ffe6;\">";
        break;
      case Operation::kDelete:
        html += "<del style=\"background:#ffe6e6;\">";
        break;
      case Operation::kEqual:
        html += "<span>";
        break;
    }
    for (const char c : d.text) {
      switch (c) {
        case '&':
          html += "&amp;";
          break;
        case '<':
          html += "&lt;";
          break;
        case '>':
          html += "&gt;";
          break;
        case '\n':
          html += "&para;<br>";
          break;
        default:
          html += c;
      }
    }
    switch (d.operation) {
      case Operation::kInsert:
        html += "</ins>";
        break;
      case Operation::kDelete:
        html += "</del>";
        break;
      case Operation::kEqual:
        html += "</span>";
        break;
    }
  }
  return html;
}

std::string ToDelta(const Diffs& diffs) {
  std::string delta;
  for (size_t i = 0; i < diffs.size(); ++i) {
    if (i > 0) delta += '\t';
    const Diff& d = diffs[i];
    switch (d.operation) {
      case Operation::kInsert:
        delta += '+';
        internal::AppendEncodeUri(d.text, delta);
        break;
      case Operation::kDelete:
        delta += '-';
        delta += std::to_string(Utf16Length(d.text));
        break;
      case Operation::kEqual:
        delta += '=';
        delta += std::to_string(Utf16Length(d.text));
        break;
    }
  }
  return delta;
}

Result<Diffs> FromDelta(std::string_view text1, std::string_view delta) {
  if (Status s = internal::ValidateUtf8(text1, "text1"); !s.ok()) return s;
  Diffs diffs;
  std::string_view rest = text1;  // Not yet covered by the delta.
  Status status = internal::ForEachDeltaToken(
      delta, [&](internal::DeltaToken& token) -> Status {
        if (token.op == '+') {
          diffs.push_back({Operation::kInsert, std::string(token.text)});
          return Status::Ok();
        }
        size_t units = 0;
        const size_t bytes = internal::Utf8PrefixForUtf16(
            rest, static_cast<size_t>(token.count), &units);
        if (static_cast<int64_t>(units) != token.count) {
          const std::string why = bytes < rest.size()
                                      ? "count " + std::to_string(token.count) +
                                            " splits a character of text1"
                                      : "counts exceed the length of text1 (" +
                                            std::to_string(Utf16Length(text1)) +
                                            " UTF-16 units)";
          return Status::InvalidArgument("delta: " + why + " at offset " +
                                         std::to_string(token.offset));
        }
        diffs.push_back(
            {token.op == '=' ? Operation::kEqual : Operation::kDelete,
             std::string(rest.substr(0, bytes))});
        rest.remove_prefix(bytes);
        return Status::Ok();
      });
  if (!status.ok()) return status;
  if (!rest.empty()) {
    return Status::InvalidArgument(
        "delta: covers " +
        std::to_string(Utf16Length(text1) - Utf16Length(rest)) + " of the " +
        std::to_string(Utf16Length(text1)) + " UTF-16 units of text1");
  }
  return diffs;
}

int64_t Utf16Length(std::string_view utf8) {
  return static_cast<int64_t>(internal::Utf16Length(utf8));
}

}  // namespace diffsync::dmp
