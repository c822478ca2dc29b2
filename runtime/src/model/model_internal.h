/* model_internal: what the model_*.c modules share.
 *
 * The model layer has one writer and one reader:
 *   - model_write.c walks a model struct by its descriptor and writes it
 *     straight into a request body (dorm_jw) as DynamoDB JSON, validating and
 *     sizing it on the way. Everything that needs a dorm_av of model data
 *     (keys for batches, values for conditions, whole items for
 *     transactions) writes JSON the same way and reads it back (cJSON,
 *     json_read.c), so there is exactly one set of marshalling rules.
 *   - model_read.c fills a model struct from a dorm_av item.
 *   - model_decode.c fills model structs straight from a response's cJSON
 *     tree, with model_read.c's rules and errors.
 */
#ifndef DORM_MODEL_INTERNAL_H
#define DORM_MODEL_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dorm/crypt.h"
#include "dorm/model.h"
#include "core_internal.h"
#include "ddb_internal.h"

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
void dorm__mpath_text(const mpath *p, char *buf, size_t cap);

/* Writes "<path>: <message>" into errbuf (errcap bytes, may be 0) and
 * returns st. */
dorm_status dorm__model_fail(char *errbuf, size_t errcap, dorm_status st, const mpath *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* ---- descriptor helpers ---- */

int64_t dorm__model_enum_get(const dorm_type_desc *t, const void *p);

/* The value a write sees: the member, except that a member left unset (a
 * NULL string or decimal, an enum left 0) whose field has a schema default
 * reads as that default, which has the member's type. */
static inline const void *field_ptr(const void *obj, const dorm_field_desc *f) {
  const void *p = (const char *)obj + f->offset;
  if (f->dflt) {
    unsigned k = f->type.kind;
    if (k == DORM_K_STRING || k == DORM_K_DECIMAL) {
      const char *s;
      memcpy(&s, p, sizeof s);
      if (!s) return f->dflt;
    } else if (k == DORM_K_ENUM && dorm__model_enum_get(&f->type, p) == 0) {
      return f->dflt;
    }
  }
  return p;
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
bool dorm__model_value_empty(const dorm_type_desc *t, const void *p);

/* An enum's C value (by the type's size) and back. */
int64_t dorm__model_enum_get(const dorm_type_desc *t, const void *p);
void dorm__model_enum_set(const dorm_type_desc *t, void *p, int64_t v);

/* The attribute name of field f stored with naming n. */
static inline const char *field_attr(const dorm_field_desc *f, int naming) { return f->attr[naming ? 1 : 0]; }

/* ---- writing (model_write.c) ---- */
/* Whether set v (elements of kind e) holds two elements DynamoDB takes for
 * one (strings byte-equal, numbers numerically equal, the same bytes): true
 * with the duplicate described in what[cap] ("\"a\"", "7", "the same
 * bytes"). False also when an element is NULL, NaN or no number: the writer
 * reports those. For checks before a write (payloads of endpoints). */
bool dorm__model_set_dup(const dorm_type_desc *e, const dorm_array_view *v, char *what, size_t cap);

/* Writes the item of obj as a JSON object {"attr":{...},...} at the
 * writer's position (a value position: after a key or in an array): the
 * computed key attributes, "_type", then every field by the rules of
 * dorm_model_to_av. Validates everything and checks DynamoDB's 400 KB;
 * *item_size (may be NULL) gets the item's DynamoDB size. On failure the
 * writer may hold partial output (the caller discards the body). */
dorm_status dorm__model_write_item(dorm_jw *w, const dorm_model_desc *m, const void *obj, size_t *item_size,
                             char *errbuf, size_t errcap);

/* The same, with the @encrypted fields sealed through k (NULL: such a field
 * fails with DORM_ERR_ENCRYPTION_NOT_CONFIGURED, as in dorm__model_write_item)
 * or, with defer, written in plaintext for a caller that encrypts the item
 * before it is sent (transactions: dorm_tx_commit). */
dorm_status dorm__model_write_item_crypt(dorm_jw *w, const dorm_model_desc *m, const void *obj, dorm_crypt *k,
                                         bool defer, size_t *item_size, char *errbuf, size_t errcap);

/* obj as a dorm_av item in a, with dorm__model_write_item_crypt's rules. */
dorm_status dorm__model_item_av(const dorm_model_desc *m, const void *obj, dorm_crypt *k, bool defer,
                                dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap);

/* Writes the table key of obj as {"PK":{...},"SK":{...}}. */
dorm_status dorm__model_write_key(dorm_jw *w, const dorm_model_desc *m, const void *obj, char *errbuf,
                            size_t errcap);

/* Writes one AttributeValue for the C value at p of field `field` (its
 * type's rules, the struct naming of m). The caller decides about absent
 * and empty values first. */
dorm_status dorm__model_write_field_value(dorm_jw *w, const dorm_model_desc *m, uint32_t field, const void *p,
                                    char *errbuf, size_t errcap);

/* The same for a value of element type t (set/list element, IN operand). */
dorm_status dorm__model_write_type_value(dorm_jw *w, const dorm_model_desc *m, const dorm_type_desc *t,
                                   const void *p, const mpath *path, char *errbuf, size_t errcap);

/* A text buffer (dorm__buf) that starts in inline storage, for short text
 * such as rendered keys: append with dorm__buf_put(&b.buf, ...), read b.p
 * and b.len (always NUL-terminated). Not to be copied by value. free()
 * leaves it empty and ready for use again. */
typedef struct model_sbuf {
  union {
    dorm__buf buf;
    struct {    /* the text, under the buffer's own names */
      char *p;
      size_t len;
    };
  };
  char inline_buf[240];
} model_sbuf;
void dorm__model_sbuf_init(model_sbuf *b);
void dorm__model_sbuf_free(model_sbuf *b);

/* Renders key attribute keys[k] of m from obj as text (templates and
 * directly stored string/number fields). parts_upto: render only the first
 * n parts (SIZE_MAX for all), for begins_with prefixes. */
/* A caller's builder as it was before a call, to restore after it
 * (model_ops.c): the call's own condition, filter, projection and
 * placeholders are taken out again, so one opts serves many calls. */
typedef struct dorm__model_expr_mark {
  dorm_expr *x;
  const char *key_condition, *condition, *filter, *projection;
  size_t names, values;
  dorm_status status;
} dorm__model_expr_mark;
dorm__model_expr_mark dorm__model_mark_expr(dorm_expr *x);
void dorm__model_restore_expr(const dorm__model_expr_mark *mk);

/* Whether text[from..value_end), a string placeholder's value followed in
 * text by the template's next literal lit, holds no earlier occurrence of
 * lit: a reader of the key splits there (model_write.c). */
bool dorm__model_literal_ends_value(const char *text, size_t len, size_t from, size_t value_end, const char *lit,
                                    size_t lit_len);
dorm_status dorm__model_render_key(const dorm_model_desc *m, uint32_t k, const void *obj, size_t parts_upto,
                             model_sbuf *out, char *errbuf, size_t errcap);

/* Renders one template field value (string as is, int/epoch decimal, enum
 * stored value, time fixed format, decimal text, bool). */
dorm_status dorm__model_render_field(const dorm_model_desc *m, uint32_t field, const void *p, model_sbuf *out,
                               char *errbuf, size_t errcap);

/* The AttributeValue of key attribute keys[k] for obj (S from a template or
 * a string field, N from a number field, B from bytes), in the arena. */
dorm_status dorm__model_key_value_av(const dorm_model_desc *m, uint32_t k, const void *obj, dorm_arena *a,
                               dorm_av *out, char *errbuf, size_t errcap);

/* One field value (or element value) as a dorm_av in the arena. */
dorm_status dorm__model_field_av(const dorm_model_desc *m, uint32_t field, const void *p, dorm_arena *a,
                           dorm_av *out, char *errbuf, size_t errcap);
dorm_status dorm__model_type_av(const dorm_model_desc *m, const dorm_type_desc *t, const void *p, dorm_arena *a,
                          dorm_av *out, char *errbuf, size_t errcap);

/* Canonical JSON of text (keys sorted recursively by bytes, no whitespace,
 * numbers in shortest round-trip form) into out. */
dorm_status dorm__model_json_canonical(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap);
/* Whether a stored json field's text is JSON as RFC 8259 has it (what
 * JSON.parse and Go's encoding/json take): cJSON's verdict, then what cJSON
 * lets through (raw control characters in strings, whitespace other than
 * the four JSON's, a byte order mark, numbers like 01, 1. or -.5). Another
 * tool's text is read as it is stored when it passes; false with the reason
 * in why (the byte it is at) when it does not. No tree is kept. */
bool dorm__model_json_valid(const char *text, size_t len, char *why, size_t whycap);

/* ---- reading (model_read.c) ---- */

/* Internal read flag: the item's strings and bytes already live in the
 * destination arena (the JSON reader put them there), so the struct may
 * point at them instead of copying. */
#define MODEL_READ_BORROW (1u << 16)

/* dorm_model_from_av with the internal flags; k opens the @encrypted fields
 * (NULL: an item holding one fails with DORM_ERR_ENCRYPTION_NOT_CONFIGURED). */
dorm_status dorm__model_read_item_k(const dorm_model_desc *m, const dorm_av *item, unsigned flags, dorm_crypt *k,
                                    dorm_arena *a, void *obj, char *errbuf, size_t errcap);
/* The same without a context (a model without encrypted fields). */
static inline dorm_status dorm__model_read_item(const dorm_model_desc *m, const dorm_av *item, unsigned flags,
                                                dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  return dorm__model_read_item_k(m, item, flags, NULL, a, obj, errbuf, errcap);
}

/* Opens the envelope env of @encrypted field f (stored under naming) with k
 * and reads the value into its member of obj (text copied into a), as
 * dorm__model_read_item does for each such field. DORM_ERR_BAD_ENVELOPE /
 * the KMS error / DORM_ERR_ENCRYPTION_NOT_CONFIGURED (k NULL) name the field. */
dorm_status dorm__model_read_encrypted(dorm_crypt *k, const dorm_field_desc *f, int naming, const dorm_av *env,
                                       unsigned flags, dorm_arena *a, void *obj, const mpath *fp, char *errbuf,
                                       size_t errcap);

/* Whether a status came from opening or sealing an envelope (KMS included):
 * the response is fine, so it is not read a second way. */
static inline bool dorm__model_crypt_status(dorm_status st) {
  return st == DORM_ERR_BAD_ENVELOPE || st == DORM_ERR_ENCRYPTION_NOT_CONFIGURED;
}

/* The dorm_crypt the operation op on m uses: NULL (*k) for a model without
 * encrypted fields; the client's for one with them, and without one
 * DORM_ERR_ENCRYPTION_NOT_CONFIGURED reported through c (model_crypt_use.c). */
dorm_status dorm__model_crypt_for(dorm_client *c, const char *op, const dorm_model_desc *m, dorm_crypt **k);
/* The schema's name of a dorm_kind ("enum", "list"...), "?" when unknown:
 * what an error about an @encrypted field says instead of its value. */
const char *dorm__model_kind_name(unsigned kind);

/* The same without a report: the client's context for m, or NULL (for
 * readers whose failure is reported by their caller). */
static inline dorm_crypt *dorm__model_crypt_of(dorm_client *c, const dorm_model_desc *m) {
  return m && m->encrypted_fields ? (dorm_crypt *)dorm__client_attachment(c) : NULL;
}

/* The index of the field stored under attribute name[0..len) (naming as
 * given), or n. The search starts at hint (items usually list attributes
 * in field order). */
uint32_t dorm__model_find_field(const dorm_field_desc *fields, uint32_t n, int naming, const char *name, size_t len,
                          uint32_t hint);

/* After reading a map into fields: what the fields not in `seen` (a bit
 * per field) read as (absent, empty, or DORM_ERR_SCHEMA_MISMATCH for a
 * missing required attribute unless DORM_READ_PARTIAL). */
/* Looks an attribute up in an item (a dorm_av map or a cJSON object):
 * true when present; *s gets its text when it is an S (ptr NULL otherwise). */
typedef bool (*model_item_lookup)(const void *item, const char *attr, dorm_str *s);

/* For partial items (DORM_READ_PARTIAL): sets the fields the item lacks from
 * the key attributes their templates made ("CUSTOMER#c1" gives customerId
 * "c1"). Best effort: a key that does not match its template, or two fields
 * with no literal text between them, sets nothing. Text goes into the arena. */
void dorm__model_fields_from_keys(const dorm_model_desc *m, model_item_lookup lookup, const void *item, dorm_arena *a,
                            void *obj);

dorm_status dorm__model_fill_missing(const dorm_field_desc *fields, uint32_t n, int naming, const uint64_t *seen,
                               unsigned flags, void *obj, const mpath *path, char *errbuf, size_t errcap);

/* "PK=USER#1, SK=PROFILE": the table key of an item for messages. */
void dorm__model_key_text(const dorm_model_desc *m, const dorm_av *item, char *buf, size_t cap);

/* ---- reading JSON back (json_read.c) ---- */

/* ---- decoding responses straight into structs (model_decode.c) ---- */

/* Read flag: skip items whose "_type" is not the model's (GetItem, returned
 * items; Query and Scan filter on "_type" instead). */
#define MODEL_DECODE_CHECK_TYPE (1u << 17)
/* Read flag for tests: report the direct decoder's own verdict, without
 * reading a failed response again through dorm_av (see model_decode.c). */
#define MODEL_DECODE_DIRECT_ONLY (1u << 18)
/* Read flags for tests: the parser the body goes through (default: jsmn,
 * and cJSON for a body jsmn does not read; json_jsmn.c). */
#define MODEL_DECODE_CJSON (1u << 19)
#define MODEL_DECODE_JSMN_ONLY (1u << 20)
/* Read flag for tests: the token path's own verdict (model_decode.c: jsmn's
 * tokens straight into the struct, no tree), DORM_ERR_BAD_RESPONSE with a
 * generic message for anything it leaves to the tree path. */
#define MODEL_DECODE_TOKENS_ONLY (1u << 21)

/* A response's parts decoded into model structs (all in the arena). */
typedef struct model_response {
  bool has_item;          /* "Item" / "Attributes" held an item of the model */
  void *item;             /* m->size bytes */
  void *items;            /* "Items": nitems structs */
  size_t nitems;
  bool has_last_key;
  dorm_av last_key;       /* "LastEvaluatedKey" */
  uint64_t count, scanned_count;
  size_t bad_item;        /* on a failure in an item: its index (else SIZE_MAX) */
  char bad_key[160];      /* ... and its table key ("PK=..., SK=...") */
} model_response;

/* Decodes a GetItem/UpdateItem/Query/Scan response body (one cJSON parse);
 * flags: DORM_READ_PARTIAL, MODEL_DECODE_CHECK_TYPE. The same result and the
 * same errors as dorm__json_to_item + dorm_model_from_av on each item:
 * DORM_ERR_BAD_RESPONSE (malformed anywhere), DORM_ERR_SCHEMA_MISMATCH,
 * DORM_ERR_NO_MEMORY. */
dorm_status dorm__model_decode_response_k(const char *json, size_t len, const dorm_model_desc *m, unsigned flags,
                                          dorm_crypt *k, dorm_arena *a, model_response *out, char *errbuf,
                                          size_t errcap);
static inline dorm_status dorm__model_decode_response(const char *json, size_t len, const dorm_model_desc *m,
                                                      unsigned flags, dorm_arena *a, model_response *out,
                                                      char *errbuf, size_t errcap) {
  return dorm__model_decode_response_k(json, len, m, flags, NULL, a, out, errbuf, errcap);
}

/* Decodes item JSON ({"attr":{...},...}, the whole text) into obj. */
dorm_status dorm__model_decode_item_k(const char *json, size_t len, const dorm_model_desc *m, unsigned flags,
                                      dorm_crypt *k, dorm_arena *a, void *obj, char *errbuf, size_t errcap);
static inline dorm_status dorm__model_decode_item(const char *json, size_t len, const dorm_model_desc *m,
                                                  unsigned flags, dorm_arena *a, void *obj, char *errbuf,
                                                  size_t errcap) {
  return dorm__model_decode_item_k(json, len, m, flags, NULL, a, obj, errbuf, errcap);
}

/* ---- operations (model_ops.c and friends) ---- */

/* Applies put's lifecycle to obj (created_at when 0, updated_at, version
 * untouched) with the time `now`; saves the old values in *saved so that a
 * failed request can restore them. */
typedef struct model_lifecycle_save {
  int64_t created_at, updated_at;
  bool created_has, updated_has;
} model_lifecycle_save;
void dorm__model_lifecycle_put(const dorm_model_desc *m, void *obj, int64_t now, model_lifecycle_save *saved);
void dorm__model_lifecycle_restore(const dorm_model_desc *m, void *obj, const model_lifecycle_save *saved);

/* The path text for a top-level attribute name in dorm_expr's path syntax
 * (backslash before . [ ] \), in the arena; the name itself when plain. */
const char *dorm__model_escape_path(dorm_arena *a, const char *attr);

/* Records an error on an expression builder (first error wins), for the
 * typed helpers that build on dorm_expr. */
void dorm__model_expr_fail(dorm_expr *x, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Adds the model's own conditions for a write to x and attaches
 * (own AND user) as the ConditionExpression. own may be NULL. */
dorm_status dorm__model_attach_condition(dorm_expr *x, dorm_cond *own, dorm_cond *user);

/* The finishing touches of an update on builder u: index keys recomputed
 * from the fields it sets (table-key fields of their templates are taken
 * from key_obj), the updated_at SET (time `now`), the version increment,
 * and the conditions (item exists, version, the caller's). */
dorm_status dorm__model_update_finish(dorm_model_update *u, const void *key_obj, const dorm_write_opts *w, int64_t now);

/* Updates that SET @encrypted fields hold their values in plaintext until
 * the operation that sends them seals them through k (UpdateItem, the
 * transaction's commit); k NULL fails with DORM_ERR_ENCRYPTION_NOT_CONFIGURED.
 * Done once per update. */
bool dorm__model_update_needs_crypt(const dorm_model_update *u);
dorm_status dorm__model_update_encrypt(dorm_model_update *u, dorm_crypt *k, char *errbuf, size_t errcap);

/* ---- operation helpers (model_ops.c) ---- */

/* DORM_ERR_INVALID_ARGUMENT on the client unless m and obj are given. */
dorm_status dorm__model_check_args(dorm_client *c, const char *op, const dorm_model_desc *m, const void *obj,
                             const char *what);

/* "PK=CUSTOMER#1, SK=ORDER#2" rendered from a key object, for messages. */
void dorm__model_key_obj_text(const dorm_model_desc *m, const void *key_obj, char *buf, size_t cap);

/* The builder of a write: the caller's (o->expr) or local, initialised on
 * arena a. A condition without its builder is an error. */
dorm_status dorm__model_expr_for(dorm_client *c, const char *op, const dorm_write_opts *o, dorm_arena *a,
                           dorm_expr *local, dorm_expr **x);

/* version = :expected, and attribute_exists / attribute_not_exists on the
 * partition key attribute. */
dorm_cond *dorm__model_version_cond(dorm_expr *x, const dorm_model_desc *m, int64_t expected);
dorm_cond *dorm__model_pk_cond(dorm_expr *x, const dorm_model_desc *m, bool exists);

/* The model's own conditions of a write, for dorm__model_condition_failed. */
enum { MODEL_COND_NEW = 1u, MODEL_COND_EXISTS = 2u };

/* After DORM_ERR_CONDITION_FAILED on a write of key_obj: the client's
 * message names the model, the table and the key and says which conditions
 * could have failed (own: MODEL_COND_* bits; the version and the caller's
 * condition from o), with DynamoDB's words after; the stored item (returned
 * with ReturnValuesOnConditionCheckFailure) goes into o->old_out. */
void dorm__model_condition_failed(dorm_client *c, const dorm_model_desc *m, const char *op, const void *key_obj,
                                  unsigned own, const dorm_write_opts *o, dorm_arena *a);

/* Reads the "Item"/"Attributes" member of a response into out. *found is
 * false when there is none or it has another entity type. */
dorm_status dorm__model_read_single(dorm_client *c, const char *op, const dorm_model_desc *m, const char *resp, size_t len,
                              unsigned flags, dorm_arena *a, void *out, bool *found);

/* Sets a ProjectionExpression of the fields' attributes (and "_type") on x. */
dorm_status dorm__model_projection(dorm_client *c, const char *op, const dorm_model_desc *m, dorm_expr *x,
                             const uint32_t *fields, size_t n, bool with_type);

/* ---- DynamoDB Streams records (stream.c) ---- */

/* Parses a "Records" array (a Lambda event's or GetRecords') into *records
 * (arena; NULL when empty). DORM_ERR_BAD_RESPONSE names the record in errbuf. */
dorm_status dorm__stream_parse_records(const cJSON *list, dorm_arena *a, dorm_stream_record **records,
                                       size_t *count, char *errbuf, size_t errcap);

#endif
