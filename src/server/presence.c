/* presence.c: presence changes and lists (see presence.h).
 *
 * Version 3 sessions get presence coalesced: a change marks its user
 * pending (one entry per name, in a map), and when the --coalesce-ms
 * interval is over presence_flush sends every pending user's state at that
 * moment in PRESENCE_LIST frames shared by all v3 users. A user who came
 * and went within one interval was never announced, so is not announced
 * gone either. The user list (after login, WHO_REQ) is what the last
 * flush published: users marked `listed`, encoded once into shared frames
 * until the next flush changes it, plus the receiver's own entry; the
 * changes it misses come with the next flush, so a client's view never
 * holds a user nobody will tell it has left. Versions 1 and 2 get one
 * PRESENCE per change, at once, as before. */
#include "presence.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "bus.h"
#include "conn.h"
#include "server.h"
#include "user.h"
#include <stdio.h>

/* Fills a PRESENCE message for u. */
static void presence_fill(proto_msg *m, const user *u, uint8_t status,
                          uint8_t flags) {
  memset(m, 0, sizeof *m);
  m->type = PROTO_PRESENCE;
  m->u.presence.user = proto_str_c(u->name);
  m->u.presence.status = status;
  m->u.presence.text = proto_str_c(status == PROTO_OFFLINE ? "" : u->away);
  /* "Talking with" is published unless the server turned it off or the
   * user hid it (SET_PRIVACY); the user itself still sees its own. */
  bool hidden = (srv.cfg != NULL && srv.cfg->no_talking_with) ||
                (u->hide_talking && !(flags & PROTO_PRESF_SELF));
  m->u.presence.talking_with =
      proto_str_c(status == PROTO_OFFLINE || hidden ? "" : u->talking);
  m->u.presence.idle_s = user_idle_s(u, server_now_ms());
  m->u.presence.flags =
      (uint8_t)(flags | (u->role == PROTO_ROLE_ADMIN ? PROTO_PRESF_ADMIN : 0));
}

#define PRESENCE_PEND_MAX 65536        /* pending names before an early flush */
#define PRESENCE_SNAP_MAX_AGE_MS 10000 /* idle times in the list stay fresh */

typedef struct presence_pend {   /* a user whose change v3 users await */
  char key[PROTO_MAX_NAME + 1];  /* lowercased name: the map key */
  char name[PROTO_MAX_NAME + 1]; /* spelling */
  bool was_listed; /* v3 users saw it online after the last flush */
  UT_hash_handle hh;
} presence_pend;

static presence_pend *presence_pending; /* in the order of the changes */
static uint32_t presence_npending;

static fbuf **presence_snap;       /* the shared list frames, or NULL */
static uint32_t presence_nsnap;    /* frames in presence_snap */
static uint32_t presence_snap_cap; /* slots allocated */
static uint32_t presence_snap_entries;
static bool presence_snap_ok; /* the frames match the listed users */
static uint64_t presence_snap_ms;

/* Drops the shared list frames. */
static void presence_snap_drop(void) {
  for (uint32_t i = 0; i < presence_nsnap; i++)
    fbuf_unref(presence_snap[i]);
  presence_nsnap = 0;
  presence_snap_entries = 0;
  presence_snap_ok = false;
}

/* Encodes a PRESENCE_LIST of the n bytes of entries in buf; NULL when out
 * of memory. */
static fbuf *presence_list_frame(const uint8_t *buf, size_t n, uint8_t flags) {
  proto_msg m = {.type = PROTO_PRESENCE_LIST};
  m.u.presence_list.flags = flags;
  m.u.presence_list.entries = (proto_blob){buf, (uint16_t)n};
  return fbuf_encode(&m, NULL);
}

/* A packer of entries into PRESENCE_LIST frames: each full frame goes to
 * emit. */
typedef struct presence_packer {
  uint8_t buf[PROTO_MAX_LIST];
  size_t off;
  uint8_t flags;
  uint32_t entries;
  void (*emit)(fbuf *b); /* takes the reference */
} presence_packer;

/* Starts an empty packer whose frames carry flags and go to emit. */
static void presence_packer_init(presence_packer *pk, uint8_t flags,
                                 void (*emit)(fbuf *b)) {
  pk->off = 0;
  pk->entries = 0;
  pk->flags = flags;
  pk->emit = emit;
}

/* Sends what the packer holds as one frame. */
static void presence_pack_flush(presence_packer *pk) {
  if (pk->off == 0)
    return;
  fbuf *b = presence_list_frame(pk->buf, pk->off, pk->flags);
  pk->off = 0;
  if (b != NULL)
    pk->emit(b);
}

/* Adds one entry, starting a new frame when the current one is full. */
static void presence_pack(presence_packer *pk, const proto_presence *e) {
  int rc = proto_plist_put(pk->buf, sizeof pk->buf, &pk->off, e);
  if (rc == -PERR_NO_SPACE) {
    presence_pack_flush(pk);
    rc = proto_plist_put(pk->buf, sizeof pk->buf, &pk->off, e);
  }
  if (rc == 0)
    pk->entries++;
}

/* emit for presence_flush: the frame goes to every v3 user. */
static void presence_emit_changes(fbuf *b) {
  bus_all_version(b, NULL, 3, PROTO_VERSION);
  fbuf_unref(b);
}

/* emit for the list cache: the frame is kept for every list until the
 * next flush (bounded by the users online: PROTO_MAX_LIST bytes each). */
static void presence_emit_snap(fbuf *b) {
  if (presence_nsnap == presence_snap_cap) {
    uint32_t cap = presence_snap_cap ? presence_snap_cap * 2 : 8;
    fbuf **n = realloc(presence_snap, cap * sizeof *n);
    if (n == NULL) {
      fbuf_unref(b);
      return;
    }
    presence_snap = n;
    presence_snap_cap = cap;
  }
  presence_snap[presence_nsnap++] = b;
}

/* Marks u's presence pending for the next coalesced send (the map keeps
 * one entry per name, with what v3 users saw before the first change). */
static void presence_mark(user *u) {
  char key[PROTO_MAX_NAME + 1];
  if (user_key(key, sizeof key, u->name, strlen(u->name)) < 0)
    return;
  presence_pend *p;
  HASH_FIND_STR(presence_pending, key, p);
  if (p == NULL) {
    p = calloc(1, sizeof *p);
    if (p == NULL)
      return; /* out of memory: this change is not coalesced (lost) */
    memcpy(p->key, key, sizeof p->key);
    p->was_listed = u->listed;
    HASH_ADD_STR(presence_pending, key, p);
    presence_npending++;
  }
  snprintf(p->name, sizeof p->name, "%s", u->name);
  if (presence_npending >= PRESENCE_PEND_MAX)
    presence_flush();
  else
    server_coalesce();
}

/* Sends every pending change to every v3 user: a user still online with
 * its state now, one gone (and seen before) as OFFLINE, one that came and
 * went unseen not at all. Each pending user is sent once. */
void presence_flush(void) {
  if (presence_npending == 0)
    return;
  presence_packer *pk = malloc(sizeof *pk);
  if (pk != NULL)
    presence_packer_init(pk, 0, presence_emit_changes);
  presence_pend *p, *tmp;
  HASH_ITER(hh, presence_pending, p, tmp) {
    user *u = user_find(p->name, strlen(p->name));
    if (pk != NULL && (u != NULL || p->was_listed)) {
      proto_msg m;
      if (u != NULL) {
        presence_fill(&m, u, u->status, 0);
      } else {
        memset(&m, 0, sizeof m);
        m.u.presence.user = proto_str_c(p->name);
        m.u.presence.status = PROTO_OFFLINE;
      }
      presence_pack(pk, &m.u.presence);
    }
    if (u != NULL)
      u->listed = true;
    HASH_DEL(presence_pending, p);
    free(p);
  }
  presence_npending = 0;
  if (pk != NULL) {
    presence_pack_flush(pk);
    free(pk);
  }
  presence_snap_drop();
}

/* Legacy (v1, v2) sessions: one PRESENCE per change, to everyone else at
 * once (only walked while such sessions are online). */
static void presence_push_legacy(user *u, uint8_t status) {
  if (srv.nlegacy == 0)
    return;
  proto_msg m;
  presence_fill(&m, u, status, 0);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL)
    return;
  bus_all_version(b, u, PROTO_VERSION_MIN, 2);
  fbuf_unref(b);
}

/* u just logged in: older sessions hear it now, v3 ones at the next
 * flush. If u's name left within this interval, v3 users still see it as
 * they did before. */
void presence_online(user *u) {
  char key[PROTO_MAX_NAME + 1];
  presence_pend *p = NULL;
  if (user_key(key, sizeof key, u->name, strlen(u->name)) == 0)
    HASH_FIND_STR(presence_pending, key, p);
  u->listed = p != NULL && p->was_listed;
  presence_push_legacy(u, PROTO_ONLINE);
  presence_mark(u);
}

/* Current state to all (u itself at once, with SELF). */
void presence_changed(user *u) {
  presence_push_legacy(u, u->status);
  presence_mark(u);
  proto_msg m;
  presence_fill(&m, u, u->status, PROTO_PRESF_SELF);
  conn_send_msg(u->conn, &m);
}

/* Offline to all but u (nothing at shutdown: everyone is leaving). */
void presence_offline(user *u) {
  if (srv.stopping)
    return;
  presence_push_legacy(u, PROTO_OFFLINE);
  presence_mark(u);
}

/* The v3 list: the shared frames of the listed users (rebuilt when a
 * flush changed them or their idle times got old), then u's own entry
 * with SELF, then WHO_END with the number of entries. */
static void presence_who_compact(struct conn *c) {
  uint64_t now = server_now_ms();
  if (!presence_snap_ok || now - presence_snap_ms > PRESENCE_SNAP_MAX_AGE_MS) {
    presence_snap_drop();
    presence_packer *pk = malloc(sizeof *pk);
    if (pk != NULL) {
      presence_packer_init(pk, PROTO_PRESF_LIST, presence_emit_snap);
      proto_msg m;
      for (user *x = user_first(); x != NULL; x = x->hh.next) {
        if (!x->listed)
          continue;
        presence_fill(&m, x, x->status, 0);
        presence_pack(pk, &m.u.presence);
      }
      presence_pack_flush(pk);
      presence_snap_entries = pk->entries;
      presence_snap_ok = true;
      presence_snap_ms = now;
      free(pk);
    }
  }
  for (uint32_t i = 0; i < presence_nsnap; i++)
    conn_send(c, presence_snap[i]);
  proto_msg m;
  presence_fill(&m, c->user, c->user->status, PROTO_PRESF_SELF);
  uint8_t one[PROTO_MAX_NAME * 2 + PROTO_MAX_STATUS * 4 + 16];
  size_t off = 0;
  if (proto_plist_put(one, sizeof one, &off, &m.u.presence) == 0) {
    fbuf *b = presence_list_frame(one, off, PROTO_PRESF_LIST);
    if (b != NULL) {
      conn_send(c, b);
      fbuf_unref(b);
    }
  }
  proto_msg e = {.type = PROTO_WHO_END};
  e.u.who_end.count = presence_snap_entries + 1;
  conn_send_msg(c, &e);
}

/* The full list, with LIST and (for the requester) SELF. */
void presence_who(struct conn *c) {
  if (c->version >= 3) {
    presence_who_compact(c);
    return;
  }
  proto_msg m;
  uint32_t n = 0;
  for (user *x = user_first(); x != NULL; x = x->hh.next, n++) {
    presence_fill(
        &m, x, x->status,
        (uint8_t)(PROTO_PRESF_LIST | (x == c->user ? PROTO_PRESF_SELF : 0)));
    conn_send_msg(c, &m);
  }
  proto_msg e = {.type = PROTO_WHO_END};
  e.u.who_end.count = n;
  conn_send_msg(c, &e);
}

/* Frees what waits for a flush and the list cache (shutdown). */
void presence_fini(void) {
  presence_pend *p, *tmp;
  HASH_ITER(hh, presence_pending, p, tmp) {
    HASH_DEL(presence_pending, p);
    free(p);
  }
  presence_npending = 0;
  presence_snap_drop();
  free(presence_snap);
  presence_snap = NULL;
  presence_snap_cap = 0;
}

/* SET_PRIVACY: whether others see whom u is talking with; republished
 * at once. */
void presence_on_privacy(struct conn *c, const proto_set_privacy *req) {
  user *u = c->user;
  bool hide = (req->flags & PROTO_PRIVF_HIDE_TALKING) != 0;
  if (u->hide_talking == hide)
    return;
  u->hide_talking = hide;
  presence_changed(u);
}

/* SET_STATUS: online, away (with text) or busy. */
void presence_on_status(struct conn *c, const proto_set_status *req) {
  user *u = c->user;
  if (req->status == PROTO_OFFLINE) {
    conn_error(c, PERR_BAD_VALUE, PROTO_SET_STATUS, "",
               "status must be online, away or busy");
    return;
  }
  if (proto_has_control(req->text.p, req->text.n)) {
    conn_error(c, PERR_CONTROL_CHARS, PROTO_SET_STATUS, "", NULL);
    return;
  }
  free(u->away);
  u->away = NULL;
  if (req->text.n > 0 && req->status != PROTO_ONLINE) {
    u->away = proto_str_dup(req->text);
  }
  u->status = req->status;
  presence_changed(u);
}
