/* deploy and resolve: applies the pending migrations of a directory in
 * order, each step once, under the lock, recording everything in the
 * history table, and resumes a migration that failed or was interrupted at
 * its step (a backfill at its recorded scan position).
 *
 * Every AWS step first checks whether its effect is already there (the
 * table exists, the index is gone, TTL is on...), so a step that was sent
 * but not recorded before a crash is not sent twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define DEFAULT_WAIT_MS (60L * 60 * 1000)
#define DEFAULT_LOCK_TTL_MS 60000L

typedef struct deployer {
  dorm_client *c;
  const dorm_mig_options *o;
  mig_history h;
  char owner[300];
  char *errbuf;
  size_t errcap;
  /* log lines not yet written to the history */
  char **pending;
  size_t npending, cap;
  const char *migration;
} deployer;

static void dlog(deployer *d, const char *fmt, ...) MIG_PRINTF(2, 3);
static void dlog(deployer *d, const char *fmt, ...) {
  char line[1024], stamped[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  char now[32];
  dorm__mig_now_text(now);
  snprintf(stamped, sizeof stamped, "%s %s", now, line);
  if (d->o->log) d->o->log(d->o->log_user, line);
  if (d->npending == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 16;
    char **bigger = realloc(d->pending, cap * sizeof *bigger);
    if (!bigger) return;
    d->pending = bigger;
    d->cap = cap;
  }
  char *copy = strdup(stamped);
  if (copy) d->pending[d->npending++] = copy;
}

static void clear_log(deployer *d) {
  for (size_t i = 0; i < d->npending; i++) free(d->pending[i]);
  d->npending = 0;
}

/* ---- waiting ---- */

static bool ready(const dorm_table_description *t, const char **why) {
  if (t->status != DORM_TABLE_ACTIVE) {
    *why = t->status_text;
    return false;
  }
  for (size_t i = 0; i < t->gsi_count; i++)
    if (t->gsis[i].status != DORM_INDEX_ACTIVE || t->gsis[i].backfilling) {
      *why = t->gsis[i].name;
      return false;
    }
  return true;
}

dorm_status dorm__mig_wait(dorm_client *c, mig_history *h, const dorm_mig_step *s, long timeout_ms, char *errbuf,
                     size_t errcap) {
  if (s->wait == DORM_MIG_WAIT_NONE) return DORM_OK;
  int64_t deadline = dorm__mig_now_ms() + (timeout_ms > 0 ? timeout_ms : DEFAULT_WAIT_MS);
  long pause = 100;
  unsigned flaky = 0; /* DescribeTable's transient failures in a row */
  for (;;) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_table_description t;
    dorm_status st = dorm_describe_table(c, s->table, &a, &t);
    /* A poll that fails after the client's retries (DynamoDB Local answers
     * DescribeTable 500 now and then while an index is created) is made
     * again after a pause, like the backfill's requests. */
    if (dorm__mig_transient(st) && flaky < MIG_RESENDS && dorm__mig_now_ms() < deadline) {
      dorm_arena_free(&a);
      dorm__mig_sleep_ms(dorm__mig_pause_ms(++flaky));
      continue;
    }
    flaky = 0;
    const char *why = "not found yet";
    bool done = false;
    if (s->wait == DORM_MIG_WAIT_TABLE_DELETED) {
      done = st == DORM_ERR_TABLE_NOT_FOUND;
      if (st == DORM_OK) why = t.status_text;
      else if (!done) goto failed;
    } else if (st == DORM_OK) {
      done = ready(&t, &why);
      if (!done && t.status == DORM_TABLE_ACTIVE)
        why = dorm_arena_printf(&a, "index %s is not ACTIVE yet", why);
    } else if (st != DORM_ERR_TABLE_NOT_FOUND) {
      goto failed;
    }
    if (done) {
      dorm_arena_free(&a);
      return DORM_OK;
    }
    if (dorm__mig_now_ms() >= deadline) {
      dorm__fail(errbuf, errcap, DORM_ERR_TIMEOUT, "table %s not ready after %ld s: %s (raise --timeout)", s->table,
               (timeout_ms > 0 ? timeout_ms : DEFAULT_WAIT_MS) / 1000, why ? why : "?");
      dorm_arena_free(&a);
      return DORM_ERR_TIMEOUT;
    }
    dorm_arena_free(&a);
    if (h && (st = dorm__mh_renew(h)) != DORM_OK) return st;
    dorm__mig_sleep_ms(pause);
    if (pause < 5000) pause *= 2;
    continue;
  failed:
    dorm__fail(errbuf, errcap, st, "waiting for table %s: %s", s->table, dorm_client_errmsg(c));
    dorm_arena_free(&a);
    return st;
  }
}

/* ---- steps ---- */

/* Is the step's effect already there? */
static dorm_status step_done(dorm_client *c, const dorm_mig_step *s, bool *done, char *errbuf, size_t errcap) {
  *done = false;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_status st = DORM_OK;
  if (s->kind == DORM_MIG_UPDATE_TTL) {
    dorm_ttl_description t;
    st = dorm_describe_ttl(c, s->table, &a, &t);
    if (st == DORM_OK) {
      bool on = t.status == DORM_TTL_ENABLED || t.status == DORM_TTL_ENABLING;
      *done = s->ttl_enabled ? on && dorm__mig_streq(t.attribute, s->ttl_attr) : !on || !dorm__mig_streq(t.attribute, s->ttl_attr);
    }
  } else {
    dorm_table_description t;
    st = dorm_describe_table(c, s->table, &a, &t);
    if (st == DORM_ERR_TABLE_NOT_FOUND) {
      st = DORM_OK;
      *done = s->kind == DORM_MIG_DELETE_TABLE;
    } else if (st == DORM_OK) {
      switch (s->kind) {
      case DORM_MIG_CREATE_TABLE: *done = true; break;
      case DORM_MIG_UPDATE_TABLE: {
        bool exists = false;
        for (size_t i = 0; i < t.gsi_count; i++) exists |= strcmp(t.gsis[i].name, s->index) == 0;
        *done = s->create_index ? exists : !exists;
        break;
      }
      case DORM_MIG_UPDATE_BILLING:
        *done = t.billing == s->billing &&
                (s->billing != DORM_BILLING_PROVISIONED ||
                 (t.throughput.read == s->throughput.read && t.throughput.write == s->throughput.write));
        break;
      case DORM_MIG_UPDATE_STREAM: *done = t.stream == s->stream; break;
      default: break;
      }
    }
  }
  if (st != DORM_OK)
    dorm__fail(errbuf, errcap, st, "checking %s: %s", s->table, dorm_client_errmsg(c));
  dorm_arena_free(&a);
  return st;
}

/* A create-GSI step, checked against the table as it is: found done by the
 * index's name, the index must also be the one the migration creates
 * (keys and projection, INCLUDE's attributes too, as its snapshot says).
 * One of the same name made by hand with other keys was taken as done:
 * deploy said applied, the backfill wrote keys no index reads, and the
 * application's queries on it failed; with INCLUDE(a) where the schema
 * says INCLUDE(a, b), queries quietly returned items without b. Not
 * found, the table's billing must still be the snapshot's: the request
 * gives the index capacity exactly when the table is provisioned, and a
 * table switched by hand failed with a ValidationException (DynamoDB
 * Local: a 500 InternalFailure) that did not say why. */
static dorm_status check_gsi_create(deployer *d, const dorm_mig_step *s, bool found) {
  dorm_arena a = DORM_ARENA_INIT;
  const char *text;
  size_t len;
  char err[512];
  dorm_mig_snapshot snap;
  dorm_status st = dorm_mig_read_file(d->o->dir, d->migration, "snapshot.json", &a, &text, &len, err, sizeof err);
  if (st == DORM_OK) st = dorm_mig_snapshot_parse(text, len, &a, &snap, err, sizeof err);
  if (st != DORM_OK) {
    dorm__fail(d->errbuf, d->errcap, st, "%s/%s/%s", d->o->dir, d->migration, err);
    goto out;
  }
  const dorm_mig_table *table = NULL;
  const dorm_mig_index *want = NULL;
  for (size_t i = 0; i < snap.table_count && !table; i++)
    if (strcmp(snap.tables[i].name, s->table) == 0) table = &snap.tables[i];
  for (size_t k = 0; table && k < table->gsi_count && !want; k++)
    if (strcmp(table->gsis[k].name, s->index) == 0) want = &table->gsis[k];
  if (!want) goto out; /* (a plan without its snapshot's index: nothing to compare with) */
  dorm_table_description t;
  if ((st = dorm_describe_table(d->c, s->table, &a, &t)) != DORM_OK) {
    dorm__fail(d->errbuf, d->errcap, st, "checking %s: %s", s->table, dorm_client_errmsg(d->c));
    goto out;
  }
  if (!found) {
    if (t.billing != table->billing)
      st = dorm__fail(d->errbuf, d->errcap, DORM_ERR_VALIDATION,
                      "%s is %s in DynamoDB, %s in this migration's snapshot (changed outside migrations?): the "
                      "request that creates GSI %s is written for %s; set the billing back, or declare it in the "
                      "schema and write a migration for it, and deploy again",
                      s->table, dorm_billing_mode_name(t.billing), dorm_billing_mode_name(table->billing), s->index,
                      dorm_billing_mode_name(table->billing));
    goto out;
  }
  for (size_t i = 0; i < t.gsi_count; i++) {
    const dorm_index_description *h = &t.gsis[i];
    if (strcmp(h->name, s->index) != 0) continue;
    if (!dorm__mig_key_eq(&h->pk, &want->pk) || !dorm__mig_key_eq(&h->sk, &want->sk) ||
        !dorm__mig_projection_eq(&h->projection, &want->projection))
      st = dorm__fail(d->errbuf, d->errcap, DORM_ERR_RESOURCE_IN_USE,
                      "GSI %s exists on %s with keys (%s) and projection %s, not the (%s), %s this migration "
                      "creates (made outside migrations?): delete it, or give the schema's index another name, and "
                      "deploy again", s->index, s->table, dorm__mig_keys_text(&a, &h->pk, &h->sk),
                      dorm__mig_projection_text(&a, &h->projection), dorm__mig_keys_text(&a, &want->pk, &want->sk),
                      dorm__mig_projection_text(&a, &want->projection));
  }
out:
  dorm_arena_free(&a);
  return st;
}

/* The step after s when s disables a stream that it re-enables with
 * another view type (a view type cannot change in place), else NULL. */
static const dorm_mig_step *stream_reenabled(const dorm_mig_step *s, const dorm_mig_step *next) {
  if (s->kind != DORM_MIG_UPDATE_STREAM || s->stream != DORM_STREAM_NONE || !next) return NULL;
  if (next->kind != DORM_MIG_UPDATE_STREAM || next->stream == DORM_STREAM_NONE) return NULL;
  return strcmp(next->table, s->table) == 0 ? next : NULL;
}

/* next: the step after s (NULL for the last). */
static dorm_status aws_step(deployer *d, const dorm_mig_step *s, const dorm_mig_step *next) {
  bool done;
  dorm_status st;
  /* A stream that already has the view type the next step enables (changed
   * by hand and recorded by this migration, or a deploy that died after
   * both calls) must not be turned off: disabling drops the live stream,
   * and its consumers miss every change until the new one is read. */
  const dorm_mig_step *reenable = stream_reenabled(s, next);
  if (reenable && (st = step_done(d->c, reenable, &done, d->errbuf, d->errcap)) != DORM_OK) return st;
  if (!reenable || !done) st = step_done(d->c, s, &done, d->errbuf, d->errcap);
  if (st == DORM_OK && s->kind == DORM_MIG_UPDATE_TABLE && s->create_index) st = check_gsi_create(d, s, done);
  if (st != DORM_OK) return st;
  if (done) {
    dlog(d, s->kind == DORM_MIG_CREATE_TABLE ? "  already done (the table exists; `dorm migrate status` shows any "
                                               "difference from the schema)"
            : reenable ? "  already done (the stream has the view type of the next step: not turned off)"
                       : "  already done (found in DynamoDB)");
  } else {
    const char *resp;
    size_t len;
    st = dorm_client_call(d->c, s->operation, s->request, strlen(s->request), &resp, &len);
    if (st != DORM_OK) {
      /* A concurrent or earlier attempt may have done it after all. */
      char msg[512];
      snprintf(msg, sizeof msg, "%s", dorm_client_errmsg(d->c));
      dorm_status st2 = step_done(d->c, s, &done, d->errbuf, d->errcap);
      if (st2 != DORM_OK || !done)
        return dorm__fail(d->errbuf, d->errcap, st, "%s on %s: %s", s->operation, s->table, msg);
    }
  }
  st = dorm__mig_wait(d->c, &d->h, s, d->o->wait_timeout_ms, d->errbuf, d->errcap);
  if (st == DORM_OK && s->wait != DORM_MIG_WAIT_NONE)
    dlog(d, "  %s", s->wait == DORM_MIG_WAIT_TABLE_DELETED ? "table deleted" : "table and indexes ACTIVE");
  return st;
}

typedef struct page_hook {
  deployer *d;
  size_t step;
} page_hook;

/* The history's writes during a backfill are sent again after a pause
 * like the backfill's own (a throttled or failing history write stopped a
 * backfill the faults of its table no longer could). Both are idempotent:
 * the progress is SET, the lock renewed by its owner. */
static dorm_status on_page(void *user, const mig_progress *p) {
  page_hook *k = user;
  dorm_status st;
  for (unsigned r = 1; dorm__mig_transient(st = dorm__mh_progress(&k->d->h, k->d->migration, k->step, p)) &&
                       r <= MIG_RESENDS; r++)
    dorm__mig_sleep_ms(dorm__mig_pause_ms(r));
  for (unsigned r = 1; st == DORM_OK && dorm__mig_transient(st = dorm__mh_renew(&k->d->h)) && r <= MIG_RESENDS; r++)
    dorm__mig_sleep_ms(dorm__mig_pause_ms(r));
  return st;
}

static dorm_status on_item(void *user) {
  page_hook *k = user;
  dorm_status st;
  for (unsigned r = 1; dorm__mig_transient(st = dorm__mh_renew(&k->d->h)) && r <= MIG_RESENDS; r++)
    dorm__mig_sleep_ms(dorm__mig_pause_ms(r));
  return st;
}

static dorm_status backfill_step(deployer *d, const mig_record *rec, const dorm_mig_step *s, size_t step) {
  mig_backfill_ctx x = {.c = d->c, .o = d->o, .migration = d->migration, .step_no = step,
                        .errbuf = d->errbuf, .errcap = d->errcap};
  dorm__mh_progress_of(rec, step, &x.progress);
  if (x.progress.done) {
    dlog(d, "  already done");
    return DORM_OK;
  }
  if (x.progress.scanned)
    dlog(d, "  resuming after %llu items", (unsigned long long)x.progress.scanned);
  page_hook hook = {d, step};
  x.on_page = on_page;
  x.on_item = on_item;
  x.user = &hook;
  dorm_status st = dorm__mig_backfill(&x, s);
  if (st != DORM_OK) return st;
  dlog(d, "  %llu items: %llu updated, %llu already right, %llu skipped, %llu failed",
       (unsigned long long)x.progress.scanned, (unsigned long long)x.progress.updated,
       (unsigned long long)x.progress.unchanged, (unsigned long long)x.progress.skipped,
       (unsigned long long)x.progress.failed);
  if (x.progress.max_in_flight > 1)
    dlog(d, "  up to %u writes in flight at once per segment", x.progress.max_in_flight);
  if (x.progress.resent)
    dlog(d, "  %llu requests sent again after a pause (throttling or errors that outlasted the client's retries)",
         (unsigned long long)x.progress.resent);
  bool gaps = x.progress.failed > 0;
  for (uint32_t i = 0; i < x.progress.fill_count; i++) {
    const struct mig_fill_count *f = &x.progress.fills[i];
    gaps |= f->skipped > 0;
    dlog(d, "    %s: %llu written, %llu already right, %llu skipped%s%s%s", f->attr, (unsigned long long)f->written,
         (unsigned long long)f->unchanged, (unsigned long long)f->skipped, f->skipped ? " (e.g. " : "",
         f->skipped ? f->reason : "", f->skipped ? ")" : "");
  }
  if (gaps)
    dlog(d, "  some items did not get every attribute: see %s; `dorm migrate status` reports this, and "
            "`dorm migrate status --strict` fails on it",
         d->o->backfill_log ? d->o->backfill_log : "the backfill log (none was given: --backfill-log)");
  return DORM_OK;
}

static dorm_status load_plan(const char *dir, const char *name, dorm_arena *a, dorm_mig_plan *p, char *errbuf,
                             size_t errcap) {
  const char *text;
  size_t len;
  char err[512];
  dorm_status st = dorm_mig_read_file(dir, name, "plan.json", a, &text, &len, err, sizeof err);
  if (st == DORM_OK) st = dorm_mig_plan_parse(text, len, a, p, err, sizeof err);
  if (st != DORM_OK) return dorm__fail(errbuf, errcap, st, "%s/%s/%s", dir, name, err);
  return DORM_OK;
}

static dorm_status apply_one(deployer *d, const dorm_mig_entry *m, const mig_record *rec, dorm_arena *a) {
  dorm_mig_plan p;
  dorm_status st = load_plan(d->o->dir, m->name, a, &p, d->errbuf, d->errcap);
  if (st != DORM_OK) return st;
  d->migration = m->name;
  bool resume = rec && (rec->state == DORM_MIG_FAILED || rec->state == DORM_MIG_RUNNING);
  size_t first = resume ? rec->steps_applied : 0;
  if (first > p.step_count) first = p.step_count;
  if ((st = dorm__mh_begin(&d->h, m, p.step_count, !resume)) != DORM_OK) return st;
  if (resume) dlog(d, "%s: resuming at step %zu of %zu", m->name, first + 1, p.step_count);
  else dlog(d, "%s: %zu step%s", m->name, p.step_count, p.step_count == 1 ? "" : "s");
  for (size_t i = first; i < p.step_count; i++) {
    const dorm_mig_step *s = &p.steps[i];
    dlog(d, "step %zu/%zu: %s", i + 1, p.step_count, s->summary ? s->summary : dorm_mig_step_kind_name(s->kind));
    if ((st = dorm__mh_renew(&d->h)) == DORM_OK)
      st = s->kind == DORM_MIG_BACKFILL ? backfill_step(d, resume ? rec : NULL, s, i + 1)
                                         : aws_step(d, s, i + 1 < p.step_count ? &p.steps[i + 1] : NULL);
    if (st != DORM_OK) {
      char err[1024];
      snprintf(err, sizeof err, "step %zu (%s): %s", i + 1, dorm_mig_step_kind_name(s->kind), d->errbuf);
      dlog(d, "failed: %s", err);
      dorm__mh_end(&d->h, m->name, DORM_MIG_FAILED, err, (const char *const *)d->pending, d->npending);
      clear_log(d);
      dorm__fail(d->errbuf, d->errcap, st, "%s: %s; fix the cause and deploy again (it resumes at this step), or see "
               "docs/migrations.md, \"Recovering\"", m->name, err);
      return st;
    }
    st = dorm__mh_step(&d->h, m->name, (uint32_t)(i + 1), (const char *const *)d->pending, d->npending);
    clear_log(d);
    if (st != DORM_OK) return st;
  }
  dlog(d, "%s: applied", m->name);
  st = dorm__mh_end(&d->h, m->name, DORM_MIG_APPLIED, NULL, (const char *const *)d->pending, d->npending);
  clear_log(d);
  return st;
}

/* Checks the recorded history against the directory: checksums of applied
 * migrations, migrations recorded but missing, and order. */
static dorm_status check_history(deployer *d, const dorm_mig_dir *dir, const mig_record *recs, size_t n,
                                 dorm_arena *a) {
  const char *last_applied = NULL;
  for (size_t i = 0; i < n; i++) {
    const dorm_mig_entry *m = NULL;
    for (size_t k = 0; k < dir->count && !m; k++)
      if (strcmp(dir->migrations[k].name, recs[i].name) == 0) m = &dir->migrations[k];
    if (!m) {
      if (recs[i].state == DORM_MIG_ROLLED_BACK) continue;
      return dorm__fail(d->errbuf, d->errcap, DORM_ERR_SCHEMA_MISMATCH,
                      "migration %s is recorded as %s in %s but missing from %s (restore it from version control, "
                      "or deploy from the directory that has it; a directory of another application needs a "
                      "history table of its own: --history-table NAME)", recs[i].name,
                      dorm_mig_state_name(recs[i].state), d->h.table, d->o->dir);
    }
    if (recs[i].state != DORM_MIG_ROLLED_BACK) {
      const char *changed = dorm__mh_changed_file(&recs[i], m, a);
      if (changed)
        return dorm__fail(d->errbuf, d->errcap, DORM_ERR_SCHEMA_MISMATCH,
                        "%s/%s/%s no longer matches the checksum recorded when the migration was %s; restore the "
                        "file (migrations that ran are never edited: write a new one), or after a deliberate fix "
                        "run `dorm migrate resolve`", d->o->dir, m->name, changed,
                        recs[i].state == DORM_MIG_APPLIED ? "applied" : "started");
    }
    if (recs[i].state == DORM_MIG_APPLIED) last_applied = recs[i].name;
  }
  for (size_t k = 0; k < dir->count && last_applied; k++) {
    const mig_record *r = dorm__mh_find(recs, n, dir->migrations[k].name);
    if (strcmp(dir->migrations[k].name, last_applied) < 0 && (!r || r->state == DORM_MIG_PENDING))
      return dorm__fail(d->errbuf, d->errcap, DORM_ERR_SCHEMA_MISMATCH,
                      "migration %s is older than %s, which is applied already (out of order, e.g. merged from "
                      "another branch); write it again with a new time (`dormc migrate diff`), or, if its steps "
                      "were applied by hand, `dorm migrate resolve --applied %s`", dir->migrations[k].name,
                      last_applied, dir->migrations[k].name);
  }
  return DORM_OK;
}

static dorm_status dry_run(deployer *d, const dorm_mig_dir *dir, const mig_record *recs, size_t n, dorm_arena *a) {
  size_t pending = 0;
  for (size_t k = 0; k < dir->count; k++) {
    const dorm_mig_entry *m = &dir->migrations[k];
    const mig_record *r = dorm__mh_find(recs, n, m->name);
    if (r && r->state == DORM_MIG_APPLIED) continue;
    dorm_mig_plan p;
    dorm_status st = load_plan(d->o->dir, m->name, a, &p, d->errbuf, d->errcap);
    if (st != DORM_OK) return st;
    size_t first = r && (r->state == DORM_MIG_FAILED || r->state == DORM_MIG_RUNNING) ? r->steps_applied : 0;
    dlog(d, "would apply %s%s:", m->name, first ? " (resuming)" : "");
    for (size_t i = first; i < p.step_count; i++) {
      const dorm_mig_step *s = &p.steps[i];
      dlog(d, "  step %zu/%zu: %s%s", i + 1, p.step_count, s->summary ? s->summary : "",
           s->destructive ? " [destructive]" : "");
      if (s->operation) dlog(d, "    %s %s", s->operation, s->request);
    }
    pending++;
  }
  if (!pending) dlog(d, "nothing to deploy: every migration in %s is applied", d->o->dir);
  clear_log(d);
  return DORM_OK;
}

static void deployer_init(deployer *d, dorm_client *c, const dorm_mig_options *o, char *errbuf, size_t errcap) {
  memset(d, 0, sizeof *d);
  d->c = c;
  d->o = o;
  d->errbuf = errbuf;
  d->errcap = errcap;
  if (o->owner) snprintf(d->owner, sizeof d->owner, "%s", o->owner);
  else dorm__mig_default_owner(d->owner, sizeof d->owner);
  d->h.c = c;
  d->h.table = o->history_table ? o->history_table : DORM_MIG_DEFAULT_HISTORY_TABLE;
  d->h.owner = d->owner;
  d->h.lock_ttl_ms = o->lock_ttl_ms > 0 ? o->lock_ttl_ms : DEFAULT_LOCK_TTL_MS;
  d->h.errbuf = errbuf;
  d->h.errcap = errcap;
  if (errbuf && errcap) errbuf[0] = '\0';
}

static void deployer_free(deployer *d) {
  dorm__mh_unlock(&d->h);
  clear_log(d);
  free(d->pending);
}

static dorm_status read_dir(deployer *d, dorm_arena *a, dorm_mig_dir *dir) {
  dorm_status st = dorm_mig_dir_read(d->o->dir, a, dir, d->errbuf, d->errcap);
  if (st == DORM_OK) st = dorm_mig_dir_verify(dir, d->errbuf, d->errcap);
  return st;
}

static dorm_status deploy_errbuf(dorm_client *c, const dorm_mig_options *o, char *errbuf, size_t errcap) {
  deployer d;
  deployer_init(&d, c, o, errbuf, errcap);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_mig_dir dir;
  mig_record *recs = NULL;
  size_t n = 0;
  dorm_status st = read_dir(&d, &a, &dir);
  if (st == DORM_OK && o->dry_run) {
    st = dorm__mh_load(&d.h, &a, &recs, &n, NULL);
    if (st == DORM_OK) st = check_history(&d, &dir, recs, n, &a);
    if (st == DORM_OK) st = dry_run(&d, &dir, recs, n, &a);
    goto done;
  }
  if (st == DORM_OK) st = dorm__mh_ensure(&d.h, o->wait_timeout_ms);
  if (st == DORM_OK) st = dorm__mh_lock(&d.h, o->lock_wait_ms);
  if (st == DORM_OK) st = dorm__mh_load(&d.h, &a, &recs, &n, NULL);
  if (st == DORM_OK) st = check_history(&d, &dir, recs, n, &a);
  size_t applied = 0;
  for (size_t k = 0; k < dir.count && st == DORM_OK; k++) {
    const mig_record *r = dorm__mh_find(recs, n, dir.migrations[k].name);
    if (r && r->state == DORM_MIG_APPLIED) continue;
    st = apply_one(&d, &dir.migrations[k], r, &a);
    applied += st == DORM_OK;
  }
  if (st == DORM_OK && applied == 0) dlog(&d, "nothing to deploy: every migration in %s is applied", o->dir);
  if (st == DORM_OK && applied) dlog(&d, "%zu migration%s applied", applied, applied == 1 ? "" : "s");
done:
  clear_log(&d);
  deployer_free(&d);
  dorm_arena_free(&a);
  return st;
}

static dorm_status resolve_errbuf(dorm_client *c, const dorm_mig_options *o, const char *name, bool applied,
                                  char *errbuf, size_t errcap) {
  deployer d;
  deployer_init(&d, c, o, errbuf, errcap);
  dorm_arena a = DORM_ARENA_INIT;
  dorm_mig_dir dir;
  mig_record *recs = NULL;
  size_t n = 0;
  const dorm_mig_entry *m = NULL;
  dorm_mig_plan p;
  dorm_status st = read_dir(&d, &a, &dir);
  for (size_t k = 0; st == DORM_OK && k < dir.count && !m; k++)
    if (strcmp(dir.migrations[k].name, name) == 0) m = &dir.migrations[k];
  if (st == DORM_OK && !m)
    st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "no migration %s in %s", name, o->dir);
  if (st == DORM_OK) st = load_plan(o->dir, name, &a, &p, errbuf, errcap);
  if (st == DORM_OK) st = dorm__mh_ensure(&d.h, o->wait_timeout_ms);
  if (st == DORM_OK) st = dorm__mh_lock(&d.h, o->lock_wait_ms);
  if (st == DORM_OK) st = dorm__mh_load(&d.h, &a, &recs, &n, NULL);
  if (st == DORM_OK) {
    const mig_record *r = dorm__mh_find(recs, n, name);
    if (!applied && (!r || (r->state != DORM_MIG_FAILED && r->state != DORM_MIG_RUNNING)))
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                    "%s is %s, not failed: only a failed (or interrupted) migration can be resolved as rolled back",
                    name, r ? dorm_mig_state_name(r->state) : "pending");
    /* An applied migration resolved as applied again is stamped again (its
     * files must be the ones recorded): how a team says that a table
     * deleted and created again since (status: "... was created at ...,
     * after X that creates it was applied") has its items back. */
    else if (applied && r && r->state == DORM_MIG_APPLIED && dorm__mh_changed_file(r, m, &a))
      st = dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "%s is applied already, and %s/%s/%s no longer matches the checksum recorded then", name,
                      o->dir, name, dorm__mh_changed_file(r, m, &a));
  }
  if (st == DORM_OK) st = dorm__mh_resolve(&d.h, m, p.step_count, applied ? DORM_MIG_APPLIED : DORM_MIG_ROLLED_BACK);
  if (st == DORM_OK) dlog(&d, "%s marked as %s", name, applied ? "applied" : "rolled back");
  clear_log(&d);
  deployer_free(&d);
  dorm_arena_free(&a);
  return st;
}

static dorm_status backfill_run_errbuf(dorm_client *c, const dorm_mig_options *o, const dorm_mig_plan *p,
                                       size_t step, char *errbuf, size_t errcap) {
  if (step < 1 || step > p->step_count || p->steps[step - 1].kind != DORM_MIG_BACKFILL)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "step %zu of %s is not a backfill step", step,
                    p->migration ? p->migration : "the plan");
  mig_backfill_ctx x = {.c = c, .o = o, .migration = p->migration, .step_no = step, .errbuf = errbuf,
                        .errcap = errcap};
  dorm_status st = dorm__mig_backfill(&x, &p->steps[step - 1]);
  if (st == DORM_OK && o->log) {
    char line[512];
    snprintf(line, sizeof line, "backfill %s: %llu items, %llu updated, %llu already right, %llu skipped, %llu failed",
             p->steps[step - 1].model, (unsigned long long)x.progress.scanned,
             (unsigned long long)x.progress.updated, (unsigned long long)x.progress.unchanged,
             (unsigned long long)x.progress.skipped, (unsigned long long)x.progress.failed);
    o->log(o->log_user, line);
    for (uint32_t i = 0; i < x.progress.fill_count; i++) {
      const struct mig_fill_count *f = &x.progress.fills[i];
      snprintf(line, sizeof line, "  %s: %llu written, %llu already right, %llu skipped%s%s%s", f->attr,
               (unsigned long long)f->written, (unsigned long long)f->unchanged, (unsigned long long)f->skipped,
               f->skipped ? " (e.g. " : "", f->skipped ? f->reason : "", f->skipped ? ")" : "");
      o->log(o->log_user, line);
    }
    if (x.progress.resent) {
      snprintf(line, sizeof line,
               "  %llu requests sent again after a pause (throttling or errors that outlasted the client's retries)",
               (unsigned long long)x.progress.resent);
      o->log(o->log_user, line);
    }
  }
  return st;
}

/* The engine builds its messages in a buffer as it goes (steps, files and
 * migrations are named on the way out); the public calls then report through
 * the client like every other call that takes one. */
dorm_status dorm__mig_report(dorm_client *c, dorm_status st, const char *operation, const char *message) {
  if (st == DORM_OK) {
    dorm__client_clear_error(c);
    return st;
  }
  return dorm__client_fail(c, st, operation, "%s", message[0] ? message : dorm_strerror(st));
}

dorm_status dorm_mig_deploy(dorm_client *c, const dorm_mig_options *o) {
  char err[1024] = "";
  return dorm__mig_report(c, deploy_errbuf(c, o, err, sizeof err), "migrate deploy", err);
}

dorm_status dorm_mig_resolve(dorm_client *c, const dorm_mig_options *o, const char *name, bool applied) {
  char err[1024] = "";
  return dorm__mig_report(c, resolve_errbuf(c, o, name, applied, err, sizeof err), "migrate resolve", err);
}

dorm_status dorm_mig_backfill_run(dorm_client *c, const dorm_mig_options *o, const dorm_mig_plan *p, size_t step) {
  char err[1024] = "";
  return dorm__mig_report(c, backfill_run_errbuf(c, o, p, step, err, sizeof err), "migrate backfill", err);
}
