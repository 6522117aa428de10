// client::Client against an engine::Server in process, through fake
// transports on a fake clock: no sockets, no sleeps. The fake network can
// be down, hold requests (so a push crosses one), swallow them (a server
// that never answers) or refuse the WebSocket (so the client falls back).
// Presence is diffsyncd's own (server::Presence).
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <set>
#include <utility>

#include "common/test_seed.h"
#include "diffsync/client/client.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"
#include "server/presence.h"

namespace diffsync::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeTransport;

// The server end of the fake network.
struct FakeServer {
  engine::ManualClock clock{1'000'000};
  engine::MemoryStore store;
  engine::Server server{store, clock};
  server::Presence presence{server, clock};
  bool up = true;
  bool refuse_websocket = false;  // Pushing transports cannot connect.
  // Requests wait for Release(): all, or those of one transport.
  bool hold = false;
  FakeTransport* hold_from = nullptr;
  bool swallow = false;  // Requests vanish unanswered.
  std::vector<FakeTransport*> transports;
  std::vector<std::pair<FakeTransport*, std::string>> held;
  // Replies to this transport wait for ReleaseReplies() (pushes do not), as
  // diffsyncd's wait for durability.
  FakeTransport* delay_replies_to = nullptr;
  std::vector<std::string> delayed_replies;
  std::vector<std::string> tokens;    // Of every request handled.
  std::vector<std::string> requests;  // Every request handled, as sent.

  void Handle(FakeTransport* from, const std::string& wire);
  void Release();
  void ReleaseReplies();
  void Down();
  std::string Text(const std::string& document) {
    return server.DocumentText(document).value_or(engine::Text()).ToString();
  }
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(FakeServer& server, bool pushes)
      : server_(server), pushes_(pushes) {
    server_.transports.push_back(this);
  }
  ~FakeTransport() override {
    std::erase(server_.transports, this);
    // A held request still reaches the server; its reply finds nobody.
    for (auto& h : server_.held) {
      if (h.first == this) h.first = nullptr;
    }
  }

  std::string_view name() const override { return pushes_ ? "ws" : "http"; }
  std::string url() const override { return pushes_ ? "fake-ws" : "fake-http"; }
  bool pushes() const override { return pushes_; }
  bool connected() const override { return connected_; }

  Status Connect(milliseconds) override {
    connect_times.push_back(server_.clock.NowMillis());
    inbox_.clear();
    if (!server_.up) return Status::Unavailable("cannot reach " + url());
    if (pushes_ && server_.refuse_websocket) {
      return Status::FailedPrecondition("no WebSocket at " + url());
    }
    connected_ = true;
    return Status::Ok();
  }
  void Close() override {
    connected_ = false;
    inbox_.clear();
  }
  Status Send(std::string_view message, milliseconds) override {
    if (!connected_) return Status::Unavailable("not connected");
    if (!server_.up) {
      Close();
      return Status::Unavailable("connection to " + url() + " lost");
    }
    ++sent;
    server_.Handle(this, std::string(message));
    return Status::Ok();
  }
  Result<std::optional<std::string>> Receive(milliseconds timeout) override {
    if (connected_ && !server_.up) {
      Close();
      return Status::Unavailable("connection to " + url() + " lost");
    }
    if (!inbox_.empty()) {
      std::string next = std::move(inbox_.front());
      inbox_.pop_front();
      return std::optional<std::string>(std::move(next));
    }
    server_.clock.Advance(timeout);  // Nothing comes: the wait runs out.
    return std::optional<std::string>();
  }
  void Interrupt() override {}

  void Deliver(std::string wire) {
    if (connected_) inbox_.push_back(std::move(wire));
  }

  std::string client_id;  // Of the last request sent.
  std::vector<int64_t> connect_times;
  int sent = 0;

 private:
  FakeServer& server_;
  const bool pushes_;
  bool connected_ = false;
  std::deque<std::string> inbox_;
};

void FakeServer::Handle(FakeTransport* from, const std::string& wire) {
  if (swallow) return;
  if (hold || (hold_from != nullptr && hold_from == from)) {
    held.emplace_back(from, wire);
    return;
  }
  Result<engine::Message> request = engine::DecodeMessage(wire);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  tokens.push_back(request->token);
  requests.push_back(wire);
  if (from != nullptr) from->client_id = request->documents.at(0).client_id;
  Result<engine::Message> reply = server.Handle(*request);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  // Every client is an HTTP poller to Presence (no sessions here).
  const std::vector<std::string> present =
      presence.OnReply(*request, *reply, nullptr);
  if (from != nullptr && from == delay_replies_to) {
    delayed_replies.push_back(*engine::EncodeMessage(*reply));
  } else if (from != nullptr) {
    from->Deliver(*engine::EncodeMessage(*reply));
  }
  // As diffsyncd: the document's news to every other pushing session,
  // then the others' selections to those who got no push (a push carries
  // them).
  std::set<FakeTransport*> pushed;
  auto others = [&] {
    std::vector<FakeTransport*> list;
    for (FakeTransport* t : transports) {
      if (t != from && t->pushes() && t->connected() && !t->client_id.empty()) {
        list.push_back(t);
      }
    }
    return list;
  };
  for (const std::string& document : server.changed_documents()) {
    for (FakeTransport* t : others()) {
      Result<engine::Message> push = server.Push(t->client_id, document);
      ASSERT_TRUE(push.ok()) << push.status().ToString();
      if (push->documents.empty()) continue;
      presence.AnnotatePush(t->client_id, push->documents[0]);
      t->Deliver(*engine::EncodeMessage(*push));
      pushed.insert(t);
    }
  }
  for (const std::string& document : present) {
    for (FakeTransport* t : others()) {
      if (pushed.contains(t)) continue;
      if (auto m = presence.PresenceMessage(t->client_id, document)) {
        t->Deliver(*engine::EncodeMessage(*m));
      }
    }
  }
}

void FakeServer::Release() {
  hold = false;
  hold_from = nullptr;
  auto pending = std::move(held);
  held.clear();
  for (auto& [from, wire] : pending) Handle(from, wire);
}

void FakeServer::Down() { up = false; }

void FakeServer::ReleaseReplies() {
  for (std::string& reply : delayed_replies) {
    delay_replies_to->Deliver(std::move(reply));
  }
  delayed_replies.clear();
  delay_replies_to = nullptr;
}

// One client on the fake network, with what its events told.
struct TestClient {
  FakeTransport* ws = nullptr;
  FakeTransport* http = nullptr;
  std::unique_ptr<Client> client;
  std::vector<RemoteChange> changes;
  std::vector<std::pair<ConnectionState, std::string>> connection;
  std::vector<Conflict> conflicts;
  std::vector<std::string> errors;
  std::vector<std::vector<PeerSelection>> peers;  // Each on_peers.

  Client* operator->() { return client.get(); }
};

ClientOptions Options(std::string state_path = "") {
  ClientOptions options;
  options.server = "http://fake:1";
  options.document = "doc";
  options.state_path = std::move(state_path);
  options.timeout = seconds(5);
  options.poll_interval = seconds(2);
  options.initial_backoff = milliseconds(500);
  options.max_backoff = seconds(8);
  options.seed = test_util::TestSeed(20261201);
  return options;
}

std::unique_ptr<TestClient> Start(FakeServer& net,
                                  ClientOptions options = Options(),
                                  bool with_fallback = true) {
  auto t = std::make_unique<TestClient>();
  auto ws = std::make_unique<FakeTransport>(net, /*pushes=*/true);
  t->ws = ws.get();
  std::unique_ptr<FakeTransport> http;
  if (with_fallback) {
    http = std::make_unique<FakeTransport>(net, /*pushes=*/false);
    t->http = http.get();
  }
  TestClient* self = t.get();
  ClientEvents events;
  events.on_remote_change = [self](const RemoteChange& c) {
    self->changes.push_back(c);
  };
  events.on_connection = [self](ConnectionState s, const Status& detail) {
    self->connection.emplace_back(s, detail.message());
  };
  events.on_conflict = [self](const Conflict& c) {
    self->conflicts.push_back(c);
  };
  events.on_error = [self](const Status& e) {
    self->errors.push_back(e.message());
  };
  events.on_peers = [self](const std::vector<PeerSelection>& p) {
    self->peers.push_back(p);
  };
  Result<std::unique_ptr<Client>> client =
      Client::OpenWith(std::move(options), std::move(events), std::move(ws),
                       std::move(http), net.clock);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (client.ok()) t->client = std::move(*client);
  return t;
}

// Polls until `done` (at most `steps` times); the fake clock moves only when
// a wait runs out.
template <typename Done>
bool PollUntil(TestClient& c, Done done, int steps = 50) {
  for (int i = 0; i < steps; ++i) {
    if (done()) return true;
    Status s = c->Poll(seconds(1));
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return false;
  }
  return done();
}

TEST(ParseServerUrlTest, HttpAndWebSocketForms) {
  Result<ServerUrl> http = ParseServerUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  EXPECT_EQ(http->ws_url(), "ws://127.0.0.1:8080/ws");
  EXPECT_EQ(http->gateway.url(), "http://127.0.0.1:8080/scripts/q.py");

  Result<ServerUrl> gateway = ParseServerUrl("http://h:81/mobwrite/q.py");
  ASSERT_TRUE(gateway.ok());
  EXPECT_EQ(gateway->ws_url(), "ws://h:81/ws");
  EXPECT_EQ(gateway->gateway.url(), "http://h:81/mobwrite/q.py");

  Result<ServerUrl> ws = ParseServerUrl("ws://h:82/sync");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws->ws_url(), "ws://h:82/sync");
  EXPECT_EQ(ws->gateway.url(), "http://h:82/scripts/q.py");
  EXPECT_EQ(ParseServerUrl("ws://h:82")->ws_url(), "ws://h:82/ws");

  Result<ServerUrl> ftp = ParseServerUrl("ftp://h");
  EXPECT_EQ(ftp.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ftp.status().message().find("only http:// and ws://"),
            std::string::npos);
  EXPECT_FALSE(ParseServerUrl("ws://").ok());
  EXPECT_FALSE(ParseServerUrl("http://h:0").ok());
}

TEST(ClientTest, AnEditReachesAnIdleClientByPushWithItsCursorMapped) {
  FakeServer net;
  auto a = Start(net);
  auto b = Start(net);
  ASSERT_TRUE((*b)->SetText("world").ok());
  ASSERT_TRUE(*(*b)->SyncNow());
  ASSERT_TRUE(*(*a)->SyncNow());
  EXPECT_EQ((*a)->text().ToString(), "world");
  (*b)->SetSelection({5, 5});  // The caret at the end of "world".

  ASSERT_TRUE((*a)->Replace(0, 0, "Hello ").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  const int b_sent = b->ws->sent;
  // One Poll: the push is there, no request was needed to fetch it.
  ASSERT_TRUE((*b)->Poll(seconds(1)).ok());
  EXPECT_EQ((*b)->text().ToString(), "Hello world");
  EXPECT_EQ(b->ws->sent, b_sent);
  ASSERT_EQ(b->changes.size(), 1u);
  EXPECT_TRUE(b->changes[0].push);
  EXPECT_EQ(b->changes[0].text.ToString(), "Hello world");
  EXPECT_EQ(b->changes[0].selection, (Selection{11, 11}));
  EXPECT_EQ((*b)->selection(), (Selection{11, 11}));
  EXPECT_EQ((*b)->pushes_applied(), 1);
  // The push is acknowledged at once, so the server may push again.
  ASSERT_TRUE(PollUntil(*b, [&] { return b->ws->sent > b_sent; }));
  ASSERT_TRUE((*a)->Replace(11, 0, "!").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE(
      PollUntil(*b, [&] { return (*b)->text().ToString() == "Hello world!"; }));
  EXPECT_EQ((*b)->pushes_applied(), 2);
}

TEST(ClientTest, APushThatCrossesARequestIsIgnoredAndNothingIsLost) {
  FakeServer net;
  auto a = Start(net);
  auto b = Start(net);
  ASSERT_TRUE((*a)->SetText("one two").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE(*(*b)->SyncNow());

  // b's request is on its way (held) when a's edit is pushed to b: the push
  // reaches b first, while b waits for its reply.
  net.hold_from = b->ws;
  ASSERT_TRUE((*b)->Replace(7, 0, " three").ok());
  ASSERT_TRUE((*b)->Poll(milliseconds(0)).ok());  // Sent; held.
  ASSERT_EQ(net.held.size(), 1u);
  ASSERT_TRUE((*a)->Replace(0, 0, "zero ").ok());
  ASSERT_TRUE(*(*a)->SyncNow());  // Pushed to b.
  net.Release();                  // b now holds the push, then its reply.

  // Polling alone brings b the news the ignored push carried (the server
  // pushes no more until b's next request, so b must make one), and a
  // gets b's edit by push.
  ASSERT_TRUE(PollUntil(*b, [&] {
    return (*b)->text().ToString() == "zero one two three" && (*b)->in_sync();
  }));
  EXPECT_EQ((*b)->pushes_ignored(), 1);
  ASSERT_TRUE(PollUntil(
      *a, [&] { return (*a)->text().ToString() == "zero one two three"; }));
  EXPECT_EQ(net.Text("doc"), "zero one two three");
}

TEST(ClientTest, APushAheadOfADelayedReplyIsIgnoredAndItsNewsFetched) {
  FakeServer net;
  auto a = Start(net);
  auto b = Start(net);
  ASSERT_TRUE((*a)->SetText("one two").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE(*(*b)->SyncNow());

  // The server handles b's request, but its reply is held while a's edit,
  // which came after, is pushed to b at once: a server may let a push
  // overtake an older reply (diffsyncd keeps them in order).
  net.delay_replies_to = b->ws;
  ASSERT_TRUE((*b)->Replace(7, 0, " three").ok());
  ASSERT_TRUE((*b)->Poll(milliseconds(0)).ok());
  ASSERT_TRUE((*a)->Replace(0, 0, "zero ").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  net.ReleaseReplies();

  // The reply does not carry a's edit and the server pushes no more until
  // b's next request: b must make one of its own accord.
  ASSERT_TRUE(PollUntil(*b, [&] {
    return (*b)->text().ToString() == "zero one two three" && (*b)->in_sync();
  }));
  EXPECT_EQ((*b)->pushes_ignored(), 1);
  ASSERT_TRUE(PollUntil(
      *a, [&] { return (*a)->text().ToString() == "zero one two three"; }));
}

TEST(ClientTest, AStalePushIsCountedAsIgnoredAndChangesNothing) {
  FakeServer net;
  auto c = Start(net);
  ASSERT_TRUE((*c)->SetText("mine").ok());
  ASSERT_TRUE(*(*c)->SyncNow());
  // A push that acknowledges none of the edits c has numbered was made
  // before the server saw c's latest request: the engine takes nothing.
  c->ws->Deliver("F:0:doc\nd:1:=4\t+!\nm:push\n\n");
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  EXPECT_EQ((*c)->pushes_ignored(), 1);
  EXPECT_EQ((*c)->pushes_applied(), 0);
  EXPECT_EQ((*c)->text().ToString(), "mine");
}

TEST(ClientTest, APresenceBlockChangesNothingAndIsNotAnswered) {
  FakeServer net;
  auto c = Start(net);
  ASSERT_TRUE((*c)->SetText("mine").ok());
  ASSERT_TRUE(*(*c)->SyncNow());
  const int sent = c->ws->sent;
  c->ws->Deliver("F:1:doc\nm:peer-cursor:2:2:other\nm:push\nm:presence\n\n");
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  EXPECT_EQ(c->ws->sent, sent);
  EXPECT_EQ((*c)->pushes_applied(), 0);
  EXPECT_EQ((*c)->text().ToString(), "mine");
  EXPECT_TRUE((*c)->in_sync());
}

TEST(ClientTest, PeerSelectionsStayInsideTheTextAfterALocalEdit) {
  FakeServer net;
  auto c = Start(net);
  ASSERT_TRUE((*c)->SetText("Hello world").ok());
  (*c)->ShareSelection({});
  ASSERT_TRUE(*(*c)->SyncNow());
  c->ws->Deliver("F:1:doc\nm:peer-cursor:2:9:other\nm:push\nm:presence\n\n");
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  ASSERT_EQ((*c)->peers(), (std::vector<PeerSelection>{{"other", {2, 9}}}));
  ASSERT_TRUE((*c)->Replace(4, 7, "").ok());
  EXPECT_EQ((*c)->peers(), (std::vector<PeerSelection>{{"other", {2, 4}}}));
  ASSERT_TRUE((*c)->SetText("H").ok());
  EXPECT_EQ((*c)->peers(), (std::vector<PeerSelection>{{"other", {1, 1}}}));
}

bool AnyRequestHas(const FakeServer& net, const std::string& text) {
  return std::any_of(
      net.requests.begin(), net.requests.end(),
      [&](const std::string& r) { return r.find(text) != std::string::npos; });
}

TEST(ClientTest, ASharedSelectionReachesTheOthersAndMovesWithTheirEdits) {
  FakeServer net;
  auto a = Start(net);
  auto b = Start(net);
  auto quiet = Start(net);  // Never shares: not present, sees no one.
  ASSERT_TRUE((*a)->SetText("hello world").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE(*(*b)->SyncNow());
  ASSERT_TRUE(*(*quiet)->SyncNow());
  EXPECT_FALSE(AnyRequestHas(net, "m:cursor"));

  (*a)->ShareSelection({6, 11});  // "world" selected.
  ASSERT_TRUE(*(*a)->SyncNow());
  EXPECT_TRUE(AnyRequestHas(net, "\nm:cursor:6:11\n"));
  (*b)->ShareSelection({0, 0});
  // b's request carries its caret; the reply brings a's selection.
  ASSERT_TRUE(PollUntil(*b, [&] { return !(*b)->peers().empty(); }));
  const PeerSelection a_at{(*a)->client_id(), {6, 11}};
  EXPECT_EQ((*b)->peers(), std::vector<PeerSelection>{a_at});
  ASSERT_FALSE(b->peers.empty());
  EXPECT_EQ(b->peers.back(), std::vector<PeerSelection>{a_at});
  // a, idle, is told at once that b came (m:presence), without a request.
  const int a_sent = a->ws->sent;
  ASSERT_TRUE(PollUntil(*a, [&] { return !(*a)->peers().empty(); }));
  EXPECT_EQ(a->ws->sent, a_sent);
  EXPECT_EQ((*a)->peers(),
            std::vector<PeerSelection>({{(*b)->client_id(), {0, 0}}}));

  // b types before a's selection: the server moves it, and b's caret
  // (after what it typed) reaches a with the push.
  ASSERT_TRUE((*b)->Replace(0, 0, "say: ").ok());
  (*b)->ShareSelection({5, 5});
  ASSERT_TRUE(*(*b)->SyncNow());
  EXPECT_EQ((*b)->peers(),
            std::vector<PeerSelection>({{(*a)->client_id(), {11, 16}}}));
  ASSERT_TRUE(PollUntil(*a, [&] {
    return (*a)->text().ToString() == "say: hello world" &&
           (*a)->peers() ==
               std::vector<PeerSelection>({{(*b)->client_id(), {5, 5}}});
  }));
  EXPECT_EQ((*a)->selection(), (Selection{11, 16}));

  // The one that shares nothing is in no list and sees none.
  ASSERT_TRUE(*(*quiet)->SyncNow());
  EXPECT_EQ((*quiet)->text().ToString(), "say: hello world");
  EXPECT_TRUE((*quiet)->peers().empty());
  EXPECT_TRUE(quiet->peers.empty());
}

TEST(ClientTest, AnUnreachableServerIsNotTriedOverHttp) {
  FakeServer net;
  net.up = false;
  auto c = Start(net);
  ASSERT_TRUE(PollUntil(
      *c, [&] { return c->ws->connect_times.size() >= 3; }, 100));
  EXPECT_TRUE(c->http->connect_times.empty());
  EXPECT_EQ(c->connection.back().second, "cannot reach fake-ws");
}

TEST(ClientTest, ReconnectsWithExponentialBackoffAndJitter) {
  FakeServer net;
  net.up = false;
  auto c = Start(net, Options(), /*with_fallback=*/false);
  ASSERT_TRUE((*c)->SetText("kept").ok());
  // Eight attempts while the server is down.
  ASSERT_TRUE(PollUntil(
      *c, [&] { return c->ws->connect_times.size() >= 8; }, 200));
  const std::vector<int64_t>& at = c->ws->connect_times;
  int64_t base = 500;
  for (size_t i = 1; i < 8; ++i) {
    const int64_t gap = at[i] - at[i - 1];
    EXPECT_GE(gap, base * 8 / 10) << "attempt " << i;
    EXPECT_LE(gap, base * 12 / 10 + 1) << "attempt " << i;
    base = std::min<int64_t>(base * 2, 8000);  // Capped at max_backoff.
  }
  EXPECT_EQ((*c)->connection_state(), ConnectionState::kOffline);
  ASSERT_FALSE(c->connection.empty());
  EXPECT_EQ(c->connection.back().first, ConnectionState::kOffline);
  EXPECT_EQ(c->connection.back().second, "cannot reach fake-ws");

  net.up = true;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return (*c)->in_sync(); }, 200));
  EXPECT_EQ(net.Text("doc"), "kept");
  EXPECT_EQ((*c)->transport(), "ws");

  // An answer reset the backoff: the next outage starts again at 500 ms.
  net.Down();
  const size_t before = c->ws->connect_times.size();
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());  // Finds the connection lost.
  ASSERT_EQ((*c)->connection_state(), ConnectionState::kOffline);
  const int64_t lost_at = net.clock.NowMillis();
  ASSERT_TRUE(PollUntil(
      *c, [&] { return c->ws->connect_times.size() > before; }, 200));
  const int64_t first_retry = c->ws->connect_times[before] - lost_at;
  EXPECT_GE(first_retry, 400);
  EXPECT_LE(first_retry, 601);
}

TEST(ClientTest, AnUnansweredRequestTimesOutAndIsResentAfterReconnecting) {
  FakeServer net;
  auto c = Start(net, Options(), /*with_fallback=*/false);
  ASSERT_TRUE(*(*c)->SyncNow());
  net.swallow = true;
  ASSERT_TRUE((*c)->SetText("lost once").ok());
  ASSERT_TRUE(PollUntil(*c, [&] {
    return (*c)->connection_state() == ConnectionState::kOffline;
  }));
  EXPECT_EQ(c->connection.back().second, "no answer from fake-ws within 5 s");
  EXPECT_EQ((*c)->pending_edits(), 1u);
  net.swallow = false;
  ASSERT_TRUE(PollUntil(*c, [&] { return (*c)->in_sync(); }));
  EXPECT_EQ(net.Text("doc"), "lost once");
}

TEST(ClientTest, FallsBackToHttpAndPollsWhenNoWebSocketOpens) {
  FakeServer net;
  net.refuse_websocket = true;
  auto a = Start(net);
  auto b = Start(net);
  ASSERT_TRUE(*(*b)->SyncNow());
  EXPECT_EQ((*b)->transport(), "http");
  const auto connected = b->connection.back();
  EXPECT_EQ(connected.first, ConnectionState::kConnected);
  EXPECT_EQ(connected.second, "no WebSocket at fake-ws");

  ASSERT_TRUE(*(*a)->SyncNow());  // Joined: the document's text wins.
  ASSERT_TRUE((*a)->SetText("polled").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  // No push over HTTP: b sees it at its next poll, poll_interval later.
  const int64_t start = net.clock.NowMillis();
  ASSERT_TRUE(
      PollUntil(*b, [&] { return (*b)->text().ToString() == "polled"; }));
  const int64_t waited = net.clock.NowMillis() - start;
  EXPECT_GT(waited, 0);
  EXPECT_LE(waited, 2000);
  EXPECT_FALSE(b->changes.back().push);
}

TEST(ClientTest, OnTheHttpFallbackTheWebSocketIsRetriedWithBackoff) {
  FakeServer net;
  net.refuse_websocket = true;
  ClientOptions options = Options();
  options.websocket_retry = seconds(2);
  auto c = Start(net, options);
  auto a = Start(net);
  ASSERT_TRUE(*(*c)->SyncNow());
  ASSERT_EQ((*c)->transport(), "http");
  // Retries 2 s, 4 s, then 8 s (max_backoff) apart, each with jitter,
  // while the exchanges go on over HTTP.
  ASSERT_TRUE(PollUntil(
      *c, [&] { return c->ws->connect_times.size() >= 5; }, 200));
  const std::vector<int64_t>& at = c->ws->connect_times;
  int64_t base = 2000;
  for (size_t i = 1; i < 5; ++i) {
    const int64_t gap = at[i] - at[i - 1];
    EXPECT_GE(gap, base * 8 / 10) << "retry " << i;
    EXPECT_LE(gap, base * 12 / 10 + 1) << "retry " << i;
    base = std::min<int64_t>(base * 2, 8000);
  }
  EXPECT_EQ((*c)->transport(), "http");
  EXPECT_GT(c->http->sent, 5);
  const size_t connected_events = c->connection.size();

  // The WebSocket opens at the next retry: the client moves to it, and
  // others' edits are pushed to it again.
  net.refuse_websocket = false;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return (*c)->transport() == "ws" && (*c)->in_sync(); }, 200));
  ASSERT_GT(c->connection.size(), connected_events);
  EXPECT_EQ(c->connection.back(),
            std::make_pair(ConnectionState::kConnected, std::string()));
  EXPECT_FALSE(c->http->connected());
  ASSERT_TRUE(*(*a)->SyncNow());  // Joined: the document's text wins.
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  const int http_sent = c->http->sent;
  const int ws_sent = c->ws->sent;
  ASSERT_TRUE((*a)->SetText("pushed again").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
  EXPECT_EQ((*c)->text().ToString(), "pushed again");
  EXPECT_TRUE(c->changes.back().push);
  EXPECT_EQ(c->ws->sent, ws_sent);
  EXPECT_EQ(c->http->sent, http_sent);
}

TEST(ClientTest, CarriesTheTokenOnEveryMessage) {
  FakeServer net;
  ClientOptions options = Options();
  options.token = "s3cret.token";
  auto c = Start(net, options);
  ASSERT_TRUE((*c)->SetText("x").ok());
  ASSERT_TRUE(*(*c)->SyncNow());
  ASSERT_FALSE(net.tokens.empty());
  for (const std::string& t : net.tokens) EXPECT_EQ(t, "s3cret.token");
}

TEST(ClientTest, ALosingHunkIsToldOnce) {
  FakeServer net;
  auto a = Start(net);
  auto b = Start(net);
  ASSERT_TRUE((*a)->SetText("colour: red").ok());
  ASSERT_TRUE(*(*a)->SyncNow());
  ASSERT_TRUE(*(*b)->SyncNow());
  net.Down();
  ASSERT_TRUE((*a)->SetText("colour: green").ok());
  ASSERT_TRUE((*b)->SetText("colour: blue").ok());
  ASSERT_FALSE(*(*a)->SyncNow());
  ASSERT_FALSE(*(*b)->SyncNow());
  net.up = true;
  ASSERT_TRUE(*(*a)->SyncNow());  // First to reach the server wins.
  ASSERT_TRUE(*(*b)->SyncNow());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*(*b)->SyncNow());
  EXPECT_EQ((*b)->text().ToString(), "colour: green");
  ASSERT_EQ(b->conflicts.size(), 1u);
  EXPECT_NE(b->conflicts[0].hunk.find("blue"), std::string::npos);
  EXPECT_TRUE(a->conflicts.empty());
}

std::string TempStatePath(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("diffsync_client_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".state.json");
  std::filesystem::remove(path);
  return path.string();
}

TEST(ClientTest, AClientKilledWhileOfflineResumesWithItsEdits) {
  FakeServer net;
  const std::string path = TempStatePath("offline");
  {
    auto c = Start(net, Options(path));
    ASSERT_TRUE(*(*c)->SyncNow());
    net.Down();
    ASSERT_TRUE((*c)->SetText("typed while offline").ok());
    ASSERT_TRUE((*c)->Poll(seconds(1)).ok());
    EXPECT_EQ((*c)->connection_state(), ConnectionState::kOffline);
  }  // Gone without a word, as a killed process.
  net.up = true;
  auto again = Start(net, Options(path));
  EXPECT_EQ((*again)->text().ToString(), "typed while offline");
  ASSERT_TRUE(*(*again)->SyncNow());
  EXPECT_EQ(net.Text("doc"), "typed while offline");
}

TEST(ClientTest, ARequestInFlightWhenKilledIsResentAndAppliedOnce) {
  FakeServer net;
  const std::string path = TempStatePath("in_flight");
  {
    auto c = Start(net, Options(path));
    ASSERT_TRUE((*c)->SetText("abc").ok());
    ASSERT_TRUE(*(*c)->SyncNow());
    ASSERT_TRUE((*c)->Replace(3, 0, "def").ok());
    net.hold = true;
    ASSERT_TRUE((*c)->Poll(milliseconds(0)).ok());  // Sent, not answered.
  }
  net.Release();  // The server applies it; the reply finds nobody.
  EXPECT_EQ(net.Text("doc"), "abcdef");
  auto again = Start(net, Options(path));
  ASSERT_TRUE(*(*again)->SyncNow());
  EXPECT_EQ(net.Text("doc"), "abcdef");
  EXPECT_EQ((*again)->text().ToString(), "abcdef");
  EXPECT_TRUE((*again)->in_sync());
}

TEST(ClientTest, AStateOfAnotherDocumentIsRefused) {
  FakeServer net;
  const std::string path = TempStatePath("other");
  {
    auto c = Start(net, Options(path));
    ASSERT_TRUE((*c)->Save().ok());
  }
  ClientOptions options = Options(path);
  options.document = "another";
  Result<std::unique_ptr<Client>> c =
      Client::OpenWith(options, {}, std::make_unique<FakeTransport>(net, true),
                       nullptr, net.clock);
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("document \"doc\""), std::string::npos);
}

}  // namespace
}  // namespace diffsync::client
