/* store.c: SQLite persistence on a dedicated thread (see store.h). */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

#define STORE_BATCH_ROWS 128    /* history rows per transaction, at most */
#define STORE_BATCH_MS 50       /* how long a row may wait for its batch */
#define STORE_MAX_QUEUED 4096   /* jobs waiting; history dropped beyond it */
#define STORE_LOGIN_KEEP 100000 /* login log rows kept */

static const char store_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    /* 512 KiB of page cache instead of SQLite's 2 MiB: the hot pages
     * (account index, history tail) fit, the OS page cache holds the rest,
     * and an idle server's RSS does not grow with the accounts. */
    "PRAGMA cache_size=-512;"
    "CREATE TABLE IF NOT EXISTS accounts("
    " name TEXT PRIMARY KEY COLLATE NOCASE, hash TEXT NOT NULL,"
    " created INTEGER NOT NULL, role INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS logins(id INTEGER PRIMARY KEY, name TEXT,"
    " ip TEXT, port INTEGER, ts INTEGER, outcome TEXT);"
    "CREATE TABLE IF NOT EXISTS tokens(hash TEXT PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE, created INTEGER, expires INTEGER);"
    "CREATE INDEX IF NOT EXISTS tokens_name ON tokens(name);"
    "CREATE TABLE IF NOT EXISTS bans(name TEXT PRIMARY KEY COLLATE NOCASE,"
    " until INTEGER, reason TEXT, actor TEXT, ts INTEGER);"
    "CREATE TABLE IF NOT EXISTS history(id INTEGER PRIMARY KEY,"
    " conv TEXT NOT NULL, ts INTEGER, kind INTEGER, target TEXT,"
    " sender TEXT, flags INTEGER, text TEXT);"
    "CREATE INDEX IF NOT EXISTS history_conv ON history(conv, id);"
    /* Bans were kept in unix seconds; they are milliseconds now. */
    "UPDATE bans SET until=until*1000 WHERE until>0 AND until<100000000000;"
    "UPDATE bans SET ts=ts*1000 WHERE ts<100000000000;"
    /* Room topics, kept across restarts (loaded at start). */
    "CREATE TABLE IF NOT EXISTS room_topics(room TEXT PRIMARY KEY COLLATE"
    " NOCASE, topic TEXT NOT NULL, actor TEXT, ts INTEGER);";

static struct {
  sqlite3 *db;
  uv_loop_t *loop;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  store_job *head, *tail; /* waiting jobs (mu) */
  size_t queued;          /* jobs in head..tail (mu) */
  store_job *done;        /* finished jobs, newest first (mu) */
  uv_async_t async;       /* wakes the loop for done jobs */
  uv_timer_t timer;       /* flushes the history batch */
  store_job *batch;       /* pending STORE_HISTORY_PUT, loop side */
  uint32_t history_len;
  bool running;
} st;

/* Creates every missing directory above path (like mkdir -p dirname). */
static int store_mkdirs(const char *path) {
  char buf[1024];
  size_t n = strlen(path);
  if (n >= sizeof buf)
    return -1;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return 0;
}

/* Opens and prepares the schema. */
int store_open(const char *path, sqlite3 **db) {
  if (store_mkdirs(path) < 0) {
    fprintf(stderr, "parleyd: cannot create the directory for %s: %s\n", path,
            strerror(errno));
    return -1;
  }
  int r = sqlite3_open_v2(
      path, db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (r != SQLITE_OK) {
    fprintf(stderr, "parleyd: cannot open database %s: %s\n", path,
            *db ? sqlite3_errmsg(*db) : sqlite3_errstr(r));
    sqlite3_close(*db);
    *db = NULL;
    return -1;
  }
  sqlite3_busy_timeout(*db, 5000);
  char *err = NULL;
  if (sqlite3_exec(*db, store_schema, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "parleyd: database %s: %s\n", path, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(*db);
    *db = NULL;
    return -1;
  }
  return 0;
}

/* Closes the connection. */
void store_close_db(sqlite3 *db) {
  if (db != NULL)
    sqlite3_close(db);
}

/* Allocates a job. */
store_job *store_job_new(int op, store_cb cb, void *ctx) {
  store_job *j = calloc(1, sizeof *j);
  if (j == NULL) {
    log_error(NULL, "out of memory for a store job");
    abort(); /* jobs are small; nothing sensible is left to do */
  }
  j->op = op;
  j->cb = cb;
  j->ctx = ctx;
  return j;
}

/* Frees rows, lines and the job. */
void store_job_free(store_job *j) {
  if (j == NULL)
    return;
  for (size_t i = 0; i < j->nrows; i++) {
    free(j->rows[i].conv);
    free(j->rows[i].target);
    free(j->rows[i].from);
    free(j->rows[i].text);
  }
  free(j->rows);
  for (size_t i = 0; i < j->nlines; i++)
    free(j->lines[i]);
  free(j->lines);
  free(j->bans);
  free(j->topics);
  free(j);
}

/* Current unix seconds. */
static uint64_t store_now(void) {
  return (uint64_t)time(NULL);
}

/* Unix time in milliseconds (ban ends). */
static uint64_t store_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Copies a column's text into a fixed field. */
static void store_col(sqlite3_stmt *s, int i, char *dst, size_t cap) {
  const unsigned char *t = sqlite3_column_text(s, i);
  snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Duplicates a column's text. */
static char *store_coldup(sqlite3_stmt *s, int i) {
  const unsigned char *t = sqlite3_column_text(s, i);
  return strdup(t ? (const char *)t : "");
}

/* Prepares sql or logs why not. */
static sqlite3_stmt *store_prep(sqlite3 *db, const char *sql) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
    log_error(NULL, "sqlite prepare: %s", sqlite3_errmsg(db));
    return NULL;
  }
  return s;
}

/* Appends a line to the job's output. */
static void store_add_line(store_job *j, const char *line) {
  char **l = realloc(j->lines, sizeof *l * (j->nlines + 1));
  if (l == NULL)
    return;
  j->lines = l;
  j->lines[j->nlines] = strdup(line);
  if (j->lines[j->nlines] != NULL)
    j->nlines++;
}

/* Looks up the active ban of a name. */
static void store_ban_lookup(sqlite3 *db, store_job *j, const char *name) {
  sqlite3_stmt *s =
      store_prep(db, "SELECT until, reason FROM bans WHERE name=?1 AND "
                     "(until=0 OR until>?2)");
  if (s == NULL)
    return;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)store_now_ms());
  if (sqlite3_step(s) == SQLITE_ROW) {
    j->banned = true;
    j->ban_until = (uint64_t)sqlite3_column_int64(s, 0);
    store_col(s, 1, j->text2, sizeof j->text2);
  }
  sqlite3_finalize(s);
}

/* Canonical spelling of a banned name into out_name (from the ban row). */
static void store_col_name(sqlite3 *db, store_job *j) {
  sqlite3_stmt *s = store_prep(db, "SELECT name FROM bans WHERE name=?1");
  if (s == NULL)
    return;
  sqlite3_bind_text(s, 1, j->name, -1, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW)
    store_col(s, 0, j->out_name, sizeof j->out_name);
  sqlite3_finalize(s);
}

/* The active bans, soonest end first, permanent ones last. */
static void store_bans(sqlite3 *db, store_job *j) {
  sqlite3_stmt *s = store_prep(
      db, "SELECT name, actor, reason, until, ts FROM bans WHERE until=0 OR "
          "until>?1 ORDER BY until=0, until, name LIMIT ?2");
  if (s == NULL) {
    j->result = -PERR_INTERNAL;
    return;
  }
  sqlite3_bind_int64(s, 1, (sqlite3_int64)store_now_ms());
  sqlite3_bind_int(s, 2, STORE_BANS_MAX);
  while (sqlite3_step(s) == SQLITE_ROW) {
    store_ban *b = realloc(j->bans, (j->nbans + 1) * sizeof *b);
    if (b == NULL)
      break;
    j->bans = b;
    b = &j->bans[j->nbans++];
    store_col(s, 0, b->name, sizeof b->name);
    store_col(s, 1, b->actor, sizeof b->actor);
    store_col(s, 2, b->reason, sizeof b->reason);
    b->until_ms = (uint64_t)sqlite3_column_int64(s, 3);
    b->since_ms = (uint64_t)sqlite3_column_int64(s, 4);
  }
  sqlite3_finalize(s);
}

/* Every persisted room topic (bounded by the rooms a server may hold). */
static void store_topics(sqlite3 *db, store_job *j) {
  sqlite3_stmt *s =
      store_prep(db, "SELECT room, topic FROM room_topics ORDER BY room "
                     "LIMIT 100000");
  if (s == NULL) {
    j->result = -PERR_INTERNAL;
    return;
  }
  while (sqlite3_step(s) == SQLITE_ROW) {
    store_topic *t = realloc(j->topics, (j->ntopics + 1) * sizeof *t);
    if (t == NULL)
      break;
    j->topics = t;
    t = &j->topics[j->ntopics++];
    store_col(s, 0, t->room, sizeof t->room);
    store_col(s, 1, t->topic, sizeof t->topic);
  }
  sqlite3_finalize(s);
}

/* Fills the account fields of j for name. */
static void store_account_get(sqlite3 *db, store_job *j, const char *name) {
  sqlite3_stmt *s =
      store_prep(db, "SELECT name, hash, role FROM accounts WHERE name=?1");
  if (s == NULL) {
    j->result = -PERR_INTERNAL;
    return;
  }
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(s) == SQLITE_ROW) {
    j->found = true;
    store_col(s, 0, j->out_name, sizeof j->out_name);
    store_col(s, 1, j->hash, sizeof j->hash);
    j->out_role = sqlite3_column_int(s, 2);
  }
  sqlite3_finalize(s);
  if (j->found)
    store_ban_lookup(db, j, name);
}

/* Runs one statement; fmt gives the binds in order: 't' a C string, 'i'
 * an int64_t. Returns the rows changed, -2 on a constraint violation, -1
 * on another error. */
static int store_run(sqlite3 *db, const char *sql, const char *fmt, ...) {
  sqlite3_stmt *s = store_prep(db, sql);
  if (s == NULL)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] == 't')
      sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1,
                        SQLITE_TRANSIENT);
    else
      sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
  }
  va_end(ap);
  int r = sqlite3_step(s);
  sqlite3_finalize(s);
  if (r != SQLITE_DONE && r != SQLITE_ROW) {
    if (r != SQLITE_CONSTRAINT)
      log_error(NULL, "sqlite: %s", sqlite3_errmsg(db));
    return r == SQLITE_CONSTRAINT ? -2 : -1;
  }
  return sqlite3_changes(db);
}

/* Inserts a batch of history rows in one transaction and trims every
 * touched conversation to the configured length. */
static void store_history_put(sqlite3 *db, store_job *j) {
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  sqlite3_stmt *s = store_prep(
      db, "INSERT OR REPLACE INTO history(id, conv, ts, kind, target, "
          "sender, flags, text) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
  sqlite3_stmt *t = store_prep(
      db, "DELETE FROM history WHERE conv=?1 AND id < (SELECT id FROM "
          "history WHERE conv=?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
  for (size_t i = 0; s != NULL && i < j->nrows; i++) {
    store_row *r = &j->rows[i];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
    sqlite3_bind_text(s, 2, r->conv, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)r->ts_ms);
    sqlite3_bind_int(s, 4, r->kind);
    sqlite3_bind_text(s, 5, r->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->from, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, r->flags);
    sqlite3_bind_text(s, 8, r->text, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
      log_error(NULL, "history insert: %s", sqlite3_errmsg(db));
    sqlite3_reset(s);
  }
  for (size_t i = 0; t != NULL && i < j->nrows; i++) {
    bool seen = false; /* trim each conversation once */
    for (size_t k = 0; k < i && !seen; k++)
      seen = strcmp(j->rows[k].conv, j->rows[i].conv) == 0;
    if (seen)
      continue;
    sqlite3_bind_text(t, 1, j->rows[i].conv, -1, SQLITE_STATIC);
    sqlite3_bind_int64(t, 2, j->num > 0 ? (sqlite3_int64)j->num - 1 : 0);
    if (sqlite3_step(t) != SQLITE_DONE)
      log_error(NULL, "history trim: %s", sqlite3_errmsg(db));
    sqlite3_reset(t);
  }
  sqlite3_finalize(s);
  sqlite3_finalize(t);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    log_error(NULL, "history commit: %s", sqlite3_errmsg(db));
}

/* Loads up to num2 rows of conv older than num, oldest first. */
static void store_history_get(sqlite3 *db, store_job *j) {
  sqlite3_stmt *s = store_prep(
      db, "SELECT id, ts, kind, target, sender, flags, text FROM history "
          "WHERE conv=?1 AND id<?2 ORDER BY id DESC LIMIT ?3");
  if (s == NULL) {
    j->result = -PERR_INTERNAL;
    return;
  }
  sqlite3_bind_text(s, 1, j->text, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)(j->num ? j->num : INT64_MAX));
  sqlite3_bind_int64(s, 3, (sqlite3_int64)j->num2);
  j->rows = calloc(j->num2 ? j->num2 : 1, sizeof *j->rows);
  while (j->rows != NULL && j->nrows < j->num2 &&
         sqlite3_step(s) == SQLITE_ROW) {
    store_row *r = &j->rows[j->num2 - 1 - j->nrows]; /* fill from the end */
    r->id = (uint64_t)sqlite3_column_int64(s, 0);
    r->ts_ms = (uint64_t)sqlite3_column_int64(s, 1);
    r->kind = (uint8_t)sqlite3_column_int(s, 2);
    r->target = store_coldup(s, 3);
    r->from = store_coldup(s, 4);
    r->flags = (uint8_t)sqlite3_column_int(s, 5);
    r->text = store_coldup(s, 6);
    j->nrows++;
  }
  sqlite3_finalize(s);
  if (j->rows != NULL && j->nrows < j->num2) /* slide to the front */
    memmove(j->rows, j->rows + (j->num2 - j->nrows),
            j->nrows * sizeof *j->rows);
}

/* Formats the login log's last num entries, oldest first. */
static void store_logins(sqlite3 *db, store_job *j) {
  sqlite3_stmt *s = store_prep(
      db, "SELECT ts, name, ip, port, outcome FROM (SELECT * FROM logins "
          "ORDER BY id DESC LIMIT ?1) ORDER BY id");
  if (s == NULL)
    return;
  sqlite3_bind_int64(s, 1, (sqlite3_int64)j->num);
  while (sqlite3_step(s) == SQLITE_ROW) {
    time_t ts = (time_t)sqlite3_column_int64(s, 0);
    struct tm tm;
    gmtime_r(&ts, &tm);
    char when[32], line[256];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const unsigned char *name = sqlite3_column_text(s, 1);
    const unsigned char *ip = sqlite3_column_text(s, 2);
    const unsigned char *out = sqlite3_column_text(s, 4);
    snprintf(line, sizeof line, "%s %s %s:%d %s", when,
             name && *name ? (const char *)name : "-",
             ip ? (const char *)ip : "-", sqlite3_column_int(s, 3),
             out ? (const char *)out : "-");
    store_add_line(j, line);
  }
  sqlite3_finalize(s);
}

/* Runs one job. */
void store_exec(sqlite3 *db, store_job *j) {
  switch (j->op) {
  case STORE_ACCOUNT_GET:
    store_account_get(db, j, j->name);
    break;
  case STORE_ACCOUNT_ADD: {
    int r = store_run(db,
                      "INSERT INTO accounts(name, hash, created, role) "
                      "VALUES(?1, ?2, ?3, ?4)",
                      "ttii", j->name, j->text, (int64_t)store_now(),
                      (int64_t)j->role);
    if (r == -2)
      j->result = -PERR_NAME_TAKEN;
    else if (r < 0)
      j->result = -PERR_INTERNAL;
    else {
      j->found = true;
      snprintf(j->out_name, sizeof j->out_name, "%s", j->name);
      j->out_role = j->role;
    }
    break;
  }
  case STORE_ACCOUNT_DEL:
    j->found =
        store_run(db, "DELETE FROM accounts WHERE name=?1", "t", j->name) > 0;
    store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name);
    break;
  case STORE_ACCOUNT_PASSWD:
    j->found = store_run(db, "UPDATE accounts SET hash=?2 WHERE name=?1", "tt",
                         j->name, j->text) > 0;
    store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name);
    break;
  case STORE_ACCOUNT_LIST: {
    sqlite3_stmt *s = store_prep(
        db, "SELECT name, role, created FROM accounts ORDER BY name");
    while (s != NULL && sqlite3_step(s) == SQLITE_ROW) {
      char line[128];
      time_t ts = (time_t)sqlite3_column_int64(s, 2);
      struct tm tm;
      gmtime_r(&ts, &tm);
      char when[32];
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
      snprintf(line, sizeof line, "%s %s %s",
               (const char *)sqlite3_column_text(s, 0),
               sqlite3_column_int(s, 1) ? "admin" : "user", when);
      store_add_line(j, line);
    }
    sqlite3_finalize(s);
    break;
  }
  case STORE_LOGIN_LOG:
    store_run(db,
              "INSERT INTO logins(name, ip, outcome, port, ts) "
              "VALUES(?1, ?2, ?3, ?4, ?5)",
              "tttii", j->name, j->text, j->text2, (int64_t)j->num,
              (int64_t)store_now());
    store_run(db, "DELETE FROM logins WHERE id <= ?1", "i",
              (int64_t)sqlite3_last_insert_rowid(db) - STORE_LOGIN_KEEP);
    break;
  case STORE_LOGINS:
    store_logins(db, j);
    break;
  case STORE_TOKEN_ADD:
    store_run(db,
              "INSERT OR REPLACE INTO tokens(hash, name, created, expires) "
              "VALUES(?1, ?2, ?3, ?4)",
              "ttii", j->text, j->name, (int64_t)store_now(), (int64_t)j->num);
    store_run(db, "DELETE FROM tokens WHERE expires < ?1", "i",
              (int64_t)store_now());
    break;
  case STORE_TOKEN_CHECK: {
    sqlite3_stmt *s =
        store_prep(db, "SELECT expires FROM tokens WHERE hash=?1 AND name=?2");
    if (s == NULL) {
      j->result = -PERR_INTERNAL;
      break;
    }
    sqlite3_bind_text(s, 1, j->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, j->name, -1, SQLITE_STATIC);
    bool ok = false;
    if (sqlite3_step(s) == SQLITE_ROW) {
      j->num = (uint64_t)sqlite3_column_int64(s, 0);
      ok = j->num > store_now();
    }
    sqlite3_finalize(s);
    if (ok)
      store_account_get(db, j, j->name);
    break;
  }
  case STORE_TOKEN_REVOKE:
    if (j->text[0] != '\0')
      store_run(db, "DELETE FROM tokens WHERE hash=?1", "t", j->text);
    else
      store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name);
    break;
  case STORE_HISTORY_PUT:
    store_history_put(db, j);
    break;
  case STORE_HISTORY_GET:
    store_history_get(db, j);
    break;
  case STORE_BAN:
    store_account_get(db, j, j->name);
    if (!j->found)
      break;
    store_run(db,
              "INSERT OR REPLACE INTO bans(name, reason, actor, until, ts) "
              "VALUES(?1, ?2, ?3, ?4, ?5)",
              "tttii", j->out_name, j->text2, j->text, (int64_t)j->num,
              (int64_t)store_now_ms());
    store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name);
    break;
  case STORE_UNBAN:
    store_ban_lookup(db, j, j->name);
    j->found = j->banned;
    if (j->found)
      store_col_name(db, j);
    store_run(db, "DELETE FROM bans WHERE name=?1", "t", j->name);
    break;
  case STORE_BANS:
    store_bans(db, j);
    break;
  case STORE_TOPIC_PUT:
    if (j->topic[0] == '\0')
      store_run(db, "DELETE FROM room_topics WHERE room=?1", "t", j->text2);
    else
      store_run(db,
                "INSERT OR REPLACE INTO room_topics(room, topic, actor, ts) "
                "VALUES(?1, ?2, ?3, ?4)",
                "ttti", j->text2, j->topic, j->name, (int64_t)store_now_ms());
    break;
  case STORE_TOPICS_GET:
    store_topics(db, j);
    break;
  case STORE_MAX_ID: {
    sqlite3_stmt *s = store_prep(db, "SELECT max(id) FROM history");
    if (s != NULL && sqlite3_step(s) == SQLITE_ROW)
      j->num = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    break;
  }
  default:
    break;
  }
}

/* The store thread: runs jobs in order until STORE_QUIT. */
static void *store_main(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&st.mu);
    while (st.head == NULL)
      pthread_cond_wait(&st.cv, &st.mu);
    store_job *j = st.head;
    st.head = j->next;
    if (st.head == NULL)
      st.tail = NULL;
    st.queued--;
    pthread_mutex_unlock(&st.mu);
    bool quit = j->op == STORE_QUIT;
    if (!quit)
      store_exec(st.db, j);
    pthread_mutex_lock(&st.mu);
    j->next = st.done;
    st.done = j;
    pthread_mutex_unlock(&st.mu);
    if (quit)
      return NULL;
    uv_async_send(&st.async); /* cannot fail on a live handle */
  }
}

/* Runs the callbacks of finished jobs, oldest first. */
static void store_drain(void) {
  pthread_mutex_lock(&st.mu);
  store_job *list = st.done;
  st.done = NULL;
  pthread_mutex_unlock(&st.mu);
  store_job *rev = NULL; /* the done list is newest first */
  while (list != NULL) {
    store_job *n = list->next;
    list->next = rev;
    rev = list;
    list = n;
  }
  while (rev != NULL) {
    store_job *n = rev->next;
    if (rev->cb != NULL)
      rev->cb(rev);
    store_job_free(rev);
    rev = n;
  }
}

/* uv_async_t callback. */
static void store_on_async(uv_async_t *a) {
  (void)a;
  store_drain();
}

/* Puts a job on the thread's queue. */
static void store_enqueue(store_job *j) {
  pthread_mutex_lock(&st.mu);
  if (j->op == STORE_HISTORY_PUT && st.queued >= STORE_MAX_QUEUED) {
    pthread_mutex_unlock(&st.mu);
    log_warn(NULL, "store queue full: %zu history rows not saved", j->nrows);
    store_job_free(j);
    return;
  }
  j->next = NULL;
  if (st.tail != NULL)
    st.tail->next = j;
  else
    st.head = j;
  st.tail = j;
  st.queued++;
  pthread_cond_signal(&st.cv);
  pthread_mutex_unlock(&st.mu);
}

/* Sends the pending history batch to the thread. */
static void store_flush_batch(void) {
  if (st.batch == NULL)
    return;
  store_job *b = st.batch;
  st.batch = NULL;
  uv_timer_stop(&st.timer);
  store_enqueue(b);
}

/* Batch timer. */
static void store_on_timer(uv_timer_t *t) {
  (void)t;
  store_flush_batch();
}

/* Starts the thread. */
int store_start(uv_loop_t *loop, sqlite3 *db, uint32_t history_len) {
  st.db = db;
  st.loop = loop;
  st.history_len = history_len;
  int r = uv_async_init(loop, &st.async, store_on_async);
  if (r < 0)
    return r;
  r = uv_timer_init(loop, &st.timer);
  if (r < 0)
    return r;
  pthread_mutex_init(&st.mu, NULL);
  pthread_cond_init(&st.cv, NULL);
  if (pthread_create(&st.thread, NULL, store_main, NULL) != 0)
    return UV_EAGAIN;
  st.running = true;
  return 0;
}

/* Keeps FIFO order: any pending history goes first. */
void store_submit(store_job *j) {
  if (!st.running) { /* after shutdown: nothing to do it with */
    store_job_free(j);
    return;
  }
  store_flush_batch();
  store_enqueue(j);
}

/* Queues one history row in the batch. */
void store_history_add(uint64_t id, uint64_t ts_ms, uint8_t kind,
                       const char *conv, proto_str target, proto_str from,
                       uint8_t flags, proto_str text) {
  if (!st.running || st.history_len == 0)
    return;
  if (st.batch == NULL) {
    st.batch = store_job_new(STORE_HISTORY_PUT, NULL, NULL);
    st.batch->rows = calloc(STORE_BATCH_ROWS, sizeof(store_row));
    st.batch->num = st.history_len;
    if (st.batch->rows == NULL) {
      store_job_free(st.batch);
      st.batch = NULL;
      return;
    }
    int r = uv_timer_start(&st.timer, store_on_timer, STORE_BATCH_MS, 0);
    if (r < 0)
      log_error(NULL, "history timer: %s", uv_strerror(r));
  }
  store_row *row = &st.batch->rows[st.batch->nrows];
  row->id = id;
  row->ts_ms = ts_ms;
  row->kind = kind;
  row->flags = flags & (uint8_t)~PROTO_MSGF_BACKLOG;
  row->conv = strdup(conv);
  row->target = proto_str_dup(target);
  row->from = proto_str_dup(from);
  row->text = proto_str_dup(text);
  st.batch->nrows++;
  if (row->conv == NULL || row->target == NULL || row->from == NULL ||
      row->text == NULL) {
    log_error(NULL, "out of memory for history");
  }
  if (st.batch->nrows == STORE_BATCH_ROWS)
    store_flush_batch();
}

/* Stops the thread after all queued work and closes everything. */
void store_stop(void) {
  if (!st.running)
    return;
  store_flush_batch();
  store_enqueue(store_job_new(STORE_QUIT, NULL, NULL));
  pthread_join(st.thread, NULL); /* shutdown only: the queue is short */
  st.running = false;
  store_drain();
  pthread_mutex_destroy(&st.mu);
  pthread_cond_destroy(&st.cv);
  store_close_db(st.db);
  st.db = NULL;
  uv_close((uv_handle_t *)&st.async, NULL);
  uv_close((uv_handle_t *)&st.timer, NULL);
}

/* Builds the conversation key. */
char *store_conv_key(char *dst, size_t cap, uint8_t kind, proto_str target,
                     proto_str from) {
  assert(cap >= 2 * PROTO_MAX_NAME + 3); /* "@a@b" with two names */
  if (kind == PROTO_TO_ROOM) {
    size_t n = target.n < cap - 1 ? target.n : cap - 1;
    proto_fold(dst, target.p, n);
    return dst;
  }
  char a[PROTO_MAX_NAME + 1], b[PROTO_MAX_NAME + 1];
  size_t an = target.n > PROTO_MAX_NAME ? PROTO_MAX_NAME : target.n;
  size_t bn = from.n > PROTO_MAX_NAME ? PROTO_MAX_NAME : from.n;
  proto_fold(a, target.p, an);
  proto_fold(b, from.p, bn);
  if (strcmp(a, b) <= 0)
    snprintf(dst, cap, "@%s@%s", a, b);
  else
    snprintf(dst, cap, "@%s@%s", b, a);
  return dst;
}
