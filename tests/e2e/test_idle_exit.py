"""--idle-exit: the server stops cleanly on its own once nobody is left."""
import unittest

from harness import Server, main


class IdleExit(unittest.TestCase):
    def test_exits_after_last_client_leaves(self):
        # 3 s: long enough for the first raw connection (made right after
        # "listening on") to arrive, short enough to keep the suite fast.
        with Server("--idle-exit", 3) as srv:
            r = srv.raw()
            r.login("keeper", register=True)
            a = srv.client("alice", register=True)
            a.expect({"event": "joined", "room": "#lobby"})
            r.close()
            a.expect({"event": "notice", "kind": "quit", "user": "keeper"})
            # alice is still connected: the server must still be there.
            a.send("still here")
            a.expect({"event": "message", "text": "still here"})
            self.assertIsNone(srv.proc.poll(), "exited with a client on")
            a.quit(0)
            srv.wait_exit(timeout=20, status=0)

    def test_exits_when_nobody_ever_came(self):
        with Server("--idle-exit", 1) as srv:
            srv.wait_exit(timeout=20, status=0)

    def test_off_by_default(self):
        # Without --idle-exit the server stays: a client after a while (the
        # time a first client takes to register and quit) is still served.
        with Server() as srv:
            srv.client("alice", register=True).quit(0)
            srv.client("alice").quit(0)
            self.assertIsNone(srv.proc.poll())
            srv.stop()


if __name__ == "__main__":
    main()
