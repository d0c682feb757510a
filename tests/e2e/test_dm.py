"""Direct messages: seen by the two parties only."""
import unittest

from harness import E, Server, main


class Direct(unittest.TestCase):
    def test_dm_two_only(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            c = srv.client("carol", register=True)
            a.send("/msg bob just between us")
            ev = b.expect({"event": "message", "peer": "alice",
                           "from": "alice", "text": "just between us"})
            self.assertIs(ev["backlog"], False)
            self.assertNotIn("room", ev)
            echo = a.expect({"event": "message", "peer": "bob",
                             "from": "alice", "text": "just between us"})
            self.assertEqual(echo["id"], ev["id"])
            # bob answers through /query (the current window becomes alice).
            b.send("/query alice")
            b.send("and back")
            a.expect({"event": "message", "peer": "bob", "from": "bob",
                      "text": "and back"})
            b.expect({"event": "message", "peer": "alice", "from": "bob",
                      "text": "and back"})
            # carol sees neither. Markers: one DM from each of them.
            a.send("/msg carol marker-a")
            b.send("/msg carol marker-b")
            c.expect({"event": "message", "peer": "bob", "text": "marker-b"})
            c.expect_none(lambda e: e.get("text") in ("just between us",
                                                      "and back"),
                          {"event": "message", "peer": "alice",
                           "text": "marker-a"})
            # /me in a conversation.
            a.send("/query bob")
            a.send("/me nods")
            b.expect({"event": "message", "peer": "alice", "text": "nods",
                      "action": True})
            for x in (a, b, c):
                x.quit(0)
            srv.stop()

    def test_dm_unknown_user(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.send("/msg nosuchuser hello?")
            ev = a.expect({"event": "error"})
            self.assertIn(ev["code"], (E["NO_SUCH_USER"], E["USER_OFFLINE"]),
                          ev)
            a.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
