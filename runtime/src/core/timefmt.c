/* `time` values: nanoseconds since the epoch <-> RFC 3339 text.
 *
 * Written as fixed-width UTC with nine fraction digits so that string order
 * is time order (DynamORM's trimmed RFC3339Nano is not sortable: ".5Z" sorts
 * after ".123Z"); read in any RFC 3339 form, because DynamORM writes trimmed
 * fractions and local offsets. The calendar arithmetic is core's (civil.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core_internal.h"
#include "dorm/timefmt.h"

#define NS_PER_S INT64_C(1000000000)

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
  dorm__civil_time t;
  dorm__civil_from_seconds(secs, &t);
  /* int64 nanoseconds span 1677..2262: always four year digits. */
  unsigned f = (unsigned)frac;
  put2(out, (unsigned)(t.year / 100));
  put2(out + 2, (unsigned)(t.year % 100));
  out[4] = '-';
  put2(out + 5, (unsigned)t.month);
  out[7] = '-';
  put2(out + 8, (unsigned)t.day);
  out[10] = 'T';
  put2(out + 11, (unsigned)t.hour);
  out[13] = ':';
  put2(out + 14, (unsigned)t.minute);
  out[16] = ':';
  put2(out + 17, (unsigned)t.second);
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

bool dorm_time_parse(const char *s, size_t len, int64_t *ns) {
  int y, mo, d, h, mi, se;
  if (!s || len < 20) return false;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
      s[16] != ':' || !digits(s + 17, 2, &se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > dorm__civil_month_days(y, mo) || h > 23 || mi > 59 || se > 59) return false;
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
  dorm__civil_time t = {y, mo, d, h, mi, se};
  int64_t secs = dorm__civil_to_seconds(&t) - offset;
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
