"""Presence: away/busy/back and talking_with pushed; /who lists users."""
import unittest

from harness import Server, main


def pres(user, **kw):
    d = {"event": "presence", "user": user}
    d.update(kw)
    return d


def listed(user, status="online"):
    """A presence event for user with status, or a users list holding it
    (the list sent after login may come either way)."""
    def pred(e):
        if e["event"] == "presence":
            return e["user"] == user and e["status"] == status
        if e["event"] == "users":
            return any(u["user"] == user and u["status"] == status
                       for u in e["users"])
        return False
    pred.__name__ = "listed(%s, %s)" % (user, status)
    return pred


class Presence(unittest.TestCase):
    def test_presence_pushed(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            # bob is told alice is online (list after login or a change).
            b.expect(listed("alice"))
            a.expect(pres("bob", status="online"))

            m = b.mark()
            a.send("/away out for lunch")
            ev = b.expect(pres("alice", status="away", text="out for lunch"),
                          since=m)
            self.assertIsInstance(ev["idle"], int)
            self.assertIs(ev["admin"], False)
            m = b.mark()
            a.send("/busy")
            b.expect(pres("alice", status="busy"), since=m)
            m = b.mark()
            a.send("/back")
            ev = b.expect(pres("alice", status="online"), since=m)
            self.assertEqual(ev["text"], "")

            m = b.mark()
            a.send("/query bob")
            b.expect(pres("alice", talking_with="bob"), since=m)

            m = b.mark()
            b.send("/who")
            ev = b.expect({"event": "users"}, since=m)
            users = {u["user"]: u for u in ev["users"]}
            self.assertEqual(set(users), {"alice", "bob"})
            self.assertEqual(users["alice"]["status"], "online")
            self.assertEqual(users["alice"]["talking_with"], "bob")
            for u in users.values():
                for k in ("text", "idle", "admin", "talking_with"):
                    self.assertIn(k, u)

            m = b.mark()
            a.send("/close")
            b.expect(pres("alice", talking_with=""), since=m)

            a.quit(0)
            b.expect(pres("alice", status="offline"))
            m = b.mark()
            b.send("/who")
            ev = b.expect({"event": "users"}, since=m)
            self.assertNotIn("alice", [u["user"] for u in ev["users"]
                                       if u["status"] != "offline"])
            b.quit(0)
            srv.stop()

    def test_who_lists_everyone(self):
        with Server() as srv:
            cs = [srv.client(n, register=True) for n in ("ann", "ben", "cid")]
            cs[2].expect(listed("ann"))
            cs[0].expect(pres("cid", status="online"))
            cs[0].send("/away brb")
            cs[2].expect(pres("ann", status="away", text="brb"))
            m = cs[2].mark()
            cs[2].send("/who")
            ev = cs[2].expect({"event": "users"}, since=m)
            users = {u["user"]: u for u in ev["users"]}
            self.assertEqual(set(users), {"ann", "ben", "cid"})
            self.assertEqual(users["ann"]["status"], "away")
            self.assertEqual(users["ann"]["text"], "brb")
            for c in cs:
                c.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
