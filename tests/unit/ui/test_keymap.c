/* test_keymap.c: the key table, looked up without a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keymap.h"

/* What each kind of key maps to, and that Alt changes the meaning. */
static void test_lookup(void **state) {
  (void)state;
  keymap km = {.alt_left = KEY_MAX + 110, .ctrl_home = KEY_MAX + 114};
  int arg = -1;
  assert_int_equal(keymap_lookup(&km, OK, 'x', false, &arg), KEYMAP_INSERT);
  assert_int_equal(keymap_lookup(&km, OK, 0x263a, false, &arg), KEYMAP_INSERT);
  assert_int_equal(keymap_lookup(&km, OK, 1, false, &arg), KEYMAP_HOME);
  assert_int_equal(keymap_lookup(&km, OK, 127, false, &arg), KEYMAP_BACKSPACE);
  assert_int_equal(keymap_lookup(&km, OK, 27, false, &arg), KEYMAP_ALT);
  assert_int_equal(keymap_lookup(&km, OK, '\t', false, &arg), KEYMAP_COMPLETE);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_HOME, false, &arg),
                   KEYMAP_HOME_OR_TOP);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_MAX + 110, false, &arg),
                   KEYMAP_PANE_WIDER);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_MAX + 114, false, &arg),
                   KEYMAP_SCROLL_TOP);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_MAX + 111, false, &arg),
                   KEYMAP_NONE); /* unknown on this terminal */
  /* Alt: digits pick a window, letters move by words, arrows size panes. */
  assert_int_equal(keymap_lookup(&km, OK, '3', true, &arg), KEYMAP_WINDOW);
  assert_int_equal(arg, 3);
  assert_int_equal(keymap_lookup(&km, OK, 'b', true, &arg), KEYMAP_WORD_LEFT);
  assert_int_equal(keymap_lookup(&km, OK, 'x', true, &arg), KEYMAP_NONE);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_LEFT, true, &arg),
                   KEYMAP_PANE_WIDER);
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_LEFT, false, &arg),
                   KEYMAP_LEFT);
  /* Alt-Backspace where kbs is ^? (tmux, xterm): Escape, then the DEL that
   * curses turned into KEY_BACKSPACE. */
  assert_int_equal(keymap_lookup(&km, KEY_CODE_YES, KEY_BACKSPACE, true, &arg),
                   KEYMAP_KILL_WORD);
  assert_int_equal(keymap_lookup(&km, OK, 127, true, &arg), KEYMAP_KILL_WORD);
  assert_int_equal(keymap_lookup(&km, OK, 'a', true, &arg), KEYMAP_NEXT_ACTIVE);
  assert_int_equal(keymap_lookup(&km, OK, 18, false, &arg), KEYMAP_SEARCH);
}

/* Feeds s (as curses returns it: one character per key) to the paste
 * filter and returns what it keeps, as ASCII. */
static const char *paste_run(keymap_paste *p, const char *s) {
  static char out[256];
  size_t n = 0;
  for (; *s; s++) {
    long cp = keymap_paste_char(p, OK, (wint_t)(unsigned char)*s);
    assert_true(cp >= 0);
    if (cp > 0 && n < sizeof(out) - 1)
      out[n++] = (char)cp;
  }
  out[n] = '\0';
  return out;
}

/* Inside a paste nothing is a key: the tester's paste kept its order. */
static void test_paste(void **state) {
  (void)state;
  keymap_paste p = {0};
  assert_string_equal(paste_run(&p, "abc\001XYZ"), "abcXYZ");
  assert_string_equal(paste_run(&p, "hello\025world"), "helloworld");
  assert_string_equal(paste_run(&p,
                                "A line1\nline2 bell\007 esc\033[31mred\033[0m "
                                "tab\there ctl\001\002 end"),
                      "A line1 line2 bell escred tab here ctl end");
  /* CR LF is one break; a title (OSC ... BEL, OSC ... ESC \) and a
   * two-byte escape vanish; DEL and C1 go. */
  assert_string_equal(paste_run(&p, "a\r\nb\rc\n\nd"), "a b c  d");
  assert_string_equal(paste_run(&p, "x\033]0;title\007y\033]2;t\033\\z"),
                      "xyz");
  assert_string_equal(paste_run(&p, "q\033cr\177s"), "qrs");
  assert_int_equal(keymap_paste_char(&p, OK, 0x85), 0);
  assert_int_equal(keymap_paste_char(&p, OK, 0x263a), 0x263a);
  assert_int_equal(keymap_paste_char(&p, OK, 0x202e), 0x202e); /* shown ? */
  /* A key curses decoded from pasted bytes (ESC [ D) is dropped; the end
   * marker ends the paste and resets the state. */
  assert_int_equal(keymap_paste_char(&p, KEY_CODE_YES, KEY_LEFT), 0);
  assert_int_equal(keymap_paste_char(&p, OK, 27), 0);
  assert_int_equal(keymap_paste_char(&p, KEY_CODE_YES, KEYMAP_PASTE_END), -1);
  assert_int_equal(p.esc, 0);
  assert_int_equal(keymap_paste_char(&p, OK, '['), '[');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookup),
      cmocka_unit_test(test_paste),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
