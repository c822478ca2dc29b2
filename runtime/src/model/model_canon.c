/* Canonical text of `json` fields: the user's JSON parsed with cJSON and
 * written back with object keys sorted by their UTF-8 bytes at every level,
 * no whitespace, minimal string escaping and numbers by their exact decimal
 * value (put_number), laid out as ECMAScript prints them. Equal documents
 * give equal bytes, so stored values compare and deduplicate as text.
 * Numbers are not doubles here: 9007199254740993 is stored as written (a
 * JavaScript reader of the field may still round it; the text does not). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "model_internal.h"

typedef struct lexeme {
  const char *s;
  size_t n;
} lexeme;

typedef struct canon {
  model_sbuf *out;
  lexeme *lex; /* the text of every number, in document order */
  size_t nlex, caplex;
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

/* The number lexemes of a text cJSON accepted, in document order (cJSON
 * links an object's or array's members in that order too, so the n-th
 * number node of a pre-order walk is the n-th lexeme). cJSON keeps only a
 * number's double; this scan, over text whose syntax cJSON has already
 * checked, finds the text each came from: outside strings, a number is the
 * only token that starts with '-' or a digit, and it runs over the
 * characters cJSON's parse_number takes. */
static bool number_lexemes(canon *c, const char *t, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (t[i] == '"') {
      for (i++; i < len && t[i] != '"'; i++)
        if (t[i] == '\\') i++;
    } else if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
      size_t j = i;
      while (j < len && t[j] && strchr("0123456789+-.eE", t[j])) j++;
      if (c->nlex == c->caplex) {
        size_t cap = c->caplex ? c->caplex * 2 : 16;
        lexeme *l = realloc(c->lex, cap * sizeof *l);
        if (!l) return false;
        c->lex = l;
        c->caplex = cap;
      }
      c->lex[c->nlex].s = t + i;
      c->lex[c->nlex++].n = j - i;
      i = j - 1;
    }
  }
  return true;
}

/* Numbers every number node by its place in document order (valueint: the
 * tree is ours and its integer copy is not used here). */
static void number_nodes(cJSON *j, size_t *n) {
  for (; j; j = j->next) {
    if (cJSON_IsNumber(j)) j->valueint = (int)(*n)++;
    else if (j->child) number_nodes(j->child, n);
  }
}

/* A number as the exact decimal value of its text, laid out as ECMAScript's
 * Number::toString lays out digits: 100 for 1e2, 1.5 for 1.50, 1e+21,
 * 1e-7, 0.000001. The digits are the text's (no leading or trailing
 * zeros), never a double's: 9007199254740993 stays itself, and so does
 * 0.30000000000000004 or a 40-digit integer. For every number with at most
 * 15 significant digits this is the text ECMAScript (JSON.stringify) and
 * Go's encoding/json print for its double. Zero is 0 (-0 too, as
 * JSON.stringify writes it). A number a double cannot hold at all is
 * refused: JavaScript, Go and Python readers take 1e400 as Infinity or an
 * error, and 1e-400 as 0. */
static void put_number(canon *c, const cJSON *j) {
  double v = j->valuedouble;
  if (j->valueint < 0 || (size_t)j->valueint >= c->nlex) {
    cfail(c, DORM_ERR_INVALID_ARGUMENT, "a number's text was not found");
    return;
  }
  const char *s = c->lex[j->valueint].s, *end = s + c->lex[j->valueint].n;
  bool neg = s < end && *s == '-';
  if (neg) s++;
  /* digits: the mantissa's digits without the point; point: how many of
   * them stand before the decimal point, moved by the exponent. */
  const char *mant = s;
  long long point = 0;
  bool seen_point = false;
  for (; s < end && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') seen_point = true;
    else if (!seen_point) point++;
  }
  const char *mant_end = s;
  if (s < end) { /* the exponent, held below any value that could matter */
    s++;
    bool eneg = s < end && *s == '-';
    if (s < end && (*s == '-' || *s == '+')) s++;
    long long e = 0;
    for (; s < end; s++)
      if (e < 1000000000000000LL) e = e * 10 + (*s - '0');
    point += eneg ? -e : e;
  }
  /* the significant digits: from the first non-zero to the last */
  const char *first = mant, *last = mant_end;
  while (first < mant_end && (*first == '0' || *first == '.')) {
    if (*first == '0') point--;
    first++;
  }
  while (last > first && (last[-1] == '0' || last[-1] == '.')) last--;
  if (first == last) {
    put(c, "0", 1);
    return;
  }
  if (!isfinite(v) || v == 0) {
    cfail(c, DORM_ERR_INVALID_ARGUMENT, "a number is out of range (beyond a double: %s)",
          isfinite(v) ? "JSON readers take it as 0" : "JSON readers take it as Infinity");
    return;
  }
  /* the digits, contiguous (the point dropped) */
  size_t k = 0, cap = (size_t)(last - first);
  char small[64], *d = cap <= sizeof small ? small : malloc(cap);
  if (!d) {
    cfail(c, DORM_ERR_NO_MEMORY, "out of memory");
    return;
  }
  for (const char *q = first; q < last; q++)
    if (*q != '.') d[k++] = *q;
  static const char zeros[] = "000000000000000000000";
  if (neg) put(c, "-", 1);
  if ((long long)k <= point && point <= 21) {
    put(c, d, k);
    put(c, zeros, (size_t)(point - (long long)k));
  } else if (0 < point && point <= 21) {
    put(c, d, (size_t)point);
    put(c, ".", 1);
    put(c, d + point, k - (size_t)point);
  } else if (-6 < point && point <= 0) {
    put(c, "0.", 2);
    put(c, zeros, (size_t)-point);
    put(c, d, k);
  } else {
    put(c, d, 1);
    if (k > 1) {
      put(c, ".", 1);
      put(c, d + 1, k - 1);
    }
    char e[32];
    int n = snprintf(e, sizeof e, "e%c%lld", point - 1 >= 0 ? '+' : '-', point - 1 >= 0 ? point - 1 : 1 - point);
    put(c, e, (size_t)n);
  }
  if (d != small) free(d);
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
    put_number(c, j);
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

dorm_status dorm__model_json_canonical(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap) {
  cJSON *root = NULL;
  char err[160];
  /* dorm__json_parse: cJSON with length, no trailing garbage, no U+0000. */
  if (dorm__json_parse(text, len, &root, err, sizeof err) != DORM_OK) {
    if (why && whycap) snprintf(why, whycap, "%s", err);
    return DORM_ERR_INVALID_ARGUMENT;
  }
  canon c = {out, NULL, 0, 0, why, whycap, DORM_OK};
  size_t nodes = 0;
  number_nodes(root, &nodes);
  if (!number_lexemes(&c, text, len)) cfail(&c, DORM_ERR_NO_MEMORY, "out of memory");
  else if (nodes != c.nlex) cfail(&c, DORM_ERR_INVALID_ARGUMENT, "%zu numbers, %zu number texts", nodes, c.nlex);
  put_value(&c, root);
  cJSON_Delete(root);
  free(c.lex);
  return c.st;
}

/* ---- a stored text's check (reading) ---- */

/* The length of the RFC 8259 number at s (at most n bytes), 0 if none:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t rfc_number(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  if (i < n && s[i] == '0') i++;
  else if (i < n && s[i] >= '1' && s[i] <= '9')
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  else return 0;
  if (i < n && s[i] == '.') {
    size_t d = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return 0;
  }
  return i;
}

bool dorm__model_json_valid(const char *text, size_t len, char *why, size_t whycap) {
  cJSON *root = NULL;
  char err[160];
  /* cJSON's syntax, no trailing data, no U+0000, no broken \u escape */
  if (dorm__json_parse(text, len, &root, err, sizeof err) != DORM_OK) {
    if (why && whycap) snprintf(why, whycap, "%s", err);
    return false;
  }
  cJSON_Delete(root);
  /* What cJSON accepted is JSON's structure; its tokens are checked here
   * by their bytes. Outside strings only JSON's whitespace, punctuation,
   * the letters of true/false/null and numbers' characters can stand (cJSON
   * already matched the literals), and a number runs over the characters
   * cJSON's parse_number takes, so that whole run must be one RFC number. */
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '"') {
      for (i++; i < len && text[i] != '"'; i++) {
        if (text[i] == '\\') i++;
        else if ((unsigned char)text[i] < 0x20) {
          if (why && whycap)
            snprintf(why, whycap, "a control character (U+%04X) not escaped in a string at byte %zu",
                     (unsigned)(unsigned char)text[i], i);
          return false;
        }
      }
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      size_t j = i;
      while (j < len && strchr("0123456789+-.eE", text[j]) && text[j]) j++;
      if (rfc_number(text + i, j - i) != j - i) {
        if (why && whycap) snprintf(why, whycap, "\"%.*s\" at byte %zu is not a JSON number", (int)(j - i > 40 ? 40 : j - i), text + i, i);
        return false;
      }
      i = j - 1;
    } else if (!strchr(" \t\n\r{}[]:,truefalsn", ch) || !ch) {
      if (why && whycap) {
        if (i == 0 && len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
          snprintf(why, whycap, "a byte order mark at byte 0");
        else snprintf(why, whycap, "byte 0x%02x at byte %zu is not JSON (only space, tab, CR and LF separate tokens)", ch, i);
      }
      return false;
    }
  }
  return true;
}
