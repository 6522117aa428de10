// Internal: the shadow checksum of our `h` extension over a Text, chunk by
// chunk (no copy of the text).
//
// Thread safety: pure function.
//
// Example:
//   edit.checksum = TextChecksum(shadow);
#ifndef DIFFSYNC_SRC_ENGINE_CHECKSUM_H_
#define DIFFSYNC_SRC_ENGINE_CHECKSUM_H_

#include <cstdint>
#include <string_view>

#include "diffsync/engine/protocol.h"
#include "diffsync/engine/text.h"

namespace diffsync::engine::internal {

inline uint32_t TextChecksum(const Text& text) {
  uint32_t crc = 0;
  text.ForEachChunk([&](std::string_view chunk) { crc = Crc32(chunk, crc); });
  return crc;
}

}  // namespace diffsync::engine::internal

#endif  // DIFFSYNC_SRC_ENGINE_CHECKSUM_H_
