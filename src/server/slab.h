/* slab.h: fixed-size object pools for the long-lived per-client objects
 * (conn, user, member).
 *
 * Why: these live as long as a client stays, while a login or notice
 * storm allocates and frees millions of short-lived frames around them.
 * From malloc they end up scattered over pages that the storm otherwise
 * left empty, and those pages stay resident after malloc_trim. A pool
 * keeps them densely packed in their own 64 KiB pages (mmap'd, aligned),
 * so the heap the storm used can be given back whole. A page whose objects
 * are all freed is unmapped (one empty page is kept as a cushion).
 *
 * Under AddressSanitizer free objects are poisoned, so use after free is
 * still caught. Loop thread only: no locking. */
#ifndef PARLEY_SLAB_H
#define PARLEY_SLAB_H

#include <stddef.h>
#include <stdint.h>

struct slab_page;

typedef struct slab {
  uint32_t size;           /* object size, rounded up to 8 */
  uint32_t per_page;       /* objects per page */
  struct slab_page *avail; /* pages with a free object */
  struct slab_page *spare; /* one empty page kept mapped, or NULL */
  size_t pages;            /* pages mapped, spare included */
  size_t used;             /* objects handed out */
} slab;

/* An empty pool of objects of size bytes (at most SLAB_MAX_OBJ). */
#define SLAB_INIT(sz)                                                          \
  { .size = (uint32_t)(((sz) + 7) & ~(size_t)7) }
#define SLAB_MAX_OBJ 4096

/* A zeroed object, or NULL when out of memory. */
void *slab_alloc(slab *s);

/* Gives an object back (NULL is ignored). */
void slab_free(slab *s, void *p);

/* Bytes mapped by the pool. */
size_t slab_bytes(const slab *s);

#endif
