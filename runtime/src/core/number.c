#include "number.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

#define DDB_MAX_DIGITS 38
#define DDB_MIN_EXP (-130) /* smallest power of ten of the leading digit */
#define DDB_MAX_EXP 125    /* largest */

/* The parts of a syntactically valid number. */
typedef struct parsed {
  bool neg;
  const char *ip; size_t in;  /* integer digits */
  const char *fp; size_t fn;  /* fraction digits */
  int64_t exp;                /* exponent, clamped to +-10^12 */
} parsed;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *parse(const char *s, size_t len, parsed *p) {
  size_t i = 0;
  memset(p, 0, sizeof *p);
  if (len == 0) return "empty number";
  if (s[i] == '+' || s[i] == '-') p->neg = s[i++] == '-';
  p->ip = s + i;
  while (i < len && is_digit(s[i])) i++;
  p->in = (size_t)(s + i - p->ip);
  if (i < len && s[i] == '.') {
    i++;
    p->fp = s + i;
    while (i < len && is_digit(s[i])) i++;
    p->fn = (size_t)(s + i - p->fp);
  }
  /* Like DynamoDB (Java's BigDecimal): "5." and ".5" are numbers, "." is not. */
  if (p->in == 0 && p->fn == 0) return "expected a digit";
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    size_t start = i;
    int64_t e = 0;
    while (i < len && is_digit(s[i])) {
      if (e < INT64_C(1000000000000)) e = e * 10 + (s[i] - '0');
      i++;
    }
    if (i == start) return "expected a digit in the exponent";
    p->exp = eneg ? -e : e;
  }
  if (i != len) return "unexpected character";
  return NULL;
}

/* Digit k of the combined integer+fraction digit string. */
static char digit_at(const parsed *p, size_t k) { return k < p->in ? p->ip[k] : p->fp[k - p->in]; }

/* Finds the first and last nonzero digits; false when the value is zero. */
static bool significant(const parsed *p, size_t *first, size_t *last) {
  size_t n = p->in + p->fn, f = 0;
  while (f < n && digit_at(p, f) == '0') f++;
  if (f == n) return false;
  size_t l = n - 1;
  while (digit_at(p, l) == '0') l--;
  *first = f;
  *last = l;
  return true;
}

/* Short plain decimals ("-12.50") are the common case: at most 38 digits
 * without an exponent are always within DynamoDB's precision and range. */
static bool short_plain_decimal(const char *s, size_t len) {
  size_t i = 0;
  if (len == 0 || len > DDB_MAX_DIGITS) return false;
  if (s[0] == '-' || s[0] == '+') i++;
  size_t start = i;
  while (i < len && is_digit(s[i])) i++;
  if (i == start) return false; /* ".5" and friends take the full path */
  if (i < len && s[i] == '.') {
    size_t f = ++i;
    while (i < len && is_digit(s[i])) i++;
    if (i == f) return false;
  }
  return i == len;
}

DORM__HOT
const char *dorm__number_invalid_reason(const char *s, size_t len) {
  if (short_plain_decimal(s, len)) return NULL;
  parsed p;
  const char *why = parse(s, len, &p);
  if (why) return why;
  size_t first, last;
  if (!significant(&p, &first, &last)) return NULL; /* zero, any exponent */
  if (last - first + 1 > DDB_MAX_DIGITS) return "more than 38 significant digits";
  /* Power of ten of the leading significant digit. */
  int64_t lead = (int64_t)p.in - 1 - (int64_t)first + p.exp;
  if (lead > DDB_MAX_EXP) return "magnitude above 9.9999999999999999999999999999999999999E+125";
  if (lead < DDB_MIN_EXP) return "magnitude below 1E-130";
  return NULL;
}

/* floor(x / 2) for negative x too. */
static int64_t half_floor(int64_t x) { return x >= 0 ? x / 2 : -((-x + 1) / 2); }

/* DynamoDB stores a number as one byte of sign and exponent, then its
 * significant digits in base 100, pairs aligned on the decimal point ("1.5"
 * is 01|50: two bytes, "1000" is 10|00 with the zero pair dropped: one),
 * then for a negative number one terminating byte, 21 bytes at most. Sizes
 * measured against DynamoDB Local, number by number (1.5: 3 bytes, -1: 3,
 * 1000: 2, 38 digits: 20, -38 digits: 21, 37 digits + 1 decimal: 21);
 * AWS documents only "about 1 byte per two significant digits, plus 1",
 * which undercounts the aligned and negative cases, so items near 400 KB
 * passed our check and were refused by DynamoDB. Zero is 1 byte. Text that
 * is not a number (never sent: the writer refuses it) gets the rough count. */
size_t dorm__number_storage_size(const char *s, size_t len) {
  parsed p;
  size_t first, last;
  if (parse(s, len, &p) == NULL) {
    if (!significant(&p, &first, &last)) return 1;
    int64_t lead = (int64_t)p.in - 1 - (int64_t)first + p.exp; /* power of ten of the first digit */
    int64_t low = (int64_t)p.in - 1 - (int64_t)last + p.exp;   /* and of the last */
    int64_t pairs = half_floor(lead) - half_floor(low) + 1;
    int64_t n = 1 + pairs + (p.neg ? 1 : 0);
    return (size_t)(n > 21 ? 21 : n);
  }
  size_t k = 0, f = SIZE_MAX, l = 0, digits = 1;
  for (size_t i = 0; i < len && s[i] != 'e' && s[i] != 'E'; i++) {
    if (!is_digit(s[i])) continue;
    if (s[i] != '0') {
      if (f == SIZE_MAX) f = k;
      l = k;
    }
    k++;
  }
  if (f != SIZE_MAX) digits = l - f + 1;
  return 1 + (digits + 1) / 2;
}

/* Magnitude as an integer, if it is one and fits in uint64_t. */
static bool to_u64_mag(const parsed *p, uint64_t *out) {
  size_t first, last;
  if (!significant(p, &first, &last)) {
    *out = 0;
    return true;
  }
  int64_t lead = (int64_t)p->in - 1 - (int64_t)first + p->exp;
  int64_t low = (int64_t)p->in - 1 - (int64_t)last + p->exp; /* power of the last nonzero digit */
  if (low < 0 || lead > 19) return false;
  uint64_t v = 0;
  for (int64_t pw = lead; pw >= 0; pw--) {
    /* the digit with power pw sits at index in-1-(pw-exp) */
    int64_t idx = (int64_t)p->in - 1 - (pw - p->exp);
    unsigned d = 0;
    if (idx >= (int64_t)first && idx <= (int64_t)last) d = (unsigned)(digit_at(p, (size_t)idx) - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool dorm__number_to_u64(const char *s, size_t len, uint64_t *out) {
  parsed p;
  uint64_t m;
  if (parse(s, len, &p) || !to_u64_mag(&p, &m)) return false;
  if (p.neg && m != 0) return false;
  *out = m;
  return true;
}

bool dorm__number_to_i64(const char *s, size_t len, int64_t *out) {
  parsed p;
  uint64_t m;
  if (parse(s, len, &p) || !to_u64_mag(&p, &m)) return false;
  if (p.neg) {
    if (m > (uint64_t)INT64_MAX + 1) return false;
    *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
  } else {
    if (m > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)m;
  }
  return true;
}

bool dorm__number_to_double(const char *s, size_t len, double *out) {
  parsed p;
  if (parse(s, len, &p)) return false;
  char stack[128];
  char *buf = len < sizeof stack ? stack : malloc(len + 1);
  if (!buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  /* strtod honours LC_NUMERIC; swap in the locale's radix character. */
  const char *radix = localeconv()->decimal_point;
  if (radix && radix[0] != '.' && radix[0] && !radix[1]) {
    char *dot = memchr(buf, '.', len);
    if (dot) *dot = radix[0];
  }
  *out = strtod(buf, NULL);
  if (buf != stack) free(buf);
  return true;
}

size_t dorm__number_format_u64(uint64_t v, char *buf) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

size_t dorm__number_format_i64(int64_t v, char *buf) {
  if (v < 0) {
    buf[0] = '-';
    return 1 + dorm__number_format_u64((uint64_t)0 - (uint64_t)v, buf + 1);
  }
  return dorm__number_format_u64((uint64_t)v, buf);
}

size_t dorm__number_format_double(double v, char *buf) {
  if (!isfinite(v)) return 0;
  if (v == 0) { /* -0 keeps its sign: a payload's -0 goes back as it came */
    strcpy(buf, signbit(v) ? "-0" : "0");
    return strlen(buf);
  }
  /* The shortest digits that read back as v ("%.*e", then parsed back: the
   * radix character is the locale's, so it is taken as whatever follows
   * the first digit). */
  char e[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  const char *p = e;
  bool neg = *p == '-';
  if (neg) p++;
  char digits[20];
  int k = 0;
  digits[k++] = *p++;
  if (*p && *p != 'e') p++; /* the radix character */
  while (*p >= '0' && *p <= '9' && k < (int)sizeof digits) digits[k++] = *p++;
  while (k > 1 && digits[k - 1] == '0') k--;
  int n = (int)strtol(p + 1, NULL, 10) + 1; /* digits[0] is the n-th before the point */
  /* ECMAScript's Number::toString layout (JSON.stringify's, Go's
   * encoding/json's for these ranges): 100 rather than C's 1e+02. */
  char *o = buf;
  if (neg) *o++ = '-';
  if (k <= n && n <= 21) {
    memcpy(o, digits, (size_t)k);
    o += k;
    for (int i = k; i < n; i++) *o++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(o, digits, (size_t)n);
    o += n;
    *o++ = '.';
    memcpy(o, digits + n, (size_t)(k - n));
    o += k - n;
  } else if (-6 < n && n <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = n; i < 0; i++) *o++ = '0';
    memcpy(o, digits, (size_t)k);
    o += k;
  } else {
    *o++ = digits[0];
    if (k > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)(k - 1));
      o += k - 1;
    }
    o += sprintf(o, "e%c%d", n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
  }
  *o = 0;
  return (size_t)(o - buf);
}

int dorm__number_compare(const char *a, size_t alen, const char *b, size_t blen) {
  parsed pa, pb;
  bool ba = parse(a, alen, &pa) != NULL, bb = parse(b, blen, &pb) != NULL;
  if (ba || bb) return ba == bb ? 0 : ba ? 1 : -1; /* not numbers: after every number, equal to each other */
  size_t fa = 0, la = 0, fb = 0, lb = 0;
  bool nza = significant(&pa, &fa, &la), nzb = significant(&pb, &fb, &lb);
  int sa = !nza ? 0 : pa.neg ? -1 : 1, sb = !nzb ? 0 : pb.neg ? -1 : 1;
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  /* Same sign: the magnitude is the leading digit's position, then the
   * digits from there (a shorter run that is a prefix is smaller). */
  int64_t ea = (int64_t)pa.in - (int64_t)fa + pa.exp, eb = (int64_t)pb.in - (int64_t)fb + pb.exp;
  int mag = ea < eb ? -1 : ea > eb;
  size_t na = la - fa + 1, nb = lb - fb + 1;
  for (size_t k = 0; !mag && k < na && k < nb; k++) {
    char da = digit_at(&pa, fa + k), db = digit_at(&pb, fb + k);
    mag = da < db ? -1 : da > db;
  }
  if (!mag) mag = na < nb ? -1 : na > nb;
  return sa < 0 ? -mag : mag;
}

bool dorm_number_equal(const char *a, size_t alen, const char *b, size_t blen) {
  parsed pa, pb;
  if (parse(a, alen, &pa) || parse(b, blen, &pb)) return false;
  size_t fa = 0, la = 0, fb = 0, lb = 0; /* set by significant(); gcc -O2 cannot tell */
  bool nza = significant(&pa, &fa, &la), nzb = significant(&pb, &fb, &lb);
  if (!nza || !nzb) return nza == nzb; /* zero equals zero, whatever its sign */
  if (pa.neg != pb.neg || la - fa != lb - fb) return false;
  if ((int64_t)pa.in - (int64_t)fa + pa.exp != (int64_t)pb.in - (int64_t)fb + pb.exp) return false;
  for (size_t k = 0; k <= la - fa; k++)
    if (digit_at(&pa, fa + k) != digit_at(&pb, fb + k)) return false;
  return true;
}
