"""Server features of protocol version 2: the MOTD, hiding "talking with"
(per user and server-wide), topics kept across restarts; version 1
clients still served."""
import os
import subprocess
import tempfile
import unittest

from harness import PARLEYD, Server, T_EXIT, main


def pres(user, **kw):
    d = {"event": "presence", "user": user}
    d.update(kw)
    return d


NOTICE_MOTD = 7


class Motd(unittest.TestCase):
    def test_default_motd_after_login(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            ev = a.expect({"event": "notice", "kind": "motd"})
            self.assertIn("/help", ev["text"])
            self.assertIn("Alt-0..9", ev["text"])
            # Before the lobby: it is the first thing on the first screen.
            i = a.index_of(ev)
            j = a.index_of(a.expect({"event": "joined", "room": "#lobby"}))
            self.assertLess(i, j)
            a.quit(0)
            srv.stop()

    def test_configured_and_off(self):
        with Server("--motd", "Maintenance at 18:00 UTC") as srv:
            a = srv.client("alice", register=True)
            a.expect({"event": "notice", "kind": "motd",
                      "text": "Maintenance at 18:00 UTC"})
            a.quit(0)
            srv.stop()
        with Server("--motd", "") as srv:
            a = srv.client("alice", register=True)
            a.send("/who")
            a.expect_none({"event": "notice", "kind": "motd"},
                          {"event": "users"})
            a.quit(0)
            srv.stop()

    def test_config_file_keys(self):
        tmp = tempfile.mkdtemp(prefix="parley-e2e-")
        conf = os.path.join(tmp, "parleyd.conf")
        sock = os.path.join(tmp, "ops.sock")
        with open(conf, "w") as f:
            f.write("[server]\nmotd = from the file\nno-talking-with = yes\n"
                    "control = %s\n" % sock)
        with Server("--config", conf, tmp=tmp) as srv:
            self.assertEqual(srv.control_ready(), sock)
            _, out, _ = srv.ctl("users", extra=("--config", conf))
            self.assertEqual(out, "no users online\n")
            a = srv.client("alice", register=True)
            a.expect({"event": "notice", "kind": "motd",
                      "text": "from the file"})
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            m = b.mark()
            a.send("/query bob")
            a.send("/busy")
            ev = b.expect(pres("alice", status="busy"), since=m)
            self.assertEqual(ev["talking_with"], "")
            a.quit(0)
            b.quit(0)
            srv.stop()

    def test_bad_motd_refused(self):
        p = subprocess.run([PARLEYD, "--motd", "bell\x07", "--help"],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0)  # --help wins, nothing checked
        p = subprocess.run([PARLEYD, "--motd", "esc\x1b[2J", "--no-discovery",
                            "--listen", "127.0.0.1:0", "--db", "/nonexistent/x"],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"bad value for --motd", p.stderr)

    def test_version_1_client_gets_no_motd(self):
        with Server("--motd", "hello") as srv:
            with srv.raw() as r:
                w = r.hello(version=1)
                self.assertEqual(w["version"], 1)
                r.login("alice", register=True)
                r.send_frame("PING", token=7)
                frames = []
                while True:
                    f = r.read_frame()
                    frames.append(f)
                    if f["type"] == "PONG":
                        break
                self.assertFalse([f for f in frames if f["type"] == "NOTICE"
                                  and f["kind"] == NOTICE_MOTD], frames)
            with srv.raw() as r:
                self.assertEqual(r.hello(version=2)["version"], 2)
                r.login("alice")
                f = r.expect("NOTICE", kind=NOTICE_MOTD)
                self.assertEqual(f["text"], "hello")
            with srv.raw() as r:
                w = r.hello(version=4)
                self.assertEqual(w["type"], "ERROR")
                self.assertEqual(w["subject"], "1-3")
            srv.stop()


class TalkingVisible(unittest.TestCase):
    def test_user_hides_and_shows(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            c = srv.client("carol", register=True)
            c.expect({"event": "joined", "room": "#lobby"})
            m = c.mark()
            a.send("/query bob")
            c.expect(pres("alice", talking_with="bob"), since=m)
            m = c.mark()
            a.send("/set talking-visible off")
            c.expect(pres("alice", talking_with=""), since=m)
            m = c.mark()
            c.send("/who")
            ev = c.expect({"event": "users"}, since=m)
            users = {u["user"]: u for u in ev["users"]}
            self.assertEqual(users["alice"]["talking_with"], "")
            # Another conversation stays hidden too.
            m = c.mark()
            a.send("/query carol")
            a.send("/away tea")
            ev = c.expect(pres("alice", status="away"), since=m)
            self.assertEqual(ev["talking_with"], "")
            m = c.mark()
            a.send("/set talking-visible on")
            c.expect(pres("alice", talking_with="carol"), since=m)
            a.send("/set talking-visible maybe")
            a.expect({"event": "error", "name": "USAGE"})
            for x in (a, b, c):
                x.quit(0)
            srv.stop()

    def test_hidden_setting_survives_reconnect(self):
        first = Server()
        try:
            first.client("carol", register=True).quit(0)
            first.client("alice", register=True).quit(0)
            c = first.client("carol", reconnect=True)
            a = first.client("alice", reconnect=True)
            c.expect({"event": "joined", "room": "#lobby"})
            a.expect({"event": "joined", "room": "#lobby"})
            a.send("/set talking-visible off")
            m = c.mark()
            a.send("/query carol")
            a.send("/busy")
            ev = c.expect(pres("alice", status="busy"), since=m)
            self.assertEqual(ev["talking_with"], "")
            first.stop_keep_clients()
            a.expect({"event": "reconnecting"})
            c.expect({"event": "reconnecting"})
            ma, mc = a.mark(), c.mark()
        except BaseException:
            first.kill()
            raise
        # A new server on the same port and database: both clients come
        # back with their tokens; alice's client sends the setting again.
        with Server(listen="127.0.0.1:%d" % first.port, tmp=first.tmp) as srv:
            srv.clients += [a, c]
            a.expect({"event": "joined", "room": "#lobby"}, since=ma,
                     timeout=T_EXIT)
            c.expect({"event": "joined", "room": "#lobby"}, since=mc,
                     timeout=T_EXIT)
            m = c.mark()
            a.send("/query carol")
            a.send("/away tea")
            ev = c.expect(pres("alice", status="away"), since=m)
            self.assertEqual(ev["talking_with"], "")
            srv.console_expect("users", r"^alice away .*talking=carol")
            a.quit(0)
            c.quit(0)
            srv.stop()

    def test_server_turns_it_off(self):
        with Server("--no-talking-with") as srv:
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True)
            b.expect({"event": "joined", "room": "#lobby"})
            m = b.mark()
            a.send("/query bob")
            a.send("/busy")
            ev = b.expect(pres("alice", status="busy"), since=m)
            self.assertEqual(ev["talking_with"], "")
            m = b.mark()
            b.send("/who")
            ev = b.expect({"event": "users"}, since=m)
            self.assertTrue(all(u["talking_with"] == "" for u in ev["users"]))
            srv.console_expect("users", r"^alice busy .*talking=bob")
            a.quit(0)
            b.quit(0)
            srv.stop()


class Topics(unittest.TestCase):
    def test_topics_survive_restart(self):
        first = Server()
        try:
            a = first.client("alice", register=True)
            a.send("/join #dev")
            a.expect({"event": "joined", "room": "#dev"})
            a.send("/topic release on friday")
            a.expect({"event": "notice", "kind": "topic",
                      "text": "release on friday"})
            a.send("/join #lobby")
            a.send("/topic welcome to the lobby")
            a.expect({"event": "notice", "kind": "topic",
                      "text": "welcome to the lobby"})
            a.send("/join #tmp")
            a.send("/topic short lived")
            a.expect({"event": "notice", "kind": "topic",
                      "text": "short lived"})
            a.send("/topic")
            a.expect({"event": "error"})
            a.quit(0)
            first.stop()
        except BaseException:
            first.kill()
            raise
        with Server(tmp=first.tmp) as srv:
            b = srv.client("bob", register=True)
            ev = b.expect({"event": "joined", "room": "#lobby"})
            self.assertEqual(ev["topic"], "welcome to the lobby")
            b.send("/join #DEV")
            ev = b.expect({"event": "joined"})
            self.assertEqual(ev["topic"], "release on friday")
            # (Wait for the backlog: a HISTORY_END that comes after the
            # part is a different story, for the client core.)
            b.expect({"event": "history_end", "room": ev["room"]})
            # Emptied and made again, without a restart: the topic stays.
            b.send("/part #dev")
            b.expect({"event": "parted"})
            b.send("/join #dev")
            ev = b.expect({"event": "joined", "room": "#dev"})
            self.assertEqual(ev["topic"], "release on friday")
            b.send("/rooms")
            ev = b.expect({"event": "rooms"})
            topics = {r["room"].lower(): r["topic"] for r in ev["rooms"]}
            self.assertEqual(topics["#dev"], "release on friday")
            b.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
