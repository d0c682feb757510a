/* folderxfer.h: uploads to and downloads from the shared folder, each on
 * a data connection of its own (PROTOCOL.md 7.7).
 *
 * An accepted request gets a slot with a single-use random token, handed
 * to the client in UPLOAD_READY / DOWNLOAD_START; the client opens a new
 * connection to parleyd's normal port whose first frame is FILE_CONNECT
 * with that token, and the slot takes the connection's stream over (as
 * the relay does). Then the frames of a peer transfer flow: the server is
 * the receiver of an upload and the sender of a download.
 *
 * Upload: bytes go to the partial file DIR/.parley/up-<key> through the
 * thread pool (write and SHA-256 together, one job at a time; reading
 * stops while FOLDERXFER_RECV_MAX bytes wait for the disk). After the
 * client's FILE_DONE the hash is compared off the loop and the file is
 * renamed into place, only then is it listed. An interrupted upload keeps
 * its partial file for a resume. A full disk (or a file size limit) fails
 * the upload cleanly: the partial file goes, the user hears why.
 *
 * Download: the file is opened when it is asked for (so a file replaced
 * or deleted meanwhile keeps serving this reader to its end) and read with
 * uv_fs_read, FOLDERXFER_CHUNK at a time, only while the connection's
 * queue is below FOLDERXFER_HIGH: a slow reader costs a bounded buffer. */
#ifndef PARLEY_FOLDERXFER_H
#define PARLEY_FOLDERXFER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

struct conn;

#define FOLDERXFER_SLOTS 256          /* uploads and downloads at once */
#define FOLDERXFER_TOKEN_TTL_MS 60000 /* a token waits this long */
#define FOLDERXFER_IO (256 * 1024)    /* bytes per disk write job */
#define FOLDERXFER_RECV_MAX (2 * FOLDERXFER_IO) /* stop reading above */
#define FOLDERXFER_CHUNK (64 * 1024) /* bytes per disk read (download) */
#define FOLDERXFER_HIGH (256 * 1024) /* download: queue watermark */

/* Starts an upload of name (checked) by user: finds what a partial file
 * holds (resume) and answers UPLOAD_READY on user's chat connection.
 * Returns 0 or a negative PERR_ (TRANSFER_LIMIT: no slot). */
int folderxfer_upload(const char *user, uint64_t xfer_id, const char *name,
                      uint64_t size, bool overwrite, bool resume);

/* Starts a download of name (listed) for user from offset: opens the file
 * and answers DOWNLOAD_START (or ERROR NO_SUCH_FILE). Returns 0 or a
 * negative PERR_. */
int folderxfer_download(const char *user, uint64_t xfer_id, const char *name,
                        uint64_t size, const uint8_t sha[PROTO_HASH_LEN],
                        uint64_t offset);

/* A connection's first frame was FILE_CONNECT: returns true when its token
 * belongs to an upload or download (the slot then owns the connection),
 * false when it is none of ours (the relay's then). */
bool folderxfer_on_connect(struct conn *c, const proto_file_connect *fc);

/* True while an upload of name is running or waiting for its connection.
 * With who set, who's own uploads of name still waiting for their
 * connection are dropped first (a client that asks again, after it was
 * killed or cut off, must not wait for its old token to expire). */
bool folderxfer_uploading(const char *name, const char *who);

/* Open uploads and downloads of user (any case), and the bytes reserved by
 * uploads in progress: of user, or of everyone (user NULL). new_files
 * (may be NULL) gets the number of uploads of names not yet listed. */
uint32_t folderxfer_count(const char *user);
uint64_t folderxfer_reserved(const char *user, uint32_t *new_files);

/* 1 s housekeeping: tokens nobody used expire. */
void folderxfer_tick(uint64_t now_ms);

#endif
