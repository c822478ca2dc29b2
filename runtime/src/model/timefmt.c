/* `time` values: nanoseconds since the epoch <-> RFC 3339 text.
 *
 * Written as fixed-width UTC with nine fraction digits so that string order
 * is time order (DynamORM's trimmed RFC3339Nano is not sortable: ".5Z" sorts
 * after ".123Z"); read in any RFC 3339 form, because DynamORM writes trimmed
 * fractions and local offsets. Calendar arithmetic is the proleptic
 * Gregorian calendar on day counts, so dates before 1970 and leap years need
 * no special cases. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "dorm/model.h"

#define NS_PER_S INT64_C(1000000000)
#define S_PER_DAY INT64_C(86400)

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). Eras of
 * 400 years (146097 days) make the computation exact for any year. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t mp = (m + 9) % 12;                                     /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;                      /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static const char two_digits[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

static inline void put2(char *o, unsigned v) { memcpy(o, two_digits + 2 * v, 2); }

void dorm_time_format(int64_t ns, char out[32]) {
  /* secs * 1e9 would overflow near INT64_MIN: split with / and %. */
  int64_t secs = ns / NS_PER_S, frac = ns % NS_PER_S;
  if (frac < 0) {
    secs -= 1;
    frac += NS_PER_S;
  }
  int64_t days = floor_div(secs, S_PER_DAY);
  int64_t sod = secs - days * S_PER_DAY;
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  /* int64 nanoseconds span 1677..2262: always four year digits. */
  unsigned f = (unsigned)frac, s = (unsigned)sod;
  put2(out, (unsigned)(y / 100));
  put2(out + 2, (unsigned)(y % 100));
  out[4] = '-';
  put2(out + 5, (unsigned)m);
  out[7] = '-';
  put2(out + 8, (unsigned)d);
  out[10] = 'T';
  put2(out + 11, s / 3600);
  out[13] = ':';
  put2(out + 14, s / 60 % 60);
  out[16] = ':';
  put2(out + 17, s % 60);
  out[19] = '.';
  out[28] = (char)('0' + f % 10);
  f /= 10;
  put2(out + 26, f % 100);
  put2(out + 24, f / 100 % 100);
  put2(out + 22, f / 10000 % 100);
  put2(out + 20, f / 1000000);
  out[29] = 'Z';
  out[30] = '\0';
  out[31] = '\0';
}

static bool digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

bool dorm_time_parse(const char *s, size_t len, int64_t *ns) {
  int y, mo, d, h, mi, se;
  if (!s || len < 20) return false;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
      s[16] != ':' || !digits(s + 17, 2, &se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || se > 59) return false;
  size_t i = 19;
  int64_t frac = 0;
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      /* Beyond nanoseconds the digits are read and dropped (as Go does). */
      if (i - start < 9) frac = frac * 10 + (s[i] - '0');
      i++;
    }
    if (i == start) return false;
    for (size_t k = i - start; k < 9; k++) frac *= 10;
  }
  int64_t offset = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om) || oh > 23 ||
        om > 59)
      return false;
    offset = (int64_t)oh * 3600 + om * 60;
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return false;
  }
  if (i != len) return false;
  int64_t secs = days_from_civil(y, mo, d) * S_PER_DAY + (int64_t)h * 3600 + mi * 60 + se - offset;
  /* Near the lower end of the range secs * 1e9 alone would overflow
   * although the sum fits. */
  if (secs < 0 && frac > 0) {
    secs += 1;
    frac -= NS_PER_S;
  }
  int64_t out;
  if (__builtin_mul_overflow(secs, NS_PER_S, &out) || __builtin_add_overflow(out, frac, &out)) return false;
  *ns = out;
  return true;
}

int64_t dorm_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
