/* ct_yaml: the YAML files dorm-contract reads (scenarios, DMS documents),
 * loaded with libyaml into a node tree, with positions for messages.
 *
 * Only JSON-compatible YAML is accepted: one document, no anchors, aliases
 * or tags, scalar mapping keys without duplicates, nesting at most
 * CT_YAML_MAX_DEPTH, no NUL characters. So every node has one parent and a
 * walk over the tree is linear in the file's size.
 */
#ifndef CT_YAML_H
#define CT_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#define CT_YAML_MAX_DEPTH 64
#define CT_YAML_MAX_BYTES ((size_t)16 << 20)

typedef struct ct_yaml {
  const char *path;        /* borrowed; used in messages */
  char *data;              /* the file (malloc) */
  size_t len;
  yaml_document_t doc;
  bool loaded;
} ct_yaml;

/* Loads path. Returns 0, or -1 with "path:line:col: message" (or
 * "path: message" for I/O errors) in err. *io_error (may be NULL) tells an
 * unreadable file from bad YAML. ct_yaml_free is safe after a failure. */
int ct_yaml_load(ct_yaml *y, const char *path, char *err, size_t errcap, bool *io_error);
void ct_yaml_free(ct_yaml *y);

yaml_node_t *ct_yaml_root(ct_yaml *y);
yaml_node_t *ct_yaml_node(ct_yaml *y, int id);

/* "path:line:col: message" for node n (1-based line and column). */
void ct_yaml_errf(const ct_yaml *y, const yaml_node_t *n, char *err, size_t errcap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* The value of key in mapping n, or NULL (n not a mapping, or no such key). */
yaml_node_t *ct_yaml_get(ct_yaml *y, const yaml_node_t *map, const char *key);

/* Checks that every key of mapping n is one of known[] (NULL-terminated).
 * Returns 0, or -1 with a message naming the unknown key and listing the
 * known ones. */
int ct_yaml_check_keys(ct_yaml *y, const yaml_node_t *map, const char *const *known, const char *what,
                       char *err, size_t errcap);

/* Node classification. */
bool ct_yaml_is_scalar(const yaml_node_t *n);
bool ct_yaml_is_null(const yaml_node_t *n);      /* plain ~, null, or empty */
bool ct_yaml_is_plain(const yaml_node_t *n);     /* an unquoted scalar */
const char *ct_yaml_text(const yaml_node_t *n);  /* scalar text (NUL-terminated) */
size_t ct_yaml_text_len(const yaml_node_t *n);
const char *ct_yaml_kind(const yaml_node_t *n);  /* "a string", "a list", "a mapping", "null" */

/* Plain true/false (YAML 1.2 core spellings). */
bool ct_yaml_bool(const yaml_node_t *n, bool *out);
/* Plain integer (decimal, optional sign) that fits int64. */
bool ct_yaml_int(const yaml_node_t *n, long long *out);
/* A plain scalar that YAML 1.2's core schema reads as a number
 * (int or float, not .inf/.nan). */
bool ct_yaml_is_number(const yaml_node_t *n);

/* Iteration over a sequence / a mapping. */
size_t ct_yaml_seq_len(const yaml_node_t *n);
yaml_node_t *ct_yaml_seq_at(ct_yaml *y, const yaml_node_t *n, size_t i);
size_t ct_yaml_map_len(const yaml_node_t *n);
yaml_node_t *ct_yaml_map_key(ct_yaml *y, const yaml_node_t *n, size_t i);
yaml_node_t *ct_yaml_map_value(ct_yaml *y, const yaml_node_t *n, size_t i);

#endif
