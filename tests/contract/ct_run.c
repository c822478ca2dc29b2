/* ct_run: scenarios, the item steps and the expectations (see ct_run.h). */
#include "ct_run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dorm/ops.h>

#include "ct_values.h"

void ct_runner_init(ct_runner *r, dorm_client *c, bool reset_tables, FILE *out) {
  memset(r, 0, sizeof *r);
  r->c = c;
  r->reset_tables = reset_tables;
  r->out = out;
  dorm_arena_init(&r->vars_arena, 0);
  dorm_arena_init(&r->step_arena, 0);
}

void ct_runner_free(ct_runner *r) {
  dorm_arena_free(&r->vars_arena);
  dorm_arena_free(&r->step_arena);
  free(r->vars);
  r->vars = NULL;
}

void ct_fail(ct_step_ctx *x, const char *fmt, ...) {
  x->failed = true;
  if (x->len + 8 >= sizeof x->msg) return;
  if (x->len) {
    memcpy(x->msg + x->len, "; ", 2);
    x->len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(x->msg + x->len, sizeof x->msg - x->len, fmt, ap);
  va_end(ap);
  if (n > 0) x->len += (size_t)n < sizeof x->msg - x->len ? (size_t)n : sizeof x->msg - x->len - 1;
  x->msg[x->len] = '\0';
}

/* ---- variables ---- */

const ct_var *ct_get_var(ct_runner *r, const char *name) {
  for (size_t i = 0; i < r->nvars; i++)
    if (!strcmp(r->vars[i].name, name)) return &r->vars[i];
  return NULL;
}

void ct_set_var(ct_step_ctx *x, const char *name, const dorm_av *value) {
  ct_runner *r = x->r;
  ct_var *v = (ct_var *)ct_get_var(r, name);
  if (!v) {
    if (r->nvars == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 8;
      ct_var *nv = realloc(r->vars, cap * sizeof *nv);
      if (!nv) {
        ct_fail(x, "out of memory saving %s", name);
        return;
      }
      r->vars = nv;
      r->cap = cap;
    }
    v = &r->vars[r->nvars];
    memset(v, 0, sizeof *v);
    v->name = dorm_arena_strdup(&r->vars_arena, name);
    if (!v->name) {
      ct_fail(x, "out of memory saving %s", name);
      return;
    }
    r->nvars++;
  }
  v->present = value != NULL;
  if (value && dorm_av_copy(&r->vars_arena, value, &v->value) != DORM_OK) {
    v->present = false;
    ct_fail(x, "out of memory saving %s", name);
  }
}

const char *ct_resolve_cursor(ct_step_ctx *x, const char *spec) {
  if (!spec || spec[0] != '$') return spec;
  const ct_var *v = ct_get_var(x->r, spec + 1);
  if (!v) {
    ct_fail(x, "variable %s is not set (save it with save_cursor first)", spec + 1);
    return NULL;
  }
  if (!v->present) return "";
  if (v->value.type != DORM_AV_S) {
    ct_fail(x, "variable %s does not hold a cursor", spec + 1);
    return NULL;
  }
  return v->value.u.s.ptr;
}

/* ---- status and items ---- */

static bool error_matches(const char *want, dorm_status st) {
  const char *name = dorm_status_dynamorm_name(st);
  if (name && !strcmp(name, want)) return true;
  /* DynamORM's model errors are all invalid arguments here. */
  return st == DORM_ERR_INVALID_ARGUMENT &&
         (!strcmp(want, "ErrMissingPrimaryKey") || !strcmp(want, "ErrInvalidTag") || !strcmp(want, "ErrInvalidOperator"));
}

static void status_text(ct_step_ctx *x, dorm_status st, char *buf, size_t cap) {
  const char *name = dorm_status_dynamorm_name(st);
  const char *msg = dorm_client_errmsg(x->r->c);
  if (msg && msg[0]) snprintf(buf, cap, "%s (%s)", name ? name : dorm_strerror(st), msg);
  else snprintf(buf, cap, "%s", name ? name : dorm_strerror(st));
}

bool ct_check_status(ct_step_ctx *x, dorm_status st) {
  const ct_expect *e = &x->s->expect;
  char got[1024];
  if (e->error) {
    if (st == DORM_OK) ct_fail(x, "expected %s, got success", e->error);
    else if (!error_matches(e->error, st)) {
      status_text(x, st, got, sizeof got);
      ct_fail(x, "expected %s, got %s", e->error, got);
    }
    return false;
  }
  if (e->has_ok && !e->ok) {
    if (st == DORM_OK) ct_fail(x, "expected a failure, got success");
    return false;
  }
  if (st != DORM_OK) {
    status_text(x, st, got, sizeof got);
    ct_fail(x, "expected success, got %s", got);
    return false;
  }
  return true;
}

static bool in_fields(const uint32_t *fields, size_t n, uint32_t f) {
  for (size_t i = 0; i < n; i++)
    if (fields[i] == f) return true;
  return false;
}

bool ct_typed_view(ct_step_ctx *x, const void *obj, const uint32_t *fields, size_t nfields, dorm_av *out) {
  const dorm_model_desc *m = x->m;
  const void *src = obj;
  if (fields) {
    /* A projected item leaves the other fields zero; give required strings
     * a placeholder so that the item marshals, then drop them again. */
    char *copy = dorm_arena_alloc(x->a, m->size);
    if (!copy) {
      ct_fail(x, "out of memory");
      return false;
    }
    memcpy(copy, obj, m->size);
    for (uint32_t f = 0; f < m->nfields; f++) {
      const dorm_field_desc *fd = &m->fields[f];
      unsigned k = fd->type.kind;
      bool ptr_kind = k == DORM_K_STRING || k == DORM_K_DECIMAL || k == DORM_K_JSON;
      if (fd->flags & DORM_FF_OPTIONAL) continue;
      if (ptr_kind && !*(const char **)(copy + fd->offset))
        *(const char **)(copy + fd->offset) = k == DORM_K_DECIMAL ? "0" : k == DORM_K_JSON ? "null" : "?";
      if (k == DORM_K_BYTES && !((dorm_bytes *)(copy + fd->offset))->data)
        ((dorm_bytes *)(copy + fd->offset))->data = (const uint8_t *)"";
    }
    src = copy;
  }
  char why[512] = "";
  dorm_av item;
  dorm_status st = dorm_model_to_av(m, src, x->a, &item, why, sizeof why);
  if (st != DORM_OK) {
    ct_fail(x, "the item read back does not marshal: %s", why[0] ? why : dorm_strerror(st));
    return false;
  }
  if (!fields) {
    *out = item;
    return true;
  }
  *out = dorm_av_empty(DORM_AV_M);
  for (size_t i = 0; i < item.u.map.count; i++) {
    const dorm_av_entry *e = &item.u.map.items[i];
    char name[256];
    if (e->name.len >= sizeof name) continue;
    memcpy(name, e->name.ptr, e->name.len);
    name[e->name.len] = '\0';
    int f = ct_field_by_attr(m, name);
    /* Projected attributes, and optional ones the struct holds anyway (a
     * projection the read ignored shows up that way); required fields
     * outside the projection hold zeros. */
    if (f < 0) continue;
    const dorm_field_desc *fd = &m->fields[f];
    if (!in_fields(fields, nfields, (uint32_t)f) && !(fd->flags & DORM_FF_OPTIONAL)) continue;
    if (dorm_av_map_set(x->a, out, e->name.ptr, e->value) != DORM_OK) {
      ct_fail(x, "out of memory");
      return false;
    }
  }
  return true;
}

void ct_match_item(ct_step_ctx *x, const char *label, const ct_attrvals *want, const dorm_av *item) {
  for (size_t i = 0; i < want->count; i++) {
    const ct_attrval *w = &want->items[i];
    const dorm_av *have = dorm_av_map_get(item, w->attr);
    char ws[512], hs[512];
    ct_value_text(have, hs, sizeof hs);
    if (w->value.type == DORM_AV_INVALID) {
      if (have) ct_fail(x, "%sexpected %s absent, got %s", label, w->attr, hs);
      continue;
    }
    if (have && ct_value_equal(&x->m->fields[w->field].type, &w->value, have)) continue;
    ct_value_text(&w->value, ws, sizeof ws);
    ct_fail(x, "%sexpected %s = %s, got %s", label, w->attr, ws, hs);
  }
}

/* ---- the item steps ---- */

static void *copy_obj(ct_step_ctx *x, const void *obj) {
  void *c = dorm_arena_alloc(x->a, x->m->size);
  if (c) memcpy(c, obj, x->m->size);
  else ct_fail(x, "out of memory");
  return c;
}

static void step_get(ct_step_ctx *x) {
  const ct_step *s = x->s;
  const ct_expect *e = &s->expect;
  void *out = dorm_arena_calloc(x->a, 1, x->m->size);
  if (!out) {
    ct_fail(x, "out of memory");
    return;
  }
  dorm_get_opts go = {0};
  go.consistent_read = true;
  if (!ct_check_status(x, dorm_model_get(x->r->c, x->m, s->obj, &go, x->a, out))) return;
  /* The raw stored item, for what the model cannot show (absent and typed attributes). */
  char why[512] = "";
  dorm_av key, raw, view;
  dorm_status st = dorm_model_key_av(x->m, s->obj, x->a, &key, why, sizeof why);
  if (st != DORM_OK) {
    ct_fail(x, "the key does not marshal: %s", why[0] ? why : dorm_strerror(st));
    return;
  }
  dorm_get_input in = {0};
  in.table = x->m->table;
  in.key = &key;
  in.consistent_read = true;
  st = dorm_get_item(x->r->c, &in, x->a, &raw);
  if (st != DORM_OK) {
    char got[1024];
    status_text(x, st, got, sizeof got);
    ct_fail(x, "reading the raw item: %s", got);
    return;
  }
  if (!ct_typed_view(x, out, NULL, 0, &view)) return;
  for (size_t i = 0; i < s->save.count; i++) ct_set_var(x, s->save.items[i].a, dorm_av_map_get(&view, s->save.items[i].b));
  ct_match_item(x, "", &e->item_contains, &view);
  for (size_t i = 0; i < e->has_fields.count; i++) {
    const char *f = e->has_fields.items[i];
    if (!dorm_av_map_get(&view, f)) ct_fail(x, "expected field %s, the model's item has none", f);
    else if (!dorm_av_map_get(&raw, f)) ct_fail(x, "expected field %s, the stored item has none", f);
  }
  for (size_t i = 0; i < e->missing_fields.count; i++) {
    const char *f = e->missing_fields.items[i];
    const dorm_av *have = dorm_av_map_get(&raw, f);
    if (have) {
      char hs[512];
      ct_value_text(have, hs, sizeof hs);
      ct_fail(x, "expected no stored %s, got %s %s", f, dorm_av_type_name(have->type), hs);
    }
  }
  for (size_t i = 0; i < e->raw_types.count; i++) {
    const char *f = e->raw_types.items[i].a, *want = e->raw_types.items[i].b;
    const dorm_av *have = dorm_av_map_get(&raw, f);
    if (!have) ct_fail(x, "expected stored %s of type %s, the stored item has none", f, want);
    else if (strcmp(dorm_av_type_name(have->type), want))
      ct_fail(x, "expected stored %s of type %s, got %s", f, want, dorm_av_type_name(have->type));
  }
  for (int pass = 0; pass < 2; pass++) {
    const ct_pairs *ps = pass ? &e->not_equals_var : &e->equals_var;
    for (size_t i = 0; i < ps->count; i++) {
      const char *attr = ps->items[i].a, *var = ps->items[i].b;
      const ct_var *v = ct_get_var(x->r, var);
      if (!v) {
        ct_fail(x, "variable %s is not set (save it in an earlier get)", var);
        continue;
      }
      const dorm_av *have = dorm_av_map_get(&view, attr);
      int f = ct_field_by_attr(x->m, attr);
      bool eq = v->present ? ct_value_equal(f >= 0 ? &x->m->fields[f].type : NULL, &v->value, have) : have == NULL;
      if (eq == (pass == 0)) continue;
      char hs[512], vs[512];
      ct_value_text(have, hs, sizeof hs);
      ct_value_text(v->present ? &v->value : NULL, vs, sizeof vs);
      ct_fail(x, "expected %s %s %s (%s), got %s", attr, pass ? "!=" : "=", var, vs, hs);
    }
  }
}

static void run_step(ct_step_ctx *x) {
  const ct_step *s = x->s;
  void *obj;
  switch (s->op) {
  case CT_OP_CREATE:
    if ((obj = copy_obj(x, s->obj)))
      ct_check_status(x, dorm_model_put(x->r->c, x->m, obj, s->if_not_exists, NULL, x->a));
    break;
  case CT_OP_UPDATE:
    if ((obj = copy_obj(x, s->obj)))
      ct_check_status(x, dorm_model_update_fields(x->r->c, x->m, obj, s->fields, s->nfields, NULL, x->a));
    break;
  case CT_OP_DELETE: ct_check_status(x, dorm_model_delete(x->r->c, x->m, s->obj, NULL, x->a)); break;
  case CT_OP_GET: step_get(x); break;
  case CT_OP_SLEEP: {
    struct timespec ts = {s->ms / 1000, (s->ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    break;
  }
  case CT_OP_QUERY:
  case CT_OP_SCAN: ct_step_query(x); break;
  case CT_OP_BATCH_GET: ct_step_batch_get(x); break;
  case CT_OP_BATCH_WRITE: ct_step_batch_write(x); break;
  case CT_OP_TRANSACT_WRITE: ct_step_transact(x); break;
  case CT_OP_ENCODE_CURSOR: ct_step_encode_cursor(x); break;
  }
}

int ct_run_scenario(ct_runner *r, const ct_scenario *sc, char *err, size_t errcap) {
  if (sc->model && r->reset_tables && ct_table_reset(r->c, sc->model, err, errcap) != 0) return -1;
  r->nvars = 0;
  dorm_arena_reset(&r->vars_arena);
  for (size_t i = 0; i < sc->nsteps; i++) {
    ct_step_ctx *x = calloc(1, sizeof *x);
    if (!x) {
      snprintf(err, errcap, "out of memory");
      return -1;
    }
    x->r = r;
    x->sc = sc;
    x->s = &sc->steps[i];
    x->m = sc->model ? sc->model->desc : NULL;
    x->a = &r->step_arena;
    run_step(x);
    if (x->failed) {
      r->failed++;
      fprintf(r->out, "FAIL %s #%zu %s: %s\n", sc->name, x->s->number, x->s->opname, x->msg);
    } else {
      r->passed++;
      fprintf(r->out, "ok  %s #%zu %s\n", sc->name, x->s->number, x->s->opname);
    }
    fflush(r->out);
    free(x);
    dorm_arena_reset(&r->step_arena);
  }
  return 0;
}
