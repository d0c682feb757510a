"""A client that stops reading is cut off alone; memory stays bounded."""
import os
import sys
import time
import unittest

from harness import Server, main

MIB = 1 << 20


def asan_env():
    # ASan keeps freed blocks in a quarantine (256 MiB by default), which
    # would show up in VmRSS as churn; a small quarantine keeps RSS honest.
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") +
            "quarantine_size_mb=16"}


class SlowReader(unittest.TestCase):
    def run_slow(self, *opts, cut_log, max_bytes=64 * MIB, max_seconds=60):
        """cut_log: a regex for how the "slow consumer" warning ends, for
        the limit the options make the server apply."""
        with Server("--max-msg-chars", 4000, "--flood-rate", 100000,
                    "--flood-burst", 100000, *opts, env=asan_env()) as srv:
            slow = srv.raw(rcvbuf=4096)
            slow.login("slowpoke", register=True)  # auto-joins #lobby
            slow_port = slow.sock.getsockname()[1]
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            a.expect({"event": "notice", "kind": "joined", "user": "bob"})
            base = srv.rss_kib()
            peak = base
            # 4000 characters of 3 bytes: ~12 KB per message.
            body = "日" * 3990
            sent = 0
            rnd = 0
            cut = False
            t0 = time.monotonic()
            while not cut:
                rnd += 1
                mark_a, mark_b = a.mark(), b.mark()
                lines = ["%05d%s" % (rnd * 100 + i, body)[:4000]
                         for i in range(40)]
                a.send_many(lines)
                sent += sum(len(l.encode()) for l in lines)
                # bob keeps receiving everything, in every round.
                b.expect({"event": "message", "from": "alice",
                          "text": lines[-1]}, since=mark_b, timeout=30)
                peak = max(peak, srv.rss_kib())
                cut = a.count({"event": "notice", "kind": "quit",
                               "user": "slowpoke"}) > 0
                self.assertLess(peak - base, 64 * 1024,
                                "server RSS grew by %d KiB" % (peak - base))
                if not cut and (sent > max_bytes or
                                time.monotonic() - t0 > max_seconds):
                    self.fail("slow reader not cut off after %d MiB / %.0f s"
                              " (rss +%d KiB)" % (sent // MIB,
                                                  time.monotonic() - t0,
                                                  peak - base))
                # Drop the bulk of the events we no longer need.
                with a.cond:
                    for i in range(mark_a, len(a.events)):
                        if a.events[i].get("event") == "message":
                            a.events[i] = {"event": "dropped"}
                with b.cond:
                    for i in range(mark_b, len(b.events)):
                        if b.events[i].get("event") == "message":
                            b.events[i] = {"event": "dropped"}
            sys.stderr.write("slow reader cut after %.1f MiB sent in %d rounds"
                             " (%.1f s); server RSS %d KiB -> peak %d KiB\n"
                             % (sent / MIB, rnd, time.monotonic() - t0, base,
                                peak))
            # The slow connection is closed: draining it reaches EOF.
            slow.read_until_closed(timeout=30)
            slow.close()
            # The others are fine after the cut.
            a.send("after the cut")
            b.expect({"event": "message", "text": "after the cut"})
            m = b.mark()
            b.send("/who")
            ev = b.expect({"event": "users"}, since=m)
            self.assertNotIn("slowpoke", [u["user"] for u in ev["users"]
                                          if u["status"] != "offline"])
            self.assertLess(srv.rss_kib() - base, 64 * 1024)
            # The cut is logged: one warning naming the slow connection.
            srv.err.wait_for(r" WARN +127\.0\.0\.1:%d slow consumer: \d+ bytes "
                             r"queued %s; disconnected$" % (slow_port, cut_log),
                             timeout=5)
            a.quit(0)
            b.quit(0)
            srv.stop()
            return sent

    def test_hard_limit(self):
        self.run_slow("--outbuf-hard", 1 * MIB, "--outbuf-soft", 4 * MIB,
                      "--outbuf-soft-seconds", 60,
                      cut_log=r"\(hard limit\)")

    def test_soft_limit_over_time(self):
        # Hard limit far away; over the soft limit for 1 s is enough.
        # Over for 1 s is noticed when more output is queued (conn_queued)
        # or by the 1 s tick, whichever comes first.
        self.run_slow("--outbuf-hard", 48 * MIB, "--outbuf-soft", 128 * 1024,
                      "--outbuf-soft-seconds", 1,
                      cut_log=r"(\(soft limit\)|for over 1 s)")


if __name__ == "__main__":
    main()
