/* ct_parse: what the scenario reader's files share (private to
 * ct_scenario*.c). */
#ifndef CT_PARSE_H
#define CT_PARSE_H

#include "ct_scenario.h"
#include "ct_values.h"
#include "ct_yaml.h"

typedef struct ct_parser {
  ct_yaml *y;
  ct_models *ms;
  dorm_arena *a;
  char *err;
  size_t errcap;
  ct_model *model;               /* the scenario's model, or NULL */
  const char *dir;               /* the scenario's directory (json_file, cursor_equals_file) */
} ct_parser;

/* Reports "file:line:col: message" at node; returns -1. */
int ct_p_fail(ct_parser *p, const yaml_node_t *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define CT_PFAIL ct_p_fail

/* A non-null scalar copied into the arena; NULL after reporting. */
const char *ct_p_str(ct_parser *p, const yaml_node_t *n, const char *what);

/* The model field stored under the attribute that scalar n names; -1
 * after reporting. */
int ct_p_field(ct_parser *p, const yaml_node_t *n, const char *what);

/* Fills dst (a model struct, model->size bytes) from the attribute map n,
 * each value typed by its field, through dorm_model_from_av
 * (DORM_READ_PARTIAL). key_only: only table-key attributes, all of them.
 * *has_version (may be NULL) tells whether the map gave the version field. */
int ct_p_obj_into(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, void *dst,
                  bool *has_version);
/* The same into a new struct. */
void *ct_p_obj(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, bool *has_version);
/* A list of attribute maps into an array of structs (stride model->size). */
int ct_p_objs(ct_parser *p, const yaml_node_t *n, const char *what, bool key_only, void **out, size_t *count);

/* A struct whose field `field` holds the value n (typed by the field) /
 * the attribute value val. */
void *ct_p_av_obj(ct_parser *p, const yaml_node_t *n, uint32_t field, const dorm_av *val, const char *what);
void *ct_p_value_obj(ct_parser *p, const yaml_node_t *n, uint32_t field, const char *what);

/* A list of attribute names as field numbers (no duplicates). */
int ct_p_fields(ct_parser *p, const yaml_node_t *n, const char *what, uint32_t **out, size_t *count);

/* The `expect` mapping of a step, with the members allowed for its op. */
int ct_p_expect(ct_parser *p, const yaml_node_t *n, ct_step *s);

/* A path relative to the scenario's directory (absolute paths as they are). */
const char *ct_p_path(ct_parser *p, const char *rel);

#endif
