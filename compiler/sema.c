/* Semantic analysis, the driver: namespaces, the declaration table, the
 * order of the phases, warnings, and the resolved schema's arrays.
 *
 * Namespaces: the root file must declare one (`namespace a.b;` first
 * statement, once). An imported file declares the same namespace or none; a
 * dotted namespace becomes the C prefix with '_' (a.b -> a_b). */
#include <string.h>

#include "sema_int.h"

const char *sema_member_what(ast_member *m) {
  switch (m->kind) {
  case AST_M_FIELD: return "a field";
  case AST_M_ENUM_VALUE: return "an enum member";
  case AST_M_KEY_DECL: return "'key (...)'";
  case AST_M_KEY_TEMPLATE: return "a key template";
  default: break;
  }
  return NULL;
}

void sema_not_allowed(sema *S, ast_member *m, const char *where) {
  const char *what = sema_member_what(m);
  if (m->kind == AST_M_ENUM_VALUE && strcmp(where, "an enum") != 0) {
    diag_error(S->c, m->name.loc, "'%s' has no type; a field is written '%s: type;'", m->name.text, m->name.text);
    return;
  }
  if (what)
    diag_error(S->c, m->kw_loc, "%s is not allowed in %s", what, where);
  else
    diag_error(S->c, m->kw_loc, "'%s' is not allowed in %s", ast_member_kind_name(m->kind), where);
}

static const char *join_qname(sema *S, vec *q) {
  size_t len = 0;
  for (size_t i = 0; i < q->n; i++) len += strlen(((ast_name *)q->items[i])->text) + 1;
  char *out = arena_alloc(S->a, len + 1);
  for (size_t i = 0; i < q->n; i++) {
    if (i) strcat(out, ".");
    strcat(out, ((ast_name *)q->items[i])->text);
  }
  return out;
}

static void namespaces(sema *S) {
  dormc_compilation *c = S->c;
  size_t n = c->sources->n;
  const char **ns = arena_alloc(S->a, (n + 1) * sizeof *ns);
  dormc_loc *ns_loc = arena_alloc(S->a, (n + 1) * sizeof *ns_loc);
  for (size_t i = 0; i < n; i++) {
    dormc_source *s = c->sources->items[i];
    if (!s->ast) continue;
    ast_item *first_ns = NULL;
    for (size_t k = 0; k < s->ast->items->n; k++) {
      ast_item *it = s->ast->items->items[k];
      if (it->kind != AST_I_NAMESPACE) continue;
      if (first_ns) {
        diag_error(c, it->kw_loc, "second 'namespace' statement; a file declares its namespace once");
        diag_note(c, first_ns->loc, "the namespace is declared here");
        continue;
      }
      first_ns = it;
      if (k != 0) {
        ast_item *before = s->ast->items->items[0];
        diag_error(c, it->kw_loc, "'namespace' must be the first statement of the file");
        diag_note(c, before->kw_loc, "the first statement is here");
      }
      ns[i] = join_qname(S, it->qname);
      ns_loc[i] = loc_span(((ast_name *)it->qname->items[0])->loc,
                           ((ast_name *)it->qname->items[it->qname->n - 1])->loc);
    }
    if (s == c->root) {
      S->ns = ns[i];
      S->ns_loc = ns_loc[i];
      if (!first_ns) {
        dormc_loc at = {.file = s->path, .line = 1, .col = 1, .end_line = 1, .end_col = 2};
        diag_error(c, at, "missing 'namespace' statement; a schema starts with 'namespace <name>;'");
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    dormc_source *s = c->sources->items[i];
    if (s == c->root || !ns[i] || !S->ns) continue;
    if (strcmp(ns[i], S->ns) != 0) {
      diag_error(c, ns_loc[i],
                 "'%s' declares namespace '%s' but the schema's namespace is '%s'; an imported file declares "
                 "the same namespace or none",
                 s->path, ns[i], S->ns);
      diag_note(c, S->ns_loc, "the schema's namespace is declared here");
    }
  }
  if (!S->ns) S->ns = "schema";
}

static void collect(sema *S) {
  dormc_compilation *c = S->c;
  for (size_t i = 0; i < c->sources->n; i++) {
    dormc_source *s = c->sources->items[i];
    if (!s->ast) continue;
    for (size_t k = 0; k < s->ast->items->n; k++) {
      ast_item *it = s->ast->items->items[k];
      if (it->kind == AST_I_NAMESPACE || it->kind == AST_I_IMPORT) continue;
      decl_info *d = arena_alloc(S->a, sizeof *d);
      d->item = it;
      d->name = it->name.text;
      d->kind = it->kind;
      decl_info *prev = symtab_put(S->a, &S->decls, d->name, d);
      if (prev) {
        diag_error(c, it->name.loc, "duplicate declaration '%s'; names are unique in a namespace", d->name);
        diag_note(c, prev->item->name.loc, "'%s' is first declared here (%s)", d->name,
                  ast_item_kind_name(prev->kind));
        continue;
      }
      vec_push(S->a, S->order, d);
      switch (it->kind) {
      case AST_I_ENUM: S->nenums++; break;
      case AST_I_STRUCT: S->nstructs++; break;
      case AST_I_TABLE: S->ntables++; break;
      case AST_I_MODEL:
        S->nmodels++;
        if (it->home == AST_HOME_TABLE) S->ntables++;
        break;
      case AST_I_ENDPOINT: S->nendpoints++; break;
      default: break;
      }
    }
  }
}

static void *alloc_array(sema *S, size_t n, size_t size) { return n ? arena_alloc(S->a, n * size) : NULL; }

static void assign(sema *S) {
  S->enums = alloc_array(S, S->nenums, sizeof *S->enums);
  S->structs = alloc_array(S, S->nstructs, sizeof *S->structs);
  S->tables = alloc_array(S, S->ntables, sizeof *S->tables);
  S->models = alloc_array(S, S->nmodels, sizeof *S->models);
  S->endpoints = alloc_array(S, S->nendpoints, sizeof *S->endpoints);
  size_t ie = 0, is = 0, it = 0, im = 0, ip = 0;
  for (size_t i = 0; i < S->order->n; i++) {
    decl_info *d = S->order->items[i];
    switch (d->kind) {
    case AST_I_ENUM: d->resolved = &S->enums[ie++]; break;
    case AST_I_STRUCT: d->resolved = &S->structs[is++]; break;
    case AST_I_TABLE: d->resolved = &S->tables[it++]; break;
    case AST_I_MODEL: d->resolved = &S->models[im++]; break;
    case AST_I_ENDPOINT: d->resolved = &S->endpoints[ip++]; break;
    default: break;
    }
  }
  S->owned_next = it;
}

static void warn_unused(sema *S) {
  for (size_t i = 0; i < S->order->n; i++) {
    decl_info *d = S->order->items[i];
    if ((d->kind == AST_I_ENUM || d->kind == AST_I_STRUCT) && !d->used)
      diag_warning(S->c, d->item->name.loc, "%s '%s' is never used", ast_item_kind_name(d->kind), d->name);
  }
  for (size_t i = 0; i < S->table_builds->n; i++) {
    table_build *t = S->table_builds->items[i];
    if (!t->owned && t->models->n == 0)
      diag_warning(S->c, t->item->name.loc, "table '%s' stores no model", t->out->name);
    for (size_t k = 0; k < t->out->ngsis; k++) {
      const dormc_index *x = &t->out->gsis[k];
      if (x->nmodels == 0 && t->models->n > 0)
        diag_warning(S->c, x->loc, "no model fills index '%s' (no model binds all of its key attributes)",
                     x->name);
    }
  }
}

const dormc_schema *sema_run(dormc_compilation *c) {
  sema S;
  memset(&S, 0, sizeof S);
  S.c = c;
  S.a = &c->arena;
  S.order = vec_new(S.a);
  S.table_builds = vec_new(S.a);
  S.model_builds = vec_new(S.a);
  symtab_init(&S.decls);
  unsigned errors_before = c->errors;

  namespaces(&S);
  char *prefix = arena_strdup(S.a, S.ns);
  for (char *p = prefix; *p; p++)
    if (*p == '.') *p = '_';
  S.c_prefix = prefix;
  collect(&S);
  assign(&S);

  for (size_t i = 0; i < S.order->n; i++) {
    decl_info *d = S.order->items[i];
    if (d->kind == AST_I_ENUM) sema_enum(&S, d);
  }
  for (size_t i = 0; i < S.order->n; i++) {
    decl_info *d = S.order->items[i];
    if (d->kind == AST_I_STRUCT) sema_struct(&S, d);
  }
  for (size_t i = 0; i < S.order->n; i++) {
    decl_info *d = S.order->items[i];
    if (d->kind != AST_I_TABLE) continue;
    table_build *t = sema_table_build(&S, d->item, false, d->resolved);
    d->table = t;
    vec *ms = d->item->body->members;
    for (size_t k = 0; k < ms->n; k++) {
      ast_member *m = ms->items[k];
      switch (m->kind) {
      case AST_M_KEY_DECL:
      case AST_M_GSI:
      case AST_M_LSI:
      case AST_M_BILLING:
      case AST_M_STREAM:
      case AST_M_TTL: sema_table_member(&S, t, m); break;
      case AST_M_FIELD:
        diag_error(c, m->name.loc, "a field is not allowed in a table; fields belong to models (model X in %s { ... })",
                   d->name);
        break;
      case AST_M_KEY_TEMPLATE:
        diag_error(c, m->kw_loc, "a key template is not allowed in a table; templates belong to the models stored in it");
        break;
      default: sema_not_allowed(&S, m, "a table"); break;
      }
    }
  }
  for (size_t i = 0; i < S.order->n; i++) {
    decl_info *d = S.order->items[i];
    if (d->kind == AST_I_MODEL) sema_model(&S, d);
  }
  for (size_t i = 0; i < S.order->n; i++) {
    decl_info *d = S.order->items[i];
    if (d->kind == AST_I_ENDPOINT) sema_endpoint(&S, d);
  }
  sema_struct_cycles(&S);
  sema_keys(&S);
  sema_encrypted_models(&S);
  for (size_t i = 0; i < S.nmodels; i++)
    if (S.models[i].naming == DORMC_NAMING_SNAKE) sema_check_snake_structs(&S, &S.models[i]);
  sema_c_names(&S);
  warn_unused(&S);

  dormc_schema *schema = arena_alloc(S.a, sizeof *schema);
  schema->namespace_ = S.ns;
  schema->c_prefix = S.c_prefix;
  schema->enums = S.enums;
  schema->nenums = S.nenums;
  schema->structs = S.structs;
  schema->nstructs = S.nstructs;
  schema->tables = S.tables;
  schema->ntables = S.ntables;
  schema->models = S.models;
  schema->nmodels = S.nmodels;
  schema->endpoints = S.endpoints;
  schema->nendpoints = S.nendpoints;
  (void)errors_before;
  return schema;
}
