"""The shared folder on the server (issue 11): upload, list, download,
rename, delete, overwrite, permissions, names, quotas, resume, restart,
disk full, concurrent uploads. A real parleyd on 127.0.0.1 with --files in
the test's temp dir; clients are raw sockets speaking the protocol (so a
transfer can be cut at an exact byte) and real `parley --batch`."""
import hashlib
import os
import resource
import socket
import sys
import unittest

from harness import E, RawConn, Server, wait_until

MB = 1 << 20
T_BIG = 120  # a transfer under ASan on a busy machine
UPF_OVERWRITE, UPF_RESUME = 1, 2
CHUNK = 32768


def sha(data):
    return hashlib.sha256(data).digest()


def listing(chat):
    """FOLDER_LIST_REQ: [(name, size, owner, sha256)] in the server's order."""
    chat.send_frame("FOLDER_LIST_REQ")
    out = []
    while True:
        f = chat.read_frame()
        if f["type"] == "FOLDER_ENTRY":
            out.append((f["name"], f["size"], f["owner"], f["sha256"]))
        elif f["type"] == "FOLDER_END":
            assert f["count"] == len(out), f
            return out


def upload(srv, chat, name, data, flags=UPF_RESUME, xfer_id=7, stop_at=None,
           digest=None):
    """Uploads data as name through a data connection. Returns the chat
    frame that ends it: FOLDER_OK or an ERROR (for a refusal before any
    byte, the ERROR to UPLOAD_REQ). stop_at: close the data connection
    after that many bytes (returns None)."""
    chat.send_frame("UPLOAD_REQ", xfer_id=xfer_id, name=name, size=len(data),
                    sha256=bytes(32), flags=flags)
    f = next_of(chat, ("UPLOAD_READY", "ERROR"))
    if f["type"] == "ERROR":
        return f
    d = RawConn(srv.port)
    d.send_frame("FILE_CONNECT", offer_id=xfer_id, side=0, token=f["token"])
    d.expect("FILE_CONNECT", side=1)
    start = d.expect("FILE_ACK")["offset"]
    assert start == f["offset"], (start, f)
    end = len(data) if stop_at is None else stop_at
    pos = start
    while pos < end:
        n = min(CHUNK, end - pos)
        d.send_frame("FILE_DATA", xfer_id=xfer_id, offset=pos,
                     data=data[pos:pos + n])
        pos += n
    if stop_at is not None:
        wait_acked(d, stop_at - stop_at % (256 * 1024))  # the disk job size
        d.close()
        return None
    d.send_frame("FILE_DONE", xfer_id=xfer_id, sha256=digest or sha(data))
    res = next_of(chat, ("FOLDER_OK", "ERROR"), timeout=T_BIG)
    if res["type"] == "FOLDER_OK":
        done = d.expect("FILE_DONE", timeout=T_BIG)
        assert done["sha256"] == sha(data)
    d.close()
    return res


def ok(chat, name):
    """Waits for FOLDER_OK about name (an ERROR first fails)."""
    f = chat.expect("FOLDER_OK")
    assert f["name"] == name, f
    return f


def wait_acked(d, offset):
    while True:
        f = d.read_frame(timeout=T_BIG)
        if f["type"] == "FILE_ACK" and f["offset"] >= offset:
            return


def next_of(chat, types, timeout=10):
    while True:
        f = chat.read_frame(timeout=timeout)
        if f["type"] in types:
            return f


def download(srv, chat, name, offset=0, xfer_id=9, stop_at=None):
    """Downloads name; returns (bytes from offset, DOWNLOAD_START) or the
    ERROR frame."""
    chat.send_frame("DOWNLOAD_REQ", xfer_id=xfer_id, name=name, offset=offset)
    f = next_of(chat, ("DOWNLOAD_START", "ERROR"))
    if f["type"] == "ERROR":
        return f
    d = RawConn(srv.port)
    d.send_frame("FILE_CONNECT", offer_id=xfer_id, side=1, token=f["token"])
    d.expect("FILE_CONNECT", side=0)
    d.send_frame("FILE_ACK", xfer_id=xfer_id, offset=offset)
    got = bytearray()
    while True:
        g = d.read_frame(timeout=T_BIG)
        if g["type"] == "FILE_DATA":
            assert g["offset"] == offset + len(got)
            got += g["data"]
            if stop_at is not None and offset + len(got) >= stop_at:
                d.close()
                return bytes(got), f
        elif g["type"] == "FILE_DONE":
            assert g["sha256"] == f["sha256"]
            d.send_frame("FILE_DONE", xfer_id=xfer_id, sha256=g["sha256"])
            d.close()
            return bytes(got), f
        else:
            raise AssertionError("unexpected %r" % g)


def outside_files(srv):
    """Every path under the server's temp dir but outside --files and the
    database's own files."""
    found = []
    for root, dirs, files in os.walk(srv.tmp):
        if root.startswith(srv.files):
            continue
        for f in files:
            if not f.startswith("db"):
                found.append(os.path.join(root, f))
    return found


class Folder(unittest.TestCase):
    def setUp(self):
        self.srv = Server("--folder-user-quota", 3 * MB,
                          "--folder-quota", 5 * MB, "--folder-max-files", 6,
                          "--max-file-size", 2 * MB)
        self.alice = self.srv.raw()
        self.alice.login("alice", register=True)
        self.bob = self.srv.raw()
        self.bob.login("bob", register=True)

    def tearDown(self):
        self.alice.close()
        self.bob.close()
        self.srv.stop()

    def test_upload_list_download_rename_delete(self):
        data = os.urandom(300000)
        self.assertEqual(upload(self.srv, self.alice, "plan.txt", data)["type"],
                         "FOLDER_OK")
        with open(os.path.join(self.srv.files, "plan.txt"), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(listing(self.bob),
                         [("plan.txt", len(data), "alice", sha(data))])
        got, start = download(self.srv, self.bob, "plan.txt")
        self.assertEqual(got, data)
        self.assertEqual(start["size"], len(data))
        self.alice.send_frame("RENAME_REQ", **{"from": "plan.txt",
                                               "to": "plan-v2.txt"})
        ok(self.alice, "plan-v2.txt")
        self.assertEqual([e[0] for e in listing(self.bob)], ["plan-v2.txt"])
        self.assertFalse(os.path.exists(os.path.join(self.srv.files,
                                                     "plan.txt")))
        self.alice.send_frame("DELETE_REQ", name="plan-v2.txt")
        ok(self.alice, "plan-v2.txt")
        self.assertEqual(listing(self.bob), [])
        self.assertEqual(os.listdir(self.srv.files), [".parley"])

    def test_overwrite_asked_then_done_and_others_refused(self):
        one, two = os.urandom(1000), os.urandom(2000)
        self.assertEqual(upload(self.srv, self.alice, "a.bin", one)["type"],
                         "FOLDER_OK")
        r = upload(self.srv, self.alice, "a.bin", two, flags=0)
        self.assertEqual((r["type"], r["code"], r["subject"]),
                         ("ERROR", E["FILE_EXISTS"], "a.bin"))
        self.assertIn("exists on the server", r["text"])
        r = upload(self.srv, self.alice, "a.bin", two, flags=UPF_OVERWRITE)
        self.assertEqual(r["type"], "FOLDER_OK")
        self.assertEqual(listing(self.bob)[0][1:], (2000, "alice", sha(two)))
        # bob may read, not replace, rename or delete
        r = upload(self.srv, self.bob, "a.bin", one, flags=UPF_OVERWRITE)
        self.assertEqual((r["type"], r["code"]), ("ERROR", E["NOT_OWNER"]))
        self.bob.send_frame("RENAME_REQ", **{"from": "a.bin", "to": "b.bin"})
        self.assertEqual(self.bob.expect("ERROR")["code"], E["NOT_OWNER"])
        self.bob.send_frame("DELETE_REQ", name="a.bin")
        self.assertEqual(self.bob.expect("ERROR")["code"], E["NOT_OWNER"])
        self.assertEqual(listing(self.bob)[0][:3], ("a.bin", 2000, "alice"))
        # renaming onto an existing name asks too
        self.assertEqual(upload(self.srv, self.alice, "c.bin", one)["type"],
                         "FOLDER_OK")
        self.alice.send_frame("RENAME_REQ", **{"from": "c.bin", "to": "a.bin"})
        f = self.alice.read_frame()
        self.assertEqual((f["type"], f["name"]), ("FOLDER_ENTRY", "a.bin"))
        self.assertEqual(self.alice.expect("ERROR")["code"], E["FILE_EXISTS"])
        self.alice.send_frame("RENAME_REQ", **{"from": "c.bin", "to": "a.bin",
                                               "flags": UPF_OVERWRITE})
        ok(self.alice, "a.bin")
        self.assertEqual(listing(self.bob), [("a.bin", 1000, "alice",
                                              sha(one))])

    def test_path_tricks_refused_nothing_outside(self):
        bad = ["../x", "/etc/passwd", "a/b", ".hidden", "x\x1b[31m", "a\\b",
               "-rf", "", "x" * 4000, "\u0085x"]
        for name in bad:
            chat = self.alice
            chat.send_frame("UPLOAD_REQ", xfer_id=1, name=name, size=3,
                            sha256=bytes(32), flags=0)
            f = next_of(chat, ("ERROR", "UPLOAD_READY"))
            if len(name.encode()) > 255:  # beyond the codec's limit
                self.assertEqual(f["code"], E["MALFORMED"], name)
                chat.close()
                self.alice = chat = self.srv.raw()
                chat.login("alice")
                continue
            self.assertEqual((f["type"], f["code"]),
                             ("ERROR", E["BAD_FILENAME"]), repr(name))
            for req, kw in (("DOWNLOAD_REQ", {"name": name}),
                            ("DELETE_REQ", {"name": name}),
                            ("RENAME_REQ", {"from": name, "to": "ok"}),
                            ("RENAME_REQ", {"from": "ok", "to": name})):
                chat.send_frame(req, **kw)
                f = chat.expect("ERROR")
                self.assertEqual(f["code"], E["BAD_FILENAME"], (req, name))
        self.assertEqual(upload(self.srv, self.alice, "ok", b"abc")["type"],
                         "FOLDER_OK")
        self.assertEqual(os.listdir(self.srv.files).count("ok"), 1)
        self.assertEqual(outside_files(self.srv), [])

    def test_quota_and_size_refusals_name_the_limit(self):
        r = upload(self.srv, self.alice, "big", os.urandom(2 * MB + 1))
        self.assertEqual(r["code"], E["FILE_TOO_BIG"])
        self.assertIn("2.0 MiB", r["text"])
        for i in range(2):
            self.assertEqual(upload(self.srv, self.alice, "f%d" % i,
                                    bytes(MB + 1000))["type"], "FOLDER_OK")
        r = upload(self.srv, self.alice, "f2", bytes(MB))
        self.assertEqual(r["code"], E["QUOTA"])
        self.assertIn("your quota", r["text"])
        self.assertIn("3.0 MiB", r["text"])
        self.assertEqual(upload(self.srv, self.bob, "g0",
                                bytes(2 * MB))["type"], "FOLDER_OK")
        r = upload(self.srv, self.bob, "g1", bytes(MB))
        self.assertEqual(r["code"], E["QUOTA"])
        self.assertIn("shared folder's quota", r["text"])
        for i in range(3):
            self.assertEqual(upload(self.srv, self.bob, "h%d" % i,
                                    b"x")["type"], "FOLDER_OK")
        r = upload(self.srv, self.bob, "h3", b"x")
        self.assertEqual(r["code"], E["QUOTA"])
        self.assertIn("6 files", r["text"])
        self.assertEqual(len(listing(self.alice)), 6)

    def test_download_killed_half_way_resumes(self):
        data = os.urandom(1500000)
        upload(self.srv, self.alice, "d.bin", data)
        part, _ = download(self.srv, self.bob, "d.bin", stop_at=400000)
        got, start = download(self.srv, self.bob, "d.bin", offset=len(part))
        self.assertEqual(start["offset"], len(part))
        self.assertEqual(part + got, data)

    def test_upload_killed_half_way_resumes(self):
        data = os.urandom(1500000)
        self.assertIsNone(upload(self.srv, self.alice, "u.bin", data,
                                 stop_at=600000))
        self.assertEqual(listing(self.bob), [])  # a partial is not listed
        r = upload(self.srv, self.alice, "u.bin", data)
        self.assertEqual(r["type"], "FOLDER_OK")
        with open(os.path.join(self.srv.files, "u.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(os.listdir(os.path.join(self.srv.files, ".parley")),
                         [])

    def test_checksum_mismatch_discarded(self):
        r = upload(self.srv, self.alice, "m.bin", b"hello", digest=bytes(32))
        self.assertEqual(r["code"], E["HASH_MISMATCH"])
        self.assertEqual(listing(self.bob), [])
        self.assertEqual(sorted(os.listdir(self.srv.files)), [".parley"])
        parts = os.path.join(self.srv.files, ".parley")
        wait_until(lambda: os.listdir(parts) == [], 10,
                   "the partial upload deleted")

    def test_concurrent_uploads_of_one_name_one_wins(self):
        data = os.urandom(200000)
        for who, xid in ((self.alice, 1), (self.bob, 2)):
            who.send_frame("UPLOAD_REQ", xfer_id=xid, name="same.bin",
                           size=len(data), sha256=bytes(32), flags=0)
        a = next_of(self.alice, ("UPLOAD_READY", "ERROR"))
        b = next_of(self.bob, ("UPLOAD_READY", "ERROR"))
        kinds = sorted([a["type"], b["type"]])
        self.assertEqual(kinds, ["ERROR", "UPLOAD_READY"])
        loser = a if a["type"] == "ERROR" else b
        self.assertEqual(loser["code"], E["FILE_EXISTS"])


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class FolderBatch(unittest.TestCase):
    """The same through real `parley --batch` clients."""

    def test_batch_upload_files_download_rename_delete(self):
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            a = srv.client("alice", register=True)
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            src = os.path.join(srv.tmp, "report.pdf")
            with open(src, "wb") as f:
                f.write(os.urandom(3 * MB + 17))
            a.send("/upload " + src)
            up = a.expect({"event": "transfer", "state": "done",
                           "direction": "send"}, timeout=T_BIG)
            self.assertEqual((up["peer"], up["name"], up["bytes"]),
                             ("server", "report.pdf", 3 * MB + 17))
            a.expect({"event": "folder", "op": "upload", "name": "report.pdf"})
            b.send("/files rep")
            ls = b.expect({"event": "files"})["files"]
            self.assertEqual([(e["name"], e["size"], e["owner"], e["sha256"])
                              for e in ls],
                             [("report.pdf", 3 * MB + 17, "alice",
                               file_sha(src))])
            b.send("/list nomatch*")
            self.assertEqual(b.expect({"event": "files"})["files"], [])
            b.send("/get report.pdf")
            d = b.expect({"event": "transfer", "state": "done",
                          "direction": "receive"}, timeout=T_BIG)
            self.assertEqual(d["peer"], "server")
            self.assertEqual(d["file"], os.path.join(down, "report.pdf"))
            self.assertEqual(file_sha(d["file"]), file_sha(src))
            # the overwrite question: an error naming FILE_EXISTS, then
            # --overwrite replaces it
            with open(src, "wb") as f:
                f.write(b"v2")
            a.send("/put " + src)
            e = a.expect({"event": "error", "name": "FILE_EXISTS"})
            self.assertIn("report.pdf exists on the server", e["text"])
            a.send("/upload --overwrite " + src)
            a.expect({"event": "folder", "op": "upload"}, timeout=T_BIG)
            # bob may not touch alice's file
            b.send("/delete report.pdf")
            b.expect({"event": "error", "name": "NOT_OWNER"})
            a.send("/change report.pdf final.pdf")
            a.expect({"event": "folder", "op": "rename", "name": "final.pdf"})
            a.send("/files")
            ls = a.expect({"event": "files"})["files"]
            self.assertEqual([(e["name"], e["size"]) for e in ls],
                             [("final.pdf", 2)])
            a.send("/delete final.pdf")
            a.expect({"event": "folder", "op": "delete", "name": "final.pdf"})
            a.send("/files")
            self.assertEqual(a.expect({"event": "files"})["files"], [])

    def upload_killed_half_way(self, srv):
        """alice's slowed upload of 8 MiB, killed once the server kept at
        least 1 MiB of it. Returns the source path."""
        src = os.path.join(srv.tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(8 * MB))
        slow = {"PARLEY_TEST_XFER_DELAY_MS": "100"}
        a = srv.client("alice", register=True, env=slow)
        a.send("/upload " + src)
        a.expect({"event": "transfer", "state": "active",
                  "direction": "send"}, timeout=T_BIG)
        # wait until the server kept some of it, then kill the client
        part_dir = os.path.join(srv.files, ".parley")
        wait_until(lambda: any(os.path.getsize(os.path.join(part_dir, p))
                               >= MB for p in os.listdir(part_dir)),
                   T_BIG, "a partial upload on the server")
        a.kill()
        return src

    def test_batch_upload_killed_resumes(self):
        with Server() as srv:
            src = self.upload_killed_half_way(srv)
            a = srv.client("alice")
            a.send("/upload " + src)
            done = a.expect({"event": "transfer", "state": "done",
                             "direction": "send"}, timeout=T_BIG)
            self.assertGreaterEqual(done["resumed_from"], MB)
            self.assertEqual(file_sha(os.path.join(srv.files, "big.bin")),
                             file_sha(src))

    def test_batch_upload_killed_goes_on_at_the_next_start(self):
        with Server() as srv:
            src = self.upload_killed_half_way(srv)
            # Nothing typed: the next start goes on from what the server
            # kept, and a second /upload of it is refused meanwhile.
            a = srv.client("alice")
            a.expect({"event": "transfer", "direction": "send",
                      "name": "big.bin"}, timeout=T_BIG)
            a.send("/upload " + src)
            e = a.expect({"event": "error"})
            self.assertIn("big.bin is being uploaded already", e["text"])
            done = a.expect({"event": "transfer", "state": "done",
                             "direction": "send"}, timeout=T_BIG)
            self.assertGreaterEqual(done["resumed_from"], MB)
            self.assertEqual(file_sha(os.path.join(srv.files, "big.bin")),
                             file_sha(src))
            state = os.path.join(srv.tmp, "state-alice", "parley",
                                 "transfers")
            wait_until(lambda: os.listdir(state) == [], 10,
                       "the state file removed once done")

    def test_killed_upload_never_goes_on_to_another_server(self):
        # The state file names the server (address and key) and the
        # account: the same user's next start against another server
        # uploads nothing of it (a private file must not land elsewhere),
        # and the file stays for the server it was meant for.
        with Server() as srv:
            src = self.upload_killed_half_way(srv)
            home = {"XDG_STATE_HOME": os.path.join(srv.tmp, "state-alice")}
            with Server() as other:
                b = other.client("alice", register=True, env=home)
                small = os.path.join(other.tmp, "small.txt")
                with open(small, "wb") as f:
                    f.write(b"x" * 1000)
                # the saved transfers are read at login, before this one
                b.send("/upload " + small)
                b.expect({"event": "transfer", "state": "done",
                          "direction": "send", "name": "small.txt"},
                         timeout=T_BIG)
                self.assertEqual(
                    [e for e in b.events if e.get("event") == "transfer"
                     and e.get("name") == "big.bin"], [])
                self.assertFalse(os.path.exists(
                    os.path.join(other.files, "big.bin")))
                b.quit()
            a = srv.client("alice", env=home)  # back home: it goes on
            done = a.expect({"event": "transfer", "state": "done",
                             "direction": "send", "name": "big.bin"},
                            timeout=T_BIG)
            self.assertGreaterEqual(done["resumed_from"], MB)
            self.assertEqual(file_sha(os.path.join(srv.files, "big.bin")),
                             file_sha(src))

    def test_batch_download_killed_resumes_from_part(self):
        with Server() as srv:
            down = os.path.join(srv.tmp, "down")
            a = srv.raw()
            a.login("alice", register=True)
            data = os.urandom(6 * MB)
            self.assertEqual(upload(srv, a, "d.bin", data)["type"],
                             "FOLDER_OK")
            os.makedirs(down)
            with open(os.path.join(down, "d.bin.part"), "wb") as f:
                f.write(data[:2 * MB])  # what a killed download left
            b = srv.client("bob", register=True,
                           args=("--download-dir", down))
            b.send("/download d.bin")
            d = b.expect({"event": "transfer", "state": "done",
                          "direction": "receive"}, timeout=T_BIG)
            self.assertEqual(d["resumed_from"], 2 * MB)
            with open(os.path.join(down, "d.bin"), "rb") as f:
                self.assertEqual(f.read(), data)
            self.assertEqual(os.listdir(down), ["d.bin"])
            a.close()


class FolderOperator(unittest.TestCase):
    def test_console_and_subcommands(self):
        srv = Server()
        try:
            chat = srv.raw()
            chat.login("alice", register=True)
            for name in ("one.txt", "two.txt"):
                res = upload(srv, chat, name, name.encode())
                self.assertEqual(res["type"], "FOLDER_OK", res)
            srv.console_expect("files", r"^one\.txt 7 alice \d{4}-")
            srv.console_expect("rm nope", r"^no such file in the shared")
            srv.console_expect("rm one.txt", r"^deleted$")
            self.assertEqual([e[0] for e in listing(chat)], ["two.txt"])
            self.assertFalse(os.path.exists(os.path.join(srv.files,
                                                         "one.txt")))
            _, out, _ = srv.ctl("files")
            self.assertIn("two.txt 7 alice", out)
            chat.close()
            srv.stop()
            argv = ["--db", srv.db, "--files", srv.files]
            from harness import PARLEYD
            _, out, _ = srv._tool([PARLEYD, "files", "list"] + argv, b"", 0)
            self.assertRegex(out, r"^two\.txt\t7\talice\t\d{4}-")
            srv._tool([PARLEYD, "files", "rm", "../db"] + argv, b"", 2)
            srv._tool([PARLEYD, "files", "rm", "nope"] + argv, b"", 1)
            _, out, _ = srv._tool([PARLEYD, "files", "rm", "two.txt"] + argv,
                                  b"", 0)
            self.assertEqual(os.listdir(srv.files), [".parley"])
            _, out, _ = srv._tool([PARLEYD, "files", "list"] + argv, b"", 0)
            self.assertIn("empty", out)
            self.assertTrue(os.path.exists(srv.db))
        finally:
            srv.stop()

    def test_transfer_limit(self):
        with Server("--max-transfers", 1) as srv:
            chat = srv.raw()
            chat.login("alice", register=True)
            self.assertEqual(upload(srv, chat, "a", b"abc")["type"],
                             "FOLDER_OK")
            chat.send_frame("DOWNLOAD_REQ", xfer_id=1, name="a", offset=0)
            chat.expect("DOWNLOAD_START")  # its data connection never comes
            chat.send_frame("DOWNLOAD_REQ", xfer_id=2, name="a", offset=0)
            f = chat.expect("ERROR")
            self.assertEqual((f["code"], f["subject"]),
                             (E["TRANSFER_LIMIT"], "a"))
            chat.send_frame("UPLOAD_REQ", xfer_id=3, name="b", size=1,
                            sha256=bytes(32), flags=0)
            self.assertEqual(chat.expect("ERROR")["code"],
                             E["TRANSFER_LIMIT"])
            chat.close()

    def test_no_folder(self):
        with Server("--files", "") as srv:
            chat = srv.raw()
            chat.login("alice", register=True)
            chat.send_frame("FOLDER_LIST_REQ")
            self.assertEqual(chat.expect("ERROR")["code"], E["NO_FOLDER"])
            chat.close()


class FolderSlowReader(unittest.TestCase):
    def test_slow_downloader_costs_a_bounded_buffer(self):
        # ASan's quarantine would show freed buffers as RSS; keep it small.
        opts = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": (opts + ":" if opts else "") +
               "quarantine_size_mb=16"}
        srv = Server(start=False, env=env)
        size = 96 * MB
        data = os.urandom(MB) * 96  # copied in by hand: hashed at start
        with open(os.path.join(srv.files, "big.bin"), "wb") as f:
            f.write(data)
        srv.start()
        try:
            srv.err.wait_for(r"shared folder .*: 1 files; 1 hashed",
                             timeout=T_BIG)
            chat = srv.raw()
            chat.login("alice", register=True)
            chat.send_frame("DOWNLOAD_REQ", xfer_id=3, name="big.bin",
                            offset=0)
            st = chat.expect("DOWNLOAD_START")
            self.assertEqual(st["sha256"], sha(data))
            base = srv.rss_kib()
            d = RawConn(srv.port, rcvbuf=65536)
            d.send_frame("FILE_CONNECT", offer_id=3, side=1, token=st["token"])
            d.expect("FILE_CONNECT")
            d.send_frame("FILE_ACK", xfer_id=3, offset=0)
            got = bytearray()
            while len(got) < MB:
                got += d.read_frame(timeout=T_BIG)["data"]
            # The reader stops: the server must not read the file ahead
            # into memory (a bounded wait for growth that must not come).
            peak = [base]

            def grown():
                peak[0] = max(peak[0], srv.rss_kib())
                return peak[0] - base > 24 * 1024

            with self.assertRaises(AssertionError):
                wait_until(grown, 3, "parleyd's RSS growing")
            while True:
                f = d.read_frame(timeout=T_BIG)
                if f["type"] == "FILE_DONE":
                    break
                got += f["data"]
            self.assertEqual(len(got), size)
            self.assertEqual(hashlib.sha256(got).digest(), sha(data))
            self.assertLess(peak[0] - base, 24 * 1024)
            d.send_frame("FILE_DONE", xfer_id=3, sha256=sha(data))
            d.close()
            chat.close()
        finally:
            srv.stop()


class FolderRestart(unittest.TestCase):
    def test_restart_mid_upload_resumes_and_reconciles(self):
        srv = Server()
        try:
            chat = srv.raw()
            chat.login("alice", register=True)
            data = os.urandom(1200000)
            self.assertIsNone(upload(srv, chat, "r.bin", data,
                                     stop_at=500000))
            self.assertEqual(upload(srv, chat, "keep.txt", b"k")["type"],
                             "FOLDER_OK")
            chat.close()
            srv.stop()
            # by hand, while it is down: one file deleted, one copied in,
            # a stale partial upload left behind
            os.unlink(os.path.join(srv.files, "keep.txt"))
            with open(os.path.join(srv.files, "copied.txt"), "wb") as f:
                f.write(b"by hand")
            junk = os.path.join(srv.files, ".parley", "junk")
            with open(junk, "wb") as f:
                f.write(b"x")
            srv.start()
            chat = srv.raw()
            chat.login("alice")
            srv.err.wait_for(r"shared folder .*: 1 files; 1 hashed, 1 gone")
            self.assertEqual(listing(chat), [("copied.txt", 7, "-",
                                              sha(b"by hand"))])
            self.assertFalse(os.path.exists(junk))
            r = upload(srv, chat, "r.bin", data)
            self.assertEqual(r["type"], "FOLDER_OK")
            self.assertEqual(listing(chat)[1][:2], ("r.bin", len(data)))
            chat.close()
        finally:
            srv.stop()

    def test_disk_full_fails_cleanly(self):
        limit = 3 * MB  # RLIMIT_FSIZE of parleyd: writes past it fail EFBIG

        def lower():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        srv = Server(start=False)
        import harness
        orig = harness._die_with_parent
        harness._die_with_parent = lambda: (orig(), lower())
        try:
            srv.start()
        finally:
            harness._die_with_parent = orig
        try:
            chat = srv.raw()
            chat.login("alice", register=True)
            r = upload(srv, chat, "huge.bin", os.urandom(4 * MB))
            self.assertEqual(r["code"], E["DISK_FULL"], r)
            self.assertIn("no space left", r["text"])
            self.assertEqual(listing(chat), [])
            self.assertEqual(sorted(os.listdir(srv.files)), [".parley"])
            parts = os.path.join(srv.files, ".parley")
            wait_until(lambda: os.listdir(parts) == [], 10,
                       "the partial upload deleted")
            self.assertEqual(upload(srv, chat, "small", b"fine")["type"],
                             "FOLDER_OK")
            chat.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
