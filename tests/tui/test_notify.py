"""Notifications and navigation: the bell on a direct message or mention
in another window (/set bell), and Alt-A to the next window with
activity, highlights first."""
import tuiharness as h


def bell_flag(term):
    """tmux's bell flag of the window parley runs in (set when a bell
    arrives in a window nobody is looking at: these sessions are
    detached)."""
    return term.tmux.run("display-message", "-p", "-t", term.t,
                         "#{window_bell_flag}").strip()


def title(s):
    return s.rows[0]


class Notify(h.TuiCase):
    def test_bell_on_dm_and_mention(self):
        a = self.login("alice")
        b = self.login("bob")
        c = self.login("carol")
        a.wait(lambda s: "carol" in s.users(), "carol in the pane")
        # Off: a direct message rings nothing.
        a.line("/set bell off")
        a.wait_text("bell: off")
        b.line("/msg alice first")
        a.wait(lambda s: ":bob(1)" in s.status_bar(), "the DM's activity")
        self.assertEqual(bell_flag(a), "0")
        # On: the next one rings.
        a.line("/set bell on")
        a.wait_text("bell: on")
        b.line("/msg alice second")
        h.wait_until(lambda: bell_flag(a) == "1", h.T_WAIT,
                     "alice's bell flag after a DM")
        # A mention in a room carol is not looking at rings for carol; a
        # plain line in the room she is looking at does not.
        c.line("/join #dev")
        c.wait(lambda s: title(s).startswith("#dev"), "carol in #dev")
        b.line("just chatting")
        c.keys("M-1")
        c.wait(lambda s: title(s).startswith("#lobby"), "carol in #lobby")
        c.wait_text("<bob> just chatting")
        self.assertEqual(bell_flag(c), "0")
        b.line("/join #dev")
        b.wait(lambda s: title(s).startswith("#dev"), "bob in #dev")
        b.line("carol: look at this")
        c.wait(lambda s: "#dev(1!)" in s.status_bar(), "the highlight")
        h.wait_until(lambda: bell_flag(c) == "1", h.T_WAIT,
                     "carol's bell flag after a mention")

    def test_alt_a_next_active(self):
        a = self.login("alice")
        b = self.login("bob")
        a.line("/join #dev")
        a.wait(lambda s: title(s).startswith("#dev"), "alice in #dev")
        b.line("/join #dev")
        b.wait(lambda s: title(s).startswith("#dev"), "bob in #dev")
        a.keys("M-0")
        a.wait(lambda s: "0:testsrv" in s.status_bar() and
               not title(s).startswith("#"), "alice in the server window")
        b.keys("M-1")
        b.wait(lambda s: title(s).startswith("#lobby"), "bob in #lobby")
        b.line("plain words")
        b.line("/msg alice direct words")
        b.keys("M-2")
        b.wait(lambda s: title(s).startswith("#dev"), "bob in #dev")
        b.line("alice: a mention")
        a.wait(lambda s: "#dev(1!)" in s.status_bar() and
               "#lobby(1)" in s.status_bar() and "bob(1)" in s.status_bar(),
               "activity in three windows")
        a.keys("M-a")
        a.wait(lambda s: title(s).startswith("#dev"), "the highlight first")
        a.keys("M-a")
        a.wait(lambda s: title(s).startswith("bob"), "then the DM")
        a.keys("M-a")
        a.wait(lambda s: title(s).startswith("#lobby"), "then #lobby")
        a.keys("M-a")
        a.wait_text("no other window has new lines")


if __name__ == "__main__":
    h.main()
