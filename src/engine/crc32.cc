#include "engine/crc32.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "diffsync/engine/protocol.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DIFFSYNC_CRC_CLMUL 1
#endif

namespace diffsync::engine {
namespace {

constexpr uint32_t kPolynomial = 0xEDB88320;  // Reflected IEEE 802.3.

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? kPolynomial ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// The register after `data`, one byte at a time (no pre/post inversion).
uint32_t CrcBytes(uint32_t crc, const unsigned char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    crc = kCrcTable[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  }
  return crc;
}

uint32_t MultModPPortable(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    product ^= b & (0u - (a >> 31));
    a <<= 1;
    b = (b >> 1) ^ (kPolynomial & (0u - (b & 1)));
  }
  return product;
}

// CombineCrcPairs with the multiplication `Mult`; always inlined, so that
// in a caller compiled for the carry-less multiply, so is `Mult`.
template <uint32_t (*Mult)(uint32_t, uint32_t)>
__attribute__((always_inline)) inline uint64_t CombineWith(
    const uint64_t* pairs, int n) {
  auto crc = static_cast<uint32_t>(pairs[0]);
  auto shift = static_cast<uint32_t>(pairs[0] >> 32);
  for (int i = 1; i < n; ++i) {
    const auto part_shift = static_cast<uint32_t>(pairs[i] >> 32);
    crc = Mult(crc, part_shift) ^ static_cast<uint32_t>(pairs[i]);
    shift = Mult(shift, part_shift);
  }
  return (uint64_t{shift} << 32) | crc;
}

#ifdef DIFFSYNC_CRC_CLMUL

bool HasClmul() {
  static const bool has =
      __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return has;
}

__m128i Load(const unsigned char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// x * k (the 64-bit halves apart) + next: one folding step.
__attribute__((target("pclmul"))) inline __m128i Fold(__m128i x, __m128i k,
                                                      __m128i next) {
  const __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
  const __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

// The register after `size` bytes (a multiple of 16, at least 64), folding
// 64 bytes per step with carry-less multiplies, then Barrett reduction:
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
// Instruction" (Gopal, Ozturk et al., Intel, 2009), with the bit-reflected
// constants of its appendix for the IEEE polynomial.
__attribute__((target("pclmul,sse4.1"))) uint32_t CrcFold(
    uint32_t crc, const unsigned char* buf, size_t size) {
  const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
  const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
  const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
  const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i x1 =
      _mm_xor_si128(Load(buf), _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x2 = Load(buf + 16);
  __m128i x3 = Load(buf + 32);
  __m128i x4 = Load(buf + 48);
  buf += 64;
  size -= 64;
  while (size >= 64) {
    x1 = Fold(x1, k1k2, Load(buf));
    x2 = Fold(x2, k1k2, Load(buf + 16));
    x3 = Fold(x3, k1k2, Load(buf + 32));
    x4 = Fold(x4, k1k2, Load(buf + 48));
    buf += 64;
    size -= 64;
  }
  x1 = Fold(x1, k3k4, x2);
  x1 = Fold(x1, k3k4, x3);
  x1 = Fold(x1, k3k4, x4);
  while (size >= 16) {
    x1 = Fold(x1, k3k4, Load(buf));
    buf += 16;
    size -= 16;
  }
  // 128 bits to 64, then to 32 by Barrett reduction.
  __m128i x2r = _mm_clmulepi64_si128(x1, k3k4, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2r);
  x2r = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, mask32);
  x1 = _mm_clmulepi64_si128(x1, k5k0, 0x00);
  x1 = _mm_xor_si128(x1, x2r);
  x2r = _mm_and_si128(x1, mask32);
  x2r = _mm_clmulepi64_si128(x2r, poly, 0x10);
  x2r = _mm_and_si128(x2r, mask32);
  x2r = _mm_clmulepi64_si128(x2r, poly, 0x00);
  x1 = _mm_xor_si128(x1, x2r);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

// The carry-less product of two reflected registers is their product
// reflected in 63 bits; shifted to 64, its high half holds x^0..x^31 and
// its low half x^32..x^63, which four table steps (each a multiplication
// by x^8 modulo the polynomial) bring down.
__attribute__((target("pclmul"))) inline uint32_t MultModPClmul(uint32_t a,
                                                                uint32_t b) {
  const __m128i product =
      _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(a)),
                           _mm_cvtsi32_si128(static_cast<int>(b)), 0x00);
  const uint64_t v = static_cast<uint64_t>(_mm_cvtsi128_si64(product)) << 1;
  uint32_t low = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) low = kCrcTable[low & 0xFF] ^ (low >> 8);
  return static_cast<uint32_t>(v >> 32) ^ low;
}

__attribute__((target("pclmul"))) uint64_t CombineCrcPairsClmul(
    const uint64_t* pairs, int n) {
  return CombineWith<MultModPClmul>(pairs, n);
}

#endif  // DIFFSYNC_CRC_CLMUL

}  // namespace

uint32_t Crc32(std::string_view data, uint32_t previous) {
  uint32_t crc = ~previous;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = data.size();
#ifdef DIFFSYNC_CRC_CLMUL
  if (size >= 64 && HasClmul()) {
    const size_t folded = size & ~size_t{15};
    crc = CrcFold(crc, bytes, folded);
    bytes += folded;
    size -= folded;
  }
#endif
  return ~CrcBytes(crc, bytes, size);
}

namespace internal {

uint32_t MultModP(uint32_t a, uint32_t b) {
#ifdef DIFFSYNC_CRC_CLMUL
  if (HasClmul()) return MultModPClmul(a, b);
#endif
  return MultModPPortable(a, b);
}

uint64_t CombineCrcPairs(const uint64_t* pairs, int n) {
#ifdef DIFFSYNC_CRC_CLMUL
  if (HasClmul()) return CombineCrcPairsClmul(pairs, n);
#endif
  return CombineWith<MultModPPortable>(pairs, n);
}

uint32_t XPow8N(uint64_t n) {
  // x^(8 * 2^k) for each bit k of n.
  static const auto* powers = [] {
    auto* table = new std::array<uint32_t, 64>();
    uint32_t p = kCrcOne >> 8;  // x^8
    for (uint32_t& entry : *table) {
      entry = p;
      p = MultModPPortable(p, p);
    }
    return table;
  }();
  uint32_t result = kCrcOne;
  for (int k = 0; n != 0; ++k, n >>= 1) {
    if (n & 1) result = MultModP(result, (*powers)[k]);
  }
  return result;
}

}  // namespace internal
}  // namespace diffsync::engine
