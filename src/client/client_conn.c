/* client_conn.c: the connection to the server: name resolution, TCP
 * connect, reading and writing frames, losing the session and the
 * reconnect timer with backoff. */
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_backoff.h"
#include "client_int.h"
#include "client_xfer.h"
#include "tls.h"

#define CLIENT_AGENT "parley/" PARLEY_VERSION
#define CLIENT_TLS_HANDSHAKE_MS                                                \
  10000 /* a server silent this long is given up */

static void client_conn_connect(client *c);
static void client_conn_reconnect_due(uv_timer_t *t);
static void client_conn_forget(client *c);

/* Encodes m into the live connection's queue and writes what the socket
 * takes; 0, UV_ENOTCONN, UV_ENOBUFS (queue over CLIENT_OUTQ_MAX),
 * UV_ENOMEM or the encoder's -PERR_*. */
int client_conn_send(client *c, const proto_msg *m) {
  client_conn *k = c->conn;
  if (!k || k->closing || k->phase == CONN_CONNECTING)
    return UV_ENOTCONN;
  if (k->out.bytes > CLIENT_OUTQ_MAX)
    return UV_ENOBUFS;
  if (proto_size(m) == 0)
    return -PERR_UNKNOWN_TYPE;
  int r = outq_push_msg(&k->out, m);
  if (r == -PERR_INTERNAL)
    return UV_ENOMEM;
  if (r < 0)
    return r;
  r = stream_flush(&k->s, &k->out);
  if (r < 0) /* the socket is broken; the read side will report it */
    return UV_ENOTCONN;
  return 0;
}

/* Bytes queued for the server and not yet written. */
size_t client_conn_pending(const client *c) {
  if (!c->conn || c->conn->phase == CONN_CONNECTING)
    return 0;
  return c->conn->out.bytes;
}

/* Last step of a connection: frees it and maybe reports STOPPED. A BYE
 * whose shutdown never completed (the connection was lost first) still
 * ends with client_stop. */
static void client_conn_closed(stream *s) {
  client_conn *k = stream_data(s);
  client *c = k->c;
  bool bye = k->bye;
  outq_clear(&k->out);
  framer_reset(&k->in);
  free(k);
  c->live--;
  if (bye)
    client_stop(c);
  client_maybe_stopped(c);
}

/* Starts closing k (idempotent); c->conn forgets it at once. */
static void client_conn_close(client_conn *k) {
  if (k->closing)
    return;
  k->closing = true;
  if (k->c->conn == k)
    k->c->conn = NULL;
  stream_close(&k->s);
}

/* Ends the current session: closes the connection, then reconnects with
 * backoff unless fatal/kicked/--no-reconnect/quitting, or reports the end. */
void client_conn_lost(client *c, const char *reason, client_fatal fatal) {
  if (c->conn)
    client_conn_close(c->conn);
  client_conn_forget(c);
  if (c->stopping)
    return;
  if (c->quitting) { /* we asked for it: client_stop() follows */
    client_set_state(c, CLIENT_DISCONNECTED, "quit");
    return;
  }
  if (c->kicked && fatal == CLIENT_FATAL_NONE)
    fatal = CLIENT_FATAL_KICKED;
  if (fatal == CLIENT_FATAL_NONE && !c->ever_ready)
    fatal = CLIENT_FATAL_CONNECT; /* the first connection must work */
  if (fatal == CLIENT_FATAL_NONE && c->opts.no_reconnect)
    fatal = CLIENT_FATAL_OTHER;
  snprintf(c->m.reason, sizeof c->m.reason, "%s", reason);
  if (fatal != CLIENT_FATAL_NONE) {
    if (c->fatal == CLIENT_FATAL_NONE)
      c->fatal = fatal;
    client_set_state(c, CLIENT_DISCONNECTED, reason);
    if (!c->trust_asking) /* first contact: the question says it */
      client_info(c, c->m.windows[0], CLIENT_LINE_ERROR, "disconnected: %s",
                  reason);
    client_event ev = {
        .type = CLIENT_EV_DISCONNECTED,
        .text = c->m.reason,
        .fatal = fatal,
        .can_retry = c->auth_retryable && fatal == CLIENT_FATAL_AUTH &&
                     c->login_tries < CLIENT_LOGIN_TRIES,
        .login_tries = c->auth_retryable && fatal == CLIENT_FATAL_AUTH
                           ? c->login_tries
                           : 0};
    client_emit(c, &ev);
    return;
  }
  uint64_t delay =
      client_backoff_delay(c->attempt++, CLIENT_BACKOFF_BASE_MS,
                           CLIENT_BACKOFF_CAP_MS, (uint32_t)random());
  c->m.reconnect_at = uv_now(c->loop) + delay;
  client_set_state(c, CLIENT_RECONNECTING, reason);
  client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
              "connection lost (%s); reconnecting in %llu ms", reason,
              (unsigned long long)delay);
  client_event ev = {
      .type = CLIENT_EV_RECONNECTING, .in_ms = delay, .text = c->m.reason};
  client_emit(c, &ev);
  int r =
      uv_timer_start(&c->reconnect_timer, client_conn_reconnect_due, delay, 0);
  assert(r == 0); /* starting an initialised timer cannot fail */
}

/* Reconnect timer: try again from name resolution (addresses may move). */
static void client_conn_reconnect_due(uv_timer_t *t) {
  client *c = t->data;
  if (c->stopping)
    return;
  int r = client_start(c);
  if (r < 0)
    client_conn_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
}

/* Decodes every whole frame the framer cuts from the bytes; a frame split
 * across reads waits in the framer. Unknown types (a newer server) are
 * skipped. */
static void client_conn_read(stream *s, const uint8_t *p, size_t n) {
  client_conn *k = stream_data(s);
  client *c = k->c;
  while (!k->closing) {
    const uint8_t *frame;
    ssize_t r = framer_next(&k->in, &p, &n, PROTO_MAX_FRAME, &frame);
    if (r == 0)
      return;
    if (r == -PERR_INTERNAL) {
      client_conn_lost(c, "out of memory for a frame", CLIENT_FATAL_NONE);
      return;
    }
    proto_msg m;
    if (r > 0)
      r = proto_decode(frame, (size_t)r, &m);
    if (r == -PERR_UNKNOWN_TYPE)
      continue;
    if (r < 0) {
      char reason[200];
      snprintf(reason, sizeof reason, "malformed frame from the server: %s",
               proto_strerror((int)r));
      client_conn_lost(c, reason, CLIENT_FATAL_NONE);
      return;
    }
    client_handle_frame(c, k, &m);
  }
}

/* The server closed the connection or the socket failed. A server that
 * answers TLS in plain text (or ends the handshake) is a server without
 * TLS, or not a parley server: no point retrying. */
static void client_conn_error(stream *s, int err) {
  client_conn *k = stream_data(s);
  client *c = k->c;
  char reason[CLIENT_HOST_SZ + 300];
  if (err == STREAM_ENOTTLS ||
      (err == UV_EOF && k->phase == CONN_CONNECTING && c->tls != NULL)) {
    snprintf(reason, sizeof reason,
             "%s port %u does not speak TLS (%s): a parleyd started with "
             "--insecure-plaintext, or not a parley server; use "
             "--insecure-plaintext only if you trust the network",
             c->m.host, c->m.port,
             err == UV_EOF ? "it closed the connection during the TLS "
                             "handshake"
                           : "it answered in plain text");
    client_conn_lost(c, reason, CLIENT_FATAL_CONNECT);
    return;
  }
  snprintf(reason, sizeof reason, "%s",
           err == UV_EOF ? "server closed the connection"
                         : stream_strerror(err));
  client_conn_lost(
      c, reason, err == STREAM_ETLS ? CLIENT_FATAL_CONNECT : CLIENT_FATAL_NONE);
}

/* Sends HELLO: the session starts (over TLS once the key is trusted). */
static void client_conn_hello(client *c, client_conn *k) {
  k->phase = CONN_HELLO;
  proto_msg m = {.type = PROTO_HELLO};
  m.u.hello.version = PROTO_VERSION;
  m.u.hello.agent = proto_str_c(CLIENT_AGENT);
  int r = client_send(c, &m);
  if (r < 0)
    client_conn_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
}

/* The TLS handshake did not finish in time (the reconnect timer, idle
 * while connecting, keeps the watch): give this attempt up. */
static void client_conn_tls_timeout(uv_timer_t *t) {
  client *c = t->data;
  client_conn *k = c->conn;
  if (c->stopping || !k || k->closing || k->phase != CONN_CONNECTING ||
      tls_secure(&k->s))
    return;
  char reason[CLIENT_HOST_SZ + 100];
  snprintf(reason, sizeof reason,
           "no TLS handshake with %s port %u within %d s", c->m.host, c->m.port,
           CLIENT_TLS_HANDSHAKE_MS / 1000);
  client_conn_lost(c, reason, CLIENT_FATAL_NONE);
}

/* The TLS handshake finished: HELLO once the server's key is trusted. */
static void client_conn_secure(stream *s) {
  client_conn *k = stream_data(s);
  if (k->closing)
    return;
  int r = uv_timer_stop(&k->c->reconnect_timer); /* the handshake watch */
  (void)r; /* stopping an initialised timer cannot fail */
  if (client_trust_check(k->c, k))
    client_conn_hello(k->c, k);
}

/* A write finished: write what queued up meanwhile; once a BYE is out,
 * shut the sending side down. */
static void client_conn_drain(stream *s) {
  client_conn *k = stream_data(s);
  int r = stream_flush(s, &k->out);
  if (r == 0 && k->bye && k->out.bytes == 0)
    r = stream_shutdown(s);
  if (r < 0)
    client_conn_lost(k->c, uv_strerror(r), CLIENT_FATAL_NONE);
}

/* After BYE is flushed: close the connection. */
static void client_conn_bye_done(stream *s, int status) {
  (void)status;
  client_conn *k = stream_data(s);
  client *c = k->c;
  k->bye = false; /* done: client_stop runs here, not from the close */
  client_conn_close(k);
  client_stop(c);
}

static const stream_ops client_conn_ops = {
    .on_read = client_conn_read,
    .on_drain = client_conn_drain,
    .on_error = client_conn_error,
    .on_shutdown = client_conn_bye_done,
    .on_close = client_conn_closed,
    .on_secure = client_conn_secure,
};

/* TCP connected (or not): start the handshake, or try the next address. */
static void client_conn_connected(stream *s, int status) {
  client_conn *k = stream_data(s);
  client *c = k->c;
  if (k->closing)
    return;
  if (status < 0) {
    char reason[300];
    snprintf(reason, sizeof reason, "cannot connect to %s port %u: %s",
             c->m.host, c->m.port, uv_strerror(status));
    client_conn_close(k);
    if (c->addr_next < c->naddrs) {
      client_conn_connect(c);
      return;
    }
    client_conn_lost(c, reason, CLIENT_FATAL_NONE);
    return;
  }
  int r = uv_tcp_nodelay(&k->s.tcp, 1);
  (void)r; /* latency tweak only: no failure to report */
  /* The kernel probes an idle link, so a dead server is noticed without a
   * timer waking this process (the TUI runs with ping_ms = 0). */
  r = uv_tcp_keepalive(&k->s.tcp, 1, 60);
  (void)r;
  r = stream_read_start(&k->s);
  if (r < 0) {
    client_conn_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
    return;
  }
  if (c->tls == NULL) { /* --insecure-plaintext */
    client_conn_hello(c, k);
    return;
  }
  /* HELLO waits for the handshake and the key check (client_conn_secure);
   * the phase stays CONNECTING, so nothing else can be queued before. */
  r = tls_start(&k->s, c->tls, c->m.host, NULL, 0);
  if (r < 0) {
    client_conn_lost(c, stream_strerror(r), CLIENT_FATAL_NONE);
    return;
  }
  if (!k->closing && !tls_secure(&k->s)) {
    r = uv_timer_start(&c->reconnect_timer, client_conn_tls_timeout,
                       CLIENT_TLS_HANDSHAKE_MS, 0);
    (void)r; /* fails only while stopping: nothing to watch then */
  }
}

/* Opens a TCP connection to the next resolved address. */
static void client_conn_connect(client *c) {
  client_conn *k = calloc(1, sizeof *k);
  if (!k) {
    client_conn_lost(c, "out of memory", CLIENT_FATAL_OTHER);
    return;
  }
  k->c = c;
  int r = stream_init(&k->s, c->loop, &client_conn_ops, k);
  if (r < 0) {
    free(k);
    client_conn_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
    return;
  }
  c->live++;
  c->conn = k;
  const struct sockaddr *sa =
      (const struct sockaddr *)&c->addrs[c->addr_next++];
  r = stream_connect(&k->s, sa, client_conn_connected);
  if (r < 0) {
    char reason[300];
    snprintf(reason, sizeof reason, "cannot connect to %s port %u: %s",
             c->m.host, c->m.port, uv_strerror(r));
    client_conn_close(k);
    if (c->addr_next < c->naddrs)
      client_conn_connect(c);
    else
      client_conn_lost(c, reason, CLIENT_FATAL_NONE);
  }
}

/* Name resolved: remember up to CLIENT_MAX_ADDRS addresses, connect. */
static void client_conn_resolved(uv_getaddrinfo_t *req, int status,
                                 struct addrinfo *ai) {
  client *c = req->data;
  c->resolving = false;
  c->live--;
  if (c->stopping) {
    uv_freeaddrinfo(ai);
    client_maybe_stopped(c);
    return;
  }
  if (status < 0) {
    char reason[400];
    snprintf(reason, sizeof reason, "cannot resolve %s: %s", c->m.host,
             uv_strerror(status));
    uv_freeaddrinfo(ai);
    client_conn_lost(c, reason, CLIENT_FATAL_NONE);
    return;
  }
  c->naddrs = c->addr_next = 0;
  for (struct addrinfo *p = ai; p && c->naddrs < CLIENT_MAX_ADDRS;
       p = p->ai_next) {
    if (p->ai_addrlen > sizeof c->addrs[0])
      continue;
    memcpy(&c->addrs[c->naddrs], p->ai_addr, p->ai_addrlen);
    c->naddrs++;
  }
  uv_freeaddrinfo(ai);
  if (c->naddrs == 0) {
    client_conn_lost(c, "host has no usable address", CLIENT_FATAL_NONE);
    return;
  }
  client_conn_connect(c);
}

/* Starts resolving the server's name; connecting follows in the callback.
 * Returns 0 or a libuv error. */
int client_conn_resolve(client *c) {
  char port[8];
  snprintf(port, sizeof port, "%u", c->m.port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_protocol = IPPROTO_TCP};
  c->gai.data = c;
  int r = uv_getaddrinfo(c->loop, &c->gai, client_conn_resolved, c->m.host,
                         port, &hints);
  if (r < 0)
    return r;
  c->resolving = true;
  c->live++;
  return 0;
}

/* Forgets what dies with a session: half-received lists, the user list,
 * the lag probe. */
static void client_conn_forget(client *c) {
  client_ping_stop(c);
  client_xfer_session_lost(c);
  c->nwho = 0;
  c->nrooms = 0;
  c->nnames = 0;
  c->who_requested = false;
  if (c->m.nusers) /* nobody is known online while we are away */
    client_user_clear(c);
}

int client_reconnect(client *c) {
  if (c->stopping || c->quitting)
    return UV_EINVAL;
  if (c->resolving)
    return UV_EALREADY;
  int r = uv_timer_stop(&c->reconnect_timer);
  assert(r == 0); /* stopping an initialised timer cannot fail */
  (void)r;
  if (c->conn) {
    client_conn_close(c->conn);
    client_conn_forget(c);
  }
  c->fatal = CLIENT_FATAL_NONE;
  c->attempt = 0;
  c->kicked = false;
  client_info(c, c->m.windows[0], CLIENT_LINE_INFO, "reconnecting now");
  client_event ev = {
      .type = CLIENT_EV_RECONNECTING, .in_ms = 0, .text = "reconnecting now"};
  client_emit(c, &ev);
  return client_start(c);
}

int client_login_retry(client *c, const char *password) {
  if (c->stopping || c->fatal != CLIENT_FATAL_AUTH || !c->auth_retryable ||
      c->login_tries >= CLIENT_LOGIN_TRIES || !password)
    return UV_EINVAL;
  char *p = strdup(password);
  if (!p)
    return UV_ENOMEM;
  if (c->opts.password) {
    memset(c->opts.password, 0, strlen(c->opts.password));
    free(c->opts.password);
  }
  c->opts.password = p;
  c->have_token = false;
  return client_reconnect(c);
}

/* Cancels a name lookup in flight and closes the connection (client_stop). */
void client_conn_stop(client *c) {
  if (c->resolving)
    uv_cancel((uv_req_t *)&c->gai); /* callback runs with UV_ECANCELED */
  if (c->conn)
    client_conn_close(c->conn);
}

/* Says BYE and shuts the connection down; true when that is under way
 * (client_stop() follows once it is flushed), false when there is no
 * session to leave. */
bool client_conn_bye(client *c, const char *reason) {
  client_conn *k = c->conn;
  if (k && !k->closing && k->phase != CONN_CONNECTING) {
    proto_msg m = {.type = PROTO_BYE};
    m.u.bye.reason = proto_str_c(reason ? reason : "");
    if (client_send(c, &m) < 0) { /* a bad reason: leave without one */
      m.u.bye.reason = proto_str_c("");
      (void)client_send(c, &m);
    }
    /* FIN must follow the BYE: shut down now if it is all written, else
     * once the queue drains (client_conn_drain). */
    k->bye = true;
    if (k->out.bytes > 0 || stream_shutdown(&k->s) == 0)
      return true;
    k->bye = false;
  }
  return false;
}
