"""Leaving restores the terminal: /quit, Ctrl-C, Ctrl-Z and fg."""
import re

import tuiharness as h


def flags(t):
    """tmux's view of the pane's terminal modes."""
    out = t.tmux.run("display-message", "-p", "-t", t.t,
                     "#{alternate_on} #{cursor_flag} #{keypad_cursor_flag} "
                     "#{keypad_flag} #{insert_flag} #{mouse_any_flag}")
    return dict(zip(("alternate", "cursor", "keypad_cursor", "keypad",
                     "insert", "mouse"), (int(x) for x in out.split())))


RESTORED = dict(alternate=0, cursor=1, keypad_cursor=0, keypad=0, insert=0,
                mouse=0)


class Quit(h.TuiCase):
    def check_restored(self, t, status=0):
        # The shell is back on the normal screen, with what was there before
        # parley started (the command line) and a fresh prompt.
        s = t.wait(lambda s: re.search(r"^" + re.escape(h.PS1.strip()) +
                                       r"\s*$", s.text, re.M) and
                   "PARLEY_PASSWORD=" in s.text, "the shell prompt back")
        self.assertNotIn("connected |", s.text, s.dump())
        self.assertEqual(flags(t), RESTORED, s.dump())
        self.assertEqual(t.exit_status(), status, "exit status of parley\n" +
                         t.stderr_text())
        # The terminal echoes and takes lines again (cooked mode, echo on).
        t.line("echo restored-$((6*7))")
        t.wait(lambda s: re.search(r"^restored-42$", s.text, re.M),
               "the shell echoing and running commands")

    def test_quit_command(self):
        a = self.login("alice")
        b = self.login("bob")
        self.assertEqual(flags(a)["alternate"], 1)
        a.line("/quit see you")
        self.check_restored(a)
        # The other side sees alice leave.
        b.wait(lambda s: "alice" not in s.users(), "alice gone from the pane")
        b.wait(lambda s: re.search(r"-- alice (quit|left)", s.text),
               "alice's quit notice")

    def test_ctrl_c(self):
        a = self.login("alice")
        a.keys("C-c")
        self.check_restored(a)

    def test_ctrl_z_suspends_and_fg_resumes(self):
        a = self.login("alice")
        b = self.login("bob")
        a.keys("C-z")
        s = a.wait(lambda s: re.search(r"Stopped", s.text) and
                   re.search(r"^" + re.escape(h.PS1.strip()) + r"\s*$",
                             s.text, re.M), "the shell after Ctrl-Z")
        self.assertEqual(flags(a)["alternate"], 0, s.dump())
        b.line("said while alice was suspended")
        a.line("fg")
        s = a.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected") and
            "said while alice was suspended" in s.text,
            "the screen back after fg")
        s = self.layout_ok(a, "alice")
        a.line("/quit")
        self.check_restored(a)

    def test_login_failure_is_clear(self):
        # A wrong password is asked again in the input line (three tries,
        # like ssh); Esc there gives up with the status of a refused login.
        self.login("alice").line("/quit")
        t = self.term("mallory")
        t.line("PARLEY_PASSWORD=wrong-password %s alice@127.0.0.1:%d 2>%s" %
               (h.PARLEY, self.server.port, t.stderr))
        s = t.wait(lambda s: s.input_line().startswith(
            "Password for alice@127.0.0.1 (try 2 of 3):"),
            "the password asked again")
        self.assertIn("Esc", s.text, s.dump())
        t.keys("Escape")
        self.check_restored(t, status=3)
        self.assertIn("login failed", t.stderr_text())

    def test_kicked_exit_status(self):
        self.server.user_add("root", admin=True)
        a = self.login("alice")
        r = self.term("root")
        r.parley("root", self.server.port, register=False)
        a.wait(lambda s: "root" in s.users(), "root in the pane")
        r.line("/kick alice behave")
        s = a.wait(lambda s: "kicked by root: behave" in s.rows[0],
                   "the kick in the title bar")
        self.assertRegex(s.status_bar(), r"^\[alice@127\.0\.0\.1\] "
                         r"disconnected", s.dump())
        a.line("/quit")
        self.check_restored(a, status=4)


if __name__ == "__main__":
    h.main()
