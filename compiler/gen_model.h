/* gen_model: the model-code generator (`dormc gen`).
 *
 * For one schema file it writes <base>_models.h and <base>_models.c: the C
 * types of the file's enums, structs and models, a const descriptor per
 * model (runtime/include/dorm/model.h) and thin typed wrappers over libdorm's
 * generic model functions. Declarations of imported files are generated
 * from those files; the header includes their headers.
 *
 * Output is a pure function of the schema: no timestamps, no absolute paths,
 * declarations in schema order.
 */
#ifndef DORMC_GEN_MODEL_H
#define DORMC_GEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "dormc_schema.h"
#include "internal.h"

/* The libdorm model ABI the generated code is written for (model.h's
 * DORM_MODEL_ABI). */
#define DORMC_MODEL_ABI 3

/* Generates the header and source for the declarations of schema file
 * `file` (its display path as in dormc_loc.file). base names the outputs
 * (`shop` -> shop_models.h) and other_bases lists the bases of the other
 * files of the compilation that declare something (their headers are
 * included), n_other of them. On success stores malloc'd texts (caller
 * frees) and returns 0; returns -1 when the schema cannot be turned into C
 * (a generated name that would collide), reported as an error diagnostic of
 * compilation c (through its on_diag callback, like every other diagnostic),
 * -2 when memory is exhausted. */
int dormc_gen_models(dormc_compilation *c, const dormc_schema *s, const char *file, const char *base,
                     const char *const *other_bases, size_t n_other, char **header, size_t *header_len,
                     char **source, size_t *source_len);

/* ---- shared by gen_model_*.c ---- */

/* A set/list/map type used by the generated structs, or a {has, value}
 * wrapper for an optional element of a non-pointer type. */
typedef struct gen_container {
  const dormc_type *type;   /* the container type (or the element, for a wrapper) */
  bool wrapper;             /* an optional-element wrapper */
  char *cname;              /* shop_list_Address, shop_opt_Address */
} gen_container;

typedef struct gen_ctx {
  arena mem;
  const dormc_schema *s;
  const char *file;
  const char *base;
  const char *prefix;       /* shop */
  char *upper_prefix;       /* SHOP */
  strbuf out;
  gen_container *containers;
  size_t ncontainers, capcontainers;
  dormc_compilation *comp; /* diagnostics go to its on_diag */
  bool failed;
  symtab names;             /* every C identifier the header declares -> what it is for */
} gen_ctx;

/* True when the declaration at loc belongs to the file being generated. */
bool gen_mine(const gen_ctx *g, const dormc_loc *loc);

/* Pointer kinds are NULL when absent; the rest need a presence flag. */
bool gen_is_pointer_kind(dormc_type_kind k);

/* The C type of a value of t, ignoring t->optional ("const char *",
 * "int64_t", "shop_Address", "shop_list_int"). Arena string. */
const char *gen_ctype(gen_ctx *g, const dormc_type *t);

/* The C type of an element of a container (optional elements of
 * non-pointer kinds are wrapped: dorm_opt_i64, shop_opt_Address). */
const char *gen_elem_ctype(gen_ctx *g, const dormc_type *elem);

/* The name fragment of a type ("int", "Address", "list_int", "opt_int"). */
const char *gen_mangle(gen_ctx *g, const dormc_type *t);

/* Walks every type used by the file's structs and models and records the
 * containers and wrappers they need (dependencies first). */
void gen_collect_containers(gen_ctx *g);

/* The file's structs in an order where every struct embedded by value is
 * defined before its user. *n gets the count. */
const dormc_struct **gen_struct_order(gen_ctx *g, size_t *n);

/* A C identifier fragment of any text: non-alphanumerics become '_'. */
char *gen_ident(gen_ctx *g, const char *text);

/* The parameter name of a query's partition key field: the field's name,
 * with '_' appended while it is one of the names the query functions use
 * for their other parameters and locals (c, a, opts, page, user, ...). */
const char *gen_param_name(gen_ctx *g, const char *field);

/* Upper-case copy. */
char *gen_upper(gen_ctx *g, const char *text);

/* A C string literal (with quotes) for text, escaping what C needs. */
char *gen_cstr(gen_ctx *g, const char *text);

/* The same literal, safe inside a comment: a star followed by a slash is
 * written "*\/" so that schema text cannot end the comment. */
char *gen_comment_cstr(gen_ctx *g, const char *text);

/* The JSON object key with its colon, as a C literal ("\"PK\":") and its
 * byte length on the wire. */
char *gen_json_key_lit(gen_ctx *g, const char *attr, size_t *wire_len);

/* Records a C identifier the header declares (`what` says what for, e.g.
 * "an update action on field Order.note", at loc when not NULL); a name
 * declared twice fails the generation naming both uses (gen_fail). */
void gen_declare(gen_ctx *g, const char *name, const char *what, const dormc_loc *loc);

/* Reports an error diagnostic at loc (the file being generated when loc has
 * none) through the compilation; only the first failure is reported. */
void gen_fail(gen_ctx *g, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);

/* The tables this file declares: shared tables written in it and the
 * tables owned by its models. C name: <prefix>_<Table>_table. */
bool gen_table_mine(const gen_ctx *g, const dormc_table *t);
const char *gen_table_cname(gen_ctx *g, const dormc_table *t);

/* The two halves. */
void gen_model_header(gen_ctx *g, const char *const *other_bases, size_t n_other);
void gen_model_source(gen_ctx *g);

/* ---- per-model facts both halves need ---- */

/* Fields of a key binding (template fields, or the direct field), in order,
 * without duplicates; returns the count (at most cap). */
size_t gen_binding_fields(const dormc_key_binding *b, const dormc_field **out, size_t cap);

/* The distinct fields of the table key (partition then sort), the key struct. */
size_t gen_key_fields(const dormc_model *m, const dormc_field **out, size_t cap);

/* One way to query a model: the table (index NULL) or an index it fills. */
typedef struct gen_query {
  const dormc_index *index;           /* NULL: the table */
  const dormc_key_binding *pk, *sk;   /* sk NULL without a sort key */
  char *name;                         /* "query", "query_by_status": <Model>_<name>, <Model>_<name>_count */
  uint32_t desc_index;                /* position in the descriptor's indexes[] */
} gen_query;

/* The model's queries: the table first, then its indexes in schema order. */
gen_query *gen_queries(gen_ctx *g, const dormc_model *m, size_t *n);

/* The model's key attributes as the descriptor lists them (keys[]): table
 * keys first, then index keys, each attribute once. */
size_t gen_model_keys(const dormc_model *m, const dormc_key_binding **out, size_t cap);

#define GEN_MAX_KEYS 64

/* ---- shared with the endpoint generator (gen_endpoint*.c) ---- */

/* Records the containers and wrappers type t needs, as
 * gen_collect_containers does for the file's structs and models. */
void gen_collect_type(gen_ctx *g, const dormc_type *t);

/* A container's definition under its <NAME>_DEFINED guard (so every
 * generated header may define what it uses). */
void gen_emit_container(gen_ctx *g, const gen_container *c);

/* The members of a generated struct for fields f (a presence flag before
 * each optional non-pointer field), after checking that no flag collides
 * with a field of `owner` (named in the error). */
void gen_emit_fields(gen_ctx *g, const char *owner, const dormc_field *f, size_t n);

/* Descriptor tables of a generated source. A set remembers the file-static
 * descriptors the source already holds. */
typedef struct gen_desc_set gen_desc_set;
gen_desc_set *gen_desc_set_new(gen_ctx *g);
/* Emits, once each, the file-static descriptors type t needs (inside
 * DORMGEN_BEGIN/END): those of the structs it reaches (<c_name>_sdesc), of
 * the enums it reaches that the file does not declare (<c_name>_edesc), and
 * of its container elements (td_<mangle>). */
void gen_desc_prepare(gen_ctx *g, gen_desc_set *e, const dormc_type *t);
/* One dorm_field_desc initializer line for field f of C struct cstruct,
 * named f->attr under both namings. */
void gen_desc_field(gen_ctx *g, const char *cstruct, const dormc_field *f);

#endif
