// Tests of the wire protocol codec: every line kind, MobWrite's own requests
// and replies (its server conversation tests and what its JavaScript client
// writes, in our words), the errors, and seeded round trips of random
// messages and random line soups.
//
// Random cases print their seed; DIFFSYNC_SEED=<seed> repeats a run.
#include "diffsync/engine/protocol.h"
#include "common/test_seed.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace diffsync::engine {
namespace {

uint64_t Seed() { return diffsync::test_util::TestSeed(20240612); }

Message Decode(std::string_view wire) {
  Result<Message> m = DecodeMessage(wire);
  EXPECT_TRUE(m.ok()) << m.status().ToString() << "\nwire:\n" << wire;
  return m.ok() ? *m : Message();
}

std::string Encode(const Message& message) {
  Result<std::string> wire = EncodeMessage(message);
  EXPECT_TRUE(wire.ok()) << wire.status().ToString();
  return wire.ok() ? *wire : std::string();
}

// The canonical form of `wire`.
std::string Canonical(std::string_view wire) { return Encode(Decode(wire)); }

// The decode error of `wire` ("" if it decoded).
Status DecodeError(std::string_view wire) {
  Result<Message> m = DecodeMessage(wire);
  return m.status();
}

Edit Delta(int64_t version, std::string delta, bool overwrite = false) {
  Edit e;
  e.kind = Edit::Kind::kDelta;
  e.overwrite = overwrite;
  e.version = version;
  e.data = std::move(delta);
  return e;
}

Edit Raw(int64_t version, std::string text, bool overwrite = false) {
  Edit e = Delta(version, std::move(text), overwrite);
  e.kind = Edit::Kind::kRaw;
  return e;
}

DocumentBlock Block(std::string client_id, std::string document,
                    int64_t version, std::vector<Edit> edits = {},
                    bool echo = false) {
  DocumentBlock b;
  b.client_id = std::move(client_id);
  b.echo_client_id = echo;
  b.document = std::move(document);
  b.version = version;
  b.edits = std::move(edits);
  return b;
}

// --- Line kinds -----------------------------------------------------------

TEST(ProtocolEncodeTest, OpenEndedDeltasExistOnlyInTheCompactForm) {
  Message m;
  m.documents.emplace_back();
  m.documents[0].document = "d";
  m.documents[0].edits.emplace_back();
  m.documents[0].edits[0].data = "=1";
  m.documents[0].edits[0].open_end = true;
  Result<std::string> wire = EncodeMessage(m);
  ASSERT_FALSE(wire.ok());
  EXPECT_NE(wire.status().message().find("open_end"), std::string::npos)
      << wire.status().ToString();
}

TEST(ProtocolDecodeTest, ClientRequestWithDelta) {
  const Message m = Decode("u:alice\nF:3:notes\nd:7:=5\t+!\n\n");
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_EQ(m.documents[0], Block("alice", "notes", 3, {Delta(7, "=5\t+!")}));
  EXPECT_TRUE(m.errors.empty());
  EXPECT_TRUE(m.fragments.empty());
  EXPECT_EQ(m.token, "");
}

TEST(ProtocolDecodeTest, EchoClientIdIsPerBlock) {
  const Message m = Decode("U:alice\nF:0:a\nd:0:=1\nu:bob\nF:0:b\nd:0:=2\n\n");
  ASSERT_EQ(m.documents.size(), 2u);
  EXPECT_EQ(m.documents[0], Block("alice", "a", 0, {Delta(0, "=1")}, true));
  EXPECT_EQ(m.documents[1], Block("bob", "b", 0, {Delta(0, "=2")}, false));
}

TEST(ProtocolDecodeTest, LowerCaseFileLineIsTheSameAsUpperCase) {
  EXPECT_EQ(Decode("u:a\nf:2:doc\nd:1:=3\n\n"),
            Decode("u:a\nF:2:doc\nd:1:=3\n\n"));
  EXPECT_EQ(Canonical("u:a\nf:2:doc\nd:1:=3\n\n"), "u:a\nF:2:doc\nd:1:=3\n\n");
}

TEST(ProtocolDecodeTest, EditKinds) {
  const Message m =
      Decode("F:1:doc\nd:1:=2\nD:2:-2\nr:3:a%0Ab c\nR:4:%E3%81%86\n\n");
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_EQ(
      m.documents[0].edits,
      (std::vector<Edit>{Delta(1, "=2"), Delta(2, "-2", true), Raw(3, "a\nb c"),
                         Raw(4, "\xE3\x81\x86", true)}));
}

TEST(ProtocolTest, EditLettersRoundTrip) {
  for (const char letter : {'d', 'D', 'r', 'R'}) {
    Edit edit;
    ASSERT_TRUE(SetEditLetter(letter, edit)) << letter;
    EXPECT_EQ(edit.kind, letter == 'd' || letter == 'D' ? Edit::Kind::kDelta
                                                        : Edit::Kind::kRaw);
    EXPECT_EQ(edit.overwrite, letter == 'D' || letter == 'R');
    EXPECT_EQ(EditLetter(edit.kind, edit.overwrite), letter);
  }
  Edit edit = Raw(3, "text", true);
  EXPECT_FALSE(SetEditLetter('x', edit));
  EXPECT_FALSE(SetEditLetter('f', edit));
  EXPECT_EQ(edit, Raw(3, "text", true));
}

TEST(ProtocolDecodeTest, DeltaIsKeptExactlyAsOnTheWire) {
  // The codec does not read deltas: escapes stay, odd tokens stay.
  const Message m = Decode("F:0:doc\nd:0:+a%20b%0A\t=3\t\t:x\n\n");
  EXPECT_EQ(m.documents[0].edits[0].data, "+a%20b%0A\t=3\t\t:x");
}

TEST(ProtocolDecodeTest, EmptyDeltaAndEmptyRawText) {
  const Message m = Decode("F:0:doc\nd:0:\nr:1:\n\n");
  EXPECT_EQ(m.documents[0].edits,
            (std::vector<Edit>{Delta(0, ""), Raw(1, "")}));
}

TEST(ProtocolDecodeTest, DocumentNamesAreUnescaped) {
  const Message m = Decode("F:0:my%20notes/%C3%A9t%C3%A9 2\nd:0:=1\n\n");
  EXPECT_EQ(m.documents[0].document, "my notes/\xC3\xA9t\xC3\xA9 2");
  // Written back with encodeURI, spaces kept.
  EXPECT_EQ(Encode(m), "F:0:my notes/%C3%A9t%C3%A9 2\nd:0:=1\n\n");
}

TEST(ProtocolDecodeTest, ReservedEscapesStayEscapedAsDecodeUriDoes) {
  const Message m = Decode("F:0:a%3Ab\nr:0:x%2Fy%25\n\n");
  EXPECT_EQ(m.documents[0].document, "a%3Ab");
  EXPECT_EQ(m.documents[0].edits[0].data, "x%2Fy%");
}

TEST(ProtocolDecodeTest, VersionsMayHaveLeadingZeros) {
  const Message m = Decode("F:007:doc\nd:00:=1\n\n");
  EXPECT_EQ(m.documents[0].version, 7);
  EXPECT_EQ(m.documents[0].edits[0].version, 0);
  EXPECT_EQ(Encode(m), "F:7:doc\nd:0:=1\n\n");
}

TEST(ProtocolDecodeTest, LargestVersion) {
  const Message m = Decode("F:9007199254740991:doc\n\n");
  EXPECT_EQ(m.documents[0].version, kMaxWireInteger);
}

TEST(ProtocolDecodeTest, NullifyLines) {
  const Message m = Decode("u:alice\nN:old%20doc\nn:other\n\n");
  ASSERT_EQ(m.documents.size(), 2u);
  EXPECT_TRUE(m.documents[0].nullify);
  EXPECT_EQ(m.documents[0].document, "old doc");
  EXPECT_EQ(m.documents[0].client_id, "alice");
  EXPECT_EQ(m.documents[0].version, 0);
  EXPECT_TRUE(m.documents[1].nullify);
  EXPECT_EQ(Encode(m), "u:alice\nN:old doc\nN:other\n\n");
}

TEST(ProtocolDecodeTest, FileLineWithoutEditsIsAnEmptyBlock) {
  const Message m = Decode("u:a\nF:4:doc\n\n");
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_EQ(m.documents[0], Block("a", "doc", 4));
}

TEST(ProtocolDecodeTest, ChecksumLine) {
  const Message m =
      Decode("F:0:doc\nd:5:=11\nh:5:0d4a1185\nr:6:x\nh:6:FFFFFFFF\n\n");
  ASSERT_EQ(m.documents[0].edits.size(), 2u);
  EXPECT_EQ(m.documents[0].edits[0].checksum, 0x0d4a1185u);
  EXPECT_EQ(m.documents[0].edits[1].checksum, 0xFFFFFFFFu);
  // Canonical: lower-case hex.
  EXPECT_EQ(Encode(m),
            "F:0:doc\nd:5:=11\nh:5:0d4a1185\nr:6:x\nh:6:ffffffff\n\n");
}

TEST(ProtocolDecodeTest, ChecksumMayFollowIgnoredLines) {
  const Message m =
      Decode("F:0:doc\nd:5:=11\nnoise\nz:future\nh:5:00000001\n\n");
  EXPECT_EQ(m.documents[0].edits[0].checksum, 1u);
}

TEST(ProtocolDecodeTest, ConflictLine) {
  const Message m = Decode(
      "F:3:doc\nd:2:=5\nc:1:context-not-found:@@ -1,3 +1,4 @@%0A a:b%0A+x%0A\n"
      "c:2:overlap\n\n");
  ASSERT_EQ(m.documents[0].conflicts.size(), 2u);
  EXPECT_EQ(m.documents[0].conflicts[0],
            (Conflict{1, "context-not-found", "@@ -1,3 +1,4 @@\n a:b\n+x\n"}));
  EXPECT_EQ(m.documents[0].conflicts[1], (Conflict{2, "overlap", ""}));
  EXPECT_EQ(
      Encode(m),
      "F:3:doc\nd:2:=5\nc:1:context-not-found:@@ -1,3 +1,4 @@%0A a:b%0A+x%0A\n"
      "c:2:overlap\n\n");
}

TEST(ProtocolDecodeTest, ErrorLinesBeforeAnyBlockBelongToTheMessage) {
  const Message m = Decode(
      "x:unauthorized:bad token\nF:3:doc\nx:future-version:got 9, have 3\n"
      "x:foo\n\n");
  ASSERT_EQ(m.errors.size(), 1u);
  EXPECT_EQ(m.errors[0], (Error{"unauthorized", "bad token"}));
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_EQ(
      m.documents[0].errors,
      (std::vector<Error>{{"future-version", "got 9, have 3"}, {"foo", ""}}));
}

TEST(ProtocolDecodeTest, ErrorMessageIsEscaped) {
  Message m;
  m.errors.push_back({"bad-delta", "line 1:\n100% wrong"});
  EXPECT_EQ(Encode(m), "x:bad-delta:line 1:%0A100%25 wrong\n\n");
  EXPECT_EQ(Decode(Encode(m)), m);
}

TEST(ProtocolDecodeTest, MetadataLine) {
  const Message m = Decode("u:a\nF:0:doc\nd:0:=3\nm:cursor:3:5\nm:away\n\n");
  EXPECT_EQ(m.documents[0].metadata,
            (std::vector<Metadata>{{"cursor", "3:5"}, {"away", ""}}));
}

TEST(ProtocolDecodeTest, TokenLine) {
  const Message m = Decode("u:a\nt:eyJhbGciOi.x-y_z=\nF:0:doc\nd:0:=1\n\n");
  EXPECT_EQ(m.token, "eyJhbGciOi.x-y_z=");
  EXPECT_EQ(Encode(m), "t:eyJhbGciOi.x-y_z=\nu:a\nF:0:doc\nd:0:=1\n\n");
}

TEST(ProtocolDecodeTest, BufferFragments) {
  const Message m = Decode(
      "b:abc123 3 2 f%3A0%3Adoc%0A\nB:abc123 3 1 U%3Aus er%0A\n"
      "b:x 1 1 \n\n");
  ASSERT_EQ(m.fragments.size(), 3u);
  EXPECT_EQ(m.fragments[0], (BufferFragment{"abc123", 3, 2, "f%3A0%3Adoc%0A"}));
  EXPECT_EQ(m.fragments[1], (BufferFragment{"abc123", 3, 1, "U%3Aus er%0A"}));
  EXPECT_EQ(m.fragments[2], (BufferFragment{"x", 1, 1, ""}));
  EXPECT_EQ(Encode(m),
            "b:abc123 3 2 f%3A0%3Adoc%0A\nb:abc123 3 1 U%3Aus er%0A\n"
            "b:x 1 1 \n\n");
}

TEST(ProtocolDecodeTest, IgnoredLines) {
  // Not "X:value" (the first ':' must be the second character), or an
  // unknown letter: skipped, as MobWrite does.
  const Message m = Decode(
      "UNKNOWN COMMAND\nu:a\n:x:y\nab:c\nz:future:line\n\xC3\xA9:x\nF\n"
      "F:0:doc\nq:1\nd:0:=1\n\n");
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_EQ(m.documents[0], Block("a", "doc", 0, {Delta(0, "=1")}));
}

TEST(ProtocolDecodeTest, EmptyMessage) {
  EXPECT_EQ(Decode("\n"), Message());
  EXPECT_EQ(Decode("\r\n"), Message());
  EXPECT_EQ(Encode(Message()), "\n");
}

TEST(ProtocolDecodeTest, LineBreaks) {
  const Message lf = Decode("u:a\nF:0:doc\nd:0:=1\n\n");
  EXPECT_EQ(Decode("u:a\r\nF:0:doc\r\nd:0:=1\r\n\r\n"), lf);
  EXPECT_EQ(Decode("u:a\rF:0:doc\rd:0:=1\r\r"), lf);
  // LF CR pairs read as LF then CR, i.e. a blank line in between: MobWrite
  // accepts a message ending "\n\r\n\r"; it ends at the first blank line.
  EXPECT_EQ(Decode("u:a\nF:0:doc\nd:0:=1\n\r\n\r"), lf);
  EXPECT_EQ(Decode("u:a\r\nF:0:doc\nd:0:=1\r\r\n"), lf);
}

TEST(ProtocolDecodeTest, MoreBlankLinesMayFollow) {
  EXPECT_EQ(Decode("u:a\nF:0:doc\n\n\n\r\n"), Decode("u:a\nF:0:doc\n\n"));
}

// --- MobWrite's client ids --------------------------------------------------

// MobWrite reads the client id in force at each edit, not at the F line, and
// a request may hold several clients ("Simple collaboration" of its server
// tests): a u line between edits starts a new block for the same document.
TEST(ProtocolDecodeTest, ClientIdChangesInsideADocument) {
  const Message m = Decode(
      "F:0:unittest\nU:usera\nR:0:Hello world\nU:userb\nR:0:Hello world\n"
      "d:0:-5\t+Goodbye\t=6\nU:usera\nd:0:=11\n\n");
  ASSERT_EQ(m.documents.size(), 3u);
  EXPECT_EQ(m.documents[0],
            Block("usera", "unittest", 0, {Raw(0, "Hello world", true)}, true));
  EXPECT_EQ(
      m.documents[1],
      Block("userb", "unittest", 0,
            {Raw(0, "Hello world", true), Delta(0, "-5\t+Goodbye\t=6")}, true));
  EXPECT_EQ(m.documents[2],
            Block("usera", "unittest", 0, {Delta(0, "=11")}, true));
  EXPECT_EQ(Encode(m),
            "U:usera\nF:0:unittest\nR:0:Hello world\n"
            "U:userb\nF:0:unittest\nR:0:Hello world\nd:0:-5\t+Goodbye\t=6\n"
            "U:usera\nF:0:unittest\nd:0:=11\n\n");
}

TEST(ProtocolDecodeTest, EmptyBlocksKeepTheirOwnClientId) {
  Message m;
  m.documents = {Block("a", "doc", 1), Block("b", "doc", 1, {Delta(0, "=1")})};
  EXPECT_EQ(Encode(m), "u:a\nF:1:doc\nu:b\nF:1:doc\nd:0:=1\n\n");
  EXPECT_EQ(Decode(Encode(m)), m);
}

TEST(ProtocolDecodeTest, ClientIdCanReturnToNone) {
  Message m;
  m.documents = {Block("a", "x", 1, {Delta(0, "=1")}),
                 Block("", "y", 2, {Delta(0, "=2")})};
  EXPECT_EQ(Encode(m), "u:a\nF:1:x\nd:0:=1\nu:\nF:2:y\nd:0:=2\n\n");
  EXPECT_EQ(Decode(Encode(m)), m);
  // An empty id that is echoed is still written.
  m.documents[0].echo_client_id = true;
  m.documents[0].client_id = "";
  EXPECT_EQ(Encode(m), "U:\nF:1:x\nd:0:=1\nu:\nF:2:y\nd:0:=2\n\n");
  EXPECT_EQ(Decode(Encode(m)), m);
}

TEST(ProtocolDecodeTest, ClientIdChangeAfterNullifyStartsAnotherNullifyBlock) {
  const Message m = Decode("u:a\nN:doc\nu:b\nx:gone\n\n");
  ASSERT_EQ(m.documents.size(), 2u);
  EXPECT_TRUE(m.documents[1].nullify);
  EXPECT_EQ(m.documents[1].client_id, "b");
  EXPECT_EQ(m.documents[1].errors, (std::vector<Error>{{"gone", ""}}));
}

// --- MobWrite's server conversation tests, in our words ----------------------

// Each pair is a request MobWrite's test suite sends and the reply its
// daemon gives; the reply is already in canonical form, so our encoder
// writes MobWrite's bytes exactly.
TEST(ProtocolMobWriteTest, ConversationRepliesAreCanonical) {
  const std::vector<std::string> replies = {
      "u:user1\nF:0:unittest1\nD:0:=11\n\n",
      "F:0:unittest1\nd:0:-1\t+Hello world\n\n",
      "F:1:unittest1\nr:0:\n\n",
      "F:1:unittest1\nR:0:Hello world\n\n",
      "F:1:unittest1\nR:0:A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ , "
      "#\n\n",
      "F:1:unittest1\nd:0:-1\t+A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ "
      ", #\n\n",
      "F:1:unittest1\nR:0:a%00b%25c%0Ad\n\n",
      "F:1:unittest1\nR:0:a%E3%81%86b\n\n",
      "F:0:unittest1\nD:0:=1\t-1\t+%0A\t=1\n\n",
      "u:user1a\nF:0:unittest1\nD:0:=11\nu:user1b\nF:1:unittest1\nd:0:=13\n"
      "u:user1a\nF:1:unittest1\nd:0:-5\t+Goodbye\t=6\n\n",
      "\n",
  };
  for (const std::string& reply : replies) {
    EXPECT_EQ(Canonical(reply), reply);
  }
}

TEST(ProtocolMobWriteTest, IgnoreBadCommands) {
  // "x" is undefined for MobWrite; for us it is an error line with no text.
  const Message m =
      Decode("u:user1\nf:0:unittest1\nx:foo\nUNKNOWN COMMAND\n\n");
  ASSERT_EQ(m.documents.size(), 1u);
  EXPECT_TRUE(m.documents[0].edits.empty());
  EXPECT_EQ(m.documents[0].errors, (std::vector<Error>{{"foo", ""}}));
}

TEST(ProtocolMobWriteTest, RawTextWithSpecialChars) {
  const Message m =
      Decode("u:user1\nf:0:unittest1\nR:0:a%00b%25c%0Ad\nd:0:-1\n\n");
  ASSERT_EQ(m.documents[0].edits.size(), 2u);
  EXPECT_EQ(m.documents[0].edits[0], Raw(0, std::string("a\0b%c\nd", 7), true));
  EXPECT_EQ(m.documents[0].edits[1], Delta(0, "-1"));
}

TEST(ProtocolMobWriteTest, RawTextWithUnicode) {
  const Message m = Decode("u:user1\nf:0:unittest1\nR:0:a%E3%81%86b\n\n");
  EXPECT_EQ(m.documents[0].edits[0].data,
            "a\xE3\x81\x86"
            "b");
  EXPECT_EQ(Encode(m), "u:user1\nF:0:unittest1\nR:0:a%E3%81%86b\n\n");
}

TEST(ProtocolMobWriteTest, RawTextWithAllNormalChars) {
  const std::string punctuation =
      "A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ , #";
  const Message m =
      Decode("u:user1\nf:0:unittest1\nR:0:" + punctuation + "\nd:0:-1\n\n");
  EXPECT_EQ(m.documents[0].edits[0].data, punctuation);
}

TEST(ProtocolMobWriteTest, LostReturnPacketResendsTheStack) {
  const Message m = Decode("u:user1a\nf:1:unittest1\nd:0:=11\nd:1:=11\n\n");
  EXPECT_EQ(m.documents[0], Block("user1a", "unittest1", 1,
                                  {Delta(0, "=11"), Delta(1, "=11")}));
}

TEST(ProtocolMobWriteTest, CompleteBufferFragments) {
  const Message m = Decode("b:testbuffer1 3 3 R%3A0%3AHello world%0A\n\n");
  ASSERT_EQ(m.fragments.size(), 1u);
  EXPECT_EQ(m.fragments[0],
            (BufferFragment{"testbuffer1", 3, 3, "R%3A0%3AHello world%0A"}));
  EXPECT_TRUE(m.documents.empty());
}

TEST(ProtocolMobWriteTest, NestedBufferFragmentIsOpaque) {
  const Message m = Decode(
      "b:testbuffer3 3 2 b%3Atestbuffer4 3 2 "
      "f%253A0%253Aunittest1%250A%0A\n\n");
  EXPECT_EQ(m.fragments[0].text,
            "b%3Atestbuffer4 3 2 f%253A0%253Aunittest1%250A%0A");
}

// What MobWrite's JavaScript client writes: encodeURI'd ids and raw text
// (spaces as "%20" in ids, as " " in raw text), a NUL escaped as %00.
TEST(ProtocolMobWriteTest, JavaScriptClientRequests) {
  Message m = Decode(
      "u:k3x-_:.q\nF:12:my%20form_field\nd:4:=3\t-1\t+%00x\nd:5:=5\n"
      "F:0:other\nr:1:Hello world%0A%E3%81%86\n"
      "N:gone%20away\n\n");
  ASSERT_EQ(m.documents.size(), 3u);
  EXPECT_EQ(m.documents[0], Block("k3x-_:.q", "my form_field", 12,
                                  {Delta(4, "=3\t-1\t+%00x"), Delta(5, "=5")}));
  EXPECT_EQ(m.documents[1], Block("k3x-_:.q", "other", 0,
                                  {Raw(1, "Hello world\n\xE3\x81\x86")}));
  EXPECT_TRUE(m.documents[2].nullify);
  EXPECT_EQ(m.documents[2].document, "gone away");
}

// The examples of docs/PROTOCOL.md are messages in canonical form.
TEST(ProtocolDocsTest, ExamplesAreCanonical) {
  std::ifstream file(std::string(DIFFSYNC_SOURCE_DIR) + "/docs/PROTOCOL.md");
  ASSERT_TRUE(file) << "docs/PROTOCOL.md not found";
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string doc = buffer.str();
  const size_t section = doc.find("## Synchronization protocol");
  ASSERT_NE(section, std::string::npos);
  int messages = 0;
  for (size_t open = doc.find("```\n", section); open != std::string::npos;) {
    const size_t start = open + 4;
    const size_t close = doc.find("```\n", start);
    ASSERT_NE(close, std::string::npos);
    const std::string block = doc.substr(start, close - start);
    if (block.ends_with("\n\n")) {
      EXPECT_EQ(Canonical(block), block);
      ++messages;
    }
    open = doc.find("```\n", close + 4);
  }
  EXPECT_EQ(messages, 4);
  // The checksums of the examples: the shadows after each edit.
  EXPECT_EQ(Crc32("Hello world!"), 0x1b851995u);
  EXPECT_EQ(Crc32("Hi world!"), 0x431c0ef6u);
}

// --- Errors ------------------------------------------------------------------

TEST(ProtocolErrorTest, TruncatedMessages) {
  for (const std::string_view wire :
       {"", "u:a", "u:a\n", "u:a\nF:0:doc\nd:0:=1", "u:a\nF:0:doc\nd:0:=1\n"}) {
    const Status s = DecodeError(wire);
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << wire;
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  }
  EXPECT_EQ(DecodeError("u:a\nF:0:doc\n").message(),
            "truncated message: the input ends after line 2 without the "
            "blank line that ends a message");
  EXPECT_EQ(DecodeError("u:a\nF:0:d").message(),
            "truncated message: line 2 has no line break");
}

TEST(ProtocolErrorTest, BadVersions) {
  const struct {
    std::string_view wire;
    std::string_view message;
  } cases[] = {
      {"F:x:doc\n\n",
       "line 1: F line: version \"x\" is not a number from 0 "
       "to 9007199254740991"},
      {"F:0:doc\nd:-1:=1\n\n",
       "line 2: d line: version \"-1\" is not a "
       "number from 0 to 9007199254740991"},
      {"F:0:doc\nD:+1:=1\n\n",
       "line 2: D line: version \"+1\" is not a "
       "number from 0 to 9007199254740991"},
      {"F: 1:doc\n\n",
       "line 1: F line: version \" 1\" is not a number from "
       "0 to 9007199254740991"},
      {"F:9007199254740992:doc\n\n",
       "line 1: F line: version \"9007199254740992\" is not a number from 0 "
       "to 9007199254740991"},
      {"F:99999999999999999999999:doc\n\n",
       "line 1: F line: version \"99999999999999999999999\" is not a number "
       "from 0 to 9007199254740991"},
      {"F:doc\n\n", "line 1: F line: missing version number"},
      {"F::doc\n\n", "line 1: F line: missing version number"},
      {"F:0:doc\nr:abc\n\n", "line 2: r line: missing version number"},
      {"F:0:doc\nR:\n\n", "line 2: R line: missing version number"},
      {"F:0:doc\nd:1:=1\nh:1x:00000000\n\n",
       "line 3: h line: version \"1x\" is not a number from 0 to "
       "9007199254740991"},
      {"F:0:doc\nc:v:reason\n\n",
       "line 2: c line: version \"v\" is not a number from 0 to "
       "9007199254740991"},
  };
  for (const auto& c : cases) {
    const Status s = DecodeError(c.wire);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.wire;
    EXPECT_EQ(s.message(), c.message) << c.wire;
  }
}

TEST(ProtocolErrorTest, LinesOutsideADocumentBlock) {
  EXPECT_EQ(DecodeError("u:a\nd:0:=1\n\n").message(),
            "line 2: d line before any F line");
  EXPECT_EQ(DecodeError("u:a\nR:0:x\nF:0:doc\n\n").message(),
            "line 2: R line before any F line");
  EXPECT_EQ(DecodeError("u:a\nN:doc\nd:0:=1\n\n").message(),
            "line 3: d line after an N line: edits need an F line");
  EXPECT_EQ(DecodeError("c:1:reason\n\n").message(),
            "line 1: c line before any F or N line");
  EXPECT_EQ(DecodeError("m:cursor:1\n\n").message(),
            "line 1: m line before any F or N line");
}

TEST(ProtocolErrorTest, ChecksumLines) {
  EXPECT_EQ(DecodeError("F:0:doc\nh:0:00000000\n\n").message(),
            "line 2: h line not right after the d, D, r or R line it checks");
  EXPECT_EQ(DecodeError("F:0:doc\nd:0:=1\nm:k\nh:0:00000000\n\n").message(),
            "line 4: h line not right after the d, D, r or R line it checks");
  EXPECT_EQ(
      DecodeError("F:0:doc\nd:0:=1\nh:0:00000000\nh:0:00000000\n\n").message(),
      "line 4: h line not right after the d, D, r or R line it checks");
  EXPECT_EQ(DecodeError("F:0:doc\nd:3:=1\nh:2:00000000\n\n").message(),
            "line 3: h line: version 2 is not the version of its edit (3)");
  EXPECT_EQ(DecodeError("F:0:doc\nd:3:=1\nh:3:1234567\n\n").message(),
            "line 3: h line: checksum \"1234567\" is not 8 hexadecimal digits");
  EXPECT_EQ(DecodeError("F:0:doc\nd:3:=1\nh:3:1234567g\n\n").message(),
            "line 3: h line: checksum \"1234567g\" is not 8 hexadecimal "
            "digits");
  EXPECT_EQ(DecodeError("F:0:doc\nd:3:=1\nh:3:\n\n").message(),
            "line 3: h line: checksum \"\" is not 8 hexadecimal digits");
}

TEST(ProtocolErrorTest, Escapes) {
  EXPECT_EQ(DecodeError("F:0:doc\nr:0:ab%zz\n\n").message(),
            "line 2: raw text: malformed %-escape at offset 6");
  EXPECT_EQ(DecodeError("F:0:doc\nR:12:%E3%81\n\n").message(),
            "line 2: raw text: incomplete UTF-8 character in %-escapes at "
            "offset 5");
  EXPECT_EQ(DecodeError("F:10:a%C0%AFb\n\n").message(),
            "line 1: document name: %-escapes do not form a valid UTF-8 "
            "character at offset 6");
  EXPECT_EQ(DecodeError("N:%\n\n").message(),
            "line 1: document name: malformed %-escape at offset 2");
  EXPECT_EQ(DecodeError("x:code:%FF\n\n").message(),
            "line 1: error message: %-escape is not the start of a UTF-8 "
            "character at offset 7");
  EXPECT_EQ(DecodeError("F:0:d\nc:1:r:%4\n\n").message(),
            "line 2: conflict hunk: malformed %-escape at offset 6");
  EXPECT_EQ(DecodeError("F:0:d\nm:k:%%\n\n").message(),
            "line 2: metadata value: malformed %-escape at offset 4");
}

TEST(ProtocolErrorTest, EmptyDocumentNames) {
  EXPECT_EQ(DecodeError("F:0:\n\n").message(),
            "line 1: F line: empty document name");
  EXPECT_EQ(DecodeError("u:a\nn:\n\n").message(),
            "line 2: N line: empty document name");
}

TEST(ProtocolErrorTest, InvalidUtf8) {
  EXPECT_EQ(DecodeError("u:a\nu:\xC3\x28\n\n").message(),
            "line 2: invalid UTF-8 at offset 2");
  // Even on a line that would be ignored: the message is text.
  EXPECT_EQ(DecodeError("u:a\nzz \xFF\n\n").message(),
            "line 2: invalid UTF-8 at offset 3");
  EXPECT_EQ(DecodeError("F:0:doc\nd:0:+\xED\xA0\x80\n\n").message(),
            "line 2: invalid UTF-8 at offset 5");
}

TEST(ProtocolErrorTest, TextAfterTheBlankLine) {
  EXPECT_EQ(DecodeError("u:a\n\nF:0:doc\n\n").message(),
            "line 3: text after the blank line that ends the message");
  EXPECT_EQ(DecodeError("u:a\r\n\r\n\r\nx").message(),
            "line 4: text after the blank line that ends the message");
  EXPECT_EQ(DecodeError("\n\r\rx").message(),
            "line 4: text after the blank line that ends the message");
}

TEST(ProtocolErrorTest, CodesAndTokens) {
  EXPECT_EQ(DecodeError("x:\n\n").message(),
            "line 1: x line: \"\" is not a code (letters, digits, '-', '_', "
            "'.')");
  EXPECT_EQ(DecodeError("x:bad code:text\n\n").message(),
            "line 1: x line: \"bad code\" is not a code (letters, digits, "
            "'-', '_', '.')");
  EXPECT_EQ(DecodeError("F:0:d\nc:1::hunk\n\n").message(),
            "line 2: c line: \"\" is not a code (letters, digits, '-', '_', "
            "'.')");
  EXPECT_EQ(DecodeError("F:0:d\nm:\xC3\xA9t\xC3\xA9:1\n\n").message(),
            "line 2: m line: \"\xC3\xA9t\xC3\xA9\" is not a code (letters, "
            "digits, '-', '_', '.')");
  EXPECT_EQ(DecodeError("t:a\nu:x\nt:b\n\n").message(),
            "line 3: a second t line");
  EXPECT_EQ(DecodeError("t:\nt:\n\n").message(), "line 2: a second t line");
}

TEST(ProtocolErrorTest, BufferFragments) {
  const std::string_view expected = " (expected \"b:ID SIZE INDEX TEXT\")";
  auto message = [&](std::string_view wire) {
    std::string m = DecodeError(wire).message();
    EXPECT_TRUE(m.ends_with(expected)) << m;
    return m.substr(0, m.size() - std::min(m.size(), expected.size()));
  };
  EXPECT_EQ(message("b:id 3 1\n\n"), "line 1: b line: too few fields");
  EXPECT_EQ(message("b:id\n\n"), "line 1: b line: too few fields");
  EXPECT_EQ(message("b: 3 1 x\n\n"), "line 1: b line: empty buffer id");
  EXPECT_EQ(message("b:id  3 1 x\n\n"),
            "line 1: b line: size \"\" is not a number from 1");
  EXPECT_EQ(message("b:id 0 1 x\n\n"),
            "line 1: b line: size \"0\" is not a number from 1");
  EXPECT_EQ(message("b:id 3 0 x\n\n"),
            "line 1: b line: index \"0\" is not a number from 1 to 3");
  EXPECT_EQ(message("B:id 3 4 x\n\n"),
            "line 1: b line: index \"4\" is not a number from 1 to 3");
}

TEST(ProtocolErrorTest, QuotesLongBadInputShort) {
  const std::string wire = "F:" + std::string(100, '9') + "x:doc\n\n";
  EXPECT_EQ(DecodeError(wire).message(),
            "line 1: F line: version \"" + std::string(32, '9') +
                "...\" is not a number from 0 to 9007199254740991");
}

// --- Encoder
// ------------------------------------------------------------------

TEST(ProtocolEncodeTest, CanonicalOrder) {
  Message m;
  m.token = "tok";
  m.errors.push_back({"too-large", "limit 1 MB"});
  DocumentBlock b = Block("alice", "doc 1", 4, {Raw(2, "a b\n", true)}, true);
  b.edits[0].checksum = 0xCBF43926;
  b.edits.push_back(Delta(3, "=4\t+x"));
  b.conflicts.push_back({3, "context-not-found", "@@ -1 +1 @@\n-a\n"});
  b.errors.push_back({"bad-delta", ""});
  b.metadata.push_back({"cursor", "4:4"});
  m.documents.push_back(b);
  m.documents.push_back(Block("alice", "doc2", 0, {}, true));
  m.documents.back().nullify = true;
  m.fragments.push_back({"id", 2, 1, "x%3A"});
  EXPECT_EQ(Encode(m),
            "t:tok\n"
            "x:too-large:limit 1 MB\n"
            "U:alice\n"
            "F:4:doc 1\n"
            "R:2:a b%0A\n"
            "h:2:cbf43926\n"
            "d:3:=4\t+x\n"
            "c:3:context-not-found:@@ -1 +1 @@%0A-a%0A\n"
            "x:bad-delta\n"
            "m:cursor:4:4\n"
            "N:doc2\n"
            "b:id 2 1 x%3A\n"
            "\n");
  EXPECT_EQ(Decode(Encode(m)), m);
}

TEST(ProtocolEncodeTest, Errors) {
  auto error = [](const Message& m) {
    Result<std::string> wire = EncodeMessage(m);
    EXPECT_FALSE(wire.ok());
    EXPECT_EQ(wire.status().code(), StatusCode::kInvalidArgument);
    return wire.status().message();
  };
  Message m;
  m.documents.push_back(Block("a", "doc", 0, {Delta(0, "=1\n=2")}));
  EXPECT_EQ(error(m),
            "documents[0].edits[0].data: line break at offset 2 in a field "
            "sent unescaped");
  m.documents[0] = Block("a\rb", "doc", 0);
  EXPECT_EQ(error(m),
            "documents[0].client_id: line break at offset 1 in a field sent "
            "unescaped");
  m.documents[0] = Block("a", "", 0);
  EXPECT_EQ(error(m), "documents[0].document: empty");
  m.documents[0] = Block("a", "doc\xFF", 0);
  EXPECT_EQ(error(m), "documents[0].document: invalid UTF-8 at offset 3");
  m.documents[0] = Block("a", "doc", -1);
  EXPECT_EQ(error(m),
            "documents[0].version: -1 is outside 0..9007199254740991");
  m.documents[0] = Block("a", "doc", 0, {Raw(kMaxWireInteger + 1, "")});
  EXPECT_EQ(error(m),
            "documents[0].edits[0].version: 9007199254740992 is outside "
            "0..9007199254740991");
  m.documents[0] = Block("a", "doc", 0, {Raw(0, "\xC3")});
  EXPECT_EQ(error(m), "documents[0].edits[0].data: invalid UTF-8 at offset 0");
  m.documents[0] = Block("a", "doc", 3);
  m.documents[0].nullify = true;
  EXPECT_EQ(error(m),
            "documents[0]: a nullify block has no version and no edits");
  m.documents[0] = Block("a", "doc", 0);
  m.documents[0].errors.push_back({"a:b", "x"});
  EXPECT_EQ(error(m),
            "documents[0].errors[0].code: \"a:b\" is not a code (one or more "
            "letters, digits, '-', '_', '.')");
  m.documents[0] = Block("a", "doc", 0);
  m.documents[0].conflicts.push_back({0, "", "x"});
  EXPECT_EQ(error(m),
            "documents[0].conflicts[0].reason: \"\" is not a code (one or "
            "more letters, digits, '-', '_', '.')");
  m.documents[0] = Block("a", "doc", 0);
  m.documents[0].metadata.push_back({"cursor", "\xFF"});
  EXPECT_EQ(error(m),
            "documents[0].metadata[0].value: invalid UTF-8 at offset 0");

  Message t;
  t.token = "a\nb";
  EXPECT_EQ(error(t),
            "token: line break at offset 1 in a field sent unescaped");
  Message x;
  x.errors.push_back({"ok", "\xC0\x80"});
  EXPECT_EQ(error(x), "errors[0].message: invalid UTF-8 at offset 0");

  Message f;
  f.fragments.push_back({"a b", 1, 1, ""});
  EXPECT_EQ(error(f), "fragments[0].id: \"a b\" is empty or holds a space");
  f.fragments[0] = {"", 1, 1, ""};
  EXPECT_EQ(error(f), "fragments[0].id: \"\" is empty or holds a space");
  f.fragments[0] = {"id", 0, 1, ""};
  EXPECT_EQ(error(f), "fragments[0].size: 0 is outside 1..9007199254740991");
  f.fragments[0] = {"id", 2, 3, ""};
  EXPECT_EQ(error(f), "fragments[0].index: 3 is past the size 2");
  f.fragments[0] = {"id", 2, 1, "a\r"};
  EXPECT_EQ(error(f),
            "fragments[0].text: line break at offset 1 in a field sent "
            "unescaped");
}

TEST(ProtocolEncodeTest, EscapedFieldsMayHoldAnyText) {
  Message m;
  DocumentBlock b = Block("id", "a\nb%c:d e\r\xF0\x9F\x98\x80", 0,
                          {Raw(0, std::string("\0\r\n%25%3A \t#", 12))});
  b.conflicts.push_back({0, "r", "@@ -1 +1 @@\n-%0A\n+\r\n"});
  b.metadata.push_back({"k", "1\n2"});
  m.documents.push_back(b);
  m.errors.push_back({"e", "\r\n"});
  const std::string wire = Encode(m);
  EXPECT_EQ(wire,
            "x:e:%0D%0A\n"
            "u:id\n"
            "F:0:a%0Ab%25c:d e%0D%F0%9F%98%80\n"
            "r:0:%00%0D%0A%2525%253A %09#\n"
            "c:0:r:@@ -1 +1 @@%0A-%250A%0A+%0D%0A\n"
            "m:k:1%0A2\n\n");
  EXPECT_EQ(Decode(wire), m);
}

// --- Round trips
// --------------------------------------------------------------

class RandomMessages {
 public:
  explicit RandomMessages(uint64_t seed) : rng_(seed) {}

  Message Next() {
    Message m;
    if (Chance(4)) m.token = Unescaped(1);
    for (int i = Below(3) == 0 ? Below(3) : 0; i > 0; --i) {
      m.errors.push_back({Code(), Text()});
    }
    for (int i = Below(5); i > 0; --i) m.documents.push_back(Document());
    for (int i = Chance(5) ? 1 + Below(3) : 0; i > 0; --i) {
      BufferFragment f;
      f.id = Code();
      f.size = 1 + Below(20);
      f.index = 1 + Below(static_cast<int>(f.size));
      f.text = Unescaped(0);
      m.fragments.push_back(f);
    }
    return m;
  }

 private:
  int Below(int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng_);
  }
  bool Chance(int one_in) { return Below(one_in) == 0; }

  int64_t Number() {
    switch (Below(4)) {
      case 0:
        return Below(3);
      case 1:
        return Below(1000);
      case 2:
        return kMaxWireInteger - Below(3);
      default:
        return std::uniform_int_distribution<int64_t>(0, kMaxWireInteger)(rng_);
    }
  }

  // Any valid UTF-8, including line breaks, '%', ':' and astral characters.
  std::string Text() {
    static const std::vector<std::string> kPieces = {"a",
                                                     "Z",
                                                     "0",
                                                     " ",
                                                     ":",
                                                     "%",
                                                     "%25",
                                                     "%3A",
                                                     "\n",
                                                     "\r",
                                                     "\t",
                                                     "#",
                                                     std::string(1, '\0'),
                                                     "+",
                                                     "=",
                                                     "-",
                                                     "\xC3\xA9",
                                                     "\xE3\x81\x86",
                                                     "\xF0\x9F\x98\x80",
                                                     "@@",
                                                     "\\",
                                                     "'",
                                                     "\"",
                                                     ";",
                                                     "/",
                                                     "?"};
    std::string s;
    for (int i = Below(4) == 0 ? 0 : Below(12); i > 0; --i) {
      s += kPieces[Below(static_cast<int>(kPieces.size()))];
    }
    return s;
  }

  // Text without line breaks, at least `min` bytes long.
  std::string Unescaped(size_t min) {
    std::string s;
    do {
      for (const char c : Text()) {
        if (c != '\n' && c != '\r') s += c;
      }
    } while (s.size() < min);
    return s;
  }

  std::string Code() {
    static constexpr std::string_view kChars = "abcxyzABC0189-_.";
    std::string s;
    for (int i = 1 + Below(8); i > 0; --i) {
      s += kChars[Below(static_cast<int>(kChars.size()))];
    }
    return s;
  }

  DocumentBlock Document() {
    DocumentBlock b;
    static const std::vector<std::string> kIds = {"", "alice", "bob",
                                                  "k3x-_:.q"};
    b.client_id = Chance(6) ? Unescaped(0) : kIds[Below(4)];
    b.echo_client_id = Chance(3);
    b.document = Chance(2) ? "doc" : Text();
    if (b.document.empty()) b.document = "d";
    b.nullify = Chance(6);
    if (!b.nullify) {
      b.version = Number();
      for (int i = Below(4); i > 0; --i) {
        Edit e;
        e.kind = Chance(2) ? Edit::Kind::kDelta : Edit::Kind::kRaw;
        e.overwrite = Chance(3);
        e.version = Number();
        e.data = e.kind == Edit::Kind::kDelta ? Unescaped(0) : Text();
        if (Chance(2)) {
          e.checksum = std::uniform_int_distribution<uint32_t>()(rng_);
        }
        b.edits.push_back(e);
      }
    }
    for (int i = Chance(3) ? 1 + Below(2) : 0; i > 0; --i) {
      b.conflicts.push_back({Number(), Code(), Text()});
    }
    for (int i = Chance(3) ? 1 + Below(2) : 0; i > 0; --i) {
      b.errors.push_back({Code(), Text()});
    }
    for (int i = Chance(3) ? 1 + Below(2) : 0; i > 0; --i) {
      b.metadata.push_back({Code(), Text()});
    }
    return b;
  }

  std::mt19937_64 rng_;
};

TEST(ProtocolRoundTripTest, RandomMessagesSurviveEncodeDecode) {
  RandomMessages random(Seed());
  for (int i = 0; i < 3000; ++i) {
    const Message m = random.Next();
    Result<std::string> wire = EncodeMessage(m);
    ASSERT_TRUE(wire.ok()) << "iteration " << i << ": "
                           << wire.status().ToString();
    Result<Message> back = DecodeMessage(*wire);
    ASSERT_TRUE(back.ok()) << "iteration " << i << ": "
                           << back.status().ToString() << "\n"
                           << *wire;
    ASSERT_EQ(*back, m) << "iteration " << i << "\n" << *wire;
    ASSERT_EQ(Encode(*back), *wire) << "iteration " << i;
  }
}

// Random sequences of protocol lines, some malformed, with random line
// breaks: whatever decodes re-encodes to a fixed point.
TEST(ProtocolRoundTripTest, RandomLinesDecodeToACanonicalForm) {
  std::mt19937_64 rng(Seed() ^ 0x5eed);
  auto below = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  static const std::vector<std::string> kLines = {"u:alice",
                                                  "U:bob",
                                                  "u:",
                                                  "F:0:doc",
                                                  "f:3:doc%20b",
                                                  "F:1:other",
                                                  "N:doc",
                                                  "n:x%3Ay",
                                                  "d:0:=3\t+a%20b",
                                                  "D:2:-1",
                                                  "r:1:hello%0A world",
                                                  "R:4:",
                                                  "h:0:0000abcd",
                                                  "h:4:FFFFFFFF",
                                                  "h:1:12345678",
                                                  "c:1:r:@@ a",
                                                  "c:0:x",
                                                  "x:e:msg",
                                                  "x:foo",
                                                  "m:cursor:1:2",
                                                  "m:k",
                                                  "t:token",
                                                  "b:id 2 1 a%3A",
                                                  "B:id 2 2 b",
                                                  "zz",
                                                  "q:unknown",
                                                  "F:x:bad",
                                                  "d:0:=1",
                                                  "d:1:=1",
                                                  "r:0:%",
                                                  ":",
                                                  "F"};
  static const std::vector<std::string> kBreaks = {"\n", "\r\n", "\r"};
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string wire;
    for (int n = below(10); n > 0; --n) {
      wire += kLines[below(static_cast<int>(kLines.size()))];
      wire += kBreaks[below(3)];
    }
    wire += kBreaks[below(3)];
    Result<Message> m = DecodeMessage(wire);
    if (!m.ok()) {
      ASSERT_FALSE(m.status().message().empty());
      continue;
    }
    ++decoded;
    Result<std::string> canonical = EncodeMessage(*m);
    ASSERT_TRUE(canonical.ok()) << canonical.status().ToString() << "\n"
                                << wire;
    Result<Message> again = DecodeMessage(*canonical);
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << *canonical;
    ASSERT_EQ(*again, *m) << wire << "\n---\n" << *canonical;
    ASSERT_EQ(Encode(*again), *canonical);
  }
  // The soup must exercise the success path, not only the errors.
  EXPECT_GT(decoded, 300);
}

// --- CRC-32
// ---------------------------------------------------------------------

TEST(Crc32Test, KnownValues) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(Crc32("a"), 0xE8B7BE43u);
  EXPECT_EQ(Crc32(std::string_view("\0", 1)), 0xD202EF8Du);
  EXPECT_EQ(Crc32("\xE3\x81\x86"), 0x72A638F4u);
}

TEST(Crc32Test, Continues) {
  const std::string text = "Hello world, \xE3\x81\x86 and more";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(Crc32(std::string_view(text).substr(cut),
                    Crc32(std::string_view(text).substr(0, cut))),
              Crc32(text));
  }
}

}  // namespace
}  // namespace diffsync::engine
