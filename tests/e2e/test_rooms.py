"""Room chat: seen by the room's members only; join/part/quit notices."""
import unittest

from harness import E, Server, main


def msg(room, frm, text, **kw):
    d = {"event": "message", "room": room, "from": frm, "text": text}
    d.update(kw)
    return d


class Rooms(unittest.TestCase):
    def test_room_members_only(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            c = srv.client("carol", register=True)
            for x in (a, b, c):
                x.expect({"event": "joined", "room": "#lobby"})
            a.send("/join #dev")
            ev = a.expect({"event": "joined", "room": "#dev"})
            self.assertEqual(ev["members"], 1)
            b.send("/join #dev")
            ev = b.expect({"event": "joined", "room": "#dev"})
            # 1 while alice's join is still in the --coalesce-ms interval
            # (its ROOM_EVENTS entry then counts her), else 2.
            self.assertIn(ev["members"], (1, 2))
            a.expect({"event": "notice", "kind": "joined", "room": "#dev",
                      "user": "bob"})

            a.send("secret dev talk")
            ev = b.expect(msg("#dev", "alice", "secret dev talk"))
            self.assertIs(ev["backlog"], False)
            self.assertIs(ev["action"], False)
            self.assertIsInstance(ev["id"], int)
            self.assertIsInstance(ev["ts"], int)
            echo = a.expect(msg("#dev", "alice", "secret dev talk"))
            self.assertEqual(echo["id"], ev["id"])

            a.send("/me waves")
            ev = b.expect(msg("#dev", "alice", "waves", action=True))
            a.expect(msg("#dev", "alice", "waves", action=True))

            # carol is not in #dev: nothing of it reaches her. The marker is
            # a later direct message from alice, on the same path.
            a.send("/msg carol marker-1")
            c.expect_none({"room": "#dev"},
                          {"event": "message", "peer": "alice",
                           "text": "marker-1"})
            self.assertEqual(c.count({"text": "secret dev talk"}), 0)

            m = c.mark()
            c.send("/rooms")
            ev = c.expect({"event": "rooms"}, since=m)
            rooms = {r["room"]: r for r in ev["rooms"]}
            self.assertEqual(rooms["#dev"]["members"], 2)
            self.assertEqual(rooms["#lobby"]["members"], 3)

            # bob parts: alice sees it, bob no longer gets #dev traffic.
            b.send("/part #dev bye now")
            b.expect({"event": "parted", "room": "#dev"})
            ev = a.expect({"event": "notice", "kind": "left", "room": "#dev",
                           "user": "bob"})
            a.send("after part")
            a.expect(msg("#dev", "alice", "after part"))
            a.send("/msg bob marker-2")
            b.expect_none(msg("#dev", "alice", "after part"),
                          {"event": "message", "peer": "alice",
                           "text": "marker-2"})

            # bob quits: everyone sharing #lobby with him sees it.
            b.quit(0)
            a.expect({"event": "notice", "kind": "quit", "user": "bob"})
            c.expect({"event": "notice", "kind": "quit", "user": "bob"})
            a.quit(0)
            c.quit(0)
            srv.stop()

    def test_lobby_chat_and_join_notice(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            a.expect({"event": "notice", "kind": "joined", "room": "#lobby",
                      "user": "bob"})
            b.send("hello lobby")
            a.expect(msg("#lobby", "bob", "hello lobby", backlog=False))
            b.expect(msg("#lobby", "bob", "hello lobby"))
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_bad_room_and_too_many_rooms(self):
        with Server("--max-rooms", 2) as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            a.send("/join #bad/room")
            ev = a.expect({"event": "error"})
            self.assertEqual(ev.get("code"), E["BAD_ROOM"], ev)
            a.send("/join #one")
            a.expect({"event": "joined", "room": "#one"})
            a.send("/join #two")
            ev = a.expect({"event": "error"})
            self.assertEqual(ev["code"], E["TOO_MANY_ROOMS"], ev)
            m = a.mark()
            a.send("/rooms")
            ev = a.expect({"event": "rooms"}, since=m)
            self.assertNotIn("#two", [r["room"] for r in ev["rooms"]])
            a.quit(0)
            srv.stop()

    def test_join_part_join_in_one_go(self):
        # Commands take effect in the order given, even before the server
        # has answered the earlier ones: part, join again, then talk.
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.send("/join #x")
            b.expect({"event": "joined", "room": "#x"})
            a.send("/join #x")
            a.expect({"event": "joined", "room": "#x"})
            # The part is not acknowledged yet when the join is typed.
            a.send_many(["/part #x", "/join #x", "hello x"])
            # alice gets either her echo or an error: fail fast on the error.
            ev = a.expect(lambda e: e["event"] == "error" or
                          (e["event"] == "message" and
                           e["text"] == "hello x"))
            self.assertEqual(ev["event"], "message",
                             "the second /join was lost: %s" % ev)
            self.assertEqual(ev["room"], "#x")
            b.expect({"event": "message", "room": "#x", "from": "alice",
                      "text": "hello x"})
            self.assertEqual(a.count({"event": "error"}), 0, a.recent())
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_topic(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.send("/join #t")
            a.expect({"event": "joined", "room": "#t"})
            b.send("/join #t")
            b.expect({"event": "joined", "room": "#t"})
            a.send("/topic release friday")
            b.expect({"event": "notice", "kind": "topic", "room": "#t",
                      "actor": "alice", "text": "release friday"})
            m = b.mark()
            b.send("/rooms")
            ev = b.expect({"event": "rooms"}, since=m)
            rooms = {r["room"]: r for r in ev["rooms"]}
            self.assertEqual(rooms["#t"]["topic"], "release friday")
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_topic_needs_membership(self):
        # Only members may set a room's topic; a refused TOPIC changes
        # nothing and tells the room nothing.
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.send("/join #t")
            a.expect({"event": "joined", "room": "#t"})
            a.send("/topic ours")
            a.expect({"event": "notice", "kind": "topic", "room": "#t",
                      "text": "ours"})
            m = a.mark()
            with srv.raw() as r:
                r.login("mallory", register=True)
                r.send_frame("TOPIC", room="#t", topic="hijacked")
                f = r.expect("ERROR")
                self.assertEqual(f["code"], E["NOT_IN_ROOM"], f)
            a.send("/rooms")
            ev = a.expect({"event": "rooms"}, since=m)
            rooms = {x["room"]: x for x in ev["rooms"]}
            self.assertEqual(rooms["#t"]["topic"], "ours")
            self.assertEqual(a.count({"event": "notice", "kind": "topic"},
                                     since=m), 0, a.recent())
            a.quit(0)
            srv.stop()

    def test_two_part_in_turn(self):
        # alice, bob and carol join in that order; alice parts, then
        # carol: bob, the one left, still gets the room's messages (and
        # carol, gone, does not).
        with Server() as srv:
            cl = {}
            for name in ("alice", "bob", "carol"):
                cl[name] = srv.client(name, register=True)
                cl[name].send("/join #x")
                cl[name].expect({"event": "joined", "room": "#x"})
            for name in ("alice", "carol"):
                cl[name].send("/part #x")
                cl[name].expect({"event": "parted", "room": "#x"})
            m = cl["carol"].mark()
            cl["bob"].send("still here")
            cl["bob"].expect({"event": "message", "room": "#x",
                              "from": "bob", "text": "still here"})
            cl["carol"].send("/join #y")
            cl["carol"].expect({"event": "joined", "room": "#y"})
            self.assertEqual(cl["carol"].count({"event": "message",
                                                "room": "#x"}, since=m), 0)
            for c in cl.values():
                c.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
