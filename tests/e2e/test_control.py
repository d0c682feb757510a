"""The operator socket (`parleyd ctl`), unban and the ban list (console,
socket, wire), ban ends in milliseconds, `parleyd logins` on the command
line."""
import os
import socket
import sqlite3
import stat
import subprocess
import tempfile
import time
import unittest

from harness import (DEFAULT_PASSWORD, E, PARLEYD, Server, T_EVENT, main,
                     register_users, wait_until)


def raw_ctl(path, data, timeout=T_EVENT):
    """Sends data on the operator socket, half-closes, returns all replies."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def add_admin(srv, name="root"):
    srv.user_cmd("add", name, "--admin", stdin=DEFAULT_PASSWORD + "\n")


class Control(unittest.TestCase):
    def test_socket_mode_and_commands(self):
        with Server() as srv:
            path = srv.control_path
            self.assertEqual(srv.control_ready(), path)
            st = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            _, out, _ = srv.ctl("users")
            self.assertEqual(out, "no users online\n")
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.expect({"event": "notice", "kind": "joined", "user": "bob"})
            _, out, _ = srv.ctl("users")
            self.assertRegex(out, r"(?m)^alice online ")
            self.assertRegex(out, r"(?m)^bob online ")
            srv.ctl("say", "hello", "from", "ctl")
            a.expect({"event": "notice", "kind": "server",
                      "text": "hello from ctl"})
            # Errors: exit status 1 with the reply on stdout.
            _, out, _ = srv.ctl("kick", "ghost", status=1)
            self.assertEqual(out, "not online: ghost\n")
            _, out, _ = srv.ctl("frobnicate", status=1)
            self.assertIn("unknown command: frobnicate", out)
            srv.ctl("kick", "bob", "bye", "now")
            b.wait(4)
            _, out, _ = srv.ctl("logins", "2")
            self.assertEqual(len(out.splitlines()), 2, out)
            self.assertRegex(out, r"bob 127\.0\.0\.1:\d+ ok")
            # The stdin console still works beside the socket.
            srv.console_expect("users", r"^alice online")
            a.quit(0)
            srv.stop()
            self.assertFalse(os.path.exists(path), "socket left behind")

    def test_ctl_without_server(self):
        with Server() as srv:
            srv.stop()
            rc, out, err = srv.ctl("users", status=1)
            self.assertIn("cannot reach the server's operator socket", err)
            self.assertIn(srv.control_path, err)

    def test_ctl_usage(self):
        with Server() as srv:
            srv.ctl(status=2)
            srv.stop()

    def test_shutdown_through_socket(self):
        with Server() as srv:
            _, out, _ = srv.ctl("shutdown")
            self.assertEqual(out, "shutting down\n")
            srv.wait_exit(status=0)
            self.assertFalse(os.path.exists(srv.control_path))

    def test_no_control_and_explicit_path(self):
        with Server("--no-control") as srv:
            self.assertFalse(os.path.exists(srv.control_path))
            srv.ctl("users", status=1)
            srv.stop()
        tmp = tempfile.mkdtemp(prefix="parley-e2e-")
        path = os.path.join(tmp, "sub", "op.sock")
        with Server("--control", path, tmp=tmp) as srv:
            self.assertEqual(srv.control_ready(), path)
            self.assertEqual(
                stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
            _, out, _ = srv.ctl("users", extra=("--control", path))
            self.assertEqual(out, "no users online\n")
            srv.stop()

    def test_stale_socket_replaced_live_one_kept(self):
        with Server() as srv:
            srv.ctl("users")
            srv.kill()  # SIGKILL: the socket file stays
            self.assertTrue(os.path.exists(srv.control_path))
            again = Server(tmp=srv.tmp)
            try:
                again.ctl("users")
                # A second server on the same database does not steal it.
                third = Server(tmp=srv.tmp)
                try:
                    third.err.wait_for(r"operator socket off: another "
                                       r"parleyd")
                    third.stop()
                finally:
                    third.kill()
                _, out, _ = again.ctl("users")
                self.assertEqual(out, "no users online\n")
                again.stop()
            finally:
                again.kill()

    def test_many_clients_and_bounds(self):
        with Server() as srv:
            path = srv.control_ready()
            # Several requests on one connection, answered in order, each
            # ended by ok/error.
            out = raw_ctl(path, b"users\nbans\nnope\nlogins 1\n")
            self.assertEqual(out.count("\nok\n") + out.startswith("ok\n"), 3,
                             out)
            self.assertRegex(out, r"\| no users online\nok\n\| no bans\nok\n"
                                  r"\| unknown command: nope \(try help\)\n"
                                  r"error\n\| no logins recorded\nok\n$")
            # Many connections at once: all under the limit are served.
            socks = []
            for _ in range(20):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.settimeout(T_EVENT)
                socks.append(s)
            for s in socks:
                s.sendall(b"users\n")
                s.shutdown(socket.SHUT_WR)
            for s in socks:
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
                self.assertEqual(data, b"| no users online\nok\n")
                s.close()
            # Past the limit (32 at once): told so and closed.
            socks = []
            for _ in range(40):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.settimeout(T_EVENT)
                socks.append(s)
            refused = 0
            for s in socks:
                s.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
                if b"too many operator connections" in data:
                    refused += 1
                s.close()
            self.assertGreaterEqual(refused, 8)
            # An overlong line: an error, dropped; the next line is served.
            out = raw_ctl(path, b"say " + b"x" * 5000 + b"\nusers\n")
            self.assertEqual(out, "| request line too long (at most 1023 "
                                  "bytes)\nerror\n| no users online\nok\n")
            # A client that asks and never reads is cut off at the output
            # bound; the server keeps answering others.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(path)
            s.settimeout(T_EVENT)
            try:
                for _ in range(200):
                    s.sendall(b"help\n" * 100)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            srv.err.wait_for(r"control: a client left \d+ bytes unread")
            s.close()
            _, out, _ = srv.ctl("users")
            self.assertEqual(out, "no users online\n")
            srv.stop()


class Bans(unittest.TestCase):
    def test_console_unban_and_list(self):
        with Server() as srv:
            register_users(srv, "bob", "carol")
            srv.console_expect("bans", r"^no bans$")
            srv.console_expect("ban bob 3600 spamming", r"^banned bob for 3600")
            srv.console_expect("ban carol", r"^banned carol permanently")
            start = len(srv.out.lines)
            srv.console("bans")
            srv.out.wait_for(r"^carol until=permanent", start=start)
            i, _ = srv.out.wait_for(r"^bob until=\d{4}-\d\d-\d\dT\d\d:\d\d:"
                                    r"\d\d\.\d{3}Z by=- since=.* "
                                    r"reason=spamming$", start=start)
            srv.console_expect("unban bob", r"^unbanned bob$")
            srv.console_expect("unban bob", r"^not banned: bob$")
            srv.console_expect("unban", r"^usage: unban NAME")
            with srv.raw() as r:
                r.login("bob")
            _, out, _ = srv.ctl("bans")
            self.assertRegex(out, r"^carol until=permanent by=- since=")
            self.assertNotIn("bob", out)
            srv.ctl("unban", "carol")
            srv.ctl("unban", "carol", status=1)
            _, out, _ = srv.ctl("bans")
            self.assertEqual(out, "no bans\n")
            srv.stop()

    def test_ban_end_in_milliseconds(self):
        with Server() as srv:
            register_users(srv, "bob")
            before = int(time.time() * 1000)
            srv.console_expect("ban bob 5", r"^banned bob for 5 seconds")
            after = int(time.time() * 1000)
            db = sqlite3.connect(srv.db, timeout=10)
            until, = db.execute(
                "SELECT until FROM bans WHERE name='bob'").fetchone()
            db.close()
            # Stored in ms: exactly 5 s after the ban, not a whole second
            # that may lie almost 1 s earlier.
            self.assertGreaterEqual(until, before + 5000)
            self.assertLessEqual(until, after + 5000)
            with srv.raw() as r:
                r.hello()
                f = r._auth("LOGIN", "bob", DEFAULT_PASSWORD)
                self.assertEqual(f["code"], E["BANNED"])
                self.assertRegex(f["text"], r"for [345] more seconds")
            srv.stop()

    def test_wire_unban_and_list(self):
        with Server() as srv:
            add_admin(srv)
            register_users(srv, "bob", "eve")
            with srv.raw() as op, srv.raw() as eve:
                self.assertEqual(op.hello(version=2)["version"], 2)
                op.login("root")
                eve.hello(version=2)
                eve.login("eve")
                # Not an operator: refused.
                eve.send_frame("BANS_REQ")
                eve.expect("ERROR", code=E["PERMISSION"])
                eve.send_frame("UNBAN", user="bob")
                eve.expect("ERROR", code=E["PERMISSION"])
                op.send_frame("BAN", user="bob", duration_s=600,
                              reason="flood")
                op.expect("NOTICE", kind=5, user="bob")
                op.send_frame("BANS_REQ")
                e = op.expect("BAN_ENTRY", user="bob")
                self.assertEqual(e["actor"], "root")
                self.assertEqual(e["reason"], "flood")
                self.assertAlmostEqual(e["until_ms"] - e["since_ms"], 600000,
                                       delta=50)
                self.assertEqual(op.expect("BANS_END")["count"], 1)
                op.send_frame("UNBAN", user="bob")
                n = op.expect("NOTICE", kind=8)
                self.assertEqual((n["user"], n["actor"]), ("bob", "root"))
                op.send_frame("UNBAN", user="bob")
                op.expect("ERROR", code=E["NOT_BANNED"])
                op.send_frame("UNBAN", user="bad name!")
                op.expect("ERROR", code=E["BAD_NAME"])
                op.send_frame("BANS_REQ")
                self.assertEqual(op.expect("BANS_END")["count"], 0)
            with srv.raw() as r:
                r.login("bob")
            srv.stop()

    def test_batch_unban_and_bans(self):
        with Server() as srv:
            add_admin(srv)
            register_users(srv, "bob")
            op = srv.client("root")
            op.send("/ban bob 600 noisy")
            op.expect({"event": "notice", "kind": "banned", "user": "bob"})
            op.send("/bans")
            ev = op.expect({"event": "bans"})
            self.assertEqual([b["user"] for b in ev["bans"]], ["bob"])
            b = ev["bans"][0]
            self.assertEqual((b["by"], b["reason"]), ("root", "noisy"))
            self.assertGreater(b["until"], b["since"])
            op.send("/unban bob")
            op.expect({"event": "notice", "kind": "unbanned", "user": "bob"})
            op.send("/unban bob")
            op.expect({"event": "error", "name": "NOT_BANNED"})
            op.send("/unban")
            op.expect({"event": "error", "name": "USAGE"})
            op.send("/bans")
            self.assertEqual(op.expect({"event": "bans"})["bans"], [])
            op.quit(0)
            srv.stop()


class LoginsCommand(unittest.TestCase):
    def test_parleyd_logins(self):
        with Server() as srv:
            register_users(srv, "alice", "bob")
            with srv.raw() as r:
                r.hello()
                r._auth("LOGIN", "bob", "wrong password")
            srv.stop()
            self._check(srv)

    def _check(self, srv):
        argv = [PARLEYD, "logins", "--db", srv.db]
        out = subprocess.run(argv, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.decode().splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ alice "
                                   r"127\.0\.0\.1:\d+ ok \(registered\)$")
        self.assertRegex(lines[2], r" bob 127\.0\.0\.1:\d+ bad password$")
        out = subprocess.run(argv + ["1"], capture_output=True, timeout=30)
        self.assertEqual(out.stdout.decode().splitlines(), lines[2:])
        out = subprocess.run(argv + ["zero"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    main()
