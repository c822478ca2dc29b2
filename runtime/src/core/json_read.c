/* DynamoDB JSON -> dorm_av, through cJSON. */
#include "json_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "number.h"
#include "text.h"
#include "utf8.h"

/* ---- error context ---- */

void dorm__jr_path_text(const jr_path *p, char *buf, size_t cap) {
  const jr_path *chain[DORM_READ_MAX_DEPTH * 2 + 8];
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

dorm_status dorm__jr_fail(jr_reader *r, const jr_path *p, dorm_status st, const char *fmt, ...) {
  if (r->err && r->errcap) {
    char path[160];
    dorm__jr_path_text(p, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    dorm__vset_err_prefixed(r->err, r->errcap, path, fmt, ap);
    va_end(ap);
  }
  return st;
}

static dorm_status oom(jr_reader *r, const jr_path *p) { return dorm__jr_fail(r, p, DORM_ERR_NO_MEMORY, "out of memory"); }

void dorm__jr_init(jr_reader *r, dorm_arena *a, size_t text_len, char *errbuf, size_t errcap) {
  r->arena = a;
  r->pool = r->pool_end = NULL;
  r->err = errbuf;
  r->errcap = errcap;
  if (text_len && a && (r->pool = dorm_arena_alloc_aligned(a, text_len, 1)) != NULL) r->pool_end = r->pool + text_len;
}

/* ---- parsing ---- */

static bool hex4(const char *s) {
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

/* The backslash of the first \u escape that cJSON turns into a NUL byte
 * (cutting its string short): "\u0000" itself, and a \u without four hex
 * digits. NULL when there is none. The text is one cJSON accepted, so every
 * backslash stands inside a string and runs of them pair up from the left. */
static const char *bad_escape(const char *s, size_t len, bool *nul) {
  const char *end = s + len, *p = s;
  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
    const char *q = p;
    while (q < end && *q == '\\') q++;
    if (((q - p) & 1) && q < end && *q == 'u') {
      bool complete = end - q >= 5 && hex4(q + 1);
      *nul = complete && memcmp(q + 1, "0000", 4) == 0;
      if (!complete || *nul) return q - 1;
    }
    p = q;
  }
  return NULL;
}

/* Finding, for an error message, the value that holds the string token
 * number `k` (counted in document order, member names included). */
typedef struct locate {
  size_t k;
  bool is_name;
  char *path;
  size_t cap;
} locate;

static bool locate_in(const cJSON *j, const jr_path *p, locate *L) {
  if (jr_is_string(j)) {
    if (L->k == 0) {
      dorm__jr_path_text(p, L->path, L->cap);
      return true;
    }
    L->k--;
    return false;
  }
  if (jr_is_array(j)) {
    size_t i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
      jr_path seg = {p, NULL, i};
      if (locate_in(c, &seg, L)) return true;
    }
  } else if (jr_is_object(j)) {
    /* An AttributeValue's type key adds nothing to the path ("Item.name",
     * as the converters name it, not "Item.name.S"). */
    bool av = j->child && !j->child->next && jr_type_of(j->child->string) != DORM_AV_INVALID;
    for (const cJSON *c = j->child; c; c = c->next) {
      if (L->k == 0) {
        dorm__jr_path_text(p, L->path, L->cap);
        L->is_name = true;
        return true;
      }
      L->k--;
      jr_path seg = {p, c->string ? c->string : "", 0};
      if (locate_in(c, av ? p : &seg, L)) return true;
    }
  }
  return false;
}

static void escape_error(const cJSON *root, const char *json, const char *at, bool nul, char *errbuf,
                         size_t errcap) {
  /* Which string token holds `at`: count the quotes before it that open or
   * close a string (an escaped character is skipped with its backslash). */
  size_t quotes = 0;
  for (const char *p = json; p < at; p++) {
    if (*p == '\\') p++;
    else if (*p == '"') quotes++;
  }
  char path[160] = "(value)";
  locate L = {quotes / 2, false, path, sizeof path};
  locate_in(root, NULL, &L);
  snprintf(errbuf, errcap, "%s: %s %s", path, L.is_name ? "a member name" : "a string",
           nul ? "contains U+0000 (\\u0000), which this reader cannot represent"
               : "has a \\u escape without four hex digits");
}

dorm_status dorm__json_parse(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap) {
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
  size_t used = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
  bool nul = false;
  const char *bad = bad_escape(json, used, &nul);
  if (bad) {
    if (errbuf && errcap) escape_error(j, json, bad, nul, errbuf, errcap);
    cJSON_Delete(j);
    return DORM_ERR_BAD_RESPONSE;
  }
  *root = j;
  return DORM_OK;
}

/* ---- the reader's values ---- */

dorm_status dorm__jr_av_fail(jr_reader *r, const cJSON *j, const jr_path *p, int depth) {
  if (depth > DORM_READ_MAX_DEPTH)
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
  if (!jr_is_object(j))
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "an AttributeValue must be an object like {\"S\":\"...\"}");
  const cJSON *v = j->child;
  if (!v) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "AttributeValue has no type key");
  if (v->next)
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "AttributeValue has more than one type key (\"%.16s\", \"%.16s\")",
                   v->string ? v->string : "", v->next->string ? v->next->string : "");
  return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"%.16s\"", v->string ? v->string : "");
}

/* Copies n bytes and a NUL, and says whether they are all ASCII: the copy
 * and the usual text's whole UTF-8 check in one pass, in words (the last
 * word overlaps the one before it rather than finishing byte by byte). */
static inline bool copy_ascii(char *dst, const char *src, size_t n) {
  uint64_t acc = 0;
  if (n >= 8) {
    uint64_t x;
    for (size_t i = 0; i + 8 < n; i += 8) {
      memcpy(&x, src + i, 8);
      memcpy(dst + i, &x, 8);
      acc |= x;
    }
    memcpy(&x, src + n - 8, 8);
    memcpy(dst + n - 8, &x, 8);
    acc |= x;
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, src, 4);
    memcpy(&b, src + n - 4, 4);
    memcpy(dst, &a, 4);
    memcpy(dst + n - 4, &b, 4);
    acc = a | b;
  } else if (n) {
    unsigned char a = (unsigned char)src[0], b = (unsigned char)src[n / 2], c = (unsigned char)src[n - 1];
    dst[0] = (char)a;
    dst[n / 2] = (char)b;
    dst[n - 1] = (char)c;
    acc = a | b | c;
  }
  dst[n] = '\0';
  return (acc & UINT64_C(0x8080808080808080)) == 0;
}

dorm_status dorm__jr_copy_text(jr_reader *r, const char *s, const jr_path *p, const char *what, dorm_str *out) {
  size_t len = strlen(s), bad = 0;
  char *c = jr_bytes(r, len + 1);
  if (!c) return oom(r, p);
  if (!copy_ascii(c, s, len) && !dorm__utf8_valid(c, len, &bad))
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "%s is not valid UTF-8 (byte %zu)", what, bad);
  out->ptr = c;
  out->len = len;
  return DORM_OK;
}

dorm_status dorm__jr_text(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out) {
  if (!jr_is_string(v)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "%s must be a JSON string", what);
  return dorm__jr_copy_text(r, v->valuestring, p, what, out);
}

dorm_status dorm__jr_number(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out) {
  if (!jr_is_string(v)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "%s must be a JSON string", what);
  const char *s = v->valuestring;
  size_t len = strlen(s), bad = 0;
  /* A valid number is ASCII: its UTF-8 needs checking only to word the error. */
  const char *why = dorm__number_invalid_reason(s, len);
  if (why) {
    if (!dorm__utf8_valid(s, len, &bad))
      return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "%s is not valid UTF-8 (byte %zu)", what, bad);
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "N value \"%.48s\" is not a valid number: %s", s, why);
  }
  char *c = jr_bytes(r, len + 1);
  if (!c) return oom(r, p);
  memcpy(c, s, len + 1);
  out->ptr = c;
  out->len = len;
  return DORM_OK;
}

dorm_status dorm__jr_binary(jr_reader *r, const cJSON *v, const jr_path *p, const char *what, dorm_str *out) {
  if (!jr_is_string(v))
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "%s must be a base64 JSON string", what);
  size_t len = strlen(v->valuestring), n = 0, bad = 0;
  uint8_t *buf = (uint8_t *)jr_bytes(r, dorm__b64_decoded_max(len) + 1);
  if (!buf) return oom(r, p);
  if (!dorm__b64_decode(v->valuestring, len, buf, &n, DORM_B64_STD, &bad))
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "B value is not valid base64 (at character %zu)", bad);
  buf[n] = 0;
  out->ptr = (const char *)buf;
  out->len = n;
  return DORM_OK;
}

/* ---- duplicates ---- */

#define NAME_AT(base, stride, i) ((const dorm_str *)((const char *)(base) + (i) * (stride)))

static int cmp_name(const void *x, const void *y) {
  const dorm_str *a = *(const dorm_str *const *)x, *b = *(const dorm_str *const *)y;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return memcmp(a->ptr, b->ptr, a->len);
}

static bool same_name(const dorm_str *a, const dorm_str *b) {
  return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* A hash of a name from its first and last eight bytes and its length
 * (a collision costs one more comparison, never a wrong answer). */
static inline size_t name_hash(const char *p, size_t n) {
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    memcpy(&a, p, 8);
    memcpy(&b, p + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x, y;
    memcpy(&x, p, 4);
    memcpy(&y, p + n - 4, 4);
    a = x;
    b = y;
  } else if (n) {
    a = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 | (uint64_t)(unsigned char)p[n - 1] << 16;
  }
  uint64_t h = (a ^ (b * UINT64_C(0x9E3779B97F4A7C15)) ^ n) * UINT64_C(0xff51afd7ed558ccd);
  return (size_t)(h ^ (h >> 29));
}

/* Small maps compare pairwise, typical items use a hash table on the stack,
 * huge maps sort. */
DORM__HOT
size_t dorm__jr_find_duplicate(const void *names, size_t count, size_t stride) {
  if (count > 8 && count <= 512) {
    uint16_t slots[1024];
    size_t cap = 16;
    while (cap < 2 * count) cap *= 2;
    memset(slots, 0xFF, cap * sizeof slots[0]);
    for (size_t i = 0; i < count; i++) {
      const dorm_str *n = NAME_AT(names, stride, i);
      size_t at = name_hash(n->ptr, n->len) & (cap - 1);
      while (slots[at] != 0xFFFF) {
        if (same_name(NAME_AT(names, stride, slots[at]), n)) return i;
        at = (at + 1) & (cap - 1);
      }
      slots[at] = (uint16_t)i;
    }
    return count;
  }
  if (count <= 8) {
    for (size_t i = 1; i < count; i++)
      for (size_t k = 0; k < i; k++)
        if (same_name(NAME_AT(names, stride, i), NAME_AT(names, stride, k))) return i;
    return count;
  }
  const dorm_str **idx = malloc(count * sizeof *idx);
  if (!idx) return count; /* best effort: the check is an extra, not a requirement */
  for (size_t i = 0; i < count; i++) idx[i] = NAME_AT(names, stride, i);
  qsort(idx, count, sizeof *idx, cmp_name);
  size_t dup = count;
  for (size_t i = 1; i < count; i++)
    if (cmp_name(&idx[i - 1], &idx[i]) == 0) {
      /* the later of the two in the map */
      size_t a = (size_t)((const char *)idx[i - 1] - (const char *)names) / stride;
      size_t b = (size_t)((const char *)idx[i] - (const char *)names) / stride;
      size_t later = a > b ? a : b;
      if (later < dup) dup = later;
    }
  free(idx);
  return dup;
}

/* ---- conversion ---- */

dorm_status dorm__jr_members(jr_reader *r, const cJSON *obj, const jr_path *p, int depth, dorm_av *out) {
  out->type = DORM_AV_M;
  out->u.map.items = NULL;
  out->u.map.count = out->u.map.cap = 0;
  if (!jr_is_object(obj)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "expected an object of attributes");
  size_t n = jr_count(obj);
  if (n == 0) return DORM_OK;
  dorm_av_entry *items = dorm_arena_alloc(r->arena, n * sizeof *items);
  if (!items) return oom(r, p);
  size_t i = 0;
  for (const cJSON *c = obj->child; c; c = c->next, i++) {
    jr_path seg = {p, c->string ? c->string : "", 0};
    if (!c->string) return dorm__jr_fail(r, &seg, DORM_ERR_BAD_RESPONSE, "member without a name");
    dorm_status st = dorm__jr_copy_text(r, c->string, &seg, "attribute name", &items[i].name);
    if (st == DORM_OK) st = dorm__jr_value(r, c, &seg, depth + 1, &items[i].value);
    if (st != DORM_OK) return st;
  }
  size_t dup = dorm__jr_find_duplicate(items, n, sizeof *items);
  if (dup != n) {
    jr_path seg = {p, items[dup].name.ptr, 0};
    return dorm__jr_fail(r, &seg, DORM_ERR_BAD_RESPONSE, "attribute appears twice in one map");
  }
  out->u.map.items = items;
  out->u.map.count = out->u.map.cap = n;
  return DORM_OK;
}

static dorm_status conv_set(jr_reader *r, const cJSON *arr, dorm_av *out, dorm_av_type type, const jr_path *p) {
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  static const char *const elems[] = {[DORM_AV_SS] = "an SS element", [DORM_AV_NS] = "an NS element",
                                      [DORM_AV_BS] = "a BS element"};
  if (!jr_is_array(arr))
    return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "a %s value must be a JSON array", names[type]);
  size_t n = jr_count(arr);
  if (n == 0) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "a %s value must not be empty", names[type]);
  dorm_str *items = dorm_arena_alloc(r->arena, n * sizeof *items);
  if (!items) return oom(r, p);
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    jr_path seg = {p, NULL, i};
    dorm_status st = type == DORM_AV_SS   ? dorm__jr_text(r, c, &seg, elems[type], &items[i])
                     : type == DORM_AV_NS ? dorm__jr_number(r, c, &seg, elems[type], &items[i])
                                          : dorm__jr_binary(r, c, &seg, elems[type], &items[i]);
    if (st != DORM_OK) return st;
  }
  out->type = type;
  out->u.set.items = items;
  out->u.set.count = out->u.set.cap = n;
  return DORM_OK;
}

static dorm_status conv_list(jr_reader *r, const cJSON *arr, dorm_av *out, const jr_path *p, int depth) {
  if (!jr_is_array(arr)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "an L value must be a JSON array");
  size_t n = jr_count(arr);
  dorm_av *items = NULL;
  if (n) {
    items = dorm_arena_alloc(r->arena, n * sizeof *items);
    if (!items) return oom(r, p);
  }
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    jr_path seg = {p, NULL, i};
    dorm_status st = dorm__jr_value(r, c, &seg, depth + 1, &items[i]);
    if (st != DORM_OK) return st;
  }
  out->type = DORM_AV_L;
  out->u.list.items = items;
  out->u.list.count = out->u.list.cap = n;
  return DORM_OK;
}

dorm_status dorm__jr_value(jr_reader *r, const cJSON *j, const jr_path *p, int depth, dorm_av *out) {
  memset(out, 0, sizeof *out);
  dorm_av_type type = DORM_AV_INVALID;
  const cJSON *v = NULL;
  dorm_status st = jr_av(r, j, p, depth, &type, &v);
  if (st != DORM_OK) return st;
  switch (type) {
  case DORM_AV_S: out->type = type; return dorm__jr_text(r, v, p, "an S value", &out->u.s);
  case DORM_AV_N: out->type = type; return dorm__jr_number(r, v, p, "an N value", &out->u.s);
  case DORM_AV_B: out->type = type; return dorm__jr_binary(r, v, p, "a B value", &out->u.s);
  case DORM_AV_BOOL:
    if (!jr_is_bool(v)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "a BOOL value must be true or false");
    out->type = type;
    out->u.boolean = jr_is_true(v);
    return DORM_OK;
  case DORM_AV_NULL:
    if (!jr_is_true(v)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "a NULL value must be true");
    out->type = type;
    return DORM_OK;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS: return conv_set(r, v, out, type, p);
  case DORM_AV_L: return conv_list(r, v, out, p, depth);
  case DORM_AV_M:
    if (!jr_is_object(v)) return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "an M value must be a JSON object");
    return dorm__jr_members(r, v, p, depth, out);
  default: return dorm__jr_fail(r, p, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type");
  }
}

/* ---- entry points ---- */

dorm_status dorm__json_to_av(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where, char *errbuf,
                            size_t errcap) {
  jr_reader r;
  dorm__jr_init(&r, a, 0, errbuf, errcap);
  jr_path root = {NULL, where, 0};
  return dorm__jr_value(&r, j, where ? &root : NULL, 0, out);
}

dorm_status dorm__json_to_item(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where, char *errbuf,
                              size_t errcap) {
  jr_reader r;
  dorm__jr_init(&r, a, 0, errbuf, errcap);
  jr_path root = {NULL, where, 0};
  memset(out, 0, sizeof *out);
  return dorm__jr_members(&r, j, where ? &root : NULL, 0, out);
}

dorm_status dorm__json_member_item(const cJSON *obj, const char *member, dorm_arena *a, dorm_av *out,
                                  bool *found, char *errbuf, size_t errcap) {
  *out = dorm_av_empty(DORM_AV_M);
  if (found) *found = false;
  const cJSON *m = jr_is_object(obj) ? cJSON_GetObjectItemCaseSensitive(obj, member) : NULL;
  if (!m) return DORM_OK;
  if (found) *found = true;
  return dorm__json_to_item(m, a, out, member, errbuf, errcap);
}

dorm_status dorm__json_member_items(const cJSON *obj, const char *member, dorm_arena *a, dorm_av **items,
                                   size_t *count, char *errbuf, size_t errcap) {
  jr_reader r;
  dorm__jr_init(&r, a, 0, errbuf, errcap);
  jr_path root = {NULL, member, 0};
  *items = NULL;
  *count = 0;
  const cJSON *arr = jr_is_object(obj) ? cJSON_GetObjectItemCaseSensitive(obj, member) : NULL;
  if (!arr) return DORM_OK;
  if (!jr_is_array(arr)) return dorm__jr_fail(&r, &root, DORM_ERR_BAD_RESPONSE, "expected an array of items");
  size_t n = jr_count(arr);
  if (n == 0) return DORM_OK;
  dorm_av *out = dorm_arena_alloc(a, n * sizeof *out);
  if (!out) return oom(&r, &root);
  size_t i = 0;
  for (const cJSON *c = arr->child; c; c = c->next, i++) {
    jr_path seg = {&root, NULL, i};
    memset(&out[i], 0, sizeof out[i]);
    dorm_status st = dorm__jr_members(&r, c, &seg, 0, &out[i]);
    if (st != DORM_OK) return st;
  }
  *items = out;
  *count = n;
  return DORM_OK;
}

/* A count member: a JSON number that is a non-negative integer (exact in a
 * double up to 2^53, far beyond any count DynamoDB returns). */
static bool read_count(const cJSON *c, uint64_t *out) {
  if (!cJSON_IsNumber(c)) return false;
  double d = c->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

dorm_status dorm__json_response_members(const cJSON *root, dorm_json_response *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  if (!jr_is_object(root)) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "expected a JSON object");
    return DORM_ERR_BAD_RESPONSE;
  }
  bool seen_scanned = false;
  for (const cJSON *c = root->child; c; c = c->next) {
    const char *k = c->string ? c->string : "";
    const cJSON **slot = NULL;
    bool dup = false, bad = false;
    if (strcmp(k, "Item") == 0 || strcmp(k, "Attributes") == 0) slot = &out->item;
    else if (strcmp(k, "Items") == 0) slot = &out->items;
    else if (strcmp(k, "LastEvaluatedKey") == 0) slot = &out->last_key;
    else if (strcmp(k, "Count") == 0) {
      dup = out->has_count;
      out->has_count = true;
      bad = !dup && !read_count(c, &out->count);
    } else if (strcmp(k, "ScannedCount") == 0) {
      dup = seen_scanned;
      seen_scanned = true;
      bad = !dup && !read_count(c, &out->scanned_count);
    }
    if (slot) {
      dup = *slot != NULL;
      *slot = c;
    }
    if (dup || bad) {
      if (errbuf && errcap)
        snprintf(errbuf, errcap, "%.64s: %s", k, dup ? "member appears twice" : "expected a non-negative integer count");
      return DORM_ERR_BAD_RESPONSE;
    }
  }
  return DORM_OK;
}

/* ---- public one-shot parsers (declared in dorm/av.h) ---- */

dorm_status dorm__av_from_json_with(dorm_json_parser how, bool item, const char *json, size_t len, dorm_arena *a,
                                    dorm_av *out, char *errbuf, size_t errcap) {
  cJSON *root = NULL;
  if (!a || !out) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "an arena and an output value are required");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  dorm_status st;
  if (how == DORM_JSON_FAST) {
    st = dorm__json_read_direct(item ? DORM_JD_ITEM : DORM_JD_VALUE, json, len, a, out, NULL);
    if (st != DORM_ERR_BAD_RESPONSE) {
      if (st == DORM_ERR_NO_MEMORY && errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
      return st;
    }
  }
  st = dorm__json_parse_with(how, json, len, &root, errbuf, errcap);
  if (st != DORM_OK) return st;
  jr_reader r;
  dorm__jr_init(&r, a, len, errbuf, errcap);
  st = item ? dorm__jr_members(&r, root, NULL, 0, out) : dorm__jr_value(&r, root, NULL, 0, out);
  dorm__json_free(root);
  return st;
}

DORM__HOT
dorm_status dorm__json_read_response_item(dorm_json_parser how, const char *json, size_t len, dorm_arena *a,
                                          dorm_av *item, bool *found, char *errbuf, size_t errcap) {
  dorm_status st;
  if (how == DORM_JSON_FAST) {
    st = dorm__json_read_direct(DORM_JD_RESPONSE, json, len, a, item, found);
    if (st != DORM_ERR_BAD_RESPONSE) {
      if (st == DORM_ERR_NO_MEMORY && errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
      return st;
    }
  }
  /* The tree path: the verdict and message for every body. */
  cJSON *root = NULL;
  dorm_json_response r;
  *item = dorm_av_empty(DORM_AV_M);
  *found = false;
  st = dorm__json_parse_with(how, json, len, &root, errbuf, errcap);
  if (st == DORM_OK) st = dorm__json_response_members(root, &r, errbuf, errcap);
  if (st == DORM_OK && r.item) {
    jr_reader rd;
    jr_path where = {NULL, r.item->string, 0};
    dorm__jr_init(&rd, a, len, errbuf, errcap);
    st = dorm__jr_members(&rd, r.item, &where, 0, item);
    *found = st == DORM_OK;
  }
  dorm__json_free(root);
  return st;
}

dorm_status dorm_av_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                              size_t errcap) {
  return dorm__av_from_json_with(DORM_JSON_FAST, false, json, len, a, out, errbuf, errcap);
}

dorm_status dorm_item_from_json(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf,
                                size_t errcap) {
  return dorm__av_from_json_with(DORM_JSON_FAST, true, json, len, a, out, errbuf, errcap);
}
