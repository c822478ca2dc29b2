/* Small building blocks: arena, vectors, hash map, string buffer, paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- arena ------------------------------------------------------------- */

struct arena_chunk {
  arena_chunk *next;
  size_t used, cap;
  max_align_t data[];
};

#define ARENA_CHUNK (64u * 1024u)

void arena_init(arena *a, void (*oom)(void *), void *oom_user) {
  a->head = NULL;
  a->oom = oom;
  a->oom_user = oom_user;
}

void arena_release(arena *a) {
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
}

void *arena_alloc(arena *a, size_t size) {
  const size_t align = sizeof(max_align_t);
  size = (size + align - 1) & ~(align - 1);
  if (size == 0) size = align;
  arena_chunk *c = a->head;
  if (!c || c->cap - c->used < size) {
    size_t cap = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
    arena_chunk *fresh = malloc(sizeof *fresh + cap);
    if (!fresh) {
      a->oom(a->oom_user);
      abort(); /* oom never returns; unreachable */
    }
    fresh->used = 0;
    fresh->cap = cap;
    if (c && size > ARENA_CHUNK / 2) {
      /* A big block goes behind the current chunk so its free space stays usable. */
      fresh->next = c->next;
      c->next = fresh;
    } else {
      fresh->next = c;
      a->head = fresh;
    }
    c = fresh;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vprintf(arena *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *arena_printf(arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = arena_vprintf(a, fmt, ap);
  va_end(ap);
  return p;
}

/* ---- vec --------------------------------------------------------------- */

vec *vec_new(arena *a) { return arena_alloc(a, sizeof(vec)); }

void vec_push(arena *a, vec *v, void *item) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    void **items = arena_alloc(a, cap * sizeof *items);
    if (v->n) memcpy(items, v->items, v->n * sizeof *items);
    v->items = items;
    v->cap = cap;
  }
  v->items[v->n++] = item;
}

/* ---- symtab ------------------------------------------------------------ */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

void symtab_init(symtab *t) { memset(t, 0, sizeof *t); }

void *symtab_get(const symtab *t, const char *key) {
  if (!t->cap) return NULL;
  size_t mask = t->cap - 1;
  for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
    if (!t->keys[i]) return NULL;
    if (strcmp(t->keys[i], key) == 0) return t->vals[i];
  }
}

static void symtab_grow(arena *a, symtab *t) {
  size_t cap = t->cap ? t->cap * 2 : 16;
  const char **keys = arena_alloc(a, cap * sizeof *keys);
  void **vals = arena_alloc(a, cap * sizeof *vals);
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->keys[i]) continue;
    size_t j = hash_str(t->keys[i]) & (cap - 1);
    while (keys[j]) j = (j + 1) & (cap - 1);
    keys[j] = t->keys[i];
    vals[j] = t->vals[i];
  }
  t->keys = keys;
  t->vals = vals;
  t->cap = cap;
}

void *symtab_put(arena *a, symtab *t, const char *key, void *val) {
  if ((t->n + 1) * 2 > t->cap) symtab_grow(a, t);
  size_t mask = t->cap - 1;
  size_t i = hash_str(key) & mask;
  for (; t->keys[i]; i = (i + 1) & mask)
    if (strcmp(t->keys[i], key) == 0) return t->vals[i];
  t->keys[i] = key;
  t->vals[i] = val;
  t->n++;
  return NULL;
}

void symtab_set(arena *a, symtab *t, const char *key, void *val) {
  if (!symtab_put(a, t, key, val)) return;
  size_t mask = t->cap - 1;
  for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
    if (strcmp(t->keys[i], key) == 0) {
      t->keys[i] = key;
      t->vals[i] = val;
      return;
    }
  }
}

/* ---- strbuf ------------------------------------------------------------ */

static bool sb_reserve(strbuf *b, size_t extra) {
  if (b->oom) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void sb_append(strbuf *b, const char *s, size_t n) {
  if (!sb_reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sb_puts(strbuf *b, const char *s) { sb_append(b, s, strlen(s)); }

void sb_putc(strbuf *b, char ch) { sb_append(b, &ch, 1); }

void sb_printf(strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n > 0 && sb_reserve(b, (size_t)n)) {
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
  }
  va_end(ap);
}

char *sb_take(strbuf *b, size_t *len) {
  if (b->oom) {
    sb_free(b);
    return NULL;
  }
  if (!b->data && !sb_reserve(b, 0)) return NULL;
  b->data[b->len] = '\0';
  char *p = b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void sb_free(strbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->oom = false;
}

/* ---- names and locations ----------------------------------------------- */

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return (size_t)-1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = diag + cost;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *closest_name(const char *word, const char *const *cands, size_t n) {
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  size_t len = strlen(word);
  size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  for (size_t i = 0; i < n; i++) {
    if (!cands[i] || strcmp(cands[i], word) == 0) continue;
    size_t d = edit_distance(word, cands[i]);
    if (d <= limit && d < best_d) {
      best = cands[i];
      best_d = d;
    }
  }
  return best;
}

dormc_loc loc_span(dormc_loc a, dormc_loc b) {
  dormc_loc l = a;
  l.end_line = b.end_line;
  l.end_col = b.end_col;
  l.end_offset = b.end_offset;
  return l;
}

/* ---- paths ------------------------------------------------------------- */

char *path_normalize(arena *a, const char *path) {
  size_t len = strlen(path);
  bool abs = path[0] == '/';
  /* Split into segments, resolving "." and "name/.." lexically. */
  const char **segs = arena_alloc(a, (len / 2 + 2) * sizeof *segs);
  size_t *lens = arena_alloc(a, (len / 2 + 2) * sizeof *lens);
  size_t n = 0;
  for (const char *p = path; *p;) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *s = p;
    while (*p && *p != '/') p++;
    size_t sl = (size_t)(p - s);
    if (sl == 1 && s[0] == '.') continue;
    if (sl == 2 && s[0] == '.' && s[1] == '.' && n > 0 && !(lens[n - 1] == 2 && memcmp(segs[n - 1], "..", 2) == 0)) {
      n--;
      continue;
    }
    if (sl == 2 && s[0] == '.' && s[1] == '.' && abs && n == 0) continue;
    segs[n] = s;
    lens[n] = sl;
    n++;
  }
  char *out = arena_alloc(a, len + 2);
  size_t o = 0;
  if (abs) out[o++] = '/';
  for (size_t i = 0; i < n; i++) {
    if (i) out[o++] = '/';
    memcpy(out + o, segs[i], lens[i]);
    o += lens[i];
  }
  if (o == 0) out[o++] = '.';
  out[o] = '\0';
  return out;
}

char *path_join_dir(arena *a, const char *path, const char *rel) {
  if (rel[0] == '/') return path_normalize(a, rel);
  const char *slash = strrchr(path, '/');
  if (!slash) return path_normalize(a, rel);
  size_t dl = (size_t)(slash - path) + 1;
  char *joined = arena_alloc(a, dl + strlen(rel) + 1);
  memcpy(joined, path, dl);
  strcpy(joined + dl, rel);
  return path_normalize(a, joined);
}
