/* http: one keep-alive HTTP/1.1 connection to a DynamoDB endpoint (libcurl easy handle).
 *
 * The transport only moves bytes: it sends a POST with the headers it is given
 * and hands back status, body, request id and whether x-amz-crc32 matched.
 * Signing, retries and error mapping live in client.c. A dorm_http belongs to
 * one client and is used by one thread at a time.
 */
#ifndef DORM_HTTP_H
#define DORM_HTTP_H

#include <stddef.h>
#include <stdbool.h>

#include "dorm/status.h"

typedef struct dorm_http_options {
  long connect_timeout_ms;   /* 0: 3000 */
  long request_timeout_ms;   /* whole request incl. body; 0: 30000 */
  size_t max_response_bytes; /* 0: 64 MiB. Bigger bodies fail with DORM_ERR_BAD_RESPONSE */
} dorm_http_options;

typedef struct dorm_http_response {
  long status;             /* HTTP status, 0 when no response arrived */
  char *body;              /* NUL-terminated; owned by the dorm_http, valid until the next request */
  size_t body_len;
  char request_id[96];     /* x-amzn-RequestId, "" if absent */
  bool has_crc32;          /* the response carried x-amz-crc32 */
  bool crc32_valid;        /* ... and it was a 32-bit decimal number */
  unsigned long crc32;     /* its value */
  bool crc_mismatch;       /* set with DORM_ERR_BAD_RESPONSE when the body failed the check */
} dorm_http_response;

typedef struct dorm_http dorm_http;

/* Creates a transport. Returns NULL when out of memory or libcurl cannot make
 * a handle. The caller frees it with dorm__http_free(). */
dorm_http *dorm__http_new(const dorm_http_options *opts);
void dorm__http_free(dorm_http *h);

/* POSTs body to url with the given raw header lines ("Name: value"), keeping
 * the connection alive for the next call. On DORM_OK *resp describes the
 * answer (any HTTP status: the caller maps 4xx/5xx). A body that does not
 * match x-amz-crc32 is reported as DORM_ERR_BAD_RESPONSE. Failures before a
 * whole response arrived: DORM_ERR_TIMEOUT, DORM_ERR_NETWORK (connect, reset,
 * truncated body), DORM_ERR_BAD_RESPONSE (too large), DORM_ERR_NO_MEMORY.
 * errbuf (errcap bytes) receives a one-line description of any failure.
 * A request is sent at most once per call: when a kept-alive connection
 * dies before any response byte, libcurl's own resend is refused and the
 * call fails with DORM_ERR_NETWORK, so that retrying is the caller's
 * decision (its policy, count and backoff). */
dorm_status dorm__http_post(dorm_http *h, const char *url, const char *const *headers,
                           size_t nheaders, const char *body, size_t body_len,
                           dorm_http_response *resp, char *errbuf, size_t errcap);

/* dorm__http_post() in two halves, for a caller that runs the transfer
 * itself (a curl multi handle: pool.c). dorm__http_start() readies the easy
 * handle (dorm__http_easy) for one POST; headers, body and *resp must stay
 * valid until dorm__http_finish(), which takes the transfer's CURLcode
 * (CURLE_OK when it completed) and returns what dorm__http_post() would. */
dorm_status dorm__http_start(dorm_http *h, const char *url, const char *const *headers, size_t nheaders,
                             const char *body, size_t body_len, dorm_http_response *resp, char *errbuf,
                             size_t errcap);
void *dorm__http_easy(dorm_http *h); /* the CURL * */
dorm_status dorm__http_finish(dorm_http *h, int curl_code, dorm_http_response *resp, char *errbuf,
                              size_t errcap);

/* The body of the last response (NUL-terminated, "" when none), valid until
 * the next request. */
const char *dorm__http_last_body(const dorm_http *h, size_t *len);

/* Number of new TCP connections this transport has opened (keep-alive check). */
long dorm__http_connections_opened(const dorm_http *h);

#endif
