"""Config file, --help, option errors, and what the log must not hold."""
import os
import subprocess
import tempfile
import unittest

from harness import PARLEY, PARLEYD, T_EXIT, Server, main, sanitizer_report

CONTRACT_OPTIONS = ["--listen", "--db", "--files", "--config", "--name",
                    "--log", "--log-level", "--no-register", "--max-clients",
                    "--max-msg-chars", "--max-rooms", "--history",
                    "--flood-rate", "--flood-burst", "--outbuf-hard",
                    "--outbuf-soft", "--outbuf-soft-seconds", "--idle-exit",
                    "--discovery-port", "--no-discovery", "--pwhash"]


def run(argv, stdin=b""):
    p = subprocess.run(argv, input=stdin, capture_output=True,
                       timeout=T_EXIT)
    err = p.stderr.decode(errors="replace")
    rep = sanitizer_report(err.splitlines())
    assert not rep, "%s reported:\n%s" % (" ".join(argv), rep)
    return p.returncode, p.stdout.decode(errors="replace"), err


class Config(unittest.TestCase):
    def test_help_documents_options(self):
        rc, out, err = run([PARLEYD, "--help"])
        self.assertEqual(rc, 0, err)
        for o in CONTRACT_OPTIONS:
            self.assertIn(o, out, "parleyd --help lacks " + o)
        self.assertIn("7667", out)
        rc, out, err = run([PARLEY, "--help"])
        self.assertEqual(rc, 0, err)
        for o in ("--batch", "--scan", "--scan-to", "--register",
                  "--password-file",
                  "--no-reconnect", "--timeout"):
            self.assertIn(o, out, "parley --help lacks " + o)
        rc, out, err = run([PARLEY, "--version"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.strip())

    def test_bad_options_refused(self):
        for bad in (["--max-clients", "many"], ["--bogus"],
                    ["--pwhash", "fast"], ["--listen", "nowhere"]):
            rc, out, err = run([PARLEYD] + bad + ["--db", "/nonexistent/x",
                                                  "--no-discovery"])
            self.assertNotEqual(rc, 0, bad)
            self.assertTrue(err.strip(), "a message for %r" % bad)

    def test_empty_db_refused(self):
        # SQLite would open "" as a temporary database: every account
        # lost at exit. A usage error instead, for the server and the
        # account commands alike, on the command line and in a file.
        for argv in (["--db", ""], ["--db=", "user", "list"]):
            rc, out, err = run([PARLEYD, "--no-discovery",
                                "--listen", "127.0.0.1:0"] + argv)
            self.assertEqual(rc, 2, "%r: %s" % (argv, err))
            self.assertIn("--db needs a file name", err)
            self.assertNotIn("listening", out)
        with tempfile.TemporaryDirectory(prefix="parley-e2e-") as tmp:
            cfg = os.path.join(tmp, "parleyd.conf")
            with open(cfg, "w") as f:
                f.write("[server]\ndb =\n")
            rc, out, err = run([PARLEYD, "--config", cfg, "--no-discovery",
                                "--listen", "127.0.0.1:0"])
            self.assertEqual(rc, 2, err)
            self.assertIn("--db needs a file name", err)

    def test_config_file_and_override(self):
        srv = Server(start=False)
        with srv:
            cfg = os.path.join(srv.tmp, "parleyd.conf")
            with open(cfg, "w") as f:
                f.write("[server]\nname = from-config\nmax-msg-chars = 100\n"
                        "history = 5\nmax-rooms = 4\n")
            # --name from the harness would override; drop it.
            i = srv.argv.index("--name")
            del srv.argv[i:i + 2]
            srv.argv += ["--config", cfg, "--max-msg-chars", "50"]
            srv.start()
            with srv.raw() as r:
                w = r.hello()
                self.assertEqual(w["server_name"], "from-config")
                self.assertEqual(w["history_len"], 5)
                self.assertEqual(w["max_rooms"], 4)
                self.assertEqual(w["max_msg_chars"], 50)  # command line wins
            srv.stop()

    def test_log_has_no_secrets(self):
        secret_pw = "Zq9-very-secret-pw"
        secret_text = "confidential-text-4711"
        srv = Server(start=False)
        with srv:
            log = os.path.join(srv.tmp, "parleyd.log")
            srv.argv += ["--log", log]
            srv.start()
            a = srv.client("alice", password=secret_pw, register=True)
            b = srv.client("bob", register=True)
            a.send(secret_text)
            b.expect({"event": "message", "text": secret_text})
            a.send("/msg bob " + secret_text + "-dm")
            b.expect({"event": "message", "text": secret_text + "-dm"})
            bad = srv.client("alice", password=secret_pw + "x",
                             wait_connected=False)
            bad.wait(3)
            a.quit(0)
            b.quit(0)
            srv.stop()
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
            self.assertIn("alice", text)  # it does log the events
            for s in (secret_pw, secret_text):
                self.assertNotIn(s, text)
                self.assertFalse(any(s in l for l in srv.err.lines))
                self.assertFalse(any(s in l for l in srv.out.lines))


if __name__ == "__main__":
    main()
