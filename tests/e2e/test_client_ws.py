"""`diffsync sync` over the WebSocket against a real diffsyncd: pushes
arrive without polling, a restarted server is reconnected to, bad URLs and
unreachable servers are told clearly, --token is carried."""

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

from test_cli_sync import DIFFSYNC, cli, sync_once

WAIT = 60  # Seconds any single expectation may take before the test fails.
NO_POLLING = "3600"  # An --interval no test lives to see.


class SyncProcess:
    """A running `diffsync sync --events`; its JSON lines are read by a
    thread, so the test waits on them with a deadline, never a sleep."""

    def __init__(self, path, server_url, doc="pushed", interval=NO_POLLING):
        self.path = path
        self.proc = subprocess.Popen(
            [DIFFSYNC, "sync", str(path), "--server", server_url, "--doc", doc,
             "--events", "--interval", interval],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = queue.Queue()
        self.stderr = []
        self.stderr_grew = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read, args=(stream, is_events),
                             daemon=True)
            for stream, is_events in ((self.proc.stdout, True),
                                      (self.proc.stderr, False))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, is_events):
        for line in stream:
            if is_events:
                self.events.put(json.loads(line))
            else:
                with self.stderr_grew:
                    self.stderr.append(line)
                    self.stderr_grew.notify_all()
        if is_events:
            self.events.put(None)

    def wait_for(self, done, what):
        """Reads events until done(event) is true; returns that event."""
        deadline = time.monotonic() + WAIT
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0))
            except queue.Empty:
                event = None
            if event is None:
                pytest.fail("%s: no event for %s in %ds; events %s; stderr:\n%s"
                            % (self.path, what, WAIT, seen,
                               "".join(self.stderr)))
            seen.append(event)
            if done(event):
                return event

    def wait_for_told(self, text):
        """Waits until the process printed `text` to stderr. Its stderr is
        read by another thread than its events, so a line told before an
        event may still be on its way when the event is seen."""
        with self.stderr_grew:
            if not self.stderr_grew.wait_for(
                    lambda: text in "".join(self.stderr), timeout=WAIT):
                pytest.fail("%s: not told %r in %ds; stderr:\n%s"
                            % (self.path, text, WAIT, "".join(self.stderr)))

    def has_text(self, text):
        return self.path.exists() and self.path.read_text() == text

    def wait_for_text(self, text):
        """Waits until the file holds `text`; returns the event of the step
        that wrote it (None if it was there already)."""
        if self.has_text(text):
            return None
        return self.wait_for(lambda e: self.has_text(text), repr(text))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=WAIT)
        # Everything it printed is read once stop() returns.
        for reader in self.readers:
            reader.join(timeout=WAIT)
        assert code == 0, "".join(self.stderr)


@pytest.fixture
def sync_process():
    procs = []

    def start(*args, **kwargs):
        p = SyncProcess(*args, **kwargs)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


def test_an_edit_arrives_in_the_other_file_by_push(diffsyncd, tmp_path,
                                                   sync_process):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("first\n")
    assert sync_once(diffsyncd, a, "pushed").returncode == 0
    pa = sync_process(a, diffsyncd.url)
    pb = sync_process(b, diffsyncd.url)
    pa.wait_for(lambda e: e["online"], "a online")
    first = pb.wait_for(lambda e: pb.has_text("first\n"), "the first text")
    assert first["transport"] == "ws"
    # With polling an hour apart, only a push can bring the edit.
    a.write_text("first\nsecond\n")
    event = pb.wait_for_text("first\nsecond\n")
    assert event["push"] and event["file_written"], event
    # And back. a may be acknowledging the push it got for its own edit's
    # echo; then it ignores this push and fetches it (still no polling).
    b.write_text("zero\nfirst\nsecond\n")
    pa.wait_for_text("zero\nfirst\nsecond\n")
    pa.stop()
    pb.stop()


def test_a_restarted_server_is_reconnected_to_and_both_converge(
        diffsyncd, tmp_path, sync_process):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one\ntwo\n")
    assert sync_once(diffsyncd, a, "pushed").returncode == 0
    pa = sync_process(a, diffsyncd.url)
    pb = sync_process(b, diffsyncd.url)
    pa.wait_for(lambda e: e["online"], "a online")
    pb.wait_for_text("one\ntwo\n")
    diffsyncd.stop()
    pa.wait_for(lambda e: not e["online"], "a offline")
    pb.wait_for(lambda e: not e["online"], "b offline")
    # Edits while the server is down stay pending.
    a.write_text("one!\ntwo\n")
    b.write_text("one\ntwo\nthree\n")
    diffsyncd.start()
    pa.wait_for(lambda e: e["online"], "a back online")
    pb.wait_for(lambda e: e["online"], "b back online")
    both = "one!\ntwo\nthree\n"
    pa.wait_for_text(both)
    pb.wait_for_text(both)
    pa.wait_for_told("offline: connection to ws://127.0.0.1:%d/ws lost" %
                     diffsyncd.port)
    pa.wait_for_told("edits are kept, retrying")
    pa.wait_for_told("connected to ws://127.0.0.1:%d/ws again" % diffsyncd.port)
    pa.stop()
    pb.stop()
    got = cli("get", "--server", diffsyncd.url, "--doc", "pushed")
    assert got.stdout == both


def test_bad_server_urls_and_an_unreachable_server_are_told_clearly(
        diffsyncd, tmp_path, sync_process):
    f = tmp_path / "f.txt"
    f.write_text("mine\n")
    bad = cli("sync", str(f), "--server", "ftp://example", "--doc", "d")
    assert bad.returncode == 2
    assert "only http:// and ws:// are supported" in bad.stderr
    no_host = cli("sync", str(f), "--server", "ws://", "--doc", "d")
    assert no_host.returncode == 2 and "ws://" in no_host.stderr
    # Nothing listens there (the server was stopped): --once says so and
    # keeps the edit; a running sync says so once and keeps trying.
    diffsyncd.stop()
    down = cli("sync", str(f), "--server", diffsyncd.url, "--doc", "d",
               "--once", "--timeout", "2")
    assert down.returncode == 3, down.stderr
    assert "is unreachable (cannot reach ws://127.0.0.1:%d/ws" % (
        diffsyncd.port) in down.stderr
    assert "1 edit(s) kept" in down.stderr
    running = sync_process(f, diffsyncd.url, doc="d")
    running.wait_for(lambda e: not e["online"], "offline")
    running.wait_for(lambda e: not e["online"], "a second failed attempt")
    running.stop()
    told = [line for line in running.stderr if "offline:" in line]
    assert len(told) == 1, running.stderr
    assert "cannot reach ws://" in told[0] and "edits are kept" in told[0]
    diffsyncd.start()
    assert sync_once(diffsyncd, f, "d").returncode == 0
    got = cli("get", "--server", diffsyncd.url, "--doc", "d")
    assert got.stdout == "mine\n"


def test_ws_url_http_only_and_a_token_are_accepted(diffsyncd, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("via ws url\n")
    ws_url = "ws://127.0.0.1:%d/ws" % diffsyncd.port
    r = cli("sync", str(a), "--server", ws_url, "--doc", "t", "--once",
            "--token", "not-checked-yet")
    assert r.returncode == 0, r.stderr
    r = cli("sync", str(b), "--server", diffsyncd.url, "--doc", "t", "--once",
            "--transport", "http", "--token", "not-checked-yet")
    assert r.returncode == 0, r.stderr
    assert b.read_text() == "via ws url\n"
    bad = cli("sync", str(b), "--server", diffsyncd.url, "--doc", "t",
              "--once", "--token", "two\nlines")
    assert bad.returncode == 2 and "line break" in bad.stderr
    help_text = cli("sync", "--help").stdout
    assert "Access token (from `diffsync token`)" in help_text


def test_without_a_websocket_it_falls_back_to_polling_the_gateway(
        diffsyncd, tmp_path, sync_process):
    # diffsyncd declines a WebSocket anywhere but /ws, as a plain MobWrite
    # gateway would everywhere.
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("polled\n")
    assert sync_once(diffsyncd, a, "fallback").returncode == 0
    no_ws = "ws://127.0.0.1:%d/not-here" % diffsyncd.port
    pb = sync_process(b, no_ws, doc="fallback", interval="0.2")
    event = pb.wait_for(lambda e: pb.has_text("polled\n"), "the first text")
    assert event["transport"] == "http" and not event["push"], event
    pb.wait_for_told("no WebSocket at %s (the server declined)" % no_ws)
    pb.wait_for_told("using the HTTP gateway, polling")
    a.write_text("polled\nagain\n")
    assert sync_once(diffsyncd, a, "fallback").returncode == 0
    event = pb.wait_for_text("polled\nagain\n")
    assert event is None or event["transport"] == "http"
    pb.stop()
