/* tls_rec.h: TLS 1.3 records after the handshake, without OpenSSL's SSL
 * object: record protection (RFC 8446 5.2), traffic keys (7.3), key
 * updates (4.6.3) and alerts (6). The AEAD itself is OpenSSL's (EVP).
 *
 * Why: OpenSSL 3.0 keeps about 15 KB per connection in its SSL object,
 * idle or not, buffers released; a parleyd with 10,000 idle TLS clients
 * held 16-18 KB per client against about 1 KB in plain text. Once the
 * handshake is over a connection needs only its two traffic secrets and
 * what derives from them (keys, IVs, sequence numbers): about 250 bytes.
 * The server side hands each connection over to this layer as soon as
 * its handshake completes (tls.c), and frees the SSL. Sealing also writes
 * each record once, straight into the socket's buffer (OpenSSL's path
 * copies the plaintext in, the record out to the BIO, then out again).
 *
 * One cipher context per suite and direction is shared by all the
 * connections of the thread and keyed again only when another connection
 * uses it: the cost of a key is paid once per flush, not per record. */
#ifndef PARLEY_TLS_REC_H
#define PARLEY_TLS_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_REC_HDR 5           /* type, legacy version, length */
#define TLS_REC_TAG 16          /* every suite's AEAD tag */
#define TLS_REC_PLAIN_MAX 16384 /* plaintext per record (2^14) */
/* a record's body on the wire at most: plaintext, type, padding, tag */
#define TLS_REC_BODY_MAX (TLS_REC_PLAIN_MAX + 256)
/* a sealed record's bytes beyond its plaintext: header, type, tag */
#define TLS_REC_OVERHEAD (TLS_REC_HDR + 1 + TLS_REC_TAG)
/* room sealing n bytes needs: each record may follow a key update */
#define TLS_REC_SEAL_ROOM(n)                                                   \
  ((n) + ((n) / TLS_REC_PLAIN_MAX + 1) * (2 * TLS_REC_OVERHEAD + 5))
/* a fresh write key after this many records: AES-GCM's limit is 2^24.5
 * full records per key (RFC 8446 5.5) */
#define TLS_REC_UPDATE_AT (UINT64_C(1) << 24)

enum tls_rec_type { /* a record's content type (RFC 8446 5.1) */
                    TLS_REC_ALERT = 21,
                    TLS_REC_HANDSHAKE = 22,
                    TLS_REC_DATA = 23
};

/* One direction: the traffic secret (kept for key updates), the key and
 * IV derived from it, and the next record's sequence number. */
typedef struct tls_rec_dir {
  uint8_t secret[48];
  uint8_t key[32];
  uint8_t iv[12];
  uint64_t seq;
  uint64_t kid; /* names this key in the shared cipher contexts */
} tls_rec_dir;

typedef struct tls_rec {
  tls_rec_dir rd, wr;     /* the peer's records; ours */
  uint64_t update_at;     /* our records per key (TLS_REC_UPDATE_AT) */
  uint8_t suite;          /* index of the negotiated suite */
  uint8_t have;           /* keylog lines seen: 1 read, 2 write secret */
  uint8_t rd_len, wr_len; /* secrets' lengths as logged */
  bool update_owed;       /* the peer asked us to update our key */
  bool resumed;           /* the handshake resumed a session */
} tls_rec;

/* During the handshake: keeps the application traffic secrets from one
 * line of OpenSSL's key log (SSL_CTX_set_keylog_callback) into r, the
 * peer's as read and ours as write (server: the client's are read).
 * Other lines are ignored. */
void tls_rec_keylog(tls_rec *r, const char *line, bool server);

/* Takes over ssl's connection once its handshake completed: the suite,
 * keys and sequence numbers, with our write sequence number counted from
 * out, the ciphertext ssl produced since the peer's Finished (a server's
 * session tickets: records under the new keys). The last of them is
 * opened again to prove the count. 0, or -1 with why set when the
 * connection cannot be taken over (it then stays OpenSSL's): secrets
 * missing, not TLS 1.3, an unknown suite, data still inside ssl. */
int tls_rec_take(tls_rec *r, SSL *ssl, const uint8_t *out, size_t n,
                 const char **why);

/* Sets both directions up from secrets (tests; tls_rec_take uses it):
 * suite is the IANA id (0x1301 ...). 0, or -1 for an unknown suite or a
 * secret of the wrong length. */
int tls_rec_init(tls_rec *r, uint16_t suite, const uint8_t *rd, size_t rd_len,
                 const uint8_t *wr, size_t wr_len, uint64_t rd_seq,
                 uint64_t wr_seq);

/* The suite's name ("TLS_AES_128_GCM_SHA256"). */
const char *tls_rec_suite_name(const tls_rec *r);

/* Seals n bytes of type into out, which has TLS_REC_SEAL_ROOM(n) bytes,
 * as records of up to TLS_REC_PLAIN_MAX; a key update owed or due goes
 * ahead of the record that needs it. n 0 with the data type seals only
 * the key update owed or due, if any. p may be out + TLS_REC_HDR (sealed
 * in place) when n <= TLS_REC_PLAIN_MAX and no update is due. Returns
 * the bytes written (0 only when nothing was to be sealed), or -1 when
 * OpenSSL failed: the connection is then unusable. */
long tls_rec_seal(tls_rec *r, uint8_t type, const uint8_t *p, size_t n,
                  uint8_t *out);

/* True when the next record must follow a key update (owed or due).
 * Inline: asked once per record on the fan-out path. */
static inline bool tls_rec_update_due(const tls_rec *r) {
  return r->update_owed || r->wr.seq >= r->update_at;
}

/* The length of the record starting at p when n bytes are there: 0 when
 * its header is not complete yet; when the header is not one a TLS 1.3
 * peer sends after its handshake, the negated alert owed (< 0) with why. */
long tls_rec_need(const uint8_t *p, size_t n, const char **why);

enum tls_rec_open_result {
  TLS_REC_OPEN_DATA = 1, /* application data in out (may be 0 bytes) */
  TLS_REC_OPEN_NONE = 0, /* a key update or a warning: nothing for the owner */
  TLS_REC_OPEN_EOF = -1, /* close_notify: the peer's clean end */
  TLS_REC_OPEN_ERR = -2, /* a failure, said in why; alert: the code owed */
};

/* Opens one whole record (tls_rec_need's length) into out, which holds
 * the record's length in bytes; *outn is the plaintext's. A key update
 * from the peer takes effect here; when it asks for ours, update_owed is
 * set (the next seal sends it; tls_rec_seal with n 0 and the data type
 * sends it alone). *alert is the alert to send before closing on ERR. */
int tls_rec_open(tls_rec *r, const uint8_t *rec, size_t n, uint8_t *out,
                 size_t *outn, uint8_t *alert, const char **why);

/* Wipes r's secrets and keys (the shared contexts' copies too). */
void tls_rec_wipe(tls_rec *r);

#endif
