/* Response bodies straight into model structs.
 *
 * A GetItem, UpdateItem, Query or Scan response is parsed once
 * (dorm__json_parse_fast: jsmn's tokens as a tree of cJSON's layout in one
 * block, json_jsmn.c; cJSON plus the checks cJSON lacks for a body jsmn
 * does not read) and its tree is
 * decoded field by field into the caller's structs without building dorm_av
 * items: attribute names are matched against the descriptor (the next
 * field first, as items mostly come back in field order), values go
 * straight into their C fields, and only text the struct keeps (strings,
 * decimals, bytes, map keys) is copied, once, into one block of the arena
 * (json_read.h's reader). Integers, floats, times, enums and booleans are
 * read from the tree in place; a plain integer is validated and converted
 * in one pass.
 *
 * The rules are those of reading through a dorm_av (dorm__json_to_item, then
 * dorm_model_from_av), and so are the errors: when the direct decoder
 * fails, the response is read that way again and that reading's verdict
 * and message are the result. A malformed value anywhere in a response is
 * therefore reported before a value that does not fit the model, exactly as
 * the dorm_av path does; an item of another entity type that does not fit
 * the model is skipped. test_model_json holds the direct decoder to the
 * dorm_av path on the same inputs (MODEL_DECODE_DIRECT_ONLY shows its own
 * verdict). */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"
#include "core_internal.h" /* json_jt.h: the token cursor's inline steps */

typedef struct dctx {
  jr_reader *r;
  unsigned flags;
  int naming;
  dorm_crypt *k; /* opens @encrypted fields; NULL: they fail closed */
} dctx;

#define DFAIL(d, st, mp, ...) dorm__model_fail((d)->r->err, (d)->r->errcap, (st), (mp), __VA_ARGS__)
#define BAD(d, path, ...) dorm__jr_fail((d)->r, (path), DORM_ERR_BAD_RESPONSE, __VA_ARGS__)

static dorm_status oom(dctx *d, const jr_path *path) { return dorm__jr_fail(d->r, path, DORM_ERR_NO_MEMORY, "out of memory"); }

static dorm_status mismatch(dctx *d, const mpath *mp, dorm_av_type got, const char *expected) {
  return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "stored as %s, expected %s", dorm_av_type_name(got), expected);
}

static void set_ptr(void *dst, const char *s) { memcpy(dst, &s, sizeof s); }

/* A string value read in place (numbers, enums, times): a JSON string whose
 * text the struct does not keep. Its UTF-8 is not checked: text that is
 * not valid UTF-8 can be no number, time or enum value, and the failure
 * sends the response through the dorm_av reading, which names it. */
static dorm_status in_place(dctx *d, const cJSON *v, const jr_path *path, const char *what, dorm_str *out) {
  if (!jr_is_string(v)) return BAD(d, path, "%s must be a JSON string", what);
  out->ptr = v->valuestring;
  out->len = strlen(v->valuestring);
  return DORM_OK;
}

/* A plain integer ("-12", at most 18 digits) is a valid DynamoDB number
 * that fits int64: checked and converted in one pass. */
static bool plain_int(const char *s, int64_t *out) {
  bool neg = *s == '-';
  if (neg) s++;
  uint64_t v = 0;
  int n = 0;
  for (; *s >= '0' && *s <= '9'; s++, n++) {
    if (n == 18) return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  if (*s || n == 0) return false;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

/* An N value (a JSON string) into an int64_t / double field. */
static dorm_status number_i64(dctx *d, const cJSON *v, const jr_path *path, const mpath *mp, const char *what,
                              void *dst) {
  dorm_str s = {NULL, 0};
  dorm_status st = in_place(d, v, path, what, &s);
  if (st != DORM_OK) return st;
  int64_t x;
  if (!plain_int(s.ptr, &x)) {
    const char *why = dorm__number_invalid_reason(s.ptr, s.len);
    if (why) return BAD(d, path, "N value \"%.48s\" is not a valid number: %s", s.ptr, why);
    if (!dorm__number_to_i64(s.ptr, s.len, &x))
      return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "%.*s is not an integer that fits int64",
                   (int)(s.len > 48 ? 48 : s.len), s.ptr);
  }
  memcpy(dst, &x, sizeof x);
  return DORM_OK;
}

static dorm_status number_f64(dctx *d, const cJSON *v, const jr_path *path, const mpath *mp, const char *what,
                              void *dst) {
  dorm_str s = {NULL, 0};
  dorm_status st = in_place(d, v, path, what, &s);
  if (st != DORM_OK) return st;
  const char *why = dorm__number_invalid_reason(s.ptr, s.len);
  if (why) return BAD(d, path, "N value \"%.48s\" is not a valid number: %s", s.ptr, why);
  double x;
  if (!dorm__number_to_double(s.ptr, s.len, &x)) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "not a number");
  memcpy(dst, &x, sizeof x);
  return DORM_OK;
}

static dorm_status d_value(dctx *d, const dorm_type_desc *t, void *dst, const cJSON *j, const jr_path *path,
                           const mpath *mp, int depth, bool *is_null);
static dorm_status d_fields(dctx *d, const dorm_field_desc *fields, uint32_t n, void *obj, const cJSON *j,
                            const jr_path *path, const mpath *mp, int depth, const char *entity, bool *type_ok);

/* One element of a set: the string v (an SS/NS/BS element, or the value
 * of an S/N/B element of a list) into its C slot. */
static dorm_status set_elem(dctx *d, const dorm_type_desc *e, dorm_av_type want, const cJSON *v, void *dst,
                            const jr_path *path, const mpath *mp, const char *what) {
  jr_reader *r = d->r;
  dorm_str s = {NULL, 0};
  dorm_status st;
  if (want == DORM_AV_SS) {
    if ((st = dorm__jr_text(r, v, path, what, &s)) == DORM_OK) set_ptr(dst, s.ptr);
    return st;
  }
  if (want == DORM_AV_BS) {
    if ((st = dorm__jr_binary(r, v, path, what, &s)) != DORM_OK) return st;
    dorm_bytes *b = dst;
    b->data = (const uint8_t *)s.ptr;
    b->len = s.len;
    return DORM_OK;
  }
  switch (e->kind) {
  case DORM_K_INT:
  case DORM_K_EPOCH: return number_i64(d, v, path, mp, what, dst);
  case DORM_K_FLOAT: return number_f64(d, v, path, mp, what, dst);
  case DORM_K_DECIMAL:
    if ((st = dorm__jr_number(r, v, path, what, &s)) == DORM_OK) set_ptr(dst, s.ptr);
    return st;
  default:
    if ((st = dorm__jr_number(r, v, path, what, &s)) != DORM_OK) return st;
    return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "unsupported set element type");
  }
}

/* A set: stored as SS/NS/BS, or as an L of S/N/B (DynamORM's updates turn
 * sets into lists). */
static dorm_status d_set(dctx *d, const dorm_type_desc *t, dorm_av_type got, const cJSON *v, dorm_array_view *dst,
                         const jr_path *path, const mpath *mp, int depth) {
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  static const char *const elems[] = {[DORM_AV_SS] = "an SS element", [DORM_AV_NS] = "an NS element",
                                      [DORM_AV_BS] = "a BS element"};
  static const char *const values[] = {[DORM_AV_SS] = "an S value", [DORM_AV_NS] = "an N value",
                                       [DORM_AV_BS] = "a B value"};
  static const dorm_av_type scalar[] = {[DORM_AV_SS] = DORM_AV_S, [DORM_AV_NS] = DORM_AV_N, [DORM_AV_BS] = DORM_AV_B};
  const dorm_type_desc *e = t->elem;
  dst->items = NULL;
  dst->count = 0;
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "set type without an element type");
  dorm_av_type want = e->kind == DORM_K_STRING ? DORM_AV_SS : e->kind == DORM_K_BYTES ? DORM_AV_BS : DORM_AV_NS;
  bool in_list = got == DORM_AV_L;
  if (!in_list && got != want) return mismatch(d, mp, got, names[want]);
  if (!jr_is_array(v))
    return in_list ? BAD(d, path, "an L value must be a JSON array") : BAD(d, path, "a %s value must be a JSON array", names[want]);
  size_t n = jr_count(v);
  if (n == 0) return in_list ? DORM_OK : BAD(d, path, "a %s value must not be empty", names[want]);
  char *items = dorm_arena_calloc(d->r->arena, n, e->size);
  if (!items) return oom(d, path);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    jr_path seg = {path, NULL, i};
    mpath ip = {mp, MP_INDEX, NULL, i};
    const cJSON *s = c;
    dorm_status st;
    if (in_list) {
      dorm_av_type et = DORM_AV_INVALID;
      if ((st = jr_av(d->r, c, &seg, depth + 1, &et, &s)) != DORM_OK) return st;
      if (et != scalar[want]) return mismatch(d, &ip, et, dorm_av_type_name(scalar[want]));
    }
    if ((st = set_elem(d, e, want, s, items + i * e->size, &seg, &ip, in_list ? values[want] : elems[want])) != DORM_OK)
      return st;
  }
  dst->items = items;
  dst->count = n;
  return DORM_OK;
}

/* An element of a list or a map value. */
static dorm_status d_elem(dctx *d, const dorm_type_desc *e, void *dst, const cJSON *j, const jr_path *path,
                          const mpath *mp, int depth) {
  bool wrapped = e->optional && !kind_is_pointer(e->kind);
  bool is_null = false;
  dorm_status st = d_value(d, e, wrapped ? (char *)dst + e->opt_value_offset : dst, j, path, mp, depth, &is_null);
  if (st != DORM_OK) return st;
  if (is_null) {
    if (e->optional || e->kind == DORM_K_SET) return DORM_OK;
    return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "NULL where a value is required");
  }
  if (wrapped) *(bool *)dst = true;
  return DORM_OK;
}

static dorm_status d_list(dctx *d, const dorm_type_desc *t, const cJSON *v, dorm_array_view *dst, const jr_path *path,
                          const mpath *mp, int depth) {
  const dorm_type_desc *e = t->elem;
  dst->items = NULL;
  dst->count = 0;
  if (!jr_is_array(v)) return BAD(d, path, "an L value must be a JSON array");
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "list type without an element type");
  size_t n = jr_count(v);
  if (n == 0) return DORM_OK;
  char *items = dorm_arena_calloc(d->r->arena, n, e->size);
  if (!items) return oom(d, path);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    jr_path seg = {path, NULL, i};
    mpath ip = {mp, MP_INDEX, NULL, i};
    dorm_status st = d_elem(d, e, items + i * e->size, c, &seg, &ip, depth + 1);
    if (st != DORM_OK) return st;
  }
  dst->items = items;
  dst->count = n;
  return DORM_OK;
}

static dorm_status d_map(dctx *d, const dorm_type_desc *t, const cJSON *v, dorm_map_view *dst, const jr_path *path,
                         const mpath *mp, int depth) {
  jr_reader *r = d->r;
  const dorm_type_desc *e = t->elem;
  dst->keys = NULL;
  dst->values = NULL;
  dst->count = 0;
  if (!jr_is_object(v)) return BAD(d, path, "an M value must be a JSON object");
  if (!e) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "map type without a value type");
  size_t n = jr_count(v);
  if (n == 0) return DORM_OK;
  const char **keys = dorm_arena_calloc(r->arena, n, sizeof *keys);
  char *values = dorm_arena_calloc(r->arena, n, e->size);
  dorm_str stack_names[16], *names = n <= 16 ? stack_names : dorm_arena_alloc(r->arena, n * sizeof *names);
  if (!keys || !values || !names) return oom(d, path);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    jr_path seg = {path, c->string ? c->string : "", 0};
    dorm_status st = dorm__jr_copy_text(r, c->string ? c->string : "", &seg, "attribute name", &names[i]);
    if (st != DORM_OK) return st;
    keys[i] = names[i].ptr;
    mpath kp = {mp, MP_KEY, keys[i], 0};
    if ((st = d_elem(d, e, values + i * e->size, c, &seg, &kp, depth + 1)) != DORM_OK) return st;
  }
  size_t dup = dorm__jr_find_duplicate(names, n, sizeof *names);
  if (dup != n) {
    jr_path seg = {path, names[dup].ptr, 0};
    return BAD(d, &seg, "attribute appears twice in one map");
  }
  dst->keys = keys;
  dst->values = values;
  dst->count = n;
  return DORM_OK;
}

static dorm_status d_value(dctx *d, const dorm_type_desc *t, void *dst, const cJSON *j, const jr_path *path,
                           const mpath *mp, int depth, bool *is_null) {
  jr_reader *r = d->r;
  *is_null = false;
  dorm_av_type got = DORM_AV_INVALID;
  const cJSON *v = NULL;
  dorm_status st = jr_av(r, j, path, depth, &got, &v);
  if (st != DORM_OK) return st;
  if (got == DORM_AV_NULL) {
    if (!jr_is_true(v)) return BAD(d, path, "a NULL value must be true");
    *is_null = true;
    return DORM_OK;
  }
  dorm_str s = {NULL, 0};
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_JSON:
    if (got != DORM_AV_S) break;
    if ((st = dorm__jr_text(r, v, path, "an S value", &s)) != DORM_OK) return st;
    if (t->kind == DORM_K_JSON) { /* the av path names what is wrong */
      char why[160];
      if (!dorm__model_json_valid(s.ptr, s.len, why, sizeof why))
        return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "stored text is not valid JSON: %s", why);
    }
    set_ptr(dst, s.ptr);
    return DORM_OK;
  case DORM_K_ENUM: {
    if (got != DORM_AV_S) break;
    if ((st = in_place(d, v, path, "an S value", &s)) != DORM_OK) return st;
    const dorm_enum_desc *e = t->enum_;
    for (uint32_t i = 0; e && i < e->count; i++)
      if (strcmp(e->values[i], s.ptr) == 0) {
        dorm__model_enum_set(t, dst, (int64_t)i + 1);
        return DORM_OK;
      }
    return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "\"%.*s\" is not a value of enum %s", (int)(s.len > 48 ? 48 : s.len),
                 s.ptr, e ? e->name : "?");
  }
  case DORM_K_TIME: {
    if (got != DORM_AV_S) return mismatch(d, mp, got, "S (an RFC 3339 time)");
    if ((st = in_place(d, v, path, "an S value", &s)) != DORM_OK) return st;
    int64_t ns;
    if (!dorm_time_parse(s.ptr, s.len, &ns))
      return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "\"%.*s\" is not an RFC 3339 time (or is outside 1677..2262)",
                   (int)(s.len > 48 ? 48 : s.len), s.ptr);
    memcpy(dst, &ns, sizeof ns);
    return DORM_OK;
  }
  case DORM_K_DECIMAL:
    if (got != DORM_AV_N) return mismatch(d, mp, got, "N");
    if ((st = dorm__jr_number(r, v, path, "an N value", &s)) == DORM_OK) set_ptr(dst, s.ptr);
    return st;
  case DORM_K_INT:
  case DORM_K_EPOCH:
    if (got != DORM_AV_N) return mismatch(d, mp, got, "N");
    return number_i64(d, v, path, mp, "an N value", dst);
  case DORM_K_FLOAT:
    if (got != DORM_AV_N) return mismatch(d, mp, got, "N");
    return number_f64(d, v, path, mp, "an N value", dst);
  case DORM_K_BOOL:
    if (got != DORM_AV_BOOL) return mismatch(d, mp, got, "BOOL");
    if (!jr_is_bool(v)) return BAD(d, path, "a BOOL value must be true or false");
    *(bool *)dst = jr_is_true(v);
    return DORM_OK;
  case DORM_K_BYTES: {
    if (got != DORM_AV_B) return mismatch(d, mp, got, "B");
    if ((st = dorm__jr_binary(r, v, path, "a B value", &s)) != DORM_OK) return st;
    dorm_bytes *b = dst;
    b->data = (const uint8_t *)s.ptr;
    b->len = s.len;
    return DORM_OK;
  }
  case DORM_K_STRUCT:
    if (got != DORM_AV_M) return mismatch(d, mp, got, "M");
    if (!jr_is_object(v)) return BAD(d, path, "an M value must be a JSON object");
    if (!t->struct_) return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "struct type without a descriptor");
    return d_fields(d, t->struct_->fields, t->struct_->nfields, dst, v, path, mp, depth, NULL, NULL);
  case DORM_K_SET: return d_set(d, t, got, v, dst, path, mp, depth);
  case DORM_K_LIST:
    if (got != DORM_AV_L) return mismatch(d, mp, got, "L");
    return d_list(d, t, v, dst, path, mp, depth);
  case DORM_K_MAP:
    if (got != DORM_AV_M) return mismatch(d, mp, got, "M");
    return d_map(d, t, v, dst, path, mp, depth);
  default: return DFAIL(d, DORM_ERR_SCHEMA_MISMATCH, mp, "unknown type kind %u", (unsigned)t->kind);
  }
  return mismatch(d, mp, got, "S"); /* string, json and enum fields */
}

/* The duplicate check of an object's names that match no field (known
 * fields are checked by a bit each): a few on the stack, pairwise. */
typedef struct other_names {
  dorm_str names[16];
  size_t n;
  bool overflow; /* more than fit: check all names of the object at the end */
} other_names;

static dorm_status check_all_names(dctx *d, const cJSON *j, const jr_path *path) {
  size_t n = jr_count(j), i = 0;
  dorm_str *names = dorm_arena_alloc(d->r->arena, n * sizeof *names);
  if (!names) return oom(d, path);
  for (const cJSON *c = j->child; c; c = c->next, i++) {
    names[i].ptr = c->string ? c->string : "";
    names[i].len = strlen(names[i].ptr);
  }
  size_t dup = dorm__jr_find_duplicate(names, n, sizeof *names);
  if (dup == n) return DORM_OK;
  jr_path seg = {path, names[dup].ptr, 0};
  return BAD(d, &seg, "attribute appears twice in one map");
}

/* An object of attributes (j) into the fields of a struct. entity: the
 * model's type at the top level of an item; *type_ok says whether "_type"
 * matched it. */
static dorm_status d_fields(dctx *d, const dorm_field_desc *fields, uint32_t n, void *obj, const cJSON *j,
                            const jr_path *path, const mpath *mp, int depth, const char *entity, bool *type_ok) {
  jr_reader *r = d->r;
  if (!jr_is_object(j)) return BAD(d, path, "expected an object of attributes");
  /* seen: a value was read (NULL reads as absent); present: the name occurred */
  uint64_t small[16], *seen = small, *present = small + 8;
  size_t words = ((size_t)n + 63) / 64;
  if (words > 8) {
    seen = dorm_arena_calloc(r->arena, 2 * words, sizeof *seen);
    if (!seen) return oom(d, path);
    present = seen + words;
  } else {
    memset(small, 0, sizeof small);
  }
  int ni = d->naming ? 1 : 0;
  uint32_t hint = 0;
  other_names others;
  others.n = 0;
  others.overflow = false;
  dorm_status st;
  for (const cJSON *c = j->child; c; c = c->next) {
    const char *name = c->string ? c->string : "";
    jr_path seg = {path, name, 0};
    /* usually the next field: one look before the search */
    uint32_t fi = hint < n && fields[hint].attr[ni] && strcmp(fields[hint].attr[ni], name) == 0 ? hint : n;
    size_t len = 0;
    if (fi == n) {
      len = strlen(name);
      fi = dorm__model_find_field(fields, n, d->naming, name, len, hint);
    }
    if (fi == n) {
      /* computed keys, "_type", attributes of other versions: checked, then
       * dropped (a known name is the descriptor's: valid UTF-8) */
      size_t bad = 0;
      if (!dorm__utf8_valid(name, len, &bad)) return BAD(d, &seg, "attribute name is not valid UTF-8 (byte %zu)", bad);
      dorm_av v;
      if ((st = dorm__jr_value(r, c, &seg, depth + 1, &v)) != DORM_OK) return st;
      if (!others.overflow) {
        dorm_str nm = {name, len};
        for (size_t k = 0; k < others.n; k++)
          if (others.names[k].len == len && memcmp(others.names[k].ptr, name, len) == 0)
            return BAD(d, &seg, "attribute appears twice in one map");
        if (others.n < sizeof others.names / sizeof others.names[0]) others.names[others.n++] = nm;
        else others.overflow = true;
      }
      if (entity && len == 5 && memcmp(name, "_type", 5) == 0)
        *type_ok = v.type == DORM_AV_S && strcmp(v.u.s.ptr, entity) == 0;
      continue;
    }
    hint = fi + 1 < n ? fi + 1 : 0;
    uint64_t bit = UINT64_C(1) << (fi % 64);
    if (present[fi / 64] & bit) return BAD(d, &seg, "attribute appears twice in one map");
    present[fi / 64] |= bit;
    const dorm_field_desc *f = &fields[fi];
    mpath fp = {mp, MP_NAME, f->name, 0};
    bool is_null = false;
    if (f->flags & DORM_FF_ENCRYPTED) {
      /* the envelope as a dorm_av, opened, and read as the dorm_av path reads it */
      dorm_av env;
      if ((st = dorm__jr_value(r, c, &seg, depth + 1, &env)) != DORM_OK) return st;
      is_null = env.type == DORM_AV_NULL;
      if (!is_null && (st = dorm__model_read_encrypted(d->k, f, d->naming, &env, d->flags, r->arena, obj, &fp, r->err,
                                                      r->errcap)) != DORM_OK)
        return st;
    } else if ((st = d_value(d, &f->type, field_ptr_mut(obj, f), c, &seg, &fp, depth + 1, &is_null)) != DORM_OK) {
      return st;
    }
    if (!is_null) {
      seen[fi / 64] |= bit;
      if (f->has_offset >= 0) *(bool *)((char *)obj + f->has_offset) = true;
    }
  }
  if (others.overflow && (st = check_all_names(d, j, path)) != DORM_OK) return st;
  return dorm__model_fill_missing(fields, n, d->naming, seen, d->flags, obj, mp, r->err, r->errcap);
}

/* An attribute of an item's cJSON object, for dorm__model_fields_from_keys. */
static bool cjson_lookup(const void *item, const char *attr, dorm_str *s) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)item, attr);
  if (!v) return false;
  const cJSON *str = cJSON_GetObjectItemCaseSensitive(v, "S");
  s->ptr = cJSON_IsString(str) ? str->valuestring : NULL;
  s->len = s->ptr ? strlen(s->ptr) : 0;
  return true;
}

static dorm_status d_item(dctx *d, const dorm_model_desc *m, void *obj, const cJSON *j, const jr_path *path,
                          bool check_type, bool *type_ok) {
  mpath root = {NULL, MP_NAME, m->name, 0};
  memset(obj, 0, m->size);
  *type_ok = m->entity_type == NULL || !check_type;
  dorm_status st = d_fields(d, m->fields, m->nfields, obj, j, path, &root, 0, check_type ? m->entity_type : NULL,
                            type_ok);
  if (st == DORM_OK && *type_ok && (d->flags & DORM_READ_PARTIAL))
    dorm__model_fields_from_keys(m, cjson_lookup, j, d->r->arena, obj);
  return st;
}

/* ---- the token path: jsmn's tokens straight into the struct ----
 *
 * d_fields/d_value again, over json_read.h's dorm_jt cursor instead of a
 * tree (no nodes built, strings left where they were unescaped in the
 * arena's copy of the body). It only decides success: every step that
 * would fail, or that it does not handle (encrypted fields, partial reads,
 * more than 16 unknown names in one object), returns false and the body is decoded by the tree path above, whose
 * verdict and message count, so errors never depend on the path. Each
 * check mirrors its tree-path twin named beside it; test_model_json and
 * test_json_diff hold the two to the same results (MODEL_DECODE_TOKENS_ONLY
 * shows this path's own verdict). */

typedef struct tctx {
  dorm_jt *j;
  dorm_arena *a;
  int naming;
  unsigned flags;
} tctx;

static bool t_value(tctx *c, const dorm_type_desc *t, void *dst, int depth, bool *is_null);
static bool t_fields(tctx *c, const dorm_field_desc *fields, uint32_t n, void *obj, int depth, const char *entity,
                     bool *type_ok, const mpath *mp);

/* jr_av: an object with exactly one known type key; its value is next. */
static inline bool t_av_open(tctx *c, int depth, dorm_jt_iter *it, dorm_av_type *type) {
  return (*type = dorm__jt_av_open(c->j, depth, it)) != DORM_AV_INVALID;
}

static inline bool t_av_close(tctx *c, dorm_jt_iter *it) { return dorm__jt_av_close_fast(c->j, it); }

/* number_i64 / number_f64 on a string read in place. */
static bool t_i64(const char *s, size_t len, void *dst) {
  int64_t x;
  if (!plain_int(s, &x) && (dorm__number_invalid_reason(s, len) || !dorm__number_to_i64(s, len, &x))) return false;
  memcpy(dst, &x, sizeof x);
  return true;
}

static bool t_f64(const char *s, size_t len, void *dst) {
  double x;
  if (dorm__number_invalid_reason(s, len) || !dorm__number_to_double(s, len, &x)) return false;
  memcpy(dst, &x, sizeof x);
  return true;
}

/* set_elem */
static bool t_set_elem(tctx *c, const dorm_type_desc *e, dorm_av_type want, void *dst) {
  dorm_str s;
  const char *p = NULL;
  size_t len = 0;
  if (want == DORM_AV_SS || want == DORM_AV_BS) {
    if (!dorm__jt_leaf(c->j, c->a, want == DORM_AV_SS ? DORM_AV_S : DORM_AV_B, &s)) return false;
    if (want == DORM_AV_SS) {
      set_ptr(dst, s.ptr);
    } else {
      dorm_bytes *b = dst;
      b->data = (const uint8_t *)s.ptr;
      b->len = s.len;
    }
    return true;
  }
  switch (e->kind) {
  case DORM_K_INT:
  case DORM_K_EPOCH: return dorm__jt_string(c->j, &p, &len) && t_i64(p, len, dst);
  case DORM_K_FLOAT: return dorm__jt_string(c->j, &p, &len) && t_f64(p, len, dst);
  case DORM_K_DECIMAL:
    if (!dorm__jt_leaf(c->j, c->a, DORM_AV_N, &s)) return false;
    set_ptr(dst, s.ptr);
    return true;
  default: return false;
  }
}

/* d_set */
static bool t_set(tctx *c, const dorm_type_desc *t, dorm_av_type got, dorm_array_view *dst, int depth) {
  static const dorm_av_type scalar[] = {[DORM_AV_SS] = DORM_AV_S, [DORM_AV_NS] = DORM_AV_N, [DORM_AV_BS] = DORM_AV_B};
  const dorm_type_desc *e = t->elem;
  dst->items = NULL;
  dst->count = 0;
  if (!e) return false;
  dorm_av_type want = e->kind == DORM_K_STRING ? DORM_AV_SS : e->kind == DORM_K_BYTES ? DORM_AV_BS : DORM_AV_NS;
  bool in_list = got == DORM_AV_L;
  if (!in_list && got != want) return false;
  dorm_jt_iter it;
  int n;
  if (!dorm__jt_enter(c->j, DORM_JT_ARRAY, &it, &n) || (n == 0 && !in_list)) return false;
  char *items = n ? dorm_arena_calloc(c->a, (size_t)n, e->size) : NULL;
  if (n && !items) return false;
  size_t i = 0;
  int more;
  while ((more = dorm__jt_next_elem(c->j, &it)) == 1) {
    dorm_jt_iter el;
    dorm_av_type et;
    if (in_list && (!t_av_open(c, depth + 1, &el, &et) || et != scalar[want])) return false;
    if (!t_set_elem(c, e, want, items + i * e->size)) return false;
    if (in_list && !t_av_close(c, &el)) return false;
    i++;
  }
  if (more != 0) return false;
  dst->items = items;
  dst->count = (size_t)n;
  return true;
}

/* d_elem */
static bool t_elem(tctx *c, const dorm_type_desc *e, void *dst, int depth) {
  bool wrapped = e->optional && !kind_is_pointer(e->kind);
  bool is_null = false;
  if (!t_value(c, e, wrapped ? (char *)dst + e->opt_value_offset : dst, depth, &is_null)) return false;
  if (is_null) return e->optional || e->kind == DORM_K_SET;
  if (wrapped) *(bool *)dst = true;
  return true;
}

/* d_list */
static bool t_list(tctx *c, const dorm_type_desc *t, dorm_array_view *dst, int depth) {
  const dorm_type_desc *e = t->elem;
  dst->items = NULL;
  dst->count = 0;
  dorm_jt_iter it;
  int n;
  if (!e || !dorm__jt_enter(c->j, DORM_JT_ARRAY, &it, &n)) return false;
  char *items = n ? dorm_arena_calloc(c->a, (size_t)n, e->size) : NULL;
  if (n && !items) return false;
  size_t i = 0;
  int more;
  while ((more = dorm__jt_next_elem(c->j, &it)) == 1) {
    if (!t_elem(c, e, items + i * e->size, depth + 1)) return false;
    i++;
  }
  if (more != 0) return false;
  dst->items = n ? items : NULL;
  dst->count = (size_t)n;
  return true;
}

/* d_map */
static bool t_map(tctx *c, const dorm_type_desc *t, dorm_map_view *dst, int depth) {
  const dorm_type_desc *e = t->elem;
  dst->keys = NULL;
  dst->values = NULL;
  dst->count = 0;
  dorm_jt_iter it;
  int n;
  if (!e || !dorm__jt_enter(c->j, DORM_JT_OBJECT, &it, &n)) return false;
  if (n == 0) {
    const char *k = NULL;
    size_t kl = 0;
    return dorm__jt_next(c->j, &it, &k, &kl) == 0;
  }
  const char **keys = dorm_arena_calloc(c->a, (size_t)n, sizeof *keys);
  char *values = dorm_arena_calloc(c->a, (size_t)n, e->size);
  dorm_str stack_names[16], *names = n <= 16 ? stack_names : dorm_arena_alloc(c->a, (size_t)n * sizeof *names);
  if (!keys || !values || !names) return false;
  size_t i = 0;
  int more;
  const char *name = NULL;
  size_t len = 0;
  while ((more = dorm__jt_next(c->j, &it, &name, &len)) == 1) {
    if (!dorm__jt_utf8(name, len)) return false;
    names[i].ptr = keys[i] = name;
    names[i].len = len;
    if (!t_elem(c, e, values + i * e->size, depth + 1)) return false;
    i++;
  }
  if (more != 0 || dorm__jr_find_duplicate(names, (size_t)n, sizeof *names) != (size_t)n) return false;
  dst->keys = keys;
  dst->values = values;
  dst->count = (size_t)n;
  return true;
}

/* d_value for an S or N value already read (p, len: unescaped in place):
 * the kinds a string or number becomes, with d_value's checks. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline bool t_scalar(tctx *c, const dorm_type_desc *t, dorm_av_type got, const char *p, size_t len, void *dst) {
  switch (t->kind) {
  case DORM_K_STRING:
    if (got != DORM_AV_S || !dorm__jt_utf8(p, len)) return false;
    set_ptr(dst, p);
    return true;
  case DORM_K_JSON: /* not JSON: the tree path gives the verdict */
    if (got != DORM_AV_S || !dorm__jt_utf8(p, len) || !dorm__model_json_valid(p, len, NULL, 0)) return false;
    set_ptr(dst, p);
    return true;
  case DORM_K_ENUM: {
    const dorm_enum_desc *e = t->enum_;
    if (got != DORM_AV_S) return false;
    for (uint32_t i = 0; e && i < e->count; i++)
      if (strcmp(e->values[i], p) == 0) {
        dorm__model_enum_set(t, dst, (int64_t)i + 1);
        return true;
      }
    return false;
  }
  case DORM_K_TIME: {
    int64_t ns;
    if (got != DORM_AV_S || !dorm_time_parse(p, len, &ns)) return false;
    memcpy(dst, &ns, sizeof ns);
    return true;
  }
  case DORM_K_DECIMAL:
    if (got != DORM_AV_N || dorm__number_invalid_reason(p, len)) return false;
    set_ptr(dst, p);
    return true;
  case DORM_K_INT:
  case DORM_K_EPOCH: return got == DORM_AV_N && t_i64(p, len, dst);
  case DORM_K_FLOAT: return got == DORM_AV_N && t_f64(p, len, dst);
  default: (void)c; return false; /* BOOL, BYTES, containers: never an S or N */
  }
}

/* d_value */
static bool t_value(tctx *c, const dorm_type_desc *t, void *dst, int depth, bool *is_null) {
  *is_null = false;
  dorm_jt_iter it;
  const char *p = NULL;
  size_t len = 0;
  /* the usual {"S":"..."} / {"N":"..."} read whole in one step */
  dorm_av_type got = dorm__jt_av_open_str(c->j, depth, &it, &p, &len);
  if (got == DORM_AV_INVALID) return false;
  if (p) return t_scalar(c, t, got, p, len, dst);
  if (got == DORM_AV_NULL) {
    *is_null = true;
    return dorm__jt_literal(c->j) == 1 && t_av_close(c, &it);
  }
  if (got == DORM_AV_S || got == DORM_AV_N)
    return dorm__jt_string(c->j, &p, &len) && t_scalar(c, t, got, p, len, dst) && t_av_close(c, &it);
  dorm_str s;
  bool ok;
  switch (t->kind) {
  case DORM_K_BOOL: {
    int lit = got == DORM_AV_BOOL ? dorm__jt_literal(c->j) : -1;
    ok = lit == 0 || lit == 1;
    if (ok) *(bool *)dst = lit == 1;
    break;
  }
  case DORM_K_BYTES:
    ok = got == DORM_AV_B && dorm__jt_leaf(c->j, c->a, DORM_AV_B, &s);
    if (ok) {
      dorm_bytes *b = dst;
      b->data = (const uint8_t *)s.ptr;
      b->len = s.len;
    }
    break;
  case DORM_K_STRUCT: {
    mpath none = {NULL, MP_NAME, "", 0};
    ok = got == DORM_AV_M && t->struct_ &&
         t_fields(c, t->struct_->fields, t->struct_->nfields, dst, depth, NULL, NULL, &none);
    break;
  }
  case DORM_K_SET: ok = t_set(c, t, got, dst, depth); break;
  case DORM_K_LIST: ok = got == DORM_AV_L && t_list(c, t, dst, depth); break;
  case DORM_K_MAP: ok = got == DORM_AV_M && t_map(c, t, dst, depth); break;
  default: ok = false; break; /* STRING, ENUM, TIME, numbers: only from an S or N, above */
  }
  return ok && t_av_close(c, &it);
}

/* The field whose attr_json is exactly key[0..glen) (a member's key and
 * colon in the body; glen >= 4), the hinted one tried first; n if none.
 * The length filters all but a few before a byte is compared. */
static inline uint32_t t_lookup(const dorm_field_desc *fields, uint32_t n, int ni, uint32_t hint, const char *key,
                                size_t glen) {
  if (hint < n && fields[hint].attr_json_len[ni] == glen && fields[hint].attr_json[ni] &&
      dorm__jt_bytes_eq(key, fields[hint].attr_json[ni], glen))
    return hint;
  for (uint32_t f = 0; f < n; f++)
    if (fields[f].attr_json_len[ni] == glen && fields[f].attr_json[ni] &&
        dorm__jt_bytes_eq(key, fields[f].attr_json[ni], glen))
      return f;
  return n;
}

/* d_fields (mp: only for dorm__model_fill_missing, whose message is not kept) */
static bool t_fields(tctx *c, const dorm_field_desc *fields, uint32_t n, void *obj, int depth, const char *entity,
                     bool *type_ok, const mpath *mp) {
  dorm_jt_iter it;
  int size;
  if (!dorm__jt_enter(c->j, DORM_JT_OBJECT, &it, &size)) return false;
  uint64_t small[16], *seen = small, *present = small + 8;
  size_t words = ((size_t)n + 63) / 64;
  if (words > 8) {
    seen = dorm_arena_calloc(c->a, 2 * words, sizeof *seen);
    if (!seen) return false;
    present = seen + words;
  } else {
    memset(small, 0, sizeof small);
  }
  int ni = c->naming ? 1 : 0;
  uint32_t hint = 0, nseen = 0;
  dorm_str others[16];
  size_t nothers = 0;
  int more;
  const char *name = NULL;
  size_t len = 0;
  for (;;) {
    /* a compact member's "name": matched on the body's own bytes against
     * the fields' attr_json, the hinted field first; anything else (an
     * escape written another way, an unknown name, spaces) the general
     * step and dorm__model_find_field decide */
    int at = 0, glen = 0, span = dorm__jt_key_span(&c->j->b, &it, &at, &glen);
    uint32_t fi = span == 1 ? t_lookup(fields, n, ni, hint, c->j->b.js + at, (size_t)glen) : n;
    if (span == 0) {
      more = 0;
      break;
    }
    if (fi < n) {
      dorm__jt_take_key(&c->j->b, &it);
    } else {
      if ((more = dorm__jt_next(c->j, &it, &name, &len)) != 1) break;
      fi = dorm__model_find_field(fields, n, c->naming, name, len, hint);
    }
    if (fi == n) {
      /* checked, then dropped; the tree path checks every name of an
       * object with more than 16 unknown ones: left to it */
      dorm_av v;
      if (nothers == sizeof others / sizeof others[0] || !dorm__jt_utf8(name, len) ||
          !dorm__jt_av(c->j, c->a, depth + 1, &v))
        return false;
      for (size_t k = 0; k < nothers; k++)
        if (others[k].len == len && memcmp(others[k].ptr, name, len) == 0) return false;
      others[nothers].ptr = name;
      others[nothers++].len = len;
      if (entity && len == 5 && memcmp(name, "_type", 5) == 0)
        *type_ok = v.type == DORM_AV_S && strcmp(v.u.s.ptr, entity) == 0;
      continue;
    }
    hint = fi + 1 < n ? fi + 1 : 0;
    uint64_t bit = UINT64_C(1) << (fi % 64);
    if (present[fi / 64] & bit) return false;
    present[fi / 64] |= bit;
    const dorm_field_desc *f = &fields[fi];
    bool is_null = false;
    const char *p = NULL;
    size_t plen = 0;
    /* an envelope to open: the tree path does it (one KMS call, not two) */
    if (f->flags & DORM_FF_ENCRYPTED) return false;
    /* the usual {"S":"..."} / {"N":"..."} read here, without t_value */
    dorm_av_type got = dorm__jt_compact_wrapper(&c->j->b, depth + 1);
    if (!(got != DORM_AV_INVALID ? dorm__jt_take_str(c->j, &p, &plen) &&
                                       t_scalar(c, &f->type, got, p, plen, field_ptr_mut(obj, f))
                                 : t_value(c, &f->type, field_ptr_mut(obj, f), depth + 1, &is_null)))
      return false;
    if (!is_null) {
      seen[fi / 64] |= bit;
      nseen++;
      if (f->has_offset >= 0) *(bool *)((char *)obj + f->has_offset) = true;
    }
  }
  char err[8];
  return more == 0 && (nseen == n || dorm__model_fill_missing(fields, n, c->naming, seen, c->flags, obj, mp, err,
                                                              sizeof err) == DORM_OK);
}

/* d_item */
static bool t_item(tctx *c, const dorm_model_desc *m, void *obj, bool check_type, bool *type_ok) {
  mpath root = {NULL, MP_NAME, m->name, 0};
  memset(obj, 0, m->size);
  *type_ok = m->entity_type == NULL || !check_type;
  return t_fields(c, m->fields, m->nfields, obj, 0, check_type ? m->entity_type : NULL, type_ok, &root);
}

/* direct_response: the root's "Item" or "Attributes", "Items" (a Query or
 * Scan page), "LastEvaluatedKey" and the counts read (each at most once,
 * as dorm__json_response_members wants them), other members checked and
 * passed over. */
static bool t_response(tctx *c, const dorm_model_desc *m, bool check_type, model_response *out) {
  dorm_jt_iter it;
  int size;
  if (!dorm__jt_enter(c->j, DORM_JT_OBJECT, &it, &size)) return false;
  bool found = false, has_items = false, has_count = false, has_scanned = false;
  uint64_t count = 0;
  int more;
  const char *name = NULL;
  size_t len = 0;
  while ((more = dorm__jt_next(c->j, &it, &name, &len)) == 1) {
    if (strcmp(name, "Item") == 0 || strcmp(name, "Attributes") == 0) {
      if (found) return false;
      found = true;
      /* an empty item is no item (DynamoDB sends none): passed over */
      int members = 0;
      if (dorm__jt_peek(c->j, &members) != DORM_JT_OBJECT) return false;
      if (members == 0) {
        if (!dorm__jt_skip(c->j)) return false;
        continue;
      }
      void *obj = dorm_arena_alloc(c->a, m->size);
      bool type_ok = false;
      if (!obj || !t_item(c, m, obj, check_type, &type_ok)) return false;
      if (type_ok) {
        out->has_item = true;
        out->item = obj;
      }
    } else if (strcmp(name, "Items") == 0) {
      dorm_jt_iter ai;
      int n;
      if (has_items || !dorm__jt_enter(c->j, DORM_JT_ARRAY, &ai, &n)) return false;
      has_items = true;
      char *items = n ? dorm_arena_alloc(c->a, (size_t)n * m->size) : NULL;
      if (n && !items) return false;
      size_t kept = 0;
      while ((more = dorm__jt_next_elem(c->j, &ai)) == 1) {
        bool type_ok = false;
        if (!t_item(c, m, items + kept * m->size, check_type, &type_ok)) return false;
        if (type_ok) kept++; /* another entity's item: its slot is reused */
      }
      if (more != 0) return false;
      out->items = items;
      out->nitems = kept;
    } else if (strcmp(name, "LastEvaluatedKey") == 0) {
      if (out->has_last_key || !dorm__jt_item(c->j, c->a, &out->last_key)) return false;
      out->has_last_key = true;
    } else if (strcmp(name, "Count") == 0) {
      if (has_count || !dorm__jt_count(c->j, &count)) return false;
      has_count = true;
    } else if (strcmp(name, "ScannedCount") == 0) {
      if (has_scanned || !dorm__jt_count(c->j, &out->scanned_count)) return false;
      has_scanned = true;
    } else if (!dorm__jt_skip(c->j)) {
      return false;
    }
  }
  out->count = has_count ? count : out->nitems;
  return more == 0 && dorm__jt_end(c->j);
}

/* The token path over a whole response (root_item false) or item (true):
 * DORM_OK (read), DORM_ERR_NO_MEMORY, or DORM_ERR_BAD_RESPONSE: not read
 * here, the caller decodes through the tree path. */
static dorm_status tokens_decode(const char *json, size_t len, const dorm_model_desc *m, unsigned flags, dorm_arena *a,
                                 model_response *out, void *obj) {
  dorm_jt *j = NULL;
  dorm_status st = dorm__jt_open(json, len, a, &j);
  if (st != DORM_OK) return st;
  tctx c = {j, a, m->naming, flags & DORM_READ_PARTIAL};
  bool type_ok, ok = obj ? t_item(&c, m, obj, false, &type_ok) && dorm__jt_end(j)
                         : t_response(&c, m, (flags & MODEL_DECODE_CHECK_TYPE) != 0, out);
  dorm__jt_close(j);
  return ok ? DORM_OK : DORM_ERR_BAD_RESPONSE;
}

/* Whether the token path is tried first: not for the parser and decoder
 * choices of the tests, not for partial reads (their key fields come from
 * a tree lookup). */
static bool tokens_first(unsigned flags) {
  return !(flags & (MODEL_DECODE_CJSON | MODEL_DECODE_JSMN_ONLY | MODEL_DECODE_DIRECT_ONLY | DORM_READ_PARTIAL));
}

/* ---- the reading through dorm_av, for failed responses ---- */

/* A response read as the dorm_av path reads it: every value of Item, Items
 * and LastEvaluatedKey converted first (in the order of the text), then the
 * items read into structs. */
static dorm_status av_response(const cJSON *root, const dorm_json_response *mem, const dorm_model_desc *m,
                               unsigned flags, dorm_crypt *k, dorm_arena *a, model_response *out, char *errbuf,
                               size_t errcap) {
  bool check_type = (flags & MODEL_DECODE_CHECK_TYPE) != 0;
  jr_reader r;
  dorm__jr_init(&r, a, 0, errbuf, errcap);
  size_t n = mem->items && jr_is_array(mem->items) ? jr_count(mem->items) : 0;
  dorm_av one, *all = n ? dorm_arena_alloc(a, n * sizeof *all) : NULL;
  char *items = n ? dorm_arena_alloc(a, n * m->size) : NULL;
  void *obj = mem->item ? dorm_arena_alloc(a, m->size) : NULL;
  if ((n && (!all || !items)) || (mem->item && !obj)) return dorm__jr_fail(&r, NULL, DORM_ERR_NO_MEMORY, "out of memory");
  dorm_status st = DORM_OK;
  for (const cJSON *c = root->child; c && st == DORM_OK; c = c->next) {
    jr_path seg = {NULL, c->string ? c->string : "", 0};
    if (c == mem->item) {
      st = dorm__jr_members(&r, c, &seg, 0, &one);
    } else if (c == mem->last_key) {
      st = dorm__jr_members(&r, c, &seg, 0, &out->last_key);
      out->has_last_key = true;
    } else if (c == mem->items) {
      if (!jr_is_array(c)) st = dorm__jr_fail(&r, &seg, DORM_ERR_BAD_RESPONSE, "expected an array of items");
      size_t i = 0;
      for (const cJSON *it = c->child; it && st == DORM_OK; it = it->next, i++) {
        jr_path is = {&seg, NULL, i};
        st = dorm__jr_members(&r, it, &is, 0, &all[i]);
      }
    }
  }
  if (st != DORM_OK) return st;
  out->has_item = false;
  if (mem->item && one.u.map.count && (!check_type || dorm_model_is(m, &one))) {
    if ((st = dorm__model_read_item_k(m, &one, MODEL_READ_BORROW | (flags & DORM_READ_PARTIAL), k, a, obj, errbuf, errcap)) !=
        DORM_OK) {
      out->bad_item = 0;
      dorm__model_key_text(m, &one, out->bad_key, sizeof out->bad_key);
      return st;
    }
    out->has_item = true;
    out->item = obj;
  }
  out->nitems = 0;
  for (size_t i = 0; i < n; i++) {
    if (check_type && !dorm_model_is(m, &all[i])) continue;
    if ((st = dorm__model_read_item_k(m, &all[i], MODEL_READ_BORROW | (flags & DORM_READ_PARTIAL), k, a,
                              items + out->nitems * m->size, errbuf, errcap)) !=
        DORM_OK) {
      out->bad_item = i;
      dorm__model_key_text(m, &all[i], out->bad_key, sizeof out->bad_key);
      return st;
    }
    out->nitems++;
  }
  out->items = items;
  out->count = mem->has_count ? mem->count : out->nitems;
  out->scanned_count = mem->scanned_count;
  return DORM_OK;
}

/* ---- entry points ---- */

static dorm_status direct_response(dctx *d, const dorm_json_response *mem, const dorm_model_desc *m, bool check_type,
                                   model_response *out) {
  jr_reader *r = d->r;
  dorm_status st;
  /* An empty item is no item (DynamoDB sends none). */
  if (mem->item && !(jr_is_object(mem->item) && !mem->item->child)) {
    jr_path seg = {NULL, mem->item->string, 0};
    void *obj = dorm_arena_alloc(r->arena, m->size);
    bool type_ok = false;
    if (!obj) return oom(d, &seg);
    if ((st = d_item(d, m, obj, mem->item, &seg, check_type, &type_ok)) != DORM_OK) return st;
    if (type_ok) {
      out->has_item = true;
      out->item = obj;
    }
  }
  if (mem->items) {
    jr_path seg = {NULL, "Items", 0};
    if (!jr_is_array(mem->items)) return BAD(d, &seg, "expected an array of items");
    size_t n = jr_count(mem->items), i = 0, kept = 0;
    char *items = n ? dorm_arena_alloc(r->arena, n * m->size) : NULL;
    if (n && !items) return oom(d, &seg);
    for (const cJSON *c = mem->items->child; c; c = c->next, i++) {
      jr_path is = {&seg, NULL, i};
      bool type_ok = false;
      if ((st = d_item(d, m, items + kept * m->size, c, &is, check_type, &type_ok)) != DORM_OK) return st;
      if (type_ok) kept++; /* another entity's item: its slot is reused */
    }
    out->items = items;
    out->nitems = kept;
  }
  if (mem->last_key) {
    jr_path seg = {NULL, "LastEvaluatedKey", 0};
    if ((st = dorm__jr_members(r, mem->last_key, &seg, 0, &out->last_key)) != DORM_OK) return st;
    out->has_last_key = true;
  }
  out->count = mem->has_count ? mem->count : out->nitems;
  out->scanned_count = mem->scanned_count;
  return DORM_OK;
}

static dorm_json_parser parser_of(unsigned flags) {
  return flags & MODEL_DECODE_CJSON ? DORM_JSON_CJSON : flags & MODEL_DECODE_JSMN_ONLY ? DORM_JSON_JSMN_ONLY : DORM_JSON_FAST;
}

static void reset_response(model_response *out) {
  memset(out, 0, sizeof *out);
  out->last_key = dorm_av_empty(DORM_AV_M);
  out->bad_item = SIZE_MAX;
}

dorm_status dorm__model_decode_response_k(const char *json, size_t len, const dorm_model_desc *m, unsigned flags,
                                        dorm_crypt *k, dorm_arena *a, model_response *out, char *errbuf,
                                        size_t errcap) {
  reset_response(out);
  if (errbuf && errcap) errbuf[0] = '\0';
  if (tokens_first(flags) || (flags & MODEL_DECODE_TOKENS_ONLY)) {
    dorm_status st = tokens_decode(json, len, m, flags, a, out, NULL);
    if (st == DORM_OK || st == DORM_ERR_NO_MEMORY || (flags & MODEL_DECODE_TOKENS_ONLY)) {
      if (st != DORM_OK && errbuf && errcap) snprintf(errbuf, errcap, "%s", st == DORM_ERR_NO_MEMORY ? "out of memory" : "not read by the token path");
      return st;
    }
    reset_response(out);
  }
  cJSON *root = NULL;
  dorm_status st = dorm__json_parse_with(parser_of(flags), json, len, &root, errbuf, errcap);
  if (st != DORM_OK) return st;
  dorm_json_response mem;
  if ((st = dorm__json_response_members(root, &mem, errbuf, errcap)) != DORM_OK) {
    dorm__json_free(root);
    return st;
  }
  jr_reader r;
  dorm__jr_init(&r, a, len, errbuf, errcap);
  dctx d = {&r, flags & DORM_READ_PARTIAL, m->naming, k};
  st = direct_response(&d, &mem, m, (flags & MODEL_DECODE_CHECK_TYPE) != 0, out);
  /* An envelope that does not open is that verdict: read again, it would
   * only cost another KMS call. */
  if (st != DORM_OK && st != DORM_ERR_NO_MEMORY && !dorm__model_crypt_status(st) && !(flags & MODEL_DECODE_DIRECT_ONLY)) {
    reset_response(out);
    st = av_response(root, &mem, m, flags, k, a, out, errbuf, errcap);
  }
  dorm__json_free(root);
  return st;
}

dorm_status dorm__model_decode_item_k(const char *json, size_t len, const dorm_model_desc *m, unsigned flags,
                                    dorm_crypt *k, dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  if (tokens_first(flags) || (flags & MODEL_DECODE_TOKENS_ONLY)) {
    dorm_status st = tokens_decode(json, len, m, flags, a, NULL, obj);
    if (st == DORM_OK || st == DORM_ERR_NO_MEMORY || (flags & MODEL_DECODE_TOKENS_ONLY)) {
      if (st != DORM_OK && errbuf && errcap) snprintf(errbuf, errcap, "%s", st == DORM_ERR_NO_MEMORY ? "out of memory" : "not read by the token path");
      return st;
    }
  }
  cJSON *root = NULL;
  dorm_status st = dorm__json_parse_with(parser_of(flags), json, len, &root, errbuf, errcap);
  if (st != DORM_OK) return st;
  jr_reader r;
  dorm__jr_init(&r, a, len, errbuf, errcap);
  dctx d = {&r, flags & DORM_READ_PARTIAL, m->naming, k};
  bool type_ok;
  st = d_item(&d, m, obj, root, NULL, false, &type_ok);
  if (st != DORM_OK && st != DORM_ERR_NO_MEMORY && !dorm__model_crypt_status(st) && !(flags & MODEL_DECODE_DIRECT_ONLY)) {
    dorm_av item;
    dorm__jr_init(&r, a, 0, errbuf, errcap);
    st = dorm__jr_members(&r, root, NULL, 0, &item);
    if (st == DORM_OK)
      st = dorm__model_read_item_k(m, &item, MODEL_READ_BORROW | (flags & DORM_READ_PARTIAL), k, a, obj, errbuf, errcap);
  }
  dorm__json_free(root);
  return st;
}
