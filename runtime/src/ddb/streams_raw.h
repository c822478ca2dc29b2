/* streams_raw: what the model layer's stream reader needs of streams.c.
 * GetRecords' records are dorm_stream_records, which the model layer
 * parses (model/stream_reader.c), so the ddb layer hands it the body. */
#ifndef DORM_STREAMS_RAW_H
#define DORM_STREAMS_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "dorm/client.h"

/* GetRecords: checks iterator (1 to 2048 bytes) and limit (0: none sent,
 * else 1 to 1000), sends the call to DynamoDB Streams and on DORM_OK points
 * body and len at the response (the client's, valid until its next call).
 * Failures follow the client's error rule; an expired or trimmed iterator's
 * message says what to do about it. */
dorm_status dorm__streams_get_records_body(dorm_client *c, const char *iterator, uint32_t limit,
                                           const char **body, size_t *len);

#endif
