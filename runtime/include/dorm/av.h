/* dorm_av: DynamoDB AttributeValues.
 *
 * A dorm_av is a small transparent tagged union (like cJSON's public struct):
 * generated code and callers may read and fill the fields directly. Strings,
 * numbers and bytes are (pointer, length) views; lists, maps and sets are
 * arrays. An item is an M: an ordered array of (name, value) entries, written
 * to JSON in that order so that the same item always gives the same bytes.
 *
 * Ownership: the inline constructors (dorm_av_str, dorm_av_num, ...) borrow
 * the bytes they are given; those must outlive every use of the value. The
 * builders that take a dorm_arena (dorm_av_map_add, dorm_av_list_push,
 * dorm_av_set_add, the *_copy and number formatters) allocate arrays and
 * copies from that arena; everything returned by the JSON reader lives in the
 * arena passed to it. Nothing here is freed individually.
 *
 * N values are decimal text, kept exactly as given (DynamoDB numbers have 38
 * significant digits, more than int64 or double hold); they are validated when
 * written to JSON or with dorm_number_check().
 */
#ifndef DORM_AV_H
#define DORM_AV_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dorm/arena.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dorm_av_type {
  DORM_AV_INVALID = 0, /* a zeroed dorm_av; never valid on the wire */
  DORM_AV_S = 1,
  DORM_AV_N = 2,
  DORM_AV_B = 3,
  DORM_AV_BOOL = 4,
  DORM_AV_NULL = 5,
  DORM_AV_SS = 6,
  DORM_AV_NS = 7,
  DORM_AV_BS = 8,
  DORM_AV_L = 9,
  DORM_AV_M = 10
} dorm_av_type;

/* A byte string: not NUL-terminated in general (values from the JSON reader
 * and the *_copy builders are, as a convenience). */
typedef struct dorm_str {
  const char *ptr;
  size_t len;
} dorm_str;

typedef struct dorm_av dorm_av;
typedef struct dorm_av_entry dorm_av_entry;

struct dorm_av {
  dorm_av_type type;
  union {
    dorm_str s;      /* S (UTF-8 text), N (decimal text), B (raw bytes) */
    bool boolean;    /* BOOL; NULL carries no data */
    struct {         /* SS, NS (decimal text), BS (raw bytes) */
      dorm_str *items;
      size_t count, cap;
    } set;
    struct {         /* L */
      dorm_av *items;
      size_t count, cap;
    } list;
    struct {         /* M (and items); entries in insertion order */
      dorm_av_entry *items;
      size_t count, cap;
    } map;
  } u;
};

struct dorm_av_entry {
  dorm_str name;
  dorm_av value;
};

/* The DynamoDB type key ("S", "NS", "BOOL", ...); "?" for an invalid type. */
DORM_API const char *dorm_av_type_name(dorm_av_type type);

/* ---- constructors (inline, borrow their arguments, never fail) ---- */

static inline dorm_str dorm_str_of(const char *s) {
  dorm_str r = {s, s ? strlen(s) : 0};
  return r;
}
static inline dorm_str dorm_strn(const char *s, size_t len) {
  dorm_str r = {s, len};
  return r;
}
static inline dorm_av dorm_av_strn(const char *s, size_t len) {
  dorm_av v;
  memset(&v, 0, sizeof v);
  v.type = DORM_AV_S;
  v.u.s.ptr = s;
  v.u.s.len = len;
  return v;
}
/* S from a NUL-terminated string. */
static inline dorm_av dorm_av_str(const char *s) { return dorm_av_strn(s, s ? strlen(s) : 0); }
/* N from decimal text (validated when written). */
static inline dorm_av dorm_av_numn(const char *text, size_t len) {
  dorm_av v = dorm_av_strn(text, len);
  v.type = DORM_AV_N;
  return v;
}
static inline dorm_av dorm_av_num(const char *text) { return dorm_av_numn(text, text ? strlen(text) : 0); }
static inline dorm_av dorm_av_bytes(const void *data, size_t len) {
  dorm_av v = dorm_av_strn((const char *)data, len);
  v.type = DORM_AV_B;
  return v;
}
static inline dorm_av dorm_av_bool(bool b) {
  dorm_av v;
  memset(&v, 0, sizeof v);
  v.type = DORM_AV_BOOL;
  v.u.boolean = b;
  return v;
}
static inline dorm_av dorm_av_null(void) {
  dorm_av v;
  memset(&v, 0, sizeof v);
  v.type = DORM_AV_NULL;
  return v;
}
/* An empty container of the given type (SS/NS/BS/L/M) to fill with the
 * builders below, e.g. dorm_av item = dorm_av_empty(DORM_AV_M). */
static inline dorm_av dorm_av_empty(dorm_av_type container) {
  dorm_av v;
  memset(&v, 0, sizeof v);
  v.type = container;
  return v;
}

/* ---- builders (allocate from the arena) ---- */

/* S / B copies of the bytes into the arena (S copies are NUL-terminated).
 * DORM_ERR_NO_MEMORY on allocation failure (*out untouched). */
DORM_API dorm_status dorm_av_str_copy(dorm_arena *a, const char *s, size_t len, dorm_av *out);
DORM_API dorm_status dorm_av_bytes_copy(dorm_arena *a, const void *data, size_t len, dorm_av *out);

/* N from a C number, formatted into the arena. dorm_av_num_double fails with
 * DORM_ERR_INVALID_ARGUMENT for NaN/infinity (DynamoDB cannot store them)
 * and gives the shortest text that reads back as the same double. */
DORM_API dorm_status dorm_av_num_i64(dorm_arena *a, int64_t v, dorm_av *out);
DORM_API dorm_status dorm_av_num_u64(dorm_arena *a, uint64_t v, dorm_av *out);
DORM_API dorm_status dorm_av_num_double(dorm_arena *a, double v, dorm_av *out);

/* Reserves room for n more elements in an L, M or set (so that the
 * following adds do not reallocate). DORM_ERR_INVALID_ARGUMENT for a
 * non-container, DORM_ERR_NO_MEMORY when the arena fails. */
DORM_API dorm_status dorm_av_reserve(dorm_arena *a, dorm_av *container, size_t n);

/* Appends an entry named name[0..len) (borrowed) to the M map and returns its
 * value slot (type DORM_AV_INVALID until filled), or NULL when map is not an
 * M or memory runs out. Does not look for an existing entry of the same
 * name; use dorm_av_map_set for that (a map naming a member twice, at any
 * depth of an item or key, is refused by the operations before sending). */
DORM_API dorm_av *dorm_av_map_add(dorm_arena *a, dorm_av *map, const char *name, size_t len);

/* Stores value under name (both borrowed): replaces the value of an existing
 * entry with that name, else appends. DORM_ERR_INVALID_ARGUMENT when map is
 * not an M, DORM_ERR_NO_MEMORY. */
DORM_API dorm_status dorm_av_map_set(dorm_arena *a, dorm_av *map, const char *name, dorm_av value);

/* Appends to an L and returns the new slot (DORM_AV_INVALID until filled),
 * or NULL when list is not an L or memory runs out. */
DORM_API dorm_av *dorm_av_list_push(dorm_arena *a, dorm_av *list);

/* Appends an element (borrowed bytes) to an SS, NS or BS. Duplicates are
 * not checked here (DynamoDB rejects them). DORM_ERR_INVALID_ARGUMENT when
 * set is not a set type, DORM_ERR_NO_MEMORY. */
DORM_API dorm_status dorm_av_set_add(dorm_arena *a, dorm_av *set, const char *data, size_t len);

/* Deep copy of src into the arena (all strings, bytes and arrays), so that
 * the copy no longer borrows anything. */
DORM_API dorm_status dorm_av_copy(dorm_arena *a, const dorm_av *src, dorm_av *out);

/* ---- readers ---- */

/* The value stored under name in the M map (first match), or NULL when the
 * map has no such entry or map is NULL or not an M. Linear in the entries. */
DORM_API const dorm_av *dorm_av_map_getn(const dorm_av *map, const char *name, size_t len);
static inline const dorm_av *dorm_av_map_get(const dorm_av *map, const char *name) {
  return dorm_av_map_getn(map, name, name ? strlen(name) : 0);
}

/* Typed getters. Each returns DORM_OK and fills *out, DORM_ERR_NOT_FOUND when
 * av is NULL (so that dorm_av_get_s(dorm_av_map_get(item, "x"), &s) tells a
 * missing attribute from a wrong one), DORM_ERR_SCHEMA_MISMATCH when the
 * value has another type or does not fit the C type (get_i64 of "1.5" or
 * "1E30"). Pointers in *out borrow from av. */
DORM_API dorm_status dorm_av_get_s(const dorm_av *av, dorm_str *out);
DORM_API dorm_status dorm_av_get_n(const dorm_av *av, dorm_str *out);     /* the decimal text */
DORM_API dorm_status dorm_av_get_b(const dorm_av *av, dorm_str *out);
DORM_API dorm_status dorm_av_get_bool(const dorm_av *av, bool *out);
DORM_API dorm_status dorm_av_get_null(const dorm_av *av);                 /* DORM_OK when NULL type */
DORM_API dorm_status dorm_av_get_i64(const dorm_av *av, int64_t *out);
DORM_API dorm_status dorm_av_get_u64(const dorm_av *av, uint64_t *out);
DORM_API dorm_status dorm_av_get_double(const dorm_av *av, double *out);  /* nearest double */
/* SS, NS, BS elements: *items borrows the set's array. */
DORM_API dorm_status dorm_av_get_set(const dorm_av *av, dorm_av_type set_type, const dorm_str **items, size_t *count);
DORM_API dorm_status dorm_av_get_list(const dorm_av *av, const dorm_av **items, size_t *count);
DORM_API dorm_status dorm_av_get_map(const dorm_av *av, const dorm_av_entry **entries, size_t *count);

/* Structural equality: same type and contents (map entries compared by name,
 * in any order; set elements in any order, each side's found in the other;
 * numbers compared as text after dorm_number_equal's normalisation). */
DORM_API bool dorm_av_equal(const dorm_av *a, const dorm_av *b);

/* ---- numbers ---- */

/* DORM_OK when text[0..len) is a valid DynamoDB number, else
 * DORM_ERR_INVALID_ARGUMENT with the reason in errbuf (may be NULL). */
DORM_API dorm_status dorm_number_check(const char *text, size_t len, char *errbuf, size_t errcap);

/* True when both are valid numbers of equal value ("1.50" == "15E-1"). */
DORM_API bool dorm_number_equal(const char *a, size_t alen, const char *b, size_t blen);

/* ---- size and JSON ---- */

/* DynamoDB's size of an item (an M): for each attribute the UTF-8 bytes of
 * its name plus its value's size, as AWS defines it (strings: bytes; numbers:
 * as DynamoDB stores them: 1 + base-100 digit pairs aligned on the decimal
 * point + 1 if negative, at most 21, zero 1; binary: raw bytes; BOOL/NULL: 1;
 * L/M: 3 + per element 1 + element (+ name for M); sets: sum of elements).
 * DORM_ERR_INVALID_ARGUMENT when item is not an M. */
DORM_API dorm_status dorm_item_size(const dorm_av *item, size_t *out);

/* The largest item DynamoDB stores (400 KB). */
#define DORM_ITEM_MAX_BYTES ((size_t)400 * 1024)

/* Writes av as DynamoDB JSON ({"S":"..."}) into the arena as a NUL-terminated
 * string. Fails with DORM_ERR_INVALID_ARGUMENT (message naming the path in
 * errbuf) on invalid UTF-8, invalid numbers, empty sets, invalid types or
 * nesting deeper than 32, DORM_ERR_TOO_LARGE when the text would exceed
 * max_bytes (0: 16 MiB), DORM_ERR_NO_MEMORY. */
DORM_API dorm_status dorm_av_to_json(const dorm_av *av, dorm_arena *a, size_t max_bytes,
                            const char **json, size_t *len, char *errbuf, size_t errcap);
/* Same for an item (M), written as {"name":{"S":"..."},...} without the
 * {"M":...} wrapper, as DynamoDB's Item members are. */
DORM_API dorm_status dorm_item_to_json(const dorm_av *item, dorm_arena *a, size_t max_bytes,
                              const char **json, size_t *len, char *errbuf, size_t errcap);

/* Parses DynamoDB JSON text (one AttributeValue, or an item object) into the
 * arena. json need not be NUL-terminated. DORM_ERR_BAD_RESPONSE with a
 * message naming the path on malformed JSON or a wrong shape ({"S":1},
 * {"N":"abc"}, unknown or multiple type keys, bad base64, invalid UTF-8),
 * DORM_ERR_NO_MEMORY. */
DORM_API dorm_status dorm_av_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out,
                              char *errbuf, size_t errcap);
DORM_API dorm_status dorm_item_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out,
                                char *errbuf, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif
