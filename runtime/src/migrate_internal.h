/* Internals shared by the migration engine's files (runtime/src/migrate_*.c). */
#ifndef DORM_MIGRATE_INTERNAL_H
#define DORM_MIGRATE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "dorm/migrate.h"

#if defined(__GNUC__)
#define MIG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MIG_PRINTF(f, a)
#endif

/* A growable text in malloc'd memory; on OOM sets oom and keeps what it had. */
typedef struct mig_buf {
  char *p;
  size_t len, cap;
  bool oom;
} mig_buf;

void mb_put(mig_buf *b, const char *s, size_t n);
void mb_puts(mig_buf *b, const char *s);
void mb_printf(mig_buf *b, const char *fmt, ...) MIG_PRINTF(2, 3);
/* Copies the text into the arena (NULL on OOM) and frees the buffer. */
const char *mb_finish(mig_buf *b, dorm_arena *a);
void mb_free(mig_buf *b);

/* Writes j as indented JSON (2 spaces, members in their order, integers
 * without exponent), the deterministic form of every file we write. */
void mig_json_pretty(mig_buf *b, const cJSON *j, int indent);
/* Writes j compactly ({"a":1}). */
void mig_json_compact(mig_buf *b, const cJSON *j);
/* A JSON string literal. */
void mig_json_string(mig_buf *b, const char *s);

/* Formats into errbuf and returns st. */
dorm_status mig_fail(char *errbuf, size_t errcap, dorm_status st, const char *fmt, ...) MIG_PRINTF(4, 5);

/* Reading cJSON trees with errors naming the member path. */
typedef struct mig_reader {
  dorm_arena *a;
  char *errbuf;
  size_t errcap;
  dorm_status status;
  const char *what; /* file name for messages */
} mig_reader;
const char *mr_str(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
double mr_num(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
bool mr_bool(mig_reader *r, const cJSON *obj, const char *name, const char *path);
const cJSON *mr_arr(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
const cJSON *mr_obj(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
void mr_fail(mig_reader *r, const char *fmt, ...) MIG_PRINTF(2, 3);

/* cJSON building helpers that keep going on OOM (the result is checked once). */
cJSON *mj_key_attr(const dorm_key_attr *k);
bool mig_key_attr_read(mig_reader *r, const cJSON *obj, const char *name, dorm_key_attr *out, const char *path);

/* Names <-> enums. */
dorm_key_type mig_key_type_from(const char *s);
const char *mig_kind_name(dorm_mig_kind k);
dorm_mig_kind mig_kind_from(const char *s);
dorm_stream_view mig_stream_from(const char *s);
dorm_projection_type mig_projection_from(const char *s, bool *ok);

/* Template parts to and from JSON. */
cJSON *mj_parts(const dorm_mig_part *parts, size_t n);
bool mig_parts_read(mig_reader *r, const cJSON *arr, dorm_mig_part **parts, size_t *n, const char *path);

/* SHA-256 of data as "sha256:<64 hex>" in out (72 bytes). */
void mig_sha256(const void *data, size_t len, char out[80]);

/* Now as RFC 3339 UTC with seconds ("2026-11-25T13:18:44Z"). */
void mig_now_text(char out[32]);

/* Strings equal, NULL only equal to NULL. */
bool mig_streq(const char *a, const char *b);
bool mig_key_eq(const dorm_key_attr *a, const dorm_key_attr *b);
bool mig_projection_eq(const dorm_projection *a, const dorm_projection *b);
/* "PK S" / "PK S, SK N": key text for messages. */
const char *mig_keys_text(dorm_arena *a, const dorm_key_attr *pk, const dorm_key_attr *sk);

/* The CreateTable definition of a snapshot table (arrays in the arena). */
dorm_status mig_table_def(const dorm_mig_table *t, dorm_arena *a, dorm_table_def *def);
/* The GSI definition of one index of t (throughput when provisioned). */
void mig_gsi_def(const dorm_mig_table *t, const dorm_mig_index *g, dorm_gsi_def *def);

#endif

/* ---- the history table (migrate_history.c) ---- */

#include "dorm/ops.h"

#define MIG_LOCK_ID "#lock"

/* Backfill progress of one step, as recorded. */
#define MIG_MAX_SEGMENTS 64

typedef struct mig_progress {
  uint32_t segments;     /* parallel scan segments (0: not started; 1: one sequential scan) */
  /* Per segment: DynamoDB JSON of the scan position to resume after (NULL:
   * from the start) and whether it is finished. */
  const char *positions[MIG_MAX_SEGMENTS];
  bool seg_done[MIG_MAX_SEGMENTS];
  uint64_t scanned, updated, unchanged, skipped, failed;
  bool done;
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

int64_t mig_now_ms(void);
void mig_sleep_ms(long ms);
/* "<host>:<pid>" into buf. */
void mig_default_owner(char *buf, size_t cap);

/* Creates the history table when missing and waits until it is ACTIVE. */
dorm_status mh_ensure(mig_history *h, long timeout_ms);
/* Every record (the lock item excluded). A missing table gives none
 * (*missing set when not NULL). */
dorm_status mh_load(mig_history *h, dorm_arena *a, mig_record **recs, size_t *n, bool *missing);
const mig_record *mh_find(const mig_record *recs, size_t n, const char *name);
/* The progress of backfill step `step` in a record (zeroes when none). */
void mh_progress_of(const mig_record *r, size_t step, mig_progress *p);

/* The lock: acquire (waiting up to wait_ms), renew when due (cheap to call
 * often), release. DORM_ERR_RESOURCE_IN_USE naming the holder. */
dorm_status mh_lock(mig_history *h, long wait_ms);
dorm_status mh_renew(mig_history *h);
void mh_unlock(mig_history *h);

/* Record writes. log lines (may be 0) are appended to the record's log. */
dorm_status mh_begin(mig_history *h, const dorm_mig_entry *m, size_t step_count, bool fresh);
dorm_status mh_step(mig_history *h, const char *name, uint32_t steps_applied, const char *const *log, size_t nlog);
dorm_status mh_end(mig_history *h, const char *name, dorm_mig_state state, const char *error,
                   const char *const *log, size_t nlog);
dorm_status mh_progress(mig_history *h, const char *name, size_t step, const mig_progress *p);
dorm_status mh_resolve(mig_history *h, const dorm_mig_entry *m, size_t step_count, dorm_mig_state state);
/* Compares a record's files with the directory's: NULL when equal, else
 * the first file that differs ("plan.json"), in the arena. */
const char *mh_changed_file(const mig_record *r, const dorm_mig_entry *m, dorm_arena *a);

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

dorm_status mig_backfill(mig_backfill_ctx *x, const dorm_mig_step *s);

/* ---- steps (migrate_deploy.c) ---- */

/* Waits per the step, renewing the lock (h may be NULL). */
dorm_status mig_wait(dorm_client *c, mig_history *h, const dorm_mig_step *s, long timeout_ms, char *errbuf,
                     size_t errcap);
