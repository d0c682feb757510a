"""A refused password is asked again in the input line, echo off (three
tries, like ssh); a registration password under 8 characters is asked again
before connecting."""
import re

import tuiharness as h


def prompt_try(n):
    # (tmux's capture drops the trailing blank)
    return "Password for alice@127.0.0.1 (try %d of 3):" % n


class Password(h.TuiCase):
    def start_wrong(self, name):
        """alice exists; a terminal runs parley as alice with a wrong
        password in the environment."""
        self.login("alice").line("/quit")
        t = self.term(name)
        t.line("PARLEY_PASSWORD=wrong-password %s alice@127.0.0.1:%d 2>%s" %
               (h.PARLEY, self.server.port, t.stderr))
        return t

    def wait_prompt(self, t, n):
        return t.wait(lambda s: s.input_line().startswith(prompt_try(n)),
                      "the password prompt, try %d" % n)

    def test_wrong_then_right(self):
        t = self.start_wrong("alice2")
        self.wait_prompt(t, 2)
        t.type(h.PASSWORD)
        # Nothing typed is shown.
        s = t.wait(lambda s: True, "a screen")
        self.assertNotIn(h.PASSWORD, s.text, s.dump())
        self.assertEqual(s.input_line().rstrip(), prompt_try(2),
                         s.dump())
        t.keys("Enter")
        s = t.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected") and "#lobby" in s.rows[0],
            "connected after the second try", timeout=h.T_WAIT * 2)
        self.assertNotIn(h.PASSWORD, s.text, s.dump())
        self.assertTrue(s.input_line().startswith(">"), s.dump())
        t.line("/quit")
        self.assertEqual(t.exit_status(), 0, t.stderr_text())
        self.assertNotIn(h.PASSWORD, t.stderr_text())

    def test_three_wrong_exit_3(self):
        t = self.start_wrong("alice3")
        self.wait_prompt(t, 2)
        t.line("wrong-again")
        self.wait_prompt(t, 3)
        t.line("still-wrong")
        self.assertEqual(t.exit_status(), 3, t.stderr_text())
        self.assertIn("login failed", t.stderr_text())
        for pw in ("wrong-again", "still-wrong"):
            self.assertNotIn(pw, t.stderr_text())

    def test_esc_gives_up(self):
        t = self.start_wrong("alice4")
        self.wait_prompt(t, 2)
        t.type("half")
        t.keys("Escape")
        self.assertEqual(t.exit_status(), 3, t.stderr_text())

    def test_short_registration_password_asked_again(self):
        t = self.term("carol")
        t.line("%s --register carol@127.0.0.1:%d 2>%s" %
               (h.PARLEY, self.server.port, t.stderr))
        t.wait_text("New password for carol@127.0.0.1:")
        t.line("short")
        # Why on a line of its own, then the prompt again as a sentence.
        s = t.wait(lambda s: any(
            r.rstrip() == "The password needs 8 to 256 characters."
            for r in s.rows) and s.text.count(
                "New password for carol@127.0.0.1:") == 2,
            "the reason and the prompt again, on two lines")
        self.assertNotIn("characters. new", s.text, s.dump())
        self.assertNotIn("short", s.text, s.dump())
        t.line(h.PASSWORD)
        t.wait_text("Repeat the password:")
        t.line(h.PASSWORD)
        t.wait(lambda s: s.status_bar().startswith(
            "[carol@127.0.0.1] connected") and "#lobby" in s.rows[0],
            "carol registered and connected", timeout=h.T_WAIT * 2)
        t.line("/quit")
        self.assertEqual(t.exit_status(), 0, t.stderr_text())


if __name__ == "__main__":
    h.main()
