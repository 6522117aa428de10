"""MobWrite's own JavaScript client, unmodified, syncs through diffsyncd.

Each client is a node process running mobwrite_core.js from the npm package
mobwrite@0.0.2 (see mobwrite_client.js): over POST q= like a page served by
the gateway's host, or over JSON-P GET ?p= like a page from elsewhere, whose
long requests MobWrite splits into `b:` buffers. Cycles are run one at a
time, so every step is deterministic except the order in which the server
sees concurrent requests, which no assertion depends on.
"""

import json
import re
import urllib.parse

import pytest

# Composed and combining characters, CJK, and characters outside the BMP
# (two UTF-16 code units each, which is what MobWrite's deltas count).
UNICODE_TEXT = ("Grüße aus 東京 — cafe\u0301 😀 ok.\n"
                "The quick brown fox jumps over the lazy dog.\n"
                "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 at the end")

_CALLBACK = re.compile(r'^mobwrite\.callback\("(.*)"\);\s*$', re.S)


def reply_lines(reply):
    """The protocol lines of a reply: POST text or a JSON-P script."""
    match = _CALLBACK.match(reply)
    if match:
        # q.py escapes only \\, ", \n and \r, all of which JSON reads alike.
        reply = json.loads('"' + match.group(1) + '"', strict=False)
    return [line for line in reply.splitlines() if line]


def server_resyncs(cycle):
    """Full texts (r:/R:) the server sent in a cycle: there should be none
    while deltas apply."""
    return [line for reply in cycle["received"] for line in reply_lines(reply)
            if line[:2] in ("r:", "R:")]


def sync_all(*clients):
    """Starts a cycle on every client at once, then waits for all of them:
    their requests reach the server concurrently."""
    for c in clients:
        c.proc.stdin.write(b"sync\n")
        c.proc.stdin.flush()
    cycles = [c._read() for c in clients]
    for c, cycle in zip(clients, cycles):
        assert "error" not in cycle, (c.name, cycle, c.log())
    return cycles


def assert_converged(expected, *clients):
    for c in clients:
        state = c.state()
        assert state["text"] == expected, c.name
        assert state["shadow"] == expected, c.name
        assert state["deltaOk"], c.name


def test_two_clients_merge_concurrent_edits(diffsyncd, mobwrite_client):
    a = mobwrite_client(diffsyncd, "fox")
    b = mobwrite_client(diffsyncd, "fox")
    a.set(UNICODE_TEXT)
    first = a.sync()
    # MobWrite's first contact sends the whole text; the gateway takes it.
    sent = urllib.parse.parse_qs(first["sent"][0])["q"][0]
    assert sent.splitlines()[:3] == [
        "u:" + a.user, "F:0:fox",
        "r:1:" + urllib.parse.quote(UNICODE_TEXT, safe="!#$&'()*+,-./:;=?@_~ ")]
    assert first["stack"] == [] and first["clientVersion"] == 1
    assert b.sync()["text"] == UNICODE_TEXT

    # Both type before either syncs: a near the start, b at the end and in
    # the middle, with characters of every width.
    a.set(UNICODE_TEXT.replace("aus 東京", "aus 東京 und 大阪 🗾"))
    b.set(UNICODE_TEXT.replace("brown fox", "brown 🦊 fox")
          .replace("at the end", "at the end, n\u0303o"))
    expected = (UNICODE_TEXT.replace("aus 東京", "aus 東京 und 大阪 🗾")
                .replace("brown fox", "brown 🦊 fox")
                .replace("at the end", "at the end, n\u0303o"))
    cycles = sync_all(a, b)
    cycles += [a.sync(), b.sync()]
    assert_converged(expected, a, b)

    # Quiet cycles change nothing and leave no edit unacknowledged.
    cycles += sync_all(a, b) + sync_all(a, b)
    assert_converged(expected, a, b)
    for c in (a, b):
        assert c.state()["stack"] == [], c.name
    assert [server_resyncs(c) for c in cycles] == [[]] * len(cycles)


@pytest.mark.parametrize("script_order", ["parallel", "reverse"])
def test_jsonp_client_with_buffers_converges_with_post_client(
        diffsyncd, mobwrite_client, script_order):
    maxchars = 300
    j = mobwrite_client(diffsyncd, "notes", jsonp=True, maxchars=maxchars,
                        script_order=script_order)
    p = mobwrite_client(diffsyncd, "notes")
    long_text = "\n".join("%d. %s" % (i, UNICODE_TEXT) for i in range(3))
    j.set(long_text)
    first = j.sync()
    # Too long for one URL: MobWrite sent it in b: pieces, each a request of
    # at most get_maxchars characters, all answered, one with the reply.
    assert len(first["sent"]) > 3, first["sent"]
    for url in first["sent"]:
        assert len(url) <= maxchars, url
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert query["p"][0].startswith("b:"), url
    assert len(first["received"]) == len(first["sent"])
    assert sum(1 for r in first["received"] if reply_lines(r)) == 1
    if script_order == "reverse":
        # Piece 1 went last and completed the buffer: it got the reply.
        last = urllib.parse.parse_qs(
            urllib.parse.urlsplit(first["sent"][-1]).query)["p"][0]
        assert last.split(" ")[2] == "1", last
        assert reply_lines(first["received"][-1])
    assert first["stack"] == []
    assert p.sync()["text"] == long_text

    # Concurrent edits; the JSON-P one is long enough to be buffered too.
    insert = "Ein langer Absatz über 日本語, emoji 🎌 und cafe\u0301. " * 4
    j_text = long_text.replace("1. Grüße", "1. " + insert + "Grüße")
    p_text = long_text.replace("2. Grüße", "2. Hallo! Grüße")
    j.set(j_text)
    p.set(p_text)
    expected = j_text.replace("2. Grüße", "2. Hallo! Grüße")
    cycles = sync_all(j, p)
    assert len(cycles[0]["sent"]) > 1, cycles[0]["sent"]
    cycles += [j.sync(), p.sync()]
    assert_converged(expected, j, p)

    cycles += sync_all(j, p)
    assert_converged(expected, j, p)
    assert [server_resyncs(c) for c in [first] + cycles] == [[]] * (
        len(cycles) + 1)


def test_late_joiner_gets_the_text(diffsyncd, mobwrite_client):
    a = mobwrite_client(diffsyncd, "late")
    b = mobwrite_client(diffsyncd, "late", jsonp=True)
    a.set("first line 😀\n")
    a.sync()
    b.sync()
    b.set(b.text + "second line 二\n")
    b.sync()
    a.sync()
    assert_converged("first line 😀\nsecond line 二\n", a, b)

    c = mobwrite_client(diffsyncd, "late")
    joined = c.sync()
    assert joined["text"] == "first line 😀\nsecond line 二\n"
    assert server_resyncs(joined) == []
    # The newcomer's edit reaches the others like anyone's.
    c.set("zeroth line\n" + joined["text"])
    c.sync()
    a.sync()
    b.sync()
    assert_converged("zeroth line\nfirst line 😀\nsecond line 二\n", a, b, c)


def test_edits_made_while_the_server_is_down_arrive(diffsyncd,
                                                     mobwrite_client):
    a = mobwrite_client(diffsyncd, "durable")
    a.set("kept across restarts")
    a.sync()
    diffsyncd.restart()
    a.set("still kept across restarts")
    assert a.sync()["stack"] == []

    # A crash with the edit unsent: MobWrite's request fails, its watchdog
    # starts the next cycle, which sends the whole unacknowledged stack.
    diffsyncd.kill9()
    a.set("still kept across crashes and restarts")
    failed = a.sync(check=False)
    assert failed["error"] == "cycle failed", failed
    assert len(failed["stack"]) == 1
    a.set("still kept across crashes and restarts!")
    diffsyncd.start()
    resent = a.sync()
    request = urllib.parse.parse_qs(resent["sent"][0])["q"][0]
    assert [l[:4] for l in request.splitlines()] == [
        "u:" + a.user[:2], "F:2:", "d:2:", "d:3:", ""]
    assert resent["stack"] == []
    assert server_resyncs(resent) == []

    b = mobwrite_client(diffsyncd, "durable", jsonp=True)
    assert b.sync()["text"] == "still kept across crashes and restarts!"
