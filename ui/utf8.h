/* utf8.h: UTF-8 stepping and display-width measurement for the views.
 *
 * Pure functions over byte strings; invalid bytes are treated as one
 * column-wide replacement characters so that hostile text can never make a
 * view loop or misalign. Widths come from wcwidth(3), so the caller must
 * have set an UTF-8 LC_CTYPE (tui_main does). */
#ifndef PARLEY_UI_UTF8_H
#define PARLEY_UI_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decodes the code point at s[0..n). Returns the bytes it uses (1..4, or 0
 * when n == 0); an invalid or truncated sequence gives UTF8_REPLACEMENT and
 * 1 byte. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encodes cp into out (4 bytes of room). Returns the bytes written, 0 for a
 * surrogate or a value past U+10FFFF. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* Returns the offset of the code point that ends at off (off > 0), stepping
 * over continuation bytes but never more than 3 of them. */
size_t utf8_prev(const char *s, size_t off);

/* Returns the display width of one code point: 0 for combining marks and
 * other zero-width characters, 2 for wide (CJK, emoji), 1 otherwise; control
 * and unprintable characters count 1 because the views show them as '?',
 * and so do the hidden formatting characters; joiners and the variation
 * selectors VS15/VS16 count 0 (utf8_display leaves them out). */
int utf8_cpwidth(uint32_t cp);

/* True for bidi controls and invisible formatting characters (the hidden
 * set of PROTOCOL.md 4.2): drawn as '?' and counted one column. */
int utf8_is_hidden(uint32_t cp);

/* True for the joiners ZWJ and ZWNJ: left out when drawn, zero columns. */
int utf8_is_joiner(uint32_t cp);

/* Writes the form in which the views draw s[0..n) to out (cap bytes with
 * the NUL): controls, unprintable, invalid and hidden characters as '?',
 * joiners and variation selectors left out, so that utf8_width() of s is the
 * width of out. Returns the bytes written; *consumed (may be NULL) gets the
 * input bytes used (less than n when out was full). */
size_t utf8_display(const char *s, size_t n, char *out, size_t cap,
                    size_t *consumed);

/* True when the code point is drawn as '?' (controls, unprintables). */
int utf8_is_unprintable(uint32_t cp);

/* Returns the display width of s[0..n) in columns. */
int utf8_width(const char *s, size_t n);

/* Returns the number of code points in s[0..n). */
size_t utf8_count(const char *s, size_t n);

/* Returns the byte length of the longest prefix of s[0..n) that fits in
 * cols columns (never splitting a character; zero-width marks that follow
 * a kept character are kept with it). *used gets the columns it takes. */
size_t utf8_fit(const char *s, size_t n, int cols, int *used);

#endif
