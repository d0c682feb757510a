/* client_text.c: what the client lets through from the server. Text is
 * neutralised before it enters the model, so no face (the TUI, --batch, a
 * future one) ever sees an escape sequence, a bidi override or an invisible
 * character from a hostile or buggy server; names must follow the wire's
 * name rules or the frame is dropped. */
#include <string.h>

#include "client_int.h"

/* Length of the UTF-8 sequence led by byte c (1 for a stray byte). */
static size_t client_text_seqlen(unsigned char c) {
  return c < 0xC2 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Decodes the code point of the seq-byte sequence at s (valid UTF-8:
 * proto_decode checked it). */
static uint32_t client_text_cp(const unsigned char *s, size_t seq) {
  if (seq == 1)
    return s[0];
  uint32_t cp = s[0] & (seq == 2 ? 0x1F : seq == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < seq; k++)
    cp = cp << 6 | (s[k] & 0x3F);
  return cp;
}

/* True for the code points replaced in text from the server: C0 controls
 * but tab, DEL, C1, and the invisible formatting ones (proto_cp_hidden).
 * ZWJ/ZWNJ are judged with their neighbours by proto_has_control. */
static bool client_text_bad_cp(uint32_t cp) {
  return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F) ||
         proto_cp_hidden(cp);
}

/* Copies n bytes of UTF-8 text p into dst (capacity cap, at least 1) with
 * every control, bidi control or invisible character replaced by U+FFFD,
 * so what reaches a face can neither move the cursor nor reorder or hide
 * text. A ZWJ or ZWNJ stays only where proto_has_control accepts it (inside
 * an emoji sequence or a word). The copy is cut at a UTF-8 boundary when
 * dst is too small (3 * n + 1 always suffices). Returns the bytes written
 * (without the NUL). */
size_t client_text_clean(char *dst, size_t cap, const char *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  static const char repl[] = "\xEF\xBF\xBD"; /* U+FFFD */
  size_t o = 0, i = 0, prev = n; /* start of the previous character */
  while (i < n) {
    size_t seq = client_text_seqlen(s[i]);
    if (seq > n - i)
      seq = n - i;
    uint32_t cp = client_text_cp(s + i, seq);
    bool bad = client_text_bad_cp(cp);
    if (!bad && (cp == 0x200C || cp == 0x200D)) {
      /* A joiner stays only between two joinable characters: judge the
       * three of them as the server does (no neighbour: refused). */
      size_t b = i + seq;
      size_t bn = b < n ? client_text_seqlen(s[b]) : 0;
      if (bn > n - b)
        bn = n - b;
      bad = prev == n || bn == 0 || proto_has_control(p + prev, b + bn - prev);
    }
    const char *src = bad ? repl : p + i;
    size_t len = bad ? 3 : seq;
    if (o + len + 1 > cap)
      break;
    memcpy(dst + o, src, len);
    o += len;
    prev = i;
    i += seq;
  }
  dst[o] = '\0';
  return o;
}

/* proto_str form of client_text_clean(). */
size_t client_text_copy(char *dst, size_t cap, proto_str s) {
  return client_text_clean(dst, cap, s.p, s.n);
}

/* A user name from the server: empty when allowed, else the wire rule. */
static bool client_text_name_ok(proto_str s, bool empty_ok) {
  if (s.n == 0)
    return empty_ok;
  return proto_check_name(s.p, s.n) == 0;
}

/* A room name from the server. */
static bool client_text_room_ok(proto_str s, bool empty_ok) {
  if (s.n == 0)
    return empty_ok;
  return proto_check_room(s.p, s.n) == 0;
}

/* A message or history target: a room for kind TO_ROOM, else a user. */
static bool client_text_target_ok(uint8_t kind, proto_str s) {
  return kind == PROTO_TO_ROOM ? client_text_room_ok(s, false)
                               : client_text_name_ok(s, false);
}

/* Checks the user, room and server names a frame from the server carries
 * against the wire rules (PROTOCOL.md: names, rooms; a server name may not
 * hold control characters). Returns NULL when they are fine, else the name
 * of the first bad field: the caller drops the frame and says so. Text
 * fields are not checked here: client_text_clean() neutralises them. */
const char *client_text_check_frame(const proto_msg *m) {
  switch (m->type) {
  case PROTO_WELCOME:
    return proto_has_control(m->u.welcome.server_name.p,
                             m->u.welcome.server_name.n)
               ? "server name"
               : NULL;
  case PROTO_LOGIN_OK:
    return client_text_name_ok(m->u.login_ok.name, false) ? NULL : "name";
  case PROTO_MSG:
    if (!client_text_target_ok(m->u.msg.kind, m->u.msg.target))
      return "target";
    return client_text_name_ok(m->u.msg.from, false) ? NULL : "from";
  case PROTO_HISTORY_END:
    return client_text_target_ok(m->u.history_end.kind, m->u.history_end.target)
               ? NULL
               : "target";
  case PROTO_JOINED:
    return client_text_room_ok(m->u.joined.room, false) ? NULL : "room";
  case PROTO_PARTED:
    return client_text_room_ok(m->u.parted.room, false) ? NULL : "room";
  case PROTO_ROOM:
    return client_text_room_ok(m->u.room.room, false) ? NULL : "room";
  case PROTO_PRESENCE:
    if (!client_text_name_ok(m->u.presence.user, false))
      return "user";
    return client_text_name_ok(m->u.presence.talking_with, true)
               ? NULL
               : "talking_with";
  case PROTO_NOTICE:
    if (!client_text_room_ok(m->u.notice.room, true))
      return "room";
    if (!client_text_name_ok(m->u.notice.user, true))
      return "user";
    return client_text_name_ok(m->u.notice.actor, true) ? NULL : "actor";
  case PROTO_MEMBER:
    if (!client_text_room_ok(m->u.member.room, false))
      return "room";
    return client_text_name_ok(m->u.member.name, false) ? NULL : "name";
  case PROTO_MEMBERS_END:
    return client_text_room_ok(m->u.members_end.room, false) ? NULL : "room";
  default:
    return NULL;
  }
}
