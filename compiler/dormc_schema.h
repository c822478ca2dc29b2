/* The resolved schema: what semantic analysis makes of the .dorm files and
 * what every generator (model code, migrations, endpoints, DMS) consumes.
 *
 * Everything is owned by the compilation (dormc.h) and read-only. Arrays are
 * in declaration order, declarations of imported files first (in import
 * order, depth first), so output built from a schema is deterministic.
 * Pointers between entities (a model's table, a type's enum) point into the
 * same schema.
 *
 * C naming scheme for generated code (computed here so collisions can be
 * diagnosed before any code is generated):
 *   prefix       the namespace with '.' replaced by '_'       shop, dynamorm_contract
 *   types        <prefix>_<Decl>                              shop_Order, shop_OrderStatus
 *   functions    <prefix>_<Model>_<op>                        shop_Order_put
 *   enum consts  <PREFIX>_<ENUM>_<MEMBER>, all upper case, the enum's and the
 *                member's names in UPPER_SNAKE               SHOP_ORDER_STATUS_PENDING
 *   members      the field name as written                    customerId
 * Each model and endpoint reserves every name that starts with
 * "<prefix>_<Name>_" for its generated functions and helper types, so another
 * generated name with that prefix is a collision. A field whose name is a C
 * keyword (or bool/true/false) is an error: rename it and keep the stored
 * attribute with @name("...").
 */
#ifndef DORMC_SCHEMA_H
#define DORMC_SCHEMA_H

#include "dormc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dormc_type_kind {
  DORMC_T_STRING,
  DORMC_T_INT,
  DORMC_T_FLOAT,
  DORMC_T_DECIMAL,
  DORMC_T_BOOL,
  DORMC_T_BYTES,
  DORMC_T_TIME,
  DORMC_T_EPOCH,
  DORMC_T_JSON,
  DORMC_T_SET,
  DORMC_T_LIST,
  DORMC_T_MAP,
  DORMC_T_ENUM,
  DORMC_T_STRUCT
} dormc_type_kind;

struct dormc_enum;
struct dormc_struct;
struct dormc_model;
struct dormc_table;
struct dormc_index;

typedef struct dormc_type {
  dormc_type_kind kind;
  bool optional;                    /* T? (for elements: list<int?>, map<T?>) */
  const struct dormc_type *elem;    /* SET, LIST, MAP: element (map keys are strings) */
  const struct dormc_enum *enum_;   /* ENUM */
  const struct dormc_struct *struct_; /* STRUCT */
} dormc_type;

typedef enum dormc_naming { DORMC_NAMING_CAMEL = 0, DORMC_NAMING_SNAKE = 1 } dormc_naming;

/* Role bits of a field (dormc_field.roles). */
enum {
  DORMC_ROLE_PK = 1u << 0,
  DORMC_ROLE_SK = 1u << 1,
  DORMC_ROLE_CREATED_AT = 1u << 2,
  DORMC_ROLE_UPDATED_AT = 1u << 3,
  DORMC_ROLE_VERSION = 1u << 4,
  DORMC_ROLE_TTL = 1u << 5
};

/* A field's default (`component: string = "general";`): the value an item
 * that lacks the attribute reads as, and the value a migration that adds
 * the field backfills. Kept in stored form: S text (a string, an enum's
 * stored value, a time as fixed-width UTC), N text, or BOOL. */
typedef enum dormc_default_kind { DORMC_DEFAULT_S, DORMC_DEFAULT_N, DORMC_DEFAULT_BOOL } dormc_default_kind;
typedef struct dormc_default {
  dormc_default_kind kind;
  const char *text;       /* S and N: the stored text; BOOL: "true" or "false" */
  const char *c_value;    /* the C initializer of the member's type: "\"general\"", "-1",
                             "SHOP_TIER_STANDARD", nanoseconds for a time */
  dormc_loc loc;
} dormc_default;

typedef struct dormc_field {
  const char *name;       /* as written; also the C member name */
  /* Stored attribute name. For model fields: after the model's naming and
   * @name. For struct fields it depends on the model that stores the struct:
   * attr_by_naming[model->naming]; attr is then the camelCase one. For
   * endpoint fields: the JSON member name (name, or @name). */
  const char *attr;
  const char *attr_by_naming[2];
  const char *explicit_attr; /* the @name("...") value, or NULL */
  dormc_type type;
  bool optional;          /* == type.optional */
  bool omit_empty;
  unsigned roles;         /* DORMC_ROLE_* bits */
  const dormc_default *dflt; /* NULL: no default */
  dormc_loc loc;
  /* @encrypted: stored as DynamORM's envelope (AES-256-GCM under a KMS data
   * key). kms_key is @encrypted("...")'s key (ARN, alias/..., key id), or
   * NULL for the key configured at run time. Appended so that positional
   * initializers elsewhere keep their meaning. */
  bool encrypted;
  const char *kms_key;
  dormc_loc encrypted_loc;
} dormc_field;

typedef struct dormc_enum_member {
  const char *name;
  const char *value;      /* stored value ("pending", or the explicit one) */
  const char *c_name;     /* SHOP_ORDER_STATUS_PENDING */
  dormc_loc loc;
} dormc_enum_member;

typedef struct dormc_enum {
  const char *name;
  const char *c_name;     /* shop_OrderStatus */
  const dormc_enum_member *members;
  size_t nmembers;
  dormc_loc loc;
} dormc_enum;

typedef struct dormc_struct {
  const char *name;
  const char *c_name;
  const dormc_field *fields;
  size_t nfields;
  dormc_loc loc;
} dormc_struct;

typedef enum dormc_key_type { DORMC_KEY_S, DORMC_KEY_N, DORMC_KEY_B } dormc_key_type;

typedef struct dormc_key_attr {
  const char *attr;       /* NULL when absent (no sort key) */
  dormc_key_type type;
} dormc_key_attr;

typedef enum dormc_index_kind { DORMC_GSI, DORMC_LSI } dormc_index_kind;
typedef enum dormc_projection { DORMC_PROJECT_ALL, DORMC_PROJECT_KEYS_ONLY, DORMC_PROJECT_INCLUDE } dormc_projection;

typedef struct dormc_index {
  const char *name;
  dormc_index_kind kind;
  dormc_key_attr pk;      /* for an LSI: the table's partition key */
  dormc_key_attr sk;      /* sk.attr NULL: no sort key */
  dormc_projection projection;
  const char *const *include; /* DORMC_PROJECT_INCLUDE: attribute names */
  size_t ninclude;
  const struct dormc_table *table;
  const struct dormc_model *const *models; /* models that fill it */
  size_t nmodels;
  dormc_loc loc;
} dormc_index;

typedef enum dormc_billing { DORMC_BILLING_ON_DEMAND, DORMC_BILLING_PROVISIONED } dormc_billing;
typedef enum dormc_stream {
  DORMC_STREAM_NONE,
  DORMC_STREAM_KEYS_ONLY,
  DORMC_STREAM_NEW_IMAGE,
  DORMC_STREAM_OLD_IMAGE,
  DORMC_STREAM_NEW_AND_OLD_IMAGES
} dormc_stream;

typedef struct dormc_table {
  const char *name;           /* identifier; for an owned table the model's name */
  const char *physical_name;  /* the DynamoDB table name */
  dormc_key_attr pk;
  dormc_key_attr sk;          /* sk.attr NULL: no sort key */
  dormc_billing billing;
  int64_t read_capacity, write_capacity; /* PROVISIONED only (GSIs use the same) */
  dormc_stream stream;
  const char *ttl_attr;       /* NULL: no TTL */
  const dormc_index *gsis;
  size_t ngsis;
  const dormc_index *lsis;
  size_t nlsis;
  const struct dormc_model *const *models; /* models stored in it */
  size_t nmodels;
  const struct dormc_model *owner; /* `model X table "name"`; NULL for a shared table */
  dormc_loc loc;
} dormc_table;

typedef enum dormc_tpl_kind { DORMC_TPL_LITERAL, DORMC_TPL_FIELD } dormc_tpl_kind;

typedef struct dormc_tpl_part {
  dormc_tpl_kind kind;
  const char *text;           /* LITERAL: the text */
  const dormc_field *field;   /* FIELD: the model field */
} dormc_tpl_part;

/* How a model fills one key attribute of its table or of an index: either a
 * field stores it directly, or a template computes it (always a string). */
typedef struct dormc_key_binding {
  const char *attr;
  dormc_key_type type;
  const dormc_field *field;     /* direct field, or NULL for a template */
  const dormc_tpl_part *parts;  /* template parts (field == NULL) */
  size_t nparts;
  const char *template_text;    /* template as written, NULL for a field */
  bool constant;                /* a template of literal text only */
  dormc_loc loc;
} dormc_key_binding;

typedef struct dormc_model {
  const char *name;
  const char *c_name;           /* shop_Order */
  const char *entity_type;      /* `type "Order"`, stored in "_type"; NULL if none */
  dormc_naming naming;
  const dormc_table *table;
  const dormc_field *fields;
  size_t nfields;
  /* The table's partition (and sort) key bindings first, then the bound
   * index key attributes in index order. */
  const dormc_key_binding *bindings;
  size_t nbindings;
  const dormc_key_binding *pk, *sk; /* sk NULL when the table has none */
  const dormc_field *created_at, *updated_at, *version, *ttl; /* NULL if absent */
  const dormc_index *const *indexes; /* indexes this model fills */
  size_t nindexes;
  dormc_loc loc;
} dormc_model;

typedef enum dormc_endpoint_mode { DORMC_ENDPOINT_SYNC, DORMC_ENDPOINT_ASYNC } dormc_endpoint_mode;

typedef struct dormc_endpoint {
  const char *name;
  const char *c_name;           /* shop_GenerateReport */
  dormc_endpoint_mode mode;
  const dormc_field *request;
  size_t nrequest;
  const dormc_field *progress;
  size_t nprogress;
  bool has_progress;            /* a progress block was written (maybe empty) */
  const dormc_field *result;
  size_t nresult;
  const char *const *scopes;    /* auth scopes the JWT must carry */
  size_t nscopes;
  int64_t timeout_ms;           /* default: async 15m, sync 5s */
  dormc_loc loc;
} dormc_endpoint;

typedef struct dormc_schema {
  const char *namespace_;       /* "shop", "dynamorm.contract" */
  const char *c_prefix;         /* "shop", "dynamorm_contract" */
  const dormc_enum *enums;
  size_t nenums;
  const dormc_struct *structs;
  size_t nstructs;
  const dormc_table *tables;    /* shared tables first, then owned tables in model order */
  size_t ntables;
  const dormc_model *models;
  size_t nmodels;
  const dormc_endpoint *endpoints;
  size_t nendpoints;
} dormc_schema;

/* The DynamoDB attribute type of a value of this type: "S", "N", "B",
 * "BOOL", "SS", "NS", "BS", "L" or "M". */
const char *dormc_type_ddb(const dormc_type *t);

/* The DMS format of a type ("int", "unix_seconds", "rfc3339nano") or NULL. */
const char *dormc_type_dms_format(const dormc_type *t);

/* The type as written in .dorm ("list<string?>"), into buf (truncated). */
const char *dormc_type_str(const dormc_type *t, char *buf, size_t cap);

/* "S", "N" or "B". */
const char *dormc_key_type_str(dormc_key_type t);

/* The binding of attr in a model, or NULL. */
const dormc_key_binding *dormc_model_binding(const dormc_model *m, const char *attr);

/* Lookups by name (NULL when absent). */
const dormc_model *dormc_schema_model(const dormc_schema *s, const char *name);
const dormc_table *dormc_schema_table(const dormc_schema *s, const char *name);
const dormc_enum *dormc_schema_enum(const dormc_schema *s, const char *name);
const dormc_struct *dormc_schema_struct(const dormc_schema *s, const char *name);
const dormc_endpoint *dormc_schema_endpoint(const dormc_schema *s, const char *name);
const dormc_field *dormc_model_field(const dormc_model *m, const char *name);

#ifdef __cplusplus
}
#endif
#endif
