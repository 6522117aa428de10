// The exit status of every diffsync subcommand (documented in `diffsync
// --help` and README.md).
#ifndef DIFFSYNC_TOOLS_EXIT_CODES_H_
#define DIFFSYNC_TOOLS_EXIT_CODES_H_

namespace diffsync::cli {

inline constexpr int kExitOk = 0;
// A negative answer: apply: a hunk did not apply; match: no match.
inline constexpr int kExitNegative = 1;
// Bad usage or input, or a request the server refused.
inline constexpr int kExitBadInput = 2;
// The server could not be reached; nothing was changed (sync: edits kept).
inline constexpr int kExitUnreachable = 3;
// sync: the server refused the token (missing, invalid, expired, or not
// covering the document); nothing was changed, local edits are kept.
inline constexpr int kExitRefused = 4;

}  // namespace diffsync::cli

#endif  // DIFFSYNC_TOOLS_EXIT_CODES_H_
