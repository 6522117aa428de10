// The client library's receive path fed arbitrary server messages in every
// state a client can be in: a client::Client over a fake transport whose
// server is the fuzzer. The input is a program of actions, each one byte
// followed by its operands: deliver the next chunk (up to a 0xFF byte) as a
// message from the server, poll, edit locally (Replace, SetText), set or
// share a selection, lose the connection, refuse the next connect, SyncNow,
// let time pass. The first byte chooses the transport (a WebSocket, with or
// without the compact form, or the polling HTTP gateway).
//
// After every step the client's text is valid UTF-8 that reads back to
// itself; every peer selection it reports lies inside its text and is
// another client's; an error from Poll or SyncNow says what is wrong; every
// request it sends in the normal form decodes. When the input ends, the state
// file it saved restores into an engine client that keeps its invariants and
// holds the client's text.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "diffsync/client/client.h"
#include "diffsync/client/state_file.h"
#include "diffsync/client/transport.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/text.h"
#include "fuzz_util.h"

namespace diffsync::client {
namespace {

using fuzz::Check;
using std::chrono::milliseconds;

constexpr std::string_view kDocument = "doc";
constexpr std::string_view kClientId = "me";

// What the fuzzer decides about the connection.
struct Network {
  engine::ManualClock clock{1'000'000};
  std::deque<std::string> inbox;  // Server messages not yet received.
  bool lose_connection = false;   // The next Send or Receive finds it lost.
  bool refuse_connect = false;    // The next Connect fails.
  bool check_requests = false;    // Requests are in the normal form.
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(Network& net, bool pushes) : net_(net), pushes_(pushes) {}

  std::string_view name() const override { return pushes_ ? "ws" : "http"; }
  std::string url() const override { return pushes_ ? "fake-ws" : "fake-http"; }
  bool pushes() const override { return pushes_; }
  bool connected() const override { return connected_; }

  Status Connect(milliseconds) override {
    net_.inbox.clear();
    if (net_.refuse_connect) {
      net_.refuse_connect = false;
      return Status::Unavailable("cannot reach " + url());
    }
    connected_ = true;
    return Status::Ok();
  }
  void Close() override {
    connected_ = false;
    net_.inbox.clear();
  }
  Status Send(std::string_view message, milliseconds) override {
    if (!connected_) return Status::Unavailable("not connected");
    if (Lost()) return Status::Unavailable("connection to " + url() + " lost");
    if (net_.check_requests) {
      Check(engine::DecodeMessage(message).ok(), "every request decodes");
    }
    return Status::Ok();
  }
  Result<std::optional<std::string>> Receive(milliseconds timeout) override {
    if (connected_ && Lost()) {
      return Status::Unavailable("connection to " + url() + " lost");
    }
    if (connected_ && !net_.inbox.empty()) {
      std::string next = std::move(net_.inbox.front());
      net_.inbox.pop_front();
      return std::optional<std::string>(std::move(next));
    }
    net_.clock.Advance(timeout);  // Nothing comes: the wait runs out.
    return std::optional<std::string>();
  }
  void Interrupt() override {}

 private:
  bool Lost() {
    if (!net_.lose_connection) return false;
    net_.lose_connection = false;
    Close();
    return true;
  }

  Network& net_;
  const bool pushes_;
  bool connected_ = false;
};

// The state file of this process, on tmpfs where there is one (every
// message saves the state, with fsync). The client makes its directory; each
// input removes it when done, so only an input that crashes leaves one.
const std::filesystem::path& StateDir() {
  static const std::filesystem::path dir =
      (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") /
      std::filesystem::path("fuzz_client_receive." +
                            std::to_string(::getpid()));
  return dir;
}

void CheckText(const engine::Text& text) {
  const std::string utf8 = text.ToString();
  Check(fuzz::IsValidUtf8(utf8), "the client's text is UTF-8");
  Result<engine::Text> again = engine::Text::FromUtf8(utf8);
  Check(again.ok() && *again == text, "the client's text reads back");
}

void CheckPeers(const std::vector<PeerSelection>& peers,
                const engine::Text& text) {
  for (const PeerSelection& p : peers) {
    Check(p.client_id != kClientId, "we are not our own peer");
    Check(!p.client_id.empty(), "a peer has an id");
    Check(p.selection.anchor >= 0 && p.selection.anchor <= text.size16() &&
              p.selection.head >= 0 && p.selection.head <= text.size16(),
          "a peer's selection is inside the text");
  }
}

void CheckError(const Status& s) {
  Check(s.ok() || !s.message().empty(), "an error says what is wrong");
}

// The operands of an action: bytes, then a chunk up to the next 0xFF.
class Reader {
 public:
  explicit Reader(std::string_view input) : input_(input) {}
  bool empty() const { return input_.empty(); }
  uint8_t Byte() {
    if (input_.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(input_[0]);
    input_.remove_prefix(1);
    return b;
  }
  std::string_view Chunk() {
    const size_t cut = input_.find('\xff');
    const std::string_view chunk = input_.substr(0, cut);
    input_.remove_prefix(cut == std::string_view::npos ? input_.size()
                                                       : cut + 1);
    return chunk;
  }

 private:
  std::string_view input_;
};

int TestOneInput(const uint8_t* data, size_t size) {
  Reader in(fuzz::AsView(data, size));
  const uint8_t config = in.Byte();
  const bool pushes = (config & 1) == 0;
  Network net;
  net.check_requests = !pushes || (config & 2) == 0;
  const std::string state_path = (StateDir() / "state.json").string();
  std::filesystem::remove_all(StateDir());

  ClientOptions options;
  options.server = "http://127.0.0.1:8080";
  options.document = std::string(kDocument);
  options.client_id = std::string(kClientId);
  options.state_path = state_path;
  options.websocket = pushes;
  options.compact = (config & 2) != 0;
  options.seed = 1;
  options.timeout = milliseconds(1'000);
  options.poll_interval = milliseconds(500);
  ClientEvents events;
  const Client* watched = nullptr;
  events.on_peers = [&watched](const std::vector<PeerSelection>& peers) {
    CheckPeers(peers, watched->text());
  };
  events.on_remote_change = [&watched](const RemoteChange& c) {
    Check(c.text == watched->text(), "a remote change tells the text");
  };
  events.on_error = [](const Status& s) { CheckError(s); };
  Result<std::unique_ptr<Client>> opened = Client::OpenWith(
      options, std::move(events), std::make_unique<FakeTransport>(net, pushes),
      nullptr, net.clock);
  Check(opened.ok(), "a client opens on a fresh state");
  Client& client = **opened;
  watched = &client;
  if (config & 4) client.ShareSelection({});

  while (!in.empty()) {
    const uint8_t op = in.Byte();
    switch (op % 8) {
      case 0:
        net.inbox.emplace_back(in.Chunk());
        CheckError(client.Poll(milliseconds(0)));
        break;
      case 1:
        CheckError(client.Poll(milliseconds(in.Byte() * 10)));
        break;
      case 2: {
        const int64_t pos = in.Byte();
        const int64_t length = in.Byte() % 16;
        const std::string_view text = in.Chunk();
        if (fuzz::IsValidUtf8(text)) {
          CheckError(client.Replace(pos, length, text));
        }
        break;
      }
      case 3:
        CheckError(client.SetText(in.Chunk()));
        break;
      case 4: {
        const Selection s = {.anchor = in.Byte(), .head = in.Byte()};
        if (op & 8) {
          client.ShareSelection(s);
        } else {
          client.SetSelection(s);
        }
        break;
      }
      case 5:
        (op & 8 ? net.refuse_connect : net.lose_connection) = true;
        break;
      case 6: {
        Result<bool> synced = client.SyncNow();
        CheckError(synced.status());
        break;
      }
      case 7:
        net.clock.Advance(milliseconds(in.Byte() * 100));
        break;
    }
    CheckText(client.text());
    CheckPeers(client.peers(), client.text());
    Check(!client.in_sync() || client.pending_edits() == 0,
          "in sync means nothing pending");
  }

  Check(client.Save().ok(), "the state saves");
  Result<SyncState> saved = LoadStateFile(state_path);
  std::filesystem::remove_all(StateDir());
  Check(saved.ok(), "the saved state loads");
  Result<engine::ClientDocument> doc =
      engine::ClientDocument::Restore(saved->client);
  Check(doc.ok(), "the saved client restores");
  Check(doc->CheckInvariants().ok(), "the saved client keeps its invariants");
  Check(doc->text() == client.text(), "the saved client has the text");
  return 0;
}

}  // namespace
}  // namespace diffsync::client

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::client::TestOneInput(data, size);
}
