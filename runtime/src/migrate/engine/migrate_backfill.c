/* Backfill: computes the attributes a migration's key templates need on the
 * items that exist, exactly as the generated code would write them, and
 * writes the defaults of fields the model gained where items lack them.
 *
 * Rendering matches libdorm's model layer: a string as stored, int and
 * epoch as the decimal text of the int64, an enum as its stored value
 * (which must be one of the members), time re-rendered as fixed-width UTC
 * with nine fraction digits; a field the item lacks reads as its default
 * when it has one. Each attribute stands alone: one whose
 * template reads a field the item lacks (a sparse index) or holds a value
 * the model cannot read is skipped and logged, and the item's other
 * attributes are still written (so an item outside one new index still
 * reaches another). Counts are kept per attribute.
 *
 * Each write is an UpdateItem conditioned on the item not having changed
 * since it was read (its version when the model has @version, which the
 * write then increments, else the values of the fields read), so a
 * concurrent writer always wins and the item is read again. Items whose
 * attributes are already right are not written, which makes the backfill
 * idempotent: a resumed run re-reads the page it was killed in and writes
 * nothing twice. Progress (the scan position after each page) goes to the
 * history through on_page. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_internal.h" /* dorm__jw: the request bodies handed to the pool */
#include "dorm/model.h"
#include "dorm/pool.h"
#include "engine_internal.h"

#define MAX_ATTEMPTS 3

/* Writes of one page a segment keeps in flight at once by default
 * (--in-flight). Conservative: with --segments n the table sees at most
 * n * 8 concurrent writes, and --rate still paces them. */
#define BF_IN_FLIGHT 8
#define BF_MAX_IN_FLIGHT 256

/* A Scan page or a write that still fails with throttling or a transient
 * error after the client's retries is sent again after a pause
 * (dorm__mig_transient, engine_internal.h) while the others go on.
 * Resending is safe: a write that was applied but not acknowledged fails
 * its condition the second time when it bumped the version or filled a
 * default (the item is read again and found right), and otherwise writes
 * the same values again. */
#define BF_RESENDS MIG_RESENDS

typedef struct bf {
  mig_backfill_ctx *x;
  const dorm_mig_step *s;
  dorm_key_attr pk, sk;
  FILE *log;
  int64_t started_ms;
  int64_t estimate;       /* DescribeTable's item count */
  /* Everything runs on the caller's thread (see "segments" below). */
  dorm_client *c;         /* the caller's: every request, pooled or single */
  dorm_pool *pool;        /* every segment's Scans and writes */
  dorm_jw body;           /* reused for each write's body (the pool copies it) */
  dorm_arena scratch;     /* a Scan's expression while its body is written */
  unsigned in_flight;     /* writes per segment at once */
  uint64_t processed;     /* items started this run, for the rate */
  uint64_t shown[4];      /* the progress line's items, updated, skipped, failed (recorded + pages in work) */
  int64_t last_line_ms;
  bool stop;
  dorm_status first_error;
} bf;

/* Whether the literal lit, written right after the value v, is found
 * first where v ends. Otherwise the key does not say where v ends (with
 * "{customerId}#{orderId}", customer "a#b" of order "c" and customer "a" of
 * order "b#c" make one key), which the model layer refuses to write
 * (model_write.c, dorm__model_literal_ends_value): so does the backfill. */
static bool runs_into(const char *v, size_t vlen, const char *lit) {
  size_t n = strlen(lit);
  for (size_t at = 0; at < vlen; at++) {
    size_t k = 0;
    while (k < n && (at + k < vlen ? v[at + k] : lit[at + k - vlen]) == lit[k]) k++;
    if (k == n) return true;
  }
  return false;
}

/* The default of field attribute attr for a template part: the part's own
 * (plans written since parts carry it) or, in older plans, that of the
 * step's fill of the same attribute (a field new in this migration). */
static const dorm_mig_default *part_default(const dorm_mig_step *s, const dorm_mig_part *p) {
  if (p->dflt.type) return &p->dflt;
  for (size_t i = 0; i < s->fill_count; i++)
    if (s->fills[i].dflt.type && strcmp(s->fills[i].attr, p->attr) == 0) return &s->fills[i].dflt;
  return NULL;
}

/* Renders one attribute; NULL with *why set when the item cannot have it. */
static const char *render(const dorm_mig_step *s, const dorm_mig_fill *f, const dorm_av *item, dorm_arena *a,
                          const char **why) {
  dorm__buf b = DORM__BUF_INIT;
  for (size_t i = 0; i < f->part_count; i++) {
    const dorm_mig_part *p = &f->parts[i];
    if (p->literal) {
      dorm__buf_puts(&b, p->literal);
      continue;
    }
    const dorm_av *v = dorm_av_map_get(item, p->attr);
    dorm_av dv;
    const dorm_mig_default *d = v ? NULL : part_default(s, p);
    if (d) {
      /* Absent reads as the field's default, and the generated code keys
       * the item with it: so does the backfill. */
      dv = strcmp(d->type, "N") == 0 ? dorm_av_num(d->value) : dorm_av_str(d->value);
      v = &dv;
    }
    if (!v || v->type == DORM_AV_NULL) {
      *why = dorm_arena_printf(a, "no %s (field %s): not in the index", p->attr, p->field);
      dorm__buf_free(&b);
      return NULL;
    }
    switch (p->kind) {
    case DORM_MIG_STRING:
      if (v->type != DORM_AV_S) goto wrong;
      /* (a literal that ends the template is found at the end: nothing to check) */
      if (i + 2 < f->part_count && f->parts[i + 1].literal &&
          runs_into(v->u.s.ptr, v->u.s.len, f->parts[i + 1].literal)) {
        *why = dorm_arena_printf(a, "%s = \"%.*s\" would run into the \"%s\" after it: the key would not say where it ends",
                                 p->attr, (int)(v->u.s.len > 64 ? 64 : v->u.s.len), v->u.s.ptr, f->parts[i + 1].literal);
        dorm__buf_free(&b);
        return NULL;
      }
      dorm__buf_put(&b, v->u.s.ptr, v->u.s.len);
      break;
    case DORM_MIG_INT:
    case DORM_MIG_EPOCH: {
      int64_t n;
      if (v->type != DORM_AV_N) goto wrong;
      if (dorm_av_get_i64(v, &n) != DORM_OK) {
        *why = dorm_arena_printf(a, "%s = %.*s is not a 64-bit integer", p->attr, (int)v->u.s.len, v->u.s.ptr);
        dorm__buf_free(&b);
        return NULL;
      }
      dorm__buf_printf(&b, "%" PRId64, n);
      break;
    }
    case DORM_MIG_TIME: {
      int64_t ns;
      if (v->type != DORM_AV_S) goto wrong;
      if (!dorm_time_parse(v->u.s.ptr, v->u.s.len, &ns)) {
        *why = dorm_arena_printf(a, "%s = \"%.*s\" is not an RFC 3339 time", p->attr, (int)v->u.s.len, v->u.s.ptr);
        dorm__buf_free(&b);
        return NULL;
      }
      char t[32];
      dorm_time_format(ns, t);
      dorm__buf_puts(&b, t);
      break;
    }
    case DORM_MIG_ENUM: {
      if (v->type != DORM_AV_S) goto wrong;
      bool member = false;
      for (size_t k = 0; k < p->enum_count && !member; k++)
        member = strlen(p->enum_values[k]) == v->u.s.len && memcmp(p->enum_values[k], v->u.s.ptr, v->u.s.len) == 0;
      if (!member) {
        *why = dorm_arena_printf(a, "%s = \"%.*s\" is not a value of its enum", p->attr, (int)v->u.s.len, v->u.s.ptr);
        dorm__buf_free(&b);
        return NULL;
      }
      dorm__buf_put(&b, v->u.s.ptr, v->u.s.len);
      break;
    }
    }
    continue;
  wrong:
    *why = dorm_arena_printf(a, "%s is %s, not %s", p->attr, dorm_av_type_name(v->type),
                             p->kind == DORM_MIG_INT || p->kind == DORM_MIG_EPOCH ? "N" : "S");
    dorm__buf_free(&b);
    return NULL;
  }
  const char *out = dorm__buf_to_arena(&b, a);
  if (!out) *why = "out of memory";
  return out;
}

/* One JSON line of the backfill log; attr names the attribute skipped (NULL:
 * the whole item). */
static void log_item(bf *b, const dorm_av *key, const char *attr, const char *outcome, const char *reason,
                     dorm_arena *a) {
  if (!b->log) return;
  const char *json = NULL;
  size_t len;
  if (dorm_item_to_json(key, a, 0, &json, &len, NULL, 0) != DORM_OK) json = "{}";
  dorm__buf line = DORM__BUF_INIT;
  dorm__buf_puts(&line, "{\"migration\":");
  dorm__mig_json_string(&line, b->x->migration ? b->x->migration : "");
  dorm__buf_printf(&line, ",\"step\":%zu,\"model\":", b->x->step_no);
  dorm__mig_json_string(&line, b->s->model ? b->s->model : "");
  dorm__buf_printf(&line, ",\"key\":%s", json);
  if (attr) {
    dorm__buf_puts(&line, ",\"attribute\":");
    dorm__mig_json_string(&line, attr);
  }
  dorm__buf_printf(&line, ",\"outcome\":\"%s\",\"reason\":", outcome);
  dorm__mig_json_string(&line, reason ? reason : "");
  dorm__buf_puts(&line, "}\n");
  if (line.p) fputs(line.p, b->log);
  dorm__buf_free(&line);
}

static dorm_av key_of(const bf *b, const dorm_av *item, dorm_arena *a) {
  dorm_av key = dorm_av_empty(DORM_AV_M);
  const dorm_av *pk = dorm_av_map_get(item, b->pk.name);
  if (pk) dorm_av_map_set(a, &key, b->pk.name, *pk);
  if (b->sk.name) {
    const dorm_av *sk = dorm_av_map_get(item, b->sk.name);
    if (sk) dorm_av_map_set(a, &key, b->sk.name, *sk);
  }
  return key;
}

typedef enum outcome { OUT_UPDATED, OUT_UNCHANGED, OUT_SKIPPED, OUT_FAILED, OUT_RETRY, OUT_PENDING } outcome;

/* What became of each attribute of the step on one item. */
typedef enum fill_state { FILL_WRITE, FILL_RIGHT, FILL_SKIP } fill_state;

typedef struct item_fills {
  fill_state *state;
  dorm_av *val;       /* FILL_WRITE: the value */
  const char **why;   /* FILL_SKIP: the reason */
} item_fills;

/* One attempt on one item as read. Attributes that cannot be computed are
 * left alone; the others are written. OUT_SKIPPED: none could be. With
 * body set the write is not sent: the UpdateItem request body goes there
 * (owned by the caller's writer) and the outcome is OUT_PENDING. */
static outcome try_item(bf *b, dorm_client *c, const dorm_av *item, dorm_arena *a, item_fills *f, const char **why,
                        dorm_status *st, dorm_jw *body) {
  const dorm_mig_step *s = b->s;
  f->state = dorm_arena_calloc(a, s->fill_count, sizeof *f->state);
  f->val = dorm_arena_calloc(a, s->fill_count, sizeof *f->val);
  f->why = dorm_arena_calloc(a, s->fill_count, sizeof *f->why);
  if (!f->state || !f->val || !f->why) {
    *why = "out of memory";
    *st = DORM_ERR_NO_MEMORY;
    return OUT_FAILED;
  }
  size_t write = 0, skip = 0;
  for (size_t i = 0; i < s->fill_count; i++) {
    const dorm_mig_default *dv = &s->fills[i].dflt;
    if (dv->type) {
      /* A field's default goes only where the attribute is absent: a value
       * the item has (of whatever type) is the item's. */
      if (dorm_av_map_get(item, s->fills[i].attr)) {
        f->state[i] = FILL_RIGHT;
        continue;
      }
      f->state[i] = FILL_WRITE;
      f->val[i] = strcmp(dv->type, "BOOL") == 0 ? dorm_av_bool(strcmp(dv->value, "true") == 0)
                  : strcmp(dv->type, "N") == 0  ? dorm_av_num(dv->value)
                                                : dorm_av_str(dv->value);
      write++;
      continue;
    }
    const char *v = render(s, &s->fills[i], item, a, &f->why[i]);
    if (!v) {
      if (!f->why[i]) f->why[i] = "out of memory";
      f->state[i] = FILL_SKIP;
      skip++;
      continue;
    }
    const dorm_av *cur = dorm_av_map_get(item, s->fills[i].attr);
    if (cur && cur->type == DORM_AV_S && cur->u.s.len == strlen(v) && memcmp(cur->u.s.ptr, v, cur->u.s.len) == 0) {
      f->state[i] = FILL_RIGHT;
    } else {
      f->state[i] = FILL_WRITE;
      f->val[i] = dorm_av_str(v);
      write++;
    }
  }
  if (skip == s->fill_count) {
    *why = f->why[0];
    return OUT_SKIPPED;
  }
  if (!write) return OUT_UNCHANGED;
  dorm_av key = key_of(b, item, a);
  dorm_expr x;
  dorm_expr_init(&x, a);
  for (size_t i = 0; i < s->fill_count; i++)
    if (f->state[i] == FILL_WRITE) dorm_update_set(&x, s->fills[i].attr, f->val[i]);
  /* The item must still be as read: its version (bumped by this write, as
   * any update of a versioned item does), or else the fields the
   * templates were computed from; and a default must still be missing. */
  dorm_cond *cond = dorm_cond_exists(&x, b->pk.name);
  for (size_t i = 0; i < s->fill_count; i++)
    if (f->state[i] == FILL_WRITE && s->fills[i].dflt.type)
      cond = dorm_cond_and(&x, cond, dorm_cond_not_exists_opd(&x, dorm_opd_name(&x, s->fills[i].attr,
                                                                                  strlen(s->fills[i].attr))));
  const dorm_av *version = s->version_attr ? dorm_av_map_get(item, s->version_attr) : NULL;
  if (version && version->type == DORM_AV_N) {
    cond = dorm_cond_and(&x, cond, dorm_cond_compare(&x, dorm_opd_name(&x, s->version_attr, strlen(s->version_attr)),
                                                      DORM_EQ, dorm_opd_value(&x, *version)));
    dorm_update_set_opd(&x, dorm_opd_name(&x, s->version_attr, strlen(s->version_attr)),
                        dorm_opd_plus(&x, dorm_opd_name(&x, s->version_attr, strlen(s->version_attr)),
                                      dorm_opd_value(&x, dorm_av_num("1"))));
  } else {
    for (size_t i = 0; i < s->fill_count; i++)
      for (size_t k = 0; f->state[i] == FILL_WRITE && k < s->fills[i].part_count; k++) {
        const dorm_mig_part *p = &s->fills[i].parts[k];
        if (p->literal) continue;
        const dorm_av *v = dorm_av_map_get(item, p->attr);
        /* (absent: the value came from the field's default, which a
         * concurrent write of the field would change) */
        if (!v)
          cond = dorm_cond_and(&x, cond, dorm_cond_not_exists_opd(&x, dorm_opd_name(&x, p->attr, strlen(p->attr))));
        else
          cond = dorm_cond_and(&x, cond, dorm_cond_compare(&x, dorm_opd_name(&x, p->attr, strlen(p->attr)), DORM_EQ,
                                                            dorm_opd_value(&x, *v)));
      }
  }
  dorm_expr_condition(&x, cond);
  if (dorm_expr_status(&x) != DORM_OK) {
    *why = dorm_arena_strdup(a, dorm_expr_errmsg(&x));
    return OUT_FAILED;
  }
  if (body) {
    dorm__jw_reset(body);
    dorm__jw_begin_object(body);
    dorm__jw_member_string(body, "TableName", s->table);
    dorm__jw_key(body, "Key");
    dorm__jw_item(body, &key, "Key");
    dorm__jw_expr(body, &x);
    dorm__jw_end_object(body);
    dorm_status bst = dorm__jw_finish(body, NULL, NULL);
    if (bst != DORM_OK) {
      *why = dorm_arena_strdup(a, body->err);
      if (bst != DORM_ERR_INVALID_ARGUMENT && bst != DORM_ERR_TOO_LARGE) *st = bst;
      return OUT_FAILED;
    }
    return OUT_PENDING;
  }
  dorm_update_input in = {.table = s->table, .key = &key, .expr = &x};
  dorm_status rc;
  for (unsigned r = 1; dorm__mig_transient(rc = dorm_update_item(c, &in, a, NULL)) && r <= BF_RESENDS; r++) {
    b->x->progress.resent++;
    dorm__mig_sleep_ms(dorm__mig_pause_ms(r));
  }
  if (rc == DORM_OK) return OUT_UPDATED;
  if (rc == DORM_ERR_CONDITION_FAILED) return OUT_RETRY;
  *why = dorm_arena_strdup(a, dorm_client_errmsg(c));
  /* Validation errors are about this item (e.g. a key over 2 KB); anything
   * else (network, auth, throttling after retries) stops the backfill. */
  if (rc != DORM_ERR_VALIDATION) *st = rc;
  return OUT_FAILED;
}

/* One item, read again and retried when it changed meanwhile. f holds what
 * became of each attribute when the outcome is UPDATED, UNCHANGED or
 * SKIPPED with f->state set (NULL otherwise: the item was not looked at
 * as a whole). changed: the first attempt was already made (through the
 * pool) and its condition failed, so this starts with the re-read. */
static outcome do_item(bf *b, dorm_client *c, const dorm_av *item, dorm_arena *a, item_fills *f, dorm_status *st,
                       bool changed) {
  const char *why = NULL;
  const dorm_av *cur = item;
  dorm_av fresh;
  for (int attempt = 1;; attempt++) {
    memset(f, 0, sizeof *f);
    outcome o = changed && attempt == 1 ? OUT_RETRY : try_item(b, c, cur, a, f, &why, st, NULL);
    if (o != OUT_RETRY) {
      dorm_av key = key_of(b, item, a);
      if (o == OUT_FAILED) {
        f->state = NULL;
        log_item(b, &key, NULL, "failed", why, a);
        return o;
      }
      for (size_t i = 0; i < b->s->fill_count; i++)
        if (f->state[i] == FILL_SKIP) log_item(b, &key, b->s->fills[i].attr, "skipped", f->why[i], a);
      return o;
    }
    f->state = NULL;
    dorm_av key = key_of(b, item, a);
    if (attempt == MAX_ATTEMPTS) {
      log_item(b, &key, NULL, "failed", "the item kept changing while it was backfilled", a);
      return OUT_FAILED;
    }
    /* Changed meanwhile: read it again and recompute. */
    dorm_get_input gin = {.table = b->s->table, .key = &key, .consistent_read = true};
    dorm_status rc;
    for (unsigned r = 1; dorm__mig_transient(rc = dorm_get_item(c, &gin, a, &fresh)) && r <= BF_RESENDS; r++) {
      b->x->progress.resent++;
      dorm__mig_sleep_ms(dorm__mig_pause_ms(r));
    }
    if (rc == DORM_ERR_NOT_FOUND) {
      log_item(b, &key, NULL, "skipped", "deleted while it was backfilled", a);
      return OUT_SKIPPED;
    }
    if (rc != DORM_OK) {
      *st = rc;
      log_item(b, &key, NULL, "failed", dorm_client_errmsg(c), a);
      return OUT_FAILED;
    }
    if (b->s->entity_type) {
      const dorm_av *t = dorm_av_map_get(&fresh, "_type");
      if (!t || t->type != DORM_AV_S || t->u.s.len != strlen(b->s->entity_type) ||
          memcmp(t->u.s.ptr, b->s->entity_type, t->u.s.len) != 0) {
        log_item(b, &key, NULL, "skipped", "no longer of this entity type", a);
        return OUT_SKIPPED;
      }
    }
    cur = &fresh;
  }
}

/* Takes a slot under the rate limit; returns the time (ms) it is due, 0
 * when there is no limit. The segments share the slots, so --rate bounds
 * them together. */
static int64_t take_slot(bf *b) {
  double rate = b->x->o->rate;
  uint64_t slot = b->processed++;
  if (rate <= 0) return 0;
  return b->started_ms + (int64_t)((double)slot * 1000.0 / rate);
}

static void progress_line(bf *b, bool final) {
  if (!b->x->o->progress) return;
  int64_t now = dorm__mig_now_ms();
  if (!final && now - b->last_line_ms < 200) return;
  b->last_line_ms = now;
  const uint64_t scanned = b->shown[0];
  double secs = (double)(now - b->started_ms) / 1000.0;
  double rate = secs > 0 ? (double)b->processed / secs : 0;
  fprintf(stderr, "\r  backfill %s: %" PRIu64 " items (%" PRIu64 " updated, %" PRIu64 " skipped, %" PRIu64 " failed)",
          b->s->model, scanned, b->shown[1], b->shown[2], b->shown[3]);
  if (b->estimate > 0) {
    double pct = 100.0 * (double)scanned / (double)b->estimate;
    fprintf(stderr, " of ~%" PRId64 " (%.0f%%)", b->estimate, pct > 100 ? 100.0 : pct);
    if (rate > 0 && (double)b->estimate > (double)scanned)
      fprintf(stderr, ", ~%.0f s left", ((double)b->estimate - (double)scanned) / rate);
  }
  fprintf(stderr, ", %.0f items/s   %s", rate, final ? "\n" : "");
  fflush(stderr);
}

/* ---- segments: page chains on one pool ----
 *
 * Every segment is a chain of steps on the caller's thread, over one
 * dorm_pool on the caller's client: its Scan page is a request in flight;
 * when the page arrives its items are looked at and their writes submitted
 * (at most in_flight of them at once); when the last write completed the
 * position is recorded (on_page) and the next page is sent. The segments'
 * chains interleave in the pool, so N segments need no thread and no
 * connection of their own: requests in flight are the parallelism. A
 * write whose condition failed is retried with single calls on the same
 * client from inside its callback (allowed by dorm/pool.h; rare: the item
 * changed under us), which holds the others back meanwhile. */

typedef struct segment {
  bf *b;
  uint32_t index;
  dorm_arena keep[2];      /* the recorded position (two: the old one stays valid until replaced) */
  int cur;
  dorm_av start;
  bool have_start;
  dorm_arena page_arena;   /* the page being worked on and its items' requests */
  dorm_page page;
  size_t next;             /* the next item of the page to look at */
  unsigned in_flight;      /* the page's writes in flight */
  int64_t last_due;        /* when the last slot taken under --rate is due */
  /* The counts of the page in work, added to the recorded ones when the
   * page is recorded: a page not finished is read again by a resumed run,
   * and counting its items now would count them twice (with several
   * segments, one segment's record carried the others' unfinished pages:
   * 50,118 items for a table of 50,000 after a kill). */
  mig_progress pend;
  unsigned scan_rounds;    /* times the current Scan page was sent again */
  long scan_pause_ms;      /* the pause before the next Scan is sent */
  dorm_status st;          /* the first error that stops the segment (message in err) */
  char err[512];
} segment;

/* Records the backfill's first error (fmt gets the model and what) and
 * stops every segment: each finishes the requests it has in flight and
 * records nothing more. */
static void stop_with(bf *b, dorm_status st, const char *fmt, const char *what) {
  if (b->first_error == DORM_OK) {
    b->first_error = st;
    dorm__fail(b->x->errbuf, b->x->errcap, st, fmt, b->s->model, what);
  }
  b->stop = true;
}

typedef struct item_req {
  segment *g;
  size_t i;
  item_fills f;
  const char *body;   /* the write's request, kept to send it again */
  size_t body_len;
  unsigned rounds;    /* times it was sent again */
} item_req;


static void seg_fail(segment *g, dorm_status st, const char *msg) {
  if (g->st != DORM_OK) return;
  g->st = st;
  snprintf(g->err, sizeof g->err, "%s", msg ? msg : "?");
}

/* Counts one item's outcome (and its attributes'), prints the progress
 * line, and ticks the lock's lease: a slow page (a low --rate) must not
 * outlive it. */
static void tally(bf *b, segment *g, outcome o, const item_fills *f) {
  mig_backfill_ctx *x = b->x;
  const dorm_mig_step *s = b->s;
  mig_progress *p = &g->pend;
  p->scanned++;
  b->shown[0]++;
  if (o == OUT_UPDATED) p->updated++, b->shown[1]++;
  else if (o == OUT_UNCHANGED) p->unchanged++;
  else if (o == OUT_SKIPPED) p->skipped++, b->shown[2]++;
  else p->failed++, b->shown[3]++;
  for (size_t k = 0; f->state && k < s->fill_count; k++) {
    struct mig_fill_count *n = &p->fills[k];
    if (f->state[k] == FILL_WRITE) n->written++;
    else if (f->state[k] == FILL_RIGHT) n->unchanged++;
    else {
      n->skipped++;
      /* (an example: kept even if this page is read again) */
      char *reason = x->progress.fills[k].reason;
      if (!reason[0]) snprintf(reason, sizeof x->progress.fills[k].reason, "%s", f->why[k] ? f->why[k] : "?");
    }
  }
  progress_line(b, false);
  if (x->on_item && !b->stop) {
    dorm_status tick = x->on_item(x->user);
    if (tick != DORM_OK && b->first_error == DORM_OK) {
      b->first_error = tick; /* on_item wrote errbuf */
      b->stop = true;
    }
  }
}

/* Logs an item's attributes skipped, or the item failed (as do_item does
 * for the outcomes of a first attempt that needed no write). */
static void log_outcome(bf *b, const dorm_av *item, dorm_arena *a, item_fills *f, outcome o, const char *why) {
  dorm_av key = key_of(b, item, a);
  if (o == OUT_FAILED) {
    f->state = NULL;
    log_item(b, &key, NULL, "failed", why, a);
    return;
  }
  for (size_t i = 0; f->state && i < b->s->fill_count; i++)
    if (f->state[i] == FILL_SKIP) log_item(b, &key, b->s->fills[i].attr, "skipped", f->why[i], a);
}

static void seg_scan(segment *g);
static void item_done(void *user, const dorm_pool_result *res);

/* The segment's chain ends (finished, stopped, or failed): its failure
 * stops the backfill. */
static void seg_end(segment *g) {
  bf *b = g->b;
  if (g->st != DORM_OK) stop_with(b, g->st, "backfill %s: %s", g->err);
}

/* The page's items are all done (or the segment stops): records the
 * position after it and sends the next page, or ends the chain. A page
 * not finished is not recorded: a resumed run reads it again. */
static void page_finished(segment *g) {
  bf *b = g->b;
  mig_backfill_ctx *x = b->x;
  if (g->st != DORM_OK || b->stop) {
    seg_end(g);
    return;
  }
  int next = 1 - g->cur;
  dorm_arena_reset(&g->keep[next]);
  const char *json = NULL;
  if (g->page.has_more) {
    size_t len;
    if (dorm_item_to_json(&g->page.last_key, &g->keep[next], 0, &json, &len, NULL, 0) != DORM_OK ||
        dorm_av_copy(&g->keep[next], &g->page.last_key, &g->start) != DORM_OK) {
      seg_fail(g, DORM_ERR_NO_MEMORY, "out of memory");
      seg_end(g);
      return;
    }
  }
  g->have_start = g->page.has_more;
  g->cur = next;
  mig_progress *p = &x->progress, *d = &g->pend;
  p->scanned += d->scanned;
  p->updated += d->updated;
  p->unchanged += d->unchanged;
  p->skipped += d->skipped;
  p->failed += d->failed;
  for (uint32_t k = 0; k < p->fill_count; k++) {
    p->fills[k].written += d->fills[k].written;
    p->fills[k].unchanged += d->fills[k].unchanged;
    p->fills[k].skipped += d->fills[k].skipped;
  }
  memset(d, 0, sizeof *d);
  x->progress.positions[g->index] = json;
  x->progress.seg_done[g->index] = !g->page.has_more;
  bool all = true;
  for (uint32_t k = 0; k < x->progress.segments; k++) all &= x->progress.seg_done[k];
  x->progress.done = all;
  if (b->log) fflush(b->log);
  if (x->on_page && !b->stop) {
    dorm_status st = x->on_page(x->user, &x->progress);
    if (st != DORM_OK && b->first_error == DORM_OK) {
      b->first_error = st; /* on_page wrote errbuf */
      b->stop = true;
    }
  }
  if (g->page.has_more && !b->stop) seg_scan(g);
  else seg_end(g);
}

/* Looks at the page's next items until the segment's in_flight writes are
 * in flight: items that need no write are counted at once, the others are
 * submitted (held back by delay_ms until their --rate slot is due). Ends
 * the page when nothing of it is left in flight and nothing more is to be
 * looked at (all done, the backfill stopped, or the segment failed). */
static void feed(segment *g) {
  bf *b = g->b;
  while (g->next < g->page.count && g->in_flight < b->in_flight && g->st == DORM_OK && !b->stop) {
    int64_t due = take_slot(b);
    if (due > g->last_due) g->last_due = due;
    size_t i = g->next++;
    const dorm_av *item = &g->page.items[i];
    item_req *q = dorm_arena_calloc(&g->page_arena, 1, sizeof *q);
    if (!q) {
      seg_fail(g, DORM_ERR_NO_MEMORY, "out of memory");
      break;
    }
    q->g = g;
    q->i = i;
    const char *why = NULL;
    dorm_status st = DORM_OK;
    outcome o = try_item(b, b->c, item, &g->page_arena, &q->f, &why, &st, &b->body);
    if (o == OUT_PENDING) {
      q->body = dorm_arena_strdup(&g->page_arena, b->body.buf);
      q->body_len = b->body.len;
      if (!q->body) {
        seg_fail(g, DORM_ERR_NO_MEMORY, "out of memory");
        break;
      }
      int64_t now = dorm__mig_now_ms();
      dorm_pool_request rq = {.operation = "UpdateItem", .body = b->body.buf, .body_len = b->body.len,
                              .delay_ms = due > now ? (long)(due - now) : 0, .on_done = item_done, .user = q};
      st = dorm_pool_submit(b->pool, &rq);
      if (st == DORM_OK) {
        if (++g->in_flight > b->x->progress.max_in_flight) b->x->progress.max_in_flight = g->in_flight;
        continue;
      }
      o = OUT_FAILED;
      why = "cannot queue the write (out of memory)";
    }
    log_outcome(b, item, &g->page_arena, &q->f, o, why);
    if (st != DORM_OK) seg_fail(g, st, why);
    tally(b, g, o, &q->f);
  }
  if (g->in_flight == 0) page_finished(g);
}

/* A pooled write completed: counted as updated, or (the item changed
 * since it was read) read again and retried with single calls, or failed;
 * then the next items are fed. */
static void item_done(void *user, const dorm_pool_result *res) {
  item_req *q = user;
  segment *g = q->g;
  bf *b = g->b;
  const dorm_av *item = &g->page.items[q->i];
  if (dorm__mig_transient(res->status) && q->rounds < BF_RESENDS && g->st == DORM_OK && !b->stop) {
    dorm_pool_request rq = {.operation = "UpdateItem", .body = q->body, .body_len = q->body_len,
                            .delay_ms = dorm__mig_pause_ms(++q->rounds), .on_done = item_done, .user = q};
    if (dorm_pool_submit(b->pool, &rq) == DORM_OK) {
      b->x->progress.resent++;
      return; /* still in flight */
    }
  }
  g->in_flight--;
  outcome o = OUT_UPDATED;
  if (res->status == DORM_OK) {
    log_outcome(b, item, &g->page_arena, &q->f, o, NULL); /* the attributes it could not have */
  } else if (res->status == DORM_ERR_CONDITION_FAILED) {
    dorm_status st = DORM_OK;
    o = do_item(b, b->c, item, &g->page_arena, &q->f, &st, true);
    if (st != DORM_OK) seg_fail(g, st, dorm_client_errmsg(b->c));
  } else {
    o = OUT_FAILED;
    log_outcome(b, item, &g->page_arena, &q->f, o, res->errmsg);
    /* Validation errors are about this item (e.g. a key over 2 KB);
     * anything else (network, auth, throttling after retries, the pool
     * freed) stops the backfill. */
    if (res->status != DORM_ERR_VALIDATION) seg_fail(g, res->status, res->errmsg);
  }
  tally(b, g, o, &q->f);
  feed(g);
}

/* A page of the segment arrived: its items go through feed. */
static void scan_done(void *user, const dorm_pool_result *res) {
  segment *g = user;
  bf *b = g->b;
  if (dorm__mig_transient(res->status) && g->scan_rounds < BF_RESENDS && !b->stop) {
    g->scan_pause_ms = dorm__mig_pause_ms(++g->scan_rounds);
    b->x->progress.resent++;
    seg_scan(g);
    return;
  }
  g->scan_rounds = 0;
  if (res->status != DORM_OK) {
    seg_fail(g, res->status, res->errmsg);
    seg_end(g);
    return;
  }
  if (b->stop) {
    seg_end(g);
    return;
  }
  dorm_arena_reset(&g->page_arena);
  g->next = 0;
  dorm_status st = dorm__page_parse(b->c, "Scan", res->body, res->body_len, &g->page_arena, &g->page);
  if (st != DORM_OK) {
    seg_fail(g, st, dorm_client_errmsg(b->c));
    seg_end(g);
    return;
  }
  feed(g);
}

/* Sends the segment's next Scan page, no earlier than its last --rate
 * slot is due (so items that needed no write are paced too). */
static void seg_scan(segment *g) {
  bf *b = g->b;
  mig_backfill_ctx *x = b->x;
  const dorm_mig_step *s = b->s;
  dorm_arena_reset(&b->scratch);
  dorm_expr ex;
  dorm_expr_init(&ex, &b->scratch);
  /* Only the model's items: its entity type, or else the literal text its
   * table keys start with (another model's items may have the same fields). */
  dorm_cond *own = s->entity_type ? dorm_cond_eq(&ex, "_type", dorm_av_str(s->entity_type)) : NULL;
  for (size_t i = 0; !s->entity_type && i < s->key_match_count; i++) {
    const dorm_mig_key_match *k = &s->key_match[i];
    dorm_operand *name = dorm_opd_name(&ex, k->attr, strlen(k->attr));
    dorm_operand *text = dorm_opd_value(&ex, dorm_av_str(k->text));
    dorm_cond *c = k->exact ? dorm_cond_compare(&ex, name, DORM_EQ, text) : dorm_cond_begins_with_opd(&ex, name, text);
    own = own ? dorm_cond_and(&ex, own, c) : c;
  }
  if (own) dorm_expr_filter(&ex, own);
  dorm_scan_input in;
  memset(&in, 0, sizeof in);
  in.table = s->table;
  in.expr = own ? &ex : NULL;
  in.limit = x->o->page_size ? x->o->page_size : 100;
  in.start_key = g->have_start ? &g->start : NULL;
  if (x->progress.segments > 1) {
    in.segment = g->index;
    in.total_segments = x->progress.segments;
  }
  const char *body;
  size_t len;
  dorm_status st = dorm__scan_body(b->c, &in, &body, &len);
  if (st == DORM_OK) {
    int64_t now = dorm__mig_now_ms();
    long delay = g->last_due > now ? (long)(g->last_due - now) : 0;
    if (g->scan_pause_ms > delay) delay = g->scan_pause_ms;
    g->scan_pause_ms = 0;
    dorm_pool_request rq = {.operation = "Scan", .body = body, .body_len = len, .delay_ms = delay,
                            .on_done = scan_done, .user = g};
    st = dorm_pool_submit(b->pool, &rq);
    if (st == DORM_OK) return;
    seg_fail(g, st, "cannot queue a Scan (out of memory)");
  } else {
    seg_fail(g, st, dorm_client_errmsg(b->c));
  }
  seg_end(g);
}

/* The per-attribute counts in the step's order, keeping those recorded by
 * an earlier run of the step (matched by attribute name). */
static dorm_status init_fill_counts(mig_backfill_ctx *x, const dorm_mig_step *s) {
  if (s->fill_count == 0 || s->fill_count > MIG_MAX_FILLS)
    return dorm__fail(x->errbuf, x->errcap, DORM_ERR_INVALID_ARGUMENT,
                          "backfill %s: the step computes %zu attributes (1 to %d)", s->model, s->fill_count,
                          MIG_MAX_FILLS);
  static const struct mig_fill_count zero;
  struct mig_fill_count *now = malloc(s->fill_count * sizeof *now);
  if (!now) return dorm__fail(x->errbuf, x->errcap, DORM_ERR_NO_MEMORY, "backfill %s: out of memory", s->model);
  for (size_t i = 0; i < s->fill_count; i++) {
    now[i] = zero;
    for (uint32_t k = 0; k < x->progress.fill_count; k++)
      if (x->progress.fills[k].attr && strcmp(x->progress.fills[k].attr, s->fills[i].attr) == 0) now[i] = x->progress.fills[k];
    now[i].attr = s->fills[i].attr;
  }
  memcpy(x->progress.fills, now, s->fill_count * sizeof *now);
  x->progress.fill_count = (uint32_t)s->fill_count;
  x->progress.model = s->model;
  free(now);
  return DORM_OK;
}

dorm_status dorm__mig_backfill(mig_backfill_ctx *x, const dorm_mig_step *s) {
  bf b = {.x = x, .s = s, .started_ms = dorm__mig_now_ms(), .first_error = DORM_OK};
  dorm_status fst = init_fill_counts(x, s);
  if (fst != DORM_OK) return fst;
  b.shown[0] = x->progress.scanned;
  b.shown[1] = x->progress.updated;
  b.shown[2] = x->progress.skipped;
  b.shown[3] = x->progress.failed;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description d;
  dorm_status st = dorm_describe_table(x->c, s->table, &a, &d);
  if (st != DORM_OK) {
    dorm__fail(x->errbuf, x->errcap, st, "backfill %s: DescribeTable %s: %s", s->model, s->table,
             dorm_client_errmsg(x->c));
    dorm_arena_free(&a);
    return st;
  }
  b.pk.name = d.pk.name ? strdup(d.pk.name) : NULL;
  b.sk.name = d.sk.name ? strdup(d.sk.name) : NULL;
  b.estimate = d.item_count;
  dorm_arena_free(&a);
  if (!b.pk.name) return dorm__fail(x->errbuf, x->errcap, DORM_ERR_BAD_RESPONSE, "DescribeTable %s: no key", s->table);
  /* Opened now, so that an unwritable path fails before any item is
   * touched; a log this run created and left empty is removed at the end
   * (a clean backfill leaves no empty file behind). */
  bool log_created = false;
  if (x->o->backfill_log) {
    log_created = access(x->o->backfill_log, F_OK) != 0;
    b.log = fopen(x->o->backfill_log, "a");
    if (!b.log) {
      free((char *)b.pk.name);
      free((char *)b.sk.name);
      return dorm__fail(x->errbuf, x->errcap, DORM_ERR_IO, "cannot open the backfill log %s", x->o->backfill_log);
    }
  }
  /* A resumed backfill keeps its segments: positions belong to them. */
  if (x->progress.segments == 0) {
    uint32_t n = x->o->segments ? x->o->segments : 1;
    x->progress.segments = n > MIG_MAX_SEGMENTS ? MIG_MAX_SEGMENTS : n;
  }
  uint32_t n = x->progress.segments;
  b.in_flight = x->o->in_flight ? x->o->in_flight : BF_IN_FLIGHT;
  if (b.in_flight > BF_MAX_IN_FLIGHT) b.in_flight = BF_MAX_IN_FLIGHT;
  b.c = x->c;
  dorm__jw_init(&b.body, 0);
  dorm_arena_init(&b.scratch, 0);
  segment *segs = calloc(n, sizeof *segs);
  /* Room for every segment's writes and its next Scan at once. */
  unsigned pool_cap = n * (b.in_flight + 1) > 1024 ? 1024 : n * (b.in_flight + 1);
  st = segs ? dorm_pool_new(b.c, pool_cap, &b.pool) : DORM_ERR_NO_MEMORY;
  if (st != DORM_OK) dorm__fail(x->errbuf, x->errcap, st, "backfill %s: %s", s->model, "cannot make a request pool");
  for (uint32_t i = 0; i < n && st == DORM_OK; i++) {
    segment *g = &segs[i];
    g->b = &b;
    g->index = i;
    /* The recorded position is copied: x->progress will point at our own copies. */
    const char *pos = x->progress.positions[i];
    x->progress.positions[i] = NULL;
    if (pos) {
      char err[256];
      const char *copy = dorm_arena_strdup(&g->keep[0], pos);
      if (!copy || dorm_item_from_json(copy, strlen(copy), &g->keep[0], &g->start, err, sizeof err) != DORM_OK) {
        st = dorm__fail(x->errbuf, x->errcap, DORM_ERR_BAD_RESPONSE,
                      "backfill %s: the recorded position of segment %u is unreadable: %s", s->model, i,
                      copy ? err : "out of memory");
        break;
      }
      x->progress.positions[i] = copy;
      g->have_start = true;
    }
  }
  if (st != DORM_OK) {
    for (uint32_t i = 0; i < n; i++) x->progress.positions[i] = NULL;
  } else {
    for (uint32_t i = 0; i < n && !b.stop; i++) {
      if (x->progress.seg_done[i]) continue;
      seg_scan(&segs[i]);
    }
    if (dorm_pool_pending(b.pool) > 0) {
      dorm_status rst = dorm_pool_run(b.pool);
      if (rst != DORM_OK) stop_with(&b, rst, "backfill %s: %s", "the request pool failed");
    }
    st = b.first_error;
  }
  progress_line(&b, true);
  if (b.log) {
    bool empty = ftell(b.log) == 0;
    fclose(b.log);
    if (empty && log_created) unlink(x->o->backfill_log);
  }
  dorm_pool_free(b.pool);
  /* The positions point into the segments' arenas, which go now. */
  for (uint32_t i = 0; i < n; i++) x->progress.positions[i] = NULL;
  for (uint32_t i = 0; segs && i < n; i++) {
    dorm_arena_free(&segs[i].keep[0]);
    dorm_arena_free(&segs[i].keep[1]);
    dorm_arena_free(&segs[i].page_arena);
  }
  dorm__jw_free(&b.body);
  dorm_arena_free(&b.scratch);
  free(segs);
  free((char *)b.pk.name);
  free((char *)b.sk.name);
  return st;
}
