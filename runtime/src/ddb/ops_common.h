/* ops_common: pieces every operation module shares (request preamble,
 * response parsing, argument checks). */
#ifndef DORM_OPS_COMMON_H
#define DORM_OPS_COMMON_H

#include <cjson/cJSON.h>

#include "aws_internal.h"
#include "dorm/ops.h"
#include "core_internal.h"

/* Fails the operation with DORM_ERR_INVALID_ARGUMENT unless cond holds. */
#define OPS_REQUIRE(c, op, cond, what)                                                  \
  do {                                                                                  \
    if (!(cond)) return dorm__client_fail((c), DORM_ERR_INVALID_ARGUMENT, (op), "%s", (what)); \
  } while (0)

/* Starts a request body: a fresh writer, '{' and "TableName". */
dorm_jw *dorm__ops_begin(dorm_client *c, const char *table);

/* For a failed call on one table: DynamoDB's ResourceNotFoundException says
 * only "Cannot do operations on a non-existent table", so the client's error
 * gets the table's name after the operation ("GetItem: table \"orders\":
 * ResourceNotFoundException: ..."). Other statuses are left as they are.
 * Returns st. Only on the failure branch: a success costs nothing. */
dorm_status dorm__ops_table_failed(dorm_client *c, dorm_status st, const char *op, const char *table);

/* Writes "ReturnValues" when rv is not NONE, and
 * "ReturnValuesOnConditionCheckFailure":"ALL_OLD" when on_fail. */
void dorm__ops_return_values(dorm_jw *w, dorm_return_values rv, bool on_fail);

/* Checks the expression builder before it is written: a builder in error
 * state fails the operation with its message. */
dorm_status dorm__ops_check_expr(dorm_client *c, const char *op, dorm_expr *x);

/* Checks that an item is an M no bigger than DynamoDB's 400 KB. */
dorm_status dorm__ops_check_item(dorm_client *c, const char *op, const dorm_av *item, const char *what);
/* A key map (M) naming an attribute twice: DORM_ERR_INVALID_ARGUMENT on c
 * naming it, else DORM_OK. BatchGetItem checks every key up front with it
 * (nothing sent); a single request's maps are checked by the writer. */
dorm_status dorm__ops_check_key_names(dorm_client *c, const char *op, const dorm_av *key, const char *what);

/* Parses a successful response body. On failure the client's error says
 * what was wrong (DORM_ERR_BAD_RESPONSE). The caller cJSON_Delete()s. */
dorm_status dorm__ops_parse(dorm_client *c, const char *op, const char *body, size_t len, cJSON **root);
/* The same for the hot path's responses (items, pages, batches,
 * transactions): jsmn first (json_jsmn.c). Release *root with
 * dorm__json_free. */
dorm_status dorm__ops_parse_fast(dorm_client *c, const char *op, const char *body, size_t len, cJSON **root);

/* Reads the map member `member` (Item, Attributes, ...) of root into *out. */
dorm_status dorm__ops_member_item(dorm_client *c, const char *op, const cJSON *root, const char *member,
                            dorm_arena *a, dorm_av *out, bool *found);

/* After a failed conditional write: when the error body carries the old
 * item (ReturnValuesOnConditionCheckFailure), stores it in out. */
void dorm__ops_condition_failure_item(dorm_client *c, dorm_arena *a, dorm_write_result *out);

/* A Scan for a caller that sends it itself (through a dorm_pool): checks it
 * as dorm_scan does and writes its body into the client's writer; *body is
 * valid until the client's next call. Failures are reported through the
 * client, nothing is written. */
dorm_status dorm__scan_body(dorm_client *c, const dorm_scan_input *in, const char **body, size_t *len);
/* Reads a Query or Scan response body (one that answered such a request)
 * into page, values in arena a. Failures are reported through the client. */
dorm_status dorm__page_parse(dorm_client *c, const char *op, const char *body, size_t len, dorm_arena *a,
                             dorm_page *page);

/* A put of BatchWriteItem whose item the caller already wrote as DynamoDB
 * JSON text (the model layer, straight from a struct), checked as
 * dorm_batch_write checks a dorm_av: a valid item of at most
 * DORM_ITEM_MAX_BYTES. The text is sent verbatim, never parsed but to match
 * an UnprocessedItems answer. */
typedef struct dorm__bw_text {
  const char *table;
  const char *json;
  size_t len;
} dorm__bw_text;

/* dorm_batch_write of n such puts (the caller keeps them until it returns):
 * the same chunking, requests in flight, retries and errors, without
 * re-checking or re-encoding the items. */
dorm_status dorm__batch_write_text(dorm_client *c, const dorm__bw_text *puts, size_t n,
                                   const dorm_batch_write_options *opts, size_t *written);

#endif
