// Presence fed arbitrary protocol messages (cut at 0xFF bytes), as
// SyncService feeds it: each is handled by an engine::Server over a
// MemoryStore, then Presence reads its m:cursor values (any text) and adds
// peer cursors to the reply, to pushes and to presence messages; sessions
// come and go, time passes past the pollers' expiry.
//
// Every reply, push and presence message encodes; every m:peer-cursor value
// is ANCHOR:HEAD:ID with both positions inside the document's current text
// (in UTF-16 units) and ID another client present in it.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "fuzz_util.h"
#include "server/presence.h"
#include "server/sync_service.h"

namespace diffsync::server {
namespace {

using fuzz::Check;

class NullSession final : public Session {
 public:
  void Push(std::string) override {}
};

bool ParsePosition(std::string_view digits, int64_t* n) {
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), *n);
  return ec == std::errc() && end == digits.data() + digits.size() && *n >= 0;
}

class Run {
 public:
  void Message(std::string_view wire, uint8_t how) {
    Result<engine::Message> request = engine::DecodeMessage(wire);
    if (!request.ok()) return;
    const Session* session = how % 3 == 0 ? nullptr : &sessions_[how % 3 - 1];
    Result<engine::Message> reply = server_.Handle(*request);
    if (!reply.ok()) return;
    std::vector<std::string> changed =
        presence_.OnReply(*request, *reply, session);
    CheckMessage(*reply, "");
    for (const std::string& document : changed) {
      for (const std::string& client : server_.ClientsOf(document)) {
        if (auto m = presence_.PresenceMessage(client, document)) {
          CheckMessage(*m, client);
        }
        Result<engine::Message> push = server_.Push(client, document);
        if (push.ok() && !push->documents.empty()) {
          presence_.AnnotatePush(client, push->documents[0]);
          CheckMessage(*push, client);
        }
      }
    }
    if (how & 0x10) clock_.Advance(std::chrono::seconds(how >> 5 << 3));
    if (how & 0x08) presence_.Leave(&sessions_[how & 1]);
  }

 private:
  // `recipient`: the client a push or presence message is for (empty for a
  // reply, whose blocks may be for several).
  void CheckMessage(const engine::Message& m, std::string_view recipient) {
    Check(engine::EncodeMessage(m).ok(), "every message with presence encodes");
    for (const engine::DocumentBlock& block : m.documents) {
      std::optional<engine::Text> text = server_.DocumentText(block.document);
      for (const engine::Metadata& meta : block.metadata) {
        if (meta.key != "peer-cursor") continue;
        Check(text.has_value(), "peer cursors only in existing documents");
        const std::string_view v = meta.value;
        const size_t first = v.find(':');
        const size_t second = first == v.npos ? v.npos : v.find(':', first + 1);
        Check(second != v.npos, "a peer cursor is ANCHOR:HEAD:ID");
        int64_t anchor = 0, head = 0;
        Check(ParsePosition(v.substr(0, first), &anchor) &&
                  ParsePosition(v.substr(first + 1, second - first - 1), &head),
              "a peer cursor's positions are numbers");
        Check(anchor <= text->size16() && head <= text->size16(),
              "a peer cursor is inside the document");
        Check(recipient.empty() || v.substr(second + 1) != recipient,
              "nobody is told their own cursor");
      }
    }
  }

  engine::MemoryStore store_;
  engine::ManualClock clock_{1'000'000};
  engine::Server server_{store_, clock_};
  Presence presence_{server_, clock_};
  NullSession sessions_[2];
};

int TestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::AsView(data, size);
  Run run;
  // Each message is preceded by one byte: its session and what happens
  // after it.
  while (!input.empty()) {
    const uint8_t how = static_cast<uint8_t>(input[0]);
    input.remove_prefix(1);
    const size_t cut = input.find('\xff');
    run.Message(input.substr(0, cut), how);
    if (cut == std::string_view::npos) break;
    input.remove_prefix(cut + 1);
  }
  return 0;
}

}  // namespace
}  // namespace diffsync::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::server::TestOneInput(data, size);
}
