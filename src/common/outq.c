/* outq.c: output queue of shared frames (see outq.h). */
#include "outq.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define OUTQ_MIN_CAP 8     /* first allocation */
#define OUTQ_KEEP_CAP 64   /* rings bigger than this are freed when empty */
#define OUTQ_CHUNK_MIN 256 /* first private chunk */
#define OUTQ_CHUNK_MAX (16 * 1024) /* chunks double up to this */

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

/* Appends to the tail chunk or starts a new one. */
int outq_push_msg(outq *q, const proto_msg *m) {
  size_t n = proto_size(m);
  if (n == 0) { /* unknown type or a bad field: the encoder says which */
    ssize_t e = proto_encode(m, NULL, 0);
    return e < 0 && e != -PERR_NO_SPACE ? (int)e : -PERR_INTERNAL;
  }
  fbuf *t =
      q->count > 0 ? q->ring[(q->head + q->count - 1) & (q->cap - 1)] : NULL;
  bool fresh = t == NULL || !t->chunk || t->cap - t->len < n;
  if (fresh) {
    size_t cap = OUTQ_CHUNK_MIN;
    if (t != NULL && t->chunk && t->cap < OUTQ_CHUNK_MAX)
      cap = (size_t)t->cap * 2;
    else if (t != NULL && t->chunk)
      cap = OUTQ_CHUNK_MAX;
    if (cap < n)
      cap = n;
    fbuf *c = fbuf_new_chunk(cap);
    if (c == NULL)
      return -PERR_INTERNAL;
    int r = outq_push(q, c); /* counts 0 bytes; the queue now owns c */
    fbuf_unref(c);
    if (r < 0)
      return r;
    t = c;
  }
  /* An in-flight write covers only bytes below t->len: appending past
   * them is safe, and a chunk never moves. */
  ssize_t r = proto_encode(m, t->data + t->len, t->cap - t->len);
  if (r < 0) {
    if (fresh && t->len == 0) { /* drop the empty chunk again */
      q->count--;
      fbuf_unref(t);
    }
    return (int)r;
  }
  t->len += (uint32_t)r;
  q->bytes += (size_t)r;
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

/* Copies unwritten bytes out, stopping mid-frame when dst is full. */
size_t outq_gather(const outq *q, uint8_t *dst, size_t cap) {
  size_t n = 0;
  for (uint32_t i = 0; i < q->count && n < cap; i++) {
    const fbuf *b = q->ring[(q->head + i) & (q->cap - 1)];
    uint32_t skip = i == 0 ? q->off : 0;
    size_t k = b->len - skip;
    if (k > cap - n)
      k = cap - n;
    memcpy(dst + n, b->data + skip, k);
    n += k;
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
