// The page diffsyncd serves: the document list at `/`, the collaborative
// editor (CodeMirror 6) at `/d/<name>`. The editor's text is the client's
// text; remote edits are dispatched as CodeMirror changes, so the local
// selection and the others' cursors map through them and the view stays put.
import { basicSetup } from 'codemirror';
import { Annotation, EditorState, StateEffect, StateField, Transaction } from '@codemirror/state';
import { Decoration, EditorView, WidgetType } from '@codemirror/view';
import { SyncClient, hunkEdits, opsToChanges, savedStatePending, stateKey } from './diffsync-client.js';

const RECENT_KEY = 'diffsync:recent';
const remote = Annotation.define();

function recentDocuments() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((n) => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

function remember(name) {
  const list = [name, ...recentDocuments().filter((n) => n !== name)].slice(0, 50);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

function documentUrl(name) {
  return '/d/' + encodeURIComponent(name);
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// The documents the server has (GET /documents), or null when it does not
// say (an older server, or one that lists them only to a token holder).
async function serverDocuments() {
  try {
    const response = await fetch('/documents', { headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const { documents } = await response.json();
    return Array.isArray(documents) ? documents.filter((n) => typeof n === 'string') : null;
  } catch {
    return null;
  }
}

function linkList(id, names) {
  const list = element('ul', { id });
  for (const name of names) {
    list.append(element('li', {}, element('a', { href: documentUrl(name) }, name)));
  }
  return list;
}

async function showList(root) {
  const input = element('input', { id: 'new-name', name: 'name', required: '', placeholder: 'document name', autofocus: '' });
  input.value = 'notes-' + Math.random().toString(36).slice(2, 7);
  const form = element('form', { id: 'new-document' }, input, element('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (name) location.assign(documentUrl(name));
  });
  const recent = recentDocuments();
  root.append(
    element('h1', {}, 'DiffSync'),
    element('p', {}, 'Open or create a document; everyone at the same address edits it together.'),
    form,
  );
  const stored = await serverDocuments();
  if (stored !== null) {
    root.append(
      element('h2', {}, 'Documents on this server'),
      stored.length ? linkList('documents', stored) : element('p', { class: 'muted' }, 'none yet'),
    );
  }
  // What this browser opened that the server did not list (all of them
  // when it lists none, or not yet stored).
  const listed = new Set(stored ?? []);
  const others = recent.filter((n) => !listed.has(n));
  if (stored === null || others.length > 0) {
    root.append(
      element('h2', {}, 'Opened in this browser'),
      others.length ? linkList('recent', others) : element('p', { class: 'muted' }, 'none yet'),
    );
  }
}

const COLORS = ['#d33682', '#268bd2', '#859900', '#cb4b16', '#6c71c4', '#2aa198', '#b58900'];
function colorOf(id) {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

class PeerCaret extends WidgetType {
  constructor(id) {
    super();
    this.id = id;
  }
  eq(other) {
    return other.id === this.id;
  }
  toDOM() {
    const caret = element('span', { class: 'peer-caret', 'data-peer': this.id });
    caret.style.borderColor = colorOf(this.id);
    const label = element('span', { class: 'peer-label' }, this.id);
    label.style.background = colorOf(this.id);
    caret.append(label);
    return caret;
  }
  ignoreEvent() {
    return true;
  }
}

const setPeers = StateEffect.define();
// The others' selections as decorations, mapped through every change (ours
// included) until the server sends newer ones.
const peersField = StateField.define({
  create: () => Decoration.none,
  update(decorations, tr) {
    decorations = decorations.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setPeers)) continue;
      const length = tr.state.doc.length;
      const ranges = [];
      for (const peer of effect.value) {
        const head = Math.min(peer.head, length);
        const anchor = Math.min(peer.anchor, length);
        const from = Math.min(anchor, head);
        const to = Math.max(anchor, head);
        if (from < to) {
          ranges.push(Decoration.mark({
            class: 'peer-selection',
            attributes: { style: `background: ${colorOf(peer.id)}33` },
          }).range(from, to));
        }
        ranges.push(Decoration.widget({ widget: new PeerCaret(peer.id), side: 1 }).range(head));
      }
      decorations = Decoration.set(ranges, true);
    }
    return decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// Which saved state this tab keeps. Two tabs sharing one would be one
// client id sending two edit streams, so each tab on a document is a client
// of its own with a slot: slot 0 is the document's state, slot k > 0 its
// k-th extra one (stateKey). A Web Lock per slot, held while the page lives,
// tells which slots are taken. A tab keeps its slot across reloads
// (sessionStorage is per tab); a page being reloaded may still hold it for
// a moment, so it is waited for a little. Otherwise a free slot left with
// unsent edits (its tab was closed offline) is taken before an empty one,
// so the next tab sends them. Null: all MAX_SLOTS taken (memory only).
const MAX_SLOTS = 8;

function lockSlot(name, slot, options) {
  return new Promise((resolve) => {
    navigator.locks.request(`diffsync:${name}:${slot}`, options, (lock) => {
      resolve(lock !== null);
      // Held until the page goes.
      return lock === null ? undefined : new Promise(() => {});
    }).catch(() => resolve(false));
  });
}

async function claimSlot(name) {
  if (!navigator.locks) return 0;
  const remembered = `diffsync:slot:${name}`;
  const claim = (slot) => {
    sessionStorage.setItem(remembered, String(slot));
    return slot;
  };
  const mine = Number.parseInt(sessionStorage.getItem(remembered) ?? '', 10);
  if (mine >= 0 && mine < MAX_SLOTS &&
      await lockSlot(name, mine, { signal: AbortSignal.timeout(2000) })) {
    return claim(mine);
  }
  const slots = Array.from({ length: MAX_SLOTS }, (_, i) => i);
  const pending = slots.filter((slot) =>
    savedStatePending(localStorage, stateKey(location.origin, name, slot)));
  for (const slot of [...pending, ...slots]) {
    if (await lockSlot(name, slot, { ifAvailable: true })) return claim(slot);
  }
  return null;
}

async function showEditor(root, name) {
  remember(name);
  document.title = `${name} — DiffSync`;
  const status = element('span', { id: 'status', 'data-state': 'offline' }, 'offline');
  const pending = element('span', { id: 'pending' }, '');
  const peers = element('ul', { id: 'peers' });
  const conflicts = element('ul', { id: 'conflicts' });
  const host = element('div', { id: 'editor' });
  root.append(
    element('header', {},
      element('a', { href: '/', class: 'home' }, 'DiffSync'),
      element('h1', { id: 'doc-name' }, name),
      status, pending, peers),
    conflicts,
    host,
  );

  const params = new URLSearchParams(location.search);
  const slot = await claimSlot(name);
  const client = new SyncClient({
    server: location.origin,
    document: name,
    storage: slot === null ? null : localStorage,
    slot: slot ?? 0,
    transport: params.get('transport') ?? 'auto',
  });

  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: client.text,
      extensions: [
        basicSetup,
        EditorView.lineWrapping,
        peersField,
        EditorView.updateListener.of((update) => {
          const local = update.transactions.some((tr) => tr.docChanged && !tr.annotation(remote));
          if (local) client.setText(update.state.doc.toString());
          if (update.selectionSet || update.docChanged) {
            const main = update.state.selection.main;
            client.setCursor(main.anchor, main.head);
          }
          showPending();
        }),
      ],
    }),
  });

  function showPending() {
    pending.textContent = client.pending ? 'unsaved changes' : 'all changes synced';
    pending.dataset.pending = String(client.pending);
  }

  client.on('state', (state) => {
    status.textContent = state;
    status.dataset.state = state;
    showPending();
  });
  // Where the view is to stay while remote changes come in: taken before
  // the first of them and mapped through each, until the editor has laid
  // out (its next animation frame, which runs CodeMirror's first). A
  // snapshot taken between a change and that layout would read the old
  // scroll offset against the new line heights and keep the wrong line in
  // place: the view jumped by the lines inserted above it when a slow
  // server delivered them in several messages.
  let keptScroll = null;
  client.on('remote', ({ ops }) => {
    for (const change of ops) {
      // Dispatched as changes (not a new document): CodeMirror maps our
      // selection through them. The text at the top of the view stays
      // where it is on screen, however much changed above it.
      const changes = view.state.changes(opsToChanges(change));
      keptScroll = (keptScroll ?? view.scrollSnapshot()).map(changes);
      view.dispatch({
        changes,
        effects: keptScroll,
        // Others' edits are not ours to undo.
        annotations: [remote.of(true), Transaction.addToHistory.of(false)],
      });
    }
    requestAnimationFrame(() => { keptScroll = null; });
    if (view.state.doc.toString() !== client.text) {
      // Cannot happen while every local change reaches the client first;
      // if it ever does, the client's text is the truth.
      keptScroll = null;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: client.text }, annotations: remote.of(true) });
    }
    showPending();
  });
  client.on('peers', (list) => {
    view.dispatch({ effects: setPeers.of(list) });
    peers.replaceChildren(...list.map((p) => {
      const item = element('li', { 'data-peer': p.id }, p.id);
      item.style.borderColor = colorOf(p.id);
      return item;
    }));
  });
  client.on('conflict', (c) => {
    let what = c.reason;
    try {
      const { deleted, inserted } = hunkEdits(c.hunk);
      what = inserted ? `“${inserted}”${deleted ? ` in place of “${deleted}”` : ''}` : `deleting “${deleted}”`;
    } catch {
      // An undecodable hunk: the reason code says enough.
    }
    conflicts.append(element('li', {}, `Not applied, someone else changed that text first: ${what}`));
  });
  client.on('error', (e) => console.warn(`diffsync: ${e.code}: ${e.text}`));

  client.start();
  const main = view.state.selection.main;
  client.setCursor(main.anchor, main.head);
  showPending();
  view.focus();
  window.diffsync = { client, view };
}

const root = document.getElementById('app');
const path = location.pathname;
if (path.startsWith('/d/') && path.length > 3) {
  showEditor(root, decodeURIComponent(path.slice(3)));
} else {
  showList(root);
}
