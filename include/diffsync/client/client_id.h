// NewClientId: a fresh client id. On the server an id names one client's
// state (its view: shadow, versions, edit stack), so every client state gets
// its own, never reused: 80 random bits after a readable prefix.
//
// Thread safety: thread-safe.
//
// Example:
//   std::string id = diffsync::client::NewClientId("cli");  // "cli-3k9v..."
#ifndef DIFFSYNC_CLIENT_CLIENT_ID_H_
#define DIFFSYNC_CLIENT_CLIENT_ID_H_

#include <string>
#include <string_view>

namespace diffsync::client {

std::string NewClientId(std::string_view prefix);

}  // namespace diffsync::client

#endif  // DIFFSYNC_CLIENT_CLIENT_ID_H_
