/* tls_rec.c: TLS 1.3 records after the handshake (see tls_rec.h). */
#include "tls_rec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

/* The TLS 1.3 suites OpenSSL negotiates (tls.c offers these three). */
typedef struct tls_rec_suite {
  uint16_t id;
  const char *name, *cipher, *md;
  uint8_t keylen, hashlen;
} tls_rec_suite;

static const tls_rec_suite suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 32},
    {0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 48},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305", "SHA256", 32,
     32},
};
#define NSUITES (sizeof suites / sizeof suites[0])

/* Fetched once: a fetch per use costs more than the AEAD of a short
 * record in OpenSSL 3. Cipher contexts per suite, [0] sealing and [1]
 * opening, with the key (kid) each holds. Streams live on one loop
 * thread, as the other shared buffers of the stream layer do. */
static EVP_KDF *kdf;
static EVP_CIPHER *ciphers[NSUITES];
static struct {
  EVP_CIPHER_CTX *c;
  uint64_t kid;
} cctx[NSUITES][2];
static uint64_t next_kid;

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446 7.1, through
 * OpenSSL's TLS 1.3 KDF. 0 or -1. */
static int expand_label(const tls_rec_suite *su, const uint8_t *secret,
                        const char *label, uint8_t *out, size_t len) {
  if (kdf == NULL)
    kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_3_KDF, NULL);
  EVP_KDF_CTX *k = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
  if (k == NULL)
    return -1;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  static const char prefix[] = "tls13 ";
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)su->md,
                                       0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
                                        su->hashlen),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)prefix,
                                        sizeof prefix - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label,
                                        strlen(label)),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(k, out, len, ps) > 0;
  EVP_KDF_CTX_free(k);
  return ok ? 0 : -1;
}

/* The key and IV of d's secret (RFC 8446 7.3), under a new kid. */
static int dir_keys(tls_rec_dir *d, const tls_rec_suite *su) {
  if (expand_label(su, d->secret, "key", d->key, su->keylen) < 0 ||
      expand_label(su, d->secret, "iv", d->iv, sizeof d->iv) < 0)
    return -1;
  d->kid = ++next_kid;
  return 0;
}

/* The next generation of d's secret (RFC 8446 7.2), its keys, and
 * sequence numbers from 0. */
static int dir_update(tls_rec_dir *d, const tls_rec_suite *su) {
  uint8_t next[sizeof d->secret];
  int r = expand_label(su, d->secret, "traffic upd", next, su->hashlen);
  if (r == 0) {
    memcpy(d->secret, next, su->hashlen);
    d->seq = 0;
    r = dir_keys(d, su);
  }
  OPENSSL_cleanse(next, sizeof next);
  return r;
}

/* The shared context for sealing (open false) or opening a record with
 * d's key and nonce, keyed again only when it last held another key (in
 * the same call as the nonce); NULL when OpenSSL fails. */
static EVP_CIPHER_CTX *dir_ctx(const tls_rec *r, const tls_rec_dir *d,
                               bool open, const uint8_t nonce[12]) {
  const tls_rec_suite *su = &suites[r->suite];
  if (ciphers[r->suite] == NULL &&
      (ciphers[r->suite] = EVP_CIPHER_fetch(NULL, su->cipher, NULL)) == NULL)
    return NULL;
  EVP_CIPHER_CTX **c = &cctx[r->suite][open].c;
  uint64_t *kid = &cctx[r->suite][open].kid;
  if (*c == NULL) {
    if ((*c = EVP_CIPHER_CTX_new()) == NULL)
      return NULL;
    if (!EVP_CipherInit_ex2(*c, ciphers[r->suite], NULL, NULL, open ? 0 : 1,
                            NULL)) {
      EVP_CIPHER_CTX_free(*c);
      *c = NULL;
      return NULL;
    }
    *kid = 0;
  }
  bool rekey = *kid != d->kid;
  *kid = 0;
  if (!EVP_CipherInit_ex2(*c, NULL, rekey ? d->key : NULL, nonce, -1, NULL))
    return NULL;
  *kid = d->kid;
  return *c;
}

/* The per-record nonce: the IV xor the sequence number (RFC 8446 5.3). */
static void dir_nonce(const tls_rec_dir *d, uint8_t nonce[12]) {
  memcpy(nonce, d->iv, 12);
  for (int i = 0; i < 8; i++)
    nonce[4 + i] ^= (uint8_t)(d->seq >> (56 - 8 * i));
}

/* One record of type and n (<= TLS_REC_PLAIN_MAX) bytes into out; p may
 * be out + TLS_REC_HDR. The record's length, or 0 when OpenSSL failed. */
static size_t seal_one(tls_rec *r, uint8_t type, const uint8_t *p, size_t n,
                       uint8_t *out) {
  size_t body = n + 1 + TLS_REC_TAG;
  out[0] = TLS_REC_DATA; /* every protected record says application data */
  out[1] = 3;
  out[2] = 3;
  out[3] = (uint8_t)(body >> 8);
  out[4] = (uint8_t)body;
  uint8_t *in = out + TLS_REC_HDR;
  if (n > 0 && p != in)
    memcpy(in, p, n);
  in[n] = type;
  uint8_t nonce[12];
  dir_nonce(&r->wr, nonce);
  EVP_CIPHER_CTX *c = dir_ctx(r, &r->wr, false, nonce);
  int l = 0;
  if (c == NULL || !EVP_CipherUpdate(c, NULL, &l, out, TLS_REC_HDR) ||
      !EVP_CipherUpdate(c, in, &l, in, (int)n + 1) ||
      !EVP_CipherFinal_ex(c, in + n + 1, &l) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TLS_REC_TAG, in + n + 1) <=
          0) {
    ERR_clear_error();
    return 0;
  }
  r->wr.seq++;
  return TLS_REC_HDR + body;
}

/* Opens the record rec (n bytes, its length checked) with d at its
 * sequence number into out: the inner plaintext's length without padding
 * into *m and its type into *type. 0, or -1 when it does not
 * authenticate (or OpenSSL failed). */
static int unseal(const tls_rec *r, const tls_rec_dir *d, const uint8_t *rec,
                  size_t n, uint8_t *out, size_t *m, uint8_t *type) {
  size_t clen = n - TLS_REC_HDR - TLS_REC_TAG;
  uint8_t nonce[12];
  dir_nonce(d, nonce);
  EVP_CIPHER_CTX *c = dir_ctx(r, d, true, nonce);
  int l = 0;
  if (c == NULL || !EVP_CipherUpdate(c, NULL, &l, rec, TLS_REC_HDR) ||
      !EVP_CipherUpdate(c, out, &l, rec + TLS_REC_HDR, (int)clen) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TLS_REC_TAG,
                          (void *)(rec + TLS_REC_HDR + clen)) <= 0 ||
      EVP_CipherFinal_ex(c, out + clen, &l) <= 0) {
    ERR_clear_error();
    return -1;
  }
  size_t k = clen;
  while (k > 0 && out[k - 1] == 0) /* padding */
    k--;
  *type = k > 0 ? out[k - 1] : 0;
  *m = k > 0 ? k - 1 : 0;
  return 0;
}

void tls_rec_keylog(tls_rec *r, const char *line, bool server) {
  static const char client0[] = "CLIENT_TRAFFIC_SECRET_0 ";
  static const char server0[] = "SERVER_TRAFFIC_SECRET_0 ";
  bool client_line = strncmp(line, client0, sizeof client0 - 1) == 0;
  if (!client_line && strncmp(line, server0, sizeof server0 - 1) != 0)
    return;
  const char *p = strchr(line + sizeof client0 - 1, ' '); /* after random */
  if (p == NULL)
    return;
  p++;
  size_t hex = strlen(p);
  if (hex != 64 && hex != 96)
    return;
  bool rd = client_line == server; /* a server reads the client's */
  tls_rec_dir *d = rd ? &r->rd : &r->wr;
  for (size_t i = 0; i < hex / 2; i++) {
    int hi = OPENSSL_hexchar2int((unsigned char)p[2 * i]);
    int lo = OPENSSL_hexchar2int((unsigned char)p[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return;
    d->secret[i] = (uint8_t)(hi << 4 | lo);
  }
  if (rd)
    r->rd_len = (uint8_t)(hex / 2);
  else
    r->wr_len = (uint8_t)(hex / 2);
  r->have |= rd ? 1 : 2;
}

int tls_rec_init(tls_rec *r, uint16_t suite, const uint8_t *rd, size_t rd_len,
                 const uint8_t *wr, size_t wr_len, uint64_t rd_seq,
                 uint64_t wr_seq) {
  size_t i = 0;
  while (i < NSUITES && suites[i].id != suite)
    i++;
  if (i == NSUITES || rd_len != suites[i].hashlen ||
      wr_len != suites[i].hashlen)
    return -1;
  memmove(r->rd.secret, rd, rd_len); /* rd may be r->rd.secret itself */
  memmove(r->wr.secret, wr, wr_len);
  r->suite = (uint8_t)i;
  r->rd_len = r->wr_len = suites[i].hashlen;
  r->update_at = TLS_REC_UPDATE_AT;
  if (dir_keys(&r->rd, &suites[i]) < 0 || dir_keys(&r->wr, &suites[i]) < 0)
    return -1;
  r->rd.seq = rd_seq;
  r->wr.seq = wr_seq;
  return 0;
}

const char *tls_rec_suite_name(const tls_rec *r) {
  return suites[r->suite].name;
}

long tls_rec_need(const uint8_t *p, size_t n, const char **why) {
  if (n < TLS_REC_HDR)
    return 0;
  size_t len = (size_t)p[3] << 8 | p[4];
  if (p[0] != TLS_REC_DATA) {
    *why = "a record in clear after the handshake";
    return -10; /* unexpected_message */
  }
  if (len > TLS_REC_BODY_MAX) {
    *why = "a record longer than TLS allows";
    return -22; /* record_overflow */
  }
  if (len < 1 + TLS_REC_TAG) {
    *why = "a record too short to be protected";
    return -50; /* decode_error */
  }
  return (long)(TLS_REC_HDR + len);
}

int tls_rec_take(tls_rec *r, SSL *ssl, const uint8_t *out, size_t n,
                 const char **why) {
  if ((r->have & 3) != 3) {
    *why = "the traffic secrets were not logged";
    return -1;
  }
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    *why = "not TLS 1.3";
    return -1;
  }
  if (SSL_has_pending(ssl)) {
    *why = "records are still inside OpenSSL";
    return -1;
  }
  /* Records sent under the new keys: all of out, the last proves it. */
  uint64_t k = 0;
  size_t off = 0, last = 0;
  while (off < n) {
    long len = tls_rec_need(out + off, n - off, why);
    if (len <= 0 || (size_t)len > n - off) {
      *why = "the handshake's last flight is not whole protected records";
      return -1;
    }
    last = off;
    off += (size_t)len;
    k++;
  }
  const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
  if (ci == NULL ||
      tls_rec_init(r, SSL_CIPHER_get_protocol_id(ci), r->rd.secret, r->rd_len,
                   r->wr.secret, r->wr_len, 0, k) < 0) {
    *why = "an unknown suite, or keys OpenSSL would not derive";
    return -1;
  }
  r->resumed = SSL_session_reused(ssl) == 1;
  if (k == 0)
    return 0;
  size_t len = n - last;
  uint8_t *buf = malloc(len);
  tls_rec_dir probe = r->wr;
  probe.seq = k - 1;
  size_t m = 0;
  uint8_t type = 0;
  int ok = buf != NULL &&
           unseal(r, &probe, out + last, len, buf, &m, &type) == 0 &&
           type == TLS_REC_HANDSHAKE;
  OPENSSL_cleanse(&probe, sizeof probe);
  if (buf != NULL)
    OPENSSL_cleanse(buf, len);
  free(buf);
  if (!ok) {
    *why = "our own last record does not open under the new keys";
    return -1;
  }
  return 0;
}

long tls_rec_seal(tls_rec *r, uint8_t type, const uint8_t *p, size_t n,
                  uint8_t *out) {
  size_t w = 0;
  bool first = true;
  while (first || n > 0) {
    if (tls_rec_update_due(r)) {
      static const uint8_t update[5] = {24, 0, 0, 1, 0}; /* not requested */
      size_t k = seal_one(r, TLS_REC_HANDSHAKE, update, sizeof update, out + w);
      if (k == 0 || dir_update(&r->wr, &suites[r->suite]) < 0)
        return -1;
      r->update_owed = false;
      w += k;
    }
    if (n == 0 && type == TLS_REC_DATA)
      break;
    size_t chunk = n < TLS_REC_PLAIN_MAX ? n : TLS_REC_PLAIN_MAX;
    size_t k = seal_one(r, type, p, chunk, out + w);
    if (k == 0)
      return -1;
    w += k;
    p += chunk;
    n -= chunk;
    first = false;
  }
  return (long)w;
}

int tls_rec_open(tls_rec *r, const uint8_t *rec, size_t n, uint8_t *out,
                 size_t *outn, uint8_t *alert, const char **why) {
  static char said[96];
  *outn = 0;
  *alert = 0;
  size_t m = 0;
  uint8_t type = 0;
  if (unseal(r, &r->rd, rec, n, out, &m, &type) < 0) {
    *why = "a record failed to authenticate (changed on the way)";
    *alert = 20; /* bad_record_mac */
    return TLS_REC_OPEN_ERR;
  }
  r->rd.seq++;
  if (n - TLS_REC_HDR - TLS_REC_TAG > TLS_REC_PLAIN_MAX + 1) { /* 5.4 */
    *why = "a record holds more than 16 KiB";
    *alert = 22; /* record_overflow */
    return TLS_REC_OPEN_ERR;
  }
  switch (type) {
  case TLS_REC_DATA:
    *outn = m;
    return TLS_REC_OPEN_DATA;
  case TLS_REC_ALERT:
    if (m != 2) {
      *why = "a malformed alert";
      *alert = 50; /* decode_error */
      return TLS_REC_OPEN_ERR;
    }
    if (out[1] == 0) /* close_notify */
      return TLS_REC_OPEN_EOF;
    if (out[1] == 90 && out[0] == 1) /* user_canceled: a warning */
      return TLS_REC_OPEN_NONE;
    snprintf(said, sizeof said, "the peer sent a TLS alert: %s",
             SSL_alert_desc_string_long(out[1]));
    *why = said;
    return TLS_REC_OPEN_ERR;
  case TLS_REC_HANDSHAKE:
    /* After the handshake a client may only update its keys, and a
     * KeyUpdate ends its record (RFC 8446 5.1). */
    if (m != 5 || out[0] != 24 || out[1] != 0 || out[2] != 0 || out[3] != 1) {
      *why = "a handshake message after the handshake (only key updates are "
             "taken)";
      *alert = 10; /* unexpected_message */
      return TLS_REC_OPEN_ERR;
    }
    if (out[4] > 1) {
      *why = "a key update with a request value TLS does not define";
      *alert = 47; /* illegal_parameter */
      return TLS_REC_OPEN_ERR;
    }
    if (dir_update(&r->rd, &suites[r->suite]) < 0) {
      *why = "cannot derive the peer's next key";
      *alert = 80; /* internal_error */
      return TLS_REC_OPEN_ERR;
    }
    if (out[4] == 1)
      r->update_owed = true;
    return TLS_REC_OPEN_NONE;
  default:
    *why = "a record of an unknown content type";
    *alert = 10;
    return TLS_REC_OPEN_ERR;
  }
}

void tls_rec_wipe(tls_rec *r) {
  /* The shared contexts still holding r's keys get a zero key instead:
   * no expanded key outlives its connection. */
  static const uint8_t zero[32];
  for (size_t i = 0; i < NSUITES; i++)
    for (int d = 0; d < 2; d++)
      if (cctx[i][d].c != NULL && cctx[i][d].kid != 0 &&
          (cctx[i][d].kid == r->rd.kid || cctx[i][d].kid == r->wr.kid)) {
        (void)EVP_CipherInit_ex2(cctx[i][d].c, NULL, zero, NULL, -1, NULL);
        ERR_clear_error();
        cctx[i][d].kid = 0;
      }
  OPENSSL_cleanse(r, sizeof *r);
}
