"""The shared folder in the TUI (issue 11): uploading over an existing name
asks in the input line "NAME exists on the server (SIZE, OWNER, AGE ago).
Overwrite? [y/N]"; n keeps the file, y replaces it. The same for a rename
onto an existing name."""
import hashlib
import os
import re
import sys

import tuiharness as h

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from harness import RawConn  # noqa: E402


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Folder(h.TuiCase):
    def only_the_question(self, s, q, row):
        self.assertTrue(q.search(s.rows[-1]), s.dump())
        self.assertTrue(row.search("\n".join(s.rows)), s.dump())
        self.assertNotIn("!!", s.text, s.dump())
        self.assertNotIn("FILE_EXISTS", s.text, s.dump())
        self.assertNotIn("cancelled", s.text, s.dump())

    def test_overwrite_question_in_the_input_line(self):
        a = self.login("alice", cmd_env="XDG_STATE_HOME=" + os.path.join(
            self.tmp, "state-alice"))
        stored = os.path.join(self.server.files, "report.pdf")
        one = os.path.join(self.tmp, "report.pdf")
        with open(one, "wb") as f:
            f.write(os.urandom(3 * (1 << 20)))
        a.line("/upload " + one)
        a.wait(lambda s: "report.pdf: upload done on the server" in s.text,
               "the first upload")
        self.assertEqual(digest(stored), digest(one))
        with open(one, "wb") as f:
            f.write(b"second version")
        # again: the question, in the input line; n keeps the old file
        a.line("/upload " + one)
        q = re.compile(r"report\.pdf exists on the server \(3\.0 MiB, alice,"
                       r" \d+ s ago\)\. Overwrite\? \[y/N\]")
        row = re.compile(r"^report\.pdf +to server .*awaiting answer", re.M)
        # Only the question while it is open: no error line, and the
        # upload's row waits for the answer (not cancelled, not failed).
        s = a.wait(lambda s: q.search(s.rows[-1]) and
                   row.search("\n".join(s.rows)), "the question")
        s = a.wait_check(lambda s: self.only_the_question(s, q, row),
                         "only the question")
        a.type("n")
        s = a.wait(lambda s: not q.search(s.rows[-1])
                   and "report.pdf: left as it is" in s.text and
                   re.search(r"^report\.pdf +to server .*cancelled",
                             "\n".join(s.rows), re.M), "the answer no")
        self.assertEqual(os.path.getsize(stored), 3 * (1 << 20))
        # yes replaces it: the row that asked goes on, no second row
        a.line("/put " + one)
        a.wait(lambda s: q.search(s.rows[-1]) and
               row.search("\n".join(s.rows)), "the question again")
        a.type("y")
        s = a.wait(lambda s: s.text.count("report.pdf: upload done on the "
                                          "server") == 2, "the replacement")
        self.assertEqual(digest(stored), digest(one))
        self.assertNotIn("!!", s.text, s.dump())
        # a rename onto an existing name asks the same way
        other = os.path.join(self.tmp, "notes.txt")
        with open(other, "wb") as f:
            f.write(b"notes")
        a.line("/upload " + other)
        a.wait(lambda s: "notes.txt: upload done on the server" in s.text,
               "the second file")
        a.line("/rename notes.txt report.pdf")
        r = re.compile(r"report\.pdf exists on the server \(14 B, alice, "
                       r"\d+ s ago\)\. Overwrite\? \[y/N\]")
        a.wait(lambda s: r.search(s.rows[-1]), "the rename question")
        a.type("y")
        a.wait(lambda s: "report.pdf: rename done on the server" in s.text,
               "the rename")
        with open(stored, "rb") as f:
            self.assertEqual(f.read(), b"notes")
        a.line("/files")
        a.wait(lambda s: "1 file in the shared folder" in s.text,
               "the listing")
        # With names of different lengths the listing is a table: sizes,
        # owners and times line up.
        longer = os.path.join(self.tmp, "quarterly-numbers.csv")
        with open(longer, "wb") as f:
            f.write(b"q" * 5000)
        a.line("/upload " + longer)
        a.wait(lambda s: "quarterly-numbers.csv: upload done on the server"
               in s.text, "the third upload")
        a.line("/files")

        def rows(s):
            if "2 files in the shared folder" not in s.text:
                return None
            r = [x for x in s.rows if re.search(
                r"== +(report\.pdf|quarterly-numbers\.csv) ", x)]
            return r[-2:] if len(r) >= 2 else None
        s = a.wait(rows, "the two-row listing")
        two = rows(s)
        self.assertEqual(len({r.index("B  alice ") for r in two}), 1, s.dump())
        self.assertEqual(len({re.search(r"  \d{4}-\d\d-\d\d ", r).start()
                              for r in two}), 1, s.dump())


MB = 1 << 20


class FolderResume(h.TuiCase):
    """A download interrupted by the client's exit goes on at the next
    start from its .part file, with a line saying so; /cancel stops it."""

    def start_download(self):
        """alice puts 16 MiB in the folder; bob's slowed download of it is
        cut by his /quit half way. Returns (bob's terminal, the bytes, the
        .part path, bob's command-line environment)."""
        a = self.login("alice")
        data = os.urandom(16 * MB)
        src = os.path.join(self.tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(data)
        a.line("/upload " + src)
        a.wait(lambda s: "big.bin: upload done on the server" in s.text,
               "the upload", timeout=h.T_WAIT * 3)
        down = os.path.join(self.tmp, "down")
        env = "XDG_STATE_HOME=%s" % os.path.join(self.tmp, "state-bob")
        b = self.login("bob", cmd_env=env + " PARLEY_TEST_RECV_DELAY_MS=150",
                       args="--download-dir " + down)
        b.line("/download big.bin")
        part = os.path.join(down, "big.bin.part")
        h.wait_until(lambda: os.path.exists(part) and
                     os.path.getsize(part) >= 2 * MB, h.T_WAIT * 2,
                     "2 MiB in the .part file")
        b.line("/quit")
        self.assertEqual(b.exit_status(), 0, b.stderr_text())
        have = os.path.getsize(part)
        self.assertLess(have, 16 * MB)
        return b, data, part, env, down, have

    @staticmethod
    def chat_text(s):
        """The chat rows joined into one line (the transfers pane below
        them has no separator, so chat_pane() would keep the users pane)."""
        return re.sub(r"\s*\n\s*", " ", "\n".join(
            r.split(h.SEP)[0].rstrip() for r in s.rows[1:-2]))

    def resumed_line(self, b, part):
        r = re.compile(r"resuming the download of big\.bin from the shared "
                       r"folder \(\d+(\.\d)? MiB of 16\.0 MiB in "
                       + re.escape(part) + r"\): /cancel (\d+) stops it")
        s = b.wait(lambda s: r.search(self.chat_text(s)),
                   "the line saying what resumes")
        return r, s

    def test_download_resumes_at_the_next_start(self):
        b, data, part, env, down, have = self.start_download()
        b.parley("bob", self.server.port, register=False, env=env,
                 extra="--download-dir " + down + " ")
        self.resumed_line(b, part)
        final = os.path.join(down, "big.bin")
        b.wait(lambda s: "big.bin.part" not in os.listdir(down) and
               os.path.exists(final), "the download finished",
               timeout=h.T_WAIT * 3)
        self.assertEqual(digest(final), hashlib.sha256(data).hexdigest())
        self.assertEqual(os.listdir(down), ["big.bin"])
        # Done: the next start resumes nothing.
        b.line("/quit")
        self.assertEqual(b.exit_status(), 0, b.stderr_text())
        s = b.parley("bob", self.server.port, register=False, env=env,
                     extra="--download-dir " + down + " ")
        b.line("/transfers")
        s = b.wait_text("no transfers in this session")
        self.assertNotIn("resuming", s.text, s.dump())

    def test_cancel_stops_the_resumed_download(self):
        b, data, part, env, down, have = self.start_download()
        b.parley("bob", self.server.port, register=False,
                 env=env + " PARLEY_TEST_RECV_DELAY_MS=1000",
                 extra="--download-dir " + down + " ")
        r, s = self.resumed_line(b, part)
        n = r.search(self.chat_text(s)).group(2)
        b.line("/cancel " + n)
        b.wait(lambda s: re.search(r"^big\.bin +from server .*cancelled",
                                   "\n".join(s.rows), re.M),
               "the cancelled row")
        h.wait_until(lambda: not os.path.exists(part), h.T_WAIT,
                     "the .part file removed")
        b.line("/quit")
        self.assertEqual(b.exit_status(), 0, b.stderr_text())
        b.parley("bob", self.server.port, register=False, env=env,
                 extra="--download-dir " + down + " ")
        b.line("/transfers")
        s = b.wait_text("no transfers in this session")
        self.assertNotIn("resuming", s.text, s.dump())


if __name__ == "__main__":
    h.main()
