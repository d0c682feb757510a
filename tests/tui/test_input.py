"""The input line: editing keys, history, completion, the counter, and
scrollback keys in the chat pane."""
import re

import tuiharness as h


def inp(s):
    return s.input_line().rstrip()


class Input(h.TuiCase):
    server_args = ("--flood-rate", "1000", "--flood-burst", "1000")

    def setUp(self):
        super().setUp()
        self.a = self.login("alice")
        self.b = self.login("bob")
        self.a.wait(lambda s: "bob" in s.users(), "bob in the pane")

    def expect(self, text, cursor_col=None):
        """Waits for the input line to read "> text" (and the cursor)."""
        a = self.a
        s = a.wait(lambda s: inp(s) == ("> " + text).rstrip(),
                   "input line %r" % text)
        if cursor_col is not None:
            a.wait(lambda s: a.cursor() == (2 + cursor_col, s.height - 1),
                   "cursor at column %d of the input" % cursor_col)
        return s

    def test_editing_keys(self):
        a = self.a
        a.type("world")
        self.expect("world", 5)
        a.keys("C-a")
        a.type("hello ")
        self.expect("hello world", 6)
        a.keys("C-e")
        self.expect("hello world", 11)
        a.keys("C-w")
        self.expect("hello ", 6)
        a.keys("C-u")
        self.expect("", 0)
        a.type("abc")
        a.keys("Left", "Left", "BSpace")
        self.expect("bc", 0)
        a.keys("End", "M-b")
        self.expect("bc", 0)
        a.keys("C-k")
        self.expect("", 0)
        # UTF-8: one Backspace removes one character, not one byte.
        a.type("h\u00e9\u00e9")
        a.keys("BSpace")
        self.expect("h\u00e9", 2)
        a.keys("C-u")
        # History.
        a.line("first line")
        a.wait_text("<alice> first line")
        self.expect("", 0)
        a.keys("Up")
        self.expect("first line", 10)
        a.keys("Down")
        self.expect("", 0)

    def test_tab_completion(self):
        a = self.a
        a.type("bo")
        a.keys("Tab")
        self.expect("bob: ", 5)
        a.keys("C-u")
        a.type("/jo")
        a.keys("Tab")
        self.a.wait(lambda s: inp(s).startswith("> /join"), "/join completed")

    def test_counter_and_limit(self):
        a = self.a
        a.type("x" * 200)
        s = a.wait(lambda s: "x" * 20 in s.input_line(), "the typed text")
        self.assertNotRegex(s.input_line(), r"\d+/280", s.dump())
        a.type("x" * 15)
        s = a.wait(lambda s: s.input_line().rstrip().endswith("215/280"),
                   "the counter 215/280")
        self.assertLessEqual(h.text_width(s.input_line()), s.cols)
        a.type("y" * 75)
        s = a.wait(lambda s: s.input_line().rstrip().endswith("290/280"),
                   "the counter 290/280 (over)")
        # The tail of the long line is visible (horizontal scrolling).
        self.assertIn("yyyy", s.input_line(), s.dump())
        a.keys("Enter")
        a.wait(lambda s: re.search(r"^\d\d:\d\d !! message longer than the "
                                   r"server's limit \(280 characters\)",
                                   "\n".join(s.chat_pane()), re.M),
               "the error about the limit")
        # The refused text stays in the input line, to be shortened.
        a.wait(lambda s: s.input_line().rstrip().endswith("290/280"),
               "the refused line kept in the input")
        # Nothing reached bob.
        self.b.line("marker after the long line")
        self.b.wait_text("<bob> marker after the long line")
        self.assertNotIn("xxxxxxxxxx", self.b.screen().text)

    def test_scrollback(self):
        a, b = self.a, self.b
        for i in range(40):
            b.line("line %02d" % i)
        a.wait_text("<bob> line 39")
        a.keys("PPage")
        s = a.wait(lambda s: "-- more below" in s.text and
                   "line 39" not in s.text, "scrolled up a page")
        self.assertIn("more below", s.chat_pane()[-1], s.dump())
        b.line("line 40")
        a.wait(lambda s: "-- more below: 1 new --" in s.text, "1 new below")
        a.keys("End")
        s = a.wait(lambda s: "<bob> line 40" in s.text and
                   "more below" not in s.text, "back at the bottom")
        s = self.layout_ok(a, "alice")
        a.keys("Home")
        a.wait(lambda s: "-- bob joined #lobby" in s.text, "top of scrollback")
        a.keys("End")
        a.wait_text("<bob> line 40")
        a.line("/search line 05")
        s = a.wait(lambda s: s.rows[0].startswith('found "line 05"') and
                   "<bob> line 05" in s.text, "the search hit")


class Burst(h.TuiCase):
    server_args = ("--flood-rate", "1000000", "--flood-burst", "1000000")

    def test_burst_keeps_input_and_bounds_scrollback(self):
        a = self.login("alice", cols=80, rows=24, args="--scrollback 200")
        b = self.batch("bob")
        a.wait(lambda s: "bob" in s.users(), "bob in the pane")
        burst = ["burst line %04d" % i for i in range(2000)]
        b.send(burst)
        a.type("typed during the burst")
        s = a.wait(lambda s: "<bob> burst line 1999" in s.text and
                   s.input_line().startswith("> typed during the burst"),
                   "the whole burst and the typed text", timeout=60 * h.SCALE)
        self.layout_ok(a, "alice", extra=lambda s: self.assertTrue(
            s.input_line().startswith("> typed during the burst")))
        # Scrollback is bounded: the top is no older than 200 lines back.
        a.keys("C-u", "Home")
        s = a.wait(lambda s: "more below" in s.text, "top of scrollback")
        first = re.search(r"burst line (\d{4})", s.text)
        self.assertTrue(first, s.dump())
        self.assertGreaterEqual(int(first.group(1)), 1800, s.dump())


if __name__ == "__main__":
    h.main()
