"""What the store promises (issue 9, items 8-11): an echoed message is on
disk and survives kill -9; message ids never go back; deleting an account
or changing its password ends its live session; a name registered again
starts with no history; a failing disk is told to the sender and, once,
to the operator."""
import resource
import signal
import unittest

import harness
from harness import Server, main

STORAGE, REVOKED = 35, 36  # proto/errors.h


def crash(srv):
    """kill -9 the server (no shutdown, no flush) and wait for it."""
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(harness.T_EXIT)
    srv.err.thread.join(5)
    for c in srv.clients:
        c.kill()
    srv.clients = []


def backlog(client, room="#lobby"):
    """The backlog a fresh client got for room, as {text: event}."""
    client.expect({"event": "history_end", "room": room})
    return {e["text"]: e for e in client.all({"event": "message",
                                               "room": room,
                                               "backlog": True})}


class Durability(unittest.TestCase):
    def test_echoed_messages_survive_kill9(self):
        n = 60
        with Server("--history", 500, "--flood-rate", 100000,
                    "--flood-burst", 100000) as srv:
            a = srv.client("alice", register=True)
            texts = ["durable %d" % i for i in range(n)]
            a.send_many(texts)
            echoed = [a.expect({"event": "message", "room": "#lobby",
                                "text": t}) for t in texts]
            crash(srv)  # the instant the last echo arrived
            srv.start()
            b = srv.client("bob", register=True)
            kept = backlog(b)
            missing = [t for t in texts if t not in kept]
            self.assertEqual(missing, [], "echoed but lost in the crash")
            for e in echoed:
                self.assertEqual(kept[e["text"]]["id"], e["id"])
                self.assertEqual(kept[e["text"]]["ts"], e["ts"])
            b.send("after the crash")
            ev = b.expect({"event": "message", "text": "after the crash",
                           "backlog": False})
            self.assertGreater(ev["id"], max(e["id"] for e in echoed))
            b.quit(0)
            srv.stop()

    def test_ids_never_go_back(self):
        # The newest messages are a conversation that is deleted with its
        # account: after a restart, ids still start above them.
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.send("in the room")
            a.expect({"event": "message", "text": "in the room"})
            a.send("/msg bob one")
            a.send("/msg bob two")
            top = a.expect({"event": "message", "peer": "bob",
                            "text": "two"})["id"]
            crash(srv)  # at once: nothing echoed may be lost
            srv.user_cmd("del", "bob")
            srv.start()
            a = srv.client("alice")
            a.send("new")
            ev = a.expect({"event": "message", "text": "new",
                           "backlog": False})
            self.assertGreater(ev["id"], top, "a message id was reused")
            a.quit(0)
            srv.stop()


class Revocation(unittest.TestCase):
    def test_user_del_and_passwd_end_live_sessions(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            d = srv.client("dave", register=True)
            c = srv.client("carol", register=True)
            for x in (d, c):
                a.expect({"event": "notice", "kind": "joined",
                          "user": x.user})
            srv.user_cmd("del", "dave")
            ev = d.expect({"event": "error"})
            self.assertEqual(ev["code"], REVOKED, ev)
            self.assertIn("deleted", ev["text"])
            d.wait(None)
            srv.user_cmd("passwd", "carol", stdin="brand-new-pw\n")
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["code"], REVOKED, ev)
            self.assertIn("password was changed", ev["text"])
            c.wait(None)
            # Both left the room for everyone else; the server logged why.
            for who in ("dave", "carol"):
                a.expect(lambda e, who=who: e["event"] == "notice" and
                         e["kind"] in ("quit", "left") and e["user"] == who)
            srv.err.wait_for(r"dave: session ended: account deleted")
            srv.err.wait_for(r"carol: session ended: password changed")
            # carol comes back with the new password; alice is untouched.
            srv.client("carol", password="brand-new-pw").quit(0)
            a.send("still here")
            a.expect({"event": "message", "text": "still here"})
            a.quit(0)
            srv.stop()


    def test_new_login_after_passwd_is_kept(self):
        # The operator resets a password and the user logs in again with
        # the new one at once, often before the server's next poll (once
        # a second) sees the reset: the old session ends (replaced or
        # revoked), the new one must not.
        with Server() as srv:
            old = srv.client("carol", register=True)
            srv.user_cmd("passwd", "carol", stdin="brand-new-pw\n")
            new = srv.client("carol", password="brand-new-pw")
            ev = old.expect({"event": "error"})
            self.assertIn(ev["code"], (REVOKED, harness.E["SESSION_REPLACED"]))
            # The poll has dealt with the reset once either line is logged.
            srv.err.wait_for(r"carol: session (ended|kept)")
            m = new.mark()
            new.send("still in")
            new.expect({"event": "message", "text": "still in"}, since=m)
            self.assertEqual(new.count({"event": "error"}), 0, new.recent())
            new.quit(0)
            srv.stop()


class Privacy(unittest.TestCase):
    def test_reused_name_starts_empty(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.send("/msg bob secret to bob")
            b.expect({"event": "message", "peer": "alice",
                      "text": "secret to bob"})
            b.send("/msg alice secret from bob")
            a.expect({"event": "message", "peer": "bob",
                      "text": "secret from bob"})
            b.quit(0)
            srv.user_cmd("del", "bob")
            nb = srv.client("bob", register=True)
            m = nb.mark()
            nb.send("/query alice")
            end = nb.expect({"event": "history_end", "peer": "alice"},
                            since=m)
            self.assertEqual(end["count"], 0)
            self.assertEqual(nb.count({"event": "message", "text":
                                       "secret to bob"}), 0)
            self.assertEqual(nb.count({"event": "message", "text":
                                       "secret from bob"}), 0)
            # alice's side of the old conversation is gone as well, and
            # what she says to the new bob is a new conversation.
            m = a.mark()
            a.send("/query bob")
            end = a.expect({"event": "history_end", "peer": "bob"}, since=m)
            self.assertEqual(end["count"], 0)
            a.send("/msg bob hello new bob")
            nb.expect({"event": "message", "peer": "alice",
                       "text": "hello new bob"})
            nb.quit(0)
            # After a restart too (the keys are in the database).
            crash(srv)
            srv.start()
            nb = srv.client("bob")
            nb.send("/query alice")
            nb.expect({"event": "message", "text": "hello new bob",
                       "backlog": True})
            end = nb.expect({"event": "history_end", "peer": "alice"})
            self.assertEqual(end["count"], 1)
            nb.quit(0)
            srv.stop()


class DiskFull(unittest.TestCase):
    def test_sender_told_operator_told_once(self):
        limit = 192 << 10  # bytes per file: the WAL outgrows it quickly
        orig = harness._die_with_parent

        def limited():
            orig()
            # Soft limit only: the test raises it again later.
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (limit, resource.RLIM_INFINITY))

        srv = Server("--history", 2000, "--flood-rate", 100000,
                     "--flood-burst", 100000, start=False)
        with srv:
            harness._die_with_parent = limited
            try:
                srv.start()
            finally:
                harness._die_with_parent = orig
            a = srv.client("alice", register=True)
            stored, refused = [], []
            for i in range(1500):
                t = "message number %d %s" % (i, "x" * 200)
                a.send(t)
                ev = a.expect(lambda e, t=t: e["event"] == "error" or
                              (e["event"] == "message" and e["text"] == t))
                if ev["event"] == "error":
                    self.assertEqual(ev["code"], STORAGE, ev)
                    self.assertIn("not delivered", ev["text"])
                    refused.append(t)
                    if len(refused) == 5:
                        break
                else:
                    stored.append(t)
            self.assertEqual(len(refused), 5, "the disk never filled")
            self.assertGreater(len(stored), 0)
            srv.err.wait_for(r"STORAGE FAILING")
            self.assertEqual(sum("STORAGE FAILING" in x
                                 for x in srv.err.lines), 1,
                             "one log line per episode")
            # The disk has room again: messages go through, and the log
            # says the episode is over and what it cost.
            inf = resource.RLIM_INFINITY
            resource.prlimit(srv.pid, resource.RLIMIT_FSIZE, (inf, inf))
            a.send("room again")
            a.expect({"event": "message", "text": "room again"})
            stored.append("room again")
            srv.err.wait_for(r"storage works again: 5 messages were refused")
            a.quit(0)
            srv.stop()
            # Without the limit: every echoed message is there, and none
            # of the refused ones.
            srv.start()
            b = srv.client("bob", register=True)
            kept = backlog(b)
            self.assertEqual([t for t in stored if t not in kept], [])
            self.assertEqual([t for t in refused if t in kept], [])
            b.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
