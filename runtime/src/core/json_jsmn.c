/* The hot path's JSON parser: jsmn's tokens into a tree in one block.
 *
 * Response bodies on the hot path (GetItem, Query, Scan, BatchGetItem,
 * TransactGetItems, stream records, the model decoder) used to be parsed
 * by cJSON, which mallocs every node and every string and frees them
 * again: most of a GetItem's decoding cost (bench/README.md). Here jsmn
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

#include "json_read.h"

/* The one file that includes jsmn: its functions are static here. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* On the root of a tree built here (cJSON never sets this bit, and every
 * reader masks the type with 0xFF): dorm__json_free frees the block. */
#define TREE_ROOT_FLAG (1 << 14)

/* Nesting this path builds; deeper bodies go to cJSON, whose limit is
 * CJSON_NESTING_LIMIT (1000), and which then decides. */
#define MAX_NESTING 512

typedef struct build {
  const char *js;
  const jsmntok_t *tok;
  int ntok, next;
  cJSON *nodes;
  size_t used, cap;
  char *text; /* a copy of the body: strings are unescaped and ended in place */
  size_t len; /* of the body */
  int bs;     /* the first backslash at or after the last string seen (len: none) */
} build;

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

/* Where a token's text begins and ends (a string's quotes included). */
static inline int tok_lo(const jsmntok_t *t) { return t->type == JSMN_STRING ? t->start - 1 : t->start; }
static inline int tok_hi(const jsmntok_t *t) { return t->type == JSMN_STRING ? t->end + 1 : t->end; }

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

/* A string token's text, unescaped as cJSON does (jsmn has checked that
 * every escape is one JSON allows and that \u has four hex digits), in
 * place in b->text (the body's copy), NUL-terminated where its closing
 * quote was: an escape never grows, so the output never overtakes the
 * input. Tokens come in document order, so one forward memchr position
 * (b->bs) says for most strings that they have no escape at all, and those
 * cost a store. Refused: "\u0000" (cJSON would cut the string there;
 * dorm__json_parse's check names it) and surrogates that are not a high
 * one followed by a low one (cJSON refuses those). */
static bool unescape_from(build *b, const jsmntok_t *t);

static inline bool unescape(build *b, const jsmntok_t *t, char **out) {
  *out = b->text + t->start;
  if (b->bs < t->start) {
    const char *bs = memchr(*out, '\\', b->len - (size_t)t->start);
    b->bs = bs ? (int)(bs - b->text) : (int)b->len;
  }
  if (b->bs >= t->end) {
    b->text[t->end] = '\0';
    return true;
  }
  return unescape_from(b, t);
}

/* The rest of unescape() for a string with an escape at b->bs. */
static bool unescape_from(build *b, const jsmntok_t *t) {
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

dorm_status dorm__json_parse_jsmn(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap) {
  *root = NULL;
  if (!json || len == 0 || len >= INT_MAX / 2) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "empty JSON body or too large for jsmn");
    return DORM_ERR_BAD_RESPONSE;
  }
  /* Tokens on the stack for the usual item; a larger body's array grows
   * (jsmn resumes where it ran out). */
  jsmntok_t stack_toks[256], *toks = stack_toks;
  unsigned cap = sizeof stack_toks / sizeof stack_toks[0];
  jsmn_parser p;
  jsmn_init(&p);
  int n;
  while ((n = jsmn_parse(&p, json, len, toks, cap)) == JSMN_ERROR_NOMEM) {
    unsigned ncap = cap < 4096 ? 4096 : cap * 2;
    jsmntok_t *grown = toks == stack_toks ? malloc(ncap * sizeof *grown) : realloc(toks, ncap * sizeof *grown);
    if (!grown) {
      if (toks != stack_toks) free(toks);
      if (errbuf && errcap) snprintf(errbuf, errcap, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
    if (toks == stack_toks) memcpy(grown, stack_toks, sizeof stack_toks);
    toks = grown;
    cap = ncap;
  }
  dorm_status st = DORM_ERR_BAD_RESPONSE;
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
