/* test_proto.c: unit tests for the v1 codec (proto/), checked against the
 * spec's independent description in msgdesc.h. Every error test asserts the
 * exact code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msgdesc.h"
#include "proto.h"

#define BUFSZ (PROTO_MAX_FRAME + 64)

static uint8_t pool[2 * PROTO_MAX_FRAME]; /* blob bytes for msgdesc_fill */
static uint8_t buf[BUFSZ];                /* encoder output */
static uint8_t ref[BUFSZ];                /* reference encoder output */

/* Fails the test with the message type's name in the output. */
#define FAILF(...)                                                             \
  do {                                                                         \
    print_error(__VA_ARGS__);                                                  \
    fail();                                                                    \
  } while (0)

/* Builds a frame by hand: header + type + body bytes. Returns its size. */
static size_t frame(uint8_t *out, uint16_t type, const void *body,
                    size_t blen) {
  msgdesc_put(out, blen + 2, 4);
  msgdesc_put(out + 4, type, 2);
  if (blen)
    memcpy(out + 6, body, blen);
  return blen + 6;
}

/* Encodes m with the codec and checks size, bytes (against the reference
 * encoder) and the decode back, field by field. */
static void roundtrip(const proto_msg *m) {
  const char *tn = proto_type_name(m->type);
  size_t want = msgdesc_size(m);
  size_t rn = msgdesc_encode(m, ref);
  assert_int_equal(rn, want);
  if (proto_size(m) != want)
    FAILF("%s: proto_size %zu, want %zu\n", tn, proto_size(m), want);
  ssize_t n = proto_encode(m, buf, sizeof buf);
  if (n != (ssize_t)want)
    FAILF("%s: encode returned %zd (%s), want %zu\n", tn, n,
          n < 0 ? proto_errname((int)n) : "", want);
  if (memcmp(buf, ref, want) != 0)
    FAILF("%s: encoded bytes differ from the spec's layout\n", tn);
  proto_msg d;
  memset(&d, 0x5a, sizeof d);
  ssize_t c = proto_decode(buf, (size_t)n, &d);
  if (c != n)
    FAILF("%s: decode returned %zd (%s), want %zd\n", tn, c,
          c < 0 ? proto_errname((int)c) : "", n);
  assert_int_equal(d.frame_len, (uint32_t)n);
  const char *what;
  int i = msgdesc_diff(m, &d, &what);
  if (i >= 0)
    FAILF("%s: field %d (%s) differs after round trip\n", tn, i, what);
}

/* Sets every integer field of m to its all-ones value (keeps enums valid). */
static void max_ints(proto_msg *m) {
  const mdesc *d = msgdesc_find(m->type);
  for (size_t i = 0; i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    if (f->kind == FK_U16 && f->sem != FS_TYPE)
      *MD_AT(m, f, uint16_t) = UINT16_MAX;
    else if (f->kind == FK_U32)
      *MD_AT(m, f, uint32_t) = UINT32_MAX;
    else if (f->kind == FK_U64)
      *MD_AT(m, f, uint64_t) = UINT64_MAX;
    else if (f->kind == FK_U8 && f->sem != FS_NONE)
      *MD_AT(m, f, uint8_t) = (uint8_t)f->max;
  }
}

/* Every message type round-trips with non-trivial values in every field. */
static void test_roundtrip_all(void **state) {
  (void)state;
  proto_msg m;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    for (unsigned salt = 0; salt < 3; salt++) {
      assert_int_equal(msgdesc_fill(&m, msgdesc_table[t].type, pool, salt), 0);
      roundtrip(&m);
    }
    max_ints(&m);
    roundtrip(&m);
  }
}

/* The table in proto.h and the spec's list of types agree. */
static void test_type_names(void **state) {
  (void)state;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    const char *n = proto_type_name(msgdesc_table[t].type);
    assert_non_null(n);
    assert_string_equal(n, msgdesc_table[t].name);
  }
  assert_null(proto_type_name(0));
  assert_null(proto_type_name(0x0007));
  assert_null(proto_type_name(0x0A01));
  assert_null(proto_type_name(0xFFFF));
  proto_msg m = {.type = 0x7777};
  assert_int_equal(proto_size(&m), 0);
}

/* The two hex examples in PROTOCOL.md are what the codec produces. */
static void test_spec_examples(void **state) {
  (void)state;
  static const uint8_t hello[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
                                  0x01, 0x00, 0x0a, 'p',  'a',  'r',  'l',
                                  'e',  'y',  '/',  '0',  '.',  '1'};
  static const uint8_t say[] = {0x00, 0x00, 0x00, 0x14, 0x03, 0x01, 0x00, 0x00,
                                0x06, '#',  'l',  'o',  'b',  'b',  'y',  0x00,
                                0x00, 0x06, 'h',  0xc3, 0xa9, 'l',  'l',  'o'};
  proto_msg m = {.type = PROTO_HELLO};
  m.u.hello.version = 1;
  m.u.hello.agent = proto_str_c("parley/0.1");
  assert_int_equal(proto_encode(&m, buf, sizeof buf), sizeof hello);
  assert_memory_equal(buf, hello, sizeof hello);

  memset(&m, 0, sizeof m);
  m.type = PROTO_SAY;
  m.u.say.kind = PROTO_TO_ROOM;
  m.u.say.target = proto_str_c("#lobby");
  m.u.say.flags = 0;
  m.u.say.text = proto_str_c("h\xc3\xa9llo");
  assert_int_equal(proto_encode(&m, buf, sizeof buf), sizeof say);
  assert_memory_equal(buf, say, sizeof say);

  static const char etext[] = "protocol version not supported";
  static const uint8_t err[] = {
      0x00, 0x00, 0x00, 0x2b, 0x00, 0x03, 0x00, 0x14, 0x00, 0x01, 0x00, 0x03,
      0x31, 0x2d, 0x31, 0x00, 0x1e, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f,
      0x6c, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20, 0x6e, 0x6f,
      0x74, 0x20, 0x73, 0x75, 0x70, 0x70, 0x6f, 0x72, 0x74, 0x65, 0x64};
  memset(&m, 0, sizeof m);
  m.type = PROTO_ERROR;
  m.u.error.code = PERR_VERSION;
  m.u.error.ref_type = PROTO_HELLO;
  m.u.error.subject = proto_str_c("1-1");
  m.u.error.text = proto_str_c(proto_strerror(PERR_VERSION));
  assert_string_equal(proto_strerror(PERR_VERSION), etext);
  assert_int_equal(proto_encode(&m, buf, sizeof buf), sizeof err);
  assert_memory_equal(buf, err, sizeof err);

  proto_msg d;
  assert_int_equal(proto_decode(say, sizeof say, &d), sizeof say);
  assert_int_equal(d.type, PROTO_SAY);
  assert_int_equal(d.u.say.text.n, 6);
  assert_memory_equal(d.u.say.text.p, "h\xc3\xa9llo", 6);
}

/* Every proper prefix of every valid frame means "need more". */
static void test_partial(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    msgdesc_fill(&m, msgdesc_table[t].type, pool, 1);
    size_t n = msgdesc_encode(&m, ref);
    for (size_t k = 0; k < n; k++) {
      ssize_t r = proto_decode(ref, k, &d);
      if (r != 0)
        FAILF("%s: prefix %zu of %zu gave %zd, want 0\n", msgdesc_table[t].name,
              k, n, r);
    }
    assert_int_equal(proto_decode(ref, n, &d), (ssize_t)n);
  }
}

/* Frames follow each other in a stream; decode takes exactly one. */
static void test_stream(void **state) {
  (void)state;
  proto_msg m, d;
  size_t off = 0;
  static uint8_t s[8 * 4096];
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    msgdesc_fill(&m, msgdesc_table[t].type, pool, (unsigned)t);
    if (m.type == PROTO_FILE_DATA)
      m.u.file_data.data.n = 10;
    off += msgdesc_encode(&m, s + off);
  }
  assert_true(off < sizeof s);
  size_t pos = 0, count = 0;
  while (pos < off) {
    ssize_t r = proto_decode(s + pos, off - pos, &d);
    assert_true(r > 0);
    assert_int_equal(d.type, msgdesc_table[count].type);
    pos += (size_t)r;
    count++;
  }
  assert_int_equal(count, MSGDESC_COUNT);
}

/* A length prefix over the maximum is refused from its 4 bytes alone. */
static void test_frame_too_big(void **state) {
  (void)state;
  proto_msg d;
  uint8_t h[8] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
  assert_int_equal(proto_decode(h, 4, &d), -PERR_FRAME_TOO_BIG);
  assert_int_equal(proto_decode(h, 8, &d), -PERR_FRAME_TOO_BIG);
  uint8_t h2[4] = {0xff, 0xff, 0xff, 0xff};
  assert_int_equal(proto_decode(h2, 4, &d), -PERR_FRAME_TOO_BIG);
  uint8_t h3[4] = {0x80, 0x00, 0x00, 0x00};
  assert_int_equal(proto_decode(h3, 4, &d), -PERR_FRAME_TOO_BIG);
  /* exactly the maximum is allowed: only "need more" while incomplete */
  uint8_t h4[6] = {0x00, 0x01, 0x00, 0x00, 0x07, 0x07};
  assert_int_equal(proto_decode(h4, 4, &d), 0);
  assert_int_equal(proto_decode(h4, 6, &d), 0);
  assert_int_equal(proto_decode(h4, 3, &d), 0);
}

/* A FILE_DATA frame of exactly PROTO_MAX_FRAME bytes is not possible with
 * a 32 KiB chunk, but a full chunk encodes and decodes; one byte more is
 * refused by both sides. */
static void test_file_data_limits(void **state) {
  (void)state;
  proto_msg m, d;
  msgdesc_fill(&m, PROTO_FILE_DATA, pool, 0);
  m.u.file_data.data.n = PROTO_MAX_CHUNK;
  roundtrip(&m);
  m.u.file_data.data.n = PROTO_MAX_CHUNK + 1;
  assert_int_equal(proto_encode(&m, buf, sizeof buf), -PERR_FIELD_TOO_LONG);
  size_t n = msgdesc_encode(&m, ref);
  assert_int_equal(proto_decode(ref, n, &d), -PERR_FIELD_TOO_LONG);
}

/* The header a sender writes in front of file data read in place is the
 * one proto_encode makes, for the smallest and the largest chunk. */
static void test_file_data_head(void **state) {
  (void)state;
  proto_msg m;
  size_t sizes[] = {1, 1000, PROTO_MAX_CHUNK};
  for (size_t i = 0; i < 3; i++) {
    msgdesc_fill(&m, PROTO_FILE_DATA, pool, 0);
    m.u.file_data.xfer_id = 0x0102030405060708ull;
    m.u.file_data.offset = 0xf0e0d0c0b0a09080ull + i;
    m.u.file_data.data.n = (uint16_t)sizes[i];
    ssize_t n = proto_encode(&m, buf, sizeof buf);
    assert_int_equal(n, PROTO_FILE_DATA_HEAD + sizes[i]);
    uint8_t head[PROTO_FILE_DATA_HEAD];
    proto_file_data_head(head, m.u.file_data.xfer_id, m.u.file_data.offset,
                         sizes[i]);
    assert_memory_equal(head, buf, PROTO_FILE_DATA_HEAD);
    uint64_t id = 0, off = 0;
    size_t len = 0;
    assert_int_equal(
        proto_file_data_peek(buf, PROTO_FILE_DATA_HEAD, &id, &off, &len), 1);
    assert_true(id == m.u.file_data.xfer_id && off == m.u.file_data.offset);
    assert_int_equal(len, sizes[i]);
    assert_int_equal(
        proto_file_data_peek(buf, PROTO_FILE_DATA_HEAD - 1, &id, &off, &len),
        0);
  }
}

/* proto_file_data_peek says yes exactly to the heads of frames that decode:
 * not another type, a length that disagrees with the data's, no data, or
 * more than PROTO_MAX_CHUNK. */
static void test_file_data_peek_refuses(void **state) {
  (void)state;
  uint8_t h[PROTO_FILE_DATA_HEAD];
  uint64_t id, off;
  size_t len;
  proto_file_data_head(h, 7, 9, 100);
  assert_int_equal(proto_file_data_peek(h, sizeof h, &id, &off, &len), 1);
  h[5] ^= 1; /* the type */
  assert_int_equal(proto_file_data_peek(h, sizeof h, &id, &off, &len), 0);
  proto_file_data_head(h, 7, 9, 100);
  h[3]++; /* the frame's length no longer fits the data's */
  assert_int_equal(proto_file_data_peek(h, sizeof h, &id, &off, &len), 0);
  static const size_t bad[] = {0, PROTO_MAX_CHUNK + 1};
  for (size_t i = 0; i < 2; i++) {
    proto_file_data_head(h, 7, 9, 1);
    h[22] =
        (uint8_t)(bad[i] >> 8); /* the data's length, the frame's agreeing */
    h[23] = (uint8_t)bad[i];
    uint32_t fl = (uint32_t)(PROTO_FILE_DATA_HEAD - PROTO_HEADER + bad[i]);
    h[0] = (uint8_t)(fl >> 24);
    h[1] = (uint8_t)(fl >> 16);
    h[2] = (uint8_t)(fl >> 8);
    h[3] = (uint8_t)fl;
    assert_int_equal(proto_file_data_peek(h, sizeof h, &id, &off, &len), 0);
    proto_msg d;
    uint8_t big[PROTO_FILE_DATA_HEAD + PROTO_MAX_CHUNK + 1] = {0};
    memcpy(big, h, sizeof h);
    assert_true(proto_decode(big, sizeof h + bad[i], &d) < 0);
  }
}

/* A frame whose length cannot even hold the u16 type. */
static void test_frame_too_short(void **state) {
  (void)state;
  proto_msg d;
  uint8_t z[6] = {0, 0, 0, 0, 0, 0};
  assert_int_equal(proto_decode(z, 4, &d), -PERR_FRAME_TOO_SHORT);
  assert_int_equal(proto_decode(z, 6, &d), -PERR_FRAME_TOO_SHORT);
  uint8_t o[6] = {0, 0, 0, 1, 0x01, 0};
  assert_int_equal(proto_decode(o, 5, &d), -PERR_FRAME_TOO_SHORT);
  assert_int_equal(proto_decode(o, 6, &d), -PERR_FRAME_TOO_SHORT);
}

/* An unknown type is its own error, with the length set for skipping, and
 * the frame after it still decodes. */
static void test_unknown_type(void **state) {
  (void)state;
  static const uint16_t bad[] = {0x0000, 0x0007, 0x0106,
                                 0x020C, 0x0A01, 0xFFFF};
  uint8_t s[64];
  proto_msg d;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n = frame(s, bad[i], "abc", 3);
    n += frame(s + n, PROTO_PING, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    memset(&d, 0, sizeof d);
    assert_int_equal(proto_decode(s, n, &d), -PERR_UNKNOWN_TYPE);
    assert_int_equal(d.type, bad[i]);
    assert_int_equal(d.frame_len, 9);
    assert_int_equal(proto_decode(s + d.frame_len, n - d.frame_len, &d), 14);
    assert_int_equal(d.type, PROTO_PING);
    assert_true(d.u.ping.token == 0x0102030405060708ull);
  }
  /* encoding an unknown type is refused too */
  proto_msg m = {.type = 0x0A01};
  assert_true(proto_encode(&m, s, sizeof s) < 0);
}

/* Cutting any frame short, so that a field runs past its end, is
 * TRUNCATED for every type and every cut. */
static void test_truncated(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    msgdesc_fill(&m, msgdesc_table[t].type, pool, 2);
    if (m.type == PROTO_FILE_DATA)
      m.u.file_data.data.n = 40;
    size_t n = msgdesc_encode(&m, ref);
    for (size_t cut = 1; cut + 6 <= n; cut++) {
      memcpy(buf, ref, n - cut);
      msgdesc_put(buf, n - cut - 4, 4);
      ssize_t r = proto_decode(buf, n - cut, &d);
      if (r != -PERR_TRUNCATED)
        FAILF("%s: cut by %zu gave %zd, want %d\n", msgdesc_table[t].name, cut,
              r, -PERR_TRUNCATED);
    }
  }
  /* a string length that points past the frame end */
  uint8_t s[32];
  size_t n = frame(s, PROTO_JOIN, "\x00\x10#lobby", 8);
  assert_int_equal(proto_decode(s, n, &d), -PERR_TRUNCATED);
  n = frame(s, PROTO_JOIN, "\xff\xff#lobby", 8);
  assert_int_equal(proto_decode(s, n, &d), -PERR_TRUNCATED);
  /* a u64 with only some of its bytes */
  n = frame(s, PROTO_PING, "\x01\x02\x03", 3);
  assert_int_equal(proto_decode(s, n, &d), -PERR_TRUNCATED);
}

/* One extra byte inside the frame after the last field is TRAILING. */
static void test_trailing(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    msgdesc_fill(&m, msgdesc_table[t].type, pool, 0);
    size_t n = msgdesc_encode(&m, ref);
    for (size_t extra = 1; extra <= 3; extra++) {
      memcpy(buf, ref, n);
      memset(buf + n, 0, extra);
      msgdesc_put(buf, n + extra - 4, 4);
      ssize_t r = proto_decode(buf, n + extra, &d);
      if (r != -PERR_TRAILING)
        FAILF("%s: %zu trailing bytes gave %zd, want %d\n",
              msgdesc_table[t].name, extra, r, -PERR_TRAILING);
    }
  }
}

/* Builds a HELLO frame whose agent is the given bytes; returns the size. */
static size_t hello_with(uint8_t *out, const char *s, size_t n) {
  uint8_t body[300];
  body[0] = 0;
  body[1] = 1;
  msgdesc_put(body + 2, n, 2);
  memcpy(body + 4, s, n);
  return frame(out, PROTO_HELLO, body, n + 4);
}

static const struct {
  const char *s;
  size_t n;
  const char *why;
} bad_utf8[] = {
    {"\xc0\xaf", 2, "overlong 2-byte '/'"},
    {"\xc1\xbf", 2, "overlong 2-byte"},
    {"\xe0\x80\xaf", 3, "overlong 3-byte"},
    {"\xe0\x9f\xbf", 3, "overlong 3-byte U+07FF"},
    {"\xf0\x80\x80\xaf", 4, "overlong 4-byte"},
    {"\xf0\x8f\xbf\xbf", 4, "overlong 4-byte U+FFFF"},
    {"\xed\xa0\x80", 3, "surrogate U+D800"},
    {"\xed\xbf\xbf", 3, "surrogate U+DFFF"},
    {"\xf4\x90\x80\x80", 4, "U+110000"},
    {"\xf5\x80\x80\x80", 4, "lead byte F5"},
    {"\xf8\x88\x80\x80\x80", 5, "5-byte form"},
    {"\xff", 1, "byte FF"},
    {"\x80", 1, "lone continuation"},
    {"ab\xe2\x82", 4, "truncated 3-byte sequence at end"},
    {"\xe2\x82x", 3, "truncated sequence before ASCII"},
    {"\xc3", 1, "truncated 2-byte"},
    {"\xf0\x9d\x84", 3, "truncated 4-byte"},
    {"a\0b", 3, "embedded NUL"},
    {"\0", 1, "NUL alone"},
};

/* Every class of bad UTF-8 is BAD_UTF8 in a decoded field, in the encoder
 * and in proto_utf8_count. */
static void test_bad_utf8(void **state) {
  (void)state;
  proto_msg d, m;
  uint8_t s[400];
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    size_t n = hello_with(s, bad_utf8[i].s, bad_utf8[i].n);
    ssize_t r = proto_decode(s, n, &d);
    if (r != -PERR_BAD_UTF8)
      FAILF("decode %s gave %zd, want %d\n", bad_utf8[i].why, r,
            -PERR_BAD_UTF8);
    r = proto_utf8_count(bad_utf8[i].s, bad_utf8[i].n);
    if (r != -PERR_BAD_UTF8)
      FAILF("utf8_count %s gave %zd\n", bad_utf8[i].why, r);
    msgdesc_fill(&m, PROTO_SAY, pool, 0);
    m.u.say.text = (proto_str){bad_utf8[i].s, (uint16_t)bad_utf8[i].n};
    r = proto_encode(&m, buf, sizeof buf);
    if (r != -PERR_BAD_UTF8)
      FAILF("encode %s gave %zd\n", bad_utf8[i].why, r);
  }
  /* the decoder checks every string field, not just the first */
  msgdesc_fill(&m, PROTO_MSG, pool, 0);
  m.u.msg.text = (proto_str){"ok\xed\xa0\x80", 5};
  size_t n = msgdesc_encode(&m, ref);
  assert_int_equal(proto_decode(ref, n, &d), -PERR_BAD_UTF8);
}

/* Valid UTF-8 at the edges of every sequence length is counted right. */
static void test_utf8_count(void **state) {
  (void)state;
  assert_int_equal(proto_utf8_count("", 0), 0);
  assert_int_equal(proto_utf8_count("abc", 3), 3);
  assert_int_equal(proto_utf8_count("\x7f", 1), 1);
  assert_int_equal(proto_utf8_count("\xc2\x80", 2), 1);         /* U+0080 */
  assert_int_equal(proto_utf8_count("\xdf\xbf", 2), 1);         /* U+07FF */
  assert_int_equal(proto_utf8_count("\xe0\xa0\x80", 3), 1);     /* U+0800 */
  assert_int_equal(proto_utf8_count("\xed\x9f\xbf", 3), 1);     /* U+D7FF */
  assert_int_equal(proto_utf8_count("\xee\x80\x80", 3), 1);     /* U+E000 */
  assert_int_equal(proto_utf8_count("\xef\xbf\xbf", 3), 1);     /* U+FFFF */
  assert_int_equal(proto_utf8_count("\xf0\x90\x80\x80", 4), 1); /* 10000 */
  assert_int_equal(proto_utf8_count("\xf4\x8f\xbf\xbf", 4), 1); /* 10FFFF */
  assert_int_equal(proto_utf8_count("h\xc3\xa9llo \xf0\x9d\x84\x9e", 11), 7);
}

/* Builds a string of count copies of unit into out; returns bytes. */
static size_t rep(char *out, const char *unit, size_t count) {
  size_t u = strlen(unit);
  for (size_t i = 0; i < count; i++)
    memcpy(out + i * u, unit, u);
  return count * u;
}

static char big[PROTO_MAX_FRAME];

/* Limits are counted in characters, not bytes: a 280-character message of
 * 2-, 3- and 4-byte characters is fine; a 33-character name is not. */
static void test_field_too_long(void **state) {
  (void)state;
  proto_msg m, d;
  size_t n;

  msgdesc_fill(&m, PROTO_LOGIN, pool, 0);
  m.u.login.name = proto_str_c("abcdefghijklmnopqrstuvwxyz0123456"); /* 33 */
  n = msgdesc_encode(&m, ref);
  assert_int_equal(proto_decode(ref, n, &d), -PERR_FIELD_TOO_LONG);
  assert_int_equal(proto_encode(&m, buf, sizeof buf), -PERR_FIELD_TOO_LONG);
  m.u.login.name = proto_str_c("abcdefghijklmnopqrstuvwxyz012345"); /* 32 */
  roundtrip(&m);

  const char *units[] = {"\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x8e\xa3"};
  for (size_t u = 0; u < 3; u++) {
    msgdesc_fill(&m, PROTO_SAY, pool, 0);
    n = rep(big, units[u], PROTO_DEFAULT_MSG_CHARS);
    assert_true(n > PROTO_DEFAULT_MSG_CHARS);
    m.u.say.text = (proto_str){big, (uint16_t)n};
    roundtrip(&m);
    assert_int_equal(proto_utf8_count(big, n), PROTO_DEFAULT_MSG_CHARS);
    /* the codec's hard cap, in characters; 4-byte ones fill 16000 bytes */
    n = rep(big, units[u], PROTO_MAX_TEXT);
    m.u.say.text = (proto_str){big, (uint16_t)n};
    roundtrip(&m);
    n = rep(big, units[u], PROTO_MAX_TEXT + 1);
    m.u.say.text = (proto_str){big, (uint16_t)n};
    n = msgdesc_encode(&m, ref);
    assert_int_equal(proto_decode(ref, n, &d), -PERR_FIELD_TOO_LONG);
    assert_int_equal(proto_encode(&m, buf, sizeof buf), -PERR_FIELD_TOO_LONG);
  }
}

/* Every string field: at its limit fine, one past it FIELD_TOO_LONG, from
 * both the decoder and the encoder. */
static void test_every_field_limit(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    const mdesc *md = &msgdesc_table[t];
    for (size_t i = 0; i < msgdesc_nfields(md); i++) {
      const fdesc *f = &md->f[i];
      if (f->kind != FK_STR)
        continue;
      /* file names are limited in bytes, everything else in characters */
      const char *unit = f->sem == FS_FILE ? "f" : "\xc3\xa4";
      const char *first = f->sem == FS_ROOM ? "#" : "";
      msgdesc_fill(&m, md->type, pool, 0);
      size_t n = strlen(first);
      memcpy(big, first, n);
      n += rep(big + n, unit, f->max - strlen(first));
      *MD_AT(&m, f, proto_str) = (proto_str){big, (uint16_t)n};
      ssize_t r = proto_encode(&m, buf, sizeof buf);
      if (r <= 0)
        FAILF("%s.%s at limit %u: encode gave %zd\n", md->name, f->name, f->max,
              r);
      r = proto_decode(buf, (size_t)r, &d);
      if (r <= 0)
        FAILF("%s.%s at limit %u: decode gave %zd\n", md->name, f->name, f->max,
              r);
      n += rep(big + n, unit, 1);
      *MD_AT(&m, f, proto_str) = (proto_str){big, (uint16_t)n};
      r = proto_encode(&m, buf, sizeof buf);
      if (r != -PERR_FIELD_TOO_LONG)
        FAILF("%s.%s over limit %u: encode gave %zd\n", md->name, f->name,
              f->max, r);
      size_t fn = msgdesc_encode(&m, ref);
      r = proto_decode(ref, fn, &d);
      if (r != -PERR_FIELD_TOO_LONG)
        FAILF("%s.%s over limit %u: decode gave %zd\n", md->name, f->name,
              f->max, r);
    }
  }
}

/* File names are limited in bytes (PROTO_MAX_FILENAME, like NAME_MAX), not
 * characters: 128 two-byte characters are 256 bytes, one too many. */
static void test_filename_bytes(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    const mdesc *md = &msgdesc_table[t];
    for (size_t i = 0; i < msgdesc_nfields(md); i++) {
      const fdesc *f = &md->f[i];
      if (f->kind != FK_STR || f->sem != FS_FILE)
        continue;
      msgdesc_fill(&m, md->type, pool, 0);
      size_t n = rep(big, "\xc3\xa4", PROTO_MAX_FILENAME / 2); /* 254 B */
      n += rep(big + n, "f", 1);
      *MD_AT(&m, f, proto_str) = (proto_str){big, (uint16_t)n};
      roundtrip(&m);
      n = rep(big, "\xc3\xa4", PROTO_MAX_FILENAME / 2 + 1); /* 256 B */
      *MD_AT(&m, f, proto_str) = (proto_str){big, (uint16_t)n};
      ssize_t e = proto_encode(&m, buf, sizeof buf);
      size_t fn = msgdesc_encode(&m, ref);
      ssize_t r = proto_decode(ref, fn, &d);
      if (r != -PERR_FIELD_TOO_LONG || e != -PERR_FIELD_TOO_LONG)
        FAILF("%s.%s of 128 chars, 256 bytes: decode %zd encode %zd, want "
              "%d\n",
              md->name, f->name, r, e, -PERR_FIELD_TOO_LONG);
    }
  }
}

/* Fixed-size blobs (tokens, SHA-256) must have exactly their size. */
static void test_blob_sizes(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    const mdesc *md = &msgdesc_table[t];
    for (size_t i = 0; i < msgdesc_nfields(md); i++) {
      const fdesc *f = &md->f[i];
      if (f->kind != FK_BLOB || f->sem != FS_EXACT)
        continue;
      static const int delta[] = {-1, +1, -(int)PROTO_HASH_LEN};
      for (size_t k = 0; k < 3; k++) {
        msgdesc_fill(&m, md->type, pool, 0);
        MD_AT(&m, f, proto_blob)->n = (uint16_t)((int)f->max + delta[k]);
        size_t fn = msgdesc_encode(&m, ref);
        ssize_t r = proto_decode(ref, fn, &d);
        ssize_t e = proto_encode(&m, buf, sizeof buf);
        int want = delta[k] > 0 ? -PERR_FIELD_TOO_LONG : -PERR_BAD_VALUE;
        if (r != want || e != want)
          FAILF("%s.%s size %d: decode %zd encode %zd, want %d\n", md->name,
                f->name, (int)f->max + delta[k], r, e, want);
      }
    }
  }
  /* FILE_DATA carries at least one byte */
  msgdesc_fill(&m, PROTO_FILE_DATA, pool, 0);
  m.u.file_data.data.n = 0;
  size_t fn = msgdesc_encode(&m, ref);
  assert_int_equal(proto_decode(ref, fn, &d), -PERR_BAD_VALUE);
  assert_int_equal(proto_encode(&m, buf, sizeof buf), -PERR_BAD_VALUE);
}

/* Enumerations past their last value and undefined flag bits are
 * BAD_VALUE, from the decoder and from the encoder. */
static void test_bad_value(void **state) {
  (void)state;
  proto_msg m, d;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    const mdesc *md = &msgdesc_table[t];
    for (size_t i = 0; i < msgdesc_nfields(md); i++) {
      const fdesc *f = &md->f[i];
      if (f->kind != FK_U8 || (f->sem != FS_ENUM && f->sem != FS_FLAGS))
        continue;
      uint8_t bad[2] = {(uint8_t)(f->max + 1), 0xff};
      if (f->sem == FS_FLAGS)
        bad[0] = (uint8_t)((f->max + 1) | f->max); /* next undefined bit */
      for (size_t k = 0; k < 2; k++) {
        msgdesc_fill(&m, md->type, pool, 0);
        *MD_AT(&m, f, uint8_t) = bad[k];
        size_t fn = msgdesc_encode(&m, ref);
        ssize_t r = proto_decode(ref, fn, &d);
        ssize_t e = proto_encode(&m, buf, sizeof buf);
        if (r != -PERR_BAD_VALUE || e != -PERR_BAD_VALUE)
          FAILF("%s.%s = 0x%02x: decode %zd encode %zd, want %d\n", md->name,
                f->name, bad[k], r, e, -PERR_BAD_VALUE);
      }
    }
  }
  /* the classic case spelled out: SAY to kind 2 */
  uint8_t s[32];
  size_t n = frame(s, PROTO_SAY,
                   "\x02\x00\x03"
                   "bob"
                   "\x00\x00\x02hi",
                   10);
  assert_int_equal(proto_decode(s, n, &d), -PERR_BAD_VALUE);
}

/* Encoding into a buffer one byte too small, or none, is NO_SPACE and
 * writes nothing past cap. */
static void test_no_space(void **state) {
  (void)state;
  proto_msg m;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    msgdesc_fill(&m, msgdesc_table[t].type, pool, 0);
    size_t n = msgdesc_size(&m);
    const size_t caps[] = {0, 1, 4, 5, n - 1};
    for (size_t k = 0; k < 5; k++) {
      if (caps[k] >= n)
        continue;
      memset(buf, 0xee, n + 8);
      ssize_t r = proto_encode(&m, buf, caps[k]);
      if (r != -PERR_NO_SPACE)
        FAILF("%s cap %zu of %zu gave %zd\n", msgdesc_table[t].name, caps[k], n,
              r);
      for (size_t b = caps[k]; b < n + 8; b++)
        assert_int_equal(buf[b], 0xee);
    }
    assert_int_equal(proto_encode(&m, buf, n), (ssize_t)n);
  }
}

/* Reads every PRESENCE_LIST entry of l, re-encodes each with
 * proto_plist_put into out and returns the entry count (or the error). */
static int plist_copy(proto_blob l, uint8_t *out, size_t cap, size_t *on) {
  size_t off = 0;
  proto_presence p;
  int rc, n = 0;
  *on = 0;
  while ((rc = proto_plist_next(l, &off, &p)) > 0) {
    assert_int_equal(proto_plist_put(out, cap, on, &p), 0);
    n++;
  }
  return rc < 0 ? rc : n;
}

/* The v3 compact lists: the sample entries read back as the spec says,
 * re-encode to the same bytes, and every kind of bad entry is refused by
 * the entry reader, the frame decoder and the encoder alike. */
static void test_lists(void **state) {
  (void)state;
  proto_blob l = {msgdesc_plist, sizeof msgdesc_plist - 1};
  size_t off = 0;
  proto_presence p;
  assert_int_equal(proto_plist_next(l, &off, &p), 1);
  assert_int_equal(p.status, PROTO_AWAY);
  assert_int_equal(p.flags, PROTO_PRESF_ADMIN);
  assert_true(p.user.n == 5 && memcmp(p.user.p, "alice", 5) == 0);
  assert_int_equal(p.text.n, 17);
  assert_true(p.talking_with.n == 7 &&
              memcmp(p.talking_with.p, "Bob_2.x", 7) == 0);
  assert_int_equal(p.idle_s, 0x12345);
  assert_int_equal(proto_plist_next(l, &off, &p), 1);
  assert_int_equal(p.status, PROTO_ONLINE);
  assert_int_equal(p.flags, PROTO_PRESF_SELF);
  assert_int_equal(p.text.n + p.talking_with.n + p.idle_s, 0);
  assert_int_equal(proto_plist_next(l, &off, &p), 1);
  assert_int_equal(p.status, PROTO_OFFLINE);
  assert_int_equal(proto_plist_next(l, &off, &p), 0);
  assert_int_equal(off, l.n);
  size_t on;
  assert_int_equal(plist_copy(l, (uint8_t *)big, sizeof big, &on), 3);
  assert_int_equal(on, l.n);
  assert_memory_equal(big, l.p, l.n);

  proto_blob e = {msgdesc_revents, sizeof msgdesc_revents - 1};
  proto_notice nt;
  off = on = 0;
  int kinds[] = {PROTO_NOTICE_JOINED, PROTO_NOTICE_LEFT, PROTO_NOTICE_KICKED};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(proto_revents_next(e, &off, &nt), 1);
    assert_int_equal(nt.kind, kinds[k]);
    assert_int_equal(proto_revents_put((uint8_t *)big, sizeof big, &on, &nt),
                     0);
  }
  assert_int_equal(nt.actor.n, 5);
  assert_true(nt.text.n == 4 && memcmp(nt.text.p, "spam", 4) == 0);
  assert_int_equal(proto_revents_next(e, &off, &nt), 0);
  assert_int_equal(on, e.n);
  assert_memory_equal(big, e.p, e.n);

  /* bad entries, each with the error the decoder gives */
  static const struct {
    bool ev;
    const char *b;
    size_t n;
    int err;
  } bad[] = {
      {false,
       "\x80\x01"
       "a",
       3, -PERR_BAD_VALUE},                    /* reserved head bit */
      {false, "\x00\x00", 2, -PERR_BAD_VALUE}, /* empty name */
      {false,
       "\x00\x02"
       "1a",
       4, -PERR_BAD_VALUE}, /* not a user name */
      {false,
       "\x00\x05"
       "ab",
       4, -PERR_TRUNCATED},                /* name past the end */
      {false, "\x00", 1, -PERR_TRUNCATED}, /* no name length */
      {false,
       "\x40\x01"
       "a\x80",
       4, -PERR_TRUNCATED}, /* short idle */
      {false,
       "\x40\x01"
       "a\x00",
       4, -PERR_BAD_VALUE}, /* idle 0 */
      {false,
       "\x40\x01"
       "a\x81\x00",
       5, -PERR_BAD_VALUE}, /* long form */
      {false,
       "\x40\x01"
       "a\xff\xff\xff\xff\x10",
       8, -PERR_BAD_VALUE},
      {false,
       "\x40\x01"
       "a\x80\x80\x80\x80\x80\x01",
       9, -PERR_BAD_VALUE}, /* six bytes */
      {false,
       "\x10\x01"
       "a\x00\x02\xc3",
       6, -PERR_TRUNCATED},
      {false,
       "\x10\x01"
       "a\x00\x01\xff",
       6, -PERR_BAD_UTF8},
      {false,
       "\x00\x21"
       "abcdefghijklmnopqrstuvwxyz0123456",
       35, -PERR_FIELD_TOO_LONG},
      {false,
       "\x20\x01"
       "a\x00",
       4, -PERR_BAD_VALUE}, /* empty talking */
      {false,
       "\x10\x01"
       "a\x00\x00",
       5, -PERR_BAD_VALUE}, /* empty text */
      {true,
       "\x00\x01"
       "a\x00\x00\x00",
       6, -PERR_BAD_VALUE}, /* SERVER */
      {true,
       "\x06\x01"
       "a\x00\x00\x00",
       6, -PERR_BAD_VALUE}, /* TOPIC */
      {true,
       "\x01\x01"
       "a\x01#\x00\x00",
       7, -PERR_BAD_VALUE}, /* actor */
      {true,
       "\x01\x01"
       "a\x00\x00",
       5, -PERR_TRUNCATED},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    proto_blob b = {(const uint8_t *)bad[k].b, (uint16_t)bad[k].n};
    off = 0;
    int r = bad[k].ev ? proto_revents_next(b, &off, &nt)
                      : proto_plist_next(b, &off, &p);
    if (r != bad[k].err)
      FAILF("bad entry %zu: reader gave %d, want %d\n", k, r, bad[k].err);
    proto_msg m, d;
    msgdesc_fill(&m, bad[k].ev ? PROTO_ROOM_EVENTS : PROTO_PRESENCE_LIST, pool,
                 0);
    if (bad[k].ev)
      m.u.room_events.entries = b;
    else
      m.u.presence_list.entries = b;
    size_t fn = msgdesc_encode(&m, ref);
    ssize_t dr = proto_decode(ref, fn, &d);
    ssize_t er = proto_encode(&m, buf, sizeof buf);
    if (dr != bad[k].err || er != bad[k].err)
      FAILF("bad entry %zu in a frame: decode %zd encode %zd, want %d\n", k, dr,
            er, bad[k].err);
  }

  /* an empty list is a valid frame (a snapshot of nobody) */
  proto_msg m;
  msgdesc_fill(&m, PROTO_PRESENCE_LIST, pool, 0);
  m.u.presence_list.entries = (proto_blob){NULL, 0};
  roundtrip(&m);

  /* idle_s in LEB128: 1 byte below 128 s, 5 for the largest */
  static const struct {
    uint32_t v;
    size_t n;
  } idles[] = {{1, 1},     {127, 1},   {128, 2},
               {16383, 2}, {16384, 3}, {UINT32_MAX, 5}};
  for (size_t k = 0; k < sizeof idles / sizeof idles[0]; k++) {
    proto_presence q = {.user = proto_str_c("ab"), .idle_s = idles[k].v};
    uint8_t one[16];
    on = off = 0;
    assert_int_equal(proto_plist_put(one, sizeof one, &on, &q), 0);
    assert_int_equal(on, 4 + idles[k].n);
    assert_int_equal(
        proto_plist_next((proto_blob){one, (uint16_t)on}, &off, &p), 1);
    assert_int_equal(p.idle_s, idles[k].v);
  }

  /* put: a full buffer is NO_SPACE and writes nothing */
  proto_presence q = {.user = proto_str_c("alice"),
                      .status = PROTO_BUSY,
                      .text = proto_str_c("x"),
                      .talking_with = proto_str_c(""),
                      .idle_s = 7};
  uint8_t small[8];
  on = 0;
  assert_int_equal(proto_plist_put(small, sizeof small, &on, &q),
                   -PERR_NO_SPACE);
  assert_int_equal(on, 0);
  q.user = proto_str_c("1x");
  assert_int_equal(proto_plist_put((uint8_t *)big, sizeof big, &on, &q),
                   -PERR_BAD_VALUE);
  q.user = proto_str_c("alice");
  q.status = 4;
  assert_int_equal(proto_plist_put((uint8_t *)big, sizeof big, &on, &q),
                   -PERR_BAD_VALUE);

  /* a list filled to the limit still fits one frame */
  q.status = PROTO_ONLINE;
  q.text = proto_str_c("");
  q.idle_s = 0;
  q.user = proto_str_c("abcdefghijklmnopqrstuvwxyz012345");
  on = 0;
  int filled = 0;
  while (proto_plist_put((uint8_t *)big, PROTO_MAX_LIST, &on, &q) == 0)
    filled++;
  assert_int_equal(filled, PROTO_MAX_LIST / 34);
  m.u.presence_list.entries = (proto_blob){(const uint8_t *)big, (uint16_t)on};
  roundtrip(&m);
}

/* Every error number has its text and name, with either sign. */
static void test_strerror(void **state) {
  (void)state;
  static const struct {
    int code;
    const char *name, *text;
  } all[] = {
#define ERR_ROW(name, num, text) {num, #name, text},
      PROTO_ERRORS(ERR_ROW)
#undef ERR_ROW
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    assert_string_equal(proto_strerror(all[i].code), all[i].text);
    assert_string_equal(proto_strerror(-all[i].code), all[i].text);
    assert_string_equal(proto_errname(all[i].code), all[i].name);
    assert_string_equal(proto_errname(-all[i].code), all[i].name);
  }
  const int unknown[] = {0,    10,    19,  32,      94,        99,
                         1000, 65535, -77, -100000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_non_null(proto_strerror(unknown[i]));
    assert_string_equal(proto_strerror(unknown[i]), "unknown error");
    assert_string_equal(proto_errname(unknown[i]), "UNKNOWN");
  }
  assert_int_equal(PERR_VERSION, 20);
  assert_int_equal(PERR_MALFORMED, 29);
  assert_int_equal(PERR_SERVER_BUSY, 30);
  assert_int_equal(PERR_TLS_REQUIRED, 31);
  assert_int_equal(PERR_STORAGE, 35);
  assert_int_equal(PERR_REVOKED, 36);
  assert_int_equal(PERR_MSG_TOO_LONG, 60);
  assert_int_equal(PERR_FILE_EXISTS, 81);
}

#define CHECK(fn, s, want)                                                     \
  do {                                                                         \
    int r_ = fn((s), sizeof(s) - 1);                                           \
    if (r_ != (want))                                                          \
      FAILF("%s(\"%s\") gave %d, want %d\n", #fn, (s), r_, (want));            \
  } while (0)

/* User names: a letter, then letters, digits, '_', '-', '.'; 1-32. */
static void test_check_name(void **state) {
  (void)state;
  const int bad = -PERR_BAD_NAME;
  CHECK(proto_check_name, "alice", 0);
  CHECK(proto_check_name, "a", 0);
  CHECK(proto_check_name, "Bob_2.x-y", 0);
  CHECK(proto_check_name, "abcdefghijklmnopqrstuvwxyz012345", 0);
  CHECK(proto_check_name, "abcdefghijklmnopqrstuvwxyz0123456", bad);
  CHECK(proto_check_name, "", bad);
  CHECK(proto_check_name, "1abc", bad);
  CHECK(proto_check_name, "_x", bad);
  CHECK(proto_check_name, ".x", bad);
  CHECK(proto_check_name, "-x", bad);
  CHECK(proto_check_name, "a b", bad);
  CHECK(proto_check_name,
        "a\x01"
        "b",
        bad);
  CHECK(proto_check_name, "../x", bad);
  CHECK(proto_check_name, "/etc/passwd", bad);
  CHECK(proto_check_name, ".", bad);
  CHECK(proto_check_name, "..", bad);
  CHECK(proto_check_name, "#lobby", bad);
  CHECK(proto_check_name, "al@ce", bad);
  CHECK(proto_check_name, "j\xc3\xb6rg", bad);
  CHECK(proto_check_name, "a\0b", bad);
  CHECK(proto_check_name, "a\x7f", bad);
}

/* Room names: '#' then 1-32 of letters, digits, '_', '-', '.'. */
static void test_check_room(void **state) {
  (void)state;
  const int bad = -PERR_BAD_ROOM;
  CHECK(proto_check_room, "#lobby", 0);
  CHECK(proto_check_room, "#a", 0);
  CHECK(proto_check_room, "#1", 0);
  CHECK(proto_check_room, "#dev.ops_2-b", 0);
  CHECK(proto_check_room, "#abcdefghijklmnopqrstuvwxyz012345", 0);
  CHECK(proto_check_room, "#abcdefghijklmnopqrstuvwxyz0123456", bad);
  CHECK(proto_check_room, "", bad);
  CHECK(proto_check_room, "#", bad);
  CHECK(proto_check_room, "lobby", bad);
  CHECK(proto_check_room, "##lobby", bad);
  CHECK(proto_check_room, "#a b", bad);
  CHECK(proto_check_room,
        "#a\x01"
        "b",
        bad);
  CHECK(proto_check_room, "#../x", bad);
  CHECK(proto_check_room, "../x", bad);
  CHECK(proto_check_room, "/etc/passwd", bad);
  CHECK(proto_check_room, ".", bad);
  CHECK(proto_check_room, "..", bad);
  CHECK(proto_check_room, "#caf\xc3\xa9", bad);
  CHECK(proto_check_room, "#a\0b", bad);
}

/* File names: valid UTF-8, 1-255 bytes, no '/', '\', control characters,
 * and not "." or "..". */
static void test_check_filename(void **state) {
  (void)state;
  const int bad = -PERR_BAD_FILENAME;
  CHECK(proto_check_filename, "report.txt", 0);
  CHECK(proto_check_filename, "a", 0);
  CHECK(proto_check_filename, "notes 2026 (final).md", 0);
  CHECK(proto_check_filename, "\xc3\x84rger \xe2\x9c\x93.tar.gz", 0);
  CHECK(proto_check_filename, "...", 0);
  CHECK(proto_check_filename, "a..b", 0);
  CHECK(proto_check_filename, "", bad);
  CHECK(proto_check_filename, ".", bad);
  CHECK(proto_check_filename, "..", bad);
  CHECK(proto_check_filename, "../x", bad);
  CHECK(proto_check_filename, "x/..", bad);
  CHECK(proto_check_filename, "/etc/passwd", bad);
  CHECK(proto_check_filename, "dir/file", bad);
  CHECK(proto_check_filename, "dir\\file", bad);
  CHECK(proto_check_filename, "..\\x", bad);
  CHECK(proto_check_filename,
        "a\x01"
        "b",
        bad);
  CHECK(proto_check_filename, "a\nb", bad);
  CHECK(proto_check_filename, "a\tb", bad);
  CHECK(proto_check_filename, "a\x7f", bad);
  CHECK(proto_check_filename,
        "a\xc2\x9b"
        "b",
        bad); /* C1 CSI */
  CHECK(proto_check_filename, "a\0b", bad);
  CHECK(proto_check_filename, "bad\xff.txt", bad);
  CHECK(proto_check_filename, "\xed\xa0\x80", bad);
  char n[300];
  memset(n, 'x', sizeof n);
  assert_int_equal(proto_check_filename(n, PROTO_MAX_FILENAME), 0);
  assert_int_equal(proto_check_filename(n, PROTO_MAX_FILENAME + 1), bad);
}

/* The one copy helper: cut to fit, never inside a UTF-8 sequence. */
static void test_str_copy(void **state) {
  (void)state;
  char d[6];
  assert_int_equal(proto_str_copy(d, sizeof d, proto_str_c("abc")), 3);
  assert_string_equal(d, "abc");
  assert_int_equal(proto_str_copy(d, sizeof d, proto_str_c("abcdefgh")), 5);
  assert_string_equal(d, "abcde");
  /* "abc" + U+20AC (3 bytes) needs 6 bytes: the euro sign does not fit
   * whole in 5, so it is left out rather than cut. */
  assert_int_equal(proto_str_copy(d, sizeof d, proto_str_c("abc\xe2\x82\xac")),
                   3);
  assert_string_equal(d, "abc");
  assert_int_equal(proto_str_copy(d, 1, proto_str_c("x")), 0);
  assert_string_equal(d, "");
  char *dup = proto_str_dup((proto_str){"hi there", 2});
  assert_non_null(dup);
  assert_string_equal(dup, "hi");
  free(dup);
}

/* Bidi controls, zero-width characters and separators are flagged wherever
 * they sit; ZWJ/ZWNJ only outside a joining context (emoji sequences and
 * Persian/Indic text keep working). */
static void test_has_hidden(void **state) {
  (void)state;
  static const char *bad[] = {
      "evil\xe2\x80\xaegpj.exe", /* U+202E RLO */
      "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad",
      "a\xe2\x81\xa6" "b", "a\xe2\x81\xa7" "b", "a\xe2\x81\xa8" "b",
      "a\xe2\x81\xa9" "b",                 /* isolates U+2066..9 */
      "a\xe2\x80\x8e" "b", "a\xe2\x80\x8f" "b", /* LRM, RLM */
      "a\xd8\x9c" "b",                      /* ALM U+061C */
      "pay\xe2\x80\x8bpal",             /* ZWSP U+200B */
      "a\xe2\x80\xa8" "b", "a\xe2\x80\xa9" "b", /* LS, PS */
      "a\xe2\x81\xa0" "b",                 /* WORD JOINER */
      "\xef\xbb\xbfhi",                 /* BOM U+FEFF */
      "ad\xe2\x80\x8dmin",              /* ZWJ between ASCII letters */
      "\xe2\x80\x8c",                   /* a lone ZWNJ */
      "x \xe2\x80\x8d\xf0\x9f\x92\xbb", /* ZWJ after a space */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_true(proto_has_control(bad[i], strlen(bad[i])));
  static const char *good[] = {
      "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* woman technologist */
      "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85", /* Persian ZWNJ */
      "caf\xc3\xa9 \xe2\x80\x94 ok", /* em dash U+2014 is visible */
      "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", /* Hebrew letters: RTL text itself is fine */
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    assert_false(proto_has_control(good[i], strlen(good[i])));
  assert_true(proto_cp_hidden(0x202E));
  assert_false(proto_cp_hidden(0x200D)); /* context decides for joiners */
  assert_false(proto_cp_hidden('a'));
}

/* Control characters other than tab are flagged; printable text is not. */
static void test_has_control(void **state) {
  (void)state;
  assert_false(proto_has_control("", 0));
  assert_false(proto_has_control("hello", 5));
  assert_false(proto_has_control("a\tb", 3));
  assert_false(proto_has_control("h\xc3\xa9llo \xf0\x9d\x84\x9e", 11));
  assert_false(proto_has_control("\xc2\xa0", 2)); /* NBSP is printable */
  assert_true(proto_has_control("a\nb", 3));
  assert_true(proto_has_control("a\rb", 3));
  assert_true(proto_has_control("\x1b[31mred", 8));
  assert_true(proto_has_control("\x7f", 1));
  assert_true(proto_has_control("x\x01", 2));
  assert_true(proto_has_control("\xc2\x80", 2)); /* C1 U+0080 */
  assert_true(proto_has_control("\xc2\x9b"
                                "2J",
                                4)); /* C1 CSI */
  assert_true(proto_has_control("\xc2\x9f", 2));
}

/* proto_str_c: NULL is "", otherwise the string's bytes. */
/* The one status-name table: enum order, and "?" past the end. */
static void test_status_name(void **state) {
  (void)state;
  assert_string_equal(proto_status_name(PROTO_ONLINE), "online");
  assert_string_equal(proto_status_name(PROTO_AWAY), "away");
  assert_string_equal(proto_status_name(PROTO_BUSY), "busy");
  assert_string_equal(proto_status_name(PROTO_OFFLINE), "offline");
  assert_string_equal(proto_status_name(PROTO_STATUS_LAST + 1), "?");
}

static void test_str_c(void **state) {
  (void)state;
  proto_str s = proto_str_c(NULL);
  assert_int_equal(s.n, 0);
  s = proto_str_c("");
  assert_int_equal(s.n, 0);
  s = proto_str_c("h\xc3\xa9");
  assert_int_equal(s.n, 3);
  assert_memory_equal(s.p, "h\xc3\xa9", 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_all),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_spec_examples),
      cmocka_unit_test(test_partial),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_frame_too_big),
      cmocka_unit_test(test_file_data_limits),
      cmocka_unit_test(test_frame_too_short),
      cmocka_unit_test(test_unknown_type),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_trailing),
      cmocka_unit_test(test_bad_utf8),
      cmocka_unit_test(test_utf8_count),
      cmocka_unit_test(test_field_too_long),
      cmocka_unit_test(test_every_field_limit),
      cmocka_unit_test(test_filename_bytes),
      cmocka_unit_test(test_blob_sizes),
      cmocka_unit_test(test_bad_value),
      cmocka_unit_test(test_no_space),
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_strerror),
      cmocka_unit_test(test_check_name),
      cmocka_unit_test(test_check_room),
      cmocka_unit_test(test_check_filename),
      cmocka_unit_test(test_has_control),
      cmocka_unit_test(test_has_hidden),
      cmocka_unit_test(test_str_copy),
      cmocka_unit_test(test_str_c),
      cmocka_unit_test(test_status_name),
      cmocka_unit_test(test_file_data_head),
      cmocka_unit_test(test_file_data_peek_refuses),
  };
  return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
