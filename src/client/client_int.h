/* client_int.h: the client core's insides, shared by its .c files and the
 * unit tests. Faces use client.h only. */
#ifndef PARLEY_CLIENT_INT_H
#define PARLEY_CLIENT_INT_H

#include <sys/socket.h>

#include "client.h"
#include "framer.h"
#include "outq.h"
#include "stream.h"

#define CLIENT_MAX_ADDRS 8 /* resolved addresses tried in turn */

/* Connection phases. */
typedef enum conn_phase {
  CONN_CONNECTING = 0, /* TCP connect in progress */
  CONN_HELLO,          /* HELLO sent, waiting for WELCOME */
  CONN_LOGIN,          /* credentials sent, waiting for LOGIN_OK */
  CONN_READY,          /* logged in */
} conn_phase;

/* One connection attempt; freed in its stream's on_close. */
typedef struct client_conn {
  stream s;  /* the socket, through the stream layer */
  outq out;  /* frames for the server, not yet written */
  framer in; /* a frame from the server split across reads */
  client *c;
  conn_phase phase;
  bool closing;        /* every callback checks this first */
  bool tried_password; /* token refused once: fell back to LOGIN */
  bool bye;            /* BYE queued: shut down once it is written */
} client_conn;

typedef struct client_scan_state client_scan_state;

struct client {
  uv_loop_t *loop;
  client_opts opts; /* owned copy */
  client_event_cb cb;
  void *ud;
  client_frame_cb frame_cb;
  void *frame_ud;
  client_model m;
  client_fatal fatal;

  client_conn *conn;   /* the live connection, or NULL */
  struct tls_ctx *tls; /* TLS for the server connection; NULL: plain */
  uv_timer_t reconnect_timer;
  uv_timer_t ping_timer;
  uv_timer_t summary_timer; /* the next join/leave summary lines */
  uv_getaddrinfo_t gai;
  bool resolving;
  struct sockaddr_storage addrs[CLIENT_MAX_ADDRS];
  size_t naddrs, addr_next;
  unsigned attempt;  /* reconnect attempts since the last login */
  bool ever_ready;   /* logged in at least once */
  bool trust_asking; /* CLIENT_EV_TRUST is open (c->m.fingerprint) */
  bool kicked;       /* a KICKED/BANNED notice named us */
  bool stopping, stopped, quitting;
  unsigned live; /* handles and requests still to finish before STOPPED */

  uint8_t token[PROTO_TOKEN_LEN];
  bool have_token;
  char talking[CLIENT_ROOM_SZ]; /* peer of our last QUERY_OPEN (the server's
                                   "talking with" for us): sent again after a
                                   reconnect, "" after its QUERY_CLOSE */

  uint64_t ping_token, ping_sent;
  bool ping_outstanding;
  unsigned pings_missed;

  struct client_user_ix *user_ix; /* name -> index into m.users (uthash) */
  size_t users_cap;               /* allocated length of m.users */
  client_user *who; /* PRESENCE list being collected until WHO_END */
  size_t nwho, who_cap;
  bool who_requested;       /* /who typed: also show the list as info lines */
  unsigned width;           /* client_set_width(): columns for /who, 0 */
  client_room_entry *rooms; /* ROOM entries until ROOMS_END */
  size_t nrooms, rooms_cap;
  client_scan_state *scan; /* a /scan in flight */
  client_ban_entry *bans;  /* BAN_ENTRY list until BANS_END */
  size_t nbans, bans_cap;
  bool hide_talking; /* /set talking-visible off: sent at every login */

  uint8_t status;                       /* our status as last set (/away) */
  char status_text[CLIENT_STATUS_SZ];   /* its text: re-sent after login */
  unsigned login_tries;                 /* passwords refused in a row */
  bool auth_retryable;                  /* last refusal: a wrong password */
  struct client_held *held, *held_tail; /* lines typed while disconnected */
  unsigned nheld;
  bool state_saving, state_dirty, state_warned; /* client_state.c */
  client_dm_seen dms[CLIENT_STATE_MAX_DMS];     /* conversations seen */
  unsigned ndms;
  char (*names)[CLIENT_NAME_SZ]; /* MEMBER names until MEMBERS_END */
  size_t nnames, names_cap;
  struct cxf_state *xf;           /* file transfers (client_xfer.c), lazily */
  struct client_folder_state *fo; /* shared folder (client_folder.c) */
};

/* The shared folder (client_folder.c): frames, errors, and cleanup. */
void client_folder_on_frame(client *c, const proto_msg *m);
bool client_folder_on_error(client *c, const proto_error_msg *e);
void client_folder_free(client *c);

/* /files [PATTERN], /upload, /rename, /delete. Return 0 or a
 * client_send() error (upload: see client_xfer_upload). */
int client_folder_list(client *c, const char *pattern);
int client_folder_upload(client *c, const char *path, const char *name,
                         bool overwrite, char *err, size_t errlen);
int client_folder_rename(client *c, const char *from, const char *to,
                         bool overwrite);
int client_folder_delete(client *c, const char *name);

/* Operator and privacy extras (client_ops.c). */
void client_ops_ban_entry(client *c, const proto_ban_entry *b);
void client_ops_bans_end(client *c);
void client_ops_logged_in(client *c);
int client_ops_set(client *c, const char *key, size_t key_n, const char *value,
                   char *err, size_t errlen);

/* Model helpers (client_window.c). */
client_window *client_window_new(client_window_kind kind, const char *name,
                                 size_t cap);
void client_window_free(client_window *w);
/* Appends a line (dropping the oldest when full); NULL on out of memory. */
client_line *client_window_add(client_window *w, uint64_t id, uint64_t ts_ms,
                               const char *from, size_t from_n,
                               const char *text, size_t text_n, uint8_t flags);
/* Adds w to the model (NULL if the window limit is reached). */
client_window *client_window_attach(client *c, client_window *w);
/* Removes w from the model, fixing current; caller frees. */
void client_window_detach(client *c, client_window *w);
/* Detaches and frees w, firing WINDOW_CLOSED then WINDOW (current). */
void client_window_drop(client *c, client_window *w);
/* Finds or creates a window of kind for name; NULL at the window limit. */
client_window *client_window_get(client *c, client_window_kind kind,
                                 const char *name, size_t n);

/* Users (client_user.c). */
client_user *client_user_upsert(client *c, const client_user *u);
bool client_user_remove(client *c, const char *name, client_user *out);
void client_user_replace(client *c, client_user *list, size_t n);
void client_user_clear(client *c); /* forget everyone, free the index */
int client_user_cmp(const void *a, const void *b);

/* Join/leave summaries of large rooms (client_summary.c). note: a JOINED,
 * LEFT, QUIT, KICKED or BANNED notice about user in room window w (not
 * us), after the member count was updated; true when it was collected
 * and gets no line of its own. flush: every room's line now. show: /joins
 * in w, 0 or CLIENT_EUSAGE with err. */
bool client_summary_note(client *c, client_window *w, uint8_t kind,
                         const char *user);
void client_summary_flush(client *c);
int client_summary_show(client *c, client_window *w, char *err, size_t errlen);

/* Scans (client_scan.c): drops a /scan in flight without reporting. */
void client_scan_cancel(client *c);

/* Core internals (client.c). */
void client_emit(client *c, client_event *ev);
/* Records the connection state and fires STATE. */
void client_set_state(client *c, client_state st, const char *reason);
/* Fires STOPPED once client_stop() ran and nothing is left open. */
void client_maybe_stopped(client *c);
/* Adds a local info/error line to w and fires INFO. */
void client_info(client *c, client_window *w, uint8_t flags, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
/* Adds an error line to w (NULL: the current window) and fires ERROR with
 * code (a positive PERR_*, 0 for a local failure) and its symbolic name. */
void client_error(client *c, client_window *w, int code, const char *name,
                  const char *subject, const char *text);
/* client_error for a local failure found after a command was taken (a
 * file to send that cannot be read...): code 0, name "LOCAL", so that
 * batch mode reports it as an error event too. */
void client_fail(client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t client_now_ms(void);
/* Parses a decimal in [lo, hi] into *out (no sign, nothing after it);
 * returns 0 or -1 (client_opts.c). */
int client_parse_num(const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out);
/* Case-insensitive equality of a proto_str with a C string. */
bool client_str_eq(proto_str s, const char *c);

/* Connection (client_conn.c). */
int client_conn_resolve(client *c);                  /* 0 or a libuv error */
int client_conn_send(client *c, const proto_msg *m); /* see client_send() */
size_t client_conn_pending(const client *c);         /* bytes not yet written */
/* The TLS handshake of k finished: true when the server's key is trusted
 * (the session goes on), false after k was given up (client_trust.c). */
bool client_trust_check(client *c, client_conn *k);

/* Ends the session; reconnects with backoff unless fatal. */
void client_conn_lost(client *c, const char *reason, client_fatal fatal);
void client_conn_stop(client *c); /* cancels resolving, closes the link */
bool client_conn_bye(client *c, const char *reason); /* true: shutting down */

/* Text from the server (client_text.c): every text field is copied with
 * client_text_clean/copy (controls, bidi and invisible characters become
 * U+FFFD; dst needs 3 * n + 1 bytes to hold any n bytes, and 4 bytes per
 * wire character always suffice); client_text_check_frame() names the
 * first user, room or server name that breaks the wire rules, or NULL. */
size_t client_text_clean(char *dst, size_t cap, const char *p, size_t n);
size_t client_text_copy(char *dst, size_t cap, proto_str s);
const char *client_text_check_frame(const proto_msg *m);

/* Kept session (client_state.c): saves the token and rooms off the loop. */
void client_state_save(client *c);
/* Records that a direct message id from/to peer was seen (kept state). */
void client_state_dm_seen(client *c, const char *peer, uint64_t id);
/* The remembered conversation with peer, or NULL. */
client_dm_seen *client_state_dm(client *c, const char *peer);
/* At login: asks for the newest messages of every remembered
 * conversation, to count those that arrived while we were away. */
void client_state_dm_summary(client *c);

/* Incoming frames (client_handle.c): dispatches one decoded frame. */
void client_handle_frame(client *c, client_conn *k, const proto_msg *m);

/* Lag probes (client_ping.c). */
void client_ping_start(client *c);       /* a new session: start probing */
void client_ping_stop(client *c);        /* the session is gone */
void client_ping_on_activity(client *c); /* the user acted: maybe probe */

/* A line typed while disconnected, for the window named win. */
typedef struct client_held {
  struct client_held *next;
  client_window_kind kind;
  char win[CLIENT_ROOM_SZ];
  uint8_t flags; /* PROTO_MSGF_ACTION */
  char text[];
} client_held;

/* Commands (client_exec.c): see client_command(), client_command_errname().
 * client_exec_flush_held() sends the lines kept while disconnected (after
 * login); client_exec_free_held() drops them. */
void client_exec_flush_held(client *c);
void client_exec_free_held(client *c);
int client_exec_line(client *c, client_window *w, const char *line, char *err,
                     size_t errlen);
const char *client_exec_errname(int r);

#endif
