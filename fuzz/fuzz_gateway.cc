// The HTTP gateway's decoding of outside bytes: a form body or query string
// (FormField), a b: buffer's joined pieces (PercentDecode), and the JSON-P
// reply built from any reply text. Decoding returns an error with a message
// or UTF-8; a JSON-P reply is one line of JavaScript whose string literal
// decodes back to the reply.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "server/form.h"

namespace diffsync::server {
namespace {

using fuzz::Check;

// Undoes JsonpReply's escaping; false if the text is not a literal it makes.
bool UnescapeJsonp(std::string_view js, std::string* out) {
  const std::string_view head = "mobwrite.callback(\"";
  const std::string_view tail = "\");";
  if (js.size() < head.size() + tail.size() || js.substr(0, head.size()) != head ||
      js.substr(js.size() - tail.size()) != tail) {
    return false;
  }
  const std::string_view body =
      js.substr(head.size(), js.size() - head.size() - tail.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"' || c == '\n' || c == '\r') return false;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '\\': out->push_back('\\'); break;
      case '"': out->push_back('"'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      default: return false;
    }
  }
  return true;
}

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsView(data, size);
  for (std::string_view name : {"q", "p"}) {
    Result<std::string> field = FormField(input, name);
    if (field.ok()) {
      Check(fuzz::IsValidUtf8(*field), "a decoded field is UTF-8");
    } else {
      Check(!field.status().message().empty(), "an error says what is wrong");
    }
  }
  Result<std::string> decoded = PercentDecode(input);
  if (decoded.ok()) {
    Check(fuzz::IsValidUtf8(*decoded), "a decoded buffer is UTF-8");
    Check(decoded->size() <= input.size(), "decoding never grows the text");
  }
  std::string back;
  Check(UnescapeJsonp(JsonpReply(input), &back) && back == input,
        "the JSON-P literal decodes back to the reply");
  return 0;
}

}  // namespace
}  // namespace diffsync::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::server::TestOneInput(data, size);
}
