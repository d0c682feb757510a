"""harness.py: end-to-end test harness for parley (Python 3 stdlib only).

Starts real processes on 127.0.0.1 with ports chosen at run time:
  Server   parleyd with a fresh temp dir and the operator console on a pipe
  Client   parley --batch, JSON-lines events parsed into a log
  RawConn  a TCP socket speaking wire frames (proto/proto.h) directly

Synchronisation is always "wait for an observable event, with a bound";
there are no fixed sleeps. Negative checks ("X was not delivered") use a
marker: the sender does a later action whose effect the receiver observes,
and the forbidden event must not have arrived before it.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _binary(env, name):
    """Path of a binary: from env (set by meson), else a guess in a build dir."""
    p = os.environ.get(env)
    if p:
        return p
    for d in ("build-e2e", "build"):
        cand = os.path.join(ROOT, d, name)
        if os.path.exists(cand):
            return cand
    return name


PARLEYD = _binary("PARLEYD", "parleyd")
PARLEY = _binary("PARLEY", "parley")

# Bounds. ASan makes everything slower; E2E_SCALE stretches every bound.
SCALE = float(os.environ.get("E2E_SCALE", "1"))
T_START = 20 * SCALE  # server start until "listening on"
T_EVENT = 10 * SCALE  # default wait for one event
T_EXIT = 15 * SCALE  # process exit

DEFAULT_PASSWORD = "password123"

# ---- wire format (mirrors proto/proto.h and proto/proto.c field tables) ----

U8, U16, U32, U64, STR, BLOB = "u8", "u16", "u32", "u64", "str", "blob"

_ROOM_INFO = [("room", STR), ("members", U32), ("topic", STR)]
_CRED = [("name", STR), ("password", STR)]
_REFUSE = [("offer_id", U64), ("peer", STR), ("reason", STR)]

SCHEMA = {
    "HELLO": (0x0001, [("version", U16), ("agent", STR)]),
    "WELCOME": (0x0002, [("version", U16), ("agent", STR), ("server_name", STR),
                         ("max_msg_chars", U16), ("max_frame", U32),
                         ("max_file_size", U64), ("max_rooms", U16),
                         ("history_len", U16), ("flags", U8)]),
    "ERROR": (0x0003, [("code", U16), ("ref_type", U16), ("subject", STR),
                       ("text", STR)]),
    "PING": (0x0004, [("token", U64)]),
    "PONG": (0x0005, [("token", U64)]),
    "BYE": (0x0006, [("reason", STR)]),
    "REGISTER": (0x0101, _CRED),
    "LOGIN": (0x0102, _CRED),
    "LOGIN_TOKEN": (0x0103, [("name", STR), ("token", BLOB)]),
    "LOGIN_OK": (0x0104, [("name", STR), ("role", U8), ("token", BLOB),
                          ("token_expires", U64)]),
    "LOGOUT": (0x0105, [("revoke", U8)]),
    "JOIN": (0x0201, [("room", STR)]),
    "PART": (0x0202, [("room", STR), ("reason", STR)]),
    "ROOMS_REQ": (0x0203, []),
    "ROOM": (0x0204, _ROOM_INFO),
    "ROOMS_END": (0x0205, [("count", U32)]),
    "TOPIC": (0x0206, [("room", STR), ("topic", STR)]),
    "JOINED": (0x0207, _ROOM_INFO),
    "PARTED": (0x0208, [("room", STR)]),
    "MEMBERS_REQ": (0x0209, [("room", STR)]),
    "MEMBER": (0x020A, [("room", STR), ("name", STR)]),
    "MEMBERS_END": (0x020B, [("room", STR), ("count", U32)]),
    "SAY": (0x0301, [("kind", U8), ("target", STR), ("flags", U8),
                     ("text", STR)]),
    "MSG": (0x0302, [("id", U64), ("ts_ms", U64), ("kind", U8),
                     ("target", STR), ("from", STR), ("flags", U8),
                     ("text", STR)]),
    "HISTORY_REQ": (0x0303, [("kind", U8), ("target", STR), ("limit", U16),
                             ("before_id", U64)]),
    "HISTORY_END": (0x0304, [("kind", U8), ("target", STR), ("count", U32)]),
    "QUERY_OPEN": (0x0305, [("user", STR)]),
    "QUERY_CLOSE": (0x0306, [("user", STR)]),
    "SET_STATUS": (0x0401, [("status", U8), ("text", STR)]),
    "PRESENCE": (0x0402, [("user", STR), ("status", U8), ("text", STR),
                          ("talking_with", STR), ("idle_s", U32),
                          ("flags", U8)]),
    "WHO_REQ": (0x0403, []),
    "WHO_END": (0x0404, [("count", U32)]),
    "SET_PRIVACY": (0x0405, [("flags", U8)]),
    # v3: packed entries, parsed by test_scale.py (plist, revents)
    "PRESENCE_LIST": (0x0406, [("flags", U8), ("entries", BLOB)]),
    "ROOM_EVENTS": (0x0407, [("room", STR), ("ts_ms", U64),
                             ("entries", BLOB)]),
    "NOTICE": (0x0501, [("kind", U8), ("ts_ms", U64), ("room", STR),
                        ("user", STR), ("actor", STR), ("text", STR)]),
    "KICK": (0x0601, [("user", STR), ("reason", STR)]),
    "BAN": (0x0602, [("user", STR), ("duration_s", U32), ("reason", STR)]),
    "UNBAN": (0x0603, [("user", STR)]),
    "BANS_REQ": (0x0604, []),
    "BAN_ENTRY": (0x0605, [("user", STR), ("until_ms", U64),
                           ("since_ms", U64), ("actor", STR),
                           ("reason", STR)]),
    "BANS_END": (0x0606, [("count", U32)]),
    "FILE_OFFER": (0x0701, [("offer_id", U64), ("peer", STR), ("name", STR),
                            ("size", U64), ("sha256", BLOB)]),
    "FILE_ACCEPT": (0x0702, [("offer_id", U64), ("peer", STR),
                             ("offset", U64)]),
    "FILE_REJECT": (0x0703, _REFUSE),
    "FILE_CANCEL": (0x0704, _REFUSE),
    "FILE_HINT": (0x0705, [("offer_id", U64), ("peer", STR), ("addr", STR),
                           ("port", U16), ("token", BLOB)]),
    "FILE_RELAY": (0x0706, [("offer_id", U64), ("peer", STR),
                            ("token", BLOB)]),
    "FILE_PIN": (0x0720, [("offer_id", U64), ("peer", STR),
                          ("key_sha256", BLOB)]),
    "FILE_DATA": (0x0707, [("xfer_id", U64), ("offset", U64),
                           ("data", BLOB)]),
    "FILE_ACK": (0x0708, [("xfer_id", U64), ("offset", U64)]),
    "FILE_DONE": (0x0709, [("xfer_id", U64), ("sha256", BLOB)]),
    "FILE_CONNECT": (0x070A, [("offer_id", U64), ("side", U8),
                              ("token", BLOB)]),
    "FILE_LIMITS": (0x070B, [("max_file_size", U64), ("max_transfers", U16),
                             ("offers_per_min", U16), ("offer_ttl_s", U32),
                             ("max_relayed", U16)]),
    "FOLDER_LIST_REQ": (0x0801, []),
    "FOLDER_ENTRY": (0x0802, [("name", STR), ("size", U64), ("mtime", U64),
                              ("owner", STR), ("sha256", BLOB)]),
    "FOLDER_END": (0x0803, [("count", U32)]),
    "UPLOAD_REQ": (0x0804, [("xfer_id", U64), ("name", STR), ("size", U64),
                            ("sha256", BLOB), ("flags", U8)]),
    "UPLOAD_READY": (0x0805, [("xfer_id", U64), ("offset", U64),
                              ("token", BLOB)]),
    "DOWNLOAD_REQ": (0x0806, [("xfer_id", U64), ("name", STR),
                              ("offset", U64)]),
    "DOWNLOAD_START": (0x0807, [("xfer_id", U64), ("name", STR),
                                ("size", U64), ("offset", U64),
                                ("sha256", BLOB), ("token", BLOB)]),
    "RENAME_REQ": (0x0808, [("from", STR), ("to", STR), ("flags", U8)]),
    "DELETE_REQ": (0x0809, [("name", STR)]),
    "FOLDER_OK": (0x080A, [("op", U16), ("name", STR)]),
    "DISCOVER": (0x0901, [("version", U16), ("nonce", U64)]),
    "ANNOUNCE": (0x0902, [("version", U16), ("nonce", U64),
                          ("server_name", STR), ("addr", STR), ("port", U16),
                          ("users", U32)]),
}
TYPE_NAMES = {num: name for name, (num, _) in SCHEMA.items()}
T = {name: num for name, (num, _) in SCHEMA.items()}  # T["SAY"] == 0x0301

# Error codes (proto/errors.h; numbers are part of protocol v1).
E = dict(TRUNCATED=1, FRAME_TOO_BIG=2, UNKNOWN_TYPE=3, BAD_UTF8=4,
         FIELD_TOO_LONG=5, TRAILING=6, BAD_VALUE=7, NO_SPACE=8,
         FRAME_TOO_SHORT=9,
         VERSION=20, NOT_LOGGED_IN=21, ALREADY_LOGGED_IN=22, UNEXPECTED=23,
         SERVER_FULL=24, SHUTTING_DOWN=25, TIMEOUT=26, SLOW_CONSUMER=27,
         INTERNAL=28, MALFORMED=29, SERVER_BUSY=30, TLS_REQUIRED=31,
         AUTH_FAILED=40, BAD_NAME=41, NAME_TAKEN=42, REGISTRATION_CLOSED=43,
         BANNED=44, RATE_LIMITED=45, TOKEN_INVALID=46, BAD_PASSWORD=47,
         PERMISSION=48, SESSION_REPLACED=49, NOT_BANNED=50,
         MSG_TOO_LONG=60, MSG_EMPTY=61, FLOOD=62, NO_SUCH_USER=63,
         NO_SUCH_ROOM=64, NOT_IN_ROOM=65, BAD_ROOM=66, TOO_MANY_ROOMS=67,
         CONTROL_CHARS=68, USER_OFFLINE=69,
         NO_SUCH_FILE=80, FILE_EXISTS=81, BAD_FILENAME=82, FILE_TOO_BIG=83,
         DISK_FULL=84, NO_SUCH_OFFER=85, HASH_MISMATCH=86, IO=87,
         TRANSFER_LIMIT=88, RELAY_TOKEN=89, OFFER_FLOOD=90, QUOTA=91,
         NOT_OWNER=92, NO_FOLDER=93)

PROTO_TO_ROOM, PROTO_TO_USER = 0, 1


def field(kind, value):
    """Encodes one field as proto.h describes (big-endian; str/blob u16 len)."""
    if kind == U8:
        return struct.pack(">B", value)
    if kind == U16:
        return struct.pack(">H", value)
    if kind == U32:
        return struct.pack(">I", value)
    if kind == U64:
        return struct.pack(">Q", value)
    if kind in (STR, BLOB):
        b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return struct.pack(">H", len(b)) + b
    raise ValueError("unknown field kind %r" % kind)


def frame(mtype, *fields):
    """Builds a frame: u32 length (type + body), u16 type, then the fields.

    Each field is a (kind, value) pair, e.g. frame(0x0301, (U8, 0), ...)."""
    body = b"".join(field(k, v) for k, v in fields)
    return struct.pack(">IH", 2 + len(body), mtype) + body


def encode(name, /, **values):
    """Builds a well-formed frame of a named type from keyword fields."""
    num, spec = SCHEMA[name]
    return frame(num, *[(k, values.get(f, "" if k in (STR, BLOB) else 0))
                        for f, k in spec])


def decode_body(mtype, body):
    """Decodes a frame body into a dict with 'type' (name) and the fields.

    Unknown types give {'type': 0xNNNN, 'raw': body}. Raises ValueError on a
    malformed body (the server must never send one)."""
    if mtype not in TYPE_NAMES:
        return {"type": mtype, "raw": body}
    name = TYPE_NAMES[mtype]
    out = {"type": name}
    p = 0
    for f, k in SCHEMA[name][1]:
        size = {U8: 1, U16: 2, U32: 4, U64: 8}.get(k)
        if size:
            if p + size > len(body):
                raise ValueError("%s: truncated at %s" % (name, f))
            out[f] = int.from_bytes(body[p:p + size], "big")
            p += size
        else:
            if p + 2 > len(body):
                raise ValueError("%s: truncated at %s" % (name, f))
            n = int.from_bytes(body[p:p + 2], "big")
            raw = body[p + 2:p + 2 + n]
            if len(raw) != n:
                raise ValueError("%s: truncated in %s" % (name, f))
            out[f] = raw.decode("utf-8") if k == STR else raw
            p += 2 + n
    if p != len(body):
        raise ValueError("%s: %d trailing bytes" % (name, len(body) - p))
    return out


def wait_until(cond, timeout, what):
    """Polls cond() until true, with a bound; raises AssertionError on timeout."""
    end = time.monotonic() + timeout
    delay = 0.005
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(delay)  # polling interval, not synchronisation
        delay = min(delay * 2, 0.1)


class _Lines:
    """Lines read from a pipe by a background thread, waitable."""

    def __init__(self, pipe, name, on_line=None):
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.name = name
        self.on_line = on_line
        self.thread = threading.Thread(target=self._run, args=(pipe,),
                                       daemon=True)
        self.thread.start()

    def _run(self, pipe):
        try:
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self.cond:
                    self.lines.append(line)
                    if self.on_line:
                        self.on_line(line)
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def wait_for(self, regex, start=0, timeout=T_EVENT):
        """Returns (index, match) of the first line from start matching regex."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                if self.eof:
                    raise AssertionError("%s: EOF before a line matching %r; "
                                         "last lines:\n%s" %
                                         (self.name, regex, self.tail()))
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: no line matching %r within "
                                         "%.1fs; last lines:\n%s" %
                                         (self.name, regex, timeout,
                                          self.tail()))
                self.cond.wait(left)

    def tail(self, n=30):
        return "\n".join("    " + s for s in self.lines[-n:])


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, so a
    test killed by meson's timeout leaves no parleyd or parley behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _on_sigterm(signum, frame):
    # meson's timeout sends SIGTERM: unwind so context managers clean up.
    raise KeyboardInterrupt("SIGTERM")


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _on_sigterm)


def _terminate(proc):
    """Kills a process we started if it is still running."""
    if proc and proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass
    if proc and proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def sanitizer_report(lines, n=70):
    """The first sanitizer report (ASan/UBSan/LSan) in lines, or ""."""
    for i, l in enumerate(lines):
        if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l \
                or "runtime error:" in l:
            return "sanitizer report:\n" + "\n".join(
                "    " + x for x in lines[max(0, i - 3):i + n])
    return ""


# Ports of the running servers that speak TLS: RawConn to one of them
# speaks TLS too (the frames inside are the same).
_TLS_PORTS = set()


_TLS_CTX = []


def tls_client_context():
    """The Python TLS 1.3 client context (one, so sessions can resume)
    that trusts any certificate: the raw-frame tests are about frames, the
    trust checks are parley's own (test_tls.py)."""
    if not _TLS_CTX:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        _TLS_CTX.append(ctx)
    return _TLS_CTX[0]


class Server:
    """A real parleyd on 127.0.0.1:0 with a fresh database and files dir.

    It speaks TLS (its key made beside the database on the first start)
    unless "--insecure-plaintext" is among its arguments; clients started
    through the harness follow (--trust-new, or --insecure-plaintext).
    Use as a context manager; stop() asserts a clean exit (status 0)."""

    def __init__(self, *args, discovery=False, name="e2e-server", env=None,
                 start=True, listen="127.0.0.1:0", tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="parley-e2e-")
        self.db = os.path.join(self.tmp, "db")
        self.files = os.path.join(self.tmp, "files")
        os.makedirs(self.files, exist_ok=True)
        self.name = name
        self.argv = [PARLEYD, "--listen", listen, "--db", self.db,
                     "--files", self.files, "--pwhash", "min", "--name", name]
        self.argv += ["--discovery-port", "0"] if discovery else \
            ["--no-discovery"]
        # Every test connects from 127.0.0.1 and many register a crowd:
        # the per-address limits are off unless a test sets them (its
        # arguments come later and win).
        self.argv += ["--max-per-ip", "0", "--register-rate", "0"]
        self.argv += [str(a) for a in args]
        self.tls = "--insecure-plaintext" not in self.argv
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.host = self.port = None
        self.udp_port = None
        self.discovery = discovery
        self.clients = []
        self.stopped = False
        if start:
            self.start()

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env,
                                     cwd=self.tmp,
                                     preexec_fn=_die_with_parent)
        self.out = _Lines(self.proc.stdout, "parleyd stdout")
        self.err = _Lines(self.proc.stderr, "parleyd stderr")
        try:
            _, m = self.out.wait_for(r"^listening on (\S+):(\d+)$",
                                     timeout=T_START)
            self.host, self.port = m.group(1), int(m.group(2))
            if self.tls:
                _TLS_PORTS.add(self.port)
            else:
                _TLS_PORTS.discard(self.port)
            if self.discovery:
                _, m = self.out.wait_for(r"^discovery on udp (\S+):(\d+)$",
                                         timeout=T_START)
                self.udp_port = int(m.group(2))
        except AssertionError as e:
            self.kill()
            raise AssertionError("%s\nparleyd argv: %s\nstderr:\n%s" %
                                 (e, " ".join(self.argv), self.err.tail()))
        return self

    def user_cmd(self, *args, stdin="", status=0):
        """Runs `parleyd user ARGS --db DB` (account subcommands); returns
        (status, stdout, stderr)."""
        argv = [PARLEYD, "user"] + [str(a) for a in args] + ["--db", self.db]
        return self._tool(argv, stdin.encode("utf-8"), status)

    def _tool(self, argv, stdin, status):
        """Runs a parleyd subcommand; fails on a sanitizer report or, unless
        status is None, another exit status. Returns (status, out, err)."""
        p = subprocess.run(argv, input=stdin, capture_output=True,
                           timeout=T_EXIT, env=self.env)
        out, err = p.stdout.decode(errors="replace"), \
            p.stderr.decode(errors="replace")
        rep = sanitizer_report(err.splitlines())
        if rep:
            raise AssertionError("%s reported:\n%s" % (" ".join(argv), rep))
        if status is not None and p.returncode != status:
            raise AssertionError("%s: status %d, expected %d\n%s%s" %
                                 (" ".join(argv), p.returncode, status, out,
                                  err))
        return p.returncode, out, err

    def ctl(self, *args, status=0, extra=()):
        """Runs `parleyd ctl ARGS --db DB` (the operator socket); returns
        (status, stdout, stderr), asserting the status unless None."""
        if self.proc.poll() is None and "--no-control" not in self.argv:
            self.control_ready()
        argv = [PARLEYD, "ctl", "--db", self.db] + [str(a) for a in extra] + \
            [str(a) for a in args]
        return self._tool(argv, b"", status)

    def control_ready(self):
        """Waits for the operator socket ("control on PATH"); returns PATH."""
        _, m = self.out.wait_for(r"^control on (.+)$")
        return m.group(1)

    @property
    def control_path(self):
        return self.db + ".control"

    @property
    def pid(self):
        return self.proc.pid

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def console(self, cmd):
        """Writes one command line to the operator console (stdin)."""
        self.proc.stdin.write((cmd + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def console_expect(self, cmd, regex, timeout=T_EVENT):
        """Runs a console command; returns the first stdout line after it
        matching regex (searching only output that came after the command)."""
        start = len(self.out.lines)
        self.console(cmd)
        i, m = self.out.wait_for(regex, start=start, timeout=timeout)
        return self.out.lines[i]

    def console_lines_since(self, start):
        return list(self.out.lines[start:])

    def client(self, user, **kw):
        """Starts a batch client against this server (see Client)."""
        c = Client(self, user, **kw)
        self.clients.append(c)
        return c

    def raw(self, **kw):
        return RawConn(self.port, **kw)

    def rss_kib(self):
        """The server's resident set size in KiB (from /proc/PID/status)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for parleyd")

    def wait_exit(self, timeout=T_EXIT, status=0):
        """Waits for the server to exit on its own; asserts the status."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("parleyd did not exit within %.1fs\n"
                                 "stderr:\n%s" % (timeout, self.err.tail()))
        self.stopped = True
        self.err.thread.join(5)
        rep = sanitizer_report(self.err.lines)
        if rep:
            raise AssertionError("parleyd (exit %d) reported:\n%s" % (rc, rep))
        if status is not None and rc != status:
            raise AssertionError("parleyd exited with %d, expected %d\n"
                                 "stderr:\n%s\n%s" % (
                                     rc, status, self.err.tail(60),
                                     sanitizer_report(self.err.lines)))
        return rc

    def stop(self, timeout=T_EXIT):
        """SIGTERM; asserts exit status 0 within the bound (kills otherwise)."""
        for c in self.clients:
            c.kill()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait_exit(timeout)
        finally:
            self.kill()

    def stop_keep_clients(self, timeout=T_EXIT):
        """SIGTERM with the clients left running (to see them react)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        _terminate(self.proc)
        self.stopped = True

    def diagnostics(self):
        s = ["parleyd argv: " + " ".join(self.argv)]
        if self.proc:
            s.append("parleyd status: %r" % self.proc.poll())
            s.append("parleyd stdout:\n" + self.out.tail(40))
            s.append("parleyd stderr:\n" + self.err.tail(60))
            s.append(sanitizer_report(self.err.lines))
        for c in self.clients:
            s.append(c.diagnostics())
        return "\n".join(s)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        try:
            if et is not None:
                sys.stderr.write("\n==== diagnostics ====\n" +
                                 self.diagnostics() + "\n")
            elif not self.stopped:
                self.stop()
        finally:
            for c in self.clients:
                c.kill()
            self.kill()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def match(ev, want):
    """True when event ev matches want: a predicate, or a dict whose items
    must all be present and equal (a callable value is a field predicate)."""
    if callable(want):
        try:
            return bool(want(ev))
        except (KeyError, TypeError, IndexError):
            return False
    for k, v in want.items():
        if k not in ev:
            return False
        if callable(v):
            try:
                if not v(ev[k]):
                    return False
            except (KeyError, TypeError, IndexError):
                return False
        elif ev[k] != v:
            return False
    return True


class Client:
    """parley --batch as a subprocess; stdout JSON events go to a log.

    expect() takes the first not yet taken event that matches (events that
    did not match stay available for later expects)."""

    def __init__(self, server, user, password=DEFAULT_PASSWORD, register=False,
                 args=(), wait_connected=True, port=None, env=None,
                 password_env=True, reconnect=False, trust=True):
        self.server = server
        self.user = user
        port = port if port is not None else server.port
        self.argv = [PARLEY, "--batch"]
        # A TLS server (the default) is trusted on first use unless the
        # test is about trust (trust=False); anything else (a plain
        # parleyd, a fake server in a test) is spoken to in plain text.
        if not getattr(server, "tls", False):
            self.argv.append("--insecure-plaintext")
        elif trust:
            self.argv.append("--trust-new")
        if not reconnect:
            self.argv.append("--no-reconnect")
        if register:
            self.argv.append("--register")
        self.argv += [str(a) for a in args]
        self.argv.append("%s@127.0.0.1:%d" % (user, port))
        e = dict(os.environ)
        e.pop("PARLEY_PASSWORD", None)
        # Transfer state (resume) per user and per test, never in $HOME.
        tmp = getattr(server, "tmp", None) or tempfile.mkdtemp(
            prefix="parley-state-")
        e["XDG_STATE_HOME"] = os.path.join(tmp, "state-" + user.lower())
        if password_env and password is not None:
            e["PARLEY_PASSWORD"] = password
        # The client reads $XDG_CONFIG_HOME/parley/parley.conf: never the
        # tester's own. (Its state, kept session and transfers, is per user
        # and per test, above, so a restarted client finds it again.)
        iso = tempfile.mkdtemp(prefix="parley-client-")
        e["XDG_CONFIG_HOME"] = os.path.join(iso, "config")
        if env:
            e.update(env)
        self.events = []  # every event, in arrival order
        self.taken = set()  # indexes handed out by expect()
        self.junk = []  # stdout lines that were not JSON objects
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e,
                                     preexec_fn=_die_with_parent)
        self.out = _Lines(self.proc.stdout, "%s stdout" % user,
                          on_line=self._on_line)
        self.cond = self.out.cond  # one lock for lines and events
        self.err = _Lines(self.proc.stderr, "%s stderr" % user)
        self.connected = None
        if wait_connected:
            self.connected = self.expect({"event": "connected"},
                                         timeout=T_START)
            if self.connected.get("user", "").lower() != user.lower():
                raise AssertionError("%s: connected as %r" %
                                     (user, self.connected.get("user")))

    def _on_line(self, line):
        # Called with the lines' lock held.
        if not line.strip():
            return
        try:
            ev = json.loads(line)
        except ValueError:
            self.junk.append(line)
            return
        if not isinstance(ev, dict) or "event" not in ev:
            self.junk.append(line)
            return
        self.events.append(ev)

    def send(self, line):
        """Writes one line (command or text) to the client's stdin."""
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def send_many(self, lines):
        """Writes many lines in one go (for floods)."""
        self.proc.stdin.write("".join(l + "\n" for l in lines).encode("utf-8"))
        self.proc.stdin.flush()

    def mark(self):
        """Index of the next event; pass as since= to look only after now."""
        with self.cond:
            return len(self.events)

    def _find(self, want, since):
        for i in range(since, len(self.events)):
            if i not in self.taken and match(self.events[i], want):
                return i
        return None

    def expect(self, want, timeout=T_EVENT, since=0):
        """Waits for an event matching want; takes it and returns it."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                i = self._find(want, since)
                # Events already scanned did not match; look only at new
                # ones on the next wake-up (keeps long waits linear).
                since = max(since, len(self.events))
                if i is not None:
                    self.taken.add(i)
                    self.last_index = i
                    return self.events[i]
                left = end - time.monotonic()
                if self.out.eof or left <= 0:
                    why = "stdout closed (status %r)" % self.proc.poll() \
                        if self.out.eof else "timed out after %.1fs" % timeout
                    raise AssertionError(
                        "%s: no event matching %s: %s\n%s" %
                        (self.user, _describe(want), why, self.recent()))
                self.cond.wait(min(left, 0.5))

    def expect_all(self, wants, timeout=T_EVENT):
        return [self.expect(w, timeout) for w in wants]

    def index_of(self, ev):
        with self.cond:
            for i, e in enumerate(self.events):
                if e is ev:
                    return i
        raise ValueError("event not in log")

    def expect_none(self, forbidden, marker, timeout=T_EVENT, since=0):
        """Asserts that no event matching forbidden arrived (from index since)
        before the marker event, which must arrive within timeout. The caller
        makes the marker happen after the action whose effect is forbidden,
        on the same path, so it is ordered after the forbidden event would
        have been. Events after the marker are checked too."""
        mev = self.expect(marker, timeout)
        with self.cond:
            bad = [e for e in self.events[since:] if match(e, forbidden)]
        if bad:
            raise AssertionError("%s: got forbidden event %s (matching %s)\n%s"
                                 % (self.user, json.dumps(bad[0]),
                                    _describe(forbidden), self.recent()))
        return mev

    def count(self, want, since=0):
        with self.cond:
            return sum(1 for e in self.events[since:] if match(e, want))

    def all(self, want, since=0):
        with self.cond:
            return [e for e in self.events[since:] if match(e, want)]

    def recent(self, n=25):
        with self.cond:
            evs = self.events[-n:]
            s = ["  recent events of %s (%d total):" %
                 (self.user, len(self.events))]
            s += ["    " + json.dumps(e, ensure_ascii=False)[:300]
                  for e in evs]
            if self.junk:
                s.append("  non-JSON stdout: %r" % self.junk[-5:])
            s.append("  stderr:\n" + self.err.tail(10))
            return "\n".join(s)

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def wait(self, status=0, timeout=T_EXIT):
        """Waits for the client to exit; asserts the status (None: any,
        a tuple: one of, 'nonzero': anything but 0)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: client did not exit within %.1fs\n%s" %
                                 (self.user, timeout, self.recent()))
        self.out.thread.join(5)
        self.err.thread.join(5)
        rep = sanitizer_report(self.err.lines)
        if rep:
            raise AssertionError("%s: parley (exit %d) reported:\n%s" %
                                 (self.user, rc, rep))
        ok = (status is None or (status == "nonzero" and rc != 0) or
              (isinstance(status, tuple) and rc in status) or rc == status)
        if not ok:
            raise AssertionError("%s: exit status %d, expected %s\n%s" %
                                 (self.user, rc, status, self.recent()))
        return rc

    def quit(self, status=0):
        """Closes stdin and waits for a clean exit."""
        self.close_stdin()
        return self.wait(status)

    def kill(self):
        _terminate(self.proc)

    def diagnostics(self):
        return "client %s argv %s status %r\n%s" % (
            self.user, " ".join(self.argv), self.proc.poll(), self.recent(40))


def _short(v):
    if callable(v):
        return "<pred>"
    if isinstance(v, str) and len(v) > 60:
        return "%s...(%d chars)" % (v[:40], len(v))
    return v


def _describe(want):
    if callable(want):
        return getattr(want, "__name__", "predicate")
    return json.dumps({k: _short(v) for k, v in want.items()},
                      ensure_ascii=False)


class ConnClosed(Exception):
    """The peer closed the connection (EOF or reset)."""


class RawConn:
    """A TCP connection that speaks raw frames to parleyd."""

    def __init__(self, port, host="127.0.0.1", rcvbuf=None, timeout=T_EVENT,
                 source=None, tls=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            # Another loopback address (127.0.0.0/8): a different client
            # address for the server's per-address limits.
            self.sock.bind((source, 0))
        if rcvbuf:
            # Must be set before connect for the window to stay small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        if tls if tls is not None else port in _TLS_PORTS:
            self.sock = tls_client_context().wrap_socket(self.sock)
        self.buf = b""
        self.frames = []  # every decoded frame, for diagnostics

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, name, /, **values):
        self.send(encode(name, **values))

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read timed out")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            raise ConnClosed("connection reset")
        except ssl.SSLZeroReturnError:
            raise ConnClosed("TLS close_notify")
        except (ssl.SSLEOFError, ssl.SSLError) as e:
            raise ConnClosed("TLS: %s" % e)
        if not d:
            raise ConnClosed("EOF")
        self.buf += d

    def read_frame(self, timeout=T_EVENT):
        """Reads one frame; returns the decoded dict. Raises ConnClosed on
        EOF/reset, socket.timeout on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < 4:
            self._fill(deadline)
        n = struct.unpack(">I", self.buf[:4])[0]
        if n < 2 or n > 65536:
            raise AssertionError("server sent a bad frame length %d" % n)
        while len(self.buf) < 4 + n:
            self._fill(deadline)
        mtype = struct.unpack(">H", self.buf[4:6])[0]
        body = self.buf[6:4 + n]
        self.buf = self.buf[4 + n:]
        f = decode_body(mtype, body)
        self.frames.append(f)
        return f

    def expect(self, name, timeout=T_EVENT, **fields):
        """Reads frames until one of type name (and fields) arrives; an
        ERROR frame when something else is awaited raises."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(max(0.01, deadline - time.monotonic()))
            if f["type"] == name and all(f.get(k) == v
                                         for k, v in fields.items()):
                return f
            if f["type"] == "ERROR" and name != "ERROR":
                raise AssertionError("awaiting %s, got ERROR %r" % (name, f))

    def hello(self, version=1, agent="e2e-raw/1"):
        """Sends HELLO; returns the answer (WELCOME or ERROR)."""
        self.send_frame("HELLO", version=version, agent=agent)
        return self.read_frame()

    def _auth(self, kind, name, password):
        self.send_frame(kind, name=name, password=password)
        while True:
            f = self.read_frame()
            if f["type"] in ("LOGIN_OK", "ERROR"):
                return f

    def login(self, name, password=DEFAULT_PASSWORD, register=False):
        """HELLO (if not done) then REGISTER/LOGIN; asserts LOGIN_OK."""
        if not any(f["type"] == "WELCOME" for f in self.frames):
            w = self.hello()
            assert w["type"] == "WELCOME", "HELLO answered with %r" % w
        f = self._auth("REGISTER" if register else "LOGIN", name, password)
        assert f["type"] == "LOGIN_OK", "login of %s answered with %r" % (
            name, f)
        return f

    def read_until_closed(self, timeout=T_EVENT, max_bytes=256 << 20):
        """Reads (and discards) until the server closes; returns the frames
        read. Raises AssertionError when it stays open past the bound."""
        deadline = time.monotonic() + timeout
        got = []
        total = 0
        while True:
            try:
                f = self.read_frame(max(0.01, deadline - time.monotonic()))
            except ConnClosed:
                return got
            except socket.timeout:
                raise AssertionError("connection still open after %.1fs; "
                                     "last frames: %r" % (timeout, got[-5:]))
            got.append(f)
            total += 1
            if len(got) > 1000:
                del got[:500]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown_write(self):
        """Half-closes (FIN) and keeps reading. Over TLS the TCP shutdown
        is called on the socket itself: SSLSocket.shutdown would drop the
        TLS state and read ciphertext afterwards."""
        socket.socket.shutdown(self.sock, socket.SHUT_WR)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def discover(udp_port, nonce=0x1234567890ABCDEF, timeout=T_EVENT,
             payload=None, bind="127.0.0.1"):
    """Sends a DISCOVER datagram from bind (a loopback address) to
    127.0.0.1:udp_port; returns the decoded ANNOUNCE (or raises on
    timeout)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((bind, 0))
        s.settimeout(timeout)
        data = payload if payload is not None else encode(
            "DISCOVER", version=1, nonce=nonce)
        s.sendto(data, ("127.0.0.1", udp_port))
        d, _ = s.recvfrom(2048)
        n = struct.unpack(">I", d[:4])[0]
        assert n + 4 == len(d), "datagram length %d vs header %d" % (len(d), n)
        mtype = struct.unpack(">H", d[4:6])[0]
        return decode_body(mtype, d[6:])
    finally:
        s.close()


def register_users(server, *names):
    """Registers each name through a raw connection (fast, no batch client)."""
    for n in names:
        with server.raw() as r:
            r.login(n, register=True)


def main():
    """Runs the unittest cases of the calling script; exit status 0 on pass."""
    unittest.main(verbosity=2)
