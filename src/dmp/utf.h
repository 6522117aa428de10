// Internal: UTF-8 / UTF-16 conversion and the encodeURI escaping of DMP's
// wire formats. The dmp core computes on UTF-16 code units (DMP's unit, so
// every count matches DMP's); the public API speaks UTF-8.
//
// Thread safety: pure functions.
//
// Example:
//   Result<std::u16string> u = DecodeUtf8(bytes, "text1");
//   std::string back = ToUtf8(*u);
#ifndef DIFFSYNC_SRC_DMP_UTF_H_
#define DIFFSYNC_SRC_DMP_UTF_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "diffsync/status.h"

namespace diffsync::dmp::internal {

inline bool IsHighSurrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
// A UTF-8 byte that continues a character (10xxxxxx), never one's start.
inline bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}
inline bool IsLowSurrogate(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

// True if position `i` of `s` is not between the two halves of a surrogate
// pair (0 and s.size() always are).
inline bool IsCharBoundary(std::u16string_view s, size_t i) {
  return i == 0 || i >= s.size() || !IsLowSurrogate(s[i]) ||
         !IsHighSurrogate(s[i - 1]);
}

// Checks that `text` is valid UTF-8 (no overlongs, surrogates or values past
// U+10FFFF). The error names `what` and the byte offset of the first bad byte.
Status ValidateUtf8(std::string_view text, std::string_view what);

// Offset of the first byte of `text` that is not valid UTF-8, or npos.
size_t FindInvalidUtf8(std::string_view text);

// Converts UTF-8 to UTF-16; invalid sequences become U+FFFD.
std::u16string ToUtf16(std::string_view utf8);
// Converts after validating; the error names `what` and the offset.
Result<std::u16string> DecodeUtf8(std::string_view utf8, std::string_view what);

// Converts UTF-16 to UTF-8; unpaired surrogates become U+FFFD.
std::string ToUtf8(std::u16string_view utf16);
void AppendUtf8(std::u16string_view utf16, std::string& out);

// Number of UTF-16 code units needed for valid UTF-8 `utf8`.
size_t Utf16Length(std::string_view utf8);

// Byte length of the longest prefix of `utf8` that holds at most `units`
// UTF-16 code units and ends on a character boundary. `*consumed` gets the
// code units it holds (less than `units` if the text is shorter or the next
// character would be split).
size_t Utf8PrefixForUtf16(std::string_view utf8, size_t units,
                          size_t* consumed);

// Appends `utf8` escaped as JavaScript's encodeURI does, then with "%20"
// written as " " (what DMP's toDelta and patch text do).
void AppendEncodeUri(std::string_view utf8, std::string& out);

// Decodes %XX escapes as JavaScript's decodeURI: escapes of the reserved
// characters ;/?:@&=+$,# stay escaped, the result must be valid UTF-8.
// Errors name `what`, the offset `base + i` of the bad escape, and why.
Result<std::string> DecodeUri(std::string_view text, std::string_view what,
                              size_t base = 0);

}  // namespace diffsync::dmp::internal

#endif  // DIFFSYNC_SRC_DMP_UTF_H_
