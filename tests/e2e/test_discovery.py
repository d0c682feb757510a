"""LAN discovery: DISCOVER over UDP answered with ANNOUNCE; parley --scan."""
import socket
import subprocess
import unittest

from harness import (PARLEY, T_EVENT, Server, discover, encode, main,
                     sanitizer_report)


class Discovery(unittest.TestCase):
    def test_announce(self):
        with Server(discovery=True, name="lan-srv") as srv:
            self.assertTrue(srv.udp_port)
            a = discover(srv.udp_port, nonce=0xABCDEF0102030405)
            self.assertEqual(a["type"], "ANNOUNCE", a)
            self.assertEqual(a["version"], 3)
            self.assertEqual(a["nonce"], 0xABCDEF0102030405)
            self.assertEqual(a["server_name"], "lan-srv")
            self.assertEqual(a["port"], srv.port)
            self.assertIn(a["addr"], ("", "127.0.0.1"))
            self.assertEqual(a["users"], 0)
            c = srv.client("alice", register=True)
            a = discover(srv.udp_port, nonce=2)
            self.assertEqual((a["nonce"], a["users"]), (2, 1))
            c.quit(0)
            srv.stop()

    def test_garbage_ignored(self):
        with Server(discovery=True) as srv:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            for junk in (b"", b"\x00", b"hello world",
                         b"\x7f\xff\xff\xff\x09\x01",
                         encode("DISCOVER", version=1, nonce=1)[:-1],
                         encode("HELLO", version=1, agent="x")):
                s.sendto(junk, ("127.0.0.1", srv.udp_port))
            s.close()
            # Still answering after the junk (the answer to the real probe
            # is the proof the junk was read first and survived).
            a = discover(srv.udp_port, nonce=77)
            self.assertEqual(a["nonce"], 77)
            srv.stop()

    def test_reflection_limit(self):
        """A flood of probes from one source address gets a burst of 5
        answers, however many ports it uses; another address still gets
        its own answer (PROTOCOL.md 7.8, anti-reflection)."""
        with Server(discovery=True) as srv:
            to = ("127.0.0.1", srv.udp_port)
            flood = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                     for _ in range(2)]
            for s in flood:
                s.bind(("127.0.0.1", 0))
                s.setblocking(False)
            for i in range(30):
                flood[i % 2].sendto(encode("DISCOVER", version=1,
                                           nonce=1000 + i), to)
            # Datagrams are read in order: once the probe from another
            # address is answered, every flood probe has been handled.
            other = discover(srv.udp_port, nonce=4242, bind="127.0.0.2")
            self.assertEqual(other["nonce"], 4242)
            got = 0
            for s in flood:
                while True:
                    try:
                        s.recvfrom(2048)
                        got += 1
                    except BlockingIOError:
                        break
                s.close()
            # A burst of 5; a sixth only if a second passed mid-flood.
            self.assertGreaterEqual(got, 5)
            self.assertLessEqual(got, 6, "%d answers to 30 probes" % got)
            srv.stop()

    def test_no_discovery(self):
        with Server() as srv:
            with srv.raw() as r:
                self.assertEqual(r.hello()["type"], "WELCOME")
            self.assertFalse(any("discovery on" in l for l in srv.out.lines))
            srv.stop()

    def test_parley_scan(self):
        with Server(discovery=True, name="scan-me") as srv:
            p = subprocess.run([PARLEY, "--scan", "--scan-to", "127.0.0.1",
                                "--scan-port", str(srv.udp_port),
                                "--timeout", "1000"],
                               capture_output=True, timeout=T_EVENT + 10)
            out = p.stdout.decode(errors="replace")
            err = p.stderr.decode(errors="replace")
            self.assertEqual(sanitizer_report(err.splitlines()), "")
            if p.returncode == 2 and "scan-port" in err:
                self.skipTest("parley has no --scan-port: " + err.strip())
            self.assertEqual(p.returncode, 0, out + err)
            lines = [l for l in out.splitlines() if "scan-me" in l]
            self.assertTrue(lines, "scan output lacks the server:\n" + out +
                            err)
            self.assertIn(str(srv.port), lines[0])
            srv.stop()

    def test_batch_scan(self):
        with Server(discovery=True, name="scan-batch") as srv:
            c = srv.client("alice", register=True,
                           args=["--scan-to", "127.0.0.1",
                                 "--scan-port", srv.udp_port])
            c.send("/scan")
            ev = c.expect({"event": "servers"}, timeout=T_EVENT + 5)
            names = {s["name"]: s for s in ev["servers"]}
            self.assertIn("scan-batch", names, ev)
            self.assertEqual(names["scan-batch"]["port"], srv.port)
            # `/scan ADDR:PORT` names its own targets; a bad one is a usage
            # error and sends nothing.
            c.send("/scan 127.0.0.1:%d" % srv.udp_port)
            ev = c.expect({"event": "servers"}, timeout=T_EVENT + 5)
            self.assertIn("scan-batch", [s["name"] for s in ev["servers"]])
            c.send("/scan example.org")
            ev = c.expect({"event": "error"})
            self.assertEqual(ev["name"], "USAGE", ev)
            self.assertIn("/scan [ADDR", ev["text"])
            c.quit(0)
            srv.stop()


if __name__ == "__main__":
    main()
