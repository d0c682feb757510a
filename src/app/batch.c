/* batch.c: `parley --batch`: stdin lines in, JSON events out.
 *
 * Lines are queued until the client is logged in and run in order; stdin
 * is not read further while too much is queued or the server connection is
 * backed up. On EOF the queue is finished, the output flushed, and the
 * process exits 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "batch.h"
#include "client.h"

#define BATCH_LINE_MAX (PROTO_MAX_FRAME + 1) /* longer lines are refused */
#define BATCH_QUEUE_MAX (4u << 20) /* bytes of queued lines before pausing */
#define BATCH_SEND_HIGH (1u << 20) /* server backlog that pauses stdin */

/* A queued input line. */
typedef struct batch_line {
  struct batch_line *next;
  size_t n;
  char text[];
} batch_line;

typedef struct batch {
  uv_loop_t loop;
  client *c;
  client_opts opts;
  /* stdin, one of: a stream (tty, pipe, socket) or a file read by uv_fs */
  union {
    uv_tty_t tty;
    uv_pipe_t pipe;
  } in;
  bool in_stream, in_open, in_reading, in_eof;
  uv_fs_t fs_req;
  bool fs_pending;
  int64_t fs_off;
  char fs_buf[65536];
  uv_check_t check; /* runs queued lines after each loop pass */
  char *line;       /* partial line being assembled */
  size_t line_n;
  bool line_skip; /* discarding the rest of an over-long line */
  batch_line *head, *tail;
  size_t queued;
  bool quitting, stopped;
  int exit_code;
} batch;

static void batch_pump(batch *b);

/* ---- output ------------------------------------------------------------- */

/* A JSON string from text, replacing bytes that are not UTF-8. */
static json_t *jstr(const char *s) {
  if (!s)
    s = "";
  json_t *j = json_string(s);
  if (j)
    return j;
  char *copy = strdup(s);
  if (!copy)
    return json_string("");
  for (char *p = copy; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  j = json_string(copy);
  free(copy);
  return j ? j : json_string("");
}

/* Writes the JSON text s to stdout with DEL, the C1 controls (U+0080 to
 * U+009F, e.g. U+009B, a CSI on some terminals) and the invisible
 * formatting characters (proto_cp_hidden: bidi controls, zero-width,
 * U+2028/9) escaped as \u0080-style sequences: jansson escapes only C0,
 * and these must never reach a terminal raw. Bytes >= 0x80 only occur
 * inside JSON strings, so the escape is always valid JSON. */
static void put_escaped(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t len = c < 0xC2 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = c;
    bool whole = true;
    if (len > 1) {
      cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
      for (size_t k = 1; k < len && whole; k++) {
        whole = (p[k] & 0xC0) == 0x80;
        cp = cp << 6 | (p[k] & 0x3F);
      }
    }
    if (!whole)
      len = 1, cp = c; /* cannot happen: jansson dumps valid UTF-8 */
    if (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || proto_cp_hidden(cp))
      printf("\\u%04x", (unsigned)cp);
    else
      fwrite(p, 1, len, stdout);
    p += len;
  }
}

/* Writes one event object as a line and flushes; takes the reference. */
static void emit(json_t *o) {
  if (!o)
    return;
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!s)
    return;
  put_escaped(s);
  fputc('\n', stdout);
  fflush(stdout);
  free(s);
}

/* A new event object {"event": name}. */
static json_t *ev_new(const char *name) {
  json_t *o = json_object();
  json_object_set_new(o, "event", json_string(name));
  return o;
}

static const char *status_name(uint8_t s) {
  return proto_status_name(s); /* decoded statuses are all known */
}

static const char *notice_kind(uint8_t k) {
  static const char *names[] = {"server", "joined", "left", "quit",    "kicked",
                                "banned", "topic",  "motd", "unbanned"};
  _Static_assert(sizeof names / sizeof *names == PROTO_NOTICE_LAST + 1,
                 "a name for every notice kind");
  return k <= PROTO_NOTICE_LAST ? names[k] : "server";
}

/* The user fields shared by presence and users events. */
static json_t *user_obj(json_t *o, const client *c, const client_user *u) {
  json_object_set_new(o, "user", jstr(u->name));
  json_object_set_new(o, "status", json_string(status_name(u->status)));
  json_object_set_new(o, "text", jstr(u->text));
  json_object_set_new(o, "talking_with", jstr(u->talking_with));
  json_object_set_new(o, "idle", json_integer(client_user_idle(c, u)));
  json_object_set_new(o, "admin", json_boolean(u->admin));
  return o;
}

/* Prints an error event. */
static void emit_error(int code, const char *name, const char *text) {
  json_t *o = ev_new("error");
  json_object_set_new(o, "code", json_integer(code));
  json_object_set_new(o, "name", json_string(name));
  json_object_set_new(o, "text", jstr(text));
  emit(o);
}

/* Maps a client_command() failure to an error event: PERR codes keep
 * their number, local-only failures have code 0. */
static void emit_cmd_error(int r, const char *err) {
  emit_error(r <= -1000 ? 0 : -r, client_command_errname(r), err);
}

/* Sets the exit status from how the session ended. */
static int exit_for(client_fatal f) {
  switch (f) {
  case CLIENT_FATAL_NONE:
    return 0;
  case CLIENT_FATAL_AUTH:
    return 3;
  case CLIENT_FATAL_KICKED:
    return 4;
  case CLIENT_FATAL_HOSTKEY:
    return 5;
  default:
    return 1;
  }
}

/* Closes stdin (idempotent). */
static void in_close(batch *b) {
  if (!b->in_open)
    return;
  b->in_open = false;
  if (b->in_stream)
    uv_close((uv_handle_t *)&b->in, NULL);
}

/* The client core's events become JSON lines. */
static void on_event(client *c, const client_event *ev, void *ud) {
  batch *b = ud;
  const client_model *m = client_model_get(c);
  json_t *o = NULL;
  switch (ev->type) {
  case CLIENT_EV_CONNECTED:
    o = ev_new("connected");
    json_object_set_new(o, "server", jstr(m->server_name));
    json_object_set_new(o, "user", jstr(m->self));
    json_object_set_new(o, "version", json_integer(m->limits.version));
    json_object_set_new(o, "max_msg_chars",
                        json_integer(m->limits.max_msg_chars));
    json_object_set_new(o, "admin", json_boolean(m->admin));
    emit(o); /* queued lines run from the check handle, not from here */
    break;
  case CLIENT_EV_JOINED:
    o = ev_new("joined");
    json_object_set_new(o, "room", jstr(ev->win->name));
    json_object_set_new(o, "members", json_integer(ev->win->members));
    json_object_set_new(o, "topic", jstr(ev->win->topic));
    emit(o);
    break;
  case CLIENT_EV_PARTED:
    o = ev_new("parted");
    json_object_set_new(o, "room", jstr(ev->name));
    emit(o);
    break;
  case CLIENT_EV_MESSAGE:
    o = ev_new("message");
    if (ev->peer)
      json_object_set_new(o, "peer", jstr(ev->peer));
    else
      json_object_set_new(o, "room", jstr(ev->room ? ev->room : ""));
    json_object_set_new(o, "from", jstr(ev->line->from));
    json_object_set_new(o, "text", jstr(ev->line->text));
    json_object_set_new(o, "ts", json_integer((json_int_t)ev->line->ts_ms));
    json_object_set_new(o, "backlog",
                        json_boolean(ev->line->flags & CLIENT_LINE_BACKLOG));
    json_object_set_new(o, "action",
                        json_boolean(ev->line->flags & CLIENT_LINE_ACTION));
    json_object_set_new(o, "id", json_integer((json_int_t)ev->line->id));
    json_object_set_new(o, "highlight",
                        json_boolean(ev->line->flags & CLIENT_LINE_HIGHLIGHT));
    emit(o);
    break;
  case CLIENT_EV_HISTORY_END:
    o = ev_new("history_end");
    if (ev->peer)
      json_object_set_new(o, "peer", jstr(ev->peer));
    else
      json_object_set_new(o, "room", jstr(ev->room ? ev->room : ""));
    json_object_set_new(o, "count", json_integer(ev->count));
    emit(o);
    break;
  case CLIENT_EV_PRESENCE:
    emit(user_obj(ev_new("presence"), c, ev->user));
    break;
  case CLIENT_EV_USERS: {
    json_t *arr = json_array();
    for (size_t i = 0; i < m->nusers; i++)
      json_array_append_new(arr, user_obj(json_object(), c, &m->users[i]));
    o = ev_new("users");
    json_object_set_new(o, "users", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_NOTICE:
    o = ev_new("notice");
    json_object_set_new(o, "kind", json_string(notice_kind(ev->notice_kind)));
    json_object_set_new(o, "room", jstr(ev->room));
    json_object_set_new(o, "user", jstr(ev->about));
    json_object_set_new(o, "actor", jstr(ev->actor));
    json_object_set_new(o, "text", jstr(ev->text));
    emit(o);
    break;
  case CLIENT_EV_ERROR:
    emit_error(ev->code, ev->name, ev->text);
    break;
  case CLIENT_EV_ROOMS: {
    json_t *arr = json_array();
    for (size_t i = 0; i < ev->n; i++) {
      json_t *r = json_object();
      json_object_set_new(r, "room", jstr(ev->rooms[i].room));
      json_object_set_new(r, "members", json_integer(ev->rooms[i].members));
      json_object_set_new(r, "topic", jstr(ev->rooms[i].topic));
      json_array_append_new(arr, r);
    }
    o = ev_new("rooms");
    json_object_set_new(o, "rooms", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_FILES: {
    json_t *arr = json_array();
    for (size_t i = 0; i < ev->n; i++) {
      const client_folder_entry *fe = &ev->files[i];
      json_t *e = json_object();
      json_object_set_new(e, "name", jstr(fe->name));
      json_object_set_new(e, "size", json_integer((json_int_t)fe->size));
      json_object_set_new(e, "owner", jstr(fe->owner));
      json_object_set_new(e, "mtime", json_integer((json_int_t)fe->mtime));
      json_object_set_new(e, "sha256", jstr(fe->sha256));
      json_array_append_new(arr, e);
    }
    o = ev_new("files");
    json_object_set_new(o, "files", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_FOLDER_OK:
    o = ev_new("folder");
    json_object_set_new(o, "op", jstr(ev->text));
    json_object_set_new(o, "name", jstr(ev->name));
    emit(o);
    break;
  case CLIENT_EV_BANS: {
    json_t *arr = json_array();
    for (size_t i = 0; i < ev->n; i++) {
      const client_ban_entry *be = &ev->bans[i];
      json_t *e = json_object();
      json_object_set_new(e, "user", jstr(be->user));
      json_object_set_new(e, "until", json_integer((json_int_t)be->until_ms));
      json_object_set_new(e, "since", json_integer((json_int_t)be->since_ms));
      json_object_set_new(e, "by", jstr(be->actor));
      json_object_set_new(e, "reason", jstr(be->reason));
      json_array_append_new(arr, e);
    }
    o = ev_new("bans");
    json_object_set_new(o, "bans", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_SERVERS: {
    json_t *arr = json_array();
    for (size_t i = 0; i < ev->n; i++) {
      json_t *s = json_object();
      json_object_set_new(s, "name", jstr(ev->servers[i].name));
      json_object_set_new(s, "host", jstr(ev->servers[i].host));
      json_object_set_new(s, "port", json_integer(ev->servers[i].port));
      json_object_set_new(s, "users", json_integer(ev->servers[i].users));
      json_array_append_new(arr, s);
    }
    o = ev_new("servers");
    json_object_set_new(o, "servers", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_RECONNECTING:
    o = ev_new("reconnecting");
    json_object_set_new(o, "in_ms", json_integer((json_int_t)ev->in_ms));
    emit(o);
    break;
  case CLIENT_EV_DISCONNECTED:
    o = ev_new("disconnected");
    json_object_set_new(o, "reason", jstr(ev->text));
    emit(o);
    if (ev->fatal != CLIENT_FATAL_NONE) {
      fprintf(stderr, "parley: %s\n", ev->text);
      b->exit_code = exit_for(ev->fatal);
      in_close(b);
      client_stop(c);
    }
    break;
  case CLIENT_EV_HELP: {
    size_t n;
    const client_help_entry *h = client_cmd_help(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "command", json_string(h[i].command));
      json_object_set_new(e, "help", json_string(h[i].help));
      json_array_append_new(arr, e);
    }
    o = ev_new("help");
    json_object_set_new(o, "commands", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_NAMES: {
    json_t *arr = json_array();
    for (size_t i = 0; i < ev->n; i++)
      json_array_append_new(arr, jstr(ev->names[i]));
    o = ev_new("names");
    json_object_set_new(o, "room", jstr(ev->room));
    json_object_set_new(o, "names", arr);
    emit(o);
    break;
  }
  case CLIENT_EV_UNREAD:
    o = ev_new("unread");
    json_object_set_new(o, "peer", jstr(ev->peer));
    json_object_set_new(o, "count", json_integer(ev->count));
    emit(o);
    break;
  case CLIENT_EV_QUIT:
    b->quitting = true;
    in_close(b);
    break;
  case CLIENT_EV_OFFER: {
    const client_transfer *t = ev->xfer;
    o = ev_new("offer");
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "from", jstr(t->m.peer));
    json_object_set_new(o, "name", jstr(t->m.name));
    json_object_set_new(o, "size", json_integer((json_int_t)t->m.size));
    json_object_set_new(o, "files", json_integer(1));
    emit(o);
    break;
  }
  case CLIENT_EV_TRANSFER: {
    const client_transfer *t = ev->xfer;
    o = ev_new("transfer");
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "state", jstr(client_transfer_state(t)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)t->m.pos));
    json_object_set_new(o, "resumed_from",
                        json_integer((json_int_t)t->m.start_pos));
    json_object_set_new(o, "size", json_integer((json_int_t)t->m.size));
    json_object_set_new(o, "rate",
                        json_integer((json_int_t)t->m.bytes_per_sec));
    json_object_set_new(
        o, "path", jstr(t->path_known ? (t->relay ? "relay" : "direct") : ""));
    json_object_set_new(o, "file", jstr(t->file));
    json_object_set_new(o, "name", jstr(t->m.name));
    json_object_set_new(o, "peer", jstr(t->m.peer));
    json_object_set_new(o, "direction",
                        jstr(t->m.dir == XFER_SEND ? "send" : "receive"));
    if (t->reason[0])
      json_object_set_new(o, "reason", jstr(t->reason));
    emit(o);
    break;
  }
  case CLIENT_EV_STOPPED:
    b->stopped = true;
    in_close(b);
    uv_close((uv_handle_t *)&b->check, NULL);
    break;
  default:
    break; /* STATE, WINDOW, LAG, INFO: for the TUI */
  }
}

/* ---- input -------------------------------------------------------------- */

/* Queues one complete line (without its newline). */
static void queue_line(batch *b, const char *s, size_t n) {
  if (n && s[n - 1] == '\r')
    n--;
  batch_line *l = malloc(sizeof *l + n + 1);
  if (!l) {
    emit_error(0, "ENOMEM", "out of memory; line dropped");
    return;
  }
  l->next = NULL;
  l->n = n;
  memcpy(l->text, s, n);
  l->text[n] = '\0';
  if (b->tail)
    b->tail->next = l;
  else
    b->head = l;
  b->tail = l;
  b->queued += n + 1;
}

/* Splits input bytes into lines; a line over BATCH_LINE_MAX is refused. */
static void feed(batch *b, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    if (!b->line_skip) {
      if (b->line_n + take > BATCH_LINE_MAX) {
        emit_error(PERR_FIELD_TOO_LONG, proto_errname(PERR_FIELD_TOO_LONG),
                   "input line too long; dropped");
        b->line_skip = true;
        b->line_n = 0;
      } else {
        memcpy(b->line + b->line_n, p, take);
        b->line_n += take;
      }
    }
    if (!nl)
      return;
    if (!b->line_skip)
      queue_line(b, b->line, b->line_n);
    b->line_skip = false;
    b->line_n = 0;
    p = nl + 1;
    n -= take + 1;
  }
}

/* EOF: an unterminated last line still counts. */
static void feed_eof(batch *b) {
  if (b->line_n > 0 && !b->line_skip)
    queue_line(b, b->line, b->line_n);
  b->line_n = 0;
  b->in_eof = true;
  in_close(b);
}

static void in_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  static char rbuf[65536]; /* one reader; data is copied out at once */
  buf->base = rbuf;
  buf->len = sizeof rbuf;
}

static void in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  batch *b = s->data;
  if (!b->in_open)
    return;
  if (nread < 0) {
    if (nread != UV_EOF)
      fprintf(stderr, "parley: reading stdin: %s\n", uv_strerror((int)nread));
    feed_eof(b);
  } else if (nread > 0) {
    feed(b, buf->base, (size_t)nread);
  }
  batch_pump(b);
}

static void fs_read_done(uv_fs_t *req) {
  batch *b = req->data;
  ssize_t r = req->result;
  uv_fs_req_cleanup(req);
  b->fs_pending = false;
  if (!b->in_open)
    return;
  if (r <= 0) {
    if (r < 0)
      fprintf(stderr, "parley: reading stdin: %s\n", uv_strerror((int)r));
    feed_eof(b);
  } else {
    b->fs_off += r;
    feed(b, b->fs_buf, (size_t)r);
  }
  batch_pump(b);
}

/* Reads stdin only while the queue and the server connection have room. */
static void in_flow(batch *b) {
  bool want = b->in_open && !b->quitting && b->queued < BATCH_QUEUE_MAX &&
              client_pending(b->c) < BATCH_SEND_HIGH;
  if (b->in_stream) {
    if (want && !b->in_reading) {
      int r = uv_read_start((uv_stream_t *)&b->in, in_alloc, in_read);
      if (r < 0) {
        fprintf(stderr, "parley: reading stdin: %s\n", uv_strerror(r));
        feed_eof(b);
        return;
      }
      b->in_reading = true;
    } else if (!want && b->in_reading && b->in_open) {
      uv_read_stop((uv_stream_t *)&b->in);
      b->in_reading = false;
    }
  } else if (want && !b->fs_pending) {
    uv_buf_t buf = uv_buf_init(b->fs_buf, sizeof b->fs_buf);
    b->fs_req.data = b;
    int r = uv_fs_read(&b->loop, &b->fs_req, 0, &buf, 1, -1, fs_read_done);
    if (r < 0) {
      fprintf(stderr, "parley: reading stdin: %s\n", uv_strerror(r));
      feed_eof(b);
      return;
    }
    b->fs_pending = true;
  }
}

/* Runs queued lines while logged in; after EOF with nothing left, quits. */
static void batch_pump(batch *b) {
  if (b->stopped || b->quitting)
    return;
  while (b->head && client_ready(b->c) &&
         client_pending(b->c) < BATCH_SEND_HIGH && !b->quitting) {
    batch_line *l = b->head;
    b->head = l->next;
    if (!b->head)
      b->tail = NULL;
    b->queued -= l->n + 1;
    char err[512];
    int r = client_command(b->c, NULL, l->text, err, sizeof err);
    free(l);
    if (r < 0)
      emit_cmd_error(r, err);
    if (b->stopped)
      return;
  }
  /* EOF with nothing left: leave now if logged in, or if only waiting to
   * reconnect (nothing is pending); a first login still decides the exit
   * status, so wait for it. */
  const client_model *m = client_model_get(b->c);
  if (b->in_eof && !b->head && !b->quitting &&
      (client_ready(b->c) || m->state == CLIENT_RECONNECTING)) {
    client_quit(b->c, NULL); /* flushes what is queued, then closes */
    return;
  }
  in_flow(b);
}

static void on_check(uv_check_t *h) {
  batch_pump(h->data);
}

/* Opens fd 0 as a stream when libuv can poll it, else reads it by uv_fs. */
static int in_open(batch *b) {
  uv_handle_type t = uv_guess_handle(0);
  int r;
  if (t == UV_TTY) {
    r = uv_tty_init(&b->loop, &b->in.tty, 0, 1);
    b->in_stream = r == 0;
  } else if (t == UV_NAMED_PIPE || t == UV_TCP || t == UV_UDP) {
    r = uv_pipe_init(&b->loop, &b->in.pipe, 0);
    if (r == 0) {
      r = uv_pipe_open(&b->in.pipe, 0);
      if (r < 0)
        uv_close((uv_handle_t *)&b->in.pipe, NULL);
    }
    b->in_stream = r == 0;
  } else {
    r = 0; /* a file or /dev/null: read by uv_fs_read */
    b->in_stream = false;
  }
  if (r < 0)
    return r;
  if (b->in_stream)
    b->in.pipe.data = b;
  b->in_open = true;
  return 0;
}

int batch_main(int argc, char **argv) {
  static batch b; /* big buffers; one per process */
  char err[512];
  if (client_opts_parse(&b.opts, argc, argv, err, sizeof err) < 0) {
    fprintf(stderr, "parley: %s\n(see parley --help)\n", err);
    return 2;
  }
  if (b.opts.mode == CLIENT_MODE_HELP) {
    fputs(client_opts_usage(), stdout);
    return 0;
  }
  int pr = client_opts_password(&b.opts, err, sizeof err);
  if (pr < 0) {
    fprintf(stderr, "parley: %s\n", err);
    client_opts_free(&b.opts);
    return 2;
  }
  if (pr == 1) {
    fprintf(stderr, "parley: no password: set PARLEY_PASSWORD or use "
                    "--password-file FILE\n");
    client_opts_free(&b.opts);
    return 2;
  }
  if (client_opts_check_password(&b.opts, err, sizeof err) < 0) {
    /* Refused here, before connecting: said as the server would. */
    emit_error(PERR_BAD_PASSWORD, proto_errname(PERR_BAD_PASSWORD), err);
    fprintf(stderr, "parley: %s\n", err);
    client_opts_free(&b.opts);
    return 2;
  }
  b.line = malloc(BATCH_LINE_MAX);
  int r = b.line ? uv_loop_init(&b.loop) : UV_ENOMEM;
  if (r < 0) {
    fprintf(stderr, "parley: %s\n", uv_strerror(r));
    return 1;
  }
  b.c = client_new(&b.loop, &b.opts, on_event, &b);
  client_opts_free(&b.opts); /* the client holds its own copy */
  if (!b.c || (r = in_open(&b)) < 0) {
    fprintf(stderr, "parley: cannot start: %s\n",
            b.c ? uv_strerror(r) : "out of memory");
    return 1;
  }
  r = uv_check_init(&b.loop, &b.check);
  if (r == 0) {
    b.check.data = &b;
    r = uv_check_start(&b.check, on_check);
  }
  if (r == 0)
    r = client_start(b.c);
  if (r < 0) {
    fprintf(stderr, "parley: cannot connect: %s\n", uv_strerror(r));
    b.exit_code = 1;
    in_close(&b);
    client_stop(b.c);
  } else {
    in_flow(&b);
  }
  uv_run(&b.loop, UV_RUN_DEFAULT);
  client_free(b.c);
  while (b.head) {
    batch_line *l = b.head;
    b.head = l->next;
    free(l);
  }
  free(b.line);
  r = uv_loop_close(&b.loop);
  if (r != 0)
    fprintf(stderr, "parley: warning: loop closed with handles open\n");
  return b.exit_code;
}
