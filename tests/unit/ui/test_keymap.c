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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
