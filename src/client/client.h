/* client.h: the parley client core, the one public header for its faces.
 *
 * The core owns the connection to parleyd (resolve, connect, handshake,
 * login, reconnect with backoff), the model the views read (windows with
 * bounded message rings, the user list, connection state, lag, server
 * limits) and the command executor shared by the TUI and `parley --batch`.
 * It knows nothing of ncurses or JSON: it changes the model, then calls the
 * one event callback so a view can mark itself dirty or batch can print.
 *
 * Views READ the model structs below directly (fields are public, read
 * only); every change goes through a client_* function. Pointers to windows
 * and users stay valid until the next return to the event loop, or until an
 * event says the object went away (CLIENT_EV_WINDOW_CLOSED, presence
 * offline): copy what you keep longer, or look it up again by name.
 */
#ifndef PARLEY_CLIENT_H
#define PARLEY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <uv.h>

#include "proto.h"
#include "xfer.h"

#define CLIENT_DEFAULT_PORT 7667
#define CLIENT_DEFAULT_SCROLLBACK 2000 /* lines kept per window */
#define CLIENT_MAX_SCROLLBACK 100000
#define CLIENT_MAX_WINDOWS                                                     \
  256 /* beyond this, new DMs land in the server window */
#define CLIENT_MAX_USERS 100000
#define CLIENT_MAX_LIST 10000 /* /rooms and /scan result entries kept */
#define CLIENT_PING_MS 30000  /* lag probe period while connected */
#define CLIENT_BACKOFF_BASE_MS 500
#define CLIENT_BACKOFF_CAP_MS 30000
#define CLIENT_SCAN_TIMEOUT_MS 1000
#define CLIENT_MAX_SCAN_TO 16      /* --scan-to / `/scan ADDR...` targets */
#define CLIENT_MAX_SCAN_IFS 32     /* interface broadcast addresses probed */
#define CLIENT_OUTQ_MAX (4u << 20) /* bytes queued to the server, hard cap */
#define CLIENT_MAX_HELD 50 /* lines typed while disconnected, kept to send */
#define CLIENT_MAX_NAMES 10000 /* /names entries kept per room */
#define CLIENT_LOGIN_TRIES 3   /* password prompts before giving up (TUI) */

/* Buffer sizes that hold any valid wire string plus a NUL (4 bytes per
 * code point at most). */
#define CLIENT_NAME_SZ (PROTO_MAX_NAME * 4 + 1)
#define CLIENT_ROOM_SZ (PROTO_MAX_ROOM * 4 + 1)
#define CLIENT_TOPIC_SZ (PROTO_MAX_TOPIC * 4 + 1)
#define CLIENT_STATUS_SZ (PROTO_MAX_STATUS * 4 + 1)
#define CLIENT_HOST_SZ 256
#define CLIENT_FP_SZ 64 /* "SHA256:" + 43 base64 characters, and room */
#define CLIENT_REASON_SZ 512

/* ---- options (shared by TUI, batch and scan) ---------------------------- */

typedef enum client_mode {
  CLIENT_MODE_TUI = 0,
  CLIENT_MODE_BATCH,
  CLIENT_MODE_SCAN,
  CLIENT_MODE_HELP,    /* --help: print client_opts_usage() and exit 0 */
  CLIENT_MODE_VERSION, /* --version */
} client_mode;

/* ---- client configuration file (parley.conf) ---------------------------- */

#define CLIENT_CONFIG_MAX_ROOMS 32 /* rooms = ... entries */
#define CLIENT_CONFIG_MAX_WORDS 16 /* highlight = ... words */
#define CLIENT_CONFIG_WORD_SZ 64
#define CLIENT_CONFIG_MAX_ALIASES 32 /* [aliases] entries */
#define CLIENT_CONFIG_PATH_SZ 1024
#define CLIENT_STATE_MAX_ROOMS 64 /* rooms remembered in the state file */
#define CLIENT_STATE_MAX_DMS 64   /* conversations remembered likewise */

/* The users pane choice a face remembers in the state file (/pane). */
typedef enum client_pane {
  CLIENT_PANE_UNSET, /* never chosen: the configuration's pane = decides */
  CLIENT_PANE_ALL,   /* everyone online */
  CLIENT_PANE_ROOM,  /* the current room's members */
} client_pane;

/* A direct conversation remembered between runs: the newest message id
 * seen in it, so the next login can count what arrived meanwhile. */
typedef struct client_dm_seen {
  char peer[CLIENT_NAME_SZ];
  uint64_t last_id;
  bool pending;    /* its HISTORY_REQ (login summary) is in flight */
  uint32_t unread; /* new messages from peer counted by that request */
} client_dm_seen;

/* One user-defined command alias: "/NAME args" runs "EXPANSION args". */
typedef struct client_alias {
  char name[24];       /* without the '/' */
  char expansion[128]; /* starts with '/' */
} client_alias;

/* $XDG_CONFIG_HOME/parley/parley.conf (or --config FILE), read once at
 * start by client_opts_parse(). The core uses rooms, rejoin, highlight,
 * aliases and keep_session; faces read the rest (pane, bell, timestamps). */
typedef struct client_config {
  char path[CLIENT_CONFIG_PATH_SZ]; /* the file read, "" when none */
  char rooms[CLIENT_CONFIG_MAX_ROOMS][CLIENT_ROOM_SZ]; /* joined at start */
  unsigned nrooms;
  bool rejoin; /* rooms = the ones we were in last time too (default yes) */
  char highlight[CLIENT_CONFIG_MAX_WORDS][CLIENT_CONFIG_WORD_SZ];
  unsigned nhighlight; /* words that highlight like our own name */
  unsigned pane_width; /* users pane columns; 0 = the UI's default */
  bool pane_room;      /* pane = room: the current room's members */
  bool bell;           /* bell on a DM or a mention elsewhere (default yes) */
  char timestamp[32];  /* strftime format of line times (default "%H:%M") */
  client_alias aliases[CLIENT_CONFIG_MAX_ALIASES];
  unsigned naliases;
  bool keep_session; /* keep the token and rooms in the state dir (TUI
                        default yes; --batch only with --keep-session) */
} client_config;

typedef struct client_opts {
  client_mode mode;
  client_config config;           /* the configuration file's settings */
  bool keep_session;              /* use/keep the state file (token, rooms) */
  uint8_t token[PROTO_TOKEN_LEN]; /* from the state file */
  bool have_token;
  char state_rooms[CLIENT_STATE_MAX_ROOMS][CLIENT_ROOM_SZ]; /* ditto */
  unsigned nstate_rooms;
  client_dm_seen state_dms[CLIENT_STATE_MAX_DMS]; /* ditto */
  unsigned nstate_dms;
  client_pane state_pane;    /* ditto: the last /pane, kept for the face */
  char user[CLIENT_NAME_SZ]; /* default $USER */
  char host[CLIENT_HOST_SZ]; /* without brackets for IPv6 */
  uint16_t port;             /* default CLIENT_DEFAULT_PORT */
  bool host_given;           /* a [USER@]HOST[:PORT] argument was present */
  bool do_register;          /* --register: create the account first */
  bool no_reconnect;         /* --no-reconnect */
  char *password_file;       /* --password-file FILE (owned) */
  char *password;            /* owned; set by client_opts_password() or
                                by the TUI's prompt (malloc'd) */
  uint16_t scan_port;        /* --scan-port / --discovery-port, default 7667 */
  struct sockaddr_in scan_to[CLIENT_MAX_SCAN_TO]; /* --scan-to, in order */
  unsigned n_scan_to;      /* 0: interface broadcasts + 127.0.0.1 */
  unsigned timeout_ms;     /* --timeout MS for --scan, default 1000 */
  unsigned scrollback;     /* --scrollback N lines per window */
  bool relay_only;         /* --relay-only: no direct file connections */
  uint64_t send_rate;      /* --send-rate: bytes/s per file sent, 0 = any */
  char *download_dir;      /* --download-dir DIR (owned), NULL: default */
  bool insecure_plaintext; /* --insecure-plaintext: no TLS */
  bool trust_new;          /* --trust-new: pin an unknown server's key */
  char fingerprint[CLIENT_FP_SZ]; /* --fingerprint: the key expected */
  char known_fp[CLIENT_FP_SZ];    /* known_servers' key for host:port */
  unsigned ping_ms;               /* lag probe period while connected (default
                                     CLIENT_PING_MS); 0 = no timer at all: lag is then
                                     probed only when the user sends something (at most
                                     once per CLIENT_PING_MS), so an idle client never
                                     wakes up */
  unsigned join_summary_above;    /* --join-summary-above: rooms with more
                                     members show joins and leaves as a
                                     periodic summary line (TUI only);
                                     0 = off */
  unsigned join_summary_every;    /* --join-summary-every: seconds between
                                     two summary lines, at most */
} client_opts;

/* Parses parley's command line (argv[0] skipped; --batch/--scan select the
 * mode). Returns 0, or -1 with a one-line reason in err (usage error, exit
 * status 2). Does not read the password; see client_opts_password(). */
int client_opts_parse(client_opts *o, int argc, char **argv, char *err,
                      size_t errlen);

/* Loads the kept session (client_state_load), then the password from
 * --password-file, else $PARLEY_PASSWORD (a trailing newline is dropped).
 * A password given this way wins over a kept token (which is then not
 * used for the first login). Returns 0 when o->password is set or a kept
 * token will log in instead (password NULL), 1 when no source exists (the
 * TUI then prompts),
 * -1 with err filled on failure. Runs before the loop starts, so a
 * blocking read is fine here. */
int client_opts_password(client_opts *o, char *err, size_t errlen);

/* Reads known_servers' key for o's server into o->known_fp (a missing
 * file is no key). Returns 0 or -1 with err. Blocking: before the loop;
 * client_opts_password calls it. */
int client_trust_load(client_opts *o, char *err, size_t errlen);

/* `parley --forget HOST[:PORT]`: drops the server's line from
 * known_servers and says so. Returns the exit status. Blocking. */
int client_trust_forget(const char *target);

/* Checks the password against the wire rule before anything is sent:
 * 8 to 256 characters when registering, at most 256 otherwise. Returns 0,
 * or -1 with a one-line reason in err. */
int client_opts_check_password(const client_opts *o, char *err, size_t errlen);

/* Reads the configuration file path (must_exist: a missing file is an
 * error; else a missing file leaves the defaults) into cfg, after setting
 * the defaults. user/host/port/scan targets named in the file go to o
 * (which the command line then overrides). Returns 0, or -1 with
 * "FILE:LINE: reason" in err. Blocking: call before the loop runs. */
int client_config_load(client_config *cfg, client_opts *o, const char *path,
                       bool must_exist, char *err, size_t errlen);

/* The default configuration file: $XDG_CONFIG_HOME/parley/parley.conf, or
 * ~/.config/parley/parley.conf. Returns buf, "" when neither is known. */
const char *client_config_default_path(char *buf, size_t n);

/* The state file of o's account on o's server:
 * $XDG_STATE_HOME/parley/USER@HOST_PORT (or ~/.local/state/parley/...).
 * Returns buf, "" when no state directory is known. */
const char *client_state_path(const client_opts *o, char *buf, size_t n);

/* Loads the session token and the remembered rooms of o's account from
 * its state file into o (nothing when o->keep_session is off or there is
 * no file). Blocking: call before the loop runs. Returns 0 or -1 with err
 * (a state file that is not ours: wrong mode or owner). */
int client_state_load(client_opts *o, char *err, size_t errlen);

/* Frees the owned strings (wiping the password). */
void client_opts_free(client_opts *o);

/* Splits "[USER@]HOST[:PORT]" (HOST may be "[v6addr]"). user is left
 * untouched when absent, port likewise. Returns 0 or -1 (bad syntax). */
int client_opts_target(const char *s, char *user, size_t usz, char *host,
                       size_t hsz, uint16_t *port);

/* The --help text. */
const char *client_opts_usage(void);

/* ---- model ------------------------------------------------------------- */

typedef enum client_state {
  CLIENT_DISCONNECTED = 0, /* not connected, not trying (see reason) */
  CLIENT_CONNECTING,       /* resolving, connecting, handshake or login */
  CLIENT_CONNECTED,        /* logged in */
  CLIENT_RECONNECTING,     /* waiting reconnect_in_ms before trying again */
} client_state;

/* Line flags. */
#define CLIENT_LINE_ACTION 0x01    /* /me */
#define CLIENT_LINE_BACKLOG 0x02   /* from history, not live */
#define CLIENT_LINE_NOTICE 0x04    /* join/part/quit/kick/topic/server text */
#define CLIENT_LINE_HIGHLIGHT 0x08 /* mentions our own nick */
#define CLIENT_LINE_SELF 0x10      /* we sent it */
#define CLIENT_LINE_ERROR 0x20     /* an error shown in the window */
#define CLIENT_LINE_INFO 0x40      /* local output: /help, /who, /rooms */

/* One line in a window; one allocation holding the strings too. */
typedef struct client_line {
  uint64_t id;      /* server message id, 0 for notices and local lines */
  uint64_t ts_ms;   /* unix milliseconds (server clock for messages) */
  const char *from; /* sender; for notices the user it is about; "" */
  const char *text; /* message text; for notices the formatted sentence */
  uint8_t flags;    /* CLIENT_LINE_* */
} client_line;

typedef enum client_window_kind {
  CLIENT_WIN_SERVER = 0, /* always window 0: errors, server notices */
  CLIENT_WIN_ROOM,
  CLIENT_WIN_QUERY, /* direct conversation with name */
} client_window_kind;

typedef struct client_window {
  client_window_kind kind;
  char name[CLIENT_ROOM_SZ];   /* "#room", peer user name, or server name */
  char topic[CLIENT_TOPIC_SZ]; /* rooms */
  uint32_t members;            /* rooms, as the server last said */
  bool joined;                 /* room: JOINED seen and not parted */
  bool parting;                /* room: PART sent, PARTED not seen yet */
  bool rejoin;                 /* room: JOIN sent after that PART: the
                                  window stays when PARTED arrives */
  bool opened;                 /* query: QUERY_OPEN sent this session, so
                                  the server shows us talking with name */
  /* Ring of lines: use client_window_line(); 0 = oldest kept. */
  client_line **ring;
  size_t cap, head, count;
  uint64_t total;     /* lines ever added: a view compares to detect new ones */
  uint64_t last_id;   /* highest message id shown (backlog dedupe) */
  unsigned unread;    /* live messages since last viewed (not own, not
                         notices) */
  bool highlight;     /* an unread line mentions us */
  uint64_t rewritten; /* bumped when a line was inserted before the newest
                         (backlog older than live lines, e.g. a reopened
                         conversation): re-layout the whole window */
  char (*names)[CLIENT_NAME_SZ]; /* room: members from the last /names
                                    (MEMBERS_END), kept current by
                                    join/part/quit notices */
  size_t nnames;
  bool names_known; /* names holds a complete list */
  bool names_quiet; /* a client_names(show = false) answer is due */
  struct client_summary *summary; /* room: joins and leaves waiting for
                                     the next summary line (large rooms,
                                     TUI; see client_summary.h), or NULL */
  uint64_t activity; /* model sequence of the last unread line; sort
                        windows with activity by this, newest first */
} client_window;

/* One online user. */
typedef struct client_user {
  char name[CLIENT_NAME_SZ];
  uint8_t status;                    /* enum proto_status */
  char text[CLIENT_STATUS_SZ];       /* away message */
  char talking_with[CLIENT_NAME_SZ]; /* "" when none */
  uint32_t idle_s;                   /* as reported ... */
  uint64_t idle_at;                  /* ... at this uv_now() */
  bool admin;
  bool self;
} client_user;

/* Limits the server announced in WELCOME. */
typedef struct client_limits {
  uint16_t version;
  uint16_t max_msg_chars;
  uint32_t max_frame;
  uint64_t max_file_size;
  uint16_t max_rooms;
  uint16_t history_len;
  uint8_t flags; /* PROTO_WELCOMEF_* */
  /* FILE_LIMITS (after login; 0 until it came) */
  uint16_t max_transfers;  /* open offers and transfers per user */
  uint16_t offers_per_min; /* FILE_OFFERs per user per minute */
  uint32_t offer_ttl_s;    /* an offer not accepted within this expires */
  uint16_t max_relayed;    /* relayed transfers per user at once */
} client_limits;

/* What a view reads. Arrays are owned by the core. */
typedef struct client_model {
  client_state state;
  char reason[CLIENT_REASON_SZ]; /* why we are (re)connecting/disconnected */
  uint64_t reconnect_at;         /* uv_now() of the next attempt */
  char host[CLIENT_HOST_SZ];
  uint16_t port;
  char server_name[CLIENT_NAME_SZ * 2]; /* from WELCOME */
  char server_agent[PROTO_MAX_AGENT * 4 + 1];
  char fingerprint[CLIENT_FP_SZ]; /* the server key's, "" in plain text */
  char self[CLIENT_NAME_SZ];      /* our name (canonical after login) */
  bool admin;                     /* our role */
  client_limits limits;           /* valid once WELCOME arrived */
  int64_t lag_ms;                 /* last PING round trip, -1 unknown */
  client_window **windows;        /* [0] is the server window; creation order */
  size_t nwindows;
  client_window *current;
  client_user *users; /* in no particular order: views sort */
  size_t nusers;
  struct client_transfer **xfers; /* this session's transfers, oldest first */
  size_t nxfers;
  uint64_t seq; /* bumped on every model change */
} client_model;

/* One file transfer as the faces see it (client_xfer.c drives it). */
typedef struct client_transfer {
  unsigned id;         /* local number for /accept, /reject, /cancel */
  uint64_t offer_id;   /* the offer's identity on the wire */
  xfer m;              /* state machine: name, peer, dir, status, bytes, rate */
  bool accepted;       /* receiver: /accept ran; sender: the peer accepted */
  bool verifying;      /* all bytes in, checksum being compared */
  bool rejected;       /* the recipient said no */
  bool relay;          /* the data path is parleyd's relay (else direct) */
  bool path_known;     /* a data connection won */
  bool asking;         /* upload: the overwrite question is open */
  char file[1024];     /* local path: the source, or where it is stored */
  char reason[200];    /* why it failed or was cancelled */
  uint64_t expires_ms; /* receiver: when the offer lapses (uv_now) */
} client_transfer;

/* "offered", "waiting", "awaiting answer" (an upload whose overwrite
 * question is open), "connecting", "active", "verifying", "done",
 * "failed", "cancelled" or "rejected". */
const char *client_transfer_state(const client_transfer *t);

/* ---- events ------------------------------------------------------------ */

typedef enum client_event_type {
  CLIENT_EV_STATE = 0,     /* state/reason changed (any transition) */
  CLIENT_EV_CONNECTED,     /* logged in (batch "connected") */
  CLIENT_EV_JOINED,        /* win joined */
  CLIENT_EV_PARTED,        /* name left; its window is already gone */
  CLIENT_EV_MESSAGE,       /* line added to win (a chat message) */
  CLIENT_EV_HISTORY_END,   /* win backlog complete, count */
  CLIENT_EV_PRESENCE,      /* user changed (offline: already removed) */
  CLIENT_EV_USERS,         /* whole user list replaced (WHO answer) */
  CLIENT_EV_NOTICE,        /* notice; line added to win */
  CLIENT_EV_ERROR,         /* server ERROR (or local failure) */
  CLIENT_EV_ROOMS,         /* /rooms answer in rooms[] */
  CLIENT_EV_SERVERS,       /* /scan answer in servers[] */
  CLIENT_EV_RECONNECTING,  /* in_ms until the next attempt */
  CLIENT_EV_DISCONNECTED,  /* reason; fatal: no further attempts */
  CLIENT_EV_HELP,          /* /help: see client_cmd_help() */
  CLIENT_EV_WINDOW,        /* window list or current window changed */
  CLIENT_EV_WINDOW_CLOSED, /* name's window removed (before free) */
  CLIENT_EV_LAG,           /* model lag_ms updated */
  CLIENT_EV_INFO,          /* local info line added to win (text) */
  CLIENT_EV_QUIT,          /* /quit: connection closing, the face exits */
  CLIENT_EV_NAMES,         /* /names answer: win's names (room), n */
  CLIENT_EV_UNREAD,        /* at login: count direct messages from peer
                              arrived while we were away; win is the
                              conversation (in the window list) */
  CLIENT_EV_HELD,          /* a line typed while disconnected was kept
                              (count in count); sent after the next login */
  CLIENT_EV_STOPPED,       /* client_stop() finished closing handles */
  CLIENT_EV_BANS,          /* /bans answer in bans[] */
  CLIENT_EV_OFFER,         /* a file was offered to us (xfer) */
  CLIENT_EV_TRANSFER,      /* a transfer changed state or progressed */
  CLIENT_EV_FILES,         /* /files answer in files[], n */
  CLIENT_EV_FOLDER_OK,     /* a folder change succeeded: text = "upload",
                              "rename" or "delete", name = the file */
  CLIENT_EV_ASK,           /* a yes/no question (text) for the input
                              line; answer with client_folder_answer() */
  CLIENT_EV_TRUST,         /* TUI: unknown server key (text): ask the user,
                              then client_trust_answer() */
} client_event_type;

/* Why a session ended for good (sets the batch exit status). */
typedef enum client_fatal {
  CLIENT_FATAL_NONE = 0,
  CLIENT_FATAL_CONNECT, /* could not connect / handshake failed: exit 1 */
  CLIENT_FATAL_AUTH,    /* login or registration refused: exit 3 */
  CLIENT_FATAL_KICKED,  /* kicked or banned: exit 4 */
  CLIENT_FATAL_OTHER,   /* e.g. session replaced: exit 1 */
  CLIENT_FATAL_HOSTKEY, /* server key unknown or changed: exit 5 */
} client_fatal;

typedef struct client_room_entry {
  char room[CLIENT_ROOM_SZ];
  uint32_t members;
  char topic[CLIENT_TOPIC_SZ];
} client_room_entry;

typedef struct client_ban_entry { /* one line of a /bans answer */
  char user[CLIENT_NAME_SZ];
  uint64_t until_ms; /* 0: permanent */
  uint64_t since_ms;
  char actor[CLIENT_NAME_SZ]; /* "" for the operator console */
  char reason[PROTO_MAX_REASON * 4 + 1];
} client_ban_entry;

typedef struct client_folder_entry { /* one file of a /files answer */
  char name[PROTO_MAX_FILENAME + 1];
  uint64_t size;
  uint64_t mtime; /* unix seconds */
  char owner[CLIENT_NAME_SZ];
  char sha256[PROTO_HASH_LEN * 2 + 1]; /* hex */
} client_folder_entry;

typedef struct client_server_entry {
  char name[CLIENT_NAME_SZ * 2];
  char host[PROTO_MAX_ADDR + 1];
  uint16_t port;
  uint32_t users;
} client_server_entry;

/* Fired after the model changed. Every pointer is valid only during the
 * callback. Fields not meaningful for a type are zero/NULL. */
typedef struct client_event {
  client_event_type type;
  client_window *win;      /* window concerned, or NULL */
  const client_line *line; /* MESSAGE, NOTICE, INFO, ERROR: the new line;
                              NULL for a NOTICE kept for the room's
                              summary line (join_summary_above) */
  const client_user *user; /* PRESENCE (a copy for offline users) */
  const char *name;        /* PARTED/WINDOW_CLOSED: room or peer name;
                              ERROR: symbolic name ("MSG_TOO_LONG") */
  int code;                /* ERROR: positive PERR_* (0 = local usage) */
  const char *subject;     /* ERROR: subject from the server, or "" */
  const char *text;        /* ERROR/INFO/NOTICE text; DISCONNECTED reason */
  uint8_t notice_kind;     /* NOTICE: enum proto_notice_kind */
  const char *room;        /* NOTICE: room or ""; MESSAGE/HISTORY_END:
                              the room, NULL for a direct conversation */
  const char *peer;        /* MESSAGE/HISTORY_END of a direct
                              conversation: the other party, else NULL */
  const char *actor;       /* NOTICE: actor or "" */
  const char *about;       /* NOTICE: user it is about, or "" */
  uint32_t count;          /* HISTORY_END */
  uint64_t in_ms;          /* RECONNECTING */
  client_fatal fatal;      /* DISCONNECTED: != NONE when it is final */
  unsigned login_tries;    /* DISCONNECTED with fatal AUTH: passwords
                              refused in a row so far */
  bool can_retry;          /* DISCONNECTED: a wrong password (or a kept
                              token refused with no password at hand) and
                              login_tries < CLIENT_LOGIN_TRIES: a face may
                              ask for the password, client_login_retry() */
  const client_room_entry *rooms;      /* ROOMS */
  const client_server_entry *servers;  /* SERVERS */
  const client_ban_entry *bans;        /* BANS */
  const client_folder_entry *files;    /* FILES */
  const char (*names)[CLIENT_NAME_SZ]; /* NAMES: sorted member names */
  size_t n;                            /* entries in rooms/servers/bans/names */
  const client_transfer *xfer;         /* OFFER, TRANSFER */
} client_event;

typedef struct client client;

typedef void (*client_event_cb)(client *c, const client_event *ev, void *ud);

/* Frames the core does not handle itself (files, folder) go here; return
 * value ignored. Strings in *m point into the read buffer: copy them. */
typedef void (*client_frame_cb)(client *c, const proto_msg *m, void *ud);

/* ---- lifecycle ----------------------------------------------------------- */

/* Creates a client on loop with options o (copied; the password too).
 * Nothing happens until client_start(). Returns NULL on out of memory. */
client *client_new(uv_loop_t *loop, const client_opts *o, client_event_cb cb,
                   void *ud);

/* Begins resolving and connecting. Returns 0 or a negative uv error. */
int client_start(client *c);

/* Closes everything (connection, timers, scans); CLIENT_EV_STOPPED fires
 * once all handles are closed. Safe to call twice. */
void client_stop(client *c);

/* Sends BYE (reason may be NULL), flushes what is queued, then closes the
 * connection and stops: for /quit and batch EOF. CLIENT_EV_QUIT fires. */
void client_quit(client *c, const char *reason);

/* /reconnect: drops the connection (if any) and connects again at once,
 * forgetting the backoff and a final failure. Returns 0, UV_EALREADY while
 * a connection attempt is already resolving, or another negative uv
 * error. */
int client_reconnect(client *c);

/* After a login refused for a wrong password (CLIENT_EV_DISCONNECTED,
 * fatal AUTH, login_tries < CLIENT_LOGIN_TRIES): tries again with password
 * (copied). Returns 0, UV_EINVAL when there is nothing to retry or the
 * tries are used up, or a negative uv error. */
int client_login_retry(client *c, const char *password);

/* Asks the server for room's members (what /names does): the answer fills
 * the room window's names (and fires CLIENT_EV_NAMES); with show false no
 * info lines are added (a users pane in "room" mode refreshing itself).
 * Returns 0, CLIENT_EUSAGE for a bad room name, or a client_send() error. */
int client_names(client *c, const char *room, bool show);

/* The face's users pane choice (/pane room|all): kept in the state file
 * with the session (when it is kept), so the next start shows the same. */
void client_state_pane(client *c, client_pane pane);

/* The columns a local listing may fill (the TUI: its chat pane less the
 * line prefix). /who of more users than join_summary_above is then laid
 * out in columns, as irssi's /names; 0 (the default; --batch): one user
 * per line. */
void client_set_width(client *c, unsigned cols);

/* Frees a stopped client (after CLIENT_EV_STOPPED or once uv_run returned). */
void client_free(client *c);

/* The model; never NULL. */
const client_model *client_model_get(const client *c);

/* The answer to CLIENT_EV_TRUST: "yes" (or "y"), or the fingerprint
 * itself, pins the key and connects again (returns 0, or a uv error from
 * reconnecting); anything else returns 1 and the client stays
 * disconnected. UV_EINVAL when no question is open. */
int client_trust_answer(client *c, const char *answer);

/* Why the session ended for good, or CLIENT_FATAL_NONE. */
client_fatal client_fatal_get(const client *c);

/* True when logged in (commands that talk to the server will work). */
bool client_ready(const client *c);

/* Bytes waiting to be written to the server. */
size_t client_pending(const client *c);

/* Sets the hook for frames the core ignores (used by xfer.c). */
void client_set_frame_cb(client *c, client_frame_cb cb, void *ud);

/* Encodes and queues any frame. Returns 0, -PERR_* from the encoder,
 * UV_ENOTCONN when not connected (or the socket broke), UV_ENOBUFS over
 * CLIENT_OUTQ_MAX, UV_ENOMEM. */
int client_send(client *c, const proto_msg *m);

/* ---- commands ------------------------------------------------------------ */

/* Executes one input line typed in window w (NULL = current): a /command
 * or text for w. Returns 0, or a negative code with a one-line message in
 * err: -PERR_* for rule violations known locally (bad room or user name,
 * text over the protocol's hard cap, bad UTF-8), or one of the CLIENT_E*
 * below. Text is sent as is, even when longer than the server's limit (the
 * server refuses it). Empty lines are ignored (0). */
int client_command(client *c, client_window *w, const char *line, char *err,
                   size_t errlen);
#define CLIENT_EUSAGE (-1000)    /* bad usage: "usage: /join #room" */
#define CLIENT_ENOTARGET (-1001) /* text typed in the server window */
#define CLIENT_ENOTCONN (-1002)  /* needs the server, which is unreachable */
#define CLIENT_EQUEUE                                                          \
  (-1003) /* output to the server backed up, or                                \
             another local failure (see err) */
/* Answers the question of the last CLIENT_EV_ASK (a file that exists on
 * the server): yes sends the upload or rename again with overwrite, no
 * drops it. Returns 0, or CLIENT_EUSAGE when nothing is asked. */
int client_folder_answer(client *c, bool yes);

/* Symbolic name of a client_command() result for scripts ("USAGE",
 * "NO_TARGET", "NOT_CONNECTED", "QUEUE_FULL" or the PERR name). */
const char *client_command_errname(int r);

/* One row of the help table. */
typedef struct client_help_entry {
  const char *command; /* "/join #room" */
  const char *help;    /* "join or create a room" */
} client_help_entry;

/* The help table, *n entries. Static. */
const client_help_entry *client_cmd_help(size_t *n);

/* Starts a LAN scan (also what /scan does); results come as
 * CLIENT_EV_SERVERS after o->timeout_ms. targets: "ADDR[:PORT] ..." from
 * `/scan ADDR...`, or NULL/"" for the options' targets. Returns 0 or a
 * negative uv error (UV_EINVAL: a bad target). */
int client_scan(client *c, const char *targets);

/* Standalone scan for `parley --scan`: sends DISCOVER to o's targets, calls
 * cb once after o->timeout_ms with what answered. Returns 0 or a uv
 * error. */
typedef void (*client_scan_cb)(const client_server_entry *s, size_t n,
                               void *ud);
int client_scan_run(uv_loop_t *loop, const client_opts *o, client_scan_cb cb,
                    void *ud);

/* Parses one scan target "ADDR" or "ADDR:PORT" (IPv4 dotted quad; n bytes
 * of s) into *out, the port defaulting to port. Returns 0 or UV_EINVAL. */
int client_scan_parse_to(const char *s, size_t n, uint16_t port,
                         struct sockaddr_in *out);

/* Where a scan sends DISCOVER, written to out (at most cap), deduplicated:
 * the nto explicit targets when nto > 0; else, on port, the broadcast
 * address of each IPv4 interface that has one (not internal, netmask
 * shorter than /31; broadcast = address | ~netmask), then 127.0.0.1.
 * Pure: the interfaces come from the caller (uv_interface_addresses).
 * Returns the number written. */
size_t client_scan_targets(const uv_interface_address_t *ifs, int nifs,
                           const struct sockaddr_in *to, size_t nto,
                           uint16_t port, struct sockaddr_in *out, size_t cap);

/* ---- windows and users --------------------------------------------------- */

/* Line i of w, 0 = oldest kept, count-1 = newest; NULL when out of range. */
const client_line *client_window_line(const client_window *w, size_t i);

/* The current window (never NULL once created). */
client_window *client_window_current(const client *c);

/* Makes w current and clears its unread/highlight. Fires CLIENT_EV_WINDOW. */
void client_window_switch(client *c, client_window *w);

/* Switches to window index i (0-based, as in model->windows); ignored when
 * out of range. For Alt-1..9 and Ctrl-N/P (i may wrap: use modulo). */
void client_window_switch_index(client *c, size_t i);

/* Closes w: parts a room, closes a query (QUERY_CLOSE); the server window
 * cannot be closed (returns CLIENT_EUSAGE). */
int client_window_close(client *c, client_window *w);

/* Finds a window by name (case-insensitive), NULL if none. */
client_window *client_window_find(const client *c, const char *name);

/* Opens (or finds) the query window for user; focus only when focus. */
client_window *client_window_query(client *c, const char *user, bool focus);

/* Finds an online user (case-insensitive), NULL if none. */
const client_user *client_user_find(const client *c, const char *name);

/* Current idle seconds of u (reported value plus time since). */
uint32_t client_user_idle(const client *c, const client_user *u);

/* True when text mentions nick as a whole word, case-insensitively. */
bool client_window_mentions(const char *text, const char *nick);

/* Adds a local line (flags: CLIENT_LINE_INFO, _NOTICE or _ERROR) with text
 * to w (NULL: the current window) and fires CLIENT_EV_INFO: the faces' own
 * output (the TUI's /keys and /help entries, outage lines). */
void client_note(client *c, client_window *w, uint8_t flags, const char *text);

/* Human-readable connection state ("connected", "reconnecting in 3s"...)
 * into buf; returns buf. */
const char *client_state_text(const client *c, char *buf, size_t n);

#endif
