"""Windows: /query and incoming direct messages open windows, Alt-N and
Ctrl-N/P switch, the status bar shows activity."""
import re

import tuiharness as h


def title(s):
    return s.rows[0].rstrip()


def bar_windows(s):
    """The window list of the status bar: ['0:testsrv', '1:#lobby', ...]."""
    bar = s.status_bar()
    m = re.match(r"^\[[^]]*\] [^|]*\| (.*?)(\s+lag \S+)?\s*$", bar)
    return m.group(1).split() if m else []


class Windows(h.TuiCase):
    def test_query_and_activity(self):
        a = self.login("alice")
        b = self.login("bob")
        a.wait(lambda s: "bob" in s.users(), "bob in the pane")
        # /query opens a window and switches to it.
        a.line("/query bob")
        s = a.wait(lambda s: title(s).startswith(
            "bob: direct conversation (online)"), "the query window")
        self.assertEqual(bar_windows(s), ["0:testsrv", "1:#lobby", "2:bob"],
                         s.dump())
        a.line("psst, a secret")
        a.wait_text("<alice> psst, a secret")
        # On bob's side the window opens without stealing focus, and the
        # status bar shows one unread message in it.
        s = b.wait(lambda s: "2:alice(1)" in bar_windows(s),
                   "activity 2:alice(1) in bob's status bar")
        self.assertTrue(title(s).startswith("#lobby"), s.dump())
        self.assertNotIn("psst", s.text, s.dump())
        # The users pane counts the unread direct message.
        b.wait(lambda s: s.users().get("alice", ("", ""))[1].endswith("[1]"),
               "[1] unread after alice in bob's pane")
        # Alt-2 switches to it; the activity mark goes away.
        b.keys("M-2")
        s = b.wait(lambda s: title(s).startswith(
            "alice: direct conversation"), "Alt-2 to alice's window")
        b.wait(lambda s: "2:alice" in bar_windows(s) and
               "<alice> psst, a secret" in s.text, "read, no count")
        b.wait(lambda s: not s.users().get("alice", ("", ""))[1].endswith(
            "]"), "unread count cleared in the pane")
        b.line("got it")
        a.wait_text("<bob> got it")
        # Alt-1 back to the room, Alt-0 the server window.
        b.keys("M-1")
        b.wait(lambda s: title(s).startswith("#lobby"), "Alt-1 to #lobby")
        b.keys("M-0")
        b.wait(lambda s: title(s).startswith("testsrv: server messages"),
               "Alt-0 to the server window")
        # Ctrl-N and Ctrl-P cycle (wrapping).
        b.keys("C-p")
        b.wait(lambda s: title(s).startswith("alice: direct"), "Ctrl-P wraps")
        b.keys("C-n")
        b.wait(lambda s: title(s).startswith("testsrv:"), "Ctrl-N wraps")
        b.keys("M-1")
        b.wait(lambda s: title(s).startswith("#lobby"), "Alt-1")
        # Room activity seen from a query window: count, then highlight.
        b.line("anyone here?")
        a.wait(lambda s: "1:#lobby(1)" in bar_windows(s), "1:#lobby(1)")
        b.line("alice: are you there?")
        s = a.wait(lambda s: "1:#lobby(2!)" in bar_windows(s),
                   "1:#lobby(2!) highlight")
        # The highlighted entry is drawn differently from a plain one.
        s = a.screen(esc=True)
        self.assertRegex(s.rows[-2], r"\x1b\[[0-9;]*m1:#lobby\(2!\)",
                         "coloured activity entry")
        # /close closes the query window.
        a.line("/close")
        s = a.wait(lambda s: bar_windows(s) == ["0:testsrv", "1:#lobby"],
                   "query window closed")

    def test_join_room_window(self):
        a = self.login("alice")
        b = self.login("bob")
        a.line("/join #dev")
        a.wait(lambda s: title(s).startswith("#dev [1]"), "#dev joined")
        b.line("/join #dev")
        b.wait(lambda s: title(s).startswith("#dev [2]"), "#dev with 2")
        s = a.wait(lambda s: title(s).startswith("#dev [2]") and
                   "bob joined #dev" in s.text, "bob joined, count 2")
        self.assertEqual(bar_windows(s),
                         ["0:testsrv", "1:#lobby", "2:#dev"], s.dump())
        b.line("in dev")
        a.wait_text("<bob> in dev")
        a.keys("M-1")
        s = a.wait(lambda s: title(s).startswith("#lobby"), "Alt-1")
        self.assertNotIn("in dev", s.text, s.dump())
        b.line("again in dev")
        a.wait(lambda s: "2:#dev(1)" in bar_windows(s), "2:#dev(1)")

    def test_status_bar_with_many_windows(self):
        # More windows than the status bar can list at 80 columns: the bar
        # still fits, keeps the lag at the right, and still shows the
        # current window and the windows with activity.
        a = self.login("alice", cols=80, rows=24)
        b = self.login("bob")
        rooms = ["#room-number-%02d" % i for i in range(12)]
        for r in rooms:
            a.line("/join " + r)
        a.wait(lambda s: title(s).startswith(rooms[-1] + " [1]"),
               "the last room joined")
        b.line("/join " + rooms[5])
        b.wait(lambda s: title(s).startswith(rooms[5]), "bob in " + rooms[5])
        b.line("news in room 5")
        last = "%d:%s" % (len(rooms) + 1, rooms[-1])
        act = "%d:%s(1)" % (7, rooms[5])

        def check(s):
            d = "\n" + s.dump()
            bar = s.status_bar()
            self.assertLessEqual(h.text_width(bar), 80, d)
            self.assertRegex(bar, r" lag \d+(ms|\.\ds)\s*$", d)
            self.assertIn(last, bar, "the current window is listed" + d)
            self.assertIn(act, bar, "the window with activity is listed" + d)

        a.wait_check(check, "the current and active windows in the bar")


if __name__ == "__main__":
    h.main()
