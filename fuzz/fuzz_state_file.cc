// ParseStateFile on arbitrary bytes: it returns an error with a message, or
// a state that FormatStateFile writes back to the same state. That state's
// client is then either refused by ClientDocument::Restore with a message,
// or restored into a client that keeps its invariants, saves to a fixed
// point, and makes a request the wire codec accepts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "diffsync/client/state_file.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/protocol.h"
#include "fuzz_util.h"

namespace diffsync::client {
namespace {

using fuzz::Check;

int TestOneInput(const uint8_t* data, size_t size) {
  Result<SyncState> state = ParseStateFile(fuzz::AsView(data, size));
  if (!state.ok()) {
    Check(!state.status().message().empty(), "an error says what is wrong");
    Check(state.status().code() == StatusCode::kCorruption ||
              state.status().code() == StatusCode::kFailedPrecondition,
          "parse errors are kCorruption or kFailedPrecondition (version)");
    return 0;
  }
  Result<std::string> text = FormatStateFile(*state);
  Check(text.ok(), "FormatStateFile accepts what ParseStateFile returned");
  Result<SyncState> again = ParseStateFile(*text);
  Check(again.ok() && *again == *state,
        "ParseStateFile(FormatStateFile(s)) == s");

  Result<engine::ClientDocument> doc =
      engine::ClientDocument::Restore(state->client);
  if (!doc.ok()) {
    Check(!doc.status().message().empty(), "a refusal says what is wrong");
    Check(doc.status().code() == StatusCode::kInvalidArgument,
          "Restore refuses with kInvalidArgument");
    return 0;
  }
  Check(doc->CheckInvariants().ok(), "a restored client keeps its invariants");
  const engine::ClientState saved = doc->SaveState();
  Result<engine::ClientDocument> twice = engine::ClientDocument::Restore(saved);
  Check(twice.ok() && twice->SaveState() == saved,
        "Restore(SaveState()) saves the same state");
  engine::Message request;
  request.documents.push_back(doc->MakeRequest());
  request.documents.back().client_id = "fuzz";
  Check(EncodeMessage(request).ok(), "a restored client's request can be sent");
  return 0;
}

}  // namespace
}  // namespace diffsync::client

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::client::TestOneInput(data, size);
}
