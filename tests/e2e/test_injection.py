"""No user-controlled text reaches other clients with control characters
(terminal escapes) or invisible bidi / zero-width formatting: away text,
topic, part/kick/ban reasons, console say, messages, /me and DMs."""
import unittest

from harness import E, Server, main

ESC = "\x1b[2J\x1b]0;owned\x07"


def no_escapes(test, client):
    for e in client.events:
        for k, v in e.items():
            if isinstance(v, str):
                test.assertFalse(any(ord(ch) < 0x20 and ch != "\t" or
                                     0x7f <= ord(ch) <= 0x9f for ch in v),
                                 "control character in %s.%s: %r" %
                                 (e["event"], k, v))


# Bidi override, isolate, mark, zero-width space, line separator, a ZWJ
# between ASCII letters: each must be refused (PROTOCOL.md 4.2).
HIDDEN = ["evil\u202egpj.exe", "a\u2066b\u2069", "x\u200fy", "pay\u200bpal",
          "one\u2028two", "ad\u200dmin", "\ufeffbom"]


class Injection(unittest.TestCase):
    def test_hidden_formatting_refused(self):
        """Every text a user sends to others refuses bidi controls and
        zero-width characters with CONTROL_CHARS; an emoji ZWJ sequence
        still goes through."""
        with Server() as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("mallory", register=True)
                for t in HIDDEN:
                    for frame, fields, ref in (
                            ("SAY", dict(kind=0, target="#lobby", flags=0,
                                         text=t), "SAY"),
                            ("SAY", dict(kind=0, target="#lobby", flags=1,
                                         text=t), "SAY"),
                            ("SAY", dict(kind=1, target="bob", flags=0,
                                         text=t), "SAY"),
                            ("TOPIC", dict(room="#lobby", topic=t), "TOPIC"),
                            ("SET_STATUS", dict(status=1, text=t),
                             "SET_STATUS")):
                        r.send_frame(frame, **fields)
                        e = r.expect("ERROR")
                        self.assertEqual(e["code"], 68, (frame, t, e))
                        self.assertIn("invisible", e["text"])
                ok = "\U0001F469\u200d\U0001F4BB shipped"
                r.send_frame("SAY", kind=0, target="#lobby", flags=0, text=ok)
                b.expect({"event": "message", "text": ok})
            for ev in b.events:
                for v in ev.values():
                    if isinstance(v, str):
                        self.assertFalse(any(h in v for h in HIDDEN), ev)
            b.quit(0)
            srv.stop()


    def test_away_text(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("mallory", register=True)
                r.send_frame("SET_STATUS", status=1, text="gone " + ESC)
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="marker-away")
                b.expect({"event": "message", "text": "marker-away"})
            no_escapes(self, b)
            b.quit(0)
            srv.stop()

    def test_topic(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("mallory", register=True)
                r.send_frame("TOPIC", room="#lobby", topic="t " + ESC)
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="marker-topic")
                b.expect({"event": "message", "text": "marker-topic"})
            m = b.mark()
            b.send("/rooms")
            b.expect({"event": "rooms"}, since=m)
            no_escapes(self, b)
            b.quit(0)
            srv.stop()

    def test_part_reason(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            with srv.raw() as r:
                r.login("mallory", register=True)
                # A join and a part within one --coalesce-ms are not told.
                b.expect({"event": "notice", "kind": "joined",
                          "user": "mallory"})
                r.send_frame("PART", room="#lobby", reason="bye " + ESC)
                b.expect({"event": "notice", "kind": "left",
                          "user": "mallory"})
            no_escapes(self, b)
            b.quit(0)
            srv.stop()

    def test_kick_and_ban_reason(self):
        with Server(start=False) as srv:
            srv.user_cmd("add", "boss", "--admin", stdin="password123\n")
            srv.start()
            b = srv.client("bob", register=True)
            srv.client("carl", register=True)
            srv.client("dave", register=True)
            with srv.raw() as r:
                r.login("boss")
                r.send_frame("KICK", user="carl", reason="k " + ESC)
                r.send_frame("BAN", user="dave", duration_s=60,
                             reason="b " + ESC)
                r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                             text="marker-kick")
                b.expect({"event": "message", "text": "marker-kick"})
            no_escapes(self, b)
            b.quit(0)
            srv.stop()

    def test_console_say(self):
        with Server() as srv:
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            srv.console("say hello " + ESC)
            srv.console("say marker-say")
            b.expect({"event": "notice", "text": "marker-say"})
            no_escapes(self, b)
            b.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
