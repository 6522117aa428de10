#include "server/form.h"

#include <cctype>

#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include "dmp/utf.h"

namespace diffsync::server {
namespace {

// Offset of the first '%' not followed by two hexadecimal digits, or npos.
size_t FindBadEscape(std::string_view text) {
  auto hex = [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size() || !hex(text[i + 1]) || !hex(text[i + 2])) {
      return i;
    }
  }
  return std::string_view::npos;
}

Result<std::string> Decode(std::string_view text, bool plus_as_space,
                           size_t base) {
  auto pct = boost::urls::make_pct_string_view(text);
  if (!pct) {
    return Status::InvalidArgument("bad percent escape at offset " +
                                   std::to_string(base + FindBadEscape(text)));
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = plus_as_space;
  std::string out = pct->decode(opts);
  if (Status s = dmp::internal::ValidateUtf8(out, "decoded text"); !s.ok()) {
    return s;
  }
  return out;
}

}  // namespace

Result<std::string> FormField(std::string_view form, std::string_view name) {
  size_t pos = 0;
  while (pos <= form.size()) {
    size_t end = form.find('&', pos);
    if (end == std::string_view::npos) end = form.size();
    const std::string_view pair = form.substr(pos, end - pos);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key == name) {
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      Result<std::string> decoded =
          Decode(value, /*plus_as_space=*/true, pos + key.size() + 1);
      if (!decoded.ok()) {
        return decoded.status().WithContext("field " + std::string(name));
      }
      return decoded;
    }
    pos = end + 1;
  }
  return Status::NotFound("no field " + std::string(name));
}

Result<std::string> PercentDecode(std::string_view text) {
  return Decode(text, /*plus_as_space=*/false, 0);
}

std::string JsonpReply(std::string_view reply) {
  std::string out = "mobwrite.callback(\"";
  for (char c : reply) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  out += "\");";
  return out;
}

}  // namespace diffsync::server
