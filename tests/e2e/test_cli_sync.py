"""The diffsync CLI against a real diffsyncd: get, put and sync --once."""

import os
import subprocess
import threading

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


def sync_once(server, path, doc="shared file"):
    return cli("sync", str(path), "--server", server.url, "--doc", doc,
               "--once", "--timeout", "5")


def test_two_files_on_one_document_converge(diffsyncd, tmp_path):
    a, b = tmp_path / "a" / "notes.txt", tmp_path / "b" / "notes.txt"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text("The quick brown fox\njumps over the lazy dog\n")
    r = sync_once(diffsyncd, a)
    assert r.returncode == 0, r.stderr
    r = sync_once(diffsyncd, b)  # b does not exist yet: it is created.
    assert r.returncode == 0, r.stderr
    assert b.read_text() == a.read_text()
    a.write_text("The quick brown fox 🦊\njumps over the lazy dog\n")
    assert sync_once(diffsyncd, a).returncode == 0
    assert sync_once(diffsyncd, b).returncode == 0
    assert b.read_text() == "The quick brown fox 🦊\njumps over the lazy dog\n"


def test_offline_edits_on_both_sides_merge_across_restarts(diffsyncd, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one\ntwo\nthree\n")
    assert sync_once(diffsyncd, a).returncode == 0
    assert sync_once(diffsyncd, b).returncode == 0
    diffsyncd.stop()
    # Both edit while the server is down; each sync fails and keeps the edit
    # (every `sync --once` is a new process: the state file carries it).
    a.write_text("one!\ntwo\nthree\n")
    b.write_text("one\ntwo\nthree, four\n")
    for path in (a, b):
        r = sync_once(diffsyncd, path)
        assert r.returncode == 3, r.stderr
        assert "edit(s) kept" in r.stderr
    diffsyncd.start()
    for path in (a, b, a):
        r = sync_once(diffsyncd, path)
        assert r.returncode == 0, r.stderr
    assert a.read_text() == "one!\ntwo\nthree, four\n"
    assert b.read_text() == a.read_text()


def test_competing_offline_edits_follow_the_rule_and_the_loser_is_told(
        diffsyncd, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("colour: red\n")
    assert sync_once(diffsyncd, a).returncode == 0
    assert sync_once(diffsyncd, b).returncode == 0
    diffsyncd.stop()
    a.write_text("colour: green\n")
    b.write_text("colour: blue\n")
    assert sync_once(diffsyncd, a).returncode == 3
    assert sync_once(diffsyncd, b).returncode == 3
    diffsyncd.start()
    first = sync_once(diffsyncd, a)  # First to reach the server wins.
    second = sync_once(diffsyncd, b)
    assert first.returncode == 0 and second.returncode == 0
    assert "lost to another client's edit" in second.stderr
    assert sync_once(diffsyncd, a).returncode == 0
    assert a.read_text() == b.read_text() == "colour: green\n"


def test_a_deleted_file_is_refused_and_nothing_is_lost(diffsyncd, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("keep me\n")
    assert sync_once(diffsyncd, a).returncode == 0
    a.unlink()
    r = sync_once(diffsyncd, a)
    assert r.returncode == 2 and "was deleted" in r.stderr
    got = cli("get", "--server", diffsyncd.url, "--doc", "shared file")
    assert got.stdout == "keep me\n"
    a.write_text("keep me\n")
    assert sync_once(diffsyncd, a).returncode == 0


def test_a_file_that_cannot_be_read_is_refused_and_nothing_is_sent(
        diffsyncd, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("keep me\n")
    assert sync_once(diffsyncd, a).returncode == 0
    a.unlink()
    a.mkdir()
    r = sync_once(diffsyncd, a)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr
    b = tmp_path / "b.txt"
    b.write_bytes(b"half \xff a character\n")
    r = sync_once(diffsyncd, b)
    assert r.returncode == 2 and "invalid UTF-8" in r.stderr, r.stderr
    got = cli("get", "--server", diffsyncd.url, "--doc", "shared file")
    assert got.stdout == "keep me\n"


def test_two_running_sync_processes_carry_an_edit_across(diffsyncd, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("start\n")
    assert sync_once(diffsyncd, a).returncode == 0
    procs = [subprocess.Popen(
        [DIFFSYNC, "sync", str(p), "--server", diffsyncd.url, "--doc",
         "shared file", "--interval", "0.1", "--events"],
        stdout=subprocess.PIPE, text=True) for p in (a, b)]
    try:
        def wait_for(proc, path, text):
            # Each step prints a line; read until the file holds `text`. A
            # stuck process is killed, which ends the loop and fails.
            guard = threading.Timer(60, proc.kill)
            guard.start()
            try:
                for line in proc.stdout:
                    assert '"online":true' in line, line
                    if path.exists() and path.read_text() == text:
                        return
            finally:
                guard.cancel()
            raise AssertionError("sync process ended before %r" % text)

        wait_for(procs[1], b, "start\n")
        a.write_text("start\nfrom a\n")  # A save the watcher sees.
        wait_for(procs[1], b, "start\nfrom a\n")
        b.write_text("from b\nstart\nfrom a\n")
        wait_for(procs[0], a, "from b\nstart\nfrom a\n")
    finally:
        for proc in procs:
            proc.terminate()
            assert proc.wait(timeout=10) == 0


def test_sync_with_a_wrong_token_says_so_and_loses_nothing(diffsyncd_factory,
                                                          tmp_path):
    secret, other = tmp_path / "secret", tmp_path / "other"
    secret.write_text("the server's secret, long enough\n")
    other.write_text("someone else's secret, as long\n")
    server = diffsyncd_factory("--secret-file", str(secret), anonymous=False)

    def token(secret_file, right="read-write"):
        r = cli("token", "--secret-file", str(secret_file), "--doc",
                "shared file", "--right", right)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    a = tmp_path / "a.txt"
    a.write_text("written offline\n")
    wrong = token(other)
    for transport in ("auto", "http"):
        r = cli("sync", str(a), "--server", server.url, "--doc", "shared file",
                "--once", "--timeout", "5", "--token", wrong,
                "--transport", transport)
        assert r.returncode == 4, (transport, r.stderr)
        assert "the server refused the token" in r.stderr
        assert "bad signature" in r.stderr
        assert "local edit(s) kept" in r.stderr
        assert a.read_text() == "written offline\n"
    good = token(secret)
    r = cli("sync", str(a), "--server", server.url, "--doc", "shared file",
            "--once", "--timeout", "5", "--token", good)
    assert r.returncode == 0, r.stderr
    got = cli("get", "--server", server.url, "--doc", "shared file",
              "--token", good)
    assert got.stdout == "written offline\n"
