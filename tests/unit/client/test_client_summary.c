/* test_client_summary.c: the join/leave summary set and its line
 * (src/client/client_summary.c), and the option values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client_summary.h"

/* The line of s with the default number of names. */
static const char *line(const client_summary *s) {
  static char buf[512];
  client_summary_format(s, CLIENT_SUMMARY_NAMES, buf, sizeof buf);
  return buf;
}

/* Counts, names in arrival order, "…" only when names are left out. */
static void test_format(void **st) {
  (void)st;
  client_summary *s = client_summary_new();
  assert_non_null(s);
  assert_string_equal(line(s), "");
  assert_int_equal(client_summary_add(s, "alice", true), 1);
  assert_string_equal(line(s), "1 joined (alice) --");
  client_summary_add(s, "bob", true);
  client_summary_add(s, "carol", true);
  assert_string_equal(line(s), "3 joined (alice, bob, carol) --");
  client_summary_add(s, "dave", false);
  client_summary_add(s, "erin", true);
  assert_string_equal(line(s),
                      "4 joined (alice, bob, carol, …), 1 left (dave) --");
  assert_int_equal(client_summary_joined(s), 4);
  assert_int_equal(client_summary_left(s), 1);
  assert_int_equal(client_summary_pending(s), 5);
  char small[12];
  size_t n = client_summary_format(s, 3, small, sizeof small);
  assert_int_equal(n, sizeof small - 1); /* cut, NUL-ended */
  assert_int_equal(strlen(small), n);
  client_summary_clear(s);
  assert_string_equal(line(s), "");
  client_summary_add(s, "dave", false);
  assert_string_equal(line(s), "1 left (dave) --");
  char buf[64];
  client_summary_format(s, 0, buf, sizeof buf);
  assert_string_equal(buf, "1 left --");
  client_summary_free(s);
}

/* A join and a leave of one name (any case) within one period cancel
 * out, in either order; a repeated event counts once. */
static void test_cancel(void **st) {
  (void)st;
  client_summary *s = client_summary_new();
  client_summary_add(s, "alice", true);
  client_summary_add(s, "bob", true);
  assert_int_equal(client_summary_add(s, "ALICE", false), 1);
  assert_string_equal(line(s), "1 joined (bob) --");
  client_summary_add(s, "carol", false); /* was here, left, came back */
  assert_int_equal(client_summary_add(s, "Carol", true), 1);
  client_summary_add(s, "bob", true);
  assert_int_equal(client_summary_joined(s), 1);
  client_summary_add(s, "alice", true); /* joined again: counts */
  assert_string_equal(line(s), "2 joined (bob, alice) --");
  assert_true(client_summary_has(s, "Bob"));
  assert_false(client_summary_has(s, "carol"));
  client_summary_forget(s, "BOB");
  assert_false(client_summary_has(s, "bob"));
  client_summary_forget(s, "nobody");
  assert_string_equal(line(s), "1 joined (alice) --");
  client_summary_free(s);
  client_summary_free(NULL);
}

/* Collects what client_summary_each hands out. */
static void each_cb(const char *name, bool joined, void *ud) {
  char *out = ud;
  strcat(out, joined ? "+" : "-");
  strcat(out, name);
}

/* Many names: O(1) each, and every one is walked in order. */
static void test_many(void **st) {
  (void)st;
  client_summary *s = client_summary_new();
  char name[16];
  for (int i = 0; i < CLIENT_SUMMARY_MAX; i++) {
    snprintf(name, sizeof name, "u%d", i);
    assert_int_equal(client_summary_add(s, name, i % 2 == 0), i + 1);
  }
  for (int i = 0; i < CLIENT_SUMMARY_MAX; i += 2) {
    snprintf(name, sizeof name, "U%d", i);
    client_summary_add(s, name, false);
  }
  assert_int_equal(client_summary_joined(s), 0);
  assert_int_equal(client_summary_left(s), CLIENT_SUMMARY_MAX / 2);
  assert_string_equal(line(s), "500 left (u1, u3, u5, …) --");
  client_summary_clear(s);
  client_summary_add(s, "a", true);
  client_summary_add(s, "b", false);
  char out[64] = "";
  client_summary_each(s, each_cb, out);
  assert_string_equal(out, "+a-b");
  client_summary_free(s);
}

/* The option values: off or a member count; seconds within bounds. */
static void test_parse(void **st) {
  (void)st;
  unsigned v = 7;
  assert_int_equal(client_summary_parse_above("off", &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(client_summary_parse_above("3", &v), 0);
  assert_int_equal(v, 3);
  assert_int_equal(client_summary_parse_above("0", &v), -1);
  assert_int_equal(client_summary_parse_above("-1", &v), -1);
  assert_int_equal(client_summary_parse_above("12x", &v), -1);
  assert_int_equal(client_summary_parse_above("", &v), -1);
  assert_int_equal(client_summary_parse_above("100001", &v), -1);
  assert_int_equal(v, 3);
  assert_int_equal(client_summary_parse_every("1", &v), 0);
  assert_int_equal(v, 1);
  assert_int_equal(client_summary_parse_every("3600", &v), 0);
  assert_int_equal(client_summary_parse_every("3601", &v), -1);
  assert_int_equal(client_summary_parse_every("0", &v), -1);
  assert_int_equal(client_summary_parse_every("off", &v), -1);
  assert_int_equal(v, 3600);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_many),
      cmocka_unit_test(test_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
