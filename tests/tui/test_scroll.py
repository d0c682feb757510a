"""The chat pane scrolling beside a full users pane (the TUI scrolls the
terminal rows itself, ui/tui.c tui_scroll_ahead): after every incoming line
the whole screen must be exactly what it should be, and identical to what a
forced full repaint (Ctrl-L) draws, on TERM=screen-256color, xterm and linux.
"""
import random
import re
import unittest

import tuiharness as h

COLS, ROWS = 80, 24
N_OTHERS = 19  # plus bob and alice: 21 users, the pane overflows ("+N more")
WORDS = ("deploy build green red review patch merge lunch tests flaky server "
         "client resize pane burst").split()
LINE_RX = re.compile(r"^\d\d:\d\d <bob> (.*)$")
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(esc_rows):
    """The rows of a capture-pane -e screen as lists of (character,
    attributes) cells, without the blank cells at the end of a row (tmux
    writes the attribute codes relative to the previous cell, even across
    rows, and how it ends a row depends on how its blanks were made, which
    the eye cannot see: only what the cells hold is compared)."""
    attrs = {}
    out = []
    for row in esc_rows:
        line = []
        pos = 0
        while pos < len(row):
            m = SGR.match(row, pos)
            if m:
                ps = [int(x or 0) for x in m.group(1).split(";")]
                i = 0
                while i < len(ps):
                    p = ps[i]
                    if p == 0:
                        attrs = {}
                    elif p in (38, 48):  # 38;5;N or 38;2;R;G;B
                        n = 3 if ps[i + 1:i + 2] == [5] else 5
                        attrs["fg" if p == 38 else "bg"] = tuple(ps[i:i + n])
                        i += n - 1
                    elif 30 <= p <= 37 or 90 <= p <= 97:
                        attrs["fg"] = p
                    elif p == 39:
                        attrs.pop("fg", None)
                    elif 40 <= p <= 47 or 100 <= p <= 107:
                        attrs["bg"] = p
                    elif p == 49:
                        attrs.pop("bg", None)
                    elif p == 22:
                        attrs.pop(1, None)
                        attrs.pop(2, None)
                    elif 23 <= p <= 29:
                        attrs.pop(p - 20, None)
                    else:
                        attrs[p] = True
                    i += 1
                pos = m.end()
                continue
            line.append((row[pos], tuple(sorted(attrs.items(), key=str))))
            pos += 1
        while line and line[-1][0] == " " and not any(
                k in ("bg", 7) for k, _ in line[-1][1]):
            line.pop()
        out.append(line)
    return out


class Scroll(h.TuiCase):
    server_args = ("--flood-rate", "1000000", "--flood-burst", "1000000")

    def varied(self, rnd, i):
        """A line of 20..45 characters (never wrapped: 59 chat columns less
        the 12 of "HH:MM <bob> ")."""
        t = "v%03d " % i
        n = rnd.randint(20, 45)
        while len(t) < n:
            t += rnd.choice(WORDS) + " "
        return t[:n].rstrip()

    def check_screen(self, s, base, sent):
        """The chat pane shows the last lines in order, everything else is
        as on the reference screen (users pane, title, status, input)."""
        d = "\n" + s.dump()
        h.check_layout(self, s, "alice")
        chat = s.chat_pane()
        got = []
        for r in chat:
            m = LINE_RX.match(r)
            self.assertTrue(m, "a chat row that is not a line of bob's: %r"
                            % r + d)
            got.append(m.group(1))
        self.assertEqual(got, sent[-len(chat):], "chat pane" + d)
        self.assertEqual(s.users_pane(), base.users_pane(), "users pane" + d)
        for i in (0, -2, -1):
            self.assertEqual(s.rows[i], base.rows[i], "row %d" % i + d)

    def same_after_ctrl_l(self, a, before):
        """Ctrl-L repaints the whole screen from curses' model; the result
        must be what was on the terminal (attributes included). A key typed
        after Ctrl-L marks the end of the repaint."""
        a.keys("C-l")
        a.type("x")
        a.wait(lambda s: s.input_line().rstrip() == "> x",
               "the repaint and the marker key")
        s = a.screen(esc=True)
        got, want = cells(s.rows), cells(before.rows)
        for i in range(ROWS - 1):
            self.assertEqual(got[i], want[i],
                             "row %d differs after Ctrl-L:\nbefore:\n%s\n"
                             "after:\n%s" % (i, before.dump(), s.dump()))
        a.keys("BSpace")
        a.wait(lambda s: s.input_line().rstrip() == ">", "the input cleared")

    def run_term(self, term):
        a = self.login("alice", COLS, ROWS, cmd_env="TERM=" + term)
        bob = h.Batch("bob", self.server.port, self.tmp)
        self.batches.append(bob)
        others = []
        for i in range(N_OTHERS):
            o = h.Batch("user%02d" % i, self.server.port, self.tmp)
            self.batches.append(o)
            others.append(o)
        for b in [bob] + others:
            b.wait_event("history_end", timeout=h.T_WAIT * 3)
        # Joins are told coalesced (--coalesce-ms): wait until alice has
        # been told of everyone, so that no join notice lands among bob's
        # lines below.
        a.wait(lambda s: "Users %d" % (N_OTHERS + 2) in s.text,
               "everyone in alice's users pane", timeout=h.T_WAIT * 3)
        rnd = random.Random(7)
        sent = [self.varied(rnd, i) for i in range(60)]
        bob.send(sent)
        a.wait(lambda s: "Users %d" % (N_OTHERS + 2) in s.text and
               sent[-1] in s.text, "the fill and the full users pane",
               timeout=h.T_WAIT * 3)
        # The reference: a forced full repaint of the filled screen.
        a.keys("C-l")
        a.type("x")
        a.wait(lambda s: s.input_line().rstrip() == "> x", "the repaint")
        a.keys("BSpace")
        base = a.wait(lambda s: s.input_line().rstrip() == ">",
                      "the input cleared")
        self.assertTrue(base.users_pane()[-1].strip().startswith("+"),
                        "the users pane overflows\n" + base.dump())
        self.check_screen(base, base, sent)
        for i in range(30):
            line = self.varied(rnd, 100 + i)
            bob.send([line])
            sent.append(line)
            s = a.wait_check(lambda s: self.check_screen(s, base, sent),
                             "line %d of 30 in place" % (i + 1))
            if i % 10 == 9:
                self.same_after_ctrl_l(a, a.screen(esc=True))
        # And a burst of several lines in one go (the pane scrolls by more
        # than one row at a time).
        more = [self.varied(rnd, 200 + i) for i in range(7)]
        bob.send(more)
        sent += more
        a.wait_check(lambda s: self.check_screen(s, base, sent),
                     "the burst in place")
        self.same_after_ctrl_l(a, a.screen(esc=True))
        a.line("/quit")
        self.assertEqual(a.exit_status(), 0, a.stderr_text())

    def test_screen_256color(self):
        self.run_term("screen-256color")

    def test_xterm(self):
        self.run_term("xterm")

    def test_linux(self):
        self.run_term("linux")


if __name__ == "__main__":
    h.main()
