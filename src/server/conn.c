/* conn.c: client connections (see conn.h). */
#include "conn.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uthash.h>

#include "log.h"
#include "server.h"
#include "slab.h"
#include "store.h"
#include "tls.h"

#define CONN_CLOSE_GRACE_MS 2000 /* final frames get this long */

/* The layer above, registered at start (conn_set_handlers). */
static conn_frame_fn conn_on_frame;
static conn_close_fn conn_on_gone;

/* Reasons for a teardown deferred by conn_close_later (conn.close_why). */
enum { CONN_WHY_NONE, CONN_WHY_OUTQ, CONN_WHY_OOM };
static const char *const conn_whys[] = {
    [CONN_WHY_NONE] = "closed",
    [CONN_WHY_OUTQ] = "output queue over its limit",
    [CONN_WHY_OOM] = "out of memory for output",
};

/* Rotating buffers for conn_ip and conn_peer: a handful so that a few
 * may appear in one log line. */
#define CONN_TEXT_BUFS 4
static char conn_text[CONN_TEXT_BUFS][64];
static unsigned conn_text_next;

/* Open connections per address (IPv4, or IPv6 /64), for --max-per-ip. An
 * entry lives while its count is above zero, so the table never holds
 * more entries than there are connections. */
typedef struct conn_ipcount {
  uint8_t key[17]; /* family, then the address or the /64, zero-padded */
  uint32_t n;
  UT_hash_handle hh;
} conn_ipcount;
static conn_ipcount *conn_ipcounts;

/* Connections come from their own pool (see slab.h). */
static slab conn_slab = SLAB_INIT(sizeof(conn));

static const stream_ops conn_stream_ops;

/* Why a connection was refused at accept (conn.refuse). */
enum {
  CONN_REFUSE_NONE,
  CONN_REFUSE_STOPPING,
  CONN_REFUSE_FULL,
  CONN_REFUSE_PER_IP,
  CONN_REFUSE_UNAUTH,
  CONN_REFUSE_OOM,
};

static void conn_refuse(conn *c);

/* Registers the upward calls. */
void conn_set_handlers(conn_frame_fn on_frame, conn_close_fn on_close) {
  conn_on_frame = on_frame;
  conn_on_gone = on_close;
}

/* Formats the peer address into buf (cap bytes); "?" when unknown. */
static void conn_ip_into(const conn *c, char *buf, size_t cap) {
  if (c->family == 0 || uv_inet_ntop(c->family, c->addr, buf, cap) != 0)
    snprintf(buf, cap, "?");
}

/* The peer address as text, in the next rotating buffer. */
const char *conn_ip(const conn *c) {
  char *s = conn_text[conn_text_next++ % CONN_TEXT_BUFS];
  conn_ip_into(c, s, sizeof conn_text[0]);
  return s;
}

/* "ip:port" for logs ("" when the address is unknown). */
const char *conn_peer(const conn *c) {
  char *s = conn_text[conn_text_next++ % CONN_TEXT_BUFS];
  char ip[48];
  if (c->family == 0) {
    s[0] = '\0';
    return s;
  }
  conn_ip_into(c, ip, sizeof ip);
  snprintf(s, sizeof conn_text[0], c->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
           ip, c->port);
  return s;
}

/* The binary grouping key of c's address: family byte, then 4 bytes of
 * IPv4 or the first 8 bytes of IPv6 (a /64), the rest zero. An
 * IPv4-mapped IPv6 address is its IPv4 address. */
static void conn_key(const conn *c, uint8_t key[17]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(key, 0, 17);
  if (c->family == AF_INET6 && memcmp(c->addr, mapped, 12) == 0) {
    key[0] = AF_INET;
    memcpy(key + 1, c->addr + 12, 4);
  } else if (c->family == AF_INET6) {
    key[0] = AF_INET6;
    memcpy(key + 1, c->addr, 8);
  } else if (c->family == AF_INET) {
    key[0] = AF_INET;
    memcpy(key + 1, c->addr, 4);
  }
}

/* The grouping key as text (see conn.h). */
const char *conn_addr_key(const conn *c) {
  char *s = conn_text[conn_text_next++ % CONN_TEXT_BUFS];
  uint8_t key[17];
  conn_key(c, key);
  char ip[48];
  if (key[0] == AF_INET6 && uv_inet_ntop(AF_INET6, key + 1, ip, sizeof ip) == 0)
    snprintf(s, sizeof conn_text[0], "%s/64", ip);
  else if (key[0] == AF_INET &&
           uv_inet_ntop(AF_INET, key + 1, ip, sizeof ip) == 0)
    snprintf(s, sizeof conn_text[0], "%s", ip);
  else
    snprintf(s, sizeof conn_text[0], "?");
  return s;
}

/* Connections open from c's address group now (0 when none). */
static uint32_t conn_ip_count(const conn *c) {
  uint8_t key[17];
  conn_key(c, key);
  conn_ipcount *e = NULL;
  HASH_FIND(hh, conn_ipcounts, key, sizeof key, e);
  return e != NULL ? e->n : 0;
}

/* Counts c in its address group; false when out of memory. */
static bool conn_ip_add(conn *c) {
  uint8_t key[17];
  conn_key(c, key);
  conn_ipcount *e = NULL;
  HASH_FIND(hh, conn_ipcounts, key, sizeof key, e);
  if (e == NULL) {
    e = calloc(1, sizeof *e);
    if (e == NULL)
      return false;
    memcpy(e->key, key, sizeof key);
    HASH_ADD(hh, conn_ipcounts, key, sizeof e->key, e);
  }
  e->n++;
  c->ip_counted = true;
  return true;
}

/* Takes c out of its address group's count. */
static void conn_ip_del(conn *c) {
  if (!c->ip_counted)
    return;
  c->ip_counted = false;
  uint8_t key[17];
  conn_key(c, key);
  conn_ipcount *e = NULL;
  HASH_FIND(hh, conn_ipcounts, key, sizeof key, e);
  assert(e != NULL && e->n > 0); /* every counted conn has its entry */
  if (--e->n == 0) {
    HASH_DEL(conn_ipcounts, e);
    free(e);
  }
}

/* Leaves the budget of connections not logged in. */
static void conn_pending_end(conn *c) {
  if (!c->pending)
    return;
  c->pending = false;
  assert(srv.npending > 0);
  srv.npending--;
}

/* Logged in: the user's slot is counted by srv.nusers from now on. */
void conn_set_ready(conn *c) {
  conn_pending_end(c);
  c->state = CONN_READY;
}

/* Takes a reference. */
conn *conn_ref(conn *c) {
  c->refs++;
  return c;
}

/* Drops a reference; frees after the handle is closed and unreferenced. */
void conn_unref(conn *c) {
  assert(c->refs > 0);
  if (--c->refs == 0) {
    outq_clear(&c->out);
    framer_reset(&c->in);
    slab_free(&conn_slab, c);
  }
}

/* Puts c on the flush list. */
static void conn_mark_dirty(conn *c) {
  if (c->dirty)
    return;
  c->dirty = true;
  conn_ref(c); /* the list holds it: freed only after the flush pass */
  c->dirty_next = srv.dirty;
  srv.dirty = c;
  server_wake();
}

/* Reports a frame the decoder refused and closes after the ERROR. */
static void conn_malformed(conn *c, int err) {
  log_info(conn_peer(c), "malformed frame: %s", proto_strerror(err));
  conn_error(c, PERR_MALFORMED, 0, "",
             "malformed frame (%s); connection closed", proto_strerror(err));
  conn_close(c, true, "malformed frame");
}

/* Stream read: the framer cuts the bytes into whole frames (in place, or
 * from its partial buffer when a frame spanned reads), each is decoded and
 * handed up until the connection starts closing. A frame of an unknown
 * type is answered and skipped; anything else malformed ends the
 * connection. */
static void conn_on_read(stream *s, const uint8_t *p, size_t n) {
  conn *c = stream_data(s);
  if (c->wire == CONN_WIRE_NEW && srv.tls != NULL) {
    c->wire = p[0] == 0x16 ? CONN_WIRE_TLS : CONN_WIRE_PLAIN;
    if (c->wire == CONN_WIRE_TLS) { /* from now on reads arrive decrypted */
      int r = tls_start(s, srv.tls, NULL, p, n);
      if (r < 0)
        conn_close(c, false, stream_strerror(r));
      return;
    }
    if (c->refuse != CONN_REFUSE_NONE) {
      conn_refuse(c);
      return;
    }
  }
  while (!c->closing) {
    const uint8_t *frame;
    ssize_t r = framer_next(&c->in, &p, &n, PROTO_MAX_FRAME, &frame);
    if (r == 0)
      return;
    if (r == -PERR_INTERNAL) {
      conn_error(c, PERR_INTERNAL, 0, "", "out of memory");
      conn_close(c, true, "out of memory for the read buffer");
      return;
    }
    if (r < 0) {
      conn_malformed(c, (int)r);
      return;
    }
    proto_msg m;
    ssize_t d = proto_decode(frame, (size_t)r, &m);
    if (d == -PERR_UNKNOWN_TYPE) {
      conn_error(c, PERR_UNKNOWN_TYPE, m.type, "",
                 "unknown message type 0x%04x; ignored", m.type);
      continue;
    }
    if (d < 0) {
      conn_malformed(c, (int)d);
      return;
    }
    if (c->wire == CONN_WIRE_PLAIN && c->state == CONN_HELLO) {
      log_info(conn_peer(c), "plain-text %s on the TLS port",
               proto_type_name(m.type));
      conn_error(c, PERR_TLS_REQUIRED, m.type, "", NULL);
      conn_close(c, true, "plain-text client on the TLS port");
      return;
    }
    conn_on_frame(c, &m);
  }
}

/* The peer finished or the socket failed. A write failing while the final
 * frames go out ends the wait for them. */
static void conn_on_error(stream *s, int err) {
  conn *c = stream_data(s);
  if (c->closing) {
    c->close_flush = false;
    conn_reap(c);
    return;
  }
  conn_close(c, false, err == UV_EOF ? "peer closed" : stream_strerror(err));
}

/* A write finished: the rest goes in the next flush pass, and a closing
 * conn is reaped there once its queue is out. */
static void conn_on_drain(stream *s) {
  conn *c = stream_data(s);
  if (c->out.count > 0 || c->closing)
    conn_mark_dirty(c);
}

/* The TLS handshake completed: noted for the operator's debugging; a
 * connection refused at accept hears why now. */
static void conn_on_secure(stream *s) {
  conn *c = stream_data(s);
  log_debug(conn_peer(c), "TLS: %s", tls_describe(s));
  if (c->refuse != CONN_REFUSE_NONE)
    conn_refuse(c);
}

/* Close callback: unlink and drop the open reference. */
static void conn_on_close(stream *s) {
  conn_stream_closed(stream_data(s));
}

/* Unlinks c from srv.conns and drops the open reference (the close
 * callback's work, also for a stream the relay took over). */
void conn_stream_closed(conn *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv.conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv.nconns--;
  conn_pending_end(c);
  conn_ip_del(c);
  log_debug(conn_peer(c), "closed");
  conn_unref(c);
  server_conn_gone();
}

static const stream_ops conn_stream_ops = {
    .on_read = conn_on_read,
    .on_drain = conn_on_drain,
    .on_error = conn_on_error,
    .on_close = conn_on_close,
    .on_secure = conn_on_secure,
};

/* Accept callback body. */
int conn_accept(uv_stream_t *listener) {
  conn *c = slab_alloc(&conn_slab);
  if (c == NULL)
    return UV_ENOMEM;
  int r = stream_init(&c->s, srv.loop, &conn_stream_ops, c);
  if (r < 0) {
    slab_free(&conn_slab, c);
    return r;
  }
  c->refs = 1; /* dropped in the close callback */
  c->when_ms = server_now_ms();
  c->next = srv.conns;
  if (srv.conns != NULL)
    srv.conns->prev = c;
  srv.conns = c;
  srv.nconns++;
  r = stream_accept(&c->s, listener);
  if (r < 0) {
    c->closing = true;
    stream_close(&c->s);
    return r;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->s.tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      c->family = AF_INET6;
      memcpy(c->addr, &a->sin6_addr, 16);
      c->port = ntohs(a->sin6_port);
    } else if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      c->family = AF_INET;
      memcpy(c->addr, &a->sin_addr, 4);
      c->port = ntohs(a->sin_port);
    }
  }
  r = uv_tcp_nodelay(&c->s.tcp, 1);
  if (r < 0)
    log_warn(conn_peer(c), "TCP_NODELAY: %s", uv_strerror(r));
  log_info(conn_peer(c), "connected");
  const config *cfg = srv.cfg;
  /* Logged-in users have their own budget (max-clients); a connection
   * that has not logged in yet takes one of max-unauthenticated, and no
   * address group holds more than max-per-ip of either. */
  if (srv.stopping) {
    c->refuse = CONN_REFUSE_STOPPING;
  } else if (srv.nusers >= cfg->max_clients) {
    log_warn(conn_peer(c), "server full (%u clients)", cfg->max_clients);
    store_job *j = store_job_new(STORE_LOGIN_LOG, NULL, NULL);
    snprintf(j->text, sizeof j->text, "%s", conn_ip(c));
    snprintf(j->text2, sizeof j->text2, "server full");
    j->num = c->port;
    store_submit(j);
    c->refuse = CONN_REFUSE_FULL;
  } else if (cfg->max_per_ip > 0 && conn_ip_count(c) >= cfg->max_per_ip) {
    log_warn(conn_peer(c), "too many connections from %s (%u)",
             conn_addr_key(c), cfg->max_per_ip);
    c->refuse = CONN_REFUSE_PER_IP;
  } else if (srv.npending >= cfg->max_unauth) {
    log_warn(conn_peer(c), "too many connections waiting to log in (%u)",
             cfg->max_unauth);
    c->refuse = CONN_REFUSE_UNAUTH;
  } else if (!conn_ip_add(c)) {
    c->refuse = CONN_REFUSE_OOM;
  }
  if (c->refuse != CONN_REFUSE_NONE) {
    /* Over TLS the refusal can only be said inside TLS: read the first
     * byte (and do the handshake) first. It counts against no budget,
     * and the hello timeout bounds it. */
    if (srv.tls == NULL)
      conn_refuse(c);
    else if ((r = stream_read_start(&c->s)) < 0)
      conn_close(c, false, uv_strerror(r));
    return 0;
  }
  c->pending = true;
  srv.npending++;
  r = stream_read_start(&c->s);
  if (r < 0)
    conn_close(c, false, uv_strerror(r));
  return 0;
}

/* Says why c was refused at accept (conn.refuse) and closes after it. */
static void conn_refuse(conn *c) {
  const config *cfg = srv.cfg;
  switch (c->refuse) {
  case CONN_REFUSE_STOPPING:
    conn_error(c, PERR_SHUTTING_DOWN, 0, "", NULL);
    conn_close(c, true, "server shutting down");
    break;
  case CONN_REFUSE_FULL:
    conn_error(c, PERR_SERVER_FULL, 0, "",
               "server full: %u clients connected, try again later",
               cfg->max_clients);
    conn_close(c, true, "server full");
    break;
  case CONN_REFUSE_PER_IP:
    conn_error(c, PERR_SERVER_FULL, 0, "",
               "too many connections from your address (%u); close one and "
               "try again",
               cfg->max_per_ip);
    conn_close(c, true, "too many connections from one address");
    break;
  case CONN_REFUSE_UNAUTH:
    conn_error(c, PERR_SERVER_FULL, 0, "",
               "server busy: %u connections waiting to log in, try again "
               "later",
               cfg->max_unauth);
    conn_close(c, true, "too many connections not logged in");
    break;
  default:
    conn_error(c, PERR_INTERNAL, 0, "", "out of memory");
    conn_close(c, true, "out of memory for the address table");
    break;
  }
}

/* Stops input; a failure here only means more bytes may arrive, which the
 * closing flag already ignores. */
static void conn_read_stop(conn *c) {
  int r = stream_read_stop(&c->s);
  if (r < 0)
    log_warn(conn_peer(c), "read stop: %s", uv_strerror(r));
}

/* Flags c closing without calling the close handler now: the caller may be
 * walking a room's member list or the user map. The loop runs the
 * teardown (quit notices, offline presence) and closes the handle. */
static void conn_close_later(conn *c, uint8_t why) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_flush = false;
  c->teardown_pending = true;
  c->close_why = why;
  c->when_ms = server_now_ms();
  conn_read_stop(c);
  log_info(conn_peer(c), "closing: %s", conn_whys[why]);
  if (!c->on_close_list) {
    c->on_close_list = true;
    conn_ref(c); /* dropped when the flush pass takes it off the list */
    c->closing_next = srv.closing;
    srv.closing = c;
  }
  server_wake();
}

/* Runs the deferred teardown once. */
void conn_teardown(conn *c) {
  if (!c->teardown_pending)
    return;
  c->teardown_pending = false;
  conn_on_gone(c, conn_whys[c->close_why]);
}

/* After a push: enforces the hard limit at once and the soft limit here
 * and on the tick (closing is only flagged), else arms the flush. */
static void conn_queued(conn *c) {
  const config *cfg = srv.cfg;
  int v =
      outq_check(&c->out, cfg->outbuf_soft, cfg->outbuf_hard,
                 (uint64_t)cfg->outbuf_soft_seconds * 1000, server_now_ms());
  if (v != OUTQ_OK) {
    srv.slow_kills++;
    log_warn(conn_peer(c),
             "slow consumer: %zu bytes queued (%s limit); "
             "disconnected",
             c->out.bytes, v == OUTQ_HARD ? "hard" : "soft");
    conn_close_later(c, CONN_WHY_OUTQ);
    return;
  }
  conn_mark_dirty(c);
}

/* Queues one shared frame by reference. */
void conn_send(conn *c, fbuf *b) {
  if (c->closing || b == NULL)
    return;
  if (outq_push(&c->out, b) < 0) {
    conn_close_later(c, CONN_WHY_OOM);
    return;
  }
  conn_queued(c);
}

/* Encodes m straight into c's queue (no allocation per frame). */
void conn_send_msg(conn *c, const proto_msg *m) {
  if (c->closing)
    return;
  int r = outq_push_msg(&c->out, m);
  if (r == -PERR_INTERNAL) {
    conn_close_later(c, CONN_WHY_OOM);
    return;
  }
  if (r < 0) {
    log_error(conn_peer(c), "cannot encode %s: %s", proto_type_name(m->type),
              proto_strerror(r));
    return;
  }
  conn_queued(c);
}

/* Builds and queues an ERROR frame. */
void conn_error(conn *c, int code, uint16_t ref_type, const char *subject,
                const char *fmt, ...) {
  char text[PROTO_MAX_ERRTEXT + 1];
  if (fmt == NULL) {
    snprintf(text, sizeof text, "%s", proto_strerror(code));
  } else {
    va_list ap;
    va_start(ap, fmt);
    char wide[PROTO_MAX_ERRTEXT + 8]; /* room to see where a cut falls */
    vsnprintf(wide, sizeof wide, fmt, ap);
    va_end(ap);
    proto_str_copy(text, sizeof text, proto_str_c(wide)); /* whole chars */
  }
  proto_msg m = {.type = PROTO_ERROR};
  m.u.error.code = (uint16_t)code;
  m.u.error.ref_type = ref_type;
  m.u.error.subject = proto_str_c(subject);
  m.u.error.text = proto_str_c(text);
  log_debug(conn_peer(c), "error %s: %s", proto_errname(code), text);
  conn_send_msg(c, &m);
}

/* Flags the conn, runs the close handler now (so others see the quit at
 * once) and lets the loop close the handle. */
void conn_close(conn *c, bool flush, const char *why) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_flush = flush;
  c->when_ms = server_now_ms() + CONN_CLOSE_GRACE_MS;
  conn_read_stop(c); /* no more input */
  log_info(conn_peer(c), "closing: %s", why);
  conn_on_gone(c, why);
  if (!c->on_close_list) {
    c->on_close_list = true;
    conn_ref(c); /* dropped when the flush pass takes it off the list */
    c->closing_next = srv.closing;
    srv.closing = c;
  }
  server_wake();
}

/* Hands the queue to the stream once per loop pass: what the socket
 * takes now goes at once, the rest in one write by reference to the
 * queued frames (see stream_flush). */
void conn_flush(conn *c) {
  if (stream_closing(&c->s) || stream_writing(&c->s))
    return;
  if (c->closing && !c->close_flush)
    return;
  int r = stream_flush(&c->s, &c->out);
  if (r < 0) {
    conn_close(c, false,
               r == UV_ENOMEM ? "out of memory for a write" : uv_strerror(r));
    return;
  }
  if (c->out.count == 0) {
    c->out.soft_since_ms = 0;
    if (c->closing)
      conn_reap(c);
  }
}

/* Closes the handle once the final frames are out (or not wanted). */
void conn_reap(conn *c) {
  if (stream_closing(&c->s))
    return;
  conn_teardown(c); /* never leave a user pointing at a closed conn */
  if (c->close_flush && (c->out.count > 0 || stream_writing(&c->s)) &&
      server_now_ms() < c->when_ms)
    return; /* conn_flush or the tick will come back */
  if (c->close_why == CONN_WHY_OUTQ) {
    /* A slow consumer is cut at once: a reset drops what the kernel still
     * holds for it (up to megabytes it would trickle out through a small
     * window) and tells the peer now, not after that trickle. */
    uv_os_fd_t fd;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (uv_fileno((const uv_handle_t *)&c->s.tcp, &fd) == 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  stream_close(&c->s);
}

/* Timeouts and the soft limit for a connection that is not writing to. */
void conn_tick(conn *c, uint64_t now_ms) {
  if (stream_closing(&c->s))
    return;
  if (c->closing) {
    if (now_ms >= c->when_ms)
      conn_reap(c);
    return;
  }
  const config *cfg = srv.cfg;
  uint64_t age = now_ms - c->when_ms;
  if (c->state == CONN_HELLO && age >= (uint64_t)cfg->hello_timeout * 1000 &&
      tls_active(&c->s) && !tls_secure(&c->s)) {
    /* No ERROR: nothing can be said to a peer that is not in TLS yet. */
    log_warn(conn_peer(c), "no TLS handshake within %u seconds",
             cfg->hello_timeout);
    conn_close(c, false, "TLS handshake timeout");
    return;
  }
  if (c->state == CONN_HELLO && age >= (uint64_t)cfg->hello_timeout * 1000) {
    conn_error(c, PERR_TIMEOUT, 0, "", "no HELLO within %u seconds",
               cfg->hello_timeout);
    conn_close(c, true, "handshake timeout");
    return;
  }
  if (c->state == CONN_AUTH && age >= (uint64_t)cfg->login_timeout * 1000) {
    conn_error(c, PERR_TIMEOUT, 0, "", "no login within %u seconds",
               cfg->login_timeout);
    conn_close(c, true, "login timeout");
    return;
  }
  if (!stream_writing(&c->s))
    outq_trim(&c->out); /* idle for a tick: give the ring back */
  if (c->out.bytes > 0 &&
      outq_check(&c->out, cfg->outbuf_soft, cfg->outbuf_hard,
                 (uint64_t)cfg->outbuf_soft_seconds * 1000,
                 now_ms) != OUTQ_OK) {
    srv.slow_kills++;
    log_warn(conn_peer(c),
             "slow consumer: %zu bytes queued for over %u s; "
             "disconnected",
             c->out.bytes, cfg->outbuf_soft_seconds);
    c->close_why = CONN_WHY_OUTQ; /* reset, not a trickle (conn_reap) */
    conn_close(c, false, "output queue over the soft limit too long");
  }
}
