/* DynamoDB data-plane operations over dynamic AttributeValues.
 *
 * Every operation takes the client, an input struct (all borrowed: the
 * strings, items and expression builders must stay valid during the call),
 * an arena for what it returns, and returns a dorm_status; on failure
 * dorm_client_errmsg() says why. Items are dorm_av maps (DORM_AV_M).
 * Expressions come from a dorm_expr builder (dorm/expr.h): one builder per
 * request carries its condition / key condition / filter / update /
 * projection and the placeholder maps they share.
 *
 * The generated model code is built on these same functions, so everything
 * here is also what a typed call does underneath.
 */
#ifndef DORM_OPS_H
#define DORM_OPS_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/client.h"
#include "dorm/expr.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ReturnValues of the write operations. */
typedef enum dorm_return_values {
  DORM_RETURN_NONE = 0,
  DORM_RETURN_ALL_OLD,
  DORM_RETURN_UPDATED_OLD, /* UpdateItem only */
  DORM_RETURN_ALL_NEW,     /* UpdateItem only */
  DORM_RETURN_UPDATED_NEW  /* UpdateItem only */
} dorm_return_values;

/* ---- single items ---- */

typedef struct dorm_get_input {
  const char *table;
  const dorm_av *key;         /* M with the key attributes */
  bool consistent_read;
  dorm_expr *expr;        /* projection, or NULL for the whole item */
} dorm_get_input;

/* GetItem. DORM_OK: *item is the item (in the arena). DORM_ERR_NOT_FOUND
 * when there is none (*item is then an empty M). */
DORM_API dorm_status dorm_get_item(dorm_client *c, const dorm_get_input *in, dorm_arena *a, dorm_av *item);

typedef struct dorm_put_input {
  const char *table;
  const dorm_av *item;        /* M; checked against DORM_ITEM_MAX_BYTES before sending */
  dorm_expr *expr;        /* condition, or NULL */
  dorm_return_values return_values;   /* NONE or ALL_OLD */
  /* On a failed condition, return the item as it was (ReturnValuesOnConditionCheckFailure=ALL_OLD). */
  bool return_old_on_condition_failure;
} dorm_put_input;

/* The attributes a write returned: the old or new item per ReturnValues, or,
 * after DORM_ERR_CONDITION_FAILED with return_old_on_condition_failure, the
 * item that failed the condition. present is false when there was none. */
typedef struct dorm_write_result {
  bool present;
  dorm_av attributes;         /* M, in the arena */
} dorm_write_result;

/* PutItem. out may be NULL. */
DORM_API dorm_status dorm_put_item(dorm_client *c, const dorm_put_input *in, dorm_arena *a, dorm_write_result *out);

typedef struct dorm_update_input {
  const char *table;
  const dorm_av *key;
  dorm_expr *expr;        /* the update actions (required) and an optional condition */
  dorm_return_values return_values;
  bool return_old_on_condition_failure;
} dorm_update_input;

/* UpdateItem. out may be NULL. */
DORM_API dorm_status dorm_update_item(dorm_client *c, const dorm_update_input *in, dorm_arena *a,
                             dorm_write_result *out);

typedef struct dorm_delete_input {
  const char *table;
  const dorm_av *key;
  dorm_expr *expr;        /* condition, or NULL */
  dorm_return_values return_values;   /* NONE or ALL_OLD */
  bool return_old_on_condition_failure;
} dorm_delete_input;

/* DeleteItem. Deleting an item that does not exist is DORM_OK (as in
 * DynamoDB); add an attribute_exists condition to make it an error. */
DORM_API dorm_status dorm_delete_item(dorm_client *c, const dorm_delete_input *in, dorm_arena *a,
                             dorm_write_result *out);

/* ---- query and scan ---- */

typedef enum dorm_select {
  DORM_SELECT_DEFAULT = 0,       /* ALL_ATTRIBUTES, or the projection when one is set */
  DORM_SELECT_ALL_ATTRIBUTES,
  DORM_SELECT_ALL_PROJECTED_ATTRIBUTES,
  DORM_SELECT_COUNT
} dorm_select;

typedef struct dorm_query_input {
  const char *table;
  const char *index;          /* GSI/LSI name, or NULL for the table */
  dorm_expr *expr;        /* key condition (required), filter and projection */
  uint32_t limit;             /* items evaluated per page (DynamoDB's Limit); 0: no limit */
  bool descending;            /* ScanIndexForward = false */
  bool consistent_read;       /* table and LSI only */
  dorm_select select;
  const dorm_av *start_key;   /* ExclusiveStartKey (a page's last_key), or NULL */
} dorm_query_input;

typedef struct dorm_scan_input {
  const char *table;
  const char *index;
  dorm_expr *expr;        /* filter and projection, or NULL */
  uint32_t limit;
  bool consistent_read;
  dorm_select select;
  const dorm_av *start_key;
  uint32_t segment, total_segments; /* parallel scan; total_segments 0: not parallel */
} dorm_scan_input;

/* One page of results. */
typedef struct dorm_page {
  dorm_av *items;             /* count M values, in the arena */
  size_t count;               /* items returned (Count) */
  size_t scanned_count;       /* items evaluated before the filter (ScannedCount) */
  bool has_more;              /* DynamoDB returned a non-empty LastEvaluatedKey */
  dorm_av last_key;           /* that key (an M, in the arena) when has_more */
} dorm_page;

/* One Query / Scan request: a single page. Continue with
 * in->start_key = &page.last_key while page.has_more. */
DORM_API dorm_status dorm_query(dorm_client *c, const dorm_query_input *in, dorm_arena *a, dorm_page *page);
DORM_API dorm_status dorm_scan(dorm_client *c, const dorm_scan_input *in, dorm_arena *a, dorm_page *page);

/* Iterates over pages without the caller keeping the last key alive: the
 * pager copies it into its own arena, so the caller may reset the page arena
 * between pages.
 *
 *   dorm_pager p;
 *   dorm_pager_init_query(&p, c, &in);
 *   while ((st = dorm_pager_next(&p, &arena, &page)) == DORM_OK && !p.done) {
 *     ... page.items ...; dorm_arena_reset(&arena);
 *   }
 *   dorm_pager_free(&p);
 *
 * dorm_pager_next returns DORM_OK with done set (and an empty page) once the
 * last page has been returned. max_items (0: none) stops after that many
 * items in total: each request's Limit is lowered to what remains, so the
 * last page ends exactly there and its last_key (has_more) resumes after it.
 * With a filter (Limit counts items before it) the Limit is left alone and
 * the last page, returned whole, may go past max_items. */
typedef struct dorm_pager {
  dorm_client *client;
  bool is_scan;
  dorm_query_input query;
  dorm_scan_input scan;
  dorm_arena key_arena;
  dorm_av next_key;
  bool started, exhausted, done;
  uint64_t items_seen, max_items;
} dorm_pager;

DORM_API void dorm_pager_init_query(dorm_pager *p, dorm_client *c, const dorm_query_input *in);
DORM_API void dorm_pager_init_scan(dorm_pager *p, dorm_client *c, const dorm_scan_input *in);
DORM_API dorm_status dorm_pager_next(dorm_pager *p, dorm_arena *a, dorm_page *page);
DORM_API void dorm_pager_free(dorm_pager *p);

/* Parallel scan: total_segments segments scanned with up to `workers`
 * requests in flight (1..64), all from the calling thread over c (a
 * dorm_pool, dorm/pool.h: no threads, one connection per request in flight);
 * every page is handed to on_page, on the calling thread, one at a time, so
 * it needs no locking; the page and its arena are valid only during the
 * call. A non-OK status from on_page stops the scan and is returned. The
 * first error of any segment stops the others (requests in flight finish,
 * their pages are dropped); its message is in dorm_client_errmsg(c). */
typedef dorm_status (*dorm_page_fn)(void *user, uint32_t segment, const dorm_page *page);
DORM_API dorm_status dorm_scan_parallel(dorm_client *c, const dorm_scan_input *in, uint32_t total_segments,
                               uint32_t workers, dorm_page_fn on_page, void *user);

/* ---- batches ---- */

typedef struct dorm_batch_get_entry {
  const char *table;
  const dorm_av *key;
} dorm_batch_get_entry;

typedef struct dorm_batch_get_options {
  bool consistent_read;
  /* Projection per table is not offered: a batch returns whole items. */
  uint32_t max_rounds;        /* retries of UnprocessedKeys without progress; 0: 8 */
  uint32_t max_in_flight;     /* requests in flight at once (dorm/pool.h); 0: 8, 1: one at a time */
} dorm_batch_get_options;

/* BatchGetItem over any number of keys: sent in chunks of 100 (duplicate
 * keys are fetched once), up to max_in_flight requests at once from this
 * thread (a dorm_pool over c), UnprocessedKeys retried with backoff. items[i]
 * (caller array of n) receives the item for entries[i], or an av of type
 * DORM_AV_INVALID when there is no such item; *found (may be NULL) counts
 * the items found. opts may be NULL. */
DORM_API dorm_status dorm_batch_get(dorm_client *c, const dorm_batch_get_entry *entries, size_t n,
                           const dorm_batch_get_options *opts, dorm_arena *a, dorm_av *items,
                           size_t *found);

typedef struct dorm_batch_write_entry {
  const char *table;
  const dorm_av *put_item;    /* exactly one of put_item and delete_key */
  const dorm_av *delete_key;
} dorm_batch_write_entry;

typedef struct dorm_batch_write_options {
  uint32_t max_rounds;        /* retries of UnprocessedItems without progress; 0: 8 */
  uint32_t max_in_flight;     /* requests in flight at once (dorm/pool.h); 0: 8, 1: one at a time */
} dorm_batch_write_options;

/* BatchWriteItem over any number of writes: chunks of 25, up to
 * max_in_flight requests at once from this thread (a dorm_pool over c, which
 * c keeps between calls so its connections stay open; freed with c),
 * UnprocessedItems retried with backoff until all are written. With more
 * than one request in flight, chunks complete in any order: two writes of
 * the same item in one call may land in either order (keep one write per
 * item, as DynamoDB requires within a chunk anyway). After the first failed
 * request no new chunk is sent; those in flight finish and are counted. On failure *written (may be
 * NULL) says how many entries are known to be written; the rest may or may
 * not be. opts may be NULL. Every entry is checked before the first
 * request: a bad one (no table, not a map, over DORM_ITEM_MAX_BYTES, invalid
 * UTF-8 or number, empty set) fails the call with nothing sent, *written 0,
 * and a message naming it ("entries[517].put_item.addr.lines[1]: ..."). */
DORM_API dorm_status dorm_batch_write(dorm_client *c, const dorm_batch_write_entry *entries, size_t n,
                             const dorm_batch_write_options *opts, size_t *written);

/* ---- transactions ---- */

typedef enum dorm_tx_kind {
  DORM_TX_PUT = 1,
  DORM_TX_UPDATE,
  DORM_TX_DELETE,
  DORM_TX_CONDITION_CHECK
} dorm_tx_kind;

typedef struct dorm_tx_write {
  dorm_tx_kind kind;
  const char *table;
  const dorm_av *item;        /* PUT */
  const dorm_av *key;         /* UPDATE, DELETE, CONDITION_CHECK */
  dorm_expr *expr;        /* condition (all kinds; required for CONDITION_CHECK), update (UPDATE) */
  bool return_old_on_condition_failure;
  /* Names the action in messages ("Issue PK=TENANT#t1, SK=ISSUE#42"; the
   * model layer sets it). NULL: the key's attributes (nothing for a Put). */
  const char *label;
} dorm_tx_write;

#define DORM_TX_MAX_ACTIONS 100

/* TransactWriteItems with 1..100 actions. A ClientRequestToken is made (or
 * token is used when not NULL) and kept across retries, so a retried
 * transaction is applied once. A cancelled transaction is, as DynamORM's Go
 * SDK reports it, DORM_ERR_CONDITION_FAILED (ErrConditionFailed) when any
 * action's reason is ConditionalCheckFailed, else
 * DORM_ERR_TRANSACTION_CANCELLED (ErrTransactionFailed); either way
 * dorm_client_cancel_reasons() gives each action's reason,
 * dorm_client_error_code() is "TransactionCanceledException", *failed_index
 * (may be NULL) is the first ConditionalCheckFailed action, else the first
 * whose reason is not "None" (SIZE_MAX when none is given), and
 * dorm_client_errmsg() names that action, its key (or label) and table:
 * "TransactWriteItems: action 1 (Update Issue PK=TENANT#t1, SK=ISSUE#42 on
 * tracker): ConditionalCheckFailed: ...". */
DORM_API dorm_status dorm_transact_write(dorm_client *c, const dorm_tx_write *actions, size_t n,
                                const char *token, size_t *failed_index);

/* After a cancelled dorm_transact_write: the item as it was for action i,
 * when that action set return_old_on_condition_failure and its condition
 * failed (DynamoDB puts it in the action's cancellation reason). DORM_OK with
 * *item (an M in a); DORM_ERR_NOT_FOUND when the reason carries no item or i
 * is not an action of the last cancellation (*item is then a zeroed
 * dorm_av); DORM_ERR_BAD_RESPONSE when the item does not parse. Valid until
 * the client's next operation; leaves its last error alone. */
DORM_API dorm_status dorm_transact_cancel_item(const dorm_client *c, size_t i, dorm_arena *a, dorm_av *item);

typedef struct dorm_tx_get {
  const char *table;
  const dorm_av *key;
  dorm_expr *expr;        /* projection, or NULL */
} dorm_tx_get;

/* TransactGetItems with 1..100 gets; items[i] receives the item or an av of
 * type DORM_AV_INVALID when none. Cancellations are reported as for
 * dorm_transact_write. */
DORM_API dorm_status dorm_transact_get(dorm_client *c, const dorm_tx_get *gets, size_t n, dorm_arena *a,
                              dorm_av *items);

#ifdef __cplusplus
}
#endif
#endif
