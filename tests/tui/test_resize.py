"""Resizing re-lays out the screen; a too-small terminal gets a notice."""
import tuiharness as h

SMALL = "Terminal too small (need 40x8)"


class Resize(h.TuiCase):
    def setUp(self):
        super().setUp()
        self.a = self.login("alice")
        self.b = self.login("bob")
        self.b.line("short line from bob")
        self.long = " ".join("w%03d" % i for i in range(40))  # 199 chars
        self.b.line(self.long)
        self.a.wait_text("w039")
        self.a.type("draft text")  # unsent input must survive resizes
        self.a.wait(lambda s: s.input_line().startswith("> draft text"),
                    "the draft in the input line")

    def at_size(self, cols, rows, users_pane=True):
        """Resizes alice's window; waits until the screen is laid out sanely
        for the new size with all its content (see Term.wait_check)."""
        self.a.resize(cols, rows)

        def extra(s):
            self.assertEqual((s.cols, s.height), (cols, rows), "size")
            self.check_content(s)
        return self.layout_ok(self.a, "alice", extra, users_pane=users_pane)

    def check_content(self, s):
        d = "\n" + s.dump()
        chat = s.chat_pane()
        text = "\n".join(chat)
        self.assertIn("<bob> short line from bob", text, d)
        self.assertEqual(sum(1 for r in chat if "short line from bob" in r), 1,
                         "the line shows once" + d)
        # The long line is rewrapped to the new width, words intact.
        i = next(i for i, r in enumerate(chat) if "<bob> w000" in r)
        words = chat[i].split("> ", 1)[1].split()
        for r in chat[i + 1:]:
            if not r.startswith(" ") or not r.strip():
                break
            words += r.split()
        self.assertEqual(" ".join(words), self.long, d)
        self.assertTrue(s.input_line().startswith("> draft text"), d)

    def test_80x24_and_200x60(self):
        for cols, rows in ((80, 24), (200, 60), (80, 24), (100, 30)):
            s = self.at_size(cols, rows)
            pane = s.users_pane()
            self.assertEqual(pane[1:3], ["+ alice (me)", "+ bob"], s.dump())
        # Still working after all that.
        self.b.line("after resizing")
        self.a.wait_text("<bob> after resizing")
        self.layout_ok(self.a, "alice")

    def test_too_small_and_back(self):
        for cols, rows in ((30, 8), (100, 7), (39, 30)):
            self.a.resize(cols, rows)

            def check(s):
                d = "\n" + s.dump()
                self.assertEqual((s.cols, s.height), (cols, rows), "size")
                self.assertEqual(s.rows[0].rstrip(), SMALL[:cols], d)
                self.assertEqual([r for r in s.rows[1:] if r.strip()], [],
                                 "nothing but the notice" + d)

            self.a.wait_check(check, "the too-small notice at %dx%d" %
                              (cols, rows))
        # Messages arriving while too small are not lost.
        self.b.line("while you were small")
        self.at_size(100, 30)
        self.a.wait_text("<bob> while you were small")

    def test_minimum_size(self):
        # 40x8 is the minimum: no notice, the users pane is hidden because
        # the chat would be narrower than 30 columns.
        self.a.resize(40, 8)

        def check(s):
            self.assertEqual((s.cols, s.height), (40, 8), "size")
            h.check_layout(self, s, "alice", users_pane=False)
            self.assertTrue(s.input_line().startswith("> draft text"),
                            s.dump())

        self.a.wait_check(check, "the layout at 40x8")
        self.at_size(100, 30)

    def test_rapid_resizes(self):
        # A storm of SIGWINCHes without waiting in between: the last size
        # wins and nothing of the earlier layouts is left.
        for cols, rows in ((200, 60), (30, 8), (80, 24), (45, 9), (120, 40),
                           (41, 8), (100, 30)):
            self.a.resize(cols, rows)
        self.at_size(100, 30)
        self.b.line("after the storm")
        self.a.wait_text("<bob> after the storm")
        self.layout_ok(self.a, "alice")


if __name__ == "__main__":
    h.main()
