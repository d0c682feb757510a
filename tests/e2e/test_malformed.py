"""Malformed and oversized frames close only the offending connection."""
import socket
import struct
import unittest

from harness import (E, STR, T, U8, ConnClosed, Server, encode, field, frame,
                     main)


class Malformed(unittest.TestCase):
    def setUp(self):
        self.srv = Server().__enter__()
        self.finished = False
        self.addCleanup(self.cleanup)
        self.a = self.srv.client("alice", register=True)
        self.b = self.srv.client("bob", register=True)
        self.b.expect({"event": "joined", "room": "#lobby"})
        self.n = 0
        self.finished = False

    def cleanup(self):
        # Each test ends in others_still_chat(), which sets finished after a
        # clean quit of both clients and a clean server stop; otherwise the
        # diagnostics are printed and everything is killed.
        if self.finished:
            self.srv.__exit__(None, None, None)
        else:
            self.srv.__exit__(AssertionError, None, None)

    def others_still_chat(self):
        """alice and bob keep chatting, and the server accepts newcomers."""
        self.n += 1
        t = "still fine %d" % self.n
        self.a.send(t)
        self.b.expect({"event": "message", "from": "alice", "text": t})
        with self.srv.raw() as r:
            self.assertEqual(r.hello()["type"], "WELCOME")
        self.a.quit(0)
        self.b.quit(0)
        self.srv.stop()
        self.finished = True

    def rogue(self, name="rogue", login=True):
        r = self.srv.raw()
        if login:
            r.login(name, register=not hasattr(self, "registered_" + name))
            setattr(self, "registered_" + name, True)
            # Joins and leaves are coalesced (--coalesce-ms): one that
            # leaves within the interval it came in is never announced, so
            # wait until alice has seen the join.
            self.a.expect({"event": "notice", "kind": "joined", "user": name})
        return r

    def assert_closed(self, r, codes=None):
        """Reads until the server closes r; an ERROR before the close, if
        any, must carry one of codes."""
        frames = r.read_until_closed(timeout=10)
        errs = [f for f in frames if f["type"] == "ERROR"]
        if codes and errs:
            self.assertIn(errs[-1]["code"], codes, errs)
        r.close()
        return errs

    def test_oversized_length(self):
        r = self.rogue()
        r.send(struct.pack(">I", 0x7FFFFFFF) + b"\x03\x01")
        self.assert_closed(r, (E["FRAME_TOO_BIG"], E["MALFORMED"]))
        self.a.expect({"event": "notice", "kind": "quit", "user": "rogue"})
        self.others_still_chat()

    def test_oversized_before_login(self):
        r = self.rogue(login=False)
        r.send(struct.pack(">I", 65537))
        self.assert_closed(r, (E["FRAME_TOO_BIG"], E["MALFORMED"]))
        self.others_still_chat()

    def test_length_too_short(self):
        r = self.rogue()
        r.send(struct.pack(">I", 1) + b"\x00")
        self.assert_closed(r, (E["FRAME_TOO_SHORT"], E["MALFORMED"]))
        self.others_still_chat()

    def test_bad_utf8_in_say(self):
        r = self.rogue()
        bad = frame(T["SAY"], (U8, 0), (STR, "#lobby"), (U8, 0),
                    (STR, b"ok \xc3\x28 \xff"))
        r.send(bad)
        self.assert_closed(r, (E["BAD_UTF8"], E["MALFORMED"]))
        # Nothing of it reached bob: alice's next message is the marker.
        self.a.send("marker-utf8")
        self.b.expect_none({"from": "rogue"},
                           {"event": "message", "text": "marker-utf8"})
        self.others_still_chat()

    def test_overlong_utf8_and_surrogate(self):
        for payload in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
            r = self.rogue()
            r.send(frame(T["SAY"], (U8, 0), (STR, "#lobby"), (U8, 0),
                         (STR, payload)))
            self.assert_closed(r, (E["BAD_UTF8"], E["MALFORMED"]))
        self.others_still_chat()

    def test_truncated_field(self):
        r = self.rogue()
        # A SAY whose text claims 200 bytes but the frame ends after 3.
        body = struct.pack(">H", T["SAY"]) + field(U8, 0) + \
            field(STR, "#lobby") + field(U8, 0) + struct.pack(">H", 200) + \
            b"abc"
        r.send(struct.pack(">I", len(body)) + body)
        self.assert_closed(r, (E["TRUNCATED"], E["MALFORMED"]))
        self.others_still_chat()

    def test_trailing_bytes(self):
        r = self.rogue()
        f = encode("PING", token=5)
        body = f[4:] + b"\x00\x00"
        r.send(struct.pack(">I", len(body)) + body)
        self.assert_closed(r, (E["TRAILING"], E["MALFORMED"]))
        self.others_still_chat()

    def test_field_over_codec_limit(self):
        # 4001 characters: over PROTO_MAX_TEXT, a codec error (not the
        # server's polite MSG_TOO_LONG): the stream is unusable, so close.
        r = self.rogue()
        r.send(frame(T["SAY"], (U8, 0), (STR, "#lobby"), (U8, 0),
                     (STR, "z" * 4001)))
        self.assert_closed(r, (E["FIELD_TOO_LONG"], E["MALFORMED"]))
        self.a.send("marker-long")
        self.b.expect_none({"from": "rogue"},
                           {"event": "message", "text": "marker-long"})
        self.others_still_chat()

    def test_max_size_frame_is_fine(self):
        # A frame of exactly PROTO_MAX_FRAME (65536) is legal: a PING with
        # padding would be TRAILING, so use an unknown type, which the
        # server skips with an error and stays open.
        r = self.rogue()
        r.send(struct.pack(">IH", 65536, 0x7ABC) + b"\0" * 65534)
        e = r.expect("ERROR")
        self.assertEqual(e["code"], E["UNKNOWN_TYPE"])
        r.send_frame("PING", token=11)
        self.assertEqual(r.expect("PONG")["token"], 11)
        r.close()
        self.others_still_chat()

    def test_slow_drip_frame(self):
        # A frame sent one byte per write still decodes (no timing
        # assumptions in the parser).
        r = self.rogue()
        f = encode("SAY", kind=0, target="#lobby", flags=0, text="drip")
        for i in range(len(f)):
            r.send(f[i:i + 1])
        self.b.expect({"event": "message", "from": "rogue", "text": "drip"})
        r.close()
        self.others_still_chat()

    def test_bad_enum_value(self):
        r = self.rogue()
        r.send(frame(T["SAY"], (U8, 9), (STR, "#lobby"), (U8, 0),
                     (STR, "x")))
        self.assert_closed(r, (E["BAD_VALUE"], E["MALFORMED"]))
        self.others_still_chat()

    def test_unknown_type_errors_and_stays(self):
        r = self.rogue()
        r.send(frame(0x7777, (STR, "whatever")))
        e = r.expect("ERROR")
        self.assertEqual(e["code"], E["UNKNOWN_TYPE"])
        self.assertEqual(e["ref_type"], 0x7777)
        # The connection is still usable.
        r.send_frame("PING", token=42)
        self.assertEqual(r.expect("PONG")["token"], 42)
        r.send_frame("SAY", kind=0, target="#lobby", flags=0,
                     text="rogue is ok")
        self.b.expect({"event": "message", "from": "rogue",
                       "text": "rogue is ok"})
        r.close()
        self.others_still_chat()

    def test_unknown_type_before_hello(self):
        r = self.rogue(login=False)
        r.send(frame(0x7777))
        # PROTOCOL.md, "What a receiver does with bad frames": an unknown
        # type is a decoder result, in every state: ERROR UNKNOWN_TYPE,
        # the frame skipped, the connection kept. (The "first frame must
        # be HELLO" close is for known types.) So the handshake still works.
        e = r.read_frame()
        self.assertEqual((e["type"], e["code"], e["ref_type"], e["subject"],
                          e["text"]),
                         ("ERROR", E["UNKNOWN_TYPE"], 0x7777, "",
                          "unknown message type 0x7777; ignored"))
        self.assertEqual(r.hello()["type"], "WELCOME")
        r.close()
        self.others_still_chat()

    def test_say_before_login(self):
        r = self.rogue(login=False)
        self.assertEqual(r.hello()["type"], "WELCOME")
        r.send_frame("SAY", kind=0, target="#lobby", flags=0, text="sneaky")
        e = r.read_frame()
        self.assertEqual((e["type"], e["code"]),
                         ("ERROR", E["NOT_LOGGED_IN"]))
        self.a.send("marker-sneaky")
        self.b.expect_none({"text": "sneaky"},
                           {"event": "message", "text": "marker-sneaky"})
        r.close()
        self.others_still_chat()

    def test_login_before_hello(self):
        r = self.rogue(login=False)
        r.send_frame("LOGIN", name="alice", password="password123")
        try:
            e = r.read_frame()
            self.assertEqual(e["type"], "ERROR")
            self.assertNotEqual(e["type"], "LOGIN_OK")
        except ConnClosed:
            pass
        r.close()
        self.others_still_chat()

    def test_half_frame_then_close(self):
        r = self.rogue()
        f = encode("SAY", kind=0, target="#lobby", flags=0, text="partial")
        r.send(f[:len(f) // 2])
        r.shutdown_write()
        self.assert_closed(r)
        self.a.expect({"event": "notice", "kind": "quit", "user": "rogue"})
        self.a.send("marker-half")
        self.b.expect_none({"text": "partial"},
                           {"event": "message", "text": "marker-half"})
        self.others_still_chat()

    def test_garbage_stream(self):
        r = self.rogue(login=False)
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_closed(r)
        self.others_still_chat()

    def test_many_bad_connections(self):
        for i in range(20):
            r = self.rogue(login=False)
            r.send(struct.pack(">I", 0xFFFFFFFF))
            self.assert_closed(r)
        self.others_still_chat()


if __name__ == "__main__":
    main()
