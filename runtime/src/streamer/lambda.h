/* The streamer on AWS Lambda: what lambda.c (the Runtime API loop) and
 * lambda_events.c (one event, routed by its shape) share. Private to the
 * streamer folder. */
#ifndef DORM_STREAMER_LAMBDA_H
#define DORM_STREAMER_LAMBDA_H

#include "streamer_internal.h"

/* What a handler sees of the invocation's deadline is this much earlier,
 * so that a job can give its request back and the batch be answered
 * before Lambda stops the process. */
#define DORM__ST_LAMBDA_MARGIN_MS 1000

/* The outcome of one event. */
typedef struct dorm__st_lambda_out {
  char *response;        /* malloc'd JSON for /response, or NULL: an error for /error */
  const char *role;      /* "connect", "disconnect", "default", "stream" or "unknown" (static) */
  char error_type[64];   /* when response is NULL: e.g. "Runtime.UnknownEvent" */
  char error_message[512];
  int batch_failures;    /* stream: records reported in batchItemFailures */
  bool greet;            /* $connect accepted: `connected` goes to the client once API Gateway has it */
} dorm__st_lambda_out;

/* Routes one event (the body of /invocation/next) on the calling thread:
 *   requestContext.eventType CONNECT / DISCONNECT / MESSAGE (API Gateway
 *   WebSocket $connect, $disconnect, $default), or Records[] of
 *   eventSource "aws:dynamodb" (the requests table's stream).
 * Never fails silently: out->response or out->error_* is always set. */
void dorm__st_lambda_handle(dorm__streamer *s, const char *event, size_t len, dorm__st_lambda_out *out);

#endif
