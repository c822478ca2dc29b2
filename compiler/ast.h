/* The syntax tree of one .dorm file, as written (nothing resolved).
 *
 * Every body (enum, struct, table, model, endpoint, request/progress/result)
 * is a list of members in source order with a kind tag: the parser accepts
 * any member in any body and semantic analysis says what is allowed where.
 * All nodes live in the compilation's arena; every node has a location. */
#ifndef DORMC_AST_H
#define DORMC_AST_H

#include "internal.h"

typedef struct ast_name {
  const char *text;
  dormc_loc loc;
} ast_name;

/* A string literal: its decoded value (UTF-8, no NUL inside). verbatim is
 * true when the literal had no escapes, so value byte i sits at column
 * loc.col + 1 + i (for ASCII values), which templates use to point inside. */
typedef struct ast_str {
  const char *value;
  size_t len;
  dormc_loc loc;
  bool verbatim;
} ast_str;

/* NUMBER: a signed integer or a decimal literal (-3, 1.5, 2e10), only in a
 * field's default. */
typedef enum ast_value_kind { AST_V_STRING, AST_V_INT, AST_V_DURATION, AST_V_NAME, AST_V_NUMBER } ast_value_kind;

/* A literal argument: "x", 5, 15m, or a bare name. */
typedef struct ast_value {
  ast_value_kind kind;
  const char *text;     /* STRING: value; NAME: the name; INT/DURATION: as written */
  int64_t num;          /* INT: value; DURATION: the number before the unit */
  const char *unit;     /* DURATION: "ms", "s", "m" or "h" */
  int64_t ms;           /* DURATION: value in milliseconds */
  dormc_loc loc;
} ast_value;

typedef struct ast_type {
  ast_name name;        /* string, int, list, MyStruct, ... */
  vec *args;            /* ast_type *, NULL when no <...> was written */
  bool optional;
  dormc_loc loc;
} ast_type;

/* @name or @name(args) on a field. */
typedef struct ast_attr {
  ast_name name;
  vec *args;            /* ast_value *, NULL when no parentheses */
  dormc_loc loc;
} ast_attr;

/* One key part in key (...), gsi/lsi (...): attr [: S|N|B]. */
typedef struct ast_keypart {
  ast_name attr;
  ast_name type;        /* text NULL when no type was written */
  dormc_loc loc;
} ast_keypart;

/* name value, as in provisioned(read 5, write 5). */
typedef struct ast_setting {
  ast_name name;
  ast_value *value;
  dormc_loc loc;
} ast_setting;

typedef enum ast_member_kind {
  AST_M_FIELD,        /* name: type @attrs; */
  AST_M_ENUM_VALUE,   /* name; | name = "stored"; */
  AST_M_KEY_DECL,     /* key (PK: S, SK: S); */
  AST_M_KEY_TEMPLATE, /* key PK = "X#{field}"; */
  AST_M_ENTITY_TYPE,  /* type "Order"; */
  AST_M_NAMING,       /* naming camelCase; */
  AST_M_GSI,          /* gsi "name" (parts) [project ...]; */
  AST_M_LSI,
  AST_M_BILLING,      /* billing on_demand; | billing provisioned(read 5, write 5); */
  AST_M_STREAM,       /* stream new_image; */
  AST_M_TTL,          /* ttl attr; */
  AST_M_REQUEST,      /* request { fields } */
  AST_M_PROGRESS,
  AST_M_RESULT,
  AST_M_AUTH,         /* auth scopes("a", "b"); */
  AST_M_TIMEOUT,      /* timeout 15m; */
  AST_M_KIND_COUNT
} ast_member_kind;

typedef struct ast_block {
  vec *members;         /* ast_member * */
  dormc_loc open, close; /* the braces */
} ast_block;

typedef struct ast_member {
  ast_member_kind kind;
  dormc_loc loc;        /* the whole member, ';' or '}' included */
  dormc_loc kw_loc;     /* the leading keyword or name */
  ast_name name;        /* field / enum member / template target / naming /
                           billing mode / stream view / ttl attr / auth kind */
  ast_type *type;       /* FIELD */
  vec *attrs;           /* FIELD: ast_attr * */
  ast_str *str;         /* ENUM_VALUE stored value (or NULL), KEY_TEMPLATE,
                           ENTITY_TYPE, GSI/LSI name */
  vec *parts;           /* KEY_DECL, GSI, LSI: ast_keypart * */
  ast_name proj;        /* GSI/LSI projection kind (text NULL: not written) */
  vec *proj_attrs;      /* ast_name *, when parentheses were written */
  vec *settings;        /* BILLING: ast_setting *, NULL without parentheses */
  vec *strs;            /* AUTH: ast_str * */
  ast_value *value;     /* TIMEOUT; FIELD: the default after '=' (NULL: none) */
  ast_block *block;     /* REQUEST, PROGRESS, RESULT */
} ast_member;

typedef enum ast_item_kind {
  AST_I_NAMESPACE,
  AST_I_IMPORT,
  AST_I_ENUM,
  AST_I_STRUCT,
  AST_I_TABLE,
  AST_I_MODEL,
  AST_I_ENDPOINT
} ast_item_kind;

typedef enum ast_model_home { AST_HOME_NONE, AST_HOME_IN, AST_HOME_TABLE } ast_model_home;

typedef struct ast_item {
  ast_item_kind kind;
  dormc_loc loc;        /* the whole item */
  dormc_loc kw_loc;
  vec *qname;           /* NAMESPACE: ast_name * parts */
  ast_str *str;         /* IMPORT path, TABLE physical name, MODEL table "name" */
  ast_name name;        /* declaration name */
  ast_model_home home;  /* MODEL */
  ast_name in_table;    /* MODEL in T */
  ast_name mode;        /* ENDPOINT sync|async (text NULL when missing) */
  ast_block *body;
} ast_item;

typedef struct ast_comment {
  const char *text;     /* as written, delimiters included */
  size_t len;
  bool block;
  dormc_loc loc;
} ast_comment;

typedef struct ast_file {
  dormc_source *src;
  vec *items;           /* ast_item *, source order */
} ast_file;

/* ---- constructors (the only thing grammar actions call) ---------------- */

struct parse_ctx;
arena *ast_arena(struct parse_ctx *pc);

ast_name *ast_new_name(struct parse_ctx *pc, const char *text, dormc_loc loc);
vec *ast_list1(struct parse_ctx *pc, void *first);
vec *ast_list_empty(struct parse_ctx *pc);
vec *ast_list_add(struct parse_ctx *pc, vec *list, void *item);
ast_type *ast_new_type(struct parse_ctx *pc, ast_name *name, vec *args, dormc_loc loc);
ast_type *ast_type_optional(struct parse_ctx *pc, ast_type *t, dormc_loc loc);
ast_attr *ast_new_attr(struct parse_ctx *pc, ast_name *name, vec *args, dormc_loc loc);
ast_value *ast_value_str(struct parse_ctx *pc, ast_str *s);
ast_value *ast_value_name(struct parse_ctx *pc, ast_name *n);
ast_keypart *ast_new_keypart(struct parse_ctx *pc, ast_name *attr, ast_name *type, dormc_loc loc);
ast_setting *ast_new_setting(struct parse_ctx *pc, ast_name *name, ast_value *v, dormc_loc loc);
ast_block *ast_new_block(struct parse_ctx *pc, vec *members, dormc_loc open, dormc_loc close);

ast_member *ast_field(struct parse_ctx *pc, ast_name *name, ast_type *type, ast_value *dflt, vec *attrs, dormc_loc loc);
ast_member *ast_enum_value(struct parse_ctx *pc, ast_name *name, ast_str *stored, dormc_loc loc);
ast_member *ast_key_decl(struct parse_ctx *pc, vec *parts, dormc_loc kw, dormc_loc loc);
ast_member *ast_key_template(struct parse_ctx *pc, ast_name *target, ast_str *tpl, dormc_loc kw, dormc_loc loc);
ast_member *ast_entity_type(struct parse_ctx *pc, ast_str *type, dormc_loc kw, dormc_loc loc);
ast_member *ast_named_stmt(struct parse_ctx *pc, ast_member_kind kind, ast_name *name, dormc_loc kw, dormc_loc loc);
ast_member *ast_index(struct parse_ctx *pc, ast_member_kind kind, ast_str *name, vec *parts,
                      ast_member *projection, dormc_loc kw, dormc_loc loc);
/* A projection under construction (kind text + optional attribute list). */
ast_member *ast_projection(struct parse_ctx *pc, ast_name *kind, vec *attrs);
ast_member *ast_billing(struct parse_ctx *pc, ast_name *mode, vec *settings, dormc_loc kw, dormc_loc loc);
ast_member *ast_payload(struct parse_ctx *pc, ast_member_kind kind, ast_block *block, dormc_loc kw, dormc_loc loc);
ast_member *ast_auth(struct parse_ctx *pc, ast_name *kind, vec *strs, dormc_loc kw, dormc_loc loc);
ast_member *ast_timeout(struct parse_ctx *pc, ast_value *v, dormc_loc kw, dormc_loc loc);

ast_item *ast_namespace(struct parse_ctx *pc, vec *qname, dormc_loc kw, dormc_loc loc);
ast_item *ast_import(struct parse_ctx *pc, ast_str *path, dormc_loc kw, dormc_loc loc);
ast_item *ast_decl(struct parse_ctx *pc, ast_item_kind kind, ast_name *name, ast_block *body,
                   dormc_loc kw, dormc_loc loc);
ast_item *ast_table_decl(struct parse_ctx *pc, ast_name *name, ast_str *physical, ast_block *body,
                         dormc_loc kw, dormc_loc loc);
ast_item *ast_model_decl(struct parse_ctx *pc, ast_name *name, ast_model_home home, ast_name *in_table,
                         ast_str *table_name, ast_block *body, dormc_loc kw, dormc_loc loc);
ast_item *ast_endpoint_decl(struct parse_ctx *pc, ast_name *name, ast_name *mode, ast_block *body,
                            dormc_loc kw, dormc_loc loc);
void ast_file_add(struct parse_ctx *pc, ast_item *item);

/* A member kind's keyword for messages ("gsi", "field", "enum member"). */
const char *ast_member_kind_name(ast_member_kind k);
const char *ast_item_kind_name(ast_item_kind k);

/* Parses one source (already loaded into s->text) into s->ast and
 * s->comments. Returns 0 when it had no lexical or syntax errors. */
int parse_source(dormc_compilation *c, dormc_source *s);

#endif
