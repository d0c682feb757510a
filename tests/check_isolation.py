#!/usr/bin/env python3
"""The suite's first test: is it running in a private network namespace
with only loopback? (issue "Nothing leaves the machine").

scripts/test runs the suite under `unshare --net --mount`, remounts /sys so
that /sys/class/net lists the namespace's own interfaces, brings `lo` up and
sets PARLEY_NETNS=1. Then this test FAILS unless `lo` is the only interface
and a route to a non-loopback address is refused. It proves it without
sending anything: connect() on a UDP socket only looks up a route.

Run by hand (`meson test` outside the namespace) it says so and SKIPS
(exit 77, meson's skip code)."""
import errno
import os
import socket
import sys


def main():
    ifaces = sorted(os.listdir("/sys/class/net"))
    if os.environ.get("PARLEY_NETNS") != "1":
        print("not inside scripts/test's network namespace (interfaces: %s);"
              " run scripts/test for the isolated suite. SKIP" %
              ", ".join(ifaces))
        return 77
    if ifaces != ["lo"]:
        print("FAIL: the suite must see only 'lo', it sees: %s" %
              ", ".join(ifaces))
        return 1
    with open("/sys/class/net/lo/flags") as f:
        if not int(f.read(), 16) & 1:  # IFF_UP
            print("FAIL: lo is down")
            return 1
    for fam, addr in ((socket.AF_INET, ("192.0.2.1", 9)),  # TEST-NET-1
                      (socket.AF_INET6, ("2001:db8::1", 9))):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.connect(addr)  # a route lookup; no packet is sent
            print("FAIL: a route to %s exists" % addr[0])
            return 1
        except OSError as e:
            if e.errno not in (errno.ENETUNREACH, errno.EADDRNOTAVAIL,
                               errno.EHOSTUNREACH):
                print("FAIL: unexpected error for %s: %s" % (addr[0], e))
                return 1
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", 9))  # loopback must still route
    s.close()
    print("isolated: only lo, no route off the machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
