#include "engine/trace.h"

#include <zlib.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "dmp/utf.h"

namespace diffsync::engine {
namespace {

namespace json = boost::json;

size_t CodePoints(std::string_view utf8) {
  size_t n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Characters outside the BMP are the only ones that count differently in
// code points and UTF-16 units; their UTF-8 lead bytes are 0xF0 and up.
bool HasNonBmp(std::string_view utf8) {
  for (const char c : utf8) {
    if (static_cast<unsigned char>(c) >= 0xF0) return true;
  }
  return false;
}

// The UTF-16 index `count` code points after index `from` of `text`.
size_t AdvanceCodePoints(std::u16string_view text, size_t from, size_t count) {
  size_t i = from;
  for (; count > 0 && i < text.size(); --count) {
    i += dmp::internal::IsHighSurrogate(text[i]) && i + 1 < text.size() &&
                 dmp::internal::IsLowSurrogate(text[i + 1])
             ? 2
             : 1;
  }
  return i;
}

// Converts code-point positions to UTF-16 by replaying the edits.
void ConvertToUtf16(Trace& trace) {
  std::u16string doc = dmp::internal::ToUtf16(trace.start_content);
  for (TraceEdit& e : trace.edits) {
    const size_t begin =
        AdvanceCodePoints(doc, 0, static_cast<size_t>(e.pos16));
    const size_t end =
        AdvanceCodePoints(doc, begin, static_cast<size_t>(e.del16));
    doc.replace(begin, end - begin, dmp::internal::ToUtf16(e.insert));
    e.pos16 = static_cast<int64_t>(begin);
    e.del16 = static_cast<int64_t>(end - begin);
  }
}

Result<std::string> StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return Status::InvalidArgument("trace: \"" + std::string(key) +
                                   "\" is missing or not a string");
  }
  const json::string& s = v->get_string();
  std::string out(s.data(), s.size());
  Status valid = dmp::internal::ValidateUtf8(out, key);
  if (!valid.ok()) return valid.WithContext("trace");
  return out;
}

std::optional<int64_t> NonNegativeInt(const json::value& v) {
  if (const int64_t* i = v.if_int64(); i != nullptr && *i >= 0) return *i;
  if (const uint64_t* u = v.if_uint64();
      u != nullptr && *u <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

}  // namespace

Result<Trace> ParseTrace(std::string_view text) {
  boost::system::error_code ec;
  const json::value root =
      json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    return Status::InvalidArgument("trace: malformed JSON: " + ec.message());
  }
  const json::object* obj = root.if_object();
  if (obj == nullptr) {
    return Status::InvalidArgument("trace: the top level is not an object");
  }
  Trace trace;
  Result<std::string> start = StringField(*obj, "startContent");
  if (!start.ok()) return start.status();
  Result<std::string> end = StringField(*obj, "endContent");
  if (!end.ok()) return end.status();
  trace.start_content = std::move(*start);
  trace.end_content = std::move(*end);
  const json::value* txns = obj->if_contains("txns");
  if (txns == nullptr || !txns->is_array()) {
    return Status::InvalidArgument(
        "trace: \"txns\" is missing or not an array");
  }

  bool non_bmp = HasNonBmp(trace.start_content);
  // The text's length in code points as the edits apply, to check each.
  size_t length = CodePoints(trace.start_content);
  trace.txn_ends.reserve(txns->get_array().size());
  for (size_t t = 0; t < txns->get_array().size(); ++t) {
    const std::string where = "trace: txns[" + std::to_string(t) + "]";
    const json::value& txn = txns->get_array()[t];
    const json::value* patches =
        txn.is_object() ? txn.get_object().if_contains("patches") : nullptr;
    if (patches == nullptr || !patches->is_array()) {
      return Status::InvalidArgument(where + ": no \"patches\" array");
    }
    for (size_t p = 0; p < patches->get_array().size(); ++p) {
      const std::string patch_where =
          where + ".patches[" + std::to_string(p) + "]";
      const json::array* patch = patches->get_array()[p].if_array();
      if (patch == nullptr || patch->size() != 3 || !(*patch)[2].is_string()) {
        return Status::InvalidArgument(
            patch_where + ": not [position, deleted, \"inserted\"]");
      }
      const std::optional<int64_t> pos = NonNegativeInt((*patch)[0]);
      const std::optional<int64_t> del = NonNegativeInt((*patch)[1]);
      if (!pos || !del) {
        return Status::InvalidArgument(
            patch_where + ": position and count must be non-negative integers");
      }
      if (static_cast<uint64_t>(*pos) > length ||
          static_cast<uint64_t>(*del) > length - static_cast<uint64_t>(*pos)) {
        return Status::OutOfRange(patch_where + ": " + std::to_string(*pos) +
                                  "+" + std::to_string(*del) +
                                  " is past the text's " +
                                  std::to_string(length) + " characters");
      }
      const json::string& ins = (*patch)[2].get_string();
      TraceEdit edit{*pos, *del, std::string(ins.data(), ins.size())};
      Status valid = dmp::internal::ValidateUtf8(edit.insert, "inserted text");
      if (!valid.ok()) return valid.WithContext(patch_where);
      non_bmp = non_bmp || HasNonBmp(edit.insert);
      length = length - static_cast<size_t>(*del) + CodePoints(edit.insert);
      trace.edits.push_back(std::move(edit));
    }
    trace.txn_ends.push_back(trace.edits.size());
  }
  if (length != CodePoints(trace.end_content)) {
    return Status::InvalidArgument(
        "trace: the patches leave " + std::to_string(length) +
        " characters but endContent has " +
        std::to_string(CodePoints(trace.end_content)));
  }
  if (non_bmp) ConvertToUtf16(trace);
  return trace;
}

Result<Trace> LoadTrace(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::IoError("cannot open trace " + path + ": " +
                           std::strerror(errno));
  }
  std::string json;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) json.append(buffer, n);
  if (n < 0) {
    int code = 0;
    const std::string why = gzerror(file, &code);
    gzclose(file);
    return Status::IoError("cannot read trace " + path + ": " + why);
  }
  gzclose(file);
  Result<Trace> trace = ParseTrace(json);
  if (!trace.ok()) return trace.status().WithContext(path);
  return trace;
}

}  // namespace diffsync::engine
