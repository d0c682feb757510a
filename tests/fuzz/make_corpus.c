/* make_corpus.c: writes the fuzz seed corpus, one valid frame per v1
 * message type (file named after the type), plus a few multi-frame
 * streams, into the directory given as the only argument. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msgdesc.h"
#include "proto.h"

static uint8_t pool[2 * PROTO_MAX_FRAME];
static uint8_t frame[PROTO_HEADER + PROTO_MAX_FRAME];
static uint8_t stream[16 * 4096];

/* Writes n bytes to dir/name; returns 0 or -1 with a message. */
static int put(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make_corpus: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  size_t off = 0;
  for (size_t t = 0; t < MSGDESC_COUNT; t++) {
    proto_msg m;
    msgdesc_fill(&m, msgdesc_table[t].type, pool, (unsigned)t);
    if (m.type == PROTO_FILE_DATA)
      m.u.file_data.data.n = 64; /* small seeds mutate faster */
    ssize_t n = proto_encode(&m, frame, sizeof frame);
    if (n <= 0) {
      fprintf(stderr, "make_corpus: %s: encode failed: %s\n",
              msgdesc_table[t].name, proto_strerror((int)n));
      return 1;
    }
    char name[64];
    snprintf(name, sizeof name, "%04x-%s", m.type, msgdesc_table[t].name);
    for (char *c = name; *c; c++)
      *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    if (put(dir, name, frame, (size_t)n) != 0)
      return 1;
    memcpy(stream + off, frame, (size_t)n);
    off += (size_t)n;
  }
  /* A whole session's worth of frames back to back, an unknown type in the
   * middle of a stream, and the two examples from PROTOCOL.md. */
  if (put(dir, "stream-all", stream, off) != 0)
    return 1;
  static const uint8_t unknown[] = {0,   0, 0, 5, 0x7f, 0x01, 'a',  'b',
                                    'c', 0, 0, 0, 10,   0x00, 0x04, 1,
                                    2,   3, 4, 5, 6,    7,    8};
  static const uint8_t hello[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
                                  0x01, 0x00, 0x0a, 'p',  'a',  'r',  'l',
                                  'e',  'y',  '/',  '0',  '.',  '1'};
  static const uint8_t say[] = {0x00, 0x00, 0x00, 0x14, 0x03, 0x01, 0x00, 0x00,
                                0x06, '#',  'l',  'o',  'b',  'b',  'y',  0x00,
                                0x00, 0x06, 'h',  0xc3, 0xa9, 'l',  'l',  'o'};
  if (put(dir, "stream-unknown", unknown, sizeof unknown) != 0 ||
      put(dir, "example-hello", hello, sizeof hello) != 0 ||
      put(dir, "example-say", say, sizeof say) != 0)
    return 1;
  return 0;
}
