/* Canonical text of `json` fields: the user's JSON parsed with cJSON and
 * written back with object keys sorted by their UTF-8 bytes at every level,
 * no whitespace, minimal string escaping and numbers in the shortest form
 * that reads back as the same double, laid out as ECMAScript (and Go's
 * encoding/json) print them. Equal documents give equal bytes, so stored
 * values compare and deduplicate as text. Numbers are IEEE doubles here, as
 * in JavaScript: integers beyond 2^53 lose precision. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
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
  /* An integer that a double holds exactly (most numbers in progress
   * payloads: counts, rows) is its digits in ECMAScript's layout too; the
   * shortest-form search below is a few snprintf/strtod rounds. */
  if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v) {
    char out[24];
    size_t o = sizeof out;
    int64_t iv = (int64_t)v;
    uint64_t u = iv < 0 ? (uint64_t)(-iv) : (uint64_t)iv;
    do {
      out[--o] = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (iv < 0) out[--o] = '-';
    put(c, out + o, sizeof out - o);
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

dorm_status dorm__model_json_canonical(const char *text, size_t len, model_sbuf *out, char *why, size_t whycap) {
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
