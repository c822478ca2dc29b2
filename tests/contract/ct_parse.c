/* ct_parse: values, model structs and expectations of scenario steps (see
 * ct_parse.h). */
#include "ct_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ct_p_fail(ct_parser *p, const yaml_node_t *node, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ct_yaml_errf(p->y, node, p->err, p->errcap, "%s", msg);
  return -1;
}

const char *ct_p_str(ct_parser *p, const yaml_node_t *n, const char *what) {
  if (!ct_yaml_is_scalar(n) || ct_yaml_is_null(n)) {
    CT_PFAIL(p, n, "%s must be a string, not %s", what, ct_yaml_kind(n));
    return NULL;
  }
  const char *s = dorm_arena_strndup(p->a, ct_yaml_text(n), ct_yaml_text_len(n));
  if (!s) CT_PFAIL(p, n, "out of memory");
  return s;
}

const char *ct_p_path(ct_parser *p, const char *rel) {
  if (rel[0] == '/' || !p->dir) return rel;
  return dorm_arena_printf(p->a, "%s/%s", p->dir, rel);
}

static void attr_list(const dorm_model_desc *m, char *buf, size_t cap) {
  size_t off = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < m->nfields && off < cap; i++) {
    int w = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", m->fields[i].attr[m->naming ? 1 : 0]);
    if (w < 0) break;
    off += (size_t)w;
  }
}

int ct_p_field(ct_parser *p, const yaml_node_t *n, const char *what) {
  const dorm_model_desc *m = p->model->desc;
  if (!ct_yaml_is_scalar(n) || ct_yaml_is_null(n))
    return CT_PFAIL(p, n, "%s: an attribute name must be a string, not %s", what, ct_yaml_kind(n));
  int f = ct_field_by_attr(m, ct_yaml_text(n));
  if (f < 0) {
    char list[512];
    attr_list(m, list, sizeof list);
    return CT_PFAIL(p, n, "%s: model %s has no attribute \"%s\" (attributes: %s)", what, m->name, ct_yaml_text(n), list);
  }
  return f;
}

/* Whether field f is part of the table key (directly or in a template). */
static bool table_key_field(const dorm_model_desc *m, uint32_t f) {
  for (uint32_t k = 0; k < m->table_keys; k++) {
    const dorm_key_desc *kd = &m->keys[k];
    if (kd->field >= 0) {
      if ((uint32_t)kd->field == f) return true;
      continue;
    }
    for (uint32_t i = 0; i < kd->nparts; i++)
      if (kd->parts[i].field >= 0 && (uint32_t)kd->parts[i].field == f) return true;
  }
  return false;
}

static int from_av(ct_parser *p, const yaml_node_t *n, const char *what, const dorm_av *item, void *dst) {
  char why[512];
  dorm_status st = dorm_model_from_av(p->model->desc, item, DORM_READ_PARTIAL, p->a, dst, why, sizeof why);
  if (st != DORM_OK)
    return CT_PFAIL(p, n, "%s: the model does not accept it: %s", what, why[0] ? why : dorm_strerror(st));
  return 0;
}

int ct_p_obj_into(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, void *dst,
                  bool *has_version) {
  const dorm_model_desc *m = p->model->desc;
  if (has_version) *has_version = false;
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "%s must be a mapping of attributes, not %s", what, ct_yaml_kind(n));
  dorm_av item = dorm_av_empty(DORM_AV_M);
  size_t count = ct_yaml_map_len(n);
  if (count && dorm_av_reserve(p->a, &item, count) != DORM_OK) return CT_PFAIL(p, n, "out of memory");
  bool *given = dorm_arena_calloc(p->a, m->nfields ? m->nfields : 1, sizeof *given);
  if (!given) return CT_PFAIL(p, n, "out of memory");
  for (size_t i = 0; i < count; i++) {
    const yaml_node_t *k = ct_yaml_map_key(p->y, n, i), *v = ct_yaml_map_value(p->y, n, i);
    int f = ct_p_field(p, k, what);
    if (f < 0) return -1;
    if (key_only && !table_key_field(m, (uint32_t)f))
      return CT_PFAIL(p, k, "%s: %s is not part of the table key of %s", what, ct_yaml_text(k), m->name);
    given[f] = true;
    if (has_version && m->version == f) *has_version = true;
    if (ct_yaml_is_null(v)) continue; /* absent */
    char vwhat[256];
    snprintf(vwhat, sizeof vwhat, "%s.%s", what, ct_yaml_text(k));
    dorm_av val;
    if (ct_value_from_yaml(p->y, v, &m->fields[f].type, m->naming, vwhat, p->a, &val, p->err, p->errcap) != 0)
      return -1;
    dorm_av *slot = dorm_av_map_add(p->a, &item, m->fields[f].attr[m->naming ? 1 : 0],
                                    strlen(m->fields[f].attr[m->naming ? 1 : 0]));
    if (!slot) return CT_PFAIL(p, v, "out of memory");
    *slot = val;
  }
  if (key_only)
    for (uint32_t f = 0; f < m->nfields; f++)
      if (table_key_field(m, f) && !given[f])
        return CT_PFAIL(p, n, "%s: the key of %s needs %s", what, m->name, m->fields[f].attr[m->naming ? 1 : 0]);
  return from_av(p, n, what, &item, dst);
}

void *ct_p_obj(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, bool *has_version) {
  void *obj = dorm_arena_calloc(p->a, 1, p->model->desc->size);
  if (!obj) {
    CT_PFAIL(p, n, "out of memory");
    return NULL;
  }
  return ct_p_obj_into(p, n, what, key_only, obj, has_version) == 0 ? obj : NULL;
}

int ct_p_objs(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, void **out, size_t *count) {
  if (!n || n->type != YAML_SEQUENCE_NODE) return CT_PFAIL(p, n, "%s must be a list, not %s", what, ct_yaml_kind(n));
  size_t len = ct_yaml_seq_len(n), size = p->model->desc->size;
  char *objs = dorm_arena_calloc(p->a, len ? len : 1, size);
  if (!objs) return CT_PFAIL(p, n, "out of memory");
  for (size_t i = 0; i < len; i++) {
    char w[128];
    snprintf(w, sizeof w, "%s[%zu]", what, i);
    if (ct_p_obj_into(p, ct_yaml_seq_at(p->y, n, i), w, key_only, objs + i * size, NULL) != 0) return -1;
  }
  *out = objs;
  *count = len;
  return 0;
}

void *ct_p_av_obj(ct_parser *p, const yaml_node_t *n, uint32_t field, const dorm_av *val, const char *what) {
  const dorm_model_desc *m = p->model->desc;
  dorm_av item = dorm_av_empty(DORM_AV_M);
  if (dorm_av_map_set(p->a, &item, m->fields[field].attr[m->naming ? 1 : 0], *val) != DORM_OK) {
    CT_PFAIL(p, n, "out of memory");
    return NULL;
  }
  void *obj = dorm_arena_calloc(p->a, 1, m->size);
  if (!obj) {
    CT_PFAIL(p, n, "out of memory");
    return NULL;
  }
  return from_av(p, n, what, &item, obj) == 0 ? obj : NULL;
}

void *ct_p_value_obj(ct_parser *p, const yaml_node_t *n, uint32_t field, const char *what) {
  const dorm_model_desc *m = p->model->desc;
  dorm_av val;
  if (ct_value_from_yaml(p->y, n, &m->fields[field].type, m->naming, what, p->a, &val, p->err, p->errcap) != 0)
    return NULL;
  return ct_p_av_obj(p, n, field, &val, what);
}

int ct_p_fields(ct_parser *p, const yaml_node_t *n, const char *what, uint32_t **out, size_t *count) {
  if (!n || n->type != YAML_SEQUENCE_NODE || !ct_yaml_seq_len(n))
    return CT_PFAIL(p, n, "%s must be a non-empty list of attribute names", what);
  size_t len = ct_yaml_seq_len(n);
  uint32_t *fs = dorm_arena_calloc(p->a, len, sizeof *fs);
  if (!fs) return CT_PFAIL(p, n, "out of memory");
  for (size_t i = 0; i < len; i++) {
    const yaml_node_t *e = ct_yaml_seq_at(p->y, n, i);
    int f = ct_p_field(p, e, what);
    if (f < 0) return -1;
    for (size_t j = 0; j < i; j++)
      if (fs[j] == (uint32_t)f) return CT_PFAIL(p, e, "%s: %s is listed twice", what, ct_yaml_text(e));
    fs[i] = (uint32_t)f;
  }
  *out = fs;
  *count = len;
  return 0;
}

/* ---- expectations ---- */

static const char *const known_errors[] = {"ErrConditionFailed", "ErrItemNotFound",     "ErrTableNotFound",
                                           "ErrInvalidModel",    "ErrMissingPrimaryKey", "ErrInvalidTag",
                                           "ErrInvalidOperator", "ErrTransactionFailed", "ErrInvalidCursor",
                                           NULL};

bool ct_error_name_known(const char *name) {
  for (size_t i = 0; known_errors[i]; i++)
    if (!strcmp(known_errors[i], name)) return true;
  return false;
}

static const char *const raw_types[] = {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M", NULL};

static int attrvals(ct_parser *p, const yaml_node_t *n, const char *what, ct_attrvals *out) {
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "%s must be a mapping of attributes, not %s", what, ct_yaml_kind(n));
  size_t len = ct_yaml_map_len(n);
  out->items = dorm_arena_calloc(p->a, len ? len : 1, sizeof *out->items);
  if (!out->items) return CT_PFAIL(p, n, "out of memory");
  out->count = len;
  const dorm_model_desc *m = p->model->desc;
  for (size_t i = 0; i < len; i++) {
    const yaml_node_t *k = ct_yaml_map_key(p->y, n, i), *v = ct_yaml_map_value(p->y, n, i);
    int f = ct_p_field(p, k, what);
    if (f < 0) return -1;
    ct_attrval *av = &out->items[i];
    av->attr = m->fields[f].attr[m->naming ? 1 : 0];
    av->field = f;
    if (ct_yaml_is_null(v)) continue; /* must be absent */
    char vwhat[256];
    snprintf(vwhat, sizeof vwhat, "%s.%s", what, ct_yaml_text(k));
    if (ct_value_from_yaml(p->y, v, &m->fields[f].type, m->naming, vwhat, p->a, &av->value, p->err, p->errcap) != 0)
      return -1;
  }
  return 0;
}

static int names(ct_parser *p, const yaml_node_t *n, const char *what, ct_names *out) {
  if (!n || n->type != YAML_SEQUENCE_NODE) return CT_PFAIL(p, n, "%s must be a list of attribute names, not %s", what, ct_yaml_kind(n));
  size_t len = ct_yaml_seq_len(n);
  out->items = dorm_arena_calloc(p->a, len ? len : 1, sizeof *out->items);
  if (!out->items) return CT_PFAIL(p, n, "out of memory");
  out->count = len;
  for (size_t i = 0; i < len; i++) {
    const yaml_node_t *e = ct_yaml_seq_at(p->y, n, i);
    int f = ct_p_field(p, e, what);
    if (f < 0) return -1;
    out->items[i] = p->model->desc->fields[f].attr[p->model->desc->naming ? 1 : 0];
  }
  return 0;
}

/* attribute -> string (types, variables). check_attr: keys are attributes. */
static int pairs(ct_parser *p, const yaml_node_t *n, const char *what, bool check_attr, const char *const *allowed,
                 ct_pairs *out) {
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "%s must be a mapping, not %s", what, ct_yaml_kind(n));
  size_t len = ct_yaml_map_len(n);
  out->items = dorm_arena_calloc(p->a, len ? len : 1, sizeof *out->items);
  if (!out->items) return CT_PFAIL(p, n, "out of memory");
  out->count = len;
  for (size_t i = 0; i < len; i++) {
    const yaml_node_t *k = ct_yaml_map_key(p->y, n, i), *v = ct_yaml_map_value(p->y, n, i);
    if (check_attr && ct_p_field(p, k, what) < 0) return -1;
    out->items[i].a = ct_p_str(p, k, what);
    out->items[i].b = ct_p_str(p, v, what);
    if (!out->items[i].a || !out->items[i].b) return -1;
    if (allowed) {
      bool ok = false;
      for (size_t j = 0; allowed[j] && !ok; j++) ok = !strcmp(allowed[j], out->items[i].b);
      if (!ok) return CT_PFAIL(p, v, "%s: \"%s\" is not a DynamoDB type (S, N, B, BOOL, NULL, SS, NS, BS, L, M)", what, out->items[i].b);
    }
  }
  return 0;
}

static int count_value(ct_parser *p, const yaml_node_t *n, const char *what, size_t *out) {
  long long v;
  if (!ct_yaml_int(n, &v) || v < 0) return CT_PFAIL(p, n, "%s must be a whole number >= 0, not %s", what, ct_yaml_kind(n));
  *out = (size_t)v;
  return 0;
}

static int bool_value(ct_parser *p, const yaml_node_t *n, const char *what, bool *out) {
  if (!ct_yaml_bool(n, out)) return CT_PFAIL(p, n, "%s must be true or false (unquoted), not %s", what, ct_yaml_kind(n));
  return 0;
}

/* A file's text without trailing white space. */
static const char *file_text(ct_parser *p, const yaml_node_t *n, const char *rel) {
  const char *path = ct_p_path(p, rel);
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f) {
    CT_PFAIL(p, n, "cannot read %s: %s", path ? path : rel, strerror(errno));
    return NULL;
  }
  char buf[65536];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  bool more = !feof(f) && fgetc(f) != EOF;
  fclose(f);
  if (more) {
    CT_PFAIL(p, n, "%s: larger than 64 KiB", path);
    return NULL;
  }
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t')) len--;
  const char *s = dorm_arena_strndup(p->a, buf, len);
  if (!s) CT_PFAIL(p, n, "out of memory");
  return s;
}

static const char *const exp_write[] = {"ok", "error", NULL};
static const char *const exp_get[] = {"ok",
                                      "error",
                                      "item_contains",
                                      "item_has_fields",
                                      "item_missing_fields",
                                      "raw_attribute_types",
                                      "item_field_equals_var",
                                      "item_field_not_equals_var",
                                      NULL};
static const char *const exp_query[] = {"ok", "error", "count", "items", "has_more", "cursor_equals", NULL};
static const char *const exp_batch_get[] = {"ok", "error", "count", "items", NULL};
static const char *const exp_tx[] = {"ok", "error", "error_index", NULL};
static const char *const exp_cursor[] = {"ok", "error", "cursor_equals", "cursor_equals_file", NULL};

int ct_p_expect(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  ct_expect *e = &s->expect;
  const char *const *allowed;
  switch (s->op) {
  case CT_OP_GET: allowed = exp_get; break;
  case CT_OP_QUERY:
  case CT_OP_SCAN: allowed = exp_query; break;
  case CT_OP_BATCH_GET: allowed = exp_batch_get; break;
  case CT_OP_TRANSACT_WRITE: allowed = exp_tx; break;
  case CT_OP_ENCODE_CURSOR: allowed = exp_cursor; break;
  default: allowed = exp_write; break;
  }
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "expect must be a mapping, not %s", ct_yaml_kind(n));
  char what[64];
  snprintf(what, sizeof what, "expect of %s", s->opname);
  if (ct_yaml_check_keys(p->y, n, allowed, what, p->err, p->errcap) != 0) return -1;
  const yaml_node_t *v;
  if ((v = ct_yaml_get(p->y, n, "ok"))) {
    if (bool_value(p, v, "expect.ok", &e->ok) != 0) return -1;
    e->has_ok = true;
  }
  if ((v = ct_yaml_get(p->y, n, "error"))) {
    if (!(e->error = ct_p_str(p, v, "expect.error"))) return -1;
    if (!ct_error_name_known(e->error))
      return CT_PFAIL(p, v, "expect.error: unknown DynamORM error \"%s\" (known: ErrConditionFailed, ErrItemNotFound, "
                            "ErrTableNotFound, ErrInvalidModel, ErrMissingPrimaryKey, ErrInvalidTag, "
                            "ErrInvalidOperator, ErrTransactionFailed, ErrInvalidCursor)",
                      e->error);
    if (e->has_ok && e->ok) return CT_PFAIL(p, v, "expect: ok: true and an error contradict each other");
  }
  if ((v = ct_yaml_get(p->y, n, "error_index"))) {
    if (count_value(p, v, "expect.error_index", &e->error_index) != 0) return -1;
    if (!e->error)
      return CT_PFAIL(p, v, "expect.error_index needs expect.error (ErrConditionFailed or ErrTransactionFailed)");
    e->has_error_index = true;
  }
  if ((v = ct_yaml_get(p->y, n, "item_contains")) && attrvals(p, v, "expect.item_contains", &e->item_contains) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "item_has_fields")) && names(p, v, "expect.item_has_fields", &e->has_fields) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "item_missing_fields")) &&
      names(p, v, "expect.item_missing_fields", &e->missing_fields) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "raw_attribute_types")) &&
      pairs(p, v, "expect.raw_attribute_types", true, raw_types, &e->raw_types) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "item_field_equals_var")) &&
      pairs(p, v, "expect.item_field_equals_var", true, NULL, &e->equals_var) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "item_field_not_equals_var")) &&
      pairs(p, v, "expect.item_field_not_equals_var", true, NULL, &e->not_equals_var) != 0)
    return -1;
  if ((v = ct_yaml_get(p->y, n, "count"))) {
    if (count_value(p, v, "expect.count", &e->count) != 0) return -1;
    e->has_count = true;
  }
  if ((v = ct_yaml_get(p->y, n, "items"))) {
    if (v->type != YAML_SEQUENCE_NODE) return CT_PFAIL(p, v, "expect.items must be a list of attribute maps, not %s", ct_yaml_kind(v));
    e->nitems = ct_yaml_seq_len(v);
    e->items = dorm_arena_calloc(p->a, e->nitems ? e->nitems : 1, sizeof *e->items);
    if (!e->items) return CT_PFAIL(p, v, "out of memory");
    for (size_t i = 0; i < e->nitems; i++) {
      char w[64];
      snprintf(w, sizeof w, "expect.items[%zu]", i);
      if (attrvals(p, ct_yaml_seq_at(p->y, v, i), w, &e->items[i]) != 0) return -1;
    }
    e->has_items = true;
  }
  if ((v = ct_yaml_get(p->y, n, "has_more"))) {
    if (bool_value(p, v, "expect.has_more", &e->has_more) != 0) return -1;
    e->has_has_more = true;
  }
  if ((v = ct_yaml_get(p->y, n, "cursor_equals")) && !(e->cursor_equals = ct_p_str(p, v, "expect.cursor_equals")))
    return -1;
  if ((v = ct_yaml_get(p->y, n, "cursor_equals_file"))) {
    if (e->cursor_equals) return CT_PFAIL(p, v, "expect: cursor_equals and cursor_equals_file are exclusive");
    const char *rel = ct_p_str(p, v, "expect.cursor_equals_file");
    if (!rel || !(e->cursor_equals = file_text(p, v, rel))) return -1;
  }
  return 0;
}
