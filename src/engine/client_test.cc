#include "diffsync/engine/client.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "common/test_seed.h"
#include "diffsync/engine/server.h"

namespace diffsync::engine {
namespace {

// Sends `request` through the real codec; returns the decoded reply block.
Result<DocumentBlock> RoundTrip(Server& server, const std::string& client_id,
                                DocumentBlock request) {
  Message message;
  message.documents.push_back(std::move(request));
  message.documents.back().client_id = client_id;
  Result<std::string> wire = EncodeMessage(message);
  if (!wire.ok()) return wire.status();
  Result<Message> decoded = DecodeMessage(*wire);
  if (!decoded.ok()) return decoded.status();
  Result<Message> reply = server.Handle(*decoded);
  if (!reply.ok()) return reply.status();
  Result<std::string> reply_wire = EncodeMessage(*reply);
  if (!reply_wire.ok()) return reply_wire.status();
  Result<Message> reply_decoded = DecodeMessage(*reply_wire);
  if (!reply_decoded.ok()) return reply_decoded.status();
  return reply_decoded->documents.at(0);
}

void ExpectSameEffects(const Result<ReplyEffects>& a,
                       const Result<ReplyEffects>& b) {
  ASSERT_EQ(a.ok(), b.ok());
  if (!a.ok()) {
    EXPECT_EQ(a.status(), b.status());
    return;
  }
  EXPECT_EQ(a->text_changes, b->text_changes);
  EXPECT_EQ(a->dropped_hunks, b->dropped_hunks);
  EXPECT_EQ(a->conflicts, b->conflicts);
  EXPECT_EQ(a->errors, b->errors);
  EXPECT_EQ(a->resync, b->resync);
  EXPECT_EQ(a->push_ignored, b->push_ignored);
}

// Pieces of inserted text: ASCII, two- and three-byte characters, a
// character outside the BMP (two UTF-16 units), and line breaks the server
// rewrites.
constexpr std::array<std::string_view, 9> kPieces = {
    "a",  "bc",   "xyz ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
    "\n", "\r\n", "\r"};

// A random valid range of `text`: both ends on character boundaries.
std::pair<int64_t, int64_t> RandomRange(std::mt19937_64& rng,
                                        const Text& text) {
  const int64_t size = text.size16();
  int64_t pos = static_cast<int64_t>(rng() % (size + 1));
  if (!text.IsBoundary(pos)) --pos;
  int64_t end = pos + static_cast<int64_t>(rng() % 4);
  if (end > size) end = size;
  if (!text.IsBoundary(end)) ++end;
  return {pos, end - pos};
}

std::string RandomInsert(std::mt19937_64& rng) {
  std::string out;
  for (int n = static_cast<int>(rng() % 3); n > 0; --n) {
    out += kPieces[rng() % kPieces.size()];
  }
  return out;
}

// One random session of alice (the client under test) and bob against one
// server, with lost replies, late copies of requests, pushes and expired
// views. Alice has a twin, restored from her saved state now and then; both
// get the same local edits and the same replies, and must send the same
// requests and end in the same state as if the twin had never been saved.
void RunSession(uint64_t seed) {
  SCOPED_TRACE("session seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  ClientOptions options;
  options.merge = rng() % 4 != 0;
  options.send_checksums = rng() % 2 == 0;
  ServerOptions server_options;
  server_options.view_expiry_millis = 1000;
  if (rng() % 2 == 0) server_options.history_limit = 2;
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock, server_options);

  ClientDocument alice("doc", options);
  ClientDocument bob("doc", options);
  std::optional<ClientDocument> twin;
  // Alice's last request, for the network to deliver again.
  std::optional<DocumentBlock> last_request;
  auto restore_twin = [&](const ClientDocument& from) {
    const ClientState state = from.SaveState();
    Result<ClientDocument> restored = ClientDocument::Restore(state, options);
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    EXPECT_EQ(restored->SaveState(), state);
    twin.emplace(std::move(*restored));
  };
  restore_twin(alice);

  for (int step = 0; step < 60; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    switch (rng() % 11) {
      case 0:
      case 1: {  // Alice types.
        auto [pos, len] = RandomRange(rng, alice.text());
        const std::string insert = RandomInsert(rng);
        ASSERT_TRUE(alice.Replace(pos, len, insert).ok());
        ASSERT_TRUE(twin->Replace(pos, len, insert).ok());
        break;
      }
      case 2: {  // Alice's editor replaces the text without a hint.
        auto [pos, len] = RandomRange(rng, alice.text());
        const Text edited = alice.text().Replace(pos, len, RandomInsert(rng));
        alice.SetText(edited);
        twin->SetText(edited);
        break;
      }
      case 3:
      case 4:
      case 5: {  // Alice syncs; the reply is sometimes lost.
        const DocumentBlock request = alice.MakeRequest();
        ASSERT_EQ(twin->MakeRequest(), request);
        Result<DocumentBlock> reply = RoundTrip(server, "alice", request);
        ASSERT_TRUE(reply.ok()) << reply.status().ToString();
        last_request = request;
        if (rng() % 5 == 0) break;
        ExpectSameEffects(alice.HandleReply(*reply), twin->HandleReply(*reply));
        break;
      }
      case 6: {  // Bob edits and syncs.
        auto [pos, len] = RandomRange(rng, bob.text());
        ASSERT_TRUE(bob.Replace(pos, len, RandomInsert(rng)).ok());
        Result<DocumentBlock> reply =
            RoundTrip(server, "bob", bob.MakeRequest());
        ASSERT_TRUE(reply.ok()) << reply.status().ToString();
        ASSERT_TRUE(bob.HandleReply(*reply).ok());
        break;
      }
      case 7: {  // A push reaches alice.
        Result<Message> push = server.Push("alice", "doc");
        ASSERT_TRUE(push.ok()) << push.status().ToString();
        if (push->documents.empty()) break;
        ExpectSameEffects(alice.HandleReply(push->documents[0]),
                          twin->HandleReply(push->documents[0]));
        break;
      }
      case 8:
      case 9:  // Time passes; views may expire.
        clock.Advance(std::chrono::milliseconds(rng() % 1500));
        break;
      case 10:  // A copy of alice's last request reaches the server late;
                // her transport drops the reply to an answered request.
        if (last_request.has_value()) {
          ASSERT_TRUE(RoundTrip(server, "alice", *last_request).ok());
        }
        break;
    }
    // The twin is saved and restored (from either copy) now and then.
    if (rng() % 3 == 0) restore_twin(rng() % 2 == 0 ? alice : *twin);
    ASSERT_TRUE(alice.CheckInvariants().ok());
    ASSERT_TRUE(twin->CheckInvariants().ok());
    ASSERT_EQ(twin->SaveState(), alice.SaveState());
  }

  // A few quiet rounds: the copies still answer alike.
  for (int round = 0; round < 3; ++round) {
    const DocumentBlock request = alice.MakeRequest();
    ASSERT_EQ(twin->MakeRequest(), request);
    Result<DocumentBlock> reply = RoundTrip(server, "alice", request);
    ASSERT_TRUE(reply.ok());
    ExpectSameEffects(alice.HandleReply(*reply), twin->HandleReply(*reply));
  }
  EXPECT_EQ(twin->SaveState(), alice.SaveState());
}

TEST(ClientState, ARestoredClientBehavesExactlyAsTheOriginal) {
  const uint64_t seed = test_util::TestSeed(20250301);
  for (uint64_t i = 0; i < 1000; ++i) {
    RunSession(seed + i);
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(ClientState, ARestoreInTheMiddleOfAResyncRebasesTheSame) {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument doc("doc");
  ASSERT_TRUE(doc.Replace(0, 0, "shared").ok());
  for (int i = 0; i < 2; ++i) {
    Result<DocumentBlock> reply = RoundTrip(server, "c", doc.MakeRequest());
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(doc.HandleReply(*reply).ok());
  }
  ASSERT_TRUE(doc.Replace(6, 0, " text").ok());
  (void)doc.MakeRequest();  // Lost.
  // A reply counting edits this client never made (the server's view is of
  // an earlier client under its id) puts it out of step ...
  DocumentBlock foreign;
  foreign.document = "doc";
  foreign.version = doc.client_version() + 5;
  Result<ReplyEffects> fx = doc.HandleReply(foreign);
  ASSERT_TRUE(fx.ok());
  ASSERT_TRUE(fx->resync);
  ASSERT_TRUE(doc.Replace(0, 0, "> ").ok());
  // ... so its next request resyncs from the confirmed shadow, keeping what
  // was typed since as a change to rebase onto the server's answer.
  const DocumentBlock request = doc.MakeRequest();
  ASSERT_EQ(request.edits.size(), 1u);
  ASSERT_EQ(request.edits[0].kind, Edit::Kind::kRaw);
  const ClientState state = doc.SaveState();
  EXPECT_TRUE(state.rebase);
  EXPECT_FALSE(state.local_delta.has_value());
  EXPECT_NE(state.confirmed, state.text);
  Result<ClientDocument> restored = ClientDocument::Restore(state);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->SaveState(), state);
  Result<DocumentBlock> reply = RoundTrip(server, "c", request);
  ASSERT_TRUE(reply.ok());
  ExpectSameEffects(doc.HandleReply(*reply), restored->HandleReply(*reply));
  EXPECT_EQ(restored->SaveState(), doc.SaveState());
  for (ClientDocument* d : {&doc, &*restored}) {
    reply = RoundTrip(server, "c", d->MakeRequest());
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(d->HandleReply(*reply).ok());
    EXPECT_EQ(d->text().ToString(), "> shared text");
  }
  EXPECT_EQ(server.DocumentText("doc")->ToString(), "> shared text");
}

// What `diffsync sync` relies on: a client saved after every MakeRequest
// (before the request is sent) and after every HandleReply, and restored
// from its last save after a crash at any point, loses nothing: a crash is
// then a lost request or a lost reply, which the protocol recovers from.
TEST(ClientState, ACrashAnywhereLosesNothingWhenSavedAfterEachStep) {
  const uint64_t seed = test_util::TestSeed(20250301);
  for (uint64_t i = 0; i < 200; ++i) {
    SCOPED_TRACE("session seed " + std::to_string(seed + i));
    std::mt19937_64 rng(seed + i);
    MemoryStore store;
    ManualClock clock;
    Server server(store, clock);
    ClientDocument live("doc");
    ClientState saved = live.SaveState();
    auto crash = [&] {
      Result<ClientDocument> restored = ClientDocument::Restore(saved);
      ASSERT_TRUE(restored.ok()) << restored.status().ToString();
      live = std::move(*restored);
    };
    for (int step = 0; step < 40; ++step) {
      if (rng() % 2 == 0) {
        auto [pos, len] = RandomRange(rng, live.text());
        ASSERT_TRUE(live.Replace(pos, len, RandomInsert(rng)).ok());
        saved = live.SaveState();  // The file is saved once typing stops.
        continue;
      }
      const DocumentBlock request = live.MakeRequest();
      saved = live.SaveState();
      if (rng() % 4 == 0) {  // Crash before the request left.
        crash();
        continue;
      }
      Result<DocumentBlock> reply = RoundTrip(server, "alice", request);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      if (rng() % 4 == 0) {  // Crash before the reply was handled or saved.
        crash();
        continue;
      }
      ASSERT_TRUE(live.HandleReply(*reply).ok());
      ASSERT_TRUE(live.CheckInvariants().ok());
      saved = live.SaveState();
    }
    for (int round = 0; round < 3; ++round) {
      Result<DocumentBlock> reply =
          RoundTrip(server, "alice", live.MakeRequest());
      ASSERT_TRUE(reply.ok());
      ASSERT_TRUE(live.HandleReply(*reply).ok());
    }
    // A single writer: the server holds exactly what was typed.
    ASSERT_EQ(server.DocumentText("doc")->ToString(), live.text().ToString());
  }
}

TEST(ClientState, ANewClientRoundTripsAndJoins) {
  ClientDocument fresh("notes");
  const ClientState state = fresh.SaveState();
  EXPECT_EQ(state.document, "notes");
  EXPECT_EQ(state.local_delta, "");
  EXPECT_FALSE(state.joined);
  Result<ClientDocument> restored = ClientDocument::Restore(state);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->MakeRequest(), fresh.MakeRequest());
}

TEST(ClientState, EqualTextsShareStorageAfterRestore) {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument doc("doc");
  ASSERT_TRUE(doc.Replace(0, 0, "some text").ok());
  for (int i = 0; i < 2; ++i) {
    Result<DocumentBlock> reply = RoundTrip(server, "c", doc.MakeRequest());
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(doc.HandleReply(*reply).ok());
  }
  Result<ClientDocument> restored = ClientDocument::Restore(doc.SaveState());
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->text().SameStorage(restored->shadow()));
}

// A state with something in every field: joined, pending edits, a local
// change, and a confirmed shadow different from the shadow.
ClientState BusyState() {
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument doc("doc");
  EXPECT_TRUE(doc.Replace(0, 0, "a \xF0\x9F\x98\x80 b").ok());
  for (int i = 0; i < 2; ++i) {
    Result<DocumentBlock> reply = RoundTrip(server, "c", doc.MakeRequest());
    EXPECT_TRUE(reply.ok());
    EXPECT_TRUE(doc.HandleReply(*reply).ok());
  }
  EXPECT_TRUE(doc.Replace(0, 0, "1").ok());
  (void)doc.MakeRequest();  // Lost: stays on the stack.
  EXPECT_TRUE(doc.Replace(1, 0, "2").ok());
  (void)doc.MakeRequest();
  EXPECT_TRUE(doc.Replace(2, 0, "3").ok());
  ClientState state = doc.SaveState();
  EXPECT_EQ(state.edit_stack.size(), 2u);
  EXPECT_NE(state.text, state.shadow);
  EXPECT_NE(state.confirmed, state.shadow);
  return state;
}

TEST(ClientState, CorruptStatesAreRefusedNamingTheField) {
  const ClientState good = BusyState();
  ASSERT_TRUE(ClientDocument::Restore(good).ok());
  struct Case {
    std::string name;
    void (*corrupt)(ClientState&);
    std::string_view expected;
  };
  const Case cases[] = {
      {"empty document", [](ClientState& s) { s.document.clear(); },
       "client state: document: empty name"},
      {"document not UTF-8", [](ClientState& s) { s.document = "d\xC0"; },
       "client state: document: invalid UTF-8 at byte 1"},
      {"text not UTF-8", [](ClientState& s) { s.text += "\xFF"; },
       "client state: text: invalid UTF-8"},
      {"shadow not UTF-8",
       [](ClientState& s) { s.shadow = "\xED\xA0\x80"; },  // A surrogate.
       "client state: shadow: invalid UTF-8 at byte 0"},
      {"confirmed not UTF-8", [](ClientState& s) { s.confirmed = "\xE2\x82"; },
       "client state: confirmed: invalid UTF-8"},
      {"negative client version", [](ClientState& s) { s.client_version = -1; },
       "client state: client_version: -1 is outside"},
      {"server version too large",
       [](ClientState& s) { s.server_version = kMaxWireInteger + 1; },
       "client state: server_version: 9007199254740992 is outside"},
      {"edit past client version",
       [](ClientState& s) {
         s.edit_stack.back().version = s.client_version + 1;
       },
       "client state: edit_stack[1]: delta edit version"},
      {"delta edit at client version",
       [](ClientState& s) { s.edit_stack.back().version = s.client_version; },
       "client state: edit_stack[1]: delta edit version 4 is not below "
       "client_version 4"},
      {"raw edit past client version",
       [](ClientState& s) {
         s.edit_stack.back().kind = Edit::Kind::kRaw;
         s.edit_stack.back().version = s.client_version + 1;
       },
       "client state: edit_stack[1]: raw edit version 5 is not at most "
       "client_version 4"},
      {"edits out of order",
       [](ClientState& s) {
         s.edit_stack.back().version = s.edit_stack.front().version;
       },
       "does not follow version"},
      {"negative edit version",
       [](ClientState& s) { s.edit_stack.front().version = -5; },
       "client state: edit_stack[0].version: -5 is outside"},
      {"malformed delta",
       [](ClientState& s) { s.edit_stack.front().data = "=1\t*2"; },
       "client state: edit_stack[0]: delta:"},
      {"line break in a delta",
       [](ClientState& s) { s.edit_stack.front().data = "=1\t+a\rb"; },
       "client state: edit_stack[0]: line break at byte 5 of the delta"},
      {"raw text not UTF-8",
       [](ClientState& s) {
         s.edit_stack.front().kind = Edit::Kind::kRaw;
         s.edit_stack.front().data = "\xFE";
       },
       "client state: edit_stack[0]: raw text: invalid UTF-8"},
      {"local delta longer than the shadow",
       [](ClientState& s) { *s.local_delta += "\t=1"; },
       "client state: local_delta: delta: counts exceed"},
      {"local delta to another text", [](ClientState& s) { s.text += "!"; },
       "client state: local_delta: does not turn the shadow into the text"},
      {"local delta splitting a character",
       [](ClientState& s) {
         // Shadow "a 😀 b": delete the first half of the emoji only.
         s.text = s.shadow = s.confirmed = "a \xF0\x9F\x98\x80 b";
         s.local_delta = "=3\t-1\t=2";
       },
       "client state: local_delta:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ClientState bad = good;
    c.corrupt(bad);
    Result<ClientDocument> restored = ClientDocument::Restore(bad);
    ASSERT_FALSE(restored.ok());
    EXPECT_EQ(restored.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(restored.status().message().find(c.expected), std::string::npos)
        << restored.status().message();
  }
}

TEST(ClientState, AnUnknownLocalChangeIsDiffedOnTheNextRequest) {
  ClientDocument doc("doc");
  doc.SetText(Text::FromValidUtf8("typed"));
  const ClientState state = doc.SaveState();
  EXPECT_FALSE(state.local_delta.has_value());
  Result<ClientDocument> restored = ClientDocument::Restore(state);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->SaveState(), state);
  EXPECT_EQ(restored->MakeRequest(), doc.MakeRequest());
}

TEST(ClientPush, APushThatCountsFewerEditsThanWeNumberedChangesNothing) {
  // It was made before the server saw our latest request; its R would
  // renumber the edit that request carries.
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  ClientDocument doc("doc");
  ASSERT_TRUE(doc.Replace(0, 0, "ours").ok());
  Result<DocumentBlock> joined = RoundTrip(server, "alice", doc.MakeRequest());
  ASSERT_TRUE(joined.ok());
  ASSERT_TRUE(doc.HandleReply(*joined).ok());
  ASSERT_TRUE(doc.Replace(4, 0, " too").ok());
  const int64_t counted = doc.client_version();
  doc.MakeRequest();  // Sent; its reply never comes.
  const ClientState before = doc.SaveState();

  DocumentBlock push;
  push.document = "doc";
  push.version = counted;
  push.metadata.push_back({"push", ""});
  Edit raw;
  raw.kind = Edit::Kind::kRaw;
  raw.version = doc.server_version();
  raw.data = "theirs";
  push.edits.push_back(raw);
  Result<ReplyEffects> fx = doc.HandleReply(push);
  ASSERT_TRUE(fx.ok());
  EXPECT_TRUE(fx->push_ignored);
  EXPECT_TRUE(fx->text_changes.empty());
  EXPECT_EQ(doc.SaveState(), before);

  // The same block as a reply to our request is taken.
  push.metadata.clear();
  fx = doc.HandleReply(push);
  ASSERT_TRUE(fx.ok());
  EXPECT_FALSE(fx->push_ignored);
  EXPECT_EQ(doc.client_version(), counted);
  EXPECT_EQ(doc.shadow().ToString(), "theirs");
}

TEST(ClientJoin, AReplyFromBeforeOurTextLeavesUsJoiningWithAValidState) {
  // A reply that acknowledges less than our join and brings no R answers a
  // request from before it: taking it would number a delta at the join's
  // version, a stack no client could be restored from.
  ClientDocument doc("doc");
  ASSERT_TRUE(doc.Replace(0, 0, "ours").ok());
  const DocumentBlock join = doc.MakeRequest();
  ASSERT_EQ(join.edits.size(), 1u);
  ASSERT_EQ(join.edits[0].kind, Edit::Kind::kRaw);
  DocumentBlock stale;
  stale.document = "doc";
  stale.version = join.edits[0].version - 1;
  Result<ReplyEffects> fx = doc.HandleReply(stale);
  ASSERT_TRUE(fx.ok());
  EXPECT_FALSE(doc.in_sync());
  ASSERT_TRUE(doc.CheckInvariants().ok());
  ASSERT_TRUE(doc.Replace(4, 0, "!").ok());
  const DocumentBlock again = doc.MakeRequest();
  ASSERT_EQ(again.edits.size(), 1u);
  EXPECT_EQ(again.edits[0].kind, Edit::Kind::kRaw);
  EXPECT_EQ(again.edits[0].data, "ours!");
  EXPECT_GT(again.edits[0].version, join.edits[0].version);
  Result<ClientDocument> restored = ClientDocument::Restore(doc.SaveState());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();

  // The server's real answer to it joins us.
  MemoryStore store;
  ManualClock clock;
  Server server(store, clock);
  Result<DocumentBlock> reply = RoundTrip(server, "alice", again);
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(doc.HandleReply(*reply).ok());
  EXPECT_TRUE(doc.in_sync());
  EXPECT_EQ(server.DocumentText("doc")->ToString(), "ours!");
}

}  // namespace
}  // namespace diffsync::engine
