/* test_coalesce.c: the coalesce interval (server_coalesce_interval):
 * --coalesce-ms after a quiet spell, growing with the users online while
 * the intervals run back to back, within its cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server.h"

/* A change after a quiet spell waits the configured interval, however
 * many are online. */
static void test_quiet(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(100, 10000, 101), 100);
  assert_int_equal(server_coalesce_interval(100, 10000, UINT64_MAX), 100);
  assert_int_equal(server_coalesce_interval(250, 0, 5000), 250);
}

/* Back to back: one millisecond per SERVER_COALESCE_USERS_PER_MS users
 * online, never below the configured interval nor above the cap. */
static void test_storm(void **state) {
  (void)state;
  uint32_t per = SERVER_COALESCE_USERS_PER_MS;
  assert_int_equal(server_coalesce_interval(100, 500 * per, 0), 500);
  assert_int_equal(server_coalesce_interval(100, 500 * per, 100), 500);
  assert_int_equal(server_coalesce_interval(100, 50 * per, 3), 100);
  assert_int_equal(server_coalesce_interval(100, 100000 * per, 0),
                   SERVER_COALESCE_MAX_MS);
  assert_int_equal(server_coalesce_interval(1000, 10 * per, 0), 1000);
}

/* --coalesce-ms 0 (every loop turn) stays 0 in a storm too. */
static void test_zero(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(0, 100000, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quiet),
      cmocka_unit_test(test_storm),
      cmocka_unit_test(test_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
