// The browser's client of diffsyncd: Neil Fraser's Differential
// Synchronization, client half, over the protocol of docs/PROTOCOL.md.
//
//   DocumentSync  the state machine for one document (shadow, client version
//                 n, server version m, the stack of unacknowledged edits),
//                 transport-free and serialisable (toJSON / fromJSON);
//   SyncClient    drives it over a WebSocket (`/ws`, with pushes) or, when
//                 the server has none, MobWrite's HTTP gateway (POST q=),
//                 with one request in flight, reconnects with backoff, and
//                 keeps its state in a Storage (localStorage) so that
//                 offline edits survive a reload.
//
// Usable on its own (no editor needed):
//   import { SyncClient } from 'diffsync-web/client';
//   const client = new SyncClient({ server: 'http://127.0.0.1:8080', document: 'notes',
//                                   storage: localStorage });
//   client.on('remote', ({ text, ops }) => render(text));  // ops: what changed
//   client.on('state', (state) => show(state));  // offline | connecting | connected | syncing
//   client.setText('Hello');                      // or client.edit(ops)
//   client.start();
import {
  applyOps, decodeMessage, diffOps, encodeText, fromDelta, hasMetadata, isIdentity,
  peerCursors, toDelta, transform, withoutRepeats,
} from './protocol.js';

export * from './protocol.js';

// One client's copy of one document (mirrors include/diffsync/engine/client.h).
export class DocumentSync {
  constructor(document) {
    this.document = document;
    this.text = '';
    this.shadow = '';
    // The shadow as of the last reply that acknowledged all our edits: what
    // a full resync rebases the user's changes from.
    this.confirmed = '';
    this.clientVersion = 0; // n
    this.serverVersion = 0; // m
    this.deltaOk = false;
    this.joined = false;
    // The last request resynced: the server's answer may bring back edits of
    // ours it had applied, which our local change holds too.
    this.rebase = false;
    // Unacknowledged edits, oldest first: {raw, version, data}.
    this.stack = [];
  }

  toJSON() {
    const { document, text, shadow, confirmed, clientVersion, serverVersion, deltaOk, joined, rebase, stack } = this;
    return { document, text, shadow, confirmed, clientVersion, serverVersion, deltaOk, joined, rebase, stack };
  }

  static fromJSON(saved) {
    const doc = new DocumentSync(saved.document);
    for (const key of ['text', 'shadow', 'confirmed']) {
      if (typeof saved[key] !== 'string') throw new Error(`saved state: ${key} is not a string`);
    }
    for (const key of ['clientVersion', 'serverVersion']) {
      if (!Number.isSafeInteger(saved[key]) || saved[key] < 0) {
        throw new Error(`saved state: ${key} is not a version`);
      }
    }
    if (!Array.isArray(saved.stack)) throw new Error('saved state: stack is not a list');
    Object.assign(doc, saved);
    return doc;
  }

  // True when nothing the user typed is unacknowledged.
  get synced() {
    return this.deltaOk && this.stack.length === 0 && this.text === this.shadow;
  }

  // Step 1 of the cycle: the block's lines (without a blank line).
  makeRequest() {
    if (this.deltaOk) {
      const ops = diffOps(this.shadow, this.text);
      const changed = !isIdentity(ops);
      if (changed) this.shadow = this.text;
      // An empty delta still carries our acknowledgement when nothing else does.
      if (changed || this.stack.length === 0) {
        this.stack.push({ raw: false, version: this.clientVersion++, data: toDelta(ops) });
      }
    } else if (!this.joined) {
      // The join: our whole text. A new document takes it; an existing one wins.
      this.shadow = this.text;
      this.stack = [{ raw: true, version: ++this.clientVersion, data: this.text }];
    } else {
      // Out of step: offer the last shadow both sides confirmed; what the user
      // typed since stays a local change, merged onto the answer.
      this.shadow = this.confirmed;
      this.rebase = true;
      this.stack = [{ raw: true, version: ++this.clientVersion, data: this.confirmed }];
    }
    const lines = [`F:${this.serverVersion}:${encodeText(this.document)}`];
    for (const edit of this.stack) {
      lines.push(edit.raw ? `r:${edit.version}:${encodeText(edit.data)}`
        : `d:${edit.version}:${edit.data}`);
    }
    return lines;
  }

  // Step 5: the server's block for this document. Returns {changes (each a
  // list of operations applied to text, in order), conflicts, errors, resync}.
  handleReply(block) {
    const effects = { changes: [], conflicts: block.conflicts, errors: block.errors, resync: false };
    const outOfStep = () => {
      this.deltaOk = false;
      effects.resync = true;
    };
    this.deltaOk = true;
    this.stack = this.stack.filter((edit) => edit.version > block.version);
    const hasRaw = block.edits.some((edit) => edit.raw);
    if (!hasRaw && block.version > this.clientVersion) {
      // The server counts edits we never made (another client under our id):
      // resync with our versions past its count.
      this.clientVersion = block.version;
      outOfStep();
      return effects;
    }
    this.joined = true;
    for (const edit of block.edits) {
      if (edit.raw) {
        // A full resync: rebase what the user changed since the last
        // confirmed shadow onto the server's text, skipping what it has.
        const local = diffOps(this.confirmed, this.text);
        const server = withoutRepeats(diffOps(this.confirmed, edit.data), local);
        const ops = edit.overwrite && isIdentity(local) ? diffOps(this.text, edit.data)
          : transform(server, local);
        this.text = applyOps(this.text, ops);
        effects.changes.push(ops);
        this.shadow = edit.data;
        this.confirmed = edit.data;
        this.clientVersion = block.version;
        this.serverVersion = edit.version;
        this.stack = [];
        continue;
      }
      if (block.version !== this.clientVersion || edit.version > this.serverVersion) {
        outOfStep();
        continue;
      }
      if (edit.version < this.serverVersion) continue; // Seen already.
      let change;
      let newShadow;
      try {
        change = fromDelta(edit.data, this.shadow.length);
        newShadow = applyOps(this.shadow, change);
      } catch {
        outOfStep();
        continue;
      }
      this.serverVersion++;
      if (isIdentity(change)) continue;
      const local = diffOps(this.shadow, this.text);
      const ops = edit.overwrite ? diffOps(this.text, newShadow)
        : transform(this.rebase ? withoutRepeats(change, local) : change, local);
      this.text = applyOps(this.text, ops);
      effects.changes.push(ops);
      this.shadow = newShadow;
    }
    if (this.deltaOk) this.rebase = false;
    if (this.stack.length === 0) this.confirmed = this.shadow;
    return effects;
  }
}

export function newClientId() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

// Where a client's state is kept in a Storage: one entry per server,
// document and slot (each browser tab on a document is a client of its own;
// slot 0 is the first one's).
export function stateKey(server, document, slot = 0) {
  const base = `diffsync:${new URL(server).host}:${document}`;
  return slot > 0 ? `${base}#${slot}` : base;
}

// True if `storage` holds a state for that key with edits the server has
// not acknowledged.
export function savedStatePending(storage, key) {
  try {
    const saved = JSON.parse(storage.getItem(key) ?? 'null');
    return saved !== null && !DocumentSync.fromJSON(saved.doc).synced;
  } catch {
    return false;
  }
}

const REPLY_TIMEOUT_MS = 15000;
const HTTP_POLL_MS = 1000;
const WS_RETRY_MS = 5000;
const WS_RETRY_MAX_MS = 60000;

// Drives a DocumentSync against a server. Events (on(name, fn)):
//   'remote'   {text, ops: [operations…]}: the text changed by others' edits;
//   'state'    'offline' | 'connecting' | 'connected' | 'syncing';
//   'peers'    [{id, anchor, head}]: the others' selections, in our text;
//   'conflict' {version, reason, hunk}: a hunk of ours the server dropped;
//   'error'    {code, text} from the server or the transport.
export class SyncClient {
  constructor({ server, document, storage = null, slot = 0, clientId = null, transport = 'auto' }) {
    this.server = new URL(server);
    this.document = document;
    this.storage = storage;
    this.transport = transport;
    this.key = stateKey(server, document, slot);
    const saved = this.load();
    this.doc = saved?.doc ?? new DocumentSync(document);
    this.clientId = saved?.clientId ?? clientId ?? newClientId();
    this.handlers = {};
    this.state = 'offline';
    this.mode = transport === 'http' ? 'http' : 'ws';
    this.ws = null;
    this.inFlight = false;
    this.again = false;
    this.cursor = null;
    this.sentCursor = null;
    this.peers = [];
    this.backoff = 500;
    this.timers = {};
    this.started = false;
    this.wsFailures = 0;
    this.wsRetry = WS_RETRY_MS;
    this.bytes = { sent: 0, received: 0 };
    this.save();
  }

  on(event, fn) {
    (this.handlers[event] ??= []).push(fn);
    return this;
  }

  emit(event, value) {
    for (const fn of this.handlers[event] ?? []) fn(value);
  }

  get text() {
    return this.doc.text;
  }

  // Pending: typed or sent but not yet acknowledged.
  get pending() {
    return !this.doc.synced;
  }

  load() {
    if (!this.storage) return null;
    const raw = this.storage.getItem(this.key);
    if (!raw) return null;
    try {
      const saved = JSON.parse(raw);
      return { clientId: saved.clientId, doc: DocumentSync.fromJSON(saved.doc) };
    } catch (e) {
      console.warn(`diffsync: ignoring saved state of ${this.document}: ${e.message}`);
      return null;
    }
  }

  save() {
    if (!this.storage) return;
    this.storage.setItem(this.key, JSON.stringify({ clientId: this.clientId, doc: this.doc }));
  }

  // A local edit: operations on the current text (as CodeMirror reports).
  edit(ops) {
    this.doc.text = applyOps(this.doc.text, ops);
    this.save();
    this.schedule();
  }

  setText(text) {
    this.doc.text = text;
    this.save();
    this.schedule();
  }

  // Our selection, sent as m:cursor with the next request.
  setCursor(anchor, head) {
    if (this.cursor && this.cursor.anchor === anchor && this.cursor.head === head) return;
    this.cursor = { anchor, head };
    this.schedule(150);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }

  start() {
    if (this.started) return;
    this.started = true;
    if (typeof window !== 'undefined') {
      this.onOffline = () => this.disconnect('the browser is offline');
      this.onOnline = () => this.connectSoon(0);
      window.addEventListener('offline', this.onOffline);
      window.addEventListener('online', this.onOnline);
    }
    this.connect();
  }

  stop() {
    this.started = false;
    if (typeof window !== 'undefined') {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
    }
    this.disconnect(null);
  }

  clearTimer(name) {
    clearTimeout(this.timers[name]);
    delete this.timers[name];
  }

  online() {
    return typeof navigator === 'undefined' || navigator.onLine !== false;
  }

  connectSoon(delay) {
    this.clearTimer('connect');
    if (!this.started) return;
    this.timers.connect = setTimeout(() => this.connect(), delay);
  }

  // Retries with exponential backoff and jitter (0.5 s doubling to 10 s).
  retryLater() {
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, 10000);
    this.connectSoon(delay);
  }

  connect() {
    if (!this.started || this.ws) return;
    if (!this.online()) {
      this.setState('offline');
      return; // The 'online' event brings us back.
    }
    if (this.mode === 'http') {
      this.setState('connecting');
      if (this.transport === 'auto') this.probeLater();
      this.cycle();
      return;
    }
    this.setState('connecting');
    this.attach(new WebSocket(this.wsUrl()), false);
  }

  wsUrl() {
    const url = new URL('/ws', this.server);
    url.protocol = this.server.protocol === 'https:' ? 'wss:' : 'ws:';
    return url;
  }

  // Makes `ws` our connection (`opened`: it is open already).
  attach(ws, opened) {
    this.ws = ws;
    const onOpen = () => {
      opened = true;
      this.wsFailures = 0;
      this.backoff = 500;
      this.setState('connected');
      this.cycle();
    };
    ws.onopen = onOpen;
    ws.onmessage = (event) => this.receive(String(event.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.inFlight = false;
      this.clearTimer('reply');
      this.setState('offline');
      // A server that answers HTTP but never a WebSocket: use the gateway,
      // and try the WebSocket again now and then.
      if (!opened && ++this.wsFailures >= 2 && this.transport === 'auto') {
        this.mode = 'http';
        this.wsRetry = WS_RETRY_MS;
      }
      if (this.started) this.retryLater();
    };
    if (opened) onOpen();
  }

  // On the automatic HTTP fallback: a WebSocket is tried after WS_RETRY_MS,
  // then twice as long each time (to WS_RETRY_MAX_MS), with jitter; the
  // first that opens is taken and the polling stops.
  probeLater() {
    if (!this.started || this.timers.probe) return;
    const delay = this.wsRetry * (0.75 + Math.random() * 0.5);
    this.timers.probe = setTimeout(() => {
      delete this.timers.probe;
      if (!this.started || this.mode !== 'http' || !this.online()) return;
      const ws = new WebSocket(this.wsUrl());
      let taken = false;
      ws.onopen = () => {
        if (!this.started || this.mode !== 'http') {
          ws.close();
          return;
        }
        taken = true;
        this.mode = 'ws';
        this.clearTimer('poll');
        // A request in flight over HTTP is answered there; one more cycle
        // then goes here (the server pushes only to a session that synced).
        if (this.inFlight) this.again = true;
        this.attach(ws, true);
      };
      ws.onclose = () => {
        if (taken) return;
        this.wsRetry = Math.min(this.wsRetry * 2, WS_RETRY_MAX_MS);
        this.probeLater();
      };
    }, delay);
  }

  disconnect(why) {
    this.clearTimer('connect');
    this.clearTimer('send');
    this.clearTimer('reply');
    this.clearTimer('poll');
    this.clearTimer('probe');
    const ws = this.ws;
    this.ws = null;
    this.inFlight = false;
    if (ws) ws.close();
    this.setState('offline');
    if (why) this.emit('error', { code: 'offline', text: why });
  }

  // A sync soon: right away when idle, else after the reply in flight.
  schedule(delay = 20) {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.timers.send) return;
    this.timers.send = setTimeout(() => {
      delete this.timers.send;
      this.cycle();
    }, delay);
  }

  connected() {
    return this.mode === 'http' ? this.started && this.online()
      : this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // One request: the block with our unacknowledged stack, and our cursor.
  cycle() {
    if (this.inFlight || !this.connected()) return;
    this.clearTimer('send');
    this.clearTimer('poll');
    const lines = [`u:${this.clientId}`, ...this.doc.makeRequest()];
    // The cursor is in our text, which is the shadow after a delta request.
    if (this.cursor && this.doc.deltaOk && this.doc.shadow === this.doc.text) {
      lines.push(`m:cursor:${this.cursor.anchor}:${this.cursor.head}`);
      this.sentCursor = this.cursor;
    }
    this.save();
    const request = lines.join('\n') + '\n\n';
    this.inFlight = true;
    this.again = false;
    this.setState('syncing');
    this.bytes.sent += request.length;
    if (this.mode === 'http') {
      this.post(request);
      return;
    }
    this.ws.send(request);
    // A reply that never comes: the connection is dead; the stack is resent.
    this.timers.reply = setTimeout(() => {
      if (this.ws) this.ws.close();
    }, REPLY_TIMEOUT_MS);
  }

  async post(request) {
    const url = new URL('/scripts/q.py', this.server);
    let reply;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'q=' + encodeURIComponent(request),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      reply = await response.text();
    } catch (e) {
      this.inFlight = false;
      if (this.mode !== 'http') {
        // Moved to a WebSocket meanwhile: the stack goes again there.
        this.schedule(0);
        return;
      }
      this.setState('offline');
      this.emit('error', { code: 'transport', text: e.message });
      this.retryLater();
      return;
    }
    this.backoff = 500;
    this.receive(reply);
  }

  receive(text) {
    this.bytes.received += text.length;
    let message;
    try {
      message = decodeMessage(text);
    } catch (e) {
      this.emit('error', { code: 'malformed-reply', text: e.message });
      return;
    }
    const block = message.blocks.find((b) => b.document === this.document);
    const push = block !== undefined && hasMetadata(block, 'push');
    if (block && hasMetadata(block, 'presence')) {
      // Only the others' cursors: nothing to apply, nothing to answer.
      this.takePeers(block);
      return;
    }
    if (push && this.inFlight) {
      // Crosses our request: ignored (the server rolls back to the shadow it
      // pushed from); one more cycle after the reply fetches its news.
      this.again = true;
      return;
    }
    if (!push) {
      this.inFlight = false;
      this.clearTimer('reply');
    }
    for (const error of message.errors) this.emit('error', error);
    if (block) {
      if (!push) this.backoff = 500;
      const effects = this.doc.handleReply(block);
      this.save();
      if (effects.changes.length > 0) {
        this.emit('remote', { text: this.doc.text, ops: effects.changes });
      }
      this.takePeers(block);
      for (const conflict of effects.conflicts) this.emit('conflict', conflict);
      for (const error of effects.errors) this.emit('error', error);
      // An applied push is acknowledged at once.
      if (effects.resync || push) this.again = true;
    }
    this.setState('connected');
    // A cursor not sent yet (the join carries none) makes us present.
    if (this.cursor && this.cursor !== this.sentCursor) this.again = true;
    if (this.again || !this.doc.synced) {
      this.again = false;
      // A reply without our block (the server refused the whole request,
      // e.g. x:store) is retried with backoff, not at once.
      this.schedule(block ? 0 : this.backoff);
      if (!block) this.backoff = Math.min(this.backoff * 2, 10000);
    } else if (this.mode === 'http') {
      this.timers.poll = setTimeout(() => this.cycle(), HTTP_POLL_MS);
    }
  }

  // The others' selections in this block (all of them: none means none is
  // left), clamped to our text (they are in the text after the block's
  // edits, which our unsent typing may have changed since).
  takePeers(block) {
    const length = this.doc.text.length;
    const peers = peerCursors(block)
      .filter((p) => p.id !== this.clientId)
      .map((p) => ({ id: p.id, anchor: Math.min(p.anchor, length), head: Math.min(p.head, length) }));
    if (JSON.stringify(peers) === JSON.stringify(this.peers)) return;
    this.peers = peers;
    this.emit('peers', peers);
  }
}
