/* outq.h: a connection's output queue of shared frames, with byte
 * accounting for the hard and soft limits.
 *
 * Pure bookkeeping: no sockets. The queue is a ring of fbuf references
 * (one slot per queued frame, no copy of the bytes) plus the offset already
 * written from the first frame. */
#ifndef PARLEY_OUTQ_H
#define PARLEY_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fbuf.h"

typedef struct outq {
  fbuf **ring;            /* cap slots; NULL while never used */
  uint32_t cap;           /* slots allocated (power of two) */
  uint32_t head;          /* index of the oldest frame */
  uint32_t count;         /* frames queued */
  uint32_t off;           /* bytes of ring[head] already written */
  size_t bytes;           /* bytes queued and not yet written */
  uint64_t soft_since_ms; /* when bytes first went over soft; 0 if under */
} outq;

enum outq_verdict {
  OUTQ_OK = 0,
  OUTQ_SOFT = 1, /* over the soft limit for too long */
  OUTQ_HARD = 2, /* over the hard limit */
};

/* Appends a reference to b (the caller keeps its own). Returns 0 or
 * -PERR_INTERNAL when the ring cannot grow. */
int outq_push(outq *q, fbuf *b);

/* Encodes m straight into the queue: appended to the newest frame when
 * that is a private chunk with room, else into a new chunk (small at
 * first, doubling while frames keep coming). Private replies such as a
 * user list then cost a few allocations instead of one per frame.
 * Returns 0, the negative encoder error, or -PERR_INTERNAL. */
int outq_push_msg(outq *q, const proto_msg *m);

/* Fills up to max iovecs with the unwritten bytes, oldest first; returns
 * the count. */
size_t outq_iov(const outq *q, uv_buf_t *iov, size_t max);

/* Copies up to cap unwritten bytes, oldest first, into dst; returns the
 * count. One contiguous write of small frames costs the kernel far less
 * than a writev of as many tiny iovecs. */
size_t outq_gather(const outq *q, uint8_t *dst, size_t cap);

/* Marks n bytes as written, dropping fully written frames. */
void outq_consume(outq *q, size_t n);

/* Frees the ring if the queue is empty (an idle client then holds no
 * queue memory at all). */
void outq_trim(outq *q);

/* Drops every queued frame and frees the ring. */
void outq_clear(outq *q);

/* Checks the limits at now_ms, updating the soft-limit clock: OUTQ_HARD
 * when bytes > hard, OUTQ_SOFT when bytes has stayed > soft for at least
 * soft_ms, else OUTQ_OK. A limit of 0 is off. */
int outq_check(outq *q, size_t soft, size_t hard, uint64_t soft_ms,
               uint64_t now_ms);

#endif
