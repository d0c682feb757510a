/* msgdesc.h: an independent description of every message body (v1, and what
 * v2 adds), for the
 * tests, the fuzz target and the corpus generator.
 *
 * Written from proto.h and PROTOCOL.md, not from the codec, so that the
 * tests check the codec against the spec instead of against itself: a
 * reference encoder (msgdesc_encode), a filler that gives every field a
 * non-trivial valid value, and a field-by-field comparison. */
#ifndef PARLEY_TESTS_MSGDESC_H
#define PARLEY_TESTS_MSGDESC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

enum fk { /* field kind on the wire */
          FK_END = 0,
          FK_U8,
          FK_U16,
          FK_U32,
          FK_U64,
          FK_STR,
          FK_BLOB,
};

enum fs { /* what a field means, to choose a valid value for it */
          FS_NONE = 0,
          FS_ENUM,    /* u8 enum: 0..max */
          FS_FLAGS,   /* u8 flag bits: any subset of max */
          FS_FLAGSX,  /* u8 flag bits, unknown bits ignored by the receiver */
          FS_AGENT,   /* software name */
          FS_SNAME,   /* server name */
          FS_NAME,    /* user name */
          FS_ROOM,    /* room name */
          FS_TARGET,  /* room or user */
          FS_TEXT,    /* message text */
          FS_PASS,    /* password */
          FS_SHORT,   /* reason, topic, away text, error text/subject */
          FS_FILE,    /* file name, limit in bytes */
          FS_ADDR,    /* textual address */
          FS_EXACT,   /* blob of exactly max bytes */
          FS_DATA,    /* FILE_DATA payload: 1..max bytes */
          FS_TYPE,    /* u16 message type number */
          FS_PLIST,   /* v3: PRESENCE_LIST entries (msgdesc_plist) */
          FS_REVENTS, /* v3: ROOM_EVENTS entries (msgdesc_revents) */
};

/* v3 list samples, written byte by byte from PROTOCOL.md 6.5 and 6.6. */
/* PRESENCE_LIST: alice AWAY, operator, away text, talking with Bob_2.x,
 * idle 0x12345 s (LEB128 c5 c6 04); c-3po ONLINE, SELF; Bob_2.x OFFLINE. */
static const uint8_t msgdesc_plist[] = "\x75\x05"
                                       "alice"
                                       "\x00\x11"
                                       "gone fishing \xf0\x9f\x8e\xa3"
                                       "\x07"
                                       "Bob_2.x"
                                       "\xc5\xc6\x04"
                                       "\x08\x05"
                                       "c-3po"
                                       "\x03\x07"
                                       "Bob_2.x";
/* ROOM_EVENTS: alice JOINED; Bob_2.x LEFT "bye ✓"; c-3po KICKED by alice
 * "spam". */
static const uint8_t msgdesc_revents[] = "\x01\x05"
                                         "alice"
                                         "\x00\x00\x00"
                                         "\x02\x07"
                                         "Bob_2.x"
                                         "\x00\x00\x07"
                                         "bye \xe2\x9c\x93"
                                         "\x04\x05"
                                         "c-3po"
                                         "\x05"
                                         "alice"
                                         "\x00\x04"
                                         "spam";

typedef struct fdesc {
  uint8_t kind; /* enum fk */
  uint8_t sem;  /* enum fs */
  uint16_t off; /* offsetof(proto_msg, u.member.field) */
  uint32_t max; /* str: limit; blob: size; enum: last value; flags: mask */
  const char *name;
} fdesc;

typedef struct mdesc {
  uint16_t type;
  const char *name;
  fdesc f[10];
} mdesc;

#define MD_OFF(m, fl) ((uint16_t)offsetof(proto_msg, u.m.fl))
#define F_U8(m, fl)                                                            \
  { FK_U8, FS_NONE, MD_OFF(m, fl), 0xff, #fl }
#define F_EN(m, fl, last)                                                      \
  { FK_U8, FS_ENUM, MD_OFF(m, fl), (last), #fl }
#define F_FL(m, fl, mask)                                                      \
  { FK_U8, FS_FLAGS, MD_OFF(m, fl), (mask), #fl }
#define F_FLX(m, fl, mask)                                                     \
  { FK_U8, FS_FLAGSX, MD_OFF(m, fl), (mask), #fl }
#define F_U16(m, fl)                                                           \
  { FK_U16, FS_NONE, MD_OFF(m, fl), 0, #fl }
#define F_TY(m, fl)                                                            \
  { FK_U16, FS_TYPE, MD_OFF(m, fl), 0, #fl }
#define F_U32(m, fl)                                                           \
  { FK_U32, FS_NONE, MD_OFF(m, fl), 0, #fl }
#define F_U64(m, fl)                                                           \
  { FK_U64, FS_NONE, MD_OFF(m, fl), 0, #fl }
#define F_S(m, fl, sem, lim)                                                   \
  { FK_STR, (sem), MD_OFF(m, fl), (lim), #fl }
#define F_B(m, fl, sem, lim)                                                   \
  { FK_BLOB, (sem), MD_OFF(m, fl), (lim), #fl }

#define AGENT(m, fl) F_S(m, fl, FS_AGENT, PROTO_MAX_AGENT)
#define NAME(m, fl) F_S(m, fl, FS_NAME, PROTO_MAX_NAME)
#define ROOM(m, fl) F_S(m, fl, FS_ROOM, PROTO_MAX_ROOM)
#define TARGET(m, fl) F_S(m, fl, FS_TARGET, PROTO_MAX_ROOM)
#define TEXT(m, fl) F_S(m, fl, FS_TEXT, PROTO_MAX_TEXT)
#define REASON(m, fl) F_S(m, fl, FS_SHORT, PROTO_MAX_REASON)
#define TOPIC(m, fl) F_S(m, fl, FS_SHORT, PROTO_MAX_TOPIC)
#define FNAME(m, fl) F_S(m, fl, FS_FILE, PROTO_MAX_FILENAME)
#define TOKEN(m, fl) F_B(m, fl, FS_EXACT, PROTO_TOKEN_LEN)
#define HASH(m, fl) F_B(m, fl, FS_EXACT, PROTO_HASH_LEN)
#define NOTHING                                                                \
  { FK_END, 0, 0, 0, NULL }

/* Every message type, fields in struct declaration order (= wire order). */
static const mdesc msgdesc_table[] = {
    {PROTO_HELLO, "HELLO", {F_U16(hello, version), AGENT(hello, agent)}},
    {PROTO_WELCOME,
     "WELCOME",
     {F_U16(welcome, version), AGENT(welcome, agent),
      F_S(welcome, server_name, FS_SNAME, PROTO_MAX_AGENT),
      F_U16(welcome, max_msg_chars), F_U32(welcome, max_frame),
      F_U64(welcome, max_file_size), F_U16(welcome, max_rooms),
      F_U16(welcome, history_len),
      F_FLX(welcome, flags, PROTO_WELCOMEF_REGISTER | PROTO_WELCOMEF_TLS)}},
    {PROTO_ERROR,
     "ERROR",
     {F_U16(error, code), F_TY(error, ref_type),
      F_S(error, subject, FS_SHORT, PROTO_MAX_FILENAME),
      F_S(error, text, FS_SHORT, PROTO_MAX_ERRTEXT)}},
    {PROTO_PING, "PING", {F_U64(ping, token)}},
    {PROTO_PONG, "PONG", {F_U64(pong, token)}},
    {PROTO_BYE, "BYE", {REASON(bye, reason)}},
    {PROTO_REGISTER,
     "REGISTER",
     {NAME(reg, name), F_S(reg, password, FS_PASS, PROTO_MAX_PASSWORD)}},
    {PROTO_LOGIN,
     "LOGIN",
     {NAME(login, name), F_S(login, password, FS_PASS, PROTO_MAX_PASSWORD)}},
    {PROTO_LOGIN_TOKEN,
     "LOGIN_TOKEN",
     {NAME(login_token, name), TOKEN(login_token, token)}},
    {PROTO_LOGIN_OK,
     "LOGIN_OK",
     {NAME(login_ok, name), F_EN(login_ok, role, PROTO_ROLE_LAST),
      TOKEN(login_ok, token), F_U64(login_ok, token_expires)}},
    {PROTO_LOGOUT, "LOGOUT", {F_EN(logout, revoke, 1)}},
    {PROTO_JOIN, "JOIN", {ROOM(join, room)}},
    {PROTO_PART, "PART", {ROOM(part, room), REASON(part, reason)}},
    {PROTO_ROOMS_REQ, "ROOMS_REQ", {NOTHING}},
    {PROTO_ROOM,
     "ROOM",
     {ROOM(room, room), F_U32(room, members), TOPIC(room, topic)}},
    {PROTO_ROOMS_END, "ROOMS_END", {F_U32(rooms_end, count)}},
    {PROTO_TOPIC, "TOPIC", {ROOM(topic, room), TOPIC(topic, topic)}},
    {PROTO_JOINED,
     "JOINED",
     {ROOM(joined, room), F_U32(joined, members), TOPIC(joined, topic)}},
    {PROTO_PARTED, "PARTED", {ROOM(parted, room)}},
    {PROTO_MEMBERS_REQ, "MEMBERS_REQ", {ROOM(members_req, room)}},
    {PROTO_MEMBER, "MEMBER", {ROOM(member, room), NAME(member, name)}},
    {PROTO_MEMBERS_END,
     "MEMBERS_END",
     {ROOM(members_end, room), F_U32(members_end, count)}},
    {PROTO_SAY,
     "SAY",
     {F_EN(say, kind, PROTO_TARGET_LAST), TARGET(say, target),
      F_FL(say, flags, PROTO_MSGF_ACTION), TEXT(say, text)}},
    {PROTO_MSG,
     "MSG",
     {F_U64(msg, id), F_U64(msg, ts_ms), F_EN(msg, kind, PROTO_TARGET_LAST),
      TARGET(msg, target), NAME(msg, from),
      F_FL(msg, flags, PROTO_MSGF_ACTION | PROTO_MSGF_BACKLOG),
      TEXT(msg, text)}},
    {PROTO_HISTORY_REQ,
     "HISTORY_REQ",
     {F_EN(history_req, kind, PROTO_TARGET_LAST), TARGET(history_req, target),
      F_U16(history_req, limit), F_U64(history_req, before_id)}},
    {PROTO_HISTORY_END,
     "HISTORY_END",
     {F_EN(history_end, kind, PROTO_TARGET_LAST), TARGET(history_end, target),
      F_U32(history_end, count)}},
    {PROTO_QUERY_OPEN, "QUERY_OPEN", {NAME(query_open, user)}},
    {PROTO_QUERY_CLOSE, "QUERY_CLOSE", {NAME(query_close, user)}},
    {PROTO_SET_STATUS,
     "SET_STATUS",
     {F_EN(set_status, status, PROTO_BUSY), /* OFFLINE is not settable */
      F_S(set_status, text, FS_SHORT, PROTO_MAX_STATUS)}},
    {PROTO_PRESENCE,
     "PRESENCE",
     {NAME(presence, user), F_EN(presence, status, PROTO_STATUS_LAST),
      F_S(presence, text, FS_SHORT, PROTO_MAX_STATUS),
      NAME(presence, talking_with), F_U32(presence, idle_s),
      F_FL(presence, flags,
           PROTO_PRESF_ADMIN | PROTO_PRESF_LIST | PROTO_PRESF_SELF)}},
    {PROTO_WHO_REQ, "WHO_REQ", {NOTHING}},
    {PROTO_WHO_END, "WHO_END", {F_U32(who_end, count)}},
    {PROTO_SET_PRIVACY,
     "SET_PRIVACY",
     {F_FL(set_privacy, flags, PROTO_PRIVF_HIDE_TALKING)}},
    {PROTO_PRESENCE_LIST,
     "PRESENCE_LIST",
     {F_FL(presence_list, flags, PROTO_PRESF_LIST),
      F_B(presence_list, entries, FS_PLIST, PROTO_MAX_LIST)}},
    {PROTO_ROOM_EVENTS,
     "ROOM_EVENTS",
     {ROOM(room_events, room), F_U64(room_events, ts_ms),
      F_B(room_events, entries, FS_REVENTS, PROTO_MAX_LIST)}},
    {PROTO_NOTICE,
     "NOTICE",
     {F_EN(notice, kind, PROTO_NOTICE_LAST), F_U64(notice, ts_ms),
      ROOM(notice, room), NAME(notice, user), NAME(notice, actor),
      TEXT(notice, text)}},
    {PROTO_KICK, "KICK", {NAME(kick, user), REASON(kick, reason)}},
    {PROTO_BAN,
     "BAN",
     {NAME(ban, user), F_U32(ban, duration_s), REASON(ban, reason)}},
    {PROTO_UNBAN, "UNBAN", {NAME(unban, user)}},
    {PROTO_BANS_REQ, "BANS_REQ", {NOTHING}},
    {PROTO_BAN_ENTRY,
     "BAN_ENTRY",
     {NAME(ban_entry, user), F_U64(ban_entry, until_ms),
      F_U64(ban_entry, since_ms), NAME(ban_entry, actor),
      REASON(ban_entry, reason)}},
    {PROTO_BANS_END, "BANS_END", {F_U32(bans_end, count)}},
    {PROTO_FILE_OFFER,
     "FILE_OFFER",
     {F_U64(file_offer, offer_id), NAME(file_offer, peer),
      FNAME(file_offer, name), F_U64(file_offer, size),
      HASH(file_offer, sha256)}},
    {PROTO_FILE_ACCEPT,
     "FILE_ACCEPT",
     {F_U64(file_accept, offer_id), NAME(file_accept, peer),
      F_U64(file_accept, offset)}},
    {PROTO_FILE_REJECT,
     "FILE_REJECT",
     {F_U64(file_reject, offer_id), NAME(file_reject, peer),
      REASON(file_reject, reason)}},
    {PROTO_FILE_CANCEL,
     "FILE_CANCEL",
     {F_U64(file_cancel, offer_id), NAME(file_cancel, peer),
      REASON(file_cancel, reason)}},
    {PROTO_FILE_HINT,
     "FILE_HINT",
     {F_U64(file_hint, offer_id), NAME(file_hint, peer),
      F_S(file_hint, addr, FS_ADDR, PROTO_MAX_ADDR), F_U16(file_hint, port),
      TOKEN(file_hint, token)}},
    {PROTO_FILE_RELAY,
     "FILE_RELAY",
     {F_U64(file_relay, offer_id), NAME(file_relay, peer),
      TOKEN(file_relay, token)}},
    {PROTO_FILE_CONNECT,
     "FILE_CONNECT",
     {F_U64(file_connect, offer_id), F_EN(file_connect, side, PROTO_SIDE_LAST),
      TOKEN(file_connect, token)}},
    {PROTO_FILE_LIMITS,
     "FILE_LIMITS",
     {F_U64(file_limits, max_file_size), F_U16(file_limits, max_transfers),
      F_U16(file_limits, offers_per_min), F_U32(file_limits, offer_ttl_s),
      F_U16(file_limits, max_relayed)}},
    {PROTO_FILE_PIN,
     "FILE_PIN",
     {F_U64(file_pin, offer_id), NAME(file_pin, peer),
      HASH(file_pin, key_sha256)}},
    {PROTO_FILE_DATA,
     "FILE_DATA",
     {F_U64(file_data, xfer_id), F_U64(file_data, offset),
      F_B(file_data, data, FS_DATA, PROTO_MAX_CHUNK)}},
    {PROTO_FILE_ACK,
     "FILE_ACK",
     {F_U64(file_ack, xfer_id), F_U64(file_ack, offset)}},
    {PROTO_FILE_DONE,
     "FILE_DONE",
     {F_U64(file_done, xfer_id), HASH(file_done, sha256)}},
    {PROTO_FOLDER_LIST_REQ, "FOLDER_LIST_REQ", {NOTHING}},
    {PROTO_FOLDER_ENTRY,
     "FOLDER_ENTRY",
     {FNAME(folder_entry, name), F_U64(folder_entry, size),
      F_U64(folder_entry, mtime), NAME(folder_entry, owner),
      HASH(folder_entry, sha256)}},
    {PROTO_FOLDER_END, "FOLDER_END", {F_U32(folder_end, count)}},
    {PROTO_UPLOAD_REQ,
     "UPLOAD_REQ",
     {F_U64(upload_req, xfer_id), FNAME(upload_req, name),
      F_U64(upload_req, size), HASH(upload_req, sha256),
      F_FL(upload_req, flags, PROTO_UPF_OVERWRITE | PROTO_UPF_RESUME)}},
    {PROTO_UPLOAD_READY,
     "UPLOAD_READY",
     {F_U64(upload_ready, xfer_id), F_U64(upload_ready, offset),
      TOKEN(upload_ready, token)}},
    {PROTO_DOWNLOAD_REQ,
     "DOWNLOAD_REQ",
     {F_U64(download_req, xfer_id), FNAME(download_req, name),
      F_U64(download_req, offset)}},
    {PROTO_DOWNLOAD_START,
     "DOWNLOAD_START",
     {F_U64(download_start, xfer_id), FNAME(download_start, name),
      F_U64(download_start, size), F_U64(download_start, offset),
      HASH(download_start, sha256), TOKEN(download_start, token)}},
    {PROTO_RENAME_REQ,
     "RENAME_REQ",
     {FNAME(rename_req, from), FNAME(rename_req, to),
      F_FL(rename_req, flags, PROTO_UPF_OVERWRITE)}},
    {PROTO_DELETE_REQ, "DELETE_REQ", {FNAME(delete_req, name)}},
    {PROTO_FOLDER_OK,
     "FOLDER_OK",
     {F_TY(folder_ok, op), FNAME(folder_ok, name)}},
    {PROTO_DISCOVER,
     "DISCOVER",
     {F_U16(discover, version), F_U64(discover, nonce)}},
    {PROTO_ANNOUNCE,
     "ANNOUNCE",
     {F_U16(announce, version), F_U64(announce, nonce),
      F_S(announce, server_name, FS_SNAME, PROTO_MAX_AGENT),
      F_S(announce, addr, FS_ADDR, PROTO_MAX_ADDR), F_U16(announce, port),
      F_U32(announce, users)}},
};

#define MSGDESC_COUNT (sizeof msgdesc_table / sizeof msgdesc_table[0])

/* Returns the description of a type, or NULL when v1 has no such type. */
static inline const mdesc *msgdesc_find(uint16_t type) {
  for (size_t i = 0; i < MSGDESC_COUNT; i++)
    if (msgdesc_table[i].type == type)
      return &msgdesc_table[i];
  return NULL;
}

/* Returns the number of fields of a description. */
static inline size_t msgdesc_nfields(const mdesc *d) {
  size_t n = 0;
  while (n < 10 && d->f[n].kind != FK_END)
    n++;
  return n;
}

/* Field accessors: the descriptor gives the byte offset into proto_msg. */
#define MD_AT(m, fd, T) ((T *)(void *)((char *)(m) + (fd)->off))
#define MD_CAT(m, fd, T)                                                       \
  ((const T *)(const void *)((const char *)(m) + (fd)->off))

/* Valid sample strings, chosen to be multibyte where the field allows it. */
static inline const char *msgdesc_sample_str(uint8_t sem, unsigned salt) {
  static const char *const names[] = {"alice", "Bob_2.x", "c-3po"};
  static const char *const rooms[] = {"#lobby", "#dev.ops", "#r_2-b"};
  switch (sem) {
  case FS_AGENT:
    return salt & 1 ? "parleyd/0.1 (für dich)" : "parley/0.1 ✓";
  case FS_SNAME:
    return "Büro-Server ☕";
  case FS_NAME:
    return names[salt % 3];
  case FS_ROOM:
    return rooms[salt % 3];
  case FS_TARGET:
    return salt & 1 ? "Bob_2.x" : "#dev.ops";
  case FS_TEXT:
    return "héllo wörld — ✓ 𝄞 \t日本語";
  case FS_PASS:
    return "correct horse ßtäple";
  case FS_SHORT:
    return salt & 1 ? "gone fishing 🎣" : "reason: spam & eggs";
  case FS_FILE:
    return salt & 1 ? "report 2026 ✓.txt" : "Ärger.tar.gz";
  case FS_ADDR:
    return salt & 1 ? "fe80::1" : "192.168.1.20";
  }
  return "x";
}

/* Fills *m with a valid message of the given type where every field has a
 * distinct non-trivial value. Blob bytes live in pool (>= PROTO_MAX_CHUNK).
 * Returns 0, or -1 for an unknown type. */
static inline int msgdesc_fill(proto_msg *m, uint16_t type, uint8_t *pool,
                               unsigned salt) {
  const mdesc *d = msgdesc_find(type);
  if (d == NULL)
    return -1;
  memset(m, 0, sizeof *m);
  m->type = type;
  for (size_t i = 0; i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    unsigned s = salt + (unsigned)i;
    switch (f->kind) {
    case FK_U8:
      if (f->sem == FS_ENUM)
        *MD_AT(m, f, uint8_t) = (uint8_t)(f->max ? 1 + s % f->max : 0);
      else if (f->sem == FS_FLAGS || f->sem == FS_FLAGSX)
        *MD_AT(m, f, uint8_t) = (uint8_t)f->max;
      else
        *MD_AT(m, f, uint8_t) = (uint8_t)(0xA5 + s);
      break;
    case FK_U16:
      *MD_AT(m, f, uint16_t) =
          f->sem == FS_TYPE ? PROTO_UPLOAD_REQ : (uint16_t)(0xB1C2 + s);
      break;
    case FK_U32:
      *MD_AT(m, f, uint32_t) = 0xD1E2F304u + s;
      break;
    case FK_U64:
      *MD_AT(m, f, uint64_t) =
          0x0102030405060708ull * (s + 1) + 0x8000000000000000ull;
      break;
    case FK_STR:
      *MD_AT(m, f, proto_str) = proto_str_c(msgdesc_sample_str(f->sem, s));
      break;
    case FK_BLOB: {
      if (f->sem == FS_PLIST || f->sem == FS_REVENTS) {
        const uint8_t *l = f->sem == FS_PLIST ? msgdesc_plist : msgdesc_revents;
        size_t ln = f->sem == FS_PLIST ? sizeof msgdesc_plist - 1
                                       : sizeof msgdesc_revents - 1;
        memcpy(pool, l, ln);
        *MD_AT(m, f, proto_blob) = (proto_blob){pool, (uint16_t)ln};
        pool += ln;
        break;
      }
      uint16_t n = f->sem == FS_DATA ? 1000 : (uint16_t)f->max;
      for (uint16_t k = 0; k < n; k++)
        pool[k] = (uint8_t)(k * 7 + s);
      *MD_AT(m, f, proto_blob) = (proto_blob){pool, n};
      pool += n;
      break;
    }
    }
  }
  return 0;
}

/* Writes a big-endian integer of w bytes. */
static inline uint8_t *msgdesc_put(uint8_t *p, uint64_t v, int w) {
  for (int k = w - 1; k >= 0; k--)
    *p++ = (uint8_t)(v >> (8 * k));
  return p;
}

/* Reference encoder straight from the spec: no validation at all, so tests
 * can also build frames the real encoder refuses. Returns the frame size;
 * buf must hold msgdesc_size() bytes. */
static inline size_t msgdesc_encode(const proto_msg *m, uint8_t *buf) {
  const mdesc *d = msgdesc_find(m->type);
  uint8_t *p = buf + 4;
  p = msgdesc_put(p, m->type, 2);
  for (size_t i = 0; d && i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    switch (f->kind) {
    case FK_U8:
      p = msgdesc_put(p, *MD_CAT(m, f, uint8_t), 1);
      break;
    case FK_U16:
      p = msgdesc_put(p, *MD_CAT(m, f, uint16_t), 2);
      break;
    case FK_U32:
      p = msgdesc_put(p, *MD_CAT(m, f, uint32_t), 4);
      break;
    case FK_U64:
      p = msgdesc_put(p, *MD_CAT(m, f, uint64_t), 8);
      break;
    case FK_STR: {
      const proto_str *s = MD_CAT(m, f, proto_str);
      p = msgdesc_put(p, s->n, 2);
      if (s->n)
        memcpy(p, s->p, s->n);
      p += s->n;
      break;
    }
    case FK_BLOB: {
      const proto_blob *b = MD_CAT(m, f, proto_blob);
      p = msgdesc_put(p, b->n, 2);
      if (b->n)
        memcpy(p, b->p, b->n);
      p += b->n;
      break;
    }
    }
  }
  size_t len = (size_t)(p - buf);
  msgdesc_put(buf, len - 4, 4);
  return len;
}

/* Returns the size msgdesc_encode() will produce. */
static inline size_t msgdesc_size(const proto_msg *m) {
  const mdesc *d = msgdesc_find(m->type);
  size_t n = 6;
  for (size_t i = 0; d && i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    switch (f->kind) {
    case FK_U8:
      n += 1;
      break;
    case FK_U16:
      n += 2;
      break;
    case FK_U32:
      n += 4;
      break;
    case FK_U64:
      n += 8;
      break;
    case FK_STR:
      n += 2 + MD_CAT(m, f, proto_str)->n;
      break;
    case FK_BLOB:
      n += 2 + MD_CAT(m, f, proto_blob)->n;
      break;
    }
  }
  return n;
}

/* Compares two messages field by field. Returns -1 when equal, else the
 * index of the first differing field (the type counts as field 0 when the
 * types differ, with *what set to "type"). */
static inline int msgdesc_diff(const proto_msg *a, const proto_msg *b,
                               const char **what) {
  *what = "type";
  if (a->type != b->type)
    return 0;
  const mdesc *d = msgdesc_find(a->type);
  for (size_t i = 0; d && i < msgdesc_nfields(d); i++) {
    const fdesc *f = &d->f[i];
    int same = 1;
    switch (f->kind) {
    case FK_U8:
      same = *MD_CAT(a, f, uint8_t) == *MD_CAT(b, f, uint8_t);
      break;
    case FK_U16:
      same = *MD_CAT(a, f, uint16_t) == *MD_CAT(b, f, uint16_t);
      break;
    case FK_U32:
      same = *MD_CAT(a, f, uint32_t) == *MD_CAT(b, f, uint32_t);
      break;
    case FK_U64:
      same = *MD_CAT(a, f, uint64_t) == *MD_CAT(b, f, uint64_t);
      break;
    case FK_STR: {
      const proto_str *x = MD_CAT(a, f, proto_str),
                      *y = MD_CAT(b, f, proto_str);
      same = x->n == y->n && (x->n == 0 || memcmp(x->p, y->p, x->n) == 0);
      break;
    }
    case FK_BLOB: {
      const proto_blob *x = MD_CAT(a, f, proto_blob);
      const proto_blob *y = MD_CAT(b, f, proto_blob);
      same = x->n == y->n && (x->n == 0 || memcmp(x->p, y->p, x->n) == 0);
      break;
    }
    }
    if (!same) {
      *what = f->name;
      return (int)i;
    }
  }
  return -1;
}

#endif
