/* folderstore.h: the shared folder as state: the files of --files DIR
 * and their metadata (owner, size, time, SHA-256), kept in memory, sorted
 * by name, and in the database's `folder` table (through store jobs).
 *
 * Layout on disk: complete files sit in DIR under their own names (names
 * are checked, never rewritten: see folderstore_name_check); uploads in
 * progress or interrupted sit in DIR/.parley/ as "up-<key>", keyed by
 * (owner, name, size) so that the same upload can resume there. An upload
 * becomes visible only by rename(2) of its partial file into DIR. At
 * start-up (folderstore_start, off the loop) stale partial files are
 * removed and DIR is reconciled with the table: rows whose file is gone
 * vanish; files copied in by hand are hashed and listed with owner "-".
 * Nothing here sends anything: the handlers (folder.c, folderxfer.c) do. */
#ifndef PARLEY_FOLDERSTORE_H
#define PARLEY_FOLDERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto.h"

#define FOLDERSTORE_TMP ".parley"        /* partial uploads, under DIR */
#define FOLDERSTORE_PARTIAL_TTL_S 86400  /* an interrupted upload waits */
#define FOLDERSTORE_NAME_MAX 200         /* bytes of a stored name */
#define FOLDERSTORE_SCAN_MAX 100000      /* files reconciled at start-up */
#define FOLDERSTORE_HASH_IO (256 * 1024) /* bytes per read when hashing */

typedef struct folder_file {
  char name[FOLDERSTORE_NAME_MAX + 1];
  char owner[PROTO_MAX_NAME + 1]; /* uploader; "-" when copied in by hand */
  uint64_t size;                  /* bytes */
  uint64_t mtime;                 /* unix seconds, when it was stored */
  uint8_t sha[PROTO_HASH_LEN];
  bool busy; /* a rename or delete of it is on the disk right now */
} folder_file;

/* Called on the loop when a disk change ends: 0 or a negative PERR_. */
typedef void (*folderstore_done_fn)(void *ctx, int err);

/* Opens the folder at dir ("" = no folder): creates it, then reconciles
 * it with the database off the loop. Returns 0 or -1 (dir too long). */
int folderstore_start(uv_loop_t *loop, const char *dir);

/* True once start-up reconciliation finished (requests wait until then). */
bool folderstore_ready(void);

/* True when the server has a folder at all (--files not ""). */
bool folderstore_enabled(void);

/* The files, sorted by name; i < folderstore_count(). */
size_t folderstore_count(void);
const folder_file *folderstore_at(size_t i);

/* The file called name (n bytes), or NULL. */
folder_file *folderstore_find(const char *name, size_t n);

/* Bytes stored in all, and by owner (any case). */
uint64_t folderstore_total(void);
uint64_t folderstore_user_total(const char *owner);

/* 0 when p (n bytes) is a name the folder stores as it is: 1 to
 * FOLDERSTORE_NAME_MAX bytes of UTF-8, no '/', '\\', C0/DEL/C1 controls,
 * not starting with '.', ' ' or '-'. Else -PERR_BAD_FILENAME. */
int folderstore_name_check(const char *p, size_t n);

/* name as an ERROR's text shows it: at most 64 bytes, cut at a character
 * ("..." added), so that the text fits PROTO_MAX_ERRTEXT. Static buffers,
 * two in turn. */
const char *folderstore_shown(const char *name);

/* DIR/name, and the partial upload DIR/.parley/up-<key> of (owner, name,
 * size). Return 0 or -1 when the path does not fit cap. */
int folderstore_path(char *dst, size_t cap, const char *name);
int folderstore_partial(char *dst, size_t cap, const char *owner,
                        const char *name, uint64_t size);

/* A complete upload was renamed into place: records f (replacing a file
 * of the same name) in memory now and in the database. */
void folderstore_put(const folder_file *f);

/* Renames from to to (replacing to) / deletes name, on the disk through
 * uv_fs_*, then in memory and the database; done(ctx, err) follows. The
 * caller checked names, permission and existence. Return 0 or -PERR_IO
 * when the request cannot even start (done is then not called). */
int folderstore_rename(const char *from, const char *to,
                       folderstore_done_fn done, void *ctx);
int folderstore_delete(const char *name, folderstore_done_fn done, void *ctx);

/* `parleyd files list|rm NAME`: on a database opened by the subcommand,
 * prints the rows / deletes the row and DIR/NAME. Return the exit status. */
struct sqlite3;
int folderstore_cmd_list(struct sqlite3 *db);
int folderstore_cmd_rm(struct sqlite3 *db, const char *dir, const char *name);

/* Frees the table (shutdown). */
void folderstore_stop(void);

#endif
