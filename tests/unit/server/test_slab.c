/* test_slab.c: the object pools behind conn, user and member: objects are
 * zeroed, distinct, reused, and empty pages go back to the system. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slab.h"

#define PAGE (64 * 1024)

/* Fresh and reused objects come zeroed, aligned and inside the pool. */
static void test_zeroed(void **state) {
  (void)state;
  slab s = SLAB_INIT(100);
  assert_int_equal(s.size, 104);
  uint8_t *a = slab_alloc(&s);
  assert_non_null(a);
  assert_int_equal((uintptr_t)a % 8, 0);
  for (int i = 0; i < 104; i++)
    assert_int_equal(a[i], 0);
  memset(a, 0xab, 104);
  slab_free(&s, a);
  uint8_t *b = slab_alloc(&s);
  assert_ptr_equal(a, b); /* the freed slot is taken first */
  for (int i = 0; i < 104; i++)
    assert_int_equal(b[i], 0);
  assert_int_equal(s.used, 1);
  assert_int_equal(slab_bytes(&s), PAGE);
  slab_free(&s, b);
  slab_free(&s, NULL);
  assert_int_equal(s.used, 0);
}

/* Many objects over several pages: all distinct and writable; freeing
 * them all leaves only the spare page mapped. */
static void test_pages(void **state) {
  (void)state;
  enum { N = 5000 };
  slab s = SLAB_INIT(376);
  uint8_t **p = calloc(N, sizeof *p);
  assert_non_null(p);
  for (int i = 0; i < N; i++) {
    p[i] = slab_alloc(&s);
    assert_non_null(p[i]);
    memset(p[i], i & 0xff, 376);
  }
  size_t per = (PAGE - 64) / 376;
  assert_int_equal(slab_bytes(&s), ((N + per - 1) / per) * PAGE);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 376; k += 75)
      assert_int_equal(p[i][k], i & 0xff); /* no two overlap */
  /* Free every other one, then take them again: no new page. */
  size_t before = slab_bytes(&s);
  for (int i = 0; i < N; i += 2)
    slab_free(&s, p[i]);
  for (int i = 0; i < N; i += 2)
    assert_non_null(p[i] = slab_alloc(&s));
  assert_int_equal(slab_bytes(&s), before);
  for (int i = 0; i < N; i++)
    slab_free(&s, p[i]);
  assert_int_equal(s.used, 0);
  assert_int_equal(slab_bytes(&s), PAGE); /* the spare */
  /* The spare serves the next object. */
  void *q = slab_alloc(&s);
  assert_non_null(q);
  assert_int_equal(slab_bytes(&s), PAGE);
  slab_free(&s, q);
  free(p);
}

/* Objects that do not fit the pool are refused. */
static void test_too_big(void **state) {
  (void)state;
  slab s = SLAB_INIT(SLAB_MAX_OBJ + 1);
  assert_null(slab_alloc(&s));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_zeroed),
      cmocka_unit_test(test_pages),
      cmocka_unit_test(test_too_big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
