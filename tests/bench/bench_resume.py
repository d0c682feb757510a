#!/usr/bin/env python3
"""bench_resume: what a TLS handshake costs parleyd, full against resumed
with a ticket from the parleyd that ran before a restart.

  PARLEYD=build-perf/src/server/parleyd PARLEY=build-perf/parley \\
      python3 tests/bench/bench_resume.py [N]

N (default 2000, at most 20000) handshakes each way, one after another from
this script on 127.0.0.1: first full ones (no session), then parleyd is
restarted on the same port and database and N more present the ticket the
first parleyd issued. Prints parleyd's CPU time per handshake (user+system,
from /proc) and its `tls` console counters. The rate is this Python
client's, not parleyd's limit: the CPU per handshake is the figure."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import RawConn, Server, tls_client_context  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handshakes(srv, n, session):
    """n handshakes (each closed at once); returns (seconds, server CPU s,
    how many resumed)."""
    ctx = tls_client_context()
    c0, t0, resumed = cpu_s(srv.pid), time.monotonic(), 0
    for _ in range(n):
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s = ctx.wrap_socket(raw, session=session)
        resumed += s.session_reused
        s.close()
    return time.monotonic() - t0, cpu_s(srv.pid) - c0, resumed


def report(what, n, took, cpu, resumed, srv):
    _, out, _ = srv.ctl("tls")
    print("%-8s %d handshakes (%d resumed) in %.2f s: %.0f/s from this "
          "client; parleyd CPU %.3f ms per handshake; ctl: %s" % (
              what, n, resumed, took, n / took, cpu * 1000 / n,
              out.splitlines()[0]))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    if not 1 <= n <= 20000:
        sys.exit("usage: bench_resume.py [N (1..20000)]")
    args = ("--log-level", "warn", "--hello-timeout", "30")
    with Server(*args) as srv:
        r = RawConn(srv.port)
        r.hello(version=3)  # the tickets come before WELCOME
        session = r.sock.session
        r.close()
        report("full", n, *handshakes(srv, n, None), srv)
        port = srv.port
        srv.stop()
        with Server(*args, listen="127.0.0.1:%d" % port,
                    tmp=srv.tmp) as srv2:
            report("resumed", n, *handshakes(srv2, n, session), srv2)
            srv2.stop()


if __name__ == "__main__":
    main()
