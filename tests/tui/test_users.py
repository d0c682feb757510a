"""The users pane lists who is online with the right status marks."""
import tuiharness as h


def mark(s, name):
    return s.users().get(name, ("", ""))[0]


class UsersPane(h.TuiCase):
    def test_status_marks(self):
        a = self.login("alice")
        b = self.login("bob")
        c = self.login("carol")
        b.line("/away gone fishing")
        c.line("/busy")
        s = a.wait(lambda s: mark(s, "bob") == "~" and mark(s, "carol") == "!",
                   "bob away (~) and carol busy (!)")
        d = "\n" + s.dump()
        pane = s.users_pane()
        # You first, then online, busy, away.
        self.assertEqual(pane[:4], ["Users 3", "+ alice (me)", "! carol",
                                    "~ bob"], d)
        self.assertEqual(s.users()["alice"], ("+", "(me)"), d)
        # The others see the same marks, each with its own "(me)".
        s = c.wait(lambda s: mark(s, "bob") == "~", "bob away")
        self.assertEqual(s.users_pane()[1:4],
                         ["! carol (me)", "+ alice", "~ bob"], "\n" + s.dump())
        # Colours: the marks are coloured, the away user is dimmed.
        s = a.screen(esc=True)
        self.assertRegex(s.text, r"\x1b\[[0-9;]*m~", "coloured away mark")
        # The away message shows in the title of a conversation with bob.
        a.line("/query bob")
        a.wait(lambda s: s.rows[0].startswith(
            "bob: direct conversation (away: gone fishing)"),
            "bob's away text in the title")
        # Talking with: the others see "alice >bob" once alice opened it.
        c.wait(lambda s: s.users().get("alice", ("", ""))[1] == ">bob",
               "alice >bob on carol's pane")
        # Back to online; leaving removes the entry.
        b.line("/back")
        a.wait(lambda s: mark(s, "bob") == "+", "bob back online (+)")
        c.line("/quit")
        s = a.wait(lambda s: "carol" not in s.users() and
                   s.users_pane()[0] == "Users 2", "carol gone from the pane")
        self.assertEqual(c.exit_status(), 0)

    def test_many_users_scroll(self):
        # 60x10: the users pane has a header and 6 rows; 9 users need
        # "+N more" and scrolling (F12 down, F11 up).
        a = self.login("alice", cols=60, rows=10)
        names = ["user%d" % i for i in range(1, 9)]
        for n in names:
            self.batch(n)
        s = a.wait(lambda s: s.users_pane()[:1] == ["Users 9"] and
                   s.users_pane()[6].strip() == "+4 more",
                   "9 users, the last row '+4 more'")
        self.assertEqual(s.users_pane()[1:6],
                         ["+ alice (me)", "+ user1", "+ user2", "+ user3",
                          "+ user4"], s.dump())
        a.keys("F12")
        s = a.wait(lambda s: "user8" in s.users(), "scrolled down to user8")
        self.assertNotIn("alice", s.users(), s.dump())
        self.assertEqual(s.users_pane()[0], "Users 9", s.dump())
        a.keys("F11")
        a.wait(lambda s: "alice" in s.users(), "scrolled back up")
        self.assertEqual(a.screen().input_line().rstrip(), ">")


if __name__ == "__main__":
    h.main()
