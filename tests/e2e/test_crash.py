"""Crash test: clients sync continuously while diffsyncd is killed with
SIGKILL at random moments and restarted on the same data. Every edit must
end up in the document exactly once, and every client must converge without
a full resync (views are durable, so a restart is invisible to clients).

Seeded: DIFFSYNC_SEED picks the kill schedule and the edits (printed).
DIFFSYNC_CRASH_ROUNDS sets how many kills (default 20; the soak run uses more).
"""

import os
import random
import threading

from dsclient import Client, http_sync

CLIENTS = 3


def tokens_of(text):
    return [t for t in text.split("|") if t]


def test_kill_9_loses_nothing_acknowledged(diffsyncd):
    seed = int(os.environ.get("DIFFSYNC_SEED", random.SystemRandom().randrange(1 << 30)))
    rounds = int(os.environ.get("DIFFSYNC_CRASH_ROUNDS", "20"))
    print("DIFFSYNC_SEED=%d rounds=%d" % (seed, rounds))
    rng = random.Random(seed)

    cond = threading.Condition()
    state = {"answered": 0, "failed": [0] * CLIENTS, "stop": False}
    created = [[] for _ in range(CLIENTS)]
    acked = set()  # Tokens whose edit the server acknowledged.
    clients = [Client("crash-%d" % i, "crash doc") for i in range(CLIENTS)]
    rngs = [random.Random(rng.randrange(1 << 30)) for _ in range(CLIENTS)]
    errors = []

    def edit(i):
        c = clients[i]
        token = "c%d-%d" % (i, len(created[i]))
        created[i].append(token)
        # Insert between tokens, so tokens stay whole whatever merges.
        cuts = [0] + [k + 1 for k, ch in enumerate(c.text) if ch == "|"]
        c.insert(rngs[i].choice(cuts), token + "|")

    def run(i):
        c = clients[i]
        try:
            while True:
                with cond:
                    if state["stop"]:
                        return
                edit(i)
                try:
                    http_sync(diffsyncd.url, c, timeout=30)
                except OSError:
                    with cond:
                        state["failed"][i] += 1
                        cond.notify_all()
                        if state["failed"][i] >= 2:
                            # Two offline edits made: wait for the restart.
                            cond.wait_for(lambda: state["stop"] or
                                          state["failed"][i] == 0)
                    continue
                with cond:
                    if not c.stack:
                        acked.update(created[i])
                    state["answered"] += 1
                    cond.notify_all()
        except Exception as e:  # Reported by the main thread.
            errors.append(repr(e))
            with cond:
                state["stop"] = True
                cond.notify_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        for _ in range(rounds):
            with cond:
                target = state["answered"] + rng.randrange(5, 40)
                cond.wait_for(lambda: state["stop"] or
                              state["answered"] >= target)
            diffsyncd.kill9()  # Requests are in flight right now.
            with cond:
                # Each client notices and makes offline edits.
                cond.wait_for(lambda: state["stop"] or
                              all(f >= 2 for f in state["failed"]))
            diffsyncd.start()
            with cond:
                state["failed"] = [0] * CLIENTS
                cond.notify_all()
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
        for t in threads:
            t.join()
    assert errors == [], errors

    # Quiesce: cycle every client until none has anything left to send and
    # all agree.
    for _ in range(10):
        for c in clients:
            http_sync(diffsyncd.url, c)
        if (all(not c.stack for c in clients) and
                len({c.text for c in clients}) == 1):
            break
    texts = {c.text for c in clients}
    assert len(texts) == 1, texts
    final = tokens_of(texts.pop())
    every = [t for per in created for t in per]
    assert sorted(final) == sorted(every), (
        "missing %s, duplicated %s" % (
            set(every) - set(final),
            {t for t in final if final.count(t) > 1}))
    assert acked <= set(final)
    assert all(c.resyncs == 0 for c in clients), [c.resyncs for c in clients]
    print("%d kills, %d answered requests, %d edits (%d acknowledged before "
          "the end), all present once" % (rounds, state["answered"],
                                          len(every), len(acked)))
