"""The client core through `parley --batch` against a real parleyd (issue 13):
status kept across a reconnect, /names, /reconnect, '/join #bad room!' refused, the registration password
checked before connecting, a wrong password exits 3."""
import os
import stat
import tempfile
import unittest

from harness import Server, main


class ClientCore(unittest.TestCase):
    def restart(self, srv, clients):
        """Stops srv with the clients left running; returns a new server on
        the same port and database (a context manager)."""
        port = srv.port
        srv.stop_keep_clients()
        for c in clients:
            c.expect({"event": "reconnecting"})
        srv2 = Server(listen="127.0.0.1:%d" % port, tmp=srv.tmp)
        srv2.clients.extend(clients)
        return srv2

    def test_status_survives_reconnect(self):
        srv = Server()
        with srv:
            srv.client("bob", register=True).quit(0)
            srv.client("carol", register=True).quit(0)
            b = srv.client("bob", reconnect=True)
            b.send("/away coffee")
            b.expect({"event": "presence", "user": "bob", "status": "away",
                      "text": "coffee"})
            m = b.mark()
            with self.restart(srv, [b]) as srv2:
                b.expect({"event": "connected"}, since=m, timeout=30)
                # bob sees himself away again ...
                b.expect({"event": "presence", "user": "bob",
                          "status": "away", "text": "coffee"}, since=m)
                # ... and so does everyone else.
                # (In the list after login, or, when bob's return is still
                # in the --coalesce-ms interval, in the change after it.)
                c = srv2.client("carol")

                def bob_away(e):
                    us = e["users"] if e["event"] == "users" else [e] \
                        if e["event"] == "presence" else []
                    return any(u["user"] == "bob" and u["status"] == "away"
                               and u["text"] == "coffee" for u in us)
                c.expect(bob_away)
                c.quit(0)
                b.quit(0)
                srv2.stop()

    def test_talking_with_survives_reconnect(self):
        """Whom we are talking with is set again after a reconnect (the
        new session starts with nobody), not only once we type; a closed
        conversation is not."""
        srv = Server()
        with srv:
            srv.client("bob", register=True).quit(0)
            srv.client("carol", register=True).quit(0)
            srv.client("alice", register=True).quit(0)
            b = srv.client("bob", reconnect=True)
            b.send("/query carol")
            b.send("/close")
            b.send("/query alice")
            b.expect({"event": "presence", "user": "bob",
                      "talking_with": "alice"})
            m = b.mark()
            with self.restart(srv, [b]) as srv2:
                b.expect({"event": "connected"}, since=m, timeout=30)
                b.expect({"event": "presence", "user": "bob",
                          "talking_with": "alice"}, since=m)
                a = srv2.client("alice")
                a.send("/who")
                ev = a.expect({"event": "users"})
                mine = [u for u in ev["users"] if u["user"] == "bob"]
                self.assertEqual(mine[0]["talking_with"], "alice", ev)
                # Closed, then a reconnect: talking with nobody.
                b.send("/close")
                a.expect({"event": "presence", "user": "bob",
                          "talking_with": ""})
                m = b.mark()
                b.send("/reconnect")
                b.expect({"event": "connected"}, since=m, timeout=30)
                b.send("/who")
                ev = b.expect({"event": "users"}, since=m)
                mine = [u for u in ev["users"] if u["user"] == "bob"]
                self.assertEqual(mine[0]["talking_with"], "", ev)
                a.quit(0)
                b.quit(0)
                srv2.stop()

    def test_names_and_bad_join(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            a.send("/join #dev")
            a.expect({"event": "joined", "room": "#dev"})
            b.send("/join #dev")
            b.expect({"event": "joined", "room": "#dev"})
            a.expect({"event": "notice", "kind": "joined", "user": "bob"})
            a.send("/names")
            ev = a.expect({"event": "names", "room": "#dev"})
            self.assertEqual(ev["names"], ["alice", "bob"])
            a.send("/names #nosuch")
            a.expect({"event": "error", "name": "NO_SUCH_ROOM"})
            # "/join #bad room!" is not a join of #bad.
            m = a.mark()
            a.send("/join #bad room!")
            e = a.expect({"event": "error", "name": "BAD_ROOM"}, since=m)
            self.assertIn("#bad room!", e["text"])
            self.assertEqual(e["text"].count("bad room name"), 1)
            a.send("/rooms")
            rooms = a.expect({"event": "rooms"}, since=m)["rooms"]
            self.assertNotIn("#bad", [r["room"] for r in rooms])
            self.assertEqual(a.count({"event": "joined", "room": "#bad"}), 0)
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_reconnect_command(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            a = srv.client("alice", reconnect=True)
            a.send("/join #dev")
            a.expect({"event": "joined", "room": "#dev"})
            m = a.mark()
            a.send("/reconnect")
            a.expect({"event": "reconnecting", "in_ms": 0}, since=m)
            a.expect({"event": "connected"}, since=m)
            a.expect({"event": "joined", "room": "#dev"}, since=m)
            srv.console_expect("logins", r"alice.*token")
            a.quit(0)
            srv.stop()

    def test_short_registration_password_refused_before_connecting(self):
        with Server() as srv:
            c = srv.client("alice", register=True, password="short",
                           wait_connected=False)
            c.close_stdin()
            c.wait(2)
            self.assertTrue(any("8 to 256" in l for l in c.err.lines),
                            c.err.lines)
            # Exit 2 (refused locally), not 3 (the server's BAD_PASSWORD).
            srv.stop()

    def test_wrong_password_exits_3(self):
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            c = srv.client("alice", password="wrong-password",
                           wait_connected=False)
            c.expect({"event": "error", "name": "AUTH_FAILED"})
            c.close_stdin()
            c.wait(3)
            srv.stop()

    def test_config_file(self):
        with Server() as srv:
            srv.client("bob", register=True).quit(0)
            tmp = tempfile.mkdtemp(prefix="parley-conf-")
            conf = os.path.join(tmp, "parley.conf")
            with open(conf, "w") as f:
                f.write("[client]\n"
                        "rooms = #dev, #ops\n"
                        "highlight = pizza\n"
                        "bell = no\n"
                        "pane = room\n"
                        "timestamp = %H:%M:%S\n"
                        "[aliases]\n"
                        "j = /join\n"
                        "w = /who\n")
            a = srv.client("alice", register=True, args=["--config", conf])
            a.expect({"event": "joined", "room": "#dev"})
            a.expect({"event": "joined", "room": "#ops"})
            a.send("/j #x")
            a.expect({"event": "joined", "room": "#x"})
            b = srv.client("bob")
            b.send("who wants pizza")
            ev = a.expect({"event": "message", "text": "who wants pizza"})
            self.assertTrue(ev["highlight"], ev)
            b.send("nothing here")
            ev = a.expect({"event": "message", "text": "nothing here"})
            self.assertFalse(ev["highlight"], ev)
            a.quit(0)
            b.quit(0)
            # A bad file is refused with its line number; exit 2.
            with open(conf, "w") as f:
                f.write("[client]\nrooms = #ok\npane = sideways\n")
            c = srv.client("alice", args=["--config", conf],
                           wait_connected=False)
            c.close_stdin()
            c.wait(2)
            self.assertTrue(any("parley.conf:3" in l and "pane" in l
                                for l in c.err.lines), c.err.lines)
            c = srv.client("alice", args=["--config", conf + ".missing"],
                           wait_connected=False)
            c.close_stdin()
            c.wait(2)
            srv.stop()

    def test_session_kept_between_runs(self):
        with Server() as srv:
            state = tempfile.mkdtemp(prefix="parley-state-")
            env = {"XDG_STATE_HOME": state}
            a = srv.client("alice", register=True, env=env,
                           args=["--keep-session"])
            a.send("/join #dev")
            a.expect({"event": "joined", "room": "#dev"})
            # Parted at once: the backlog the server answers the JOIN
            # with (from its store thread) may be read after PARTED; the
            # server then drops it (PROTOCOL, HISTORY_END), so nothing
            # about #ops follows PARTED to bring the window back (the kept
            # rooms would list #ops again, and the next start rejoin it).
            # #qa's backlog is read after #ops's (one thread, in order):
            # its history_end bounds the wait.
            a.send("/join #ops")
            a.send("/part #ops")
            a.expect({"event": "parted", "room": "#ops"})
            parted = a.last_index
            # Saved after all that: the kept rooms are the ones we are in.
            a.send("/join #qa")
            a.expect({"event": "joined", "room": "#qa"})
            a.expect_none({"event": "history_end", "room": "#ops"},
                          {"event": "history_end", "room": "#qa"},
                          since=parted + 1)
            a.quit(0)  # exit waits for the save in flight
            path = os.path.join(state, "parley",
                                "alice@127.0.0.1_%d" % srv.port)
            st = os.stat(path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            with open(path) as f:
                text = f.read()
            self.assertRegex(text, r"(?m)^token [0-9a-f]{64}$")
            self.assertIn("room #dev\n", text)
            self.assertIn("room #qa\n", text)
            self.assertNotIn("room #ops", text)
            # No password this time: the kept token logs in, #dev is back.
            a = srv.client("alice", env=env, password=None,
                           args=["--keep-session"])
            a.expect({"event": "joined", "room": "#dev"})
            srv.console_expect("logins", r"alice.*token")
            a.quit(0)
            # Without --keep-session a script still needs its password.
            c = srv.client("alice", env=env, password=None,
                           wait_connected=False)
            c.close_stdin()
            c.wait(2)
            srv.stop()

    def test_unread_direct_messages_at_login(self):
        with Server() as srv:
            state = tempfile.mkdtemp(prefix="parley-state-")
            env = {"XDG_STATE_HOME": state}
            b = srv.client("bob", register=True)
            a = srv.client("alice", register=True, env=env,
                           args=["--keep-session"])
            # A login and logout within one --coalesce-ms are not told:
            # let bob hear of alice first.
            b.expect({"event": "notice", "kind": "joined", "user": "alice"})
            b.send("/msg alice before")
            a.expect({"event": "message", "peer": "bob", "text": "before"})
            a.send("/msg bob seen it")
            b.expect({"event": "message", "text": "seen it"})
            a.send("/rooms")  # a round trip: the state save is queued
            a.expect({"event": "rooms"})
            a.quit(0)
            b.expect({"event": "presence", "user": "alice",
                      "status": "offline"})
            for i in range(3):
                b.send("/msg alice while away %d" % i)
                b.expect({"event": "message", "text": "while away %d" % i})
            a = srv.client("alice", env=env, args=["--keep-session"])
            ev = a.expect({"event": "unread", "peer": "bob"})
            self.assertEqual(ev["count"], 3)
            # The three are in the conversation's window; the old lines
            # are not repeated as new.
            for i in range(3):
                a.expect({"event": "message", "peer": "bob",
                          "text": "while away %d" % i})
            self.assertEqual(a.count({"event": "message", "text": "before"}),
                             0)
            # Nothing new: no summary at the next login.
            a.quit(0)
            a = srv.client("alice", env=env, args=["--keep-session"])
            a.send("/rooms")
            a.expect_none({"event": "unread"}, {"event": "rooms"})
            a.quit(0)
            b.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
