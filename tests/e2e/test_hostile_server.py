"""parley --batch against a scripted fake server (Python, 127.0.0.1): bad
handshakes and malformed frames from the server must give a clean exit with
a clear message, never a crash; odd text must come out as valid JSON."""
import random
import socket
import struct
import threading
import unittest

from harness import STR, T, U8, Client, RawConn, encode, frame, main


class FakeServer:
    """Accepts one client on 127.0.0.1:0 and runs script(conn) on it; conn is
    a RawConn-like wrapper around the accepted socket."""

    def __init__(self, script):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.error = None
        self.done = threading.Event()
        self.t = threading.Thread(target=self._run, args=(script,),
                                  daemon=True)
        self.t.start()

    def _run(self, script):
        try:
            s, _ = self.ls.accept()
            c = RawConn.__new__(RawConn)
            c.sock, c.buf, c.frames = s, b"", []
            s.settimeout(10)
            try:
                script(c)
            finally:
                self.done.set()
                try:
                    # Keep it open until the client goes: read to EOF.
                    while s.recv(65536):
                        pass
                except OSError:
                    pass
                s.close()
        except Exception as e:  # surfaced by the test
            self.error = e
            self.done.set()

    def close(self):
        self.ls.close()


def welcome(version=1):
    return encode("WELCOME", version=version, agent="fake/1",
                  server_name="fake", max_msg_chars=280, max_frame=65536,
                  max_file_size=0, max_rooms=20, history_len=100, flags=1)


def handshake(c, name="alice"):
    """Plays a normal server up to the end of the auto-join."""
    h = c.read_frame()
    assert h["type"] == "HELLO", h
    c.send(welcome())
    f = c.read_frame()
    assert f["type"] in ("LOGIN", "REGISTER", "LOGIN_TOKEN"), f
    c.send(encode("LOGIN_OK", name=name, role=0, token=b"t" * 32,
                  token_expires=2000000000) +
           encode("JOINED", room="#lobby", members=1, topic="") +
           encode("HISTORY_END", kind=0, target="#lobby", count=0) +
           encode("PRESENCE", user=name, status=0, text="", talking_with="",
                  idle_s=0, flags=0x06) +
           encode("WHO_END", count=1))


class _Srv:
    """Just enough of harness.Server for Client (port and a client list)."""

    def __init__(self, port):
        self.port = port


class Hostile(unittest.TestCase):
    def run_client(self, script, status="nonzero", expect=None):
        fs = FakeServer(script)
        c = Client(_Srv(fs.port), "alice", wait_connected=False)
        try:
            if expect:
                for e in expect:
                    c.expect(e)
            fs.done.wait(15)
            c.close_stdin()
            c.wait(status)
            self.assertIsNone(fs.error, fs.error)
            self.assertEqual(c.junk, [], "non-JSON on stdout")
            return c
        finally:
            c.kill()
            fs.close()

    def test_wrong_version_welcome(self):
        def script(c):
            c.read_frame()
            c.send(welcome(version=7))
        c = self.run_client(script, status=1)
        self.assertTrue(c.err.lines, "a clear message on stderr")

    def test_version_error(self):
        def script(c):
            c.read_frame()
            c.send(encode("ERROR", code=20, ref_type=1, subject="2-3",
                          text="protocol version not supported"))
            c.sock.shutdown(socket.SHUT_WR)
        c = self.run_client(script, status=1)
        self.assertTrue(any("2-3" in l or "version" in l.lower()
                            for l in c.err.lines), c.err.lines)

    def test_oversized_frame_from_server(self):
        def script(c):
            handshake(c)
            c.send(struct.pack(">I", 0x7FFFFFFF) + b"\x03\x02")
        self.run_client(script, status=1,
                        expect=[{"event": "connected"},
                                {"event": "disconnected"}])

    def test_bad_utf8_from_server(self):
        def script(c):
            handshake(c)
            c.send(frame(T["MSG"], ("u64", 1), ("u64", 1), (U8, 0),
                         (STR, "#lobby"), (STR, "bob"), (U8, 0),
                         (STR, b"\xff\xfe bad")))
        c = self.run_client(script, status=1,
                            expect=[{"event": "connected"},
                                    {"event": "disconnected"}])
        self.assertEqual(c.count({"event": "message"}), 0)

    def test_truncated_then_eof(self):
        def script(c):
            handshake(c)
            f = encode("MSG", id=1, ts_ms=1, kind=0, target="#lobby",
                       **{"from": "bob"}, flags=0, text="cut")
            c.send(f[:-2])
            c.sock.shutdown(socket.SHUT_WR)
        self.run_client(script, status=1,
                        expect=[{"event": "connected"},
                                {"event": "disconnected"}])

    def test_unknown_type_skipped(self):
        def script(c):
            handshake(c)
            c.send(frame(0x7E01, (STR, "future stuff")) +
                   encode("MSG", id=2, ts_ms=1, kind=0, target="#lobby",
                          **{"from": "bob"}, flags=0, text="after unknown"))
        self.run_client(script, status=0,
                        expect=[{"event": "message",
                                 "text": "after unknown"}])

    def test_escape_and_json_hostile_text(self):
        # Terminal escapes never reach the output raw; JSON stays valid.
        # Bidi controls, zero-width characters and line separators are
        # neutralised in the client's model (U+FFFD), so every face shows
        # them visibly; a ZWJ inside an emoji sequence stays.
        texts = [('"quoted" back\\slash /', '"quoted" back\\slash /'),
                 ("line\u2028sep\u2029para", "line\ufffdsep\ufffdpara"),
                 ("bidi \u202e txet", "bidi \ufffd txet"),
                 ("\ufeffbom", "\ufffdbom"),
                 ("zw\u200bsp \u200dx", "zw\ufffdsp \ufffdx"),
                 ("emoji \U0001F469\u200d\U0001F4BB ok",
                  "emoji \U0001F469\u200d\U0001F4BB ok")]

        def script(c):
            handshake(c)
            data = b""
            for i, (t, _) in enumerate(texts):
                data += encode("MSG", id=10 + i, ts_ms=1, kind=0,
                               target="#lobby", **{"from": "bob"}, flags=0,
                               text=t)
            data += encode("MSG", id=99, ts_ms=1, kind=0, target="#lobby",
                           **{"from": "bob"}, flags=0, text="esc \x1b[2J x")
            data += encode("MSG", id=100, ts_ms=1, kind=0, target="#lobby",
                           **{"from": "bob"}, flags=0, text="the end")
            c.send(data)
        c = self.run_client(script, status=(0, 1),
                            expect=[{"event": "message", "text": t}
                                    for _, t in texts] +
                            [{"event": "message", "text": "esc \ufffd[2J x"}])
        # No raw ESC byte on stdout (inside JSON it must be \u001b).
        for l in c.out.lines:
            self.assertNotIn("\x1b", l)

    def test_c1_escaped_in_batch_output(self):
        # U+009B is a CSI on terminals that take C1: it must never reach
        # stdout raw, in a message, a topic, an away text or a notice;
        # the JSON carries it as an escape (here: its U+FFFD stand-in, and
        # anything C1 that would slip through as \u009b).
        c1 = "\u009b31mred \u0085nel \u009dosc"

        def script(c):
            handshake(c)
            c.send(encode("MSG", id=1, ts_ms=1, kind=0, target="#lobby",
                          **{"from": "bob"}, flags=0, text=c1) +
                   encode("PRESENCE", user="bob", status=1, text=c1,
                          talking_with="", idle_s=0, flags=0) +
                   encode("NOTICE", kind=6, room="#lobby", user="",
                          actor="bob", text=c1, ts_ms=1) +
                   encode("MSG", id=2, ts_ms=1, kind=0, target="#lobby",
                          **{"from": "bob"}, flags=0, text="the end"))
        clean = "\ufffd31mred \ufffdnel \ufffdosc"
        c = self.run_client(script, status=(0, 1),
                            expect=[{"event": "message", "text": clean},
                                    {"event": "presence", "user": "bob",
                                     "text": clean},
                                    {"event": "notice", "kind": "topic",
                                     "text": clean},
                                    {"event": "message", "text": "the end"}])
        for l in c.out.lines:
            for ch in l:
                self.assertFalse(0x7F <= ord(ch) <= 0x9F,
                                 "raw C1/DEL on stdout: %r" % l)
                self.assertFalse(0x202A <= ord(ch) <= 0x202E or
                                 0x2066 <= ord(ch) <= 0x2069 or
                                 ord(ch) in (0x200B, 0x2028, 0x2029),
                                 "raw bidi/invisible on stdout: %r" % l)

    def test_bad_names_from_server_refused(self):
        # Names must follow the wire's rules: a user, room or talking-with
        # name with control characters (or any other invalid name) drops
        # the frame with a local BAD_FRAME error; nothing of it is shown.
        evil = "x\x1b]0;X\x07"

        def script(c):
            handshake(c)
            c.send(encode("PRESENCE", user=evil, status=0, text="",
                          talking_with="", idle_s=0, flags=0) +
                   encode("PRESENCE", user="carol", status=0, text="",
                          talking_with=evil, idle_s=0, flags=0) +
                   encode("MSG", id=1, ts_ms=1, kind=0, target="#lobby",
                          **{"from": evil}, flags=0, text="from evil") +
                   encode("MSG", id=2, ts_ms=1, kind=0, target="#l\u009bx",
                          **{"from": "bob"}, flags=0, text="evil room") +
                   encode("NOTICE", kind=1, room="#lobby", user="bad name",
                          actor="", text="", ts_ms=1) +
                   encode("JOINED", room="#lob by", members=1, topic="") +
                   encode("MSG", id=3, ts_ms=1, kind=0, target="#lobby",
                          **{"from": "bob"}, flags=0, text="the end"))
        c = self.run_client(script, status=(0, 1),
                            expect=[{"event": "error", "name": "BAD_FRAME"}
                                    for _ in range(6)] +
                            [{"event": "message", "text": "the end"}])
        self.assertEqual(c.count({"event": "message"}), 1)
        self.assertEqual(c.count({"event": "presence"}), 0)
        self.assertEqual(c.count({"event": "joined"}), 1)  # the handshake's
        self.assertEqual(c.count({"event": "notice"}), 0)

    def test_bad_login_name_from_server_ends_session(self):
        def script(c):
            c.read_frame()
            c.send(welcome())
            c.read_frame()
            c.send(encode("LOGIN_OK", name="al\x1bice", role=0,
                          token=b"t" * 32, token_expires=2000000000))
        c = self.run_client(script, status=1)
        self.assertTrue(any("invalid name" in l for l in c.err.lines),
                        c.err.lines)
        self.assertEqual(c.count({"event": "connected"}), 0)

    def test_many_users_come_online(self):
        # 20000 users come online one by one (presence changes, in random
        # name order), as a busy server would push them. The client's model
        # must absorb that in linear-ish time: the message after them has
        # to arrive within the usual bound.
        names = ["u%05d" % i for i in range(20000)]
        random.Random(7).shuffle(names)

        def script(c):
            handshake(c)
            data = b""
            for n in names:
                data += encode("PRESENCE", user=n, status=0,
                               text="", talking_with="", idle_s=0, flags=0)
            data += encode("MSG", id=5, ts_ms=1, kind=0, target="#lobby",
                           **{"from": "bob"}, flags=0, text="still alive")
            c.send(data)
        self.run_client(script, status=0,
                        expect=[{"event": "message", "text": "still alive"}])


if __name__ == "__main__":
    main()
