// MobWrite's classic synchronization cases, in our words: the conversations
// of its server test suite (literal request text in, exact reply text out)
// and the packet-loss cases of Fraser's paper, driven through our Server
// and ClientDocument over the real wire codec.
//
// Where our server says more than MobWrite's daemon (the `x:` error and `c:`
// conflict extension lines), the reply is MobWrite's plus those lines;
// everything MobWrite's client reads is byte for byte what its daemon sends.
// Our ClientDocument adds `h:` checksum lines after its edits (CRC-32 of the
// shadow; MobWrite's peers skip them), and the server answers a client that
// sends them with one after its last edit when that edit changes something.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "diffsync/engine/client.h"
#include "diffsync/engine/clock.h"
#include "diffsync/engine/protocol.h"
#include "diffsync/engine/server.h"
#include "diffsync/engine/store.h"

namespace diffsync::engine {
namespace {

// A server spoken to in wire text, and the client-side steps around it, so
// that a test can lose, repeat or reorder any message.
class Wire {
 public:
  Wire() : server_(store_, clock_) {}

  // The server's reply to the request `question`, as wire text.
  std::string Ask(std::string_view question) {
    Result<Message> request = DecodeMessage(question);
    if (!request.ok()) {
      ADD_FAILURE() << "bad request: " << request.status().ToString();
      return "";
    }
    Result<Message> reply = server_.Handle(*request);
    if (!reply.ok()) {
      ADD_FAILURE() << "server: " << reply.status().ToString();
      return "";
    }
    const Status invariants = server_.CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants.ToString();
    Result<std::string> wire = EncodeMessage(*reply);
    if (!wire.ok()) {
      ADD_FAILURE() << "reply: " << wire.status().ToString();
      return "";
    }
    return *wire;
  }

  // The request `doc` sends as `client_id`, as wire text.
  static std::string Request(const std::string& client_id,
                             ClientDocument& doc) {
    Message request;
    request.documents.push_back(doc.MakeRequest());
    request.documents.back().client_id = client_id;
    Result<std::string> wire = EncodeMessage(request);
    EXPECT_TRUE(wire.ok()) << wire.status().ToString();
    return wire.ok() ? *wire : "";
  }

  // `doc` handles the reply `answer`.
  static ReplyEffects Receive(ClientDocument& doc, std::string_view answer) {
    Result<Message> reply = DecodeMessage(answer);
    if (!reply.ok() || reply->documents.size() != 1) {
      ADD_FAILURE() << "bad reply: " << answer;
      return {};
    }
    Result<ReplyEffects> fx = doc.HandleReply(reply->documents[0]);
    if (!fx.ok()) {
      ADD_FAILURE() << "client: " << fx.status().ToString();
      return {};
    }
    const Status invariants = doc.CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants.ToString();
    return *fx;
  }

  // One full cycle over a perfect wire.
  ReplyEffects Sync(const std::string& client_id, ClientDocument& doc) {
    return Receive(doc, Ask(Request(client_id, doc)));
  }

  std::string Document(const std::string& name) {
    std::optional<Text> text = server_.DocumentText(name);
    return text ? text->ToString() : "<none>";
  }

  Server& server() { return server_; }

 private:
  MemoryStore store_;
  ManualClock clock_;
  Server server_;
};

// ---- Joining: the first request sends the whole text --------------------

TEST(MobWriteCases, JoiningWithTheServersTextGetsAnEmptyDelta) {
  Wire wire;
  // `R` (overwrite) makes the text the document; the answer is an overwrite
  // delta that changes nothing.
  EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
  // The same text again with the same version, acknowledging nothing newer:
  // taken for a copy of the first request (a duplicated packet), answered
  // with the edit still pending. (MobWrite would apply it again and reset
  // its versions, which desynchronizes a client that got the first reply.)
  EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nr:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
}

TEST(MobWriteCases, JoiningWithOtherTextGetsTheDocument) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nR:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
  // `r` does not change an existing document: the client is told to turn
  // its text into the document's.
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nr:0:x\n\n"),
            "F:0:notes\nd:0:-1\t+Hello world\n\n");
  EXPECT_EQ(wire.Document("notes"), "Hello world");
}

TEST(MobWriteCases, RawTextCreatesAMissingDocument) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nr:1:Hello world\n\n"),
            "F:1:notes\nd:0:=11\n\n");
  EXPECT_EQ(wire.Document("notes"), "Hello world");
}

TEST(MobWriteCases, DeltaOnAMissingDocumentCreatesIt) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nd:0:+Hello world\n\n"),
            "F:1:notes\nd:0:=11\n\n");
  EXPECT_EQ(wire.Document("notes"), "Hello world");
}

TEST(MobWriteCases, RawTextThenDeltaInOneRequest) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nR:0:Hello world\n"
                     "d:0:-5\t+Goodbye\t=6\n\n"),
            "F:1:notes\nd:0:=13\n\n");
  EXPECT_EQ(wire.Document("notes"), "Goodbye world");
}

// ---- A delta that does not fit the shadow --------------------------------

TEST(MobWriteCases, DeltaThatDoesNotFitIsAnsweredWithTheWholeText) {
  Wire wire;
  // The delta covers 10 of the 11 units of the shadow. As MobWrite's daemon,
  // the server consumes a client version for the failed delta and one for
  // the resync, and overwrites the client's text with the document.
  const std::string answer = wire.Ask(
      "u:alice\nf:0:notes\nR:0:Hello world\nd:0:-5\t+Goodbye\t=5\n\n");
  EXPECT_EQ(answer.substr(0, answer.find("x:")),
            "F:2:notes\nR:0:Hello world\n");
  Result<Message> reply = DecodeMessage(answer);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->documents.at(0).errors.size(), 1u);
  EXPECT_EQ(reply->documents[0].errors[0].code, "bad-delta");
  EXPECT_EQ(wire.Document("notes"), "Hello world");
}

TEST(MobWriteCases, DeltaOnAMissingDocumentThatDoesNotFitGetsAnEmptyText) {
  Wire wire;
  const std::string answer = wire.Ask("u:alice\nf:0:notes\nd:0:-1\n\n");
  EXPECT_EQ(answer.substr(0, answer.find("x:")), "F:2:notes\nR:0:\n");
  EXPECT_EQ(wire.Document("notes"), "");
}

// ---- Escaping ---------------------------------------------------------------

TEST(MobWriteCases, PunctuationNulPercentNewlineAndUnicodeSurviveBothWays) {
  {
    // The client's delta inserts the text; then its raw text "x" makes the
    // server send the document back as a delta.
    Wire wire;
    EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:\n"
                       "d:0:+A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ , #\n"
                       "r:1:x\n\n"),
              "F:1:notes\n"
              "d:0:-1\t+A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ , #\n\n");
  }
  {
    Wire wire;
    EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:\nd:0:+a%00b%25c%0Ad\n"
                       "r:1:x\n\n"),
              "F:1:notes\nd:0:-1\t+a%00b%25c%0Ad\n\n");
    EXPECT_EQ(wire.Document("notes"), std::string("a\0b%c\nd", 7));
  }
  {
    Wire wire;  // HIRAGANA LETTER U, as UTF-8 escapes.
    EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:\nd:0:+a%E3%81%86b\n"
                       "r:1:x\n\n"),
              "F:1:notes\nd:0:-1\t+a%E3%81%86b\n\n");
    EXPECT_EQ(wire.Document("notes"), "a\xE3\x81\x86" "b");
  }
  {
    // Raw text comes back raw, escaped the same way.
    Wire wire;
    const std::string answer =
        wire.Ask("u:alice\nf:0:notes\nR:0:a%00b%25c%0Ad%E3%81%86\nd:0:-1\n\n");
    EXPECT_EQ(answer.substr(0, answer.find("x:")),
              "F:2:notes\nR:0:a%00b%25c%0Ad%E3%81%86\n");
  }
}

// ---- Several clients ---------------------------------------------------------

TEST(MobWriteCases, SeveralClientsInOneMessageAreNamedInTheReply) {
  // `U` asks the server to name each block's client, with a `u` line, as
  // MobWrite's daemon does (docs/PROTOCOL.md).
  Wire wire;
  EXPECT_EQ(wire.Ask("F:0:notes\nU:alice\nR:0:Hello world\n"
                     "U:bob\nR:0:Hello world\nd:0:-5\t+Goodbye\t=6\n"
                     "U:alice\nd:0:=11\n\n"),
            "u:alice\nF:0:notes\nD:0:=11\n"
            "u:bob\nF:1:notes\nd:0:=13\n"
            "u:alice\nF:1:notes\nd:0:-5\t+Goodbye\t=6\n\n");
}

TEST(MobWriteCases, IndependentEditsAreBothKept) {
  {
    Wire wire;
    EXPECT_EQ(wire.Ask("f:0:notes\nu:alice\nR:0:Hello world\n\n"),
              "F:0:notes\nD:0:=11\n\n");
    EXPECT_EQ(wire.Ask("f:0:notes\nu:bob\nR:0:Hello world\n"
                       "d:0:-5\t+Goodbye\t=6\n\n"),
              "F:1:notes\nd:0:=13\n\n");
    // Alice, not knowing of Bob's edit, turns "world" into "worm".
    EXPECT_EQ(wire.Ask("f:1:notes\nu:alice\nd:0:=9\t-2\t+m\n\n"),
              "F:1:notes\nd:1:-5\t+Goodbye\t=5\n\n");
    EXPECT_EQ(wire.Document("notes"), "Goodbye worm");
  }
  {
    Wire wire;
    EXPECT_EQ(wire.Ask("f:0:notes\nu:alice\nR:0:bc\n\n"),
              "F:0:notes\nD:0:=2\n\n");
    EXPECT_EQ(wire.Ask("f:0:notes\nu:bob\nR:0:bc\nd:0:+a\t=2\n\n"),
              "F:1:notes\nd:0:=3\n\n");
    EXPECT_EQ(wire.Ask("f:1:notes\nu:alice\nd:0:=2\t+d\n\n"),
              "F:1:notes\nd:1:+a\t=3\n\n");
    EXPECT_EQ(wire.Document("notes"), "abcd");
  }
}

TEST(MobWriteCases, ConflictingEditsFirstToReachTheServerWins) {
  Wire wire;
  EXPECT_EQ(wire.Ask("f:0:notes\nu:alice\nR:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
  EXPECT_EQ(wire.Ask("f:0:notes\nu:bob\nR:0:Hello world\n"
                     "d:0:-5\t+Goodbye\t=6\n\n"),
            "F:1:notes\nd:0:=13\n\n");
  // Alice replaced the same word. Bob's edit arrived first and stays; Alice
  // is told to turn her "My" into "Goodbye", and (our extension) which of
  // her hunks was dropped.
  EXPECT_EQ(wire.Ask("f:1:notes\nu:alice\nd:0:-5\t+My\t=6\n\n"),
            "F:1:notes\nd:1:-2\t+Goodbye\t=6\n"
            "c:0:overlap:@@ -1,9 +1,6 @@%0A-Hello%0A+My%0A  wor%0A\n\n");
  EXPECT_EQ(wire.Document("notes"), "Goodbye world");
}

TEST(MobWriteCases, ReportedHunkIsPatchTextOfTheAuthorsShadow) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nr:1:0123456789abcdefghij\n\n"),
            "F:1:notes\nd:0:=20\n\n");
  EXPECT_EQ(wire.Ask("u:bob\nF:0:notes\nr:1:0123456789abcdefghij\n\n"),
            "F:1:notes\nd:0:=20\n\n");
  EXPECT_EQ(wire.Ask("u:bob\nF:1:notes\nd:1:-12\t=8\n\n"),
            "F:2:notes\nd:1:=8\n\n");
  // Alice replaces "9a", which Bob deleted. Her hunk is reported as patch
  // text that locates it in her shadow (from its 6th character), which
  // any patch reader can parse.
  EXPECT_EQ(wire.Ask("u:alice\nF:1:notes\nd:1:=9\t-2\t+X\t=9\n\n"),
            "F:2:notes\nd:1:-11\t=8\n"
            "c:1:overlap:@@ -6,10 +6,9 @@%0A 5678%0A-9a%0A+X%0A bcde%0A\n\n");
  EXPECT_EQ(wire.Document("notes"), "cdefghij");
}

TEST(MobWriteCases, ConflictingEditIsRevertedAndReportedInTheClient) {
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  ASSERT_TRUE(bob.Replace(0, 5, "Goodbye").ok());
  ASSERT_TRUE(alice.Replace(0, 5, "My").ok());
  wire.Sync("bob", bob);
  const ReplyEffects fx = wire.Sync("alice", alice);
  EXPECT_EQ(alice.text().ToString(), "Goodbye world");
  ASSERT_EQ(fx.conflicts.size(), 1u);
  EXPECT_EQ(fx.conflicts[0].version, 1);
  EXPECT_NE(fx.conflicts[0].hunk.find("+My"), std::string::npos);
  EXPECT_EQ(fx.text_changes.size(), 1u);
  wire.Sync("bob", bob);
  EXPECT_EQ(bob.text().ToString(), "Goodbye world");
  EXPECT_EQ(wire.Document("notes"), "Goodbye world");
}

TEST(MobWriteCases, OverwriteModeLastWriterWins) {
  // `D` is for fields where merging makes no sense, such as numbers: Bob
  // makes 23 into 123, then Alice, not knowing, makes 23 into 234. A merge
  // would give 1234; the last writer's 234 wins.
  Wire wire;
  EXPECT_EQ(wire.Ask("f:0:number\nu:alice\nR:0:23\n\n"),
            "F:0:number\nD:0:=2\n\n");
  EXPECT_EQ(wire.Ask("f:0:number\nu:bob\nR:0:23\nD:0:+1\t=2\n\n"),
            "F:1:number\nD:0:=3\n\n");
  EXPECT_EQ(wire.Ask("f:1:number\nu:alice\nD:0:=2\t+4\n\n"),
            "F:1:number\nD:1:=3\n\n");
  EXPECT_EQ(wire.Document("number"), "234");
}

TEST(MobWriteCases, OverwriteModeClientsSendAndTakeWholeValues) {
  Wire wire;
  ClientOptions overwrite;
  overwrite.merge = false;
  ClientDocument alice("number", overwrite), bob("number", overwrite);
  ASSERT_TRUE(alice.Replace(0, 0, "23").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  EXPECT_EQ(bob.text().ToString(), "23");
  ASSERT_TRUE(bob.Replace(0, 0, "1").ok());
  ASSERT_TRUE(alice.Replace(2, 0, "4").ok());
  EXPECT_EQ(Wire::Request("bob", bob),
            "u:bob\nF:1:number\nD:1:+1\t=2\nh:1:884863d2\n\n");
  wire.Sync("bob", bob);
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  EXPECT_EQ(wire.Document("number"), "234");
  EXPECT_EQ(alice.text().ToString(), "234");
  EXPECT_EQ(bob.text().ToString(), "234");
}

// ---- Nullify ----------------------------------------------------------------

TEST(MobWriteCases, NullifyDeletesTheDocument) {
  for (const char* letter : {"d", "D"}) {
    SCOPED_TRACE(letter);
    Wire wire;
    EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nr:1:Hello world\n\n"),
              "F:1:notes\nd:0:=11\n\n");
    EXPECT_EQ(wire.Ask("u:bob\nf:0:notes\nr:1:Hello world\n\n"),
              "F:1:notes\nd:0:=11\n\n");
    // As MobWrite's daemon, the server answers a nullify with nothing.
    EXPECT_EQ(wire.Ask("u:alice\nN:notes\n\n"), "\n");
    EXPECT_EQ(wire.Document("notes"), "<none>");
    // Carol never had it: her delta does not fit, and she gets the (empty)
    // text.
    const std::string carol = wire.Ask(std::string("u:carol\nf:0:notes\n") +
                                       letter + ":0:=11\n\n");
    EXPECT_EQ(carol.substr(0, carol.find("x:")), "F:2:notes\nR:0:\n");
    // Bob's view still holds the old text, but the document is now Carol's
    // empty one: as in MobWrite's daemon, his unchanged delta leaves it
    // empty and he is told to delete his text.
    EXPECT_EQ(wire.Ask(std::string("u:bob\nf:1:notes\n") + letter +
                       ":1:=11\n\n"),
              std::string("F:2:notes\n") + letter + ":1:-11\n\n");
  }
}

// ---- Lost, repeated and reordered packets -----------------------------------

TEST(MobWriteCases, DuplicatePacketGetsTheSameReply) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
  const std::string edit = "u:alice\nf:1:notes\nd:0:-5\t+Goodbye\t=6\n\n";
  EXPECT_EQ(wire.Ask(edit), "F:1:notes\nd:1:=13\n\n");
  EXPECT_EQ(wire.Ask(edit), "F:1:notes\nd:1:=13\n\n");
  EXPECT_EQ(wire.Document("notes"), "Goodbye world");
}

TEST(MobWriteCases, DuplicateReplyChangesNothing) {
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  ASSERT_TRUE(alice.Replace(0, 5, "Goodbye").ok());
  wire.Sync("alice", alice);
  const std::string answer = wire.Ask(Wire::Request("bob", bob));
  Wire::Receive(bob, answer);
  EXPECT_EQ(bob.text().ToString(), "Goodbye world");
  const ReplyEffects again = Wire::Receive(bob, answer);
  EXPECT_FALSE(again.resync);
  EXPECT_TRUE(again.text_changes.empty());
  EXPECT_TRUE(bob.in_sync());
  EXPECT_EQ(bob.text().ToString(), "Goodbye world");
}

TEST(MobWriteCases, LostReturnPacketRollsBackToTheBackupShadow) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nf:0:notes\nR:0:Hello world\n\n"),
            "F:0:notes\nD:0:=11\n\n");
  EXPECT_EQ(wire.Ask("u:bob\nf:0:notes\nR:0:Goodbye world\n\n"),
            "F:0:notes\nD:0:=13\n\n");
  EXPECT_EQ(wire.Ask("u:alice\nf:1:notes\nd:0:=11\n\n"),
            "F:1:notes\nd:1:-5\t+Goodbye\t=6\n\n");
  // Alice never heard that answer: she still acknowledges version 1 and
  // resends her edit 0 with her new edit 1. The server rolls back to the
  // shadow of before its answer, skips edit 0, applies edit 1 and sends its
  // edit 1 again.
  EXPECT_EQ(wire.Ask("u:alice\nf:1:notes\nd:0:=11\nd:1:=11\n\n"),
            "F:2:notes\nd:1:-5\t+Goodbye\t=6\n\n");
}

TEST(MobWriteCases, LostReturnPacketWithNewEditsOnBothSides) {
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "The cat sat on the mat.").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  ASSERT_TRUE(alice.Replace(4, 3, "dog").ok());
  wire.Ask(Wire::Request("alice", alice));  // The reply is lost.
  ASSERT_TRUE(bob.Replace(19, 3, "rug").ok());
  wire.Sync("bob", bob);
  ASSERT_TRUE(alice.Replace(23, 0, "!").ok());
  const ReplyEffects fx = wire.Sync("alice", alice);
  EXPECT_FALSE(fx.resync);
  EXPECT_TRUE(fx.errors.empty());
  EXPECT_EQ(alice.text().ToString(), "The dog sat on the rug.!");
  EXPECT_EQ(wire.Document("notes"), "The dog sat on the rug.!");
  EXPECT_EQ(alice.pending_edits(), 0u);
  EXPECT_EQ(wire.server().stats().resyncs, 0);
}

TEST(MobWriteCases, LostOutboundPacketIsResentUntilAcknowledged) {
  Wire wire;
  ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  wire.Sync("alice", alice);
  ASSERT_TRUE(alice.Replace(5, 0, " world").ok());
  Wire::Request("alice", alice);  // Lost on the way.
  ASSERT_TRUE(alice.Replace(11, 0, "!").ok());
  Wire::Request("alice", alice);  // Lost again.
  EXPECT_EQ(alice.pending_edits(), 2u);
  // The third request, with nothing new typed, carries both unacknowledged
  // edits again, of which the server has seen none.
  const std::string third = Wire::Request("alice", alice);
  EXPECT_EQ(third,
            "u:alice\nF:1:notes\nd:1:=5\t+ world\nh:1:8bd69e52\n"
            "d:2:=11\t+!\nh:2:1b851995\n\n");
  const std::string answer = wire.Ask(third);
  EXPECT_EQ(answer, "F:3:notes\nd:1:=12\n\n");
  EXPECT_EQ(wire.Document("notes"), "Hello world!");
  // Once the answer arrives, none is pending.
  Wire::Receive(alice, answer);
  EXPECT_EQ(alice.pending_edits(), 0u);
  EXPECT_TRUE(alice.in_sync());
}

TEST(MobWriteCases, LateCopyOfAnAnsweredRequestIsHarmless) {
  // Alice's request reaches the server twice: the second copy only after
  // she got the answer to the first and sent a newer request. The late copy
  // must neither cost her an edit nor force a resync.
  Wire wire;
  ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  wire.Sync("alice", alice);
  ASSERT_TRUE(alice.Replace(5, 0, " world").ok());
  const std::string first = Wire::Request("alice", alice);
  Wire::Receive(alice, wire.Ask(first));
  ASSERT_TRUE(alice.Replace(11, 0, "!").ok());
  wire.Sync("alice", alice);
  wire.Ask(first);  // The late copy; its answer goes to nobody.
  ASSERT_TRUE(alice.Replace(12, 0, "?").ok());
  const ReplyEffects fx = wire.Sync("alice", alice);
  EXPECT_FALSE(fx.resync);
  wire.Sync("alice", alice);
  EXPECT_EQ(wire.Document("notes"), "Hello world!?");
  EXPECT_EQ(alice.text().ToString(), "Hello world!?");
  EXPECT_EQ(wire.server().stats().resyncs, 0);
}

TEST(MobWriteCases, OutOfOrderPacketDoesNotDesynchronizeTheShadows) {
  // Alice's first request is delayed; after her timeout she sends the same
  // edit again with a newer one, which arrives, is answered, and is heard.
  // Bob edits. Then the delayed first request arrives. Afterwards Alice
  // must still get Bob's edit, and the server must still get Alice's.
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  ASSERT_TRUE(alice.Replace(11, 0, "!").ok());
  const std::string delayed = Wire::Request("alice", alice);
  ASSERT_TRUE(alice.Replace(0, 0, ">").ok());
  wire.Sync("alice", alice);
  ASSERT_TRUE(bob.Replace(6, 1, "W").ok());  // Same length: "Hello World".
  wire.Sync("bob", bob);
  wire.Ask(delayed);  // Its answer goes to nobody.
  ASSERT_TRUE(alice.Replace(13, 0, "?").ok());
  wire.Sync("alice", alice);
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  EXPECT_EQ(wire.Document("notes"), ">Hello World!?");
  EXPECT_EQ(alice.text().ToString(), ">Hello World!?");
  EXPECT_EQ(bob.text().ToString(), ">Hello World!?");
  EXPECT_EQ(wire.server().stats().resyncs, 0);
}

// ---- Resync -------------------------------------------------------------------

TEST(MobWriteCases, FutureVersionIsAnsweredWithTheWholeText) {
  Wire wire;
  EXPECT_EQ(wire.Ask("u:alice\nF:0:notes\nr:0:Hello\n\n"),
            "F:0:notes\nd:0:=5\n\n");
  // Edit 5 when the server expects edit 0: edits went missing, so the
  // server sends its whole text and consumes a version.
  const std::string answer = wire.Ask("u:alice\nF:1:notes\nd:5:=5\n\n");
  EXPECT_EQ(answer.substr(0, answer.find("x:")), "F:1:notes\nR:1:Hello\n");
  Result<Message> reply = DecodeMessage(answer);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->documents.at(0).errors.size(), 1u);
  EXPECT_EQ(reply->documents[0].errors[0].code, "future-version");
}

TEST(MobWriteCases, ClientOutOfStepResyncsKeepingWhatItTyped) {
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello world").ok());
  wire.Sync("alice", alice);
  wire.Sync("bob", bob);
  ASSERT_TRUE(bob.Replace(0, 5, "Howdy").ok());
  wire.Sync("bob", bob);
  // A reply whose delta does not fit Alice's shadow puts her out of step.
  ReplyEffects fx = Wire::Receive(alice, "F:1:notes\nd:1:=3\t+x\n\n");
  EXPECT_TRUE(fx.resync);
  EXPECT_FALSE(alice.in_sync());
  // Her next request (`r`) resets both shadows to the last text both sides
  // confirmed; what she typed since stays a local change, merged onto the
  // answer and sent next.
  ASSERT_TRUE(alice.Replace(11, 0, "!").ok());
  const std::string request = Wire::Request("alice", alice);
  EXPECT_EQ(request, "u:alice\nF:1:notes\nr:2:Hello world\n\n");
  fx = Wire::Receive(alice, wire.Ask(request));
  EXPECT_FALSE(fx.resync);
  EXPECT_TRUE(alice.in_sync());
  EXPECT_EQ(alice.text().ToString(), "Howdy world!");
  wire.Sync("alice", alice);
  EXPECT_EQ(wire.Document("notes"), "Howdy world!");
}

TEST(MobWriteCases, ServerResyncKeepsWhatTheClientTypedSince) {
  // An `R` reply replaces the shadow; what the user typed after the last
  // request is rebased onto the server's text rather than lost.
  Wire wire;
  ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  wire.Sync("alice", alice);
  ASSERT_TRUE(alice.Replace(5, 0, "!").ok());
  const ReplyEffects fx = Wire::Receive(alice, "F:2:notes\nR:1:Hi, Hello\n\n");
  EXPECT_FALSE(fx.resync);
  EXPECT_EQ(alice.text().ToString(), "Hi, Hello!");
  EXPECT_EQ(alice.shadow().ToString(), "Hi, Hello");
  EXPECT_EQ(alice.client_version(), 2);
  EXPECT_EQ(alice.server_version(), 1);
}

TEST(MobWriteCases, LineBreaksBecomeLf) {
  // MobWrite's daemon keeps documents with LF only; CR LF and CR that come
  // in are rewritten, and the rewrite reaches the client in the reply.
  Wire wire;
  ClientDocument alice("notes"), bob("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "one\r\ntwo").ok());
  wire.Sync("alice", alice);
  wire.Sync("alice", alice);
  EXPECT_EQ(wire.Document("notes"), "one\ntwo");
  EXPECT_EQ(alice.text().ToString(), "one\ntwo");
  ASSERT_TRUE(alice.Replace(7, 0, "\rthree\r\n😀\r").ok());
  wire.Sync("alice", alice);
  EXPECT_EQ(wire.Document("notes"), "one\ntwo\nthree\n😀\n");
  EXPECT_EQ(alice.text().ToString(), wire.Document("notes"));
  wire.Sync("bob", bob);
  EXPECT_EQ(bob.text().ToString(), wire.Document("notes"));
}

// ---- Our checksum extension (h:) -----------------------------------------

TEST(MobWriteCases, ChecksumsGoBothWaysOnlyWithClientsThatSendThem) {
  Wire wire;
  ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  wire.Sync("alice", alice);
  // MobWrite's client sends no h: line and gets none.
  EXPECT_EQ(wire.Ask("u:bob\nF:0:notes\nr:1:Hello\n\n"),
            "F:1:notes\nd:0:=5\n\n");
  EXPECT_EQ(wire.Ask("u:bob\nF:1:notes\nd:1:=5\t+ world\n\n"),
            "F:2:notes\nd:1:=11\n\n");
  // Ours sends one after each edit; the reply's last edit, which brings
  // bob's text, carries the CRC of the shadow it leads to. An edit that
  // changes nothing carries none: it leads to the shadow the request's own
  // checksum vouched for.
  ASSERT_TRUE(alice.Replace(5, 0, "!").ok());
  const std::string request = Wire::Request("alice", alice);
  EXPECT_EQ(request, "u:alice\nF:1:notes\nd:1:=5\t+!\nh:1:9d2acc56\n\n");
  const std::string answer = wire.Ask(request);
  EXPECT_EQ(answer, "F:2:notes\nd:1:=5\t+ world\t=1\nh:1:1b851995\n\n");
  EXPECT_FALSE(Wire::Receive(alice, answer).resync);
  EXPECT_EQ(alice.text().ToString(), "Hello world!");
  EXPECT_EQ(wire.Document("notes"), "Hello world!");
  EXPECT_EQ(wire.Ask(Wire::Request("alice", alice)), "F:3:notes\nd:2:=12\n\n");
}

TEST(MobWriteCases, ChecksumMismatchMakesEitherSideResync) {
  Wire wire;
  ClientDocument alice("notes");
  ASSERT_TRUE(alice.Replace(0, 0, "Hello").ok());
  wire.Sync("alice", alice);
  // A reply whose delta applies but whose checksum says the server's shadow
  // is another text: the client resyncs from the last confirmed shadow.
  EXPECT_TRUE(
      Wire::Receive(alice, "F:1:notes\nd:1:=5\t+!\nh:1:00000000\n\n").resync);
  EXPECT_EQ(alice.text().ToString(), "Hello");
  // A request whose delta fits the server's shadow but whose checksum does
  // not match: the server answers with its whole text.
  EXPECT_EQ(wire.Ask("u:carol\nF:0:notes\nr:1:Hello\n\n"),
            "F:1:notes\nd:0:=5\n\n");
  EXPECT_EQ(wire.Ask("u:carol\nF:1:notes\nd:1:=5\t+?\nh:1:00000000\n\n"),
            "F:3:notes\nR:1:Hello\nx:checksum:shadow checksum mismatch "
            "after client version 1\n\n");
  // Alice converges again through the resync.
  wire.Sync("alice", alice);
  wire.Sync("alice", alice);
  EXPECT_TRUE(alice.in_sync());
  EXPECT_EQ(alice.text().ToString(), "Hello");
  EXPECT_EQ(wire.Document("notes"), "Hello");
}

}  // namespace
}  // namespace diffsync::engine
