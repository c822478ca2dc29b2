/* dms_import internals: the records a DMS document is read into
 * (dms_import.c) and written out from as .dorm (dms_import_write.c). */
#ifndef DORMC_DMS_IMPORT_H
#define DORMC_DMS_IMPORT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "dormc_dms.h"
#include "internal.h"

#define MAX_REPORTED_ERRORS 20u
/* Nesting levels a document may open (a DMS document needs 7: the fields of
 * an index's projection); deeper input is refused before libyaml, whose
 * scanner costs the square of the depth, spends minutes on it. */
#define DMS_MAX_DEPTH 32

enum {
  R_PK = 1u << 0,
  R_SK = 1u << 1,
  R_CREATED = 1u << 2,
  R_UPDATED = 1u << 3,
  R_VERSION = 1u << 4,
  R_TTL = 1u << 5
};

typedef struct dms_key {
  const char *attr; /* NULL: absent */
  char type;        /* 'S', 'N' or 'B' */
  const yaml_node_t *node;
} dms_key;

typedef struct dms_attr {
  const char *attr;
  const char *dorm_type; /* "string", "set<decimal>", ... */
  char key_type;         /* 'S', 'N', 'B', or 0 when it cannot be a key */
  bool optional, omit_empty;
  bool encrypted;        /* encryption: {v: 1} */
  unsigned roles;
  const char *field;     /* the .dorm field name */
  bool needs_name;       /* field name differs from what naming gives: @name */
  /* What dormc's own export put in tags: the key template that computes
   * this attribute, or the entity type stored in "_type". */
  const char *tag_template, *tag_entity;
  const char *tpl;       /* the template restored (placeholders renamed), or NULL */
  bool as_entity;        /* restored as `type "..."` */
  const yaml_node_t *node, *attr_node; /* the entry, its attribute's value */
} dms_attr;

typedef struct dms_index {
  const char *name;
  bool lsi;
  dms_key pk, sk;
  const char *projection; /* "all", "keys_only", "include" */
  const char **include;
  size_t ninclude;
  const yaml_node_t *node;
} dms_index;

typedef struct dms_model {
  const char *name;        /* as in the document */
  const char *ident;       /* the .dorm model name */
  const char *table;       /* physical table name */
  const char *table_ident; /* the shared table's .dorm name, NULL when owned */
  bool snake;
  dms_key pk, sk;
  dms_attr *attrs;
  size_t nattrs;
  symtab by_attr;          /* attribute name -> its dms_attr (dms_find_attr) */
  dms_index *indexes;
  size_t nindexes;
  symtab by_index;         /* index name -> its first dms_index */
  const yaml_node_t *node, *keys_node, *table_node;
  const yaml_node_t *naming_node; /* naming.convention's value; NULL: none declared */
} dms_model;

/* Where a stretch of the written .dorm text came from: the text from
 * offset on (to the next mark) was written for node. */
typedef struct dms_mark {
  size_t offset;
  const yaml_node_t *node;
} dms_mark;

typedef struct imp {
  const char *path;
  const char *data;
  size_t len;
  dormc_diag_fn on_diag;
  void *diag_user;
  unsigned errors;
  arena a;
  jmp_buf oom;
  yaml_document_t doc;
  bool have_doc;
  const char *ns;
  const yaml_node_t *ns_node; /* NULL: no namespace member */
  dms_model *models;
  size_t nmodels;
  strbuf out; /* the .dorm text (here, not on the stack, because of the longjmp) */
  /* The YAML node each part of out was written for, in offset order, so
   * that what the checker finds in the .dorm is reported at the YAML
   * (malloc'd: freed by dormc_dms_import). */
  dms_mark *marks;
  size_t nmarks, capmarks;
} imp;

/* Helpers of the reading half the writing half uses. */
const dms_attr *dms_find_attr(const dms_model *m, const char *attr);
bool dms_is_ident(const char *s);
char *dms_make_ident(imp *I, const char *s, bool field);

/* The writing half: the .dorm text of the records in I (canonical form comes
 * later, from the formatter). Templates and entity types dormc's export put
 * in tags are restored when dms_plan_restore says they can be, and
 * dms_forget_restore drops them again when the result does not check. */
void dms_write_dorm(imp *I, strbuf *b);
/* Notes that what is written into b from here on is written for node n
 * (NULL: the document). */
void dms_mark_at(imp *I, const strbuf *b, const yaml_node_t *n);
bool dms_plan_restore(imp *I, dms_model *m);
void dms_forget_restore(dms_model *m);

#endif
