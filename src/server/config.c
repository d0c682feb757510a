/* config.c: command line (getopt_long) and INI file (inih) settings. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"

enum {
  OPT_LISTEN = 256,
  OPT_DB,
  OPT_FILES,
  OPT_CONFIG,
  OPT_NAME,
  OPT_LOG,
  OPT_LOG_LEVEL,
  OPT_NO_REGISTER,
  OPT_MAX_CLIENTS,
  OPT_MAX_MSG_CHARS,
  OPT_MAX_ROOMS,
  OPT_HISTORY,
  OPT_FLOOD_RATE,
  OPT_FLOOD_BURST,
  OPT_OUTBUF_HARD,
  OPT_OUTBUF_SOFT,
  OPT_OUTBUF_SOFT_SECONDS,
  OPT_IDLE_EXIT,
  OPT_DISCOVERY_PORT,
  OPT_NO_DISCOVERY,
  OPT_PWHASH,
  OPT_TOKEN_DAYS,
  OPT_LOGIN_FAILURES,
  OPT_CONTROL,
  OPT_NO_CONTROL,
  OPT_NO_TALKING_WITH,
  OPT_MOTD,
  OPT_MAX_PER_IP,
  OPT_MAX_UNAUTHENTICATED,
  OPT_HELLO_TIMEOUT,
  OPT_LOGIN_TIMEOUT,
  OPT_REGISTER_RATE,
  OPT_AUTH_QUEUE,
  OPT_FANOUT_RATE,
  OPT_FANOUT_BURST,
  OPT_LIMIT_TABLE,
  OPT_COALESCE_MS,
  OPT_MAX_FILE_SIZE,
  OPT_MAX_TRANSFERS,
  OPT_OFFERS_PER_MINUTE,
  OPT_OFFER_TTL,
  OPT_MAX_RELAYED,
  OPT_MAX_RELAYED_TOTAL,
  OPT_FOLDER_QUOTA,
  OPT_FOLDER_USER_QUOTA,
  OPT_FOLDER_MAX_FILES,
  OPT_RELAY_RATE,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_INSECURE_PLAINTEXT,
  OPT_TLS_OPENSSL_RECORDS,
  OPT_ADMIN,
  OPT_HELP,
  OPT_VERSION,
};

static const struct option config_opts[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"db", required_argument, NULL, OPT_DB},
    {"files", required_argument, NULL, OPT_FILES},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"name", required_argument, NULL, OPT_NAME},
    {"log", required_argument, NULL, OPT_LOG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"no-register", no_argument, NULL, OPT_NO_REGISTER},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"max-msg-chars", required_argument, NULL, OPT_MAX_MSG_CHARS},
    {"max-rooms", required_argument, NULL, OPT_MAX_ROOMS},
    {"history", required_argument, NULL, OPT_HISTORY},
    {"flood-rate", required_argument, NULL, OPT_FLOOD_RATE},
    {"flood-burst", required_argument, NULL, OPT_FLOOD_BURST},
    {"outbuf-hard", required_argument, NULL, OPT_OUTBUF_HARD},
    {"outbuf-soft", required_argument, NULL, OPT_OUTBUF_SOFT},
    {"outbuf-soft-seconds", required_argument, NULL, OPT_OUTBUF_SOFT_SECONDS},
    {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
    {"discovery-port", required_argument, NULL, OPT_DISCOVERY_PORT},
    {"no-discovery", no_argument, NULL, OPT_NO_DISCOVERY},
    {"pwhash", required_argument, NULL, OPT_PWHASH},
    {"token-days", required_argument, NULL, OPT_TOKEN_DAYS},
    {"login-failures", required_argument, NULL, OPT_LOGIN_FAILURES},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"no-control", no_argument, NULL, OPT_NO_CONTROL},
    {"no-talking-with", no_argument, NULL, OPT_NO_TALKING_WITH},
    {"motd", required_argument, NULL, OPT_MOTD},
    {"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
    {"max-unauthenticated", required_argument, NULL, OPT_MAX_UNAUTHENTICATED},
    {"hello-timeout", required_argument, NULL, OPT_HELLO_TIMEOUT},
    {"login-timeout", required_argument, NULL, OPT_LOGIN_TIMEOUT},
    {"register-rate", required_argument, NULL, OPT_REGISTER_RATE},
    {"auth-queue", required_argument, NULL, OPT_AUTH_QUEUE},
    {"fanout-rate", required_argument, NULL, OPT_FANOUT_RATE},
    {"fanout-burst", required_argument, NULL, OPT_FANOUT_BURST},
    {"limit-table", required_argument, NULL, OPT_LIMIT_TABLE},
    {"coalesce-ms", required_argument, NULL, OPT_COALESCE_MS},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    {"max-transfers", required_argument, NULL, OPT_MAX_TRANSFERS},
    {"offers-per-minute", required_argument, NULL, OPT_OFFERS_PER_MINUTE},
    {"offer-ttl", required_argument, NULL, OPT_OFFER_TTL},
    {"max-relayed", required_argument, NULL, OPT_MAX_RELAYED},
    {"max-relayed-total", required_argument, NULL, OPT_MAX_RELAYED_TOTAL},
    {"folder-quota", required_argument, NULL, OPT_FOLDER_QUOTA},
    {"folder-user-quota", required_argument, NULL, OPT_FOLDER_USER_QUOTA},
    {"folder-max-files", required_argument, NULL, OPT_FOLDER_MAX_FILES},
    {"relay-rate", required_argument, NULL, OPT_RELAY_RATE},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"insecure-plaintext", no_argument, NULL, OPT_INSECURE_PLAINTEXT},
    {"tls-openssl-records", no_argument, NULL, OPT_TLS_OPENSSL_RECORDS},
    {"admin", no_argument, NULL, OPT_ADMIN},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Prints the usage text with every option and its default. */
static void config_usage(FILE *f) {
  fprintf(f,
          "usage: parleyd [options]                run the chat server\n"
          "       parleyd user add NAME [--admin]  create an account (password "
          "on stdin)\n"
          "       parleyd user del NAME | user list | user passwd NAME\n"
          "       parleyd logins [N]               the last N login attempts "
          "(default 20)\n"
          "       parleyd files list | files rm NAME  the shared folder's "
          "files\n"
          "       parleyd ctl COMMAND...           run one operator command "
          "on the running server\n"
          "       parleyd fingerprint              the TLS key's fingerprint "
          "(clients check it)\n"
          "\n"
          "options (each also a key in the [server] section of the config "
          "file):\n"
          "  --listen ADDR:PORT       address to listen on (default "
          "0.0.0.0:7667; port 0 picks a free port)\n"
          "  --db FILE                SQLite database (default "
          "$XDG_DATA_HOME/parley/parley.db)\n"
          "  --files DIR              shared folder (default "
          "$XDG_DATA_HOME/parley/files; \"\" = none)\n"
          "  --config FILE            config file (default "
          "$XDG_CONFIG_HOME/parley/parleyd.conf if it exists)\n"
          "  --name NAME              server name shown to clients (default: "
          "host name)\n"
          "  --log FILE               log file (default: stderr)\n"
          "  --log-level LEVEL        error|warn|info|debug (default info)\n"
          "  --no-register            disable self-registration (default: "
          "open)\n"
          "  --max-clients N          users logged in at once (default 50)\n"
          "  --max-unauthenticated N  connections not logged in yet, at once "
          "(default 20)\n"
          "  --max-per-ip N           connections per IP address (IPv6: per "
          "/64) (default 10; 0 = no limit)\n"
          "  --hello-timeout S        seconds to send HELLO after connecting "
          "(default 5)\n"
          "  --login-timeout S        seconds to log in after connecting "
          "(default 15)\n"
          "  --max-msg-chars N        message length limit in characters "
          "(default 280, at most 4000)\n"
          "  --max-rooms N            rooms one user may be in (default 20)\n"
          "  --history N              backlog per room and per conversation "
          "(default 100)\n"
          "  --flood-rate N           messages per second sustained (default "
          "5)\n"
          "  --flood-burst N          messages in a burst (default 10)\n"
          "  --outbuf-hard BYTES      output queue hard limit (default 4194304 "
          "= 4 MiB)\n"
          "  --outbuf-soft BYTES      output queue soft limit (default 1048576 "
          "= 1 MiB)\n"
          "  --outbuf-soft-seconds N  how long the soft limit may be exceeded "
          "(default 10)\n"
          "  --idle-exit SECONDS      exit after that long with no client "
          "(default 0 = off)\n"
          "  --discovery-port PORT    UDP LAN discovery port (default 7667; 0 "
          "picks a free port)\n"
          "  --no-discovery           do not answer LAN discovery probes\n"
          "  --pwhash COST            argon2id cost: interactive|moderate|min "
          "(default interactive)\n"
          "  --token-days N           session token lifetime in days (default "
          "30)\n"
          "  --login-failures N       failed logins allowed per IP address per "
          "minute (default 5; 0 = no limit)\n"
          "  --control PATH           operator socket (default "
          "$XDG_RUNTIME_DIR/parley/control,\n"
          "                           or the database's path + .control)\n"
          "  --no-control             no operator socket\n"
          "  --no-talking-with        never publish whom users are talking "
          "with\n"
          "  --motd TEXT              message of the day after login (\"\" = "
          "none)\n"
          "  --register-rate N        registrations allowed per IP address per "
          "hour (default 5; 0 = no limit)\n"
          "  --auth-queue N           password checks waiting at once (default "
          "32; registrations get a quarter)\n"
          "  --fanout-rate N          status/topic/join/part/query/kick/ban "
          "requests per user per second (default 2)\n"
          "  --fanout-burst N         such requests in a burst (default 30; at "
          "least max-rooms + 10)\n"
          "  --limit-table N          addresses the login and registration "
          "limits remember (default 16384)\n"
          "  --coalesce-ms N          collect presence changes and room joins/"
          "leaves for N ms, then send them as one frame (version 3 clients; "
          "default 100, 0 = every loop turn)\n"
          "  --max-file-size BYTES    largest file a user may offer (default "
          "1099511627776 = 1 TiB; 0 = no file transfers)\n"
          "  --max-transfers N        open file offers and transfers per user "
          "(default 8)\n"
          "  --offers-per-minute N    file offers per user per minute (default "
          "30)\n"
          "  --offer-ttl SECONDS      an offer not accepted within this "
          "expires (default 600)\n"
          "  --max-relayed N          relayed transfers per user at once "
          "(default 4; 0 = no relay)\n"
          "  --max-relayed-total N    relayed transfers at once in all "
          "(default 32)\n"
          "  --folder-quota BYTES     total size of the shared folder (default "
          "107374182400 = 100 GiB; 0 = no limit)\n"
          "  --folder-user-quota BYTES  bytes one user may keep in the shared "
          "folder (default 0 = no limit)\n"
          "  --folder-max-files N     files in the shared folder (default "
          "10000)\n"
          "  --relay-rate BYTES       relayed bytes per second, all transfers "
          "together (default 0 = no limit)\n"
          "  --tls-cert FILE          TLS certificate chain, PEM (default: "
          "the database's\n"
          "                           path + .crt, self-signed, made on first "
          "start)\n"
          "  --tls-key FILE           its private key, PEM (default: the "
          "database's path + .key)\n"
          "  --insecure-plaintext     no TLS: passwords and chat cross the "
          "network in clear\n"
          "  --tls-openssl-records    keep OpenSSL's record layer after "
          "handshakes (about 15 KB\n"
          "                           more per connection; for comparison)\n"
          "  --admin                  with 'user add': create an operator\n"
          "  --help, --version\n"
          "\n"
          "Operator commands (on stdin, or through the socket with parleyd "
          "ctl): users,\n"
          "kick NAME [REASON], ban NAME [SECONDS], unban NAME, bans, say TEXT, "
          "logins [N],\n"
          "files, rm NAME, tls, shutdown, help.\n");
}

/* Copies s into a fixed field; -1 when it does not fit. */
static int config_copy(char *dst, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n >= cap)
    return -1;
  memcpy(dst, s, n + 1);
  return 0;
}

/* Parses an unsigned decimal in [lo, hi]. */
static int config_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (*s == '\0' || *s == '-')
    return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* Parses a true/false style value for flag keys in the INI file. */
static int config_bool(const char *s, bool *out) {
  if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
      strcmp(s, "on") == 0 || *s == '\0') {
    *out = true;
    return 0;
  }
  if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0 ||
      strcmp(s, "off") == 0) {
    *out = false;
    return 0;
  }
  return -1;
}

/* Applies one option by id; v is the argument (NULL for flags). Returns 0
 * or -1 with an error printed. */
static int config_set(config *c, int id, const char *v) {
  uint64_t u;
  int r = 0;
  switch (id) {
  case OPT_LISTEN:
    r = config_copy(c->listen, sizeof c->listen, v);
    break;
  case OPT_DB:
    /* SQLite opens "" as a private temporary database that vanishes at
     * exit with every account in it: never what an operator meant. */
    if (*v == '\0') {
      fprintf(stderr, "parleyd: --db needs a file name (an empty path would "
                      "be a temporary database, lost at exit)\n");
      return -1;
    }
    r = config_copy(c->db, sizeof c->db, v);
    break;
  case OPT_FILES:
    r = config_copy(c->files, sizeof c->files, v);
    break;
  case OPT_TLS_CERT:
    r = *v == '\0' ? -1 : config_copy(c->tls_cert, sizeof c->tls_cert, v);
    break;
  case OPT_TLS_KEY:
    r = *v == '\0' ? -1 : config_copy(c->tls_key, sizeof c->tls_key, v);
    break;
  case OPT_INSECURE_PLAINTEXT:
    r = v ? config_bool(v, &c->insecure_plaintext)
          : (c->insecure_plaintext = true, 0);
    break;
  case OPT_TLS_OPENSSL_RECORDS:
    r = v ? config_bool(v, &c->tls_openssl_records)
          : (c->tls_openssl_records = true, 0);
    break;
  case OPT_CONFIG:
    r = config_copy(c->config, sizeof c->config, v);
    break;
  case OPT_NAME:
    r = config_copy(c->name, sizeof c->name, v);
    if (r == 0 &&
        (proto_utf8_count(v, strlen(v)) < 1 || proto_has_control(v, strlen(v))))
      r = -1;
    break;
  case OPT_LOG:
    r = config_copy(c->log, sizeof c->log, v);
    break;
  case OPT_LOG_LEVEL:
    c->log_level = log_level_parse(v);
    r = c->log_level < 0 ? -1 : 0;
    break;
  case OPT_NO_REGISTER:
    r = v ? config_bool(v, &c->no_register) : (c->no_register = true, 0);
    break;
  case OPT_NO_DISCOVERY:
    r = v ? config_bool(v, &c->no_discovery) : (c->no_discovery = true, 0);
    break;
  case OPT_ADMIN:
    r = v ? config_bool(v, &c->admin) : (c->admin = true, 0);
    break;
  case OPT_NO_CONTROL:
    r = v ? config_bool(v, &c->no_control) : (c->no_control = true, 0);
    break;
  case OPT_NO_TALKING_WITH:
    r = v ? config_bool(v, &c->no_talking_with)
          : (c->no_talking_with = true, 0);
    break;
  case OPT_CONTROL:
    r = *v == '\0' ? -1 : config_copy(c->control, sizeof c->control, v);
    break;
  case OPT_MOTD: {
    /* Shown on every client's screen: one line, no escapes, a notice's
     * text limit. */
    size_t n = strlen(v);
    ssize_t chars = proto_utf8_count(v, n);
    r = config_copy(c->motd, sizeof c->motd, v);
    if (r == 0 &&
        (chars < 0 || chars > PROTO_MAX_REASON || proto_has_control(v, n)))
      r = -1;
    break;
  }
  case OPT_PWHASH:
    if (strcmp(v, "interactive") == 0)
      c->pwhash = CONFIG_PWHASH_INTERACTIVE;
    else if (strcmp(v, "moderate") == 0)
      c->pwhash = CONFIG_PWHASH_MODERATE;
    else if (strcmp(v, "min") == 0)
      c->pwhash = CONFIG_PWHASH_MIN;
    else
      r = -1;
    break;
  case OPT_MAX_FILE_SIZE:
    r = config_uint(v, 0, UINT64_MAX >> 1, &u);
    if (r == 0)
      c->max_file_size = u;
    break;
  case OPT_FOLDER_QUOTA:
  case OPT_FOLDER_USER_QUOTA:
    r = config_uint(v, 0, UINT64_MAX >> 1, &u);
    if (r == 0)
      *(id == OPT_FOLDER_QUOTA ? &c->folder_quota : &c->folder_user_quota) = u;
    break;
  case OPT_RELAY_RATE:
    r = config_uint(v, 0, (uint64_t)1 << 40, &u);
    if (r == 0)
      c->relay_rate = u;
    break;
  case OPT_OUTBUF_HARD:
  case OPT_OUTBUF_SOFT:
    r = config_uint(v, 0, (uint64_t)1 << 40, &u);
    if (r == 0) {
      if (id == OPT_OUTBUF_HARD)
        c->outbuf_hard = u;
      else
        c->outbuf_soft = u;
    }
    break;
  default: {
    uint64_t lo = 0, hi = UINT32_MAX;
    uint32_t *dst = NULL;
    switch (id) {
    case OPT_MAX_CLIENTS:
      dst = &c->max_clients, lo = 1, hi = 1000000;
      break;
    case OPT_MAX_MSG_CHARS:
      dst = &c->max_msg_chars, lo = 1, hi = PROTO_MAX_TEXT;
      break;
    case OPT_MAX_ROOMS:
      dst = &c->max_rooms, lo = 1, hi = 65535;
      break;
    case OPT_HISTORY:
      dst = &c->history, hi = 65535;
      break;
    case OPT_FLOOD_RATE:
      dst = &c->flood_rate, hi = 1000000;
      break;
    case OPT_FLOOD_BURST:
      dst = &c->flood_burst, lo = 1, hi = 1000000;
      break;
    case OPT_OUTBUF_SOFT_SECONDS:
      dst = &c->outbuf_soft_seconds, hi = 86400;
      break;
    case OPT_IDLE_EXIT:
      dst = &c->idle_exit, hi = 31536000;
      break;
    case OPT_DISCOVERY_PORT:
      dst = &c->discovery_port, hi = 65535;
      break;
    case OPT_LOGIN_FAILURES:
      dst = &c->login_failures, hi = 100000;
      break;
    case OPT_TOKEN_DAYS:
      dst = &c->token_days, lo = 1, hi = 3650;
      break;
    case OPT_MAX_PER_IP:
      dst = &c->max_per_ip, hi = 1000000;
      break;
    case OPT_MAX_UNAUTHENTICATED:
      dst = &c->max_unauth, lo = 1, hi = 1000000;
      break;
    case OPT_HELLO_TIMEOUT:
      dst = &c->hello_timeout, lo = 1, hi = 3600;
      break;
    case OPT_LOGIN_TIMEOUT:
      dst = &c->login_timeout, lo = 1, hi = 3600;
      break;
    case OPT_REGISTER_RATE:
      dst = &c->register_rate, hi = 100000;
      break;
    case OPT_AUTH_QUEUE:
      dst = &c->auth_queue, lo = 1, hi = 100000;
      break;
    case OPT_FANOUT_RATE:
      dst = &c->fanout_rate, lo = 1, hi = 1000000;
      break;
    case OPT_FANOUT_BURST:
      dst = &c->fanout_burst, lo = 1, hi = 1000000;
      break;
    case OPT_COALESCE_MS:
      dst = &c->coalesce_ms, hi = 1000;
      break;
    case OPT_LIMIT_TABLE:
      dst = &c->limit_table, lo = 1, hi = 10000000;
      break;
    case OPT_MAX_TRANSFERS:
      dst = &c->max_transfers, lo = 1, hi = 1000;
      break;
    case OPT_OFFERS_PER_MINUTE:
      dst = &c->offers_per_min, lo = 1, hi = 60000;
      break;
    case OPT_OFFER_TTL:
      dst = &c->offer_ttl, lo = 1, hi = 86400;
      break;
    case OPT_MAX_RELAYED:
      dst = &c->max_relayed, hi = 1000;
      break;
    case OPT_MAX_RELAYED_TOTAL:
      dst = &c->max_relayed_total, hi = 100000;
      break;
    case OPT_FOLDER_MAX_FILES:
      dst = &c->folder_max_files, lo = 1, hi = 1000000;
      break;
    default:
      return -1;
    }
    r = config_uint(v, lo, hi, &u);
    if (r == 0)
      *dst = (uint32_t)u;
  }
  }
  if (r < 0) {
    const char *name = "?";
    for (const struct option *o = config_opts; o->name; o++)
      if (o->val == id)
        name = o->name;
    fprintf(stderr, "parleyd: bad value for --%s: '%s'\n", name, v ? v : "");
  }
  return r;
}

/* inih callback: keys of [server] (or no section) are option names. */
static int config_ini_cb(void *user, const char *section, const char *key,
                         const char *value) {
  config *c = user;
  if (*section != '\0' && strcmp(section, "server") != 0)
    return 1; /* other sections belong to other programs */
  for (const struct option *o = config_opts; o->name; o++) {
    if (strcmp(o->name, key) == 0 && o->val != OPT_CONFIG &&
        o->val != OPT_HELP && o->val != OPT_VERSION && o->val != OPT_ADMIN) {
      const char *v = value;
      return config_set(c, o->val, v) == 0;
    }
  }
  fprintf(stderr, "parleyd: %s: unknown key '%s'\n", c->config, key);
  return 0;
}

/* Returns $XDG_<kind>_HOME or ~/<fallback> in buf. */
static void config_xdg(char *buf, size_t cap, const char *env,
                       const char *fallback, const char *rest) {
  const char *x = getenv(env);
  if (x != NULL && *x == '/') {
    snprintf(buf, cap, "%s/%s", x, rest);
    return;
  }
  const char *home = getenv("HOME");
  snprintf(buf, cap, "%s/%s/%s", home ? home : ".", fallback, rest);
}

/* Sets every default. */
static void config_defaults(config *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->listen, sizeof c->listen, "0.0.0.0:%d", CONFIG_DEFAULT_PORT);
  config_xdg(c->db, sizeof c->db, "XDG_DATA_HOME", ".local/share",
             "parley/parley.db");
  config_xdg(c->files, sizeof c->files, "XDG_DATA_HOME", ".local/share",
             "parley/files");
  if (gethostname(c->name, sizeof c->name - 1) != 0 || c->name[0] == '\0')
    strcpy(c->name, "parley");
  c->log_level = LOGL_INFO;
  c->max_clients = 50;
  c->max_msg_chars = PROTO_DEFAULT_MSG_CHARS;
  c->max_rooms = 20;
  c->history = 100;
  c->flood_rate = 5;
  c->flood_burst = 10;
  c->outbuf_hard = 4u << 20;
  c->outbuf_soft = 1u << 20;
  c->outbuf_soft_seconds = 10;
  c->discovery_port = CONFIG_DEFAULT_PORT;
  c->pwhash = CONFIG_PWHASH_INTERACTIVE;
  c->token_days = 30;
  c->login_failures = 5;
  snprintf(c->motd, sizeof c->motd, "%s", CONFIG_DEFAULT_MOTD);
  c->max_per_ip = 10;
  c->max_unauth = 20;
  c->hello_timeout = 5;
  c->login_timeout = 15;
  c->register_rate = 5;
  c->auth_queue = 32;
  c->fanout_rate = 2;
  c->fanout_burst = 30;
  c->coalesce_ms = 100;
  c->limit_table = 16384;
  c->max_file_size = (uint64_t)1 << 40;
  c->max_transfers = 8;
  c->offers_per_min = 30;
  c->offer_ttl = 600;
  c->max_relayed = 4;
  c->max_relayed_total = 32;
  c->folder_quota = (uint64_t)100 << 30;
  c->folder_max_files = 10000;
}

/* Two passes over argv: the first only finds --config/--help, then the
 * file is read, then argv is applied again so that it wins. */
int config_load(config *c, int argc, char **argv) {
  config_defaults(c);
  bool explicit_config = false;
  opterr = 0;
  optind = 0;
  int o;
  /* Permuting, as the second pass: "parleyd ctl --config F users" and
   * "parleyd user list --config F" find the file too. */
  while ((o = getopt_long(argc, argv, "h", config_opts, NULL)) != -1) {
    if (o == OPT_HELP || o == 'h') {
      config_usage(stdout);
      return 1;
    }
    if (o == OPT_VERSION) {
      printf("parleyd %s (protocol %d)\n", PARLEY_VERSION, PROTO_VERSION);
      return 1;
    }
    if (o == OPT_CONFIG) {
      config_copy(c->config, sizeof c->config, optarg);
      explicit_config = true;
    }
  }
  if (!explicit_config) {
    char path[1024];
    config_xdg(path, sizeof path, "XDG_CONFIG_HOME", ".config",
               "parley/parleyd.conf");
    if (access(path, R_OK) == 0)
      config_copy(c->config, sizeof c->config, path);
  }
  if (c->config[0] != '\0') {
    int r = ini_parse(c->config, config_ini_cb, c);
    if (r < 0) {
      fprintf(stderr, "parleyd: cannot read config file %s\n", c->config);
      return -1;
    }
    if (r > 0) {
      fprintf(stderr, "parleyd: %s: error on line %d\n", c->config, r);
      return -1;
    }
  }
  /* Permuting parse: "user add NAME --admin" works in any order. */
  opterr = 1;
  optind = 0;
  while ((o = getopt_long(argc, argv, "h", config_opts, NULL)) != -1) {
    if (o == '?' || o == ':') {
      fprintf(stderr, "parleyd: try --help\n");
      return -1;
    }
    if (o == OPT_CONFIG || o == 'h')
      continue;
    if (config_set(c, o, optarg) < 0)
      return -1;
  }
  c->argc = argc - optind;
  c->argv = argv + optind;
  if (c->outbuf_soft > c->outbuf_hard && c->outbuf_hard > 0)
    c->outbuf_soft = c->outbuf_hard;
  if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
    fprintf(stderr, "parleyd: --tls-cert and --tls-key go together\n");
    return -1;
  }
  char host[128];
  int port;
  if (config_split_listen(c, host, sizeof host, &port) < 0) {
    fprintf(stderr, "parleyd: bad --listen '%s': use ADDR:PORT\n", c->listen);
    return -1;
  }
  return 0;
}

/* The given pair, or the generated one beside the database. */
bool config_tls_paths(const config *c, char *cert, size_t certcap, char *key,
                      size_t keycap) {
  if (c->tls_cert[0] != '\0') {
    snprintf(cert, certcap, "%s", c->tls_cert);
    snprintf(key, keycap, "%s", c->tls_key);
    return false;
  }
  snprintf(cert, certcap, "%s.crt", c->db);
  snprintf(key, keycap, "%s.key", c->db);
  return true;
}

/* "1.2.3.4:5", "[::1]:5", ":5" (all addresses) or "5". */
int config_split_listen(const config *c, char *host, size_t hostcap,
                        int *port) {
  const char *s = c->listen;
  const char *colon;
  const char *h;
  size_t hn;
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return -1;
    h = s + 1;
    hn = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) {
      h = "0.0.0.0";
      hn = strlen(h);
      colon = s - 1;
    } else {
      h = s;
      hn = (size_t)(colon - s);
      if (hn == 0) {
        h = "0.0.0.0";
        hn = strlen(h);
      }
    }
  }
  if (hn >= hostcap)
    return -1;
  memcpy(host, h, hn);
  host[hn] = '\0';
  if (strcmp(host, "localhost") == 0)
    snprintf(host, hostcap, "127.0.0.1");
  uint64_t p;
  if (config_uint(colon + 1, 0, 65535, &p) < 0)
    return -1;
  *port = (int)p;
  return 0;
}

/* Default database path, control socket derivation. */
int config_control_path(const config *c, char *buf, size_t cap) {
  int n;
  if (c->control[0] != '\0') {
    n = snprintf(buf, cap, "%s", c->control);
  } else {
    char def[1024];
    config_xdg(def, sizeof def, "XDG_DATA_HOME", ".local/share",
               "parley/parley.db");
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (run != NULL && *run == '/' && strcmp(def, c->db) == 0)
      n = snprintf(buf, cap, "%s/parley/control", run);
    else
      n = snprintf(buf, cap, "%s.control", c->db);
  }
  /* sun_path holds 108 bytes with the terminating NUL. */
  return n < 0 || (size_t)n >= cap || n >= 108 ? -1 : 0;
}

/* Maps the cost name to libsodium limits. */
void config_pwhash_limits(const config *c, unsigned long long *ops,
                          size_t *mem) {
  switch (c->pwhash) {
  case CONFIG_PWHASH_MODERATE:
    *ops = crypto_pwhash_OPSLIMIT_MODERATE;
    *mem = crypto_pwhash_MEMLIMIT_MODERATE;
    break;
  case CONFIG_PWHASH_MIN:
    *ops = crypto_pwhash_OPSLIMIT_MIN;
    *mem = crypto_pwhash_MEMLIMIT_MIN;
    break;
  default:
    *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  }
}
