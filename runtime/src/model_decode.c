/* Response text straight into model structs.
 *
 * GetItem, Query and Scan responses are decoded field by field into the
 * caller's structs without building dorm_av items first: attribute names
 * are matched against the descriptor where they lie in the text, values go
 * directly into their C fields, strings into the reader's pool. This is the
 * same reading as mj_parse_item + dorm_model_from_av (model_read.c), with
 * the same checks and messages; tests run both on the same inputs.
 *
 * Arrays (lists, sets, maps, the items of a page) grow in the arena as
 * their elements are decoded in place. */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"
#include "number.h"

typedef struct dctx {
  mj *r;
  unsigned flags;
  int naming;
} dctx;

#define DFAIL(d, st, mp, ...) model_fail((d)->r->err, (d)->r->errcap, (st), (mp), __VA_ARGS__)

static bool key_is(const char *k, size_t kl, const char *lit, size_t n) { return kl == n && memcmp(k, lit, n) == 0; }
#define KEY(lit) key_is(k, kl, lit, sizeof(lit) - 1)

static inline bool known_type(const char *k, size_t kl) {
  switch (kl) {
  case 1: return k[0] == 'S' || k[0] == 'N' || k[0] == 'B' || k[0] == 'L' || k[0] == 'M';
  case 2: return k[1] == 'S' && (k[0] == 'S' || k[0] == 'N' || k[0] == 'B');
  case 4: return KEY("BOOL") || KEY("NULL");
  default: return false;
  }
}

static dorm_status mismatch(dctx *d, const mpath *mp, const char *k, size_t kl, const char *expected) {
  return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "stored as %.*s, expected %s", (int)kl, k, expected);
}

/* A growing array of elements in the arena: elements are decoded in place
 * (nothing points into the array itself), and moved when it grows. */
typedef struct grow {
  char *items;
  size_t n, cap, size;
} grow;

static void *grow_slot(mj *r, grow *g) {
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4;
    char *bigger = dorm_arena_realloc(r->a, g->items, g->cap * g->size, cap * g->size);
    if (!bigger) return NULL;
    g->items = bigger;
    g->cap = cap;
  }
  void *slot = g->items + g->n * g->size;
  memset(slot, 0, g->size);
  return slot;
}

static dorm_status d_value(dctx *d, const dorm_type_desc *t, void *dst, const rp *path, const mpath *mp, int depth,
                           bool *is_null);
static dorm_status d_fields(dctx *d, const dorm_field_desc *fields, uint32_t n, void *obj, const rp *path,
                            const mpath *mp, int depth, const char *entity, bool *type_ok);

/* A JSON string token (the reader's messages for other tokens). Plain
 * text is copied into the pool right here; the rest goes to the reader. */
static inline dorm_status string_token(dctx *d, const rp *path, dorm_str *out, const char *what_value) {
  mj *r = d->r;
  mj_ws(r);
  if (r->p >= r->end || *r->p != '"')
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "%s must be a JSON string", what_value);
  const char *s = r->p + 1, *q = mj_scan_plain(s, r->end);
  size_t n = (size_t)(q - s);
  if (q < r->end && *q == '"' && (size_t)(r->pool_end - r->pool) > n) {
    char *c = r->pool;
    memcpy(c, s, n);
    c[n] = '\0';
    r->pool += n + 1;
    out->ptr = c;
    out->len = n;
    r->p = q + 1;
    return DORM_OK;
  }
  return mj_read_string(r, path, out, what_value);
}

/* The type key of an AttributeValue (after its '{'), for the usual
 * compact text in one look, else through the reader. */
static inline dorm_status type_key(mj *r, const rp *path, const char **k, size_t *kl) {
  const char *p = r->p;
  if (r->end - p >= 7 && p[0] == '"') {
    size_t n = p[2] == '"' ? 1 : p[3] == '"' ? 2 : p[5] == '"' ? 4 : 0;
    if (n && p[n + 2] == ':') {
      *k = p + 1;
      *kl = n;
      r->p = p + n + 3;
      return DORM_OK;
    }
  }
  return mj_type_key(r, path, k, kl);
}

static void set_ptr(void *dst, const char *s) { memcpy(dst, &s, sizeof s); }

/* A set element's text (from an SS/NS/BS array or an S/N/B of a list) into its C slot. */
static dorm_status set_elem(dctx *d, const dorm_type_desc *e, dorm_str s, void *dst, const mpath *mp) {
  switch (e->kind) {
  case DORM_K_STRING:
  case DORM_K_DECIMAL: set_ptr(dst, s.ptr); return DORM_OK;
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    int64_t v;
    if (!dorm_number_to_i64(s.ptr, s.len, &v))
      return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "%.40s is not an integer that fits int64", s.ptr);
    memcpy(dst, &v, sizeof v);
    return DORM_OK;
  }
  case DORM_K_FLOAT: {
    double v;
    if (!dorm_number_to_double(s.ptr, s.len, &v)) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "not a number");
    memcpy(dst, &v, sizeof v);
    return DORM_OK;
  }
  case DORM_K_BYTES: {
    dorm_bytes *b = dst;
    b->data = (const uint8_t *)s.ptr;
    b->len = s.len;
    return DORM_OK;
  }
  default: return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "unsupported set element type");
  }
}

/* One scalar of a set: a string token of an SS/NS/BS array, or a whole
 * {"S"|"N"|"B": ...} element of a list. */
static dorm_status set_scalar(dctx *d, dorm_av_type want, bool in_list, const rp *path, const mpath *mp, int depth,
                              dorm_str *out) {
  mj *r = d->r;
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  static const char *const scalar[] = {[DORM_AV_SS] = "S", [DORM_AV_NS] = "N", [DORM_AV_BS] = "B"};
  const char *k = names[want];
  size_t kl = 2;
  if (in_list) {
    if (depth > DORM_READ_MAX_DEPTH)
      return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
    if (!mj_expect(r, '{'))
      return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an AttributeValue must be an object like {\"S\":\"...\"}");
    dorm_status st = type_key(r, path, &k, &kl);
    if (st != DORM_OK) return st;
    if (!known_type(k, kl))
      return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"%.*s\"", (int)(kl > 16 ? 16 : kl), k);
    if (!key_is(k, kl, scalar[want], 1)) return mismatch(d, mp, k, kl, scalar[want]);
  }
  dorm_status st;
  mj_ws(r);
  if (r->p >= r->end || *r->p != '"') {
    if (in_list) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "%s value must be a JSON string",
                                want == DORM_AV_SS ? "an S" : want == DORM_AV_NS ? "an N" : "a B");
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an %s element must be a JSON string", names[want]);
  }
  if (want == DORM_AV_BS) st = mj_read_binary(r, path, out);
  else {
    st = mj_read_string(r, path, out,
                        in_list ? (want == DORM_AV_SS ? "an S value" : "an N value")
                                : (want == DORM_AV_SS ? "an SS element" : "an NS element"));
    if (st == DORM_OK && want == DORM_AV_NS) st = mj_check_number(r, path, *out);
  }
  if (st != DORM_OK || !in_list) return st;
  if (mj_expect(r, '}')) return DORM_OK;
  mj_ws(r);
  if (r->p < r->end && *r->p == ',')
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "AttributeValue has more than one type key");
  return mj_syntax(r, path, "expected '}'");
}

static dorm_status d_set(dctx *d, const dorm_type_desc *t, const char *k, size_t kl, dorm_array_view *dst,
                         const rp *path, const mpath *mp, int depth) {
  mj *r = d->r;
  const dorm_type_desc *e = t->elem;
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "set type without an element type");
  dorm_av_type want = e->kind == DORM_K_STRING ? DORM_AV_SS : e->kind == DORM_K_BYTES ? DORM_AV_BS : DORM_AV_NS;
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  bool in_list = KEY("L");
  if (!in_list && !key_is(k, kl, names[want], 2)) return mismatch(d, mp, k, kl, names[want]);
  if (!mj_expect(r, '['))
    return in_list ? mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an L value must be a JSON array")
                   : mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a %s value must be a JSON array", names[want]);
  dst->items = NULL;
  dst->count = 0;
  if (mj_expect(r, ']')) {
    if (!in_list) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a %s value must not be empty", names[want]);
    return DORM_OK;
  }
  grow g = {NULL, 0, 0, e->size};
  do {
    rp seg = {path, NULL, 0, g.n};
    mpath ip = {mp, MP_INDEX, NULL, g.n};
    dorm_str s;
    dorm_status st = set_scalar(d, want, in_list, &seg, &ip, depth + 1, &s);
    if (st != DORM_OK) return st;
    void *slot = grow_slot(r, &g);
    if (!slot) return mj_oom(r, path);
    if ((st = set_elem(d, e, s, slot, &ip)) != DORM_OK) return st;
    g.n++;
  } while (mj_expect(r, ','));
  if (!mj_expect(r, ']')) return mj_syntax(r, path, "expected ',' or ']'");
  dst->items = g.items;
  dst->count = g.n;
  return DORM_OK;
}

/* An element of a list or a map value. */
static dorm_status d_elem(dctx *d, const dorm_type_desc *e, void *dst, const rp *path, const mpath *mp, int depth) {
  bool wrapped = e->optional && !kind_is_pointer(e->kind);
  bool is_null = false;
  dorm_status st = d_value(d, e, wrapped ? (char *)dst + e->opt_value_offset : dst, path, mp, depth, &is_null);
  if (st != DORM_OK) return st;
  if (is_null) {
    if (e->optional || e->kind == DORM_K_SET) return DORM_OK;
    return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "NULL where a value is required");
  }
  if (wrapped) *(bool *)dst = true;
  return DORM_OK;
}

static dorm_status d_list(dctx *d, const dorm_type_desc *t, dorm_array_view *dst, const rp *path, const mpath *mp,
                          int depth) {
  mj *r = d->r;
  const dorm_type_desc *e = t->elem;
  dst->items = NULL;
  dst->count = 0;
  if (!mj_expect(r, '[')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an L value must be a JSON array");
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "list type without an element type");
  if (mj_expect(r, ']')) return DORM_OK;
  grow g = {NULL, 0, 0, e->size};
  do {
    rp seg = {path, NULL, 0, g.n};
    mpath ip = {mp, MP_INDEX, NULL, g.n};
    void *slot = grow_slot(r, &g);
    if (!slot) return mj_oom(r, path);
    dorm_status st = d_elem(d, e, slot, &seg, &ip, depth + 1);
    if (st != DORM_OK) return st;
    g.n++;
  } while (mj_expect(r, ','));
  if (!mj_expect(r, ']')) return mj_syntax(r, path, "expected ',' or ']'");
  dst->items = g.items;
  dst->count = g.n;
  return DORM_OK;
}

/* The names of a map, gathered on the scratch stack for the duplicate check. */
static dorm_status push_name(mj *r, const rp *path, dorm_str name) {
  dorm_av_entry *slot = mj_push(r, sizeof *slot);
  if (!slot) return mj_oom(r, path);
  memset(slot, 0, sizeof *slot);
  slot->name = name;
  return DORM_OK;
}

static dorm_status check_names(mj *r, const rp *path, size_t base) {
  const dorm_av_entry *names = (const dorm_av_entry *)(r->stack + base);
  size_t n = (r->sp - base) / sizeof *names;
  size_t dup = mj_find_duplicate(names, n);
  r->sp = base;
  if (dup == n) return DORM_OK;
  rp seg = {path, names[dup].name.ptr, names[dup].name.len, 0};
  return mj_fail(r, &seg, DORM_ERR_BAD_RESPONSE, "attribute appears twice in one map");
}

static dorm_status d_map(dctx *d, const dorm_type_desc *t, dorm_map_view *dst, const rp *path, const mpath *mp,
                         int depth) {
  mj *r = d->r;
  const dorm_type_desc *e = t->elem;
  dst->keys = NULL;
  dst->values = NULL;
  dst->count = 0;
  if (!mj_expect(r, '{')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an M value must be a JSON object");
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "map type without a value type");
  if (mj_expect(r, '}')) return DORM_OK;
  grow keys = {NULL, 0, 0, sizeof(const char *)}, values = {NULL, 0, 0, e->size};
  size_t base = r->sp;
  dorm_status st = DORM_OK;
  do {
    dorm_str name;
    if ((st = mj_read_string(r, path, &name, "an attribute name")) != DORM_OK) break;
    rp seg = {path, name.ptr, name.len, 0};
    mpath kp = {mp, MP_KEY, name.ptr, 0};
    if (!mj_expect(r, ':')) {
      st = mj_syntax(r, &seg, "expected ':'");
      break;
    }
    const char **key = grow_slot(r, &keys);
    void *value = key ? grow_slot(r, &values) : NULL;
    if (!value) {
      st = mj_oom(r, path);
      break;
    }
    *key = name.ptr;
    if ((st = d_elem(d, e, value, &seg, &kp, depth + 1)) != DORM_OK) break;
    if ((st = push_name(r, path, name)) != DORM_OK) break;
    keys.n++;
    values.n++;
  } while (mj_expect(r, ','));
  if (st == DORM_OK && !mj_expect(r, '}')) st = mj_syntax(r, path, "expected ',' or '}'");
  if (st != DORM_OK) {
    r->sp = base;
    return st;
  }
  if ((st = check_names(r, path, base)) != DORM_OK) return st;
  dst->keys = (const char **)keys.items;
  dst->values = values.items;
  dst->count = keys.n;
  return DORM_OK;
}

static dorm_status d_value(dctx *d, const dorm_type_desc *t, void *dst, const rp *path, const mpath *mp, int depth,
                           bool *is_null) {
  mj *r = d->r;
  *is_null = false;
  if (depth > DORM_READ_MAX_DEPTH)
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
  if (!mj_expect(r, '{'))
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an AttributeValue must be an object like {\"S\":\"...\"}");
  const char *k;
  size_t kl;
  dorm_status st = type_key(r, path, &k, &kl);
  if (st != DORM_OK) return st;
  if (!known_type(k, kl))
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"%.*s\"", (int)(kl > 16 ? 16 : kl), k);
  mj_ws(r);
  if (kl == 4 && KEY("NULL")) {
    if (!mj_literal(r, "true", 4)) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a NULL value must be true");
    *is_null = true;
  } else {
    switch (t->kind) {
    case DORM_K_STRING:
    case DORM_K_JSON:
    case DORM_K_ENUM:
    case DORM_K_TIME: {
      if (!KEY("S")) return mismatch(d, mp, k, kl, t->kind == DORM_K_TIME ? "S (an RFC 3339 time)" : "S");
      dorm_str s;
      if ((st = string_token(d, path, &s, "an S value")) != DORM_OK) return st;
      if (t->kind == DORM_K_TIME) {
        int64_t ns;
        if (!dorm_time_parse(s.ptr, s.len, &ns))
          return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "\"%.*s\" is not an RFC 3339 time (or is outside 1677..2262)",
                       (int)(s.len > 48 ? 48 : s.len), s.ptr);
        memcpy(dst, &ns, sizeof ns);
      } else if (t->kind == DORM_K_ENUM) {
        const dorm_enum_desc *e = t->enum_;
        uint32_t i = 0;
        for (; e && i < e->count; i++)
          if (strlen(e->values[i]) == s.len && memcmp(e->values[i], s.ptr, s.len) == 0) break;
        if (!e || i == e->count)
          return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "\"%.*s\" is not a value of enum %s",
                       (int)(s.len > 48 ? 48 : s.len), s.ptr, e ? e->name : "?");
        model_enum_set(t, dst, (int64_t)i + 1);
      } else {
        set_ptr(dst, s.ptr);
      }
      break;
    }
    case DORM_K_DECIMAL:
    case DORM_K_INT:
    case DORM_K_EPOCH:
    case DORM_K_FLOAT: {
      if (!KEY("N")) return mismatch(d, mp, k, kl, "N");
      dorm_str s;
      if ((st = string_token(d, path, &s, "an N value")) != DORM_OK) return st;
      if ((st = mj_check_number(r, path, s)) != DORM_OK) return st;
      if (t->kind == DORM_K_DECIMAL) {
        set_ptr(dst, s.ptr);
      } else if (t->kind == DORM_K_FLOAT) {
        double v;
        if (!dorm_number_to_double(s.ptr, s.len, &v)) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "not a number");
        memcpy(dst, &v, sizeof v);
      } else {
        int64_t v;
        if (!dorm_number_to_i64(s.ptr, s.len, &v))
          return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "%.*s is not an integer that fits int64",
                       (int)(s.len > 48 ? 48 : s.len), s.ptr);
        memcpy(dst, &v, sizeof v);
      }
      break;
    }
    case DORM_K_BOOL:
      if (!KEY("BOOL")) return mismatch(d, mp, k, kl, "BOOL");
      if (mj_literal(r, "true", 4)) *(bool *)dst = true;
      else if (mj_literal(r, "false", 5)) *(bool *)dst = false;
      else return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a BOOL value must be true or false");
      break;
    case DORM_K_BYTES: {
      if (!KEY("B")) return mismatch(d, mp, k, kl, "B");
      if (r->p >= r->end || *r->p != '"')
        return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a B value must be a base64 JSON string");
      dorm_str s;
      if ((st = mj_read_binary(r, path, &s)) != DORM_OK) return st;
      dorm_bytes *b = dst;
      b->data = (const uint8_t *)s.ptr;
      b->len = s.len;
      break;
    }
    case DORM_K_STRUCT:
      if (!KEY("M")) return mismatch(d, mp, k, kl, "M");
      if (r->p >= r->end || *r->p != '{') return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an M value must be a JSON object");
      if (!t->struct_) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "struct type without a descriptor");
      st = d_fields(d, t->struct_->fields, t->struct_->nfields, dst, path, mp, depth, NULL, NULL);
      break;
    case DORM_K_SET: st = d_set(d, t, k, kl, dst, path, mp, depth); break;
    case DORM_K_LIST:
      if (!KEY("L")) return mismatch(d, mp, k, kl, "L");
      st = d_list(d, t, dst, path, mp, depth);
      break;
    case DORM_K_MAP:
      if (!KEY("M")) return mismatch(d, mp, k, kl, "M");
      st = d_map(d, t, dst, path, mp, depth);
      break;
    default: return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "unknown type kind %u", (unsigned)t->kind);
    }
    if (st != DORM_OK) return st;
  }
  if (mj_expect(r, '}')) return DORM_OK;
  mj_ws(r);
  if (r->p < r->end && *r->p == ',')
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "AttributeValue has more than one type key");
  return mj_syntax(r, path, "expected '}'");
}

/* An attribute name: where it lies in the text when it has no escapes. */
static dorm_status read_name(mj *r, const rp *path, dorm_str *out) {
  mj_ws(r);
  const char *s = r->p + 1, *q = s;
  if (r->p < r->end && *r->p == '"') {
    q = mj_scan_plain(s, r->end);
    if (q < r->end && *q == '"') {
      out->ptr = s;
      out->len = (size_t)(q - s);
      r->p = q + 1;
      return DORM_OK;
    }
  }
  return mj_read_string(r, path, out, "an attribute name");
}

/* An object of attributes into the fields of a struct (at its '{').
 * entity: the model's type at the top level of an item; *type_ok says
 * whether "_type" matched it. */
static dorm_status d_fields(dctx *d, const dorm_field_desc *fields, uint32_t n, void *obj, const rp *path,
                            const mpath *mp, int depth, const char *entity, bool *type_ok) {
  mj *r = d->r;
  if (!mj_expect(r, '{')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "expected an object of attributes");
  uint64_t seen_small[8], *seen = seen_small;
  size_t words = ((size_t)n + 63) / 64;
  if (words > 8) {
    seen = dorm_arena_calloc(r->a, words, sizeof *seen);
    if (!seen) return mj_oom(r, path);
  } else {
    memset(seen_small, 0, sizeof seen_small);
  }
  int ni = d->naming ? 1 : 0;
  uint32_t hint = 0;
  size_t base = r->sp;
  dorm_status st = DORM_OK;
  if (!mj_expect(r, '}')) {
    do {
      dorm_str name;
      if ((st = read_name(r, path, &name)) != DORM_OK) break;
      rp seg = {path, name.ptr, name.len, 0};
      if (!mj_expect(r, ':')) {
        st = mj_syntax(r, &seg, "expected ':'");
        break;
      }
      uint32_t fi = n;
      if (hint < n) {
        /* usually the next field: one look before the search */
        const dorm_field_desc *h = &fields[hint];
        const char *attr = h->attr[ni];
        if ((size_t)h->attr_json_len[ni] - 3 == name.len && attr && memcmp(attr, name.ptr, name.len) == 0) fi = hint;
      }
      if (fi == n) fi = model_find_field(fields, n, d->naming, name.ptr, name.len, hint);
      if (fi == n) {
        /* computed keys, "_type", attributes of other versions: checked, then
         * dropped (their names kept for the duplicate check; known fields
         * are checked by `seen`) */
        dorm_av v;
        if ((st = mj_read_av(r, &seg, &v, depth + 1)) != DORM_OK) break;
        if ((st = push_name(r, path, name)) != DORM_OK) break;
        if (entity && type_ok && name.len == 5 && memcmp(name.ptr, "_type", 5) == 0)
          *type_ok = v.type == DORM_AV_S && v.u.s.len == strlen(entity) && memcmp(v.u.s.ptr, entity, v.u.s.len) == 0;
      } else {
        hint = fi + 1 < n ? fi + 1 : 0;
        const dorm_field_desc *f = &fields[fi];
        mpath fp = {mp, MP_NAME, f->name, 0};
        if (seen[fi / 64] & (UINT64_C(1) << (fi % 64))) {
          st = DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, &fp, "attribute \"%s\" appears twice", f->attr[ni]);
          break;
        }
        bool is_null = false;
        if ((st = d_value(d, &f->type, field_ptr_mut(obj, f), &seg, &fp, depth + 1, &is_null)) != DORM_OK) break;
        if (!is_null) {
          seen[fi / 64] |= UINT64_C(1) << (fi % 64);
          if (f->has_offset >= 0) *(bool *)((char *)obj + f->has_offset) = true;
        }
      }
    } while (mj_expect(r, ','));
    if (st == DORM_OK && !mj_expect(r, '}')) st = mj_syntax(r, path, "expected ',' or '}'");
  }
  if (st != DORM_OK) {
    r->sp = base;
    return st;
  }
  if ((st = check_names(r, path, base)) != DORM_OK) return st;
  return model_fill_missing(fields, n, d->naming, seen, d->flags, obj, mp, r->err, r->errcap);
}

/* ---- responses ---- */

/* The table key of the item whose text starts at json[start], for messages. */
static void item_key(const dorm_model_desc *m, const char *json, size_t len, size_t start, char *buf, size_t cap) {
  snprintf(buf, cap, "#?");
  _Alignas(16) char stack[MJ_STACK];
  dorm_arena tmp = DORM_ARENA_INIT;
  mj r;
  mj_init(&r, json + start, len - start, &tmp, NULL, 0, stack);
  if (mj_skip_value(&r, NULL, 0) == DORM_OK) {
    size_t n = (size_t)(r.p - r.start);
    dorm_av item;
    if (mj_parse_item(json + start, n, &tmp, &item, NULL, 0) == DORM_OK) model_key_text(m, &item, buf, cap);
  }
  mj_done(&r, DORM_OK);
  dorm_arena_free(&tmp);
}

static dorm_status d_item(dctx *d, const dorm_model_desc *m, void *obj, const rp *path, bool check_type,
                          bool *type_ok) {
  mpath root = {NULL, MP_NAME, m->name, 0};
  memset(obj, 0, m->size);
  *type_ok = m->entity_type == NULL || !check_type;
  return d_fields(d, m->fields, m->nfields, obj, path, &root, 0, check_type ? m->entity_type : NULL, type_ok);
}

dorm_status mj_decode_response(const char *json, size_t len, const dorm_model_desc *m, unsigned flags, dorm_arena *a,
                               mj_model_response *out, char *errbuf, size_t errcap) {
  _Alignas(16) char stack[MJ_STACK];
  mj r;
  mj_init(&r, json, len, a, errbuf, errcap, stack);
  memset(out, 0, sizeof *out);
  out->last_key = dorm_av_empty(DORM_AV_M);
  out->bad_item = SIZE_MAX;
  if (!json || len == 0) return mj_done(&r, mj_fail(&r, NULL, DORM_ERR_BAD_RESPONSE, "empty JSON body"));
  dctx d = {&r, flags & (DORM_READ_PARTIAL), m->naming};
  bool check_type = (flags & MODEL_DECODE_CHECK_TYPE) != 0;
  bool seen_item = false, seen_items = false, seen_count = false, seen_scanned = false;
  dorm_status st = DORM_OK;
  if (!mj_expect(&r, '{')) return mj_done(&r, mj_syntax(&r, NULL, "expected a JSON object"));
  if (!mj_expect(&r, '}')) {
    do {
      dorm_str name;
      mj_ws(&r);
      const char *name_at = r.p;
      if ((st = read_name(&r, NULL, &name)) != DORM_OK) break;
      rp seg = {NULL, name.ptr, name.len, 0};
      if (!mj_expect(&r, ':')) {
        st = mj_syntax(&r, &seg, "expected ':'");
        break;
      }
      bool dup = false;
#define IS(lit) (name.len == sizeof(lit) - 1 && memcmp(name.ptr, lit, name.len) == 0)
      if (IS("Item") || IS("Attributes")) {
        dup = seen_item;
        seen_item = true;
        if (!dup) {
          mj_ws(&r);
          size_t start = (size_t)(r.p - r.start);
          void *obj = dorm_arena_alloc(a, m->size);
          bool type_ok = false;
          if (!obj) st = mj_oom(&r, &seg);
          else if ((st = d_item(&d, m, obj, &seg, check_type, &type_ok)) != DORM_OK) {
            out->bad_item = 0;
            item_key(m, json, len, start, out->bad_key, sizeof out->bad_key);
          }
          /* An empty item is no item (DynamoDB sends none). */
          if (st == DORM_OK && type_ok && r.p - (r.start + start) > 2) {
            out->has_item = true;
            out->item = obj;
          }
        }
      } else if (IS("Items")) {
        dup = seen_items;
        seen_items = true;
        if (!dup) {
          if (!mj_expect(&r, '[')) {
            st = mj_fail(&r, &seg, DORM_ERR_BAD_RESPONSE, "expected an array of items");
          } else {
            grow g = {NULL, 0, 0, m->size};
            if (!mj_expect(&r, ']')) {
              size_t i = 0;
              do {
                rp is = {&seg, NULL, 0, i};
                mj_ws(&r);
                size_t start = (size_t)(r.p - r.start);
                bool type_ok = false;
                void *slot = grow_slot(&r, &g);
                if (!slot) {
                  st = mj_oom(&r, &seg);
                  break;
                }
                if ((st = d_item(&d, m, slot, &is, check_type, &type_ok)) != DORM_OK) {
                  out->bad_item = i;
                  item_key(m, json, len, start, out->bad_key, sizeof out->bad_key);
                  break;
                }
                if (type_ok) g.n++; /* another entity's item: its slot is reused */
                i++;
              } while (mj_expect(&r, ','));
              if (st == DORM_OK && !mj_expect(&r, ']')) st = mj_syntax(&r, &seg, "expected ',' or ']'");
            }
            out->items = g.items;
            out->nitems = g.n;
          }
        }
      } else if (IS("LastEvaluatedKey")) {
        dup = out->has_last_key;
        out->has_last_key = true;
        if (!dup) st = mj_read_members(&r, &seg, &out->last_key, 0);
      } else if (IS("Count")) {
        dup = seen_count;
        seen_count = true;
        if (!dup) st = mj_read_count(&r, &seg, &out->count);
      } else if (IS("ScannedCount")) {
        dup = seen_scanned;
        seen_scanned = true;
        if (!dup) st = mj_read_count(&r, &seg, &out->scanned_count);
      } else {
        st = mj_skip_value(&r, &seg, 1);
      }
#undef IS
      if (dup) {
        r.p = name_at;
        st = mj_fail(&r, &seg, DORM_ERR_BAD_RESPONSE, "member appears twice");
      }
      if (st != DORM_OK) break;
    } while (mj_expect(&r, ','));
    if (st == DORM_OK && !mj_expect(&r, '}')) st = mj_syntax(&r, NULL, "expected ',' or '}'");
  }
  if (st == DORM_OK && !seen_count) out->count = out->nitems;
  st = mj_done(&r, st);
  if (st == DORM_ERR_SCHEMA_MISMATCH) {
    /* As the generic reading does: malformed text is reported before a
     * value that does not fit the model. */
    dorm_arena tmp = DORM_ARENA_INIT;
    mj_response any;
    char why[512];
    dorm_status syn = mj_parse_response(json, len, &tmp, &any, why, sizeof why);
    if (syn != DORM_OK) {
      st = syn;
      out->bad_item = SIZE_MAX;
      if (errbuf && errcap) snprintf(errbuf, errcap, "%s", why);
    }
    dorm_arena_free(&tmp);
  }
  return st;
}

dorm_status mj_decode_item(const char *json, size_t len, const dorm_model_desc *m, unsigned flags, dorm_arena *a,
                           void *obj, char *errbuf, size_t errcap) {
  _Alignas(16) char stack[MJ_STACK];
  mj r;
  mj_init(&r, json, len, a, errbuf, errcap, stack);
  if (!json) return mj_done(&r, mj_fail(&r, NULL, DORM_ERR_BAD_RESPONSE, "empty JSON body"));
  dctx d = {&r, flags & DORM_READ_PARTIAL, m->naming};
  bool type_ok;
  dorm_status st = mj_done(&r, d_item(&d, m, obj, NULL, false, &type_ok));
  if (st == DORM_ERR_SCHEMA_MISMATCH) {
    dorm_arena tmp = DORM_ARENA_INIT;
    dorm_av any;
    char why[512];
    dorm_status syn = mj_parse_item(json, len, &tmp, &any, why, sizeof why);
    if (syn != DORM_OK) {
      st = syn;
      if (errbuf && errcap) snprintf(errbuf, errcap, "%s", why);
    }
    dorm_arena_free(&tmp);
  }
  return st;
}
