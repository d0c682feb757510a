/* auth.c: argon2id off the loop, login rate limit, tokens (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <uv.h>

#include "bucket.h"
#include "conn.h"
#include "log.h"
#include "server.h"

typedef struct auth_work { /* one password check; the password is wiped */
  uv_work_t req;           /* the pool job, when it leads a batch */
  struct auth_work *next;  /* in its queue while waiting, then its batch */
  struct conn *c;
  auth_cb cb;
  uint64_t arg;
  uint8_t kind; /* enum auth_kind */
  bool ok;
  bool ran;        /* run in the pool (else it goes back to its queue) */
  uint64_t ran_ns; /* the leader: time its batch ran */
  uint32_t ran_n;  /* the leader: checks its batch ran */
  unsigned long long ops;
  size_t mem;
  char hash[crypto_pwhash_STRBYTES];
  uint16_t pwlen;
  char pw[];
} auth_work;

enum auth_kind { AUTH_VERIFY, AUTH_HASH, AUTH_DUMMY };

typedef struct auth_queue { /* FIFO of waiting checks */
  auth_work *head, *tail;
  uint32_t n;
} auth_queue;

static auth_queue auth_logins; /* served first */
static auth_queue auth_regs;   /* served when no login waits */
static uint32_t auth_running;  /* pool jobs out */
/* What one check costs, as measured (nanoseconds): sizes the batches. It
 * starts at the batch budget, so the first job runs one check. */
static uint64_t auth_check_ns = AUTH_BATCH_NS;

typedef struct auth_ip { /* the limits of one address group */
  char key[PROTO_MAX_ADDR];
  bucket fail; /* failed logins, --login-failures per minute */
  bucket reg;  /* registrations, --register-rate per hour */
  UT_hash_handle hh;
} auth_ip;

static auth_ip *auth_ips;
static uint64_t auth_swept_ms; /* when a full table was last swept */

/* Thread pool: the slow part, for each check of the batch in turn until
 * the batch has run AUTH_BATCH_NS (the first always runs). */
static void auth_work_run(uv_work_t *req) {
  auth_work *lead = (auth_work *)req;
  uint64_t t0 = uv_hrtime();
  uint32_t n = 0;
  for (auth_work *w = lead; w != NULL; w = w->next) {
    if (n > 0 && uv_hrtime() - t0 >= AUTH_BATCH_NS)
      break;
    if (w->kind == AUTH_VERIFY) {
      w->ok = crypto_pwhash_str_verify(w->hash, w->pw, w->pwlen) == 0;
    } else {
      w->ok = crypto_pwhash_str(w->hash, w->pw, w->pwlen, w->ops, w->mem) == 0;
      if (w->kind == AUTH_DUMMY)
        w->ok = false; /* the cost was the point */
    }
    sodium_memzero(w->pw, w->pwlen);
    w->ran = true;
    n++;
  }
  lead->ran_ns = uv_hrtime() - t0;
  lead->ran_n = n;
}

/* Hands the result back and frees the job. The callback always runs, so
 * it can free what arg owns; it checks c->closing itself. */
static void auth_work_finish(auth_work *w, bool ok) {
  sodium_memzero(w->pw, w->pwlen);
  w->cb(w->c, ok, w->hash, w->arg);
  conn_unref(w->c);
  sodium_memzero(w->hash, sizeof w->hash);
  free(w);
}

static void auth_pump(void);

/* The queue a check waits in. */
static auth_queue *auth_queue_of(const auth_work *w) {
  return w->kind == AUTH_HASH ? &auth_regs : &auth_logins;
}

/* Puts w back at the head of its queue (a check its batch left unrun). */
static void auth_queue_unpop(auth_work *w) {
  auth_queue *q = auth_queue_of(w);
  w->next = q->head;
  q->head = w;
  if (q->tail == NULL)
    q->tail = w;
  q->n++;
}

/* Loop: a batch is done. Checks it left unrun go back to the head of
 * their queues (in their order), the others are answered, and the next
 * waiting checks take the thread. */
static void auth_work_done(uv_work_t *req, int status) {
  auth_work *lead = (auth_work *)req;
  auth_running--;
  if (status == 0 && lead->ran_n > 0) /* the estimate follows the cost */
    auth_check_ns = (auth_check_ns + lead->ran_ns / lead->ran_n) / 2;
  auth_work *left[AUTH_BATCH_MAX];
  size_t nleft = 0;
  auth_work *done = NULL, **tail = &done;
  for (auth_work *w = lead, *next; w != NULL; w = next) {
    next = w->next;
    w->next = NULL;
    if (status == 0 && !w->ran && nleft < AUTH_BATCH_MAX) {
      left[nleft++] = w;
    } else {
      *tail = w;
      tail = &w->next;
    }
  }
  while (nleft > 0)
    auth_queue_unpop(left[--nleft]);
  for (auth_work *w = done, *next; w != NULL; w = next) {
    next = w->next;
    auth_work_finish(w, status == 0 && w->ran && w->ok);
  }
  auth_pump();
}

/* Takes the first job of q, or NULL. */
static auth_work *auth_queue_pop(auth_queue *q) {
  auth_work *w = q->head;
  if (w != NULL) {
    q->head = w->next;
    if (q->head == NULL)
      q->tail = NULL;
    q->n--;
    w->next = NULL;
  }
  return w;
}

/* Starts waiting checks while fewer than AUTH_RUNNING jobs are out:
 * logins first, as many in one job as fit AUTH_BATCH_NS at the measured
 * cost (one at a real argon2 cost; many at --pwhash min, where a storm of
 * logins would otherwise trickle back two per loop pass and each pass
 * writes to every older client). A check whose connection has closed
 * meanwhile is answered without running. */
static void auth_pump(void) {
  uint64_t fit = AUTH_BATCH_NS / (auth_check_ns > 0 ? auth_check_ns : 1);
  uint32_t per_job = fit < 1                ? 1
                     : fit > AUTH_BATCH_MAX ? AUTH_BATCH_MAX
                                            : (uint32_t)fit;
  while (auth_running < AUTH_RUNNING) {
    auth_work *lead = NULL, **tail = &lead;
    uint32_t n = 0;
    while (n < per_job) {
      auth_work *w = auth_queue_pop(&auth_logins);
      if (w == NULL)
        w = auth_queue_pop(&auth_regs);
      if (w == NULL)
        break;
      if (w->c->closing) {
        auth_work_finish(w, false);
        continue;
      }
      *tail = w;
      tail = &w->next;
      n++;
    }
    if (lead == NULL)
      return;
    int r = uv_queue_work(srv.loop, &lead->req, auth_work_run, auth_work_done);
    if (r < 0) {
      log_error(conn_peer(lead->c), "password check: %s", uv_strerror(r));
      for (auth_work *w = lead, *next; w != NULL; w = next) {
        next = w->next;
        auth_work_finish(w, false);
      }
      continue;
    }
    auth_running++;
  }
}

/* Common part of hash, verify and dummy: queue the job if its queue has
 * room, then start what may start. */
static int auth_submit(struct conn *c, const char *hash, proto_str pw,
                       uint8_t kind, auth_cb cb, uint64_t arg) {
  uint32_t cap = srv.cfg->auth_queue;
  auth_queue *q = &auth_logins;
  if (kind == AUTH_HASH) {
    q = &auth_regs;
    cap = cap / 4 > 0 ? cap / 4 : 1;
  }
  if (q->n >= cap)
    return UV_EBUSY;
  auth_work *w = calloc(1, sizeof *w + pw.n + 1);
  if (w == NULL)
    return UV_ENOMEM;
  w->c = conn_ref(c);
  w->cb = cb;
  w->arg = arg;
  w->kind = kind;
  config_pwhash_limits(srv.cfg, &w->ops, &w->mem);
  if (hash != NULL)
    snprintf(w->hash, sizeof w->hash, "%s", hash);
  w->pwlen = pw.n;
  memcpy(w->pw, pw.p, pw.n);
  if (q->tail != NULL)
    q->tail->next = w;
  else
    q->head = w;
  q->tail = w;
  q->n++;
  auth_pump();
  return 0;
}

/* argon2id hash, registration queue. */
int auth_hash(struct conn *c, proto_str password, auth_cb cb, uint64_t arg) {
  return auth_submit(c, NULL, password, AUTH_HASH, cb, arg);
}

/* argon2id verify, login queue. */
int auth_verify(struct conn *c, const char *hash, proto_str password,
                auth_cb cb, uint64_t arg) {
  return auth_submit(c, hash, password, AUTH_VERIFY, cb, arg);
}

/* A hash of the same cost whose answer is always "no", login queue. */
int auth_dummy(struct conn *c, proto_str password, auth_cb cb, uint64_t arg) {
  return auth_submit(c, NULL, password, AUTH_DUMMY, cb, arg);
}

/* Refills both buckets of a; true when both are full (nothing owed). */
static bool auth_ip_idle(auth_ip *a, uint64_t now) {
  uint32_t n = srv.cfg->login_failures, r = srv.cfg->register_rate;
  bool f = bucket_full(&a->fail, n, AUTH_FAIL_WINDOW_MS, n, now);
  bool g = bucket_full(&a->reg, r, AUTH_REG_WINDOW_MS, r, now);
  return f && g;
}

/* Drops the entries that owe nothing. */
static void auth_sweep(uint64_t now) {
  auth_ip *a, *tmp;
  HASH_ITER(hh, auth_ips, a, tmp) {
    if (auth_ip_idle(a, now)) {
      HASH_DEL(auth_ips, a);
      free(a);
    }
  }
  auth_swept_ms = now;
}

/* Looks up (or, when create, adds) the entry of c's address group. A full
 * table makes room only by dropping entries that owe nothing (swept at
 * most every 250 ms); NULL when there is none to drop. */
static auth_ip *auth_ip_get(const struct conn *c, bool create) {
  const char *key = conn_addr_key(c);
  auth_ip *a = NULL;
  HASH_FIND_STR(auth_ips, key, a);
  if (a != NULL || !create)
    return a;
  uint64_t now = server_now_ms();
  uint32_t cap = srv.cfg->limit_table;
  if (HASH_COUNT(auth_ips) >= cap && now - auth_swept_ms >= 250)
    auth_sweep(now);
  if (HASH_COUNT(auth_ips) >= cap) {
    log_warn(key,
             "login limit table full (%u addresses owe failures or "
             "registrations); refused",
             cap);
    return NULL;
  }
  a = calloc(1, sizeof *a);
  if (a == NULL)
    return NULL;
  snprintf(a->key, sizeof a->key, "%s", key);
  bucket_init(&a->fail, srv.cfg->login_failures, now);
  bucket_init(&a->reg, srv.cfg->register_rate, now);
  HASH_ADD_STR(auth_ips, key, a);
  return a;
}

/* One failure token taken on arrival. */
bool auth_charge(const struct conn *c) {
  uint32_t n = srv.cfg->login_failures;
  if (n == 0)
    return true;
  auth_ip *a = auth_ip_get(c, true);
  if (a == NULL)
    return false;
  if (!bucket_take(&a->fail, n, AUTH_FAIL_WINDOW_MS, n, server_now_ms())) {
    log_warn(conn_peer(c), "login attempts rate-limited");
    return false;
  }
  return true;
}

/* The charge comes back after a success (if the entry is still there). */
void auth_refund(const struct conn *c) {
  uint32_t n = srv.cfg->login_failures;
  auth_ip *a = n > 0 ? auth_ip_get(c, false) : NULL;
  if (a != NULL)
    bucket_put(&a->fail, n);
}

/* Allowed while at least one failure token is left. */
bool auth_allowed(const struct conn *c) {
  uint32_t n = srv.cfg->login_failures;
  auth_ip *a = n > 0 ? auth_ip_get(c, false) : NULL;
  if (a == NULL)
    return true;
  bucket_full(&a->fail, n, AUTH_FAIL_WINDOW_MS, n,
              server_now_ms()); /* refill */
  return a->fail.milli >= 1000;
}

/* Takes one failure token after the fact. */
void auth_failed(const struct conn *c) {
  uint32_t n = srv.cfg->login_failures;
  if (n == 0)
    return;
  auth_ip *a = auth_ip_get(c, true);
  if (a != NULL &&
      !bucket_take(&a->fail, n, AUTH_FAIL_WINDOW_MS, n, server_now_ms()))
    log_warn(conn_peer(c), "login attempts rate-limited");
}

/* One registration token. */
bool auth_register_take(const struct conn *c, uint64_t *wait_s) {
  uint32_t r = srv.cfg->register_rate;
  *wait_s = 0;
  if (r == 0)
    return true;
  auth_ip *a = auth_ip_get(c, true);
  if (a == NULL) {
    *wait_s = 60;
    return false;
  }
  if (bucket_take(&a->reg, r, AUTH_REG_WINDOW_MS, r, server_now_ms()))
    return true;
  *wait_s = (bucket_wait_ms(&a->reg, r, AUTH_REG_WINDOW_MS) + 999) / 1000;
  log_warn(conn_peer(c), "registrations rate-limited");
  return false;
}

/* Forgets address groups that owe nothing; at shutdown, everything. */
void auth_tick(bool all) {
  if (!all) {
    auth_sweep(server_now_ms());
    return;
  }
  auth_ip *a, *tmp;
  HASH_ITER(hh, auth_ips, a, tmp) {
    HASH_DEL(auth_ips, a);
    free(a);
  }
  auth_work *w;
  while ((w = auth_queue_pop(&auth_logins)) != NULL ||
         (w = auth_queue_pop(&auth_regs)) != NULL)
    auth_work_finish(w, false);
}

/* Random token plus its stored form. */
void auth_token_new(uint8_t token[PROTO_TOKEN_LEN], char hex[AUTH_TOKEN_HEX]) {
  randombytes_buf(token, PROTO_TOKEN_LEN);
  auth_token_hash(token, PROTO_TOKEN_LEN, hex, NULL);
}

/* SHA-256: a fast hash is enough for 256 random bits. */
void auth_token_hash(const uint8_t *token, size_t n, char hex[AUTH_TOKEN_HEX],
                     uint8_t raw[PROTO_HASH_LEN]) {
  uint8_t d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, token, n);
  sodium_bin2hex(hex, AUTH_TOKEN_HEX, d, sizeof d);
  if (raw != NULL)
    memcpy(raw, d, PROTO_HASH_LEN);
}

/* 8..256 characters. */
bool auth_password_ok(const char *p, size_t n) {
  ssize_t chars = proto_utf8_count(p, n);
  return chars >= PROTO_MIN_PASSWORD && chars <= PROTO_MAX_PASSWORD;
}
