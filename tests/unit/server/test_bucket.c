/* test_bucket.c: the token bucket behind flood control and the login
 * limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket.h"

/* A full bucket gives exactly burst tokens at one instant. */
static void test_burst(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 10, 1000);
  for (int i = 0; i < 10; i++)
    assert_true(bucket_take(&b, 5, 1000, 10, 1000));
  assert_false(bucket_take(&b, 5, 1000, 10, 1000));
}

/* Tokens come back at rate per period, and not faster. */
static void test_refill(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 10, 0);
  for (int i = 0; i < 10; i++)
    assert_true(bucket_take(&b, 5, 1000, 10, 0));
  assert_false(bucket_take(&b, 5, 1000, 10, 199)); /* 0.995 tokens */
  assert_true(bucket_take(&b, 5, 1000, 10, 200));  /* one token */
  assert_false(bucket_take(&b, 5, 1000, 10, 200));
  assert_int_equal(bucket_wait_ms(&b, 5, 1000), 200);
  /* One second later: five more. */
  for (int i = 0; i < 5; i++)
    assert_true(bucket_take(&b, 5, 1000, 10, 1200));
  assert_false(bucket_take(&b, 5, 1000, 10, 1200));
}

/* A refund gives back the token taken, and never more than burst. */
static void test_put(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 2, 0);
  assert_true(bucket_take(&b, 1, 60000, 2, 0));
  assert_true(bucket_take(&b, 1, 60000, 2, 0));
  assert_false(bucket_take(&b, 1, 60000, 2, 0));
  bucket_put(&b, 2);
  assert_true(bucket_take(&b, 1, 60000, 2, 0));
  bucket_put(&b, 2);
  bucket_put(&b, 2);
  bucket_put(&b, 2);
  assert_true(bucket_full(&b, 1, 60000, 2, 0));
  assert_true(bucket_take(&b, 1, 60000, 2, 0));
  assert_true(bucket_take(&b, 1, 60000, 2, 0));
  assert_false(bucket_take(&b, 1, 60000, 2, 0));
}

/* A long idle spell refills to burst, never beyond. */
static void test_cap(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 3, 0);
  assert_true(bucket_take(&b, 5, 1000, 3, 0));
  assert_true(bucket_full(&b, 5, 1000, 3, UINT64_C(1) << 50));
  for (int i = 0; i < 3; i++)
    assert_true(bucket_take(&b, 5, 1000, 3, UINT64_C(1) << 50));
  assert_false(bucket_take(&b, 5, 1000, 3, UINT64_C(1) << 50));
}

/* Rate 0 never refills; a clock going backwards gives nothing. */
static void test_edges(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 1, 5000);
  assert_true(bucket_take(&b, 0, 1000, 1, 5000));
  assert_false(bucket_take(&b, 0, 1000, 1, 999999));
  bucket_init(&b, 1, 5000);
  assert_true(bucket_take(&b, 5, 1000, 1, 5000));
  assert_false(bucket_take(&b, 5, 1000, 1, 4000));
}

/* The login policy: N failures a minute. */
static void test_login_window(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 5, 0);
  for (int i = 0; i < 5; i++)
    assert_true(bucket_take(&b, 5, 60000, 5, 0));
  assert_false(bucket_take(&b, 5, 60000, 5, 11999));
  assert_true(bucket_take(&b, 5, 60000, 5, 12000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_burst),        cmocka_unit_test(test_refill),
      cmocka_unit_test(test_cap),          cmocka_unit_test(test_edges),
      cmocka_unit_test(test_login_window), cmocka_unit_test(test_put),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
