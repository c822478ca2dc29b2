/* ct_scenario: a contract scenario file parsed into steps.
 *
 * Everything is checked and converted when the file is read, before any
 * request is sent: op names and members, model attributes, values typed
 * by each field's type and turned into model structs (dorm_model_from_av
 * with DORM_READ_PARTIAL, the generated code's own reader), expectation
 * names and error names. A scenario that reads is a scenario that runs.
 * The format is described in tests/contract/README.md.
 */
#ifndef CT_SCENARIO_H
#define CT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dorm/arena.h>
#include <dorm/av.h>
#include <dorm/model.h>

#include "ct_models.h"

typedef enum ct_op {
  CT_OP_CREATE = 1,
  CT_OP_GET,
  CT_OP_UPDATE,
  CT_OP_DELETE,
  CT_OP_SLEEP,
  CT_OP_QUERY,
  CT_OP_SCAN,
  CT_OP_BATCH_GET,
  CT_OP_BATCH_WRITE,
  CT_OP_TRANSACT_WRITE,
  CT_OP_ENCODE_CURSOR
} ct_op;

/* attribute -> expected value (field: the model field, value NULL-typed
 * (DORM_AV_INVALID) when the attribute must be absent). */
typedef struct ct_attrval {
  const char *attr;
  int field;
  dorm_av value;
} ct_attrval;
typedef struct ct_attrvals {
  ct_attrval *items;
  size_t count;
} ct_attrvals;

typedef struct ct_names {
  const char **items;
  size_t count;
} ct_names;

/* Two strings: attribute and variable, attribute and type name, variable
 * and attribute (save). */
typedef struct ct_pair {
  const char *a, *b;
} ct_pair;
typedef struct ct_pairs {
  ct_pair *items;
  size_t count;
} ct_pairs;

typedef struct ct_expect {
  bool has_ok, ok;
  const char *error;             /* DynamORM error name, or NULL */
  bool has_error_index;
  size_t error_index;
  ct_attrvals item_contains;
  ct_names has_fields, missing_fields;
  ct_pairs raw_types;            /* attribute, DynamoDB type name */
  ct_pairs equals_var, not_equals_var; /* attribute, variable */
  bool has_count;
  size_t count;
  bool has_items;
  ct_attrvals *items;            /* subset matches, in order */
  size_t nitems;
  bool has_has_more, has_more;
  const char *cursor_equals;     /* literal, or "$var"; NULL: not checked */
} ct_expect;

/* A write condition in a transaction. */
typedef enum ct_cond_kind { CT_COND_NONE = 0, CT_COND_EXISTS, CT_COND_NOT_EXISTS, CT_COND_VERSION } ct_cond_kind;
typedef struct ct_cond {
  ct_cond_kind kind;
  uint32_t field;                /* EXISTS, NOT_EXISTS */
  int64_t version;               /* VERSION */
} ct_cond;

typedef enum ct_tx_kind { CT_TX_PUT = 1, CT_TX_CREATE, CT_TX_UPDATE, CT_TX_DELETE, CT_TX_CHECK } ct_tx_kind;
typedef struct ct_txop {
  ct_tx_kind kind;
  void *obj;                     /* item (put/create/update) or key (delete/check) */
  uint32_t *fields;              /* update */
  size_t nfields;
  bool item_has_version;         /* update: the item gave a version to check */
  ct_cond cond;
} ct_txop;

/* A filter term of a query or scan (ANDed). */
typedef enum ct_filter_op {
  CT_F_EQ = 1,
  CT_F_NE,
  CT_F_LT,
  CT_F_LE,
  CT_F_GT,
  CT_F_GE,
  CT_F_BETWEEN,
  CT_F_BEGINS_WITH,
  CT_F_CONTAINS,
  CT_F_EXISTS,
  CT_F_NOT_EXISTS
} ct_filter_op;
typedef struct ct_filter {
  ct_filter_op op;
  uint32_t field;
  const void *lo, *hi;           /* model structs holding the value(s) in `field` */
  const char *prefix;            /* BEGINS_WITH */
  bool elem;                     /* CONTAINS on a set/list: lo holds a one-element collection */
} ct_filter;

typedef struct ct_step {
  ct_op op;
  const char *opname;
  size_t number;                 /* 1-based */
  size_t line;
  void *obj;                     /* create/update: item; get/delete: key */
  bool if_not_exists;
  uint32_t *fields;              /* update: fields; query/scan: projection */
  size_t nfields;
  long ms;                       /* sleep */
  ct_pairs save;                 /* get: variable, attribute */
  /* query / scan */
  uint32_t index;
  void *pk_obj;
  dorm_sk_op sk_op;
  void *lo, *hi;
  const char *prefix;
  uint32_t limit;
  bool descending;
  const char *cursor;            /* literal or "$var"; NULL: from the start */
  const char *save_cursor;
  ct_filter *filters;
  size_t nfilters;
  /* batch_get: keys; batch_write: puts and deletes (arrays of model structs) */
  void *objs;
  size_t nobjs;
  void *dels;
  size_t ndels;
  /* transact_write */
  ct_txop *tx;
  size_t ntx;
  /* encode_cursor */
  dorm_av cursor_key;
  const char *cursor_index, *cursor_sort;
  ct_expect expect;
} ct_step;

typedef struct ct_scenario {
  const char *path;
  const char *name;
  ct_model *model;               /* NULL: a scenario without a model (encode_cursor, sleep only) */
  ct_step *steps;
  size_t nsteps;
} ct_scenario;

/* Reads and checks the scenario at path against the usable models (compiled
 * and listed by --dms). Everything lives in a. Returns 0; -1 with
 * "file:line:col: message" in err (*io_error set when the file could not
 * be read at all). */
int ct_scenario_load(const char *path, ct_models *ms, dorm_arena *a, ct_scenario *out, char *err, size_t errcap,
                     bool *io_error);

/* Whether a DynamORM error name is one dorm-contract knows. */
bool ct_error_name_known(const char *name);

#endif
