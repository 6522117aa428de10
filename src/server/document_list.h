// DocumentList: what diffsyncd answers at GET /documents, the names of the
// stored documents a caller may see, for the editor's document list at `/`:
//   {"documents": ["notes", "team/plan"]}
// Who sees what follows access control (server/auth.h): without a secret
// every caller is anonymous and sees every document; with one, a caller
// with a valid token (`Authorization: Bearer T`) sees the documents its
// token covers, and one without a token sees every document only when
// anonymous access is allowed (401 otherwise; 401 for a bad token too).
//
// Thread safety: Answer may be called from any thread if `names` may
// (SqliteStore::ListDocuments is thread-safe).
//
// Example:
//   DocumentList list{.names = [&] { return store.ListDocuments(); },
//                     .secret = config.secret,
//                     .allow_anonymous = config.allow_anonymous};
//   DocumentList::Answer a = list.Respond(BearerToken(header), now_seconds);
//   Send(a.status, a.content_type, a.body);
#ifndef DIFFSYNC_SERVER_DOCUMENT_LIST_H_
#define DIFFSYNC_SERVER_DOCUMENT_LIST_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/status.h"

namespace diffsync::server {

struct DocumentList {
  struct Answer {
    int status = 200;  // HTTP status.
    std::string content_type;
    std::string body;
  };

  // Every stored document's name.
  std::function<Result<std::vector<std::string>>()> names;
  // As AccessOptions: empty, no tokens are checked.
  std::string secret;
  bool allow_anonymous = true;

  // `token`: the caller's, "" for none.
  Answer Respond(std::string_view token, int64_t now_seconds) const;
};

// The token of an `Authorization: Bearer T` header value, "" if it is not
// one.
std::string_view BearerToken(std::string_view authorization);

}  // namespace diffsync::server

#endif  // DIFFSYNC_SERVER_DOCUMENT_LIST_H_
