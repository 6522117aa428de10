"""diffsyncd end to end: real process, loopback sockets, WebSocket and HTTP."""

import http.client
import urllib.error
import urllib.parse
import urllib.request

import pytest
import websocket

from dsclient import Client, http_sync, parse_reply


def ws_connect(server):
    return websocket.create_connection(
        "ws://127.0.0.1:%d/ws" % server.port, timeout=10)


def ws_sync(ws, client):
    ws.send(client.request())
    reply = ws.recv()
    client.handle(reply)
    return reply


def test_websocket_and_http_clients_converge(diffsyncd):
    ws = ws_connect(diffsyncd)
    a = Client("ws-a", "shared doc")
    b = Client("http-b", "shared doc")
    a.text = "The quick brown fox jumps over the lazy dog."
    ws_sync(ws, a)
    http_sync(diffsyncd.url, b)
    assert b.text == a.text
    # Concurrent edits at different places, with non-ASCII text.
    a.insert(4, "very ")
    b.insert(len(b.text), " 🦊 狐 é")
    ws_sync(ws, a)
    http_sync(diffsyncd.url, b)
    ws.send(a.request())
    # b's change pushes to a before a's own reply arrives.
    for _ in range(2):
        a.handle(ws.recv())
    http_sync(diffsyncd.url, b)
    expected = "The very quick brown fox jumps over the lazy dog. 🦊 狐 é"
    assert a.text == expected
    assert b.text == expected
    assert a.resyncs == b.resyncs == 0
    ws.close()


def test_push_reaches_an_idle_websocket_client(diffsyncd):
    ws = ws_connect(diffsyncd)
    a = Client("idle", "pushed")
    a.text = "hello"
    ws_sync(ws, a)
    b = Client("writer", "pushed")
    http_sync(diffsyncd.url, b)
    b.insert(5, " world")
    http_sync(diffsyncd.url, b)
    # a sends nothing: the server pushes b's edit.
    push = ws.recv()
    assert ("m", "push") in parse_reply(push)
    a.handle(push)
    assert a.text == "hello world"
    # After answering the push, a is in step: its next cycle is clean.
    a.insert(0, ">")
    ws_sync(ws, a)
    http_sync(diffsyncd.url, b)
    assert b.text == ">hello world"
    ws.close()


def test_documents_do_not_leak_into_each_other(diffsyncd):
    ws = ws_connect(diffsyncd)
    a = Client("watcher", "doc-one")
    a.text = "one"
    ws_sync(ws, a)
    b = Client("other", "doc-two")
    b.text = "two"
    http_sync(diffsyncd.url, b)
    b.insert(3, "!")
    http_sync(diffsyncd.url, b)
    ws.settimeout(0.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()  # No push for a document a does not have open.
    ws.settimeout(10)
    ws_sync(ws, a)
    assert a.text == "one"
    c = Client("reader", "doc-two")
    http_sync(diffsyncd.url, c)
    assert c.text == "two!"


def post(server, body, content_type="application/x-www-form-urlencoded"):
    request = urllib.request.Request(
        server.url + "scripts/q.py", data=body,
        headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def q(server, text):
    return post(server, urllib.parse.urlencode({"q": text}).encode())


@pytest.mark.parametrize("request_text,code", [
    ("u:m\nF:0:victim\nd:0:=999\t+x\n\n", "x:bad-delta"),
    ("u:m\nF:7:victim\nd:0:=3\n\n", "x:version-mismatch"),
    ("u:m\nF:0:victim\nd:5:=3\t+x\n\n", "x:future-version"),
    ("u:m\nF:0:victim\nd:0:=3", "x:malformed-request"),  # Truncated.
    ("F:0:victim\nd:0:=3\n\n", "x:no-client-id"),
    ("u:m\nF:zz:victim\n\n", "x:malformed-request"),
    # A delta for a document nobody created: there is nothing it can fit.
    ("u:m\nF:0:never-made\nd:0:=3\t+x\n\n", "x:bad-delta"),
])
def test_malformed_requests_get_a_clear_answer(diffsyncd, request_text, code):
    owner = Client("owner", "victim")
    owner.text = "abc"
    http_sync(diffsyncd.url, owner)
    status, reply = q(diffsyncd, request_text)
    assert status == 200
    assert code in reply, reply
    # The document and its other client are untouched.
    owner.insert(3, "d")
    http_sync(diffsyncd.url, owner)
    check = Client("checker", "victim")
    http_sync(diffsyncd.url, check)
    assert check.text == "abcd"
    assert owner.errors == []


def test_bad_http_requests_are_refused_with_reasons(diffsyncd):
    status, body = post(diffsyncd, b"nothing=here")
    assert status == 400 and "no q= or p= field" in body
    status, body = post(diffsyncd, b"q=%zz")
    assert status == 400 and "percent escape" in body
    # A body over the limit is refused from its Content-Length, before it
    # is sent.
    conn = http.client.HTTPConnection("127.0.0.1", diffsyncd.port, timeout=10)
    conn.putrequest("POST", "/scripts/q.py")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(9 << 20))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert "larger than" in response.read().decode()
    conn.close()
    # A giant WebSocket message closes that socket with 1009; others go on.
    # The server stops reading at the frame's length, so the sender may
    # even see the connection reset mid-send.
    ws = ws_connect(diffsyncd)
    with pytest.raises((websocket.WebSocketConnectionClosedException,
                        ConnectionError)):
        ws.send("u:x\nF:0:big\nr:0:" + "a" * (9 << 20) + "\n\n")
        ws.recv()
    c = Client("after", "big")
    c.text = "fine"
    http_sync(diffsyncd.url, c)
    assert c.errors == []


def test_document_size_limit_is_refused_not_truncated(diffsyncd_factory):
    server = diffsyncd_factory("--max-document-units", "10")
    c = Client("a", "small")
    c.text = "short"
    http_sync(server.url, c)
    c.insert(5, " and far too long")
    http_sync(server.url, c)
    assert any(e.startswith("too-large") for e in c.errors), c.errors
    check = Client("b", "small")
    http_sync(server.url, check)
    assert check.text == "short"


def test_health_and_metrics(diffsyncd):
    with urllib.request.urlopen(diffsyncd.url + "healthz") as r:
        assert r.status == 200 and r.read() == b"ok\n"
    c = Client("metered", "m")
    c.text = "x"
    http_sync(diffsyncd.url, c)
    with urllib.request.urlopen(diffsyncd.url + "metrics") as r:
        text = r.read().decode()
    for name in ("diffsync_connections", "diffsync_syncs_total",
                 "diffsync_bytes_total", "diffsync_sync_seconds_bucket",
                 "diffsync_store_commit_seconds_bucket",
                 "diffsync_errors_total", "diffsync_engine_hunks"):
        assert name in text, name
    syncs = [l for l in text.splitlines()
             if l.startswith("diffsync_syncs_total")]
    assert float(syncs[0].split()[-1]) >= 1
    documents = [l for l in text.splitlines()
                 if l.startswith("diffsync_documents ")]
    assert float(documents[0].split()[-1]) >= 1


def test_views_survive_a_clean_restart(diffsyncd):
    a = Client("persistent", "kept")
    a.text = "before restart"
    http_sync(diffsyncd.url, a)
    diffsyncd.restart()
    # Offline edit made while the server was down merges with no resync.
    a.insert(0, "still ")
    http_sync(diffsyncd.url, a)
    assert a.resyncs == 0 and a.errors == []
    b = Client("fresh", "kept")
    http_sync(diffsyncd.url, b)
    assert b.text == "still before restart"


def test_a_client_that_offers_the_compact_form_gets_it(diffsyncd):
    # docs/PROTOCOL.md, "Compact form": after the offer and its answer, a
    # keystroke is two short lines up and one down.
    ws = ws_connect(diffsyncd)
    ws.send("u:alice\nF:0:compact doc\nr:1:Hello\nm:compact\n\n")
    assert ws.recv() == "F:1:compact doc\nd:0:=5\nm:compact\n\n"
    ws.send("d:1:=5\t+ world\nh:CL1p5S\n\n")
    assert ws.recv() == "d:\n\n"
    ws.send("d:=11\t+!\nh:AbhRmV\n\n")
    assert ws.recv() == "d:\n\n"
    # A compact line without its context is refused, and the connection
    # still reads what follows.
    ws.send("F:9:other\nd:=1\n\n")
    assert ws.recv().startswith(
        "x:malformed-request:compact form: line 2: implied version")
    ws.close()
    b = Client("bob", "compact doc")
    http_sync(diffsyncd.url, b)
    assert b.text == "Hello world!"
    # A client that never offers it (MobWrite's, the browser's) never sees it.
    ws = ws_connect(diffsyncd)
    c = Client("carol", "compact doc")
    ws_sync(ws, c)
    c.insert(0, ">")
    reply = ws_sync(ws, c)
    assert reply.startswith("F:1:compact doc\n") and "m:compact" not in reply
    # Nor after an offer later than its first message: the connection
    # stays in the normal form.
    c.insert(0, ">")
    ws.send(c.request().rstrip("\n") + "\nm:compact\n\n")
    reply = ws.recv()
    assert reply.startswith("F:2:compact doc\n") and "m:compact" not in reply
    ws.close()
