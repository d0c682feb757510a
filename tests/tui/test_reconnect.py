"""Connection state in the status bar: the server goes away, the client
counts down and reconnects when it is back."""
import re

import tuiharness as h


class Reconnect(h.TuiCase):
    def test_server_restart(self):
        a = self.login("alice")
        b = self.login("bob")
        a.wait(lambda s: "bob" in s.users(), "bob in the pane")
        port = self.server.port
        self.assertEqual(self.server.stop(), 0)
        s = a.wait(lambda s: re.match(
            r"^\[alice@127\.0\.0\.1\] (reconnecting in \d+s|connecting) \|",
            s.status_bar()), "reconnecting in the status bar")
        # Nobody is known online while disconnected.
        self.assertNotIn("bob", s.users(), s.dump())
        self.assertNotIn("lag", s.status_bar(), s.dump())
        # The same database on the same port: both come back by themselves.
        self.server = h.Server(self.tmp, port=port)
        s = a.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected |") and "bob" in s.users(),
            "connected again, bob back", timeout=45 * h.SCALE)
        s = self.layout_ok(a, "alice")
        b.wait(lambda s: s.status_bar().startswith(
            "[bob@127.0.0.1] connected |"), "bob connected again",
            timeout=45 * h.SCALE)
        b.line("after the restart")
        a.wait_text("<bob> after the restart")


if __name__ == "__main__":
    h.main()
