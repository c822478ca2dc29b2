/* payload: plain JSON <-> the structs generated for endpoint payloads, by
 * descriptor (dorm/streamer.h: dorm_payload_from_cjson, _from_json,
 * _to_json).
 *
 * The JSON forms are those a web client writes by hand: a string for
 * string, decimal (its exact text), bytes (standard base64), time (RFC
 * 3339) and enum (its stored value); numbers for int, epoch and float;
 * true/false for bool; any JSON value for json (kept as canonical text);
 * objects for structs and maps; arrays for sets and lists. Members are
 * named by the field's JSON name (name or @name: attr[DORM_NAMING_CAMEL]).
 *
 * Reading is strict about what it keeps and lax about what it ignores:
 * unknown members are skipped, null is "absent" for optional fields, but a
 * wrong type, a missing required field, invalid UTF-8, a bad decimal or
 * base64, or nesting deeper than PAYLOAD_MAX_DEPTH fails with the path of
 * the value ("payload.lines[2].sku: expected a string"). Reading uses cJSON
 * (the router has the tree already); writing uses core's JSON writer.
 * Everything a read produces lives in the caller's arena; nothing points
 * into the cJSON tree.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamer_internal.h"

/* The deepest nesting of objects and arrays in a payload (the top-level
 * object is level 1), as DynamoDB's for items; the message limit is one
 * more (streamer_internal.h). */
#define PAYLOAD_MAX_DEPTH DORM__ST_MAX_PAYLOAD_DEPTH

/* The largest integer a JSON number (a double, in cJSON as in JavaScript)
 * carries exactly, and every integer below it too: 2^53-1. */
#define MAX_EXACT_INT 9007199254740991.0

#define FAIL(errbuf, errcap, p, ...) dorm__model_fail((errbuf), (errcap), DORM_ERR_INVALID_ARGUMENT, (p), __VA_ARGS__)

static const char *const_str(const void *p) {
  const char *s;
  memcpy(&s, p, sizeof s);
  return s;
}

static void set_str(void *p, const char *s) { memcpy(p, &s, sizeof s); }

/* ---- a cJSON tree as text, numbers exact --------------------------------- */

static void put_cjson(dorm_jw *w, const cJSON *v) {
  if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
    bool obj = cJSON_IsObject(v);
    if (obj) dorm__jw_begin_object(w);
    else dorm__jw_begin_array(w);
    for (const cJSON *k = v->child; k; k = k->next) {
      if (obj) dorm__jw_key(w, k->string ? k->string : "");
      put_cjson(w, k);
    }
    if (obj) dorm__jw_end_object(w);
    else dorm__jw_end_array(w);
  } else if (cJSON_IsString(v)) {
    dorm__jw_string(w, v->valuestring ? v->valuestring : "");
  } else if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (d >= -MAX_EXACT_INT && d <= MAX_EXACT_INT && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
      dorm__jw_int(w, (int64_t)d); /* most payload numbers: its digits, no search for the shortest form */
      return;
    }
    char text[40];
    size_t n = dorm__number_format_double(d, text);
    if (n) dorm__jw_number_text(w, text, n);
    else dorm__jw_null(w); /* not finite: never parsed from JSON text */
  } else if (cJSON_IsBool(v)) {
    dorm__jw_bool(w, cJSON_IsTrue(v));
  } else if (cJSON_IsRaw(v) && v->valuestring) {
    dorm__jw_raw_value(w, v->valuestring, strlen(v->valuestring));
  } else {
    dorm__jw_null(w);
  }
}

/* The text of every number, in document order: outside strings a number
 * is the only token that starts with '-' or a digit (cJSON has checked the
 * syntax), and cJSON links members and elements in document order too, so
 * the n-th number of a pre-order walk is the n-th found here. */
typedef struct num_texts {
  const char *text;
  size_t len, at; /* the scan's position in text */
} num_texts;

static bool next_number(num_texts *t, const char **s, size_t *n) {
  for (size_t i = t->at; i < t->len; i++) {
    char c = t->text[i];
    if (c == '"') {
      for (i++; i < t->len && t->text[i] != '"'; i++)
        if (t->text[i] == '\\') i++;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < t->len && t->text[j] && strchr("0123456789+-.eE", t->text[j])) j++;
      *s = t->text + i;
      *n = j - i;
      t->at = j;
      return true;
    }
  }
  t->at = t->len;
  return false;
}

static void exact_numbers(cJSON *v, num_texts *t) {
  for (; v; v = v->next) {
    if (v->child) {
      exact_numbers(v->child, t);
      continue;
    }
    if (!cJSON_IsNumber(v)) continue;
    const char *s;
    size_t n;
    if (!next_number(t, &s, &n)) return;
    char shortest[40];
    size_t sn = dorm__number_format_double(v->valuedouble, shortest);
    if (sn && dorm_number_equal(s, n, shortest, sn)) continue;
    char *raw = cJSON_malloc(n + 1); /* cJSON_Delete frees a raw node's text */
    if (!raw) continue;
    memcpy(raw, s, n);
    raw[n] = '\0';
    v->type = cJSON_Raw;
    v->valuestring = raw;
  }
}

void dorm__st_exact_numbers(cJSON *root, const char *text, size_t len) {
  num_texts t = {text, len, 0};
  if (root && text) exact_numbers(root, &t);
}

/* cJSON's own printer writes a number in 15 digits when they compare equal
 * to it within an epsilon, so 0.30000000000000004 printed 0.3 and
 * 9007199254740991 9.00719925474099e+15: a payload stored that way ran its
 * job with other numbers than the client sent. This writes each number in
 * the shortest form that reads back as the same double. The tree is a
 * parsed message's (its depth checked before parsing). */
char *dorm__st_cjson_text(const cJSON *v, char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  dorm_jw w;
  dorm__jw_init(&w, 0);
  put_cjson(&w, v);
  const char *text = NULL;
  size_t n = 0;
  char *copy = NULL;
  dorm_status st = dorm__jw_finish(&w, &text, &n);
  if (st == DORM_OK && !(copy = malloc(n + 1))) st = DORM_ERR_NO_MEMORY;
  if (st == DORM_OK) {
    memcpy(copy, text, n);
    copy[n] = '\0';
  } else {
    dorm__fail(errbuf, errcap, st, "%s", st == DORM_ERR_NO_MEMORY ? "out of memory" : w.err);
  }
  dorm__jw_free(&w);
  return copy;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct rd {
  dorm_arena *a;
  char *errbuf;
  size_t errcap;
} rd;

#define RFAIL(r, p, ...) FAIL((r)->errbuf, (r)->errcap, (p), __VA_ARGS__)

static dorm_status no_memory(char *errbuf, size_t errcap) {
  return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory");
}

/* What a value of kind k must look like, for messages. */
static const char *expected(unsigned k) {
  switch (k) {
  case DORM_K_STRING: return "expected a string";
  case DORM_K_DECIMAL: return "expected a decimal number as a string";
  case DORM_K_INT: return "expected an integer";
  case DORM_K_EPOCH: return "expected an integer (seconds since the epoch)";
  case DORM_K_FLOAT: return "expected a number";
  case DORM_K_BOOL: return "expected true or false";
  case DORM_K_BYTES: return "expected a base64 string";
  case DORM_K_TIME: return "expected an RFC 3339 time";
  case DORM_K_JSON: return "expected a JSON value";
  case DORM_K_ENUM: return "expected a string";
  case DORM_K_STRUCT:
  case DORM_K_MAP: return "expected an object";
  case DORM_K_SET:
  case DORM_K_LIST: return "expected an array";
  default: return "unsupported type";
  }
}

/* The nesting depth of a JSON value (a scalar is 0, [] and {} are 1). Stops
 * counting past limit. */
static int cjson_depth(const cJSON *v, int limit) {
  if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) return 0;
  if (limit <= 0) return 1;
  int deepest = 0;
  for (const cJSON *c = v->child; c; c = c->next) {
    int d = cjson_depth(c, limit - 1);
    if (d > deepest) deepest = d;
    if (deepest >= limit) break;
  }
  return deepest + 1;
}

/* A copy of a JSON string's text in the arena, UTF-8 checked. */
static dorm_status take_string(rd *r, const cJSON *v, const mpath *p, const char **out, size_t *len) {
  const char *s = v->valuestring ? v->valuestring : "";
  size_t n = strlen(s), bad;
  if (!dorm__utf8_valid(s, n, &bad)) return RFAIL(r, p, "not valid UTF-8 (byte %zu)", bad);
  char *copy = dorm_arena_strndup(r->a, s, n);
  if (!copy) return no_memory(r->errbuf, r->errcap);
  *out = copy;
  if (len) *len = n;
  return DORM_OK;
}

static dorm_status read_struct(rd *r, const dorm_struct_desc *d, const cJSON *obj, void *out, const mpath *p,
                               int depth);
static dorm_status read_value(rd *r, const dorm_type_desc *t, const cJSON *v, void *dst, const mpath *p,
                              int depth);

/* An element of a set, list or map: null is absent for optional elements. */
static dorm_status read_elem(rd *r, const dorm_type_desc *e, const cJSON *v, void *dst, const mpath *p, int depth) {
  if (cJSON_IsNull(v) && (e->optional || e->kind != DORM_K_JSON)) {
    if (e->optional) return DORM_OK; /* the slot is zeroed: absent */
    return RFAIL(r, p, "%s, not null", expected(e->kind));
  }
  if (e->optional && !kind_is_pointer(e->kind)) {
    *(bool *)dst = true;
    dst = (char *)dst + e->opt_value_offset;
  }
  return read_value(r, e, v, dst, p, depth);
}

static dorm_status read_array(rd *r, const dorm_type_desc *t, const cJSON *v, void *dst, const mpath *p,
                              int depth) {
  if (!cJSON_IsArray(v)) return RFAIL(r, p, "%s", expected(t->kind));
  const dorm_type_desc *e = t->elem;
  size_t n = (size_t)cJSON_GetArraySize(v);
  char *items = dorm_arena_calloc(r->a, n ? n : 1, e->size);
  if (!items) return no_memory(r->errbuf, r->errcap);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    mpath ip = {p, MP_INDEX, NULL, i};
    dorm_status st = read_elem(r, e, c, items + i * e->size, &ip, depth);
    if (st != DORM_OK) return st;
  }
  dorm_array_view view = {items, n};
  /* a set holds each element once: ["a","a"] would be refused only by the
   * first write of it to DynamoDB, far from the client that sent it */
  char dup[96];
  if (t->kind == DORM_K_SET && dorm__model_set_dup(e, &view, dup, sizeof dup))
    return RFAIL(r, p, "a set holds each element once; %s is there twice", dup);
  memcpy(dst, &view, sizeof view);
  return DORM_OK;
}

static dorm_status read_map(rd *r, const dorm_type_desc *t, const cJSON *v, void *dst, const mpath *p, int depth) {
  if (!cJSON_IsObject(v)) return RFAIL(r, p, "%s", expected(t->kind));
  const dorm_type_desc *e = t->elem;
  size_t n = (size_t)cJSON_GetArraySize(v);
  const char **keys = dorm_arena_calloc(r->a, n ? n : 1, sizeof *keys);
  char *values = dorm_arena_calloc(r->a, n ? n : 1, e->size);
  if (!keys || !values) return no_memory(r->errbuf, r->errcap);
  size_t i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    const char *key = c->string ? c->string : "";
    size_t klen = strlen(key), bad;
    if (!dorm__utf8_valid(key, klen, &bad)) return RFAIL(r, p, "a key is not valid UTF-8 (byte %zu)", bad);
    keys[i] = dorm_arena_strndup(r->a, key, klen);
    if (!keys[i]) return no_memory(r->errbuf, r->errcap);
    mpath kp = {p, MP_KEY, keys[i], 0};
    dorm_status st = read_elem(r, e, c, values + i * e->size, &kp, depth);
    if (st != DORM_OK) return st;
  }
  dorm_map_view view = {keys, values, n};
  memcpy(dst, &view, sizeof view);
  return DORM_OK;
}

static dorm_status read_enum(rd *r, const dorm_type_desc *t, const cJSON *v, void *dst, const mpath *p) {
  const dorm_enum_desc *en = t->enum_;
  if (cJSON_IsString(v) && v->valuestring) {
    for (uint32_t i = 0; i < en->count; i++)
      if (strcmp(en->values[i], v->valuestring) == 0) {
        dorm__model_enum_set(t, dst, (int64_t)i + 1);
        return DORM_OK;
      }
  }
  char list[200];
  size_t o = 0;
  list[0] = '\0';
  for (uint32_t i = 0; i < en->count && o + 1 < sizeof list; i++) {
    int k = snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", en->values[i]);
    if (k < 0) break;
    o += (size_t)k;
    if (o >= sizeof list) o = sizeof list - 1;
  }
  return RFAIL(r, p, "expected one of %s (%s)", list, en->name);
}

static dorm_status read_json(rd *r, const cJSON *v, void *dst, const mpath *p, int depth) {
  if (depth + cjson_depth(v, PAYLOAD_MAX_DEPTH) > PAYLOAD_MAX_DEPTH)
    return RFAIL(r, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
  char why[160];
  char *text = dorm__st_cjson_text(v, why, sizeof why);
  if (!text) return RFAIL(r, p, "%s", why);
  model_sbuf canon;
  dorm__model_sbuf_init(&canon);
  dorm_status st = dorm__model_json_canonical(text, strlen(text), &canon, why, sizeof why);
  free(text);
  if (st == DORM_OK) {
    char *copy = dorm_arena_strndup(r->a, canon.p, canon.len);
    if (copy) set_str(dst, copy);
    else st = no_memory(r->errbuf, r->errcap);
  } else if (st == DORM_ERR_NO_MEMORY) {
    no_memory(r->errbuf, r->errcap);
  } else {
    st = RFAIL(r, p, "%s", why);
  }
  dorm__model_sbuf_free(&canon);
  return st;
}

/* v is not null (absence was decided by the caller). */
static dorm_status read_value(rd *r, const dorm_type_desc *t, const cJSON *v, void *dst, const mpath *p,
                              int depth) {
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_DECIMAL: {
    if (!cJSON_IsString(v)) return RFAIL(r, p, "%s", expected(t->kind));
    const char *s = NULL;
    size_t n = 0;
    dorm_status st = take_string(r, v, p, &s, &n);
    if (st != DORM_OK) return st;
    if (t->kind == DORM_K_DECIMAL) {
      const char *why = dorm__number_invalid_reason(s, n);
      if (why) return RFAIL(r, p, "expected a decimal number: \"%.40s\" is not one (%s)", s, why);
    }
    set_str(dst, s);
    return DORM_OK;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    /* cJSON reads numbers as doubles: past 2^53 the text's last digits are
     * gone (9007199254740993 reads as ...992, int64's maximum as 2^63), so
     * such a value is refused, never taken rounded. JavaScript's numbers
     * end at the same place; a larger id is a string or decimal field. */
    double d = cJSON_IsNumber(v) || cJSON_IsRaw(v) ? v->valuedouble : NAN;
    if (d != d) return RFAIL(r, p, "%s", expected(t->kind));
    if (d > MAX_EXACT_INT || d < -MAX_EXACT_INT)
      return RFAIL(r, p, "%s from -%.0f to %.0f (2^53-1): JSON numbers past them are not read exactly",
                   expected(t->kind), MAX_EXACT_INT, MAX_EXACT_INT);
    /* raw (dorm__st_exact_numbers): within the bound, a text that is no
     * integer although its double is one, 1.0000000000000001 */
    if ((double)(int64_t)d != d || cJSON_IsRaw(v)) return RFAIL(r, p, "%s", expected(t->kind));
    int64_t i = (int64_t)d;
    memcpy(dst, &i, sizeof i);
    return DORM_OK;
  }
  case DORM_K_FLOAT: {
    /* a raw number (more digits than a double holds) is taken as its double,
     * as the field's type says */
    if (!(cJSON_IsNumber(v) || cJSON_IsRaw(v)) || !isfinite(v->valuedouble))
      return RFAIL(r, p, "%s", expected(t->kind));
    double d = v->valuedouble;
    memcpy(dst, &d, sizeof d);
    return DORM_OK;
  }
  case DORM_K_BOOL:
    if (!cJSON_IsBool(v)) return RFAIL(r, p, "%s", expected(t->kind));
    *(bool *)dst = cJSON_IsTrue(v);
    return DORM_OK;
  case DORM_K_BYTES: {
    if (!cJSON_IsString(v) || !v->valuestring) return RFAIL(r, p, "%s", expected(t->kind));
    size_t n = strlen(v->valuestring), len = 0;
    uint8_t *data = dorm_arena_alloc(r->a, dorm__b64_decoded_max(n) + 1);
    if (!data) return no_memory(r->errbuf, r->errcap);
    if (!dorm__b64_decode(v->valuestring, n, data, &len, DORM_B64_STD, NULL))
      return RFAIL(r, p, "%s", expected(t->kind));
    dorm_bytes b = {data, len};
    memcpy(dst, &b, sizeof b);
    return DORM_OK;
  }
  case DORM_K_TIME: {
    int64_t ns;
    if (!cJSON_IsString(v) || !v->valuestring) return RFAIL(r, p, "%s", expected(t->kind));
    const char *s = v->valuestring;
    if (!dorm_time_parse(s, strlen(s), &ns)) {
      /* a well-formed time of another century says why it is refused */
      bool year = strlen(s) > 4 && s[4] == '-';
      for (int i = 0; i < 4 && year; i++) year = s[i] >= '0' && s[i] <= '9';
      int y = year ? (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') : 2000;
      if (y < 1678 || y > 2261)
        return RFAIL(r, p, "%s from 1678 to 2261 (nanoseconds since 1970 in 64 bits), not in %.4s", expected(t->kind),
                     s);
      return RFAIL(r, p, "%s", expected(t->kind));
    }
    memcpy(dst, &ns, sizeof ns);
    return DORM_OK;
  }
  case DORM_K_JSON: return read_json(r, v, dst, p, depth);
  case DORM_K_ENUM: return read_enum(r, t, v, dst, p);
  case DORM_K_STRUCT: return read_struct(r, t->struct_, v, dst, p, depth + 1);
  case DORM_K_SET:
  case DORM_K_LIST:
  case DORM_K_MAP:
    if (depth + 1 > PAYLOAD_MAX_DEPTH) return RFAIL(r, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
    return t->kind == DORM_K_MAP ? read_map(r, t, v, dst, p, depth + 1) : read_array(r, t, v, dst, p, depth + 1);
  default: return RFAIL(r, p, "%s", expected(t->kind));
  }
}

/* obj is the JSON object at `depth` (the payload itself is 1). */
static dorm_status read_struct(rd *r, const dorm_struct_desc *d, const cJSON *obj, void *out, const mpath *p,
                               int depth) {
  if (depth > PAYLOAD_MAX_DEPTH) return RFAIL(r, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
  if (!cJSON_IsObject(obj)) return RFAIL(r, p, "expected an object");
  for (uint32_t i = 0; i < d->nfields; i++) {
    const dorm_field_desc *f = &d->fields[i];
    const char *name = f->attr[DORM_NAMING_CAMEL];
    mpath fp = {p, MP_NAME, name, 0};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    /* null is "absent", except for a required json field, which takes
     * any JSON value: null is its value "null" */
    if (!v || (cJSON_IsNull(v) && ((f->flags & DORM_FF_OPTIONAL) || f->type.kind != DORM_K_JSON))) {
      if (f->flags & DORM_FF_OPTIONAL) continue;
      return RFAIL(r, &fp, "required");
    }
    dorm_status st = read_value(r, &f->type, v, field_ptr_mut(out, f), &fp, depth);
    if (st != DORM_OK) return st;
    if (f->has_offset >= 0) *((bool *)((char *)out + f->has_offset)) = true;
  }
  return DORM_OK;
}

dorm_status dorm_payload_from_cjson(const dorm_struct_desc *d, const struct cJSON *json, const char *path,
                                    dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  if (!d || !a || !obj)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "dorm_payload_from_cjson: %s is NULL",
                      !d ? "the descriptor" : !a ? "the arena" : "the object");
  memset(obj, 0, d->size);
  rd r = {a, errbuf, errcap};
  mpath root = {NULL, MP_NAME, path, 0};
  const mpath *p = path && *path ? &root : NULL;
  cJSON empty;
  memset(&empty, 0, sizeof empty);
  empty.type = cJSON_Object;
  if (!json || cJSON_IsNull(json)) json = &empty;
  dorm_status st = read_struct(&r, d, json, obj, p, 1);
  if (st != DORM_OK) memset(obj, 0, d->size);
  return st;
}

dorm_status dorm_payload_from_json(const dorm_struct_desc *d, const char *json, size_t len, const char *path,
                                   dorm_arena *a, void *obj, char *errbuf, size_t errcap) {
  if (!json)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "dorm_payload_from_json: the text is NULL");
  cJSON *root = NULL;
  char err[200];
  dorm_status st = dorm__json_parse(json, len, &root, err, sizeof err);
  if (st == DORM_ERR_NO_MEMORY) return no_memory(errbuf, errcap);
  if (st != DORM_OK)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s: not valid JSON: %s",
                      path && *path ? path : "(payload)", err);
  dorm__st_exact_numbers(root, json, len);
  st = dorm_payload_from_cjson(d, root, path, a, obj, errbuf, errcap);
  cJSON_Delete(root);
  return st;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct wr {
  dorm_jw w;
  char *errbuf;
  size_t errcap;
} wr;

#define WFAIL(c, p, ...) FAIL((c)->errbuf, (c)->errcap, (p), __VA_ARGS__)

/* The nesting depth of canonical JSON text (brackets outside strings). */
static int text_depth(const char *s, size_t n) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (in_string) {
      if (ch == '\\') i++;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > deepest) deepest = depth;
    } else if (ch == ']' || ch == '}') {
      depth--;
    }
  }
  return deepest;
}

static dorm_status write_struct(wr *c, const dorm_struct_desc *d, const void *obj, const mpath *p, int depth);
static dorm_status write_value(wr *c, const dorm_type_desc *t, const void *v, const mpath *p, int depth);

static dorm_status write_string(wr *c, const char *s, const mpath *p) {
  size_t n = strlen(s), bad;
  if (!dorm__utf8_valid(s, n, &bad)) return WFAIL(c, p, "not valid UTF-8 (byte %zu)", bad);
  dorm__jw_stringn(&c->w, s, n);
  return DORM_OK;
}

static dorm_status write_elem(wr *c, const dorm_type_desc *e, const void *ep, const mpath *p, int depth) {
  const void *vp = ep;
  if (e->optional) {
    bool present;
    if (e->kind == DORM_K_BYTES) present = ((const dorm_bytes *)ep)->data != NULL;
    else if (kind_is_pointer(e->kind)) present = const_str(ep) != NULL;
    else {
      present = *(const bool *)ep;
      vp = (const char *)ep + e->opt_value_offset;
    }
    if (!present) {
      dorm__jw_null(&c->w);
      return DORM_OK;
    }
  }
  return write_value(c, e, vp, p, depth);
}

static dorm_status write_value(wr *c, const dorm_type_desc *t, const void *v, const mpath *p, int depth) {
  switch (t->kind) {
  case DORM_K_STRING: {
    const char *s = const_str(v);
    if (!s) return WFAIL(c, p, "required");
    return write_string(c, s, p);
  }
  case DORM_K_DECIMAL: {
    const char *s = const_str(v);
    if (!s) return WFAIL(c, p, "required");
    const char *why = dorm__number_invalid_reason(s, strlen(s));
    if (why) return WFAIL(c, p, "\"%.40s\" is not a decimal number (%s)", s, why);
    dorm__jw_string(&c->w, s);
    return DORM_OK;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH:
  case DORM_K_TIME: {
    int64_t i;
    memcpy(&i, v, sizeof i);
    if (t->kind != DORM_K_TIME) {
      /* Past 2^53-1 a reader of doubles (JavaScript; cJSON, which keeps the
       * stored copy that get_result and resume send) would get another
       * number: refused, as on reading, rather than sent two ways. */
      if ((double)i > MAX_EXACT_INT || (double)i < -MAX_EXACT_INT)
        return WFAIL(c, p, "%lld is past -%.0f..%.0f (2^53-1), which JSON numbers carry exactly", (long long)i,
                     MAX_EXACT_INT, MAX_EXACT_INT);
      dorm__jw_int(&c->w, i);
    } else {
      char text[32];
      dorm_time_format(i, text);
      dorm__jw_string(&c->w, text);
    }
    return DORM_OK;
  }
  case DORM_K_FLOAT: {
    double d;
    memcpy(&d, v, sizeof d);
    char text[40];
    size_t n = dorm__number_format_double(d, text);
    if (!n) return WFAIL(c, p, "not a finite number");
    dorm__jw_number_text(&c->w, text, n);
    return DORM_OK;
  }
  case DORM_K_BOOL: dorm__jw_bool(&c->w, *(const bool *)v); return DORM_OK;
  case DORM_K_BYTES: {
    const dorm_bytes *b = (const dorm_bytes *)v;
    size_t n = b->data ? b->len : 0, enc = dorm__b64_encoded_len(n);
    if (enc == SIZE_MAX) return WFAIL(c, p, "too large");
    char *text = malloc(enc + 1);
    if (!text) return no_memory(c->errbuf, c->errcap);
    size_t k = dorm__b64_encode(b->data, n, text, DORM_B64_STD);
    dorm__jw_stringn(&c->w, text, k);
    free(text);
    return DORM_OK;
  }
  case DORM_K_JSON: {
    const char *s = const_str(v);
    if (!s) return WFAIL(c, p, "required");
    model_sbuf canon;
    dorm__model_sbuf_init(&canon);
    char why[160];
    dorm_status st = dorm__model_json_canonical(s, strlen(s), &canon, why, sizeof why);
    if (st == DORM_OK && depth + text_depth(canon.p, canon.len) > PAYLOAD_MAX_DEPTH)
      st = WFAIL(c, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
    else if (st == DORM_ERR_NO_MEMORY) no_memory(c->errbuf, c->errcap);
    else if (st != DORM_OK) st = WFAIL(c, p, "not valid JSON: %s", why);
    else dorm__jw_raw_value(&c->w, canon.p, canon.len);
    dorm__model_sbuf_free(&canon);
    return st;
  }
  case DORM_K_ENUM: {
    int64_t e = dorm__model_enum_get(t, v);
    if (e == 0) return WFAIL(c, p, "required");
    if (e < 1 || e > (int64_t)t->enum_->count)
      return WFAIL(c, p, "%lld is not a member of enum %s", (long long)e, t->enum_->name);
    dorm__jw_string(&c->w, t->enum_->values[e - 1]);
    return DORM_OK;
  }
  case DORM_K_STRUCT: return write_struct(c, t->struct_, v, p, depth + 1);
  case DORM_K_SET:
  case DORM_K_LIST: {
    if (depth + 1 > PAYLOAD_MAX_DEPTH) return WFAIL(c, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
    const dorm_array_view *a = (const dorm_array_view *)v;
    if (a->count && !a->items) return WFAIL(c, p, "%zu elements but no items", a->count);
    char dup[96];
    if (t->kind == DORM_K_SET && dorm__model_set_dup(t->elem, a, dup, sizeof dup))
      return WFAIL(c, p, "a set holds each element once; %s is there twice", dup);
    dorm__jw_begin_array(&c->w);
    for (size_t i = 0; i < a->count; i++) {
      mpath ip = {p, MP_INDEX, NULL, i};
      dorm_status st = write_elem(c, t->elem, (const char *)a->items + i * t->elem->size, &ip, depth + 1);
      if (st != DORM_OK) return st;
    }
    dorm__jw_end_array(&c->w);
    return DORM_OK;
  }
  case DORM_K_MAP: {
    if (depth + 1 > PAYLOAD_MAX_DEPTH) return WFAIL(c, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
    const dorm_map_view *m = (const dorm_map_view *)v;
    if (m->count && (!m->keys || !m->values)) return WFAIL(c, p, "%zu entries but no keys or values", m->count);
    dorm__jw_begin_object(&c->w);
    for (size_t i = 0; i < m->count; i++) {
      const char *key = m->keys[i];
      if (!key) return WFAIL(c, p, "key %zu is NULL", i);
      mpath kp = {p, MP_KEY, key, 0};
      size_t bad;
      if (!dorm__utf8_valid(key, strlen(key), &bad)) return WFAIL(c, &kp, "the key is not valid UTF-8");
      dorm__jw_key(&c->w, key);
      dorm_status st = write_elem(c, t->elem, (const char *)m->values + i * t->elem->size, &kp, depth + 1);
      if (st != DORM_OK) return st;
    }
    dorm__jw_end_object(&c->w);
    return DORM_OK;
  }
  default: return WFAIL(c, p, "unsupported type");
  }
}

static dorm_status write_struct(wr *c, const dorm_struct_desc *d, const void *obj, const mpath *p, int depth) {
  if (depth > PAYLOAD_MAX_DEPTH) return WFAIL(c, p, "nested deeper than %d levels", PAYLOAD_MAX_DEPTH);
  dorm__jw_begin_object(&c->w);
  for (uint32_t i = 0; i < d->nfields; i++) {
    const dorm_field_desc *f = &d->fields[i];
    const char *name = f->attr[DORM_NAMING_CAMEL];
    mpath fp = {p, MP_NAME, name, 0};
    const void *v = field_ptr(obj, f);
    if (f->flags & DORM_FF_OPTIONAL) {
      if (!model_field_present(f, obj)) continue;
    } else if (kind_is_pointer(f->type.kind) && f->type.kind != DORM_K_BYTES && !const_str(v)) {
      return WFAIL(c, &fp, "required");
    }
    dorm__jw_key(&c->w, name);
    dorm_status st = write_value(c, &f->type, v, &fp, depth);
    if (st != DORM_OK) return st;
  }
  dorm__jw_end_object(&c->w);
  return DORM_OK;
}

dorm_status dorm_payload_to_json(const dorm_struct_desc *d, const void *obj, dorm_arena *a, const char **json,
                                 size_t *len, char *errbuf, size_t errcap) {
  if (errbuf && errcap) errbuf[0] = '\0';
  if (json) *json = NULL;
  if (len) *len = 0;
  if (!d || !obj || !a || !json)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "dorm_payload_to_json: %s is NULL",
                      !d ? "the descriptor" : !obj ? "the object" : !a ? "the arena" : "json");
  wr c;
  c.errbuf = errbuf;
  c.errcap = errcap;
  dorm__jw_init(&c.w, 0);
  mpath root = {NULL, MP_NAME, d->name, 0};
  dorm_status st = write_struct(&c, d, obj, &root, 1);
  const char *text = NULL;
  size_t n = 0;
  if (st == DORM_OK) {
    st = dorm__jw_finish(&c.w, &text, &n);
    if (st != DORM_OK) dorm__fail(errbuf, errcap, st, "%s: %s", d->name ? d->name : "payload", c.w.err);
  }
  if (st == DORM_OK) {
    char *copy = dorm_arena_strndup(a, text, n);
    if (!copy) {
      st = no_memory(errbuf, errcap);
    } else {
      *json = copy;
      if (len) *len = n;
    }
  }
  dorm__jw_free(&c.w);
  return st;
}
