/* bench_fanout.c: room fan-out, join and idle-memory benchmark for parleyd.
 *
 * Logs in N receivers and one sender (pipelined, all auto-join #lobby),
 * then measures, against a running parleyd:
 *   - login storm: time for all N+1 to log in and the notice storm to end;
 *   - idle memory: the server's RSS delta per logged-in client (-p PID);
 *   - join (-j): time for all N receivers to JOIN a fresh room and for the
 *     N(N-1)/2 join notices to arrive;
 *   - fan-out: a sender thread says M messages to #lobby with its
 *     monotonic send time in the text, keeping at most W messages in flight
 *     (counted by its own echoes) or pacing at R messages/s (-r); one
 *     receiver thread reads every receiver socket with epoll into a 1 MiB
 *     buffer and records the latency of each delivery. Reported:
 *     deliveries/s, latency p50/p90/p99/p99.9/max, and the CPU seconds of
 *     the server (-p) and of the benchmark over the fan-out phase, and
 *     the headline: server CPU microseconds per delivery;
 *   - senders (-S): that many sender threads share the messages, as the
 *     IRC servers were measured (10 senders);
 *   - login bytes: what the last client to log in received from LOGIN_OK
 *     to WHO_END, per user online (the cost of the user list);
 *   - presence churn (-P RATE -D S): clients change status RATE times a
 *     second for S seconds while everyone is online; the server's CPU.
 *   - protocol version (-V): 2 gives the per-change frames of older
 *     clients, for a before/after against one server.
 *   - TLS (-T): every client speaks TLS 1.3 (the server's default), with
 *     non-blocking handshakes; it trusts any certificate (a load
 *     generator against the parleyd it was pointed at).
 *   - reconnect storm (-R CMD), instead of the fan-out: once all are
 *     logged in, CMD restarts the server (same port and database) and
 *     prints its pid; all reconnect and log in by session token, offering
 *     their TLS tickets. Reports the seconds until all are back, the new
 *     server's CPU and the resumed handshakes. run_fanout.sh RESTART=1.
 *
 * Start the server without flood limits, ideally pinned to another CPU:
 *
 *   taskset -c 0 parleyd --listen 127.0.0.1:0 --db /tmp/b.db --pwhash min \
 *     --no-discovery --max-clients 6000 --flood-rate 1000000 \
 *     --flood-burst 1000000 --log-level warn &
 *   bench_fanout -p $(pidof parleyd) -c 1 [-n 1000] [-m 3000] [-w 16] \
 *     [-r RATE] [-j] PORT
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proto.h"

#define BENCH_SCRATCH (1 << 20)  /* receive buffer shared by every socket */
#define BENCH_LOGIN_INFLIGHT 256 /* logins pipelined at once (-F) */
#define BENCH_INFLIGHT_MAX 4096  /* -F at most: a bounded burst */
#define BENCH_QUIET_MS 300       /* a phase is over after this much silence */

#define BENCH_MAX_SENDERS 64

typedef struct peer {
  int fd;
  SSL *ssl;            /* -T: the client's TLS connection, else NULL */
  SSL_SESSION *ticket; /* -T: the newest ticket the server gave it */
  uint8_t *pend;       /* -T: frames said before the handshake ended */
  uint32_t npend;
  bool secure;   /* -T: handshake done (plain: always) */
  bool token_ok; /* token holds LOGIN_OK's session token */
  uint8_t token[PROTO_TOKEN_LEN];
  uint64_t login_bytes; /* received until WHO_END */
  uint8_t *left;        /* partial frame carried to the next read */
  uint32_t nleft, capleft;
  bool logged_in; /* WHO_END seen */
  bool joined;    /* JOINED for the join test seen */
} peer;

static struct {
  int port, n, msgs, window, cpu, pid;
  double rate; /* messages/s; 0: window mode */
  bool join;
  int senders;          /* sender threads (-S), peers 0..senders-1 */
  int version;          /* HELLO version (-V) */
  double churn;         /* presence changes/s (-P); 0: no churn phase */
  int churn_s;          /* seconds of churn (-D) */
  uint64_t list_frames; /* PRESENCE_LIST frames seen */
  int hold;             /* seconds to stay idle after login, for inspection */
  bool spin; /* receivers busy-poll instead of sleeping in epoll_wait */
  bool tls;  /* -T: clients speak TLS 1.3 */
  const char *restart; /* -R: the command that restarts the server */
  int inflight;        /* -F: logins in flight at once */
  peer *ps;
  int ep;
  uint8_t *scratch;
  /* counters of the current phase */
  uint64_t frames, live, join_notices, joined, logged;
  uint32_t *lat; /* per-delivery latency, microseconds */
  uint64_t nlat, caplat;
  atomic_uint_fast64_t echoed[BENCH_MAX_SENDERS]; /* own MSGs back */
  char (*names)[33];                              /* every client's name */
  char room[40];
} b;

/* Monotonic nanoseconds. */
static uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Dies with a message. */
static void bench_die(const char *what) {
  perror(what);
  exit(1);
}

/* The client side's I/O, chosen once (-T): plain TCP or TLS 1.3, so that
 * the plain path stays as it was and no read or write asks which. */
typedef struct bench_io {
  /* A connected non-blocking socket p->fd becomes usable: plain at once,
   * TLS sends its ClientHello (frames said meanwhile wait in p->pend). */
  void (*start)(peer *p);
  /* Up to n bytes: > 0, 0 at the end, -1 with errno (EAGAIN: none yet). */
  ssize_t (*read)(peer *p, uint8_t *buf, size_t n);
  /* Up to n bytes: > 0, or -1 with errno (EAGAIN: try again). */
  ssize_t (*write)(peer *p, const uint8_t *buf, size_t n);
  void (*close)(peer *p); /* the connection; -T keeps p->ticket */
} bench_io;

static const bench_io *bench_io_of; /* bench_plain or bench_tls */

/* Writes all of buf, retrying while the socket is full (bounded by the
 * server reading: it always does). */
static void bench_write_all(peer *p, const uint8_t *buf, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t w = bench_io_of->write(p, buf + off, n - off);
    if (w < 0 && errno != EINTR && errno != EAGAIN)
      bench_die("write");
    if (w > 0)
      off += (size_t)w;
  }
}

/* Encodes and writes one message on a blocking or non-blocking socket;
 * before the TLS handshake has ended it waits in p->pend. */
static void bench_send(peer *p, const proto_msg *m) {
  uint8_t buf[8192];
  ssize_t n = proto_encode(m, buf, sizeof buf);
  if (n < 0) {
    fprintf(stderr, "encode: %s\n", proto_strerror((int)n));
    exit(1);
  }
  if (p->secure) {
    bench_write_all(p, buf, (size_t)n);
    return;
  }
  uint8_t *q = realloc(p->pend, p->npend + (size_t)n);
  if (q == NULL)
    bench_die("realloc");
  memcpy(q + p->npend, buf, (size_t)n);
  p->pend = q;
  p->npend += (uint32_t)n;
}

static void bench_plain_start(peer *p) {
  p->secure = true;
}

static ssize_t bench_plain_read(peer *p, uint8_t *buf, size_t n) {
  return read(p->fd, buf, n);
}

static ssize_t bench_plain_write(peer *p, const uint8_t *buf, size_t n) {
  return write(p->fd, buf, n);
}

static void bench_plain_close(peer *p) {
  close(p->fd);
  p->fd = -1;
}

static const bench_io bench_plain = {bench_plain_start, bench_plain_read,
                                     bench_plain_write, bench_plain_close};

/* The client context of -T. It trusts any server certificate: this is a
 * load generator talking to the parleyd it started on loopback, and what
 * it measures is the server's cost, not who the server is. */
static SSL_CTX *bench_ssl_ctx;

/* Dies with OpenSSL's reason. */
static void bench_ssl_die(const char *what) {
  unsigned long e = ERR_peek_last_error();
  fprintf(stderr, "%s: %s\n", what,
          e != 0 ? ERR_reason_error_string(e) : strerror(errno));
  exit(1);
}

/* Keeps a connection's newest ticket, to offer when it reconnects (-R). */
static int bench_on_ticket(SSL *ssl, SSL_SESSION *sess) {
  peer *p = SSL_get_app_data(ssl);
  if (p->ticket != NULL)
    SSL_SESSION_free(p->ticket);
  p->ticket = sess;
  return 1; /* the reference is ours now */
}

/* Advances p's handshake; once it is over, the frames said meanwhile go
 * out. A handshake only waits for the server's flight (WANT_READ): its
 * own flights are small and the socket's buffer is empty then. */
static void bench_tls_handshake(peer *p) {
  ERR_clear_error();
  int r = SSL_do_handshake(p->ssl);
  if (r != 1) {
    int e = SSL_get_error(p->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return;
    bench_ssl_die("TLS handshake");
  }
  p->secure = true;
  if (p->npend > 0)
    bench_write_all(p, p->pend, p->npend);
  free(p->pend);
  p->pend = NULL;
  p->npend = 0;
}

static void bench_tls_start(peer *p) {
  p->ssl = SSL_new(bench_ssl_ctx);
  if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1)
    bench_ssl_die("SSL_new");
  SSL_set_app_data(p->ssl, p);
  if (p->ticket != NULL && SSL_set_session(p->ssl, p->ticket) != 1)
    bench_ssl_die("SSL_set_session");
  SSL_set_connect_state(p->ssl);
  p->secure = false;
  bench_tls_handshake(p);
}

/* Decrypts what the socket has, up to n bytes: record after record while
 * OpenSSL holds more (read-ahead), so one call drains a batch the way
 * one read() does in plain mode, and a blocking sender's socket is not
 * waited on once something was read. */
static ssize_t bench_tls_read(peer *p, uint8_t *buf, size_t n) {
  if (!p->secure) {
    bench_tls_handshake(p);
    if (!p->secure) {
      errno = EAGAIN;
      return -1;
    }
  }
  size_t got = 0;
  while (got < n) {
    ERR_clear_error();
    int want = n - got > INT32_MAX ? INT32_MAX : (int)(n - got);
    int r = SSL_read(p->ssl, buf + got, want);
    if (r > 0) {
      got += (size_t)r;
      if (!SSL_has_pending(p->ssl))
        break;
      continue;
    }
    int e = SSL_get_error(p->ssl, r);
    if (got > 0)
      break;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN ||
        (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0))
      return 0; /* close_notify or a plain EOF */
    if (e == SSL_ERROR_SSL) {
      unsigned long x = ERR_peek_last_error();
      fprintf(stderr, "TLS read: %s\n",
              x != 0 ? ERR_reason_error_string(x) : "error");
      errno = EPROTO;
    }
    return -1;
  }
  return (ssize_t)got;
}

static ssize_t bench_tls_write(peer *p, const uint8_t *buf, size_t n) {
  ERR_clear_error();
  int r = SSL_write(p->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
  if (r > 0)
    return r;
  int e = SSL_get_error(p->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN; /* SSL_write is then retried with the same bytes */
    return -1;
  }
  bench_ssl_die("TLS write");
  return -1;
}

static void bench_tls_close(peer *p) {
  /* No close_notify (the server sees the EOF), but marked as shut down:
   * OpenSSL takes a connection freed without that for a failed one and
   * makes its session (the ticket kept) unresumable. */
  SSL_set_shutdown(p->ssl, SSL_SENT_SHUTDOWN);
  SSL_free(p->ssl);
  p->ssl = NULL;
  free(p->pend);
  p->pend = NULL;
  p->npend = 0;
  bench_plain_close(p);
}

static const bench_io bench_tls = {bench_tls_start, bench_tls_read,
                                   bench_tls_write, bench_tls_close};

/* The -T context: TLS 1.3, AES-128-GCM first as parleyd prefers, a ticket
 * kept per connection (bench_on_ticket), read-ahead so a batch of
 * records costs one read(), buffers released while idle. */
static void bench_tls_setup(void) {
  bench_ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (bench_ssl_ctx == NULL ||
      !SSL_CTX_set_min_proto_version(bench_ssl_ctx, TLS1_3_VERSION))
    bench_ssl_die("SSL_CTX_new");
  SSL_CTX_set_verify(bench_ssl_ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(
      bench_ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(bench_ssl_ctx, bench_on_ticket);
  SSL_CTX_set_read_ahead(bench_ssl_ctx, 1);
  SSL_CTX_set_default_read_buffer_len(bench_ssl_ctx, 64 * 1024);
  SSL_CTX_set_mode(bench_ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* Reads the server's RSS in KiB from /proc/PID/status; 0 when unknown. */
static long bench_rss_kb(int pid) {
  if (pid <= 0)
    return 0;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  long kb = 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

/* The server's user+system CPU seconds (all threads) from /proc/PID/stat. */
static double bench_cpu_of(int pid) {
  if (pid <= 0)
    return 0;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut = 0, st = 0;
  if (p == NULL || sscanf(p + 2,
                          "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                          "%*u %lu %lu",
                          &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The server's write calls and bytes written so far (all threads, sockets
 * included) from /proc/PID/io; false when unknown. Each write is a loop
 * pass's flush to one client: what coalescing saves shows here. */
static bool bench_io_of_pid(int pid, unsigned long long *calls,
                            unsigned long long *bytes) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/%d/io", pid);
  FILE *f = pid > 0 ? fopen(path, "r") : NULL;
  if (f == NULL)
    return false;
  int got = 0;
  while (fgets(line, sizeof line, f) != NULL)
    got +=
        sscanf(line, "wchar: %llu", bytes) + sscanf(line, "syscw: %llu", calls);
  fclose(f);
  return got == 2;
}

/* Fills busy[i] and total[i] (clock ticks) for up to max CPUs from
 * /proc/stat; returns the CPU count. Softirq time spent outside any
 * process (ksoftirqd, loopback delivery) only shows up here. */
static int bench_cpus(unsigned long long *busy, unsigned long long *total,
                      int max) {
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL)
    return 0;
  char line[512];
  int n = 0;
  while (n < max && fgets(line, sizeof line, f) != NULL) {
    unsigned long long v[8] = {0};
    int cpu;
    if (strncmp(line, "cpu", 3) != 0 || line[3] == ' ')
      continue; /* the first line sums every CPU */
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9)
      continue;
    total[n] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    busy[n] = total[n] - v[3] - v[4]; /* minus idle and iowait */
    n++;
  }
  fclose(f);
  return n;
}

/* This process's user+system CPU seconds. */
static double bench_cpu_self(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Handles one decoded frame of receiver p at time now. */
static void bench_frame(peer *p, const proto_msg *m, uint64_t now) {
  b.frames++;
  switch (m->type) {
  case PROTO_MSG:
    if (m->u.msg.flags & PROTO_MSGF_BACKLOG || m->u.msg.text.n == 0 ||
        m->u.msg.text.p[0] < '0' || m->u.msg.text.p[0] > '9')
      return;
    b.live++;
    if (b.nlat < b.caplat) {
      char num[24];
      size_t k = m->u.msg.text.n < 23 ? m->u.msg.text.n : 23;
      memcpy(num, m->u.msg.text.p, k);
      num[k] = '\0';
      uint64_t sent = strtoull(num, NULL, 10);
      uint64_t us = now > sent ? (now - sent) / 1000 : 0;
      b.lat[b.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
    return;
  case PROTO_LOGIN_OK:
    if (m->u.login_ok.token.n == PROTO_TOKEN_LEN) {
      memcpy(p->token, m->u.login_ok.token.p, PROTO_TOKEN_LEN);
      p->token_ok = true;
    }
    return;
  case PROTO_WHO_END:
    if (!p->logged_in) {
      p->logged_in = true;
      b.logged++;
    }
    return;
  case PROTO_JOINED:
    if (!p->joined && b.room[0] != '\0' &&
        m->u.joined.room.n == strlen(b.room) &&
        memcmp(m->u.joined.room.p, b.room, m->u.joined.room.n) == 0) {
      p->joined = true;
      b.joined++;
    }
    return;
  case PROTO_NOTICE:
    if (m->u.notice.kind == PROTO_NOTICE_JOINED && b.room[0] != '\0' &&
        m->u.notice.room.n == strlen(b.room) &&
        memcmp(m->u.notice.room.p, b.room, m->u.notice.room.n) == 0)
      b.join_notices++;
    return;
  case PROTO_ROOM_EVENTS:
    if (b.room[0] != '\0' && m->u.room_events.room.n == strlen(b.room) &&
        memcmp(m->u.room_events.room.p, b.room, m->u.room_events.room.n) == 0) {
      size_t off = 0;
      proto_notice n;
      while (proto_revents_next(m->u.room_events.entries, &off, &n) > 0)
        if (n.kind == PROTO_NOTICE_JOINED)
          b.join_notices++;
    }
    return;
  case PROTO_PRESENCE_LIST:
    b.list_frames++;
    return;
  case PROTO_ERROR:
    fprintf(stderr, "server error %u: %.*s\n", m->u.error.code,
            (int)m->u.error.text.n, m->u.error.text.p);
    return;
  default:
    return;
  }
}

/* A whole PRESENCE_LIST frame, or a ROOM_EVENTS one while no join test
 * counts notices, at the front of buf is counted and stepped over (*off
 * moves past it) without decoding: the decoder checks every entry of
 * every list, which made it a fifth of the benchmark's CPU in a storm of
 * logins, whose lists (the user list at login, each interval's changes to
 * everyone) are what the server sends most. Returns whether it did. */
static bool bench_skip_list(const uint8_t *buf, size_t len, size_t *off) {
  if (len < PROTO_HEADER + 2)
    return false;
  uint32_t flen = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                  (uint32_t)buf[2] << 8 | buf[3];
  uint16_t type = (uint16_t)(buf[4] << 8 | buf[5]);
  if (flen > PROTO_MAX_FRAME || len < PROTO_HEADER + (size_t)flen ||
      (type != PROTO_PRESENCE_LIST &&
       (type != PROTO_ROOM_EVENTS || b.room[0] != '\0')))
    return false;
  b.frames++;
  b.list_frames += type == PROTO_PRESENCE_LIST;
  *off += PROTO_HEADER + flen;
  return true;
}

/* Reads everything p has into the scratch buffer (after its carried
 * partial frame) and handles each whole frame. */
static void bench_read(peer *p) {
  for (;;) {
    uint32_t have = p->nleft;
    if (have > 0)
      memcpy(b.scratch, p->left, have);
    ssize_t r = bench_io_of->read(p, b.scratch + have, BENCH_SCRATCH - have);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (r <= 0) {
      fprintf(stderr, "receiver %d connection closed by the server (%s)\n",
              (int)(p - b.ps), r < 0 ? strerror(errno) : "EOF");
      exit(1);
    }
    uint64_t now = bench_now_ns();
    size_t len = have + (size_t)r, off = 0;
    if (!p->logged_in)
      p->login_bytes += (uint64_t)r;
    for (;;) {
      if (bench_skip_list(b.scratch + off, len - off, &off))
        continue;
      proto_msg m;
      ssize_t k = proto_decode(b.scratch + off, len - off, &m);
      if (k == 0)
        break;
      if (k < 0 && k != -PERR_UNKNOWN_TYPE) {
        fprintf(stderr, "decode: %s\n", proto_strerror((int)k));
        exit(1);
      }
      if (k < 0 && m.frame_len > len - off)
        break;
      off += k > 0 ? (size_t)k : m.frame_len;
      if (k > 0)
        bench_frame(p, &m, now);
    }
    p->nleft = (uint32_t)(len - off);
    if (p->nleft > p->capleft) {
      p->left = realloc(p->left, p->nleft);
      if (p->left == NULL)
        bench_die("realloc");
      p->capleft = p->nleft;
    }
    if (p->nleft > 0)
      memcpy(p->left, b.scratch + off, p->nleft);
    if ((size_t)r < BENCH_SCRATCH - have)
      return; /* drained */
  }
}

/* One epoll round with timeout ms; returns the events handled. */
static int bench_poll(int ms) {
  struct epoll_event evs[512];
  int k = epoll_wait(b.ep, evs, 512, ms);
  if (k < 0 && errno != EINTR)
    bench_die("epoll_wait");
  for (int i = 0; i < k; i++)
    bench_read(evs[i].data.ptr);
  return k < 0 ? 0 : k;
}

/* Polls until done() holds (returns true) or the line has been quiet for
 * quiet_ms, giving up after limit_s. */
static bool bench_until(bool (*done)(void), int quiet_ms, int limit_s) {
  uint64_t end = bench_now_ns() + (uint64_t)limit_s * 1000000000u;
  uint64_t last = bench_now_ns();
  while (bench_now_ns() < end) {
    if (done != NULL && done())
      return true;
    if (bench_poll(done != NULL ? 50 : quiet_ms) > 0)
      last = bench_now_ns();
    else if (done == NULL &&
             bench_now_ns() - last >= (uint64_t)quiet_ms * 1000000u)
      return true;
  }
  return done == NULL;
}

/* Connects one client and sends HELLO + REGISTER (or, with by_token,
 * LOGIN_TOKEN with the token its last LOGIN_OK gave) without waiting. The
 * socket is close-on-exec: the restart command (-R) and the server it
 * starts must not inherit 10,000 client sockets. */
static void bench_connect(peer *p, const char *name, bool by_token) {
  p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)b.port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof a) < 0)
    bench_die("connect");
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(p->fd, F_SETFL, O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
  if (epoll_ctl(b.ep, EPOLL_CTL_ADD, p->fd, &ev) < 0)
    bench_die("epoll_ctl");
  bench_io_of->start(p);
  proto_msg m = {.type = PROTO_HELLO};
  m.u.hello.version = (uint16_t)b.version;
  m.u.hello.agent = proto_str_c("bench/3");
  bench_send(p, &m);
  proto_msg r = {.type = PROTO_REGISTER};
  if (by_token) {
    r.type = PROTO_LOGIN_TOKEN;
    r.u.login_token.name = proto_str_c(name);
    r.u.login_token.token = (proto_blob){p->token, PROTO_TOKEN_LEN};
  } else {
    r.u.reg.name = proto_str_c(name);
    r.u.reg.password = proto_str_c("benchmark-pw");
  }
  bench_send(p, &r);
}

/* One round of waiting for logins: false, said on stderr, after 10 s
 * without a frame or past end. */
static bool bench_login_wait(bool by_token, uint64_t end) {
  if (bench_poll(10000) > 0 && bench_now_ns() <= end)
    return true;
  fprintf(stderr, "%s stalled at %llu of %d\n",
          by_token ? "reconnect" : "login", (unsigned long long)b.logged,
          b.n + b.senders);
  return false;
}

/* Connects and logs in every client, b.inflight (-F) at a time, by
 * password (registering) or by session token, until each has seen
 * WHO_END; false when that stalls or takes more than limit_s. */
static bool bench_login_all(bool by_token, int limit_s) {
  int total = b.n + b.senders;
  uint64_t end = bench_now_ns() + (uint64_t)limit_s * 1000000000u;
  for (int i = 0; i < total; i++) {
    while ((uint64_t)i - b.logged >= (uint64_t)b.inflight)
      if (!bench_login_wait(by_token, end))
        return false;
    bench_connect(&b.ps[i], b.names[i], by_token);
    bench_poll(0);
  }
  while (b.logged < (uint64_t)total)
    if (!bench_login_wait(by_token, end))
      return false;
  return true;
}

/* Join notices the join test waits for: N(N-1)/2 one per frame (v2); a
 * v3 ROOM_EVENTS of an interval reaches only those in the room at its
 * end, so no total is known in advance: wait for quiet instead. */
static uint64_t bench_join_want(void) {
  uint64_t n = (uint64_t)b.n;
  return b.version >= 3 ? 0 : n * (n - 1) / 2;
}

/* Everyone has joined the test room and every notice is in. */
static bool bench_join_done(void) {
  uint64_t n = (uint64_t)b.n;
  return b.joined == n && b.join_notices >= bench_join_want();
}

/* The sender thread: says msgs messages stamped with their send time,
 * windowed by its own echoes or paced at rate, and reads the echoes. */
static void *bench_sender(void *arg) {
  int me = (int)(intptr_t)arg;
  peer *p = &b.ps[me];
  char myname[33];
  snprintf(myname, sizeof myname, "%s", b.names[me]);
  int msgs = b.msgs / b.senders + (me < b.msgs % b.senders);
  double rate = b.rate / b.senders;
  atomic_uint_fast64_t *echoed = &b.echoed[me];
  int fl = fcntl(p->fd, F_GETFL);
  fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK);
  uint8_t *rbuf = malloc(BENCH_SCRATCH);
  size_t rlen = 0;
  uint64_t start = bench_now_ns();
  int sent = 0;
  while (atomic_load(echoed) < (uint64_t)msgs) {
    uint64_t now = bench_now_ns();
    bool may = sent < msgs;
    if (may && rate > 0)
      may = now >= start + (uint64_t)((double)sent * 1e9 / rate);
    else if (may)
      may = (uint64_t)sent < atomic_load(echoed) + (uint64_t)b.window;
    if (may) {
      char text[64];
      snprintf(text, sizeof text, "%llu bench message",
               (unsigned long long)bench_now_ns());
      proto_msg m = {.type = PROTO_SAY};
      m.u.say.kind = PROTO_TO_ROOM;
      m.u.say.target = proto_str_c("#lobby");
      m.u.say.text = proto_str_c(text);
      bench_send(p, &m);
      sent++;
      continue;
    }
    /* Wait for echoes (or the next pacing slot) without spinning. */
    struct timeval tv = {0, 200};
    if (rate > 0 && sent < msgs) {
      uint64_t due = start + (uint64_t)((double)sent * 1e9 / rate);
      uint64_t wait = due > now ? (due - now) / 1000 : 0;
      tv.tv_usec = (suseconds_t)(wait < 1000 ? wait : 1000);
    } else {
      tv.tv_usec = 100000;
    }
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t r = bench_io_of->read(p, rbuf + rlen, BENCH_SCRATCH - rlen);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (r <= 0) {
      fprintf(stderr, "sender connection closed by the server\n");
      exit(1);
    }
    rlen += (size_t)r;
    size_t off = 0;
    for (;;) {
      proto_msg m;
      ssize_t k = proto_decode(rbuf + off, rlen - off, &m);
      if (k == 0 || (k < 0 && k != -PERR_UNKNOWN_TYPE))
        break;
      if (k < 0 && m.frame_len > rlen - off)
        break;
      off += k > 0 ? (size_t)k : m.frame_len;
      if (k > 0 && m.type == PROTO_MSG &&
          !(m.u.msg.flags & PROTO_MSGF_BACKLOG) &&
          m.u.msg.from.n == strlen(myname) &&
          memcmp(m.u.msg.from.p, myname, m.u.msg.from.n) == 0)
        atomic_fetch_add(echoed, 1);
      if (k > 0 && m.type == PROTO_ERROR)
        fprintf(stderr, "sender got error %u: %.*s\n", m.u.error.code,
                (int)m.u.error.text.n, m.u.error.text.p);
    }
    memmove(rbuf, rbuf + off, rlen - off);
    rlen -= off;
  }
  free(rbuf);
  return NULL;
}

/* qsort comparator for latencies. */
static int bench_cmp(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
  return a < c ? -1 : a > c;
}

/* Latency at quantile q (0..1) of the sorted samples. */
static uint32_t bench_q(double q) {
  uint64_t i = (uint64_t)(q * (double)b.nlat);
  return b.lat[i < b.nlat ? i : b.nlat - 1];
}

/* Prints usage and exits. */
static void bench_usage(void) {
  fprintf(stderr,
          "usage: bench_fanout [-n RECEIVERS=1000] [-m MESSAGES=3000] "
          "[-w WINDOW=16]\n"
          "                    [-r RATE msgs/s] [-S SENDERS=1] [-V VERSION]\n"
          "                    [-P CHANGES/s -D SECONDS] [-p SERVER_PID] "
          "[-c CPU] [-j] [-s] [-i HOLD_S]\n"
          "                    [-T] [-R RESTART_COMMAND] [-F IN_FLIGHT=256] "
          "PORT\n");
  exit(2);
}

/* Prints the server's and the benchmark's CPU over a phase of secs. */
static void bench_print_cpu(double cpu_s, double cpu_b, double secs) {
  printf("cpu: server %.2f s (%.0f%%), bench %.2f s (%.0f%%) of %.2f s\n",
         cpu_s, 100 * cpu_s / secs, cpu_b, 100 * cpu_b / secs, secs);
}

/* Presence churn: clients (round robin, senders excluded) set away and
 * back at rate changes/s for secs seconds while the receivers read
 * everything; reports the server's CPU share. Bounded by secs. */
static void bench_churn(void) {
  b.frames = 0;
  b.list_frames = 0;
  double cpu_s0 = bench_cpu_of(b.pid), cpu_b0 = bench_cpu_self();
  uint64_t start = bench_now_ns();
  uint64_t end = start + (uint64_t)b.churn_s * 1000000000u;
  uint64_t sent = 0;
  int total = b.n + b.senders;
  while (bench_now_ns() < end) {
    uint64_t due = (uint64_t)((double)(bench_now_ns() - start) / 1e9 * b.churn);
    for (; sent < due; sent++) {
      int k = b.senders + (int)(sent % (uint64_t)b.n);
      proto_msg m = {.type = PROTO_SET_STATUS};
      m.u.set_status.status =
          (sent / (uint64_t)b.n) % 2 ? PROTO_ONLINE : PROTO_AWAY;
      m.u.set_status.text = proto_str_c("");
      bench_send(&b.ps[k], &m);
    }
    bench_poll(1);
  }
  bench_until(NULL, BENCH_QUIET_MS, 60);
  double secs = (double)(bench_now_ns() - start) / 1e9 - BENCH_QUIET_MS / 1e3;
  double cpu_s = bench_cpu_of(b.pid) - cpu_s0,
         cpu_b = bench_cpu_self() - cpu_b0;
  printf("churn: %llu presence changes in %.2f s (%.0f/s) with %d online: "
         "%llu frames received (%llu PRESENCE_LIST), server CPU %.0f%% of "
         "one core\n",
         (unsigned long long)sent, secs, (double)sent / secs, total,
         (unsigned long long)b.frames, (unsigned long long)b.list_frames,
         100 * cpu_s / secs);
  bench_print_cpu(cpu_s, cpu_b, secs);
}

/* Runs the restart command (-R): it stops the server, starts it again on
 * the same port and database, and prints the new server's pid once it
 * listens. Returns the pid; dies when the command fails (it bounds its
 * own waits). */
static int bench_run_restart(void) {
  fflush(stdout);
  FILE *f = popen(b.restart, "r");
  if (f == NULL)
    bench_die("popen");
  char line[64] = "";
  if (fgets(line, sizeof line, f) == NULL)
    line[0] = '\0';
  int st = pclose(f);
  int pid = atoi(line);
  if (st != 0 || pid <= 0) {
    fprintf(stderr, "restart command failed (status %d, said \"%s\")\n", st,
            line);
    exit(1);
  }
  return pid;
}

/* Reconnect storm (-R): with every client logged in, the server restarts;
 * then all reconnect at once (-F logins in flight, 256 by default, as
 * the login storm) and log in by the session token their LOGIN_OK gave,
 * as the real client does, offering the TLS ticket they kept. Reports the
 * seconds from the new server listening to the last WHO_END, its CPU,
 * and how many handshakes were resumed. Bounded: a phase that makes no
 * progress for 10 s, or takes more than 300 s, fails. */
static int bench_reconnect(void) {
  int total = b.n + b.senders;
  int tickets = 0;
  for (int i = 0; i < total; i++) {
    if (!b.ps[i].token_ok) {
      fprintf(stderr, "client %d got no session token\n", i);
      return 1;
    }
    tickets += b.ps[i].ticket != NULL;
    /* The old server's sockets are read no more: their end is the
     * server going away, not a failure. */
    epoll_ctl(b.ep, EPOLL_CTL_DEL, b.ps[i].fd, NULL);
  }
  uint64_t r0 = bench_now_ns();
  b.pid = bench_run_restart();
  uint64_t t0 = bench_now_ns();
  printf("restart: new parleyd %d listening %.2f s after the restart began; "
         "%d of %d clients hold a TLS ticket\n",
         b.pid, (double)(t0 - r0) / 1e9, tickets, total);
  fflush(stdout); /* the new pid, for a profiler, while the storm runs */
  for (int i = 0; i < total; i++) {
    peer *p = &b.ps[i];
    bench_io_of->close(p);
    p->logged_in = false;
    p->nleft = 0;
  }
  b.logged = 0;
  b.frames = 0;
  double cpu0 = bench_cpu_of(b.pid), bcpu0 = bench_cpu_self();
  unsigned long long w0 = 0, wb0 = 0, w1 = 0, wb1 = 0;
  bool io = bench_io_of_pid(b.pid, &w0, &wb0);
  if (!bench_login_all(true, 300))
    return 1;
  double secs = (double)(bench_now_ns() - t0) / 1e9;
  double cpu = bench_cpu_of(b.pid) - cpu0, bcpu = bench_cpu_self() - bcpu0;
  io = io && bench_io_of_pid(b.pid, &w1, &wb1);
  int resumed = 0;
  for (int i = 0; i < total && b.tls; i++)
    resumed += SSL_session_reused(b.ps[i].ssl) == 1;
  printf("reconnect: %d clients logged in again by session token in %.2f s "
         "(%s: %d of %d handshakes resumed), server CPU %.2f s (%.0f us "
         "per client); benchmark CPU %.2f s\n",
         total, secs, b.tls ? "TLS" : "plain", resumed, b.tls ? total : 0, cpu,
         cpu * 1e6 / total, bcpu);
  if (io)
    printf("reconnect: the server wrote %.1f MB in %llu writes (%.1f writes, "
           "%.1f KB per client)\n",
           (double)(wb1 - wb0) / 1e6, w1 - w0, (double)(w1 - w0) / total,
           (double)(wb1 - wb0) / 1e3 / total);
  fflush(stdout);
  if (b.hold > 0) { /* e.g. to stop a profiler before the clients leave */
    fprintf(stderr, "holding %d idle clients for %d s\n", total, b.hold);
    sleep((unsigned)b.hold);
  }
  return 0;
}

int main(int argc, char **argv) {
  b.n = 1000;
  b.msgs = 3000;
  b.window = 16;
  b.cpu = -1;
  b.senders = 1;
  b.version = PROTO_VERSION;
  b.churn_s = 5;
  b.inflight = BENCH_LOGIN_INFLIGHT;
  int opt;
  while ((opt = getopt(argc, argv, "n:m:w:r:p:c:jsi:S:V:P:D:TR:F:")) != -1) {
    switch (opt) {
    case 'n':
      b.n = atoi(optarg);
      break;
    case 'm':
      b.msgs = atoi(optarg);
      break;
    case 'w':
      b.window = atoi(optarg);
      break;
    case 'r':
      b.rate = atof(optarg);
      break;
    case 'p':
      b.pid = atoi(optarg);
      break;
    case 'c':
      b.cpu = atoi(optarg);
      break;
    case 'j':
      b.join = true;
      break;
    case 's':
      b.spin = true;
      break;
    case 'i':
      b.hold = atoi(optarg);
      break;
    case 'S':
      b.senders = atoi(optarg);
      break;
    case 'V':
      b.version = atoi(optarg);
      break;
    case 'P':
      b.churn = atof(optarg);
      break;
    case 'D':
      b.churn_s = atoi(optarg);
      break;
    case 'T':
      b.tls = true;
      break;
    case 'R':
      b.restart = optarg;
      break;
    case 'F':
      b.inflight = atoi(optarg);
      break;
    default:
      bench_usage();
    }
  }
  if (optind != argc - 1 || b.n < 1 || b.msgs < 1 || b.window < 1 ||
      b.senders < 1 || b.senders > BENCH_MAX_SENDERS ||
      b.version < PROTO_VERSION_MIN || b.version > PROTO_VERSION ||
      b.churn < 0 || b.churn_s < 1 || b.churn_s > 600 || b.inflight < 1 ||
      b.inflight > BENCH_INFLIGHT_MAX)
    bench_usage();
  b.port = atoi(argv[optind]);
  bench_io_of = &bench_plain;
  if (b.tls) {
    bench_tls_setup();
    bench_io_of = &bench_tls;
  }
  if (b.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(b.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
      bench_die("sched_setaffinity");
  }
  int total = b.n + b.senders;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)total + 64) {
    rl.rlim_cur = (rlim_t)total + 64;
    if (rl.rlim_max < rl.rlim_cur)
      rl.rlim_max = rl.rlim_cur; /* only root may raise the hard limit */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
      bench_die("setrlimit RLIMIT_NOFILE (raise ulimit -Hn)");
  }
  b.ps = calloc((size_t)total, sizeof *b.ps);
  b.names = calloc((size_t)total, sizeof *b.names);
  b.scratch = malloc(BENCH_SCRATCH);
  b.ep = epoll_create1(EPOLL_CLOEXEC);
  if (b.ps == NULL || b.names == NULL || b.scratch == NULL || b.ep < 0)
    bench_die("setup");
  unsigned tag = (unsigned)getpid() % 100000;

  /* Login storm, pipelined; every client auto-joins #lobby. */
  long rss0 = bench_rss_kb(b.pid);
  double lcpu0 = bench_cpu_of(b.pid);
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < total; i++)
    snprintf(b.names[i], sizeof b.names[i], "b%u_%d", tag, i);
  if (!bench_login_all(false, 600))
    return 1;
  double t_login = (double)(bench_now_ns() - t0) / 1e9;
  bench_until(NULL, BENCH_QUIET_MS, 600);
  double t_storm =
      (double)(bench_now_ns() - t0) / 1e9 - BENCH_QUIET_MS / 1000.0;
  printf("login: %d clients (protocol %d) logged in in %.2f s; join/presence "
         "storm over after %.2f s (%llu frames), server CPU %.2f s\n",
         total, b.version, t_login, t_storm, (unsigned long long)b.frames,
         bench_cpu_of(b.pid) - lcpu0);

  /* The user list's cost: one more client logs in with everyone online. */
  {
    peer *p = calloc(1, sizeof *p);
    char name[33];
    snprintf(name, sizeof name, "b%u_late", tag);
    if (p == NULL)
      bench_die("calloc");
    uint64_t before = b.logged;
    bench_connect(p, name, false);
    while (b.logged == before)
      if (bench_poll(10000) == 0) {
        fprintf(stderr, "late login stalled\n");
        exit(1);
      }
    printf("login bytes: the %dth login received %llu bytes up to WHO_END: "
           "%.1f bytes per user online\n",
           total + 1, (unsigned long long)p->login_bytes,
           (double)p->login_bytes / (total + 1));
    epoll_ctl(b.ep, EPOLL_CTL_DEL, p->fd, NULL);
    bench_io_of->close(p);
    if (p->ticket != NULL)
      SSL_SESSION_free(p->ticket);
    free(p->left);
    free(p);
    bench_until(NULL, BENCH_QUIET_MS, 60);
  }
  if (b.pid > 0) {
    usleep(1500 * 1000); /* the server's 1 s tick gives back idle rings */
    long rss1 = bench_rss_kb(b.pid);
    printf("memory: server RSS %ld -> %ld KiB, %.0f bytes per idle client\n",
           rss0, rss1, (double)(rss1 - rss0) * 1024.0 / total);
  }

  if (b.hold > 0) {
    fprintf(stderr, "holding %d idle clients for %d s\n", total, b.hold);
    sleep((unsigned)b.hold);
  }

  if (b.restart != NULL)
    return bench_reconnect();

  if (b.churn > 0)
    bench_churn();

  /* Join test: every receiver joins a fresh room at once. */
  if (b.join) {
    snprintf(b.room, sizeof b.room, "#big%u", tag);
    b.frames = 0;
    double jcpu0 = bench_cpu_of(b.pid);
    uint64_t j0 = bench_now_ns();
    for (int i = b.senders; i < total; i++) {
      proto_msg m = {.type = PROTO_JOIN};
      m.u.join.room = proto_str_c(b.room);
      bench_send(&b.ps[i], &m);
      bench_poll(0);
    }
    bool ok = bench_until(bench_join_done, 0, 600);
    if (ok && b.version >= 3) /* the last interval's frame */
      bench_until(NULL, BENCH_QUIET_MS, 60);
    double t_join = (double)(bench_now_ns() - j0) / 1e9 -
                    (b.version >= 3 ? BENCH_QUIET_MS / 1e3 : 0);
    printf("join: %d clients joined %s in %.2f s (%s); %llu join notices "
           "(v2 expects %llu), server CPU %.2f s\n",
           b.n, b.room, t_join, ok ? "complete" : "TIMED OUT",
           (unsigned long long)b.join_notices,
           (unsigned long long)((uint64_t)b.n * (uint64_t)(b.n - 1) / 2),
           bench_cpu_of(b.pid) - jcpu0);
    bench_until(NULL, BENCH_QUIET_MS, 600);
  }

  /* Fan-out. */
  b.caplat = (uint64_t)b.n * (uint64_t)b.msgs;
  b.lat = malloc(b.caplat * sizeof *b.lat);
  if (b.lat == NULL)
    bench_die("malloc");
  b.live = 0;
  for (int i = 0; i < b.senders; i++)
    epoll_ctl(b.ep, EPOLL_CTL_DEL, b.ps[i].fd, NULL);
  uint64_t want = b.caplat;
  double cpu_s0 = bench_cpu_of(b.pid), cpu_b0 = bench_cpu_self();
  unsigned long long busy0[64], tot0[64], busy1[64], tot1[64];
  int ncpu = bench_cpus(busy0, tot0, 64);
  uint64_t start = bench_now_ns();
  pthread_t th[BENCH_MAX_SENDERS];
  for (int i = 0; i < b.senders; i++)
    if (pthread_create(&th[i], NULL, bench_sender, (void *)(intptr_t)i) != 0)
      bench_die("pthread_create");
  uint64_t last = bench_now_ns();
  while (b.live < want) {
    if (bench_poll(b.spin ? 0 : 100) > 0) {
      last = bench_now_ns();
      continue;
    }
    if (b.spin)
      sched_yield(); /* lets the sender thread run on a shared CPU */
    if (bench_now_ns() - last > 5000000000ull) {
      fprintf(stderr, "five quiet seconds: %llu deliveries missing\n",
              (unsigned long long)(want - b.live));
      break;
    }
  }
  uint64_t end = bench_now_ns();
  double cpu_s = bench_cpu_of(b.pid) - cpu_s0,
         cpu_b = bench_cpu_self() - cpu_b0;
  double secs = (double)(end - start) / 1e9;
  bench_cpus(busy1, tot1, 64);
  if (b.live == want)
    for (int i = 0; i < b.senders; i++)
      pthread_join(th[i], NULL);
  qsort(b.lat, b.nlat, sizeof *b.lat, bench_cmp);
  if (b.rate > 0)
    printf("fan-out: %d receivers x %d messages from %d sender(s), paced at "
           "%.0f msgs/s\n",
           b.n, b.msgs, b.senders, b.rate);
  else
    printf("fan-out: %d receivers x %d messages from %d sender(s), window "
           "%d\n",
           b.n, b.msgs, b.senders, b.window);
  printf("deliveries %llu of %llu in %.3f s: %.0f deliveries/s\n",
         (unsigned long long)b.live, (unsigned long long)want, secs,
         (double)b.live / secs);
  if (b.live > 0 && b.pid > 0)
    printf("headline: server CPU %.3f us per delivery\n",
           cpu_s * 1e6 / (double)b.live);
  if (b.nlat > 0)
    printf("latency us: p50 %u p90 %u p99 %u p99.9 %u max %u\n", bench_q(0.5),
           bench_q(0.9), bench_q(0.99), bench_q(0.999), b.lat[b.nlat - 1]);
  bench_print_cpu(cpu_s, cpu_b, secs);
  for (int i = 0; i < ncpu; i++)
    printf("%scpu%d %.0f%% busy%s", i == 0 ? "machine: " : ", ", i,
           tot1[i] > tot0[i] ? 100.0 * (double)(busy1[i] - busy0[i]) /
                                   (double)(tot1[i] - tot0[i])
                             : 0.0,
           i == ncpu - 1 ? "\n" : "");
  if (b.live != want) /* sender threads may still run: leave as is */
    return 1;
  for (int i = 0; i < total; i++) {
    bench_io_of->close(&b.ps[i]);
    if (b.ps[i].ticket != NULL)
      SSL_SESSION_free(b.ps[i].ticket);
    free(b.ps[i].left);
  }
  SSL_CTX_free(bench_ssl_ctx);
  free(b.ps);
  free(b.names);
  free(b.lat);
  free(b.scratch);
  return 0;
}
