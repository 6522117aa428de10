// The wire formats of docs/PROTOCOL.md in the browser: text escaping, deltas,
// changes as operations, and MobWrite's line protocol with our extensions.
// Positions and lengths count UTF-16 code units (JavaScript's String.length),
// as the protocol does.
import DiffMatchPatch from 'diff-match-patch';

const dmp = new DiffMatchPatch();
dmp.Diff_Timeout = 1;
const DIFF_DELETE = -1;
const DIFF_INSERT = 1;
const DIFF_EQUAL = 0;

// encodeURI, with %20 written as a space (the protocol's escaping).
export function encodeText(text) {
  return encodeURI(text).replace(/%20/g, ' ');
}

// decodeURI: reserved characters stay escaped; a bad escape throws URIError.
export function decodeText(text) {
  return decodeURI(text);
}

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

// Moves every boundary of `diffs` that falls inside a surrogate pair out of
// it. diff-match-patch 1.0.5 compares code units and may split an emoji
// (`😀` → `😁` is "keep \ud83d, replace \ude00"); encodeURI of half a pair
// throws, and the protocol forbids such counts. Each run of edits between two
// equalities is widened to whole characters and becomes one delete and one
// insert.
function wholeCharacters(diffs) {
  const out = [];
  let i = 0;
  while (i < diffs.length) {
    if (diffs[i][0] === DIFF_EQUAL) {
      out.push([DIFF_EQUAL, diffs[i][1]]);
      i++;
      continue;
    }
    let del = '';
    let ins = '';
    while (i < diffs.length && diffs[i][0] !== DIFF_EQUAL) {
      if (diffs[i][0] === DIFF_DELETE) del += diffs[i][1];
      else ins += diffs[i][1];
      i++;
    }
    const before = out.length > 0 ? out[out.length - 1] : null;
    if (before && isHigh(before[1].charCodeAt(before[1].length - 1))) {
      const high = before[1].slice(-1);
      before[1] = before[1].slice(0, -1);
      if (before[1] === '') out.pop();
      del = high + del;
      ins = high + ins;
    }
    const after = i < diffs.length ? diffs[i] : null;
    if (after && isLow(after[1].charCodeAt(0))) {
      const low = after[1][0];
      diffs[i] = [DIFF_EQUAL, after[1].slice(1)];
      del += low;
      ins += low;
      if (diffs[i][1] === '') i++;
    }
    if (del) out.push([DIFF_DELETE, del]);
    if (ins) out.push([DIFF_INSERT, ins]);
  }
  return out;
}

// A change of a text as operations: {retain: n}, {delete: n}, {insert: s}.
export function diffOps(from, to) {
  if (from === to) return from.length ? [{ retain: from.length }] : [];
  const diffs = dmp.diff_main(from, to);
  dmp.diff_cleanupSemantic(diffs);
  const ops = [];
  for (const [op, text] of wholeCharacters(diffs)) {
    if (op === DIFF_EQUAL) ops.push({ retain: text.length });
    else if (op === DIFF_DELETE) ops.push({ delete: text.length });
    else ops.push({ insert: text });
  }
  return ops;
}

export function isIdentity(ops) {
  return ops.every((op) => op.retain !== undefined);
}

export function applyOps(text, ops) {
  let out = '';
  let at = 0;
  for (const op of ops) {
    if (op.retain !== undefined) {
      out += text.slice(at, at + op.retain);
      at += op.retain;
    } else if (op.delete !== undefined) {
      at += op.delete;
    } else {
      out += op.insert;
    }
  }
  if (at !== text.length) {
    throw new Error(`change covers ${at} of ${text.length} units`);
  }
  return out;
}

export function toDelta(ops) {
  return ops
    .map((op) =>
      op.retain !== undefined ? `=${op.retain}`
        : op.delete !== undefined ? `-${op.delete}`
          : `+${encodeText(op.insert)}`)
    .join('\t');
}

// A delta against a text of `baseLength` units; its counts must fit exactly.
export function fromDelta(delta, baseLength) {
  const ops = [];
  let covered = 0;
  for (const token of delta.split('\t')) {
    if (token === '') continue;
    const kind = token[0];
    const rest = token.slice(1);
    if (kind === '+') {
      ops.push({ insert: decodeText(rest) });
      continue;
    }
    if ((kind !== '=' && kind !== '-') || !/^[0-9]+$/.test(rest)) {
      throw new Error(`bad delta token "${token}"`);
    }
    const n = Number(rest);
    covered += n;
    ops.push(kind === '=' ? { retain: n } : { delete: n });
  }
  if (covered !== baseLength) {
    throw new Error(`delta covers ${covered} units of a ${baseLength}-unit shadow`);
  }
  return ops;
}

// Splits operations into pieces so that two lists can be walked together.
class OpCursor {
  constructor(ops) {
    this.ops = ops;
    this.i = 0;
    this.used = 0;
  }
  get op() {
    return this.ops[this.i];
  }
  done() {
    return this.i >= this.ops.length;
  }
  length() {
    const op = this.op;
    const total = op.retain ?? op.delete ?? op.insert.length;
    return total - this.used;
  }
  take(n) {
    this.used += n;
    if (this.used >= (this.op.retain ?? this.op.delete ?? this.op.insert.length)) {
      this.i++;
      this.used = 0;
    }
  }
}

// Operational transform: `incoming` and `local` both change the same text;
// the result applies `incoming` after `local`, so that both are kept. Where
// both insert at one place, the incoming text comes first; text both deleted
// is deleted once.
export function transform(incoming, local) {
  const a = new OpCursor(incoming);
  const b = new OpCursor(local);
  const out = [];
  const push = (op) => {
    const last = out[out.length - 1];
    if (last && op.retain !== undefined && last.retain !== undefined) last.retain += op.retain;
    else if (last && op.delete !== undefined && last.delete !== undefined) last.delete += op.delete;
    else out.push(op);
  };
  while (!a.done() || !b.done()) {
    if (!a.done() && a.op.insert !== undefined) {
      push({ insert: a.op.insert });
      a.take(a.op.insert.length);
      continue;
    }
    if (!b.done() && b.op.insert !== undefined) {
      push({ retain: b.length() });
      b.take(b.length());
      continue;
    }
    if (a.done() || b.done()) throw new Error('changes of different lengths');
    const n = Math.min(a.length(), b.length());
    if (a.op.retain !== undefined && b.op.retain !== undefined) push({ retain: n });
    else if (a.op.delete !== undefined && b.op.retain !== undefined) push({ delete: n });
    a.take(n);
    b.take(n);
  }
  return out.filter((op) => op.retain !== 0 && op.delete !== 0 && op.insert !== '');
}

// The hunks of a change, {begin, end, insert}: [begin, end) of the old text
// replaced by `insert`, one per run of edits between two retains.
export function hunksOf(ops) {
  const hunks = [];
  let at = 0;
  let hunk = null;
  for (const op of ops) {
    if (op.retain !== undefined) {
      if (op.retain > 0) hunk = null;
      at += op.retain;
      continue;
    }
    if (!hunk) {
      hunk = { begin: at, end: at, insert: '' };
      hunks.push(hunk);
    }
    if (op.delete !== undefined) {
      at += op.delete;
      hunk.end = at;
    } else {
      hunk.insert += op.insert;
    }
  }
  return hunks;
}

// `incoming` without the hunks `local` made too (the same text replaced by
// the same insert). After a resync, edits of ours the server had applied
// (their acknowledgement lost) come back in its change: transforming them
// over our own would type them twice. As the C++ client's merge with
// skip_repeats.
export function withoutRepeats(incoming, local) {
  const ours = hunksOf(local);
  const kept = hunksOf(incoming).filter((h) =>
    !ours.some((o) => o.begin === h.begin && o.end === h.end && o.insert === h.insert));
  const length = incoming.reduce((n, op) => n + (op.retain ?? op.delete ?? 0), 0);
  const ops = [];
  let at = 0;
  for (const h of kept) {
    if (h.begin > at) ops.push({ retain: h.begin - at });
    if (h.end > h.begin) ops.push({ delete: h.end - h.begin });
    if (h.insert) ops.push({ insert: h.insert });
    at = h.end;
  }
  if (length > at) ops.push({ retain: length - at });
  return ops;
}

// A position moved through a change (after text inserted right there when
// `afterInserts`).
export function mapPosition(ops, pos, afterInserts = false) {
  let from = 0;
  let to = 0;
  for (const op of ops) {
    if (op.retain !== undefined) {
      if (pos < from + op.retain) return to + (pos - from);
      from += op.retain;
      to += op.retain;
    } else if (op.delete !== undefined) {
      if (pos < from + op.delete) return to;
      from += op.delete;
    } else {
      if (pos > from || (pos === from && afterInserts)) to += op.insert.length;
    }
  }
  return to + (pos - from);
}

// Operations as CodeMirror changes ({from, to, insert}, positions in the
// text before the change).
export function opsToChanges(ops) {
  const changes = [];
  let at = 0;
  for (const op of ops) {
    if (op.retain !== undefined) at += op.retain;
    else if (op.delete !== undefined) {
      changes.push({ from: at, to: at + op.delete, insert: '' });
      at += op.delete;
    } else {
      const last = changes[changes.length - 1];
      if (last && last.to === at) last.insert += op.insert;
      else changes.push({ from: at, to: at, insert: op.insert });
    }
  }
  return changes;
}

const CODE = /^[A-Za-z0-9._-]+$/;

// Decodes a message into blocks: {document, version, edits, conflicts,
// errors, metadata} (plus the message's own errors). Throws on what the
// protocol calls malformed.
export function decodeMessage(text) {
  const message = { errors: [], blocks: [] };
  let block = null;
  let lastEdit = null;
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') break;
    if (line.length < 2 || line[1] !== ':') continue;
    const letter = line[0];
    const value = line.slice(2);
    const versioned = () => {
      const colon = value.indexOf(':');
      const number = colon < 0 ? value : value.slice(0, colon);
      if (!/^[0-9]+$/.test(number)) throw new Error(`line ${i + 1}: bad number "${number}"`);
      return [Number(number), colon < 0 ? '' : value.slice(colon + 1)];
    };
    const needBlock = () => {
      if (!block) throw new Error(`line ${i + 1}: "${letter}:" before any F line`);
      return block;
    };
    switch (letter) {
      case 'F':
      case 'f': {
        const [version, name] = versioned();
        block = { document: decodeText(name), version, edits: [], conflicts: [], errors: [], metadata: [] };
        message.blocks.push(block);
        break;
      }
      case 'd':
      case 'D': {
        const [version, delta] = versioned();
        lastEdit = { raw: false, overwrite: letter === 'D', version, data: delta };
        needBlock().edits.push(lastEdit);
        break;
      }
      case 'r':
      case 'R': {
        const [version, raw] = versioned();
        lastEdit = { raw: true, overwrite: letter === 'R', version, data: decodeText(raw) };
        needBlock().edits.push(lastEdit);
        break;
      }
      case 'c': {
        const [version, rest] = versioned();
        const colon = rest.indexOf(':');
        needBlock().conflicts.push({
          version,
          reason: colon < 0 ? rest : rest.slice(0, colon),
          hunk: colon < 0 ? '' : decodeText(rest.slice(colon + 1)),
        });
        break;
      }
      case 'x': {
        const colon = value.indexOf(':');
        const error = {
          code: colon < 0 ? value : value.slice(0, colon),
          text: colon < 0 ? '' : decodeText(value.slice(colon + 1)),
        };
        (block ? block.errors : message.errors).push(error);
        break;
      }
      case 'm': {
        const colon = value.indexOf(':');
        const key = colon < 0 ? value : value.slice(0, colon);
        if (!CODE.test(key)) throw new Error(`line ${i + 1}: bad metadata key "${key}"`);
        needBlock().metadata.push({ key, value: colon < 0 ? '' : decodeText(value.slice(colon + 1)) });
        break;
      }
      default:
        break;
    }
  }
  return message;
}

// What a hunk in patch text (a c: line's) deleted and inserted, decoded.
export function hunkEdits(patch) {
  const edits = { deleted: '', inserted: '' };
  for (const line of patch.split('\n')) {
    if (line.startsWith('-')) edits.deleted += decodeText(line.slice(1));
    else if (line.startsWith('+')) edits.inserted += decodeText(line.slice(1));
  }
  return edits;
}

// `m:peer-cursor:ANCHOR:HEAD:ID` values of a block, as {id, anchor, head}.
export function peerCursors(block) {
  const peers = [];
  for (const { key, value } of block.metadata) {
    if (key !== 'peer-cursor') continue;
    const match = /^([0-9]+):([0-9]+):(.+)$/.exec(value);
    if (match) peers.push({ anchor: Number(match[1]), head: Number(match[2]), id: match[3] });
  }
  return peers;
}

export function hasMetadata(block, key) {
  return block.metadata.some((m) => m.key === key);
}
