#include "server/presence.h"

#include <gtest/gtest.h>

#include "server/service_test_util.h"
#include "server/sync_service.h"

namespace diffsync::server {
namespace {

using test_util::GatedStore;
using test_util::ManualExecutor;

class RecordingSession final : public Session {
 public:
  void Push(std::string message) override { pushes.push_back(message); }
  std::vector<std::string> pushes;
};

// The m:peer-cursor values of a message's first block ("ANCHOR:HEAD:ID").
std::vector<std::string> PeerCursors(const std::string& wire) {
  Result<engine::Message> message = engine::DecodeMessage(wire);
  EXPECT_TRUE(message.ok()) << wire;
  std::vector<std::string> out;
  if (!message.ok() || message->documents.empty()) return out;
  for (const engine::Metadata& m : message->documents[0].metadata) {
    if (m.key == "peer-cursor") out.push_back(m.value);
  }
  return out;
}

bool HasKey(const std::string& wire, std::string_view key) {
  Result<engine::Message> message = engine::DecodeMessage(wire);
  if (!message.ok() || message->documents.empty()) return false;
  for (const engine::Metadata& m : message->documents[0].metadata) {
    if (m.key == key) return true;
  }
  return false;
}

class PresenceTest : public ::testing::Test {
 protected:
  std::string Ask(std::string_view request, Session* session) {
    std::optional<std::string> reply;
    service_.Handle(request, session, [&](std::string r) { reply = r; });
    executor_.RunUntil([&] { return reply.has_value(); });
    return *reply;
  }

  GatedStore durable_;
  engine::ManualClock clock_;
  ManualExecutor executor_;
  Metrics metrics_;
  SyncService service_{durable_, clock_, {}, executor_.Post(), metrics_};
  RecordingSession alice_;
  RecordingSession bob_;
};

TEST_F(PresenceTest, CursorsReachTheOthersAndMoveWithTheirEdits) {
  std::string reply =
      Ask("u:alice\nF:0:notes\nr:1:hello world\nm:cursor:6:11\n\n", &alice_);
  EXPECT_TRUE(PeerCursors(reply).empty()) << reply;
  // Bob joins: his reply shows Alice's selection; Alice is told he came.
  reply = Ask("u:bob\nF:0:notes\nr:1:\nm:cursor:0:0\n\n", &bob_);
  EXPECT_EQ(PeerCursors(reply), std::vector<std::string>{"6:11:alice"})
      << reply;
  ASSERT_EQ(alice_.pushes.size(), 1u);
  EXPECT_TRUE(HasKey(alice_.pushes[0], "presence")) << alice_.pushes[0];
  EXPECT_TRUE(HasKey(alice_.pushes[0], "push"));
  EXPECT_EQ(PeerCursors(alice_.pushes[0]), std::vector<std::string>{"0:0:bob"});
  // Bob types "Oh, " at the start: Alice's selection moves with "world",
  // and she gets the edit (an engine push) with Bob's caret after "Oh, ".
  reply = Ask("u:bob\nF:1:notes\nd:1:+Oh,%20\t=11\nm:cursor:4:4\n\n", &bob_);
  EXPECT_EQ(PeerCursors(reply), std::vector<std::string>{"10:15:alice"})
      << reply;
  ASSERT_EQ(alice_.pushes.size(), 2u);
  EXPECT_FALSE(HasKey(alice_.pushes[1], "presence")) << alice_.pushes[1];
  EXPECT_EQ(PeerCursors(alice_.pushes[1]), std::vector<std::string>{"4:4:bob"})
      << alice_.pushes[1];
}

TEST_F(PresenceTest, ACursorInTheShadowIsMovedThroughTheReply) {
  Ask("u:alice\nF:0:notes\nr:1:abc\nm:cursor:3:3\n\n", &alice_);
  Ask("u:bob\nF:0:notes\nr:1:\nm:cursor:0:0\n\n", &bob_);
  // Bob inserts "xy" at the start; Alice, who has not seen it, puts her
  // caret at the end of her "abc": in the document that is 5.
  Ask("u:bob\nF:1:notes\nd:1:+xy\t=3\nm:cursor:2:2\n\n", &bob_);
  std::string reply =
      Ask("u:alice\nF:0:notes\nd:1:=3\nm:cursor:3:3\n\n", &alice_);
  EXPECT_EQ(PeerCursors(reply), std::vector<std::string>{"2:2:bob"}) << reply;
  reply = Ask("u:bob\nF:2:notes\nd:2:=5\n\n", &bob_);
  EXPECT_EQ(PeerCursors(reply), std::vector<std::string>{"5:5:alice"}) << reply;
}

TEST_F(PresenceTest, ASessionThatClosesLeaves) {
  Ask("u:alice\nF:0:notes\nr:1:abc\nm:cursor:1:1\n\n", &alice_);
  Ask("u:bob\nF:0:notes\nr:1:\nm:cursor:0:0\n\n", &bob_);
  const size_t before = bob_.pushes.size();
  service_.Detach(&alice_);
  ASSERT_EQ(bob_.pushes.size(), before + 1);
  EXPECT_TRUE(HasKey(bob_.pushes.back(), "presence"));
  EXPECT_TRUE(PeerCursors(bob_.pushes.back()).empty()) << bob_.pushes.back();
}

TEST_F(PresenceTest, PollersExpireAndClientsWithoutCursorsSeeNothing) {
  Ask("u:poller\nF:0:notes\nr:1:abc\nm:cursor:2:2\n\n", nullptr);
  // A MobWrite-style client (no m:cursor) is not present and gets nothing.
  std::string reply = Ask("u:mobwrite\nF:0:notes\nr:1:\n\n", &bob_);
  EXPECT_TRUE(PeerCursors(reply).empty()) << reply;
  reply = Ask("u:alice\nF:0:notes\nr:1:\nm:cursor:0:0\n\n", &alice_);
  EXPECT_EQ(PeerCursors(reply), std::vector<std::string>{"2:2:poller"});
  EXPECT_TRUE(bob_.pushes.empty());
  clock_.Advance(std::chrono::milliseconds(Presence::kPollerExpiryMillis + 1));
  reply = Ask("u:alice\nF:1:notes\nd:1:=3\nm:cursor:0:0\n\n", &alice_);
  EXPECT_TRUE(PeerCursors(reply).empty()) << reply;
}

}  // namespace
}  // namespace diffsync::server
