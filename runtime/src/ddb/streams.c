/* DynamoDB Streams: ListStreams, DescribeStream, GetShardIterator, and
 * GetRecords up to its body (the records are the model layer's
 * dorm_stream_record: model/stream_reader.c parses them). The calls go to
 * the Streams service through dorm__client_call_service(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dorm/streams.h"
#include "ops_common.h"
#include "streams_raw.h"

#define MAX_ARN 1024        /* StreamArn: 37 to 1024 */
#define MAX_SHARD_ID 65     /* ShardId: 28 to 65 */
#define MAX_ITERATOR 2048   /* ShardIterator: 1 to 2048 */
#define MAX_SEQUENCE 40     /* SequenceNumber: 21 to 40 digits */
#define MAX_RECORDS 1000    /* GetRecords Limit */

/* ---- arguments ---- */

static dorm_status check_text(dorm_client *c, const char *op, const char *what, const char *s, size_t max) {
  if (!s || !*s) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s is required", what);
  size_t n = strlen(s);
  if (n > max)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s is %zu bytes; at most %zu", what, n, max);
  if (!dorm__utf8_valid(s, n, NULL))
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s is not valid UTF-8", what);
  return DORM_OK;
}

static dorm_status check_sequence(dorm_client *c, const char *op, const char *seq) {
  size_t n = seq ? strlen(seq) : 0;
  bool digits = n > 0 && n <= MAX_SEQUENCE && strspn(seq, "0123456789") == n;
  if (!digits)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                             "sequence_number must be 1 to %d decimal digits, got '%.48s'", MAX_SEQUENCE,
                             seq ? seq : "(null)");
  return DORM_OK;
}

/* ---- calls ---- */

/* What to do about an iterator DynamoDB Streams refused, added to the
 * client's message ("GetRecords: ExpiredIteratorException (HTTP 400): ..."). */
static dorm_status explain(dorm_client *c, const char *op, dorm_status st) {
  const char *code = dorm_client_error_code(c), *hint = NULL;
  if (strcmp(code, "ExpiredIteratorException") == 0)
    hint = "the shard iterator expired (iterators last 15 minutes): get a new one, AFTER_SEQUENCE_NUMBER "
           "of the last record read";
  else if (strcmp(code, "TrimmedDataAccessException") == 0)
    hint = "the records there are past the stream's 24-hour retention: start again at TRIM_HORIZON";
  if (!hint) return st;
  char was[1024];
  const char *msg = dorm_client_errmsg(c);
  size_t oplen = strlen(op);
  if (strncmp(msg, op, oplen) == 0 && strncmp(msg + oplen, ": ", 2) == 0) msg += oplen + 2;
  snprintf(was, sizeof was, "%s", msg);
  return dorm__client_fail(c, st, op, "%s: %s", was, hint);
}

/* Sends the writer's body to DynamoDB Streams and parses the answer. */
static dorm_status call_streams(dorm_client *c, const char *op, cJSON **root) {
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send_service(c, DORM__SVC_STREAMS, op, &resp, &len);
  if (st != DORM_OK) return explain(c, op, st);
  return dorm__ops_parse(c, op, resp, len, root);
}

/* root[name] as a string copied into the arena; "" when absent (or null).
 * A member of another type is DORM_ERR_BAD_RESPONSE naming where. */
static dorm_status member_text(dorm_client *c, const char *op, const cJSON *obj, const char *where,
                               const char *name, dorm_arena *a, const char **out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!j || cJSON_IsNull(j)) {
    *out = "";
    return DORM_OK;
  }
  if (!cJSON_IsString(j) || !j->valuestring)
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s%s%s is not a string", where,
                             *where ? "." : "", name);
  *out = dorm_arena_strdup(a, j->valuestring);
  if (!*out) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  return DORM_OK;
}

/* Appends s to the arena array *v (grown by doubling). */
static bool push_text(dorm_arena *a, const char ***v, size_t *n, size_t *cap, const char *s) {
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    const char **grown = dorm_arena_realloc(a, (void *)*v, *cap * sizeof **v, ncap * sizeof **v);
    if (!grown) return false;
    *v = grown;
    *cap = ncap;
  }
  (*v)[(*n)++] = s;
  return true;
}

/* ---- ListStreams ---- */

dorm_status dorm_streams_list(dorm_client *c, const char *table, dorm_arena *a, const char ***arns,
                              size_t *count) {
  static const char op[] = "ListStreams";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, a && arns && count, "an arena, arns and count are required");
  *arns = NULL;
  *count = 0;
  if (table) {
    char err[256];
    if (dorm__tables_check_name(table, "table", err, sizeof err) != DORM_OK)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s", err);
  }
  size_t cap = 0;
  const char *start = NULL;
  for (;;) {
    dorm_jw *w = dorm__client_writer(c);
    dorm__jw_begin_object(w);
    if (table) dorm__jw_member_string(w, "TableName", table);
    if (start) dorm__jw_member_string(w, "ExclusiveStartStreamArn", start);
    dorm__jw_end_object(w);
    cJSON *root;
    dorm_status st = call_streams(c, op, &root);
    if (st != DORM_OK) return st;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "Streams"), *e;
    size_t before = *count;
    if (list && !cJSON_IsArray(list))
      st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: Streams is not an array");
    size_t i = 0;
    cJSON_ArrayForEach(e, list) {
      if (st != DORM_OK) break;
      char where[32];
      snprintf(where, sizeof where, "Streams[%zu]", i++);
      const char *arn = "";
      if (!cJSON_IsObject(e)) {
        st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s is not an object", where);
        break;
      }
      st = member_text(c, op, e, where, "StreamArn", a, &arn);
      if (st == DORM_OK && !*arn)
        st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s has no StreamArn", where);
      if (st == DORM_OK && !push_text(a, arns, count, &cap, arn))
        st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
    }
    const char *next = "";
    if (st == DORM_OK) st = member_text(c, op, root, "", "LastEvaluatedStreamArn", a, &next);
    cJSON_Delete(root);
    if (st != DORM_OK) return st;
    if (!*next) return DORM_OK;
    /* A page that ends where it started would loop forever. */
    if (*count == before || (start && strcmp(start, next) == 0))
      return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                               "response: LastEvaluatedStreamArn %.200s does not advance", next);
    start = next;
  }
}

/* ---- DescribeStream ---- */

static dorm_stream_status stream_status_from(const char *s) {
  static const char *const names[] = {"ENABLING", "ENABLED", "DISABLING", "DISABLED"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(s, names[i]) == 0) return (dorm_stream_status)(DORM_STREAM_STATUS_ENABLING + i);
  return DORM_STREAM_STATUS_UNKNOWN;
}

static dorm_stream_view stream_view_from(const char *s) {
  for (int v = DORM_STREAM_KEYS_ONLY; v <= DORM_STREAM_NEW_AND_OLD_IMAGES; v++)
    if (strcmp(s, dorm_stream_view_name((dorm_stream_view)v)) == 0) return (dorm_stream_view)v;
  return DORM_STREAM_NONE;
}

typedef struct shard_list {
  dorm_stream_shard *v;
  size_t n, cap;
} shard_list;

/* Reads one page's StreamDescription: the stream's own members (each page
 * repeats them) and its shards, appended to *shards. */
static dorm_status read_page(dorm_client *c, const char *op, const cJSON *sd, dorm_arena *a,
                             dorm_stream_description *out, shard_list *shards) {
  static const char sdn[] = "StreamDescription";
  if (!cJSON_IsObject(sd))
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: no StreamDescription object");
  const char *view = "";
  dorm_status st = member_text(c, op, sd, sdn, "StreamArn", a, &out->stream_arn);
  if (st == DORM_OK) st = member_text(c, op, sd, sdn, "StreamLabel", a, &out->stream_label);
  if (st == DORM_OK) st = member_text(c, op, sd, sdn, "TableName", a, &out->table_name);
  if (st == DORM_OK) st = member_text(c, op, sd, sdn, "StreamStatus", a, &out->status_text);
  if (st == DORM_OK) st = member_text(c, op, sd, sdn, "StreamViewType", a, &view);
  if (st != DORM_OK) return st;
  out->status = stream_status_from(out->status_text);
  out->view = stream_view_from(view);
  const cJSON *created = cJSON_GetObjectItemCaseSensitive(sd, "CreationRequestDateTime");
  if (created && !cJSON_IsNumber(created))
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                             "response: StreamDescription.CreationRequestDateTime is not a number");
  out->created = created ? created->valuedouble : 0;

  const cJSON *ks = cJSON_GetObjectItemCaseSensitive(sd, "KeySchema"), *k;
  if (ks && !cJSON_IsArray(ks))
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: StreamDescription.KeySchema is not an array");
  cJSON_ArrayForEach(k, ks) {
    const char *name = "", *type = "";
    st = cJSON_IsObject(k) ? member_text(c, op, k, "StreamDescription.KeySchema[]", "AttributeName", a, &name)
                           : dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                                               "response: StreamDescription.KeySchema holds a non-object");
    if (st == DORM_OK) st = member_text(c, op, k, "StreamDescription.KeySchema[]", "KeyType", a, &type);
    if (st != DORM_OK) return st;
    if (strcmp(type, "HASH") == 0) out->partition_key = name;
    else if (strcmp(type, "RANGE") == 0) out->sort_key = name;
  }

  const cJSON *list = cJSON_GetObjectItemCaseSensitive(sd, "Shards"), *e;
  if (list && !cJSON_IsArray(list))
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: StreamDescription.Shards is not an array");
  cJSON_ArrayForEach(e, list) {
    char where[64];
    snprintf(where, sizeof where, "Shards[%zu]", shards->n);
    if (!cJSON_IsObject(e))
      return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s is not an object", where);
    if (shards->n == shards->cap) {
      size_t ncap = shards->cap ? shards->cap * 2 : 8;
      dorm_stream_shard *grown =
          dorm_arena_realloc(a, shards->v, shards->cap * sizeof *shards->v, ncap * sizeof *shards->v);
      if (!grown) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
      shards->v = grown;
      shards->cap = ncap;
    }
    dorm_stream_shard *s = &shards->v[shards->n];
    st = member_text(c, op, e, where, "ShardId", a, &s->shard_id);
    if (st == DORM_OK && !*s->shard_id)
      st = dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s has no ShardId", where);
    if (st == DORM_OK) st = member_text(c, op, e, where, "ParentShardId", a, &s->parent_shard_id);
    if (st != DORM_OK) return st;
    s->starting_sequence_number = s->ending_sequence_number = "";
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(e, "SequenceNumberRange");
    if (range) {
      char rwhere[96];
      snprintf(rwhere, sizeof rwhere, "%s.SequenceNumberRange", where);
      if (!cJSON_IsObject(range))
        return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: %s is not an object", rwhere);
      st = member_text(c, op, range, rwhere, "StartingSequenceNumber", a, &s->starting_sequence_number);
      if (st == DORM_OK) st = member_text(c, op, range, rwhere, "EndingSequenceNumber", a, &s->ending_sequence_number);
      if (st != DORM_OK) return st;
    }
    shards->n++;
  }
  return DORM_OK;
}

typedef struct shard_rank {
  const char *id;
  size_t index;  /* in DynamoDB's order */
  size_t depth;  /* parents listed above it */
} shard_rank;

static int by_id(const void *x, const void *y) {
  return strcmp(((const shard_rank *)x)->id, ((const shard_rank *)y)->id);
}

static int by_depth(const void *x, const void *y) {
  const shard_rank *p = x, *q = y;
  if (p->depth != q->depth) return p->depth < q->depth ? -1 : 1;
  return p->index < q->index ? -1 : p->index > q->index;
}

/* Orders the shards so that every shard comes after its parent when the
 * parent is listed: by the number of listed ancestors, then DynamoDB's
 * order. A parent chain longer than the list (a cycle, which a well-formed
 * answer never has) stops counting there. */
static bool order_shards(dorm_arena *a, dorm_stream_shard *v, size_t n) {
  if (n < 2) return true;
  shard_rank *r = dorm_arena_calloc(a, n, sizeof *r);
  dorm_stream_shard *copy = dorm_arena_calloc(a, n, sizeof *copy);
  if (!r || !copy) return false;
  for (size_t i = 0; i < n; i++) r[i] = (shard_rank){v[i].shard_id, i, 0};
  qsort(r, n, sizeof *r, by_id);
  for (size_t i = 0; i < n; i++) {
    const char *parent = v[r[i].index].parent_shard_id;
    size_t depth = 0;
    while (*parent && depth < n) {
      shard_rank key = {parent, 0, 0};
      const shard_rank *p = bsearch(&key, r, n, sizeof *r, by_id);
      if (!p) break;
      depth++;
      parent = v[p->index].parent_shard_id;
    }
    r[i].depth = depth;
  }
  qsort(r, n, sizeof *r, by_depth);
  for (size_t i = 0; i < n; i++) copy[i] = v[r[i].index];
  memcpy(v, copy, n * sizeof *v);
  return true;
}

dorm_status dorm_streams_describe(dorm_client *c, const char *stream_arn, dorm_arena *a,
                                  dorm_stream_description *out) {
  static const char op[] = "DescribeStream";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, a && out, "an arena and out are required");
  memset(out, 0, sizeof *out);
  out->partition_key = out->sort_key = "";
  dorm_status st = check_text(c, op, "stream_arn", stream_arn, MAX_ARN);
  if (st != DORM_OK) return st;
  shard_list shards = {0};
  const char *start = NULL;
  for (;;) {
    dorm_jw *w = dorm__client_writer(c);
    dorm__jw_begin_object(w);
    dorm__jw_member_string(w, "StreamArn", stream_arn);
    if (start) dorm__jw_member_string(w, "ExclusiveStartShardId", start);
    dorm__jw_end_object(w);
    cJSON *root;
    st = call_streams(c, op, &root);
    if (st != DORM_OK) return st;
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "StreamDescription");
    size_t before = shards.n;
    const char *next = "";
    st = read_page(c, op, sd, a, out, &shards);
    if (st == DORM_OK) st = member_text(c, op, sd, "StreamDescription", "LastEvaluatedShardId", a, &next);
    cJSON_Delete(root);
    if (st != DORM_OK) return st;
    if (!*next) break;
    if (shards.n == before || (start && strcmp(start, next) == 0))
      return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op,
                               "response: LastEvaluatedShardId %.100s does not advance", next);
    start = next;
  }
  if (!*out->stream_arn) out->stream_arn = dorm_arena_strdup(a, stream_arn);
  if (!out->stream_arn || !order_shards(a, shards.v, shards.n))
    return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  out->shards = shards.v;
  out->shard_count = shards.n;
  return DORM_OK;
}

/* ---- GetShardIterator ---- */

static const char *iterator_type_name(dorm_shard_iterator_type t) {
  switch (t) {
  case DORM_ITERATOR_TRIM_HORIZON: return "TRIM_HORIZON";
  case DORM_ITERATOR_LATEST: return "LATEST";
  case DORM_ITERATOR_AT_SEQUENCE_NUMBER: return "AT_SEQUENCE_NUMBER";
  case DORM_ITERATOR_AFTER_SEQUENCE_NUMBER: return "AFTER_SEQUENCE_NUMBER";
  default: return NULL;
  }
}

dorm_status dorm_streams_shard_iterator(dorm_client *c, const char *stream_arn, const char *shard_id,
                                        dorm_shard_iterator_type type, const char *sequence_number,
                                        dorm_arena *a, const char **iterator) {
  static const char op[] = "GetShardIterator";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, a && iterator, "an arena and iterator are required");
  *iterator = NULL;
  dorm_status st = check_text(c, op, "stream_arn", stream_arn, MAX_ARN);
  if (st == DORM_OK) st = check_text(c, op, "shard_id", shard_id, MAX_SHARD_ID);
  if (st != DORM_OK) return st;
  const char *tname = iterator_type_name(type);
  if (!tname) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "unknown shard iterator type %d", (int)type);
  bool needs_seq = type == DORM_ITERATOR_AT_SEQUENCE_NUMBER || type == DORM_ITERATOR_AFTER_SEQUENCE_NUMBER;
  if (needs_seq) {
    st = check_sequence(c, op, sequence_number);
    if (st != DORM_OK) return st;
  } else if (sequence_number) {
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s takes no sequence_number (pass NULL)", tname);
  }
  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "StreamArn", stream_arn);
  dorm__jw_member_string(w, "ShardId", shard_id);
  dorm__jw_member_string(w, "ShardIteratorType", tname);
  if (needs_seq) dorm__jw_member_string(w, "SequenceNumber", sequence_number);
  dorm__jw_end_object(w);
  cJSON *root;
  st = call_streams(c, op, &root);
  if (st != DORM_OK) return st;
  const char *it = "";
  st = member_text(c, op, root, "", "ShardIterator", a, &it);
  cJSON_Delete(root);
  if (st != DORM_OK) return st;
  if (!*it) return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: no ShardIterator");
  *iterator = it;
  return DORM_OK;
}

/* ---- GetRecords (the body; model/stream_reader.c parses it) ---- */

dorm_status dorm__streams_get_records_body(dorm_client *c, const char *iterator, uint32_t limit,
                                           const char **body, size_t *len) {
  static const char op[] = "GetRecords";
  dorm_status st = check_text(c, op, "iterator", iterator, MAX_ITERATOR);
  if (st != DORM_OK) return st;
  if (limit > MAX_RECORDS)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "limit %u is over GetRecords' maximum of %d",
                             (unsigned)limit, MAX_RECORDS);
  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  dorm__jw_member_string(w, "ShardIterator", iterator);
  if (limit) dorm__jw_member_int(w, "Limit", limit);
  dorm__jw_end_object(w);
  st = dorm__client_send_service(c, DORM__SVC_STREAMS, op, body, len);
  if (st != DORM_OK) return explain(c, op, st);
  return DORM_OK;
}

/* ---- sequence numbers ---- */

int dorm_streams_seq_cmp(const char *a, const char *b) {
  /* Decimal digits without sign: skip leading zeros, then the longer is
   * the greater, and equal lengths compare as text. */
  a = a ? a : "";
  b = b ? b : "";
  while (*a == '0') a++;
  while (*b == '0') b++;
  size_t la = strlen(a), lb = strlen(b);
  if (la != lb) return la < lb ? -1 : 1;
  int r = strcmp(a, b);
  return (r > 0) - (r < 0);
}
