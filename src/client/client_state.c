/* client_state.c: what the client remembers between runs, per account and
 * server: the session token (so a restarted client logs in without the
 * password until the token expires) and the rooms it was in (rejoined at
 * start). One small file in $XDG_STATE_HOME/parley, mode 0600, replaced
 * atomically (write a temporary file, fsync, rename) off the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"

#define CLIENT_STATE_MAX_BYTES 8192 /* a bigger file is not ours */

/* One save in flight: the work request, the file and its new contents. */
typedef struct client_state_save_req {
  uv_work_t work;
  client *c;
  char path[CLIENT_CONFIG_PATH_SZ + 64];
  char *data;
  size_t n;
  int result; /* 0 or -errno */
} client_state_save_req;

/* The state directory ($XDG_STATE_HOME/parley or ~/.local/state/parley)
 * into buf; "" when unknown. */
static const char *client_state_dir(char *buf, size_t n) {
  const char *x = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  if (x && x[0] == '/')
    snprintf(buf, n, "%s/parley", x);
  else if (home && home[0] == '/')
    snprintf(buf, n, "%s/.local/state/parley", home);
  else if (n)
    buf[0] = '\0';
  return buf;
}

const char *client_state_path(const client_opts *o, char *buf, size_t n) {
  char dir[CLIENT_CONFIG_PATH_SZ];
  client_state_dir(dir, sizeof dir);
  if (!dir[0]) {
    if (n)
      buf[0] = '\0';
    return buf;
  }
  char user[CLIENT_NAME_SZ], host[CLIENT_HOST_SZ];
  /* Names are ASCII and compared case-insensitively: one file per
   * account. A host may hold ':' (IPv6) or '/': keep it a file name. */
  snprintf(user, sizeof user, "%s", o->user);
  for (char *p = user; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  snprintf(host, sizeof host, "%s", o->host);
  for (char *p = host; *p; p++)
    if (*p == '/' || *p == ':' || (unsigned char)*p < 0x21)
      *p = '_';
  snprintf(buf, n, "%s/%s@%s_%u", dir, user, host, o->port);
  return buf;
}

/* Parses 64 hex digits into token; 0 or -1. */
static int client_state_hex(const char *s, uint8_t *token) {
  for (size_t i = 0; i < PROTO_TOKEN_LEN; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      return -1;
    token[i] = (uint8_t)v;
  }
  return strlen(s) == 2 * PROTO_TOKEN_LEN ? 0 : -1;
}

int client_state_load(client_opts *o, char *err, size_t errlen) {
  o->have_token = false;
  o->nstate_rooms = 0;
  o->state_pane = CLIENT_PANE_UNSET;
  if (!o->keep_session)
    return 0;
  char path[CLIENT_CONFIG_PATH_SZ + 64];
  client_state_path(o, path, sizeof path);
  if (!path[0])
    return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return 0; /* nothing remembered yet */
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() ||
      (st.st_mode & 077) || st.st_size > CLIENT_STATE_MAX_BYTES) {
    close(fd);
    snprintf(err, errlen,
             "%s is not a private file of yours (mode 0600, at most %d "
             "bytes): not used; remove it",
             path, CLIENT_STATE_MAX_BYTES);
    return -1;
  }
  char buf[CLIENT_STATE_MAX_BYTES + 1];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n))) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strncmp(line, "token ", 6))
      o->have_token = client_state_hex(line + 6, o->token) == 0;
    else if (!strncmp(line, "dm ", 3) && o->nstate_dms < CLIENT_STATE_MAX_DMS) {
      char peer[CLIENT_NAME_SZ];
      unsigned long long id;
      if (sscanf(line + 3, "%32s %llu", peer, &id) == 2 &&
          proto_check_name(peer, strlen(peer)) == 0) {
        client_dm_seen *d = &o->state_dms[o->nstate_dms++];
        memset(d, 0, sizeof *d);
        snprintf(d->peer, sizeof d->peer, "%s", peer);
        d->last_id = id;
      }
    } else if (!strncmp(line, "room ", 5) &&
               o->nstate_rooms < CLIENT_STATE_MAX_ROOMS &&
               proto_check_room(line + 5, strlen(line + 5)) == 0)
      snprintf(o->state_rooms[o->nstate_rooms++], CLIENT_ROOM_SZ, "%s",
               line + 5);
    else if (!strcmp(line, "pane room"))
      o->state_pane = CLIENT_PANE_ROOM;
    else if (!strcmp(line, "pane all"))
      o->state_pane = CLIENT_PANE_ALL;
  }
  memset(buf, 0, sizeof buf); /* the token */
  return 0;
}

/* Creates the directories of path (mode 0700), like mkdir -p. */
static void client_state_mkdirs(const char *path) {
  char d[CLIENT_CONFIG_PATH_SZ + 64];
  snprintf(d, sizeof d, "%s", path);
  for (char *p = d + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      (void)mkdir(d, 0700); /* EEXIST is fine; open() reports the rest */
      *p = '/';
    }
}

/* Thread pool: writes the temporary file, syncs it, renames it over. */
static void client_state_save_work(uv_work_t *w) {
  client_state_save_req *q = w->data;
  char tmp[sizeof q->path + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp", q->path);
  client_state_mkdirs(q->path);
  (void)unlink(tmp);
  int fd =
      open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    q->result = -errno;
    return;
  }
  size_t off = 0;
  while (off < q->n) {
    ssize_t r = write(fd, q->data + off, q->n - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      q->result = -errno;
      break;
    }
    off += (size_t)r;
  }
  if (q->result == 0 && fsync(fd) < 0)
    q->result = -errno;
  close(fd);
  if (q->result == 0 && rename(tmp, q->path) < 0)
    q->result = -errno;
  if (q->result < 0)
    (void)unlink(tmp);
}

/* Loop: the save finished; start the next one if the state changed. */
static void client_state_save_done(uv_work_t *w, int status) {
  client_state_save_req *q = w->data;
  client *c = q->c;
  int result = status < 0 ? status : q->result;
  memset(q->data, 0, q->n);
  free(q->data);
  char path[sizeof q->path];
  snprintf(path, sizeof path, "%s", q->path);
  free(q);
  c->state_saving = false;
  c->live--;
  if (result < 0 && !c->state_warned) {
    c->state_warned = true; /* once per run: the chat goes on regardless */
    client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
                "cannot save the session state to %s: %s", path,
                strerror(-result));
  }
  if (c->state_dirty) /* even while stopping: STOPPED waits for it */
    client_state_save(c);
  client_maybe_stopped(c);
}

/* Saves the token and the rooms we are in, off the loop; coalesces: while
 * one save runs, the next waits and writes the newest state. */
void client_state_save(client *c) {
  if (!c->opts.keep_session || c->stopped)
    return;
  if (c->state_saving) {
    c->state_dirty = true;
    return;
  }
  c->state_dirty = false;
  client_state_save_req *q = calloc(1, sizeof *q);
  if (!q)
    return;
  client_state_path(&c->opts, q->path, sizeof q->path);
  size_t cap = 128 + 2 * PROTO_TOKEN_LEN +
               CLIENT_STATE_MAX_ROOMS * (CLIENT_ROOM_SZ + 8) +
               CLIENT_STATE_MAX_DMS * (CLIENT_NAME_SZ + 32);
  q->data = malloc(cap);
  if (!q->path[0] || !q->data) {
    free(q->data);
    free(q);
    return;
  }
  size_t n = (size_t)snprintf(q->data, cap,
                              "# parley session state: token and rooms "
                              "(written by parley)\n");
  if (c->have_token) {
    n += (size_t)snprintf(q->data + n, cap - n, "token ");
    for (size_t i = 0; i < PROTO_TOKEN_LEN; i++)
      n += (size_t)snprintf(q->data + n, cap - n, "%02x", c->token[i]);
    n += (size_t)snprintf(q->data + n, cap - n, "\n");
  }
  unsigned rooms = 0;
  for (size_t i = 0; i < c->m.nwindows && rooms < CLIENT_STATE_MAX_ROOMS; i++) {
    const client_window *w = c->m.windows[i];
    if (w->kind == CLIENT_WIN_ROOM && !w->parting) {
      n += (size_t)snprintf(q->data + n, cap - n, "room %s\n", w->name);
      rooms++;
    }
  }
  for (unsigned i = 0; i < c->ndms; i++)
    n += (size_t)snprintf(q->data + n, cap - n, "dm %s %llu\n", c->dms[i].peer,
                          (unsigned long long)c->dms[i].last_id);
  if (c->opts.state_pane != CLIENT_PANE_UNSET)
    n += (size_t)snprintf(q->data + n, cap - n, "pane %s\n",
                          c->opts.state_pane == CLIENT_PANE_ROOM ? "room"
                                                                 : "all");
  q->n = n;
  q->c = c;
  q->work.data = q;
  if (uv_queue_work(c->loop, &q->work, client_state_save_work,
                    client_state_save_done) < 0) {
    free(q->data);
    free(q);
    return;
  }
  c->state_saving = true;
  c->live++;
}

/* Remembers the face's users pane choice; saved with the rest of the
 * state (nothing is written when it did not change). */
void client_state_pane(client *c, client_pane pane) {
  if (c->opts.state_pane == pane)
    return;
  c->opts.state_pane = pane;
  client_state_save(c);
}

client_dm_seen *client_state_dm(client *c, const char *peer) {
  for (unsigned i = 0; i < c->ndms; i++)
    if (strcasecmp(c->dms[i].peer, peer) == 0)
      return &c->dms[i];
  return NULL;
}

/* Records the newest message id seen in the conversation with peer; when
 * the table is full the conversation quiet the longest (smallest id)
 * makes room. Saved with the rest of the state. */
void client_state_dm_seen(client *c, const char *peer, uint64_t id) {
  if (!c->opts.keep_session)
    return;
  client_dm_seen *d = client_state_dm(c, peer);
  if (!d) {
    if (c->ndms < CLIENT_STATE_MAX_DMS) {
      d = &c->dms[c->ndms++];
    } else {
      d = &c->dms[0];
      for (unsigned i = 1; i < c->ndms; i++)
        if (c->dms[i].last_id < d->last_id)
          d = &c->dms[i];
    }
    memset(d, 0, sizeof *d);
    snprintf(d->peer, sizeof d->peer, "%s", peer);
  }
  if (id > d->last_id) {
    d->last_id = id;
    client_state_save(c);
  }
}

void client_state_dm_summary(client *c) {
  for (unsigned i = 0; i < c->ndms; i++) {
    client_dm_seen *d = &c->dms[i];
    proto_msg m = {.type = PROTO_HISTORY_REQ};
    m.u.history_req.kind = PROTO_TO_USER;
    m.u.history_req.target = proto_str_c(d->peer);
    d->unread = 0;
    d->pending = client_send(c, &m) == 0;
  }
}
