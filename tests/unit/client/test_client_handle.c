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

/* A client logged in as "me" on its own loop, started with the options
 * args (NULL-ended, at most 6; {"--batch"} for the batch face); never
 * connects and keeps no session file. k stands for a connection past
 * LOGIN_OK, which is all the handlers look at. */
static client *ready_client_args(uv_loop_t *loop, rec *r, client_conn *k,
                                 char *const *args) {
  client_opts o;
  char err[200];
  char *argv[8] = {"parley"};
  int argc = 1;
  while (*args && argc < 7)
    argv[argc++] = *args++;
  argv[argc++] = "me@127.0.0.1:9";
  assert_int_equal(client_opts_parse(&o, argc, argv, err, sizeof err), 0);
  o.keep_session = false;
  assert_int_equal(uv_loop_init(loop), 0);
  client *c = client_new(loop, &o, on_ev, r);
  client_opts_free(&o);
  assert_non_null(c);
  memset(k, 0, sizeof *k);
  k->c = c;
  k->phase = CONN_READY;
  return c;
}

/* A batch client logged in as "me" (see ready_client_args). */
static client *ready_client(uv_loop_t *loop, rec *r, client_conn *k) {
  char *args[] = {"--batch", NULL};
  return ready_client_args(loop, r, k, args);
}

/* Stops the client and checks the loop closes with nothing left open. */
static void finish(uv_loop_t *loop, client *c, rec *r) {
  client_stop(c);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(r->n[CLIENT_EV_STOPPED], 1);
  client_free(c);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* Hands the client a MSG frame as the connection would, with an explicit
 * timestamp and flags. */
static void msg_full(client *c, client_conn *k, uint64_t id, uint64_t ts_ms,
                     uint8_t kind, const char *target, const char *from,
                     uint8_t flags, const char *text) {
  proto_msg m = {.type = PROTO_MSG};
  m.u.msg.id = id;
  m.u.msg.ts_ms = ts_ms;
  m.u.msg.kind = kind;
  m.u.msg.target = proto_str_c(target);
  m.u.msg.from = proto_str_c(from);
  m.u.msg.flags = flags;
  m.u.msg.text = proto_str_c(text);
  client_handle_frame(c, k, &m);
}

/* A live MSG (timestamp 1000 + id). */
static void msg(client *c, client_conn *k, uint64_t id, uint8_t kind,
                const char *target, const char *from, const char *text) {
  msg_full(c, k, id, 1000 + id, kind, target, from, 0, text);
}

/* Hands the client JOINED for room with members. */
static void joined(client *c, client_conn *k, const char *room,
                   uint32_t members) {
  proto_msg m = {.type = PROTO_JOINED};
  m.u.joined.room = proto_str_c(room);
  m.u.joined.members = members;
  m.u.joined.topic = proto_str_c("");
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
  joined(c, &k, "#a", 2);
  client_window_switch(c, m->windows[0]); /* #a is not looked at */

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

/* Hands the client a NOTICE frame. */
static void notice(client *c, client_conn *k, uint8_t kind, const char *room,
                   const char *user) {
  proto_msg m = {.type = PROTO_NOTICE};
  m.u.notice.kind = kind;
  m.u.notice.ts_ms = 5;
  m.u.notice.room = proto_str_c(room);
  m.u.notice.user = proto_str_c(user);
  m.u.notice.actor = proto_str_c(kind == PROTO_NOTICE_KICKED ? "op" : "");
  m.u.notice.text = proto_str_c("");
  client_handle_frame(c, k, &m);
}

/* The title's member count follows joins, parts, quits, kicks and bans
 * (issue 13: quits and kicks never decremented it). */
static void test_member_count(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  joined(c, &k, "#lobby", 2);
  client_window *w = client_window_find(c, "#lobby");
  assert_non_null(w);
  assert_int_equal(w->members, 2);
  notice(c, &k, PROTO_NOTICE_JOINED, "#lobby", "bob");
  notice(c, &k, PROTO_NOTICE_JOINED, "#lobby", "carol");
  notice(c, &k, PROTO_NOTICE_JOINED, "#lobby", "dave");
  notice(c, &k, PROTO_NOTICE_JOINED, "#lobby", "erin");
  assert_int_equal(w->members, 6);
  notice(c, &k, PROTO_NOTICE_QUIT, "#lobby", "bob");
  assert_int_equal(w->members, 5);
  notice(c, &k, PROTO_NOTICE_KICKED, "#lobby", "carol");
  assert_int_equal(w->members, 4);
  notice(c, &k, PROTO_NOTICE_BANNED, "#lobby", "dave");
  assert_int_equal(w->members, 3);
  notice(c, &k, PROTO_NOTICE_LEFT, "#lobby", "erin");
  assert_int_equal(w->members, 2);
  finish(&loop, c, &r);
}

/* The newest line of w. */
static const char *last_line(const client_window *w) {
  const client_line *l = client_window_line(w, w->count - 1);
  assert_non_null(l);
  return l->text;
}

/* The TUI: a room above --join-summary-above gets no line per join,
 * leave or quit (the event still fires, without a line, and the count
 * follows) but one summary line per period, where a join and leave of
 * one user cancel out; a kick keeps its line and takes back the pending
 * join; /joins lists what is pending; a small room keeps its lines; the
 * timer is closed on stop (finish checks the loop closes). */
static void test_join_summary(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  char *args[] = {"--join-summary-above", "3", "--join-summary-every", "1",
                  NULL};
  client *c = ready_client_args(&loop, &r, &k, args);
  joined(c, &k, "#big", 4);
  joined(c, &k, "#small", 2);
  client_window *big = client_window_find(c, "#big");
  client_window *small = client_window_find(c, "#small");
  size_t lines = big->count;
  int before = r.n[CLIENT_EV_NOTICE];
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "bob");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "carol");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "dave");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "erin");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "dave");
  notice(c, &k, PROTO_NOTICE_QUIT, "#big", "zed");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "fay");
  assert_int_equal(r.n[CLIENT_EV_NOTICE] - before, 7);
  assert_int_equal(big->count, lines);
  assert_int_equal(big->members, 7);
  notice(c, &k, PROTO_NOTICE_KICKED, "#big", "fay");
  assert_int_equal(big->count, lines + 1); /* the kick's own line */
  notice(c, &k, PROTO_NOTICE_JOINED, "#small", "bob");
  assert_int_equal(small->count, 1);
  assert_string_equal(last_line(small), "bob joined #small");

  char err[200];
  client_window_switch(c, big);
  assert_int_equal(client_command(c, big, "/joins", err, sizeof err), 0);
  assert_string_equal(last_line(big), "left: zed");
  assert_string_equal(client_window_line(big, big->count - 2)->text,
                      "joined: bob carol erin");
  lines = big->count;
  client_summary_flush(c); /* what the timer does */
  assert_int_equal(big->count, lines + 1);
  assert_string_equal(last_line(big),
                      "3 joined (bob, carol, erin), 1 left (zed) --");
  client_summary_flush(c); /* nothing new: no line */
  assert_int_equal(big->count, lines + 1);
  assert_int_equal(client_command(c, big, "/joins", err, sizeof err), 0);
  assert_non_null(strstr(last_line(big), "no joins or leaves waiting"));
  assert_int_equal(client_command(c, small, "/joins", err, sizeof err), 0);
  assert_int_equal(client_command(c, client_model_get(c)->windows[0], "/joins",
                                  err, sizeof err),
                   CLIENT_EUSAGE);
  /* The room shrinks to the threshold: a leave that undoes a waiting
   * join still goes to the summary (nobody is told of either), another
   * leave gets its line. */
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "gus");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "bob");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "carol");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "erin");
  notice(c, &k, PROTO_NOTICE_QUIT, "#big", "yan");
  assert_int_equal(big->members, 3);
  lines = big->count;
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "gus");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "zoe");
  assert_int_equal(big->count, lines + 1);
  assert_string_equal(last_line(big), "zoe left #big");
  client_summary_flush(c);
  assert_string_equal(last_line(big), "4 left (bob, carol, erin, …) --");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "hal"); /* 3: not large */
  assert_string_equal(last_line(big), "hal joined #big");
  finish(&loop, c, &r);
}

/* --batch reports every join and leave as a line, large room or not. */
static void test_join_summary_batch(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  joined(c, &k, "#big", 100);
  client_window *big = client_window_find(c, "#big");
  notice(c, &k, PROTO_NOTICE_JOINED, "#big", "bob");
  notice(c, &k, PROTO_NOTICE_LEFT, "#big", "bob");
  assert_int_equal(big->count, 2);
  assert_string_equal(last_line(big), "bob left #big");
  finish(&loop, c, &r);
}

/* Hands the client a PRESENCE_LIST of the given entries. */
static void plist(client *c, client_conn *k, uint8_t flags,
                  const proto_presence *e, size_t n) {
  static uint8_t buf[PROTO_MAX_LIST];
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    assert_int_equal(proto_plist_put(buf, sizeof buf, &off, &e[i]), 0);
  proto_msg m = {.type = PROTO_PRESENCE_LIST};
  m.u.presence_list.flags = flags;
  m.u.presence_list.entries = (proto_blob){buf, (uint16_t)off};
  client_handle_frame(c, k, &m);
}

/* /who of more users than --join-summary-above, with a width from the
 * face: names in columns that fit it, in name order, with their marks;
 * without a width (or fewer users) one user per line. */
static void test_who_columns(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  char *args[] = {"--join-summary-above", "3", NULL};
  client *c = ready_client_args(&loop, &r, &k, args);
  const proto_presence e[6] = {
      {.user = proto_str_c("erin")},
      {.user = proto_str_c("bob"), .status = PROTO_AWAY},
      {.user = proto_str_c("alice"), .flags = PROTO_PRESF_ADMIN},
      {.user = proto_str_c("dave"), .status = PROTO_BUSY},
      {.user = proto_str_c("carol")},
      {.user = proto_str_c("me"), .flags = PROTO_PRESF_SELF},
  };
  const client_window *w = client_window_current(c);
  proto_msg end = {.type = PROTO_WHO_END};
  for (int pass = 0; pass < 2; pass++) {
    client_set_width(c, pass ? 0 : 30); /* 3 columns of 8 and 2 blanks */
    c->who_requested = true;            /* what /who sets */
    size_t before = w->count;
    plist(c, &k, PROTO_PRESF_LIST, e, 6);
    client_handle_frame(c, &k, &end);
    if (pass == 0) {
      assert_int_equal(w->count - before, 3);
      assert_string_equal(client_window_line(w, before)->text,
                          "6 users online (@ operator, - away, ! busy)");
      assert_string_equal(last_line(w), "[!dave ] [ erin ] [ me   ]");
      assert_string_equal(client_window_line(w, before + 1)->text,
                          "[@alice] [-bob  ] [ carol]");
    } else {
      assert_int_equal(w->count - before, 7);
      assert_string_equal(last_line(w), "  me  online");
    }
  }
  finish(&loop, c, &r);
}

/* Version 3: the compact user list and the coalesced changes land in the
 * same model as PRESENCE frames, one event per entry; an entry naming us
 * without SELF is ignored (our own state comes with SELF); ROOM_EVENTS
 * counts members like NOTICEs, but our own JOINED is not news. */
static void test_v3_lists(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  snprintf(c->m.self, sizeof c->m.self, "me");
  proto_presence e[3] = {
      {.user = proto_str_c("bob"),
       .status = PROTO_AWAY,
       .text = proto_str_c("lunch"),
       .idle_s = 300},
      {.user = proto_str_c("me"), .status = PROTO_BUSY},
      {.user = proto_str_c("me"), .flags = PROTO_PRESF_SELF},
  };
  plist(c, &k, PROTO_PRESF_LIST, e, 3);
  proto_msg end = {.type = PROTO_WHO_END};
  client_handle_frame(c, &k, &end);
  assert_int_equal(r.n[CLIENT_EV_USERS], 1);
  assert_int_equal(c->m.nusers, 2);
  const client_user *bob = client_user_find(c, "bob");
  assert_non_null(bob);
  assert_int_equal(bob->status, PROTO_AWAY);
  assert_string_equal(bob->text, "lunch");
  assert_int_equal(bob->idle_s, 300);
  const client_user *me = client_user_find(c, "me");
  assert_non_null(me);
  assert_int_equal(me->status, PROTO_ONLINE); /* the SELF entry, not BUSY */
  /* changes: carol arrives, bob leaves, "me" without SELF is skipped */
  proto_presence ch[3] = {
      {.user = proto_str_c("carol")},
      {.user = proto_str_c("bob"), .status = PROTO_OFFLINE},
      {.user = proto_str_c("me"), .status = PROTO_BUSY},
  };
  plist(c, &k, 0, ch, 3);
  assert_int_equal(r.n[CLIENT_EV_PRESENCE], 2);
  assert_null(client_user_find(c, "bob"));
  assert_non_null(client_user_find(c, "carol"));
  assert_int_equal(client_user_find(c, "me")->status, PROTO_ONLINE);

  joined(c, &k, "#lobby", 2);
  client_window *w = client_window_find(c, "#lobby");
  static uint8_t buf[256];
  size_t off = 0;
  const proto_notice ev[] = {
      {.kind = PROTO_NOTICE_JOINED, .user = proto_str_c("me")},
      {.kind = PROTO_NOTICE_JOINED, .user = proto_str_c("dave")},
      {.kind = PROTO_NOTICE_QUIT,
       .user = proto_str_c("carol"),
       .text = proto_str_c("bye")},
  };
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(proto_revents_put(buf, sizeof buf, &off, &ev[i]), 0);
  proto_msg m = {.type = PROTO_ROOM_EVENTS};
  m.u.room_events.room = proto_str_c("#lobby");
  m.u.room_events.ts_ms = 7;
  m.u.room_events.entries = (proto_blob){buf, (uint16_t)off};
  int before = r.n[CLIENT_EV_NOTICE];
  client_handle_frame(c, &k, &m);
  assert_int_equal(r.n[CLIENT_EV_NOTICE] - before, 2);
  assert_int_equal(w->members, 2); /* +dave -carol */
  finish(&loop, c, &r);
}

/* A refused /query: the error goes to the window that stays current, not
 * to the query window that is dropped (issue 13). */
static void test_query_error_visible(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  joined(c, &k, "#lobby", 1);
  client_window *lobby = client_window_find(c, "#lobby");
  assert_ptr_equal(client_window_current(c), lobby);
  client_window *q = client_window_query(c, "nosuch", true);
  assert_ptr_equal(client_window_current(c), q);
  size_t before = lobby->count;
  proto_msg m = {.type = PROTO_ERROR};
  m.u.error.code = PERR_NO_SUCH_USER;
  m.u.error.ref_type = PROTO_QUERY_OPEN;
  m.u.error.subject = proto_str_c("nosuch");
  m.u.error.text = proto_str_c("no such user: nosuch");
  client_handle_frame(c, &k, &m);
  assert_null(client_window_find(c, "nosuch"));
  assert_ptr_equal(client_window_current(c), lobby);
  assert_int_equal(lobby->count, before + 1);
  const client_line *l = client_window_line(lobby, lobby->count - 1);
  assert_true(l->flags & CLIENT_LINE_ERROR);
  assert_string_equal(l->text, "no such user: nosuch");
  assert_int_equal(r.n[CLIENT_EV_ERROR], 1);
  finish(&loop, c, &r);
}

/* /names: MEMBER frames are collected, sorted and kept on the room's
 * window; later notices keep the list current. */
static void test_names(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  joined(c, &k, "#dev", 3);
  const char *names[] = {"me", "carol", "Bob"};
  for (size_t i = 0; i < 3; i++) {
    proto_msg m = {.type = PROTO_MEMBER};
    m.u.member.room = proto_str_c("#dev");
    m.u.member.name = proto_str_c(names[i]);
    client_handle_frame(c, &k, &m);
  }
  proto_msg e = {.type = PROTO_MEMBERS_END};
  e.u.members_end.room = proto_str_c("#dev");
  e.u.members_end.count = 3;
  client_handle_frame(c, &k, &e);
  assert_int_equal(r.n[CLIENT_EV_NAMES], 1);
  client_window *w = client_window_find(c, "#dev");
  assert_true(w->names_known);
  assert_int_equal(w->nnames, 3);
  assert_string_equal(w->names[0], "Bob");
  assert_string_equal(w->names[1], "carol");
  assert_string_equal(w->names[2], "me");
  notice(c, &k, PROTO_NOTICE_QUIT, "#dev", "carol");
  notice(c, &k, PROTO_NOTICE_JOINED, "#dev", "dave");
  assert_int_equal(w->nnames, 3);
  assert_string_equal(w->names[1], "me");
  assert_string_equal(w->names[2], "dave");
  assert_int_equal(w->members, 3);
  /* A quiet refresh (client_names(show = false), for a users pane) updates
   * the list and fires NAMES without adding lines. */
  size_t lines = client_window_current(c)->count;
  w->names_quiet = true;
  proto_msg one = {.type = PROTO_MEMBER};
  one.u.member.room = proto_str_c("#dev");
  one.u.member.name = proto_str_c("zed");
  client_handle_frame(c, &k, &one);
  e.u.members_end.count = 1;
  client_handle_frame(c, &k, &e);
  assert_int_equal(r.n[CLIENT_EV_NAMES], 2);
  assert_int_equal(w->nnames, 1);
  assert_false(w->names_quiet);
  assert_int_equal(client_window_current(c)->count, lines);
  finish(&loop, c, &r);
}

/* Backlog lines older than the live lines already in a window are placed
 * above them, in order, and the window's rewritten count tells the views;
 * backlog newer than everything is appended. */
static void test_backlog_order(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  msg(c, &k, 50, PROTO_TO_USER, "me", "bob", "live one");
  msg(c, &k, 51, PROTO_TO_USER, "bob", "me", "my answer");
  proto_msg m = {.type = PROTO_MSG};
  const char *old[] = {"old 1", "old 2", "old 3"};
  for (int i = 0; i < 3; i++) {
    m.u.msg.id = 10 + (uint64_t)i;
    m.u.msg.ts_ms = 100 + (uint64_t)i;
    m.u.msg.kind = PROTO_TO_USER;
    m.u.msg.target = proto_str_c("me");
    m.u.msg.from = proto_str_c("bob");
    m.u.msg.flags = PROTO_MSGF_BACKLOG;
    m.u.msg.text = proto_str_c(old[i]);
    client_handle_frame(c, &k, &m);
  }
  /* The live line replayed as backlog is not shown twice. */
  m.u.msg.id = 50;
  m.u.msg.ts_ms = 1050;
  m.u.msg.text = proto_str_c("live one");
  client_handle_frame(c, &k, &m);
  client_window *q = client_window_find(c, "bob");
  assert_int_equal(q->count, 5);
  const char *want[] = {"old 1", "old 2", "old 3", "live one", "my answer"};
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(client_window_line(q, i)->text, want[i]);
  assert_int_equal(q->rewritten, 3);
  assert_int_equal(q->total, 5);
  finish(&loop, c, &r);
}

/* Text from the server is neutralised: C0/C1 controls, DEL, bidi controls
 * and invisible characters become U+FFFD; tab and a ZWJ inside an emoji
 * sequence stay; the copy never overflows. */
static void test_text_clean(void **s) {
  (void)s;
  char out[64];
  client_text_clean(out, sizeof out, "a\x1b[2Jb", 6);
  assert_string_equal(out, "a\xEF\xBF\xBD[2Jb");
  client_text_clean(out, sizeof out,
                    "x\xC2\x9B"
                    "1m\x7F\tz",
                    8);
  assert_string_equal(out, "x\xEF\xBF\xBD"
                           "1m\xEF\xBF\xBD\tz");
  client_text_clean(out, sizeof out, "evil\xE2\x80\xAEgpj.exe", 14);
  assert_string_equal(out, "evil\xEF\xBF\xBDgpj.exe");
  const char *emoji = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB";
  client_text_clean(out, sizeof out, emoji, strlen(emoji));
  assert_string_equal(out, emoji);
  client_text_clean(out, sizeof out, "a\xE2\x80\x8D", 4); /* lone ZWJ */
  assert_string_equal(out, "a\xEF\xBF\xBD");
  client_text_clean(out, 5, "\x01\x02", 2); /* room for one replacement */
  assert_string_equal(out, "\xEF\xBF\xBD");
  /* Names from the server must follow the wire rules. */
  proto_msg m = {.type = PROTO_PRESENCE};
  m.u.presence.user = proto_str_c("bob\x1b]0;x\x07");
  assert_non_null(client_text_check_frame(&m));
  m.u.presence.user = proto_str_c("bob");
  assert_null(client_text_check_frame(&m));
  m.u.presence.talking_with = proto_str_c("a b");
  assert_string_equal(client_text_check_frame(&m), "talking_with");
}

/* A line typed while reconnecting is kept (not dropped), at most
 * CLIENT_MAX_HELD of them; once a session is back they are sent, and one
 * that cannot be sent is reported, never lost silently (issue 13). */
static void test_held_lines(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  joined(c, &k, "#lobby", 1);
  client_window *lobby = client_window_find(c, "#lobby");
  c->ever_ready = true;             /* a session existed ... */
  c->m.state = CLIENT_RECONNECTING; /* ... and is being re-established */
  char err[300];
  for (int i = 0; i < CLIENT_MAX_HELD; i++)
    assert_int_equal(client_command(c, lobby, "while away", err, sizeof err),
                     0);
  assert_int_equal(r.n[CLIENT_EV_HELD], CLIENT_MAX_HELD);
  assert_int_equal(client_command(c, lobby, "one more", err, sizeof err),
                   CLIENT_ENOTCONN);
  assert_non_null(strstr(err, "waiting"));
  /* Commands other than text still need the server. */
  assert_int_equal(client_command(c, lobby, "/who", err, sizeof err),
                   CLIENT_ENOTCONN);
  /* Flushed with no connection (the unit test has none): each is
   * reported as not sent. */
  client_exec_flush_held(c);
  assert_int_equal(r.n[CLIENT_EV_ERROR], CLIENT_MAX_HELD);
  assert_null(c->held);
  finish(&loop, c, &r);
}

/* A MSG from bob in #a at ts_ms with flags. */
static void msg_at(client *c, client_conn *k, uint64_t id, uint64_t ts_ms,
                   uint8_t flags, const char *text) {
  msg_full(c, k, id, ts_ms, PROTO_TO_ROOM, "#a", "bob", flags, text);
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
  joined(c, &k, "#a", 2);

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

/* The backlog the server answers a JOIN with can come after a quick
 * PART's PARTED: it opens no window (a room we are not in, which the kept
 * session would rejoin at the next start) and lands nowhere else. */
static void test_left_room_traffic_opens_no_window(void **s) {
  (void)s;
  uv_loop_t loop;
  rec r = {0};
  client_conn k;
  client *c = ready_client(&loop, &r, &k);
  const client_model *m = client_model_get(c);
  joined(c, &k, "#ops", 1);
  assert_non_null(client_window_find(c, "#ops"));
  size_t nwin = m->nwindows, server_lines = m->windows[0]->count;
  proto_msg p = {.type = PROTO_PARTED};
  p.u.parted.room = proto_str_c("#ops");
  client_handle_frame(c, &k, &p);
  assert_null(client_window_find(c, "#ops"));
  msg_full(c, &k, 3, 1003, PROTO_TO_ROOM, "#ops", "bob", PROTO_MSGF_BACKLOG,
           "old news");
  proto_msg h = {.type = PROTO_HISTORY_END};
  h.u.history_end.kind = PROTO_TO_ROOM;
  h.u.history_end.target = proto_str_c("#ops");
  h.u.history_end.count = 1;
  client_handle_frame(c, &k, &h);
  assert_null(client_window_find(c, "#ops"));
  assert_int_equal(m->nwindows, nwin - 1);
  assert_int_equal(m->windows[0]->count, server_lines);
  assert_int_equal(r.n[CLIENT_EV_MESSAGE], 0);
  assert_int_equal(r.n[CLIENT_EV_HISTORY_END], 1); /* said, windowless */
  finish(&loop, c, &r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backlog_matches_id_and_ts),
      cmocka_unit_test(test_own_messages_not_unread),
      cmocka_unit_test(test_member_count),
      cmocka_unit_test(test_join_summary),
      cmocka_unit_test(test_join_summary_batch),
      cmocka_unit_test(test_who_columns),
      cmocka_unit_test(test_v3_lists),
      cmocka_unit_test(test_query_error_visible),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_backlog_order),
      cmocka_unit_test(test_text_clean),
      cmocka_unit_test(test_held_lines),
      cmocka_unit_test(test_left_room_traffic_opens_no_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
