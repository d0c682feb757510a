"""Smoke test: raw handshake, version mismatch, server keeps serving."""
import unittest

from harness import E, T, ConnClosed, Server, main


class Smoke(unittest.TestCase):
    def test_handshake_welcome(self):
        with Server() as srv:
            with srv.raw() as r:
                w = r.hello(version=1)
                self.assertEqual(w["type"], "WELCOME", w)
                self.assertEqual(w["version"], 1)
                self.assertEqual(w["server_name"], "e2e-server")
                self.assertEqual(w["max_msg_chars"], 280)
                self.assertEqual(w["max_frame"], 65536)
                self.assertEqual(w["history_len"], 100)
                self.assertEqual(w["max_rooms"], 20)
                self.assertTrue(w["flags"] & 0x01, "registration open flag")
                self.assertTrue(w["agent"], "server agent named")
                # The connection is usable: PING gets PONG with the token.
                r.send_frame("PING", token=0xDEADBEEF01)
                self.assertEqual(r.expect("PONG")["token"], 0xDEADBEEF01)
            srv.stop()

    def test_unicode_server_name(self):
        with Server(name="Café ☕ srv") as srv:
            with srv.raw() as r:
                self.assertEqual(r.hello()["server_name"], "Café ☕ srv")
            c = srv.client("alice", register=True)
            self.assertEqual(c.connected["server"], "Café ☕ srv")
            c.quit(0)
            srv.stop()

    def test_limits_in_welcome_follow_options(self):
        with Server("--max-msg-chars", 500, "--history", 7) as srv:
            with srv.raw() as r:
                w = r.hello()
                self.assertEqual(w["max_msg_chars"], 500)
                self.assertEqual(w["history_len"], 7)
            srv.stop()

    def test_wrong_version_refused_server_keeps_serving(self):
        with Server() as srv:
            # A bystander logged in before the bad client must not notice.
            with srv.raw() as other:
                other.login("bystander", register=True)
                with srv.raw() as bad:
                    e = bad.hello(version=99)
                    self.assertEqual(e["type"], "ERROR", e)
                    self.assertEqual(e["code"], E["VERSION"])
                    self.assertEqual(e["ref_type"], T["HELLO"])
                    # The subject names the versions the server speaks.
                    self.assertEqual(e["subject"], "1-3")
                    self.assertTrue(e["text"])
                    with self.assertRaises(ConnClosed):
                        while True:
                            bad.read_frame()
                other.send_frame("PING", token=7)
                self.assertEqual(other.expect("PONG")["token"], 7)
            # A new client after that is served normally.
            with srv.raw() as r:
                self.assertEqual(r.hello()["type"], "WELCOME")
            c = srv.client("alice", register=True)
            self.assertEqual(c.connected["version"], 3)
            self.assertEqual(c.connected["max_msg_chars"], 280)
            self.assertEqual(c.connected["server"], "e2e-server")
            c.quit(0)
            srv.stop()

    def test_version_zero_refused(self):
        with Server() as srv:
            with srv.raw() as bad:
                e = bad.hello(version=0)
                self.assertEqual((e["type"], e["code"]), ("ERROR", 20))
            with srv.raw() as r:
                self.assertEqual(r.hello()["type"], "WELCOME")
            srv.stop()

    def test_sigterm_right_after_ready_line(self):
        # "listening on" is the readiness signal: a SIGTERM sent right after
        # it must already be a clean shutdown (exit 0), not a kill.
        for _ in range(3):
            with Server() as srv:
                srv.stop()

    def test_sigint_clean_exit(self):
        import signal
        with Server() as srv:
            with srv.raw() as r:
                r.login("alice", register=True)
                srv.proc.send_signal(signal.SIGINT)
                r.read_until_closed()
            srv.wait_exit(status=0)

    def test_console_eof_does_not_stop_server(self):
        with Server() as srv:
            srv.proc.stdin.close()
            with srv.raw() as r:
                self.assertEqual(r.hello()["type"], "WELCOME")
            self.assertIsNone(srv.proc.poll())
            srv.stop()


if __name__ == "__main__":
    main()
