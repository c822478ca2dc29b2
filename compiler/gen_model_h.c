/* gen_model_h: the generated header: types, descriptors (extern), the
 * typed API, and inline typed update actions and conditions. */
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"

#define P(...) sb_printf(&g->out, __VA_ARGS__)

/* "const char *name" / "int64_t name": a declaration of name with C type ct. */
static const char *decl(gen_ctx *g, const char *ct, const char *name) {
  size_t n = strlen(ct);
  return arena_printf(&g->mem, "%s%s%s", ct, n && ct[n - 1] == '*' ? "" : " ", name);
}

/* A pointer to const ct: "const char *const *", "const int64_t *". */
static const char *const_ptr_to(gen_ctx *g, const char *ct) {
  size_t n = strlen(ct);
  if (n && ct[n - 1] == '*') return arena_printf(&g->mem, "%sconst *", ct);
  return arena_printf(&g->mem, "const %s *", ct);
}

/* A pointer to ct: "const char **", "shop_Address *". */
static const char *ptr_to(gen_ctx *g, const char *ct) {
  size_t n = strlen(ct);
  return arena_printf(&g->mem, "%s%s*", ct, n && ct[n - 1] == '*' ? "" : " ");
}

/* The parameter type for passing a value of t into a function: scalars and
 * pointer kinds by value, structs and containers by const pointer. */
static const char *param_type(gen_ctx *g, const dormc_type *t) {
  if (t->kind == DORMC_T_STRUCT || t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST ||
      t->kind == DORMC_T_MAP)
    return arena_printf(&g->mem, "const %s *", gen_ctype(g, t));
  return gen_ctype(g, t);
}

static bool by_pointer(const dormc_type *t) {
  return t->kind == DORMC_T_STRUCT || t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST ||
         t->kind == DORMC_T_MAP;
}

static void emit_enum(gen_ctx *g, const dormc_enum *e) {
  P("typedef enum %s {\n", e->c_name);
  for (size_t i = 0; i < e->nmembers; i++)
    P("  %s = %zu, /* %s */\n", e->members[i].c_name, i + 1, gen_comment_cstr(g, e->members[i].value));
  P("} %s;\n", e->c_name);
  P("/* The stored value of v (%s), or NULL when v is not a member. */\n",
    gen_comment_cstr(g, e->members[0].value));
  P("const char *%s_to_string(%s v);\n", e->c_name, e->c_name);
  P("/* The member whose stored value is s[0..len); false when there is none. */\n");
  P("bool %s_from_string(const char *s, size_t len, %s *out);\n\n", e->c_name, e->c_name);
}

static void emit_container(gen_ctx *g, const gen_container *c) {
  char *guard = gen_upper(g, arena_printf(&g->mem, "%s_DEFINED", c->cname));
  P("#ifndef %s\n#define %s\n", guard, guard);
  if (c->wrapper) {
    P("struct %s {\n  bool has;\n  %s;\n};\n", c->cname, decl(g, gen_ctype(g, c->type), "value"));
  } else {
    /* Arrays of text are `const char *const *`, so that a static array
     * (static const char *const tags[] = {...}) can be given as it is. */
    const char *elem = gen_elem_ctype(g, c->type->elem);
    bool text = strcmp(elem, "const char *") == 0;
    const char *arr = text ? "const char *const *%s" : NULL;
    const char *member = c->type->kind == DORMC_T_MAP ? "values" : "items";
    const char *d = text ? arena_printf(&g->mem, arr, member) : decl(g, ptr_to(g, elem), member);
    if (c->type->kind == DORMC_T_MAP) P("struct %s {\n  const char *const *keys;\n  %s;\n  size_t count;\n};\n", c->cname, d);
    else P("struct %s {\n  %s;\n  size_t count;\n};\n", c->cname, d);
  }
  P("#endif\n");
}

static void emit_fields(gen_ctx *g, const dormc_field *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const dormc_type *t = &f[i].type;
    if (f[i].optional && !gen_is_pointer_kind(t->kind)) P("  bool has_%s;\n", f[i].name);
    P("  %s;", decl(g, gen_ctype(g, t), f[i].name));
    char tb[128];
    P(" /* %s%s%s%s */\n", dormc_type_str(t, tb, sizeof tb), f[i].attr && strcmp(f[i].attr, f[i].name) ? " as " : "",
      f[i].attr && strcmp(f[i].attr, f[i].name) ? gen_comment_cstr(g, f[i].attr) : "",
      f[i].encrypted ? ", @encrypted (stored as an envelope; dorm/crypt.h)" : "");
  }
  if (n == 0) P("  char unused_; /* no fields */\n");
}

/* Checks that the generated presence flags do not collide with fields. */
static void check_has_names(gen_ctx *g, const char *owner, const dormc_field *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!f[i].optional || gen_is_pointer_kind(f[i].type.kind)) continue;
    char *has = arena_printf(&g->mem, "has_%s", f[i].name);
    for (size_t k = 0; k < n; k++)
      if (strcmp(f[k].name, has) == 0)
        gen_fail(g, f[k].loc,
                 "%s: field '%s' collides with the presence flag of optional field '%s'; rename it (keep its "
                 "attribute with @name)",
                 owner, f[k].name, f[i].name);
  }
}

static void emit_key_struct(gen_ctx *g, const dormc_model *m) {
  const dormc_field *kf[GEN_MAX_KEYS];
  size_t n = gen_key_fields(m, kf, GEN_MAX_KEYS);
  P("/* The key of %s: the fields its table key is made of. */\n", m->name);
  P("typedef struct %s_key {\n", m->c_name);
  for (size_t i = 0; i < n; i++) P("  %s;\n", decl(g, gen_ctype(g, &kf[i]->type), kf[i]->name));
  if (n == 0) P("  char unused_; /* the key is constant */\n");
  P("} %s_key;\n\n", m->c_name);
}

/* The parameters for a query's partition key fields: ", T a, T b". */
static char *pk_params(gen_ctx *g, const gen_query *q) {
  const dormc_field *f[GEN_MAX_KEYS];
  size_t n = gen_binding_fields(q->pk, f, GEN_MAX_KEYS);
  strbuf b = {0};
  for (size_t i = 0; i < n; i++)
    sb_printf(&b, ", %s", decl(g, param_type(g, &f[i]->type), gen_param_name(g, f[i]->name)));
  char *t = sb_take(&b, NULL);
  char *s = arena_strdup(&g->mem, t ? t : "");
  free(t);
  return s;
}

static void emit_query_decls(gen_ctx *g, const dormc_model *m) {
  size_t nq;
  gen_query *q = gen_queries(g, m, &nq);
  for (size_t i = 0; i < nq; i++) {
    const char *where = q[i].index ? arena_printf(&g->mem, "index \"%s\"", q[i].index->name) : "the table";
    const char *qwhat = arena_printf(&g->mem, "the query of %s on %s", m->name, where);
    gen_declare(g, arena_printf(&g->mem, "%s_%s", m->c_name, q[i].name), qwhat, q[i].index ? &q[i].index->loc : &m->loc);
    gen_declare(g, arena_printf(&g->mem, "%s_%s_count", m->c_name, q[i].name), qwhat, q[i].index ? &q[i].index->loc : &m->loc);
    if (q[i].sk) gen_declare(g, arena_printf(&g->mem, "%s_%s_sk", m->c_name, q[i].name), qwhat, q[i].index ? &q[i].index->loc : &m->loc);
    const char *skt = "dorm_sk_cond"; /* placeholder, replaced below */
    if (q[i].sk) {
      const dormc_field *f[GEN_MAX_KEYS];
      size_t n = gen_binding_fields(q[i].sk, f, GEN_MAX_KEYS);
      skt = arena_printf(&g->mem, "%s_%s_sk", m->c_name, q[i].name);
      P("/* A sort-key condition for %s_%s (%s, sort key %s%s%s): op and the\n"
        " * sort key's fields (\"_to\": the upper bound of DORM_SK_BETWEEN); for\n"
        " * DORM_SK_BEGINS_WITH, prefix follows the template's leading text. */\n",
        m->c_name, q[i].name, where, q[i].sk->attr, q[i].sk->template_text ? " = " : "",
        q[i].sk->template_text ? gen_comment_cstr(g, q[i].sk->template_text) : "");
      P("typedef struct %s {\n  dorm_sk_op op;\n", skt);
      for (size_t k = 0; k < n; k++) {
        P("  %s;\n", decl(g, gen_ctype(g, &f[k]->type), f[k]->name));
        P("  %s;\n", decl(g, gen_ctype(g, &f[k]->type), arena_printf(&g->mem, "%s_to", f[k]->name)));
      }
      P("  const char *prefix;\n} %s;\n", skt);
    }
    P("/* Query %s by %s%s%s. */\n", where, q[i].pk->attr, q[i].pk->template_text ? " = " : "",
      q[i].pk->template_text ? gen_comment_cstr(g, q[i].pk->template_text) : "");
    P("dorm_status %s_%s(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts, dorm_arena *a,\n"
      "    %s_page *page);\n",
      m->c_name, q[i].name, pk_params(g, &q[i]), q[i].sk ? skt : "dorm_sk_cond", m->c_name);
    P("dorm_status %s_%s_count(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts,\n"
      "    uint64_t *count);\n",
      m->c_name, q[i].name, pk_params(g, &q[i]), q[i].sk ? skt : "dorm_sk_cond");
    P("/* Every page of the query to on_items, one after the other. */\n");
    P("dorm_status %s_%s_each(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts,\n"
      "    %s_items_fn on_items, void *user);\n",
      m->c_name, q[i].name, pk_params(g, &q[i]), q[i].sk ? skt : "dorm_sk_cond", m->c_name);
  }
  P("\n");
}

/* Typed update actions for one field, as inline wrappers. */
static void emit_update_actions(gen_ctx *g, const dormc_model *m, const dormc_field *f, size_t idx) {
  if (f->roles & (DORMC_ROLE_PK | DORMC_ROLE_SK)) return;
  const dormc_field *kf[GEN_MAX_KEYS];
  size_t nk = gen_key_fields(m, kf, GEN_MAX_KEYS);
  for (size_t i = 0; i < nk; i++)
    if (kf[i] == f) return; /* table key fields cannot change */
  const dormc_type *t = &f->type;
  const char *pt = param_type(g, t);
  const char *arg = by_pointer(t) ? "v" : "&v";
  const char *fid = arena_printf(&g->mem, "%s_f_%s", m->c_name, f->name);
  const char *what = arena_printf(&g->mem, "an update action on field %s.%s", m->name, f->name);
  static const char *const verbs[] = {"set", "set_default", "remove", "add", "set_add", "set_delete", "append",
                                      "prepend"};
  /* An @encrypted value is sealed whole: DynamoDB cannot add to it or
   * append to it, so those helpers do not exist (a compile-time error). */
  bool in_place = !f->encrypted;
  bool has[8] = {true, true, f->optional,
                 in_place && (t->kind == DORMC_T_INT || t->kind == DORMC_T_FLOAT || t->kind == DORMC_T_DECIMAL ||
                              t->kind == DORMC_T_EPOCH),
                 in_place && t->kind == DORMC_T_SET, in_place && t->kind == DORMC_T_SET,
                 in_place && t->kind == DORMC_T_LIST, in_place && t->kind == DORMC_T_LIST};
  for (size_t i = 0; i < 8; i++)
    if (has[i]) gen_declare(g, arena_printf(&g->mem, "%s_%s_%s", m->c_name, verbs[i], f->name), what, &f->loc);
  P("static inline dorm_status %s_set_%s(dorm_model_update *u, %s) {\n  return dorm_model_update_set(u, %s, %s);\n}\n",
    m->c_name, f->name, decl(g, pt, "v"), fid, arg);
  P("static inline dorm_status %s_set_default_%s(dorm_model_update *u, %s) {\n"
    "  return dorm_model_update_set_default(u, %s, %s);\n}\n",
    m->c_name, f->name, decl(g, pt, "v"), fid, arg);
  if (f->optional)
    P("static inline dorm_status %s_remove_%s(dorm_model_update *u) {\n  return dorm_model_update_remove(u, %s);\n}\n",
      m->c_name, f->name, fid);
  if (has[3])
    P("static inline dorm_status %s_add_%s(dorm_model_update *u, %s) {\n  return dorm_model_update_add(u, %s, &by);\n}\n",
      m->c_name, f->name, decl(g, pt, "by"), fid);
  if (has[4]) {
    P("static inline dorm_status %s_set_add_%s(dorm_model_update *u, %s) {\n"
      "  return dorm_model_update_set_add(u, %s, elems);\n}\n",
      m->c_name, f->name, decl(g, pt, "elems"), fid);
    P("static inline dorm_status %s_set_delete_%s(dorm_model_update *u, %s) {\n"
      "  return dorm_model_update_set_delete(u, %s, elems);\n}\n",
      m->c_name, f->name, decl(g, pt, "elems"), fid);
  }
  if (has[6]) {
    P("static inline dorm_status %s_append_%s(dorm_model_update *u, %s) {\n"
      "  return dorm_model_update_append(u, %s, list);\n}\n",
      m->c_name, f->name, decl(g, pt, "list"), fid);
    P("static inline dorm_status %s_prepend_%s(dorm_model_update *u, %s) {\n"
      "  return dorm_model_update_prepend(u, %s, list);\n}\n",
      m->c_name, f->name, decl(g, pt, "list"), fid);
  }
  (void)idx;
}

static bool scalar_kind(dormc_type_kind k) {
  return k != DORMC_T_STRUCT && k != DORMC_T_SET && k != DORMC_T_LIST && k != DORMC_T_MAP &&
         k != DORMC_T_JSON;
}

/* Typed conditions on one field (filters and write conditions). */
static void emit_conditions(gen_ctx *g, const dormc_model *m, const dormc_field *f) {
  /* DynamoDB sees an @encrypted field's envelope only: no typed conditions
   * or filters on it (using one is a compile-time error). */
  if (f->encrypted) return;
  const dormc_type *t = &f->type;
  const char *fid = arena_printf(&g->mem, "%s_f_%s", m->c_name, f->name);
  const char *pfx = arena_printf(&g->mem, "%s_cond_%s", m->c_name, f->name);
  const char *what = arena_printf(&g->mem, "a condition on field %s.%s", m->name, f->name);
  static const char *const suffixes[] = {"", "_between", "_in", "_begins_with", "_contains", "_exists",
                                         "_not_exists"};
  bool scalar = scalar_kind(t->kind);
  bool contains = t->kind == DORMC_T_STRING ||
                  ((t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST) && scalar_kind(t->elem->kind));
  bool emitted[] = {scalar, scalar, scalar, t->kind == DORMC_T_STRING, contains, true, true};
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
    if (emitted[i]) gen_declare(g, arena_printf(&g->mem, "%s%s", pfx, suffixes[i]), what, &f->loc);
  if (scalar_kind(t->kind)) {
    const char *ct = gen_ctype(g, t);
    P("static inline dorm_cond *%s(dorm_expr *x, dorm_cmp_op op, %s) {\n"
      "  return dorm_model_cond_cmp(x, &%s_desc, %s, op, &v);\n}\n",
      pfx, decl(g, ct, "v"), m->c_name, fid);
    P("static inline dorm_cond *%s_between(dorm_expr *x, %s, %s) {\n"
      "  return dorm_model_cond_between(x, &%s_desc, %s, &lo, &hi);\n}\n",
      pfx, decl(g, ct, "lo"), decl(g, ct, "hi"), m->c_name, fid);
    P("static inline dorm_cond *%s_in(dorm_expr *x, %s, size_t n) {\n"
      "  return dorm_model_cond_in(x, &%s_desc, %s, values, n);\n}\n",
      pfx, decl(g, const_ptr_to(g, ct), "values"), m->c_name, fid);
  }
  if (t->kind == DORMC_T_STRING)
    P("static inline dorm_cond *%s_begins_with(dorm_expr *x, const char *prefix) {\n"
      "  return dorm_model_cond_begins_with(x, &%s_desc, %s, prefix);\n}\n",
      pfx, m->c_name, fid);
  if (t->kind == DORMC_T_STRING)
    P("static inline dorm_cond *%s_contains(dorm_expr *x, const char *v) {\n"
      "  return dorm_model_cond_contains(x, &%s_desc, %s, &v);\n}\n",
      pfx, m->c_name, fid);
  if ((t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST) && scalar_kind(t->elem->kind)) {
    const char *et = gen_elem_ctype(g, t->elem);
    P("static inline dorm_cond *%s_contains(dorm_expr *x, %s) {\n"
      "  return dorm_model_cond_contains(x, &%s_desc, %s, &v);\n}\n",
      pfx, decl(g, et, "v"), m->c_name, fid);
  }
  P("static inline dorm_cond *%s_exists(dorm_expr *x) {\n"
    "  return dorm_model_cond_exists(x, &%s_desc, %s);\n}\n",
    pfx, m->c_name, fid);
  P("static inline dorm_cond *%s_not_exists(dorm_expr *x) {\n"
    "  return dorm_model_cond_not_exists(x, &%s_desc, %s);\n}\n",
    pfx, m->c_name, fid);
}

static void emit_model(gen_ctx *g, const dormc_model *m) {
  const char *M = m->c_name;
  P("/* ---- %s: table %s%s%s ---- */\n\n", m->name, gen_comment_cstr(g, m->table->physical_name),
    m->entity_type ? ", type " : "", m->entity_type ? gen_comment_cstr(g, m->entity_type) : "");
  P("struct %s {\n", M);
  emit_fields(g, m->fields, m->nfields);
  P("};\n\n");
  static const char *const fixed[] = {"field", "field_count", "desc", "key", "page", "put", "create", "get",
                                      "delete", "update_begin", "update", "update_fields", "scan", "count",
                                      "items_fn", "scan_parallel", "batch_get", "batch_put", "batch_delete",
                                      "tx_put", "tx_create", "tx_update", "tx_delete", "tx_check", "from_item",
                                      "to_item", "is"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    gen_declare(g, arena_printf(&g->mem, "%s_%s", M, fixed[i]), arena_printf(&g->mem, "the %s API", m->name),
                &m->loc);
  for (size_t i = 0; i < m->nfields; i++)
    gen_declare(g, arena_printf(&g->mem, "%s_f_%s", M, m->fields[i].name),
                arena_printf(&g->mem, "the number of field %s.%s", m->name, m->fields[i].name), &m->fields[i].loc);
  P("/* Field numbers, for updates by field mask and projections. */\n");
  P("typedef enum %s_field {\n", M);
  for (size_t i = 0; i < m->nfields; i++) P("  %s_f_%s = %zu,\n", M, m->fields[i].name, i);
  P("  %s_field_count = %zu\n} %s_field;\n\n", M, m->nfields, M);
  P("extern const dorm_model_desc %s_desc;\n\n", M);
  emit_key_struct(g, m);
  P("typedef struct %s_page {\n  %s *items;\n  size_t count;\n  size_t scanned_count;\n"
    "  bool has_more;\n  const char *cursor; /* for the next page; NULL on the last */\n} %s_page;\n\n",
    M, M, M);

  P("/* Create or replace (lifecycle fields are written back into *o). */\n");
  P("dorm_status %s_put(dorm_client *c, %s *o, const dorm_write_opts *opts, dorm_arena *a);\n", M, M);
  P("/* Create; DORM_ERR_CONDITION_FAILED when an item with this key exists. */\n");
  P("dorm_status %s_create(dorm_client *c, %s *o, const dorm_write_opts *opts, dorm_arena *a);\n", M, M);
  P("/* Read by key; DORM_ERR_NOT_FOUND when there is none. */\n");
  P("dorm_status %s_get(dorm_client *c, const %s_key *key, const dorm_get_opts *opts, dorm_arena *a,\n"
    "    %s *out);\n", M, M, M);
  P("dorm_status %s_delete(dorm_client *c, const %s_key *key, const dorm_write_opts *opts, dorm_arena *a);\n",
    M, M);
  P("/* Updates: start with _update_begin, add typed actions (%s_set_<field>, ...),\n"
    " * then run _update. */\n", M);
  P("void %s_update_begin(dorm_model_update *u, dorm_arena *a);\n", M);
  P("dorm_status %s_update(dorm_client *c, const %s_key *key, dorm_model_update *u,\n"
    "    const dorm_update_opts *opts, dorm_arena *a, %s *new_out);\n", M, M, M);
  P("/* DynamORM's Update(fields...): SET the listed fields from *o. */\n");
  P("dorm_status %s_update_fields(dorm_client *c, %s *o, const %s_field *fields, size_t n,\n"
    "    const dorm_write_opts *opts, dorm_arena *a);\n", M, M, M);
  if (m->version)
    P("/* The actions of u on the item of *o's key, on condition that its version\n"
      " * is still o->%s (DORM_ERR_CONDITION_FAILED otherwise); on success *o is the\n"
      " * item as updated (in a). */\n", m->version->name);
  else
    P("/* The actions of u on the item of *o's key; on success *o is the item as\n"
      " * updated (in a). */\n");
  P("dorm_status %s_update_object(dorm_client *c, %s *o, dorm_model_update *u, dorm_arena *a);\n", M, M);
  P("/* Pages of items to on_items (valid during the call only; a status other\n"
    " * than DORM_OK stops and is returned). */\n");
  P("typedef dorm_status (*%s_items_fn)(void *user, const %s *items, size_t count);\n", M, M);
  emit_query_decls(g, m);
  P("dorm_status %s_scan(dorm_client *c, const dorm_query_opts *opts, dorm_arena *a, %s_page *page);\n", M, M);
  P("dorm_status %s_count(dorm_client *c, const dorm_query_opts *opts, uint64_t *count);\n", M);
  P("dorm_status %s_scan_each(dorm_client *c, const dorm_query_opts *opts, %s_items_fn on_items, void *user);\n",
    M, M);
  P("dorm_status %s_scan_parallel(dorm_client *c, const dorm_query_opts *opts, uint32_t segments,\n"
    "    uint32_t workers, %s_items_fn on_items, void *user);\n", M, M);
  P("dorm_status %s_batch_get(dorm_client *c, const %s_key *keys, size_t n, bool consistent_read,\n"
    "    dorm_arena *a, %s *out, bool *found);\n", M, M, M);
  P("dorm_status %s_batch_put(dorm_client *c, %s *objs, size_t n, dorm_arena *a);\n", M, M);
  P("dorm_status %s_batch_delete(dorm_client *c, const %s_key *keys, size_t n, dorm_arena *a);\n", M, M);
  P("/* Transaction actions: each returns its index in the transaction (the\n"
    " * failed_index of dorm_tx_commit), or -1 when it could not be added (the\n"
    " * error is kept in tx and reported by dorm_tx_commit). */\n");
  P("int %s_tx_put(dorm_tx *tx, %s *o, const dorm_write_opts *opts);\n", M, M);
  P("int %s_tx_create(dorm_tx *tx, %s *o, const dorm_write_opts *opts);\n", M, M);
  P("int %s_tx_update(dorm_tx *tx, const %s_key *key, dorm_model_update *u,\n"
    "    const dorm_write_opts *opts);\n", M, M);
  P("int %s_tx_delete(dorm_tx *tx, const %s_key *key, const dorm_write_opts *opts);\n", M, M);
  P("int %s_tx_check(dorm_tx *tx, const %s_key *key, const dorm_write_opts *opts);\n", M, M);
  P("/* Items (e.g. the images of a DynamoDB Streams record) to and from the struct. */\n");
  P("dorm_status %s_from_item(const dorm_av *item, unsigned flags, dorm_arena *a, %s *out, char *errbuf,\n"
    "    size_t errcap);\n", M, M);
  P("dorm_status %s_to_item(const %s *o, dorm_arena *a, dorm_av *item, char *errbuf, size_t errcap);\n", M, M);
  P("bool %s_is(const dorm_av *item);\n\n", M);

  P("/* Typed update actions. */\n");
  for (size_t i = 0; i < m->nfields; i++) emit_update_actions(g, m, &m->fields[i], i);
  P("\n/* Typed conditions (filters and write conditions), built with builder x. */\n");
  for (size_t i = 0; i < m->nfields; i++) emit_conditions(g, m, &m->fields[i]);
  P("\n");
}

void gen_model_header(gen_ctx *g, const char *const *other_bases, size_t n_other) {
  const dormc_schema *s = g->s;
  char *guard = gen_upper(g, gen_ident(g, arena_printf(&g->mem, "%s_models_h", g->base)));
  const char *slash = strrchr(g->file, '/');
  P("/* Generated by dormc from %s. Do not edit: change the schema and run `dormc gen`. */\n",
    slash ? slash + 1 : g->file);
  P("#ifndef %s\n#define %s\n\n", guard, guard);
  P("#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n#include <dorm/model.h>\n\n");
  P("#if !defined(DORM_MODEL_ABI) || DORM_MODEL_ABI != %d\n"
    "#error \"%s_models.h was generated for libdorm model ABI %d: regenerate it with the dormc that "
    "matches your libdorm (dormc gen)\"\n#endif\n\n",
    DORMC_MODEL_ABI, g->base, DORMC_MODEL_ABI);
  for (size_t i = 0; i < n_other; i++) P("#include \"%s_models.h\"\n", other_bases[i]);
  if (n_other) P("\n");
  P("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");

  for (size_t i = 0; i < s->nstructs; i++)
    if (gen_mine(g, &s->structs[i].loc)) {
      check_has_names(g, s->structs[i].name, s->structs[i].fields, s->structs[i].nfields);
      P("typedef struct %s %s;\n", s->structs[i].c_name, s->structs[i].c_name);
    }
  for (size_t i = 0; i < s->nmodels; i++)
    if (gen_mine(g, &s->models[i].loc)) {
      check_has_names(g, s->models[i].name, s->models[i].fields, s->models[i].nfields);
      P("typedef struct %s %s;\n", s->models[i].c_name, s->models[i].c_name);
    }
  for (size_t i = 0; i < g->ncontainers; i++) {
    char *guard2 = gen_upper(g, arena_printf(&g->mem, "%s_DECLARED", g->containers[i].cname));
    P("#ifndef %s\n#define %s\ntypedef struct %s %s;\n#endif\n", guard2, guard2, g->containers[i].cname,
      g->containers[i].cname);
  }
  P("\n");
  for (size_t i = 0; i < s->nenums; i++)
    if (gen_mine(g, &s->enums[i].loc)) emit_enum(g, &s->enums[i]);
  /* Sets, lists and maps hold pointers only, so they can come before the
   * structs they point at; the {has, value} wrappers embed their value and
   * come after. */
  for (size_t i = 0; i < g->ncontainers; i++)
    if (!g->containers[i].wrapper) emit_container(g, &g->containers[i]);
  P("\n");
  size_t nst;
  const dormc_struct **order = gen_struct_order(g, &nst);
  for (size_t i = 0; i < nst; i++) {
    P("struct %s {\n", order[i]->c_name);
    emit_fields(g, order[i]->fields, order[i]->nfields);
    P("};\n");
  }
  for (size_t i = 0; i < g->ncontainers; i++)
    if (g->containers[i].wrapper) emit_container(g, &g->containers[i]);
  P("\n");
  for (size_t i = 0; i < s->nmodels; i++)
    if (gen_mine(g, &s->models[i].loc)) emit_model(g, &s->models[i]);
  bool any_table = false;
  for (size_t i = 0; i < s->ntables; i++) {
    const dormc_table *t = &s->tables[i];
    if (!gen_table_mine(g, t)) continue;
    if (!any_table) P("/* ---- tables ---- */\n\n");
    any_table = true;
    const char *T = gen_table_cname(g, t);
    P("/* Table %s as the schema declares it (CreateTable definition and TTL). */\n",
      gen_comment_cstr(g, t->physical_name));
    P("extern const dorm_model_table %s;\n", T);
    P("/* Creates the table unless it exists, waits until it is ACTIVE, enables its\n"
      " * TTL. For development and tests; deployed schemas change through migrations. */\n");
    P("dorm_status %s_ensure(dorm_client *c, long timeout_ms);\n\n", T);
  }
  P("#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

void gen_emit_container(gen_ctx *g, const gen_container *c) { emit_container(g, c); }

void gen_emit_fields(gen_ctx *g, const char *owner, const dormc_field *f, size_t n) {
  check_has_names(g, owner, f, n);
  emit_fields(g, f, n);
}
