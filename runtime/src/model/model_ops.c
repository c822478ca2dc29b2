/* Typed single-item operations: put/create, get, delete.
 *
 * Requests are written straight from the struct into the client's request
 * writer (model_write.c); responses are parsed with cJSON and decoded
 * straight into the struct (model_decode.c), which points into the
 * caller's arena. */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

/* ---- shared by the model operation modules ---- */

dorm_status dorm__model_check_args(dorm_client *c, const char *op, const dorm_model_desc *m, const void *obj,
                             const char *what) {
  if (!m) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "no model descriptor given");
  if (!obj) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: no %s given", m->name, what);
  return DORM_OK;
}

void dorm__model_key_obj_text(const dorm_model_desc *m, const void *key_obj, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (uint32_t k = 0; k < m->table_keys && k < m->nkeys && o + 1 < cap; k++) {
    model_sbuf b;
    dorm__model_sbuf_init(&b);
    char err[8];
    bool ok = dorm__model_render_key(m, k, key_obj, SIZE_MAX, &b, err, sizeof err) == DORM_OK;
    int n = snprintf(buf + o, cap - o, "%s%s=%.*s", k ? ", " : "", m->keys[k].attr, ok ? (int)(b.len > 96 ? 96 : b.len) : 1,
                     ok ? b.p : "?");
    dorm__model_sbuf_free(&b);
    if (n < 0) break;
    o += (size_t)n;
    if (o >= cap) o = cap - 1;
  }
}

dorm_status dorm__model_expr_for(dorm_client *c, const char *op, const dorm_write_opts *o, dorm_arena *a,
                           dorm_expr *local, dorm_expr **x) {
  *x = NULL;
  if (o && o->condition && !o->expr)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                            "a condition needs the builder it was made with (dorm_write_opts.expr)");
  if (o && o->expr) {
    *x = o->expr;
    return DORM_OK;
  }
  if (!a) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "an arena is required for this request");
  dorm_expr_init(local, a);
  *x = local;
  return DORM_OK;
}

dorm_cond *dorm__model_version_cond(dorm_expr *x, const dorm_model_desc *m, int64_t expected) {
  const dorm_field_desc *f = &m->fields[m->version];
  const char *attr = field_attr(f, m->naming);
  dorm_av v;
  if (dorm_av_num_i64(x->arena, expected, &v) != DORM_OK) {
    dorm__model_expr_fail(x, DORM_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  return dorm_cond_compare(x, dorm_opd_name(x, attr, strlen(attr)), DORM_EQ, dorm_opd_value(x, v));
}

dorm_cond *dorm__model_pk_cond(dorm_expr *x, const dorm_model_desc *m, bool exists) {
  const char *attr = m->keys[0].attr;
  dorm_operand *p = dorm_opd_name(x, attr, strlen(attr));
  return exists ? dorm_cond_exists_opd(x, p) : dorm_cond_not_exists_opd(x, p);
}

static void old_item(dorm_client *c, const dorm_model_desc *m, const dorm_write_opts *o, dorm_arena *a) {
  if (!o || !o->old_out) return;
  if (o->old_found) *o->old_found = false;
  size_t len = 0;
  const char *body = dorm__client_error_body(c, &len);
  model_response r;
  char err[64];
  if (!a || len == 0 ||
      dorm__model_decode_response_k(body, len, m, MODEL_DECODE_CHECK_TYPE, dorm__model_crypt_of(c, m), a, &r, err,
                                  sizeof err) != DORM_OK ||
      !r.has_item)
    return;
  memcpy(o->old_out, r.item, m->size);
  if (o->old_found) *o->old_found = true;
}

void dorm__model_condition_failed(dorm_client *c, const dorm_model_desc *m, const char *op, const void *key_obj,
                                  unsigned own, const dorm_write_opts *o, dorm_arena *a) {
  old_item(c, m, o, a);
  /* Which of the write's conditions may be false: DynamoDB does not say. */
  char why[256];
  size_t n = 0;
  why[0] = '\0';
#define WHY(...) n += (size_t)snprintf(why + n, n < sizeof why ? sizeof why - n : 0, __VA_ARGS__)
  if (own & MODEL_COND_NEW) WHY("an item with this key already exists");
  if (own & MODEL_COND_EXISTS) WHY("no item with this key exists");
  if (o && o->check_version)
    WHY("%sits stored version is not %lld (it changed since it was read)", n ? ", or " : "",
        (long long)o->expected_version);
  if (o && o->condition) WHY("%sthe write's condition is false", n ? ", or " : "");
  if (!n) WHY("the condition failed");
#undef WHY
  char dynamo[256];
  const char *said = dorm_client_errmsg(c);
  size_t opl = strlen(op);
  if (strncmp(said, op, opl) == 0 && strncmp(said + opl, ": ", 2) == 0) said += opl + 2; /* op is said once */
  snprintf(dynamo, sizeof dynamo, "DynamoDB: %s", said);
  /* The key as the transactions' messages show it: PK=CUSTOMER#c1, SK=ORDER#o1. */
  char scratch[1024], key[256], err[128];
  dorm_arena ka;
  dorm_arena_init_buffer(&ka, scratch, sizeof scratch);
  dorm_av kav;
  if (dorm_model_key_av(m, key_obj, &ka, &kav, err, sizeof err) == DORM_OK) dorm__model_key_text(m, &kav, key, sizeof key);
  else snprintf(key, sizeof key, "(%s)", err);
  dorm_arena_free(&ka);
  dorm__client_fail(c, DORM_ERR_CONDITION_FAILED, op, "%s %s on %s: %s (%s)", m->name, key, m->table, why, dynamo);
}

dorm_status dorm__model_read_single(dorm_client *c, const char *op, const dorm_model_desc *m, const char *resp, size_t len,
                              unsigned flags, dorm_arena *a, void *out, bool *found) {
  model_response r;
  char err[512];
  *found = false;
  dorm_status st = dorm__model_decode_response_k(resp, len, m, flags | MODEL_DECODE_CHECK_TYPE, dorm__model_crypt_of(c, m),
                                               a, &r, err, sizeof err);
  if (st != DORM_OK) {
    if (r.bad_item != SIZE_MAX) return dorm__client_fail(c, st, op, "item %s: %s", r.bad_key, err);
    return dorm__client_fail(c, st, op, "response: %s", err);
  }
  if (!r.has_item) return DORM_OK;
  memcpy(out, r.item, m->size);
  *found = true;
  return DORM_OK;
}

dorm_status dorm__model_projection(dorm_client *c, const char *op, const dorm_model_desc *m, dorm_expr *x,
                             const uint32_t *fields, size_t n, bool with_type) {
  dorm_arena *a = x->arena;
  const char **paths = dorm_arena_alloc(a, (n + 1) * sizeof *paths);
  if (!paths) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  size_t np = 0;
  for (size_t i = 0; i < n; i++) {
    if (fields[i] >= m->nfields)
      return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: projection names field %u; the model has %u",
                              m->name, fields[i], m->nfields);
    paths[np] = dorm__model_escape_path(a, field_attr(&m->fields[fields[i]], m->naming));
    if (!paths[np++]) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  }
  if (with_type) paths[np++] = "_type";
  if (dorm_expr_projection(x, paths, np) != DORM_OK) return dorm__ops_check_expr(c, op, x);
  return DORM_OK;
}

/* The caller's builder (dorm_query_opts.expr, dorm_write_opts.expr: it holds
 * the placeholders of the caller's filter or condition) is borrowed for one
 * call: the key condition, condition, filter and projection a call adds to
 * it are taken out again when the call ends, so the same opts serve the next
 * page (a cursor loop, _each), the next query and the next write. Without
 * this the second page failed with "FilterExpression is already set on this
 * builder", and so did a second delete with the same condition. The
 * placeholder arrays only grow, so what the call appended is dropped by
 * restoring the counts. */
dorm__model_expr_mark dorm__model_mark_expr(dorm_expr *x) {
  dorm__model_expr_mark mk = {0};
  if (x) {
    mk.x = x;
    mk.key_condition = x->key_condition;
    mk.condition = x->condition;
    mk.filter = x->filter;
    mk.projection = x->projection;
    mk.names = x->name_count;
    mk.values = x->value_count;
    mk.status = x->status;
  }
  return mk;
}

void dorm__model_restore_expr(const dorm__model_expr_mark *mk) {
  dorm_expr *x = mk->x;
  if (!x) return;
  x->key_condition = mk->key_condition;
  x->condition = mk->condition;
  x->filter = mk->filter;
  x->projection = mk->projection;
  if (x->name_count > mk->names) x->name_count = mk->names;
  if (x->value_count > mk->values) x->value_count = mk->values;
  if (mk->status == DORM_OK && x->status != DORM_OK) {
    x->status = DORM_OK;
    x->errmsg[0] = '\0';
  }
}

/* ---- put ---- */

static dorm_status put_item(dorm_client *c, const dorm_model_desc *m, void *obj, bool create, const dorm_write_opts *o,
                            dorm_arena *a) {
  static const char op[] = "PutItem";
  dorm_status st;
  dorm_crypt *k;
  if ((st = dorm__model_crypt_for(c, op, m, &k)) != DORM_OK) return st;
  dorm_expr local, *x = NULL;
  if (create || (o && (o->condition || o->expr))) {
    if ((st = dorm__model_expr_for(c, op, o, a, &local, &x)) != DORM_OK) return st;
    if (dorm__model_attach_condition(x, create ? dorm__model_pk_cond(x, m, false) : NULL, o ? o->condition : NULL) != DORM_OK)
      return dorm__ops_check_expr(c, op, x);
  }
  model_lifecycle_save saved;
  dorm__model_lifecycle_put(m, obj, dorm_time_now(), &saved);

  char err[512];
  dorm_jw *w = dorm__ops_begin(c, m->table);
  dorm__jw_key(w, "Item");
  st = dorm__model_write_item_crypt(w, m, obj, k, false, NULL, err, sizeof err);
  if (st != DORM_OK) {
    dorm__model_lifecycle_restore(m, obj, &saved);
    return dorm__client_fail(c, st, op, "%s", err);
  }
  if (x) dorm__jw_expr(w, x);
  dorm__ops_return_values(w, DORM_RETURN_NONE, o && o->old_out);
  dorm__jw_end_object(w);
  const char *resp;
  size_t len;
  st = dorm__client_send(c, op, &resp, &len);
  if (st == DORM_ERR_CONDITION_FAILED) dorm__model_condition_failed(c, m, op, obj, create ? MODEL_COND_NEW : 0, o, a);
  if (st != DORM_OK) dorm__model_lifecycle_restore(m, obj, &saved);
  return dorm__ops_table_failed(c, st, op, m->table);
}

dorm_status dorm_model_put(dorm_client *c, const dorm_model_desc *m, void *obj, bool create, const dorm_write_opts *o,
                           dorm_arena *a) {
  static const char op[] = "PutItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = dorm__model_check_args(c, op, m, obj, "object");
  if (st != DORM_OK) return st;
  if (o && o->old_out && !a)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "old_out needs an arena to be filled in");
  /* Without the caller's arena, what the request needs (the condition's
   * builder) lives in a scratch one until it is sent. */
  dorm_arena scratch = DORM_ARENA_INIT;
  dorm__model_expr_mark mk = dorm__model_mark_expr(o ? o->expr : NULL);
  st = put_item(c, m, obj, create, o, a ? a : &scratch);
  dorm__model_restore_expr(&mk);
  dorm_arena_free(&scratch);
  return st;
}

/* ---- get ---- */

dorm_status dorm_model_get(dorm_client *c, const dorm_model_desc *m, const void *key_obj, const dorm_get_opts *o,
                           dorm_arena *a, void *out) {
  static const char op[] = "GetItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = dorm__model_check_args(c, op, m, key_obj, "key object");
  if (st != DORM_OK) return st;
  if (!a || !out) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: an arena and an output struct are required", m->name);
  dorm_crypt *k;
  if ((st = dorm__model_crypt_for(c, op, m, &k)) != DORM_OK) return st;
  dorm_expr x;
  bool projected = o && o->fields && o->nfields;
  if (projected) {
    dorm_expr_init(&x, a);
    if ((st = dorm__model_projection(c, op, m, &x, o->fields, o->nfields, m->entity_type != NULL)) != DORM_OK) return st;
  }
  char err[512];
  dorm_jw *w = dorm__ops_begin(c, m->table);
  dorm__jw_key(w, "Key");
  st = dorm__model_write_key(w, m, key_obj, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  if (o && o->consistent_read) {
    dorm__jw_key(w, "ConsistentRead");
    dorm__jw_bool(w, true);
  }
  if (projected) dorm__jw_expr(w, &x);
  dorm__jw_end_object(w);
  const char *resp;
  size_t len;
  st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, op, m->table);
  bool found;
  st = dorm__model_read_single(c, op, m, resp, len, projected ? DORM_READ_PARTIAL : 0, a, out, &found);
  if (st != DORM_OK) return st;
  if (!found) {
    char key[256];
    dorm__model_key_obj_text(m, key_obj, key, sizeof key); /* before out is cleared: it may be key_obj */
    memset(out, 0, m->size);
    return dorm__client_fail(c, DORM_ERR_NOT_FOUND, op, "no %s with key %s in table %s", m->name, key, m->table);
  }
  return DORM_OK;
}

/* ---- delete ---- */

static dorm_status delete_item(dorm_client *c, const dorm_model_desc *m, const void *key_obj, const dorm_write_opts *o,
                               dorm_arena *a) {
  static const char op[] = "DeleteItem";
  dorm_status st;
  dorm_expr local, *x = NULL;
  if (o && (o->condition || o->expr || o->check_version)) {
    if ((st = dorm__model_expr_for(c, op, o, a, &local, &x)) != DORM_OK) return st;
    dorm_cond *own = o->check_version ? dorm__model_version_cond(x, m, o->expected_version) : NULL;
    if (dorm__model_attach_condition(x, own, o->condition) != DORM_OK) return dorm__ops_check_expr(c, op, x);
  }
  char err[512];
  dorm_jw *w = dorm__ops_begin(c, m->table);
  dorm__jw_key(w, "Key");
  st = dorm__model_write_key(w, m, key_obj, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  if (x) dorm__jw_expr(w, x);
  dorm__ops_return_values(w, DORM_RETURN_NONE, o && o->old_out);
  dorm__jw_end_object(w);
  const char *resp;
  size_t len;
  st = dorm__client_send(c, op, &resp, &len);
  if (st == DORM_ERR_CONDITION_FAILED) dorm__model_condition_failed(c, m, op, key_obj, 0, o, a);
  return dorm__ops_table_failed(c, st, op, m->table);
}

dorm_status dorm_model_delete(dorm_client *c, const dorm_model_desc *m, const void *key_obj, const dorm_write_opts *o,
                              dorm_arena *a) {
  static const char op[] = "DeleteItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = dorm__model_check_args(c, op, m, key_obj, "key object");
  if (st != DORM_OK) return st;
  if (o && o->check_version && m->version < 0)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s has no @version field to check", m->name);
  if (o && o->old_out && !a)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "old_out needs an arena to be filled in");
  dorm_arena scratch = DORM_ARENA_INIT; /* as put: the condition's builder when a is NULL */
  dorm__model_expr_mark mk = dorm__model_mark_expr(o ? o->expr : NULL);
  st = delete_item(c, m, key_obj, o, a ? a : &scratch);
  dorm__model_restore_expr(&mk);
  dorm_arena_free(&scratch);
  return st;
}
