/* The growable text buffer (buf.h). */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define BUF_FIRST_CAP 1024

void dorm__buf_init(dorm__buf *b, size_t max) {
  memset(b, 0, sizeof *b);
  b->max = max < DORM__BUF_UNBOUNDED ? max : DORM__BUF_UNBOUNDED;
}

void dorm__buf_init_storage(dorm__buf *b, char *storage, size_t size, size_t max) {
  dorm__buf_init(b, max);
  b->p = storage;
  b->cap = size;
  b->lent = true;
  storage[0] = '\0';
}

bool dorm__buf_grow(dorm__buf *b, size_t n) {
  if (b->oom || b->overflow) return false;
  if (b->cap - b->len > n) return true;
  if (n > b->max || b->len > b->max - n) {
    b->overflow = true;
    return false;
  }
  size_t need = b->len + n + 1; /* + the NUL */
  size_t cap = b->cap ? b->cap : BUF_FIRST_CAP;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > b->max + 1) cap = b->max + 1; /* need <= max + 1 here */
  char *p = b->lent ? malloc(cap) : realloc(b->p, cap);
  if (!p) {
    b->oom = true;
    b->oom_bytes = cap;
    return false;
  }
  if (b->lent) {
    memcpy(p, b->p, b->len);
    p[b->len] = '\0';
    b->lent = false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

DORM__HOT
bool dorm__buf_put(dorm__buf *b, const void *s, size_t n) {
  if (!dorm__buf_reserve(b, n)) return false;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return true;
}

bool dorm__buf_puts(dorm__buf *b, const char *s) { return dorm__buf_put(b, s, strlen(s)); }

bool dorm__buf_putc(dorm__buf *b, char c) { return dorm__buf_put(b, &c, 1); }

bool dorm__buf_vprintf(dorm__buf *b, const char *fmt, va_list ap) {
  if (!dorm__buf_ok(b)) return false;
  va_list again;
  va_copy(again, ap);
  /* Straight into the free space when it fits; otherwise grow and again. */
  size_t room = b->cap > b->len ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
  bool ok = n >= 0;
  if (!ok) {
    b->oom = true; /* an encoding error: nothing sensible to append */
    b->oom_bytes = 0;
  } else if ((size_t)n < room) {
    b->len += (size_t)n;
  } else if ((ok = dorm__buf_reserve(b, (size_t)n))) {
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
  } else if (room) {
    b->p[b->len] = '\0'; /* what vsnprintf wrote past the text is not text */
  }
  va_end(again);
  return ok;
}

bool dorm__buf_printf(dorm__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bool ok = dorm__buf_vprintf(b, fmt, ap);
  va_end(ap);
  return ok;
}

char *dorm__buf_take(dorm__buf *b) {
  char *out = NULL;
  if (dorm__buf_ok(b)) {
    if (b->lent || !b->p) out = b->p ? strdup(b->p) : strdup("");
    else out = b->p, b->p = NULL;
  }
  dorm__buf_free(b);
  return out;
}

const char *dorm__buf_to_arena(dorm__buf *b, dorm_arena *a) {
  const char *out = dorm__buf_ok(b) ? dorm_arena_strndup(a, dorm__buf_text(b), b->len) : NULL;
  dorm__buf_free(b);
  return out;
}

void dorm__buf_free(dorm__buf *b) {
  if (!b->lent) free(b->p);
  size_t max = b->max;
  dorm__buf_init(b, max);
}

void dorm__buf_wipe(dorm__buf *b) {
  if (b->p && b->cap) OPENSSL_cleanse(b->p, b->cap);
  dorm__buf_free(b);
}
