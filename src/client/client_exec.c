/* client_exec.c: the command executor. Runs what client_cmd.c parsed:
 * sends the frame, opens or switches windows, or reports a usage error. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_cmd.h"
#include "client_int.h"
#include "client_xfer.h"

/* Formats a send failure into err; returns the client_command() code. */
static int client_exec_send_err(int r, char *err, size_t errlen) {
  if (r == UV_ENOTCONN) {
    snprintf(err, errlen, "not connected");
    return CLIENT_ENOTCONN;
  }
  if (r == UV_ENOBUFS) {
    snprintf(err, errlen, "too much queued for the server; wait a moment");
    return CLIENT_EQUEUE;
  }
  if (r == UV_ENOMEM) {
    snprintf(err, errlen, "out of memory");
    return CLIENT_EQUEUE;
  }
  /* Anything else from client_send() is the encoder's -PERR_* for a bad
   * field (it maps libuv failures to the three codes above). */
  snprintf(err, errlen, "%s", proto_strerror(r));
  return r;
}

/* Symbolic name of a client_exec_line() result. */
const char *client_exec_errname(int r) {
  switch (r) {
  case CLIENT_EUSAGE:
    return "USAGE";
  case CLIENT_ENOTARGET:
    return "NO_TARGET";
  case CLIENT_ENOTCONN:
    return "NOT_CONNECTED";
  case CLIENT_EQUEUE:
    return "QUEUE_FULL";
  default:
    return proto_errname(r);
  }
}

/* Message text the server would refuse as a whole (PROTOCOL.md 4.2):
 * refused here first, so the face can keep the line to be mended (a
 * pasted U+202E lost the paste). Returns 0 or -PERR_CONTROL_CHARS. */
static int client_exec_text_ok(const char *p, size_t n, char *err,
                               size_t errlen) {
  if (!proto_has_control(p, n))
    return 0;
  snprintf(err, errlen,
           "the text holds a control, bidi or invisible character "
           "(shown as ?): remove it and send again");
  return -PERR_CONTROL_CHARS;
}

/* Sends m, mapping failures to err. */
static int client_exec_send(client *c, const proto_msg *m, char *err,
                            size_t errlen) {
  if (m->type == PROTO_SAY &&
      client_exec_text_ok(m->u.say.text.p, m->u.say.text.n, err, errlen) < 0)
    return -PERR_CONTROL_CHARS;
  int r = client_send(c, m);
  if (r == -PERR_FIELD_TOO_LONG && m->type == PROTO_SAY) {
    snprintf(err, errlen,
             "message longer than %d characters, the protocol's "
             "hard limit",
             PROTO_MAX_TEXT);
    return r;
  }
  return r < 0 ? client_exec_send_err(r, err, errlen) : 0;
}

/* Sends text (an action with flags) to window w. */
static int client_exec_say(client *c, client_window *w, const char *text,
                           uint8_t flags, char *err, size_t errlen) {
  if (!w || w->kind == CLIENT_WIN_SERVER) {
    snprintf(err, errlen,
             "this window has no room or person: /join #room or /query "
             "USER first");
    return CLIENT_ENOTARGET;
  }
  if (w->kind == CLIENT_WIN_QUERY && !w->opened) {
    /* A window the peer's first message opened: replying is talking with
     * them, which the server learns from QUERY_OPEN. */
    proto_msg q = {.type = PROTO_QUERY_OPEN};
    q.u.query_open.user = proto_str_c(w->name);
    int r = client_exec_send(c, &q, err, errlen);
    if (r < 0)
      return r;
    w->opened = true;
    snprintf(c->talking, sizeof c->talking, "%s", w->name);
  }
  proto_msg m = {.type = PROTO_SAY};
  m.u.say.kind = w->kind == CLIENT_WIN_ROOM ? PROTO_TO_ROOM : PROTO_TO_USER;
  m.u.say.target = proto_str_c(w->name);
  m.u.say.flags = flags;
  m.u.say.text = proto_str_c(text);
  return client_exec_send(c, &m, err, errlen);
}

/* Checks a user-name argument; fills err. */
static int client_exec_check_user(const char *p, size_t n, char *err,
                                  size_t errlen) {
  if (proto_check_name(p, n) < 0) {
    snprintf(err, errlen, "'%.*s': %s", (int)(n > 64 ? 64 : n), p,
             proto_strerror(PERR_BAD_NAME));
    return -PERR_BAD_NAME;
  }
  return 0;
}

/* Fills a C string from a cmd word. */
static void client_exec_word_copy(char *dst, size_t dsz,
                                  const client_cmd *cmd) {
  size_t n = cmd->word_n < dsz - 1 ? cmd->word_n : dsz - 1;
  memcpy(dst, cmd->word, n);
  dst[n] = '\0';
}

/* Lists the help table in the current window and fires HELP. */
static void client_exec_help(client *c) {
  size_t n;
  const client_help_entry *h = client_cmd_help(&n);
  client_info(c, NULL, CLIENT_LINE_INFO, "commands:");
  for (size_t i = 0; i < n; i++)
    client_info(c, NULL, CLIENT_LINE_INFO, "  %-30s %s", h[i].command,
                h[i].help);
  client_event ev = {.type = CLIENT_EV_HELP};
  client_emit(c, &ev);
}

/* Keeps a line typed in w while the connection is down, to send after
 * the next login (at most CLIENT_MAX_HELD lines). Returns 0 or
 * CLIENT_ENOTCONN with err filled when it cannot be kept. */
static int client_exec_hold(client *c, client_window *w, const char *text,
                            uint8_t flags, char *err, size_t errlen) {
  char st[200];
  if (c->nheld >= CLIENT_MAX_HELD) {
    snprintf(err, errlen, "not connected (%s); %u lines already waiting",
             client_state_text(c, st, sizeof st), c->nheld);
    return CLIENT_ENOTCONN;
  }
  size_t n = strlen(text);
  client_held *h = malloc(sizeof *h + n + 1);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return CLIENT_EQUEUE;
  }
  h->next = NULL;
  h->kind = w->kind;
  snprintf(h->win, sizeof h->win, "%s", w->name);
  h->flags = flags;
  memcpy(h->text, text, n + 1);
  if (c->held_tail)
    c->held_tail->next = h;
  else
    c->held = h;
  c->held_tail = h;
  c->nheld++;
  client_info(c, w, CLIENT_LINE_INFO,
              "not connected (%s): kept, sent when the connection is back "
              "(%u waiting)",
              client_state_text(c, st, sizeof st), c->nheld);
  client_event ev = {.type = CLIENT_EV_HELD, .win = w, .count = c->nheld};
  client_emit(c, &ev);
  return 0;
}

void client_exec_free_held(client *c) {
  while (c->held) {
    client_held *h = c->held;
    c->held = h->next;
    free(h);
  }
  c->held_tail = NULL;
  c->nheld = 0;
}

/* Sends the lines kept while disconnected, in order, to their windows
 * (after the rejoins, so the server handles JOIN first); a line whose
 * window is gone is reported and dropped. */
void client_exec_flush_held(client *c) {
  client_held *h = c->held;
  c->held = c->held_tail = NULL;
  c->nheld = 0;
  while (h) {
    client_held *next = h->next;
    char err[300];
    client_window *w = client_window_find(c, h->win);
    int r = CLIENT_ENOTARGET;
    if (w && w->kind == h->kind)
      r = client_exec_say(c, w, h->text, h->flags, err, sizeof err);
    else
      snprintf(err, sizeof err, "window %s is gone", h->win);
    if (r < 0) {
      char msg[400];
      snprintf(msg, sizeof msg,
               "a line kept while disconnected was not sent: %s", err);
      client_error(c, w, 0, client_exec_errname(r), h->win, msg);
    }
    free(h);
    h = next;
  }
}

/* Asks for a room's member list (/names); the answer comes as MEMBER
 * frames, shown when MEMBERS_END arrives. */
static int client_exec_names(client *c, client_window *w, const client_cmd *cmd,
                             char *err, size_t errlen) {
  char name[CLIENT_ROOM_SZ + 1];
  if (cmd->word_n)
    client_exec_word_copy(name, sizeof name, cmd);
  else if (w && w->kind == CLIENT_WIN_ROOM)
    snprintf(name, sizeof name, "%s", w->name);
  else {
    snprintf(err, errlen, "not in a room window: /names #room");
    return CLIENT_EUSAGE;
  }
  if (proto_check_room(name, strlen(name)) < 0) {
    snprintf(err, errlen, "'%s': %s", name, proto_strerror(PERR_BAD_ROOM));
    return -PERR_BAD_ROOM;
  }
  proto_msg m = {.type = PROTO_MEMBERS_REQ};
  m.u.members_req.room = proto_str_c(name);
  return client_exec_send(c, &m, err, errlen);
}

int client_names(client *c, const char *room, bool show) {
  if (!room || proto_check_room(room, strlen(room)) < 0)
    return CLIENT_EUSAGE;
  proto_msg m = {.type = PROTO_MEMBERS_REQ};
  m.u.members_req.room = proto_str_c(room);
  int r = client_send(c, &m);
  client_window *w = client_window_find(c, room);
  if (r == 0 && w && w->kind == CLIENT_WIN_ROOM)
    w->names_quiet = !show;
  return r;
}

/* The configuration's alias for "/NAME ..." when NAME is not a built-in
 * command: a new string "EXPANSION ..." (the caller frees), else NULL. One
 * level only: an expansion is not expanded again. */
static char *client_exec_alias(const client *c, const char *line) {
  if (line[0] != '/' || line[1] == '/' || c->opts.config.naliases == 0)
    return NULL;
  const char *name = line + 1;
  size_t n = strcspn(name, " \t");
  client_cmd probe;
  char perr[8];
  char word[40];
  if (n == 0 || n >= sizeof word)
    return NULL;
  memcpy(word, line, n + 1);
  word[n + 1] = '\0';
  if (client_cmd_parse(word, &probe, perr, sizeof perr) == 0 ||
      strncmp(perr, "usage", 5) == 0)
    return NULL; /* a built-in command keeps its meaning */
  for (unsigned i = 0; i < c->opts.config.naliases; i++) {
    const client_alias *a = &c->opts.config.aliases[i];
    if (strlen(a->name) != n || strncasecmp(a->name, name, n) != 0)
      continue;
    const char *rest = name + n;
    size_t len = strlen(a->expansion) + strlen(rest) + 1;
    char *out = malloc(len);
    if (out)
      snprintf(out, len, "%s%s", a->expansion, rest);
    return out;
  }
  return NULL;
}

/* Word i of ws as a local path, ~ expanded with the client's $HOME. */
static int client_exec_path(const client_words *ws, int i, char *dst,
                            size_t cap, char *err, size_t errlen) {
  return client_cmd_path(ws, i, getenv("HOME"), dst, cap, err, errlen);
}

/* The shared folder's commands: /upload, /download, /files, /rename,
 * /delete (client_folder.c; the transfers in client_xfer.c). */
static int client_exec_folder(client *c, const client_cmd *cmd, char *err,
                              size_t errlen) {
  client_words ws;
  if (client_cmd_words(cmd->rest ? cmd->rest : "", &ws, err, errlen) < 0)
    return CLIENT_EUSAGE;
  const char *words[3] = {"", "", ""};
  int at[3] = {0};
  bool overwrite = false;
  int n = 0;
  for (int i = 0; i < ws.n; i++)
    if (strcmp(ws.w[i], "--overwrite") == 0)
      overwrite = true;
    else if (n < 3) {
      at[n] = i;
      words[n++] = ws.w[i];
    } else
      n++;
  int want_lo = cmd->id == CLIENT_CMD_FILES    ? 0
                : cmd->id == CLIENT_CMD_RENAME ? 2
                                               : 1;
  int want_hi = cmd->id == CLIENT_CMD_DELETE ? 1 : 2;
  if (n < want_lo || n > want_hi ||
      (overwrite && cmd->id != CLIENT_CMD_UPLOAD &&
       cmd->id != CLIENT_CMD_RENAME)) {
    snprintf(err, errlen, "usage: %s",
             cmd->id == CLIENT_CMD_UPLOAD ? "/upload [--overwrite] PATH [NAME]"
             : cmd->id == CLIENT_CMD_DOWNLOAD ? "/download NAME [DIR]"
             : cmd->id == CLIENT_CMD_FILES    ? "/files [PATTERN]"
             : cmd->id == CLIENT_CMD_RENAME   ? "/rename [--overwrite] OLD NEW"
                                              : "/delete NAME");
    return CLIENT_EUSAGE;
  }
  int r;
  char path[PATH_MAX]; /* the local one: ~ expanded */
  switch (cmd->id) {
  case CLIENT_CMD_UPLOAD:
    if (client_exec_path(&ws, at[0], path, sizeof path, err, errlen) < 0)
      return CLIENT_EUSAGE;
    return client_folder_upload(c, path, n > 1 ? words[1] : NULL, overwrite,
                                err, errlen);
  case CLIENT_CMD_DOWNLOAD:
    if (n > 1 &&
        client_exec_path(&ws, at[1], path, sizeof path, err, errlen) < 0)
      return CLIENT_EUSAGE;
    return client_xfer_download(c, words[0], n > 1 ? path : NULL, err, errlen);
  case CLIENT_CMD_FILES:
    r = client_folder_list(c, words[0]);
    break;
  case CLIENT_CMD_RENAME:
    r = client_folder_rename(c, words[0], words[1], overwrite);
    break;
  default:
    r = client_folder_delete(c, words[0]);
  }
  return r == 0 ? 0 : client_exec_send_err(r, err, errlen);
}

/* Runs a line after alias expansion; see client_command(). */
static int client_exec_run(client *c, client_window *w, const char *line,
                           char *err, size_t errlen);

/* The file commands: /send, /accept, /reject, /cancel, /transfers. */
static int client_exec_xfer(client *c, client_window *w, const client_cmd *cmd,
                            char *err, size_t errlen) {
  client_words ws;
  if (client_cmd_words(cmd->rest ? cmd->rest : "", &ws, err, errlen) < 0)
    return CLIENT_EUSAGE;
  int n = ws.n;
  char dir[PATH_MAX]; /* /accept's DIR */
  int dir_at = -1;
  unsigned long id = 0;
  if (cmd->id != CLIENT_CMD_SEND && cmd->id != CLIENT_CMD_TRANSFERS && n > 0) {
    char *end;
    id = strtoul(ws.w[0], &end, 10);
    if (*end != '\0' || id == 0 || id > 1000000) {
      if (cmd->id == CLIENT_CMD_ACCEPT && n == 1 &&
          (ws.w[0][0] == '/' || ws.tilde[0])) {
        id = 0; /* /accept DIR */
        dir_at = 0;
      } else {
        snprintf(err, errlen, "bad transfer number '%.100s'", ws.w[0]);
        return CLIENT_EUSAGE;
      }
    } else if (cmd->id == CLIENT_CMD_ACCEPT && n > 1) {
      dir_at = 1;
    }
  }
  if (n > (cmd->id == CLIENT_CMD_ACCEPT ? 2 : 1) &&
      cmd->id != CLIENT_CMD_SEND && cmd->id != CLIENT_CMD_TRANSFERS) {
    snprintf(err, errlen, "usage: %s",
             cmd->id == CLIENT_CMD_ACCEPT   ? "/accept [ID] [DIR]"
             : cmd->id == CLIENT_CMD_REJECT ? "/reject [ID]"
                                            : "/cancel ID");
    return CLIENT_EUSAGE;
  }
  switch (cmd->id) {
  case CLIENT_CMD_SEND: {
    /* /send USER PATH..., /send #room PATH..., or in a conversation
     * /send PATH... */
    const char *target = NULL;
    int first = 0;
    bool named = n > 1 && (ws.w[0][0] == '#' ||
                           proto_check_name(ws.w[0], strlen(ws.w[0])) == 0);
    if (named) {
      target = ws.w[0];
      first = 1;
    } else if (n > 0 && w != NULL && w->kind == CLIENT_WIN_QUERY) {
      target = w->name;
    } else {
      snprintf(err, errlen,
               "usage: /send USER PATH... (or /send PATH in a "
               "conversation)");
      return CLIENT_EUSAGE;
    }
    int r = 0;
    for (int i = first; i < n; i++) {
      char path[PATH_MAX];
      if (client_exec_path(&ws, i, path, sizeof path, err, errlen) < 0)
        return CLIENT_EUSAGE;
      r = client_xfer_send(c, target, path, err, errlen);
      if (r < 0)
        return r;
    }
    return r;
  }
  case CLIENT_CMD_ACCEPT:
    if (dir_at >= 0 &&
        client_exec_path(&ws, dir_at, dir, sizeof dir, err, errlen) < 0)
      return CLIENT_EUSAGE;
    return client_xfer_accept(c, (unsigned)id, dir_at >= 0 ? dir : NULL, err,
                              errlen);
  case CLIENT_CMD_REJECT:
    return client_xfer_reject(c, (unsigned)id, err, errlen);
  case CLIENT_CMD_CANCEL:
    return client_xfer_cancel(c, (unsigned)id, err, errlen);
  default:
    client_xfer_list(c);
    return 0;
  }
}

int client_exec_line(client *c, client_window *w, const char *line, char *err,
                     size_t errlen) {
  char *exp = client_exec_alias(c, line);
  int r = client_exec_run(c, w, exp ? exp : line, err, errlen);
  free(exp);
  return r;
}

/* Parses and executes one line typed in window w (NULL: the current one);
 * see client_command(). */
static int client_exec_run(client *c, client_window *w, const char *line,
                           char *err, size_t errlen) {
  client_cmd cmd;
  if (!w)
    w = c->m.current;
  err[0] = '\0';
  if (client_cmd_parse(line, &cmd, err, errlen) < 0)
    return CLIENT_EUSAGE;
  client_ping_on_activity(c);
  bool needs_server =
      !(cmd.id == CLIENT_CMD_NONE || cmd.id == CLIENT_CMD_HELP ||
        cmd.id == CLIENT_CMD_SCAN || cmd.id == CLIENT_CMD_QUIT ||
        cmd.id == CLIENT_CMD_CLOSE || cmd.id == CLIENT_CMD_SET ||
        cmd.id == CLIENT_CMD_RECONNECT || cmd.id == CLIENT_CMD_JOINS);
  if (needs_server && !client_ready(c) &&
      (cmd.id == CLIENT_CMD_TEXT || cmd.id == CLIENT_CMD_ME) && w &&
      w->kind != CLIENT_WIN_SERVER && c->ever_ready && !c->stopping &&
      !c->quitting && c->fatal == CLIENT_FATAL_NONE &&
      (c->m.state == CLIENT_RECONNECTING || c->m.state == CLIENT_CONNECTING)) {
    /* Reconnecting: the line is kept and sent once logged in again. */
    if (client_exec_text_ok(cmd.rest, strlen(cmd.rest), err, errlen) < 0)
      return -PERR_CONTROL_CHARS;
    return client_exec_hold(c, w, cmd.rest,
                            cmd.id == CLIENT_CMD_ME ? PROTO_MSGF_ACTION : 0,
                            err, errlen);
  }
  if (needs_server && !client_ready(c)) {
    char st[200];
    snprintf(err, errlen, "not connected (%s)",
             client_state_text(c, st, sizeof st));
    return CLIENT_ENOTCONN;
  }
  proto_msg m = {0};
  char name[CLIENT_ROOM_SZ + 1];
  switch (cmd.id) {
  case CLIENT_CMD_NONE:
    return 0;
  case CLIENT_CMD_TEXT:
    return client_exec_say(c, w, cmd.rest, 0, err, errlen);
  case CLIENT_CMD_ME:
    return client_exec_say(c, w, cmd.rest, PROTO_MSGF_ACTION, err, errlen);
  case CLIENT_CMD_JOIN: {
    if (cmd.rest[0]) { /* "/join #bad room!": not a room called #bad */
      snprintf(err, errlen, "'%.64s': %s", cmd.word,
               proto_strerror(PERR_BAD_ROOM));
      return -PERR_BAD_ROOM;
    }
    if (cmd.word[0] == '#')
      client_exec_word_copy(name, sizeof name, &cmd);
    else { /* "/join x" means #x */
      name[0] = '#';
      client_exec_word_copy(name + 1, sizeof name - 1, &cmd);
    }
    if (proto_check_room(name, strlen(name)) < 0) {
      snprintf(err, errlen, "'%s': %s", name, proto_strerror(PERR_BAD_ROOM));
      return -PERR_BAD_ROOM;
    }
    client_window *rw = client_window_find(c, name);
    if (rw && rw->kind == CLIENT_WIN_ROOM && !rw->parting) {
      client_window_switch(c, rw); /* joined, or the join is on its way */
      return 0;
    }
    m.type = PROTO_JOIN;
    m.u.join.room = proto_str_c(name);
    int r = client_exec_send(c, &m, err, errlen);
    if (r < 0)
      return r;
    if (rw) /* our PART is still in flight: keep the window past PARTED */
      rw->rejoin = true;
    /* Open the window now so text typed next goes there; the server
     * handles JOIN before that SAY, and a refusal drops the window. */
    rw = client_window_get(c, CLIENT_WIN_ROOM, name, strlen(name));
    if (rw)
      client_window_switch(c, rw);
    return 0;
  }
  case CLIENT_CMD_PART:
    if (cmd.word_n)
      client_exec_word_copy(name, sizeof name, &cmd);
    else if (w && w->kind == CLIENT_WIN_ROOM)
      snprintf(name, sizeof name, "%s", w->name);
    else {
      snprintf(err, errlen, "not in a room window: /part #room");
      return CLIENT_EUSAGE;
    }
    m.type = PROTO_PART;
    m.u.part.room = proto_str_c(name);
    m.u.part.reason = proto_str_c(cmd.rest);
    {
      int r = client_exec_send(c, &m, err, errlen);
      client_window *pw = client_window_find(c, name);
      if (r == 0 && pw && pw->kind == CLIENT_WIN_ROOM) {
        pw->parting = true;
        pw->rejoin = false;
      }
      return r;
    }
  case CLIENT_CMD_MSG:
  case CLIENT_CMD_QUERY: {
    int r = client_exec_check_user(cmd.word, cmd.word_n, err, errlen);
    if (r < 0)
      return r;
    client_exec_word_copy(name, sizeof name, &cmd);
    if (cmd.id == CLIENT_CMD_QUERY) {
      m.type = PROTO_QUERY_OPEN;
      m.u.query_open.user = proto_str_c(name);
      r = client_exec_send(c, &m, err, errlen);
      if (r < 0)
        return r;
      client_window *qw = client_window_query(c, name, true);
      if (!qw) {
        snprintf(err, errlen, "too many windows open; /close some");
        return CLIENT_EUSAGE;
      }
      qw->opened = true;
      snprintf(c->talking, sizeof c->talking, "%s", qw->name);
      if (!cmd.rest[0])
        return 0;
    }
    m = (proto_msg){.type = PROTO_SAY};
    m.u.say.kind = PROTO_TO_USER;
    m.u.say.target = proto_str_c(name);
    m.u.say.text = proto_str_c(cmd.rest);
    return client_exec_send(c, &m, err, errlen);
  }
  case CLIENT_CMD_AWAY:
  case CLIENT_CMD_BACK:
  case CLIENT_CMD_BUSY:
    m.type = PROTO_SET_STATUS;
    m.u.set_status.status = cmd.id == CLIENT_CMD_AWAY   ? PROTO_AWAY
                            : cmd.id == CLIENT_CMD_BUSY ? PROTO_BUSY
                                                        : PROTO_ONLINE;
    m.u.set_status.text = proto_str_c(cmd.rest);
    {
      int r = client_exec_send(c, &m, err, errlen);
      if (r == 0) { /* remembered: re-sent after a reconnect */
        c->status = m.u.set_status.status;
        snprintf(c->status_text, sizeof c->status_text, "%s", cmd.rest);
      }
      return r;
    }
  case CLIENT_CMD_WHO: {
    m.type = PROTO_WHO_REQ;
    int r = client_exec_send(c, &m, err, errlen);
    if (r == 0)
      c->who_requested = true;
    return r;
  }
  case CLIENT_CMD_ROOMS:
    m.type = PROTO_ROOMS_REQ;
    return client_exec_send(c, &m, err, errlen);
  case CLIENT_CMD_KICK:
  case CLIENT_CMD_BAN: {
    int r = client_exec_check_user(cmd.word, cmd.word_n, err, errlen);
    if (r < 0)
      return r;
    client_exec_word_copy(name, sizeof name, &cmd);
    if (cmd.id == CLIENT_CMD_KICK) {
      m.type = PROTO_KICK;
      m.u.kick.user = proto_str_c(name);
      m.u.kick.reason = proto_str_c(cmd.rest);
    } else {
      m.type = PROTO_BAN;
      m.u.ban.user = proto_str_c(name);
      m.u.ban.duration_s = cmd.num;
      m.u.ban.reason = proto_str_c(cmd.rest);
    }
    return client_exec_send(c, &m, err, errlen);
  }
  case CLIENT_CMD_UNBAN: {
    int r = client_exec_check_user(cmd.word, cmd.word_n, err, errlen);
    if (r < 0)
      return r;
    client_exec_word_copy(name, sizeof name, &cmd);
    m.type = PROTO_UNBAN;
    m.u.unban.user = proto_str_c(name);
    return client_exec_send(c, &m, err, errlen);
  }
  case CLIENT_CMD_BANS:
    m.type = PROTO_BANS_REQ;
    return client_exec_send(c, &m, err, errlen);
  case CLIENT_CMD_SET:
    return client_ops_set(c, cmd.word, cmd.word_n, cmd.rest, err, errlen);
  case CLIENT_CMD_TOPIC:
    if (!w || w->kind != CLIENT_WIN_ROOM) {
      snprintf(err, errlen, "not in a room window");
      return CLIENT_EUSAGE;
    }
    m.type = PROTO_TOPIC;
    m.u.topic.room = proto_str_c(w->name);
    m.u.topic.topic = proto_str_c(cmd.rest);
    return client_exec_send(c, &m, err, errlen);
  case CLIENT_CMD_SCAN: {
    int r = client_scan(c, cmd.rest);
    if (r == UV_EINVAL) {
      snprintf(err, errlen,
               "usage: /scan [ADDR[:PORT]...] (IPv4 addresses, at most %d)",
               CLIENT_MAX_SCAN_TO);
      return CLIENT_EUSAGE;
    }
    if (r < 0) {
      snprintf(err, errlen, "cannot scan: %s",
               r == UV_EALREADY ? "a scan is already running" : uv_strerror(r));
      return CLIENT_EQUEUE;
    }
    return 0;
  }
  case CLIENT_CMD_HELP:
    client_exec_help(c);
    return 0;
  case CLIENT_CMD_QUIT:
    client_quit(c, cmd.rest);
    return 0;
  case CLIENT_CMD_NAMES:
    return client_exec_names(c, w, &cmd, err, errlen);
  case CLIENT_CMD_JOINS:
    return client_summary_show(c, w, err, errlen);
  case CLIENT_CMD_RECONNECT: {
    int r = client_reconnect(c);
    if (r == UV_EALREADY)
      return 0; /* already trying: nothing to do */
    if (r < 0) {
      snprintf(err, errlen, "cannot reconnect: %s", uv_strerror(r));
      return CLIENT_EQUEUE;
    }
    return 0;
  }
  case CLIENT_CMD_SEND:
  case CLIENT_CMD_ACCEPT:
  case CLIENT_CMD_REJECT:
  case CLIENT_CMD_CANCEL:
  case CLIENT_CMD_TRANSFERS:
    return client_exec_xfer(c, w, &cmd, err, errlen);
  case CLIENT_CMD_UPLOAD:
  case CLIENT_CMD_DOWNLOAD:
  case CLIENT_CMD_FILES:
  case CLIENT_CMD_RENAME:
  case CLIENT_CMD_DELETE:
    return client_exec_folder(c, &cmd, err, errlen);
  case CLIENT_CMD_CLOSE: {
    int r = client_window_close(c, w);
    if (r == CLIENT_EUSAGE)
      snprintf(err, errlen, "the server window cannot be closed");
    return r == CLIENT_EUSAGE || r == 0 ? r
                                        : client_exec_send_err(r, err, errlen);
  }
  }
  return 0;
}
