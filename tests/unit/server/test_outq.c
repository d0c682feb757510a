/* test_outq.c: output-queue accounting: shared references, partial
 * writes, the hard limit and the soft limit over time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fbuf.h"
#include "outq.h"

/* An fbuf of n bytes filled with c. */
static fbuf *mk(size_t n, char c) {
  fbuf *b = fbuf_new(n);
  assert_non_null(b);
  memset(b->data, c, n);
  return b;
}

/* One frame shared by two queues: each holds a reference. */
static void test_shared(void **state) {
  (void)state;
  outq a = {0}, b = {0};
  fbuf *f = mk(100, 'x');
  assert_int_equal(outq_push(&a, f), 0);
  assert_int_equal(outq_push(&b, f), 0);
  assert_int_equal(f->refs, 3);
  fbuf_unref(f);
  assert_int_equal(a.bytes, 100);
  outq_consume(&a, 100);
  assert_int_equal(a.count, 0);
  assert_int_equal(f->refs, 1); /* b still holds it */
  outq_clear(&b);
  outq_clear(&a);
}

/* Partial writes advance inside a frame and across frames. */
static void test_partial(void **state) {
  (void)state;
  outq q = {0};
  for (int i = 0; i < 3; i++) {
    fbuf *f = mk(10, (char)('a' + i));
    outq_push(&q, f);
    fbuf_unref(f);
  }
  assert_int_equal(q.bytes, 30);
  outq_consume(&q, 4);
  uv_buf_t iov[8];
  size_t n = outq_iov(&q, iov, 8);
  assert_int_equal(n, 3);
  assert_int_equal(iov[0].len, 6);
  assert_int_equal(iov[0].base[0], 'a');
  outq_consume(&q, 13); /* the rest of a (6), then 7 of b */
  n = outq_iov(&q, iov, 8);
  assert_int_equal(n, 2);
  assert_int_equal(iov[0].len, 3);
  assert_int_equal(iov[0].base[0], 'b');
  assert_int_equal(iov[1].len, 10);
  outq_consume(&q, 13);
  assert_int_equal(q.count, 0);
  assert_int_equal(q.bytes, 0);
  outq_clear(&q);
}

/* The ring grows past its first size and wraps correctly. */
static void test_grow_wrap(void **state) {
  (void)state;
  outq q = {0};
  fbuf *f = mk(1, 'z');
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 37; i++)
      assert_int_equal(outq_push(&q, f), 0);
    outq_consume(&q, 30);
    assert_int_equal(q.count, 7 * (uint32_t)(round + 1));
  }
  assert_int_equal(q.bytes, 35);
  assert_int_equal(f->refs, 36);
  outq_clear(&q);
  assert_int_equal(f->refs, 1);
  fbuf_unref(f);
}

/* Hard limit at once; soft limit only after it held for soft_ms. */
static void test_limits(void **state) {
  (void)state;
  outq q = {0};
  fbuf *f = mk(600, 'q');
  outq_push(&q, f);
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 10), OUTQ_OK);
  assert_int_equal(q.soft_since_ms, 10);
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 2009), OUTQ_OK);
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 2010), OUTQ_SOFT);
  outq_consume(&q, 200); /* under soft again: the clock resets */
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 3000), OUTQ_OK);
  assert_int_equal(q.soft_since_ms, 0);
  outq_push(&q, f); /* 1000: at the hard limit is still allowed */
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 3001), OUTQ_OK);
  outq_push(&q, f);
  assert_int_equal(outq_check(&q, 500, 1000, 2000, 3002), OUTQ_HARD);
  outq_clear(&q);
  fbuf_unref(f);
}

/* Encoding a message gives an exactly sized frame. */
static void test_encode(void **state) {
  (void)state;
  proto_msg m = {.type = PROTO_PING};
  m.u.ping.token = 7;
  int err = 0;
  fbuf *f = fbuf_encode(&m, &err);
  assert_non_null(f);
  assert_int_equal(f->len, 4 + 2 + 8);
  proto_msg d;
  assert_int_equal(proto_decode(f->data, f->len, &d), f->len);
  assert_int_equal(d.u.ping.token, 7);
  fbuf_unref(f);
}

/* Private replies share chunks: 1000 small frames cost a handful of
 * allocations, decode back intact and in order, and count their bytes. */
static void test_push_msg_chunks(void **state) {
  (void)state;
  outq q = {0};
  size_t total = 0;
  char name[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof name, "user%d", i);
    proto_msg m = {.type = PROTO_PRESENCE};
    m.u.presence.user = proto_str_c(name);
    m.u.presence.flags = PROTO_PRESF_LIST;
    assert_int_equal(outq_push_msg(&q, &m), 0);
    total += proto_size(&m);
  }
  assert_int_equal(q.bytes, total);
  assert_true(q.count < 20); /* chunks, not one slot per frame */
  uint8_t *all = malloc(total);
  assert_non_null(all);
  assert_int_equal(outq_gather(&q, all, total), total);
  size_t off = 0;
  for (int i = 0; i < 1000; i++) {
    proto_msg d;
    ssize_t n = proto_decode(all + off, total - off, &d);
    assert_true(n > 0);
    assert_int_equal(d.type, PROTO_PRESENCE);
    snprintf(name, sizeof name, "user%d", i);
    assert_int_equal(d.u.presence.user.n, strlen(name));
    assert_memory_equal(d.u.presence.user.p, name, strlen(name));
    off += (size_t)n;
  }
  assert_int_equal(off, total);
  free(all);
  outq_consume(&q, total);
  assert_int_equal(q.bytes, 0);
  assert_int_equal(q.count, 0);
  outq_clear(&q);
}

/* A shared frame between private replies keeps the order; gather copies
 * from a partial first frame and stops at its capacity. */
static void test_gather_order(void **state) {
  (void)state;
  outq q = {0};
  proto_msg m = {.type = PROTO_PING};
  m.u.ping.token = 7;
  assert_int_equal(outq_push_msg(&q, &m), 0);
  fbuf *f = mk(10, 's');
  assert_int_equal(outq_push(&q, f), 0);
  fbuf_unref(f);
  m.u.ping.token = 8;
  assert_int_equal(outq_push_msg(&q, &m), 0);
  size_t ping = proto_size(&m);
  assert_int_equal(q.bytes, 2 * ping + 10);
  uint8_t buf[64];
  outq_consume(&q, 3); /* a partial write of the first ping */
  size_t n = outq_gather(&q, buf, sizeof buf);
  assert_int_equal(n, 2 * ping + 10 - 3);
  assert_memory_equal(buf + ping - 3, "ssssssssss", 10);
  proto_msg d;
  assert_int_equal(proto_decode(buf + ping - 3 + 10, ping, &d), (ssize_t)ping);
  assert_int_equal(d.u.ping.token, 8);
  assert_int_equal(outq_gather(&q, buf, 5), 5); /* capped */
  outq_clear(&q);
}

/* An encoder error leaves the queue as it was. */
static void test_push_msg_error(void **state) {
  (void)state;
  outq q = {0};
  proto_msg m = {.type = PROTO_SAY};
  m.u.say.target = proto_str_c("#lobby");
  m.u.say.text.p = "\xff";
  m.u.say.text.n = 1;
  assert_int_equal(outq_push_msg(&q, &m), -PERR_BAD_UTF8);
  assert_int_equal(q.bytes, 0);
  assert_int_equal(q.count, 0);
  outq_clear(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared),
      cmocka_unit_test(test_partial),
      cmocka_unit_test(test_grow_wrap),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_push_msg_chunks),
      cmocka_unit_test(test_gather_order),
      cmocka_unit_test(test_push_msg_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
