/* The streamer layer's boundary (runtime/src/streamer/): JWT verification,
 * payload codecs, the protocol, router, processor, delivery and the local
 * WebSocket server (dorm/streamer.h is its public face). The top layer:
 * nothing in libdorm includes this header but the streamer's own files and
 * its tests.
 *
 * Threads. One thread runs libwebsockets (server.c) and never blocks: it
 * parses frames, checks tokens and SigV4, and moves bytes. Everything that
 * talks to DynamoDB runs on the worker pool (router jobs, processor jobs) or
 * on the processor's poller; each of those threads has its own dorm_client.
 * Outbound messages reach a connection through dorm__srv_enqueue (any
 * thread), which wakes the lws thread.
 */
#ifndef DORM_STREAMER_INTERNAL_H
#define DORM_STREAMER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "dorm/streamer.h"
#include "model_internal.h"
#include "streamer_models.h"
#include "dorm/streams.h"
#include "dorm/tables.h"

/* ---- limits (docs/streamer.md) ---- */
#define DORM__ST_MAX_MESSAGE (128 * 1024)   /* API Gateway's frame limit */
/* A payload nests at most 32 levels, itself level 1 (DynamoDB's count for
 * items); a message holds it one level down, so a message nests at most 33:
 * every payload the decoder takes fits a message, and a deeper one is
 * refused whole before it is parsed. */
#define DORM__ST_MAX_PAYLOAD_DEPTH 32
#define DORM__ST_MAX_DEPTH (DORM__ST_MAX_PAYLOAD_DEPTH + 1)
/* `status` asks waiting in a request item for the lease owner of another
 * process (router.c): about 130 bytes each, so the item stays small */
#define DORM__ST_MAX_ASKS 16
/* A connection's status, get_result and cancel answers (docs/streamer.md,
 * "Limits"): a burst, then a rate a second; past it RATE_LIMITED. */
#define DORM__ST_ANSWER_BURST 50
#define DORM__ST_ANSWER_RATE 10
/* Messages of an earlier run sent again when a processor takes a request
 * over (processor.c: a dead owner may have stored them and not delivered). */
#define DORM__ST_REDELIVER 32
#define DORM__ST_MAX_ID 128                 /* client request ids: [A-Za-z0-9._:-]{1,128} */
#define DORM__ST_CHUNK_DATA (96 * 1024)     /* result text per chunk message */
#define DORM__ST_ITEM_MARGIN (8 * 1024)     /* a request item's attributes other than payload, result, progress */
/* A progress update's message (escaped) and typed progress (JSON text)
 * together: both go out again in a `status` answer, whose other members
 * (request id, seq, ts, status, percent, last_seq: under 400 bytes) and the
 * endpoint's name take the rest of one frame. */
#define DORM__ST_PROGRESS_ENVELOPE 512
#define DORM__ST_CONN_BUCKETS 4096          /* the connection index (server.c) */

/* ---- protocol.c: the wire format ---- */

typedef enum dorm__st_action {
  DORM__ST_CALL = 0,       /* an endpoint */
  DORM__ST_STATUS,
  DORM__ST_CANCEL,
  DORM__ST_RESUME,
  DORM__ST_GET_RESULT,
  DORM__ST_PING
} dorm__st_action;

/* A parsed client message; borrows from the cJSON tree it came from. */
typedef struct dorm__st_msg {
  dorm__st_action kind;
  const char *action;      /* as sent */
  const char *id;          /* client request id ("" for ping without one) */
  const cJSON *payload;    /* CALL: the payload object (NULL: absent) */
  int64_t last_seq;        /* RESUME */
} dorm__st_msg;

/* Parses one text frame. On failure returns false with *code (a protocol
 * error code: INVALID_MESSAGE, PAYLOAD_TOO_LARGE) and msg set, and *id the
 * request id when one could be read (else ""). *root must be freed with
 * cJSON_Delete (also on failure; may be NULL). */
bool dorm__st_parse(const char *text, size_t len, cJSON **root, dorm__st_msg *out, const char **code, char *msg,
                    size_t msgcap);

/* Server messages, as NUL-terminated malloc'd text (NULL on OOM). `extra`
 * is a JSON object text whose members are appended (NULL: none). */
char *dorm__st_message(const char *type, const char *request_id, int64_t seq, const char *extra);
char *dorm__st_error_message(const char *request_id, int64_t seq, const char *code, const char *message,
                             bool retryable);
/* Appends s as a JSON string (quoted; invalid UTF-8 becomes U+FFFD). */
void dorm__st_json_str(dorm__buf *b, const char *s);
/* v as JSON text (malloc'd), every number in the shortest form that reads
 * back as the same double (cJSON_Print may round); NULL with errbuf set
 * (out of memory, a string that is not UTF-8). payload.c. */
char *dorm__st_cjson_text(const cJSON *v, char *errbuf, size_t errcap);
/* After cJSON parsed text into root: every number whose double is not its
 * text's exact value (9007199254740993, 1.0000000000000001, 1e400) becomes
 * a cJSON_Raw node holding its text (valuedouble kept), so a json field
 * passes it on digit for digit and an int field refuses it rather than
 * taking it rounded. Out of memory leaves such a number as cJSON read it.
 * payload.c. */
void dorm__st_exact_numbers(cJSON *root, const char *text, size_t len);
/* Copies s into dst[cap] (cap >= 1; always NUL-terminated) as valid UTF-8:
 * each byte of invalid UTF-8 becomes U+FFFD, and text that does not fit is
 * cut between characters, never inside one. Text from handlers goes into
 * the request item this way (DynamoDB refuses a string that is not UTF-8,
 * and a request whose end cannot be written runs again). Returns the
 * length copied. */
size_t dorm__st_utf8_copy(char *dst, size_t cap, const char *s);
/* The same into a malloc'd copy (NULL for NULL or on OOM). */
char *dorm__st_utf8_dup(const char *s);
/* "2026-12-06T17:00:00.123Z" for now. */
void dorm__st_now_text(char out[40]);
/* Whether code is one of the protocol's error codes. */
bool dorm__st_known_code(const char *code);
int64_t dorm__st_now_ms(void);

/* ---- the server (server.c) ---- */

typedef struct dorm__streamer dorm__streamer;

/* Queues text (copied) for the WebSocket connection conn_id. seq > 0 makes
 * the queue exactly-once and ordered per request: a seq already queued is
 * dropped, and while the request is being resumed live messages wait.
 * Returns false when the connection is not held by this server (410). */
bool dorm__srv_enqueue(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t seq,
                       const char *text, size_t len);
/* A stored message's way to a connection of this server, as the "sent"
 * callback of the store's calls that take a seq (user: a dorm__srv_to). */
typedef struct dorm__srv_to {
  dorm__streamer *s;
  const char *conn, *rid;
} dorm__srv_to;
void dorm__srv_enqueue_to(void *user, int64_t seq, const char *text);
/* The same, saying why not: a processor delivers in-process when this
 * server holds the connection (DORM__SRV_QUEUED or DORM__SRV_GONE: it is
 * closing) and through the management API of the holding server only when
 * it is not here (DORM__SRV_NOT_HERE). */
typedef enum dorm__srv_offer_result { DORM__SRV_QUEUED, DORM__SRV_NOT_HERE, DORM__SRV_GONE } dorm__srv_offer_result;
dorm__srv_offer_result dorm__srv_offer(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t seq,
                                       const char *text, size_t len);
/* Between these two calls (nested: counted), messages this thread queues
 * for connections wake the lws thread once, at the end, instead of per
 * message: the writer delivering a batch. */
void dorm__srv_defer_wakes(void);
void dorm__srv_flush_wakes(void);
/* Stops the server: the lws loop ends, workers finish what they hold. */
void dorm__srv_stop(dorm__streamer *s);
/* Whether this server holds the connection now. */
bool dorm__srv_holds(dorm__streamer *s, const char *conn_id);
/* Whether conn may have one more stored answer (status, get_result, cancel:
 * each is a new message, a write): DORM__ST_ANSWER_BURST at once, then
 * DORM__ST_ANSWER_RATE a second. True for a connection not held here. */
bool dorm__srv_answer_allowed(dorm__streamer *s, const char *conn_id);
/* Requests followed by connections of this server that got nothing for
 * quiet_ms and have not ended (no terminal message queued): up to max of
 * them into out, each then counted as checked (listed again only after
 * another quiet_ms). A processor that died between writing a request's end
 * and delivering it leaves such a request (processor.c, catch_up). */
typedef struct dorm__srv_silent_req {
  char conn_id[40];
  char sub[256];
  char rid[DORM__ST_MAX_ID + 1];
  int64_t acked; /* every seq up to it was queued */
} dorm__srv_silent_req;
size_t dorm__srv_silent(dorm__streamer *s, int64_t quiet_ms, dorm__srv_silent_req *out, size_t max);
/* The request needs no more silence checks on that connection (it ended). */
void dorm__srv_track_ended(dorm__streamer *s, const char *conn_id, const char *request_id);
/* Resume bracket: between begin and end, live messages for request_id wait;
 * replayed ones go through dorm__srv_enqueue as usual; end flushes the
 * waiting ones that are newer. */
void dorm__srv_resume_begin(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t last_seq);
void dorm__srv_resume_end(dorm__streamer *s, const char *conn_id, const char *request_id);
/* The first seq this connection will get for request_id (a new request's
 * ack is 1): messages that arrive before it wait for it. */
void dorm__srv_expect(dorm__streamer *s, const char *conn_id, const char *request_id, int64_t first_seq);
/* Sends messages that waited more than a second for an older seq (called
 * periodically: a seq that never comes must not block the rest). */
void dorm__srv_flush_stale(dorm__streamer *s);

/* ---- static files of --web DIR (web.c) ---- */

/* The file for GET uri under dir ("/" and ".../": index.html): 200 with
 * *body (malloc'd, the caller frees), *len and *mime set; 404 for a missing
 * file or a path it refuses (a segment that is empty, starts with '.', or
 * holds a backslash or a control character); 500 when it cannot be read. */
int dorm__st_web_file(const char *dir, const char *uri, char **body, size_t *len, const char **mime);
/* Whether dir is a directory (why says what is wrong otherwise). */
bool dorm__st_web_dir_ok(const char *dir, char *why, size_t whycap);

/* ---- metrics (metrics.c) ---- */

typedef struct dorm__st_metrics {
  pthread_mutex_t mu;
  int64_t connections, connections_total, auth_failures;
  int64_t progress_sent, delivery_failures, messages_in, invalid_messages;
  /* what a limit refused (docs/streamer.md, "Limits"): an operator sees a
   * client pressing on one in dorm_streamer_limited_total{limit=...} */
  int64_t user_limited, inflight_limited, connections_limited, slow_clients, asks_limited, user_conns_limited;
  int64_t answers_limited, user_connects_limited;
  /* requests by endpoint and outcome: a small table */
  struct {
    char endpoint[64];
    char outcome[24];
    int64_t n;
  } outcomes[64];
  size_t noutcomes;
  int64_t queue_wait_ms_sum, queue_wait_n;
  int64_t job_ms_buckets[12]; /* le 10,50,100,250,500,1000,2500,5000,10000,30000,60000,+Inf */
  int64_t job_ms_sum, job_n;
} dorm__st_metrics;

void dorm__st_metrics_init(dorm__st_metrics *m);
void dorm__st_metrics_outcome(dorm__st_metrics *m, const char *endpoint, const char *outcome);
void dorm__st_metrics_job(dorm__st_metrics *m, int64_t queue_wait_ms, int64_t run_ms);
void dorm__st_metrics_add(dorm__st_metrics *m, int64_t *counter, int64_t by);
/* Prometheus text exposition, malloc'd. */
char *dorm__st_metrics_text(dorm__st_metrics *m);

/* ---- logs (metrics.c): one JSON object per line on stderr ---- */
void dorm__st_log(const char *level, const char *event, const char *request_id, const char *conn_id,
                  const char *endpoint, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* ---- configuration and the shared state ---- */

typedef struct dorm__st_config {
  int port;
  const char *ddb_endpoint;        /* NULL: AWS conventions */
  const char *region;
  bool create_tables;
  dorm_jwt_config jwt;
  int workers;                     /* job threads (default 8) */
  long progress_interval_ms;       /* minimum time between progress messages (default 50) */
  long lease_ms;                   /* processor lease (default 15000) */
  long poll_ms;                    /* processor poll interval (default 100) */
  int max_attempts;                /* retryable failures: attempts before FAILED (default 3) */
  const char *server_url;          /* this server's management API base (default http://127.0.0.1:PORT) */
  const char *web_dir;             /* serve static files from here (NULL: none) */
  bool no_processor;               /* accept and route only; another process runs jobs */
  bool async_progress;             /* progress stored by the writer thread while the handler goes on (default; --sync-progress: off) */
  long shutdown_grace_ms;          /* SIGTERM: how long running jobs may take to finish (default 10000) */
  const char *management_endpoint; /* Lambda: the management API (NULL: the event's) */
  long max_inflight;               /* messages of one connection queued or in work (default 32; beyond: RATE_LIMITED) */
  long max_connections;            /* WebSocket connections of this server (default 10000; beyond: 503) */
  long max_user_requests;          /* one user's async requests queued or running here (default 100; beyond: RATE_LIMITED) */
  long max_user_connections;       /* one user's WebSocket connections to this server (default 100; beyond: 429) */
  long max_user_connects;          /* one user's connects a minute to this server (default 120, a burst as large; beyond: 429) */
} dorm__st_config;

/* A job for the worker pool. */
typedef struct dorm__st_job {
  struct dorm__st_job *next;
  enum { DORM__JOB_MESSAGE, DORM__JOB_CONNECT, DORM__JOB_DISCONNECT, DORM__JOB_RUN } kind;
  char conn_id[40];
  char *text;                      /* MESSAGE: the frame (malloc'd) */
  size_t len;
  dorm_identity id;                /* CONNECT, MESSAGE: the connection's identity (strings in arena) */
  dorm_arena arena;
  char request_pk[300];            /* RUN: the request's key */
  int64_t queued_ms;
  struct dorm__st_job *first;      /* MESSAGE: its connection's CONNECT, run before it */
  bool counted;                    /* MESSAGE: counts in its connection's in-flight (server.c) */
  size_t round;                    /* RUN: its place in the fair queue (main.c, push_run) */
  struct dorm__st_job *taken_next; /* RUN: in s->runs_taken while a worker has it */
} dorm__st_job;

struct dorm__streamer {
  dorm__st_config cfg;
  const dorm_endpoint_desc *const *endpoints;
  size_t nendpoints;
  dorm_jwt_verifier *jwt;
  char server_id[40];
  char server_url[256];
  dorm__st_metrics metrics;
  atomic_bool stopping;
  /* SIGTERM/SIGINT: no new jobs; running ones finish within the grace period
   * or give their request back (dorm__st_drain, on the poller's thread) */
  atomic_bool draining;
  int64_t drain_started_ms;        /* the poller's: when it saw draining (0: not yet) */
  bool drain_released;             /* the poller's: running jobs were asked to give their requests back */

  /* job queues: client messages (and connects) apart from RUN jobs, so a
   * worker finds the next message at once however many jobs wait */
  pthread_mutex_t jobs_mu;
  dorm__st_job *jobs_head, *jobs_tail;
  size_t jobs_len;
  dorm__st_job *conn_jobs_head, *conn_jobs_tail; /* CONNECT, DISCONNECT */
  dorm__st_job *runs_head, *runs_tail;
  dorm__st_job *runs_taken;        /* RUN jobs workers took and have not finished (jobs_mu) */
  size_t runs_len;
  int runs_active;                 /* RUN jobs being worked on */
  pthread_t *workers;
  int nworkers;
  pthread_t poller;
  bool poller_started;

  /* claimed requests in flight in this process (for cancel and renewals) */
  pthread_mutex_t running_mu;
  struct dorm_stream_ctx *running;

  /* the lws side (server.c) */
  void *lws;                       /* struct lws_context * */
  void *ev_loop;                   /* struct ev_loop * when lws runs on libev (server.c), else NULL */
  pthread_mutex_t conns_mu;
  struct dorm__st_conn *conns;     /* every connection (doubly linked: a close unlinks in O(1)) */
  /* connections with a track holding messages (the only ones the stale
   * flush walks), and the earliest exp + leeway of the connections: a lower
   * bound (a closed one may have set it), so the expiry walk runs when
   * something may be due and recomputes it (server.c) */
  struct dorm__st_conn *holding;
  int64_t next_expiry_s;
  /* connections by id (every message looks its connection up) */
  struct dorm__st_conn *conn_index[DORM__ST_CONN_BUCKETS];
  struct dorm__st_user_conns **user_conns; /* connections per user, DORM__ST_CONN_BUCKETS lists (server.c; lws thread) */
  /* connections with output the lws thread has not been told about yet */
  struct dorm__st_conn *dirty;
  /* one lws_cancel_service per batch: set by the first enqueue after the
   * lws thread looked at `dirty`, cleared by the lws thread */
  atomic_bool wake_pending;

  /* Lambda mode (lambda.c, lambda_events.c): no lws server and no workers;
   * one invocation at a time runs on the main thread. */
  bool lambda;
  char lambda_conn[128];           /* the connection of the WebSocket event being handled ("": none) */
  char lambda_endpoint[256];       /* its management API (https://{domain}/{stage}), as server_url */
  _Atomic int64_t lambda_deadline_ms; /* what handlers see: the invocation's deadline less a margin (0: none) */
};

/* The endpoint called action, or NULL. */
const dorm_endpoint_desc *dorm__st_endpoint(const dorm__streamer *s, const char *action);
/* Names the calling thread (at most 15 bytes; Linux only): per-thread
 * figures in top -H and bench/streamer/load.mjs. */
void dorm__st_name_thread(const char *name);
/* A DynamoDB client for the calling thread (created on first use, freed at exit). */
dorm_client *dorm__st_client(dorm__streamer *s);
/* server.c: a connection's message (job->counted) is done: its in-flight
 * count drops (nothing when the connection is gone). */
void dorm__srv_message_done(dorm__streamer *s, const dorm__st_job *job);
void dorm__st_push_job(dorm__streamer *s, dorm__st_job *job);

/* router.c: one client message / connect / disconnect, on a worker thread. */
void dorm__st_route(dorm__streamer *s, dorm__st_job *job);
/* Stores the connection items of a chain (through ->next, at most
 * DORM__ST_CONN_BATCH) of CONNECT/DISCONNECT jobs of distinct connections:
 * one BatchWriteItem, item by item when it fails (each failure logged). */
#define DORM__ST_CONN_BATCH 25
void dorm__st_route_connections(dorm__streamer *s, dorm__st_job *chain);
/* Wakes a worker when connection events wait (the poller, every tick: a
 * client's DISCONNECT waits up to 100 ms for others to share its write). */
void dorm__st_kick_conn_jobs(dorm__streamer *s);
/* processor.c: claims and runs one request (a worker job). */
void dorm__st_run_request(dorm__streamer *s, const char *request_pk, int64_t queued_ms);
/* poller.c: the poller thread (the stream, the sweep, catch-ups, the drain). */
void *dorm__st_poller_main(void *arg);
/* processor.c: whether the request waits in this process's run queue or
 * runs here (the poller does not queue it again). */
bool dorm__st_queued_or_running(dorm__streamer *s, const char *request_pk);
/* How many async requests of sub wait in this process's run queue or a
 * worker runs, counting up to `most` (the walk stops there). main.c */
size_t dorm__st_user_runs(dorm__streamer *s, const char *sub, size_t most);
/* poller.c: one record of the requests table's stream: a PENDING request becomes a RUN
 * job (true). A record seen twice makes two jobs; the claim (a conditional
 * update) lets one of them run it. */
bool dorm__st_on_stream_record(dorm__streamer *s, const dorm_stream_record *rec, dorm_arena *a);
/* Runs a sync endpoint's handler for the router (conn_id: where the answer
 * goes). *answered is true when the deadline passed first and the poller
 * already sent TIMEOUT: the caller then sends nothing. Otherwise the status
 * is the handler's (code_out and msg say what failed). */
dorm_status dorm__st_run_sync(dorm__streamer *s, const dorm_endpoint_desc *e, const dorm_identity *id,
                              const char *conn_id, const char *rid, const void *req, void *res, dorm_arena *a,
                              char *code_out, char *msg, size_t msgcap, bool *answered);
/* Answers TIMEOUT for every sync call of this process past its deadline
 * (the poller calls it every poll interval). */
void dorm__st_expire_sync(dorm__streamer *s);
/* Shutting down (draining set): called every poll interval. Running jobs
 * have cfg.shutdown_grace_ms to finish; then each is asked to stop and
 * gives its request back (PENDING, lease released) so that another
 * processor takes it over at once instead of after the lease expires. When
 * no job runs any more (or a handler ignores cancellation for 10 s more),
 * the server stops. */
void dorm__st_drain(dorm__streamer *s);
/* Marks a running request of this process cancelled (true when it runs here). */
bool dorm__st_cancel_running(dorm__streamer *s, const char *request_pk);
/* A `status` for a request whose lease this process holds: the seq is the
 * job's own (taken in memory, not from the request item), the state its
 * latest; stored, then queued for conn_id. False when the request does not
 * run here (or is writing its end): the caller takes the item's way. */
bool dorm__st_status_running(dorm__streamer *s, dorm_client *c, const char *request_pk, const char *conn_id);
/* Tells a running request of this process that its client moved to another
 * connection: it checks in at once instead of within a second. */
bool dorm__st_recheck_running(dorm__streamer *s, const char *request_pk);

/* store.c: the streamer's tables through the generated code. */
bool dorm__st_request_pk(const char *sub, const char *client_id, char out[300]);
/* The sweep index's key of an unfinished request (schemas/streamer.dorm,
 * liveKey): "<status>#<shard>", shard = FNV-1a of "{sub}#{id}" modulo
 * DORM__ST_LIVE_SHARDS, so the index's writes (claims, lease renewals, ends)
 * spread over that many partitions per status. Every server of a deployment
 * must use the same count: the sweep reads each shard. Writes into out and
 * returns it. */
#define DORM__ST_LIVE_SHARDS 4
const char *dorm__st_live_key(dorm_streamer_RequestStatus status, const char *sub, const char *client_id,
                              char out[32]);
/* The key of shard `shard` for status (the sweep's queries). */
const char *dorm__st_live_shard_key(dorm_streamer_RequestStatus status, unsigned shard, char out[32]);
/* Takes the next seq of a request that no processor holds (PENDING, or
 * finished): ADD on the request item on the condition that no lease exists;
 * then persists message text under it: text is built by make(seq, now,
 * user) (now: the request item after the ADD) so that it carries its own
 * seq. Returns the seq (> 0) with *text_out (malloc'd), or 0 on failure
 * (dorm_client_errmsg says why; *leased (may be NULL) is true when a lease
 * exists: the lease owner takes the seqs, see dorm__st_status_running). */
typedef char *(*dorm__st_make_fn)(int64_t seq, const dorm_streamer_Request *now, void *user);
int64_t dorm__st_append_message(dorm_client *c, const char *sub, const char *client_id, dorm__st_make_fn make,
                                void *user, char **text_out, bool *leased);
/* Stores a message whose seq the caller has taken (a plain put). */
bool dorm__st_put_message(dorm_client *c, dorm_streamer_Message *m, dorm_arena *a);
/* Stores a message under a seq the lease owner took in memory, only where
 * no message is (store.c, owned_put): DORM_ERR_CONDITION_FAILED when
 * another one is stored under that seq (a run that lost the lease, or the
 * one that took it over, wrote it first); other failures as
 * dorm__st_put_message's. */
dorm_status dorm__st_put_owned(dorm_client *c, dorm_streamer_Message *m);
/* Queues a copy of m to be stored with the next batch, without waiting:
 * for a message already sent (the ack). The poller writes what is queued
 * every poll interval (dorm__st_flush_later); a failure is logged. */
void dorm__st_put_message_later(dorm_client *c, const dorm_streamer_Message *m);
/* Queues a copy of m to be stored by the writer thread without waiting;
 * done(user, m, st) is called once it is stored (DORM_OK) or its write failed
 * several times (never under the store's lock; the caller then delivers
 * it), on a writer thread, or, with c (the calling thread's client; may be
 * NULL), on the calling thread: when the queue's oldest message has waited
 * for the writer's slow batch (store.c, STALL_MS), this call writes the
 * queue's next batch itself before it returns. False when no writers run
 * (Lambda mode, or before dorm__st_writers_start) or on OOM: the caller
 * stores it itself. */
/* (st: DORM_OK once stored; DORM_ERR_CONDITION_FAILED when another message
 * holds its seq, as dorm__st_put_owned; another failure after the tries.
 * These are a lease owner's messages: stored as dorm__st_put_owned.) */
typedef void (*dorm__st_stored_fn)(void *user, const dorm_streamer_Message *m, dorm_status st);
bool dorm__st_put_message_async(const dorm_streamer_Message *m, dorm__st_stored_fn done, void *user, dorm_client *c);
/* The writer thread(s) (PUT_WRITERS, each with its own DynamoDB client): started once
 * (later calls do nothing); stop writes what is queued, then joins them. */
void dorm__st_writers_start(dorm__streamer *s);
void dorm__st_writers_stop(void);
/* Writes the queued messages (as batches, while fewer than the limit are in
 * flight); all: until none is queued or in flight (at exit). */
void dorm__st_flush_later(dorm_client *c, bool all);
/* Since the process started: the DynamoDB calls that stored messages, the
 * messages they stored (calls < messages: batches gathered) and the batches
 * a queueing thread wrote because the writer's was slow (STALL_MS); tests,
 * bench. Any pointer may be NULL. */
void dorm__st_put_counts(size_t *calls, size_t *messages, size_t *stalled);
/* A job started (+1) or ended (-1) here: with several running, a lone
 * message waits briefly for others to share its write (store.c, gather). */
void dorm__st_puts_jobs(int delta);
/* How many jobs run here now (dorm__st_puts_jobs' count). */
int dorm__st_jobs_running(void);
/* ---- group commit (group.c) ----
 * A thread with an all-or-nothing write (its actions built in its own
 * arena) joins a group; one TransactWriteItems commits several members'
 * actions together. dorm__st_group_commit returns true when the member's
 * actions were committed with others; false when the caller must write
 * alone (its usual call, so a failed condition is its own), then call
 * dorm__st_group_alone_done (written: whether that write succeeded). */
#define DORM__ST_GATHER_US 2000 /* a leader's wait for company while another write is in flight */
#define DORM__ST_BUSY_JOBS 4 /* jobs running here from which the server counts as busy (more writes coming) */
#define DORM__ST_GROUP_BYTES (1024 * 1024) /* a transaction's budget (DynamoDB allows 4 MB) */
typedef struct dorm__st_member {
  struct dorm__st_member *next;
  const dorm_tx_write *actions;
  size_t n;     /* 0: alone */
  size_t bytes; /* about what the actions weigh */
  const char *key; /* the item written: two members of one key never share a transaction */
  pthread_cond_t cv;
  enum { DORM__ST_MEMBER_QUEUED, DORM__ST_MEMBER_TAKEN, DORM__ST_MEMBER_DONE, DORM__ST_MEMBER_ALONE } state;
  bool alone_in_flight;
} dorm__st_member;
typedef struct dorm__st_group {
  pthread_mutex_t mu;
  int leaders;      /* transactions in flight at once */
  size_t max_bytes; /* one transaction's budget; a member over a quarter of it goes alone */
  long busy_gather_us; /* > 0: gather this long while DORM__ST_BUSY_JOBS jobs run, even with nothing in flight */
  dorm__st_member *head, *tail;
  size_t len;
  int flushing;
  bool gathering;
  size_t calls, members; /* since start: writes that succeeded, members they wrote */
} dorm__st_group;
bool dorm__st_group_commit(dorm__st_group *g, dorm_client *c, dorm__st_member *me);
void dorm__st_group_alone_done(dorm__st_group *g, dorm__st_member *me, bool written);
void dorm__st_group_counts(dorm__st_group *g, size_t *calls, size_t *members);
/* Since the process started: the writes that ended jobs (transactions,
 * several ends in one under load) and how many jobs they ended (tests, bench). */
void dorm__st_end_counts(size_t *calls, size_t *ended);
/* Creates an async request's item (conditional: DORM_ERR_CONDITION_FAILED
 * when (sub, client id) exists), together with others that other threads
 * create meanwhile (one TransactWriteItems for up to 25; alone, or when
 * the transaction fails, a conditional put by the calling thread). r's
 * strings must stay valid until it returns; errors are on c. */
dorm_status dorm__st_create_request(dorm_client *c, dorm_streamer_Request *r, dorm_arena *a);
/* Since the process started: the calls that created requests, and how many
 * they created (tests, bench). */
void dorm__st_create_counts(size_t *calls, size_t *items);
/* The message(s) of a result: final_type ("complete" for a job,
 * "response" for a sync call) with the result, or, for a result too big for
 * one frame, `result_chunk` messages (index 0..count-1, at most
 * DORM__ST_CHUNK_DATA bytes of the result's JSON text each once escaped as
 * the chunk's data string, cut between UTF-8 sequences) then final_type
 * with chunked: true. _count says how many (each takes a seq); _texts
 * builds them with seqs first_seq.. (a malloc'd array of *n malloc'd texts,
 * NULL on OOM; free with dorm__st_free_texts). */
size_t dorm__st_result_count(const char *result);
char **dorm__st_result_texts(const char *rid, const char *result, int64_t first_seq, const char *final_type,
                             size_t *n);
void dorm__st_free_texts(char **texts, size_t n);
/* Persists and hands to sent() (in seq order) the result message(s) of a
 * finished request that no processor holds: its seqs are one ADD on the
 * request item, conditional like dorm__st_append_message's. Returns the
 * last seq, 0 on failure (*leased as there). */
typedef void (*dorm__st_sent_fn)(void *user, int64_t seq, const char *text);
int64_t dorm__st_append_result(dorm_client *c, const char *sub, const char *client_id, const char *result,
                               dorm__st_sent_fn sent, void *user, bool *leased);
/* protocol.c: the members of a `status` message (malloc'd JSON object text, NULL on OOM). */
char *dorm__st_status_extra(const char *status, const char *endpoint, double percent, const char *message,
                            const char *progress, int64_t last_seq);
/* protocol.c: the `status` message (malloc'd, NULL on OOM) of a request
 * that no processor holds, from its item r (exact then: the lease owner
 * wrote its latest progress when it let go), under seq. */
char *dorm__st_item_status(const char *rid, int64_t seq, const dorm_streamer_Request *r);

/* delivery.c: POST /@connections/{id} on the server that holds it (SigV4,
 * service execute-api). 200 -> DORM_OK; 410 -> DORM_ERR_NOT_FOUND (gone). */
dorm_status dorm__st_deliver(dorm__streamer *s, const char *server_url, const char *conn_id, const char *text,
                             size_t len);
/* delivery.c: DELETE /@connections/{id} (API Gateway closes the connection).
 * 204/200 -> DORM_OK; 410 -> DORM_ERR_NOT_FOUND (already gone). */
dorm_status dorm__st_close_connection(dorm__streamer *s, const char *server_url, const char *conn_id);
/* router.c: the JWT leeway in seconds as configured (0 in the config: 60;
 * negative: none). */
int64_t dorm__st_leeway_s(const dorm__streamer *s);
/* router.c: when a connection stops being valid (its item's expiresAt):
 * its token's exp + leeway, at most a day from now (a day when exp is 0). */
int64_t dorm__st_conn_expires_at(const dorm__streamer *s, int64_t token_exp);
/* lambda.c: the AWS Lambda custom runtime (AWS_LAMBDA_RUNTIME_API set):
 * the Runtime API loop until the runtime goes away. Returns the exit code. */
int dorm__st_lambda_run(dorm__streamer *s);
/* Reports a failed start to the Runtime API's init/error (Lambda mode only). */
void dorm__st_lambda_init_error(const char *why);
/* The X-Ray trace id of the invocation being handled ("" outside Lambda),
 * copied into out; every log line carries it. */
void dorm__st_lambda_trace_id(char *out, size_t cap);
/* Lambda mode's dorm__srv_offer: a message for the connection of the
 * current WebSocket event goes to its management API at once (QUEUED, or
 * GONE on 410); any other connection is NOT_HERE (the processor looks its
 * management API up in the connections table and delivers itself). */
dorm__srv_offer_result dorm__st_lambda_offer(dorm__streamer *s, const char *conn_id, const char *text, size_t len);
/* processor.c: every running async job gives its request back (PENDING, no
 * lease) as on SIGTERM: Lambda's deadline is near. */
void dorm__st_release_running(dorm__streamer *s);

/* Verifies a management API request's SigV4 signature (server.c calls it). */
bool dorm__st_verify_sigv4(dorm__streamer *s, const char *method, const char *path, const char *host,
                           const char *amz_date, const char *authorization, const char *token, const void *body,
                           size_t len, char *why, size_t whycap);

#endif
