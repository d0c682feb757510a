/* test_coalesce.c: the coalesce interval (server_coalesce_interval):
 * --coalesce-ms after a quiet spell and for steady traffic, growing with
 * the users online in a storm (many changes an interval, back to back),
 * within its cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server.h"

#define STORM SERVER_COALESCE_STORM
#define PER SERVER_COALESCE_USERS_PER_MS

/* A change after a quiet spell waits the configured interval, however
 * many are online and however busy the last interval was. */
static void test_quiet(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(100, 10000, STORM, 100, 101), 100);
  assert_int_equal(server_coalesce_interval(100, 10000, 5000, 100, UINT64_MAX),
                   100);
  assert_int_equal(server_coalesce_interval(250, 0, STORM, 250, 5000), 250);
}

/* Back to back but few changes an interval (a large server's steady
 * traffic): the configured interval. */
static void test_steady(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(100, 10000, STORM - 1, 100, 0),
                   100);
  assert_int_equal(server_coalesce_interval(100, 10000, 1, 100, 50), 100);
}

/* A storm: one millisecond per PER users online, never below the
 * configured interval nor above the cap. */
static void test_storm(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(100, 500 * PER, STORM, 100, 0),
                   500);
  assert_int_equal(server_coalesce_interval(100, 500 * PER, 9000, 100, 100),
                   500);
  assert_int_equal(server_coalesce_interval(100, 50 * PER, STORM, 100, 3), 100);
  assert_int_equal(server_coalesce_interval(100, 100000 * PER, STORM, 100, 0),
                   SERVER_COALESCE_MAX_MS);
  assert_int_equal(server_coalesce_interval(1000, 10 * PER, STORM, 1000, 0),
                   1000);
}

/* A grown interval needs as many more changes to stay grown: the rate
 * decides, so a busy but ordinary server is not held at the long one. */
static void test_rate_keeps_it(void **state) {
  (void)state;
  uint32_t grown = 2500;
  assert_int_equal(server_coalesce_interval(100, 100000 * PER, STORM, grown, 0),
                   100);
  assert_int_equal(
      server_coalesce_interval(100, 100000 * PER, STORM * 24, grown, 0), 100);
  assert_int_equal(
      server_coalesce_interval(100, 100000 * PER, STORM * 25, grown, 0),
      SERVER_COALESCE_MAX_MS);
}

/* --coalesce-ms 0 (every loop turn) stays 0 in a storm too. */
static void test_zero(void **state) {
  (void)state;
  assert_int_equal(server_coalesce_interval(0, 100000, 100000, 0, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quiet), cmocka_unit_test(test_steady),
      cmocka_unit_test(test_storm), cmocka_unit_test(test_rate_keeps_it),
      cmocka_unit_test(test_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
