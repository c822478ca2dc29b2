/* DynamoDB Streams against a scripted loopback server, for what DynamoDB
 * Local does not do on demand: DescribeStream over several pages (and a
 * page that does not advance), split shards listed children first,
 * ListStreams pages, ExpiredIteratorException and TrimmedDataAccessException
 * (mapped, explained, never retried), LimitExceededException (retried),
 * malformed GetRecords answers, arguments refused before anything is sent,
 * and the Streams endpoint taken from AWS_ENDPOINT_URL_DYNAMODB_STREAMS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "client_internal.h"
#include "scripted_server.h"

#define ARN "arn:aws:dynamodb:us-east-1:123456789012:table/tab1/stream/2026-12-06T00:00:00.000"

static void assert_body(ss_fixture *f, size_t i, const char *target, const char *body) {
  char *t = ss_target(f->server, i), *b = ss_body(f->server, i);
  assert_non_null(t);
  assert_string_equal(t, target);
  assert_string_equal(b, body);
  free(t);
  free(b);
}

static void assert_msg(dorm_client *c, const char *part) {
  if (!strstr(dorm_client_errmsg(c), part)) fail_msg("message '%s' lacks '%s'", dorm_client_errmsg(c), part);
}

#define PAGE_HEAD                                                                                         \
  "{\"StreamDescription\":{\"StreamArn\":\"" ARN "\",\"StreamLabel\":\"2026-12-06T00:00:00.000\","         \
  "\"StreamStatus\":\"ENABLED\",\"StreamViewType\":\"NEW_AND_OLD_IMAGES\",\"CreationRequestDateTime\":1796515200.5," \
  "\"TableName\":\"tab1\",\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":\"HASH\"},"                   \
  "{\"AttributeName\":\"SK\",\"KeyType\":\"RANGE\"}],"

static void test_describe_follows_pages(void **state) {
  ss_fixture *f = *state;
  /* Page 1 lists a child before its parent (on page 2) and grandchild (page 3). */
  ss_push(f->server, 200,
          PAGE_HEAD "\"Shards\":[{\"ShardId\":\"shardId-child\",\"ParentShardId\":\"shardId-root\","
                    "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"300\"}},"
                    "{\"ShardId\":\"shardId-orphan\",\"ParentShardId\":\"shardId-trimmed\","
                    "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"100\",\"EndingSequenceNumber\":\"150\"}}],"
                    "\"LastEvaluatedShardId\":\"shardId-orphan\"}}");
  ss_push(f->server, 200,
          PAGE_HEAD "\"Shards\":[{\"ShardId\":\"shardId-root\",\"SequenceNumberRange\":"
                    "{\"StartingSequenceNumber\":\"200\",\"EndingSequenceNumber\":\"299\"}}],"
                    "\"LastEvaluatedShardId\":\"shardId-root\"}}");
  ss_push(f->server, 200,
          PAGE_HEAD "\"Shards\":[{\"ShardId\":\"shardId-grandchild\",\"ParentShardId\":\"shardId-child\","
                    "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"400\"}}]}}");
  dorm_stream_description d;
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_OK);
  assert_int_equal(ss_count(f->server), 3);
  assert_body(f, 0, "DynamoDBStreams_20120810.DescribeStream", "{\"StreamArn\":\"" ARN "\"}");
  assert_body(f, 1, "DynamoDBStreams_20120810.DescribeStream",
              "{\"StreamArn\":\"" ARN "\",\"ExclusiveStartShardId\":\"shardId-orphan\"}");
  assert_body(f, 2, "DynamoDBStreams_20120810.DescribeStream",
              "{\"StreamArn\":\"" ARN "\",\"ExclusiveStartShardId\":\"shardId-root\"}");
  assert_string_equal(d.stream_arn, ARN);
  assert_string_equal(d.stream_label, "2026-12-06T00:00:00.000");
  assert_string_equal(d.table_name, "tab1");
  assert_int_equal(d.status, DORM_STREAM_STATUS_ENABLED);
  assert_string_equal(d.status_text, "ENABLED");
  assert_int_equal(d.view, DORM_STREAM_NEW_AND_OLD_IMAGES);
  assert_true(d.created == 1796515200.5);
  assert_string_equal(d.partition_key, "PK");
  assert_string_equal(d.sort_key, "SK");
  /* Parents first; a shard whose parent is gone keeps DynamoDB's order. */
  assert_int_equal(d.shard_count, 4);
  assert_string_equal(d.shards[0].shard_id, "shardId-orphan");
  assert_string_equal(d.shards[0].parent_shard_id, "shardId-trimmed");
  assert_string_equal(d.shards[0].ending_sequence_number, "150");
  assert_string_equal(d.shards[1].shard_id, "shardId-root");
  assert_string_equal(d.shards[1].parent_shard_id, "");
  assert_string_equal(d.shards[1].starting_sequence_number, "200");
  assert_string_equal(d.shards[1].ending_sequence_number, "299");
  assert_string_equal(d.shards[2].shard_id, "shardId-child");
  assert_string_equal(d.shards[2].ending_sequence_number, ""); /* open */
  assert_string_equal(d.shards[3].shard_id, "shardId-grandchild");
  assert_string_equal(dorm_client_errmsg(f->c), "");
}

static void test_describe_refuses_bad_pages(void **state) {
  ss_fixture *f = *state;
  dorm_stream_description d;
  /* A page that hands back where it started would loop forever. */
  ss_push(f->server, 200, PAGE_HEAD "\"Shards\":[{\"ShardId\":\"s1\"}],\"LastEvaluatedShardId\":\"s1\"}}");
  ss_push(f->server, 200, PAGE_HEAD "\"Shards\":[],\"LastEvaluatedShardId\":\"s1\"}}");
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "DescribeStream: response: LastEvaluatedShardId s1 does not advance");
  ss_push(f->server, 200, PAGE_HEAD "\"Shards\":[{\"ParentShardId\":\"x\"}]}}");
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "DescribeStream: response: Shards[0] has no ShardId");
  ss_push(f->server, 200, PAGE_HEAD "\"Shards\":[{\"ShardId\":\"s\",\"SequenceNumberRange\":{\"StartingSequenceNumber\":7}}]}}");
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "Shards[0].SequenceNumberRange.StartingSequenceNumber is not a string");
  ss_push(f->server, 200, "{}");
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "no StreamDescription");
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
          "\"message\":\"Requested resource not found: Stream: " ARN " not found\"}");
  assert_int_equal(dorm_streams_describe(f->c, ARN, &f->a, &d), DORM_ERR_TABLE_NOT_FOUND);
  assert_string_equal(dorm_client_error_code(f->c), "ResourceNotFoundException");
  assert_msg(f->c, "DescribeStream: ResourceNotFoundException: Requested resource not found");
}

static void test_list_follows_pages(void **state) {
  ss_fixture *f = *state;
  ss_push(f->server, 200,
          "{\"Streams\":[{\"StreamArn\":\"arn:1\",\"TableName\":\"tab1\",\"StreamLabel\":\"l1\"}],"
          "\"LastEvaluatedStreamArn\":\"arn:1\"}");
  ss_push(f->server, 200, "{\"Streams\":[{\"StreamArn\":\"arn:2\",\"TableName\":\"tab1\",\"StreamLabel\":\"l2\"}]}");
  const char **arns;
  size_t n;
  assert_int_equal(dorm_streams_list(f->c, "tab1", &f->a, &arns, &n), DORM_OK);
  assert_int_equal(n, 2);
  assert_string_equal(arns[0], "arn:1");
  assert_string_equal(arns[1], "arn:2");
  assert_body(f, 0, "DynamoDBStreams_20120810.ListStreams", "{\"TableName\":\"tab1\"}");
  assert_body(f, 1, "DynamoDBStreams_20120810.ListStreams",
              "{\"TableName\":\"tab1\",\"ExclusiveStartStreamArn\":\"arn:1\"}");
  ss_push(f->server, 200, "{\"Streams\":[]}");
  assert_int_equal(dorm_streams_list(f->c, NULL, &f->a, &arns, &n), DORM_OK);
  assert_int_equal(n, 0);
  assert_body(f, 2, "DynamoDBStreams_20120810.ListStreams", "{}");
  ss_push(f->server, 200, "{\"Streams\":[{\"TableName\":\"tab1\"}]}");
  assert_int_equal(dorm_streams_list(f->c, NULL, &f->a, &arns, &n), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "ListStreams: response: Streams[0] has no StreamArn");
  assert_int_equal(dorm_streams_list(f->c, "x", &f->a, &arns, &n), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(ss_count(f->server), 4);
}

static void test_expired_and_trimmed_iterators(void **state) {
  ss_fixture *f = *state;
  dorm_stream_record *r;
  size_t n;
  const char *next = "unchanged";
  ss_push(f->server, 400,
          "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ExpiredIteratorException\","
          "\"message\":\"Iterator expired. The iterator was created at time 2026-12-06T00:00:00Z\"}");
  assert_int_equal(dorm_streams_get_records(f->c, "it-1", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_CURSOR);
  /* One attempt: an expired iterator stays expired. */
  assert_int_equal(ss_count(f->server), 1);
  assert_int_equal(f->slept.n, 0);
  assert_null(next);
  assert_int_equal(n, 0);
  assert_string_equal(dorm_client_error_code(f->c), "ExpiredIteratorException");
  assert_msg(f->c, "GetRecords: ExpiredIteratorException: Iterator expired. The iterator was created at time "
                   "2026-12-06T00:00:00Z (HTTP 400)");
  assert_msg(f->c, ": the shard iterator expired (iterators last 15 minutes): get a new one, AFTER_SEQUENCE_NUMBER "
                   "of the last record read");
  assert_body(f, 0, "DynamoDBStreams_20120810.GetRecords", "{\"ShardIterator\":\"it-1\"}");

  ss_push(f->server, 400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException\"}");
  const char *it = "unchanged";
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "shardId-1", DORM_ITERATOR_AFTER_SEQUENCE_NUMBER, "0042",
                                               &f->a, &it),
                   DORM_ERR_BAD_CURSOR);
  assert_null(it);
  assert_int_equal(ss_count(f->server), 2);
  assert_int_equal(f->slept.n, 0);
  assert_string_equal(dorm_client_error_code(f->c), "TrimmedDataAccessException");
  assert_msg(f->c, "GetShardIterator: TrimmedDataAccessException (HTTP 400)");
  assert_msg(f->c, "past the stream's 24-hour retention: start again at TRIM_HORIZON");
  assert_body(f, 1, "DynamoDBStreams_20120810.GetShardIterator",
              "{\"StreamArn\":\"" ARN "\",\"ShardId\":\"shardId-1\",\"ShardIteratorType\":\"AFTER_SEQUENCE_NUMBER\","
              "\"SequenceNumber\":\"0042\"}");

  /* DynamoDB Streams' throttling is retried like DynamoDB's. */
  ss_push(f->server, 400, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#LimitExceededException\"}");
  ss_push(f->server, 200, "{\"Records\":[],\"NextShardIterator\":\"it-2\"}");
  assert_int_equal(dorm_streams_get_records(f->c, "it-1", 10, &f->a, &r, &n, &next), DORM_OK);
  assert_int_equal(ss_count(f->server), 4);
  assert_int_equal(f->slept.n, 1);
  assert_int_equal(n, 0);
  assert_null(r);
  assert_string_equal(next, "it-2");
  assert_body(f, 3, "DynamoDBStreams_20120810.GetRecords", "{\"ShardIterator\":\"it-1\",\"Limit\":10}");
  assert_string_equal(dorm_client_errmsg(f->c), "");
  assert_string_equal(dorm_client_error_code(f->c), "");
}

static void test_get_records_answers(void **state) {
  ss_fixture *f = *state;
  dorm_stream_record *r;
  size_t n;
  const char *next;
  ss_push(f->server, 200,
          "{\"Records\":[{\"eventID\":\"e1\",\"eventName\":\"INSERT\",\"eventSource\":\"aws:dynamodb\","
          "\"dynamodb\":{\"ApproximateCreationDateTime\":1796578860.0,\"Keys\":{\"PK\":{\"S\":\"a\"}},"
          "\"NewImage\":{\"PK\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}},\"SequenceNumber\":\"000000000000000000001\","
          "\"SizeBytes\":9,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}},"
          "{\"eventID\":\"e2\",\"eventName\":\"REMOVE\",\"dynamodb\":{\"Keys\":{\"PK\":{\"S\":\"a\"}},"
          "\"OldImage\":{\"PK\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}},\"SequenceNumber\":\"000000000000000000002\"}}]}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_OK);
  assert_int_equal(n, 2);
  assert_null(next); /* a closed shard read to its end */
  assert_int_equal(r[0].event, DORM_STREAM_INSERT);
  assert_string_equal(r[0].sequence_number, "000000000000000000001");
  assert_true(r[0].approximate_created == 1796578860.0);
  assert_int_equal(r[0].size_bytes, 9);
  assert_string_equal(r[0].table_arn, "");
  assert_true(r[0].has_new_image && !r[0].has_old_image);
  assert_int_equal(r[1].event, DORM_STREAM_REMOVE);
  assert_true(!r[1].has_new_image && r[1].has_old_image);
  assert_true(dorm_streams_seq_cmp(r[0].sequence_number, r[1].sequence_number) < 0);

  ss_push(f->server, 200, "{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{}}},{\"eventName\":\"UPSERT\"}]}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "GetRecords: response: Records[1]: \"eventName\" is not INSERT, MODIFY or REMOVE: UPSERT");
  assert_int_equal(n, 0);
  ss_push(f->server, 200, "{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{},\"SequenceNumber\":5}}]}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "Records[0]: \"dynamodb.SequenceNumber\" is not a string");
  ss_push(f->server, 200, "{\"NextShardIterator\":\"x\"}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "GetRecords: response: no Records array");
  ss_push(f->server, 200, "{\"Records\":[],\"NextShardIterator\":7}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "NextShardIterator is not a non-empty string");
  ss_push(f->server, 200, "{\"Records\":[],\"NextShardIterator\":null}");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_OK);
  assert_null(next);
  ss_push(f->server, 200, "not json");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, &f->a, &r, &n, &next), DORM_ERR_BAD_RESPONSE);
  assert_msg(f->c, "GetRecords: response:");
  assert_int_equal(ss_count(f->server), 7);
}

static void test_arguments_refused_before_sending(void **state) {
  ss_fixture *f = *state;
  const char *it;
  dorm_stream_record *r;
  size_t n;
  const char *next;
  dorm_stream_description d;
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "s", DORM_ITERATOR_TRIM_HORIZON, "1", &f->a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "GetShardIterator: TRIM_HORIZON takes no sequence_number (pass NULL)");
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "s", DORM_ITERATOR_AT_SEQUENCE_NUMBER, NULL, &f->a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "sequence_number must be 1 to 40 decimal digits, got '(null)'");
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "s", DORM_ITERATOR_AT_SEQUENCE_NUMBER, "12a", &f->a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "s", (dorm_shard_iterator_type)9, NULL, &f->a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "unknown shard iterator type 9");
  assert_int_equal(dorm_streams_shard_iterator(f->c, ARN, "", DORM_ITERATOR_LATEST, NULL, &f->a, &it),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "GetShardIterator: shard_id is required");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 1001, &f->a, &r, &n, &next), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "GetRecords: limit 1001 is over GetRecords' maximum of 1000");
  assert_int_equal(dorm_streams_get_records(f->c, NULL, 0, &f->a, &r, &n, &next), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "GetRecords: iterator is required");
  assert_int_equal(dorm_streams_get_records(f->c, "it", 0, NULL, &r, &n, &next), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_streams_describe(f->c, NULL, &f->a, &d), DORM_ERR_INVALID_ARGUMENT);
  assert_msg(f->c, "DescribeStream: stream_arn is required");
  assert_int_equal(ss_count(f->server), 0);
}

static void test_sequence_order(void **state) {
  (void)state;
  assert_true(dorm_streams_seq_cmp("000000000000000000009", "000000000000000000010") < 0);
  assert_true(dorm_streams_seq_cmp("9", "000000000000000000010") < 0);
  assert_true(dorm_streams_seq_cmp("100000000000000000000000000000000000000", "99999999999999999999") > 0);
  assert_int_equal(dorm_streams_seq_cmp("0042", "42"), 0);
  assert_int_equal(dorm_streams_seq_cmp("", "0"), 0);
}

/* AWS_ENDPOINT_URL_DYNAMODB_STREAMS sends Streams calls to their own
 * endpoint while DynamoDB's go elsewhere (here: nowhere). */
static void test_streams_endpoint_from_environment(void **state) {
  (void)state;
  ss *server = ss_start();
  assert_non_null(server);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", ss_url(server), 1);
  unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  cfg.max_attempts = 1;
  cfg.connect_timeout_ms = 2000;
  dorm_client *c;
  char err[256];
  assert_int_equal(dorm_client_new(&cfg, &c, err, sizeof err), DORM_OK);
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
  char want[96];
  snprintf(want, sizeof want, "%s/", ss_url(server));
  assert_string_equal(dorm__client_service_endpoint(c, DORM__SVC_STREAMS), want);
  assert_string_equal(dorm__client_service_endpoint(c, DORM__SVC_DYNAMODB), "http://127.0.0.1:9/");
  assert_string_equal(dorm_client_endpoint(c), "http://127.0.0.1:9/");

  ss_push(server, 200, "{\"ShardIterator\":\"it-9\"}");
  dorm_arena a = DORM_ARENA_INIT;
  const char *it;
  assert_int_equal(dorm_streams_shard_iterator(c, ARN, "shardId-1", DORM_ITERATOR_LATEST, NULL, &a, &it), DORM_OK);
  assert_string_equal(it, "it-9");
  char *t = ss_target(server, 0);
  assert_string_equal(t, "DynamoDBStreams_20120810.GetShardIterator");
  free(t);
  /* DynamoDB itself is not there. */
  const char **names;
  size_t n;
  assert_int_equal(dorm_list_tables(c, 0, &a, &names, &n), DORM_ERR_NETWORK);
  assert_int_equal(ss_count(server), 1);
  dorm_arena_free(&a);
  dorm_client_free(c);
  ss_stop(server);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_describe_follows_pages, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_describe_refuses_bad_pages, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_list_follows_pages, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_expired_and_trimmed_iterators, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_get_records_answers, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_arguments_refused_before_sending, ss_fixture_setup, ss_fixture_teardown),
      cmocka_unit_test(test_sequence_order),
      cmocka_unit_test(test_streams_endpoint_from_environment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
