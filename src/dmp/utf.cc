#include "dmp/utf.h"

#include <algorithm>
#include <cstring>

namespace diffsync::dmp::internal {
namespace {

constexpr char16_t kReplacement = 0xFFFD;

// True if the 8 bytes at p are all ASCII.
inline bool Ascii8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return (w & 0x8080808080808080ULL) == 0;
}

// Decodes one UTF-8 character starting at text[i] (a non-ASCII lead byte).
// Returns its length and stores the code point, or returns 0 if invalid.
size_t DecodeMultibyte(std::string_view text, size_t i, char32_t* cp) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const unsigned char b0 = s[i];
  size_t len;
  char32_t c;
  unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    c = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // No overlongs.
    if (b0 == 0xED) hi = 0x9F;  // No surrogates.
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    c = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // No overlongs.
    if (b0 == 0xF4) hi = 0x8F;  // Nothing past U+10FFFF.
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  if (s[i + 1] < lo || s[i + 1] > hi) return 0;
  c = (c << 6) | (s[i + 1] & 0x3F);
  for (size_t k = 2; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i + k] & 0x3F);
  }
  *cp = c;
  return len;
}

void AppendCodePoint(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// encodeURI leaves these (besides ASCII letters and digits) unescaped.
constexpr std::string_view kUriUnescaped = ";,/?:@&=+$-_.!~*'()#";
// decodeURI keeps escapes of these as they are.
constexpr std::string_view kUriReserved = ";/?:@&=+$,#";

}  // namespace

size_t FindInvalidUtf8(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs: 32 bytes per step, a loop the compiler vectorises.
    while (i + 32 <= n) {
      uint64_t w[4];
      std::memcpy(w, text.data() + i, 32);
      if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) != 0) break;
      i += 32;
    }
    if (i == n) break;
    if (i + 8 <= n && Ascii8(text.data() + i)) {
      i += 8;
      continue;
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = DecodeMultibyte(text, i, &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

Status ValidateUtf8(std::string_view text, std::string_view what) {
  const size_t bad = FindInvalidUtf8(text);
  if (bad == std::string_view::npos) return Status::Ok();
  return Status::InvalidArgument(std::string(what) +
                                 ": invalid UTF-8 at byte " +
                                 std::to_string(bad));
}

std::u16string ToUtf16(std::string_view utf8) {
  // Never more code units than bytes: write into a sized buffer, then trim.
  std::u16string out(utf8.size(), u'\0');
  char16_t* o = out.data();
  const size_t n = utf8.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && Ascii8(utf8.data() + i)) {
      for (size_t k = 0; k < 8; ++k) o[k] = static_cast<unsigned char>(utf8[i + k]);
      o += 8;
      i += 8;
      continue;
    }
    const auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      *o++ = b;
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = DecodeMultibyte(utf8, i, &cp);
    if (len == 0) {
      *o++ = kReplacement;
      ++i;
    } else if (cp < 0x10000) {
      *o++ = static_cast<char16_t>(cp);
      i += len;
    } else {
      cp -= 0x10000;
      *o++ = static_cast<char16_t>(0xD800 + (cp >> 10));
      *o++ = static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
      i += len;
    }
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

Result<std::u16string> DecodeUtf8(std::string_view utf8, std::string_view what) {
  Status s = ValidateUtf8(utf8, what);
  if (!s.ok()) return s;
  return ToUtf16(utf8);
}

void AppendUtf8(std::u16string_view utf16, std::string& out) {
  const size_t n = utf16.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs are copied without per-character branching on the kind.
    size_t run = i;
    while (run < n && utf16[run] < 0x80) ++run;
    if (run > i) {
      const size_t at = out.size();
      out.resize(at + (run - i));
      char* o = out.data() + at;
      for (size_t k = i; k < run; ++k) *o++ = static_cast<char>(utf16[k]);
      i = run;
      if (i == n) break;
    }
    const char16_t c = utf16[i];
    if (IsHighSurrogate(c) && i + 1 < n && IsLowSurrogate(utf16[i + 1])) {
      AppendCodePoint(
          0x10000 + ((char32_t(c) - 0xD800) << 10) + (utf16[i + 1] - 0xDC00),
          out);
      i += 2;
    } else {
      AppendCodePoint(IsHighSurrogate(c) || IsLowSurrogate(c) ? kReplacement : c,
                      out);
      ++i;
    }
  }
}

std::string ToUtf8(std::u16string_view utf16) {
  std::string out;
  out.reserve(utf16.size());
  AppendUtf8(utf16, out);
  return out;
}

size_t Utf16Length(std::string_view utf8) {
  // Every byte that is not a continuation byte starts one code unit; 4-byte
  // sequences (lead >= 0xF0) take a second one.
  size_t units = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (Ascii8(utf8.data() + i)) {
      units += 8;
      continue;
    }
    for (size_t k = i; k < i + 8; ++k) {
      units += ((s[k] & 0xC0) != 0x80) + (s[k] >= 0xF0);
    }
  }
  for (; i < n; ++i) units += ((s[i] & 0xC0) != 0x80) + (s[i] >= 0xF0);
  return units;
}

size_t Utf8PrefixForUtf16(std::string_view utf8, size_t units,
                          size_t* consumed) {
  const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  size_t i = 0;
  size_t u = 0;
  while (i < n && u < units) {
    if (i + 8 <= n && units - u >= 8 && Ascii8(utf8.data() + i)) {
      i += 8;
      u += 8;
      continue;
    }
    const unsigned char b = s[i];
    size_t len = 1;
    size_t w = 1;
    if (b >= 0xF0) {
      len = 4;
      w = 2;
    } else if (b >= 0xE0) {
      len = 3;
    } else if (b >= 0xC0) {
      len = 2;
    }
    if (u + w > units) break;  // Would split a surrogate pair.
    i = std::min(n, i + len);
    u += w;
  }
  *consumed = u;
  return i;
}

void AppendEncodeUri(std::string_view utf8, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : utf8) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
        (b >= '0' && b <= '9') || b == ' ' ||
        (b < 0x80 && kUriUnescaped.find(ch) != std::string_view::npos)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
}

Result<std::string> DecodeUri(std::string_view text, std::string_view what,
                              size_t base) {
  auto error = [&](size_t at, std::string_view why) {
    return Status::InvalidArgument(std::string(what) + ": " +
                                   std::string(why) + " at offset " +
                                   std::to_string(base + at));
  };
  // Reads the escaped byte "%XX" at text[i], or -1.
  auto escaped_byte = [&](size_t i) -> int {
    if (i + 2 >= text.size() || text[i] != '%') return -1;
    const int hi = HexValue(text[i + 1]);
    const int lo = HexValue(text[i + 2]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
  };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      out.push_back(text[i++]);
      continue;
    }
    const int b0 = escaped_byte(i);
    if (b0 < 0) return error(i, "malformed %-escape");
    if (b0 < 0x80) {
      if (kUriReserved.find(static_cast<char>(b0)) != std::string_view::npos) {
        out.append(text.substr(i, 3));
      } else {
        out.push_back(static_cast<char>(b0));
      }
      i += 3;
      continue;
    }
    size_t len = 0;
    if (b0 >= 0xC0 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF7) {
      len = 4;
    } else {
      return error(i, "%-escape is not the start of a UTF-8 character");
    }
    std::string bytes(1, static_cast<char>(b0));
    for (size_t k = 1; k < len; ++k) {
      const int b = escaped_byte(i + 3 * k);
      if (b < 0 || (b & 0xC0) != 0x80) {
        return error(i, "incomplete UTF-8 character in %-escapes");
      }
      bytes.push_back(static_cast<char>(b));
    }
    char32_t cp;
    if (DecodeMultibyte(bytes, 0, &cp) != len) {
      return error(i, "%-escapes do not form a valid UTF-8 character");
    }
    out += bytes;
    i += 3 * len;
  }
  // Unescaped bytes are copied as they are; they must be UTF-8 too.
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return error(bad, "invalid UTF-8");
  }
  return out;
}

}  // namespace diffsync::dmp::internal
