/* folderstore.c: the shared folder's files and metadata (folderstore.h). */
#include "folderstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fileio.h"
#include "log.h"
#include "store.h"

typedef struct folderstore {
  uv_loop_t *loop;
  char dir[PATH_MAX - 300]; /* room for "/.parley/up-<key>" and a name */
  bool enabled;
  bool ready;
  bool stopped; /* shutdown: late disk callbacks change nothing */
  folder_file *f; /* sorted by name */
  size_t n, cap;
} folderstore;

static folderstore fs;

bool folderstore_ready(void) {
  return fs.ready;
}

bool folderstore_enabled(void) {
  return fs.enabled;
}

size_t folderstore_count(void) {
  return fs.n;
}

const folder_file *folderstore_at(size_t i) {
  return &fs.f[i];
}

/* Index of the first entry not below name (binary search). */
static size_t folderstore_lower(const char *name, size_t n) {
  size_t lo = 0, hi = fs.n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *m = fs.f[mid].name;
    size_t mn = strlen(m);
    int c = memcmp(m, name, mn < n ? mn : n);
    if (c < 0 || (c == 0 && mn < n))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

folder_file *folderstore_find(const char *name, size_t n) {
  size_t i = folderstore_lower(name, n);
  if (i < fs.n && strlen(fs.f[i].name) == n &&
      memcmp(fs.f[i].name, name, n) == 0)
    return &fs.f[i];
  return NULL;
}

uint64_t folderstore_total(void) {
  uint64_t t = 0;
  for (size_t i = 0; i < fs.n; i++)
    t += fs.f[i].size;
  return t;
}

uint64_t folderstore_user_total(const char *owner) {
  uint64_t t = 0;
  for (size_t i = 0; i < fs.n; i++)
    if (strcasecmp(fs.f[i].owner, owner) == 0)
      t += fs.f[i].size;
  return t;
}

/* The naming rules of received peer files (client_xfer_sanitize), as a
 * check: the server refuses what a receiver would have to rewrite. */
int folderstore_name_check(const char *p, size_t n) {
  if (n == 0 || n > FOLDERSTORE_NAME_MAX || proto_utf8_count(p, n) < 0)
    return -PERR_BAD_FILENAME;
  if (p[0] == '.' || p[0] == ' ' || p[0] == '-')
    return -PERR_BAD_FILENAME;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\')
      return -PERR_BAD_FILENAME;
    if (ch == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
        (unsigned char)p[i + 1] < 0xa0)
      return -PERR_BAD_FILENAME; /* C1 controls */
  }
  return 0;
}

/* The name for an ERROR's text: at most 64 bytes, cut at a character, so
 * that the text stays within PROTO_MAX_ERRTEXT (the subject carries the
 * whole name). Two static buffers used in turn: one call's arguments. */
const char *folderstore_shown(const char *name) {
  static char buf[2][64 + 4];
  static int k;
  char *b = buf[k++ & 1];
  size_t n = strlen(name);
  if (n <= 64)
    return name;
  n = 64;
  while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
    n--; /* not inside a UTF-8 sequence */
  memcpy(b, name, n);
  memcpy(b + n, "...", 4);
  return b;
}

int folderstore_path(char *dst, size_t cap, const char *name) {
  int r = snprintf(dst, cap, "%s/%s", fs.dir, name);
  return r < 0 || (size_t)r >= cap ? -1 : 0;
}

/* The key is a hash of the lowercased owner, the name and the size, so
 * that the partial file's name says nothing and needs no escaping. */
int folderstore_partial(char *dst, size_t cap, const char *owner,
                        const char *name, uint64_t size) {
  char buf[PROTO_MAX_NAME + FOLDERSTORE_NAME_MAX + 32];
  size_t k = 0;
  for (const char *o = owner; *o && k < PROTO_MAX_NAME; o++)
    buf[k++] = (char)(*o >= 'A' && *o <= 'Z' ? *o + 32 : *o);
  int m = snprintf(buf + k, sizeof buf - k, "%c%s%c%" PRIu64, 0, name, 0, size);
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  if (m < 0 ||
      EVP_Digest(buf, k + (size_t)m, md, &mdn, EVP_sha256(), NULL) != 1)
    return -1;
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  int r = snprintf(dst, cap, "%s/" FOLDERSTORE_TMP "/up-%s", fs.dir, hex);
  return r < 0 || (size_t)r >= cap ? -1 : 0;
}

/* Inserts or replaces f in the sorted table. Returns 0 or -1 (memory). */
static int folderstore_insert(const folder_file *f) {
  size_t n = strlen(f->name);
  size_t i = folderstore_lower(f->name, n);
  if (i < fs.n && strcmp(fs.f[i].name, f->name) == 0) {
    fs.f[i] = *f;
    return 0;
  }
  if (fs.n == fs.cap) {
    size_t cap = fs.cap ? fs.cap * 2 : 64;
    folder_file *g = realloc(fs.f, cap * sizeof *g);
    if (g == NULL)
      return -1;
    fs.f = g;
    fs.cap = cap;
  }
  memmove(&fs.f[i + 1], &fs.f[i], (fs.n - i) * sizeof *fs.f);
  fs.f[i] = *f;
  fs.n++;
  return 0;
}

static void folderstore_remove(const char *name) {
  folder_file *f = folderstore_find(name, strlen(name));
  if (f == NULL)
    return;
  size_t i = (size_t)(f - fs.f);
  memmove(&fs.f[i], &fs.f[i + 1], (fs.n - i - 1) * sizeof *fs.f);
  fs.n--;
}

/* ---- the database (store thread) ---------------------------------------- */

typedef struct folderstore_rows {
  folder_file *f;
  size_t n;
} folderstore_rows;

/* STORE_CALL: every row into j->data (a folderstore_rows), sorted. */
static void folderstore_db_load(sqlite3 *db, store_job *j) {
  folderstore_rows *rows = j->data;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT name, owner, size, mtime, sha256 FROM folder"
                         " ORDER BY name",
                         -1, &s, NULL) != SQLITE_OK) {
    j->result = -PERR_STORAGE;
    return;
  }
  size_t cap = 0;
  while (sqlite3_step(s) == SQLITE_ROW && rows->n < FOLDERSTORE_SCAN_MAX) {
    if (rows->n == cap) {
      cap = cap ? cap * 2 : 64;
      folder_file *g = realloc(rows->f, cap * sizeof *g);
      if (g == NULL)
        break;
      rows->f = g;
    }
    folder_file *f = &rows->f[rows->n];
    memset(f, 0, sizeof *f);
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const char *owner = (const char *)sqlite3_column_text(s, 1);
    snprintf(f->name, sizeof f->name, "%s", name ? name : "");
    snprintf(f->owner, sizeof f->owner, "%s", owner ? owner : "-");
    f->size = (uint64_t)sqlite3_column_int64(s, 2);
    f->mtime = (uint64_t)sqlite3_column_int64(s, 3);
    if (sqlite3_column_bytes(s, 4) == PROTO_HASH_LEN)
      memcpy(f->sha, sqlite3_column_blob(s, 4), PROTO_HASH_LEN);
    if (f->name[0] != '\0')
      rows->n++;
  }
  sqlite3_finalize(s);
}

/* Runs sql with up to five bound values of fmt ('t' text, 'i' int64, 'b'
 * a PROTO_HASH_LEN blob). Returns 0 or -PERR_STORAGE. */
static int folderstore_db_run(sqlite3 *db, const char *sql, const char *fmt,
                              const void *a[5]) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
    return -PERR_STORAGE;
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] == 't')
      sqlite3_bind_text(s, i + 1, a[i], -1, SQLITE_TRANSIENT);
    else if (fmt[i] == 'i')
      sqlite3_bind_int64(s, i + 1, *(const int64_t *)a[i]);
    else
      sqlite3_bind_blob(s, i + 1, a[i], PROTO_HASH_LEN, SQLITE_TRANSIENT);
  }
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? 0 : -PERR_STORAGE;
}

/* STORE_CALL: j->data holds one folder_file to insert or replace. */
static void folderstore_db_put(sqlite3 *db, store_job *j) {
  const folder_file *f = j->data;
  int64_t size = (int64_t)f->size, mtime = (int64_t)f->mtime;
  const void *a[5] = {f->name, f->owner, &size, &mtime, f->sha};
  j->result = folderstore_db_run(db,
                                 "INSERT OR REPLACE INTO folder(name, owner,"
                                 " size, mtime, sha256) VALUES(?1,?2,?3,?4,?5)",
                                 "ttiib", a);
}

/* STORE_CALL: deletes row j->text2 (a name); with j->topic set, then
 * renames row j->text2 to j->topic (a rename replacing its target). */
static void folderstore_db_del(sqlite3 *db, store_job *j) {
  const void *a[5] = {j->text2, j->topic};
  if (j->topic[0] == '\0') {
    j->result =
        folderstore_db_run(db, "DELETE FROM folder WHERE name=?1", "t", a);
    return;
  }
  const void *b[5] = {j->topic};
  j->result =
      folderstore_db_run(db, "DELETE FROM folder WHERE name=?1", "t", b);
  if (j->result == 0)
    j->result = folderstore_db_run(
        db, "UPDATE folder SET name=?2 WHERE name=?1", "tt", a);
}

static void folderstore_db_done(store_job *j) {
  if (j->result < 0)
    log_error(NULL, "shared folder: the database refused a change");
  free(j->data);
}

static void folderstore_db_put_async(const folder_file *f) {
  folder_file *copy = malloc(sizeof *copy);
  if (copy == NULL) {
    log_error(NULL, "shared folder: out of memory for a database write");
    return;
  }
  *copy = *f;
  store_job *j = store_job_new(STORE_CALL, folderstore_db_done, NULL);
  j->call = folderstore_db_put;
  j->data = copy;
  store_submit(j);
}

static void folderstore_db_del_async(const char *name, const char *to) {
  store_job *j = store_job_new(STORE_CALL, folderstore_db_done, NULL);
  j->call = folderstore_db_del;
  snprintf(j->text2, sizeof j->text2, "%s", name);
  snprintf(j->topic, sizeof j->topic, "%s", to ? to : "");
  store_submit(j);
}

/* ---- start-up: stale partial files, reconciliation ---------------------- */

typedef struct folderstore_scan {
  uv_work_t w;
  folderstore_rows rows; /* from the database, sorted */
  folderstore_rows out;  /* what DIR holds, sorted */
  char **gone;           /* names of rows whose file vanished */
  size_t ngone;
  size_t hashed, stale;
  int err; /* errno of creating DIR */
} folderstore_scan;

/* SHA-256 of the file at path into sha. Returns 0 or -1. */
static int folderstore_hash_file(const char *path, uint64_t size,
                                 uint8_t sha[PROTO_HASH_LEN]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t *buf = malloc(FOLDERSTORE_HASH_IO);
  int rc = md && buf && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -1;
  if (rc == 0 && fileio_hash_prefix(fd, md, buf, FOLDERSTORE_HASH_IO, size))
    rc = -1;
  if (rc == 0 && EVP_DigestFinal_ex(md, sha, NULL) != 1)
    rc = -1;
  EVP_MD_CTX_free(md);
  free(buf);
  close(fd);
  return rc;
}

static int folderstore_name_cmp(const void *a, const void *b) {
  return strcmp(((const folder_file *)a)->name, ((const folder_file *)b)->name);
}

/* Removes partial uploads older than the TTL and anything else in
 * DIR/.parley. */
static size_t folderstore_sweep(const char *tmp) {
  DIR *d = opendir(tmp);
  if (d == NULL)
    return 0;
  size_t n = 0;
  time_t now = time(NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", tmp, e->d_name) >= (int)sizeof p)
      continue;
    struct stat st;
    if (lstat(p, &st) < 0)
      continue;
    bool keep = S_ISREG(st.st_mode) && strncmp(e->d_name, "up-", 3) == 0 &&
                strlen(e->d_name) == 35 &&
                now - st.st_mtime < FOLDERSTORE_PARTIAL_TTL_S;
    if (!keep && unlink(p) == 0)
      n++;
  }
  closedir(d);
  return n;
}

static void folderstore_scan_work(uv_work_t *w) {
  folderstore_scan *sc = w->data;
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/" FOLDERSTORE_TMP, fs.dir);
  for (char *p = tmp + 1; *p; p++) /* mkdir -p DIR/.parley */
    if (*p == '/') {
      *p = '\0';
      (void)mkdir(tmp, 0700);
      *p = '/';
    }
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
    sc->err = errno;
    return;
  }
  sc->stale = folderstore_sweep(tmp);
  DIR *d = opendir(fs.dir);
  if (d == NULL) {
    sc->err = errno;
    return;
  }
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && sc->out.n < FOLDERSTORE_SCAN_MAX) {
    size_t nl = strlen(e->d_name);
    if (folderstore_name_check(e->d_name, nl) < 0)
      continue; /* ".parley", hidden or unsafe names are not listed */
    char p[PATH_MAX];
    struct stat st;
    if (folderstore_path(p, sizeof p, e->d_name) < 0 || stat(p, &st) < 0 ||
        !S_ISREG(st.st_mode))
      continue;
    if (sc->out.n == cap) {
      cap = cap ? cap * 2 : 64;
      folder_file *g = realloc(sc->out.f, cap * sizeof *g);
      if (g == NULL)
        break;
      sc->out.f = g;
    }
    folder_file key, *row;
    memset(&key, 0, sizeof key);
    snprintf(key.name, sizeof key.name, "%s", e->d_name);
    row = sc->rows.n == 0 ? NULL
                          : bsearch(&key, sc->rows.f, sc->rows.n, sizeof key,
                                    folderstore_name_cmp);
    folder_file *f = &sc->out.f[sc->out.n];
    if (row != NULL && row->size == (uint64_t)st.st_size &&
        row->mtime == (uint64_t)st.st_mtime) {
      *f = *row;
      sc->out.n++;
      continue;
    }
    *f = key; /* new, or changed by hand: hash it now */
    snprintf(f->owner, sizeof f->owner, "%s", row ? row->owner : "-");
    f->size = (uint64_t)st.st_size;
    f->mtime = (uint64_t)st.st_mtime;
    if (folderstore_hash_file(p, f->size, f->sha) < 0)
      continue;
    f->busy = true; /* marks "write this row"; cleared on the loop */
    sc->hashed++;
    sc->out.n++;
  }
  closedir(d);
  if (sc->out.n > 0)
    qsort(sc->out.f, sc->out.n, sizeof *sc->out.f, folderstore_name_cmp);
  sc->gone = calloc(sc->rows.n + 1, sizeof *sc->gone);
  for (size_t i = 0; sc->gone != NULL && i < sc->rows.n; i++)
    if (sc->out.n == 0 ||
        bsearch(&sc->rows.f[i], sc->out.f, sc->out.n, sizeof *sc->out.f,
                folderstore_name_cmp) == NULL)
      sc->gone[sc->ngone++] = strdup(sc->rows.f[i].name);
}

static void folderstore_scan_after(uv_work_t *w, int status) {
  folderstore_scan *sc = w->data;
  if (fs.stopped) {
    /* shut down before the scan ended: nothing to apply */
  } else if (status < 0 || sc->err != 0) {
    log_error(NULL, "shared folder %s: %s; the folder stays closed", fs.dir,
              strerror(sc->err ? sc->err : EIO));
  } else {
    free(fs.f);
    fs.f = sc->out.f;
    fs.n = fs.cap = sc->out.n;
    sc->out.f = NULL;
    for (size_t i = 0; i < fs.n; i++)
      if (fs.f[i].busy) {
        fs.f[i].busy = false;
        folderstore_db_put_async(&fs.f[i]);
      }
    for (size_t i = 0; i < sc->ngone; i++)
      if (sc->gone[i] != NULL)
        folderstore_db_del_async(sc->gone[i], NULL);
    fs.ready = true;
    log_info(NULL,
             "shared folder %s: %zu files; %zu hashed, %zu gone, %zu stale "
             "partial uploads removed",
             fs.dir, fs.n, sc->hashed, sc->ngone, sc->stale);
  }
  for (size_t i = 0; i < sc->ngone; i++)
    free(sc->gone[i]);
  free(sc->gone);
  free(sc->rows.f);
  free(sc->out.f);
  free(sc);
}

/* The rows are loaded: scan DIR in the thread pool. */
static void folderstore_loaded(store_job *j) {
  folderstore_scan *sc = j->data;
  j->data = NULL;
  sc->w.data = sc;
  if (uv_queue_work(fs.loop, &sc->w, folderstore_scan_work,
                    folderstore_scan_after) < 0) {
    log_error(NULL, "shared folder: cannot start the scan");
    free(sc->rows.f);
    free(sc);
  }
}

static void folderstore_load_rows(sqlite3 *db, store_job *j) {
  folderstore_scan *sc = j->data;
  store_job tmp = *j;
  tmp.data = &sc->rows;
  folderstore_db_load(db, &tmp);
  j->result = tmp.result;
}

int folderstore_start(uv_loop_t *loop, const char *dir) {
  fs.loop = loop;
  if (dir[0] == '\0')
    return 0;
  if (strlen(dir) >= sizeof fs.dir)
    return -1;
  snprintf(fs.dir, sizeof fs.dir, "%s", dir);
  fs.enabled = true;
  folderstore_scan *sc = calloc(1, sizeof *sc);
  if (sc == NULL)
    return -1;
  store_job *j = store_job_new(STORE_CALL, folderstore_loaded, NULL);
  j->call = folderstore_load_rows;
  j->data = sc;
  store_submit(j);
  return 0;
}

void folderstore_put(const folder_file *f) {
  if (fs.stopped)
    return; /* the next start finds the file and lists it again */
  if (folderstore_insert(f) < 0) {
    log_error(NULL, "shared folder: out of memory for %s", f->name);
    return;
  }
  folderstore_db_put_async(f);
}

/* ---- rename and delete on the disk -------------------------------------- */

typedef struct folderstore_op {
  uv_fs_t req;
  folderstore_done_fn done;
  void *ctx;
  char from[FOLDERSTORE_NAME_MAX + 1];
  char to[FOLDERSTORE_NAME_MAX + 1]; /* "" for a delete */
} folderstore_op;

static void folderstore_op_done(uv_fs_t *req) {
  folderstore_op *op = req->data;
  int r = (int)req->result;
  uv_fs_req_cleanup(req);
  folder_file *f = folderstore_find(op->from, strlen(op->from));
  if (f != NULL)
    f->busy = false;
  int err = 0;
  if (fs.stopped) { /* shutdown: the next start reconciles */
    op->done(op->ctx, -PERR_SHUTTING_DOWN);
    free(op);
    return;
  }
  if (op->to[0] == '\0') { /* delete: gone by hand already is fine too */
    if (r < 0 && r != UV_ENOENT) {
      log_error(NULL, "shared folder: delete %s: %s", op->from, uv_strerror(r));
      err = -PERR_IO;
    } else {
      folderstore_remove(op->from);
      folderstore_db_del_async(op->from, NULL);
    }
  } else if (r < 0) {
    log_error(NULL, "shared folder: rename %s: %s", op->from, uv_strerror(r));
    err = r == UV_ENOENT ? -PERR_NO_SUCH_FILE : -PERR_IO;
  } else if (f != NULL) {
    folder_file moved = *f;
    snprintf(moved.name, sizeof moved.name, "%s", op->to);
    folderstore_remove(op->from);
    folderstore_remove(op->to);
    if (folderstore_insert(&moved) < 0)
      err = -PERR_INTERNAL;
    folderstore_db_del_async(op->from, op->to);
  }
  op->done(op->ctx, err);
  free(op);
}

/* Starts a rename (to != "") or an unlink of from. */
static int folderstore_op_start(const char *from, const char *to,
                                folderstore_done_fn done, void *ctx) {
  folderstore_op *op = calloc(1, sizeof *op);
  char a[PATH_MAX], b[PATH_MAX];
  if (op == NULL || folderstore_path(a, sizeof a, from) < 0 ||
      folderstore_path(b, sizeof b, to) < 0) {
    free(op);
    return -PERR_IO;
  }
  op->done = done;
  op->ctx = ctx;
  op->req.data = op;
  snprintf(op->from, sizeof op->from, "%s", from);
  snprintf(op->to, sizeof op->to, "%s", to);
  int r = to[0] ? uv_fs_rename(fs.loop, &op->req, a, b, folderstore_op_done)
                : uv_fs_unlink(fs.loop, &op->req, a, folderstore_op_done);
  if (r < 0) {
    free(op);
    return -PERR_IO;
  }
  folder_file *f = folderstore_find(from, strlen(from));
  if (f != NULL)
    f->busy = true;
  return 0;
}

int folderstore_rename(const char *from, const char *to,
                       folderstore_done_fn done, void *ctx) {
  return folderstore_op_start(from, to, done, ctx);
}

int folderstore_delete(const char *name, folderstore_done_fn done, void *ctx) {
  return folderstore_op_start(name, "", done, ctx);
}

/* ---- subcommands (no loop: the database directly) ----------------------- */

int folderstore_cmd_list(sqlite3 *db) {
  folderstore_rows rows = {0};
  store_job j = {.op = STORE_CALL, .data = &rows};
  folderstore_db_load(db, &j);
  if (j.result < 0) {
    fprintf(stderr, "parleyd: cannot read the shared folder's table\n");
    return 1;
  }
  if (rows.n == 0)
    printf("the shared folder is empty\n");
  for (size_t i = 0; i < rows.n; i++) {
    char when[32];
    time_t t = (time_t)rows.f[i].mtime;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
    printf("%s\t%" PRIu64 "\t%s\t%s UTC\n", rows.f[i].name, rows.f[i].size,
           rows.f[i].owner, when);
  }
  free(rows.f);
  return 0;
}

int folderstore_cmd_rm(sqlite3 *db, const char *dir, const char *name) {
  if (folderstore_name_check(name, strlen(name)) < 0) {
    fprintf(stderr, "parleyd: %s\n", proto_strerror(PERR_BAD_FILENAME));
    return 2;
  }
  snprintf(fs.dir, sizeof fs.dir, "%s", dir);
  char p[PATH_MAX];
  if (folderstore_path(p, sizeof p, name) < 0)
    return 1;
  bool had = unlink(p) == 0;
  if (!had && errno != ENOENT) {
    fprintf(stderr, "parleyd: cannot delete %s: %s\n", p, strerror(errno));
    return 1;
  }
  store_job j = {.op = STORE_CALL};
  snprintf(j.text2, sizeof j.text2, "%s", name);
  int64_t before = sqlite3_total_changes(db);
  folderstore_db_del(db, &j);
  if (j.result < 0) {
    fprintf(stderr, "parleyd: cannot update the shared folder's table\n");
    return 1;
  }
  if (!had && sqlite3_total_changes(db) == before) {
    fprintf(stderr, "parleyd: no such file in the shared folder: %s\n", name);
    return 1;
  }
  printf("deleted %s\n", name);
  return 0;
}

void folderstore_stop(void) {
  fs.stopped = true;
  free(fs.f);
  fs.f = NULL;
  fs.n = fs.cap = 0;
  fs.ready = false;
}
