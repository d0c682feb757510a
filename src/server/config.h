/* config.h: parleyd settings from the command line and the INI file. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PORT 7667
#define CONFIG_DEFAULT_MOTD                                                    \
  "Welcome to parley. /help lists the commands; Alt-0..9 switch windows."

typedef struct config {
  char listen[128];       /* ADDR:PORT */
  char db[1024];          /* SQLite file */
  char files[1024];       /* shared folder, "" = none */
  char config[1024];      /* INI file, "" when none */
  char name[65];          /* server name */
  char log[1024];         /* log file, "" = stderr */
  int log_level;          /* LOGL_* */
  bool no_register;       /* self-registration off */
  uint32_t max_clients;   /* users logged in at once */
  uint32_t max_unauth;    /* connections not logged in, at once */
  uint32_t max_per_ip;    /* connections per address (IPv6 /64), 0 = off */
  uint32_t hello_timeout; /* seconds from accept to HELLO */
  uint32_t login_timeout; /* seconds from accept to LOGIN_OK */
  uint32_t max_msg_chars; /* message text limit */
  uint32_t max_rooms;     /* rooms per user */
  uint32_t history;       /* backlog per conversation */
  uint32_t flood_rate;    /* messages per second sustained */
  uint32_t flood_burst;   /* messages in a burst */
  uint64_t outbuf_hard;   /* bytes */
  uint64_t outbuf_soft;   /* bytes */
  uint32_t outbuf_soft_seconds;
  uint32_t idle_exit; /* seconds, 0 = off */
  uint32_t discovery_port;
  bool no_discovery;
  int pwhash;                 /* CONFIG_PWHASH_* */
  uint32_t token_days;        /* session token lifetime */
  uint32_t login_failures;    /* failed logins per IP per minute, 0 = off */
  char control[108];          /* operator socket, "" = the default path */
  bool no_control;            /* no operator socket */
  bool no_talking_with;       /* never publish "talking with" */
  char motd[1024];            /* message of the day, "" = none */
  uint32_t register_rate;     /* registrations per IP per hour, 0 = off */
  uint32_t auth_queue;        /* password checks waiting at once */
  uint32_t fanout_rate;       /* fan-out requests per user per second */
  uint32_t fanout_burst;      /* and in a burst */
  uint32_t limit_table;       /* address groups the auth limits remember */
  uint32_t coalesce_ms;       /* presence/room-event collection interval */
  uint64_t max_file_size;     /* bytes per offered file, 0 = no transfers */
  uint32_t max_transfers;     /* open offers and transfers per user */
  uint32_t offers_per_min;    /* FILE_OFFERs per user per minute */
  uint32_t offer_ttl;         /* seconds an offer waits for an answer */
  uint32_t max_relayed;       /* relayed transfers per user, 0 = no relay */
  uint32_t max_relayed_total; /* relayed transfers at once in all */
  uint64_t folder_quota;      /* bytes in the shared folder, 0 = no limit */
  uint64_t folder_user_quota; /* bytes per user there, 0 = no limit */
  uint32_t folder_max_files;  /* files in the shared folder */
  uint64_t relay_rate;        /* relayed bytes per second in all, 0 = any */
  char tls_cert[1024];        /* certificate (chain) PEM, "" = beside db */
  char tls_key[1024];         /* its private key PEM, "" = beside db */
  bool insecure_plaintext;    /* no TLS at all (--insecure-plaintext) */
  bool tls_openssl_records;   /* OpenSSL's records after handshakes too */
  /* subcommand */
  bool admin; /* user add --admin */
  int argc;   /* positional words left after options */
  char **argv;
} config;

enum { CONFIG_PWHASH_INTERACTIVE, CONFIG_PWHASH_MODERATE, CONFIG_PWHASH_MIN };

/* Fills c from defaults, the config file and argv (argv wins). Returns 0 to
 * go on, 1 when --help or --version was printed (exit 0), or -1 after
 * printing a usage error to stderr (exit 2). */
int config_load(config *c, int argc, char **argv);

/* Splits c->listen into host and port. Returns 0 or -1. */
int config_split_listen(const config *c, char *host, size_t hostcap, int *port);

/* The operator socket's path: --control, else $XDG_RUNTIME_DIR/parley/
 * control when the database is the default one, else the database's path
 * with ".control" appended. Returns 0, or -1 when it does not fit a UNIX
 * socket address. */
int config_control_path(const config *c, char *buf, size_t cap);

/* The TLS certificate and key files: --tls-cert/--tls-key, else the
 * database's path + ".crt" / ".key" (made on first start). Returns true
 * when they are the generated pair. */
bool config_tls_paths(const config *c, char *cert, size_t certcap, char *key,
                      size_t keycap);

/* argon2id cost for c->pwhash. */
void config_pwhash_limits(const config *c, unsigned long long *ops,
                          size_t *mem);

#endif
