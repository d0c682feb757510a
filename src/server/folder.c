/* folder.c: the shared folder's requests (folder.h). */
#include "folder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "fileio.h"
#include "folderstore.h"
#include "folderxfer.h"
#include "server.h"
#include "user.h"

/* "12.0 MiB" for the limits' messages; returns dst. */
static const char *folder_size(char *dst, size_t cap, uint64_t n) {
  fileio_size_text(dst, cap, n);
  return dst;
}

/* Copies a name field and checks it. Returns 0 or -PERR_BAD_FILENAME
 * (with the ERROR already sent about ref_type). */
static int folder_name(conn *c, uint16_t ref_type, proto_str in, char *dst,
                       size_t cap) {
  if (in.n >= cap || folderstore_name_check(in.p, in.n) < 0) {
    char shown[64];
    size_t k = 0;
    for (size_t i = 0; i < in.n && k + 4 < sizeof shown; i++) /* no escapes */
      shown[k++] =
          (unsigned char)in.p[i] < 0x20 || in.p[i] == 0x7f ? '?' : in.p[i];
    shown[k] = '\0';
    conn_error(c, PERR_BAD_FILENAME, ref_type, "",
               "bad file name '%s%s': 1-%d bytes, no '/', '\\', control "
               "characters, not starting with '.', ' ' or '-'",
               shown, k < in.n ? "..." : "", FOLDERSTORE_NAME_MAX);
    return -PERR_BAD_FILENAME;
  }
  memcpy(dst, in.p, in.n);
  dst[in.n] = '\0';
  return 0;
}

/* The owner of f, or an operator. Else ERROR NOT_OWNER. */
static bool folder_may_change(conn *c, uint16_t ref_type,
                              const folder_file *f) {
  if (c->user->role == PROTO_ROLE_ADMIN ||
      strcasecmp(f->owner, c->user->name) == 0)
    return true;
  conn_error(c, PERR_NOT_OWNER, ref_type, f->name,
             "%s belongs to %s: only its owner or an operator can replace, "
             "rename or delete it",
             folderstore_shown(f->name), f->owner);
  return false;
}

/* The FOLDER_ENTRY of f, also sent before ERROR FILE_EXISTS so that the
 * client can show what it would replace. */
static void folder_entry(conn *c, const folder_file *f) {
  proto_msg m = {.type = PROTO_FOLDER_ENTRY};
  m.u.folder_entry.name = proto_str_c(f->name);
  m.u.folder_entry.size = f->size;
  m.u.folder_entry.mtime = f->mtime;
  m.u.folder_entry.owner = proto_str_c(f->owner);
  m.u.folder_entry.sha256 = (proto_blob){f->sha, PROTO_HASH_LEN};
  conn_send_msg(c, &m);
}

static void folder_exists(conn *c, uint16_t ref_type, const folder_file *f) {
  folder_entry(c, f);
  char sz[32];
  conn_error(c, PERR_FILE_EXISTS, ref_type, f->name,
             "%s exists on the server (%s, %s); send again with overwrite to "
             "replace it",
             folderstore_shown(f->name), folder_size(sz, sizeof sz, f->size),
             f->owner);
}

static void folder_list(conn *c) {
  uint32_t n = 0;
  for (size_t i = 0; i < folderstore_count() && n < FOLDER_LIST_MAX; i++, n++)
    folder_entry(c, folderstore_at(i));
  proto_msg m = {.type = PROTO_FOLDER_END};
  m.u.folder_end.count = n;
  conn_send_msg(c, &m);
}

/* The quotas an upload of size bytes (replacing old, may be NULL) must
 * fit. Returns true, or sends ERROR FILE_TOO_BIG / QUOTA naming the limit
 * and the numbers. */
static bool folder_fits(conn *c, const char *name, uint64_t size,
                        const folder_file *old) {
  const config *cfg = srv.cfg;
  char a[32], b[32], d[32];
  if (size > cfg->max_file_size) {
    conn_error(c, PERR_FILE_TOO_BIG, PROTO_UPLOAD_REQ, name,
               "%s is %s; the server takes files up to %s",
               folderstore_shown(name), folder_size(a, sizeof a, size),
               folder_size(b, sizeof b, cfg->max_file_size));
    return false;
  }
  uint32_t new_files = 0;
  uint64_t freed = old != NULL ? old->size : 0;
  uint64_t total = folderstore_total() + folderxfer_reserved(NULL, &new_files);
  if (cfg->folder_quota != 0 && total - freed + size > cfg->folder_quota) {
    conn_error(c, PERR_QUOTA, PROTO_UPLOAD_REQ, name,
               "the shared folder's quota is full: it holds %s of %s and %s "
               "is %s",
               folder_size(a, sizeof a, total),
               folder_size(b, sizeof b, cfg->folder_quota),
               folderstore_shown(name), folder_size(d, sizeof d, size));
    return false;
  }
  const char *me = c->user->name;
  uint64_t mine = folderstore_user_total(me) + folderxfer_reserved(me, NULL);
  if (old != NULL && strcasecmp(old->owner, me) != 0)
    freed = 0; /* an operator replacing someone's file: it was not theirs */
  if (cfg->folder_user_quota != 0 &&
      mine - freed + size > cfg->folder_user_quota) {
    conn_error(c, PERR_QUOTA, PROTO_UPLOAD_REQ, name,
               "your quota in the shared folder is full: you keep %s of %s "
               "and %s is %s",
               folder_size(a, sizeof a, mine),
               folder_size(b, sizeof b, cfg->folder_user_quota),
               folderstore_shown(name), folder_size(d, sizeof d, size));
    return false;
  }
  size_t files = folderstore_count() + new_files;
  if (old == NULL && files >= cfg->folder_max_files) {
    conn_error(c, PERR_QUOTA, PROTO_UPLOAD_REQ, name,
               "the shared folder holds %zu files, its limit is %u", files,
               cfg->folder_max_files);
    return false;
  }
  return true;
}

/* True when c's user may start one more folder transfer; else ERROR
 * TRANSFER_LIMIT about ref_type and name. */
static bool folder_has_slot(conn *c, uint16_t ref_type, const char *name) {
  if (folderxfer_count(c->user->name) < srv.cfg->max_transfers)
    return true;
  conn_error(c, PERR_TRANSFER_LIMIT, ref_type, name,
             "you have %u folder transfers running, the server's limit",
             srv.cfg->max_transfers);
  return false;
}

static void folder_upload(conn *c, const proto_upload_req *r) {
  char name[FOLDERSTORE_NAME_MAX + 1];
  if (folder_name(c, PROTO_UPLOAD_REQ, r->name, name, sizeof name) < 0)
    return;
  folder_file *old = folderstore_find(name, strlen(name));
  if (folderxfer_uploading(name, c->user->name)) {
    conn_error(c, PERR_FILE_EXISTS, PROTO_UPLOAD_REQ, name,
               "%s is being uploaded right now; try again when that is done",
               folderstore_shown(name));
    return;
  }
  bool overwrite = (r->flags & PROTO_UPF_OVERWRITE) != 0;
  if (old != NULL && !overwrite) {
    folder_exists(c, PROTO_UPLOAD_REQ, old);
    return;
  }
  if (old != NULL && !folder_may_change(c, PROTO_UPLOAD_REQ, old))
    return;
  if (old != NULL && old->busy) {
    conn_error(c, PERR_IO, PROTO_UPLOAD_REQ, name,
               "%s is being renamed or deleted; try again",
               folderstore_shown(name));
    return;
  }
  if (!folder_has_slot(c, PROTO_UPLOAD_REQ, name))
    return;
  if (!folder_fits(c, name, r->size, old))
    return;
  int e = folderxfer_upload(c->user->name, r->xfer_id, name, r->size, overwrite,
                            (r->flags & PROTO_UPF_RESUME) != 0);
  if (e < 0)
    conn_error(c, -e, PROTO_UPLOAD_REQ, name, NULL);
}

static void folder_download(conn *c, const proto_download_req *r) {
  char name[FOLDERSTORE_NAME_MAX + 1];
  if (folder_name(c, PROTO_DOWNLOAD_REQ, r->name, name, sizeof name) < 0)
    return;
  folder_file *f = folderstore_find(name, strlen(name));
  if (f == NULL) {
    conn_error(c, PERR_NO_SUCH_FILE, PROTO_DOWNLOAD_REQ, name,
               "no file called %s in the shared folder (/files lists them)",
               folderstore_shown(name));
    return;
  }
  if (r->offset > f->size) {
    conn_error(c, PERR_UNEXPECTED, PROTO_DOWNLOAD_REQ, name,
               "offset %" PRIu64 " is beyond the end of %s", r->offset,
               folderstore_shown(name));
    return;
  }
  if (!folder_has_slot(c, PROTO_DOWNLOAD_REQ, name))
    return;
  int e = folderxfer_download(c->user->name, r->xfer_id, name, f->size, f->sha,
                              r->offset);
  if (e < 0)
    conn_error(c, -e, PROTO_DOWNLOAD_REQ, name, NULL);
}

/* A rename or delete finished on the disk: tell whoever asked. */
typedef struct folder_ask {
  char user[PROTO_MAX_NAME + 1];
  uint16_t op;
  char name[FOLDERSTORE_NAME_MAX + 1]; /* the result's name */
} folder_ask;

static void folder_changed(void *ctx, int err) {
  folder_ask *a = ctx;
  user *u = user_find(a->user, strlen(a->user));
  if (u != NULL && u->conn != NULL) {
    if (err < 0) {
      conn_error(u->conn, -err, a->op, a->name, NULL);
    } else {
      proto_msg m = {.type = PROTO_FOLDER_OK};
      m.u.folder_ok.op = a->op;
      m.u.folder_ok.name = proto_str_c(a->name);
      conn_send_msg(u->conn, &m);
    }
  }
  free(a);
}

static folder_ask *folder_ask_new(conn *c, uint16_t op, const char *name) {
  folder_ask *a = calloc(1, sizeof *a);
  if (a == NULL) {
    conn_error(c, PERR_INTERNAL, op, name, "out of memory");
    return NULL;
  }
  snprintf(a->user, sizeof a->user, "%s", c->user->name);
  a->op = op;
  snprintf(a->name, sizeof a->name, "%s", name);
  return a;
}

/* The checks rename and delete share for the file called name. Returns
 * the file or NULL (ERROR sent). */
static folder_file *folder_changeable(conn *c, uint16_t op, const char *name) {
  folder_file *f = folderstore_find(name, strlen(name));
  if (f == NULL) {
    conn_error(c, PERR_NO_SUCH_FILE, op, name,
               "no file called %s in the shared folder",
               folderstore_shown(name));
    return NULL;
  }
  if (!folder_may_change(c, op, f))
    return NULL;
  if (f->busy || folderxfer_uploading(name, NULL)) {
    conn_error(c, PERR_IO, op, name,
               "%s is being changed or uploaded right now; try again",
               folderstore_shown(name));
    return NULL;
  }
  return f;
}

static void folder_rename(conn *c, const proto_rename *r) {
  char from[FOLDERSTORE_NAME_MAX + 1], to[FOLDERSTORE_NAME_MAX + 1];
  if (folder_name(c, PROTO_RENAME_REQ, r->from, from, sizeof from) < 0 ||
      folder_name(c, PROTO_RENAME_REQ, r->to, to, sizeof to) < 0)
    return;
  if (folder_changeable(c, PROTO_RENAME_REQ, from) == NULL)
    return;
  if (strcmp(from, to) == 0) {
    proto_msg m = {.type = PROTO_FOLDER_OK};
    m.u.folder_ok.op = PROTO_RENAME_REQ;
    m.u.folder_ok.name = proto_str_c(to);
    conn_send_msg(c, &m);
    return;
  }
  folder_file *old = folderstore_find(to, strlen(to));
  if (old != NULL && !(r->flags & PROTO_UPF_OVERWRITE)) {
    folder_exists(c, PROTO_RENAME_REQ, old);
    return;
  }
  if (old != NULL && folder_changeable(c, PROTO_RENAME_REQ, to) == NULL)
    return;
  if (old == NULL && folderxfer_uploading(to, NULL)) {
    conn_error(c, PERR_FILE_EXISTS, PROTO_RENAME_REQ, to,
               "%s is being uploaded right now; pick another name",
               folderstore_shown(to));
    return;
  }
  folder_ask *a = folder_ask_new(c, PROTO_RENAME_REQ, to);
  if (a == NULL)
    return;
  int e = folderstore_rename(from, to, folder_changed, a);
  if (e < 0) {
    conn_error(c, -e, PROTO_RENAME_REQ, from, NULL);
    free(a);
  }
}

static void folder_delete(conn *c, const proto_file_ref *r) {
  char name[FOLDERSTORE_NAME_MAX + 1];
  if (folder_name(c, PROTO_DELETE_REQ, r->name, name, sizeof name) < 0 ||
      folder_changeable(c, PROTO_DELETE_REQ, name) == NULL)
    return;
  folder_ask *a = folder_ask_new(c, PROTO_DELETE_REQ, name);
  if (a == NULL)
    return;
  int e = folderstore_delete(name, folder_changed, a);
  if (e < 0) {
    conn_error(c, -e, PROTO_DELETE_REQ, name, NULL);
    free(a);
  }
}

void folder_on_frame(conn *c, const proto_msg *m) {
  if (!folderstore_enabled()) {
    conn_error(c, PERR_NO_FOLDER, m->type, "", NULL);
    return;
  }
  if (!folderstore_ready()) {
    conn_error(c, PERR_SERVER_BUSY, m->type, "",
               "the shared folder is being checked; try again in a moment");
    return;
  }
  if (srv.cfg->max_file_size == 0 && m->type != PROTO_FOLDER_LIST_REQ) {
    conn_error(c, PERR_FILE_TOO_BIG, m->type, "",
               "this server takes no files (its file size limit is 0)");
    return;
  }
  switch (m->type) {
  case PROTO_FOLDER_LIST_REQ:
    folder_list(c);
    break;
  case PROTO_UPLOAD_REQ:
    folder_upload(c, &m->u.upload_req);
    break;
  case PROTO_DOWNLOAD_REQ:
    folder_download(c, &m->u.download_req);
    break;
  case PROTO_RENAME_REQ:
    folder_rename(c, &m->u.rename_req);
    break;
  case PROTO_DELETE_REQ:
    folder_delete(c, &m->u.delete_req);
    break;
  default:
    conn_error(c, PERR_UNEXPECTED, m->type, "",
               "%s is not something a client sends", proto_type_name(m->type));
  }
}
