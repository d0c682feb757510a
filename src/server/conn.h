/* conn.h: one client connection: a stream (src/common/stream.h) whose
 * bytes go through the shared framer (a partial frame is held only while
 * it is incomplete), the decode loop, the output queue of shared frames
 * with its limits, and the close-later protocol. conn knows nothing of
 * sessions: decoded frames and the end of a connection go up through the
 * handlers registered with conn_set_handlers. An idle connection is one
 * small allocation: the peer address is kept in binary and formatted only
 * when a log line or the login log needs it. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fbuf.h"
#include "framer.h"
#include "outq.h"
#include "proto.h"
#include "stream.h"

struct user;

enum conn_state {
  CONN_HELLO,   /* waiting for HELLO */
  CONN_AUTH,    /* waiting for REGISTER / LOGIN / LOGIN_TOKEN */
  CONN_AUTHING, /* a login is being checked off the loop */
  CONN_READY,   /* logged in */
  CONN_RELAY,   /* a file data connection (FILE_CONNECT), see relay.h */
};

/* What the first byte said the connection speaks (with srv.tls set). */
enum conn_wire {
  CONN_WIRE_NEW,   /* nothing read yet */
  CONN_WIRE_TLS,   /* a TLS handshake record: the stream is TLS now */
  CONN_WIRE_PLAIN, /* frames: only FILE_CONNECT (a relay leg) may follow */
};

typedef struct conn {
  /* Hot: what a broadcast touches per recipient, kept together first. */
  outq out;                  /* frames waiting to be written */
  struct conn *dirty_next;   /* srv.dirty */
  uint32_t refs;             /* async jobs holding the conn, +1 while open */
  bool dirty;                /* on srv.dirty */
  bool closing;              /* no more input or output; closing soon */
  stream s;                  /* the socket; the conn is freed in its on_close */
  struct conn *next, *prev;  /* srv.conns */
  struct conn *closing_next; /* srv.closing */
  struct user *user;         /* set while logged in */
  framer in;                 /* partial frame; empty when none */
  /* Until closing: when the connection was accepted (handshake and login
   * timeouts). Once closing: when a graceful close gives up. */
  uint64_t when_ms;
  uint8_t state;    /* enum conn_state */
  bool close_flush; /* write what is queued before closing */
  bool on_close_list;
  bool teardown_pending; /* the close handler still to run (loop) */
  uint8_t close_why;     /* reason for a deferred teardown (conn.c table) */
  bool pending;          /* counted in srv.npending (not logged in yet) */
  bool ip_counted;       /* counted in its address's connection count */
  uint8_t family;        /* peer address: AF_INET, AF_INET6 or 0 unknown */
  uint16_t port;         /* peer port */
  uint16_t version;      /* protocol version from HELLO (0 before) */
  uint8_t wire;          /* enum conn_wire: how the first byte decided */
  uint8_t refuse;        /* CONN_REFUSE_*: refused at accept, said once the
                            wire is known (conn.c) */
  uint8_t addr[16];      /* peer address, binary (4 or 16 bytes used) */
} conn;

/* What conn calls upward: a decoded frame (strings point into the read
 * buffer), and the end of a connection (why is for the log). */
typedef void (*conn_frame_fn)(conn *c, const proto_msg *m);
typedef void (*conn_close_fn)(conn *c, const char *why);

/* Registers the handlers; call once before accepting. */
void conn_set_handlers(conn_frame_fn on_frame, conn_close_fn on_close);

/* The peer's address as text ("?" when unknown). The string lives in one
 * of a few static buffers, reused in turn: use it at once (a log line, a
 * store job), do not keep it. */
const char *conn_ip(const conn *c);

/* "ip:port" or "[ip6]:port" for logs, in a static buffer like conn_ip. */
const char *conn_peer(const conn *c);

/* The key the per-address limits group by, as text: the IPv4 address,
 * or the /64 prefix of an IPv6 one ("2001:db8:1:2::/64"; an IPv4-mapped
 * address counts as IPv4). Static rotating buffer like conn_ip. */
const char *conn_addr_key(const conn *c);

/* The login succeeded: the connection leaves the budget of connections
 * not logged in (srv.npending) and becomes CONN_READY. */
void conn_set_ready(conn *c);

/* Accepts a pending connection from the listener; returns 0 or a uv
 * error. */
int conn_accept(uv_stream_t *listener);

/* Queues a shared frame (takes its own reference). Drops it when the conn
 * is closing; flags a close when the hard limit is crossed. It never tears
 * a connection down itself (the caller may be iterating a room or the user
 * map): the loop does that (conn_teardown). */
void conn_send(conn *c, fbuf *b);

/* Encodes and queues one message. */
void conn_send_msg(conn *c, const proto_msg *m);

/* Queues ERROR code (positive) about ref_type and subject; text NULL means
 * the table's text; else printf-style. */
void conn_error(conn *c, int code, uint16_t ref_type, const char *subject,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Starts closing: stop reading, call the close handler (the layer above
 * ends its state now), then close from the loop after writing what is
 * queued (flush) or at once. why goes to the log. */
void conn_close(conn *c, bool flush, const char *why);

/* Runs a teardown deferred by conn_send (from the loop's flush pass). */
void conn_teardown(conn *c);

/* Writes queued output; called once per loop iteration. */
void conn_flush(conn *c);

/* Closes the handle of a conn flagged closing (from the loop). */
void conn_reap(conn *c);

/* 1 s housekeeping: handshake timeout, soft limit, stuck graceful close. */
void conn_tick(conn *c, uint64_t now_ms);

/* The close callback's work for a stream that another owner (the relay's
 * stream_pipe) took over: unlinks c and drops its open reference. */
void conn_stream_closed(conn *c);

/* Reference counting for async work that outlives a callback. */
conn *conn_ref(conn *c);
void conn_unref(conn *c);

#endif
