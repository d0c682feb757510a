/* test_tls_rec.c: the server's own TLS 1.3 records against OpenSSL's.
 *
 * An OpenSSL client and an OpenSSL server shake hands in memory; then the
 * server's connection is taken over by tls_rec (as tls.c does) and the
 * client, still OpenSSL, must read what tls_rec seals and tls_rec must
 * open what the client writes: data of every size, key updates both ways,
 * close_notify, for each suite, after a full handshake and a resumed one,
 * with 0, 1 or 2 tickets. A "mirror" (the client's side rebuilt from the
 * same secrets) seals what an OpenSSL client would never send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_rec.h"

static const char *suite_names[] = {"TLS_AES_128_GCM_SHA256",
                                    "TLS_AES_256_GCM_SHA384",
                                    "TLS_CHACHA20_POLY1305_SHA256"};

static EVP_PKEY *key;
static X509 *cert;

static void keylog(const SSL *ssl, const char *line) {
  tls_rec *r = SSL_get_app_data(ssl);
  if (r != NULL)
    tls_rec_keylog(r, line, true);
}

/* One client and one server in memory. */
typedef struct pair {
  SSL_CTX *cctx, *sctx;
  SSL *c, *s;
  BIO *c_in, *c_out, *s_in, *s_out;
  tls_rec rec;
  SSL_SESSION *sess; /* the client's newest ticket */
} pair;

static int new_session(SSL *ssl, SSL_SESSION *sess) {
  pair *p = SSL_get_app_data(ssl);
  if (p->sess != NULL)
    SSL_SESSION_free(p->sess);
  p->sess = sess;
  return 1;
}

static int setup_identity(void **state) {
  (void)state;
  key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  cert = X509_new();
  assert_non_null(key);
  assert_non_null(cert);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME *n = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"t",
                             -1, -1, 0);
  X509_set_issuer_name(cert, n);
  assert_true(X509_sign(cert, key, NULL) > 0);
  return 0;
}

static int teardown_identity(void **state) {
  (void)state;
  X509_free(cert);
  EVP_PKEY_free(key);
  return 0;
}

/* Moves what one side wrote to the other side's input. */
static void move(BIO *from, BIO *to) {
  uint8_t buf[4096];
  int n;
  while ((n = BIO_read(from, buf, sizeof buf)) > 0)
    assert_int_equal(BIO_write(to, buf, n), n);
}

static void pair_ctx(pair *p, const char *suite, int tickets) {
  p->sctx = SSL_CTX_new(TLS_server_method());
  p->cctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(p->sctx);
  assert_non_null(p->cctx);
  SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION);
  SSL_CTX_set_min_proto_version(p->cctx, TLS1_3_VERSION);
  assert_true(SSL_CTX_set_ciphersuites(p->sctx, suite));
  assert_true(SSL_CTX_set_ciphersuites(p->cctx, suite));
  assert_true(SSL_CTX_use_certificate(p->sctx, cert));
  assert_true(SSL_CTX_use_PrivateKey(p->sctx, key));
  assert_true(SSL_CTX_set_num_tickets(p->sctx, (size_t)tickets));
  SSL_CTX_set_keylog_callback(p->sctx, keylog);
  SSL_CTX_set_verify(p->cctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(p->cctx, SSL_SESS_CACHE_CLIENT |
                                              SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(p->cctx, new_session);
}

/* A handshake, then the server's records taken over; the client has read
 * the tickets when it returns. */
static void pair_connect(pair *p, SSL_SESSION *resume) {
  memset(&p->rec, 0, sizeof p->rec);
  p->c = SSL_new(p->cctx);
  p->s = SSL_new(p->sctx);
  p->c_in = BIO_new(BIO_s_mem());
  p->c_out = BIO_new(BIO_s_mem());
  p->s_in = BIO_new(BIO_s_mem());
  p->s_out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(p->c_in, -1);
  BIO_set_mem_eof_return(p->s_in, -1);
  SSL_set_bio(p->c, p->c_in, p->c_out);
  SSL_set_bio(p->s, p->s_in, p->s_out);
  SSL_set_connect_state(p->c);
  SSL_set_accept_state(p->s);
  SSL_set_app_data(p->s, &p->rec);
  SSL_set_app_data(p->c, p);
  if (resume != NULL)
    assert_true(SSL_set_session(p->c, resume));
  bool done = false;
  for (int i = 0; i < 10 && !done; i++) {
    (void)SSL_do_handshake(p->c);
    move(p->c_out, p->s_in);
    if (SSL_do_handshake(p->s) == 1) {
      done = true;
      uint8_t flight[8192];
      int n = BIO_read(p->s_out, flight, sizeof flight);
      if (n < 0)
        n = 0;
      const char *why = NULL;
      int r = tls_rec_take(&p->rec, p->s, flight, (size_t)n, &why);
      if (r != 0)
        fail_msg("take: %s", why);
      assert_int_equal(BIO_write(p->c_in, flight, n > 0 ? n : 0),
                       n > 0 ? n : 0);
    } else {
      move(p->s_out, p->c_in);
    }
  }
  assert_true(done);
  assert_int_equal(SSL_do_handshake(p->c), 1);
  uint8_t none[1];
  assert_true(SSL_read(p->c, none, 1) <= 0); /* takes the tickets */
  assert_int_equal(SSL_get_error(p->c, -1), SSL_ERROR_WANT_READ);
  ERR_clear_error();
  SSL_free(p->s); /* the takeover's point: the server's SSL goes */
  p->s = NULL;
}

static void pair_close(pair *p) {
  SSL_free(p->c);
  p->c = NULL;
}

static void pair_free(pair *p) {
  pair_close(p);
  if (p->sess != NULL)
    SSL_SESSION_free(p->sess);
  SSL_CTX_free(p->cctx);
  SSL_CTX_free(p->sctx);
  tls_rec_wipe(&p->rec);
}

/* Opens every whole record the client wrote; the application data is
 * appended to out (*n). Returns the last result. */
static int server_reads(pair *p, uint8_t *out, size_t *n) {
  static uint8_t wire[1 << 20];
  int got = BIO_read(p->c_out, wire, sizeof wire);
  assert_true(got > 0);
  size_t off = 0;
  int res = TLS_REC_OPEN_NONE;
  while (off < (size_t)got) {
    const char *why = NULL;
    long need = tls_rec_need(wire + off, (size_t)got - off, &why);
    assert_true(need > 0);
    assert_true((size_t)need <= (size_t)got - off);
    uint8_t alert = 0;
    size_t m = 0;
    res = tls_rec_open(&p->rec, wire + off, (size_t)need, out + *n, &m, &alert,
                       &why);
    if (res == TLS_REC_OPEN_ERR)
      fail_msg("open: %s", why);
    *n += m;
    off += (size_t)need;
  }
  return res;
}

/* Seals n bytes as the server and has the client read them all back. */
static void client_reads(pair *p, const uint8_t *data, size_t n) {
  size_t room = TLS_REC_SEAL_ROOM(n);
  uint8_t *wire = malloc(room);
  assert_non_null(wire);
  long k = tls_rec_seal(&p->rec, TLS_REC_DATA, data, n, wire);
  assert_true(k > 0);
  assert_true((size_t)k <= room);
  assert_int_equal(BIO_write(p->c_in, wire, (int)k), (int)k);
  free(wire);
  uint8_t *back = malloc(n + 1);
  size_t got = 0;
  while (got < n) {
    int r = SSL_read(p->c, back + got, (int)(n - got));
    if (r <= 0)
      fail_msg("client read: %d after %zu of %zu", SSL_get_error(p->c, r), got,
               n);
    got += (size_t)r;
  }
  assert_memory_equal(back, data, n);
  free(back);
}

/* Client writes n bytes; the server opens them. */
static void server_gets(pair *p, const uint8_t *data, size_t n) {
  assert_int_equal(SSL_write(p->c, data, (int)n), (int)n);
  uint8_t *out = malloc(n + TLS_REC_BODY_MAX);
  size_t got = 0;
  assert_int_equal(server_reads(p, out, &got), TLS_REC_OPEN_DATA);
  assert_int_equal(got, n);
  assert_memory_equal(out, data, n);
  free(out);
}

static uint8_t *pattern(size_t n) {
  uint8_t *b = malloc(n);
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)(i * 7 + i / 251);
  return b;
}

/* Data both ways, key updates both ways, then close_notify. */
static void exchange(pair *p) {
  static const size_t sizes[] = {1, 100, 16384, 16385, 70000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t *d = pattern(sizes[i]);
    server_gets(p, d, sizes[i]);
    client_reads(p, d, sizes[i]);
    free(d);
  }
  /* The client updates its key and asks for ours: the server's next
   * records go out under a new key, announced first. */
  assert_true(SSL_key_update(p->c, SSL_KEY_UPDATE_REQUESTED));
  server_gets(p, (const uint8_t *)"after", 5);
  assert_true(p->rec.update_owed);
  uint64_t kid = p->rec.wr.kid;
  client_reads(p, (const uint8_t *)"answer", 6);
  assert_false(p->rec.update_owed);
  assert_true(p->rec.wr.kid != kid);
  assert_int_equal(p->rec.wr.seq, 1);
  /* Our own update when a key has sealed update_at records. */
  p->rec.update_at = p->rec.wr.seq + 2;
  kid = p->rec.wr.kid;
  uint8_t *d = pattern(5 * 16384);
  client_reads(p, d, 5 * 16384);
  free(d);
  assert_true(p->rec.wr.kid != kid);
  assert_true(p->rec.wr.seq <= p->rec.update_at);
  server_gets(p, (const uint8_t *)"still", 5);
  /* close_notify from the server: the client sees the clean end. */
  uint8_t wire[64];
  long k =
      tls_rec_seal(&p->rec, TLS_REC_ALERT, (const uint8_t[2]){1, 0}, 2, wire);
  assert_true(k > 0);
  BIO_write(p->c_in, wire, (int)k);
  uint8_t one[1];
  int r = SSL_read(p->c, one, 1);
  assert_int_equal(SSL_get_error(p->c, r), SSL_ERROR_ZERO_RETURN);
  /* and from the client */
  ERR_clear_error();
  (void)SSL_shutdown(p->c);
  uint8_t out[64];
  size_t n = 0;
  assert_int_equal(server_reads(p, out, &n), TLS_REC_OPEN_EOF);
}

static void test_suites_tickets_resumption(void **state) {
  (void)state;
  for (size_t si = 0; si < 3; si++) {
    for (int tickets = 0; tickets <= 2; tickets++) {
      pair p = {0};
      pair_ctx(&p, suite_names[si], tickets);
      pair_connect(&p, NULL);
      assert_false(p.rec.resumed);
      assert_string_equal(tls_rec_suite_name(&p.rec), suite_names[si]);
      assert_int_equal(p.rec.wr.seq, (uint64_t)tickets);
      exchange(&p);
      pair_close(&p);
      if (tickets > 0) { /* resumed: OpenSSL sends one ticket */
        assert_non_null(p.sess);
        SSL_SESSION *sess = p.sess;
        p.sess = NULL;
        pair_connect(&p, sess);
        SSL_SESSION_free(sess);
        assert_true(p.rec.resumed);
        exchange(&p);
      }
      pair_free(&p);
    }
  }
}

/* The client's side rebuilt from the server's secrets: it seals what an
 * OpenSSL client never sends after its handshake. */
static void mirror_of(const tls_rec *r, tls_rec *m) {
  memset(m, 0, sizeof *m);
  assert_int_equal(tls_rec_init(m,
                                r->suite == 0   ? 0x1301
                                : r->suite == 1 ? 0x1302
                                                : 0x1303,
                                r->wr.secret, r->wr_len, r->rd.secret,
                                r->rd_len, r->wr.seq, r->rd.seq),
                   0);
}

static int open_one(tls_rec *r, const uint8_t *rec, long n, const char **why,
                    uint8_t *alert) {
  uint8_t out[TLS_REC_BODY_MAX + TLS_REC_HDR];
  size_t m = 0;
  return tls_rec_open(r, rec, (size_t)n, out, &m, alert, why);
}

static void test_refusals(void **state) {
  (void)state;
  pair p = {0};
  pair_ctx(&p, suite_names[0], 1);
  pair_connect(&p, NULL);
  tls_rec m;
  uint8_t wire[TLS_REC_SEAL_ROOM(64)];
  const char *why = NULL;
  uint8_t alert = 0;
  /* a changed byte: bad_record_mac, and the sequence is not consumed */
  mirror_of(&p.rec, &m);
  long k = tls_rec_seal(&m, TLS_REC_DATA, (const uint8_t *)"hello", 5, wire);
  wire[7] ^= 1;
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  assert_int_equal(alert, 20);
  wire[7] ^= 1;
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_DATA);
  /* a handshake message that is not a key update */
  static const uint8_t ticket[8] = {4, 0, 0, 4, 1, 2, 3, 4};
  k = tls_rec_seal(&m, TLS_REC_HANDSHAKE, ticket, sizeof ticket, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  assert_int_equal(alert, 10);
  /* a key update asking for something TLS does not define */
  static const uint8_t odd[5] = {24, 0, 0, 1, 2};
  k = tls_rec_seal(&m, TLS_REC_HANDSHAKE, odd, sizeof odd, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  assert_int_equal(alert, 47);
  /* two key updates in one record */
  static const uint8_t two[10] = {24, 0, 0, 1, 0, 24, 0, 0, 1, 0};
  k = tls_rec_seal(&m, TLS_REC_HANDSHAKE, two, sizeof two, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  /* padding only: no content type */
  static const uint8_t zeros[4] = {0};
  k = tls_rec_seal(&m, 0, zeros, sizeof zeros, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  assert_int_equal(alert, 10);
  /* padding after the type is taken off */
  static const uint8_t padded[5] = {'h', 'i', TLS_REC_DATA, 0, 0};
  k = tls_rec_seal(&m, 0, padded, sizeof padded, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_DATA);
  /* a fatal alert names itself; a user_canceled warning is passed over */
  k = tls_rec_seal(&m, TLS_REC_ALERT, (const uint8_t[2]){1, 90}, 2, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_NONE);
  k = tls_rec_seal(&m, TLS_REC_ALERT, (const uint8_t[2]){2, 40}, 2, wire);
  assert_int_equal(open_one(&p.rec, wire, k, &why, &alert), TLS_REC_OPEN_ERR);
  assert_non_null(strstr(why, "handshake failure"));
  /* headers: clear text, too long, too short, not whole yet */
  uint8_t h[5] = {22, 3, 3, 0, 40};
  assert_int_equal(tls_rec_need(h, 5, &why), -10);
  h[0] = 23;
  assert_int_equal(tls_rec_need(h, 5, &why), 45);
  assert_int_equal(tls_rec_need(h, 4, &why), 0);
  h[3] = (TLS_REC_BODY_MAX + 1) >> 8;
  h[4] = (TLS_REC_BODY_MAX + 1) & 0xff;
  assert_int_equal(tls_rec_need(h, 5, &why), -22);
  h[3] = 0;
  h[4] = 16;
  assert_int_equal(tls_rec_need(h, 5, &why), -50);
  tls_rec_wipe(&m);
  pair_free(&p);
}

/* Without the logged secrets there is no takeover, and it says why. */
static void test_take_needs_secrets(void **state) {
  (void)state;
  pair p = {0};
  pair_ctx(&p, suite_names[0], 2);
  p.c = SSL_new(p.cctx);
  p.s = SSL_new(p.sctx);
  SSL_set_bio(p.c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_bio(p.s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  tls_rec r;
  memset(&r, 0, sizeof r);
  const char *why = NULL;
  assert_int_equal(tls_rec_take(&r, p.s, NULL, 0, &why), -1);
  assert_non_null(strstr(why, "secrets"));
  SSL_free(p.s);
  p.s = NULL;
  pair_free(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_suites_tickets_resumption),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_take_needs_secrets),
  };
  return cmocka_run_group_tests(tests, setup_identity, teardown_identity);
}
