/* test_tls_stream.c: a TLS server stream after the takeover of its records
 * (tls.c + tls_rec.c) against a raw OpenSSL client on a loopback socket.
 *
 * - The client's first records arrive with its Finished (they wait in the
 *   stream's pending input at the takeover), and the owner stops and
 *   starts reading inside on_read, as parleyd's relay does when it pairs
 *   two connections: every byte arrives once, in order, no error.
 * - A client asks for key updates many times without reading: parleyd
 *   answers once per batch of requests (RFC 8446 4.6.3), not once per
 *   request, so a client cannot make it queue a record per 27 bytes. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stream.h"
#include "tls.h"

#define UPDATES 300

static uv_loop_t loop;
static uv_tcp_t lis;
static stream srv;
static tls_ctx *ctx;
static int port, mode; /* 0: stop/start in on_read; 1: key update flood */
static bool started;
static int reads, errors;
static char got[64];
static size_t gotn;
static int server_records; /* the client's count, after the flood */

static void on_read(stream *s, const uint8_t *p, size_t n) {
  if (!started) { /* the ClientHello, as parleyd's conn layer hands it */
    started = true;
    assert_int_equal(tls_start(s, ctx, NULL, p, n), 0);
    return;
  }
  reads++;
  if (gotn + n <= sizeof got) {
    memcpy(got + gotn, p, n);
    gotn += n;
  }
  if (reads == 1) { /* relay_on_connect, then relay_pair */
    assert_int_equal(stream_read_stop(s), 0);
    assert_int_equal(stream_read_start(s), 0);
  }
}

static void on_error(stream *s, int err) {
  if (err != UV_EOF)
    errors++;
  stream_close(s);
}

static void on_close(stream *s) {
  (void)s;
  uv_close((uv_handle_t *)&lis, NULL);
}

static void on_drain(stream *s) {
  (void)s;
}

static const stream_ops ops = {.on_read = on_read,
                               .on_error = on_error,
                               .on_close = on_close,
                               .on_drain = on_drain};

static void on_conn(uv_stream_t *l, int status) {
  assert_int_equal(status, 0);
  assert_int_equal(stream_init(&srv, &loop, &ops, NULL), 0);
  assert_int_equal(stream_accept(&srv, l), 0);
  assert_int_equal(stream_read_start(&srv), 0);
}

static void send_all(int fd, BIO *b) {
  char buf[16384];
  int n;
  while ((n = BIO_read(b, buf, sizeof buf)) > 0)
    for (int off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w <= 0)
        return;
      off += (int)w;
    }
}

/* Counts the records in a stream of TLS bytes (headers only). */
static int count_records(const uint8_t *p, size_t n) {
  int k = 0;
  for (size_t off = 0; off + 5 <= n; k++)
    off += 5 + ((size_t)p[off + 3] << 8 | p[off + 4]);
  return k;
}

static void *client(void *arg) {
  (void)arg;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
    return NULL;
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_num_tickets(c, 0);
  SSL *ssl = SSL_new(c);
  BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  static uint8_t buf[1 << 20];
  for (int i = 0; i < 20 && SSL_do_handshake(ssl) != 1; i++) {
    send_all(fd, out);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    BIO_write(in, buf, (int)n);
  }
  /* Finished, then the data, in one write */
  SSL_write(ssl, "hello1", 6);
  SSL_write(ssl, "hello2", 6);
  send_all(fd, out);
  if (mode == 1) {
    for (int i = 0; i < UPDATES; i++) {
      SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED);
      SSL_do_handshake(ssl); /* writes the KeyUpdate */
    }
    SSL_write(ssl, "end", 3);
    send_all(fd, out);
    shutdown(fd, SHUT_WR);
    /* what the server sent: its tickets, then its key update answers */
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0)
      n += (size_t)r;
    server_records = count_records(buf, n);
  } else {
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof buf) > 0)
      ;
  }
  close(fd);
  SSL_free(ssl);
  SSL_CTX_free(c);
  return NULL;
}

static void run(int which) {
  mode = which;
  started = false;
  reads = errors = 0;
  gotn = 0;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_tcp_init(&loop, &lis), 0);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  assert_int_equal(uv_tcp_bind(&lis, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&lis, 4, on_conn), 0);
  int len = sizeof a;
  assert_int_equal(uv_tcp_getsockname(&lis, (struct sockaddr *)&a, &len), 0);
  port = ntohs(a.sin_port);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client, NULL), 0);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  pthread_join(th, NULL);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_restart_reading_inside_on_read(void **state) {
  (void)state;
  run(0);
  assert_int_equal(errors, 0);
  assert_int_equal(gotn, 12);
  assert_memory_equal(got, "hello1hello2", 12);
}

static void test_key_update_flood_answered_once_per_batch(void **state) {
  (void)state;
  run(1);
  assert_int_equal(errors, 0);
  assert_int_equal(gotn, 15);
  assert_memory_equal(got, "hello1hello2end", 15);
  /* tickets (2), then far fewer answers than requests, at least one */
  assert_true(server_records >= 3);
  assert_true(server_records < 3 + UPDATES / 4); /* and close_notify */
}

static int setup(void **state) {
  (void)state;
  char dir[] = "/tmp/parley-test-tlsrec-XXXXXX", cert[64], key[64], err[300];
  assert_non_null(mkdtemp(dir));
  snprintf(cert, sizeof cert, "%s/c.pem", dir);
  snprintf(key, sizeof key, "%s/k.pem", dir);
  bool made = false;
  assert_int_equal(
      tls_identity_ensure(cert, key, "test", &made, err, sizeof err), 0);
  ctx = tls_ctx_server(cert, key, err, sizeof err);
  assert_non_null(ctx);
  unlink(cert);
  unlink(key);
  rmdir(dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tls_ctx_free(ctx);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_restart_reading_inside_on_read),
      cmocka_unit_test(test_key_update_flood_answered_once_per_batch),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
