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
        s = a.wait(lambda s: q.search(s.rows[-1]), "the question")
        # The upload that asked is not a failure: its row says cancelled.
        s = a.wait(lambda s: re.search(r"^report\.pdf +to server .*cancelled",
                                       "\n".join(s.rows), re.M),
                   "the asked upload's row")
        self.assertNotIn("failed", s.text, s.dump())
        a.type("n")
        a.wait(lambda s: not q.search(s.rows[-1])
               and "report.pdf: left as it is" in s.text, "the answer no")
        self.assertEqual(os.path.getsize(stored), 3 * (1 << 20))
        # yes replaces it
        a.line("/put " + one)
        a.wait(lambda s: q.search(s.rows[-1]), "the question again")
        a.type("y")
        a.wait(lambda s: s.text.count("report.pdf: upload done on the "
                                      "server") == 2, "the replacement")
        self.assertEqual(digest(stored), digest(one))
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
