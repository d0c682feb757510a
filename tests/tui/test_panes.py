"""The transfers pane (made-up transfers from the parley-demo build), the
users pane width keys and bracketed paste."""
import re

import tuiharness as h

XFER_HDR = "\u2500Transfers 3\u2500"


class Panes(h.TuiCase):
    def check_xfers(self, s):
        d = "\n" + s.dump()
        i = next((i for i, r in enumerate(s.rows) if r.startswith(XFER_HDR)),
                 None)
        self.assertIsNotNone(i, "transfers header" + d)
        self.assertEqual(i, s.height - 6, "3 transfers above the bars" + d)
        rows = s.rows[i + 1:i + 4]
        self.assertRegex(rows[0], r"^holiday-ph\S* +to bob +\[[#.]+\] +"
                         r"\d+% .*(active|done)", d)
        self.assertRegex(rows[1], r"^report-fin\S* +from carol +\[[#.]+\] "
                         r"+\d+% .*(active|done)", d)
        self.assertRegex(rows[2], r"^notes.txt +from dave +\[#+\.+\] +"
                         r"50% .*failed: connection lost", d)
        for r in s.rows:
            self.assertLessEqual(h.text_width(r), s.cols, d)
        # The chat and users panes end above the transfers pane.
        top = s.rows[1:i]
        self.assertTrue(all(h.SEP in r for r in top), "separator" + d)
        self.assertFalse([r for r in s.rows[i:] if h.SEP in r], d)
        self.assertTrue(s.status_bar().startswith("[alice@127.0.0.1] "
                                                  "connected |"), d)
        self.assertTrue(s.input_line().startswith(">"), d)
        return rows

    def test_transfers_pane(self):
        a = self.login("alice", binary=h.PARLEY_DEMO)
        s = a.wait_check(self.check_xfers, "the transfers pane")
        rows = self.check_xfers(s)
        pct = lambda r: int(re.search(r"(\d+)%", r).group(1))
        first = pct(rows[1])
        # Progress is redrawn while transfers run.
        a.wait(lambda s: XFER_HDR in s.text and pct(
            [r for r in s.rows if r.startswith("report-fin")][0]) > first,
            "report-final.pdf progressing")
        for cols, rows_ in ((80, 24), (200, 60), (100, 30)):
            a.resize(cols, rows_)

            def check(s):
                self.assertEqual((s.cols, s.height), (cols, rows_))
                self.assertTrue(s.rows[0].startswith("#lobby"), s.dump())
                self.check_xfers(s)

            a.wait_check(check, "the transfers pane at %dx%d" % (cols, rows_))

        # At 50 columns the bar and the ETA make way for the state, which
        # reads in full (it was cut to "ac" once).
        a.resize(50, 12)

        def narrow(s):
            d = "\n" + s.dump()
            self.assertEqual((s.cols, s.height), (50, 12), d)
            rows = [r.rstrip() for r in s.rows
                    if re.match(r"^(holiday|report|notes)", r)]
            self.assertEqual(len(rows), 3, d)
            self.assertRegex(rows[0], r" to bob +\d+% .* (active|done)$", d)
            self.assertRegex(rows[1], r" from carol +\d+% .* (active|done)$",
                             d)
            self.assertRegex(rows[2], r" from dave +50% .*"
                             r"failed: connection lost$", d)
            for r in s.rows:
                self.assertLessEqual(h.text_width(r), s.cols, d)

        a.wait_check(narrow, "whole states at 50x12")

    def test_users_pane_width_keys(self):
        a = self.login("alice")
        s = a.screen()
        self.assertEqual(s.sep_col(), 79, s.dump())
        a.keys("M-Left")  # wider by 2
        s = a.wait(lambda s: s.sep_col() == 77 or "1;3D" in s.text,
                   "Alt-Left widening the users pane")
        self.assertEqual(h.Screen.input_line(s).rstrip(), ">",
                         "Alt-Left must not type into the input line\n" +
                         s.dump())
        self.assertEqual(s.sep_col(), 77, s.dump())
        a.keys("M-Right")
        a.wait(lambda s: s.sep_col() == 79, "Alt-Right narrowing it")
        a.line("/panewidth 0")
        s = a.wait(lambda s: s.sep_col() is None and
                   s.status_bar().startswith("[alice@"), "the pane hidden")
        s = self.layout_ok(a, "alice", users_pane=False)
        a.line("/panewidth 30")
        s = a.wait(lambda s: s.sep_col() == 69, "a 30-column pane")

    def test_bracketed_paste(self):
        a = self.login("alice")
        b = self.login("bob")
        self.tmux.run("set-buffer", "-b", "clip", "pasted one\npasted two\n")
        self.tmux.run("paste-buffer", "-p", "-b", "clip", "-t", a.t)
        s = a.wait(lambda s: s.input_line().startswith(
            "> pasted one pasted two"), "the paste in the input line")
        self.assertNotIn("<alice> pasted", s.text, s.dump())
        a.keys("Enter")
        b.wait(lambda s: re.search(r"<alice> pasted one pasted two$",
                                   "\n".join(s.chat_pane()), re.M),
               "the pasted line at bob")

    def paste(self, term, text):
        self.tmux.run("set-buffer", "-b", "clip", text)
        self.tmux.run("paste-buffer", "-p", "-b", "clip", "-t", term.t)

    def test_paste_controls_are_text(self):
        """Control characters and escape sequences in a paste are dropped,
        never editing keys: Ctrl-A moved the cursor, Ctrl-U erased."""
        a = self.login("alice")
        b = self.login("bob")

        def expect(text):
            return a.wait(lambda s: s.input_line().rstrip() == "> " + text,
                          "input line %r" % text)
        self.paste(a, "abc\x01XYZ")
        expect("abcXYZ")
        a.type("!")  # the cursor is after the paste
        expect("abcXYZ!")
        a.keys("C-u")
        self.paste(a, "hello\x15world")
        expect("helloworld")
        a.keys("C-u")
        self.paste(a, "A line1\nline2 bell\x07 esc\x1b[31mred\x1b[0m "
                   "tab\there ctl\x01\x02 end\x1b[D")
        sent = "A line1 line2 bell escred tab here ctl end"
        expect(sent)
        a.keys("Enter")
        b.wait(lambda s: ("<alice> " + sent) in "\n".join(s.chat_pane()),
               "the paste at bob, in order")
        # Editing keys work again after the paste.
        a.type("xy")
        a.keys("C-a")
        a.type("w")
        expect("wxy")

    def test_long_paste_cut(self):
        """A paste past the input line's 4000 characters keeps what fits
        and says that it was cut."""
        a = self.login("alice")
        self.paste(a, "a" * 3998 + "bc\x01defg")
        s = a.wait(lambda s: "paste cut short" in s.rows[0], "the notice")
        # The counter ("4000/280") follows the text.
        self.assertRegex(s.input_line(), r"^> a+bc +4000/\d+$", s.dump())
        a.keys("C-a", "C-k")  # keys are keys again after the paste
        a.wait(lambda s: s.input_line().rstrip() == ">", "the line emptied")

    def test_refused_paste_stays(self):
        """A line with U+202E is refused (it would reorder text on screen)
        but stays in the input line with the reason, as a too-long one."""
        a = self.login("alice")
        b = self.login("bob")
        self.paste(a, "evil\u202egpj.exe")
        a.wait(lambda s: s.input_line().rstrip() == "> evil?gpj.exe",
               "the paste, the override shown as ?")
        a.keys("Enter")
        s = a.wait(lambda s: "bidi" in s.rows[0], "the refusal in the title")
        self.assertEqual(s.input_line().rstrip(), "> evil?gpj.exe", s.dump())
        a.keys("BSpace" ,"BSpace", "BSpace", "BSpace", "BSpace", "BSpace",
               "BSpace", "BSpace")
        a.type(" ok")
        a.keys("Enter")
        b.wait(lambda s: "<alice> evil ok" in "\n".join(s.chat_pane()),
               "the mended line at bob")
        self.assertNotIn("gpj", "\n".join(b.screen().chat_pane()))


class ModifiedKeys(h.TuiCase):
    """Ctrl-Home/Ctrl-End scroll whatever the input line holds. tmux sends
    them in xterm's form (ESC [ 1 ; 5 H) also under TERM=screen-256color."""
    server_args = ("--flood-rate", "1000", "--flood-burst", "1000")

    def test_ctrl_home_end(self):
        a = self.login("alice")
        b = self.batch("bob")
        # Joins are told at the end of a --coalesce-ms interval, messages
        # at once: the notice first, so that it is the scrollback's top.
        a.wait_text("bob joined #lobby")
        b.send(["line %02d" % i for i in range(40)])
        a.wait_text("<bob> line 39")
        a.type("draft")
        a.wait(lambda s: s.input_line().rstrip() == "> draft", "the draft")
        a.keys("C-Home")
        s = a.wait(lambda s: "more below" in s.text or "1;5H" in s.text,
                   "Ctrl-Home to the top of the scrollback")
        self.assertEqual(s.input_line().rstrip(), "> draft",
                         "Ctrl-Home must not type into the input line\n" +
                         s.dump())
        self.assertIn("-- bob joined #lobby", s.text, s.dump())
        a.keys("C-End")
        s = a.wait(lambda s: "<bob> line 39" in s.text and
                   "more below" not in s.text, "Ctrl-End back to live")
        self.assertEqual(s.input_line().rstrip(), "> draft", s.dump())


if __name__ == "__main__":
    h.main()
