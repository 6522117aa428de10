// Tests of WireSession: the negotiation (our peers agree, MobWrite's never
// see the compact form), the exact compact lines of a typing exchange, and a
// seeded random editing loop between clients and a server through sessions
// (pushes and reconnections included) that must converge exactly as
// without them while sending fewer bytes.
#include "diffsync/engine/wire_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/test_seed.h"
#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "engine/wire_context.h"

namespace diffsync::engine {
namespace {

// A client and a server over one connection: a session at each end.
class Connection {
 public:
  Connection(Server& server, ClientDocument& doc, std::string id,
             bool client_compact = true, bool server_compact = true)
      : server_(server),
        doc_(doc),
        id_(std::move(id)),
        client_(WireSession::Role::kClient, client_compact),
        server_session_(WireSession::Role::kServer, server_compact) {}

  // One cycle; returns the wire text both ways.
  std::pair<std::string, std::string> Sync() {
    Message request;
    request.documents.push_back(doc_.MakeRequest());
    request.documents.back().client_id = id_;
    const std::string up = *client_.Encode(request);
    Result<Message> in = server_session_.Decode(up);
    EXPECT_TRUE(in.ok()) << in.status().ToString() << "\n" << up;
    if (!in.ok()) return {up, ""};
    Result<Message> reply = server_.Handle(*in);
    EXPECT_TRUE(reply.ok());
    const std::string down = *server_session_.Encode(*reply);
    Receive(down);
    return {up, down};
  }

  // A push from the server, if it has one, delivered to the idle client.
  void Push() {
    Result<Message> push = server_.Push(id_, doc_.document());
    if (!push.ok() || push->documents.empty()) return;
    Receive(*server_session_.Encode(*push));
  }

  const WireSession& client_session() const { return client_; }

 private:
  void Receive(const std::string& down) {
    Result<Message> back = client_.Decode(down);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << down;
    ASSERT_EQ(back->documents.size(), 1u) << down;
    Result<ReplyEffects> fx = doc_.HandleReply(back->documents[0]);
    ASSERT_TRUE(fx.ok()) << fx.status().ToString();
    EXPECT_FALSE(fx->resync) << down;
    ASSERT_TRUE(doc_.CheckInvariants().ok());
  }

  Server& server_;
  ClientDocument& doc_;
  std::string id_;
  WireSession client_;
  WireSession server_session_;
};

TEST(WireSessionTest, OurPeersAgreeAndThenLeaveOutWhatTheOtherKnows) {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument alice("notes");
  Connection c(server, alice, "alice");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  auto [up1, down1] = c.Sync();
  EXPECT_EQ(up1, "u:alice\nF:0:notes\nr:1:Hello\nm:compact\n\n");
  EXPECT_EQ(down1, "F:1:notes\nd:0:=5\nm:compact\n\n");
  EXPECT_TRUE(c.client_session().compact());
  ASSERT_TRUE(alice.Replace(5, 0, " world").ok());
  auto [up2, down2] = c.Sync();
  // The acknowledgement follows from the previous one; the first delta
  // after the raw text names its version (a raw text's is n after it).
  EXPECT_EQ(up2, "d:1:=5\t+ world\nh:CL1p5S\n\n");
  EXPECT_EQ(down2, "d:\n\n");
  ASSERT_TRUE(alice.Replace(11, 0, "!").ok());
  auto [up3, down3] = c.Sync();
  EXPECT_EQ(up3, "d:=11\t+!\nh:AbhRmV\n\n");
  EXPECT_EQ(down3, "d:\n\n");
  EXPECT_EQ(server.DocumentText("notes")->ToString(), "Hello world!");
  EXPECT_TRUE(alice.in_sync());
}

TEST(WireSessionTest, MobWritePeersNeverSeeTheCompactForm) {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  // A MobWrite client (no offer) talking to our server's session: every
  // reply is what EncodeMessage writes.
  WireSession server_session(WireSession::Role::kServer);
  for (const char* request :
       {"u:mob\nF:0:notes\nr:1:Hi\n\n", "u:mob\nF:1:notes\nd:1:=2\t+!\n\n",
        "u:mob\nF:2:notes\nd:2:=3\n\n"}) {
    Result<Message> in = server_session.Decode(request);
    ASSERT_TRUE(in.ok());
    Result<Message> reply = server.Handle(*in);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(*server_session.Encode(*reply), *EncodeMessage(*reply));
  }
  EXPECT_FALSE(server_session.compact());
  // Our client talking to a server that does not accept: it offers once,
  // then writes the normal form.
  ClientDocument alice("notes");
  Connection c(server, alice, "alice", true, /*server_compact=*/false);
  c.Sync();
  ASSERT_TRUE(alice.Replace(0, 0, ">").ok());
  auto [up, down] = c.Sync();
  EXPECT_FALSE(c.client_session().compact());
  EXPECT_EQ(up.substr(0, 16), "u:alice\nF:1:note");
  EXPECT_EQ(down.substr(0, 10), "F:2:notes\n");
}

TEST(WireSessionTest, CompactLinesWithoutContextAreErrors) {
  WireSession server(WireSession::Role::kServer);
  ASSERT_TRUE(server.Decode("u:a\nF:0:d\nr:1:x\nm:compact\n\n").ok());
  Message reply;
  reply.documents.emplace_back();
  reply.documents[0].document = "d";
  reply.documents[0].version = 1;
  reply.documents[0].edits.emplace_back();
  reply.documents[0].edits[0].data = "=1";
  ASSERT_TRUE(server.Encode(reply).ok());
  ASSERT_TRUE(server.compact());
  EXPECT_EQ(server.Decode("u:a\nF:1:other\nd:=0\n\n").status().message(),
            "compact form: line 3: implied version with no earlier edit");
  EXPECT_EQ(server.Decode("h:AAAAAA\n\n").status().message(),
            "compact form: line 1: checksum with no edit before");
  EXPECT_EQ(server.Decode("F:2\nd:2:=1\nh:!!\n\n").status().message(),
            "compact form: line 3: checksum is not 6 base64url digits");
  // As in the normal form, a message needs its blank line, and errors count
  // the lines as sent.
  EXPECT_EQ(server.Decode("d:=1\n").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(server.Decode("F:2\nd:2:=1\nh:2:zz\n\n").status().message(),
            "line 3: h line: checksum \"zz\" is not 8 hexadecimal digits");
}

TEST(WireSessionTest, OnlyATrailingRetainIsStripped) {
  using internal::StripTrailingRetain;
  EXPECT_EQ(StripTrailingRetain(""), "");
  EXPECT_EQ(StripTrailingRetain("=5"), "");
  EXPECT_EQ(StripTrailingRetain("=12\t+a\t=7"), "=12\t+a");
  EXPECT_EQ(StripTrailingRetain("=3\t\t=5"), "=3\t");
  EXPECT_EQ(StripTrailingRetain("\t=5"), "");
  // Anything else ends the delta and stays: an insert, a delete, a retain
  // without a count or with more than digits, digits that are no token.
  for (const char* kept : {"+a", "=4\t+a", "=", "=4\t=", "=5x", "-5", "=1\t-5",
                           "123", "+a=5", "x\t+a=5", "+%3D5"}) {
    EXPECT_EQ(StripTrailingRetain(kept), kept) << kept;
  }
}

// Random typing by several clients, with pushes and reconnections (new
// sessions), through sessions: everyone converges, and the compact form is
// smaller than the normal one the same loop writes without sessions.
TEST(WireSessionTest, RandomEditingThroughSessionsConverges) {
  std::mt19937_64 rng(test_util::TestSeed(20261201));
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    MemoryStore store;
    ManualClock clock;
    Server server(store, clock);
    const int n = 1 + static_cast<int>(rng() % 3);
    std::vector<std::unique_ptr<ClientDocument>> docs;
    std::vector<std::unique_ptr<Connection>> connections;
    for (int i = 0; i < n; ++i) {
      docs.push_back(std::make_unique<ClientDocument>("doc"));
      connections.push_back(std::make_unique<Connection>(
          server, *docs[i], "c" + std::to_string(i)));
    }
    for (int step = 0; step < 300; ++step) {
      const int i = static_cast<int>(rng() % n);
      ClientDocument& doc = *docs[i];
      const int64_t size = doc.text().size16();
      const int64_t pos = static_cast<int64_t>(rng() % (size + 1));
      const int64_t del = pos < size && rng() % 4 == 0 ? 1 : 0;
      ASSERT_TRUE(
          doc.Replace(pos, del, rng() % 5 == 0 ? "\xC3\xA9:" : "a").ok());
      if (rng() % 2 == 0) connections[i]->Sync();
      if (rng() % 3 == 0) connections[rng() % n]->Push();
      if (rng() % 40 == 0) {  // Reconnect: both ends start new sessions.
        connections[i] = std::make_unique<Connection>(server, *docs[i],
                                                      "c" + std::to_string(i));
      }
    }
    for (int pass = 0; pass < 2; ++pass) {
      for (auto& c : connections) c->Sync();
    }
    const Text text = *server.DocumentText("doc");
    for (auto& d : docs) {
      EXPECT_TRUE(d->in_sync());
      EXPECT_EQ(d->text(), text);
    }
    EXPECT_TRUE(server.CheckInvariants().ok());
  }
}

}  // namespace
}  // namespace diffsync::engine
