/* ct_run_multi: the steps over several items: query, scan, batches,
 * transactions, and the cursor encoding (see ct_run.h). */
#include <stdio.h>
#include <string.h>

#include "ct_run.h"
#include "ct_values.h"

static const void *field_value(const dorm_model_desc *m, const void *obj, uint32_t f) {
  return (const char *)obj + m->fields[f].offset;
}

/* The filter terms ANDed, built with x. NULL after ct_fail. */
static dorm_cond *build_filter(ct_step_ctx *c, dorm_expr *x) {
  const ct_step *s = c->s;
  dorm_cond **terms = dorm_arena_calloc(c->a, s->nfilters, sizeof *terms);
  if (!terms) {
    ct_fail(c, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < s->nfilters; i++) {
    const ct_filter *t = &s->filters[i];
    const void *lo = t->lo ? field_value(c->m, t->lo, t->field) : NULL;
    const void *hi = t->hi ? field_value(c->m, t->hi, t->field) : NULL;
    static const dorm_cmp_op cmp[] = {[CT_F_EQ] = DORM_EQ, [CT_F_NE] = DORM_NE, [CT_F_LT] = DORM_LT,
                                      [CT_F_LE] = DORM_LE, [CT_F_GT] = DORM_GT, [CT_F_GE] = DORM_GE};
    switch (t->op) {
    case CT_F_EQ:
    case CT_F_NE:
    case CT_F_LT:
    case CT_F_LE:
    case CT_F_GT:
    case CT_F_GE: terms[i] = dorm_model_cond_cmp(x, c->m, t->field, cmp[t->op], lo); break;
    case CT_F_BETWEEN: terms[i] = dorm_model_cond_between(x, c->m, t->field, lo, hi); break;
    case CT_F_BEGINS_WITH: terms[i] = dorm_model_cond_begins_with(x, c->m, t->field, t->prefix); break;
    case CT_F_CONTAINS:
      /* A set/list field: its one element. */
      terms[i] = dorm_model_cond_contains(x, c->m, t->field, t->elem ? ((const dorm_array_view *)lo)->items : lo);
      break;
    case CT_F_EXISTS: terms[i] = dorm_model_cond_exists(x, c->m, t->field); break;
    case CT_F_NOT_EXISTS: terms[i] = dorm_model_cond_not_exists(x, c->m, t->field); break;
    }
  }
  dorm_cond *all = dorm_cond_all(x, terms, s->nfilters);
  if (!all || dorm_expr_status(x) != DORM_OK) {
    ct_fail(c, "the filter does not build: %s", dorm_expr_errmsg(x));
    return NULL;
  }
  return all;
}

/* count / items expectations over n typed items (stride m->size). */
static void check_items(ct_step_ctx *x, const void *items, size_t n, const bool *found, size_t total) {
  const ct_expect *e = &x->s->expect;
  if (e->has_count && e->count != n) ct_fail(x, "expected count %zu, got %zu", e->count, n);
  if (!e->has_items) return;
  if (e->nitems != n) ct_fail(x, "expected %zu items, got %zu", e->nitems, n);
  size_t k = 0;
  for (size_t i = 0; i < total && k < e->nitems; i++) {
    if (found && !found[i]) continue;
    dorm_av view;
    if (!ct_typed_view(x, (const char *)items + i * x->m->size, x->s->fields, x->s->nfields, &view)) return;
    char label[48];
    snprintf(label, sizeof label, "items[%zu]: ", k);
    ct_match_item(x, label, &e->items[k], &view);
    k++;
  }
}

void ct_step_query(ct_step_ctx *x) {
  const ct_step *s = x->s;
  const ct_expect *e = &s->expect;
  dorm_query_opts o;
  memset(&o, 0, sizeof o);
  dorm_expr ex;
  dorm_expr_init(&ex, x->a);
  if (s->nfilters) {
    if (!(o.filter = build_filter(x, &ex))) return;
    o.expr = &ex;
  }
  o.fields = s->fields;
  o.nfields = s->nfields;
  o.limit = s->limit;
  o.descending = s->descending;
  o.consistent_read = x->m->indexes[s->index].kind != DORM_INDEX_GSI;
  if (s->cursor) {
    o.cursor = ct_resolve_cursor(x, s->cursor);
    if (!o.cursor) return;
    if (!o.cursor[0]) o.cursor = NULL; /* saved from a last page */
  }
  dorm_model_page page;
  memset(&page, 0, sizeof page);
  dorm_status st;
  if (s->op == CT_OP_QUERY) {
    dorm_sk_cond sk = {s->sk_op, s->lo, s->hi, s->prefix};
    st = dorm_model_query(x->r->c, x->m, s->index, s->pk_obj, s->sk_op ? &sk : NULL, &o, x->a, &page);
  } else {
    st = dorm_model_scan(x->r->c, x->m, s->index, &o, x->a, &page);
  }
  if (!ct_check_status(x, st)) return;
  if (s->save_cursor) {
    dorm_av cur = dorm_av_str(page.cursor);
    ct_set_var(x, s->save_cursor, page.cursor ? &cur : NULL);
  }
  check_items(x, page.items, page.count, NULL, page.count);
  if (e->has_has_more && e->has_more != page.has_more)
    ct_fail(x, "expected has_more %s, got %s", e->has_more ? "true" : "false", page.has_more ? "true" : "false");
  if (page.has_more != (page.cursor != NULL))
    ct_fail(x, "has_more is %s but the cursor is %s", page.has_more ? "true" : "false", page.cursor ? "set" : "NULL");
  if (e->cursor_equals) {
    const char *want = ct_resolve_cursor(x, e->cursor_equals);
    const char *have = page.cursor ? page.cursor : "";
    if (want && strcmp(want, have)) ct_fail(x, "expected cursor \"%s\", got \"%s\"", want, have);
  }
}

void ct_step_batch_get(ct_step_ctx *x) {
  const ct_step *s = x->s;
  void *out = dorm_arena_calloc(x->a, s->nobjs ? s->nobjs : 1, x->m->size);
  bool *found = dorm_arena_calloc(x->a, s->nobjs ? s->nobjs : 1, sizeof *found);
  if (!out || !found) {
    ct_fail(x, "out of memory");
    return;
  }
  if (!ct_check_status(x, dorm_model_batch_get(x->r->c, x->m, s->objs, s->nobjs, true, x->a, out, found))) return;
  size_t n = 0;
  for (size_t i = 0; i < s->nobjs; i++) n += found[i];
  check_items(x, out, n, found, s->nobjs);
}

void ct_step_batch_write(ct_step_ctx *x) {
  const ct_step *s = x->s;
  if (s->nobjs) {
    /* The library writes the lifecycle fields back: into a copy. */
    void *objs = dorm_arena_alloc(x->a, s->nobjs * x->m->size);
    if (!objs) {
      ct_fail(x, "out of memory");
      return;
    }
    memcpy(objs, s->objs, s->nobjs * x->m->size);
    dorm_status st = dorm_model_batch_put(x->r->c, x->m, objs, s->nobjs, x->a);
    if (st != DORM_OK || !s->ndels) {
      ct_check_status(x, st);
      return;
    }
  }
  ct_check_status(x, dorm_model_batch_delete(x->r->c, x->m, s->dels, s->ndels, x->a));
}

/* The condition of a transaction action. For updates it must be built with
 * the update's own builder. */
static bool tx_opts(ct_step_ctx *c, const ct_txop *t, dorm_expr *x, dorm_write_opts *o) {
  memset(o, 0, sizeof *o);
  switch (t->cond.kind) {
  case CT_COND_NONE: break;
  case CT_COND_VERSION:
    if (t->kind == CT_TX_CHECK) {
      int64_t v = t->cond.version;
      o->condition = dorm_model_cond_cmp(x, c->m, (uint32_t)c->m->version, DORM_EQ, &v);
      o->expr = x;
    } else {
      o->check_version = true;
      o->expected_version = t->cond.version;
    }
    break;
  case CT_COND_EXISTS:
  case CT_COND_NOT_EXISTS:
    o->condition = t->cond.kind == CT_COND_EXISTS ? dorm_model_cond_exists(x, c->m, t->cond.field)
                                                  : dorm_model_cond_not_exists(x, c->m, t->cond.field);
    o->expr = x;
    break;
  }
  if (o->expr && (!o->condition || dorm_expr_status(x) != DORM_OK)) {
    ct_fail(c, "the condition does not build: %s", dorm_expr_errmsg(x));
    return false;
  }
  return true;
}

static bool field_present(const dorm_model_desc *m, const void *obj, uint32_t f) {
  const dorm_field_desc *fd = &m->fields[f];
  unsigned k = fd->type.kind;
  if (fd->has_offset >= 0) return *(const bool *)((const char *)obj + fd->has_offset);
  if (k == DORM_K_STRING || k == DORM_K_DECIMAL || k == DORM_K_JSON)
    return *(const char *const *)field_value(m, obj, f) != NULL;
  if (k == DORM_K_BYTES) return ((const dorm_bytes *)field_value(m, obj, f))->data != NULL;
  return true;
}

/* One action; false after ct_fail. */
static bool tx_add(ct_step_ctx *c, dorm_tx *tx, const ct_txop *t, size_t i) {
  dorm_expr *x = dorm_arena_alloc(c->a, sizeof *x);
  dorm_model_update *u = dorm_arena_alloc(c->a, sizeof *u);
  void *obj = dorm_arena_alloc(c->a, c->m->size);
  if (!x || !u || !obj) {
    ct_fail(c, "out of memory");
    return false;
  }
  memcpy(obj, t->obj, c->m->size);
  dorm_expr_init(x, c->a);
  dorm_write_opts o;
  dorm_status st = DORM_OK;
  if (t->kind == CT_TX_UPDATE) {
    /* DynamORM's Update(fields...) as actions: SET what the item has,
     * REMOVE what it leaves out. */
    dorm_model_update_init(u, c->m, c->a);
    for (size_t k = 0; k < t->nfields && st == DORM_OK; k++) {
      uint32_t f = t->fields[k];
      st = field_present(c->m, obj, f) ? dorm_model_update_set(u, f, field_value(c->m, obj, f))
                                       : dorm_model_update_remove(u, f);
    }
    if (st != DORM_OK) {
      ct_fail(c, "ops[%zu]: the update does not build: %s", i, u->err[0] ? u->err : dorm_strerror(st));
      return false;
    }
    if (!tx_opts(c, t, &u->x, &o)) return false;
    if (t->cond.kind == CT_COND_NONE && t->item_has_version && c->m->version >= 0) {
      o.check_version = true;
      o.expected_version = *(const int64_t *)field_value(c->m, obj, (uint32_t)c->m->version);
    }
    st = dorm_tx_update(tx, c->m, obj, u, &o);
  } else {
    if (!tx_opts(c, t, x, &o)) return false;
    switch (t->kind) {
    case CT_TX_PUT:
    case CT_TX_CREATE: st = dorm_tx_put(tx, c->m, obj, t->kind == CT_TX_CREATE, &o); break;
    case CT_TX_DELETE: st = dorm_tx_delete(tx, c->m, obj, &o); break;
    case CT_TX_CHECK: st = dorm_tx_check(tx, c->m, obj, &o); break;
    default: break;
    }
  }
  if (st != DORM_OK) {
    ct_fail(c, "ops[%zu]: %s", i, tx->err[0] ? tx->err : dorm_strerror(st));
    return false;
  }
  return true;
}

void ct_step_transact(ct_step_ctx *x) {
  const ct_step *s = x->s;
  const ct_expect *e = &s->expect;
  dorm_tx tx;
  dorm_tx_init(&tx, x->a);
  for (size_t i = 0; i < s->ntx; i++)
    if (!tx_add(x, &tx, &s->tx[i], i)) return;
  size_t failed = (size_t)-1;
  dorm_status st = dorm_tx_commit(x->r->c, &tx, &failed);
  ct_check_status(x, st);
  if (e->has_error_index && st != DORM_OK) {
    if (failed == (size_t)-1) ct_fail(x, "expected error_index %zu, got none", e->error_index);
    else if (failed != e->error_index) ct_fail(x, "expected error_index %zu, got %zu", e->error_index, failed);
  }
}

/* Decodes cursor and compares it with the step's JSON. */
static void check_decodes(ct_step_ctx *x, const char *what, const char *cursor) {
  const ct_step *s = x->s;
  dorm_av key;
  const char *index, *sort;
  char why[256] = "";
  dorm_status st = dorm_cursor_decode(cursor, x->a, &key, &index, &sort, why, sizeof why);
  if (st != DORM_OK) {
    ct_fail(x, "%s does not decode: %s", what, why[0] ? why : dorm_strerror(st));
    return;
  }
  if (!dorm_av_equal(&key, &s->cursor_key)) {
    char ks[512], ws[512];
    ct_value_text(&key, ks, sizeof ks);
    ct_value_text(&s->cursor_key, ws, sizeof ws);
    ct_fail(x, "%s decodes to lastKey %s, expected %s", what, ks, ws);
  }
  if (strcmp(index, s->cursor_index)) ct_fail(x, "%s decodes to index \"%s\", expected \"%s\"", what, index, s->cursor_index);
  if (strcmp(sort, s->cursor_sort)) ct_fail(x, "%s decodes to sort \"%s\", expected \"%s\"", what, sort, s->cursor_sort);
}

void ct_step_encode_cursor(ct_step_ctx *x) {
  const ct_step *s = x->s;
  const ct_expect *e = &s->expect;
  const char *cursor = NULL;
  dorm_status st = dorm_cursor_encode(&s->cursor_key, s->cursor_index, s->cursor_sort, x->a, &cursor);
  if (!ct_check_status(x, st)) return;
  if (!cursor) cursor = "";
  if (e->cursor_equals) {
    const char *want = ct_resolve_cursor(x, e->cursor_equals);
    if (want && strcmp(want, cursor)) ct_fail(x, "expected cursor \"%s\", got \"%s\"", want, cursor);
    if (want && want[0]) check_decodes(x, "the expected cursor", want);
  }
  if (cursor[0]) check_decodes(x, "the encoded cursor", cursor);
}
