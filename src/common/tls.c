/* tls.c: the TLS stream backend and the server identity (see tls.h). */
#include "tls.h"
#include "log.h"
#include "tls_rec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_GATHER (64 * 1024)     /* plaintext per SSL_write: 4 records */
#define TLS_FLUSH_MAX (256 * 1024) /* ciphertext handed to one write */
#define TLS_CERT_DAYS (100 * 365)  /* a self-signed identity does not age */
#define TLS_BIO_KEEP 1024          /* a drained memory BIO keeps this much */
/* AES-128-GCM first: fastest where the CPU has AES instructions. */
#define TLS_SUITES                                                             \
  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* One session ticket key: tickets carry its name, are encrypted with aes
 * (AES-256-CBC) and authenticated with hmac (HMAC-SHA256). */
typedef struct tls_ticket_key {
  uint8_t name[16];
  uint8_t aes[32];
  uint8_t hmac[32];
  uint64_t made; /* unix seconds */
} tls_ticket_key;

struct tls_ctx {
  SSL_CTX *ctx;
  bool server;
  SSL_SESSION *session; /* client: the newest ticket, for resumption */
  /* server: ticket keys, newest (encrypting) first; none: OpenSSL's own */
  tls_ticket_key keys[TLS_TICKET_KEYS];
  unsigned nkeys;
  uint64_t full, resumed; /* server: handshakes completed */
  bool own_records;       /* server: records are tls_rec's after handshakes */
};

/* The end-to-end layer inside a relayed stream: its records are the outer
 * layer's plaintext (tls_start_inner). */
typedef struct tls_inner {
  SSL *ssl;
  BIO *in, *out;
  bool secure;
} tls_inner;

typedef struct tls_conn {
  tls_inner *inner; /* NULL unless a second layer runs inside this one */
  SSL *ssl;         /* NULL once rec took the connection over */
  BIO *in, *out;    /* network bytes to OpenSSL; OpenSSL's to the network */
  tls_ctx *ctx;
  /* Server with own records: the traffic secrets during the handshake,
   * then the records, once the SSL is freed (tls_take). */
  tls_rec *rec;
  uint8_t *pend; /* taken over: ciphertext not opened yet (NULL: none) */
  uint32_t plen, pcap;
  uint32_t writes; /* uv_writes in flight */
  bool client;
  bool seen;     /* the peer's first bytes arrived */
  bool secure;   /* handshake done */
  bool verified; /* client: the chain and the host name check out */
  bool bye;      /* taken over: our close_notify is sealed, nothing follows */
  bool running;  /* taken over: tls_rec_run is opening records (pend's) */
} tls_conn;

typedef struct tls_write { /* one uv_write and its ciphertext */
  uv_write_t req;
  stream *s;
  uv_buf_t buf;
  uint8_t data[];
} tls_write;

/* Shared buffers, as in stream.c: used only within one call. */
static uint8_t tls_gather[TLS_GATHER];
static uint8_t tls_plain[STREAM_READ_MAX];
static uint8_t tls_lifted[TLS_GATHER]; /* inner ciphertext on its way out */
/* ciphertext of one flush on its way to the socket (records add < 1%) */
static uint8_t tls_out[TLS_FLUSH_MAX + 2 * TLS_GATHER];

static const stream_backend tls_backend;
static int tls_rec_answer(stream *s);

/* Keeps OpenSSL's reason for the failure (prefixed by what) for
 * stream_strerror and clears its error queue. */
static void tls_note_error(const char *what) {
  unsigned long e = ERR_peek_last_error();
  char buf[256];
  const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
  snprintf(buf, sizeof buf, "%s%s%s", what, why ? ": " : "", why ? why : "");
  stream_set_tls_detail(buf);
  ERR_clear_error();
}

/* Reports a TLS failure to the owner. */
static void tls_fail(stream *s, const char *what) {
  tls_note_error(what);
  stream_fail(s, STREAM_ETLS);
}

/* Write callback: frees the block; the owner hears of the drain once
 * nothing is in flight. Nothing of the TLS state is touched once the
 * stream is closing (it is freed already). */
static void tls_on_write(uv_write_t *req, int status) {
  tls_write *w = (tls_write *)req;
  stream *s = w->s;
  free(w);
  if (s->flags & STREAM_CLOSING)
    return;
  tls_conn *t = s->tls;
  if (--t->writes == 0)
    s->flags &= (uint8_t)~STREAM_WRITING;
  if (status == 0 && t->writes == 0 && t->ssl == NULL)
    status = tls_rec_answer(s); /* a key update owed goes first */
  if (status < 0)
    stream_fail(s, status);
  else if (t->writes == 0 && s->ops->on_drain != NULL)
    s->ops->on_drain(s);
}

/* Queues a copy of p for the socket behind the writes in flight. */
static int tls_queue(stream *s, const uint8_t *p, size_t n) {
  tls_write *w = malloc(sizeof *w + n);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, p, n);
  w->s = s;
  w->buf = uv_buf_init((char *)w->data, (unsigned)n);
  int r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &w->buf, 1, tls_on_write);
  if (r < 0) {
    free(w);
    return r;
  }
  s->tls->writes++;
  s->flags |= STREAM_WRITING;
  return 0;
}

/* Hands n bytes of ciphertext from a shared buffer to the socket: what
 * the socket takes now goes at once (only when nothing is in flight, to
 * keep the order), the rest in one uv_write of its own copy. A large
 * flush the socket takes whole then costs no allocation (a fresh 256 KiB
 * block per flush was most of a direct transfer's sender CPU, in page
 * faults). 0 or a uv error. */
static int tls_emit(stream *s, const uint8_t *p, size_t n) {
  size_t off = 0;
  if (s->tls->writes == 0) {
    uv_buf_t one = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&s->tcp, &one, 1);
    if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS)
      return r;
    off = r > 0 ? (size_t)r : 0;
  }
  return off == n ? 0 : tls_queue(s, p + off, n - off);
}

/* Hands every ciphertext byte OpenSSL produced to the socket (tls_emit;
 * behind writes in flight, read straight into a block of its own). */
static int tls_send(stream *s) {
  tls_conn *t = s->tls;
  size_t n = (size_t)BIO_ctrl_pending(t->out);
  if (n == 0)
    return 0;
  if (t->writes == 0 && n <= sizeof tls_out) {
    if (BIO_read(t->out, tls_out, (int)n) != (int)n)
      return UV_EIO;
    return tls_emit(s, tls_out, n);
  }
  tls_write *w = malloc(sizeof *w + n);
  if (w == NULL)
    return UV_ENOMEM;
  int got = BIO_read(t->out, w->data, (int)n);
  if (got <= 0 || (size_t)got != n) {
    free(w);
    return UV_EIO;
  }
  size_t off = 0;
  if (t->writes == 0) {
    uv_buf_t one = uv_buf_init((char *)w->data, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&s->tcp, &one, 1);
    if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS) {
      free(w);
      return r;
    }
    if (r > 0)
      off = (size_t)r;
  }
  if (off == n) {
    free(w);
    return 0;
  }
  w->s = s;
  w->buf = uv_buf_init((char *)w->data + off, (unsigned)(n - off));
  int r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &w->buf, 1, tls_on_write);
  if (r < 0) {
    free(w);
    return r;
  }
  t->writes++;
  s->flags |= STREAM_WRITING;
  return 0;
}

/* A new memory BIO for one direction of an SSL; NULL when out of memory.
 * Empty means "wait", not EOF. */
static BIO *tls_bio_new(void) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b != NULL)
    BIO_set_mem_eof_return(b, -1);
  return b;
}

/* The capacity of b's buffer. */
static size_t tls_bio_cap(BIO *b) {
  BUF_MEM *bm = NULL;
  return BIO_get_mem_ptr(b, &bm) > 0 && bm != NULL ? bm->max : 0;
}

/* Gives back what a drained memory BIO grew to: a BUF_MEM never shrinks,
 * so a connection that once took a big flight (a login's user list, a
 * coalesced burst: up to TLS_FLUSH_MAX) or a 64 KiB read would hold that
 * much while idle for good (server RSS per idle TLS client 25 / 51 /
 * 90 KB at 1000 / 5000 / 10000 clients measured, 16-18 KB after). An
 * empty BIO whose buffer grew past TLS_BIO_KEEP gets a fresh empty
 * BUF_MEM (the BIO frees the old one: BIO_CLOSE); smaller ones stay, so
 * steady chat does not churn. Out of memory: the old buffer stays, which
 * is harmless. */
static void tls_shed(BIO *b) {
  if (BIO_ctrl_pending(b) != 0 || tls_bio_cap(b) <= TLS_BIO_KEEP)
    return;
  BUF_MEM *fresh = BUF_MEM_new();
  if (fresh != NULL)
    BIO_set_mem_buf(b, fresh, BIO_CLOSE);
}

/* Moves what the inner layer produced into the outer one, as plaintext of
 * outer records. 0, or STREAM_ETLS. */
static int tls_lift(tls_conn *t) {
  size_t n;
  while ((n = (size_t)BIO_ctrl_pending(t->inner->out)) > 0) {
    int got = BIO_read(t->inner->out, tls_lifted,
                       (int)(n < sizeof tls_lifted ? n : sizeof tls_lifted));
    if (got <= 0)
      return STREAM_ETLS;
    ERR_clear_error();
    if (SSL_write(t->ssl, tls_lifted, got) != got) {
      tls_note_error("TLS write failed");
      return STREAM_ETLS;
    }
  }
  return 0;
}

/* The inner layer: advances its handshake, then decrypts what its BIO
 * holds for the owner while it reads; its answers go out through the
 * outer layer. 0, or -1 once the stream failed or started closing. */
static int tls_inner_pump(stream *s) {
  tls_conn *t = s->tls;
  tls_inner *i = t->inner;
  if (!i->secure) {
    ERR_clear_error();
    int r = SSL_do_handshake(i->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(i->ssl, r);
    int w = tls_lift(t);
    if (w == 0)
      w = tls_send(s);
    if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) {
      tls_fail(s, "end-to-end TLS handshake failed");
      return -1;
    }
    if (w < 0) {
      stream_fail(s, w);
      return -1;
    }
    if (e == SSL_ERROR_WANT_READ)
      return 0;
    i->secure = true;
    if (s->ops->on_secure != NULL)
      s->ops->on_secure(s);
    if (s->flags & STREAM_CLOSING)
      return -1;
    if (!(s->flags & STREAM_WRITING) && s->ops->on_drain != NULL)
      s->ops->on_drain(s);
    if (s->flags & STREAM_CLOSING)
      return -1;
  }
  while ((s->flags & STREAM_READING) && !(s->flags & STREAM_CLOSING)) {
    ERR_clear_error();
    int r = SSL_read(i->ssl, tls_plain, (int)sizeof tls_plain);
    if (r > 0) {
      stream_deliver(s, tls_plain, (size_t)r);
      continue;
    }
    int e = SSL_get_error(i->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
      break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      stream_fail(s, UV_EOF);
      return -1;
    }
    tls_fail(s, "end-to-end TLS read failed");
    return -1;
  }
  if (s->flags & STREAM_CLOSING)
    return -1;
  int w = tls_lift(t);
  if (w < 0) {
    stream_fail(s, w);
    return -1;
  }
  return 0;
}

/* Sheds both layers' grown BIO buffers (tls_shed): after each read, and
 * after a flush that emptied the queue (a bulk sender, whose flushes end
 * with the socket full and more queued, keeps its out buffer: growing
 * 256 KiB again would cost copies per flush). */
static void tls_trim(tls_conn *t) {
  tls_shed(t->in);
  tls_shed(t->out);
  if (t->inner != NULL) {
    tls_shed(t->inner->in);
    tls_shed(t->inner->out);
  }
}

/* ---- own records, once a server's handshake is done ------------------- */

static const uint8_t tls_close_notify[2] = {1, 0}; /* level, description */

/* An alert as the last word, if the socket takes it now (best effort:
 * nothing is in flight, and the peer learns why, or that the end was
 * meant). */
static void tls_rec_last_word(stream *s, const uint8_t alert[2]) {
  if (s->tls->writes > 0 || s->tls->bye)
    return;
  s->tls->bye = true;
  long k = tls_rec_seal(s->tls->rec, TLS_REC_ALERT, alert, 2, tls_out);
  if (k > 0) {
    uv_buf_t one = uv_buf_init((char *)tls_out, (unsigned)k);
    (void)uv_try_write((uv_stream_t *)&s->tcp, &one, 1);
  }
}

/* Fails s for a broken record stream, after the alert owed (0: none). */
static void tls_rec_fail(stream *s, uint8_t alert, const char *why) {
  if (alert != 0)
    tls_rec_last_word(s, (const uint8_t[2]){2, alert}); /* fatal */
  char what[160];
  snprintf(what, sizeof what, "TLS read failed: %s", why);
  stream_set_tls_detail(what);
  stream_fail(s, STREAM_ETLS);
}

/* Seals what must go out without data (a key update the peer asked for,
 * an alert) and hands it to the socket; nothing after our close_notify.
 * 0 or a uv error. */
static int tls_rec_say(stream *s, uint8_t type, const uint8_t *p, size_t n) {
  if (s->tls->bye)
    return 0;
  long k = tls_rec_seal(s->tls->rec, type, p, n, tls_out);
  if (k < 0) {
    tls_note_error("TLS write failed");
    return STREAM_ETLS;
  }
  return k > 0 ? tls_emit(s, tls_out, (size_t)k) : 0;
}

/* Answers the key update the peer asked for, once, whatever the number
 * of requests (RFC 8446 4.6.3): now when nothing is in flight, else when
 * the writes in flight are done (tls_on_write) or ahead of the next data
 * (tls_rec_flush). A client asking faster than it reads thus costs one
 * owed answer, not a queued record per request. 0 or a uv error. */
static int tls_rec_answer(stream *s) {
  tls_conn *t = s->tls;
  if (!t->rec->update_owed || t->writes > 0 || t->bye)
    return 0;
  return tls_rec_say(s, TLS_REC_DATA, NULL, 0);
}

/* tls_rec_run's loop. */
static long tls_rec_run_loop(stream *s, const uint8_t *p, size_t n) {
  tls_conn *t = s->tls;
  size_t off = 0, got = 0;
  while ((s->flags & STREAM_READING) && !(s->flags & STREAM_CLOSING)) {
    const char *why = NULL;
    long need = tls_rec_need(p + off, n - off, &why);
    if (need < 0) {
      tls_rec_fail(s, (uint8_t)-need, why);
      return -1;
    }
    if (need == 0 || (size_t)need > n - off)
      break;
    if (got + (size_t)need > sizeof tls_plain) {
      stream_deliver(s, tls_plain, got);
      got = 0;
      continue; /* the owner may have stopped reading */
    }
    size_t m = 0;
    uint8_t alert = 0;
    int res = tls_rec_open(t->rec, p + off, (size_t)need, tls_plain + got, &m,
                           &alert, &why);
    off += (size_t)need;
    if (res == TLS_REC_OPEN_DATA) {
      got += m;
      continue;
    }
    if (res == TLS_REC_OPEN_NONE)
      continue; /* a key update asked for is answered once, after */
    if (got > 0)
      stream_deliver(s, tls_plain, got);
    if (s->flags & STREAM_CLOSING)
      return -1;
    if (res == TLS_REC_OPEN_EOF)
      stream_fail(s, UV_EOF); /* close_notify: a clean end */
    else
      tls_rec_fail(s, alert, why);
    return -1;
  }
  if (got > 0)
    stream_deliver(s, tls_plain, got);
  return (s->flags & STREAM_CLOSING) ? -1 : (long)off;
}

/* Opens the whole records of p[0..n) for the owner while it reads,
 * plaintext handed over in batches of up to STREAM_READ_MAX. An owner
 * that stops and starts reading again within its on_read does not run
 * pend's records a second time underneath (tls_read_start). Returns the
 * bytes used, or -1 once the stream failed or started closing (t may be
 * gone then). */
static long tls_rec_run(stream *s, const uint8_t *p, size_t n) {
  s->tls->running = true;
  long r = tls_rec_run_loop(s, p, n);
  if (s->flags & STREAM_CLOSING)
    return -1;
  s->tls->running = false;
  if (r < 0)
    return r; /* failed: no answer goes after the alert */
  int w = tls_rec_answer(s);
  if (w < 0) {
    stream_fail(s, w);
    return -1;
  }
  return r;
}

/* Appends n bytes of p to pend, growing it to at least want bytes (a
 * whole record when its header is known, so that its further parts need
 * no new allocation). 0, or UV_ENOMEM. */
static int tls_rec_keep(tls_conn *t, const uint8_t *p, size_t n, size_t want) {
  size_t have = t->plen;
  if (want < have + n)
    want = have + n;
  if (want > UINT32_MAX)
    return UV_ENOMEM;
  if (want > t->pcap) {
    uint8_t *b = realloc(t->pend, want);
    if (b == NULL)
      return UV_ENOMEM;
    t->pend = b;
    t->pcap = (uint32_t)want;
  }
  memcpy(t->pend + have, p, n);
  t->plen = (uint32_t)(have + n);
  return 0;
}

/* Runs what pend holds, keeping what is left: freed once empty, so that
 * an idle connection holds no input buffer. -1 once the stream failed or
 * started closing (t may be gone), else 0. */
static int tls_rec_pump(stream *s) {
  tls_conn *t = s->tls;
  if (t->plen == 0)
    return 0;
  long used = tls_rec_run(s, t->pend, t->plen);
  if (used < 0)
    return -1;
  size_t left = t->plen - (size_t)used;
  if (left == 0) {
    free(t->pend);
    t->pend = NULL;
    t->plen = t->pcap = 0;
  } else if (used > 0) {
    memmove(t->pend, t->pend + used, left);
    t->plen = (uint32_t)left;
  }
  return 0;
}

/* Socket bytes after the takeover. A record begun in an earlier read is
 * completed in pend from the first bytes of p and opened there; the rest
 * is opened straight from the read buffer (a bulk stream's reads rarely
 * end on a record's end: copying whole reads would cost a copy of every
 * byte). What is left waits in pend. */
static void tls_rec_input(stream *s, const uint8_t *p, size_t n) {
  tls_conn *t = s->tls;
  while (t->plen > 0 && n > 0) {
    const char *why;
    long need = tls_rec_need(t->pend, t->plen, &why);
    size_t want = need > 0 ? (size_t)need : TLS_REC_HDR;
    size_t top = need < 0 || !(s->flags & STREAM_READING) ? n
                 : want > t->plen                         ? want - t->plen
                                                          : 0;
    if (top > n)
      top = n;
    if (tls_rec_keep(t, p, top, want) < 0) {
      stream_fail(s, UV_ENOMEM);
      return;
    }
    p += top;
    n -= top;
    if (need == 0 && t->plen >= TLS_REC_HDR)
      continue; /* the header is whole now: on to the body */
    if (tls_rec_pump(s) < 0)
      return;
    if (t->plen > 0 && n > 0) { /* not reading: keep it all */
      if (tls_rec_keep(t, p, n, 0) < 0)
        stream_fail(s, UV_ENOMEM);
      return;
    }
  }
  if (n == 0)
    return;
  long used = tls_rec_run(s, p, n);
  if (used >= 0 && (size_t)used < n &&
      tls_rec_keep(t, p + used, n - (size_t)used, 0) < 0)
    stream_fail(s, UV_ENOMEM);
}

/* Seals queued plaintext straight into the socket's buffer, a record at a
 * time gathered in place, handing it over every TLS_FLUSH_MAX bytes and
 * at the end, until the queue is empty or a write is in flight. */
static int tls_rec_flush(stream *s, outq *q) {
  tls_conn *t = s->tls;
  size_t olen = 0;
  if (t->bye)
    return 0; /* nothing after close_notify */
  while (q->count > 0) {
    long k = 0;
    if (tls_rec_update_due(t->rec))
      k = tls_rec_seal(t->rec, TLS_REC_DATA, NULL, 0, tls_out + olen);
    if (k >= 0) {
      olen += (size_t)k;
      uint8_t *body = tls_out + olen + TLS_REC_HDR;
      size_t n = outq_gather(q, body, TLS_REC_PLAIN_MAX);
      if (n == 0) { /* an empty frame: nothing would ever consume it */
        stream_set_tls_detail("TLS write failed: an empty frame queued");
        return STREAM_ETLS;
      }
      k = tls_rec_seal(t->rec, TLS_REC_DATA, body, n, tls_out + olen);
      if (k >= 0) {
        olen += (size_t)k;
        outq_consume(q, n);
      }
    }
    if (k < 0) {
      tls_note_error("TLS write failed");
      return STREAM_ETLS;
    }
    if (q->count > 0 && olen < TLS_FLUSH_MAX)
      continue;
    int r = tls_emit(s, tls_out, olen);
    olen = 0;
    if (r < 0)
      return r;
    if (t->writes > 0)
      break;
  }
  return 0;
}

/* The server's handshake completed: its records become tls_rec's and the
 * SSL goes (about 15 KB per connection, idle or not). The tickets OpenSSL
 * wrote since the client's Finished go out, counted; client records
 * OpenSSL has not read yet wait in pend. When the takeover cannot be
 * done, OpenSSL keeps the connection (the first time is logged). 0 or a
 * uv error. */
static int tls_take(stream *s) {
  tls_conn *t = s->tls;
  size_t n = (size_t)BIO_ctrl_pending(t->out);
  size_t in = (size_t)BIO_ctrl_pending(t->in);
  const char *why = "the handshake's last flight is too long";
  if (n <= sizeof tls_out && in <= UINT32_MAX) {
    if (n > 0 && BIO_read(t->out, tls_out, (int)n) != (int)n)
      return UV_EIO;
    uint8_t *pend = NULL;
    if (tls_rec_take(t->rec, t->ssl, tls_out, n, &why) == 0 &&
        (in == 0 || (pend = malloc(in)) != NULL)) {
      if (in > 0 && BIO_read(t->in, pend, (int)in) != (int)in) {
        free(pend);
        return UV_EIO;
      }
      t->pend = pend;
      t->plen = t->pcap = (uint32_t)in;
      SSL_free(t->ssl); /* and both BIOs */
      t->ssl = NULL;
      t->in = t->out = NULL;
      return n > 0 ? tls_emit(s, tls_out, n) : 0;
    }
    if (pend == NULL && in > 0)
      why = "out of memory";
  }
  static bool told;
  if (!told) {
    told = true;
    log_warn(NULL, "TLS: OpenSSL keeps the records of a connection (%s)", why);
  }
  tls_rec_wipe(t->rec);
  free(t->rec);
  t->rec = NULL;
  return n <= sizeof tls_out ? tls_emit(s, tls_out, n) : tls_send(s);
}

/* Advances the handshake, then decrypts what has arrived and hands it to
 * the owner while it reads; ciphertext OpenSSL answers with (handshake,
 * tickets, key updates) goes out. A server taking the records over
 * (tls_take) counts the last flight before it goes. */
static void tls_pump(stream *s) {
  tls_conn *t = s->tls;
  if (!t->secure) {
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    /* a failed handshake may still owe an alert */
    int w = e == SSL_ERROR_NONE && t->rec != NULL ? 0 : tls_send(s);
    if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) {
      tls_fail(s, "TLS handshake failed");
      return;
    }
    if (w < 0) {
      stream_fail(s, w);
      return;
    }
    if (e == SSL_ERROR_WANT_READ)
      return;
    t->secure = true;
    if (t->client)
      t->verified = SSL_get0_peer_certificate(t->ssl) != NULL &&
                    SSL_get_verify_result(t->ssl) == X509_V_OK;
    else if (SSL_session_reused(t->ssl))
      t->ctx->resumed++;
    else
      t->ctx->full++;
    if (t->rec != NULL && (w = tls_take(s)) < 0) {
      stream_fail(s, w);
      return;
    }
    if (s->ops->on_secure != NULL)
      s->ops->on_secure(s);
    if (s->flags & STREAM_CLOSING)
      return;
    if (!(s->flags & STREAM_WRITING) && s->ops->on_drain != NULL)
      s->ops->on_drain(s); /* output queued meanwhile may go now */
    if (s->flags & STREAM_CLOSING)
      return;
  }
  if (t->ssl == NULL) {
    (void)tls_rec_pump(s);
    return;
  }
  while ((s->flags & STREAM_READING) && !(s->flags & STREAM_CLOSING)) {
    if (t->inner != NULL && tls_inner_pump(s) < 0)
      return;
    if (!(s->flags & STREAM_READING))
      break;
    ERR_clear_error();
    int r = SSL_read(t->ssl, tls_plain, (int)sizeof tls_plain);
    if (r > 0) {
      if (t->inner == NULL)
        stream_deliver(s, tls_plain, (size_t)r);
      else if (BIO_write(t->inner->in, tls_plain, r) != r) {
        stream_fail(s, UV_ENOMEM);
        return;
      }
      continue;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
      break;
    if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: a clean end */
      stream_fail(s, UV_EOF);
      return;
    }
    tls_fail(s, "TLS read failed");
    return;
  }
  if (s->flags & STREAM_CLOSING)
    return;
  int w = tls_send(s);
  if (w < 0) {
    stream_fail(s, w);
    return;
  }
  tls_trim(t);
}

/* Socket bytes: a client whose server answers its hello with something
 * that is neither a handshake (0x16) nor an alert (0x15) record talks to a
 * plain-text server; else the bytes go to OpenSSL. */
static void tls_input(stream *s, const uint8_t *p, size_t n) {
  tls_conn *t = s->tls;
  if (!t->seen) {
    t->seen = true;
    if (t->client && p[0] != 0x16 && p[0] != 0x15) {
      stream_fail(s, STREAM_ENOTTLS);
      return;
    }
  }
  if (t->ssl == NULL) {
    tls_rec_input(s, p, n);
    return;
  }
  if (BIO_write(t->in, p, (int)n) != (int)n) {
    stream_fail(s, UV_ENOMEM);
    return;
  }
  tls_pump(s);
}

/* Reads as TCP does; plaintext OpenSSL already holds is handed over now,
 * so a stream that paused with a record half-delivered goes on. */
static int tls_read_start(stream *s) {
  int r = stream_tcp.read_start(s);
  tls_conn *t = s->tls;
  if (t->ssl == NULL) {
    if (r == 0 && !t->running)
      (void)tls_rec_pump(s);
  } else if (r == 0 && t->secure &&
             (SSL_pending(t->ssl) > 0 || BIO_ctrl_pending(t->in) > 0 ||
              (t->inner != NULL && (SSL_pending(t->inner->ssl) > 0 ||
                                    BIO_ctrl_pending(t->inner->in) > 0))))
    tls_pump(s);
  return r;
}

static int tls_read_stop(stream *s) {
  return stream_tcp.read_stop(s);
}

/* Encrypts queued plaintext in gathers of up to TLS_GATHER bytes (full
 * records), handing the ciphertext to the socket every TLS_FLUSH_MAX
 * bytes and at the end, until the queue is empty or a write is in flight
 * (then on_drain asks for more). Nothing moves before the handshake. */
static int tls_flush(stream *s, outq *q) {
  tls_conn *t = s->tls;
  if (!t->secure || (t->inner != NULL && !t->inner->secure) ||
      (s->flags & (STREAM_WRITING | STREAM_CLOSING)))
    return 0;
  if (t->ssl == NULL)
    return tls_rec_flush(s, q);
  SSL *ssl = t->inner != NULL ? t->inner->ssl : t->ssl;
  while (q->count > 0) {
    size_t n = outq_gather(q, tls_gather, sizeof tls_gather);
    ERR_clear_error();
    int w = SSL_write(ssl, tls_gather, (int)n);
    if (w <= 0) {
      tls_note_error("TLS write failed");
      return STREAM_ETLS;
    }
    outq_consume(q, (size_t)w);
    if (t->inner != NULL && tls_lift(t) < 0)
      return STREAM_ETLS;
    if (q->count > 0 && BIO_ctrl_pending(t->out) < TLS_FLUSH_MAX)
      continue;
    int r = tls_send(s);
    if (r < 0)
      return r;
    if (t->writes > 0)
      break;
  }
  if (q->count == 0) /* not in the middle of a bulk transfer */
    tls_trim(t);
  return 0;
}

/* close_notify, then TCP's FIN after it. */
static int tls_shutdown(stream *s) {
  tls_conn *t = s->tls;
  if (t->inner != NULL && t->inner->secure) {
    ERR_clear_error();
    (void)SSL_shutdown(t->inner->ssl);
    ERR_clear_error();
    if (tls_lift(t) < 0)
      return STREAM_ETLS;
  }
  if (t->ssl == NULL && !t->bye) {
    t->bye = true;
    int r = tls_rec_say(s, TLS_REC_ALERT, tls_close_notify, 2);
    if (r < 0)
      return r;
  } else if (t->ssl != NULL && t->secure) {
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl); /* 0: ours sent, the peer's not awaited */
    ERR_clear_error();
    int r = tls_send(s);
    if (r < 0)
      return r;
  }
  return stream_tcp.shutdown(s);
}

/* Says close_notify if the socket takes it now (best effort: a peer that
 * sees it knows the end was meant), frees the TLS state (writes in flight
 * own their bytes and look at it no more), then closes the socket. */
static void tls_close(stream *s) {
  tls_conn *t = s->tls;
  if (t->ssl == NULL) {
    tls_rec_last_word(s, tls_close_notify);
  } else if (t->secure && t->writes == 0) {
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
    char buf[256];
    int n = BIO_read(t->out, buf, sizeof buf);
    if (n > 0) {
      uv_buf_t one = uv_buf_init(buf, (unsigned)n);
      (void)uv_try_write((uv_stream_t *)&s->tcp, &one, 1);
    }
  }
  /* An end without close_notify (writes in flight, a dropped network)
   * still leaves the session resumable: TLS 1.3 tickets do not die with
   * an unclean end, but OpenSSL marks the session not resumable unless
   * the end is flagged as said, and the client's next connect would be a
   * full handshake. */
  if (t->secure && t->ssl != NULL)
    SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
  s->tls = NULL;
  if (t->rec != NULL) {
    tls_rec_wipe(t->rec);
    free(t->rec);
  }
  free(t->pend);
  if (t->inner != NULL) {
    SSL_free(t->inner->ssl);
    free(t->inner);
  }
  SSL_free(t->ssl); /* frees both BIOs */
  free(t);
  stream_tcp.close(s);
}

static const stream_backend tls_backend = {
    .name = "tls",
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .flush = tls_flush,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .input = tls_input,
};

/* Client: keeps the newest session ticket (one server per client). */
static int tls_on_new_session(SSL *ssl, SSL_SESSION *sess) {
  tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  if (c->session != NULL)
    SSL_SESSION_free(c->session);
  c->session = sess;
  return 1; /* we own the reference now */
}

/* Server: keeps the application traffic secrets for the takeover of the
 * records (tls_take); the connection is the SSL's app data. */
static void tls_keylog(const SSL *ssl, const char *line) {
  tls_conn *t = SSL_get_app_data(ssl);
  if (t != NULL && t->rec != NULL)
    tls_rec_keylog(t->rec, line, true);
}

/* The settings both sides share: TLS 1.3 only, our suite order, record
 * buffers released while idle; a server takes its records over. */
static tls_ctx *tls_ctx_new(const SSL_METHOD *m, bool server, char *err,
                            size_t cap) {
  tls_ctx *c = calloc(1, sizeof *c);
  if (c == NULL) {
    snprintf(err, cap, "out of memory");
    return NULL;
  }
  c->server = server;
  c->ctx = SSL_CTX_new(m);
  if (c->ctx == NULL ||
      !SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(c->ctx, TLS_SUITES)) {
    snprintf(err, cap, "cannot set up TLS: %s",
             ERR_reason_error_string(ERR_peek_last_error()));
    ERR_clear_error();
    tls_ctx_free(c);
    return NULL;
  }
  SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_app_data(c->ctx, c);
  if (server) {
    SSL_CTX_set_keylog_callback(c->ctx, tls_keylog);
    c->own_records = true;
  }
  return c;
}

/* Server context from PEM files. */
tls_ctx *tls_ctx_server(const char *cert, const char *key, char *err,
                        size_t cap) {
  tls_ctx *c = tls_ctx_new(TLS_server_method(), true, err, cap);
  if (c == NULL)
    return NULL;
  SSL_CTX_set_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* Tickets live a day, not OpenSSL's 2 h: a client connected for hours
   * still resumes after a restart. A connection gets its tickets at its
   * handshake only (the records are parleyd's after it), so clients
   * connected longer make full handshakes then; a key older than this
   * leaves the tickets file a day after the next one was made. */
  SSL_CTX_set_timeout(c->ctx, TLS_TICKET_LIFE_S);
  if (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1) {
    snprintf(err, cap, "cannot load TLS certificate %s: %s", cert,
             ERR_reason_error_string(ERR_peek_last_error()));
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1) {
    snprintf(err, cap, "cannot load TLS key %s: %s", key,
             ERR_reason_error_string(ERR_peek_last_error()));
    goto fail;
  }
  if (SSL_CTX_check_private_key(c->ctx) != 1) {
    snprintf(err, cap, "TLS key %s does not match certificate %s", key, cert);
    goto fail;
  }
  return c;
fail:
  ERR_clear_error();
  tls_ctx_free(c);
  return NULL;
}

/* Client context: system CAs, verification checked after the handshake
 * (trust on first use decides, not the handshake), one cached session. */
tls_ctx *tls_ctx_client(char *err, size_t cap) {
  tls_ctx *c = tls_ctx_new(TLS_client_method(), false, err, cap);
  if (c == NULL)
    return NULL;
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
  if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
    ERR_clear_error(); /* no system CAs: every server is then TOFU */
  SSL_CTX_set_timeout(c->ctx, TLS_TICKET_LIFE_S); /* as parleyd's tickets */
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT |
                                             SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c->ctx, tls_on_new_session);
  return c;
}

void tls_ctx_free(tls_ctx *c) {
  if (c == NULL)
    return;
  if (c->session != NULL)
    SSL_SESSION_free(c->session);
  SSL_CTX_free(c->ctx);
  OPENSSL_cleanse(c->keys, sizeof c->keys);
  free(c);
}

void tls_ctx_own_records(tls_ctx *c, bool on) {
  c->own_records = on && c->server;
}

void tls_ctx_stats(const tls_ctx *c, tls_stats *out) {
  memset(out, 0, sizeof *out);
  out->full = c->full;
  out->resumed = c->resumed;
  out->keys = c->nkeys;
  out->key_made = c->nkeys > 0 ? c->keys[0].made : 0;
}

/* An SSL of ctx between two memory BIOs (*in: bytes to it, *out: its
 * bytes); NULL when out of memory. */
static SSL *tls_ssl_new(tls_ctx *ctx, BIO **in, BIO **out) {
  SSL *ssl = SSL_new(ctx->ctx);
  *in = tls_bio_new();
  *out = tls_bio_new();
  if (ssl == NULL || *in == NULL || *out == NULL) {
    BIO_free(*in);
    BIO_free(*out);
    SSL_free(ssl);
    ERR_clear_error();
    return NULL;
  }
  SSL_set_bio(ssl, *in, *out);
  return ssl;
}

/* Wraps s: memory BIOs on both sides of OpenSSL, then the first flight. */
int tls_start(stream *s, tls_ctx *ctx, const char *host, const uint8_t *pre,
              size_t n) {
  tls_conn *t = calloc(1, sizeof *t);
  if (t == NULL)
    return UV_ENOMEM;
  t->ctx = ctx;
  t->client = host != NULL;
  t->ssl = tls_ssl_new(ctx, &t->in, &t->out);
  if (t->ssl == NULL) {
    free(t);
    return UV_ENOMEM;
  }
  if (t->client) {
    SSL_set_connect_state(t->ssl);
    unsigned char ip[16];
    bool is_ip =
        inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
                   : SSL_set_tlsext_host_name(t->ssl, host) &&
                         SSL_set1_host(t->ssl, host);
    if (!ok)
      ERR_clear_error(); /* no name check: the fingerprint still decides */
    if (ctx->session != NULL && SSL_SESSION_is_resumable(ctx->session))
      SSL_set_session(t->ssl, ctx->session);
  } else {
    SSL_set_accept_state(t->ssl);
    if (ctx->own_records && (t->rec = calloc(1, sizeof *t->rec)) != NULL)
      SSL_set_app_data(t->ssl, t); /* out of memory: OpenSSL's records */
  }
  s->tls = t;
  s->be = &tls_backend;
  if (n > 0) {
    t->seen = true;
    if (BIO_write(t->in, pre, (int)n) != (int)n)
      return UV_ENOMEM;
  }
  tls_pump(s);
  return 0;
}

/* The inner layer starts inside the outer one's plaintext: the client
 * side when client, else the server side with ctx's certificate. */
int tls_start_inner(stream *s, tls_ctx *ctx, bool client, const uint8_t *pre,
                    size_t n) {
  tls_conn *t = s->tls;
  if (t == NULL || !t->secure || t->inner != NULL || t->ssl == NULL)
    return UV_EINVAL;
  tls_inner *i = calloc(1, sizeof *i);
  if (i == NULL)
    return UV_ENOMEM;
  i->ssl = tls_ssl_new(ctx, &i->in, &i->out);
  if (i->ssl == NULL) {
    free(i);
    return UV_ENOMEM;
  }
  if (client)
    SSL_set_connect_state(i->ssl);
  else
    SSL_set_accept_state(i->ssl);
  t->inner = i;
  if (n > 0 && BIO_write(i->in, pre, (int)n) != (int)n)
    return UV_ENOMEM;
  (void)tls_inner_pump(s); /* a failure went to the owner's on_error */
  return 0;
}

bool tls_inner_active(const stream *s) {
  return s->tls != NULL && s->tls->inner != NULL;
}

bool tls_active(const stream *s) {
  return s->tls != NULL;
}

bool tls_secure(const stream *s) {
  if (s->tls == NULL)
    return false;
  return s->tls->inner != NULL ? s->tls->inner->secure : s->tls->secure;
}

bool tls_peer_verified(const stream *s) {
  return s->tls != NULL && s->tls->verified;
}

/* The SHA-256 of the certificate key's SPKI DER into md. 0 or -1. */
static int tls_key_digest(X509 *x, uint8_t md[TLS_DIGEST_LEN]) {
  unsigned char *der = NULL;
  int len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
  if (len <= 0)
    return -1;
  unsigned int mdlen = 0;
  int ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
  OPENSSL_free(der);
  return ok && mdlen == TLS_DIGEST_LEN ? 0 : -1;
}

/* "SHA256:" + unpadded base64 of a key digest. */
int tls_digest_text(const uint8_t md[TLS_DIGEST_LEN], char *out, size_t cap) {
  unsigned char b64[48];
  if (EVP_EncodeBlock(b64, md, TLS_DIGEST_LEN) != 44)
    return -1;
  size_t n = 44;
  while (n > 0 && b64[n - 1] == '=')
    n--;
  if (snprintf(out, cap, "SHA256:%.*s", (int)n, (const char *)b64) >= (int)cap)
    return -1;
  return 0;
}

/* "SHA256:" + unpadded base64 of the SHA-256 of the key's SPKI DER. */
static int tls_key_fingerprint(X509 *x, char *out, size_t cap) {
  uint8_t md[TLS_DIGEST_LEN];
  return tls_key_digest(x, md) == 0 ? tls_digest_text(md, out, cap) : -1;
}

/* The innermost layer's peer certificate (NULL when none). */
static X509 *tls_peer_cert(const stream *s) {
  if (s->tls == NULL || s->tls->ssl == NULL) /* taken over: a server's */
    return NULL;
  return SSL_get0_peer_certificate(s->tls->inner != NULL ? s->tls->inner->ssl
                                                         : s->tls->ssl);
}

int tls_peer_fingerprint(const stream *s, char *out, size_t cap) {
  X509 *x = tls_peer_cert(s);
  return x != NULL ? tls_key_fingerprint(x, out, cap) : -1;
}

int tls_peer_digest(const stream *s, uint8_t md[TLS_DIGEST_LEN]) {
  X509 *x = tls_peer_cert(s);
  return x != NULL ? tls_key_digest(x, md) : -1;
}

size_t tls_buffered(const stream *s) {
  tls_conn *t = s->tls;
  if (t == NULL)
    return 0;
  if (t->ssl == NULL)
    return t->pcap;
  size_t n = tls_bio_cap(t->in) + tls_bio_cap(t->out);
  if (t->inner != NULL)
    n += tls_bio_cap(t->inner->in) + tls_bio_cap(t->inner->out);
  return n;
}

const char *tls_describe(const stream *s) {
  static char buf[96];
  if (s->tls == NULL || !s->tls->secure)
    return "";
  if (s->tls->ssl == NULL) {
    snprintf(buf, sizeof buf, "TLSv1.3 %s%s (own records)",
             tls_rec_suite_name(s->tls->rec),
             s->tls->rec->resumed ? " resumed" : "");
    return buf;
  }
  snprintf(buf, sizeof buf, "%s %s%s", SSL_get_version(s->tls->ssl),
           SSL_get_cipher_name(s->tls->ssl),
           SSL_session_reused(s->tls->ssl) ? " resumed" : "");
  return buf;
}

/* ---- identity ----------------------------------------------------------- */

/* Writes n bytes through a temporary file beside path (mode), synced,
 * then renamed over path: a crash leaves the old file or the new one,
 * never half of one. 0 or -1 with err. */
static int tls_write_atomic(const char *path, mode_t mode, const void *data,
                            size_t n, char *err, size_t cap) {
  char tmp[1100];
  if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >=
      (int)sizeof tmp) {
    snprintf(err, cap, "path too long: %s", path);
    return -1;
  }
  (void)unlink(tmp); /* a leftover of a crashed process of the same pid */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    snprintf(err, cap, "cannot create %s: %s", tmp, strerror(errno));
    return -1;
  }
  const char *p = data;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  bool ok = off == n && fsync(fd) == 0;
  if (close(fd) != 0)
    ok = false;
  if (!ok || rename(tmp, path) != 0) {
    snprintf(err, cap, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  /* The rename itself lasts only once the directory is synced: else a
   * power cut may bring the old file back (best effort). */
  char dir[1100];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return 0;
}

/* A PEM key (when key) or certificate written with tls_write_atomic. */
static int tls_write_pem(const char *path, mode_t mode, EVP_PKEY *key,
                         X509 *cert, char *err, size_t cap) {
  BIO *b = BIO_new(BIO_s_mem());
  int ok =
      b != NULL &&
      (key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_bio_X509(b, cert));
  char *data = NULL;
  long n = ok ? BIO_get_mem_data(b, &data) : 0;
  int r = -1;
  if (n > 0)
    r = tls_write_atomic(path, mode, data, (size_t)n, err, cap);
  else
    snprintf(err, cap, "cannot write %s: out of memory", path);
  if (n > 0)
    OPENSSL_cleanse(data, (size_t)n); /* the private key's PEM */
  BIO_free(b);
  ERR_clear_error();
  return r;
}

/* An Ed25519 key and a certificate for it named cn, signed by itself.
 * 0, or -1 with a reason in err (nothing to free then). */
static int tls_self_signed(const char *cn, EVP_PKEY **kp, X509 **xp, char *err,
                           size_t cap) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  X509 *x = X509_new();
  X509_NAME *name = X509_NAME_new();
  int ok = k != NULL && x != NULL && name != NULL;
  unsigned char serial[16];
  BIGNUM *bn = NULL;
  if (ok) {
    ok = RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* a positive serial */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    ok = ok && bn != NULL &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
         X509_set_version(x, 2) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -86400) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_CERT_DAYS * 86400) !=
             NULL &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
         X509_set_pubkey(x, k) && X509_sign(x, k, NULL) > 0;
  }
  BN_free(bn);
  X509_NAME_free(name);
  if (!ok) {
    snprintf(err, cap, "cannot make a TLS key and certificate: %s",
             ERR_reason_error_string(ERR_peek_last_error()));
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return -1;
  }
  *kp = k;
  *xp = x;
  return 0;
}

/* Makes the files when the key file is missing (see tls.h). */
int tls_identity_ensure(const char *cert, const char *key, const char *cn,
                        bool *made, char *err, size_t cap) {
  *made = false;
  if (access(key, F_OK) == 0 && access(cert, F_OK) == 0)
    return 0;
  EVP_PKEY *k;
  X509 *x;
  if (tls_self_signed(cn, &k, &x, err, cap) < 0)
    return -1;
  int r = -1;
  if (tls_write_pem(key, 0600, k, NULL, err, cap) == 0 &&
      tls_write_pem(cert, 0644, NULL, x, err, cap) == 0) {
    *made = true;
    r = 0;
  }
  X509_free(x);
  EVP_PKEY_free(k);
  return r;
}

/* A fresh key held in memory only: the sender's side of one transfer.
 * No tickets (every transfer is a full handshake with a new key). */
tls_ctx *tls_ctx_peer_server(uint8_t md[TLS_DIGEST_LEN], char *err,
                             size_t cap) {
  tls_ctx *c = tls_ctx_new(TLS_server_method(), true, err, cap);
  if (c == NULL)
    return NULL;
  EVP_PKEY *k;
  X509 *x;
  if (tls_self_signed("parley transfer", &k, &x, err, cap) < 0) {
    tls_ctx_free(c);
    return NULL;
  }
  int ok = SSL_CTX_use_certificate(c->ctx, x) == 1 &&
           SSL_CTX_use_PrivateKey(c->ctx, k) == 1 &&
           SSL_CTX_set_num_tickets(c->ctx, 0) == 1 &&
           tls_key_digest(x, md) == 0;
  X509_free(x); /* the context holds its own references */
  EVP_PKEY_free(k);
  if (!ok) {
    snprintf(err, cap, "cannot use the transfer key: %s",
             ERR_reason_error_string(ERR_peek_last_error()));
    ERR_clear_error();
    tls_ctx_free(c);
    return NULL;
  }
  SSL_CTX_set_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  return c;
}

/* The receiver's side: no CA, no name, no session cache; the pinned
 * digest decides after the handshake (tls_peer_digest). */
tls_ctx *tls_ctx_peer_client(char *err, size_t cap) {
  tls_ctx *c = tls_ctx_new(TLS_client_method(), false, err, cap);
  if (c == NULL)
    return NULL;
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
  return c;
}

int tls_cert_fingerprint(const char *cert, char *out, size_t cap, char *err,
                         size_t errcap) {
  FILE *f = fopen(cert, "re");
  if (f == NULL) {
    snprintf(err, errcap, "cannot read %s: %s", cert, strerror(errno));
    return -1;
  }
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL || tls_key_fingerprint(x, out, cap) < 0) {
    snprintf(err, errcap, "%s holds no usable certificate", cert);
    X509_free(x);
    ERR_clear_error();
    return -1;
  }
  X509_free(x);
  return 0;
}

/* ---- session tickets that outlive the process ---------------------------- */

/* The file: this line, then one line per key, newest first:
 * "MADE NAME AES HMAC\n", MADE in unix seconds, the rest in lower-case hex. */
static const char tls_ticket_magic[] = "parley-tickets 1\n";
#define TLS_TICKET_LINE (20 + 1 + 32 + 1 + 64 + 1 + 64 + 1)
#define TLS_TICKET_FILE                                                        \
  (sizeof tls_ticket_magic + TLS_TICKET_KEYS * TLS_TICKET_LINE)

/* OpenSSL asks for the key of a new ticket (enc) or of one a client
 * presents: 1 to use it, 2 to use it and issue a fresh ticket under the
 * newest key, 0 for an unknown key (a full handshake), -1 on failure. */
static int tls_ticket_cb(SSL *ssl, unsigned char name[16],
                         unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc) {
  static char digest[] = "SHA256";
  tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  unsigned i = 0;
  if (enc) {
    memcpy(name, c->keys[0].name, sizeof c->keys[0].name);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
      return -1;
  } else {
    while (i < c->nkeys && memcmp(name, c->keys[i].name, 16) != 0)
      i++;
    if (i == c->nkeys)
      return 0;
  }
  tls_ticket_key *k = &c->keys[i];
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac,
                                        sizeof k->hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(hctx, params) != 1)
    return -1;
  int ok = enc ? EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes, iv)
               : EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes, iv);
  if (ok != 1)
    return -1;
  return i == 0 ? 1 : 2;
}

/* n bytes from 2n lower-case hex digits at *p, which moves past them.
 * False at anything else (the text ends with a NUL, which stops it). */
static bool tls_unhex(const char **p, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    for (int half = 0; half < 2; half++) {
      char ch = *(*p)++;
      if (ch >= '0' && ch <= '9')
        v = v * 16 + (unsigned)(ch - '0');
      else if (ch >= 'a' && ch <= 'f')
        v = v * 16 + (unsigned)(ch - 'a' + 10);
      else
        return false;
    }
    out[i] = (uint8_t)v;
  }
  return true;
}

/* The keys in the file's text; how many, or -1 when it is damaged. */
static int tls_tickets_parse(const char *text, tls_ticket_key *keys) {
  size_t m = strlen(tls_ticket_magic);
  if (strncmp(text, tls_ticket_magic, m) != 0)
    return -1;
  const char *p = text + m;
  int n = 0;
  while (*p != '\0') {
    if (n == TLS_TICKET_KEYS || *p < '0' || *p > '9')
      return -1;
    tls_ticket_key *k = &keys[n];
    char *end;
    errno = 0;
    unsigned long long made = strtoull(p, &end, 10);
    if (errno != 0 || *end != ' ')
      return -1;
    p = end + 1;
    if (!tls_unhex(&p, k->name, sizeof k->name) || *p++ != ' ' ||
        !tls_unhex(&p, k->aes, sizeof k->aes) || *p++ != ' ' ||
        !tls_unhex(&p, k->hmac, sizeof k->hmac) || *p++ != '\n')
      return -1;
    k->made = (uint64_t)made;
    for (int i = 0; i < n; i++)
      if (memcmp(keys[i].name, k->name, sizeof k->name) == 0)
        return -1; /* a ticket must name one key */
    n++;
  }
  return n;
}

/* Reads the keys of path: how many; -2 when there is no file; -1 with the
 * reason in why when it cannot be used. */
static int tls_tickets_read(const char *path, tls_ticket_key *keys, char *why,
                            size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return -2;
    snprintf(why, cap, "cannot read it: %s", strerror(errno));
    return -1;
  }
  char text[TLS_TICKET_FILE + 1];
  size_t len = 0;
  int n = -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, cap, "not a regular file");
  } else if (st.st_mode & 077) { /* secrets others could read: not ours */
    snprintf(why, cap, "readable by others (mode %03o)",
             (unsigned)(st.st_mode & 0777));
  } else {
    ssize_t got;
    while (len < sizeof text - 1 &&
           ((got = read(fd, text + len, sizeof text - 1 - len)) > 0 ||
            (got < 0 && errno == EINTR)))
      len += got > 0 ? (size_t)got : 0;
    text[len] = '\0';
    if (len == sizeof text - 1 || strlen(text) != len ||
        (n = tls_tickets_parse(text, keys)) < 0) {
      snprintf(why, cap, "damaged");
      n = -1;
    }
  }
  close(fd);
  OPENSSL_cleanse(text, len);
  return n;
}

/* The file's text for n keys into out (TLS_TICKET_FILE bytes); its length. */
static size_t tls_tickets_text(const tls_ticket_key *keys, unsigned n,
                               char *out) {
  size_t off = (size_t)snprintf(out, TLS_TICKET_FILE, "%s", tls_ticket_magic);
  for (unsigned i = 0; i < n; i++) {
    const tls_ticket_key *k = &keys[i];
    off += (size_t)snprintf(out + off, TLS_TICKET_FILE - off, "%llu ",
                            (unsigned long long)k->made);
    const uint8_t *parts[3] = {k->name, k->aes, k->hmac};
    const size_t sizes[3] = {sizeof k->name, sizeof k->aes, sizeof k->hmac};
    for (int p = 0; p < 3; p++) {
      for (size_t b = 0; b < sizes[p]; b++)
        off += (size_t)snprintf(out + off, TLS_TICKET_FILE - off, "%02x",
                                parts[p][b]);
      out[off++] = p < 2 ? ' ' : '\n';
    }
  }
  out[off] = '\0';
  return off;
}

/* A fresh random key made at now into *k; false when OpenSSL's generator
 * failed (*k is wiped then). */
static bool tls_ticket_key_new(tls_ticket_key *k, uint64_t now) {
  if (RAND_bytes(k->name, sizeof k->name) != 1 ||
      RAND_bytes(k->aes, sizeof k->aes) != 1 ||
      RAND_bytes(k->hmac, sizeof k->hmac) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(k, sizeof *k);
    return false;
  }
  k->made = now;
  return true;
}

/* How many of the n keys at first (newest first) to keep: the newest
 * encrypted until now, however old it is; each older one stopped when the
 * key after it was made, and goes once the tickets it issued have expired
 * (life seconds) since then. */
static unsigned tls_tickets_kept(const tls_ticket_key *first, unsigned n,
                                 uint64_t now, uint64_t life) {
  unsigned kept = 1;
  while (kept < n && kept < TLS_TICKET_KEYS && first[kept - 1].made <= now &&
         now - first[kept - 1].made < life)
    kept++;
  return kept;
}

int tls_ctx_tickets(tls_ctx *c, const char *path, uint64_t now, char *note,
                    size_t cap) {
  /* keys[0] is room for a new key in front of the file's */
  tls_ticket_key keys[TLS_TICKET_KEYS + 1];
  char why[160] = "";
  int got = tls_tickets_read(path, keys + 1, why, sizeof why);
  unsigned n = got > 0 ? (unsigned)got : 0;
  uint64_t age = n > 0 && keys[1].made <= now ? now - keys[1].made : 0;
  bool rotate = n == 0 || keys[1].made > now || age >= TLS_TICKET_ROTATE_S;
  tls_ticket_key *first = keys + 1;
  int warn = 0;
  if (rotate) {
    first = keys;
    if (!tls_ticket_key_new(&keys[0], now)) {
      OPENSSL_cleanse(keys, sizeof keys);
      snprintf(note, cap,
               "WARNING: cannot make a TLS session ticket key; "
               "sessions resume only while this process runs");
      return 1;
    }
    n++;
  }
  unsigned kept =
      tls_tickets_kept(first, n, now, (uint64_t)SSL_CTX_get_timeout(c->ctx));
  bool changed = got < 0 || rotate || kept != n;
  memcpy(c->keys, first, kept * sizeof *first);
  c->nkeys = kept;
  SSL_CTX_set_tlsext_ticket_key_evp_cb(c->ctx, tls_ticket_cb);
  if (got == -1) {
    snprintf(note, cap,
             "WARNING: TLS session ticket keys %s: %s; made a "
             "new key (clients do one full handshake each)",
             path, why);
    warn = 1;
  } else if (got == -2) {
    snprintf(note, cap, "TLS: new session ticket key in %s", path);
  } else if (rotate) {
    snprintf(note, cap,
             "TLS: new session ticket key in %s (%u kept for "
             "tickets already issued)",
             path, kept - 1);
  } else {
    snprintf(note, cap,
             "TLS: session ticket keys from %s (%u, the newest "
             "%llu h old)",
             path, kept, (unsigned long long)(age / 3600));
  }
  if (changed) {
    char text[TLS_TICKET_FILE + 1], err[1300];
    size_t len = tls_tickets_text(c->keys, c->nkeys, text);
    if (tls_write_atomic(path, 0600, text, len, err, sizeof err) < 0) {
      snprintf(note, cap,
               "WARNING: TLS session ticket keys: %s; sessions "
               "resume only while this process runs",
               err);
      warn = 1;
    }
    OPENSSL_cleanse(text, sizeof text);
  }
  OPENSSL_cleanse(keys, sizeof keys);
  return warn;
}

/* ---- rotation while the server runs ---------------------------------------
 */

struct tls_rotation {
  tls_ticket_key keys[TLS_TICKET_KEYS + 1]; /* [0]: the new key */
  unsigned n;                               /* keys after the new one */
  uint64_t now, life;
  bool made;    /* the new key exists */
  bool written; /* and the file holds it */
  char path[1100];
  char err[1300];
};

uint64_t tls_tickets_due_in(const tls_ctx *c, uint64_t now, uint64_t period) {
  if (c == NULL || c->nkeys == 0)
    return UINT64_MAX; /* OpenSSL's own keys: nothing of ours to rotate */
  uint64_t made = c->keys[0].made;
  if (made > now) /* the clock went back: a new key, as at start-up */
    return 0;
  return now - made >= period ? 0 : period - (now - made);
}

tls_rotation *tls_rotation_new(const tls_ctx *c, const char *path,
                               uint64_t now) {
  tls_rotation *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  memcpy(r->keys + 1, c->keys, c->nkeys * sizeof *c->keys);
  r->n = c->nkeys;
  r->now = now;
  r->life = (uint64_t)SSL_CTX_get_timeout(c->ctx);
  snprintf(r->path, sizeof r->path, "%s", path);
  return r;
}

void tls_rotation_run(tls_rotation *r) {
  r->made = tls_ticket_key_new(&r->keys[0], r->now);
  if (!r->made)
    return;
  r->n = tls_tickets_kept(r->keys, r->n + 1, r->now, r->life);
  char text[TLS_TICKET_FILE + 1];
  size_t len = tls_tickets_text(r->keys, r->n, text);
  r->written =
      tls_write_atomic(r->path, 0600, text, len, r->err, sizeof r->err) == 0;
  OPENSSL_cleanse(text, sizeof text);
}

int tls_rotation_done(tls_ctx *c, tls_rotation *r, char *note, size_t cap) {
  int warn = 0;
  if (!r->made) {
    snprintf(note, cap,
             "WARNING: cannot make a new TLS session ticket key; "
             "the old one goes on");
    warn = 1;
  } else {
    memcpy(c->keys, r->keys, r->n * sizeof *r->keys);
    c->nkeys = r->n;
    if (r->written) {
      snprintf(note, cap,
               "TLS: new session ticket key in %s (%u kept for tickets "
               "already issued)",
               r->path, r->n - 1);
    } else {
      snprintf(note, cap,
               "WARNING: TLS session ticket keys: %s; the new key lives in "
               "this process only",
               r->err);
      warn = 1;
    }
  }
  OPENSSL_cleanse(r, sizeof *r);
  free(r);
  return warn;
}
