/* relay.c: pairs data connections by token and forwards them (relay.h). */
#include "relay.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "log.h"
#include "server.h"
#include "stream.h"

#define RELAY_SLOTS 1024 /* hard cap whatever the configuration says */

typedef struct relay_slot {
  bool used;
  bool piping;                 /* the pipe runs: token already spent */
  uint8_t token[PROTO_TOKEN_LEN];
  uint64_t offer_id;
  char sender[PROTO_MAX_NAME + 1];
  char receiver[PROTO_MAX_NAME + 1];
  uint64_t expires_ms;         /* token or waiting side gives up */
  uint64_t start_ms;           /* pipe started */
  struct conn *side[2];        /* by enum proto_side, until paired */
  stream_pipe *pipe;           /* while piping */
  uint8_t open;                /* streams of the pipe not yet closed */
} relay_slot;

static relay_slot relay_slots[RELAY_SLOTS];

/* Tests: every byte the relay forwards, both directions, appended to the
 * file named by PARLEYD_TEST_RELAY_CAPTURE (at most RELAY_CAPTURE_MAX
 * bytes), so a test can show the file's plaintext never crossed parleyd. */
#define RELAY_CAPTURE_MAX (64u * 1024 * 1024)
static struct {
  uv_loop_t *loop;
  uv_file fd;  /* -1: no capture */
  uint64_t at; /* bytes written or in flight */
} relay_capture = {NULL, -1, 0};

typedef struct relay_capture_write { /* one uv_fs_write and its copy */
  uv_fs_t req;
  uint8_t data[];
} relay_capture_write;

static void relay_capture_done(uv_fs_t *req) {
  uv_fs_req_cleanup(req);
  free(req);
}

/* The pipe's tap: a copy of the bytes goes to the capture file, off the
 * loop, at its own offset (so writes may finish in any order). */
static void relay_capture_tap(stream_pipe *p, const uint8_t *data, size_t n) {
  (void)p;
  if (relay_capture.at + n > RELAY_CAPTURE_MAX)
    return;
  relay_capture_write *w = malloc(sizeof *w + n);
  if (w == NULL)
    return;
  memcpy(w->data, data, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  if (uv_fs_write(relay_capture.loop, &w->req, relay_capture.fd, &b, 1,
                  (int64_t)relay_capture.at, relay_capture_done) < 0) {
    free(w);
    return;
  }
  relay_capture.at += n;
}

/* Opens the capture file when the environment names one (before the loop
 * runs: the open may block). */
void relay_capture_open(uv_loop_t *loop) {
  const char *path = getenv("PARLEYD_TEST_RELAY_CAPTURE");
  if (path == NULL || path[0] == '\0')
    return;
  uv_fs_t req;
  int fd = uv_fs_open(NULL, &req, path,
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, NULL);
  uv_fs_req_cleanup(&req);
  if (fd < 0) {
    log_warn(NULL, "relay capture off: %s: %s", path, uv_strerror(fd));
    return;
  }
  relay_capture.loop = loop;
  relay_capture.fd = fd;
  log_warn(NULL, "relay capture on: forwarded bytes go to %s (tests only)",
           path);
}

/* How fast the relay reads, all pipes together. Per loop turn at most
 * RELAY_TURN_BYTES (so that chat frames read in the same turn wait behind
 * a bounded amount of forwarding, not megabytes): above it every pipe is
 * held until the next turn. And the total rate (--relay-rate): a token
 * bucket over the bytes read, holding at most a tenth of a second's
 * worth; when it runs dry every pipe is held (its reads stop, so the
 * senders slow down through TCP) until the timer has earned the debt
 * back. */
static struct {
  uv_timer_t timer;
  bool timer_init;     /* the timer exists (closed by relay_stop) */
  bool holding;        /* every pipe is held */
  int64_t tokens;      /* bytes that may still be read; negative: owed */
  uint64_t last_ms;    /* last refill */
  uint64_t turn_ms;    /* the loop time of the current turn */
  uint64_t turn_bytes; /* read in it */
} relay_rate;

/* How many slots involve name (as either party). */
static uint32_t relay_user_count(const char *name) {
  uint32_t n = 0;
  for (size_t i = 0; i < RELAY_SLOTS; i++)
    if (relay_slots[i].used && (strcasecmp(relay_slots[i].sender, name) == 0 ||
                                strcasecmp(relay_slots[i].receiver, name) == 0))
      n++;
  return n;
}

uint32_t relay_count(void) {
  uint32_t n = 0;
  for (size_t i = 0; i < RELAY_SLOTS; i++)
    n += relay_slots[i].used;
  return n;
}

/* Issues a fresh random token in a free slot, after the limits (see
 * relay.h). */
int relay_issue(const char *sender, const char *receiver, uint64_t offer_id,
                uint8_t token[PROTO_TOKEN_LEN], const char **why) {
  const config *cfg = srv.cfg;
  if (cfg->max_relayed == 0) {
    *why = "this server does not relay files";
    return -PERR_TRANSFER_LIMIT;
  }
  if (relay_user_count(sender) >= cfg->max_relayed ||
      relay_user_count(receiver) >= cfg->max_relayed) {
    *why = "too many relayed transfers for this user";
    return -PERR_TRANSFER_LIMIT;
  }
  uint32_t total = relay_count();
  relay_slot *s = NULL;
  for (size_t i = 0; i < RELAY_SLOTS && s == NULL; i++)
    if (!relay_slots[i].used)
      s = &relay_slots[i];
  if (s == NULL || total >= cfg->max_relayed_total) {
    *why = "the relay is full; try again later";
    return -PERR_TRANSFER_LIMIT;
  }
  memset(s, 0, sizeof *s);
  s->used = true;
  randombytes_buf(s->token, sizeof s->token);
  s->offer_id = offer_id;
  snprintf(s->sender, sizeof s->sender, "%s", sender);
  snprintf(s->receiver, sizeof s->receiver, "%s", receiver);
  s->expires_ms = server_now_ms() + RELAY_TOKEN_TTL_MS;
  memcpy(token, s->token, PROTO_TOKEN_LEN);
  return 0;
}

/* Adds the tokens earned since the last refill. */
static void relay_refill(uint64_t now) {
  uint64_t rate = srv.cfg->relay_rate;
  int64_t burst = (int64_t)(rate / 10 > 1 ? rate / 10 : 1);
  uint64_t ms = now - relay_rate.last_ms;
  relay_rate.last_ms = now;
  if (ms > 1000)
    ms = 1000;
  relay_rate.tokens += (int64_t)(ms * rate / 1000);
  if (relay_rate.tokens > burst)
    relay_rate.tokens = burst;
}

static void relay_pipe_done(stream_pipe *p, int err);

/* Holds or lets go of every running pipe. */
static void relay_hold_all(bool held) {
  relay_rate.holding = held;
  for (size_t i = 0; i < RELAY_SLOTS; i++) {
    relay_slot *s = &relay_slots[i];
    if (s->used && s->pipe != NULL && !s->pipe->done) {
      int r = stream_pipe_hold(s->pipe, held);
      if (r < 0)
        relay_pipe_done(s->pipe, r);
    }
  }
}

static void relay_on_rate(uv_timer_t *t);

/* Waits until the rate's debt is paid, or for the next loop turn. */
static void relay_rate_wait(void) {
  uint64_t rate = srv.cfg->relay_rate;
  uint64_t ms = rate && relay_rate.tokens < 0
                    ? (uint64_t)(-relay_rate.tokens) * 1000 / rate + 1
                    : 0;
  if (!relay_rate.timer_init) {
    if (uv_timer_init(srv.loop, &relay_rate.timer) < 0)
      return;
    relay_rate.timer_init = true;
  }
  int r = uv_timer_start(&relay_rate.timer, relay_on_rate, ms, 0);
  if (r < 0)
    log_error(NULL, "relay rate timer: %s", uv_strerror(r));
}

/* A new turn, and the debt may be paid: let the pipes read again, or
 * wait on. */
static void relay_on_rate(uv_timer_t *t) {
  (void)t;
  relay_rate.turn_bytes = 0;
  if (srv.cfg->relay_rate > 0) {
    relay_refill(server_now_ms());
    if (relay_rate.tokens < 0) {
      relay_rate_wait();
      return;
    }
  }
  relay_hold_all(false);
}

/* A pipe read n bytes: counted against this turn's budget and paid from
 * the bucket; over the budget or in debt, every pipe stops until the next
 * turn or until the timer has earned the debt back. */
static void relay_on_moved(stream_pipe *p, size_t n) {
  (void)p;
  uint64_t now = server_now_ms();
  if (now != relay_rate.turn_ms) {
    relay_rate.turn_ms = now;
    relay_rate.turn_bytes = 0;
  }
  relay_rate.turn_bytes += n;
  bool over = relay_rate.turn_bytes >= RELAY_TURN_BYTES;
  if (srv.cfg->relay_rate > 0) {
    relay_refill(now);
    relay_rate.tokens -= (int64_t)n;
    over = over || relay_rate.tokens < 0;
  }
  if (over && !relay_rate.holding) {
    relay_hold_all(true);
    relay_rate_wait();
  }
}

void relay_stop(void) {
  if (relay_rate.timer_init) {
    relay_rate.timer_init = false;
    uv_close((uv_handle_t *)&relay_rate.timer, NULL);
  }
}

/* Frees a slot whose streams are all closed, logging what moved. */
static void relay_slot_end(relay_slot *s) {
  if (s->pipe != NULL) {
    uint64_t ms = server_now_ms() - s->start_ms;
    log_info(NULL,
             "relay %016" PRIx64 " %s -> %s: %" PRIu64 " bytes to the "
             "receiver, %" PRIu64 " back, %" PRIu64 " ms, peak queue %zu",
             s->offer_id, s->sender, s->receiver, s->pipe->leg[0].bytes,
             s->pipe->leg[1].bytes, ms, s->pipe->leg[0].peak);
    stream_pipe_free(s->pipe);
    free(s->pipe);
  }
  sodium_memzero(s, sizeof *s);
}

/* The pipe ended (both finished, or one failed): close both streams. */
static void relay_pipe_done(stream_pipe *p, int err) {
  relay_slot *s = p->data;
  if (err != 0 && err != UV_EOF)
    log_info(NULL, "relay %016" PRIx64 ": %s", s->offer_id, uv_strerror(err));
  if (s->open < 2)
    return; /* one side is gone already and took the other with it */
  for (int i = 0; i < 2; i++)
    if (!stream_closing(p->leg[i].src))
      stream_close(p->leg[i].src);
}

/* One of the pipe's streams closed: its conn goes, the far side is closed
 * too (when it is still open), and the slot when both are gone. */
static void relay_pipe_close(stream_pipe *p, stream *st) {
  relay_slot *s = p->data;
  struct conn *c = (struct conn *)((char *)st - offsetof(struct conn, s));
  if (s->open == 2)
    for (int i = 0; i < 2; i++)
      if (p->leg[i].src != st && !stream_closing(p->leg[i].src))
        stream_close(p->leg[i].src);
  conn_stream_closed(c); /* may free c: touch neither again */
  if (--s->open == 0)
    relay_slot_end(s);
}

/* Pairs the two parked connections: each one's FILE_CONNECT goes to the
 * other first (that completes the end-to-end handshake), then bytes flow
 * both ways at the slower side's pace. */
static void relay_pair(relay_slot *s) {
  struct conn *a = s->side[PROTO_SIDE_SENDER];
  struct conn *b = s->side[PROTO_SIDE_RECEIVER];
  stream_pipe *p = calloc(1, sizeof *p);
  if (p == NULL) {
    conn_close(a, false, "out of memory for the relay");
    conn_close(b, false, "out of memory for the relay");
    return;
  }
  s->pipe = p;
  s->piping = true;
  s->open = 2;
  s->side[0] = s->side[1] = NULL;
  s->start_ms = server_now_ms();
  p->data = s;
  p->on_moved = relay_on_moved;
  if (relay_capture.fd >= 0)
    p->on_tap = relay_capture_tap;
  for (int i = 0; i < 2; i++) {
    proto_msg m = {.type = PROTO_FILE_CONNECT};
    m.u.file_connect.offer_id = s->offer_id;
    m.u.file_connect.side = (uint8_t)i;
    m.u.file_connect.token = (proto_blob){s->token, PROTO_TOKEN_LEN};
    /* leg[0] carries a's bytes to b: the sender's FILE_CONNECT for b. */
    (void)outq_push_msg(&p->leg[i].q, &m);
  }
  int r = stream_pipe_start(p, &a->s, &b->s, RELAY_HIGH, RELAY_LOW,
                            relay_pipe_done, relay_pipe_close);
  log_info(NULL, "relay %016" PRIx64 " %s -> %s: paired", s->offer_id,
           s->sender, s->receiver);
  if (r == 0 && relay_rate.holding)
    r = stream_pipe_hold(p, true); /* the bucket is dry: wait with the rest */
  if (r < 0)
    relay_pipe_done(p, r);
}

/* First frame of a data connection (see relay.h). */
void relay_on_connect(struct conn *c, const proto_file_connect *fc) {
  relay_slot *s = NULL;
  for (size_t i = 0; i < RELAY_SLOTS; i++) {
    relay_slot *x = &relay_slots[i];
    if (x->used && !x->piping && x->offer_id == fc->offer_id &&
        sodium_memcmp(x->token, fc->token.p, PROTO_TOKEN_LEN) == 0)
      s = x;
  }
  c->state = CONN_RELAY;
  if (s == NULL || s->side[fc->side] != NULL) {
    conn_error(c, PERR_RELAY_TOKEN, PROTO_FILE_CONNECT, "", NULL);
    conn_close(c, true, "relay token refused");
    return;
  }
  int r = stream_read_stop(&c->s); /* nothing more until the partner */
  (void)r;
  s->side[fc->side] = c;
  conn_ref(c);
  if (s->side[!fc->side] == NULL) {
    log_info(conn_peer(c), "relay %016" PRIx64 ": %s side waiting",
             s->offer_id, fc->side == PROTO_SIDE_SENDER ? "sender" : "receiver");
    return;
  }
  struct conn *a = s->side[0], *b = s->side[1];
  relay_pair(s);
  conn_unref(a);
  conn_unref(b);
}

/* Expires tokens nobody used and parked sides whose partner never came. */
void relay_tick(uint64_t now_ms) {
  for (size_t i = 0; i < RELAY_SLOTS; i++) {
    relay_slot *s = &relay_slots[i];
    if (!s->used || s->piping || now_ms < s->expires_ms)
      continue;
    for (int k = 0; k < 2; k++)
      if (s->side[k] != NULL) {
        struct conn *c = s->side[k];
        if (!c->closing) {
          conn_error(c, PERR_TIMEOUT, PROTO_FILE_CONNECT, "",
                     "the other side never reached the relay");
          conn_close(c, true, "relay partner never came");
        }
        conn_unref(c);
      }
    relay_slot_end(s);
  }
}
