/* bus.c: the delivery bus, implemented by the local loops (see bus.h). */
#include "bus.h"

#include "conn.h"
#include "room.h"
#include "user.h"

/* Sends b to everyone in r but except. */
void bus_room(const room *r, fbuf *b, const user *except) {
  bus_room_version(r, b, except, 0, UINT16_MAX);
}

/* Sends b to the members of r but except whose session speaks version
 * lo..hi (the v3 coalesced frames, the per-change frames of older ones).
 * This is the fan-out hot path (a room of a thousand members): the dense
 * fan array (rather than the member list) keeps the loop to one pointer
 * load per recipient, and the connection a few entries ahead is
 * prefetched; the version is read from the connection conn_send touches
 * anyway. */
void bus_room_version(const room *r, fbuf *b, const user *except, uint16_t lo,
                      uint16_t hi) {
  const conn *skip = except != NULL ? except->conn : NULL;
  const room_fan *f = r->fan;
  uint32_t n = r->count;
  for (uint32_t i = 0; i < n; i++) {
    if (i + 4 < n)
      __builtin_prefetch(f[i + 4].conn);
    conn *c = f[i].conn;
    if (c != skip && c->version >= lo && c->version <= hi)
      conn_send(c, b);
  }
}

/* One user: today its one local connection. */
void bus_user(const user *u, fbuf *b) {
  conn_send(u->conn, b);
}

/* Walks the online-user map. Returns the number of users b was queued
 * to (for the console's "said to N users"). */
uint32_t bus_all(fbuf *b, const user *except) {
  uint32_t n = 0;
  for (user *x = user_first(); x != NULL; x = x->hh.next) {
    if (x == except)
      continue;
    conn_send(x->conn, b);
    n++;
  }
  return n;
}

/* bus_all for the users whose session speaks version lo..hi. */
uint32_t bus_all_version(fbuf *b, const user *except, uint16_t lo,
                         uint16_t hi) {
  uint32_t n = 0;
  for (user *x = user_first(); x != NULL; x = x->hh.next) {
    if (x == except || x->conn->version < lo || x->conn->version > hi)
      continue;
    conn_send(x->conn, b);
    n++;
  }
  return n;
}
