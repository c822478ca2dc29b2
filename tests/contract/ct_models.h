/* ct_models: the models dorm-contract can run scenarios on.
 *
 * A model is usable when it is compiled in (its descriptor is in the
 * registry generated at build time from tests/contract/dms/) and listed by
 * a DMS document of --dms DIR that describes it exactly as compiled.
 */
#ifndef CT_MODELS_H
#define CT_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#include <dorm/arena.h>
#include <dorm/model.h>

/* The registry (contract_registry.c, generated from the dormc gen headers). */
extern const dorm_model_desc *const ct_compiled_models[];
extern const size_t ct_compiled_model_count;

/* The non-key attributes an INCLUDE index projects (from the DMS document;
 * the descriptor does not carry them). */
typedef struct ct_projection {
  const char **attrs;
  size_t count;
} ct_projection;

typedef struct ct_model {
  const dorm_model_desc *desc;
  const char *dms_path;         /* the DMS document listing it; NULL: not listed */
  ct_projection *projections;   /* per desc->indexes[i] (NULL when not listed) */
} ct_model;

typedef struct ct_models {
  ct_model *items;
  size_t count;
} ct_models;

/* The compiled models. -1 with a message when two share a name. */
int ct_models_init(ct_models *ms, dorm_arena *a, char *err, size_t errcap);

/* Reads every *.yml, *.yaml and *.json under dir (sorted, recursively; or
 * dir itself when it is a file) as a DMS v0.1 document and checks each model it lists against the
 * compiled one: table, naming, keys, attributes (type, format, optional,
 * roles, omit_empty) and indexes (type, keys, projection). Returns 0, or -1
 * with a "file:line:col: ..." message for the first difference, an unknown
 * model, a model listed twice, bad YAML or an unreadable directory. */
int ct_dms_load_dir(ct_models *ms, const char *dir, dorm_arena *a, char *err, size_t errcap);

/* The model named name, or NULL. */
ct_model *ct_models_find(const ct_models *ms, const char *name);

/* "Order, User": the compiled model names, for messages. */
void ct_models_names(const ct_models *ms, char *buf, size_t cap);

/* The field whose stored attribute is attr, or -1. */
int ct_field_by_attr(const dorm_model_desc *m, const char *attr);

#endif
