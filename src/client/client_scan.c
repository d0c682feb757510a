/* client_scan.c: LAN discovery: broadcast DISCOVER, collect ANNOUNCE. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "client_int.h"

struct client_scan_state {
  uv_udp_t udp;
  uv_timer_t timer;
  uint64_t nonce;
  uint16_t port;
  unsigned open; /* handles not yet closed */
  bool closing;  /* every callback checks this first */
  client_scan_cb cb;
  void *ud;
  client_server_entry *list;
  size_t n, cap;
  uint8_t rbuf[PROTO_MAX_DATAGRAM];
};

/* A DISCOVER datagram with its bytes. */
typedef struct scan_send {
  uv_udp_send_t req;
  uv_buf_t buf;
  uint8_t data[64];
} scan_send;

/* Frees the scan once both handles are closed. */
static void scan_closed(uv_handle_t *h) {
  client_scan_state *s = h->data;
  if (--s->open == 0) {
    free(s->list);
    free(s);
  }
}

/* Closes both handles; the memory goes in scan_closed. */
static void scan_close(client_scan_state *s) {
  if (s->closing)
    return;
  s->closing = true;
  uv_close((uv_handle_t *)&s->udp, scan_closed);
  uv_close((uv_handle_t *)&s->timer, scan_closed);
}

static void scan_sent(uv_udp_send_t *req, int status) {
  (void)status; /* an unreachable broadcast address is not an error */
  free(req);
}

/* Hands libuv the one datagram buffer. */
static void scan_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  client_scan_state *s = h->data;
  buf->base = (char *)s->rbuf;
  buf->len = sizeof s->rbuf;
}

/* Records one ANNOUNCE that answers our nonce; ignores anything else. */
static void scan_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                      const struct sockaddr *from, unsigned flags) {
  (void)buf;
  client_scan_state *s = u->data;
  if (s->closing || nread <= 0 || !from || (flags & UV_UDP_PARTIAL))
    return;
  proto_msg m;
  ssize_t r = proto_decode(s->rbuf, (size_t)nread, &m);
  if (r != nread || m.type != PROTO_ANNOUNCE || m.u.announce.nonce != s->nonce)
    return;
  const proto_announce *a = &m.u.announce;
  client_server_entry e = {0};
  client_str_copy(e.name, sizeof e.name, a->server_name);
  /* A wildcard (or empty) address means: where the answer came from. */
  bool wildcard = (a->addr.n == 7 && memcmp(a->addr.p, "0.0.0.0", 7) == 0) ||
                  (a->addr.n == 2 && memcmp(a->addr.p, "::", 2) == 0);
  if (a->addr.n && !wildcard)
    client_str_copy(e.host, sizeof e.host, a->addr);
  else if (from->sa_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)from, e.host, sizeof e.host);
  else
    uv_ip6_name((const struct sockaddr_in6 *)from, e.host, sizeof e.host);
  e.port = a->port;
  e.users = a->users;
  for (size_t i = 0; i < s->n; i++) /* broadcast and loopback both answer */
    if (s->list[i].port == e.port && strcmp(s->list[i].host, e.host) == 0)
      return;
  if (s->n >= CLIENT_MAX_LIST)
    return;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    client_server_entry *n = realloc(s->list, cap * sizeof *n);
    if (!n)
      return;
    s->list = n;
    s->cap = cap;
  }
  s->list[s->n++] = e;
}

/* Timeout: report what answered and close. */
static void scan_done(uv_timer_t *t) {
  client_scan_state *s = t->data;
  if (s->closing)
    return;
  uv_udp_recv_stop(&s->udp);
  if (s->cb)
    s->cb(s->list, s->n, s->ud);
  scan_close(s);
}

/* Sends one DISCOVER to ip:port. */
static int scan_probe(client_scan_state *s, const char *ip) {
  struct sockaddr_in to;
  int r = uv_ip4_addr(ip, s->port, &to);
  if (r < 0)
    return r;
  scan_send *q = malloc(sizeof *q);
  if (!q)
    return UV_ENOMEM;
  proto_msg m = {.type = PROTO_DISCOVER};
  m.u.discover.version = PROTO_VERSION;
  m.u.discover.nonce = s->nonce;
  ssize_t n = proto_encode(&m, q->data, sizeof q->data);
  if (n < 0) {
    free(q);
    return UV_EINVAL;
  }
  q->buf = uv_buf_init((char *)q->data, (unsigned)n);
  r = uv_udp_send(&q->req, &s->udp, &q->buf, 1, (const struct sockaddr *)&to,
                  scan_sent);
  if (r < 0)
    free(q);
  return r;
}

/* Starts a scan; on success the returned state reports through cb. */
static client_scan_state *scan_start(uv_loop_t *loop, uint16_t port,
                                     unsigned timeout_ms, client_scan_cb cb,
                                     void *ud, int *err) {
  client_scan_state *s = calloc(1, sizeof *s);
  if (!s) {
    *err = UV_ENOMEM;
    return NULL;
  }
  s->port = port;
  s->cb = cb;
  s->ud = ud;
  s->nonce = ((uint64_t)random() << 32) ^ (uint64_t)random() ^ uv_hrtime();
  int r = uv_udp_init(loop, &s->udp);
  if (r < 0) {
    free(s);
    *err = r;
    return NULL;
  }
  s->udp.data = s;
  s->open = 1;
  r = uv_timer_init(loop, &s->timer);
  if (r == 0) {
    s->timer.data = s;
    s->open = 2;
  }
  struct sockaddr_in any;
  if (r == 0)
    r = uv_ip4_addr("0.0.0.0", 0, &any);
  if (r == 0)
    r = uv_udp_bind(&s->udp, (const struct sockaddr *)&any, 0);
  if (r == 0)
    r = uv_udp_set_broadcast(&s->udp, 1);
  if (r == 0)
    r = uv_udp_recv_start(&s->udp, scan_alloc, scan_recv);
  if (r == 0) {
    /* Loopback first: a broadcast may be refused in a sandbox. */
    int r1 = scan_probe(s, "127.0.0.1");
    int r2 = scan_probe(s, "255.255.255.255");
    r = r1 < 0 && r2 < 0 ? r1 : 0;
  }
  if (r == 0)
    r = uv_timer_start(&s->timer, scan_done, timeout_ms, 0);
  if (r < 0) {
    if (s->open == 1) { /* timer never initialised */
      s->closing = true;
      uv_close((uv_handle_t *)&s->udp, scan_closed);
    } else {
      scan_close(s);
    }
    *err = r;
    return NULL;
  }
  return s;
}

int client_scan_run(uv_loop_t *loop, uint16_t port, unsigned timeout_ms,
                    client_scan_cb cb, void *ud) {
  int err = 0;
  return scan_start(loop, port, timeout_ms, cb, ud, &err) ? 0 : err;
}

/* A client's /scan finished: list the servers, fire SERVERS. */
static void client_scan_result(const client_server_entry *list, size_t n,
                               void *ud) {
  client *c = ud;
  c->scan = NULL;
  c->live--;
  client_info(c, NULL, CLIENT_LINE_INFO, "%zu server%s found on the LAN", n,
              n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++)
    client_info(c, NULL, CLIENT_LINE_INFO, "  %s  %s:%u  %u user%s",
                list[i].name, list[i].host, list[i].port, list[i].users,
                list[i].users == 1 ? "" : "s");
  client_event ev = {.type = CLIENT_EV_SERVERS, .servers = list, .n = n};
  client_emit(c, &ev);
}

int client_scan(client *c) {
  if (c->stopping)
    return UV_ECANCELED;
  if (c->scan)
    return UV_EALREADY;
  int err = 0;
  c->scan = scan_start(c->loop, c->opts.scan_port, c->opts.timeout_ms,
                       client_scan_result, c, &err);
  if (!c->scan)
    return err;
  c->live++;
  return 0;
}

void client_scan_cancel(client *c) {
  client_scan_state *s = c->scan;
  if (!s)
    return;
  c->scan = NULL;
  c->live--;
  s->cb = NULL;
  scan_close(s);
}
