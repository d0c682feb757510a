/* discovery.c: UDP discovery answers (see discovery.h). */
#include "discovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "user.h"

#define DISCOVERY_RATE 100 /* answers per second in all, at most */
/* Per source address (IPv4 /32, IPv6 /64): a burst of this many answers,
 * then one per DISCOVERY_SRC_PERIOD_MS. An ANNOUNCE is larger than the
 * DISCOVER that asks for it (up to ~10x), so without this a spoofed
 * source could aim a stream of answers at a victim; with it a victim gets
 * at most a few hundred bytes a second from one server. */
#define DISCOVERY_SRC_BURST 5
#define DISCOVERY_SRC_PERIOD_MS 1000
#define DISCOVERY_SRC_SLOTS 1024 /* direct-mapped table, power of two */

typedef struct discovery_src { /* one source's answer budget */
  uint8_t key[8];              /* IPv4 address or IPv6 /64 prefix */
  uint8_t used;                /* slot holds a key */
  bucket b;
} discovery_src;

static struct {
  uv_udp_t udp;
  bool open;
  bucket rate;
  discovery_src src[DISCOVERY_SRC_SLOTS];
  char buf[PROTO_MAX_DATAGRAM];
} disc;

/* Takes one answer from addr's budget. A slot holding another source is
 * reused only once that source's bucket has refilled, so flooding from
 * many addresses cannot hand an exhausted source a fresh budget (the new
 * source is refused instead). Returns true when an answer may be sent. */
static bool discovery_src_take(const struct sockaddr *addr, uint64_t now) {
  uint8_t key[8] = {0};
  if (addr->sa_family == AF_INET)
    memcpy(key, &((const struct sockaddr_in *)addr)->sin_addr, 4);
  else if (addr->sa_family == AF_INET6)
    memcpy(key, &((const struct sockaddr_in6 *)addr)->sin6_addr, 8);
  else
    return false;
  uint32_t h = 2166136261u; /* FNV-1a over the key */
  for (size_t i = 0; i < sizeof key; i++)
    h = (h ^ key[i]) * 16777619u;
  discovery_src *e = &disc.src[h & (DISCOVERY_SRC_SLOTS - 1)];
  if (!e->used || memcmp(e->key, key, sizeof key) != 0) {
    if (e->used && !bucket_full(&e->b, 1, DISCOVERY_SRC_PERIOD_MS,
                                DISCOVERY_SRC_BURST, now))
      return false; /* the slot's owner is still limited: keep it */
    memcpy(e->key, key, sizeof key);
    e->used = 1;
    bucket_init(&e->b, DISCOVERY_SRC_BURST, now);
  }
  return bucket_take(&e->b, 1, DISCOVERY_SRC_PERIOD_MS, DISCOVERY_SRC_BURST,
                     now);
}

typedef struct discovery_send { /* a send request with its bytes */
  uv_udp_send_t req;
  size_t len;
  uint8_t data[];
} discovery_send;

/* Frees a finished send. */
static void discovery_on_send(uv_udp_send_t *req, int status) {
  if (status < 0 && status != UV_ECANCELED)
    log_debug(NULL, "discovery send: %s", uv_strerror(status));
  free(req);
}

/* One datagram buffer is enough: UDP reads are one at a time. */
static void discovery_on_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf) {
  (void)h;
  (void)s;
  *buf = uv_buf_init(disc.buf, sizeof disc.buf);
}

/* Answers a valid DISCOVER; ignores everything else. */
static void discovery_on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
                              const struct sockaddr *addr, unsigned flags) {
  (void)h;
  if (n <= 0 || addr == NULL || (flags & UV_UDP_PARTIAL))
    return;
  proto_msg m;
  ssize_t r = proto_decode((const uint8_t *)buf->base, (size_t)n, &m);
  if (r != n || m.type != PROTO_DISCOVER)
    return;
  uint64_t now = server_now_ms();
  if (!discovery_src_take(addr, now) ||
      !bucket_take(&disc.rate, DISCOVERY_RATE, 1000, DISCOVERY_RATE, now))
    return;
  proto_msg a = {.type = PROTO_ANNOUNCE};
  a.u.announce.version = PROTO_VERSION;
  a.u.announce.nonce = m.u.discover.nonce;
  a.u.announce.server_name = proto_str_c(srv.cfg->name);
  bool wildcard =
      strcmp(srv.host, "0.0.0.0") == 0 || strcmp(srv.host, "::") == 0;
  a.u.announce.addr = proto_str_c(wildcard ? "" : srv.host);
  a.u.announce.port = (uint16_t)srv.port;
  a.u.announce.users = user_count();
  size_t len = proto_size(&a);
  discovery_send *s = malloc(sizeof *s + len);
  if (s == NULL)
    return;
  ssize_t e = proto_encode(&a, s->data, len);
  if (e < 0) {
    free(s);
    return;
  }
  uv_buf_t out = uv_buf_init((char *)s->data, (unsigned)e);
  int rc = uv_udp_send(&s->req, &disc.udp, &out, 1, addr, discovery_on_send);
  if (rc < 0) {
    log_debug(NULL, "discovery send: %s", uv_strerror(rc));
    free(s);
  }
}

/* Binds and starts receiving. */
int discovery_start(uv_loop_t *loop, const char *host, int port) {
  struct sockaddr_storage ss;
  int r = strchr(host, ':') != NULL
              ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
              : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
  if (r < 0)
    return r;
  r = uv_udp_init(loop, &disc.udp);
  if (r < 0)
    return r;
  disc.open = true;
  /* Several servers on one host may share the port for broadcasts. */
  r = uv_udp_bind(&disc.udp, (struct sockaddr *)&ss, UV_UDP_REUSEADDR);
  if (r == 0)
    r = uv_udp_set_broadcast(&disc.udp, 1);
  if (r == 0)
    r = uv_udp_recv_start(&disc.udp, discovery_on_alloc, discovery_on_recv);
  if (r < 0) {
    discovery_stop();
    return r;
  }
  bucket_init(&disc.rate, DISCOVERY_RATE, server_now_ms());
  int len = sizeof ss;
  char ip[PROTO_MAX_ADDR] = "?";
  int bound = port;
  if (uv_udp_getsockname(&disc.udp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
      bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
      bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
  }
  printf(strchr(ip, ':') ? "discovery on udp [%s]:%d\n"
                         : "discovery on udp %s:%d\n",
         ip, bound);
  fflush(stdout);
  log_info(NULL, "discovery on udp %s:%d", ip, bound);
  return 0;
}

/* Closes the socket. */
void discovery_stop(void) {
  if (!disc.open)
    return;
  disc.open = false;
  uv_udp_recv_stop(&disc.udp);
  uv_close((uv_handle_t *)&disc.udp, NULL);
}
