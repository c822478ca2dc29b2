/* The processor against DynamoDB Local: the same stream record delivered
 * twice runs the job once.
 *
 * A request item is created the way the router creates it; the INSERT record
 * its creation writes to the requests table's stream is read back with
 * GetRecords, then handed to the processor twice (dorm__st_on_stream_record,
 * what the poller does with every record). Both resulting jobs run at the
 * same time on two threads, and the record is handed over once more after
 * the job finished. The handler counts its runs: one; the request is
 * COMPLETED after one attempt, and its messages hold exactly one complete.
 *
 * Messages stored from many threads at once (the group commit of
 * dorm__st_put_message: one BatchWriteItem for what queues meanwhile) all
 * land, each under its own key with its own body, also when two threads
 * store the same key at once (a batch may not hold one key twice).
 * A cancel that no processor read (its lease owner died, or the request
 * was given back) ends the request CANCELLED at the next claim.
 * Shares the streamer's tables with the e2e tests (RESOURCE_LOCK in
 * CMakeLists.txt); its user and request ids are its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "streamer_internal.h"
#include "test_support.h"

/* ---- an async endpoint without fields whose handler counts its runs ---- */

static atomic_int runs;

static const dorm_struct_desc empty_desc = {"Empty", 1, NULL, 0};

static dorm_status counting_handler(dorm_stream_ctx *ctx, const void *req, dorm_progress *pr, void *res) {
  (void)req;
  (void)res;
  atomic_fetch_add(&runs, 1);
  /* long enough for the other job to try its claim while this one runs */
  for (int i = 0; i < 10; i++) {
    if (dorm_stream_cancelled(ctx)) return DORM_ERR_CANCELLED;
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL);
    dorm_progress_report(pr, 10.0 * (i + 1), "step", NULL);
  }
  return DORM_OK;
}

static const dorm_endpoint_desc counted = {
    "Counted", DORM_ENDPOINT_ASYNC, 60000, NULL, 0, &empty_desc, NULL, &empty_desc, NULL, counting_handler};
static const dorm_endpoint_desc *const endpoints[] = {&counted};

static dorm__streamer *S;
static dorm_client *C;

static void fail_call(dorm_status st, const char *what) {
  if (st != DORM_OK) fail_msg("%s: %s: %s", what, dorm_strerror(st), dorm_client_errmsg(C));
}

static int setup(void **state) {
  (void)state;
  setenv("AWS_ACCESS_KEY_ID", "local", 0);
  setenv("AWS_SECRET_ACCESS_KEY", "local", 0);
  S = calloc(1, sizeof *S);
  S->cfg.ddb_endpoint = ts_ddb_endpoint();
  S->cfg.region = "us-east-1";
  S->cfg.workers = 2;
  S->cfg.lease_ms = 15000;
  S->cfg.progress_interval_ms = 0;
  S->cfg.max_attempts = 1;
  S->endpoints = endpoints;
  S->nendpoints = 1;
  snprintf(S->server_id, sizeof S->server_id, "test-processor-%d", (int)getpid());
  snprintf(S->server_url, sizeof S->server_url, "http://127.0.0.1:9");
  dorm__st_metrics_init(&S->metrics);
  pthread_mutex_init(&S->jobs_mu, NULL);
  pthread_mutex_init(&S->running_mu, NULL);
  pthread_mutex_init(&S->conns_mu, NULL);
  C = dorm__st_client(S);
  if (!C) return -1;
  if (dorm_streamer_Connection_table_ensure(C, 60000) != DORM_OK ||
      dorm_streamer_Request_table_ensure(C, 60000) != DORM_OK ||
      dorm_streamer_Message_table_ensure(C, 60000) != DORM_OK) {
    fprintf(stderr, "tables: %s\n", dorm_client_errmsg(C));
    return -1;
  }
  return 0;
}

/* ---- reading the stream ---- */

typedef struct iters {
  const char *it[16];
  size_t n;
} iters;

/* LATEST iterators of every open shard: what is written after this call. */
static void latest(dorm_arena *a, const char *arn, iters *out) {
  dorm_stream_description d;
  fail_call(dorm_streams_describe(C, arn, a, &d), "DescribeStream");
  out->n = 0;
  for (size_t i = 0; i < d.shard_count && out->n < 16; i++) {
    if (d.shards[i].ending_sequence_number[0]) continue; /* closed */
    fail_call(dorm_streams_shard_iterator(C, arn, d.shards[i].shard_id, DORM_ITERATOR_LATEST, NULL, a,
                                          &out->it[out->n]),
              "GetShardIterator");
    out->n++;
  }
  assert_true(out->n > 0);
}

/* The INSERT record of pk (PK attribute), read from the iterators. */
static dorm_stream_record find_insert(dorm_arena *a, iters *its, const char *pk) {
  for (int round = 0; round < 100; round++) {
    for (size_t i = 0; i < its->n; i++) {
      if (!its->it[i]) continue;
      dorm_stream_record *r;
      size_t n;
      const char *next;
      fail_call(dorm_streams_get_records(C, its->it[i], 100, a, &r, &n, &next), "GetRecords");
      its->it[i] = next;
      for (size_t k = 0; k < n; k++) {
        if (r[k].event != DORM_STREAM_INSERT || !r[k].has_new_image) continue;
        const dorm_av *v = dorm_av_map_get(&r[k].keys, "PK");
        if (v && v->type == DORM_AV_S && v->u.s.len == strlen(pk) && memcmp(v->u.s.ptr, pk, v->u.s.len) == 0)
          return r[k];
      }
    }
    struct timespec ts = {0, 100 * 1000000L}; /* records reach the stream shortly after the write */
    nanosleep(&ts, NULL);
  }
  fail_msg("the INSERT record of %s never reached the stream", pk);
  dorm_stream_record none;
  memset(&none, 0, sizeof none);
  return none;
}

/* ---- running the queued jobs ---- */

static dorm__st_job *take_run(void) {
  pthread_mutex_lock(&S->jobs_mu);
  dorm__st_job *j = S->runs_head;
  if (j) {
    S->runs_head = j->next;
    if (!S->runs_head) S->runs_tail = NULL;
    S->runs_len--;
  }
  pthread_mutex_unlock(&S->jobs_mu);
  return j;
}

static void *run_job(void *arg) {
  dorm__st_job *j = arg;
  dorm__st_run_request(S, j->request_pk, j->queued_ms); /* its client is freed when the thread ends */
  return NULL;
}

static void run_queued_concurrently(size_t expect) {
  dorm__st_job *jobs[8];
  size_t n = 0;
  for (dorm__st_job *j; n < 8 && (j = take_run()) != NULL;) jobs[n++] = j;
  assert_int_equal(n, expect);
  pthread_t th[8];
  for (size_t i = 0; i < n; i++) assert_int_equal(pthread_create(&th[i], NULL, run_job, jobs[i]), 0);
  for (size_t i = 0; i < n; i++) pthread_join(th[i], NULL);
  for (size_t i = 0; i < n; i++) free(jobs[i]);
}

/* The request (sub, rid) as the "by-live" index holds it under status st
 * in any shard (what the sweep reads), or NULL when it is not there. */
static const dorm_streamer_Request *in_live_index(dorm_arena *a, dorm_streamer_RequestStatus st, const char *sub,
                                                  const char *rid) {
  for (unsigned shard = 0; shard < DORM__ST_LIVE_SHARDS; shard++) {
    char key[32];
    dorm__st_live_shard_key(st, shard, key);
    dorm_query_opts q = {.limit = 100};
    for (;;) {
      dorm_streamer_Request_page page;
      fail_call(dorm_streamer_Request_query_by_liveKey(C, key, NULL, &q, a, &page), "query by-live");
      for (size_t i = 0; i < page.count; i++)
        if (page.items[i].sub && page.items[i].clientId && strcmp(page.items[i].sub, sub) == 0 &&
            strcmp(page.items[i].clientId, rid) == 0) {
          char want[32];
          assert_string_equal(page.items[i].liveKey, dorm__st_live_key(st, sub, rid, want)); /* its own shard */
          return &page.items[i];
        }
      if (!page.has_more) break;
      q.cursor = page.cursor;
    }
  }
  return NULL;
}

static void same_record_twice_runs_once(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description t;
  fail_call(dorm_describe_table(C, dorm_streamer_Request_table.def.name, &a, &t), "DescribeTable");
  assert_true(t.stream_arn[0] != '\0');
  iters its;
  latest(&a, t.stream_arn, &its);

  char sub[96], rid[64], pk[300];
  ts_unique_name(sub, sizeof sub, "dup-record-user");
  snprintf(rid, sizeof rid, "dup-record");
  dorm__st_request_pk(sub, rid, pk);
  int64_t now = dorm__st_now_ms();
  dorm_streamer_Request r = {0};
  r.sub = sub;
  r.clientId = rid;
  r.tenant = "t";
  r.connectionId = "no-connection"; /* held by no server: delivery stops, the job goes on */
  r.endpoint = "Counted";
  r.payload = "{}";
  r.status = DORM_STREAMER_REQUEST_STATUS_PENDING;
  char live[32];
  r.liveKey = dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PENDING, sub, rid, live); /* as the router creates it */
  r.seq = 1;
  r.deadline = now + 60000;
  fail_call(dorm_streamer_Request_create(C, &r, NULL, &a), "create the request");
  /* the sweep's index holds it, without its payload */
  const dorm_streamer_Request *queued = in_live_index(&a, DORM_STREAMER_REQUEST_STATUS_PENDING, sub, rid);
  assert_non_null(queued);
  assert_string_equal(queued->endpoint, "Counted");
  assert_true(queued->payload == NULL || queued->payload[0] == '\0');
  char *ack = dorm__st_message("ack", rid, 1, "{\"endpoint\":\"Counted\",\"status\":\"PENDING\"}");
  dorm_streamer_Message m = {.sub = sub, .clientId = rid, .seq = 1, .body = ack};
  fail_call(dorm_streamer_Message_create(C, &m, NULL, &a), "store the ack");
  free(ack);

  dorm_stream_record rec = find_insert(&a, &its, pk);
  atomic_store(&runs, 0);
  /* the same record, delivered twice: two jobs, run at the same time */
  assert_true(dorm__st_on_stream_record(S, &rec, &a));
  assert_true(dorm__st_on_stream_record(S, &rec, &a));
  run_queued_concurrently(2);
  assert_int_equal(atomic_load(&runs), 1);
  /* and once more after the job finished */
  assert_true(dorm__st_on_stream_record(S, &rec, &a));
  run_queued_concurrently(1);
  assert_int_equal(atomic_load(&runs), 1);

  dorm_streamer_Request_key key = {sub, rid};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request done;
  fail_call(dorm_streamer_Request_get(C, &key, &go, &a, &done), "read the request");
  assert_int_equal(done.status, DORM_STREAMER_REQUEST_STATUS_COMPLETED);
  assert_int_equal(done.attempts, 1);
  /* ended: out of the sweep's index (a sparse index holds only unfinished work) */
  assert_null(done.liveKey);
  assert_null(in_live_index(&a, DORM_STREAMER_REQUEST_STATUS_PENDING, sub, rid));
  assert_null(in_live_index(&a, DORM_STREAMER_REQUEST_STATUS_PROCESSING, sub, rid));

  /* its messages: the ack, ten progress, one complete; seqs 1..12 */
  dorm_query_opts q = {.consistent_read = true};
  dorm_streamer_Message_page page;
  fail_call(dorm_streamer_Message_query(C, sub, rid, NULL, &q, &a, &page), "read the messages");
  assert_int_equal(page.count, 12);
  int completes = 0;
  for (size_t i = 0; i < page.count; i++) {
    assert_int_equal(page.items[i].seq, (int64_t)i + 1);
    if (strstr(page.items[i].body, "\"type\":\"complete\"")) completes++;
  }
  assert_int_equal(completes, 1);
  assert_non_null(strstr(page.items[11].body, "\"type\":\"complete\""));
  dorm_arena_free(&a);
}

/* ---- group commit ---- */

/* The messages stored for request rid: exactly `each` progress messages,
 * seqs 1..each, each with its own body. */
static void assert_progress_stored(dorm_arena *a, const dorm_query_opts *q, const char *sub, const char *rid,
                                   size_t each) {
  dorm_streamer_Message_page page;
  fail_call(dorm_streamer_Message_query(C, sub, rid, NULL, q, a, &page), "read the messages");
  assert_int_equal(page.count, each);
  for (size_t k = 0; k < page.count; k++) {
    char want[128];
    snprintf(want, sizeof want, "{\"request_id\":\"%s\",\"seq\":%d,\"type\":\"progress\"}", rid, (int)k + 1);
    assert_int_equal(page.items[k].seq, (int64_t)k + 1);
    assert_string_equal(page.items[k].body, want);
  }
}

#define PUT_THREADS 12
#define PUT_EACH 20
/* Messages per call on average that only gathering reaches: 12 threads each
 * storing 20 with gathering off (gather() returning at once) made 217-234
 * calls for 252 messages (~1.1 a call), with it 46-82 (3.1-5.5; 82 at load
 * 9 on a DynamoDB Local just started). */
#define GATHERED_AT_LEAST 2
/* Gathering waits a fixed time (GATHER_US) for other threads to queue; on a
 * machine loaded enough that they are not scheduled within it, one round
 * can gather little (it did once: under 3 a call at load ~10). A round that
 * gathers proves the feature; a round that does not proves nothing either
 * way, so up to this many are run: without gathering all fail by far. */
#define GATHER_ROUNDS 3

typedef struct put_arg {
  const char *sub;
  char rid[64];
  bool ok;
} put_arg;

static void *put_many(void *p) {
  put_arg *arg = p;
  dorm_client *c = dorm__st_client(S); /* this thread's, freed when it ends */
  arg->ok = c != NULL;
  dorm_arena a = DORM_ARENA_INIT;
  for (int seq = 1; seq <= PUT_EACH && arg->ok; seq++) {
    char body[128]; /* members in name order: a json attribute is stored as a map */
    snprintf(body, sizeof body, "{\"request_id\":\"%s\",\"seq\":%d,\"type\":\"progress\"}", arg->rid, seq);
    dorm_streamer_Message m = {.sub = arg->sub, .clientId = arg->rid, .seq = seq, .body = body};
    arg->ok = dorm__st_put_message(c, &m, &a);
  }
  /* the same key as another thread, at about the same time */
  dorm_streamer_Message same = {.sub = arg->sub, .clientId = "same-key", .seq = 1, .body = "{\"same\":true}"};
  if (arg->ok) arg->ok = dorm__st_put_message(c, &same, &a);
  dorm_arena_free(&a);
  return NULL;
}

/* One round: 12 threads store at once under a user of their own; every
 * message lands under its own key with its own body. Returns the calls it
 * took. */
static size_t put_round(int round) {
  char sub[96], prefix[48];
  snprintf(prefix, sizeof prefix, "group-commit-user-%d", round);
  ts_unique_name(sub, sizeof sub, prefix);
  put_arg args[PUT_THREADS];
  pthread_t th[PUT_THREADS];
  size_t calls0, msgs0, calls1, msgs1;
  dorm__st_put_counts(&calls0, &msgs0, NULL);
  for (int i = 0; i < PUT_THREADS; i++) {
    args[i].sub = sub;
    snprintf(args[i].rid, sizeof args[i].rid, "req-%d", i);
    assert_int_equal(pthread_create(&th[i], NULL, put_many, &args[i]), 0);
  }
  for (int i = 0; i < PUT_THREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < PUT_THREADS; i++) assert_true(args[i].ok);
  dorm__st_put_counts(&calls1, &msgs1, NULL);
  size_t calls = calls1 - calls0, msgs = msgs1 - msgs0;
  print_message("group commit, round %d: %zu messages in %zu calls\n", round, msgs, calls);
  assert_int_equal(msgs, PUT_THREADS * (PUT_EACH + 1));
  dorm_arena a = DORM_ARENA_INIT;
  dorm_query_opts q = {.consistent_read = true};
  for (int i = 0; i < PUT_THREADS; i++) assert_progress_stored(&a, &q, sub, args[i].rid, PUT_EACH);
  dorm_streamer_Message_page page;
  fail_call(dorm_streamer_Message_query(C, sub, "same-key", NULL, &q, &a, &page), "read the shared key");
  assert_int_equal(page.count, 1);
  dorm_arena_free(&a);
  return calls;
}

static void messages_from_many_threads_all_stored(void **state) {
  (void)state;
  /* 12 threads storing at once: a leader that finds a batch in flight
   * gathers the others' messages (store.c, GATHER_US) instead of writing
   * its own alone; without it most calls held one message */
  bool gathered = false;
  for (int round = 0; round < GATHER_ROUNDS && !gathered; round++)
    gathered = put_round(round) * GATHERED_AT_LEAST <= PUT_THREADS * (PUT_EACH + 1);
  assert_true(gathered);
}

/* ---- request items created together (dorm__st_create_request) ---- */

#define CREATE_THREADS 16

typedef struct create_arg {
  const char *sub;
  char rid[64];
  dorm_status st;
} create_arg;

static void *create_one(void *p) {
  create_arg *arg = p;
  dorm_client *c = dorm__st_client(S);
  if (!c) {
    arg->st = DORM_ERR_NO_MEMORY;
    return NULL;
  }
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request r = {0};
  r.sub = arg->sub;
  r.clientId = arg->rid;
  r.tenant = "t";
  r.connectionId = "no-connection";
  r.endpoint = "Counted";
  r.payload = "{}";
  r.status = DORM_STREAMER_REQUEST_STATUS_PENDING;
  r.seq = 1;
  r.deadline = dorm__st_now_ms() + 60000;
  arg->st = dorm__st_create_request(c, &r, &a);
  dorm_arena_free(&a);
  return NULL;
}

/* 16 threads create at once, two of them the same (user, id): every other
 * request exists once, exactly one of the two is created and the other
 * gets DORM_ERR_CONDITION_FAILED (the router's duplicate), also when the
 * two land in one transaction (which then fails as a whole and each is
 * created alone). And a crowd shares calls. */
static void requests_created_together(void **state) {
  (void)state;
  char sub[96];
  ts_unique_name(sub, sizeof sub, "create-user");
  size_t calls0, items0, calls1, items1;
  create_arg args[CREATE_THREADS];
  pthread_t th[CREATE_THREADS];
  size_t all_calls = 0;
  for (int round = 0; round < 3; round++) {
    dorm__st_create_counts(&calls0, &items0);
    for (int i = 0; i < CREATE_THREADS; i++) {
      args[i].sub = sub;
      /* the last two share an id */
      snprintf(args[i].rid, sizeof args[i].rid, "r%d-%d", round, i < CREATE_THREADS - 1 ? i : i - 1);
      assert_int_equal(pthread_create(&th[i], NULL, create_one, &args[i]), 0);
    }
    for (int i = 0; i < CREATE_THREADS; i++) pthread_join(th[i], NULL);
    dorm__st_create_counts(&calls1, &items1);
    int created = 0, dup = 0;
    for (int i = 0; i < CREATE_THREADS; i++) {
      if (args[i].st == DORM_OK) created++;
      else if (args[i].st == DORM_ERR_CONDITION_FAILED && i >= CREATE_THREADS - 2) dup++;
      else fail_msg("create %s: %s", args[i].rid, dorm_strerror(args[i].st));
    }
    assert_int_equal(created, CREATE_THREADS - 1);
    assert_int_equal(dup, 1);
    assert_int_equal(items1 - items0, CREATE_THREADS - 1);
    print_message("request creation, round %d: %zu items in %zu calls\n", round, items1 - items0, calls1 - calls0);
    all_calls += calls1 - calls0;
    dorm_arena a = DORM_ARENA_INIT;
    for (int i = 0; i < CREATE_THREADS - 1; i++) {
      dorm_streamer_Request_key key = {sub, args[i].rid};
      dorm_streamer_Request got;
      fail_call(dorm_streamer_Request_get(C, &key, NULL, &a, &got), "read a created request");
      assert_int_equal(got.status, DORM_STREAMER_REQUEST_STATUS_PENDING);
      assert_string_equal(got.endpoint, "Counted");
    }
    dorm_arena_free(&a);
  }
  /* 16 threads at once, three times: transactions held several (one call each would be 45) */
  assert_true(all_calls < 3 * (CREATE_THREADS - 1));
}

/* ---- the writer threads ---- */

#define ASYNC_THREADS 6
#define ASYNC_EACH 40

static atomic_int stored_ok, stored_failed;

static atomic_int found_before_sent;

/* The callback: after the message's batch was written (on the writer
 * thread, or on a queueing thread that wrote a stalled batch itself). It is
 * where a progress message is delivered, so the message must be in the
 * table by then (a consistent read with this thread's client). */
static void on_stored(void *user, const dorm_streamer_Message *m, dorm_status st) {
  atomic_fetch_add(st == DORM_OK ? &stored_ok : &stored_failed, 1);
  dorm_client *c = dorm__st_client(S);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Message_key key = {m->sub, m->clientId, m->seq};
  dorm_get_opts o = {.consistent_read = true};
  dorm_streamer_Message got;
  if (st == DORM_OK && c && dorm_streamer_Message_get(c, &key, &o, &a, &got) == DORM_OK && strcmp(got.body, m->body) == 0)
    atomic_fetch_add(&found_before_sent, 1);
  dorm_arena_free(&a);
  atomic_fetch_add((atomic_int *)user, 1);
}

typedef struct async_arg {
  const char *sub;
  char rid[64];
  atomic_int called;
  bool queued;
  bool may_write; /* passes its own client: writes a batch stalled behind the writer's itself */
} async_arg;

static void *queue_many(void *p) {
  async_arg *arg = p;
  dorm_client *c = arg->may_write ? dorm__st_client(S) : NULL;
  arg->queued = true;
  for (int seq = 1; seq <= ASYNC_EACH && arg->queued; seq++) {
    char body[128];
    snprintf(body, sizeof body, "{\"request_id\":\"%s\",\"seq\":%d,\"type\":\"progress\"}", arg->rid, seq);
    dorm_streamer_Message m = {.sub = arg->sub, .clientId = arg->rid, .seq = seq, .body = body};
    arg->queued = dorm__st_put_message_async(&m, on_stored, &arg->called, c); /* copied: body may go */
  }
  return NULL;
}

static void messages_queued_to_the_writers_all_stored(void **state) {
  (void)state;
  char sub[96];
  ts_unique_name(sub, sizeof sub, "writers-user");
  dorm_streamer_Message none = {.sub = sub, .clientId = "x", .seq = 1, .body = "{}"};
  assert_false(dorm__st_put_message_async(&none, on_stored, NULL, NULL)); /* no writers yet: the caller stores it */
  dorm__st_writers_start(S);
  atomic_store(&stored_ok, 0);
  atomic_store(&stored_failed, 0);
  async_arg args[ASYNC_THREADS];
  pthread_t th[ASYNC_THREADS];
  for (int i = 0; i < ASYNC_THREADS; i++) {
    args[i].sub = sub;
    atomic_store(&args[i].called, 0);
    args[i].may_write = i % 2 == 1;
    snprintf(args[i].rid, sizeof args[i].rid, "req-%d", i);
    assert_int_equal(pthread_create(&th[i], NULL, queue_many, &args[i]), 0);
  }
  for (int i = 0; i < ASYNC_THREADS; i++) pthread_join(th[i], NULL);
  /* stopping writes what is still queued, then joins the writers */
  dorm__st_writers_stop();
  assert_false(dorm__st_put_message_async(&none, on_stored, NULL, NULL));
  for (int i = 0; i < ASYNC_THREADS; i++) {
    assert_true(args[i].queued);
    assert_int_equal(atomic_load(&args[i].called), ASYNC_EACH);
  }
  assert_int_equal(atomic_load(&stored_ok), ASYNC_THREADS * ASYNC_EACH);
  assert_int_equal(atomic_load(&stored_failed), 0);
  /* stored before its callback (the delivery) ran, each exactly once */
  assert_int_equal(atomic_load(&found_before_sent), ASYNC_THREADS * ASYNC_EACH);
  size_t stalled = 0;
  dorm__st_put_counts(NULL, NULL, &stalled);
  print_message("# %zu batches written by a queueing thread after the writer's stalled\n", stalled);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_query_opts q = {.consistent_read = true};
  for (int i = 0; i < ASYNC_THREADS; i++) assert_progress_stored(&a, &q, sub, args[i].rid, ASYNC_EACH);
  dorm_arena_free(&a);
}

/* One message DynamoDB refuses (an item over 400 KB) in a batch with
 * others: the batch is refused whole, so each goes again alone; the others
 * are stored, the bad one's callback hears of the failure once. */
static void a_refused_message_does_not_take_its_batch_with_it(void **state) {
  (void)state;
  char sub[96];
  ts_unique_name(sub, sizeof sub, "refused-user");
  size_t big_len = 450 * 1024;
  char *big = malloc(big_len + 1);
  assert_non_null(big);
  memset(big, 'x', big_len);
  big[big_len] = '\0';
  dorm__st_writers_start(S);
  atomic_store(&stored_ok, 0);
  atomic_store(&stored_failed, 0);
  atomic_store(&found_before_sent, 0);
  size_t calls0 = 0, msgs0 = 0;
  dorm__st_put_counts(&calls0, &msgs0, NULL);
  /* a busy server: the writer gathers what queues within its window into one batch */
  dorm__st_puts_jobs(8);
  atomic_int called = 0;
  for (int seq = 1; seq <= 5; seq++) {
    char body[128];
    snprintf(body, sizeof body, "{\"request_id\":\"r\",\"seq\":%d,\"type\":\"progress\"}", seq);
    dorm_streamer_Message m = {.sub = sub, .clientId = "r", .seq = seq, .body = seq == 3 ? big : body};
    assert_true(dorm__st_put_message_async(&m, on_stored, &called, NULL));
  }
  dorm__st_writers_stop();
  dorm__st_puts_jobs(-8);
  free(big);
  assert_int_equal(atomic_load(&called), 5);
  assert_int_equal(atomic_load(&stored_ok), 4);
  assert_int_equal(atomic_load(&stored_failed), 1);
  assert_int_equal(atomic_load(&found_before_sent), 4);
  size_t calls = 0, msgs = 0;
  dorm__st_put_counts(&calls, &msgs, NULL);
  print_message("# %zu calls for 5 messages (one refused)\n", calls - calls0);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_query_opts q = {.consistent_read = true};
  dorm_streamer_Message_page page;
  fail_call(dorm_streamer_Message_query(C, sub, "r", NULL, &q, &a, &page), "read the stored messages");
  assert_int_equal(page.count, 4);
  int64_t want[] = {1, 2, 4, 5};
  for (size_t i = 0; i < 4; i++) assert_int_equal(page.items[i].seq, want[i]);
  dorm_arena_free(&a);
}

/* ---- jobs that end together ---- */

#define END_JOBS 8

typedef struct end_arg {
  char rid[32];
  char pk[300];
} end_arg;

static void *run_one(void *p) {
  dorm__st_run_request(S, ((end_arg *)p)->pk, 0);
  return NULL;
}

/* A PENDING request with its ack (seq 1), as the router leaves it. */
static void create_pending(dorm_arena *a, const char *sub, const char *rid) {
  dorm_streamer_Request r = {0};
  r.sub = sub;
  r.clientId = rid;
  r.tenant = "t";
  r.connectionId = "no-connection";
  r.endpoint = "Counted";
  r.payload = "{}";
  r.status = DORM_STREAMER_REQUEST_STATUS_PENDING;
  char live[32];
  r.liveKey = dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PENDING, sub, rid, live);
  r.seq = 1;
  r.deadline = dorm__st_now_ms() + 60000;
  fail_call(dorm_streamer_Request_create(C, &r, NULL, a), "create the request");
  char *ack = dorm__st_message("ack", rid, 1, "{\"endpoint\":\"Counted\",\"status\":\"PENDING\"}");
  dorm_streamer_Message m = {.sub = sub, .clientId = rid, .seq = 1, .body = ack};
  fail_call(dorm_streamer_Message_create(C, &m, NULL, a), "store the ack");
  free(ack);
}

/* Eight jobs that end at about the same time: each is ended exactly as it
 * would be alone (COMPLETED, out of the sweep's index, its messages seqs
 * 1..n with one complete, last, under the item's seq), and ends share
 * transactions. In the second round a status ask waits in one job's item
 * when it ends: its end's condition fails, so a shared transaction holding
 * it fails as a whole and every end in it is written alone: all still land,
 * and the ask is answered (a status message) and cleared. */
static void jobs_ending_together_share_writes(void **state) {
  (void)state;
  char sub[96];
  ts_unique_name(sub, sizeof sub, "end-user");
  size_t calls0, ended0, calls1, ended1, shared_calls = 0;
  for (int round = 0; round < 2; round++) {
    dorm_arena a = DORM_ARENA_INIT;
    end_arg args[END_JOBS];
    for (int i = 0; i < END_JOBS; i++) {
      snprintf(args[i].rid, sizeof args[i].rid, "end%d-%d", round, i);
      assert_true(dorm__st_request_pk(sub, args[i].rid, args[i].pk));
      create_pending(&a, sub, args[i].rid);
    }
    dorm__st_end_counts(&calls0, &ended0);
    pthread_t th[END_JOBS];
    for (int i = 0; i < END_JOBS; i++) assert_int_equal(pthread_create(&th[i], NULL, run_one, &args[i]), 0);
    if (round == 1) {
      /* a router of another process asks job 3 for its status while it runs */
      struct timespec ts = {0, 120 * 1000000L};
      nanosleep(&ts, NULL);
      dorm_streamer_Request_key key = {sub, args[3].rid};
      dorm_model_update u;
      dorm_streamer_Request_update_begin(&u, &a);
      const char *ask[] = {"no-connection other-server.1"};
      dorm_streamer_set_string set = {ask, 1};
      dorm_streamer_Request_set_add_asks(&u, &set);
      dorm_update_opts o = {0};
      o.w.condition = dorm_streamer_Request_cond_leaseOwner_exists(&u.x);
      fail_call(dorm_streamer_Request_update(C, &key, &u, &o, &a, NULL), "ask job 3 for its status");
    }
    for (int i = 0; i < END_JOBS; i++) pthread_join(th[i], NULL);
    dorm__st_end_counts(&calls1, &ended1);
    assert_int_equal(ended1 - ended0, END_JOBS);
    print_message("job ends, round %d: %zu ends in %zu writes\n", round, ended1 - ended0, calls1 - calls0);
    if (round == 0) shared_calls = calls1 - calls0;
    for (int i = 0; i < END_JOBS; i++) {
      dorm_streamer_Request_key key = {sub, args[i].rid};
      dorm_get_opts go = {.consistent_read = true};
      dorm_streamer_Request done;
      fail_call(dorm_streamer_Request_get(C, &key, &go, &a, &done), "read the request");
      assert_int_equal(done.status, DORM_STREAMER_REQUEST_STATUS_COMPLETED);
      assert_null(done.liveKey);
      assert_false(done.has_asks && done.asks.count > 0);
      dorm_query_opts q = {.consistent_read = true};
      dorm_streamer_Message_page page;
      fail_call(dorm_streamer_Message_query(C, sub, args[i].rid, NULL, &q, &a, &page), "read the messages");
      /* the ack, ten progress, (round 1, job 3: the asked status), the complete */
      size_t want = round == 1 && i == 3 ? 13 : 12;
      assert_int_equal(page.count, want);
      int completes = 0, statuses = 0;
      for (size_t k = 0; k < page.count; k++) {
        assert_int_equal(page.items[k].seq, (int64_t)k + 1);
        if (strstr(page.items[k].body, "\"type\":\"complete\"")) completes++;
        if (strstr(page.items[k].body, "\"type\":\"status\"")) statuses++;
      }
      assert_int_equal(completes, 1);
      assert_int_equal(statuses, want == 13 ? 1 : 0);
      assert_non_null(strstr(page.items[page.count - 1].body, "\"type\":\"complete\""));
      assert_int_equal(done.seq, (int64_t)page.count);
    }
    dorm_arena_free(&a);
  }
  /* eight ends at once, alone, would be eight writes */
  assert_true(shared_calls < END_JOBS);
}

/* ---- a cancel that no processor read ---- */

/* The client cancels a request no processor is going to read the cancel
 * of: its lease owner died (the router wrote cancelRequested; the dead
 * process never checked in again), or it was given back with a backoff.
 * The claim takes each over and ends it CANCELLED without running the
 * handler, after what the dead run stored past its last check-in (so the
 * stream stays whole), and takes it out of the sweep's index. The claim
 * used to refuse a request with a cancel asked: it stayed PROCESSING (or
 * PENDING) for ever and its client never heard of it again. */
static void a_cancel_no_processor_read_ends_at_the_claim(void **state) {
  (void)state;
  char sub[96];
  ts_unique_name(sub, sizeof sub, "cancel-user");
  int runs0 = atomic_load(&runs);
  for (int k = 0; k < 2; k++) {
    dorm_arena a = DORM_ARENA_INIT;
    const char *rid = k == 0 ? "orphaned" : "given-back";
    create_pending(&a, sub, rid);
    dorm_streamer_Request_key key = {sub, rid};
    dorm_model_update u;
    dorm_streamer_Request_update_begin(&u, &a);
    dorm_streamer_Request_set_cancelRequested(&u, true);
    char live[32];
    if (k == 0) {
      /* a dead processor's lease, expired; its last check-in wrote seq 2
       * and it stored seq 3 after it */
      dorm_streamer_Request_set_status(&u, DORM_STREAMER_REQUEST_STATUS_PROCESSING);
      dorm_streamer_Request_set_liveKey(&u, dorm__st_live_key(DORM_STREAMER_REQUEST_STATUS_PROCESSING, sub, rid, live));
      dorm_streamer_Request_set_leaseOwner(&u, "a-dead-processor");
      dorm_streamer_Request_set_leaseExpires(&u, dorm__st_now_ms() - 1000);
      dorm_streamer_Request_set_attempts(&u, 1);
      dorm_streamer_Request_set_seq(&u, 2);
      for (int64_t seq = 2; seq <= 3; seq++) {
        char *text = dorm__st_message("progress", rid, seq, seq == 2 ? "{\"percent\":10}" : "{\"percent\":20}");
        dorm_streamer_Message m = {.sub = sub, .clientId = rid, .seq = seq, .body = text};
        fail_call(dorm_streamer_Message_create(C, &m, NULL, &a), "store the dead run's progress");
        free(text);
      }
    } else {
      dorm_streamer_Request_set_notBefore(&u, dorm__st_now_ms() + 600000); /* a retry's backoff */
    }
    fail_call(dorm_streamer_Request_update(C, &key, &u, NULL, &a, NULL), "ask for the cancel");
    char pk[300];
    assert_true(dorm__st_request_pk(sub, rid, pk));
    dorm__st_run_request(S, pk, 0);

    dorm_get_opts go = {.consistent_read = true};
    dorm_streamer_Request done;
    fail_call(dorm_streamer_Request_get(C, &key, &go, &a, &done), "read the request");
    assert_int_equal(done.status, DORM_STREAMER_REQUEST_STATUS_CANCELLED);
    assert_string_equal(done.errorCode, "CANCELLED");
    assert_null(done.liveKey);
    assert_null(done.leaseOwner);
    assert_null(in_live_index(&a, DORM_STREAMER_REQUEST_STATUS_PROCESSING, sub, rid));
    assert_null(in_live_index(&a, DORM_STREAMER_REQUEST_STATUS_PENDING, sub, rid));
    dorm_query_opts q = {.consistent_read = true};
    dorm_streamer_Message_page page;
    fail_call(dorm_streamer_Message_query(C, sub, rid, NULL, &q, &a, &page), "read the messages");
    /* the ack, (the dead run's two progress,) the error */
    size_t want = k == 0 ? 4 : 2;
    assert_int_equal(page.count, want);
    for (size_t i = 0; i < page.count; i++) assert_int_equal(page.items[i].seq, (int64_t)i + 1);
    assert_non_null(strstr(page.items[want - 1].body, "\"type\":\"error\""));
    assert_non_null(strstr(page.items[want - 1].body, "\"code\":\"CANCELLED\""));
    assert_int_equal(done.seq, (int64_t)want);
    dorm_arena_free(&a);
  }
  assert_int_equal(atomic_load(&runs), runs0); /* ended, not run */
}

static int teardown(void **state) {
  (void)state;
  dorm_client_free(C); /* the main thread's: no thread exit frees it */
  pthread_mutex_destroy(&S->jobs_mu);
  pthread_mutex_destroy(&S->running_mu);
  pthread_mutex_destroy(&S->conns_mu);
  pthread_mutex_destroy(&S->metrics.mu);
  free(S);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_record_twice_runs_once),
      cmocka_unit_test(messages_from_many_threads_all_stored),
      cmocka_unit_test(requests_created_together),
      cmocka_unit_test(messages_queued_to_the_writers_all_stored),
      cmocka_unit_test(a_refused_message_does_not_take_its_batch_with_it),
      cmocka_unit_test(jobs_ending_together_share_writes),
      cmocka_unit_test(a_cancel_no_processor_read_ends_at_the_claim),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
