/* client_config.c: the client's configuration file, parley.conf (INI, read
 * with inih like the server's): default server and user, rooms to join at
 * start, highlight words, users pane, bell, timestamps, command aliases,
 * LAN scan targets. Read once before the loop starts. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "client_int.h"
#include "client_summary.h"

/* What the inih callback needs. */
typedef struct client_config_ctx {
  client_config *cfg;
  client_opts *o;
  char err[300]; /* first error, "" while fine */
} client_config_ctx;

/* Parses a yes/no value; returns 0 or -1. */
static int client_config_bool(const char *v, bool *out) {
  if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") ||
      !strcmp(v, "1"))
    *out = true;
  else if (!strcasecmp(v, "no") || !strcasecmp(v, "off") ||
           !strcasecmp(v, "false") || !strcmp(v, "0"))
    *out = false;
  else
    return -1;
  return 0;
}

/* Calls fn(ctx, word, n) for each word of v separated by blanks or
 * commas; stops at the first nonzero return and returns it. */
static int client_config_words(client_config_ctx *x, const char *v,
                               int (*fn)(client_config_ctx *, const char *,
                                         size_t)) {
  const char *p = v;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (!*p)
      return 0;
    const char *e = p;
    while (*e && *e != ' ' && *e != '\t' && *e != ',')
      e++;
    int r = fn(x, p, (size_t)(e - p));
    if (r)
      return r;
    p = e;
  }
}

/* One room of rooms = ... */
static int client_config_room(client_config_ctx *x, const char *p, size_t n) {
  client_config *cfg = x->cfg;
  if (proto_check_room(p, n) < 0) {
    snprintf(x->err, sizeof x->err, "rooms: '%.*s': %s", (int)(n > 40 ? 40 : n),
             p, proto_strerror(PERR_BAD_ROOM));
    return -1;
  }
  if (cfg->nrooms >= CLIENT_CONFIG_MAX_ROOMS) {
    snprintf(x->err, sizeof x->err, "rooms: at most %d",
             CLIENT_CONFIG_MAX_ROOMS);
    return -1;
  }
  memcpy(cfg->rooms[cfg->nrooms], p, n);
  cfg->rooms[cfg->nrooms++][n] = '\0';
  return 0;
}

/* One word of highlight = ... */
static int client_config_word(client_config_ctx *x, const char *p, size_t n) {
  client_config *cfg = x->cfg;
  if (n >= CLIENT_CONFIG_WORD_SZ ||
      cfg->nhighlight >= CLIENT_CONFIG_MAX_WORDS ||
      proto_utf8_count(p, n) < 0 || proto_has_control(p, n)) {
    snprintf(x->err, sizeof x->err,
             "highlight: at most %d words of up to %d bytes of plain text",
             CLIENT_CONFIG_MAX_WORDS, CLIENT_CONFIG_WORD_SZ - 1);
    return -1;
  }
  memcpy(cfg->highlight[cfg->nhighlight], p, n);
  cfg->highlight[cfg->nhighlight++][n] = '\0';
  return 0;
}

/* One target of scan-to = ... */
static int client_config_scan_to(client_config_ctx *x, const char *p,
                                 size_t n) {
  client_opts *o = x->o;
  if (o->n_scan_to >= CLIENT_MAX_SCAN_TO ||
      client_scan_parse_to(p, n, 0, &o->scan_to[o->n_scan_to]) < 0) {
    snprintf(x->err, sizeof x->err,
             "scan-to: '%.*s': need at most %d IPv4 ADDR[:PORT]",
             (int)(n > 40 ? 40 : n), p, CLIENT_MAX_SCAN_TO);
    return -1;
  }
  o->n_scan_to++;
  return 0;
}

/* An [aliases] entry: NAME = /command [args]. */
static int client_config_alias(client_config_ctx *x, const char *name,
                               const char *v) {
  client_config *cfg = x->cfg;
  size_t n = strlen(name);
  bool ok = n > 0 && n < sizeof cfg->aliases[0].name;
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '_';
  if (!ok || v[0] != '/' || strlen(v) >= sizeof cfg->aliases[0].expansion ||
      proto_has_control(v, strlen(v)) || proto_utf8_count(v, strlen(v)) < 0) {
    snprintf(x->err, sizeof x->err,
             "alias '%.30s': NAME = /command [arguments] (NAME: letters, "
             "digits, '-', '_')",
             name);
    return -1;
  }
  if (cfg->naliases >= CLIENT_CONFIG_MAX_ALIASES) {
    snprintf(x->err, sizeof x->err, "at most %d aliases",
             CLIENT_CONFIG_MAX_ALIASES);
    return -1;
  }
  client_alias *a = &cfg->aliases[cfg->naliases++];
  snprintf(a->name, sizeof a->name, "%s", name);
  snprintf(a->expansion, sizeof a->expansion, "%s", v);
  return 0;
}

/* inih callback: keys of [client] (or no section) and [aliases]. Returns
 * nonzero to go on, 0 to stop with an error. */
static int client_config_ini_cb(void *ud, const char *section, const char *key,
                                const char *v) {
  client_config_ctx *x = ud;
  client_config *cfg = x->cfg;
  client_opts *o = x->o;
  if (x->err[0])
    return 0;
  if (!strcasecmp(section, "aliases"))
    return client_config_alias(x, key, v) == 0;
  if (section[0] && strcasecmp(section, "client") != 0) {
    snprintf(x->err, sizeof x->err, "unknown section [%.40s]", section);
    return 0;
  }
  char *end;
  if (!strcmp(key, "server")) {
    if (client_opts_target(v, o->user, sizeof o->user, o->host, sizeof o->host,
                           &o->port) < 0) {
      snprintf(x->err, sizeof x->err,
               "server: expected [USER@]HOST[:PORT], not '%.60s'", v);
      return 0;
    }
  } else if (!strcmp(key, "user")) {
    if (proto_check_name(v, strlen(v)) < 0) {
      snprintf(x->err, sizeof x->err, "user: '%.40s': %s", v,
               proto_strerror(PERR_BAD_NAME));
      return 0;
    }
    snprintf(o->user, sizeof o->user, "%s", v);
  } else if (!strcmp(key, "rooms")) {
    return client_config_words(x, v, client_config_room) == 0;
  } else if (!strcmp(key, "highlight")) {
    return client_config_words(x, v, client_config_word) == 0;
  } else if (!strcmp(key, "scan-to")) {
    return client_config_words(x, v, client_config_scan_to) == 0;
  } else if (!strcmp(key, "send-rate")) {
    errno = 0;
    unsigned long long r = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-' || r > (1ull << 40)) {
      snprintf(x->err, sizeof x->err,
               "send-rate: bytes per second (0 = no limit)");
      return 0;
    }
    o->send_rate = r;
  } else if (!strcmp(key, "pane-width")) {
    errno = 0;
    unsigned long w = strtoul(v, &end, 10);
    if (errno || end == v || *end || w < 8 || w > 60) {
      snprintf(x->err, sizeof x->err, "pane-width: need 8..60 columns");
      return 0;
    }
    cfg->pane_width = (unsigned)w;
  } else if (!strcmp(key, "pane")) {
    if (!strcasecmp(v, "room") || !strcasecmp(v, "all"))
      cfg->pane_room = !strcasecmp(v, "room");
    else {
      snprintf(x->err, sizeof x->err, "pane: all or room");
      return 0;
    }
  } else if (!strcmp(key, "relay-only")) {
    if (client_config_bool(v, &o->relay_only) < 0) {
      snprintf(x->err, sizeof x->err, "relay-only: yes or no");
      return 0;
    }
  } else if (!strcmp(key, "bell") || !strcmp(key, "rejoin") ||
             !strcmp(key, "keep-session")) {
    bool *b = !strcmp(key, "bell")     ? &cfg->bell
              : !strcmp(key, "rejoin") ? &cfg->rejoin
                                       : &cfg->keep_session;
    if (client_config_bool(v, b) < 0) {
      snprintf(x->err, sizeof x->err, "%s: yes or no", key);
      return 0;
    }
  } else if (!strcmp(key, "join-summary-above")) {
    if (client_summary_parse_above(v, &o->join_summary_above) < 0) {
      snprintf(x->err, sizeof x->err,
               "join-summary-above: need 1..%d members or off",
               CLIENT_MAX_USERS);
      return 0;
    }
  } else if (!strcmp(key, "join-summary-every")) {
    if (client_summary_parse_every(v, &o->join_summary_every) < 0) {
      snprintf(x->err, sizeof x->err, "join-summary-every: need 1..%d seconds",
               CLIENT_SUMMARY_MAX_EVERY);
      return 0;
    }
  } else if (!strcmp(key, "timestamp")) {
    if (strlen(v) >= sizeof cfg->timestamp || proto_has_control(v, strlen(v))) {
      snprintf(x->err, sizeof x->err,
               "timestamp: a strftime format of at most %zu bytes",
               sizeof cfg->timestamp - 1);
      return 0;
    }
    snprintf(cfg->timestamp, sizeof cfg->timestamp, "%s", v);
  } else {
    snprintf(x->err, sizeof x->err, "unknown key '%.40s'", key);
    return 0;
  }
  return 1;
}

const char *client_config_default_path(char *buf, size_t n) {
  const char *x = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  if (x && x[0] == '/')
    snprintf(buf, n, "%s/parley/parley.conf", x);
  else if (home && home[0] == '/')
    snprintf(buf, n, "%s/.config/parley/parley.conf", home);
  else if (n)
    buf[0] = '\0';
  return buf;
}

int client_config_load(client_config *cfg, client_opts *o, const char *path,
                       bool must_exist, char *err, size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  cfg->rejoin = true;
  cfg->bell = true;
  cfg->keep_session = true;
  snprintf(cfg->timestamp, sizeof cfg->timestamp, "%%H:%%M");
  if (!path || !path[0])
    return 0;
  FILE *f = fopen(path, "re");
  if (!f) {
    if (!must_exist && errno == ENOENT)
      return 0;
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  client_config_ctx x = {.cfg = cfg, .o = o};
  int line = ini_parse_file(f, client_config_ini_cb, &x);
  fclose(f);
  if (line != 0) {
    snprintf(err, errlen, "%s:%d: %s", path, line,
             x.err[0] ? x.err : "syntax error");
    return -1;
  }
  snprintf(cfg->path, sizeof cfg->path, "%s", path);
  return 0;
}
