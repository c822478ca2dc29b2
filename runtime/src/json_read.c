/* DynamoDB JSON -> dorm_av. */
#include "json_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "number.h"
#include "utf8.h"

/* ---- error context ---- */

typedef struct rpath {
  const struct rpath *parent;
  const char *name; /* NULL for an index */
  size_t index;
} rpath;

typedef struct reader {
  dorm_arena *arena;
  char *err;
  size_t errcap;
} reader;

static void path_text(const rpath *p, char *buf, size_t cap) {
  const rpath *chain[DORM_READ_MAX_DEPTH * 2 + 8];
  size_t n = 0, o = 0;
  for (; p && n < sizeof chain / sizeof chain[0]; p = p->parent) chain[n++] = p;
  buf[0] = '\0';
  while (n-- > 0 && o + 1 < cap) {
    int k = chain[n]->name ? snprintf(buf + o, cap - o, "%s%.64s", o ? "." : "", chain[n]->name)
                           : snprintf(buf + o, cap - o, "[%zu]", chain[n]->index);
    if (k < 0) break;
    o += (size_t)k;
    if (o >= cap) o = cap - 1;
  }
  if (!buf[0]) snprintf(buf, cap, "(value)");
}

static dorm_status fail(reader *r, const rpath *p, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static dorm_status fail(reader *r, const rpath *p, dorm_status st, const char *fmt, ...) {
  if (r->err && r->errcap) {
    char path[160], what[224];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    path_text(p, path, sizeof path);
    snprintf(r->err, r->errcap, "%s: %s", path, what);
  }
  return st;
}

static dorm_status oom(reader *r, const rpath *p) {
  return fail(r, p, DORM_ERR_NO_MEMORY, "out of memory");
}

/* ---- parsing ---- */

/* True when the text holds a \u0000 escape (odd run of backslashes before u0000). */
static bool has_nul_escape(const char *s, size_t len) {
  const char *end = s + len, *p = s;
  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
    const char *q = p;
    while (q < end && *q == '\\') q++;
    if (((q - p) & 1) && end - q >= 5 && memcmp(q, "u0000", 5) == 0) return true;
    p = q;
  }
  return false;
}

dorm_status dorm_json_parse(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap) {
  const char *end = NULL;
  *root = NULL;
  if (!json || len == 0) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "empty JSON body");
    return DORM_ERR_BAD_RESPONSE;
  }
  cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, false);
  if (!j) {
    /* cJSON also fails this way past CJSON_NESTING_LIMIT and when out of memory;
     * neither is distinguishable, and both mean we cannot use the body. */
    size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
    if (errbuf && errcap)
      snprintf(errbuf, errcap, "malformed JSON at byte %zu of %zu (or nested deeper than %d)", off, len,
               CJSON_NESTING_LIMIT);
    return DORM_ERR_BAD_RESPONSE;
  }
  while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
  if (end && end < json + len && *end != '\0') {
    cJSON_Delete(j);
    if (errbuf && errcap)
      snprintf(errbuf, errcap, "unexpected data after the JSON value at byte %zu", (size_t)(end - json));
    return DORM_ERR_BAD_RESPONSE;
  }
  if (has_nul_escape(json, len)) {
    cJSON_Delete(j);
    if (errbuf && errcap)
      snprintf(errbuf, errcap, "a string contains U+0000, which this reader cannot represent");
    return DORM_ERR_BAD_RESPONSE;
  }
  *root = j;
  return DORM_OK;
}

/* ---- conversion ---- */

static dorm_status conv_value(reader *r, const cJSON *j, dorm_av *out, const rpath *p, int depth);

static dorm_status copy_utf8(reader *r, const char *s, dorm_str *out, const rpath *p, const char *what) {
  size_t len = strlen(s), bad = 0;
  if (!dorm_utf8_valid(s, len, &bad))
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "%s is not valid UTF-8 (byte %zu)", what, bad);
  char *c = dorm_arena_memdup(r->arena, s, len + 1);
  if (!c) return oom(r, p);
  out->ptr = c;
  out->len = len;
  return DORM_OK;
}

static dorm_status copy_text(reader *r, const cJSON *j, dorm_str *out, const rpath *p, const char *what) {
  if (!cJSON_IsString(j) || !j->valuestring)
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "%s must be a JSON string", what);
  return copy_utf8(r, j->valuestring, out, p, what);
}

static dorm_status copy_number(reader *r, const cJSON *j, dorm_str *out, const rpath *p) {
  dorm_status st = copy_text(r, j, out, p, "an N value");
  if (st != DORM_OK) return st;
  const char *why = dorm_number_invalid_reason(out->ptr, out->len);
  if (why)
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "N value \"%.48s\" is not a valid number: %s", out->ptr, why);
  return DORM_OK;
}

static dorm_status copy_binary(reader *r, const cJSON *j, dorm_str *out, const rpath *p) {
  if (!cJSON_IsString(j) || !j->valuestring)
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "a B value must be a base64 JSON string");
  size_t len = strlen(j->valuestring), n = 0, bad = 0;
  uint8_t *buf = dorm_arena_alloc_aligned(r->arena, dorm_b64_decoded_max(len), 1);
  if (!buf) return oom(r, p);
  if (!dorm_b64_decode(j->valuestring, len, buf, &n, DORM_B64_STD, &bad))
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "B value is not valid base64 (at character %zu)", bad);
  out->ptr = (const char *)buf;
  out->len = n;
  return DORM_OK;
}

static size_t count_children(const cJSON *j) {
  size_t n = 0;
  for (const cJSON *c = j->child; c; c = c->next) n++;
  return n;
}

static int cmp_entry(const void *x, const void *y) {
  const dorm_av_entry *a = *(const dorm_av_entry *const *)x, *b = *(const dorm_av_entry *const *)y;
  if (a->name.len != b->name.len) return a->name.len < b->name.len ? -1 : 1;
  return memcmp(a->name.ptr, b->name.ptr, a->name.len);
}

static bool same_name(const dorm_av_entry *a, const dorm_av_entry *b) {
  return a->name.len == b->name.len && memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0;
}

/* Returns the index of an entry whose name repeats an earlier one, or count.
 * Small maps compare pairwise, typical items use a hash table on the stack,
 * huge maps sort. */
static size_t find_duplicate(const dorm_av_entry *e, size_t count) {
  if (count > 8 && count <= 512) {
    uint16_t slots[1024];
    size_t cap = 16;
    while (cap < 2 * count) cap *= 2;
    memset(slots, 0xFF, cap * sizeof slots[0]);
    for (size_t i = 0; i < count; i++) {
      uint32_t h = 2166136261u; /* FNV-1a */
      for (size_t k = 0; k < e[i].name.len; k++) h = (h ^ (unsigned char)e[i].name.ptr[k]) * 16777619u;
      size_t at = h & (cap - 1);
      while (slots[at] != 0xFFFF) {
        if (same_name(&e[slots[at]], &e[i])) return i;
        at = (at + 1) & (cap - 1);
      }
      slots[at] = (uint16_t)i;
    }
    return count;
  }
  if (count <= 8) {
    for (size_t i = 1; i < count; i++)
      for (size_t k = 0; k < i; k++)
        if (same_name(&e[i], &e[k])) return i;
    return count;
  }
  const dorm_av_entry **idx = malloc(count * sizeof *idx);
  if (!idx) return count; /* best effort: the check is an extra, not a requirement */
  for (size_t i = 0; i < count; i++) idx[i] = &e[i];
  qsort(idx, count, sizeof *idx, cmp_entry);
  size_t dup = count;
  for (size_t i = 1; i < count && dup == count; i++)
    if (cmp_entry(&idx[i - 1], &idx[i]) == 0) dup = (size_t)(idx[i] - e);
  free(idx);
  return dup;
}

static dorm_status conv_members(reader *r, const cJSON *obj, dorm_av *out, const rpath *p, int depth) {
  if (!cJSON_IsObject(obj)) return fail(r, p, DORM_ERR_BAD_RESPONSE, "expected an object of attributes");
  size_t n = count_children(obj);
  out->type = DORM_AV_M;
  out->u.map.items = NULL;
  out->u.map.count = out->u.map.cap = 0;
  if (n == 0) return DORM_OK;
  dorm_av_entry *items = dorm_arena_alloc(r->arena, n * sizeof *items);
  if (!items) return oom(r, p);
  size_t i = 0;
  for (const cJSON *c = obj->child; c; c = c->next, i++) {
    rpath seg = {p, c->string ? c->string : "", 0};
    if (!c->string) return fail(r, &seg, DORM_ERR_BAD_RESPONSE, "member without a name");
    dorm_status st = copy_utf8(r, c->string, &items[i].name, &seg, "attribute name");
    if (st != DORM_OK) return st;
    st = conv_value(r, c, &items[i].value, &seg, depth + 1);
    if (st != DORM_OK) return st;
  }
  size_t dup = find_duplicate(items, n);
  if (dup != n) {
    rpath seg = {p, items[dup].name.ptr, 0};
    return fail(r, &seg, DORM_ERR_BAD_RESPONSE, "attribute appears twice in one map");
  }
  out->u.map.items = items;
  out->u.map.count = out->u.map.cap = n;
  return DORM_OK;
}

static dorm_status conv_set(reader *r, const cJSON *arr, dorm_av *out, dorm_av_type type, const rpath *p) {
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  if (!cJSON_IsArray(arr))
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "a %s value must be a JSON array", names[type]);
  size_t n = count_children(arr);
  if (n == 0) return fail(r, p, DORM_ERR_BAD_RESPONSE, "a %s value must not be empty", names[type]);
  dorm_str *items = dorm_arena_alloc(r->arena, n * sizeof *items);
  if (!items) return oom(r, p);
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    rpath seg = {p, NULL, i};
    dorm_status st = type == DORM_AV_SS   ? copy_text(r, c, &items[i], &seg, "an SS element")
                     : type == DORM_AV_NS ? copy_number(r, c, &items[i], &seg)
                                          : copy_binary(r, c, &items[i], &seg);
    if (st != DORM_OK) return st;
  }
  out->type = type;
  out->u.set.items = items;
  out->u.set.count = out->u.set.cap = n;
  return DORM_OK;
}

static dorm_status conv_list(reader *r, const cJSON *arr, dorm_av *out, const rpath *p, int depth) {
  if (!cJSON_IsArray(arr)) return fail(r, p, DORM_ERR_BAD_RESPONSE, "an L value must be a JSON array");
  size_t n = count_children(arr);
  dorm_av *items = NULL;
  if (n) {
    items = dorm_arena_alloc(r->arena, n * sizeof *items);
    if (!items) return oom(r, p);
  }
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    rpath seg = {p, NULL, i};
    dorm_status st = conv_value(r, c, &items[i], &seg, depth + 1);
    if (st != DORM_OK) return st;
  }
  out->type = DORM_AV_L;
  out->u.list.items = items;
  out->u.list.count = out->u.list.cap = n;
  return DORM_OK;
}

static dorm_status conv_value(reader *r, const cJSON *j, dorm_av *out, const rpath *p, int depth) {
  memset(out, 0, sizeof *out);
  if (depth > DORM_READ_MAX_DEPTH)
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
  if (!cJSON_IsObject(j))
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "an AttributeValue must be an object like {\"S\":\"...\"}");
  const cJSON *v = j->child;
  if (!v) return fail(r, p, DORM_ERR_BAD_RESPONSE, "AttributeValue has no type key");
  if (v->next)
    return fail(r, p, DORM_ERR_BAD_RESPONSE, "AttributeValue has more than one type key (\"%.16s\", \"%.16s\")",
                v->string ? v->string : "", v->next->string ? v->next->string : "");
  const char *k = v->string ? v->string : "";
  switch (k[0]) {
  case 'S':
    if (!k[1]) { out->type = DORM_AV_S; return copy_text(r, v, &out->u.s, p, "an S value"); }
    if (k[1] == 'S' && !k[2]) return conv_set(r, v, out, DORM_AV_SS, p);
    break;
  case 'N':
    if (!k[1]) { out->type = DORM_AV_N; return copy_number(r, v, &out->u.s, p); }
    if (k[1] == 'S' && !k[2]) return conv_set(r, v, out, DORM_AV_NS, p);
    if (strcmp(k, "NULL") == 0) {
      if (!cJSON_IsTrue(v)) return fail(r, p, DORM_ERR_BAD_RESPONSE, "a NULL value must be true");
      out->type = DORM_AV_NULL;
      return DORM_OK;
    }
    break;
  case 'B':
    if (!k[1]) { out->type = DORM_AV_B; return copy_binary(r, v, &out->u.s, p); }
    if (k[1] == 'S' && !k[2]) return conv_set(r, v, out, DORM_AV_BS, p);
    if (strcmp(k, "BOOL") == 0) {
      if (!cJSON_IsBool(v)) return fail(r, p, DORM_ERR_BAD_RESPONSE, "a BOOL value must be true or false");
      out->type = DORM_AV_BOOL;
      out->u.boolean = cJSON_IsTrue(v);
      return DORM_OK;
    }
    break;
  case 'L':
    if (!k[1]) return conv_list(r, v, out, p, depth);
    break;
  case 'M':
    if (!k[1]) {
      if (!cJSON_IsObject(v)) return fail(r, p, DORM_ERR_BAD_RESPONSE, "an M value must be a JSON object");
      return conv_members(r, v, out, p, depth);
    }
    break;
  }
  return fail(r, p, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"%.16s\"", k);
}

dorm_status dorm_json_to_av(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where, char *errbuf,
                            size_t errcap) {
  reader r = {a, errbuf, errcap};
  rpath root = {NULL, where, 0};
  return conv_value(&r, j, out, where ? &root : NULL, 0);
}

dorm_status dorm_json_to_item(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where, char *errbuf,
                              size_t errcap) {
  reader r = {a, errbuf, errcap};
  rpath root = {NULL, where, 0};
  memset(out, 0, sizeof *out);
  return conv_members(&r, j, out, where ? &root : NULL, 0);
}

dorm_status dorm_json_member_item(const cJSON *obj, const char *member, dorm_arena *a, dorm_av *out,
                                  bool *found, char *errbuf, size_t errcap) {
  *out = dorm_av_empty(DORM_AV_M);
  if (found) *found = false;
  const cJSON *m = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, member) : NULL;
  if (!m) return DORM_OK;
  if (found) *found = true;
  return dorm_json_to_item(m, a, out, member, errbuf, errcap);
}

dorm_status dorm_json_member_items(const cJSON *obj, const char *member, dorm_arena *a, dorm_av **items,
                                   size_t *count, char *errbuf, size_t errcap) {
  reader r = {a, errbuf, errcap};
  rpath root = {NULL, member, 0};
  *items = NULL;
  *count = 0;
  const cJSON *arr = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, member) : NULL;
  if (!arr) return DORM_OK;
  if (!cJSON_IsArray(arr)) return fail(&r, &root, DORM_ERR_BAD_RESPONSE, "expected an array of items");
  size_t n = count_children(arr);
  if (n == 0) return DORM_OK;
  dorm_av *out = dorm_arena_alloc(a, n * sizeof *out);
  if (!out) return oom(&r, &root);
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    rpath seg = {&root, NULL, i};
    memset(&out[i], 0, sizeof out[i]);
    dorm_status st = conv_members(&r, c, &out[i], &seg, 0);
    if (st != DORM_OK) return st;
  }
  *items = out;
  *count = n;
  return DORM_OK;
}

/* ---- public one-shot parsers (declared in dorm/av.h) ---- */

static dorm_status from_json(const char *json, size_t len, bool item, dorm_arena *a, dorm_av *out,
                             char *errbuf, size_t errcap) {
  cJSON *root = NULL;
  dorm_status st = dorm_json_parse(json, len, &root, errbuf, errcap);
  if (st != DORM_OK) return st;
  st = item ? dorm_json_to_item(root, a, out, NULL, errbuf, errcap)
            : dorm_json_to_av(root, a, out, NULL, errbuf, errcap);
  cJSON_Delete(root);
  return st;
}

dorm_status dorm_av_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                              size_t errcap) {
  return from_json(json, len, false, a, out, errbuf, errcap);
}

dorm_status dorm_item_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                                size_t errcap) {
  return from_json(json, len, true, a, out, errbuf, errcap);
}
