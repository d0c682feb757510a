/* client_xfer.h: peer-to-peer file transfers of the client core.
 *
 * The chat connection carries offers, answers, hints and relay tokens;
 * the bytes of each transfer go on a data connection of their own through
 * the stream layer: direct (the sender listens, the receiver connects to
 * its hints) or, when no direct connection completes its handshake within
 * CLIENT_XFER_DIRECT_MS, through parleyd's relay; the first handshake
 * wins. Disk reads and writes and SHA-256 (OpenSSL EVP) run in the thread
 * pool, one job per transfer at a time, so the loop never blocks and
 * memory per transfer is bounded (PROTOCOL.md 7.6). */
#ifndef PARLEY_CLIENT_CLIENT_XFER_H
#define PARLEY_CLIENT_CLIENT_XFER_H

#include "client.h"

#define CLIENT_XFER_MAX 64         /* transfers kept in one session */
#define CLIENT_XFER_DEPTH 16       /* directories of a received relative path */
#define CLIENT_XFER_DIRECT_MS 2000 /* direct attempts before the relay */
#define CLIENT_XFER_EVENT_MS 250   /* progress events at most this often */

/* /send TARGET PATH, /accept [ID] [DIR], /reject [ID], /cancel ID,
 * /transfers. target is a user or "#room"; Returns 0 or a negative
 * PERR_/uv error with err filled. */
int client_xfer_send(client *c, const char *target, const char *path, char *err,
                     size_t errlen);
int client_xfer_accept(client *c, unsigned id, const char *dir, char *err,
                       size_t errlen);
int client_xfer_reject(client *c, unsigned id, char *err, size_t errlen);
int client_xfer_cancel(client *c, unsigned id, char *err, size_t errlen);
void client_xfer_list(client *c);

/* Makes a file name from the network safe to store (one component, no
 * control characters or escapes, no leading dot, at most 200 bytes). */
void client_xfer_sanitize(char *dst, size_t cap, proto_str in);

/* The shared folder: /upload PATH [NAME] (the file's own name when NAME
 * is NULL; overwrite: replace a file of that name) and /download NAME
 * [DIR]. They appear as transfers with peer "server". Return 0 or a
 * negative PERR_/uv error with err filled. */
int client_xfer_upload(client *c, const char *path, const char *name,
                       bool overwrite, char *err, size_t errlen);
int client_xfer_download(client *c, const char *name, const char *dir,
                         char *err, size_t errlen);

/* UPLOAD_READY or DOWNLOAD_START from the server. */
void client_xfer_on_folder(client *c, const proto_msg *m);

/* Makes a received relative path safe to store below the download
 * directory: each component as above, at most CLIENT_XFER_DEPTH
 * directories; an absolute path or one with ".." keeps its last component
 * only. */
void client_xfer_sanitize_path(char *dst, size_t cap, proto_str in);

/* A file frame (0x0701..0x070B) from the server. */
void client_xfer_on_frame(client *c, const proto_msg *m);

/* The server refused a file frame of type ref_type about subject (the
 * peer) with error code: the newest matching transfer fails with text (an
 * upload over an existing name waits while the user is asked, else it is
 * cancelled: nothing failed). */
void client_xfer_on_error(client *c, uint16_t ref_type, int code,
                          proto_str subject, const char *text);

/* The overwrite question about the upload of name (ERROR FILE_EXISTS) is
 * asked: its row waits ("awaiting answer"), the answer decides. False when
 * no upload of that name waits for the server. */
bool client_xfer_folder_ask(client *c, const char *name);

/* The answer: yes sends the same upload again with overwrite, no cancels
 * its row. Returns 0, or UV_ENOENT when no row waits for it. */
int client_xfer_folder_answer(client *c, const char *name, bool yes);

/* Whether an ERROR needs no line: USER_OFFLINE for an offer parley made
 * again on its own (a resume after a restart), which waits quietly for
 * the peer to come back. */
bool client_xfer_error_quiet(client *c, uint16_t ref_type, int code,
                             proto_str subject);

/* Logged in: transfers this process or an earlier one left unfinished
 * (state in $XDG_STATE_HOME/parley/transfers) are offered again. */
void client_xfer_logged_in(client *c);

/* name came online: interrupted sends to it are offered again. */
void client_xfer_peer_online(client *c, const char *name);

/* The chat session ended: transfers waiting on it fail. */
void client_xfer_session_lost(client *c);

/* client_stop: closes every data connection, listener and timer. */
void client_xfer_stop(client *c);

/* Frees what is left once the handles are closed (client_free). */
void client_xfer_free(client *c);

#endif
