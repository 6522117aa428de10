"""A small, independent model of a Differential Synchronization client.

It speaks the line protocol of docs/PROTOCOL.md exactly as MobWrite's client
does (client id, F:m:document, the whole stack of unacknowledged d: edits),
so the end-to-end tests check diffsyncd against a second implementation
rather than against our own C++ client. Texts are Python strings; deltas
count UTF-16 code units and escape like encodeURI, as on the wire.
"""

import urllib.error
import urllib.parse
import urllib.request

_URI_SAFE = " !#$&'()*+,-./:;=?@_~"  # encodeURI's, with DMP's literal space.


def units(s):
    return len(s.encode("utf-16-le")) // 2


def _split_units(s, count):
    """Splits s after `count` UTF-16 units (never inside a character)."""
    used = 0
    for i, ch in enumerate(s):
        if used == count:
            return s[:i], s[i:]
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > count:
            raise ValueError("delta splits a character")
    if used != count:
        raise ValueError("delta longer than the text")
    return s, ""


def make_delta(old, new):
    """A DMP delta turning old into new (common prefix and suffix kept)."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    s = 0
    while (s < min(len(old), len(new)) - p and
           old[len(old) - 1 - s] == new[len(new) - 1 - s]):
        s += 1
    parts = []
    if p:
        parts.append("=%d" % units(old[:p]))
    removed = old[p:len(old) - s]
    inserted = new[p:len(new) - s]
    if removed:
        parts.append("-%d" % units(removed))
    if inserted:
        parts.append("+" + urllib.parse.quote(inserted, safe=_URI_SAFE))
    if s:
        parts.append("=%d" % units(old[len(old) - s:]))
    return "\t".join(parts)


def apply_delta(text, delta):
    """Applies a delta strictly; raises ValueError if it does not fit."""
    out = []
    rest = text
    for token in delta.split("\t") if delta else []:
        op, arg = token[0], token[1:]
        if op == "+":
            out.append(urllib.parse.unquote(arg))
        elif op in "=-":
            head, rest = _split_units(rest, int(arg))
            if op == "=":
                out.append(head)
        else:
            raise ValueError("bad delta token %r" % token)
    if rest:
        raise ValueError("delta shorter than the text")
    return "".join(out)


def parse_reply(reply):
    """Lines of a reply as (letter, value) pairs, up to the blank line."""
    lines = []
    for line in reply.split("\n"):
        if line == "":
            break
        if len(line) >= 2 and line[1] == ":":
            lines.append((line[0], line[2:]))
    return lines


class Client:
    """One client's view of one document (MobWrite's client state)."""

    def __init__(self, client_id, document):
        self.client_id = client_id
        self.document = document
        self.text = ""
        self.shadow = ""
        self.n = 0  # Client edits made.
        self.m = 0  # Server edits applied.
        self.stack = []  # (n, delta) not yet acknowledged.
        self.errors = []
        self.resyncs = 0

    def request(self):
        if self.text != self.shadow:
            self.stack.append((self.n, make_delta(self.shadow, self.text)))
            self.n += 1
            self.shadow = self.text
        lines = ["u:" + self.client_id,
                 "F:%d:%s" % (self.m, urllib.parse.quote(self.document,
                                                          safe=_URI_SAFE))]
        lines += ["d:%d:%s" % (n, d) for n, d in self.stack]
        return "\n".join(lines) + "\n\n"

    def handle(self, reply):
        """Applies a reply (or push). Local edits must not happen between
        request() and handle(); the tests edit only between cycles."""
        for letter, value in parse_reply(reply):
            if letter == "F":
                acked = int(value.split(":", 1)[0])
                self.stack = [(n, d) for n, d in self.stack if n >= acked]
            elif letter in "dD":
                version, delta = value.split(":", 1)
                version = int(version)
                if version < self.m:
                    continue  # Applied already.
                if version > self.m:
                    raise AssertionError("server edit %d skips past %d" %
                                         (version, self.m))
                self.shadow = apply_delta(self.shadow, delta)
                self.text = self.shadow
                self.m += 1
            elif letter in "rR":
                version, raw = value.split(":", 1)
                self.shadow = self.text = urllib.parse.unquote(raw)
                # As MobWrite's client: a raw text sets the server version
                # (it is not one more edit), so the next request
                # acknowledges exactly the resync's version.
                self.m = int(version)
                self.stack = []
                self.resyncs += 1
            elif letter == "x":
                self.errors.append(value)

    # Edits in code points of the current text.
    def insert(self, index, s):
        self.text = self.text[:index] + s + self.text[index:]


def http_sync(url, client, timeout=10, token=None):
    """One cycle over the MobWrite gateway (with a `t:` line if `token`);
    returns the reply text. Raises OSError when the server cannot be
    reached (nothing applied)."""
    request = client.request()
    if token is not None:
        request = "t:%s\n%s" % (token, request)
    body = urllib.parse.urlencode({"q": request}).encode()
    with urllib.request.urlopen(url + "scripts/q.py", body,
                                timeout=timeout) as response:
        reply = response.read().decode("utf-8")
    client.handle(reply)
    return reply
