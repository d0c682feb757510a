/* fileio.c: shared blocking file steps of transfers (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

int fileio_pwrite(int fd, const uint8_t *buf, size_t n, uint64_t off) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = pwrite(fd, buf + put, n - put, (off_t)(off + put));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return w == 0 ? ENOSPC : errno;
    put += (size_t)w;
  }
  return 0;
}

int fileio_hash_prefix(int fd, EVP_MD_CTX *md, uint8_t *buf, size_t cap,
                       uint64_t n) {
  uint64_t at = 0;
  while (at < n) {
    size_t want = n - at < cap ? (size_t)(n - at) : cap;
    ssize_t r = pread(fd, buf, want, (off_t)at);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return r == 0 ? EIO : errno;
    EVP_DigestUpdate(md, buf, (size_t)r);
    at += (uint64_t)r;
  }
  return 0;
}

void fileio_size_text(char *dst, size_t cap, uint64_t n) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int i = 0;
  while (v >= 1024 && i < 4)
    v /= 1024, i++;
  if (i == 0)
    snprintf(dst, cap, "%" PRIu64 " B", n);
  else
    snprintf(dst, cap, "%.1f %s", v, u[i]);
}
