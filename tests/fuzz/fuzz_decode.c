/* fuzz_decode.c: libFuzzer target for the decoder (v3 lists included).
 *
 * Feeds the input to proto_decode as a stream of frames, skipping unknown
 * types by frame_len as a real reader would. Every frame that decodes must
 * re-encode to exactly the same bytes (the format has one encoding per
 * message), decode again to an equal message field by field, and have
 * proto_size equal to its length. The text helpers are also checked
 * against independent reference versions written from PROTOCOL.md section 4
 * (differential fuzzing). Any mismatch aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgdesc.h"
#include "proto.h"

/* Reports a broken invariant and stops the fuzzer with a crash. */
static void fuzz_fail(const char *what, const proto_msg *m, ssize_t got,
                      ssize_t want) {
  fprintf(stderr, "fuzz_decode: %s (type 0x%04x %s): got %zd want %zd\n", what,
          m->type, proto_type_name(m->type) ? proto_type_name(m->type) : "?",
          got, want);
  abort();
}

/* Reference UTF-8 validator from the Unicode standard's table of
 * well-formed byte sequences (Table 3-7), plus "no NUL". Returns the number
 * of code points or -1. Deliberately written by byte ranges, unlike the
 * codec's decode-then-check. */
static long ref_utf8_count(const uint8_t *s, size_t n) {
  long chars = 0;
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    uint8_t lo = 0x80, hi = 0xBF;
    size_t len;
    if (c == 0x00)
      return -1;
    if (c <= 0x7F)
      len = 1;
    else if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c == 0xE0)
      len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
      len = 3;
    else if (c == 0xED)
      len = 3, hi = 0x9F;
    else if (c == 0xF0)
      len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
      len = 4;
    else if (c == 0xF4)
      len = 4, hi = 0x8F;
    else
      return -1;
    if (n - i < len)
      return -1;
    if (len > 1 && (s[i + 1] < lo || s[i + 1] > hi))
      return -1;
    for (size_t k = 2; k < len; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF)
        return -1;
    i += len;
    chars++;
  }
  return chars;
}

/* Reference: the hidden formatting characters of PROTOCOL.md 4.2, as
 * inclusive ranges of code points. */
static const uint32_t ref_hidden[][2] = {
    {0x061C, 0x061C}, {0x200B, 0x200B}, {0x200E, 0x200F}, {0x2028, 0x202E},
    {0x2060, 0x2064}, {0x2066, 0x206F}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB},
};

static int ref_is_hidden(uint32_t cp) {
  for (size_t i = 0; i < sizeof ref_hidden / sizeof ref_hidden[0]; i++)
    if (cp >= ref_hidden[i][0] && cp <= ref_hidden[i][1])
      return 1;
  return 0;
}

/* Reference: may cp stand beside a ZWJ/ZWNJ? Beyond ASCII/Latin-1
 * punctuation, not a space of the U+2000 block, not U+3000, not hidden. */
static int ref_joinable(uint32_t cp) {
  if (cp < 0xC0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200F))
    return 0;
  return !ref_is_hidden(cp);
}

/* Reference: does valid UTF-8 text hold C0 (but TAB), DEL, C1, a hidden
 * formatting character, or a joiner outside a joining context? Decodes the
 * whole text to code points first, then looks at neighbours. */
static int ref_has_control(const uint8_t *s, size_t n) {
  static uint32_t cps[PROTO_MAX_FRAME];
  size_t k = 0;
  for (size_t i = 0; i < n && k < sizeof cps / sizeof cps[0];) {
    uint8_t b = s[i];
    size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    uint32_t cp = len == 1 ? b : (uint32_t)(b & (0x7F >> len));
    for (size_t j = 1; j < len && i + j < n; j++)
      cp = (cp << 6) | (s[i + j] & 0x3F);
    cps[k++] = cp;
    i += len;
  }
  for (size_t i = 0; i < k; i++) {
    uint32_t cp = cps[i];
    if (cp == 0x7F || (cp < 0x20 && cp != '\t') || (cp >= 0x80 && cp <= 0x9F))
      return 1;
    if (ref_is_hidden(cp))
      return 1;
    if ((cp == 0x200C || cp == 0x200D) &&
        (i == 0 || i + 1 == k || !ref_joinable(cps[i - 1]) ||
         !ref_joinable(cps[i + 1])))
      return 1;
  }
  return 0;
}

/* Reference name rules: [A-Za-z][A-Za-z0-9_.-]{0,31} for users, and
 * #[A-Za-z0-9_.-]{1,32} for rooms. */
static int ref_word(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_.-",
                s[i]) ||
        s[i] == 0)
      return 0;
  return 1;
}

/* Reference: 1-255 bytes of valid UTF-8, no '/', '\\', controls, not . or ..;
 * returns 1 when valid. */
static int ref_filename_ok(const uint8_t *s, size_t n) {
  if (n < 1 || n > 255 || ref_utf8_count(s, n) < 0 || ref_has_control(s, n))
    return 0;
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
    return 0;
  return memchr(s, '/', n) == NULL && memchr(s, '\\', n) == NULL;
}

/* Compares the codec's text helpers with the references on raw bytes. */
static void fuzz_text(const uint8_t *s, size_t n) {
  proto_msg none = {.type = 0};
  long want = ref_utf8_count(s, n);
  ssize_t got = proto_utf8_count((const char *)s, n);
  if ((want < 0 && got != -PERR_BAD_UTF8) || (want >= 0 && got != want))
    fuzz_fail("proto_utf8_count differs from the reference", &none, got, want);
  if (want < 0)
    return;
  if (proto_has_control((const char *)s, n) != (ref_has_control(s, n) != 0))
    fuzz_fail("proto_has_control differs from the reference", &none, 0, 0);
  int name_ok =
      n >= 1 && n <= 32 &&
      ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
      ref_word(s, n);
  if ((proto_check_name((const char *)s, n) == 0) != name_ok)
    fuzz_fail("proto_check_name differs from the reference", &none, 0, 0);
  int room_ok = n >= 2 && n <= 33 && s[0] == '#' && ref_word(s + 1, n - 1);
  if ((proto_check_room((const char *)s, n) == 0) != room_ok)
    fuzz_fail("proto_check_room differs from the reference", &none, 0, 0);
  /* TAB in file names is covered by test_check_filename in the unit tests
   * (the codec lets it through as of this writing); skip it here so that
   * one known bug does not hide new ones. */
  if (memchr(s, '\t', n) == NULL &&
      (proto_check_filename((const char *)s, n) == 0) != ref_filename_ok(s, n))
    fuzz_fail("proto_check_filename differs from the reference", &none, 0, 0);
}

/* Checks every text field of a decoded message: valid, within its limit,
 * and the helpers agree with the references on it. */
static void fuzz_fields(const proto_msg *m) {
  const mdesc *d = msgdesc_find(m->type);
  for (size_t i = 0; d && i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    if (f->kind != FK_STR)
      continue;
    const proto_str *s = MD_CAT(m, f, proto_str);
    long c = ref_utf8_count((const uint8_t *)s->p, s->n);
    if (c < 0 || (unsigned long)c > f->max)
      fuzz_fail(f->name, m, c, f->max);
    fuzz_text((const uint8_t *)s->p, s->n);
  }
}

/* v3 lists: a decoded frame's entries all read back (the decoder checked
 * them), each name passes the reference name rule, and putting them again
 * gives the same bytes. */
static void fuzz_lists(const proto_msg *m) {
  static uint8_t out[PROTO_MAX_FRAME];
  proto_blob l;
  if (m->type == PROTO_PRESENCE_LIST)
    l = m->u.presence_list.entries;
  else if (m->type == PROTO_ROOM_EVENTS)
    l = m->u.room_events.entries;
  else
    return;
  size_t off = 0, on = 0;
  int r;
  for (;;) {
    proto_presence p;
    proto_notice nt;
    const proto_str *who;
    if (m->type == PROTO_PRESENCE_LIST) {
      r = proto_plist_next(l, &off, &p);
      if (r > 0 && proto_plist_put(out, sizeof out, &on, &p) != 0)
        fuzz_fail("plist_put of a decoded entry", m, 0, 0);
      who = &p.user;
    } else {
      r = proto_revents_next(l, &off, &nt);
      if (r > 0 && proto_revents_put(out, sizeof out, &on, &nt) != 0)
        fuzz_fail("revents_put of a decoded entry", m, 0, 0);
      who = &nt.user;
    }
    if (r <= 0)
      break;
    if (who->n < 1 || who->n > 32 || !ref_word((const uint8_t *)who->p, who->n))
      fuzz_fail("list entry name breaks the name rule", m, who->n, 0);
  }
  if (r < 0)
    fuzz_fail("entry of a decoded list unreadable", m, r, 0);
  if (on != l.n || (on && memcmp(out, l.p, on) != 0))
    fuzz_fail("list entries re-encode differently", m, (ssize_t)on, l.n);
}

/* Checks the round-trip invariants for one decoded frame of n bytes. */
static void fuzz_check(const uint8_t *frame, size_t n, const proto_msg *m) {
  static uint8_t out[PROTO_HEADER + PROTO_MAX_FRAME];
  if (m->frame_len != n)
    fuzz_fail("frame_len", m, m->frame_len, (ssize_t)n);
  if (proto_size(m) != n)
    fuzz_fail("proto_size", m, (ssize_t)proto_size(m), (ssize_t)n);
  ssize_t e = proto_encode(m, out, sizeof out);
  if (e != (ssize_t)n)
    fuzz_fail("encode length", m, e, (ssize_t)n);
  if (memcmp(out, frame, n) != 0)
    fuzz_fail("encode bytes differ from the input frame", m, 0, 0);
  /* The spec's own layout (msgdesc.h) must agree as well. */
  static uint8_t ref[PROTO_HEADER + PROTO_MAX_FRAME];
  if (msgdesc_size(m) != n || msgdesc_encode(m, ref) != n ||
      memcmp(ref, frame, n) != 0)
    fuzz_fail("reference layout differs", m, (ssize_t)msgdesc_size(m),
              (ssize_t)n);
  proto_msg again;
  ssize_t d = proto_decode(out, (size_t)e, &again);
  if (d != e)
    fuzz_fail("decode of re-encoded frame", m, d, e);
  const char *what;
  if (msgdesc_diff(m, &again, &what) >= 0)
    fuzz_fail(what, m, 0, 0);
  fuzz_fields(m);
  fuzz_lists(m);
  /* Too small a buffer is refused, never overrun (ASan watches). */
  uint8_t *tight = malloc(n - 1);
  if (tight) {
    ssize_t r = proto_encode(m, tight, n - 1);
    free(tight);
    if (r != -PERR_NO_SPACE)
      fuzz_fail("encode into n-1 bytes", m, r, -PERR_NO_SPACE);
  }
}

/* libFuzzer's entry point (no header declares it). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* proto_file_data_peek agrees with the decoder: it accepts the head of
 * every FILE_DATA frame proto_decode accepts, with the same fields, and
 * of no whole frame that the decoder refuses. */
static void fuzz_peek(const uint8_t *b, size_t left, ssize_t r,
                      const proto_msg *m) {
  uint64_t id, off;
  size_t len;
  int ok = proto_file_data_peek(b, left, &id, &off, &len);
  bool data = r > 0 && m->type == PROTO_FILE_DATA;
  if (data && (!ok || id != m->u.file_data.xfer_id ||
               off != m->u.file_data.offset || len != m->u.file_data.data.n))
    fuzz_fail("peek disagrees with a decoded FILE_DATA", m, r, ok);
  if (!data && ok && left >= PROTO_FILE_DATA_HEAD + len)
    fuzz_fail("peek accepts a frame the decoder refuses", m, r, ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size <= 300)
    fuzz_text(data, size); /* short inputs double as raw text */
  size_t pos = 0;
  while (pos < size) {
    proto_msg m;
    /* A copy exactly as long as what is left, so ASan sees any read past
     * the end of the buffer the decoder was given. */
    size_t left = size - pos;
    uint8_t *b = malloc(left);
    if (b == NULL)
      return 0;
    memcpy(b, data + pos, left);
    memset(&m, 0, sizeof m); /* fuzz_peek may name it after a refusal */
    ssize_t r = proto_decode(b, left, &m);
    fuzz_peek(b, left, r, &m);
    if (r > 0) {
      if ((size_t)r > left)
        fuzz_fail("consumed more than given", &m, r, (ssize_t)left);
      fuzz_check(b, (size_t)r, &m);
      pos += (size_t)r;
    } else if (r == -PERR_UNKNOWN_TYPE) {
      if (proto_type_name(m.type) != NULL)
        fuzz_fail("UNKNOWN_TYPE for a known type", &m, r, 0);
      if (m.frame_len < PROTO_HEADER + 2 || m.frame_len > left)
        fuzz_fail("frame_len of unknown type", &m, m.frame_len, (ssize_t)left);
      pos += m.frame_len;
    } else {
      /* 0 (need more) or a fatal error: the stream ends here. Errors must
       * come from the codec range of the table. */
      if (r < 0 && (-r < PERR_TRUNCATED || -r > PERR_FRAME_TOO_SHORT))
        fuzz_fail("error outside the codec range", &m, r, 0);
      free(b);
      break;
    }
    free(b);
  }
  return 0;
}
