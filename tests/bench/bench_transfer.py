#!/usr/bin/env python3
"""The `transfer` benchmark (issue 10): prints figures, asserts nothing.

  PARLEYD=build/src/server/parleyd PARLEY=build/parley \\
      python3 tests/bench/bench_transfer.py [SIZE_MIB]

Use a release build. In one run, on loopback only:
  - raw loopback TCP between two sockets (the ceiling),
  - `openssl dgst -sha256` over the file (the hashing bound),
  - a verified transfer between two real `parley --batch` clients, direct,
  - the same forced through parleyd's relay (--relay-only), with parleyd's
    RSS sampled during it and a DM round of chat timed meanwhile,
  - an upload to parleyd's shared folder and a download from it (issue
    11), with parleyd's RSS sampled during each,
  - `scp -c aes128-gcm@openssh.com` of the file to 127.0.0.1 through a
    private sshd started for the run (its own config, a throw-away host
    key and client key, a loopback port chosen at run time; stopped and
    removed at the end), when openssh-server is installed (else skipped;
    `scripts/deps --bench` installs it and leaves its service stopped).
The file is random data (SIZE_MIB, default 1024) in a temp dir.

Before/after in one run: BASE_PARLEYD and BASE_PARLEY name an older build;
the parley transfers then alternate between the two builds (ROUNDS times,
default 1), so both see the same machine load. CPU seconds per GB of each
client (user + system, from /proc) are printed too: on a shared machine
they vary less than the wall time. SERVER_ARGS adds parleyd options (e.g.
"--history 0": no message is stored or synced, which shows how much of the
DM latency is the sync before delivery). ACCEPT_AFTER_S=S has the
receiver accept S seconds after the offer appeared (a person reading it)
instead of at once: the sender hashes the file meanwhile."""
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import harness  # noqa: E402
from harness import Server  # noqa: E402

MB = 1 << 20


def make_file(path, size):
    block = os.urandom(4 * MB)
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            chunk = (i.to_bytes(8, "big") + block)[:min(left, 4 * MB)]
            f.write(chunk)
            left -= len(chunk)
            i += 1


def raw_tcp(path, size):
    """Seconds to move the file over one loopback TCP connection."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    got = [0]

    def sink():
        c, _ = ls.accept()
        buf = bytearray(4 * MB)
        while True:
            n = c.recv_into(buf)
            if n == 0:
                break
            got[0] += n
        c.close()

    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    with open(path, "rb") as f:
        s.sendfile(f)
    s.shutdown(socket.SHUT_WR)
    t.join()
    dt = time.monotonic() - t0
    s.close()
    ls.close()
    assert got[0] == size
    return dt


def sha_openssl(path):
    t0 = time.monotonic()
    subprocess.run(["openssl", "dgst", "-sha256", path], check=True,
                   capture_output=True)
    return time.monotonic() - t0


SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: it needs its full path


def children_cpu():
    """User + system CPU seconds of the children waited for so far (with
    theirs: sshd's sessions, scp's ssh)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_until(cond, seconds):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def no_children(pid):
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                if f.read().strip():
                    return False
    except OSError:
        pass
    return True


SSHD_CONFIG = """ListenAddress 127.0.0.1:{port}
HostKey {d}/host
AuthorizedKeysFile {d}/authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers {user}
Subsystem sftp internal-sftp
"""


def scp(path, size, tmp):
    """`scp -c aes128-gcm@openssh.com` of the file to 127.0.0.1 through an
    sshd of our own (loopback, a port chosen now, keys made for the run),
    stopped before returning. Returns (seconds, CPU seconds of scp and its
    ssh, CPU seconds of sshd and its session), or why it was skipped."""
    for tool in (SSHD, "scp", "ssh-keygen"):
        if shutil.which(tool) is None:
            return "%s is not installed (scripts/deps --bench)" % tool
    d = os.path.join(tmp, "ssh")
    os.mkdir(d, 0o700)
    for key in ("host", "id"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        "parley-bench", "-f", os.path.join(d, key)],
                       check=True, timeout=60)
    shutil.copy(os.path.join(d, "id.pub"), os.path.join(d, "authorized_keys"))
    privsep = "/run/sshd"  # sshd started by root refuses to run without it
    made = os.geteuid() == 0 and not os.path.isdir(privsep)
    if made:
        os.mkdir(privsep, 0o755)
    sock = socket.socket()  # the port: free now; sshd binds it at once
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    conf = os.path.join(d, "sshd_config")
    with open(conf, "w") as f:
        f.write(SSHD_CONFIG.format(port=port, d=d,
                                   user=os.environ.get("USER") or
                                   __import__("pwd").getpwuid(
                                       os.getuid()).pw_name))
    dest = os.path.join(tmp, "scp.bin")
    log = open(os.path.join(d, "sshd.log"), "w")
    cpu0 = children_cpu()
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        if not wait_until(lambda: sshd.poll() is not None or port_open(port),
                          10) or sshd.poll() is not None:
            return "sshd did not start (see %s/sshd.log)" % d
        c0 = children_cpu()
        t0 = time.monotonic()
        r = subprocess.run(
            ["scp", "-q", "-F", "/dev/null", "-c", "aes128-gcm@openssh.com",
             "-i", os.path.join(d, "id"), "-P", str(port),
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=" + os.path.join(d, "known_hosts"),
             path, "127.0.0.1:" + dest], capture_output=True, timeout=900)
        t = time.monotonic() - t0
        c_scp = children_cpu() - c0
        if r.returncode != 0:
            return "scp failed: " + r.stderr.decode().strip()
        if os.path.getsize(dest) != size:
            return "scp: the copy has the wrong size"
        # The session ends just after scp: once sshd has reaped it, its CPU
        # time counts in sshd's, which we get when we reap sshd.
        wait_until(lambda: no_children(sshd.pid), 10)
    finally:
        sshd.terminate()
        try:
            sshd.wait(10)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait()
        log.close()
        if made:
            os.rmdir(privsep)
    return t, c_scp, children_cpu() - cpu0 - c_scp


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dm_round(a, b, tag, what):
    """Latencies (ms) of 50 DMs a -> b, one after the other."""
    lat = []
    for i in range(50):
        text = "ping-%s-%s-%d" % (what, tag, i)
        ts = time.monotonic()
        a.send("/msg bob%s %s" % (tag, text))
        b.expect({"event": "message", "text": text}, timeout=30)
        lat.append((time.monotonic() - ts) * 1000)
    return lat


def transfer(srv, path, size, relay, tag):
    """Seconds for a verified transfer alice -> bob; peak parleyd RSS
    growth (KiB) while it ran; DM latencies (ms) measured meanwhile; CPU
    seconds of the sender, the receiver, parleyd (its share: the relay's
    forwarding, and the DMs) and the sender's after the accept."""
    down = os.path.join(srv.tmp, "down-" + tag)
    extra = ("--relay-only",) if relay else ()
    a = srv.client("alice" + tag, register=True, args=extra)
    b = srv.client("bob" + tag, register=True,
                   args=("--download-dir", down) + extra)
    idle = dm_round(a, b, tag, "idle")  # the same, no transfer running
    base = rss_kib(srv.proc.pid)
    srv_cpu = cpu_s(srv.proc.pid)
    a.send("/send bob%s %s" % (tag, path))
    off = b.expect({"event": "offer"}, timeout=60)
    think = float(os.environ.get("ACCEPT_AFTER_S", "0"))
    if think > 0:  # a person reads the offer line (not a synchronisation)
        time.sleep(think)
    t0 = time.monotonic()
    a_cpu = cpu_s(a.proc.pid)  # before: what hashing while it waited cost
    b.send("/accept %d" % off["id"])
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(srv.proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    b.expect({"event": "transfer", "state": "active"}, timeout=60)
    lat = dm_round(a, b, tag, "busy")  # chat while the file moves
    done = b.expect({"event": "transfer", "state": "done"}, timeout=600)
    dt = time.monotonic() - t0
    stop.set()
    th.join()
    assert os.path.getsize(done["file"]) == size
    a.expect({"event": "transfer", "state": "done"}, timeout=60)
    cpu = (cpu_s(a.proc.pid), cpu_s(b.proc.pid),
           cpu_s(srv.proc.pid) - srv_cpu, cpu_s(a.proc.pid) - a_cpu)
    a.quit(0)
    b.quit(0)
    return dt, peak[0] - base, done.get("path", ""), lat, cpu, idle


def rss_during(srv, fn):
    """Runs fn(); returns (seconds, peak parleyd RSS growth in KiB)."""
    base = rss_kib(srv.proc.pid)
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(srv.proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    t0 = time.monotonic()
    fn()
    dt = time.monotonic() - t0
    stop.set()
    th.join()
    return dt, peak[0] - base


def folder(srv, path, size):
    """Upload to and download from the shared folder by a real `parley
    --batch`: ((seconds, RSS growth KiB) up, (seconds, growth) down)."""
    down = os.path.join(srv.tmp, "down-f")
    c = srv.client("carol", register=True, args=("--download-dir", down))

    def up():
        c.send("/upload %s" % path)
        c.expect({"event": "transfer", "state": "done", "direction": "send"},
                 timeout=600)

    def get():
        c.send("/download %s" % os.path.basename(path))
        d = c.expect({"event": "transfer", "state": "done",
                       "direction": "receive"}, timeout=600)
        assert os.path.getsize(d["file"]) == size

    res = rss_during(srv, up), rss_during(srv, get)
    c.quit(0)
    return res


def main():
    tmp = tempfile.mkdtemp(prefix="parley-bench-")
    try:
        run(tmp)
    finally:  # the file, scp's copy and keys go whatever happened
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    size = int(sys.argv[1]) * MB if len(sys.argv) > 1 else 1024 * MB
    path = os.path.join(tmp, "data.bin")
    make_file(path, size)
    gb = size / 1e9
    print("file: %d MiB of random data" % (size // MB))
    t = raw_tcp(path, size)
    print("raw loopback TCP:        %6.2f s  %6.2f GB/s" % (t, gb / t))
    t_sha = sha_openssl(path)
    print("openssl dgst -sha256:    %6.2f s  %6.2f GB/s" % (t_sha, gb / t_sha))
    r = scp(path, size, tmp)
    if isinstance(r, str):
        print("scp: skipped: " + r)
        t_scp = None
    else:
        t_scp = r[0]
        print("scp -c aes128-gcm (own sshd): %6.2f s  %6.2f GB/s  CPU s/GB "
              "scp+ssh %.2f sshd %.2f" % (t_scp, gb / t_scp, r[1] / gb,
                                          r[2] / gb))
    builds = [("", harness.PARLEYD, harness.PARLEY)]
    if os.environ.get("BASE_PARLEYD") and os.environ.get("BASE_PARLEY"):
        builds.insert(0, ("base ", os.environ["BASE_PARLEYD"],
                          os.environ["BASE_PARLEY"]))
    # Over TLS (the default: file data end to end, relay legs TLS too)
    # and plain (--insecure-plaintext on both sides), one after the other.
    wires = [("tls ", ()), ("plain ", ("--insecure-plaintext",))]
    for rnd in range(int(os.environ.get("ROUNDS", "1"))):
        for (label, parleyd, parley), (wire, wire_args) in (
                (b, w) for b in builds for w in wires):
            harness.PARLEYD, harness.PARLEY = parleyd, parley
            with Server("--max-file-size", str(size * 2), "--flood-rate",
                        "100000", "--flood-burst", "100000",
                        *(("--folder-quota", "0") if label == "" else ()),
                        *wire_args,
                        *os.environ.get("SERVER_ARGS", "").split()) as srv:
                for relay, tag in ((False, "d"), (True, "r")):
                    t, grow, p, lat, cpu, idle = transfer(
                        srv, path, size, relay, "%s%d" % (tag, rnd))
                    q = statistics.quantiles(lat, n=100)
                    qi = statistics.quantiles(idle, n=100)
                    print("%s%sparley %-7s (%s):  %6.2f s  %6.2f GB/s  (%.2f x "
                          "SHA-256)  CPU s/GB sender %.2f (%.2f after the "
                          "accept) receiver %.2f parleyd %.2f  parleyd RSS "
                          "+%d KiB  DM during it: p50 %.1f ms, p99 %.1f ms "
                          "(before it: %.1f, %.1f)" % (
                              label, wire, "relay" if relay else "direct", p,
                              t, gb / t, t_sha / t, cpu[0] / gb, cpu[3] / gb,
                              cpu[1] / gb, cpu[2] / gb, grow,
                              statistics.median(lat), q[98], qi[49], qi[98]))
                    if t_scp and relay is False and wire == "tls ":
                        print("%stls direct / scp: %.2f x" % (label,
                                                              t_scp / t))
                if label == "":  # the base build may have no folder
                    for what, (t, grow) in zip(("upload", "download"),
                                               folder(srv, path, size)):
                        print("folder %-8s:         %6.2f s  %6.2f GB/s  (%.2f"
                              " x SHA-256)  parleyd RSS +%d KiB" %
                              (what, t, gb / t, t_sha / t, grow))
                srv.stop()


if __name__ == "__main__":
    main()
