/* dorm/model.h: the descriptor-driven model layer under the generated code.
 *
 * `dormc gen` turns each model of a schema into a C struct, a const
 * descriptor (dorm_model_desc) that says where every field lives in that
 * struct and how it is stored, and thin typed wrappers (shop_Order_put,
 * shop_Order_query_by_status, ...) that call the generic functions below.
 * Everything schema-dependent (attribute names, escaped JSON keys, key
 * templates, index names) is computed by the compiler and sits in the
 * descriptor, so a put or a get does no schema work at run time.
 *
 * Users normally call the generated wrappers; the generic functions are
 * public for tools that work with any model (the contract runner, the
 * migration backfill).
 *
 * C shapes of .dorm types (the generated structs use these):
 *   string, decimal, json   const char *   (NUL-terminated; NULL = absent for optional fields)
 *   int, epoch              int64_t
 *   time                    int64_t        nanoseconds since 1970-01-01T00:00:00Z
 *   float                   double
 *   bool                    bool
 *   bytes                   dorm_bytes     (data NULL = absent for optional fields)
 *   enum                    C enum         members numbered from 1; 0 means "not set"
 *   struct                  nested struct
 *   set<T>, list<T>         struct { T *items; size_t count; }     (generated, named)
 *   map<T>                  struct { const char **keys; T *values; size_t count; }
 * Pointer kinds (string, decimal, json, bytes) use NULL for "absent"; an
 * optional field of any other type has a presence flag `bool has_<field>`
 * declared just before it. Optional list/map elements of non-pointer types
 * are dorm_opt_* values ({bool has; T value;}).
 *
 * Ownership: structs passed in are borrowed (their strings and arrays must
 * stay valid during the call). Structs filled by the library point into the
 * arena passed with them. Operations that hand nothing back (put, create,
 * delete, update_fields, update_exec without new_out, batch put/delete)
 * accept a NULL arena: what the request needs is built in a scratch arena
 * that is freed before they return. Whatever fills a struct (get, query,
 * scan, batch_get, new_out, old_out) needs the caller's arena and fails
 * with DORM_ERR_INVALID_ARGUMENT without one.
 */
#ifndef DORM_MODEL_H
#define DORM_MODEL_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/client.h"
#include "dorm/expr.h"
#include "dorm/ops.h"
#include "dorm/status.h"
#include "dorm/timefmt.h"
#include "dorm/tables.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the descriptor layout changes; generated headers check it
 * and ask to be regenerated. */
#define DORM_MODEL_ABI 3

/* Designated-initializer helpers for generated structs:
 *   static const char *const tags[] = {"new", "gift"};
 *   shop_Order o = {.customerId = "c1", .orderId = "o1", DORM_SOME(amount, 5),
 *                   .tags = DORM_ARRAY(tags)};
 * DORM_SOME(member, v) sets an optional non-pointer field (its has_ flag and
 * value); DORM_ARRAY(arr) is a set or list of the elements of an array
 * (not a pointer: its size is taken with sizeof). */
#define DORM_SOME(member, v) .has_##member = true, .member = (v)
#define DORM_ARRAY(arr) {(arr), sizeof(arr) / sizeof((arr)[0])}

typedef struct dorm_bytes {
  const uint8_t *data;
  size_t len;
} dorm_bytes;

typedef struct dorm_opt_i64 {
  bool has;
  int64_t value;
} dorm_opt_i64;
typedef struct dorm_opt_f64 {
  bool has;
  double value;
} dorm_opt_f64;
typedef struct dorm_opt_bool {
  bool has;
  bool value;
} dorm_opt_bool;
typedef struct dorm_opt_enum {
  bool has;
  int value;
} dorm_opt_enum;

/* The memory layout every generated set/list and map struct has (the
 * generator guarantees it), so the library can walk them generically. */
typedef struct dorm_array_view {
  void *items;
  size_t count;
} dorm_array_view;
typedef struct dorm_map_view {
  const char **keys;
  void *values;
  size_t count;
} dorm_map_view;

/* ---- descriptors (generated; read-only) ---- */

typedef enum dorm_kind {
  DORM_K_STRING = 1,
  DORM_K_INT,
  DORM_K_FLOAT,
  DORM_K_DECIMAL,
  DORM_K_BOOL,
  DORM_K_BYTES,
  DORM_K_TIME,
  DORM_K_EPOCH,
  DORM_K_JSON,
  DORM_K_ENUM,
  DORM_K_STRUCT,
  DORM_K_SET,
  DORM_K_LIST,
  DORM_K_MAP
} dorm_kind;

typedef struct dorm_enum_desc {
  const char *name;               /* "OrderStatus" */
  const char *const *values;      /* stored values; C value v is values[v - 1] */
  uint32_t count;
} dorm_enum_desc;

struct dorm_struct_desc;

/* A value's type. For the element of a SET/LIST/MAP, `optional` says the
 * element may be absent (stored as NULL); `size` is the C size of one
 * element (the array stride), or of the value itself for fields. */
typedef struct dorm_type_desc {
  uint8_t kind;                   /* dorm_kind */
  uint8_t optional;               /* elements only */
  /* Optional elements of a non-pointer kind are {bool has; T value;}
   * wrappers (dorm_opt_* or generated): the offset of value in it. */
  uint16_t opt_value_offset;
  uint32_t size;
  const struct dorm_type_desc *elem;        /* SET, LIST, MAP */
  const struct dorm_struct_desc *struct_;   /* STRUCT */
  const dorm_enum_desc *enum_;              /* ENUM */
} dorm_type_desc;

/* Field flags (dorm_field_desc.flags). */
enum {
  DORM_FF_OPTIONAL = 1u << 0,
  DORM_FF_OMIT_EMPTY = 1u << 1,
  DORM_FF_PK = 1u << 2,           /* @pk */
  DORM_FF_SK = 1u << 3,           /* @sk */
  DORM_FF_CREATED_AT = 1u << 4,
  DORM_FF_UPDATED_AT = 1u << 5,
  DORM_FF_VERSION = 1u << 6,
  DORM_FF_TTL = 1u << 7,
  DORM_FF_TABLE_KEY = 1u << 8,    /* feeds the table's partition or sort key (never updatable) */
  DORM_FF_ENCRYPTED = 1u << 9     /* @encrypted: stored as DynamORM's envelope (dorm/crypt.h); model
                                   * fields only, never a key, a set or a lifecycle role */
};

/* Naming of the model that stores a struct: selects attr[]. */
enum { DORM_NAMING_CAMEL = 0, DORM_NAMING_SNAKE = 1 };

typedef struct dorm_field_desc {
  const char *name;               /* field name as written (also the C member) */
  const char *attr[2];            /* stored attribute name by naming (equal for model fields) */
  const char *attr_json[2];       /* the same as a JSON object key with colon: "\"createdAt\":" */
  uint16_t attr_json_len[2];
  uint16_t flags;                 /* DORM_FF_* */
  uint32_t offset;                /* offsetof(struct, member) */
  int32_t has_offset;             /* offsetof(struct, has_member), or -1 */
  dorm_type_desc type;
  const void *dflt;               /* the schema's default as a C value of the member's type
                                   * (a const char *const for a string), or NULL: what an item
                                   * without the attribute reads as, and what a NULL string or
                                   * decimal and an enum left 0 write */
} dorm_field_desc;

typedef struct dorm_struct_desc {
  const char *name;               /* "Address" */
  uint32_t size;                  /* sizeof the C struct */
  const dorm_field_desc *fields;
  uint32_t nfields;
} dorm_struct_desc;

/* A key template part: literal text, or the value of a field. */
typedef struct dorm_tpl_part {
  const char *literal;            /* NULL for a field part */
  uint32_t literal_len;
  int32_t field;                  /* field index, or -1 for literal text */
} dorm_tpl_part;

/* How one key attribute (of the table or an index) is filled. */
typedef struct dorm_key_desc {
  const char *attr;
  const char *attr_json;          /* "\"PK\":" */
  uint16_t attr_json_len;
  char type;                      /* 'S', 'N' or 'B' */
  int32_t field;                  /* the field stored directly (the item already holds it
                                   * under this attribute: not written twice), or -1 for a template */
  const dorm_tpl_part *parts;     /* template (field == -1) */
  uint32_t nparts;
} dorm_key_desc;

typedef enum dorm_index_kind { DORM_INDEX_TABLE = 0, DORM_INDEX_GSI = 1, DORM_INDEX_LSI = 2 } dorm_index_kind;

/* A way to query the model: the table itself (index 0) or an index it fills. */
typedef struct dorm_index_desc {
  const char *name;               /* NULL for the table */
  uint8_t kind;                   /* dorm_index_kind */
  uint8_t projection;             /* 0 all, 1 keys_only, 2 include: items read from a
                                   * keys_only/include index are partial (DORM_READ_PARTIAL) */
  int32_t pk;                     /* index into dorm_model_desc.keys */
  int32_t sk;                     /* index into keys, or -1 without a sort key */
} dorm_index_desc;

typedef struct dorm_model_desc {
  const char *name;               /* "Order" */
  const char *table;              /* physical table name */
  const char *entity_type;        /* `type "Order"` stored in "_type", or NULL */
  uint8_t naming;                 /* DORM_NAMING_* (for nested structs) */
  uint32_t size;                  /* sizeof the C struct */
  const dorm_field_desc *fields;
  uint32_t nfields;
  /* keys[0] the table's partition key, keys[1] its sort key when it has one,
   * then the index key attributes the model fills, each once. */
  const dorm_key_desc *keys;
  uint32_t nkeys;
  uint32_t table_keys;            /* 1 or 2: how many leading keys are the table's */
  const dorm_index_desc *indexes; /* [0] is the table */
  uint32_t nindexes;
  int32_t created_at, updated_at, version, ttl; /* field indexes, or -1 */
  /* Encryption (issue 15): how many fields are DORM_FF_ENCRYPTED, and the
   * KMS key the schema names for them (@encrypted("alias/...")), or NULL
   * for the key configured at run time (dorm_crypt_opts.kms_key_id or
   * DORM_KMS_KEY_ID). Operations on a model with encrypted fields need a
   * dorm_crypt set on the client (dorm_client_set_crypt, dorm/crypt.h) and
   * fail with DORM_ERR_ENCRYPTION_NOT_CONFIGURED, sending nothing, without. */
  uint32_t encrypted_fields;
  const char *kms_key;
} dorm_model_desc;

/* ---- items ---- */

/* Flags for reading items. */
enum {
  /* A projected or partial item: missing required fields are left zero
   * instead of failing, and fields of key templates the item lacks are read
   * back from its key attributes ("CUSTOMER#c1" gives customerId "c1"). */
  DORM_READ_PARTIAL = 1u << 0
};

/* obj as a DynamoDB item (a dorm_av map in the arena): every field
 * (omitting absent optional fields, empty @omit_empty fields and empty
 * sets), the computed key attributes, and "_type". Validation errors (a
 * required string that is NULL, invalid UTF-8, a bad decimal, an enum out
 * of range, an item over 400 KB) are DORM_ERR_INVALID_ARGUMENT /
 * DORM_ERR_TOO_LARGE with a message naming the field
 * ("Order.shipTo.city: required"). The operations below write items
 * straight to the request JSON with the same rules, without this copy. */
DORM_API dorm_status dorm_model_to_av(const dorm_model_desc *m, const void *obj, dorm_arena *a, dorm_av *item,
                             char *errbuf, size_t errcap);

/* The item's key (table key attributes only) as a dorm_av map. obj needs
 * only the fields the key templates use. */
DORM_API dorm_status dorm_model_key_av(const dorm_model_desc *m, const void *obj, dorm_arena *a, dorm_av *key,
                              char *errbuf, size_t errcap);

/* Fills obj (m->size bytes, zeroed first) from a stored item. Strings,
 * arrays and bytes are allocated in the arena. Attributes the model does not
 * know (computed keys, "_type", others) are ignored. A required field that
 * is missing (unless DORM_READ_PARTIAL) or an attribute of the wrong type is
 * DORM_ERR_SCHEMA_MISMATCH naming the attribute. Any RFC 3339 time is
 * accepted for `time` fields. */
DORM_API dorm_status dorm_model_from_av(const dorm_model_desc *m, const dorm_av *item, unsigned flags,
                               dorm_arena *a, void *obj, char *errbuf, size_t errcap);

/* True when item belongs to the model: its "_type" equals the model's
 * entity type (models without a type accept every item). */
DORM_API bool dorm_model_is(const dorm_model_desc *m, const dorm_av *item);

/* obj as DynamoDB item JSON ({"PK":{"S":"..."},...}, the form of a
 * request's Item member), NUL-terminated in the arena; the same rules and
 * errors as dorm_model_to_av. */
DORM_API dorm_status dorm_model_to_json(const dorm_model_desc *m, const void *obj, dorm_arena *a, const char **json,
                               size_t *len, char *errbuf, size_t errcap);

/* Fills obj from item JSON in that form (as dorm_model_from_av after
 * parsing; malformed JSON is DORM_ERR_BAD_RESPONSE). */
DORM_API dorm_status dorm_model_from_json(const dorm_model_desc *m, const char *json, size_t len, unsigned flags,
                                 dorm_arena *a, void *obj, char *errbuf, size_t errcap);

/* ---- operations ---- */

/* Options shared by writes. All optional (pass NULL for the defaults). */
typedef struct dorm_write_opts {
  /* An extra condition built with the caller's builder `expr` (the same
   * builder must be passed); the model's own conditions (version,
   * existence) are ANDed with it. */
  dorm_expr *expr;
  dorm_cond *condition;
  /* Optimistic locking for update/delete on models with @version: require
   * the stored version to equal expected_version. update_fields takes it
   * from the object instead. */
  bool check_version;
  int64_t expected_version;
  /* After DORM_ERR_CONDITION_FAILED, fill *old_out with the stored item
   * (when not NULL; it points into the arena given, which must then not be
   * NULL). */
  void *old_out;
  bool *old_found;
} dorm_write_opts;

/* put (create or replace) and create (fails with DORM_ERR_CONDITION_FAILED
 * when an item with the same key exists). Applies the lifecycle roles as
 * DynamORM does, writing them back into *obj: created_at = now when it is 0,
 * updated_at = now, version as given (0 for a new object). a may be NULL
 * (a scratch arena is used) unless o->old_out is set. */
DORM_API dorm_status dorm_model_put(dorm_client *c, const dorm_model_desc *m, void *obj, bool create,
                           const dorm_write_opts *o, dorm_arena *a);

typedef struct dorm_get_opts {
  bool consistent_read;
  const uint32_t *fields;         /* projection: field indexes; NULL = whole item */
  size_t nfields;
} dorm_get_opts;

/* Reads the item whose key fields are set in key_obj (a model struct of
 * which only the key-template fields are used) into out, whose strings and
 * arrays point into a (required). DORM_ERR_NOT_FOUND when there is none (or
 * it is of another entity type). */
DORM_API dorm_status dorm_model_get(dorm_client *c, const dorm_model_desc *m, const void *key_obj,
                           const dorm_get_opts *o, dorm_arena *a, void *out);

/* Deletes by key (with the version condition when o->check_version). a may
 * be NULL unless o->old_out is set. */
DORM_API dorm_status dorm_model_delete(dorm_client *c, const dorm_model_desc *m, const void *key_obj,
                              const dorm_write_opts *o, dorm_arena *a);

/* An update under construction: typed actions on fields, collected in the
 * arena, turned into one UpdateExpression by dorm_model_update_exec. Errors
 * are sticky (the first one is reported by exec). */
typedef struct dorm_model_update {
  const dorm_model_desc *m;
  dorm_arena *a;
  dorm_expr x;
  dorm_status status;
  char err[256];
  uint64_t touched[4];            /* fields with an action (bit per field index) in models of up to
                                   * 256 fields; wider models keep theirs in priv, sized from the model */
  uint32_t nactions;
  /* private: the key-template text of the fields set so far (arena), to
   * recompute index keys when the update runs */
  void *priv;
} dorm_model_update;

DORM_API void dorm_model_update_init(dorm_model_update *u, const dorm_model_desc *m, dorm_arena *a);
/* SET field = value (value points at a C value of the field's type). Setting
 * an @omit_empty field to its empty value removes the attribute; setting a
 * field that a non-table key template uses also recomputes that key
 * attribute (all fields of that template must then be set in this update).
 * Fields of the table key cannot be updated. */
DORM_API dorm_status dorm_model_update_set(dorm_model_update *u, uint32_t field, const void *value);
/* REMOVE field (optional fields only). */
DORM_API dorm_status dorm_model_update_remove(dorm_model_update *u, uint32_t field);
/* SET field = field + by (int/float/decimal/epoch; by points at the field's C type). */
DORM_API dorm_status dorm_model_update_add(dorm_model_update *u, uint32_t field, const void *by);
/* ADD / DELETE elements of a set (elems points at the field's set struct). */
DORM_API dorm_status dorm_model_update_set_add(dorm_model_update *u, uint32_t field, const void *elems);
DORM_API dorm_status dorm_model_update_set_delete(dorm_model_update *u, uint32_t field, const void *elems);
/* list_append at the end / at the front (list points at the field's list struct). */
DORM_API dorm_status dorm_model_update_append(dorm_model_update *u, uint32_t field, const void *list);
DORM_API dorm_status dorm_model_update_prepend(dorm_model_update *u, uint32_t field, const void *list);
/* SET field = if_not_exists(field, value). */
DORM_API dorm_status dorm_model_update_set_default(dorm_model_update *u, uint32_t field, const void *value);

typedef struct dorm_update_opts {
  dorm_write_opts w;
  bool return_new;                /* fill new_out with the item after the update */
} dorm_update_opts;

/* Runs the update on the item with key_obj's key. An extra condition
 * (o->w.condition) must be built with the update's own builder, &u->x. Always sets updated_at;
 * on versioned models requires version = expected (o->w.check_version) and
 * adds 1. Index keys made from updated_at or version follow them (a key made
 * from the version needs check_version, to know the new value; without it
 * the update is DORM_ERR_INVALID_ARGUMENT). The item must exist
 * (attribute_exists on the partition key).
 * new_out (may be NULL) receives the updated item when o->return_new; a is
 * needed only for it and for o->w.old_out (the update's own state lives in
 * the arena u was started with), and may be NULL otherwise. */
DORM_API dorm_status dorm_model_update_exec(dorm_client *c, const dorm_model_desc *m, const void *key_obj,
                                   dorm_model_update *u, const dorm_update_opts *o, dorm_arena *a,
                                   void *new_out);

/* DynamORM's Update(fields...): SET the listed fields to obj's values (an
 * empty @omit_empty value removes the attribute, an absent optional field
 * is removed). On versioned models the condition is version = obj's
 * version, and obj's version and updated_at are updated on success.
 * Lifecycle fields in the list are skipped (the library sets them). More
 * fields than the model has (some listed twice) is DORM_ERR_INVALID_ARGUMENT,
 * checked before fields is read. A condition in o is built with o->expr,
 * whose state the update takes over (do not use that builder afterwards).
 * a may be NULL (the update is built in a scratch arena) unless o->old_out
 * is set. */
DORM_API dorm_status dorm_model_update_fields(dorm_client *c, const dorm_model_desc *m, void *obj,
                                     const uint32_t *fields, size_t nfields, const dorm_write_opts *o,
                                     dorm_arena *a);

/* ---- query, scan, pagination ---- */

typedef enum dorm_sk_op {
  DORM_SK_NONE = 0,
  DORM_SK_EQ,
  DORM_SK_LT,
  DORM_SK_LE,
  DORM_SK_GT,
  DORM_SK_GE,
  DORM_SK_BETWEEN,
  DORM_SK_BEGINS_WITH
} dorm_sk_op;

/* A sort-key condition. The values are model structs whose sort-key
 * template fields are set (lo; hi for BETWEEN); the library renders the
 * template. BEGINS_WITH takes `prefix`: text appended to the template's
 * leading literal ("ORDER#" + prefix for "ORDER#{orderId}"). */
typedef struct dorm_sk_cond {
  dorm_sk_op op;
  const void *lo;
  const void *hi;
  const char *prefix;
} dorm_sk_cond;

typedef struct dorm_query_opts {
  dorm_expr *expr;                /* builder of `filter` (and where placeholders go) */
  dorm_cond *filter;              /* ANDed with the entity-type filter of shared tables */
  const uint32_t *fields;         /* projection by field index; NULL = all */
  size_t nfields;
  uint32_t limit;                 /* page size (items evaluated); 0 = DynamoDB's 1 MB pages */
  bool descending;
  bool consistent_read;           /* table and LSI only */
  const char *cursor;             /* continue after a previous page; NULL = from the start */
} dorm_query_opts;

/* A page of typed items. items points at count model structs (in the
 * arena). cursor is DynamORM's pagination cursor for the next page (NULL
 * when this is the last page). */
typedef struct dorm_model_page {
  void *items;
  size_t count;
  size_t scanned_count;
  bool has_more;
  const char *cursor;
} dorm_model_page;

/* Query the table (index 0) or index `index` of m->indexes. pk_obj has the
 * partition-key template fields set. Items of other entity types in a
 * shared table are skipped (by a filter on "_type", and when the sort key
 * has a literal prefix, by begins_with on it if sk is NONE). A cursor made
 * for another index or order is DORM_ERR_BAD_CURSOR. */
DORM_API dorm_status dorm_model_query(dorm_client *c, const dorm_model_desc *m, uint32_t index,
                             const void *pk_obj, const dorm_sk_cond *sk, const dorm_query_opts *o,
                             dorm_arena *a, dorm_model_page *page);

/* Scan the table (or index `index`; 0 = table) for items of this model. */
DORM_API dorm_status dorm_model_scan(dorm_client *c, const dorm_model_desc *m, uint32_t index,
                            const dorm_query_opts *o, dorm_arena *a, dorm_model_page *page);

/* Counts the items a query (pk_obj != NULL) or scan (pk_obj == NULL) would
 * return, across all pages (Select COUNT). */
DORM_API dorm_status dorm_model_count(dorm_client *c, const dorm_model_desc *m, uint32_t index,
                             const void *pk_obj, const dorm_sk_cond *sk, const dorm_query_opts *o,
                             uint64_t *count);

/* Parallel scan: pages of typed items to on_items (serialized; the items are
 * valid during the call only). */
typedef dorm_status (*dorm_items_fn)(void *user, const void *items, size_t count);

/* Every page of a query (pk_obj != NULL, as dorm_model_query) or scan
 * (pk_obj == NULL; index 0 = the table) to on_items, in order. Each page
 * lives in an arena of its own, freed after the next page arrives: the
 * items are valid during the call only. A status other than DORM_OK from
 * on_items stops the loop and is returned. o->limit is the page size. */
DORM_API dorm_status dorm_model_each(dorm_client *c, const dorm_model_desc *m, uint32_t index, const void *pk_obj,
                                     const dorm_sk_cond *sk, const dorm_query_opts *o, dorm_items_fn on_items,
                                     void *user);
DORM_API dorm_status dorm_model_scan_parallel(dorm_client *c, const dorm_model_desc *m, const dorm_query_opts *o,
                                     uint32_t segments, uint32_t workers, dorm_items_fn on_items,
                                     void *user);

/* DynamORM's cursor: URL-safe base64 (with padding) of
 * {"lastKey":{...},"index":"...","sort":"ASC|DESC"} with Go's encoding/json
 * rules (map keys sorted, <>& escaped as \u003c \u003e \u0026, "index" and
 * "sort" omitted when empty). encode: NULL/empty key gives "". */
DORM_API dorm_status dorm_cursor_encode(const dorm_av *last_key, const char *index, const char *sort,
                               dorm_arena *a, const char **cursor);
/* Strict decode: *index and *sort are "" when absent. DORM_ERR_BAD_CURSOR
 * with a message in errbuf for anything malformed. */
DORM_API dorm_status dorm_cursor_decode(const char *cursor, dorm_arena *a, dorm_av *last_key, const char **index,
                               const char **sort, char *errbuf, size_t errcap);

/* ---- batches ---- */

/* Gets n items by key (key_objs: n model structs with their key fields set,
 * stride m->size). out: n model structs, pointing into a (required);
 * found[i] (may be NULL) says whether item i exists. Request order is kept. */
DORM_API dorm_status dorm_model_batch_get(dorm_client *c, const dorm_model_desc *m, const void *key_objs, size_t n,
                                 bool consistent_read, dorm_arena *a, void *out, bool *found);
/* Puts n objects (lifecycle applied as put) / deletes n keys, in chunks of
 * 25 with unprocessed items retried. a may be NULL (the items are built in
 * a scratch arena freed before returning). */
DORM_API dorm_status dorm_model_batch_put(dorm_client *c, const dorm_model_desc *m, void *objs, size_t n,
                                 dorm_arena *a);
DORM_API dorm_status dorm_model_batch_delete(dorm_client *c, const dorm_model_desc *m, const void *key_objs,
                                    size_t n, dorm_arena *a);

/* ---- transactions across models ---- */

typedef struct dorm_tx {
  dorm_arena *a;
  dorm_tx_write *actions;
  size_t count, cap;
  dorm_status status;
  char err[256];
  /* private: per action, the model whose encrypted fields the commit
   * encrypts (NULL for none), and the update to encrypt (arena) */
  void *priv;
} dorm_tx;

/* Actions are collected in the arena; errors are sticky (reported by
 * commit). tx_put applies put's lifecycle to obj at once (not undone if
 * the commit fails); tx_update finishes u, which must stay valid until the
 * commit. */
DORM_API void dorm_tx_init(dorm_tx *tx, dorm_arena *a);
/* The index of the action just added when st is DORM_OK, else -1: what the
 * generated <Model>_tx_* adders return. */
static inline int dorm_tx_index(const dorm_tx *tx, dorm_status st) { return st == DORM_OK ? (int)tx->count - 1 : -1; }
DORM_API dorm_status dorm_tx_put(dorm_tx *tx, const dorm_model_desc *m, void *obj, bool create,
                        const dorm_write_opts *o);
DORM_API dorm_status dorm_tx_update(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj,
                           dorm_model_update *u, const dorm_write_opts *o);
DORM_API dorm_status dorm_tx_delete(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj,
                           const dorm_write_opts *o);
/* ConditionCheck: o->condition (required) on the item with key_obj's key. */
DORM_API dorm_status dorm_tx_check(dorm_tx *tx, const dorm_model_desc *m, const void *key_obj,
                          const dorm_write_opts *o);
/* Sends the transaction (1..100 actions). A cancellation is
 * DORM_ERR_CONDITION_FAILED when an action's condition failed (DynamORM's
 * ErrConditionFailed, as its Go SDK reports it), else
 * DORM_ERR_TRANSACTION_CANCELLED; *failed_index (may be NULL) is the
 * failing action, dorm_client_errmsg names its model and key ("action 1
 * (Put Order PK=CUSTOMER#c1, SK=ORDER#o1 on shop): ConditionalCheckFailed:
 * ...") and dorm_client_cancel_reasons gives every action's reason (see
 * dorm_transact_write). */
DORM_API dorm_status dorm_tx_commit(dorm_client *c, dorm_tx *tx, size_t *failed_index);

/* ---- typed conditions on fields (filters and write conditions) ---- */

/* value / lo / hi / elem point at C values of the field's type (for
 * contains on a set or list: of its element type). */
DORM_API dorm_cond *dorm_model_cond_cmp(dorm_expr *x, const dorm_model_desc *m, uint32_t field, dorm_cmp_op op,
                               const void *value);
DORM_API dorm_cond *dorm_model_cond_between(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const void *lo,
                                   const void *hi);
DORM_API dorm_cond *dorm_model_cond_begins_with(dorm_expr *x, const dorm_model_desc *m, uint32_t field,
                                       const char *prefix);
DORM_API dorm_cond *dorm_model_cond_contains(dorm_expr *x, const dorm_model_desc *m, uint32_t field,
                                    const void *elem);
DORM_API dorm_cond *dorm_model_cond_in(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const void *values,
                              size_t count);
DORM_API dorm_cond *dorm_model_cond_exists(dorm_expr *x, const dorm_model_desc *m, uint32_t field);
DORM_API dorm_cond *dorm_model_cond_not_exists(dorm_expr *x, const dorm_model_desc *m, uint32_t field);

/* ---- DynamoDB Streams ---- */

typedef enum dorm_stream_event { DORM_STREAM_INSERT = 1, DORM_STREAM_MODIFY, DORM_STREAM_REMOVE } dorm_stream_event;

typedef struct dorm_stream_record {
  dorm_stream_event event;
  const char *event_id;
  const char *table_arn;          /* eventSourceARN, "" when absent */
  dorm_av keys;                   /* M */
  bool has_new_image, has_old_image;
  dorm_av new_image, old_image;   /* M */
  const char *sequence_number;    /* dynamodb.SequenceNumber, "" when absent (dorm_streams_seq_cmp orders them) */
  double approximate_created;     /* dynamodb.ApproximateCreationDateTime, seconds since the epoch; 0 when absent */
  int64_t size_bytes;             /* dynamodb.SizeBytes, 0 when absent */
  /* A REMOVE made by DynamoDB's Time to Live, not by a request: the record's
   * userIdentity is {"type":"Service","principalId":"dynamodb.amazonaws.com"}. */
  bool by_ttl;
} dorm_stream_record;

/* Parses a Lambda DynamoDB Streams event ({"Records":[...]}), a GetRecords
 * answer (the same shape; dorm_streams_get_records in dorm/streams.h reads
 * one for you) or a single record. Everything lives in the arena.
 * DORM_ERR_BAD_RESPONSE with a message naming the record for malformed
 * input. */
DORM_API dorm_status dorm_stream_parse(const char *json, size_t len, dorm_arena *a, dorm_stream_record **records,
                              size_t *count, char *errbuf, size_t errcap);

/* ---- tables ---- */

/* A table of the schema as the generator describes it: the CreateTable
 * definition plus its TTL attribute (NULL when none). */
typedef struct dorm_model_table {
  dorm_table_def def;
  const char *ttl_attr;
} dorm_model_table;

/* Makes the table exist as described: creates it unless a table of that
 * name exists, waits until it and its indexes are ACTIVE (timeout_ms; 0: 10
 * minutes), and compares it with the description (DescribeTable,
 * DescribeTimeToLive): its keys, every declared GSI and LSI (keys and
 * projection), the declared stream, and TTL on another attribute than the
 * declared one. A difference is DORM_ERR_SCHEMA_MISMATCH, changing nothing,
 * with dorm_client_errmsg naming each ("ensure: table shop: missing GSI
 * gsi-status; stream is off, the schema declares NEW_AND_OLD_IMAGES; run
 * dormc migrate diff + dorm migrate deploy ..."). What the schema does not
 * declare (another index, a stream) is fine. When everything matches, TTL
 * is enabled if the schema has it and it is off. An existing table is not
 * changed otherwise (schema changes go through migrations). For
 * development, examples and tests. */
DORM_API dorm_status dorm_model_table_ensure(dorm_client *c, const dorm_model_table *t, long timeout_ms);

/* ---- time: dorm/timefmt.h (dorm_time_format, dorm_time_parse, dorm_time_now) ---- */

#ifdef __cplusplus
}
#endif
#endif
