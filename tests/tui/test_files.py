"""Real file transfers in the TUI: the offer line in the chat and the
transfers pane's bar moving (issue 10). The far side is made of raw frames
(tests/e2e/harness.py) so that the transfer moves at the pace the test
reads it."""
import os
import re
import sys
import time

import tuiharness as h

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from harness import RawConn  # noqa: E402

MB = 1 << 20


class Files(h.TuiCase):
    def test_offer_line_and_bar_moving(self):
        a = self.login("alice", cmd_env="XDG_STATE_HOME=" + os.path.join(
            self.tmp, "state-alice"))
        raw = RawConn(self.server.port, tls=self.server.tls)
        raw.login("bob", register=True)
        # bob offers alice a file: the line says how to answer.
        raw.send_frame("FILE_OFFER", offer_id=5, peer="alice",
                       name="report.pdf", size=12_900_000, sha256=bytes(32))
        a.wait(lambda s: re.search(
            r"bob offers report\.pdf \(12\.3 MiB\): /accept 1 or /reject 1",
            s.text), "the offer line")
        # The pane names the states: offered, then rejected; the
        # finished row lingers a few seconds, then leaves the pane.
        def row(s, name):
            return next((r for r in s.rows if r.startswith(name)), None)

        a.wait(lambda s: re.search(r"from bob +\[\.+\] +0% .* offered$",
                                   row(s, "report.pdf") or ""),
               "an offered row")
        a.line("/reject 1")
        raw.expect("FILE_REJECT", offer_id=5)
        a.wait(lambda s: re.search(r" rejected$", row(s, "report.pdf") or ""),
               "a rejected row")
        t0 = time.monotonic()
        a.wait(lambda s: row(s, "report.pdf") is None
               and "Transfers" not in s.text, "the rejected row leaving")
        self.assertGreater(time.monotonic() - t0, 2, "it lingered first")
        # /transfers lists it as local output (==), not a message from "".
        a.line("/transfers")
        s = a.wait(lambda s: re.search(r" 1 from bob report\.pdf rejected ",
                                       s.text), "the /transfers row")
        self.assertRegex(s.text, r"== +1 from bob report\.pdf rejected ",
                         s.dump())
        self.assertNotIn("<>", s.text, s.dump())

        # alice sends bob 64 MiB; bob reads it slowly on a small window.
        src = os.path.join(self.tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(MB) * 64)
        a.line("/send bob " + src)
        o = raw.expect("FILE_OFFER")
        raw.send_frame("FILE_ACCEPT", offer_id=o["offer_id"], peer="alice",
                       offset=0)
        hint = raw.expect("FILE_HINT")
        d = RawConn(hint["port"], rcvbuf=65536, tls=self.server.tls)
        d.send_frame("FILE_CONNECT", offer_id=o["offer_id"], side=1,
                     token=hint["token"])
        self.assertEqual(d.read_frame()["type"], "FILE_CONNECT")
        d.send_frame("FILE_ACK", xfer_id=o["offer_id"], offset=0)

        def pct(s):
            row = next((r for r in s.rows if r.startswith("big.bin")), None)
            m = row and re.search(r"to bob +\[[#.]+\] +(\d+)%", row)
            return int(m.group(1)) if m else None

        got = 0

        def read(n):
            nonlocal got
            while got < n:
                f = d.read_frame()
                if f["type"] == "FILE_DATA":
                    got += len(f["data"])

        read(8 * MB)
        s = a.wait(lambda s: pct(s) is not None and 0 < pct(s) < 100,
                   "the bar partly filled")
        first = pct(s)
        read(40 * MB)
        s = a.wait(lambda s: pct(s) is not None and pct(s) > first,
                   "the bar moving on (from %d%%)" % first)
        # The row names the data path the transfer took.
        self.assertRegex(row(s, "big.bin"), r" direct active$", s.dump())
        d.close()
        raw.close()


if __name__ == "__main__":
    h.main()
