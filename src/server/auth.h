/* auth.h: password hashing off the loop (argon2id in the libuv thread
 * pool), the per-IP failed-login limit, and session tokens.
 *
 * Failed-login policy: each IP address has a bucket of N failures
 * (--login-failures, default 5) that refills at N a minute. A failure (wrong
 * password, unknown user, bad token) takes one; while the bucket is empty,
 * logins from that address are refused with RATE_LIMITED before any password is
 * checked. The table holds at most 4096 addresses; full buckets are
 * dropped on the tick. */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

struct conn;

#define AUTH_FAIL_WINDOW_MS 60000 /* the burst refills over a minute */
#define AUTH_TOKEN_HEX (2 * PROTO_HASH_LEN + 1)

/* Called on the loop when hashing or verifying is done, even when the conn
 * is closing by then (check c->closing). ok: verified (or hashed); hash:
 * the new hash string for auth_hash. */
typedef void (*auth_cb)(struct conn *c, bool ok, const char *hash,
                        uint64_t arg);

/* Hashes password with argon2id in the thread pool. Returns 0 or a
 * negative uv error (then cb is not called). */
int auth_hash(struct conn *c, proto_str password, auth_cb cb, uint64_t arg);

/* Verifies password against hash in the thread pool. */
int auth_verify(struct conn *c, const char *hash, proto_str password,
                auth_cb cb, uint64_t arg);

/* True when ip may try a login now. */
bool auth_allowed(const char *ip);

/* Counts a failed login from ip. */
void auth_failed(const char *ip);

/* Drops full buckets (1 s tick) and, at shutdown (all = true), all. */
void auth_tick(bool all);

/* Makes a new random token and its SHA-256 hex. */
void auth_token_new(uint8_t token[PROTO_TOKEN_LEN], char hex[AUTH_TOKEN_HEX]);

/* SHA-256 hex of a token, and the raw digest when raw is not NULL. */
void auth_token_hash(const uint8_t *token, size_t n, char hex[AUTH_TOKEN_HEX],
                     uint8_t raw[PROTO_HASH_LEN]);

/* Password length rule: 8..256 characters of valid UTF-8. */
bool auth_password_ok(const char *p, size_t n);

#endif
