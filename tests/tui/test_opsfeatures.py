"""Server features in the TUI: the MOTD on the first screen (the server
window), and /set talking-visible off hiding ">peer" in others' panes."""
import tuiharness as h


class Motd(h.TuiCase):
    server_args = ("--motd", "Hello from the operators")

    def test_motd_in_server_window(self):
        a = self.login("alice")
        a.wait(lambda s: s.status_bar().startswith(
            "[alice@127.0.0.1] connected |"), "connected")
        a.keys("M-0")
        s = a.wait(lambda s: "server messages" in s.text.splitlines()[0],
                   "the server window")
        s = a.wait(lambda s: any("== Hello from the operators" in l
                                 for l in s.chat_pane()),
                   "the MOTD as an info line")


class TalkingVisible(h.TuiCase):
    def test_hidden_from_the_users_pane(self):
        a = self.login("alice")
        b = self.login("bob")
        b.wait(lambda s: "alice" in s.users(), "alice in bob's pane")
        a.line("/query bob")
        b.wait(lambda s: any("alice >bob" in l for l in s.users_pane()),
               "alice >bob in bob's pane")
        a.line("/set talking-visible off")
        a.wait_text("talking-visible off")
        b.wait(lambda s: any("alice" in l and ">bob" not in l
                             for l in s.users_pane()),
               "alice without >bob in bob's pane")
        a.line("/set talking-visible on")
        b.wait(lambda s: any("alice >bob" in l for l in s.users_pane()),
               "alice >bob again")


if __name__ == "__main__":
    h.main()
