"""The log cannot be used to fill the disk: repeats from one call site are
limited (a burst of 50, then 2 a second) and summarised as
"server full: N more in the last S s" (issue: hardening, log flood)."""
import re
import socket
import unittest

from harness import T_EVENT, Server, encode, main

BURST = 50


class LogFlood(unittest.TestCase):
    def test_server_full_flood_is_summarised(self):
        with Server("--max-clients", "1") as srv:
            with srv.raw() as hold:
                # The one slot of --max-clients is a logged-in user's: a
                # connection that has not logged in holds none.
                hold.login("hold", register=True)
                refused = 400
                for _ in range(refused):
                    s = socket.create_connection(("127.0.0.1", srv.port),
                                                 timeout=T_EVENT)
                    # A TLS server says a refusal once it knows what the
                    # client speaks: a plain HELLO is the cheapest first
                    # word (it is refused before TLS_REQUIRED matters).
                    s.sendall(encode("HELLO", version=2, agent="flood"))
                    while s.recv(4096):  # ERROR SERVER_FULL, then EOF
                        pass
                    s.close()
                # Every refusal is accounted for: written lines plus the
                # summaries' counts add up to exactly the attempts.
                total, start = 0, 0
                while total < refused:
                    i, m = srv.err.wait_for(
                        r"server full(?: \(1 clients\)$|: ([\d,]+) more in "
                        r"the last (\d+) s)", start=start,
                        timeout=T_EVENT + 15)
                    total += int(m.group(1).replace(",", "")) \
                        if m.group(1) else 1
                    start = i + 1
                self.assertEqual(total, refused)
                lines = [l for l in srv.err.lines
                         if re.search(r"server full \(1 clients\)$", l)]
                # The burst, plus what the 2/s refill allowed meanwhile.
                self.assertGreaterEqual(len(lines), BURST)
                self.assertLess(len(lines), refused // 2, "repeats are not "
                                "limited: %d lines for %d refusals" %
                                (len(lines), refused))
                summary = [l for l in srv.err.lines
                           if "server full: " in l and "more in the last" in l]
                self.assertTrue(summary)
                self.assertRegex(summary[0], r"WARN .*server full: [\d,]+ "
                                 r"more in the last \d+ s")
            srv.stop()


if __name__ == "__main__":
    main()
