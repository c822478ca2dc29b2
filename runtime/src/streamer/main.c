/* dorm_streamer_main: the streamer as a program (streamer-demo, or a user's
 * binary built the same way): flags, the worker pool, the poller, the
 * server, and a clean shutdown on SIGINT/SIGTERM.
 *
 * Every flag has an environment twin: the flag's name upper-cased, '-' as
 * '_', with a DORM_STREAMER_ prefix (--jwt-issuer is DORM_STREAMER_JWT_ISSUER,
 * --create-tables is DORM_STREAMER_CREATE_TABLES=1); a flag on the command
 * line wins. */
#include "streamer_internal.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

bool dorm__srv_listen(dorm__streamer *s, char *err, size_t errcap);
int dorm__srv_run(dorm__streamer *s);
void dorm__srv_stop(dorm__streamer *s);
void dorm__srv_destroy(dorm__streamer *s);

void dorm__st_name_thread(const char *name) {
#if defined(__linux__)
  prctl(PR_SET_NAME, name, 0, 0, 0);
#else
  (void)name;
#endif
}

/* ---- per-thread DynamoDB clients ---- */

static pthread_key_t client_key;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static dorm__streamer *client_owner;

static void client_free(void *p) { dorm_client_free(p); }
static void client_key_init(void) { pthread_key_create(&client_key, client_free); }

dorm_client *dorm__st_client(dorm__streamer *s) {
  pthread_once(&client_once, client_key_init);
  dorm_client *c = pthread_getspecific(client_key);
  if (c) return c;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = s->cfg.ddb_endpoint;
  cfg.region = s->cfg.region;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) {
    dorm__st_log("error", "client_failed", NULL, NULL, NULL, "%s", err);
    return NULL;
  }
  pthread_setspecific(client_key, c);
  (void)client_owner;
  return c;
}

static void client_release(void) {
  /* also on the early exits (bad flags, no keys): the key must exist before it is read */
  pthread_once(&client_once, client_key_init);
  dorm_client *c = pthread_getspecific(client_key);
  if (c) {
    dorm_client_free(c);
    pthread_setspecific(client_key, NULL);
  }
}

const dorm_endpoint_desc *dorm__st_endpoint(const dorm__streamer *s, const char *action) {
  for (size_t i = 0; i < s->nendpoints; i++)
    if (strcmp(s->endpoints[i]->name, action) == 0) return s->endpoints[i];
  return NULL;
}

/* ---- the job queue and the workers ---- */

/* An idle worker waits on its own condition variable until a job is handed
 * to it (idle_worker.job) or the server stops: a job pushed wakes exactly
 * one worker, and only when a worker may take something now (take_job's
 * rules), so nobody wakes to find nothing. A busy worker takes its next
 * job itself when it finishes one. */
typedef struct idle_worker {
  struct idle_worker *next;
  pthread_cond_t cv;
  dorm__st_job *job; /* handed over while it waited */
  bool woken;        /* taken off the idle list (a job, or stopping) */
} idle_worker;

static idle_worker *idle_workers; /* jobs_mu; LIFO: the most recently idle thread is the warmest */

static dorm__st_job *take_job(dorm__streamer *s);

/* Hands what may be taken now to idle workers, one job each (jobs_mu held). */
static void dispatch(dorm__streamer *s) {
  while (idle_workers) {
    dorm__st_job *job = take_job(s);
    if (!job) return;
    idle_worker *w = idle_workers;
    idle_workers = w->next;
    w->job = job;
    w->woken = true;
    pthread_cond_signal(&w->cv);
  }
}

/* Runs are queued fairly between users (start-time fair queueing): the
 * queue is ordered by round, a user's next run taking the round after its
 * user's last queued one, or the queue's current round (its head's) when
 * it has none queued; a run goes after the runs of its round. So a user's
 * first waiting run never waits behind another user's second, and one
 * user's runs keep their order. First come, first served made a
 * well-behaved client's job wait behind all of another's (100 jobs of 3 s
 * queued: 50 s; bench/streamer/abuse.sh many_ids). Keys are
 * "{sub}#{clientId}" (a sub holds no '#'). O(queue), which
 * --max-user-requests keeps to users x that. jobs_mu held. */
static void push_run(dorm__streamer *s, dorm__st_job *job) {
  const char *hash = strchr(job->request_pk, '#');
  size_t ulen = hash ? (size_t)(hash - job->request_pk) + 1 : strlen(job->request_pk);
  job->round = s->runs_head ? s->runs_head->round : 0;
  for (dorm__st_job *q = s->runs_head; q; q = q->next)
    if (strncmp(q->request_pk, job->request_pk, ulen) == 0) job->round = q->round + 1;
  dorm__st_job **p = &s->runs_head;
  while (*p && (*p)->round <= job->round) p = &(*p)->next;
  job->next = *p;
  *p = job;
  if (!job->next) s->runs_tail = job;
  s->runs_len++;
}

/* A worker is done with the RUN job it took (jobs_mu held). */
static void untake(dorm__streamer *s, dorm__st_job *job) {
  for (dorm__st_job **p = &s->runs_taken; *p; p = &(*p)->taken_next)
    if (*p == job) {
      *p = job->taken_next;
      return;
    }
}

/* For the router's per-user bound (--max-user-requests): queued runs and
 * the ones workers took (claiming it, or running its handler). Keys are
 * "{sub}#{clientId}" and a sub holds no '#', so the prefix names the user. */
size_t dorm__st_user_runs(dorm__streamer *s, const char *sub, size_t most) {
  size_t n = 0, len = strlen(sub);
  pthread_mutex_lock(&s->jobs_mu);
  for (dorm__st_job *j = s->runs_head; j && n < most; j = j->next)
    if (strncmp(j->request_pk, sub, len) == 0 && j->request_pk[len] == '#') n++;
  for (dorm__st_job *j = s->runs_taken; j && n < most; j = j->taken_next)
    if (strncmp(j->request_pk, sub, len) == 0 && j->request_pk[len] == '#') n++;
  pthread_mutex_unlock(&s->jobs_mu);
  return n;
}

void dorm__st_push_job(dorm__streamer *s, dorm__st_job *job) {
  if (!job->queued_ms) job->queued_ms = dorm__st_now_ms();
  pthread_mutex_lock(&s->jobs_mu);
  job->next = NULL;
  if (job->kind == DORM__JOB_RUN) {
    push_run(s, job);
  } else if (job->kind != DORM__JOB_MESSAGE) {
    if (s->conn_jobs_tail) s->conn_jobs_tail->next = job;
    else s->conn_jobs_head = job;
    s->conn_jobs_tail = job;
  } else {
    if (s->jobs_tail) s->jobs_tail->next = job;
    else s->jobs_head = job;
    s->jobs_tail = job;
    s->jobs_len++;
  }
  dispatch(s);
  pthread_mutex_unlock(&s->jobs_mu);
}

static void free_job(dorm__st_job *job) {
  if (job->first) free_job(job->first);
  free(job->text);
  dorm_arena_free(&job->arena);
  free(job);
}

void dorm__st_delivery_thread_end(void);

static void free_conn_chain(dorm__st_job *chain) {
  while (chain) {
    dorm__st_job *next = chain->next;
    chain->next = NULL;
    free_job(chain);
    chain = next;
  }
}

/* Connection items being written (jobs_mu; linked through `first`, which a
 * CONNECT/DISCONNECT job does not use otherwise): a client's message waits
 * until its connection's item is written (a processor elsewhere looks the
 * connection up to deliver), and a later event of one connection is not
 * written before an earlier one. conn_written_cv: a batch was written. */
static dorm__st_job *conns_writing;
static pthread_cond_t conn_written_cv = PTHREAD_COND_INITIALIZER;
static int conn_waiters; /* workers waiting on conn_written_cv */

static bool conn_writing(const char *conn_id) {
  for (dorm__st_job *w = conns_writing; w; w = w->first)
    if (strcmp(w->conn_id, conn_id) == 0) return true;
  return false;
}

/* Takes up to DORM__ST_CONN_BATCH connection events of distinct connections
 * (jobs_mu held): must (already out of the queue; may be NULL) first, then
 * the queued ones in order, skipping a connection already in the batch or
 * being written (its later events wait for the earlier one). Returns the
 * chain (through ->next), each marked as being written. */
static dorm__st_job *take_conn_batch(dorm__streamer *s, dorm__st_job *must) {
  dorm__st_job *head = NULL, **tail = &head;
  size_t n = 0;
  if (must) {
    must->next = NULL;
    *tail = must;
    tail = &must->next;
    n++;
  }
  dorm__st_job *prev = NULL, *q = s->conn_jobs_head;
  while (q && n < DORM__ST_CONN_BATCH) {
    dorm__st_job *next = q->next;
    bool skip = conn_writing(q->conn_id);
    for (dorm__st_job *b = head; b && !skip; b = b->next) skip = strcmp(b->conn_id, q->conn_id) == 0;
    if (skip) {
      prev = q;
    } else {
      if (prev) prev->next = next;
      else s->conn_jobs_head = next;
      if (s->conn_jobs_tail == q) s->conn_jobs_tail = prev;
      q->next = NULL;
      *tail = q;
      tail = &q->next;
      n++;
    }
    q = next;
  }
  for (dorm__st_job *b = head; b; b = b->next) {
    b->first = conns_writing;
    conns_writing = b;
  }
  return head;
}

/* Whether the queued connection events should be written now (jobs_mu
 * held): a client that left (DISCONNECT) waits up to GONE_GATHER_MS for
 * others to share its write (they leave one by one as their jobs end: one
 * call each otherwise; the poller's tick, dorm__st_kick_conn_jobs, takes it
 * after that); anything else, a full batch, or stopping: at once. Marking a
 * connection gone a little later only lets a processor elsewhere try it
 * once more (410). */
#define GONE_GATHER_MS 100
static bool conn_jobs_ready(dorm__streamer *s) {
  if (atomic_load(&s->stopping)) return true;
  size_t n = 0;
  int64_t now = dorm__st_now_ms();
  for (dorm__st_job *q = s->conn_jobs_head; q; q = q->next)
    if (q->kind != DORM__JOB_DISCONNECT || now - q->queued_ms >= GONE_GATHER_MS || ++n >= DORM__ST_CONN_BATCH)
      return true;
  return false;
}

void dorm__st_kick_conn_jobs(dorm__streamer *s) {
  pthread_mutex_lock(&s->jobs_mu);
  if (s->conn_jobs_head) dispatch(s);
  pthread_mutex_unlock(&s->jobs_mu);
}

/* The chain's items are written (jobs_mu held): no longer marked. */
static void conn_batch_written(dorm__streamer *s, dorm__st_job *chain) {
  for (dorm__st_job *b = chain; b; b = b->next) {
    dorm__st_job **pp = &conns_writing;
    while (*pp && *pp != b) pp = &(*pp)->first;
    if (*pp) *pp = b->first;
    b->first = NULL;
  }
  if (conn_waiters) pthread_cond_broadcast(&conn_written_cv);
  /* events skipped while these were written may be taken now (the caller
   * takes its own next job itself: this is for idle workers) */
  if (s->conn_jobs_head) dispatch(s);
}

/* The next job for a worker (jobs_mu held): client messages first, so an ack
 * never waits behind long jobs nor behind the connection items of a crowd
 * that just connected (connects and disconnects, in their order, come
 * next); a job run only while a quarter of the workers (at least one) stays
 * free for messages (a RUN taken counts in runs_active at once). */
static dorm__st_job *take_job(dorm__streamer *s) {
  int reserve = s->nworkers / 4 > 0 ? s->nworkers / 4 : 1;
  bool may_run = (s->nworkers <= 1 || s->runs_active < s->nworkers - reserve) && !atomic_load(&s->draining);
  dorm__st_job *job = s->jobs_head;
  if (job) {
    s->jobs_head = job->next;
    if (!s->jobs_head) s->jobs_tail = NULL;
    s->jobs_len--;
    /* its connection's item is written first when it still waits (a
     * processor elsewhere looks the connection up to deliver), with the
     * items of others that wait (one batch for a crowd that connected) */
    dorm__st_job *prev = NULL;
    for (dorm__st_job *q = s->conn_jobs_head; q; prev = q, q = q->next)
      if (q->kind == DORM__JOB_CONNECT && strcmp(q->conn_id, job->conn_id) == 0) {
        if (prev) prev->next = q->next;
        else s->conn_jobs_head = q->next;
        if (s->conn_jobs_tail == q) s->conn_jobs_tail = prev;
        job->first = take_conn_batch(s, q);
        break;
      }
    return job;
  }
  if (s->conn_jobs_head && conn_jobs_ready(s) && (job = take_conn_batch(s, NULL)) != NULL) return job;
  if (!may_run || !s->runs_head) return NULL;
  job = s->runs_head;
  s->runs_head = job->next;
  if (!s->runs_head) s->runs_tail = NULL;
  s->runs_len--;
  s->runs_active++; /* counted when taken: a job handed to a waking worker counts at once */
  job->taken_next = s->runs_taken;
  s->runs_taken = job;
  return job;
}

/* Wakes every idle worker: the server stops (jobs_mu held). */
static void wake_idle_workers(void) {
  while (idle_workers) {
    idle_worker *w = idle_workers;
    idle_workers = w->next;
    w->woken = true;
    pthread_cond_signal(&w->cv);
  }
}

static void *worker_main(void *arg) {
  dorm__streamer *s = arg;
  idle_worker me = {0};
  pthread_cond_init(&me.cv, NULL);
  dorm__st_name_thread("st-worker");
  for (;;) {
    pthread_mutex_lock(&s->jobs_mu);
    dorm__st_job *job = take_job(s);
    while (!job && !atomic_load(&s->stopping)) {
      me.job = NULL;
      me.woken = false;
      me.next = idle_workers;
      idle_workers = &me;
      while (!me.woken) pthread_cond_wait(&me.cv, &s->jobs_mu);
      job = me.job;
      me.job = NULL;
    }
    if (!job) job = take_job(s); /* stopping: what is left (runs are freed below) */
    /* more that may be taken now (a run this thread's last one made room
     * for, while it took a message): to idle workers */
    if (job) dispatch(s);
    /* a message whose connection's item another worker is writing waits for it */
    while (job && job->kind == DORM__JOB_MESSAGE && !job->first && conn_writing(job->conn_id)) {
      conn_waiters++;
      pthread_cond_wait(&conn_written_cv, &s->jobs_mu);
      conn_waiters--;
    }
    pthread_mutex_unlock(&s->jobs_mu);
    if (!job) break; /* stopping and nothing left */
    if (atomic_load(&s->stopping) && job->kind == DORM__JOB_RUN) {
      pthread_mutex_lock(&s->jobs_mu);
      untake(s, job);
      s->runs_active--;
      pthread_mutex_unlock(&s->jobs_mu);
      free_job(job); /* not started: another processor (or the next start) runs it */
      continue;
    }
    bool run = job->kind == DORM__JOB_RUN;
    dorm__st_job *conns = job->kind == DORM__JOB_MESSAGE ? job->first : job->kind != DORM__JOB_RUN ? job : NULL;
    if (conns) {
      dorm__st_route_connections(s, conns);
      pthread_mutex_lock(&s->jobs_mu);
      conn_batch_written(s, conns);
      pthread_mutex_unlock(&s->jobs_mu);
      job->first = NULL;
      if (conns != job) free_conn_chain(conns);
    }
    if (run) dorm__st_run_request(s, job->request_pk, job->queued_ms);
    else if (job->kind == DORM__JOB_MESSAGE) dorm__st_route(s, job);
    if (job->counted) dorm__srv_message_done(s, job);
    if (run) {
      /* a waiting run may start now: this thread takes it itself at the
       * top of the loop (no other worker is woken for it) */
      pthread_mutex_lock(&s->jobs_mu);
      untake(s, job);
      s->runs_active--;
      pthread_mutex_unlock(&s->jobs_mu);
    }
    if (conns == job) free_conn_chain(job);
    else free_job(job);
  }
  pthread_cond_destroy(&me.cv);
  dorm__st_delivery_thread_end();
  client_release();
  return NULL;
}

static void *poller_thread(void *arg) {
  dorm__st_name_thread("st-poller");
  void *r = dorm__st_poller_main(arg);
  client_release();
  return r;
}

/* ---- flags ---- */

static const char USAGE[] =
    "usage: %s [options]\n"
    "Runs the streamer locally: WebSocket endpoints on 127.0.0.1, jobs stored in DynamoDB.\n"
    "  --port P                   listen on 127.0.0.1:P (0: any free port; default 8080)\n"
    "  --ddb-endpoint URL         DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB, then AWS)\n"
    "  --region R                 AWS region (default: AWS_REGION, then us-east-1 locally)\n"
    "  --create-tables            create the streamer's tables when missing\n"
    "  --jwt-hs256-secret-file F  HS256 secret\n"
    "  --jwt-public-key-file PEM  RS256/ES256 public key\n"
    "  --jwks-file F              JWKS (the token's kid picks the key)\n"
    "  --jwt-issuer I             required iss\n"
    "  --jwt-audience A           required aud\n"
    "  --jwt-leeway S             clock leeway in seconds (default 60)\n"
    "  --workers N                job threads (default 8)\n"
    "  --progress-interval-ms N   at most one progress message per N ms per job (default 50)\n"
    "  --lease-ms N               processor lease (default 15000)\n"
    "  --poll-ms N                how often the processor looks for work (default 100)\n"
    "  --max-attempts N           attempts of a retryable failure (default 3)\n"
    "  --server-url URL           this server's management API as other processes reach it\n"
    "  --no-processor             accept requests but run no jobs here\n"
    "  --sync-progress            a job's thread stores each progress itself before report() returns\n"
    "                             (default: a writer thread stores it and delivers it while the handler goes on)\n"
    "  --async-progress           the default (accepted for older scripts; --sync-progress wins)\n"
    "  --shutdown-grace-ms N      on SIGTERM/SIGINT, running jobs have N ms to finish, then give their\n"
    "                             requests back to other processors (default 10000; a second signal: at once)\n"
    "  --dev-token SUB            print a development token for SUB (HS256, from the secret file) and exit\n"
    "  --web DIR                  serve DIR's files over HTTP on the same port (GET / is DIR/index.html)\n"
    "  --management-endpoint URL  on AWS Lambda: API Gateway's management API (default: from the event,\n"
    "                             https://{domainName}/{stage})\n"
    "  --max-inflight N           messages of one connection queued or in work; more are answered\n"
    "                             RATE_LIMITED (retryable) (default 32)\n"
    "  --max-connections N        WebSocket connections of this server; more are refused with HTTP 503\n"
    "                             (default 10000)\n"
    "  --max-user-requests N      one user's async requests queued or running on this server; a new one\n"
    "                             past it is answered RATE_LIMITED (retryable) (default 10000; 0: no bound)\n"
    "  --max-user-connections N   one user's WebSocket connections to this server; more are refused with\n"
    "                             HTTP 429 (default 2000; 0: no bound)\n"
    "  --max-user-connects-per-minute N  one user's new connections a minute (a burst of N, then N a minute);\n"
    "                             more are refused with HTTP 429 (default 2000; 0: no bound)\n"
    "Every flag has an environment twin: DORM_STREAMER_<FLAG> (e.g. DORM_STREAMER_JWT_ISSUER).\n";

typedef struct flag {
  const char *name;
  bool boolean;
  const char **str;
  long *num;
  bool *flag;
} flag;

static const char *env_twin(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "DORM_STREAMER_");
  size_t n = strlen(buf);
  for (const char *p = name; *p && n + 1 < cap; p++) buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
  buf[n] = '\0';
  return getenv(buf);
}

static bool parse_long(const char *v, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) return false;
  *out = x;
  return true;
}

/* base64url without padding of in[0..n) into out (NUL-terminated). */
static void b64url(const void *in, size_t n, char *out) {
  size_t len = dorm__b64_encode(in, n, out, DORM_B64_URL);
  while (len && out[len - 1] == '=') len--;
  out[len] = '\0';
}

/* The scope claim of a development token: every scope an endpoint served
 * here requires, each once, space-separated (cJSON-owned by the caller's
 * claims object). */
static void add_dev_scopes(cJSON *claims, const dorm_endpoint_desc *const *endpoints, size_t nendpoints) {
  dorm__buf b;
  dorm__buf_init(&b, DORM__BUF_UNBOUNDED);
  for (size_t i = 0; i < nendpoints; i++)
    for (uint32_t k = 0; k < endpoints[i]->nscopes; k++) {
      const char *sc = endpoints[i]->scopes[k];
      bool seen = false;
      for (size_t j = 0; j <= i && !seen; j++)
        for (uint32_t l = 0; l < (j < i ? endpoints[j]->nscopes : k) && !seen; l++)
          seen = strcmp(endpoints[j]->scopes[l], sc) == 0;
      if (seen) continue;
      if (b.len) dorm__buf_putc(&b, ' ');
      dorm__buf_puts(&b, sc);
    }
  cJSON_AddStringToObject(claims, "scope", dorm__buf_ok(&b) ? dorm__buf_text(&b) : "");
  dorm__buf_free(&b);
}

/* --dev-token SUB: an HS256 token for local development, signed with the
 * configured secret (the scopes of every endpoint served, valid 12 hours).
 * Never for production: whoever has the secret file can mint any
 * identity. */
/* Why the program could not start, for Lambda's init error (the log line
 * on stderr is not what the console shows first). No secrets: flags, paths
 * and the client's messages. */
static char startup_error[512];

static void startup_fail(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void startup_fail(const char *prog, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(startup_error, sizeof startup_error, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: %s\n", prog, startup_error);
}

static int print_dev_token(const char *prog, const char *secret_file, const char *sub, const char *iss,
                           const char *aud, const dorm_endpoint_desc *const *endpoints, size_t nendpoints) {
  if (!secret_file) {
    fprintf(stderr, "%s: --dev-token needs --jwt-hs256-secret-file\n", prog);
    return 2;
  }
  FILE *f = fopen(secret_file, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot read %s: %s\n", prog, secret_file, strerror(errno));
    return 2;
  }
  unsigned char secret[4096];
  size_t n = fread(secret, 1, sizeof secret, f);
  fclose(f);
  /* as the verifier reads the file (jwt.c): less one trailing newline */
  if (n && secret[n - 1] == '\n') n--;
  if (n && secret[n - 1] == '\r') n--;
  cJSON *claims = cJSON_CreateObject();
  long now = (long)(dorm__st_now_ms() / 1000);
  cJSON_AddStringToObject(claims, "sub", sub);
  cJSON_AddStringToObject(claims, "tenant_id", "dev");
  add_dev_scopes(claims, endpoints, nendpoints);
  cJSON_AddNumberToObject(claims, "iat", (double)now);
  cJSON_AddNumberToObject(claims, "exp", (double)(now + 12 * 3600));
  if (iss) cJSON_AddStringToObject(claims, "iss", iss);
  if (aud) cJSON_AddStringToObject(claims, "aud", aud);
  char *payload = cJSON_PrintUnformatted(claims);
  cJSON_Delete(claims);
  static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  size_t plen = payload ? strlen(payload) : 0;
  char *token = malloc(2 * (sizeof header + plen) + 200);
  if (!payload || !token) {
    free(token);
    cJSON_free(payload);
    return 1;
  }
  b64url(header, sizeof header - 1, token);
  strcat(token, ".");
  b64url(payload, plen, token + strlen(token));
  cJSON_free(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), secret, (int)n, (const unsigned char *)token, strlen(token), mac, &maclen);
  OPENSSL_cleanse(secret, sizeof secret);
  strcat(token, ".");
  b64url(mac, maclen, token + strlen(token));
  printf("%s\n", token);
  free(token);
  return 0;
}

/* Without --create-tables, a local server checks at start that the
 * streamer's tables exist, so that a missing one stops it with what to do
 * instead of every async request being answered INTERNAL later. A failure
 * that is not an answer about the table (credentials, network, throttling)
 * is logged and the server starts: DynamoDB may be back by the first
 * request. */
/* Without --create-tables the tables must exist already. A missing one is
 * said at start, on stderr and in the log, but the server still starts:
 * sync endpoints need no table, and a deployment may create the tables
 * after its servers (examples/streamer's flags are a contract: starting
 * must not depend on them). Async calls are refused INTERNAL meanwhile. */
static void check_tables(const char *prog, dorm_client *c) {
  const char *names[] = {dorm_streamer_Connection_table.def.name, dorm_streamer_Request_table.def.name,
                         dorm_streamer_Message_table.def.name};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_table_description t;
    dorm_status st = dorm_describe_table(c, names[i], &a, &t);
    dorm_arena_free(&a);
    if (st == DORM_ERR_TABLE_NOT_FOUND) {
      fprintf(stderr,
              "%s: warning: the streamer's table %s does not exist: async endpoints fail until it does; start with "
              "--create-tables (development), or create the tables from schemas/streamer.dorm with migrations "
              "(docs/streamer.md)\n",
              prog, names[i]);
      dorm__st_log("warn", "table_missing", NULL, NULL, NULL, "table %s does not exist", names[i]);
    } else if (st != DORM_OK) {
      dorm__st_log("warn", "tables_unchecked", NULL, NULL, NULL, "table %s: %s", names[i], dorm_client_errmsg(c));
      return;
    }
  }
}

static volatile sig_atomic_t got_signal;
static dorm__streamer *running_streamer;
/* The verifier's errors name its configuration's fields ("hs256_secret_file
 * F: cannot read: ..."); the user gave a flag, so the flag is named. */
static const char *jwt_error_as_flag(const char *err, char *out, size_t cap) {
  static const char *const names[][2] = {
      {"hs256_secret_file ", "--jwt-hs256-secret-file "},
      {"public_key_file ", "--jwt-public-key-file "},
      {"jwks_file ", "--jwks-file "},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i][0]);
    if (strncmp(err, names[i][0], n) != 0) continue;
    snprintf(out, cap, "%s%s", names[i][1], err + n);
    return out;
  }
  return err;
}

/* The first signal drains (the poller runs dorm__st_drain); a second one, or
 * a server without a poller, stops at once. */
static void on_signal(int sig) {
  (void)sig;
  got_signal++;
  if (!running_streamer) return;
  if (got_signal == 1 && running_streamer->poller_started) atomic_store(&running_streamer->draining, true);
  else dorm__srv_stop(running_streamer);
}

int dorm_streamer_main(int argc, char **argv, const dorm_endpoint_desc *const *endpoints, size_t nendpoints) {
  dorm__streamer *s = calloc(1, sizeof *s);
  if (!s) return 1;
  const char *prog = argc > 0 ? argv[0] : "streamer";
  long port = 8080, workers = 8, interval = 50, lease = 15000, poll = 100, attempts = 3, leeway = 60,
       grace = 10000, max_inflight = 32, max_connections = 10000,
       max_user_requests = 10000, max_user_connections = 2000, max_user_connects = 2000;
  const char *ddb = NULL, *region = NULL, *secret = NULL, *pem = NULL, *jwks = NULL, *iss = NULL, *aud = NULL,
             *server_url = NULL, *dev_token = NULL, *web = NULL, *management = NULL;
  bool create = false, no_processor = false, async_progress = true, sync_progress = false;
  flag flags[] = {
      {"port", false, NULL, &port, NULL},
      {"ddb-endpoint", false, &ddb, NULL, NULL},
      {"region", false, &region, NULL, NULL},
      {"create-tables", true, NULL, NULL, &create},
      {"jwt-hs256-secret-file", false, &secret, NULL, NULL},
      {"jwt-public-key-file", false, &pem, NULL, NULL},
      {"jwks-file", false, &jwks, NULL, NULL},
      {"jwt-issuer", false, &iss, NULL, NULL},
      {"jwt-audience", false, &aud, NULL, NULL},
      {"jwt-leeway", false, NULL, &leeway, NULL},
      {"workers", false, NULL, &workers, NULL},
      {"progress-interval-ms", false, NULL, &interval, NULL},
      {"lease-ms", false, NULL, &lease, NULL},
      {"poll-ms", false, NULL, &poll, NULL},
      {"max-attempts", false, NULL, &attempts, NULL},
      {"server-url", false, &server_url, NULL, NULL},
      {"no-processor", true, NULL, NULL, &no_processor},
      {"async-progress", true, NULL, NULL, &async_progress},
      {"sync-progress", true, NULL, NULL, &sync_progress},
      {"shutdown-grace-ms", false, NULL, &grace, NULL},
      {"dev-token", false, &dev_token, NULL, NULL},
      {"web", false, &web, NULL, NULL},
      {"management-endpoint", false, &management, NULL, NULL},
      {"max-inflight", false, NULL, &max_inflight, NULL},
      {"max-connections", false, NULL, &max_connections, NULL},
      {"max-user-requests", false, NULL, &max_user_requests, NULL},
      {"max-user-connections", false, NULL, &max_user_connections, NULL},
      {"max-user-connects-per-minute", false, NULL, &max_user_connects, NULL},
  };
  size_t nflags = sizeof flags / sizeof flags[0];
  /* environment twins first, then the command line */
  for (size_t i = 0; i < nflags; i++) {
    char name[96];
    const char *v = env_twin(flags[i].name, name, sizeof name);
    if (!v) continue;
    if (flags[i].boolean) *flags[i].flag = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
    else if (flags[i].str) *flags[i].str = v;
    else if (!parse_long(v, 0, 100000000, flags[i].num)) {
      startup_fail(prog, "%s must be a number, not '%s'", name, v);
      free(s);
      return 2;
    }
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf(USAGE, prog);
      free(s);
      return 0;
    }
    size_t k = 0;
    for (; k < nflags; k++)
      if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, flags[k].name) == 0) break;
    if (k == nflags) {
      startup_fail(prog, "unknown option '%s'", argv[i]);
      fprintf(stderr, USAGE, prog);
      free(s);
      return 2;
    }
    if (flags[k].boolean) {
      *flags[k].flag = true;
      continue;
    }
    if (i + 1 >= argc) {
      startup_fail(prog, "--%s needs a value", flags[k].name);
      free(s);
      return 2;
    }
    const char *v = argv[++i];
    if (flags[k].str) *flags[k].str = v;
    else if (!parse_long(v, 0, 100000000, flags[k].num)) {
      startup_fail(prog, "--%s needs a number, not '%s'", flags[k].name, v);
      free(s);
      return 2;
    }
  }
  if (port > 65535 || workers < 1 || workers > 256 || attempts < 1) {
    startup_fail(prog, "--port 0..65535, --workers 1..256, --max-attempts >= 1");
    free(s);
    return 2;
  }
  if (dev_token) {
    free(s);
    return print_dev_token(prog, secret, dev_token, iss, aud, endpoints, nendpoints);
  }
  if (!region && !getenv("AWS_REGION") && !getenv("AWS_DEFAULT_REGION")) region = "us-east-1";

  /* On AWS Lambda (a custom runtime: bootstrap), the events come from the
   * Runtime API and the configuration from the environment twins. */
  const char *rt_api = getenv("AWS_LAMBDA_RUNTIME_API");
  s->lambda = rt_api && rt_api[0];
  s->cfg.port = (int)port;
  s->cfg.ddb_endpoint = ddb;
  s->cfg.region = region;
  s->cfg.create_tables = create;
  s->cfg.workers = (int)workers;
  s->cfg.progress_interval_ms = interval;
  s->cfg.max_inflight = max_inflight ? max_inflight : 1;
  s->cfg.max_connections = max_connections ? max_connections : 1;
  s->cfg.max_user_requests = max_user_requests;
  s->cfg.max_user_connections = max_user_connections;
  s->cfg.max_user_connects = max_user_connects;
  s->cfg.lease_ms = lease;
  s->cfg.poll_ms = poll > 0 ? poll : 100;
  s->cfg.max_attempts = (int)attempts;
  s->cfg.no_processor = no_processor;
  s->cfg.async_progress = async_progress && !sync_progress;
  s->cfg.shutdown_grace_ms = grace;
  s->cfg.web_dir = web && web[0] ? web : NULL;
  s->cfg.management_endpoint = management && management[0] ? management : NULL;
  s->cfg.jwt.hs256_secret_file = secret;
  s->cfg.jwt.public_key_file = pem;
  s->cfg.jwt.jwks_file = jwks;
  s->cfg.jwt.issuer = iss;
  s->cfg.jwt.audience = aud;
  s->cfg.jwt.leeway_s = leeway > 0 ? leeway : -1; /* --jwt-leeway 0: none (0 in the config means 60 s) */
  s->endpoints = endpoints;
  s->nendpoints = nendpoints;
  if (server_url) snprintf(s->server_url, sizeof s->server_url, "%s", server_url);
  /* getrandom, not RAND_bytes: an id needs no DRBG, and instantiating
   * OpenSSL's costs a third of a Lambda cold start (bench/lambda) */
  unsigned char raw[8];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
    uint64_t x = (uint64_t)dorm__st_now_ms() ^ ((uint64_t)getpid() << 32);
    memcpy(raw, &x, sizeof raw);
  }
  snprintf(s->server_id, sizeof s->server_id, "streamer-%d-", (int)getpid());
  dorm__hex_encode(raw, sizeof raw, s->server_id + strlen(s->server_id));
  dorm__st_metrics_init(&s->metrics);
  pthread_mutex_init(&s->jobs_mu, NULL);
  pthread_mutex_init(&s->running_mu, NULL);
  pthread_mutex_init(&s->conns_mu, NULL);

  int rc = 0;
  char err[512];
  if (!secret && !pem && !jwks) {
    startup_fail(prog, "no JWT keys: give --jwt-hs256-secret-file, --jwt-public-key-file or --jwks-file");
    rc = 2;
    goto out;
  }
  if (s->cfg.web_dir && !dorm__st_web_dir_ok(s->cfg.web_dir, err, sizeof err)) {
    startup_fail(prog, "%s", err);
    rc = 2;
    goto out;
  }
  if (dorm_jwt_verifier_new(&s->cfg.jwt, &s->jwt, err, sizeof err) != DORM_OK) {
    char shown[sizeof err + 32];
    startup_fail(prog, "%s", jwt_error_as_flag(err, shown, sizeof shown));
    rc = 2;
    goto out;
  }
  /* On Lambda without --create-tables the first event makes the client
   * (dorm__st_client is lazy): nothing at init delays the first next. */
  dorm_client *c = create || !s->lambda ? dorm__st_client(s) : NULL;
  if (!c && (create || !s->lambda)) {
    rc = 1;
    goto out;
  }
  if (create) {
    dorm_status st;
    if ((st = dorm_streamer_Connection_table_ensure(c, 60000)) != DORM_OK ||
        (st = dorm_streamer_Request_table_ensure(c, 60000)) != DORM_OK ||
        (st = dorm_streamer_Message_table_ensure(c, 60000)) != DORM_OK) {
      startup_fail(prog, "creating the streamer's tables: %s", dorm_client_errmsg(c));
      rc = 1;
      goto out;
    }
  }
  if (!create && !s->lambda) check_tables(prog, c);
  if (s->lambda) {
    rc = dorm__st_lambda_run(s); /* lambda.c: the Runtime API loop instead of a server */
    goto out;
  }
  /* the port first: a busy one stops the program before any job is claimed */
  if (!dorm__srv_listen(s, err, sizeof err)) {
    startup_fail(prog, "%s", err);
    rc = 1;
    goto out;
  }
  s->workers = calloc((size_t)workers, sizeof *s->workers);
  if (!s->workers) {
    rc = 1;
    goto out;
  }
  for (int i = 0; i < workers; i++) {
    if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) break;
    s->nworkers++;
  }
  /* messages stored without a thread waiting (progress, acks): store.c */
  dorm__st_writers_start(s);
  /* the poller also releases messages that waited too long for an older seq,
   * so it runs with --no-processor too (then it claims nothing) */
  if (pthread_create(&s->poller, NULL, poller_thread, s) == 0) s->poller_started = true;

  running_streamer = s;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  rc = dorm__srv_run(s);
  dorm__st_log("info", "stopping", NULL, NULL, NULL, "shutting down");

  atomic_store(&s->stopping, true);
  pthread_mutex_lock(&s->jobs_mu);
  wake_idle_workers();
  pthread_mutex_unlock(&s->jobs_mu);
  for (int i = 0; i < s->nworkers; i++) pthread_join(s->workers[i], NULL);
  if (s->poller_started) pthread_join(s->poller, NULL);
  dorm__st_writers_stop();
  /* acks sent but not stored yet (the poller writes them every interval) */
  dorm_client *fc = dorm__st_client(s);
  if (fc) dorm__st_flush_later(fc, true);
  dorm__srv_destroy(s);
  running_streamer = NULL;
out:
  if (s->lambda && rc != 0)
    dorm__st_lambda_init_error(startup_error[0] ? startup_error : "the streamer could not start: see the log");
  /* jobs queued by the last closes */
  for (dorm__st_job *j = s->jobs_head, *n; j; j = n) {
    n = j->next;
    free_job(j);
  }
  for (dorm__st_job *j = s->runs_head, *n; j; j = n) {
    n = j->next;
    free_job(j);
  }
  for (dorm__st_job *j = s->conn_jobs_head, *n; j; j = n) {
    n = j->next;
    free_job(j);
  }
  dorm__srv_destroy(s); /* a context listening when a later step failed (no-op after the run) */
  dorm__st_delivery_thread_end();
  client_release();
  dorm_jwt_verifier_free(s->jwt);
  free(s->workers);
  pthread_mutex_destroy(&s->jobs_mu);
  pthread_mutex_destroy(&s->running_mu);
  pthread_mutex_destroy(&s->conns_mu);
  pthread_mutex_destroy(&s->metrics.mu);
  free(s);
  return rc;
}
