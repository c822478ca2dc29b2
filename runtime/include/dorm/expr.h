/* dorm_expr: DynamoDB expression builder.
 *
 * Builds condition, key condition, filter, update and projection expressions
 * for one request. The text always uses placeholders: #n0, #n1, ... for every
 * attribute name (so reserved words and names with dots, spaces or any other
 * character are safe) and :v0, :v1, ... for every value. One builder holds
 * all the expressions of a request, which share one ExpressionAttributeNames
 * and one ExpressionAttributeValues map.
 *
 * Determinism: the same sequence of calls gives the same bytes. Placeholders
 * are numbered in the order the text is produced: a condition is rendered
 * (left to right) when it is attached with dorm_expr_condition() & co., an
 * update action when it is added, projection paths when they are set. A name
 * used again anywhere in the builder reuses its #n placeholder; every value
 * gets its own :v placeholder. Because conditions are numbered at attach
 * time, C's unspecified argument evaluation order in nested calls like
 * dorm_cond_and(x, dorm_cond_eq(...), dorm_cond_eq(...)) cannot change them.
 *
 * Paths: "a", "a.b", "a[0].b[2]": names separated by '.', list indexes in
 * [ ]; each name becomes its own placeholder ("#n0.#n1[0]"). A backslash makes
 * the next character part of the name ("my\\.attr" is the single name
 * "my.attr"; in C source that is "my\\\\.attr"). dorm_opd_name() takes one
 * literal top-level name with no parsing at all.
 *
 *   dorm_expr x;
 *   dorm_expr_init(&x, &arena);
 *   dorm_expr_key_condition(&x, dorm_cond_and(&x,
 *       dorm_cond_eq(&x, "PK", dorm_av_str("USER#1")),
 *       dorm_cond_begins_with(&x, "SK", dorm_av_str("ORDER#"))));
 *   dorm_expr_filter(&x, dorm_cond_cmp(&x, "amount", DORM_GT, dorm_av_num("100")));
 *   if (dorm_expr_status(&x) != DORM_OK) puts(dorm_expr_errmsg(&x));
 *   // x.key_condition: "#n0 = :v0 AND begins_with(#n1, :v1)"
 *   // x.filter:        "#n2 > :v2"
 *
 * Errors are sticky: a failing call records DORM_ERR_INVALID_ARGUMENT (or
 * DORM_ERR_NO_MEMORY) and a message, returns NULL / the status, and every
 * later call is a no-op; constructors accept NULL children (from a failed
 * call) and pass the failure on, so a whole expression can be built and
 * checked once.
 *
 * Ownership: all text, nodes and tables live in the arena given to
 * dorm_expr_init(). Path and name strings are copied; dorm_av values are
 * copied shallowly (the struct), so the bytes they point to (strings, list
 * arrays) are borrowed and must outlive the request being written.
 */
#ifndef DORM_EXPR_H
#define DORM_EXPR_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most operands one IN (...) list may hold (DynamoDB's limit). */
#define DORM_EXPR_MAX_IN 100

typedef enum dorm_cmp_op { DORM_EQ, DORM_NE, DORM_LT, DORM_LE, DORM_GT, DORM_GE } dorm_cmp_op;

typedef struct dorm_cond dorm_cond;       /* condition node (arena) */
typedef struct dorm_operand dorm_operand; /* operand node (arena) */
struct dorm_expr_sb { char *p; size_t len, cap; }; /* private */

/* Fields below "outputs" may be read; the rest is private. */
typedef struct dorm_expr {
  dorm_arena *arena;
  dorm_status status;
  char errmsg[256];
  /* outputs: NUL-terminated text in the arena, NULL when not set */
  const char *key_condition;
  const char *condition;
  const char *filter;
  const char *projection;
  const char *update; /* rendered by dorm_expr_finish() / dorm_expr_update_text() */
  /* outputs: placeholder i is "#n<i>" -> names[i], ":v<i>" -> values[i] */
  dorm_str *names;
  size_t name_count;
  dorm_av *values;
  size_t value_count;
  /* private */
  size_t name_cap, value_cap;
  struct dorm_expr_sb set, remove, add, del;
  bool update_dirty;
} dorm_expr;

/* Starts an empty builder whose results live in arena (borrowed; must outlive x). */
DORM_API void dorm_expr_init(dorm_expr *x, dorm_arena *arena);

/* The first error (DORM_OK if none) and its message ("" if none). */
DORM_API dorm_status dorm_expr_status(const dorm_expr *x);
DORM_API const char *dorm_expr_errmsg(const dorm_expr *x);

/* ---- operands ---- */

/* A document path ("a.b[0]"; see above). NULL (and an error) on a bad path. */
DORM_API dorm_operand *dorm_opd_path(dorm_expr *x, const char *path);
/* One literal top-level attribute name, any bytes (non-empty). */
DORM_API dorm_operand *dorm_opd_name(dorm_expr *x, const char *name, size_t len);
/* A value (shallow copy; see Ownership). */
DORM_API dorm_operand *dorm_opd_value(dorm_expr *x, dorm_av value);
/* size(path), for conditions. */
DORM_API dorm_operand *dorm_opd_size(dorm_expr *x, dorm_operand *path);
/* Update SET right-hand sides: if_not_exists(path, value),
 * list_append(a, b), a + b, a - b (a and b: path or value; + and - do not nest). */
DORM_API dorm_operand *dorm_opd_if_not_exists(dorm_expr *x, dorm_operand *path, dorm_operand *value);
DORM_API dorm_operand *dorm_opd_list_append(dorm_expr *x, dorm_operand *a, dorm_operand *b);
DORM_API dorm_operand *dorm_opd_plus(dorm_expr *x, dorm_operand *a, dorm_operand *b);
DORM_API dorm_operand *dorm_opd_minus(dorm_expr *x, dorm_operand *a, dorm_operand *b);

/* ---- conditions (for condition, key condition and filter expressions) ---- */

/* a <op> b with operands (path, value or size(path)). */
DORM_API dorm_cond *dorm_cond_compare(dorm_expr *x, dorm_operand *a, dorm_cmp_op op, dorm_operand *b);
/* path <op> value, and the common path = value. */
DORM_API dorm_cond *dorm_cond_cmp(dorm_expr *x, const char *path, dorm_cmp_op op, dorm_av value);
DORM_API dorm_cond *dorm_cond_eq(dorm_expr *x, const char *path, dorm_av value);
/* path BETWEEN lo AND hi */
DORM_API dorm_cond *dorm_cond_between(dorm_expr *x, const char *path, dorm_av lo, dorm_av hi);
/* path IN (values[0], ...): 1..DORM_EXPR_MAX_IN values, else an error. */
DORM_API dorm_cond *dorm_cond_in(dorm_expr *x, const char *path, const dorm_av *values, size_t count);
DORM_API dorm_cond *dorm_cond_begins_with(dorm_expr *x, const char *path, dorm_av prefix);
DORM_API dorm_cond *dorm_cond_contains(dorm_expr *x, const char *path, dorm_av operand);
DORM_API dorm_cond *dorm_cond_exists(dorm_expr *x, const char *path);     /* attribute_exists */
DORM_API dorm_cond *dorm_cond_not_exists(dorm_expr *x, const char *path); /* attribute_not_exists */
/* attribute_type(path, :v) with :v the type name ("S", "SS", "M", ...). */
DORM_API dorm_cond *dorm_cond_type(dorm_expr *x, const char *path, dorm_av_type type);
/* The same, with an operand for the path (e.g. dorm_opd_name for odd names). */
DORM_API dorm_cond *dorm_cond_exists_opd(dorm_expr *x, dorm_operand *path);
DORM_API dorm_cond *dorm_cond_not_exists_opd(dorm_expr *x, dorm_operand *path);
DORM_API dorm_cond *dorm_cond_between_opd(dorm_expr *x, dorm_operand *a, dorm_operand *lo, dorm_operand *hi);
DORM_API dorm_cond *dorm_cond_in_opd(dorm_expr *x, dorm_operand *a, dorm_operand *const *values, size_t count);
DORM_API dorm_cond *dorm_cond_begins_with_opd(dorm_expr *x, dorm_operand *path, dorm_operand *prefix);
DORM_API dorm_cond *dorm_cond_contains_opd(dorm_expr *x, dorm_operand *path, dorm_operand *operand);
/* Boolean combinations. Parentheses are added where precedence needs them
 * (NOT > AND > OR), e.g. "(#n0 = :v0 OR #n1 = :v1) AND #n2 = :v2". */
DORM_API dorm_cond *dorm_cond_and(dorm_expr *x, dorm_cond *a, dorm_cond *b);
DORM_API dorm_cond *dorm_cond_or(dorm_expr *x, dorm_cond *a, dorm_cond *b);
DORM_API dorm_cond *dorm_cond_not(dorm_expr *x, dorm_cond *a);
/* AND / OR of n conditions (n >= 1). */
DORM_API dorm_cond *dorm_cond_all(dorm_expr *x, dorm_cond *const *conds, size_t n);
DORM_API dorm_cond *dorm_cond_any(dorm_expr *x, dorm_cond *const *conds, size_t n);

/* ---- attaching expressions (each at most once per builder) ---- */

/* Renders cond as the ConditionExpression / FilterExpression. */
DORM_API dorm_status dorm_expr_condition(dorm_expr *x, dorm_cond *cond);
DORM_API dorm_status dorm_expr_filter(dorm_expr *x, dorm_cond *cond);
/* KeyConditionExpression: only "key = v" on the partition key, optionally
 * AND one of = < <= > >= BETWEEN begins_with on the sort key (top-level names). */
DORM_API dorm_status dorm_expr_key_condition(dorm_expr *x, dorm_cond *cond);
/* ProjectionExpression from n paths ("#n0, #n1.#n2"); n >= 1. */
DORM_API dorm_status dorm_expr_projection(dorm_expr *x, const char *const *paths, size_t n);

/* ---- update actions (UpdateExpression: SET, REMOVE, ADD, DELETE clauses,
 *      in that order, actions in call order within each clause) ---- */

DORM_API dorm_status dorm_update_set(dorm_expr *x, const char *path, dorm_av value);      /* SET p = :v */
DORM_API dorm_status dorm_update_set_if_not_exists(dorm_expr *x, const char *path, dorm_av value);
                                                          /* SET p = if_not_exists(p, :v) */
DORM_API dorm_status dorm_update_list_append(dorm_expr *x, const char *path, dorm_av list);
                                                          /* SET p = list_append(p, :v) */
DORM_API dorm_status dorm_update_increment(dorm_expr *x, const char *path, dorm_av by); /* SET p = p + :v */
/* SET path = rhs with any right-hand side built from dorm_opd_* */
DORM_API dorm_status dorm_update_set_opd(dorm_expr *x, dorm_operand *path, dorm_operand *rhs);
DORM_API dorm_status dorm_update_remove(dorm_expr *x, const char *path);                 /* REMOVE p */
DORM_API dorm_status dorm_update_add(dorm_expr *x, const char *path, dorm_av value);     /* ADD p :v */
DORM_API dorm_status dorm_update_delete(dorm_expr *x, const char *path, dorm_av subset); /* DELETE p :v */

/* Renders x->update from the actions added so far (NULL when none) and
 * returns the builder status. Also done by the JSON writer. */
DORM_API dorm_status dorm_expr_finish(dorm_expr *x);

#ifdef __cplusplus
}
#endif
#endif
