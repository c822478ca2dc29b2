/* AttributeValue builders, readers, equality and DynamoDB item size. */
#include "dorm/av.h"

#include <stdio.h>

#include "number.h"

const char *dorm_av_type_name(dorm_av_type type) {
  switch (type) {
  case DORM_AV_S: return "S";
  case DORM_AV_N: return "N";
  case DORM_AV_B: return "B";
  case DORM_AV_BOOL: return "BOOL";
  case DORM_AV_NULL: return "NULL";
  case DORM_AV_SS: return "SS";
  case DORM_AV_NS: return "NS";
  case DORM_AV_BS: return "BS";
  case DORM_AV_L: return "L";
  case DORM_AV_M: return "M";
  case DORM_AV_INVALID: break;
  }
  return "?";
}

/* ---- builders ---- */

dorm_status dorm_av_str_copy(dorm_arena *a, const char *s, size_t len, dorm_av *out) {
  /* Not strndup: an S may hold U+0000, so copy the full length. */
  char *c = dorm_arena_alloc_aligned(a, len + 1, 1);
  if (!c) return DORM_ERR_NO_MEMORY;
  if (len) memcpy(c, s, len);
  c[len] = '\0';
  *out = dorm_av_strn(c, len);
  return DORM_OK;
}

dorm_status dorm_av_bytes_copy(dorm_arena *a, const void *data, size_t len, dorm_av *out) {
  void *c = dorm_arena_memdup(a, data, len);
  if (!c) return DORM_ERR_NO_MEMORY;
  *out = dorm_av_bytes(c, len);
  return DORM_OK;
}

static dorm_status num_text(dorm_arena *a, const char *buf, size_t n, dorm_av *out) {
  char *c = dorm_arena_memdup(a, buf, n + 1);
  if (!c) return DORM_ERR_NO_MEMORY;
  *out = dorm_av_numn(c, n);
  return DORM_OK;
}

dorm_status dorm_av_num_i64(dorm_arena *a, int64_t v, dorm_av *out) {
  char buf[24];
  size_t n = dorm__number_format_i64(v, buf);
  return num_text(a, buf, n, out);
}

dorm_status dorm_av_num_u64(dorm_arena *a, uint64_t v, dorm_av *out) {
  char buf[24];
  size_t n = dorm__number_format_u64(v, buf);
  return num_text(a, buf, n, out);
}

dorm_status dorm_av_num_double(dorm_arena *a, double v, dorm_av *out) {
  char buf[40];
  size_t n = dorm__number_format_double(v, buf);
  if (n == 0 || dorm__number_invalid_reason(buf, n)) return DORM_ERR_INVALID_ARGUMENT;
  return num_text(a, buf, n, out);
}

/* Makes room for `add` more elements of `elem` bytes in an arena array,
 * growing geometrically (in place when it is the arena's latest allocation). */
static bool grow_array(dorm_arena *a, void **items, size_t *cap, size_t count, size_t elem, size_t add) {
  if (add > SIZE_MAX - count) return false;
  size_t need = count + add;
  if (need <= *cap) return true;
  size_t ncap = *cap ? *cap : 4;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  if (ncap > SIZE_MAX / elem) return false;
  void *n = dorm_arena_realloc(a, *items, *cap * elem, ncap * elem);
  if (!n) return false;
  *items = n;
  *cap = ncap;
  return true;
}

static bool is_set(dorm_av_type t) { return t == DORM_AV_SS || t == DORM_AV_NS || t == DORM_AV_BS; }

dorm_status dorm_av_reserve(dorm_arena *a, dorm_av *c, size_t n) {
  if (!c) return DORM_ERR_INVALID_ARGUMENT;
  bool ok;
  if (c->type == DORM_AV_M)
    ok = grow_array(a, (void **)&c->u.map.items, &c->u.map.cap, c->u.map.count, sizeof(dorm_av_entry), n);
  else if (c->type == DORM_AV_L)
    ok = grow_array(a, (void **)&c->u.list.items, &c->u.list.cap, c->u.list.count, sizeof(dorm_av), n);
  else if (is_set(c->type))
    ok = grow_array(a, (void **)&c->u.set.items, &c->u.set.cap, c->u.set.count, sizeof(dorm_str), n);
  else
    return DORM_ERR_INVALID_ARGUMENT;
  return ok ? DORM_OK : DORM_ERR_NO_MEMORY;
}

dorm_av *dorm_av_map_add(dorm_arena *a, dorm_av *map, const char *name, size_t len) {
  if (!map || map->type != DORM_AV_M || (!name && len)) return NULL;
  if (map->u.map.count == map->u.map.cap && dorm_av_reserve(a, map, 1) != DORM_OK) return NULL;
  dorm_av_entry *e = &map->u.map.items[map->u.map.count++];
  e->name.ptr = name ? name : "";
  e->name.len = len;
  memset(&e->value, 0, sizeof e->value);
  return &e->value;
}

dorm_status dorm_av_map_set(dorm_arena *a, dorm_av *map, const char *name, dorm_av value) {
  if (!map || map->type != DORM_AV_M || !name) return DORM_ERR_INVALID_ARGUMENT;
  size_t len = strlen(name);
  for (size_t i = 0; i < map->u.map.count; i++) {
    dorm_av_entry *e = &map->u.map.items[i];
    if (e->name.len == len && memcmp(e->name.ptr, name, len) == 0) {
      e->value = value;
      return DORM_OK;
    }
  }
  dorm_av *slot = dorm_av_map_add(a, map, name, len);
  if (!slot) return DORM_ERR_NO_MEMORY;
  *slot = value;
  return DORM_OK;
}

dorm_av *dorm_av_list_push(dorm_arena *a, dorm_av *list) {
  if (!list || list->type != DORM_AV_L) return NULL;
  if (list->u.list.count == list->u.list.cap && dorm_av_reserve(a, list, 1) != DORM_OK) return NULL;
  dorm_av *v = &list->u.list.items[list->u.list.count++];
  memset(v, 0, sizeof *v);
  return v;
}

dorm_status dorm_av_set_add(dorm_arena *a, dorm_av *set, const char *data, size_t len) {
  if (!set || !is_set(set->type) || (!data && len)) return DORM_ERR_INVALID_ARGUMENT;
  if (set->u.set.count == set->u.set.cap) {
    dorm_status st = dorm_av_reserve(a, set, 1);
    if (st != DORM_OK) return st;
  }
  set->u.set.items[set->u.set.count++] = dorm_strn(data ? data : "", len);
  return DORM_OK;
}

static dorm_status copy_str(dorm_arena *a, dorm_str in, dorm_str *out) {
  char *c = dorm_arena_alloc_aligned(a, in.len + 1, 1);
  if (!c) return DORM_ERR_NO_MEMORY;
  if (in.len) memcpy(c, in.ptr, in.len);
  c[in.len] = '\0';
  out->ptr = c;
  out->len = in.len;
  return DORM_OK;
}

static dorm_status copy_av(dorm_arena *a, const dorm_av *src, dorm_av *out, int depth) {
  if (depth > 64) return DORM_ERR_INVALID_ARGUMENT; /* cycles or absurd nesting */
  dorm_av v = *src;
  switch (src->type) {
  case DORM_AV_S:
  case DORM_AV_N:
  case DORM_AV_B:
    if (copy_str(a, src->u.s, &v.u.s) != DORM_OK) return DORM_ERR_NO_MEMORY;
    break;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    v.u.set.items = NULL;
    v.u.set.count = v.u.set.cap = 0;
    if (src->u.set.count) {
      v.u.set.items = dorm_arena_alloc(a, src->u.set.count * sizeof(dorm_str));
      if (!v.u.set.items) return DORM_ERR_NO_MEMORY;
      for (size_t i = 0; i < src->u.set.count; i++)
        if (copy_str(a, src->u.set.items[i], &v.u.set.items[i]) != DORM_OK) return DORM_ERR_NO_MEMORY;
      v.u.set.count = v.u.set.cap = src->u.set.count;
    }
    break;
  case DORM_AV_L:
    v.u.list.items = NULL;
    v.u.list.count = v.u.list.cap = 0;
    if (src->u.list.count) {
      v.u.list.items = dorm_arena_alloc(a, src->u.list.count * sizeof(dorm_av));
      if (!v.u.list.items) return DORM_ERR_NO_MEMORY;
      for (size_t i = 0; i < src->u.list.count; i++) {
        dorm_status st = copy_av(a, &src->u.list.items[i], &v.u.list.items[i], depth + 1);
        if (st != DORM_OK) return st;
      }
      v.u.list.count = v.u.list.cap = src->u.list.count;
    }
    break;
  case DORM_AV_M:
    v.u.map.items = NULL;
    v.u.map.count = v.u.map.cap = 0;
    if (src->u.map.count) {
      v.u.map.items = dorm_arena_alloc(a, src->u.map.count * sizeof(dorm_av_entry));
      if (!v.u.map.items) return DORM_ERR_NO_MEMORY;
      for (size_t i = 0; i < src->u.map.count; i++) {
        if (copy_str(a, src->u.map.items[i].name, &v.u.map.items[i].name) != DORM_OK) return DORM_ERR_NO_MEMORY;
        dorm_status st = copy_av(a, &src->u.map.items[i].value, &v.u.map.items[i].value, depth + 1);
        if (st != DORM_OK) return st;
      }
      v.u.map.count = v.u.map.cap = src->u.map.count;
    }
    break;
  default:
    break;
  }
  *out = v;
  return DORM_OK;
}

dorm_status dorm_av_copy(dorm_arena *a, const dorm_av *src, dorm_av *out) {
  if (!src || !out) return DORM_ERR_INVALID_ARGUMENT;
  return copy_av(a, src, out, 0);
}

/* ---- readers ---- */

const dorm_av *dorm_av_map_getn(const dorm_av *map, const char *name, size_t len) {
  if (!map || map->type != DORM_AV_M || (!name && len)) return NULL;
  for (size_t i = 0; i < map->u.map.count; i++) {
    const dorm_av_entry *e = &map->u.map.items[i];
    if (e->name.len == len && (len == 0 || memcmp(e->name.ptr, name, len) == 0)) return &e->value;
  }
  return NULL;
}

static dorm_status want(const dorm_av *av, dorm_av_type t) {
  if (!av) return DORM_ERR_NOT_FOUND;
  return av->type == t ? DORM_OK : DORM_ERR_SCHEMA_MISMATCH;
}

dorm_status dorm_av_get_s(const dorm_av *av, dorm_str *out) {
  dorm_status st = want(av, DORM_AV_S);
  if (st == DORM_OK) *out = av->u.s;
  return st;
}

dorm_status dorm_av_get_n(const dorm_av *av, dorm_str *out) {
  dorm_status st = want(av, DORM_AV_N);
  if (st == DORM_OK) *out = av->u.s;
  return st;
}

dorm_status dorm_av_get_b(const dorm_av *av, dorm_str *out) {
  dorm_status st = want(av, DORM_AV_B);
  if (st == DORM_OK) *out = av->u.s;
  return st;
}

dorm_status dorm_av_get_bool(const dorm_av *av, bool *out) {
  dorm_status st = want(av, DORM_AV_BOOL);
  if (st == DORM_OK) *out = av->u.boolean;
  return st;
}

dorm_status dorm_av_get_null(const dorm_av *av) { return want(av, DORM_AV_NULL); }

dorm_status dorm_av_get_i64(const dorm_av *av, int64_t *out) {
  dorm_status st = want(av, DORM_AV_N);
  if (st != DORM_OK) return st;
  return dorm__number_to_i64(av->u.s.ptr, av->u.s.len, out) ? DORM_OK : DORM_ERR_SCHEMA_MISMATCH;
}

dorm_status dorm_av_get_u64(const dorm_av *av, uint64_t *out) {
  dorm_status st = want(av, DORM_AV_N);
  if (st != DORM_OK) return st;
  return dorm__number_to_u64(av->u.s.ptr, av->u.s.len, out) ? DORM_OK : DORM_ERR_SCHEMA_MISMATCH;
}

dorm_status dorm_av_get_double(const dorm_av *av, double *out) {
  dorm_status st = want(av, DORM_AV_N);
  if (st != DORM_OK) return st;
  return dorm__number_to_double(av->u.s.ptr, av->u.s.len, out) ? DORM_OK : DORM_ERR_SCHEMA_MISMATCH;
}

dorm_status dorm_av_get_set(const dorm_av *av, dorm_av_type set_type, const dorm_str **items, size_t *count) {
  if (!is_set(set_type)) return DORM_ERR_INVALID_ARGUMENT;
  dorm_status st = want(av, set_type);
  if (st == DORM_OK) {
    *items = av->u.set.items;
    *count = av->u.set.count;
  }
  return st;
}

dorm_status dorm_av_get_list(const dorm_av *av, const dorm_av **items, size_t *count) {
  dorm_status st = want(av, DORM_AV_L);
  if (st == DORM_OK) {
    *items = av->u.list.items;
    *count = av->u.list.count;
  }
  return st;
}

dorm_status dorm_av_get_map(const dorm_av *av, const dorm_av_entry **entries, size_t *count) {
  dorm_status st = want(av, DORM_AV_M);
  if (st == DORM_OK) {
    *entries = av->u.map.items;
    *count = av->u.map.count;
  }
  return st;
}

/* ---- equality ---- */

static bool str_eq(dorm_str a, dorm_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool elem_eq(dorm_av_type t, dorm_str a, dorm_str b) {
  return t == DORM_AV_NS ? dorm_number_equal(a.ptr, a.len, b.ptr, b.len) : str_eq(a, b);
}

static bool av_equal(const dorm_av *a, const dorm_av *b, int depth) {
  if (a->type != b->type || depth > 64) return false;
  switch (a->type) {
  case DORM_AV_S:
  case DORM_AV_B: return str_eq(a->u.s, b->u.s);
  case DORM_AV_N: return dorm_number_equal(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
  case DORM_AV_BOOL: return a->u.boolean == b->u.boolean;
  case DORM_AV_NULL: return true;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    if (a->u.set.count != b->u.set.count) return false;
    /* Sets are unordered; DynamoDB returns them in any order. Each side's
     * elements are looked for in the other: one way only, a set built with
     * an element twice ({a, a}) was equal to any set holding it ({a, b}). */
    for (int side = 0; side < 2; side++) {
      const dorm_av *x = side ? b : a, *y = side ? a : b;
      for (size_t i = 0; i < x->u.set.count; i++) {
        bool hit = false;
        for (size_t k = 0; k < y->u.set.count && !hit; k++) hit = elem_eq(a->type, x->u.set.items[i], y->u.set.items[k]);
        if (!hit) return false;
      }
    }
    return true;
  case DORM_AV_L:
    if (a->u.list.count != b->u.list.count) return false;
    for (size_t i = 0; i < a->u.list.count; i++)
      if (!av_equal(&a->u.list.items[i], &b->u.list.items[i], depth + 1)) return false;
    return true;
  case DORM_AV_M:
    if (a->u.map.count != b->u.map.count) return false;
    for (size_t i = 0; i < a->u.map.count; i++) {
      const dorm_av_entry *e = &a->u.map.items[i];
      const dorm_av *o = dorm_av_map_getn(b, e->name.ptr, e->name.len);
      if (!o || !av_equal(&e->value, o, depth + 1)) return false;
    }
    /* A map given a name twice (dorm_av_map_add does not look) must not
     * be equal to one whose other names it lacks. */
    for (size_t i = 0; i < b->u.map.count; i++)
      if (!dorm_av_map_getn(a, b->u.map.items[i].name.ptr, b->u.map.items[i].name.len)) return false;
    return true;
  case DORM_AV_INVALID: return false;
  }
  return false;
}

bool dorm_av_equal(const dorm_av *a, const dorm_av *b) {
  if (!a || !b) return a == b;
  return av_equal(a, b, 0);
}

/* ---- numbers ---- */

dorm_status dorm_number_check(const char *text, size_t len, char *errbuf, size_t errcap) {
  const char *why = text ? dorm__number_invalid_reason(text, len) : "no text";
  if (!why) return DORM_OK;
  if (errbuf && errcap)
    snprintf(errbuf, errcap, "invalid number \"%.*s\": %s", (int)(len > 48 ? 48 : len), text ? text : "", why);
  return DORM_ERR_INVALID_ARGUMENT;
}

/* ---- size ---- */

static bool value_size(const dorm_av *v, size_t *out, int depth) {
  size_t n = 0;
  if (depth > 64) return false;
  switch (v->type) {
  case DORM_AV_S:
  case DORM_AV_B: n = v->u.s.len; break;
  case DORM_AV_N: n = dorm__number_storage_size(v->u.s.ptr, v->u.s.len); break;
  case DORM_AV_BOOL:
  case DORM_AV_NULL: n = 1; break;
  case DORM_AV_SS:
  case DORM_AV_BS:
    for (size_t i = 0; i < v->u.set.count; i++) n += v->u.set.items[i].len;
    break;
  case DORM_AV_NS:
    for (size_t i = 0; i < v->u.set.count; i++)
      n += dorm__number_storage_size(v->u.set.items[i].ptr, v->u.set.items[i].len);
    break;
  case DORM_AV_L:
    n = 3;
    for (size_t i = 0; i < v->u.list.count; i++) {
      size_t e;
      if (!value_size(&v->u.list.items[i], &e, depth + 1)) return false;
      n += 1 + e;
    }
    break;
  case DORM_AV_M:
    n = 3;
    for (size_t i = 0; i < v->u.map.count; i++) {
      size_t e;
      if (!value_size(&v->u.map.items[i].value, &e, depth + 1)) return false;
      n += 1 + v->u.map.items[i].name.len + e;
    }
    break;
  case DORM_AV_INVALID: return false;
  }
  *out = n;
  return true;
}

dorm_status dorm_item_size(const dorm_av *item, size_t *out) {
  if (!item || item->type != DORM_AV_M) return DORM_ERR_INVALID_ARGUMENT;
  size_t total = 0;
  for (size_t i = 0; i < item->u.map.count; i++) {
    size_t e;
    if (!value_size(&item->u.map.items[i].value, &e, 0)) return DORM_ERR_INVALID_ARGUMENT;
    total += item->u.map.items[i].name.len + e;
  }
  *out = total;
  return DORM_OK;
}
