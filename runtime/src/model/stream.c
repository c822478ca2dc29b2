/* DynamoDB Streams records as Lambda and GetRecords deliver them:
 *   {"Records":[{"eventID":"...","eventName":"INSERT|MODIFY|REMOVE",
 *                "eventSourceARN":"arn:aws:dynamodb:...",
 *                "dynamodb":{"Keys":{...},"NewImage":{...},"OldImage":{...},...},
 *                "userIdentity":{...}}]}   (a deletion by TTL only)
 * (GetRecords: the same records, without eventSourceARN, plus
 * "NextShardIterator"), or one such record on its own. Not a hot path:
 * parsed with cJSON, images converted by the strict reader. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

static dorm_status sfail(char *errbuf, size_t errcap, size_t i, const char *what, const char *detail) {
  if (errbuf && errcap) snprintf(errbuf, errcap, "Records[%zu]: %s%s%s", i, what, detail ? ": " : "", detail ? detail : "");
  return DORM_ERR_BAD_RESPONSE;
}

static const char *opt_string(const cJSON *obj, const char *name, bool *bad) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!j) return "";
  if (!cJSON_IsString(j) || !j->valuestring) {
    *bad = true;
    return "";
  }
  return j->valuestring;
}

static dorm_status one_record(const cJSON *r, size_t i, dorm_arena *a, dorm_stream_record *out, char *errbuf,
                              size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!cJSON_IsObject(r)) return sfail(errbuf, errcap, i, "a record must be an object", NULL);
  bool bad = false;
  const char *name = opt_string(r, "eventName", &bad);
  if (bad || !*name) return sfail(errbuf, errcap, i, "\"eventName\" is missing or not a string", NULL);
  if (strcmp(name, "INSERT") == 0) out->event = DORM_STREAM_INSERT;
  else if (strcmp(name, "MODIFY") == 0) out->event = DORM_STREAM_MODIFY;
  else if (strcmp(name, "REMOVE") == 0) out->event = DORM_STREAM_REMOVE;
  else return sfail(errbuf, errcap, i, "\"eventName\" is not INSERT, MODIFY or REMOVE", name);
  const char *id = opt_string(r, "eventID", &bad);
  const char *arn = opt_string(r, "eventSourceARN", &bad);
  if (bad) return sfail(errbuf, errcap, i, "\"eventID\" and \"eventSourceARN\" must be strings", NULL);
  out->event_id = dorm_arena_strdup(a, id);
  out->table_arn = dorm_arena_strdup(a, arn);
  if (!out->event_id || !out->table_arn) return DORM_ERR_NO_MEMORY;
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "dynamodb");
  if (!cJSON_IsObject(d)) return sfail(errbuf, errcap, i, "\"dynamodb\" is missing or not an object", NULL);
  char err[256];
  bool found = false;
  dorm_status st = dorm__json_member_item(d, "Keys", a, &out->keys, &found, err, sizeof err);
  if (st == DORM_ERR_NO_MEMORY) return st;
  if (st != DORM_OK) return sfail(errbuf, errcap, i, "dynamodb", err);
  if (!found) return sfail(errbuf, errcap, i, "\"dynamodb.Keys\" is missing", NULL);
  st = dorm__json_member_item(d, "NewImage", a, &out->new_image, &out->has_new_image, err, sizeof err);
  if (st == DORM_OK) st = dorm__json_member_item(d, "OldImage", a, &out->old_image, &out->has_old_image, err, sizeof err);
  if (st == DORM_ERR_NO_MEMORY) return st;
  if (st != DORM_OK) return sfail(errbuf, errcap, i, "dynamodb", err);
  const char *seq = opt_string(d, "SequenceNumber", &bad);
  if (bad) return sfail(errbuf, errcap, i, "\"dynamodb.SequenceNumber\" is not a string", NULL);
  out->sequence_number = dorm_arena_strdup(a, seq);
  if (!out->sequence_number) return DORM_ERR_NO_MEMORY;
  const cJSON *created = cJSON_GetObjectItemCaseSensitive(d, "ApproximateCreationDateTime");
  if (created && !cJSON_IsNumber(created))
    return sfail(errbuf, errcap, i, "\"dynamodb.ApproximateCreationDateTime\" is not a number", NULL);
  out->approximate_created = created ? created->valuedouble : 0;
  const cJSON *size = cJSON_GetObjectItemCaseSensitive(d, "SizeBytes");
  if (size && (!cJSON_IsNumber(size) || !(size->valuedouble >= 0 && size->valuedouble <= 1e15)))
    return sfail(errbuf, errcap, i, "\"dynamodb.SizeBytes\" is not a byte count", NULL);
  out->size_bytes = size ? (int64_t)size->valuedouble : 0;
  /* Only a deletion by TTL has a userIdentity (AWS's "DynamoDB Streams and
   * Time to Live"): without looking, a consumer took an expiry for a
   * user's delete. */
  const cJSON *who = cJSON_GetObjectItemCaseSensitive(r, "userIdentity");
  if (who && !cJSON_IsNull(who)) {
    if (!cJSON_IsObject(who)) return sfail(errbuf, errcap, i, "\"userIdentity\" is not an object", NULL);
    const char *type = opt_string(who, "type", &bad), *principal = opt_string(who, "principalId", &bad);
    if (bad) return sfail(errbuf, errcap, i, "\"userIdentity.type\" and \"userIdentity.principalId\" must be strings", NULL);
    out->by_ttl = out->event == DORM_STREAM_REMOVE && strcmp(type, "Service") == 0 &&
                  strcmp(principal, "dynamodb.amazonaws.com") == 0;
  }
  return DORM_OK;
}

dorm_status dorm__stream_parse_records(const cJSON *list, dorm_arena *a, dorm_stream_record **records,
                                       size_t *count, char *errbuf, size_t errcap) {
  *records = NULL;
  *count = 0;
  size_t n = (size_t)cJSON_GetArraySize(list);
  if (n == 0) return DORM_OK;
  dorm_stream_record *out = dorm_arena_calloc(a, n, sizeof *out);
  if (!out) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  size_t i = 0;
  for (const cJSON *r = list->child; r; r = r->next, i++) {
    dorm_status st = one_record(r, i, a, &out[i], errbuf, errcap);
    if (st == DORM_ERR_NO_MEMORY && errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
    if (st != DORM_OK) return st;
  }
  *records = out;
  *count = n;
  return DORM_OK;
}

dorm_status dorm_stream_parse(const char *json, size_t len, dorm_arena *a, dorm_stream_record **records, size_t *count,
                              char *errbuf, size_t errcap) {
  if (!a || !records || !count) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "an arena, records and count are required");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  *records = NULL;
  *count = 0;
  cJSON *root = NULL;
  char err[256];
  if (dorm__json_parse_fast(json, len, &root, err, sizeof err) != DORM_OK) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "stream event: %s", err);
    return DORM_ERR_BAD_RESPONSE;
  }
  dorm_status st = DORM_OK;
  const cJSON *list = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "Records") : NULL;
  dorm_stream_record *out = NULL;
  size_t n = 0;
  if (list) {
    if (!cJSON_IsArray(list)) {
      if (errbuf && errcap) snprintf(errbuf, errcap, "stream event: \"Records\" must be an array");
      st = DORM_ERR_BAD_RESPONSE;
    } else {
      st = dorm__stream_parse_records(list, a, &out, &n, errbuf, errcap);
    }
  } else if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "dynamodb")) {
    out = dorm_arena_calloc(a, 1, sizeof *out);
    n = 1;
    st = out ? one_record(root, 0, a, &out[0], errbuf, errcap) : DORM_ERR_NO_MEMORY;
    if (st == DORM_ERR_NO_MEMORY && errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
  } else {
    if (errbuf && errcap)
      snprintf(errbuf, errcap, "stream event: expected {\"Records\":[...]} or one record with \"dynamodb\"");
    st = DORM_ERR_BAD_RESPONSE;
  }
  dorm__json_free(root);
  if (st != DORM_OK) return st;
  *records = out;
  *count = n;
  return DORM_OK;
}
