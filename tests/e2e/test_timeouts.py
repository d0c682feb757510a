"""Time-based limits: a silent connection is dropped (HELLO timeout); a
reader that falls behind only briefly is not cut by the soft limit."""
import time
import unittest

from harness import E, Server, encode, main, wait_until


class Timeouts(unittest.TestCase):
    def test_silent_connection_dropped(self):
        # A connection that never says HELLO must not hold a slot forever
        # (parleyd: 10 s). With --max-clients 1 the slot comes back.
        with Server("--max-clients", 1) as srv:
            silent = srv.raw()
            t0 = time.monotonic()
            frames = silent.read_until_closed(timeout=20)
            took = time.monotonic() - t0
            errs = [f for f in frames if f["type"] == "ERROR"]
            self.assertTrue(errs and errs[-1]["code"] == E["TIMEOUT"], frames)
            self.assertLess(took, 20)
            silent.close()
            c = srv.client("alice", register=True)
            c.quit(0)
            srv.stop()

    def test_brief_soft_overrun_tolerated(self):
        # Over the soft limit for less than --outbuf-soft-seconds, then
        # drained: the reader stays connected, twice in a row.
        with Server("--outbuf-soft", 64 * 1024, "--outbuf-soft-seconds", 2,
                    "--outbuf-hard", 64 << 20, "--max-msg-chars", 4000,
                    "--flood-rate", 100000, "--flood-burst", 100000) as srv:
            reader = srv.raw(rcvbuf=4096)
            reader.login("reader", register=True)
            with srv.raw() as talker:
                talker.login("talker", register=True)
                for burst in range(2):
                    t0 = time.monotonic()
                    data = b"".join(
                        encode("SAY", kind=0, target="#lobby", flags=0,
                               text="%d-%03d %s" % (burst, i, "w" * 3900))
                        for i in range(60))  # ~240 KB: 4x the soft limit
                    talker.send(data)
                    last = "%d-059 " % burst
                    while True:
                        f = reader.read_frame(timeout=10)
                        if f["type"] == "MSG" and f["text"].startswith(last):
                            break
                    self.assertLess(time.monotonic() - t0, 2,
                                    "too slow to test the soft window")
                    reader.send_frame("PING", token=burst)
                    f = reader.expect("PONG")
                    self.assertEqual(f["token"], burst)
                    # Let the soft window pass before the next burst: an
                    # overrun must be timed from when it starts, not from
                    # the first one ever.
                    if burst == 0:
                        end = time.monotonic() + 2.5

                        def window_passed():
                            reader.send_frame("PING", token=7)
                            reader.expect("PONG")  # still connected
                            return time.monotonic() > end
                        wait_until(window_passed, 10, "2.5 s to pass")
            reader.close()
            srv.stop()


if __name__ == "__main__":
    main()
