/* client_internal: what the operation modules (ops_*.c, tables.c, marshal.c)
 * need from the client beyond its public API. */
#ifndef DORM_CLIENT_INTERNAL_H
#define DORM_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "dorm/client.h"
#include "core_internal.h"

/* The client's request writer, reset and ready for a new body. Bound: the
 * largest request DynamoDB takes, with headroom. */
dorm_jw *dorm__client_writer(dorm_client *c);

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

/* Sleeps for ms milliseconds (tests may replace it to run retries instantly). */
void dorm__client_sleep_ms(dorm_client *c, long ms);
typedef void (*dorm_sleep_fn)(void *user, long ms);
void dorm__client_set_sleep(dorm_client *c, dorm_sleep_fn fn, void *user);

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
