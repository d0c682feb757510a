"""A large room shows joins and leaves as a periodic summary line, a small
room one line each; /joins lists what the next summary will say; /who of
many users comes in columns fitted to the chat pane."""
import re

import tuiharness as h

TS = r"\d\d:\d\d "


class Summary(h.TuiCase):
    def chat(self, s):
        return "\n".join(s.chat_pane())

    def test_summary_line_in_large_room(self):
        # Rooms above 3 members: #big is small (alice, b1, b2: one line
        # each) until b3 makes it 4.
        a = self.login("alice", args="--join-summary-above 3 "
                                     "--join-summary-every 6")
        a.line("/join #big")
        a.wait(lambda s: s.rows[0].startswith("#big [1]"), "#big joined")
        bots = {}
        for n in ("b1", "b2"):
            bots[n] = self.batch(n)
            bots[n].send(["/join #big"])
        a.wait(lambda s: re.search(r"^" + TS + r"-- b1 joined #big$",
                                   self.chat(s), re.M) and
               re.search(r"^" + TS + r"-- b2 joined #big$", self.chat(s),
                         re.M), "one line per join in a small room")
        late = ("b3", "b4", "b5", "b6")
        for n in late:
            bots[n] = self.batch(n)
        for n in late:
            bots[n].send(["/join #big"])
        # A few names, then the count.
        s = a.wait(lambda s: re.search(
            r"^" + TS + r"-- 4 joined \(b[3-6], b[3-6], b[3-6], …\) --$",
            self.chat(s), re.M), "the summary of four joins")
        self.assertTrue(s.rows[0].startswith("#big [7]"), s.dump())
        for n in late:
            self.assertNotIn("%s joined" % n, s.text, s.dump())

        # A leave waits for the next summary; /joins shows it at once (the
        # period, 6 s, leaves the test time to type it).
        bots["b2"].send(["/part #big"])
        a.wait(lambda s: s.rows[0].startswith("#big [6]"), "b2 gone")
        a.line("/joins")
        s = a.wait(lambda s: "left: b2" in s.text, "/joins lists b2")
        self.assertIn("#big: waiting for the next summary: 0 joined, 1 left",
                      s.text, s.dump())
        s = a.wait(lambda s: re.search(r"^" + TS + r"-- 1 left \(b2\) --$",
                                       self.chat(s), re.M),
                   "the summary of one leave")
        self.assertNotIn("b2 left", s.text, s.dump())
        # Quits count as leaves.
        for n in ("b3", "b4"):
            bots[n].send(["/quit"])
        s = a.wait(lambda s: re.search(
            r"^" + TS + r"-- 2 left \((b3, b4|b4, b3)\) --$",
            self.chat(s), re.M), "the summary of two quits")
        self.assertTrue(s.rows[0].startswith("#big [4]"), s.dump())
        self.assertNotIn("quit", self.chat(s), s.dump())
        self.layout_ok(a, "alice", title="#big")

    def who_rows(self, s):
        """The /who rows of cells on screen, as lists of (mark, name)."""
        rows = []
        for r in s.chat_pane():
            r = r.rstrip()
            m = re.match(r"^" + TS + r"== ((\[[ @!-][\w.-]+ *\] ?)+)$", r)
            if m:
                rows.append(re.findall(r"\[([ @!-])([\w.-]+) *\]",
                                       m.group(1)))
        return rows

    def test_who_in_columns(self):
        a = self.login("alice", args="--join-summary-above 3")
        bots = [self.batch(n) for n in ("b1", "b2", "b3", "b4")]
        a.wait(lambda s: "b4" in s.users(), "b4 online")
        bots[0].send(["/away lunch"])
        a.line("/who")
        s = a.wait(lambda s: len(self.who_rows(s)) >= 1, "/who in columns")
        self.assertIn("5 users online (@ operator, - away, ! busy)", s.text,
                      s.dump())
        # Wide: all five on one row, in name order, b1 marked away.
        self.assertEqual(self.who_rows(s), [[(" ", "alice"), ("-", "b1"),
                                             (" ", "b2"), (" ", "b3"),
                                             (" ", "b4")]], s.dump())
        # Narrow: fewer per row, none wrapped, everyone once.
        # (In a fresh window: the wide row above would wrap.)
        a.resize(48, 30)
        a.line("/join #narrow")
        a.wait(lambda s: s.rows[0].startswith("#narrow"), "#narrow")
        a.line("/who")

        def narrow(s):
            rows = self.who_rows(s)
            return len(rows) >= 2 and \
                sum(len(r) for r in rows) == 5 and rows
        s = a.wait(narrow, "/who in narrower columns")
        rows = self.who_rows(s)
        self.assertEqual(sorted(n for r in rows for _, n in r),
                         ["alice", "b1", "b2", "b3", "b4"], s.dump())
        # Every row whole (a wrapped one would not match): all five seen.
        self.assertTrue(all(len(r) == len(rows[0]) for r in rows[:-1]),
                        s.dump())


if __name__ == "__main__":
    h.main()
