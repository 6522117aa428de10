// WireSession on arbitrary bytes: the input is a sequence of messages (cut
// at 0xFF bytes). Each is read by the server end of a connection already in
// the compact form: it returns an error saying what is wrong, or a message.
// Each message that reads in the normal form is also written by one end of a
// second compact connection and read by the other, which must give back the
// same message (deltas up to their trailing retain, which the compact form
// leaves to the receiver's shadow).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "diffsync/engine/change_set.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/wire_session.h"
#include "engine/wire_context.h"
#include "fuzz_util.h"

namespace diffsync::engine {
namespace {

using fuzz::Check;

// Two ends of a connection that agreed on the compact form.
void Agree(WireSession& client, WireSession& server) {
  Message hello;
  hello.documents.emplace_back();
  hello.documents[0].client_id = "c";
  hello.documents[0].document = "d";
  Check(server.Decode(*client.Encode(hello)).ok(), "the offer reads");
  Message reply;
  reply.documents.emplace_back();
  reply.documents[0].document = "d";
  Check(client.Decode(*server.Encode(reply)).ok(), "the answer reads");
  Check(client.compact() && server.compact(), "both agreed");
}

// The change a delta makes to a long enough text, whatever its end. The
// trailing retain goes first: the compact form leaves it to the receiver
// whatever its count, also one no text of 2^40 units could have.
std::string Open(std::string_view delta) {
  Result<ChangeSet> c = ChangeSet::FromOpenDelta(
      internal::StripTrailingRetain(delta), int64_t{1} << 40);
  return c.ok() ? c->ToDelta() : "error: " + c.status().message();
}

int TestOneInput(const uint8_t* data, size_t size) {
  WireSession reader_client(WireSession::Role::kClient);
  WireSession reader(WireSession::Role::kServer);
  Agree(reader_client, reader);
  WireSession writer(WireSession::Role::kServer);
  WireSession mirror(WireSession::Role::kClient);
  Agree(mirror, writer);

  std::string_view rest = fuzz::AsView(data, size);
  while (!rest.empty()) {
    const size_t cut = rest.find('\xFF');
    const std::string_view wire = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view()
                                         : rest.substr(cut + 1);
    Result<Message> read = reader.Decode(wire);
    if (!read.ok()) {
      Check(!read.status().message().empty(), "an error says what is wrong");
    }
    Result<Message> normal = DecodeMessage(wire);
    if (!normal.ok()) continue;
    Result<std::string> compact = writer.Encode(*normal);
    Check(compact.ok(), "the session writes what DecodeMessage returned");
    Result<Message> back = mirror.Decode(*compact);
    Check(back.ok(), "the other end reads what the session wrote");
    Check(back->token == normal->token && back->errors == normal->errors &&
              back->fragments == normal->fragments &&
              back->documents.size() == normal->documents.size(),
          "the message's parts come back");
    for (size_t i = 0; i < normal->documents.size(); ++i) {
      DocumentBlock a = normal->documents[i];
      DocumentBlock b = back->documents[i];
      // The sessions' own agreement lines are not given back.
      std::erase_if(a.metadata,
                    [](const Metadata& m) { return m.key == "compact"; });
      Check(a.edits.size() == b.edits.size(), "every edit comes back");
      for (size_t k = 0; k < a.edits.size(); ++k) {
        Edit& x = a.edits[k];
        Edit& y = b.edits[k];
        if (x.kind == Edit::Kind::kDelta) {
          Check(y.open_end && Open(x.data) == Open(y.data),
                "a delta comes back up to its trailing retain");
          x.data = y.data;
          y.open_end = false;
        }
      }
      Check(a == b, "the block comes back");
    }
  }
  return 0;
}

}  // namespace
}  // namespace diffsync::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::engine::TestOneInput(data, size);
}
