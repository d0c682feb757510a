/* client_scan.c: LAN discovery: send DISCOVER to the scan targets (the
 * user's --scan-to / `/scan ADDR` list, else each IPv4 interface's own
 * broadcast address and 127.0.0.1 -- never the limited broadcast
 * 255.255.255.255), collect ANNOUNCE. */
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
  (void)status; /* one unreachable target is not an error: others may answer */
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
  client_text_copy(e.name, sizeof e.name, a->server_name);
  /* A wildcard (or empty) address means: where the answer came from. */
  bool wildcard = (a->addr.n == 7 && memcmp(a->addr.p, "0.0.0.0", 7) == 0) ||
                  (a->addr.n == 2 && memcmp(a->addr.p, "::", 2) == 0);
  if (a->addr.n && !wildcard)
    client_text_copy(e.host, sizeof e.host, a->addr);
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

int client_scan_parse_to(const char *s, size_t n, uint16_t port,
                         struct sockaddr_in *out) {
  char ip[INET_ADDRSTRLEN];
  const char *colon = memchr(s, ':', n);
  size_t iplen = colon ? (size_t)(colon - s) : n;
  if (iplen == 0 || iplen >= sizeof ip)
    return UV_EINVAL;
  memcpy(ip, s, iplen);
  ip[iplen] = '\0';
  if (colon) {
    size_t pn = n - iplen - 1;
    unsigned long v = 0;
    if (pn == 0 || pn > 5)
      return UV_EINVAL;
    for (size_t i = 0; i < pn; i++) {
      char d = colon[1 + i];
      if (d < '0' || d > '9')
        return UV_EINVAL;
      v = v * 10 + (unsigned long)(d - '0');
    }
    if (v == 0 || v > 65535)
      return UV_EINVAL;
    port = (uint16_t)v;
  }
  struct in_addr a;
  if (inet_pton(AF_INET, ip, &a) != 1) /* dotted quad only, no names */
    return UV_EINVAL;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_addr = a;
  out->sin_port = htons(port);
  return 0;
}

/* Appends t to out[*n] unless it is there already or out is full. */
static void scan_target_add(struct sockaddr_in *out, size_t *n, size_t cap,
                            const struct sockaddr_in *t) {
  for (size_t i = 0; i < *n; i++)
    if (out[i].sin_addr.s_addr == t->sin_addr.s_addr &&
        out[i].sin_port == t->sin_port)
      return;
  if (*n < cap)
    out[(*n)++] = *t;
}

size_t client_scan_targets(const uv_interface_address_t *ifs, int nifs,
                           const struct sockaddr_in *to, size_t nto,
                           uint16_t port, struct sockaddr_in *out,
                           size_t cap) {
  size_t n = 0;
  if (nto > 0) { /* the user named the targets: those and nothing else */
    for (size_t i = 0; i < nto; i++)
      scan_target_add(out, &n, cap, &to[i]);
    return n;
  }
  for (int i = 0; i < nifs; i++) {
    const uv_interface_address_t *f = &ifs[i];
    if (f->is_internal || f->address.address4.sin_family != AF_INET)
      continue;
    uint32_t addr = ntohl(f->address.address4.sin_addr.s_addr);
    uint32_t mask = ntohl(f->netmask.netmask4.sin_addr.s_addr);
    if ((mask & 0xFFFFFFFEu) == 0xFFFFFFFEu) /* /31, /32: no broadcast */
      continue;
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_port = htons(port)};
    b.sin_addr.s_addr = htonl(addr | ~mask);
    scan_target_add(out, &n, cap, &b);
  }
  struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(port)};
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  scan_target_add(out, &n, cap, &lo);
  return n;
}

/* Sends one DISCOVER to *to. */
static int scan_probe(client_scan_state *s, const struct sockaddr_in *to) {
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
  int r = uv_udp_send(&q->req, &s->udp, &q->buf, 1,
                      (const struct sockaddr *)to, scan_sent);
  if (r < 0)
    free(q);
  return r;
}

/* Sends DISCOVER to every target (explicit ones, else the interfaces'
 * broadcast addresses and loopback). Returns 0 when at least one send was
 * queued, else the first error. */
static int scan_send_all(client_scan_state *s, const struct sockaddr_in *to,
                         size_t nto) {
  struct sockaddr_in t[CLIENT_MAX_SCAN_IFS + CLIENT_MAX_SCAN_TO + 1];
  uv_interface_address_t *ifs = NULL;
  int nifs = 0;
  if (nto == 0 && uv_interface_addresses(&ifs, &nifs) < 0) {
    ifs = NULL; /* no interface list: loopback only */
    nifs = 0;
  }
  size_t n = client_scan_targets(ifs, nifs, to, nto, s->port, t,
                                 sizeof t / sizeof t[0]);
  if (ifs)
    uv_free_interface_addresses(ifs, nifs);
  int first = UV_EINVAL, sent = 0;
  for (size_t i = 0; i < n; i++) {
    int r = scan_probe(s, &t[i]);
    if (r == 0)
      sent++;
    else if (first == UV_EINVAL)
      first = r;
  }
  return sent ? 0 : first;
}

/* Starts a scan; on success the returned state reports through cb. */
static client_scan_state *scan_start(uv_loop_t *loop, uint16_t port,
                                     const struct sockaddr_in *to, size_t nto,
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
  if (r == 0)
    r = scan_send_all(s, to, nto);
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

int client_scan_run(uv_loop_t *loop, const client_opts *o, client_scan_cb cb,
                    void *ud) {
  int err = 0;
  return scan_start(loop, o->scan_port, o->scan_to, o->n_scan_to,
                    o->timeout_ms, cb, ud, &err)
             ? 0
             : err;
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

int client_scan(client *c, const char *targets) {
  if (c->stopping)
    return UV_ECANCELED;
  if (c->scan)
    return UV_EALREADY;
  struct sockaddr_in to[CLIENT_MAX_SCAN_TO];
  size_t nto = 0;
  const char *p = targets ? targets : "";
  for (;;) { /* `/scan ADDR...`: these instead of the options' targets */
    p += strspn(p, " \t");
    size_t n = strcspn(p, " \t");
    if (n == 0)
      break;
    if (nto == CLIENT_MAX_SCAN_TO ||
        client_scan_parse_to(p, n, c->opts.scan_port, &to[nto]) < 0)
      return UV_EINVAL;
    nto++;
    p += n;
  }
  int err = 0;
  c->scan = scan_start(c->loop, c->opts.scan_port,
                       nto ? to : c->opts.scan_to, nto ? nto : c->opts.n_scan_to,
                       c->opts.timeout_ms, client_scan_result, c, &err);
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
