/* The streaming JSON writer and the DynamoDB AttributeValue encoder. */
#include "json_write.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json_read.h"
#include "number.h"
#include "text.h"
#include "utf8.h"

/* The writer's fast paths read the buffer under their own names. */
_Static_assert(offsetof(dorm_jw, buf) == offsetof(dorm_jw, text.p) &&
                   offsetof(dorm_jw, len) == offsetof(dorm_jw, text.len) &&
                   offsetof(dorm_jw, cap) == offsetof(dorm_jw, text.cap) &&
                   offsetof(dorm_jw, max) == offsetof(dorm_jw, text.max),
               "dorm_jw's names for its buffer must match dorm__buf's fields");

void dorm__jw_init(dorm_jw *w, size_t max) {
  memset(w, 0, sizeof *w);
  dorm__buf_init(&w->text, max ? max : DORM_JW_DEFAULT_MAX);
}

DORM__HOT
void dorm__jw_reset(dorm_jw *w) {
  dorm__buf_reset(&w->text);
  w->status = DORM_OK;
  w->err[0] = '\0';
}

void dorm__jw_free(dorm_jw *w) { dorm__buf_free(&w->text); }

dorm_status dorm__jw_fail(dorm_jw *w, dorm_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  st = dorm__vfail_first(&w->status, w->err, sizeof w->err, st, fmt, ap);
  va_end(ap);
  return st;
}

/* The writer's error for a failure of its buffer. */
static void buffer_failed(dorm_jw *w) {
  if (w->text.overflow) dorm__jw_fail(w, DORM_ERR_TOO_LARGE, "request body would exceed %zu bytes", w->max);
  else dorm__jw_fail(w, DORM_ERR_NO_MEMORY, "out of memory growing the request body to %zu bytes", w->text.oom_bytes);
}

static bool grow(dorm_jw *w, size_t n) {
  if (w->status != DORM_OK) return false;
  if (dorm__buf_grow(&w->text, n)) return true;
  buffer_failed(w);
  return false;
}

/* Room for n more bytes plus the final NUL. After a failure the writer may
 * keep writing into capacity it already has; finish() reports the sticky
 * status and never hands that text out. */
static inline bool room(dorm_jw *w, size_t n) {
  if (__builtin_expect(w->cap - w->len > n, 1)) return true;
  return grow(w, n);
}

DORM__HOT bool dorm__jw_reserve(dorm_jw *w, size_t n) { return w->status == DORM_OK && room(w, n); }

static inline void put(dorm_jw *w, const char *s, size_t n) {
  if (!room(w, n)) return;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static inline void putc1(dorm_jw *w, char c) {
  if (!room(w, 1)) return;
  w->buf[w->len++] = c;
}

/* A comma unless this value/key opens a container or follows a key. */
static inline void sep(dorm_jw *w) {
  if (w->len == 0) return;
  char last = w->buf[w->len - 1];
  if (last != '{' && last != '[' && last != ':') putc1(w, ',');
}

DORM__HOT
dorm_status dorm__jw_finish(dorm_jw *w, const char **out, size_t *len) {
  if (w->status == DORM_OK && dorm__jw_reserve(w, 0)) w->buf[w->len] = '\0';
  if (w->status != DORM_OK) return w->status;
  if (out) *out = w->buf;
  if (len) *len = w->len;
  return DORM_OK;
}

DORM__HOT void dorm__jw_begin_object(dorm_jw *w) { sep(w); putc1(w, '{'); }
DORM__HOT void dorm__jw_end_object(dorm_jw *w) { putc1(w, '}'); }
DORM__HOT void dorm__jw_begin_array(dorm_jw *w) { sep(w); putc1(w, '['); }
DORM__HOT void dorm__jw_end_array(dorm_jw *w) { putc1(w, ']'); }

/* U+0000 in a string or an attribute name: DynamoDB stores it, but every
 * reader here refuses "\u0000" (json_read.c: cJSON's strings end at a NUL,
 * so it would cut the string short), so an item holding one could never be
 * read back by libdorm: a GetItem of it, and every Query or Scan page it
 * falls in, would fail. Such a value is refused before anything is sent
 * instead. Returns the message for av_fail, or NULL. */
static const char *nul_message(bool name, size_t at, char *buf, size_t cap);
static const char *nul_reason(const char *s, size_t len, bool name, char *buf, size_t cap) {
  const char *z = len ? memchr(s, 0, len) : NULL;
  return z ? nul_message(name, (size_t)(z - s), buf, cap) : NULL;
}

/* The message for U+0000 at byte `at` of a string or name. */
static const char *nul_message(bool name, size_t at, char *buf, size_t cap) {
  snprintf(buf, cap, "%s contains U+0000 (a NUL byte at byte %zu), which libdorm cannot read back; not sent",
           name ? "attribute name" : "string", at);
  return buf;
}

/* Writes the escaped body of s (no quotes) with escape flags `flags`. False
 * when s is not valid UTF-8 (or has a NUL under DORM_JSON_ESC_NO_NUL: *bad
 * gets the byte offset); the caller fails the writer. A failure of the
 * buffer fails the writer here. */
static bool string_body_f(dorm_jw *w, const char *s, size_t len, unsigned flags, size_t *bad) {
  if (dorm__json_escape(&w->text, s, len, flags, bad)) return true;
  if (dorm__buf_ok(&w->text)) return false;
  buffer_failed(w);
  return true;
}

static bool string_body(dorm_jw *w, const char *s, size_t len, size_t *bad) {
  if (dorm__json_escape(&w->text, s, len, DORM_JSON_ESC_STRICT, bad)) return true;
  if (dorm__buf_ok(&w->text)) return false;
  buffer_failed(w);
  return true;
}

/* "s" written in one go when s needs no escaping and the buffer already
 * has room: one word check per 8 bytes instead of the escaper's call (a
 * request's keys, a set's elements, a list's strings, the bulk write's
 * "PutRequest" and "Item" per item). False, with nothing written,
 * otherwise. */
DORM__HOT
static inline bool quoted_plain(dorm_jw *w, const char *s, size_t len) {
  if (w->cap - w->len <= len + 2 || !dorm__json_plain_copy(w->buf + w->len + 1, s, len)) return false;
  w->buf[w->len] = '"';
  w->buf[w->len + 1 + len] = '"';
  w->len += len + 2;
  return true;
}

DORM__HOT
static void quoted(dorm_jw *w, const char *s, size_t len, const char *what) {
  if (quoted_plain(w, s, len)) return;
  size_t bad = 0;
  putc1(w, '"');
  if (!string_body(w, s, len, &bad)) {
    dorm__jw_fail(w, DORM_ERR_INVALID_ARGUMENT, "%s is not valid UTF-8 (byte %zu)", what, bad);
    return;
  }
  putc1(w, '"');
}

DORM__HOT
void dorm__jw_keyn(dorm_jw *w, const char *key, size_t len) {
  sep(w);
  quoted(w, key, len, "an object key");
  putc1(w, ':');
}
DORM__HOT void dorm__jw_key(dorm_jw *w, const char *key) { dorm__jw_keyn(w, key, strlen(key)); }

DORM__HOT
void dorm__jw_stringn(dorm_jw *w, const char *s, size_t len) {
  sep(w);
  quoted(w, s, len, "a string");
}
DORM__HOT void dorm__jw_string(dorm_jw *w, const char *s) { dorm__jw_stringn(w, s, strlen(s)); }

DORM__HOT void dorm__jw_number_text(dorm_jw *w, const char *text, size_t len) { sep(w); put(w, text, len); }

void dorm__jw_int(dorm_jw *w, int64_t v) {
  char buf[24];
  size_t n = dorm__number_format_i64(v, buf);
  dorm__jw_number_text(w, buf, n);
}

DORM__HOT void dorm__jw_bool(dorm_jw *w, bool v) { sep(w); put(w, v ? "true" : "false", v ? 4 : 5); }
void dorm__jw_null(dorm_jw *w) { sep(w); put(w, "null", 4); }
void dorm__jw_raw_value(dorm_jw *w, const char *json, size_t len) { sep(w); put(w, json, len); }
void dorm__jw_raw(dorm_jw *w, const char *bytes, size_t len) { put(w, bytes, len); }

DORM__HOT
void dorm__jw_member_string(dorm_jw *w, const char *key, const char *value) {
  dorm__jw_key(w, key);
  dorm__jw_string(w, value);
}
void dorm__jw_member_int(dorm_jw *w, const char *key, int64_t v) {
  dorm__jw_key(w, key);
  dorm__jw_int(w, v);
}

/* ---- AttributeValues ----
 * The path to the value being written is a chain of stack frames, turned into
 * text only when an error needs it, so the happy path pays nothing for it. */

typedef struct path_seg {
  const struct path_seg *parent;
  const char *name; /* member name, or NULL for an index */
  size_t len;
  size_t index;
} path_seg;

static void path_text(const path_seg *p, char *buf, size_t cap) {
  const path_seg *chain[DORM_AV_MAX_DEPTH * 2 + 8];
  size_t n = 0;
  for (; p && n < sizeof chain / sizeof chain[0]; p = p->parent) chain[n++] = p;
  size_t o = 0;
  buf[0] = '\0';
  while (n-- > 0 && o + 1 < cap) {
    const path_seg *s = chain[n];
    int k;
    if (s->name) {
      size_t show = s->len > 64 ? 64 : s->len;
      k = snprintf(buf + o, cap - o, "%s%.*s%s", o ? "." : "", (int)show, s->name,
                   show < s->len ? "..." : "");
    } else {
      k = snprintf(buf + o, cap - o, "[%zu]", s->index);
    }
    if (k < 0) break;
    o += (size_t)k;
    if (o >= cap) o = cap - 1;
  }
  if (!buf[0]) snprintf(buf, cap, "(value)");
}

static void av_fail(dorm_jw *w, const path_seg *p, const char *what) {
  char path[160];
  if (w->status != DORM_OK) return;
  path_text(p, path, sizeof path);
  dorm__jw_fail(w, DORM_ERR_INVALID_ARGUMENT, "%s: %s", path, what);
}

/* Set elements DynamoDB would take as equal: bytes for SS and BS, value for
 * NS ("1" and "1.0"), which it refuses ("Input collection contains
 * duplicates"; in a batch that fails the whole request). */
typedef struct set_elem {
  dorm_str s;
  size_t at;
  bool num;
} set_elem;

static int set_elem_cmp(const set_elem *x, const set_elem *y) {
  if (x->num) return dorm__number_compare(x->s.ptr, x->s.len, y->s.ptr, y->s.len);
  size_t n = x->s.len < y->s.len ? x->s.len : y->s.len;
  int c = n ? memcmp(x->s.ptr, y->s.ptr, n) : 0;
  return c ? c : x->s.len < y->s.len ? -1 : x->s.len > y->s.len;
}

static int set_elem_qsort(const void *a, const void *b) {
  const set_elem *x = a, *y = b;
  int c = set_elem_cmp(x, y);
  return c ? c : x->at < y->at ? -1 : x->at > y->at; /* the later of equal elements is reported */
}

/* Fails the writer at the second of two equal elements of a valid set
 * (its elements already checked one by one). Small sets compare every
 * pair; larger ones sort a copy of the elements (malloc'd, freed here). */
DORM__HOT
static void set_dups(dorm_jw *w, const dorm_av *set, const path_seg *p) {
  size_t n = set->u.set.count;
  bool num = set->type == DORM_AV_NS;
  size_t first = 0, second = 0;
  bool dup = false;
  if (n < 2) return;
  if (n <= 16) {
    const dorm_str *it = set->u.set.items;
    for (size_t j = 1; j < n && !dup; j++)
      for (size_t i = 0; i < j && !dup; i++) {
        /* Strings and bytes are equal only at equal lengths (the common
         * case is decided there); numbers by value. */
        bool same;
        if (num) {
          set_elem x = {it[i], i, true}, y = {it[j], j, true};
          same = set_elem_cmp(&x, &y) == 0;
        } else {
          same = it[i].len == it[j].len && (it[i].len == 0 || memcmp(it[i].ptr, it[j].ptr, it[i].len) == 0);
        }
        if (same) {
          dup = true;
          first = i;
          second = j;
        }
      }
  } else {
    set_elem *e = malloc(n * sizeof *e);
    if (!e) {
      dorm__jw_fail(w, DORM_ERR_NO_MEMORY, "out of memory checking a set of %zu elements for duplicates", n);
      return;
    }
    for (size_t i = 0; i < n; i++) e[i] = (set_elem){set->u.set.items[i], i, num};
    qsort(e, n, sizeof *e, set_elem_qsort);
    /* Report the pair whose later element comes first in the set, as the
     * pairwise loop does. */
    for (size_t i = 1; i < n; i++)
      if (set_elem_cmp(&e[i - 1], &e[i]) == 0 && (!dup || e[i].at < second)) {
        size_t k = i - 1;
        while (k > 0 && set_elem_cmp(&e[k - 1], &e[i]) == 0) k--;
        dup = true;
        first = e[k].at;
        second = e[i].at;
      }
    free(e);
  }
  if (!dup) return;
  path_seg seg = {p, NULL, 0, second};
  char what[96];
  snprintf(what, sizeof what, "the same element as [%zu] (DynamoDB refuses a set with duplicates)", first);
  av_fail(w, &seg, what);
}

static inline void type_open(dorm_jw *w, const char *tag, size_t n) {
  /* tag is e.g. {"S": */
  sep(w);
  put(w, tag, n);
}

/* A NUL is found by the escaper (it stops at the first NUL or invalid
 * UTF-8, whichever comes first), so plain text pays nothing for it. */
DORM__HOT
static void av_string(dorm_jw *w, dorm_str s, const path_seg *p) {
  if (quoted_plain(w, s.ptr, s.len)) return;
  size_t bad = 0;
  putc1(w, '"');
  if (!string_body_f(w, s.ptr, s.len, DORM_JSON_ESC_STRICT | DORM_JSON_ESC_NO_NUL, &bad)) {
    char what[128];
    if (bad < s.len && s.ptr[bad] == '\0') nul_message(false, bad, what, sizeof what);
    else snprintf(what, sizeof what, "string is not valid UTF-8 (byte %zu)", bad);
    av_fail(w, p, what);
    return;
  }
  putc1(w, '"');
}

DORM__HOT
static void av_number(dorm_jw *w, dorm_str s, const path_seg *p) {
  const char *why = w->checked ? NULL : dorm__number_invalid_reason(s.ptr, s.len);
  if (why) {
    char what[160];
    snprintf(what, sizeof what, "invalid number \"%.*s\": %s", (int)(s.len > 48 ? 48 : s.len),
             s.ptr ? s.ptr : "", why);
    av_fail(w, p, what);
    return;
  }
  putc1(w, '"');
  put(w, s.ptr, s.len);
  putc1(w, '"');
}

DORM__HOT
static void av_binary(dorm_jw *w, dorm_str s) {
  size_t n = dorm__b64_encoded_len(s.len);
  if (n == SIZE_MAX || !dorm__jw_reserve(w, n + 2)) {
    if (w->status == DORM_OK) dorm__jw_fail(w, DORM_ERR_TOO_LARGE, "binary value too large");
    return;
  }
  w->buf[w->len++] = '"';
  w->len += dorm__b64_encode((const uint8_t *)s.ptr, s.len, w->buf + w->len, DORM_B64_STD);
  w->buf[w->len++] = '"';
}

static void av_value(dorm_jw *w, const dorm_av *av, const path_seg *p, int depth);

/* The common member, a name and an S or N value that need no escaping,
 * written in one go into capacity the buffer already has: most of an item's
 * members, and the bulk of a batch write's CPU before this path. False, with
 * nothing written, when the member is not that simple (the general path
 * below then writes it, or fails with its message). */
static inline bool member_fast(dorm_jw *w, const dorm_av_entry *e, bool comma) {
  const dorm_av *v = &e->value;
  if (v->type != DORM_AV_S && v->type != DORM_AV_N) return false;
  size_t nl = e->name.len, vl = v->u.s.len;
  if (nl == 0 || nl > 1024 || vl > 4096 || w->cap - w->len <= nl + vl + 16) return false;
  if (v->type == DORM_AV_N && !w->checked && dorm__number_invalid_reason(v->u.s.ptr, vl)) return false;
  char *o = w->buf + w->len;
  if (comma) *o++ = ',';
  *o++ = '"';
  if (!dorm__json_plain_copy(o, e->name.ptr, nl)) return false;
  o += nl;
  memcpy(o, v->type == DORM_AV_S ? "\":{\"S\":\"" : "\":{\"N\":\"", 8);
  o += 8;
  if (!dorm__json_plain_copy(o, v->u.s.ptr, vl)) return false;
  o += vl;
  memcpy(o, "\"}", 2);
  w->len = (size_t)(o + 2 - w->buf);
  return true;
}

/* DynamoDB refuses "" as a name at any depth ("Empty attribute name"), and
 * names of 64 KB or more (its naming rules; DynamoDB Local fails those with
 * a 500 that would be retried). */
#define EMPTY_NAME "attribute name is empty (DynamoDB refuses it)"
#define NAME_MAX_BYTES 65535

/* True when s[0..len) is plain ASCII (so valid UTF-8) without a NUL byte
 * (nul_reason): the common case, without a call per string. Words only:
 * the tail is one last overlapping word, a string under 8 bytes one
 * dorm__short_word (a byte loop here was a third of the bulk check). In
 * (x - ones) | x a byte's high bit is set when it is 0 (0 - 1 borrows to
 * 0xff) or from 0x80 up, and a borrow into the next byte only follows a 0,
 * so the test is exact. */
static inline bool ascii_only(const char *s, size_t len) {
  const uint64_t highs = UINT64_C(0x8080808080808080), ones = UINT64_C(0x0101010101010101);
  uint64_t x, bad = 0;
  if (len < 8) {
    x = dorm__short_word(s, len);
    return (((x - ones) | x) & highs) == 0;
  }
  for (size_t i = 0; i + 8 < len; i += 8) { /* the last word always at len - 8, as in dorm__json_plain_copy */
    memcpy(&x, s + i, 8);
    bad |= (x - ones) | x;
  }
  memcpy(&x, s + len - 8, 8);
  bad |= (x - ones) | x;
  return (bad & highs) == 0;
}

/* The message for a name DynamoDB refuses for its length, or NULL. */
static const char *name_len_reason(size_t len, char *buf, size_t cap) {
  if (len == 0) return EMPTY_NAME;
  if (len <= NAME_MAX_BYTES) return NULL;
  snprintf(buf, cap, "attribute name is %zu bytes; DynamoDB allows less than 64 KB", len);
  return buf;
}

/* name_ok's checks one by one, each with its message: the length (the
 * failure names the map, p), then U+0000, then UTF-8 (they name the
 * member). False when the writer failed. */
static bool name_ok_slow(dorm_jw *w, dorm_str name, const path_seg *p) {
  path_seg seg = {p, name.ptr ? name.ptr : "", name.len, 0};
  char msg[128];
  const char *why = name_len_reason(name.len, msg, sizeof msg);
  if (why) {
    av_fail(w, p, why);
    return false;
  }
  if (nul_reason(name.ptr, name.len, true, msg, sizeof msg)) {
    av_fail(w, &seg, msg);
    return false;
  }
  if (!dorm__utf8_valid(name.ptr, name.len, NULL)) {
    av_fail(w, &seg, "attribute name is not valid UTF-8");
    return false;
  }
  return true;
}

/* A map naming a member twice (dorm_av_map_add does not look): DynamoDB
 * keeps the last value and dorm_av_map_get finds the first, so what would be
 * stored is not what the caller reads back from its own value. Asked after
 * the members' names have passed name_ok, by the writer and the check both,
 * with the reader's search (pairs up to 8 members, a hash table beyond):
 * ~1.4k instructions of a ~172k-instruction put of the bench item. */
static bool names_once(dorm_jw *w, const dorm_av *m, const path_seg *p) {
  size_t n = m->u.map.count;
  if (n < 2) return true;
  size_t d = dorm__jr_find_duplicate(m->u.map.items, n, sizeof *m->u.map.items);
  if (d == n) return true;
  const dorm_av_entry *e = &m->u.map.items[d];
  path_seg seg = {p, e->name.ptr, e->name.len, 0};
  av_fail(w, &seg, "named twice in its map (DynamoDB would keep the last value, dorm_av_map_get finds the first)");
  return false;
}

/* Whether a member's name may be sent (the writer and the check both ask
 * here, so they refuse the same names with the same messages): not empty,
 * under 64 KB, no U+0000, valid UTF-8. A short ASCII name, nearly every
 * one, is decided by its length and one word. */
static inline bool name_ok(dorm_jw *w, dorm_str name, const path_seg *p) {
  if (name.len - 1 < NAME_MAX_BYTES && ascii_only(name.ptr, name.len)) return true;
  return name_ok_slow(w, name, p);
}

DORM__HOT
static void av_members(dorm_jw *w, const dorm_av *m, const path_seg *p, int depth) {
  putc1(w, '{');
  /* The status is read after what can fail, not per member (member_fast
   * cannot fail). */
  for (size_t i = 0; i < m->u.map.count; i++) {
    const dorm_av_entry *e = &m->u.map.items[i];
    if (member_fast(w, e, i != 0)) continue;
    if (!name_ok(w, e->name, p)) return;
    path_seg seg = {p, e->name.ptr ? e->name.ptr : "", e->name.len, 0};
    if (i) putc1(w, ',');
    if (!quoted_plain(w, e->name.ptr, e->name.len)) {
      putc1(w, '"');
      /* Valid UTF-8 without a NUL (name_ok): escaped without checking again. */
      if (!dorm__json_escape(&w->text, e->name.ptr, e->name.len, DORM_JSON_ESC_SHORT_BF, NULL)) {
        buffer_failed(w);
        return;
      }
      putc1(w, '"');
    }
    putc1(w, ':');
    av_value(w, &e->value, &seg, depth);
    if (w->status != DORM_OK) return;
  }
  if (names_once(w, m, p)) putc1(w, '}');
}

DORM__HOT
static void av_value(dorm_jw *w, const dorm_av *av, const path_seg *p, int depth) {
  if (w->status != DORM_OK) return;
  switch (av->type) {
  case DORM_AV_S:
    type_open(w, "{\"S\":", 5);
    av_string(w, av->u.s, p);
    break;
  case DORM_AV_N:
    type_open(w, "{\"N\":", 5);
    av_number(w, av->u.s, p);
    break;
  case DORM_AV_B:
    type_open(w, "{\"B\":", 5);
    av_binary(w, av->u.s);
    break;
  case DORM_AV_BOOL:
    sep(w);
    if (av->u.boolean) put(w, "{\"BOOL\":true", 12);
    else put(w, "{\"BOOL\":false", 13);
    break;
  case DORM_AV_NULL:
    sep(w);
    put(w, "{\"NULL\":true", 12);
    break;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS: {
    if (av->u.set.count == 0) {
      av_fail(w, p, "a set cannot be empty (DynamoDB has no empty SS/NS/BS; omit it or use NULL)");
      return;
    }
    type_open(w, av->type == DORM_AV_SS ? "{\"SS\":[" : av->type == DORM_AV_NS ? "{\"NS\":[" : "{\"BS\":[", 7);
    for (size_t i = 0; i < av->u.set.count && w->status == DORM_OK; i++) {
      path_seg seg = {p, NULL, 0, i};
      if (i) putc1(w, ',');
      if (av->type == DORM_AV_SS) av_string(w, av->u.set.items[i], &seg);
      else if (av->type == DORM_AV_NS) av_number(w, av->u.set.items[i], &seg);
      else av_binary(w, av->u.set.items[i]);
    }
    if (w->status == DORM_OK) set_dups(w, av, p);
    putc1(w, ']');
    break;
  }
  case DORM_AV_L:
    if (depth >= DORM_AV_MAX_DEPTH) {
      av_fail(w, p, "nested deeper than 32 levels");
      return;
    }
    type_open(w, "{\"L\":[", 6);
    for (size_t i = 0; i < av->u.list.count && w->status == DORM_OK; i++) {
      path_seg seg = {p, NULL, 0, i};
      av_value(w, &av->u.list.items[i], &seg, depth + 1); /* sep() adds the comma */
    }
    putc1(w, ']');
    break;
  case DORM_AV_M:
    if (depth >= DORM_AV_MAX_DEPTH) {
      av_fail(w, p, "nested deeper than 32 levels");
      return;
    }
    type_open(w, "{\"M\":", 5);
    av_members(w, av, p, depth + 1);
    break;
  default:
    av_fail(w, p, "value has no valid type (a zeroed or corrupted dorm_av)");
    return;
  }
  putc1(w, '}');
}

DORM__HOT
void dorm__jw_av(dorm_jw *w, const dorm_av *av, const char *where) {
  path_seg root = {NULL, where ? where : "", where ? strlen(where) : 0, 0};
  av_value(w, av, where ? &root : NULL, 0);
}

DORM__HOT
void dorm__jw_item(dorm_jw *w, const dorm_av *item, const char *where) {
  path_seg root = {NULL, where ? where : "", where ? strlen(where) : 0, 0};
  if (w->status != DORM_OK) return;
  if (!item || item->type != DORM_AV_M) {
    av_fail(w, where ? &root : NULL, "an item must be a map (DORM_AV_M)");
    return;
  }
  sep(w);
  av_members(w, item, where ? &root : NULL, 0);
}

DORM__HOT
void dorm__jw_item_checked(dorm_jw *w, const dorm_av *item, const char *where) {
  w->checked = true;
  dorm__jw_item(w, item, where);
  w->checked = false;
}

/* ---- checking without writing ----
 * The same walk as av_value, in the same order, with the same failures and
 * messages, but nothing is written: callers that check a whole input before
 * sending any of it (dorm_batch_write) then write each value once, into its
 * request. Only the writer's buffer limits are not checked here (they are
 * the request's, not the value's). */

/* As av_string: the first NUL or invalid UTF-8, whichever comes first. */
DORM__HOT
static void chk_string(dorm_jw *w, dorm_str s, const path_seg *p) {
  size_t bad = 0;
  if (ascii_only(s.ptr, s.len)) return;
  const char *z = s.len ? memchr(s.ptr, 0, s.len) : NULL;
  bool valid = dorm__utf8_valid(s.ptr, s.len, &bad);
  char what[128];
  if (z && (valid || (size_t)(z - s.ptr) < bad)) nul_message(false, (size_t)(z - s.ptr), what, sizeof what);
  else if (!valid) snprintf(what, sizeof what, "string is not valid UTF-8 (byte %zu)", bad);
  else return;
  av_fail(w, p, what);
}

DORM__HOT
static void chk_number(dorm_jw *w, dorm_str s, const path_seg *p) {
  const char *why = dorm__number_invalid_reason(s.ptr, s.len);
  if (!why) return;
  char what[160];
  snprintf(what, sizeof what, "invalid number \"%.*s\": %s", (int)(s.len > 48 ? 48 : s.len), s.ptr ? s.ptr : "",
           why);
  av_fail(w, p, what);
}

static void chk_value(dorm_jw *w, const dorm_av *av, const path_seg *p, int depth);

/* The size bound (dorm_jw.size_bound): every value counts its bytes plus
 * CHK_NODE, every member its name. DynamoDB counts a string or binary's
 * bytes, a number's 1 + (significant digits + 1) / 2 (at most its length +
 * 2), 1 for BOOL/NULL, and 3 + 1 per element for a list or map: each within
 * that. */
#define CHK_NODE 4

/* The map's own part of the bound is summed in a local (the writer's field
 * would be stored at every member: the calls may alias it) and added before
 * a value that sums its own, and at the end. The status is read only after
 * what can fail. */
DORM__HOT
static void chk_members(dorm_jw *w, const dorm_av *m, const path_seg *p, int depth) {
  size_t bound = 0;
  for (size_t i = 0; i < m->u.map.count; i++) {
    const dorm_av_entry *e = &m->u.map.items[i];
    const dorm_av *v = &e->value;
    bound += e->name.len;
    if (v->type == DORM_AV_S || v->type == DORM_AV_N) bound += CHK_NODE + v->u.s.len;
    if (!name_ok(w, e->name, p)) return;
    /* The common value, a plain S or a valid N, passes here. */
    if (v->type == DORM_AV_S ? ascii_only(v->u.s.ptr, v->u.s.len)
                             : v->type == DORM_AV_N && !dorm__number_invalid_reason(v->u.s.ptr, v->u.s.len))
      continue;
    path_seg seg = {p, e->name.ptr ? e->name.ptr : "", e->name.len, 0};
    w->size_bound += bound;
    bound = 0;
    chk_value(w, &e->value, &seg, depth);
    if (w->status != DORM_OK) return;
  }
  w->size_bound += bound;
  names_once(w, m, p);
}

/* A map's member values count their own bytes in chk_members when S or N. */
DORM__HOT
static void chk_value(dorm_jw *w, const dorm_av *av, const path_seg *p, int depth) {
  if (w->status != DORM_OK) return;
  if (av->type != DORM_AV_S && av->type != DORM_AV_N) w->size_bound += CHK_NODE;
  switch (av->type) {
  case DORM_AV_S: chk_string(w, av->u.s, p); break;
  case DORM_AV_N: chk_number(w, av->u.s, p); break;
  case DORM_AV_B:
    w->size_bound += av->u.s.len;
    if (dorm__b64_encoded_len(av->u.s.len) == SIZE_MAX) av_fail(w, p, "binary value too large");
    break;
  case DORM_AV_BOOL:
  case DORM_AV_NULL: break;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    if (av->u.set.count == 0) {
      av_fail(w, p, "a set cannot be empty (DynamoDB has no empty SS/NS/BS; omit it or use NULL)");
      return;
    }
    for (size_t i = 0; i < av->u.set.count && w->status == DORM_OK; i++) {
      path_seg seg = {p, NULL, 0, i};
      w->size_bound += CHK_NODE + av->u.set.items[i].len;
      if (av->type == DORM_AV_SS) chk_string(w, av->u.set.items[i], &seg);
      else if (av->type == DORM_AV_NS) chk_number(w, av->u.set.items[i], &seg);
      else if (dorm__b64_encoded_len(av->u.set.items[i].len) == SIZE_MAX) av_fail(w, &seg, "binary value too large");
    }
    if (w->status == DORM_OK) set_dups(w, av, p);
    break;
  case DORM_AV_L:
    if (depth >= DORM_AV_MAX_DEPTH) {
      av_fail(w, p, "nested deeper than 32 levels");
      return;
    }
    for (size_t i = 0; i < av->u.list.count && w->status == DORM_OK; i++) {
      path_seg seg = {p, NULL, 0, i};
      const dorm_av *x = &av->u.list.items[i];
      if (x->type == DORM_AV_S || x->type == DORM_AV_N) w->size_bound += CHK_NODE + x->u.s.len;
      chk_value(w, x, &seg, depth + 1);
    }
    break;
  case DORM_AV_M:
    if (depth >= DORM_AV_MAX_DEPTH) {
      av_fail(w, p, "nested deeper than 32 levels");
      return;
    }
    chk_members(w, av, p, depth + 1);
    break;
  default: av_fail(w, p, "value has no valid type (a zeroed or corrupted dorm_av)"); break;
  }
}

DORM__HOT
dorm_status dorm__jw_check_item(dorm_jw *w, const dorm_av *item, const char *where) {
  path_seg root = {NULL, where ? where : "", where ? strlen(where) : 0, 0};
  w->size_bound = 0;
  if (w->status != DORM_OK) return w->status;
  if (!item || item->type != DORM_AV_M) av_fail(w, where ? &root : NULL, "an item must be a map (DORM_AV_M)");
  else chk_members(w, item, where ? &root : NULL, 0);
  return w->status;
}

/* ---- public one-shot helpers ---- */

static dorm_status to_json(const dorm_av *av, bool item, dorm_arena *a, size_t max, const char **json,
                           size_t *len, char *errbuf, size_t errcap) {
  dorm_jw w;
  dorm__jw_init(&w, max);
  if (!av) dorm__jw_fail(&w, DORM_ERR_INVALID_ARGUMENT, "no value given");
  else if (item) dorm__jw_item(&w, av, NULL);
  else dorm__jw_av(&w, av, NULL);
  const char *out = NULL;
  size_t n = 0;
  dorm_status st = dorm__jw_finish(&w, &out, &n);
  if (st == DORM_OK) {
    char *copy = dorm_arena_memdup(a, out, n + 1);
    if (!copy) st = dorm__jw_fail(&w, DORM_ERR_NO_MEMORY, "out of memory copying the JSON text");
    else {
      if (json) *json = copy;
      if (len) *len = n;
    }
  }
  if (st != DORM_OK && errbuf && errcap) snprintf(errbuf, errcap, "%s", w.err);
  dorm__jw_free(&w);
  return st;
}

dorm_status dorm_av_to_json(const dorm_av *av, dorm_arena *a, size_t max_bytes, const char **json,
                            size_t *len, char *errbuf, size_t errcap) {
  return to_json(av, false, a, max_bytes, json, len, errbuf, errcap);
}

dorm_status dorm_item_to_json(const dorm_av *item, dorm_arena *a, size_t max_bytes, const char **json,
                              size_t *len, char *errbuf, size_t errcap) {
  return to_json(item, true, a, max_bytes, json, len, errbuf, errcap);
}
