#include <gtest/gtest.h>

#include <memory>

#include "diffsync/engine/client.h"
#include "diffsync/engine/server.h"
#include "engine/sim_harness.h"

namespace diffsync::engine {
namespace {

// One client and a server joined by a perfect in-process wire (through the
// real codec).
class Loop {
 public:
  explicit Loop(ServerOptions options = {})
      : server_(store_, clock_, std::move(options)) {}
  ManualClock& clock() { return clock_; }

  Status Sync(const std::string& client_id, ClientDocument& doc) {
    Message request;
    request.documents.push_back(doc.MakeRequest());
    request.documents.back().client_id = client_id;
    Result<std::string> wire = EncodeMessage(request);
    if (!wire.ok()) return wire.status();
    Result<Message> decoded = DecodeMessage(*wire);
    if (!decoded.ok()) return decoded.status();
    Result<Message> reply = server_.Handle(*decoded);
    if (!reply.ok()) return reply.status();
    Result<std::string> reply_wire = EncodeMessage(*reply);
    if (!reply_wire.ok()) return reply_wire.status();
    Result<Message> reply_decoded = DecodeMessage(*reply_wire);
    if (!reply_decoded.ok()) return reply_decoded.status();
    last_reply_ = *reply_wire;
    Result<ReplyEffects> fx = doc.HandleReply(reply_decoded->documents.at(0));
    if (!fx.ok()) return fx.status();
    effects_ = *fx;
    if (Status s = server_.CheckInvariants(); !s.ok()) return s;
    return doc.CheckInvariants();
  }

  // Delivers a push for `client_id`, if the server has one, to `doc`.
  // Returns whether one was delivered.
  Result<bool> DeliverPush(const std::string& client_id, ClientDocument& doc) {
    Result<Message> push = server_.Push(client_id, doc.document());
    if (!push.ok()) return push.status();
    if (push->documents.empty()) return false;
    Result<ReplyEffects> fx = doc.HandleReply(push->documents[0]);
    if (!fx.ok()) return fx.status();
    if (Status s = doc.CheckInvariants(); !s.ok()) return s;
    return true;
  }

  Server& server() { return server_; }
  sim::FlakyStore& store() { return store_; }
  const ReplyEffects& effects() const { return effects_; }
  const std::string& last_reply() const { return last_reply_; }

 private:
  sim::FlakyStore store_;  // A MemoryStore unless told to fail a commit.
  ManualClock clock_;
  Server server_;
  ReplyEffects effects_;
  std::string last_reply_;
};

TEST(Sync, TwoClientsConvergeWithIndependentEdits) {
  Loop loop;
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "The cat sat on the mat.").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  EXPECT_EQ(b.text().ToString(), "The cat sat on the mat.");
  ASSERT_TRUE(a.Replace(4, 3, "dog").ok());         // The dog sat ...
  ASSERT_TRUE(b.Replace(19, 3, "rug").ok());        // ... on the rug.
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(a.text().ToString(), "The dog sat on the rug.");
  EXPECT_EQ(b.text().ToString(), "The dog sat on the rug.");
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(),
            "The dog sat on the rug.");
}

TEST(Sync, RepeatedTextIsMergedWhereItWasTyped) {
  // Fuzzy patching cannot tell the copies of "abab" apart; exact mapping can.
  Loop loop;
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "abab abab abab abab").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  ASSERT_TRUE(a.Replace(15, 0, "X").ok());   // In the fourth copy.
  ASSERT_TRUE(b.Replace(0, 0, "YYYYYYYY").ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  EXPECT_EQ(a.text().ToString(), "YYYYYYYYabab abab abab Xabab");
  EXPECT_EQ(b.text().ToString(), a.text().ToString());
  EXPECT_EQ(loop.server().stats().dropped_hunks, 0);
  EXPECT_EQ(loop.server().stats().diffed_merges, 0);
}

TEST(Sync, AnExpiredViewResyncsWithoutLosingTheClientsEdits) {
  ServerOptions options;
  options.view_expiry_millis = 1000;
  Loop loop(options);
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "shared text").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  // Both go quiet past the expiry; both views are forgotten.
  loop.clock().Advance(std::chrono::seconds(5));
  ASSERT_TRUE(a.Replace(0, 0, ">> ").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  // Her delta no longer fits a view: she gets the whole text, and her edit,
  // already sent but never acknowledged, is rebased onto it, not dropped.
  EXPECT_EQ(loop.server().stats().resyncs, 1);
  EXPECT_EQ(a.text().ToString(), ">> shared text");
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), ">> shared text");
  ASSERT_TRUE(b.Replace(11, 0, "!").ok());  // "shared text!"
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  EXPECT_EQ(loop.server().stats().resyncs, 2);
  EXPECT_EQ(b.text().ToString(), ">> shared text!");
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(a.text().ToString(), ">> shared text!");
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), ">> shared text!");
}

TEST(Sync, AnEditPastTheSizeLimitIsRefusedNotTruncated) {
  ServerOptions options;
  options.max_document_units = 10;
  Loop loop(options);
  ClientDocument a("doc");
  ASSERT_TRUE(a.Replace(0, 0, "short").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(a.Replace(5, 0, " and far too long").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_EQ(loop.effects().errors.size(), 1u);
  EXPECT_EQ(loop.effects().errors[0].code, "too-large");
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), "short");
  // The client is resynced to the document; its refused text is not kept
  // in the document and the client is told why.
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), "short");
}

TEST(Push, AnIdleClientReceivesEditsWithoutAsking) {
  Loop loop;
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "hello").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  Result<bool> none = loop.DeliverPush("bob", b);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none) << "nothing changed since bob's last reply";
  ASSERT_TRUE(a.Replace(5, 0, " world").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(loop.server().changed_documents(),
            std::vector<std::string>{"doc"});
  Result<bool> pushed = loop.DeliverPush("bob", b);
  ASSERT_TRUE(pushed.ok());
  EXPECT_TRUE(*pushed);
  EXPECT_EQ(b.text().ToString(), "hello world");
  // One push at a time: the next waits for bob's request.
  ASSERT_TRUE(a.Replace(0, 0, ">").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_FALSE(*loop.DeliverPush("bob", b));
  ASSERT_TRUE(b.Replace(11, 0, "!").ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  EXPECT_EQ(b.text().ToString(), ">hello world!");
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(a.text().ToString(), ">hello world!");
}

TEST(Push, APushThatCrossesARequestOrIsLostIsRolledBack) {
  // The client ignores a push that arrives while it waits for a reply (or
  // never gets it): its request acknowledges the version before the push,
  // which is the push's backup.
  Loop loop;
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "one two").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  ASSERT_TRUE(a.Replace(0, 0, "zero ").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  Result<Message> push = loop.server().Push("bob", "doc");
  ASSERT_TRUE(push.ok());
  ASSERT_EQ(push->documents.size(), 1u);
  ASSERT_EQ(push->documents[0].metadata.size(), 1u);
  EXPECT_EQ(push->documents[0].metadata[0].key, "push");
  // Dropped: bob edits and syncs as if it never came.
  ASSERT_TRUE(b.Replace(7, 0, " three").ok());
  ASSERT_TRUE(loop.Sync("bob", b).ok());
  EXPECT_EQ(b.text().ToString(), "zero one two three");
  EXPECT_EQ(loop.server().stats().resyncs, 0);
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(a.text().ToString(), "zero one two three");
}

TEST(Push, APushWhoseCommitFailsChangesNothing) {
  // Two servers in the same state; on one the first push fails to commit.
  auto prepare = [](Loop& loop, ClientDocument& a, ClientDocument& b) {
    ASSERT_TRUE(a.Replace(0, 0, "one two").ok());
    ASSERT_TRUE(loop.Sync("alice", a).ok());
    ASSERT_TRUE(loop.Sync("bob", b).ok());
    ASSERT_TRUE(a.Replace(0, 0, "zero ").ok());
    ASSERT_TRUE(loop.Sync("alice", a).ok());
  };
  Loop failing, plain;
  ClientDocument a1("doc"), b1("doc"), a2("doc"), b2("doc");
  prepare(failing, a1, b1);
  prepare(plain, a2, b2);
  failing.store().FailNextCommit();
  EXPECT_FALSE(failing.server().Push("bob", "doc").ok());
  ASSERT_TRUE(failing.server().CheckInvariants().ok());
  // The view is as it was: the push made again is the one never failed.
  Result<Message> again = failing.server().Push("bob", "doc");
  Result<Message> first = plain.server().Push("bob", "doc");
  ASSERT_TRUE(again.ok() && first.ok());
  ASSERT_EQ(again->documents.size(), 1u);
  EXPECT_EQ(*EncodeMessage(*again), *EncodeMessage(*first));
  ASSERT_TRUE(b1.HandleReply(again->documents[0]).ok());
  EXPECT_EQ(b1.text().ToString(), "zero one two");
  ASSERT_TRUE(b1.Replace(12, 0, " three").ok());
  ASSERT_TRUE(failing.Sync("bob", b1).ok());
  ASSERT_TRUE(failing.Sync("alice", a1).ok());
  EXPECT_EQ(a1.text().ToString(), "zero one two three");
  EXPECT_EQ(failing.server().stats().resyncs, 0);
}

TEST(Push, DropCacheFallsBackToTheStore) {
  Loop loop;
  ClientDocument a("doc");
  ASSERT_TRUE(a.Replace(0, 0, "kept").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  loop.server().DropCache();
  EXPECT_TRUE(loop.server().ClientsOf("doc").empty());
  ASSERT_TRUE(a.Replace(4, 0, "!").ok());
  ASSERT_TRUE(loop.Sync("alice", a).ok());
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), "kept!");
  EXPECT_EQ(loop.server().stats().resyncs, 0);
}

}  // namespace
}  // namespace diffsync::engine

namespace diffsync::engine {
namespace {

TEST(Sync, AClientThatLostItsStateJoinsAgainUnderItsId) {
  // A client restarted without its state (n = m = 0) under an id whose view
  // the server still has. The server's answer is about the old state; the
  // client sees that, joins again, and its later edits count.
  Loop loop;
  ClientDocument old_self("doc");
  ASSERT_TRUE(old_self.Replace(0, 0, "server text").ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(old_self.Replace(0, 0, "+").ok());
    ASSERT_TRUE(loop.Sync("alice", old_self).ok());
  }
  ClientDocument reborn("doc");
  ASSERT_TRUE(loop.Sync("alice", reborn).ok());
  EXPECT_TRUE(loop.effects().resync);
  ASSERT_TRUE(loop.Sync("alice", reborn).ok());
  EXPECT_EQ(reborn.text().ToString(), "+++server text");
  ASSERT_TRUE(reborn.Replace(0, 0, "x").ok());
  ASSERT_TRUE(loop.Sync("alice", reborn).ok());
  EXPECT_EQ(loop.server().DocumentText("doc")->ToString(), "x+++server text");
}

}  // namespace
}  // namespace diffsync::engine

namespace diffsync::engine {
namespace {

// Runs one cycle of `doc` as `client_id` against `server`.
void Cycle(Server& server, const std::string& client_id, ClientDocument& doc) {
  Message request;
  request.documents.push_back(doc.MakeRequest());
  request.documents.back().client_id = client_id;
  Result<Message> reply = server.Handle(*DecodeMessage(*EncodeMessage(request)));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(doc.HandleReply(reply->documents.at(0)).ok());
}

TEST(Sync, MergesStayExactAcrossARestart) {
  // The history of changes and each view's anchor are stored, so the first
  // merge after a restart still lands each edit where it was typed, even in
  // repeated text where a diff could not tell the copies apart.
  MemoryStore store;
  ManualClock clock;
  ClientDocument a("doc"), b("doc");
  {
    Server server(store, clock);
    ASSERT_TRUE(a.Replace(0, 0, "ab|ab|ab|").ok());
    Cycle(server, "alice", a);
    Cycle(server, "bob", b);
    ASSERT_TRUE(b.Replace(9, 0, "ab|").ok());  // bob appends a copy.
    Cycle(server, "bob", b);
  }
  // Restarted. Alice, offline meanwhile, typed inside the second copy; her
  // shadow predates bob's append.
  Server server(store, clock);
  ASSERT_TRUE(a.Replace(4, 0, "X").ok());  // ab|aXb|ab|
  Cycle(server, "alice", a);
  Cycle(server, "bob", b);
  EXPECT_EQ(a.text().ToString(), "ab|aXb|ab|ab|");
  EXPECT_EQ(b.text().ToString(), "ab|aXb|ab|ab|");
  EXPECT_EQ(server.stats().diffed_merges, 0);
  EXPECT_EQ(server.stats().resyncs, 0);
}

TEST(Sync, ALongHistoryIsTrimmedInTheStore) {
  MemoryStore store;
  ManualClock clock;
  ServerOptions options;
  options.history_limit = 4;
  Server server(store, clock, options);
  ClientDocument a("doc");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a.Replace(0, 0, "x").ok());
    Cycle(server, "alice", a);
  }
  Result<std::vector<ChangeRecord>> kept = store.LoadChanges("doc", 0);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 4u);
  EXPECT_EQ(kept->back().revision + 1,
            (*store.LoadDocument("doc"))->revision);
}

}  // namespace
}  // namespace diffsync::engine

namespace diffsync::engine {
namespace {

TEST(Sync, IdleViewsUnloadAndReloadExactly) {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument a("doc"), b("doc");
  ASSERT_TRUE(a.Replace(0, 0, "ab|ab|").ok());
  Cycle(server, "alice", a);
  Cycle(server, "bob", b);
  clock.Advance(std::chrono::minutes(20));
  Cycle(server, "alice", a);  // Alice stays active, bob goes idle.
  EXPECT_EQ(server.UnloadIdle(clock.NowMillis() - 60'000), 1u);
  EXPECT_EQ(server.loaded_views(), 1u);
  EXPECT_EQ(server.loaded_documents(), 1u);
  EXPECT_EQ(server.UnloadIdle(clock.NowMillis() + 1), 1u);
  EXPECT_EQ(server.loaded_documents(), 0u);
  // Both come back from the store and merge exactly.
  ASSERT_TRUE(a.Replace(3, 0, "X").ok());
  ASSERT_TRUE(b.Replace(6, 0, "ab|").ok());
  Cycle(server, "alice", a);
  Cycle(server, "bob", b);
  Cycle(server, "alice", a);
  EXPECT_EQ(a.text().ToString(), "ab|Xab|ab|");
  EXPECT_EQ(b.text().ToString(), a.text().ToString());
  EXPECT_EQ(server.stats().diffed_merges, 0);
  EXPECT_EQ(server.stats().resyncs, 0);
}

}  // namespace
}  // namespace diffsync::engine

namespace diffsync::engine {
namespace {

TEST(Sync, ALateCopyOfARequestAnsweredByAResyncChangesNothing) {
  // Alice's view expired; her next request is answered with the whole text
  // (and a new client version). A late copy of that request must get the
  // same answer, not a second resync: one would renumber her edits again,
  // and her next edit, numbered after the first resync, would be taken as
  // already applied and silently dropped.
  ServerOptions options;
  options.view_expiry_millis = 1000;
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock, options);
  ClientDocument alice("doc");
  ASSERT_TRUE(alice.Replace(0, 0, "shared").ok());
  Cycle(server, "alice", alice);
  Cycle(server, "alice", alice);
  clock.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(alice.Replace(6, 0, " text").ok());
  Message request;
  request.documents.push_back(alice.MakeRequest());
  request.documents.back().client_id = "alice";
  const Message sent = *DecodeMessage(*EncodeMessage(request));
  Result<Message> first = server.Handle(sent);
  ASSERT_TRUE(first.ok());
  Result<Message> copy = server.Handle(sent);  // The network's late copy.
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->documents.at(0).version, first->documents.at(0).version);
  EXPECT_EQ(copy->documents[0].edits, first->documents[0].edits);
  ASSERT_TRUE(alice.HandleReply(first->documents[0]).ok());
  EXPECT_EQ(alice.text().ToString(), "shared text");
  ASSERT_TRUE(alice.Replace(0, 0, ">").ok());
  Cycle(server, "alice", alice);
  Cycle(server, "alice", alice);
  EXPECT_EQ(server.DocumentText("doc")->ToString(), ">shared text");
  EXPECT_EQ(alice.text().ToString(), ">shared text");
}

TEST(Push, AStalePushRepeatingAResyncDoesNotRenumberTheClientsEdits) {
  // Found by the simulation (seed 128309). Alice takes a resync (R) and
  // sends edit n; that request times out on her side but still reaches the
  // server later. Meanwhile a push made before it arrived, whose stack
  // still starts with the same R, reaches her while she waits for nothing.
  // Taking it would number her next edit n again: the server, which has
  // applied the late edit n by then, would skip it as a duplicate and her
  // text would differ from the server's forever.
  ServerOptions options;
  options.view_expiry_millis = 1000;
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock, options);
  // Without checksums, as in the seed: nothing else notices the loss.
  ClientOptions no_checksums;
  no_checksums.send_checksums = false;
  ClientDocument alice("doc", no_checksums), bob("doc", no_checksums);
  ASSERT_TRUE(alice.Replace(0, 0, "one two").ok());
  Cycle(server, "alice", alice);
  Cycle(server, "bob", bob);
  clock.Advance(std::chrono::seconds(5));
  Cycle(server, "bob", bob);
  Cycle(server, "alice", alice);  // Her view expired: the answer is an R.
  const int64_t after_resync = alice.client_version();

  ASSERT_TRUE(alice.Replace(3, 0, " and a half").ok());
  Message timed_out;
  timed_out.documents.push_back(alice.MakeRequest());
  timed_out.documents.back().client_id = "alice";
  const Message late = *DecodeMessage(*EncodeMessage(timed_out));

  ASSERT_TRUE(bob.Replace(7, 0, " three").ok());
  Cycle(server, "bob", bob);
  Result<Message> push = server.Push("alice", "doc");
  ASSERT_TRUE(push.ok());
  ASSERT_EQ(push->documents.size(), 1u);
  const DocumentBlock& pushed = push->documents[0];
  ASSERT_FALSE(pushed.edits.empty());
  ASSERT_EQ(pushed.edits[0].kind, Edit::Kind::kRaw);
  EXPECT_EQ(pushed.version, after_resync);
  Result<ReplyEffects> fx = alice.HandleReply(pushed);
  ASSERT_TRUE(fx.ok());
  EXPECT_TRUE(fx->push_ignored);
  EXPECT_TRUE(fx->text_changes.empty());
  EXPECT_EQ(alice.client_version(), after_resync + 1);
  ASSERT_TRUE(alice.CheckInvariants().ok());

  ASSERT_TRUE(server.Handle(late).ok());  // Its reply is stale: discarded.
  ASSERT_TRUE(alice.Replace(0, 0, ">").ok());
  for (int i = 0; i < 3; ++i) {
    Cycle(server, "alice", alice);
    Cycle(server, "bob", bob);
  }
  EXPECT_EQ(server.DocumentText("doc")->ToString(),
            ">one and a half two three");
  EXPECT_EQ(alice.text().ToString(), ">one and a half two three");
  EXPECT_EQ(bob.text().ToString(), ">one and a half two three");
}

// Server to server: B is linked to A as one more client; edits of A's and
// B's own clients reach everyone, a lost reply on the link rolls A's view of
// B back to its backup, and a lost link request is resent whole.
TEST(SyncTest, ServerToServerCarriesEditsBothWaysThroughLostMessages) {
  Loop a;
  Loop b;
  ClientDocument alice("notes");  // On A.
  ClientDocument bob("notes");    // On B.
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  // The link's exchange, with the reply optionally lost.
  auto link = [&](bool lose_reply) -> Status {
    Result<Message> up = b.server().MakeUpstreamRequest("b", "notes");
    if (!up.ok()) return up.status();
    Result<Message> down = a.server().Handle(*up);
    if (!down.ok()) return down.status();
    if (lose_reply) return Status::Ok();
    if (Status s = b.server().HandleUpstreamReply("b", down->documents.at(0));
        !s.ok()) {
      return s;
    }
    if (Status s = a.server().CheckInvariants(); !s.ok()) return s;
    return b.server().CheckInvariants();
  };
  ASSERT_TRUE(link(false).ok());
  ASSERT_TRUE(b.Sync("bob", bob).ok());
  EXPECT_EQ(bob.text().ToString(), "Hello world");

  // Both sides type; the first link reply is lost, the second request
  // carries the same edit again and A rolls back to its backup.
  ASSERT_TRUE(alice.Replace(0, 5, "Howdy").ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  ASSERT_TRUE(bob.Replace(11, 0, "!").ok());
  ASSERT_TRUE(b.Sync("bob", bob).ok());
  ASSERT_TRUE(link(/*lose_reply=*/true).ok());
  ASSERT_TRUE(bob.Replace(0, 0, ">").ok());
  ASSERT_TRUE(b.Sync("bob", bob).ok());
  ASSERT_TRUE(link(false).ok());
  ASSERT_TRUE(link(false).ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  ASSERT_TRUE(b.Sync("bob", bob).ok());
  EXPECT_EQ(alice.text().ToString(), ">Howdy world!");
  EXPECT_EQ(bob.text().ToString(), ">Howdy world!");
  EXPECT_EQ(a.server().DocumentText("notes")->ToString(), ">Howdy world!");
  EXPECT_TRUE(b.server().UpstreamInSync("b", "notes"));
  EXPECT_EQ(a.server().stats().dropped_hunks, 0);
  EXPECT_EQ(b.server().stats().dropped_hunks, 0);
  EXPECT_EQ(a.server().stats().resyncs, 0);
  // A reply for a link B does not have is refused.
  DocumentBlock stray;
  stray.document = "other";
  EXPECT_EQ(b.server().HandleUpstreamReply("b", stray).code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace diffsync::engine

namespace diffsync::engine {
namespace {

// Server to server across restarts of the downstream: B is destroyed and
// made again over its store at each point of the link's cycle (after the
// request is made and before its reply, with the request lost, with the
// reply lost, after the reply), while the clients of both servers keep
// editing. The link's state is stored before its request leaves, so every
// edit either side acknowledged ends in both documents, exactly once.
TEST(SyncTest, ServerToServerLosesNoEditWhenTheDownstreamRestarts) {
  Loop a;
  MemoryStore b_store;
  ManualClock b_clock;
  auto b = std::make_unique<Server>(b_store, b_clock);
  auto restart_b = [&] { b = std::make_unique<Server>(b_store, b_clock); };
  ClientDocument alice("notes");  // On A.
  ClientDocument bob("notes");    // On B.
  auto check = [&]() -> Status {
    if (Status s = a.server().CheckInvariants(); !s.ok()) return s;
    return b->CheckInvariants();
  };
  auto deliver = [&](const Message& up) -> Status {
    Result<Message> down =
        a.server().Handle(*DecodeMessage(*EncodeMessage(up)));
    if (!down.ok()) return down.status();
    if (Status s = b->HandleUpstreamReply("b", down->documents.at(0));
        !s.ok()) {
      return s;
    }
    return check();
  };
  auto link = [&]() -> Status {
    Result<Message> up = b->MakeUpstreamRequest("b", "notes");
    if (!up.ok()) return up.status();
    return deliver(*up);
  };
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  ASSERT_TRUE(link().ok());
  Cycle(*b, "bob", bob);
  ASSERT_EQ(bob.text().ToString(), "Hello world");

  // Restarted after the request was made; its reply reaches the new server.
  ASSERT_TRUE(bob.Replace(bob.text().size16(), 0, " b1").ok());
  Cycle(*b, "bob", bob);
  ASSERT_TRUE(alice.Replace(0, 0, "a1 ").ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  Result<Message> up = b->MakeUpstreamRequest("b", "notes");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  restart_b();
  ASSERT_TRUE(deliver(*up).ok());

  // Restarted with the request lost: the new server resends the stack.
  ASSERT_TRUE(bob.Replace(bob.text().size16(), 0, " b2").ok());
  Cycle(*b, "bob", bob);
  ASSERT_TRUE(b->MakeUpstreamRequest("b", "notes").ok());
  restart_b();
  ASSERT_TRUE(link().ok());

  // Restarted with the reply lost: A applied the edit, and bob's next one,
  // made before the link's next cycle, must not be numbered at its version.
  ASSERT_TRUE(bob.Replace(bob.text().size16(), 0, " b3").ok());
  Cycle(*b, "bob", bob);
  up = b->MakeUpstreamRequest("b", "notes");
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE(a.server().Handle(*up).ok());
  restart_b();
  Cycle(*b, "bob", bob);
  ASSERT_TRUE(bob.Replace(bob.text().size16(), 0, " b4").ok());
  Cycle(*b, "bob", bob);
  ASSERT_TRUE(alice.Replace(0, 0, "a2 ").ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  ASSERT_TRUE(link().ok());

  // Restarted after a whole cycle.
  ASSERT_TRUE(bob.Replace(bob.text().size16(), 0, " b5").ok());
  Cycle(*b, "bob", bob);
  ASSERT_TRUE(link().ok());
  restart_b();
  ASSERT_TRUE(link().ok());
  ASSERT_TRUE(a.Sync("alice", alice).ok());
  Cycle(*b, "bob", bob);

  const std::string want = "a2 a1 Hello world b1 b2 b3 b4 b5";
  EXPECT_EQ(alice.text().ToString(), want);
  EXPECT_EQ(bob.text().ToString(), want);
  EXPECT_EQ(a.server().DocumentText("notes")->ToString(), want);
  EXPECT_EQ(b->DocumentText("notes")->ToString(), want);
  EXPECT_TRUE(b->UpstreamInSync("b", "notes"));
  EXPECT_TRUE(check().ok());
  EXPECT_EQ(a.server().stats().resyncs, 0);
  EXPECT_EQ(a.server().stats().dropped_hunks, 0);
  EXPECT_EQ(b->stats().dropped_hunks, 0);
  EXPECT_EQ(b->stats().diffed_merges, 0);
}

}  // namespace
}  // namespace diffsync::engine
