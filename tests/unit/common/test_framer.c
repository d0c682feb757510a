/* test_framer.c: the frame reader: frames split at every byte boundary,
 * several frames in one read, zero-length frames, an oversized length
 * prefix, and no memory held between frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "framer.h"

#define MAX 1000 /* the limit these tests pass */

/* Appends a frame with a body of n bytes (each byte tag + i) to buf at *len. */
static void put(uint8_t *buf, size_t *len, uint32_t n, uint8_t tag) {
  uint8_t *p = buf + *len;
  p[0] = (uint8_t)(n >> 24);
  p[1] = (uint8_t)(n >> 16);
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
  for (uint32_t i = 0; i < n; i++)
    p[4 + i] = (uint8_t)(tag + i);
  *len += 4 + n;
}

/* Feeds in[0..n) and appends every frame to out, recording frame lengths
 * in lens; returns the frames seen. */
static size_t feed(framer *f, const uint8_t *in, size_t n, uint8_t *out,
                   size_t *outlen, size_t *lens, size_t nlens) {
  size_t got = 0;
  const uint8_t *frame;
  ssize_t r;
  while ((r = framer_next(f, &in, &n, MAX, &frame)) > 0) {
    assert_true(got < nlens);
    lens[got++] = (size_t)r;
    memcpy(out + *outlen, frame, (size_t)r);
    *outlen += (size_t)r;
  }
  assert_int_equal(r, 0);
  assert_int_equal(n, 0); /* everything consumed */
  return got;
}

/* A stream of frames (sizes 0, 1, 5, MAX, 3) cut into two reads at every
 * byte boundary comes out as the same frames, byte for byte. */
static void test_split_everywhere(void **state) {
  (void)state;
  uint8_t in[2 * MAX];
  size_t len = 0;
  const uint32_t sizes[] = {0, 1, 5, MAX, 3};
  for (size_t i = 0; i < 5; i++)
    put(in, &len, sizes[i], (uint8_t)(i * 40));
  for (size_t cut = 0; cut <= len; cut++) {
    framer f = {0};
    uint8_t out[2 * MAX];
    size_t outlen = 0, lens[8], got = 0;
    got += feed(&f, in, cut, out, &outlen, lens, 8);
    got += feed(&f, in + cut, len - cut, out, &outlen, lens + got, 8 - got);
    assert_int_equal(got, 5);
    for (size_t i = 0; i < 5; i++)
      assert_int_equal(lens[i], 4 + sizes[i]);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, in, len);
    assert_null(f.part); /* nothing held between whole frames */
  }
}

/* One byte per read: every frame still comes out whole. */
static void test_byte_by_byte(void **state) {
  (void)state;
  uint8_t in[600];
  size_t len = 0;
  put(in, &len, 300, 1);
  put(in, &len, 0, 2);
  put(in, &len, 200, 3);
  framer f = {0};
  uint8_t out[600];
  size_t outlen = 0, lens[4], got = 0;
  for (size_t i = 0; i < len; i++)
    got += feed(&f, in + i, 1, out, &outlen, lens + got, 4 - got);
  assert_int_equal(got, 3);
  assert_memory_equal(out, in, len);
  assert_null(f.part);
}

/* Several whole frames in one read are handed out in place (no copy). */
static void test_several_in_one_read(void **state) {
  (void)state;
  uint8_t in[64];
  size_t len = 0;
  put(in, &len, 2, 7);
  put(in, &len, 10, 8);
  put(in, &len, 0, 9);
  framer f = {0};
  const uint8_t *p = in, *frame;
  size_t n = len;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 6);
  assert_ptr_equal(frame, in);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 14);
  assert_ptr_equal(frame, in + 6);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 4);
  assert_ptr_equal(frame, in + 20);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_int_equal(n, 0);
  assert_null(f.part);
}

/* A zero-length frame is just its prefix: framing passes it on, and the
 * decoder above it decides it is too short. */
static void test_zero_length(void **state) {
  (void)state;
  const uint8_t in[] = {0, 0, 0, 0};
  framer f = {0};
  const uint8_t *p = in, *frame;
  size_t n = sizeof in;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 4);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  /* Split as 3 + 1 bytes it still comes out as one 4-byte frame. */
  p = in;
  n = 3;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_int_equal(framer_pending(&f), 3);
  p = in + 3;
  n = 1;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 4);
  assert_memory_equal(frame, in, 4);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_null(f.part);
}

/* A prefix over the limit fails as soon as its 4 bytes are there, whole
 * or split, without waiting for (or allocating) the body; max itself is
 * fine. */
static void test_oversized(void **state) {
  (void)state;
  uint8_t in[8];
  size_t len = 0;
  put(in, &len, 0, 0);
  in[2] = (uint8_t)((MAX + 1) >> 8);
  in[3] = (uint8_t)(MAX + 1);
  framer f = {0};
  const uint8_t *p = in, *frame;
  size_t n = 4;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), -PERR_FRAME_TOO_BIG);
  assert_null(f.part);
  p = in;
  n = 2;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  n = 2;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), -PERR_FRAME_TOO_BIG);
  framer_reset(&f);
  assert_null(f.part);
  /* Exactly max: waits for the body. */
  in[2] = (uint8_t)(MAX >> 8);
  in[3] = (uint8_t)MAX;
  p = in;
  n = 4;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_int_equal(framer_pending(&f), 4);
  framer_reset(&f);
}

/* A partial frame is sized to the frame once its prefix is known, and the
 * buffer is gone after the frame is taken. */
static void test_partial_then_free(void **state) {
  (void)state;
  uint8_t in[MAX + 4];
  size_t len = 0;
  put(in, &len, MAX, 5);
  framer f = {0};
  const uint8_t *p = in, *frame;
  size_t n = 10;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_non_null(f.part);
  assert_int_equal(framer_pending(&f), 10);
  n = len - 10;
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), (ssize_t)len);
  assert_memory_equal(frame, in, len);
  assert_int_equal(framer_pending(&f), 0);
  assert_int_equal(framer_next(&f, &p, &n, MAX, &frame), 0);
  assert_null(f.part);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_everywhere),
      cmocka_unit_test(test_byte_by_byte),
      cmocka_unit_test(test_several_in_one_read),
      cmocka_unit_test(test_zero_length),
      cmocka_unit_test(test_oversized),
      cmocka_unit_test(test_partial_then_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
