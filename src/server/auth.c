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

#define AUTH_MAX_IPS 4096 /* rate-limit table size */

typedef struct auth_work { /* one hashing job; the password is wiped */
  uv_work_t req;
  struct conn *c;
  auth_cb cb;
  uint64_t arg;
  bool verify; /* else: hash */
  bool ok;
  unsigned long long ops;
  size_t mem;
  char hash[crypto_pwhash_STRBYTES];
  uint16_t pwlen;
  char pw[];
} auth_work;

typedef struct auth_ip { /* failed-login bucket of one address */
  char ip[PROTO_MAX_ADDR];
  bucket b;
  UT_hash_handle hh;
} auth_ip;

static auth_ip *auth_ips;

/* Thread pool: the slow part. */
static void auth_work_run(uv_work_t *req) {
  auth_work *w = (auth_work *)req;
  if (w->verify) {
    w->ok = crypto_pwhash_str_verify(w->hash, w->pw, w->pwlen) == 0;
  } else {
    w->ok = crypto_pwhash_str(w->hash, w->pw, w->pwlen, w->ops, w->mem) == 0;
  }
  sodium_memzero(w->pw, w->pwlen);
}

/* Loop: hand the result back, then release the conn. */
static void auth_work_done(uv_work_t *req, int status) {
  auth_work *w = (auth_work *)req;
  /* Always called, so the callback can free what arg owns; it checks
   * c->closing itself. */
  w->cb(w->c, status == 0 && w->ok, w->hash, w->arg);
  conn_unref(w->c);
  sodium_memzero(w->hash, sizeof w->hash);
  free(w);
}

/* Common part of hash and verify. */
static int auth_submit(struct conn *c, const char *hash, proto_str pw,
                       bool verify, auth_cb cb, uint64_t arg) {
  auth_work *w = calloc(1, sizeof *w + pw.n + 1);
  if (w == NULL)
    return UV_ENOMEM;
  w->c = c;
  w->cb = cb;
  w->arg = arg;
  w->verify = verify;
  config_pwhash_limits(srv.cfg, &w->ops, &w->mem);
  if (hash != NULL)
    snprintf(w->hash, sizeof w->hash, "%s", hash);
  w->pwlen = pw.n;
  memcpy(w->pw, pw.p, pw.n);
  int r = uv_queue_work(srv.loop, &w->req, auth_work_run, auth_work_done);
  if (r < 0) {
    sodium_memzero(w->pw, w->pwlen);
    free(w);
    return r;
  }
  conn_ref(c);
  return 0;
}

/* argon2id hash in the pool. */
int auth_hash(struct conn *c, proto_str password, auth_cb cb, uint64_t arg) {
  return auth_submit(c, NULL, password, false, cb, arg);
}

/* argon2id verify in the pool. */
int auth_verify(struct conn *c, const char *hash, proto_str password,
                auth_cb cb, uint64_t arg) {
  return auth_submit(c, hash, password, true, cb, arg);
}

/* Looks up (or, when create, adds) an address's bucket. */
static auth_ip *auth_ip_get(const char *ip, bool create) {
  auth_ip *a = NULL;
  HASH_FIND_STR(auth_ips, ip, a);
  if (a != NULL || !create)
    return a;
  if (HASH_COUNT(auth_ips) >= AUTH_MAX_IPS)
    auth_tick(false);
  if (HASH_COUNT(auth_ips) >= AUTH_MAX_IPS) {
    auth_ip *old = auth_ips; /* the oldest entry goes */
    HASH_DEL(auth_ips, old);
    free(old);
  }
  a = calloc(1, sizeof *a);
  if (a == NULL)
    return NULL;
  snprintf(a->ip, sizeof a->ip, "%s", ip);
  bucket_init(&a->b, srv.cfg->login_failures, server_now_ms());
  HASH_ADD_STR(auth_ips, ip, a);
  return a;
}

/* Allowed while at least one failure token is left. */
bool auth_allowed(const char *ip) {
  uint32_t n = srv.cfg->login_failures;
  auth_ip *a = auth_ip_get(ip, false);
  if (a == NULL || n == 0)
    return true;
  bucket_full(&a->b, n, AUTH_FAIL_WINDOW_MS, n, server_now_ms()); /* refill */
  return a->b.milli >= 1000;
}

/* Takes one failure token. */
void auth_failed(const char *ip) {
  uint32_t n = srv.cfg->login_failures;
  if (n == 0)
    return;
  auth_ip *a = auth_ip_get(ip, true);
  if (a != NULL &&
      !bucket_take(&a->b, n, AUTH_FAIL_WINDOW_MS, n, server_now_ms()))
    log_warn(ip, "login attempts rate-limited");
}

/* Forgets addresses whose bucket has refilled. */
void auth_tick(bool all) {
  auth_ip *a, *tmp;
  uint64_t now = server_now_ms();
  HASH_ITER(hh, auth_ips, a, tmp) {
    uint32_t n = srv.cfg->login_failures;
    if (all || bucket_full(&a->b, n, AUTH_FAIL_WINDOW_MS, n, now)) {
      HASH_DEL(auth_ips, a);
      free(a);
    }
  }
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
