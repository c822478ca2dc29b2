/* Model struct -> DynamoDB JSON, straight into a request body.
 *
 * The walk reads each field through its descriptor and writes the
 * AttributeValue text directly (pre-escaped attribute keys from the
 * descriptor, numbers formatted without printf, plain ASCII strings copied
 * eight bytes at a time), validating as it goes, so a put costs one pass
 * over the struct and no intermediate dorm_av. Errors name the field
 * ("Order.shipTo.city: required (NULL)").
 *
 * The item's DynamoDB size is not added up on the way: an item's JSON text
 * is never shorter than its DynamoDB size (every value's text is at least
 * its stored size, every name is quoted), so only items whose text exceeds
 * 400 KB are measured exactly, afterwards. */
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "dorm/crypt.h"
#include "model_crypt.h"
#include "model_internal.h"

/* DynamoDB's limits on key values (bytes). */
#define KEY_PK_MAX 2048
#define KEY_SK_MAX 1024

typedef struct wctx {
  dorm_jw *w;
  const dorm_model_desc *m;
  int naming;
  char *err;
  size_t errcap;
  dorm_crypt *k; /* encrypts the @encrypted fields; NULL: writing one fails (closed) */
  bool defer;    /* @encrypted fields in plaintext: the caller encrypts the item before it is sent */
} wctx;

#define WFAIL(c, st, p, ...) dorm__model_fail((c)->err, (c)->errcap, (st), (p), __VA_ARGS__)

/* A writer failure (invalid UTF-8, body too large, out of memory) as an
 * error naming the value being written. */
static dorm_status werr(wctx *c, const mpath *p) {
  return WFAIL(c, c->w->status, p, "%s", c->w->err);
}

static inline void raw(dorm_jw *w, const char *s, size_t n) { dorm__jw_raw(w, s, n); }

/* {"S":"<s>"}: plain text is copied in one go; anything else (escapes,
 * UTF-8 to validate) goes through the writer's string encoder. */
static dorm_status w_string(wctx *c, const char *s, size_t len, const mpath *p) {
  dorm_jw *w = c->w;
  if (dorm__jw_reserve(w, len + 8)) {
    char *o = w->buf + w->len;
    memcpy(o, "{\"S\":\"", 6);
    if (dorm__json_plain_copy(o + 6, s, len)) {
      o[6 + len] = '"';
      o[7 + len] = '}';
      w->len += len + 8;
      return DORM_OK;
    }
  }
  raw(w, "{\"S\":", 5);
  dorm__jw_stringn(w, s, len);
  raw(w, "}", 1);
  return w->status == DORM_OK ? DORM_OK : werr(c, p);
}

/* {"N":"<text>"} for text already known to be a valid number. */
static void w_number_text(dorm_jw *w, const char *t, size_t n) {
  if (!dorm__jw_reserve(w, n + 8)) return;
  char *o = w->buf + w->len;
  memcpy(o, "{\"N\":\"", 6);
  memcpy(o + 6, t, n);
  o[6 + n] = '"';
  o[7 + n] = '}';
  w->len += n + 8;
}

/* A set element / bare JSON string of number text: "123". */
static void w_quoted_number(dorm_jw *w, const char *t, size_t n) {
  if (!dorm__jw_reserve(w, n + 2)) return;
  char *o = w->buf + w->len;
  o[0] = '"';
  memcpy(o + 1, t, n);
  o[n + 1] = '"';
  w->len += n + 2;
}

static void w_base64(dorm_jw *w, const uint8_t *data, size_t len) {
  size_t n = dorm__b64_encoded_len(len);
  if (n == SIZE_MAX || n > w->max) {
    dorm__jw_fail(w, DORM_ERR_TOO_LARGE, "binary value of %zu bytes is too large", len);
    return;
  }
  if (!dorm__jw_reserve(w, n + 2)) return;
  w->buf[w->len++] = '"';
  w->len += dorm__b64_encode(data, len, w->buf + w->len, DORM_B64_STD);
  w->buf[w->len++] = '"';
}

static const char *get_str(const void *p) {
  const char *s;
  memcpy(&s, p, sizeof s);
  return s;
}

static int64_t get_i64(const void *p) {
  int64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static double get_f64(const void *p) {
  double v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* ---- duplicate detection for sets and map keys ---- */

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_f64(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static int cmp_decimal(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  return dorm__number_compare(x, strlen(x), y, strlen(y));
}
static int cmp_bytes(const void *a, const void *b) {
  const dorm_bytes *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int r = n ? memcmp(x->data, y->data, n) : 0;
  return r ? r : (x->len < y->len ? -1 : x->len > y->len);
}

/* Whether two of the n elements (size bytes each) at items are equal; if
 * so, one of them is copied to *dup (size bytes) for the message. Small
 * arrays are checked pairwise; larger ones are sorted in a copy that is
 * freed before returning, so no error path of the caller owns anything. */
static bool find_dup(const void *items, size_t n, size_t size, int (*cmp)(const void *, const void *), void *dup) {
  const char *base = items;
  if (n <= 16) {
    for (size_t i = 1; i < n; i++)
      for (size_t k = 0; k < i; k++)
        if (cmp(base + i * size, base + k * size) == 0) {
          memcpy(dup, base + i * size, size);
          return true;
        }
    return false;
  }
  char *copy = malloc(n * size);
  if (!copy) return false; /* the check is an extra: DynamoDB rejects duplicates too */
  memcpy(copy, items, n * size);
  qsort(copy, n, size, cmp);
  bool found = false;
  for (size_t i = 1; i < n && !found; i++)
    if (cmp(copy + (i - 1) * size, copy + i * size) == 0) {
      memcpy(dup, copy + i * size, size);
      found = true;
    }
  free(copy);
  return found;
}

bool dorm__model_set_dup(const dorm_type_desc *e, const dorm_array_view *v, char *what, size_t cap) {
  const char *base = v->items;
  size_t n = v->count;
  if (n < 2 || !base) return false;
  switch (e->kind) {
  case DORM_K_STRING: {
    const char *dup;
    for (size_t i = 0; i < n; i++)
      if (!get_str(base + i * e->size)) return false; /* the writer reports it */
    if (e->size != sizeof(char *) || !find_dup(base, n, sizeof(char *), cmp_cstr, &dup)) return false;
    snprintf(what, cap, "\"%.64s\"", dup);
    return true;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    int64_t dup;
    if (e->size != sizeof(int64_t) || !find_dup(base, n, sizeof(int64_t), cmp_i64, &dup)) return false;
    snprintf(what, cap, "%lld", (long long)dup);
    return true;
  }
  case DORM_K_FLOAT: {
    double dup;
    for (size_t i = 0; i < n; i++)
      if (isnan(get_f64(base + i * e->size))) return false; /* NaN compares equal to nothing: the writer refuses it */
    if (e->size != sizeof(double) || !find_dup(base, n, sizeof(double), cmp_f64, &dup)) return false;
    snprintf(what, cap, "%.17g", dup);
    return true;
  }
  case DORM_K_DECIMAL: {
    const char *dup;
    for (size_t i = 0; i < n; i++) {
      const char *s = get_str(base + i * e->size);
      if (!s || dorm__number_invalid_reason(s, strlen(s))) return false; /* the writer reports it */
    }
    if (e->size != sizeof(const char *) || !find_dup(base, n, sizeof(const char *), cmp_decimal, &dup)) return false;
    snprintf(what, cap, "%.48s (numerically equal elements)", dup);
    return true;
  }
  case DORM_K_BYTES: {
    dorm_bytes dup;
    for (size_t i = 0; i < n; i++)
      if (!((const dorm_bytes *)(base + i * e->size))->data) return false;
    if (e->size != sizeof(dorm_bytes) || !find_dup(base, n, sizeof(dorm_bytes), cmp_bytes, &dup)) return false;
    snprintf(what, cap, "the same bytes");
    return true;
  }
  default: return false;
  }
}

/* ---- values ---- */

/* vlen (may be NULL) gets the byte length of an S or B value (for the key
 * checks), members the number of attributes a struct wrote. */
static dorm_status wvalue(wctx *c, const dorm_type_desc *t, const void *p, const mpath *path, int depth,
                          size_t *vlen, size_t *members);

static dorm_status w_fields(wctx *c, const dorm_field_desc *fields, uint32_t n, const void *obj,
                            const mpath *path, int depth, bool nested, size_t *count);

static dorm_status check_depth(wctx *c, const mpath *p, int depth) {
  if (depth >= DORM_AV_MAX_DEPTH)
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, p, "nested deeper than %d levels (DynamoDB's limit)",
                 DORM_AV_MAX_DEPTH + 1);
  return DORM_OK;
}

/* An element of a set/list/map: optional elements may be absent ({"NULL":true}). */
static dorm_status w_elem(wctx *c, const dorm_type_desc *e, const void *ep, const mpath *path, int depth) {
  const void *vp = ep;
  if (e->optional) {
    bool present;
    if (e->kind == DORM_K_BYTES) present = ((const dorm_bytes *)ep)->data != NULL;
    else if (kind_is_pointer(e->kind)) present = get_str(ep) != NULL;
    else {
      present = *(const bool *)ep;
      vp = (const char *)ep + e->opt_value_offset;
    }
    if (!present) {
      raw(c->w, "{\"NULL\":true}", 13);
      return DORM_OK;
    }
  }
  if (e->kind == DORM_K_SET && ((const dorm_array_view *)vp)->count == 0) {
    /* DynamoDB has no empty set; an empty one inside a list or map is NULL. */
    raw(c->w, "{\"NULL\":true}", 13);
    return DORM_OK;
  }
  return wvalue(c, e, vp, path, depth, NULL, NULL);
}

static dorm_status w_set(wctx *c, const dorm_type_desc *t, const dorm_array_view *v, const mpath *path) {
  const dorm_type_desc *e = t->elem;
  dorm_jw *w = c->w;
  if (!e) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "set type without an element type");
  if (v->count && !v->items)
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "items is NULL but count is %zu", v->count);
  const char *base = v->items;
  size_t n = v->count;
  switch (e->kind) {
  case DORM_K_STRING: {
    for (size_t i = 0; i < n; i++)
      if (!get_str(base + i * e->size)) {
        mpath ip = {path, MP_INDEX, NULL, i};
        return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "a set element is NULL");
      }
    const char *dup;
    if (e->size == sizeof(char *) && find_dup(base, n, sizeof(char *), cmp_cstr, &dup))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the set holds \"%.64s\" twice", dup);
    raw(w, "{\"SS\":[", 7);
    for (size_t i = 0; i < n; i++) {
      const char *s = get_str(base + i * e->size);
      size_t len = strlen(s);
      if (w->cap - w->len > len + 3 || dorm__jw_reserve(w, len + 3)) {
        char *o = w->buf + w->len;
        if (i) *o++ = ',';
        *o = '"';
        if (dorm__json_plain_copy(o + 1, s, len)) {
          o[len + 1] = '"';
          w->len = (size_t)(o + len + 2 - w->buf);
          continue;
        }
      }
      dorm__jw_stringn(w, s, len); /* escapes and UTF-8; adds the comma itself */
      if (w->status != DORM_OK) {
        mpath ip = {path, MP_INDEX, NULL, i};
        return werr(c, &ip);
      }
    }
    break;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    int64_t dup;
    if (e->size == sizeof(int64_t) && find_dup(base, n, sizeof(int64_t), cmp_i64, &dup))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the set holds %lld twice", (long long)dup);
    raw(w, "{\"NS\":[", 7);
    for (size_t i = 0; i < n; i++) {
      char buf[24];
      size_t len = dorm__number_format_i64(get_i64(base + i * e->size), buf);
      if (i) raw(w, ",", 1);
      w_quoted_number(w, buf, len);
    }
    break;
  }
  case DORM_K_FLOAT: {
    /* Every element is a storable number before duplicates are looked for
     * (NaN compares equal to nothing, which would confuse the sort). */
    for (size_t i = 0; i < n; i++) {
      char buf[40];
      size_t len = dorm__number_format_double(get_f64(base + i * e->size), buf);
      mpath ip = {path, MP_INDEX, NULL, i};
      if (len == 0) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "NaN and infinity cannot be stored");
      if (dorm__number_invalid_reason(buf, len))
        return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "%s is outside DynamoDB's number range", buf);
    }
    double dup;
    if (e->size == sizeof(double) && find_dup(base, n, sizeof(double), cmp_f64, &dup))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the set holds %.17g twice", dup);
    raw(w, "{\"NS\":[", 7);
    for (size_t i = 0; i < n; i++) {
      char buf[40];
      size_t len = dorm__number_format_double(get_f64(base + i * e->size), buf);
      if (i) raw(w, ",", 1);
      w_quoted_number(w, buf, len);
    }
    break;
  }
  case DORM_K_DECIMAL: {
    for (size_t i = 0; i < n; i++) {
      const char *s = get_str(base + i * e->size);
      mpath ip = {path, MP_INDEX, NULL, i};
      if (!s) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "a set element is NULL");
      const char *why = dorm__number_invalid_reason(s, strlen(s));
      if (why) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "invalid decimal \"%.48s\": %s", s, why);
    }
    /* Numerically equal texts ("1.0", "1") are one value to DynamoDB; the
     * numeric order is the sort key of sets of any size. */
    const char *dup;
    if (e->size == sizeof(const char *) && find_dup(base, n, sizeof(const char *), cmp_decimal, &dup))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the set holds %.48s twice (numerically equal elements)", dup);
    raw(w, "{\"NS\":[", 7);
    for (size_t i = 0; i < n; i++) {
      const char *s = get_str(base + i * e->size);
      if (i) raw(w, ",", 1);
      w_quoted_number(w, s, strlen(s));
    }
    break;
  }
  case DORM_K_BYTES:
    for (size_t i = 0; i < n; i++)
      if (!((const dorm_bytes *)(base + i * e->size))->data) {
        mpath ip = {path, MP_INDEX, NULL, i};
        return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "a set element is NULL");
      }
    dorm_bytes dup;
    if (e->size == sizeof(dorm_bytes) && find_dup(base, n, sizeof(dorm_bytes), cmp_bytes, &dup))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the set holds the same bytes twice");
    raw(w, "{\"BS\":[", 7);
    for (size_t i = 0; i < n; i++) {
      const dorm_bytes *b = (const dorm_bytes *)(base + i * e->size);
      if (i) raw(w, ",", 1);
      w_base64(w, b->data, b->len);
    }
    break;
  default:
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "sets hold strings, numbers or bytes (element kind %u)",
                 (unsigned)e->kind);
  }
  raw(w, "]}", 2);
  return w->status == DORM_OK ? DORM_OK : werr(c, path);
}

static dorm_status w_list(wctx *c, const dorm_type_desc *t, const dorm_array_view *v, const mpath *path,
                          int depth) {
  const dorm_type_desc *e = t->elem;
  if (!e) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "list type without an element type");
  if (v->count && !v->items)
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "items is NULL but count is %zu", v->count);
  dorm_status st = check_depth(c, path, depth);
  if (st != DORM_OK) return st;
  raw(c->w, "{\"L\":[", 6);
  for (size_t i = 0; i < v->count; i++) {
    mpath ip = {path, MP_INDEX, NULL, i};
    if (i) raw(c->w, ",", 1);
    st = w_elem(c, e, (const char *)v->items + i * e->size, &ip, depth + 1);
    if (st != DORM_OK) return st;
  }
  raw(c->w, "]}", 2);
  return DORM_OK;
}

static dorm_status w_map(wctx *c, const dorm_type_desc *t, const dorm_map_view *v, const mpath *path, int depth) {
  const dorm_type_desc *e = t->elem;
  if (!e) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "map type without a value type");
  if (v->count && (!v->keys || !v->values))
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "keys or values is NULL but count is %zu", v->count);
  dorm_status st = check_depth(c, path, depth);
  if (st != DORM_OK) return st;
  for (size_t i = 0; i < v->count; i++)
    if (!v->keys[i]) {
      mpath ip = {path, MP_INDEX, NULL, i};
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &ip, "map key is NULL");
    }
  const char *dup;
  if (find_dup(v->keys, v->count, sizeof(char *), cmp_cstr, &dup))
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "the map holds key \"%.64s\" twice", dup);
  raw(c->w, "{\"M\":{", 6);
  for (size_t i = 0; i < v->count; i++) {
    mpath kp = {path, MP_KEY, v->keys[i], 0};
    dorm__jw_keyn(c->w, v->keys[i], strlen(v->keys[i]));
    if (c->w->status != DORM_OK) return werr(c, &kp);
    st = w_elem(c, e, (const char *)v->values + i * e->size, &kp, depth + 1);
    if (st != DORM_OK) return st;
  }
  raw(c->w, "}}", 2);
  return DORM_OK;
}

static dorm_status wvalue(wctx *c, const dorm_type_desc *t, const void *p, const mpath *path, int depth,
                          size_t *vlen, size_t *members) {
  dorm_jw *w = c->w;
  if (members) *members = 1;
  if (vlen) *vlen = 1;
  switch (t->kind) {
  case DORM_K_STRING: {
    const char *s = get_str(p);
    if (!s) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "required (NULL)");
    size_t len = strlen(s);
    if (vlen) *vlen = len;
    return w_string(c, s, len, path);
  }
  case DORM_K_JSON: {
    const char *s = get_str(p);
    if (!s) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "required (NULL)");
    model_sbuf canon;
    dorm__model_sbuf_init(&canon);
    char why[160];
    dorm_status st = dorm__model_json_canonical(s, strlen(s), &canon, why, sizeof why);
    if (st == DORM_OK) {
      st = w_string(c, canon.p, canon.len, path);
    } else {
      st = WFAIL(c, st, path, "not valid JSON: %s", why);
    }
    dorm__model_sbuf_free(&canon);
    return st;
  }
  case DORM_K_DECIMAL: {
    const char *s = get_str(p);
    if (!s) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "required (NULL)");
    size_t len = strlen(s);
    const char *why = dorm__number_invalid_reason(s, len);
    if (why) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "invalid decimal \"%.48s\": %s", s, why);
    w_number_text(w, s, len);
    break;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    char buf[24];
    size_t len = dorm__number_format_i64(get_i64(p), buf);
    w_number_text(w, buf, len);
    break;
  }
  case DORM_K_TIME: {
    char buf[40];
    memcpy(buf, "{\"S\":\"", 6);
    dorm_time_format(get_i64(p), buf + 6);
    buf[36] = '"';
    buf[37] = '}';
    raw(w, buf, 38);
    break;
  }
  case DORM_K_FLOAT: {
    char buf[40];
    double d = get_f64(p);
    size_t len = dorm__number_format_double(d, buf);
    if (len == 0) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "NaN and infinity cannot be stored");
    if (dorm__number_invalid_reason(buf, len))
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "%s is outside DynamoDB's number range", buf);
    w_number_text(w, buf, len);
    break;
  }
  case DORM_K_BOOL:
    if (*(const bool *)p) raw(w, "{\"BOOL\":true}", 13);
    else raw(w, "{\"BOOL\":false}", 14);
    break;
  case DORM_K_BYTES: {
    const dorm_bytes *b = p;
    if (!b->data) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "required (data is NULL)");
    raw(w, "{\"B\":", 5);
    w_base64(w, b->data, b->len);
    raw(w, "}", 1);
    if (vlen) *vlen = b->len;
    break;
  }
  case DORM_K_ENUM: {
    const dorm_enum_desc *e = t->enum_;
    int64_t v = dorm__model_enum_get(t, p);
    if (!e) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "enum type without a descriptor");
    if (v == 0) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "required (enum %s value 0 means \"not set\")", e->name);
    if (v < 0 || v > (int64_t)e->count)
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "%lld is not a value of enum %s (1..%u)", (long long)v,
                   e->name, e->count);
    const char *s = e->values[v - 1];
    return w_string(c, s, strlen(s), path);
  }
  case DORM_K_STRUCT: {
    const dorm_struct_desc *sd = t->struct_;
    if (!sd) return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "struct type without a descriptor");
    dorm_status st = check_depth(c, path, depth);
    if (st != DORM_OK) return st;
    size_t count = 0;
    raw(w, "{\"M\":{", 6);
    st = w_fields(c, sd->fields, sd->nfields, p, path, depth + 1, true, &count);
    if (st != DORM_OK) return st;
    raw(w, "}}", 2);
    if (members) *members = count;
    break;
  }
  case DORM_K_SET: return w_set(c, t, p, path);
  case DORM_K_LIST: return w_list(c, t, p, path, depth);
  case DORM_K_MAP: return w_map(c, t, p, path, depth);
  default: return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "unknown type kind %u", (unsigned)t->kind);
  }
  return w->status == DORM_OK ? DORM_OK : werr(c, path);
}

/* Whether model field idx is stored as a key attribute (table or index). */
static int key_of_field(const dorm_model_desc *m, uint32_t idx) {
  for (uint32_t k = 0; k < m->nkeys; k++)
    if (m->keys[k].field == (int32_t)idx) return (int)k;
  return -1;
}

/* A sort key anywhere (table or index) holds 1024 bytes even where the
 * attribute is also a partition key (DynamoDB refuses more: test_it_limits). */
static size_t key_limit(const dorm_model_desc *m, uint32_t k) {
  for (uint32_t i = 0; i < m->nindexes; i++)
    if (m->indexes[i].sk == (int32_t)k) return KEY_SK_MAX;
  return KEY_PK_MAX;
}

/* Key attributes cannot hold "" or empty bytes, and have size limits. */
static dorm_status check_key_value(wctx *c, uint32_t k, size_t len, const mpath *path) {
  if (len == 0)
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "key attribute %s would be empty (DynamoDB rejects empty keys)",
                 c->m->keys[k].attr);
  size_t lim = key_limit(c->m, k);
  if (len > lim)
    return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, path, "key attribute %s is %zu bytes; DynamoDB allows at most %zu",
                 c->m->keys[k].attr, len, lim);
  return DORM_OK;
}

/* Room for n more bytes without a call in the common case. */
static inline bool room(dorm_jw *w, size_t n) { return w->cap - w->len > n || dorm__jw_reserve(w, n); }

/* The common scalar fields in one piece: [","] "attr": and the value, with
 * one reservation. False when the value needs the general path (escapes,
 * UTF-8, validation errors, other kinds); nothing is written then. */
static bool fast_field(dorm_jw *w, const dorm_field_desc *f, int ni, const void *p, bool comma, size_t *vlen) {
  size_t klen = f->attr_json_len[ni];
  char *o;
  switch (f->type.kind) {
  case DORM_K_STRING: {
    const char *s = get_str(p);
    size_t len = strlen(s);
    if (!room(w, klen + len + 9)) return false;
    o = w->buf + w->len;
    if (comma) *o++ = ',';
    memcpy(o, f->attr_json[ni], klen);
    o += klen;
    memcpy(o, "{\"S\":\"", 6);
    if (!dorm__json_plain_copy(o + 6, s, len)) return false;
    o += 6 + len;
    *vlen = len;
    memcpy(o, "\"}", 2);
    o += 2;
    break;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH:
    if (!room(w, klen + 31)) return false;
    o = w->buf + w->len;
    if (comma) *o++ = ',';
    memcpy(o, f->attr_json[ni], klen);
    o += klen;
    memcpy(o, "{\"N\":\"", 6);
    o += 6;
    o += dorm__number_format_i64(get_i64(p), o);
    memcpy(o, "\"}", 2);
    o += 2;
    break;
  case DORM_K_DECIMAL: {
    const char *s = get_str(p);
    size_t len = strlen(s);
    if (dorm__number_invalid_reason(s, len) || !room(w, klen + len + 9)) return false;
    o = w->buf + w->len;
    if (comma) *o++ = ',';
    memcpy(o, f->attr_json[ni], klen);
    o += klen;
    memcpy(o, "{\"N\":\"", 6);
    memcpy(o + 6, s, len);
    o += 6 + len;
    memcpy(o, "\"}", 2);
    o += 2;
    break;
  }
  case DORM_K_TIME: {
    if (!room(w, klen + 40)) return false;
    o = w->buf + w->len;
    if (comma) *o++ = ',';
    memcpy(o, f->attr_json[ni], klen);
    o += klen;
    memcpy(o, "{\"S\":\"", 6);
    dorm_time_format(get_i64(p), o + 6);
    memcpy(o + 36, "\"}", 2);
    o += 38;
    break;
  }
  case DORM_K_BOOL: {
    bool b = *(const bool *)p;
    if (!room(w, klen + 16)) return false;
    o = w->buf + w->len;
    if (comma) *o++ = ',';
    memcpy(o, f->attr_json[ni], klen);
    o += klen;
    memcpy(o, b ? "{\"BOOL\":true}" : "{\"BOOL\":false}", b ? 13 : 14);
    o += b ? 13 : 14;
    break;
  }
  default: return false;
  }
  w->len = (size_t)(o - w->buf);
  return true;
}

/* A value of an @encrypted field that could not be written: the message
 * may quote it ("invalid decimal \"...\""), and plaintext must not reach
 * error messages and logs. */
static dorm_status hide_value(wctx *c, const dorm_field_desc *f, const mpath *fp, dorm_status st) {
  if (st == DORM_ERR_NO_MEMORY) return st;
  if (c->err && c->errcap) explicit_bzero(c->err, c->errcap);
  return WFAIL(c, st, fp, "the value is not a valid %s (not shown: the field is @encrypted)",
               dorm__model_kind_name(f->type.kind));
}

/* An @encrypted field: its value written as plaintext JSON aside, read back
 * as a dorm_av, sealed into DynamORM's envelope (AAD: the attribute name)
 * and the envelope written. Nothing of the value reaches the body when
 * anything fails (no context, KMS, the value itself). *written is false for
 * an empty struct under @omit_empty (nothing to store). */
static dorm_status w_encrypted(wctx *c, const dorm_field_desc *f, const void *p, const mpath *fp, bool comma,
                               bool *written) {
  int ni = c->naming ? 1 : 0;
  *written = false;
  if (!c->k)
    return WFAIL(c, DORM_ERR_ENCRYPTION_NOT_CONFIGURED, fp,
                 "@encrypted, and the client has no KMS key to encrypt it with (dorm_crypt_enable or "
                 "dorm_client_set_crypt, dorm/crypt.h); nothing was written");
  dorm_jw side;
  dorm__jw_init(&side, 0);
  wctx sc = *c;
  sc.w = &side;
  size_t members = 0;
  dorm_status st = wvalue(&sc, &f->type, p, fp, 0, NULL, &members);
  if (st != DORM_OK) st = hide_value(c, f, fp, st);
  dorm_arena tmp = DORM_ARENA_INIT;
  const char *json = NULL;
  size_t len = 0;
  dorm_av v, env;
  bool skip = f->type.kind == DORM_K_STRUCT && (f->flags & DORM_FF_OMIT_EMPTY) && members == 0;
  if (st == DORM_OK && !skip && (st = dorm__jw_finish(&side, &json, &len)) != DORM_OK)
    st = WFAIL(c, st, fp, "%s", side.err);
  if (st == DORM_OK && !skip) st = dorm_av_from_json(json, len, &tmp, &v, c->err, c->errcap);
  if (st == DORM_OK && !skip && (st = dorm_crypt_encrypt(c->k, field_attr(f, c->naming), &v, &tmp, &env)) != DORM_OK)
    st = WFAIL(c, st, fp, "%s", dorm_client_errmsg(dorm__crypt_client(c->k)));
  if (st == DORM_OK && !skip) {
    if (comma) raw(c->w, ",", 1);
    raw(c->w, f->attr_json[ni], f->attr_json_len[ni]);
    dorm__jw_av(c->w, &env, f->name);
    if (c->w->status != DORM_OK) st = werr(c, fp);
    *written = st == DORM_OK;
  }
  if (side.buf) OPENSSL_cleanse(side.buf, side.cap); /* the plaintext */
  dorm__jw_free(&side);
  dorm_arena_free(&tmp);
  return st;
}

static dorm_status w_fields(wctx *c, const dorm_field_desc *fields, uint32_t n, const void *obj,
                            const mpath *path, int depth, bool nested, size_t *count) {
  dorm_jw *w = c->w;
  int ni = c->naming ? 1 : 0;
  for (uint32_t i = 0; i < n; i++) {
    const dorm_field_desc *f = &fields[i];
    const void *p = field_ptr(obj, f);
    if (!model_field_present(f, obj)) {
      if (f->flags & DORM_FF_OPTIONAL) continue;
      mpath fp = {path, MP_NAME, f->name, 0};
      return WFAIL(c, DORM_ERR_INVALID_ARGUMENT, &fp, "required (NULL)");
    }
    unsigned kind = f->type.kind;
    if (kind == DORM_K_SET && ((const dorm_array_view *)p)->count == 0) continue; /* never written */
    if ((f->flags & DORM_FF_OMIT_EMPTY) && kind != DORM_K_STRUCT && dorm__model_value_empty(&f->type, p)) continue;
    size_t mark = w->len, klen = f->attr_json_len[ni], vlen = 1, members = 0;
    mpath fp = {path, MP_NAME, f->name, 0};
    if ((f->flags & DORM_FF_ENCRYPTED) && !c->defer) {
      bool written = false;
      dorm_status st = w_encrypted(c, f, p, &fp, *count != 0, &written);
      if (st != DORM_OK) return st;
      if (written) (*count)++;
      continue;
    }
    if (!fast_field(w, f, ni, p, *count != 0, &vlen)) {
      /* "," and the pre-escaped "attr": in one piece, then the value */
      w->len = mark;
      if (room(w, klen + 1)) {
        char *o = w->buf + w->len;
        if (*count) *o++ = ',';
        memcpy(o, f->attr_json[ni], klen);
        w->len = (size_t)(o + klen - w->buf);
      }
      dorm_status st = wvalue(c, &f->type, p, &fp, depth, &vlen, &members);
      if (st != DORM_OK) return (f->flags & DORM_FF_ENCRYPTED) ? hide_value(c, f, &fp, st) : st; /* deferred */
    }
    dorm_status st;
    if (kind == DORM_K_STRUCT && (f->flags & DORM_FF_OMIT_EMPTY) && members == 0) {
      w->len = mark; /* an empty struct under @omit_empty: take it back */
      continue;
    }
    if (!nested && (kind == DORM_K_STRING || kind == DORM_K_BYTES) && (vlen == 0 || vlen > KEY_SK_MAX)) {
      /* Only then can a key attribute be out of DynamoDB's bounds. */
      int k = key_of_field(c->m, i);
      if (k >= 0 && (st = check_key_value(c, (uint32_t)k, vlen, &fp)) != DORM_OK) return st;
    }
    (*count)++;
  }
  return DORM_OK;
}

/* ---- key templates ---- */

static bool sb_put(model_sbuf *b, const char *s, size_t n) { return dorm__buf_put(&b->buf, s, n); }

dorm_status dorm__model_render_field(const dorm_model_desc *m, uint32_t field, const void *p, model_sbuf *out,
                               char *errbuf, size_t errcap) {
  const dorm_field_desc *f = &m->fields[field];
  mpath root = {NULL, MP_NAME, m->name, 0};
  mpath fp = {&root, MP_NAME, f->name, 0};
  bool ok = true;
  switch (f->type.kind) {
  case DORM_K_STRING: {
    const char *s = get_str(p);
    if (!s) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "required (NULL)");
    size_t bad;
    size_t len = strlen(s);
    if (!dorm__utf8_valid(s, len, &bad))
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "a string is not valid UTF-8 (byte %zu)", bad);
    ok = sb_put(out, s, len);
    break;
  }
  case DORM_K_DECIMAL: {
    const char *s = get_str(p);
    if (!s) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "required (NULL)");
    const char *why = dorm__number_invalid_reason(s, strlen(s));
    if (why) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "invalid decimal \"%.48s\": %s", s, why);
    ok = sb_put(out, s, strlen(s));
    break;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    char buf[24];
    ok = sb_put(out, buf, dorm__number_format_i64(get_i64(p), buf));
    break;
  }
  case DORM_K_TIME: {
    char buf[32];
    dorm_time_format(get_i64(p), buf);
    ok = sb_put(out, buf, 30);
    break;
  }
  case DORM_K_FLOAT: {
    char buf[40];
    size_t len = dorm__number_format_double(get_f64(p), buf);
    if (!len) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "NaN and infinity cannot be stored");
    ok = sb_put(out, buf, len);
    break;
  }
  case DORM_K_BOOL: ok = *(const bool *)p ? sb_put(out, "true", 4) : sb_put(out, "false", 5); break;
  case DORM_K_ENUM: {
    const dorm_enum_desc *e = f->type.enum_;
    int64_t v = dorm__model_enum_get(&f->type, p);
    if (!e) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "enum type without a descriptor");
    if (v == 0)
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "required (enum %s value 0 means \"not set\")",
                        e->name);
    if (v < 0 || v > (int64_t)e->count)
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "%lld is not a value of enum %s (1..%u)",
                        (long long)v, e->name, e->count);
    ok = sb_put(out, e->values[v - 1], strlen(e->values[v - 1]));
    break;
  }
  default:
    return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "a field of this type cannot be part of a key");
  }
  if (!ok) return dorm__model_fail(errbuf, errcap, DORM_ERR_NO_MEMORY, &fp, "out of memory rendering a key");
  return DORM_OK;
}

/* Whether the text out->p[from..) (a string placeholder's value followed by
 * the template's next literal) holds that literal first where the value
 * ends. Otherwise the key does not say where the value ends: with
 * "T#{tenantId}#A#{accountId}", tenant "x#A#y" of account "z" and tenant
 * "x" of account "y#A#z" are the same key (one overwrote the other's item,
 * a get read the other tenant's item), and a field read back from the key
 * (a keys_only index) was split at the first "#A#". A reader of the key
 * splits at the first occurrence of the literal (model_keys_read.c). */
bool dorm__model_literal_ends_value(const char *text, size_t len, size_t from, size_t value_end, const char *lit,
                                    size_t lit_len) {
  for (size_t at = from; at + lit_len <= len && at < value_end; at++)
    if (memcmp(text + at, lit, lit_len) == 0) return false;
  return true;
}

dorm_status dorm__model_render_key(const dorm_model_desc *m, uint32_t k, const void *obj, size_t parts_upto,
                             model_sbuf *out, char *errbuf, size_t errcap) {
  const dorm_key_desc *key = &m->keys[k];
  mpath root = {NULL, MP_NAME, m->name, 0};
  if (key->field >= 0) {
    const dorm_field_desc *f = &m->fields[key->field];
    if (!model_field_present(f, obj)) {
      mpath fp = {&root, MP_NAME, f->name, 0};
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "not set (it is key attribute %s)", key->attr);
    }
    return dorm__model_render_field(m, (uint32_t)key->field, field_ptr(obj, f), out, errbuf, errcap);
  }
  for (uint32_t i = 0; i < key->nparts && i < parts_upto; i++) {
    const dorm_tpl_part *part = &key->parts[i];
    if (part->field < 0) {
      if (!sb_put(out, part->literal ? part->literal : "", part->literal_len))
        return dorm__model_fail(errbuf, errcap, DORM_ERR_NO_MEMORY, &root, "out of memory rendering key %s", key->attr);
      continue;
    }
    const dorm_field_desc *f = &m->fields[part->field];
    if (!model_field_present(f, obj)) {
      mpath fp = {&root, MP_NAME, f->name, 0};
      if (!(f->flags & DORM_FF_OPTIONAL)) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "required (NULL)");
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "not set (key %s is made from it)", key->attr);
    }
    size_t value_at = out->len;
    dorm_status st = dorm__model_render_field(m, (uint32_t)part->field, field_ptr(obj, f), out, errbuf, errcap);
    if (st != DORM_OK) return st;
    const dorm_tpl_part *next = i + 1 < key->nparts && i + 1 < parts_upto ? &key->parts[i + 1] : NULL;
    /* (a literal that ends the template is found at the end: nothing to check) */
    if (f->type.kind != DORM_K_STRING || !next || next->field >= 0 || next->literal_len == 0 ||
        i + 2 >= key->nparts)
      continue;
    size_t value_end = out->len;
    if (!sb_put(out, next->literal, next->literal_len))
      return dorm__model_fail(errbuf, errcap, DORM_ERR_NO_MEMORY, &root, "out of memory rendering key %s", key->attr);
    i++; /* the literal is written */
    if (!dorm__model_literal_ends_value(out->p, out->len, value_at, value_end, next->literal, next->literal_len)) {
      mpath fp = {&root, MP_NAME, f->name, 0};
      int shown = value_end - value_at > 64 ? 64 : (int)(value_end - value_at);
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp,
                              "\"%.*s%s\" would run into the \"%.*s\" that follows it in key %s: the key would not "
                              "say where %s ends (another value of the key's fields makes the same key)",
                              shown, out->p + value_at, shown < (int)(value_end - value_at) ? "..." : "",
                              (int)next->literal_len, next->literal, key->attr, f->name);
    }
  }
  return DORM_OK;
}

/* "ATTR":{"S":"<rendered>"} for a template key. */
static dorm_status w_template_key(wctx *c, uint32_t k, const void *obj, const mpath *root) {
  const dorm_key_desc *key = &c->m->keys[k];
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  dorm_status st = dorm__model_render_key(c->m, k, obj, SIZE_MAX, &b, c->err, c->errcap);
  if (st == DORM_OK) st = check_key_value(c, k, b.len, root);
  if (st == DORM_OK) {
    raw(c->w, key->attr_json, key->attr_json_len);
    st = w_string(c, b.p, b.len, root);
  }
  dorm__model_sbuf_free(&b);
  return st;
}

/* ---- items ---- */

/* DynamoDB's size of the item whose JSON text is json[0..len). */
static dorm_status exact_size(const char *json, size_t len, size_t *size, char *errbuf, size_t errcap) {
  dorm_arena tmp = DORM_ARENA_INIT;
  dorm_av item;
  dorm_status st = dorm_item_from_json(json, len, &tmp, &item, errbuf, errcap);
  if (st == DORM_OK) st = dorm_item_size(&item, size);
  dorm_arena_free(&tmp);
  return st;
}

dorm_status dorm__model_write_item(dorm_jw *w, const dorm_model_desc *m, const void *obj, size_t *item_size,
                             char *errbuf, size_t errcap) {
  return dorm__model_write_item_crypt(w, m, obj, NULL, false, item_size, errbuf, errcap);
}

dorm_status dorm__model_write_item_crypt(dorm_jw *w, const dorm_model_desc *m, const void *obj, dorm_crypt *k,
                                         bool defer, size_t *item_size, char *errbuf, size_t errcap) {
  wctx c = {w, m, m->naming, errbuf, errcap, k, defer};
  mpath root = {NULL, MP_NAME, m->name, 0};
  size_t count = 0;
  dorm_status st;
  if (!obj) return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, &root, "no object given");
  dorm__jw_raw_value(w, "{", 1);
  size_t start = w->len - 1;
  for (uint32_t k = 0; k < m->nkeys; k++) {
    if (m->keys[k].field >= 0) continue; /* stored by its field */
    if (count) raw(w, ",", 1);
    if ((st = w_template_key(&c, k, obj, &root)) != DORM_OK) return st;
    count++;
  }
  if (m->entity_type) {
    if (count) raw(w, ",", 1);
    raw(w, "\"_type\":", 8);
    if ((st = w_string(&c, m->entity_type, strlen(m->entity_type), &root)) != DORM_OK) return st;
    count++;
  }
  st = w_fields(&c, m->fields, m->nfields, obj, &root, 0, false, &count);
  if (st != DORM_OK) return st;
  raw(w, "}", 1);
  if (w->status != DORM_OK) return werr(&c, &root);
  size_t text = w->len - start, size = text;
  if (text > DORM_ITEM_MAX_BYTES || item_size) {
    char why[256];
    if ((st = exact_size(w->buf + start, text, &size, why, sizeof why)) != DORM_OK)
      return WFAIL(&c, st, &root, "cannot measure the item: %s", why);
  }
  if (size > DORM_ITEM_MAX_BYTES)
    return WFAIL(&c, DORM_ERR_TOO_LARGE, &root, "the item is %zu bytes; DynamoDB stores at most %zu bytes per item",
                 size, DORM_ITEM_MAX_BYTES);
  if (item_size) *item_size = size;
  return DORM_OK;
}

dorm_status dorm__model_write_key(dorm_jw *w, const dorm_model_desc *m, const void *obj, char *errbuf, size_t errcap) {
  wctx c = {w, m, m->naming, errbuf, errcap, NULL, false};
  mpath root = {NULL, MP_NAME, m->name, 0};
  if (!obj) return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, &root, "no key object given");
  dorm__jw_raw_value(w, "{", 1);
  for (uint32_t k = 0; k < m->table_keys && k < m->nkeys; k++) {
    const dorm_key_desc *key = &m->keys[k];
    dorm_status st;
    if (k) raw(w, ",", 1);
    if (key->field < 0) {
      st = w_template_key(&c, k, obj, &root);
    } else {
      const dorm_field_desc *f = &m->fields[key->field];
      mpath fp = {&root, MP_NAME, f->name, 0};
      if (!model_field_present(f, obj))
        return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, &fp, "required (it is key attribute %s)", key->attr);
      size_t vlen = 0;
      raw(w, key->attr_json, key->attr_json_len);
      st = wvalue(&c, &f->type, field_ptr(obj, f), &fp, 0, &vlen, NULL);
      if (st == DORM_OK && (f->type.kind == DORM_K_STRING || f->type.kind == DORM_K_BYTES))
        st = check_key_value(&c, k, vlen, &fp);
    }
    if (st != DORM_OK) return st;
  }
  raw(w, "}", 1);
  return w->status == DORM_OK ? DORM_OK : werr(&c, &root);
}

dorm_status dorm__model_write_field_value(dorm_jw *w, const dorm_model_desc *m, uint32_t field, const void *p,
                                    char *errbuf, size_t errcap) {
  wctx c = {w, m, m->naming, errbuf, errcap, NULL, false};
  mpath root = {NULL, MP_NAME, m->name, 0};
  if (field >= m->nfields)
    return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, &root, "no field %u (the model has %u)", field, m->nfields);
  const dorm_field_desc *f = &m->fields[field];
  mpath fp = {&root, MP_NAME, f->name, 0};
  if (!p) return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, &fp, "no value given");
  return wvalue(&c, &f->type, p, &fp, 0, NULL, NULL);
}

dorm_status dorm__model_write_type_value(dorm_jw *w, const dorm_model_desc *m, const dorm_type_desc *t, const void *p,
                                   const mpath *path, char *errbuf, size_t errcap) {
  wctx c = {w, m, m->naming, errbuf, errcap, NULL, false};
  if (!p) return WFAIL(&c, DORM_ERR_INVALID_ARGUMENT, path, "no value given");
  return w_elem(&c, t, p, path, 0);
}

/* ---- the same as dorm_av (written as JSON, read back with cJSON) ---- */

typedef enum av_what { AV_ITEM, AV_KEY, AV_FIELD, AV_TYPE } av_what;

static dorm_status to_av_crypt(av_what what, const dorm_model_desc *m, uint32_t field, const dorm_type_desc *t,
                               const void *p, dorm_crypt *k, bool defer, dorm_arena *a, dorm_av *out, char *errbuf,
                               size_t errcap) {
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm_status st;
  switch (what) {
  case AV_ITEM: st = dorm__model_write_item_crypt(&w, m, p, k, defer, NULL, errbuf, errcap); break;
  case AV_KEY: st = dorm__model_write_key(&w, m, p, errbuf, errcap); break;
  case AV_FIELD: st = dorm__model_write_field_value(&w, m, field, p, errbuf, errcap); break;
  default: {
    mpath root = {NULL, MP_NAME, m->name, 0};
    st = dorm__model_write_type_value(&w, m, t, p, &root, errbuf, errcap);
  }
  }
  const char *json = NULL;
  size_t len = 0;
  if (st == DORM_OK && (st = dorm__jw_finish(&w, &json, &len)) != DORM_OK)
    dorm__model_fail(errbuf, errcap, st, NULL, "%s", w.err);
  if (st == DORM_OK) {
    st = (what == AV_ITEM || what == AV_KEY) ? dorm_item_from_json(json, len, a, out, errbuf, errcap)
                                             : dorm_av_from_json(json, len, a, out, errbuf, errcap);
  }
  if (defer && w.buf) OPENSSL_cleanse(w.buf, w.cap); /* plaintext of encrypted fields */
  dorm__jw_free(&w);
  return st;
}

static dorm_status to_av(av_what what, const dorm_model_desc *m, uint32_t field, const dorm_type_desc *t,
                         const void *p, dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap) {
  return to_av_crypt(what, m, field, t, p, NULL, false, a, out, errbuf, errcap);
}

dorm_status dorm__model_item_av(const dorm_model_desc *m, const void *obj, dorm_crypt *k, bool defer, dorm_arena *a,
                                dorm_av *out, char *errbuf, size_t errcap) {
  return to_av_crypt(AV_ITEM, m, 0, NULL, obj, k, defer, a, out, errbuf, errcap);
}

dorm_status dorm__model_field_av(const dorm_model_desc *m, uint32_t field, const void *p, dorm_arena *a, dorm_av *out,
                           char *errbuf, size_t errcap) {
  return to_av(AV_FIELD, m, field, NULL, p, a, out, errbuf, errcap);
}

dorm_status dorm__model_type_av(const dorm_model_desc *m, const dorm_type_desc *t, const void *p, dorm_arena *a,
                          dorm_av *out, char *errbuf, size_t errcap) {
  return to_av(AV_TYPE, m, 0, t, p, a, out, errbuf, errcap);
}

dorm_status dorm__model_key_value_av(const dorm_model_desc *m, uint32_t k, const void *obj, dorm_arena *a, dorm_av *out,
                               char *errbuf, size_t errcap) {
  const dorm_key_desc *key = &m->keys[k];
  if (key->field >= 0) {
    const dorm_field_desc *f = &m->fields[key->field];
    if (!model_field_present(f, obj)) {
      mpath root = {NULL, MP_NAME, m->name, 0};
      mpath fp = {&root, MP_NAME, f->name, 0};
      return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, &fp, "not set (it is key attribute %s)", key->attr);
    }
    return dorm__model_field_av(m, (uint32_t)key->field, field_ptr(obj, f), a, out, errbuf, errcap);
  }
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  dorm_status st = dorm__model_render_key(m, k, obj, SIZE_MAX, &b, errbuf, errcap);
  if (st == DORM_OK && dorm_av_str_copy(a, b.p, b.len, out) != DORM_OK)
    st = dorm__model_fail(errbuf, errcap, DORM_ERR_NO_MEMORY, NULL, "out of memory");
  dorm__model_sbuf_free(&b);
  return st;
}

dorm_status dorm_model_to_av(const dorm_model_desc *m, const void *obj, dorm_arena *a, dorm_av *item, char *errbuf,
                             size_t errcap) {
  if (!m || !a || !item) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, NULL, "model, arena and item are required");
  return to_av(AV_ITEM, m, 0, NULL, obj, a, item, errbuf, errcap);
}

dorm_status dorm_model_key_av(const dorm_model_desc *m, const void *obj, dorm_arena *a, dorm_av *key, char *errbuf,
                              size_t errcap) {
  if (!m || !a || !key) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, NULL, "model, arena and key are required");
  return to_av(AV_KEY, m, 0, NULL, obj, a, key, errbuf, errcap);
}

dorm_status dorm_model_to_json(const dorm_model_desc *m, const void *obj, dorm_arena *a, const char **json,
                               size_t *len, char *errbuf, size_t errcap) {
  if (!m || !a || !json) return dorm__model_fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, NULL, "model, arena and json are required");
  dorm_jw w;
  dorm__jw_init(&w, 0);
  const char *text = NULL;
  size_t n = 0;
  dorm_status st = dorm__model_write_item(&w, m, obj, NULL, errbuf, errcap);
  if (st == DORM_OK && (st = dorm__jw_finish(&w, &text, &n)) != DORM_OK) dorm__model_fail(errbuf, errcap, st, NULL, "%s", w.err);
  if (st == DORM_OK) {
    char *copy = dorm_arena_memdup(a, text, n + 1);
    if (!copy) st = dorm__model_fail(errbuf, errcap, DORM_ERR_NO_MEMORY, NULL, "out of memory");
    else {
      *json = copy;
      if (len) *len = n;
    }
  }
  dorm__jw_free(&w);
  return st;
}
