"""The users-pane separator stays whole (issue 13): three TUI users and
bots through parleyd restarts, joins and parts, presence changes, long
lines with wide characters scrolling the chat, and the users pane
appearing and changing; after each round every row between the bars
still has the separator in its column, and Ctrl-L (a repaint from
scratch) changes nothing on the screen. Variation selectors, on whose
width terminals disagree with wcwidth, never reach the terminal."""
import tuiharness as h

# Lines whose wide characters fall on the last column of the chat pane
# (79 columns at 100x30 with a 20-column users pane) at every parity,
# with and without spaces to wrap at.
WIDE = ["\u6f22\u5b57" * 40, "x" + "\u6f22\u5b57" * 40,
        "\U0001f600" * 45, "y" + "\U0001f44d" * 45,
        "a \u4e2d\u6587 b " * 12, "\u00e9\u0301 " * 30 + "\u6f22" * 20]


def stable(term):
    """A screen that two captures in a row agree on (one redraw can reach
    tmux in several writes); polls with a bound."""
    last = [None]

    def same():
        s = term.screen()
        ok = last[0] is not None and s.text == last[0].text
        last[0] = s
        return ok and s

    return h.wait_until(same, h.T_WAIT, "a still screen on " + term.name)


class Separator(h.TuiCase):
    def check_round(self, term, user, note):
        """Waits for note on term's screen, then: the separator is whole,
        and a repaint (Ctrl-L) gives the very same screen."""
        term.wait_text(note, timeout=h.T_WAIT * 3)
        s = stable(term)
        d = "%s, %s:\n%s" % (user, note, s.dump())
        col = s.cols - 21
        for i, r in enumerate(s.rows[1:-2], 1):
            cells = []  # the row's characters by display column
            for ch in r:
                w = h.text_width(ch)
                if w == 0 and cells:
                    cells[-1] += ch  # a combining mark joins its base
                else:
                    cells += [ch] + [""] * (w - 1)
            self.assertTrue(len(cells) > col and cells[col] == h.SEP,
                            "row %d: no separator in column %d; %s" %
                            (i, col, d))
        term.keys("C-l")
        term.wait_check(lambda r: self.assertEqual(
            r.text, s.text, "Ctrl-L changed the screen; before %s\nafter:\n%s"
            % (d, r.dump())), "the same screen after Ctrl-L")

    def test_separator_survives_everything(self):
        users = ["alice", "bob", "carol"]
        terms = [self.login(u) for u in users]
        a, b, c = terms
        for t in terms:
            t.wait(lambda s: set(users) <= set(s.users()), "everyone")
        port = self.server.port
        bots = []
        for rnd in range(4):
            # Presence changes and conversations ("talking with").
            b.line("/away round %d" % rnd)
            c.line("/busy")
            a.line("/query carol" if rnd % 2 else "/query bob")
            a.keys("M-1")
            # Bots come and go: joined lines scroll the chat, the users
            # pane grows and shrinks.
            bot = self.batch("bot%d" % rnd)
            bots.append(bot)
            for i, text in enumerate(WIDE):
                bot.send(["%d %s" % (i, text)])
            b.line("/back")
            c.line("/back")
            for t, u in zip(terms, users):
                t.line("%s: %s" % (u, WIDE[rnd % len(WIDE)]))
            if rnd % 2:
                c.line("/join #dev")
                c.line("/part #dev")
                c.keys("M-1")
                bots.pop(0).send(["/quit"])
            # A restart: everyone reconnects, presence comes back.
            if rnd == 2:
                self.assertEqual(self.server.stop(), 0)
                for t, u in zip(terms, users):
                    t.wait(lambda s, u=u: not s.status_bar().startswith(
                        "[%s@127.0.0.1] connected" % u), "disconnected")
                self.server = h.Server(self.tmp, port=port)
                for t, u in zip(terms, users):
                    t.wait(lambda s, u=u: s.status_bar().startswith(
                        "[%s@127.0.0.1] connected" % u), "back",
                        timeout=45 * h.SCALE)
                for bt in bots:
                    bt.send(["/quit"])
                bots = [self.batch("again%d" % rnd)]
            note = "round %d done" % rnd
            bots[-1].send([note])
            for t, u in zip(terms, users):
                self.check_round(t, u, note)

    def test_variation_selectors_not_sent(self):
        """"❤️" is one column to wcwidth (and so to curses) but two in
        tmux 3.4 and newer terminals, which put the rest of the row, and a
        repainted row's blanks, one column right: over the separator. The
        selector never reaches the terminal: "❤" alone is one column
        everywhere."""
        a = self.login("alice")
        bob = self.batch("bob")
        bob.send(["I \u2764\ufe0f it \u263a\ufe0f ok \u2764\ufe0e!"])
        s = a.wait_text("<bob> I \u2764 it")
        row = [r for r in s.rows if "<bob> I" in r][0]
        self.assertIn("<bob> I \u2764 it \u263a ok \u2764!", row, s.dump())
        self.assertNotIn("\ufe0f", s.text, s.dump())
        self.assertNotIn("\ufe0e", s.text, s.dump())
        self.check_round(a, "alice", "\u263a ok")
        # Typed in the input line: drawn without it, the cursor after "x".
        a.type("\u2764\ufe0fx")
        s = a.wait(lambda s: s.input_line().startswith("> \u2764x"),
                   "the heart in the input line")
        self.assertNotIn("\ufe0f", s.input_line())
        self.assertEqual(a.cursor(), (4, s.height - 1))  # "> ❤x"


if __name__ == "__main__":
    h.main()
