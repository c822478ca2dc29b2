/* Responses dorm-faultproxy writes to its clients: DynamoDB-style injected
 * errors, relayed upstream responses (unchanged, with a corrupted
 * x-amz-crc32, or cut short), and small JSON answers for the control API and
 * for its own failures. Each call appends one complete response head (and
 * body) to out and returns 0, or -1 when out of memory.
 */
#ifndef FP_RESPOND_H
#define FP_RESPOND_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "plan.h"
#include "proxy.h"

/* The error response of an injected fault f (FP_500, FP_503, FP_THROTTLE,
 * FP_THROTTLING or FP_VALIDATION), with a correct x-amz-crc32 and a
 * x-dorm-faultproxy header naming the fault. request_no goes into the
 * request id. close adds "Connection: close". */
int fp_respond_fault(fp_buf *out, fp_fault f, unsigned long long request_no, bool close);

/* A JSON response with the given status; json is the body as is. */
int fp_respond_json(fp_buf *out, int status, const char *json, size_t json_len, bool close);

/* Relays the upstream response resp (its head parsed into h, then body_len
 * body bytes) with hop-by-hop headers dropped. mode FP_PASS relays it as is;
 * FP_BADCRC replaces x-amz-crc32 with a value that cannot match the body
 * (adding the header when the upstream sent none); FP_TRUNCATE keeps the real
 * Content-Length but appends only body_len / 2 body bytes. */
int fp_respond_relay(fp_buf *out, const char *resp, const fp_head *h, size_t body_len, fp_fault mode,
                     bool close);

/* The stats as a JSON object (the body of GET /__proxy/stats). */
int fp_stats_json(fp_buf *out, const fp_stats *s);

/* Appends s (n bytes) as a JSON string literal with quotes. */
int fp_json_string(fp_buf *out, const char *s, size_t n);

/* The standard reason phrase of an HTTP status ("Bad Gateway"). */
const char *fp_reason(int status);

#endif
