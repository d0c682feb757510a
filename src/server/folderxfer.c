/* folderxfer.c: the shared folder's data connections (folderxfer.h). */
#include "folderxfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conn.h"
#include "fileio.h"
#include "folderstore.h"
#include "log.h"
#include "server.h"
#include "stream.h"
#include "user.h"

enum fx_job { FX_JOB_OPEN, FX_JOB_WRITE, FX_JOB_FINISH };

typedef struct fx {
  bool upload;
  bool ended;     /* finished, failed or cancelled: no more frames */
  bool shaken;    /* FILE_CONNECT exchanged */
  bool acked;     /* download: the client's first FILE_ACK came */
  bool done_recv; /* upload: the client's FILE_DONE came */
  bool done_sent; /* download: our FILE_DONE is queued */
  bool overwrite;
  bool finished; /* upload: stored and listed */
  uint8_t token[PROTO_TOKEN_LEN];
  uint64_t xfer_id;
  char user[PROTO_MAX_NAME + 1];
  char name[FOLDERSTORE_NAME_MAX + 1];
  char part[PATH_MAX];  /* upload: the partial file */
  char final[PATH_MAX]; /* upload: DIR/name */
  uint64_t size;
  uint64_t offset;             /* upload: where UPLOAD_READY said to start */
  uint8_t sha[PROTO_HASH_LEN]; /* download: stored; upload: ours */
  uint8_t peer_sha[PROTO_HASH_LEN]; /* upload: the client's */
  uint64_t expires_ms;              /* until the data connection comes */
  uint64_t start_ms;
  uint64_t mtime; /* upload: of the stored file */
  int fd;         /* -1 when closed */
  conn *c;        /* the data connection, once it came */
  outq out;       /* frames for it (never the conn's own queue) */
  framer in;
  /* upload: disk and hash, one job at a time */
  uv_work_t work;
  int job;
  bool busy;
  EVP_MD_CTX *md;
  uint8_t *buf, *acc;
  size_t buf_n, acc_n;
  uint64_t pos; /* upload: bytes on disk; download: bytes read */
  int io_err;
  /* download */
  uv_fs_t fsreq; /* open, read, stat */
  bool fs_busy;
  uint8_t *rbuf;
} fx;

static fx *fx_slots[FOLDERXFER_SLOTS];

static void fx_release(fx *x);

/* ---- slots -------------------------------------------------------------- */

static fx *fx_new(const char *who, uint64_t xfer_id, const char *name) {
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++)
    if (fx_slots[i] == NULL) {
      fx *x = calloc(1, sizeof *x);
      if (x == NULL)
        return NULL;
      x->fd = -1;
      x->xfer_id = xfer_id;
      snprintf(x->user, sizeof x->user, "%s", who);
      snprintf(x->name, sizeof x->name, "%s", name);
      randombytes_buf(x->token, sizeof x->token);
      x->expires_ms = server_now_ms() + FOLDERXFER_TOKEN_TTL_MS;
      fx_slots[i] = x;
      return x;
    }
  return NULL;
}

/* Frees x once nothing refers to it: no connection, job or fs request. */
static void fx_release(fx *x) {
  if (!x->ended || x->c != NULL || x->busy || x->fs_busy)
    return;
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++)
    if (fx_slots[i] == x)
      fx_slots[i] = NULL;
  if (x->fd >= 0)
    close(x->fd); /* closing a regular file does not wait on the disk */
  if (x->md != NULL)
    EVP_MD_CTX_free(x->md);
  free(x->buf);
  free(x->acc);
  free(x->rbuf);
  outq_clear(&x->out);
  framer_reset(&x->in);
  sodium_memzero(x->token, sizeof x->token);
  free(x);
}

bool folderxfer_uploading(const char *name, const char *who) {
  bool busy = false;
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++) {
    fx *x = fx_slots[i];
    if (x == NULL || !x->upload || x->ended || strcmp(x->name, name) != 0)
      continue;
    if (who != NULL && !x->shaken && !x->busy && !x->fs_busy &&
        strcasecmp(x->user, who) == 0) {
      x->ended = true; /* the same user asks again: the new request wins */
      fx_release(x);
      continue;
    }
    busy = true;
  }
  return busy;
}

uint32_t folderxfer_count(const char *who) {
  uint32_t n = 0;
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++)
    if (fx_slots[i] != NULL && !fx_slots[i]->ended &&
        strcasecmp(fx_slots[i]->user, who) == 0)
      n++;
  return n;
}

uint64_t folderxfer_reserved(const char *who, uint32_t *new_files) {
  uint64_t b = 0;
  uint32_t nf = 0;
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++) {
    fx *x = fx_slots[i];
    if (x == NULL || !x->upload || x->ended ||
        (who != NULL && strcasecmp(x->user, who) != 0))
      continue;
    b += x->size;
    if (folderstore_find(x->name, strlen(x->name)) == NULL)
      nf++;
  }
  if (new_files != NULL)
    *new_files = nf;
  return b;
}

/* ---- talking to the user and on the data connection --------------------- */

/* Sends m on user's chat connection, when the user is online. */
static void fx_tell(const char *who, const proto_msg *m) {
  user *u = user_find(who, strlen(who));
  if (u != NULL && u->conn != NULL)
    conn_send_msg(u->conn, m);
}

static void fx_tell_error(const fx *x, int code, const char *text) {
  user *u = user_find(x->user, strlen(x->user));
  if (u != NULL && u->conn != NULL)
    conn_error(u->conn, code, x->upload ? PROTO_UPLOAD_REQ : PROTO_DOWNLOAD_REQ,
               x->name, "%s", text);
}

static void fx_close(fx *x) {
  if (x->c != NULL && !stream_closing(&x->c->s))
    stream_close(&x->c->s);
}

/* Queues m on the data connection and writes what the socket takes. */
static void fx_send(fx *x, const proto_msg *m) {
  if (x->c == NULL || stream_closing(&x->c->s))
    return;
  if (outq_push_msg(&x->out, m) < 0 || stream_flush(&x->c->s, &x->out) < 0)
    fx_close(x);
}

static void fx_unlink_done(uv_fs_t *req) {
  if (req->result < 0 && req->result != UV_ENOENT)
    log_warn(NULL, "folder: cannot delete %s: %s", req->path,
             uv_strerror((int)req->result));
  uv_fs_req_cleanup(req);
  free(req);
}

/* Deletes a partial upload through the thread pool (the loop never waits
 * on the disk); a failure is logged, the next start sweeps it. */
static void fx_unlink(const char *path) {
  uv_fs_t *req = malloc(sizeof *req);
  if (req != NULL && uv_fs_unlink(srv.loop, req, path, fx_unlink_done) < 0)
    free(req); /* not started: the next start sweeps the file */
}

/* Ends x with an error: ERROR code on the user's chat connection (when
 * text is not NULL) and FILE_CANCEL on the data connection, which then
 * closes. An upload's partial file goes unless keep. */
static void fx_fail(fx *x, int code, const char *text, bool keep) {
  if (x->ended)
    return;
  x->ended = true;
  log_info(NULL, "folder %s %s by %s: %s", x->upload ? "upload" : "download",
           x->name, x->user, text ? text : "interrupted");
  if (text != NULL) {
    fx_tell_error(x, code, text);
    proto_msg m = {.type = PROTO_FILE_CANCEL};
    m.u.file_cancel.offer_id = x->xfer_id;
    m.u.file_cancel.peer = proto_str_c("");
    m.u.file_cancel.reason = proto_str_c(text);
    fx_send(x, &m);
  }
  if (x->upload && !keep && x->part[0] != '\0')
    fx_unlink(x->part);
  if (x->c == NULL || !stream_writing(&x->c->s))
    fx_close(x); /* else fx_drain closes once the reason is out */
  fx_release(x);
}

/* The error of a failed disk job, as the user reads it. */
static void fx_io_fail(fx *x, const char *what) {
  int e = x->io_err;
  char text[512];
  if (e == ENOSPC || e == EDQUOT || e == EFBIG) {
    snprintf(text, sizeof text,
             "no space left on the server for %s (%s); nothing was kept",
             folderstore_shown(x->name),
             e == EFBIG ? "file size limit" : "disk full");
    fx_fail(x, PERR_DISK_FULL, text, false);
    return;
  }
  if (e == EBADMSG) {
    snprintf(text, sizeof text,
             "%s: checksum mismatch; the upload was discarded",
             folderstore_shown(x->name));
    fx_fail(x, PERR_HASH_MISMATCH, text, false);
    return;
  }
  if (e == EEXIST) {
    snprintf(text, sizeof text,
             "%s appeared on the server meanwhile; upload "
             "again with overwrite to replace it",
             folderstore_shown(x->name));
    fx_fail(x, PERR_FILE_EXISTS, text, false);
    return;
  }
  snprintf(text, sizeof text, "%s %s: %s", what, folderstore_shown(x->name),
           strerror(e));
  fx_fail(x, PERR_IO, text, false);
}

/* ---- upload: jobs in the thread pool ------------------------------------ */

static void fx_work(uv_work_t *w) {
  fx *x = w->data;
  switch (x->job) {
  case FX_JOB_OPEN: { /* the partial file, hashing what it already holds */
    x->fd = open(x->part, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (x->fd < 0 || fstat(x->fd, &st) < 0) {
      x->io_err = errno;
      return;
    }
    uint64_t have = (uint64_t)st.st_size;
    if (have > x->offset)
      have = x->offset;
    if (ftruncate(x->fd, (off_t)have) < 0) {
      x->io_err = errno;
      return;
    }
    x->io_err = fileio_hash_prefix(x->fd, x->md, x->buf, FOLDERXFER_IO, have);
    x->pos = have;
    return;
  }
  case FX_JOB_WRITE:
    x->io_err = fileio_pwrite(x->fd, x->buf, x->buf_n, x->pos);
    if (x->io_err == 0)
      EVP_DigestUpdate(x->md, x->buf, x->buf_n);
    return;
  case FX_JOB_FINISH: { /* compare, make it durable, then move it in */
    EVP_DigestFinal_ex(x->md, x->sha, NULL);
    if (memcmp(x->sha, x->peer_sha, PROTO_HASH_LEN) != 0) {
      x->io_err = EBADMSG;
      return;
    }
    if (fsync(x->fd) < 0) {
      x->io_err = errno;
      return;
    }
    if (x->overwrite) {
      if (rename(x->part, x->final) < 0) {
        x->io_err = errno;
        return;
      }
    } else if (link(x->part, x->final) < 0) { /* never replaces a file */
      x->io_err = errno;
      return;
    } else {
      (void)unlink(x->part);
    }
    struct stat st;
    x->mtime = fstat(x->fd, &st) == 0 ? (uint64_t)st.st_mtime : 0;
    return;
  }
  }
}

static void fx_after(uv_work_t *w, int status);

static void fx_start_job(fx *x, int job) {
  x->job = job;
  x->io_err = 0;
  x->work.data = x;
  if (uv_queue_work(srv.loop, &x->work, fx_work, fx_after) < 0) {
    x->io_err = EIO;
    fx_io_fail(x, "cannot start disk work for");
    return;
  }
  x->busy = true;
}

/* Upload: hands what arrived to the disk, or finishes. */
static void fx_flush(fx *x) {
  if (x->ended || x->busy)
    return;
  if (x->acc_n > 0) {
    uint8_t *t = x->buf;
    x->buf = x->acc;
    x->buf_n = x->acc_n;
    x->acc = t;
    x->acc_n = 0;
    fx_start_job(x, FX_JOB_WRITE);
    return;
  }
  if (x->done_recv && x->pos == x->size)
    fx_start_job(x, FX_JOB_FINISH);
}

/* The upload is in place under its name: list it. */
static void fx_stored(fx *x) {
  folder_file f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "%s", x->name);
  snprintf(f.owner, sizeof f.owner, "%s", x->user);
  f.size = x->size;
  f.mtime = x->mtime;
  memcpy(f.sha, x->sha, PROTO_HASH_LEN);
  folderstore_put(&f);
  x->finished = true;
  log_info(NULL,
           "folder upload %s by %s: %" PRIu64 " bytes stored in %" PRIu64
           " ms",
           x->name, x->user, x->size, server_now_ms() - x->start_ms);
}

static void fx_after(uv_work_t *w, int status) {
  fx *x = w->data;
  x->busy = false;
  if (status == 0 && x->job == FX_JOB_FINISH && x->io_err == 0)
    fx_stored(x); /* renamed into place: listed even if the client left */
  if (status == UV_ECANCELED || x->ended) {
    fx_release(x);
    return;
  }
  if (x->io_err != 0) {
    fx_io_fail(x, x->job == FX_JOB_OPEN ? "cannot open the upload of"
                                        : "cannot store");
    return;
  }
  proto_msg m = {.type = PROTO_FILE_ACK};
  m.u.file_ack.xfer_id = x->xfer_id;
  switch (x->job) {
  case FX_JOB_OPEN: /* tell the client where to start; then bytes flow */
    m.u.file_ack.offset = x->pos;
    fx_send(x, &m);
    if (x->c != NULL && stream_read_start(&x->c->s) < 0)
      fx_close(x);
    return;
  case FX_JOB_WRITE:
    x->pos += x->buf_n;
    x->buf_n = 0;
    m.u.file_ack.offset = x->pos;
    fx_send(x, &m);
    if (x->c != NULL && x->acc_n < FOLDERXFER_RECV_MAX)
      (void)stream_read_start(&x->c->s);
    fx_flush(x);
    return;
  case FX_JOB_FINISH: {
    x->ended = true;
    proto_msg d = {.type = PROTO_FILE_DONE};
    d.u.file_done.xfer_id = x->xfer_id;
    d.u.file_done.sha256 = (proto_blob){x->sha, PROTO_HASH_LEN};
    fx_send(x, &d); /* the client closes once it has read it */
    proto_msg ok = {.type = PROTO_FOLDER_OK};
    ok.u.folder_ok.op = PROTO_UPLOAD_REQ;
    ok.u.folder_ok.name = proto_str_c(x->name);
    fx_tell(x->user, &ok);
    fx_release(x);
    return;
  }
  }
}

/* ---- download: reads through uv_fs_* ------------------------------------ */

static void fx_pump(fx *x);

static void fx_on_read(uv_fs_t *req) {
  fx *x = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  x->fs_busy = false;
  if (x->ended) {
    fx_release(x);
    return;
  }
  if (n <= 0) {
    char text[512];
    snprintf(text, sizeof text, "cannot read %s on the server: %s",
             folderstore_shown(x->name),
             n == 0 ? "the file is shorter than listed" : uv_strerror((int)n));
    fx_fail(x, PERR_IO, text, false);
    return;
  }
  size_t got = (size_t)n;
  if (got > x->size - x->pos)
    got = (size_t)(x->size - x->pos);
  for (size_t off = 0; off < got; off += PROTO_MAX_CHUNK) {
    size_t k = got - off < PROTO_MAX_CHUNK ? got - off : PROTO_MAX_CHUNK;
    proto_msg m = {.type = PROTO_FILE_DATA};
    m.u.file_data.xfer_id = x->xfer_id;
    m.u.file_data.offset = x->pos + off;
    m.u.file_data.data = (proto_blob){x->rbuf + off, (uint16_t)k};
    (void)outq_push_msg(&x->out, &m);
  }
  x->pos += got;
  if (x->c != NULL && stream_flush(&x->c->s, &x->out) < 0) {
    fx_close(x);
    return;
  }
  fx_pump(x);
}

/* Reads the next chunk while the queue is below the watermark; after the
 * last byte, FILE_DONE with the stored hash. */
static void fx_pump(fx *x) {
  if (x->ended || x->fs_busy || x->c == NULL || !x->acked || x->done_sent)
    return;
  if (x->out.bytes > FOLDERXFER_HIGH)
    return; /* on_drain comes back */
  if (x->pos == x->size) {
    proto_msg m = {.type = PROTO_FILE_DONE};
    m.u.file_done.xfer_id = x->xfer_id;
    m.u.file_done.sha256 = (proto_blob){x->sha, PROTO_HASH_LEN};
    fx_send(x, &m);
    x->done_sent = true;
    return;
  }
  uint64_t left = x->size - x->pos;
  uv_buf_t b =
      uv_buf_init((char *)x->rbuf,
                  left < FOLDERXFER_CHUNK ? (unsigned)left : FOLDERXFER_CHUNK);
  x->fsreq.data = x;
  if (uv_fs_read(srv.loop, &x->fsreq, x->fd, &b, 1, (int64_t)x->pos,
                 fx_on_read) < 0) {
    fx_fail(x, PERR_IO, "cannot read the file on the server", false);
    return;
  }
  x->fs_busy = true;
}

/* ---- the data connection ------------------------------------------------ */

static void fx_frame(fx *x, const proto_msg *m) {
  switch (m->type) {
  case PROTO_FILE_DATA: {
    const proto_file_data *d = &m->u.file_data;
    uint64_t at = x->pos + x->buf_n + x->acc_n;
    if (!x->upload || d->offset != at || d->offset + d->data.n > x->size ||
        x->acc_n + d->data.n > FOLDERXFER_RECV_MAX + STREAM_READ_MAX) {
      fx_fail(x, PERR_UNEXPECTED, "the upload broke the protocol", false);
      return;
    }
    memcpy(x->acc + x->acc_n, d->data.p, d->data.n);
    x->acc_n += d->data.n;
    if (x->acc_n >= FOLDERXFER_IO) {
      fx_flush(x);
      if (x->acc_n >= FOLDERXFER_RECV_MAX)
        (void)stream_read_stop(&x->c->s); /* the disk is behind: push back */
    }
    return;
  }
  case PROTO_FILE_DONE:
    if (x->upload) {
      if (x->pos + x->buf_n + x->acc_n != x->size) {
        fx_fail(x, PERR_UNEXPECTED, "the upload ended early", true);
        return;
      }
      memcpy(x->peer_sha, m->u.file_done.sha256.p, PROTO_HASH_LEN);
      x->done_recv = true;
      fx_flush(x);
    } else { /* the client verified the download */
      x->ended = true;
      log_info(NULL,
               "folder download %s by %s: %" PRIu64 " bytes in %" PRIu64 " ms",
               x->name, x->user, x->size, server_now_ms() - x->start_ms);
      fx_close(x);
      fx_release(x);
    }
    return;
  case PROTO_FILE_ACK:
    if (!x->upload && !x->acked) {
      if (m->u.file_ack.offset > x->size) {
        fx_fail(x, PERR_UNEXPECTED, "resume offset beyond the file", false);
        return;
      }
      x->acked = true;
      x->pos = m->u.file_ack.offset;
      x->start_ms = server_now_ms();
      fx_pump(x);
    }
    return; /* later ones are the client's progress */
  case PROTO_FILE_CANCEL:
    fx_fail(x, 0, NULL, true);
    return;
  default:
    fx_fail(x, PERR_UNEXPECTED, "unexpected frame on a data connection", false);
  }
}

static void fx_read(stream *s, const uint8_t *p, size_t n) {
  fx *x = stream_data(s);
  while (!x->ended && x->c != NULL) {
    const uint8_t *frame;
    ssize_t r = framer_next(&x->in, &p, &n, PROTO_MAX_FRAME, &frame);
    if (r == 0)
      return;
    proto_msg m;
    if (r < 0 || proto_decode(frame, (size_t)r, &m) <= 0) {
      fx_fail(x, PERR_MALFORMED, "malformed frame on a data connection",
              x->upload);
      return;
    }
    fx_frame(x, &m);
  }
}

static void fx_drain(stream *s) {
  fx *x = stream_data(s);
  if (x->out.count > 0 && stream_flush(s, &x->out) < 0) {
    fx_close(x);
    return;
  }
  if (x->ended && x->out.count == 0 && !stream_writing(s)) {
    fx_close(x); /* the last frame (FILE_DONE, FILE_CANCEL) is out */
    return;
  }
  fx_pump(x);
}

static void fx_error(stream *s, int err) {
  fx *x = stream_data(s);
  if (!x->ended && !x->finished)
    log_info(NULL, "folder %s %s by %s: data connection lost (%s)",
             x->upload ? "upload" : "download", x->name, x->user,
             uv_strerror(err));
  if (!x->ended) {
    x->ended = true; /* an upload's partial file stays for a resume */
  }
  fx_close(x);
}

static void fx_closed(stream *s) {
  fx *x = stream_data(s);
  conn *c = x->c;
  x->c = NULL;
  x->ended = true;
  conn_stream_closed(c); /* may free c */
  fx_release(x);
}

static const stream_ops fx_ops = {
    .on_read = fx_read,
    .on_drain = fx_drain,
    .on_error = fx_error,
    .on_close = fx_closed,
};

bool folderxfer_on_connect(conn *c, const proto_file_connect *fc) {
  fx *x = NULL;
  for (size_t i = 0; i < FOLDERXFER_SLOTS && x == NULL; i++) {
    fx *y = fx_slots[i];
    if (y != NULL && !y->shaken && !y->ended && y->xfer_id == fc->offer_id &&
        sodium_memcmp(y->token, fc->token.p, PROTO_TOKEN_LEN) == 0)
      x = y;
  }
  if (x == NULL)
    return false;
  c->state = CONN_RELAY;
  bool right =
      fc->side == (x->upload ? PROTO_SIDE_SENDER : PROTO_SIDE_RECEIVER);
  if (!right) {
    conn_error(c, PERR_RELAY_TOKEN, PROTO_FILE_CONNECT, "", NULL);
    conn_close(c, true, "folder token used from the wrong side");
    return true;
  }
  x->shaken = true;
  x->c = c;
  x->start_ms = server_now_ms();
  c->s.ops = &fx_ops; /* the slot owns the stream from now on */
  c->s.tcp.data = x;
  (void)uv_tcp_nodelay(&c->s.tcp, 1);
  proto_msg m = {.type = PROTO_FILE_CONNECT};
  m.u.file_connect.offer_id = x->xfer_id;
  m.u.file_connect.side = x->upload ? PROTO_SIDE_RECEIVER : PROTO_SIDE_SENDER;
  m.u.file_connect.token = (proto_blob){x->token, PROTO_TOKEN_LEN};
  fx_send(x, &m);
  if (x->upload) { /* no bytes until the partial file is ready */
    (void)stream_read_stop(&c->s);
    x->md = EVP_MD_CTX_new();
    x->buf = malloc(FOLDERXFER_RECV_MAX + STREAM_READ_MAX);
    x->acc = malloc(FOLDERXFER_RECV_MAX + STREAM_READ_MAX);
    if (x->md == NULL || x->buf == NULL || x->acc == NULL ||
        EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1) {
      x->io_err = ENOMEM;
      fx_io_fail(x, "out of memory for");
      return true;
    }
    fx_start_job(x, FX_JOB_OPEN);
  } else {
    x->rbuf = malloc(FOLDERXFER_CHUNK);
    if (x->rbuf == NULL)
      fx_fail(x, PERR_INTERNAL, "out of memory for the download", false);
  }
  return true;
}

/* ---- requests ----------------------------------------------------------- */

/* Upload: the partial file's size is known: UPLOAD_READY. */
static void fx_on_stat(uv_fs_t *req) {
  fx *x = req->data;
  uint64_t have = req->result == 0 ? req->statbuf.st_size : 0;
  uv_fs_req_cleanup(req);
  x->fs_busy = false;
  if (x->ended) {
    fx_release(x);
    return;
  }
  if (x->offset == 0 || have > x->size) /* no resume asked, or not ours */
    have = 0;
  x->offset = have;
  proto_msg m = {.type = PROTO_UPLOAD_READY};
  m.u.upload_ready.xfer_id = x->xfer_id;
  m.u.upload_ready.offset = have;
  m.u.upload_ready.token = (proto_blob){x->token, PROTO_TOKEN_LEN};
  fx_tell(x->user, &m);
}

int folderxfer_upload(const char *who, uint64_t xfer_id, const char *name,
                      uint64_t size, bool overwrite, bool resume) {
  fx *x = fx_new(who, xfer_id, name);
  if (x == NULL)
    return -PERR_TRANSFER_LIMIT;
  x->upload = true;
  x->size = size;
  x->overwrite = overwrite;
  x->offset = resume ? 1 : 0; /* fx_on_stat turns it into the offset */
  if (folderstore_partial(x->part, sizeof x->part, who, name, size) < 0 ||
      folderstore_path(x->final, sizeof x->final, name) < 0) {
    x->ended = true;
    fx_release(x);
    return -PERR_BAD_FILENAME;
  }
  x->fsreq.data = x;
  if (uv_fs_stat(srv.loop, &x->fsreq, x->part, fx_on_stat) < 0) {
    x->ended = true;
    fx_release(x);
    return -PERR_IO;
  }
  x->fs_busy = true;
  return 0;
}

/* Download: the file is open (or not): DOWNLOAD_START or an error. */
static void fx_on_open(uv_fs_t *req) {
  fx *x = req->data;
  int fd = (int)req->result;
  uv_fs_req_cleanup(req);
  x->fs_busy = false;
  if (fd >= 0)
    x->fd = fd;
  if (x->ended) {
    fx_release(x);
    return;
  }
  if (fd < 0) {
    char text[300];
    snprintf(text, sizeof text, "cannot open %s on the server: %s",
             folderstore_shown(x->name), uv_strerror(fd));
    fx_fail(x, fd == UV_ENOENT ? PERR_NO_SUCH_FILE : PERR_IO, text, false);
    return;
  }
  proto_msg m = {.type = PROTO_DOWNLOAD_START};
  m.u.download_start.xfer_id = x->xfer_id;
  m.u.download_start.name = proto_str_c(x->name);
  m.u.download_start.size = x->size;
  m.u.download_start.offset = x->offset;
  m.u.download_start.sha256 = (proto_blob){x->sha, PROTO_HASH_LEN};
  m.u.download_start.token = (proto_blob){x->token, PROTO_TOKEN_LEN};
  fx_tell(x->user, &m);
}

int folderxfer_download(const char *who, uint64_t xfer_id, const char *name,
                        uint64_t size, const uint8_t sha[PROTO_HASH_LEN],
                        uint64_t offset) {
  fx *x = fx_new(who, xfer_id, name);
  if (x == NULL)
    return -PERR_TRANSFER_LIMIT;
  x->size = size;
  x->offset = offset;
  memcpy(x->sha, sha, PROTO_HASH_LEN);
  char path[PATH_MAX];
  x->fsreq.data = x;
  if (folderstore_path(path, sizeof path, name) < 0 ||
      uv_fs_open(srv.loop, &x->fsreq, path, O_RDONLY | O_CLOEXEC, 0,
                 fx_on_open) < 0) {
    x->ended = true;
    fx_release(x);
    return -PERR_IO;
  }
  x->fs_busy = true;
  return 0;
}

void folderxfer_tick(uint64_t now_ms) {
  for (size_t i = 0; i < FOLDERXFER_SLOTS; i++) {
    fx *x = fx_slots[i];
    if (x != NULL && !x->shaken && !x->ended && now_ms >= x->expires_ms) {
      x->ended = true; /* the client never came: the partial file stays */
      fx_release(x);
    }
  }
}
