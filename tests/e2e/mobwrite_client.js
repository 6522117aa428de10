#!/usr/bin/env node
// Runs MobWrite's unmodified browser client (mobwrite_core.js from the npm
// package mobwrite@0.0.2) in node, so tests can check that diffsyncd serves
// the client it claims to be compatible with.
//
// The client's files are loaded untouched into a vm context that stands in
// for a browser page: `window` is the context's global, XMLHttpRequest is
// asynchronous over node's http module, and in JSON-P mode (a gateway URL
// with '://', as MobWrite decides) the <script> tags MobWrite appends to
// <head> are fetched with GET and evaluated in the context as they arrive,
// in whatever order the responses come back, as a browser does.
//
// Timers are a virtual clock: MobWrite's setTimeout calls are recorded and
// run only when a `sync` command advances the clock, so a test decides when
// each cycle happens. A cycle is MobWrite's own: the timer it scheduled
// (syncRun1_, or the syncKill_ watchdog after a failure) runs, its requests
// go out, and the cycle is over once every request has been answered and its
// callback has run.
//
// Usage:
//   node mobwrite_client.js --server http://127.0.0.1:PORT/ --doc NAME
//       [--jsonp] [--maxchars N] [--script-order parallel|reverse] [--debug]
// Without --jsonp the page is taken to be served by the server itself and
// syncGateway is the relative '/scripts/q.py' (POST q=); with it syncGateway
// is the absolute URL (GET ?p=, JSON-P, `b:` buffers past --maxchars).
// A browser fetches a cycle's scripts in parallel (the default); `reverse`
// fetches them one at a time, last first, so that the server gets a
// buffer's pieces in the worst order.
//
// Control protocol: one command per stdin line, one JSON object per stdout
// line in answer. The first line printed is {"ready":true,"user":ID}.
//   set <json string>   set the local text (as a user typing would)
//   sync                run one full MobWrite cycle; prints the state after,
//                       with "sent" (each POST body or GET URL) and
//                       "received" (each reply or script) of the cycle
//   text                print the state
//   quit                exit
// A state is {"text", "shadow", "clientVersion", "serverVersion",
// "deltaOk", "stack"}; a failed command prints {"error": why, ...}.
// MobWrite's debug log (--debug) and every request and reply go to stderr.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const readline = require('readline');
const vm = require('vm');

const HTML_DIR = path.join(path.dirname(require.resolve('mobwrite/package.json')),
                           'ext', 'google-mobwrite', 'html');

function parseArgs(argv) {
  const opts = {server: null, doc: null, jsonp: false, maxchars: null,
                scriptOrder: 'parallel', debug: false};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--server') opts.server = argv[++i];
    else if (arg === '--doc') opts.doc = argv[++i];
    else if (arg === '--jsonp') opts.jsonp = true;
    else if (arg === '--maxchars') opts.maxchars = Number(argv[++i]);
    else if (arg === '--script-order') opts.scriptOrder = argv[++i];
    else if (arg === '--debug') opts.debug = true;
    else throw new Error('unknown argument ' + arg);
  }
  if (!opts.server || !opts.doc ||
      !['parallel', 'reverse'].includes(opts.scriptOrder)) {
    throw new Error('usage: mobwrite_client.js --server URL --doc NAME ' +
                    '[--jsonp] [--maxchars N] ' +
                    '[--script-order parallel|reverse] [--debug]');
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const origin = new URL(opts.server);

function log(what, text) {
  process.stderr.write('[' + what + '] ' + text.replace(/\n/g, '\\n') + '\n');
}

// Network requests not yet answered; what this cycle sent (a POST's body,
// a GET's URL), got back (a POST's reply, a script's text) and what failed.
let inFlight = 0;
let sent = [];
let received = [];
let failures = [];
let onIdle = null;

function requestStarted() {
  inFlight++;
}

function requestDone() {
  inFlight--;
  if (inFlight === 0 && onIdle) {
    const resume = onIdle;
    onIdle = null;
    resume();
  }
}

// Connections are kept alive between requests, as a browser's are.
const agent = new http.Agent({keepAlive: true});

// Calls done(error) or done(null, status, text) exactly once.
function httpRequest(method, url, body, contentType, done) {
  const headers = {};
  if (body !== null) {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  let answered = false;
  const answer = (...result) => {
    if (!answered) {
      answered = true;
      done(...result);
    }
  };
  const req = http.request(url, {method, headers, agent}, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => answer(null, res.statusCode,
                               Buffer.concat(chunks).toString('utf8')));
    res.on('error', (e) => answer(e));
  });
  req.on('error', (e) => answer(e));
  if (body !== null) req.write(body);
  req.end();
  return req;
}

// --- Browser shims: the smallest set mobwrite_core.js touches. ---

const timers = new Map();  // id -> {fn, at}
let now = 0;
let nextTimerId = 1;

function setTimeoutShim(fn, delay) {
  const id = nextTimerId++;
  timers.set(id, {fn, at: now + Math.max(0, Number(delay) || 0)});
  return id;
}

function clearTimeoutShim(id) {
  timers.delete(id);
}

// Advances the virtual clock to the earliest timer and runs it.
function runNextTimer() {
  let first = null;
  for (const [id, t] of timers) {
    if (first === null || t.at < timers.get(first).at) first = id;
  }
  if (first === null) return null;
  const t = timers.get(first);
  timers.delete(first);
  now = t.at;
  t.fn();
  return t.fn;
}

class XMLHttpRequestShim {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.onreadystatechange = null;
    this.method_ = null;
    this.url_ = null;
    this.headers_ = {};
    this.req_ = null;
    this.ended_ = false;  // Answered or aborted.
  }

  open(method, url, async) {
    if (async === false) throw new Error('synchronous XHR is not shimmed');
    this.method_ = method;
    // Relative to the page, which the server itself serves.
    this.url_ = new URL(url, origin).toString();
    this.setState_(1);
  }

  setRequestHeader(name, value) {
    this.headers_[name] = value;
  }

  send(body) {
    log('POST ' + this.url_, String(body));
    sent.push(String(body));
    requestStarted();
    this.req_ = httpRequest(
        this.method_, this.url_, body === undefined ? null : String(body),
        this.headers_['Content-Type'] || 'text/plain',
        (err, status, text) => {
          if (this.ended_) return;
          this.ended_ = true;
          if (err) {
            failures.push({request: this.url_, error: String(err)});
            this.status = 0;
          } else {
            log('reply ' + status, text);
            received.push(text);
            if (status !== 200) {
              failures.push({request: body, status, reply: text});
            }
            this.status = status;
            this.responseText = text;
          }
          try {
            this.setState_(2);
            this.setState_(3);
            this.setState_(4);
          } catch (e) {
            failures.push({request: body, reply: this.responseText,
                           error: String(e.stack || e)});
          } finally {
            requestDone();
          }
        });
  }

  abort() {
    if (this.req_ && !this.ended_) {
      this.ended_ = true;
      this.req_.destroy();
      requestDone();
    }
  }

  setState_(state) {
    this.readyState = state;
    if (this.onreadystatechange) this.onreadystatechange();
  }
}

function makeElement(tagName) {
  return {
    tagName: tagName.toUpperCase(),
    parentNode: null,
    childNodes: [],
    appendChild(child) {
      child.parentNode = this;
      this.childNodes.push(child);
      if (child.tagName === 'SCRIPT') loadScript(child);
      return child;
    },
    removeChild(child) {
      this.childNodes.splice(this.childNodes.indexOf(child), 1);
      child.parentNode = null;
      return child;
    },
  };
}

const head = makeElement('head');

// Scripts of this cycle held back by --script-order reverse.
let heldScripts = [];

// A <script> added to the page: fetched with GET and run when it arrives.
function loadScript(script) {
  if (opts.scriptOrder === 'reverse') heldScripts.push(script.src);
  else fetchScript(script.src, () => {});
}

// Fetches the held scripts last first, each once the one before has run.
function fetchHeldScripts() {
  const srcs = heldScripts.reverse();
  heldScripts = [];
  requestStarted();
  const next = () => {
    if (srcs.length) fetchScript(srcs.shift(), next);
    else requestDone();
  };
  next();
}

function fetchScript(src, then) {
  log('GET', src);
  sent.push(src);
  requestStarted();
  httpRequest('GET', src, null, null, (err, status, text) => {
    try {
      if (err || status !== 200) {
        // A browser fires onerror and never runs the script.
        failures.push({request: src, status, error: err && String(err),
                       reply: text});
        return;
      }
      log('script ' + status, text);
      received.push(text);
      vm.runInContext(text, context, {filename: src});
    } catch (e) {
      failures.push({request: src, reply: text, error: String(e.stack || e)});
    } finally {
      requestDone();
      then();
    }
  });
}

const documentShim = {
  getElementsByTagName(name) {
    return name.toLowerCase() === 'head' ? [head] : [];
  },
  getElementById(id) {
    return head.childNodes.find((el) => el.id === id) || null;
  },
  createElement: makeElement,
};

const consoleShim = {
  info: (...a) => log('info', a.join(' ')),
  warn: (...a) => log('warn', a.join(' ')),
  error: (...a) => log('error', a.join(' ')),
  debug: (...a) => log('debug', a.join(' ')),
  log: (...a) => log('log', a.join(' ')),
};

const context = vm.createContext({
  setTimeout: setTimeoutShim,
  clearTimeout: clearTimeoutShim,
  XMLHttpRequest: XMLHttpRequestShim,
  document: documentShim,
  navigator: {userAgent: 'Mozilla/5.0 (node) diffsync-e2e'},
  console: consoleShim,
  addEventListener() {},
  alert(text) {
    throw new Error('alert: ' + text);
  },
});
context.window = vm.runInContext('this', context);

for (const file of ['diff_match_patch_uncompressed.js', 'mobwrite_core.js']) {
  const full = path.join(HTML_DIR, file);
  vm.runInContext(fs.readFileSync(full, 'utf8'), context, {filename: full});
}
const mobwrite = context.mobwrite;

// --- A share type over an in-memory string, as mobwrite_form.js does for
// its form elements (constructor calls shareObj, prototype is a shareObj). ---

function ShareMemoryObj(node) {
  mobwrite.shareObj.apply(this, [node.id]);
  this.element = node;
}
ShareMemoryObj.prototype = new mobwrite.shareObj('');
ShareMemoryObj.prototype.getClientText = function() {
  return this.element.value;
};
ShareMemoryObj.prototype.setClientText = function(text) {
  this.element.value = text;
};
ShareMemoryObj.shareHandler = function(node) {
  if (node && node.type === 'memory') return new ShareMemoryObj(node);
  return null;
};
mobwrite.shareHandlers.push(ShareMemoryObj.shareHandler);

mobwrite.debug = opts.debug;
if (opts.jsonp) {
  mobwrite.syncGateway = new URL('scripts/q.py', origin).toString();
} else {
  mobwrite.syncGateway = '/scripts/q.py';
}
if (opts.maxchars !== null) mobwrite.get_maxchars = opts.maxchars;

const field = {id: opts.doc, type: 'memory', value: ''};
mobwrite.share(field);
const shared = mobwrite.shared[opts.doc];
if (!shared) throw new Error('MobWrite refused to share ' + opts.doc);

function state() {
  return {
    text: field.value,
    shadow: shared.shadowText,
    clientVersion: shared.clientVersion,
    serverVersion: shared.serverVersion,
    deltaOk: shared.deltaOk,
    stack: shared.editStack.map((e) => e[1]),
  };
}

function isSyncPending() {
  for (const t of timers.values()) {
    if (t.fn === mobwrite.syncRun1_) return true;
  }
  return false;
}

// One cycle: run MobWrite's timers until its sync task has run, then wait
// for every request it sent. The cycle succeeded if syncRun2_ ran, which
// schedules the next sync.
function sync(done) {
  failures = [];
  sent = [];
  received = [];
  const began = now;
  for (;;) {
    const fn = runNextTimer();
    if (fn === null) {
      done({error: 'MobWrite has no task scheduled'});
      return;
    }
    if (fn === mobwrite.syncRun1_) break;
    if (now - began > 3600000) {
      done({error: 'no sync task within an hour of MobWrite time'});
      return;
    }
  }
  if (heldScripts.length) fetchHeldScripts();
  const finish = () => {
    const cycle = Object.assign(state(), {sent, received});
    if (failures.length || !isSyncPending()) {
      done(Object.assign({error: 'cycle failed', failures}, cycle));
    } else {
      done(cycle);
    }
  };
  if (inFlight === 0) finish();
  else onIdle = finish;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const commands = [];
let busy = false;

function runCommands() {
  if (busy) return;
  const line = commands.shift();
  if (line === undefined) return;
  const space = line.indexOf(' ');
  const verb = space < 0 ? line : line.slice(0, space);
  const arg = space < 0 ? '' : line.slice(space + 1);
  const next = (obj) => {
    print(obj);
    busy = false;
    runCommands();
  };
  busy = true;
  try {
    if (verb === 'set') {
      const text = JSON.parse(arg);
      if (typeof text !== 'string') throw new Error('set takes a JSON string');
      field.value = text;
      next(state());
    } else if (verb === 'sync') {
      sync(next);
    } else if (verb === 'text') {
      next(state());
    } else if (verb === 'quit') {
      process.exit(0);
    } else {
      next({error: 'unknown command ' + JSON.stringify(verb)});
    }
  } catch (e) {
    next({error: String(e.stack || e)});
  }
}

readline.createInterface({input: process.stdin}).on('line', (line) => {
  if (line.trim() === '') return;
  commands.push(line);
  runCommands();
}).on('close', () => {
  commands.push('quit');
  runCommands();
});

print({ready: true, user: mobwrite.syncUsername});
