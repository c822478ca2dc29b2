/* json_write: the streaming JSON writer every request body goes through.
 *
 * Writes into one growable heap buffer owned by the writer (a dorm__buf), with
 * a hard upper bound: a body that would exceed it fails with DORM_ERR_TOO_LARGE and is
 * never sent. Errors are sticky: after the first failure every call is a
 * no-op and dorm_jw_status() / dorm__jw_finish() report the first error, so
 * callers can emit a whole body and check once. Commas are inserted
 * automatically between members and elements.
 *
 * The buffer is kept across dorm__jw_reset(), so a writer reused per request
 * does no heap allocation once warm. Strings are escaped per RFC 8259
 * (" \ and control characters; non-ASCII is passed through as UTF-8 after
 * validation); no printf on the hot path.
 */
#ifndef DORM_JSON_WRITE_H
#define DORM_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dorm/av.h"
#include "dorm/status.h"

struct dorm_expr;

/* Default bound: DynamoDB's largest request (BatchWriteItem) is 16 MB of
 * items; the JSON around them needs headroom. */
#define DORM_JW_DEFAULT_MAX ((size_t)24 * 1024 * 1024)

/* The most L/M containers DynamoDB accepts around a value inside one
 * attribute: its "32 levels" count the attribute itself as level 1, so an
 * attribute's value may be wrapped 31 times (a list in a list ... 31 deep
 * holding a scalar), and 32 wraps are refused with "Nesting Levels have
 * exceeded supported limits". DynamoDB Local and the service agree on this
 * (measured by test_it_limits; AWS eu-west-2 reported the same in
 * nubo-db/dynoxide#110). A container at depth d (0: the attribute's value)
 * is refused when d >= DORM_AV_MAX_DEPTH. */
#define DORM_AV_MAX_DEPTH 31

typedef struct dorm_jw {
  union {
    dorm__buf text;   /* the body (buf.h): bounded at max, owned */
    struct {          /* the same fields under the names the writers' fast paths use */
      char *buf;      /* NUL-terminated after dorm__jw_finish */
      size_t len, cap;
      size_t max;     /* bound on len */
    };
  };
  dorm_status status; /* first error, sticky */
  bool checked;       /* inside dorm__jw_item_checked: numbers are not validated again */
  size_t size_bound;  /* after dorm__jw_check_item: at least the item's DynamoDB size */
  char err[256];      /* message for the first error */
} dorm_jw;

/* Initialises an empty writer bounded at max bytes (0: DORM_JW_DEFAULT_MAX).
 * Allocates nothing yet. */
void dorm__jw_init(dorm_jw *w, size_t max);
/* Empties the writer, keeps its buffer, clears the error. */
void dorm__jw_reset(dorm_jw *w);
/* Frees the buffer; the writer may be re-initialised. */
void dorm__jw_free(dorm_jw *w);

/* Records an error (the first one wins); returns the writer's status. */
dorm_status dorm__jw_fail(dorm_jw *w, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static inline dorm_status dorm_jw_status(const dorm_jw *w) { return w->status; }

/* NUL-terminates and returns the status; on DORM_OK *out and *len (either may be
 * NULL) point at the body, owned by the writer until the next reset/free. */
dorm_status dorm__jw_finish(dorm_jw *w, const char **out, size_t *len);

/* Makes room for n more bytes (plus the final NUL). False after failure. */
bool dorm__jw_reserve(dorm_jw *w, size_t n);

/* ---- JSON primitives ---- */
void dorm__jw_begin_object(dorm_jw *w);
void dorm__jw_end_object(dorm_jw *w);
void dorm__jw_begin_array(dorm_jw *w);
void dorm__jw_end_array(dorm_jw *w);
/* An object key; NUL-terminated / explicit length. The key must be valid UTF-8. */
void dorm__jw_key(dorm_jw *w, const char *key);
void dorm__jw_keyn(dorm_jw *w, const char *key, size_t len);
/* A string value; invalid UTF-8 fails with DORM_ERR_INVALID_ARGUMENT. */
void dorm__jw_string(dorm_jw *w, const char *s);
void dorm__jw_stringn(dorm_jw *w, const char *s, size_t len);
/* Number tokens: text is written as given (callers pass validated text). */
void dorm__jw_number_text(dorm_jw *w, const char *text, size_t len);
void dorm__jw_int(dorm_jw *w, int64_t v);
void dorm__jw_bool(dorm_jw *w, bool v);
void dorm__jw_null(dorm_jw *w);
/* A pre-encoded JSON value (placed like a value: comma handling applies). */
void dorm__jw_raw_value(dorm_jw *w, const char *json, size_t len);
/* Bytes appended verbatim, no comma handling. */
void dorm__jw_raw(dorm_jw *w, const char *bytes, size_t len);
/* "key":"value" and "key":<int> shorthands. */
void dorm__jw_member_string(dorm_jw *w, const char *key, const char *value);
void dorm__jw_member_int(dorm_jw *w, const char *key, int64_t v);

/* ---- DynamoDB values ---- */

/* One AttributeValue: {"S":"..."}, {"N":"..."}, {"B":"<base64>"}, {"BOOL":true},
 * {"NULL":true}, {"SS":[...]}, {"NS":[...]}, {"BS":[...]}, {"L":[...]},
 * {"M":{...}}. Fails with DORM_ERR_INVALID_ARGUMENT (the message names the
 * path, rooted at `where`, e.g. "Item.address.city") on invalid UTF-8, an
 * invalid number, an empty set, an invalid type, or nesting deeper than
 * DORM_AV_MAX_DEPTH. `where` may be NULL. */
void dorm__jw_av(dorm_jw *w, const dorm_av *av, const char *where);

/* An item/key (an M) as a JSON object {"name":{...},...}. */
void dorm__jw_item(dorm_jw *w, const dorm_av *item, const char *where);

/* dorm__jw_item for an item that dorm__jw_check_item has passed and that
 * has not changed since: the same text, without validating its numbers
 * again (the check did; the writer still validates strings as it escapes
 * them). A bulk write checks every entry before sending any. */
void dorm__jw_item_checked(dorm_jw *w, const dorm_av *item, const char *where);

/* Checks that dorm__jw_item(w, item, where) would succeed, without writing
 * anything: the same walk, failing with the same status and message (the
 * first failure, in w->err) on the same value. Limits on the body's size are
 * not checked (they belong to the request the item is written into). Returns
 * w's status. On DORM_OK, w->size_bound is an upper bound of the item's
 * DynamoDB size (dorm_item_size), summed on the same walk: a caller that
 * finds it within the limit need not walk the item again to size it. */
dorm_status dorm__jw_check_item(dorm_jw *w, const dorm_av *item, const char *where);

/* Writes the members of the expressions set on x: "KeyConditionExpression",
 * "ConditionExpression", "FilterExpression", "ProjectionExpression",
 * "UpdateExpression" (those set), then "ExpressionAttributeNames" and
 * "ExpressionAttributeValues" (when non-empty). Must be called inside an
 * object. A builder in error state fails the writer with its status and
 * message. Renders the update text first (dorm_expr_finish). Implemented
 * in expr.c. */
void dorm__jw_expr(dorm_jw *w, struct dorm_expr *x);

#endif
