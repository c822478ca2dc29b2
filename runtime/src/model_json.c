/* The fast DynamoDB JSON reader for model operations.
 *
 * Why not cJSON here: cJSON builds a tree with one malloc per value and per
 * string and then the tree is converted again; on a 1.4 KB item that is
 * ~7.5 of ~9.7 us (bench/av_bench "read" vs "convert"), which alone makes
 * the unmarshal target (10x the AWS SDK for JavaScript) unreachable. This
 * reader goes from the response text to dorm_av values in one pass, with
 * the arena as its only allocator: strings are unescaped straight into
 * their final place, container elements are gathered on a scratch stack and
 * copied out once.
 *
 * It is as strict as json_read.c (the cJSON-based reader), and the tests
 * check the two agree: RFC 8259 syntax, UTF-8, no U+0000, every
 * AttributeValue an object with exactly one known type key and a value of
 * the right JSON type, valid DynamoDB numbers, strict base64, non-empty
 * sets, no attribute twice in one map, nesting bounded by
 * DORM_READ_MAX_DEPTH. Members of the response it does not need are checked
 * and skipped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json_read.h"
#include "model_internal.h"
#include "number.h"
#include "utf8.h"

/* ---- reader state (struct mj and rp: model_internal.h) ---- */

static inline char *bytes_for(mj *r, size_t n) {
  if ((size_t)(r->pool_end - r->pool) >= n) {
    char *p = r->pool;
    r->pool += n;
    return p;
  }
  return dorm_arena_alloc_aligned(r->a, n, 1);
}

void mj_path_text(const rp *p, char *buf, size_t cap) {
  const rp *chain[DORM_READ_MAX_DEPTH * 2 + 8];
  size_t n = 0, o = 0;
  for (; p && n < sizeof chain / sizeof chain[0]; p = p->parent) chain[n++] = p;
  buf[0] = '\0';
  while (n-- > 0 && o + 1 < cap) {
    const rp *s = chain[n];
    int k = s->name ? snprintf(buf + o, cap - o, "%s%.*s", o ? "." : "", (int)(s->len > 64 ? 64 : s->len), s->name)
                    : snprintf(buf + o, cap - o, "[%zu]", s->index);
    if (k < 0) break;
    o += (size_t)k;
    if (o >= cap) o = cap - 1;
  }
  if (!buf[0]) snprintf(buf, cap, "(value)");
}

dorm_status mj_fail(mj *r, const rp *p, dorm_status st, const char *fmt, ...) {
  if (r->err && r->errcap) {
    char path[192], what[224];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mj_path_text(p, path, sizeof path);
    snprintf(r->err, r->errcap, "%s: %s (at byte %zu)", path, what, (size_t)(r->p - r->start));
  }
  return st;
}

dorm_status mj_syntax(mj *r, const rp *p, const char *what) {
  if (r->p >= r->end) return mj_fail(r, p, DORM_ERR_BAD_RESPONSE, "malformed JSON: unexpected end, %s", what);
  return mj_fail(r, p, DORM_ERR_BAD_RESPONSE, "malformed JSON: %s", what);
}

dorm_status mj_oom(mj *r, const rp *p) { return mj_fail(r, p, DORM_ERR_NO_MEMORY, "out of memory"); }

/* Pushes size bytes (a multiple of 8) on the scratch stack. */
void *mj_push(mj *r, size_t size) {
  if (r->cap - r->sp < size) {
    size_t cap = r->cap * 2;
    while (cap - r->sp < size) cap *= 2;
    char *s = r->heap ? realloc(r->stack, cap) : malloc(cap);
    if (!s) return NULL;
    if (!r->heap) memcpy(s, r->stack, r->sp);
    r->stack = s;
    r->cap = cap;
    r->heap = true;
  }
  void *p = r->stack + r->sp;
  r->sp += size;
  return p;
}

/* Copies the elements pushed since base into the arena and pops them. */
void *mj_pop(mj *r, size_t base) {
  size_t n = r->sp - base;
  r->sp = base;
  if (n == 0) return NULL;
  void *out = dorm_arena_alloc(r->a, n);
  if (out) memcpy(out, r->stack + base, n);
  return out;
}


/* ---- strings ---- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(s[i]);
    if (h < 0) return false;
    v = v * 16 + (unsigned)h;
  }
  *out = v;
  return true;
}

/* SWAR: a byte in x that ends the plain run of a JSON string ('"', '\\',
 * a control character, or non-ASCII). */
static inline bool word_special(uint64_t x) {
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
  uint64_t t = (x - ones * 0x20) | (quote - ones) | (bslash - ones) | x;
  return (t & highs) != 0;
}

/* Reads a JSON string at r->p (at its opening quote) into the arena
 * (NUL-terminated), or only validates it when out is NULL. */
dorm_status mj_read_string(mj *r, const rp *path, dorm_str *out, const char *what) {
  mj_ws(r);
  if (r->p >= r->end || *r->p != '"') return mj_syntax(r, path, what);
  const char *s = ++r->p, *e = r->end;
  const char *q = s;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* Fastest path: copy into the pool eight bytes at a time while looking
   * for the end (the pool always has room for the rest of the text). */
  if (out && (size_t)(r->pool_end - r->pool) >= (size_t)(e - s)) {
    char *d = r->pool;
    for (;;) {
      if (e - q >= 8) {
        uint64_t x;
        memcpy(&x, q, 8);
        memcpy(d + (q - s), &x, 8);
        uint64_t m = mj_special_mask(x);
        if (!m) {
          q += 8;
          continue;
        }
        q += __builtin_ctzll(m) / 8;
      } else {
        while (q < e && mj_plain_byte((unsigned char)*q)) {
          d[q - s] = *q;
          q++;
        }
      }
      break;
    }
    if (q < e && *q == '"') {
      size_t n = (size_t)(q - s);
      d[n] = '\0';
      r->pool += n + 1;
      out->ptr = d;
      out->len = n;
      r->p = q + 1;
      return DORM_OK;
    }
    /* escapes or UTF-8: the general path below (the pool is untouched) */
  }
#endif
  /* Fast path: printable ASCII up to the closing quote. */
  while (e - q >= 8) {
    uint64_t x;
    memcpy(&x, q, 8);
    if (word_special(x)) break;
    q += 8;
  }
  while (q < e && mj_plain_byte((unsigned char)*q)) q++;
  if (q < e && *q == '"') {
    size_t n = (size_t)(q - s);
    if (out) {
      char *c = bytes_for(r, n + 1);
      if (!c) return mj_oom(r, path);
      memcpy(c, s, n);
      c[n] = '\0';
      out->ptr = c;
      out->len = n;
    }
    r->p = q + 1;
    return DORM_OK;
  }
  /* General path: find the end, then decode (never longer than the text). */
  const char *t = q;
  while (t < e && *t != '"') {
    if (*t == '\\') t++;
    t++;
  }
  if (t >= e) {
    r->p = e;
    return mj_syntax(r, path, "unterminated string");
  }
  char *o = NULL, *o0 = NULL;
  if (out) {
    o0 = o = bytes_for(r, (size_t)(t - s) + 1);
    if (!o) return mj_oom(r, path);
    memcpy(o, s, (size_t)(q - s));
    o += q - s;
  }
  const char *i = q;
  while (i < t) {
    unsigned char c = (unsigned char)*i;
    if (c == '\\') {
      char k = i[1];
      unsigned cp;
      i += 2;
      switch (k) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        if (t - i < 4 || !hex4(i, &cp)) {
          r->p = i;
          return mj_syntax(r, path, "bad \\u escape");
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (t - i < 6 || i[0] != '\\' || i[1] != 'u' || !hex4(i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            r->p = i;
            return mj_syntax(r, path, "unpaired UTF-16 surrogate in a \\u escape");
          }
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          r->p = i;
          return mj_syntax(r, path, "unpaired UTF-16 surrogate in a \\u escape");
        }
        if (cp == 0) {
          r->p = i;
          return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a string contains U+0000, which this reader cannot represent");
        }
        break;
      default:
        r->p = i - 1;
        return mj_syntax(r, path, "bad escape in a string");
      }
      if (o) {
        if (cp < 0x80) *o++ = (char)cp;
        else if (cp < 0x800) {
          *o++ = (char)(0xC0 | (cp >> 6));
          *o++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          *o++ = (char)(0xE0 | (cp >> 12));
          *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
          *o++ = (char)(0x80 | (cp & 0x3F));
        } else {
          *o++ = (char)(0xF0 | (cp >> 18));
          *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
          *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
          *o++ = (char)(0x80 | (cp & 0x3F));
        }
      }
    } else if (c < 0x20) {
      r->p = i;
      return mj_syntax(r, path, "control character in a string");
    } else if (c < 0x80) {
      if (o) *o++ = (char)c;
      i++;
    } else {
      size_t n = dorm_utf8_seq((const unsigned char *)i, (size_t)(t - i));
      if (n == 0) {
        r->p = i;
        return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "%s is not valid UTF-8", what);
      }
      if (o) {
        memcpy(o, i, n);
        o += n;
      }
      i += n;
    }
  }
  if (o) {
    *o = '\0';
    out->ptr = o0;
    out->len = (size_t)(o - o0);
  }
  r->p = t + 1;
  return DORM_OK;
}

/* ---- generic values (skipped members) ---- */

dorm_status mj_skip_number(mj *r, const rp *path) {
  const char *s = r->p, *e = r->end;
  if (s < e && *s == '-') s++;
  if (s >= e || *s < '0' || *s > '9') return mj_syntax(r, path, "bad number");
  if (*s == '0') s++;
  else
    while (s < e && *s >= '0' && *s <= '9') s++;
  if (s < e && *s == '.') {
    s++;
    if (s >= e || *s < '0' || *s > '9') return mj_syntax(r, path, "bad number");
    while (s < e && *s >= '0' && *s <= '9') s++;
  }
  if (s < e && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < e && (*s == '+' || *s == '-')) s++;
    if (s >= e || *s < '0' || *s > '9') return mj_syntax(r, path, "bad number");
    while (s < e && *s >= '0' && *s <= '9') s++;
  }
  r->p = s;
  return DORM_OK;
}

bool mj_literal(mj *r, const char *word, size_t n) {
  if ((size_t)(r->end - r->p) >= n && memcmp(r->p, word, n) == 0) {
    r->p += n;
    return true;
  }
  return false;
}

dorm_status mj_skip_value(mj *r, const rp *path, int depth) {
  mj_ws(r);
  if (depth > DORM_READ_MAX_DEPTH)
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
  if (r->p >= r->end) return mj_syntax(r, path, "expected a value");
  dorm_status st;
  switch (*r->p) {
  case '"': return mj_read_string(r, path, NULL, "a string");
  case '{':
    r->p++;
    if (mj_expect(r, '}')) return DORM_OK;
    do {
      if ((st = mj_read_string(r, path, NULL, "an object key")) != DORM_OK) return st;
      if (!mj_expect(r, ':')) return mj_syntax(r, path, "expected ':'");
      if ((st = mj_skip_value(r, path, depth + 1)) != DORM_OK) return st;
    } while (mj_expect(r, ','));
    return mj_expect(r, '}') ? DORM_OK : mj_syntax(r, path, "expected ',' or '}'");
  case '[':
    r->p++;
    if (mj_expect(r, ']')) return DORM_OK;
    do {
      if ((st = mj_skip_value(r, path, depth + 1)) != DORM_OK) return st;
    } while (mj_expect(r, ','));
    return mj_expect(r, ']') ? DORM_OK : mj_syntax(r, path, "expected ',' or ']'");
  case 't': return mj_literal(r, "true", 4) ? DORM_OK : mj_syntax(r, path, "bad literal");
  case 'f': return mj_literal(r, "false", 5) ? DORM_OK : mj_syntax(r, path, "bad literal");
  case 'n': return mj_literal(r, "null", 4) ? DORM_OK : mj_syntax(r, path, "bad literal");
  default: return mj_skip_number(r, path);
  }
}

/* ---- AttributeValues ---- */

dorm_status mj_check_number(mj *r, const rp *path, dorm_str s) {
  const char *why = dorm_number_invalid_reason(s.ptr, s.len);
  if (why)
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "N value \"%.48s\" is not a valid number: %s", s.ptr, why);
  return DORM_OK;
}

dorm_status mj_read_binary(mj *r, const rp *path, dorm_str *out) {
  dorm_str text;
  /* Decode from the raw text: base64 has no escapes, so validate it as a
   * string without copying, then decode the span. */
  mj_ws(r);
  const char *start = r->p + 1;
  dorm_status st = mj_read_string(r, path, NULL, "a B value");
  if (st != DORM_OK) return st;
  text.ptr = start;
  text.len = (size_t)(r->p - 1 - start);
  if (memchr(text.ptr, '\\', text.len)) {
    /* Escaped base64 is legal JSON; take the slow way. */
    r->p = start - 1;
    if ((st = mj_read_string(r, path, &text, "a B value")) != DORM_OK) return st;
  }
  size_t n = 0, bad = 0;
  uint8_t *buf = (uint8_t *)bytes_for(r, dorm_b64_decoded_max(text.len) + 1);
  if (!buf) return mj_oom(r, path);
  if (!dorm_b64_decode(text.ptr, text.len, buf, &n, DORM_B64_STD, &bad))
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "B value is not valid base64 (at character %zu)", bad);
  buf[n] = 0;
  out->ptr = (const char *)buf;
  out->len = n;
  return DORM_OK;
}

static dorm_status read_set(mj *r, const rp *path, dorm_av *out, dorm_av_type type) {
  static const char *const names[] = {[DORM_AV_SS] = "SS", [DORM_AV_NS] = "NS", [DORM_AV_BS] = "BS"};
  if (!mj_expect(r, '[')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a %s value must be a JSON array", names[type]);
  size_t base = r->sp, n = 0;
  if (mj_expect(r, ']')) {
    r->sp = base;
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a %s value must not be empty", names[type]);
  }
  do {
    rp seg = {path, NULL, 0, n};
    dorm_str s;
    dorm_status st;
    mj_ws(r);
    if (r->p >= r->end || *r->p != '"') {
      r->sp = base;
      return mj_fail(r, &seg, DORM_ERR_BAD_RESPONSE, "an %s element must be a JSON string", names[type]);
    }
    if (type == DORM_AV_BS) st = mj_read_binary(r, &seg, &s);
    else {
      st = mj_read_string(r, &seg, &s, type == DORM_AV_SS ? "an SS element" : "an NS element");
      if (st == DORM_OK && type == DORM_AV_NS) st = mj_check_number(r, &seg, s);
    }
    if (st != DORM_OK) {
      r->sp = base;
      return st;
    }
    dorm_str *slot = mj_push(r, sizeof(dorm_str));
    if (!slot) {
      r->sp = base;
      return mj_oom(r, path);
    }
    *slot = s;
    n++;
  } while (mj_expect(r, ','));
  if (!mj_expect(r, ']')) {
    r->sp = base;
    return mj_syntax(r, path, "expected ',' or ']'");
  }
  dorm_str *items = mj_pop(r, base);
  if (!items) return mj_oom(r, path);
  out->type = type;
  out->u.set.items = items;
  out->u.set.count = out->u.set.cap = n;
  return DORM_OK;
}

static dorm_status read_list(mj *r, const rp *path, dorm_av *out, int depth) {
  if (!mj_expect(r, '[')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an L value must be a JSON array");
  size_t base = r->sp, n = 0;
  out->type = DORM_AV_L;
  out->u.list.items = NULL;
  out->u.list.count = out->u.list.cap = 0;
  if (mj_expect(r, ']')) return DORM_OK;
  do {
    rp seg = {path, NULL, 0, n};
    dorm_av v;
    dorm_status st = mj_read_av(r, &seg, &v, depth + 1);
    if (st != DORM_OK) {
      r->sp = base;
      return st;
    }
    dorm_av *slot = mj_push(r, sizeof(dorm_av));
    if (!slot) {
      r->sp = base;
      return mj_oom(r, path);
    }
    *slot = v;
    n++;
  } while (mj_expect(r, ','));
  if (!mj_expect(r, ']')) {
    r->sp = base;
    return mj_syntax(r, path, "expected ',' or ']'");
  }
  dorm_av *items = mj_pop(r, base);
  if (!items) return mj_oom(r, path);
  out->u.list.items = items;
  out->u.list.count = out->u.list.cap = n;
  return DORM_OK;
}

/* The index of an entry whose name repeats an earlier one, or n. A small
 * open-addressing table of entry indexes keeps this linear. */
size_t mj_find_duplicate(const dorm_av_entry *e, size_t n) {
  if (n < 2) return n;
  if (n <= 8) {
    for (size_t i = 1; i < n; i++)
      for (size_t k = 0; k < i; k++)
        if (e[i].name.len == e[k].name.len && memcmp(e[i].name.ptr, e[k].name.ptr, e[i].name.len) == 0) return i;
    return n;
  }
  uint32_t stack_slots[256], *slots = stack_slots;
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  if (cap > 256) {
    slots = calloc(cap, sizeof *slots);
    if (!slots) return n; /* best effort */
  } else {
    memset(slots, 0, cap * sizeof *slots);
  }
  size_t dup = n;
  for (size_t i = 0; i < n && dup == n; i++) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t k = 0; k < e[i].name.len; k++) h = (h ^ (unsigned char)e[i].name.ptr[k]) * UINT64_C(1099511628211);
    size_t s = (size_t)(h ^ (h >> 29)) & (cap - 1);
    for (;; s = (s + 1) & (cap - 1)) {
      if (!slots[s]) {
        slots[s] = (uint32_t)(i + 1);
        break;
      }
      const dorm_av_entry *o = &e[slots[s] - 1];
      if (o->name.len == e[i].name.len && memcmp(o->name.ptr, e[i].name.ptr, o->name.len) == 0) {
        dup = i;
        break;
      }
    }
  }
  if (slots != stack_slots) free(slots);
  return dup;
}

/* An object of attributes ({"name":{AV},...}) into an M. */
dorm_status mj_read_members(mj *r, const rp *path, dorm_av *out, int depth) {
  if (!mj_expect(r, '{')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "expected an object of attributes");
  size_t base = r->sp, n = 0;
  out->type = DORM_AV_M;
  out->u.map.items = NULL;
  out->u.map.count = out->u.map.cap = 0;
  if (mj_expect(r, '}')) return DORM_OK;
  do {
    dorm_str name;
    dorm_status st = mj_read_string(r, path, &name, "an attribute name");
    rp seg = {path, name.ptr, name.len, 0};
    if (st == DORM_OK && !mj_expect(r, ':')) st = mj_syntax(r, &seg, "expected ':'");
    dorm_av v;
    if (st == DORM_OK) st = mj_read_av(r, &seg, &v, depth + 1);
    if (st != DORM_OK) {
      r->sp = base;
      return st;
    }
    dorm_av_entry *slot = mj_push(r, sizeof(dorm_av_entry));
    if (!slot) {
      r->sp = base;
      return mj_oom(r, path);
    }
    slot->name = name;
    slot->value = v;
    n++;
  } while (mj_expect(r, ','));
  if (!mj_expect(r, '}')) {
    r->sp = base;
    return mj_syntax(r, path, "expected ',' or '}'");
  }
  dorm_av_entry *items = mj_pop(r, base);
  if (!items) return mj_oom(r, path);
  size_t dup = mj_find_duplicate(items, n);
  if (dup != n) {
    rp seg = {path, items[dup].name.ptr, items[dup].name.len, 0};
    return mj_fail(r, &seg, DORM_ERR_BAD_RESPONSE, "attribute appears twice in one map");
  }
  out->u.map.items = items;
  out->u.map.count = out->u.map.cap = n;
  return DORM_OK;
}

dorm_status mj_type_key(mj *r, const rp *path, const char **key, size_t *len) {
  mj_ws(r);
  /* "S":  "SS":  "BOOL": followed directly by ':' (no whitespace): one look. */
  if (r->end - r->p >= 7 && r->p[0] == '"') {
    const char *k = r->p + 1;
    size_t kl = k[1] == '"' ? 1 : k[2] == '"' ? 2 : k[4] == '"' ? 4 : 0;
    if (kl && k[kl + 1] == ':' && k[0] >= 'A' && k[0] <= 'Z') {
      *key = k;
      *len = kl;
      r->p = k + kl + 2;
      return DORM_OK;
    }
  }
  if (r->p < r->end && *r->p == '}') return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "AttributeValue has no type key");
  /* The type key: short ASCII, compared without copying. */
  const char *k = r->p + 1, *ke = k;
  while (ke < r->end && ke - k < 5 && *ke >= 'A' && *ke <= 'Z') ke++;
  size_t kl = (size_t)(ke - k);
  if (r->p >= r->end || *r->p != '"' || ke >= r->end || *ke != '"') {
    /* Not a plain short key: read it as any JSON string (escapes allowed,
     * as cJSON does) and match the decoded text. */
    dorm_str any;
    dorm_status st = mj_read_string(r, path, &any, "a type key");
    if (st != DORM_OK) return st;
    k = any.ptr;
    kl = any.len;
  } else {
    r->p = ke + 1;
  }
  if (!mj_expect(r, ':')) return mj_syntax(r, path, "expected ':'");
  *key = k;
  *len = kl;
  return DORM_OK;
}

dorm_status mj_read_av(mj *r, const rp *path, dorm_av *out, int depth) {
  memset(out, 0, sizeof *out);
  if (depth > DORM_READ_MAX_DEPTH)
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "nested deeper than %d levels", DORM_READ_MAX_DEPTH);
  if (!mj_expect(r, '{'))
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an AttributeValue must be an object like {\"S\":\"...\"}");
  const char *k;
  size_t kl;
  dorm_status kst = mj_type_key(r, path, &k, &kl);
  if (kst != DORM_OK) return kst;
  mj_ws(r);
  dorm_status st = DORM_OK;
#define KEY_IS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)
  if (KEY_IS("S")) {
    out->type = DORM_AV_S;
    if (r->p >= r->end || *r->p != '"') return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an S value must be a JSON string");
    st = mj_read_string(r, path, &out->u.s, "an S value");
  } else if (KEY_IS("N")) {
    out->type = DORM_AV_N;
    if (r->p >= r->end || *r->p != '"') return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an N value must be a JSON string");
    st = mj_read_string(r, path, &out->u.s, "an N value");
    if (st == DORM_OK) st = mj_check_number(r, path, out->u.s);
  } else if (KEY_IS("B")) {
    out->type = DORM_AV_B;
    if (r->p >= r->end || *r->p != '"')
      return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a B value must be a base64 JSON string");
    st = mj_read_binary(r, path, &out->u.s);
  } else if (KEY_IS("BOOL")) {
    out->type = DORM_AV_BOOL;
    if (mj_literal(r, "true", 4)) out->u.boolean = true;
    else if (mj_literal(r, "false", 5)) out->u.boolean = false;
    else return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a BOOL value must be true or false");
  } else if (KEY_IS("NULL")) {
    out->type = DORM_AV_NULL;
    if (!mj_literal(r, "true", 4)) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "a NULL value must be true");
  } else if (KEY_IS("SS")) {
    st = read_set(r, path, out, DORM_AV_SS);
  } else if (KEY_IS("NS")) {
    st = read_set(r, path, out, DORM_AV_NS);
  } else if (KEY_IS("BS")) {
    st = read_set(r, path, out, DORM_AV_BS);
  } else if (KEY_IS("L")) {
    st = read_list(r, path, out, depth);
  } else if (KEY_IS("M")) {
    mj_ws(r);
    if (r->p >= r->end || *r->p != '{') return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "an M value must be a JSON object");
    st = mj_read_members(r, path, out, depth);
  } else {
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"%.*s\"", (int)(kl > 16 ? 16 : kl), k);
  }
#undef KEY_IS
  if (st != DORM_OK) return st;
  if (mj_expect(r, '}')) return DORM_OK;
  mj_ws(r);
  if (r->p < r->end && *r->p == ',')
    return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "AttributeValue has more than one type key");
  return mj_syntax(r, path, "expected '}'");
}

/* ---- entry points ---- */

void mj_init(mj *r, const char *json, size_t len, dorm_arena *a, char *errbuf, size_t errcap, char *stack) {
  r->start = r->p = json;
  r->end = json + len;
  r->a = a;
  r->err = errbuf;
  r->errcap = errcap;
  r->stack = stack;
  r->sp = 0;
  r->cap = MJ_STACK;
  r->heap = false;
  r->pool = r->pool_end = NULL;
  if (json && len && a && (r->pool = dorm_arena_alloc_aligned(a, len, 1)) != NULL) r->pool_end = r->pool + len;
  if (errbuf && errcap) errbuf[0] = '\0';
}

dorm_status mj_done(mj *r, dorm_status st) {
  if (st == DORM_OK) {
    mj_ws(r);
    if (r->p != r->end) st = mj_fail(r, NULL, DORM_ERR_BAD_RESPONSE, "unexpected data after the JSON value");
  }
  if (r->heap) free(r->stack);
  return st;
}

dorm_status mj_parse_item(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap) {
  _Alignas(16) char stack[MJ_STACK];
  mj r;
  mj_init(&r, json, len, a, errbuf, errcap, stack);
  memset(out, 0, sizeof *out);
  if (!json) return mj_fail(&r, NULL, DORM_ERR_BAD_RESPONSE, "empty JSON body");
  return mj_done(&r, mj_read_members(&r, NULL, out, 0));
}

dorm_status mj_parse_av(const char *json, size_t len, dorm_arena *a, dorm_av *out, char *errbuf, size_t errcap) {
  _Alignas(16) char stack[MJ_STACK];
  mj r;
  mj_init(&r, json, len, a, errbuf, errcap, stack);
  memset(out, 0, sizeof *out);
  if (!json) return mj_fail(&r, NULL, DORM_ERR_BAD_RESPONSE, "empty JSON body");
  return mj_done(&r, mj_read_av(&r, NULL, out, 0));
}

dorm_status mj_read_count(mj *r, const rp *path, uint64_t *out) {
  mj_ws(r);
  const char *s = r->p;
  dorm_status st = mj_skip_number(r, path);
  if (st != DORM_OK) return st;
  uint64_t v = 0;
  for (const char *q = s; q < r->p; q++) {
    if (*q < '0' || *q > '9' || v > UINT64_MAX / 10)
      return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "expected a non-negative integer count");
    v = v * 10 + (uint64_t)(*q - '0');
  }
  *out = v;
  return DORM_OK;
}

static dorm_status read_items(mj *r, const rp *path, mj_response *out) {
  if (!mj_expect(r, '[')) return mj_fail(r, path, DORM_ERR_BAD_RESPONSE, "expected an array of items");
  size_t base = r->sp, n = 0;
  if (!mj_expect(r, ']')) {
    do {
      rp seg = {path, NULL, 0, n};
      dorm_av v;
      dorm_status st = mj_read_members(r, &seg, &v, 0);
      if (st != DORM_OK) {
        r->sp = base;
        return st;
      }
      dorm_av *slot = mj_push(r, sizeof(dorm_av));
      if (!slot) {
        r->sp = base;
        return mj_oom(r, path);
      }
      *slot = v;
      n++;
    } while (mj_expect(r, ','));
    if (!mj_expect(r, ']')) {
      r->sp = base;
      return mj_syntax(r, path, "expected ',' or ']'");
    }
  }
  out->items = mj_pop(r, base);
  if (n && !out->items) return mj_oom(r, path);
  out->nitems = n;
  return DORM_OK;
}

dorm_status mj_parse_response(const char *json, size_t len, dorm_arena *a, mj_response *out, char *errbuf,
                              size_t errcap) {
  _Alignas(16) char stack[MJ_STACK];
  mj r;
  mj_init(&r, json, len, a, errbuf, errcap, stack);
  memset(out, 0, sizeof *out);
  out->item = dorm_av_empty(DORM_AV_M);
  out->last_key = dorm_av_empty(DORM_AV_M);
  if (!json || len == 0) return mj_fail(&r, NULL, DORM_ERR_BAD_RESPONSE, "empty JSON body");
  dorm_status st = DORM_OK;
  bool seen_count = false, seen_scanned = false;
  if (!mj_expect(&r, '{')) return mj_done(&r, mj_syntax(&r, NULL, "expected a JSON object"));
  if (!mj_expect(&r, '}')) {
    do {
      dorm_str name;
      mj_ws(&r);
      const char *name_at = r.p;
      st = mj_read_string(&r, NULL, &name, "a member name");
      if (st != DORM_OK) break;
      rp seg = {NULL, name.ptr, name.len, 0};
      if (!mj_expect(&r, ':')) {
        st = mj_syntax(&r, &seg, "expected ':'");
        break;
      }
      bool dup = false;
#define IS(lit) (name.len == sizeof(lit) - 1 && memcmp(name.ptr, lit, name.len) == 0)
      if (IS("Item") || IS("Attributes")) {
        dup = out->has_item;
        out->has_item = true;
        if (!dup) st = mj_read_members(&r, &seg, &out->item, 0);
      } else if (IS("Items")) {
        dup = out->has_items;
        out->has_items = true;
        if (!dup) st = read_items(&r, &seg, out);
      } else if (IS("LastEvaluatedKey")) {
        dup = out->has_last_key;
        out->has_last_key = true;
        if (!dup) st = mj_read_members(&r, &seg, &out->last_key, 0);
      } else if (IS("Count")) {
        dup = seen_count;
        seen_count = true;
        if (!dup) st = mj_read_count(&r, &seg, &out->count);
      } else if (IS("ScannedCount")) {
        dup = seen_scanned;
        seen_scanned = true;
        if (!dup) st = mj_read_count(&r, &seg, &out->scanned_count);
      } else {
        st = mj_skip_value(&r, &seg, 1);
      }
#undef IS
      if (dup) {
        r.p = name_at;
        st = mj_fail(&r, &seg, DORM_ERR_BAD_RESPONSE, "member appears twice");
      }
      if (st != DORM_OK) break;
    } while (mj_expect(&r, ','));
    if (st == DORM_OK && !mj_expect(&r, '}')) st = mj_syntax(&r, NULL, "expected ',' or '}'");
  }
  if (st == DORM_OK && !seen_count) out->count = out->nitems;
  return mj_done(&r, st);
}
