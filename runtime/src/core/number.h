/* number: DynamoDB number text (the N type).
 *
 * DynamoDB numbers are exact decimals: optional sign, digits, optional
 * fraction and exponent; up to 38 significant digits (leading and trailing
 * zeros do not count) and a magnitude of 1E-130 to
 * 9.9999999999999999999999999999999999999E+125, or zero. We accept what
 * DynamoDB accepts (checked against DynamoDB Local):
 *   [+-]? ( digit+ ( '.' digit* )? | '.' digit+ ) ( [eE] [+-]? digit+ )?
 * so "+5", "007", "5." and ".5" are numbers; " 1", "0x1", "1,5",
 * "Infinity" and "NaN" are not. DynamoDB answers with normalised text
 * ("5", "0.5", "100" for "1E2"). */
#ifndef DORM_NUMBER_H
#define DORM_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NULL when s[0..len) is a valid DynamoDB number, else a static English
 * reason ("more than 38 significant digits"). */
const char *dorm__number_invalid_reason(const char *s, size_t len);

/* Bytes DynamoDB counts for a valid number: 1 + its significant digits in
 * base-100 pairs aligned on the decimal point + 1 when negative, at most 21
 * (number.c says how this was measured). Invalid text gets a rough count. */
size_t dorm__number_storage_size(const char *s, size_t len);

/* Exact conversions of valid number text. Return false when the value is not
 * an integer or does not fit the type (e.g. "1.5", "1E30" for int64). */
/* Numeric order of two DynamoDB numbers (<0, 0, >0), 0 exactly when
 * dorm_number_equal; text that is not a number sorts after every number.
 * A sort key for numbers written in different forms ("1.0", "1", "1e0"). */
int dorm__number_compare(const char *a, size_t alen, const char *b, size_t blen);
bool dorm__number_to_i64(const char *s, size_t len, int64_t *out);
bool dorm__number_to_u64(const char *s, size_t len, uint64_t *out);

/* Nearest double (correctly rounded by strtod, independent of the locale).
 * False when the text is not a valid number. */
bool dorm__number_to_double(const char *s, size_t len, double *out);

/* Writes the decimal text of v into buf (at least 21 bytes); returns length. */
size_t dorm__number_format_i64(int64_t v, char *buf);
size_t dorm__number_format_u64(uint64_t v, char *buf);

/* The shortest digits that round-trip v, laid out as ECMAScript prints a
 * Number (100, 0.001, 1.5e-7, 1e+21; -0 keeps its sign), into buf of at
 * least 32 bytes. Returns 0 when v is NaN or infinite, which DynamoDB
 * cannot store. */
size_t dorm__number_format_double(double v, char *buf);

#endif
