/* test_stream.c: the stream layer in a loop: a fast writer forwarded
 * through a stream_pipe to a slow reader, over plain TCP and then with TLS
 * on all four ends (the relay decrypts and encrypts again). Every byte
 * arrives intact, the relay's source is paused and resumed, the bytes it
 * holds never exceed the high watermark plus one read, EOF travels both
 * ways (close_notify over TLS), and the loop closes with no handle left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fbuf.h"
#include "stream.h"
#include "tls.h"

#define TOTAL (8u << 20)  /* bytes the writer sends */
#define CHUNK (64u << 10) /* writer's frame size */
#define HIGH (256u << 10) /* relay watermarks */
#define LOW (64u << 10)
#define SOCKBUF (16 << 10) /* small kernel buffers: the relay must pause */

/* The byte at offset i of the stream. */
static uint8_t pattern(uint64_t i) {
  return (uint8_t)(i * 7 + (i >> 12));
}

typedef struct world {
  uv_loop_t loop;
  uv_tcp_t listener;
  struct sockaddr_in addr;
  /* the relay */
  stream relay[2]; /* [0] from the writer, [1] to the reader */
  int accepted, relay_closed, pipe_err, pipe_done;
  stream_pipe pipe;
  /* the writer */
  stream w;
  outq wq;
  uint64_t w_queued;
  bool w_eof, w_closed;
  /* the reader */
  stream r;
  uv_timer_t r_timer;
  uint64_t r_got;
  int r_reads, r_bad;
  bool r_eof, r_closed;
  /* holding (the relay's rate limit): every read holds the pipe, a timer
   * lets it go */
  bool hold;
  uv_timer_t h_timer;
  int holds, read_while_held;
} world;

static world *W;

/* TLS for the second run: the relay is the server, the others clients. */
static tls_ctx *tls_srv, *tls_cli;
static int secured; /* on_secure calls */

static void on_secure(stream *s) {
  (void)s;
  secured++;
}

/* ---- writer: queues everything at once and shuts down when written ---- */

static void w_fill(void) {
  while (W->w_queued < TOTAL) {
    fbuf *b = fbuf_new(CHUNK);
    assert_non_null(b);
    for (uint32_t i = 0; i < CHUNK; i++)
      b->data[i] = pattern(W->w_queued + i);
    assert_int_equal(outq_push(&W->wq, b), 0);
    fbuf_unref(b);
    W->w_queued += CHUNK;
  }
}

static void w_pump(stream *s) {
  assert_int_equal(stream_flush(s, &W->wq), 0);
  /* TLS: once all is handed over, the flights of up to 256 KiB that
   * went out left no buffer that size behind (and nothing is waiting to
   * be read). */
  if (tls_secure(s) && W->wq.bytes == 0)
    assert_true(tls_buffered(s) <= 2 * 1024);
  if (W->wq.bytes == 0)
    assert_int_equal(stream_shutdown(s), 0);
}

static void w_on_read(stream *s, const uint8_t *p, size_t n) {
  (void)s, (void)p, (void)n;
  fail_msg("the reader sends nothing");
}

static void w_on_error(stream *s, int err) {
  assert_int_equal(err, UV_EOF); /* the reader's shutdown, relayed */
  W->w_eof = true;
  stream_close(s);
}

static void w_on_close(stream *s) {
  (void)s;
  W->w_closed = true;
}

static void w_on_shutdown(stream *s, int status) {
  (void)s;
  assert_int_equal(status, 0);
}

static const stream_ops w_ops = {
    .on_read = w_on_read,
    .on_drain = w_pump,
    .on_error = w_on_error,
    .on_shutdown = w_on_shutdown,
    .on_close = w_on_close,
    .on_secure = on_secure,
};

static void w_connected(stream *s, int status) {
  assert_int_equal(status, 0);
  if (tls_cli != NULL) /* the frames wait for the handshake */
    assert_int_equal(tls_start(s, tls_cli, "127.0.0.1", NULL, 0), 0);
  assert_int_equal(stream_read_start(s), 0);
  w_fill();
  w_pump(s);
}

/* ---- reader: checks every byte, naps 1 ms after each read ------------- */

static void r_wake(uv_timer_t *t) {
  (void)t;
  if (!W->r_eof)
    assert_int_equal(stream_read_start(&W->r), 0);
}

static void r_on_read(stream *s, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(W->r_got + i))
      W->r_bad++;
  W->r_got += n;
  W->r_reads++;
  assert_int_equal(stream_read_stop(s), 0);
  assert_int_equal(uv_timer_start(&W->r_timer, r_wake, 1, 0), 0);
}

static void r_on_drain(stream *s) {
  (void)s;
}

static void r_on_error(stream *s, int err) {
  assert_int_equal(err, UV_EOF);
  W->r_eof = true;
  assert_int_equal(stream_shutdown(s), 0); /* EOF back toward the writer */
}

static void r_on_shutdown(stream *s, int status) {
  assert_int_equal(status, 0);
  stream_close(s);
  uv_close((uv_handle_t *)&W->r_timer, NULL);
}

static void r_on_close(stream *s) {
  (void)s;
  W->r_closed = true;
}

static const stream_ops r_ops = {
    .on_read = r_on_read,
    .on_drain = r_on_drain,
    .on_error = r_on_error,
    .on_shutdown = r_on_shutdown,
    .on_close = r_on_close,
    .on_secure = on_secure,
};

static void r_connected(stream *s, int status) {
  assert_int_equal(status, 0);
  assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&s->tcp, &(int){SOCKBUF}),
                   0);
  if (tls_cli != NULL)
    assert_int_equal(tls_start(s, tls_cli, "127.0.0.1", NULL, 0), 0);
  assert_int_equal(stream_read_start(s), 0);
}

/* ---- relay: accepts the writer, then the reader, and pipes them -------- */

static void relay_done(stream_pipe *p, int err) {
  W->pipe_done++;
  W->pipe_err = err;
  stream_close(p->leg[0].src);
  stream_close(p->leg[0].dst);
}

static void relay_closed(stream_pipe *p, stream *s) {
  (void)s;
  if (++W->relay_closed == 2) {
    stream_pipe_free(p);
    if (W->hold)
      uv_close((uv_handle_t *)&W->h_timer, NULL);
  }
}

static void hold_release(uv_timer_t *t) {
  (void)t;
  assert_int_equal(stream_pipe_hold(&W->pipe, false), 0);
}

/* Each read holds the pipe for 1 ms: no read may come while held. */
static void hold_moved(stream_pipe *p, size_t n) {
  (void)n;
  if (p->held)
    W->read_while_held++;
  W->holds++;
  assert_int_equal(stream_pipe_hold(p, true), 0);
  assert_int_equal(uv_timer_start(&W->h_timer, hold_release, 1, 0), 0);
}

static void relay_unused_read(stream *s, const uint8_t *p, size_t n) {
  (void)s, (void)p, (void)n;
  fail_msg("the pipe owns reads");
}
static void relay_unused(stream *s) {
  (void)s;
}
static void relay_unused_err(stream *s, int err) {
  (void)s, (void)err;
}

static const stream_ops relay_ops = {
    /* until the pipe takes over */
    .on_read = relay_unused_read, .on_drain = relay_unused,
    .on_error = relay_unused_err, .on_close = relay_unused,
    .on_secure = on_secure,
};

static void relay_accept(uv_stream_t *l, int status) {
  assert_int_equal(status, 0);
  stream *s = &W->relay[W->accepted++];
  assert_int_equal(stream_init(s, &W->loop, &relay_ops, NULL), 0);
  assert_int_equal(stream_accept(s, l), 0);
  if (tls_srv != NULL)
    assert_int_equal(tls_start(s, tls_srv, NULL, NULL, 0), 0);
  if (W->accepted == 1) { /* the writer is in: now the reader connects */
    assert_int_equal(stream_init(&W->r, &W->loop, &r_ops, NULL), 0);
    assert_int_equal(
        stream_connect(&W->r, (struct sockaddr *)&W->addr, r_connected), 0);
    return;
  }
  uv_close((uv_handle_t *)&W->listener, NULL);
  assert_int_equal(
      uv_send_buffer_size((uv_handle_t *)&W->relay[1].tcp, &(int){SOCKBUF}), 0);
  assert_int_equal(stream_pipe_start(&W->pipe, &W->relay[0], &W->relay[1], HIGH,
                                     LOW, relay_done, relay_closed),
                   0);
  if (W->hold)
    W->pipe.on_moved = hold_moved;
}

/* Forwards TOTAL bytes to the slow reader (holding the pipe after every
 * read when hold) and checks what arrived and what the pipe counted. */
static void forward(bool hold) {
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  W = w;
  w->hold = hold;
  assert_int_equal(uv_loop_init(&w->loop), 0);
  if (hold)
    assert_int_equal(uv_timer_init(&w->loop, &w->h_timer), 0);
  assert_int_equal(uv_timer_init(&w->loop, &w->r_timer), 0);
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &w->addr), 0);
  assert_int_equal(uv_tcp_init(&w->loop, &w->listener), 0);
  assert_int_equal(uv_tcp_bind(&w->listener, (struct sockaddr *)&w->addr, 0),
                   0);
  int len = sizeof w->addr;
  assert_int_equal(
      uv_tcp_getsockname(&w->listener, (struct sockaddr *)&w->addr, &len), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&w->listener, 8, relay_accept), 0);
  assert_int_equal(stream_init(&w->w, &w->loop, &w_ops, NULL), 0);
  assert_int_equal(
      stream_connect(&w->w, (struct sockaddr *)&w->addr, w_connected), 0);

  assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);

  assert_int_equal(w->r_got, TOTAL);
  assert_int_equal(w->r_bad, 0);
  stream_leg *l = &w->pipe.leg[0];
  assert_int_equal(l->bytes, TOTAL);
  assert_true(l->pauses > 0); /* the slow reader held the writer back */
  assert_int_equal(l->resumes, l->pauses);
  assert_true(l->peak > 0);
  assert_true(l->peak <= HIGH + STREAM_READ_MAX);
  if (tls_srv == NULL) /* plain: most reads are queued as they landed */
    assert_true(l->kept > TOTAL / 2);
  else /* plaintext comes from OpenSSL: always a copy */
    assert_int_equal(l->kept, 0);
  assert_int_equal(w->pipe_done, 1);
  assert_int_equal(w->pipe_err, 0);
  assert_true(w->w_eof && w->w_closed && w->r_eof && w->r_closed);
  assert_int_equal(w->relay_closed, 2);
  assert_int_equal(w->wq.bytes, 0);
  outq_clear(&w->wq);
  if (hold) {
    assert_true(w->holds > 0);
    assert_int_equal(w->read_while_held, 0);
  }
  assert_int_equal(uv_loop_close(&w->loop), 0);
  free(w);
}

static void test_forward_slow_reader(void **state) {
  (void)state;
  forward(false);
  assert_int_equal(secured, 0);
}

/* stream_pipe_hold: a held pipe reads nothing; let go, it carries on
 * within its watermarks; every byte still arrives intact. */
static void test_forward_held(void **state) {
  (void)state;
  forward(true);
}

/* The same over TLS, with a fresh self-signed identity: four handshakes,
 * the reader's pauses leave decrypted bytes in OpenSSL that a later
 * stream_read_start hands over, and the fingerprint is the file's. */
static void test_forward_slow_reader_tls(void **state) {
  (void)state;
  char dir[] = "/tmp/parley-test-tls-XXXXXX", cert[64], key[64], err[300];
  assert_non_null(mkdtemp(dir));
  snprintf(cert, sizeof cert, "%s/id.crt", dir);
  snprintf(key, sizeof key, "%s/id.key", dir);
  bool made = false;
  assert_int_equal(
      tls_identity_ensure(cert, key, "test", &made, err, sizeof err), 0);
  assert_true(made);
  tls_srv = tls_ctx_server(cert, key, err, sizeof err);
  tls_cli = tls_ctx_client(err, sizeof err);
  assert_non_null(tls_srv);
  assert_non_null(tls_cli);
  secured = 0;
  forward(false);
  /* The writer's and the reader's: the relay's two finish after the
   * pipe took their callbacks over (its table has no on_secure). */
  assert_int_equal(secured, 2);
  char fp[TLS_FINGERPRINT_SZ];
  assert_int_equal(tls_cert_fingerprint(cert, fp, sizeof fp, err, sizeof err),
                   0);
  assert_int_equal(strncmp(fp, "SHA256:", 7), 0);
  assert_int_equal(strlen(fp), 50);
  tls_ctx_free(tls_srv);
  tls_ctx_free(tls_cli);
  tls_srv = tls_cli = NULL;
  unlink(cert);
  unlink(key);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_slow_reader),
      cmocka_unit_test(test_forward_held),
      cmocka_unit_test(test_forward_slow_reader_tls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
