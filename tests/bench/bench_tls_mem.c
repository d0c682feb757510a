/* bench_tls_mem.c: where an idle server-side TLS connection's memory goes.
 *
 * Runs N TLS 1.3 handshakes in memory (no sockets) with the settings of
 * src/common/tls.c (memory BIOs, SSL_MODE_RELEASE_BUFFERS, AES-128-GCM,
 * an Ed25519 certificate), counting OpenSSL's heap through
 * CRYPTO_set_mem_functions (malloc_usable_size of every live block):
 * the bytes per connection after SSL_new, after the handshake and the
 * tickets, the allocation sites (file:line in OpenSSL) of one idle
 * connection, and the bytes after one 64 KiB flight (what a memory BIO
 * keeps when nobody sheds it: src/common/tls.c does, tls_shed). The
 * clients are freed before counting, so only the server side remains.
 *
 *   bench_tls_mem [N=1000]
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SITES 4096 /* allocations of the traced connection */

static long live; /* OpenSSL's live heap bytes */
static struct site {
  void *p;
  const char *file;
  int line;
} sites[SITES];
static int nsites;
static bool tracing; /* the connection being traced is being made */

static void site_add(void *p, const char *file, int line) {
  if (tracing && nsites < SITES)
    sites[nsites++] = (struct site){p, file, line};
}

static void site_del(void *p) {
  for (int i = 0; i < nsites; i++)
    if (sites[i].p == p)
      sites[i].p = NULL;
}

static void *mem_malloc(size_t n, const char *file, int line) {
  void *p = malloc(n);
  if (p != NULL) {
    live += (long)malloc_usable_size(p);
    site_add(p, file, line);
  }
  return p;
}

static void *mem_realloc(void *p, size_t n, const char *file, int line) {
  if (p != NULL) {
    live -= (long)malloc_usable_size(p);
    site_del(p);
  }
  p = realloc(p, n);
  if (p != NULL) {
    live += (long)malloc_usable_size(p);
    site_add(p, file, line);
  }
  return p;
}

static void mem_free(void *p, const char *file, int line) {
  (void)file, (void)line;
  if (p != NULL) {
    live -= (long)malloc_usable_size(p);
    site_del(p);
  }
  free(p);
}

static void die(const char *what) {
  fprintf(stderr, "%s failed\n", what);
  exit(1);
}

/* A memory BIO as tls.c makes them. */
static BIO *mem_bio(void) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL)
    die("BIO_new");
  BIO_set_mem_eof_return(b, -1);
  return b;
}

/* Moves what one side wrote to the other's input. */
static void carry(BIO *from, BIO *to) {
  char buf[16384];
  int n;
  while ((n = BIO_read(from, buf, sizeof buf)) > 0)
    if (BIO_write(to, buf, n) != n)
      die("BIO_write");
}

typedef struct side {
  SSL *ssl;
  BIO *in, *out;
} side;

static side side_new(SSL_CTX *ctx, bool server) {
  side s = {SSL_new(ctx), mem_bio(), mem_bio()};
  if (s.ssl == NULL)
    die("SSL_new");
  SSL_set_bio(s.ssl, s.in, s.out);
  if (server)
    SSL_set_accept_state(s.ssl);
  else
    SSL_set_connect_state(s.ssl);
  return s;
}

/* The handshake and the server's tickets, read by the client. */
static void handshake(side *srv, side *cli) {
  for (int round = 0; round < 8; round++) {
    SSL_do_handshake(cli->ssl);
    carry(cli->out, srv->in);
    SSL_do_handshake(srv->ssl);
    carry(srv->out, cli->in);
  }
  char b;
  (void)SSL_read(cli->ssl, &b, 1); /* takes the tickets */
  if (!SSL_is_init_finished(srv->ssl))
    die("handshake");
  ERR_clear_error();
}

static SSL_CTX *ctx_new(bool server) {
  SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (c == NULL || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256"))
    die("SSL_CTX_new");
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (!server)
    return c;
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  X509 *x = X509_new();
  if (k == NULL || x == NULL || !X509_set_version(x, 2) ||
      X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
      !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                  (const unsigned char *)"b", -1, -1, 0) ||
      !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
      !X509_set_pubkey(x, k) || X509_sign(x, k, NULL) <= 0 ||
      SSL_CTX_use_certificate(c, x) != 1 || SSL_CTX_use_PrivateKey(c, k) != 1)
    die("certificate");
  X509_free(x);
  EVP_PKEY_free(k);
  return c;
}

int main(int argc, char **argv) {
  if (!CRYPTO_set_mem_functions(mem_malloc, mem_realloc, mem_free))
    die("CRYPTO_set_mem_functions");
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (n < 4 || n > 1000000)
    die("N (4..1000000)");
  SSL_CTX *sc = ctx_new(true), *cc = ctx_new(false);
  side *srv = calloc((size_t)n, sizeof *srv);
  if (srv == NULL)
    die("calloc");
  /* The first connections fill OpenSSL's one-time caches (algorithm
   * fetches): the traced one is the third. */
  long base = live;
  for (int i = 0; i < n; i++) {
    tracing = i == 2;
    srv[i] = side_new(sc, true);
    tracing = false;
  }
  printf("after SSL_new and two memory BIOs: %ld bytes per connection\n",
         (live - base) / n);
  for (int i = 0; i < n; i++) {
    side cli = side_new(cc, false);
    tracing = i == 2;
    handshake(&srv[i], &cli);
    tracing = false;
    SSL_free(cli.ssl); /* and its BIOs */
  }
  printf("idle after the handshake and two tickets: %ld bytes per "
         "connection\n",
         (live - base) / n);
  printf("allocation sites of one idle connection (bytes, file:line):\n");
  long total = 0;
  for (int i = 0; i < nsites; i++) {
    if (sites[i].p == NULL)
      continue;
    long b = (long)malloc_usable_size(sites[i].p);
    for (int j = i + 1; j < nsites; j++) /* one line per site */
      if (sites[j].p != NULL && sites[j].line == sites[i].line &&
          strcmp(sites[j].file, sites[i].file) == 0) {
        b += (long)malloc_usable_size(sites[j].p);
        sites[j].p = NULL;
      }
    printf("  %6ld %s:%d\n", b, sites[i].file, sites[i].line);
    total += b;
  }
  printf("  %6ld in all\n", total);
  static char big[65536];
  for (int i = 0; i < n; i++) {
    if (SSL_write(srv[i].ssl, big, sizeof big) != sizeof big)
      die("SSL_write");
    (void)BIO_reset(srv[i].out); /* as if sent */
  }
  printf("after one 64 KiB flight, drained: %ld bytes per connection "
         "(a memory BIO keeps what it grew to)\n",
         (live - base) / n);
  for (int i = 0; i < n; i++)
    SSL_free(srv[i].ssl);
  free(srv);
  SSL_CTX_free(sc);
  SSL_CTX_free(cc);
  return 0;
}
