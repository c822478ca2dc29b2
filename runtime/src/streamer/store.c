/* store: the streamer's tables (schemas/streamer.dorm) as the router and the
 * processor use them, only through the generated code (streamer_models.h).
 *
 * Seqs (docs/streamer.md, "Seqs"). While a processor holds a request's lease
 * it takes the request's seqs itself, in memory, and writes the high-water
 * mark to the request item only at its check-ins and at the end. Without a
 * lease (PENDING, or finished) a message's seq is taken here: one atomic
 * UpdateItem of the request item (ADD seq, returning the new item) on the
 * condition that no lease exists, so it never races a lease owner; the
 * message is then stored under (request, seq) in the messages table, so a
 * client that resumes gets exactly what it missed. */
#include "streamer_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "{sub}#{id}" into out; false (out "") when it does not fit: never a
 * truncated key, which would name another request (jwt.c bounds sub). */
bool dorm__st_request_pk(const char *sub, const char *client_id, char out[300]) {
  int n = snprintf(out, 300, "%s#%s", sub, client_id);
  if (n < 0 || n >= 300) {
    out[0] = '\0';
    return false;
  }
  return true;
}

const char *dorm__st_live_shard_key(dorm_streamer_RequestStatus status, unsigned shard, char out[32]) {
  snprintf(out, 32, "%s#%u", dorm_streamer_RequestStatus_to_string(status), shard % DORM__ST_LIVE_SHARDS);
  return out;
}

const char *dorm__st_live_key(dorm_streamer_RequestStatus status, const char *sub, const char *client_id,
                              char out[32]) {
  uint32_t h = 2166136261u; /* FNV-1a of "{sub}#{id}": the same on every server, whatever its build */
  for (const char *parts[3] = {sub, "#", client_id}, **p = parts; p < parts + 3; p++)
    for (const unsigned char *c = (const unsigned char *)*p; *c; c++) h = (h ^ *c) * 16777619u;
  return dorm__st_live_shard_key(status, h % DORM__ST_LIVE_SHARDS, out);
}

/* Takes n seqs from the request item when no lease exists: returns the new
 * item (its seq is the last of the n) in *now, or a failure (*leased when
 * the condition failed: a processor holds the lease). */
static dorm_status take_from_item(dorm_client *c, const char *sub, const char *client_id, int64_t n, dorm_arena *a,
                                  dorm_streamer_Request *now, bool *leased) {
  dorm_model_update u;
  dorm_streamer_Request_update_begin(&u, a);
  dorm_streamer_Request_add_seq(&u, n);
  dorm_update_opts o = {.return_new = true};
  o.w.condition = dorm_streamer_Request_cond_leaseOwner_not_exists(&u.x);
  dorm_streamer_Request_key key = {sub, client_id};
  dorm_status st = dorm_streamer_Request_update(c, &key, &u, &o, a, now);
  if (leased) *leased = st == DORM_ERR_CONDITION_FAILED;
  return st;
}

int64_t dorm__st_append_message(dorm_client *c, const char *sub, const char *client_id, dorm__st_make_fn make,
                                void *user, char **text_out, bool *leased) {
  *text_out = NULL;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request now;
  int64_t seq = 0;
  if (take_from_item(c, sub, client_id, 1, &a, &now, leased) == DORM_OK) {
    seq = now.seq;
    char *text = make(seq, &now, user);
    dorm_streamer_Message m = {.sub = sub, .clientId = client_id, .seq = seq, .body = text};
    if (text && dorm__st_put_message(c, &m, &a)) *text_out = text;
    else {
      free(text);
      seq = 0;
    }
  }
  dorm_arena_free(&a);
  return seq;
}

/* ---- group commit of messages ----
 *
 * Every thread that stores a message (a job's progress and outcome, the
 * router's ack and status) queues it here; whichever thread finds fewer than
 * PUT_LEADERS writes in flight becomes a leader and stores up to 25 queued messages (its own
 * and others') in one BatchWriteItem, wakes their threads, and hands the
 * lead to the next waiting one. Under load one request stores many
 * messages (one HTTP call, one signature, one JSON body instead of 25);
 * alone, a message waits for nobody (a batch of one). A message is still
 * stored before it is delivered: the caller returns when its own is in
 * DynamoDB (or the write failed).
 *
 * Messages whose thread need not wait (a job's progress for a connection
 * this server holds, the router's ack) are queued with a callback instead
 * (dorm__st_put_message_async): the writer thread (dorm__st_writers_start)
 * leads a batch of what queued within WRITER_GATHER_US of the oldest, and
 * calls each callback once the message is stored (it then delivers it). So
 * a job's thread does not sleep in a write for its progress (unless a batch
 * stalled: STALL_MS), and what all jobs queue meanwhile goes out together,
 * up to 25 messages a call. A failed write of such a message is retried
 * (up to ASYNC_TRIES times) before its callback hears of the failure. */

#define PUT_BATCH 25 /* BatchWriteItem's limit */
/* Batches in flight at once: one alone would make every message wait for
 * the batch before it (a round trip more under load); a few keep the
 * latency of a plain put while they still gather what queues meanwhile.
 * DynamoDB Local writes a batch's items one after another, so under load
 * a batch takes about as long as its items' puts: more in flight keep the
 * queue short. */
#define PUT_LEADERS 8
/* A leader that finds fewer than a batch queued while another batch is in
 * flight, or while GATHER_JOBS or more jobs run here (the server is busy:
 * more messages are coming) gathers for up to GATHER_US before it writes. DynamoDB Local stores ~10x more items a second
 * as batches of 25 than as single puts (bench/notes/streamer.md, "Fourth round"),
 * and every call saved is ~0.5 ms of this server's CPU; a message alone,
 * with nothing in flight, still goes out at once. */
#define GATHER_US DORM__ST_GATHER_US
#define GATHER_JOBS DORM__ST_BUSY_JOBS
/* The writer thread (messages nobody waits for: progress, acks). One: its
 * batch holds what queued within WRITER_GATHER_US of the batch's oldest
 * message (which may have waited for the last batch already: then it goes
 * at once), so it naps at most once a batch; a handler does not wait for
 * it, so the gathering costs only delivery latency. Measured at 300
 * connections x 20 progress (bench/notes/streamer.md, "Fifth round"): eight writers
 * that each gathered 2 ms wrote batches of one or two messages and slept
 * and woke around each (~29-37 context switches per request on the writers
 * alone, 6 message calls per request); one writer this way ~12 switches and
 * 4 calls. */
#define PUT_WRITERS 1
#define WRITER_GATHER_US 5000
/* A message queued for the writer that has waited STALL_MS while the
 * writer's batch is still in flight (DynamoDB was slow with it) is written
 * by the next thread that queues one (dorm__st_put_message_async with a
 * client), together with what queued behind it: a slow call delays one
 * batch, not the ones behind it, and nobody is woken for it (that thread
 * was reporting anyway). */
#define STALL_MS 10

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct queued_put {
  struct queued_put *next;
  dorm_streamer_Message *m;
  pthread_cond_t cv;
  enum { PUT_QUEUED, PUT_TAKEN, PUT_DONE } state; /* taken: in a batch being written */
  dorm_status st;
  char err[256];
  bool later; /* nobody waits: the item and its strings are one malloc'd block with this entry */
  dorm__st_stored_fn done; /* later: called (without puts_mu) once stored or given up */
  void *user;
  int tries;
  int64_t queued_ms; /* monotonic: how long it waits (STALL_MS) */
  bool alone; /* its batch was refused for what it held: written in a call of its own */
  bool owned; /* a lease owner's seq: stored only where nothing is (owned_put) */
} queued_put;

#define ASYNC_TRIES 5

static pthread_mutex_t puts_mu = PTHREAD_MUTEX_INITIALIZER;
static queued_put *puts_head, *puts_tail;
static int puts_flushing; /* batches in flight */
static size_t puts_len;   /* queued */
/* the writer thread(s): wait on writers_cv for queued messages and room */
static pthread_cond_t writers_cv = PTHREAD_COND_INITIALIZER;
static pthread_t writer_threads[PUT_WRITERS];
static int nwriters;
static bool writers_stopping;
/* a leader gathers (nobody else leads meanwhile); gather_cv: a full batch queued */
static bool gathering;
static pthread_cond_t gather_cv;
static pthread_once_t gather_once = PTHREAD_ONCE_INIT;
static size_t put_calls, put_messages; /* DynamoDB calls made, messages they stored (dorm__st_put_counts) */
static size_t put_stalled;            /* batches a queueing thread wrote after STALL_MS */
static atomic_int jobs_running;        /* dorm__st_puts_jobs */

void dorm__st_puts_jobs(int delta) { atomic_fetch_add(&jobs_running, delta); }
int dorm__st_jobs_running(void) { return atomic_load(&jobs_running); }

static void gather_init(void) {
  pthread_condattr_t at;
  pthread_condattr_init(&at);
  pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
  pthread_cond_init(&gather_cv, &at);
  pthread_condattr_destroy(&at);
}

/* Whether a thread may lead a batch now (puts_mu held). */
static bool may_lead(void) { return puts_head && puts_flushing < PUT_LEADERS && !gathering; }

/* The leader's wait for a fuller batch (puts_mu held; released while it
 * waits): only while another batch is in flight, until a batch is queued or
 * `us` passed. */
static void gather(long us) {
  if ((puts_flushing == 0 && atomic_load(&jobs_running) < GATHER_JOBS) || puts_len >= PUT_BATCH) return;
  pthread_once(&gather_once, gather_init);
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += us * 1000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  gathering = true;
  while (puts_len < PUT_BATCH && pthread_cond_timedwait(&gather_cv, &puts_mu, &until) == 0) {
  }
  gathering = false;
}

/* Appends q to the queue (puts_mu held), again or for the first time; a
 * full batch ends a gather. */
static void enqueue_put(queued_put *q) {
  q->state = PUT_QUEUED;
  q->next = NULL;
  if (puts_tail) puts_tail->next = q;
  else puts_head = q;
  puts_tail = q;
  puts_len++;
  if (gathering && puts_len == PUT_BATCH) pthread_cond_signal(&gather_cv);
}

void dorm__st_put_counts(size_t *calls, size_t *messages, size_t *stalled) {
  pthread_mutex_lock(&puts_mu);
  if (calls) *calls = put_calls;
  if (messages) *messages = put_messages;
  if (stalled) *stalled = put_stalled;
  pthread_mutex_unlock(&puts_mu);
}

/* Someone may lead the next batch (puts_mu held): the writers, and the
 * thread of the oldest message that waits for its own write. */
static void wake_next(void) {
  if (!may_lead()) return;
  if (nwriters) pthread_cond_signal(&writers_cv);
  for (queued_put *q = puts_head; q; q = q->next)
    if (!q->later) {
      pthread_cond_signal(&q->cv);
      break;
    }
}

/* Whether the message stored under m's key is m (a json body reads back
 * canonical: compared by value). */
static bool stored_is(dorm_client *c, const dorm_streamer_Message *m) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Message_key key = {m->sub, m->clientId, m->seq};
  dorm_streamer_Message got;
  bool same = false;
  if (dorm_streamer_Message_get(c, &key, &go, &a, &got) == DORM_OK) {
    cJSON *x = cJSON_Parse(got.body), *y = cJSON_Parse(m->body);
    same = x && y && cJSON_Compare(x, y, true);
    cJSON_Delete(x);
    cJSON_Delete(y);
  }
  dorm_arena_free(&a);
  return same;
}

/* A lease owner's messages, each stored only where no message is: a run
 * that lost its lease (its processor paused, its network slow) may land a
 * write after the run that took the request over read the highest stored
 * seq, under a seq that run uses too. An unconditional put would then
 * replace one message by another under one seq (the client had one, a
 * resume gives the other) whichever landed last. So the one that comes
 * second fails, DORM_ERR_CONDITION_FAILED, and is neither stored nor
 * delivered; its run looks at why (processor.c, resync: the lease lost, it
 * stops; held, it goes on after the stored one). One message is a
 * conditional put, more one TransactWriteItems of conditional puts (a
 * ClientRequestToken: its retry is not taken for a collision); a put whose
 * condition fails on the message itself (an earlier try of it was applied
 * though its answer was lost) is stored. */
static dorm_status owned_put(dorm_client *c, dorm_streamer_Message *objs, size_t n, dorm_arena *a) {
  if (n == 1) {
    dorm_status st = dorm_streamer_Message_create(c, &objs[0], NULL, a);
    if (st == DORM_ERR_CONDITION_FAILED) {
      char why[512];
      snprintf(why, sizeof why, "%s", dorm_client_errmsg(c));
      if (stored_is(c, &objs[0])) return DORM_OK;
      dorm__client_fail(c, st, "PutItem", "%s", strncmp(why, "PutItem: ", 9) == 0 ? why + 9 : why);
    }
    return st;
  }
  dorm_tx tx;
  dorm_tx_init(&tx, a);
  for (size_t i = 0; i < n; i++) dorm_streamer_Message_tx_create(&tx, &objs[i], NULL);
  return dorm_tx_commit(c, &tx, NULL);
}

/* The leader's part (puts_mu held on entry and on return, released during
 * the write): the first PUT_BATCH queued messages as one BatchWriteItem. */
static void flush_puts(dorm_client *c, long gather_us) {
  queued_put *batch[PUT_BATCH];
  dorm_streamer_Message objs[PUT_BATCH];
  size_t n = 0;
  if (gather_us > 0) gather(gather_us);
  while (puts_head && n < PUT_BATCH) {
    queued_put *q = puts_head;
    /* a batch may not hold one key twice (DynamoDB refuses the whole
     * batch); seqs are unique, but a second write of one would wait */
    bool twice = false;
    for (size_t i = 0; i < n && !twice; i++)
      twice = objs[i].seq == q->m->seq && strcmp(objs[i].clientId, q->m->clientId) == 0 &&
              strcmp(objs[i].sub, q->m->sub) == 0;
    if (twice) break;
    /* a message whose batch was refused goes alone: one bad item cannot take others with it */
    if (n > 0 && (q->alone || batch[0]->alone)) break;
    /* a lease owner's messages go in calls of their own (conditional) */
    if (n > 0 && q->owned != batch[0]->owned) break;
    puts_head = q->next;
    if (!puts_head) puts_tail = NULL;
    puts_len--;
    q->state = PUT_TAKEN;
    batch[n] = q;
    objs[n++] = *q->m;
  }
  puts_flushing++;
  put_calls++;
  put_messages += n;
  /* more waiting, and room for another batch: its leader need not wait for this one */
  wake_next();
  pthread_mutex_unlock(&puts_mu);
  dorm_arena a = DORM_ARENA_INIT;
  /* Unconditional: a seq taken by an ADD on the request item is its
   * writer's alone. A batch takes no conditions, and DynamoDB Local runs a
   * conditional put far slower than a plain one under concurrent writers
   * (bench/notes/streamer.md). A lease owner's seqs (owned) are another
   * matter: see owned_put. */
  bool owned = n > 0 && batch[0]->owned;
  dorm_status st = owned ? owned_put(c, objs, n, &a)
                   : n == 1 ? dorm_streamer_Message_put(c, &objs[0], NULL, &a)
                            : dorm_streamer_Message_batch_put(c, objs, n, &a);
  dorm_arena_free(&a);
  char err[256] = "";
  if (st != DORM_OK) snprintf(err, sizeof err, "%s", dorm_client_errmsg(c));
  /* Refused for what it held (an item too large, one DynamoDB does not
   * accept): the whole batch fails, whichever item it was. Each goes again
   * alone (not counted as a try), so only the bad one fails. */
  bool refused = st == DORM_ERR_TOO_LARGE || st == DORM_ERR_VALIDATION || st == DORM_ERR_INVALID_ARGUMENT;
  /* one of a lease owner's batch was there already: each alone says which */
  bool split = n > 1 && (refused || (owned && st == DORM_ERR_CONDITION_FAILED));
  pthread_mutex_lock(&puts_mu);
  queued_put *finished[PUT_BATCH];
  size_t nfinished = 0;
  for (size_t i = 0; i < n; i++) {
    queued_put *q = batch[i];
    if (split) {
      q->alone = true;
      enqueue_put(q);
      continue;
    }
    if (q->later) {
      /* refused alone, or its seq is another's: it would be again */
      if (st != DORM_OK && !refused && st != DORM_ERR_CONDITION_FAILED && q->done && ++q->tries < ASYNC_TRIES) {
        /* again with a later batch: a message that will be delivered is never given up at once */
        enqueue_put(q);
        continue;
      }
      if (st != DORM_OK)
        dorm__st_log("error", "persist_failed", q->m->clientId, NULL, NULL, "seq %lld: %s", (long long)q->m->seq,
                     err);
      finished[nfinished++] = q;
      continue;
    }
    q->st = st;
    if (st != DORM_OK) snprintf(q->err, sizeof q->err, "%s", err);
    q->state = PUT_DONE;
    pthread_cond_signal(&q->cv);
  }
  puts_flushing--;
  /* the next batch's leader */
  wake_next();
  /* stopping: a writer that waited while this batch was gathered or
   * written may be able to end now */
  if (writers_stopping && nwriters) pthread_cond_broadcast(&writers_cv);
  if (nfinished) {
    /* callbacks deliver: never under puts_mu (the caller holds it again on return) */
    pthread_mutex_unlock(&puts_mu);
    dorm__srv_defer_wakes(); /* the batch's deliveries: one wake of the lws thread */
    for (size_t i = 0; i < nfinished; i++) {
      if (finished[i]->done) finished[i]->done(finished[i]->user, finished[i]->m, st);
      free(finished[i]);
    }
    dorm__srv_flush_wakes();
    pthread_mutex_lock(&puts_mu);
  }
}

static dorm_status put_wait(dorm_client *c, dorm_streamer_Message *m, bool owned) {
  queued_put me;
  memset(&me, 0, sizeof me);
  me.m = m;
  me.owned = owned;
  me.queued_ms = mono_ms();
  pthread_cond_init(&me.cv, NULL);
  pthread_mutex_lock(&puts_mu);
  enqueue_put(&me);
  while (me.state != PUT_DONE) {
    if (me.state == PUT_QUEUED && may_lead())
      flush_puts(c, GATHER_US); /* lead: our message is in this batch or an earlier one */
    else pthread_cond_wait(&me.cv, &puts_mu);
  }
  pthread_mutex_unlock(&puts_mu);
  pthread_cond_destroy(&me.cv);
  if (me.st != DORM_OK) {
    /* the leader's client has the detail; the caller reads its own */
    dorm__client_fail(c, me.st, owned ? "PutItem" : "BatchWriteItem", "%s", me.err);
  }
  return me.st;
}

bool dorm__st_put_message(dorm_client *c, dorm_streamer_Message *m, dorm_arena *a) {
  (void)a;
  return put_wait(c, m, false) == DORM_OK;
}

dorm_status dorm__st_put_owned(dorm_client *c, dorm_streamer_Message *m) { return put_wait(c, m, true); }

/* A copy of m queued without waiting (done: called once stored, may be NULL). */
static bool queue_copy(const dorm_streamer_Message *m, dorm__st_stored_fn done, void *user, dorm_client *c) {
  size_t ls = strlen(m->sub) + 1, lc = strlen(m->clientId) + 1, lb = strlen(m->body) + 1;
  queued_put *q = calloc(1, sizeof *q + sizeof *q->m + ls + lc + lb);
  if (!q) return false;
  dorm_streamer_Message *cm = (dorm_streamer_Message *)(q + 1);
  char *p = (char *)(cm + 1);
  *cm = *m;
  cm->sub = memcpy(p, m->sub, ls);
  cm->clientId = memcpy(p + ls, m->clientId, lc);
  cm->body = memcpy(p + ls + lc, m->body, lb);
  q->m = cm;
  q->later = true;
  q->owned = done != NULL; /* a lease owner's progress (dorm__st_put_message_async) */
  q->done = done;
  q->user = user;
  q->queued_ms = mono_ms();
  pthread_mutex_lock(&puts_mu);
  enqueue_put(q);
  /* a writer waits for the first message of a batch, and for a full one;
   * the ones between join the batch it gathers (no wake-up each) */
  if (puts_len == 1 || puts_len == PUT_BATCH) wake_next();
  /* stalled behind a slow batch: this thread writes them (STALL_MS) */
  if (c && puts_flushing > 0 && may_lead() && q->queued_ms - puts_head->queued_ms >= STALL_MS) {
    put_stalled++;
    flush_puts(c, 0);
  }
  pthread_mutex_unlock(&puts_mu);
  return true;
}

void dorm__st_put_message_later(dorm_client *c, const dorm_streamer_Message *m) {
  if (queue_copy(m, NULL, NULL, NULL)) return;
  /* no room to queue it: store it now */
  dorm_streamer_Message copy = *m;
  if (!dorm__st_put_message(c, &copy, NULL))
    dorm__st_log("error", "persist_failed", m->clientId, NULL, NULL, "%s", dorm_client_errmsg(c));
}

bool dorm__st_put_message_async(const dorm_streamer_Message *m, dorm__st_stored_fn done, void *user, dorm_client *c) {
  if (!nwriters) return false;
  return queue_copy(m, done, user, c);
}

static void *writer_main(void *arg) {
  dorm__streamer *s = arg;
  dorm__st_name_thread("st-writer");
  dorm_client *c = dorm__st_client(s);
  pthread_mutex_lock(&puts_mu);
  for (;;) {
    if (c && may_lead()) {
      /* a batch holds what queued in the WRITER_GATHER_US since its oldest
       * message (which may have waited for the last batch already) */
      long age_us = (long)(mono_ms() - puts_head->queued_ms) * 1000L;
      flush_puts(c, age_us >= WRITER_GATHER_US ? 0 : WRITER_GATHER_US - age_us);
      continue;
    }
    if (writers_stopping && (!puts_head || !c)) break;
    pthread_cond_wait(&writers_cv, &puts_mu);
  }
  pthread_mutex_unlock(&puts_mu);
  return NULL; /* the thread's client is freed by its key's destructor */
}

void dorm__st_writers_start(dorm__streamer *s) {
  pthread_mutex_lock(&puts_mu);
  if (!nwriters && !writers_stopping) {
    for (int i = 0; i < PUT_WRITERS; i++) {
      if (pthread_create(&writer_threads[i], NULL, writer_main, s) != 0) break;
      nwriters++;
    }
  }
  pthread_mutex_unlock(&puts_mu);
}

void dorm__st_writers_stop(void) {
  pthread_mutex_lock(&puts_mu);
  writers_stopping = true;
  int n = nwriters;
  pthread_cond_broadcast(&writers_cv);
  pthread_mutex_unlock(&puts_mu);
  for (int i = 0; i < n; i++) pthread_join(writer_threads[i], NULL);
  pthread_mutex_lock(&puts_mu);
  nwriters = 0;
  writers_stopping = false; /* may start again (tests do) */
  pthread_mutex_unlock(&puts_mu);
}

void dorm__st_flush_later(dorm_client *c, bool all) {
  pthread_mutex_lock(&puts_mu);
  while (may_lead()) flush_puts(c, GATHER_US);
  /* at exit: until every batch in flight is written too (theirs sleep on
   * their own condition variables; a short nap is enough here) */
  while (all && (puts_head || puts_flushing > 0)) {
    if (may_lead()) {
      flush_puts(c, GATHER_US);
      continue;
    }
    pthread_mutex_unlock(&puts_mu);
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&puts_mu);
  }
  pthread_mutex_unlock(&puts_mu);
}

/* ---- request creations ----
 *
 * The router creates each async request with a conditional put (a retried
 * send finds the existing one). A crowd's requests are created together
 * (group.c: up to CREATE_LEADERS transactions in flight, each creating
 * several requests, each with its own condition); the ack waits for this
 * write. Alone, or when the transaction fails (a duplicate id, a conflict,
 * an error), each request's own thread creates it with a conditional put, so
 * a duplicate still gets DORM_ERR_CONDITION_FAILED from its own write. */

#define CREATE_LEADERS 4

static dorm__st_group creates = {.mu = PTHREAD_MUTEX_INITIALIZER, .leaders = CREATE_LEADERS,
                                 .max_bytes = DORM__ST_GROUP_BYTES};

/* Whether the request item stored under r's key is the one r created: its
 * creation stamp (createdAt, nanoseconds, set by dorm__st_create_request)
 * and connection are r's. A write whose answer was lost (a timeout, a 5xx)
 * may have been applied: then its retry, or the conditional put after a
 * shared transaction that failed so, finds the item and fails its
 * condition, and the request is not a duplicate but this one. */
static bool created_by(dorm_client *c, const dorm_streamer_Request *r) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request_key key = {r->sub, r->clientId};
  dorm_get_opts go = {.consistent_read = true};
  dorm_streamer_Request got;
  bool ours = dorm_streamer_Request_get(c, &key, &go, &a, &got) == DORM_OK && got.createdAt == r->createdAt &&
              strcmp(got.connectionId, r->connectionId) == 0;
  dorm_arena_free(&a);
  return ours;
}

dorm_status dorm__st_create_request(dorm_client *c, dorm_streamer_Request *r, dorm_arena *a) {
  if (!r->createdAt) {
    /* the creation's stamp (created_by): to the nanosecond, so that the same
     * id sent again, even by the same connection, is another one's */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r->createdAt = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  }
  char key[300];
  dorm__st_member me = {.key = key, .bytes = strlen(r->payload) + DORM__ST_ITEM_MARGIN};
  dorm_tx tx;
  if (dorm__st_request_pk(r->sub, r->clientId, key)) {
    dorm_tx_init(&tx, a);
    if (dorm_streamer_Request_tx_create(&tx, r, NULL) >= 0) {
      me.actions = tx.actions;
      me.n = tx.count;
    }
  }
  if (dorm__st_group_commit(&creates, c, &me)) return DORM_OK;
  dorm_status st = dorm_streamer_Request_create(c, r, NULL, a);
  if (st != DORM_OK && st != DORM_ERR_NO_MEMORY && st != DORM_ERR_INVALID_ARGUMENT) {
    /* refused for a request that exists, or no answer: ours may be stored
     * (the shared transaction, or this put, applied before its answer was
     * lost); the caller keeps the first failure's message otherwise */
    char why[512];
    snprintf(why, sizeof why, "%s", dorm_client_errmsg(c));
    if (created_by(c, r)) {
      dorm__st_log("info", "create_applied", r->clientId, r->connectionId, r->endpoint,
                   "the request's creation was stored though its answer said otherwise (%s)", why);
      st = DORM_OK;
    } else {
      dorm__client_fail(c, st, "PutItem", "%s", strncmp(why, "PutItem: ", 9) == 0 ? why + 9 : why);
    }
  }
  dorm__st_group_alone_done(&creates, &me, st == DORM_OK);
  return st;
}

void dorm__st_create_counts(size_t *calls, size_t *items) { dorm__st_group_counts(&creates, calls, items); }

/* ---- a result: complete, or chunks then complete (docs/streamer.md, "Large results") ---- */

/* The bytes text[i] takes inside a JSON string as cJSON prints it (a
 * chunk's data is the result's JSON text as a string: its quotes and
 * backslashes double, control characters take six). */
static size_t escaped_len(unsigned char ch) {
  if (ch == '"' || ch == '\\') return 2;
  if (ch >= 0x20) return 1;
  return ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t' ? 2 : 6;
}

/* Where the chunk from off ends: its data takes at most DORM__ST_CHUNK_DATA
 * bytes once escaped (so a result of quotes and backslashes, whose text
 * grows up to twice as data, still sends frames under 128 KB), never inside
 * a UTF-8 sequence. */
static size_t chunk_len(const char *text, size_t len, size_t off) {
  size_t n = 0, esc = 0;
  while (off + n < len) {
    size_t e = escaped_len((unsigned char)text[off + n]);
    if (esc + e > DORM__ST_CHUNK_DATA) break;
    esc += e;
    n++;
  }
  while (off + n < len && n > 1 && ((unsigned char)text[off + n] & 0xC0) == 0x80) n--;
  return n ? n : 1;
}

/* room for the envelope: a complete message stays under one frame */
static bool fits_one(size_t len) { return len + 256 <= DORM__ST_CHUNK_DATA; }

size_t dorm__st_result_count(const char *result) {
  size_t len = strlen(result);
  if (fits_one(len)) return 1;
  size_t count = 0;
  for (size_t off = 0; off < len; count++) off += chunk_len(result, len, off);
  return count + 1;
}

void dorm__st_free_texts(char **texts, size_t n) {
  if (!texts) return;
  for (size_t i = 0; i < n; i++) free(texts[i]);
  free(texts);
}

char **dorm__st_result_texts(const char *rid, const char *result, int64_t first_seq, const char *final_type,
                             size_t *n_out) {
  size_t n = dorm__st_result_count(result);
  *n_out = 0;
  char **texts = calloc(n, sizeof *texts);
  if (!texts) return NULL;
  size_t len = strlen(result);
  if (n == 1) {
    cJSON *o = cJSON_CreateObject();
    char *extra = o && cJSON_AddRawToObject(o, "result", result) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    texts[0] = extra ? dorm__st_message(final_type, rid, first_seq, extra) : NULL;
    cJSON_free(extra);
  } else {
    size_t count = n - 1;
    for (size_t i = 0, off = 0; i < count; i++) {
      size_t k = chunk_len(result, len, off);
      char *part = malloc(k + 1);
      if (!part) break;
      memcpy(part, result + off, k);
      part[k] = '\0';
      off += k;
      cJSON *o = cJSON_CreateObject();
      cJSON_AddNumberToObject(o, "index", (double)i);
      cJSON_AddNumberToObject(o, "count", (double)count);
      cJSON_AddStringToObject(o, "data", part);
      free(part);
      char *extra = cJSON_PrintUnformatted(o);
      cJSON_Delete(o);
      if (!extra) break;
      texts[i] = dorm__st_message("result_chunk", rid, first_seq + (int64_t)i, extra);
      cJSON_free(extra);
    }
    texts[count] = dorm__st_message(final_type, rid, first_seq + (int64_t)count, "{\"chunked\":true}");
  }
  for (size_t i = 0; i < n; i++)
    if (!texts[i]) {
      dorm__st_free_texts(texts, n);
      return NULL;
    }
  *n_out = n;
  return texts;
}

int64_t dorm__st_append_result(dorm_client *c, const char *sub, const char *client_id, const char *result,
                               dorm__st_sent_fn sent, void *user, bool *leased) {
  size_t n = dorm__st_result_count(result);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_streamer_Request now;
  int64_t last = 0;
  if (take_from_item(c, sub, client_id, (int64_t)n, &a, &now, leased) == DORM_OK) {
    int64_t first = now.seq - (int64_t)n + 1;
    size_t k = 0;
    char **texts = dorm__st_result_texts(client_id, result, first, "complete", &k);
    bool ok = texts != NULL;
    for (size_t i = 0; ok && i < k; i++) {
      dorm_streamer_Message m = {.sub = sub, .clientId = client_id, .seq = first + (int64_t)i, .body = texts[i]};
      ok = dorm__st_put_message(c, &m, &a);
    }
    /* stored, then sent: in seq order */
    for (size_t i = 0; ok && i < k; i++) sent(user, first + (int64_t)i, texts[i]);
    if (ok) last = now.seq;
    dorm__st_free_texts(texts, k);
  }
  dorm_arena_free(&a);
  return last;
}
