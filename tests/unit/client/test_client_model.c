/* test_client_model.c: line rings, windows, users, mentions, and the
 * command executor's local errors (no server involved). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client_int.h"

static void test_ring_bounds(void **s) {
  (void)s;
  client_window *w = client_window_new(CLIENT_WIN_ROOM, "#r", 10);
  assert_non_null(w);
  assert_null(client_window_line(w, 0));
  char text[32];
  for (int i = 1; i <= 25; i++) {
    int n = snprintf(text, sizeof text, "line %d", i);
    assert_non_null(client_window_add(w, (uint64_t)i, 1000 + (uint64_t)i, "bob",
                                      3, text, (size_t)n, 0));
    assert_true(w->count <= 10);
  }
  assert_int_equal(w->count, 10);
  assert_int_equal(w->total, 25);
  assert_int_equal(w->last_id, 25);
  assert_string_equal(client_window_line(w, 0)->text, "line 16");
  assert_string_equal(client_window_line(w, 9)->text, "line 25");
  assert_string_equal(client_window_line(w, 9)->from, "bob");
  assert_int_equal(client_window_line(w, 9)->ts_ms, 1025);
  assert_null(client_window_line(w, 10));
  /* Embedded text with no NUL in the source is terminated. */
  client_line *l = client_window_add(w, 0, 0, "", 0, "abcdef", 3, 0);
  assert_string_equal(l->text, "abc");
  assert_string_equal(l->from, "");
  client_window_free(w);
}

static void test_mentions(void **s) {
  (void)s;
  assert_true(client_window_mentions("hi alice", "alice"));
  assert_true(client_window_mentions("ALICE: look", "alice"));
  assert_true(client_window_mentions("@alice hey", "alice"));
  assert_true(client_window_mentions("thanks alice.", "alice"));
  assert_true(client_window_mentions("alice, alice", "alice"));
  assert_true(client_window_mentions("(alice)", "alice"));
  assert_false(client_window_mentions("malice aforethought", "alice"));
  assert_false(client_window_mentions("alicea", "alice"));
  assert_false(client_window_mentions("alice_b is here", "alice"));
  assert_false(client_window_mentions("alice.b is here", "alice"));
  assert_false(client_window_mentions("nobody", "alice"));
  assert_false(client_window_mentions("anything", ""));
  assert_true(client_window_mentions("bob", "bob"));
}

/* Records events for the assertions below. */
typedef struct rec {
  int n[CLIENT_EV_STOPPED + 1];
  char last_closed[64];
} rec;

static void on_ev(client *c, const client_event *ev, void *ud) {
  (void)c;
  rec *r = ud;
  r->n[ev->type]++;
  if (ev->type == CLIENT_EV_WINDOW_CLOSED)
    snprintf(r->last_closed, sizeof r->last_closed, "%s", ev->name);
}

/* A client that never connects, on its own loop. */
static client *offline_client(uv_loop_t *loop, rec *r) {
  client_opts o;
  char err[200];
  char *argv[] = {"parley", "--batch", "me@127.0.0.1:9", NULL};
  assert_int_equal(client_opts_parse(&o, 3, argv, err, sizeof err), 0);
  o.scrollback = 50;
  assert_int_equal(uv_loop_init(loop), 0);
  client *c = client_new(loop, &o, on_ev, r);
  client_opts_free(&o);
  assert_non_null(c);
  return c;
}

/* Stops the client and checks the loop closes with nothing left open. */
static void finish(uv_loop_t *loop, client *c, rec *r) {
  client_stop(c);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(r->n[CLIENT_EV_STOPPED], 1);
  client_free(c);
  assert_int_equal(uv_loop_close(loop), 0);
}

static void test_windows(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client *c = offline_client(&loop, &r);
  const client_model *m = client_model_get(c);
  assert_int_equal(m->nwindows, 1);
  assert_int_equal(m->windows[0]->kind, CLIENT_WIN_SERVER);
  assert_ptr_equal(client_window_current(c), m->windows[0]);
  client_window *a = client_window_get(c, CLIENT_WIN_ROOM, "#a", 2);
  client_window *q = client_window_query(c, "bob", false);
  assert_non_null(a);
  assert_non_null(q);
  assert_int_equal(m->nwindows, 3);
  /* Opening without focus leaves the current window alone. */
  assert_ptr_equal(client_window_current(c), m->windows[0]);
  assert_ptr_equal(client_window_find(c, "BOB"), q);
  assert_ptr_equal(client_window_get(c, CLIENT_WIN_ROOM, "#A", 2), a);
  q->unread = 3;
  q->highlight = true;
  client_window_switch_index(c, 2);
  assert_ptr_equal(client_window_current(c), q);
  assert_int_equal(q->unread, 0);
  assert_false(q->highlight);
  client_window_switch_index(c, 99); /* ignored */
  assert_ptr_equal(client_window_current(c), q);
  /* Closing the current window focuses its left neighbour. */
  assert_int_equal(client_window_close(c, q), 0);
  assert_string_equal(r.last_closed, "bob");
  assert_int_equal(m->nwindows, 2);
  assert_ptr_equal(client_window_current(c), a);
  assert_int_equal(client_window_close(c, m->windows[0]), CLIENT_EUSAGE);
  finish(&loop, c, &r);
}

static void test_window_limit(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client *c = offline_client(&loop, &r);
  char name[16];
  size_t made = 0;
  for (int i = 0; i < CLIENT_MAX_WINDOWS + 10; i++) {
    int n = snprintf(name, sizeof name, "u%d", i);
    if (client_window_get(c, CLIENT_WIN_QUERY, name, (size_t)n))
      made++;
  }
  assert_int_equal(made, CLIENT_MAX_WINDOWS - 1);
  assert_int_equal(client_model_get(c)->nwindows, CLIENT_MAX_WINDOWS);
  finish(&loop, c, &r);
}

static void test_users(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client *c = offline_client(&loop, &r);
  const char *names[] = {"carol", "Alice", "bob", "dave"};
  for (size_t i = 0; i < 4; i++) {
    client_user u = {0};
    snprintf(u.name, sizeof u.name, "%s", names[i]);
    assert_non_null(client_user_upsert(c, &u));
  }
  const client_model *m = client_model_get(c);
  assert_int_equal(m->nusers, 4);
  /* The array is unordered (views sort); every name is found, any case. */
  for (size_t i = 0; i < 4; i++)
    assert_string_equal(client_user_find(c, names[i])->name, names[i]);
  assert_string_equal(client_user_find(c, "ALICE")->name, "Alice");
  client_user u = {.status = PROTO_AWAY};
  snprintf(u.name, sizeof u.name, "BOB");
  client_user_upsert(c, &u);
  assert_int_equal(m->nusers, 4);
  assert_int_equal(client_user_find(c, "bob")->status, PROTO_AWAY);
  client_user gone;
  assert_true(client_user_remove(c, "alice", &gone));
  assert_string_equal(gone.name, "Alice");
  assert_false(client_user_remove(c, "alice", NULL));
  assert_null(client_user_find(c, "alice"));
  assert_int_equal(m->nusers, 3);
  /* The entry moved into alice's slot is still indexed correctly. */
  assert_string_equal(client_user_find(c, "carol")->name, "carol");
  assert_string_equal(client_user_find(c, "dave")->name, "dave");
  assert_int_equal(client_user_find(c, "bob")->status, PROTO_AWAY);
  finish(&loop, c, &r);
}

static void test_command_offline(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client *c = offline_client(&loop, &r);
  char err[300];
  assert_int_equal(client_command(c, NULL, "", err, sizeof err), 0);
  assert_int_equal(client_command(c, NULL, "/nope", err, sizeof err),
                   CLIENT_EUSAGE);
  assert_non_null(strstr(err, "unknown command"));
  assert_int_equal(client_command(c, NULL, "/join", err, sizeof err),
                   CLIENT_EUSAGE);
  assert_int_equal(client_command(c, NULL, "hello", err, sizeof err),
                   CLIENT_ENOTCONN);
  assert_non_null(strstr(err, "not connected"));
  assert_int_equal(client_command(c, NULL, "/help", err, sizeof err), 0);
  assert_int_equal(r.n[CLIENT_EV_HELP], 1);
  assert_true(client_window_current(c)->count > 10); /* help lines */
  assert_int_equal(client_command(c, NULL, "/close", err, sizeof err),
                   CLIENT_EUSAGE);
  finish(&loop, c, &r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ring_bounds),
      cmocka_unit_test(test_mentions),
      cmocka_unit_test(test_windows),
      cmocka_unit_test(test_window_limit),
      cmocka_unit_test(test_users),
      cmocka_unit_test(test_command_offline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
