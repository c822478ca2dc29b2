/* Canonical text of `json` fields: the user's JSON parsed with cJSON and
 * written back with object keys sorted by their UTF-8 bytes at every level,
 * no whitespace, minimal string escaping and numbers in the shortest form
 * that reads back as the same double, laid out as ECMAScript (and Go's
 * encoding/json) print them. Equal documents give equal bytes, so stored
 * values compare and deduplicate as text. Numbers are IEEE doubles here, as
 * in JavaScript: integers beyond 2^53 lose precision. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "model_internal.h"

typedef struct canon {
  model_sbuf *out;
  char *why;
  size_t whycap;
  dorm_status st;
} canon;

/* The first error (status and message) wins. */
#define cfail(c, status, ...) dorm__fail_first(&(c)->st, (c)->why, (c)->whycap, (status), __VA_ARGS__)

static void put(canon *c, const char *s, size_t n) {
  if (c->st == DORM_OK && !dorm__buf_put(&c->out->buf, s, n)) cfail(c, DORM_ERR_NO_MEMORY, "out of memory");
}

static void put_string(canon *c, const char *s) {
  size_t len = strlen(s), bad;
  if (!dorm__utf8_valid(s, len, &bad)) {
    cfail(c, DORM_ERR_INVALID_ARGUMENT, "a string is not valid UTF-8: \"%.40s\"", s);
    return;
  }
  put(c, "\"", 1);
  if (c->st == DORM_OK && !dorm__json_escape(&c->out->buf, s, len, DORM_JSON_ESC_STRICT, NULL))
    cfail(c, DORM_ERR_NO_MEMORY, "out of memory");
  put(c, "\"", 1);
}

/* ECMAScript Number::toString layout of the shortest round-trip digits. */
static void put_number(canon *c, double v) {
  if (!isfinite(v)) {
    cfail(c, DORM_ERR_INVALID_ARGUMENT, "a number is out of range (not a finite double)");
    return;
  }
  if (v == 0) {
    put(c, "0", 1); /* -0 too */
    return;
  }
  char text[40];
  size_t n = dorm__number_format_double(v, text);
  /* text is like "-1.5e-07", "123.25", "1e+21": collect digits and the
   * decimal point position. */
  char digits[40];
  size_t nd = 0, i = 0;
  long point = 0;
  bool neg = false, seen_point = false;
  if (i < n && text[i] == '-') {
    neg = true;
    i++;
  }
  for (; i < n && text[i] != 'e' && text[i] != 'E'; i++) {
    if (text[i] == '.') {
      seen_point = true;
      continue;
    }
    digits[nd++] = text[i];
    if (!seen_point) point++;
  }
  if (i < n) point += strtol(text + i + 1, NULL, 10);
  size_t lead = 0;
  while (lead < nd && digits[lead] == '0') {
    lead++;
    point--;
  }
  while (nd > lead && digits[nd - 1] == '0') nd--;
  const char *d = digits + lead;
  long k = (long)(nd - lead);
  char out[64];
  size_t o = 0;
  if (neg) out[o++] = '-';
  if (k <= point && point <= 21) {
    memcpy(out + o, d, (size_t)k);
    o += (size_t)k;
    for (long z = k; z < point; z++) out[o++] = '0';
  } else if (0 < point && point <= 21) {
    memcpy(out + o, d, (size_t)point);
    o += (size_t)point;
    out[o++] = '.';
    memcpy(out + o, d + point, (size_t)(k - point));
    o += (size_t)(k - point);
  } else if (-6 < point && point <= 0) {
    out[o++] = '0';
    out[o++] = '.';
    for (long z = 0; z < -point; z++) out[o++] = '0';
    memcpy(out + o, d, (size_t)k);
    o += (size_t)k;
  } else {
    out[o++] = d[0];
    if (k > 1) {
      out[o++] = '.';
      memcpy(out + o, d + 1, (size_t)(k - 1));
      o += (size_t)(k - 1);
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "e%c%ld", point - 1 >= 0 ? '+' : '-', labs(point - 1));
  }
  put(c, out, o);
}

static int cmp_member(const void *a, const void *b) {
  return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static void put_value(canon *c, const cJSON *j) {
  if (c->st != DORM_OK) return;
  if (cJSON_IsObject(j)) {
    size_t n = 0;
    for (const cJSON *k = j->child; k; k = k->next) n++;
    const cJSON **m = n ? malloc(n * sizeof *m) : NULL;
    if (n && !m) {
      cfail(c, DORM_ERR_NO_MEMORY, "out of memory");
      return;
    }
    n = 0;
    for (const cJSON *k = j->child; k; k = k->next) m[n++] = k;
    if (n > 1) qsort(m, n, sizeof *m, cmp_member);
    put(c, "{", 1);
    for (size_t i = 0; i < n && c->st == DORM_OK; i++) {
      if (i && strcmp(m[i - 1]->string, m[i]->string) == 0) {
        cfail(c, DORM_ERR_INVALID_ARGUMENT, "an object has the key \"%.40s\" twice", m[i]->string);
        break;
      }
      if (i) put(c, ",", 1);
      put_string(c, m[i]->string);
      put(c, ":", 1);
      put_value(c, m[i]);
    }
    put(c, "}", 1);
    free(m);
  } else if (cJSON_IsArray(j)) {
    put(c, "[", 1);
    for (const cJSON *k = j->child; k && c->st == DORM_OK; k = k->next) {
      if (k != j->child) put(c, ",", 1);
      put_value(c, k);
    }
    put(c, "]", 1);
  } else if (cJSON_IsString(j)) {
    put_string(c, j->valuestring);
  } else if (cJSON_IsNumber(j)) {
    put_number(c, j->valuedouble);
  } else if (cJSON_IsTrue(j)) {
    put(c, "true", 4);
  } else if (cJSON_IsFalse(j)) {
    put(c, "false", 5);
  } else if (cJSON_IsNull(j)) {
    put(c, "null", 4);
  } else {
    cfail(c, DORM_ERR_INVALID_ARGUMENT, "unsupported JSON value");
  }
}

/* ---- the fast path: plain documents without a tree ----
 *
 * Every stored message's `json` field comes this way (the streamer's
 * progress payloads): cJSON's tree (a malloc per value) and its walk were
 * ~3 % of the streamer's CPU. Documents whose strings are printable ASCII
 * without escapes, at most FAST_MAX_DEPTH deep with at most
 * FAST_MAX_MEMBERS members per object, are written straight from the text,
 * members sorted in place and numbers through put_number as above: the
 * same bytes as the tree's walk. Anything else (escapes, other bytes,
 * duplicate keys, malformed text, a number out of range) returns false
 * and goes the tree's way, which also words the errors. */

#define FAST_MAX_DEPTH 32
#define FAST_MAX_MEMBERS 64

typedef struct fscan {
  const char *s;
  size_t n, i;
  canon *c;
} fscan;

typedef struct fmember {
  size_t kb, ke; /* the key's bytes: s[kb..ke) */
  size_t v;      /* where its value starts */
} fmember;

static void fws(fscan *f) {
  while (f->i < f->n && (f->s[f->i] == ' ' || f->s[f->i] == '\t' || f->s[f->i] == '\n' || f->s[f->i] == '\r')) f->i++;
}

static bool fat(const fscan *f, char ch) { return f->i < f->n && f->s[f->i] == ch; }

/* Where a scalar may end: the end, a separator, or whitespace. */
static bool fdelim(const fscan *f) {
  if (f->i >= f->n) return true;
  char ch = f->s[f->i];
  return ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The string at f->i: its content s[*b..*e), when plain (printable ASCII,
 * no backslash). */
static bool fstring(fscan *f, size_t *b, size_t *e) {
  size_t i = f->i + 1;
  *b = i;
  for (; i < f->n; i++) {
    unsigned char ch = (unsigned char)f->s[i];
    if (ch == '"') {
      *e = i;
      f->i = i + 1;
      return true;
    }
    if (ch < 0x20 || ch >= 0x7f || ch == '\\') return false;
  }
  return false;
}

/* A number in JSON's grammar, written as put_number writes cJSON's double. */
static bool fnumber(fscan *f) {
  size_t b = f->i, i = b;
  if (i < f->n && f->s[i] == '-') i++;
  size_t d0 = i;
  if (i < f->n && f->s[i] == '0') i++;
  else if (i < f->n && f->s[i] >= '1' && f->s[i] <= '9')
    while (i < f->n && f->s[i] >= '0' && f->s[i] <= '9') i++;
  else return false;
  if (i - d0 <= 15 && (i == f->n || (f->s[i] != '.' && f->s[i] != 'e' && f->s[i] != 'E'))) {
    /* an integer below 10^15 is exact in a double and put_number writes
     * its digits (zero as 0): no conversion there and back */
    f->i = i;
    if (!fdelim(f)) return false;
    if (f->s[d0] == '0') put(f->c, "0", 1);
    else put(f->c, f->s + b, i - b);
    return f->c->st == DORM_OK;
  }
  if (i < f->n && f->s[i] == '.') {
    size_t d = ++i;
    while (i < f->n && f->s[i] >= '0' && f->s[i] <= '9') i++;
    if (i == d) return false;
  }
  if (i < f->n && (f->s[i] == 'e' || f->s[i] == 'E')) {
    i++;
    if (i < f->n && (f->s[i] == '+' || f->s[i] == '-')) i++;
    size_t d = i;
    while (i < f->n && f->s[i] >= '0' && f->s[i] <= '9') i++;
    if (i == d) return false;
  }
  f->i = i;
  if (!fdelim(f) || i - b >= 64) return false;
  char text[64];
  memcpy(text, f->s + b, i - b);
  text[i - b] = '\0';
  double v = strtod(text, NULL); /* cJSON's own conversion of the same characters */
  if (!isfinite(v)) return false;
  put_number(f->c, v);
  return f->c->st == DORM_OK;
}

static int fkey_cmp(const fscan *f, const fmember *a, const fmember *b) {
  size_t la = a->ke - a->kb, lb = b->ke - b->kb;
  int r = memcmp(f->s + a->kb, f->s + b->kb, la < lb ? la : lb);
  return r ? r : (la < lb ? -1 : la > lb);
}

/* The value at f->i, written canonically (emit) or only scanned. */
static bool fvalue(fscan *f, bool emit, int depth) {
  fws(f);
  if (f->i >= f->n) return false;
  char ch = f->s[f->i];
  if (ch == '{') {
    if (depth >= FAST_MAX_DEPTH) return false;
    fmember m[FAST_MAX_MEMBERS];
    size_t k = 0;
    f->i++;
    fws(f);
    if (!fat(f, '}')) {
      for (;;) {
        if (k == FAST_MAX_MEMBERS || !fat(f, '"') || !fstring(f, &m[k].kb, &m[k].ke)) return false;
        fws(f);
        if (!fat(f, ':')) return false;
        f->i++;
        fws(f);
        m[k].v = f->i;
        if (!fvalue(f, false, depth + 1)) return false;
        k++;
        fws(f);
        if (!fat(f, ',')) break;
        f->i++;
        fws(f);
      }
      if (!fat(f, '}')) return false;
    }
    f->i++;
    if (!emit) return true;
    for (size_t a = 1; a < k; a++) { /* insertion sort: a few members */
      fmember x = m[a];
      size_t b = a;
      for (; b > 0 && fkey_cmp(f, &m[b - 1], &x) > 0; b--) m[b] = m[b - 1];
      m[b] = x;
    }
    put(f->c, "{", 1);
    for (size_t a = 0; a < k; a++) {
      if (a && fkey_cmp(f, &m[a - 1], &m[a]) == 0) return false; /* the tree's way says so */
      if (a) put(f->c, ",", 1);
      put(f->c, "\"", 1);
      put(f->c, f->s + m[a].kb, m[a].ke - m[a].kb);
      put(f->c, "\":", 2);
      fscan g = {f->s, f->n, m[a].v, f->c};
      if (!fvalue(&g, true, depth + 1)) return false;
    }
    put(f->c, "}", 1);
    return f->c->st == DORM_OK;
  }
  if (ch == '[') {
    if (depth >= FAST_MAX_DEPTH) return false;
    f->i++;
    fws(f);
    if (emit) put(f->c, "[", 1);
    if (!fat(f, ']')) {
      for (bool first = true;; first = false) {
        if (emit && !first) put(f->c, ",", 1);
        if (!fvalue(f, emit, depth + 1)) return false;
        fws(f);
        if (!fat(f, ',')) break;
        f->i++;
      }
      if (!fat(f, ']')) return false;
    }
    f->i++;
    if (emit) put(f->c, "]", 1);
    return f->c->st == DORM_OK;
  }
  if (ch == '"') {
    size_t b, e;
    if (!fstring(f, &b, &e)) return false;
    if (emit) put(f->c, f->s + b - 1, e - b + 2);
    return f->c->st == DORM_OK;
  }
  if (ch == '-' || (ch >= '0' && ch <= '9')) {
    if (emit) return fnumber(f);
    while (!fdelim(f)) f->i++; /* only scanned: fnumber checks it when its object writes it */
    return true;
  }
  static const char *const lit[] = {"true", "false", "null"};
  for (int l = 0; l < 3; l++) {
    size_t ln = strlen(lit[l]);
    if (f->n - f->i >= ln && memcmp(f->s + f->i, lit[l], ln) == 0) {
      f->i += ln;
      if (!fdelim(f)) return false;
      if (emit) put(f->c, lit[l], ln);
      return f->c->st == DORM_OK;
    }
  }
  return false;
}

dorm_status dorm__model_json_canonical(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap) {
  size_t start = out->len;
  canon fc = {out, why, whycap, DORM_OK};
  fscan f = {text, len, 0, &fc};
  if (text && fvalue(&f, true, 0)) {
    fws(&f);
    if (f.i == f.n) return DORM_OK;
  }
  /* not plain (or not valid): the tree's way, from the start */
  out->buf.len = start;
  if (out->p) out->p[start] = '\0';
  if (why && whycap) why[0] = '\0';
  return dorm__model_json_canonical_tree(text, len, out, why, whycap);
}

dorm_status dorm__model_json_canonical_tree(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap) {
  cJSON *root = NULL;
  char err[160];
  /* dorm__json_parse: cJSON with length, no trailing garbage, no U+0000. */
  if (dorm__json_parse(text, len, &root, err, sizeof err) != DORM_OK) {
    if (why && whycap) snprintf(why, whycap, "%s", err);
    return DORM_ERR_INVALID_ARGUMENT;
  }
  canon c = {out, why, whycap, DORM_OK};
  put_value(&c, root);
  cJSON_Delete(root);
  return c.st;
}
