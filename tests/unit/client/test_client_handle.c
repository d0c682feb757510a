/* test_client_handle.c: the frame handlers (src/client/client_handle.c)
 * fed decoded frames directly, on a client that never connects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client_int.h"

/* Counts events by type. */
typedef struct rec {
  int n[CLIENT_EV_STOPPED + 1];
} rec;

/* Records one event. */
static void on_ev(client *c, const client_event *ev, void *ud) {
  (void)c;
  rec *r = ud;
  r->n[ev->type]++;
}

/* A client logged in as "me" on its own loop; never connects. k stands for
 * a connection past LOGIN_OK, which is all the handlers look at. */
static client *ready_client(uv_loop_t *loop, rec *r, client_conn *k) {
  client_opts o;
  char err[200];
  char *argv[] = {"parley", "--batch", "me@127.0.0.1:9", NULL};
  assert_int_equal(client_opts_parse(&o, 3, argv, err, sizeof err), 0);
  assert_int_equal(uv_loop_init(loop), 0);
  client *c = client_new(loop, &o, on_ev, r);
  client_opts_free(&o);
  assert_non_null(c);
  memset(k, 0, sizeof *k);
  k->c = c;
  k->phase = CONN_READY;
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

/* Hands the client a MSG frame as the connection would. */
static void msg(client *c, client_conn *k, uint64_t id, uint8_t kind,
                const char *target, const char *from, const char *text) {
  proto_msg m = {.type = PROTO_MSG};
  m.u.msg.id = id;
  m.u.msg.ts_ms = 1000 + id;
  m.u.msg.kind = kind;
  m.u.msg.target = proto_str_c(target);
  m.u.msg.from = proto_str_c(from);
  m.u.msg.text = proto_str_c(text);
  client_handle_frame(c, k, &m);
}

/* Someone else's lines in a window one is not looking at count as unread
 * (and a mention highlights); one's own lines, echoed back by the server
 * for a room or a direct message, never do. */
static void test_own_messages_not_unread(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  const client_model *m = client_model_get(c);

  msg(c, &k, 1, PROTO_TO_ROOM, "#a", "bob", "hello");
  client_window *a = client_window_find(c, "#a");
  assert_non_null(a);
  assert_ptr_not_equal(client_window_current(c), a);
  assert_int_equal(a->unread, 1);
  uint64_t activity = a->activity;
  assert_true(activity > 0);

  /* Our own line in the same room: shown, marked SELF, not unread, and it
   * does not bump the window's activity. A mention of our own name in our
   * own line is no highlight either. */
  msg(c, &k, 2, PROTO_TO_ROOM, "#a", "me", "me and bob");
  assert_int_equal(a->count, 2);
  const client_line *l = client_window_line(a, 1);
  assert_string_equal(l->text, "me and bob");
  assert_true(l->flags & CLIENT_LINE_SELF);
  assert_false(l->flags & CLIENT_LINE_HIGHLIGHT);
  assert_int_equal(a->unread, 1);
  assert_int_equal(a->activity, activity);
  assert_false(a->highlight);

  /* A direct message we sent lands in the peer's window, not unread. */
  msg(c, &k, 3, PROTO_TO_USER, "bob", "ME", "psst");
  client_window *q = client_window_find(c, "bob");
  assert_non_null(q);
  assert_int_equal(q->kind, CLIENT_WIN_QUERY);
  assert_int_equal(q->count, 1);
  assert_int_equal(q->unread, 0);
  assert_false(q->highlight);

  /* The peer's answer is unread, and a mention of us highlights. */
  msg(c, &k, 4, PROTO_TO_USER, "me", "bob", "me? yes");
  assert_int_equal(q->count, 2);
  assert_int_equal(q->unread, 1);
  assert_true(q->highlight);
  assert_int_equal(r.n[CLIENT_EV_MESSAGE], 4);
  assert_int_equal(m->nwindows, 3);
  finish(&loop, c, &r);
}

/* Hands the client a MSG with an explicit timestamp and flags. */
static void msg_at(client *c, client_conn *k, uint64_t id, uint64_t ts_ms,
                   uint8_t flags, const char *text) {
  proto_msg m = {.type = PROTO_MSG};
  m.u.msg.id = id;
  m.u.msg.ts_ms = ts_ms;
  m.u.msg.kind = PROTO_TO_ROOM;
  m.u.msg.target = proto_str_c("#a");
  m.u.msg.from = proto_str_c("bob");
  m.u.msg.flags = flags;
  m.u.msg.text = proto_str_c(text);
  client_handle_frame(c, k, &m);
}

/* Replayed backlog is skipped only when both the id and the timestamp
 * match a line already shown: a server that lost messages in a crash and
 * handed their ids out again must not have the new messages dropped as
 * "already printed". */
static void test_backlog_matches_id_and_ts(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);

  msg_at(c, &k, 7, 5000, 0, "old seven");
  msg_at(c, &k, 8, 5001, 0, "old eight");
  client_window *a = client_window_find(c, "#a");
  assert_non_null(a);
  assert_int_equal(a->count, 2);
  /* The same message replayed as backlog: skipped. */
  msg_at(c, &k, 8, 5001, PROTO_MSGF_BACKLOG, "old eight");
  assert_int_equal(a->count, 2);
  /* Same id, another time: a different message, shown. */
  msg_at(c, &k, 7, 9000, PROTO_MSGF_BACKLOG, "new seven");
  assert_int_equal(a->count, 3);
  assert_string_equal(client_window_line(a, 2)->text, "new seven");
  assert_int_equal(r.n[CLIENT_EV_MESSAGE], 3);
  finish(&loop, c, &r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_own_messages_not_unread),
      cmocka_unit_test(test_backlog_matches_id_and_ts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
