/* test_room.c: rooms as state (room.c), without a server or a loop:
 * membership churn keeps the fan array (what bus_room walks) exact, the
 * per-user limit, names, and the topic rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "room.h"
#include "user.h"

#define NUSERS 24
#define MAX_ROOMS 3

static user *users[NUSERS];
/* Stand-ins for connections: the fan array only stores the pointers. */
static char fake_conn[NUSERS];

static int setup(void **state) {
  (void)state;
  assert_int_equal(room_init(MAX_ROOMS), 0);
  for (int i = 0; i < NUSERS; i++) {
    char name[16];
    snprintf(name, sizeof name, "user%d", i);
    users[i] =
        user_add((struct conn *)&fake_conn[i], name, PROTO_ROLE_USER, 10, 0);
    assert_non_null(users[i]);
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < NUSERS; i++) {
    while (users[i]->nrooms > 0)
      room_leave(user_rooms(users[i])[users[i]->nrooms - 1]);
    user_remove(users[i]);
  }
  room_fini();
  return 0;
}

/* Joins users[i] to name; asserts it joined anew. */
static room *join(int i, const char *name) {
  room *r = NULL;
  assert_int_equal(room_join(users[i], name, strlen(name), &r), 0);
  assert_non_null(r);
  return r;
}

/* Leaves name as users[i]; returns the room (NULL if it went away). */
static room *part(int i, const char *name) {
  room *r = room_find(name, strlen(name));
  assert_non_null(r);
  member *m = room_member(r, users[i]);
  assert_non_null(m);
  return room_leave(m);
}

/* The invariants bus_room relies on: the fan array holds exactly the
 * members, each once, each at its recorded slot, with its connection; and
 * each member is in its user's membership array. */
static void check_room(const room *r) {
  uint32_t n = 0;
  char seen[1024] = {0};
  assert_true(r->count <= r->fan_cap);
  for (const member *m = r->members; m != NULL; m = m->next, n++) {
    assert_ptr_equal(m->room, r);
    assert_true(m->slot < r->count);
    assert_ptr_equal(r->fan[m->slot].m, m);
    assert_ptr_equal(r->fan[m->slot].conn, m->user->conn);
    assert_int_equal(seen[m->slot], 0);
    seen[m->slot] = 1;
    assert_ptr_equal(room_member(r, m->user), m);
    if (m->next != NULL)
      assert_ptr_equal(m->next->prev, m);
  }
  assert_int_equal(n, r->count);
}

/* Is users[i] a recipient of r's broadcasts? */
static int fan_has(const room *r, int i) {
  int k = 0;
  for (uint32_t s = 0; s < r->count; s++)
    k += r->fan[s].conn == users[i]->conn;
  return k;
}

/* Two members part in turn: the one left still gets the room's messages
 * (the fix-up of the moved fan entry's slot in room_fan_del). */
static void test_two_part_in_turn(void **state) {
  (void)state;
  join(0, "#x");
  join(1, "#x");
  join(2, "#x");
  room *r = part(0, "#x"); /* user2's entry moves to slot 0 */
  check_room(r);
  r = part(2, "#x");
  assert_non_null(r);
  check_room(r);
  assert_int_equal(r->count, 1);
  assert_int_equal(fan_has(r, 1), 1);
  assert_null(part(1, "#x")); /* empty and not permanent: gone */
  assert_null(room_find("#x", 2));
}

/* Every order of leaving a four-member room keeps the fan array exact. */
static void test_every_leave_order(void **state) {
  (void)state;
  int perm[4] = {0, 1, 2, 3};
  int orders = 0;
  for (;;) {
    for (int i = 0; i < 4; i++)
      join(i, "#order");
    for (int k = 0; k < 4; k++) {
      room *r = part(perm[k], "#order");
      if (k < 3) {
        assert_non_null(r);
        check_room(r);
        for (int j = k + 1; j < 4; j++)
          assert_int_equal(fan_has(r, perm[j]), 1);
        assert_int_equal(fan_has(r, perm[k]), 0);
      } else {
        assert_null(r);
      }
    }
    orders++;
    /* next permutation */
    int i = 2;
    while (i >= 0 && perm[i] > perm[i + 1])
      i--;
    if (i < 0)
      break;
    int j = 3;
    while (perm[j] < perm[i])
      j--;
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    for (int a = i + 1, b = 3; a < b; a++, b--) {
      t = perm[a];
      perm[a] = perm[b];
      perm[b] = t;
    }
  }
  assert_int_equal(orders, 24);
}

/* Random joins, parts and kicks (a kick is a leave started by someone
 * else) over three rooms, checked after every step; the fan array grows
 * past 16 and shrinks again on the way. */
static void test_random_churn(void **state) {
  (void)state;
  static const char *const names[] = {"#a", "#b", "#c"};
  unsigned seed = 12345;
  for (int step = 0; step < 5000; step++) {
    seed = seed * 1103515245u + 12345u;
    int i = (int)((seed >> 16) % NUSERS);
    const char *name = names[(seed >> 8) % 3];
    room *r = room_find(name, strlen(name));
    member *m = r != NULL ? room_member(r, users[i]) : NULL;
    if (m == NULL && (seed >> 4) % 3 != 0) {
      room *got = NULL;
      int rc = room_join(users[i], name, strlen(name), &got);
      if (users[i]->nrooms == MAX_ROOMS && rc < 0)
        assert_int_equal(rc, -PERR_TOO_MANY_ROOMS);
      else
        assert_int_equal(rc, 0);
    } else if (m != NULL) {
      room_leave(m);
    }
    for (int k = 0; k < 3; k++) {
      room *x = room_find(names[k], 2);
      if (x != NULL) {
        check_room(x);
        assert_true(x->count > 0);
      }
    }
  }
  /* Everyone into one room (fan array past 16), then most out again. */
  for (int i = 0; i < NUSERS; i++) {
    room *r = room_find("#a", 2);
    if (r == NULL || room_member(r, users[i]) == NULL) {
      while (users[i]->nrooms >= MAX_ROOMS)
        room_leave(user_rooms(users[i])[0]);
      join(i, "#a");
    }
  }
  room *r = room_find("#a", 2);
  assert_int_equal(r->count, NUSERS);
  check_room(r);
  for (int i = 0; i < NUSERS - 2; i += 1) {
    r = part(i, "#a");
    check_room(r);
  }
  assert_int_equal(r->count, 2);
  assert_true(r->fan_cap < 32); /* memory given back */
  assert_int_equal(fan_has(r, NUSERS - 1), 1);
  assert_int_equal(fan_has(r, NUSERS - 2), 1);
}

/* Names: any spelling finds the room, the creator's spelling stays;
 * joining twice is ROOM_ALREADY; bad names and the limit are refused. */
static void test_join_rules(void **state) {
  (void)state;
  room *r = join(0, "#MixedCase");
  assert_string_equal(r->name, "#MixedCase");
  room *again = NULL;
  assert_int_equal(room_join(users[1], "#mixedcase", 10, &again), 0);
  assert_ptr_equal(again, r);
  assert_int_equal(room_join(users[1], "#MIXEDCASE", 10, &again), ROOM_ALREADY);
  assert_int_equal(r->count, 2);
  assert_int_equal(room_join(users[2], "nohash", 6, &again), -PERR_BAD_ROOM);
  assert_int_equal(room_join(users[2], "#", 1, &again), -PERR_BAD_ROOM);
  join(2, "#r1");
  join(2, "#r2");
  join(2, "#r3");
  size_t before = room_count();
  assert_int_equal(room_join(users[2], "#r4", 3, &again), -PERR_TOO_MANY_ROOMS);
  assert_int_equal(room_count(), before); /* nothing created */
  assert_int_equal(users[2]->nrooms, MAX_ROOMS);
  /* The lobby is permanent: it stays when its last member leaves. */
  join(3, ROOM_LOBBY);
  room *lobby = part(3, ROOM_LOBBY);
  assert_non_null(lobby);
  assert_int_equal(lobby->count, 0);
}

/* Topic: members only, no control characters, empty clears; a refusal
 * leaves the topic as it was. */
static void test_topic_rules(void **state) {
  (void)state;
  room *r = join(0, "#t");
  assert_int_equal(room_set_topic(r, users[0], "hello", 5), 0);
  assert_string_equal(r->topic, "hello");
  /* Not a member: refused, unchanged. */
  assert_int_equal(room_set_topic(r, users[1], "mine", 4), -PERR_NOT_IN_ROOM);
  assert_string_equal(r->topic, "hello");
  /* A former member is not a member. */
  join(1, "#t");
  part(1, "#t");
  assert_int_equal(room_set_topic(r, users[1], "mine", 4), -PERR_NOT_IN_ROOM);
  assert_string_equal(r->topic, "hello");
  /* Control characters (C0, DEL, C1): refused, unchanged. */
  assert_int_equal(room_set_topic(r, users[0], "a\x1b[2Jb", 6),
                   -PERR_CONTROL_CHARS);
  assert_int_equal(room_set_topic(r, users[0], "a\x7f", 2),
                   -PERR_CONTROL_CHARS);
  assert_int_equal(room_set_topic(r, users[0], "a\xc2\x9b", 3),
                   -PERR_CONTROL_CHARS);
  assert_string_equal(r->topic, "hello");
  /* Any member may change it; empty clears it. */
  join(2, "#t");
  assert_int_equal(room_set_topic(r, users[2], "caf\xc3\xa9", 5), 0);
  assert_string_equal(r->topic, "caf\xc3\xa9");
  assert_int_equal(room_set_topic(r, users[2], "", 0), 0);
  assert_null(r->topic);
}

/* Stored topics: restored to a room that exists, kept for one that does
 * not; a room that empties keeps its topic for its return; an empty
 * topic clears it for good. */
static void test_topic_kept(void **state) {
  (void)state;
  room_topic_restore(ROOM_LOBBY, "lobby topic");
  room *lobby = room_find(ROOM_LOBBY, strlen(ROOM_LOBBY));
  assert_string_equal(lobby->topic, "lobby topic");
  room_topic_restore("#Later", "later topic");
  room_topic_restore("bad name", "ignored");
  room *r = join(0, "#later");
  assert_string_equal(r->topic, "later topic");
  assert_int_equal(room_set_topic(r, users[0], "changed", 7), 0);
  assert_null(part(0, "#later")); /* gone, topic kept */
  r = join(1, "#LATER");
  assert_string_equal(r->topic, "changed");
  assert_int_equal(room_set_topic(r, users[1], "", 0), 0);
  assert_null(part(1, "#later"));
  r = join(1, "#later");
  assert_null(r->topic);
  part(1, "#later");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_two_part_in_turn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_leave_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_churn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_join_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_topic_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_topic_kept, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
