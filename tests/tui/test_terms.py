"""Terminal types and colour settings: TERM=xterm, screen (8 colours),
linux, and NO_COLOR."""
import re
import unittest

import tuiharness as h

COLOUR_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colours(text):
    """The colour parameters (30-37, 38;..., 40-47, 48;..., 90-107) used."""
    out = set()
    for m in COLOUR_SGR.finditer(text):
        ps = m.group(1).split(";")
        i = 0
        while i < len(ps):
            p = int(ps[i] or 0)
            if p in (38, 48):
                out.add(";".join(ps[i:i + 3]))
                i += 3
                continue
            if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 107:
                out.add(str(p))
            i += 1
    return out


class Terms(h.TuiCase):
    def scene(self, cmd_env):
        """alice (with cmd_env) and bob chatting; returns alice's terminal."""
        a = self.login("alice", cmd_env=cmd_env)
        b = self.login("bob")
        b.line("/away back soon")
        b.line("hello alice")
        b.line("/me smiles")
        s = a.wait(lambda s: s.users().get("bob", ("",))[0] == "~" and
                   "* bob smiles" in s.text, "bob's lines and away mark")
        s = self.layout_ok(a, "alice")
        return a

    def test_xterm(self):
        a = self.scene("TERM=xterm")
        self.assertTrue(colours(a.screen(esc=True).text))
        # xterm's terminfo names the modified arrows (kLFT3): Alt-Left
        # widens the users pane.
        a.keys("M-Left")
        s = a.wait(lambda s: s.sep_col() == 77 or "1;3D" in s.text,
                   "Alt-Left widening the users pane")
        self.assertEqual((s.sep_col(), s.input_line().rstrip()), (77, ">"),
                         s.dump())
        a.keys("M-Right")
        a.wait(lambda s: s.sep_col() == 79, "Alt-Right narrowing it")
        a.resize(80, 24)
        s = a.wait(lambda s: s.height == 24 and s.sep_col() == 59,
                   "the layout at 80x24")
        s = self.layout_ok(a, "alice")

    def test_screen_8_colours(self):
        a = self.scene("TERM=screen")
        used = colours(a.screen(esc=True).text)
        self.assertTrue(used)
        self.assertFalse([c for c in used if ";" in c or int(c) >= 90],
                         "only the 8 basic colours on TERM=screen: %s" % used)

    def test_linux_console(self):
        a = self.scene("TERM=linux")
        a.line("/quit")
        self.assertEqual(a.exit_status(), 0, a.stderr_text())

    def test_linux_console_exit_leaves_no_stale_input(self):
        # TERM=linux has no alternate screen (no smcup/rmcup): the last
        # screen stays, and endwin() leaves the cursor at the start of the
        # bottom row, so the shell prompt is drawn over the old input line
        # ("tui$ it" after "> /quit"). Known defect, see the TUI test report
        # (fix in ui/tui.c tui_screen_off: when exit_ca_mode is empty, print
        # "\n" after endwin() or erase the screen first). Remove the
        # decorator once fixed.
        a = self.scene("TERM=linux")
        a.line("/quit")
        s = a.wait_exited()
        row = s.rows[a.cursor()[1]].rstrip()
        self.assertEqual(row, h.PS1.strip(),
                         "stale text after the prompt\n" + s.dump())

    def test_no_color(self):
        a = self.scene("NO_COLOR=1")
        s = a.screen(esc=True)
        self.assertEqual(colours(s.text), set(),
                         "NO_COLOR: no colours at all\n" + s.text)
        # The bars and the mention stay distinguishable by attributes.
        self.assertRegex(s.rows[0], r"\x1b\[[0-9;]*7[0-9;]*m|\x1b\[7m",
                         "title bar in reverse video")


if __name__ == "__main__":
    h.main()
