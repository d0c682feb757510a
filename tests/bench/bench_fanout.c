/* bench_fanout.c: room fan-out benchmark for parleyd.
 *
 * Connects N receivers and one sender to a running parleyd, all in #lobby,
 * then the sender says M messages as fast as the server takes them. Every
 * receiver reads with epoll; the benchmark reports room deliveries per
 * second and the send-to-receive latency (p50/p99/max) over all
 * deliveries. Start the server without flood limits, e.g.:
 *
 *   parleyd --listen 127.0.0.1:0 --db /tmp/b.db --pwhash min --no-discovery \
 *     --max-clients 5000 --flood-rate 1000000 --flood-burst 1000000 \
 *     --log-level warn
 *   bench_fanout PORT [RECEIVERS=1000] [MESSAGES=2000]
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

typedef struct peer {
  int fd;
  uint32_t got; /* MSGs received */
  size_t len;   /* bytes in buf */
  uint8_t buf[PROTO_MAX_FRAME + PROTO_HEADER];
} peer;

static uint64_t *lat; /* latencies in microseconds */
static size_t nlat, caplat;

/* Monotonic nanoseconds. */
static uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Encodes and writes one message (blocking socket). */
static void bench_send(int fd, const proto_msg *m) {
  uint8_t b[8192];
  ssize_t n = proto_encode(m, b, sizeof b);
  if (n < 0) {
    fprintf(stderr, "encode: %s\n", proto_strerror((int)n));
    exit(1);
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(fd, b + off, (size_t)(n - off));
    if (w < 0 && errno != EINTR && errno != EAGAIN) {
      perror("write");
      exit(1);
    }
    if (w > 0)
      off += w;
  }
}

/* Reads frames (blocking) until one of type want; returns 0, or -1 on an
 * ERROR frame. */
static int bench_wait(peer *p, uint16_t want) {
  for (;;) {
    proto_msg m;
    ssize_t r = proto_decode(p->buf, p->len, &m);
    if (r > 0 || r == -PERR_UNKNOWN_TYPE) {
      size_t used = r > 0 ? (size_t)r : m.frame_len;
      uint16_t t = m.type;
      if (t == PROTO_ERROR)
        fprintf(stderr, "error %u: %.*s\n", m.u.error.code,
                (int)m.u.error.text.n, m.u.error.text.p);
      memmove(p->buf, p->buf + used, p->len - used);
      p->len -= used;
      if (t == want)
        return 0;
      if (t == PROTO_ERROR)
        return -1;
      continue;
    }
    if (r < 0) {
      fprintf(stderr, "decode: %s\n", proto_strerror((int)r));
      exit(1);
    }
    ssize_t n = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
    if (n <= 0) {
      fprintf(stderr, "connection closed during setup\n");
      exit(1);
    }
    p->len += (size_t)n;
  }
}

/* Connects, registers name and waits for the end of the login burst. */
static void bench_login(peer *p, int port, const char *name) {
  p->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  proto_msg m = {.type = PROTO_HELLO};
  m.u.hello.version = PROTO_VERSION;
  m.u.hello.agent = proto_str_c("bench/1");
  bench_send(p->fd, &m);
  proto_msg r = {.type = PROTO_REGISTER};
  r.u.reg.name = proto_str_c(name);
  r.u.reg.password = proto_str_c("benchmark-pw");
  bench_send(p->fd, &r);
  if (bench_wait(p, PROTO_LOGIN_OK) < 0 || bench_wait(p, PROTO_WHO_END) < 0)
    exit(1);
}

/* Consumes whole frames in p->buf, counting MSGs and their latency. */
static void bench_consume(peer *p, uint64_t now) {
  size_t off = 0;
  for (;;) {
    proto_msg m;
    ssize_t r = proto_decode(p->buf + off, p->len - off, &m);
    if (r == 0)
      break;
    if (r < 0 && r != -PERR_UNKNOWN_TYPE) {
      fprintf(stderr, "decode: %s\n", proto_strerror((int)r));
      exit(1);
    }
    off += r > 0 ? (size_t)r : m.frame_len;
    if (r > 0 && m.type == PROTO_MSG) {
      p->got++;
      uint64_t sent = strtoull(m.u.msg.text.p, NULL, 10);
      if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 20;
        lat = realloc(lat, caplat * sizeof *lat);
      }
      lat[nlat++] = (now - sent) / 1000;
    }
  }
  memmove(p->buf, p->buf + off, p->len - off);
  p->len -= off;
}

/* qsort comparator. */
static int bench_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_fanout PORT [RECEIVERS] [MESSAGES]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  int msgs = argc > 3 ? atoi(argv[3]) : 2000;
  struct rlimit rl = {n + 64, n + 64};
  setrlimit(RLIMIT_NOFILE, &rl);
  peer *ps = calloc((size_t)n + 1, sizeof *ps);
  unsigned tag = (unsigned)getpid() % 100000;
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i <= n; i++) {
    char name[33];
    snprintf(name, sizeof name, "b%u_%d", tag, i);
    bench_login(&ps[i], port, name);
  }
  fprintf(stderr, "%d clients logged in in %.2f s\n", n + 1,
          (double)(bench_now_ns() - t0) / 1e9);
  int ep = epoll_create1(0);
  for (int i = 1; i <= n; i++) {
    fcntl(ps[i].fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ps[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, ps[i].fd, &ev);
  }
  /* Drain the join notices and presence of the setup. */
  struct epoll_event evs[256];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, 300);
    if (k <= 0)
      break;
    for (int i = 0; i < k; i++) {
      peer *p = evs[i].data.ptr;
      ssize_t r = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
      if (r > 0) {
        p->len += (size_t)r;
        bench_consume(p, 0);
      }
    }
  }
  nlat = 0;
  for (int i = 1; i <= n; i++)
    ps[i].got = 0;
  /* The sender (ps[0]) is in #lobby too: its echoes are read and not
   * counted. */
  fcntl(ps[0].fd, F_SETFL, O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &ps[0]};
  epoll_ctl(ep, EPOLL_CTL_ADD, ps[0].fd, &sev);
  uint64_t want = (uint64_t)n * (uint64_t)msgs, have = 0;
  int sent = 0;
  uint64_t start = bench_now_ns(), deadline = start + 120ull * 1000000000u;
  uint8_t out[256];
  size_t outlen = 0, outoff = 0;
  while (have < want && bench_now_ns() < deadline) {
    /* Keep the sender ahead by a bounded window of messages. */
    while (sent < msgs && (uint64_t)sent * n < have + (uint64_t)n * 64) {
      if (outoff == outlen) {
        char text[64];
        snprintf(text, sizeof text, "%llu bench message",
                 (unsigned long long)bench_now_ns());
        proto_msg m = {.type = PROTO_SAY};
        m.u.say.kind = PROTO_TO_ROOM;
        m.u.say.target = proto_str_c("#lobby");
        m.u.say.text = proto_str_c(text);
        outlen = (size_t)proto_encode(&m, out, sizeof out);
        outoff = 0;
      }
      ssize_t w = write(ps[0].fd, out + outoff, outlen - outoff);
      if (w <= 0)
        break;
      outoff += (size_t)w;
      if (outoff == outlen)
        sent++;
      else
        break;
    }
    int k = epoll_wait(ep, evs, 256, 1);
    uint64_t now = bench_now_ns();
    for (int i = 0; i < k; i++) {
      peer *p = evs[i].data.ptr;
      for (;;) {
        ssize_t r = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
        if (r <= 0)
          break;
        p->len += (size_t)r;
        uint32_t before = p->got;
        size_t lat_before = nlat;
        bench_consume(p, now);
        if (p == &ps[0])
          nlat = lat_before; /* echoes: not deliveries */
        else
          have += p->got - before;
      }
    }
  }
  double secs = (double)(bench_now_ns() - start) / 1e9;
  qsort(lat, nlat, sizeof *lat, bench_cmp);
  printf("receivers %d, messages %d, deliveries %llu of %llu in %.3f s\n", n,
         msgs, (unsigned long long)have, (unsigned long long)want, secs);
  printf("throughput %.0f deliveries/s\n", (double)have / secs);
  if (nlat > 0)
    printf("latency us: p50 %llu p99 %llu max %llu\n",
           (unsigned long long)lat[nlat / 2],
           (unsigned long long)lat[nlat * 99 / 100],
           (unsigned long long)lat[nlat - 1]);
  for (int i = 0; i <= n; i++)
    close(ps[i].fd);
  free(ps);
  free(lat);
  return have == want ? 0 : 1;
}
