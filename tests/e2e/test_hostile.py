"""A hostile client against a real diffsyncd while two well-behaved clients
keep editing one document (docs/PROTOCOL.md, "Limits").

The editors (one over the WebSocket, one over the MobWrite HTTP gateway)
type a token per cycle in a thread of their own. Each hostile act checks the
answer the offender gets (an `x:` line, an HTTP status, a WebSocket close
code, or the connection closed), and then waits until the editors have done
further cycles, so the server demonstrably kept serving them. At the end
their document is exactly what they typed.

Anonymous clients cannot be told apart, so under a stolen client id the
first test checks only that nothing the hostile client sends is applied;
the second runs the editors with tokens, where the same requests are
refused (`x:forbidden`) and the editors are not even resynced.

The hostile client connects from 127.0.0.2, so that the per-address
connection limit it runs into is not the editors' (127.0.0.1). The server
runs with small limits and timeouts, so that waiting for one takes seconds.
"""

import http.client
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import websocket

from dsclient import Client, http_sync, parse_reply
from test_auth import DIFFSYNC, SECRET

DOC = "shared"
HOSTILE = "127.0.0.2"
WAIT = 30  # Seconds any single expectation may take before the test fails.
SLOWEST_CYCLE = 5.0  # An editor's cycle that takes longer fails the test.
# Seconds between an editor's cycles: a fast typist, well within the rate
# limit (a cycle is one WebSocket request for Alice).
PACE = 0.05

LIMITS = {
    "--max-message-bytes": 65536,
    "--max-header-bytes": 2048,
    "--max-document-units": 20000,
    "--max-edits-per-request": 20,
    "--max-documents-per-connection": 4,
    "--max-clients-per-document": 12,
    "--max-connections-per-ip": 16,
    "--max-requests-per-second": 30,
    "--request-burst": 30,
    "--http-idle-seconds": 2,
    "--header-timeout-seconds": 1,
    "--body-timeout-seconds": 2,
    "--ws-idle-seconds": 2,
}


@pytest.fixture
def server(diffsyncd_factory):
    # Anonymous clients (the factory's default): under a stolen client id
    # only the view's owner token would stop a hostile client, so the test
    # checks what holds without one: nothing it sends gets applied.
    return diffsyncd_factory(
        *[str(x) for item in LIMITS.items() for x in item])


def hostile_socket(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT,
                                    source_address=(HOSTILE, 0))


def hostile_ws(server):
    return websocket.create_connection(
        "ws://127.0.0.1:%d/ws" % server.port, timeout=WAIT,
        socket=hostile_socket(server))


def hostile_q(server, text, conn=None):
    """POSTs q=text from the hostile address; returns (status, body)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=WAIT, source_address=(HOSTILE, 0))
    conn.request("POST", "/scripts/q.py",
                 urllib.parse.urlencode({"q": text}),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    result = response.status, response.read().decode()
    if own:
        conn.close()
    return result


def close_code(ws):
    """Reads frames until the server's close frame; returns its status
    code, or None if the connection ended without one."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            frame = ws.recv_frame()
        except (websocket.WebSocketConnectionClosedException,
                ConnectionError):
            return None
        if frame is None:
            return None
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0] if frame.data else None
    pytest.fail("the server did not close the WebSocket in %ds" % WAIT)


def closed_within(sock, seconds):
    """True if the server closes `sock` (EOF or reset) within `seconds`,
    reading and discarding whatever it sends before."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True


def frame(opcode, payload, fin=True, masked=True, length=None):
    """A raw client frame; `length` overrides the length field."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Editors:
    """Alice (WebSocket) types before the `|`, Bob (HTTP) after it, one
    token per cycle each, until stopped."""

    def __init__(self, server, tokens=None):
        """`tokens`: {"alice": token, "bob": token} on a server that checks
        them."""
        self.server = server
        self.tokens = tokens or {}
        self.ws = websocket.create_connection(
            "ws://127.0.0.1:%d/ws" % server.port, timeout=WAIT)
        self.alice = Client("alice", DOC)
        self.bob = Client("bob", DOC)
        self.alice_typed = []
        self.bob_typed = []
        self.cycles = 0
        self.slowest = 0.0
        self.failure = None
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.alice.text = "|"
        self._alice_cycle()
        self._bob_cycle()
        assert self.bob.text == "|"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _alice_cycle(self):
        request = self.alice.request()
        if "alice" in self.tokens:
            request = "t:%s\n%s" % (self.tokens["alice"], request)
        self.ws.send(request)
        while True:
            reply = self.ws.recv()
            # A push that crosses our request is ignored; the reply to the
            # request carries the same news.
            if ("m", "push") not in parse_reply(reply):
                break
        self.alice.handle(reply)

    def _bob_cycle(self):
        http_sync(self.server.url, self.bob, token=self.tokens.get("bob"))

    def _run(self):
        try:
            i = 0
            while not self.stop.is_set():
                start = time.monotonic()
                token = "a%d " % i
                self.alice_typed.append(token)
                self.alice.insert(self.alice.text.index("|"), token)
                self._alice_cycle()
                token = "b%d " % i
                self.bob_typed.append(token)
                self.bob.insert(len(self.bob.text), token)
                self._bob_cycle()
                took = time.monotonic() - start
                with self.changed:
                    self.cycles += 1
                    self.slowest = max(self.slowest, took)
                    self.changed.notify_all()
                i += 1
                self.stop.wait(PACE)
        except Exception as e:  # Reported by the test thread.
            with self.changed:
                self.failure = e
                self.changed.notify_all()

    def keep_up(self, what, cycles=3):
        """Waits until the editors have done `cycles` more cycles, each
        within SLOWEST_CYCLE: the server is still serving them."""
        with self.changed:
            target = self.cycles + cycles
            ok = self.changed.wait_for(
                lambda: self.failure is not None or self.cycles >= target,
                timeout=WAIT)
            assert self.failure is None, "%s: an editor failed: %r" % (
                what, self.failure)
            assert ok, "%s: the editors stalled at cycle %d" % (what,
                                                                self.cycles)
            assert self.slowest < SLOWEST_CYCLE, (
                "%s: an editor's cycle took %.2fs" % (what, self.slowest))

    def finish(self, checker=None, checker_token=None):
        """Stops typing, lets both catch up, checks the document (also as
        `checker`, a third client, sees it)."""
        self.stop.set()
        self.thread.join(WAIT)
        assert self.failure is None, repr(self.failure)
        for _ in range(2):
            self._alice_cycle()
            self._bob_cycle()
        expected = "".join(self.alice_typed) + "|" + "".join(self.bob_typed)
        assert self.alice.text == expected
        assert self.bob.text == expected
        if checker is not None:
            # A client whose id the hostile one used may be resynced first
            # (its view holds the resync the hostile request got).
            for _ in range(2):
                http_sync(self.server.url, checker, token=checker_token)
            assert checker.text == expected
        assert self.alice.errors == [] and self.bob.errors == []
        assert self.alice.resyncs == 0 and self.bob.resyncs == 0
        self.ws.close()
        return expected


@pytest.fixture
def editors(server):
    e = Editors(server)
    yield e
    e.stop.set()
    e.thread.join(WAIT)


def dribble(sock, data):
    """Sends `data` a byte at a time until the server cuts the connection
    off; returns how long that took."""
    start = time.monotonic()
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except ConnectionError:
            return time.monotonic() - start
        if closed_within(sock, 0.05):
            return time.monotonic() - start
    raise AssertionError("a request sent a byte at a time was never cut off")


def test_hostile_client_does_not_disturb_the_editors(server, editors):
    e = editors
    e.keep_up("start")

    # Malformed protocol text in a good frame: an x: line, the socket stays.
    ws = hostile_ws(server)
    ws.send("this is not a request")
    assert ws.recv().startswith("x:malformed-request:")
    ws.send("u:mallory\nF:0:%s\nd:0:=9999\t+x" % DOC)  # Truncated.
    assert ws.recv().startswith("x:malformed-request:")
    ws.send("u:mallory\nF:99999999999999999999:%s\n\n" % DOC)  # Over 2^53.
    assert ws.recv().startswith("x:malformed-request:")
    e.keep_up("malformed requests")

    # Malformed frames: the WebSocket is failed with the matching code.
    for bad, code in [
            (frame(0x3, b"x"), 1002),  # Reserved opcode.
            (frame(0x1, b"u:m\n\n", masked=False), 1002),  # Unmasked.
            (frame(0x1, b"\xff\xfe\n\n"), 1007),  # Text that is not UTF-8.
            (frame(0x9, b"p" * 200), 1002),  # Control frame over 125 bytes.
    ]:
        ws = hostile_ws(server)
        ws.sock.sendall(bad)
        assert close_code(ws) == code, bad[:2]
        ws.close()
    e.keep_up("malformed frames")

    # Giant frames: a header announcing 1 TiB, and a message over the
    # limit in pieces; both are refused with 1009 before the data comes.
    ws = hostile_ws(server)
    ws.sock.sendall(frame(0x1, b"", length=1 << 40)[:14])
    assert close_code(ws) == 1009
    ws = hostile_ws(server)
    ws.sock.sendall(frame(0x1, b"a" * 40000, fin=False) +
                    frame(0x0, b"a" * 40000))
    assert close_code(ws) == 1009
    e.keep_up("giant frames")

    # Versions far in the future, from a fresh id and under a real client's
    # id: refused, nothing applied.
    victim = Client("victim", DOC)
    http_sync(server.url, victim)
    for who in ("mallory", "victim"):
        status, reply = hostile_q(
            server, "u:%s\nF:0:%s\nd:9007199254740991:=1\t+EVIL\n\n" %
            (who, DOC))
        assert status == 200
        assert ("x:future-version" in reply or
                "x:version-mismatch" in reply), reply
        status, reply = hostile_q(
            server, "u:%s\nF:9007199254740991:%s\nd:0:=1\t+EVIL\n\n" %
            (who, DOC))
        # Refused, or (after the refusal above) the same resync again.
        assert "x:version-mismatch" in reply or "\nR:" in reply, reply
        assert "EVIL" not in reply
    e.keep_up("future versions")

    # Too many edits, documents and clients in requests: refused whole.
    edits = "".join("d:%d:=1\t+EVIL\n" % i for i in range(21))
    status, reply = hostile_q(server, "u:mallory\nF:0:%s\n%s\n" % (DOC, edits))
    assert reply.startswith("x:too-many-edits:"), reply
    ws = hostile_ws(server)
    for i in range(4):
        ws.send("u:mallory\nF:0:own%d\nr:0:x\n\n" % i)
        assert not ws.recv().startswith("x:")
    ws.send("u:mallory\nF:0:own4\nr:0:x\n\n")
    assert ws.recv().startswith("x:too-many-documents:")
    ws.close()
    refused = None
    for i in range(LIMITS["--max-clients-per-document"]):
        status, reply = hostile_q(server, "u:sybil%d\nF:0:%s\nr:0:\n\n" %
                                  (i, DOC))
        if reply.startswith("x:"):
            refused = reply
            break
    assert refused is not None and refused.startswith("x:too-many-clients:")
    e.keep_up("too many edits, documents, clients")

    # A document over the size limit: x:too-large, nothing truncated.
    status, reply = hostile_q(
        server, "u:mallory\nF:0:%s\nr:0:%s\n\n" % (DOC, "E" * 20001))
    assert "x:too-large" in reply, reply
    e.keep_up("document too large")

    # Huge HTTP header and body: 431 and 413.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT,
                                      source_address=(HOSTILE, 0))
    conn.request("GET", "/healthz", headers={"X-Padding": "p" * 4096})
    response = conn.getresponse()
    assert response.status == 431, response.status
    assert "headers larger than 2048" in response.read().decode()
    conn.close()
    status, body = hostile_q(server, "u:m\nF:0:big\nr:0:" + "a" * 70000)
    assert status == 413 and "larger than 65536" in body
    e.keep_up("huge header and body")

    # A flood on one HTTP connection: 429 with Retry-After past the burst.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT,
                                      source_address=(HOSTILE, 0))
    statuses = []
    for _ in range(1000):
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
        if response.status == 429:
            assert response.getheader("Retry-After") is not None
            break
    assert statuses[-1] == 429 and statuses[0] == 200, statuses
    conn.close()
    # A flood on one WebSocket: x:rate-limited past the burst, nothing
    # applied; each request is still answered, in order.
    ws = hostile_ws(server)
    for i in range(150):
        ws.send("u:flood\nF:0:flood\nr:0:x%d\n\n" % i)
    replies = [ws.recv() for _ in range(150)]
    assert replies[0].startswith("F:0:flood"), replies[0]
    limited = [r for r in replies if r.startswith("x:rate-limited:")]
    assert limited, replies[-1]
    ws.close()
    e.keep_up("request floods")

    # Connections from one address: past the limit, 429 and closed; those
    # of other addresses (the editors') are not counted.
    held = [hostile_socket(server) for _ in range(LIMITS[
        "--max-connections-per-ip"])]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT,
                                      source_address=(HOSTILE, 0))
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    assert response.status == 429
    assert "more than 16 connections" in response.read().decode()
    conn.close()
    e.keep_up("connection flood")
    for s in held:
        s.close()

    # Slow loris: headers a byte at a time are cut off at the header
    # timeout (1 s), however steadily they come.
    loris = hostile_socket(server)
    took = dribble(loris, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                   b"X-Slow: " + b"s" * 500)
    assert 0.9 < took < 1 + WAIT, took
    loris.close()
    # A body a byte at a time is cut off at the body timeout (2 s).
    loris = hostile_socket(server)
    loris.sendall(b"POST /scripts/q.py HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 1000\r\n\r\n")
    took = dribble(loris, b"q" * 1000)
    assert 1.9 < took < 2 + WAIT, took
    loris.close()
    # An HTTP connection idle after its request is closed after 2 s.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT,
                                      source_address=(HOSTILE, 0))
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"
    start = time.monotonic()
    assert closed_within(conn.sock, WAIT)
    assert time.monotonic() - start > 1.5
    conn.close()
    # A WebSocket that never answers the server's ping is closed after 2 s.
    ws = hostile_ws(server)
    start = time.monotonic()
    assert closed_within(ws.sock, WAIT)
    assert time.monotonic() - start > 1.5
    e.keep_up("slow and idle connections")

    # The document is exactly what the editors typed, as the victim whose
    # id was used sees it too.
    e.finish(victim)


@pytest.fixture
def guarded(diffsyncd_factory, tmp_path):
    """The same limits on a server that checks tokens."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    server = diffsyncd_factory(
        "--secret-file", str(secret),
        *[str(x) for item in LIMITS.items() for x in item], anonymous=False)

    def mint(subject):
        r = subprocess.run([DIFFSYNC, "token", "--secret-file", str(secret),
                            "--doc", DOC, "--right", "read-write",
                            "--subject", subject],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    server.mint = mint
    return server


def test_with_tokens_another_clients_id_is_refused(guarded):
    """With tokens a client id belongs to the identity that first used it:
    a hostile client with a valid token of its own, writing under the
    editors' ids, is refused and they do not even notice (no resync)."""
    e = Editors(guarded, {"alice": guarded.mint("alice"),
                          "bob": guarded.mint("bob")})
    try:
        e.keep_up("start")
        mallory = guarded.mint("mallory")
        for who in ("alice", "bob"):
            for request in [
                    "u:%s\nF:0:%s\nd:9007199254740991:=1\t+EVIL\n\n",
                    "u:%s\nF:9007199254740991:%s\nd:0:=1\t+EVIL\n\n",
                    "u:%s\nF:0:%s\nr:0:EVIL\n\n",
            ]:
                status, reply = hostile_q(
                    guarded, "t:%s\n%s" % (mallory, request % (who, DOC)))
                assert status == 403, (status, reply)
                assert reply.startswith("x:forbidden:"), reply
                assert "EVIL" not in reply and "a0" not in reply
            # Over the WebSocket likewise; the socket stays.
            ws = hostile_ws(guarded)
            ws.send("t:%s\nu:%s\nF:0:%s\nr:0:EVIL\n\n" % (mallory, who, DOC))
            reply = ws.recv()
            assert reply.startswith("x:forbidden:"), reply
            ws.close()
        e.keep_up("requests under the editors' ids")
        e.finish()
    finally:
        e.stop.set()
        e.thread.join(WAIT)


def errors_of_kind(server, kind):
    with urllib.request.urlopen(server.url + "metrics", timeout=WAIT) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('diffsync_errors_total{kind="%s"}' % kind):
                return float(line.split()[-1])
    return 0.0


def test_a_websocket_that_does_not_read_its_replies_is_dropped(
        diffsyncd_factory):
    server = diffsyncd_factory("--max-requests-per-second", "0")
    writer = Client("writer", "big")
    writer.text = "x" * 30000
    http_sync(server.url, writer)
    # A small receive buffer, never read: the replies (the whole text each)
    # stay queued in the server, until it drops the connection past 1,024.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((HOSTILE, 0))
    sock.connect(("127.0.0.1", server.port))
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws" % server.port,
                                     timeout=WAIT, socket=sock)
    sent = 0
    try:
        for sent in range(1, 3001):
            ws.send("u:hog\nF:0:big\nr:0:\n\n")
            if sent % 100 == 0 and errors_of_kind(server, "not-reading"):
                break
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass  # Dropped while sending.
    # Reading now drains what the kernel holds, then finds the end.
    assert closed_within(sock, WAIT), "never dropped (%d sent)" % sent
    assert errors_of_kind(server, "not-reading") == 1
    # The writer is served as before.
    writer.insert(0, ">")
    http_sync(server.url, writer)
    check = Client("check", "big")
    http_sync(server.url, check)
    assert check.text == ">" + "x" * 30000
