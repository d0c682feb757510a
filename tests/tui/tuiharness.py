"""tuiharness.py: run the parley TUI in tmux against a real parleyd.

Python 3 stdlib only. Each test run gets:
  Server  a parleyd on 127.0.0.1:0 (port read from its "listening on" line),
          with a fresh database and files dir in a temp dir, --pwhash min.
  Tmux    a private tmux server (-L <unique socket>, -f /dev/null), status
          line off, TERM=screen-256color and LANG=C.UTF-8 in every pane.
  Term    one tmux session per user, fixed size (100x30 unless asked), a
          plain bash (no rc files) in the pane; parley is typed into it, so
          after /quit the shell prompt comes back and `echo $?` shows
          parley's exit status. parley's stderr goes to a file (sanitizer
          reports land there and fail the test).
  Batch   a `parley --batch` client, for extra users and fast senders.

Screens are read with capture-pane (-e for attributes) into a Screen, which
knows the layout the UI draws (see ui/layout.c): title row, chat pane | users
pane (separator U+2502), status bar on the second-last row, input line last.

Synchronisation is always "poll the screen until a condition holds, with a
bound" (every 50 ms, 10 s by default, stretched by TUI_SCALE); there are no
fixed sleeps. Whole-screen checks are retried until they hold (wait_check),
since one capture can fall between two writes of a redraw. On a timeout the
assertion message carries the whole screen.

Run one file by hand: python3 tests/tui/test_chat.py [-k NAME]; PARLEY and
PARLEYD default to build-tui/, build-shots/ or build/.
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SKIP = 77  # meson's "skipped" exit status


def _binary(env, rel):
    """Path of a binary: from env (set by meson), else from a build dir."""
    p = os.environ.get(env)
    if p:
        return p
    for d in ("build-tui", "build-shots", "build"):
        cand = os.path.join(ROOT, d, rel)
        if os.path.exists(cand):
            return cand
    return os.path.basename(rel)


PARLEYD = _binary("PARLEYD", "src/server/parleyd")
PARLEY = _binary("PARLEY", "parley")
# parley with made-up transfers in its pane (tests/tui/parley_demo.c).
PARLEY_DEMO = _binary("PARLEY_DEMO", "tests/tui/parley-demo")
TMUX = shutil.which("tmux")

SCALE = float(os.environ.get("TUI_SCALE", "1"))
T_WAIT = 10 * SCALE  # default bound for one screen condition
T_START = 20 * SCALE  # parleyd start until "listening on"
POLL = 0.05  # screen polling interval (not synchronisation)

PASSWORD = "password123"
PS1 = "tui$ "
SEP = "\u2502"  # the users pane separator under a UTF-8 locale


def _on_term(sig, frame):
    """SIGTERM (meson's timeout): exit through atexit, which cleans up."""
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, _on_term)


def need_tmux():
    """Exits with meson's skip status when tmux is not installed."""
    if not TMUX:
        print("tmux not found: skipping the TUI tests")
        sys.exit(SKIP)


def wait_until(cond, timeout, what):
    """Polls cond() every POLL seconds until it is true, with a bound."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(POLL)  # polling interval, not synchronisation


class Server:
    """A real parleyd on a loopback port chosen at run time."""

    def __init__(self, tmp, extra=(), name="testsrv", port=0):
        self.tmp = tmp
        self.db = os.path.join(tmp, "db")
        self.files = os.path.join(tmp, "files")
        os.makedirs(self.files, exist_ok=True)
        self.log = os.path.join(tmp, "parleyd.log")
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [PARLEYD, "--listen", "127.0.0.1:%d" % port, "--db", self.db,
             "--files", self.files, "--pwhash", "min", "--no-discovery",
             "--name", name, "--log", self.log,
             # every client comes from 127.0.0.1: no per-address limits
             # unless a test asks (its extra arguments come later and win)
             "--max-per-ip", "0", "--register-rate", "0", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        atexit.register(self._kill)
        self.port = None
        m = self.wait_line(r"^listening on 127\.0\.0\.1:(\d+)$", T_START)
        self.port = int(m.group(1))
        self.tls = "--insecure-plaintext" not in extra
        if self.tls:
            self.trust()

    def fingerprint(self):
        """`parleyd fingerprint`: the key the clients pin."""
        return subprocess.run(
            [PARLEYD, "fingerprint", "--db", self.db], check=True,
            stdout=subprocess.PIPE, timeout=30 * SCALE).stdout.decode().strip()

    def trust(self):
        """Pins this server's key in known_servers under tmp/config (the
        XDG_CONFIG_HOME of every client of the test), as a user who said
        yes once would have it: the tests are about the TUI, the first
        contact has its own test."""
        d = os.path.join(self.tmp, "config", "parley")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "known_servers"), "a") as f:
            f.write("127.0.0.1:%d %s\n" % (self.port, self.fingerprint()))

    def user_add(self, name, password=PASSWORD, admin=False):
        """Creates an account with `parleyd user add` (password on stdin)."""
        p = subprocess.run([PARLEYD, "user", "add", name, "--db", self.db,
                            "--pwhash", "min"] +
                           (["--admin"] if admin else []),
                           input=(password + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30 * SCALE)
        if p.returncode != 0:
            raise AssertionError("parleyd user add %s: %s" %
                                 (name, p.stdout.decode(errors="replace")))

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # EOF
            self.cond.notify_all()

    def wait_line(self, regex, timeout=T_WAIT):
        """Returns the match of the first stdout line matching regex."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        i = 0
        with self.cond:
            while True:
                while i < len(self.lines):
                    if self.lines[i] is None:
                        raise AssertionError("parleyd exited before %r:\n%s" %
                                             (regex, self.tail()))
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("parleyd: no line %r in %.1fs:\n%s" %
                                         (regex, timeout, self.tail()))
                self.cond.wait(left)

    def tail(self):
        out = [s for s in self.lines if s is not None][-20:]
        try:
            with open(self.log, errors="replace") as f:
                out += ["log: " + s for s in f.read().splitlines()[-20:]]
        except OSError:
            pass
        return "\n".join(out)

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        """Asks for a clean shutdown on the console, kills after a bound."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"shutdown\n")
                self.proc.stdin.flush()
            except OSError:
                pass
            try:
                self.proc.wait(15 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        return self.proc.returncode


class Batch:
    """A `parley --batch` client (registered on start) that sends lines."""

    def __init__(self, name, port, tmp):
        # The test's config (and the server's key pinned there), never the
        # tester's own.
        env = dict(os.environ, PARLEY_PASSWORD=PASSWORD,
                   XDG_CONFIG_HOME=os.path.join(tmp, "config"))
        self.name = name
        self.err = open(os.path.join(tmp, name + ".batch.stderr"), "wb")
        self.proc = subprocess.Popen(
            [PARLEY, "--batch", "--register",
             "%s@127.0.0.1:%d" % (name, port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
            env=env)
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            try:
                ev = json.loads(raw)
            except ValueError:
                ev = {"event": "?", "raw": raw}
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()
        with self.cond:
            self.events.append(None)
            self.cond.notify_all()

    def wait_event(self, event, timeout=T_WAIT):
        """Waits for an event named event; returns it."""
        end = time.monotonic() + timeout
        i = 0
        with self.cond:
            while True:
                while i < len(self.events):
                    ev = self.events[i]
                    if ev is None:
                        raise AssertionError("%s exited before %s: %s" %
                                             (self.name, event,
                                              self.events[-5:]))
                    if ev.get("event") == event:
                        return ev
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: no %s event in %.1fs" %
                                         (self.name, event, timeout))
                self.cond.wait(left)

    def send(self, lines):
        self.proc.stdin.write("".join(l + "\n" for l in lines).encode())
        self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.write(b"/quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10 * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        return self.proc.returncode


class Tmux:
    """A private tmux server (its own socket, no config file)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.sock = "parley-tui-%d-%d" % (os.getpid(), time.monotonic_ns())
        self.env = dict(os.environ, LANG="C.UTF-8")
        self.env.pop("LC_ALL", None)
        self.env.pop("TMUX", None)
        self.env["TMUX_TMPDIR"] = tmp  # the socket lives in our temp dir
        # parley reads $XDG_CONFIG_HOME/parley/parley.conf and keeps its
        # session in $XDG_STATE_HOME/parley: never the tester's own.
        self.env["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
        self.env["XDG_STATE_HOME"] = os.path.join(tmp, "state")
        atexit.register(self.kill)
        # A keeper session holds the server while options are set, so every
        # later pane starts with them.
        self.run("new-session", "-d", "-s", "keeper", "-x", "100", "-y", "30",
                 "cat")
        for opt in (("status", "off"),
                    ("default-terminal", "screen-256color"),
                    ("escape-time", "0"), ("history-limit", "0")):
            self.run("set-option", "-g", *opt)
        self.run("set-option", "-g", "remain-on-exit", "on")

    def run(self, *args, check=True):
        """Runs one tmux command on the private server; returns stdout."""
        p = subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null", *args],
                           env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10 * SCALE)
        if check and p.returncode != 0:
            raise AssertionError("tmux %s failed: %s" %
                                 (" ".join(args), p.stderr.decode().strip()))
        return p.stdout.decode("utf-8", "replace")

    def kill(self):
        self.run("kill-server", check=False)


def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class Term:
    """One tmux session with a shell in which parley runs."""

    def __init__(self, tmux, name, cols=100, rows=30, env=None):
        self.tmux = tmux
        self.name = name
        self.t = name + ":"  # explicit target (see ui-notes.md)
        self.stderr = os.path.join(tmux.tmp, name + ".stderr")
        args = ["new-session", "-d", "-s", name, "-x", str(cols), "-y",
                str(rows), "-e", "LANG=C.UTF-8", "-e", "PS1=" + PS1,
                "-e", "HISTFILE=/dev/null"]
        for k, v in (env or {}).items():
            args += ["-e", "%s=%s" % (k, v)]
        # argv form: no "sh -c" in between (dash would drop PS1).
        tmux.run(*args, "bash", "--norc", "--noprofile")
        self.wait(lambda s: PS1.strip() in s.text, "the shell prompt")

    # ---- typing ------------------------------------------------------------
    def keys(self, *keys):
        """Sends tmux key names (Enter, M-2, C-n, ...)."""
        self.tmux.run("send-keys", "-t", self.t, *keys)

    def type(self, text):
        """Types text literally."""
        self.tmux.run("send-keys", "-t", self.t, "-l", text)

    def line(self, text):
        """Types text and presses Enter."""
        self.type(text)
        self.keys("Enter")

    # ---- reading -----------------------------------------------------------
    def screen(self, esc=False):
        """The visible screen as a Screen."""
        args = ["capture-pane", "-p", "-t", self.t]
        if esc:
            args.append("-e")
        out = self.tmux.run(*args)
        size = self.tmux.run("display-message", "-p", "-t", self.t,
                             "#{pane_width} #{pane_height}").split()
        return Screen(out, int(size[0]), int(size[1]))

    def wait(self, cond, what, timeout=None, esc=False):
        """Polls the screen until cond(screen) is true; returns the screen."""
        last = [None]

        def check():
            s = self.screen(esc=esc)
            last[0] = s
            return cond(s) and s

        try:
            return wait_until(check, T_WAIT if timeout is None else timeout,
                              "%s on %s's screen" % (what, self.name))
        except AssertionError as e:
            raise AssertionError("%s\n%s\n%s" %
                                 (e, last[0].dump() if last[0] else "",
                                  self.stderr_text())) from None

    def wait_check(self, check, what, timeout=None, esc=False):
        """Polls until check(screen) stops raising AssertionError; on the
        bound, raises the last assertion. For checks of a whole screen: a
        capture can catch tmux's view between two writes of one redraw (or
        tmux's own reflow before the program redrew after a resize), so a
        check is retried until it holds, not judged on one capture."""
        last = [None]

        def ok():
            s = self.screen(esc=esc)
            try:
                check(s)
            except AssertionError as e:
                last[0] = e
                return False
            return s

        try:
            return wait_until(ok, T_WAIT if timeout is None else timeout,
                              "%s on %s's screen" % (what, self.name))
        except AssertionError as e:
            raise AssertionError("%s; last check failed:\n%s\n%s" %
                                 (e, last[0], self.stderr_text())) from None

    def wait_text(self, text, timeout=None):
        """Waits until text (a substring) is anywhere on the screen."""
        return self.wait(lambda s: text in s.text, repr(text), timeout)

    def stderr_text(self):
        try:
            with open(self.stderr, errors="replace") as f:
                data = f.read()
        except OSError:
            return ""
        return ("%s stderr:\n%s" % (self.name, data[-4000:])) if data else ""

    # ---- the client --------------------------------------------------------
    def parley(self, user, port, register=True, password=PASSWORD,
               extra="", env="", binary=None):
        """Types the parley command into the shell; waits for the login.
        env: more VAR=value words for the command line; binary: another
        build of the TUI (PARLEY_DEMO)."""
        cmd = "%sPARLEY_PASSWORD=%s %s %s%s %s@127.0.0.1:%d 2>%s" % (
            env + " " if env else "", _sh_quote(password),
            _sh_quote(binary or PARLEY),
            "--register " if register else "", extra, user, port,
            _sh_quote(self.stderr))
        self.line(cmd)
        self.user = user
        return self.wait(lambda s: s.status_bar().startswith(
            "[%s@127.0.0.1] connected" % user) and "#lobby" in s.rows[0],
            "login of %s" % user, timeout=T_WAIT * 2)

    def cursor(self):
        """(x, y) of the terminal cursor."""
        out = self.tmux.run("display-message", "-p", "-t", self.t,
                            "#{cursor_x} #{cursor_y}").split()
        return int(out[0]), int(out[1])

    def resize(self, cols, rows):
        self.tmux.run("resize-window", "-t", self.t, "-x", str(cols), "-y",
                      str(rows))

    def wait_exited(self):
        """Waits until parley has exited: the shell is in the foreground and
        its prompt is on the screen. Returns that screen."""
        # Only the start of the prompt: without an alternate screen
        # (TERM=linux) old text may follow it on the row.
        prompt = re.compile(r"^" + re.escape(PS1.strip()), re.M)
        self.wait(lambda s: self.tmux.run(
            "display-message", "-p", "-t", self.t,
            "#{pane_current_command}").strip() == "bash",
            "parley to exit (the shell in the foreground)")
        return self.wait(lambda s: prompt.search(s.rows[self.cursor()[1]]),
                         "the shell prompt on the cursor row")

    def exit_status(self):
        """After parley exited: asks the shell for $? and returns it."""
        self.wait_exited()
        self.line("echo rc=$?")
        s = self.wait(lambda s: re.search(r"^rc=(\d+)", s.text, re.M),
                      "the exit status")
        return int(re.search(r"^rc=(\d+)", s.text, re.M).group(1))


class Screen:
    """A captured screen: rows (exactly height of them) and helpers."""

    def __init__(self, text, cols, rows):
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines += [""] * (rows - len(lines))
        self.rows = lines[:rows] if rows else lines
        self.extra = lines[rows:]  # must be empty
        self.cols = cols
        self.height = rows
        self.text = "\n".join(self.rows)

    def dump(self):
        w = self.cols
        out = ["+" + "-" * w + "+ %dx%d" % (w, self.height)]
        for i, r in enumerate(self.rows):
            out.append("|%s| %d" % (r.ljust(w), i))
        out.append("+" + "-" * w + "+")
        return "\n".join(out)

    def status_bar(self):
        return self.rows[-2] if len(self.rows) >= 2 else ""

    def input_line(self):
        return self.rows[-1] if self.rows else ""

    def sep_col(self):
        """Display column of the users pane separator, or None when it is
        not in the same column on every row between the bars."""
        cols = set()
        for r in self.rows[1:-2]:
            i = r.find(SEP)
            if i < 0:
                return None
            cols.add(text_width(r[:i]))
        return cols.pop() if len(cols) == 1 else None

    def users_pane(self):
        """The users pane rows (right of the separator), blanks cut."""
        c = self.sep_col()
        if c is None:
            return []
        return [r[r.find(SEP) + 1:].rstrip() for r in self.rows[1:-2]]

    def chat_pane(self):
        """The chat pane rows (left of the separator, or whole rows)."""
        c = self.sep_col()
        return [(r[:r.find(SEP)] if c is not None else r).rstrip()
                for r in self.rows[1:-2]]

    def users(self):
        """{name: (mark, rest)} from the users pane entries."""
        out = {}
        for r in self.users_pane()[1:]:
            m = re.match(r"^([+~!])([ @])(\S+)(.*)$", r)
            if m:
                out[m.group(3)] = (m.group(1), m.group(4).strip())
        return out


def _cwidth(ch):
    """Terminal columns of one character, as glibc's wcwidth counts them
    (enough for what the tests send)."""
    import unicodedata
    o = ord(ch)
    if o == 0xAD:
        return 1  # soft hyphen
    if unicodedata.category(ch) in ("Mn", "Me", "Cf") or 0x1160 <= o <= 0x11FF:
        return 0  # combining marks, format characters, Hangul medial jamo
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(s):
    return sum(_cwidth(ch) for ch in s)


def check_layout(testcase, s, user, users_pane=True, title="#lobby"):
    """Asserts that a full-size screen is laid out sanely: title on the top
    row, status bar on the second-last, input line at the bottom, the users
    pane (header, own entry first) right of a separator that sits in one
    column on every row between the bars, every row within the width, no
    control characters, and no stale copies of the bars in the middle."""
    d = "\n" + s.dump()
    testcase.assertEqual(len(s.rows), s.height, "row count" + d)
    testcase.assertEqual(s.extra, [], "rows beyond the pane" + d)
    for i, r in enumerate(s.rows):
        testcase.assertLessEqual(text_width(r), s.cols,
                                 "row %d wider than the pane" % i + d)
        testcase.assertNotIn("\ufffd", r, "replacement char in row %d" % i + d)
        testcase.assertFalse(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", r),
                             "control character in row %d" % i + d)
    testcase.assertTrue(s.rows[0].startswith(title), "title bar" + d)
    testcase.assertTrue(
        s.status_bar().startswith("[%s@127.0.0.1] connected |" % user),
        "status bar on the second-last row" + d)
    testcase.assertTrue(s.input_line().startswith(">"),
                        "input line on the bottom row" + d)
    middle = s.rows[1:-2]
    testcase.assertFalse([r for r in middle if "@127.0.0.1] " in r],
                         "a stale status bar between the bars" + d)
    testcase.assertFalse([r for r in middle if r.startswith("> ")],
                         "a stale input line between the bars" + d)
    c = s.sep_col()
    if not users_pane:
        testcase.assertIsNone(c, "users pane hidden" + d)
        testcase.assertFalse([r for r in middle if SEP in r],
                             "separator pieces left" + d)
        return
    testcase.assertIsNotNone(c, "separator column on every middle row" + d)
    testcase.assertEqual(c, s.cols - 21, "users pane 20 columns wide" + d)
    pane = s.users_pane()
    testcase.assertTrue(pane[0].startswith("Users "), "users header" + d)
    testcase.assertTrue(pane[1].startswith("+ %s (me)" % user),
                        "own entry first" + d)
    testcase.assertEqual(sum(1 for r in pane if r.startswith("Users ")), 1,
                         "one users header" + d)


class TuiCase(unittest.TestCase):
    """Base class: a fresh parleyd and tmux server for each test."""

    server_args = ()  # more parleyd options for this class

    def setUp(self):
        self._failures_at_start = self._failures()
        self.tmp = tempfile.mkdtemp(prefix="parley-tui-")
        self.server = Server(self.tmp, extra=self.server_args)
        self.tmux = Tmux(self.tmp)
        self.terms = []
        self.batches = []

    def tearDown(self):
        failed = self._outcome_failed()
        if failed:
            for t in self.terms:
                try:
                    print("---- %s at the end:\n%s" % (t.name,
                                                       t.screen().dump()))
                except AssertionError:
                    pass
                err = t.stderr_text()
                if err:
                    print(err)
        for b in self.batches:
            b.close()
        self.tmux.kill()
        rc = self.server.stop()
        if failed:
            print("---- parleyd (exit %s):\n%s" % (rc, self.server.tail()))
        # Sanitizer reports from any client fail the test even if the
        # screens looked right.
        rx = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")
        reports = []
        for t in self.terms:
            err = t.stderr_text()
            if rx.search(err):
                reports.append(err)
        srv = "\n".join(x for x in self.server.lines if x is not None)
        if rx.search(srv):
            reports.append("parleyd:\n" + srv[-4000:])
        elif rc != 0 and not failed:
            reports.append("parleyd exited with status %s:\n%s" %
                           (rc, self.server.tail()))
        if not failed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            self.fail("sanitizer reports:\n" + "\n".join(reports))

    def _failures(self):
        """Failures and errors recorded so far in this run's result."""
        o = getattr(self, "_outcome", None)
        res = getattr(o, "result", None)
        if res is None:
            return 0
        return len(res.failures) + len(res.errors)

    def _outcome_failed(self):
        """True when this test (not an earlier one) failed."""
        o = getattr(self, "_outcome", None)
        if o is not None and not getattr(o, "success", True):
            return True
        errs = getattr(o, "errors", None)
        if errs:  # Python < 3.11
            return any(e for _, e in errs)
        return self._failures() > self._failures_at_start

    def term(self, name, cols=100, rows=30, env=None):
        t = Term(self.tmux, name, cols, rows, env)
        self.terms.append(t)
        return t

    def batch(self, name):
        """A logged-in batch client (in #lobby)."""
        b = Batch(name, self.server.port, self.tmp)
        self.batches.append(b)
        b.wait_event("history_end", timeout=T_WAIT * 2)
        return b

    def layout_ok(self, term, user, extra=None, **kw):
        """Waits until term's screen passes check_layout (and extra(s));
        returns that screen."""
        def check(s):
            check_layout(self, s, user, **kw)
            if extra:
                extra(s)
        return term.wait_check(check, "a sane layout")

    def login(self, name, cols=100, rows=30, env=None, cmd_env="", args="",
              binary=None):
        """A terminal with parley registered and logged in as name."""
        t = self.term(name, cols, rows, env)
        t.parley(name, self.server.port, env=cmd_env,
                 extra=args + " " if args else "", binary=binary)
        return t


def main():
    need_tmux()
    unittest.main(verbosity=2)
