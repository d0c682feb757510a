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

#define STORE_BATCH_ROWS 128     /* history rows per job, at most */
#define STORE_GROUP_JOBS 64      /* jobs per transaction, at most */
#define STORE_MAX_QUEUED 4096    /* jobs waiting; history refused beyond it */
#define STORE_LOGIN_KEEP 100000  /* login log rows kept */
#define STORE_SCHEMA_VERSION 2   /* PRAGMA user_version; see store_migrate */
#define STORE_REVOKED_MS 1000    /* revocation poll period */
#define STORE_REVOKED_MAX 64     /* revocations handled per poll */
#define STORE_REVOKED_KEEP 86400 /* seconds a revocation note is kept */

static const char store_schema[] =
    "PRAGMA journal_mode=WAL;"
    /* NORMAL: a commit survives a crash of the process; history commits
     * switch to FULL (store_history_put_n) to survive the machine's. */
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
    /* Every new token prunes the expired ones: without this index that
     * was a scan of the whole table per login (quadratic in a storm). */
    "CREATE INDEX IF NOT EXISTS tokens_expires ON tokens(expires);"
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
  uv_check_t check;       /* hands the batch over at the end of a pass */
  uv_timer_t poll;        /* looks for revocations (store_watch_revoked) */
  store_job *batch;       /* pending STORE_HISTORY_PUT, loop side */
  uint32_t history_len;
  bool running;
  bool failing;             /* storage failing: logged once per episode */
  uint64_t lost;            /* messages not stored in this episode */
  store_revoked_fn revoked; /* loop side */
  bool polling;             /* a STORE_REVOKED job is out */
  int64_t data_version;     /* thread side: PRAGMA data_version seen */
  int64_t revoked_seen;     /* thread side: last revoked.id handled */
} st;

static int store_run(sqlite3 *db, const char *sql, const char *fmt, ...);

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

/* Runs sql (no binds) and steps it to the end. Returns 0 or -1. */
static int store_sql(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "parleyd: database: %s\n", err ? err : "?");
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

/* Reads one integer from sql (first column of the first row); dflt when
 * there is no row or the value is NULL. */
static int64_t store_int(sqlite3 *db, const char *sql, int64_t dflt) {
  sqlite3_stmt *s = NULL;
  int64_t v = dflt;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* The account id of name, 0 when there is no such account, -1 on error. */
static int64_t store_account_id(sqlite3 *db, const char *name, size_t n) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, "SELECT id FROM accounts WHERE name=?1", -1, &s,
                         NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(s, 1, name, (int)n, SQLITE_STATIC);
  int r = sqlite3_step(s);
  int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(s, 0)
                               : (r == SQLITE_DONE ? 0 : -1);
  sqlite3_finalize(s);
  return id;
}

/* Turns a conversation key from store_conv_key into the key kept in the
 * table: a room's as it is, a direct conversation's "@a@b" of names into
 * "@<id>@<id>" of account ids (smaller first). Ids are never reused, so a
 * conversation dies with either account. Returns 0, -PERR_NO_SUCH_USER
 * when an account is gone, or -PERR_STORAGE on a database error. */
static int store_conv_resolve(sqlite3 *db, const char *conv, char *out,
                              size_t cap) {
  if (conv[0] != '@') {
    snprintf(out, cap, "%s", conv);
    return 0;
  }
  const char *a = conv + 1;
  const char *at = strchr(a, '@');
  if (at == NULL)
    return -PERR_NO_SUCH_USER;
  int64_t ia = store_account_id(db, a, (size_t)(at - a));
  int64_t ib = store_account_id(db, at + 1, strlen(at + 1));
  if (ia < 0 || ib < 0)
    return -PERR_STORAGE;
  if (ia == 0 || ib == 0)
    return -PERR_NO_SUCH_USER;
  snprintf(out, cap, "@%lld@%lld", (long long)(ia < ib ? ia : ib),
           (long long)(ia < ib ? ib : ia));
  return 0;
}

/* Schema version 1 (from 0, the first release): accounts get ids that are
 * never reused (AUTOINCREMENT); direct conversations are keyed by those
 * ids instead of names (rows whose account is gone are dropped); the
 * highest message id handed out is kept in meta so ids never go back even
 * when the newest rows are trimmed or deleted; and revoked notes sessions
 * ended by another process. One transaction, so a crash leaves version 0
 * intact; two processes opening at once migrate once. */
static int store_migrate_v1(sqlite3 *db) {
  if (store_sql(db, "CREATE TABLE accounts_v1(id INTEGER PRIMARY KEY "
                    "AUTOINCREMENT, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
                    " hash TEXT NOT NULL, created INTEGER NOT NULL,"
                    " role INTEGER NOT NULL DEFAULT 0);"
                    "INSERT INTO accounts_v1(name, hash, created, role)"
                    " SELECT name, hash, created, role FROM accounts"
                    " ORDER BY created, rowid;"
                    "DROP TABLE accounts;"
                    "ALTER TABLE accounts_v1 RENAME TO accounts;"
                    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
                    " value INTEGER);"
                    "INSERT OR REPLACE INTO meta(key, value) SELECT 'msg_id',"
                    " coalesce(max(id), 0) FROM history;"
                    "CREATE TABLE IF NOT EXISTS revoked(id INTEGER PRIMARY KEY"
                    " AUTOINCREMENT, name TEXT NOT NULL, why TEXT NOT NULL,"
                    " ts INTEGER NOT NULL);" /* ts: unix milliseconds */) < 0)
    return -1;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT DISTINCT conv FROM history WHERE conv "
                         "LIKE '@%' AND conv NOT GLOB '@[0-9]*'",
                         -1, &s, NULL) != SQLITE_OK)
    return -1;
  int rc = 0;
  while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
    const char *old = (const char *)sqlite3_column_text(s, 0);
    char key[64];
    int r = store_conv_resolve(db, old ? old : "", key, sizeof key);
    if (r == -PERR_STORAGE)
      rc = -1;
    else if (r < 0) /* an account is gone: so is the conversation */
      rc = store_run(db, "DELETE FROM history WHERE conv=?1", "t", old) < 0;
    else
      rc = store_run(db, "UPDATE history SET conv=?2 WHERE conv=?1", "tt", old,
                     key) < 0;
  }
  sqlite3_finalize(s);
  return rc == 0 ? 0 : -1;
}

/* Schema version 2: the shared folder's metadata (folderstore.c), one row
 * per complete file; sha256 is the 32-byte digest, mtime unix seconds,
 * owner "-" for a file copied in by hand. */
static int store_migrate_v2(sqlite3 *db) {
  return store_sql(db, "CREATE TABLE IF NOT EXISTS folder(name TEXT PRIMARY"
                       " KEY, owner TEXT NOT NULL, size INTEGER NOT NULL,"
                       " mtime INTEGER NOT NULL, sha256 BLOB NOT NULL)");
}

/* Brings an opened database to STORE_SCHEMA_VERSION (PRAGMA user_version).
 * Kept apart from store_schema: each version is one function. Returns 0,
 * or -1 with a message on stderr (nothing changed). */
static int store_migrate(sqlite3 *db, const char *path) {
  if (store_int(db, "PRAGMA user_version", 0) >= STORE_SCHEMA_VERSION)
    return 0;
  if (store_sql(db, "BEGIN IMMEDIATE") < 0)
    return -1;
  int64_t v = store_int(db, "PRAGMA user_version", 0); /* under the lock */
  bool used = store_int(db, "SELECT count(*) FROM accounts", 0) > 0 ||
              store_int(db, "SELECT count(*) FROM history", 0) > 0;
  int r = 0;
  if (v < 1)
    r = store_migrate_v1(db);
  if (r == 0 && v < 2)
    r = store_migrate_v2(db);
  if (r == 0)
    r = store_sql(db, "PRAGMA user_version=2");
  if (r == 0 && store_sql(db, "COMMIT") == 0) {
    if (used) /* a new database has nothing to tell */
      fprintf(stderr, "parleyd: database %s upgraded to version %d\n", path,
              STORE_SCHEMA_VERSION);
    return 0;
  }
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  fprintf(stderr, "parleyd: database %s: cannot upgrade to version %d\n", path,
          STORE_SCHEMA_VERSION);
  return -1;
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
  if (store_migrate(*db, path) < 0) {
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

/* Inserts the rows of n history jobs and trims every touched
 * conversation to the configured length, inside the caller's transaction.
 * A direct message whose account is gone gets -PERR_NO_SUCH_USER and is
 * not kept. Returns 0, or -1 when the database failed (the caller rolls
 * back). */
static int store_history_rows(sqlite3 *db, store_job **jobs, size_t n) {
  sqlite3_stmt *s = store_prep(
      db, "INSERT OR REPLACE INTO history(id, conv, ts, kind, target, "
          "sender, flags, text) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
  sqlite3_stmt *t = store_prep(
      db, "DELETE FROM history WHERE conv=?1 AND id < (SELECT id FROM "
          "history WHERE conv=?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
  int rc = s != NULL && t != NULL ? 0 : -1;
  uint64_t top = 0;
  for (size_t k = 0; rc == 0 && k < n; k++) {
    store_job *j = jobs[k];
    for (size_t i = 0; rc == 0 && i < j->nrows; i++) {
      store_row *r = &j->rows[i];
      char conv[64 + 2 * PROTO_MAX_NAME];
      if (r->conv == NULL || r->target == NULL || r->from == NULL ||
          r->text == NULL) {
        r->result = -PERR_STORAGE; /* out of memory when it was queued */
        continue;
      }
      r->result = store_conv_resolve(db, r->conv, conv, sizeof conv);
      if (r->result == -PERR_STORAGE)
        rc = -1;
      if (r->result < 0)
        continue;
      sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
      sqlite3_bind_text(s, 2, conv, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(s, 3, (sqlite3_int64)r->ts_ms);
      sqlite3_bind_int(s, 4, r->kind);
      sqlite3_bind_text(s, 5, r->target, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 6, r->from, -1, SQLITE_STATIC);
      sqlite3_bind_int(s, 7, r->flags);
      sqlite3_bind_text(s, 8, r->text, -1, SQLITE_STATIC);
      if (sqlite3_step(s) != SQLITE_DONE)
        rc = -1;
      sqlite3_reset(s);
      if (r->id > top)
        top = r->id;
      /* Trim once per conversation and job (the newest row's turn). */
      bool later = false;
      for (size_t m = i + 1; m < j->nrows && !later; m++)
        later = j->rows[m].conv && strcmp(j->rows[m].conv, r->conv) == 0;
      if (later || rc < 0)
        continue;
      sqlite3_bind_text(t, 1, conv, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(t, 2, j->num > 0 ? (sqlite3_int64)j->num - 1 : 0);
      if (sqlite3_step(t) != SQLITE_DONE)
        rc = -1;
      sqlite3_reset(t);
    }
  }
  sqlite3_finalize(s);
  sqlite3_finalize(t);
  /* The high-water mark: ids stay above it after a restart even when the
   * newest rows were trimmed or deleted with an account. */
  if (rc == 0 && top > 0 &&
      store_run(db,
                "INSERT INTO meta(key, value) VALUES('msg_id', ?1) ON "
                "CONFLICT(key) DO UPDATE SET value=max(value, ?1)",
                "i", (int64_t)top) < 0)
    rc = -1;
  return rc;
}

/* Commits n history jobs in one transaction (group commit: one fsync for
 * all). On failure every row of every job gets -PERR_STORAGE, and the
 * database's message goes to text2 of the first job for the log. */
static void store_history_put_n(sqlite3 *db, store_job **jobs, size_t n) {
  /* FULL for this commit only: the WAL is synced before COMMIT returns,
   * so a message echoed after it survives a power cut (PROTOCOL.md 6.4).
   * Logins, tokens and the login log stay NORMAL (no fsync each): a
   * login must not wait for the disk. */
  sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
  if (rc == 0)
    rc = store_history_rows(db, jobs, n);
  if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = -1;
  char err[sizeof jobs[0]->text2] = "";
  if (rc != 0) /* before ROLLBACK replaces the message */
    snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
  if (rc != 0 && !sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
  if (rc == 0)
    return;
  snprintf(jobs[0]->text2, sizeof jobs[0]->text2, "%s", err[0] ? err : "?");
  for (size_t k = 0; k < n; k++) {
    jobs[k]->result = -PERR_STORAGE;
    for (size_t i = 0; i < jobs[k]->nrows; i++)
      jobs[k]->rows[i].result = -PERR_STORAGE;
  }
}

/* One history job on its own (store_exec). */
static void store_history_put(sqlite3 *db, store_job *j) {
  store_history_put_n(db, &j, 1);
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
  char conv[64 + 2 * PROTO_MAX_NAME];
  int rc = store_conv_resolve(db, j->text, conv, sizeof conv);
  if (rc < 0) { /* an account that is gone has no conversations */
    sqlite3_finalize(s);
    j->result = rc == -PERR_STORAGE ? -PERR_INTERNAL : 0;
    return;
  }
  sqlite3_bind_text(s, 1, conv, -1, SQLITE_STATIC);
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

/* Records a revocation for running servers (store_watch_revoked), and
 * forgets notes older than a day: a server polls every second. Its own
 * commits do not move its data_version, so a note written by this process
 * forces the next poll to look. */
int store_revoke_note(sqlite3 *db, const char *name, const char *why) {
  st.data_version = -1; /* run by this server's own thread: poll anyway */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  store_run(db, "DELETE FROM revoked WHERE ts < ?1", "i",
            ms - (int64_t)STORE_REVOKED_KEEP * 1000);
  return store_run(db, "INSERT INTO revoked(name, why, ts) VALUES(?1,?2,?3)",
                   "tti", name, why, ms) > 0
             ? 0
             : -1;
}

/* Deletes an account, its tokens and its direct conversations (keyed by
 * its id, which is never handed out again), and notes the revocation for
 * a running server, in one transaction: found tells whether it existed. */
static void store_account_del(sqlite3 *db, store_job *j) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    j->result = -PERR_INTERNAL;
    return;
  }
  int64_t id = store_account_id(db, j->name, strlen(j->name));
  int rc = id < 0 ? -1 : 0;
  if (id > 0) {
    char mine[32], theirs[32];
    snprintf(mine, sizeof mine, "@%lld@%%", (long long)id);
    snprintf(theirs, sizeof theirs, "@%%@%lld", (long long)id);
    if (store_run(db, "DELETE FROM history WHERE conv LIKE ?1 OR conv LIKE ?2",
                  "tt", mine, theirs) < 0 ||
        store_run(db, "DELETE FROM accounts WHERE id=?1", "i", id) < 0 ||
        store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name) < 0 ||
        store_revoke_note(db, j->name, "deleted") < 0)
      rc = -1;
  }
  if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
    j->found = id > 0;
    return;
  }
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  j->result = -PERR_INTERNAL;
}

/* Looks for revocations committed by other processes: cheap when nothing
 * changed (PRAGMA data_version moves only on other connections' commits).
 * Returns at most STORE_REVOKED_MAX as lines "name\twhy\tts_ms". */
static void store_revoked_poll(sqlite3 *db, store_job *j) {
  int64_t v = store_int(db, "PRAGMA data_version", 0);
  if (v == st.data_version)
    return;
  sqlite3_stmt *s = store_prep(
      db, "SELECT id, name, why, ts FROM revoked WHERE id > ?1 ORDER BY id "
          "LIMIT ?2");
  if (s == NULL)
    return;
  sqlite3_bind_int64(s, 1, st.revoked_seen);
  sqlite3_bind_int(s, 2, STORE_REVOKED_MAX);
  size_t n = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    char line[PROTO_MAX_NAME + 48];
    st.revoked_seen = sqlite3_column_int64(s, 0);
    snprintf(line, sizeof line, "%s\t%s\t%lld", sqlite3_column_text(s, 1),
             sqlite3_column_text(s, 2), (long long)sqlite3_column_int64(s, 3));
    store_add_line(j, line);
    n++;
  }
  sqlite3_finalize(s);
  if (n < STORE_REVOKED_MAX) /* else look again next time: more waiting */
    st.data_version = v;
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
    store_account_del(db, j);
    break;
  case STORE_ACCOUNT_PASSWD:
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    j->found = store_run(db, "UPDATE accounts SET hash=?2 WHERE name=?1", "tt",
                         j->name, j->text) > 0;
    store_run(db, "DELETE FROM tokens WHERE name=?1", "t", j->name);
    if (j->found && store_revoke_note(db, j->name, "passwd") < 0)
      j->result = -PERR_INTERNAL;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      j->found = false;
      j->result = -PERR_INTERNAL;
    }
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
  case STORE_MAX_ID:
    j->num = (uint64_t)store_int(
        db,
        "SELECT max(coalesce((SELECT max(id) FROM history), 0),"
        " coalesce((SELECT value FROM meta WHERE key='msg_id'), 0))",
        0);
    break;
  case STORE_REVOKED:
    store_revoked_poll(db, j);
    break;
  case STORE_CALL:
    j->call(db, j);
    break;
  default:
    break;
  }
}

/* Whether op may share a transaction with its neighbours in the queue:
 * the login path's statements, each one row (reads, and writes whose
 * outcome store_redo can repeat on its own). */
static bool store_groupable(int op) {
  switch (op) {
  case STORE_ACCOUNT_GET:
  case STORE_ACCOUNT_ADD:
  case STORE_LOGIN_LOG:
  case STORE_TOKEN_ADD:
  case STORE_TOKEN_CHECK:
  case STORE_HISTORY_GET:
    return true;
  default:
    return false;
  }
}

/* Whether a groupable op writes (the group then takes the write lock at
 * BEGIN, so it never has to upgrade a read lock half-way). */
static bool store_writes(int op) {
  return op == STORE_ACCOUNT_ADD || op == STORE_LOGIN_LOG ||
         op == STORE_TOKEN_ADD;
}

/* Runs a grouped write again in a transaction of its own, after its
 * group's was rolled back; reads keep what they found. */
static void store_redo(sqlite3 *db, store_job *j) {
  if (!store_writes(j->op))
    return;
  j->result = 0;
  j->found = false;
  j->out_name[0] = '\0';
  store_exec(db, j);
}

/* Runs n groupable jobs in one transaction: a login storm's account
 * lookups, inserts, tokens, login log and backlog reads cost one commit
 * (one WAL append and lock round) per STORE_GROUP_JOBS instead of one or
 * two per job. Writes are not synced (synchronous=NORMAL) as before. If
 * the transaction cannot begin, or an error rolls it back, or COMMIT
 * fails, each write that was lost runs again on its own, so every job
 * ends as it would have alone. */
static void store_exec_group(sqlite3 *db, store_job **jobs, size_t n) {
  bool writes = false;
  for (size_t k = 0; k < n; k++)
    writes = writes || store_writes(jobs[k]->op);
  if (n == 1 || sqlite3_exec(db, writes ? "BEGIN IMMEDIATE" : "BEGIN", NULL,
                             NULL, NULL) != SQLITE_OK) {
    for (size_t k = 0; k < n; k++)
      store_exec(db, jobs[k]);
    return;
  }
  size_t k = 0;
  for (; k < n; k++) {
    store_exec(db, jobs[k]);
    if (sqlite3_get_autocommit(db))
      break; /* an error rolled the transaction back */
  }
  if (k == n) {
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
      return;
    log_error(NULL, "sqlite commit: %s", sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db))
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  /* Jobs 0..k-1 wrote into the lost transaction; job k failed in it (its
   * result says so); the rest have not run. */
  for (size_t i = 0; i < k && i < n; i++)
    store_redo(db, jobs[i]);
  for (size_t i = k + 1; i < n; i++)
    store_exec(db, jobs[i]);
}

/* Takes the next job off the queue (st.mu held), with the jobs right
 * behind it that share its transaction: history batches with a history
 * batch (group commit, one fsync), login-path jobs with a login-path job.
 * Returns how many went into group. */
static size_t store_take(store_job **group) {
  size_t n = 0;
  do {
    store_job *j = st.head;
    st.head = j->next;
    if (st.head == NULL)
      st.tail = NULL;
    st.queued--;
    group[n++] = j;
  } while (n < STORE_GROUP_JOBS && st.head != NULL &&
           ((group[0]->op == STORE_HISTORY_PUT &&
             st.head->op == STORE_HISTORY_PUT) ||
            (store_groupable(group[0]->op) && store_groupable(st.head->op))));
  return n;
}

/* The store thread: runs jobs in order until STORE_QUIT. */
static void *store_main(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&st.mu);
    while (st.head == NULL)
      pthread_cond_wait(&st.cv, &st.mu);
    store_job *group[STORE_GROUP_JOBS];
    size_t n = store_take(group);
    pthread_mutex_unlock(&st.mu);
    store_job *j = group[0];
    bool quit = j->op == STORE_QUIT;
    if (j->op == STORE_HISTORY_PUT)
      store_history_put_n(st.db, group, n);
    else if (!quit)
      store_exec_group(st.db, group, n);
    pthread_mutex_lock(&st.mu);
    for (size_t k = 0; k < n; k++) { /* done is newest first */
      group[k]->next = st.done;
      st.done = group[k];
    }
    pthread_mutex_unlock(&st.mu);
    if (quit)
      return NULL;
    uv_async_send(&st.async); /* cannot fail on a live handle */
  }
}

/* Tells the waiting senders how their rows went, and the operator once
 * per episode when storage fails (and when it recovers). */
static void store_history_done(store_job *j) {
  uint64_t lost = 0;
  for (size_t i = 0; i < j->nrows; i++)
    if (j->rows[i].result == -PERR_STORAGE)
      lost++;
  if (lost > 0 && !st.failing) {
    st.failing = true;
    log_error(NULL,
              "STORAGE FAILING: cannot write the database (%s); messages "
              "are refused with an error to their senders until it works "
              "again (disk full? check the disk and the database file)",
              j->text2[0] ? j->text2 : "queue full");
  } else if (lost == 0 && j->result == 0 && st.failing && j->nrows > 0) {
    log_info(NULL, "storage works again: %llu messages were refused",
             (unsigned long long)st.lost);
    st.failing = false;
    st.lost = 0;
  }
  st.lost += lost;
  for (size_t i = 0; i < j->nrows; i++) {
    store_row *r = &j->rows[i];
    if (r->done != NULL)
      r->done(r->done_ctx, r->result);
    r->done = NULL;
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
    if (rev->op == STORE_HISTORY_PUT)
      store_history_done(rev);
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
    /* The disk is far behind: refuse, loudly. Answered from the loop's
     * next pass like a failed commit, never from inside the submitter. */
    j->result = -PERR_STORAGE;
    for (size_t i = 0; i < j->nrows; i++)
      j->rows[i].result = -PERR_STORAGE;
    j->next = st.done;
    st.done = j;
    pthread_mutex_unlock(&st.mu);
    uv_async_send(&st.async);
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
  uv_check_stop(&st.check);
  store_enqueue(b);
}

/* End of a loop pass: what this pass said goes to the disk now. */
static void store_on_check(uv_check_t *h) {
  (void)h;
  store_flush_batch();
}

/* Revocation poll answer: each line is "name\twhy\tts_ms". */
static void store_on_revoked(store_job *j) {
  st.polling = false;
  for (size_t i = 0; i < j->nlines && st.revoked != NULL; i++) {
    char *why = strchr(j->lines[i], '\t');
    char *ts = why ? strchr(why + 1, '\t') : NULL;
    if (ts == NULL)
      continue;
    *why++ = '\0';
    *ts++ = '\0';
    st.revoked(j->lines[i], why, strtoull(ts, NULL, 10));
  }
}

/* Poll timer: one STORE_REVOKED job at a time, never a queue of them. */
static void store_on_poll(uv_timer_t *t) {
  (void)t;
  if (st.polling || !st.running)
    return;
  st.polling = true;
  store_submit(store_job_new(STORE_REVOKED, store_on_revoked, NULL));
}

/* Starts the revocation poll. */
void store_watch_revoked(store_revoked_fn fn) {
  st.revoked = fn;
  int r = uv_timer_start(&st.poll, store_on_poll, STORE_REVOKED_MS,
                         STORE_REVOKED_MS);
  if (r < 0)
    log_error(NULL, "revocation poll: %s", uv_strerror(r));
}

/* Starts the thread. */
int store_start(uv_loop_t *loop, sqlite3 *db, uint32_t history_len) {
  st.db = db;
  st.loop = loop;
  st.history_len = history_len;
  int r = uv_async_init(loop, &st.async, store_on_async);
  if (r < 0)
    return r;
  r = uv_check_init(loop, &st.check);
  if (r < 0)
    return r;
  r = uv_timer_init(loop, &st.poll);
  if (r < 0)
    return r;
  uv_unref((uv_handle_t *)&st.poll); /* the poll keeps no loop alive */
  /* Revocations from before this start are old news: tokens are gone. */
  st.data_version = store_int(db, "PRAGMA data_version", 0);
  st.revoked_seen = store_int(db, "SELECT max(id) FROM revoked", 0);
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
int store_history_add(uint64_t id, uint64_t ts_ms, uint8_t kind,
                      const char *conv, proto_str target, proto_str from,
                      uint8_t flags, proto_str text, store_done_fn done,
                      void *ctx) {
  if (!st.running || st.history_len == 0)
    return 0;
  if (st.batch == NULL) {
    st.batch = store_job_new(STORE_HISTORY_PUT, NULL, NULL);
    st.batch->rows = calloc(STORE_BATCH_ROWS, sizeof(store_row));
    st.batch->num = st.history_len;
    if (st.batch->rows == NULL) {
      store_job_free(st.batch);
      st.batch = NULL;
      log_error(NULL, "out of memory for history");
      return -PERR_STORAGE;
    }
    int r = uv_check_start(&st.check, store_on_check);
    if (r < 0)
      log_error(NULL, "history check: %s", uv_strerror(r));
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
  row->done = done;
  row->done_ctx = ctx;
  st.batch->nrows++;
  if (row->conv == NULL || row->target == NULL || row->from == NULL ||
      row->text == NULL) {
    log_error(NULL, "out of memory for history");
  }
  if (st.batch->nrows == STORE_BATCH_ROWS)
    store_flush_batch();
  return 1;
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
  uv_close((uv_handle_t *)&st.check, NULL);
  uv_close((uv_handle_t *)&st.poll, NULL);
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
