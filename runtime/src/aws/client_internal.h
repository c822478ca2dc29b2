/* client_internal: what the operation modules (ops_*.c, tables.c, marshal.c)
 * need from the client beyond its public API. */
#ifndef DORM_CLIENT_INTERNAL_H
#define DORM_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "dorm/client.h"
#include "core_internal.h"
#include "http.h"
#include "retry.h"
#include "sigv4.h"

/* The client's request writer, reset and ready for a new body. Bound: the
 * largest request DynamoDB takes, with headroom. */
dorm_jw *dorm__client_writer(dorm_client *c);
/* The same writer as it is (not reset): the body just written into it. */
dorm_jw *dorm__client_writer_current(dorm_client *c);

/* Finishes the writer's body and sends it (dorm_client_call). A writer in
 * error state is reported (DORM_ERR_INVALID_ARGUMENT / DORM_ERR_TOO_LARGE,
 * message "<operation>: <writer message>") without sending anything. */
dorm_status dorm__client_send(dorm_client *c, const char *operation, const char **resp, size_t *resp_len);

/* The services a client calls: DynamoDB, and DynamoDB Streams (ListStreams,
 * DescribeStream, GetShardIterator, GetRecords), which AWS serves from its
 * own endpoint (config.h: streams_endpoint_url) with the X-Amz-Target prefix
 * "DynamoDBStreams_20120810." and signs as "dynamodb". */
typedef enum dorm__service { DORM__SVC_DYNAMODB = 0, DORM__SVC_STREAMS = 1 } dorm__service;

/* dorm_client_call() for either service: the same signing, transport,
 * retries, error mapping and error rule. dorm_client_call is
 * dorm__client_call_service(c, DORM__SVC_DYNAMODB, ...). */
dorm_status dorm__client_call_service(dorm_client *c, dorm__service svc, const char *operation,
                                      const char *body, size_t body_len, const char **resp, size_t *resp_len);

/* dorm__client_send() for either service. */
dorm_status dorm__client_send_service(dorm_client *c, dorm__service svc, const char *operation,
                                      const char **resp, size_t *resp_len);

/* ---- one call as a state machine ----
 *
 * dorm_client_call() is these steps in a loop: init, then per attempt sign,
 * send (dorm__http_post), settle; sleep the delay settle asks for and go
 * again until settle says the call is done. A pool (pool.c) runs the same
 * steps for many calls at once over a curl multi handle, waiting with timers
 * instead of sleeping. Whatever drives it, a call gets the same retry policy
 * (the client's, with its quota), the same error mapping and messages. */

/* What a call leaves beside its status: what dorm_client_errmsg & co. show
 * for the blocking path, what a pool hands its completion callback. */
typedef struct dorm__call_outcome {
  char errmsg[1024];   /* "<operation>: <detail>", "" on success */
  char error_code[96]; /* AWS error code of the last attempt, "" when none */
  char request_id[96]; /* x-amzn-RequestId of the last response */
  long http_status;    /* of the last response, 0 when none arrived */
  int attempts;        /* attempts made (set when the call is done) */
  bool has_error_body; /* the last response was an AWS error body */
} dorm__call_outcome;

#define DORM__CALL_TARGET_CAP 96
typedef struct dorm__call {
  dorm_client *c;
  const char *operation; /* borrowed, or "dorm_client_call" for a bad name */
  const char *url, *host, *host_line;
  const char *body; /* borrowed: must outlive the call */
  size_t body_len;
  dorm__call_outcome *out;
  bool client_outcome; /* out is the client's own (keeps cancellation reasons) */
  bool renewed;        /* credentials renewed once after ExpiredTokenException */
  bool resend;         /* settle asked to send again at once (renewed keys) */
  dorm_retry_state rs;
  /* The request's header lines, sent as they are (sign writes X-Amz-Date's
   * and Authorization's into sh); headers[0..4] point at them from init on.
   * The small fields come first: a request touches fewer cache lines. */
  const char *target; /* "DynamoDB_20120810.<operation>", inside h_target */
  char *h_token;
  const char *headers[6];
  size_t nh;
  char h_target[DORM__CALL_TARGET_CAP + 16];
  dorm_sigv4_ddb_headers sh;
} dorm__call;

/* Starts a call of operation with body (both borrowed until cleanup),
 * reporting into *out. DORM_ERR_INVALID_ARGUMENT (out->errmsg says) for a bad
 * operation name; nothing to clean up then. */
dorm_status dorm__call_init(dorm__call *k, dorm_client *c, dorm__service svc, const char *operation,
                            const char *body, size_t body_len, dorm__call_outcome *out);
/* Gets credentials and signs the next attempt: k->headers[0..nh) are then
 * ready for dorm__http_post/start (valid until the next sign or cleanup).
 * A failure ends the call (out->errmsg says why). Counts an attempt. */
dorm_status dorm__call_sign(dorm__call *k);
/* Takes an attempt's result (the transport's status, response and error
 * text). Returns true when the call is done, with *result its status (on
 * DORM_OK hr->body is the answer). Returns false when it should be sent
 * again after *delay_ms (k->resend: at once, no sleep at all). */
bool dorm__call_settle(dorm__call *k, dorm_status transport, const dorm_http_response *hr, const char *terr,
                       long *delay_ms, dorm_status *result);
/* Frees what the call allocated (the session-token header). */
void dorm__call_cleanup(dorm__call *k);
/* The client's counters, which pooled calls update too. */
dorm_client_stats *dorm__client_stats(dorm_client *c);
/* A pool of max_in_flight for the client's batch calls (dorm_batch_write,
 * dorm_batch_get, dorm_scan_parallel), kept by the client between calls so
 * its connections stay open, freed with the client. When that pool is busy
 * (a batch call from inside another's callback) a new one is made and
 * *owned is set: the caller frees it. */
struct dorm_pool;
dorm_status dorm__client_pool(dorm_client *c, unsigned max_in_flight, struct dorm_pool **out, bool *owned);
/* For dorm__client_pool: whether a pool is inside dorm_pool_run, its size. */
bool dorm__pool_busy(const struct dorm_pool *p);
unsigned dorm__pool_size(const struct dorm_pool *p);
/* dorm_pool_submit for a body written in a buffer (rq->body == body->p,
 * rq->body_len == body->len): the request takes the buffer's memory instead
 * of a copy, and body is left empty, holding a finished request's memory
 * (or none) to write the next body into. The same checks and failures as
 * dorm_pool_submit; on failure body is unchanged. A lent or failed buffer
 * is copied as dorm_pool_submit does. */
struct dorm__buf;
struct dorm_pool_request;
dorm_status dorm__pool_submit_buf(struct dorm_pool *p, const struct dorm_pool_request *rq, struct dorm__buf *body);

/* The client's transport options, for a pool's own transports. */
void dorm__client_http_options(const dorm_client *c, dorm_http_options *out);

/* Where the client sends a service's requests ("http://127.0.0.1:8000/"). */
const char *dorm__client_service_endpoint(const dorm_client *c, dorm__service svc);

/* The body of the last error response ("" when the last call did not end in
 * an AWS error), e.g. to read the Item returned with a failed condition. */
const char *dorm__client_error_body(const dorm_client *c, size_t *len);

/* Records a failure found by the caller (before or after a call) as the
 * client's last error: "<operation>: <message>". Returns st. */
dorm_status dorm__client_fail(dorm_client *c, dorm_status st, const char *operation, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Clears the last error (called at the start of every operation). */
void dorm__client_clear_error(dorm_client *c);

/* An object of an upper layer (the model layer's dorm_crypt) that the client
 * keeps and frees with free_fn when it is freed; the previous one is only
 * forgotten (the caller frees it). NULL detaches. */
void dorm__client_attach(dorm_client *c, void *obj, void (*free_fn)(void *));
void *dorm__client_attachment(const dorm_client *c);

/* Sleeps for ms milliseconds (tests may replace it to run retries instantly). */
void dorm__client_sleep_ms(dorm_client *c, long ms);
typedef void (*dorm_sleep_fn)(void *user, long ms);
void dorm__client_set_sleep(dorm_client *c, dorm_sleep_fn fn, void *user);
/* True when a test replaced the sleep (a pool then hands it its delays). */
bool dorm__client_sleep_hooked(const dorm_client *c);

/* The delay before retry round k of a batch's unprocessed items (the retry
 * policy's throttling backoff). */
long dorm__client_backoff_ms(dorm_client *c, int k);

/* The client's current credentials (refreshed as needed), for signing
 * requests to other services (the streamer's management API). The strings
 * stay valid until the next call. Failures are reported through the client. */
struct dorm_credentials;
dorm_status dorm__client_credentials(dorm_client *c, struct dorm_credentials *out);

/* dorm_client_new() with an existing credential provider (a reference is
 * taken): clients of one dorm_accounts role share their credentials. */
struct dorm_credentials_provider;
dorm_status dorm__client_new_shared(const dorm_config *cfg, struct dorm_credentials_provider *creds,
                                    dorm_client **out, char *errbuf, size_t errcap);

/* The client's transport and retry policy, for calls to other AWS JSON
 * services that share them (kms.c). */
struct dorm_http;
struct dorm_retry_policy;
struct dorm_http *dorm__client_http(dorm_client *c);
struct dorm_retry_policy *dorm__client_retry_policy(dorm_client *c);
/* Records the outcome of such a call in the client's last-error state (the
 * AWS error code and request id as dorm_client_error_code/_request_id show
 * them); "" clears them. */
void dorm__client_set_error_code(dorm_client *c, const char *code, const char *request_id);

/* A fresh idempotency token (ClientRequestToken): 32 hex characters + NUL. */
dorm_status dorm__client_new_token(dorm_client *c, char out[33]);

#endif
