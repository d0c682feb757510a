/* text.c: the wire's text rules: UTF-8 validity, control characters, and
 * what user, room and file names may contain. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

size_t proto_str_copy(char *dst, size_t cap, proto_str s) {
  if (cap == 0)
    return 0;
  size_t n = s.n < cap - 1 ? s.n : cap - 1;
  if (n < s.n) /* cut: never in the middle of a UTF-8 sequence */
    while (n > 0 && ((unsigned char)s.p[n] & 0xC0) == 0x80)
      n--;
  memcpy(dst, s.p, n);
  dst[n] = '\0';
  return n;
}

char *proto_str_dup(proto_str s) {
  char *d = malloc((size_t)s.n + 1);
  if (d != NULL) {
    memcpy(d, s.p, s.n);
    d[s.n] = '\0';
  }
  return d;
}

proto_str proto_str_c(const char *s) {
  proto_str r = {"", 0};
  if (s) {
    size_t n = strlen(s);
    r.p = s;
    r.n = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
  }
  return r;
}

ssize_t proto_utf8_count(const char *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i = 0;
  ssize_t chars = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    uint32_t cp;
    if (c == 0)
      return -PERR_BAD_UTF8; /* NUL would cut C strings short */
    if (c < 0x80) {
      i++;
      chars++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return -PERR_BAD_UTF8; /* continuation byte, overlong lead, > F4 */
    }
    if (n - i < len)
      return -PERR_BAD_UTF8;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return -PERR_BAD_UTF8;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return -PERR_BAD_UTF8; /* overlong, out of range or surrogate */
    i += len;
    chars++;
  }
  return chars;
}

/* Decodes the code point at s[*i] (valid UTF-8 assumed; a stray byte is
 * returned as itself) and advances *i past it. */
static uint32_t text_next_cp(const unsigned char *s, size_t n, size_t *i) {
  unsigned c = s[*i];
  size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (c < 0xC2 || *i + len > n) { /* ASCII, or not a lead byte */
    (*i)++;
    return c;
  }
  uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; k++)
    cp = cp << 6 | (s[*i + k] & 0x3F);
  *i += len;
  return cp;
}

bool proto_cp_hidden(uint32_t cp) {
  return cp == 0x061C ||                   /* ARABIC LETTER MARK */
         cp == 0x200B ||                   /* ZERO WIDTH SPACE */
         cp == 0x200E || cp == 0x200F ||   /* LRM, RLM */
         (cp >= 0x2028 && cp <= 0x202E) || /* LS, PS, LRE RLE PDF LRO RLO */
         (cp >= 0x2060 && cp <= 0x2064) || /* WORD JOINER, invisible ops */
         (cp >= 0x2066 && cp <= 0x2069) || /* LRI RLI FSI PDI */
         (cp >= 0x206A && cp <= 0x206F) || /* deprecated format controls */
         cp == 0xFEFF ||                   /* ZERO WIDTH NO-BREAK SPACE */
         (cp >= 0xFFF9 && cp <= 0xFFFB);   /* interlinear annotation */
}

/* True for code points that may sit on either side of a joiner (ZWJ,
 * ZWNJ): letters and symbols beyond ASCII, not spaces or the hidden. */
static bool text_joinable(uint32_t cp) {
  return cp >= 0x00C0 && cp != 0x200B && cp != 0x3000 &&
         !(cp >= 0x2000 && cp <= 0x200F) && !proto_cp_hidden(cp);
}

/* One table for the status names (enum proto_status order), so the server
 * console, the client and the UI cannot drift apart. */
const char *proto_status_name(uint8_t status) {
  static const char *const names[] = {"online", "away", "busy", "offline"};
  return status <= PROTO_STATUS_LAST ? names[status] : "?";
}

bool proto_has_control(const char *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  uint32_t prev = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t cp = text_next_cp(s, n, &i);
    if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F))
      return true; /* C0 but tab, DEL, C1 */
    if (proto_cp_hidden(cp))
      return true; /* bidi controls, zero-width, line separators */
    if (cp == 0x200C || cp == 0x200D) { /* ZWNJ, ZWJ: only joining */
      size_t j = i;
      uint32_t next = j < n ? text_next_cp(s, n, &j) : 0;
      if (!text_joinable(prev) || !text_joinable(next))
        return true;
    }
    prev = cp;
  }
  return false;
}

void proto_fold(char *dst, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    dst[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
  dst[n] = '\0';
}

/* True for the characters names and rooms may hold after the first. */
static bool name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int proto_check_name(const char *p, size_t n) {
  if (n < 1 || n > PROTO_MAX_NAME)
    return -PERR_BAD_NAME;
  unsigned char c0 = (unsigned char)p[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z')))
    return -PERR_BAD_NAME;
  for (size_t i = 1; i < n; i++)
    if (!name_char((unsigned char)p[i]))
      return -PERR_BAD_NAME;
  return 0;
}

int proto_check_room(const char *p, size_t n) {
  if (n < 2 || n > PROTO_MAX_ROOM || p[0] != '#')
    return -PERR_BAD_ROOM;
  for (size_t i = 1; i < n; i++)
    if (!name_char((unsigned char)p[i]))
      return -PERR_BAD_ROOM;
  return 0;
}

int proto_check_filename(const char *p, size_t n) {
  if (n < 1 || n > PROTO_MAX_FILENAME)
    return -PERR_BAD_FILENAME;
  /* proto_has_control lets TAB through (chat text may hold it); names not. */
  if (proto_utf8_count(p, n) < 0 || proto_has_control(p, n) ||
      memchr(p, '\t', n) != NULL)
    return -PERR_BAD_FILENAME;
  if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
    return -PERR_BAD_FILENAME;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '/' || p[i] == '\\')
      return -PERR_BAD_FILENAME;
  return 0;
}
