/* client_opts.c: parley's command line, target syntax and password. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "client.h"
#include "client_int.h"
#include "client_summary.h"

const char *client_opts_usage(void) {
  return "usage: parley [options] [USER@]HOST[:PORT]          terminal UI\n"
         "       parley --batch [options] [USER@]HOST[:PORT]  JSON lines on "
         "stdin/stdout\n"
         "       parley --scan [--scan-to ADDR[:PORT]]... [--scan-port PORT] "
         "[--timeout MS]\n"
         "                                                     list servers "
         "that answer\n"
         "options:\n"
         "  --register            create the account, then log in\n"
         "  --password-file FILE  read the password from FILE (else "
         "$PARLEY_PASSWORD,\n"
         "                        else the TUI asks; batch fails)\n"
         "  --no-reconnect        do not reconnect after the connection "
         "drops\n"
         "  --relay-only          send and receive files only through the "
         "server's relay\n"
         "  --send-rate BYTES     send each file at most this many bytes per "
         "second\n"
         "                        (default 0 = as fast as it goes)\n"
         "  --download-dir DIR    where received files go (default "
         "$XDG_DOWNLOAD_DIR,\n"
         "                        else ~/Downloads)\n"
         "  --scan-port PORT      UDP discovery port (default 7667; alias "
         "--discovery-port)\n"
         "  --scan-to ADDR[:PORT] send the scan's UDP probe only to this IPv4\n"
         "                        address (repeatable, at most 16). Without "
         "it a scan\n"
         "                        sends to each IPv4 interface's broadcast "
         "address\n"
         "                        (loopback and /31-/32 interfaces have none) "
         "and to\n"
         "                        127.0.0.1; never to 255.255.255.255\n"
         "  --timeout MS          how long --scan waits (default 1000)\n"
         "  --scrollback N        lines kept per window (default 2000)\n"
         "  --join-summary-above N|off  rooms with more than N members "
         "(default 50)\n"
         "                        show joins and leaves as one summary line, "
         "not one\n"
         "                        line each (the TUI; --batch reports every "
         "one)\n"
         "  --join-summary-every SECS  at most one summary line per SECS "
         "(default 30)\n"
         "  --config FILE         read settings from FILE (default\n"
         "                        $XDG_CONFIG_HOME/parley/parley.conf)\n"
         "  --keep-session        --batch: keep and use the session token "
         "and rooms\n"
         "                        in $XDG_STATE_HOME/parley (the TUI does "
         "by default)\n"
         "  --trust-new           trust (and remember) an unknown server's "
         "key\n"
         "  --fingerprint SHA256:...  the server's key must be this one "
         "(parleyd fingerprint)\n"
         "  --forget HOST[:PORT]  forget a server's key in "
         "$XDG_CONFIG_HOME/parley/known_servers\n"
         "  --insecure-plaintext  no TLS (for a parleyd started with it): "
         "all in clear\n"
         "  --help, --version\n"
         "HOST defaults to 127.0.0.1 in --batch, USER to $USER, PORT to "
         "7667;\n"
         "an IPv6 address goes in brackets: alice@[::1]:7667\n";
}

int client_parse_num(const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out) {
  char *end;
  if (!s || *s < '0' || *s > '9') /* no blank or sign strtoul allows */
    return -1;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* Copies n bytes of s into dst (size dsz) with a NUL; -1 if too long. */
static int copy_n(char *dst, size_t dsz, const char *s, size_t n) {
  if (n >= dsz)
    return -1;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

int client_opts_target(const char *s, char *user, size_t usz, char *host,
                       size_t hsz, uint16_t *port) {
  const char *at = strrchr(s, '@');
  if (at) {
    if (at == s || copy_n(user, usz, s, (size_t)(at - s)) < 0)
      return -1;
    s = at + 1;
  }
  const char *hs, *he, *rest;
  if (*s == '[') { /* [v6]:port */
    hs = s + 1;
    he = strchr(hs, ']');
    if (!he)
      return -1;
    rest = he + 1;
    if (*rest && *rest != ':')
      return -1;
  } else {
    hs = s;
    he = strchr(s, ':');
    if (he && strchr(he + 1, ':'))
      return -1; /* bare IPv6 is ambiguous: demand brackets */
    if (!he)
      he = s + strlen(s);
    rest = he;
  }
  if (he == hs || copy_n(host, hsz, hs, (size_t)(he - hs)) < 0)
    return -1;
  if (*rest == ':') {
    unsigned long v;
    if (client_parse_num(rest + 1, 1, 65535, &v) < 0)
      return -1;
    *port = (uint16_t)v;
  }
  return 0;
}

static int client_opts_password_read(client_opts *o, char *err, size_t errlen);

int client_opts_parse(client_opts *o, int argc, char **argv, char *err,
                      size_t errlen) {
  memset(o, 0, sizeof *o);
  o->port = CLIENT_DEFAULT_PORT;
  o->scan_port = CLIENT_DEFAULT_PORT;
  o->timeout_ms = CLIENT_SCAN_TIMEOUT_MS;
  o->scrollback = CLIENT_DEFAULT_SCROLLBACK;
  o->ping_ms = CLIENT_PING_MS;
  o->join_summary_above = CLIENT_SUMMARY_ABOVE;
  o->join_summary_every = CLIENT_SUMMARY_EVERY;
  const char *env_user = getenv("USER");
  if (env_user && strlen(env_user) < sizeof o->user)
    strcpy(o->user, env_user);
  /* The configuration file first: the command line overrides it. */
  const char *cfg_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
        strcmp(argv[i], "--version") == 0)
      break;
    if (strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc) {
        snprintf(err, errlen, "option --config needs a value");
        return -1;
      }
      cfg_path = argv[++i];
    }
  }
  char defpath[CLIENT_CONFIG_PATH_SZ];
  if (client_config_load(
          &o->config, o,
          cfg_path ? cfg_path
                   : client_config_default_path(defpath, sizeof defpath),
          cfg_path != NULL, err, errlen) < 0)
    return -1;
  bool cli_scan_to = false, cli_keep = false;
  const char *target = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    unsigned long v;
#define NEED_VAL                                                               \
  do {                                                                         \
    if (!val) {                                                                \
      snprintf(err, errlen, "option %s needs a value", a);                     \
      return -1;                                                               \
    }                                                                          \
    i++;                                                                       \
  } while (0)
    if (strcmp(a, "--batch") == 0) {
      o->mode = CLIENT_MODE_BATCH;
    } else if (strcmp(a, "--scan") == 0) {
      o->mode = CLIENT_MODE_SCAN;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      o->mode = CLIENT_MODE_HELP;
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      o->mode = CLIENT_MODE_VERSION;
      return 0;
    } else if (strcmp(a, "--register") == 0) {
      o->do_register = true;
    } else if (strcmp(a, "--config") == 0) {
      NEED_VAL; /* read above */
    } else if (strcmp(a, "--keep-session") == 0) {
      cli_keep = true;
    } else if (strcmp(a, "--no-reconnect") == 0) {
      o->no_reconnect = true;
    } else if (strcmp(a, "--relay-only") == 0) {
      o->relay_only = true;
    } else if (strcmp(a, "--send-rate") == 0) {
      NEED_VAL;
      if (client_parse_num(val, 0, 1ul << 40, &v) < 0) {
        snprintf(err, errlen, "%s: bad rate '%s' (bytes per second)", a, val);
        return -1;
      }
      o->send_rate = v;
    } else if (strcmp(a, "--insecure-plaintext") == 0) {
      o->insecure_plaintext = true;
    } else if (strcmp(a, "--trust-new") == 0) {
      o->trust_new = true;
    } else if (strcmp(a, "--fingerprint") == 0) {
      NEED_VAL;
      if (strncmp(val, "SHA256:", 7) != 0 || strlen(val) != 50) {
        snprintf(err, errlen,
                 "--fingerprint: expected SHA256: and 43 base64 characters "
                 "(as parleyd fingerprint prints), not '%.80s'",
                 val);
        return -1;
      }
      snprintf(o->fingerprint, sizeof o->fingerprint, "%s", val);
    } else if (strcmp(a, "--download-dir") == 0) {
      NEED_VAL;
      free(o->download_dir);
      o->download_dir = strdup(val);
      if (!o->download_dir) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
    } else if (strcmp(a, "--password-file") == 0) {
      NEED_VAL;
      free(o->password_file);
      o->password_file = strdup(val);
      if (!o->password_file) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
    } else if (strcmp(a, "--scan-port") == 0 ||
               strcmp(a, "--discovery-port") == 0) {
      NEED_VAL;
      if (client_parse_num(val, 1, 65535, &v) < 0) {
        snprintf(err, errlen, "%s: bad port '%s'", a, val);
        return -1;
      }
      o->scan_port = (uint16_t)v;
    } else if (strcmp(a, "--scan-to") == 0) {
      NEED_VAL;
      if (!cli_scan_to) /* the command line replaces the file's targets */
        o->n_scan_to = 0;
      cli_scan_to = true;
      if (o->n_scan_to >= CLIENT_MAX_SCAN_TO) {
        snprintf(err, errlen, "--scan-to: at most %d targets",
                 CLIENT_MAX_SCAN_TO);
        return -1;
      }
      /* The port is applied below, once --scan-port is known. */
      if (client_scan_parse_to(val, strlen(val), 0, &o->scan_to[o->n_scan_to]) <
          0) {
        snprintf(err, errlen, "--scan-to: '%s' is not an IPv4 address[:port]",
                 val);
        return -1;
      }
      o->n_scan_to++;
    } else if (strcmp(a, "--timeout") == 0) {
      NEED_VAL;
      if (client_parse_num(val, 1, 600000, &v) < 0) {
        snprintf(err, errlen, "--timeout: bad milliseconds '%s'", val);
        return -1;
      }
      o->timeout_ms = (unsigned)v;
    } else if (strcmp(a, "--scrollback") == 0) {
      NEED_VAL;
      if (client_parse_num(val, 10, CLIENT_MAX_SCROLLBACK, &v) < 0) {
        snprintf(err, errlen, "--scrollback: need 10..%d lines",
                 CLIENT_MAX_SCROLLBACK);
        return -1;
      }
      o->scrollback = (unsigned)v;
    } else if (strcmp(a, "--join-summary-above") == 0) {
      NEED_VAL;
      if (client_summary_parse_above(val, &o->join_summary_above) < 0) {
        snprintf(err, errlen, "%s: need 1..%d members or off, not '%.40s'", a,
                 CLIENT_MAX_USERS, val);
        return -1;
      }
    } else if (strcmp(a, "--join-summary-every") == 0) {
      NEED_VAL;
      if (client_summary_parse_every(val, &o->join_summary_every) < 0) {
        snprintf(err, errlen, "%s: need 1..%d seconds, not '%.40s'", a,
                 CLIENT_SUMMARY_MAX_EVERY, val);
        return -1;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      snprintf(err, errlen, "unknown option %s (see --help)", a);
      return -1;
    } else if (target) {
      snprintf(err, errlen, "more than one server given ('%s', '%s')", target,
               a);
      return -1;
    } else {
      target = a;
    }
#undef NEED_VAL
  }
  if (target) {
    o->port = CLIENT_DEFAULT_PORT; /* not the configuration's server port */
    if (client_opts_target(target, o->user, sizeof o->user, o->host,
                           sizeof o->host, &o->port) < 0) {
      snprintf(err, errlen,
               "bad server '%s': expected [USER@]HOST[:PORT], IPv6 as "
               "[::1]:7667",
               target);
      return -1;
    }
    o->host_given = true;
  } else if (!o->host[0]) { /* nor in the configuration file */
    strcpy(o->host, "127.0.0.1");
  }
  /* The token and rooms are kept for the TUI (unless the file says no);
   * scripts opt in with --keep-session. */
  o->keep_session =
      cli_keep || (o->mode == CLIENT_MODE_TUI && o->config.keep_session);
  for (unsigned i = 0; i < o->n_scan_to; i++) /* no :PORT given */
    if (o->scan_to[i].sin_port == 0)
      o->scan_to[i].sin_port = htons(o->scan_port);
  if (o->mode != CLIENT_MODE_SCAN) {
    if (o->user[0] == '\0') {
      snprintf(err, errlen, "no user name: give USER@HOST or set $USER");
      return -1;
    }
    if (proto_check_name(o->user, strlen(o->user)) < 0) {
      /* The error text starts "bad name:" already. */
      snprintf(err, errlen, "'%s': %s", o->user, proto_strerror(PERR_BAD_NAME));
      return -1;
    }
  }
  return 0;
}

int client_opts_password(client_opts *o, char *err, size_t errlen) {
  if (client_state_load(o, err, errlen) < 0 ||
      client_trust_load(o, err, errlen) < 0)
    return -1;
  int r = client_opts_password_read(o, err, errlen);
  if (r == 0 && o->password)
    o->have_token = false; /* a password given is what the user means */
  return r;
}

/* client_opts_password() without the kept session. */
static int client_opts_password_read(client_opts *o, char *err, size_t errlen) {
  if (o->password)
    return 0;
  if (o->password_file) {
    int fd = open(o->password_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      snprintf(err, errlen, "cannot read password file %s: %s",
               o->password_file, strerror(errno));
      return -1;
    }
    char buf[PROTO_MAX_PASSWORD * 4 + 2];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 &&
           (r = read(fd, buf + n, sizeof buf - 1 - n)) != 0) {
      if (r < 0) {
        if (errno == EINTR)
          continue;
        snprintf(err, errlen, "cannot read password file %s: %s",
                 o->password_file, strerror(errno));
        close(fd);
        return -1;
      }
      n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0'; /* first line only */
    o->password = strdup(buf);
    memset(buf, 0, sizeof buf);
  } else {
    const char *env = getenv("PARLEY_PASSWORD");
    if (!env)
      return o->have_token ? 0 : 1; /* a kept session needs no password */
    o->password = strdup(env);
    if (o->password)
      o->password[strcspn(o->password, "\r\n")] = '\0';
  }
  if (!o->password) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

int client_opts_check_password(const client_opts *o, char *err, size_t errlen) {
  if (!o->password)
    return 0;
  ssize_t n = proto_utf8_count(o->password, strlen(o->password));
  if (n < 0 || n > PROTO_MAX_PASSWORD || (o->do_register && n < 8)) {
    snprintf(err, errlen, "%s%s; nothing was sent",
             n < 0 ? "the password is not valid UTF-8: " : "",
             proto_strerror(PERR_BAD_PASSWORD));
    return -1;
  }
  return 0;
}

void client_opts_free(client_opts *o) {
  if (o->password) {
    memset(o->password, 0, strlen(o->password));
    free(o->password);
  }
  free(o->password_file);
  free(o->download_dir);
  o->password = NULL;
  o->password_file = NULL;
  o->download_dir = NULL;
}
