"""Nobody reads what is not theirs: DM history per pair, room history for
members only, names case-insensitive."""
import unittest

from harness import E, Server, main


class Privacy(unittest.TestCase):
    def test_dm_backlog_only_own_conversation(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            c = srv.client("carol", register=True)
            a.send("/msg bob for bob only")
            b.expect({"event": "message", "text": "for bob only"})
            a.send("/msg carol for carol")
            c.expect({"event": "message", "text": "for carol"})
            # In a new session (so nothing is "already shown"), carol opens
            # her conversation with alice: only their message comes back.
            c.quit(0)
            c = srv.client("carol")
            m = c.mark()
            c.send("/query alice")
            c.expect({"event": "history_end", "peer": "alice"}, since=m)
            texts = [e["text"] for e in c.all({"event": "message",
                                               "backlog": True}, since=m)]
            self.assertEqual(texts, ["for carol"])
            # carol opening a conversation with bob sees nothing of alice's.
            m = c.mark()
            c.send("/query bob")
            end = c.expect({"event": "history_end", "peer": "bob"}, since=m)
            self.assertEqual(end["count"], 0)
            self.assertEqual(c.count({"text": "for bob only"}), 0)
            for x in (a, b, c):
                x.quit(0)
            srv.stop()

    def test_room_history_members_only(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            a.send("/join #secret")
            a.expect({"event": "joined", "room": "#secret"})
            a.send("the plan")
            a.expect({"event": "message", "text": "the plan"})
            with srv.raw() as r:
                r.login("eve", register=True)
                r.send_frame("HISTORY_REQ", kind=0, target="#secret",
                             limit=0, before_id=0)
                e = r.expect("ERROR")
                self.assertIn(e["code"], (E["NOT_IN_ROOM"],
                                          E["NO_SUCH_ROOM"]))
                # Direct history of two others is not hers either: asking
                # for "alice" gives eve's own (empty) conversation.
                r.send_frame("HISTORY_REQ", kind=1, target="alice", limit=0,
                             before_id=0)
                while True:
                    f = r.read_frame()
                    self.assertNotEqual(f.get("text"), "the plan")
                    if f["type"] in ("HISTORY_END", "ERROR"):
                        break
                if f["type"] == "HISTORY_END":
                    self.assertEqual(f["count"], 0)
                # Saying into a room she is not in is refused.
                r.send_frame("SAY", kind=0, target="#secret", flags=0,
                             text="let me in")
                e = r.expect("ERROR")
                self.assertEqual(e["code"], E["NOT_IN_ROOM"])
            a.send("marker-secret")
            a.expect_none({"text": "let me in"},
                          {"event": "message", "text": "marker-secret"})
            a.quit(0)
            srv.stop()

    def test_names_case_insensitive(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.send("/msg ALICE hi there")
            ev = a.expect({"event": "message", "text": "hi there"})
            self.assertEqual(ev["peer"], "bob")
            ev = b.expect({"event": "message", "text": "hi there"})
            self.assertEqual(ev["peer"].lower(), "alice")
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_history_req_paging(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            for i in range(6):
                a.send("p%d" % i)
            a.expect({"event": "message", "text": "p5"})
            with srv.raw() as r:
                r.login("reader", register=True)
                r.expect("HISTORY_END")  # the auto-join backlog
                r.send_frame("HISTORY_REQ", kind=0, target="#lobby", limit=2,
                             before_id=0)
                page = []
                while True:
                    f = r.read_frame()
                    if f["type"] == "MSG":
                        page.append(f)
                        self.assertTrue(f["flags"] & 0x02, "backlog flag")
                    if f["type"] == "HISTORY_END":
                        break
                self.assertEqual([f["text"] for f in page], ["p4", "p5"])
                r.send_frame("HISTORY_REQ", kind=0, target="#lobby", limit=2,
                             before_id=page[0]["id"])
                page2 = []
                while True:
                    f = r.read_frame()
                    if f["type"] == "MSG":
                        page2.append(f["text"])
                    if f["type"] == "HISTORY_END":
                        self.assertEqual(f["count"], 2)
                        break
                self.assertEqual(page2, ["p2", "p3"])
            a.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
