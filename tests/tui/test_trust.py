"""First contact with a server over TLS in the terminal UI: the key is
shown and `Trust this server? (yes/no/[fingerprint])` asked in the input
line; yes (or the fingerprint pasted) connects and remembers the key in
known_servers, no leaves with status 5."""
import os

import tuiharness as h

PROMPT = "Trust this server? (yes/no/[fingerprint])"


class Trust(h.TuiCase):
    def setUp(self):
        super().setUp()
        # The harness pins the key for every other test: not here.
        self.known = os.path.join(self.tmp, "config", "parley",
                                  "known_servers")
        os.unlink(self.known)
        self.fp = self.server.fingerprint()
        self.server.user_add("alice")

    def ask(self, name):
        t = self.term(name)
        t.line("PARLEY_PASSWORD=%s %s alice@127.0.0.1:%d 2>%s" %
               (h.PASSWORD, h.PARLEY, self.server.port, t.stderr))
        s = t.wait(lambda s: s.input_line().startswith(PROMPT) and
                   self.fp in s.text, "the first-contact question")
        self.assertFalse(os.path.exists(self.known))
        # Calm, as ssh's first contact: the key once, no error lines, no
        # "disconnected" while the question is open.
        s = t.wait_check(lambda s: self.calm(s), "a calm first contact")
        return t

    def calm(self, s):
        self.assertEqual(s.text.count(self.fp), 1, s.dump())
        self.assertNotIn("!!", "\n".join(s.chat_pane()), s.dump())
        self.assertNotIn("unknown server", s.text, s.dump())
        self.assertNotIn("disconnected", s.text, s.dump())
        self.assertTrue(any("== first contact with 127.0.0.1:%d: its key is "
                            % self.server.port in r for r in s.rows),
                        s.dump())
        self.assertIn("first contact", s.status_bar(), s.dump())

    def connected(self, t):
        t.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected") and "#lobby" in s.rows[0],
            "connected after the answer", timeout=h.T_WAIT * 2)
        with open(self.known) as f:
            self.assertEqual(f.read(), "127.0.0.1:%d %s\n" %
                             (self.server.port, self.fp))
        t.line("/quit")
        self.assertEqual(t.exit_status(), 0, t.stderr_text())

    def test_yes(self):
        t = self.ask("yes")
        t.line("yes")
        self.connected(t)
        # Pinned: the next start asks nothing.
        t.line("PARLEY_PASSWORD=%s %s alice@127.0.0.1:%d 2>%s" %
               (h.PASSWORD, h.PARLEY, self.server.port, t.stderr))
        self.connected(t)

    def test_pasted_fingerprint(self):
        t = self.ask("paste")
        t.line(self.fp)
        self.connected(t)

    def test_no(self):
        t = self.ask("no")
        t.line("no")
        self.assertEqual(t.exit_status(), 5, t.stderr_text())
        self.assertIn("not trusted", t.stderr_text())
        self.assertFalse(os.path.exists(self.known))


if __name__ == "__main__":
    h.main()
