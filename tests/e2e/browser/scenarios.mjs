// The browser editor end to end: real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core from web/node_modules) against
// a running diffsyncd. test_browser.py starts the server and runs one
// scenario per process:
//   node scenarios.mjs SCENARIO SERVER_URL ARTIFACT_DIR
// Exit status 0 when the scenario's checks hold; the failure is printed
// otherwise. Every wait is for a condition in the page (waitForFunction),
// never for a time.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [scenario, serverUrl, artifacts] = process.argv.slice(2);
const TIMEOUT = 20000;

// Texts with emoji (outside the BMP), CJK and combining marks.
const SEED = 'alpha beta gamma\nzweite Zeile 世界\n';
const FROM_A = 'Aが書いた 👩‍💻 ';
const FROM_B = ' B wrote e\u0301t\u00e9 🎉';

async function openEditor(browser, doc, query = '', setup = null) {
  const context = await browser.newContext({ viewport: { width: 900, height: 420 } });
  context.setDefaultTimeout(TIMEOUT);
  if (setup) await setup(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${serverUrl}d/${encodeURIComponent(doc)}${query}`);
  await waitSynced(page);
  return { context, page };
}

// The editor shows the client's text, and the client has nothing unsent
// or unacknowledged.
async function waitSynced(page, predicate = null) {
  await page.waitForFunction((source) => {
    const d = window.diffsync;
    if (!d || d.client.pending || d.client.state !== 'connected') return false;
    const text = d.view.state.doc.toString();
    if (text !== d.client.text) return false;
    return source === null || new Function('text', `return ${source};`)(text);
  }, predicate);
}

const textOf = (page) => page.evaluate(() => window.diffsync.view.state.doc.toString());
const selectionOf = (page) => page.evaluate(() => {
  const main = window.diffsync.view.state.selection.main;
  return { anchor: main.anchor, head: main.head };
});

async function typeAt(page, pos, text) {
  await page.evaluate((p) => {
    const { view } = window.diffsync;
    view.focus();
    view.dispatch({ selection: { anchor: p } });
  }, pos);
  await page.keyboard.type(text);
}

async function seed(page, text) {
  await typeAt(page, 0, text);
  await waitSynced(page, `text === ${JSON.stringify(text)}`);
}

const contains = (...parts) => parts.map((p) => `text.includes(${JSON.stringify(p)})`).join(' && ');

async function converged(pages, ...parts) {
  for (const page of pages) await waitSynced(page, contains(...parts));
  const first = await textOf(pages[0]);
  for (const page of pages.slice(1)) await waitSynced(page, `text === ${JSON.stringify(first)}`);
  return first;
}

const scenarios = {
  // Two users type at once at different places; both edits survive, a third
  // user (over the HTTP gateway) sees the result; each sees the other.
  async 'two-users'(browser) {
    const a = await openEditor(browser, 'shared ✍️');
    await seed(a.page, SEED);
    const b = await openEditor(browser, 'shared ✍️');
    await waitSynced(b.page, `text === ${JSON.stringify(SEED)}`);
    const idA = await a.page.evaluate(() => window.diffsync.client.clientId);
    const idB = await b.page.evaluate(() => window.diffsync.client.clientId);
    // B is present as soon as it opened the document, before typing.
    await a.page.waitForFunction((id) => document.querySelector(`#peers [data-peer="${id}"]`), idB);
    await Promise.all([typeAt(a.page, 0, FROM_A), typeAt(b.page, SEED.length - 1, FROM_B)]);
    const text = await converged([a.page, b.page], FROM_A, FROM_B);
    assert.equal(text, FROM_A + SEED.slice(0, -1) + FROM_B + '\n');
    // Presence: each page lists the other's client id and shows its caret.
    await a.page.waitForFunction((id) => document.querySelector(`#peers [data-peer="${id}"]`) &&
      document.querySelector(`.peer-caret[data-peer="${id}"]`), idB);
    await b.page.waitForFunction((id) => document.querySelector(`#peers [data-peer="${id}"]`) &&
      document.querySelector(`.peer-caret[data-peer="${id}"]`), idA);
    // B's caret is after its edit; A sees it there.
    const caretB = (await selectionOf(b.page)).head;
    assert.equal(caretB, text.indexOf(FROM_B) + FROM_B.length);
    await a.page.waitForFunction(([id, pos]) => window.diffsync.client.peers.some(
      (p) => p.id === id && p.head === pos), [idB, caretB]);
    mkdirSync(artifacts, { recursive: true });
    await a.page.screenshot({ path: path.join(artifacts, 'two-users-a.png') });
    await b.page.screenshot({ path: path.join(artifacts, 'two-users-b.png') });
    const c = await openEditor(browser, 'shared ✍️', '?transport=http');
    await waitSynced(c.page, `text === ${JSON.stringify(text)}`);
    assert.equal(await c.page.evaluate(() => window.diffsync.client.mode), 'http');
    // The document list, in a browser that never opened the document,
    // offers what the server has.
    const fresh = await browser.newContext();
    fresh.setDefaultTimeout(TIMEOUT);
    const list = await fresh.newPage();
    await list.goto(serverUrl);
    await list.waitForSelector(`#documents a[href="/d/${encodeURIComponent('shared ✍️')}"]`);
    await fresh.close();
    await b.context.close();
    // B left: A no longer lists it.
    await a.page.waitForFunction((id) => !document.querySelector(`#peers [data-peer="${id}"]`), idB);
  },

  // While A types before it, B's caret stays inside its word, and B's view
  // does not move.
  async cursor(browser) {
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i} 🙂 行`).join('\n');
    const text = lines + '\nthe quick brown fox\n';
    const a = await openEditor(browser, 'cursor');
    await seed(a.page, text);
    const b = await openEditor(browser, 'cursor');
    await waitSynced(b.page, `text === ${JSON.stringify(text)}`);
    const word = text.indexOf('brown');
    await b.page.evaluate((pos) => {
      const { view } = window.diffsync;
      view.focus();
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
    }, word + 2);
    const before = await b.page.evaluate((pos) => window.diffsync.view.coordsAtPos(pos).top, word + 2);
    const typed = 'inserted above 🚀 上\n'.repeat(3);
    await typeAt(a.page, 0, typed);
    await typeAt(a.page, text.length + typed.length, 'tail ñ');
    const after = await converged([a.page, b.page], typed, 'tail ñ');
    const moved = after.indexOf('brown');
    const caret = await selectionOf(b.page);
    assert.deepEqual(caret, { anchor: moved + 2, head: moved + 2 }, 'B\'s caret left "brown"');
    // CodeMirror lays out in animation frames: wait for the view to settle
    // where it was, then read where it is (a view that jumped never does).
    await b.page.waitForFunction(([pos, y]) =>
      Math.abs(window.diffsync.view.coordsAtPos(pos).top - y) < 2, [caret.head, before], { timeout: 5000 })
      .catch(() => {});
    const top = await b.page.evaluate((pos) => window.diffsync.view.coordsAtPos(pos).top, caret.head);
    assert.ok(Math.abs(top - before) < 2, `B's view jumped: the caret moved from y=${before} to y=${top}`);
  },

  // A's WebSocket never opens (as behind a proxy that answers the upgrade
  // with plain HTTP: here diffsyncd's 404 for another path), so A falls
  // back to the HTTP gateway by itself; A and B type at once, both converge,
  // and each sees the other present. When WebSockets get through again, A
  // moves back to one and B's edits are pushed to it.
  async fallback(browser) {
    const b = await openEditor(browser, 'fallback 🔌');
    await seed(b.page, SEED);
    const a = await openEditor(browser, 'fallback 🔌', '', (context) => context.addInitScript(() => {
      window.blockWebSocket = true;
      const Real = window.WebSocket;
      window.WebSocket = class extends Real {
        constructor(url, protocols) {
          super(window.blockWebSocket ? new URL('/no-websocket-here', url) : url, protocols);
        }
      };
    }));
    await waitSynced(a.page, `text === ${JSON.stringify(SEED)}`);
    assert.deepEqual(await a.page.evaluate(() => [window.diffsync.client.transport, window.diffsync.client.mode]),
      ['auto', 'http']);
    const idA = await a.page.evaluate(() => window.diffsync.client.clientId);
    const idB = await b.page.evaluate(() => window.diffsync.client.clientId);
    await Promise.all([typeAt(a.page, 0, FROM_A), typeAt(b.page, SEED.length - 1, FROM_B)]);
    const text = await converged([a.page, b.page], FROM_A, FROM_B);
    assert.equal(text, FROM_A + SEED.slice(0, -1) + FROM_B + '\n');
    await a.page.waitForFunction((id) => document.querySelector(`#peers [data-peer="${id}"]`), idB);
    await b.page.waitForFunction((id) => document.querySelector(`#peers [data-peer="${id}"]`), idA);
    assert.equal(await b.page.evaluate(() => window.diffsync.client.mode), 'ws');

    await a.page.evaluate(() => { window.blockWebSocket = false; });
    await a.page.waitForFunction(() => window.diffsync.client.mode === 'ws' &&
      window.diffsync.client.ws?.readyState === WebSocket.OPEN, null, { timeout: 30000 });
    await typeAt(b.page, 0, '↩ ');
    await converged([a.page, b.page], '↩ ');
    assert.equal(await a.page.evaluate(() => window.diffsync.client.mode), 'ws');
    assert.ok(await a.page.evaluate(() => !window.diffsync.client.timers.poll), 'A still polls');
  },

  // Two tabs of one browser on one document are two clients, each with its
  // own saved state: what the second types while its messages do not get
  // through is kept when it is closed, and the next tab opened sends it.
  async tabs(browser) {
    const name = 'tabs 🗂';
    const a = await openEditor(browser, name);
    await seed(a.page, SEED);
    let forward = true;
    const client = (page) => page.evaluate(() => ({
      id: window.diffsync.client.clientId, key: window.diffsync.client.key,
      saved: window.diffsync.client.storage !== null,
    }));
    const second = await a.context.newPage();
    second.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await second.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (forward) server.send(message);
      });
    });
    await second.goto(`${serverUrl}d/${encodeURIComponent(name)}`);
    await waitSynced(second, `text === ${JSON.stringify(SEED)}`);
    const one = await client(a.page);
    const two = await client(second);
    assert.ok(one.saved && two.saved, 'a tab keeps no saved state');
    assert.notEqual(two.id, one.id);
    assert.notEqual(two.key, one.key);
    forward = false;
    await typeAt(second, 0, FROM_A);
    await second.waitForFunction(() => window.diffsync.client.pending &&
      window.diffsync.client.doc.stack.length > 0);
    await second.close();
    assert.ok(!(await textOf(a.page)).includes(FROM_A), 'the second tab\'s edit reached the server');
    const third = await a.context.newPage();
    third.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await third.goto(`${serverUrl}d/${encodeURIComponent(name)}`);
    const text = await converged([third, a.page], FROM_A);
    assert.equal(text, FROM_A + SEED);
    assert.equal((await client(third)).id, two.id, 'the third tab did not take the second one\'s state');
  },

  // A goes offline and edits; B edits; A comes back: both edits are kept.
  async offline(browser) {
    const a = await openEditor(browser, 'offline 📴');
    await seed(a.page, SEED);
    const b = await openEditor(browser, 'offline 📴');
    await waitSynced(b.page, `text === ${JSON.stringify(SEED)}`);
    await a.context.setOffline(true);
    await a.page.waitForFunction(() => document.getElementById('status').dataset.state === 'offline');
    await typeAt(a.page, 0, FROM_A);
    await a.page.waitForFunction(() => document.getElementById('pending').dataset.pending === 'true');
    await typeAt(b.page, SEED.length - 1, FROM_B);
    await waitSynced(b.page, contains(FROM_B));
    assert.ok(!(await textOf(b.page)).includes(FROM_A));
    await a.context.setOffline(false);
    const text = await converged([a.page, b.page], FROM_A, FROM_B);
    assert.equal(text, FROM_A + SEED.slice(0, -1) + FROM_B + '\n');
  },

  // A reload while A's edits are unacknowledged (A's requests never reach
  // the server) loses nothing: the page resumes from the saved state.
  async reload(browser) {
    const b = await openEditor(browser, 'reload');
    await seed(b.page, SEED);
    const context = await browser.newContext();
    context.setDefaultTimeout(TIMEOUT);
    let forward = true;
    await context.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (forward) server.send(message);
      });
    });
    const page = await context.newPage();
    await page.goto(`${serverUrl}d/reload`);
    await waitSynced(page, `text === ${JSON.stringify(SEED)}`);
    forward = false;
    await typeAt(page, 0, FROM_A);
    await page.waitForFunction(() => window.diffsync.client.pending &&
      window.diffsync.client.doc.stack.length > 0);
    await typeAt(b.page, SEED.length - 1, FROM_B);
    await waitSynced(b.page, contains(FROM_B));
    assert.ok(!(await textOf(b.page)).includes(FROM_A), 'A\'s edit reached the server');
    forward = true;
    await page.reload();
    const text = await converged([page, b.page], FROM_A, FROM_B);
    assert.equal(text, FROM_A + SEED.slice(0, -1) + FROM_B + '\n');
  },
};

// Both replace the same word; B's reaches the server first, so A's is
// dropped, A is told, and both end with B's.
scenarios.conflict = async (browser) => {
  const b = await openEditor(browser, 'conflict');
  await seed(b.page, SEED);
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT);
  let held = null;
  await context.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (held) held.push(() => server.send(message));
      else server.send(message);
    });
  });
  const page = await context.newPage();
  await page.goto(`${serverUrl}d/conflict`);
  await waitSynced(page, `text === ${JSON.stringify(SEED)}`);
  const word = SEED.indexOf('beta');
  // One input event each (as a paste or an IME commit): one edit.
  const replace = async (p, text) => {
    await p.evaluate((at) => {
      const { view } = window.diffsync;
      view.focus();
      view.dispatch({ selection: { anchor: at, head: at + 4 } });
    }, word);
    await p.keyboard.insertText(text);
  };
  held = [];
  await replace(page, 'BÊTA 🅰');
  await page.waitForFunction(() => window.diffsync.client.doc.stack.length > 0 &&
    window.diffsync.client.doc.shadow.includes('🅰'));
  await replace(b.page, 'ベータ');
  await waitSynced(b.page, contains('ベータ'));
  const release = held;
  held = null;
  for (const send of release) send();
  const text = await converged([page, b.page], 'ベータ');
  assert.equal(text, SEED.replace('beta', 'ベータ'));
  await page.waitForFunction(() => document.querySelector('#conflicts li')?.textContent.includes('🅰'));
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario "${scenario}"; one of: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  await run(browser);
  console.log(`${scenario}: ok`);
} catch (e) {
  console.error(`${scenario}: FAILED\n${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
