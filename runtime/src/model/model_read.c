/* Stored item (dorm_av) -> model struct.
 *
 * Strict about types (an attribute of the wrong type is
 * DORM_ERR_SCHEMA_MISMATCH naming it), lenient where DynamORM's own items
 * differ from ours: any RFC 3339 time, NULL for absent values, a set stored
 * as a list (DynamORM's update turns sets into lists), missing empty
 * containers and @omit_empty values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "core_internal.h"
#include "model_crypt.h"

typedef struct rctx {
  dorm_arena *a;
  unsigned flags;
  int naming;
  char *err;
  size_t errcap;
  dorm_crypt *k; /* opens @encrypted fields; NULL: they fail closed */
} rctx;

#define RFAIL(c, st, p, ...) dorm__model_fail((c)->err, (c)->errcap, (st), (p), __VA_ARGS__)

static dorm_status oom(rctx *c, const mpath *p) { return RFAIL(c, DORM_ERR_NO_MEMORY, p, "out of memory"); }

static dorm_status mismatch(rctx *c, const mpath *p, const dorm_av *v, const char *expected) {
  return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "stored as %s, expected %s", dorm_av_type_name(v->type), expected);
}

/* A NUL-terminated copy of s in the arena (or s itself when the item already
 * lives there and is NUL-terminated). */
static dorm_status take_str(rctx *c, dorm_str s, const char **out, const mpath *p) {
  if (memchr(s.ptr, 0, s.len)) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "the text contains U+0000");
  if ((c->flags & MODEL_READ_BORROW) && s.ptr) {
    *out = s.ptr;
    return DORM_OK;
  }
  char *copy = dorm_arena_strndup(c->a, s.ptr ? s.ptr : "", s.len);
  if (!copy) return oom(c, p);
  *out = copy;
  return DORM_OK;
}

static dorm_status take_bytes(rctx *c, dorm_str s, dorm_bytes *out, const mpath *p) {
  if (c->flags & MODEL_READ_BORROW) {
    out->data = (const uint8_t *)(s.ptr ? s.ptr : "");
    out->len = s.len;
    return DORM_OK;
  }
  void *copy = dorm_arena_alloc_aligned(c->a, s.len + 1, 1);
  if (!copy) return oom(c, p);
  if (s.len) memcpy(copy, s.ptr, s.len);
  out->data = copy;
  out->len = s.len;
  return DORM_OK;
}

static void set_ptr(void *dst, const char *s) { memcpy(dst, &s, sizeof s); }

static dorm_status read_fields(rctx *c, const dorm_field_desc *fields, uint32_t n, const dorm_av *map, void *obj,
                               const mpath *path, int depth);

static dorm_status rvalue(rctx *c, const dorm_type_desc *t, const dorm_av *v, void *dst, const mpath *p, int depth);

/* A scalar element of a set, from its text (SS/NS/BS element or the
 * matching S/N/B of a list). */
static dorm_status set_elem(rctx *c, const dorm_type_desc *e, dorm_str s, void *dst, const mpath *p) {
  switch (e->kind) {
  case DORM_K_STRING:
  case DORM_K_DECIMAL: {
    const char *out = NULL;
    dorm_status st = take_str(c, s, &out, p);
    if (st == DORM_OK) set_ptr(dst, out);
    return st;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    int64_t v;
    if (!dorm__number_to_i64(s.ptr, s.len, &v))
      return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "%.40s is not an integer that fits int64", s.ptr);
    memcpy(dst, &v, sizeof v);
    return DORM_OK;
  }
  case DORM_K_FLOAT: {
    double v;
    if (!dorm__number_to_double(s.ptr, s.len, &v)) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "not a number");
    memcpy(dst, &v, sizeof v);
    return DORM_OK;
  }
  case DORM_K_BYTES: return take_bytes(c, s, dst, p);
  default: return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "unsupported set element type");
  }
}

static dorm_status read_set(rctx *c, const dorm_type_desc *t, const dorm_av *v, dorm_array_view *dst,
                            const mpath *p) {
  const dorm_type_desc *e = t->elem;
  if (!e) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "set type without an element type");
  dorm_av_type want = e->kind == DORM_K_STRING ? DORM_AV_SS : e->kind == DORM_K_BYTES ? DORM_AV_BS : DORM_AV_NS;
  dorm_av_type scalar = want == DORM_AV_SS ? DORM_AV_S : want == DORM_AV_BS ? DORM_AV_B : DORM_AV_N;
  size_t n;
  if (v->type == want) n = v->u.set.count;
  else if (v->type == DORM_AV_L) n = v->u.list.count;
  else return mismatch(c, p, v, dorm_av_type_name(want));
  dst->items = NULL;
  dst->count = 0;
  if (n == 0) return DORM_OK;
  char *items = dorm_arena_calloc(c->a, n, e->size);
  if (!items) return oom(c, p);
  for (size_t i = 0; i < n; i++) {
    mpath ip = {p, MP_INDEX, NULL, i};
    dorm_str s;
    if (v->type == want) {
      s = v->u.set.items[i];
    } else {
      const dorm_av *el = &v->u.list.items[i];
      if (el->type != scalar) return mismatch(c, &ip, el, dorm_av_type_name(scalar));
      s = el->u.s;
    }
    dorm_status st = set_elem(c, e, s, items + i * e->size, &ip);
    if (st != DORM_OK) return st;
  }
  dst->items = items;
  dst->count = n;
  return DORM_OK;
}

/* An element of a list or a map value. */
static dorm_status read_elem(rctx *c, const dorm_type_desc *e, const dorm_av *v, void *dst, const mpath *p,
                             int depth) {
  if (v->type == DORM_AV_NULL) {
    if (e->optional || e->kind == DORM_K_SET) return DORM_OK; /* absent; the slot is zeroed */
    return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "NULL where a value is required");
  }
  if (e->optional && !kind_is_pointer(e->kind)) {
    *(bool *)dst = true;
    dst = (char *)dst + e->opt_value_offset;
  }
  return rvalue(c, e, v, dst, p, depth);
}

static dorm_status rvalue(rctx *c, const dorm_type_desc *t, const dorm_av *v, void *dst, const mpath *p, int depth) {
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_JSON: {
    if (v->type != DORM_AV_S) return mismatch(c, p, v, "S");
    const char *s = NULL;
    dorm_status st = take_str(c, v->u.s, &s, p);
    if (st != DORM_OK) return st;
    /* The type promises JSON to the caller, whoever wrote the item. */
    char why[160];
    if (t->kind == DORM_K_JSON && !dorm__model_json_valid(s, v->u.s.len, why, sizeof why))
      return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "stored text is not valid JSON: %s", why);
    set_ptr(dst, s);
    return DORM_OK;
  }
  case DORM_K_DECIMAL: {
    if (v->type != DORM_AV_N) return mismatch(c, p, v, "N");
    const char *s = NULL;
    dorm_status st = take_str(c, v->u.s, &s, p);
    if (st == DORM_OK) set_ptr(dst, s);
    return st;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    if (v->type != DORM_AV_N) return mismatch(c, p, v, "N");
    int64_t x;
    if (!dorm__number_to_i64(v->u.s.ptr, v->u.s.len, &x))
      return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "%.*s is not an integer that fits int64",
                   (int)(v->u.s.len > 48 ? 48 : v->u.s.len), v->u.s.ptr);
    memcpy(dst, &x, sizeof x);
    return DORM_OK;
  }
  case DORM_K_TIME: {
    if (v->type != DORM_AV_S) return mismatch(c, p, v, "S (an RFC 3339 time)");
    int64_t ns;
    if (!dorm_time_parse(v->u.s.ptr, v->u.s.len, &ns))
      return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "\"%.*s\" is not an RFC 3339 time (or is outside 1677..2262)",
                   (int)(v->u.s.len > 48 ? 48 : v->u.s.len), v->u.s.ptr);
    memcpy(dst, &ns, sizeof ns);
    return DORM_OK;
  }
  case DORM_K_FLOAT: {
    if (v->type != DORM_AV_N) return mismatch(c, p, v, "N");
    double d;
    if (!dorm__number_to_double(v->u.s.ptr, v->u.s.len, &d)) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "not a number");
    memcpy(dst, &d, sizeof d);
    return DORM_OK;
  }
  case DORM_K_BOOL:
    if (v->type != DORM_AV_BOOL) return mismatch(c, p, v, "BOOL");
    *(bool *)dst = v->u.boolean;
    return DORM_OK;
  case DORM_K_BYTES:
    if (v->type != DORM_AV_B) return mismatch(c, p, v, "B");
    return take_bytes(c, v->u.s, dst, p);
  case DORM_K_ENUM: {
    if (v->type != DORM_AV_S) return mismatch(c, p, v, "S");
    const dorm_enum_desc *e = t->enum_;
    if (e)
      for (uint32_t i = 0; i < e->count; i++) {
        const char *val = e->values[i];
        if (strlen(val) == v->u.s.len && memcmp(val, v->u.s.ptr, v->u.s.len) == 0) {
          dorm__model_enum_set(t, dst, (int64_t)i + 1);
          return DORM_OK;
        }
      }
    return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "\"%.*s\" is not a value of enum %s",
                 (int)(v->u.s.len > 48 ? 48 : v->u.s.len), v->u.s.ptr, e ? e->name : "?");
  }
  case DORM_K_STRUCT:
    if (v->type != DORM_AV_M) return mismatch(c, p, v, "M");
    if (!t->struct_) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "struct type without a descriptor");
    if (depth >= DORM_READ_MAX_DEPTH) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "nested too deeply");
    return read_fields(c, t->struct_->fields, t->struct_->nfields, v, dst, p, depth + 1);
  case DORM_K_SET: return read_set(c, t, v, dst, p);
  case DORM_K_LIST: {
    if (v->type != DORM_AV_L) return mismatch(c, p, v, "L");
    const dorm_type_desc *e = t->elem;
    dorm_array_view *out = dst;
    out->items = NULL;
    out->count = 0;
    if (!e) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "list type without an element type");
    if (depth >= DORM_READ_MAX_DEPTH) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "nested too deeply");
    size_t n = v->u.list.count;
    if (n == 0) return DORM_OK;
    char *items = dorm_arena_calloc(c->a, n, e->size);
    if (!items) return oom(c, p);
    for (size_t i = 0; i < n; i++) {
      mpath ip = {p, MP_INDEX, NULL, i};
      dorm_status st = read_elem(c, e, &v->u.list.items[i], items + i * e->size, &ip, depth + 1);
      if (st != DORM_OK) return st;
    }
    out->items = items;
    out->count = n;
    return DORM_OK;
  }
  case DORM_K_MAP: {
    if (v->type != DORM_AV_M) return mismatch(c, p, v, "M");
    const dorm_type_desc *e = t->elem;
    dorm_map_view *out = dst;
    out->keys = NULL;
    out->values = NULL;
    out->count = 0;
    if (!e) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "map type without a value type");
    if (depth >= DORM_READ_MAX_DEPTH) return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "nested too deeply");
    size_t n = v->u.map.count;
    if (n == 0) return DORM_OK;
    const char **keys = dorm_arena_calloc(c->a, n, sizeof *keys);
    char *values = dorm_arena_calloc(c->a, n, e->size);
    if (!keys || !values) return oom(c, p);
    for (size_t i = 0; i < n; i++) {
      const dorm_av_entry *en = &v->u.map.items[i];
      mpath kp = {p, MP_KEY, NULL, 0};
      dorm_status st = take_str(c, en->name, &keys[i], p);
      if (st != DORM_OK) return st;
      kp.name = keys[i];
      st = read_elem(c, e, &en->value, values + i * e->size, &kp, depth + 1);
      if (st != DORM_OK) return st;
    }
    out->keys = keys;
    out->values = values;
    out->count = n;
    return DORM_OK;
  }
  default: return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, p, "unknown type kind %u", (unsigned)t->kind);
  }
}

/* The value an absent @omit_empty field reads as. Pointer kinds get "" (a
 * static literal: never written through). */
static void empty_value(const dorm_field_desc *f, void *obj) {
  void *dst = field_ptr_mut(obj, f);
  switch (f->type.kind) {
  case DORM_K_STRING:
  case DORM_K_JSON: set_ptr(dst, ""); break;
  case DORM_K_DECIMAL: set_ptr(dst, "0"); break;
  case DORM_K_BYTES: ((dorm_bytes *)dst)->data = (const uint8_t *)""; break;
  default: break; /* zero already */
  }
}

uint32_t dorm__model_find_field(const dorm_field_desc *fields, uint32_t n, int naming, const char *name, size_t len,
                          uint32_t hint) {
  int ni = naming ? 1 : 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t j = hint + k < n ? hint + k : hint + k - n;
    /* The JSON key "attr": is 3 bytes longer than a name without escapes. */
    const char *attr = fields[j].attr[ni];
    if (attr && (size_t)fields[j].attr_json_len[ni] - 3 == len && len && attr[0] == name[0] &&
        memcmp(attr, name, len) == 0)
      return j;
  }
  /* Names that JSON escapes ('"', '\\', control characters) are longer as
   * keys; compare those in full (only such a name can match one). */
  bool escaped = false;
  for (size_t i = 0; i < len && !escaped; i++)
    escaped = name[i] == '"' || name[i] == '\\' || (unsigned char)name[i] < 0x20;
  for (uint32_t j = 0; escaped && j < n; j++) {
    const char *attr = fields[j].attr[ni];
    if (attr && (size_t)fields[j].attr_json_len[ni] - 3 > len && strlen(attr) == len && memcmp(attr, name, len) == 0)
      return j;
  }
  return n;
}

dorm_status dorm__model_fill_missing(const dorm_field_desc *fields, uint32_t n, int naming, const uint64_t *seen,
                               unsigned flags, void *obj, const mpath *path, char *errbuf, size_t errcap) {
  for (uint32_t i = 0; i < n; i++) {
    if (seen[i / 64] & (UINT64_C(1) << (i % 64))) continue;
    const dorm_field_desc *f = &fields[i];
    unsigned k = f->type.kind;
    if (f->flags & DORM_FF_OPTIONAL) continue;
    if (k == DORM_K_SET || k == DORM_K_LIST || k == DORM_K_MAP) continue; /* empty */
    if (f->flags & DORM_FF_OMIT_EMPTY) {
      empty_value(f, obj);
      continue;
    }
    /* A projection leaves out what was not asked for: not a default. */
    if (flags & DORM_READ_PARTIAL) continue;
    if (f->dflt) {
      /* The schema's default, already a C value of the member's type
       * (a string default is static text: never written through). */
      memcpy(field_ptr_mut(obj, f), f->dflt, f->type.size);
      continue;
    }
    mpath fp = {path, MP_NAME, f->name, 0};
    return dorm__model_fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH, &fp, "required attribute \"%s\" is missing",
                      f->attr[naming ? 1 : 0]);
  }
  return DORM_OK;
}

static dorm_status read_fields(rctx *c, const dorm_field_desc *fields, uint32_t n, const dorm_av *map, void *obj,
                               const mpath *path, int depth) {
  uint64_t seen_small[8], *seen = seen_small;
  size_t words = ((size_t)n + 63) / 64;
  if (words > 8) {
    seen = dorm_arena_calloc(c->a, words, sizeof *seen);
    if (!seen) return oom(c, path);
  } else {
    memset(seen_small, 0, sizeof seen_small);
  }
  int ni = c->naming ? 1 : 0;
  uint32_t hint = 0;
  for (size_t i = 0; i < map->u.map.count; i++) {
    const dorm_av_entry *en = &map->u.map.items[i];
    /* Items usually come back in an order close to ours: start after the last hit. */
    uint32_t fi = dorm__model_find_field(fields, n, c->naming, en->name.ptr, en->name.len, hint);
    if (fi == n) continue; /* computed keys, "_type", attributes of other versions */
    hint = fi + 1 < n ? fi + 1 : 0;
    const dorm_field_desc *f = &fields[fi];
    mpath fp = {path, MP_NAME, f->name, 0};
    if (seen[fi / 64] & (UINT64_C(1) << (fi % 64)))
      return RFAIL(c, DORM_ERR_SCHEMA_MISMATCH, &fp, "attribute \"%s\" appears twice", f->attr[ni]);
    if (en->value.type == DORM_AV_NULL) continue; /* as if absent */
    seen[fi / 64] |= UINT64_C(1) << (fi % 64);
    dorm_status st = (f->flags & DORM_FF_ENCRYPTED)
                         ? dorm__model_read_encrypted(c->k, f, c->naming, &en->value, c->flags, c->a, obj, &fp, c->err,
                                                      c->errcap)
                         : rvalue(c, &f->type, &en->value, field_ptr_mut(obj, f), &fp, depth);
    if (st != DORM_OK) return st;
    if (f->has_offset >= 0) *((bool *)((char *)obj + f->has_offset)) = true;
  }
  return dorm__model_fill_missing(fields, n, c->naming, seen, c->flags, obj, path, c->err, c->errcap);
}

static bool av_lookup(const void *item, const char *attr, dorm_str *s) {
  const dorm_av *v = dorm_av_map_get((const dorm_av *)item, attr);
  if (!v) return false;
  s->ptr = v->type == DORM_AV_S ? v->u.s.ptr : NULL;
  s->len = v->type == DORM_AV_S ? v->u.s.len : 0;
  return true;
}

dorm_status dorm__model_read_encrypted(dorm_crypt *k, const dorm_field_desc *f, int naming, const dorm_av *env,
                                       unsigned flags, dorm_arena *a, void *obj, const mpath *fp, char *errbuf,
                                       size_t errcap) {
  /* The plaintext is made in a and copied from there as any value is (not
   * borrowed: it is not the response's text). */
  rctx c = {a, flags & ~(unsigned)MODEL_READ_BORROW, naming, errbuf, errcap, k};
  if (!k)
    return RFAIL(&c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, fp,
                 "@encrypted, and the client has no KMS key to decrypt it with (dorm_crypt_enable or "
                 "dorm_client_set_crypt, dorm/crypt.h)");
  dorm_av plain;
  dorm_status st = dorm_crypt_decrypt(k, field_attr(f, naming), env, a, &plain);
  if (st != DORM_OK) return RFAIL(&c, st, fp, "%s", dorm_client_errmsg(dorm__crypt_client(k)));
  st = rvalue(&c, &f->type, &plain, field_ptr_mut(obj, f), fp, 0);
  if (st == DORM_OK || st == DORM_ERR_NO_MEMORY) return st;
  /* rvalue's message may quote the value ("\"x\" is not a value of enum
   * E"): plaintext must not reach error messages and logs. */
  if (errbuf && errcap) memset(errbuf, 0, errcap);
  return RFAIL(&c, st, fp,
               "decrypted to a value of type %s that does not fit the field's type (%s); not shown: the field is @encrypted",
               plain.type == DORM_AV_INVALID ? "?" : dorm_av_type_name(plain.type),
               dorm__model_kind_name(f->type.kind));
}

dorm_status dorm__model_read_item_k(const dorm_model_desc *m, const dorm_av *item, unsigned flags, dorm_crypt *k,
                                  dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  rctx c = {a, flags, m ? m->naming : 0, errbuf, errcap, k};
  if (!m || !item || !a || !obj)
    return RFAIL(&c, DORM_ERR_INVALID_ARGUMENT, NULL, "model, item, arena and object are required");
  mpath root = {NULL, MP_NAME, m->name, 0};
  memset(obj, 0, m->size);
  if (item->type != DORM_AV_M) return RFAIL(&c, DORM_ERR_SCHEMA_MISMATCH, &root, "an item must be a map (M)");
  dorm_status st = read_fields(&c, m->fields, m->nfields, item, obj, &root, 0);
  if (st == DORM_OK && (flags & DORM_READ_PARTIAL)) dorm__model_fields_from_keys(m, av_lookup, item, a, obj);
  return st;
}

dorm_status dorm_model_from_av(const dorm_model_desc *m, const dorm_av *item, unsigned flags, dorm_arena *a, void *obj,
                               char *errbuf, size_t errcap) {
  return dorm__model_read_item_k(m, item, flags & DORM_READ_PARTIAL, NULL, a, obj, errbuf, errcap);
}

dorm_status dorm_model_from_json(const dorm_model_desc *m, const char *json, size_t len, unsigned flags,
                                 dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  if (!m || !json || !a || !obj)
    return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, NULL, "model, JSON, arena and object are required");
  return dorm__model_decode_item_k(json, len, m, flags & DORM_READ_PARTIAL, NULL, a, obj, errbuf, errcap);
}

bool dorm_model_is(const dorm_model_desc *m, const dorm_av *item) {
  if (!m || !item || item->type != DORM_AV_M) return false;
  if (!m->entity_type) return true;
  const dorm_av *t = dorm_av_map_get(item, "_type");
  size_t n = strlen(m->entity_type);
  return t && t->type == DORM_AV_S && t->u.s.len == n && memcmp(t->u.s.ptr, m->entity_type, n) == 0;
}

void dorm__model_key_text(const dorm_model_desc *m, const dorm_av *item, char *buf, size_t cap) {
  size_t o = 0;
  if (!cap) return;
  buf[0] = '\0';
  for (uint32_t k = 0; k < m->table_keys && k < m->nkeys && o + 1 < cap; k++) {
    const dorm_av *v = dorm_av_map_get(item, m->keys[k].attr);
    int n;
    if (!v) n = snprintf(buf + o, cap - o, "%s%s=(missing)", k ? ", " : "", m->keys[k].attr);
    else if (v->type == DORM_AV_S || v->type == DORM_AV_N)
      n = snprintf(buf + o, cap - o, "%s%s=%.*s", k ? ", " : "", m->keys[k].attr,
                   (int)(v->u.s.len > 96 ? 96 : v->u.s.len), v->u.s.ptr);
    else n = snprintf(buf + o, cap - o, "%s%s=(%s)", k ? ", " : "", m->keys[k].attr, dorm_av_type_name(v->type));
    if (n < 0) break;
    o += (size_t)n;
    if (o >= cap) o = cap - 1;
  }
}
