/* Typed conditions on fields: the attribute name from the descriptor (as
 * one literal name, so any attribute name is safe) and the value marshalled
 * by the field's own rules. Errors are recorded on the builder like its own. */
#include <string.h>

#include "model_internal.h"

static const dorm_field_desc *field_of(dorm_expr *x, const dorm_model_desc *m, uint32_t field) {
  if (!x || x->status != DORM_OK) return NULL;
  if (!m) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "no model descriptor given");
    return NULL;
  }
  if (field >= m->nfields) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s: no field %u (the model has %u)", m->name, field, m->nfields);
    return NULL;
  }
  return &m->fields[field];
}

/* field_of for a condition that compares the stored value: DynamoDB sees
 * an @encrypted field's envelope only, never the value (exists and
 * not_exists are fine). */
static const dorm_field_desc *value_field_of(dorm_expr *x, const dorm_model_desc *m, uint32_t field) {
  const dorm_field_desc *f = field_of(x, m, field);
  if (f && (f->flags & DORM_FF_ENCRYPTED)) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT,
                          "%s.%s is @encrypted: DynamoDB sees only its envelope, so conditions and filters cannot "
                          "compare its value (exists / not_exists can test it)",
                          m->name, f->name);
    return NULL;
  }
  return f;
}

static dorm_operand *name_of(dorm_expr *x, const dorm_model_desc *m, const dorm_field_desc *f) {
  const char *attr = field_attr(f, m->naming);
  return dorm_opd_name(x, attr, strlen(attr));
}

/* The operand of a C value of type t (the field's type when t is NULL). */
static dorm_operand *value_of(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const dorm_type_desc *t,
                              const void *value) {
  if (x->status != DORM_OK) return NULL;
  const dorm_field_desc *f = &m->fields[field];
  if (!value) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no value given", m->name, f->name);
    return NULL;
  }
  dorm_av v;
  char err[200];
  dorm_status st = t ? dorm__model_type_av(m, t, value, x->arena, &v, err, sizeof err)
                     : dorm__model_field_av(m, field, value, x->arena, &v, err, sizeof err);
  if (st != DORM_OK) {
    dorm__model_expr_fail(x, st, "%s", err);
    return NULL;
  }
  return dorm_opd_value(x, v);
}

dorm_cond *dorm_model_cond_cmp(dorm_expr *x, const dorm_model_desc *m, uint32_t field, dorm_cmp_op op,
                               const void *value) {
  const dorm_field_desc *f = value_field_of(x, m, field);
  if (!f) return NULL;
  dorm_operand *v = value_of(x, m, field, NULL, value);
  return v ? dorm_cond_compare(x, name_of(x, m, f), op, v) : NULL;
}

dorm_cond *dorm_model_cond_between(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const void *lo,
                                   const void *hi) {
  const dorm_field_desc *f = value_field_of(x, m, field);
  if (!f) return NULL;
  dorm_operand *l = value_of(x, m, field, NULL, lo);
  dorm_operand *h = l ? value_of(x, m, field, NULL, hi) : NULL;
  return h ? dorm_cond_between_opd(x, name_of(x, m, f), l, h) : NULL;
}

dorm_cond *dorm_model_cond_begins_with(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const char *prefix) {
  const dorm_field_desc *f = value_field_of(x, m, field);
  if (!f) return NULL;
  unsigned k = f->type.kind;
  if (k != DORM_K_STRING && k != DORM_K_TIME && k != DORM_K_JSON && k != DORM_K_ENUM) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s.%s: begins_with needs a field stored as a string", m->name,
                    f->name);
    return NULL;
  }
  if (!prefix) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no prefix given", m->name, f->name);
    return NULL;
  }
  return dorm_cond_begins_with_opd(x, name_of(x, m, f), dorm_opd_value(x, dorm_av_str(prefix)));
}

dorm_cond *dorm_model_cond_contains(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const void *elem) {
  const dorm_field_desc *f = value_field_of(x, m, field);
  if (!f) return NULL;
  unsigned k = f->type.kind;
  dorm_operand *v;
  if (k == DORM_K_SET || k == DORM_K_LIST) {
    dorm_type_desc e = *f->type.elem;
    e.optional = 0; /* a value to look for is never absent */
    v = value_of(x, m, field, &e, elem);
  } else if (k == DORM_K_STRING) {
    v = value_of(x, m, field, NULL, elem);
  } else {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s.%s: contains needs a string, set or list field", m->name,
                    f->name);
    return NULL;
  }
  return v ? dorm_cond_contains_opd(x, name_of(x, m, f), v) : NULL;
}

dorm_cond *dorm_model_cond_in(dorm_expr *x, const dorm_model_desc *m, uint32_t field, const void *values,
                              size_t count) {
  const dorm_field_desc *f = value_field_of(x, m, field);
  if (!f) return NULL;
  if (count == 0 || count > DORM_EXPR_MAX_IN || !values) {
    dorm__model_expr_fail(x, DORM_ERR_INVALID_ARGUMENT, "%s.%s: IN takes 1 to %d values, not %zu", m->name, f->name,
                    DORM_EXPR_MAX_IN, values ? count : 0);
    return NULL;
  }
  dorm_operand **ops = dorm_arena_alloc(x->arena, count * sizeof *ops);
  if (!ops) {
    dorm__model_expr_fail(x, DORM_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < count; i++)
    if (!(ops[i] = value_of(x, m, field, NULL, (const char *)values + i * f->type.size))) return NULL;
  return dorm_cond_in_opd(x, name_of(x, m, f), ops, count);
}

dorm_cond *dorm_model_cond_exists(dorm_expr *x, const dorm_model_desc *m, uint32_t field) {
  const dorm_field_desc *f = field_of(x, m, field);
  return f ? dorm_cond_exists_opd(x, name_of(x, m, f)) : NULL;
}

dorm_cond *dorm_model_cond_not_exists(dorm_expr *x, const dorm_model_desc *m, uint32_t field) {
  const dorm_field_desc *f = field_of(x, m, field);
  return f ? dorm_cond_not_exists_opd(x, name_of(x, m, f)) : NULL;
}
