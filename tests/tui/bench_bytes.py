#!/usr/bin/env python3
"""bench_bytes.py: bytes parley writes to the terminal (a benchmark, not a
test: it prints figures and asserts nothing about them).

    python3 tests/tui/bench_bytes.py [--dump]   (PARLEY / PARLEYD from the
                        env, else build-tui, build-shots or build; --dump
                        also prints the bytes of the single-line cases)

The TUI runs at 80x24 in a private tmux server under `script -q -f`, which
copies every byte parley writes to the terminal into a typescript file. A
batch client (bob) sends the lines; the server's flood limit is lifted so
the 1000-message burst arrives as fast as the loop delivers it. Figures:
  - one incoming 40-character line, while the chat pane still has room
  - one incoming 40-character line when the chat pane is full (scrolls)
  - a burst of 1000 40-character lines: total bytes and bytes per message
For comparison (issue 4, measured at 80x24): irssi 1.4 writes 180 bytes
for one line, WeeChat 3.8 325; per message in a 1000-line burst WeeChat
writes 20 and irssi 157. The goal is at most about 3x the text (120 bytes).

Each measurement ends when the screen shows the last line and the
typescript has stopped growing (three polls 50 ms apart): the end of a
measurement is observed, not slept for.
"""
import os
import shlex
import sys
import tempfile
import time

import tuiharness as h

TEXT_LEN = 40
COLS, ROWS = 80, 24


def line_of(tag):
    """A 40-character message starting with tag."""
    s = (tag + " " + "abcdefghijklmnopqrstuvwxyz" * 2)[:TEXT_LEN]
    assert len(s) == TEXT_LEN
    return s


def settled(path, term, cond, what):
    """Waits for cond on the screen, then for the typescript to stop growing;
    returns its size."""
    term.wait(cond, what, timeout=60 * h.SCALE)
    sizes = []

    def stable():
        sizes.append(os.path.getsize(path))
        return len(sizes) >= 3 and sizes[-1] == sizes[-2] == sizes[-3]

    h.wait_until(stable, 10 * h.SCALE, "the typescript to stop growing")
    return sizes[-1]


def dump(path, start, end):
    """Prints the bytes written between two offsets of the typescript."""
    if "--dump" in sys.argv[1:]:
        with open(path, "rb") as f:
            f.seek(start)
            print("    " + repr(f.read(end - start)))


def main():
    h.need_tmux()
    if not h.shutil.which("script"):
        print("script (util-linux) not found: skipping")
        return h.SKIP
    tmp = tempfile.mkdtemp(prefix="parley-bench-")
    server = h.Server(tmp, extra=("--flood-rate", "1000000", "--flood-burst",
                                  "1000000", "--history", "10"))
    tmux = h.Tmux(tmp)
    bob = None
    try:
        alice = h.Term(tmux, "alice", COLS, ROWS)
        ts = os.path.join(tmp, "alice.typescript")
        inner = "%s --register alice@127.0.0.1:%d" % (shlex.quote(h.PARLEY),
                                                      server.port)
        alice.line("PARLEY_PASSWORD=%s script -q -f -c %s %s 2>%s" %
                   (h.PASSWORD, shlex.quote(inner), shlex.quote(ts),
                    shlex.quote(alice.stderr)))
        alice.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected"), "alice's login", timeout=30)
        bob = h.Batch("bob", server.port, tmp)
        bob.wait_event("history_end")
        base = settled(ts, alice, lambda s: "bob" in s.users() and
                       "bob joined" in s.text, "bob in the pane")
        print("parley at %dx%d, %s" % (COLS, ROWS, h.PARLEY))
        print("start-up and login screen: %d bytes" % base)

        # 1. One line into an empty chat pane.
        one = line_of("first")
        bob.send([one])
        n1 = settled(ts, alice, lambda s: one in s.text, "the first line")
        print("one incoming %d-char line (chat pane has room): %d bytes "
              "(%.1fx the text)" % (TEXT_LEN, n1 - base,
                                    (n1 - base) / TEXT_LEN))
        dump(ts, base, n1)

        # 2. Fill the chat pane, then one line that scrolls it.
        fill = [line_of("fill%02d" % i) for i in range(ROWS * 2)]
        bob.send(fill)
        n2 = settled(ts, alice, lambda s: fill[-1] in s.text, "the fill")
        two = line_of("scroll")
        bob.send([two])
        n3 = settled(ts, alice, lambda s: two in s.text, "the scrolling line")
        print("one incoming %d-char line (chat pane full, scrolls): %d bytes "
              "(%.1fx the text)" % (TEXT_LEN, n3 - n2, (n3 - n2) / TEXT_LEN))
        dump(ts, n2, n3)

        # 3. A burst of 1000 lines.
        burst = [line_of("b%04d" % i) for i in range(1000)]
        t0 = time.monotonic()
        bob.send(burst)
        n4 = settled(ts, alice, lambda s: burst[-1] in s.text, "the burst")
        dt = time.monotonic() - t0
        print("burst of 1000 %d-char lines: %d bytes, %.1f bytes per message "
              "(shown in %.2f s)" % (TEXT_LEN, n4 - n3, (n4 - n3) / 1000, dt))

        # 4. Realistic: varied text, and 20 users listed beside the chat,
        # so that no row of the pane is blank on the users' side.
        others = [h.Batch("user%02d" % i, server.port, tmp) for i in range(19)]
        try:
            for o in others:
                o.wait_event("history_end")
            words = ("deploy build green red review patch merge lunch "
                     "tests flaky server client resize pane burst").split()
            rnd = __import__("random").Random(3)

            def varied(i):
                t = "v%03d " % i
                while len(t) < TEXT_LEN:
                    t += rnd.choice(words) + " "
                return t[:TEXT_LEN]
            fill = [varied(i) for i in range(ROWS * 2)]
            bob.send(fill)
            settled(ts, alice, lambda s: fill[-1] in s.text and
                    "Users 21" in s.text, "the varied fill")
            n7 = os.path.getsize(ts)
            last = varied(999)
            bob.send([last])
            n8 = settled(ts, alice, lambda s: last in s.text, "a varied line")
            print("one incoming varied %d-char line, pane full, 20 users "
                  "listed: %d bytes (%.1fx the text)" %
                  (TEXT_LEN, n8 - n7, (n8 - n7) / TEXT_LEN))
            dump(ts, n7, n8)
        finally:
            for o in others:
                o.close()

        # 5. Idle: nothing should be written while nothing happens.
        n5 = settled(ts, alice, lambda s: True, "idle")
        idle_end = time.monotonic() + 2
        h.wait_until(lambda: time.monotonic() >= idle_end, 5, "2 s of idle")
        n6 = os.path.getsize(ts)
        print("idle for 2 s: %d bytes" % (n6 - n5))
        alice.line("/quit")
        alice.exit_status()
    finally:
        if bob:
            bob.close()
        tmux.kill()
        server.stop()
        h.shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
