"""Peer file transfers: offers, direct and relayed data, verification,
limits and safe receiving (issue 10). Real parleyd and parley --batch
clients on 127.0.0.1; files live in the test's temp dir."""
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from harness import ConnClosed, E, RawConn, Server, encode, wait_until

MB = 1 << 20
T_BIG = 120  # generous bound for a transfer under ASan on a busy machine


def make_file(path, size):
    """A file of size pseudo-random bytes (fast: a repeated 1 MiB block
    with a counter, so no two blocks are equal)."""
    block = os.urandom(MB)
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            chunk = (i.to_bytes(8, "big") + block)[:min(left, MB)]
            f.write(chunk)
            left -= len(chunk)
            i += 1
    return sha256(path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(MB)
            if not b:
                return h.hexdigest()
            h.update(b)


def wrap(sock):
    """A RawConn around an accepted socket (a data connection)."""
    r = RawConn.__new__(RawConn)
    r.sock = sock
    r.buf = b""
    r.frames = []
    return r


def peer_identity():
    """A sender's end-to-end TLS identity as parley makes one: an Ed25519
    key and a self-signed certificate (openssl(1)), as a Python server
    context, and the SHA-256 of the key's SubjectPublicKeyInfo (FILE_PIN)."""
    d = tempfile.mkdtemp(prefix="parley-peer-")
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-keyout",
                    key, "-out", crt, "-nodes", "-subj", "/CN=raw sender",
                    "-days", "2"], check=True, capture_output=True)
    spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout",
                           "-outform", "DER"], check=True,
                          capture_output=True).stdout
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(crt, key)
    return ctx, hashlib.sha256(spki).digest()


class RawSender:
    """An offering peer made of raw frames: it offers, listens for the
    receiver's direct connection and serves data at the pace the test
    chooses, so that a transfer can be caught in the middle."""

    TOKEN = bytes(range(32))

    def __init__(self, srv, name="mallory"):
        self.chat = srv.raw()
        self.chat.login(name, register=True)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.data = None
        self.tls, self.pin = peer_identity()

    def offer(self, to, name, size, offer_id=77):
        self.offer_id = offer_id
        self.chat.send_frame("FILE_OFFER", offer_id=offer_id, peer=to,
                             name=name, size=size, sha256=bytes(32))

    def serve(self, to):
        """After the receiver's FILE_ACCEPT: hint, accept, handshake, and
        return the offset its first FILE_ACK asks for."""
        self.chat.expect("FILE_ACCEPT", offer_id=self.offer_id)
        self.chat.send_frame("FILE_PIN", offer_id=self.offer_id, peer=to,
                             key_sha256=self.pin)
        self.chat.send_frame("FILE_HINT", offer_id=self.offer_id, peer=to,
                             addr="127.0.0.1",
                             port=self.lsock.getsockname()[1],
                             token=self.TOKEN)
        self.lsock.settimeout(30)
        s, _ = self.lsock.accept()
        s.settimeout(30)
        self.data = wrap(self.tls.wrap_socket(s, server_side=True))
        f = self.data.read_frame()
        assert f["type"] == "FILE_CONNECT" and f["side"] == 1, f
        assert f["token"] == self.TOKEN, f
        self.data.send_frame("FILE_CONNECT", offer_id=self.offer_id, side=0,
                             token=self.TOKEN)
        f = self.data.read_frame()
        assert f["type"] == "FILE_ACK", f
        return f["offset"]

    def chunk(self, offset, data):
        self.data.send_frame("FILE_DATA", xfer_id=self.offer_id,
                             offset=offset, data=data)

    def done(self, digest):
        self.data.send_frame("FILE_DONE", xfer_id=self.offer_id,
                             sha256=digest)


class Files(unittest.TestCase):
    def pair(self, srv, a_args=(), b_args=(), a_env=None, b_env=None):
        self.down = os.path.join(srv.tmp, "down")
        a = srv.client("alice", register=True, args=a_args, env=a_env)
        b = srv.client("bob", register=True,
                       args=("--download-dir", self.down) + tuple(b_args),
                       env=b_env)
        return a, b

    def send_and_check(self, srv, size, a_args=(), b_args=(), a_env=None,
                       want_path=None):
        a, b = self.pair(srv, a_args, b_args, a_env)
        src = os.path.join(srv.tmp, "big.bin")
        digest = make_file(src, size)
        a.send("/send bob " + src)
        off = b.expect({"event": "offer", "from": "alice", "name": "big.bin"})
        self.assertEqual(off["size"], size)
        a.expect({"event": "transfer", "state": "waiting", "direction": "send"})
        b.send("/accept %d" % off["id"])
        bd = b.expect({"event": "transfer", "state": "done",
                       "direction": "receive"}, timeout=T_BIG)
        ad = a.expect({"event": "transfer", "state": "done",
                       "direction": "send"}, timeout=T_BIG)
        self.assertEqual(bd["bytes"], size)
        self.assertEqual(ad["bytes"], size)
        if want_path:
            self.assertEqual(bd["path"], want_path)
            self.assertEqual(ad["path"], want_path)
        dst = os.path.join(self.down, "big.bin")
        self.assertEqual(bd["file"], dst)
        self.assertEqual(sha256(dst), digest)
        self.assertFalse(os.path.exists(dst + ".part"))
        return a, b

    def timed_transfer(self, srv, a, b, size):
        """alice sends bob a file of size bytes; returns the seconds from
        the receiver's "active" to its "done", the bytes moved meanwhile
        and the done event (the file checked)."""
        src = os.path.join(srv.tmp, "big.bin")
        digest = make_file(src, size)
        a.send("/send bob " + src)
        off = b.expect({"event": "offer", "from": "alice"})
        b.send("/accept %d" % off["id"])
        act = b.expect({"event": "transfer", "state": "active"},
                       timeout=T_BIG)
        t0 = time.monotonic()
        done = b.expect({"event": "transfer", "state": "done"},
                        timeout=T_BIG)
        dt = time.monotonic() - t0
        self.assertEqual(sha256(done["file"]), digest)
        return dt, size - act["bytes"], done

    def test_direct_large_file_verified(self):
        with Server() as srv:
            self.send_and_check(srv, 64 * MB + 12345, want_path="direct")

    def test_relay_only(self):
        with Server() as srv:
            size = 48 * MB + 7
            self.send_and_check(srv, size, b_args=("--relay-only",),
                                want_path="relay")
            # parleyd logs what it relayed for each transfer.
            _, m = srv.err.wait_for(
                r"relay [0-9a-f]+ alice -> bob: (\d+) bytes to the receiver")
            self.assertGreater(int(m.group(1)), size)

    def test_relay_token_waits_for_the_senders_key(self):
        # A relay-only receiver asks for the relay at once: the sender's
        # token comes while its key is still being made, and waits for it.
        with Server() as srv:
            self.send_and_check(srv, MB + 3, b_args=("--relay-only",),
                                a_env={"PARLEY_TEST_KEY_DELAY_MS": "1000"},
                                want_path="relay")

    def test_relayed_bytes_are_not_the_plaintext(self):
        """The relay forwards the clients' own TLS records: a file of
        recognisable lines is nowhere in what parleyd forwarded (captured
        through PARLEYD_TEST_RELAY_CAPTURE). With both sides plain the
        same capture holds the lines: the check can fail."""
        line = b"parley relay secret line "
        for plain in (False, True):
            cap = os.path.join(tempfile.mkdtemp(prefix="parley-cap-"), "cap")
            args = ("--insecure-plaintext",) if plain else ()
            with Server(*args, env={"PARLEYD_TEST_RELAY_CAPTURE": cap}) as srv:
                a, b = self.pair(srv, b_args=("--relay-only",))
                src = os.path.join(srv.tmp, "lines.txt")
                with open(src, "wb") as f:
                    for i in range(40000):
                        f.write(line + b"%08d\n" % i)
                size = os.path.getsize(src)
                a.send("/send bob " + src)
                off = b.expect({"event": "offer", "from": "alice"})
                b.send("/accept %d" % off["id"])
                bd = b.expect({"event": "transfer", "state": "done",
                               "direction": "receive"}, timeout=T_BIG)
                self.assertEqual(bd["path"], "relay")
                with open(bd["file"], "rb") as f:
                    self.assertEqual(f.read(), open(src, "rb").read())
                # the capture's writes run off the loop
                wait_until(lambda: os.path.getsize(cap) >= size, 30,
                           "the relay capture to hold the whole file")
            with open(cap, "rb") as f:
                seen = f.read()
            self.assertGreaterEqual(len(seen), size)
            self.assertEqual(line in seen, plain,
                             "plaintext %s in the relayed bytes" %
                             ("missing" if plain else "found"))

    def test_wrong_key_pin_refused(self):
        """A sender whose TLS key is not the one it pinned through the
        server (a test hook flips the pin) is refused, direct and
        relayed, with a message naming both keys; nothing is stored."""
        for b_args in ((), ("--relay-only",)):
            with Server() as srv:
                a, b = self.pair(srv, b_args=b_args,
                                 a_env={"PARLEY_TEST_WRONG_PIN": "1"})
                src = os.path.join(srv.tmp, "big.bin")
                make_file(src, 256 * 1024)
                a.send("/send bob " + src)
                off = b.expect({"event": "offer", "from": "alice"})
                b.send("/accept %d" % off["id"])
                bf = b.expect({"event": "transfer", "state": "failed",
                               "direction": "receive"}, timeout=T_BIG)
                self.assertIn("is not the one it pinned", bf["reason"])
                self.assertIn("relayed" if b_args else "direct",
                              bf["reason"])
                af = a.expect({"event": "transfer", "direction": "send",
                               "state": "cancelled"}, timeout=T_BIG)
                self.assertIn("is not the one it pinned", af["reason"])
                self.assertFalse(os.path.exists(
                    os.path.join(self.down, "big.bin")))

    def test_plain_data_connection_refused_by_tls_server(self):
        """A plain-text FILE_CONNECT (an older client's relay leg) on a TLS
        parleyd hears TLS_REQUIRED in clear and is closed."""
        with Server() as srv:
            r = srv.raw(tls=False)
            r.send_frame("FILE_CONNECT", offer_id=1, side=1,
                         token=bytes(32))
            f = r.read_frame()
            self.assertEqual(f["type"], "ERROR")
            self.assertEqual(f["code"], E["TLS_REQUIRED"])
            self.assertEqual(f["ref_type"], 0x070A)
            with self.assertRaises(ConnClosed):
                r.read_frame()

    def test_relay_rate_limit(self):
        """--relay-rate caps the relayed bytes per second: the receiver's
        own progress (bytes over time) never runs faster than the rate
        plus the bucket's tenth of a second."""
        rate = 2 * MB
        size = 6 * MB
        with Server("--relay-rate", str(rate)) as srv:
            a, b = self.pair(srv, b_args=("--relay-only",))
            dt, moved, done = self.timed_transfer(srv, a, b, size)
            self.assertEqual(done["path"], "relay")
            # Allowed: the bucket (rate / 10) and the relay's queues (256
            # KiB per direction) may run ahead of the rate.
            ahead = rate // 10 + 256 * 1024
            self.assertGreaterEqual(dt, (moved - ahead) / rate,
                                    "%d bytes in %.2f s" % (moved, dt))

    def test_send_rate(self):
        """parley --send-rate caps how fast a file is sent (measured by
        the receiver's bytes over time; the config key is unit-tested)."""
        rate = MB
        size = 3 * MB
        with Server() as srv:
            a, b = self.pair(srv, a_args=("--send-rate", str(rate)))
            dt, moved, done = self.timed_transfer(srv, a, b, size)
            ahead = rate // 4  # one read may go before the rate catches up
            self.assertGreaterEqual(dt, (moved - ahead) / rate,
                                    "%d bytes in %.2f s" % (moved, dt))

    def test_shutdown_ends_relayed_streams_silently(self):
        """parleyd stopping closes a relayed data stream without writing
        anything into it (an ERROR frame there would be read as file data
        by the far side)."""
        with Server() as srv:
            a, b = srv.raw(), srv.raw()
            a.login("alice", register=True)
            b.login("bob", register=True)
            a.send_frame("FILE_OFFER", offer_id=9, peer="bob", name="f.bin",
                         size=3, sha256=bytes(32))
            b.expect("FILE_OFFER", offer_id=9)
            b.send_frame("FILE_ACCEPT", offer_id=9, peer="alice", offset=0)
            a.expect("FILE_ACCEPT", offer_id=9)
            b.send_frame("FILE_RELAY", offer_id=9, peer="alice",
                         token=bytes(32))
            tok = a.expect("FILE_RELAY", offer_id=9)["token"]
            self.assertEqual(b.expect("FILE_RELAY", offer_id=9)["token"], tok)
            da, db = srv.raw(), srv.raw()
            da.send_frame("FILE_CONNECT", offer_id=9, side=0, token=tok)
            db.send_frame("FILE_CONNECT", offer_id=9, side=1, token=tok)
            self.assertEqual(db.read_frame()["side"], 0)
            self.assertEqual(da.read_frame()["side"], 1)
            da.send_frame("FILE_DATA", xfer_id=9, offset=0, data=b"abc")
            self.assertEqual(db.read_frame()["data"], b"abc")
            self.assertEqual(srv.stop_keep_clients(), 0)
            for d in (da, db):  # nothing more, then the end
                with self.assertRaises(ConnClosed):
                    d.read_frame()
                self.assertEqual(d.buf, b"")
            for r in (a, b, da, db):
                r.close()

    def test_direct_refused_falls_back_to_relay(self):
        with Server() as srv:
            # The hint points at a port nobody listens on.
            self.send_and_check(srv, 8 * MB, a_env={
                "PARLEY_TEST_HINT_PORT": "1"}, want_path="relay")

    def test_server_seen_address_hint(self):
        """The sender's own hints name an address its listener is not on
        (127.0.0.2; the listener is on 127.0.0.1, the chat connection's
        loopback address): only the hint parleyd adds, the address it sees
        the sender's chat connection come from, can connect directly."""
        with Server() as srv:
            self.send_and_check(srv, 4 * MB, a_env={
                "PARLEY_TEST_HINT_ADDR": "127.0.0.2"}, want_path="direct")

    def test_offer_to_offline_user_refused(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            src = os.path.join(srv.tmp, "f.txt")
            make_file(src, 1000)
            a.send("/send nobody " + src)
            e = a.expect({"event": "error", "code": E["USER_OFFLINE"]})
            self.assertIn("not online", e["text"])

    def test_unreadable_files_are_error_events(self):
        # Found after /send was taken (the stat runs off the loop): a
        # script still hears of it, as an error event, not only a screen line.
        with Server() as srv:
            a = srv.client("alice", register=True)
            srv.client("bob", register=True)
            a.send("/send bob " + os.path.join(srv.tmp, "nope.bin"))
            e = a.expect({"event": "error", "name": "LOCAL"})
            self.assertIn("nope.bin", e["text"])
            self.assertIn("no such file", e["text"])
            empty = os.path.join(srv.tmp, "empty-dir")
            os.mkdir(empty)
            a.send("/send bob " + empty)
            e = a.expect({"event": "error", "name": "LOCAL"})
            self.assertIn("no regular files", e["text"])
            a.send("/upload " + os.path.join(srv.tmp, "gone.txt"))
            e = a.expect({"event": "error", "name": "LOCAL"})
            self.assertIn("cannot upload", e["text"])

    def test_too_large_refused_before_any_byte(self):
        with Server("--max-file-size", "1000") as srv:
            a, b = self.pair(srv)
            src = os.path.join(srv.tmp, "f.bin")
            make_file(src, 1001)
            a.send("/send bob " + src)
            e = a.expect({"event": "error", "code": E["FILE_TOO_BIG"]})
            self.assertIn("1000", e["text"])
            # Refused by the client itself, from the limit WELCOME and
            # FILE_LIMITS announced: no offer reached the server (whose
            # own refusal reads differently).
            self.assertIn("nothing was offered", e["text"])
            self.assertIn(src, e["text"])
            # A directory with one file over the limit: none of it goes.
            d = os.path.join(srv.tmp, "dir")
            os.makedirs(os.path.join(d, "sub"))
            make_file(os.path.join(d, "a.bin"), 10)
            make_file(os.path.join(d, "sub", "big.bin"), 5000)
            a.send("/send bob " + d)
            e = a.expect({"event": "error", "code": E["FILE_TOO_BIG"]})
            self.assertIn("big.bin", e["text"])
            self.assertIn("nothing was offered", e["text"])
            a.send("/msg bob marker")
            b.expect({"event": "message", "text": "marker"})
            self.assertFalse([x for x in b.events if x["event"] == "offer"])
            self.assertFalse([x for x in a.events if x["event"] == "transfer"])
            # The server still refuses an offer over the limit on its own.
            r = srv.raw()
            r.login("mallory", register=True)
            r.send_frame("FILE_OFFER", offer_id=5, peer="bob", name="x.bin",
                         size=1001, sha256=bytes(32))
            f = r.expect("ERROR")
            self.assertEqual(f["code"], E["FILE_TOO_BIG"])
            r.close()

    def test_reject(self):
        with Server() as srv:
            a, b = self.pair(srv)
            src = os.path.join(srv.tmp, "f.bin")
            make_file(src, 5000)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/reject %d" % off["id"])
            a.expect({"event": "transfer", "state": "rejected"})
            self.assertFalse(os.path.exists(self.down))

    def test_quoted_names_and_home(self):
        # Names with blanks (and non-ASCII) are one path when quoted or
        # escaped, and ~/ is the sender's (or receiver's) $HOME, expanded
        # by the client: the offers carry the plain names.
        with Server() as srv:
            home_a = os.path.join(srv.tmp, "home a")
            home_b = os.path.join(srv.tmp, "home b")
            os.makedirs(home_a)
            os.makedirs(home_b)
            a, b = self.pair(srv, a_env={"HOME": home_a},
                             b_env={"HOME": home_b})
            names = ["my notes \u00e9 \u00fc.txt", "it's here.txt",
                     "back slash.txt"]
            digests = [make_file(os.path.join(home_a, n), 1000 + i)
                       for i, n in enumerate(names)]
            a.send('/send bob "%s" ~/\'it\'"\'"\'s here.txt\' ~/back\\ slash.txt'
                   % os.path.join(home_a, names[0]))
            offers = [b.expect({"event": "offer", "from": "alice",
                                "name": n}) for n in names]
            for off, n, d in zip(offers, names, digests):
                b.send("/accept %d ~/in\\ box" % off["id"])
                bd = b.expect({"event": "transfer", "state": "done",
                               "direction": "receive", "name": n},
                              timeout=T_BIG)
                self.assertEqual(bd["file"],
                                 os.path.join(home_b, "in box", n))
                self.assertEqual(sha256(bd["file"]), d)
            # An open quote is an error and offers nothing.
            ids = [o["id"] for o in offers]
            a.send('/send bob "%s' % os.path.join(home_a, names[0]))
            e = a.expect({"event": "error"})
            self.assertIn("unterminated", e["text"], e)
            a.send("/msg bob after the open quote")
            b.expect_none(lambda e: e["event"] == "offer" and
                          e["id"] not in ids,
                          {"event": "message",
                           "text": "after the open quote"})

    def test_send_directory(self):
        """/send USER DIR offers each regular file under DIR as its own
        transfer, named DIR/sub/file; the receiver keeps the structure
        below its download directory (an existing file is not
        overwritten: name (1).ext); symlinks are not followed."""
        with Server() as srv:
            a, b = self.pair(srv)
            os.makedirs(os.path.join(self.down, "photos"))
            with open(os.path.join(self.down, "photos", "a.txt"), "wb") as f:
                f.write(b"already here\n")
            top = os.path.join(srv.tmp, "photos")
            os.makedirs(os.path.join(top, "sub", "deep"))
            files = {"a.txt": b"top a\n", "sub/a.txt": b"sub a\n",
                     "sub/b.txt": b"b" * 70000,
                     "sub/deep/c.txt": b"deep c\n"}
            for rel, data in files.items():
                with open(os.path.join(top, rel), "wb") as f:
                    f.write(data)
            secret = os.path.join(srv.tmp, "secret.txt")
            with open(secret, "wb") as f:
                f.write(b"not to be sent\n")
            os.symlink(secret, os.path.join(top, "link.txt"))
            os.symlink(top, os.path.join(top, "sub", "loop"))
            a.send("/send bob " + top + "/")
            sent = [a.expect({"event": "transfer", "state": "waiting",
                              "direction": "send"}) for _ in files]
            self.assertEqual(sorted(e["file"] for e in sent),
                             sorted(os.path.join(top, r) for r in files))
            offs = [b.expect({"event": "offer", "from": "alice"})
                    for _ in files]
            self.assertEqual(sorted(o["name"] for o in offs),
                             ["photos/" + r for r in sorted(files)])
            for o in offs:
                b.send("/accept %d" % o["id"])
            done = [b.expect({"event": "transfer", "state": "done",
                              "direction": "receive"}, timeout=T_BIG)
                    for _ in files]
            want = ["photos/a (1).txt", "photos/sub/a.txt",
                    "photos/sub/b.txt", "photos/sub/deep/c.txt"]
            self.assertEqual(sorted(os.path.relpath(d["file"], self.down)
                                    for d in done), want)
            for rel in files:
                got = "a (1).txt" if rel == "a.txt" else rel
                with open(os.path.join(self.down, "photos", got), "rb") as f:
                    self.assertEqual(f.read(), files[rel])
            with open(os.path.join(self.down, "photos", "a.txt"), "rb") as f:
                self.assertEqual(f.read(), b"already here\n")
            stored = sorted(os.path.relpath(os.path.join(d, n), self.down)
                            for d, _, ns in os.walk(self.down) for n in ns)
            self.assertEqual(stored, sorted(want + ["photos/a.txt"]))
            # Nothing more was offered: no symlink, nothing through the loop.
            a.expect({"event": "transfer", "state": "done",
                       "direction": "send"}, timeout=T_BIG)
            with a.cond:
                files_seen = {e.get("file") for e in a.events
                              if e.get("event") == "transfer"}
            self.assertEqual(files_seen,
                             {os.path.join(top, r) for r in files})
            with b.cond:
                self.assertEqual(len([e for e in b.events
                                      if e.get("event") == "offer"]),
                                 len(files))

    def test_existing_file_not_overwritten(self):
        with Server() as srv:
            a, b = self.pair(srv)
            os.makedirs(self.down)
            old = os.path.join(self.down, "report.pdf")
            with open(old, "wb") as f:
                f.write(b"precious")
            src = os.path.join(srv.tmp, "report.pdf")
            digest = make_file(src, 3 * MB)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            bd = b.expect({"event": "transfer", "state": "done"},
                          timeout=T_BIG)
            self.assertEqual(bd["file"],
                             os.path.join(self.down, "report (1).pdf"))
            with open(old, "rb") as f:
                self.assertEqual(f.read(), b"precious")
            self.assertEqual(sha256(bd["file"]), digest)


    def test_hostile_names_sanitised(self):
        hostile = ["../../etc/passwd", "/etc/shadow", "a\x1b[31mred\x07.txt",
                   ".bashrc", "x" * 250 + ".txt"]
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            m = RawSender(srv)
            payload = b"hello, hostile world\n"
            got = []
            for i, name in enumerate(hostile):
                m.offer("bob", name, len(payload), offer_id=100 + i)
                off = b.expect({"event": "offer", "from": "mallory"})
                b.send("/accept %d" % off["id"])
                self.assertEqual(m.serve("bob"), 0)
                m.chunk(0, payload)
                m.done(hashlib.sha256(payload).digest())
                d = b.expect({"event": "transfer", "state": "done",
                              "id": off["id"]})
                got.append(d["file"])
                m.data.close()
            for path in got:
                # Every file landed in the download directory itself, under
                # a visible name without control characters.
                self.assertEqual(os.path.dirname(path), down)
                base = os.path.basename(path)
                self.assertFalse(base.startswith("."), base)
                self.assertFalse(any(ord(ch) < 32 or ord(ch) == 127
                                     for ch in base), repr(base))
                self.assertLessEqual(len(base.encode()), 210)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), payload)
            self.assertEqual(os.path.basename(got[0]), "passwd")
            self.assertEqual(os.path.basename(got[1]), "shadow")
            self.assertEqual(os.path.basename(got[3]), "bashrc")
            self.assertEqual(sorted(os.listdir(down)), sorted(
                os.path.basename(p) for p in got))

    def test_hostile_relative_paths(self):
        """Relative paths keep their structure below the download
        directory, each component sanitised; a path with ".." or an
        absolute one keeps only its last component; a symlink in the
        download directory is never followed out of it."""
        cases = [("photos/../../../etc/x.txt", "x.txt"),
                 ("/abs/dir/y.txt", "y.txt"),
                 ("a/./b//\x1b[31mc.txt", "a/b/[31mc.txt"),
                 (".hidden/.z.txt", "hidden/z.txt"),
                 ("evil/f.txt", None)]
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            outside = os.path.join(srv.tmp, "outside")
            os.makedirs(down)
            os.makedirs(outside)
            os.symlink(outside, os.path.join(down, "evil"))
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            m = RawSender(srv)
            payload = b"relative\n"
            for i, (name, want) in enumerate(cases):
                m.offer("bob", name, len(payload), offer_id=200 + i)
                off = b.expect({"event": "offer", "from": "mallory"})
                b.send("/accept %d" % off["id"])
                if want is None:  # refused before any connection
                    f = b.expect({"event": "transfer", "state": "failed",
                                  "id": off["id"]})
                    self.assertIn("Not a directory", f["reason"])
                    m.chat.expect("FILE_CANCEL")
                    continue
                self.assertEqual(m.serve("bob"), 0)
                m.chunk(0, payload)
                m.done(hashlib.sha256(payload).digest())
                d = b.expect({"event": "transfer", "state": "done",
                              "id": off["id"]})
                self.assertEqual(d["file"], os.path.join(down, want))
                m.data.close()
            self.assertEqual(os.listdir(outside), [])

    def test_checksum_mismatch_discards(self):
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            m = RawSender(srv)
            payload = b"the real bytes\n"
            m.offer("bob", "doc.txt", len(payload))
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            m.serve("bob")
            m.chunk(0, payload)
            m.done(hashlib.sha256(b"other bytes").digest())
            e = b.expect({"event": "transfer", "state": "failed"})
            self.assertIn("checksum mismatch", e["reason"])
            f = m.chat.expect("FILE_CANCEL", offer_id=m.offer_id)
            self.assertIn("checksum", f["reason"])
            self.assertEqual(os.listdir(down), [])

    def test_sender_cancels_mid_way(self):
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            m = RawSender(srv)
            m.offer("bob", "half.bin", 10 * MB)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            m.serve("bob")
            for i in range(40):
                m.chunk(i * 32768, b"x" * 32768)
            b.expect({"event": "transfer", "state": "active"})
            m.chat.send_frame("FILE_CANCEL", offer_id=m.offer_id, peer="bob",
                              reason="changed my mind")
            e = b.expect({"event": "transfer", "state": "cancelled"})
            self.assertIn("changed my mind", e["reason"])
            # Nothing half-written stays behind.
            self.assertEqual(os.listdir(down), [])

    def test_data_out_of_place_refused(self):
        """FILE_DATA at another offset than the next one fails the
        transfer, whether it came whole or in pieces (a split frame's data
        goes straight to the receiver's buffer once its head is checked)."""
        with Server() as srv:
            b, m, _, down = self.raw_serving(srv, "gap.bin", 4 * MB)
            f = encode("FILE_DATA", xfer_id=m.offer_id, offset=2 * 32768,
                       data=b"y" * 32768)
            m.data.send(f[:100])  # the head first, the rest behind it
            m.data.send(f[100:])
            e = b.expect({"event": "transfer", "state": "failed"},
                         timeout=T_BIG)
            self.assertIn("broke the protocol", e["reason"])
            self.assertEqual(os.listdir(down), [])

    def raw_serving(self, srv, name, size):
        """bob (a real client) accepts a RawSender's offer, which sends
        the first 32 KiB: (bob, the sender, the offer, bob's download
        directory)."""
        down = os.path.join(srv.tmp, "down")
        b = srv.client("bob", register=True, args=("--download-dir", down))
        m = RawSender(srv)
        m.offer("bob", name, size)
        off = b.expect({"event": "offer"})
        b.send("/accept %d" % off["id"])
        m.serve("bob")
        m.chunk(0, b"x" * 32768)
        return b, m, off, down

    def test_receiver_cancels_mid_way(self):
        with Server() as srv:
            b, m, off, down = self.raw_serving(srv, "half.bin", 10 * MB)
            b.expect({"event": "transfer", "state": "active"})
            b.send("/cancel %d" % off["id"])
            b.expect({"event": "transfer", "state": "cancelled"})
            f = m.chat.expect("FILE_CANCEL", offer_id=m.offer_id)
            self.assertEqual(f["peer"], "bob")
            self.assertEqual(os.listdir(down), [])

    def stalled_receiver(self, srv, a, src):
        """bob, raw: accepts alice's offer of src, connects directly on a
        tiny receive window and reads nothing more, so the sender sticks
        mid-way. Returns bob's chat and data connections and the offer."""
        r = srv.raw()
        r.login("bob", register=True)
        a.send("/send bob " + src)
        o = r.expect("FILE_OFFER")
        r.send_frame("FILE_ACCEPT", offer_id=o["offer_id"], peer="alice",
                     offset=0)
        h = r.expect("FILE_HINT")
        d = RawConn(h["port"], rcvbuf=4096, tls=True)
        d.send_frame("FILE_CONNECT", offer_id=o["offer_id"], side=1,
                     token=h["token"])
        self.assertEqual(d.read_frame()["type"], "FILE_CONNECT")
        d.send_frame("FILE_ACK", xfer_id=o["offer_id"], offset=0)
        return r, d, o

    def test_real_sender_cancels_mid_way(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            src = os.path.join(srv.tmp, "big.bin")
            make_file(src, 64 * MB)
            # A receiver that reads nothing after the handshake: the
            # sender is stuck mid-way, as behind a slow link.
            r, d, o = self.stalled_receiver(srv, a, src)
            ev = a.expect({"event": "transfer", "state": "active"})
            a.send("/cancel %d" % ev["id"])
            a.expect({"event": "transfer", "state": "cancelled"})
            f = r.expect("FILE_CANCEL", offer_id=o["offer_id"])
            self.assertEqual(f["peer"], "alice")

    def test_cancel_and_quit_while_the_key_is_made(self):
        # The sender makes each accepted offer's TLS key in the thread pool
        # (held there by PARLEY_TEST_KEY_DELAY_MS): a /cancel, then a quit
        # while it runs end cleanly, and nothing of the ended transfers
        # (pin, hints) goes out once the key is made.
        with Server() as srv:
            r = srv.raw()
            r.login("bob", register=True)
            a = srv.client("alice", register=True,
                           env={"PARLEY_TEST_KEY_DELAY_MS": "1500"})
            src = os.path.join(srv.tmp, "small.bin")
            make_file(src, MB)
            ids = []
            for _ in range(2):
                a.send("/send bob " + src)
                o = r.expect("FILE_OFFER")
                r.send_frame("FILE_ACCEPT", offer_id=o["offer_id"],
                             peer="alice", offset=0)
                ev = a.expect({"event": "transfer", "state": "connecting",
                               "id": lambda i: i not in ids})
                ids.append(ev["id"])
                if len(ids) == 1:
                    a.send("/cancel %d" % ev["id"])
                    a.expect({"event": "transfer", "state": "cancelled"})
                    r.expect("FILE_CANCEL", offer_id=o["offer_id"])
            a.quit(0)  # waits for the job; the sanitizers watch the rest
            r.expect("PRESENCE", user="alice", status=3)  # after all hers
            sent = [f["type"] for f in r.frames]
            self.assertNotIn("FILE_PIN", sent)
            self.assertNotIn("FILE_HINT", sent)
            r.close()

    def test_receiver_killed_sender_fails_cleanly(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            src = os.path.join(srv.tmp, "big.bin")
            make_file(src, 32 * MB)
            r, d, o = self.stalled_receiver(srv, a, src)
            a.expect({"event": "transfer", "state": "active"})
            d.close()
            r.close()
            e = a.expect({"event": "transfer", "state": "failed"})
            self.assertTrue(e["reason"])


    @staticmethod
    def read_bytes(pid):
        """Bytes process pid has read with read(2) and its kin so far
        (files and sockets alike: /proc/PID/io rchar)."""
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
        return 0

    def failed_and_cancelled(self, failing, other, why):
        """The transfer fails on one side and the other side hears it
        cancelled, both saying why."""
        e = failing.expect({"event": "transfer", "state": "failed"},
                           timeout=T_BIG)
        self.assertIn(why, e["reason"])
        e = other.expect({"event": "transfer", "state": "cancelled"},
                         timeout=T_BIG)
        self.assertIn(why, e["reason"])

    def offer_hashed(self, srv, a, b, name, size):
        """alice offers bob a new file; returns once she has read all of it
        (hashed it) with the offer still pending: (offer, alice's read
        count before the offer, the file's path and SHA-256)."""
        src = os.path.join(srv.tmp, name)
        digest = make_file(src, size)
        r0 = self.read_bytes(a.proc.pid)
        a.send("/send bob " + src)
        off = b.expect({"event": "offer", "from": "alice"})
        wait_until(lambda: self.read_bytes(a.proc.pid) - r0 >= size, T_BIG,
                   "the sender to hash the offered file")
        return off, r0, src, digest

    def test_offer_hashed_before_accept_and_not_again(self):
        """The sender hashes the file while its offer waits: all of it is
        read before anyone accepts, and after the accept it is read once
        more (the data), not hashed a second time."""
        with Server() as srv:
            a, b = self.pair(srv)
            size = 24 * MB + 5
            off, r0, _, digest = self.offer_hashed(srv, a, b, "early.bin",
                                                   size)
            b.send("/accept %d" % off["id"])
            d = b.expect({"event": "transfer", "state": "done"},
                         timeout=T_BIG)
            self.assertEqual(sha256(d["file"]), digest)
            a.expect({"event": "transfer", "state": "done"}, timeout=T_BIG)
            self.assertLess(self.read_bytes(a.proc.pid) - r0, 2.5 * size)

    def test_file_changed_after_hashing_refused(self):
        """A file rewritten in place between the offer (already hashed)
        and the accept is refused, not sent under the old digest."""
        with Server() as srv:
            a, b = self.pair(srv)
            off, _, src, _ = self.offer_hashed(srv, a, b, "moving.bin",
                                               8 * MB)
            with open(src, "r+b") as f:  # same size, other bytes
                f.write(b"changed!")
            st = os.stat(src)
            os.utime(src, (st.st_atime, st.st_mtime + 5))
            b.send("/accept %d" % off["id"])
            self.failed_and_cancelled(a, b, "changed since it was offered")
            wait_until(lambda: not os.listdir(self.down)
                       if os.path.isdir(self.down) else True, 10,
                       "the .part file to go")

    def test_room_offer_two_accept_third_ignores(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            downs = {}
            rs = {}
            for n in ("bob", "carol", "dave"):
                downs[n] = os.path.join(srv.tmp, "down-" + n)
                rs[n] = srv.client(n, register=True,
                                   args=("--download-dir", downs[n]))
            src = os.path.join(srv.tmp, "shared.bin")
            digest = make_file(src, 5 * MB + 3)
            a.send("/send #lobby " + src)
            offs = {n: rs[n].expect({"event": "offer", "from": "alice"})
                    for n in rs}
            for n in ("bob", "carol"):
                rs[n].send("/accept %d" % offs[n]["id"])
            for n in ("bob", "carol"):
                d = rs[n].expect({"event": "transfer", "state": "done"},
                                 timeout=T_BIG)
                self.assertEqual(sha256(d["file"]), digest)
            a.expect_all([{"event": "transfer", "state": "done",
                           "peer": "bob"},
                          {"event": "transfer", "state": "done",
                           "peer": "carol"}], timeout=T_BIG)
            # dave ignored it: nothing was created for him.
            self.assertFalse(os.path.exists(downs["dave"]))
            self.assertFalse([e for e in rs["dave"].events
                              if e["event"] == "transfer" and
                              e["state"] not in ("offered",)])

    def room_senders_last(self, srv, names, **kw):
        """Clients for names, then alice once they are all in #lobby: her
        JOINED counts them, so she knows whom a room offer reaches."""
        rs = {}
        for n in names:
            rs[n] = srv.client(n, register=True, **kw)
        return srv.client("alice", register=True), rs

    def test_room_offer_ends_with_each_members_answer(self):
        # One member accepts, one rejects: the sender's room row reports
        # each answer and ends once the accepted transfer is done.
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            a, rs = self.room_senders_last(
                srv, ("bob", "carol"), args=("--download-dir", down))
            src = os.path.join(srv.tmp, "note.txt")
            make_file(src, 3000)
            a.send("/send #lobby " + src)
            offs = {n: rs[n].expect({"event": "offer", "from": "alice"})
                    for n in rs}
            rs["carol"].send("/reject %d" % offs["carol"]["id"])
            a.expect({"event": "transfer", "peer": "#lobby",
                      "state": "waiting", "reason": "1 rejected"})
            rs["bob"].send("/accept %d" % offs["bob"]["id"])
            a.expect({"event": "transfer", "peer": "bob", "state": "done"})
            a.expect({"event": "transfer", "peer": "#lobby", "state": "done",
                      "reason": "1 received, 1 rejected"})

    def test_room_offer_withdrawn_by_its_sender(self):
        # /cancel on the room's row: every member's waiting offer ends at
        # once (parleyd cancels them by the room), not when they expire.
        with Server() as srv:
            a, rs = self.room_senders_last(srv, ("bob", "carol"))
            src = os.path.join(srv.tmp, "note.txt")
            make_file(src, 3000)
            a.send("/send #lobby " + src)
            offs = {n: rs[n].expect({"event": "offer", "from": "alice"})
                    for n in rs}
            row = a.expect({"event": "transfer", "peer": "#lobby"})
            m = a.mark()
            a.send("/cancel %d" % row["id"])
            for n in rs:
                rs[n].expect({"event": "transfer", "id": offs[n]["id"],
                              "state": "cancelled"})
            rs["bob"].send("/accept %d" % offs["bob"]["id"])
            rs["bob"].expect({"event": "error"})
            # A round trip after the cancel: no error came before its echo.
            a.send("still here")
            a.expect_none({"event": "error"}, {"event": "message",
                                                "from": "alice",
                                                "text": "still here"},
                          since=m)

    def test_room_offer_nobody_answers_expires(self):
        with Server("--offer-ttl", "2") as srv:
            a, rs = self.room_senders_last(srv, ("bob", "carol"))
            src = os.path.join(srv.tmp, "note.txt")
            make_file(src, 3000)
            a.send("/send #lobby " + src)
            for n in rs:
                rs[n].expect({"event": "offer", "from": "alice"})
            a.expect({"event": "transfer", "peer": "#lobby", "state": "failed",
                      "reason": "expired"}, timeout=T_BIG)

    def test_disk_full_fails_cleanly(self):
        import harness
        with Server() as srv:
            wrapper = os.path.join(srv.tmp, "parley-fsize")
            with open(wrapper, "w") as f:
                f.write("#!%s\nimport os, resource, sys\n"
                        "resource.setrlimit(resource.RLIMIT_FSIZE, "
                        "(%d, %d))\nos.execv(%r, [%r] + sys.argv[1:])\n" %
                        (sys.executable, 2 * MB, 2 * MB, harness.PARLEY,
                         harness.PARLEY))
            os.chmod(wrapper, 0o755)
            real, harness.PARLEY = harness.PARLEY, wrapper
            try:
                a, b = self.pair(srv)
            finally:
                harness.PARLEY = real
            src = os.path.join(srv.tmp, "big.bin")
            make_file(src, 8 * MB)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            self.failed_and_cancelled(b, a, "disk full")
            # Nothing half-written keeps a name.
            self.assertEqual(os.listdir(self.down), [])
            # The client is still fine: chat works.
            a.send("/msg bob still here")
            b.expect({"event": "message", "text": "still here"})


    def test_receiver_killed_and_restarted_resumes(self):
        with Server() as srv:
            size = 24 * MB + 5
            # The sender is slowed down so that the kill lands mid-way.
            a, b = self.pair(srv, a_env={"PARLEY_TEST_XFER_DELAY_MS": "40"})
            src = os.path.join(srv.tmp, "big.bin")
            digest = make_file(src, size)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            ev = b.expect({"event": "transfer", "state": "active",
                           "bytes": lambda n: n >= 4 * MB}, timeout=T_BIG)
            b.proc.kill()
            b.proc.wait()
            part = os.path.join(self.down, "big.bin.part")
            have = os.path.getsize(part)
            self.assertGreater(have, 0)
            self.assertLess(have, size)
            a.expect({"event": "transfer", "state": "failed",
                      "reason": lambda r: "interrupted" in r}, timeout=T_BIG)
            # bob comes back; alice offers again and bob continues his .part.
            b2 = srv.client("bob", args=("--download-dir", self.down))
            bd = b2.expect({"event": "transfer", "state": "done"},
                           timeout=T_BIG)
            ad = a.expect({"event": "transfer", "state": "done"},
                          timeout=T_BIG)
            self.assertEqual(sha256(bd["file"]), digest)
            self.assertEqual(bd["file"], os.path.join(self.down, "big.bin"))
            # Neither side moved the bytes bob already had again.
            self.assertGreaterEqual(bd["resumed_from"], have - 2 * MB)
            self.assertGreater(bd["resumed_from"], 0)
            self.assertEqual(ad["resumed_from"], bd["resumed_from"])
            self.assertEqual(sorted(os.listdir(self.down)), ["big.bin"])

    def test_restarted_sender_waits_quietly_for_offline_peer(self):
        # alice's parley dies mid-way and bob leaves; alice's next parley
        # offers the file again on its own: bob being offline is no error
        # to show, it waits for him and resumes when he is back.
        with Server() as srv:
            delay = {"PARLEY_TEST_XFER_DELAY_MS": "40"}
            a, b = self.pair(srv, a_env=delay)
            carol = srv.client("carol", register=True)
            src = os.path.join(srv.tmp, "big.bin")
            digest = make_file(src, 24 * MB + 5)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            b.expect({"event": "transfer", "state": "active",
                      "bytes": lambda n: n >= 4 * MB}, timeout=T_BIG)
            a.proc.kill()
            a.proc.wait()
            b.expect({"event": "transfer", "state": "failed",
                      "reason": lambda r: "interrupted" in r}, timeout=T_BIG)
            b.proc.kill()
            b.proc.wait()
            carol.expect({"event": "presence", "user": "bob",
                          "status": "offline"})
            a2 = srv.client("alice", env=delay)
            a2.expect({"event": "transfer", "peer": "bob",
                       "reason": "waiting for bob to come online to resume"})
            b2 = srv.client("bob", args=("--download-dir", self.down))
            bd = b2.expect({"event": "transfer", "state": "done"},
                           timeout=T_BIG)
            self.assertEqual(sha256(bd["file"]), digest)
            ad = a2.expect({"event": "transfer", "state": "done"},
                           timeout=T_BIG)
            self.assertNotIn("reason", ad)
            self.assertEqual([e for e in a2.events if e["event"] == "error"],
                             [])

    def test_parleyd_restarted_mid_relay_resumes(self):
        srv = Server()
        port, tmp = srv.port, srv.tmp
        try:
            self.down = os.path.join(tmp, "down")
            a = srv.client("alice", register=True, reconnect=True,
                           env={"PARLEY_TEST_XFER_DELAY_MS": "40"})
            b = srv.client("bob", register=True, reconnect=True,
                           args=("--relay-only", "--download-dir",
                                 self.down))
            size = 24 * MB + 1
            src = os.path.join(tmp, "big.bin")
            digest = make_file(src, size)
            a.send("/send bob " + src)
            off = b.expect({"event": "offer"})
            b.send("/accept %d" % off["id"])
            b.expect({"event": "transfer", "state": "active", "path": "relay",
                      "bytes": lambda n: n >= 4 * MB}, timeout=T_BIG)
            srv.proc.kill()  # a crash, mid-relay
            srv.proc.wait()
            b.expect({"event": "transfer", "state": "failed",
                      "reason": lambda r: "interrupted" in r}, timeout=T_BIG)
            srv2 = Server(listen="127.0.0.1:%d" % port, tmp=tmp)
            srv2.clients += [a, b]
            with srv2:
                bd = b.expect({"event": "transfer", "state": "done"},
                              timeout=T_BIG)
                self.assertEqual(bd["path"], "relay")
                self.assertGreater(bd["resumed_from"], 0)
                self.assertEqual(sha256(bd["file"]), digest)
                a.expect({"event": "transfer", "state": "done",
                          "resumed_from": bd["resumed_from"]}, timeout=T_BIG)
        finally:
            for c in srv.clients:
                c.kill()
            srv.kill()


if __name__ == "__main__":
    unittest.main()
