/* fbuf.c: reference-counted encoded frames (see fbuf.h). */
#include "fbuf.h"

#include <assert.h>
#include <stdlib.h>

static uint64_t fbuf_allocated; /* see fbuf_alloc_total */

/* Allocates header and cap bytes in one block. */
static fbuf *fbuf_alloc(size_t cap) {
  if (cap > UINT32_MAX - sizeof(fbuf))
    return NULL;
  fbuf *b = malloc(sizeof *b + cap);
  if (b == NULL)
    return NULL;
  b->refs = 1;
  b->len = 0;
  b->cap = (uint32_t)cap;
  b->chunk = false;
  fbuf_allocated += sizeof *b + cap;
  return b;
}

/* A frame-sized buffer. */
fbuf *fbuf_new(size_t len) {
  fbuf *b = fbuf_alloc(len);
  if (b != NULL)
    b->len = (uint32_t)len;
  return b;
}

/* An empty buffer to append private frames to. */
fbuf *fbuf_new_chunk(size_t cap) {
  fbuf *b = fbuf_alloc(cap);
  if (b != NULL)
    b->chunk = true;
  return b;
}

/* Running total for the server's memory give-back. */
uint64_t fbuf_alloc_total(void) {
  return fbuf_allocated;
}

/* Sizes exactly with proto_size, then encodes. */
fbuf *fbuf_encode(const proto_msg *m, int *err) {
  size_t n = proto_size(m);
  if (n == 0) {
    if (err != NULL)
      *err = -PERR_UNKNOWN_TYPE;
    return NULL;
  }
  fbuf *b = fbuf_new(n);
  if (b == NULL) {
    if (err != NULL)
      *err = -PERR_INTERNAL;
    return NULL;
  }
  ssize_t r = proto_encode(m, b->data, n);
  if (r < 0) {
    free(b);
    if (err != NULL)
      *err = (int)r;
    return NULL;
  }
  b->len = (uint32_t)r;
  return b;
}

/* Adds an owner. */
fbuf *fbuf_ref(fbuf *b) {
  assert(b->refs > 0); /* reviving a freed buffer is a use-after-free */
  b->refs++;
  return b;
}

/* Drops an owner. */
void fbuf_unref(fbuf *b) {
  if (b == NULL)
    return;
  assert(b->refs > 0);
  if (--b->refs == 0)
    free(b);
}
