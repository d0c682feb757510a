"""Limits: message length, server full, flood control."""
import unittest

from harness import E, Server, main, wait_until


class MessageLength(unittest.TestCase):
    def test_281_refused_280_multibyte_delivered(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            too_long = "x" * 281
            a.send(too_long)
            ev = a.expect({"event": "error"})
            self.assertEqual(ev["code"], E["MSG_TOO_LONG"], ev)
            self.assertEqual(ev["name"], "MSG_TOO_LONG")
            self.assertIn("280", ev["text"])
            # 280 characters, 2..4 bytes each (840 bytes): counted as
            # characters, so it is delivered intact.
            multi = ("é日€😀" * 70)
            self.assertEqual(len(multi), 280)
            a.send(multi)
            # The refused one never reached bob, nor was it echoed to alice;
            # the 280-character message sent after it is the marker.
            ev = b.expect_none({"text": too_long},
                               {"event": "message", "room": "#lobby",
                                "text": multi})
            self.assertEqual(ev["from"], "alice")
            a.expect({"event": "message", "text": multi})
            self.assertEqual(a.count({"event": "message", "text": too_long}),
                             0)
            plain = "y" * 280
            a.send(plain)
            b.expect({"event": "message", "text": plain})
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_limit_from_option_and_raw_frame(self):
        with Server("--max-msg-chars", 10) as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("rawuser", register=True)
                # Bypass any client-side check: the server itself refuses.
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="0123456789A")
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["MSG_TOO_LONG"])
                self.assertEqual(e["ref_type"], 0x0301)
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="0123456789")
                r.expect("MSG", text="0123456789")
                b.expect_none({"text": "0123456789A"},
                              {"event": "message", "text": "0123456789"})
                # Control characters are refused too (terminal escapes).
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="\x1b[2J")
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["CONTROL_CHARS"])
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="")
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["MSG_EMPTY"])
            b.quit(0)
            srv.stop()


class Text(unittest.TestCase):
    def test_tab_allowed_newline_refused(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("rawuser", register=True)
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="line one\nline two")
                self.assertEqual(r.expect("ERROR")["code"],
                                 E["CONTROL_CHARS"])
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="col1\tcol2")
                b.expect({"event": "message", "text": "col1\tcol2"})
                self.assertEqual(b.count({"text": "line one\nline two"}), 0)
            b.quit(0)
            srv.stop()


class ServerFull(unittest.TestCase):
    def test_default_limit_50(self):
        with Server() as srv:
            conns = []
            try:
                for i in range(50):
                    r = srv.raw()
                    r.login("u%02d" % i, register=True)
                    conns.append(r)
                extra = srv.raw()
                f = extra.hello()
                if f["type"] == "WELCOME":
                    extra.send_frame("REGISTER", name="u50",
                                     password="password123")
                    f = extra.read_frame()
                self.assertEqual((f["type"], f.get("code")),
                                 ("ERROR", E["SERVER_FULL"]))
                extra.close()
                conns[0].send_frame("PING", token=5)
                conns[0].expect("PONG")
            finally:
                for r in conns:
                    r.close()
            srv.stop()


    def test_third_client_refused(self):
        with Server("--max-clients", 2) as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            c = srv.client("carol", register=True, wait_connected=False)
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["code"], E["SERVER_FULL"], ev)
            c.wait("nonzero")
            self.assertEqual(c.count({"event": "connected"}), 0)
            # The two inside still chat.
            a.send("still here")
            b.expect({"event": "message", "text": "still here"})
            # After one leaves, a newcomer gets in.
            b.quit(0)
            a.expect({"event": "notice", "kind": "quit", "user": "bob"})
            d = srv.client("dave", register=True)
            d.quit(0)
            srv.console_expect("logins", r"server full")
            a.quit(0)
            srv.stop()

    def test_raw_server_full_frame(self):
        with Server("--max-clients", 1) as srv:
            with srv.raw() as r1:
                r1.login("first", register=True)
                with srv.raw() as r2:
                    # Refused at the handshake or the login, with SERVER_FULL,
                    # then closed.
                    f = r2.hello()
                    if f["type"] == "WELCOME":
                        r2.send_frame("REGISTER", name="second",
                                      password="password123")
                        f = r2.read_frame()
                    self.assertEqual(f["type"], "ERROR", f)
                    self.assertEqual(f["code"], E["SERVER_FULL"])
                    r2.read_until_closed()
                r1.send_frame("PING", token=1)
                r1.expect("PONG")
            srv.stop()


def send_until_accepted(c, prefix, bound=15):
    """Sends prefix-N lines, polling (with back-off, bounded) until one is
    accepted rather than answered with FLOOD; returns the accepted text."""
    state = {"i": 0, "text": None}

    def accepted():
        state["i"] += 1
        t = "%s-%d" % (prefix, state["i"])
        m = c.mark()
        c.send(t)
        ev = c.expect(lambda e: e.get("text") == t or
                      (e.get("event") == "error" and
                       e.get("code") == E["FLOOD"]), since=m)
        if ev.get("event") == "message":
            state["text"] = t
            return True
        return False
    wait_until(accepted, bound, "a message accepted after the flood")
    return state["text"]


class Flood(unittest.TestCase):
    def test_flood_refused_server_keeps_serving(self):
        with Server("--flood-rate", 1, "--flood-burst", 3) as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            n = 20
            a.send_many(["flood %d" % i for i in range(n)])
            ev = a.expect({"event": "error", "code": E["FLOOD"]})
            self.assertEqual(ev["name"], "FLOOD")

            # Every line is either delivered (echo) or refused (FLOOD), and
            # the burst bounds how many got through.
            def settled():
                got = a.count({"event": "message", "from": "alice"})
                refused = a.count({"event": "error", "code": E["FLOOD"]})
                return got + refused >= n and (got, refused)
            got, refused = wait_until(settled, 10, "all %d answered" % n)
            self.assertLessEqual(got, 3 + 2, (got, refused))
            self.assertGreaterEqual(refused, n - 5)
            self.assertEqual(got + refused, n)
            # The server still serves: bob (not flooding) chats fine.
            b.send("bob is fine")
            a.expect({"event": "message", "from": "bob",
                      "text": "bob is fine"})
            # alice can talk again once the rate allows; that message is the
            # marker: nothing refused reached bob before it.
            delivered = {e["text"] for e in a.all({"event": "message",
                                                   "from": "alice"})}
            t = send_until_accepted(a, "calm")
            b.expect({"event": "message", "from": "alice", "text": t})
            for e in b.all({"event": "message", "from": "alice"}):
                if e["text"].startswith("flood"):
                    self.assertIn(e["text"], delivered)
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_flood_raw_connection_stays_open(self):
        with Server("--flood-rate", 1, "--flood-burst", 2) as srv:
            with srv.raw() as r:
                r.login("rawflood", register=True)
                for i in range(10):
                    r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                                 text="r%d" % i)
                r.expect("ERROR", code=E["FLOOD"])
                r.send_frame("PING", token=99)
                while True:
                    f = r.read_frame()
                    if f["type"] == "PONG":
                        self.assertEqual(f["token"], 99)
                        break
            srv.stop()


if __name__ == "__main__":
    main()
