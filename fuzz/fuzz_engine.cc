// The engine fed random request sequences: three well-behaved clients
// (ClientDocument) and a hostile one share a document on one engine::Server
// over a MemoryStore that fails commits and crashes on command. The input
// is read as a program of steps: local edits, requests, replies delivered,
// lost or overtaken, old requests sent again (duplicates, late copies),
// pushes, arbitrary protocol messages from a client with an id of its own,
// commit failures, a full disk, crashes (a new Server over what was stored),
// cache drops, idle unloads and time passing (up to view expiry).
//
// After every step Server::CheckInvariants and each client's CheckInvariants
// hold, and every reply or push encodes. When the input ends the faults
// stop and every client syncs in rounds: within five rounds all of them are
// in sync and hold the server's text.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "fuzz_util.h"
#include "store/fault_injection_store.h"

namespace diffsync::engine {
namespace {

using fuzz::Check;

constexpr int kClients = 3;
constexpr const char* kDocument = "doc";
constexpr int kMaxRounds = 5;

void CheckOk(const Status& s, const char* property) {
  if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
  Check(s.ok(), property);
}

struct Peer {
  Peer(std::string id_in, ClientOptions options)
      : id(std::move(id_in)), doc(kDocument, options) {}
  std::string id;
  ClientDocument doc;
  std::vector<std::string> sent;     // Every request's wire text.
  std::optional<std::string> reply;  // To the latest request, not delivered.
  bool awaiting = false;             // The latest request is unanswered.
};

class Run {
 public:
  explicit Run(FuzzedDataProvider& in) : in_(in), faulty_(disk_) {
    options_.history_limit = in_.ConsumeBool() ? 4 : 4096;
    const bool checksums = in_.ConsumeBool();
    for (int i = 0; i < kClients; ++i) {
      peers_.emplace_back(std::string(1, static_cast<char>('a' + i)),
                          ClientOptions{.send_checksums = checksums});
    }
    server_ = std::make_unique<Server>(faulty_, clock_, options_);
  }

  void Steps() {
    while (in_.remaining_bytes() > 0) {
      Peer& p = peers_[in_.ConsumeIntegralInRange<int>(0, kClients - 1)];
      switch (in_.ConsumeIntegralInRange<int>(0, 9)) {
        case 0:
        case 1:
          Edit(p);
          break;
        case 2:
        case 3:
          Send(p);
          break;
        case 4:
          Deliver(p);
          break;
        case 5:
          Replay(p);
          break;
        case 6:
          PushTo(p);
          break;
        case 7:
          Hostile();
          break;
        case 8:
          Fault();
          break;
        case 9:
          Housekeeping();
          break;
      }
    }
  }

  void Converge() {
    faulty_.Heal();
    for (int round = 1; round <= kMaxRounds; ++round) {
      for (Peer& p : peers_) {
        Send(p);
        Deliver(p);
      }
      if (Converged()) return;
    }
    Check(false, "every client converges on the server's text once healed");
  }

 private:
  bool Converged() {
    std::optional<Text> text = server_->DocumentText(kDocument);
    if (!text) return false;
    for (const Peer& p : peers_) {
      if (!p.doc.in_sync() || !(p.doc.text() == *text)) return false;
    }
    return true;
  }

  void Edit(Peer& p) {
    const int64_t size = p.doc.text().size16();
    const int64_t pos = in_.ConsumeIntegralInRange<int64_t>(0, size);
    const int64_t length = in_.ConsumeIntegralInRange<int64_t>(0, size - pos);
    const std::string text = in_.ConsumeRandomLengthString(12);
    // Replace takes UTF-8 (the editor's text), so other bytes are no edit.
    if (!fuzz::IsValidUtf8(text)) return;
    // Refused for a boundary inside a surrogate pair; the text stays.
    (void)p.doc.Replace(pos, length, text);
    CheckOk(p.doc.CheckInvariants(), "client invariants after an edit");
  }

  void Send(Peer& p) {
    Message request;
    request.documents.push_back(p.doc.MakeRequest());
    request.documents.back().client_id = p.id;
    CheckOk(p.doc.CheckInvariants(), "client invariants after a request");
    Result<std::string> wire = EncodeMessage(request);
    CheckOk(wire.status(), "a client's request encodes");
    p.sent.push_back(*wire);
    p.awaiting = true;
    p.reply = Receive(*wire);
  }

  // The server's side of one request: its reply's wire text, or nullopt
  // when nothing was acknowledged.
  std::optional<std::string> Receive(const std::string& wire) {
    Result<Message> request = DecodeMessage(wire);
    CheckOk(request.status(), "a client's request decodes");
    Result<Message> reply = server_->Handle(*request);
    AfterServerCall();
    if (!reply.ok()) return std::nullopt;
    Result<std::string> out = EncodeMessage(*reply);
    CheckOk(out.status(), "a reply encodes");
    return *out;
  }

  void Deliver(Peer& p) {
    if (!p.reply) return;
    const std::string wire = std::move(*p.reply);
    p.reply.reset();
    p.awaiting = false;
    Apply(p, wire, "a reply");
  }

  void Apply(Peer& p, const std::string& wire, const char* what) {
    Result<Message> reply = DecodeMessage(wire);
    CheckOk(reply.status(), "a reply or push decodes");
    Check(reply->documents.size() == 1, "one block answers one block");
    Result<ReplyEffects> fx = p.doc.HandleReply(reply->documents[0]);
    if (!fx.ok()) std::fprintf(stderr, "%s to %s\n", what, p.id.c_str());
    CheckOk(fx.status(), "a client takes the server's reply or push");
    CheckOk(p.doc.CheckInvariants(), "client invariants after a reply");
  }

  // A copy of an old request reaches the server (duplicated or late); its
  // reply is discarded by the client's transport.
  void Replay(Peer& p) {
    if (p.sent.empty()) return;
    const size_t i = in_.ConsumeIntegralInRange<size_t>(0, p.sent.size() - 1);
    (void)Receive(p.sent[i]);
  }

  void PushTo(Peer& p) {
    Result<Message> push = server_->Push(p.id, kDocument);
    AfterServerCall();
    if (!push.ok() || push->documents.empty()) return;
    Result<std::string> wire = EncodeMessage(*push);
    CheckOk(wire.status(), "a push encodes");
    // A client waiting for a reply ignores pushes; a lost push is a lost
    // reply.
    if (!p.awaiting && in_.ConsumeBool()) Apply(p, *wire, "a push");
  }

  // Arbitrary bytes as a request from a client that is none of ours.
  void Hostile() {
    Result<Message> message = DecodeMessage(in_.ConsumeRandomLengthString(256));
    if (!message.ok()) return;
    for (DocumentBlock& block : message->documents) {
      if (block.client_id.size() == 1 && block.client_id[0] >= 'a' &&
          block.client_id[0] < 'a' + kClients) {
        block.client_id = "x" + block.client_id;
      }
    }
    Result<Message> reply = server_->Handle(*message);
    AfterServerCall();
    if (reply.ok()) CheckOk(EncodeMessage(*reply).status(), "a reply encodes");
  }

  void Fault() {
    // Armed faults wait for the commits they count; a full disk stays full
    // until healed.
    switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        faulty_.FailNthCommit(in_.ConsumeIntegralInRange<int64_t>(1, 3));
        break;
      case 1:
        faulty_.FailCommitsAfter(in_.ConsumeIntegralInRange<int64_t>(0, 2));
        break;
      case 2:
        faulty_.CrashBeforeNthCommit(in_.ConsumeIntegralInRange<int64_t>(1, 3));
        break;
      case 3:
        faulty_.Heal();
        break;
    }
  }

  void Housekeeping() {
    switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        clock_.Advance(std::chrono::milliseconds(
            in_.ConsumeIntegralInRange<int64_t>(1, 10'000)));
        break;
      case 1:  // Past view expiry: the clients resync.
        clock_.Advance(
            std::chrono::milliseconds(options_.view_expiry_millis + 1));
        break;
      case 2:
        server_->DropCache();
        break;
      case 3:
        server_->UnloadIdle(clock_.NowMillis());
        break;
    }
    CheckOk(server_->CheckInvariants(), "server invariants");
  }

  void AfterServerCall() {
    CheckOk(server_->CheckInvariants(), "server invariants after a call");
    if (faulty_.crashed()) {
      // The process died: a new Server over what the store kept.
      faulty_.Restart();
      server_ = std::make_unique<Server>(faulty_, clock_, options_);
    }
  }

  FuzzedDataProvider& in_;
  MemoryStore disk_;
  store::FaultInjectionStore faulty_;
  ManualClock clock_{1'000'000};
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::vector<Peer> peers_;
};

int TestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Run run(in);
  run.Steps();
  run.Converge();
  return 0;
}

}  // namespace
}  // namespace diffsync::engine

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return diffsync::engine::TestOneInput(data, size);
}
