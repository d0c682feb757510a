/* fbuf.h: reference-counted encoded frame.
 *
 * A frame sent to many connections (a room MSG) is encoded once into an
 * fbuf, and each connection's output queue holds a reference to it. */
#ifndef PARLEY_FBUF_H
#define PARLEY_FBUF_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct fbuf {
  uint32_t refs; /* owners; freed when it drops to 0 */
  uint32_t len;  /* bytes in data */
  uint8_t data[];
} fbuf;

/* Allocates an fbuf of len bytes with one reference; NULL when out of
 * memory. */
fbuf *fbuf_new(size_t len);

/* Encodes m into a new fbuf with one reference. Returns NULL and sets *err
 * (when err is not NULL) to the negative encoder error or -PERR_INTERNAL. */
fbuf *fbuf_encode(const proto_msg *m, int *err);

/* Adds a reference; returns b. */
fbuf *fbuf_ref(fbuf *b);

/* Drops a reference, freeing b at zero. NULL is ignored. */
void fbuf_unref(fbuf *b);

#endif
