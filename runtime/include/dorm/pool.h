/* dorm_pool: many DynamoDB requests in flight from one thread.
 *
 * A pool sends raw DynamoDB requests (an operation name and a JSON body, as
 * dorm_client_call takes them) over libcurl's multi interface, at most
 * max_in_flight at a time, and calls a completion callback for each one:
 *
 *   dorm_pool *p;
 *   if (dorm_pool_new(client, 16, &p) != DORM_OK) ...
 *   dorm_pool_request rq = {.operation = "BatchWriteItem", .body = json, .body_len = len,
 *                           .on_done = done, .user = ctx};
 *   dorm_pool_submit(p, &rq);        // as many as you like; they queue
 *   dorm_pool_run(p);                // returns once every request completed
 *   dorm_pool_free(p);
 *
 * Each request gets what dorm_client_call gives a single call: SigV4 with the
 * client's credentials, the client's retry policy (attempts, backoff, the
 * shared retry quota), throttling backoff, ExpiredToken renewal, CRC32 checks
 * and the same statuses and error messages. Backoff waits are timers inside
 * the multi loop: a request waiting to retry holds its slot but never blocks
 * the others. One request's failure is reported to its own callback only;
 * the others go on.
 *
 * The batch operations (dorm_batch_write, dorm_batch_get) and
 * dorm_scan_parallel use a pool internally; this header is for callers with
 * their own bulk work.
 *
 * Threads: a pool belongs to the thread that created it; every dorm_pool_*
 * call and every callback happens on that thread. The pool borrows the
 * client (which must outlive it) and uses it only inside dorm_pool_new and
 * dorm_pool_run: between runs the thread may use the client for single calls
 * as usual, and so may a callback (its own request has a connection of its
 * own). Never use the client from another thread while its pool runs (the
 * client's one-thread rule). Two pools on one client are fine when run by
 * the same thread; for several threads, give each its own client
 * (dorm_client_clone) and pool. The pool does not change the client's last
 * error (dorm_client_errmsg): results come to the callbacks. It does add to
 * the client's counters (dorm_client_get_stats: operations, attempts,
 * retries, throttles).
 */
#ifndef DORM_POOL_H
#define DORM_POOL_H

#include "dorm/export.h"

#include <stddef.h>

#include "dorm/client.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dorm_pool dorm_pool;

/* How one request ended. Everything here is owned by the pool and valid only
 * during the callback; copy what you keep. */
typedef struct dorm_pool_result {
  dorm_status status;     /* DORM_OK, or what dorm_client_call would have returned;
                             DORM_ERR_CANCELLED when the pool was freed first */
  const char *operation;  /* as submitted */
  const char *body;       /* DORM_OK: the response body (NUL-terminated); after an AWS
                             error: the error body; else "" */
  size_t body_len;
  long http_status;       /* of the last response, 0 when none arrived */
  const char *errmsg;     /* "" on success, else one line as dorm_client_errmsg gives it */
  const char *error_code; /* AWS error code ("ThrottlingException"), "" when none */
  const char *request_id; /* x-amzn-RequestId of the last response, "" when none */
  int attempts;           /* attempts made, retries included (0: never sent) */
} dorm_pool_result;

/* Called once per request, from dorm_pool_run (or dorm_pool_free, with
 * DORM_ERR_CANCELLED). It may submit more requests to the same pool (they
 * run in the same dorm_pool_run); it must not free the pool. */
typedef void (*dorm_pool_done_fn)(void *user, const dorm_pool_result *r);

typedef struct dorm_pool_request {
  const char *operation;   /* DynamoDB operation name, "BatchWriteItem" (copied) */
  const char *body;        /* the JSON request body (copied by dorm_pool_submit) */
  size_t body_len;
  long delay_ms;           /* send no earlier than this many ms from now (0: as soon as a slot is free) */
  dorm_pool_done_fn on_done; /* required */
  void *user;              /* handed to on_done */
} dorm_pool_request;

/* Creates a pool over client c (borrowed, must outlive the pool) keeping at
 * most max_in_flight requests in flight (1..1024; 0 means 8). Each slot has
 * its own keep-alive connection, opened on first use. *out is set on DORM_OK
 * and freed with dorm_pool_free. Fails with DORM_ERR_INVALID_ARGUMENT (bad
 * arguments) or DORM_ERR_NO_MEMORY (also when libcurl cannot make a handle). */
DORM_API dorm_status dorm_pool_new(dorm_client *c, unsigned max_in_flight, dorm_pool **out);

/* Queues a request (operation and body are copied: the caller's buffers may
 * go at once). It is sent during dorm_pool_run, in submission order as slots
 * free up (a delay_ms holds it back). DORM_ERR_INVALID_ARGUMENT when the
 * operation name is empty or longer than 64 or on_done is NULL,
 * DORM_ERR_NO_MEMORY; on failure nothing is queued and on_done is never
 * called. */
DORM_API dorm_status dorm_pool_submit(dorm_pool *p, const dorm_pool_request *rq);

/* Runs until no request is queued, waiting or in flight, calling each
 * request's on_done as it completes. Returns DORM_OK, or DORM_ERR_NO_MEMORY /
 * DORM_ERR_NETWORK when libcurl's multi interface itself failed (the requests
 * still pending are then completed with that status). A request's own
 * failure is not the run's failure: it goes to that request's callback. */
DORM_API dorm_status dorm_pool_run(dorm_pool *p);

/* Requests submitted and not yet completed. */
DORM_API size_t dorm_pool_pending(const dorm_pool *p);

/* Frees the pool. Requests not yet completed are abandoned: their transfers
 * are stopped and each on_done is called with DORM_ERR_CANCELLED (so callers
 * can release what user points to). A request abandoned in flight may or may
 * not have been applied by DynamoDB. NULL is ignored. */
DORM_API void dorm_pool_free(dorm_pool *p);

#ifdef __cplusplus
}
#endif

#endif
