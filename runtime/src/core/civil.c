/* UTC calendar arithmetic (civil.h). The day-count formulas are the era
 * algorithms of Howard Hinnant's "chrono-Compatible Low-Level Date
 * Algorithms", written out here on int64_t. */
#include "civil.h"

#include <stdio.h>

#include "hot.h"

#define S_PER_DAY INT64_C(86400)

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t dorm__days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;                         /* [0, 399] */
  int64_t mp = (m + 9) % 12;                           /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] for a day of the month */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] likewise */
  return era * 146097 + doe - 719468;
}

DORM__HOT
void dorm__civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  int64_t z = days + 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

bool dorm__civil_leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int dorm__civil_month_days(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && dorm__civil_leap_year(y) ? 29 : days[m - 1];
}

int64_t dorm__civil_to_seconds(const dorm__civil_time *t) {
  return dorm__days_from_civil(t->year, t->month, t->day) * S_PER_DAY + (int64_t)t->hour * 3600 +
         (int64_t)t->minute * 60 + t->second;
}

DORM__HOT
void dorm__civil_from_seconds(int64_t secs, dorm__civil_time *t) {
  int64_t days = floor_div(secs, S_PER_DAY);
  int sod = (int)(secs - days * S_PER_DAY);
  dorm__civil_from_days(days, &t->year, &t->month, &t->day);
  t->hour = sod / 3600;
  t->minute = sod / 60 % 60;
  t->second = sod % 60;
}

void dorm__civil_format_seconds(int64_t secs, char out[32]) {
  dorm__civil_time t;
  dorm__civil_from_seconds(secs, &t);
  /* int64 seconds give years of at most 12 digits, so 32 bytes always fit;
   * gcc -O2 cannot tell (format-truncation), hence the checked result. */
  int n = snprintf(out, 32, "%lld-%02d-%02dT%02d:%02d:%02dZ", (long long)t.year, t.month, t.day, t.hour, t.minute,
                   t.second);
  if (n < 0) out[0] = '\0';
}
