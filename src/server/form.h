// Decoding of what MobWrite's browser client sends over HTTP: a form body
// or query string (`q=` for POST, `p=` for JSON-P GET), the percent-encoded
// pieces of `b:` buffers, and the JSON-P reply it evaluates.
//
// Thread safety: pure functions.
//
// Example:
//   Result<std::string> q = FormField("q=u%3Aalice%0A%0A", "q");  // "u:alice\n\n"
//   std::string js = JsonpReply("F:1:doc\n");  // mobwrite.callback("F:1:doc\n");
#ifndef DIFFSYNC_SERVER_FORM_H_
#define DIFFSYNC_SERVER_FORM_H_

#include <string>
#include <string_view>

#include "diffsync/status.h"

namespace diffsync::server {

// The decoded value of the first field `name` of an
// application/x-www-form-urlencoded text ('+' is a space). kNotFound if
// there is none; kInvalidArgument, naming the offset, for a bad escape or a
// value that is not UTF-8.
Result<std::string> FormField(std::string_view form, std::string_view name);

// Decodes every %XX escape (as decodeURIComponent; '+' stays '+'). The
// result must be UTF-8.
Result<std::string> PercentDecode(std::string_view text);

// `mobwrite.callback("…");` with the reply escaped as a JavaScript string.
std::string JsonpReply(std::string_view reply);

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_FORM_H_
