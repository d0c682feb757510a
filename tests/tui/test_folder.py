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


if __name__ == "__main__":
    h.main()
