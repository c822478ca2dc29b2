/* Helpers every model module uses: error paths, presence and emptiness of
 * field values, a small text buffer, lifecycle roles, expression glue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "core_internal.h"

/* ---- error paths ---- */

void dorm__mpath_text(const mpath *p, char *buf, size_t cap) {
  const mpath *chain[80];
  size_t n = 0, o = 0;
  if (!cap) return;
  for (; p && n < sizeof chain / sizeof chain[0]; p = p->parent) chain[n++] = p;
  buf[0] = '\0';
  while (n-- > 0 && o + 1 < cap) {
    const mpath *s = chain[n];
    int k;
    if (s->kind == MP_INDEX) k = snprintf(buf + o, cap - o, "[%zu]", s->index);
    else if (s->kind == MP_KEY) k = snprintf(buf + o, cap - o, "[\"%.64s\"]", s->name ? s->name : "");
    else k = snprintf(buf + o, cap - o, "%s%.64s", o ? "." : "", s->name ? s->name : "");
    if (k < 0) break;
    o += (size_t)k;
    if (o >= cap) o = cap - 1;
  }
  if (!buf[0]) snprintf(buf, cap, "(value)");
}

dorm_status dorm__model_fail(char *errbuf, size_t errcap, dorm_status st, const mpath *p, const char *fmt, ...) {
  if (!errbuf || !errcap) return st;
  char path[192], what[320];
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err(what, sizeof what, fmt, ap);
  va_end(ap);
  dorm__mpath_text(p, path, sizeof path);
  return dorm__fail(errbuf, errcap, st, "%s: %s", path, what);
}

/* ---- values ---- */

int64_t dorm__model_enum_get(const dorm_type_desc *t, const void *p) {
  switch (t->size) {
  case 1: { int8_t v; memcpy(&v, p, 1); return v; }
  case 2: { int16_t v; memcpy(&v, p, 2); return v; }
  case 8: { int64_t v; memcpy(&v, p, 8); return v; }
  default: { int32_t v; memcpy(&v, p, 4); return v; }
  }
}

void dorm__model_enum_set(const dorm_type_desc *t, void *p, int64_t v) {
  switch (t->size) {
  case 1: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
  case 2: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
  case 8: memcpy(p, &v, 8); break;
  default: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
  }
}

bool dorm__model_value_empty(const dorm_type_desc *t, const void *p) {
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_JSON: {
    const char *s;
    memcpy(&s, p, sizeof s);
    return !s || !*s;
  }
  case DORM_K_DECIMAL: {
    const char *s;
    memcpy(&s, p, sizeof s);
    return !s || !*s || dorm_number_equal(s, strlen(s), "0", 1);
  }
  case DORM_K_INT:
  case DORM_K_EPOCH:
  case DORM_K_TIME: {
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v == 0;
  }
  case DORM_K_FLOAT: {
    double v;
    memcpy(&v, p, sizeof v);
    return v == 0.0;
  }
  case DORM_K_BOOL: return !*(const bool *)p;
  case DORM_K_BYTES: return ((const dorm_bytes *)p)->len == 0;
  case DORM_K_ENUM: return dorm__model_enum_get(t, p) == 0;
  case DORM_K_SET:
  case DORM_K_LIST: return ((const dorm_array_view *)p)->count == 0;
  case DORM_K_MAP: return ((const dorm_map_view *)p)->count == 0;
  default: return false;
  }
}

/* ---- text buffer ---- */

_Static_assert(offsetof(model_sbuf, p) == offsetof(model_sbuf, buf.p) && offsetof(model_sbuf, len) == offsetof(model_sbuf, buf.len),
               "model_sbuf's names for its text must match dorm__buf's fields");

void dorm__model_sbuf_init(model_sbuf *b) {
  dorm__buf_init_storage(&b->buf, b->inline_buf, sizeof b->inline_buf, DORM__BUF_UNBOUNDED);
}

void dorm__model_sbuf_free(model_sbuf *b) {
  dorm__buf_free(&b->buf);
  dorm__model_sbuf_init(b);
}

/* ---- lifecycle ---- */

static int64_t *i64_field(const dorm_model_desc *m, int32_t idx, void *obj, bool **has) {
  const dorm_field_desc *f = &m->fields[idx];
  *has = f->has_offset >= 0 ? (bool *)((char *)obj + f->has_offset) : NULL;
  return (int64_t *)field_ptr_mut(obj, f);
}

void dorm__model_lifecycle_put(const dorm_model_desc *m, void *obj, int64_t now, model_lifecycle_save *saved) {
  memset(saved, 0, sizeof *saved);
  bool *has;
  if (m->created_at >= 0) {
    int64_t *v = i64_field(m, m->created_at, obj, &has);
    saved->created_at = *v;
    saved->created_has = has ? *has : true;
    if (*v == 0 || (has && !*has)) *v = now;
    if (has) *has = true;
  }
  if (m->updated_at >= 0) {
    int64_t *v = i64_field(m, m->updated_at, obj, &has);
    saved->updated_at = *v;
    saved->updated_has = has ? *has : true;
    *v = now;
    if (has) *has = true;
  }
}

void dorm__model_lifecycle_restore(const dorm_model_desc *m, void *obj, const model_lifecycle_save *saved) {
  bool *has;
  if (m->created_at >= 0) {
    *i64_field(m, m->created_at, obj, &has) = saved->created_at;
    if (has) *has = saved->created_has;
  }
  if (m->updated_at >= 0) {
    *i64_field(m, m->updated_at, obj, &has) = saved->updated_at;
    if (has) *has = saved->updated_has;
  }
}

/* ---- expressions ---- */

const char *dorm__model_escape_path(dorm_arena *a, const char *attr) {
  size_t n = 0, extra = 0;
  for (; attr[n]; n++)
    if (attr[n] == '.' || attr[n] == '[' || attr[n] == ']' || attr[n] == '\\') extra++;
  if (!extra) return attr;
  char *out = dorm_arena_alloc_aligned(a, n + extra + 1, 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (attr[i] == '.' || attr[i] == '[' || attr[i] == ']' || attr[i] == '\\') out[o++] = '\\';
    out[o++] = attr[i];
  }
  out[o] = '\0';
  return out;
}

void dorm__model_expr_fail(dorm_expr *x, dorm_status st, const char *fmt, ...) {
  if (!x) return;
  va_list ap;
  va_start(ap, fmt);
  dorm__vfail_first(&x->status, x->errmsg, sizeof x->errmsg, st, fmt, ap);
  va_end(ap);
}

dorm_status dorm__model_attach_condition(dorm_expr *x, dorm_cond *own, dorm_cond *user) {
  dorm_cond *c = own && user ? dorm_cond_and(x, own, user) : own ? own : user;
  if (!c) return dorm_expr_status(x);
  return dorm_expr_condition(x, c);
}

const char *dorm__model_kind_name(unsigned kind) {
  static const char *const names[] = {"?",    "string", "int",  "float", "decimal", "bool", "bytes", "time",
                                      "epoch", "json",  "enum", "struct", "set",    "list", "map"};
  return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}
