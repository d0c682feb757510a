/* auth.h: password hashing off the loop (argon2id in the libuv thread
 * pool, fed from two bounded queues), the per-address login and
 * registration limits, and session tokens.
 *
 * Password checks: at most AUTH_RUNNING pool jobs run at once, so the
 * pool keeps threads for file work. A job runs the waiting checks that
 * fit AUTH_BATCH_NS at their measured cost one after another (one at a
 * real argon2 cost, up to AUTH_BATCH_MAX when hashing is cheap), so a
 * login storm completes in batches, not two per loop pass. Waiting checks sit
 * in two queues: logins (the verification of LOGIN, and the dummy hash an
 * unknown name gets) go before registrations (the hash of REGISTER). Up to
 * --auth-queue logins and a quarter of that (at least 1) registrations wait;
 * beyond that the request is refused at once (UV_EBUSY; the session answers
 * SERVER_BUSY). A check whose connection closed while it waited is dropped
 * unrun.
 *
 * Failed-login policy: each address group (conn_addr_key: an IPv4
 * address, or an IPv6 /64) has a bucket of N failures (--login-failures,
 * default 5) that refills at N a minute. LOGIN and LOGIN_TOKEN take a
 * token when they arrive, before anything is checked, and give it back
 * when they succeed: checks in flight count. While the bucket is empty
 * they are refused with RATE_LIMITED. REGISTER needs a token left (it
 * takes one only for NAME_TAKEN) and takes one of its own bucket,
 * --register-rate per hour, successes included.
 *
 * The table holds at most --limit-table address groups (16384). Entries whose
 * buckets are both full again are dropped on the tick or when room is
 * needed; an entry that still holds a debt is never dropped to make room:
 * when every entry has one, a new address is refused (RATE_LIMITED) until
 * entries refill. */
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

#define AUTH_RUNNING 2             /* pool jobs of password checks at once */
#define AUTH_BATCH_MAX 64          /* checks one pool job may run in turn */
#define AUTH_BATCH_NS 2000000      /* and it starts none after this long */
#define AUTH_REG_WINDOW_MS 3600000 /* --register-rate is per hour */

/* Hashes password with argon2id (registration queue). Returns 0,
 * UV_EBUSY when the queue is full, or another negative uv error (then cb
 * is not called). */
int auth_hash(struct conn *c, proto_str password, auth_cb cb, uint64_t arg);

/* Verifies password against hash (login queue); returns like auth_hash. */
int auth_verify(struct conn *c, const char *hash, proto_str password,
                auth_cb cb, uint64_t arg);

/* Hashes password at the configured cost and reports failure (login
 * queue): an unknown name costs what a known one does. Returns like
 * auth_hash. */
int auth_dummy(struct conn *c, proto_str password, auth_cb cb, uint64_t arg);

/* Charges one login attempt from c's address on arrival. Returns false
 * (nothing charged) when its failure bucket is empty or the table is full
 * of debts. */
bool auth_charge(const struct conn *c);

/* Gives back the charge of an attempt that succeeded. */
void auth_refund(const struct conn *c);

/* True when c's address has a failure token left (not taken). */
bool auth_allowed(const struct conn *c);

/* Counts a failure that was not charged on arrival (NAME_TAKEN). */
void auth_failed(const struct conn *c);

/* Takes one registration from c's address. Returns false when none is
 * left; *wait_s is then the seconds until one is. */
bool auth_register_take(const struct conn *c, uint64_t *wait_s);

/* Drops refilled entries (1 s tick); at shutdown (all = true) drops every
 * entry and cancels the waiting checks (their callbacks run with ok
 * false). */
void auth_tick(bool all);

/* Makes a new random token and its SHA-256 hex. */
void auth_token_new(uint8_t token[PROTO_TOKEN_LEN], char hex[AUTH_TOKEN_HEX]);

/* SHA-256 hex of a token, and the raw digest when raw is not NULL. */
void auth_token_hash(const uint8_t *token, size_t n, char hex[AUTH_TOKEN_HEX],
                     uint8_t raw[PROTO_HASH_LEN]);

/* Password length rule: 8..256 characters of valid UTF-8. */
bool auth_password_ok(const char *p, size_t n);

#endif
