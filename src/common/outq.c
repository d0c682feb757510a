/* outq.c: output queue of shared frames (see outq.h). */
#include "outq.h"

#include <assert.h>
#include <stdlib.h>

#define OUTQ_MIN_CAP 8   /* first allocation */
#define OUTQ_KEEP_CAP 64 /* rings bigger than this are freed when empty */

/* Doubles the ring, unrolling it so head becomes 0. */
static int outq_grow(outq *q) {
  uint32_t ncap = q->cap ? q->cap * 2 : OUTQ_MIN_CAP;
  if (ncap < q->cap)
    return -PERR_INTERNAL;
  fbuf **r = malloc(sizeof *r * ncap);
  if (r == NULL)
    return -PERR_INTERNAL;
  for (uint32_t i = 0; i < q->count; i++)
    r[i] = q->ring[(q->head + i) & (q->cap - 1)];
  free(q->ring);
  q->ring = r;
  q->cap = ncap;
  q->head = 0;
  return 0;
}

/* Appends one reference. */
int outq_push(outq *q, fbuf *b) {
  if (q->count == q->cap) {
    int r = outq_grow(q);
    if (r < 0)
      return r;
  }
  q->ring[(q->head + q->count) & (q->cap - 1)] = fbuf_ref(b);
  q->count++;
  q->bytes += b->len;
  return 0;
}

/* Lists unwritten bytes as iovecs. */
size_t outq_iov(const outq *q, uv_buf_t *iov, size_t max) {
  size_t n = 0;
  for (uint32_t i = 0; i < q->count && n < max; i++) {
    fbuf *b = q->ring[(q->head + i) & (q->cap - 1)];
    uint32_t skip = i == 0 ? q->off : 0;
    iov[n++] = uv_buf_init((char *)b->data + skip, b->len - skip);
  }
  return n;
}

/* Releases the ring once empty when it grew large, so a burst does not
 * pin memory on an idle client. */
static void outq_maybe_shrink(outq *q) {
  if (q->count == 0 && q->cap > OUTQ_KEEP_CAP) {
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
  }
}

/* Advances past n written bytes. */
void outq_consume(outq *q, size_t n) {
  assert(n <= q->bytes); /* cannot have written more than was queued */
  q->bytes -= n;
  while (n > 0) {
    assert(q->count > 0);
    fbuf *b = q->ring[q->head];
    size_t left = b->len - q->off;
    if (n < left) {
      q->off += (uint32_t)n;
      return;
    }
    n -= left;
    fbuf_unref(b);
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    q->off = 0;
  }
  outq_maybe_shrink(q);
}

/* Releases an empty ring. */
void outq_trim(outq *q) {
  if (q->count == 0 && q->ring != NULL) {
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
  }
}

/* Drops everything. */
void outq_clear(outq *q) {
  for (uint32_t i = 0; i < q->count; i++)
    fbuf_unref(q->ring[(q->head + i) & (q->cap - 1)]);
  free(q->ring);
  *q = (outq){0};
}

/* Applies the hard limit at once and the soft limit over time. */
int outq_check(outq *q, size_t soft, size_t hard, uint64_t soft_ms,
               uint64_t now_ms) {
  if (hard > 0 && q->bytes > hard)
    return OUTQ_HARD;
  if (soft == 0 || q->bytes <= soft) {
    q->soft_since_ms = 0;
    return OUTQ_OK;
  }
  if (q->soft_since_ms == 0) {
    q->soft_since_ms = now_ms ? now_ms : 1;
    return soft_ms == 0 ? OUTQ_SOFT : OUTQ_OK;
  }
  return now_ms - q->soft_since_ms >= soft_ms ? OUTQ_SOFT : OUTQ_OK;
}
