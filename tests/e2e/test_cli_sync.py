"""The diffsync CLI against a real diffsyncd: get, put and sync --once."""

import os
import subprocess

from dsclient import Client, http_sync

DIFFSYNC = os.environ.get(
    "DIFFSYNC",
    os.path.join(os.path.dirname(os.environ.get("DIFFSYNCD", "build/bin/diffsyncd")),
                 "diffsync"))


def cli(*args, stdin=None):
    return subprocess.run([DIFFSYNC, *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_put_then_get_round_trips_unicode(diffsyncd):
    text = "first line\nsecond 😀 字 é\n"
    put = cli("put", "--server", diffsyncd.url, "--doc", "cli doc", "-",
              stdin=text)
    assert put.returncode == 0, put.stderr
    got = cli("get", "--server", diffsyncd.url, "--doc", "cli doc")
    assert got.returncode == 0, got.stderr
    assert got.stdout == text
    # Another client sees it too, and a put reaches it as an edit.
    c = Client("reader", "cli doc")
    http_sync(diffsyncd.url, c)
    assert c.text == text
    assert cli("put", "--server", diffsyncd.url, "--doc", "cli doc", "-",
               stdin="replaced").returncode == 0
    http_sync(diffsyncd.url, c)
    assert c.text == "replaced"


def test_unreachable_server_and_bad_url_have_clear_exit_codes(diffsyncd):
    diffsyncd.stop()
    got = cli("get", "--server", diffsyncd.url, "--doc", "x", "--timeout", "2")
    assert got.returncode == 3
    assert "cannot reach" in got.stderr
    bad = cli("get", "--server", "ftp://example", "--doc", "x")
    assert bad.returncode == 2 and "http://" in bad.stderr
    diffsyncd.start()


def test_put_past_the_size_limit_is_refused(diffsyncd_factory):
    server = diffsyncd_factory("--max-document-units", "5")
    put = cli("put", "--server", server.url, "--doc", "small", "-",
              stdin="far too long")
    assert put.returncode == 2
    assert "too-large" in put.stderr
