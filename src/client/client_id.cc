#include "diffsync/client/client_id.h"

#include <cstdint>
#include <random>

namespace diffsync::client {

std::string NewClientId(std::string_view prefix) {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string id(prefix);
  id += '-';
  for (int i = 0; i < 16; ++i) id += kDigits[rng() % 32];
  return id;
}

}  // namespace diffsync::client
