/* client_trust.c: which server keys this user trusts, like ssh's
 * known_hosts: $XDG_CONFIG_HOME/parley/known_servers holds one
 * "HOST:PORT SHA256:..." line per server (IPv6 hosts in brackets; '#'
 * starts a comment). The entry for the server in use is read before the
 * loop starts (client_trust_load); after each TLS handshake
 * client_trust_check decides: the pinned key, a key named by
 * --fingerprint, --trust-new, or a certificate a system CA vouches for
 * for the host name go on (and a new one is pinned, the line appended off
 * the loop); a changed key is refused loudly; an unknown one is refused in
 * batch mode and asked about in the TUI. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"
#include "tls.h"

#define TRUST_LINE_MAX 1024 /* longer lines are not ours: skipped */

/* The known_servers path into buf; -1 when neither XDG_CONFIG_HOME nor
 * HOME is usable. */
static int client_trust_path(char *buf, size_t cap) {
  const char *x = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  int n;
  if (x && x[0] == '/')
    n = snprintf(buf, cap, "%s/parley/known_servers", x);
  else if (home && home[0] == '/')
    n = snprintf(buf, cap, "%s/.config/parley/known_servers", home);
  else
    return -1;
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* "host:port", IPv6 hosts in brackets. */
static void client_trust_key(const char *host, unsigned port, char *buf,
                             size_t cap) {
  snprintf(buf, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

/* Splits one line into its key and fingerprint (in place); false for a
 * comment, a blank or a line that is not ours. */
static bool client_trust_parse(char *line, char **key, char **fp) {
  line[strcspn(line, "\r\n")] = '\0';
  char *p = line + strspn(line, " \t");
  if (*p == '\0' || *p == '#')
    return false;
  *key = p;
  p += strcspn(p, " \t");
  if (*p == '\0')
    return false;
  *p++ = '\0';
  p += strspn(p, " \t");
  *fp = p;
  p += strcspn(p, " \t");
  *p = '\0';
  return strncmp(*fp, "SHA256:", 7) == 0;
}

/* Reads the line for o's server into o->known_fp (blocking: before the
 * loop). A missing file is no entry. Returns 0 or -1 with err. */
int client_trust_load(client_opts *o, char *err, size_t errlen) {
  o->known_fp[0] = '\0';
  char path[CLIENT_CONFIG_PATH_SZ], want[CLIENT_HOST_SZ + 16];
  if (o->insecure_plaintext || client_trust_path(path, sizeof path) < 0)
    return 0;
  client_trust_key(o->host, o->port, want, sizeof want);
  FILE *f = fopen(path, "re");
  if (!f) {
    if (errno == ENOENT)
      return 0;
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  char line[TRUST_LINE_MAX];
  char *key, *fp;
  while (fgets(line, sizeof line, f))
    if (client_trust_parse(line, &key, &fp) && strcmp(key, want) == 0)
      snprintf(o->known_fp, sizeof o->known_fp, "%s", fp);
  fclose(f);
  return 0;
}

/* ---- pinning, off the loop ---------------------------------------------- */

typedef struct client_trust_job {
  uv_work_t req;
  client *c;
  int err; /* errno of the append, 0 when it worked */
  char path[CLIENT_CONFIG_PATH_SZ];
  char line[CLIENT_HOST_SZ + CLIENT_FP_SZ + 24];
} client_trust_job;

/* Thread pool: creates the folder (0700) and appends the line. */
static void client_trust_work(uv_work_t *req) {
  client_trust_job *j = req->data;
  char dir[CLIENT_CONFIG_PATH_SZ];
  snprintf(dir, sizeof dir, "%s", j->path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    char *up = strrchr(dir, '/'); /* $XDG_CONFIG_HOME itself, then parley */
    if (up && up != dir) {
      *up = '\0';
      (void)mkdir(dir, 0700);
      *up = '/';
    }
    (void)mkdir(dir, 0700);
  }
  int fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    j->err = errno;
    return;
  }
  size_t n = strlen(j->line);
  if (write(fd, j->line, n) != (ssize_t)n)
    j->err = errno ? errno : EIO;
  if (close(fd) != 0 && j->err == 0)
    j->err = errno;
}

/* Loop: says where the key went (or why not), then lets go. */
static void client_trust_work_done(uv_work_t *req, int status) {
  client_trust_job *j = req->data;
  client *c = j->c;
  if (status == 0 && j->err != 0)
    client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
                "could not remember the server's key in %s: %s", j->path,
                strerror(j->err));
  free(j);
  c->live--;
  client_maybe_stopped(c);
}

/* Remembers fp for this server (in memory at once, on disk off the loop). */
static void client_trust_pin(client *c, const char *fp) {
  snprintf(c->opts.known_fp, sizeof c->opts.known_fp, "%s", fp);
  client_trust_job *j = calloc(1, sizeof *j);
  if (!j || client_trust_path(j->path, sizeof j->path) < 0) {
    free(j);
    return;
  }
  char key[CLIENT_HOST_SZ + 16];
  client_trust_key(c->m.host, c->m.port, key, sizeof key);
  snprintf(j->line, sizeof j->line, "%s %s\n", key, fp);
  j->c = c;
  j->req.data = j;
  if (uv_queue_work(c->loop, &j->req, client_trust_work,
                    client_trust_work_done) < 0) {
    free(j);
    return;
  }
  c->live++;
  client_info(c, c->m.windows[0], CLIENT_LINE_INFO, "remembered %s as %s in %s",
              key, fp, j->path);
}

/* ---- the decision ------------------------------------------------------- */

/* The handshake finished: true when the session may go on (HELLO next),
 * false after the connection was given up with the reason. */
bool client_trust_check(client *c, client_conn *k) {
  char fp[CLIENT_FP_SZ], key[CLIENT_HOST_SZ + 16], reason[1200];
  client_trust_key(c->m.host, c->m.port, key, sizeof key);
  if (tls_peer_fingerprint(&k->s, fp, sizeof fp) < 0) {
    client_conn_lost(c, "the server showed no certificate",
                     CLIENT_FATAL_CONNECT);
    return false;
  }
  snprintf(c->m.fingerprint, sizeof c->m.fingerprint, "%s", fp);
  const char *known = c->opts.known_fp;
  const char *given = c->opts.fingerprint;
  if (given[0] != '\0' && strcmp(given, fp) != 0) {
    snprintf(reason, sizeof reason,
             "server %s has key %s, not %s as --fingerprint says; not "
             "connecting",
             key, fp, given);
    client_conn_lost(c, reason, CLIENT_FATAL_HOSTKEY);
    return false;
  }
  if (known[0] != '\0' && strcmp(known, fp) != 0) {
    char path[CLIENT_CONFIG_PATH_SZ] = "known_servers";
    (void)client_trust_path(path, sizeof path);
    client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
                "@@@ WARNING: THE KEY OF SERVER %s HAS CHANGED! @@@", key);
    client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
                "Someone could be eavesdropping on you right now, or the "
                "server's key was replaced.");
    snprintf(reason, sizeof reason,
             "server key changed: %s is now %s, but %s holds %s (the line "
             "'%s %s'); if the operator confirms the new key, run: parley "
             "--forget %s",
             key, fp, path, known, key, known, key);
    client_conn_lost(c, reason, CLIENT_FATAL_HOSTKEY);
    return false;
  }
  if (known[0] != '\0')
    return true;
  if (given[0] != '\0' || c->opts.trust_new || tls_peer_verified(&k->s)) {
    if (tls_peer_verified(&k->s))
      client_info(c, c->m.windows[0], CLIENT_LINE_INFO,
                  "server %s: certificate verified for %s by a system CA", key,
                  c->m.host);
    client_trust_pin(c, fp);
    return true;
  }
  if (c->opts.mode == CLIENT_MODE_TUI) {
    /* A person decides; the connection is not kept waiting meanwhile
     * (the server's hello timeout is short): a yes connects again. First
     * contact is no error (ssh's is calm too): the key once, as local
     * output, and the question in the input line; client_conn_lost says
     * nothing more while trust_asking. */
    client_info(c, c->m.windows[0], CLIENT_LINE_INFO,
                "first contact with %s: its key is %s", key, fp);
    client_info(c, c->m.windows[0], CLIENT_LINE_INFO,
                "compare it with `parleyd fingerprint` on the server "
                "before you answer");
    snprintf(reason, sizeof reason, "unknown server %s, key %s; not trusted",
             key, fp);
    c->trust_asking = true;
    client_conn_lost(c, reason, CLIENT_FATAL_HOSTKEY);
    client_event ev = {.type = CLIENT_EV_TRUST, .text = c->m.fingerprint};
    client_emit(c, &ev);
    return false;
  }
  snprintf(reason, sizeof reason,
           "unknown server %s with key %s; compare it with `parleyd "
           "fingerprint` on the server, then connect with --fingerprint %s "
           "(or --trust-new)",
           key, fp, fp);
  client_conn_lost(c, reason, CLIENT_FATAL_HOSTKEY);
  return false;
}

/* "yes", "y" or the fingerprint pin it and connect again. */
int client_trust_answer(client *c, const char *answer) {
  if (!c->trust_asking)
    return UV_EINVAL;
  c->trust_asking = false;
  char a[CLIENT_FP_SZ];
  size_t i = strspn(answer, " \t");
  snprintf(a, sizeof a, "%s", answer + i);
  a[strcspn(a, " \t\r\n")] = '\0';
  if (strcasecmp(a, "yes") != 0 && strcasecmp(a, "y") != 0 &&
      strcmp(a, c->m.fingerprint) != 0)
    return 1;
  client_trust_pin(c, c->m.fingerprint);
  return client_reconnect(c);
}

/* ---- parley --forget ---------------------------------------------------- */

/* Rewrites known_servers without target's lines (temp file + rename).
 * Prints what it did. Returns the exit status. Blocking (no loop). */
int client_trust_forget(const char *target) {
  char user[CLIENT_NAME_SZ], host[CLIENT_HOST_SZ], want[CLIENT_HOST_SZ + 16];
  uint16_t port = CLIENT_DEFAULT_PORT;
  if (client_opts_target(target, user, sizeof user, host, sizeof host, &port) <
      0) {
    fprintf(stderr, "parley: --forget: bad server '%s': expected HOST[:PORT]\n",
            target);
    return 2;
  }
  client_trust_key(host, port, want, sizeof want);
  char path[CLIENT_CONFIG_PATH_SZ], tmp[CLIENT_CONFIG_PATH_SZ + 16];
  if (client_trust_path(path, sizeof path) < 0 ||
      snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >=
          (int)sizeof tmp) {
    fprintf(stderr, "parley: --forget: no config directory\n");
    return 1;
  }
  FILE *in = fopen(path, "re");
  if (!in) {
    printf("%s: not in %s\n", want, path);
    return 0;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!out) {
    fprintf(stderr, "parley: cannot write %s: %s\n", tmp, strerror(errno));
    if (fd >= 0)
      close(fd);
    fclose(in);
    return 1;
  }
  char line[TRUST_LINE_MAX], copy[TRUST_LINE_MAX];
  unsigned removed = 0;
  char *key, *fp;
  while (fgets(line, sizeof line, in)) {
    memcpy(copy, line, sizeof copy);
    if (client_trust_parse(copy, &key, &fp) && strcmp(key, want) == 0) {
      removed++;
      continue;
    }
    fputs(line, out);
  }
  fclose(in);
  bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
  ok = fclose(out) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "parley: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return 1;
  }
  if (removed)
    printf("%s: key forgotten (%u line%s removed from %s)\n", want, removed,
           removed == 1 ? "" : "s", path);
  else
    printf("%s: not in %s\n", want, path);
  return 0;
}
