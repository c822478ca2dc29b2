/* json_read: DynamoDB JSON (responses) via cJSON's tree.
 *
 * Every response body is parsed once: on the hot path (items, pages,
 * batches, transactions, stream records) by jsmn into a tree of cJSON's
 * node layout in one block (json_jsmn.c, dorm__json_parse_fast), otherwise
 * with cJSON_ParseWithLengthOpts (never the global error pointer, never
 * cJSON_InitHooks: no global state). The tree is then read either into
 * dorm_av values (this file) or straight into model structs
 * (model_decode.c), both through the reader below, so the two apply the
 * same checks with the same messages, whichever parser built the tree.
 *
 * What cJSON does not check, the reader does, once each:
 *   - UTF-8: cJSON passes bytes through; every string the reader keeps is
 *     validated while it is copied (an ASCII test for the usual text).
 *   - U+0000 and broken \u escapes: cJSON decodes "\u0000", and a \u
 *     without four hex digits, as a NUL that silently cuts the string
 *     short. dorm__json_parse scans the text for such escapes after parsing
 *     (a backslash can only stand inside a string in JSON that cJSON
 *     accepted; memchr finds the rare backslash) and refuses them, naming
 *     the value ("Item.name: ...").
 *   - Trailing data after the value, nesting deeper than
 *     DORM_READ_MAX_DEPTH (cJSON itself stops at CJSON_NESTING_LIMIT, 1000).
 * cJSON's own syntax is a little laxer than RFC 8259 in places DynamoDB
 * never exercises (raw control characters in strings, "01" or "1." as
 * numbers); those are accepted.
 *
 * Conversion is strict: every AttributeValue must be an object with exactly
 * one known type key and a value of the right JSON type; numbers must be
 * valid DynamoDB numbers, binaries strict base64, sets non-empty, no
 * attribute twice in one map. Any violation is DORM_ERR_BAD_RESPONSE with a
 * message naming the path ("Items[3].address.city: N value \"abc\" is not a
 * valid number: ..."). All output lives in the arena; nothing points into
 * the cJSON tree.
 */
#ifndef DORM_JSON_READ_H
#define DORM_JSON_READ_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/status.h"

#define DORM_READ_MAX_DEPTH 64

/* Parses len bytes of JSON (need not be NUL-terminated; trailing garbage other
 * than whitespace is an error). On DORM_OK *root must be released with
 * cJSON_Delete(). DORM_ERR_BAD_RESPONSE (offset or path in the message) or
 * DORM_ERR_NO_MEMORY. */
dorm_status dorm__json_parse(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap);

/* The hot path's parser (json_jsmn.c): jsmn tokens turned into nodes of
 * cJSON's layout in one malloc'd block, read by the same readers. */
typedef enum dorm_json_parser {
  DORM_JSON_FAST,      /* jsmn; a body it does not read is parsed by cJSON, whose verdict counts */
  DORM_JSON_CJSON,     /* dorm__json_parse */
  DORM_JSON_JSMN_ONLY, /* jsmn alone (tests: its own verdict, no fallback) */
} dorm_json_parser;

/* Like dorm__json_parse, through `how`; release *root with dorm__json_free
 * (never cJSON_Delete: a jsmn tree is one block, and nothing may be
 * detached from or added to it). DORM_JSON_FAST gives dorm__json_parse's
 * verdict and message for every body it fails. */
dorm_status dorm__json_parse_with(dorm_json_parser how, const char *json, size_t len, cJSON **root, char *errbuf,
                                  size_t errcap);
static inline dorm_status dorm__json_parse_fast(const char *json, size_t len, cJSON **root, char *errbuf,
                                                size_t errcap) {
  return dorm__json_parse_with(DORM_JSON_FAST, json, len, root, errbuf, errcap);
}
/* jsmn alone: DORM_ERR_BAD_RESPONSE for anything it does not read exactly
 * as cJSON would (a generic message), DORM_ERR_NO_MEMORY. */
dorm_status dorm__json_parse_jsmn(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap);
/* The direct path (json_jsmn.c): jsmn's tokens read straight into dorm_av
 * values in the arena, no tree. What the body is read as: */
typedef enum dorm_json_direct {
  DORM_JD_VALUE,    /* one AttributeValue (dorm_av_from_json) */
  DORM_JD_ITEM,     /* an object of attributes into an M (dorm_item_from_json) */
  DORM_JD_RESPONSE, /* a GetItem/write response: its "Item" or "Attributes" into an M, *found if present */
} dorm_json_direct;
/* DORM_OK: *out read (strings point into a copy of the body in the arena).
 * DORM_ERR_BAD_RESPONSE: not read here, no message: the caller reads the
 * body through the tree path, whose verdict and message count (the arena
 * may hold what was read). DORM_ERR_NO_MEMORY. found may be NULL. */
dorm_status dorm__json_read_direct(dorm_json_direct what, const char *json, size_t len, dorm_arena *a,
                                   dorm_av *out, bool *found);

/* A cursor over jsmn's tokens (json_jsmn.c), for a decoder that reads a
 * body straight into its own structures (model_decode.c's generated
 * structs) with no tree: the same tokenizing, gap checks and in-place
 * unescaping as the direct path above, a step at a time. Like the direct
 * path it only decides success: a false from any step means "not read
 * here", and the caller reads the body through the tree path, whose
 * verdict and message count. Strings are unescaped in place in one copy of
 * the body in the arena, NUL-terminated, and stay there (the arena owns
 * them). One thread; values are consumed in document order. */
typedef struct dorm_jt dorm_jt;
typedef struct dorm_jt_iter {
  const void *t;       /* the container's token (json_jsmn.c's jsmntok_t) */
  int k, pos, vi;      /* children done, the gap's start, the last value's token */
} dorm_jt_iter;
typedef enum dorm_jt_kind { DORM_JT_NONE, DORM_JT_OBJECT, DORM_JT_ARRAY, DORM_JT_STRING, DORM_JT_PRIMITIVE } dorm_jt_kind;
/* Tokenizes json[0..len) and copies it into the arena; *out is the cursor
 * at the root value (in the arena too). DORM_ERR_BAD_RESPONSE: jsmn does not
 * read it (no message), DORM_ERR_NO_MEMORY. Release with dorm__jt_close. */
dorm_status dorm__jt_open(const char *json, size_t len, dorm_arena *a, dorm_jt **out);
/* Frees what the cursor malloc'd (a large body's tokens); NULL: nothing. */
void dorm__jt_close(dorm_jt *j);
/* True once every token was read and only whitespace follows the root. */
bool dorm__jt_end(const dorm_jt *j);
/* The kind of the next value (DORM_JT_NONE past the end), not consumed;
 * *size (may be NULL) its children's count for an object or array. */
dorm_jt_kind dorm__jt_peek(const dorm_jt *j, int *size);
/* Consumes the object or array (kind) at the cursor and starts *it over its
 * children; *size their count. False if the next value is not that kind. */
bool dorm__jt_enter(dorm_jt *j, dorm_jt_kind kind, dorm_jt_iter *it, int *size);
/* 1: the next child's value is at the cursor (an object member's name in
 * *name, NUL-terminated, *len bytes; unchanged for an array); the caller
 * consumes exactly that value before the next call. 0: no more children.
 * -1: refused. */
int dorm__jt_next(dorm_jt *j, dorm_jt_iter *it, const char **name, size_t *len);
/* An AttributeValue's wrapper (jr_av's rules: an object with exactly one
 * known type key, depth at most DORM_READ_MAX_DEPTH): its type, the value
 * next at the cursor; DORM_AV_INVALID if refused. After the value,
 * dorm__jt_av_close checks that the object ends there. */
dorm_av_type dorm__jt_av_open(dorm_jt *j, int depth, dorm_jt_iter *it);
bool dorm__jt_av_close(dorm_jt *j, dorm_jt_iter *it);
/* The string at the cursor, unescaped (not checked as UTF-8). */
bool dorm__jt_string(dorm_jt *j, const char **s, size_t *len);
/* The literal at the cursor: 1 true, 0 false, 2 null; -1 anything else. */
int dorm__jt_literal(dorm_jt *j);
/* An S, N or B value or a set element (type DORM_AV_S/N/B or their sets):
 * valid UTF-8 / a valid number (in place) / strict base64 decoded into the
 * arena, as the tree path's readers check them. */
bool dorm__jt_leaf(dorm_jt *j, dorm_arena *a, dorm_av_type type, dorm_str *out);
/* Any AttributeValue at the cursor into *out (dorm__jr_value's rules),
 * depth as dorm__jr_value's. */
bool dorm__jt_av(dorm_jt *j, dorm_arena *a, int depth, dorm_av *out);
/* An object of attributes at the cursor into an M (dorm__jr_members at
 * depth 0: a LastEvaluatedKey). */
bool dorm__jt_item(dorm_jt *j, dorm_arena *a, dorm_av *out);
/* A Count or ScannedCount: a JSON number that is a whole number from 0 to
 * 2^53, as dorm__json_response_members reads it. */
bool dorm__jt_count(dorm_jt *j, uint64_t *out);
/* Passes over any value, checked as the tree builder would build it. */
bool dorm__jt_skip(dorm_jt *j);
/* The fast steps of the cursor (the compact wrapper, the guessed member,
 * UTF-8) are inline in json_jt.h, for the decoders that include it. */

/* A GetItem/write response's "Item" or "Attributes" into *item (an empty M
 * and *found false when absent), through `how` (DORM_JSON_FAST: the direct
 * path, then the tree path for a body it does not read). The error's text
 * goes into errbuf. */
dorm_status dorm__json_read_response_item(dorm_json_parser how, const char *json, size_t len, dorm_arena *a,
                                          dorm_av *item, bool *found, char *errbuf, size_t errcap);
/* Frees a root from dorm__json_parse or dorm__json_parse_with (NULL: nothing). */
void dorm__json_free(cJSON *root);

/* dorm_av_from_json / dorm_item_from_json through a chosen parser. */
dorm_status dorm__av_from_json_with(dorm_json_parser how, bool item, const char *json, size_t len, dorm_arena *a,
                                    dorm_av *out, char *errbuf, size_t errcap);

/* Converts one AttributeValue object ({"S":"x"}). `where` names it in error
 * messages (e.g. "Item.name"; may be NULL). */
dorm_status dorm__json_to_av(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where,
                            char *errbuf, size_t errcap);

/* Converts an item/key object ({"name":{"S":"x"},...}) into an M. */
dorm_status dorm__json_to_item(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where,
                              char *errbuf, size_t errcap);

/* The map-valued member `member` of obj ("Item", "Attributes",
 * "LastEvaluatedKey"): *found says whether it was present (absent is DORM_OK
 * with *found false and *out an empty M); a present member that is not an
 * object of AttributeValues is DORM_ERR_BAD_RESPONSE. */
dorm_status dorm__json_member_item(const cJSON *obj, const char *member, dorm_arena *a, dorm_av *out,
                                  bool *found, char *errbuf, size_t errcap);

/* The array-of-items member `member` of obj ("Items", "Responses.<table>"
 * arrays): *items (arena) gets *count M values. Absent: DORM_OK, count 0. */
dorm_status dorm__json_member_items(const cJSON *obj, const char *member, dorm_arena *a, dorm_av **items,
                                   size_t *count, char *errbuf, size_t errcap);

/* The members of a response body that the item, query and scan operations
 * read, found in one pass over the root object. NULL when absent. */
typedef struct dorm_json_response {
  const cJSON *item;      /* "Item" (GetItem) or "Attributes" (writes) */
  const cJSON *items;     /* "Items" (Query, Scan) */
  const cJSON *last_key;  /* "LastEvaluatedKey" */
  bool has_count;         /* "Count" was present */
  uint64_t count, scanned_count;
} dorm_json_response;

/* Fills *out from root. DORM_ERR_BAD_RESPONSE when root is not an object,
 * one of those members appears twice, or Count/ScannedCount is not a
 * non-negative integer; the values of Item, Items and LastEvaluatedKey are
 * checked by whoever reads them. */
dorm_status dorm__json_response_members(const cJSON *root, dorm_json_response *out, char *errbuf, size_t errcap);

/* ---- the reader json_read.c and model_decode.c share ---- */

/* A place in the tree for error messages: a chain of stack frames, turned
 * into text ("Items[3].address.city") only when an error needs it. */
typedef struct jr_path {
  const struct jr_path *parent;
  const char *name; /* NULL for an index */
  size_t index;
} jr_path;

/* Where the reader's output and errors go. Text (strings, names, numbers,
 * decoded binaries) is carved from `pool` while it lasts, then from the
 * arena. */
typedef struct jr_reader {
  dorm_arena *arena;
  char *pool, *pool_end;
  char *err;
  size_t errcap;
} jr_reader;

/* text_len: the length of the JSON text the tree was parsed from, or 0.
 * Every string decodes to fewer bytes than its JSON token (quotes
 * included), so one block of text_len bytes holds all the text of a tree
 * with its NULs; it is taken from the arena at once (none when 0). */
void dorm__jr_init(jr_reader *r, dorm_arena *a, size_t text_len, char *errbuf, size_t errcap);

static inline char *jr_bytes(jr_reader *r, size_t n) {
  if ((size_t)(r->pool_end - r->pool) >= n) {
    char *p = r->pool;
    r->pool += n;
    return p;
  }
  return (char *)dorm_arena_alloc_aligned(r->arena, n, 1);
}

void dorm__jr_path_text(const jr_path *p, char *buf, size_t cap);

/* Writes "<path>: <message>" into the reader's error buffer; returns st. */
dorm_status dorm__jr_fail(jr_reader *r, const jr_path *p, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The AttributeValue type named by a type key ("S", "NULL", ...);
 * DORM_AV_INVALID for anything else. */
static inline dorm_av_type jr_type_of(const char *k) {
  if (!k) return DORM_AV_INVALID;
  switch (k[0]) {
  case 'S':
    if (!k[1]) return DORM_AV_S;
    return k[1] == 'S' && !k[2] ? DORM_AV_SS : DORM_AV_INVALID;
  case 'N':
    if (!k[1]) return DORM_AV_N;
    if (k[1] == 'S' && !k[2]) return DORM_AV_NS;
    return k[1] == 'U' && k[2] == 'L' && k[3] == 'L' && !k[4] ? DORM_AV_NULL : DORM_AV_INVALID;
  case 'B':
    if (!k[1]) return DORM_AV_B;
    if (k[1] == 'S' && !k[2]) return DORM_AV_BS;
    return k[1] == 'O' && k[2] == 'O' && k[3] == 'L' && !k[4] ? DORM_AV_BOOL : DORM_AV_INVALID;
  case 'L': return !k[1] ? DORM_AV_L : DORM_AV_INVALID;
  case 'M': return !k[1] ? DORM_AV_M : DORM_AV_INVALID;
  default: return DORM_AV_INVALID;
  }
}

/* The error of jr_av for a j that is not a valid AttributeValue. */
dorm_status dorm__jr_av_fail(jr_reader *r, const cJSON *j, const jr_path *p, int depth);

/* The type of AttributeValue j and its value node (not yet checked: the
 * readers below check it). DORM_ERR_BAD_RESPONSE unless j is an object
 * with exactly one known type key, or past DORM_READ_MAX_DEPTH. */
static inline dorm_status jr_av(jr_reader *r, const cJSON *j, const jr_path *p, int depth, dorm_av_type *type,
                                const cJSON **value) {
  const cJSON *v = j && (j->type & 0xFF) == cJSON_Object ? j->child : NULL;
  dorm_av_type t = v && !v->next && depth <= DORM_READ_MAX_DEPTH ? jr_type_of(v->string) : DORM_AV_INVALID;
  if (t == DORM_AV_INVALID) return dorm__jr_av_fail(r, j, p, depth);
  *type = t;
  *value = v;
  return DORM_OK;
}

/* NUL-terminated text s (an attribute name) copied once into the pool, its
 * UTF-8 validated. */
dorm_status dorm__jr_copy_text(jr_reader *r, const char *s, const jr_path *p, const char *what, dorm_str *out);

/* A JSON string (S value, SS element) copied once into the pool,
 * NUL-terminated, its UTF-8 validated. `what` names it in messages ("an S
 * value"). */
dorm_status dorm__jr_text(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out);

/* An N value or NS element: a JSON string holding a valid DynamoDB number
 * (checked here), copied into the pool. */
dorm_status dorm__jr_number(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out);

/* A B value or BS element: strict base64, decoded into the pool (with a NUL
 * after the bytes). */
dorm_status dorm__jr_binary(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out);

/* Any AttributeValue into a dorm_av, and an object of attributes into an M. */
dorm_status dorm__jr_value(jr_reader *r, const cJSON *j, const jr_path *p, int depth, dorm_av *out);
dorm_status dorm__jr_members(jr_reader *r, const cJSON *obj, const jr_path *p, int depth, dorm_av *out);

/* The index of a name that repeats an earlier one, or n. The names are the
 * dorm_str at the start of n elements `stride` bytes apart (dorm_av_entry
 * arrays, dorm_str arrays). */
size_t dorm__jr_find_duplicate(const void *names, size_t n, size_t stride);

/* cJSON's type tests, inline (its cJSON_Is* are calls into the library). */
static inline bool jr_is(const cJSON *j, int type) { return j && (j->type & 0xFF) == type; }
static inline bool jr_is_object(const cJSON *j) { return jr_is(j, cJSON_Object); }
static inline bool jr_is_array(const cJSON *j) { return jr_is(j, cJSON_Array); }
static inline bool jr_is_string(const cJSON *j) { return jr_is(j, cJSON_String) && j->valuestring; }
static inline bool jr_is_true(const cJSON *j) { return jr_is(j, cJSON_True); }
static inline bool jr_is_bool(const cJSON *j) { return jr_is(j, cJSON_True) || jr_is(j, cJSON_False); }

/* The number of elements or members of an array or object. */
static inline size_t jr_count(const cJSON *j) {
  size_t n = 0;
  for (const cJSON *c = j->child; c; c = c->next) n++;
  return n;
}

#endif
