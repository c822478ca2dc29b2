/* dorm_arena: a caller-owned region allocator.
 *
 * Every result libdorm hands back (items, strings, expression text) lives in
 * an arena the caller passes in; the caller frees it all with one
 * dorm_arena_free(), or rewinds it with dorm_arena_reset() to reuse the same
 * memory for the next request. A warm arena (one that has been reset after
 * a request of similar size) serves the next request without touching the
 * heap; an arena started on a caller buffer (dorm_arena_init_buffer, e.g. a
 * stack array) does no heap allocation at all until that buffer is full.
 *
 *   dorm_arena a = DORM_ARENA_INIT;
 *   char *s = dorm_arena_strdup(&a, "hello");
 *   ...
 *   dorm_arena_free(&a);
 *
 * Allocations are never freed one by one. An arena is not thread-safe; use one
 * per thread (or per request).
 */
#ifndef DORM_ARENA_H
#define DORM_ARENA_H

#include "dorm/export.h"

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dorm_arena_block;

/* Treat the fields as private; the struct is public only so that an arena can
 * live on the stack or inside another struct. */
typedef struct dorm_arena {
  char *ptr;                       /* next free byte in the current block */
  char *end;                       /* end of the current block */
  struct dorm_arena_block *first;  /* heap blocks, oldest first */
  struct dorm_arena_block *cur;    /* block ptr points into; NULL: in the caller buffer or empty */
  char *buf;                       /* caller buffer (dorm_arena_init_buffer), not owned */
  size_t buf_size;
  size_t block_size;               /* size of the next heap block; 0 means the default */
  size_t used;                     /* bytes handed out since init/reset (statistics) */
} dorm_arena;

/* Static initializer: an empty arena with the default block size (4 KiB,
 * doubling up to 1 MiB per block). Needs no dorm_arena_init(). */
#define DORM_ARENA_INIT {0, 0, 0, 0, 0, 0, 0, 0}

/* Initialises an empty arena whose first heap block will be block_size bytes
 * (0: the default). Nothing is allocated until the first allocation. */
DORM_API void dorm_arena_init(dorm_arena *a, size_t block_size);

/* Initialises an arena that first allocates from buf (borrowed; it must
 * outlive the arena and is never freed by it), then from the heap. */
DORM_API void dorm_arena_init_buffer(dorm_arena *a, void *buf, size_t size);

/* Returns size bytes aligned for any object type (max_align_t), or NULL when
 * the heap is exhausted or size overflows. size 0 returns a valid unique
 * pointer. The memory is uninitialised and lives until reset/free. */
DORM_API void *dorm_arena_alloc(dorm_arena *a, size_t size);

/* Like dorm_arena_alloc with an explicit alignment (a power of two, at most
 * 4096); NULL on a bad alignment. */
DORM_API void *dorm_arena_alloc_aligned(dorm_arena *a, size_t size, size_t align);

/* Zeroed storage for n objects of size bytes; NULL when n * size overflows or
 * memory is exhausted. */
DORM_API void *dorm_arena_calloc(dorm_arena *a, size_t n, size_t size);

/* Grows (or shrinks) an allocation made from this arena to new_size bytes,
 * keeping the first min(old_size, new_size) bytes. Extends in place when p is
 * the arena's most recent allocation and the block has room; otherwise copies.
 * p == NULL behaves like dorm_arena_alloc. NULL on failure (p stays valid). */
DORM_API void *dorm_arena_realloc(dorm_arena *a, void *p, size_t old_size, size_t new_size);

/* Copies of a NUL-terminated string, of the first n bytes of s (NUL added;
 * s need not be NUL-terminated but may stop early at a NUL for strndup), and of
 * n raw bytes. NULL when out of memory (or s is NULL for the string forms). */
DORM_API char *dorm_arena_strdup(dorm_arena *a, const char *s);
DORM_API char *dorm_arena_strndup(dorm_arena *a, const char *s, size_t n);
DORM_API void *dorm_arena_memdup(dorm_arena *a, const void *p, size_t n);

/* printf into the arena. NULL on an encoding error or when out of memory. */
DORM_API char *dorm_arena_printf(dorm_arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
DORM_API char *dorm_arena_vprintf(dorm_arena *a, const char *fmt, va_list ap);

/* Makes every allocation invalid and rewinds the arena for reuse. Heap blocks
 * are kept; when more than one was used they are merged into one block of
 * their total size (if that allocation fails the old blocks are kept), so the
 * next request of the same size fits in one block. */
DORM_API void dorm_arena_reset(dorm_arena *a);

/* Frees every heap block and leaves the arena empty and reusable (as after
 * dorm_arena_init with the same block size / buffer). Safe on a zeroed arena
 * and when called twice. */
DORM_API void dorm_arena_free(dorm_arena *a);

/* Bytes handed out since the last init/reset (including alignment padding). */
DORM_API size_t dorm_arena_used(const dorm_arena *a);

/* Bytes of heap the arena holds (block headers included). */
DORM_API size_t dorm_arena_heap_bytes(const dorm_arena *a);

#ifdef __cplusplus
}
#endif
#endif
