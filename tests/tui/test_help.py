"""First screen and help: /help lists every command including the UI's
own, /help COMMAND shows one, /keys prints its summary in the chat."""
import tuiharness as h


def chat(s):
    return "\n".join(s.chat_pane())


class Help(h.TuiCase):
    def test_help_lists_everything(self):
        a = self.login("alice")
        a.line("/help")
        s = a.wait(lambda s: "/help COMMAND for one" in chat(s),
                   "the end of the help listing")
        # Scroll up to see the whole listing (it is longer than the pane).
        a.keys("PageUp")
        seen = chat(s)
        s = a.wait(lambda s: "commands:" in chat(s) or
                   "/join" in chat(s), "the start of the listing")
        seen += "\n" + chat(s)
        a.keys("PageUp")
        s = a.screen()
        seen += "\n" + chat(s)
        for cmd in ("/join", "/msg", "/quit", "/search [TEXT]",
                    "/panewidth N", "/keys", "/set bell on|off"):
            self.assertIn(cmd, seen, "%s in /help\n%s" % (cmd, seen))

    def test_help_one_command(self):
        a = self.login("alice")
        a.line("/help panewidth")
        s = a.wait(lambda s: "/panewidth N" in chat(s), "/panewidth's entry")
        self.assertNotIn("/join", chat(s), s.dump())
        a.line("/help /join")
        s = a.wait(lambda s: "/join" in chat(s), "/join's entry")
        self.assertNotIn("commands:", chat(s), s.dump())
        a.line("/help nosuchthing")
        a.wait(lambda s: "no command nosuchthing" in s.text,
               "a notice for an unknown command")

    def test_keys_in_chat(self):
        a = self.login("alice")
        a.line("/keys")
        s = a.wait(lambda s: "Ctrl-R" in chat(s) and "Alt-A" in chat(s),
                   "the key summary in the chat pane")
        self.assertNotIn("Ctrl-R", s.rows[0], s.dump())
        self.assertIn("repaint", chat(s), s.dump())


if __name__ == "__main__":
    h.main()
