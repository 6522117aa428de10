"""Fixtures for the end-to-end tests: a real diffsyncd process per test.

`diffsyncd` is a server on a free loopback port with its own data directory;
`diffsyncd_factory(*args)` starts one with extra command-line options.
Both serve anonymous clients (--allow-anonymous, as on loopback); the access
control tests start theirs with `diffsyncd_factory(..., anonymous=False)`.
`mobwrite_client(server, doc, ...)` starts MobWrite's own JavaScript client
(mobwrite_client.js, needs `npm ci` in this directory) against a server.

The binary is $DIFFSYNCD, by default build/bin/diffsyncd in this repository.
The server says where it listens on its first stdout line; tests wait for
that line, never for a fixed time. A server still running at the end of a
test is stopped with SIGTERM and must exit with status 0.
"""

import itertools
import json
import os
import queue
import re
import select
import signal
import subprocess
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
START_TIMEOUT = 30
STOP_TIMEOUT = 30
_CLIENT_LOGS = itertools.count()
_LISTENING = re.compile(r"^diffsyncd listening on (http://[^/\s]+:(\d+)/)")


def diffsyncd_binary():
    return os.environ.get("DIFFSYNCD",
                          os.path.join(REPO, "build", "bin", "diffsyncd"))


class Diffsyncd:
    """One diffsyncd process over one data directory.

    start() listens on the port of the previous run (so clients keep their
    URL across restart() and kill9() + start()), or on a free one at first.
    """

    def __init__(self, binary, data_dir, args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.args = list(args)
        self.port = None
        self.url = None
        self.proc = None
        self.log_path = os.path.join(data_dir, "diffsyncd.log")

    def start(self):
        assert self.proc is None, "diffsyncd is already running"
        listen = "127.0.0.1:%d" % (self.port or 0)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "--listen", listen, "--data", self.data_dir] +
                self.args,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        finally:
            log.close()
        lines = queue.Queue()

        def drain(out):
            # Keeps reading so that later output never blocks the server.
            for raw in out:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)

        threading.Thread(target=drain, args=(self.proc.stdout,),
                         daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            first = None
        match = _LISTENING.match(first or "")
        if not match:
            self.kill9()
            pytest.fail("diffsyncd did not start (first line %r); log:\n%s" %
                        (first, self.log()))
        self.url = match.group(1)
        self.port = int(match.group(2))
        return self

    def stop(self):
        """SIGTERM; asserts a clean exit."""
        assert self.proc is not None, "diffsyncd is not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill9()
            pytest.fail("diffsyncd ignored SIGTERM; log:\n" + self.log())
        self.proc = None
        assert code == 0, "diffsyncd exited with %d; log:\n%s" % (code,
                                                                  self.log())

    def restart(self):
        self.stop()
        return self.start()

    def kill9(self):
        """SIGKILL: a crash, with requests possibly in flight."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.fixture
def diffsyncd_factory(tmp_path):
    binary = diffsyncd_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail("no diffsyncd binary at %s (build it, or set DIFFSYNCD)" %
                    binary)
    servers = []

    def start(*args, anonymous=True):
        data_dir = tmp_path / ("data%d" % len(servers))
        data_dir.mkdir()
        if anonymous:
            args = ("--allow-anonymous",) + args
        server = Diffsyncd(binary, str(data_dir), args)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        if server.proc is not None:
            server.stop()


@pytest.fixture
def diffsyncd(diffsyncd_factory):
    return diffsyncd_factory()


class MobWriteClient:
    """MobWrite's unmodified client in node, driven one command at a time.

    Each method returns the client's state after the command: a dict with
    text, shadow, clientVersion, serverVersion, deltaOk and stack.
    """

    TIMEOUT = 30

    def __init__(self, server, doc, jsonp=False, maxchars=None,
                 script_order=None):
        script = os.path.join(HERE, "mobwrite_client.js")
        if not os.path.isdir(os.path.join(HERE, "node_modules", "mobwrite")):
            pytest.fail("MobWrite's client is not installed: run `npm ci` in " +
                        HERE)
        argv = [os.environ.get("NODE", "node"), script, "--server", server.url,
                "--doc", doc]
        if jsonp:
            argv.append("--jsonp")
        if maxchars is not None:
            argv += ["--maxchars", str(maxchars)]
        if script_order is not None:
            argv += ["--script-order", script_order]
        self.name = "%s%s" % (doc, " (JSON-P)" if jsonp else "")
        self.log_path = os.path.join(server.data_dir, "mobwrite-%d.log" %
                                     next(_CLIENT_LOGS))
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log)
        finally:
            log.close()
        self._pending = b""
        ready = self._read()
        assert ready.get("ready"), ready
        self.user = ready["user"]

    def _read(self):
        deadline = time.monotonic() + self.TIMEOUT
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self.proc.stdout], [], [],
                                           max(left, 0))
            if not readable:
                pytest.fail("MobWrite client %s gave no answer in %ds; log:\n%s"
                            % (self.name, self.TIMEOUT, self.log()))
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                pytest.fail("MobWrite client %s exited (%s); log:\n%s" %
                            (self.name, self.proc.wait(), self.log()))
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def command(self, line, check=True):
        """Sends one command; fails the test if it fails, unless not
        `check` (then the answer has an "error" key)."""
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        self.proc.stdin.flush()
        answer = self._read()
        if check and "error" in answer:
            pytest.fail("MobWrite client %s: %s -> %s\nlog:\n%s" %
                        (self.name, line, json.dumps(answer, indent=1,
                                                     ensure_ascii=False),
                         self.log()))
        return answer

    def set(self, text):
        return self.command("set " + json.dumps(text))

    def sync(self, check=True):
        return self.command("sync", check)

    def state(self):
        return self.command("text")

    @property
    def text(self):
        return self.state()["text"]

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=self.TIMEOUT)
        self.proc.stdout.close()


@pytest.fixture
def mobwrite_client():
    clients = []

    def start(server, doc, jsonp=False, maxchars=None, script_order=None):
        client = MobWriteClient(server, doc, jsonp, maxchars, script_order)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()
