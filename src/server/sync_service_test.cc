#include "server/sync_service.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "diffsync/engine/client.h"
#include "dmp/utf.h"
#include "server/auth.h"
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
  options.max_buffer_bytes = 16;
  options.buffer_expiry_millis = 1000;
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
  // A document named by several blocks counts once.
  EXPECT_FALSE(Ask("u:h\nF:0:p\nr:0:\nu:i\nF:0:p\nr:0:\nu:h\nF:0:q\nr:0:\n\n")
                   .starts_with("x:"));
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

TEST_F(SyncServiceLimitsTest, MobWriteBuffersAreBoundedInSizeAndTime) {
  EXPECT_EQ(Ask("b:one 2 1 0123456789\n\n"), "");
  // All unfinished buffers together: 10 bytes held, 7 more would be 17.
  EXPECT_EQ(Ask("b:two 2 1 abcdefg\n\n"),
            "x:bad-buffer:buffers would exceed 16 bytes\n\n");
  EXPECT_EQ(Ask("b:many 10001 1 x\n\n"),
            "x:bad-buffer:buffer many has 10001 pieces; at most 10000\n\n");
  // A buffer left unfinished past its expiry is dropped, freeing its bytes:
  // its last piece then starts it again instead of completing it.
  clock_.Advance(std::chrono::milliseconds(1001));
  EXPECT_EQ(Ask("b:two 2 1 abcdefg\n\n"), "");
  EXPECT_EQ(Ask("b:one 2 2 x\n\n"), "");
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

// Access control (docs/PROTOCOL.md, "Access control").
constexpr std::string_view kSecret = "a server secret of 32 bytes, ok!";

ServiceOptions Guarded() {
  ServiceOptions options;
  options.access.secret = std::string(kSecret);
  options.access.allow_anonymous = false;
  return options;
}

class AccessControlTest : public SyncServiceTest {
 protected:
  AccessControlTest() : SyncServiceTest(Guarded()) {}

  std::string Token(std::vector<std::string> docs, Right right,
                    std::string subject = "", int64_t valid_seconds = 3600) {
    return MintToken({.documents = std::move(docs),
                      .prefixes = {},
                      .right = right,
                      .expires = clock_.NowMillis() / 1000 + valid_seconds,
                      .subject = std::move(subject)},
                     kSecret);
  }

  // One cycle of `doc` as `client_id` with `token`; the decoded reply.
  engine::Message Cycle(const std::string& client_id,
                        engine::ClientDocument& doc, const std::string& token,
                        Session* session = nullptr) {
    engine::Message request;
    request.token = token;
    request.documents.push_back(doc.MakeRequest());
    request.documents.back().client_id = client_id;
    const std::string reply = Ask(*engine::EncodeMessage(request), session);
    Result<engine::Message> decoded = engine::DecodeMessage(reply);
    EXPECT_TRUE(decoded.ok()) << reply;
    for (const engine::DocumentBlock& block : decoded->documents) {
      EXPECT_TRUE(doc.HandleReply(block).ok()) << reply;
    }
    return *decoded;
  }

  void Write(const std::string& document, const std::string& text) {
    engine::ClientDocument writer(document);
    EXPECT_TRUE(writer.Replace(0, 0, text).ok());
    Cycle("writer", writer, Token({document}, Right::kReadWrite, "writer"));
  }
};

TEST_F(AccessControlTest, WithoutAValidTokenNothingIsSentOrChanged) {
  Write("notes", "secret plans");
  const std::string wrong_secret =
      MintToken({.documents = {"notes"},
                 .prefixes = {},
                 .right = Right::kReadWrite,
                 .expires = clock_.NowMillis() / 1000 + 60,
                 .subject = ""},
                "some other server's secret......");
  const std::string expired = Token({"notes"}, Right::kReadWrite, "", 10);
  clock_.Advance(std::chrono::seconds(11));
  struct Case {
    std::string token_line;
    std::string reply;
  };
  const std::vector<Case> cases = {
      {"",
       "x:unauthorized:no token: this server needs one (a t: line, an "
       "Authorization: Bearer header or an access_token query parameter)"},
      {"t:" + wrong_secret + "\n",
       "x:unauthorized:token refused: bad signature (not signed with this "
       "server's secret, or altered)"},
      {"t:" + expired + "\n", "x:unauthorized:token refused: token expired"},
      {"t:nonsense\n",
       "x:unauthorized:token refused: malformed token: expected three parts"},
  };
  for (const Case& c : cases) {
    const std::string reply =
        Ask(c.token_line + "u:eve\nF:0:notes\nd:0:=12\t+ (leaked)\n\n");
    EXPECT_TRUE(reply.starts_with(c.reply)) << reply;
    EXPECT_EQ(reply.find("secret plans"), std::string::npos) << reply;
    EXPECT_EQ(reply.find("F:"), std::string::npos) << reply;
    EXPECT_EQ(DocumentText("notes"), "secret plans");
  }
  // A raw text from nobody creates nothing either.
  EXPECT_TRUE(
      Ask("u:eve\nF:0:fresh\nR:0:mine\n\n").starts_with("x:unauthorized"));
  EXPECT_EQ(DocumentText("fresh"), "<none>");
}

TEST_F(AccessControlTest, ATokenOpensOnlyTheDocumentsItNames) {
  Write("notes", "mine");
  Write("other", "theirs");
  const std::string token = Token({"notes"}, Right::kReadWrite);
  const std::string reply = Ask("t:" + token + "\nu:c1\nF:0:other\nr:0:\n\n");
  EXPECT_EQ(reply, "x:forbidden:the token does not cover document 'other'\n\n");
  // A request naming an allowed and a forbidden document is refused whole.
  EXPECT_TRUE(Ask("t:" + token + "\nu:c1\nF:0:notes\nr:0:\nF:0:other\nr:0:\n\n")
                  .starts_with("x:forbidden"));
  EXPECT_TRUE(
      Ask("t:" + token + "\nu:c1\nN:other\n\n").starts_with("x:forbidden"));
  EXPECT_EQ(DocumentText("other"), "theirs");
  EXPECT_EQ(Ask("t:" + token + "\nu:c1\nF:0:notes\nr:0:\n\n"),
            "F:0:notes\nd:0:+mine\n\n");
  // The same token given by the transport instead of a t: line.
  std::optional<std::string> via_transport;
  service_.Handle(
      "u:c2\nF:0:notes\nr:0:\n\n", nullptr,
      [&](std::string r) { via_transport = r; }, token);
  executor_.RunUntil([&] { return via_transport.has_value(); });
  EXPECT_EQ(*via_transport, "F:0:notes\nd:0:+mine\n\n");
}

TEST_F(AccessControlTest, AReadOnlyClientIsResyncedToTheServerText) {
  Write("notes", "the server's text");
  const std::string read = Token({"notes"}, Right::kRead, "reader");
  engine::ClientDocument reader("notes");
  Cycle("reader", reader, read);
  ASSERT_EQ(reader.text().ToString(), "the server's text");
  ASSERT_TRUE(reader.Replace(0, 3, "my").ok());
  engine::Message reply = Cycle("reader", reader, read);
  ASSERT_EQ(reply.documents.size(), 1u);
  ASSERT_EQ(reply.documents[0].errors.size(), 1u);
  EXPECT_EQ(reply.documents[0].errors[0].code, "read-only");
  ASSERT_EQ(reply.documents[0].edits.size(), 1u);
  EXPECT_EQ(reply.documents[0].edits[0].kind, engine::Edit::Kind::kRaw);
  EXPECT_EQ(reply.documents[0].edits[0].data, "the server's text");
  EXPECT_EQ(reader.text().ToString(), "the server's text");
  EXPECT_EQ(DocumentText("notes"), "the server's text");
  // It goes on reading: a writer's change reaches it.
  engine::ClientDocument writer("notes");
  const std::string write = Token({"notes"}, Right::kReadWrite, "writer2");
  Cycle("w2", writer, write);
  ASSERT_TRUE(writer.Replace(0, 0, "> ").ok());
  Cycle("w2", writer, write);
  Cycle("reader", reader, read);
  EXPECT_EQ(reader.text().ToString(), "> the server's text");
  EXPECT_TRUE(reader.in_sync());
  // MobWrite's overwrite and nullify are refused too.
  EXPECT_NE(Ask("t:" + read + "\nu:reader2\nF:0:notes\nR:0:replaced\n\n")
                .find("x:read-only"),
            std::string::npos);
  EXPECT_NE(Ask("t:" + read + "\nu:reader2\nN:notes\n\n").find("x:read-only"),
            std::string::npos);
  EXPECT_EQ(DocumentText("notes"), "> the server's text");
  // Nor does a reader's text become a new document's.
  const std::string fresh = Token({"fresh"}, Right::kRead);
  Ask("t:" + fresh + "\nu:reader3\nF:0:fresh\nr:0:planted\n\n");
  EXPECT_NE(DocumentText("fresh"), "planted");
}

TEST_F(AccessControlTest, AClientIdBelongsToTheIdentityThatFirstUsedIt) {
  const std::string alice = Token({"notes"}, Right::kReadWrite, "alice");
  const std::string alice_again = Token({"notes"}, Right::kRead, "alice", 7200);
  const std::string mallory = Token({"notes"}, Right::kReadWrite, "mallory");
  const std::string no_subject = Token({"notes"}, Right::kReadWrite);
  engine::ClientDocument doc("notes");
  ASSERT_TRUE(doc.Replace(0, 0, "alice's").ok());
  Cycle("c1", doc, alice);
  const std::string hijack =
      "t:" + mallory + "\nu:c1\nF:1:notes\nd:1:=7\t+!\n\n";
  EXPECT_EQ(Ask(hijack),
            "x:forbidden:client id 'c1' belongs to another identity (a "
            "client id is bound to the token that first used it)\n\n");
  EXPECT_TRUE(Ask("t:" + no_subject + "\nu:c1\nF:1:notes\nd:1:=7\n\n")
                  .starts_with("x:forbidden"));
  EXPECT_EQ(DocumentText("notes"), "alice's");
  // Another token of the same subject is the same identity.
  Cycle("c1", doc, alice_again);
  EXPECT_TRUE(doc.in_sync());
  // A token without a subject owns the ids it used first, alone.
  engine::ClientDocument other("notes");
  Cycle("c2", other, no_subject);
  EXPECT_TRUE(Ask("t:" + alice + "\nu:c2\nF:1:notes\nd:1:=7\n\n")
                  .starts_with("x:forbidden"));
}

TEST(AccessControlRestartTest, BindingsOutliveARestart) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("owners_restart_" + std::to_string(getpid()) + ".db");
  std::filesystem::remove(path);
  GatedStore durable;
  engine::ManualClock clock;
  Metrics metrics;
  auto token = [&](const std::string& subject) {
    return MintToken({.documents = {"notes"},
                      .prefixes = {},
                      .right = Right::kReadWrite,
                      .expires = clock.NowMillis() / 1000 + 60,
                      .subject = subject},
                     kSecret);
  };
  auto ask = [&](SyncService& service, ManualExecutor& executor,
                 const std::string& request) {
    std::optional<std::string> reply;
    service.Handle(request, nullptr, [&](std::string r) { reply = r; });
    executor.RunUntil([&] { return reply.has_value(); });
    return *reply;
  };
  for (int run = 0; run < 2; ++run) {
    auto owners = SqliteViewOwners::Open(path.string());
    ASSERT_TRUE(owners.ok()) << owners.status().ToString();
    ServiceOptions options = Guarded();
    options.access.owners = owners->get();
    ManualExecutor executor;
    SyncService service(durable, clock, options, executor.Post(), metrics);
    if (run == 0) {
      EXPECT_EQ(ask(service, executor,
                    "t:" + token("alice") + "\nu:c1\nF:0:notes\nr:0:hi\n\n"),
                "F:0:notes\nd:0:=2\n\n");
    } else {
      EXPECT_TRUE(ask(service, executor,
                      "t:" + token("mallory") + "\nu:c1\nF:1:notes\nd:0:=2\n\n")
                      .starts_with("x:forbidden"));
      EXPECT_EQ(ask(service, executor,
                    "t:" + token("alice") + "\nu:c1\nF:1:notes\nd:0:=2\n\n"),
                "F:1:notes\nd:1:=2\n\n");
    }
  }
  std::filesystem::remove(path);
}

TEST(AccessControlAnonymousTest, AnonymousClientsShareNoIdsWithTokens) {
  GatedStore durable;
  engine::ManualClock clock;
  Metrics metrics;
  ManualExecutor executor;
  ServiceOptions options = Guarded();
  options.access.allow_anonymous = true;
  SyncService service(durable, clock, options, executor.Post(), metrics);
  auto ask = [&](const std::string& request) {
    std::optional<std::string> reply;
    service.Handle(request, nullptr, [&](std::string r) { reply = r; });
    executor.RunUntil([&] { return reply.has_value(); });
    return *reply;
  };
  const std::string token = MintToken({.documents = {"notes"},
                                       .prefixes = {},
                                       .right = Right::kReadWrite,
                                       .expires = clock.NowMillis() / 1000 + 60,
                                       .subject = "alice"},
                                      kSecret);
  EXPECT_EQ(ask("u:anon1\nF:0:notes\nr:0:open\n\n"), "F:0:notes\nd:0:=4\n\n");
  EXPECT_TRUE(ask("t:" + token + "\nu:anon1\nF:1:notes\nd:1:=4\n\n")
                  .starts_with("x:forbidden"));
  EXPECT_EQ(ask("t:" + token + "\nu:a1\nF:0:notes\nr:0:\n\n"),
            "F:0:notes\nd:0:+open\n\n");
  EXPECT_TRUE(ask("u:a1\nF:1:notes\nd:1:=4\n\n").starts_with("x:forbidden"));
  // A bad token is refused, not taken as anonymous.
  EXPECT_TRUE(ask("t:bad\nu:anon1\nF:1:notes\nd:1:=4\n\n")
                  .starts_with("x:unauthorized"));
}

}  // namespace
}  // namespace diffsync::server
