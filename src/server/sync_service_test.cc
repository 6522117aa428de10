#include "server/sync_service.h"

#include <gtest/gtest.h>

#include "diffsync/engine/client.h"
#include "dmp/utf.h"
#include "server/service_test_util.h"

namespace diffsync::server {
namespace {

using test_util::GatedStore;
using test_util::ManualExecutor;

class RecordingSession final : public Session {
 public:
  void Push(std::string message) override { pushes.push_back(message); }
  std::vector<std::string> pushes;
};

class SyncServiceTest : public ::testing::Test {
 protected:
  explicit SyncServiceTest(ServiceOptions options = {})
      : service_(durable_, clock_, std::move(options), executor_.Post(),
                 metrics_) {}

  // Sends one request and runs the service until its reply comes.
  std::string Ask(std::string_view request, Session* session = nullptr) {
    std::optional<std::string> reply;
    service_.Handle(request, session, [&](std::string r) { reply = r; });
    executor_.RunUntil([&] { return reply.has_value(); });
    return *reply;
  }

  // One sync cycle of an engine client over the service.
  void Sync(const std::string& client_id, engine::ClientDocument& doc,
            Session* session = nullptr) {
    engine::Message request;
    request.documents.push_back(doc.MakeRequest());
    request.documents.back().client_id = client_id;
    std::string reply = Ask(*engine::EncodeMessage(request), session);
    Result<engine::Message> decoded = engine::DecodeMessage(reply);
    ASSERT_TRUE(decoded.ok()) << reply;
    ASSERT_EQ(decoded->documents.size(), 1u) << reply;
    ASSERT_TRUE(doc.HandleReply(decoded->documents[0]).ok()) << reply;
  }

  std::string DocumentText(const std::string& name) {
    std::optional<engine::Text> text = service_.engine().DocumentText(name);
    return text ? text->ToString() : "<none>";
  }

  GatedStore durable_;
  engine::ManualClock clock_;
  ManualExecutor executor_;
  Metrics metrics_;
  SyncService service_;
};

TEST_F(SyncServiceTest, AnswersMobWriteRequestsOnceDurable) {
  durable_.Hold();
  std::optional<std::string> reply;
  service_.Handle("u:alice\nF:0:notes\nr:0:hello\n\n", nullptr,
                  [&](std::string r) { reply = r; });
  durable_.WaitEntered(1);
  executor_.RunReady();
  EXPECT_FALSE(reply.has_value()) << "replied before the commit was durable";
  durable_.Release();
  executor_.RunUntil([&] { return reply.has_value(); });
  EXPECT_EQ(*reply, "F:0:notes\nd:0:=5\n\n");
  EXPECT_EQ(Ask("u:bob\nF:0:notes\nr:0:\n\n"), "F:0:notes\nd:0:+hello\n\n");
}

TEST_F(SyncServiceTest, PushesReachOtherSessionsOfTheDocumentOnly) {
  RecordingSession alice_socket, carol_socket;
  engine::ClientDocument alice("notes"), bob("notes"), carol("other");
  ASSERT_TRUE(alice.Replace(0, 0, "shared").ok());
  Sync("alice", alice, &alice_socket);
  ASSERT_TRUE(carol.Replace(0, 0, "private").ok());
  Sync("carol", carol, &carol_socket);
  Sync("bob", bob);  // Over HTTP: no session, no pushes.
  ASSERT_TRUE(bob.Replace(6, 0, "!").ok());
  Sync("bob", bob);
  ASSERT_EQ(alice_socket.pushes.size(), 1u);
  EXPECT_TRUE(carol_socket.pushes.empty()) << "another document leaked";
  Result<engine::Message> push = engine::DecodeMessage(alice_socket.pushes[0]);
  ASSERT_TRUE(push.ok());
  ASSERT_TRUE(alice.HandleReply(push->documents.at(0)).ok());
  EXPECT_EQ(alice.text().ToString(), "shared!");
  EXPECT_EQ(DocumentText("other"), "private");
  // A session that went away gets nothing more.
  service_.Detach(&alice_socket);
  ASSERT_TRUE(bob.Replace(0, 0, ">").ok());
  Sync("bob", bob);
  EXPECT_EQ(alice_socket.pushes.size(), 1u);
}

TEST_F(SyncServiceTest, UnloadsIdleViewsButKeepsThoseAwaitingPushes) {
  RecordingSession socket;
  engine::ClientDocument watcher("notes"), poller("notes");
  ASSERT_TRUE(watcher.Replace(0, 0, "text").ok());
  Sync("watcher", watcher, &socket);
  Sync("poller", poller);
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(service_.UnloadIdle(60'000), 1u);
  EXPECT_EQ(service_.engine().loaded_views(), 1u);
  // The poller comes back from the store; the watcher still gets its push.
  ASSERT_TRUE(poller.Replace(4, 0, "!").ok());
  Sync("poller", poller);
  ASSERT_EQ(socket.pushes.size(), 1u);
  ASSERT_TRUE(watcher.HandleReply(
      engine::DecodeMessage(socket.pushes[0])->documents.at(0)).ok());
  EXPECT_EQ(watcher.text().ToString(), "text!");
}

TEST_F(SyncServiceTest, JoinsMobWriteBuffersInAnyOrder) {
  const std::string request = "u:alice\nF:0:long doc\nr:0:some text\n\n";
  std::string encoded;
  dmp::internal::AppendEncodeUri(request, encoded);
  // MobWrite's client percent-encodes the request and cuts it into pieces.
  const size_t third = encoded.size() / 3;
  const std::string pieces[3] = {encoded.substr(0, third),
                                 encoded.substr(third, third),
                                 encoded.substr(2 * third)};
  EXPECT_EQ(Ask("b:xyz 3 2 " + pieces[1] + "\n\n"), "");
  EXPECT_EQ(Ask("b:xyz 3 3 " + pieces[2] + "\n\n"), "");
  EXPECT_EQ(Ask("b:xyz 3 1 " + pieces[0] + "\n\n"),
            "F:0:long doc\nd:0:=9\n\n");
  EXPECT_EQ(DocumentText("long doc"), "some text");
}

TEST_F(SyncServiceTest, MalformedRequestsAreAnsweredAndHarmNothing) {
  engine::ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "intact").ok());
  Sync("alice", alice);
  for (const std::string bad : {
           "u:mallory\nF:0:notes\nd:0:=99\t+x\n\n",  // Delta past the shadow.
           "u:mallory\nF:x:notes\n\n",                // Bad version.
           "u:mallory\nF:0:notes\nd:0:=1",            // Truncated.
           "u:mallory\nF:0:notes\nd:9:=6\t+x\n\n",    // Future version.
           "b:q 2 5 abc\n\n",                          // Piece past the size.
       }) {
    std::string reply = Ask(bad);
    EXPECT_NE(reply.find("x:"), std::string::npos) << bad << " -> " << reply;
    EXPECT_EQ(DocumentText("notes"), "intact") << bad;
  }
  ASSERT_TRUE(alice.Replace(6, 0, "!").ok());
  Sync("alice", alice);
  EXPECT_EQ(DocumentText("notes"), "intact!");
}

TEST_F(SyncServiceTest, AFailedCommitAcknowledgesNothingAndLosesNothing) {
  engine::ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "base").ok());
  Sync("alice", alice);
  Sync("alice", alice);
  ASSERT_TRUE(alice.Replace(4, 0, " edit").ok());
  durable_.FailNext();
  engine::Message request;
  request.documents.push_back(alice.MakeRequest());
  request.documents.back().client_id = "alice";
  const std::string wire = *engine::EncodeMessage(request);
  const std::string failed = Ask(wire);
  EXPECT_EQ(failed.rfind("x:store:", 0), 0u) << failed;
  EXPECT_EQ(alice.pending_edits(), 1u);
  // The server fell back to the durable state; the client's retry (its
  // next cycle resends the unacknowledged edit) is merged exactly once.
  Sync("alice", alice);
  Sync("alice", alice);
  EXPECT_EQ(DocumentText("notes"), "base edit");
  EXPECT_EQ(alice.text().ToString(), "base edit");
  EXPECT_EQ(alice.pending_edits(), 0u);
}

ServiceOptions SmallLimits() {
  ServiceOptions options;
  options.max_edits_per_request = 3;
  options.max_documents_per_connection = 2;
  options.max_clients_per_document = 2;
  options.client_window_millis = 60'000;
  return options;
}

class SyncServiceLimitsTest : public SyncServiceTest {
 protected:
  SyncServiceLimitsTest() : SyncServiceTest(SmallLimits()) {}
};

TEST_F(SyncServiceLimitsTest, TooManyEditsInOneRequestAreRefusedWhole) {
  EXPECT_EQ(Ask("u:a\nF:0:notes\nr:0:abc\n\n"), "F:0:notes\nd:0:=3\n\n");
  // Four edits over two blocks: one too many; none is applied.
  const std::string reply = Ask(
      "u:a\nF:1:notes\nd:0:=3\t+d\nd:1:=4\t+e\nd:2:=5\t+f\n"
      "u:b\nF:0:notes\nr:0:zzz\n\n");
  EXPECT_EQ(reply,
            "x:too-many-edits:4 edits in one request; at most 3\n\n");
  EXPECT_EQ(DocumentText("notes"), "abc");
  EXPECT_EQ(Ask("u:a\nF:1:notes\nd:0:=3\t+d\nd:1:=4\t+e\nd:2:=5\t+f\n\n"),
            "F:3:notes\nd:1:=6\n\n");
  EXPECT_EQ(DocumentText("notes"), "abcdef");
}

TEST_F(SyncServiceLimitsTest, AConnectionSyncsAtMostSoManyDocuments) {
  RecordingSession socket, other_socket;
  engine::ClientDocument one("one"), two("two"), three("three");
  ASSERT_TRUE(one.Replace(0, 0, "1").ok());
  Sync("a", one, &socket);
  Sync("a", two, &socket);
  engine::Message request;
  request.documents.push_back(three.MakeRequest());
  request.documents.back().client_id = "a";
  const std::string wire = *engine::EncodeMessage(request);
  EXPECT_EQ(Ask(wire, &socket),
            "x:too-many-documents:at most 2 documents per connection\n\n");
  EXPECT_EQ(DocumentText("three"), "<none>");
  // Its documents still sync; another connection has its own count.
  ASSERT_TRUE(one.Replace(1, 0, "!").ok());
  Sync("a", one, &socket);
  EXPECT_EQ(DocumentText("one"), "1!");
  EXPECT_EQ(Ask(wire, &other_socket), "F:1:three\nd:0:\n\n");
  // Without a session (HTTP), one request is the connection.
  EXPECT_EQ(Ask("u:h\nF:0:p\nr:0:\nF:0:q\nr:0:\nF:0:r\nr:0:\n\n"),
            "x:too-many-documents:at most 2 documents per connection\n\n");
}

TEST_F(SyncServiceLimitsTest, ADocumentTakesSoManyClientsAtOnce) {
  engine::ClientDocument a("notes"), b("notes"), c("notes");
  ASSERT_TRUE(a.Replace(0, 0, "kept").ok());
  Sync("a", a);
  Sync("b", b);
  EXPECT_EQ(Ask("u:c\nF:0:notes\nr:0:\n\n"),
            "x:too-many-clients:document notes has 2 clients, the most it "
            "may have\n\n");
  // The clients there go on; another document is not affected.
  ASSERT_TRUE(b.Replace(4, 0, "!").ok());
  Sync("b", b);
  EXPECT_EQ(DocumentText("notes"), "kept!");
  EXPECT_EQ(Ask("u:c\nF:0:elsewhere\nr:0:x\n\n"),
            "F:0:elsewhere\nd:0:=1\n\n");
  // Once a has been away past the window, c takes its place.
  clock_.Advance(std::chrono::seconds(61));
  Sync("b", b);
  Sync("c", c);
  EXPECT_EQ(c.text().ToString(), "kept!");
}

TEST_F(SyncServiceTest, ARefusalIsAnsweredInOrder) {
  durable_.Hold();
  std::vector<std::string> replies;
  service_.Handle("u:a\nF:0:notes\nr:0:x\n\n", nullptr,
                  [&](std::string r) { replies.push_back(r); });
  service_.Refuse([&](std::string r) { replies.push_back(r); },
                  "rate-limited", "slow down");
  durable_.WaitEntered(1);
  executor_.RunReady();
  EXPECT_TRUE(replies.empty());
  durable_.Release();
  executor_.RunUntil([&] { return replies.size() == 2; });
  EXPECT_EQ(replies[0], "F:0:notes\nd:0:=1\n\n");
  EXPECT_EQ(replies[1], "x:rate-limited:slow down\n\n");
}

}  // namespace
}  // namespace diffsync::server
