/* test_chat.c: the checks a SAY passes before delivery (chat.c), without
 * a server: text rules (empty, UTF-8, length in code points, control
 * characters) and the flood bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"

/* Checks text (a C string) against a limit of max code points. */
static int check(const char *text, uint32_t max) {
  return chat_check_text(proto_str_c(text), max);
}

/* Empty is refused before anything else. */
static void test_empty(void **state) {
  (void)state;
  assert_int_equal(check("", 10), -PERR_MSG_EMPTY);
  assert_int_equal(check("", 0), -PERR_MSG_EMPTY);
  assert_int_equal(check(" ", 10), 0);
}

/* The limit counts code points, not bytes: up to it passes, one more
 * fails, whatever the width of the characters. */
static void test_length_in_code_points(void **state) {
  (void)state;
  assert_int_equal(check("hello", 5), 0);
  assert_int_equal(check("hello!", 5), -PERR_MSG_TOO_LONG);
  /* é is 2 bytes, € 3, 😀 4: five of each is five characters. */
  assert_int_equal(check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5), 0);
  assert_int_equal(check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", 5),
                   -PERR_MSG_TOO_LONG);
  assert_int_equal(check("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 3), 0);
  assert_int_equal(check("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 2), 0);
  assert_int_equal(check("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 1),
                   -PERR_MSG_TOO_LONG);
}

/* Invalid UTF-8 is refused as such (not as "too long"). */
static void test_bad_utf8(void **state) {
  (void)state;
  assert_int_equal(check("\xff", 10), -PERR_BAD_UTF8);
  assert_int_equal(check("abc\xc3", 10), -PERR_BAD_UTF8);      /* truncated */
  assert_int_equal(check("\xc0\xaf", 10), -PERR_BAD_UTF8);     /* overlong */
  assert_int_equal(check("\xed\xa0\x80", 10), -PERR_BAD_UTF8); /* surrogate */
}

/* Control characters would reach other people's terminals: C0 (but
 * tab), DEL and C1 are refused; tab and ordinary text pass. */
static void test_control_chars(void **state) {
  (void)state;
  assert_int_equal(check("a\x1b[2Jb", 100), -PERR_CONTROL_CHARS);
  assert_int_equal(check("line\nbreak", 100), -PERR_CONTROL_CHARS);
  assert_int_equal(check("bell\x07", 100), -PERR_CONTROL_CHARS);
  assert_int_equal(check("del\x7f", 100), -PERR_CONTROL_CHARS);
  assert_int_equal(check("csi\xc2\x9b", 100), -PERR_CONTROL_CHARS);
  assert_int_equal(check("tab\there", 100), 0);
  assert_int_equal(check("caf\xc3\xa9 \xc2\xa0ok", 100), 0); /* NBSP is fine */
}

/* A burst of flood_burst messages passes at once; the next waits for the
 * refill at flood_rate per second. A refused message takes nothing. */
static void test_flood_bucket(void **state) {
  (void)state;
  bucket b;
  bucket_init(&b, 3, 1000);
  for (int i = 0; i < 3; i++)
    assert_int_equal(chat_check_rate(&b, 2, 3, 1000), 0);
  assert_int_equal(chat_check_rate(&b, 2, 3, 1000), -PERR_FLOOD);
  assert_int_equal(chat_check_rate(&b, 2, 3, 1499), -PERR_FLOOD);
  assert_int_equal(chat_check_rate(&b, 2, 3, 1500), 0); /* half a second */
  assert_int_equal(chat_check_rate(&b, 2, 3, 1500), -PERR_FLOOD);
  /* A long pause refills to the burst, not beyond. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(chat_check_rate(&b, 2, 3, 60000), 0);
  assert_int_equal(chat_check_rate(&b, 2, 3, 60000), -PERR_FLOOD);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_length_in_code_points),
      cmocka_unit_test(test_bad_utf8),
      cmocka_unit_test(test_control_chars),
      cmocka_unit_test(test_flood_bucket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
