/* dorm_model_table_ensure: a schema's table, created when missing, and
 * compared with the schema when it exists (keys, the declared GSIs and
 * LSIs, the stream, TTL), so that a table that lacks what the schema
 * declares fails here, naming the difference, rather than later as a
 * ValidationException on a query. */
#include <string.h>

#include "aws_internal.h"
#include "dorm/model.h"
#include "dorm/tables.h"

static bool key_eq(const dorm_key_attr *want, const dorm_key_attr *have) {
  if (!want->name || !have->name) return !want->name == !have->name;
  return strcmp(want->name, have->name) == 0 && want->type == have->type;
}

static void keys_text(dorm__buf *b, const dorm_key_attr *pk, const dorm_key_attr *sk) {
  dorm__buf_putc(b, '(');
  if (pk && pk->name) dorm__buf_printf(b, "%s %s", pk->name, dorm_key_type_name(pk->type));
  if (sk && sk->name) dorm__buf_printf(b, "%s%s %s", pk && pk->name ? ", " : "", sk->name, dorm_key_type_name(sk->type));
  dorm__buf_putc(b, ')');
}

static bool has_attr(const dorm_projection *p, const char *name) {
  for (size_t i = 0; i < p->attribute_count; i++)
    if (strcmp(p->attributes[i], name) == 0) return true;
  return false;
}

/* INCLUDE lists compare as sets: DescribeTable keeps no order. */
static bool projection_eq(const dorm_projection *want, const dorm_projection *have) {
  if (want->type != have->type) return false;
  if (want->type != DORM_PROJECT_INCLUDE) return true;
  if (want->attribute_count != have->attribute_count) return false;
  for (size_t i = 0; i < want->attribute_count; i++)
    if (!has_attr(have, want->attributes[i])) return false;
  return true;
}

static void projection_text(dorm__buf *b, const dorm_projection *p) {
  dorm__buf_puts(b, dorm_projection_type_name(p->type));
  if (p->type != DORM_PROJECT_INCLUDE) return;
  dorm__buf_putc(b, '(');
  for (size_t i = 0; i < p->attribute_count; i++) dorm__buf_printf(b, "%s%s", i ? ", " : "", p->attributes[i]);
  dorm__buf_putc(b, ')');
}

typedef struct diffs {
  dorm__buf b;
  size_t n;
} diffs;

static void next(diffs *d) { dorm__buf_puts(&d->b, d->n++ ? "; " : ""); }

/* One declared index against the live ones (pk of an LSI: not compared,
 * it is the table's). */
static void compare_index(diffs *d, const char *kind, const char *name, const dorm_key_attr *pk,
                          const dorm_key_attr *sk, const dorm_projection *proj, const dorm_index_description *have,
                          size_t nh) {
  const dorm_index_description *h = NULL;
  for (size_t k = 0; k < nh && !h; k++)
    if (have[k].name && strcmp(have[k].name, name) == 0) h = &have[k];
  if (!h) {
    next(d);
    dorm__buf_printf(&d->b, "missing %s %s", kind, name);
    return;
  }
  if ((pk && !key_eq(pk, &h->pk)) || !key_eq(sk, &h->sk)) {
    next(d);
    dorm__buf_printf(&d->b, "%s %s has keys ", kind, name);
    keys_text(&d->b, pk ? &h->pk : NULL, &h->sk);
    dorm__buf_puts(&d->b, ", the schema declares ");
    keys_text(&d->b, pk, sk);
  }
  if (!projection_eq(proj, &h->projection)) {
    next(d);
    dorm__buf_printf(&d->b, "%s %s projects ", kind, name);
    projection_text(&d->b, &h->projection);
    dorm__buf_puts(&d->b, ", the schema declares ");
    projection_text(&d->b, proj);
  }
}

static void compare(diffs *d, const dorm_model_table *t, const dorm_table_description *have,
                    const dorm_ttl_description *ttl) {
  const dorm_table_def *w = &t->def;
  if (!key_eq(&w->pk, &have->pk) || !key_eq(&w->sk, &have->sk)) {
    next(d);
    dorm__buf_puts(&d->b, "its key is ");
    keys_text(&d->b, &have->pk, &have->sk);
    dorm__buf_puts(&d->b, ", the schema declares ");
    keys_text(&d->b, &w->pk, &w->sk);
  }
  for (size_t i = 0; i < w->gsi_count; i++)
    compare_index(d, "GSI", w->gsis[i].name, &w->gsis[i].pk, &w->gsis[i].sk, &w->gsis[i].projection, have->gsis,
                  have->gsi_count);
  for (size_t i = 0; i < w->lsi_count; i++)
    compare_index(d, "LSI", w->lsis[i].name, NULL, &w->lsis[i].sk, &w->lsis[i].projection, have->lsis,
                  have->lsi_count);
  /* A stream or TTL the schema does not declare breaks nothing. */
  if (w->stream != DORM_STREAM_NONE && have->stream != w->stream) {
    next(d);
    if (have->stream == DORM_STREAM_NONE) dorm__buf_puts(&d->b, "stream is off");
    else dorm__buf_printf(&d->b, "stream is %s", dorm_stream_view_name(have->stream));
    dorm__buf_printf(&d->b, ", the schema declares %s", dorm_stream_view_name(w->stream));
  }
  if (t->ttl_attr && ttl && (ttl->status == DORM_TTL_ENABLED || ttl->status == DORM_TTL_ENABLING) &&
      (!ttl->attribute || strcmp(ttl->attribute, t->ttl_attr) != 0)) {
    next(d);
    dorm__buf_printf(&d->b, "TTL is on '%s', the schema declares '%s'", ttl->attribute ? ttl->attribute : "?",
                     t->ttl_attr);
  }
}

dorm_status dorm_model_table_ensure(dorm_client *c, const dorm_model_table *t, long timeout_ms) {
  dorm_status st = dorm_create_table(c, &t->def, NULL, NULL);
  /* An existing table is fine: ensure, not create. */
  if (st != DORM_OK && st != DORM_ERR_RESOURCE_IN_USE) return st;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_description have;
  st = dorm_wait_table_active(c, t->def.name, timeout_ms, &a, &have);
  dorm_ttl_description ttl;
  bool ttl_on = false;
  if (st == DORM_OK && t->ttl_attr) {
    st = dorm_describe_ttl(c, t->def.name, &a, &ttl);
    ttl_on = st == DORM_OK && (ttl.status == DORM_TTL_ENABLED || ttl.status == DORM_TTL_ENABLING);
  }
  if (st != DORM_OK) {
    dorm_arena_free(&a);
    return st;
  }
  diffs d = {.b = DORM__BUF_INIT};
  compare(&d, t, &have, t->ttl_attr ? &ttl : NULL);
  dorm_arena_free(&a);
  if (!dorm__buf_ok(&d.b)) st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, "ensure", "table %s: out of memory", t->def.name);
  else if (d.n)
    st = dorm__client_fail(c, DORM_ERR_SCHEMA_MISMATCH, "ensure",
                           "table %s: %.700s%s; run dormc migrate diff + dorm migrate deploy (docs/migrations.md)",
                           t->def.name, dorm__buf_text(&d.b), d.b.len > 700 ? "..." : "");
  if (st != DORM_OK) {
    dorm__buf_free(&d.b);
    return st;
  }
  dorm__buf_free(&d.b);
  if (!t->ttl_attr || ttl_on) {
    dorm__client_clear_error(c);
    return DORM_OK;
  }
  return dorm_update_ttl(c, t->def.name, t->ttl_attr, true);
}
