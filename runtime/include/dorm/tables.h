/* DynamoDB control-plane operations: create, change, describe, wait for and
 * delete tables, Time to Live, and listing tables. The migrations engine is
 * built on these.
 *
 *   dorm_gsi_def gsi = {.name = "gsi-status", .pk = {"GSI1PK", DORM_KEY_S},
 *                       .sk = {"GSI1SK", DORM_KEY_S}};
 *   dorm_table_def t = {.name = "shop", .pk = {"PK", DORM_KEY_S}, .sk = {"SK", DORM_KEY_S},
 *                       .gsis = &gsi, .gsi_count = 1};
 *   st = dorm_create_table(c, &t, NULL, NULL);
 *   if (st == DORM_OK) st = dorm_wait_table_active(c, "shop", 60000, NULL, NULL);
 *
 * Definitions are borrowed for the call. Descriptions live in the arena
 * passed in. Request bodies are deterministic: the same definition always
 * gives the same bytes (dorm_table_def_json shows them), so a migration
 * plan can be reviewed and compared.
 *
 * Attribute definitions are derived from the keys of the table and its
 * indexes: each attribute once, in order of first use (table partition
 * key, table sort key, then each GSI's keys, then each LSI's sort key). One
 * name with two different types is DORM_ERR_INVALID_ARGUMENT.
 *
 * Every call returns a dorm_status; on failure dorm_client_errmsg() says
 * why (operation, AWS error code and message, request id). Arguments are
 * checked before anything is sent (DORM_ERR_INVALID_ARGUMENT, the message
 * naming the field, e.g. "CreateTable: gsis[1].pk: no attribute name").
 */
#ifndef DORM_TABLES_H
#define DORM_TABLES_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/client.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The scalar types a key attribute may have. 0 means "no key" (an unset
 * sort key) or, in a description, a type the response did not give. */
typedef enum dorm_key_type {
  DORM_KEY_NONE = 0,
  DORM_KEY_S = 1,
  DORM_KEY_N = 2,
  DORM_KEY_B = 3
} dorm_key_type;

typedef struct dorm_key_attr {
  const char *name;           /* NULL: no such key (an optional sort key) */
  dorm_key_type type;
} dorm_key_attr;

typedef enum dorm_billing_mode {
  DORM_BILLING_ON_DEMAND = 0, /* PAY_PER_REQUEST */
  DORM_BILLING_PROVISIONED = 1
} dorm_billing_mode;

/* Provisioned capacity units. Both 0 means "none" (on-demand). */
typedef struct dorm_throughput {
  int64_t read, write;
} dorm_throughput;

typedef enum dorm_projection_type {
  DORM_PROJECT_ALL = 0,
  DORM_PROJECT_KEYS_ONLY = 1,
  DORM_PROJECT_INCLUDE = 2    /* keys plus `attributes` */
} dorm_projection_type;

typedef struct dorm_projection {
  dorm_projection_type type;
  const char *const *attributes; /* INCLUDE only: 1..100 non-key attribute names */
  size_t attribute_count;
} dorm_projection;

typedef struct dorm_gsi_def {
  const char *name;
  dorm_key_attr pk;
  dorm_key_attr sk;           /* name NULL: partition key only */
  dorm_projection projection; /* zeroed: ALL */
  dorm_throughput throughput; /* required (>= 1 each) on a provisioned table, else 0 */
} dorm_gsi_def;

typedef struct dorm_lsi_def {
  const char *name;
  dorm_key_attr sk;           /* the partition key is the table's */
  dorm_projection projection;
} dorm_lsi_def;

typedef enum dorm_stream_view {
  DORM_STREAM_NONE = 0,       /* no stream (or: disable it, in an update) */
  DORM_STREAM_KEYS_ONLY = 1,
  DORM_STREAM_NEW_IMAGE = 2,
  DORM_STREAM_OLD_IMAGE = 3,
  DORM_STREAM_NEW_AND_OLD_IMAGES = 4
} dorm_stream_view;

/* A table as CreateTable makes it. Zero-initialise and fill what you need:
 * the zero values are on-demand billing, no sort key, no index, no stream,
 * no deletion protection. */
typedef struct dorm_table_def {
  const char *name;           /* 3..255 of [A-Za-z0-9_.-] */
  dorm_key_attr pk;
  dorm_key_attr sk;           /* name NULL: no sort key */
  dorm_billing_mode billing;
  dorm_throughput throughput; /* PROVISIONED only: read and write >= 1 */
  const dorm_gsi_def *gsis;   /* at most 20 */
  size_t gsi_count;
  const dorm_lsi_def *lsis;   /* at most 5; need a table sort key */
  size_t lsi_count;
  dorm_stream_view stream;
  bool deletion_protection;
} dorm_table_def;

/* ---- descriptions (DescribeTable, and what Create/Update/DeleteTable return) ---- */

typedef enum dorm_table_status {
  DORM_TABLE_STATUS_UNKNOWN = 0, /* a value this library does not know: see status_text */
  DORM_TABLE_CREATING,
  DORM_TABLE_UPDATING,
  DORM_TABLE_DELETING,
  DORM_TABLE_ACTIVE,
  DORM_TABLE_INACCESSIBLE_ENCRYPTION_CREDENTIALS,
  DORM_TABLE_ARCHIVING,
  DORM_TABLE_ARCHIVED
} dorm_table_status;

typedef enum dorm_index_status {
  DORM_INDEX_STATUS_UNKNOWN = 0, /* also: LSIs, which have no status */
  DORM_INDEX_CREATING,
  DORM_INDEX_UPDATING,
  DORM_INDEX_DELETING,
  DORM_INDEX_ACTIVE
} dorm_index_status;

typedef struct dorm_index_description {
  const char *name;
  const char *arn;            /* "" when not given */
  dorm_key_attr pk, sk;       /* types from the table's AttributeDefinitions */
  dorm_projection projection; /* attributes in the arena */
  dorm_index_status status;   /* GSIs */
  const char *status_text;    /* "ACTIVE", ...; "" for LSIs */
  bool backfilling;           /* GSI being filled from the table */
  dorm_throughput throughput; /* 0/0 on on-demand tables and for LSIs */
  int64_t item_count, size_bytes;
} dorm_index_description;

typedef struct dorm_table_description {
  const char *name;
  const char *arn;            /* "" when not given */
  const char *id;             /* TableId, "" when not given */
  dorm_table_status status;
  const char *status_text;    /* as DynamoDB sent it */
  double created;             /* CreationDateTime, seconds since the epoch; 0 when not given */
  int64_t item_count, size_bytes; /* DynamoDB updates these about every six hours */
  dorm_key_attr pk, sk;       /* sk.name NULL: no sort key */
  dorm_billing_mode billing;
  dorm_throughput throughput;
  dorm_stream_view stream;    /* NONE when the stream is disabled */
  const char *stream_arn;     /* LatestStreamArn, "" when none */
  const char *stream_label;   /* LatestStreamLabel, "" when none */
  bool deletion_protection;
  dorm_index_description *gsis;
  size_t gsi_count;
  dorm_index_description *lsis;
  size_t lsi_count;
  dorm_key_attr *attributes;  /* AttributeDefinitions, in response order */
  size_t attribute_count;
} dorm_table_description;

/* Names for messages and plans: "ACTIVE", "PAY_PER_REQUEST", "NEW_IMAGE",
 * "KEYS_ONLY", "S"... ("?" for an unknown value). Static strings. */
DORM_API const char *dorm_table_status_name(dorm_table_status s);
DORM_API const char *dorm_billing_mode_name(dorm_billing_mode b);
DORM_API const char *dorm_stream_view_name(dorm_stream_view v);   /* NONE gives "NONE" */
DORM_API const char *dorm_projection_type_name(dorm_projection_type p);
DORM_API const char *dorm_key_type_name(dorm_key_type t);

/* ---- operations ---- */

/* CreateTable. The definition is checked first (names, key types,
 * throughput matching the billing mode, index limits, projections, the
 * derived attribute definitions). out (may be NULL, then a may be NULL too)
 * receives the TableDescription DynamoDB returned, usually CREATING: use
 * dorm_wait_table_active before using the table. A table that exists is
 * DORM_ERR_RESOURCE_IN_USE. */
DORM_API dorm_status dorm_create_table(dorm_client *c, const dorm_table_def *def, dorm_arena *a,
                              dorm_table_description *out);

/* DescribeTable. DORM_ERR_TABLE_NOT_FOUND when there is no such table. */
DORM_API dorm_status dorm_describe_table(dorm_client *c, const char *table, dorm_arena *a,
                                dorm_table_description *out);

/* DeleteTable. out (may be NULL) receives the description DynamoDB returned
 * (DELETING). A table with deletion protection fails with DynamoDB's
 * ValidationException (DORM_ERR_VALIDATION); a missing one is
 * DORM_ERR_TABLE_NOT_FOUND. */
DORM_API dorm_status dorm_delete_table(dorm_client *c, const char *table, dorm_arena *a,
                              dorm_table_description *out);

/* One change for UpdateTable. DynamoDB applies one index change per call
 * and refuses most changes while the table or an index is not ACTIVE, so a
 * migration sends them one by one, waiting in between. */
typedef enum dorm_table_change_kind {
  DORM_CHANGE_BILLING = 1,     /* billing (+ throughput when provisioned; + index_throughputs) */
  DORM_CHANGE_STREAM,          /* stream: a view type enables it, NONE disables it */
  DORM_CHANGE_CREATE_GSI,      /* gsi */
  DORM_CHANGE_DELETE_GSI,      /* index_name */
  DORM_CHANGE_GSI_THROUGHPUT,  /* index_name, throughput */
  DORM_CHANGE_DELETION_PROTECTION /* deletion_protection */
} dorm_table_change_kind;

/* A GSI's capacity, for switching a table with GSIs to provisioned billing
 * (DynamoDB wants one for every GSI then). */
typedef struct dorm_gsi_throughput {
  const char *index_name;
  dorm_throughput throughput;
} dorm_gsi_throughput;

typedef struct dorm_table_change {
  dorm_table_change_kind kind;
  dorm_billing_mode billing;        /* BILLING */
  dorm_throughput throughput;       /* BILLING (provisioned), GSI_THROUGHPUT */
  const dorm_gsi_throughput *index_throughputs; /* BILLING to provisioned */
  size_t index_throughput_count;
  dorm_stream_view stream;          /* STREAM */
  const dorm_gsi_def *gsi;          /* CREATE_GSI: its throughput is sent when not 0/0 (provisioned tables) */
  const char *index_name;           /* DELETE_GSI, GSI_THROUGHPUT */
  bool deletion_protection;         /* DELETION_PROTECTION */
} dorm_table_change;

/* UpdateTable with one change. out (may be NULL) receives the description
 * DynamoDB returned (usually UPDATING, or the new index CREATING). */
DORM_API dorm_status dorm_update_table(dorm_client *c, const char *table, const dorm_table_change *change,
                              dorm_arena *a, dorm_table_description *out);

/* Waits until the table is ACTIVE and every GSI is ACTIVE and not
 * backfilling, polling DescribeTable (every 100 ms at first, backing off to
 * 5 s). A table that does not exist (yet) is waited for too: CreateTable is
 * eventually consistent. After timeout_ms (0: 10 minutes)
 * DORM_ERR_TIMEOUT, the message saying what was still not ready
 * ("table shop not ready after 60000 ms: index gsi-status is CREATING
 * (backfilling)"). Other DescribeTable failures are returned at once. out
 * (may be NULL) receives the last description. */
DORM_API dorm_status dorm_wait_table_active(dorm_client *c, const char *table, long timeout_ms, dorm_arena *a,
                                   dorm_table_description *out);

/* Waits until DescribeTable says the table does not exist (DORM_OK), with
 * the same polling; DORM_ERR_TIMEOUT naming the last status seen. */
DORM_API dorm_status dorm_wait_table_deleted(dorm_client *c, const char *table, long timeout_ms);

/* ---- Time to Live ---- */

typedef enum dorm_ttl_status {
  DORM_TTL_UNKNOWN = 0,
  DORM_TTL_ENABLING,
  DORM_TTL_DISABLING,
  DORM_TTL_ENABLED,
  DORM_TTL_DISABLED
} dorm_ttl_status;

typedef struct dorm_ttl_description {
  dorm_ttl_status status;
  const char *status_text;    /* "ENABLED", ... */
  const char *attribute;      /* the TTL attribute, "" when none */
} dorm_ttl_description;

/* UpdateTimeToLive: enables TTL on attribute, or disables it (DynamoDB wants
 * the attribute that is enabled). Enabling it twice is DynamoDB's
 * ValidationException ("TimeToLive is already enabled"). */
DORM_API dorm_status dorm_update_ttl(dorm_client *c, const char *table, const char *attribute, bool enabled);

/* DescribeTimeToLive. */
DORM_API dorm_status dorm_describe_ttl(dorm_client *c, const char *table, dorm_arena *a, dorm_ttl_description *out);

/* ---- listing ---- */

/* One ListTables page: up to limit names (0: DynamoDB's default, 100)
 * after start (NULL: from the beginning). *names (arena) gets *count names;
 * *next (arena) the LastEvaluatedTableName to continue from, or NULL on
 * the last page. */
DORM_API dorm_status dorm_list_tables_page(dorm_client *c, const char *start, uint32_t limit, dorm_arena *a,
                                  const char ***names, size_t *count, const char **next);

/* Every table name, following all pages (page_limit names per request; 0:
 * DynamoDB's default). *names (arena) gets *count names in DynamoDB's order. */
DORM_API dorm_status dorm_list_tables(dorm_client *c, uint32_t page_limit, dorm_arena *a, const char ***names,
                             size_t *count);

/* ---- request bodies (what the calls above send) ---- */

/* The CreateTable request body for def, checked as dorm_create_table does,
 * as NUL-terminated JSON in the arena. On failure errbuf (may be NULL) says
 * what is wrong. For plans, dry runs and golden tests. */
DORM_API dorm_status dorm_table_def_json(const dorm_table_def *def, dorm_arena *a, const char **json, size_t *len,
                                char *errbuf, size_t errcap);

/* The UpdateTable request body for one change. */
DORM_API dorm_status dorm_table_change_json(const char *table, const dorm_table_change *change, dorm_arena *a,
                                   const char **json, size_t *len, char *errbuf, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif
