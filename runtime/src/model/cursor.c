/* DynamORM's pagination cursor, byte for byte.
 *
 * DynamORM (Go) encodes json.Marshal(Cursor{LastEvaluatedKey map[string]any
 * `json:"lastKey"`, IndexName `json:"index,omitempty"`, SortDirection
 * `json:"sort,omitempty"`}) with base64.URLEncoding (padded). The key's
 * values are {"S":...}, {"N":...}, {"B":"<std base64>"}, {"BOOL":b},
 * {"NULL":true}, {"L":[...]}, {"M":{...}}, {"SS":[...]}, {"NS":[...]},
 * {"BS":["<std base64>",...]}. To reproduce the bytes we write JSON the way
 * Go's encoding/json does: map keys sorted by bytes at every level, and its
 * string escaping (\" \\ \n \r \t, other control characters as \u00XX with
 * lowercase hex, < > & as \u003c \u003e \u0026, U+2028/U+2029 escaped,
 * every byte of invalid UTF-8 as \ufffd). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "model_internal.h"

typedef struct gw {
  model_sbuf b;
  bool failed;
} gw;

static void put(gw *g, const char *s, size_t n) {
  if (!g->failed && !dorm__buf_put(&g->b.buf, s, n)) g->failed = true;
}

static void go_string(gw *g, const char *s, size_t len) {
  put(g, "\"", 1);
  if (!g->failed && !dorm__json_escape(&g->b.buf, s, len, DORM_JSON_ESC_GO, NULL)) g->failed = true;
  put(g, "\"", 1);
}

static void go_base64(gw *g, dorm_str s) {
  size_t n = dorm__b64_encoded_len(s.len);
  char *tmp = n == SIZE_MAX ? NULL : malloc(n + 1);
  if (!tmp) {
    g->failed = true;
    return;
  }
  dorm__b64_encode((const uint8_t *)s.ptr, s.len, tmp, DORM_B64_STD);
  put(g, "\"", 1);
  put(g, tmp, n);
  put(g, "\"", 1);
  free(tmp);
}

static int cmp_entry(const void *a, const void *b) {
  const dorm_av_entry *x = *(const dorm_av_entry *const *)a, *y = *(const dorm_av_entry *const *)b;
  size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
  int r = n ? memcmp(x->name.ptr, y->name.ptr, n) : 0;
  return r ? r : (x->name.len < y->name.len ? -1 : x->name.len > y->name.len);
}

static bool go_value(gw *g, const dorm_av *v, int depth);

/* {"a":...,"b":...} with keys in byte order, as Go writes a map. */
static bool go_members(gw *g, const dorm_av *m, int depth) {
  size_t n = m->u.map.count;
  const dorm_av_entry **order = n ? malloc(n * sizeof *order) : NULL;
  if (n && !order) return false;
  for (size_t i = 0; i < n; i++) order[i] = &m->u.map.items[i];
  if (n > 1) qsort(order, n, sizeof *order, cmp_entry);
  bool ok = true;
  put(g, "{", 1);
  for (size_t i = 0; i < n && ok; i++) {
    if (i) put(g, ",", 1);
    go_string(g, order[i]->name.ptr, order[i]->name.len);
    put(g, ":", 1);
    ok = go_value(g, &order[i]->value, depth + 1);
  }
  put(g, "}", 1);
  free(order);
  return ok;
}

static bool go_value(gw *g, const dorm_av *v, int depth) {
  if (depth > DORM_AV_MAX_DEPTH * 2) return false;
  switch (v->type) {
  case DORM_AV_S:
    put(g, "{\"S\":", 5);
    go_string(g, v->u.s.ptr, v->u.s.len);
    break;
  case DORM_AV_N:
    put(g, "{\"N\":", 5);
    go_string(g, v->u.s.ptr, v->u.s.len);
    break;
  case DORM_AV_B:
    put(g, "{\"B\":", 5);
    go_base64(g, v->u.s);
    break;
  case DORM_AV_BOOL: put(g, v->u.boolean ? "{\"BOOL\":true" : "{\"BOOL\":false", v->u.boolean ? 12 : 13); break;
  case DORM_AV_NULL: put(g, "{\"NULL\":true", 12); break;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    put(g, v->type == DORM_AV_SS ? "{\"SS\":[" : v->type == DORM_AV_NS ? "{\"NS\":[" : "{\"BS\":[", 7);
    for (size_t i = 0; i < v->u.set.count; i++) {
      if (i) put(g, ",", 1);
      if (v->type == DORM_AV_BS) go_base64(g, v->u.set.items[i]);
      else go_string(g, v->u.set.items[i].ptr, v->u.set.items[i].len);
    }
    put(g, "]", 1);
    break;
  case DORM_AV_L:
    put(g, "{\"L\":[", 6);
    for (size_t i = 0; i < v->u.list.count; i++) {
      if (i) put(g, ",", 1);
      if (!go_value(g, &v->u.list.items[i], depth + 1)) return false;
    }
    put(g, "]", 1);
    break;
  case DORM_AV_M:
    put(g, "{\"M\":", 5);
    if (!go_members(g, v, depth)) return false;
    break;
  default: return false;
  }
  put(g, "}", 1);
  return !g->failed;
}

dorm_status dorm_cursor_encode(const dorm_av *last_key, const char *index, const char *sort, dorm_arena *a,
                               const char **cursor) {
  if (!a || !cursor) return DORM_ERR_INVALID_ARGUMENT;
  if (!last_key || (last_key->type == DORM_AV_M && last_key->u.map.count == 0)) {
    *cursor = "";
    return DORM_OK;
  }
  if (last_key->type != DORM_AV_M) return DORM_ERR_INVALID_ARGUMENT;
  gw g;
  dorm__model_sbuf_init(&g.b);
  g.failed = false;
  put(&g, "{\"lastKey\":", 11);
  bool ok = go_members(&g, last_key, 0);
  if (index && *index) {
    put(&g, ",\"index\":", 9);
    go_string(&g, index, strlen(index));
  }
  if (sort && *sort) {
    put(&g, ",\"sort\":", 8);
    go_string(&g, sort, strlen(sort));
  }
  put(&g, "}", 1);
  dorm_status st = DORM_OK;
  if (!ok) st = g.failed ? DORM_ERR_NO_MEMORY : DORM_ERR_INVALID_ARGUMENT;
  else if (g.failed) st = DORM_ERR_NO_MEMORY;
  if (st == DORM_OK) {
    size_t n = dorm__b64_encoded_len(g.b.len);
    char *out = n == SIZE_MAX ? NULL : dorm_arena_alloc_aligned(a, n + 1, 1);
    if (!out) st = DORM_ERR_NO_MEMORY;
    else {
      dorm__b64_encode((const uint8_t *)g.b.p, g.b.len, out, DORM_B64_URL);
      out[n] = '\0';
      *cursor = out;
    }
  }
  dorm__model_sbuf_free(&g.b);
  return st;
}

static dorm_status bad(char *errbuf, size_t errcap, const char *fmt, ...) DORM__PRINTF(3, 4);
static dorm_status bad(char *errbuf, size_t errcap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err_prefixed(errbuf, errcap, "bad cursor", fmt, ap);
  va_end(ap);
  return DORM_ERR_BAD_CURSOR;
}

static bool valid_text(const cJSON *j) {
  return cJSON_IsString(j) && j->valuestring && dorm__utf8_valid(j->valuestring, strlen(j->valuestring), NULL);
}

dorm_status dorm_cursor_decode(const char *cursor, dorm_arena *a, dorm_av *last_key, const char **index,
                               const char **sort, char *errbuf, size_t errcap) {
  if (!a || !last_key || !index || !sort) return bad(errbuf, errcap, "arena and outputs are required");
  *last_key = dorm_av_empty(DORM_AV_M);
  *index = "";
  *sort = "";
  if (!cursor || !*cursor) return DORM_OK;
  size_t len = strlen(cursor), n = 0, at = 0;
  uint8_t *raw = dorm_arena_alloc_aligned(a, dorm__b64_decoded_max(len) + 1, 1);
  if (!raw) return DORM_ERR_NO_MEMORY;
  if (!dorm__b64_decode(cursor, len, raw, &n, DORM_B64_URL, &at)) {
    return bad(errbuf, errcap, "not URL-safe base64 with padding (at character %zu)", at);
  }
  cJSON *root = NULL;
  char err[160];
  if (dorm__json_parse((const char *)raw, n, &root, err, sizeof err) != DORM_OK)
    return bad(errbuf, errcap, "not JSON (%s)", err);
  dorm_status st = DORM_OK;
  const cJSON *key = NULL, *idx = NULL, *srt = NULL;
  if (!cJSON_IsObject(root)) st = bad(errbuf, errcap, "expected a JSON object");
  for (const cJSON *m = st == DORM_OK ? root->child : NULL; m && st == DORM_OK; m = m->next) {
    const cJSON **slot = NULL;
    if (strcmp(m->string, "lastKey") == 0) slot = &key;
    else if (strcmp(m->string, "index") == 0) slot = &idx;
    else if (strcmp(m->string, "sort") == 0) slot = &srt;
    else st = bad(errbuf, errcap, "unknown member \"%.40s\"", m->string);
    if (slot && *slot) st = bad(errbuf, errcap, "member \"%s\" appears twice", m->string);
    else if (slot) *slot = m;
  }
  if (st == DORM_OK && !key) st = bad(errbuf, errcap, "no \"lastKey\"");
  if (st == DORM_OK && (!cJSON_IsObject(key) || !key->child))
    st = bad(errbuf, errcap, "\"lastKey\" must be a non-empty object of AttributeValues");
  if (st == DORM_OK && idx && !valid_text(idx)) st = bad(errbuf, errcap, "\"index\" must be a string");
  if (st == DORM_OK && srt && (!cJSON_IsString(srt) || (strcmp(srt->valuestring, "ASC") != 0 &&
                                                       strcmp(srt->valuestring, "DESC") != 0)))
    st = bad(errbuf, errcap, "\"sort\" must be \"ASC\" or \"DESC\"");
  if (st == DORM_OK) {
    char why[224];
    dorm_status cs = dorm__json_to_item(key, a, last_key, "lastKey", why, sizeof why);
    if (cs == DORM_ERR_NO_MEMORY) st = cs;
    else if (cs != DORM_OK) st = bad(errbuf, errcap, "%s", why);
  }
  if (st == DORM_OK && idx) {
    *index = dorm_arena_strdup(a, idx->valuestring);
    if (!*index) st = DORM_ERR_NO_MEMORY;
  }
  if (st == DORM_OK && srt) *sort = strcmp(srt->valuestring, "ASC") == 0 ? "ASC" : "DESC";
  cJSON_Delete(root);
  if (st != DORM_OK) {
    *last_key = dorm_av_empty(DORM_AV_M);
    *index = "";
    *sort = "";
  }
  return st;
}
