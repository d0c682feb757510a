"""Operator console (kick, ban, say, users, logins, shutdown) and admin
commands from a client."""
import unittest

from harness import E, Server, main


class Operator(unittest.TestCase):
    def test_console_kick(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            a.expect({"event": "notice", "kind": "joined", "user": "bob"})
            srv.console_expect("users", r"\bbob\b")
            srv.console("kick bob spamming the lobby")
            # bob is told: a kicked notice about himself or a disconnected
            # event; then exits 4.
            b.expect(lambda e: (e["event"] == "notice" and
                                e["kind"] == "kicked" and
                                e["user"] == "bob") or
                     e["event"] == "disconnected")
            b.wait(4)
            ev = a.expect({"event": "notice", "kind": "kicked",
                           "user": "bob"})
            self.assertIn("spamming the lobby", ev["text"])
            # alice is unaffected.
            m = a.mark()
            a.send("/who")
            ev = a.expect({"event": "users"}, since=m)
            self.assertNotIn("bob", [u["user"] for u in ev["users"]
                                     if u["status"] != "offline"])
            a.send("still chatting")
            a.expect({"event": "message", "text": "still chatting"})
            # A kick is not a ban: bob may come back.
            b2 = srv.client("bob")
            b2.quit(0)
            a.quit(0)
            srv.stop()

    def test_console_kick_unknown(self):
        with Server() as srv:
            srv.console_expect("kick ghost", r"(?i)ghost|no such|not")
            with srv.raw() as r:
                self.assertEqual(r.hello()["type"], "WELCOME")
            srv.stop()

    def test_console_ban(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.expect({"event": "notice", "kind": "joined", "user": "bob"})
            srv.console("ban bob 3600")
            b.wait(4)
            a.expect({"event": "notice", "kind": "banned", "user": "bob"})
            again = srv.client("bob", wait_connected=False)
            ev = again.expect({"event": "error"})
            self.assertEqual(ev["code"], E["BANNED"], ev)
            again.wait((3, 4))
            srv.console_expect("logins", r"bob.*banned")
            a.quit(0)
            srv.stop()

    def test_console_say_and_help(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            srv.console("say maintenance at noon")
            a.expect({"event": "notice", "kind": "server",
                      "text": "maintenance at noon"})
            srv.console_expect("help", r"kick")
            srv.console_expect("bogus-command", r"(?i)unknown|help")
            a.quit(0)
            srv.stop()

    def test_console_hostile_input(self):
        # Huge lines, invalid UTF-8 and escapes on the console: the server
        # stays up and never sends a frame the clients must reject.
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            srv.proc.stdin.write(b"say " + b"x" * 100000 + b"\n")
            srv.proc.stdin.write(b"say caf\xe9 latin-1\n")
            srv.proc.stdin.write(b"say \x1b[2J clear\n")
            srv.proc.stdin.write(b"kick " + b"y" * 5000 + b"\n")
            srv.proc.stdin.write(b"\x00\x01\x02\n")
            srv.proc.stdin.flush()
            srv.console("say still talking")
            a.expect({"event": "notice", "kind": "server",
                      "text": "still talking"})
            srv.console_expect("help", r"kick")
            # alice was never disconnected by an invalid frame.
            self.assertEqual(a.count({"event": "disconnected"}), 0)
            # (Escapes in "say" are checked in test_injection.py.)
            a.send("/who")
            a.expect({"event": "users"})
            a.quit(0)
            srv.stop()

    def test_console_shutdown(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            r = srv.raw()
            r.login("rawbie", register=True)
            a.expect({"event": "notice", "kind": "joined", "user": "rawbie"})
            srv.console("shutdown")
            a.expect({"event": "disconnected"})
            # Clients are told before the close: ERROR SHUTTING_DOWN, a BYE
            # or a server notice.
            frames = r.read_until_closed()
            told = [f for f in frames
                    if (f["type"] == "ERROR" and
                        f["code"] == E["SHUTTING_DOWN"]) or
                    f["type"] == "BYE" or
                    (f["type"] == "NOTICE" and f["kind"] == 0)]
            self.assertTrue(told, "not told of the shutdown: %r" % frames)
            r.close()
            srv.wait_exit(status=0)
            a.close_stdin()
            a.wait(None)

    def test_kicked_reconnecting_client_stays_out(self):
        # A kick ends the session for good even without --no-reconnect.
        with Server() as srv:
            srv.client("bob", register=True).quit(0)
            b = srv.client("bob", reconnect=True)
            b.expect({"event": "joined", "room": "#lobby"})
            srv.console("kick bob out")
            b.wait(4)
            self.assertEqual(b.count({"event": "reconnecting"}), 0)
            srv.stop()

    def test_admin_kick_from_client(self):
        with Server(start=False) as srv:
            srv.user_cmd("add", "boss", "--admin", stdin="password123\n")
            _, out, _ = srv.user_cmd("list")
            self.assertIn("boss", out)
            srv.start()
            boss = srv.client("boss")
            self.assertIs(boss.connected["admin"], True)
            u = srv.client("user1", register=True)
            v = srv.client("user2", register=True)
            # A non-admin may not kick.
            u.send("/kick user2 no right")
            ev = u.expect({"event": "error"})
            self.assertEqual(ev["code"], E["PERMISSION"], ev)
            boss.send("/kick user1 behave")
            u.wait(4)
            ev = v.expect({"event": "notice", "kind": "kicked",
                           "user": "user1"})
            self.assertEqual(ev["actor"], "boss")
            self.assertIn("behave", ev["text"])
            boss.send("/ban user2 60 go away")
            v.wait(4)
            # Without the right password a ban is not revealed (nor that
            # the account exists): the answer is the plain login failure.
            guess = srv.client("user2", password="wrong-password",
                               wait_connected=False)
            ev = guess.expect({"event": "error"})
            self.assertEqual(ev["code"], E["AUTH_FAILED"], ev)
            guess.wait(3)
            again = srv.client("user2", wait_connected=False)
            again.expect({"event": "error", "code": E["BANNED"]})
            again.wait((3, 4))
            boss.quit(0)
            srv.stop()

    def test_user_subcommands(self):
        with Server(start=False) as srv:
            srv.user_cmd("add", "carl", stdin="password123\n")
            rc, _, err = srv.user_cmd("add", "Carl", stdin="password123\n",
                                      status=None)
            self.assertNotEqual(rc, 0, "duplicate name (case-insensitive)")
            self.assertTrue(err.strip(), "a clear message")
            srv.user_cmd("passwd", "carl", stdin="newpassword9\n")
            srv.start()
            c = srv.client("carl", password="newpassword9")
            c.quit(0)
            srv.stop()
            srv.user_cmd("del", "carl")
            _, out, _ = srv.user_cmd("list")
            self.assertNotIn("carl", out)


if __name__ == "__main__":
    main()
