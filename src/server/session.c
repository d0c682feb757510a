/* session.c: handshake, login and dispatch (see session.h). */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "auth.h"
#include "bus.h"
#include "chat.h"
#include "conn.h"
#include "folder.h"
#include "folderxfer.h"
#include "log.h"
#include "offer.h"
#include "presence.h"
#include "relay.h"
#include "room.h"
#include "roomcmd.h"
#include "server.h"
#include "store.h"
#include "user.h"

#define SESSION_AGENT "parleyd/" PARLEY_VERSION

static uint32_t session_fanout_burst(void);

/* Set only while a BYE closes its connection: the reason the user gave,
 * for the quit notice (session_on_close runs synchronously inside). */
static const char *session_bye_reason;
/* Records a login attempt in the login log (off the loop). */
static void session_log_login(struct conn *c, const char *name,
                              const char *outcome) {
  store_job *j = store_job_new(STORE_LOGIN_LOG, NULL, NULL);
  snprintf(j->name, sizeof j->name, "%s", name ? name : "");
  snprintf(j->text, sizeof j->text, "%s", conn_ip(c));
  snprintf(j->text2, sizeof j->text2, "%s", outcome);
  j->num = c->port;
  store_submit(j);
  log_info(conn_peer(c), "login %s: %s", name && *name ? name : "-", outcome);
}

/* HELLO: version check, then WELCOME. */
static void session_on_hello(struct conn *c, const proto_hello *h) {
  if (h->version < PROTO_VERSION_MIN || h->version > PROTO_VERSION) {
    char range[16];
    snprintf(range, sizeof range, "%d-%d", PROTO_VERSION_MIN, PROTO_VERSION);
    conn_error(c, PERR_VERSION, PROTO_HELLO, range,
               "protocol version %u not supported; this server speaks "
               "versions %d to %d",
               h->version, PROTO_VERSION_MIN, PROTO_VERSION);
    conn_close(c, true, "protocol version mismatch");
    return;
  }
  const config *cfg = srv.cfg;
  proto_msg m = {.type = PROTO_WELCOME};
  /* Answer in the client's version: a version 1 client rejects a
   * WELCOME of version 2, and gets nothing version 2 adds. */
  c->version = h->version;
  m.u.welcome.version = h->version;
  m.u.welcome.agent = proto_str_c(SESSION_AGENT);
  m.u.welcome.server_name = proto_str_c(cfg->name);
  m.u.welcome.max_msg_chars = (uint16_t)cfg->max_msg_chars;
  m.u.welcome.max_frame = PROTO_MAX_FRAME;
  m.u.welcome.max_file_size = cfg->max_file_size;
  m.u.welcome.max_rooms = (uint16_t)cfg->max_rooms;
  m.u.welcome.history_len = (uint16_t)cfg->history;
  m.u.welcome.flags = cfg->no_register ? 0 : PROTO_WELCOMEF_REGISTER;
  conn_send_msg(c, &m);
  c->state = CONN_AUTH;
  log_debug(conn_peer(c), "hello: version %u", h->version);
}

/* The login succeeded: make the user, reply, auto-join #lobby. token is
 * the raw session token to hand out. */
static void session_login_ok(struct conn *c, const char *name, int role,
                             const uint8_t token[PROTO_TOKEN_LEN],
                             uint64_t expires, const char *how) {
  if (srv.stopping) {
    conn_error(c, PERR_SHUTTING_DOWN, 0, "", NULL);
    conn_close(c, true, "server shutting down");
    return;
  }
  user *old = user_find(name, strlen(name));
  if (old == NULL && srv.nusers >= srv.cfg->max_clients) {
    session_log_login(c, name, "server full");
    conn_error(c, PERR_SERVER_FULL, 0, "",
               "server full: %u clients connected, try again later",
               srv.cfg->max_clients);
    conn_close(c, true, "server full");
    return;
  }
  if (old != NULL) {
    struct conn *oc = old->conn;
    conn_error(oc, PERR_SESSION_REPLACED, 0, old->name,
               "logged in from elsewhere (%s)", conn_peer(c));
    conn_close(oc, true, "session replaced");
  }
  user *u =
      user_add(c, name, (uint8_t)role, srv.cfg->flood_burst, server_now_ms());
  if (u == NULL) {
    conn_error(c, PERR_INTERNAL, 0, "", NULL);
    conn_close(c, true, "out of memory for a user");
    return;
  }
  auth_token_hash(token, PROTO_TOKEN_LEN, (char[AUTH_TOKEN_HEX]){0},
                  u->token_hash);
  bucket_init(&u->fanout, session_fanout_burst(), server_now_ms());
  c->user = u;
  conn_set_ready(c);
  srv.nusers++;
  session_log_login(c, name, how);
  proto_msg m = {.type = PROTO_LOGIN_OK};
  m.u.login_ok.name = proto_str_c(u->name);
  m.u.login_ok.role = (uint8_t)role;
  m.u.login_ok.token = (proto_blob){token, PROTO_TOKEN_LEN};
  m.u.login_ok.token_expires = expires;
  conn_send_msg(c, &m);
  if (c->version >= 2 && srv.cfg->motd[0] != '\0') {
    /* The MOTD is a version 2 notice kind: version 1 decoders refuse it. */
    proto_msg n = {.type = PROTO_NOTICE};
    n.u.notice.kind = PROTO_NOTICE_MOTD;
    n.u.notice.ts_ms = server_wall_ms();
    n.u.notice.room = n.u.notice.user = n.u.notice.actor = proto_str_c("");
    n.u.notice.text = proto_str_c(srv.cfg->motd);
    conn_send_msg(c, &n);
  }
  /* Everyone else learns that u is here; u gets the list after #lobby. */
  if (c->version < 3)
    srv.nlegacy++;
  presence_online(u);
  if (roomcmd_join(u, ROOM_LOBBY, strlen(ROOM_LOBBY), PROTO_JOIN) >= 0)
    chat_backlog(c, PROTO_TO_ROOM, ROOM_LOBBY, 0, 0, true);
  else
    presence_who(c);
  offer_send_limits(c); /* after JOINED #lobby, the login flow's first */
}

/* Issues a fresh token, stores its hash and completes the login. */
static void session_login_new_token(struct conn *c, const char *name, int role,
                                    const char *how) {
  uint8_t token[PROTO_TOKEN_LEN];
  char hex[AUTH_TOKEN_HEX];
  auth_token_new(token, hex);
  uint64_t expires = (uint64_t)time(NULL) + srv.cfg->token_days * 86400ull;
  store_job *j = store_job_new(STORE_TOKEN_ADD, NULL, NULL);
  snprintf(j->text, sizeof j->text, "%s", hex);
  snprintf(j->name, sizeof j->name, "%s", name);
  j->num = expires;
  store_submit(j);
  session_login_ok(c, name, role, token, expires, how);
  sodium_memzero(token, sizeof token);
}

/* Login refused: error, log, back to AUTH. The attempt was charged to the
 * address when it arrived (auth_charge), except NAME_TAKEN (auth_failed). */
static void session_login_fail(struct conn *c, const char *name, int code,
                               const char *outcome, uint16_t ref) {
  session_log_login(c, name, outcome);
  c->state = CONN_AUTH;
  conn_error(c, code, ref, name, NULL);
}

/* A password check could not be queued: SERVER_BUSY when the queue is
 * full (r == UV_EBUSY), else INTERNAL; back to AUTH either way. */
static void session_auth_busy(struct conn *c, int r, uint16_t ref,
                              const char *name) {
  c->state = CONN_AUTH;
  if (r == UV_EBUSY) {
    session_log_login(c, name, "server busy");
    conn_error(c, PERR_SERVER_BUSY, ref, name,
               "server busy: too many password checks waiting; try again in "
               "a few seconds");
  } else {
    conn_error(c, PERR_INTERNAL, ref, name, NULL);
  }
}

/* Refuses a banned user and closes. */
static void session_banned(struct conn *c, store_job *j) {
  session_log_login(c, j->out_name, "banned");
  c->state = CONN_AUTH;
  if (j->ban_until == 0)
    conn_error(c, PERR_BANNED, 0, j->out_name,
               "you are banned from this server%s%s", j->text2[0] ? ": " : "",
               j->text2);
  else
    conn_error(c, PERR_BANNED, 0, j->out_name,
               "you are banned from this server for %llu more seconds%s%s",
               (unsigned long long)((j->ban_until > server_wall_ms()
                                         ? j->ban_until - server_wall_ms() + 999
                                         : 1000) /
                                    1000),
               j->text2[0] ? ": " : "", j->text2);
  conn_close(c, true, "banned");
}

/* ---- REGISTER: exists? -> hash -> insert -> logged in ------------------ */

/* Store answer: the account was inserted (or the name was taken). */
static void session_on_reg_added(store_job *j) {
  struct conn *c = j->ctx;
  if (!c->closing) {
    if (j->result == -PERR_NAME_TAKEN) {
      auth_failed(c);
      session_login_fail(c, j->name, PERR_NAME_TAKEN, "name taken",
                         PROTO_REGISTER);
    } else if (j->result < 0) {
      c->state = CONN_AUTH;
      conn_error(c, PERR_INTERNAL, PROTO_REGISTER, j->name, NULL);
    } else {
      log_info(conn_peer(c), "registered %s", j->out_name);
      session_login_new_token(c, j->out_name, j->out_role, "ok (registered)");
    }
  }
  conn_unref(c);
}

/* Pool answer: the new password hash. */
static void session_on_reg_hashed(struct conn *c, bool ok, const char *hash,
                                  uint64_t arg) {
  store_job *j = (store_job *)(uintptr_t)arg;
  if (c->closing) {
    store_job_free(j);
    return;
  }
  if (!ok) {
    c->state = CONN_AUTH;
    conn_error(c, PERR_INTERNAL, PROTO_REGISTER, j->name,
               "password hashing failed (out of memory?)");
    store_job_free(j);
    return;
  }
  snprintf(j->text, sizeof j->text, "%s", hash);
  j->ctx = conn_ref(c);
  store_submit(j);
}

/* Store answer: does the name exist already? */
static void session_on_reg_lookup(store_job *j) {
  struct conn *c = j->ctx;
  char *pw = (char *)(uintptr_t)j->arg;
  if (!c->closing) {
    if (j->found) {
      auth_failed(c);
      session_login_fail(c, j->name, PERR_NAME_TAKEN, "name taken",
                         PROTO_REGISTER);
    } else {
      store_job *add =
          store_job_new(STORE_ACCOUNT_ADD, session_on_reg_added, NULL);
      snprintf(add->name, sizeof add->name, "%s", j->name);
      add->role = PROTO_ROLE_USER;
      proto_str p = {pw + sizeof(uint16_t), 0};
      memcpy(&p.n, pw, sizeof(uint16_t));
      int r = auth_hash(c, p, session_on_reg_hashed, (uintptr_t)add);
      if (r < 0) {
        store_job_free(add);
        session_auth_busy(c, r, PROTO_REGISTER, j->name);
      }
    }
  }
  if (pw != NULL) {
    uint16_t n;
    memcpy(&n, pw, sizeof n);
    sodium_memzero(pw, sizeof n + n);
    free(pw);
  }
  conn_unref(c);
}

/* Keeps a password across a store round trip: u16 length + bytes. */
static char *session_pw_copy(proto_str pw) {
  char *p = malloc(sizeof(uint16_t) + pw.n);
  if (p != NULL) {
    memcpy(p, &pw.n, sizeof(uint16_t));
    memcpy(p + sizeof(uint16_t), pw.p, pw.n);
  }
  return p;
}

/* REGISTER. */
static void session_on_register(struct conn *c, const proto_cred *r) {
  char name[PROTO_MAX_NAME + 1];
  proto_str_copy(name, sizeof name, r->name);
  if (srv.cfg->no_register) {
    conn_error(c, PERR_REGISTRATION_CLOSED, PROTO_REGISTER, name, NULL);
    return;
  }
  if (proto_check_name(r->name.p, r->name.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_REGISTER, name, NULL);
    return;
  }
  if (!auth_password_ok(r->password.p, r->password.n)) {
    conn_error(c, PERR_BAD_PASSWORD, PROTO_REGISTER, name, NULL);
    return;
  }
  if (!auth_allowed(c)) {
    session_log_login(c, name, "rate limited");
    conn_error(c, PERR_RATE_LIMITED, PROTO_REGISTER, name, NULL);
    return;
  }
  uint64_t wait_s;
  if (!auth_register_take(c, &wait_s)) {
    session_log_login(c, name, "rate limited (registrations)");
    conn_error(c, PERR_RATE_LIMITED, PROTO_REGISTER, name,
               "too many registrations from %s; try again in %llu minutes",
               conn_addr_key(c), (unsigned long long)(wait_s + 59) / 60);
    return;
  }
  char *pw = session_pw_copy(r->password);
  if (pw == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_REGISTER, name, NULL);
    return;
  }
  c->state = CONN_AUTHING;
  store_job *j =
      store_job_new(STORE_ACCOUNT_GET, session_on_reg_lookup, conn_ref(c));
  snprintf(j->name, sizeof j->name, "%s", name);
  j->arg = (uintptr_t)pw;
  store_submit(j);
}

/* ---- LOGIN: account -> verify in the pool -> logged in ---------------- */

/* Pool answer: password verified or not. */
static void session_on_verified(struct conn *c, bool ok, const char *hash,
                                uint64_t arg) {
  (void)hash;
  store_job *j = (store_job *)(uintptr_t)arg;
  if (c->closing)
    ;
  else if (ok && j->found && j->banned) {
    auth_refund(c);
    session_banned(c, j);
  } else if (ok && j->found) {
    auth_refund(c);
    session_login_new_token(c, j->out_name, j->out_role, "ok");
  } else {
    /* The subject is the name as sent, for both: a canonical spelling
     * would tell that the account exists. */
    session_login_fail(c, j->name, PERR_AUTH_FAILED,
                       j->found ? "bad password" : "unknown user", PROTO_LOGIN);
  }
  store_job_free(j);
}

/* Store answer: the account row (or none). */
static void session_on_login_lookup(store_job *j) {
  struct conn *c = j->ctx;
  char *pw = (char *)(uintptr_t)j->arg;
  if (!c->closing) {
    if (j->result < 0) {
      auth_refund(c); /* nothing was checked */
      c->state = CONN_AUTH;
      conn_error(c, PERR_INTERNAL, PROTO_LOGIN, j->name, NULL);
    } else {
      /* The job travels on to the verify callback with the account. A ban
       * is told only once the password is right: without it, nobody learns
       * that the account exists, nor the ban's reason. An unknown name
       * pays the same argon2 cost (auth_dummy) and gets the same answer,
       * so neither time nor text tells the two apart. */
      store_job *keep = store_job_new(STORE_ACCOUNT_GET, NULL, NULL);
      memcpy(keep->name, j->name, sizeof keep->name);
      keep->found = j->found;
      if (j->found) {
        memcpy(keep->out_name, j->out_name, sizeof keep->out_name);
        keep->out_role = j->out_role;
        keep->banned = j->banned;
        keep->ban_until = j->ban_until;
        memcpy(keep->text2, j->text2, sizeof keep->text2);
      }
      proto_str p = {pw + sizeof(uint16_t), 0};
      memcpy(&p.n, pw, sizeof(uint16_t));
      int r = j->found ? auth_verify(c, j->hash, p, session_on_verified,
                                     (uintptr_t)keep)
                       : auth_dummy(c, p, session_on_verified, (uintptr_t)keep);
      if (r < 0) {
        store_job_free(keep);
        auth_refund(c); /* nothing was checked */
        session_auth_busy(c, r, PROTO_LOGIN, j->name);
      }
    }
  }
  uint16_t n;
  memcpy(&n, pw, sizeof n);
  sodium_memzero(pw, sizeof n + n);
  free(pw);
  sodium_memzero(j->hash, sizeof j->hash);
  conn_unref(c);
}

/* LOGIN. */
static void session_on_login(struct conn *c, const proto_cred *r) {
  char name[PROTO_MAX_NAME + 1];
  proto_str_copy(name, sizeof name, r->name);
  if (proto_check_name(r->name.p, r->name.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_LOGIN, name, NULL);
    return;
  }
  if (!auth_charge(c)) {
    session_log_login(c, name, "rate limited");
    conn_error(c, PERR_RATE_LIMITED, PROTO_LOGIN, name,
               "too many failed logins from %s; wait a minute and try again",
               conn_addr_key(c));
    return;
  }
  char *pw = session_pw_copy(r->password);
  if (pw == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_LOGIN, name, NULL);
    return;
  }
  c->state = CONN_AUTHING;
  store_job *j =
      store_job_new(STORE_ACCOUNT_GET, session_on_login_lookup, conn_ref(c));
  snprintf(j->name, sizeof j->name, "%s", name);
  j->arg = (uintptr_t)pw;
  store_submit(j);
}

/* ---- LOGIN_TOKEN: SHA-256 lookup, no argon2 ---------------------------- */

/* Store answer for a token. */
static void session_on_token_lookup(store_job *j) {
  struct conn *c = j->ctx;
  uint8_t *token = (uint8_t *)(uintptr_t)j->arg;
  if (!c->closing) {
    if (!j->found) {
      session_login_fail(c, j->name, PERR_TOKEN_INVALID, "bad token",
                         PROTO_LOGIN_TOKEN);
    } else if (j->banned) {
      auth_refund(c);
      session_banned(c, j);
    } else {
      auth_refund(c);
      session_login_ok(c, j->out_name, j->out_role, token, j->num,
                       "ok (token)");
    }
  }
  sodium_memzero(token, PROTO_TOKEN_LEN);
  free(token);
  conn_unref(c);
}

/* LOGIN_TOKEN. */
static void session_on_login_token(struct conn *c, const proto_login_token *r) {
  char name[PROTO_MAX_NAME + 1];
  proto_str_copy(name, sizeof name, r->name);
  if (proto_check_name(r->name.p, r->name.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_LOGIN_TOKEN, name, NULL);
    return;
  }
  if (!auth_charge(c)) {
    session_log_login(c, name, "rate limited");
    conn_error(c, PERR_RATE_LIMITED, PROTO_LOGIN_TOKEN, name, NULL);
    return;
  }
  if (r->token.n != PROTO_TOKEN_LEN) {
    session_login_fail(c, name, PERR_TOKEN_INVALID, "bad token",
                       PROTO_LOGIN_TOKEN);
    return;
  }
  uint8_t *token = malloc(PROTO_TOKEN_LEN);
  if (token == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_LOGIN_TOKEN, name, NULL);
    return;
  }
  memcpy(token, r->token.p, PROTO_TOKEN_LEN);
  c->state = CONN_AUTHING;
  store_job *j =
      store_job_new(STORE_TOKEN_CHECK, session_on_token_lookup, conn_ref(c));
  snprintf(j->name, sizeof j->name, "%s", name);
  auth_token_hash(token, PROTO_TOKEN_LEN, j->text, NULL);
  j->arg = (uintptr_t)token;
  store_submit(j);
}

/* ---- dispatch ---------------------------------------------------------- */

/* LOGOUT: optionally revoke this session's token, then say goodbye. */
static void session_on_logout(struct conn *c, const proto_logout *l) {
  if (l->revoke) {
    store_job *j = store_job_new(STORE_TOKEN_REVOKE, NULL, NULL);
    sodium_bin2hex(j->text, sizeof j->text, c->user->token_hash,
                   PROTO_HASH_LEN);
    store_submit(j);
  }
  proto_msg m = {.type = PROTO_BYE};
  m.u.bye.reason = proto_str_c("logged out");
  conn_send_msg(c, &m);
  conn_close(c, true, "logged out");
}

/* Messages allowed before login. */
static void session_before_login(struct conn *c, const proto_msg *m) {
  bool busy = c->state == CONN_AUTHING;
  switch (m->type) {
  case PROTO_REGISTER:
  case PROTO_LOGIN:
  case PROTO_LOGIN_TOKEN:
    if (busy) {
      conn_error(c, PERR_UNEXPECTED, m->type, "",
                 "a login is already being checked; wait for its answer");
      return;
    }
    if (m->type == PROTO_REGISTER)
      session_on_register(c, &m->u.reg);
    else if (m->type == PROTO_LOGIN)
      session_on_login(c, &m->u.login);
    else
      session_on_login_token(c, &m->u.login_token);
    return;
  default:
    conn_error(c, PERR_NOT_LOGGED_IN, m->type, "", NULL);
  }
}

/* True for the requests that make the server tell others (presence,
 * topic, membership, conversation, operator actions): they share one
 * budget per user (--fanout-rate, --fanout-burst); SAY has its own. */
static bool session_fans_out(uint16_t type) {
  switch (type) {
  case PROTO_SET_STATUS:
  case PROTO_TOPIC:
  case PROTO_JOIN:
  case PROTO_PART:
  case PROTO_QUERY_OPEN:
  case PROTO_QUERY_CLOSE:
  case PROTO_KICK:
  case PROTO_BAN:
    return true;
  default:
    return false;
  }
}

/* The fan-out burst: --fanout-burst, but never too small for a client
 * that rejoins all its rooms (and reopens a conversation and its status)
 * right after a reconnect. */
static uint32_t session_fanout_burst(void) {
  const config *cfg = srv.cfg;
  uint32_t least = cfg->max_rooms + 10;
  return cfg->fanout_burst > least ? cfg->fanout_burst : least;
}

/* Takes one token of u's fan-out budget; when none is left, answers ERROR
 * FLOOD (what was refused and how long to wait) and returns false. */
static bool session_fanout_take(struct conn *c, uint16_t type) {
  user *u = c->user;
  const config *cfg = srv.cfg;
  uint32_t burst = session_fanout_burst();
  if (bucket_take(&u->fanout, cfg->fanout_rate, 1000, burst, server_now_ms()))
    return true;
  srv.flood_drops++;
  uint64_t tenths =
      (bucket_wait_ms(&u->fanout, cfg->fanout_rate, 1000) + 99) / 100;
  conn_error(c, PERR_FLOOD, type, "",
             "%s refused: too many status, topic, join, part, query, kick "
             "or ban requests (%u a second, %u in a burst); wait %llu.%llu s",
             proto_type_name(type), cfg->fanout_rate, burst,
             (unsigned long long)(tenths / 10),
             (unsigned long long)(tenths % 10));
  return false;
}

/* Messages of a logged-in session. */
static void session_logged_in(struct conn *c, const proto_msg *m) {
  if (session_fans_out(m->type) && !session_fanout_take(c, m->type))
    return;
  switch (m->type) {
  case PROTO_REGISTER:
  case PROTO_LOGIN:
  case PROTO_LOGIN_TOKEN:
    conn_error(c, PERR_ALREADY_LOGGED_IN, m->type, "", NULL);
    break;
  case PROTO_LOGOUT:
    session_on_logout(c, &m->u.logout);
    break;
  case PROTO_JOIN:
    roomcmd_on_join(c, &m->u.join);
    break;
  case PROTO_PART:
    roomcmd_on_part(c, &m->u.part);
    break;
  case PROTO_ROOMS_REQ:
    roomcmd_on_list(c);
    break;
  case PROTO_TOPIC:
    roomcmd_on_topic(c, &m->u.topic);
    break;
  case PROTO_MEMBERS_REQ:
    roomcmd_on_members(c, &m->u.members_req);
    break;
  case PROTO_SAY:
    chat_on_say(c, &m->u.say);
    break;
  case PROTO_HISTORY_REQ:
    chat_on_history(c, &m->u.history_req);
    break;
  case PROTO_QUERY_OPEN:
    chat_on_query_open(c, &m->u.query_open);
    break;
  case PROTO_QUERY_CLOSE:
    chat_on_query_close(c, &m->u.query_close);
    break;
  case PROTO_SET_STATUS:
    presence_on_status(c, &m->u.set_status);
    break;
  case PROTO_WHO_REQ:
    presence_who(c);
    break;
  case PROTO_KICK:
    admin_on_kick(c, &m->u.kick);
    break;
  case PROTO_BAN:
    admin_on_ban(c, &m->u.ban);
    break;
  case PROTO_UNBAN:
    admin_on_unban(c, &m->u.unban);
    break;
  case PROTO_BANS_REQ:
    admin_on_bans(c);
    break;
  case PROTO_SET_PRIVACY:
    presence_on_privacy(c, &m->u.set_privacy);
    break;
  default:
    if (m->type >= 0x0700 && m->type < 0x0800)
      offer_on_frame(c, m);
    else if (m->type >= 0x0800 && m->type < 0x0900)
      folder_on_frame(c, m);
    else
      conn_error(c, PERR_UNEXPECTED, m->type, "",
                 "%s is not something a client sends",
                 proto_type_name(m->type));
  }
}

/* Entry point for every frame. */
void session_on_msg(struct conn *c, const proto_msg *m) {
  if (c->closing)
    return;
  switch (m->type) { /* valid in every state */
  case PROTO_PING: {
    proto_msg p = {.type = PROTO_PONG};
    p.u.pong.token = m->u.ping.token;
    conn_send_msg(c, &p);
    return;
  }
  case PROTO_PONG:
    return;
  case PROTO_BYE: {
    /* The user's own words go in the quit notice, never in the log. */
    char reason[PROTO_MAX_REASON * 4 + 1];
    const proto_str *r = &m->u.bye.reason;
    reason[0] = '\0';
    if (r->n > 0 && !proto_has_control(r->p, r->n))
      snprintf(reason, sizeof reason, "%.*s", (int)r->n, r->p);
    session_bye_reason = reason;
    conn_close(c, true, "client said bye");
    session_bye_reason = NULL;
    return;
  }
  default:
    break;
  }
  if (c->state == CONN_RELAY) {
    conn_close(c, false, "data before the relay paired the connection");
    return;
  }
  if (c->state == CONN_HELLO && m->type == PROTO_FILE_CONNECT) {
    if (!folderxfer_on_connect(c, &m->u.file_connect)) /* folder's first */
      relay_on_connect(c, &m->u.file_connect);         /* a data connection */
    return;
  }
  if (c->state == CONN_HELLO) {
    if (m->type != PROTO_HELLO) {
      conn_error(c, PERR_UNEXPECTED, m->type, "",
                 "the first message must be HELLO");
      conn_close(c, true, "no HELLO");
      return;
    }
    session_on_hello(c, &m->u.hello);
    return;
  }
  if (m->type == PROTO_HELLO) {
    conn_error(c, PERR_UNEXPECTED, m->type, "", "HELLO was already sent");
    return;
  }
  if (c->state != CONN_READY)
    session_before_login(c, m);
  else
    session_logged_in(c, m);
}

/* Another process revoked name's sessions (`parleyd user del` or `user
 * passwd`, noticed by store_watch_revoked): the live session ends with an
 * ERROR REVOKED saying why, then the connection closes. A session whose
 * connection was accepted after the revocation logged in after it (with
 * the new password) and is kept. */
void session_on_revoked(const char *name, const char *why, uint64_t at_ms) {
  user *u = user_find(name, strlen(name));
  if (u == NULL || u->conn == NULL || u->conn->closing)
    return;
  struct conn *c = u->conn;
  uint64_t age = server_now_ms() - c->when_ms; /* when_ms: loop clock */
  if (server_wall_ms() - age > at_ms) {
    log_info(conn_peer(c), "%s: session kept: logged in after the %s", u->name,
             strcmp(why, "deleted") == 0 ? "deletion" : "password change");
    return;
  }
  bool del = strcmp(why, "deleted") == 0;
  log_info(conn_peer(c), "%s: session ended: %s by the operator", u->name,
           del ? "account deleted" : "password changed");
  conn_error(c, PERR_REVOKED, 0, u->name, "%s",
             del ? "session ended: your account was deleted on this server"
                 : "session ended: your password was changed on this "
                   "server; log in with the new one");
  conn_close(c, true, del ? "account deleted" : "password changed");
}

/* Teardown: quit notices in each room, offline presence, gone. */
void session_on_close(struct conn *c, const char *why) {
  user *u = c->user;
  if (u == NULL)
    return;
  const char *notice =
      session_bye_reason && *session_bye_reason ? session_bye_reason : why;
  /* At shutdown everyone is leaving: quit notices and presence changes
   * would cost the square of the users and only delay each client's BYE. */
  int kind = srv.stopping ? -1 : PROTO_NOTICE_QUIT;
  while (u->nrooms > 0)
    roomcmd_leave(user_rooms(u)[u->nrooms - 1], kind, "", notice);
  offer_user_gone(u);
  presence_offline(u); /* nothing at shutdown */
  if (c->version < 3)
    srv.nlegacy--;
  /* Conversations with u are over for whoever was talking with u. */
  log_info(conn_peer(c), "%s logged out (%s)", u->name, why);
  user_remove(u);
  c->user = NULL;
  srv.nusers--;
}
