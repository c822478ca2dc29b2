/* aws_error: turns a DynamoDB error response into a dorm_status.
 *
 * DynamoDB answers errors with a JSON body {"__type":"<ns>#<Code>","message":"..."}
 * (sometimes "Message"). The code, not the HTTP status, says what happened.
 */
#ifndef DORM_AWS_ERROR_H
#define DORM_AWS_ERROR_H

#include <stddef.h>

#include "dorm/status.h"

typedef struct dorm_aws_error {
  char code[96];      /* "ConditionalCheckFailedException"; "" when the body had none */
  char message[512];  /* the service's message, truncated; "" when none */
} dorm_aws_error;

/* Parses an error body (any bytes; never fails). Missing or malformed JSON
 * leaves code/message empty. */
void dorm__aws_error_parse(const char *body, size_t len, dorm_aws_error *out);

/* The status for an error code and HTTP status. Unknown 4xx codes map to
 * DORM_ERR_VALIDATION, unknown 5xx to DORM_ERR_SERVICE; a 4xx without a
 * code (not 401, 403, 429) is not DynamoDB's: DORM_ERR_BAD_RESPONSE. */
dorm_status dorm__aws_error_status(const char *code, long http_status);

/* A printable excerpt of a response body for messages: white space and
 * control bytes collapsed to one space, other non-ASCII bytes as '?', "..."
 * when cut; at most cap - 1 bytes and a NUL. */
void dorm__aws_error_excerpt(const char *body, size_t len, char *out, size_t cap);

#endif
