/* test_layout.c: pane rectangles for common and extreme terminal sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "layout.h"

/* Every cell of the screen belongs to exactly one pane. */
static void assert_tiles(const layout *l) {
  static unsigned char cover[300][300];
  for (int y = 0; y < l->rows; y++)
    for (int x = 0; x < l->cols; x++)
      cover[y][x] = 0;
  const layout_rect *rs[] = {&l->title, &l->chat,   &l->sep,  &l->users,
                             &l->xfers, &l->status, &l->input};
  for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
    for (int y = rs[i]->y; y < rs[i]->y + rs[i]->h; y++)
      for (int x = rs[i]->x; x < rs[i]->x + rs[i]->w; x++) {
        assert_true(y >= 0 && y < l->rows && x >= 0 && x < l->cols);
        cover[y][x]++;
      }
  for (int y = 0; y < l->rows; y++)
    for (int x = 0; x < l->cols; x++)
      assert_int_equal(cover[y][x], 1);
}

static void test_80x24(void **state) {
  (void)state;
  layout l;
  layout_compute(&l, 24, 80, LAYOUT_USERS_DEFAULT, 0);
  assert_false(l.too_small);
  assert_int_equal(l.title.y, 0);
  assert_int_equal(l.input.y, 23);
  assert_int_equal(l.status.y, 22);
  assert_int_equal(l.chat.h, 21);
  assert_int_equal(l.users.w, LAYOUT_USERS_DEFAULT);
  assert_int_equal(l.chat.w, 80 - LAYOUT_USERS_DEFAULT - 1);
  assert_int_equal(l.xfers.h, 0);
  assert_tiles(&l);
}

static void test_200x60_xfers(void **state) {
  (void)state;
  layout l;
  layout_compute(&l, 60, 200, 30, 2);
  assert_false(l.too_small);
  assert_int_equal(l.users.w, 30);
  assert_int_equal(l.xfers.h, 3); /* header + 2 */
  assert_int_equal(l.xfers.w, 200);
  assert_int_equal(l.chat.h, 60 - 3 - 3);
  assert_tiles(&l);
  layout_compute(&l, 60, 200, 30, 50);
  assert_int_equal(l.xfers.h, LAYOUT_XFER_MAX + 1);
  assert_tiles(&l);
}

static void test_too_small(void **state) {
  (void)state;
  layout l;
  layout_compute(&l, 5, 80, 20, 0);
  assert_true(l.too_small);
  layout_compute(&l, 24, 20, 20, 0);
  assert_true(l.too_small);
  layout_compute(&l, LAYOUT_MIN_ROWS, LAYOUT_MIN_COLS, 20, 3);
  assert_false(l.too_small);
  assert_true(l.chat.h >= 3);
  assert_tiles(&l);
}

/* A narrow terminal hides the users pane rather than squeezing the chat;
 * widths are clamped. */
static void test_users_width(void **state) {
  (void)state;
  layout l;
  layout_compute(&l, 24, 45, 20, 0);
  assert_int_equal(l.users.w, 0);
  assert_int_equal(l.chat.w, 45);
  assert_tiles(&l);
  layout_compute(&l, 24, 80, 0, 0);
  assert_int_equal(l.users.w, 0);
  assert_tiles(&l);
  assert_int_equal(layout_clamp_users(3, 80), LAYOUT_USERS_MIN);
  assert_int_equal(layout_clamp_users(70, 80), 40);
  layout_compute(&l, 24, 80, 70, 0);
  assert_int_equal(l.users.w, 40);
  assert_tiles(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_80x24),
      cmocka_unit_test(test_200x60_xfers),
      cmocka_unit_test(test_too_small),
      cmocka_unit_test(test_users_width),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
