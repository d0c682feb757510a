/* client_xfer.c: peer-to-peer file transfers (client_xfer.h).
 *
 * Flow (PROTOCOL.md 7.6): the sender offers; the receiver accepts (its
 * .part file is created first, off the loop); the sender listens on an
 * ephemeral port and sends a hint per address (parleyd adds the address it
 * sees the sender from); the receiver connects to each and both sides
 * exchange FILE_CONNECT; if that has not happened within
 * CLIENT_XFER_DIRECT_MS the receiver asks for the relay and both also
 * connect there. The receiver picks the first connection whose handshake
 * completed and says FILE_ACK { offset } on it; the sender streams
 * FILE_DATA on that one, then FILE_DONE with the SHA-256; the receiver
 * compares, links the .part file to a free final name and reports
 * FILE_DONE to the server. */
#include "client_xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <strings.h>
#include <openssl/evp.h>

#include "client_int.h"
#include "fileio.h"
#include "framer.h"
#include "outq.h"
#include "stream.h"
#include "tls.h"

#define CXF_LOST_MS 1500    /* grace after a data connection broke */
#define CXF_STATE_MAX 16384 /* bytes of a transfer's state file at most */
#define CXF_CONNS 6         /* data connections per transfer at once */
#define CXF_HINTS 4 /* direct addresses tried per transfer (< CXF_CONNS) */
#define CXF_IO (256 * 1024)        /* bytes per disk job */
#define CXF_HASH_JOB (32 * CXF_IO) /* sender: bytes per hashing job */
/* Bytes per read job (sender) and per write and hash job (receiver). Each
 * job is a round trip to the pool (a futex wake and two context switches,
 * which this VM makes expensive): 512 KiB has half as many as 256 KiB. A
 * sender's frames for it stay below M_MMAP_THRESHOLD (1 MiB, app/main.c):
 * above it every job's block was a fresh mmap, its pages faulted in (1 MiB
 * jobs cost the sender 9.9 CPU s/GB instead of 1.6). */
#define CXF_SEND_IO (512 * 1024)
#define CXF_SEND_HIGH CXF_SEND_IO /* sender: stop reading disk above this */
#define CXF_RECV_IO CXF_SEND_IO
#define CXF_RECV_MAX (2 * CXF_RECV_IO) /* receiver: stop reading the socket */
#define CXF_ACC_CAP (CXF_RECV_MAX + 2 * STREAM_READ_MAX)   /* + one read */
#define CXF_FRAME (PROTO_FILE_DATA_HEAD + PROTO_MAX_CHUNK) /* one FILE_DATA */
#define CXF_FRAMES                                                             \
  (CXF_SEND_IO / PROTO_MAX_CHUNK) /* FILE_DATA per read job                    \
                                   */
#define CXF_PREHASH 2 /* offers whose files are hashed at once, unaccepted */
#define CXF_NO_PIN                                                             \
  "the sender's parley does not encrypt file data (no FILE_PIN); refused: "    \
  "both need a parley that does, or both --insecure-plaintext"

typedef struct cxf cxf;

/* One data connection (direct, accepted, or to the relay). */
typedef struct cxf_dconn {
  stream s;
  outq out;
  framer in;
  client *c;
  cxf *x;           /* NULL once the transfer let go of it */
  bool closing;     /* every callback checks it first */
  bool shaken;      /* the other side's FILE_CONNECT arrived */
  bool relay;       /* goes through parleyd */
  bool inbound;     /* accepted on our listener (sender) */
  bool server;      /* dialled to parleyd (relay or folder): TLS with it */
  bool e2e;         /* runs (or will run) TLS with the other client */
  bool start_inner; /* relay: the next bytes are the clients' own TLS */
  size_t data_left; /* receiver: bytes of a FILE_DATA still to come */
} cxf_dconn;

struct cxf {
  client_transfer t; /* what the faces see; first member */
  client *c;
  char peer[PROTO_MAX_NAME + 1];
  char name[PROTO_MAX_FILENAME + 1];    /* as offered (sender: basename) */
  char part[PATH_MAX];                  /* receiver: the .part file */
  char dir[PATH_MAX];                   /* receiver: download directory */
  uint8_t token[PROTO_TOKEN_LEN];       /* sender: proves a direct connection */
  struct tls_ctx *tls;                  /* sender: this transfer's key (TLS) */
  uint8_t pin[TLS_DIGEST_LEN];          /* receiver: the sender's key digest */
  bool pinned;                          /* receiver: FILE_PIN came */
  uint8_t relay_token[PROTO_TOKEN_LEN]; /* waits for the pin (receiver) or the
                                           key (sender) */
  bool relay_held;                      /* relay_token is waiting */
  uint8_t sha[PROTO_HASH_LEN];          /* ours, when final */
  uint8_t peer_sha[PROTO_HASH_LEN];     /* receiver: from FILE_DONE */
  bool done_recv;                       /* receiver: FILE_DONE came */
  bool done_sent;                       /* sender: FILE_DONE queued */
  int fd;                               /* -1 when closed */
  EVP_MD_CTX *md;
  uv_tcp_t listener;
  bool listening;
  uv_timer_t timer;
  bool timer_on;
  cxf_dconn *dc[CXF_CONNS];
  cxf_dconn *win; /* the data connection that won */
  bool relay_asked;
  struct sockaddr_storage hinted[CXF_HINTS]; /* receiver: dialled already */
  unsigned nhints;
  bool ended; /* final state reached; handles closing */
  /* disk and hash, one job at a time */
  uv_work_t work;
  bool busy;
  int job;            /* enum cxf_job */
  uint8_t *buf, *acc; /* job buffer; receiver: bytes arriving meanwhile */
  size_t buf_n, acc_n;
  fbuf *frames;    /* sender: the read job's FILE_DATA frames, read in place */
  uint64_t io_pos; /* sender: read so far; receiver: written so far */
  int io_err;      /* errno of the last job, 0 when fine */
  uint64_t last_ev_ms;
  unsigned handles; /* listener, timer, data connections still open */
  /* resume */
  bool keep;        /* interrupted: the .part file and the state stay */
  bool resume;      /* receiver: continue the .part file from its size */
  bool placeholder; /* receiver: loaded from disk, waiting for a re-offer */
  bool reoffered;   /* sender: an offer again after an interruption */
  bool superseded;  /* a newer entry took over this one's resume */
  uint64_t hashed;  /* sender: bytes of the file hashed so far */
  /* sender: hashing runs in its own jobs, beside the reads; receiver: one
   * job hashes the buffer the write job is writing, at the same time */
  uv_work_t hwork;
  bool hbusy;     /* a hashing job is queued or running */
  bool hash_done; /* sha holds the file's SHA-256 */
  int hash_err;   /* errno of the last hashing job, 0 when fine */
  int lost_err;   /* uv error of a broken data connection (cxf_lost_later) */
  uint8_t *hbuf;  /* the hashing job's buffer */
  uint64_t mtime; /* sender: the source's mtime when offered */
  bool prehash_failed; /* sender: opening it before the accept failed */
  uv_timer_t pace;     /* tests: PARLEY_TEST_XFER_DELAY_MS between reads,
                          PARLEY_TEST_RECV_DELAY_MS between writes */
  bool pace_on;
  bool recv_held; /* receiver: the pace timer holds the next write */
  /* the shared folder (peer "server", see the end of this file) */
  bool folder;    /* an upload to or download from parleyd's folder */
  bool overwrite; /* upload: replace a file of the same name */
  uint8_t again;  /* times it started again after an interruption */
  /* sender: this transfer's TLS key, made in the pool (cxf_key_start) */
  uv_work_t kwork;
  bool kbusy;                  /* the key job is queued or running */
  struct tls_ctx *ktls;        /* the job's result, NULL when it failed */
  uint8_t kmd[TLS_DIGEST_LEN]; /* its key's digest */
  char kerr[160];              /* why it failed */
  /* an offer to a room (peer "#room", sender): each member answers on its
   * own (PROTOCOL.md FILE_OFFER); this row ends once every one has */
  unsigned rm_expect; /* members offered to (the others in the room when it
                         was sent, as we knew them); 0: unknown */
  unsigned rm_acc, rm_rej, rm_gone; /* answers: accepted, rejected, expired
                                       or went offline */
  unsigned rm_got, rm_lost;         /* accepted members' transfers that ended */
  bool rm_lapsed;                   /* the server expired the unanswered rest */
};

enum cxf_job { CXF_JOB_PREPARE, CXF_JOB_READ, CXF_JOB_WRITE, CXF_JOB_FINISH };

typedef struct cxf_held { /* an offer that came while state was loading */
  uint64_t id, size;
  char peer[PROTO_MAX_NAME + 1];
  char name[PROTO_MAX_FILENAME + 1];
} cxf_held;

typedef struct cxf_state {
  cxf *x[CLIENT_XFER_MAX];
  size_t n;
  unsigned next_id;
  bool loading; /* saved transfers are being read */
  bool saving;  /* a state file job runs; the others wait in save_q */
  struct cxf_save_job *save_q;
  cxf_held held[8];
  size_t nheld;
  struct tls_ctx *peer_tls; /* receivers' end-to-end TLS context (lazy) */
} cxf_state;

static cxf_state *cxf_get(client *c) {
  if (c->xf == NULL)
    c->xf = calloc(1, sizeof(cxf_state));
  return c->xf;
}

const char *client_transfer_state(const client_transfer *t) {
  switch (t->m.status) {
  case XFER_WAITING:
    if (t->rejected)
      return "rejected";
    if (t->asking)
      return "awaiting answer";
    return t->m.dir == XFER_RECV && !t->accepted ? "offered" : "waiting";
  case XFER_CONNECTING:
    return "connecting";
  case XFER_ACTIVE:
    return t->verifying ? "verifying" : "active";
  case XFER_DONE:
    return "done";
  case XFER_FAILED:
    return t->rejected ? "rejected" : "failed";
  case XFER_CANCELLED:
    return "cancelled";
  }
  return "?";
}

/* Fires TRANSFER (always when force, else at most every EVENT_MS). */
static void cxf_event(cxf *x, bool force) {
  client *c = x->c;
  uint64_t now = uv_now(c->loop);
  if (!force && now - x->last_ev_ms < CLIENT_XFER_EVENT_MS)
    return;
  x->last_ev_ms = now;
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_TRANSFER, .xfer = &x->t};
  client_emit(c, &ev);
}

/* ---- handles ------------------------------------------------------------ */

static void cxf_maybe_release(cxf *x);

static void cxf_handle_closed(uv_handle_t *h) {
  cxf *x = h->data;
  client *c = x->c;
  x->handles--;
  c->live--;
  cxf_maybe_release(x);
  client_maybe_stopped(c);
}

static void cxf_dconn_closed(stream *s) {
  cxf_dconn *d = stream_data(s);
  client *c = d->c;
  outq_clear(&d->out);
  framer_reset(&d->in);
  cxf *x = d->x;
  if (x != NULL) {
    for (int i = 0; i < CXF_CONNS; i++)
      if (x->dc[i] == d)
        x->dc[i] = NULL;
    if (x->win == d)
      x->win = NULL;
    x->handles--;
  }
  free(d);
  c->live--;
  if (x != NULL)
    cxf_maybe_release(x);
  client_maybe_stopped(c);
}

static void cxf_dconn_close(cxf_dconn *d) {
  if (d->closing)
    return;
  d->closing = true;
  stream_close(&d->s);
}

/* Frees the job resources of a transfer that ended, once nothing runs. */
static void cxf_maybe_release(cxf *x) {
  if (!x->ended || x->busy || x->hbusy)
    return;
  if (x->fd >= 0) {
    close(x->fd); /* a close of a regular file does not block for long */
    x->fd = -1;
  }
  free(x->buf);
  free(x->acc);
  free(x->hbuf);
  x->buf = x->acc = x->hbuf = NULL;
  fbuf_unref(x->frames);
  x->frames = NULL;
  tls_ctx_free(x->tls); /* connections still open hold their own reference */
  x->tls = NULL;
  if (x->md != NULL) {
    EVP_MD_CTX_free(x->md);
    x->md = NULL;
  }
}

/* Closes everything of x's data path (listener, timer, connections). */
static void cxf_close_path(cxf *x, bool keep_win) {
  if (x->listening) {
    x->listening = false;
    uv_close((uv_handle_t *)&x->listener, cxf_handle_closed);
  }
  if (x->timer_on) {
    x->timer_on = false;
    uv_close((uv_handle_t *)&x->timer, cxf_handle_closed);
  }
  if (x->pace_on && !keep_win) {
    x->pace_on = false;
    uv_close((uv_handle_t *)&x->pace, cxf_handle_closed);
  }
  for (int i = 0; i < CXF_CONNS; i++)
    if (x->dc[i] != NULL && !(keep_win && x->dc[i] == x->win))
      cxf_dconn_close(x->dc[i]);
}

/* ---- transfer state on disk (resume) ------------------------------------ */

static int cxf_mkdirs(const char *dir);

/* $XDG_STATE_HOME/parley/transfers, else ~/.local/state/parley/transfers. */
static void cxf_state_dir(char *dst, size_t cap) {
  const char *e = getenv("XDG_STATE_HOME");
  if (e != NULL && *e == '/')
    snprintf(dst, cap, "%s/parley/transfers", e);
  else
    snprintf(dst, cap, "%s/.local/state/parley/transfers",
             getenv("HOME") ? getenv("HOME") : ".");
}

/* A transfer's state file. A peer transfer's is named for its offer; a
 * folder transfer's for what it continues (a download's .part file, an
 * upload's name on the server), since each run after an interruption has
 * a new xfer_id: a run that ends removes what an earlier one left. */
static void cxf_state_path(const cxf *x, char *dst, size_t cap) {
  char dir[PATH_MAX - 64];
  cxf_state_dir(dir, sizeof dir);
  const char *kind = x->t.m.dir == XFER_SEND ? "send" : "recv";
  if (!x->folder) {
    snprintf(dst, cap, "%s/%016" PRIx64 "-%s.%s", dir, x->t.offer_id, x->peer,
             kind);
    return;
  }
  uint64_t h = 1469598103934665603ULL; /* FNV-1a: a name, not a secret */
  for (const char *p = x->t.m.dir == XFER_SEND ? x->name : x->part; *p; p++)
    h = (h ^ (uint8_t)*p) * 1099511628211ULL;
  snprintf(dst, cap, "%s/folder-%016" PRIx64 ".%s", dir, h, kind);
}

typedef struct cxf_save_job {
  uv_work_t w;
  client *c;
  struct cxf_save_job *next; /* queued behind the one running */
  bool del;
  char path[PATH_MAX];
  char text[PATH_MAX * 3];
} cxf_save_job;

static void cxf_save_work(uv_work_t *w) {
  cxf_save_job *j = w->data;
  if (j->del) {
    (void)unlink(j->path);
    return;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", j->path);
  char *slash = strrchr(dir, '/');
  if (slash != NULL)
    *slash = '\0';
  (void)cxf_mkdirs(dir);
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", j->path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  size_t n = strlen(j->text);
  bool ok = write(fd, j->text, n) == (ssize_t)n;
  ok = close(fd) == 0 && ok;
  if (ok)
    (void)rename(tmp, j->path);
  else
    (void)unlink(tmp);
}

static void cxf_save_after(uv_work_t *w, int status);

/* Starts the first queued state job; one runs at a time, in order, so
 * that a file's removal never lands before an earlier write of it. */
static void cxf_save_next(client *c) {
  cxf_state *st = c->xf;
  while (st != NULL && !st->saving && st->save_q != NULL) {
    cxf_save_job *j = st->save_q;
    st->save_q = j->next;
    if (uv_queue_work(c->loop, &j->w, cxf_save_work, cxf_save_after) == 0) {
      st->saving = true;
      return;
    }
    free(j);
    c->live--;
  }
}

static void cxf_save_after(uv_work_t *w, int status) {
  cxf_save_job *j = w->data;
  client *c = j->c;
  (void)status;
  free(j);
  c->xf->saving = false;
  c->live--;
  cxf_save_next(c);
  client_maybe_stopped(c);
}

/* "HOST:PORT" of the server c logs into, as state files name it. */
static void cxf_server_text(const client *c, char *dst, size_t cap) {
  snprintf(dst, cap, "%s:%u", c->m.host, c->m.port);
}

/* Writes (or, del, removes) x's state file off the loop, behind the state
 * jobs queued before. The file names the server (address and key) and
 * the account: only a login to the same resumes it. */
static void cxf_save(cxf *x, bool del) {
  cxf_state *st = cxf_get(x->c);
  cxf_save_job *j = st != NULL ? calloc(1, sizeof *j) : NULL;
  if (j == NULL)
    return;
  client *c = x->c;
  j->c = c;
  j->del = del;
  j->w.data = j;
  cxf_state_path(x, j->path, sizeof j->path);
  char server[CLIENT_HOST_SZ + 8];
  cxf_server_text(c, server, sizeof server);
  int n = snprintf(j->text, sizeof j->text, "server=%s\nkey=%s\nuser=%s\n",
                   server, c->m.fingerprint, c->m.self);
  if (x->t.m.dir == XFER_SEND)
    snprintf(j->text + n, sizeof j->text - (size_t)n,
             "dir=send\nid=%016" PRIx64 "\npeer=%s\nname=%s\nsize=%" PRIu64
             "\nmtime=%" PRIu64 "\nfile=%s\nfolder=%d\noverwrite=%d\n",
             x->t.offer_id, x->peer, x->name, x->t.m.size, x->mtime, x->t.file,
             x->folder, x->overwrite);
  else
    snprintf(j->text + n, sizeof j->text - (size_t)n,
             "dir=recv\nid=%016" PRIx64 "\npeer=%s\nname=%s\nsize=%" PRIu64
             "\npart=%s\ndest=%s\nfolder=%d\n",
             x->t.offer_id, x->peer, x->name, x->t.m.size, x->part, x->dir,
             x->folder);
  cxf_save_job **tail = &st->save_q;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = j;
  c->live++;
  cxf_save_next(c);
}

static void cxf_room_member_ended(cxf *x, int status);

/* Ends x: DONE, FAILED (err) or CANCELLED (XFER_ERR_NONE), with reason. */
static void cxf_end(cxf *x, int status, enum xfer_error err, const char *fmt,
                    ...) {
  if (x->ended)
    return;
  x->ended = true;
  uint64_t now = uv_now(x->c->loop);
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->t.reason, sizeof x->t.reason, fmt, ap);
    va_end(ap);
  }
  if (status == XFER_DONE) {
    if (x->t.m.status != XFER_ACTIVE)
      (void)xfer_start(&x->t.m, x->t.m.size, now);
    (void)xfer_progress(&x->t.m, x->t.m.size, now);
    (void)xfer_finish(&x->t.m, now);
  } else {
    (void)xfer_fail(&x->t.m, err, now);
  }
  x->t.verifying = false;
  cxf_close_path(x, false);
  /* Nothing half-written stays behind; but a .part an earlier run left
   * goes only when the user cancels or its bytes proved wrong, not for a
   * passing refusal (the server's transfer limit after a reconnect). */
  bool drop =
      x->resume ? status == XFER_CANCELLED || err == XFER_ERR_HASH : x->fd >= 0;
  if (status != XFER_DONE && !x->keep && x->t.m.dir == XFER_RECV &&
      x->part[0] != '\0' && drop)
    (void)unlink(x->part);
  if (!x->keep)
    cxf_save(x, true); /* nothing left to resume */
  cxf_maybe_release(x);
  cxf_event(x, true);
  cxf_room_member_ended(x, status);
}

/* ---- lookup ------------------------------------------------------------- */

static cxf *cxf_find(client *c, uint64_t offer_id, proto_str peer) {
  cxf_state *st = cxf_get(c);
  if (st == NULL)
    return NULL;
  for (size_t i = st->n; i > 0; i--) { /* the newest run of an offer */
    cxf *x = st->x[i - 1];
    if (x->t.offer_id == offer_id && client_str_eq(peer, x->peer))
      return x;
  }
  return NULL;
}

/* ---- offers to a room -------------------------------------------------- */

/* The row of our offer offer_id to a room: the newest, one that has not
 * ended if there is one. */
static cxf *cxf_room_row(client *c, uint64_t offer_id) {
  cxf_state *st = cxf_get(c);
  cxf *r = NULL;
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *y = st->x[i];
    if (y->t.offer_id == offer_id && y->peer[0] == '#' &&
        y->t.m.dir == XFER_SEND && (r == NULL || r->ended || !y->ended))
      r = y;
  }
  return r;
}

/* "1 received, 1 rejected": the room offer's outcome so far. */
static void cxf_room_text(const cxf *r, char *dst, size_t cap) {
  unsigned pending = r->rm_acc - r->rm_got - r->rm_lost;
  const struct {
    unsigned n;
    const char *what;
  } part[] = {{r->rm_got, "received"},
              {pending, "accepted"},
              {r->rm_lost, "failed"},
              {r->rm_rej, "rejected"},
              {r->rm_gone, "not answered"}};
  size_t len = 0;
  dst[0] = '\0';
  for (size_t i = 0; i < sizeof part / sizeof part[0] && len < cap; i++)
    if (part[i].n > 0) {
      int k = snprintf(dst + len, cap - len, "%s%u %s", len ? ", " : "",
                       part[i].n, part[i].what);
      if (k > 0)
        len += (size_t)k;
    }
}

/* Shows the room offer's outcome so far and ends its row once every member
 * answered (or the server expired the rest) and every accepted transfer
 * ended. */
static void cxf_room_update(cxf *r) {
  if (r->ended)
    return;
  char sum[sizeof r->t.reason];
  cxf_room_text(r, sum, sizeof sum);
  unsigned answered = r->rm_acc + r->rm_rej + r->rm_gone;
  bool all = r->rm_lapsed || (r->rm_expect > 0 && answered >= r->rm_expect);
  if (!all || r->rm_got + r->rm_lost < r->rm_acc) {
    snprintf(r->t.reason, sizeof r->t.reason, "%s", sum);
    cxf_event(r, true);
    return;
  }
  if (r->rm_got > 0) {
    cxf_end(r, XFER_DONE, XFER_ERR_NONE, "%s", sum);
  } else if (answered == r->rm_gone) {
    cxf_end(r, XFER_FAILED, XFER_ERR_TIMEOUT, "expired");
  } else {
    r->t.rejected = r->rm_rej == answered;
    cxf_end(r, XFER_FAILED, r->t.rejected ? XFER_ERR_REFUSED : XFER_ERR_NONE,
            "%s", sum);
  }
}

/* A member's own transfer of a room offer ended: the room's row counts it. */
static void cxf_room_member_ended(cxf *x, int status) {
  if (x->t.m.dir != XFER_SEND || x->peer[0] == '#' || x->folder ||
      !x->t.accepted)
    return;
  cxf *r = cxf_room_row(x->c, x->t.offer_id);
  if (r == NULL || r->ended || r->rm_got + r->rm_lost >= r->rm_acc)
    return;
  if (status == XFER_DONE)
    r->rm_got++;
  else
    r->rm_lost++;
  cxf_room_update(r);
}

/* A member's FILE_REJECT or FILE_CANCEL of our offer to a room (the member
 * had not accepted: an accepted one has its own row). */
static void cxf_room_refused(client *c, const proto_file_refuse *f, bool reject,
                             const char *why) {
  cxf *r = cxf_room_row(c, f->offer_id);
  if (r == NULL || r->ended)
    return;
  char who[PROTO_MAX_NAME * 4 + 1];
  proto_str_copy(who, sizeof who, f->peer);
  if (reject) {
    r->rm_rej++;
    client_info(c, NULL, CLIENT_LINE_INFO, "%s rejected %s (offered to %s)%s%s",
                who, r->name, r->peer, why[0] ? ": " : "", why);
  } else {
    r->rm_gone++;
    if (strcmp(why, "offer expired") == 0)
      r->rm_lapsed = true; /* the server expires a room's offers together */
    client_info(c, NULL, CLIENT_LINE_INFO,
                "%s did not take %s (offered to %s)%s%s", who, r->name, r->peer,
                why[0] ? ": " : "", why);
  }
  cxf_room_update(r);
}

static cxf *cxf_by_id(client *c, unsigned id) {
  cxf_state *st = cxf_get(c);
  if (st == NULL)
    return NULL;
  for (size_t i = 0; i < st->n; i++)
    if (st->x[i]->t.id == id)
      return st->x[i];
  return NULL;
}

/* A new transfer slot (reusing an ended one whose handles are gone). */
static cxf *cxf_new(client *c) {
  cxf_state *st = cxf_get(c);
  if (st == NULL)
    return NULL;
  cxf *x = NULL;
  if (st->n < CLIENT_XFER_MAX) {
    x = calloc(1, sizeof *x);
    if (x == NULL)
      return NULL;
    st->x[st->n++] = x;
  } else {
    size_t i;
    for (i = 0; i < st->n; i++)
      if (st->x[i]->ended && st->x[i]->handles == 0 && !st->x[i]->busy &&
          !st->x[i]->hbusy && !st->x[i]->kbusy)
        break;
    if (i == st->n)
      return NULL;
    x = st->x[i];
    memmove(&st->x[i], &st->x[i + 1], (st->n - i - 1) * sizeof *st->x);
    st->x[st->n - 1] = x;
    memset(x, 0, sizeof *x);
  }
  x->c = c;
  x->fd = -1;
  x->t.id = ++st->next_id;
  c->m.xfers = (client_transfer **)st->x; /* cxf starts with its t */
  c->m.nxfers = st->n;
  return x;
}

/* ---- jobs in the thread pool -------------------------------------------- */

static void cxf_after(uv_work_t *w, int status);
static void cxf_work(uv_work_t *w);

/* Copies a C string into dst of cap bytes, cut when too long. */
static void cxf_copy(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static int cxf_queue(cxf *x, int job) {
  x->job = job;
  x->work.data = x;
  x->io_err = 0;
  int r = uv_queue_work(x->c->loop, &x->work, cxf_work, cxf_after);
  return r;
}

/* The receiver's path for candidate k: "DIR/NAME.part", "DIR/NAME (k).part"
 * (suffix "" for the final name). Returns 0, or ENAMETOOLONG when it does
 * not fit in cap: a cut path would name another file. */
static int cxf_candidate(char *dst, size_t cap, const char *dir,
                         const char *name, unsigned k, const char *suffix) {
  int n;
  if (k == 0) {
    n = snprintf(dst, cap, "%s/%s%s", dir, name, suffix);
  } else {
    const char *base = strrchr(name, '/'); /* a file of an offered dir */
    base = base != NULL ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot == NULL || dot == base)
      dot = base + strlen(base);
    n = snprintf(dst, cap, "%s/%.*s (%u)%s%s", dir, (int)(dot - name), name, k,
                 dot, suffix);
  }
  return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : 0;
}

/* Creates the directories of path (mkdir -p of its parent). */
static int cxf_mkdirs(const char *dir) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return -errno;
      *p = '/';
    }
  if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* Creates the directories of a received relative path (name, sanitised:
 * "photos/2024/a.jpg") below dir, one by one. One that exists must be a
 * directory, not a symlink, so that nothing is written outside dir.
 * Returns 0 or -errno. Thread pool. */
static int cxf_mksubdirs(const char *dir, const char *name) {
  char path[PATH_MAX];
  size_t n = (size_t)snprintf(path, sizeof path, "%s/", dir);
  for (const char *p = name; n < sizeof path; p++) {
    const char *slash = strchr(p, '/');
    if (slash == NULL)
      return 0;
    size_t k = (size_t)(slash - p);
    if (n + k + 1 >= sizeof path)
      return -ENAMETOOLONG;
    memcpy(path + n, p, k);
    n += k;
    path[n] = '\0';
    struct stat st;
    if (mkdir(path, 0700) < 0 &&
        (errno != EEXIST || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)))
      return errno == EEXIST ? -ENOTDIR : -errno;
    path[n++] = '/';
    p = slash;
  }
  return -ENAMETOOLONG;
}

/* Sender, in the pool: reads the next x->buf_n bytes of the file straight
 * into the data part of FILE_DATA frames laid out in x->frames (one
 * preadv, no copy afterwards: the frames go to the connection's queue by
 * reference), then writes each frame's header. Returns 0 or an errno
 * (ESTALE when the file shrank: it changed). */
static int cxf_read_frames(cxf *x) {
  size_t want = x->buf_n, got = 0;
  while (got < want) {
    struct iovec iov[CXF_FRAMES];
    int k = 0;
    for (size_t at = got; at < want && k < CXF_FRAMES; k++) {
      size_t i = at / PROTO_MAX_CHUNK, in = at % PROTO_MAX_CHUNK;
      size_t end =
          (i + 1) * PROTO_MAX_CHUNK < want ? (i + 1) * PROTO_MAX_CHUNK : want;
      iov[k].iov_base =
          x->frames->data + i * CXF_FRAME + PROTO_FILE_DATA_HEAD + in;
      iov[k].iov_len = end - at;
      at = end;
    }
    ssize_t n = preadv(x->fd, iov, k, (off_t)(x->io_pos + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 ? ESTALE : errno;
    got += (size_t)n;
  }
  size_t len = 0;
  for (size_t off = 0; off < want; off += PROTO_MAX_CHUNK) {
    size_t n = want - off < PROTO_MAX_CHUNK ? want - off : PROTO_MAX_CHUNK;
    proto_file_data_head(x->frames->data + len, x->t.offer_id, x->io_pos + off,
                         n);
    len += PROTO_FILE_DATA_HEAD + n;
  }
  x->frames->len = (uint32_t)len;
  return 0;
}

static void cxf_work(uv_work_t *w) {
  cxf *x = w->data;
  switch (x->job) {
  case CXF_JOB_PREPARE: { /* receiver: directory and a fresh .part file */
    if (x->folder && !x->resume && /* a download's .part: resume it */
        cxf_candidate(x->part, sizeof x->part, x->dir, x->name, 0, ".part") ==
            0 &&
        access(x->part, F_OK) == 0)
      x->resume = true;
    if (x->resume) { /* continue the .part file: hash what it holds */
      x->fd = open(x->part, O_RDWR | O_CLOEXEC);
      struct stat st;
      if (x->fd < 0 || fstat(x->fd, &st) < 0) {
        x->io_err = errno;
        return;
      }
      uint64_t have = (uint64_t)st.st_size;
      if (have > x->t.m.size)
        have = 0; /* not this file: start over */
      if (ftruncate(x->fd, (off_t)have) < 0) {
        x->io_err = errno;
        return;
      }
      x->io_err = fileio_hash_prefix(x->fd, x->md, x->buf, CXF_IO, have);
      x->io_pos = have;
      return;
    }
    int r = cxf_mkdirs(x->dir);
    if (r == 0)
      r = cxf_mksubdirs(x->dir, x->name);
    if (r < 0) {
      x->io_err = -r;
      return;
    }
    for (unsigned k = 0; k < 1000; k++) {
      char final[PATH_MAX];
      int e = cxf_candidate(final, sizeof final, x->dir, x->name, k, "");
      if (e == 0)
        e = cxf_candidate(x->part, sizeof x->part, x->dir, x->name, k, ".part");
      if (e != 0) {
        x->io_err = e;
        return;
      }
      if (access(final, F_OK) == 0)
        continue;
      x->fd = open(x->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (x->fd >= 0)
        return;
      if (errno != EEXIST) {
        x->io_err = errno;
        return;
      }
    }
    x->io_err = EEXIST;
    return;
  }
  case CXF_JOB_READ: /* sender: the next piece (hashed by its own jobs) */
    x->io_err = cxf_read_frames(x);
    return;
  case CXF_JOB_WRITE: /* receiver: append (cxf_rhash_work hashes it) */
    x->io_err = fileio_pwrite(x->fd, x->buf, x->buf_n, x->io_pos);
    return;
  case CXF_JOB_FINISH: { /* receiver: compare, then a free final name */
    EVP_DigestFinal_ex(x->md, x->sha, NULL);
    if (memcmp(x->sha, x->peer_sha, PROTO_HASH_LEN) != 0) {
      x->io_err = EBADMSG;
      return;
    }
    if (fsync(x->fd) < 0) {
      x->io_err = errno;
      return;
    }
    for (unsigned k = 0; k < 1000; k++) {
      int e =
          cxf_candidate(x->t.file, sizeof x->t.file, x->dir, x->name, k, "");
      if (e != 0) {
        x->io_err = e;
        return;
      }
      if (link(x->part, x->t.file) == 0) {
        (void)unlink(x->part);
        return;
      }
      if (errno != EEXIST) {
        x->io_err = errno;
        return;
      }
    }
    x->io_err = EEXIST;
    return;
  }
  }
}

static void cxf_pump(cxf *x);
static void cxf_recv_flush(cxf *x);
static void cxf_recv_written(cxf *x);

/* Sender: queues FILE_DONE with the file's SHA-256 on d (not flushed). */
static void cxf_push_done(cxf *x, cxf_dconn *d) {
  proto_msg m = {.type = PROTO_FILE_DONE};
  m.u.file_done.xfer_id = x->t.offer_id;
  m.u.file_done.sha256 = (proto_blob){x->sha, PROTO_HASH_LEN};
  (void)outq_push_msg(&d->out, &m);
  x->done_sent = true;
}

/* Sender, in the pool: hashes the next CXF_HASH_JOB bytes of the file (its
 * own pread of the page cache, beside the reads that feed the socket, so
 * hashing and sending overlap), and the digest once the end is reached. A
 * job is bounded so that the reads of this and other transfers are never
 * queued behind a whole file's hashing. */
static void cxf_hash_work(uv_work_t *w) {
  cxf *x = w->data;
  uint64_t stop = x->hashed + CXF_HASH_JOB;
  if (stop > x->t.m.size)
    stop = x->t.m.size;
  while (x->hashed < stop) {
    uint64_t left = stop - x->hashed;
    size_t want = left < CXF_IO ? (size_t)left : CXF_IO;
    ssize_t n = pread(x->fd, x->hbuf, want, (off_t)x->hashed);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      x->hash_err = n == 0 ? ESTALE : errno; /* shrank: changed */
      return;
    }
    EVP_DigestUpdate(x->md, x->hbuf, (size_t)n);
    x->hashed += (uint64_t)n;
  }
  if (x->hashed == x->t.m.size)
    EVP_DigestFinal_ex(x->md, x->sha, NULL);
}

static void cxf_hash_after(uv_work_t *w, int status);

/* Sender: queues the next hashing job. Returns 0 or a negative uv error. */
static int cxf_hash_next(cxf *x) {
  x->hwork.data = x;
  x->hash_err = 0;
  int r = uv_queue_work(x->c->loop, &x->hwork, cxf_hash_work, cxf_hash_after);
  if (r == 0) {
    x->hbusy = true;
    x->c->live++;
  }
  return r;
}

static void cxf_io_fail(cxf *x, const char *what);
static void cxf_prehash_more(client *c);

/* A hashing job (either side) came back to the loop. Returns false when
 * the transfer ended meanwhile: then its resources are released. */
static bool cxf_hash_back(cxf *x, int status) {
  x->hbusy = false;
  x->c->live--;
  if (status == UV_ECANCELED || x->ended) {
    cxf_maybe_release(x);
    cxf_prehash_more(x->c);
    client_maybe_stopped(x->c);
    return false;
  }
  return true;
}

/* Sender, on the loop: more hashing, or the digest is ready: FILE_DONE
 * follows the last byte (now, if it has been queued already). */
static void cxf_hash_after(uv_work_t *w, int status) {
  cxf *x = w->data;
  if (!cxf_hash_back(x, status))
    return;
  if (x->hash_err != 0) {
    x->io_err = x->hash_err;
    cxf_io_fail(x, x->hash_err == ESTALE ? "the file changed while sending"
                                         : "cannot read the file");
    return;
  }
  if (x->hashed < x->t.m.size) {
    if (cxf_hash_next(x) < 0) {
      x->io_err = EIO;
      cxf_io_fail(x, "cannot start disk work");
    }
    return;
  }
  x->hash_done = true;
  cxf_prehash_more(x->c);
  cxf_dconn *d = x->win;
  if (d != NULL && !d->closing && !x->done_sent && x->io_pos == x->t.m.size) {
    cxf_push_done(x, d);
    if (stream_flush(&d->s, &d->out) < 0)
      cxf_dconn_close(d);
  }
}

/* The pace is over: a sender reads on, a receiver writes on. */
static void cxf_paced(cxf *x) {
  if (x->t.m.dir == XFER_SEND) {
    cxf_pump(x);
    return;
  }
  x->recv_held = false;
  cxf_recv_written(x);
}

static void cxf_on_pace(uv_timer_t *t) {
  cxf_paced(t->data);
}

/* Goes on (cxf_paced) after ms. */
static void cxf_pace(cxf *x, uint64_t ms) {
  if (!x->pace_on) {
    if (uv_timer_init(x->c->loop, &x->pace) < 0) {
      cxf_paced(x);
      return;
    }
    x->pace.data = x;
    x->pace_on = true;
    x->handles++;
    x->c->live++;
  }
  (void)uv_timer_start(&x->pace, cxf_on_pace, ms, 0);
}

static void cxf_send_frame_if_open(cxf *x, const proto_msg *m);

/* Pumps now, or after PARLEY_TEST_XFER_DELAY_MS (tests slow a sender down
 * with it to catch a transfer in the middle). */
static void cxf_pump_later(cxf *x) {
  const char *e = getenv("PARLEY_TEST_XFER_DELAY_MS");
  unsigned ms = e ? (unsigned)atoi(e) : 0;
  if (ms == 0)
    cxf_pump(x);
  else
    cxf_pace(x, ms);
}

/* Receiver: a buffer is on disk; goes on now, or after
 * PARLEY_TEST_RECV_DELAY_MS (tests slow a receiver down with it to catch a
 * download in the middle; the socket stops being read meanwhile). */
static void cxf_recv_written_later(cxf *x) {
  const char *e = getenv("PARLEY_TEST_RECV_DELAY_MS");
  unsigned ms = e ? (unsigned)atoi(e) : 0;
  if (ms == 0) {
    cxf_recv_written(x);
    return;
  }
  x->recv_held = true;
  cxf_pace(x, ms);
}

/* Sender with --send-rate: milliseconds until the bytes read so far in
 * this run fit the rate, 0 when the next read may go now. */
static uint64_t cxf_rate_wait(const cxf *x) {
  uint64_t rate = x->c->opts.send_rate;
  if (rate == 0)
    return 0;
  uint64_t elapsed = uv_now(x->c->loop) - x->t.m.start_ms;
  uint64_t sent = x->io_pos - x->t.m.start_pos;
  uint64_t allowed = elapsed * rate / 1000;
  return sent <= allowed ? 0 : (sent - allowed) * 1000 / rate + 1;
}

/* Ends x as failed with reason, which the other side hears too
 * (FILE_CANCEL through the server, or on a folder's data connection). */
static void cxf_fail_cancel(cxf *x, enum xfer_error err, const char *reason) {
  proto_msg m = {.type = PROTO_FILE_CANCEL};
  m.u.file_cancel.offer_id = x->t.offer_id;
  m.u.file_cancel.peer = proto_str_c(x->peer);
  m.u.file_cancel.reason = proto_str_c(reason);
  if (x->folder) /* parleyd hears it on the data connection */
    cxf_send_frame_if_open(x, &m);
  else
    (void)client_conn_send(x->c, &m);
  cxf_end(x, XFER_FAILED, err, "%s", reason);
}

/* The error of a failed job as the user reads it. */
static void cxf_io_fail(cxf *x, const char *what) {
  int e = x->io_err;
  enum xfer_error err = e == ENOSPC || e == EFBIG || e == EDQUOT
                            ? XFER_ERR_DISK_FULL
                            : XFER_ERR_IO;
  const char *why = e == EFBIG ? "disk full (file size limit reached)"
                    : e == ENOSPC || e == EDQUOT ? "disk full"
                                                 : strerror(e);
  char reason[160];
  snprintf(reason, sizeof reason, "%s: %s", what, why);
  cxf_fail_cancel(x, err, reason);
}

static void cxf_send_frame(cxf_dconn *d, const proto_msg *m);
static void cxf_accept_sent(cxf *x);
static void cxf_lost_later(cxf *x, int err);

static void cxf_after(uv_work_t *w, int status) {
  cxf *x = w->data;
  client *c = x->c;
  x->busy = false;
  c->live--;
  if (status == UV_ECANCELED || x->ended) {
    cxf_maybe_release(x);
    client_maybe_stopped(c);
    return;
  }
  uint64_t now = uv_now(c->loop);
  switch (x->job) {
  case CXF_JOB_PREPARE:
    if (x->io_err != 0) {
      cxf_io_fail(x, "cannot create the file");
      return;
    }
    cxf_accept_sent(x);
    return;
  case CXF_JOB_READ: {
    if (x->io_err != 0) {
      cxf_io_fail(x, x->io_err == ESTALE ? "the file changed while sending"
                                         : "cannot read the file");
      return;
    }
    cxf_dconn *d = x->win;
    fbuf *frames = x->frames;
    x->frames = NULL;
    if (d == NULL || d->closing || outq_push(&d->out, frames) < 0) {
      fbuf_unref(frames);
      return;
    }
    fbuf_unref(frames); /* the queue holds it */
    x->io_pos += x->buf_n;
    (void)xfer_progress(&x->t.m, x->io_pos, now);
    if (x->io_pos == x->t.m.size && x->hash_done)
      cxf_push_done(x, d);
    if (stream_flush(&d->s, &d->out) < 0) {
      cxf_dconn_close(d);
      cxf_lost_later(x, UV_ECONNRESET); /* the reason may be on its way */
      return;
    }
    cxf_event(x, false);
    cxf_pump_later(x);
    return;
  }
  case CXF_JOB_WRITE:
    if (x->io_err != 0) {
      cxf_io_fail(x, "cannot write the file");
      return;
    }
    if (!x->hbusy) /* else cxf_rhash_after goes on */
      cxf_recv_written_later(x);
    return;
  case CXF_JOB_FINISH:
    if (x->io_err != 0) {
      cxf_io_fail(x, x->io_err == EBADMSG
                         ? "checksum mismatch; the file was discarded"
                         : "cannot store the file");
      return;
    }
    {
      proto_msg m = {.type = PROTO_FILE_DONE}; /* tells the server it ended */
      m.u.file_done.xfer_id = x->t.offer_id;
      m.u.file_done.sha256 = (proto_blob){x->sha, PROTO_HASH_LEN};
      if (!x->folder) /* the folder's server hears it on the data path */
        (void)client_conn_send(c, &m);
      if (x->win != NULL && !x->win->closing) /* and to the sender */
        cxf_send_frame(x->win, &m);
    }
    close(x->fd);
    x->fd = -1;
    cxf_end(x, XFER_DONE, XFER_ERR_NONE, NULL);
    return;
  }
}

/* Starts a job; the client stays alive until it returns. */
static bool cxf_start_job(cxf *x, int job) {
  if (x->busy)
    return false;
  if (cxf_queue(x, job) < 0) {
    x->io_err = EIO;
    cxf_io_fail(x, "cannot start disk work");
    return false;
  }
  x->busy = true;
  x->c->live++;
  return true;
}

/* Sender: reads the next piece while the connection's queue is short. */
static void cxf_pump(cxf *x) {
  cxf_dconn *d = x->win;
  if (x->ended || x->busy || d == NULL || d->closing || x->done_sent)
    return;
  if (d->out.bytes > CXF_SEND_HIGH)
    return; /* on_drain comes back */
  if (x->t.m.size == 0) {
    EVP_DigestFinal_ex(x->md, x->sha, NULL);
    cxf_push_done(x, d);
    if (stream_flush(&d->s, &d->out) < 0)
      cxf_dconn_close(d);
    return;
  }
  if (x->io_pos == x->t.m.size)
    return; /* FILE_DONE follows the hashing */
  uint64_t wait = cxf_rate_wait(x);
  if (wait > 0) {
    cxf_pace(x, wait);
    return;
  }
  size_t want = CXF_SEND_IO;
  uint64_t rate = x->c->opts.send_rate; /* a quarter second's worth */
  if (rate > 0 && rate / 4 < want)
    want = rate / 4 > 4096 ? (size_t)(rate / 4) : 4096;
  if (x->t.m.size - x->io_pos < want)
    want = (size_t)(x->t.m.size - x->io_pos);
  /* Made here, on the loop (fbufs are counted there); filled in the pool. */
  x->frames =
      fbuf_new((want + PROTO_MAX_CHUNK - 1) / PROTO_MAX_CHUNK * CXF_FRAME);
  if (x->frames == NULL) {
    x->io_err = ENOMEM;
    cxf_io_fail(x, "cannot read the file");
    return;
  }
  x->buf_n = want;
  (void)cxf_start_job(x, CXF_JOB_READ);
}

/* Receiver: the buffer is on disk and hashed: acknowledge it, read again
 * if reading had stopped, and hand the disk what arrived meanwhile. */
static void cxf_recv_written(cxf *x) {
  x->io_pos += x->buf_n;
  x->buf_n = 0;
  (void)xfer_progress(&x->t.m, x->io_pos, uv_now(x->c->loop));
  if (x->win != NULL && !x->win->closing) {
    proto_msg m = {.type = PROTO_FILE_ACK};
    m.u.file_ack.xfer_id = x->t.offer_id;
    m.u.file_ack.offset = x->io_pos;
    cxf_send_frame(x->win, &m);
    if (x->acc_n < CXF_RECV_MAX)
      (void)stream_read_start(&x->win->s);
  }
  cxf_event(x, false);
  cxf_recv_flush(x);
}

/* Receiver, in the pool: hashes the buffer the write job writes. */
static void cxf_rhash_work(uv_work_t *w) {
  cxf *x = w->data;
  EVP_DigestUpdate(x->md, x->buf, x->buf_n);
}

/* Receiver, on the loop: the hash has the buffer; once the write is done
 * too, the transfer goes on as after the write job. */
static void cxf_rhash_after(uv_work_t *w, int status) {
  cxf *x = w->data;
  if (cxf_hash_back(x, status) && !x->busy) /* the write went well */
    cxf_recv_written_later(x);
}

/* Receiver: hands what arrived to the disk, or finishes. The write and the
 * hash of one buffer run as two jobs at once, so that on a machine with
 * cores to spare the hash (the bigger cost) does not wait for the disk;
 * the next buffer fills meanwhile. */
static void cxf_recv_flush(cxf *x) {
  if (x->ended || x->busy || x->hbusy || x->recv_held)
    return;
  if (x->acc_n > 0) {
    uint8_t *t = x->buf;
    x->buf = x->acc;
    x->buf_n = x->acc_n;
    x->acc = t;
    x->acc_n = 0;
    x->hwork.data = x;
    if (uv_queue_work(x->c->loop, &x->hwork, cxf_rhash_work, cxf_rhash_after) <
        0) {
      x->io_err = EIO;
      cxf_io_fail(x, "cannot start disk work");
      return;
    }
    x->hbusy = true;
    x->c->live++;
    (void)cxf_start_job(x, CXF_JOB_WRITE);
    return;
  }
  if (x->done_recv && x->io_pos == x->t.m.size) {
    x->t.verifying = true;
    cxf_event(x, true);
    (void)cxf_start_job(x, CXF_JOB_FINISH);
  }
}

/* ---- data connections --------------------------------------------------- */

static void cxf_send_frame(cxf_dconn *d, const proto_msg *m) {
  if (d->closing)
    return;
  if (outq_push_msg(&d->out, m) < 0 || stream_flush(&d->s, &d->out) < 0)
    cxf_dconn_close(d);
}

/* Sender: the connection d says FILE_ACK { offset }: the first one wins. */
static void cxf_sender_ack(cxf *x, cxf_dconn *d, uint64_t off) {
  uint64_t now = uv_now(x->c->loop);
  if (x->win == NULL) {
    if (off > x->t.m.size) {
      cxf_dconn_close(d);
      return;
    }
    x->win = d;
    x->t.relay = d->relay;
    x->t.path_known = true;
    cxf_close_path(x, true);
    x->io_pos = off; /* the receiver starts from 0 (no resume yet) */
    (void)xfer_start(&x->t.m, off, now);
    cxf_event(x, true);
    cxf_pump(x);
    return;
  }
  if (d != x->win)
    return;
  (void)xfer_ack(&x->t.m, off); /* done only when the receiver verified */
  cxf_event(x, false);
}

/* Receiver: d completed its handshake; the first one wins. */
static void cxf_receiver_shaken(cxf *x, cxf_dconn *d) {
  if (x->win != NULL) {
    cxf_dconn_close(d);
    return;
  }
  x->win = d;
  x->t.relay = d->relay;
  x->t.path_known = true;
  cxf_close_path(x, true);
  x->t.m.status = XFER_CONNECTING;
  (void)xfer_start(&x->t.m, x->io_pos, uv_now(x->c->loop));
  proto_msg m = {.type = PROTO_FILE_ACK};
  m.u.file_ack.xfer_id = x->t.offer_id;
  m.u.file_ack.offset = x->io_pos;
  cxf_send_frame(d, &m);
  cxf_event(x, true);
}

/* Receiver: whether n bytes of data at offset are the next ones, from the
 * winning connection, within the file and the buffer. */
static bool cxf_data_fits(const cxf *x, const cxf_dconn *d, uint64_t offset,
                          size_t n) {
  return x->t.m.dir == XFER_RECV && d == x->win &&
         offset == x->io_pos + x->buf_n + x->acc_n &&
         offset + n <= x->t.m.size && x->acc_n + n <= CXF_ACC_CAP;
}

/* Receiver: a FILE_DATA's bytes are in acc: the disk gets them once there
 * are enough, and reading stops while it is behind. */
static void cxf_data_landed(cxf *x, cxf_dconn *d) {
  if (x->acc_n >= CXF_RECV_IO) {
    cxf_recv_flush(x);
    if (x->acc_n >= CXF_RECV_MAX)
      (void)stream_read_stop(&d->s); /* the disk is behind: push back */
  }
}

/* Receiver: a FILE_DATA frame that did not arrive whole in this read goes
 * into acc as it comes (its head checked first, as cxf_dconn_frame would),
 * instead of being assembled by the framer and then copied: one copy of
 * each byte in user space, not two. Returns false to leave the bytes to
 * the framer (no such frame, or one it must judge). */
static bool cxf_data_direct(cxf_dconn *d, const uint8_t **p, size_t *n) {
  cxf *x = d->x;
  uint64_t id, off;
  size_t len;
  if (x == NULL || x->ended || !d->shaken || d->start_inner ||
      framer_pending(&d->in) > 0 ||
      !proto_file_data_peek(*p, *n, &id, &off, &len) ||
      *n >= PROTO_FILE_DATA_HEAD + len || !cxf_data_fits(x, d, off, len))
    return false;
  size_t k = *n - PROTO_FILE_DATA_HEAD;
  memcpy(x->acc + x->acc_n, *p + PROTO_FILE_DATA_HEAD, k);
  x->acc_n += k;
  d->data_left = len - k;
  *p += *n;
  *n = 0;
  return true;
}

/* One frame on a data connection. */
static void cxf_dconn_frame(cxf_dconn *d, const proto_msg *m) {
  cxf *x = d->x;
  if (x == NULL || x->ended) {
    cxf_dconn_close(d);
    return;
  }
  bool sender = x->t.m.dir == XFER_SEND;
  if (!d->shaken) {
    if (m->type != PROTO_FILE_CONNECT ||
        m->u.file_connect.offer_id != x->t.offer_id ||
        m->u.file_connect.side !=
            (sender ? PROTO_SIDE_RECEIVER : PROTO_SIDE_SENDER)) {
      cxf_dconn_close(d);
      return;
    }
    if (d->inbound) { /* our listener: the token proves the offer */
      if (CRYPTO_memcmp(m->u.file_connect.token.p, x->token, PROTO_TOKEN_LEN) !=
          0) {
        cxf_dconn_close(d);
        return;
      }
      proto_msg r = {.type = PROTO_FILE_CONNECT};
      r.u.file_connect.offer_id = x->t.offer_id;
      r.u.file_connect.side = PROTO_SIDE_SENDER;
      r.u.file_connect.token = (proto_blob){x->token, PROTO_TOKEN_LEN};
      cxf_send_frame(d, &r);
    }
    d->shaken = true;
    if (d->relay && d->e2e) /* the clients' own TLS starts inside */
      d->start_inner = true;
    else if (!sender)
      cxf_receiver_shaken(x, d);
    return;
  }
  switch (m->type) {
  case PROTO_FILE_ACK:
    if (sender)
      cxf_sender_ack(x, d, m->u.file_ack.offset);
    return;
  case PROTO_FILE_DATA: {
    const proto_file_data *fd = &m->u.file_data;
    if (!cxf_data_fits(x, d, fd->offset, fd->data.n)) {
      x->io_err = EPROTO;
      cxf_io_fail(x, "the sender broke the protocol");
      return;
    }
    memcpy(x->acc + x->acc_n, fd->data.p, fd->data.n);
    x->acc_n += fd->data.n;
    cxf_data_landed(x, d);
    return;
  }
  case PROTO_FILE_DONE:
    if (sender && d == x->win && x->done_sent) { /* the receiver verified */
      if (CRYPTO_memcmp(m->u.file_done.sha256.p, x->sha, PROTO_HASH_LEN) == 0)
        cxf_end(x, XFER_DONE, XFER_ERR_NONE, NULL);
      else
        cxf_end(x, XFER_FAILED, XFER_ERR_HASH, "checksum mismatch");
      return;
    }
    if (sender || d != x->win)
      return;
    memcpy(x->peer_sha, m->u.file_done.sha256.p, PROTO_HASH_LEN);
    x->done_recv = true;
    if (x->io_pos + x->buf_n + x->acc_n != x->t.m.size) {
      x->io_err = EPROTO;
      cxf_io_fail(x, "the sender ended early");
      return;
    }
    cxf_recv_flush(x);
    return;
  case PROTO_FILE_CANCEL: {
    char why[PROTO_MAX_REASON * 4 + 1];
    proto_str_copy(why, sizeof why, m->u.file_cancel.reason);
    cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE, "cancelled by %s%s%s", x->peer,
            why[0] ? ": " : "", why);
    return;
  }
  default:
    cxf_dconn_close(d);
  }
}

static void cxf_host(const struct sockaddr *sa, char *dst, size_t cap);

/* The end-to-end TLS context of the receiving side (made once). */
static struct tls_ctx *cxf_peer_ctx(client *c) {
  cxf_state *st = cxf_get(c);
  if (st == NULL)
    return NULL;
  if (st->peer_tls == NULL) {
    char err[160];
    st->peer_tls = tls_ctx_peer_client(err, sizeof err);
  }
  return st->peer_tls;
}

/* Relay: the server paired us; the clients' TLS starts inside its TLS (the
 * receiver as the client, the sender with this transfer's key). pre: the
 * inner bytes that came with the server's FILE_CONNECT. */
static void cxf_start_inner(cxf_dconn *d, const uint8_t *pre, size_t n) {
  cxf *x = d->x;
  bool sender = x->t.m.dir == XFER_SEND;
  struct tls_ctx *ctx = sender ? x->tls : cxf_peer_ctx(d->c);
  if (ctx == NULL || tls_start_inner(&d->s, ctx, !sender, pre, n) < 0)
    cxf_dconn_close(d);
}

/* Receiver: the sender's key (direct, or inside the relay) must be the one
 * it pinned through the server; else the connection is refused before
 * the token goes out, and the transfer fails saying why. */
static bool cxf_pin_holds(cxf *x, cxf_dconn *d) {
  uint8_t got[TLS_DIGEST_LEN];
  if (x->pinned && tls_peer_digest(&d->s, got) == 0 &&
      CRYPTO_memcmp(got, x->pin, TLS_DIGEST_LEN) == 0)
    return true;
  char want[TLS_FINGERPRINT_SZ] = "none", saw[TLS_FINGERPRINT_SZ] = "none";
  if (x->pinned)
    (void)tls_digest_text(x->pin, want, sizeof want);
  (void)tls_peer_fingerprint(&d->s, saw, sizeof saw);
  char reason[PROTO_MAX_REASON];
  snprintf(reason, sizeof reason,
           "refused the %s data connection: the sender's key %s is not "
           "the one it pinned through the server (%s)",
           d->relay ? "relayed" : "direct", saw, want);
  cxf_dconn_close(d);
  cxf_fail_cancel(x, XFER_ERR_NETWORK, reason);
  return false;
}

/* A TLS handshake completed: with parleyd (a relay leg or a folder
 * connection), whose key must be the chat connection's; or with the other
 * client, whose key the receiver checks against the pin. */
static void cxf_dconn_secure(stream *s) {
  cxf_dconn *d = stream_data(s);
  if (d->closing)
    return;
  cxf *x = d->x;
  if (x == NULL || x->ended) {
    cxf_dconn_close(d);
    return;
  }
  if (d->server && !tls_inner_active(s)) {
    char fp[TLS_FINGERPRINT_SZ];
    if (tls_peer_fingerprint(s, fp, sizeof fp) < 0 ||
        strcmp(fp, d->c->m.fingerprint) != 0)
      cxf_dconn_close(d); /* not the server the chat connection trusts */
    return;
  }
  if (x->t.m.dir == XFER_SEND)
    return; /* the receiver proves itself with the token, inside */
  if (cxf_pin_holds(x, d) && d->relay)
    cxf_receiver_shaken(x, d);
}

static void cxf_dconn_read(stream *s, const uint8_t *p, size_t n) {
  cxf_dconn *d = stream_data(s);
  while (!d->closing) {
    if (d->data_left > 0) { /* the rest of a FILE_DATA (cxf_data_direct) */
      cxf *x = d->x;
      if (x == NULL || x->ended) {
        cxf_dconn_close(d);
        return;
      }
      size_t k = n < d->data_left ? n : d->data_left;
      memcpy(x->acc + x->acc_n, p, k);
      x->acc_n += k;
      d->data_left -= k;
      p += k;
      n -= k;
      if (d->data_left == 0)
        cxf_data_landed(x, d);
      if (n == 0)
        return;
      continue;
    }
    if (cxf_data_direct(d, &p, &n))
      return;
    const uint8_t *frame;
    ssize_t r = framer_next(&d->in, &p, &n, PROTO_MAX_FRAME, &frame);
    if (r == 0)
      return;
    proto_msg m;
    if (r < 0 || proto_decode(frame, (size_t)r, &m) <= 0) {
      cxf_dconn_close(d);
      return;
    }
    cxf_dconn_frame(d, &m);
    if (d->start_inner && !d->closing) { /* what follows is inner TLS */
      d->start_inner = false;
      cxf_start_inner(d, p, n);
      return;
    }
  }
}

static void cxf_dconn_drain(stream *s) {
  cxf_dconn *d = stream_data(s);
  if (d->closing)
    return;
  if (d->out.count > 0 && stream_flush(&d->s, &d->out) < 0) {
    cxf_dconn_close(d);
    return;
  }
  if (d->x != NULL && d->x->win == d && d->x->t.m.dir == XFER_SEND)
    cxf_pump(d->x);
}

static void cxf_on_lost(uv_timer_t *t);
static void cxf_reoffer(cxf *old);
static void cxf_folder_again(cxf *old);

/* The winning data connection broke: the other side's reason may still be
 * on its way through the server, so wait CXF_LOST_MS before calling it an
 * interruption. */
static void cxf_lost_later(cxf *x, int err) {
  x->lost_err = err; /* not io_err: a job in the pool may be setting it */
  if (!x->pace_on) {
    if (uv_timer_init(x->c->loop, &x->pace) < 0) {
      cxf_on_lost(&x->pace);
      return;
    }
    x->pace.data = x;
    x->pace_on = true;
    x->handles++;
    x->c->live++;
  }
  x->pace.data = x;
  (void)uv_timer_start(&x->pace, cxf_on_lost, CXF_LOST_MS, 0);
}

static void cxf_dconn_error(stream *s, int err) {
  cxf_dconn *d = stream_data(s);
  (void)err;
  if (d->closing)
    return;
  cxf *x = d->x;
  if (x != NULL && x->win == d && !x->ended) {
    if ((x->t.m.dir == XFER_SEND && x->done_sent) ||
        (x->t.m.dir == XFER_RECV && x->done_recv))
      ; /* all bytes moved; the verdict goes through the server */
    else
      cxf_lost_later(x, err);
  }
  cxf_dconn_close(d);
}

/* The grace period after a data connection broke is over: nothing came
 * through the server (FILE_CANCEL with a reason), so it was the network. */
static void cxf_on_lost(uv_timer_t *t) {
  cxf *x = t->data;
  if (x->ended)
    return;
  x->keep = true; /* resumes when both sides are back */
  cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK,
          "interrupted: data connection lost (%s)", uv_strerror(x->lost_err));
  if (x->folder) {
    cxf_folder_again(x); /* from what the server or the .part kept */
    return;
  }
  /* Both may be back already (a server restart is over before this grace
   * period): then no login or presence change will prompt the re-offer. */
  if (x->t.m.dir == XFER_SEND && client_ready(x->c) &&
      client_user_find(x->c, x->peer) != NULL)
    cxf_reoffer(x);
}

static const stream_ops cxf_dconn_ops = {
    .on_read = cxf_dconn_read,
    .on_drain = cxf_dconn_drain,
    .on_error = cxf_dconn_error,
    .on_close = cxf_dconn_closed,
    .on_secure = cxf_dconn_secure,
};

/* A new data connection for x in a free slot (NULL when none). */
static cxf_dconn *cxf_dconn_new(cxf *x) {
  int slot = -1;
  for (int i = 0; i < CXF_CONNS && slot < 0; i++)
    if (x->dc[i] == NULL)
      slot = i;
  if (slot < 0)
    return NULL;
  cxf_dconn *d = calloc(1, sizeof *d);
  if (d == NULL)
    return NULL;
  if (stream_init(&d->s, x->c->loop, &cxf_dconn_ops, d) < 0) {
    free(d);
    return NULL;
  }
  d->c = x->c;
  d->x = x;
  x->dc[slot] = d;
  x->handles++;
  x->c->live++;
  return d;
}

static void cxf_dconn_connected(stream *s, int status) {
  cxf_dconn *d = stream_data(s);
  if (d->closing)
    return;
  if (status < 0 || d->x == NULL || d->x->ended) {
    cxf_dconn_close(d);
    return;
  }
  (void)uv_tcp_nodelay(&d->s.tcp, 1);
  client *c = d->c;
  int r = stream_read_start(&d->s);
  if (r == 0 && d->server && c->tls != NULL) {
    r = tls_start(&d->s, c->tls, c->m.host, NULL, 0);
  } else if (r == 0 && d->e2e) { /* direct: the receiver is the client */
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[PROTO_MAX_ADDR + 1] = "parley";
    if (uv_tcp_getpeername(&d->s.tcp, (struct sockaddr *)&ss, &len) == 0)
      cxf_host((struct sockaddr *)&ss, host, sizeof host);
    struct tls_ctx *ctx = cxf_peer_ctx(c);
    r = ctx != NULL ? tls_start(&d->s, ctx, host, NULL, 0) : UV_ENOMEM;
  }
  if (r < 0)
    cxf_dconn_close(d);
}

/* Connects a data connection to addr and queues our FILE_CONNECT. */
static void cxf_dial(cxf *x, const struct sockaddr *addr, const uint8_t *token,
                     bool relay) {
  cxf_dconn *d = cxf_dconn_new(x);
  if (d == NULL)
    return;
  d->relay = relay;
  d->server = relay || x->folder;
  d->e2e = x->c->tls != NULL && !x->folder;
  proto_msg m = {.type = PROTO_FILE_CONNECT};
  m.u.file_connect.offer_id = x->t.offer_id;
  m.u.file_connect.side =
      x->t.m.dir == XFER_SEND ? PROTO_SIDE_SENDER : PROTO_SIDE_RECEIVER;
  m.u.file_connect.token = (proto_blob){token, PROTO_TOKEN_LEN};
  if (outq_push_msg(&d->out, &m) < 0 ||
      stream_connect(&d->s, addr, cxf_dconn_connected) < 0) {
    cxf_dconn_close(d);
    return;
  }
  if (!(d->server && x->c->tls != NULL) && !d->e2e)
    (void)stream_flush(&d->s, &d->out); /* goes out once connected */
  /* else inside TLS: on_drain sends it once the handshake is done */
}

/* Sender's listener: a receiver dials in. */
static void cxf_on_listen(uv_stream_t *l, int status) {
  cxf *x = l->data;
  if (status < 0 || x->ended)
    return;
  cxf_dconn *d = cxf_dconn_new(x);
  if (d == NULL)
    return; /* no slot: the pending connection waits in the backlog */
  d->inbound = true;
  d->e2e = x->tls != NULL;
  if (stream_accept(&d->s, l) < 0 || stream_read_start(&d->s) < 0 ||
      (d->e2e && tls_start(&d->s, x->tls, NULL, NULL, 0) < 0)) {
    cxf_dconn_close(d);
    return;
  }
  (void)uv_tcp_nodelay(&d->s.tcp, 1);
}

/* ---- the chat side ------------------------------------------------------ */

/* True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
static bool cxf_is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) ==
           127;
  const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(a) ||
         (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* The address of parleyd as the chat connection reached it, port included. */
static int cxf_server_addr(client *c, struct sockaddr_storage *ss) {
  if (c->conn == NULL)
    return UV_ENOTCONN;
  int len = sizeof *ss;
  return uv_tcp_getpeername(&c->conn->s.tcp, (struct sockaddr *)ss, &len);
}

static void cxf_send_relay_req(cxf *x) {
  if (x->relay_asked || x->ended || x->win != NULL)
    return;
  x->relay_asked = true;
  uint8_t zero[PROTO_TOKEN_LEN] = {0};
  proto_msg m = {.type = PROTO_FILE_RELAY};
  m.u.file_relay.offer_id = x->t.offer_id;
  m.u.file_relay.peer = proto_str_c(x->peer);
  m.u.file_relay.token = (proto_blob){zero, PROTO_TOKEN_LEN};
  (void)client_conn_send(x->c, &m);
}

static void cxf_on_timer(uv_timer_t *t) {
  cxf *x = t->data;
  if (!x->ended && x->win == NULL)
    cxf_send_relay_req(x); /* direct did not make it in time */
}

/* Receiver: buffers and the hash before the .part file is prepared. */
static int cxf_recv_alloc(cxf *x) {
  x->md = EVP_MD_CTX_new();
  x->buf = malloc(CXF_ACC_CAP);
  x->acc = malloc(CXF_ACC_CAP);
  if (x->md == NULL || x->buf == NULL || x->acc == NULL ||
      EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1)
    return -1;
  return 0;
}

/* Receiver: the .part file exists: tell the sender, start the clock. */
static void cxf_folder_dial(cxf *x);

static void cxf_accept_sent(cxf *x) {
  client *c = x->c;
  cxf_copy(x->t.file, sizeof x->t.file, x->part);
  x->t.m.start_pos = x->t.m.pos = x->io_pos;
  if (x->folder) {      /* a download: straight to parleyd's data connection */
    cxf_save(x, false); /* resumable (next start too) until it ends */
    cxf_folder_dial(x);
    return;
  }
  cxf_save(x, false);
  proto_msg m = {.type = PROTO_FILE_ACCEPT};
  m.u.file_accept.offer_id = x->t.offer_id;
  m.u.file_accept.peer = proto_str_c(x->peer);
  m.u.file_accept.offset = x->io_pos; /* resume from what the .part holds */
  if (client_conn_send(c, &m) < 0) {
    cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK, "not connected to the server");
    return;
  }
  (void)xfer_connect(&x->t.m);
  if (c->opts.relay_only) {
    cxf_send_relay_req(x);
  } else if (uv_timer_init(c->loop, &x->timer) == 0) {
    x->timer.data = x;
    x->timer_on = true;
    x->handles++;
    c->live++;
    (void)uv_timer_start(&x->timer, cxf_on_timer, CLIENT_XFER_DIRECT_MS, 0);
  }
  cxf_event(x, true);
}

/* Sender: opens the source (once: an offer may have opened it to hash it
 * before the accept) and checks it is still the file offered. Returns 0,
 * or -1 with io_err set; what = why, as the user reads it. */
static int cxf_source(cxf *x, const char **what) {
  *what = "cannot open the file";
  if (x->fd < 0) {
    x->fd = open(x->t.file, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0) {
      x->io_err = errno;
      return -1;
    }
  }
  if (x->md == NULL && (x->md = EVP_MD_CTX_new()) != NULL &&
      EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(x->md);
    x->md = NULL;
  }
  if (x->hbuf == NULL)
    x->hbuf = malloc(CXF_IO);
  if (x->md == NULL || x->hbuf == NULL) {
    x->io_err = ENOMEM;
    return -1;
  }
  struct stat st;
  if (fstat(x->fd, &st) < 0 || (uint64_t)st.st_size != x->t.m.size ||
      (x->mtime != 0 && (uint64_t)st.st_mtim.tv_sec != x->mtime)) {
    *what = "the file changed since it was offered";
    x->io_err = ESTALE;
    return -1;
  }
  /* Hashing starts before any connection (at the latest now, when it did
   * not while the offer waited): the digest is often ready by the time
   * the last byte leaves. */
  if (x->t.m.size > 0 && !x->hbusy && !x->hash_done && cxf_hash_next(x) < 0) {
    *what = "cannot start disk work";
    x->io_err = EIO;
    return -1;
  }
  return 0;
}

/* Sender: the recipient accepted: the source must be open and hashing.
 * Returns 0, or -1 after failing x. */
static int cxf_open_source(cxf *x) {
  const char *what;
  if (cxf_source(x, &what) == 0)
    return 0;
  cxf_io_fail(x, what);
  return -1;
}

/* Sender: offers that wait for their accept hash their files meanwhile, in
 * the pool like all hashing, so that when the bytes flow the sender mostly
 * reads and sends (hashing costs ~1 CPU-second per GB here, as much as all
 * the rest of sending). At most CXF_PREHASH at once: a /send DIR makes up
 * to CLIENT_XFER_MAX offers, and accepted transfers must not wait behind
 * their hashing. The offer itself went out first; a failure here is left
 * for the accept to find and report. */
static void cxf_prehash_more(client *c) {
  cxf_state *st = c->xf;
  if (st == NULL || c->stopping)
    return;
  unsigned running = 0;
  for (size_t i = 0; i < st->n; i++) {
    const cxf *x = st->x[i];
    if (x->t.m.dir == XFER_SEND && !x->ended && !x->t.accepted && x->hbusy)
      running++;
  }
  for (size_t i = 0; i < st->n && running < CXF_PREHASH; i++) {
    cxf *x = st->x[i];
    const char *what;
    if (x->t.m.dir != XFER_SEND || x->ended || x->t.accepted || x->folder ||
        x->t.m.status != XFER_WAITING || x->hbusy || x->hash_done ||
        x->prehash_failed || x->t.m.size == 0)
      continue;
    if (cxf_source(x, &what) == 0) {
      running++;
      continue;
    }
    x->prehash_failed = true; /* the accept opens it again and says why */
    if (x->fd >= 0 && !x->hbusy) {
      close(x->fd);
      x->fd = -1;
    }
  }
}

/* The numeric host of an address. */
static void cxf_host(const struct sockaddr *sa, char *dst, size_t cap) {
  if (sa->sa_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)sa, dst, cap);
  else
    uv_ip6_name((const struct sockaddr_in6 *)sa, dst, cap);
}

/* Sender: the addresses to hint, at most CXF_HINTS: the chat connection's
 * local address first; unless that is loopback (the peer is then on this
 * machine too), the machine's other addresses of the same family (no
 * loopback, no IPv6 link-local: those need a scope). parleyd adds the
 * address it sees us from. Returns how many. */
static size_t cxf_hint_hosts(const struct sockaddr_storage *local,
                             char hosts[][PROTO_MAX_ADDR + 1]) {
  size_t n = 0;
  cxf_host((const struct sockaddr *)local, hosts[n++], PROTO_MAX_ADDR + 1);
  if (cxf_is_loopback(local))
    return n;
  uv_interface_address_t *ifs;
  int count;
  if (uv_interface_addresses(&ifs, &count) != 0)
    return n;
  for (int i = 0; i < count && n < CXF_HINTS; i++) {
    const struct sockaddr *sa = (const struct sockaddr *)&ifs[i].address;
    if (ifs[i].is_internal || sa->sa_family != local->ss_family)
      continue;
    if (sa->sa_family == AF_INET6 &&
        IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr))
      continue;
    char h[PROTO_MAX_ADDR + 1];
    cxf_host(sa, h, sizeof h);
    bool dup = false;
    for (size_t k = 0; k < n; k++)
      dup = dup || strcmp(hosts[k], h) == 0;
    if (!dup)
      memcpy(hosts[n++], h, sizeof h);
  }
  uv_free_interface_addresses(ifs, count);
  return n;
}

/* Sender: listens on an ephemeral port (on the chat connection's address
 * when that is loopback, else on every address of its family) and sends a
 * FILE_HINT per address. Without a listener the relay carries the file. */
static void cxf_listen_and_hint(cxf *x) {
  client *c = x->c;
  struct sockaddr_storage local, ss;
  int len = sizeof local;
  if (uv_tcp_getsockname(&c->conn->s.tcp, (struct sockaddr *)&local, &len) !=
          0 ||
      uv_tcp_init(c->loop, &x->listener) != 0)
    return;
  x->listener.data = x;
  x->listening = true;
  x->handles++;
  c->live++;
  ss = local;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_port = 0;
    if (!cxf_is_loopback(&local))
      a->sin_addr.s_addr = htonl(INADDR_ANY);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_port = 0;
    if (!cxf_is_loopback(&local))
      a->sin6_addr = in6addr_any;
  }
  len = sizeof ss;
  if (uv_tcp_bind(&x->listener, (struct sockaddr *)&ss, 0) != 0 ||
      uv_listen((uv_stream_t *)&x->listener, 4, cxf_on_listen) != 0 ||
      uv_tcp_getsockname(&x->listener, (struct sockaddr *)&ss, &len) != 0)
    return;
  uint16_t port =
      ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
  const char *fake = getenv("PARLEY_TEST_HINT_PORT");
  if (fake != NULL) /* tests: a hint to a closed port forces relay */
    port = (uint16_t)atoi(fake);
  char hosts[CXF_HINTS][PROTO_MAX_ADDR + 1];
  size_t n = cxf_hint_hosts(&local, hosts);
  const char *addr = getenv("PARLEY_TEST_HINT_ADDR");
  for (size_t i = 0; i < n; i++) {
    proto_msg m = {.type = PROTO_FILE_HINT};
    m.u.file_hint.offer_id = x->t.offer_id;
    m.u.file_hint.peer = proto_str_c(x->peer);
    /* tests: a wrong address of ours, which parleyd's hint mends */
    m.u.file_hint.addr = proto_str_c(addr != NULL ? addr : hosts[i]);
    m.u.file_hint.port = port;
    m.u.file_hint.token = (proto_blob){x->token, PROTO_TOKEN_LEN};
    (void)client_conn_send(c, &m);
  }
}

static void cxf_on_relay(cxf *x, const proto_file_relay *r);

/* A relay token that waited (for the sender's pin, or for the sender's own
 * key) is used now. */
static void cxf_use_held_relay(cxf *x) {
  if (!x->relay_held)
    return;
  x->relay_held = false;
  proto_file_relay r = {.offer_id = x->t.offer_id};
  r.token = (proto_blob){x->relay_token, PROTO_TOKEN_LEN};
  cxf_on_relay(x, &r);
}

/* Sender: the key made; its digest is pinned to the receiver through the
 * server (FILE_PIN, before any hint), then the data path opens. */
static void cxf_key_ready(cxf *x) {
  client *c = x->c;
  if (getenv("PARLEY_TEST_WRONG_PIN") != NULL)
    x->kmd[0] ^= 0xff; /* tests: a pin that the key does not match */
  proto_msg m = {.type = PROTO_FILE_PIN};
  m.u.file_pin.offer_id = x->t.offer_id;
  m.u.file_pin.peer = proto_str_c(x->peer);
  m.u.file_pin.key_sha256 = (proto_blob){x->kmd, TLS_DIGEST_LEN};
  (void)client_conn_send(c, &m);
  if (!c->opts.relay_only && c->conn != NULL)
    cxf_listen_and_hint(x);
  cxf_use_held_relay(x);
  cxf_event(x, true);
}

/* In the pool: a fresh Ed25519 key, its self-signed certificate and a
 * context for them, 0.8-2.8 ms that the loop would otherwise stall for at
 * every accepted offer. */
static void cxf_key_work(uv_work_t *w) {
  cxf *x = w->data;
  const char *e = getenv("PARLEY_TEST_KEY_DELAY_MS");
  if (e != NULL) /* tests: a cancel or quit while the key is made */
    usleep((useconds_t)atoi(e) * 1000);
  x->ktls = tls_ctx_peer_server(x->kmd, x->kerr, sizeof x->kerr);
}

/* Back on the loop: the transfer goes on with its key, unless it ended
 * (or the client stops) meanwhile. */
static void cxf_key_after(uv_work_t *w, int status) {
  cxf *x = w->data;
  client *c = x->c;
  struct tls_ctx *k = x->ktls;
  x->ktls = NULL;
  x->kbusy = false;
  c->live--;
  if (status == UV_ECANCELED || x->ended) {
    tls_ctx_free(k);
    cxf_maybe_release(x);
    client_maybe_stopped(c);
    return;
  }
  if (k == NULL) {
    cxf_fail_cancel(x, XFER_ERR_IO, x->kerr);
    return;
  }
  tls_ctx_free(x->tls);
  x->tls = k;
  cxf_key_ready(x);
}

/* Sender: makes this transfer's key for end-to-end TLS in the pool. 0, or
 * -1 after failing x. */
static int cxf_key_start(cxf *x) {
  x->kwork.data = x;
  x->ktls = NULL;
  if (uv_queue_work(x->c->loop, &x->kwork, cxf_key_work, cxf_key_after) < 0) {
    cxf_fail_cancel(x, XFER_ERR_IO, "cannot start making the transfer key");
    return -1;
  }
  x->kbusy = true;
  x->c->live++;
  return 0;
}

/* Sender: the recipient accepted: open the file; with TLS make the key
 * first, then listen and hint (cxf_key_ready). */
static void cxf_on_accept(cxf *x, const proto_file_accept *a) {
  client *c = x->c;
  if (x->t.m.status != XFER_WAITING || x->kbusy) {
    return;
  }
  x->t.accepted = true;
  x->t.reason[0] = '\0'; /* "waiting for bob to come online" is over */
  (void)xfer_connect(&x->t.m);
  if (cxf_open_source(x) < 0)
    return;
  cxf_prehash_more(c); /* x no longer counts as waiting */
  (void)a;
  if (c->tls != NULL) {
    if (cxf_key_start(x) == 0)
      cxf_event(x, true);
    return;
  }
  if (!c->opts.relay_only && c->conn != NULL)
    cxf_listen_and_hint(x);
  cxf_event(x, true);
}

/* Receiver: a hint: dial it (unless relay-only). */
static void cxf_on_hint(cxf *x, const proto_file_hint *h) {
  if (x->t.m.dir == XFER_RECV && x->t.accepted && x->c->tls != NULL &&
      !x->pinned) { /* the pin comes before any hint: there is none */
    cxf_fail_cancel(x, XFER_ERR_REFUSED, CXF_NO_PIN);
    return;
  }
  if (x->c->opts.relay_only || x->win != NULL || x->t.m.dir != XFER_RECV ||
      !x->t.accepted)
    return;
  char host[PROTO_MAX_ADDR + 1];
  proto_str_copy(host, sizeof host, h->addr);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (uv_ip4_addr(host, h->port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, h->port, (struct sockaddr_in6 *)&ss) != 0)
    return;
  if (x->nhints >= CXF_HINTS)
    return; /* bounded: the relay is the fallback anyway */
  for (unsigned i = 0; i < x->nhints; i++)
    if (memcmp(&x->hinted[i], &ss, sizeof ss) == 0)
      return; /* the same address twice (ours and parleyd's view agree) */
  x->hinted[x->nhints++] = ss;
  cxf_dial(x, (struct sockaddr *)&ss, h->token.p, false);
}

/* Either side: the relay token: dial parleyd (a receiver without the
 * sender's pin yet keeps the token until FILE_PIN comes, a sender whose
 * key is still being made until it is there). */
static void cxf_on_relay(cxf *x, const proto_file_relay *r) {
  if (x->win != NULL || x->ended || !x->t.accepted)
    return;
  if (x->c->tls != NULL &&
      (x->t.m.dir == XFER_RECV ? !x->pinned : !x->folder && x->kbusy)) {
    memcpy(x->relay_token, r->token.p, PROTO_TOKEN_LEN);
    x->relay_held = true;
    return;
  }
  struct sockaddr_storage ss;
  if (cxf_server_addr(x->c, &ss) < 0)
    return;
  cxf_dial(x, (struct sockaddr *)&ss, r->token.p, true);
}

/* Receiver: the sender's key digest; a relay token that waited for it
 * is used now. */
static void cxf_on_pin(cxf *x, const proto_file_pin *p) {
  memcpy(x->pin, p->key_sha256.p, TLS_DIGEST_LEN);
  x->pinned = true;
  cxf_use_held_relay(x);
}

/* "12.3 MiB" */
static void cxf_size_text(char *dst, size_t cap, uint64_t n) {
  fileio_size_text(dst, cap, n);
}

/* Copies one path component (p, n: no separator in it) into dst, made
 * safe: no control characters or C1 controls, no leading dot, space or
 * dash, at most 200 bytes, never cut inside a UTF-8 sequence. Returns its
 * length, 0 when nothing was left (also for "." and ".."). */
static size_t cxf_sanitize_part(char *dst, size_t cap, const char *p,
                                size_t n) {
  size_t o = 0;
  size_t lim = cap - 1 < 200 ? cap - 1 : 200;
  for (size_t i = 0; i < n && o < lim; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch < 0x20 || ch == 0x7f)
      continue; /* control characters and escapes go */
    if (ch == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x80 &&
        (unsigned char)p[i + 1] < 0xa0) {
      i++; /* C1 controls */
      continue;
    }
    if (o == 0 && (ch == '.' || ch == ' ' || ch == '-'))
      continue; /* no hidden files, no option-looking names */
    dst[o++] = (char)ch;
  }
  /* do not cut inside a UTF-8 sequence */
  while (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0x80) {
    size_t k = o;
    while (k > 0 && ((unsigned char)dst[k - 1] & 0xc0) == 0x80)
      k--;
    if (k == 0)
      break;
    unsigned char lead = (unsigned char)dst[k - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (o - (k - 1) >= want)
      break;
    o = k - 1;
  }
  if (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0xc0)
    o--;
  dst[o] = '\0';
  return o;
}

/* Makes a received name safe to store: its last path component only, made
 * safe as above ("file" when nothing is left). */
void client_xfer_sanitize(char *dst, size_t cap, proto_str in) {
  const char *p = in.p;
  size_t n = in.n;
  for (size_t i = n; i > 0; i--) /* keep the last path component only */
    if (p[i - 1] == '/' || p[i - 1] == '\\') {
      p += i;
      n -= i;
      break;
    }
  if (cxf_sanitize_part(dst, cap, p, n) == 0)
    snprintf(dst, cap, "file");
}

/* Makes a received relative path (a file of an offered directory,
 * "photos/2024/a.jpg") safe to store below the download directory: each
 * component made safe as above, empty ones dropped, at most
 * CLIENT_XFER_DEPTH directories. An absolute path or one with a ".."
 * component is hostile: only its last component is kept. The result never
 * names anything outside the directory it is joined to. */
void client_xfer_sanitize_path(char *dst, size_t cap, proto_str in) {
  bool hostile = in.n > 0 && (in.p[0] == '/' || in.p[0] == '\\');
  size_t parts = 0;
  for (size_t i = 0, b = 0; i <= in.n; i++)
    if (i == in.n || in.p[i] == '/' || in.p[i] == '\\') {
      if (i - b == 2 && in.p[b] == '.' && in.p[b + 1] == '.')
        hostile = true;
      parts++;
      b = i + 1;
    }
  if (hostile || parts > CLIENT_XFER_DEPTH + 1) {
    client_xfer_sanitize(dst, cap, in);
    return;
  }
  size_t o = 0;
  dst[0] = '\0';
  for (size_t i = 0, b = 0; i <= in.n; i++) {
    if (i < in.n && in.p[i] != '/' && in.p[i] != '\\')
      continue;
    bool last = i == in.n;
    char part[256];
    size_t k = cxf_sanitize_part(part, sizeof part, in.p + b, i - b);
    b = i + 1;
    if (last) {
      if (k == 0)
        k = (size_t)snprintf(part, sizeof part, "file");
    } else if (k == 0) {
      continue; /* "a//b", "./b", a name of controls only */
    }
    if (o + k + 2 > cap) { /* too long: the file's own name wins */
      client_xfer_sanitize(dst, cap, in);
      return;
    }
    memcpy(dst + o, part, k);
    o += k;
    if (!last)
      dst[o++] = '/';
    dst[o] = '\0';
  }
}

/* Receiver: a re-offer of a transfer we hold a .part file for: accept it
 * from where that file ends (its prefix is hashed again off the loop). */
static bool cxf_resume_recv(client *c, const proto_file_offer *o) {
  cxf_state *st = cxf_get(c);
  cxf *old = NULL;
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *y = st->x[i];
    if (y->t.offer_id == o->offer_id && client_str_eq(o->peer, y->peer) &&
        y->t.m.dir == XFER_RECV && (y->placeholder || (y->ended && y->keep)) &&
        !y->superseded && y->t.m.size == o->size && !y->busy)
      old = y;
  }
  if (old == NULL)
    return false;
  cxf *x = old;
  if (!old->placeholder) { /* a fresh row for the new run */
    x = cxf_new(c);
    if (x == NULL)
      return false;
    old->superseded = true;
    memcpy(x->peer, old->peer, sizeof x->peer);
    memcpy(x->name, old->name, sizeof x->name);
    memcpy(x->part, old->part, sizeof x->part);
    memcpy(x->dir, old->dir, sizeof x->dir);
    x->t.offer_id = old->t.offer_id;
    xfer_init(&x->t.m, x->t.offer_id, x->name, x->peer, XFER_RECV, o->size);
  }
  x->placeholder = false;
  x->resume = true;
  x->t.accepted = true;
  if (cxf_recv_alloc(x) < 0 || !cxf_start_job(x, CXF_JOB_PREPARE))
    return true;
  client_info(c, c->m.current, CLIENT_LINE_INFO, "%s offers %s again: resuming",
              x->peer, x->name);
  cxf_event(x, true);
  return true;
}

static void cxf_on_offer(client *c, const proto_file_offer *o) {
  cxf_state *st = cxf_get(c);
  if (st != NULL && st->loading && st->nheld < 8) {
    cxf_held *h = &st->held[st->nheld++]; /* it may resume: wait for it */
    h->id = o->offer_id;
    h->size = o->size;
    proto_str_copy(h->peer, sizeof h->peer, o->peer);
    proto_str_copy(h->name, sizeof h->name, o->name);
    return;
  }
  if (cxf_resume_recv(c, o))
    return;
  cxf *x = cxf_find(c, o->offer_id, o->peer);
  if (x != NULL && !x->ended)
    return; /* a repeat */
  x = cxf_new(c);
  if (x == NULL) {
    proto_msg m = {.type = PROTO_FILE_REJECT};
    m.u.file_reject.offer_id = o->offer_id;
    m.u.file_reject.peer = o->peer;
    m.u.file_reject.reason = proto_str_c("too many transfers");
    (void)client_conn_send(c, &m);
    return;
  }
  proto_str_copy(x->peer, sizeof x->peer, o->peer);
  client_xfer_sanitize_path(x->name, sizeof x->name, o->name);
  x->t.offer_id = o->offer_id;
  xfer_init(&x->t.m, o->offer_id, x->name, x->peer, XFER_RECV, o->size);
  x->t.expires_ms = uv_now(c->loop) + (uint64_t)600 * 1000;
  char sz[32];
  cxf_size_text(sz, sizeof sz, o->size);
  client_window *w = c->m.current; /* seen at once, wherever the user is */
  client_info(c, w, CLIENT_LINE_INFO,
              "%s offers %s (%s): /accept %u or /reject %u", x->peer, x->name,
              sz, x->t.id, x->t.id);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_OFFER, .xfer = &x->t, .win = w};
  client_emit(c, &ev);
  cxf_event(x, true);
}

/* A room offer accepted by one member becomes that member's own transfer
 * (same offer_id, same file); the room's row stays for the others. */
static cxf *cxf_room_member(client *c, uint64_t offer_id, proto_str peer) {
  /* an ended row too: a member we did not count (one who joined as we
   * offered) still gets the file */
  cxf *room = cxf_room_row(c, offer_id);
  if (room == NULL)
    return NULL;
  bool kbusy = room->kbusy;
  room->kbusy = true; /* an ended room row is not the slot cxf_new reuses */
  cxf *x = cxf_new(c);
  room->kbusy = kbusy;
  if (x == NULL)
    return NULL;
  proto_str_copy(x->peer, sizeof x->peer, peer);
  memcpy(x->name, room->name, sizeof x->name);
  memcpy(x->t.file, room->t.file, sizeof x->t.file);
  memcpy(x->token, room->token, sizeof x->token);
  x->t.offer_id = offer_id;
  x->mtime = room->mtime;
  if (room->hash_done) { /* hashed while the room's offer waited */
    memcpy(x->sha, room->sha, sizeof x->sha);
    x->hash_done = true;
    x->hashed = room->t.m.size;
  }
  xfer_init(&x->t.m, offer_id, x->name, x->peer, XFER_SEND, room->t.m.size);
  if (!room->ended) {
    room->rm_acc++;
    client_info(c, NULL, CLIENT_LINE_INFO, "%s accepted %s (offered to %s)",
                x->peer, room->name, room->peer);
    cxf_room_update(room);
  }
  return x;
}

void client_xfer_on_frame(client *c, const proto_msg *m) {
  cxf *x;
  switch (m->type) {
  case PROTO_FILE_OFFER:
    cxf_on_offer(c, &m->u.file_offer);
    return;
  case PROTO_FILE_ACCEPT:
    x = cxf_find(c, m->u.file_accept.offer_id, m->u.file_accept.peer);
    if (x == NULL) /* a member of a room we offered to */
      x = cxf_room_member(c, m->u.file_accept.offer_id, m->u.file_accept.peer);
    if (x != NULL && x->t.m.dir == XFER_SEND && !x->ended)
      cxf_on_accept(x, &m->u.file_accept);
    return;
  case PROTO_FILE_REJECT:
  case PROTO_FILE_CANCEL: {
    const proto_file_refuse *r = &m->u.file_reject;
    x = cxf_find(c, r->offer_id, r->peer);
    char why[PROTO_MAX_REASON * 4 + 1];
    proto_str_copy(why, sizeof why, r->reason);
    if (x == NULL) { /* a member of a room we offered to */
      cxf_room_refused(c, r, m->type == PROTO_FILE_REJECT, why);
      return;
    }
    if (x->ended)
      return;
    if (m->type == PROTO_FILE_REJECT) {
      x->t.rejected = true;
      cxf_end(x, XFER_FAILED, XFER_ERR_REFUSED, "rejected by %s%s%s", x->peer,
              why[0] ? ": " : "", why);
    } else if (strstr(why, "went offline") != NULL && x->t.accepted) {
      x->keep = true; /* the server saw the other side leave: resumable */
      cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK, "interrupted: %s", why);
    } else {
      cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE, "cancelled by %s%s%s", x->peer,
              why[0] ? ": " : "", why);
    }
    return;
  }
  case PROTO_FILE_HINT:
    x = cxf_find(c, m->u.file_hint.offer_id, m->u.file_hint.peer);
    if (x != NULL && !x->ended)
      cxf_on_hint(x, &m->u.file_hint);
    return;
  case PROTO_FILE_RELAY:
    x = cxf_find(c, m->u.file_relay.offer_id, m->u.file_relay.peer);
    if (x != NULL && !x->ended)
      cxf_on_relay(x, &m->u.file_relay);
    return;
  case PROTO_FILE_PIN:
    x = cxf_find(c, m->u.file_pin.offer_id, m->u.file_pin.peer);
    if (x != NULL && !x->ended && x->t.m.dir == XFER_RECV)
      cxf_on_pin(x, &m->u.file_pin);
    return;
  case PROTO_FILE_DONE: { /* the receiver verified our file */
    cxf_state *st = cxf_get(c);
    for (size_t i = 0; st != NULL && i < st->n; i++) {
      x = st->x[i];
      if (x->t.offer_id == m->u.file_done.xfer_id && x->t.m.dir == XFER_SEND &&
          !x->ended && x->done_sent && !x->busy && x->win == NULL &&
          x->t.m.acked == x->t.m.size &&
          CRYPTO_memcmp(m->u.file_done.sha256.p, x->sha, PROTO_HASH_LEN) == 0)
        cxf_end(x, XFER_DONE, XFER_ERR_NONE, NULL);
    }
    return;
  }
  case PROTO_FILE_LIMITS: { /* kept: /send checks sizes before offering */
    const proto_file_limits *l = &m->u.file_limits;
    c->m.limits.max_file_size = l->max_file_size;
    c->m.limits.max_transfers = l->max_transfers;
    c->m.limits.offers_per_min = l->offers_per_min;
    c->m.limits.offer_ttl_s = l->offer_ttl_s;
    c->m.limits.max_relayed = l->max_relayed;
    return;
  }
  default:
    return;
  }
}

/* ---- commands ----------------------------------------------------------- */

typedef struct cxf_stat_req {
  uv_fs_t req;
  client *c;
  char target[PROTO_MAX_ROOM * 4 + 1];
  char path[PATH_MAX];
} cxf_stat_req;

/* Offers the regular file at path (size bytes, mtime) to target under
 * name. Returns false when no transfer slot is free. */
static bool cxf_offer(client *c, const char *target, const char *path,
                      const char *name, uint64_t size, uint64_t mtime) {
  cxf *x = cxf_new(c);
  if (x == NULL)
    return false;
  cxf_copy(x->name, sizeof x->name, name);
  cxf_copy(x->peer, sizeof x->peer, target);
  cxf_copy(x->t.file, sizeof x->t.file, path);
  uint64_t id;
  if (uv_random(NULL, NULL, &id, sizeof id, 0, NULL) < 0 ||
      uv_random(NULL, NULL, x->token, sizeof x->token, 0, NULL) < 0)
    id = ((uint64_t)random() << 32) ^ (uint64_t)random() ^ client_now_ms();
  x->t.offer_id = id;
  x->mtime = mtime;
  xfer_init(&x->t.m, id, x->name, x->peer, XFER_SEND, size);
  if (x->peer[0] != '#') {
    cxf_save(x, false); /* resumable until it ends */
  } else {
    client_window *w = client_window_find(c, x->peer);
    if (w != NULL && w->joined && w->members > 1)
      x->rm_expect = w->members - 1;
  }
  uint8_t zero[PROTO_HASH_LEN] = {0};
  proto_msg m = {.type = PROTO_FILE_OFFER};
  m.u.file_offer.offer_id = id;
  m.u.file_offer.peer = proto_str_c(target);
  m.u.file_offer.name = proto_str_c(x->name);
  m.u.file_offer.size = size;
  m.u.file_offer.sha256 = (proto_blob){zero, PROTO_HASH_LEN};
  if (client_conn_send(c, &m) < 0) {
    cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK, "not connected to the server");
    return true;
  }
  cxf_event(x, true);
  cxf_prehash_more(c);
  return true;
}

/* ---- /send DIR: the regular files under it, walked off the loop ---------- */

#define CXF_DIR_MAX 1000 /* files one /send DIR offers at most */
#define CXF_DIR_DEPTH 32 /* levels walked below DIR */

typedef struct cxf_dirent {
  char *path; /* absolute or as given: DIR/sub/file */
  char *name; /* offered name: basename(DIR)/sub/file */
  uint64_t size, mtime;
} cxf_dirent;

typedef struct cxf_walk {
  uv_work_t req;
  client *c;
  char target[PROTO_MAX_ROOM * 4 + 1];
  char path[PATH_MAX]; /* DIR without trailing slashes */
  cxf_dirent *e;
  size_t n;
  bool more; /* stopped at CXF_DIR_MAX */
  int err;   /* errno of opening DIR itself */
} cxf_walk;

/* Adds the regular files under dir (offered as prefix/...) to w; symlinks
 * and special files are skipped, never followed. Thread pool. */
static void cxf_walk_dir(cxf_walk *w, const char *dir, const char *prefix,
                         int depth) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    if (depth == 0)
      w->err = errno;
    return;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL && !w->more) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char p[PATH_MAX], name[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p ||
        (size_t)snprintf(name, sizeof name, "%s/%s", prefix, de->d_name) >=
            sizeof name)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth + 1 < CXF_DIR_DEPTH)
        cxf_walk_dir(w, p, name, depth + 1);
      continue;
    }
    if (!S_ISREG(st.st_mode))
      continue;
    if (w->n == CXF_DIR_MAX) {
      w->more = true;
      break;
    }
    if (w->n % 64 == 0) {
      cxf_dirent *ne = realloc(w->e, (w->n + 64) * sizeof *ne);
      if (ne == NULL) {
        w->more = true;
        break;
      }
      w->e = ne;
    }
    cxf_dirent *e = &w->e[w->n];
    e->path = strdup(p);
    /* A name over the wire's bound is offered by its last component. */
    e->name = strdup(strlen(name) <= PROTO_MAX_FILENAME ? name : de->d_name);
    if (e->path == NULL || e->name == NULL) {
      free(e->path);
      free(e->name);
      continue;
    }
    e->size = (uint64_t)st.st_size;
    e->mtime = (uint64_t)st.st_mtim.tv_sec;
    w->n++;
  }
  closedir(d);
}

static void cxf_walk_work(uv_work_t *req) {
  cxf_walk *w = req->data;
  const char *base = strrchr(w->path, '/');
  base = base && base[1] ? base + 1 : w->path;
  cxf_walk_dir(w, w->path, base, 0);
}

/* Sorts by offered name so that offers come in a stable order. */
static int cxf_dirent_cmp(const void *a, const void *b) {
  return strcmp(((const cxf_dirent *)a)->name, ((const cxf_dirent *)b)->name);
}

/* Refuses a file over the server's size limit before anything is offered
 * (the server would refuse the offer too). Returns true when refused. */
static bool cxf_too_big(client *c, const char *path, uint64_t size) {
  uint64_t max = c->m.limits.max_file_size;
  if (size <= max)
    return false;
  char have[32], lim[32], text[PATH_MAX + 160];
  cxf_size_text(have, sizeof have, size);
  cxf_size_text(lim, sizeof lim, max);
  snprintf(text, sizeof text,
           "/send: %s is %s, over this server's limit of %s per file "
           "(%" PRIu64 " bytes); nothing was offered",
           path, have, lim, max);
  client_error(c, NULL, PERR_FILE_TOO_BIG, proto_errname(PERR_FILE_TOO_BIG), "",
               text);
  return true;
}

/* One file of the walk over the size limit: none of the directory goes. */
static bool cxf_walk_too_big(client *c, const cxf_walk *w) {
  for (size_t i = 0; i < w->n; i++)
    if (cxf_too_big(c, w->e[i].path, w->e[i].size))
      return true;
  return false;
}

/* Offers what the walk found, each file as its own transfer. */
static void cxf_walk_done(uv_work_t *req, int status) {
  cxf_walk *w = req->data;
  client *c = w->c;
  c->live--;
  if (!c->stopping) {
    size_t offered = 0;
    if (status < 0 || w->err != 0) {
      client_fail(c, "/send: %s: %s", w->path,
                  status < 0 ? uv_strerror(status) : strerror(w->err));
    } else if (w->n == 0) {
      client_fail(c, "/send: %s: no regular files in it", w->path);
    } else if (!cxf_walk_too_big(c, w)) {
      qsort(w->e, w->n, sizeof *w->e, cxf_dirent_cmp);
      while (offered < w->n &&
             cxf_offer(c, w->target, w->e[offered].path, w->e[offered].name,
                       w->e[offered].size, w->e[offered].mtime))
        offered++;
      if (offered < w->n || w->more)
        client_fail(c,
                    "/send: %s: offered %zu files; the rest did not fit "
                    "(at most %d transfers at once, %d files per directory)",
                    w->path, offered, CLIENT_XFER_MAX, CXF_DIR_MAX);
    }
  }
  for (size_t i = 0; i < w->n; i++) {
    free(w->e[i].path);
    free(w->e[i].name);
  }
  free(w->e);
  free(w);
  if (c->stopping)
    client_maybe_stopped(c);
}

/* Starts walking DIR in the thread pool. */
static void cxf_walk_start(client *c, const char *target, const char *path) {
  cxf_walk *w = calloc(1, sizeof *w);
  if (w == NULL) {
    client_fail(c, "/send: out of memory");
    return;
  }
  w->c = c;
  w->req.data = w;
  snprintf(w->target, sizeof w->target, "%s", target);
  snprintf(w->path, sizeof w->path, "%s", path);
  for (size_t n = strlen(w->path); n > 1 && w->path[n - 1] == '/'; n--)
    w->path[n - 1] = '\0';
  int r = uv_queue_work(c->loop, &w->req, cxf_walk_work, cxf_walk_done);
  if (r < 0) {
    client_fail(c, "/send: %s: %s", path, uv_strerror(r));
    free(w);
    return;
  }
  c->live++;
}

static void cxf_stat_done(uv_fs_t *req) {
  cxf_stat_req *s = req->data;
  client *c = s->c;
  c->live--;
  ssize_t r = req->result;
  uv_stat_t st = req->statbuf;
  uv_fs_req_cleanup(req);
  if (c->stopping) {
    free(s);
    client_maybe_stopped(c);
    return;
  }
  if (r == 0 && S_ISDIR(st.st_mode)) {
    cxf_walk_start(c, s->target, s->path);
    free(s);
    return;
  }
  if (r < 0 || !S_ISREG(st.st_mode)) {
    client_fail(c, "/send: %s: %s", s->path,
                r < 0 ? uv_strerror((int)r) : "not a regular file");
    free(s);
    return;
  }
  if (cxf_too_big(c, s->path, (uint64_t)st.st_size)) {
    free(s);
    return;
  }
  const char *base = strrchr(s->path, '/');
  base = base ? base + 1 : s->path;
  if (!cxf_offer(c, s->target, s->path, base, st.st_size,
                 (uint64_t)st.st_mtim.tv_sec))
    client_fail(c, "/send: too many transfers");
  free(s);
}

int client_xfer_send(client *c, const char *target, const char *path, char *err,
                     size_t errlen) {
  if (c->m.limits.max_file_size == 0) {
    snprintf(err, errlen, "this server does not allow file transfers");
    return -PERR_FILE_TOO_BIG;
  }
  cxf_stat_req *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(err, errlen, "out of memory");
    return UV_ENOMEM;
  }
  s->c = c;
  snprintf(s->target, sizeof s->target, "%s", target);
  snprintf(s->path, sizeof s->path, "%s", path);
  s->req.data = s;
  int r = uv_fs_stat(c->loop, &s->req, s->path, cxf_stat_done);
  if (r < 0) {
    free(s);
    snprintf(err, errlen, "%s: %s", path, uv_strerror(r));
    return r;
  }
  c->live++;
  return 0;
}

/* The newest offer still waiting for our answer (id 0), or offer id. */
static cxf *cxf_pending(client *c, unsigned id) {
  if (id != 0)
    return cxf_by_id(c, id);
  cxf_state *st = cxf_get(c);
  for (size_t i = st ? st->n : 0; i > 0; i--) {
    cxf *x = st->x[i - 1];
    if (x->t.m.dir == XFER_RECV && !x->t.accepted && !x->ended)
      return x;
  }
  return NULL;
}

/* The download directory: DIR, --download-dir, $XDG_DOWNLOAD_DIR,
 * else ~/Downloads. */
static void cxf_download_dir(client *c, const char *dir, char *dst,
                             size_t cap) {
  const char *e;
  if (dir != NULL && *dir)
    snprintf(dst, cap, "%s", dir);
  else if (c->opts.download_dir != NULL)
    snprintf(dst, cap, "%s", c->opts.download_dir);
  else if ((e = getenv("XDG_DOWNLOAD_DIR")) != NULL && *e == '/')
    snprintf(dst, cap, "%s", e);
  else
    snprintf(dst, cap, "%s/Downloads", getenv("HOME") ? getenv("HOME") : ".");
}

int client_xfer_accept(client *c, unsigned id, const char *dir, char *err,
                       size_t errlen) {
  cxf *x = cxf_pending(c, id);
  if (x == NULL || x->t.m.dir != XFER_RECV || x->t.accepted || x->ended) {
    snprintf(err, errlen, id ? "no pending offer %u" : "no pending offer", id);
    return -PERR_NO_SUCH_OFFER;
  }
  x->t.accepted = true;
  cxf_download_dir(c, dir, x->dir, sizeof x->dir);
  if (cxf_recv_alloc(x) < 0) {
    x->io_err = ENOMEM;
    cxf_io_fail(x, "out of memory");
    snprintf(err, errlen, "out of memory");
    return UV_ENOMEM;
  }
  if (!cxf_start_job(x, CXF_JOB_PREPARE)) {
    snprintf(err, errlen, "cannot start the transfer");
    return UV_EIO;
  }
  cxf_event(x, true);
  return 0;
}

int client_xfer_reject(client *c, unsigned id, char *err, size_t errlen) {
  cxf *x = cxf_pending(c, id);
  if (x == NULL || x->t.m.dir != XFER_RECV || x->t.accepted || x->ended) {
    snprintf(err, errlen, id ? "no pending offer %u" : "no pending offer", id);
    return -PERR_NO_SUCH_OFFER;
  }
  proto_msg m = {.type = PROTO_FILE_REJECT};
  m.u.file_reject.offer_id = x->t.offer_id;
  m.u.file_reject.peer = proto_str_c(x->peer);
  m.u.file_reject.reason = proto_str_c("");
  (void)client_conn_send(c, &m);
  x->t.rejected = true;
  cxf_end(x, XFER_FAILED, XFER_ERR_REFUSED, "rejected");
  return 0;
}

int client_xfer_cancel(client *c, unsigned id, char *err, size_t errlen) {
  cxf *x = cxf_by_id(c, id);
  if (x == NULL || x->ended) {
    snprintf(err, errlen, "no running transfer %u", id);
    return -PERR_NO_SUCH_OFFER;
  }
  proto_msg m = {.type = PROTO_FILE_CANCEL};
  m.u.file_cancel.offer_id = x->t.offer_id;
  m.u.file_cancel.peer = proto_str_c(x->peer);
  m.u.file_cancel.reason = proto_str_c("");
  (void)client_conn_send(c, &m);
  if (x->win != NULL)
    cxf_send_frame(x->win, &m);
  cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE, "cancelled");
  return 0;
}

void client_xfer_list(client *c) {
  cxf_state *st = cxf_get(c);
  if (st == NULL || st->n == 0) {
    client_info(c, NULL, CLIENT_LINE_INFO, "no transfers in this session");
    return;
  }
  for (size_t i = 0; i < st->n; i++) {
    cxf *x = st->x[i];
    char sz[32];
    cxf_size_text(sz, sizeof sz, x->t.m.size);
    client_info(c, NULL, CLIENT_LINE_INFO, "%u %s %s %s %s (%s) %d%% %s%s%s",
                x->t.id, x->t.m.dir == XFER_SEND ? "to" : "from", x->peer,
                x->name, client_transfer_state(&x->t), sz,
                xfer_percent(&x->t.m),
                x->t.path_known ? (x->t.relay ? "relay" : "direct") : "",
                x->t.reason[0] ? ": " : "", x->t.reason);
  }
}

static void cxf_folder_error(client *c, uint16_t ref_type, int code,
                             proto_str subject, const char *text);

/* The transfer an ERROR about ref_type (FILE_OFFER, FILE_RELAY) to subject
 * is about: the newest open one that fits, or NULL. */
static cxf *cxf_error_target(client *c, uint16_t ref_type, proto_str subject) {
  cxf_state *st = cxf_get(c);
  for (size_t i = st ? st->n : 0; i > 0; i--) {
    cxf *x = st->x[i - 1];
    if (x->ended || !client_str_eq(subject, x->peer))
      continue;
    bool match = ref_type == PROTO_FILE_OFFER
                     ? x->t.m.dir == XFER_SEND && !x->t.accepted
                 : ref_type == PROTO_FILE_RELAY ? x->win == NULL
                                                : false;
    if (match)
      return x;
  }
  return NULL;
}

bool client_xfer_error_quiet(client *c, uint16_t ref_type, int code,
                             proto_str subject) {
  if (ref_type != PROTO_FILE_OFFER || code != PERR_USER_OFFLINE)
    return false;
  cxf *x = cxf_error_target(c, ref_type, subject);
  return x != NULL && x->reoffered;
}

void client_xfer_on_error(client *c, uint16_t ref_type, int code,
                          proto_str subject, const char *text) {
  if (ref_type == PROTO_UPLOAD_REQ || ref_type == PROTO_DOWNLOAD_REQ) {
    cxf_folder_error(c, ref_type, code, subject, text);
    return;
  }
  cxf *x = cxf_error_target(c, ref_type, subject);
  if (x == NULL)
    return;
  if (x->reoffered && ref_type == PROTO_FILE_OFFER) {
    snprintf(x->t.reason, sizeof x->t.reason,
             "waiting for %s to come online to resume", x->peer);
    cxf_event(x, true);
    return; /* offered again when the peer is back */
  }
  cxf_end(x, XFER_FAILED, XFER_ERR_SERVER, "%s", text);
  if (ref_type == PROTO_FILE_RELAY) { /* the other side must hear of it */
    proto_msg m = {.type = PROTO_FILE_CANCEL};
    m.u.file_cancel.offer_id = x->t.offer_id;
    m.u.file_cancel.peer = proto_str_c(x->peer);
    m.u.file_cancel.reason = proto_str_c(text);
    (void)client_conn_send(c, &m);
  }
}

/* Sender: offers an interrupted transfer again with the same identity. */
static void cxf_reoffer(cxf *old) {
  client *c = old->c;
  cxf *x = old;
  if (old->ended) {
    x = cxf_new(c);
    if (x == NULL)
      return;
    old->superseded = true;
    memcpy(x->peer, old->peer, sizeof x->peer);
    memcpy(x->name, old->name, sizeof x->name);
    memcpy(x->t.file, old->t.file, sizeof x->t.file);
    memcpy(x->token, old->token, sizeof x->token);
    x->mtime = old->mtime;
    x->t.offer_id = old->t.offer_id;
    xfer_init(&x->t.m, x->t.offer_id, x->name, x->peer, XFER_SEND,
              old->t.m.size);
  }
  x->reoffered = true;
  uint8_t zero[PROTO_HASH_LEN] = {0};
  proto_msg m = {.type = PROTO_FILE_OFFER};
  m.u.file_offer.offer_id = x->t.offer_id;
  m.u.file_offer.peer = proto_str_c(x->peer);
  m.u.file_offer.name = proto_str_c(x->name);
  m.u.file_offer.size = x->t.m.size;
  m.u.file_offer.sha256 = (proto_blob){zero, PROTO_HASH_LEN};
  (void)client_conn_send(c, &m);
  cxf_event(x, true);
  cxf_prehash_more(c);
}

void client_xfer_peer_online(client *c, const char *name) {
  cxf_state *st = cxf_get(c);
  size_t n = st ? st->n : 0;
  for (size_t i = 0; i < n; i++) {
    cxf *x = st->x[i];
    if (x->t.m.dir == XFER_SEND && strcasecmp(x->peer, name) == 0 &&
        !x->superseded &&
        ((x->ended && x->keep) ||
         (x->reoffered && !x->ended && !x->t.accepted)))
      cxf_reoffer(x);
  }
}

/* One saved transfer read at login. */
typedef struct cxf_saved {
  bool send, changed;
  bool folder, overwrite; /* with parleyd's shared folder */
  uint64_t id, size, mtime;
  uint64_t have; /* folder download: bytes its .part file holds */
  char peer[PROTO_MAX_NAME + 1];
  char name[PROTO_MAX_FILENAME + 1];
  char file[1024]; /* send: source; recv: .part */
  char dest[1024]; /* recv: download directory */
  char server[CLIENT_HOST_SZ + 8], key[CLIENT_FP_SZ], user[CLIENT_NAME_SZ];
} cxf_saved;

/* Copies a saved field of n bytes when it fits whole (a path cut short
 * would be another path). */
static bool cxf_field(char *dst, size_t cap, const char *v, size_t n) {
  if (n >= cap)
    return false;
  memcpy(dst, v, n + 1);
  return true;
}

/* True when s was saved by a login to this server (address and key) as
 * this account: a transfer never resumes to another server or user. A
 * file from before these were saved names none: it stays, unused. */
static bool cxf_saved_here(const client *c, const cxf_saved *s) {
  char here[sizeof s->server];
  cxf_server_text(c, here, sizeof here);
  return strcmp(s->server, here) == 0 &&
         strcmp(s->key, c->m.fingerprint) == 0 && s->user[0] != '\0' &&
         strcmp(s->user, c->m.self) == 0;
}

typedef struct cxf_load_job {
  uv_work_t w;
  client *c;
  cxf_saved saved[CLIENT_XFER_MAX];
  size_t n;
} cxf_load_job;

static void cxf_load_work(uv_work_t *w) {
  cxf_load_job *j = w->data;
  char dir[PATH_MAX - 300];
  cxf_state_dir(dir, sizeof dir);
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && j->n < CLIENT_XFER_MAX) {
    size_t len = strlen(e->d_name);
    if (len < 6 || (strcmp(e->d_name + len - 5, ".send") != 0 &&
                    strcmp(e->d_name + len - 5, ".recv") != 0))
      continue;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    /* A state file is small and ours: not a link, not a FIFO (a read
     * would hang this thread), no more than CXF_STATE_MAX bytes. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat fst;
    if (fd < 0)
      continue;
    if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) ||
        fst.st_size > CXF_STATE_MAX) {
      close(fd);
      continue;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
      close(fd);
      continue;
    }
    cxf_saved *s = &j->saved[j->n];
    memset(s, 0, sizeof *s);
    char line[1200];
    bool damaged = false;
    while (!damaged && fgets(line, sizeof line, f) != NULL) {
      size_t ln = strcspn(line, "\n");
      if (line[ln] != '\n' && !feof(f)) {
        damaged = true; /* a line longer than any field: not ours */
        break;
      }
      line[ln] = '\0';
      char *v = strchr(line, '=');
      if (v == NULL)
        continue;
      *v++ = '\0';
      size_t vn = strlen(v);
      if (strcmp(line, "server") == 0)
        damaged = !cxf_field(s->server, sizeof s->server, v, vn);
      else if (strcmp(line, "key") == 0)
        damaged = !cxf_field(s->key, sizeof s->key, v, vn);
      else if (strcmp(line, "user") == 0)
        damaged = !cxf_field(s->user, sizeof s->user, v, vn);
      else if (strcmp(line, "file") == 0 || strcmp(line, "part") == 0)
        damaged = !cxf_field(s->file, sizeof s->file, v, vn);
      else if (strcmp(line, "dest") == 0)
        damaged = !cxf_field(s->dest, sizeof s->dest, v, vn);
      else if (strcmp(line, "dir") == 0)
        s->send = strcmp(v, "send") == 0;
      else if (strcmp(line, "id") == 0)
        s->id = strtoull(v, NULL, 16);
      else if (strcmp(line, "size") == 0)
        s->size = strtoull(v, NULL, 10);
      else if (strcmp(line, "mtime") == 0)
        s->mtime = strtoull(v, NULL, 10);
      else if (strcmp(line, "peer") == 0)
        damaged = !cxf_field(s->peer, sizeof s->peer, v, vn);
      else if (strcmp(line, "name") == 0)
        damaged = !cxf_field(s->name, sizeof s->name, v, vn);
      else if (strcmp(line, "folder") == 0)
        s->folder = strcmp(v, "1") == 0;
      else if (strcmp(line, "overwrite") == 0)
        s->overwrite = strcmp(v, "1") == 0;
    }
    fclose(f);
    if (damaged || s->id == 0 || s->peer[0] == '\0' || s->name[0] == '\0')
      continue;
    if (s->folder && !s->send) { /* the .part file is what resumes */
      struct stat st;
      if (stat(s->file, &st) < 0 || !S_ISREG(st.st_mode)) {
        (void)unlink(path); /* removed (or finished) since: nothing left */
        continue;
      }
      s->have = (uint64_t)st.st_size;
    }
    if (s->send) { /* a changed source cannot resume */
      struct stat st;
      s->changed = stat(s->file, &st) < 0 || (uint64_t)st.st_size != s->size ||
                   (uint64_t)st.st_mtim.tv_sec != s->mtime;
    }
    j->n++;
  }
  closedir(d);
}

static cxf *cxf_folder_new(client *c, enum xfer_dir dir, const char *name,
                           const char *path, uint64_t size, uint64_t mtime);
static void cxf_folder_request(cxf *x);

/* This process's folder transfer of name in direction dir (a download
 * into dir_path when not NULL), a live one only when live; or NULL. */
static cxf *cxf_folder_named(client *c, enum xfer_dir dir, const char *name,
                             const char *dir_path, bool live) {
  cxf_state *st = cxf_get(c);
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *x = st->x[i];
    if (x->folder && !(live && x->ended) && x->t.m.dir == dir &&
        strcmp(x->name, name) == 0 &&
        (dir_path == NULL || strcmp(x->dir, dir_path) == 0))
      return x;
  }
  return NULL;
}

/* A folder transfer an earlier process left (it exited mid-way): starts it
 * again from what is on disk, the .part file (download) or what the server
 * kept (upload), and says so; /cancel stops it. */
static void cxf_folder_resume(client *c, const cxf_saved *s) {
  if (cxf_folder_named(c, s->send ? XFER_SEND : XFER_RECV, s->name,
                       s->send ? NULL : s->dest, false) != NULL)
    return; /* this process knows it already */
  cxf *x = cxf_folder_new(c, s->send ? XFER_SEND : XFER_RECV, s->name,
                          s->send ? s->file : s->dest, s->size, s->mtime);
  if (x == NULL)
    return;
  char sz[32], have[32];
  cxf_size_text(sz, sizeof sz, s->size);
  if (s->send) {
    if (s->changed) {
      cxf_end(x, XFER_FAILED, XFER_ERR_IO,
              "cannot resume the upload: %s changed since", s->file);
      return;
    }
    x->overwrite = s->overwrite;
    client_info(c, c->m.current, CLIENT_LINE_INFO,
                "resuming the upload of %s (%s) to the shared folder: /cancel "
                "%u stops it",
                x->name, sz, x->t.id);
  } else {
    cxf_copy(x->part, sizeof x->part, s->file);
    cxf_copy(x->t.file, sizeof x->t.file, s->file);
    x->resume = true; /* from where the .part file ends */
    x->t.accepted = true;
    cxf_size_text(have, sizeof have, s->have);
    client_info(c, c->m.current, CLIENT_LINE_INFO,
                "resuming the download of %s from the shared folder (%s of "
                "%s in %s): /cancel %u stops it",
                x->name, have, sz, s->file, x->t.id);
  }
  cxf_folder_request(x);
}

static void cxf_load_after(uv_work_t *w, int status) {
  cxf_load_job *j = w->data;
  client *c = j->c;
  c->live--;
  for (size_t i = 0; status == 0 && !c->stopping && i < j->n; i++) {
    cxf_saved *s = &j->saved[i];
    if (!cxf_saved_here(c, s))
      continue; /* another server's or account's: left for that one */
    if (s->folder) {
      if (client_ready(c))
        cxf_folder_resume(c, s);
      continue;
    }
    proto_str peer = proto_str_c(s->peer);
    if (cxf_find(c, s->id, peer) != NULL)
      continue; /* this process knows it already */
    cxf *x = cxf_new(c);
    if (x == NULL)
      break;
    memcpy(x->peer, s->peer, sizeof x->peer);
    memcpy(x->name, s->name, sizeof x->name);
    x->t.offer_id = s->id;
    xfer_init(&x->t.m, s->id, x->name, x->peer, s->send ? XFER_SEND : XFER_RECV,
              s->size);
    if (s->send) {
      cxf_copy(x->t.file, sizeof x->t.file, s->file);
      x->mtime = s->mtime;
      if (s->changed) {
        cxf_end(x, XFER_FAILED, XFER_ERR_IO,
                "cannot resume: %s changed since it was offered", s->file);
        continue;
      }
      cxf_reoffer(x);
    } else {
      cxf_copy(x->part, sizeof x->part, s->file);
      cxf_copy(x->dir, sizeof x->dir, s->dest);
      cxf_copy(x->t.file, sizeof x->t.file, s->file);
      x->placeholder = true;
      x->t.accepted = true;
      cxf_event(x, true);
    }
  }
  free(j);
  cxf_state *st = cxf_get(c);
  if (st != NULL) {
    st->loading = false;
    for (size_t i = 0; i < st->nheld && !c->stopping; i++) {
      uint8_t zero[PROTO_HASH_LEN] = {0};
      proto_file_offer o = {.offer_id = st->held[i].id,
                            .peer = proto_str_c(st->held[i].peer),
                            .name = proto_str_c(st->held[i].name),
                            .size = st->held[i].size,
                            .sha256 = {zero, PROTO_HASH_LEN}};
      cxf_on_offer(c, &o);
    }
    st->nheld = 0;
  }
  client_maybe_stopped(c);
}

void client_xfer_logged_in(client *c) {
  cxf_state *st = cxf_get(c);
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *x = st->x[i];
    if (x->folder && x->ended && x->keep && !x->superseded)
      cxf_folder_again(x); /* the server kept what it had */
    else if (x->t.m.dir == XFER_SEND && x->ended && x->keep && !x->superseded)
      cxf_reoffer(x); /* this process was interrupted: offer again */
  }
  cxf_load_job *j = calloc(1, sizeof *j);
  if (j == NULL)
    return;
  j->c = c;
  j->w.data = j;
  if (uv_queue_work(c->loop, &j->w, cxf_load_work, cxf_load_after) < 0) {
    free(j);
    return;
  }
  if (st != NULL)
    st->loading = true;
  c->live++;
}

void client_xfer_session_lost(client *c) {
  cxf_state *st = cxf_get(c);
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *x = st->x[i];
    if (!x->ended && x->win == NULL) {
      x->keep = x->t.accepted;
      cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK,
              "interrupted: connection to the server lost");
    }
  }
}

void client_xfer_stop(client *c) {
  cxf_state *st = c->xf;
  for (size_t i = 0; st != NULL && i < st->n; i++) {
    cxf *x = st->x[i];
    if (!x->ended) {
      x->keep = x->t.accepted; /* resumes at the next start */
      cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE, "client stopped");
    }
    cxf_close_path(x, false);
  }
}

void client_xfer_free(client *c) {
  cxf_state *st = c->xf;
  if (st == NULL)
    return;
  for (size_t i = 0; i < st->n; i++) {
    st->x[i]->ended = true;
    cxf_maybe_release(st->x[i]);
    free(st->x[i]);
  }
  tls_ctx_free(st->peer_tls);
  free(st);
  c->xf = NULL;
  c->m.xfers = NULL;
  c->m.nxfers = 0;
}

/* ---- the shared folder: uploads and downloads with parleyd -------------- */

/* Folder transfers are transfers like the others (peer "server", the same
 * data connection frames, hashing, .part files, progress and events); only
 * the chat side differs: UPLOAD_REQ/UPLOAD_READY and DOWNLOAD_REQ/
 * DOWNLOAD_START instead of an offer, and the data connection dials
 * parleyd's port with the token from the answer (PROTOCOL.md 7.7). A
 * broken one starts again with RESUME / from the .part file. */

#define CXF_SERVER "server" /* the peer shown for folder transfers */
#define CXF_AGAIN_MAX 5     /* automatic restarts of one folder transfer */

static void cxf_send_frame_if_open(cxf *x, const proto_msg *m) {
  if (x->win != NULL && !x->win->closing)
    cxf_send_frame(x->win, m);
}

/* Dials parleyd for x's data connection with the token in x->token. */
static void cxf_folder_dial(cxf *x) {
  struct sockaddr_storage ss;
  if (cxf_server_addr(x->c, &ss) < 0) {
    cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK, "not connected to the server");
    return;
  }
  (void)xfer_connect(&x->t.m);
  cxf_dial(x, (struct sockaddr *)&ss, x->token, false);
  cxf_event(x, true);
}

/* Sends x's request: UPLOAD_REQ (always RESUME: the server continues a
 * partial upload of the same name and size) or DOWNLOAD_REQ. */
static void cxf_folder_request(cxf *x) {
  proto_msg m;
  memset(&m, 0, sizeof m);
  if (x->t.m.dir == XFER_SEND) {
    static const uint8_t zero[PROTO_HASH_LEN];
    m.type = PROTO_UPLOAD_REQ;
    m.u.upload_req.xfer_id = x->t.offer_id;
    m.u.upload_req.name = proto_str_c(x->name);
    m.u.upload_req.size = x->t.m.size;
    m.u.upload_req.sha256 = (proto_blob){zero, PROTO_HASH_LEN};
    m.u.upload_req.flags =
        PROTO_UPF_RESUME | (x->overwrite ? PROTO_UPF_OVERWRITE : 0);
  } else {
    m.type = PROTO_DOWNLOAD_REQ;
    m.u.download_req.xfer_id = x->t.offer_id;
    m.u.download_req.name = proto_str_c(x->name);
  }
  if (client_conn_send(x->c, &m) < 0) {
    x->keep = true;
    cxf_end(x, XFER_FAILED, XFER_ERR_NETWORK,
            "interrupted: not connected to the server");
    return;
  }
  cxf_event(x, true);
}

/* A new folder transfer row for name (upload of path, or download into
 * dir). NULL when no slot is free. */
static cxf *cxf_folder_new(client *c, enum xfer_dir dir, const char *name,
                           const char *path, uint64_t size, uint64_t mtime) {
  cxf *x = cxf_new(c);
  if (x == NULL)
    return NULL;
  x->folder = true;
  cxf_copy(x->peer, sizeof x->peer, CXF_SERVER);
  cxf_copy(x->name, sizeof x->name, name);
  uint64_t id;
  if (uv_random(NULL, NULL, &id, sizeof id, 0, NULL) < 0)
    id = ((uint64_t)random() << 32) ^ (uint64_t)random() ^ client_now_ms();
  x->t.offer_id = id;
  x->mtime = mtime;
  if (dir == XFER_SEND)
    cxf_copy(x->t.file, sizeof x->t.file, path);
  else
    cxf_copy(x->dir, sizeof x->dir, path);
  xfer_init(&x->t.m, id, x->name, x->peer, dir, size);
  return x;
}

/* An interrupted folder transfer starts again (a new row) from what the
 * server kept (upload) or the .part file (download). */
static void cxf_folder_again(cxf *old) {
  client *c = old->c;
  if (!client_ready(c) || old->again >= CXF_AGAIN_MAX)
    return; /* client_xfer_logged_in comes back to it; or given up */
  cxf *x = cxf_folder_new(c, old->t.m.dir, old->name,
                          old->t.m.dir == XFER_SEND ? old->t.file : old->dir,
                          old->t.m.size, old->mtime);
  if (x == NULL)
    return;
  old->superseded = true;
  x->overwrite = old->overwrite;
  x->again = (uint8_t)(old->again + 1);
  cxf_folder_request(x);
}

typedef struct cxf_up_req {
  uv_fs_t req;
  client *c;
  bool overwrite;
  char name[PROTO_MAX_FILENAME + 1];
  char path[PATH_MAX];
} cxf_up_req;

static void cxf_up_stat_done(uv_fs_t *req) {
  cxf_up_req *u = req->data;
  client *c = u->c;
  c->live--;
  if (req->result < 0 || !S_ISREG(req->statbuf.st_mode)) {
    client_fail(c, "cannot upload %s: %s", u->path,
                req->result < 0 ? uv_strerror((int)req->result)
                                : "not a regular file");
  } else {
    cxf *x =
        cxf_folder_new(c, XFER_SEND, u->name, u->path, req->statbuf.st_size,
                       (uint64_t)req->statbuf.st_mtim.tv_sec);
    if (x == NULL) {
      client_fail(c, "cannot upload %s: too many transfers", u->path);
    } else {
      x->overwrite = u->overwrite;
      cxf_folder_request(x);
    }
  }
  uv_fs_req_cleanup(req);
  free(u);
  client_maybe_stopped(c);
}

int client_xfer_upload(client *c, const char *path, const char *name,
                       bool overwrite, char *err, size_t errlen) {
  if (!client_ready(c)) {
    snprintf(err, errlen, "not connected to the server");
    return UV_ENOTCONN;
  }
  cxf_up_req *u = calloc(1, sizeof *u);
  if (u == NULL) {
    snprintf(err, errlen, "out of memory");
    return UV_ENOMEM;
  }
  u->c = c;
  u->overwrite = overwrite;
  cxf_copy(u->path, sizeof u->path, path);
  if (name == NULL || *name == '\0') { /* the file's own name */
    const char *slash = strrchr(path, '/');
    name = slash != NULL ? slash + 1 : path;
  }
  cxf_copy(u->name, sizeof u->name, name);
  const cxf *y = cxf_folder_named(c, XFER_SEND, u->name, NULL, true);
  if (y != NULL) { /* one upload of a name at a time */
    snprintf(err, errlen, "%s is being uploaded already (transfer %u)", u->name,
             y->t.id);
    free(u);
    return UV_EALREADY;
  }
  u->req.data = u;
  int r = uv_fs_stat(c->loop, &u->req, u->path, cxf_up_stat_done);
  if (r < 0) {
    snprintf(err, errlen, "cannot upload %s: %s", path, uv_strerror(r));
    free(u);
    return r;
  }
  c->live++;
  return 0;
}

int client_xfer_download(client *c, const char *name, const char *dir,
                         char *err, size_t errlen) {
  if (!client_ready(c)) {
    snprintf(err, errlen, "not connected to the server");
    return UV_ENOTCONN;
  }
  char where[PATH_MAX];
  cxf_download_dir(c, dir, where, sizeof where);
  const cxf *y = cxf_folder_named(c, XFER_RECV, name, where, true);
  if (y != NULL) { /* two would write one .part file */
    snprintf(err, errlen, "%s is being downloaded already (transfer %u)", name,
             y->t.id);
    return UV_EALREADY;
  }
  cxf *x = cxf_folder_new(c, XFER_RECV, name, where, 0, 0);
  if (x == NULL) {
    snprintf(err, errlen, "too many transfers");
    return -PERR_TRANSFER_LIMIT;
  }
  x->t.accepted = true;
  cxf_folder_request(x);
  return 0;
}

/* The newest live folder transfer with this xfer_id. */
static cxf *cxf_folder_find(client *c, uint64_t id) {
  cxf_state *st = cxf_get(c);
  for (size_t i = st ? st->n : 0; i > 0; i--) {
    cxf *x = st->x[i - 1];
    if (x->folder && !x->ended && x->t.offer_id == id)
      return x;
  }
  return NULL;
}

void client_xfer_on_folder(client *c, const proto_msg *m) {
  if (m->type == PROTO_UPLOAD_READY) {
    const proto_upload_ready *r = &m->u.upload_ready;
    cxf *x = cxf_folder_find(c, r->xfer_id);
    if (x == NULL || x->t.m.dir != XFER_SEND || x->t.accepted)
      return;
    x->t.accepted = true;
    memcpy(x->token, r->token.p, PROTO_TOKEN_LEN);
    cxf_save(x, false); /* the server keeps what arrives: resumable */
    if (cxf_open_source(x) == 0)
      cxf_folder_dial(x); /* the server's first FILE_ACK says where */
    return;
  }
  if (m->type != PROTO_DOWNLOAD_START)
    return;
  const proto_download_start *d = &m->u.download_start;
  cxf *x = cxf_folder_find(c, d->xfer_id);
  if (x == NULL || x->t.m.dir != XFER_RECV || x->buf != NULL)
    return;
  memcpy(x->token, d->token.p, PROTO_TOKEN_LEN);
  xfer_init(&x->t.m, x->t.offer_id, x->name, x->peer, XFER_RECV, d->size);
  if (cxf_recv_alloc(x) < 0) {
    x->io_err = ENOMEM;
    cxf_io_fail(x, "out of memory");
    return;
  }
  if (cxf_start_job(x, CXF_JOB_PREPARE)) /* then cxf_accept_sent dials */
    cxf_event(x, true);
}

/* The server refused a folder request or failed a folder transfer about
 * the file subject: the newest live one of that name and direction. */
static void cxf_folder_error(client *c, uint16_t ref_type, int code,
                             proto_str subject, const char *text) {
  cxf_state *st = cxf_get(c);
  enum xfer_dir dir = ref_type == PROTO_UPLOAD_REQ ? XFER_SEND : XFER_RECV;
  for (size_t i = st ? st->n : 0; i > 0; i--) {
    cxf *x = st->x[i - 1];
    if (x->folder && !x->ended && x->t.m.dir == dir &&
        client_str_eq(subject, x->name)) {
      if (code == PERR_FILE_EXISTS && x->t.asking)
        return; /* the user decides (client_xfer_folder_answer) */
      if (code == PERR_FILE_EXISTS) /* nobody to ask: not a failure */
        cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE, "%s", text);
      else
        cxf_end(x, XFER_FAILED, XFER_ERR_SERVER, "%s", text);
      return;
    }
  }
}

/* The live upload of name (one at a time) still waiting for the server's
 * answer (not yet accepted), or NULL. */
static cxf *cxf_folder_upload_waiting(client *c, const char *name) {
  cxf *x = cxf_folder_named(c, XFER_SEND, name, NULL, true);
  return x != NULL && !x->t.accepted ? x : NULL;
}

bool client_xfer_folder_ask(client *c, const char *name) {
  cxf *x = cxf_folder_upload_waiting(c, name);
  if (x == NULL)
    return false;
  x->t.asking = true;
  snprintf(x->t.reason, sizeof x->t.reason,
           "%s exists on the server: overwrite?", name);
  cxf_event(x, true);
  return true;
}

int client_xfer_folder_answer(client *c, const char *name, bool yes) {
  cxf *x = cxf_folder_upload_waiting(c, name);
  if (x == NULL || !x->t.asking)
    return UV_ENOENT;
  x->t.asking = false;
  if (!yes) {
    cxf_end(x, XFER_CANCELLED, XFER_ERR_NONE,
            "%s exists on the server: left as it is", name);
    return 0;
  }
  x->t.reason[0] = '\0';
  x->overwrite = true;
  cxf_folder_request(x); /* the same row goes on */
  return 0;
}
