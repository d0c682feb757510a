"""Registration and login through parley --batch; failures logged."""
import socket
import unittest

from harness import E, Server, encode, main


class Login(unittest.TestCase):
    def test_register_then_login(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            ev = a.connected
            self.assertEqual(ev["user"], "alice")
            self.assertEqual(ev["version"], 3)
            self.assertEqual(ev["server"], "e2e-server")
            self.assertIs(ev["admin"], False)
            a.expect({"event": "joined", "room": "#lobby"})
            a.quit(0)
            # Same account, right password, no --register.
            b = srv.client("alice")
            b.expect({"event": "joined", "room": "#lobby"})
            b.quit(0)
            # Names are case-insensitive unique: ALICE logs into alice.
            c = srv.client("ALICE", wait_connected=False)
            ev = c.expect({"event": "connected"})
            self.assertEqual(ev["user"].lower(), "alice")
            c.quit(0)
            srv.console_expect("logins", r"alice.*\bok\b")
            srv.stop()

    def test_unicode_password_with_spaces(self):
        pw = "pässwörd with spaces ☕"
        with Server() as srv:
            srv.client("alice", password=pw, register=True).quit(0)
            srv.client("alice", password=pw).quit(0)
            bad = srv.client("alice", password="passwörd with spaces ☕",
                             wait_connected=False)
            bad.wait(3)
            srv.stop()

    def test_accounts_managed_while_running(self):
        # The operator adds an account and resets a password with the
        # subcommands while parleyd runs on the same database.
        with Server() as srv:
            with srv.raw() as r:
                token = r.login("dora", register=True)["token"]
            srv.user_cmd("add", "carl", stdin="password123\n")
            srv.client("carl").quit(0)
            srv.user_cmd("passwd", "dora", stdin="brand-new-pw\n")
            # The reset revokes dora's session tokens...
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="dora", token=token)
                while True:
                    f = r.read_frame()
                    self.assertNotEqual(f["type"], "LOGIN_OK",
                                        "token survived a password reset")
                    if f["type"] == "ERROR":
                        self.assertEqual(f["code"], E["TOKEN_INVALID"])
                        break
            # ...and only the new password works.
            c = srv.client("dora", wait_connected=False)
            c.wait(3)
            srv.client("dora", password="brand-new-pw").quit(0)
            srv.stop()

    def test_wrong_password_refused_and_logged(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            bad = srv.client("alice", password="wrong-password",
                             wait_connected=False)
            ev = bad.expect({"event": "error"})
            self.assertEqual(ev["code"], E["AUTH_FAILED"], ev)
            self.assertEqual(ev["name"], "AUTH_FAILED")
            self.assertTrue(ev["text"])
            bad.wait(3)
            self.assertEqual(bad.count({"event": "connected"}), 0)
            line = srv.console_expect("logins", r"alice.*bad password")
            self.assertIn("127.0.0.1", line)
            srv.stop()

    def test_unknown_user_refused_and_logged(self):
        with Server() as srv:
            c = srv.client("nobody", wait_connected=False)
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["code"], E["AUTH_FAILED"], ev)
            c.wait(3)
            srv.console_expect("logins", r"nobody.*unknown user")
            srv.stop()

    def test_register_taken_name_fails(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            c = srv.client("Alice", register=True, wait_connected=False)
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["code"], E["NAME_TAKEN"], ev)
            c.wait(3)
            srv.stop()

    def test_registration_closed(self):
        with Server("--no-register") as srv:
            c = srv.client("alice", register=True, wait_connected=False)
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["code"], E["REGISTRATION_CLOSED"], ev)
            c.wait(3)
            srv.stop()

    def test_short_password_refused(self):
        with Server() as srv:
            c = srv.client("alice", password="short", register=True,
                           wait_connected=False)
            # The client may refuse it itself; if the server does, the code
            # is BAD_PASSWORD. Either way: an error and exit 3.
            ev = c.expect({"event": "error"})
            if "code" in ev and ev["code"]:
                self.assertEqual(ev["code"], E["BAD_PASSWORD"], ev)
            c.wait((2, 3))
            srv.stop()

    def test_no_password_batch_fails_clearly(self):
        with Server() as srv:
            c = srv.client("alice", password=None, register=True,
                           wait_connected=False)
            c.close_stdin()
            c.wait("nonzero")
            self.assertTrue(c.err.lines, "a message on stderr")
            srv.stop()

    def test_login_burst_all_logged_and_tokens_kept(self):
        # Registrations sent all at once queue their store jobs together,
        # and the store thread commits such runs in shared transactions:
        # every login is still in the log and every token still works.
        n = 48
        names = ["burst%02d" % i for i in range(n)]
        # Room for every registration in the password-check queue and
        # among the connections not yet logged in.
        with Server("--auth-queue", str(n * 4),
                    "--max-unauthenticated", str(n * 2)) as srv:
            conns = [srv.raw() for _ in names]
            try:
                for c, name in zip(conns, names):
                    c.send(encode("HELLO", version=3, agent="e2e-raw/3") +
                           encode("REGISTER", name=name,
                                  password="burst-password"))
                tokens = {}
                for c, name in zip(conns, names):
                    f = c.expect("LOGIN_OK")
                    self.assertEqual(f["name"], name)
                    tokens[name] = f["token"]
            finally:
                for c in conns:
                    c.close()
            start = len(srv.out.lines)
            srv.console("logins %d" % (n * 2))
            for name in names:
                srv.out.wait_for(r"\b%s\b.*ok \(registered\)" % name,
                                 start=start)
            for name in names:
                with srv.raw() as r:
                    r.hello(version=3)
                    r.send_frame("LOGIN_TOKEN", name=name,
                                 token=tokens[name])
                    self.assertEqual(r.expect("LOGIN_OK")["name"], name)
            srv.stop()

    def test_cannot_connect_exit_1(self):
        # A bound but not listening socket: connecting to it is refused and
        # the port cannot be taken by another test meanwhile.
        hold = socket.socket()
        hold.bind(("127.0.0.1", 0))
        try:
            with Server() as srv:
                c = srv.client("alice", register=True, wait_connected=False,
                               port=hold.getsockname()[1])
                c.wait(1)
                self.assertTrue(c.err.lines or c.count({"event": "disconnected"}),
                                "a clear message")
                srv.stop()
        finally:
            hold.close()


if __name__ == "__main__":
    main()
