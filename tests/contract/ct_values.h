/* ct_values: scenario values (YAML) as DynamoDB attribute values typed by
 * a model's field types, comparisons the way the contract defines them,
 * and values as text for messages. */
#ifndef CT_VALUES_H
#define CT_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include <dorm/av.h>
#include <dorm/model.h>

#include "ct_yaml.h"

/* The attribute value of YAML node n for a value of type t (a field's type;
 * naming selects nested struct attribute names). Strings take any scalar's
 * text; numbers take a number (plain or quoted); bool true/false; bytes
 * base64; sets and lists a YAML list; maps and structs a mapping. A null
 * element of an optional list/map element type is NULL. Everything is
 * allocated in a. Returns 0, or -1 with "file:line:col: <what>: ..." in err. */
int ct_value_from_yaml(ct_yaml *y, const yaml_node_t *n, const dorm_type_desc *t, int naming, const char *what,
                       dorm_arena *a, dorm_av *out, char *err, size_t errcap);

/* The contract's equality for a value of type t (t may be NULL: any
 * attribute): S as strings (a time field's RFC 3339 texts as instants), N
 * numerically, sets ignoring order, maps ignoring entry order. */
bool ct_value_equal(const dorm_type_desc *t, const dorm_av *want, const dorm_av *have);

/* A value as compact text for a message ("Al", 12, ["a", "b"], {"k": 1});
 * NULL gives "(absent)". Truncated with "..." to fit cap. */
void ct_value_text(const dorm_av *v, char *buf, size_t cap);

/* DynamoDB's type name of a model field type ("S", "N", "SS", "M", ...). */
const char *ct_type_dynamo_name(const dorm_type_desc *t);

#endif
