/* poller: finds the requests this process should run, and watches the
 * ones its connections follow.
 *
 * It reads the requests table's DynamoDB stream (new PENDING requests, from
 * any server; changes to requests whose lease this process holds: cancel,
 * the client on another connection, status asks) and, as a safety net
 * every ten polls, sweeps the "by-live" index (each shard) for PENDING
 * requests whose backoff is over (retries, and work older than this
 * process) and PROCESSING ones whose lease expired (their processor died).
 * A request found twice is harmless: the claim is conditional
 * (processor.c). It also catches up requests that ended without their end
 * reaching a connection of this server, flushes acks stored after they
 * were sent, and drains on SIGTERM. */
#include "streamer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A RUN job for the request; once_here: not when it waits or runs here
 * already (the sweep's finds; a record the stream delivers twice still
 * makes two jobs, and the claim lets one run). */
static void enqueue_run(dorm__streamer *s, const char *sub, const char *client_id, bool once_here) {
  char pk[300];
  if (!dorm__st_request_pk(sub, client_id, pk)) {
    dorm__st_log("error", "key_too_long", client_id, NULL, NULL, "request key longer than 299 bytes: not run");
    return;
  }
  if (once_here && dorm__st_queued_or_running(s, pk)) return;
  dorm__st_job *job = calloc(1, sizeof *job);
  if (!job) return;
  job->kind = DORM__JOB_RUN;
  memcpy(job->request_pk, pk, sizeof pk);
  job->queued_ms = dorm__st_now_ms();
  dorm__st_push_job(s, job);
}

/* ---- the stream reader ---- */

/* Whether set attribute `name` of the new image holds an element the old
 * one has not. */
static bool set_grew(const dorm_stream_record *rec, const char *name) {
  const dorm_str *nw, *old = NULL;
  size_t nn = 0, no = 0;
  if (dorm_av_get_set(dorm_av_map_get(&rec->new_image, name), DORM_AV_SS, &nw, &nn) != DORM_OK) return false;
  if (rec->has_old_image) dorm_av_get_set(dorm_av_map_get(&rec->old_image, name), DORM_AV_SS, &old, &no);
  for (size_t i = 0; i < nn; i++) {
    bool known = false;
    for (size_t k = 0; k < no && !known; k++)
      known = old[k].len == nw[i].len && memcmp(old[k].ptr, nw[i].ptr, nw[i].len) == 0;
    if (!known) return true;
  }
  return false;
}

/* A PROCESSING request whose lease this process holds, changed by someone
 * else (a router here or in another process): cancelled, its client on
 * another connection, or a status asked for. Its job checks in at once
 * instead of at its next periodic check-in (docs/streamer.md, "Seqs"). Our
 * own writes change none of these. */
static void on_leased_change(dorm__streamer *s, const dorm_stream_record *rec) {
  if (rec->event != DORM_STREAM_MODIFY || !rec->has_old_image) return;
  dorm_str owner, pk;
  if (dorm_av_get_s(dorm_av_map_get(&rec->new_image, "leaseOwner"), &owner) != DORM_OK ||
      owner.len != strlen(s->server_id) || memcmp(owner.ptr, s->server_id, owner.len) != 0)
    return;
  bool cancel = false, was = false;
  dorm_av_get_bool(dorm_av_map_get(&rec->new_image, "cancelRequested"), &cancel);
  dorm_av_get_bool(dorm_av_map_get(&rec->old_image, "cancelRequested"), &was);
  const dorm_av *c1 = dorm_av_map_get(&rec->new_image, "connectionId");
  const dorm_av *c0 = dorm_av_map_get(&rec->old_image, "connectionId");
  bool moved = c1 && c0 && !dorm_av_equal(c1, c0);
  if (!(cancel && !was) && !moved && !set_grew(rec, "asks")) return;
  if (dorm_av_get_s(dorm_av_map_get(&rec->keys, "PK"), &pk) != DORM_OK || pk.len >= 300) return;
  char request_pk[300];
  memcpy(request_pk, pk.ptr, pk.len);
  request_pk[pk.len] = '\0';
  dorm__st_recheck_running(s, request_pk);
}

bool dorm__st_on_stream_record(dorm__streamer *s, const dorm_stream_record *rec, dorm_arena *a) {
  if (!rec->has_new_image || rec->event == DORM_STREAM_REMOVE) return false;
  /* Most records are a running job's own updates (check-ins, the outcome):
   * only PENDING ones are read in full. */
  dorm_str status;
  if (dorm_av_get_s(dorm_av_map_get(&rec->new_image, "status"), &status) == DORM_OK &&
      !(status.len == 7 && memcmp(status.ptr, "PENDING", 7) == 0)) {
    if (status.len == 10 && memcmp(status.ptr, "PROCESSING", 10) == 0) on_leased_change(s, rec);
    return false;
  }
  dorm_streamer_Request req;
  char err[256];
  if (dorm_streamer_Request_from_item(&rec->new_image, 0, a, &req, err, sizeof err) != DORM_OK) {
    /* a bad write or another runtime's item: it would run nothing and say
     * nothing (on Lambda, lambda_events.c fails the record before this) */
    dorm__st_log("error", "bad_stream_record", NULL, NULL, NULL, "a PENDING request the processor cannot read: %s", err);
    return false;
  }
  /* (one with a cancel asked is claimed too: the claim ends it CANCELLED) */
  if (req.status != DORM_STREAMER_REQUEST_STATUS_PENDING) return false;
  /* A new request of a client connected here was queued by our router
   * already: a second job would only fail its claim. */
  if (req.attempts == 0 && rec->event == DORM_STREAM_INSERT && dorm__srv_holds(s, req.connectionId)) return false;
  enqueue_run(s, req.sub, req.clientId, false);
  return true;
}

/* One shard of the requests table's stream and where we are in it. */
typedef struct shard_pos {
  char *shard_id;
  char *iterator; /* NULL: closed and read to its end */
} shard_pos;

typedef struct stream_reader {
  char *arn;
  shard_pos *shards;
  size_t n;
  int64_t described_ms;
} stream_reader;

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static void reader_free(stream_reader *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->shards[i].shard_id);
    free(r->shards[i].iterator);
  }
  free(r->shards);
  free(r->arn);
  memset(r, 0, sizeof *r);
}

/* Learns the stream's shards (new ones start at TRIM_HORIZON, so a split
 * loses nothing; at start-up every shard starts LATEST: older work is found
 * by the index sweep). */
static void reader_describe(stream_reader *r, dorm_client *c, bool first) {
  dorm_arena a = DORM_ARENA_INIT;
  if (!r->arn) {
    dorm_table_description t;
    if (dorm_describe_table(c, dorm_streamer_Request_table.def.name, &a, &t) == DORM_OK && t.stream_arn[0])
      r->arn = dup0(t.stream_arn);
  }
  dorm_stream_description d;
  if (r->arn && dorm_streams_describe(c, r->arn, &a, &d) == DORM_OK) {
    for (size_t i = 0; i < d.shard_count; i++) {
      bool known = false;
      for (size_t k = 0; k < r->n; k++)
        if (strcmp(r->shards[k].shard_id, d.shards[i].shard_id) == 0) known = true;
      if (known) continue;
      bool closed = d.shards[i].ending_sequence_number[0] != '\0';
      if (first && closed) continue; /* history: the sweep covers it */
      const char *it = NULL;
      if (dorm_streams_shard_iterator(c, r->arn, d.shards[i].shard_id,
                                      first ? DORM_ITERATOR_LATEST : DORM_ITERATOR_TRIM_HORIZON, NULL, &a,
                                      &it) != DORM_OK)
        continue;
      shard_pos *p = realloc(r->shards, (r->n + 1) * sizeof *p);
      if (!p) break;
      r->shards = p;
      r->shards[r->n].shard_id = dup0(d.shards[i].shard_id);
      r->shards[r->n].iterator = dup0(it);
      r->n++;
    }
  }
  r->described_ms = dorm__st_now_ms();
  dorm_arena_free(&a);
}

/* A new iterator at TRIM_HORIZON for shard i (its old one was refused);
 * false when none could be taken. */
static bool renew_iterator(stream_reader *r, dorm_client *c, size_t i, dorm_arena *a) {
  const char *it = NULL;
  if (dorm_streams_shard_iterator(c, r->arn, r->shards[i].shard_id, DORM_ITERATOR_TRIM_HORIZON, NULL, a, &it) !=
          DORM_OK ||
      !it)
    return false;
  char *copy = dup0(it);
  if (!copy) return false;
  free(r->shards[i].iterator);
  r->shards[i].iterator = copy;
  return true;
}

/* Reads every shard once; PENDING requests in new images become jobs. A
 * record read twice (or a job also found by the sweep) is harmless: the claim
 * is a conditional update. */
static void reader_poll(dorm__streamer *s, stream_reader *r, dorm_client *c) {
  char why[512];
  for (size_t i = 0; i < r->n; i++) {
    if (!r->shards[i].iterator) continue;
    dorm_arena a = DORM_ARENA_INIT;
    dorm_stream_record *recs = NULL;
    size_t n = 0;
    const char *next = NULL;
    dorm_status st = dorm_streams_get_records(c, r->shards[i].iterator, 100, &a, &recs, &n, &next);
    bool renewed = false;
    if (st == DORM_ERR_BAD_CURSOR && snprintf(why, sizeof why, "%s", dorm_client_errmsg(c)) >= 0 &&
        renew_iterator(r, c, i, &a)) {
      /* DynamoDB Local answers the first read of a LATEST iterator taken on
       * a new stream TrimmedDataAccessException once the first record is
       * written (every fresh start showed it); an iterator also expires
       * after 15 minutes. Read on from the shard's oldest record, at once:
       * the record that showed it is there (a fresh start's first job waits
       * no poll more). A record read again is harmless (the claim is
       * conditional). */
      dorm__st_log("info", "stream_iterator_renewed", NULL, NULL, NULL, "%s", why);
      renewed = true;
      st = dorm_streams_get_records(c, r->shards[i].iterator, 100, &a, &recs, &n, &next);
    }
    if (st == DORM_OK) {
      for (size_t k = 0; k < n; k++) dorm__st_on_stream_record(s, &recs[k], &a);
      free(r->shards[i].iterator);
      r->shards[i].iterator = dup0(next);
    } else if (renewed) {
      /* the renewed iterator is kept: the next poll reads it again */
    } else {
      /* an invalid iterator or another failure: start again after a re-describe */
      dorm__st_log("warn", "stream_read_failed", NULL, NULL, NULL, "%s", dorm_client_errmsg(c));
      free(r->shards[i].iterator);
      r->shards[i].iterator = NULL;
      free(r->shards[i].shard_id);
      r->shards[i] = r->shards[--r->n];
      i--;
    }
    dorm_arena_free(&a);
  }
}

/* Where the sweep goes on in each shard of "by-live": the cursor after the
 * last page it read (NULL: from the top), one per shard and status. A shard
 * holding more unfinished requests than a page (SWEEP_PAGE) is read a page
 * per sweep, on from where the last one stopped, and from the top again
 * once a page ends the shard: every unfinished request is looked at within
 * (its place in the shard / SWEEP_PAGE + 1) sweeps of the shard. Reading
 * only the first page each time, 50 requests whose backoff is not over (or
 * that another server is taking over) hid every one behind them for as
 * long as they stayed. */
#define SWEEP_PAGE 50
typedef struct sweep_pos {
  char *cursor[2][DORM__ST_LIVE_SHARDS]; /* [0] PENDING, [1] PROCESSING */
} sweep_pos;

static void sweep_pos_free(sweep_pos *p) {
  for (int k = 0; k < 2; k++)
    for (unsigned i = 0; i < DORM__ST_LIVE_SHARDS; i++) {
      free(p->cursor[k][i]);
      p->cursor[k][i] = NULL;
    }
}

/* One page of a shard's status: from *cursor, which then says where the
 * next sweep goes on (NULL: the page ended the shard, or the query failed:
 * the top again). */
static dorm_status sweep_page(dorm_client *c, dorm_streamer_RequestStatus status, unsigned shard,
                              const dorm_streamer_Request_query_by_liveKey_sk *sk, char **cursor, dorm_arena *a,
                              dorm_streamer_Request_page *page) {
  char key[32];
  dorm__st_live_shard_key(status, shard, key);
  dorm_query_opts q = {.limit = SWEEP_PAGE, .cursor = *cursor};
  dorm_status st = dorm_streamer_Request_query_by_liveKey(c, key, sk, &q, a, page);
  free(*cursor);
  *cursor = st == DORM_OK && page->cursor ? strdup(page->cursor) : NULL;
  return st;
}

/* The index sweep of one shard of "by-live" (liveKey): PENDING requests
 * whose backoff is over (retries, and work that was there before this
 * process started) or whose client cancelled them (the claim ends those),
 * and PROCESSING ones whose lease expired (their processor died); a page
 * of each, on from the last sweep's (sweep_pos). */
static void sweep(dorm__streamer *s, dorm_client *c, unsigned shard, sweep_pos *pos) {
  dorm_arena a = DORM_ARENA_INIT;
  int64_t now = dorm__st_now_ms();
  dorm_streamer_Request_page page;
  if (sweep_page(c, DORM_STREAMER_REQUEST_STATUS_PENDING, shard, NULL, &pos->cursor[0][shard], &a, &page) == DORM_OK)
    for (size_t i = 0; i < page.count; i++)
      if (page.items[i].notBefore <= now || page.items[i].cancelRequested) /* a cancelled one ends at its claim */
        enqueue_run(s, page.items[i].sub, page.items[i].clientId, true);
  dorm_streamer_Request_query_by_liveKey_sk sk = {.op = DORM_SK_BETWEEN, .leaseExpires = 1, .leaseExpires_to = now - 1};
  if (sweep_page(c, DORM_STREAMER_REQUEST_STATUS_PROCESSING, shard, &sk, &pos->cursor[1][shard], &a, &page) ==
      DORM_OK)
    for (size_t i = 0; i < page.count; i++) {
      dorm__st_log("info", "lease_expired", page.items[i].clientId, NULL, page.items[i].endpoint,
                   "taking over from %s", page.items[i].leaseOwner ? page.items[i].leaseOwner : "?");
      enqueue_run(s, page.items[i].sub, page.items[i].clientId, true);
    }
  dorm_arena_free(&a);
}

/* Requests whose connection here has heard nothing for a while (two
 * leases, at least 5 s) are looked at: one that ended meanwhile without its
 * end reaching the connection (its processor died between writing the end
 * and delivering it: nothing else would send it, and a client that stays
 * connected would wait forever) gets every stored message after what the
 * connection had. One still running is left to its lease (a dead processor's
 * successor sends what the client missed). One GetItem per silent request
 * and quiet period; the connection's queue drops seqs it has. */
static void catch_up(dorm__streamer *s, dorm_client *c) {
  dorm__srv_silent_req silent[16];
  int64_t quiet = 2 * s->cfg.lease_ms < 5000 ? 5000 : 2 * s->cfg.lease_ms;
  size_t n = dorm__srv_silent(s, quiet, silent, sizeof silent / sizeof silent[0]);
  for (size_t i = 0; i < n; i++) {
    dorm__srv_silent_req *q = &silent[i];
    dorm_arena a = DORM_ARENA_INIT;
    dorm_streamer_Request_key key = {q->sub, q->rid};
    dorm_get_opts go = {.consistent_read = true};
    dorm_streamer_Request r;
    dorm_status st = dorm_streamer_Request_get(c, &key, &go, &a, &r);
    if (st == DORM_ERR_NOT_FOUND) {
      dorm__srv_track_ended(s, q->conn_id, q->rid); /* never stored (a sync call, a refused one) */
    } else if (st == DORM_OK && (r.status == DORM_STREAMER_REQUEST_STATUS_COMPLETED ||
                                 r.status == DORM_STREAMER_REQUEST_STATUS_FAILED ||
                                 r.status == DORM_STREAMER_REQUEST_STATUS_CANCELLED)) {
      size_t sent = 0;
      if (r.seq > q->acked) {
        dorm_streamer_Message_query_sk sk = {.op = DORM_SK_GT, .seq = q->acked};
        dorm_query_opts qo = {.consistent_read = true};
        for (;;) {
          dorm_streamer_Message_page page;
          if (dorm_streamer_Message_query(c, q->sub, q->rid, &sk, &qo, &a, &page) != DORM_OK) break;
          for (size_t k = 0; k < page.count; k++)
            if (dorm__srv_enqueue(s, q->conn_id, q->rid, page.items[k].seq, page.items[k].body,
                                  strlen(page.items[k].body)))
              sent++;
          if (!page.cursor) break;
          qo.cursor = page.cursor;
        }
        dorm__st_log("warn", "caught_up", q->rid, q->conn_id, r.endpoint,
                     "the request ended without its end reaching this connection: %zu stored messages after seq "
                     "%lld sent",
                     sent, (long long)q->acked);
      }
      dorm__srv_track_ended(s, q->conn_id, q->rid);
    }
    dorm_arena_free(&a);
  }
}

void *dorm__st_poller_main(void *arg) {
  dorm__streamer *s = arg;
  stream_reader r = {0};
  bool first = true;
  int64_t last_sweep = 0, last_catch_up = 0;
  unsigned next_shard = 0;
  sweep_pos pos = {0};
  while (!atomic_load(&s->stopping)) {
    dorm__srv_flush_stale(s);
    dorm__st_expire_sync(s);
    /* acks the router sent before storing them */
    dorm_client *fc = dorm__st_client(s);
    if (fc) dorm__st_flush_later(fc, false);
    if (fc && !s->lambda && dorm__st_now_ms() - last_catch_up >= 1000) {
      catch_up(s, fc);
      last_catch_up = dorm__st_now_ms();
    }
    /* connection events that waited for company (main.c, GONE_GATHER_MS) */
    dorm__st_kick_conn_jobs(s);
    bool draining = atomic_load(&s->draining);
    if (draining) dorm__st_drain(s);
    dorm_client *c = s->cfg.no_processor || draining ? NULL : dorm__st_client(s);
    if (c) {
      int64_t now = dorm__st_now_ms();
      if (first || now - r.described_ms > 5000) {
        reader_describe(&r, c, first);
        first = false;
      }
      reader_poll(s, &r, c);
      /* the sweep is the safety net: each shard about every 10 poll
       * intervals, one shard at a time (two small queries: the poller's
       * other work is not held up by all of them at once) */
      if (now - last_sweep >= 10 * s->cfg.poll_ms / DORM__ST_LIVE_SHARDS) {
        sweep(s, c, next_shard, &pos);
        next_shard = (next_shard + 1) % DORM__ST_LIVE_SHARDS;
        last_sweep = now;
      }
    }
    struct timespec ts = {s->cfg.poll_ms / 1000, (s->cfg.poll_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  reader_free(&r);
  sweep_pos_free(&pos);
  return NULL;
}
