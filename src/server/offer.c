/* offer.c: peer file offers between logged-in users (offer.h). */
#include "offer.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "bus.h"
#include "conn.h"
#include "fbuf.h"
#include "log.h"
#include "relay.h"
#include "room.h"
#include "server.h"
#include "user.h"

typedef struct offer_slot {
  bool used;
  bool accepted;
  uint8_t hints; /* FILE_HINTs forwarded (at most OFFER_HINTS) */
  uint64_t offer_id;
  uint64_t size;
  uint64_t expires_ms; /* while not accepted */
  char from[PROTO_MAX_NAME + 1];
  char to[PROTO_MAX_NAME + 1];
} offer_slot;

static offer_slot offer_slots[OFFER_SLOTS];

/* Offers made per user in the current minute (a fixed window). */
typedef struct offer_rate {
  char name[PROTO_MAX_NAME + 1];
  uint64_t window_ms;
  uint32_t count;
} offer_rate;
static offer_rate offer_rates[256];

/* Counts an offer by name in this minute; false when over the limit. */
static bool offer_rate_ok(const char *name, uint32_t n) {
  uint64_t now = server_now_ms();
  offer_rate *r = NULL, *oldest = &offer_rates[0];
  for (size_t i = 0; i < sizeof offer_rates / sizeof *offer_rates; i++) {
    offer_rate *x = &offer_rates[i];
    if (strcasecmp(x->name, name) == 0) {
      r = x;
      break;
    }
    if (x->window_ms < oldest->window_ms)
      oldest = x;
  }
  if (r == NULL || now - r->window_ms >= 60000) {
    if (r == NULL)
      r = oldest; /* the longest-unused entry: its window is over anyway */
    snprintf(r->name, sizeof r->name, "%s", name);
    r->window_ms = now;
    r->count = 0;
  }
  if (r->count + n > srv.cfg->offers_per_min)
    return false;
  r->count += n;
  return true;
}

/* The slot of (from, to, id), or NULL. */
static offer_slot *offer_find(const char *from, const char *to, uint64_t id) {
  for (size_t i = 0; i < OFFER_SLOTS; i++) {
    offer_slot *s = &offer_slots[i];
    if (s->used && s->offer_id == id && strcasecmp(s->from, from) == 0 &&
        strcasecmp(s->to, to) == 0)
      return s;
  }
  return NULL;
}

/* Open offers of name as offerer. */
static uint32_t offer_count(const char *name) {
  uint32_t n = 0;
  for (size_t i = 0; i < OFFER_SLOTS; i++)
    if (offer_slots[i].used && strcasecmp(offer_slots[i].from, name) == 0)
      n++;
  return n;
}

static offer_slot *offer_free_slot(void) {
  for (size_t i = 0; i < OFFER_SLOTS; i++)
    if (!offer_slots[i].used)
      return &offer_slots[i];
  return NULL;
}

/* Encodes m and queues it to u through the bus. */
static void offer_deliver(const user *u, const proto_msg *m) {
  fbuf *b = fbuf_encode(m, NULL);
  if (b == NULL)
    return;
  bus_user(u, b);
  fbuf_unref(b);
}

void offer_send_limits(struct conn *c) {
  const config *cfg = srv.cfg;
  proto_msg m = {.type = PROTO_FILE_LIMITS};
  m.u.file_limits.max_file_size = cfg->max_file_size;
  m.u.file_limits.max_transfers = (uint16_t)cfg->max_transfers;
  m.u.file_limits.offers_per_min =
      (uint16_t)(cfg->offers_per_min > 65535 ? 65535 : cfg->offers_per_min);
  m.u.file_limits.offer_ttl_s = cfg->offer_ttl;
  m.u.file_limits.max_relayed = (uint16_t)cfg->max_relayed;
  conn_send_msg(c, &m);
}

/* Records one offer from u to v and forwards the frame to v. */
static int offer_one(struct conn *c, const user *v, const proto_file_offer *o,
                     bool quiet) {
  user *u = c->user;
  offer_slot *s = offer_find(u->name, v->name, o->offer_id);
  if (s == NULL) { /* a re-offer (resume) with the same identity reuses it */
    if (offer_count(u->name) >= srv.cfg->max_transfers ||
        (s = offer_free_slot()) == NULL) {
      if (!quiet)
        conn_error(c, PERR_TRANSFER_LIMIT, PROTO_FILE_OFFER, v->name,
                   "too many open file offers (at most %u); wait for some "
                   "to finish",
                   srv.cfg->max_transfers);
      return -1;
    }
  }
  memset(s, 0, sizeof *s);
  s->used = true;
  s->offer_id = o->offer_id;
  s->size = o->size;
  s->expires_ms = server_now_ms() + (uint64_t)srv.cfg->offer_ttl * 1000;
  snprintf(s->from, sizeof s->from, "%s", u->name);
  snprintf(s->to, sizeof s->to, "%s", v->name);
  proto_msg f = {.type = PROTO_FILE_OFFER};
  f.u.file_offer = *o;
  f.u.file_offer.peer = proto_str_c(u->name);
  offer_deliver(v, &f);
  log_info(conn_peer(c), "offer %016" PRIx64 " %s -> %s: %" PRIu64 " bytes",
           o->offer_id, u->name, v->name, o->size);
  return 0;
}

/* FILE_OFFER: to an online user, or to every other member of a room. */
static void offer_on_offer(struct conn *c, const proto_file_offer *o) {
  const config *cfg = srv.cfg;
  user *u = c->user;
  char subj[PROTO_MAX_ROOM * 4 + 1];
  proto_str_copy(subj, sizeof subj, o->peer);
  if (cfg->max_file_size == 0) {
    conn_error(c, PERR_FILE_TOO_BIG, PROTO_FILE_OFFER, subj,
               "this server does not allow file transfers");
    return;
  }
  if (o->size > cfg->max_file_size) {
    conn_error(c, PERR_FILE_TOO_BIG, PROTO_FILE_OFFER, subj,
               "file larger than the server's limit of %" PRIu64 " bytes",
               cfg->max_file_size);
    return;
  }
  /* The name is the sender's; each receiver makes it safe to store and
   * show (PROTOCOL.md 7.6), so only an empty one is refused here. */
  if (o->name.n == 0) {
    conn_error(c, PERR_BAD_FILENAME, PROTO_FILE_OFFER, subj, NULL);
    return;
  }
  if (o->peer.n > 0 && o->peer.p[0] == '#') {
    room *r = room_find(o->peer.p, o->peer.n);
    if (r == NULL || room_member(r, u) == NULL) {
      conn_error(c, r == NULL ? PERR_NO_SUCH_ROOM : PERR_NOT_IN_ROOM,
                 PROTO_FILE_OFFER, subj, NULL);
      return;
    }
    if (r->count < 2) {
      conn_error(c, PERR_USER_OFFLINE, PROTO_FILE_OFFER, subj,
                 "nobody else is in %s", subj);
      return;
    }
    if (!offer_rate_ok(u->name, 1)) {
      conn_error(c, PERR_OFFER_FLOOD, PROTO_FILE_OFFER, subj,
                 "too many file offers (at most %u a minute); wait",
                 cfg->offers_per_min);
      return;
    }
    for (member *m = r->members; m != NULL; m = m->next)
      if (m->user != u)
        (void)offer_one(c, m->user, o, false);
    return;
  }
  if (proto_check_name(o->peer.p, o->peer.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_FILE_OFFER, subj, NULL);
    return;
  }
  user *v = user_find(o->peer.p, o->peer.n);
  if (v == NULL) {
    conn_error(c, PERR_USER_OFFLINE, PROTO_FILE_OFFER, subj,
               "%s is not online; files can only be offered to online users",
               subj);
    return;
  }
  if (v == u) {
    conn_error(c, PERR_NO_SUCH_USER, PROTO_FILE_OFFER, subj,
               "you cannot send a file to yourself");
    return;
  }
  if (!offer_rate_ok(u->name, 1)) {
    conn_error(c, PERR_OFFER_FLOOD, PROTO_FILE_OFFER, subj,
               "too many file offers (at most %u a minute); wait",
               cfg->offers_per_min);
    return;
  }
  (void)offer_one(c, v, o, false);
}

/* Finds the offer a frame from u about (id, peer) names, either way round;
 * *u_sends says whether u is the offerer. */
static offer_slot *offer_lookup(const user *u, proto_str peer, uint64_t id,
                                bool *u_sends) {
  char p[PROTO_MAX_NAME + 1];
  proto_str_copy(p, sizeof p, peer);
  offer_slot *s = offer_find(u->name, p, id);
  if (s != NULL) {
    *u_sends = true;
    return s;
  }
  *u_sends = false;
  return offer_find(p, u->name, id);
}

/* After the offerer's first hint: the same port and token at the address
 * the offerer's chat connection comes from, as this server sees it (behind
 * a NAT that is the outside address, which the offerer cannot know), unless
 * the offerer's hint named that address already. */
static void offer_hint_observed(struct conn *c, user *v,
                                const proto_file_hint *h) {
  char host[PROTO_MAX_ADDR + 1];
  if (c->family != AF_INET && c->family != AF_INET6)
    return;
  if (uv_inet_ntop(c->family, c->addr, host, sizeof host) != 0)
    return;
  if (h->addr.n == strlen(host) && memcmp(h->addr.p, host, h->addr.n) == 0)
    return;
  proto_msg f = {.type = PROTO_FILE_HINT};
  f.u.file_hint = *h;
  f.u.file_hint.addr = proto_str_c(host);
  offer_deliver(v, &f);
}

static void offer_cancel_to(const char *to, const char *from, uint64_t id,
                            const char *reason);

/* FILE_CANCEL with a room as its peer: the sender withdraws a room offer.
 * Each member's offer of that id still waiting for an answer ends, and
 * the member hears FILE_CANCEL from the sender; accepted ones go on (each
 * is a transfer of its own, cancelled by the member's name). */
static void offer_cancel_room(struct conn *c, uint64_t id, const char *to) {
  const char *me = c->user->name;
  unsigned n = 0;
  for (size_t i = 0; i < OFFER_SLOTS; i++) {
    offer_slot *s = &offer_slots[i];
    if (!s->used || s->accepted || s->offer_id != id ||
        strcasecmp(s->from, me) != 0)
      continue;
    offer_cancel_to(s->to, s->from, s->offer_id, "the sender withdrew it");
    s->used = false;
    n++;
  }
  if (n == 0)
    conn_error(c, PERR_NO_SUCH_OFFER, PROTO_FILE_CANCEL, to,
               "no offer %" PRIu64 " of yours to %s is waiting for an answer",
               id, to);
}

/* FILE_ACCEPT, FILE_REJECT, FILE_CANCEL, FILE_HINT, FILE_PIN, FILE_RELAY and
 * FILE_DONE (the receiver's "verified"): checked against the table and
 * forwarded to the other party. */
static void offer_on_answer(struct conn *c, const proto_msg *m) {
  user *u = c->user;
  uint64_t id = 0;
  proto_str peer = {"", 0};
  switch (m->type) {
  case PROTO_FILE_ACCEPT:
    id = m->u.file_accept.offer_id, peer = m->u.file_accept.peer;
    break;
  case PROTO_FILE_REJECT:
  case PROTO_FILE_CANCEL:
    id = m->u.file_reject.offer_id, peer = m->u.file_reject.peer;
    break;
  case PROTO_FILE_HINT:
    id = m->u.file_hint.offer_id, peer = m->u.file_hint.peer;
    break;
  case PROTO_FILE_RELAY:
    id = m->u.file_relay.offer_id, peer = m->u.file_relay.peer;
    break;
  case PROTO_FILE_PIN:
    id = m->u.file_pin.offer_id, peer = m->u.file_pin.peer;
    break;
  default:
    break;
  }
  char subj[PROTO_MAX_NAME * 4 + 1];
  proto_str_copy(subj, sizeof subj, peer);
  if (m->type == PROTO_FILE_CANCEL && peer.n > 0 && peer.p[0] == '#') {
    offer_cancel_room(c, id, subj);
    return;
  }
  bool u_sends;
  offer_slot *s = offer_lookup(u, peer, id, &u_sends);
  if (s == NULL) {
    conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj, NULL);
    return;
  }
  user *v = user_find(u_sends ? s->to : s->from,
                      strlen(u_sends ? s->to : s->from));
  if (v == NULL) { /* cannot happen: offers end when a party leaves */
    conn_error(c, PERR_USER_OFFLINE, m->type, subj, NULL);
    s->used = false;
    return;
  }
  proto_msg f = *m;
  proto_str me = proto_str_c(u->name);
  switch (m->type) {
  case PROTO_FILE_ACCEPT:
    if (u_sends || m->u.file_accept.offset > s->size) {
      conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj,
                 "only the recipient accepts, from an offset within the file");
      return;
    }
    s->accepted = true;
    f.u.file_accept.peer = me;
    break;
  case PROTO_FILE_REJECT:
  case PROTO_FILE_CANCEL:
    if (m->type == PROTO_FILE_REJECT && u_sends) {
      conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj,
                 "only the recipient rejects; the sender cancels");
      return;
    }
    f.u.file_reject.peer = me;
    s->used = false;
    break;
  case PROTO_FILE_HINT:
    if (!u_sends) {
      conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj,
                 "only the offerer sends hints");
      return;
    }
    if (s->hints >= OFFER_HINTS) {
      conn_error(c, PERR_TRANSFER_LIMIT, m->type, subj,
                 "at most %d address hints per offer", OFFER_HINTS);
      return;
    }
    f.u.file_hint.peer = me;
    offer_deliver(v, &f);
    if (s->hints++ == 0)
      offer_hint_observed(c, v, &f.u.file_hint);
    return;
  case PROTO_FILE_PIN: /* forwarded as it is: the server cannot check it */
    if (!u_sends || !s->accepted) {
      conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj,
                 "only the offerer pins its key, once the offer is accepted");
      return;
    }
    f.u.file_pin.peer = me;
    break;
  case PROTO_FILE_RELAY: {
    if (!s->accepted) {
      conn_error(c, PERR_NO_SUCH_OFFER, m->type, subj,
                 "the offer is not accepted yet");
      return;
    }
    if (s->size > srv.cfg->max_file_size) {
      conn_error(c, PERR_FILE_TOO_BIG, m->type, subj, NULL);
      return;
    }
    uint8_t token[PROTO_TOKEN_LEN];
    const char *why = NULL;
    if (relay_issue(s->from, s->to, id, token, &why) < 0) {
      conn_error(c, PERR_TRANSFER_LIMIT, m->type, subj, "%s", why);
      return;
    }
    proto_msg r = {.type = PROTO_FILE_RELAY};
    r.u.file_relay.offer_id = id;
    r.u.file_relay.token = (proto_blob){token, PROTO_TOKEN_LEN};
    r.u.file_relay.peer = proto_str_c(v->name);
    conn_send_msg(c, &r);
    r.u.file_relay.peer = me;
    offer_deliver(v, &r);
    return;
  }
  default:
    return;
  }
  offer_deliver(v, &f);
}

/* FILE_DONE from the receiver over the chat connection: it verified the
 * file; the offer ends and the offerer hears of it. */
static void offer_on_done(struct conn *c, const proto_file_done *d) {
  user *u = c->user;
  for (size_t i = 0; i < OFFER_SLOTS; i++) {
    offer_slot *s = &offer_slots[i];
    if (s->used && s->offer_id == d->xfer_id && strcasecmp(s->to, u->name) == 0) {
      s->used = false;
      user *v = user_find(s->from, strlen(s->from));
      proto_msg f = {.type = PROTO_FILE_DONE};
      f.u.file_done = *d;
      if (v != NULL)
        offer_deliver(v, &f);
      log_info(conn_peer(c), "offer %016" PRIx64 " %s -> %s: done", s->offer_id,
               s->from, s->to);
      return;
    }
  }
  conn_error(c, PERR_NO_SUCH_OFFER, PROTO_FILE_DONE, "", NULL);
}

void offer_on_frame(struct conn *c, const proto_msg *m) {
  switch (m->type) {
  case PROTO_FILE_OFFER:
    offer_on_offer(c, &m->u.file_offer);
    break;
  case PROTO_FILE_ACCEPT:
  case PROTO_FILE_REJECT:
  case PROTO_FILE_CANCEL:
  case PROTO_FILE_HINT:
  case PROTO_FILE_PIN:
  case PROTO_FILE_RELAY:
    offer_on_answer(c, m);
    break;
  case PROTO_FILE_DONE:
    offer_on_done(c, &m->u.file_done);
    break;
  default:
    conn_error(c, PERR_UNEXPECTED, m->type, "",
               "%s belongs on a data connection, not the chat connection",
               proto_type_name(m->type));
  }
}

/* Sends FILE_CANCEL { id, peer = from's name, reason } to to. */
static void offer_cancel_to(const char *to, const char *from, uint64_t id,
                            const char *reason) {
  user *v = user_find(to, strlen(to));
  if (v == NULL)
    return;
  proto_msg f = {.type = PROTO_FILE_CANCEL};
  f.u.file_cancel.offer_id = id;
  f.u.file_cancel.peer = proto_str_c(from);
  f.u.file_cancel.reason = proto_str_c(reason);
  offer_deliver(v, &f);
}

void offer_user_gone(const user *u) {
  for (size_t i = 0; i < OFFER_SLOTS; i++) {
    offer_slot *s = &offer_slots[i];
    if (!s->used)
      continue;
    if (strcasecmp(s->from, u->name) == 0)
      offer_cancel_to(s->to, s->from, s->offer_id, "the sender went offline");
    else if (strcasecmp(s->to, u->name) == 0)
      offer_cancel_to(s->from, s->to, s->offer_id,
                      "the recipient went offline");
    else
      continue;
    s->used = false;
  }
}

void offer_tick(uint64_t now_ms) {
  for (size_t i = 0; i < OFFER_SLOTS; i++) {
    offer_slot *s = &offer_slots[i];
    if (!s->used || s->accepted || now_ms < s->expires_ms)
      continue;
    s->used = false;
    offer_cancel_to(s->to, s->from, s->offer_id, "offer expired");
    offer_cancel_to(s->from, s->to, s->offer_id, "offer expired");
  }
}
