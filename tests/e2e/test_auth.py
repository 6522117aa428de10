"""Access control end to end: a diffsyncd with a token secret and without
--allow-anonymous, tokens minted by `diffsync token` (docs/PROTOCOL.md,
"Access control")."""

import os
import struct
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import websocket

from conftest import diffsyncd_binary
from dsclient import Client

DIFFSYNC = os.environ.get(
    "DIFFSYNC",
    os.path.join(os.path.dirname(diffsyncd_binary()), "diffsync"))
SECRET = "an e2e secret that is long enough\n"


@pytest.fixture
def guarded(diffsyncd_factory, tmp_path):
    """A server that checks tokens and admits nobody without one, and a
    function minting its tokens."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    server = diffsyncd_factory("--secret-file", str(secret), anonymous=False)

    def mint(*args, secret_file=secret):
        r = subprocess.run([DIFFSYNC, "token", "--secret-file",
                            str(secret_file), *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    server.mint = mint
    return server


def post(server, request, token=None, field="q"):
    """One gateway request; (status, headers, body)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    body = urllib.parse.urlencode({field: request}).encode()
    req = urllib.request.Request(server.url + "scripts/q.py", data=body,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def write(server, doc, text):
    token = server.mint("--doc", doc, "--right", "read-write",
                        "--subject", "writer")
    writer = Client("writer-" + doc, doc)
    writer.text = text
    status, _, reply = post(server, "t:%s\n%s" % (token, writer.request()))
    assert status == 200, reply
    writer.handle(reply)


def close_frame(ws):
    """Reads until the server's close frame: (code, reason)."""
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", frame.data[:2])[0]
            return code, frame.data[2:].decode()


def test_refuses_to_start_without_a_secret_or_anonymous_mode(tmp_path):
    r = subprocess.run([diffsyncd_binary(), "--listen", "127.0.0.1:0",
                        "--data", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "no --allow-anonymous" in r.stderr
    assert "--secret-file" in r.stderr


def test_without_a_valid_token_http_answers_401_and_sends_nothing(guarded):
    write(guarded, "notes", "top secret")
    eve = Client("eve", "notes")
    status, headers, body = post(guarded, eve.request())
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    assert body.startswith("x:unauthorized:no token")
    assert "top secret" not in body
    # MobWrite's JSON-P form is refused the same way.
    status, _, body = post(guarded, eve.request(), field="p")
    assert status == 401 and "top secret" not in body
    # A signature that is not the server's, and a malformed token.
    other = guarded.mint("--doc", "notes", "--right", "read")
    forged = other[:other.rindex(".") + 1] + "A" * 43
    status, _, body = post(guarded, "t:%s\n%s" % (forged, eve.request()))
    assert status == 401 and "bad signature" in body
    status, _, body = post(guarded, eve.request(), token="not.a.token")
    assert status == 401 and "malformed token" in body
    # Nothing changed: a writer still sees the text alone.
    reader = Client("reader", "notes")
    token = guarded.mint("--doc", "notes", "--right", "read")
    status, _, body = post(guarded, reader.request(), token=token)
    assert status == 200
    reader.handle(body)
    assert reader.text == "top secret"


def test_a_document_outside_the_token_is_403(guarded):
    write(guarded, "team/plan", "plan")
    write(guarded, "private", "mine")
    token = guarded.mint("--prefix", "team/", "--right", "read-write")
    c = Client("c", "private")
    status, _, body = post(guarded, "t:%s\n%s" % (token, c.request()))
    assert status == 403
    assert body == "x:forbidden:the token does not cover document 'private'\n\n"
    c = Client("c", "team/plan")
    status, _, body = post(guarded, "t:%s\n%s" % (token, c.request()))
    assert status == 200
    c.handle(body)
    assert c.text == "plan"


def test_a_read_only_client_is_resynced_to_the_server_text(guarded):
    write(guarded, "notes", "the server's text")
    token = guarded.mint("--doc", "notes", "--right", "read",
                         "--subject", "reader")
    reader = Client("reader", "notes")
    status, _, body = post(guarded, reader.request(), token=token)
    reader.handle(body)
    assert reader.text == "the server's text"
    reader.insert(0, "not ")
    status, _, body = post(guarded, reader.request(), token=token)
    assert status == 200
    assert "x:read-only:" in body
    reader.handle(body)
    assert reader.text == "the server's text"
    assert reader.resyncs == 1
    other = Client("other", "notes")
    status, _, body = post(guarded, other.request(), token=token)
    other.handle(body)
    assert other.text == "the server's text"


def test_a_client_id_cannot_be_taken_over_even_after_a_restart(guarded):
    alice = guarded.mint("--doc", "notes", "--right", "read-write",
                         "--subject", "alice")
    mallory = guarded.mint("--doc", "notes", "--right", "read-write",
                           "--subject", "mallory")
    c = Client("alices-id", "notes")
    c.text = "alice's words"
    status, _, body = post(guarded, c.request(), token=alice)
    assert status == 200
    c.handle(body)
    for _ in range(2):
        hijacker = Client("alices-id", "notes")
        hijacker.text = "mallory was here"
        status, _, body = post(guarded, hijacker.request(), token=mallory)
        assert status == 403
        assert "belongs to another identity" in body
        assert "alice's words" not in body
        guarded.restart()
    c.insert(0, ">")
    status, _, body = post(guarded, c.request(), token=alice)
    assert status == 200, body
    c.handle(body)
    assert c.text == ">alice's words"


def test_websocket_with_a_bad_token_closes_with_the_reason(guarded):
    ws = websocket.create_connection(
        "ws://127.0.0.1:%d/ws?access_token=bad" % guarded.port, timeout=10)
    code, reason = close_frame(ws)
    assert code == 1008
    assert reason.startswith("unauthorized: token refused: malformed token")
    # The close handshake is done: drop the socket (close() would send a
    # second close and wait for an answer that never comes).
    ws.shutdown()
    # No token at all: the request is answered with why, then the close.
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws" % guarded.port,
                                     timeout=10)
    ws.send(Client("eve", "notes").request())
    assert ws.recv().startswith("x:unauthorized:no token")
    code, reason = close_frame(ws)
    assert code == 1008 and reason.startswith("unauthorized: no token")
    ws.shutdown()


def test_websocket_with_a_token_in_its_url_syncs(guarded):
    write(guarded, "notes", "hello")
    token = guarded.mint("--doc", "notes", "--right", "read-write")
    ws = websocket.create_connection(
        "ws://127.0.0.1:%d/ws?access_token=%s" % (guarded.port, token),
        timeout=10)
    c = Client("ws-client", "notes")
    ws.send(c.request())
    c.handle(ws.recv())
    assert c.text == "hello"
    # A message's own t: line works on a connection without one too.
    ws.close()
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws" % guarded.port,
                                     timeout=10)
    d = Client("ws-client-2", "notes")
    ws.send("t:%s\n%s" % (token, d.request()))
    d.handle(ws.recv())
    assert d.text == "hello"
    ws.close()


def test_token_command_says_what_is_wrong(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("short\n")
    r = subprocess.run([DIFFSYNC, "token", "--secret-file", str(secret),
                        "--doc", "a", "--right", "read"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "at least 16" in r.stderr
    secret.write_text(SECRET)
    r = subprocess.run([DIFFSYNC, "token", "--secret-file", str(secret),
                        "--doc", "a", "--right", "read", "--expires-in",
                        "soon"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--expires-in" in r.stderr
    r = subprocess.run([DIFFSYNC, "token", "--secret-file", str(secret),
                        "--right", "read"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--doc" in r.stderr
