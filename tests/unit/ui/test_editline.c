/* test_editline.c: the input line editor model. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "editline.h"

static editline ed;

static int setup(void **state) {
  (void)state;
  editline_init(&ed);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  editline_free(&ed);
  return 0;
}

static void type(const char *s) {
  editline_insert(&ed, s, strlen(s));
}

/* Typing, cursor motion and deletion by code point over UTF-8. */
static void test_utf8_edit(void **state) {
  (void)state;
  type("héllo wörld");
  assert_string_equal(ed.buf, "héllo wörld");
  assert_int_equal(ed.chars, 11);
  editline_left(&ed);
  editline_left(&ed);
  editline_left(&ed);
  editline_backspace(&ed); /* removes 'ö' (two bytes) */
  assert_string_equal(ed.buf, "héllo wrld");
  editline_delete(&ed); /* removes 'r' */
  assert_string_equal(ed.buf, "héllo wld");
  editline_home(&ed);
  editline_delete(&ed);
  assert_string_equal(ed.buf, "éllo wld");
  editline_right(&ed);
  assert_int_equal(ed.cur, 2); /* past the two bytes of é */
  editline_end(&ed);
  assert_int_equal(ed.cur, ed.len);
  assert_int_equal(ed.chars, 8);
}

/* A combining mark moves and deletes with its base on Delete. */
static void test_combining(void **state) {
  (void)state;
  type("e\xcc\x81x"); /* e + COMBINING ACUTE + x */
  editline_home(&ed);
  editline_right(&ed);
  assert_int_equal(ed.cur, 3);
  editline_home(&ed);
  editline_delete(&ed);
  assert_string_equal(ed.buf, "x");
}

/* Ctrl-A/E/K/U/W and yank. */
static void test_kill(void **state) {
  (void)state;
  type("one two three");
  editline_kill_word(&ed);
  assert_string_equal(ed.buf, "one two ");
  editline_yank(&ed);
  assert_string_equal(ed.buf, "one two three");
  editline_word_left(&ed);
  editline_word_left(&ed);
  assert_int_equal(ed.cur, 4);
  editline_kill_end(&ed);
  assert_string_equal(ed.buf, "one ");
  type("x");
  editline_kill_start(&ed);
  assert_string_equal(ed.buf, "");
  type("alpha beta");
  editline_home(&ed);
  editline_word_right(&ed);
  assert_int_equal(ed.cur, 5);
  editline_word_right(&ed);
  assert_int_equal(ed.cur, 10);
}

/* Control characters are dropped, newlines and tabs become spaces. */
static void test_controls(void **state) {
  (void)state;
  type("a\x1b[31mb\tc\nd");
  assert_string_equal(ed.buf, "a[31mb c d");
}

/* The buffer is bounded; a huge paste is cut, never overflowing. */
static void test_bounds(void **state) {
  (void)state;
  size_t n = 100000;
  char *big = malloc(n);
  memset(big, 'x', n);
  int r = editline_insert(&ed, big, n);
  assert_int_equal(r, EDITLINE_MAX_CHARS);
  assert_int_equal(ed.chars, EDITLINE_MAX_CHARS);
  assert_true(editline_insert(&ed, "y", 1) < 0);
  editline_clear(&ed);
  /* 4-byte characters hit the byte bound first. */
  char *emoji = malloc(n);
  for (size_t i = 0; i + 4 <= n; i += 4)
    memcpy(emoji + i, "\xf0\x9f\x98\x80", 4);
  editline_insert(&ed, emoji, n);
  assert_true(ed.len <= EDITLINE_MAX_BYTES);
  assert_int_equal(ed.len % 4, 0);
  free(big);
  free(emoji);
}

/* History: Up/Down walk it and restore the line being typed. */
static void test_history(void **state) {
  (void)state;
  type("first");
  free(editline_submit(&ed));
  type("second");
  free(editline_submit(&ed));
  type("second");
  free(editline_submit(&ed)); /* duplicate of the newest: not added */
  assert_int_equal(ed.hist_n, 2);
  type("draft");
  editline_hist_prev(&ed);
  assert_string_equal(ed.buf, "second");
  editline_hist_prev(&ed);
  assert_string_equal(ed.buf, "first");
  editline_hist_prev(&ed);
  assert_string_equal(ed.buf, "first");
  editline_hist_next(&ed);
  assert_string_equal(ed.buf, "second");
  editline_hist_next(&ed);
  assert_string_equal(ed.buf, "draft");
  editline_clear(&ed);
  for (int i = 0; i < EDITLINE_HISTORY + 20; i++) {
    char b[16];
    snprintf(b, sizeof(b), "l%d", i);
    type(b);
    free(editline_submit(&ed));
  }
  assert_int_equal(ed.hist_n, EDITLINE_HISTORY);
  assert_string_equal(ed.hist[0], "l20");
}

/* Tab completes nicks (": " at line start), rooms and commands; repeated
 * Tab cycles. */
static void test_complete(void **state) {
  (void)state;
  const char *c[] = {"bob",     "Bobby", "carol", "#dev",
                     "#design", "/join", "/jump"};
  int n = 7;
  type("bo");
  assert_int_equal(editline_complete(&ed, c, n), 2);
  assert_string_equal(ed.buf, "bob: ");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "Bobby: ");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "bob: ");
  editline_clear(&ed);
  type("hi CA");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "hi carol ");
  editline_clear(&ed);
  type("/jo");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "/join ");
  type("#de");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "/join #dev ");
  editline_complete(&ed, c, n);
  assert_string_equal(ed.buf, "/join #design ");
  editline_clear(&ed);
  type("zz");
  assert_int_equal(editline_complete(&ed, c, n), 0);
  assert_string_equal(ed.buf, "zz");
}

/* The view scrolls horizontally to keep the cursor visible. */
static void test_view(void **state) {
  (void)state;
  size_t off, len;
  int col;
  type("short");
  editline_view(&ed, 20, &off, &len, &col);
  assert_int_equal(off, 0);
  assert_int_equal(len, 5);
  assert_int_equal(col, 5);
  editline_clear(&ed);
  for (int i = 0; i < 100; i++)
    type(i % 10 == 0 ? "\xe4\xb8\xad" : "a"); /* CJK every 10th */
  editline_view(&ed, 20, &off, &len, &col);
  assert_true(col < 20);
  assert_true(off > 0);
  assert_true(off + len == ed.len);
  editline_home(&ed);
  editline_view(&ed, 20, &off, &len, &col);
  assert_int_equal(off, 0);
  assert_int_equal(col, 0);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_utf8_edit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_combining, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_controls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_complete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_view, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
