"""Session tokens, failed-login rate limit, login state rules (raw wire)."""
import os
import time
import unittest

from harness import E, DEFAULT_PASSWORD, Server, main


class Tokens(unittest.TestCase):
    def test_token_login_and_revoke(self):
        with Server("--token-days", 2) as srv:
            with srv.raw() as r:
                ok = r.login("alice", register=True)
                self.assertEqual(ok["name"], "alice")
                self.assertEqual(ok["role"], 0)
                self.assertEqual(len(ok["token"]), 32)
                self.assertAlmostEqual(ok["token_expires"],
                                       time.time() + 2 * 86400, delta=600)
                token = ok["token"]
            # A new connection logs in with the token alone.
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="alice", token=token)
                ok2 = r.expect("LOGIN_OK")
                self.assertEqual(ok2["name"], "alice")
                token2 = ok2["token"]
                # Revoking logs out and kills that token.
                r.send_frame("LOGOUT", revoke=1)
                r.read_until_closed()
            srv.console_expect("logins", r"alice.*token")
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="alice", token=token2)
                e = r.read_frame()
                while e["type"] != "ERROR":
                    self.assertNotEqual(e["type"], "LOGIN_OK")
                    e = r.read_frame()
                self.assertEqual(e["code"], E["TOKEN_INVALID"])
                # The password still works on the same connection.
                self.assertEqual(r.login("alice")["type"], "LOGIN_OK")
            srv.stop()

    def test_forged_token_refused(self):
        with Server() as srv:
            with srv.raw() as r:
                r.login("alice", register=True)
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="alice", token=os.urandom(32))
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["TOKEN_INVALID"])
            # A token of another user does not open this one.
            with srv.raw() as r:
                tb = r.login("bob", register=True)["token"]
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="alice", token=tb)
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["TOKEN_INVALID"])
            srv.stop()

    def test_ban_revokes_token(self):
        with Server() as srv:
            with srv.raw() as r:
                t = r.login("mallory", register=True)["token"]
            srv.console_expect("ban mallory 3600", r"(?i)mallory|ban")
            with srv.raw() as r:
                r.hello()
                r.send_frame("LOGIN_TOKEN", name="mallory", token=t)
                e = r.expect("ERROR")
                self.assertIn(e["code"], (E["BANNED"], E["TOKEN_INVALID"]))
            srv.stop()


class LoginRules(unittest.TestCase):
    def test_failed_login_rate_limit(self):
        with Server("--login-failures", 3) as srv:
            a = srv.client("alice", register=True)
            codes = []
            for i in range(5):
                with srv.raw() as r:
                    r.hello()
                    r.send_frame("LOGIN", name="alice", password="wrong-%d" % i)
                    codes.append(r.expect("ERROR")["code"])
            self.assertEqual(codes[:3], [E["AUTH_FAILED"]] * 3, codes)
            self.assertEqual(codes[3:], [E["RATE_LIMITED"]] * 2, codes)
            srv.console_expect("logins", r"rate limited")
            # Those already in are not disturbed.
            a.send("unbothered")
            a.expect({"event": "message", "text": "unbothered"})
            a.quit(0)
            srv.stop()

    def test_already_logged_in_and_bad_name(self):
        with Server() as srv:
            with srv.raw() as r:
                r.login("alice", register=True)
                r.send_frame("LOGIN", name="alice", password=DEFAULT_PASSWORD)
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["ALREADY_LOGGED_IN"])
                r.send_frame("PING", token=3)
                r.expect("PONG")
            for bad in ("1abc", "-x", "a b", "é"):
                with srv.raw() as r:
                    r.hello()
                    r.send_frame("REGISTER", name=bad, password="password123")
                    e = r.expect("ERROR")
                    self.assertEqual(e["code"], E["BAD_NAME"], bad)
            with srv.raw() as r:
                r.hello()
                r.send_frame("REGISTER", name="shortpw", password="1234567")
                self.assertEqual(r.expect("ERROR")["code"], E["BAD_PASSWORD"])
            srv.stop()

    def test_request_before_login_refused(self):
        with Server() as srv:
            with srv.raw() as r:
                r.hello()
                for name, kw in (("JOIN", {"room": "#x"}), ("WHO_REQ", {}),
                                 ("ROOMS_REQ", {})):
                    r.send_frame(name, **kw)
                    e = r.expect("ERROR")
                    self.assertEqual(e["code"], E["NOT_LOGGED_IN"], name)
                self.assertEqual(r.login("zed", register=True)["type"],
                                 "LOGIN_OK")
            srv.stop()

    def test_auto_join_sequence_on_login(self):
        # After LOGIN_OK: JOINED #lobby, backlog, HISTORY_END, then the
        # presence list ending in WHO_END (CONTRACT.md, login flow).
        with Server() as srv:
            with srv.raw() as r:
                r.login("alice", register=True)
                seq = []
                while True:
                    f = r.read_frame()
                    seq.append(f)
                    if f["type"] == "WHO_END":
                        break
                types = [f["type"] for f in seq]
                self.assertEqual(types[0], "JOINED", types)
                self.assertEqual(seq[0]["room"], "#lobby")
                self.assertIn("HISTORY_END", types)
                self.assertLess(types.index("HISTORY_END"),
                                types.index("WHO_END"))
                pres = [f for f in seq if f["type"] == "PRESENCE"]
                self.assertTrue(any(p["user"] == "alice" and
                                    p["flags"] & 0x04 for p in pres), pres)
                self.assertTrue(all(p["flags"] & 0x02 for p in pres), pres)
                self.assertEqual(seq[-1]["count"], len(pres))
            srv.stop()


if __name__ == "__main__":
    main()
