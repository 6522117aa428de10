#!/usr/bin/env node
// The peers of bench/engine_benchmark.cc's trace rows, under node: an
// editing trace (josephg/editing-traces format, gzipped JSON) replayed by
//   yjs         Yjs (npm yjs): each transaction of the trace is one Yjs
//               transaction on a Y.Text, and its update (the bytes Yjs would
//               send to peers) is collected from the doc's 'update' event;
//   yjs_remote  the same, and every update is also applied to a second
//               Y.Doc, as a peer receiving it would (closer to our full loop,
//               which includes the receiving side);
//   dt          diamond-types (npm diamond-types-node, Rust compiled to
//               WebAssembly): each transaction of the trace is applied to a
//               Doc, and its update is the patch since the version before it
//               (Doc.getPatchSince, the bytes diamond-types would send);
//   dt_remote   the same, and a second Doc merges every patch (mergeBytes);
//   splice      plain JavaScript string splicing (slice + concatenation),
//               the floor: no collaboration at all.
// With --batch K, K trace transactions form one update (one Yjs transaction,
// one diamond-types patch), the counterpart of our rows that sync every K
// keystrokes.
//
// usage: node yjs_trace.js --trace PATH
//                          --variant yjs|yjs_remote|dt|dt_remote|splice
//                          [--batch K] [--reps N] [--warmup N]
//
// Prints one JSON object: the wall and CPU (user + system) time of every
// timed repetition (ms), their medians, the number of updates and their
// total size in bytes, and the process's peak RSS. Every repetition's final
// text must equal the trace's endContent (and a receiving document's text
// the sender's), else it exits with status 1 (WRONG RESULT).
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const Y = require('yjs');
const DT = require('diamond-types-node');

function Fail(message, status = 2) {
  process.stderr.write(`yjs_trace.js: ${message}\n`);
  process.exit(status);
}

function ParseArgs(argv) {
  const args = {trace: null, variant: null, batch: 1, reps: 5, warmup: 1};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) Fail(`${flag} needs a value`);
    if (flag === '--trace') {
      args.trace = value;
    } else if (flag === '--variant') {
      args.variant = value;
    } else if (flag === '--batch') {
      args.batch = parseInt(value, 10);
    } else if (flag === '--reps') {
      args.reps = parseInt(value, 10);
    } else if (flag === '--warmup') {
      args.warmup = parseInt(value, 10);
    } else {
      Fail(`unknown flag ${flag}`);
    }
  }
  if (!args.trace) Fail('--trace PATH is required');
  if (!(args.variant in kVariants)) {
    Fail(`--variant must be one of ${Object.keys(kVariants).join(', ')}`);
  }
  if (!(args.batch >= 1)) Fail('--batch must be at least 1');
  if (!(args.reps >= 1)) Fail('--reps must be at least 1');
  if (!(args.warmup >= 0)) Fail('--warmup must be at least 0');
  return args;
}

function HasAstral(s) {
  return /[\uD800-\uDBFF]/.test(s);
}

// Reads the trace and returns its transactions as arrays of
// [pos, del, insert], counted in `unit`: 'codepoint' as in the file (and as
// diamond-types counts), or 'utf16' (JavaScript's and Yjs's unit). The two
// agree unless a character outside the BMP occurs, in which case the trace
// is replayed once (untimed) to convert.
function LoadTrace(file, unit) {
  if (!fs.existsSync(file)) Fail(`missing trace ${file}`);
  let raw = fs.readFileSync(file);
  if (file.endsWith('.gz')) raw = zlib.gunzipSync(raw);
  const json = JSON.parse(raw.toString('utf8'));
  const txns = json.txns.map((t) => t.patches);
  const astral = HasAstral(json.startContent) ||
      txns.some((patches) => patches.some((p) => HasAstral(p[2])));
  if (unit === 'utf16' && astral) {
    let text = json.startContent;
    const units = (codePoints) => {
      let pos = 0;
      for (let n = 0; n < codePoints; n++) {
        pos += text.codePointAt(pos) > 0xffff ? 2 : 1;
      }
      return pos;
    };
    for (const patches of txns) {
      for (const p of patches) {
        const start = units(p[0]);
        const end = units(p[0] + p[1]);
        p[0] = start;
        p[1] = end - start;
        text = text.slice(0, start) + p[2] + text.slice(end);
      }
    }
  }
  return {start: json.startContent, end: json.endContent, txns};
}

// Each variant's run replays the trace (positions in its unit) once and
// returns the final text and the updates it emitted ({updates, bytes}).
const kVariants = {
  yjs: {unit: 'utf16', run: (trace, batch) => ReplayYjs(trace, batch, false)},
  yjs_remote: {
    unit: 'utf16',
    run: (trace, batch) => ReplayYjs(trace, batch, true),
  },
  dt: {unit: 'codepoint', run: (trace, batch) => ReplayDt(trace, batch, false)},
  dt_remote: {
    unit: 'codepoint',
    run: (trace, batch) => ReplayDt(trace, batch, true),
  },
  splice: {
    unit: 'utf16',
    run: (trace) => {
      let text = trace.start;
      for (const patches of trace.txns) {
        for (const [pos, del, insert] of patches) {
          text = text.slice(0, pos) + insert + text.slice(pos + del);
        }
      }
      return {text, updates: 0, bytes: 0};
    },
  },
};

function ReplayYjs(trace, batch, remote) {
  const doc = new Y.Doc();
  const ytext = doc.getText('text');
  const peer = remote ? new Y.Doc() : null;
  let updates = 0;
  let bytes = 0;
  doc.on('update', (update) => {
    updates++;
    bytes += update.length;
    if (peer) Y.applyUpdate(peer, update);
  });
  if (trace.start.length > 0) ytext.insert(0, trace.start);
  const txns = trace.txns;
  for (let i = 0; i < txns.length; i += batch) {
    doc.transact(() => {
      const last = Math.min(i + batch, txns.length);
      for (let t = i; t < last; t++) {
        for (const [pos, del, insert] of txns[t]) {
          if (del > 0) ytext.delete(pos, del);
          if (insert.length > 0) ytext.insert(pos, insert);
        }
      }
    });
  }
  const text = ytext.toString();
  if (peer && peer.getText('text').toString() !== text) {
    Fail('WRONG RESULT: the receiving Y.Doc differs from the sender', 1);
  }
  return {text, updates, bytes};
}

// A diamond-types update is what Doc.getPatchSince(version) encodes: the
// operations since `version` with their causal parents, in its binary
// format, as a peer that has `version` can merge it. The start content, if
// any, is an update of its own, as Yjs's insert of it is.
function ReplayDt(trace, batch, remote) {
  const doc = new DT.Doc('alice');
  const peer = remote ? new DT.Doc('bob') : null;
  let updates = 0;
  let bytes = 0;
  let version = doc.getLocalVersion();
  const send = () => {
    const update = doc.getPatchSince(version);
    version = doc.getLocalVersion();
    updates++;
    bytes += update.length;
    if (peer) peer.mergeBytes(update);
  };
  if (trace.start.length > 0) {
    doc.ins(0, trace.start);
    send();
  }
  const txns = trace.txns;
  for (let i = 0; i < txns.length; i += batch) {
    const last = Math.min(i + batch, txns.length);
    for (let t = i; t < last; t++) {
      for (const [pos, del, insert] of txns[t]) {
        if (del > 0) doc.del(pos, del);
        if (insert.length > 0) doc.ins(pos, insert);
      }
    }
    send();
  }
  const text = doc.get();
  const peerText = peer ? peer.get() : text;
  // The wasm heap is not garbage-collected: free both documents, so that
  // every repetition reuses the memory of the one before.
  doc.free();
  if (peer) peer.free();
  if (peerText !== text) {
    Fail('WRONG RESULT: the receiving Doc differs from the sender', 1);
  }
  return {text, updates, bytes};
}

function Median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function Main() {
  const args = ParseArgs(process.argv.slice(2));
  const {unit, run} = kVariants[args.variant];
  const trace = LoadTrace(args.trace, unit);
  const times = [];
  const cpuTimes = [];
  let result = null;
  for (let rep = 0; rep < args.warmup + args.reps; rep++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    result = run(trace, args.batch);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = process.cpuUsage(cpuStart);
    if (result.text !== trace.end) {
      Fail(`${args.variant}: WRONG RESULT: final text is not endContent`, 1);
    }
    if (rep >= args.warmup) {
      times.push(ms);
      cpuTimes.push((cpu.user + cpu.system) / 1e3);
    }
  }
  const keystrokes = trace.txns.length;
  process.stdout.write(JSON.stringify({
    variant: args.variant,
    batch: args.batch,
    keystrokes,
    times_ms: times,
    median_ms: Median(times),
    cpu_times_ms: cpuTimes,
    median_cpu_ms: Median(cpuTimes),
    updates: result.updates,
    update_bytes: result.bytes,
    bytes_per_keystroke: result.bytes / keystrokes,
    // resourceUsage().maxRSS is in kB.
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    node: process.version,
    yjs: require('yjs/package.json').version,
    diamond_types: require('diamond-types-node/package.json').version,
  }) + '\n');
}

Main();
