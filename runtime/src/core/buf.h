/* buf: the growable text buffer of every layer (request and response bodies,
 * signing strings, migration files, key text, canonical JSON).
 *
 * A dorm__buf owns the heap memory at p, or starts in storage the caller
 * lends it (dorm__buf_init_storage) and moves to the heap when it outgrows
 * it. The text is NUL-terminated after every successful append. It has an
 * upper bound, max: an append that would make len exceed it sets the sticky
 * overflow flag; an allocation that fails sets the sticky oom flag. After
 * either, appends do nothing and return false, and what was appended before
 * stays, so a caller appends a whole text and checks once (dorm__buf_ok).
 * A hot path may instead reserve room (dorm__buf_reserve) and write at
 * p + len itself; it then keeps len, and the NUL when it needs one.
 *
 * Start one with dorm__buf_init or DORM__BUF_INIT (no bound); nothing is
 * allocated before the first append. (A zeroed one is bounded at 0 bytes:
 * every non-empty append overflows.) Growth doubles from 1 KiB and never
 * holds more than the bound allows.
 */
#ifndef DORM_BUF_H
#define DORM_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hot.h"

#include "dorm/arena.h"

/* The bound of a buffer without one (more than can ever be allocated). */
#define DORM__BUF_UNBOUNDED (SIZE_MAX / 2)

typedef struct dorm__buf {
  char *p;          /* the text; NULL until something is appended (unless lent) */
  size_t len;       /* bytes of text, the NUL not counted */
  size_t cap;       /* bytes at p */
  size_t max;       /* bound on len */
  bool oom;         /* sticky: an allocation failed */
  bool overflow;    /* sticky: an append would have passed max */
  bool lent;        /* p is the caller's storage, never freed here */
  size_t oom_bytes; /* after oom: the allocation that failed (for messages) */
} dorm__buf;

/* An empty buffer without a bound, as an initialiser. */
#define DORM__BUF_INIT {.max = DORM__BUF_UNBOUNDED}

/* An empty buffer bounded at max bytes of text (DORM__BUF_UNBOUNDED: none).
 * Allocates nothing. */
void dorm__buf_init(dorm__buf *b, size_t max);

/* An empty buffer that writes into storage[0..size) (size >= 1) until the
 * text needs more, then copies it to the heap. storage is borrowed: it must
 * outlive b and b must not be copied by value while it uses it. */
void dorm__buf_init_storage(dorm__buf *b, char *storage, size_t size, size_t max);

/* Makes room for n more bytes plus the NUL. False, with overflow or oom set,
 * when that would pass the bound or memory runs out, and after any earlier
 * failure. */
bool dorm__buf_grow(dorm__buf *b, size_t n);
static inline bool dorm__buf_reserve(dorm__buf *b, size_t n) {
  if (b->oom || b->overflow) return false;
  return b->cap - b->len > n || dorm__buf_grow(b, n);
}

/* Appends bytes / a C string / one byte / printf output. True when appended;
 * false (and nothing appended) after a failure, now or earlier. */
bool dorm__buf_put(dorm__buf *b, const void *s, size_t n);
bool dorm__buf_puts(dorm__buf *b, const char *s);
bool dorm__buf_putc(dorm__buf *b, char c);
bool dorm__buf_printf(dorm__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
bool dorm__buf_vprintf(dorm__buf *b, const char *fmt, va_list ap);

/* Whether every append so far succeeded. */
static inline bool dorm__buf_ok(const dorm__buf *b) { return !b->oom && !b->overflow; }

/* The text so far, "" when nothing was appended. Borrowed: valid until the
 * next append, reset or free. */
static inline const char *dorm__buf_text(const dorm__buf *b) { return b->p && b->cap ? b->p : ""; }

/* Empties the buffer and clears its failure; keeps its memory and bound.
 * Inline: the transport and the writer reset theirs every request. */
static inline void dorm__buf_reset(dorm__buf *b) {
  b->len = 0;
  b->oom = b->overflow = false;
  if (b->cap) b->p[0] = '\0';
}

/* Hands the text over as a malloc'd string (the caller frees it; "" when
 * nothing was appended). NULL after a failure, or when out of memory. Either
 * way b is left empty, as after dorm__buf_free. */
char *dorm__buf_take(dorm__buf *b);

/* Copies the text into the arena (NULL after a failure or when the arena is
 * out of memory), then frees b. */
const char *dorm__buf_to_arena(dorm__buf *b, dorm_arena *a);

/* Frees the heap memory; b is then empty and may be used again, with the
 * same bound and no lent storage. */
void dorm__buf_free(dorm__buf *b);

/* dorm__buf_free for text that held secrets: the bytes are wiped first. */
void dorm__buf_wipe(dorm__buf *b);

#endif
