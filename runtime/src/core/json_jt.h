/* json_jt: the inside of json_read.h's dorm_jt cursor, for the decoders
 * whose per-value steps are hot (model_decode.c's token path).
 *
 * A generated get reads ~50 values, each a member name and an
 * AttributeValue wrapper; as calls into json_jsmn.c every step cost a
 * call's prologue and the checks of a general walk. The steps that the
 * usual compact body takes (a member whose key is the one expected, a
 * {"S":"..."} / {"N":"..."} wrapper, ASCII text) are inline here, so the
 * decoder's loop compiles into one piece; anything else goes through the
 * calls of json_read.h, which accept exactly the same bodies (every fast
 * step below says which checks it stands for).
 *
 * jsmn.h is included for its types only (its functions are compiled in
 * json_jsmn.c alone, which defines DORM_JSMN_IMPL and JSMN_STATIC first);
 * JSMN_STRICT and JSMN_PARENT_LINKS must be the same in every includer,
 * since the token's layout depends on them. Parent links stay on: without
 * them jsmn walks back over the tokens at every ',' and closing bracket
 * (quadratic on a crafted body, and slower on an item's flat members). */
#ifndef DORM_JSON_JT_H
#define DORM_JSON_JT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json_read.h"
#include "utf8.h"

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef DORM_JSMN_IMPL
#define JSMN_HEADER
#endif
#include <jsmn.h>

/* A walk over one body's tokens (json_jsmn.c: the tree builder, the direct
 * path and the cursor). */
typedef struct dorm_jt_build {
  const char *js;
  const jsmntok_t *tok;
  int ntok, next;
  cJSON *nodes;
  size_t used, cap;
  char *text; /* a copy of the body: strings are unescaped and ended in place */
  size_t len; /* of the body */
  int bs;     /* the first backslash at or after the last string seen (len: none) */
} dorm_jt_build;

#define DORM_JT_STACK_TOKS 256

struct dorm_jt {
  dorm_jt_build b;
  jsmntok_t *heap; /* the tokens when more than DORM_JT_STACK_TOKS (malloc'd), else NULL */
  jsmntok_t first[DORM_JT_STACK_TOKS];
};

/* Where a token's text begins and ends (a string's quotes included). */
static inline int dorm__jt_tok_lo(const jsmntok_t *t) { return t->type == JSMN_STRING ? t->start - 1 : t->start; }
static inline int dorm__jt_tok_hi(const jsmntok_t *t) { return t->type == JSMN_STRING ? t->end + 1 : t->end; }

/* A string token's text, unescaped as cJSON does (jsmn has checked that
 * every escape is one JSON allows and that \u has four hex digits), in
 * place in b->text (the body's copy), NUL-terminated where its closing
 * quote was: an escape never grows, so the output never overtakes the
 * input. Tokens come in document order, so one forward memchr position
 * (b->bs) says for most strings that they have no escape at all, and those
 * cost a store. Refused: "\u0000" (cJSON would cut the string there;
 * dorm__json_parse's check names it) and surrogates that are not a high
 * one followed by a low one (cJSON refuses those). */
bool dorm__jt_unescape_from(dorm_jt_build *b, const jsmntok_t *t);

static inline bool dorm__jt_unescape(dorm_jt_build *b, const jsmntok_t *t, char **out) {
  *out = b->text + t->start;
  if (b->bs < t->start) {
    const char *bs = memchr(*out, '\\', b->len - (size_t)t->start);
    b->bs = bs ? (int)(bs - b->text) : (int)b->len;
  }
  if (b->bs >= t->end) {
    b->text[t->end] = '\0';
    return true;
  }
  return dorm__jt_unescape_from(b, t);
}

/* The string token at b->next, unescaped; *len its length. */
static inline bool dorm__jt_next_str(dorm_jt_build *b, char **s, size_t *len) {
  if (b->next >= b->ntok) return false;
  const jsmntok_t *t = &b->tok[b->next];
  if (t->type != JSMN_STRING) return false;
  b->next++;
  if (!dorm__jt_unescape(b, t, s)) return false;
  /* unescape leaves b->bs past the string's end when it had no escape,
   * and exactly at its end when it did (then it may have shrunk). */
  *len = b->bs > t->end ? (size_t)(t->end - t->start) : strlen(*s);
  return true;
}

/* Text the reader keeps (S values, SS elements, names): valid UTF-8, in
 * words for the usual ASCII. */
static inline bool dorm__jt_utf8_ok(const char *s, size_t n) {
  uint64_t acc = 0, x;
  if (n >= 8) { /* the last word overlaps the one before it */
    for (size_t i = 0; i + 8 < n; i += 8) {
      memcpy(&x, s + i, 8);
      acc |= x;
    }
    memcpy(&x, s + n - 8, 8);
    acc |= x;
  } else if (n >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, s, 4);
    memcpy(&hi, s + n - 4, 4);
    acc = lo | hi;
  } else if (n) {
    acc = (unsigned char)s[0] | (unsigned char)s[n / 2] | (unsigned char)s[n - 1];
  }
  size_t bad;
  return (acc & UINT64_C(0x8080808080808080)) == 0 || dorm__utf8_valid(s, n, &bad);
}
static inline bool dorm__jt_utf8(const char *s, size_t n) { return dorm__jt_utf8_ok(s, n); }

/* n >= 4 bytes equal, in overlapping words (a member's key and colon:
 * short, so no call to memcmp). */
static inline bool dorm__jt_bytes_eq(const char *a, const char *b, size_t n) {
  uint64_t x, y, d = 0;
  uint32_t u, v;
  if (n < 8) {
    memcpy(&u, a, 4), memcpy(&v, b, 4);
    d = u ^ v;
    memcpy(&u, a + n - 4, 4), memcpy(&v, b + n - 4, 4);
    return (d | (u ^ v)) == 0;
  }
  for (size_t i = 0; i + 8 < n; i += 8) {
    memcpy(&x, a + i, 8), memcpy(&y, b + i, 8);
    d |= x ^ y;
  }
  memcpy(&x, a + n - 8, 8), memcpy(&y, b + n - 8, 8);
  return (d | (x ^ y)) == 0;
}

/* The usual wrapper of a string value, {"S":"..."} or {"N":"..."} with
 * nothing between its tokens: what av_open + the string + av_close would
 * accept for it (empty gaps, a one-character key, the object ending right
 * after the string), told from the text. The body tokenized whole, and
 * jsmn numbers tokens in the order of the text, so an object whose text
 * starts {"S":" has the key "S" as its next token and the value string as
 * the one after; the object ends right after that string when its end is
 * the string's end + 2 (the quote, then the brace: one member). The type,
 * or DORM_AV_INVALID when the value is not such a wrapper (nothing
 * consumed). */
static inline dorm_av_type dorm__jt_compact_wrapper(const dorm_jt_build *b, int depth) {
  if (depth > DORM_READ_MAX_DEPTH || b->next + 2 >= b->ntok) return DORM_AV_INVALID;
  const jsmntok_t *o = &b->tok[b->next];
  /* {"S":"" is 7 bytes: the loads below stay inside the object */
  if (o->type != JSMN_OBJECT || o->end - o->start < 8 || o->end != o[2].end + 2) return DORM_AV_INVALID;
  uint32_t w;
  const char *p = b->js + o->start + 1;
  memcpy(&w, p, 4);
  if (p[4] != '"') return DORM_AV_INVALID;
  /* "S": and "N": as the four bytes appear in memory, whatever the byte order */
  static const char s_key[4] = {'"', 'S', '"', ':'}, n_key[4] = {'"', 'N', '"', ':'};
  uint32_t ws, wn;
  memcpy(&ws, s_key, 4);
  memcpy(&wn, n_key, 4);
  return w == ws ? DORM_AV_S : w == wn ? DORM_AV_N : DORM_AV_INVALID;
}

/* After dorm__jt_compact_wrapper said yes: the wrapper consumed, its
 * string in *s (unescaped in place, NUL-terminated, not yet checked as
 * UTF-8 or a number), *len bytes; false when the string is refused. */
static inline bool dorm__jt_take_str(dorm_jt *j, const char **s, size_t *len) {
  char *p;
  j->b.next += 2;
  if (!dorm__jt_next_str(&j->b, &p, len)) return false;
  *s = p;
  return true;
}

/* dorm__jt_av_open, with the compact string wrapper read whole as above
 * (*s set, its type returned, nothing left to close); otherwise *s is
 * NULL and this is dorm__jt_av_open (the value next, dorm__jt_av_close
 * after it). */
static inline dorm_av_type dorm__jt_av_open_str(dorm_jt *j, int depth, dorm_jt_iter *it, const char **s,
                                                size_t *len) {
  *s = NULL;
  dorm_av_type type = dorm__jt_compact_wrapper(&j->b, depth);
  if (type != DORM_AV_INVALID) return dorm__jt_take_str(j, s, len) ? type : DORM_AV_INVALID;
  return dorm__jt_av_open(j, depth, it);
}

/* Where the gap after the container's last read child (or its bracket)
 * begins. */
static inline int dorm__jt_gap(const dorm_jt_build *b, const dorm_jt_iter *it) {
  return it->vi >= 0 ? dorm__jt_tok_hi(&b->tok[it->vi]) : it->pos;
}

/* dorm__jt_av_close, told at once when the wrapper's value ends right
 * before its closing brace (its one member read). */
static inline bool dorm__jt_av_close_fast(dorm_jt *j, dorm_jt_iter *it) {
  const jsmntok_t *t = it->t;
  if (it->k == t->size && dorm__jt_gap(&j->b, it) == t->end - 1) return true;
  return dorm__jt_av_close(j, it);
}

/* dorm__jt_next over an array's elements, told at once for a compact one
 * (the element right after the bracket or the comma, or the bracket right
 * after the last element). */
static inline int dorm__jt_next_elem(dorm_jt *j, dorm_jt_iter *it) {
  dorm_jt_build *b = &j->b;
  const jsmntok_t *t = it->t;
  int pos = dorm__jt_gap(b, it);
  if (it->k == t->size) {
    if (pos == t->end - 1) return 0;
  } else if (t->type == JSMN_ARRAY && b->next < b->ntok && (it->k == 0 || b->js[pos++] == ',') &&
             dorm__jt_tok_lo(&b->tok[b->next]) == pos) {
    it->vi = b->next;
    it->k++;
    return 1;
  }
  const char *unused = NULL;
  size_t ul = 0;
  return dorm__jt_next(j, it, &unused, &ul);
}

/* An object's next member, when compact: 1 and its key with the colon as
 * they stand in the body, b->js[*at .. *at + *glen) ("\"name\":", at least
 * 4 bytes), the key's token next and the value's right after the colon
 * (nothing consumed: dorm__jt_take_key then, or dorm__jt_next); 0 when the
 * object's closing brace follows at once (its end: nothing is left to
 * read); -1 otherwise (dorm__jt_next decides). The comma before a member
 * after the first is part of what is checked. */
static inline int dorm__jt_key_span(const dorm_jt_build *b, const dorm_jt_iter *it, int *at, int *glen) {
  const jsmntok_t *t = it->t;
  int pos = dorm__jt_gap(b, it);
  if (it->k == t->size) return pos == t->end - 1 ? 0 : -1;
  if (t->type != JSMN_OBJECT || b->next + 1 >= b->ntok) return -1;
  /* inside the object: pos < t->end - 1, so js[pos] is in the body */
  if (it->k && b->js[pos++] != ',') return -1;
  const jsmntok_t *key = &b->tok[b->next];
  if (key->type != JSMN_STRING || key->start != pos + 1 || b->js[key->end + 1] != ':' ||
      dorm__jt_tok_lo(key + 1) != key->end + 2 || key->end + 2 - pos < 4)
    return -1;
  *at = pos;
  *glen = key->end + 2 - pos;
  return 1;
}

/* Consumes the key dorm__jt_key_span found (its name is not unescaped: the
 * caller matched its bytes); the member's value is next. */
static inline void dorm__jt_take_key(dorm_jt_build *b, dorm_jt_iter *it) {
  b->next++;
  it->vi = b->next;
  it->k++;
}

#endif
