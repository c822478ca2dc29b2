/* Region allocator: bump allocation inside a caller buffer, then inside a
 * chain of heap blocks that grow geometrically (so a big request needs only a
 * logarithmic number of mallocs) and that reset() keeps for the next request. */
#include "dorm/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

#define ARENA_DEFAULT_BLOCK 4096u
#define ARENA_MAX_GROW_BLOCK (1u << 20)
#define ARENA_MAX_ALIGN 4096u
#define ARENA_BASE_ALIGN _Alignof(max_align_t)

struct dorm_arena_block {
  struct dorm_arena_block *next;
  size_t size; /* usable bytes after the header */
};

/* The header padded so that block data keeps malloc's max_align_t alignment. */
#define BLOCK_HDR ((sizeof(struct dorm_arena_block) + ARENA_BASE_ALIGN - 1) & ~(size_t)(ARENA_BASE_ALIGN - 1))

static char *block_data(struct dorm_arena_block *b) { return (char *)b + BLOCK_HDR; }

void dorm_arena_init(dorm_arena *a, size_t block_size) {
  memset(a, 0, sizeof *a);
  a->block_size = block_size;
}

void dorm_arena_init_buffer(dorm_arena *a, void *buf, size_t size) {
  memset(a, 0, sizeof *a);
  if (buf && size) {
    a->buf = buf;
    a->buf_size = size;
    a->ptr = buf;
    a->end = (char *)buf + size;
  }
}

/* Pads p up to align; returns NULL when the padded request does not fit before end. */
static char *fit(char *p, char *end, size_t size, size_t align) {
  if (!p) return NULL;
  uintptr_t u = (uintptr_t)p;
  uintptr_t aligned = (u + (align - 1)) & ~(uintptr_t)(align - 1);
  if (aligned < u || aligned > (uintptr_t)end) return NULL;
  if ((uintptr_t)end - aligned < size) return NULL;
  return (char *)aligned;
}

static size_t next_block_size(const dorm_arena *a, size_t need) {
  size_t base = a->block_size ? a->block_size : ARENA_DEFAULT_BLOCK;
  size_t held = 0;
  for (const struct dorm_arena_block *b = a->first; b; b = b->next) held += b->size;
  /* Doubling what we hold keeps the block count logarithmic in the peak size. */
  size_t size = held > base ? held : base;
  if (size > ARENA_MAX_GROW_BLOCK && base <= ARENA_MAX_GROW_BLOCK) size = ARENA_MAX_GROW_BLOCK;
  if (size < need) size = need;
  return size;
}

static void *alloc_slow(dorm_arena *a, size_t size, size_t align) {
  /* Reuse kept blocks after the current one before going to the heap. */
  struct dorm_arena_block *b = a->cur ? a->cur->next : a->first;
  struct dorm_arena_block *last = a->cur;
  for (; b; last = b, b = b->next) {
    char *p = fit(block_data(b), block_data(b) + b->size, size, align);
    if (p) {
      a->cur = b;
      a->end = block_data(b) + b->size;
      a->ptr = p + size;
      a->used += (size_t)(a->ptr - block_data(b));
      return p;
    }
  }
  /* Room for the worst-case padding when the alignment exceeds malloc's. */
  size_t pad = align > ARENA_BASE_ALIGN ? align - 1 : 0;
  if (size > SIZE_MAX - pad - BLOCK_HDR) return NULL;
  size_t bsize = next_block_size(a, size + pad);
  if (bsize > SIZE_MAX - BLOCK_HDR) return NULL;
  struct dorm_arena_block *nb = malloc(BLOCK_HDR + bsize);
  if (!nb) return NULL;
  nb->next = NULL;
  nb->size = bsize;
  if (last) {
    while (last->next) last = last->next;
    last->next = nb;
  } else if (a->first) {
    struct dorm_arena_block *t = a->first;
    while (t->next) t = t->next;
    t->next = nb;
  } else {
    a->first = nb;
  }
  char *p = fit(block_data(nb), block_data(nb) + bsize, size, align);
  a->cur = nb;
  a->end = block_data(nb) + bsize;
  a->ptr = p + size;
  a->used += (size_t)(a->ptr - block_data(nb));
  return p;
}

DORM__HOT
void *dorm_arena_alloc_aligned(dorm_arena *a, size_t size, size_t align) {
  if (!a || align == 0 || (align & (align - 1)) != 0 || align > ARENA_MAX_ALIGN) return NULL;
  /* No object may exceed PTRDIFF_MAX; refusing here also keeps absurd sizes
   * (wrapped arithmetic in a caller) away from malloc. */
  if (size > (size_t)PTRDIFF_MAX - BLOCK_HDR - ARENA_MAX_ALIGN) return NULL;
  if (size == 0) size = 1;
  char *p = fit(a->ptr, a->end, size, align);
  if (p) {
    a->used += (size_t)(p + size - a->ptr);
    a->ptr = p + size;
    return p;
  }
  return alloc_slow(a, size, align);
}

DORM__HOT
void *dorm_arena_alloc(dorm_arena *a, size_t size) {
  return dorm_arena_alloc_aligned(a, size, ARENA_BASE_ALIGN);
}

void *dorm_arena_calloc(dorm_arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = dorm_arena_alloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *dorm_arena_realloc(dorm_arena *a, void *p, size_t old_size, size_t new_size) {
  if (!p) return dorm_arena_alloc(a, new_size);
  char *c = p;
  if (old_size == 0) old_size = 1; /* alloc(0) handed out one byte */
  if (c + old_size == a->ptr && new_size > 0 && (size_t)(a->end - c) >= new_size) {
    a->used = a->used - old_size + new_size;
    a->ptr = c + new_size;
    return p;
  }
  if (new_size <= old_size) return p;
  void *np = dorm_arena_alloc(a, new_size);
  if (np) memcpy(np, p, old_size);
  return np;
}

void *dorm_arena_memdup(dorm_arena *a, const void *p, size_t n) {
  void *d = dorm_arena_alloc_aligned(a, n, 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

char *dorm_arena_strndup(dorm_arena *a, const char *s, size_t n) {
  if (!s) return NULL;
  const char *nul = memchr(s, '\0', n);
  if (nul) n = (size_t)(nul - s);
  if (n == SIZE_MAX) return NULL;
  char *d = dorm_arena_alloc_aligned(a, n + 1, 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *dorm_arena_strdup(dorm_arena *a, const char *s) {
  if (!s) return NULL;
  return dorm_arena_strndup(a, s, strlen(s));
}

char *dorm_arena_vprintf(dorm_arena *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return NULL;
  char *d = dorm_arena_alloc_aligned(a, (size_t)n + 1, 1);
  if (!d) return NULL;
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  return d;
}

char *dorm_arena_printf(dorm_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *d = dorm_arena_vprintf(a, fmt, ap);
  va_end(ap);
  return d;
}

DORM__HOT
void dorm_arena_reset(dorm_arena *a) {
  if (!a) return;
  if (a->first && a->first->next) {
    size_t total = 0;
    int overflow = 0;
    for (struct dorm_arena_block *b = a->first; b; b = b->next) {
      if (total > SIZE_MAX - BLOCK_HDR - b->size) overflow = 1;
      total += b->size;
    }
    struct dorm_arena_block *merged = overflow ? NULL : malloc(BLOCK_HDR + total);
    if (merged) {
      for (struct dorm_arena_block *b = a->first, *n; b; b = n) {
        n = b->next;
        free(b);
      }
      merged->next = NULL;
      merged->size = total;
      a->first = merged;
    }
  }
  a->cur = NULL;
  a->used = 0;
  if (a->buf) {
    a->ptr = a->buf;
    a->end = a->buf + a->buf_size;
  } else {
    a->ptr = a->end = NULL;
  }
}

void dorm_arena_free(dorm_arena *a) {
  if (!a) return;
  for (struct dorm_arena_block *b = a->first, *n; b; b = n) {
    n = b->next;
    free(b);
  }
  a->first = NULL;
  dorm_arena_reset(a);
}

size_t dorm_arena_used(const dorm_arena *a) { return a ? a->used : 0; }

size_t dorm_arena_heap_bytes(const dorm_arena *a) {
  size_t n = 0;
  if (!a) return 0;
  for (const struct dorm_arena_block *b = a->first; b; b = b->next) n += BLOCK_HDR + b->size;
  return n;
}
