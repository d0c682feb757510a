/* proto.h: parley wire protocol v3, the one header for the format.
 *
 * Pure codec: bytes in, bytes out. Nothing here touches a socket, a file or
 * the event loop, so every function can be unit-tested and fuzzed directly.
 * proto/PROTOCOL.md is the specification; this header must agree with it.
 *
 * BUMP PROTO_VERSION WHENEVER ANYTHING ON THE WIRE CHANGES (a type, a field,
 * a field's order or limit, an error number), and update PROTOCOL.md.
 *
 * Frame:  u32 length (big-endian, counts the bytes after itself)
 *         u16 type   (big-endian)
 *         fields     (in the order of the message's table, no padding)
 * Fields: u8/u16/u32/u64 big-endian; str = u16 byte length + UTF-8 bytes
 *         (no NUL, limit counted in characters); blob = u16 length + bytes.
 */
#ifndef PARLEY_PROTO_H
#define PARLEY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errors.h"

#define PROTO_VERSION 3     /* the version this code speaks */
#define PROTO_VERSION_MIN 1 /* the oldest version it still accepts */

/* Frame limits. */
#define PROTO_HEADER 4          /* the u32 length prefix */
#define PROTO_MAX_FRAME 65536   /* max value of the length prefix */
#define PROTO_MAX_CHUNK 32768   /* max bytes in one FILE_DATA frame */
#define PROTO_MAX_DATAGRAM 1024 /* max discovery datagram */

/* Field limits, in characters (Unicode code points) unless said otherwise. */
#define PROTO_MAX_NAME 32           /* user name: [A-Za-z][A-Za-z0-9_.-]* */
#define PROTO_MAX_ROOM 33           /* '#' + 1..32 of [A-Za-z0-9_.-] */
#define PROTO_MAX_TEXT 4000         /* hard cap on message text */
#define PROTO_DEFAULT_MSG_CHARS 280 /* default server limit (WELCOME says) */
#define PROTO_MAX_PASSWORD 256
#define PROTO_MIN_PASSWORD 8
#define PROTO_MAX_STATUS 120 /* away message */
#define PROTO_MAX_TOPIC 200
#define PROTO_MAX_REASON 200
#define PROTO_MAX_ERRTEXT 300
#define PROTO_MAX_AGENT 64     /* client and server software names */
#define PROTO_MAX_ADDR 64      /* textual IP address */
#define PROTO_MAX_FILENAME 255 /* bytes, and a valid file name */
#define PROTO_TOKEN_LEN 32     /* session and transfer tokens, bytes */
#define PROTO_HASH_LEN 32      /* SHA-256 digest, bytes */

/* A string field. On decode it points into the caller's input buffer (not
 * NUL-terminated, valid while that buffer is); on encode it points anywhere. */
typedef struct proto_str {
  const char *p;
  uint16_t n; /* bytes */
} proto_str;

/* A blob field: raw bytes, same lifetime rules as proto_str. */
typedef struct proto_blob {
  const uint8_t *p;
  uint16_t n;
} proto_blob;

/* Enumerations carried in u8 fields; the decoder rejects values past the
 * last one with PERR_BAD_VALUE. */
enum proto_status { /* presence */
                    PROTO_ONLINE = 0,
                    PROTO_AWAY = 1,
                    PROTO_BUSY = 2,
                    PROTO_OFFLINE = 3,
};
#define PROTO_STATUS_LAST PROTO_OFFLINE

enum proto_target { /* where a message goes */
                    PROTO_TO_ROOM = 0,
                    PROTO_TO_USER = 1,
};
#define PROTO_TARGET_LAST PROTO_TO_USER

enum proto_role {
  PROTO_ROLE_USER = 0,
  PROTO_ROLE_ADMIN = 1,
};
#define PROTO_ROLE_LAST PROTO_ROLE_ADMIN

enum proto_notice_kind {
  PROTO_NOTICE_SERVER = 0,   /* operator/server announcement ("say") */
  PROTO_NOTICE_JOINED = 1,   /* user joined room */
  PROTO_NOTICE_LEFT = 2,     /* user parted room */
  PROTO_NOTICE_QUIT = 3,     /* user disconnected */
  PROTO_NOTICE_KICKED = 4,   /* user kicked (from the server) by actor */
  PROTO_NOTICE_BANNED = 5,   /* user banned by actor */
  PROTO_NOTICE_TOPIC = 6,    /* actor set room topic to text */
  PROTO_NOTICE_MOTD = 7,     /* v2: the server's message of the day (text) */
  PROTO_NOTICE_UNBANNED = 8, /* v2: actor lifted user's ban */
};
#define PROTO_NOTICE_LAST PROTO_NOTICE_UNBANNED

/* Flag bits. */
#define PROTO_MSGF_ACTION 0x01       /* /me */
#define PROTO_MSGF_BACKLOG 0x02      /* sent from history, not live */
#define PROTO_WELCOMEF_REGISTER 0x01 /* self-registration open */
#define PROTO_WELCOMEF_TLS 0x02      /* reserved: TLS available */
#define PROTO_PRESF_ADMIN 0x01       /* user is an operator */
#define PROTO_PRESF_LIST 0x02        /* part of a WHO reply, not a change */
#define PROTO_PRESF_SELF 0x04        /* this entry is the receiver */
#define PROTO_PRIVF_HIDE_TALKING                                               \
  0x01 /* SET_PRIVACY: do not publish whom I                                   \
          am talking with */
#define PROTO_PRIVF_LAST 0x01
#define PROTO_UPF_OVERWRITE 0x01     /* replace an existing file */
#define PROTO_UPF_RESUME 0x02        /* continue a partial upload */
#define PROTO_MSGF_LAST 0x03
#define PROTO_UPF_LAST 0x03

/* v3 compact lists. A PRESENCE_LIST entry starts with a head byte: the
 * status in the low two bits, then these flags saying which optional
 * fields follow the name (PROTOCOL.md 6.5). */
#define PROTO_PLE_STATUS 0x03  /* mask: enum proto_status */
#define PROTO_PLE_ADMIN 0x04   /* an operator */
#define PROTO_PLE_SELF 0x08    /* the receiver's own entry */
#define PROTO_PLE_TEXT 0x10    /* u16 + away text follows */
#define PROTO_PLE_TALKING 0x20 /* u8 + talking_with name follows */
#define PROTO_PLE_IDLE 0x40    /* LEB128 idle_s follows (absent: 0) */
#define PROTO_PLE_LAST 0x7F    /* bit 7 is reserved: BAD_VALUE */
#define PROTO_MAX_LIST 65000   /* bytes of entries in one list frame */

/* ---- message bodies ---------------------------------------------------- */

typedef struct proto_empty {
  uint8_t unused_;
} proto_empty;

typedef struct proto_hello { /* C->S first frame */
  uint16_t version;
  proto_str agent; /* client software, e.g. "parley/0.1" */
} proto_hello;

typedef struct proto_welcome { /* S->C answer to HELLO */
  uint16_t version;
  proto_str agent;        /* server software */
  proto_str server_name;  /* operator-chosen name */
  uint16_t max_msg_chars; /* message text limit in characters */
  uint32_t max_frame;
  uint64_t max_file_size;
  uint16_t max_rooms;   /* rooms one user may be in */
  uint16_t history_len; /* backlog messages per conversation */
  uint8_t flags;        /* PROTO_WELCOMEF_* */
} proto_welcome;

typedef struct proto_error_msg { /* S->C */
  uint16_t code;                 /* enum proto_error, positive */
  uint16_t ref_type; /* type of the request that failed, 0 if none */
  proto_str subject; /* what it is about: a user, room, file; or "" */
  proto_str text;    /* human-readable detail */
} proto_error_msg;

typedef struct proto_ping { /* PING and PONG, either direction */
  uint64_t token;
} proto_ping;

typedef struct proto_reason { /* BYE */
  proto_str reason;
} proto_reason;

typedef struct proto_cred { /* REGISTER, LOGIN */
  proto_str name;
  proto_str password;
} proto_cred;

typedef struct proto_login_token {
  proto_str name;
  proto_blob token; /* exactly PROTO_TOKEN_LEN bytes */
} proto_login_token;

typedef struct proto_login_ok {
  proto_str name;         /* canonical spelling */
  uint8_t role;           /* enum proto_role */
  proto_blob token;       /* new session token, PROTO_TOKEN_LEN bytes */
  uint64_t token_expires; /* unix seconds */
} proto_login_ok;

typedef struct proto_logout {
  uint8_t revoke; /* 1: invalidate the session token too */
} proto_logout;

typedef struct proto_room_ref { /* JOIN, PARTED, MEMBERS_REQ */
  proto_str room;
} proto_room_ref;

typedef struct proto_part {
  proto_str room;
  proto_str reason;
} proto_part;

typedef struct proto_room_info { /* ROOM, JOINED */
  proto_str room;
  uint32_t members;
  proto_str topic;
} proto_room_info;

typedef struct proto_count { /* *_END */
  uint32_t count;
} proto_count;

typedef struct proto_topic {
  proto_str room;
  proto_str topic;
} proto_topic;

typedef struct proto_member {
  proto_str room;
  proto_str name;
} proto_member;

typedef struct proto_members_end {
  proto_str room;
  uint32_t count;
} proto_members_end;

typedef struct proto_say { /* C->S */
  uint8_t kind;            /* enum proto_target */
  proto_str target;        /* room or user */
  uint8_t flags;           /* PROTO_MSGF_ACTION */
  proto_str text;
} proto_say;

typedef struct proto_chat { /* S->C MSG */
  uint64_t id;              /* server-wide increasing message id */
  uint64_t ts_ms;           /* unix milliseconds, server clock */
  uint8_t kind;             /* enum proto_target */
  proto_str target;         /* room; or, for a direct message, the recipient */
  proto_str from;
  uint8_t flags; /* PROTO_MSGF_* */
  proto_str text;
} proto_chat;

typedef struct proto_history_req {
  uint8_t kind;
  proto_str target;
  uint16_t limit;     /* 0: the server's default */
  uint64_t before_id; /* 0: the newest */
} proto_history_req;

typedef struct proto_history_end {
  uint8_t kind;
  proto_str target;
  uint32_t count;
} proto_history_end;

typedef struct proto_user_ref { /* QUERY_OPEN, QUERY_CLOSE */
  proto_str user;
} proto_user_ref;

typedef struct proto_set_status {
  uint8_t status; /* ONLINE, AWAY or BUSY */
  proto_str text; /* away message */
} proto_set_status;

typedef struct proto_presence {
  proto_str user;
  uint8_t status;         /* enum proto_status */
  proto_str text;         /* away message */
  proto_str talking_with; /* user with an open conversation, or "" */
  uint32_t idle_s;        /* seconds since the user last sent anything */
  uint8_t flags;          /* PROTO_PRESF_* */
} proto_presence;

typedef struct proto_presence_list { /* v3: many PRESENCE in one frame */
  uint8_t flags;                     /* PROTO_PRESF_LIST or 0 */
  proto_blob entries;                /* packed entries, see proto_plist_next */
} proto_presence_list;

typedef struct proto_room_events { /* v3: joins and leaves of one room */
  proto_str room;
  uint64_t ts_ms;     /* when the first of them happened */
  proto_blob entries; /* packed entries, see proto_revents_next */
} proto_room_events;

typedef struct proto_notice {
  uint8_t kind; /* enum proto_notice_kind */
  uint64_t ts_ms;
  proto_str room;  /* "" when server-wide */
  proto_str user;  /* who it happened to */
  proto_str actor; /* who did it ("" for the server) */
  proto_str text;  /* reason / topic / announcement */
} proto_notice;

typedef struct proto_kick {
  proto_str user;
  proto_str reason;
} proto_kick;

typedef struct proto_ban {
  proto_str user;
  uint32_t duration_s; /* 0: permanent */
  proto_str reason;
} proto_ban;

typedef struct proto_unban { /* v2 */
  proto_str user;
} proto_unban;

typedef struct proto_ban_entry { /* v2: one line of a BANS_REQ reply */
  proto_str user;
  uint64_t until_ms; /* unix ms when it ends; 0: permanent */
  uint64_t since_ms; /* unix ms when it was set */
  proto_str actor;   /* who banned ("" for the operator console) */
  proto_str reason;
} proto_ban_entry;

typedef struct proto_set_privacy { /* v2 */
  uint8_t flags;                   /* PROTO_PRIVF_* */
} proto_set_privacy;

typedef struct proto_file_offer {
  uint64_t offer_id; /* chosen by the offering client */
  proto_str peer;    /* C->S: recipient; S->C: sender */
  proto_str name;
  uint64_t size;
  proto_blob sha256; /* PROTO_HASH_LEN bytes */
} proto_file_offer;

typedef struct proto_file_accept {
  uint64_t offer_id;
  proto_str peer;
  uint64_t offset; /* resume from here; 0 for a fresh transfer */
} proto_file_accept;

typedef struct proto_file_refuse { /* FILE_REJECT, FILE_CANCEL */
  uint64_t offer_id;
  proto_str peer;
  proto_str reason;
} proto_file_refuse;

typedef struct proto_file_hint {
  uint64_t offer_id;
  proto_str peer;
  proto_str addr; /* an address the sender listens on */
  uint16_t port;
  proto_blob token; /* PROTO_TOKEN_LEN bytes, proves the direct connection */
} proto_file_hint;

typedef struct proto_file_pin { /* the sender's end-to-end TLS key */
  uint64_t offer_id;
  proto_str peer;
  proto_blob key_sha256; /* PROTO_HASH_LEN: SHA-256 of the key's SPKI DER */
} proto_file_pin;

typedef struct proto_file_relay {
  uint64_t offer_id;
  proto_str peer;
  proto_blob token; /* C->S: zeros; S->C: the single-use relay token */
} proto_file_relay;

enum proto_side { /* which end of a data connection (FILE_CONNECT) */
                  PROTO_SIDE_SENDER = 0,
                  PROTO_SIDE_RECEIVER = 1,
};
#define PROTO_SIDE_LAST PROTO_SIDE_RECEIVER

typedef struct proto_file_connect { /* first frame of a data connection */
  uint64_t offer_id;
  uint8_t side;     /* enum proto_side: who sends this frame */
  proto_blob token; /* the hint's token (direct) or the relay token */
} proto_file_connect;

typedef struct proto_file_limits { /* S->C after LOGIN_OK (v2) */
  uint64_t max_file_size;          /* bytes per offered file; 0: no transfers */
  uint16_t max_transfers;          /* open offers and transfers per user */
  uint16_t offers_per_min;         /* FILE_OFFERs per user per minute */
  uint32_t offer_ttl_s; /* an offer not accepted within this expires */
  uint16_t max_relayed; /* relayed transfers per user at once; 0: none */
} proto_file_limits;

typedef struct proto_file_data {
  uint64_t xfer_id;
  uint64_t offset;
  proto_blob data; /* 1..PROTO_MAX_CHUNK bytes */
} proto_file_data;

typedef struct proto_file_ack {
  uint64_t xfer_id;
  uint64_t offset; /* bytes received and stored */
} proto_file_ack;

typedef struct proto_file_done {
  uint64_t xfer_id;
  proto_blob sha256;
} proto_file_done;

typedef struct proto_folder_entry {
  proto_str name;
  uint64_t size;
  uint64_t mtime; /* unix seconds */
  proto_str owner;
  proto_blob sha256;
} proto_folder_entry;

typedef struct proto_upload_req {
  uint64_t xfer_id; /* chosen by the client */
  proto_str name;
  uint64_t size;
  proto_blob sha256;
  uint8_t flags; /* PROTO_UPF_* */
} proto_upload_req;

typedef struct proto_upload_ready {
  uint64_t xfer_id;
  uint64_t offset;  /* send from here (resume) */
  proto_blob token; /* PROTO_TOKEN_LEN bytes: FILE_CONNECT of the upload */
} proto_upload_ready;

typedef struct proto_download_req {
  uint64_t xfer_id;
  proto_str name;
  uint64_t offset;
} proto_download_req;

typedef struct proto_download_start {
  uint64_t xfer_id;
  proto_str name;
  uint64_t size;
  uint64_t offset;
  proto_blob sha256;
  proto_blob token; /* PROTO_TOKEN_LEN bytes: FILE_CONNECT of the download */
} proto_download_start;

typedef struct proto_rename {
  proto_str from;
  proto_str to;
  uint8_t flags; /* PROTO_UPF_OVERWRITE */
} proto_rename;

typedef struct proto_file_ref { /* DELETE_REQ */
  proto_str name;
} proto_file_ref;

typedef struct proto_folder_ok {
  uint16_t op; /* the request type that succeeded */
  proto_str name;
} proto_folder_ok;

typedef struct proto_discover { /* UDP probe */
  uint16_t version;
  uint64_t nonce;
} proto_discover;

typedef struct proto_announce { /* UDP answer */
  uint16_t version;
  uint64_t nonce; /* echoes the probe */
  proto_str server_name;
  proto_str addr; /* "" means: the address the answer came from */
  uint16_t port;
  uint32_t users; /* clients online */
} proto_announce;

/* ---- message types ------------------------------------------------------
 * X(NAME, number, union member, body type). Ranges: 0x00xx session,
 * 0x01xx accounts, 0x02xx rooms, 0x03xx chat, 0x04xx presence,
 * 0x05xx notices, 0x06xx operator, 0x07xx peer file offers,
 * 0x08xx shared folder, 0x09xx LAN discovery (UDP only). */
#define PROTO_TYPES(X)                                                         \
  X(HELLO, 0x0001, hello, proto_hello)                                         \
  X(WELCOME, 0x0002, welcome, proto_welcome)                                   \
  X(ERROR, 0x0003, error, proto_error_msg)                                     \
  X(PING, 0x0004, ping, proto_ping)                                            \
  X(PONG, 0x0005, pong, proto_ping)                                            \
  X(BYE, 0x0006, bye, proto_reason)                                            \
  X(REGISTER, 0x0101, reg, proto_cred)                                         \
  X(LOGIN, 0x0102, login, proto_cred)                                          \
  X(LOGIN_TOKEN, 0x0103, login_token, proto_login_token)                       \
  X(LOGIN_OK, 0x0104, login_ok, proto_login_ok)                                \
  X(LOGOUT, 0x0105, logout, proto_logout)                                      \
  X(JOIN, 0x0201, join, proto_room_ref)                                        \
  X(PART, 0x0202, part, proto_part)                                            \
  X(ROOMS_REQ, 0x0203, rooms_req, proto_empty)                                 \
  X(ROOM, 0x0204, room, proto_room_info)                                       \
  X(ROOMS_END, 0x0205, rooms_end, proto_count)                                 \
  X(TOPIC, 0x0206, topic, proto_topic)                                         \
  X(JOINED, 0x0207, joined, proto_room_info)                                   \
  X(PARTED, 0x0208, parted, proto_room_ref)                                    \
  X(MEMBERS_REQ, 0x0209, members_req, proto_room_ref)                          \
  X(MEMBER, 0x020A, member, proto_member)                                      \
  X(MEMBERS_END, 0x020B, members_end, proto_members_end)                       \
  X(SAY, 0x0301, say, proto_say)                                               \
  X(MSG, 0x0302, msg, proto_chat)                                              \
  X(HISTORY_REQ, 0x0303, history_req, proto_history_req)                       \
  X(HISTORY_END, 0x0304, history_end, proto_history_end)                       \
  X(QUERY_OPEN, 0x0305, query_open, proto_user_ref)                            \
  X(QUERY_CLOSE, 0x0306, query_close, proto_user_ref)                          \
  X(SET_STATUS, 0x0401, set_status, proto_set_status)                          \
  X(PRESENCE, 0x0402, presence, proto_presence)                                \
  X(WHO_REQ, 0x0403, who_req, proto_empty)                                     \
  X(WHO_END, 0x0404, who_end, proto_count)                                     \
  X(SET_PRIVACY, 0x0405, set_privacy, proto_set_privacy)                       \
  X(PRESENCE_LIST, 0x0406, presence_list, proto_presence_list)                 \
  X(ROOM_EVENTS, 0x0407, room_events, proto_room_events)                       \
  X(NOTICE, 0x0501, notice, proto_notice)                                      \
  X(KICK, 0x0601, kick, proto_kick)                                            \
  X(BAN, 0x0602, ban, proto_ban)                                               \
  X(UNBAN, 0x0603, unban, proto_unban)                                         \
  X(BANS_REQ, 0x0604, bans_req, proto_empty)                                   \
  X(BAN_ENTRY, 0x0605, ban_entry, proto_ban_entry)                             \
  X(BANS_END, 0x0606, bans_end, proto_count)                                   \
  X(FILE_OFFER, 0x0701, file_offer, proto_file_offer)                          \
  X(FILE_ACCEPT, 0x0702, file_accept, proto_file_accept)                       \
  X(FILE_REJECT, 0x0703, file_reject, proto_file_refuse)                       \
  X(FILE_CANCEL, 0x0704, file_cancel, proto_file_refuse)                       \
  X(FILE_HINT, 0x0705, file_hint, proto_file_hint)                             \
  X(FILE_RELAY, 0x0706, file_relay, proto_file_relay)                          \
  X(FILE_DATA, 0x0707, file_data, proto_file_data)                             \
  X(FILE_ACK, 0x0708, file_ack, proto_file_ack)                                \
  X(FILE_DONE, 0x0709, file_done, proto_file_done)                             \
  X(FILE_CONNECT, 0x070A, file_connect, proto_file_connect)                    \
  X(FILE_LIMITS, 0x070B, file_limits, proto_file_limits)                       \
  X(FILE_PIN, 0x0720, file_pin, proto_file_pin)                                \
  X(FOLDER_LIST_REQ, 0x0801, folder_list_req, proto_empty)                     \
  X(FOLDER_ENTRY, 0x0802, folder_entry, proto_folder_entry)                    \
  X(FOLDER_END, 0x0803, folder_end, proto_count)                               \
  X(UPLOAD_REQ, 0x0804, upload_req, proto_upload_req)                          \
  X(UPLOAD_READY, 0x0805, upload_ready, proto_upload_ready)                    \
  X(DOWNLOAD_REQ, 0x0806, download_req, proto_download_req)                    \
  X(DOWNLOAD_START, 0x0807, download_start, proto_download_start)              \
  X(RENAME_REQ, 0x0808, rename_req, proto_rename)                              \
  X(DELETE_REQ, 0x0809, delete_req, proto_file_ref)                            \
  X(FOLDER_OK, 0x080A, folder_ok, proto_folder_ok)                             \
  X(DISCOVER, 0x0901, discover, proto_discover)                                \
  X(ANNOUNCE, 0x0902, announce, proto_announce)

enum proto_type {
#define PROTO_TYPE_ENUM(name, num, member, body) PROTO_##name = (num),
  PROTO_TYPES(PROTO_TYPE_ENUM)
#undef PROTO_TYPE_ENUM
};

/* A decoded (or to-be-encoded) message. */
typedef struct proto_msg {
  uint16_t type;      /* enum proto_type */
  uint32_t frame_len; /* decode: whole frame incl. header, set as soon as the
                         header is read, so an unknown type can be skipped */
  union {
#define PROTO_UNION_MEMBER(name, num, member, body) body member;
    PROTO_TYPES(PROTO_UNION_MEMBER)
#undef PROTO_UNION_MEMBER
  } u;
} proto_msg;

/* ---- codec ------------------------------------------------------------- */

/* Decodes one frame from the front of buf. Returns the bytes consumed (> 0)
 * with *m filled, 0 when buf holds only part of a frame (read more), or a
 * negative PERR_*. Strings and blobs in *m point into buf.
 * -PERR_UNKNOWN_TYPE leaves m->type and m->frame_len set: the caller may
 * skip frame_len bytes and go on. Any other negative result means the
 * stream is unusable. A length prefix over PROTO_MAX_FRAME is rejected as
 * soon as the 4 header bytes are present. */
ssize_t proto_decode(const uint8_t *buf, size_t len, proto_msg *m);

/* Encodes *m into buf. Returns bytes written, or -PERR_NO_SPACE when cap is
 * too small, or the error the decoder would give for a bad field (so that a
 * peer never receives a frame it must reject). */
ssize_t proto_encode(const proto_msg *m, uint8_t *buf, size_t cap);

/* Returns the exact encoded size of *m, or 0 if its type is unknown. */
size_t proto_size(const proto_msg *m);

#define PROTO_FILE_DATA_HEAD 24 /* a FILE_DATA frame's bytes before data */

/* Writes the PROTO_FILE_DATA_HEAD bytes that precede n (1..PROTO_MAX_CHUNK)
 * bytes of data in the FILE_DATA frame proto_encode would make, so that a
 * sender can read a file straight into its frames (the data then follows
 * at dst + PROTO_FILE_DATA_HEAD) instead of copying it in. */
void proto_file_data_head(uint8_t *dst, uint64_t xfer_id, uint64_t offset,
                          size_t n);

/* Reads the head of a FILE_DATA frame from the first n bytes of p, whose
 * data may not have arrived yet: 1 with *xfer_id, *offset and *len (the
 * data's bytes) set when p starts a FILE_DATA frame that proto_decode
 * accepts once whole; 0 when it does not (another type, a length that does
 * not fit) or n < PROTO_FILE_DATA_HEAD. A receiver can then take the data
 * as it arrives instead of assembling the frame first. */
int proto_file_data_peek(const uint8_t *p, size_t n, uint64_t *xfer_id,
                         uint64_t *offset, size_t *len);

/* Returns "SAY" etc., or NULL for an unknown type. */
const char *proto_type_name(uint16_t type);

/* ---- v3 compact lists (entries inside a blob) ------------------------- */

/* Appends p as one PRESENCE_LIST entry at buf + *off (cap bytes in all)
 * and advances *off. Only the ADMIN and SELF bits of p->flags are kept.
 * Returns 0, -PERR_NO_SPACE when it does not fit (nothing written), or
 * the error the decoder would give for a bad field. */
int proto_plist_put(uint8_t *buf, size_t cap, size_t *off,
                    const proto_presence *p);

/* Reads the entry at *off of a PRESENCE_LIST's entries into *p (flags
 * ADMIN and SELF from the entry; strings point into the list) and
 * advances *off. Returns 1, 0 at the end, or a negative PERR_*. */
int proto_plist_next(proto_blob list, size_t *off, proto_presence *p);

/* Appends one ROOM_EVENTS entry (kind, user, actor, text of n; room and
 * ts_ms are the frame's) at buf + *off. Returns as proto_plist_put. */
int proto_revents_put(uint8_t *buf, size_t cap, size_t *off,
                      const proto_notice *n);

/* Reads the entry at *off of a ROOM_EVENTS's entries into n's kind, user,
 * actor and text (room "" and ts_ms 0: the caller copies the frame's).
 * Returns 1, 0 at the end, or a negative PERR_*. */
int proto_revents_next(proto_blob list, size_t *off, proto_notice *n);

/* ---- text helpers (the wire's rules, shared by server and client) ------ */

/* Makes a proto_str from a NUL-terminated string (NULL gives ""). Strings
 * longer than 65535 bytes are cut; the encoder then rejects them anyway. */
proto_str proto_str_c(const char *s);

/* Copies s into dst as a C string of at most cap - 1 bytes, cut at a
 * UTF-8 sequence boundary when it does not fit; returns the bytes copied.
 * The one copy helper for wire strings. */
size_t proto_str_copy(char *dst, size_t cap, proto_str s);

/* s as a new NUL-terminated string (malloc; the caller frees), or NULL
 * when out of memory. */
char *proto_str_dup(proto_str s);

/* Validates UTF-8 (shortest forms, no surrogates, <= U+10FFFF, no NUL).
 * Returns the number of code points, or -PERR_BAD_UTF8. */
ssize_t proto_utf8_count(const char *p, size_t n);

/* True when the text holds what must not reach a terminal raw: a C0/C1
 * control character or DEL other than tab (escape sequences), a
 * bidirectional control or mark, a zero-width or line/paragraph separator
 * (proto_cp_hidden), or a ZWJ/ZWNJ outside a joining context (both
 * neighbours letters or symbols beyond ASCII, as in emoji sequences and
 * Persian or Indic text). Assumes valid UTF-8 (PROTOCOL.md 4.2). */
bool proto_has_control(const char *p, size_t n);

/* True for the invisible formatting code points that reorder or hide text:
 * bidi embeddings, overrides, isolates and marks (U+202A..E, U+2066..9,
 * U+200E/F, U+061C), U+200B, U+2028/9, U+2060..4, U+FEFF and the like.
 * Clients show them as visible placeholders. */
bool proto_cp_hidden(uint32_t cp);

/* The name of a presence status ("online", "away", "busy", "offline"), as
 * the console, the batch output and the views spell it; "?" when unknown. */
const char *proto_status_name(uint8_t status);

/* Writes the ASCII-lowercased form of n bytes into dst and a NUL (dst
 * holds n + 1): names and rooms are equal when their folds are. */
void proto_fold(char *dst, const char *p, size_t n);

/* Wire rules for names; each returns 0 or the negative error to send. */
int proto_check_name(const char *p, size_t n);     /* -PERR_BAD_NAME */
int proto_check_room(const char *p, size_t n);     /* -PERR_BAD_ROOM */
int proto_check_filename(const char *p, size_t n); /* -PERR_BAD_FILENAME */

#endif
