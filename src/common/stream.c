/* stream.c: byte streams over a backend, and forwarding with backpressure
 * (see stream.h). */
#include "stream.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbuf.h"

#define STREAM_WRITE_IOV 64       /* buffers per uv_write */
#define STREAM_GATHER (64 * 1024) /* bytes per try_write */
#define STREAM_DIRECT (8 * 1024)  /* a head frame this big goes uncopied */

#define STREAM_OF(ptr) ((stream *)((char *)(ptr)-offsetof(stream, tcp)))

/* One read buffer for every stream: libuv calls alloc and read back to
 * back for one stream at a time, and on_read must be done with the bytes
 * when it returns, so idle streams hold no read memory. */
static uint8_t stream_scratch[STREAM_READ_MAX];

/* One gather buffer for flushes: queued frames are copied into it so that
 * each try_write is one contiguous buffer (a writev of many tiny iovecs
 * costs the kernel far more). Used only within a flush. */
static uint8_t stream_gather[STREAM_GATHER];

typedef struct stream_write { /* a uv_write and its buffers, one block */
  uv_write_t req;
  stream *s;
  outq *q;      /* the queue whose head bytes this write carries */
  size_t bytes; /* consumed from q when the write succeeds */
  uv_buf_t bufs[];
} stream_write;

typedef struct stream_connect_req { /* a uv_connect and its callback */
  uv_connect_t req;
  stream_connect_cb cb;
} stream_connect_req;

/* ---- plain TCP ---------------------------------------------------------- */

/* Hands libuv the owner's read buffer, else the shared one. */
static void stream_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  stream *s = STREAM_OF(h);
  if (s->ops->on_alloc != NULL && s->tls == NULL) {
    size_t cap = 0;
    uint8_t *p = s->ops->on_alloc(s, &cap);
    if (p != NULL && cap > 0 && cap <= STREAM_READ_MAX) {
      *buf = uv_buf_init((char *)p, (unsigned)cap);
      return;
    }
  }
  *buf = uv_buf_init((char *)stream_scratch, sizeof stream_scratch);
}

/* Read callback: bytes go straight to the owner; an error or EOF stops
 * reading and is reported once. */
static void stream_tcp_on_read(uv_stream_t *h, ssize_t nread,
                               const uv_buf_t *buf) {
  stream *s = STREAM_OF(h);
  if (s->flags & STREAM_CLOSING)
    return;
  if (nread > 0)
    s->be->input(s, (const uint8_t *)buf->base, (size_t)nread);
  else if (nread < 0)
    stream_fail(s, (int)nread);
}

/* Starts reading into the shared buffer. */
static int stream_tcp_read_start(stream *s) {
  return uv_read_start((uv_stream_t *)&s->tcp, stream_tcp_alloc,
                       stream_tcp_on_read);
}

/* Stops reading; libuv ends its read loop at once, even inside on_read. */
static int stream_tcp_read_stop(stream *s) {
  return uv_read_stop((uv_stream_t *)&s->tcp);
}

/* Write callback: the bytes are on the socket (or failed). The request is
 * freed whatever the status; once closing, the owner hears nothing. */
static void stream_tcp_on_write(uv_write_t *req, int status) {
  stream_write *w = (stream_write *)req;
  stream *s = w->s;
  s->flags &= (uint8_t)~STREAM_WRITING;
  if (status == 0)
    outq_consume(w->q, w->bytes);
  free(w);
  if (s->flags & STREAM_CLOSING)
    return;
  if (status < 0)
    stream_fail(s, status);
  else if (s->ops->on_drain != NULL)
    s->ops->on_drain(s);
}

/* Writes what the socket takes now with try_write, then leaves the rest
 * to one uv_write whose buffers point into the queued frames (by
 * reference, no copy): they stay queued, and so alive, until the write
 * callback consumes them. Small frames (chat) are gathered into one
 * buffer first; big ones (file data, relayed reads) go straight from the
 * queue as a writev, since copying every byte of a transfer once more
 * costs more than the iovecs; so does a lone frame (the common case at a
 * paced load: one delivery per write, nothing to gather). Returns 0 or a
 * negative uv error. */
static int stream_tcp_flush(stream *s, outq *q) {
  if (s->flags & (STREAM_WRITING | STREAM_CLOSING))
    return 0;
  while (q->count > 0) {
    uv_buf_t iov[STREAM_WRITE_IOV];
    size_t k = outq_iov(q, iov, STREAM_WRITE_IOV);
    size_t n = 0;
    if (k == 1 || iov[0].len >= STREAM_DIRECT) {
      for (size_t i = 0; i < k; i++)
        n += iov[i].len;
    } else {
      n = outq_gather(q, stream_gather, sizeof stream_gather);
      iov[0] = uv_buf_init((char *)stream_gather, (unsigned)n);
      k = 1;
    }
    int r = uv_try_write((uv_stream_t *)&s->tcp, iov, (unsigned)k);
    if (r == UV_EAGAIN || r == UV_ENOSYS)
      break;
    if (r < 0)
      return r;
    outq_consume(q, (size_t)r);
    if ((size_t)r < n)
      break; /* the socket is full */
  }
  if (q->count == 0)
    return 0;
  uv_buf_t iov[STREAM_WRITE_IOV];
  size_t n = outq_iov(q, iov, STREAM_WRITE_IOV);
  stream_write *w = malloc(sizeof *w + n * sizeof(uv_buf_t));
  if (w == NULL)
    return UV_ENOMEM;
  w->s = s;
  w->q = q;
  w->bytes = 0;
  for (size_t i = 0; i < n; i++) {
    w->bufs[i] = iov[i];
    w->bytes += iov[i].len;
  }
  int r = uv_write(&w->req, (uv_stream_t *)&s->tcp, w->bufs, (unsigned)n,
                   stream_tcp_on_write);
  if (r < 0) {
    free(w);
    return r;
  }
  s->flags |= STREAM_WRITING;
  return 0;
}

/* Shutdown callback: frees the request, then tells the owner. */
static void stream_tcp_on_shutdown(uv_shutdown_t *req, int status) {
  stream *s = STREAM_OF(req->handle);
  free(req);
  if (s->flags & STREAM_CLOSING)
    return;
  if (s->ops->on_shutdown != NULL)
    s->ops->on_shutdown(s, status);
}

/* Sends FIN after the writes in flight (libuv orders it after them). */
static int stream_tcp_shutdown(stream *s) {
  uv_shutdown_t *req = malloc(sizeof *req);
  if (req == NULL)
    return UV_ENOMEM;
  int r = uv_shutdown(req, (uv_stream_t *)&s->tcp, stream_tcp_on_shutdown);
  if (r < 0)
    free(req);
  return r;
}

/* Close callback: the owner frees itself now. */
static void stream_tcp_on_close(uv_handle_t *h) {
  stream *s = STREAM_OF(h);
  s->ops->on_close(s);
}

/* Closes the handle; pending writes complete with UV_ECANCELED first. */
static void stream_tcp_close(stream *s) {
  uv_close((uv_handle_t *)&s->tcp, stream_tcp_on_close);
}

const stream_backend stream_tcp = {
    .name = "tcp",
    .read_start = stream_tcp_read_start,
    .read_stop = stream_tcp_read_stop,
    .flush = stream_tcp_flush,
    .shutdown = stream_tcp_shutdown,
    .close = stream_tcp_close,
    .input = stream_deliver,
};

/* ---- the stream --------------------------------------------------------- */

/* Sets up the socket handle; nothing to close when it fails. */
int stream_init(stream *s, uv_loop_t *loop, const stream_ops *ops, void *data) {
  s->ops = ops;
  s->be = &stream_tcp;
  s->tls = NULL;
  s->flags = 0;
  int r = uv_tcp_init(loop, &s->tcp);
  s->tcp.data = data;
  return r;
}

/* Takes the listener's pending connection. */
int stream_accept(stream *s, uv_stream_t *listener) {
  return uv_accept(listener, (uv_stream_t *)&s->tcp);
}

/* Connect callback: frees the request, then tells the owner unless the
 * stream is closing (the owner has moved on). */
static void stream_on_connect(uv_connect_t *req, int status) {
  stream_connect_req *c = (stream_connect_req *)req;
  stream *s = STREAM_OF(req->handle);
  stream_connect_cb cb = c->cb;
  free(c);
  if (s->flags & STREAM_CLOSING)
    return;
  cb(s, status);
}

/* Starts a TCP connect; the request travels with its callback. */
int stream_connect(stream *s, const struct sockaddr *addr,
                   stream_connect_cb cb) {
  stream_connect_req *c = malloc(sizeof *c);
  if (c == NULL)
    return UV_ENOMEM;
  c->cb = cb;
  int r = uv_tcp_connect(&c->req, &s->tcp, addr, stream_on_connect);
  if (r < 0)
    free(c);
  return r;
}

/* Starts reads unless started or closing. The flag is set first: a TLS
 * backend may hand over plaintext it already decrypted from inside
 * read_start, and the owner may stop reading again from on_read. */
int stream_read_start(stream *s) {
  if (s->flags & (STREAM_READING | STREAM_CLOSING))
    return 0;
  s->flags |= STREAM_READING;
  int r = s->be->read_start(s);
  if (r < 0)
    s->flags &= (uint8_t)~STREAM_READING;
  return r;
}

/* The last TLS failure's words (loop thread only, like the buffers). */
static char stream_tls_detail[256] = "TLS failure";

/* Keeps text for the next stream_strerror(STREAM_ETLS). */
void stream_set_tls_detail(const char *text) {
  snprintf(stream_tls_detail, sizeof stream_tls_detail, "%s", text);
}

/* libuv's text, or ours for the stream layer's own codes. */
const char *stream_strerror(int err) {
  if (err == STREAM_ETLS)
    return stream_tls_detail;
  if (err == STREAM_ENOTTLS)
    return "the server answered in plain text, not TLS";
  return uv_strerror(err);
}

/* Stops reads unless stopped or closing. */
int stream_read_stop(stream *s) {
  if (!(s->flags & STREAM_READING) || (s->flags & STREAM_CLOSING))
    return 0;
  s->flags &= (uint8_t)~STREAM_READING;
  return s->be->read_stop(s);
}

/* Passes the queue to the backend. */
int stream_flush(stream *s, outq *q) {
  if (s->flags & STREAM_CLOSING)
    return 0;
  return s->be->flush(s, q);
}

/* Half-closes once; later calls are no-ops. */
int stream_shutdown(stream *s) {
  if (s->flags & (STREAM_SHUTDOWN | STREAM_CLOSING))
    return 0;
  s->flags |= STREAM_SHUTDOWN;
  return s->be->shutdown(s);
}

/* Stops reading and closes through the backend, once. */
void stream_close(stream *s) {
  if (s->flags & STREAM_CLOSING)
    return;
  if (s->flags & STREAM_READING) {
    s->flags &= (uint8_t)~STREAM_READING;
    int r = s->be->read_stop(s);
    assert(r == 0); /* uv_read_stop cannot fail on a live TCP handle */
    (void)r;
  }
  s->flags |= STREAM_CLOSING;
  s->be->close(s);
}

/* Hands bytes to the owner. */
void stream_deliver(stream *s, const uint8_t *p, size_t n) {
  if (!(s->flags & STREAM_CLOSING))
    s->ops->on_read(s, p, n);
}

/* Stops reading and reports err to the owner. */
void stream_fail(stream *s, int err) {
  if (s->flags & STREAM_CLOSING)
    return;
  if (s->flags & STREAM_READING) {
    s->flags &= (uint8_t)~STREAM_READING;
    (void)s->be->read_stop(s); /* best effort: the stream is failing */
  }
  s->ops->on_error(s, err);
}

/* ---- stream_pipe -------------------------------------------------------- */

/* The leg that reads from s. */
static stream_leg *stream_pipe_from(stream_pipe *p, const stream *s) {
  return p->leg[0].src == s ? &p->leg[0] : &p->leg[1];
}

/* The leg that writes to s. */
static stream_leg *stream_pipe_to(stream_pipe *p, const stream *s) {
  return p->leg[0].dst == s ? &p->leg[0] : &p->leg[1];
}

/* Reports the end once. */
static void stream_pipe_end(stream_pipe *p, int err) {
  if (p->done)
    return;
  p->done = true;
  p->on_done(p, err);
}

/* Moves a leg on after its queue changed: write more, start its source
 * again below the low watermark, and pass an EOF on once everything read
 * before it is written. */
static void stream_pipe_pump(stream_pipe *p, stream_leg *l) {
  if (p->done)
    return;
  int r = stream_flush(l->dst, &l->q);
  if (r < 0) {
    stream_pipe_end(p, r);
    return;
  }
  if (l->paused && l->q.bytes <= p->low && !p->held) {
    /* Resumed first: a TLS source hands over plaintext it holds from
     * inside stream_read_start, and that read may pause it again. */
    l->paused = false;
    l->resumes++;
    r = stream_read_start(l->src);
    if (r < 0) {
      stream_pipe_end(p, r);
      return;
    }
    if (p->done)
      return;
  }
  if (l->eof && l->q.bytes == 0) {
    r = stream_shutdown(l->dst);
    if (r < 0)
      stream_pipe_end(p, r);
  }
}

/* A source's reads land in a frame of their own (the leg's rd), which
 * the queue can then keep as it is. */
static uint8_t *stream_pipe_on_alloc(stream *s, size_t *cap) {
  stream_pipe *p = stream_data(s);
  stream_leg *l = stream_pipe_from(p, s);
  if (l->rd == NULL)
    l->rd = fbuf_new(STREAM_READ_MAX);
  if (l->rd == NULL)
    return NULL; /* the shared buffer, and a copy, will do */
  *cap = STREAM_READ_MAX;
  return l->rd->data;
}

/* Source bytes: a read that filled at least half its own buffer is queued
 * as it is, anything else (a short read, TLS plaintext, bytes from the
 * shared buffer) as one exact-size copy, so that the memory held stays
 * within twice the bytes counted against the watermarks. Then stop
 * reading while the far side is behind. */
static void stream_pipe_on_read(stream *s, const uint8_t *data, size_t n) {
  stream_pipe *p = stream_data(s);
  stream_leg *l = stream_pipe_from(p, s);
  if (p->done)
    return;
  fbuf *b;
  bool keep = l->rd != NULL && data == l->rd->data && n >= STREAM_READ_MAX / 2;
  if (keep) {
    b = l->rd;
    l->rd = NULL;
    b->len = (uint32_t)n;
    l->kept += n;
  } else {
    b = fbuf_new(n);
    if (b != NULL)
      memcpy(b->data, data, n);
  }
  if (b == NULL || outq_push(&l->q, b) < 0) {
    fbuf_unref(b);
    stream_pipe_end(p, UV_ENOMEM);
    return;
  }
  fbuf_unref(b); /* the queue holds it */
  l->bytes += n;
  if (l->q.bytes > l->peak)
    l->peak = l->q.bytes;
  if (p->on_tap != NULL)
    p->on_tap(p, data, n);
  if (p->on_moved != NULL)
    p->on_moved(p, n); /* may hold the pipe */
  stream_pipe_pump(p, l);
  if (!p->done && !l->paused && l->q.bytes > p->high) {
    int r = stream_read_stop(s);
    if (r < 0) {
      stream_pipe_end(p, r);
      return;
    }
    l->paused = true;
    l->pauses++;
  }
}

/* The far side took a write: more can go, and the source may resume. */
static void stream_pipe_on_drain(stream *s) {
  stream_pipe *p = stream_data(s);
  stream_pipe_pump(p, stream_pipe_to(p, s));
}

/* EOF from a source is passed on; anything else ends the pipe. */
static void stream_pipe_on_error(stream *s, int err) {
  stream_pipe *p = stream_data(s);
  if (err != UV_EOF) {
    stream_pipe_end(p, err);
    return;
  }
  stream_leg *l = stream_pipe_from(p, s);
  l->eof = true;
  stream_pipe_pump(p, l);
}

/* A far side is shut down: the pipe is done when both are. */
static void stream_pipe_on_shutdown(stream *s, int status) {
  stream_pipe *p = stream_data(s);
  if (status < 0) {
    stream_pipe_end(p, status);
    return;
  }
  stream_pipe_to(p, s)->shut = true;
  if (p->leg[0].shut && p->leg[1].shut)
    stream_pipe_end(p, 0);
}

/* Passes a closed stream back to the owner. */
static void stream_pipe_on_close(stream *s) {
  stream_pipe *p = stream_data(s);
  p->on_close(p, s);
}

static const stream_ops stream_pipe_ops = {
    .on_read = stream_pipe_on_read,
    .on_drain = stream_pipe_on_drain,
    .on_error = stream_pipe_on_error,
    .on_shutdown = stream_pipe_on_shutdown,
    .on_close = stream_pipe_on_close,
    .on_alloc = stream_pipe_on_alloc,
};

/* Takes both streams over and starts both directions. Whatever the legs'
 * queues already hold (bytes read before the pipe existed) goes first. */
int stream_pipe_start(stream_pipe *p, stream *a, stream *b, size_t high,
                      size_t low, stream_pipe_done_cb on_done,
                      stream_pipe_close_cb on_close) {
  assert(low <= high); /* else a paused source could never resume */
  p->high = high;
  p->low = low;
  p->on_done = on_done;
  p->on_close = on_close;
  p->done = false;
  stream *ends[2][2] = {{a, b}, {b, a}};
  for (int i = 0; i < 2; i++) {
    stream_leg *l = &p->leg[i];
    l->src = ends[i][0];
    l->dst = ends[i][1];
    l->src->ops = &stream_pipe_ops;
    l->src->tcp.data = p;
  }
  for (int i = 0; i < 2; i++) {
    int r = stream_read_start(p->leg[i].src);
    if (r < 0)
      return r;
    stream_pipe_pump(p, &p->leg[i]);
  }
  return 0;
}

/* Holds or lets go of both sources. A held source is stopped; one let go
 * reads again unless it finished or its far side is above the low
 * watermark (the pump starts it once that drains). */
int stream_pipe_hold(stream_pipe *p, bool held) {
  if (p->done || p->held == held)
    return 0;
  p->held = held;
  for (int i = 0; i < 2; i++) {
    stream_leg *l = &p->leg[i];
    if (l->eof)
      continue;
    int r;
    if (held) {
      r = stream_read_stop(l->src);
    } else if (!l->paused || l->q.bytes <= p->low) {
      if (l->paused) { /* first, as in stream_pipe_pump */
        l->paused = false;
        l->resumes++;
      }
      r = stream_read_start(l->src);
    } else {
      continue;
    }
    if (r < 0)
      return r;
  }
  return 0;
}

/* Drops the bytes the legs still hold. */
void stream_pipe_free(stream_pipe *p) {
  for (int i = 0; i < 2; i++) {
    outq_clear(&p->leg[i].q);
    fbuf_unref(p->leg[i].rd);
    p->leg[i].rd = NULL;
  }
}
