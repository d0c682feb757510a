"""Marks in the chat where you read: the read marker, the outage line
after a reconnect, day lines and dated backlog."""
import os
import re
import signal
import sqlite3
import time

import tuiharness as h

READ = "-- read up to here --"


def chat(s):
    return s.chat_pane()


def row_of(rows, text):
    for i, r in enumerate(rows):
        if text in r:
            return i
    return -1


class Marks(h.TuiCase):
    def test_read_marker(self):
        a = self.login("alice")
        b = self.login("bob")
        b.line("before you left")
        a.wait_text("<bob> before you left")
        a.keys("M-0")
        a.wait(lambda s: not s.rows[0].startswith("#lobby"),
               "alice in the server window")
        b.line("while you were away")
        a.wait(lambda s: "#lobby(1)" in s.status_bar(), "activity in #lobby")
        a.keys("M-1")
        s = a.wait(lambda s: READ in s.text, "the read marker")
        rows = chat(s)
        self.assertLess(row_of(rows, "<bob> before you left"),
                        row_of(rows, READ), s.dump())
        self.assertLess(row_of(rows, READ),
                        row_of(rows, "<bob> while you were away"), s.dump())
        # Leaving and coming back with nothing new: no marker.
        a.keys("M-0")
        a.wait(lambda s: not s.rows[0].startswith("#lobby"), "away again")
        a.keys("M-1")
        s = a.wait(lambda s: s.rows[0].startswith("#lobby") and
                   "<bob> while you were away" in s.text, "back")
        a.wait(lambda s: READ not in s.text, "no marker without new lines")

    def test_outage_and_days(self):
        a = self.login("alice")
        b = self.login("bob")
        d = self.login("dave")
        b.line("old news")
        for t in (a, d):
            t.wait_text("<bob> old news")
        # Everyone was told of everyone before the outage (joins are told
        # coalesced, --coalesce-ms): whoever comes back is then a return.
        for t, n in ((a, "alice"), (b, "bob"), (d, "dave")):
            t.wait(lambda s: len(s.users()) == 3, n + " sees everyone")
        port = self.server.port
        self.assertEqual(self.server.stop(), 0)
        a.wait(lambda s: "reconnecting" in s.status_bar() or
               "connecting" in s.status_bar(), "alice reconnecting")
        # Move the stored history three days back.
        db = sqlite3.connect(self.server.db)
        ts = db.execute("SELECT max(ts) FROM history").fetchone()[0]
        day = 86400 * (1000 if ts > 10 ** 11 else 1)
        db.execute("UPDATE history SET ts = ts - ?", (3 * day,))
        db.commit()
        db.close()
        self.server = h.Server(self.tmp, port=port)
        s = a.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected |") and
            re.search(r"^\d\d:\d\d -- disconnected \d\d:\d\d, "
                      r"back \d\d:\d\d$", "\n".join(chat(s)), re.M),
            "the outage line in #lobby", timeout=45 * h.SCALE)
        # One outage line, below what was read before; and whoever comes
        # back after us is no news: no "joined" line below it for alice,
        # bob or dave (each saw the others come back, in some order).
        for t, n in ((b, "bob"), (d, "dave")):
            t.wait(lambda s, n=n: s.status_bar().startswith(
                "[%s@127.0.0.1] connected |" % n) and
                len(s.users()) == 3, n + " back with everyone",
                timeout=45 * h.SCALE)
        a.wait(lambda s: len(s.users()) == 3, "everyone back for alice")
        for t in (a, b, d):
            s = t.screen()
            rows = chat(s)
            out = row_of(rows, "-- disconnected ")
            self.assertGreater(out, row_of(rows, "<bob> old news"), s.dump())
            self.assertEqual(sum("-- disconnected " in r for r in rows), 1,
                             s.dump())
            self.assertEqual([r for r in rows[out:] if "joined #lobby" in r],
                             [], s.dump())
        # A new client gets the backlog from three days ago: a day line on
        # top, the date on each old line, and today's day line before the
        # first line of today.
        old = time.localtime(time.time() - 3 * 86400)
        today = time.localtime()
        dline = "-- %s %d %s --" % (time.strftime("%A", old), old.tm_mday,
                                    time.strftime("%B %Y", old))
        tline = "-- %s %d %s --" % (time.strftime("%A", today),
                                    today.tm_mday,
                                    time.strftime("%B %Y", today))
        c = self.login("carol")
        s = c.wait(lambda s: dline in s.text and "<bob> old news" in s.text,
                   "the day line over the old backlog")
        rows = chat(s)
        self.assertLess(row_of(rows, dline), row_of(rows, "<bob> old news"),
                        s.dump())
        self.assertRegex(rows[row_of(rows, "<bob> old news")],
                         r"^%02d %s \d\d:\d\d <bob> old news" %
                         (old.tm_mday, time.strftime("%b", old)), s.dump())
        b.line("new news")
        s = c.wait(lambda s: "<bob> new news" in s.text and tline in s.text,
                   "today's day line")
        rows = chat(s)
        self.assertLess(row_of(rows, "<bob> old news"), row_of(rows, tline),
                        s.dump())
        self.assertLess(row_of(rows, tline), row_of(rows, "<bob> new news"),
                        s.dump())
        self.assertRegex(rows[row_of(rows, "<bob> new news")],
                         r"^\d\d:\d\d <bob> new news", s.dump())

    def test_outages_in_a_row(self):
        # The tester's restarts came within a minute of each other: after
        # the second one, those online before it are returns too (the
        # picture taken before the first outage had been used up by the
        # returns after it, and was not taken again).
        ts = [(self.login(n), n) for n in ("alice", "bob", "carol")]
        for t, n in ts:
            t.wait(lambda s: len(s.users()) == 3, n + " sees everyone")
        port = self.server.port
        for outage in (1, 2):
            if outage == 1:
                self.server.proc.send_signal(signal.SIGTERM)
                self.server.proc.wait(15 * h.SCALE)
            else:
                self.server.proc.kill()
                self.server.proc.wait()
            self.server.stop()
            ts[0][0].wait(lambda s: "connecting" in s.status_bar(),
                          "alice reconnecting")
            self.server = h.Server(self.tmp, port=port)
            for t, n in ts:
                t.wait(lambda s, n=n: s.status_bar().startswith(
                    "[%s@127.0.0.1] connected |" % n) and
                    len(s.users()) == 3 and
                    sum("-- disconnected " in r for r in chat(s)) == outage,
                    "%s back with everyone after outage %d" % (n, outage),
                    timeout=45 * h.SCALE)
            # A line from each after the returns: any (coalesced) join
            # notice is on screen by the time all three are.
            for t, n in ts:
                t.line("%s back %d" % (n, outage))
            for t, n in ts:
                s = t.wait(lambda s: all("<%s> %s back %d" % (m, m, outage)
                                         in s.text for _, m in ts),
                           "%s sees everyone's line %d" % (n, outage))
                rows = chat(s)
                out = max(i for i, r in enumerate(rows)
                          if "-- disconnected " in r)
                self.assertEqual(
                    [r for r in rows[out:] if "joined #lobby" in r], [],
                    "%s after outage %d\n%s" % (n, outage, s.dump()))



if __name__ == "__main__":
    h.main()
