"""First screen and help: /help lists every command including the UI's
own, /help COMMAND shows one, /keys prints its summary in the chat, and
the server's MOTD is in the server window (window 0) only."""
import subprocess
import unittest

import tuiharness as h

MOTD = "Welcome to the test server: /help lists the commands"


def parleyd_has_motd():
    """True when this parleyd takes --motd (the operator features)."""
    p = subprocess.run([h.PARLEYD, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30 * h.SCALE)
    return b"--motd" in p.stdout


def chat(s):
    return "\n".join(s.chat_pane())


class Help(h.TuiCase):
    def test_help_lists_everything(self):
        a = self.login("alice")
        a.line("/help")
        s = a.wait(lambda s: "/help COMMAND for one" in chat(s),
                   "the end of the help listing")
        # Scroll up to see the whole listing (it is longer than the pane,
        # shorter than two).
        a.keys("PageUp")
        seen = chat(s)
        s = a.wait(lambda s: "/help COMMAND for one" not in chat(s),
                   "a page up")
        seen += "\n" + chat(s)
        a.keys("PageUp")
        s = a.wait(lambda s: "commands:" in chat(s), "the start of the listing")
        seen += "\n" + chat(s)
        for cmd in ("/join", "/msg", "/quit", "/joins", "/search [TEXT]",
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

    def test_every_command_and_alias_known(self):
        # The transfer commands and the aliases have their /help entry, and
        # Tab completes each prefix to the one real command.
        a = self.login("alice")
        for name, text in (("transfers", "list this session's transfers"),
                           ("cancel", "stop a transfer"),
                           ("accept", "accept the newest"),
                           ("reject", "decline the newest"),
                           ("put", "same as /upload"),
                           ("get", "same as /download"),
                           ("list", "same as /files"),
                           ("change", "same as /rename")):
            a.line("/help " + name)
            s = a.wait(lambda s: text in chat(s) or "no command" in s.text,
                       "/%s's entry" % name)
            self.assertNotIn("no command", s.text, s.dump())
        for prefix, full in (("/acc", "/accept"), ("/rej", "/reject"),
                             ("/can", "/cancel"), ("/transf", "/transfers"),
                             ("/pu", "/put"), ("/chan", "/change")):
            a.type(prefix)
            a.keys("Tab")
            a.wait(lambda s: s.input_line().rstrip() == "> " + full,
                   "%s completed to %s" % (prefix, full))
            a.keys("C-u")
        a.type("/transf")
        a.keys("Tab")
        a.keys("Enter")
        s = a.wait(lambda s: "no transfers in this session" in chat(s) or
                   "unknown command" in s.text, "/transfers' answer")
        self.assertNotIn("unknown command", s.text, s.dump())

    def test_keys_in_chat(self):
        a = self.login("alice")
        a.line("/keys")
        s = a.wait(lambda s: "Ctrl-R" in chat(s) and "Alt-A" in chat(s),
                   "the key summary in the chat pane")
        self.assertNotIn("Ctrl-R", s.rows[0], s.dump())
        self.assertIn("repaint", chat(s), s.dump())


@unittest.skipUnless(parleyd_has_motd(), "parleyd without --motd")
class Motd(h.TuiCase):
    server_args = ("--motd", MOTD)

    def test_motd_once_in_the_server_window(self):
        # The MOTD belongs to the server window (as irssi's status
        # window): it is not repeated as a notice in #lobby.
        a = self.login("alice")
        a.line("after the motd")
        s = a.wait(lambda s: "after the motd" in "\n".join(s.chat_pane()),
                   "alice's line in #lobby")
        self.assertTrue(s.rows[0].startswith("#lobby"), s.dump())
        self.assertNotIn(MOTD, s.text, s.dump())
        a.keys("M-0")
        s = a.wait(lambda s: "server messages" in s.rows[0] and
                   MOTD in "\n".join(s.chat_pane()), "the server window")
        self.assertEqual("\n".join(s.chat_pane()).count(MOTD), 1, s.dump())
        a.keys("M-1")
        s = a.wait(lambda s: s.rows[0].startswith("#lobby"), "#lobby again")
        self.assertNotIn(MOTD, s.text, s.dump())


if __name__ == "__main__":
    h.main()
