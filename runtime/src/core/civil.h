/* civil: UTC calendar arithmetic on the proleptic Gregorian calendar.
 *
 * Dates are counted in days since 1970-01-01 with 400-year eras (146097
 * days), so dates before 1970 and leap years need no special cases, and
 * nothing here reads the time zone or calls gmtime/timegm (timegm is not
 * POSIX). Used for RFC 3339 `time` values, SigV4 timestamps, credential
 * expiry times and migration timestamps. Nothing here allocates or fails;
 * the results are exact for years within +-2^40.
 */
#ifndef DORM_CIVIL_H
#define DORM_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* A UTC time broken down. */
typedef struct dorm__civil_time {
  int64_t year;
  int month;  /* 1..12 */
  int day;    /* 1..31 */
  int hour;   /* 0..23 */
  int minute; /* 0..59 */
  int second; /* 0..59 */
} dorm__civil_time;

/* Days since 1970-01-01 (negative before) of the date y-m-d, m in 1..12.
 * d counts on linearly past the month's ends, as timegm's does (February 30
 * is March 1 or 2). */
int64_t dorm__days_from_civil(int64_t y, int m, int d);

/* The date of a day count (the inverse of dorm__days_from_civil). */
void dorm__civil_from_days(int64_t days, int64_t *y, int *m, int *d);

bool dorm__civil_leap_year(int64_t y);

/* Days in month m (1..12) of year y. */
int dorm__civil_month_days(int64_t y, int m);

/* Seconds since the epoch of t, month in 1..12; the other fields count on
 * linearly past their ranges, as timegm's do (second 60 is the next
 * minute's 0). */
int64_t dorm__civil_to_seconds(const dorm__civil_time *t);

/* The broken-down time of secs seconds since the epoch (-1 is
 * 1969-12-31T23:59:59). */
void dorm__civil_from_seconds(int64_t secs, dorm__civil_time *t);

/* "YYYY-MM-DDTHH:MM:SSZ" of secs into out, the year in as many digits as it
 * has (strftime's %Y: "999", "-1", "10000"). */
void dorm__civil_format_seconds(int64_t secs, char out[32]);

#endif
