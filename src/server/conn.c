/* conn.c: client connections (see conn.h). */
#include "conn.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "session.h"
#include "slab.h"
#include "store.h"

#define CONN_HELLO_TIMEOUT_MS 10000 /* HELLO must come this fast */
#define CONN_LOGIN_TIMEOUT_MS 60000 /* and a login within this */
#define CONN_CLOSE_GRACE_MS 2000    /* final frames get this long */
#define CONN_WRITE_IOV 64           /* buffers per uv_write call */
#define CONN_GATHER (64 * 1024)     /* bytes per try_write */

/* One read scratch buffer for the whole server: libuv calls alloc and read
 * back to back for one stream at a time, so idle clients hold nothing. */
static uint8_t conn_scratch[PROTO_MAX_FRAME + PROTO_HEADER];

/* One gather buffer for the flush pass: queued frames are copied into it
 * so each try_write is a single contiguous buffer. It is only used within
 * conn_flush, so one buffer serves every connection. */
static uint8_t conn_gather[CONN_GATHER];

typedef struct conn_write { /* a uv_write and its buffers, one allocation */
  uv_write_t req;
  conn *c;
  size_t bytes;
  uv_buf_t bufs[];
} conn_write;

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

/* Connections come from their own pool (see slab.h). */
static slab conn_slab = SLAB_INIT(sizeof(conn));

static void conn_on_close(uv_handle_t *h);

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
    free(c->rbuf);
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

/* Hands out the partial-frame buffer's free space, or the shared scratch
 * buffer when nothing is pending. */
static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  conn *c = h->data;
  if (c->rbuf != NULL)
    *buf = uv_buf_init((char *)c->rbuf->data + c->rbuf->len,
                       c->rbuf->cap - c->rbuf->len);
  else
    *buf = uv_buf_init((char *)conn_scratch, sizeof conn_scratch);
}

/* Decodes and dispatches every whole frame in p[0..n). Returns bytes used,
 * or -1 when the connection was closed. */
static ssize_t conn_decode(conn *c, const uint8_t *p, size_t n) {
  size_t used = 0;
  while (used < n && !c->closing) {
    proto_msg m;
    ssize_t r = proto_decode(p + used, n - used, &m);
    if (r == 0)
      break;
    if (r == -PERR_UNKNOWN_TYPE) {
      if (m.frame_len > n - used)
        break; /* skip it once it is all here */
      conn_error(c, PERR_UNKNOWN_TYPE, m.type, "",
                 "unknown message type 0x%04x; ignored", m.type);
      used += m.frame_len;
      continue;
    }
    if (r < 0) {
      log_info(conn_peer(c), "malformed frame: %s", proto_strerror((int)r));
      conn_error(c, PERR_MALFORMED, 0, "",
                 "malformed frame (%s); connection closed",
                 proto_strerror((int)r));
      conn_close(c, true, "malformed frame");
      return -1;
    }
    used += (size_t)r;
    session_on_msg(c, &m);
  }
  return c->closing ? -1 : (ssize_t)used;
}

/* Keeps a partial frame: the buffer is sized to the frame when its header
 * is known, else to a small guess, and grows as needed. */
static int conn_keep(conn *c, const uint8_t *p, size_t n) {
  size_t want = 256;
  if (n >= PROTO_HEADER) {
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                   (uint32_t)p[2] << 8 | p[3];
    want = (size_t)len + PROTO_HEADER; /* decoder already capped len */
  }
  if (want < n)
    want = n;
  if (want > sizeof conn_scratch)
    want = sizeof conn_scratch;
  conn_rbuf *rb = c->rbuf;
  bool inside = rb != NULL && p >= rb->data && p < rb->data + rb->cap;
  if (inside && p != rb->data) {
    memmove(rb->data, p, n); /* before realloc can move the block */
    p = rb->data;
  }
  if (rb == NULL || rb->cap < want) {
    conn_rbuf *b = realloc(rb, sizeof *b + want);
    if (b == NULL)
      return -1;
    if (rb == NULL)
      b->len = 0;
    c->rbuf = rb = b;
    rb->cap = (uint32_t)want;
  }
  if (!inside)
    memcpy(rb->data, p, n);
  rb->len = (uint32_t)n;
  return 0;
}

/* Read callback: decode from wherever the bytes landed. */
static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  (void)buf;
  if (c->closing)
    return;
  if (nread < 0) {
    conn_close(c, false,
               nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
    return;
  }
  if (nread == 0)
    return;
  const uint8_t *p;
  size_t n;
  if (c->rbuf != NULL) {
    c->rbuf->len += (uint32_t)nread;
    p = c->rbuf->data;
    n = c->rbuf->len;
  } else {
    p = conn_scratch;
    n = (size_t)nread;
  }
  ssize_t used = conn_decode(c, p, n);
  if (used < 0)
    return;
  size_t left = n - (size_t)used;
  if (left == 0) {
    free(c->rbuf); /* idle clients hold no read buffer */
    c->rbuf = NULL;
    return;
  }
  if (conn_keep(c, p + used, left) < 0) {
    conn_error(c, PERR_INTERNAL, 0, "", "out of memory");
    conn_close(c, true, "out of memory for the read buffer");
  }
}

/* Accept callback body. */
int conn_accept(uv_stream_t *listener) {
  conn *c = slab_alloc(&conn_slab);
  if (c == NULL)
    return UV_ENOMEM;
  int r = uv_tcp_init(srv.loop, &c->tcp);
  if (r < 0) {
    slab_free(&conn_slab, c);
    return r;
  }
  c->tcp.data = c;
  c->refs = 1; /* dropped in the close callback */
  c->when_ms = server_now_ms();
  c->next = srv.conns;
  if (srv.conns != NULL)
    srv.conns->prev = c;
  srv.conns = c;
  srv.nconns++;
  r = uv_accept(listener, (uv_stream_t *)&c->tcp);
  if (r < 0) {
    c->closing = true;
    c->handle_closing = true;
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
    return r;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
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
  r = uv_tcp_nodelay(&c->tcp, 1);
  if (r < 0)
    log_warn(conn_peer(c), "TCP_NODELAY: %s", uv_strerror(r));
  log_info(conn_peer(c), "connected");
  if (srv.stopping) {
    conn_error(c, PERR_SHUTTING_DOWN, 0, "", NULL);
    conn_close(c, true, "server shutting down");
    return 0;
  }
  if (srv.nconns > srv.cfg->max_clients) {
    log_warn(conn_peer(c), "server full (%u clients)", srv.cfg->max_clients);
    store_job *j = store_job_new(STORE_LOGIN_LOG, NULL, NULL);
    snprintf(j->text, sizeof j->text, "%s", conn_ip(c));
    snprintf(j->text2, sizeof j->text2, "server full");
    j->num = c->port;
    store_submit(j);
    conn_error(c, PERR_SERVER_FULL, 0, "",
               "server full: %u clients connected, try again later",
               srv.cfg->max_clients);
    conn_close(c, true, "server full");
    return 0;
  }
  r = uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
  if (r < 0)
    conn_close(c, false, uv_strerror(r));
  return 0;
}

/* Flags c closing without touching the session now: the caller may be
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
  if (!c->handle_closing)
    uv_read_stop((uv_stream_t *)&c->tcp);
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
  session_on_close(c, conn_whys[c->close_why]);
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
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
  }
  proto_msg m = {.type = PROTO_ERROR};
  m.u.error.code = (uint16_t)code;
  m.u.error.ref_type = ref_type;
  m.u.error.subject = proto_str_c(subject);
  m.u.error.text = proto_str_c(text);
  log_debug(conn_peer(c), "error %s: %s", proto_errname(code), text);
  conn_send_msg(c, &m);
}

/* Flags the conn, tears the session down now (so others see the quit at
 * once) and lets the loop close the handle. */
void conn_close(conn *c, bool flush, const char *why) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_flush = flush;
  c->when_ms = server_now_ms() + CONN_CLOSE_GRACE_MS;
  if (!c->handle_closing)
    uv_read_stop((uv_stream_t *)&c->tcp); /* no more input */
  log_info(conn_peer(c), "closing: %s", why);
  session_on_close(c, why);
  if (!c->on_close_list) {
    c->on_close_list = true;
    conn_ref(c); /* dropped when the flush pass takes it off the list */
    c->closing_next = srv.closing;
    srv.closing = c;
  }
  server_wake();
}

/* Write callback: the first bytes of the queue are out. */
static void conn_on_write(uv_write_t *req, int status) {
  conn_write *w = (conn_write *)req;
  conn *c = w->c;
  c->writing = false;
  if (status == 0) {
    outq_consume(&c->out, w->bytes);
  } else if (!c->closing) {
    conn_close(c, false, uv_strerror(status));
  }
  free(w);
  if (c->handle_closing)
    return;
  if (c->out.count > 0 || c->closing)
    conn_mark_dirty(c);
}

/* try_write what the socket takes now, then uv_write the rest. */
void conn_flush(conn *c) {
  if (c->handle_closing || c->writing)
    return;
  if (c->closing && !c->close_flush)
    return;
  while (c->out.count > 0) {
    size_t n = outq_gather(&c->out, conn_gather, sizeof conn_gather);
    uv_buf_t one = uv_buf_init((char *)conn_gather, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &one, 1);
    if (r == UV_EAGAIN || r == UV_ENOSYS)
      break;
    if (r < 0) {
      conn_close(c, false, uv_strerror(r));
      return;
    }
    outq_consume(&c->out, (size_t)r);
    if ((size_t)r < n)
      break; /* the socket is full */
  }
  if (c->out.count == 0) {
    c->out.soft_since_ms = 0;
    if (c->closing)
      conn_reap(c);
    return;
  }
  uv_buf_t iov[CONN_WRITE_IOV];
  size_t n = outq_iov(&c->out, iov, CONN_WRITE_IOV);
  conn_write *w = malloc(sizeof *w + n * sizeof(uv_buf_t));
  if (w == NULL) {
    conn_close(c, false, "out of memory for a write");
    return;
  }
  w->c = c;
  w->bytes = 0;
  for (size_t i = 0; i < n; i++) {
    w->bufs[i] = iov[i];
    w->bytes += iov[i].len;
  }
  int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, (unsigned)n,
                   conn_on_write);
  if (r < 0) {
    free(w);
    conn_close(c, false, uv_strerror(r));
    return;
  }
  c->writing = true;
}

/* Close callback: unlink and drop the open reference. */
static void conn_on_close(uv_handle_t *h) {
  conn *c = h->data;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv.conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv.nconns--;
  log_debug(conn_peer(c), "closed");
  conn_unref(c);
  server_conn_gone();
}

/* Closes the handle once the final frames are out (or not wanted). */
void conn_reap(conn *c) {
  if (c->handle_closing)
    return;
  conn_teardown(c); /* never leave a user pointing at a closed conn */
  if (c->close_flush && (c->out.count > 0 || c->writing) &&
      server_now_ms() < c->when_ms)
    return; /* conn_flush or the tick will come back */
  c->handle_closing = true;
  uv_close((uv_handle_t *)&c->tcp, conn_on_close);
}

/* Timeouts and the soft limit for a connection that is not writing to. */
void conn_tick(conn *c, uint64_t now_ms) {
  if (c->handle_closing)
    return;
  if (c->closing) {
    if (now_ms >= c->when_ms)
      conn_reap(c);
    return;
  }
  if (c->state == CONN_HELLO && now_ms - c->when_ms >= CONN_HELLO_TIMEOUT_MS) {
    conn_error(c, PERR_TIMEOUT, 0, "", "no HELLO within %d seconds",
               CONN_HELLO_TIMEOUT_MS / 1000);
    conn_close(c, true, "handshake timeout");
    return;
  }
  if (c->state == CONN_AUTH && now_ms - c->when_ms >= CONN_LOGIN_TIMEOUT_MS) {
    conn_error(c, PERR_TIMEOUT, 0, "", "no login within %d seconds",
               CONN_LOGIN_TIMEOUT_MS / 1000);
    conn_close(c, true, "login timeout");
    return;
  }
  if (!c->writing)
    outq_trim(&c->out); /* idle for a tick: give the ring back */
  const config *cfg = srv.cfg;
  if (c->out.bytes > 0 &&
      outq_check(&c->out, cfg->outbuf_soft, cfg->outbuf_hard,
                 (uint64_t)cfg->outbuf_soft_seconds * 1000,
                 now_ms) != OUTQ_OK) {
    srv.slow_kills++;
    log_warn(conn_peer(c),
             "slow consumer: %zu bytes queued for over %u s; "
             "disconnected",
             c->out.bytes, cfg->outbuf_soft_seconds);
    conn_close(c, false, "output queue over the soft limit too long");
  }
}
