/* dorm_streams_get_records: GetRecords (sent by ddb/streams.c) with its
 * records parsed as stream.c parses a Lambda event: the ddb layer cannot
 * know dorm_stream_record, which is the model layer's. */
#include <stdio.h>
#include <string.h>

#include "dorm/streams.h"
#include "model_internal.h"

dorm_status dorm_streams_get_records(dorm_client *c, const char *iterator, uint32_t limit, dorm_arena *a,
                                     dorm_stream_record **records, size_t *count, const char **next_iterator) {
  static const char op[] = "GetRecords";
  dorm__client_clear_error(c);
  if (!a || !records || !count || !next_iterator)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "an arena, records, count and next_iterator are required");
  *records = NULL;
  *count = 0;
  *next_iterator = NULL;
  const char *body;
  size_t len;
  dorm_status st = dorm__streams_get_records_body(c, iterator, limit, &body, &len);
  if (st != DORM_OK) return st;
  cJSON *root;
  char err[512];
  st = dorm__json_parse_fast(body, len, &root, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s", err);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "Records");
  const cJSON *next = cJSON_GetObjectItemCaseSensitive(root, "NextShardIterator");
  dorm_stream_record *recs = NULL;
  size_t n = 0;
  const char *next_text = NULL;
  if (!cJSON_IsObject(root) || !cJSON_IsArray(list)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: no Records array");
  } else if (next && !cJSON_IsNull(next) && (!cJSON_IsString(next) || !next->valuestring || !*next->valuestring)) {
    st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: NextShardIterator is not a non-empty string");
  } else {
    st = dorm__stream_parse_records(list, a, &recs, &n, err, sizeof err);
    if (st != DORM_OK) {
      dorm__client_fail(c, st, op, "response: %s", err);
    } else if (cJSON_IsString(next)) {
      next_text = dorm_arena_strdup(a, next->valuestring);
      if (!next_text) st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
    }
  }
  dorm__json_free(root);
  if (st != DORM_OK) return st;
  *records = recs;
  *count = n;
  *next_iterator = next_text;
  return DORM_OK;
}
