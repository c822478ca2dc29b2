/* Typed updates: actions on fields collected into one UpdateExpression,
 * the lifecycle roles (updated_at, version) and the index keys that depend
 * on updated fields, then UpdateItem. Also DynamORM's Update(fields...).
 *
 * Expression text is deterministic: actions are rendered in call order
 * (SET, REMOVE, ADD, DELETE clauses), then the library's own SETs (index
 * keys in descriptor order, updated_at, the version increment), then the
 * condition (item exists, version, the caller's). Index keys follow every
 * field the update writes, updated_at and version included. */
#include <stdio.h>
#include <string.h>

#include "model_crypt.h"
#include "model_internal.h"

/* Per-update private state: the template text of each field set so far. */
typedef struct upd_state {
  const char **text; /* [nfields], NULL when not set */
  size_t *len;
  uint64_t *touched; /* the fields with an action, for models too wide for u->touched */
  bool finished;     /* dorm__model_update_finish ran: the builder is complete */
  /* @encrypted fields set: the value placeholder (x.values[i]) of each,
   * in plaintext until dorm__model_update_encrypt seals them */
  uint32_t *enc_field;
  size_t *enc_value;
  size_t nenc;
  bool encrypted;
} upd_state;

/* How many fields dorm_model_update.touched tracks; wider models keep a
 * bitmap sized from the model in upd_state. */
#define INLINE_FIELDS (8 * sizeof ((dorm_model_update *)0)->touched)
_Static_assert(INLINE_FIELDS == 256, "model.h documents dorm_model_update.touched as 256 fields");

static upd_state *state(dorm_model_update *u);

/* The update's first error (status and message) wins. */
#define ufail(u, st, ...) dorm__fail_first(&(u)->status, (u)->err, sizeof (u)->err, (st), __VA_ARGS__)

void dorm_model_update_init(dorm_model_update *u, const dorm_model_desc *m, dorm_arena *a) {
  memset(u, 0, sizeof *u);
  u->m = m;
  u->a = a;
  dorm_expr_init(&u->x, a);
  if (!m || !a) ufail(u, DORM_ERR_INVALID_ARGUMENT, "dorm_model_update_init: a model and an arena are required");
}

static bool touched(const dorm_model_update *u, uint32_t f) {
  const uint64_t *bits = u->touched;
  if (u->m->nfields > INLINE_FIELDS) {
    const upd_state *s = u->priv;
    if (!s) return false;
    bits = s->touched;
  }
  return f < u->m->nfields && (bits[f / 64] & (UINT64_C(1) << (f % 64)));
}

/* The non-table template keys that use field f. */
static bool in_index_template(const dorm_model_desc *m, uint32_t f) {
  for (uint32_t k = m->table_keys; k < m->nkeys; k++) {
    if (m->keys[k].field >= 0) continue;
    for (uint32_t p = 0; p < m->keys[k].nparts; p++)
      if (m->keys[k].parts[p].field == (int32_t)f) return true;
  }
  return false;
}

/* Common checks of every action; marks the field. */
static dorm_status begin_action(dorm_model_update *u, uint32_t field, const char *what) {
  if (u->status != DORM_OK) return u->status;
  if (u->x.status != DORM_OK) return ufail(u, u->x.status, "%s", u->x.errmsg);
  const dorm_model_desc *m = u->m;
  if (u->priv && ((upd_state *)u->priv)->finished)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: this update was already run; start a new one", m->name);
  if (field >= m->nfields) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: no field %u (the model has %u)", m->name, field, m->nfields);
  const dorm_field_desc *f = &m->fields[field];
  if ((f->flags & DORM_FF_ENCRYPTED) && strcmp(what, "set") != 0 && strcmp(what, "set_default") != 0 &&
      strcmp(what, "remove") != 0)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT,
                 "%s.%s is @encrypted: DynamoDB sees only its envelope, so it can be set or removed, not changed "
                 "in place (%s)",
                 m->name, f->name, what);
  if (f->flags & DORM_FF_TABLE_KEY)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: part of the table key; it cannot be updated (%s)", m->name,
                 f->name, what);
  if (touched(u, field))
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: already has an action in this update", m->name, f->name);
  uint64_t *bits = u->touched;
  if (m->nfields > INLINE_FIELDS) {
    upd_state *s = state(u);
    if (!s) return u->status;
    bits = s->touched;
  }
  bits[field / 64] |= UINT64_C(1) << (field % 64);
  u->nactions++;
  return DORM_OK;
}

static dorm_operand *attr_opd(dorm_model_update *u, uint32_t field) {
  const char *attr = field_attr(&u->m->fields[field], u->m->naming);
  return dorm_opd_name(&u->x, attr, strlen(attr));
}

static const char *attr_path(dorm_model_update *u, uint32_t field) {
  return dorm__model_escape_path(u->a, field_attr(&u->m->fields[field], u->m->naming));
}

/* Ends an action: the builder's first error becomes the update's. */
static dorm_status end_action(dorm_model_update *u) {
  if (u->status == DORM_OK && u->x.status != DORM_OK) ufail(u, u->x.status, "%s", u->x.errmsg);
  return u->status;
}

static dorm_status value_av(dorm_model_update *u, uint32_t field, const void *value, dorm_av *out) {
  char err[256];
  dorm_status st = dorm__model_field_av(u->m, field, value, u->a, out, err, sizeof err);
  if (st == DORM_OK) return DORM_OK;
  const dorm_field_desc *f = &u->m->fields[field];
  if (!(f->flags & DORM_FF_ENCRYPTED) || st == DORM_ERR_NO_MEMORY) return ufail(u, st, "%s", err);
  /* the message may quote the value ("invalid decimal \"...\""): plaintext */
  explicit_bzero(err, sizeof err);
  return ufail(u, st, "%s.%s: the value is not a valid %s (not shown: the field is @encrypted)", u->m->name, f->name,
               dorm__model_kind_name(f->type.kind));
}

static upd_state *state(dorm_model_update *u) {
  upd_state *s = u->priv;
  if (s) return s;
  const dorm_model_desc *m = u->m;
  s = dorm_arena_calloc(u->a, 1, sizeof *s);
  if (s) {
    s->text = dorm_arena_calloc(u->a, m->nfields ? m->nfields : 1, sizeof *s->text);
    s->len = dorm_arena_calloc(u->a, m->nfields ? m->nfields : 1, sizeof *s->len);
    if (m->nfields > INLINE_FIELDS) s->touched = dorm_arena_calloc(u->a, (m->nfields + 63) / 64, sizeof *s->touched);
  }
  if (!s || !s->text || !s->len || (m->nfields > INLINE_FIELDS && !s->touched)) {
    ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
    return NULL;
  }
  u->priv = s;
  return s;
}

/* Remembers the template text of field for index keys recomputed later. */
static dorm_status remember(dorm_model_update *u, uint32_t field, const void *value) {
  const dorm_model_desc *m = u->m;
  if (!in_index_template(m, field)) return DORM_OK;
  upd_state *s = state(u);
  if (!s) return u->status;
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  char err[256];
  dorm_status st = dorm__model_render_field(m, field, value, &b, err, sizeof err);
  if (st == DORM_OK) {
    char *copy = dorm_arena_memdup(u->a, b.p, b.len + 1);
    if (!copy) st = ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
    s->text[field] = copy;
    s->len[field] = b.len;
  } else {
    ufail(u, st, "%s", err);
  }
  dorm__model_sbuf_free(&b);
  return st;
}

/* After a SET of an @encrypted field: its value is the builder's last
 * placeholder; it is remembered for dorm__model_update_encrypt. */
static dorm_status pending_encryption(dorm_model_update *u, uint32_t field) {
  if (!(u->m->fields[field].flags & DORM_FF_ENCRYPTED)) return DORM_OK;
  upd_state *s = state(u);
  if (!s) return u->status;
  if (!s->enc_field) {
    s->enc_field = dorm_arena_alloc(u->a, u->m->nfields * sizeof *s->enc_field);
    s->enc_value = dorm_arena_alloc(u->a, u->m->nfields * sizeof *s->enc_value);
    if (!s->enc_field || !s->enc_value) return ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
  }
  if (u->x.value_count == 0) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: no value to encrypt", u->m->name);
  s->enc_field[s->nenc] = field;
  s->enc_value[s->nenc++] = u->x.value_count - 1;
  return DORM_OK;
}

bool dorm__model_update_needs_crypt(const dorm_model_update *u) {
  const upd_state *s = u ? u->priv : NULL;
  return s && s->nenc && !s->encrypted;
}

dorm_status dorm__model_update_encrypt(dorm_model_update *u, dorm_crypt *k, char *errbuf, size_t errcap) {
  upd_state *s = u->priv;
  if (!s || !s->nenc || s->encrypted) return DORM_OK;
  const dorm_model_desc *m = u->m;
  for (size_t i = 0; i < s->nenc; i++) {
    const dorm_field_desc *f = &m->fields[s->enc_field[i]];
    mpath root = {NULL, MP_NAME, m->name, 0}, fp = {&root, MP_NAME, f->name, 0};
    if (!k)
      return dorm__model_fail(errbuf, errcap, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, &fp,
                              "@encrypted, and the client has no KMS key to encrypt it with; nothing was sent");
    dorm_av *slot = &u->x.values[s->enc_value[i]];
    dorm_av env;
    dorm_status st = dorm_crypt_encrypt(k, field_attr(f, m->naming), slot, u->a, &env);
    if (st != DORM_OK) return dorm__model_fail(errbuf, errcap, st, &fp, "%s", dorm_client_errmsg(dorm__crypt_client(k)));
    *slot = env;
  }
  s->encrypted = true;
  return DORM_OK;
}

static dorm_status remove_attr(dorm_model_update *u, uint32_t field) {
  const char *path = attr_path(u, field);
  if (!path) return ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
  dorm_update_remove(&u->x, path);
  return end_action(u);
}

dorm_status dorm_model_update_set(dorm_model_update *u, uint32_t field, const void *value) {
  dorm_status st = begin_action(u, field, "set");
  if (st != DORM_OK) return st;
  const dorm_model_desc *m = u->m;
  const dorm_field_desc *f = &m->fields[field];
  if (!value) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no value given", m->name, f->name);
  unsigned k = f->type.kind;
  if ((st = remember(u, field, value)) != DORM_OK) return st;
  /* NULL for an optional pointer field, an empty @omit_empty value and an
   * empty set are "no attribute": REMOVE, as a put would not write it. */
  bool absent = false;
  if (k == DORM_K_BYTES) absent = ((const dorm_bytes *)value)->data == NULL;
  else if (kind_is_pointer(k)) {
    const char *s;
    memcpy(&s, value, sizeof s);
    absent = s == NULL;
  }
  if (absent && !(f->flags & DORM_FF_OPTIONAL))
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: required (NULL)", m->name, f->name);
  if (absent || (k == DORM_K_SET && ((const dorm_array_view *)value)->count == 0) ||
      ((f->flags & DORM_FF_OMIT_EMPTY) && k != DORM_K_STRUCT && dorm__model_value_empty(&f->type, value)))
    return remove_attr(u, field);
  /* An index key attribute stored by this field (a put refuses an empty one
   * the same way; DynamoDB would answer ValidationException). */
  bool empty_text = (k == DORM_K_BYTES && ((const dorm_bytes *)value)->len == 0) ||
                    (k == DORM_K_STRING && **(const char *const *)value == '\0');
  for (uint32_t i = 0; empty_text && i < m->nkeys; i++)
    if (m->keys[i].field == (int32_t)field)
      return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: key attribute %s would be empty (DynamoDB rejects empty keys)",
                   m->name, f->name, m->keys[i].attr);
  dorm_av v;
  if ((st = value_av(u, field, value, &v)) != DORM_OK) return st;
  dorm_update_set_opd(&u->x, attr_opd(u, field), dorm_opd_value(&u->x, v));
  if ((st = end_action(u)) != DORM_OK) return st;
  return pending_encryption(u, field);
}

dorm_status dorm_model_update_remove(dorm_model_update *u, uint32_t field) {
  dorm_status st = begin_action(u, field, "remove");
  if (st != DORM_OK) return st;
  const dorm_field_desc *f = &u->m->fields[field];
  if (!(f->flags & DORM_FF_OPTIONAL))
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: only optional fields can be removed", u->m->name, f->name);
  return remove_attr(u, field);
}

dorm_status dorm_model_update_add(dorm_model_update *u, uint32_t field, const void *by) {
  dorm_status st = begin_action(u, field, "add");
  if (st != DORM_OK) return st;
  const dorm_model_desc *m = u->m;
  const dorm_field_desc *f = &m->fields[field];
  unsigned k = f->type.kind;
  if (k != DORM_K_INT && k != DORM_K_EPOCH && k != DORM_K_FLOAT && k != DORM_K_DECIMAL)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: only number fields can be incremented", m->name, f->name);
  if (in_index_template(m, field))
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: an index key is made from it, so it cannot be incremented "
                 "(set it instead)", m->name, f->name);
  if (!by) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no value given", m->name, f->name);
  dorm_av v;
  if ((st = value_av(u, field, by, &v)) != DORM_OK) return st;
  dorm_operand *p = attr_opd(u, field);
  dorm_update_set_opd(&u->x, p, dorm_opd_plus(&u->x, p, dorm_opd_value(&u->x, v)));
  return end_action(u);
}

static dorm_status set_op(dorm_model_update *u, uint32_t field, const void *elems, bool add) {
  dorm_status st = begin_action(u, field, add ? "set_add" : "set_delete");
  if (st != DORM_OK) return st;
  const dorm_field_desc *f = &u->m->fields[field];
  if (f->type.kind != DORM_K_SET)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: not a set", u->m->name, f->name);
  if (!elems) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no elements given", u->m->name, f->name);
  if (((const dorm_array_view *)elems)->count == 0) return DORM_OK; /* nothing to add or delete */
  dorm_av v;
  if ((st = value_av(u, field, elems, &v)) != DORM_OK) return st;
  const char *path = attr_path(u, field);
  if (!path) return ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
  if (add) dorm_update_add(&u->x, path, v);
  else dorm_update_delete(&u->x, path, v);
  return end_action(u);
}

dorm_status dorm_model_update_set_add(dorm_model_update *u, uint32_t field, const void *elems) {
  return set_op(u, field, elems, true);
}

dorm_status dorm_model_update_set_delete(dorm_model_update *u, uint32_t field, const void *elems) {
  return set_op(u, field, elems, false);
}

static dorm_status list_op(dorm_model_update *u, uint32_t field, const void *list, bool append) {
  dorm_status st = begin_action(u, field, append ? "append" : "prepend");
  if (st != DORM_OK) return st;
  const dorm_field_desc *f = &u->m->fields[field];
  if (f->type.kind != DORM_K_LIST)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: not a list", u->m->name, f->name);
  if (!list) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no list given", u->m->name, f->name);
  dorm_av v;
  if ((st = value_av(u, field, list, &v)) != DORM_OK) return st;
  /* if_not_exists: an @omit_empty list may not be stored yet. */
  dorm_expr *x = &u->x;
  dorm_operand *p = attr_opd(u, field);
  dorm_operand *cur = dorm_opd_if_not_exists(x, p, dorm_opd_value(x, dorm_av_empty(DORM_AV_L)));
  dorm_operand *val = dorm_opd_value(x, v);
  dorm_update_set_opd(x, p, append ? dorm_opd_list_append(x, cur, val) : dorm_opd_list_append(x, val, cur));
  return end_action(u);
}

dorm_status dorm_model_update_append(dorm_model_update *u, uint32_t field, const void *list) {
  return list_op(u, field, list, true);
}

dorm_status dorm_model_update_prepend(dorm_model_update *u, uint32_t field, const void *list) {
  return list_op(u, field, list, false);
}

dorm_status dorm_model_update_set_default(dorm_model_update *u, uint32_t field, const void *value) {
  dorm_status st = begin_action(u, field, "set_default");
  if (st != DORM_OK) return st;
  const dorm_model_desc *m = u->m;
  const dorm_field_desc *f = &m->fields[field];
  if (in_index_template(m, field))
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: an index key is made from it, so it cannot be set "
                 "conditionally (set it instead)", m->name, f->name);
  if (!value) return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: no value given", m->name, f->name);
  dorm_av v;
  if ((st = value_av(u, field, value, &v)) != DORM_OK) return st;
  dorm_operand *p = attr_opd(u, field);
  dorm_update_set_opd(&u->x, p, dorm_opd_if_not_exists(&u->x, p, dorm_opd_value(&u->x, v)));
  if ((st = end_action(u)) != DORM_OK) return st;
  return pending_encryption(u, field);
}

/* ---- finishing and running ---- */

/* The lifecycle field (updated_at, version) that this update writes by
 * itself and index key `key` is made from, or NULL. */
static const dorm_field_desc *automatic_part(const dorm_model_update *u, const dorm_key_desc *key) {
  const dorm_model_desc *m = u->m;
  for (uint32_t p = 0; p < key->nparts; p++) {
    int32_t f = key->parts[p].field;
    if (f >= 0 && (f == m->updated_at || f == m->version) && !touched(u, (uint32_t)f)) return &m->fields[f];
  }
  return NULL;
}

/* The library's own writes change the index keys made from them like any
 * other SET: remembers the template text of updated_at (now) and of version
 * (the expected version + 1, so a key made from the version needs
 * check_version: DynamoDB cannot turn the incremented number into text). */
static dorm_status remember_lifecycle(dorm_model_update *u, const dorm_write_opts *w, int64_t now) {
  const dorm_model_desc *m = u->m;
  dorm_status st = DORM_OK;
  if (m->updated_at >= 0 && !touched(u, (uint32_t)m->updated_at)) st = remember(u, (uint32_t)m->updated_at, &now);
  if (st != DORM_OK || m->version < 0 || touched(u, (uint32_t)m->version) || !in_index_template(m, (uint32_t)m->version))
    return st;
  const dorm_field_desc *vf = &m->fields[m->version];
  const char *attr = "";
  for (uint32_t k = m->table_keys; k < m->nkeys && !*attr; k++)
    for (uint32_t p = 0; p < m->keys[k].nparts && m->keys[k].field < 0; p++)
      if (m->keys[k].parts[p].field == m->version) attr = m->keys[k].attr;
  if (!w || !w->check_version)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: index key %s is made from %s, which every update increments; "
                 "check the version (check_version with expected_version) so that the new key can be computed",
                 m->name, attr, vf->name);
  if (w->expected_version == INT64_MAX)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s.%s: the version cannot be incremented past %lld", m->name, vf->name,
                 (long long)INT64_MAX);
  int64_t next = w->expected_version + 1;
  return remember(u, (uint32_t)m->version, &next);
}

/* SET <index key> = :v for each template key of an index that uses a field
 * this update writes (by an action, or updated_at and version by the
 * library). Its other fields must be set in the update too, except those of
 * the table key, which come from key_obj. */
static dorm_status recompute_keys(dorm_model_update *u, const void *key_obj) {
  const dorm_model_desc *m = u->m;
  upd_state *s = u->priv;
  for (uint32_t k = m->table_keys; k < m->nkeys; k++) {
    const dorm_key_desc *key = &m->keys[k];
    if (key->field >= 0) continue;
    bool uses = false;
    for (uint32_t p = 0; p < key->nparts && !uses; p++) {
      int32_t f = key->parts[p].field;
      uses = f >= 0 && (touched(u, (uint32_t)f) || (s && s->text[f]));
    }
    if (!uses) continue;
    model_sbuf b;
    dorm__model_sbuf_init(&b);
    bool ok = true;
    for (uint32_t p = 0; p < key->nparts; p++) {
      const dorm_tpl_part *part = &key->parts[p];
      if (part->field < 0) {
        ok = ok && dorm__buf_put(&b.buf, part->literal ? part->literal : "", part->literal_len);
        continue;
      }
      const dorm_field_desc *pf = &m->fields[part->field];
      if ((pf->flags & DORM_FF_TABLE_KEY) && key_obj) {
        char err[256];
        dorm_status st = dorm__model_render_field(m, (uint32_t)part->field, field_ptr(key_obj, pf), &b, err, sizeof err);
        if (st != DORM_OK) {
          dorm__model_sbuf_free(&b);
          return ufail(u, st, "%s", err);
        }
        continue;
      }
      if (!s || !s->text[part->field]) {
        const dorm_field_desc *missing = pf, *automatic = automatic_part(u, key);
        dorm__model_sbuf_free(&b);
        if (automatic)
          return ufail(u, DORM_ERR_INVALID_ARGUMENT,
                       "%s: index key %s is made from %s, which every update writes, and from %s; set %s in the "
                       "same update too", m->name, key->attr, automatic->name, missing->name, missing->name);
        return ufail(u, DORM_ERR_INVALID_ARGUMENT,
                     "%s: index key %s is made from several fields; set %s in the same update too", m->name,
                     key->attr, missing->name);
      }
      size_t value_at = b.len;
      ok = ok && dorm__buf_put(&b.buf, s->text[part->field], s->len[part->field]);
      const dorm_tpl_part *next = p + 1 < key->nparts ? &key->parts[p + 1] : NULL;
      if (!ok || pf->type.kind != DORM_K_STRING || !next || next->field >= 0 || next->literal_len == 0 ||
          p + 2 >= key->nparts)
        continue;
      size_t value_end = b.len;
      ok = dorm__buf_put(&b.buf, next->literal, next->literal_len);
      p++; /* the literal is written */
      if (ok && !dorm__model_literal_ends_value(b.p, b.len, value_at, value_end, next->literal, next->literal_len)) {
        dorm__model_sbuf_free(&b);
        return ufail(u, DORM_ERR_INVALID_ARGUMENT,
                     "%s.%s: the value would run into the \"%.*s\" that follows it in key %s: the key would not say "
                     "where %s ends (another value of the key's fields makes the same key)",
                     m->name, pf->name, (int)next->literal_len, next->literal, key->attr, pf->name);
      }
    }
    dorm_av v;
    if (!ok || dorm_av_str_copy(u->a, b.p, b.len, &v) != DORM_OK) {
      dorm__model_sbuf_free(&b);
      return ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
    }
    if (b.len == 0) {
      dorm__model_sbuf_free(&b);
      return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: index key %s would be empty", m->name, key->attr);
    }
    dorm__model_sbuf_free(&b);
    dorm_update_set_opd(&u->x, dorm_opd_name(&u->x, key->attr, strlen(key->attr)), dorm_opd_value(&u->x, v));
  }
  return end_action(u);
}

dorm_status dorm__model_update_finish(dorm_model_update *u, const void *key_obj, const dorm_write_opts *w, int64_t now) {
  const dorm_model_desc *m = u->m;
  if (u->status != DORM_OK) return u->status;
  upd_state *s = state(u);
  if (!s) return u->status;
  if (s->finished)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s: this update was already run; start a new one", m->name);
  s->finished = true;
  if (w && w->condition && w->expr && w->expr != &u->x)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "the condition of an update must be built with the update's own "
                 "builder (&u->x)");
  if (w && w->check_version && m->version < 0)
    return ufail(u, DORM_ERR_INVALID_ARGUMENT, "%s has no @version field to check", m->name);
  dorm_status st = remember_lifecycle(u, w, now);
  if (st == DORM_OK) st = recompute_keys(u, key_obj);
  if (st != DORM_OK) return st;
  dorm_expr *x = &u->x;
  /* Explicit actions on lifecycle fields win over the automatic ones. */
  if (m->updated_at >= 0 && !touched(u, (uint32_t)m->updated_at)) {
    char buf[32];
    dorm_time_format(now, buf);
    dorm_av v;
    if (dorm_av_str_copy(u->a, buf, 30, &v) != DORM_OK) return ufail(u, DORM_ERR_NO_MEMORY, "out of memory");
    dorm_update_set_opd(x, attr_opd(u, (uint32_t)m->updated_at), dorm_opd_value(x, v));
  }
  if (m->version >= 0 && !touched(u, (uint32_t)m->version)) {
    dorm_operand *p = attr_opd(u, (uint32_t)m->version);
    dorm_update_set_opd(x, p, dorm_opd_plus(x, p, dorm_opd_value(x, dorm_av_num("1"))));
  }
  dorm_cond *own = dorm__model_pk_cond(x, m, true);
  if (w && w->check_version) own = dorm_cond_and(x, own, dorm__model_version_cond(x, m, w->expected_version));
  dorm__model_attach_condition(x, own, w ? w->condition : NULL);
  return end_action(u);
}

/* UpdateItem with the finished builder. */
static dorm_status run_update(dorm_client *c, const dorm_model_desc *m, const void *key_obj, dorm_model_update *u,
                              const dorm_update_opts *o, dorm_arena *a, void *new_out, int64_t now) {
  static const char op[] = "UpdateItem";
  if (u->m != m)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "the update was started for model %s, not %s",
                            u->m ? u->m->name : "(none)", m->name);
  const dorm_write_opts *w = o ? &o->w : NULL;
  if (w && w->old_out && !a)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "old_out needs an arena to be filled in");
  bool want_new = o && o->return_new && new_out;
  if (want_new && !a) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "new_out needs an arena to be filled in");
  dorm_crypt *k;
  dorm_status st = dorm__model_crypt_for(c, op, m, &k);
  if (st != DORM_OK) return st;
  if (dorm__model_update_finish(u, key_obj, w, now) != DORM_OK) return dorm__client_fail(c, u->status, op, "%s", u->err);
  char err[512];
  if ((st = dorm__model_update_encrypt(u, k, err, sizeof err)) != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  dorm_jw *jw = dorm__ops_begin(c, m->table);
  dorm__jw_key(jw, "Key");
  st = dorm__model_write_key(jw, m, key_obj, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  dorm__jw_expr(jw, &u->x);
  dorm__ops_return_values(jw, want_new ? DORM_RETURN_ALL_NEW : DORM_RETURN_NONE, w && w->old_out);
  dorm__jw_end_object(jw);
  const char *resp;
  size_t len;
  st = dorm__client_send(c, op, &resp, &len);
  if (st == DORM_ERR_CONDITION_FAILED) dorm__model_condition_failed(c, m, op, key_obj, MODEL_COND_EXISTS, w, a);
  if (st != DORM_OK) return dorm__ops_table_failed(c, st, op, m->table);
  if (!want_new) return st;
  bool found;
  st = dorm__model_read_single(c, op, m, resp, len, 0, a, new_out, &found);
  if (st == DORM_OK && !found)
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "the response holds no updated item");
  return st;
}

dorm_status dorm_model_update_exec(dorm_client *c, const dorm_model_desc *m, const void *key_obj, dorm_model_update *u,
                                   const dorm_update_opts *o, dorm_arena *a, void *new_out) {
  static const char op[] = "UpdateItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = dorm__model_check_args(c, op, m, key_obj, "key object");
  if (st != DORM_OK) return st;
  if (!u) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: no update given", m->name);
  if (u->status != DORM_OK) return dorm__client_fail(c, u->status, op, "%s", u->err);
  return run_update(c, m, key_obj, u, o, a, new_out, dorm_time_now());
}

static dorm_status update_fields(dorm_client *c, const dorm_model_desc *m, void *obj, const uint32_t *fields,
                                 size_t nfields, const dorm_write_opts *o, dorm_arena *a);

dorm_status dorm_model_update_fields(dorm_client *c, const dorm_model_desc *m, void *obj, const uint32_t *fields,
                                     size_t nfields, const dorm_write_opts *o, dorm_arena *a) {
  static const char op[] = "UpdateItem";
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  dorm__client_clear_error(c);
  dorm_status st = dorm__model_check_args(c, op, m, obj, "object");
  if (st != DORM_OK) return st;
  /* Checked before fields is read: the generated wrappers pass NULL here
   * rather than copy a list no model could accept. */
  if (nfields > m->nfields)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                             "%s: %zu fields listed, but the model has %u: list each field once", m->name, nfields,
                             m->nfields);
  if (nfields && !fields) return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s: fields is NULL", m->name);
  if (o && o->condition && !o->expr)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op,
                            "a condition needs the builder it was made with (dorm_write_opts.expr)");
  if (o && o->old_out && !a)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "old_out needs an arena to be filled in");
  /* Without the caller's arena, the update is built in a scratch one. */
  dorm_arena scratch = DORM_ARENA_INIT;
  st = update_fields(c, m, obj, fields, nfields, o, a ? a : &scratch);
  dorm_arena_free(&scratch);
  return st;
}

static dorm_status update_fields(dorm_client *c, const dorm_model_desc *m, void *obj, const uint32_t *fields,
                                 size_t nfields, const dorm_write_opts *o, dorm_arena *a) {
  static const char op[] = "UpdateItem";
  dorm_status st;
  dorm_model_update u;
  dorm_model_update_init(&u, m, a);
  /* The caller's builder (holding their condition) becomes the update's. */
  if (o && o->expr) u.x = *o->expr;
  for (size_t i = 0; i < nfields && u.status == DORM_OK; i++) {
    uint32_t fi = fields[i];
    if (fi >= m->nfields) {
      ufail(&u, DORM_ERR_INVALID_ARGUMENT, "%s: no field %u (the model has %u)", m->name, fi, m->nfields);
      break;
    }
    /* Lifecycle fields are the library's: listing them changes nothing. */
    if ((int32_t)fi == m->created_at || (int32_t)fi == m->updated_at || (int32_t)fi == m->version) continue;
    const dorm_field_desc *f = &m->fields[fi];
    if (!model_field_present(f, obj) && (f->flags & DORM_FF_OPTIONAL)) dorm_model_update_remove(&u, fi);
    else dorm_model_update_set(&u, fi, field_ptr(obj, f));
  }
  if (u.status != DORM_OK) return dorm__client_fail(c, u.status, op, "%s", u.err);
  dorm_update_opts uo;
  memset(&uo, 0, sizeof uo);
  if (o) uo.w = *o;
  uo.w.expr = o && o->expr ? &u.x : NULL;
  int64_t *version = m->version >= 0 ? (int64_t *)field_ptr_mut(obj, &m->fields[m->version]) : NULL;
  if (version) {
    uo.w.check_version = true;
    uo.w.expected_version = *version;
  }
  int64_t now = dorm_time_now();
  st = run_update(c, m, obj, &u, &uo, a, NULL, now);
  if (st != DORM_OK) return st;
  if (version) *version += 1;
  if (m->updated_at >= 0) {
    const dorm_field_desc *f = &m->fields[m->updated_at];
    *(int64_t *)field_ptr_mut(obj, f) = now;
    if (f->has_offset >= 0) *(bool *)((char *)obj + f->has_offset) = true;
  }
  return DORM_OK;
}
