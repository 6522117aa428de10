// Unit tests of the browser's protocol client (node --test; ctest runs them
// as web_unit_test). Random cases are seeded; the seed is printed and
// DIFFSYNC_SEED replays one.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  DocumentSync, applyOps, decodeMessage, diffOps, encodeText, fromDelta, hunkEdits, mapPosition, opsToChanges,
  toDelta, transform,
} from '../src/diffsync-client.js';

const seed = Number(process.env.DIFFSYNC_SEED ?? Date.now() % 1000000);
console.log(`seed ${seed} (DIFFSYNC_SEED=${seed} replays)`);
function random(seedValue) {
  let state = seedValue >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

test('escaping is encodeURI with spaces kept', () => {
  assert.equal(encodeText('a b%c\n😀;/?'), 'a b%25c%0A%F0%9F%98%80;/?');
});

test('the delta example of PROTOCOL.md', () => {
  const ops = fromDelta('=4\t-1\t+ed\t=6\t-3\t+a\t=5\t+old dog', 'jumps over the lazy'.length);
  assert.equal(applyOps('jumps over the lazy', ops), 'jumped over a lazyold dog');
  assert.equal(toDelta(ops), '=4\t-1\t+ed\t=6\t-3\t+a\t=5\t+old dog');
  assert.throws(() => fromDelta('=3', 4), /covers 3 units of a 4-unit/);
  assert.throws(() => fromDelta('=x', 1), /bad delta token/);
});

test('diffs never split a surrogate pair', () => {
  for (const [from, to] of [['😀', '😁'], ['a😀b', 'a😁b'], ['😀😀', '😀👍😀'], ['x😀', 'x'], ['e\u0301', 'e\u0300']]) {
    const ops = diffOps(from, to);
    assert.equal(applyOps(from, ops), to);
    const delta = toDelta(ops); // encodeURI throws on half a pair
    assert.equal(applyOps(from, fromDelta(delta, from.length)), to);
  }
});

test('random texts of emoji, CJK and combining marks diff, encode and apply', () => {
  const next = random(seed);
  const alphabet = ['a', 'b', ' ', '\n', '😀', '😁', '👍', '世', '界', 'e\u0301', '\u0301', '🇩🇪'];
  const word = () => Array.from({ length: Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  for (let i = 0; i < 500; i++) {
    const from = word();
    const to = word();
    const ops = diffOps(from, to);
    assert.equal(applyOps(from, fromDelta(toDelta(ops), from.length)), to, JSON.stringify([from, to]));
  }
});

test('transform keeps both changes', () => {
  const base = 'hello world';
  const incoming = diffOps(base, 'hello big world');
  const local = diffOps(base, 'hello world!');
  assert.equal(applyOps('hello world!', transform(incoming, local)), 'hello big world!');
  // Both delete "world": deleted once; an insert inside survives.
  const a = diffOps(base, 'hello ');
  const b = diffOps(base, 'hello wo-rld');
  assert.equal(applyOps('hello wo-rld', transform(a, b)), 'hello -');
  // Both insert at one place: the incoming text first.
  assert.equal(applyOps('ab', transform(diffOps('a', 'aX'), diffOps('a', 'ab'))), 'aXb');
});

test('positions map through changes; CodeMirror changes are in the old text', () => {
  const ops = diffOps('the brown fox', 'the quick brown fox');
  assert.equal(mapPosition(ops, 6), 12);
  assert.deepEqual(opsToChanges(ops), [{ from: 4, to: 4, insert: 'quick ' }]);
});

test('decoding a reply with peer cursors, conflicts and errors', () => {
  const message = decodeMessage('F:6:my%20doc\nd:12:=1\t-4\t+i\t=7\nh:12:431c0ef6\nc:5:overlap:@@ -8,4 +8,5 @@%0A orld%0A+!%0A\n' +
    'x:too-large:too%20big\nm:peer-cursor:2:3:q9y:.-abc\nm:push\n\n');
  const [block] = message.blocks;
  assert.equal(block.document, 'my doc');
  assert.equal(block.version, 6);
  assert.deepEqual(block.edits, [{ raw: false, overwrite: false, version: 12, data: '=1\t-4\t+i\t=7' }]);
  assert.deepEqual(block.conflicts, [{ version: 5, reason: 'overlap', hunk: '@@ -8,4 +8,5 @@\n orld\n+!\n' }]);
  assert.deepEqual(block.errors, [{ code: 'too-large', text: 'too big' }]);
  assert.deepEqual(block.metadata, [{ key: 'peer-cursor', value: '2:3:q9y:.-abc' }, { key: 'push', value: '' }]);
  assert.throws(() => decodeMessage('d:1:=1\n\n'), /before any F line/);
  assert.deepEqual(hunkEdits('@@ -1,8 +1,9 @@\n a \n-beta\n+B%C3%8ATA %F0%9F%85%B0\n  ga\n'),
    { deleted: 'beta', inserted: 'BÊTA 🅰' });
});

test('a client joins, edits, merges a server edit into what it typed, and resyncs', () => {
  const doc = new DocumentSync('notes');
  doc.text = 'Hello world';
  assert.deepEqual(doc.makeRequest(), ['F:0:notes', 'r:1:Hello world']);
  doc.handleReply(decodeMessage('F:1:notes\n\n').blocks[0]);
  doc.text = 'Hello world!';
  assert.deepEqual(doc.makeRequest(), ['F:0:notes', 'd:1:=11\t+!']);
  doc.text = 'Hello world!?'; // typed while the request is out
  const fx = doc.handleReply(decodeMessage('F:2:notes\nd:0:=1\t-4\t+i\t=7\n\n').blocks[0]);
  assert.equal(doc.text, 'Hi world!?');
  assert.equal(doc.shadow, 'Hi world!');
  assert.equal(doc.stack.length, 0);
  assert.equal(fx.changes.length, 1);
  // A delta that does not fit: out of step, the next request offers the
  // confirmed shadow, and the answer keeps what the user typed.
  const bad = doc.handleReply(decodeMessage('F:2:notes\nd:1:=99\n\n').blocks[0]);
  assert.ok(bad.resync);
  assert.deepEqual(doc.makeRequest(), ['F:1:notes', 'r:3:Hi world!']);
  doc.handleReply(decodeMessage('F:3:notes\nR:4:Hi there world!\n\n').blocks[0]);
  assert.equal(doc.text, 'Hi there world!?');
  assert.equal(doc.serverVersion, 4);
  // The state survives a round trip through JSON (localStorage).
  const again = DocumentSync.fromJSON(JSON.parse(JSON.stringify(doc)));
  assert.deepEqual(again.makeRequest(), doc.makeRequest());
});

// The server applied " text" but its acknowledgement was lost; then the
// client fell out of step and resynced from the confirmed shadow, "shared".
// The server's answer brings " text" back as its own change: it must not be
// typed a second time, while an edit of someone else's in it is kept (one
// that is not right next to ours: a diff makes the two one hunk, which is
// then not recognised, here as in the C++ client).
function resyncedAfterALostAcknowledgement() {
  const doc = new DocumentSync('notes');
  doc.text = 'shared';
  doc.makeRequest();
  doc.handleReply(decodeMessage('F:1:notes\n\n').blocks[0]);
  doc.text = 'shared text';
  assert.deepEqual(doc.makeRequest(), ['F:0:notes', 'd:1:=6\t+ text']); // Its reply is lost.
  const foreign = doc.handleReply(decodeMessage('F:9:notes\n\n').blocks[0]);
  assert.ok(foreign.resync);
  doc.text = '> shared text';
  assert.deepEqual(doc.makeRequest(), ['F:0:notes', 'r:10:shared']);
  return doc;
}

test('a resync answered by a delta does not repeat what the server already had', () => {
  const doc = resyncedAfterALostAcknowledgement();
  // diffsyncd takes the raw text as the shadow and answers with its change.
  const fx = doc.handleReply(decodeMessage('F:10:notes\nd:0:-1\t+S\t=5\t+ text\n\n').blocks[0]);
  assert.equal(doc.text, '> Shared text');
  assert.equal(doc.shadow, 'Shared text');
  assert.equal(applyOps('> shared text', fx.changes[0]), '> Shared text');
  // Out of the resync: the next request carries only "> ".
  assert.deepEqual(doc.makeRequest(), ['F:1:notes', 'd:10:+%3E \t=11']);
  doc.text = '> Shared text text';
  doc.handleReply(decodeMessage('F:11:notes\nd:1:=13\t+ text\n\n').blocks[0]);
  assert.equal(doc.text, '> Shared text text text', 'a repeat outside a resync is a new edit');
});

test('a resync answered by the whole text does not repeat what the server already had', () => {
  const doc = resyncedAfterALostAcknowledgement();
  doc.handleReply(decodeMessage('F:11:notes\nr:4:Shared text\n\n').blocks[0]);
  assert.equal(doc.text, '> Shared text');
  assert.equal(doc.serverVersion, 4);
  // The state of a resync survives a reload in the middle of it.
  const again = resyncedAfterALostAcknowledgement();
  const restored = DocumentSync.fromJSON(JSON.parse(JSON.stringify(again)));
  assert.equal(restored.rebase, true);
  restored.handleReply(decodeMessage('F:10:notes\nd:0:-1\t+S\t=5\t+ text\n\n').blocks[0]);
  assert.equal(restored.text, '> Shared text');
});
