/* store.h: SQLite persistence (accounts, login log, tokens, bans, history).
 *
 * One connection, owned by one dedicated store thread: the loop submits
 * jobs (FIFO) and gets each finished job back through a uv_async_t, so the
 * loop never waits on the disk. History inserts are collected on the loop
 * during one loop pass and handed to the thread at its end; the thread
 * commits every batch waiting in one transaction (group commit, one fsync)
 * and only then are the messages delivered: a message echoed to its
 * sender is on disk. Direct messages are kept under the account ids of
 * the pair, not their names, so a name registered again starts empty.
 * The account subcommands use the same jobs synchronously (store_exec). */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto.h"

typedef struct sqlite3 sqlite3;

enum store_op {
  STORE_ACCOUNT_GET,    /* name -> found, out_name, hash, role, ban */
  STORE_ACCOUNT_ADD,    /* name, hash, role -> 0 or -PERR_NAME_TAKEN */
  STORE_ACCOUNT_DEL,    /* name -> found (its tokens and direct
                           conversations go too; sessions revoked) */
  STORE_ACCOUNT_PASSWD, /* name, hash -> found (revokes tokens and
                           sessions) */
  STORE_ACCOUNT_LIST,   /* -> lines */
  STORE_LOGIN_LOG,      /* name, text=ip, num=port, text2=outcome */
  STORE_LOGINS,         /* num=N -> lines, newest last */
  STORE_TOKEN_ADD,      /* text=hash hex, name, num=expires */
  STORE_TOKEN_CHECK,    /* text=hash hex, name -> found + account fields */
  STORE_TOKEN_REVOKE,   /* text=hash hex ("" = all of name) */
  STORE_HISTORY_PUT,    /* rows -> inserted, trimmed to num per conv */
  STORE_HISTORY_GET,    /* text=conv, num=before_id, num2=limit -> rows
                           (text2, tag, role, arg: the caller's) */
  STORE_BAN,            /* name, num=until (0 forever), text2=reason,
                           text=actor -> found, out_name */
  STORE_MAX_ID,         /* -> num = largest message id ever handed out */
  STORE_UNBAN,          /* name, text=actor -> found (an active ban was
                           lifted), out_name */
  STORE_BANS,           /* -> bans (active, at most STORE_BANS_MAX) */
  STORE_TOPIC_PUT,      /* text2=room, text=actor (name), room topic in
                           topic ("" deletes) */
  STORE_TOPICS_GET,     /* -> topics (every stored room topic) */
  STORE_QUIT,           /* stops the thread */
  STORE_REVOKED,        /* -> lines "name\twhy" revoked by other processes
                           since the last poll (see store_watch_revoked) */
  STORE_CALL,           /* call(db, j): a module's own statements, in order
                           with the other jobs (folderstore.c) */
};

/* Called on the loop once a history row is committed (result 0), or when
 * it could not be stored (-PERR_STORAGE; -PERR_NO_SUCH_USER for a direct
 * message whose account is gone). */
typedef void (*store_done_fn)(void *ctx, int result);

/* Called on the loop for each account whose sessions another process
 * revoked (`parleyd user del|passwd`); why is "deleted" or "passwd", at_ms
 * the wall clock time of the revocation (unix milliseconds). */
typedef void (*store_revoked_fn)(const char *name, const char *why,
                                 uint64_t at_ms);

typedef struct store_row { /* one history message */
  uint64_t id;
  uint64_t ts_ms;
  uint8_t kind;  /* enum proto_target */
  uint8_t flags; /* PROTO_MSGF_* (never BACKLOG in the table) */
  char *conv;    /* conversation key, see store_conv_key */
  char *target;
  char *from;
  char *text;
  store_done_fn done; /* NULL: nobody waits for this row */
  void *done_ctx;
  int result; /* 0 or a negative PERR_*, set by the store thread */
} store_row;

#define STORE_BANS_MAX 1000 /* bans listed at most */

typedef struct store_ban { /* one active ban (STORE_BANS) */
  char name[PROTO_MAX_NAME + 1];
  char actor[PROTO_MAX_NAME + 1]; /* "" for the console */
  char reason[PROTO_MAX_REASON * 4 + 1];
  uint64_t until_ms; /* unix ms; 0 = permanent */
  uint64_t since_ms; /* when it was set */
} store_ban;

typedef struct store_topic { /* one persisted room topic */
  char room[PROTO_MAX_ROOM + 1];
  char topic[PROTO_MAX_TOPIC * 4 + 1];
} store_topic;

typedef struct store_job store_job;
typedef void (*store_cb)(store_job *j);

struct store_job {
  store_job *next;
  int op;       /* enum store_op */
  store_cb cb;  /* run on the loop when done; NULL: just freed */
  void *ctx;    /* the submitter's data (e.g. a referenced conn) */
  uint64_t arg; /* the submitter's data */
  uint64_t tag; /* the submitter's data (e.g. who asked) */
  /* inputs */
  char name[PROTO_MAX_NAME + 1];
  char text[crypto_pwhash_STRBYTES]; /* hash string, token hex, ip, conv */
  char text2[PROTO_MAX_REASON * 4 + 1];
  uint64_t num;
  uint64_t num2;
  int role;
  /* outputs */
  int result; /* 0 or a negative PERR_* */
  bool found;
  char out_name[PROTO_MAX_NAME + 1];
  char hash[crypto_pwhash_STRBYTES];
  int out_role;
  bool banned;
  uint64_t ban_until; /* unix ms; 0 = forever when banned */
  store_row *rows;    /* owned by the job */
  size_t nrows;
  char **lines; /* owned by the job */
  size_t nlines;
  store_ban *bans; /* STORE_BANS, owned by the job */
  size_t nbans;
  store_topic *topics; /* STORE_TOPICS_GET, owned by the job */
  size_t ntopics;
  char topic[PROTO_MAX_TOPIC * 4 + 1]; /* STORE_TOPIC_PUT */
  void (*call)(sqlite3 *db, store_job *j); /* STORE_CALL */
  void *data; /* STORE_CALL: the caller's, freed by its cb */
};

/* Opens (creating) the database at path, its directory too, in WAL mode
 * with the schema in place. Returns 0 or -1 with a message on stderr. */
int store_open(const char *path, sqlite3 **db);

/* Closes a database from store_open. */
void store_close_db(sqlite3 *db);

/* Allocates a zeroed job; aborts on out of memory (startup-sized). */
store_job *store_job_new(int op, store_cb cb, void *ctx);

/* Frees a job and what it owns. */
void store_job_free(store_job *j);

/* Runs a job synchronously on db (the store thread, or a subcommand). */
void store_exec(sqlite3 *db, store_job *j);

/* Hands db to a new store thread feeding callbacks into loop. history_len
 * is the per-conversation limit kept. Returns 0 or a negative uv error. */
int store_start(uv_loop_t *loop, sqlite3 *db, uint32_t history_len);

/* Queues a job (after any pending history batch, keeping order). */
void store_submit(store_job *j);

/* Adds a message to the pending history batch; the strings are copied.
 * Returns 1 when done(ctx, result) will be called on the loop after the
 * batch's commit, 0 when history is off (nothing kept, done not called),
 * or -PERR_STORAGE when the row cannot even be queued (done not called). */
int store_history_add(uint64_t id, uint64_t ts_ms, uint8_t kind,
                      const char *conv, proto_str target, proto_str from,
                      uint8_t flags, proto_str text, store_done_fn done,
                      void *ctx);

/* Polls the database once a second, on the store thread, for sessions
 * revoked by another process, and calls fn on the loop for each. */
void store_watch_revoked(store_revoked_fn fn);

/* Records in db that name's sessions are revoked (why: "deleted" or
 * "passwd"), for a running server to notice. Returns 0 or -1. */
int store_revoke_note(sqlite3 *db, const char *name, const char *why);

/* Writes the pending batch, runs every queued job, joins the thread,
 * calls the remaining callbacks, closes the database and the handles. */
void store_stop(void);

/* Conversation key: "#room" lowercased, or "@a@b" for the sorted,
 * lowercased pair of user names. Returns dst. */
char *store_conv_key(char *dst, size_t cap, uint8_t kind, proto_str target,
                     proto_str from);

#endif
