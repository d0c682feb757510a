/* admin.c: kick and ban (see admin.h). */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "conn.h"
#include "log.h"
#include "room.h"
#include "roomcmd.h"
#include "server.h"
#include "store.h"
#include "user.h"

/* Fills a server-wide NOTICE (no room). */
static void admin_notice_fill(proto_msg *m, int kind, const char *who,
                              const char *actor, const char *text) {
  *m = (proto_msg){.type = PROTO_NOTICE};
  m->u.notice.kind = (uint8_t)kind;
  m->u.notice.ts_ms = server_wall_ms();
  m->u.notice.room = proto_str_c("");
  m->u.notice.user = proto_str_c(who);
  m->u.notice.actor = proto_str_c(actor);
  m->u.notice.text = proto_str_c(text);
}

/* A server-wide NOTICE in reply to the requesting conn. */
static void admin_notice(struct conn *c, int kind, const char *who,
                         const char *actor, const char *text) {
  proto_msg m;
  admin_notice_fill(&m, kind, who, actor, text);
  conn_send_msg(c, &m);
}

/* Tells u why (through the bus: u is not the one asking), notifies its
 * rooms, then says BYE and closes its connection. The BYE and the close
 * act on the connection itself, so they stay direct. */
static void admin_boot(user *u, int kind, const char *actor,
                       const char *reason) {
  struct conn *c = u->conn;
  char name[PROTO_MAX_NAME + 1];
  snprintf(name, sizeof name, "%s", u->name);
  proto_msg n;
  admin_notice_fill(&n, kind, name, actor, reason);
  fbuf *b = fbuf_encode(&n, NULL);
  if (b != NULL) {
    bus_user(u, b);
    fbuf_unref(b);
  } else {
    log_error(conn_peer(c), "cannot encode NOTICE for %s", name);
  }
  while (u->nrooms > 0)
    roomcmd_leave(user_rooms(u)[u->nrooms - 1], kind, actor, reason);
  char bye[PROTO_MAX_REASON * 4 + 64];
  snprintf(bye, sizeof bye, "%s by %s%s%s",
           kind == PROTO_NOTICE_BANNED ? "banned" : "kicked",
           *actor ? actor : "the operator", *reason ? ": " : "", reason);
  ssize_t chars = proto_utf8_count(bye, strlen(bye));
  if (chars < 0 || chars > PROTO_MAX_REASON) /* BYE's limit: drop reason */
    snprintf(bye, sizeof bye, "%s by %s",
             kind == PROTO_NOTICE_BANNED ? "banned" : "kicked",
             *actor ? actor : "the operator");
  proto_msg m = {.type = PROTO_BYE};
  m.u.bye.reason = proto_str_c(bye);
  conn_send_msg(c, &m);
  log_info(conn_peer(c), "%s %s", name, bye);
  conn_close(c, true, kind == PROTO_NOTICE_BANNED ? "banned" : "kicked");
}

/* Kick by name. */
int admin_kick(const char *actor, const char *name, const char *reason) {
  user *u = user_find(name, strlen(name));
  if (u == NULL)
    return -PERR_USER_OFFLINE;
  admin_boot(u, PROTO_NOTICE_KICKED, actor, reason ? reason : "");
  return 0;
}

/* Store answer for a ban: boot the user if online, then report. */
static void admin_on_banned(store_job *j) {
  struct conn *from = j->ctx;
  admin_done_cb done = (admin_done_cb)(uintptr_t)j->arg;
  if (j->found) {
    user *u = user_find(j->out_name, strlen(j->out_name));
    if (u != NULL)
      admin_boot(u, PROTO_NOTICE_BANNED, j->text, j->text2);
    log_info(NULL, "%s banned by %s for %s", j->out_name,
             *j->text ? j->text : "the operator", j->num ? "a while" : "ever");
  }
  uint32_t secs = (uint32_t)j->num2;
  done(from, j->tag, j->found ? j->out_name : j->name, j->found, secs);
  if (from != NULL)
    conn_unref(from);
}

/* Stores the ban off the loop. The end is kept in milliseconds, so that
 * a ban of N seconds lasts N seconds, not N minus a fraction. */
void admin_ban(struct conn *from, uint64_t tag, const char *actor,
               const char *name, uint32_t seconds, const char *reason,
               admin_done_cb done) {
  store_job *j =
      store_job_new(STORE_BAN, admin_on_banned, from ? conn_ref(from) : NULL);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->text, sizeof j->text, "%s", actor);
  snprintf(j->text2, sizeof j->text2, "%s", reason ? reason : "");
  j->num = seconds ? server_wall_ms() + (uint64_t)seconds * 1000 : 0;
  j->num2 = seconds;
  j->arg = (uintptr_t)done;
  j->tag = tag;
  store_submit(j);
}

/* Store answer for an unban: log and report. */
static void admin_on_unbanned(store_job *j) {
  struct conn *from = j->ctx;
  admin_done_cb done = (admin_done_cb)(uintptr_t)j->arg;
  if (j->found)
    log_info(NULL, "%s unbanned by %s", j->out_name,
             *j->text ? j->text : "the operator");
  done(from, j->tag, j->found ? j->out_name : j->name, j->found, 0);
  if (from != NULL)
    conn_unref(from);
}

/* Deletes the ban off the loop. */
void admin_unban(struct conn *from, uint64_t tag, const char *actor,
                 const char *name, admin_done_cb done) {
  store_job *j = store_job_new(STORE_UNBAN, admin_on_unbanned,
                               from ? conn_ref(from) : NULL);
  snprintf(j->name, sizeof j->name, "%s", name);
  snprintf(j->text, sizeof j->text, "%s", actor);
  j->arg = (uintptr_t)done;
  j->tag = tag;
  store_submit(j);
}

/* Copies a text field, refusing control characters. */
static int admin_text(char *dst, size_t cap, proto_str s) {
  if (proto_has_control(s.p, s.n))
    return -PERR_CONTROL_CHARS;
  proto_str_copy(dst, cap, s);
  return 0;
}

/* KICK from a client. */
void admin_on_kick(struct conn *c, const proto_kick *req) {
  char name[PROTO_MAX_NAME + 1], reason[PROTO_MAX_REASON * 4 + 1];
  admin_text(name, sizeof name, req->user);
  if (c->user->role != PROTO_ROLE_ADMIN) {
    conn_error(c, PERR_PERMISSION, PROTO_KICK, name, NULL);
    return;
  }
  if (admin_text(reason, sizeof reason, req->reason) < 0) {
    conn_error(c, PERR_CONTROL_CHARS, PROTO_KICK, name, NULL);
    return;
  }
  char actor[PROTO_MAX_NAME + 1];
  snprintf(actor, sizeof actor, "%s", c->user->name);
  if (admin_kick(actor, name, reason) < 0) {
    conn_error(c, PERR_USER_OFFLINE, PROTO_KICK, name, "%s is not online",
               name);
    return;
  }
  if (!c->closing) /* the actor may have kicked itself */
    admin_notice(c, PROTO_NOTICE_KICKED, name, actor, reason);
}

/* Reply to a client's BAN. */
static void admin_ban_reply(struct conn *c, uint64_t tag, const char *name,
                            bool found, uint32_t seconds) {
  (void)seconds;
  (void)tag;
  if (c == NULL || c->closing || c->user == NULL)
    return;
  if (!found) {
    conn_error(c, PERR_NO_SUCH_USER, PROTO_BAN, name, "no such user: %s", name);
    return;
  }
  admin_notice(c, PROTO_NOTICE_BANNED, name, c->user->name, "");
}

/* BAN from a client. */
void admin_on_ban(struct conn *c, const proto_ban *req) {
  char name[PROTO_MAX_NAME + 1], reason[PROTO_MAX_REASON * 4 + 1];
  admin_text(name, sizeof name, req->user);
  if (c->user->role != PROTO_ROLE_ADMIN) {
    conn_error(c, PERR_PERMISSION, PROTO_BAN, name, NULL);
    return;
  }
  if (proto_check_name(req->user.p, req->user.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_BAN, name, NULL);
    return;
  }
  if (admin_text(reason, sizeof reason, req->reason) < 0) {
    conn_error(c, PERR_CONTROL_CHARS, PROTO_BAN, name, NULL);
    return;
  }
  admin_ban(c, 0, c->user->name, name, req->duration_s, reason,
            admin_ban_reply);
}

/* Reply to a client's UNBAN: a NOTICE UNBANNED to the operator, or
 * NOT_BANNED. */
static void admin_unban_reply(struct conn *c, uint64_t tag, const char *name,
                              bool found, uint32_t seconds) {
  (void)seconds;
  (void)tag;
  if (c == NULL || c->closing || c->user == NULL)
    return;
  if (!found) {
    conn_error(c, PERR_NOT_BANNED, PROTO_UNBAN, name, "%s is not banned", name);
    return;
  }
  admin_notice(c, PROTO_NOTICE_UNBANNED, name, c->user->name, "");
}

/* UNBAN from a client. */
void admin_on_unban(struct conn *c, const proto_unban *req) {
  char name[PROTO_MAX_NAME + 1];
  admin_text(name, sizeof name, req->user);
  if (c->user->role != PROTO_ROLE_ADMIN) {
    conn_error(c, PERR_PERMISSION, PROTO_UNBAN, name, NULL);
    return;
  }
  if (proto_check_name(req->user.p, req->user.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_UNBAN, name, NULL);
    return;
  }
  admin_unban(c, 0, c->user->name, name, admin_unban_reply);
}

/* Store answer for BANS_REQ: one BAN_ENTRY per ban, then BANS_END. */
static void admin_on_ban_list(store_job *j) {
  struct conn *c = j->ctx;
  if (!c->closing && c->user != NULL) {
    for (size_t i = 0; i < j->nbans; i++) {
      const store_ban *b = &j->bans[i];
      proto_msg m = {.type = PROTO_BAN_ENTRY};
      m.u.ban_entry.user = proto_str_c(b->name);
      m.u.ban_entry.until_ms = b->until_ms;
      m.u.ban_entry.since_ms = b->since_ms;
      m.u.ban_entry.actor = proto_str_c(b->actor);
      m.u.ban_entry.reason = proto_str_c(b->reason);
      conn_send_msg(c, &m);
    }
    proto_msg end = {.type = PROTO_BANS_END};
    end.u.bans_end.count = (uint32_t)j->nbans;
    conn_send_msg(c, &end);
  }
  conn_unref(c);
}

/* BANS_REQ from a client. */
void admin_on_bans(struct conn *c) {
  if (c->user->role != PROTO_ROLE_ADMIN) {
    conn_error(c, PERR_PERMISSION, PROTO_BANS_REQ, "", NULL);
    return;
  }
  store_submit(store_job_new(STORE_BANS, admin_on_ban_list, conn_ref(c)));
}
