"""History backlog on join and on opening a conversation."""
import unittest

from harness import Server, encode, main


class History(unittest.TestCase):
    def test_room_backlog_on_join(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            texts = ["early %d" % i for i in range(5)]
            for t in texts:
                a.send(t)
            for t in texts:
                a.expect({"event": "message", "room": "#lobby", "text": t})
            a.send("/join #old")
            a.expect({"event": "joined", "room": "#old"})
            a.send("in old room")
            a.expect({"event": "message", "room": "#old",
                      "text": "in old room"})

            b = srv.client("bob", register=True)
            got = [b.expect({"event": "message", "room": "#lobby", "text": t,
                             "backlog": True, "from": "alice"})
                   for t in texts]
            end = b.expect({"event": "history_end", "room": "#lobby"})
            self.assertEqual(end["count"], 5)
            # In order, and all before history_end.
            idx = [b.index_of(e) for e in got]
            self.assertEqual(idx, sorted(idx))
            self.assertLess(idx[-1], b.index_of(end))
            ids = [e["id"] for e in got]
            self.assertEqual(ids, sorted(ids))

            b.send("/join #old")
            b.expect({"event": "message", "room": "#old",
                      "text": "in old room", "backlog": True})
            end = b.expect({"event": "history_end", "room": "#old"})
            self.assertEqual(end["count"], 1)

            a.send("live now")
            ev = b.expect({"event": "message", "room": "#old",
                           "text": "live now"})
            self.assertIs(ev["backlog"], False)
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_history_limit(self):
        with Server("--history", 3) as srv:
            a = srv.client("alice", register=True)
            for i in range(6):
                a.send("m%d" % i)
            a.expect({"event": "message", "text": "m5"})
            b = srv.client("bob", register=True)
            end = b.expect({"event": "history_end", "room": "#lobby"})
            self.assertEqual(end["count"], 3)
            back = b.all({"event": "message", "backlog": True})
            self.assertEqual([e["text"] for e in back], ["m3", "m4", "m5"])
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_dm_backlog_on_query(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.send("/msg bob remember this")
            b.expect({"event": "message", "peer": "alice",
                      "text": "remember this"})
            b.quit(0)
            b2 = srv.client("bob")
            b2.send("/query alice")
            ev = b2.expect({"event": "message", "peer": "alice",
                            "text": "remember this", "backlog": True})
            self.assertEqual(ev["from"], "alice")
            end = b2.expect({"event": "history_end", "peer": "alice"})
            self.assertGreaterEqual(end["count"], 1)
            a.quit(0)
            b2.quit(0)
            srv.stop()

    def test_batched_history_flushed_on_shutdown(self):
        # History is written in batches; a SIGTERM right after a burst must
        # still flush every message before the database closes.
        srv = Server("--flood-rate", 10000, "--flood-burst", 10000)
        with srv:
            a = srv.client("alice", register=True)
            a.send_many(["burst %03d" % i for i in range(80)])
            a.expect({"event": "message", "text": "burst 079"})
            srv.stop()
            srv.stopped = False
            srv.start()
            b = srv.client("bob", register=True)
            end = b.expect({"event": "history_end", "room": "#lobby"})
            self.assertEqual(end["count"], 80)
            got = [e["text"] for e in b.all({"event": "message",
                                             "backlog": True})]
            self.assertEqual(got, ["burst %03d" % i for i in range(80)])
            b.quit(0)
            srv.stop()

    def test_history_survives_restart(self):
        srv = Server()
        with srv:
            a = srv.client("alice", register=True)
            a.send("persisted")
            a.expect({"event": "message", "text": "persisted"})
            a.quit(0)
            srv.stop()
            # Same database, new process.
            srv.stopped = False
            srv.start()
            b = srv.client("alice")
            b.expect({"event": "message", "text": "persisted",
                      "backlog": True})
            b.quit(0)
            srv.stop()

    def test_paging_back_stops_at_history_limit(self):
        # The server keeps --history messages per conversation: paging
        # back from the oldest of them finds nothing more (a trimmed
        # message must not come back one page later).
        with Server("--history", 3) as srv:
            a = srv.client("alice", register=True)
            for i in range(6):
                a.send("m%d" % i)
            a.expect({"event": "message", "text": "m5"})
            with srv.raw() as r:
                r.login("reader", register=True)

                def page():
                    got = []
                    while True:
                        f = r.read_frame()
                        if f["type"] == "MSG":
                            got.append(f)
                        if f["type"] == "HISTORY_END":
                            self.assertEqual(f["count"], len(got))
                            return got
                first = page()  # the auto-join backlog
                self.assertEqual([f["text"] for f in first],
                                 ["m3", "m4", "m5"])
                r.send_frame("HISTORY_REQ", kind=0, target="#lobby",
                             limit=3, before_id=first[0]["id"])
                self.assertEqual([f["text"] for f in page()], [])
                r.send_frame("HISTORY_REQ", kind=0, target="#lobby",
                             limit=2, before_id=first[2]["id"])
                self.assertEqual([f["text"] for f in page()], ["m3", "m4"])
            a.quit(0)
            srv.stop()

    def test_no_backlog_after_part(self):
        # JOIN then PART in one write: the backlog read (in the store
        # thread) comes back after PARTED, when the user is no longer in
        # the room; it must not be sent. A HISTORY_REQ of #lobby behind
        # them is answered after that read (the store is FIFO), so its
        # HISTORY_END bounds the wait. Then JOIN, PART, JOIN: only the
        # second membership's backlog comes, once. The room's name is as
        # long as a name may be (33 characters, one more than a user's).
        room = "#" + "x" * 32
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.send("/join " + room)
            a.expect({"event": "joined", "room": room})
            a.send("said in x")
            a.expect({"event": "message", "room": room, "text": "said in x"})
            def until_lobby_end(r):
                got = [r.read_frame()]
                while got[-1]["type"] != "HISTORY_END" or \
                        got[-1]["target"] != "#lobby":
                    got.append(r.read_frame())
                return got

            with srv.raw() as r:
                r.login("bob", register=True)
                r.expect("WHO_END")
                r.send(encode("JOIN", room=room) +
                       encode("PART", room=room, reason="") +
                       encode("HISTORY_REQ", kind=0, target="#lobby",
                              limit=1, before_id=0))
                got = until_lobby_end(r)
                kinds = [f["type"] for f in got]
                self.assertIn("PARTED", kinds)
                after = got[kinds.index("PARTED"):]
                self.assertEqual(
                    [f for f in after
                     if f.get("target", "").startswith(room[:20])], [],
                    "backlog of the room sent after PARTED: %r" % after)

                r.send(encode("JOIN", room=room) +
                       encode("PART", room=room, reason="") +
                       encode("JOIN", room=room) +
                       encode("HISTORY_REQ", kind=0, target="#lobby",
                              limit=1, before_id=0))
                got = until_lobby_end(r)
                ends = [f for f in got if f["type"] == "HISTORY_END"
                        and f["target"] == room]
                msgs = [f["text"] for f in got if f["type"] == "MSG"
                        and f["target"] == room]
                self.assertEqual(len(ends), 1, got)
                self.assertEqual(msgs, ["said in x"])
                self.assertGreater(got.index(ends[0]),
                                   [f["type"] for f in got].index("PARTED"))
            a.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
