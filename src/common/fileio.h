/* fileio.h: the blocking file steps every transfer shares, for jobs in the
 * thread pool (never on the loop): writing a piece at an offset, hashing a
 * prefix of a file, and the size text the users read. Used by the client's
 * transfers (client_xfer.c) and parleyd's shared folder (folderxfer.c,
 * folderstore.c), so that both sides store and verify files alike. */
#ifndef PARLEY_FILEIO_H
#define PARLEY_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Writes n bytes of buf at offset off of fd, retrying short writes and
 * EINTR. Returns 0 or an errno (ENOSPC when a write stores nothing). */
int fileio_pwrite(int fd, const uint8_t *buf, size_t n, uint64_t off);

/* Feeds the first n bytes of fd to md, reading through buf (cap bytes).
 * Returns 0 or an errno (EIO when the file is shorter than n). */
int fileio_hash_prefix(int fd, EVP_MD_CTX *md, uint8_t *buf, size_t cap,
                       uint64_t n);

/* "512 B", "12.3 MiB": n bytes for people. */
void fileio_size_text(char *dst, size_t cap, uint64_t n);

#endif
