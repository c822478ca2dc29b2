/* DynamoDB Streams: reading a table's change log with ListStreams,
 * DescribeStream, GetShardIterator and GetRecords.
 *
 *   dorm_table_description t;                    // or dorm_streams_list()
 *   dorm_describe_table(c, "requests", &arena, &t);
 *   dorm_stream_description d;
 *   dorm_streams_describe(c, t.stream_arn, &arena, &d);
 *   for (size_t s = 0; s < d.shard_count; s++) {  // parents come before children
 *     const char *it;
 *     dorm_streams_shard_iterator(c, t.stream_arn, d.shards[s].shard_id,
 *                                 DORM_ITERATOR_TRIM_HORIZON, NULL, &arena, &it);
 *     while (it) {                               // NULL: a closed shard read to its end
 *       dorm_stream_record *r;
 *       size_t n;
 *       if (dorm_streams_get_records(c, it, 0, &arena, &r, &n, &it) != DORM_OK) ...;
 *       // r[i].event, .keys, .new_image, .old_image, .sequence_number
 *       if (n == 0) ...;                         // an open shard: nothing new yet, wait and poll
 *     }
 *   }
 *
 * The requests go to DynamoDB Streams, which AWS serves from its own
 * endpoint (https://streams.dynamodb.<region>.amazonaws.com); with
 * dorm_config.endpoint or a configured DynamoDB endpoint (DynamoDB Local
 * serves both APIs on one port) they go there, and
 * AWS_ENDPOINT_URL_DYNAMODB_STREAMS overrides it (docs/runtime.md,
 * "DynamoDB Streams"). They are signed, retried and reported like every
 * other call (dorm/client.h).
 *
 * Errors, besides those of every call:
 *   DORM_ERR_TABLE_NOT_FOUND  ResourceNotFoundException: no such stream or shard
 *   DORM_ERR_BAD_CURSOR       the iterator can no longer be read from:
 *                             ExpiredIteratorException (an iterator lasts 15 minutes:
 *                             get a new one AFTER_SEQUENCE_NUMBER of the last record
 *                             read) or TrimmedDataAccessException (the records are past
 *                             the 24-hour retention: start again at TRIM_HORIZON);
 *                             dorm_client_error_code() tells which. Never retried.
 *   DORM_ERR_VALIDATION       ValidationException, e.g. an iterator that is not one
 *                             ("Invalid ShardIterator") or a sequence number that is
 *                             not in the shard
 *   DORM_ERR_THROTTLED        LimitExceededException that outlasted the retries
 *
 * Results live in the caller's arena; inputs are borrowed for the call.
 */
#ifndef DORM_STREAMS_H
#define DORM_STREAMS_H

#include "dorm/export.h"

#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/client.h"
#include "dorm/model.h"  /* dorm_stream_record */
#include "dorm/status.h"
#include "dorm/tables.h" /* dorm_stream_view */

#ifdef __cplusplus
extern "C" {
#endif

/* Where a shard iterator starts. */
typedef enum dorm_shard_iterator_type {
  DORM_ITERATOR_TRIM_HORIZON = 1,      /* the oldest record the shard still has */
  DORM_ITERATOR_LATEST,                /* after the newest: only records written from now on */
  DORM_ITERATOR_AT_SEQUENCE_NUMBER,    /* at the record with this sequence number */
  DORM_ITERATOR_AFTER_SEQUENCE_NUMBER  /* just after it (to resume after the last record read) */
} dorm_shard_iterator_type;

typedef enum dorm_stream_status {
  DORM_STREAM_STATUS_UNKNOWN = 0,
  DORM_STREAM_STATUS_ENABLING,
  DORM_STREAM_STATUS_ENABLED,
  DORM_STREAM_STATUS_DISABLING,
  DORM_STREAM_STATUS_DISABLED          /* no new records; the shards are closed */
} dorm_stream_status;

typedef struct dorm_stream_shard {
  const char *shard_id;
  const char *parent_shard_id;         /* "" when the shard has no parent */
  const char *starting_sequence_number;
  const char *ending_sequence_number;  /* "" while the shard is open (still written to) */
} dorm_stream_shard;

typedef struct dorm_stream_description {
  const char *stream_arn;
  const char *stream_label;            /* "" when not given */
  const char *table_name;              /* "" when not given */
  dorm_stream_status status;
  const char *status_text;             /* StreamStatus as DynamoDB sent it */
  dorm_stream_view view;               /* StreamViewType; NONE when not given */
  double created;                      /* CreationRequestDateTime, seconds since the epoch; 0 when not given */
  const char *partition_key;           /* the table's key names; "" when not given */
  const char *sort_key;                /* "" when the table has none */
  dorm_stream_shard *shards;           /* every shard of every page, parents before children */
  size_t shard_count;
} dorm_stream_description;

/* ListStreams: the ARNs of the streams of table (NULL: of every table),
 * following every page. A table whose stream was disabled and enabled again
 * has several, the older ones readable for 24 hours; the current one is
 * dorm_describe_table()'s stream_arn. *arns (arena) gets *count ARNs in
 * DynamoDB's order; none is DORM_OK with *count 0. */
DORM_API dorm_status dorm_streams_list(dorm_client *c, const char *table, dorm_arena *a, const char ***arns,
                                       size_t *count);

/* DescribeStream: the stream's status, view type and every shard, following
 * LastEvaluatedShardId. A shard's records follow its parent's (a split
 * closes the parent and opens children), so the shards are ordered with
 * every shard after its parent when the parent is listed (a trimmed parent
 * is not), otherwise in DynamoDB's order: reading them in array order reads
 * each item's changes in order. A page whose LastEvaluatedShardId does not
 * advance is DORM_ERR_BAD_RESPONSE. */
DORM_API dorm_status dorm_streams_describe(dorm_client *c, const char *stream_arn, dorm_arena *a,
                                           dorm_stream_description *out);

/* GetShardIterator: an iterator (arena) into shard_id of the stream.
 * sequence_number is required for AT_/AFTER_SEQUENCE_NUMBER and must be
 * NULL otherwise (DORM_ERR_INVALID_ARGUMENT, nothing sent). An iterator
 * expires 15 minutes after it was made. */
DORM_API dorm_status dorm_streams_shard_iterator(dorm_client *c, const char *stream_arn, const char *shard_id,
                                                 dorm_shard_iterator_type type, const char *sequence_number,
                                                 dorm_arena *a, const char **iterator);

/* GetRecords: up to limit records (0: DynamoDB's default and maximum,
 * 1000) from iterator, oldest first, parsed as dorm_stream_parse() parses
 * them (keys, images, sequence_number, ...; everything in the arena).
 * *next_iterator (arena) continues after them, or is NULL when the shard
 * is closed and read to its end. An open shard always has a next iterator;
 * an empty page means nothing newer has been written yet. Malformed records
 * are DORM_ERR_BAD_RESPONSE naming the record. */
DORM_API dorm_status dorm_streams_get_records(dorm_client *c, const char *iterator, uint32_t limit, dorm_arena *a,
                                              dorm_stream_record **records, size_t *count,
                                              const char **next_iterator);

/* Orders two sequence numbers (decimal digit strings of up to 40 digits,
 * compared as numbers): <0, 0, >0. Within a shard, later records have
 * greater numbers. */
DORM_API int dorm_streams_seq_cmp(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
