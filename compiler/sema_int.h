/* Semantic analysis internals shared by sema*.c. */
#ifndef DORMC_SEMA_INT_H
#define DORMC_SEMA_INT_H

#include "sema.h"

typedef struct decl_info {
  ast_item *item;
  const char *name;
  ast_item_kind kind;
  void *resolved;       /* dormc_enum / dormc_struct / dormc_table / dormc_model / dormc_endpoint */
  bool used;            /* an enum or struct named by some field */
  int visit;            /* struct cycle search: 0 new, 1 on the path, 2 done */
  bool snake_checked;   /* struct attribute names checked under snake_case */
  struct table_build *table; /* AST_I_TABLE: its build */
} decl_info;

/* A table while it is being resolved (shared or owned by a model). */
typedef struct index_build {
  ast_member *m;
  dormc_index *out;
  /* Key parts: attribute names (resolved) and whether a type was written. */
  const char *attr[2];
  bool typed[2];
  dormc_key_type type[2];
  dormc_loc part_loc[2];
  size_t nparts;
  bool ok;
  vec *models;           /* model_build * that fill it */
} index_build;

typedef struct table_build {
  dormc_table *out;
  ast_item *item;        /* the table, or the owning model */
  bool owned;
  struct model_build *owner;
  ast_member *key_decl, *billing, *stream, *ttl;
  vec *gsis, *lsis;      /* index_build * */
  vec *models;           /* model_build * */
  bool key_ok;
  dormc_loc key_loc;     /* where the table's key is declared (for notes) */
  dormc_loc ttl_loc;
} table_build;

typedef struct model_build {
  ast_item *item;
  dormc_model *out;
  table_build *table;
  dormc_field *fields;
  size_t nfields;
  ast_member **field_members; /* the AST member of each field */
  vec *templates;        /* ast_member * (KEY_TEMPLATE) */
  ast_member *entity_type, *naming;
  const dormc_field *role_field[6]; /* by role bit index */
  vec *bindings;         /* dormc_key_binding * */
  vec *indexes;          /* dormc_index * it fills */
} model_build;

typedef struct sema {
  dormc_compilation *c;
  arena *a;
  symtab decls;          /* name -> decl_info */
  vec *order;            /* decl_info *, declaration order */
  const char *ns;
  dormc_loc ns_loc;
  dormc_schema *schema;
  dormc_enum *enums;
  dormc_struct *structs;
  dormc_table *tables;
  dormc_model *models;
  dormc_endpoint *endpoints;
  size_t nenums, nstructs, ntables, nmodels, nendpoints;
  size_t owned_next;     /* next free slot in tables[] for an owned table */
  const char *c_prefix;
  vec *table_builds;     /* table_build *, shared tables first */
  vec *model_builds;     /* model_build * */
} sema;

typedef enum field_owner { OWNER_STRUCT, OWNER_MODEL, OWNER_PAYLOAD } field_owner;

/* sema_types.c */
void sema_enum(sema *S, decl_info *d);
void sema_struct(sema *S, decl_info *d);
/* Resolves the FIELD members of a body into an array of fields (other
 * member kinds are left to the caller). naming applies to OWNER_MODEL. */
dormc_field *sema_fields(sema *S, vec *members, field_owner owner, dormc_naming naming, const char *owner_desc,
                         size_t *nfields, ast_member ***field_members);
void sema_struct_cycles(sema *S);
void sema_check_snake_structs(sema *S, const dormc_model *m);
bool sema_is_key_scalar(const dormc_type *t, dormc_key_type *kt);
const char *sema_type_str(sema *S, const dormc_type *t);

/* sema_tables.c */
table_build *sema_table_build(sema *S, ast_item *item, bool owned, dormc_table *out);
/* Adds a table statement (key, gsi, lsi, billing, stream, ttl) to t. */
void sema_table_member(sema *S, table_build *t, ast_member *m);
void sema_table_settings(sema *S, table_build *t);
bool key_type_letter(sema *S, const ast_name *n, dormc_key_type *out);
/* part_type resolves a key part of an owned table from the model's fields
 * (quiet: report nothing, return false when no field or template has it). */
void sema_indexes(sema *S, table_build *t,
                  bool (*part_type)(sema *, table_build *, ast_keypart *, const char **, dormc_key_type *, bool quiet));
void sema_model(sema *S, decl_info *d);
void sema_keys(sema *S);
/* @encrypted (sema_encrypted.c): the attribute on one field, then the
 * refusals that need the model's keys, templates and indexes. */
void sema_encrypted_attr(sema *S, const ast_attr *at, dormc_field *f, bool model_field, const char *owner_desc);
void sema_encrypted_models(sema *S);

/* sema_names.c */
void sema_endpoint(sema *S, decl_info *d);
void sema_c_names(sema *S);

/* A member that does not belong where it is. */
void sema_not_allowed(sema *S, ast_member *m, const char *where);
const char *sema_member_what(ast_member *m);

#endif
