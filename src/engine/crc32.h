// Internal: CRC-32 arithmetic for the `h` checksum. Crc32 (declared in
// diffsync/engine/protocol.h) is defined with these; Text combines cached
// per-node CRCs with MultModP, as zlib's crc32_combine does.
//
// A CRC register is a polynomial over GF(2) modulo the CRC-32 polynomial,
// held bit-reflected (bit 31 is the coefficient of x^0), and
//   crc(A + B) = MultModP(crc(A), XPow8N(|B|)) ^ crc(B).
//
// Thread safety: pure functions (a function-local table is built on first
// use, thread-safely).
//
// Example:
//   uint32_t ab = MultModP(Crc32(a), XPow8N(b.size())) ^ Crc32(b);
#ifndef DIFFSYNC_SRC_ENGINE_CRC32_H_
#define DIFFSYNC_SRC_ENGINE_CRC32_H_

#include <cstdint>

namespace diffsync::engine::internal {

inline constexpr uint32_t kCrcOne = uint32_t{1} << 31;  // x^0

// a * b modulo the CRC-32 polynomial (zlib's multmodp); carry-less multiply
// instructions where the CPU has them.
uint32_t MultModP(uint32_t a, uint32_t b);

// x^(8 n) modulo the CRC-32 polynomial: the shift of a CRC past n bytes.
uint32_t XPow8N(uint64_t n);

// The CRC and shift of the concatenation of `n` >= 1 parts, each given as
// (XPow8N(|part|) << 32) | crc(part), packed the same way. One call per
// combination, so that the multiplies inline into one loop: a Text's
// checksum after an edit is mostly this.
uint64_t CombineCrcPairs(const uint64_t* pairs, int n);

}  // namespace diffsync::engine::internal

#endif  // DIFFSYNC_SRC_ENGINE_CRC32_H_
