"""/pane room|all: the users pane shows everyone online, or only the
current room's members (issue 13, navigation)."""
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


if __name__ == "__main__":
    h.main()
