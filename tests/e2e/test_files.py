"""Peer file transfers: offers, direct and relayed data, verification,
limits and safe receiving (issue 10). Real parleyd and parley --batch
clients on 127.0.0.1; files live in the test's temp dir."""
import hashlib
import os
import unittest

from harness import E, Server

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

    def test_direct_refused_falls_back_to_relay(self):
        with Server() as srv:
            # The hint points at a port nobody listens on.
            self.send_and_check(srv, 8 * MB, a_env={
                "PARLEY_TEST_HINT_PORT": "1"}, want_path="relay")

    def test_offer_to_offline_user_refused(self):
        with Server() as srv:
            a = srv.client("alice", register=True)
            src = os.path.join(srv.tmp, "f.txt")
            make_file(src, 1000)
            a.send("/send nobody " + src)
            e = a.expect({"event": "error", "code": E["USER_OFFLINE"]})
            self.assertIn("not online", e["text"])

    def test_too_large_refused_before_any_byte(self):
        with Server("--max-file-size", "1000") as srv:
            a, b = self.pair(srv)
            src = os.path.join(srv.tmp, "f.bin")
            make_file(src, 1001)
            a.send("/send bob " + src)
            e = a.expect({"event": "error", "code": E["FILE_TOO_BIG"]})
            self.assertIn("1000", e["text"])
            a.send("/msg bob marker")
            b.expect({"event": "message", "text": "marker"})
            self.assertFalse([x for x in b.events if x["event"] == "offer"])

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


if __name__ == "__main__":
    unittest.main()
