/* fuzz_tls_rec.c: libFuzzer target for parleyd's own TLS 1.3 records
 * (src/common/tls_rec.c): what a client sends once its handshake is done.
 *
 * The first byte picks the suite (bits 1-2) and the mode (bit 0):
 * - raw: the rest is the byte stream itself, walked record by record as
 *   tls.c does (headers, lengths, tags; almost nothing authenticates);
 * - sealed: the rest is a list of chunks [type][length][content], each
 *   sealed by the client's side first so that what only decryption
 *   reveals is reached: content types, padding, alerts, key updates. Type
 *   0xff makes the client update its key properly instead.
 * Invariants (any break aborts): data sealed as data opens to the same
 * bytes; a record that opens is never refused for its header; a key
 * update the server owes is sealed and opens on the client's side. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_rec.h"

static void fuzz_fail(const char *what) {
  fprintf(stderr, "fuzz_tls_rec: %s\n", what);
  abort();
}

static const uint16_t suite_ids[] = {0x1301, 0x1302, 0x1303, 0x1301};

/* Server and client of one connection, from fixed secrets. */
static void pair(tls_rec *srv, tls_rec *cli, unsigned which) {
  uint8_t a[48], b[48];
  memset(a, 0xa5, sizeof a);
  memset(b, 0x5a, sizeof b);
  size_t len = suite_ids[which] == 0x1302 ? 48 : 32;
  memset(srv, 0, sizeof *srv);
  memset(cli, 0, sizeof *cli);
  if (tls_rec_init(srv, suite_ids[which], a, len, b, len, 0, 0) < 0 ||
      tls_rec_init(cli, suite_ids[which], b, len, a, len, 0, 0) < 0)
    fuzz_fail("init");
}

static uint8_t wire[TLS_REC_SEAL_ROOM(TLS_REC_BODY_MAX)];
static uint8_t plain[TLS_REC_BODY_MAX + TLS_REC_HDR];

/* The server opens n bytes of records; -1 once the stream ended. */
static int server_opens(tls_rec *srv, tls_rec *cli, const uint8_t *p, size_t n,
                        const uint8_t *want, size_t want_n) {
  size_t off = 0;
  while (off < n) {
    const char *why = NULL;
    long need = tls_rec_need(p + off, n - off, &why);
    if (need < 0)
      return -1;
    if (need == 0 || (size_t)need > n - off)
      return 0;
    size_t m = 0;
    uint8_t alert = 0;
    int r = tls_rec_open(srv, p + off, (size_t)need, plain, &m, &alert, &why);
    off += (size_t)need;
    if (r == TLS_REC_OPEN_ERR || r == TLS_REC_OPEN_EOF)
      return -1;
    if (r == TLS_REC_OPEN_DATA && want != NULL &&
        (m != want_n || memcmp(plain, want, m) != 0))
      fuzz_fail("data sealed as data opened to other bytes");
    if (r == TLS_REC_OPEN_NONE && srv->update_owed) {
      long k = tls_rec_seal(srv, TLS_REC_DATA, NULL, 0, wire);
      if (k <= 0 || srv->update_owed)
        fuzz_fail("an owed key update was not sealed");
      size_t cm = 0;
      if (tls_rec_open(cli, wire, (size_t)k, plain, &cm, &alert, &why) !=
          TLS_REC_OPEN_NONE)
        fuzz_fail("the server's key update does not open");
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  tls_rec srv, cli;
  pair(&srv, &cli, (data[0] >> 1) & 3);
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  if (!(data[0] & 1)) {
    (void)server_opens(&srv, &cli, p, n, NULL, 0);
  } else {
    while (n >= 2) {
      uint8_t type = p[0];
      size_t len = p[1] < n - 2 ? p[1] : n - 2;
      const uint8_t *content = p + 2;
      p += 2 + len;
      n -= 2 + len;
      if (type == 0xff) {
        cli.update_owed = true;
        if (tls_rec_seal(&cli, TLS_REC_DATA, NULL, 0, wire) <= 0)
          fuzz_fail("client key update");
        size_t m = 0; /* the server reads it as the key update it is */
        uint8_t alert = 0;
        const char *why = NULL;
        long k = tls_rec_need(wire, sizeof wire, &why);
        if (k <= 0 || tls_rec_open(&srv, wire, (size_t)k, plain, &m, &alert,
                                   &why) != TLS_REC_OPEN_NONE)
          fuzz_fail("a proper key update was refused");
        continue;
      }
      if (type == TLS_REC_DATA && len == 0)
        continue; /* seals nothing: empty data goes as no record */
      long k = tls_rec_seal(&cli, type, content, len, wire);
      if (k <= 0)
        fuzz_fail("seal");
      const char *why = NULL;
      if (tls_rec_need(wire, (size_t)k, &why) != k)
        fuzz_fail("a sealed record's header was refused");
      if (server_opens(&srv, &cli, wire, (size_t)k,
                       type == TLS_REC_DATA ? content : NULL, len) < 0)
        break;
      if (type == TLS_REC_HANDSHAKE && len == 5 && content[0] == 24 &&
          content[1] == 0 && content[2] == 0 && content[3] == 1 &&
          content[4] <= 1) {
        /* a key update written by hand: the client's key moves as the
         * server's reading key did (the record sealing it is dropped) */
        cli.update_owed = true;
        if (tls_rec_seal(&cli, TLS_REC_DATA, NULL, 0, wire) <= 0)
          fuzz_fail("client key update");
      }
    }
  }
  tls_rec_wipe(&srv);
  tls_rec_wipe(&cli);
  return 0;
}
