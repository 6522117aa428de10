"""The browser editor in real headless Chromium (browser/scenarios.mjs,
driven by playwright-core from web/node_modules) against a diffsyncd this
test starts: two users typing at once, cursor stability, offline editing,
a WebSocket that never opens (the automatic HTTP fallback), a reload with
unacknowledged edits, two tabs on one document, a conflict told to the
user. Screenshots of the two-user case go to
<build>/browser-artifacts/ (the build directory of $DIFFSYNCD)."""

import os
import shutil
import subprocess

import pytest

from conftest import REPO, diffsyncd_binary

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "browser", "scenarios.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT = 120


def artifact_dir():
    build = os.path.dirname(os.path.dirname(os.path.abspath(
        diffsyncd_binary())))
    return os.path.join(build, "browser-artifacts")


@pytest.mark.parametrize("scenario", ["two-users", "cursor", "offline",
                                      "fallback", "reload", "tabs",
                                      "conflict"])
def test_browser(diffsyncd, scenario):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("no Chromium at %s (scripts/deps.sh installs it)" % CHROMIUM)
    if not os.path.isdir(os.path.join(REPO, "web", "node_modules",
                                      "playwright-core")):
        pytest.fail("playwright-core is not installed: build the web target "
                    "(npm ci in web/)")
    argv = [os.environ.get("NODE", shutil.which("node") or "node"), SCENARIOS,
            scenario, diffsyncd.url, artifact_dir()]
    try:
        run = subprocess.run(argv, capture_output=True, text=True,
                             timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s: no result in %ds\n%s\n%s\nserver log:\n%s" %
                    (scenario, TIMEOUT, e.stdout, e.stderr, diffsyncd.log()))
    assert run.returncode == 0, "%s:\n%s\n%s\nserver log:\n%s" % (
        scenario, run.stdout, run.stderr, diffsyncd.log()[-4000:])
