/* The diff: two snapshots in, the steps between them out, in an order
 * DynamoDB accepts (one index change per UpdateTable, waits in between),
 * or the refusals of changes DynamoDB cannot make.
 *
 * Order per existing table: drop indexes, billing, stream, create indexes,
 * TTL, then the backfills those indexes need; new tables are created first
 * and dropped tables deleted last, so that a failure halfway never loses
 * data before everything else has been done. */
#include <stdio.h>
#include <string.h>

#include "plan_internal.h"

typedef struct differ {
  dorm_arena *a;
  bool allow_destructive;
  dorm_mig_step *steps;
  size_t nsteps, cap;
  dorm_mig_refusal *refusals;
  size_t nrefusals, rcap;
  dorm_status status;
} differ;

static dorm_mig_step *add_step(differ *d, dorm_mig_step_kind kind, const char *table) {
  if (d->status != DORM_OK) return NULL;
  if (d->nsteps == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    dorm_mig_step *s = dorm_arena_realloc(d->a, d->steps, d->cap * sizeof *s, cap * sizeof *s);
    if (!s) {
      d->status = DORM_ERR_NO_MEMORY;
      return NULL;
    }
    d->steps = s;
    d->cap = cap;
  }
  dorm_mig_step *s = &d->steps[d->nsteps++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->table = table;
  return s;
}

/* What a refusal is about (dorm_mig_refusal's table, index, model, attr). */
typedef struct about {
  const char *table, *index, *model, *attr;
} about;
#define ABOUT_TABLE(t) ((about){.table = (t)})
#define ABOUT_INDEX(t, i) ((about){.table = (t), .index = (i)})
#define ABOUT_ATTR(m, a) ((about){.model = (m), .attr = (a)})

static void refuse(differ *d, about what, const char *hint, const char *fmt, ...) MIG_PRINTF(4, 5);
static void refuse(differ *d, about what, const char *hint, const char *fmt, ...) {
  if (d->status != DORM_OK) return;
  if (d->nrefusals == d->rcap) {
    size_t cap = d->rcap ? d->rcap * 2 : 8;
    dorm_mig_refusal *r = dorm_arena_realloc(d->a, d->refusals, d->rcap * sizeof *r, cap * sizeof *r);
    if (!r) {
      d->status = DORM_ERR_NO_MEMORY;
      return;
    }
    d->refusals = r;
    d->rcap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  const char *msg = dorm_arena_vprintf(d->a, fmt, ap);
  va_end(ap);
  if (!msg) {
    d->status = DORM_ERR_NO_MEMORY;
    return;
  }
  d->refusals[d->nrefusals] = (dorm_mig_refusal){.message = msg, .hint = hint, .table = what.table,
                                                  .index = what.index, .model = what.model, .attr = what.attr};
  d->nrefusals++;
}

/* Destructive changes go through only with the flag; the step is marked. */
static bool destructive_ok(differ *d, about subject, const char *what) {
  if (d->allow_destructive) return true;
  refuse(d, subject, "pass --allow-destructive to write this migration (and review it: the data is gone once deployed)",
         "%s", what);
  return false;
}

static const dorm_mig_table *find_table(const dorm_mig_snapshot *s, const char *name) {
  for (size_t i = 0; s && i < s->table_count; i++)
    if (strcmp(s->tables[i].name, name) == 0) return &s->tables[i];
  return NULL;
}

static const dorm_mig_index *find_index(const dorm_mig_index *xs, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(xs[i].name, name) == 0) return &xs[i];
  return NULL;
}

static const dorm_mig_model *find_model(const dorm_mig_snapshot *s, const char *name) {
  for (size_t i = 0; s && i < s->model_count; i++)
    if (strcmp(s->models[i].name, name) == 0) return &s->models[i];
  return NULL;
}

static const dorm_mig_key *find_key(const dorm_mig_model *m, const char *attr) {
  for (size_t i = 0; m && i < m->key_count; i++)
    if (strcmp(m->keys[i].attr, attr) == 0) return &m->keys[i];
  return NULL;
}

static bool parts_eq(const dorm_mig_key *a, const dorm_mig_key *b) {
  if (!dorm__mig_streq(a->field_attr, b->field_attr) || !dorm__mig_streq(a->template_text, b->template_text)) return false;
  if (a->part_count != b->part_count) return false;
  for (size_t i = 0; i < a->part_count; i++) {
    const dorm_mig_part *x = &a->parts[i], *y = &b->parts[i];
    if (!dorm__mig_streq(x->literal, y->literal) || !dorm__mig_streq(x->attr, y->attr) || x->kind != y->kind) return false;
  }
  return true;
}

static const char *projection_text(dorm_arena *a, const dorm_projection *p) {
  if (p->type != DORM_PROJECT_INCLUDE) return dorm_projection_type_name(p->type);
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_puts(&b, "INCLUDE(");
  for (size_t i = 0; i < p->attribute_count; i++) dorm__buf_printf(&b, "%s%s", i ? ", " : "", p->attributes[i]);
  dorm__buf_puts(&b, ")");
  return dorm__buf_to_arena(&b, a);
}

static void set_request(differ *d, dorm_mig_step *s, const char *operation, dorm_status st, const char *json,
                        const char *err) {
  if (d->status != DORM_OK) return;
  if (st != DORM_OK) {
    /* The schema was checked by the compiler; this is a limit DynamoDB has
     * that the language does not (yet) check, e.g. a name it refuses. */
    refuse(d, ABOUT_TABLE(s->table), "fix the schema so that DynamoDB accepts the request", "table '%s': %s: %s", s->table, operation, err);
    return;
  }
  s->operation = operation;
  s->request = json;
}

static void create_table(differ *d, const dorm_mig_table *t) {
  dorm_mig_step *s = add_step(d, DORM_MIG_CREATE_TABLE, t->name);
  if (!s) return;
  dorm_table_def def;
  char err[256] = "";
  const char *json = NULL;
  dorm_status st = dorm__mig_table_def(t, d->a, &def);
  if (st == DORM_OK) st = dorm_table_def_json(&def, d->a, &json, NULL, err, sizeof err);
  if (st == DORM_ERR_NO_MEMORY) d->status = st;
  set_request(d, s, "CreateTable", st, json, err);
  s->wait = DORM_MIG_WAIT_TABLE_ACTIVE;
  const char *billing = t->billing == DORM_BILLING_ON_DEMAND
                            ? "on-demand"
                            : dorm_arena_printf(d->a, "provisioned read %lld write %lld", (long long)t->throughput.read,
                                                (long long)t->throughput.write);
  s->summary = dorm_arena_printf(d->a, "create table %s (%s; %s; %zu GSI%s, %zu LSI%s; stream %s)", t->name,
                                 dorm__mig_keys_text(d->a, &t->pk, &t->sk), billing, t->gsi_count,
                                 t->gsi_count == 1 ? "" : "s", t->lsi_count, t->lsi_count == 1 ? "" : "s",
                                 dorm_stream_view_name(t->stream));
}

static void ttl_step(differ *d, const char *table, const char *attr, bool enable, bool destructive) {
  dorm_mig_step *s = add_step(d, DORM_MIG_UPDATE_TTL, table);
  if (!s) return;
  s->ttl_attr = attr;
  s->ttl_enabled = enable;
  s->destructive = destructive;
  s->operation = "UpdateTimeToLive";
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_puts(&b, "{\"TableName\":");
  dorm__mig_json_string(&b, table);
  dorm__buf_puts(&b, ",\"TimeToLiveSpecification\":{\"Enabled\":");
  dorm__buf_puts(&b, enable ? "true" : "false");
  dorm__buf_puts(&b, ",\"AttributeName\":");
  dorm__mig_json_string(&b, attr);
  dorm__buf_puts(&b, "}}");
  s->request = dorm__buf_to_arena(&b, d->a);
  s->summary = dorm_arena_printf(d->a, "%s TTL on %s.%s", enable ? "enable" : "disable", table, attr);
  if (!s->request || !s->summary) d->status = DORM_ERR_NO_MEMORY;
}

static void change_step(differ *d, dorm_mig_step *s, const dorm_table_change *ch) {
  if (!s) return;
  const char *json = NULL;
  char err[256] = "";
  dorm_status st = dorm_table_change_json(s->table, ch, d->a, &json, NULL, err, sizeof err);
  if (st == DORM_ERR_NO_MEMORY) d->status = st;
  set_request(d, s, "UpdateTable", st, json, err);
  s->wait = DORM_MIG_WAIT_TABLE_ACTIVE;
}

static void billing_step(differ *d, const dorm_mig_table *o, const dorm_mig_table *t) {
  dorm_mig_step *s = add_step(d, DORM_MIG_UPDATE_BILLING, t->name);
  if (!s) return;
  s->billing = t->billing;
  s->throughput = t->billing == DORM_BILLING_PROVISIONED ? t->throughput : (dorm_throughput){0, 0};
  dorm_table_change ch = {.kind = DORM_CHANGE_BILLING, .billing = t->billing, .throughput = s->throughput};
  /* GSIs that exist at this point (the old ones that stay) need capacity
   * of their own on a provisioned table. */
  if (t->billing == DORM_BILLING_PROVISIONED) {
    dorm_gsi_throughput *its = dorm_arena_calloc(d->a, o->gsi_count ? o->gsi_count : 1, sizeof *its);
    if (!its) {
      d->status = DORM_ERR_NO_MEMORY;
      return;
    }
    size_t n = 0;
    for (size_t i = 0; i < o->gsi_count; i++)
      if (find_index(t->gsis, t->gsi_count, o->gsis[i].name)) {
        its[n].index_name = o->gsis[i].name;
        its[n].throughput = t->throughput;
        n++;
      }
    ch.index_throughputs = its;
    ch.index_throughput_count = n;
    s->summary = dorm_arena_printf(d->a, "set %s to provisioned billing (read %lld, write %lld%s)", t->name,
                                   (long long)t->throughput.read, (long long)t->throughput.write,
                                   n ? ", the same for its GSIs" : "");
  } else {
    s->summary = dorm_arena_printf(d->a, "set %s to on-demand billing", t->name);
  }
  change_step(d, s, &ch);
}

static void stream_step(differ *d, const char *table, dorm_stream_view v) {
  dorm_mig_step *s = add_step(d, DORM_MIG_UPDATE_STREAM, table);
  if (!s) return;
  s->stream = v;
  dorm_table_change ch = {.kind = DORM_CHANGE_STREAM, .stream = v};
  s->summary = v == DORM_STREAM_NONE ? dorm_arena_printf(d->a, "disable the stream of %s", table)
                                     : dorm_arena_printf(d->a, "enable the stream of %s (%s)", table,
                                                         dorm_stream_view_name(v));
  change_step(d, s, &ch);
}

static void gsi_step(differ *d, const dorm_mig_table *t, const dorm_mig_index *g, bool create) {
  dorm_mig_step *s = add_step(d, DORM_MIG_UPDATE_TABLE, t->name);
  if (!s) return;
  s->index = g->name;
  s->create_index = create;
  s->destructive = !create;
  dorm_gsi_def def;
  dorm__mig_gsi_def(t, g, &def);
  dorm_table_change ch = {.kind = create ? DORM_CHANGE_CREATE_GSI : DORM_CHANGE_DELETE_GSI,
                          .gsi = create ? &def : NULL,
                          .index_name = create ? NULL : g->name};
  s->summary = create ? dorm_arena_printf(d->a, "create GSI %s on %s (%s; projection %s)", g->name, t->name,
                                          dorm__mig_keys_text(d->a, &g->pk, &g->sk), projection_text(d->a, &g->projection))
                      : dorm_arena_printf(d->a, "delete GSI %s from %s", g->name, t->name);
  change_step(d, s, &ch);
}

static void check_keys(differ *d, const dorm_mig_table *o, const dorm_mig_table *t) {
  static const char *hint = "create a table under a new physical name, copy the items into it, and drop the old "
                            "table (--allow-destructive) once nothing reads it";
  if (!dorm__mig_key_eq(&o->pk, &t->pk))
    refuse(d, ABOUT_TABLE(t->name), hint, "table '%s': its partition key changes (%s -> %s); DynamoDB cannot change a table's key schema",
           t->name, dorm__mig_keys_text(d->a, &o->pk, NULL), dorm__mig_keys_text(d->a, &t->pk, NULL));
  if (!dorm__mig_key_eq(&o->sk, &t->sk)) {
    const char *from = o->sk.name ? dorm__mig_keys_text(d->a, &o->sk, NULL) : "none";
    const char *to = t->sk.name ? dorm__mig_keys_text(d->a, &t->sk, NULL) : "none";
    refuse(d, ABOUT_TABLE(t->name), hint, "table '%s': its sort key changes (%s -> %s); DynamoDB cannot change a table's key schema",
           t->name, from, to);
  }
}

static void check_lsis(differ *d, const dorm_mig_table *o, const dorm_mig_table *t) {
  static const char *hint_add = "use a GSI instead (GSIs can be added), or create a new table with the LSI and "
                                "copy the items into it";
  static const char *hint_keep = "keep the LSI as it was in the schema, or move the items to a new table";
  for (size_t i = 0; i < t->lsi_count; i++) {
    const dorm_mig_index *old = find_index(o->lsis, o->lsi_count, t->lsis[i].name);
    if (!old)
      refuse(d, ABOUT_INDEX(t->name, t->lsis[i].name), hint_add, "table '%s': LSI '%s' is added to an existing table; DynamoDB creates LSIs only with "
             "the table", t->name, t->lsis[i].name);
    else if (!dorm__mig_key_eq(&old->sk, &t->lsis[i].sk) || !dorm__mig_projection_eq(&old->projection, &t->lsis[i].projection))
      refuse(d, ABOUT_INDEX(t->name, t->lsis[i].name), hint_keep, "table '%s': LSI '%s' changes its sort key or projection; DynamoDB cannot change an LSI",
             t->name, t->lsis[i].name);
  }
  for (size_t i = 0; i < o->lsi_count; i++)
    if (!find_index(t->lsis, t->lsi_count, o->lsis[i].name))
      refuse(d, ABOUT_TABLE(t->name), hint_keep, "table '%s': LSI '%s' is removed; DynamoDB cannot delete an LSI of an existing table",
             t->name, o->lsis[i].name);
}

/* Index and TTL changes of a table that exists in both snapshots. */
static void alter_table(differ *d, const dorm_mig_table *o, const dorm_mig_table *t) {
  check_keys(d, o, t);
  check_lsis(d, o, t);
  static const char *hint_gsi = "add the changed index under a new name (and drop the old one in a later "
                                "migration, with --allow-destructive, once no code queries it)";
  for (size_t i = 0; i < t->gsi_count; i++) {
    const dorm_mig_index *old = find_index(o->gsis, o->gsi_count, t->gsis[i].name);
    if (!old) continue;
    if (!dorm__mig_key_eq(&old->pk, &t->gsis[i].pk) || !dorm__mig_key_eq(&old->sk, &t->gsis[i].sk))
      refuse(d, ABOUT_INDEX(t->name, old->name), hint_gsi, "table '%s': GSI '%s' changes its keys (%s -> %s); DynamoDB cannot change an index's "
             "keys in place", t->name, old->name, dorm__mig_keys_text(d->a, &old->pk, &old->sk),
             dorm__mig_keys_text(d->a, &t->gsis[i].pk, &t->gsis[i].sk));
    else if (!dorm__mig_projection_eq(&old->projection, &t->gsis[i].projection))
      refuse(d, ABOUT_INDEX(t->name, old->name), hint_gsi, "table '%s': GSI '%s' changes its projection (%s -> %s); DynamoDB cannot change an "
             "index's projection in place", t->name, old->name, projection_text(d->a, &old->projection),
             projection_text(d->a, &t->gsis[i].projection));
  }
  for (size_t i = 0; i < o->gsi_count; i++)
    if (!find_index(t->gsis, t->gsi_count, o->gsis[i].name)) {
      const char *what = dorm_arena_printf(d->a, "table '%s': GSI '%s' is dropped; queries on it stop working",
                                           t->name, o->gsis[i].name);
      if (destructive_ok(d, ABOUT_TABLE(t->name), what)) gsi_step(d, o, &o->gsis[i], false);
    }
  if (o->billing != t->billing ||
      (t->billing == DORM_BILLING_PROVISIONED &&
       (o->throughput.read != t->throughput.read || o->throughput.write != t->throughput.write)))
    billing_step(d, o, t);
  if (o->stream != t->stream) {
    /* DynamoDB cannot change the view type of an enabled stream: off, then on. */
    if (o->stream != DORM_STREAM_NONE) stream_step(d, t->name, DORM_STREAM_NONE);
    if (t->stream != DORM_STREAM_NONE) stream_step(d, t->name, t->stream);
  }
  for (size_t i = 0; i < t->gsi_count; i++)
    if (!find_index(o->gsis, o->gsi_count, t->gsis[i].name)) gsi_step(d, t, &t->gsis[i], true);
  if (!dorm__mig_streq(o->ttl_attr, t->ttl_attr)) {
    if (o->ttl_attr) {
      const char *what = t->ttl_attr
                             ? dorm_arena_printf(d->a, "table '%s': TTL moves from '%s' to '%s'; items stop expiring by "
                                                 "'%s' (and DynamoDB allows one TTL change per hour)", t->name,
                                                 o->ttl_attr, t->ttl_attr, o->ttl_attr)
                             : dorm_arena_printf(d->a, "table '%s': TTL on '%s' is removed; items stop expiring",
                                                 t->name, o->ttl_attr);
      if (destructive_ok(d, ABOUT_TABLE(t->name), what)) ttl_step(d, t->name, o->ttl_attr, false, true);
    }
    if (t->ttl_attr) ttl_step(d, t->name, t->ttl_attr, true, false);
  }
}

/* Why a model's existing items need attribute attr (re)computed, or NULL. */
static const char *backfill_reason(differ *d, const dorm_mig_table *o, const dorm_mig_table *t,
                                   const dorm_mig_model *om, const dorm_mig_key *k) {
  const dorm_mig_key *ok = find_key(om, k->attr);
  const char *index = NULL;
  for (size_t i = 0; i < t->gsi_count && !index; i++)
    if (dorm__mig_streq(t->gsis[i].pk.name, k->attr) || dorm__mig_streq(t->gsis[i].sk.name, k->attr)) index = t->gsis[i].name;
  bool index_new = index && !find_index(o->gsis, o->gsi_count, index);
  if (index_new) return dorm_arena_printf(d->a, "new index %s", index);
  if (!ok) return dorm_arena_printf(d->a, "%s now fills %s", om->name, k->attr);
  if (!parts_eq(ok, k))
    return dorm_arena_printf(d->a, "the template of %s changed (was %s)", k->attr,
                             ok->template_text ? ok->template_text : "a field");
  return NULL;
}

static const dorm_mig_field *find_field(const dorm_mig_model *m, const char *attr) {
  for (size_t i = 0; i < m->field_count; i++)
    if (strcmp(m->fields[i].attr, attr) == 0) return &m->fields[i];
  return NULL;
}

/* key's template parts, each field part with its field's default: an item
 * stored without the field reads as the default, and the generated code
 * keys it so (a default on a field a template reads fills that key too),
 * so the backfill must compute the key from the default, not leave the
 * item out of the index. A copy: the snapshot's parts record no defaults.
 * NULL (d->status set) when out of memory. */
static dorm_mig_part *parts_with_defaults(differ *d, const dorm_mig_model *m, const dorm_mig_key *key) {
  dorm_mig_part *parts = dorm_arena_calloc(d->a, key->part_count ? key->part_count : 1, sizeof *parts);
  if (!parts) {
    d->status = DORM_ERR_NO_MEMORY;
    return NULL;
  }
  for (size_t i = 0; i < key->part_count; i++) {
    parts[i] = key->parts[i];
    const dorm_mig_field *f = parts[i].literal ? NULL : find_field(m, parts[i].attr);
    if (f) parts[i].dflt = f->dflt;
  }
  return parts;
}

/* How a built-in scalar type is stored: 'S', 'N', 'B' (bytes), 'b' (bool);
 * 0 for anything else (enums, structs, collections: not judged). n is the
 * length without a trailing '?'. */
static char stored_kind(const char *t, size_t n) {
  static const struct { const char *name; char kind; } kinds[] = {
      {"string", 'S'}, {"time", 'S'}, {"int", 'N'}, {"epoch", 'N'}, {"float", 'N'},
      {"decimal", 'N'}, {"bytes", 'B'}, {"bool", 'b'}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strlen(kinds[i].name) == n && strncmp(kinds[i].name, t, n) == 0) return kinds[i].kind;
  return 0;
}

/* Whether the values stored for a field typed was still read as one typed
 * now: the same type, or a wider one over the same stored kind (int and
 * epoch to each other and to float or decimal, float and decimal to each
 * other, time to string). Types other than built-in scalars pass. */
static bool type_change_reads(const char *was, const char *now) {
  size_t wn = strcspn(was, "?"), nn = strcspn(now, "?");
  if (wn == nn && strncmp(was, now, wn) == 0) return true;
  char wk = stored_kind(was, wn), nk = stored_kind(now, nn);
  if (!wk || !nk) return true;
  if (wk != nk) return false;
  bool was_int = strncmp(was, "int", wn) == 0 || strncmp(was, "epoch", wn) == 0;
  bool now_int = strncmp(now, "int", nn) == 0 || strncmp(now, "epoch", nn) == 0;
  if (wk == 'N') return now_int ? was_int : true; /* 1.5 is no int */
  if (wk == 'S') return strncmp(now, "string", nn) == 0; /* any text is no time */
  return true;
}

/* The fields of model m that the items stored under om may lack: a field
 * with a default gets a backfill of it (appended to fills; returns the new
 * count), a required field without one is refused, since those items could
 * no longer be read. Needs both snapshots to record fields (older ones did
 * not). */
static size_t default_fills(differ *d, const dorm_mig_model *m, const dorm_mig_model *om, dorm_mig_fill *fills,
                            size_t nfills, dorm__buf *why, dorm__buf *what) {
  if (!m->has_fields || !om->has_fields) return nfills;
  for (size_t i = 0; i < m->field_count; i++) {
    const dorm_mig_field *f = &m->fields[i];
    const dorm_mig_field *of = find_field(om, f->attr);
    if (of && of->type_text && f->type_text && !type_change_reads(of->type_text, f->type_text)) {
      refuse(d, ABOUT_ATTR(m->name, f->attr), "keep the type, or add a field under another name (optional or with a "
             "default) and copy the values into it with a program of your own", "model '%s': field '%s' changes its "
             "type (%s -> %s); the values already stored could no longer be read as %s", m->name, f->name,
             of->type_text, f->type_text, f->type_text);
      continue;
    }
    /* The stored values are plaintext or envelopes: the new code refuses
     * plaintext where it expects an envelope (and the plaintext stays in
     * the table), and reads an envelope where it expects a plain value as
     * that value (a struct or json field quietly as the envelope's members). */
    if (of && of->encrypted_known && f->encrypted_known && of->encrypted != f->encrypted) {
      if (f->encrypted)
        refuse(d, ABOUT_ATTR(m->name, f->attr), "keep it as it is, or add an @encrypted field under another name and "
               "copy the values into it with a program of your own (then remove the plaintext attribute)", "model '%s': "
               "field '%s' becomes @encrypted; the values already stored are plaintext, which the new code refuses to "
               "read as envelopes, and which would stay in the table", m->name, f->name);
      else
        refuse(d, ABOUT_ATTR(m->name, f->attr), "keep @encrypted, or add a plain field under another name and copy the "
               "decrypted values into it with a program of your own", "model '%s': field '%s' is no longer @encrypted; "
               "the values already stored are envelopes, which the new code would read as plain values (a struct or "
               "json field quietly as the envelope's members)", m->name, f->name);
      continue;
    }
    /* Items may lack it: it is new, or it was optional (or @omit_empty...). */
    bool may_lack = !of || (!of->required && !of->dflt.type);
    if (!may_lack) continue;
    if (f->dflt.type) {
      fills[nfills].attr = f->attr;
      fills[nfills].dflt = f->dflt;
      const char *reason = dorm_arena_printf(d->a, "%s field %s has a default", of ? "the now required" : "new",
                                             f->name);
      dorm__buf_printf(why, "%s%s", why->len ? "; " : "", reason ? reason : "");
      if (strcmp(f->dflt.type, "S") == 0) dorm__buf_printf(what, "%s%s = \"%s\" where absent", nfills ? ", " : "", f->attr, f->dflt.value);
      else dorm__buf_printf(what, "%s%s = %s where absent", nfills ? ", " : "", f->attr, f->dflt.value);
      nfills++;
    } else if (f->required) {
      const char *t = f->type_text && *f->type_text ? f->type_text : "T";
      const char *hint = dorm_arena_printf(d->a, "give it a default (%s: %s = ...;) or make it optional (%s: %s?;)",
                                           f->name, t, f->name, t);
      if (of)
        refuse(d, ABOUT_ATTR(m->name, f->attr), hint ? hint : "", "model '%s': field '%s' becomes required without a default; items stored "
               "without it could no longer be read", m->name, f->name);
      else
        refuse(d, ABOUT_ATTR(m->name, f->attr), hint ? hint : "", "model '%s': new field '%s' is required and has no default; the items already "
               "stored lack it and could no longer be read", m->name, f->name);
    }
  }
  return nfills;
}

/* For a model without an entity type: the literal text its table key
 * templates start with, which tells its items from other models' on a
 * shared table (see dorm_mig_key_match). */
static void key_match(differ *d, const dorm_mig_model *m, const dorm_mig_table *t, dorm_mig_step *s) {
  if (m->entity_type) return;
  s->key_match = dorm_arena_calloc(d->a, 2, sizeof *s->key_match);
  if (!s->key_match) {
    d->status = DORM_ERR_NO_MEMORY;
    return;
  }
  for (size_t k = 0; k < m->key_count; k++) {
    const dorm_mig_key *key = &m->keys[k];
    bool table_key = dorm__mig_streq(key->attr, t->pk.name) || dorm__mig_streq(key->attr, t->sk.name);
    if (!table_key || key->field_attr || key->part_count == 0 || !key->parts[0].literal) continue;
    dorm__buf b = DORM__BUF_INIT;
    size_t i = 0;
    for (; i < key->part_count && key->parts[i].literal; i++) dorm__buf_puts(&b, key->parts[i].literal);
    dorm_mig_key_match *km = &s->key_match[s->key_match_count++];
    km->attr = key->attr;
    km->exact = i == key->part_count;
    km->text = dorm__buf_to_arena(&b, d->a);
    if (!km->text) d->status = DORM_ERR_NO_MEMORY;
  }
}

static void backfills(differ *d, const dorm_mig_snapshot *old_snap, const dorm_mig_snapshot *new_snap,
                      const dorm_mig_table *o, const dorm_mig_table *t) {
  for (size_t i = 0; i < new_snap->model_count; i++) {
    const dorm_mig_model *m = &new_snap->models[i];
    if (strcmp(m->table, t->name) != 0) continue;
    const dorm_mig_model *om = find_model(old_snap, m->name);
    if (!om || strcmp(om->table, t->name) != 0) continue; /* a new model has no items yet */
    dorm_mig_fill *fills = dorm_arena_calloc(d->a, m->key_count + m->field_count + 1, sizeof *fills);
    if (!fills) {
      d->status = DORM_ERR_NO_MEMORY;
      return;
    }
    size_t nfills = 0;
    dorm__buf why = DORM__BUF_INIT, what = DORM__BUF_INIT;
    for (size_t k = 0; k < m->key_count; k++) {
      const dorm_mig_key *key = &m->keys[k];
      bool table_key = dorm__mig_streq(key->attr, t->pk.name) || dorm__mig_streq(key->attr, t->sk.name);
      const dorm_mig_key *ok = find_key(om, key->attr);
      if (table_key) {
        if (ok && !parts_eq(ok, key))
          refuse(d, ABOUT_ATTR(m->name, key->attr), "keep the old template; re-keying items means copying them to new keys with a program of "
                 "your own", "model '%s': the %s of table key '%s' changes (%s -> %s); existing items would keep "
                 "their old primary keys and no longer be found", m->name, key->field_attr ? "field" : "template",
                 key->attr, ok->template_text ? ok->template_text : ok->field_attr,
                 key->template_text ? key->template_text : key->field_attr);
        continue;
      }
      if (key->field_attr) continue; /* the item stores it already */
      const char *reason = backfill_reason(d, o, t, om, key);
      if (!reason) continue;
      fills[nfills].attr = key->attr;
      fills[nfills].template_text = key->template_text;
      fills[nfills].parts = parts_with_defaults(d, m, key);
      fills[nfills].part_count = key->part_count;
      if (!fills[nfills].parts) return;
      if (!why.p || !strstr(why.p, reason)) dorm__buf_printf(&why, "%s%s", why.len ? "; " : "", reason);
      dorm__buf_printf(&what, "%s%s = \"%s\"", nfills ? ", " : "", key->attr, key->template_text);
      nfills++;
    }
    nfills = default_fills(d, m, om, fills, nfills, &why, &what);
    const char *why_text = dorm__buf_to_arena(&why, d->a), *what_text = dorm__buf_to_arena(&what, d->a);
    if (!nfills) continue;
    dorm_mig_step *s = add_step(d, DORM_MIG_BACKFILL, t->name);
    if (!s) return;
    s->model = m->name;
    s->entity_type = m->entity_type;
    key_match(d, m, t, s);
    s->version_attr = m->version_attr;
    s->fills = fills;
    s->fill_count = nfills;
    s->reason = why_text;
    s->summary = dorm_arena_printf(d->a, "backfill %s items in %s: %s", m->name, t->name, what_text);
    if (!s->summary || !why_text) d->status = DORM_ERR_NO_MEMORY;
  }
}

dorm_status dorm_mig_diff(const dorm_mig_snapshot *old_snap, const dorm_mig_snapshot *new_snap,
                          bool allow_destructive, const char *name, dorm_arena *a, dorm_mig_plan *plan,
                          dorm_mig_refusal **refusals, size_t *refusal_count) {
  static const dorm_mig_snapshot empty = {0};
  if (!old_snap) old_snap = &empty;
  differ d = {.a = a, .allow_destructive = allow_destructive, .status = DORM_OK};
  for (size_t i = 0; i < new_snap->table_count; i++)
    if (!find_table(old_snap, new_snap->tables[i].name)) {
      create_table(&d, &new_snap->tables[i]);
      if (new_snap->tables[i].ttl_attr) ttl_step(&d, new_snap->tables[i].name, new_snap->tables[i].ttl_attr, true, false);
    }
  for (size_t i = 0; i < new_snap->table_count; i++) {
    const dorm_mig_table *o = find_table(old_snap, new_snap->tables[i].name);
    if (!o) continue;
    alter_table(&d, o, &new_snap->tables[i]);
    backfills(&d, old_snap, new_snap, o, &new_snap->tables[i]);
  }
  for (size_t i = 0; i < old_snap->table_count; i++) {
    const dorm_mig_table *o = &old_snap->tables[i];
    if (find_table(new_snap, o->name)) continue;
    const char *what = dorm_arena_printf(a, "table '%s' is dropped; DeleteTable deletes every item in it", o->name);
    if (!destructive_ok(&d, ABOUT_TABLE(o->name), what)) continue;
    dorm_mig_step *s = add_step(&d, DORM_MIG_DELETE_TABLE, o->name);
    if (!s) break;
    s->destructive = true;
    s->operation = "DeleteTable";
    dorm__buf b = DORM__BUF_INIT;
    dorm__buf_puts(&b, "{\"TableName\":");
    dorm__mig_json_string(&b, o->name);
    dorm__buf_puts(&b, "}");
    s->request = dorm__buf_to_arena(&b, a);
    s->wait = DORM_MIG_WAIT_TABLE_DELETED;
    s->summary = dorm_arena_printf(a, "delete table %s and every item in it", o->name);
  }
  plan->migration = name;
  plan->steps = d.steps;
  plan->step_count = d.status == DORM_OK ? d.nsteps : 0;
  *refusals = d.refusals;
  *refusal_count = d.nrefusals;
  if (d.status != DORM_OK) return d.status;
  return d.nrefusals ? DORM_ERR_INVALID_ARGUMENT : DORM_OK;
}
