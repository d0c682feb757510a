/* client_handle.c: the handlers for frames from the server: handshake and
 * login answers, messages, rooms, presence, notices and errors, each
 * keeping the model current and telling the face. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"
#include "client_xfer.h"

/* Picks the fatal class for a login-phase server error. */
static client_fatal client_handle_error_class(uint16_t code) {
  switch (code) {
  case PERR_BANNED:
    return CLIENT_FATAL_KICKED;
  case PERR_SERVER_FULL:
  case PERR_SERVER_BUSY: /* password checks queued up: try again later */
  case PERR_SHUTTING_DOWN:
  case PERR_INTERNAL:
  case PERR_TIMEOUT:
    return CLIENT_FATAL_NONE; /* transient: retry if we may */
  case PERR_TLS_REQUIRED:     /* we run --insecure-plaintext: no retry helps */
    return CLIENT_FATAL_CONNECT;
  default:
    return CLIENT_FATAL_AUTH;
  }
}

/* Sends the credentials: token if we have one, else REGISTER or LOGIN. */
static void client_handle_login(client *c, client_conn *k) {
  proto_msg m = {0};
  if (c->have_token && !k->tried_password) {
    m.type = PROTO_LOGIN_TOKEN;
    m.u.login_token.name = proto_str_c(c->opts.user);
    m.u.login_token.token.p = c->token;
    m.u.login_token.token.n = PROTO_TOKEN_LEN;
  } else if (!c->opts.password) {
    c->auth_retryable = true; /* a kept token was refused: ask for it */
    client_conn_lost(c,
                     "no password: set PARLEY_PASSWORD or use --password-file",
                     CLIENT_FATAL_AUTH);
    return;
  } else {
    m.type = c->opts.do_register ? PROTO_REGISTER : PROTO_LOGIN;
    m.u.login.name = proto_str_c(c->opts.user);
    m.u.login.password = proto_str_c(c->opts.password);
  }
  k->phase = CONN_LOGIN;
  int r = client_send(c, &m);
  if (r == UV_ENOTCONN || r == UV_ENOBUFS || r == UV_ENOMEM)
    client_conn_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
  else if (r < 0) /* the encoder refused our name or password */
    client_conn_lost(c, proto_strerror(r), CLIENT_FATAL_AUTH);
}

/* Window for a message or history target. For direct messages, peer is
 * the other party; a conversation is opened when needed, and past the
 * window limit the server window takes it. A room's window is never
 * opened here: it exists from /join (or the start) until PARTED, so room
 * traffic without one is for a room we have left (backlog the server
 * answers a JOIN with can arrive after a quick PART's PARTED): NULL, and
 * the caller drops it. A window it opened would be a room we are not
 * in, rejoined at the next start from the kept session. */
static client_window *client_handle_target_window(client *c, uint8_t kind,
                                                  proto_str target,
                                                  proto_str from,
                                                  bool from_valid) {
  client_window *w;
  if (kind == PROTO_TO_ROOM) {
    char name[CLIENT_ROOM_SZ];
    proto_str_copy(name, sizeof name, target);
    w = client_window_find(c, name);
    if (w && w->kind == CLIENT_WIN_ROOM)
      return w;
    /* At the window limit a joined room may have no window of its own. */
    return c->m.nwindows >= CLIENT_MAX_WINDOWS ? c->m.windows[0] : NULL;
  }
  proto_str peer = target;
  if (from_valid && !client_str_eq(from, c->m.self))
    peer = from;
  w = client_window_get(c, CLIENT_WIN_QUERY, peer.p, peer.n);
  return w ? w : c->m.windows[0];
}

/* True when w still holds the line of message id sent at ts_ms (newest
 * first: replayed backlog usually matches recent lines). Both must match:
 * a server that lost its newest messages in a crash may hand out an id
 * again, and the new message must not pass for the old one. Only backlog
 * pays for this scan, at most history_len times per join. */
static bool client_handle_has_msg(const client_window *w, uint64_t id,
                                  uint64_t ts_ms) {
  for (size_t i = w->count; i-- > 0;) {
    const client_line *l = client_window_line(w, i);
    if (l->id == id && l->ts_ms == ts_ms)
      return true;
  }
  return false;
}

/* True when text mentions our name or a highlight word of the config. */
static bool client_handle_mentions(const client *c, const char *text) {
  if (client_window_mentions(text, c->m.self))
    return true;
  for (unsigned i = 0; i < c->opts.config.nhighlight; i++)
    if (client_window_mentions(text, c->opts.config.highlight[i]))
      return true;
  return false;
}

/* Handles the HISTORY_END of a login summary request (a remembered
 * conversation): "3 unread direct messages from root" when some came
 * while we were away, nothing otherwise. Returns true when it was one. */
static bool client_handle_dm_summary(client *c, const proto_history_end *h) {
  if (h->kind != PROTO_TO_USER)
    return false;
  char peer[CLIENT_NAME_SZ];
  proto_str_copy(peer, sizeof peer, h->target);
  client_dm_seen *d = client_state_dm(c, peer);
  if (!d || !d->pending)
    return false;
  d->pending = false;
  client_window *w = client_window_find(c, peer);
  if (d->unread == 0 || !w)
    return true;
  if (w != c->m.current) {
    w->unread = d->unread;
    w->activity = ++c->m.seq;
  }
  client_info(c, c->m.current, CLIENT_LINE_INFO,
              "%u unread direct message%s from %s", d->unread,
              d->unread == 1 ? "" : "s", peer);
  client_event ev = {
      .type = CLIENT_EV_UNREAD, .win = w, .peer = peer, .count = d->unread};
  client_emit(c, &ev);
  d->unread = 0;
  return true;
}

/* Handles MSG: adds the line (deduplicating replayed backlog), counts
 * unread and mentions, fires MESSAGE. */
static void client_handle_msg(client *c, const proto_chat *ch) {
  bool backlog = ch->flags & PROTO_MSGF_BACKLOG;
  client_dm_seen *d = NULL;
  if (ch->kind == PROTO_TO_USER) {
    char peer[CLIENT_NAME_SZ];
    proto_str_copy(peer, sizeof peer,
                   client_str_eq(ch->from, c->m.self) ? ch->target : ch->from);
    d = client_state_dm(c, peer);
    /* A login summary's old messages open no window (QUERY_OPEN shows
     * them when the user asks). */
    if (d && d->pending && backlog && ch->id <= d->last_id &&
        !client_window_find(c, peer))
      return;
  }
  client_window *w =
      client_handle_target_window(c, ch->kind, ch->target, ch->from, true);
  if (!w)
    return; /* a room we have left */
  if (backlog && ch->id != 0 && ch->id <= w->last_id &&
      client_handle_has_msg(w, ch->id, ch->ts_ms))
    return; /* already shown: a rejoin after reconnect replays history */
  if (ch->kind == PROTO_TO_USER) {
    char peer[CLIENT_NAME_SZ];
    bool self_from = client_str_eq(ch->from, c->m.self);
    proto_str_copy(peer, sizeof peer, self_from ? ch->target : ch->from);
    if (d && d->pending && backlog && !self_from && ch->id > d->last_id)
      d->unread++; /* arrived while we were away: counted at HISTORY_END */
    client_state_dm_seen(c, peer, ch->id); /* may move entries: */
    d = NULL;                              /* not used past here */
  }
  bool self = client_str_eq(ch->from, c->m.self);
  uint8_t flags = 0;
  if (ch->flags & PROTO_MSGF_ACTION)
    flags |= CLIENT_LINE_ACTION;
  if (backlog)
    flags |= CLIENT_LINE_BACKLOG;
  if (self)
    flags |= CLIENT_LINE_SELF;
  /* PROTO_MAX_TEXT characters of at most 4 bytes each stay within 4
   * bytes each once cleaned (a 1-byte control becomes 3). */
  static char text[PROTO_MAX_TEXT * 4 + 1];
  size_t tn = client_text_copy(text, sizeof text, ch->text);
  client_line *l = client_window_add(w, ch->id, ch->ts_ms, ch->from.p,
                                     ch->from.n, text, tn, flags);
  if (!l)
    return;
  if (!self && client_handle_mentions(c, l->text))
    l->flags = (flags |= CLIENT_LINE_HIGHLIGHT);
  if (!backlog && !self && w != c->m.current) {
    w->unread++;
    w->activity = ++c->m.seq;
    if (flags & CLIENT_LINE_HIGHLIGHT)
      w->highlight = true;
  }
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_MESSAGE, .win = w, .line = l};
  /* Named from the frame, not the window: at the window limit a
   * conversation lands in the server window but keeps its peer. */
  char who[CLIENT_ROOM_SZ];
  if (ch->kind == PROTO_TO_ROOM) {
    proto_str_copy(who, sizeof who, ch->target);
    ev.room = who;
  } else {
    proto_str_copy(who, sizeof who, self ? ch->target : ch->from);
    ev.peer = who;
  }
  client_emit(c, &ev);
}

/* Handles JOINED: the room window exists and is joined; focus it when the
 * user is still looking at the server window (the auto-joined #lobby). */
static void client_handle_joined(client *c, const proto_room_info *ri) {
  client_window *w =
      client_window_get(c, CLIENT_WIN_ROOM, ri->room.p, ri->room.n);
  if (!w)
    return;
  w->joined = true;
  w->parting = w->rejoin = false;
  w->members = ri->members;
  client_text_copy(w->topic, sizeof w->topic, ri->topic);
  c->m.seq++;
  if (c->m.current && c->m.current->kind == CLIENT_WIN_SERVER)
    client_window_switch(c, w);
  client_state_save(c); /* rooms to rejoin after a restart */
  client_event ev = {.type = CLIENT_EV_JOINED, .win = w};
  client_emit(c, &ev);
}

/* Handles PARTED: the room's window goes away. */
static void client_handle_parted(client *c, proto_str room) {
  char name[CLIENT_ROOM_SZ];
  proto_str_copy(name, sizeof name, room);
  client_window *w = client_window_find(c, name);
  if (w && w->kind == CLIENT_WIN_ROOM && w->rejoin) {
    /* "/part #x" then "/join #x" before the answers: the JOIN follows. */
    w->joined = w->parting = w->rejoin = false;
    c->m.seq++;
  } else if (w && w->kind == CLIENT_WIN_ROOM) {
    client_window_drop(c, w);
    client_state_save(c);
  }
  client_event ev = {.type = CLIENT_EV_PARTED, .name = name};
  client_emit(c, &ev);
}

/* Copies a wire presence into a model user. */
static void client_handle_user_from_wire(client *c, client_user *u,
                                         const proto_presence *p) {
  memset(u, 0, sizeof *u);
  proto_str_copy(u->name, sizeof u->name, p->user);
  u->status = p->status;
  client_text_copy(u->text, sizeof u->text, p->text);
  proto_str_copy(u->talking_with, sizeof u->talking_with, p->talking_with);
  u->idle_s = p->idle_s;
  u->idle_at = uv_now(c->loop);
  u->admin = p->flags & PROTO_PRESF_ADMIN;
  u->self = (p->flags & PROTO_PRESF_SELF) || client_str_eq(p->user, c->m.self);
}

/* Display name of a presence status. */
static const char *client_handle_status_name(uint8_t s) {
  return proto_status_name(s);
}

/* Handles PRESENCE: a WHO list entry is collected, a change applied. */
static void client_handle_presence(client *c, const proto_presence *p) {
  client_user u;
  client_handle_user_from_wire(c, &u, p);
  if (p->flags & PROTO_PRESF_LIST) {
    if (c->nwho >= CLIENT_MAX_USERS)
      return;
    if (c->nwho == c->who_cap) {
      size_t cap = c->who_cap ? c->who_cap * 2 : 64;
      client_user *n = realloc(c->who, cap * sizeof *n);
      if (!n)
        return;
      c->who = n;
      c->who_cap = cap;
    }
    c->who[c->nwho++] = u;
    return;
  }
  const client_user *shown = &u;
  bool was_online = client_user_find(c, u.name) != NULL;
  if (p->status == PROTO_OFFLINE)
    client_user_remove(c, u.name, NULL);
  else
    shown = client_user_upsert(c, &u);
  if (p->status != PROTO_OFFLINE && !was_online && !u.self)
    client_xfer_peer_online(c, u.name); /* interrupted sends resume */
  if (!shown)
    shown = &u;
  if (u.self)
    c->m.admin = u.admin;
  client_event ev = {.type = CLIENT_EV_PRESENCE, .user = shown};
  client_emit(c, &ev);
}

/* Handles a v3 PRESENCE_LIST: each entry as one PRESENCE (a list entry
 * when the frame has LIST, else a change), in order. Entries naming this
 * user without SELF are skipped: the server shares one frame among all,
 * and our own state comes with SELF (talking_with included). */
static void client_handle_presence_list(client *c,
                                        const proto_presence_list *pl) {
  size_t off = 0;
  proto_presence p;
  while (proto_plist_next(pl->entries, &off, &p) > 0) {
    if (!(p.flags & PROTO_PRESF_SELF) && client_str_eq(p.user, c->m.self))
      continue;
    p.flags |= pl->flags & PROTO_PRESF_LIST;
    client_handle_presence(c, &p);
  }
}

/* /who of many users in columns fitted to c->width, row by row in the
 * list's (name) order, like irssi's /names: "[@alice] [ bob  ] [-carol]",
 * the mark @ for an operator, - away, ! busy. */
static void client_handle_who_columns(client *c) {
  size_t wmax = 1;
  for (size_t i = 0; i < c->m.nusers; i++) {
    size_t n = strlen(c->m.users[i].name);
    wmax = n > wmax ? n : wmax;
  }
  size_t cell = wmax + 3;                           /* "[" mark name "]" */
  size_t width = c->width < 1000 ? c->width : 1000; /* fits line[] */
  size_t ncols = (width + 1) / (cell + 1);
  if (ncols == 0)
    ncols = 1;
  client_info(c, NULL, CLIENT_LINE_INFO,
              "%zu users online (@ operator, - away, ! busy)", c->m.nusers);
  char line[1024];
  size_t o = 0;
  for (size_t i = 0; i < c->m.nusers; i++) {
    const client_user *u = &c->m.users[i];
    char mark = u->admin                  ? '@'
                : u->status == PROTO_AWAY ? '-'
                : u->status == PROTO_BUSY ? '!'
                                          : ' ';
    o += (size_t)snprintf(line + o, sizeof line - o, "%s[%c%-*s]", o ? " " : "",
                          mark, (int)wmax, u->name);
    if ((i + 1) % ncols == 0 || i + 1 == c->m.nusers) {
      client_info(c, NULL, CLIENT_LINE_INFO, "%s", line);
      o = 0;
    }
  }
}

/* Handles WHO_END: the collected list replaces the model's. */
static void client_handle_who_end(client *c) {
  client_user *list = c->who;
  size_t n = c->nwho;
  c->who = NULL;
  c->nwho = c->who_cap = 0;
  client_user_replace(c, list, n);
  unsigned above = c->opts.join_summary_above;
  if (c->who_requested && c->width && above && n > above) {
    c->who_requested = false;
    client_handle_who_columns(c);
  } else if (c->who_requested) {
    c->who_requested = false;
    client_info(c, NULL, CLIENT_LINE_INFO, "%zu user%s online", n,
                n == 1 ? "" : "s");
    for (size_t i = 0; i < c->m.nusers; i++) {
      const client_user *u = &c->m.users[i];
      client_info(c, NULL, CLIENT_LINE_INFO, "  %s%s  %s%s%s%s%s", u->name,
                  u->admin ? " (op)" : "", client_handle_status_name(u->status),
                  u->text[0] ? ": " : "", u->text,
                  u->talking_with[0] ? ", talking with " : "", u->talking_with);
    }
  }
  client_event ev = {.type = CLIENT_EV_USERS};
  client_emit(c, &ev);
}

/* Adds name to room window w's member list (when one is known). */
static void client_handle_names_add(client_window *w, const char *name) {
  if (!w->names_known || w->nnames >= CLIENT_MAX_NAMES)
    return;
  for (size_t i = 0; i < w->nnames; i++)
    if (strcasecmp(w->names[i], name) == 0)
      return;
  char(*n)[CLIENT_NAME_SZ] = realloc(w->names, (w->nnames + 1) * sizeof *n);
  if (!n)
    return;
  w->names = n;
  snprintf(w->names[w->nnames++], CLIENT_NAME_SZ, "%s", name);
}

/* Removes name from room window w's member list. */
static void client_handle_names_remove(client_window *w, const char *name) {
  for (size_t i = 0; i < w->nnames; i++)
    if (strcasecmp(w->names[i], name) == 0) {
      memmove(&w->names[i], &w->names[i + 1],
              (w->nnames - i - 1) * sizeof *w->names);
      w->nnames--;
      return;
    }
}

/* Handles MEMBER: collects one name until MEMBERS_END. */
static void client_handle_member(client *c, const proto_member *mb) {
  if (c->nnames >= CLIENT_MAX_NAMES)
    return;
  if (c->nnames == c->names_cap) {
    size_t cap = c->names_cap ? c->names_cap * 2 : 32;
    char(*n)[CLIENT_NAME_SZ] = realloc(c->names, cap * sizeof *n);
    if (!n)
      return;
    c->names = n;
    c->names_cap = cap;
  }
  proto_str_copy(c->names[c->nnames++], CLIENT_NAME_SZ, mb->name);
}

/* Orders member names case-insensitively. */
static int client_handle_name_cmp(const void *a, const void *b) {
  return strcasecmp(a, b);
}

/* Shows the collected member names of room as info lines (about 1 KiB
 * each) in the current window. */
static void client_handle_names_show(client *c, const char *room) {
  char line[1024];
  size_t o = (size_t)snprintf(line, sizeof line, "%s: %zu member%s:", room,
                              c->nnames, c->nnames == 1 ? "" : "s");
  for (size_t i = 0; i < c->nnames; i++) {
    size_t need = strlen(c->names[i]) + 1;
    if (o + need + 1 >= sizeof line) { /* one info line per ~1 KiB */
      client_info(c, NULL, CLIENT_LINE_INFO, "%s", line);
      o = (size_t)snprintf(line, sizeof line, " ");
    }
    o += (size_t)snprintf(line + o, sizeof line - o, " %s", c->names[i]);
  }
  client_info(c, NULL, CLIENT_LINE_INFO, "%s", line);
}

/* Handles MEMBERS_END: the room window (when we have one) keeps the list,
 * the current window shows it, NAMES fires. */
static void client_handle_members_end(client *c, const proto_members_end *me) {
  char room[CLIENT_ROOM_SZ];
  proto_str_copy(room, sizeof room, me->room);
  qsort(c->names, c->nnames, sizeof *c->names, client_handle_name_cmp);
  client_window *w = client_window_find(c, room);
  if (w && w->kind == CLIENT_WIN_ROOM) {
    free(w->names);
    w->names = NULL;
    w->nnames = 0;
    if (c->nnames) {
      w->names = malloc(c->nnames * sizeof *w->names);
      if (w->names) {
        memcpy(w->names, c->names, c->nnames * sizeof *w->names);
        w->nnames = c->nnames;
      }
    }
    w->names_known = w->names || c->nnames == 0;
    w->members = (uint32_t)c->nnames;
    c->m.seq++;
  }
  bool quiet = w && w->kind == CLIENT_WIN_ROOM && w->names_quiet;
  if (quiet) /* a view refreshing its list: no lines */
    w->names_quiet = false;
  else
    client_handle_names_show(c, room);
  client_event ev = {.type = CLIENT_EV_NAMES,
                     .win = w,
                     .room = room,
                     .names = (const char(*)[CLIENT_NAME_SZ])c->names,
                     .n = c->nnames};
  client_emit(c, &ev);
  c->nnames = 0;
}

/* Handles NOTICE: a sentence in the right window; our own kick or ban
 * stops reconnection. */
static void client_handle_notice(client *c, const proto_notice *nt) {
  char room[CLIENT_ROOM_SZ], user[CLIENT_NAME_SZ], actor[CLIENT_NAME_SZ];
  char text[PROTO_MAX_REASON * 4 + 1];
  proto_str_copy(room, sizeof room, nt->room);
  proto_str_copy(user, sizeof user, nt->user);
  proto_str_copy(actor, sizeof actor, nt->actor);
  client_text_copy(text, sizeof text, nt->text);
  char buf[1200];
  const char *sep = text[0] ? ": " : "";
  switch (nt->kind) {
  case PROTO_NOTICE_JOINED:
    snprintf(buf, sizeof buf, "%s joined %s", user, room);
    break;
  case PROTO_NOTICE_LEFT:
    snprintf(buf, sizeof buf, "%s left %s%s%s", user, room, sep, text);
    break;
  case PROTO_NOTICE_QUIT:
    snprintf(buf, sizeof buf, "%s quit%s%s", user, sep, text);
    break;
  case PROTO_NOTICE_KICKED:
    snprintf(buf, sizeof buf, "%s was kicked by %s%s%s", user,
             actor[0] ? actor : "the server", sep, text);
    break;
  case PROTO_NOTICE_BANNED:
    snprintf(buf, sizeof buf, "%s was banned by %s%s%s", user,
             actor[0] ? actor : "the server", sep, text);
    break;
  case PROTO_NOTICE_TOPIC:
    snprintf(buf, sizeof buf, "%s set the topic of %s to: %s",
             actor[0] ? actor : (user[0] ? user : "the server"), room, text);
    break;
  case PROTO_NOTICE_MOTD:
    snprintf(buf, sizeof buf, "%s", text);
    break;
  case PROTO_NOTICE_UNBANNED:
    snprintf(buf, sizeof buf, "%s was unbanned by %s", user,
             actor[0] ? actor : "the server");
    break;
  default:
    snprintf(buf, sizeof buf, "server notice: %s", text);
    break;
  }
  bool about_me = strcasecmp(user, c->m.self) == 0;
  if (about_me &&
      (nt->kind == PROTO_NOTICE_KICKED || nt->kind == PROTO_NOTICE_BANNED))
    c->kicked = true;
  client_window *w = NULL;
  if (room[0])
    w = client_window_find(c, room);
  if (!w && nt->kind == PROTO_NOTICE_SERVER)
    w = c->m.current;
  if (!w && user[0])
    w = client_window_find(c, user);
  if (!w)
    w = c->m.windows[0];
  if (nt->kind == PROTO_NOTICE_TOPIC && w->kind == CLIENT_WIN_ROOM)
    snprintf(w->topic, sizeof w->topic, "%s", text);
  if (w->kind == CLIENT_WIN_ROOM && !about_me && room[0]) {
    /* Whoever leaves a room (part, quit, kick, ban: one notice per room)
     * leaves its count and its member list. */
    bool gone =
        nt->kind == PROTO_NOTICE_LEFT || nt->kind == PROTO_NOTICE_QUIT ||
        nt->kind == PROTO_NOTICE_KICKED || nt->kind == PROTO_NOTICE_BANNED;
    if (nt->kind == PROTO_NOTICE_JOINED) {
      w->members++;
      client_handle_names_add(w, user);
    } else if (gone) {
      if (w->members > 0)
        w->members--;
      client_handle_names_remove(w, user);
    }
  }
  /* A large room's joins and leaves wait for its summary line. */
  bool summed =
      !about_me && room[0] && client_summary_note(c, w, nt->kind, user);
  client_line *l =
      summed ? NULL
             : client_window_add(w, 0, nt->ts_ms ? nt->ts_ms : client_now_ms(),
                                 user, strlen(user), buf, strlen(buf),
                                 nt->kind == PROTO_NOTICE_MOTD
                                     ? CLIENT_LINE_INFO
                                     : CLIENT_LINE_NOTICE);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_NOTICE,
                     .win = w,
                     .line = l,
                     .notice_kind = nt->kind,
                     .room = room,
                     .about = user,
                     .actor = actor,
                     .text = text};
  client_emit(c, &ev);
}

/* Handles a v3 ROOM_EVENTS: each entry as the NOTICE it stands for, but
 * our own JOINED (the shared frame may carry it; JOINED told us). */
static void client_handle_room_events(client *c, const proto_room_events *re) {
  size_t off = 0;
  proto_notice n;
  while (proto_revents_next(re->entries, &off, &n) > 0) {
    if (n.kind == PROTO_NOTICE_JOINED && client_str_eq(n.user, c->m.self))
      continue;
    n.room = re->room;
    n.ts_ms = re->ts_ms;
    client_handle_notice(c, &n);
  }
}

/* Reports an ERROR frame in the current window (or the one it is about). */
static void client_handle_report_error(client *c, const proto_error_msg *e) {
  char subject[256], text[PROTO_MAX_ERRTEXT * 4 + 1];
  client_text_copy(subject, sizeof subject, e->subject);
  client_text_copy(text, sizeof text, e->text);
  if (!text[0])
    snprintf(text, sizeof text, "%s", proto_strerror(e->code));
  /* A refused join or query leaves no window behind: drop it first, so
   * the error lands in the window the user sees next (/query nosuchuser
   * was reported into the window that then went away). */
  if (subject[0] &&
      (e->ref_type == PROTO_JOIN || e->ref_type == PROTO_QUERY_OPEN)) {
    client_window *fw = client_window_find(c, subject);
    if (fw && (e->ref_type == PROTO_QUERY_OPEN || !fw->joined))
      client_window_drop(c, fw);
  }
  client_error(c, NULL, e->code, proto_errname(e->code), subject, text);
}

/* Handles ERROR in any phase. */
static void client_handle_error(client *c, client_conn *k,
                                const proto_error_msg *e) {
  char text[PROTO_MAX_ERRTEXT * 4 + 64];
  client_text_copy(text, sizeof text, e->text);
  if (!text[0])
    snprintf(text, sizeof text, "%s", proto_strerror(e->code));
  if (e->code == PERR_VERSION) {
    char sub[64], buf[sizeof text + 200];
    client_text_copy(sub, sizeof sub, e->subject);
    snprintf(buf, sizeof buf,
             "protocol version mismatch: the server speaks version %s, this "
             "client speaks %d (%s); upgrade the older side",
             sub[0] ? sub : "?", PROTO_VERSION, text);
    client_handle_report_error(c, e);
    client_conn_lost(c, buf, CLIENT_FATAL_CONNECT);
    return;
  }
  if (k->phase == CONN_LOGIN || k->phase == CONN_HELLO) {
    if (e->code == PERR_TOKEN_INVALID && k->phase == CONN_LOGIN) {
      c->have_token = false;
      k->tried_password = true;
      client_handle_login(c, k);
      return;
    }
    client_handle_report_error(c, e);
    client_fatal f = client_handle_error_class(e->code);
    c->auth_retryable =
        k->phase == CONN_LOGIN &&
        (e->code == PERR_AUTH_FAILED || e->code == PERR_BAD_PASSWORD);
    if (c->auth_retryable)
      c->login_tries++;
    char buf[sizeof text + 80];
    snprintf(buf, sizeof buf, "%s failed: %s",
             k->phase == CONN_HELLO ? "handshake"
             : c->opts.do_register  ? "registration"
                                    : "login",
             text);
    client_conn_lost(c, buf, f);
    return;
  }
  if (e->code == PERR_BANNED)
    c->kicked = true;
  bool folder =
      e->ref_type >= PROTO_FOLDER_LIST_REQ && e->ref_type <= PROTO_FOLDER_OK;
  /* A name that exists: the overwrite question stands for the error (and
   * marks the upload's row waiting, which client_xfer_on_error leaves). */
  bool asked = folder && client_folder_on_error(c, e);
  if (!asked && !client_xfer_error_quiet(c, e->ref_type, e->code, e->subject))
    client_handle_report_error(c, e);
  if (e->ref_type >= PROTO_FILE_OFFER && e->ref_type <= PROTO_FILE_PIN)
    client_xfer_on_error(c, e->ref_type, e->code, e->subject, text);
  if (folder)
    client_xfer_on_error(c, e->ref_type, e->code, e->subject, text);
  if (e->code == PERR_SESSION_REPLACED || e->code == PERR_REVOKED)
    client_conn_lost(c, text, CLIENT_FATAL_OTHER); /* no reconnect */
}

/* Handles LOGIN_OK: keeps the token, reports CONNECTED, rejoins rooms. */
static void client_handle_login_ok(client *c, client_conn *k,
                                   const proto_login_ok *ok) {
  k->phase = CONN_READY;
  proto_str_copy(c->m.self, sizeof c->m.self, ok->name);
  snprintf(c->opts.user, sizeof c->opts.user, "%s", c->m.self);
  c->m.admin = ok->role == PROTO_ROLE_ADMIN;
  if (ok->token.n == PROTO_TOKEN_LEN) {
    memcpy(c->token, ok->token.p, PROTO_TOKEN_LEN);
    c->have_token = true;
  }
  c->opts.do_register = false; /* the account exists now */
  client_state_save(c);        /* the new token */
  c->ever_ready = true;
  c->attempt = 0;
  c->kicked = false;
  c->login_tries = 0;
  c->auth_retryable = false;
  c->pings_missed = 0;
  c->ping_outstanding = false;
  client_set_state(c, CLIENT_CONNECTED, "connected");
  /* The server auto-joins #lobby: its window is current from now on, so
   * text sent before JOINED arrives already has a place to go (the server
   * handles our SAY after its own join). */
  client_window *lobby =
      client_window_get(c, CLIENT_WIN_ROOM, "#lobby", strlen("#lobby"));
  if (lobby && c->m.current && c->m.current->kind == CLIENT_WIN_SERVER)
    client_window_switch(c, lobby);
  /* Rooms we were in before a reconnect (the server re-adds #lobby). */
  for (size_t i = 0; i < c->m.nwindows; i++) {
    client_window *w = c->m.windows[i];
    w->opened = false; /* a new session: conversations open on next use */
    if (w->kind != CLIENT_WIN_ROOM || strcasecmp(w->name, "#lobby") == 0)
      continue;
    proto_msg m = {.type = PROTO_JOIN};
    m.u.join.room = proto_str_c(w->name);
    (void)client_send(c, &m);
  }
  client_ops_logged_in(c);
  /* So does whom we are talking with (after the privacy setting above):
   * the conversation we last opened, while its window is open. */
  client_window *tw = c->talking[0] ? client_window_find(c, c->talking) : NULL;
  if (tw && tw->kind == CLIENT_WIN_QUERY) {
    proto_msg m = {.type = PROTO_QUERY_OPEN};
    m.u.query_open.user = proto_str_c(tw->name);
    if (client_send(c, &m) == 0)
      tw->opened = true;
  } else {
    c->talking[0] = '\0';
  }
  /* Our status survives a reconnect (the server starts us ONLINE). */
  if (c->status != PROTO_ONLINE || c->status_text[0]) {
    proto_msg m = {.type = PROTO_SET_STATUS};
    m.u.set_status.status = c->status;
    m.u.set_status.text = proto_str_c(c->status_text);
    (void)client_send(c, &m);
  }
  /* Conversations we know: what came while we were away. */
  client_state_dm_summary(c);
  /* Lines typed while we were away, after the rejoins above. */
  client_exec_flush_held(c);
  /* First probe at once so the status bar shows lag early. */
  client_ping_start(c);
  client_xfer_logged_in(c); /* transfers left unfinished resume */
  /* Last: the face may run commands (even /quit) from this event. */
  client_event ev = {.type = CLIENT_EV_CONNECTED};
  client_emit(c, &ev);
}

/* Handles ROOM / ROOMS_END. */
static void client_handle_room(client *c, const proto_room_info *ri) {
  if (c->nrooms >= CLIENT_MAX_LIST)
    return;
  if (c->nrooms == c->rooms_cap) {
    size_t cap = c->rooms_cap ? c->rooms_cap * 2 : 16;
    client_room_entry *n = realloc(c->rooms, cap * sizeof *n);
    if (!n)
      return;
    c->rooms = n;
    c->rooms_cap = cap;
  }
  client_room_entry *e = &c->rooms[c->nrooms++];
  proto_str_copy(e->room, sizeof e->room, ri->room);
  e->members = ri->members;
  client_text_copy(e->topic, sizeof e->topic, ri->topic);
}

/* Handles ROOMS_END: lists the collected rooms and fires ROOMS. */
static void client_handle_rooms_end(client *c) {
  client_info(c, NULL, CLIENT_LINE_INFO, "%zu room%s", c->nrooms,
              c->nrooms == 1 ? "" : "s");
  for (size_t i = 0; i < c->nrooms; i++)
    client_info(c, NULL, CLIENT_LINE_INFO, "  %s  %u member%s%s%s",
                c->rooms[i].room, c->rooms[i].members,
                c->rooms[i].members == 1 ? "" : "s",
                c->rooms[i].topic[0] ? "  " : "", c->rooms[i].topic);
  client_event ev = {
      .type = CLIENT_EV_ROOMS, .rooms = c->rooms, .n = c->nrooms};
  client_emit(c, &ev);
  c->nrooms = 0;
}

/* Dispatches one decoded frame. */
void client_handle_frame(client *c, client_conn *k, const proto_msg *m) {
  const char *bad = client_text_check_frame(m);
  if (bad) {
    char buf[200];
    snprintf(buf, sizeof buf,
             "server sent a %s with an invalid %s (control characters or "
             "not a valid name); frame ignored",
             proto_type_name(m->type), bad);
    if (m->type == PROTO_WELCOME || m->type == PROTO_LOGIN_OK) {
      /* No session can rest on a name we cannot show. */
      client_conn_lost(c, buf, CLIENT_FATAL_CONNECT);
      return;
    }
    client_error(c, c->m.windows[0], 0, "BAD_FRAME", "", buf);
    return;
  }
  if (k->phase == CONN_HELLO && m->type != PROTO_WELCOME &&
      m->type != PROTO_ERROR && m->type != PROTO_BYE) {
    client_conn_lost(c, "server did not answer HELLO with WELCOME",
                     CLIENT_FATAL_NONE);
    return;
  }
  switch (m->type) {
  case PROTO_WELCOME: {
    const proto_welcome *w = &m->u.welcome;
    if (k->phase != CONN_HELLO)
      return;
    if (w->version < PROTO_VERSION_MIN || w->version > PROTO_VERSION) {
      char buf[200];
      snprintf(buf, sizeof buf,
               "protocol version mismatch: server speaks %u, this client %d",
               w->version, PROTO_VERSION);
      client_conn_lost(c, buf, CLIENT_FATAL_CONNECT);
      return;
    }
    c->m.limits = (client_limits){
        .version = w->version,
        .max_msg_chars = w->max_msg_chars,
        .max_frame = w->max_frame,
        .max_file_size = w->max_file_size,
        .max_rooms = w->max_rooms,
        .history_len = w->history_len,
        .flags = w->flags,
    };
    proto_str_copy(c->m.server_name, sizeof c->m.server_name, w->server_name);
    client_text_copy(c->m.server_agent, sizeof c->m.server_agent, w->agent);
    proto_str_copy(c->m.windows[0]->name, sizeof c->m.windows[0]->name,
                   w->server_name);
    client_handle_login(c, k);
    return;
  }
  case PROTO_ERROR:
    client_handle_error(c, k, &m->u.error);
    return;
  case PROTO_BYE: {
    char buf[PROTO_MAX_REASON * 4 + 40];
    char r[PROTO_MAX_REASON * 4 + 1];
    client_text_copy(r, sizeof r, m->u.bye.reason);
    snprintf(buf, sizeof buf, "server closed the session%s%s", r[0] ? ": " : "",
             r);
    client_conn_lost(c, buf, CLIENT_FATAL_NONE);
    return;
  }
  case PROTO_PING: {
    proto_msg p = {.type = PROTO_PONG};
    p.u.pong.token = m->u.ping.token;
    (void)client_send(c, &p);
    return;
  }
  case PROTO_PONG:
    if (c->ping_outstanding && m->u.pong.token == c->ping_token) {
      c->ping_outstanding = false;
      c->pings_missed = 0;
      c->m.lag_ms = (int64_t)(uv_now(c->loop) - c->ping_sent);
      c->m.seq++;
      client_event ev = {.type = CLIENT_EV_LAG};
      client_emit(c, &ev);
    }
    return;
  default:
    break;
  }
  if (k->phase == CONN_LOGIN) {
    if (m->type == PROTO_LOGIN_OK)
      client_handle_login_ok(c, k, &m->u.login_ok);
    return; /* nothing else is meaningful before LOGIN_OK */
  }
  if (k->phase != CONN_READY)
    return;
  switch (m->type) {
  case PROTO_JOINED:
    client_handle_joined(c, &m->u.joined);
    break;
  case PROTO_PARTED:
    client_handle_parted(c, m->u.parted.room);
    break;
  case PROTO_MSG:
    client_handle_msg(c, &m->u.msg);
    break;
  case PROTO_HISTORY_END: {
    const proto_history_end *h = &m->u.history_end;
    if (client_handle_dm_summary(c, h))
      break;
    proto_str none = {0};
    client_window *w =
        client_handle_target_window(c, h->kind, h->target, none, false);
    client_event ev = {
        .type = CLIENT_EV_HISTORY_END, .win = w, .count = h->count};
    char left[CLIENT_ROOM_SZ];
    if (!w) { /* the backlog of a room we have left: no window */
      proto_str_copy(left, sizeof left, h->target);
      ev.room = left;
    } else if (w->kind == CLIENT_WIN_ROOM)
      ev.room = w->name;
    else if (w->kind == CLIENT_WIN_QUERY)
      ev.peer = w->name;
    client_emit(c, &ev);
    break;
  }
  case PROTO_PRESENCE:
    client_handle_presence(c, &m->u.presence);
    break;
  case PROTO_WHO_END:
    client_handle_who_end(c);
    break;
  case PROTO_PRESENCE_LIST:
    client_handle_presence_list(c, &m->u.presence_list);
    break;
  case PROTO_ROOM_EVENTS:
    client_handle_room_events(c, &m->u.room_events);
    break;
  case PROTO_NOTICE:
    client_handle_notice(c, &m->u.notice);
    break;
  case PROTO_ROOM:
    client_handle_room(c, &m->u.room);
    break;
  case PROTO_ROOMS_END:
    client_handle_rooms_end(c);
    break;
  case PROTO_BAN_ENTRY:
    client_ops_ban_entry(c, &m->u.ban_entry);
    break;
  case PROTO_BANS_END:
    client_ops_bans_end(c);
    break;
  case PROTO_MEMBER:
    client_handle_member(c, &m->u.member);
    break;
  case PROTO_MEMBERS_END:
    client_handle_members_end(c, &m->u.members_end);
    break;
  case PROTO_LOGIN_OK:
    break; /* a second one would be a server bug; ignore */
  default:
    if (m->type >= PROTO_FILE_OFFER && m->type <= PROTO_FILE_PIN)
      client_xfer_on_frame(c, m);
    else if (m->type >= PROTO_FOLDER_LIST_REQ && m->type <= PROTO_FOLDER_OK)
      client_folder_on_frame(c, m);
    else if (c->frame_cb)
      c->frame_cb(c, m, c->frame_ud);
    break;
  }
}
