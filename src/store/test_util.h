// Internal, for the store's tests: a temporary directory per test, and one
// sync cycle between an engine::Server and a client over the real codec.
//
// Thread safety: none needed; a TempDir belongs to one test.
//
// Example:
//   diffsync::test_util::TempDir dir;
//   auto store = SqliteStore::Open(dir.File("store.db"));
//   ASSERT_TRUE(Sync(server, "alice", doc).ok());
#ifndef DIFFSYNC_SRC_STORE_TEST_UTIL_H_
#define DIFFSYNC_SRC_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "diffsync/engine/client.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/status.h"

namespace diffsync::test_util {

// A fresh directory, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "diffsync-store-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  std::string File(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

// One request from `doc` and, if the server answers and `deliver_reply`,
// the reply handled by `doc`. A server error reaches the client as a lost
// reply would: it changes nothing but what MakeRequest did.
inline Status Sync(engine::Server& server, const std::string& client_id,
                   engine::ClientDocument& doc, bool deliver_reply = true,
                   engine::ReplyEffects* effects = nullptr) {
  engine::Message request;
  request.documents.push_back(doc.MakeRequest());
  request.documents.back().client_id = client_id;
  Result<std::string> wire = engine::EncodeMessage(request);
  if (!wire.ok()) return wire.status();
  Result<engine::Message> decoded = engine::DecodeMessage(*wire);
  if (!decoded.ok()) return decoded.status();
  Result<engine::Message> reply = server.Handle(*decoded);
  if (!reply.ok()) return reply.status();
  if (Status s = server.CheckInvariants(); !s.ok()) return s;
  if (!deliver_reply) return Status::Ok();
  Result<std::string> reply_wire = engine::EncodeMessage(*reply);
  if (!reply_wire.ok()) return reply_wire.status();
  Result<engine::Message> reply_decoded = engine::DecodeMessage(*reply_wire);
  if (!reply_decoded.ok()) return reply_decoded.status();
  if (reply_decoded->documents.size() != 1) {
    return Status::Internal("expected one document block in the reply");
  }
  Result<engine::ReplyEffects> fx =
      doc.HandleReply(reply_decoded->documents[0]);
  if (!fx.ok()) return fx.status();
  if (effects != nullptr) *effects = *fx;
  return doc.CheckInvariants();
}

}  // namespace diffsync::test_util

#endif  // DIFFSYNC_SRC_STORE_TEST_UTIL_H_
