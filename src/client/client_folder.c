/* client_folder.c: the shared folder on the server, the client's side of
 * PROTOCOL.md 6.9: /files (listing, filtered here), /rename, /delete, the
 * answers, and the overwrite question. The uploads and downloads
 * themselves are transfers (client_xfer.c, peer "server").
 *
 * The question: when the server answers an upload or a rename with ERROR
 * FILE_EXISTS (after a FOLDER_ENTRY describing the file), the core keeps
 * what was asked and fires CLIENT_EV_ASK with "NAME exists on the server
 * (SIZE, OWNER, AGE ago). Overwrite? [y/N]" instead of an error line; the
 * upload's row waits ("awaiting answer") and client_folder_answer decides:
 * yes sends it again with overwrite, no cancels the row. Batch mode shows
 * the ERROR event, cancels the row and leaves the answer to the script
 * (/upload --overwrite). */
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "client_xfer.h"
#include "fileio.h"

#define CFO_UPLOADS 8 /* recent uploads remembered for the question */

enum cfo_ask { CFO_ASK_NONE, CFO_ASK_UPLOAD, CFO_ASK_RENAME };

typedef struct client_folder_state {
  client_folder_entry *e; /* the listing being collected */
  size_t n, cap;
  bool listing; /* FOLDER_LIST_REQ sent, FOLDER_END not yet here */
  char pattern[256];
  client_folder_entry last; /* FOLDER_ENTRY outside a listing */
  struct {
    char name[PROTO_MAX_FILENAME + 1];
    char path[PATH_MAX];
  } up[CFO_UPLOADS]; /* recent /upload commands, a ring */
  unsigned nup;
  char ren_from[PROTO_MAX_FILENAME + 1], ren_to[PROTO_MAX_FILENAME + 1];
  int ask;                            /* enum cfo_ask */
  char ask_a[PATH_MAX];               /* upload: path; rename: from */
  char ask_b[PROTO_MAX_FILENAME + 1]; /* upload: name; rename: to */
} client_folder_state;

static client_folder_state *cfo_get(client *c) {
  if (c->fo == NULL)
    c->fo = calloc(1, sizeof(client_folder_state));
  return c->fo;
}

void client_folder_free(client *c) {
  if (c->fo != NULL)
    free(c->fo->e);
  free(c->fo);
  c->fo = NULL;
}

int client_folder_list(client *c, const char *pattern) {
  client_folder_state *f = cfo_get(c);
  if (f == NULL)
    return UV_ENOMEM;
  snprintf(f->pattern, sizeof f->pattern, "%s", pattern ? pattern : "");
  proto_msg m = {.type = PROTO_FOLDER_LIST_REQ};
  int r = client_send(c, &m);
  if (r == 0) {
    f->listing = true;
    f->n = 0;
  }
  return r;
}

int client_folder_upload(client *c, const char *path, const char *name,
                         bool overwrite, char *err, size_t errlen) {
  client_folder_state *f = cfo_get(c);
  int r = client_xfer_upload(c, path, name, overwrite, err, errlen);
  if (r == 0 && f != NULL) {
    if (name == NULL || *name == '\0') {
      const char *slash = strrchr(path, '/');
      name = slash != NULL ? slash + 1 : path;
    }
    unsigned k = f->nup++ % CFO_UPLOADS;
    snprintf(f->up[k].name, sizeof f->up[k].name, "%s", name);
    snprintf(f->up[k].path, sizeof f->up[k].path, "%s", path);
  }
  return r;
}

int client_folder_rename(client *c, const char *from, const char *to,
                         bool overwrite) {
  client_folder_state *f = cfo_get(c);
  if (f == NULL)
    return UV_ENOMEM;
  snprintf(f->ren_from, sizeof f->ren_from, "%s", from);
  snprintf(f->ren_to, sizeof f->ren_to, "%s", to);
  proto_msg m = {.type = PROTO_RENAME_REQ};
  m.u.rename_req.from = proto_str_c(from);
  m.u.rename_req.to = proto_str_c(to);
  m.u.rename_req.flags = overwrite ? PROTO_UPF_OVERWRITE : 0;
  return client_send(c, &m);
}

int client_folder_delete(client *c, const char *name) {
  proto_msg m = {.type = PROTO_DELETE_REQ};
  m.u.delete_req.name = proto_str_c(name);
  return client_send(c, &m);
}

/* "3 min", "2 h", "5 d": how long ago t (unix seconds) was. */
static void cfo_age(char *dst, size_t cap, uint64_t t) {
  uint64_t now = (uint64_t)time(NULL);
  uint64_t s = now > t ? now - t : 0;
  if (s < 60)
    snprintf(dst, cap, "%" PRIu64 " s", s);
  else if (s < 3600)
    snprintf(dst, cap, "%" PRIu64 " min", s / 60);
  else if (s < 86400)
    snprintf(dst, cap, "%" PRIu64 " h", s / 3600);
  else
    snprintf(dst, cap, "%" PRIu64 " d", s / 86400);
}

static void cfo_entry(client_folder_entry *e, const proto_folder_entry *m) {
  proto_str_copy(e->name, sizeof e->name, m->name);
  proto_str_copy(e->owner, sizeof e->owner, m->owner);
  e->size = m->size;
  e->mtime = m->mtime;
  for (size_t i = 0; i < PROTO_HASH_LEN && i < m->sha256.n; i++)
    snprintf(e->sha256 + 2 * i, 3, "%02x", m->sha256.p[i]);
}

/* True when name passes the /files filter: a shell pattern, or a plain
 * word matched anywhere in the name. */
static bool cfo_matches(const char *pattern, const char *name) {
  if (pattern[0] == '\0')
    return true;
  if (strpbrk(pattern, "*?[") != NULL)
    return fnmatch(pattern, name, 0) == 0;
  return strstr(name, pattern) != NULL;
}

/* Characters in a UTF-8 string (its columns for most names). */
static int cfo_chars(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

#define CFO_NAME_COLS 40 /* longer names push their row's columns right */

/* The listing as a table: name, size, owner, time, in aligned columns. */
static void cfo_list_end(client *c, client_folder_state *f) {
  f->listing = false;
  client_info(c, NULL, CLIENT_LINE_INFO, "%zu file%s in the shared folder%s%s",
              f->n, f->n == 1 ? "" : "s", f->pattern[0] ? " matching " : "",
              f->pattern);
  int namew = 0, ownerw = 0;
  for (size_t i = 0; i < f->n; i++) {
    int w = cfo_chars(f->e[i].name), o = cfo_chars(f->e[i].owner);
    namew = w > namew ? (w > CFO_NAME_COLS ? CFO_NAME_COLS : w) : namew;
    ownerw = o > ownerw ? o : ownerw;
  }
  for (size_t i = 0; i < f->n; i++) {
    const client_folder_entry *e = &f->e[i];
    char sz[32], when[32];
    fileio_size_text(sz, sizeof sz, e->size);
    time_t t = (time_t)e->mtime;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    int npad = namew - cfo_chars(e->name), opad = ownerw - cfo_chars(e->owner);
    client_info(c, NULL, CLIENT_LINE_INFO, "  %s%*s  %9s  %s%*s  %s", e->name,
                npad > 0 ? npad : 0, "", sz, e->owner, opad > 0 ? opad : 0, "",
                when);
  }
  client_event ev = {.type = CLIENT_EV_FILES, .files = f->e, .n = f->n};
  client_emit(c, &ev);
  f->n = 0;
}

void client_folder_on_frame(client *c, const proto_msg *m) {
  client_folder_state *f = cfo_get(c);
  if (f == NULL)
    return;
  switch (m->type) {
  case PROTO_FOLDER_ENTRY:
    if (!f->listing) { /* about to be asked about: keep it */
      cfo_entry(&f->last, &m->u.folder_entry);
      return;
    }
    if (f->n >= CLIENT_MAX_LIST)
      return;
    if (f->n == f->cap) {
      size_t cap = f->cap ? f->cap * 2 : 16;
      client_folder_entry *n = realloc(f->e, cap * sizeof *n);
      if (n == NULL)
        return;
      f->e = n;
      f->cap = cap;
    }
    cfo_entry(&f->e[f->n], &m->u.folder_entry);
    if (cfo_matches(f->pattern, f->e[f->n].name))
      f->n++;
    return;
  case PROTO_FOLDER_END:
    if (f->listing)
      cfo_list_end(c, f);
    return;
  case PROTO_FOLDER_OK: {
    char name[PROTO_MAX_FILENAME + 1];
    proto_str_copy(name, sizeof name, m->u.folder_ok.name);
    const char *op = m->u.folder_ok.op == PROTO_UPLOAD_REQ   ? "upload"
                     : m->u.folder_ok.op == PROTO_RENAME_REQ ? "rename"
                                                             : "delete";
    client_info(c, NULL, CLIENT_LINE_INFO, "%s: %s done on the server", name,
                op);
    client_event ev = {.type = CLIENT_EV_FOLDER_OK, .name = name, .text = op};
    client_emit(c, &ev);
    return;
  }
  case PROTO_UPLOAD_READY:
  case PROTO_DOWNLOAD_START:
    client_xfer_on_folder(c, m);
    return;
  default:
    return;
  }
}

/* FILE_EXISTS about an upload or rename we made: asks the user (the TUI
 * answers; batch scripts read the ERROR event and use --overwrite).
 * Returns true when it asked: the question is the only line about it. */
bool client_folder_on_error(client *c, const proto_error_msg *e) {
  client_folder_state *f = cfo_get(c);
  if (f == NULL || e->code != PERR_FILE_EXISTS ||
      c->opts.mode != CLIENT_MODE_TUI ||
      (e->ref_type != PROTO_UPLOAD_REQ && e->ref_type != PROTO_RENAME_REQ))
    return false;
  char name[PROTO_MAX_FILENAME + 1];
  proto_str_copy(name, sizeof name, e->subject);
  int ask = CFO_ASK_NONE;
  const char *about = NULL;
  if (e->ref_type == PROTO_UPLOAD_REQ) {
    for (unsigned i = 0; i < CFO_UPLOADS; i++)
      if (strcmp(f->up[i].name, name) == 0) {
        ask = CFO_ASK_UPLOAD;
        about = f->up[i].path;
      }
  } else if (strcmp(f->ren_to, name) == 0) {
    ask = CFO_ASK_RENAME;
    about = f->ren_from;
  }
  if (ask == CFO_ASK_NONE)
    return false;               /* not a question: one still open stays open */
  if (f->ask == CFO_ASK_UPLOAD) /* a new question replaces it: that is a no */
    (void)client_xfer_folder_answer(c, f->ask_b, false);
  f->ask = ask;
  snprintf(f->ask_a, sizeof f->ask_a, "%s", about);
  snprintf(f->ask_b, sizeof f->ask_b, "%s", name);
  if (f->ask == CFO_ASK_UPLOAD)
    (void)client_xfer_folder_ask(c, name); /* its row waits for the answer */
  char q[PROTO_MAX_FILENAME + CLIENT_NAME_SZ + 200];
  if (strcmp(f->last.name, name) == 0) {
    char sz[32], age[32];
    fileio_size_text(sz, sizeof sz, f->last.size);
    cfo_age(age, sizeof age, f->last.mtime);
    snprintf(q, sizeof q,
             "%s exists on the server (%s, %s, %s ago). Overwrite? [y/N]", name,
             sz, f->last.owner, age);
  } else {
    snprintf(q, sizeof q, "%s exists on the server. Overwrite? [y/N]", name);
  }
  client_event ev = {.type = CLIENT_EV_ASK, .text = q, .name = name};
  client_emit(c, &ev);
  return true;
}

int client_folder_answer(client *c, bool yes) {
  client_folder_state *f = c->fo;
  if (f == NULL || f->ask == CFO_ASK_NONE)
    return CLIENT_EUSAGE;
  int ask = f->ask;
  f->ask = CFO_ASK_NONE;
  if (!yes) {
    if (ask == CFO_ASK_UPLOAD)
      (void)client_xfer_folder_answer(c, f->ask_b, false);
    client_info(c, NULL, CLIENT_LINE_INFO, "%s: left as it is", f->ask_b);
    return 0;
  }
  char err[256];
  if (ask == CFO_ASK_RENAME)
    return client_folder_rename(c, f->ask_a, f->ask_b, true);
  if (client_xfer_folder_answer(c, f->ask_b, true) == 0)
    return 0; /* the row that asked goes on */
  char path[PATH_MAX], name[PROTO_MAX_FILENAME + 1];
  snprintf(path, sizeof path, "%s", f->ask_a);
  snprintf(name, sizeof name, "%s", f->ask_b);
  int r = client_folder_upload(c, path, name, true, err, sizeof err);
  if (r < 0)
    client_fail(c, "%s", err);
  return r;
}
