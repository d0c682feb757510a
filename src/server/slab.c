/* slab.c: fixed-size object pools (see slab.h). */
#include "slab.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SLAB_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SLAB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SLAB_POISON(p, n) ((void)(p), (void)(n))
#define SLAB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_PAGE ((size_t)64 * 1024) /* bytes per page, also its alignment */
#define SLAB_HDR 64                   /* page header, rounded to a line */

typedef struct slab_page {
  struct slab_page *next, *prev; /* slab.avail */
  void *free;                    /* freed objects, linked through them */
  uint32_t nfree;                /* objects not handed out */
  uint32_t fresh;                /* objects ever handed out from the top */
} slab_page;

_Static_assert(sizeof(slab_page) <= SLAB_HDR, "slab page header too big");

/* Maps one page aligned to its size (so an object finds its page by
 * masking its address). */
static slab_page *slab_map(void) {
  size_t len = 2 * SLAB_PAGE;
  uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return NULL;
  uintptr_t a = ((uintptr_t)m + SLAB_PAGE - 1) & ~(uintptr_t)(SLAB_PAGE - 1);
  size_t head = a - (uintptr_t)m;
  if (head > 0)
    munmap(m, head);
  if (len - head - SLAB_PAGE > 0)
    munmap((uint8_t *)a + SLAB_PAGE, len - head - SLAB_PAGE);
  return (slab_page *)a;
}

/* Makes p an empty page of s. */
static void slab_page_reset(slab *s, slab_page *p) {
  p->next = p->prev = NULL;
  p->free = NULL;
  p->nfree = s->per_page;
  p->fresh = 0;
}

/* Links p at the front of s->avail. */
static void slab_avail_push(slab *s, slab_page *p) {
  p->prev = NULL;
  p->next = s->avail;
  if (s->avail != NULL)
    s->avail->prev = p;
  s->avail = p;
}

/* Unlinks p from s->avail. */
static void slab_avail_del(slab *s, slab_page *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    s->avail = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  p->next = p->prev = NULL;
}

/* Takes a free object from the first page with one, mapping a page (or
 * reusing the spare) when none has. */
void *slab_alloc(slab *s) {
  if (s->size == 0 || s->size > SLAB_MAX_OBJ)
    return NULL;
  if (s->per_page == 0)
    s->per_page = (uint32_t)((SLAB_PAGE - SLAB_HDR) / s->size);
  slab_page *p = s->avail;
  if (p == NULL) {
    if (s->spare != NULL) {
      p = s->spare;
      s->spare = NULL;
    } else {
      p = slab_map();
      if (p == NULL)
        return NULL;
      s->pages++;
      slab_page_reset(s, p);
      SLAB_POISON((uint8_t *)p + SLAB_HDR, SLAB_PAGE - SLAB_HDR);
    }
    slab_avail_push(s, p);
  }
  void *o;
  if (p->free != NULL) {
    o = p->free;
    SLAB_UNPOISON(o, s->size);
    memcpy(&p->free, o, sizeof p->free);
  } else {
    o = (uint8_t *)p + SLAB_HDR + (size_t)p->fresh * s->size;
    p->fresh++;
    SLAB_UNPOISON(o, s->size);
  }
  if (--p->nfree == 0)
    slab_avail_del(s, p);
  s->used++;
  memset(o, 0, s->size);
  return o;
}

/* Links the object into its page's free list; an empty page becomes the
 * spare or is unmapped. */
void slab_free(slab *s, void *o) {
  if (o == NULL)
    return;
  slab_page *p = (slab_page *)((uintptr_t)o & ~(uintptr_t)(SLAB_PAGE - 1));
  memcpy(o, &p->free, sizeof p->free);
  p->free = o;
  SLAB_POISON(o, s->size);
  if (p->nfree++ == 0)
    slab_avail_push(s, p);
  s->used--;
  if (p->nfree < s->per_page)
    return;
  slab_avail_del(s, p);
  slab_page_reset(s, p);
  if (s->spare == NULL) {
    s->spare = p;
    return;
  }
  SLAB_UNPOISON((uint8_t *)p + SLAB_HDR, SLAB_PAGE - SLAB_HDR);
  munmap(p, SLAB_PAGE);
  s->pages--;
}

/* Mapped size. */
size_t slab_bytes(const slab *s) {
  return s->pages * SLAB_PAGE;
}
