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

typedef struct auth_work { /* one hashing job; the password is wiped */
  uv_work_t req;
  struct auth_work *next; /* in its queue while waiting */
  struct conn *c;
  auth_cb cb;
  uint64_t arg;
  uint8_t kind; /* enum auth_kind */
  bool ok;
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
static uint32_t auth_running;  /* checks in the pool */

typedef struct auth_ip { /* the limits of one address group */
  char key[PROTO_MAX_ADDR];
  bucket fail; /* failed logins, --login-failures per minute */
  bucket reg;  /* registrations, --register-rate per hour */
  UT_hash_handle hh;
} auth_ip;

static auth_ip *auth_ips;
static uint64_t auth_swept_ms; /* when a full table was last swept */

/* Thread pool: the slow part. */
static void auth_work_run(uv_work_t *req) {
  auth_work *w = (auth_work *)req;
  if (w->kind == AUTH_VERIFY) {
    w->ok = crypto_pwhash_str_verify(w->hash, w->pw, w->pwlen) == 0;
  } else {
    w->ok = crypto_pwhash_str(w->hash, w->pw, w->pwlen, w->ops, w->mem) == 0;
    if (w->kind == AUTH_DUMMY)
      w->ok = false; /* the cost was the point */
  }
  sodium_memzero(w->pw, w->pwlen);
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

/* Loop: a check is done; the next waiting one takes its thread. */
static void auth_work_done(uv_work_t *req, int status) {
  auth_work *w = (auth_work *)req;
  auth_running--;
  auth_work_finish(w, status == 0 && w->ok);
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

/* Starts waiting checks while threads are free: logins first. A check
 * whose connection has closed meanwhile is answered without running. */
static void auth_pump(void) {
  while (auth_running < AUTH_RUNNING) {
    auth_work *w = auth_queue_pop(&auth_logins);
    if (w == NULL)
      w = auth_queue_pop(&auth_regs);
    if (w == NULL)
      return;
    if (w->c->closing) {
      auth_work_finish(w, false);
      continue;
    }
    int r = uv_queue_work(srv.loop, &w->req, auth_work_run, auth_work_done);
    if (r < 0) {
      log_error(conn_peer(w->c), "password check: %s", uv_strerror(r));
      auth_work_finish(w, false);
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
