/* The hot path's JSON parser: jsmn's tokens into a tree in one block.
 *
 * Response bodies on the hot path (GetItem, Query, Scan, BatchGetItem,
 * TransactGetItems, stream records, the model decoder) used to be parsed
 * by cJSON, which mallocs every node and every string and frees them
 * again: most of a GetItem's decoding cost (bench/notes/get-put.md). Here jsmn
 * (Debian's libjsmn-dev, strict mode, parent links so that a malicious
 * body cannot make it quadratic) tokenizes the body without allocating,
 * and the tokens become nodes of cJSON's public layout, all in ONE
 * malloc'd block with the unescaped text after them: the readers of
 * json_read.c and model_decode.c then run on it unchanged. Keeping the
 * node layout means one set of conversion rules and messages for both
 * parsers, so the only thing that can differ is tokenizing and
 * unescaping, which the differential test and fuzz_jsmn check against
 * cJSON on every input.
 *
 * jsmn checks tokens, not the grammar between them ("[1 2]", "[1,]" and
 * "{"a" "b"}" tokenize), and it lets through things cJSON reads
 * differently; so the gaps between tokens are checked here (whitespace
 * and exactly the one separator the position needs), and anything this
 * path is not sure to read exactly as cJSON does is refused rather than
 * guessed: numbers cJSON's parse_number would not consume whole (it reads
 * at most 63 characters), "\u0000", lone surrogates, BOMs, NUL bytes,
 * control characters between tokens, nesting near cJSON's limit.
 * dorm__json_parse_with(DORM_JSON_FAST) then parses the body with cJSON
 * and its verdict (usually an error with cJSON's message) is the result,
 * so what the caller gets never depends on which parser read the body. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one file that compiles jsmn's functions (static here); json_jt.h
 * includes jsmn.h for its types only anywhere else. */
#define JSMN_STATIC
#define DORM_JSMN_IMPL
#include "json_jt.h"

#include "base64.h"
#include "hot.h"
#include "number.h"
#include "utf8.h"

/* On the root of a tree built here (cJSON never sets this bit, and every
 * reader masks the type with 0xFF): dorm__json_free frees the block. */
#define TREE_ROOT_FLAG (1 << 14)

/* Nesting this path builds; deeper bodies go to cJSON, whose limit is
 * CJSON_NESTING_LIMIT (1000), and which then decides. */
#define MAX_NESTING 512

typedef dorm_jt_build build; /* json_jt.h */

static inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* [from, to) is whitespace, or whitespace around one `sep` (sep 0: none).
 * Responses are compact: the gap is usually empty or the separator alone. */
static inline bool gap_ok(const char *s, int from, int to, char sep) {
  if (to - from <= 1) return sep ? to - from == 1 && s[from] == sep : to == from || is_ws(s[from]);
  int i = from;
  while (i < to && is_ws(s[i])) i++;
  if (sep) {
    if (i >= to || s[i] != sep) return false;
    i++;
    while (i < to && is_ws(s[i])) i++;
  }
  return i == to;
}

#define tok_lo dorm__jt_tok_lo /* json_jt.h */
#define tok_hi dorm__jt_tok_hi

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

#define unescape dorm__jt_unescape /* json_jt.h */

/* The rest of unescape() for a string with an escape at b->bs. */
bool dorm__jt_unescape_from(dorm_jt_build *b, const jsmntok_t *t) {
  char *end = b->text + t->end;
  char *o = b->text + b->bs, *bs = o, *s = o;
  while (s < end) {
    if (!bs) bs = end;
    if (o != s) memmove(o, s, (size_t)(bs - s));
    o += bs - s;
    s = bs;
    if (s >= end) break;
    char c = s[1];
    s += 2;
    switch (c) {
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      if (end - s < 4) return false;
      long cp = hex4(s);
      s += 4;
      if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = end - s >= 6 && s[0] == '\\' && s[1] == 'u' ? hex4(s + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return false;
        cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
        s += 6;
      }
      if (cp < 0x80) {
        *o++ = (char)cp;
      } else if (cp < 0x800) {
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
      break;
    }
    default: *o++ = c; break; /* '"', '\\', '/' */
    }
    bs = memchr(s, '\\', (size_t)(end - s));
  }
  *o = '\0';
  /* The next escape is past this string (memchr looks again from there). */
  b->bs = t->end;
  return true;
}

/* true, false, null, or a number that cJSON's parse_number reads whole
 * (its characters, at most 63 of them, all consumed by strtod), with the
 * value and the saturated valueint cJSON gives it. */
static bool primitive(build *b, const jsmntok_t *t, cJSON *out) {
  const char *s = b->js + t->start;
  int n = t->end - t->start;
  switch (s[0]) {
  case 't': out->type = cJSON_True; out->valueint = 1; return n == 4 && memcmp(s, "true", 4) == 0;
  case 'f': out->type = cJSON_False; return n == 5 && memcmp(s, "false", 5) == 0;
  case 'n': out->type = cJSON_NULL; return n == 4 && memcmp(s, "null", 4) == 0;
  default: break;
  }
  char num[64];
  if (n <= 0 || n >= (int)sizeof num) return false;
  for (int i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.')) return false;
  }
  memcpy(num, s, (size_t)n);
  num[n] = '\0';
  char *after = NULL;
  double d = strtod(num, &after);
  if (after != num + n) return false;
  out->type = cJSON_Number;
  out->valuedouble = d;
  out->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
  return true;
}

static cJSON *new_node(build *b) {
  if (b->used >= b->cap) return NULL;
  cJSON *n = &b->nodes[b->used++];
  memset(n, 0, sizeof *n);
  return n;
}

/* The token at b->next and everything under it into *out. */
static bool value(build *b, cJSON *out, int depth) {
  if (b->next >= b->ntok) return false;
  const jsmntok_t *t = &b->tok[b->next++];
  switch (t->type) {
  case JSMN_STRING: out->type = cJSON_String; return unescape(b, t, &out->valuestring);
  case JSMN_PRIMITIVE: return primitive(b, t, out);
  case JSMN_OBJECT:
  case JSMN_ARRAY: break;
  default: return false;
  }
  if (depth >= MAX_NESTING) return false;
  bool object = t->type == JSMN_OBJECT;
  out->type = object ? cJSON_Object : cJSON_Array;
  int pos = t->start + 1; /* after the bracket, or after the last child */
  cJSON *last = NULL;
  for (int k = 0; k < t->size; k++) {
    char sep = k ? ',' : 0;
    cJSON *child = new_node(b);
    if (!child || b->next >= b->ntok) return false;
    if (object) {
      const jsmntok_t *key = &b->tok[b->next++];
      if (key->type != JSMN_STRING || key->size != 1 || !gap_ok(b->js, pos, tok_lo(key), sep)) return false;
      if (!unescape(b, key, &child->string)) return false;
      pos = tok_hi(key);
      sep = ':';
      if (b->next >= b->ntok) return false;
    }
    const jsmntok_t *v = &b->tok[b->next];
    if (!gap_ok(b->js, pos, tok_lo(v), sep)) return false;
    if (v->type == JSMN_STRING) { /* most values: no call for a leaf */
      b->next++;
      child->type = cJSON_String;
      if (!unescape(b, v, &child->valuestring)) return false;
    } else if (!value(b, child, depth + 1)) {
      return false;
    }
    pos = tok_hi(v);
    if (last) {
      last->next = child;
      child->prev = last;
    } else {
      out->child = child;
    }
    last = child;
  }
  if (last) out->child->prev = last; /* as cJSON links them */
  return t->end > pos && gap_ok(b->js, pos, t->end - 1, 0);
}

/* jsmn's tokens for json[0..len): in stack_toks (cap of them) for the usual
 * item, else in a malloc'd array that grows (jsmn resumes where it ran out;
 * *toks != stack_toks then, and the caller frees it). *n is jsmn's result
 * (a count, or a negative JSMN_ERROR_*). DORM_ERR_NO_MEMORY or DORM_OK. */
DORM__HOT
static dorm_status tokenize(const char *json, size_t len, jsmntok_t *stack_toks, unsigned cap, jsmntok_t **toks,
                            int *n) {
  jsmn_parser p;
  jsmn_init(&p);
  *toks = stack_toks;
  while ((*n = jsmn_parse(&p, json, len, *toks, cap)) == JSMN_ERROR_NOMEM) {
    unsigned ncap = cap < 4096 ? 4096 : cap * 2;
    /* a large body (a Query page) at once: DynamoDB JSON has a token per
     * ~8 bytes (the bench item 7.9), so len / 6 is usually enough and the
     * growing (a realloc and a copy each time) is skipped */
    if (*toks == stack_toks && len / 6 > ncap && len / 6 < UINT_MAX / sizeof **toks) ncap = (unsigned)(len / 6);
    jsmntok_t *grown = *toks == stack_toks ? malloc(ncap * sizeof *grown) : realloc(*toks, ncap * sizeof *grown);
    if (!grown) {
      if (*toks != stack_toks) free(*toks);
      *toks = stack_toks;
      return DORM_ERR_NO_MEMORY;
    }
    if (*toks == stack_toks) memcpy(grown, stack_toks, cap * sizeof *grown);
    *toks = grown;
    cap = ncap;
  }
  return DORM_OK;
}

dorm_status dorm__json_parse_jsmn(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap) {
  *root = NULL;
  if (!json || len == 0 || len >= INT_MAX / 2) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "empty JSON body or too large for jsmn");
    return DORM_ERR_BAD_RESPONSE;
  }
  jsmntok_t stack_toks[256], *toks;
  int n;
  dorm_status st = tokenize(json, len, stack_toks, sizeof stack_toks / sizeof stack_toks[0], &toks, &n);
  if (st != DORM_OK) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
    return st;
  }
  st = DORM_ERR_BAD_RESPONSE;
  /* One block: the nodes (at most one per token; the root first, so that
   * the root's address frees it), then a copy of the body, in which every
   * string is unescaped in place and its closing quote becomes its NUL. */
  size_t nodes = n > 0 ? (size_t)n : 0;
  char *block = n > 0 ? malloc(nodes * sizeof(cJSON) + len + 1) : NULL;
  if (n > 0 && !block) {
    st = DORM_ERR_NO_MEMORY;
  } else if (n > 0) {
    build b = {json, toks, n, 0, (cJSON *)(void *)block, 0, nodes, block + nodes * sizeof(cJSON), len, -1};
    memcpy(b.text, json, len);
    b.text[len] = '\0';
    cJSON *r = new_node(&b);
    const jsmntok_t *t0 = &toks[0];
    if (gap_ok(json, 0, tok_lo(t0), 0) && value(&b, r, 0) && b.next == n && gap_ok(json, tok_hi(t0), (int)len, 0)) {
      r->type |= TREE_ROOT_FLAG;
      *root = r;
      st = DORM_OK;
    } else {
      free(block);
    }
  }
  if (toks != stack_toks) free(toks);
  if (st == DORM_ERR_BAD_RESPONSE && errbuf && errcap) snprintf(errbuf, errcap, "malformed JSON (jsmn)");
  if (st == DORM_ERR_NO_MEMORY && errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
  return st;
}

/* ---- the direct path: tokens straight into dorm_av, no tree ----
 *
 * The same body, read without building nodes: a cursor walks jsmn's
 * tokens in document order (a container's children follow it, counted by
 * its `size`), checks the gaps between them and unescapes strings in a
 * copy of the body in the arena exactly as the tree builder above does,
 * and applies the reader's rules of json_read.c (one known type key,
 * strings of the right JSON type, valid UTF-8, numbers, strict base64,
 * non-empty sets, no name twice in a map, DORM_READ_MAX_DEPTH). Strings,
 * names and numbers are left where they were unescaped (in the arena) and
 * pointed at, so a get's text is copied once. Only success is decided
 * here: on anything this path does not accept, the caller reads the body
 * through the tree path, whose verdict and message count, so messages
 * stay in one place and the result never depends on the path taken. */

/* The children of an object or array, one at a time: the separators and
 * whitespace between them checked as value() does. */
typedef dorm_jt_iter iter; /* json_read.h: the container's token, children done, gap start, last value */

static inline void it_begin(iter *it, const build *b, int tok) {
  it->t = &b->tok[tok];
  it->k = 0;
  it->pos = b->tok[tok].start + 1;
  it->vi = -1;
}

/* 1: the next child's value is at b->next (and *name, *len hold an object
 * member's unescaped name; untouched for an array); the caller consumes
 * exactly that value. 0: no more children (the gap before the closing
 * bracket checked). -1: refused. */
DORM__HOT
static int it_next(build *b, iter *it, char **name) {
  const jsmntok_t *t = it->t;
  if (it->vi >= 0) it->pos = tok_hi(&b->tok[it->vi]);
  if (it->k == t->size) return t->end > it->pos && gap_ok(b->js, it->pos, t->end - 1, 0) ? 0 : -1;
  char sep = it->k ? ',' : 0;
  if (b->next >= b->ntok) return -1;
  if (t->type == JSMN_OBJECT) {
    const jsmntok_t *key = &b->tok[b->next++];
    if (key->type != JSMN_STRING || key->size != 1 || !gap_ok(b->js, it->pos, tok_lo(key), sep)) return -1;
    if (!unescape(b, key, name)) return -1;
    it->pos = tok_hi(key);
    sep = ':';
    if (b->next >= b->ntok) return -1;
  }
  if (!gap_ok(b->js, it->pos, tok_lo(&b->tok[b->next]), sep)) return -1;
  it->vi = b->next;
  it->k++;
  return 1;
}

#define next_string dorm__jt_next_str /* json_jt.h */

/* Any value at b->next, checked as value() would build it, and passed over. */
static bool skip(build *b, int depth) {
  if (b->next >= b->ntok) return false;
  const jsmntok_t *t = &b->tok[b->next];
  cJSON scratch;
  char *s;
  size_t len;
  switch (t->type) {
  case JSMN_STRING: return next_string(b, &s, &len);
  case JSMN_PRIMITIVE: b->next++; return primitive(b, t, &scratch);
  case JSMN_OBJECT:
  case JSMN_ARRAY: break;
  default: return false;
  }
  if (depth >= MAX_NESTING) return false;
  iter it;
  it_begin(&it, b, b->next++);
  int more;
  while ((more = it_next(b, &it, &s)) == 1)
    if (!skip(b, depth + 1)) return false;
  return more == 0;
}

#define utf8_ok dorm__jt_utf8_ok /* json_jt.h */

/* An S, N or B value or a set element: a JSON string at b->next. */
DORM__HOT
static bool leaf(build *b, dorm_arena *a, dorm_av_type type, dorm_str *out) {
  char *s;
  size_t len;
  if (!next_string(b, &s, &len)) return false;
  if (type == DORM_AV_B || type == DORM_AV_BS) {
    size_t n = 0, bad = 0;
    uint8_t *buf = dorm_arena_alloc_aligned(a, dorm__b64_decoded_max(len) + 1, 1);
    if (!buf || !dorm__b64_decode(s, len, buf, &n, DORM_B64_STD, &bad)) return false;
    buf[n] = 0;
    out->ptr = (const char *)buf;
    out->len = n;
    return true;
  }
  if (type == DORM_AV_N || type == DORM_AV_NS ? dorm__number_invalid_reason(s, len) != NULL : !utf8_ok(s, len))
    return false;
  out->ptr = s;
  out->len = len;
  return true;
}

static bool d_value(build *b, dorm_arena *a, int depth, dorm_av *out);

/* An AttributeValue's wrapper at b->next opened (jr_av's rules: an object
 * of one member, depth at most DORM_READ_MAX_DEPTH) and its key read: the
 * type, the value next; DORM_AV_INVALID if refused. A compact key (right
 * after the brace, the value right after the colon) is taken at once. */
static inline dorm_av_type wrapper_open(build *b, int depth, iter *it) {
  if (depth > DORM_READ_MAX_DEPTH || b->next >= b->ntok) return DORM_AV_INVALID;
  const jsmntok_t *t = &b->tok[b->next];
  if (t->type != JSMN_OBJECT || t->size != 1) return DORM_AV_INVALID;
  it_begin(it, b, b->next++);
  char *key = NULL;
  int at, glen;
  if (dorm__jt_key_span(b, it, &at, &glen) == 1) {
    dorm__jt_take_key(b, it);
    return unescape(b, &b->tok[b->next - 1], &key) ? jr_type_of(key) : DORM_AV_INVALID;
  }
  return it_next(b, it, &key) == 1 ? jr_type_of(key) : DORM_AV_INVALID;
}

/* After the wrapper's value: the object ends there (told at once when
 * its brace follows right after the value). */
static inline bool wrapper_close(build *b, iter *it) {
  const jsmntok_t *t = it->t;
  if (it->k == t->size && dorm__jt_gap(b, it) == t->end - 1) return true;
  char *key = NULL;
  return it_next(b, it, &key) == 0;
}

/* An object of attributes at b->next into an M (dorm__jr_members). */
DORM__HOT
static bool d_members(build *b, dorm_arena *a, int depth, dorm_av *out) {
  out->type = DORM_AV_M;
  out->u.map.items = NULL;
  out->u.map.count = out->u.map.cap = 0;
  if (b->next >= b->ntok || b->tok[b->next].type != JSMN_OBJECT) return false;
  size_t n = (size_t)b->tok[b->next].size;
  dorm_av_entry *items = NULL;
  if (n && !(items = dorm_arena_alloc(a, n * sizeof *items))) return false;
  iter it;
  it_begin(&it, b, b->next++);
  char *name = NULL;
  size_t i = 0;
  int more;
  for (;;) {
    /* a compact member (json_jt.h) taken at once, else the general step */
    int at, glen, span = dorm__jt_key_span(b, &it, &at, &glen);
    if (span == 0) {
      more = 0;
      break;
    }
    if (span == 1) {
      dorm__jt_take_key(b, &it);
      if (!unescape(b, &b->tok[b->next - 1], &name)) return false;
    } else if ((more = it_next(b, &it, &name)) != 1) {
      break;
    }
    /* b->bs says whether the name had an escape, as in next_string */
    const jsmntok_t *key = &b->tok[b->next - 1];
    size_t len = b->bs > key->end ? (size_t)(key->end - key->start) : strlen(name);
    if (!utf8_ok(name, len)) return false;
    items[i].name.ptr = name;
    items[i].name.len = len;
    if (!d_value(b, a, depth + 1, &items[i].value)) return false;
    i++;
  }
  if (more != 0 || dorm__jr_find_duplicate(items, n, sizeof *items) != n) return false;
  out->u.map.items = items;
  out->u.map.count = out->u.map.cap = n;
  return true;
}

/* One AttributeValue at b->next (dorm__jr_value). */
DORM__HOT
static bool d_value(build *b, dorm_arena *a, int depth, dorm_av *out) {
  memset(out, 0, sizeof *out);
  /* the usual {"S":"..."} / {"N":"..."} (json_jt.h): what the steps below
   * accept for it, in one */
  dorm_av_type compact = dorm__jt_compact_wrapper(b, depth);
  if (compact != DORM_AV_INVALID) {
    b->next += 2;
    out->type = compact;
    return leaf(b, a, compact, &out->u.s);
  }
  iter it;
  dorm_av_type type = wrapper_open(b, depth, &it);
  if (type == DORM_AV_INVALID || b->next >= b->ntok) return false;
  const jsmntok_t *v = &b->tok[b->next];
  switch (type) {
  case DORM_AV_S:
  case DORM_AV_N:
  case DORM_AV_B:
    out->type = type;
    if (!leaf(b, a, type, &out->u.s)) return false;
    break;
  case DORM_AV_BOOL:
  case DORM_AV_NULL: {
    cJSON scratch;
    if (v->type != JSMN_PRIMITIVE) return false;
    b->next++;
    if (!primitive(b, v, &scratch)) return false;
    if (type == DORM_AV_NULL ? scratch.type != cJSON_True
                             : scratch.type != cJSON_True && scratch.type != cJSON_False)
      return false;
    out->type = type;
    out->u.boolean = type == DORM_AV_BOOL && scratch.type == cJSON_True;
    break;
  }
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
  case DORM_AV_L: {
    if (v->type != JSMN_ARRAY || (type != DORM_AV_L && v->size == 0)) return false;
    size_t n = (size_t)v->size;
    void *items = NULL;
    if (n && !(items = dorm_arena_alloc(a, n * (type == DORM_AV_L ? sizeof(dorm_av) : sizeof(dorm_str)))))
      return false;
    iter el;
    it_begin(&el, b, b->next++);
    char *unused = NULL;
    size_t i = 0;
    int more;
    while ((more = it_next(b, &el, &unused)) == 1) {
      bool ok = type == DORM_AV_L ? d_value(b, a, depth + 1, &((dorm_av *)items)[i])
                                  : leaf(b, a, type, &((dorm_str *)items)[i]);
      if (!ok) return false;
      i++;
    }
    if (more != 0) return false;
    out->type = type;
    if (type == DORM_AV_L) {
      out->u.list.items = items;
      out->u.list.count = out->u.list.cap = n;
    } else {
      out->u.set.items = items;
      out->u.set.count = out->u.set.cap = n;
    }
    break;
  }
  case DORM_AV_M:
    if (!d_members(b, a, depth, out)) return false;
    break;
  default: return false;
  }
  return wrapper_close(b, &it);
}

/* The root of a response: "Item" or "Attributes" read, other members
 * passed over; members whose rules live in dorm__json_response_members
 * (Items, LastEvaluatedKey, the counts) are left to the tree path. */
static bool d_response(build *b, dorm_arena *a, dorm_av *item, bool *found) {
  if (b->tok[b->next].type != JSMN_OBJECT) return false;
  iter it;
  it_begin(&it, b, b->next++);
  char *name = NULL;
  int more;
  while ((more = it_next(b, &it, &name)) == 1) {
    if (strcmp(name, "Item") == 0 || strcmp(name, "Attributes") == 0) {
      if (*found || !d_members(b, a, 0, item)) return false;
      *found = true;
    } else if (strcmp(name, "Items") == 0 || strcmp(name, "LastEvaluatedKey") == 0 || strcmp(name, "Count") == 0 ||
               strcmp(name, "ScannedCount") == 0) {
      return false;
    } else if (!skip(b, 1)) {
      return false;
    }
  }
  return more == 0;
}

DORM__HOT
dorm_status dorm__json_read_direct(dorm_json_direct what, const char *json, size_t len, dorm_arena *a,
                                   dorm_av *out, bool *found) {
  bool present = false;
  memset(out, 0, sizeof *out);
  if (what == DORM_JD_RESPONSE) *out = dorm_av_empty(DORM_AV_M);
  if (found) *found = false;
  if (!json || len == 0 || len >= INT_MAX / 2 || !a) return DORM_ERR_BAD_RESPONSE;
  jsmntok_t stack_toks[256], *toks;
  int n;
  dorm_status st = tokenize(json, len, stack_toks, sizeof stack_toks / sizeof stack_toks[0], &toks, &n);
  if (st != DORM_OK) return st;
  st = DORM_ERR_BAD_RESPONSE;
  char *text = n > 0 ? dorm_arena_alloc_aligned(a, len + 1, 1) : NULL;
  if (text) {
    build b = {json, toks, n, 0, NULL, 0, 0, text, len, -1};
    memcpy(text, json, len);
    text[len] = '\0';
    const jsmntok_t *t0 = &toks[0];
    bool ok = gap_ok(json, 0, tok_lo(t0), 0);
    if (ok && what == DORM_JD_RESPONSE) ok = d_response(&b, a, out, &present);
    else if (ok && what == DORM_JD_ITEM) ok = d_members(&b, a, 0, out);
    else if (ok) ok = d_value(&b, a, 0, out);
    if (ok && b.next == n && gap_ok(json, tok_hi(t0), (int)len, 0)) st = DORM_OK;
  }
  if (toks != stack_toks) free(toks);
  if (st == DORM_OK && found) *found = present;
  return st;
}

/* ---- the cursor API (json_read.h's dorm_jt): the direct path's steps for
 * decoders in the layers above ---- */


dorm_status dorm__jt_open(const char *json, size_t len, dorm_arena *a, dorm_jt **out) {
  *out = NULL;
  if (!json || len == 0 || len >= INT_MAX / 2 || !a) return DORM_ERR_BAD_RESPONSE;
  /* The cursor and its first tokens live in the arena (a reset arena
   * hands the same memory back: no malloc for a usual body). */
  dorm_jt *j = dorm_arena_alloc(a, sizeof *j);
  if (!j) return DORM_ERR_NO_MEMORY;
  jsmntok_t *toks;
  int n;
  dorm_status st = tokenize(json, len, j->first, DORM_JT_STACK_TOKS, &toks, &n);
  if (st != DORM_OK) return st;
  j->heap = toks != j->first ? toks : NULL;
  char *text = n > 0 ? dorm_arena_alloc_aligned(a, len + 1, 1) : NULL;
  if (!text || !gap_ok(json, 0, tok_lo(&toks[0]), 0)) {
    free(j->heap);
    return n > 0 && !text ? DORM_ERR_NO_MEMORY : DORM_ERR_BAD_RESPONSE;
  }
  build b = {json, toks, n, 0, NULL, 0, 0, text, len, -1};
  memcpy(text, json, len);
  text[len] = '\0';
  j->b = b;
  *out = j;
  return DORM_OK;
}

void dorm__jt_close(dorm_jt *j) {
  if (j) free(j->heap);
}

bool dorm__jt_end(const dorm_jt *j) {
  const build *b = &j->b;
  return b->next == b->ntok && gap_ok(b->js, tok_hi(&b->tok[0]), (int)b->len, 0);
}

dorm_jt_kind dorm__jt_peek(const dorm_jt *j, int *size) {
  const build *b = &j->b;
  if (b->next >= b->ntok) return DORM_JT_NONE;
  if (size) *size = b->tok[b->next].size;
  switch (b->tok[b->next].type) {
  case JSMN_OBJECT: return DORM_JT_OBJECT;
  case JSMN_ARRAY: return DORM_JT_ARRAY;
  case JSMN_STRING: return DORM_JT_STRING;
  case JSMN_PRIMITIVE: return DORM_JT_PRIMITIVE;
  default: return DORM_JT_NONE;
  }
}

bool dorm__jt_enter(dorm_jt *j, dorm_jt_kind kind, dorm_jt_iter *it, int *size) {
  build *b = &j->b;
  if (b->next >= b->ntok) return false;
  const jsmntok_t *t = &b->tok[b->next];
  if (t->type != (kind == DORM_JT_OBJECT ? JSMN_OBJECT : kind == DORM_JT_ARRAY ? JSMN_ARRAY : JSMN_UNDEFINED) ||
      t->type == JSMN_UNDEFINED)
    return false;
  *size = t->size;
  it_begin(it, b, b->next++);
  return true;
}

int dorm__jt_next(dorm_jt *j, dorm_jt_iter *it, const char **name, size_t *len) {
  build *b = &j->b;
  char *nm = NULL;
  int more = it_next(b, it, &nm);
  if (more == 1 && nm) {
    /* b->bs says whether the name had an escape, as in next_string */
    const jsmntok_t *key = &b->tok[b->next - 1];
    *name = nm;
    *len = b->bs > key->end ? (size_t)(key->end - key->start) : strlen(nm);
  }
  return more;
}

dorm_av_type dorm__jt_av_open(dorm_jt *j, int depth, dorm_jt_iter *it) { return wrapper_open(&j->b, depth, it); }

bool dorm__jt_av_close(dorm_jt *j, dorm_jt_iter *it) { return wrapper_close(&j->b, it); }

bool dorm__jt_string(dorm_jt *j, const char **s, size_t *len) {
  char *p;
  if (!next_string(&j->b, &p, len)) return false;
  *s = p;
  return true;
}

int dorm__jt_literal(dorm_jt *j) {
  build *b = &j->b;
  if (b->next >= b->ntok || b->tok[b->next].type != JSMN_PRIMITIVE) return -1;
  const jsmntok_t *t = &b->tok[b->next++];
  cJSON scratch;
  if (!primitive(b, t, &scratch)) return -1;
  return scratch.type == cJSON_True ? 1 : scratch.type == cJSON_False ? 0 : scratch.type == cJSON_NULL ? 2 : -1;
}

bool dorm__jt_leaf(dorm_jt *j, dorm_arena *a, dorm_av_type type, dorm_str *out) { return leaf(&j->b, a, type, out); }

bool dorm__jt_av(dorm_jt *j, dorm_arena *a, int depth, dorm_av *out) { return d_value(&j->b, a, depth, out); }

bool dorm__jt_item(dorm_jt *j, dorm_arena *a, dorm_av *out) { return d_members(&j->b, a, 0, out); }

bool dorm__jt_count(dorm_jt *j, uint64_t *out) {
  build *b = &j->b;
  if (b->next >= b->ntok || b->tok[b->next].type != JSMN_PRIMITIVE) return false;
  const jsmntok_t *t = &b->tok[b->next++];
  cJSON scratch;
  if (!primitive(b, t, &scratch) || scratch.type != cJSON_Number) return false;
  double d = scratch.valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

bool dorm__jt_skip(dorm_jt *j) { return skip(&j->b, 1); }


dorm_status dorm__json_parse_with(dorm_json_parser how, const char *json, size_t len, cJSON **root, char *errbuf,
                                  size_t errcap) {
  if (how == DORM_JSON_CJSON) return dorm__json_parse(json, len, root, errbuf, errcap);
  dorm_status st = dorm__json_parse_jsmn(json, len, root, errbuf, errcap);
  if (st == DORM_OK || st == DORM_ERR_NO_MEMORY || how == DORM_JSON_JSMN_ONLY) return st;
  /* Not read here: cJSON decides, with its message (see the top). */
  return dorm__json_parse(json, len, root, errbuf, errcap);
}

void dorm__json_free(cJSON *root) {
  if (!root) return;
  if (root->type & TREE_ROOT_FLAG) free(root);
  else cJSON_Delete(root);
}
