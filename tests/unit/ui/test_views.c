/* test_views.c: the pure parts of the views: users pane entries and
 * order, status bar text, input counter, chat line prefixes, nick colours. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <cmocka.h>

#include "chatview.h"
#include "input.h"
#include "statusbar.h"
#include "theme.h"
#include "userlist.h"

static client_user mkuser(const char *name, uint8_t st, bool self) {
  client_user u;
  memset(&u, 0, sizeof(u));
  snprintf(u.name, sizeof(u.name), "%s", name);
  u.status = st;
  u.self = self;
  return u;
}

/* Ourselves first, then online, busy, away; by name inside groups. */
static void test_user_order(void **state) {
  (void)state;
  client_user us[] = {
      mkuser("zed", PROTO_ONLINE, false), mkuser("amy", PROTO_AWAY, false),
      mkuser("Bob", PROTO_ONLINE, false), mkuser("me", PROTO_AWAY, true),
      mkuser("carl", PROTO_BUSY, false),  mkuser("alice", PROTO_ONLINE, false)};
  size_t idx[6];
  userlist_sort(us, 6, idx);
  const char *want[] = {"me", "alice", "Bob", "zed", "carl", "amy"};
  for (int i = 0; i < 6; i++)
    assert_string_equal(us[idx[i]].name, want[i]);
}

/* Entries show mark, operator flag, own marker, peer and unread count. */
static void test_user_entry(void **state) {
  (void)state;
  char b[128];
  client_user u = mkuser("alice", PROTO_ONLINE, true);
  assert_string_equal(userlist_format(&u, 0, 30, b, sizeof(b)), "+ alice (me)");
  u = mkuser("bob", PROTO_AWAY, false);
  u.admin = true;
  snprintf(u.talking_with, sizeof(u.talking_with), "carol");
  assert_string_equal(userlist_format(&u, 3, 30, b, sizeof(b)),
                      "~@bob >carol [3]");
  assert_string_equal(userlist_format(&u, 3, 6, b, sizeof(b)), "~@bob ");
  u = mkuser("dave", PROTO_BUSY, false);
  assert_string_equal(userlist_format(&u, 0, 30, b, sizeof(b)), "! dave");
  assert_int_equal(userlist_mark(PROTO_ONLINE), '+');
  /* A name with controls from a hostile server is drawn escaped and cut
   * to the pane in that form: never wider than cols. */
  u = mkuser("\x1b]0;X\x07"
             "evil-name-long",
             PROTO_ONLINE, false);
  assert_string_equal(userlist_format(&u, 0, 30, b, sizeof(b)),
                      "+ ?]0;X?evil-name-long");
  assert_string_equal(userlist_format(&u, 0, 10, b, sizeof(b)), "+ ?]0;X?ev");
}

/* The status bar: [user@host], state, numbered windows with activity. */
static void test_status(void **state) {
  (void)state;
  client_window w0, w1, w2, w3;
  memset(&w0, 0, sizeof(w0));
  w1 = w2 = w3 = w0;
  snprintf(w0.name, sizeof(w0.name), "srv");
  w0.kind = CLIENT_WIN_SERVER;
  snprintf(w1.name, sizeof(w1.name), "#lobby");
  w1.kind = CLIENT_WIN_ROOM;
  snprintf(w2.name, sizeof(w2.name), "bob");
  w2.kind = CLIENT_WIN_QUERY;
  w2.unread = 3;
  snprintf(w3.name, sizeof(w3.name), "#dev");
  w3.kind = CLIENT_WIN_ROOM;
  w3.unread = 1;
  w3.highlight = true;
  client_window *ws[] = {&w0, &w1, &w2, &w3};
  client_model m;
  memset(&m, 0, sizeof(m));
  snprintf(m.self, sizeof(m.self), "alice");
  snprintf(m.host, sizeof(m.host), "localhost");
  m.windows = ws;
  m.nwindows = 4;
  m.current = &w1;
  statusbar_seg segs[32];
  int n = statusbar_build(&m, "connected", segs, 32);
  char all[512] = "";
  for (int i = 0; i < n; i++)
    strcat(all, segs[i].text);
  assert_string_equal(all,
                      "[alice@localhost] connected | 0:srv 1:#lobby 2:bob(3) "
                      "3:#dev(1!)");
  assert_int_equal(segs[4].role, THEME_BAR_CUR);
  assert_int_equal(segs[8].role, THEME_BAR_HOT);
  char lag[32];
  statusbar_lag(12, lag, sizeof(lag));
  assert_string_equal(lag, "lag 12ms");
  statusbar_lag(1450, lag, sizeof(lag));
  assert_string_equal(lag, "lag 1.4s");
  statusbar_lag(-1, lag, sizeof(lag));
  assert_string_equal(lag, "");
  char title[256];
  w1.joined = true;
  w1.members = 3;
  snprintf(w1.topic, sizeof(w1.topic), "welcome");
  statusbar_title_text(&m, title, sizeof(title));
  assert_string_equal(title, "#lobby [3] welcome");
  m.current = &w2;
  statusbar_title_text(&m, title, sizeof(title));
  assert_string_equal(title, "bob: direct conversation (offline)");
}

/* The counter appears at three quarters of the limit and flags overflow. */
static void test_counter(void **state) {
  (void)state;
  char b[32];
  assert_int_equal(input_message_chars("hello"), 5);
  assert_int_equal(input_message_chars("/me waves"), 5);
  assert_int_equal(input_message_chars("/msg bob hi there"), 8);
  assert_int_equal(input_message_chars("/join #x"), -1);
  assert_int_equal(input_message_chars("//slash"), 6);
  assert_int_equal(input_message_chars("h\xc3\xa9"), 2);
  assert_false(input_counter(100, 280, b, sizeof(b)));
  assert_string_equal(b, "");
  assert_false(input_counter(210, 280, b, sizeof(b)));
  assert_string_equal(b, "210/280");
  assert_true(input_counter(281, 280, b, sizeof(b)));
  assert_string_equal(b, "281/280");
  assert_false(input_counter(-1, 280, b, sizeof(b)));
  assert_false(input_counter(500, 0, b, sizeof(b)));
}

/* Chat prefixes: time, then <nick>, "* nick", or a kind marker. */
static void test_prefix(void **state) {
  (void)state;
  client_line l = {.id = 1, .ts_ms = 0, .from = "bob", .text = "hi"};
  chatview_prefix p;
  chatview_format_prefix(&l, &p);
  assert_int_equal(strlen(p.text), strlen("HH:MM <bob> "));
  assert_memory_equal(p.text + 5, " <bob> ", 7);
  assert_int_equal(p.nick_off, 7);
  assert_int_equal(p.nick_len, 3);
  assert_int_equal(p.cols, 12);
  l.flags = CLIENT_LINE_ACTION;
  chatview_format_prefix(&l, &p);
  assert_string_equal(p.text + 5, " * bob ");
  l.flags = CLIENT_LINE_NOTICE;
  chatview_format_prefix(&l, &p);
  assert_string_equal(p.text + 5, " -- ");
  assert_int_equal(p.nick_len, 0);
  l.flags = CLIENT_LINE_ERROR;
  chatview_format_prefix(&l, &p);
  assert_string_equal(p.text + 5, " !! ");
}

/* Nick colours are stable and case-insensitive. */
static void test_nick_hash(void **state) {
  (void)state;
  assert_int_equal(theme_nick_hash("Bob"), theme_nick_hash("bob"));
  assert_int_not_equal(theme_nick_hash("bob"), theme_nick_hash("alice"));
}

/* Day lines: the date in words, and one number per local calendar day. */
static void test_day(void **state) {
  (void)state;
  setenv("TZ", "UTC", 1);
  tzset();
  char b[128];
  uint64_t thu = 1795694400000ull; /* Thursday 26 November 2026, 12:00 UTC */
  chatview_format_day(thu, b, sizeof(b));
  assert_string_equal(b, "-- Thursday 26 November 2026 --");
  assert_int_equal(chatview_day(thu), chatview_day(thu + 11 * 3600000ull));
  assert_true(chatview_day(thu) != chatview_day(thu + 12 * 3600000ull));
  assert_true(chatview_day(thu) != chatview_day(thu - 86400000ull));
  /* The same instant is another day where the clock is 10 hours ahead. */
  setenv("TZ", "UTC-10", 1);
  tzset();
  chatview_format_day(thu, b, sizeof(b));
  assert_string_equal(b, "-- Thursday 26 November 2026 --");
  chatview_format_day(thu + 12 * 3600000ull, b, sizeof(b));
  assert_string_equal(b, "-- Friday 27 November 2026 --");
  unsetenv("TZ");
  tzset();
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_user_order), cmocka_unit_test(test_user_entry),
      cmocka_unit_test(test_status),     cmocka_unit_test(test_counter),
      cmocka_unit_test(test_prefix),     cmocka_unit_test(test_nick_hash),
      cmocka_unit_test(test_day),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
