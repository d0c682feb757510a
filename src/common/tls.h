/* tls.h: TLS 1.3 as a stream backend (OpenSSL with memory BIOs: the
 * socket stays libuv's, OpenSSL only ever sees bytes in memory, so nothing
 * blocks the loop), and the server identity it needs: an Ed25519 key and
 * a self-signed certificate, named by an ssh-style fingerprint
 * ("SHA256:" + unpadded base64 of the SHA-256 of the public key's
 * SubjectPublicKeyInfo DER).
 *
 * A stream becomes TLS with tls_start() once its TCP connection exists:
 * from then on the owner's callbacks see plaintext, queued output waits
 * for the handshake, and ops->on_secure (optional) marks its end. Writes
 * are coalesced: a flush encrypts up to TLS_FLUSH_MAX bytes of queued
 * frames into full records (16 KiB) and hands them to the socket in one
 * write. Idle connections give their record buffers back
 * (SSL_MODE_RELEASE_BUFFERS). */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define TLS_FINGERPRINT_SZ 60 /* "SHA256:" + 43 base64 characters + NUL */
#define TLS_DIGEST_LEN 32     /* SHA-256 of a key's SPKI DER */

typedef struct tls_ctx tls_ctx;

/* A server context from a certificate (chain) file and its key file.
 * NULL with a one-line reason in err. */
tls_ctx *tls_ctx_server(const char *cert, const char *key, char *err,
                        size_t cap);

/* A client context: TLS 1.3 only, the system's CAs (OpenSSL's default
 * paths, so SSL_CERT_FILE and SSL_CERT_DIR apply) and a cache of one
 * session for resumption. NULL with a reason in err. */
tls_ctx *tls_ctx_client(char *err, size_t cap);

/* End to end between two clients (a file transfer): the sender's context
 * with a fresh Ed25519 key and self-signed certificate held in memory
 * only, its key digest into md; the receiver's context, which checks
 * nothing during the handshake (the owner compares tls_peer_digest with
 * the digest the sender pinned). NULL with a reason in err. Blocking:
 * 0.8-2.8 ms measured at load 8 on this 2-core VM, about 0.7 ms of it
 * SSL_CTX_new (the key and its signature the rest), so the sender makes
 * it in the thread pool, once per accepted offer; thread-safe. */
tls_ctx *tls_ctx_peer_server(uint8_t md[TLS_DIGEST_LEN], char *err, size_t cap);
tls_ctx *tls_ctx_peer_client(char *err, size_t cap);

void tls_ctx_free(tls_ctx *ctx);

/* Whether a server context's connections leave OpenSSL once their
 * handshake completes (tls_rec.h: about 15 KB less per connection, and
 * records sealed in one pass). On by default for server contexts; off
 * keeps OpenSSL's record layer (parleyd --tls-openssl-records). */
void tls_ctx_own_records(tls_ctx *ctx, bool on);

/* Session tickets that outlive the process: a server context encrypts its
 * tickets with keys kept in path (mode 0600, written to a temporary file,
 * synced and renamed), so that clients resume their sessions after a
 * restart instead of a storm of full handshakes. At each call (start-up)
 * a new encrypting key is made when the newest is TLS_TICKET_ROTATE_S old
 * or more; up to TLS_TICKET_KEYS - 1 keys before it still decrypt, each
 * until the tickets it issued have expired (the context's session timeout
 * after the next key was made). A missing, unreadable, damaged
 * or group/world-readable file is replaced by a new key (the only cost:
 * one full handshake per client); when it cannot be written the keys live
 * in this process only. now: unix seconds. Returns 0, or 1 when note
 * holds a warning for the operator (else it says what was done).
 * Blocking: call before the loop runs. */
#define TLS_TICKET_KEYS 3
#define TLS_TICKET_ROTATE_S (12 * 3600)
#define TLS_TICKET_LIFE_S                                                      \
  (24 * 3600) /* a server's tickets are good this long */
int tls_ctx_tickets(tls_ctx *ctx, const char *path, uint64_t now, char *note,
                    size_t cap);

/* Rotation while the server runs, in three steps so that the key and the
 * file write stay off the loop: tls_tickets_due_in says how many seconds
 * until the encrypting key is period old (0: due; UINT64_MAX: the context
 * has no keys of its own). tls_rotation_new (loop) copies the keys and
 * path; tls_rotation_run (thread pool) makes the new key in front, drops
 * the keys whose tickets have expired and rewrites path; tls_rotation_done
 * (loop) installs the keys in ctx, frees r and says what happened in note
 * (returns 1 for a warning: no key made, or the file not written). Only
 * one rotation at a time per context. */
typedef struct tls_rotation tls_rotation;
uint64_t tls_tickets_due_in(const tls_ctx *ctx, uint64_t now, uint64_t period);
tls_rotation *tls_rotation_new(const tls_ctx *ctx, const char *path,
                               uint64_t now);
void tls_rotation_run(tls_rotation *r);
int tls_rotation_done(tls_ctx *ctx, tls_rotation *r, char *note, size_t cap);

/* What a server context did so far, for the operator's console. */
typedef struct tls_stats {
  uint64_t full;     /* handshakes that proved the server's key anew */
  uint64_t resumed;  /* handshakes that resumed a session from a ticket */
  unsigned keys;     /* ticket keys held (0: OpenSSL's own, this process) */
  uint64_t key_made; /* unix seconds the encrypting ticket key was made */
} tls_stats;
void tls_ctx_stats(const tls_ctx *ctx, tls_stats *out);

/* Switches a connected TCP stream to TLS: the server side when host is
 * NULL, else the client side for host (name checked against the system's
 * CAs, see tls_peer_verified; SNI when it is a DNS name). pre holds bytes
 * already read from the socket (n may be 0). The handshake starts at once;
 * reading must be (or be started) by the owner. Returns 0 or a negative
 * error (stream_strerror); the stream is still the owner's to close. */
int tls_start(stream *s, tls_ctx *ctx, const char *host, const uint8_t *pre,
              size_t n);

/* Starts a second TLS layer inside s's (secure) one, for a relayed
 * transfer: the outer layer is the hop to parleyd, the inner one runs
 * between the two clients, and from then on the owner sees the inner
 * plaintext, on_secure fires again at the inner handshake's end, and
 * tls_secure, tls_peer_fingerprint and tls_peer_digest speak of the inner
 * layer. The client side when client, else the server side of ctx. pre:
 * inner bytes already read. Returns 0 or a negative error. */
int tls_start_inner(stream *s, tls_ctx *ctx, bool client, const uint8_t *pre,
                    size_t n);

/* True once s carries an inner layer. */
bool tls_inner_active(const stream *s);

/* The peer key's digest (innermost layer); 0, or -1 when none. */
int tls_peer_digest(const stream *s, uint8_t md[TLS_DIGEST_LEN]);

/* "SHA256:..." for a digest into out (TLS_FINGERPRINT_SZ); 0 or -1. */
int tls_digest_text(const uint8_t md[TLS_DIGEST_LEN], char *out, size_t cap);

/* True while s is a TLS stream. */
bool tls_active(const stream *s);

/* True once s's handshake completed (false for a plain stream). */
bool tls_secure(const stream *s);

/* The peer certificate's fingerprint into out (TLS_FINGERPRINT_SZ);
 * 0, or -1 when there is none. */
int tls_peer_fingerprint(const stream *s, char *out, size_t cap);

/* True when the peer's certificate chains to a system CA and names the
 * host given to tls_start. */
bool tls_peer_verified(const stream *s);

/* Bytes s's memory BIOs hold allocated (0 when not TLS): drained ones
 * keep at most 1 KiB each, whatever flight they once carried. */
size_t tls_buffered(const stream *s);

/* "TLSv1.3 TLS_AES_128_GCM_SHA256 resumed" for logs ("" when not TLS). */
const char *tls_describe(const stream *s);

/* Makes key (mode 0600) and a self-signed certificate for cn when the key
 * file does not exist yet; each written to a temporary file, synced and
 * renamed into place. 0 when they exist or were made (*made tells which),
 * -1 with a reason in err. Blocking: call before the loop runs. */
int tls_identity_ensure(const char *cert, const char *key, const char *cn,
                        bool *made, char *err, size_t cap);

/* The fingerprint of the first certificate in a PEM file. 0, or -1 with a
 * reason in err. Blocking. */
int tls_cert_fingerprint(const char *cert, char *out, size_t cap, char *err,
                         size_t errcap);

#endif
