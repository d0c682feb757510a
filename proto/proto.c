/* proto.c: table-driven encoder and decoder for parley wire protocol v3.
 *
 * Each body struct has a field table (kind, offset, limit) listing its
 * fields in declaration order; encode, decode and size walk the table, so a
 * message's layout is stated exactly once. */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "proto.h"

enum pf_kind {
  PF_END,
  PF_U8,
  PF_U16,
  PF_U32,
  PF_U64,
  PF_STR,
  PF_BSTR,
  PF_BLOB,
  PF_PLIST,  /* blob of PRESENCE_LIST entries, each checked */
  PF_REVENTS /* blob of ROOM_EVENTS entries, each checked */
};

/* One field: for PF_STR lim is the maximum in characters, for PF_BSTR (file
 * names) in bytes, for PF_BLOB the
 * maximum in bytes, for PF_U8 the largest allowed value (0: any). */
typedef struct pf {
  uint8_t kind;
  uint16_t off;
  uint32_t lim;
  uint32_t min; /* PF_BLOB: fewest bytes allowed (BAD_VALUE below it) */
} pf;

#define F(kind, st, field, lim)                                                \
  { PF_##kind, offsetof(st, field), (lim), 0 }
#define FB(st, field, min, lim)                                                \
  { PF_BLOB, offsetof(st, field), (lim), (min) }
#define END                                                                    \
  { PF_END, 0, 0, 0 }

static const pf proto_empty_fields[] = {END};
static const pf proto_hello_fields[] = {
    F(U16, proto_hello, version, 0),
    F(STR, proto_hello, agent, PROTO_MAX_AGENT), END};
static const pf proto_welcome_fields[] = {
    F(U16, proto_welcome, version, 0),
    F(STR, proto_welcome, agent, PROTO_MAX_AGENT),
    F(STR, proto_welcome, server_name, PROTO_MAX_AGENT),
    F(U16, proto_welcome, max_msg_chars, 0),
    F(U32, proto_welcome, max_frame, 0),
    F(U64, proto_welcome, max_file_size, 0),
    F(U16, proto_welcome, max_rooms, 0),
    F(U16, proto_welcome, history_len, 0),
    F(U8, proto_welcome, flags, 0),
    END};
static const pf proto_error_msg_fields[] = {
    F(U16, proto_error_msg, code, 0), F(U16, proto_error_msg, ref_type, 0),
    F(STR, proto_error_msg, subject, PROTO_MAX_FILENAME),
    F(STR, proto_error_msg, text, PROTO_MAX_ERRTEXT), END};
static const pf proto_ping_fields[] = {F(U64, proto_ping, token, 0), END};
static const pf proto_reason_fields[] = {
    F(STR, proto_reason, reason, PROTO_MAX_REASON), END};
static const pf proto_cred_fields[] = {
    F(STR, proto_cred, name, PROTO_MAX_NAME),
    F(STR, proto_cred, password, PROTO_MAX_PASSWORD), END};
static const pf proto_login_token_fields[] = {
    F(STR, proto_login_token, name, PROTO_MAX_NAME),
    FB(proto_login_token, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN), END};
static const pf proto_login_ok_fields[] = {
    F(STR, proto_login_ok, name, PROTO_MAX_NAME),
    F(U8, proto_login_ok, role, PROTO_ROLE_LAST),
    FB(proto_login_ok, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN),
    F(U64, proto_login_ok, token_expires, 0), END};
static const pf proto_logout_fields[] = {F(U8, proto_logout, revoke, 1), END};
static const pf proto_room_ref_fields[] = {
    F(STR, proto_room_ref, room, PROTO_MAX_ROOM), END};
static const pf proto_part_fields[] = {
    F(STR, proto_part, room, PROTO_MAX_ROOM),
    F(STR, proto_part, reason, PROTO_MAX_REASON), END};
static const pf proto_room_info_fields[] = {
    F(STR, proto_room_info, room, PROTO_MAX_ROOM),
    F(U32, proto_room_info, members, 0),
    F(STR, proto_room_info, topic, PROTO_MAX_TOPIC), END};
static const pf proto_count_fields[] = {F(U32, proto_count, count, 0), END};
static const pf proto_topic_fields[] = {
    F(STR, proto_topic, room, PROTO_MAX_ROOM),
    F(STR, proto_topic, topic, PROTO_MAX_TOPIC), END};
static const pf proto_member_fields[] = {
    F(STR, proto_member, room, PROTO_MAX_ROOM),
    F(STR, proto_member, name, PROTO_MAX_NAME), END};
static const pf proto_members_end_fields[] = {
    F(STR, proto_members_end, room, PROTO_MAX_ROOM),
    F(U32, proto_members_end, count, 0), END};
static const pf proto_say_fields[] = {
    F(U8, proto_say, kind, PROTO_TARGET_LAST),
    F(STR, proto_say, target, PROTO_MAX_ROOM),
    F(U8, proto_say, flags, PROTO_MSGF_ACTION),
    F(STR, proto_say, text, PROTO_MAX_TEXT), END};
static const pf proto_chat_fields[] = {
    F(U64, proto_chat, id, 0),
    F(U64, proto_chat, ts_ms, 0),
    F(U8, proto_chat, kind, PROTO_TARGET_LAST),
    F(STR, proto_chat, target, PROTO_MAX_ROOM),
    F(STR, proto_chat, from, PROTO_MAX_NAME),
    F(U8, proto_chat, flags, PROTO_MSGF_LAST),
    F(STR, proto_chat, text, PROTO_MAX_TEXT),
    END};
static const pf proto_history_req_fields[] = {
    F(U8, proto_history_req, kind, PROTO_TARGET_LAST),
    F(STR, proto_history_req, target, PROTO_MAX_ROOM),
    F(U16, proto_history_req, limit, 0),
    F(U64, proto_history_req, before_id, 0), END};
static const pf proto_history_end_fields[] = {
    F(U8, proto_history_end, kind, PROTO_TARGET_LAST),
    F(STR, proto_history_end, target, PROTO_MAX_ROOM),
    F(U32, proto_history_end, count, 0), END};
static const pf proto_user_ref_fields[] = {
    F(STR, proto_user_ref, user, PROTO_MAX_NAME), END};
static const pf proto_set_status_fields[] = {
    F(U8, proto_set_status, status, PROTO_BUSY),
    F(STR, proto_set_status, text, PROTO_MAX_STATUS), END};
static const pf proto_presence_fields[] = {
    F(STR, proto_presence, user, PROTO_MAX_NAME),
    F(U8, proto_presence, status, PROTO_STATUS_LAST),
    F(STR, proto_presence, text, PROTO_MAX_STATUS),
    F(STR, proto_presence, talking_with, PROTO_MAX_NAME),
    F(U32, proto_presence, idle_s, 0),
    F(U8, proto_presence, flags, 0x07),
    END};
static const pf proto_presence_list_fields[] = {
    F(U8, proto_presence_list, flags, PROTO_PRESF_LIST),
    F(PLIST, proto_presence_list, entries, PROTO_MAX_LIST), END};
static const pf proto_room_events_fields[] = {
    F(STR, proto_room_events, room, PROTO_MAX_ROOM),
    F(U64, proto_room_events, ts_ms, 0),
    F(REVENTS, proto_room_events, entries, PROTO_MAX_LIST), END};
static const pf proto_notice_fields[] = {
    F(U8, proto_notice, kind, PROTO_NOTICE_LAST),
    F(U64, proto_notice, ts_ms, 0),
    F(STR, proto_notice, room, PROTO_MAX_ROOM),
    F(STR, proto_notice, user, PROTO_MAX_NAME),
    F(STR, proto_notice, actor, PROTO_MAX_NAME),
    F(STR, proto_notice, text, PROTO_MAX_TEXT),
    END};
static const pf proto_kick_fields[] = {
    F(STR, proto_kick, user, PROTO_MAX_NAME),
    F(STR, proto_kick, reason, PROTO_MAX_REASON), END};
static const pf proto_ban_fields[] = {
    F(STR, proto_ban, user, PROTO_MAX_NAME), F(U32, proto_ban, duration_s, 0),
    F(STR, proto_ban, reason, PROTO_MAX_REASON), END};
static const pf proto_unban_fields[] = {
    F(STR, proto_unban, user, PROTO_MAX_NAME), END};
static const pf proto_ban_entry_fields[] = {
    F(STR, proto_ban_entry, user, PROTO_MAX_NAME),
    F(U64, proto_ban_entry, until_ms, 0),
    F(U64, proto_ban_entry, since_ms, 0),
    F(STR, proto_ban_entry, actor, PROTO_MAX_NAME),
    F(STR, proto_ban_entry, reason, PROTO_MAX_REASON),
    END};
static const pf proto_set_privacy_fields[] = {
    F(U8, proto_set_privacy, flags, PROTO_PRIVF_LAST), END};
static const pf proto_file_offer_fields[] = {
    F(U64, proto_file_offer, offer_id, 0),
    F(STR, proto_file_offer, peer, PROTO_MAX_NAME),
    F(BSTR, proto_file_offer, name, PROTO_MAX_FILENAME),
    F(U64, proto_file_offer, size, 0),
    FB(proto_file_offer, sha256, PROTO_HASH_LEN, PROTO_HASH_LEN),
    END};
static const pf proto_file_accept_fields[] = {
    F(U64, proto_file_accept, offer_id, 0),
    F(STR, proto_file_accept, peer, PROTO_MAX_NAME),
    F(U64, proto_file_accept, offset, 0), END};
static const pf proto_file_refuse_fields[] = {
    F(U64, proto_file_refuse, offer_id, 0),
    F(STR, proto_file_refuse, peer, PROTO_MAX_NAME),
    F(STR, proto_file_refuse, reason, PROTO_MAX_REASON), END};
static const pf proto_file_hint_fields[] = {
    F(U64, proto_file_hint, offer_id, 0),
    F(STR, proto_file_hint, peer, PROTO_MAX_NAME),
    F(STR, proto_file_hint, addr, PROTO_MAX_ADDR),
    F(U16, proto_file_hint, port, 0),
    FB(proto_file_hint, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN),
    END};
static const pf proto_file_pin_fields[] = {
    F(U64, proto_file_pin, offer_id, 0),
    F(STR, proto_file_pin, peer, PROTO_MAX_NAME),
    FB(proto_file_pin, key_sha256, PROTO_HASH_LEN, PROTO_HASH_LEN), END};
static const pf proto_file_relay_fields[] = {
    F(U64, proto_file_relay, offer_id, 0),
    F(STR, proto_file_relay, peer, PROTO_MAX_NAME),
    FB(proto_file_relay, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN), END};
static const pf proto_file_connect_fields[] = {
    F(U64, proto_file_connect, offer_id, 0),
    F(U8, proto_file_connect, side, PROTO_SIDE_LAST),
    FB(proto_file_connect, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN), END};
static const pf proto_file_limits_fields[] = {
    F(U64, proto_file_limits, max_file_size, 0),
    F(U16, proto_file_limits, max_transfers, 0),
    F(U16, proto_file_limits, offers_per_min, 0),
    F(U32, proto_file_limits, offer_ttl_s, 0),
    F(U16, proto_file_limits, max_relayed, 0),
    END};
static const pf proto_file_data_fields[] = {
    F(U64, proto_file_data, xfer_id, 0), F(U64, proto_file_data, offset, 0),
    FB(proto_file_data, data, 1, PROTO_MAX_CHUNK), END};
static const pf proto_file_ack_fields[] = {
    F(U64, proto_file_ack, xfer_id, 0), F(U64, proto_file_ack, offset, 0), END};
static const pf proto_file_done_fields[] = {
    F(U64, proto_file_done, xfer_id, 0),
    FB(proto_file_done, sha256, PROTO_HASH_LEN, PROTO_HASH_LEN), END};
static const pf proto_folder_entry_fields[] = {
    F(BSTR, proto_folder_entry, name, PROTO_MAX_FILENAME),
    F(U64, proto_folder_entry, size, 0),
    F(U64, proto_folder_entry, mtime, 0),
    F(STR, proto_folder_entry, owner, PROTO_MAX_NAME),
    FB(proto_folder_entry, sha256, PROTO_HASH_LEN, PROTO_HASH_LEN),
    END};
static const pf proto_upload_req_fields[] = {
    F(U64, proto_upload_req, xfer_id, 0),
    F(BSTR, proto_upload_req, name, PROTO_MAX_FILENAME),
    F(U64, proto_upload_req, size, 0),
    FB(proto_upload_req, sha256, PROTO_HASH_LEN, PROTO_HASH_LEN),
    F(U8, proto_upload_req, flags, PROTO_UPF_LAST),
    END};
static const pf proto_upload_ready_fields[] = {
    F(U64, proto_upload_ready, xfer_id, 0),
    F(U64, proto_upload_ready, offset, 0),
    FB(proto_upload_ready, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN), END};
static const pf proto_download_req_fields[] = {
    F(U64, proto_download_req, xfer_id, 0),
    F(BSTR, proto_download_req, name, PROTO_MAX_FILENAME),
    F(U64, proto_download_req, offset, 0), END};
static const pf proto_download_start_fields[] = {
    F(U64, proto_download_start, xfer_id, 0),
    F(BSTR, proto_download_start, name, PROTO_MAX_FILENAME),
    F(U64, proto_download_start, size, 0),
    F(U64, proto_download_start, offset, 0),
    FB(proto_download_start, sha256, PROTO_HASH_LEN, PROTO_HASH_LEN),
    FB(proto_download_start, token, PROTO_TOKEN_LEN, PROTO_TOKEN_LEN),
    END};
static const pf proto_rename_fields[] = {
    F(BSTR, proto_rename, from, PROTO_MAX_FILENAME),
    F(BSTR, proto_rename, to, PROTO_MAX_FILENAME),
    F(U8, proto_rename, flags, PROTO_UPF_OVERWRITE), END};
static const pf proto_file_ref_fields[] = {
    F(BSTR, proto_file_ref, name, PROTO_MAX_FILENAME), END};
static const pf proto_folder_ok_fields[] = {
    F(U16, proto_folder_ok, op, 0),
    F(BSTR, proto_folder_ok, name, PROTO_MAX_FILENAME), END};
static const pf proto_discover_fields[] = {
    F(U16, proto_discover, version, 0), F(U64, proto_discover, nonce, 0), END};
static const pf proto_announce_fields[] = {
    F(U16, proto_announce, version, 0),
    F(U64, proto_announce, nonce, 0),
    F(STR, proto_announce, server_name, PROTO_MAX_AGENT),
    F(STR, proto_announce, addr, PROTO_MAX_ADDR),
    F(U16, proto_announce, port, 0),
    F(U32, proto_announce, users, 0),
    END};

#undef F
#undef END

typedef struct ptype {
  const char *name;
  const pf *fields;
} ptype;

/* Returns the name and field table of a message type, or NULL. */
static const ptype *ptype_find(uint16_t type) {
  switch (type) {
#define PROTO_TYPE_CASE(nm, num, member, body)                                 \
  case num: {                                                                  \
    static const ptype t = {#nm, body##_fields};                               \
    return &t;                                                                 \
  }
    PROTO_TYPES(PROTO_TYPE_CASE)
#undef PROTO_TYPE_CASE
  default:
    return NULL;
  }
}

const char *proto_type_name(uint16_t type) {
  const ptype *t = ptype_find(type);
  return t ? t->name : NULL;
}

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static uint64_t rd64(const uint8_t *p) {
  return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void wr64(uint8_t *p, uint64_t v) {
  wr32(p, (uint32_t)(v >> 32));
  wr32(p + 4, (uint32_t)v);
}

/* Checks one text field against its rules: UTF-8 and a limit in
 * characters (in bytes when lim_bytes). Returns 0 or a negative PERR_*. */
static int check_str(const char *p, size_t n, uint32_t lim_chars,
                     bool lim_bytes) {
  if (n > (size_t)lim_chars * (lim_bytes ? 1 : 4))
    return -PERR_FIELD_TOO_LONG;
  ssize_t chars = proto_utf8_count(p, n);
  if (chars < 0)
    return (int)chars;
  if ((size_t)chars > lim_chars)
    return -PERR_FIELD_TOO_LONG;
  return 0;
}

static int list_check(uint8_t kind, proto_blob b);

/* Size of a body, or a negative error if a field breaks its limit. */
static ssize_t body_size(const pf *f, const void *body) {
  const char *b = body;
  size_t n = 0;
  for (; f->kind != PF_END; f++) {
    switch (f->kind) {
    case PF_U8: {
      uint8_t v = *(const uint8_t *)(b + f->off);
      if (f->lim && v > f->lim)
        return -PERR_BAD_VALUE;
      n += 1;
      break;
    }
    case PF_U16:
      n += 2;
      break;
    case PF_U32:
      n += 4;
      break;
    case PF_U64:
      n += 8;
      break;
    case PF_STR:
    case PF_BSTR: {
      const proto_str *s = (const proto_str *)(b + f->off);
      int rc = check_str(s->p, s->n, f->lim, f->kind == PF_BSTR);
      if (rc < 0)
        return rc;
      n += 2 + s->n;
      break;
    }
    case PF_BLOB:
    case PF_PLIST:
    case PF_REVENTS: {
      const proto_blob *s = (const proto_blob *)(b + f->off);
      if (s->n > f->lim)
        return -PERR_FIELD_TOO_LONG;
      if (s->n < f->min)
        return -PERR_BAD_VALUE;
      int rc = list_check(f->kind, *s);
      if (rc < 0)
        return rc;
      n += 2 + s->n;
      break;
    }
    }
  }
  return (ssize_t)n;
}

size_t proto_size(const proto_msg *m) {
  const ptype *t = ptype_find(m->type);
  if (!t)
    return 0;
  ssize_t n = body_size(t->fields, &m->u);
  return n < 0 ? 0 : PROTO_HEADER + 2 + (size_t)n;
}

/* Length prefix, type, xfer_id, offset and the blob's length: the layout
 * of proto_file_data_fields, checked against proto_encode by the tests. */
void proto_file_data_head(uint8_t *dst, uint64_t xfer_id, uint64_t offset,
                          size_t n) {
  assert(n >= 1 && n <= PROTO_MAX_CHUNK); /* the decoder's limits */
  wr32(dst, (uint32_t)(PROTO_FILE_DATA_HEAD - PROTO_HEADER + n));
  wr16(dst + 4, PROTO_FILE_DATA);
  wr64(dst + 6, xfer_id);
  wr64(dst + 14, offset);
  wr16(dst + 22, (uint16_t)n);
}

int proto_file_data_peek(const uint8_t *p, size_t n, uint64_t *xfer_id,
                         uint64_t *offset, size_t *len) {
  if (n < PROTO_FILE_DATA_HEAD || rd16(p + 4) != PROTO_FILE_DATA)
    return 0;
  size_t dn = rd16(p + 22);
  if (dn < 1 || dn > PROTO_MAX_CHUNK ||
      rd32(p) != PROTO_FILE_DATA_HEAD - PROTO_HEADER + dn)
    return 0;
  *xfer_id = rd64(p + 6);
  *offset = rd64(p + 14);
  *len = dn;
  return 1;
}

ssize_t proto_encode(const proto_msg *m, uint8_t *buf, size_t cap) {
  const ptype *t = ptype_find(m->type);
  if (!t)
    return -PERR_UNKNOWN_TYPE;
  ssize_t body = body_size(t->fields, &m->u);
  if (body < 0)
    return body;
  size_t len = 2 + (size_t)body; /* what the length prefix counts */
  if (len > PROTO_MAX_FRAME)
    return -PERR_FRAME_TOO_BIG;
  if (cap < PROTO_HEADER + len)
    return -PERR_NO_SPACE;
  wr32(buf, (uint32_t)len);
  wr16(buf + 4, m->type);
  uint8_t *p = buf + 6;
  const char *b = (const char *)&m->u;
  for (const pf *f = t->fields; f->kind != PF_END; f++) {
    switch (f->kind) {
    case PF_U8:
      *p++ = *(const uint8_t *)(b + f->off);
      break;
    case PF_U16:
      wr16(p, *(const uint16_t *)(b + f->off));
      p += 2;
      break;
    case PF_U32:
      wr32(p, *(const uint32_t *)(b + f->off));
      p += 4;
      break;
    case PF_U64:
      wr64(p, *(const uint64_t *)(b + f->off));
      p += 8;
      break;
    case PF_STR:
    case PF_BSTR: {
      const proto_str *s = (const proto_str *)(b + f->off);
      wr16(p, s->n);
      if (s->n)
        memcpy(p + 2, s->p, s->n);
      p += 2 + s->n;
      break;
    }
    case PF_BLOB:
    case PF_PLIST:
    case PF_REVENTS: {
      const proto_blob *s = (const proto_blob *)(b + f->off);
      wr16(p, s->n);
      if (s->n)
        memcpy(p + 2, s->p, s->n);
      p += 2 + s->n;
      break;
    }
    }
  }
  return (ssize_t)(PROTO_HEADER + len);
}

ssize_t proto_decode(const uint8_t *buf, size_t len, proto_msg *m) {
  if (len < PROTO_HEADER)
    return 0;
  uint32_t flen = rd32(buf);
  if (flen > PROTO_MAX_FRAME)
    return -PERR_FRAME_TOO_BIG;
  if (flen < 2)
    return -PERR_FRAME_TOO_SHORT;
  if (len < PROTO_HEADER + (size_t)flen)
    return 0;
  memset(m, 0, sizeof *m);
  m->type = rd16(buf + PROTO_HEADER);
  m->frame_len = PROTO_HEADER + flen;
  const ptype *t = ptype_find(m->type);
  if (!t)
    return -PERR_UNKNOWN_TYPE;

  const uint8_t *p = buf + PROTO_HEADER + 2;
  const uint8_t *end = buf + PROTO_HEADER + flen;
  char *b = (char *)&m->u;
  for (const pf *f = t->fields; f->kind != PF_END; f++) {
    size_t left = (size_t)(end - p);
    switch (f->kind) {
    case PF_U8:
      if (left < 1)
        return -PERR_TRUNCATED;
      if (f->lim && *p > f->lim)
        return -PERR_BAD_VALUE;
      *(uint8_t *)(b + f->off) = *p;
      p += 1;
      break;
    case PF_U16:
      if (left < 2)
        return -PERR_TRUNCATED;
      *(uint16_t *)(b + f->off) = rd16(p);
      p += 2;
      break;
    case PF_U32:
      if (left < 4)
        return -PERR_TRUNCATED;
      *(uint32_t *)(b + f->off) = rd32(p);
      p += 4;
      break;
    case PF_U64:
      if (left < 8)
        return -PERR_TRUNCATED;
      *(uint64_t *)(b + f->off) = rd64(p);
      p += 8;
      break;
    case PF_STR:
    case PF_BSTR:
    case PF_BLOB:
    case PF_PLIST:
    case PF_REVENTS: {
      if (left < 2)
        return -PERR_TRUNCATED;
      uint16_t n = rd16(p);
      if (left - 2 < n)
        return -PERR_TRUNCATED;
      if (f->kind == PF_STR || f->kind == PF_BSTR) {
        int rc = check_str((const char *)p + 2, n, f->lim, f->kind == PF_BSTR);
        if (rc < 0)
          return rc;
        proto_str *s = (proto_str *)(b + f->off);
        s->p = n ? (const char *)p + 2 : "";
        s->n = n;
      } else {
        if (n > f->lim)
          return -PERR_FIELD_TOO_LONG;
        if (n < f->min)
          return -PERR_BAD_VALUE;
        proto_blob *s = (proto_blob *)(b + f->off);
        s->p = n ? p + 2 : NULL;
        s->n = n;
        int rc = list_check(f->kind, *s);
        if (rc < 0)
          return rc;
      }
      p += 2 + n;
      break;
    }
    }
  }
  if (p != end)
    return -PERR_TRAILING;
  return (ssize_t)m->frame_len;
}

/* ---- v3 compact lists ---------------------------------------------------
 * Entries are packed back to back in a blob; each reader checks exactly
 * what the field tables check for the same field in PRESENCE or NOTICE. */

/* Reads a name of u8 length at p (left bytes): must be a valid user name
 * (or empty when may_empty). Returns the bytes used or a negative error. */
static ssize_t list_name(const uint8_t *p, size_t left, bool may_empty,
                         proto_str *out) {
  if (left < 1)
    return -PERR_TRUNCATED;
  size_t n = p[0];
  if (left - 1 < n)
    return -PERR_TRUNCATED;
  if (n == 0 && may_empty) {
    *out = (proto_str){"", 0};
    return 1;
  }
  if (n > PROTO_MAX_NAME)
    return -PERR_FIELD_TOO_LONG;
  if (proto_check_name((const char *)p + 1, n) < 0)
    return -PERR_BAD_VALUE;
  *out = (proto_str){(const char *)p + 1, (uint16_t)n};
  return (ssize_t)(1 + n);
}

/* Reads a text of u16 length at p: UTF-8 of at most lim characters. */
static ssize_t list_text(const uint8_t *p, size_t left, uint32_t lim,
                         proto_str *out) {
  if (left < 2)
    return -PERR_TRUNCATED;
  uint16_t n = rd16(p);
  if (left - 2 < n)
    return -PERR_TRUNCATED;
  int rc = check_str((const char *)p + 2, n, lim, false);
  if (rc < 0)
    return rc;
  *out = (proto_str){n ? (const char *)p + 2 : "", n};
  return 2 + (ssize_t)n;
}

int proto_plist_next(proto_blob list, size_t *off, proto_presence *p) {
  if (*off >= list.n)
    return 0;
  const uint8_t *q = list.p + *off, *end = list.p + list.n;
  memset(p, 0, sizeof *p);
  uint8_t head = *q++;
  if (head > PROTO_PLE_LAST)
    return -PERR_BAD_VALUE;
  p->status = head & PROTO_PLE_STATUS;
  p->flags = (uint8_t)((head & PROTO_PLE_ADMIN ? PROTO_PRESF_ADMIN : 0) |
                       (head & PROTO_PLE_SELF ? PROTO_PRESF_SELF : 0));
  ssize_t k = list_name(q, (size_t)(end - q), false, &p->user);
  if (k < 0)
    return (int)k;
  q += k;
  p->text = p->talking_with = (proto_str){"", 0};
  if (head & PROTO_PLE_TEXT) {
    k = list_text(q, (size_t)(end - q), PROTO_MAX_STATUS, &p->text);
    if (k < 0)
      return (int)k;
    if (p->text.n == 0) /* one encoding per entry: no text, no TEXT */
      return -PERR_BAD_VALUE;
    q += k;
  }
  if (head & PROTO_PLE_TALKING) {
    k = list_name(q, (size_t)(end - q), false, &p->talking_with);
    if (k < 0)
      return (int)k;
    q += k;
  }
  if (head & PROTO_PLE_IDLE) {
    /* LEB128: 7 bits a byte, low first, at most 5 bytes, shortest form
     * only (one encoding per value), 1..UINT32_MAX (0 is "no IDLE"). */
    uint64_t v = 0;
    for (int i = 0;; i++) {
      if (q == end)
        return -PERR_TRUNCATED;
      uint8_t c = *q++;
      v |= (uint64_t)(c & 0x7F) << (7 * i);
      if (!(c & 0x80)) {
        if ((c == 0 && i > 0) || v == 0 || v > UINT32_MAX)
          return -PERR_BAD_VALUE;
        break;
      }
      if (i == 4)
        return -PERR_BAD_VALUE;
    }
    p->idle_s = (uint32_t)v;
  }
  *off = (size_t)(q - list.p);
  return 1;
}

int proto_plist_put(uint8_t *buf, size_t cap, size_t *off,
                    const proto_presence *p) {
  if (p->status > PROTO_STATUS_LAST)
    return -PERR_BAD_VALUE;
  if (p->user.n > PROTO_MAX_NAME || p->talking_with.n > PROTO_MAX_NAME)
    return -PERR_FIELD_TOO_LONG;
  if (proto_check_name(p->user.p, p->user.n) < 0 ||
      (p->talking_with.n &&
       proto_check_name(p->talking_with.p, p->talking_with.n) < 0))
    return -PERR_BAD_VALUE;
  int rc = check_str(p->text.p, p->text.n, PROTO_MAX_STATUS, false);
  if (rc < 0)
    return rc;
  uint8_t head =
      (uint8_t)(p->status |
                (p->flags & PROTO_PRESF_ADMIN ? PROTO_PLE_ADMIN : 0) |
                (p->flags & PROTO_PRESF_SELF ? PROTO_PLE_SELF : 0) |
                (p->text.n ? PROTO_PLE_TEXT : 0) |
                (p->talking_with.n ? PROTO_PLE_TALKING : 0) |
                (p->idle_s ? PROTO_PLE_IDLE : 0));
  size_t vlen = 0; /* LEB128 bytes of idle_s */
  for (uint32_t v = p->idle_s; v != 0; v >>= 7)
    vlen++;
  size_t need = 2 + p->user.n + (p->text.n ? 2u + p->text.n : 0) +
                (p->talking_with.n ? 1u + p->talking_with.n : 0) + vlen;
  if (*off > cap || cap - *off < need)
    return -PERR_NO_SPACE;
  uint8_t *q = buf + *off;
  *q++ = head;
  *q++ = (uint8_t)p->user.n;
  memcpy(q, p->user.p, p->user.n);
  q += p->user.n;
  if (p->text.n) {
    wr16(q, p->text.n);
    memcpy(q + 2, p->text.p, p->text.n);
    q += 2 + p->text.n;
  }
  if (p->talking_with.n) {
    *q++ = (uint8_t)p->talking_with.n;
    memcpy(q, p->talking_with.p, p->talking_with.n);
    q += p->talking_with.n;
  }
  for (uint32_t v = p->idle_s; v != 0; v >>= 7)
    *q++ = (uint8_t)((v & 0x7F) | (v >> 7 ? 0x80 : 0));
  *off += need;
  return 0;
}

/* True for the notice kinds a ROOM_EVENTS entry may carry. */
static bool revents_kind_ok(uint8_t k) {
  return k >= PROTO_NOTICE_JOINED && k <= PROTO_NOTICE_BANNED;
}

int proto_revents_next(proto_blob list, size_t *off, proto_notice *n) {
  if (*off >= list.n)
    return 0;
  const uint8_t *q = list.p + *off, *end = list.p + list.n;
  memset(n, 0, sizeof *n);
  n->room = (proto_str){"", 0};
  n->kind = *q++;
  if (!revents_kind_ok(n->kind))
    return -PERR_BAD_VALUE;
  ssize_t k = list_name(q, (size_t)(end - q), false, &n->user);
  if (k < 0)
    return (int)k;
  q += k;
  k = list_name(q, (size_t)(end - q), true, &n->actor);
  if (k < 0)
    return (int)k;
  q += k;
  k = list_text(q, (size_t)(end - q), PROTO_MAX_REASON, &n->text);
  if (k < 0)
    return (int)k;
  q += k;
  *off = (size_t)(q - list.p);
  return 1;
}

int proto_revents_put(uint8_t *buf, size_t cap, size_t *off,
                      const proto_notice *n) {
  if (!revents_kind_ok(n->kind))
    return -PERR_BAD_VALUE;
  if (n->user.n > PROTO_MAX_NAME || n->actor.n > PROTO_MAX_NAME)
    return -PERR_FIELD_TOO_LONG;
  if (proto_check_name(n->user.p, n->user.n) < 0 ||
      (n->actor.n && proto_check_name(n->actor.p, n->actor.n) < 0))
    return -PERR_BAD_VALUE;
  int rc = check_str(n->text.p, n->text.n, PROTO_MAX_REASON, false);
  if (rc < 0)
    return rc;
  size_t need = 1 + 1 + n->user.n + 1 + n->actor.n + 2 + n->text.n;
  if (*off > cap || cap - *off < need)
    return -PERR_NO_SPACE;
  uint8_t *q = buf + *off;
  *q++ = n->kind;
  *q++ = (uint8_t)n->user.n;
  memcpy(q, n->user.p, n->user.n);
  q += n->user.n;
  *q++ = (uint8_t)n->actor.n;
  if (n->actor.n)
    memcpy(q, n->actor.p, n->actor.n);
  q += n->actor.n;
  wr16(q, n->text.n);
  if (n->text.n)
    memcpy(q + 2, n->text.p, n->text.n);
  *off += need;
  return 0;
}

/* Walks a list blob of the given field kind; 0 when every entry is valid
 * and the last one ends exactly at the end, else the first entry's error.
 * Plain blobs pass. */
static int list_check(uint8_t kind, proto_blob b) {
  if (kind != PF_PLIST && kind != PF_REVENTS)
    return 0;
  size_t off = 0;
  int rc;
  do {
    if (kind == PF_PLIST) {
      proto_presence p;
      rc = proto_plist_next(b, &off, &p);
    } else {
      proto_notice n;
      rc = proto_revents_next(b, &off, &n);
    }
  } while (rc > 0);
  return rc;
}
