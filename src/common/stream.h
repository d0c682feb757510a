/* stream.h: one byte stream, whichever transport carries it.
 *
 * Every connection parley makes or accepts is a stream: bytes in through
 * the owner's on_read, bytes out from the owner's output queue (outq: frames
 * held by reference, never copied per connection). What moves the bytes is
 * a backend: plain TCP today; a TLS backend (OpenSSL memory BIOs) will sit
 * between the socket and the same callbacks, so bytes taken from the queue
 * need not be the bytes on the socket, and neither side's logic changes.
 *
 * Lifetime, as for any libuv handle: the stream is embedded in its owner;
 * stream_close() starts closing and ops->on_close() is the owner's moment
 * to free itself. Loop thread only: reads land in one buffer shared by all
 * streams, so an idle stream holds no read memory.
 *
 * stream_pipe forwards bytes between two streams at the slower side's
 * speed: a source stops reading while its far side's queue is above a high
 * watermark and starts again below a low one, so a relayed transfer holds
 * at most high + one read in memory, whatever the file size. */
#ifndef PARLEY_STREAM_H
#define PARLEY_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "outq.h"

#define STREAM_READ_MAX (64 * 1024) /* bytes handed to one on_read at most */

typedef struct stream stream;

/* The owner's callbacks; one const table per kind of owner. */
typedef struct stream_ops {
  /* Bytes arrived (after any decryption). p is valid during the call only. */
  void (*on_read)(stream *s, const uint8_t *p, size_t n);
  /* A write the backend had in flight finished: the owner may call
   * stream_flush for what is still queued. */
  void (*on_drain)(stream *s);
  /* The stream failed (a uv error) or the peer finished sending (UV_EOF);
   * reading has stopped. Closing is the owner's call. */
  void (*on_error)(stream *s, int err);
  /* stream_shutdown completed (optional; NULL when unused). */
  void (*on_shutdown)(stream *s, int status);
  /* The handle is closed and no callback will follow: free the owner. */
  void (*on_close)(stream *s);
  /* A TLS handshake completed (optional; NULL when unused): the peer's
   * certificate can be checked now (tls_peer_fingerprint). Output queued
   * before it waits for the handshake, then on_drain follows. */
  void (*on_secure)(stream *s);
  /* A buffer of *cap bytes (at most STREAM_READ_MAX) for the next read
   * of a plain TCP stream, so that the owner can keep the bytes without
   * copying them (optional; NULL, or no buffer returned: the shared
   * buffer). It stays the owner's, and may be handed out again when a
   * read brought nothing. */
  uint8_t *(*on_alloc)(stream *s, size_t *cap);
} stream_ops;

/* What moves the bytes. Each op returns 0 or a negative uv error. */
typedef struct stream_backend {
  const char *name;
  int (*read_start)(stream *s);
  int (*read_stop)(stream *s);
  /* Takes what it can from q now; the rest waits for on_drain. */
  int (*flush)(stream *s, outq *q);
  /* Ends the sending side once the writes in flight are out. */
  int (*shutdown)(stream *s);
  void (*close)(stream *s);
  /* Bytes read from the socket (TCP: straight to the owner; TLS: into the
   * decryption, plaintext follows through stream_deliver). */
  void (*input)(stream *s, const uint8_t *p, size_t n);
} stream_backend;

/* Plain TCP. */
extern const stream_backend stream_tcp;

enum stream_flag {
  STREAM_READING = 1 << 0,  /* reads are started */
  STREAM_WRITING = 1 << 1,  /* a write is in flight */
  STREAM_CLOSING = 1 << 2,  /* close started: no user callback but on_close */
  STREAM_SHUTDOWN = 1 << 3, /* shutdown requested */
};

struct tls_conn;

struct stream {
  const stream_ops *ops;    /* the owner's callbacks */
  const stream_backend *be; /* &stream_tcp, or &tls_backend (tls.h) */
  struct tls_conn *tls;     /* the TLS state while be is TLS, else NULL */
  uint8_t flags;            /* enum stream_flag */
  uv_tcp_t tcp;             /* the socket; tcp.data is the owner's */
};

/* Errors of the stream layer beyond libuv's (uv errors are above -4096):
 * stream_strerror() names them all. */
enum {
  STREAM_ETLS = -30001,    /* the TLS layer failed (tls_last_error) */
  STREAM_ENOTTLS = -30002, /* the peer answered a TLS hello in plain text */
};

/* Text for a uv error or a STREAM_E* code (STREAM_ETLS: the detail the
 * TLS layer gave last, loop thread only). */
const char *stream_strerror(int err);

/* For backends: the detail stream_strerror(STREAM_ETLS) reports. */
void stream_set_tls_detail(const char *text);

/* Connect completion: status 0 or a uv error (never called once the
 * stream is closing). */
typedef void (*stream_connect_cb)(stream *s, int status);

/* Initialises s as a TCP stream on loop with the owner's ops and data.
 * Returns 0 or a uv error (then s needs no close). */
int stream_init(stream *s, uv_loop_t *loop, const stream_ops *ops, void *data);

/* Accepts a pending connection from listener into an initialised s. */
int stream_accept(stream *s, uv_stream_t *listener);

/* Connects an initialised s to addr; cb reports the outcome. */
int stream_connect(stream *s, const struct sockaddr *addr,
                   stream_connect_cb cb);

/* The owner's pointer given to stream_init. */
static inline void *stream_data(const stream *s) {
  return s->tcp.data;
}

/* Starts or stops delivering reads (idempotent; 0 once closing). On a TLS
 * stream on_read may run inside stream_read_start, with plaintext
 * decrypted before the owner stopped reading. */
int stream_read_start(stream *s);
int stream_read_stop(stream *s);

/* Hands queued bytes of q to the backend (nothing while a write is in
 * flight). Returns 0 or a negative uv error: the owner should close. */
int stream_flush(stream *s, outq *q);

/* True once stream_close ran: the handle is going away. */
static inline bool stream_closing(const stream *s) {
  return (s->flags & STREAM_CLOSING) != 0;
}

/* True while a write is in flight (q's head bytes belong to it). */
static inline bool stream_writing(const stream *s) {
  return (s->flags & STREAM_WRITING) != 0;
}

/* Half-closes after the writes in flight: call with the owner's queue
 * flushed and empty. ops->on_shutdown reports it. */
int stream_shutdown(stream *s);

/* Starts closing (idempotent): ops->on_close follows. */
void stream_close(stream *s);

/* For backends: give plaintext to the owner; report a failure. */
void stream_deliver(stream *s, const uint8_t *p, size_t n);
void stream_fail(stream *s, int err);

/* ---- forwarding at the slower side's speed ------------------------------ */

typedef struct stream_pipe stream_pipe;

/* One direction of a pipe: bytes read from src wait in q for dst. */
typedef struct stream_leg {
  stream *src, *dst;
  outq q;          /* read from src, not yet written to dst */
  uint64_t bytes;  /* forwarded to dst's queue */
  uint64_t kept;   /* of them, queued in the buffer they were read into */
  fbuf *rd;        /* the buffer src's next read lands in, or NULL */
  size_t peak;     /* most bytes q ever held */
  uint32_t pauses; /* times src stopped reading for dst */
  uint32_t resumes;
  bool eof;    /* src finished: dst is shut down once q is empty */
  bool shut;   /* dst's shutdown completed */
  bool paused; /* src stopped for dst */
} stream_leg;

/* The pipe ended: both sides finished (err 0) or one failed (a uv error).
 * The owner closes both streams; their on_close goes to on_close. */
typedef void (*stream_pipe_done_cb)(stream_pipe *p, int err);
typedef void (*stream_pipe_close_cb)(stream_pipe *p, stream *s);
/* n bytes were read from one side (optional: a rate limit counts them). */
typedef void (*stream_pipe_moved_cb)(stream_pipe *p, size_t n);

struct stream_pipe {
  stream_leg leg[2]; /* [0]: a to b, [1]: b to a */
  size_t high, low;  /* watermarks of each leg's queue, in bytes */
  stream_pipe_done_cb on_done;
  stream_pipe_close_cb on_close;
  stream_pipe_moved_cb on_moved; /* optional, set by the owner */
  /* optional: sees the bytes each read forwards (a test's capture) */
  void (*on_tap)(stream_pipe *p, const uint8_t *data, size_t n);
  void *data; /* the owner's */
  bool done;  /* on_done ran */
  bool held;  /* the owner stopped both sources (stream_pipe_hold) */
};

/* Forwards a <-> b through p (zeroed by the caller), taking over both
 * streams' ops and data. Bytes already read from one side (after a relay's
 * handshake frame) may be pushed to a leg's q first: they go out first.
 * Returns 0 or a uv error from starting the reads. */
int stream_pipe_start(stream_pipe *p, stream *a, stream *b, size_t high,
                      size_t low, stream_pipe_done_cb on_done,
                      stream_pipe_close_cb on_close);

/* Stops (held) or lets go of (!held) both sources, whatever the queues,
 * e.g. for a rate limit: the watermarks still apply once let go. Returns
 * 0 or a uv error from starting a read. */
int stream_pipe_hold(stream_pipe *p, bool held);

/* Frees what the legs still hold (after both streams closed). */
void stream_pipe_free(stream_pipe *p);

#endif
