"""Keys and text that went wrong under tmux: Alt-Backspace, Home/End with
TERM=xterm-256color, a ZWJ emoji in the input line, hidden formatting
characters, and Ctrl-R search."""
import tuiharness as h


def inp(s):
    return s.input_line().rstrip()


class Keys(h.TuiCase):
    server_args = ("--flood-rate", "1000", "--flood-burst", "1000")

    def setUp(self):
        super().setUp()
        self.a = self.login("alice")

    def expect(self, text, cursor_col=None, prompt="> "):
        """Waits for the input line to read prompt + text (and the cursor
        at that display column of the text)."""
        a = self.a
        s = a.wait(lambda s: inp(s) == (prompt + text).rstrip(),
                   "input line %r" % text)
        if cursor_col is not None:
            col = h.text_width(prompt) + cursor_col
            a.wait(lambda s: a.cursor() == (col, s.height - 1),
                   "cursor at column %d of the input" % cursor_col)
        return s

    def test_alt_backspace(self):
        # tmux sends ESC DEL; with kbs=^? curses turns the DEL into
        # KEY_BACKSPACE, which must still kill a word after the Escape.
        a = self.a
        a.type("one two three")
        self.expect("one two three", 13)
        a.keys("M-BSpace")
        self.expect("one two ", 8)
        a.keys("M-BSpace")
        self.expect("one ", 4)

    def test_home_end_xterm_term_inside_tmux(self):
        # TERM=xterm-256color inside tmux, a common setting: its terminfo
        # says ESC O H and ESC O F, tmux sends ESC [ 1 ~ and ESC [ 4 ~.
        b = self.login("bob", cmd_env="TERM=xterm-256color")
        b.type("abc")
        b.wait(lambda s: inp(s) == "> abc", "abc")
        b.keys("Home")
        b.type("X")
        b.wait(lambda s: inp(s) == "> Xabc", "X at the start")
        b.keys("End")
        b.type("Y")
        b.wait(lambda s: inp(s) == "> XabcY", "Y at the end")

    def test_zwj_emoji_cursor(self):
        # The joiner is never sent to the terminal (terminals disagree on
        # the width of a ZWJ sequence): the emoji show side by side and
        # the cursor and inserted text land where the editor counts.
        a = self.a
        a.type("a\U0001F469\u200d\U0001F4BBb")
        s = self.expect("a\U0001F469\U0001F4BBb", 6)
        a.keys("Left")
        a.type("X")
        s = self.expect("a\U0001F469\U0001F4BBXb", 6)
        a.keys("C-a", "Right", "Right")
        a.type("Y")
        self.expect("a\U0001F469Y\U0001F4BBXb", 4)

    def test_hidden_characters_shown(self):
        # A right-to-left override or zero-width space never reaches the
        # terminal raw: it shows as '?', one column, and the cursor agrees.
        a = self.a
        a.type("ab\u202ecd\u200bef")
        s = self.expect("ab?cd?ef", 8)
        self.assertNotIn("\u202e", s.text, s.dump())
        a.keys("Left", "Left")
        a.type("Z")
        self.expect("ab?cd?Zef", 7)

    def test_ctrl_r_search(self):
        a = self.a
        for w in ("apple one", "banana", "apple two", "cherry"):
            a.line(w)
            a.wait_text("<alice> " + w)
        for i in range(40):  # push the apples off the screen
            a.line("filler %d" % i)
        a.wait_text("<alice> filler 39")
        a.keys("C-r")
        self.expect("", None, "(search) ")
        a.type("appl")
        s = a.wait(lambda s: "<alice> apple two" in s.text,
                   "the newest apple shown")
        self.expect("appl", None, "(search) ")
        # The hit is highlighted (reverse video).
        s = a.screen(esc=True)
        self.assertRegex(s.text, r"\x1b\[[0-9;]*7[0-9;]*mapple two", s.text)
        a.keys("C-r")
        a.wait(lambda s: "<alice> apple one" in s.text, "the older apple")
        a.type("zzz")
        self.expect("applzzz", None, "(search: not found) ")
        a.keys("BSpace", "BSpace", "BSpace")
        self.expect("appl", None, "(search) ")
        # Esc leaves the search and goes back to the live end.
        a.keys("Escape")
        self.expect("", 0)
        a.wait(lambda s: "<alice> filler 39" in s.text and
               "apple" not in s.text, "back at the live end")
        # Enter leaves at the match; typing then goes to the input line.
        a.keys("C-r")
        a.type("banana")
        a.wait(lambda s: "<alice> banana" in s.text, "banana found")
        a.keys("Enter")
        self.expect("", 0)
        a.type("hi")
        s = self.expect("hi", 2)
        self.assertIn("<alice> banana", s.text, s.dump())
        # /search still works.
        a.keys("C-u")
        a.line("/search cherry")
        a.wait(lambda s: "found \"cherry\"" in s.text, "/search's notice")


if __name__ == "__main__":
    h.main()
