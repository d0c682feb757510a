/* test_history.c: history kept and paged by the store (store.c), run
 * synchronously on a scratch database: each conversation is trimmed to
 * exactly the configured length, and paging back with before_id walks
 * the kept messages once each, oldest first, and then stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static sqlite3 *db;
static char dir[] = "/tmp/parley-test-history.XXXXXX"; /* per test */
static char path[sizeof dir + 8];

static int setup(void **state) {
  (void)state;
  memcpy(dir + sizeof dir - 7, "XXXXXX", 6); /* mkdtemp filled it in */
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/db", dir);
  assert_int_equal(store_open(path, &db), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  store_close_db(db);
  char cmd[sizeof dir + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

/* Stores messages first..last of room conv in one batch, keeping keep. */
static void put(const char *room, uint64_t first, uint64_t last,
                uint32_t keep) {
  store_job *j = store_job_new(STORE_HISTORY_PUT, NULL, NULL);
  j->rows = calloc(last - first + 1, sizeof *j->rows);
  assert_non_null(j->rows);
  for (uint64_t id = first; id <= last; id++) {
    store_row *r = &j->rows[j->nrows++];
    char text[32];
    snprintf(text, sizeof text, "m%llu", (unsigned long long)id);
    r->id = id;
    r->ts_ms = 1000 * id;
    r->kind = PROTO_TO_ROOM;
    r->conv = strdup(room);
    r->target = strdup(room);
    r->from = strdup("alice");
    r->text = strdup(text);
  }
  j->num = keep;
  store_exec(db, j);
  store_job_free(j);
}

/* Loads up to limit messages older than before (0: newest); writes their
 * ids to ids and returns how many. */
static size_t get(const char *room, uint64_t before, uint32_t limit,
                  uint64_t *ids) {
  store_job *j = store_job_new(STORE_HISTORY_GET, NULL, NULL);
  snprintf(j->text, sizeof j->text, "%s", room);
  j->num = before;
  j->num2 = limit;
  store_exec(db, j);
  assert_int_equal(j->result, 0);
  size_t n = j->nrows;
  for (size_t i = 0; i < n; i++) {
    ids[i] = j->rows[i].id;
    char want[32];
    snprintf(want, sizeof want, "m%llu", (unsigned long long)ids[i]);
    assert_string_equal(j->rows[i].text, want);
  }
  store_job_free(j);
  return n;
}

/* Ten messages with a history of five: the newest five are kept, and
 * nothing older comes back however far one pages. */
static void test_trim_exact(void **state) {
  (void)state;
  put("#x", 1, 10, 5);
  uint64_t ids[16];
  size_t n = get("#x", 0, 16, ids);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(ids[i], 6 + i);          /* oldest first */
  assert_int_equal(get("#x", 6, 16, ids), 0); /* before the oldest kept */
  /* A second batch trims again, per conversation. */
  put("#x", 11, 12, 5);
  put("#y", 13, 13, 5);
  n = get("#x", 0, 16, ids);
  assert_int_equal(n, 5);
  assert_int_equal(ids[0], 8);
  assert_int_equal(ids[4], 12);
  assert_int_equal(get("#y", 0, 16, ids), 1);
}

/* Paging back in pages of two: each kept message exactly once, in order,
 * and the last page is short, then empty. */
static void test_paging_back(void **state) {
  (void)state;
  put("#p", 1, 9, 7); /* keeps 3..9 */
  uint64_t all[16], page[4];
  size_t total = 0;
  uint64_t before = 0;
  for (int pages = 0; pages < 10; pages++) {
    size_t n = get("#p", before, 2, page);
    if (n == 0)
      break;
    assert_true(n <= 2);
    for (size_t i = 1; i < n; i++)
      assert_true(page[i - 1] < page[i]);
    if (before != 0)
      assert_true(page[n - 1] < before); /* strictly older */
    memmove(all + n, all, total * sizeof *all);
    memcpy(all, page, n * sizeof *page);
    total += n;
    before = page[0];
  }
  assert_int_equal(total, 7);
  for (size_t i = 0; i < total; i++)
    assert_int_equal(all[i], 3 + i);
}

/* Runs sql on a database of its own (as an older parleyd would have). */
static void raw_sql(const char *file, const char *sql) {
  sqlite3 *r = NULL;
  assert_int_equal(sqlite3_open(file, &r), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(r, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    fail_msg("%s", err ? err : "?");
  sqlite3_close(r);
}

/* Counts the rows of a direct conversation between two names. */
static size_t dm_count(const char *a, const char *b) {
  store_job *j = store_job_new(STORE_HISTORY_GET, NULL, NULL);
  store_conv_key(j->text, sizeof j->text, PROTO_TO_USER, proto_str_c(a),
                 proto_str_c(b));
  j->num2 = 100;
  store_exec(db, j);
  assert_int_equal(j->result, 0);
  size_t n = j->nrows;
  store_job_free(j);
  return n;
}

/* Runs an account job by name; returns found. */
static bool account(int op, const char *name) {
  store_job *j = store_job_new(op, NULL, NULL);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->text, sizeof j->text, "hash");
  store_exec(db, j);
  assert_int_equal(j->result, 0);
  bool found = j->found;
  store_job_free(j);
  return found;
}

/* A database from before schema version 1 (names as conversation keys)
 * is upgraded on open: conversations of existing accounts are kept under
 * their ids, one with a deleted account is dropped, the id high-water
 * mark starts at the newest message; and from then on deleting an
 * account takes its conversations along, so its name comes back empty. */
static void test_migrate_and_reuse(void **state) {
  (void)state;
  store_close_db(db); /* setup's fresh database: start over with an old one */
  db = NULL;
  char old[sizeof path + 8];
  snprintf(old, sizeof old, "%s.old", path);
  raw_sql(old,
          "CREATE TABLE accounts(name TEXT PRIMARY KEY COLLATE NOCASE,"
          " hash TEXT NOT NULL, created INTEGER NOT NULL,"
          " role INTEGER NOT NULL DEFAULT 0);"
          "CREATE TABLE history(id INTEGER PRIMARY KEY, conv TEXT NOT NULL,"
          " ts INTEGER, kind INTEGER, target TEXT, sender TEXT,"
          " flags INTEGER, text TEXT);"
          "INSERT INTO accounts VALUES('Alice','h',1,0),('bob','h',2,0);"
          "INSERT INTO history VALUES"
          "(1,'#lobby',1,0,'#lobby','alice',0,'m1'),"
          "(2,'@alice@bob',2,1,'bob','alice',0,'m2'),"
          "(3,'@alice@bob',3,1,'alice','bob',0,'m3'),"
          "(9,'@alice@ghost',9,1,'ghost','alice',0,'m9');");
  assert_int_equal(store_open(old, &db), 0);
  assert_int_equal(dm_count("bob", "alice"), 2);
  assert_int_equal(dm_count("alice", "ghost"), 0);
  store_job *j = store_job_new(STORE_MAX_ID, NULL, NULL);
  store_exec(db, j);
  assert_int_equal(j->num, 9); /* the dropped row's id is not handed out */
  store_job_free(j);
  /* Opening again changes nothing. */
  store_close_db(db);
  assert_int_equal(store_open(old, &db), 0);
  assert_int_equal(dm_count("alice", "bob"), 2);

  assert_true(account(STORE_ACCOUNT_DEL, "BOB"));
  assert_false(account(STORE_ACCOUNT_DEL, "bob"));
  assert_int_equal(dm_count("alice", "bob"), 0); /* no account: nothing */
  assert_true(account(STORE_ACCOUNT_ADD, "bob"));
  assert_int_equal(dm_count("alice", "bob"), 0); /* a new bob: empty */
  uint64_t ids[4];
  assert_int_equal(get("#lobby", 0, 4, ids), 1); /* rooms untouched */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_migrate_and_reuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trim_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paging_back, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
