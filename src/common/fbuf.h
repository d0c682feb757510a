/* fbuf.h: reference-counted encoded frame.
 *
 * A frame sent to many connections (a room MSG) is encoded once into an
 * fbuf, and each connection's output queue holds a reference to it. */
#ifndef PARLEY_FBUF_H
#define PARLEY_FBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct fbuf {
  uint32_t refs; /* owners; freed when it drops to 0 */
  uint32_t len;  /* bytes in data */
  uint32_t cap;  /* bytes allocated for data (>= len) */
  bool chunk;    /* one queue's private frames: more may be appended */
  uint8_t data[];
} fbuf;

/* Allocates an fbuf of len bytes with one reference; NULL when out of
 * memory. */
fbuf *fbuf_new(size_t len);

/* Allocates an fbuf with room for cap bytes, len 0 and one reference, for
 * appending private frames (chunk set); NULL when out of memory. */
fbuf *fbuf_new_chunk(size_t cap);

/* Bytes of fbufs allocated since the process started (never decreases;
 * fbufs are made on the loop thread only): lets the server tell that a
 * burst went through and memory can be given back. */
uint64_t fbuf_alloc_total(void);

/* Encodes m into a new fbuf with one reference. Returns NULL and sets *err
 * (when err is not NULL) to the negative encoder error or -PERR_INTERNAL. */
fbuf *fbuf_encode(const proto_msg *m, int *err);

/* Adds a reference; returns b. */
fbuf *fbuf_ref(fbuf *b);

/* Drops a reference, freeing b at zero. NULL is ignored. */
void fbuf_unref(fbuf *b);

#endif
