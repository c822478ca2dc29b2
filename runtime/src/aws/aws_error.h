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
 * DORM_ERR_VALIDATION, unknown 5xx to DORM_ERR_SERVICE. */
dorm_status dorm__aws_error_status(const char *code, long http_status);

#endif
