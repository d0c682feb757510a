"""TLS on the chat connection: the server's identity, trust on first use in
batch mode, a CA-verified certificate, plain text against TLS both ways,
and hostile handshakes (garbage, a stalled hello) cut off while others chat
on."""
import os
import re
import socket
import subprocess
import tempfile
import time
import types
import unittest

from harness import (E, PARLEY, PARLEYD, T_EVENT, T_EXIT, Client,
                     RawConn, Server, main, tls_client_context, wait_until)


def fingerprint(srv, *extra):
    """`parleyd fingerprint` for srv's database (and extra options)."""
    _, out, _ = srv._tool([PARLEYD, "fingerprint", "--db", srv.db] +
                          list(extra), b"", 0)
    return out.strip()


def config_home():
    """A fresh $XDG_CONFIG_HOME shared by the clients of one test."""
    return os.path.join(tempfile.mkdtemp(prefix="parley-tls-"), "config")


def known_servers(cfg):
    p = os.path.join(cfg, "parley", "known_servers")
    if not os.path.exists(p):
        return ""
    with open(p) as f:
        return f.read()


def forget(cfg, target):
    env = dict(os.environ, XDG_CONFIG_HOME=cfg)
    p = subprocess.run([PARLEY, "--forget", target], capture_output=True,
                       timeout=T_EXIT, env=env, text=True)
    return p.returncode, p.stdout + p.stderr


def refused_reason(c, status):
    """Waits for c to give up with status; returns its reason."""
    ev = c.expect({"event": "disconnected"})
    c.wait(status)
    return ev["reason"]


class Tls(unittest.TestCase):
    def chat(self, srv, a="alice", b="bob", text="hello over tls"):
        x = srv.client(a, register=True)
        y = srv.client(b, register=True)
        x.expect({"event": "joined", "room": "#lobby"})
        y.expect({"event": "joined", "room": "#lobby"})
        x.send(text)
        y.expect({"event": "message", "from": a, "text": text})
        return x, y

    def test_login_and_chat_over_tls(self):
        with Server("--log-level", "debug") as srv:
            fp = fingerprint(srv)
            self.assertRegex(fp, r"^SHA256:[A-Za-z0-9+/]{43}$")
            # The key file beside the database is private.
            self.assertEqual(os.stat(srv.db + ".key").st_mode & 0o777, 0o600)
            self.chat(srv)
            srv.err.wait_for(r"TLS: TLSv1\.3 TLS_AES_128_GCM_SHA256")
            # What a third party sees: a TLS 1.3 server preferring
            # AES-128-GCM, and session tickets for a resumed handshake.
            r = RawConn(srv.port)
            self.assertEqual(r.sock.version(), "TLSv1.3")
            self.assertEqual(r.sock.cipher()[0], "TLS_AES_128_GCM_SHA256")
            self.assertEqual(r.hello(version=2)["type"], "WELCOME")
            sess = r.sock.session  # the tickets came before WELCOME
            r.close()
            raw = socket.create_connection(("127.0.0.1", srv.port))
            with tls_client_context().wrap_socket(raw, session=sess) as s:
                self.assertTrue(s.session_reused, "TLS 1.3 resumption")
            srv.stop()

    def test_first_use_refused_then_trusted_then_pinned(self):
        with Server() as srv:
            fp = fingerprint(srv)
            cfg = config_home()
            env = {"XDG_CONFIG_HOME": cfg}
            srv.client("alice", register=True, trust=True).quit(0)
            # Unknown server, batch mode, no --trust-new: refused, exit 5,
            # and the reason shows the fingerprint and what to do.
            c = srv.client("alice", trust=False, env=env,
                           wait_connected=False)
            why = refused_reason(c, 5)
            self.assertIn(fp, why)
            self.assertIn("--trust-new", why)
            self.assertEqual(known_servers(cfg), "")
            # With --trust-new: connected, and the key pinned.
            c = srv.client("alice", trust=True, env=env)
            c.quit(0)
            line = "127.0.0.1:%d %s\n" % (srv.port, fp)
            wait_until(lambda: known_servers(cfg) == line, T_EVENT,
                       "known_servers line")
            # Pinned: no option needed any more.
            c = srv.client("alice", trust=False, env=env)
            c.quit(0)
            self.assertEqual(known_servers(cfg), line)
            srv.stop()

    def test_fingerprint_option(self):
        with Server() as srv:
            fp = fingerprint(srv)
            srv.client("alice", register=True).quit(0)
            cfg = config_home()
            wrong = "SHA256:" + "A" * 43
            c = srv.client("alice", trust=False, wait_connected=False,
                           env={"XDG_CONFIG_HOME": cfg},
                           args=["--fingerprint", wrong])
            why = refused_reason(c, 5)
            self.assertIn(fp, why)
            self.assertIn(wrong, why)
            c = srv.client("alice", trust=False, env={"XDG_CONFIG_HOME": cfg},
                           args=["--fingerprint", fp])
            c.quit(0)
            wait_until(lambda: fp in known_servers(cfg), T_EVENT, "pinned")
            srv.stop()

    def test_changed_key_refused_then_forget(self):
        with Server() as old, Server() as srv:
            old_fp, fp = fingerprint(old), fingerprint(srv)
            self.assertNotEqual(old_fp, fp)
            old.stop()
            srv.client("alice", register=True).quit(0)
            cfg = config_home()
            os.makedirs(os.path.join(cfg, "parley"))
            key = "127.0.0.1:%d" % srv.port
            with open(os.path.join(cfg, "parley", "known_servers"), "w") as f:
                f.write("# mine\nother:1 %s\n%s %s\n" % (fp, key, old_fp))
            c = srv.client("alice", trust=True, wait_connected=False,
                           env={"XDG_CONFIG_HOME": cfg})
            why = refused_reason(c, 5)
            # Loud: both keys, the line to remove and the command.
            self.assertIn("changed", why)
            self.assertIn(fp, why)
            self.assertIn(old_fp, why)
            self.assertIn("%s %s" % (key, old_fp), why)
            self.assertIn("parley --forget " + key, why)
            rc, out = forget(cfg, key)
            self.assertEqual(rc, 0, out)
            self.assertIn("forgotten", out)
            # Only that line went; the others stay.
            self.assertEqual(known_servers(cfg),
                             "# mine\nother:1 %s\n" % fp)
            c = srv.client("alice", trust=False, env={"XDG_CONFIG_HOME": cfg},
                           args=["--fingerprint", fp])
            c.quit(0)
            wait_until(lambda: "%s %s" % (key, fp) in known_servers(cfg),
                       T_EVENT, "the new key pinned")
            srv.stop()

    def test_ca_verified_certificate(self):
        d = tempfile.mkdtemp(prefix="parley-ca-")

        def ossl(*a):
            subprocess.run(["openssl"] + list(a), cwd=d, check=True,
                           capture_output=True, timeout=T_EXIT)
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", "/CN=parley test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign")
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj",
             "/CN=localhost")
        with open(os.path.join(d, "ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
             "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
             "-extfile", "ext")
        cert, key = os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")
        with Server("--tls-cert", cert, "--tls-key", key) as srv:
            fp = fingerprint(srv, "--tls-cert", cert, "--tls-key", key)
            self.assertFalse(os.path.exists(srv.db + ".key"),
                             "no key made when one is given")
            srv.client("alice", register=True).quit(0)
            cfg = config_home()
            # Without the test CA the certificate is just unknown.
            c = srv.client("alice", trust=False, wait_connected=False,
                           env={"XDG_CONFIG_HOME": cfg,
                                "SSL_CERT_FILE": os.path.join(d, "none")})
            refused_reason(c, 5)
            # With it as the system's CAs: accepted without a question,
            # and pinned all the same.
            c = srv.client("alice", trust=False,
                           env={"XDG_CONFIG_HOME": cfg,
                                "SSL_CERT_FILE": os.path.join(d, "ca.pem")})
            c.quit(0)
            wait_until(lambda: ("127.0.0.1:%d %s" % (srv.port, fp))
                       in known_servers(cfg), T_EVENT, "pinned")
            srv.stop()

    def test_plain_client_against_tls_server(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            # A raw plain-text HELLO gets ERROR TLS_REQUIRED in clear.
            r = RawConn(srv.port, tls=False)
            f = r.hello()
            self.assertEqual(f["type"], "ERROR")
            self.assertEqual(f["code"], E["TLS_REQUIRED"])
            self.assertIn("TLS", f["text"])
            r.read_until_closed()
            # parley --insecure-plaintext says so and gives up (exit 1).
            c = srv.client("alice", trust=False, wait_connected=False,
                           args=["--insecure-plaintext"])
            c.expect({"event": "error", "code": E["TLS_REQUIRED"]})
            self.assertIn("TLS", refused_reason(c, 1))
            self.chat(srv, "carol", "dave")
            srv.stop()

    def test_tls_client_against_plain_server(self):
        with Server("--insecure-plaintext") as srv:
            srv.err.wait_for(r"WARNING: --insecure-plaintext")
            srv.client("alice", register=True).quit(0)  # plain both sides
            # A client that speaks TLS: a clear message, no retry, fast.
            tls_view = types.SimpleNamespace(tls=True, port=srv.port,
                                             tmp=srv.tmp)
            t0 = time.monotonic()
            c = Client(tls_view, "alice", trust=True, wait_connected=False)
            why = refused_reason(c, 1)
            self.assertIn("does not speak TLS", why)
            self.assertIn("--insecure-plaintext", why)
            self.assertLess(time.monotonic() - t0, T_EVENT)
            srv.stop()

    def test_silent_server_handshake_timeout(self):
        # A server that accepts and never answers the ClientHello: the
        # client gives up after its stated 10 s, with a clear reason.
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        view = types.SimpleNamespace(tls=True, port=lst.getsockname()[1],
                                     tmp=tempfile.mkdtemp(prefix="parley-"))
        t0 = time.monotonic()
        c = Client(view, "alice", trust=True, wait_connected=False)
        why = refused_reason(c, 1)
        took = time.monotonic() - t0
        self.assertIn("no TLS handshake", why)
        self.assertGreaterEqual(took, 9)
        lst.close()

    def test_hostile_handshakes(self):
        with Server("--hello-timeout", "2") as srv:
            a, b = self.chat(srv)
            # A stalled handshake: a record header and nothing more.
            stalled = socket.create_connection(("127.0.0.1", srv.port))
            stalled.sendall(b"\x16\x03\x01\x02")
            t0 = time.monotonic()
            # Garbage after the handshake byte: cut off at once.
            junk = socket.create_connection(("127.0.0.1", srv.port))
            junk.sendall(b"\x16" + os.urandom(300))
            junk.settimeout(T_EVENT)
            try:
                while junk.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            # Others chat on meanwhile.
            a.send("still here")
            b.expect({"event": "message", "text": "still here"})
            stalled.settimeout(T_EVENT)
            try:
                data = stalled.recv(4096)
            except ConnectionResetError:
                data = b""
            took = time.monotonic() - t0
            self.assertEqual(data, b"", "closed without a word")
            self.assertGreaterEqual(took, 1.0)
            self.assertLess(took, 2 + 3)
            srv.err.wait_for(r"no TLS handshake within 2 seconds")
            b.send("and still")
            a.expect({"event": "message", "text": "and still"})
            stalled.close()
            junk.close()
            srv.stop()

    def test_handshakes_count_against_per_ip_limit(self):
        with Server("--max-per-ip", "2") as srv:
            held = []
            for _ in range(2):  # two handshakes in progress
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.sendall(b"\x16\x03\x01")
                held.append(s)
            wait_until(lambda: srv.err.lines and sum(
                "connected" in l for l in srv.err.lines) >= 2, T_EVENT,
                "two connections accepted")
            # The third is refused, in TLS once its handshake is done.
            r = RawConn(srv.port)
            f = r.read_frame()
            self.assertEqual(f["type"], "ERROR")
            self.assertEqual(f["code"], E["SERVER_FULL"])
            self.assertIn("too many connections from your address",
                          f["text"])
            r.close()
            for s in held:
                s.close()
            srv.stop()

    # ---- session resumption across a restart (the tickets file) ----------

    def handshakes(self, srv):
        """(full, resumed) from `parleyd ctl tls`."""
        _, out, _ = srv.ctl("tls")
        m = re.search(r"^tls handshakes: (\d+) full, (\d+) resumed$", out,
                      re.M)
        self.assertIsNotNone(m, out)
        return int(m.group(1)), int(m.group(2))

    def restarted(self, srv, clients, before_start=None, crash=False):
        """Stops srv (crash: SIGKILL) with the clients left running (they
        wait to reconnect), runs before_start, then starts a parleyd on
        the same port and database; returns it once the clients are
        back."""
        port = srv.port
        marks = [c.mark() for c in clients]
        if crash:
            srv.kill()
        else:
            srv.stop_keep_clients()
        for c in clients:
            c.expect({"event": "reconnecting"})
        if before_start:
            before_start()
        srv2 = Server(listen="127.0.0.1:%d" % port, tmp=srv.tmp)
        srv2.clients.extend(clients)
        for c, m in zip(clients, marks):
            c.expect({"event": "connected"}, since=m, timeout=30)
        return srv2

    def tickets(self, srv):
        with open(srv.db + ".tickets") as f:
            return f.read().splitlines()

    def reconnecting_alice(self, srv):
        """alice, registered, online with a client that reconnects."""
        srv.client("alice", register=True).quit(0)
        a = srv.client("alice", reconnect=True)
        a.expect({"event": "joined", "room": "#lobby"})
        return a

    def test_sessions_resume_after_restart(self):
        with Server() as srv:
            a = self.reconnecting_alice(srv)
            self.assertEqual(self.handshakes(srv), (2, 0))
            # The ticket keys beside the database are private.
            st = os.stat(srv.db + ".tickets")
            self.assertEqual(st.st_mode & 0o777, 0o600)
            lines = self.tickets(srv)
            self.assertEqual(lines[0], "parley-tickets 1")
            self.assertEqual(len(lines), 2)
            # A new parleyd on the same database: alice comes back by
            # herself, and her handshake resumes the session.
            with self.restarted(srv, [a]) as srv2:
                self.assertEqual(self.handshakes(srv2), (0, 1))
                srv2.err.wait_for(r"TLS: session ticket keys from .*tickets "
                                  r"\(1, the newest 0 h old\)")
                # The same key: nothing was written again.
                self.assertEqual(self.tickets(srv2), lines)
                a.expect({"event": "joined", "room": "#lobby"})
                b = srv2.client("bob", register=True)
                a.send("resumed")
                b.expect({"event": "message", "from": "alice",
                          "text": "resumed"})
                self.assertEqual(self.handshakes(srv2), (1, 1))
                srv2.stop()

    def test_sessions_resume_after_a_crash(self):
        # No close_notify from a killed server: the client's session must
        # stay resumable all the same.
        with Server() as srv:
            a = self.reconnecting_alice(srv)
            with self.restarted(srv, [a], crash=True) as srv2:
                self.assertEqual(self.handshakes(srv2), (0, 1))
                srv2.stop()

    def test_tickets_are_good_for_a_day(self):
        # A client connected for hours still resumes after a restart:
        # parleyd's tickets say 24 h, not OpenSSL's default 2 h.
        with Server() as srv:
            r = RawConn(srv.port)
            r.hello(version=3)  # the tickets come before WELCOME
            self.assertEqual(r.sock.session.ticket_lifetime_hint, 86400)
            r.close()

    def test_rotated_key_still_resumes_older_tickets(self):
        with Server() as srv:
            a = self.reconnecting_alice(srv)
            old = self.tickets(srv)[1]

            def age_key():  # as if parleyd had run for 4 days
                made, rest = old.split(" ", 1)
                with open(srv.db + ".tickets", "w") as f:
                    f.write("parley-tickets 1\n%d %s\n" %
                            (int(made) - 4 * 86400, rest))
            with self.restarted(srv, [a], age_key) as srv2:
                # alice's ticket was made with the old key: it still works.
                self.assertEqual(self.handshakes(srv2), (0, 1))
                srv2.err.wait_for(r"TLS: new session ticket key in .*tickets "
                                  r"\(1 kept")
                lines = self.tickets(srv2)
                self.assertEqual(len(lines), 3)  # the new key, then the old
                self.assertEqual(lines[2].split(" ", 1)[1],
                                 old.split(" ", 1)[1])
                self.assertEqual(os.stat(srv.db + ".tickets").st_mode & 0o777,
                                 0o600)
                srv2.stop()

    def test_key_rotates_while_running(self):
        # The key rotates at run time too, not only at start-up: a test
        # hook makes the period 5 s instead of 12 h. The old key stays for
        # the tickets already issued, and alice's (made under it) resumes
        # after a restart.
        hook = {"PARLEYD_TEST_TICKET_ROTATE_S": "5"}
        with Server(env=hook) as srv:
            a = self.reconnecting_alice(srv)
            old = self.tickets(srv)[1]
            srv.err.wait_for(r"TLS: new session ticket key in .*tickets "
                             r"\(1 kept for tickets already issued\)",
                             timeout=30)
            lines = self.tickets(srv)
            self.assertEqual(lines[0], "parley-tickets 1")
            self.assertIn(old, lines[2:])
            self.assertNotEqual(lines[1], old)  # the new key is first
            self.assertEqual(os.stat(srv.db + ".tickets").st_mode & 0o777,
                             0o600)
            with self.restarted(srv, [a]) as srv2:
                self.assertEqual(self.handshakes(srv2), (0, 1))
                srv2.stop()

    def test_damaged_tickets_file_is_replaced(self):
        for content, mode, why in [
                (b"parley-tickets 1\n12 zz\n", 0o600, "damaged"),
                (b"\x00" * 100000, 0o600, "damaged"),
                (b"parley-tickets 1\n", 0o644,
                 r"readable by others \(mode 644\)")]:
            with Server(start=False) as srv:
                path = srv.db + ".tickets"
                with open(path, "wb") as f:
                    f.write(content)
                os.chmod(path, mode)
                srv.start()
                srv.err.wait_for(r"WARNING: TLS session ticket keys "
                                 r"\S+db\.tickets: %s; made a new key" % why)
                self.chat(srv)
                lines = self.tickets(srv)
                self.assertEqual(lines[0], "parley-tickets 1")
                self.assertEqual(len(lines), 2)
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                self.assertEqual(self.handshakes(srv), (2, 0))
                srv.stop()

if __name__ == "__main__":
    main()
