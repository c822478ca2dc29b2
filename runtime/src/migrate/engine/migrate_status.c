/* status: what is applied, pending and failed, and drift: how the live
 * tables (DescribeTable, DescribeTimeToLive) differ from the snapshot of the
 * last applied migration. Reads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dorm/timefmt.h"
#include "engine_internal.h"

dorm_status dorm__mig_live_snapshot(dorm_client *c, const char *const *tables, size_t n, dorm_arena *a,
                                    dorm_mig_snapshot *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  out->tables = dorm_arena_calloc(a, n ? n : 1, sizeof *out->tables);
  if (!out->tables) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < n; i++) {
    dorm_table_description d;
    dorm_status st = dorm_describe_table(c, tables[i], a, &d);
    if (st == DORM_ERR_TABLE_NOT_FOUND) continue;
    if (st != DORM_OK) return dorm__fail(errbuf, errcap, st, "DescribeTable %s: %s", tables[i], dorm_client_errmsg(c));
    dorm_ttl_description ttl;
    st = dorm_describe_ttl(c, tables[i], a, &ttl);
    if (st != DORM_OK)
      return dorm__fail(errbuf, errcap, st, "DescribeTimeToLive %s: %s", tables[i], dorm_client_errmsg(c));
    dorm_mig_table *t = &out->tables[out->table_count++];
    t->name = d.name && *d.name ? d.name : tables[i];
    t->pk = d.pk;
    t->sk = d.sk;
    t->billing = d.billing;
    if (d.billing == DORM_BILLING_PROVISIONED) t->throughput = d.throughput;
    t->stream = d.stream;
    if ((ttl.status == DORM_TTL_ENABLED || ttl.status == DORM_TTL_ENABLING) && ttl.attribute && *ttl.attribute)
      t->ttl_attr = ttl.attribute;
    t->gsis = dorm_arena_calloc(a, d.gsi_count ? d.gsi_count : 1, sizeof *t->gsis);
    t->lsis = dorm_arena_calloc(a, d.lsi_count ? d.lsi_count : 1, sizeof *t->lsis);
    if (!t->gsis || !t->lsis) return DORM_ERR_NO_MEMORY;
    for (size_t k = 0; k < d.gsi_count; k++)
      t->gsis[k] = (dorm_mig_index){d.gsis[k].name, d.gsis[k].pk, d.gsis[k].sk, d.gsis[k].projection};
    for (size_t k = 0; k < d.lsi_count; k++)
      t->lsis[k] = (dorm_mig_index){d.lsis[k].name, d.lsis[k].pk, d.lsis[k].sk, d.lsis[k].projection};
    t->gsi_count = d.gsi_count;
    t->lsi_count = d.lsi_count;
  }
  dorm_mig_snapshot_sort(out);
  return DORM_OK;
}

typedef struct lines {
  dorm_arena *a;
  const char **v;
  size_t n, cap;
  bool oom;
} lines;

static void add(lines *l, const char *fmt, ...) MIG_PRINTF(2, 3);
static void add(lines *l, const char *fmt, ...) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    const char **v = dorm_arena_realloc(l->a, l->v, l->cap * sizeof *v, cap * sizeof *v);
    if (!v) {
      l->oom = true;
      return;
    }
    l->v = v;
    l->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  const char *s = dorm_arena_vprintf(l->a, fmt, ap);
  va_end(ap);
  if (!s) l->oom = true;
  else l->v[l->n++] = s;
}

const char *dorm__mig_projection_text(dorm_arena *a, const dorm_projection *p) {
  if (p->type != DORM_PROJECT_INCLUDE) return dorm_projection_type_name(p->type);
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_puts(&b, "INCLUDE(");
  for (size_t i = 0; i < p->attribute_count; i++) dorm__buf_printf(&b, "%s%s", i ? ", " : "", p->attributes[i]);
  dorm__buf_puts(&b, ")");
  return dorm__buf_to_arena(&b, a);
}

static const char *billing_text(dorm_arena *a, const dorm_mig_table *t) {
  if (t->billing == DORM_BILLING_ON_DEMAND) return "PAY_PER_REQUEST";
  return dorm_arena_printf(a, "PROVISIONED (read %lld, write %lld)", (long long)t->throughput.read,
                           (long long)t->throughput.write);
}

static void compare_indexes(lines *l, const char *table, const char *kind, const dorm_mig_index *want, size_t nw,
                            const dorm_mig_index *have, size_t nh) {
  for (size_t i = 0; i < nw; i++) {
    const dorm_mig_index *h = NULL;
    for (size_t k = 0; k < nh && !h; k++)
      if (strcmp(have[k].name, want[i].name) == 0) h = &have[k];
    if (!h) {
      add(l, "table %s: %s %s is missing in DynamoDB", table, kind, want[i].name);
      continue;
    }
    if (!dorm__mig_key_eq(&h->pk, &want[i].pk) || !dorm__mig_key_eq(&h->sk, &want[i].sk))
      add(l, "table %s: %s %s has keys (%s) in DynamoDB, (%s) in the snapshot", table, kind, want[i].name,
          dorm__mig_keys_text(l->a, &h->pk, &h->sk), dorm__mig_keys_text(l->a, &want[i].pk, &want[i].sk));
    if (!dorm__mig_projection_eq(&h->projection, &want[i].projection))
      add(l, "table %s: %s %s projects %s in DynamoDB, %s in the snapshot", table, kind, want[i].name,
          dorm__mig_projection_text(l->a, &h->projection), dorm__mig_projection_text(l->a, &want[i].projection));
  }
  for (size_t k = 0; k < nh; k++) {
    bool known = false;
    for (size_t i = 0; i < nw && !known; i++) known = strcmp(have[k].name, want[i].name) == 0;
    if (!known) add(l, "table %s: %s %s exists in DynamoDB but not in the snapshot", table, kind, have[k].name);
  }
}

dorm_status dorm_mig_compare(const dorm_mig_snapshot *expected, const dorm_mig_snapshot *live, dorm_arena *a,
                             const char ***out, size_t *count) {
  lines l = {.a = a};
  for (size_t i = 0; i < expected->table_count; i++) {
    const dorm_mig_table *w = &expected->tables[i], *h = NULL;
    for (size_t k = 0; k < live->table_count && !h; k++)
      if (strcmp(live->tables[k].name, w->name) == 0) h = &live->tables[k];
    if (!h) {
      add(&l, "table %s is missing in DynamoDB", w->name);
      continue;
    }
    if (!dorm__mig_key_eq(&h->pk, &w->pk) || !dorm__mig_key_eq(&h->sk, &w->sk))
      add(&l, "table %s: keys (%s) in DynamoDB, (%s) in the snapshot", w->name, dorm__mig_keys_text(a, &h->pk, &h->sk),
          dorm__mig_keys_text(a, &w->pk, &w->sk));
    if (h->billing != w->billing ||
        (w->billing == DORM_BILLING_PROVISIONED &&
         (h->throughput.read != w->throughput.read || h->throughput.write != w->throughput.write)))
      add(&l, "table %s: billing is %s in DynamoDB, %s in the snapshot", w->name, billing_text(a, h),
          billing_text(a, w));
    if (h->stream != w->stream)
      add(&l, "table %s: stream is %s in DynamoDB, %s in the snapshot", w->name, dorm_stream_view_name(h->stream),
          dorm_stream_view_name(w->stream));
    if (!dorm__mig_streq(h->ttl_attr, w->ttl_attr))
      add(&l, "table %s: TTL is %s%s%s in DynamoDB, %s%s%s in the snapshot", w->name, h->ttl_attr ? "on '" : "off",
          h->ttl_attr ? h->ttl_attr : "", h->ttl_attr ? "'" : "", w->ttl_attr ? "on '" : "off",
          w->ttl_attr ? w->ttl_attr : "", w->ttl_attr ? "'" : "");
    compare_indexes(&l, w->name, "GSI", w->gsis, w->gsi_count, h->gsis, h->gsi_count);
    compare_indexes(&l, w->name, "LSI", w->lsis, w->lsi_count, h->lsis, h->lsi_count);
  }
  *out = l.v;
  *count = l.n;
  return l.oom ? DORM_ERR_NO_MEMORY : DORM_OK;
}

/* What the backfill steps recorded in r left undone: attributes not
 * computed for some items, and failed items. */
static dorm_status backfill_notes(const mig_record *r, dorm_arena *a, dorm_mig_status_entry *e) {
  if (!r->item || r->item->type != DORM_AV_M) return DORM_OK;
  lines l = {.a = a};
  mig_progress *p = malloc(sizeof *p);
  if (!p) return DORM_ERR_NO_MEMORY;
  /* Steps in order: backfill_<n> for n up to the step count. */
  for (size_t step = 1; step <= r->step_count; step++) {
    char attr[32];
    snprintf(attr, sizeof attr, "backfill_%zu", step);
    if (!dorm_av_map_get(r->item, attr)) continue;
    dorm__mh_progress_of(r, step, p);
    const char *model = p->model ? p->model : "?";
    if (p->fill_count == 0 && p->skipped)
      add(&l, "backfill step %zu (%s): %llu of %llu items skipped", step, model, (unsigned long long)p->skipped,
          (unsigned long long)p->scanned);
    for (uint32_t i = 0; i < p->fill_count; i++)
      if (p->fills[i].skipped)
        add(&l, "backfill step %zu (%s): %s not computed for %llu of %llu items%s%s%s", step, model, p->fills[i].attr,
            (unsigned long long)p->fills[i].skipped, (unsigned long long)p->scanned,
            p->fills[i].reason[0] ? " (e.g. " : "", p->fills[i].reason, p->fills[i].reason[0] ? ")" : "");
    if (p->failed)
      add(&l, "backfill step %zu (%s): %llu of %llu items failed", step, model, (unsigned long long)p->failed,
          (unsigned long long)p->scanned);
  }
  free(p);
  e->backfill_notes = l.v;
  e->backfill_note_count = l.n;
  return l.oom ? DORM_ERR_NO_MEMORY : DORM_OK;
}

/* Tables deleted and created again by hand since the migration that
 * creates them was applied: the keys, indexes and TTL may all be back as
 * the snapshot says (no drift), but the items from before are gone, and
 * the backfills recorded since ran on the old table. Found by the live
 * table's CreationDateTime being later than that migration's finish (a
 * minute's grace for the two clocks). One line per such table is added
 * to *drift. */
static dorm_status recreated_tables(dorm_client *c, const char *dir_path, const dorm_mig_dir *dir,
                                    const mig_record *recs, size_t n, const dorm_mig_snapshot *want, dorm_arena *a,
                                    const char ***drift, size_t *count, char *errbuf, size_t errcap) {
  for (size_t i = 0; i < want->table_count; i++) {
    const char *table = want->tables[i].name, *creator = NULL, *finished = NULL;
    for (size_t k = 0; k < dir->count; k++) {
      const mig_record *r = dorm__mh_find(recs, n, dir->migrations[k].name);
      if (!r || r->state != DORM_MIG_APPLIED || !r->finished) continue;
      const char *text;
      size_t len;
      char err[512];
      dorm_mig_plan p;
      if (dorm_mig_read_file(dir_path, dir->migrations[k].name, "plan.json", a, &text, &len, err, sizeof err) != DORM_OK ||
          dorm_mig_plan_parse(text, len, a, &p, err, sizeof err) != DORM_OK)
        continue; /* (a plan that does not read is reported by deploy) */
      for (size_t s = 0; s < p.step_count; s++)
        if (p.steps[s].kind == DORM_MIG_CREATE_TABLE && strcmp(p.steps[s].table, table) == 0) {
          creator = dir->migrations[k].name;
          finished = r->finished;
        }
    }
    int64_t done_ns;
    if (!creator || !dorm_time_parse(finished, strlen(finished), &done_ns)) continue;
    dorm_table_description t;
    dorm_status st = dorm_describe_table(c, table, a, &t);
    if (st == DORM_ERR_TABLE_NOT_FOUND) continue; /* (said already: missing) */
    if (st != DORM_OK) return dorm__fail(errbuf, errcap, st, "DescribeTable %s: %s", table, dorm_client_errmsg(c));
    if (t.created <= 0 || t.created <= (double)(done_ns / 1000000000) + 60) continue;
    char when[32];
    dorm_time_format((int64_t)t.created * 1000000000, when);
    const char *line = dorm_arena_printf(a, "table %s was created at %.19sZ, after %s that creates it was applied (%s): "
                                         "deleted and created again outside migrations? The items from before are "
                                         "gone, and the backfills recorded since ran on the old table",
                                         table, when, creator, finished);
    const char **more = dorm_arena_calloc(a, *count + 1, sizeof *more);
    if (!line || !more) return DORM_ERR_NO_MEMORY;
    if (*count) memcpy(more, *drift, *count * sizeof *more);
    more[(*count)++] = line;
    *drift = more;
  }
  return DORM_OK;
}

static dorm_status status_errbuf(dorm_client *c, const dorm_mig_options *o, dorm_arena *a, dorm_mig_report *out,
                                 char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  dorm_mig_dir dir;
  dorm_status st = dorm_mig_dir_read(o->dir, a, &dir, errbuf, errcap);
  if (st != DORM_OK) return st;
  char sumerr[1024];
  if (dorm_mig_dir_verify(&dir, sumerr, sizeof sumerr) != DORM_OK) out->sum_error = dorm_arena_strdup(a, sumerr);
  mig_history h = {.c = c, .table = o->history_table ? o->history_table : DORM_MIG_DEFAULT_HISTORY_TABLE,
                   .errbuf = errbuf, .errcap = errcap};
  mig_record *recs;
  size_t n;
  if ((st = dorm__mh_load(&h, a, &recs, &n, NULL)) != DORM_OK) return st;
  out->entries = dorm_arena_calloc(a, dir.count + n + 1, sizeof *out->entries);
  if (!out->entries) return DORM_ERR_NO_MEMORY;
  bool clean = !out->sum_error;
  const char *base = NULL;
  for (size_t k = 0; k < dir.count; k++) {
    const dorm_mig_entry *m = &dir.migrations[k];
    const mig_record *r = dorm__mh_find(recs, n, m->name);
    dorm_mig_status_entry *e = &out->entries[out->count++];
    e->name = m->name;
    e->in_dir = true;
    e->checksum_ok = true;
    if (r) {
      e->state = r->state;
      e->checksum_ok = r->state == DORM_MIG_ROLLED_BACK || !dorm__mh_changed_file(r, m, a);
      e->started = r->started;
      e->finished = r->finished;
      e->steps_applied = r->steps_applied;
      e->step_count = r->step_count;
      e->error = r->error;
      if ((st = backfill_notes(r, a, e)) != DORM_OK)
        return dorm__fail(errbuf, errcap, st, "reading the backfill counts of %s: out of memory", m->name);
      out->backfill_gaps |= e->backfill_note_count > 0;
    }
    if (e->state != DORM_MIG_APPLIED || !e->checksum_ok) clean = false;
    if (e->state == DORM_MIG_APPLIED) base = m->name;
  }
  for (size_t i = 0; i < n; i++) {
    bool in_dir = false;
    for (size_t k = 0; k < dir.count && !in_dir; k++) in_dir = strcmp(dir.migrations[k].name, recs[i].name) == 0;
    if (in_dir || recs[i].state == DORM_MIG_ROLLED_BACK) continue;
    dorm_mig_status_entry *e = &out->entries[out->count++];
    e->name = recs[i].name;
    e->state = recs[i].state;
    e->in_dir = false;
    e->checksum_ok = true;
    e->started = recs[i].started;
    e->finished = recs[i].finished;
    e->steps_applied = recs[i].steps_applied;
    e->step_count = recs[i].step_count;
    e->error = recs[i].error;
    clean = false;
  }
  if (base) {
    const char *text;
    size_t len;
    dorm_mig_snapshot want, live;
    st = dorm_mig_read_file(o->dir, base, "snapshot.json", a, &text, &len, errbuf, errcap);
    if (st == DORM_OK) st = dorm_mig_snapshot_parse(text, len, a, &want, errbuf, errcap);
    if (st != DORM_OK) return st;
    const char **names = dorm_arena_calloc(a, want.table_count ? want.table_count : 1, sizeof *names);
    if (!names) return DORM_ERR_NO_MEMORY;
    for (size_t i = 0; i < want.table_count; i++) names[i] = want.tables[i].name;
    st = dorm__mig_live_snapshot(c, names, want.table_count, a, &live, errbuf, errcap);
    if (st == DORM_OK) st = dorm_mig_compare(&want, &live, a, &out->drift, &out->drift_count);
    if (st == DORM_OK)
      st = recreated_tables(c, o->dir, &dir, recs, n, &want, a, &out->drift, &out->drift_count, errbuf, errcap);
    if (st != DORM_OK) return st;
    out->drift_base = base;
  }
  out->up_to_date = clean && out->drift_count == 0;
  return DORM_OK;
}

dorm_status dorm_mig_live_snapshot(dorm_client *c, const char *const *tables, size_t n, dorm_arena *a,
                                   dorm_mig_snapshot *out) {
  char err[1024] = "";
  return dorm__mig_report(c, dorm__mig_live_snapshot(c, tables, n, a, out, err, sizeof err), "migrate snapshot", err);
}

dorm_status dorm_mig_status(dorm_client *c, const dorm_mig_options *o, dorm_arena *a, dorm_mig_report *out) {
  char err[1024] = "";
  return dorm__mig_report(c, status_errbuf(c, o, a, out, err, sizeof err), "migrate status", err);
}
