/* test_wrap.c: wrapping with wide characters and combining marks. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"
#include "wrap.h"

static wrap_row rows[64];

/* Returns row i's text as a NUL-terminated copy. */
static const char *row(const char *s, int i) {
  static char b[256];
  memcpy(b, s + rows[i].off, rows[i].len);
  b[rows[i].len] = '\0';
  return b;
}

static void test_width(void **state) {
  (void)state;
  assert_int_equal(utf8_width("abc", 3), 3);
  assert_int_equal(utf8_width("\xe4\xb8\xad\xe6\x96\x87", 6), 4); /* 中文 */
  assert_int_equal(utf8_width("\xf0\x9f\x98\x80", 4), 2);         /* 😀 */
  assert_int_equal(utf8_width("e\xcc\x81", 3), 1); /* e + combining */
  assert_int_equal(utf8_width("\x1b", 1), 1);      /* shown as '?' */
  assert_int_equal(utf8_width("\xff", 1), 1);      /* invalid byte */
  assert_int_equal(utf8_count("h\xc3\xa9", 3), 2);
  /* Hidden formatting (RLO, ZWSP) counts one column: drawn as '?'; a
   * joiner counts none: left out, so 👩‍💻 is two emoji side by side. */
  assert_int_equal(utf8_width("a\xe2\x80\xae"
                              "b",
                              5),
                   3);
  assert_int_equal(utf8_width("\xe2\x80\x8b", 3), 1);
  assert_int_equal(
      utf8_width("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 11), 4);
}

/* The display form has the width utf8_width() measures, and no control,
 * hidden or joiner character reaches the terminal. */
static void test_display(void **state) {
  (void)state;
  char out[64];
  const char *s = "\x1b]0;X\x07 a\xe2\x80\xae"
                  "b\xf0\x9f\x91\xa9\xe2\x80\x8d"
                  "\xf0\x9f\x92\xbb\xff";
  size_t used;
  size_t k = utf8_display(s, strlen(s), out, sizeof(out), &used);
  assert_int_equal(used, strlen(s));
  assert_string_equal(out, "?]0;X? a?b\xf0\x9f\x91\xa9\xf0\x9f\x92\xbb?");
  assert_int_equal(k, strlen(out));
  assert_int_equal(utf8_width(out, k), utf8_width(s, strlen(s)));
  /* Variation selectors are left out: terminals disagree on the width of
   * "❤️" (wcwidth: 1, tmux 3.4 and newer terminals: 2), not of "❤". */
  k = utf8_display("I \xe2\x9d\xa4\xef\xb8\x8f it\xef\xb8\x8e", 14, out,
                   sizeof(out), &used);
  assert_int_equal(used, 14);
  assert_string_equal(out, "I \xe2\x9d\xa4 it");
  assert_int_equal(utf8_width("I \xe2\x9d\xa4\xef\xb8\x8f it", 11), 6);
  /* A full buffer stops before a whole character. */
  k = utf8_display("ab\xc3\xa9", 4, out, 4, &used);
  assert_int_equal(k, 2);
  assert_int_equal(used, 2);
  assert_string_equal(out, "ab");
}

/* Words wrap at spaces; spaces at the break vanish. */
static void test_words(void **state) {
  (void)state;
  const char *s = "the quick brown fox jumps";
  int n = wrap_text(s, strlen(s), 10, 10, rows, 64);
  assert_int_equal(n, 3);
  assert_string_equal(row(s, 0), "the quick");
  assert_string_equal(row(s, 1), "brown fox");
  assert_string_equal(row(s, 2), "jumps");
}

/* A hanging indent: the first row is narrower or wider than the rest. */
static void test_hanging(void **state) {
  (void)state;
  const char *s = "aaaa bbbb cccc dddd";
  int n = wrap_text(s, strlen(s), 5, 10, rows, 64);
  assert_int_equal(n, 3);
  assert_string_equal(row(s, 0), "aaaa");
  assert_string_equal(row(s, 1), "bbbb cccc");
  assert_string_equal(row(s, 2), "dddd");
  assert_int_equal(wrap_indent(14, 60), 14);
  assert_int_equal(wrap_indent(50, 60), 4);
}

/* Long words are cut between characters. */
static void test_long_word(void **state) {
  (void)state;
  const char *s = "abcdefghijklmnopqrstuvwxyz";
  int n = wrap_text(s, strlen(s), 10, 10, rows, 64);
  assert_int_equal(n, 3);
  assert_string_equal(row(s, 0), "abcdefghij");
  assert_string_equal(row(s, 2), "uvwxyz");
}

/* CJK: two columns each, never split across rows. */
static void test_cjk(void **state) {
  (void)state;
  /* 中文字符测试 = 6 chars, 12 columns */
  const char *s = "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\xe6\xb5"
                  "\x8b\xe8\xaf\x95";
  int n = wrap_text(s, strlen(s), 5, 5, rows, 64);
  assert_int_equal(n, 3);
  for (int i = 0; i < n; i++) {
    assert_int_equal(rows[i].cols, 4); /* 5 columns hold two wide chars */
    assert_int_equal(rows[i].len, 6);
  }
}

/* Emoji are two columns; a row of width 1 still makes progress. */
static void test_emoji(void **state) {
  (void)state;
  const char *s = "hi \xf0\x9f\x98\x80\xf0\x9f\x98\x80";
  int n = wrap_text(s, strlen(s), 4, 4, rows, 64);
  assert_int_equal(n, 2);
  assert_string_equal(row(s, 0), "hi");
  assert_int_equal(rows[1].cols, 4);
  n = wrap_text(s, strlen(s), 1, 1, rows, 64);
  assert_int_equal(n, 4); /* h, i, one emoji per row (forced) */
}

/* Combining marks stay on the row of their base character. */
static void test_combining(void **state) {
  (void)state;
  const char *s = "ae\xcc\x81"
                  "bc"; /* a é b c = 4 columns */
  int n = wrap_text(s, strlen(s), 2, 2, rows, 64);
  assert_int_equal(n, 2);
  assert_string_equal(row(s, 0), "ae\xcc\x81");
  assert_int_equal(rows[0].cols, 2);
  assert_string_equal(row(s, 1), "bc");
}

/* Empty text is one empty row; invalid bytes do not hang the loop. */
static void test_edge(void **state) {
  (void)state;
  assert_int_equal(wrap_text("", 0, 10, 10, rows, 64), 1);
  assert_int_equal(rows[0].len, 0);
  const char *bad = "\xff\xfe\xfd\xc3";
  assert_int_equal(wrap_text(bad, 4, 2, 2, rows, 64), 2);
  assert_int_equal(wrap_text("   ", 3, 10, 10, rows, 64), 1);
  /* Counting works with max = 0. */
  assert_int_equal(wrap_text("aaaa bbbb", 9, 4, 4, NULL, 0), 2);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_width),     cmocka_unit_test(test_display),
      cmocka_unit_test(test_words),     cmocka_unit_test(test_hanging),
      cmocka_unit_test(test_long_word), cmocka_unit_test(test_cjk),
      cmocka_unit_test(test_emoji),     cmocka_unit_test(test_combining),
      cmocka_unit_test(test_edge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
