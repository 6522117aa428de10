// DecodeMessage on arbitrary bytes: it returns an error with a message, or a
// message that EncodeMessage accepts, that decodes back to itself, and whose
// encoding is a fixed point (the canonical form).
#include <cstddef>
#include <cstdint>
#include <string>

#include "diffsync/engine/protocol.h"
#include "fuzz_util.h"

namespace diffsync::engine {
namespace {

using fuzz::Check;

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string_view wire = fuzz::AsView(data, size);
  // The checksum continues across any cut.
  const size_t cut = size / 2;
  Check(Crc32(wire.substr(cut), Crc32(wire.substr(0, cut))) == Crc32(wire),
        "Crc32(b, Crc32(a)) == Crc32(a + b)");

  Result<Message> message = DecodeMessage(wire);
  if (!message.ok()) {
    Check(!message.status().message().empty(), "an error says what is wrong");
    Check(message.status().code() == StatusCode::kInvalidArgument ||
              message.status().code() == StatusCode::kOutOfRange,
          "decode errors are kInvalidArgument or kOutOfRange (truncated)");
    return 0;
  }
  for (const DocumentBlock& block : message->documents) {
    Check(!block.document.empty(), "document names are never empty");
    Check(fuzz::IsValidUtf8(block.document), "document names are UTF-8");
    Check(!block.nullify || block.edits.empty(), "nullify blocks hold no edit");
    for (const Edit& edit : block.edits) {
      Check(fuzz::IsValidUtf8(edit.data), "edit data is UTF-8");
      Check(edit.version >= 0 && edit.version <= kMaxWireInteger,
            "versions are in range");
    }
  }

  Result<std::string> canonical = EncodeMessage(*message);
  Check(canonical.ok(), "EncodeMessage accepts what DecodeMessage returned");
  Result<Message> again = DecodeMessage(*canonical);
  Check(again.ok(), "DecodeMessage accepts what EncodeMessage wrote");
  Check(*again == *message, "DecodeMessage(EncodeMessage(m)) == m");
  Result<std::string> twice = EncodeMessage(*again);
  Check(twice.ok() && *twice == *canonical,
        "the canonical form is a fixed point");
  return 0;
}

}  // namespace
}  // namespace diffsync::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::engine::TestOneInput(data, size);
}
