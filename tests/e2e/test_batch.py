"""parley --batch behaviour: EOF finishes pending work, /quit, /help,
--password-file, reconnect with the session token after a server restart."""
import os
import tempfile
import unittest

from harness import Server, main


class Batch(unittest.TestCase):
    def test_eof_flushes_pending(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            a = srv.client("alice", register=True)
            b.expect({"event": "notice", "kind": "joined", "user": "alice"})
            # Written and closed at once: still sent before the exit.
            a.send_many(["last words %d" % i for i in range(5)])
            a.close_stdin()
            a.wait(0)
            for i in range(5):
                b.expect({"event": "message", "from": "alice",
                          "text": "last words %d" % i})
            b.expect({"event": "notice", "kind": "quit", "user": "alice"})
            b.quit(0)
            srv.stop()

    def test_quit_and_bye(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            a = srv.client("alice", register=True)
            # A join and quit within one --coalesce-ms are never announced.
            b.expect({"event": "notice", "kind": "joined", "user": "alice"})
            a.send("/quit see you")
            a.wait(0)
            ev = b.expect({"event": "notice", "kind": "quit",
                           "user": "alice"})
            c = srv.client("carol", register=True)
            b.expect({"event": "notice", "kind": "joined", "user": "carol"})
            c.send("/bye")
            c.wait(0)
            b.expect({"event": "notice", "kind": "quit", "user": "carol"})
            b.quit(0)
            srv.stop()

    def test_help_and_unknown_command(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.send("/help")
            ev = a.expect({"event": "help"})
            cmds = " ".join(c["command"] for c in ev["commands"])
            for want in ("/join", "/part", "/msg", "/query", "/me", "/away",
                         "/back", "/busy", "/who", "/rooms", "/kick",
                         "/quit", "/scan"):
                self.assertIn(want, cmds)
            self.assertTrue(all(c["help"] for c in ev["commands"]))
            a.send("/frobnicate now")
            a.expect({"event": "error"})
            # Still alive and well after it.
            a.send("after unknown")
            a.expect({"event": "message", "text": "after unknown"})
            a.quit(0)
            srv.stop()

    def test_bad_stdin_lines(self):
        # Oversized, invalid UTF-8 and escape-carrying lines: each an error
        # event, nothing sent, the client carries on.
        with Server() as srv:
            b = srv.client("bob", register=True)
            a = srv.client("alice", register=True)
            b.expect({"event": "notice", "kind": "joined", "user": "alice"})
            a.proc.stdin.write(b"x" * 200000 + b"\n")
            a.proc.stdin.write(b"bad \xff\xfe utf8\n")
            a.proc.stdin.write(b"esc \x1b[31m red\n")
            a.proc.stdin.write(b"fine after all that\n")
            a.proc.stdin.flush()
            ev = b.expect_none(lambda e: e["event"] == "message" and
                               e["from"] == "alice" and
                               e["text"] != "fine after all that",
                               {"event": "message",
                                "text": "fine after all that"})
            a.expect({"event": "message", "text": "fine after all that"})
            self.assertEqual(a.count({"event": "error"}), 3, a.recent())
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_password_file(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            fd, path = tempfile.mkstemp(dir=srv.tmp)
            with os.fdopen(fd, "w") as f:
                f.write("password123\n")
            c = srv.client("alice", password=None,
                           args=["--password-file", path])
            c.quit(0)
            srv.stop()

    def test_usage_error_exit_2(self):
        with Server() as srv:
            c = srv.client("alice", args=["--no-such-option"],
                           wait_connected=False)
            c.close_stdin()
            c.wait(2)
            self.assertTrue(c.err.lines)
            srv.stop()

    def test_reconnect_with_token_after_restart(self):
        srv = Server()
        with srv:
            srv.client("alice", register=True).quit(0)
            a = srv.client("alice", reconnect=True)
            a.expect({"event": "joined", "room": "#lobby"})
            a.send("/join #dev")
            a.expect({"event": "joined", "room": "#dev"})
            a.send("before restart")
            a.expect({"event": "message", "text": "before restart"})
            # Restart the server on the same port with the same database.
            port = srv.port
            srv.stop_keep_clients()
            ev = a.expect({"event": "reconnecting"})
            self.assertIsInstance(ev["in_ms"], int)
            m = a.mark()
            srv2 = Server(listen="127.0.0.1:%d" % port, tmp=srv.tmp)
            with srv2:
                srv2.clients.append(a)
                a.expect({"event": "connected"}, since=m, timeout=30)
                a.expect({"event": "joined", "room": "#lobby"}, since=m)
                # It used the session token, not the password.
                srv2.console_expect("logins", r"alice.*token")
                # It is back in #dev too, and what it saw is not repeated
                # as new (history replayed on rejoin is deduplicated or
                # marked backlog).
                a.expect({"event": "joined", "room": "#dev"}, since=m)
                b = srv2.client("bob", register=True)
                b.send("/join #dev")
                b.expect({"event": "joined", "room": "#dev"})
                b.send("hello dev")
                a.expect({"event": "message", "room": "#dev",
                          "text": "hello dev"})
                again = a.all({"event": "message", "text": "before restart"},
                              since=m)
                self.assertTrue(all(e["backlog"] for e in again), again)
                a.send("back again")
                b.expect({"event": "message", "text": "back again"})
                b.quit(0)
                a.quit(0)
                srv2.stop()


if __name__ == "__main__":
    main()
