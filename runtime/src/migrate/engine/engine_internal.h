/* The online half of migrations (runtime/src/migrate/engine/): deploy, history and
 * lock, backfill, status. Sits on the model, ddb and aws layers and the offline plan. */
#ifndef DORM_ENGINE_INTERNAL_H
#define DORM_ENGINE_INTERNAL_H

#include "model_internal.h"
#include "plan_internal.h"

/* ---- the history table (migrate_history.c) ---- */

#include "dorm/ops.h"

#define MIG_LOCK_ID "#lock"

/* Backfill progress of one step, as recorded. */
#define MIG_MAX_SEGMENTS 64
/* Attributes one backfill step computes: a model fills at most 2 keys per
 * GSI (20) and 1 per LSI (5), so 64 is never reached. */
#define MIG_MAX_FILLS 64

typedef struct mig_progress {
  uint32_t segments;     /* parallel scan segments (0: not started; 1: one sequential scan) */
  /* Per segment: DynamoDB JSON of the scan position to resume after (NULL:
   * from the start) and whether it is finished. */
  const char *positions[MIG_MAX_SEGMENTS];
  bool seg_done[MIG_MAX_SEGMENTS];
  uint64_t scanned, updated, unchanged, skipped, failed;
  /* Per attribute of the step (in the step's order): items it was written
   * on, items that had it right already, items it could not be computed for
   * (the first reason kept). An item is "skipped" above only when none of
   * its attributes could be computed. */
  struct mig_fill_count {
    const char *attr;
    uint64_t written, unchanged, skipped;
    char reason[160];
  } fills[MIG_MAX_FILLS];
  uint32_t fill_count;
  const char *model;     /* the step's model (for status) */
  bool done;
  unsigned max_in_flight; /* this run: the most writes one segment had in flight at once (not recorded) */
  uint64_t resent;        /* this run: requests sent again after a pause (not recorded) */
} mig_progress;

typedef struct mig_record {
  const char *name;
  dorm_mig_state state;
  const char *checksum;
  const dorm_av *files;  /* M file -> hash, or NULL */
  const char *started, *finished, *error;
  uint32_t steps_applied, step_count;
  const dorm_av *item;   /* the whole item */
} mig_record;

typedef struct mig_history {
  dorm_client *c;
  const char *table;
  const char *owner;
  long lock_ttl_ms;
  int64_t lock_expires_ms; /* our lease, 0 when not held */
  int64_t renewed_ms;
  char *errbuf;
  size_t errcap;
} mig_history;

int64_t dorm__mig_now_ms(void);
void dorm__mig_sleep_ms(long ms);

/* A request that still fails with throttling or a transient error after
 * the client's own retries (3 attempts in the SDKs' standard mode, fewer
 * once its retry quota runs dry) is sent again after a pause, 1 s doubling
 * to 15 s, up to MIG_RESENDS times (about 75 s of pauses): a throttled
 * table is the normal case for a backfill of a big table, and stopping the
 * deploy on the first throttling storm made it fail after a few hundred
 * items. The pause stays well under the lock's default lease (60 s). */
#define MIG_RESENDS 8
#define MIG_PAUSE_MS 1000L
#define MIG_MAX_PAUSE_MS 15000L
/* Throttling, a 5xx, the network, a timeout, an answer cut short or garbled. */
bool dorm__mig_transient(dorm_status st);
/* The pause before sending a request again for the n-th time (1-based). */
long dorm__mig_pause_ms(unsigned n);
/* "<host>:<pid>" into buf. */
void dorm__mig_default_owner(char *buf, size_t cap);

/* Creates the history table when missing and waits until it is ACTIVE. */
dorm_status dorm__mh_ensure(mig_history *h, long timeout_ms);
/* Every record (the lock item excluded). A missing table gives none
 * (*missing set when not NULL). */
dorm_status dorm__mh_load(mig_history *h, dorm_arena *a, mig_record **recs, size_t *n, bool *missing);
const mig_record *dorm__mh_find(const mig_record *recs, size_t n, const char *name);
/* The progress of backfill step `step` in a record (zeroes when none). */
void dorm__mh_progress_of(const mig_record *r, size_t step, mig_progress *p);

/* The lock: acquire (waiting up to wait_ms), renew when due (cheap to call
 * often), release. DORM_ERR_RESOURCE_IN_USE naming the holder. */
dorm_status dorm__mh_lock(mig_history *h, long wait_ms);
dorm_status dorm__mh_renew(mig_history *h);
void dorm__mh_unlock(mig_history *h);

/* Record writes. log lines (may be 0) are appended to the record's log. */
dorm_status dorm__mh_begin(mig_history *h, const dorm_mig_entry *m, size_t step_count, bool fresh);
dorm_status dorm__mh_step(mig_history *h, const char *name, uint32_t steps_applied, const char *const *log, size_t nlog);
dorm_status dorm__mh_end(mig_history *h, const char *name, dorm_mig_state state, const char *error,
                   const char *const *log, size_t nlog);
dorm_status dorm__mh_progress(mig_history *h, const char *name, size_t step, const mig_progress *p);
dorm_status dorm__mh_resolve(mig_history *h, const dorm_mig_entry *m, size_t step_count, dorm_mig_state state);
/* Compares a record's files with the directory's: NULL when equal, else
 * the first file that differs ("plan.json"), in the arena. */
const char *dorm__mh_changed_file(const mig_record *r, const dorm_mig_entry *m, dorm_arena *a);

/* ---- backfill (migrate_backfill.c) ---- */

typedef dorm_status (*mig_progress_fn)(void *user, const mig_progress *p);

typedef struct mig_backfill_ctx {
  dorm_client *c;
  const dorm_mig_options *o;
  const char *migration;
  size_t step_no;
  mig_progress progress;        /* in: where to resume; out: the totals */
  mig_progress_fn on_page;      /* after each page (NULL: none) */
  dorm_status (*on_item)(void *user); /* after each item, e.g. to renew the lock (NULL: none) */
  void *user;
  char *errbuf;
  size_t errcap;
} mig_backfill_ctx;

dorm_status dorm__mig_backfill(mig_backfill_ctx *x, const dorm_mig_step *s);

/* ---- steps (migrate_deploy.c) ---- */

/* Waits per the step, renewing the lock (h may be NULL). */
dorm_status dorm__mig_wait(dorm_client *c, mig_history *h, const dorm_mig_step *s, long timeout_ms, char *errbuf,
                     size_t errcap);

/* Reports an engine result through the client: clears its error on DORM_OK,
 * else sets "<operation>: <message>". Returns st. */
dorm_status dorm__mig_report(dorm_client *c, dorm_status st, const char *operation, const char *message);
/* "ALL", "KEYS_ONLY" or "INCLUDE(a, b)" (in a). */
const char *dorm__mig_projection_text(dorm_arena *a, const dorm_projection *p);
/* dorm_mig_live_snapshot with the message in errbuf (status uses it inside). */
dorm_status dorm__mig_live_snapshot(dorm_client *c, const char *const *tables, size_t n, dorm_arena *a,
                                    dorm_mig_snapshot *out, char *errbuf, size_t errcap);

#endif
