"""A line typed in one client shows in the other's chat window."""
import re

import tuiharness as h

TS = r"\d\d:\d\d "


class Chat(h.TuiCase):
    def test_message_both_ways(self):
        a = self.login("alice")
        b = self.login("bob")
        a.wait(lambda s: "bob" in s.users(), "bob in the users pane")
        s = a.wait(lambda s: re.search(r"^" + TS + r"-- bob joined #lobby",
                                       "\n".join(s.chat_pane()), re.M),
                   "the join notice")
        a.line("hi bob, how are you?")
        s = b.wait(lambda s: re.search(
            r"^" + TS + r"<alice> hi bob, how are you\?$",
            "\n".join(s.chat_pane()), re.M), "alice's line in bob's chat")
        # The sender's own line comes back (echo) and shows once.
        s = a.wait_text("<alice> hi bob, how are you?")
        self.assertEqual(s.text.count("hi bob, how are you?"), 1, s.dump())
        # The input line is empty again after sending.
        self.assertEqual(s.input_line().rstrip(), ">", s.dump())
        b.line("/me waves at alice")
        a.wait(lambda s: re.search(r"^" + TS + r"\* bob waves at alice",
                                   "\n".join(s.chat_pane()), re.M),
               "bob's action")
        # UTF-8 and wide characters arrive intact and the layout holds.
        b.line("caf\u00e9 \u4f60\u597d \U0001F600 ok")
        s = a.wait_text("caf\u00e9 \u4f60\u597d \U0001F600 ok")
        s = self.layout_ok(a, "alice")

    def test_mention_highlighted(self):
        a = self.login("alice")
        b = self.login("bob")
        b.line("ping alice: lunch?")
        b.line("no mention here")
        s = a.wait(lambda s: "no mention here" in s.text, "both lines")
        s = a.screen(esc=True)
        rows = s.text.split("\n")
        ment = [r for r in rows if "lunch?" in r]
        plain = [r for r in rows if "no mention here" in r]
        self.assertTrue(ment and plain, s.text)
        # The mention carries attributes (bold/reverse/colour) that the
        # plain line does not: compare the SGR codes on both rows.
        sgr = lambda r: set(re.findall(r"\x1b\[([0-9;]*)m", r))
        self.assertTrue(sgr(ment[0]) - sgr(plain[0]),
                        "mention not highlighted:\n%r\n%r" %
                        (ment[0], plain[0]))

    def test_long_line_wraps_with_indent(self):
        a = self.login("alice", cols=80, rows=24)
        b = self.login("bob")
        words = " ".join("word%02d" % i for i in range(30))
        b.line(words)
        s = a.wait_text("word29")
        chat = s.chat_pane()
        i = next(i for i, r in enumerate(chat) if "word00" in r)
        self.assertIn("<bob> word00", chat[i], s.dump())
        # Continuation rows are indented (hanging indent), none too wide.
        cont = []
        for r in chat[i + 1:]:
            if not r.strip():
                break
            cont.append(r)
        self.assertTrue(cont, s.dump())
        for r in cont:
            self.assertTrue(r.startswith(" "), "no hanging indent:\n" +
                            s.dump())
        joined = " ".join(x.strip() for x in [chat[i].split("> ", 1)[1]] +
                          cont)
        self.assertEqual(joined, words, s.dump())
        s = self.layout_ok(a, "alice")

    def test_wide_combining_and_control_text(self):
        a = self.login("alice", cols=80, rows=24)
        b = self.batch("bob")
        a.wait(lambda s: "bob" in s.users(), "bob in the pane")
        lines = [
            "\u4f60\u597d" * 40,  # 160 columns of CJK: wraps at a wide char
            "cafe\u0301 na\u0308ive \u0915\u094d\u0937 end1",  # combining
            "zero\u200bwidth \u202eabc\u202c end2",  # format characters
            "tab\there end3",
            "\u1100\u1161\u11a8 end4",  # Hangul jamo: one wide syllable
        ]
        b.send(lines)
        a.wait_text("end4")
        # Every row fits, the separator stays in its column, the bars hold.
        s = self.layout_ok(a, "alice")
        chat = s.chat_pane()
        cjk = [r for r in chat if "\u4f60" in r or "\u597d" in r]
        self.assertEqual("".join(r.split("> ", 1)[-1].strip() for r in cjk),
                         "\u4f60\u597d" * 40, s.dump())
        # The text reaches the screen, a TAB shown as one visible cell.
        self.assertRegex(s.text, r"<bob> tab.here end3", s.dump())
        # Escape sequences never reach the terminal: the server refuses
        # control characters, and nothing else changed on alice's screen.
        b.send(["esc\x1b[2J end5", "marker end6"])
        s = a.wait_text("marker end6")
        self.assertNotIn("end5", s.text, s.dump())
        self.layout_ok(a, "alice")

    def test_help_lists_commands(self):
        a = self.login("alice")
        a.line("/help")
        s = a.wait(lambda s: "/help COMMAND for one; /keys for the keys" in
                   s.text, "the end of the /help list")
        chat = "\n".join(s.chat_pane())
        # The list is longer than the pane: its start is two pages up at
        # most (PageUp at the top stays there).
        a.keys("PageUp")
        s = a.wait(lambda s: "/help COMMAND for one" not in s.text,
                   "a page up")
        chat = "\n".join(s.chat_pane()) + "\n" + chat
        a.keys("PageUp")
        s = a.wait(lambda s: "== commands:" in s.text, "the /help list's top")
        chat = "\n".join(s.chat_pane()) + "\n" + chat
        for cmd in ("/join #room", "/part", "/msg USER TEXT", "/query USER",
                    "/me TEXT", "/away", "/back", "/busy", "/who", "/rooms",
                    "/kick", "/ban", "/topic", "/quit", "/close", "/joins",
                    "/search",
                    "/panewidth N", "/keys", "/set bell on|off"):
            self.assertRegex(chat, r"(?m)^" + TS + r"==\s+" + re.escape(cmd) +
                             r"\b.*\s\w", "%s in /help\n%s" % (cmd, chat))
        a.keys("End")
        self.layout_ok(a, "alice")

if __name__ == "__main__":
    h.main()
