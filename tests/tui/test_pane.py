"""/pane room|all: the users pane shows everyone online, or only the
current room's members (issue 13, navigation), and the choice is kept
for the next start."""
import os

import tuiharness as h


class PaneMode(h.TuiCase):
    def test_room_and_all(self):
        a = self.login("alice")
        b = self.login("bob")
        c = self.login("carol")
        a.wait(lambda s: set(s.users()) == {"alice", "bob", "carol"},
               "everyone in alice's pane")
        for t in (a, c):
            t.line("/join #dev")
            t.wait(lambda s: s.rows[0].startswith("#dev"), "in #dev")
        a.line("/pane room")
        s = a.wait(lambda s: s.users_pane() and
                   s.users_pane()[0].startswith("#dev 2") and
                   set(s.users()) == {"alice", "carol"},
                   "only #dev's members in the pane")
        # Another room window: its own members.
        a.keys("M-1")
        a.wait(lambda s: s.rows[0].startswith("#lobby") and
               s.users_pane()[0].startswith("#lobby 3") and
               set(s.users()) == {"alice", "bob", "carol"},
               "#lobby's members")
        a.keys("M-2")
        a.wait(lambda s: set(s.users()) == {"alice", "carol"}, "#dev again")
        # A part shows at once.
        c.line("/part #dev")
        a.wait(lambda s: set(s.users()) == {"alice"} and
               s.users_pane()[0].startswith("#dev 1"), "carol left #dev")
        a.line("/pane all")
        a.wait(lambda s: s.users_pane()[0].startswith("Users 3") and
               set(s.users()) == {"alice", "bob", "carol"}, "everyone again")
        a.line("/pane sideways")
        a.wait(lambda s: "usage: /pane room|all" in s.text, "usage")
        del b

    def test_choice_remembered(self):
        """/pane is kept with the session: the next start shows the same
        pane, over the configuration's pane = (which only sets the
        default)."""
        a = self.login("alice")
        self.batch("bob")
        a.line("/pane room")
        a.wait(lambda s: s.users_pane()[0].startswith("#lobby 2"),
               "the room's members")

        def restart():
            a.line("/quit")
            self.assertEqual(a.exit_status(), 0)
            a.parley("alice", self.server.port, register=False)

        restart()
        a.wait(lambda s: s.users_pane()[0].startswith("#lobby 2") and
               set(s.users()) == {"alice", "bob"}, "room mode again")
        a.line("/pane all")
        a.wait(lambda s: s.users_pane()[0].startswith("Users 2"), "all")
        # The configuration says room; the last /pane said all.
        conf = os.path.join(self.tmp, "config", "parley")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "parley.conf"), "w") as f:
            f.write("pane = room\n")
        restart()
        a.wait(lambda s: s.users_pane()[0].startswith("Users 2"),
               "everyone online again")


if __name__ == "__main__":
    h.main()
