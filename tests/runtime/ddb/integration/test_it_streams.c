/* DynamoDB Streams against DynamoDB Local: a NEW_AND_OLD_IMAGES table,
 * puts, updates and deletes; ListStreams and DescribeStream; every shard
 * read from TRIM_HORIZON a few records per page, every record in order
 * with its images and increasing sequence numbers (and none for writes that
 * change nothing); resuming AT_ and AFTER_SEQUENCE_NUMBER; LATEST; invalid,
 * expired and unknown positions; the stream disabled, its shard closed and
 * read to its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core_internal.h" /* base64, for the aged iterator */
#include "it_common.h"

static dorm_client *C;

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  dorm_client_free(C);
  return 0;
}

#define OK(call)                                                        \
  do {                                                                  \
    dorm_status st_ = (call);                                           \
    if (st_ != DORM_OK) fail_msg("%s: %s", #call, dorm_client_errmsg(C)); \
  } while (0)

static void put(dorm_arena *a, const char *table, const char *pk, int64_t v) {
  dorm_av item = it_map();
  it_set_s(a, &item, "PK", pk);
  it_set_n(a, &item, "v", v);
  dorm_put_input in = {.table = table, .item = &item};
  OK(dorm_put_item(C, &in, a, NULL));
}

static void set_v(dorm_arena *a, const char *table, const char *pk, int64_t v) {
  dorm_av key = it_key_s(a, "PK", pk);
  dorm_av val;
  assert_int_equal(dorm_av_num_i64(a, v, &val), DORM_OK);
  dorm_expr x;
  dorm_expr_init(&x, a);
  dorm_update_set(&x, "v", val);
  dorm_update_input in = {.table = table, .key = &key, .expr = &x};
  OK(dorm_update_item(C, &in, a, NULL));
}

static void del(dorm_arena *a, const char *table, const char *pk) {
  dorm_av key = it_key_s(a, "PK", pk);
  dorm_delete_input in = {.table = table, .key = &key};
  OK(dorm_delete_item(C, &in, a, NULL));
}

/* Reads a shard from iterator `it` with `limit` records per call until an
 * empty page (an open shard) or the end (a closed one); appends to *out. */
typedef struct recs {
  dorm_stream_record v[64];
  size_t n;
  int pages;
  bool ended;  /* next iterator was NULL */
} recs;

static void read_shard(dorm_arena *a, const char *it, uint32_t limit, recs *out) {
  for (int guard = 0; it && guard < 100; guard++) {
    dorm_stream_record *r;
    size_t n;
    const char *next;
    OK(dorm_streams_get_records(C, it, limit, a, &r, &n, &next));
    out->pages++;
    assert_true(limit == 0 || n <= limit);
    for (size_t i = 0; i < n; i++) {
      assert_true(out->n < 64);
      out->v[out->n++] = r[i];
    }
    if (!next) out->ended = true;
    if (n == 0) return;
    it = next;
  }
}

typedef struct want {
  dorm_stream_event event;
  const char *pk;
  int64_t old_v, new_v; /* INT64_MIN: no such image */
} want;

static void check_record(const dorm_stream_record *r, const want *w, const char *table_stream_arn) {
  (void)table_stream_arn;
  assert_int_equal(r->event, w->event);
  assert_string_equal(it_get_s(&r->keys, "PK"), w->pk);
  assert_int_equal(r->keys.u.map.count, 1);
  assert_int_equal(r->has_old_image, w->old_v != INT64_MIN);
  assert_int_equal(r->has_new_image, w->new_v != INT64_MIN);
  if (r->has_old_image) {
    assert_string_equal(it_get_s(&r->old_image, "PK"), w->pk);
    assert_int_equal(it_get_n(&r->old_image, "v"), w->old_v);
  }
  if (r->has_new_image) {
    assert_string_equal(it_get_s(&r->new_image, "PK"), w->pk);
    assert_int_equal(it_get_n(&r->new_image, "v"), w->new_v);
  }
  assert_true(r->event_id && *r->event_id);
  assert_true(r->sequence_number && *r->sequence_number);
  assert_true(r->size_bytes > 0);
  /* DynamoDB Local rounds the time down to the minute. */
  double now = (double)time(NULL);
  assert_true(r->approximate_created > now - 600 && r->approximate_created < now + 120);
}

static void test_read_every_record(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char table[64];
  it_name(table, sizeof table, "it_streams");
  dorm_table_def def = {.name = table, .pk = {"PK", DORM_KEY_S}, .stream = DORM_STREAM_NEW_AND_OLD_IMAGES};
  OK(dorm_create_table(C, &def, NULL, NULL));
  OK(dorm_wait_table_active(C, table, 30000, NULL, NULL));
  dorm_table_description td;
  OK(dorm_describe_table(C, table, &a, &td));
  assert_true(*td.stream_arn);
  const char *arn = td.stream_arn;

  const char **arns;
  size_t narns;
  OK(dorm_streams_list(C, table, &a, &arns, &narns));
  assert_int_equal(narns, 1);
  assert_string_equal(arns[0], arn);
  /* Every stream: this one among them (other tests' streams too). */
  OK(dorm_streams_list(C, NULL, &a, &arns, &narns));
  bool listed = false;
  for (size_t i = 0; i < narns; i++) listed |= strcmp(arns[i], arn) == 0;
  assert_true(listed);

  put(&a, table, "a", 1);
  put(&a, table, "b", 10);
  set_v(&a, table, "a", 2);
  put(&a, table, "b", 10); /* the same item again: no change, no record */
  del(&a, table, "b");
  del(&a, table, "nobody"); /* nothing deleted: no record */
  put(&a, table, "a", 3);   /* a put over an item is a MODIFY */
  del(&a, table, "a");
  static const want expected[] = {
      {DORM_STREAM_INSERT, "a", INT64_MIN, 1}, {DORM_STREAM_INSERT, "b", INT64_MIN, 10},
      {DORM_STREAM_MODIFY, "a", 1, 2},         {DORM_STREAM_REMOVE, "b", 10, INT64_MIN},
      {DORM_STREAM_MODIFY, "a", 2, 3},         {DORM_STREAM_REMOVE, "a", 3, INT64_MIN},
  };
  const size_t nexp = sizeof expected / sizeof *expected;

  dorm_stream_description d;
  OK(dorm_streams_describe(C, arn, &a, &d));
  assert_string_equal(d.stream_arn, arn);
  assert_string_equal(d.table_name, table);
  assert_int_equal(d.status, DORM_STREAM_STATUS_ENABLED);
  assert_string_equal(d.status_text, "ENABLED");
  assert_int_equal(d.view, DORM_STREAM_NEW_AND_OLD_IMAGES);
  assert_string_equal(d.stream_label, td.stream_label);
  assert_string_equal(d.partition_key, "PK");
  assert_string_equal(d.sort_key, "");
  assert_true(d.created > 0);
  assert_true(d.shard_count >= 1);

  /* Every shard from TRIM_HORIZON, two records per call. */
  recs all = {0};
  for (size_t s = 0; s < d.shard_count; s++) {
    const dorm_stream_shard *sh = &d.shards[s];
    assert_true(*sh->shard_id && *sh->starting_sequence_number);
    const char *it;
    OK(dorm_streams_shard_iterator(C, arn, sh->shard_id, DORM_ITERATOR_TRIM_HORIZON, NULL, &a, &it));
    size_t before = all.n;
    read_shard(&a, it, 2, &all);
    if (all.n > before) assert_true(dorm_streams_seq_cmp(sh->starting_sequence_number, all.v[before].sequence_number) <= 0);
    assert_false(all.ended); /* the shard is open */
  }
  printf("  %zu shard(s), %zu records in %d GetRecords calls\n", d.shard_count, all.n, all.pages);
  assert_int_equal(all.n, nexp);
  assert_true(all.pages >= 3);
  for (size_t i = 0; i < nexp; i++) {
    check_record(&all.v[i], &expected[i], arn);
    if (i > 0) assert_true(dorm_streams_seq_cmp(all.v[i - 1].sequence_number, all.v[i].sequence_number) < 0);
    for (size_t j = 0; j < i; j++) assert_string_not_equal(all.v[j].event_id, all.v[i].event_id);
  }

  /* Resuming: after the third record comes the fourth; at it, the third. */
  const char *shard = d.shards[d.shard_count - 1].shard_id;
  const char *it;
  recs rest = {0};
  OK(dorm_streams_shard_iterator(C, arn, shard, DORM_ITERATOR_AFTER_SEQUENCE_NUMBER, all.v[2].sequence_number, &a, &it));
  read_shard(&a, it, 0, &rest);
  assert_int_equal(rest.n, nexp - 3);
  for (size_t i = 0; i < rest.n; i++) {
    assert_string_equal(rest.v[i].sequence_number, all.v[3 + i].sequence_number);
    assert_string_equal(rest.v[i].event_id, all.v[3 + i].event_id);
    check_record(&rest.v[i], &expected[3 + i], arn);
  }
  recs at = {0};
  OK(dorm_streams_shard_iterator(C, arn, shard, DORM_ITERATOR_AT_SEQUENCE_NUMBER, all.v[2].sequence_number, &a, &it));
  read_shard(&a, it, 1, &at);
  assert_int_equal(at.n, nexp - 2);
  assert_string_equal(at.v[0].sequence_number, all.v[2].sequence_number);

  /* LATEST sees only what is written afterwards. */
  const char *latest;
  OK(dorm_streams_shard_iterator(C, arn, shard, DORM_ITERATOR_LATEST, NULL, &a, &latest));
  dorm_stream_record *r;
  size_t n;
  const char *next;
  OK(dorm_streams_get_records(C, latest, 0, &a, &r, &n, &next));
  assert_int_equal(n, 0);
  assert_non_null(next);
  put(&a, table, "c", 7);
  OK(dorm_streams_get_records(C, next, 0, &a, &r, &n, &next));
  assert_int_equal(n, 1);
  check_record(&r[0], &(want){DORM_STREAM_INSERT, "c", INT64_MIN, 7}, arn);
  assert_true(dorm_streams_seq_cmp(all.v[nexp - 1].sequence_number, r[0].sequence_number) < 0);
  const char *last_seq = r[0].sequence_number;

  /* Disabling the stream closes its shard: read to its end, no next iterator. */
  dorm_table_change off = {.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NONE};
  OK(dorm_update_table(C, table, &off, NULL, NULL));
  OK(dorm_wait_table_active(C, table, 30000, NULL, NULL));
  OK(dorm_streams_describe(C, arn, &a, &d));
  assert_int_equal(d.status, DORM_STREAM_STATUS_DISABLED);
  for (size_t s = 0; s < d.shard_count; s++) assert_true(*d.shards[s].ending_sequence_number);
  assert_true(dorm_streams_seq_cmp(d.shards[d.shard_count - 1].ending_sequence_number, last_seq) >= 0);
  OK(dorm_streams_shard_iterator(C, arn, shard, DORM_ITERATOR_AFTER_SEQUENCE_NUMBER, last_seq, &a, &it));
  recs tail = {0};
  read_shard(&a, it, 0, &tail);
  assert_int_equal(tail.n, 0);
  assert_true(tail.ended);
  /* The disabled stream is still listed (readable for 24 hours). */
  OK(dorm_streams_list(C, table, &a, &arns, &narns));
  assert_int_equal(narns, 1);

  it_drop_table(C, table);
  dorm_arena_free(&a);
}

/* DynamoDB Local's iterators are "<stream arn>|001|<base64 of
 * 'shard|sequence|created ms'>" and expire 15 minutes after created: an
 * iterator made 16 minutes ago is refused as AWS refuses an old one. An
 * iterator of another form (a newer DynamoDB Local) skips this part. */
static char *aged_iterator(dorm_arena *a, const char *it) {
  const char *bar = strrchr(it, '|');
  if (!bar) return NULL;
  size_t plen = strlen(bar + 1);
  char raw[512];
  size_t rlen;
  if (dorm__b64_decoded_max(plen) >= sizeof raw ||
      !dorm__b64_decode(bar + 1, plen, (uint8_t *)raw, &rlen, DORM_B64_STD, NULL))
    return NULL;
  raw[rlen] = '\0';
  char *ms = strrchr(raw, '|');
  int width = ms ? (int)strlen(ms + 1) : 0;
  if (width < 13 || width > 40 || strspn(ms + 1, "0123456789") != (size_t)width) return NULL;
  long long old = ((long long)time(NULL) - 16 * 60) * 1000LL;
  snprintf(ms + 1, raw + sizeof raw - (ms + 1), "%0*lld", width, old);
  char enc[700];
  if (dorm__b64_encoded_len(strlen(raw)) >= sizeof enc) return NULL;
  size_t elen = dorm__b64_encode((const uint8_t *)raw, strlen(raw), enc, DORM_B64_STD);
  size_t head = (size_t)(bar + 1 - it);
  char *out = dorm_arena_alloc(a, head + elen + 1);
  memcpy(out, it, head);
  memcpy(out + head, enc, elen);
  out[head + elen] = '\0';
  return out;
}

static void test_refused_positions(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char table[64];
  it_name(table, sizeof table, "it_streams_bad");
  dorm_table_def def = {.name = table, .pk = {"PK", DORM_KEY_S}, .stream = DORM_STREAM_KEYS_ONLY};
  OK(dorm_create_table(C, &def, NULL, NULL));
  OK(dorm_wait_table_active(C, table, 30000, NULL, NULL));
  dorm_table_description td;
  OK(dorm_describe_table(C, table, &a, &td));
  dorm_stream_description d;
  OK(dorm_streams_describe(C, td.stream_arn, &a, &d));
  assert_int_equal(d.view, DORM_STREAM_KEYS_ONLY);
  const char *shard = d.shards[0].shard_id;
  put(&a, table, "k", 1);

  dorm_stream_record *r;
  size_t n;
  const char *next;
  /* Not an iterator at all. */
  assert_int_equal(dorm_streams_get_records(C, "not-an-iterator", 0, &a, &r, &n, &next), DORM_ERR_VALIDATION);
  it_assert_msg(C, "GetRecords: ValidationException", "Invalid ShardIterator", NULL);
  assert_null(next);

  const char *it;
  OK(dorm_streams_shard_iterator(C, td.stream_arn, shard, DORM_ITERATOR_TRIM_HORIZON, NULL, &a, &it));
  OK(dorm_streams_get_records(C, it, 0, &a, &r, &n, &next));
  assert_int_equal(n, 1);
  assert_false(r[0].has_new_image || r[0].has_old_image); /* KEYS_ONLY */
  assert_string_equal(it_get_s(&r[0].keys, "PK"), "k");

  /* An expired iterator: DORM_ERR_BAD_CURSOR, one attempt, what to do. */
  char *aged = aged_iterator(&a, it);
  if (aged) {
    uint64_t attempts = it_attempts(C);
    assert_int_equal(dorm_streams_get_records(C, aged, 0, &a, &r, &n, &next), DORM_ERR_BAD_CURSOR);
    assert_int_equal(it_attempts(C), attempts + 1);
    assert_string_equal(dorm_client_error_code(C), "ExpiredIteratorException");
    it_assert_msg(C, "GetRecords: ExpiredIteratorException", "(HTTP 400)",
                  "the shard iterator expired (iterators last 15 minutes)", NULL);
    printf("  expired: %s\n", dorm_client_errmsg(C));
  } else {
    printf("  DynamoDB Local's iterator has another form; the expired iterator is not tried\n");
  }

  /* No such shard, no such stream. */
  assert_int_equal(dorm_streams_shard_iterator(C, td.stream_arn, "shardId-00000000000000000000-nothere",
                                               DORM_ITERATOR_TRIM_HORIZON, NULL, &a, &it),
                   DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "GetShardIterator: ResourceNotFoundException", NULL);
  char missing[1100];
  snprintf(missing, sizeof missing, "%sx", td.stream_arn);
  assert_int_equal(dorm_streams_describe(C, missing, &a, &d), DORM_ERR_TABLE_NOT_FOUND);
  it_assert_msg(C, "DescribeStream: ResourceNotFoundException", "not found", NULL);
  assert_int_equal(d.shard_count, 0);
  /* A sequence number that is not a number is refused before sending. */
  assert_int_equal(dorm_streams_shard_iterator(C, td.stream_arn, shard,
                                               DORM_ITERATOR_AFTER_SEQUENCE_NUMBER, "latest", &a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  /* A table without a stream has none to list. */
  char plain[64];
  it_name(plain, sizeof plain, "it_streams_none");
  it_create_table(C, plain, "PK", DORM_KEY_S, NULL, DORM_KEY_S);
  const char **arns;
  size_t narns = 9;
  OK(dorm_streams_list(C, plain, &a, &arns, &narns));
  assert_int_equal(narns, 0);
  it_drop_table(C, plain);
  it_drop_table(C, table);
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_every_record),
      cmocka_unit_test(test_refused_positions),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
