/* main.c: parleyd entry point: the server, or an account subcommand. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "tickets.h"
#include "room.h"
#include "server.h"
#include "folderstore.h"
#include "store.h"
#include "tls.h"

#define MAIN_CTL_TIMEOUT_MS 10000 /* parleyd ctl waits this long for a reply   \
                                   */

/* Reads one line from stdin without echo when it is a terminal. Returns
 * its length or -1. */
static ssize_t main_read_password(const char *prompt, char *buf, size_t cap) {
  bool tty = isatty(STDIN_FILENO);
  struct termios old, quiet;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) == 0) {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    } else {
      tty = false;
    }
  }
  char *r = fgets(buf, (int)cap, stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
  }
  if (r == NULL)
    return -1;
  size_t n = strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = '\0';
  return (ssize_t)n;
}

/* Asks for a new password (twice on a terminal) and hashes it. */
static int main_new_hash(const config *cfg, char *hash) {
  char pw[PROTO_MAX_PASSWORD * 4 + 2], again[sizeof pw];
  ssize_t n = main_read_password("new password: ", pw, sizeof pw);
  if (n < 0 || !auth_password_ok(pw, (size_t)n)) {
    fprintf(stderr, "parleyd: %s\n", proto_strerror(PERR_BAD_PASSWORD));
    sodium_memzero(pw, sizeof pw);
    return -1;
  }
  if (isatty(STDIN_FILENO)) {
    ssize_t m = main_read_password("again: ", again, sizeof again);
    bool same = m == n && memcmp(pw, again, (size_t)n) == 0;
    sodium_memzero(again, sizeof again);
    if (!same) {
      fprintf(stderr, "parleyd: the passwords differ\n");
      sodium_memzero(pw, sizeof pw);
      return -1;
    }
  }
  unsigned long long ops;
  size_t mem;
  config_pwhash_limits(cfg, &ops, &mem);
  int r = crypto_pwhash_str(hash, pw, (unsigned long long)n, ops, mem);
  sodium_memzero(pw, sizeof pw);
  if (r != 0) {
    fprintf(stderr, "parleyd: password hashing failed (out of memory)\n");
    return -1;
  }
  return 0;
}

/* parleyd user add|del|list|passwd ... */
static int main_user(config *cfg) {
  int argc = cfg->argc;
  char **argv = cfg->argv;
  if (argc < 2) {
    fprintf(stderr, "usage: parleyd user add NAME [--admin] | user del NAME "
                    "| user list | user passwd NAME\n");
    return 2;
  }
  const char *cmd = argv[1];
  bool list = strcmp(cmd, "list") == 0;
  if ((list && argc != 2) || (!list && argc != 3)) {
    fprintf(stderr, "parleyd: usage: parleyd user %s%s\n", cmd,
            list ? "" : " NAME");
    return 2;
  }
  const char *name = list ? "" : argv[2];
  if (!list && proto_check_name(name, strlen(name)) < 0) {
    fprintf(stderr, "parleyd: %s\n", proto_strerror(PERR_BAD_NAME));
    return 2;
  }
  sqlite3 *db;
  if (store_open(cfg->db, &db) < 0)
    return 1;
  int rc = 0;
  store_job *j = store_job_new(STORE_ACCOUNT_LIST, NULL, NULL);
  snprintf(j->name, sizeof j->name, "%s", name);
  if (strcmp(cmd, "add") == 0) {
    j->op = STORE_ACCOUNT_ADD;
    j->role = cfg->admin ? PROTO_ROLE_ADMIN : PROTO_ROLE_USER;
    if (main_new_hash(cfg, j->text) < 0) {
      rc = 1;
    } else {
      store_exec(db, j);
      if (j->result == -PERR_NAME_TAKEN) {
        fprintf(stderr, "parleyd: user %s already exists\n", name);
        rc = 1;
      } else if (j->result < 0) {
        fprintf(stderr, "parleyd: cannot add user %s\n", name);
        rc = 1;
      } else {
        printf("added %s %s\n", cfg->admin ? "admin" : "user", name);
      }
    }
  } else if (strcmp(cmd, "del") == 0) {
    j->op = STORE_ACCOUNT_DEL;
    store_exec(db, j);
    if (!j->found) {
      fprintf(stderr, "parleyd: no such user: %s\n", name);
      rc = 1;
    } else {
      printf("deleted user %s (and their direct conversations; a running "
             "server ends their session within seconds)\n",
             name);
    }
  } else if (strcmp(cmd, "passwd") == 0) {
    j->op = STORE_ACCOUNT_PASSWD;
    if (main_new_hash(cfg, j->text) < 0) {
      rc = 1;
    } else {
      store_exec(db, j);
      if (!j->found) {
        fprintf(stderr, "parleyd: no such user: %s\n", name);
        rc = 1;
      } else {
        printf("password changed for %s (sessions revoked; a running "
               "server ends them within seconds)\n",
               name);
      }
    }
  } else if (list) {
    store_exec(db, j);
    for (size_t i = 0; i < j->nlines; i++)
      printf("%s\n", j->lines[i]);
  } else {
    fprintf(stderr, "parleyd: unknown user command '%s'\n", cmd);
    rc = 2;
  }
  sodium_memzero(j->text, sizeof j->text);
  store_job_free(j);
  store_close_db(db);
  return rc;
}

/* parleyd logins [N]: the login log, read from the database directly. */
static int main_logins(config *cfg) {
  uint64_t n = 20;
  if (cfg->argc > 2 ||
      (cfg->argc == 2 &&
       (sscanf(cfg->argv[1], "%" SCNu64, &n) != 1 || n == 0 || n > 100000))) {
    fprintf(stderr, "usage: parleyd logins [N] (1..100000, default 20)\n");
    return 2;
  }
  sqlite3 *db;
  if (store_open(cfg->db, &db) < 0)
    return 1;
  store_job *j = store_job_new(STORE_LOGINS, NULL, NULL);
  j->num = n;
  store_exec(db, j);
  if (j->nlines == 0)
    printf("no logins recorded\n");
  for (size_t i = 0; i < j->nlines; i++)
    printf("%s\n", j->lines[i]);
  store_job_free(j);
  store_close_db(db);
  return 0;
}

/* parleyd files list | files rm NAME: the shared folder's table, read
 * from the database directly (a running server's console has the same
 * commands, files and rm, which also update what it has in memory). */
static int main_files(config *cfg) {
  bool list = cfg->argc == 2 && strcmp(cfg->argv[1], "list") == 0;
  bool rm = cfg->argc == 3 && strcmp(cfg->argv[1], "rm") == 0;
  if (!list && !rm) {
    fprintf(stderr, "usage: parleyd files list | parleyd files rm NAME\n");
    return 2;
  }
  sqlite3 *db;
  if (store_open(cfg->db, &db) < 0)
    return 1;
  int r = list ? folderstore_cmd_list(db)
               : folderstore_cmd_rm(db, cfg->files, cfg->argv[2]);
  store_close_db(db);
  return r;
}

/* parleyd ctl COMMAND...: sends one console command to the running
 * server's operator socket and prints the reply. Exit status 0 when the
 * server answered "ok", 1 on "error" or when it cannot be reached. */
static int main_ctl(config *cfg) {
  if (cfg->argc < 2) {
    fprintf(stderr, "usage: parleyd ctl COMMAND [ARGS...] (try: parleyd "
                    "ctl help)\n");
    return 2;
  }
  char line[1024];
  size_t off = 0;
  for (int i = 1; i < cfg->argc; i++) {
    int w = snprintf(line + off, sizeof line - off, "%s%s", i > 1 ? " " : "",
                     cfg->argv[i]);
    if (w < 0 || (size_t)w >= sizeof line - off - 1 ||
        strchr(cfg->argv[i], '\n') != NULL) {
      fprintf(stderr, "parleyd: the command is too long or holds a "
                      "newline\n");
      return 2;
    }
    off += (size_t)w;
  }
  line[off++] = '\n';
  char path[108];
  if (config_control_path(cfg, path, sizeof path) < 0) {
    fprintf(stderr, "parleyd: the operator socket path is too long\n");
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    fprintf(stderr,
            "parleyd: cannot reach the server's operator socket %s: %s "
            "(is parleyd running? give its --control, --db or --config)\n",
            path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  /* One request, then end of input: the server closes after the reply. */
  if (write(fd, line, off) != (ssize_t)off) {
    fprintf(stderr, "parleyd: cannot send to %s: %s\n", path, strerror(errno));
    close(fd);
    return 1;
  }
  shutdown(fd, SHUT_WR);
  int rc = -1;
  char buf[4096], acc[2048];
  size_t alen = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, MAIN_CTL_TIMEOUT_MS);
    if (pr <= 0) {
      fprintf(stderr, "parleyd: no answer from %s within %d s\n", path,
              MAIN_CTL_TIMEOUT_MS / 1000);
      break;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != '\n') {
        if (alen < sizeof acc - 1)
          acc[alen++] = buf[i];
        continue;
      }
      acc[alen] = '\0';
      alen = 0;
      if (strncmp(acc, "| ", 2) == 0)
        printf("%s\n", acc + 2);
      else if (strcmp(acc, "ok") == 0 || strcmp(acc, "error") == 0)
        rc = acc[0] == 'o' ? 0 : 1;
    }
    if (rc >= 0)
      break;
  }
  close(fd);
  fflush(stdout);
  if (rc < 0) {
    fprintf(stderr, "parleyd: the server closed without finishing its "
                    "reply\n");
    return 1;
  }
  return rc;
}

/* Runs the server until it stops. */
/* Makes the server identity on first start (unless --tls-cert names one)
 * and loads it; or, with --insecure-plaintext, warns. Returns 0 or -1
 * with the reason printed. Blocking: before the loop runs. */
static int main_tls(const config *cfg) {
  if (cfg->insecure_plaintext) {
    static const char warn[] =
        "WARNING: --insecure-plaintext: no TLS; passwords, session tokens "
        "and chat cross the network in clear";
    fprintf(stderr, "parleyd: %s\n", warn);
    log_warn(NULL, "%s", warn);
    return 0;
  }
  char cert[1100], key[1100], err[1400], fp[TLS_FINGERPRINT_SZ];
  bool made = false;
  if (config_tls_paths(cfg, cert, sizeof cert, key, sizeof key) &&
      tls_identity_ensure(cert, key, cfg->name, &made, err, sizeof err) < 0) {
    fprintf(stderr, "parleyd: %s\n", err);
    return -1;
  }
  srv.tls = tls_ctx_server(cert, key, err, sizeof err);
  if (srv.tls == NULL ||
      tls_cert_fingerprint(cert, fp, sizeof fp, err, sizeof err) < 0) {
    fprintf(stderr, "parleyd: %s\n", err);
    return -1;
  }
  log_info(NULL, "TLS: %s key %s, fingerprint %s", made ? "new" : "using", key,
           fp);
  tls_ctx_own_records(srv.tls, !cfg->tls_openssl_records);
  /* Ticket keys beside the database, so that clients resume their
   * sessions after a restart; a bad file only costs that. */
  char tickets[1100], note[1600];
  snprintf(tickets, sizeof tickets, "%s.tickets", cfg->db);
  if (tls_ctx_tickets(srv.tls, tickets, (uint64_t)time(NULL), note,
                      sizeof note) != 0)
    log_warn(NULL, "%s", note);
  else
    log_info(NULL, "%s", note);
  tickets_init(tickets); /* the next keys, while it runs */
  return 0;
}

static int main_serve(config *cfg) {
  sqlite3 *db;
  if (store_open(cfg->db, &db) < 0)
    return 1;
  if (main_tls(cfg) < 0) { /* beside the database: its folder exists now */
    store_close_db(db);
    return 1;
  }
  store_job *j = store_job_new(STORE_MAX_ID, NULL, NULL);
  store_exec(db, j); /* before the loop runs: nothing waits on it */
  srv.next_msg_id = j->num;
  store_job_free(j);
  store_job *topics = store_job_new(STORE_TOPICS_GET, NULL, NULL);
  store_exec(db, topics); /* before the loop too: rooms get them at once */
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r < 0) {
    fprintf(stderr, "parleyd: %s\n", uv_strerror(r));
    store_job_free(topics);
    store_close_db(db);
    return 1;
  }
  r = store_start(&loop, db, cfg->history);
  if (r < 0) {
    fprintf(stderr, "parleyd: cannot start the store thread: %s\n",
            uv_strerror(r));
    store_job_free(topics);
    store_close_db(db);
    return 1;
  }
  int rr = room_init(cfg->max_rooms);
  for (size_t i = 0; rr == 0 && i < topics->ntopics; i++)
    room_topic_restore(topics->topics[i].room, topics->topics[i].topic);
  store_job_free(topics);
  if (rr < 0 || daemon_start(&loop, cfg) < 0) {
    if (!srv.finished) {
      srv.stopping = true;
      store_stop();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 1;
  }
  log_info(NULL, "parleyd %s started: name '%s', db %s", PARLEY_VERSION,
           cfg->name, cfg->db);
  uv_run(&loop, UV_RUN_DEFAULT);
  r = uv_loop_close(&loop);
  assert(r == 0); /* every handle was closed: nothing leaked */
  if (r != 0) {
    log_error(NULL, "loop closed with handles open: %s", uv_strerror(r));
    return 1;
  }
  return 0;
}

/* `parleyd fingerprint`: the identity clients pin (made now if this is
 * before the first start, so an operator can publish it first). */
static int main_fingerprint(const config *cfg) {
  char cert[1100], key[1100], err[1400], fp[TLS_FINGERPRINT_SZ];
  bool made = false;
  if (config_tls_paths(cfg, cert, sizeof cert, key, sizeof key) &&
      tls_identity_ensure(cert, key, cfg->name, &made, err, sizeof err) < 0) {
    fprintf(stderr, "parleyd: %s\n", err);
    return 1;
  }
  if (tls_cert_fingerprint(cert, fp, sizeof fp, err, sizeof err) < 0) {
    fprintf(stderr, "parleyd: %s\n", err);
    return 1;
  }
  printf("%s\n", fp);
  return 0;
}

/* Parses options, then serves or runs a subcommand. */
int main(int argc, char **argv) {
  static config cfg;
  int r = config_load(&cfg, argc, argv);
  if (r != 0)
    return r > 0 ? 0 : 2;
  if (sodium_init() < 0) {
    fprintf(stderr, "parleyd: libsodium failed to initialise\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN); /* a dead peer is an error code, not a kill */
  /* A file size limit (ulimit -f) is a full disk: writes fail with EFBIG
   * and the store reports it, instead of the process being killed. */
  signal(SIGXFSZ, SIG_IGN);
  log_set_level(cfg.log_level);
  /* File data and relayed reads are 64-260 KiB frames made and freed all
   * the time: keep them in the heap, and keep up to 4 MiB of freed pages
   * at its top, instead of unmapping them and faulting them in again for
   * the next frame (measured: ~10 % of the CPU per byte sent or relayed). The
   * idle give-back (daemon.c) still trims them once traffic stops. */
  (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 4 << 20);
  if (cfg.argc > 0) {
    if (strcmp(cfg.argv[0], "ctl") == 0)
      return main_ctl(&cfg);
    if (strcmp(cfg.argv[0], "logins") == 0)
      return main_logins(&cfg);
    if (strcmp(cfg.argv[0], "files") == 0)
      return main_files(&cfg);
    if (strcmp(cfg.argv[0], "fingerprint") == 0)
      return main_fingerprint(&cfg);
    if (strcmp(cfg.argv[0], "user") != 0) {
      fprintf(stderr, "parleyd: unknown command '%s'; try --help\n",
              cfg.argv[0]);
      return 2;
    }
    return main_user(&cfg);
  }
  if (cfg.admin) {
    fprintf(stderr, "parleyd: --admin only goes with 'user add'\n");
    return 2;
  }
  r = log_open(cfg.log);
  if (r < 0) {
    fprintf(stderr, "parleyd: cannot open log %s: %s\n", cfg.log, strerror(-r));
    return 1;
  }
  r = main_serve(&cfg);
  tls_ctx_free(srv.tls);
  srv.tls = NULL;
  log_close();
  return r;
}
