"""No user-controlled text reaches other clients with control characters
(terminal escapes): away text, topic, part/kick/ban reasons, console say."""
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


class Injection(unittest.TestCase):
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
