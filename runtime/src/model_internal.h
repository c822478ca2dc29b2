/* model_internal: what the model_*.c modules share.
 *
 * The model layer has one writer and one reader:
 *   - model_write.c walks a model struct by its descriptor and writes it
 *     straight into a request body (dorm_jw) as DynamoDB JSON, validating and
 *     sizing it on the way. Everything that needs a dorm_av of model data
 *     (keys for batches, values for conditions, whole items for
 *     transactions) writes JSON the same way and reads it back with the fast
 *     reader below, so there is exactly one set of marshalling rules.
 *   - model_read.c fills a model struct from a dorm_av item.
 *   - model_json.c is the fast DynamoDB-JSON reader for response bodies
 *     (why it exists instead of cJSON: see that file).
 */
#ifndef DORM_MODEL_INTERNAL_H
#define DORM_MODEL_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dorm/model.h"
#include "json_write.h"
#include "ops_common.h"

/* ---- error paths ("Order.lines[2].sku") ----
 * A chain of stack frames, turned into text only when an error needs it. */
typedef enum mpath_kind { MP_NAME = 0, MP_INDEX, MP_KEY } mpath_kind;
typedef struct mpath {
  const struct mpath *parent;
  mpath_kind kind;
  const char *name; /* MP_NAME, MP_KEY */
  size_t index;     /* MP_INDEX */
} mpath;

/* "Order.lines[2].sku", "Order.attrs[\"k\"]"; "(value)" for an empty chain. */
void mpath_text(const mpath *p, char *buf, size_t cap);

/* Writes "<path>: <message>" into errbuf (errcap bytes, may be 0) and
 * returns st. */
dorm_status model_fail(char *errbuf, size_t errcap, dorm_status st, const mpath *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---- descriptor helpers ---- */

static inline const void *field_ptr(const void *obj, const dorm_field_desc *f) {
  return (const char *)obj + f->offset;
}
static inline void *field_ptr_mut(void *obj, const dorm_field_desc *f) { return (char *)obj + f->offset; }

/* Kinds whose C value is a pointer (NULL = absent). */
static inline bool kind_is_pointer(unsigned k) {
  return k == DORM_K_STRING || k == DORM_K_DECIMAL || k == DORM_K_JSON || k == DORM_K_BYTES;
}

/* Whether an optional field is present (pointer kinds: not NULL; others: the
 * has_ flag). Required non-pointer fields are always present. */
static inline bool model_field_present(const dorm_field_desc *f, const void *obj) {
  const void *p = field_ptr(obj, f);
  switch (f->type.kind) {
  case DORM_K_STRING:
  case DORM_K_DECIMAL:
  case DORM_K_JSON: {
    const char *s;
    memcpy(&s, p, sizeof s);
    return s != NULL;
  }
  case DORM_K_BYTES: return ((const dorm_bytes *)p)->data != NULL;
  default: return f->has_offset < 0 || *((const bool *)((const char *)obj + f->has_offset));
  }
}

/* Whether a value of type t at p is "empty" for @omit_empty: "", 0, 0.0,
 * false, enum 0, empty bytes/set/list/map, a zero decimal. (Structs are
 * judged after writing: empty when no member was written.) */
bool model_value_empty(const dorm_type_desc *t, const void *p);

/* An enum's C value (by the type's size) and back. */
int64_t model_enum_get(const dorm_type_desc *t, const void *p);
void model_enum_set(const dorm_type_desc *t, void *p, int64_t v);

/* The attribute name of field f stored with naming n. */
static inline const char *field_attr(const dorm_field_desc *f, int naming) { return f->attr[naming ? 1 : 0]; }

/* ---- writing (model_write.c) ---- */

/* Writes the item of obj as a JSON object {"attr":{...},...} at the
 * writer's position (a value position: after a key or in an array): the
 * computed key attributes, "_type", then every field by the rules of
 * dorm_model_to_av. Validates everything and checks DynamoDB's 400 KB;
 * *item_size (may be NULL) gets the item's DynamoDB size. On failure the
 * writer may hold partial output (the caller discards the body). */
dorm_status model_write_item(dorm_jw *w, const dorm_model_desc *m, const void *obj, size_t *item_size,
                             char *errbuf, size_t errcap);

/* Writes the table key of obj as {"PK":{...},"SK":{...}}. */
dorm_status model_write_key(dorm_jw *w, const dorm_model_desc *m, const void *obj, char *errbuf,
                            size_t errcap);

/* Writes one AttributeValue for the C value at p of field `field` (its
 * type's rules, the struct naming of m). The caller decides about absent
 * and empty values first. */
dorm_status model_write_field_value(dorm_jw *w, const dorm_model_desc *m, uint32_t field, const void *p,
                                    char *errbuf, size_t errcap);

/* The same for a value of element type t (set/list element, IN operand). */
dorm_status model_write_type_value(dorm_jw *w, const dorm_model_desc *m, const dorm_type_desc *t,
                                   const void *p, const mpath *path, char *errbuf, size_t errcap);

/* A growable text buffer with inline storage for short text. */
typedef struct model_sbuf {
  char *p;
  size_t len, cap;
  bool heap;
  char inline_buf[240];
} model_sbuf;
void model_sbuf_init(model_sbuf *b);
bool model_sbuf_put(model_sbuf *b, const char *s, size_t n);
void model_sbuf_free(model_sbuf *b);

/* Renders key attribute keys[k] of m from obj as text (templates and
 * directly stored string/number fields). parts_upto: render only the first
 * n parts (SIZE_MAX for all), for begins_with prefixes. */
dorm_status model_render_key(const dorm_model_desc *m, uint32_t k, const void *obj, size_t parts_upto,
                             model_sbuf *out, char *errbuf, size_t errcap);

/* Renders one template field value (string as is, int/epoch decimal, enum
 * stored value, time fixed format, decimal text, bool). */
dorm_status model_render_field(const dorm_model_desc *m, uint32_t field, const void *p, model_sbuf *out,
                               char *errbuf, size_t errcap);

/* The AttributeValue of key attribute keys[k] for obj (S from a template or
 * a string field, N from a number field, B from bytes), in the arena. */
dorm_status model_key_value_av(const dorm_model_desc *m, uint32_t k, const void *obj, dorm_arena *a,
                               dorm_av *out, char *errbuf, size_t errcap);

/* One field value (or element value) as a dorm_av in the arena. */
dorm_status model_field_av(const dorm_model_desc *m, uint32_t field, const void *p, dorm_arena *a,
                           dorm_av *out, char *errbuf, size_t errcap);
dorm_status model_type_av(const dorm_model_desc *m, const dorm_type_desc *t, const void *p, dorm_arena *a,
                          dorm_av *out, char *errbuf, size_t errcap);

/* Canonical JSON of text (keys sorted recursively by bytes, no whitespace,
 * numbers in shortest round-trip form) into out. */
dorm_status model_json_canonical(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap);

/* ---- reading (model_read.c) ---- */

/* Internal read flag: the item's strings and bytes already live in the
 * destination arena (the fast reader put them there), so the struct may
 * point at them instead of copying. */
#define MODEL_READ_BORROW (1u << 16)

/* dorm_model_from_av with the internal flags and an item name for errors. */
dorm_status model_read_item(const dorm_model_desc *m, const dorm_av *item, unsigned flags, dorm_arena *a,
                            void *obj, char *errbuf, size_t errcap);

/* The index of the field stored under attribute name[0..len) (naming as
 * given), or n. The search starts at hint (items usually list attributes
 * in field order). */
uint32_t model_find_field(const dorm_field_desc *fields, uint32_t n, int naming, const char *name, size_t len,
                          uint32_t hint);

/* After reading a map into fields: what the fields not in `seen` (a bit
 * per field) read as (absent, empty, or DORM_ERR_SCHEMA_MISMATCH for a
 * missing required attribute unless DORM_READ_PARTIAL). */
dorm_status model_fill_missing(const dorm_field_desc *fields, uint32_t n, int naming, const uint64_t *seen,
                               unsigned flags, void *obj, const mpath *path, char *errbuf, size_t errcap);

/* "PK=USER#1, SK=PROFILE": the table key of an item for messages. */
void model_key_text(const dorm_model_desc *m, const dorm_av *item, char *buf, size_t cap);

/* ---- the fast DynamoDB JSON reader (model_json.c, model_decode.c) ---- */

/* A place in the JSON text for error messages ("Items[3].address.city"). */
typedef struct rp {
  const struct rp *parent;
  const char *name; /* NULL for an index */
  size_t len, index;
} rp;

/* Reader state over one text. */
typedef struct mj {
  const char *start, *p, *end;
  dorm_arena *a;
  char *err;
  size_t errcap;
  /* scratch stack for container elements, 16-byte aligned units */
  char *stack;
  size_t sp, cap;
  bool heap;
  /* Strings and bytes are carved from one block: each decodes to at most
   * the length of its JSON token (quotes included), so a block the size of
   * the text holds them all. */
  char *pool, *pool_end;
} mj;

#define MJ_STACK 4096

/* stack: MJ_STACK bytes, 16-byte aligned, for the scratch stack. */
void mj_init(mj *r, const char *json, size_t len, dorm_arena *a, char *errbuf, size_t errcap, char *stack);
/* Ends the read: trailing data is an error; frees the scratch stack. */
dorm_status mj_done(mj *r, dorm_status st);

static inline void mj_ws(mj *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}
static inline bool mj_expect(mj *r, char c) {
  mj_ws(r);
  if (r->p < r->end && *r->p == c) {
    r->p++;
    return true;
  }
  return false;
}

/* The bytes of x that end a plain run of a JSON string ('"', '\\', a
 * control character, or >= 0x80), as their high bits. The lowest one is
 * exact: a borrow only runs upwards from a byte that really is below 0x20,
 * and a false flag elsewhere needs a byte >= 0x80, itself special. */
static inline uint64_t mj_special_mask(uint64_t x) {
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
  return ((x - ones * 0x20) | (quote - ones) | (bslash - ones) | x) & highs;
}
static inline bool mj_plain_byte(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

/* The first byte at or after s (before e) that is not plain string text. */
static inline const char *mj_scan_plain(const char *s, const char *e) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (e - s >= 8) {
    uint64_t x;
    memcpy(&x, s, 8);
    uint64_t m = mj_special_mask(x);
    if (m) return s + __builtin_ctzll(m) / 8;
    s += 8;
  }
#endif
  while (s < e && mj_plain_byte((unsigned char)*s)) s++;
  return s;
}

void mj_path_text(const rp *p, char *buf, size_t cap);
dorm_status mj_fail(mj *r, const rp *p, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
dorm_status mj_syntax(mj *r, const rp *p, const char *what);
dorm_status mj_oom(mj *r, const rp *p);
void *mj_push(mj *r, size_t size);
void *mj_pop(mj *r, size_t base);
bool mj_literal(mj *r, const char *word, size_t n);
/* A JSON string at the current position: decoded into the arena
 * (NUL-terminated), or only validated when out is NULL. */
dorm_status mj_read_string(mj *r, const rp *path, dorm_str *out, const char *what);
dorm_status mj_skip_number(mj *r, const rp *path);
dorm_status mj_skip_value(mj *r, const rp *path, int depth);
dorm_status mj_check_number(mj *r, const rp *path, dorm_str s);
/* A B value's base64 string, decoded into the arena. */
dorm_status mj_read_binary(mj *r, const rp *path, dorm_str *out);
dorm_status mj_read_av(mj *r, const rp *path, dorm_av *out, int depth);
dorm_status mj_read_members(mj *r, const rp *path, dorm_av *out, int depth);
size_t mj_find_duplicate(const dorm_av_entry *e, size_t n);
dorm_status mj_read_count(mj *r, const rp *path, uint64_t *out);
/* After '{' of an AttributeValue: its type key (decoded), and the ':'. */
dorm_status mj_type_key(mj *r, const rp *path, const char **key, size_t *len);

/* The parts of a DynamoDB response a model operation uses. Members not asked
 * for are validated as JSON and skipped. */
typedef struct mj_response {
  bool has_item;          /* "Item" or "Attributes" */
  dorm_av item;
  dorm_av *items;         /* "Items" */
  size_t nitems;
  bool has_items;
  bool has_last_key;      /* "LastEvaluatedKey" */
  dorm_av last_key;
  uint64_t count, scanned_count;
} mj_response;

/* Parses a response body (a JSON object). Everything lives in the arena.
 * DORM_ERR_BAD_RESPONSE with a message naming the place, DORM_ERR_NO_MEMORY. */
dorm_status mj_parse_response(const char *json, size_t len, dorm_arena *a, mj_response *out, char *errbuf,
                              size_t errcap);

/* Parses an item object {"name":{"S":"..."},...} (the whole text) into an M. */
dorm_status mj_parse_item(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                          size_t errcap);

/* Parses one AttributeValue object (the whole text). */
dorm_status mj_parse_av(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                        size_t errcap);

/* ---- decoding responses straight into structs (model_decode.c) ---- */

/* Read flag: skip items whose "_type" is not the model's (GetItem, returned
 * items; Query and Scan filter on "_type" instead). */
#define MODEL_DECODE_CHECK_TYPE (1u << 17)

/* A response's parts decoded into model structs (all in the arena). */
typedef struct mj_model_response {
  bool has_item;          /* "Item" / "Attributes" held an item of the model */
  void *item;             /* m->size bytes */
  void *items;            /* "Items": nitems structs */
  size_t nitems;
  bool has_last_key;
  dorm_av last_key;       /* "LastEvaluatedKey" */
  uint64_t count, scanned_count;
  size_t bad_item;        /* on a failure in an item: its index (else SIZE_MAX) */
  char bad_key[160];      /* ... and its table key ("PK=..., SK=...") */
} mj_model_response;

/* Decodes a GetItem/UpdateItem/Query/Scan response body; flags:
 * DORM_READ_PARTIAL, MODEL_DECODE_CHECK_TYPE. The same reading and the
 * same errors as mj_parse_response + dorm_model_from_av. */
dorm_status mj_decode_response(const char *json, size_t len, const dorm_model_desc *m, unsigned flags, dorm_arena *a,
                               mj_model_response *out, char *errbuf, size_t errcap);

/* Decodes item JSON ({"attr":{...},...}, the whole text) into obj. */
dorm_status mj_decode_item(const char *json, size_t len, const dorm_model_desc *m, unsigned flags, dorm_arena *a,
                           void *obj, char *errbuf, size_t errcap);

/* ---- operations (model_ops.c and friends) ---- */

/* Applies put's lifecycle to obj (created_at when 0, updated_at, version
 * untouched) with the time `now`; saves the old values in *saved so that a
 * failed request can restore them. */
typedef struct model_lifecycle_save {
  int64_t created_at, updated_at;
  bool created_has, updated_has;
} model_lifecycle_save;
void model_lifecycle_put(const dorm_model_desc *m, void *obj, int64_t now, model_lifecycle_save *saved);
void model_lifecycle_restore(const dorm_model_desc *m, void *obj, const model_lifecycle_save *saved);

/* The path text for a top-level attribute name in dorm_expr's path syntax
 * (backslash before . [ ] \), in the arena; the name itself when plain. */
const char *model_escape_path(dorm_arena *a, const char *attr);

/* Records an error on an expression builder (first error wins), for the
 * typed helpers that build on dorm_expr. */
void model_expr_fail(dorm_expr *x, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Adds the model's own conditions for a write to x and attaches
 * (own AND user) as the ConditionExpression. own may be NULL. */
dorm_status model_attach_condition(dorm_expr *x, dorm_cond *own, dorm_cond *user);

/* The finishing touches of an update on builder u: index keys recomputed
 * from the fields it sets (table-key fields of their templates are taken
 * from key_obj), the updated_at SET (time `now`), the version increment,
 * and the conditions (item exists, version, the caller's). */
dorm_status model_update_finish(dorm_model_update *u, const void *key_obj, const dorm_write_opts *w, int64_t now);

/* ---- operation helpers (model_ops.c) ---- */

/* DORM_ERR_INVALID_ARGUMENT on the client unless m and obj are given. */
dorm_status model_check_args(dorm_client *c, const char *op, const dorm_model_desc *m, const void *obj,
                             const char *what);

/* "PK=CUSTOMER#1, SK=ORDER#2" rendered from a key object, for messages. */
void model_key_obj_text(const dorm_model_desc *m, const void *key_obj, char *buf, size_t cap);

/* The builder of a write: the caller's (o->expr) or local, initialised on
 * arena a. A condition without its builder is an error. */
dorm_status model_expr_for(dorm_client *c, const char *op, const dorm_write_opts *o, dorm_arena *a,
                           dorm_expr *local, dorm_expr **x);

/* version = :expected, and attribute_exists / attribute_not_exists on the
 * partition key attribute. */
dorm_cond *model_version_cond(dorm_expr *x, const dorm_model_desc *m, int64_t expected);
dorm_cond *model_pk_cond(dorm_expr *x, const dorm_model_desc *m, bool exists);

/* After DORM_ERR_CONDITION_FAILED: the stored item (returned with
 * ReturnValuesOnConditionCheckFailure) into o->old_out. */
void model_old_item(dorm_client *c, const dorm_model_desc *m, const dorm_write_opts *o, dorm_arena *a);

/* Reads the "Item"/"Attributes" member of a response into out. *found is
 * false when there is none or it has another entity type. */
dorm_status model_read_single(dorm_client *c, const char *op, const dorm_model_desc *m, const char *resp, size_t len,
                              unsigned flags, dorm_arena *a, void *out, bool *found);

/* Sets a ProjectionExpression of the fields' attributes (and "_type") on x. */
dorm_status model_projection(dorm_client *c, const char *op, const dorm_model_desc *m, dorm_expr *x,
                             const uint32_t *fields, size_t n, bool with_type);

#endif
