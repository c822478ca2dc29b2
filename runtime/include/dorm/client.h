/* dorm_client: a connection to DynamoDB with its configuration, credentials,
 * signing state and retry policy.
 *
 *   dorm_client *c;
 *   char err[512];
 *   if (dorm_client_new(NULL, &c, err, sizeof err) != DORM_OK) { puts(err); ... }
 *   ...                                    // operations: dorm/ops.h, dorm/tables.h
 *   dorm_client_free(c);
 *
 * With a NULL config everything comes from the environment and the shared
 * files exactly as the AWS SDKs resolve it (docs/runtime.md, "Configuration").
 *
 * Threads: a client is used by one thread at a time (it owns one keep-alive
 * connection, a request buffer and the last error). Use one client per
 * thread; dorm_client_clone() makes another with the same settings.
 *
 * Errors: every operation returns a dorm_status. After a failure,
 * dorm_client_errmsg() says what happened in one line naming the operation,
 * the AWS error code and message and the request id, e.g.
 *   "PutItem: ConditionalCheckFailedException: The conditional request failed (request id 4KB...)"
 * The texts stay valid until the next operation on the client.
 */
#ifndef DORM_CLIENT_H
#define DORM_CLIENT_H

#include "dorm/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dorm/config.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dorm_client dorm_client;

/* Creates a client. cfg (borrowed; may be NULL) overrides the environment.
 * Resolves region, endpoint and the credential source now (credentials
 * themselves are fetched on the first request). On failure *out is NULL and
 * errbuf (errcap bytes; may be NULL) says what is missing or wrong:
 * DORM_ERR_CONFIG, DORM_ERR_INVALID_ARGUMENT, DORM_ERR_IO, DORM_ERR_NO_MEMORY.
 * Starts libcurl's global state on first use (curl_global_init is
 * thread-safe in the libcurl versions libdorm supports). */
DORM_API dorm_status dorm_client_new(const dorm_config *cfg, dorm_client **out, char *errbuf, size_t errcap);

/* A new client with the same resolved settings, its own connection and
 * error state (for another thread). It shares the source's credentials:
 * one refresh (thread-safe) serves both. NULL on failure. */
DORM_API dorm_client *dorm_client_clone(const dorm_client *c);

/* Closes the connection and frees the client. NULL is ignored. */
DORM_API void dorm_client_free(dorm_client *c);

/* The last failure: one line of text ("" after a success), the AWS error
 * code ("" when the failure was not an AWS error) and the request id of the
 * last response ("" when none). */
DORM_API const char *dorm_client_errmsg(const dorm_client *c);
DORM_API const char *dorm_client_error_code(const dorm_client *c);
DORM_API const char *dorm_client_request_id(const dorm_client *c);

/* Where the client sends requests, and its region. */
DORM_API const char *dorm_client_endpoint(const dorm_client *c);
DORM_API const char *dorm_client_region(const dorm_client *c);

/* Why the last TransactWriteItems / TransactGetItems was cancelled: one
 * entry per action, in request order ("None" for actions that were fine).
 * Valid until the next operation. count is 0 after any other outcome. */
typedef struct dorm_cancel_reason {
  const char *code;    /* "None", "ConditionalCheckFailed", "TransactionConflict", ... */
  const char *message; /* "" when none */
} dorm_cancel_reason;
DORM_API size_t dorm_client_cancel_reasons(const dorm_client *c, const dorm_cancel_reason **reasons);

/* Counters since the client was created. */
typedef struct dorm_client_stats {
  uint64_t operations;   /* dorm_client_call()s, including those made by batch helpers */
  uint64_t attempts;     /* HTTP requests sent (operations + retries) */
  uint64_t retries;
  uint64_t throttles;    /* attempts answered with a throttling error */
  long connections;      /* TCP connections opened (keep-alive reuses one), the pools' included
                            (dorm/pool.h: one per request in flight at once) */
} dorm_client_stats;
DORM_API void dorm_client_get_stats(const dorm_client *c, dorm_client_stats *out);

/* Sends one DynamoDB API call: `operation` is the action name ("PutItem"),
 * body the JSON request. Signs it, sends it, and retries throttling and
 * transient failures per the retry policy (the same bytes are resent, so a
 * ClientRequestToken in the body is kept across retries). On DORM_OK *resp
 * and *resp_len (NUL-terminated) point at the response body, which belongs to
 * the client and is valid until its next operation. On failure the status is
 * the mapped AWS error (DORM_ERR_CONDITION_FAILED, ...) or transport error,
 * and dorm_client_errmsg() describes it. This is the layer the typed
 * operations and the generated code are built on. */
DORM_API dorm_status dorm_client_call(dorm_client *c, const char *operation, const char *body,
                             size_t body_len, const char **resp, size_t *resp_len);

#ifdef __cplusplus
}
#endif
#endif
