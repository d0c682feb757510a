/* framer.c: length-prefixed frames out of a byte stream (see framer.h). */
#include "framer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define FRAMER_GUESS 256 /* first size while the prefix is still split */

/* A frame being assembled across reads. */
typedef struct framer_part {
  uint32_t len; /* bytes held */
  uint32_t cap; /* bytes allocated in data */
  bool done;    /* handed out whole: freed on the next call */
  uint8_t data[];
} framer_part;

/* The length prefix at p. */
static uint32_t framer_len(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Makes room for cap bytes in f->part (allocating it when absent). Returns
 * 0 or -PERR_INTERNAL. */
static int framer_reserve(framer *f, size_t cap) {
  framer_part *p = f->part;
  if (p != NULL && p->cap >= cap)
    return 0;
  framer_part *n = realloc(p, sizeof *n + cap);
  if (n == NULL)
    return -PERR_INTERNAL;
  if (p == NULL) {
    n->len = 0;
    n->done = false;
  }
  n->cap = (uint32_t)cap;
  f->part = n;
  return 0;
}

/* Moves up to want - part->len bytes from the input into the part. */
static void framer_take(framer_part *p, const uint8_t **in, size_t *inlen,
                        size_t want) {
  size_t k = want - p->len;
  if (k > *inlen)
    k = *inlen;
  memcpy(p->data + p->len, *in, k);
  p->len += (uint32_t)k;
  *in += k;
  *inlen -= k;
}

/* Completes a frame split across reads first; after that, frames that
 * arrived whole are handed out where they lie, and only an incomplete tail
 * is copied. A frame handed out from the part stays valid until the next
 * call, which frees it: the usual loop ends with a call that returns 0, so
 * an idle connection is left holding nothing. */
ssize_t framer_next(framer *f, const uint8_t **in, size_t *inlen, uint32_t max,
                    const uint8_t **frame) {
  if (f->part != NULL && f->part->done)
    framer_reset(f);
  framer_part *p = f->part;
  if (p != NULL) {
    if (p->len < FRAMER_HEADER) {
      framer_take(p, in, inlen, FRAMER_HEADER);
      if (p->len < FRAMER_HEADER)
        return 0;
    }
    uint32_t len = framer_len(p->data);
    if (len > max)
      return -PERR_FRAME_TOO_BIG;
    size_t total = FRAMER_HEADER + (size_t)len;
    if (framer_reserve(f, total) < 0)
      return -PERR_INTERNAL;
    p = f->part; /* realloc may have moved it */
    framer_take(p, in, inlen, total);
    if (p->len < total)
      return 0;
    p->done = true;
    *frame = p->data;
    return (ssize_t)total;
  }
  if (*inlen == 0)
    return 0;
  size_t want = FRAMER_GUESS;
  if (*inlen >= FRAMER_HEADER) {
    uint32_t len = framer_len(*in);
    if (len > max)
      return -PERR_FRAME_TOO_BIG; /* at once: never wait for its body */
    size_t total = FRAMER_HEADER + (size_t)len;
    if (*inlen >= total) {
      *frame = *in;
      *in += total;
      *inlen -= total;
      return (ssize_t)total;
    }
    want = total;
  }
  if (framer_reserve(f, want) < 0)
    return -PERR_INTERNAL;
  framer_take(f->part, in, inlen, *inlen);
  return 0;
}

/* Counts a held incomplete frame; a finished one is no longer pending. */
size_t framer_pending(const framer *f) {
  return f->part != NULL && !f->part->done ? f->part->len : 0;
}

/* Drops the partial frame. */
void framer_reset(framer *f) {
  free(f->part);
  f->part = NULL;
}
