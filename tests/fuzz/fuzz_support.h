/* What the runtime's fuzz targets share: exact-size copies of the input
 * (so AddressSanitizer sees a read one byte past the end), a property check
 * that aborts (libFuzzer then saves the input as a crash), and structural
 * comparisons of dorm_av values. */
#ifndef DORM_FUZZ_SUPPORT_H
#define DORM_FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dorm/av.h"

/* Aborts with the place and a message when cond is false. */
#define FUZZ_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "\n%s:%d: fuzz property violated: %s\n  ", __FILE__, __LINE__, #cond);   \
      fprintf(stderr, __VA_ARGS__);                                                            \
      fputc('\n', stderr);                                                                     \
      abort();                                                                                 \
    }                                                                                          \
  } while (0)

/* The input in exactly size bytes, NOT NUL-terminated, followed by an
 * inaccessible page, so that reading past the end faults even in code
 * AddressSanitizer does not instrument (the system's cJSON). Release it
 * with fuzz_exact_free(). Never NULL (aborts when out of memory). */
char *fuzz_exact_copy(const uint8_t *data, size_t size);
void fuzz_exact_free(char *p);

/* The input with a NUL after it (size + 1 bytes; free() it). */
char *fuzz_cstr_copy(const uint8_t *data, size_t size);

/* Nesting of containers (L and M) in v: 0 for a scalar or set, 1 for an
 * L/M of scalars. For an item (item true), the deepest of its values. */
size_t fuzz_av_depth(const dorm_av *v, bool item);

/* False when v holds what the writer refuses although a reader accepts it
 * (DynamoDB never sends it): an attribute name that is empty or of 64 KB or
 * more, or a set holding one element twice (NS by value). */
bool fuzz_av_writable(const dorm_av *v);

/* Exactly the same value: same types, same bytes, same order of list and
 * set elements and of map entries. */
bool fuzz_av_same(const dorm_av *a, const dorm_av *b);

/* A short printable rendering of bytes for messages (static buffer). */
const char *fuzz_show(const char *s, size_t len);

#endif
