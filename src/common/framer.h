/* framer.h: cuts a byte stream into whole length-prefixed frames.
 *
 * The wire's framing (proto/PROTOCOL.md): a 4-byte big-endian length, then
 * that many bytes. The framer knows nothing else of the protocol and never
 * touches a socket: it takes the bytes a read produced and hands back whole
 * frames, pointing into those bytes where a frame arrived in one piece and
 * into its own buffer where a frame was split across reads. That buffer
 * exists only while a frame is incomplete, so an idle connection holds one
 * NULL pointer. Shared by parleyd, the client core and the test doubles. */
#ifndef PARLEY_FRAMER_H
#define PARLEY_FRAMER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FRAMER_HEADER 4 /* the u32 length prefix */

struct framer_part;

typedef struct framer {
  struct framer_part *part; /* the frame being assembled; NULL when none */
} framer;

/* Takes the next whole frame (prefix included) from *in / *inlen, advancing
 * them. Returns its length with *frame set, 0 when the input is used up (an
 * incomplete tail is kept for the next call), -PERR_FRAME_TOO_BIG for a
 * length prefix over max, or -PERR_INTERNAL when out of memory. */
ssize_t framer_next(framer *f, const uint8_t **in, size_t *inlen, uint32_t max,
                    const uint8_t **frame);

/* Bytes held for an incomplete frame (0 when none). */
size_t framer_pending(const framer *f);

/* Frees the partial frame, if any; the framer is then empty. */
void framer_reset(framer *f);

#endif
