/* fbuf.c: reference-counted encoded frames (see fbuf.h). */
#include "fbuf.h"

#include <assert.h>
#include <stdlib.h>

/* Allocates header and bytes in one block. */
fbuf *fbuf_new(size_t len) {
  if (len > UINT32_MAX - sizeof(fbuf))
    return NULL;
  fbuf *b = malloc(sizeof *b + len);
  if (b == NULL)
    return NULL;
  b->refs = 1;
  b->len = (uint32_t)len;
  return b;
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
