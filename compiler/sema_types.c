/* Semantic analysis of types: enums, structs, fields and their attributes,
 * type expressions, struct cycles, attribute naming. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dorm/timefmt.h"
#include "sema_int.h"

/* Suggestions scan every declaration; past this many they cost too much on
 * a huge generated schema, so none are offered. */
#define MAX_SUGGEST_DECLS 2000

const char *sema_type_str(sema *S, const dormc_type *t) {
  char buf[256];
  dormc_type_str(t, buf, sizeof buf);
  return arena_strdup(S->a, buf);
}

bool sema_is_key_scalar(const dormc_type *t, dormc_key_type *kt) {
  switch (t->kind) {
  case DORMC_T_STRING:
  case DORMC_T_TIME:
  case DORMC_T_ENUM: *kt = DORMC_KEY_S; return true;
  case DORMC_T_INT:
  case DORMC_T_FLOAT:
  case DORMC_T_DECIMAL:
  case DORMC_T_EPOCH: *kt = DORMC_KEY_N; return true;
  case DORMC_T_BYTES: *kt = DORMC_KEY_B; return true;
  default: return false;
  }
}

/* ---- enums ------------------------------------------------------------- */

void sema_enum(sema *S, decl_info *d) {
  dormc_enum *e = d->resolved;
  ast_item *it = d->item;
  e->name = d->name;
  e->loc = it->name.loc;
  vec *ms = it->body->members;
  dormc_enum_member *members = ms->n ? arena_alloc(S->a, ms->n * sizeof *members) : NULL;
  size_t n = 0;
  symtab names, values;
  symtab_init(&names);
  symtab_init(&values);
  ast_member **value_src = ms->n ? arena_alloc(S->a, ms->n * sizeof *value_src) : NULL;
  for (size_t i = 0; i < ms->n; i++) {
    ast_member *m = ms->items[i];
    if (m->kind != AST_M_ENUM_VALUE) {
      if (m->kind == AST_M_FIELD)
        diag_error(S->c, m->name.loc, "a field is not allowed in an enum; members are written '%s;' or '%s = \"value\";'",
                   m->name.text, m->name.text);
      else
        sema_not_allowed(S, m, "an enum");
      continue;
    }
    ast_member *prev = symtab_put(S->a, &names, m->name.text, m);
    if (prev) {
      diag_error(S->c, m->name.loc, "duplicate enum member '%s'", m->name.text);
      diag_note(S->c, prev->name.loc, "'%s' first declared here", m->name.text);
      continue;
    }
    const char *value = m->str ? m->str->value : m->name.text;
    dormc_loc vloc = m->str ? m->str->loc : m->name.loc;
    if (m->str && m->str->len == 0) {
      diag_error(S->c, vloc, "the stored value of enum member '%s' is empty", m->name.text);
      continue;
    }
    value_src[n] = m;
    ast_member *pv = symtab_put(S->a, &values, value, m);
    if (pv) {
      diag_error(S->c, vloc, "enum members '%s' and '%s' are both stored as \"%s\"", pv->name.text, m->name.text,
                 value);
      diag_note(S->c, pv->str ? pv->str->loc : pv->name.loc, "'%s' is stored as \"%s\" here", pv->name.text,
                value);
      continue;
    }
    members[n].name = m->name.text;
    members[n].value = value;
    members[n].loc = m->name.loc;
    n++;
  }
  if (ms->n == 0) diag_error(S->c, it->name.loc, "enum '%s' has no members", d->name);
  e->members = members;
  e->nmembers = n;
}

/* ---- types ------------------------------------------------------------- */

typedef struct builtin {
  const char *name;
  dormc_type_kind kind;
  int nargs; /* -1: 1 or 2 (map) */
} builtin;

static const builtin builtins[] = {
    {"string", DORMC_T_STRING, 0}, {"int", DORMC_T_INT, 0},     {"float", DORMC_T_FLOAT, 0},
    {"decimal", DORMC_T_DECIMAL, 0}, {"bool", DORMC_T_BOOL, 0}, {"bytes", DORMC_T_BYTES, 0},
    {"time", DORMC_T_TIME, 0},     {"epoch", DORMC_T_EPOCH, 0}, {"json", DORMC_T_JSON, 0},
    {"set", DORMC_T_SET, 1},       {"list", DORMC_T_LIST, 1},   {"map", DORMC_T_MAP, -1},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static const char *suggest_type(sema *S, const char *word) {
  size_t n = NBUILTINS + (S->order->n <= MAX_SUGGEST_DECLS ? S->order->n : 0);
  const char **cands = arena_alloc(S->a, n * sizeof *cands);
  size_t k = 0;
  for (size_t i = 0; i < NBUILTINS; i++) cands[k++] = builtins[i].name;
  if (S->order->n <= MAX_SUGGEST_DECLS) {
    for (size_t i = 0; i < S->order->n; i++) {
      decl_info *d = S->order->items[i];
      if (d->kind == AST_I_ENUM || d->kind == AST_I_STRUCT) cands[k++] = d->name;
    }
  }
  const char *near = closest_name(word, cands, k);
  if (near) return near;
  /* Other languages' names for our types, too far apart for the edit distance. */
  static const char *const aliases[][2] = {
      {"integer", "int"},  {"int32", "int"},     {"int64", "int"},      {"long", "int"},
      {"number", "float"}, {"double", "float"},  {"float64", "float"},  {"boolean", "bool"},
      {"str", "string"},   {"text", "string"},   {"timestamp", "time"}, {"datetime", "time"},
      {"date", "time"},    {"binary", "bytes"},  {"blob", "bytes"},     {"array", "list"},
      {"object", "map"},   {"dict", "map"},      {"numeric", "decimal"}, {"bigdecimal", "decimal"},
  };
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcasecmp(word, aliases[i][0]) == 0) return aliases[i][1];
  return NULL;
}

static bool resolve_type(sema *S, const ast_type *t, dormc_type *out) {
  memset(out, 0, sizeof *out);
  out->optional = t->optional;
  const builtin *b = NULL;
  for (size_t i = 0; i < NBUILTINS; i++)
    if (strcmp(builtins[i].name, t->name.text) == 0) b = &builtins[i];
  size_t nargs = t->args ? t->args->n : 0;
  if (!b) {
    decl_info *d = symtab_get(&S->decls, t->name.text);
    if (!d) {
      const char *s = suggest_type(S, t->name.text);
      if (strcasecmp(t->name.text, "optional") == 0 || strcasecmp(t->name.text, "nullable") == 0 ||
          strcasecmp(t->name.text, "maybe") == 0)
        diag_error(S->c, t->name.loc, "unknown type '%s'; an optional field is written T? (string?)", t->name.text);
      else if (s) diag_error(S->c, t->name.loc, "unknown type '%s'; did you mean '%s'?", t->name.text, s);
      else diag_error(S->c, t->name.loc, "unknown type '%s'", t->name.text);
      return false;
    }
    if (d->kind != AST_I_ENUM && d->kind != AST_I_STRUCT) {
      diag_error(S->c, t->name.loc, "'%s' is a %s, not a type; a field's type is a built-in type, an enum or a struct",
                 t->name.text, ast_item_kind_name(d->kind));
      diag_note(S->c, d->item->name.loc, "'%s' is declared here", d->name);
      return false;
    }
    if (nargs) {
      diag_error(S->c, t->name.loc, "%s '%s' takes no type arguments", ast_item_kind_name(d->kind), d->name);
      return false;
    }
    d->used = true;
    if (d->kind == AST_I_ENUM) {
      out->kind = DORMC_T_ENUM;
      out->enum_ = d->resolved;
    } else {
      out->kind = DORMC_T_STRUCT;
      out->struct_ = d->resolved;
    }
    return true;
  }
  out->kind = b->kind;
  if (b->nargs == 0) {
    if (nargs) {
      diag_error(S->c, t->name.loc, "type '%s' takes no type arguments", b->name);
      return false;
    }
    return true;
  }
  if (nargs == 0) {
    diag_error(S->c, t->name.loc, "'%s' needs an element type: %s<T>", b->name, b->name);
    return false;
  }
  if ((b->nargs == 1 && nargs != 1) || nargs > 2) {
    diag_error(S->c, t->loc, "'%s' takes %s type argument%s", b->name, b->nargs == 1 ? "one" : "one or two",
               b->nargs == 1 ? "" : "s");
    return false;
  }
  const ast_type *elem_ast = t->args->items[nargs - 1];
  if (nargs == 2) {
    const ast_type *key = t->args->items[0];
    if (strcmp(key->name.text, "string") != 0 || key->args || key->optional) {
      diag_error(S->c, key->loc, "map keys must be strings: write map<T> or map<string, T>");
      return false;
    }
  }
  dormc_type *elem = arena_alloc(S->a, sizeof *elem);
  if (!resolve_type(S, elem_ast, elem)) return false;
  out->elem = elem;
  if (b->kind == DORMC_T_SET) {
    if (elem->kind == DORMC_T_SET) {
      diag_error(S->c, elem_ast->loc, "sets cannot contain sets");
      return false;
    }
    if (elem->optional) {
      diag_error(S->c, elem_ast->loc, "set elements cannot be optional ('%s')", sema_type_str(S, elem));
      return false;
    }
    switch (elem->kind) {
    case DORMC_T_STRING:
    case DORMC_T_INT:
    case DORMC_T_FLOAT:
    case DORMC_T_DECIMAL:
    case DORMC_T_BYTES: break;
    case DORMC_T_BOOL:
      diag_error(S->c, elem_ast->loc, "set<bool> is not allowed: DynamoDB has no boolean set (use list<bool>)");
      return false;
    default:
      diag_error(S->c, elem_ast->loc,
                 "set<%s> is not allowed; a set holds string, int, float, decimal or bytes (use a list)",
                 sema_type_str(S, elem));
      return false;
    }
  }
  return true;
}

/* ---- fields ------------------------------------------------------------ */

enum { R_PK, R_SK, R_CREATED, R_UPDATED, R_VERSION, R_TTL, NROLES };
static const char *const role_names[NROLES] = {"pk", "sk", "created_at", "updated_at", "version", "ttl"};
static const char *const attr_names[] = {"pk",  "sk",         "created_at", "updated_at", "version",
                                         "ttl", "omit_empty", "name",       "encrypted"};

static bool role_type_ok(int role, const dormc_type *t, const char **need) {
  switch (role) {
  case R_CREATED:
  case R_UPDATED: *need = "time"; return t->kind == DORMC_T_TIME;
  case R_VERSION: *need = "int"; return t->kind == DORMC_T_INT;
  case R_TTL: *need = "epoch"; return t->kind == DORMC_T_EPOCH;
  default: return true;
  }
}

/* Applies the @attributes of one field. */
static void field_attrs(sema *S, ast_member *m, dormc_field *f, field_owner owner, bool type_ok,
                        const ast_attr **role_attr, dormc_field **role_first, const char *owner_desc) {
  symtab seen;
  symtab_init(&seen);
  for (size_t i = 0; m->attrs && i < m->attrs->n; i++) {
    ast_attr *at = m->attrs->items[i];
    const char *nm = at->name.text;
    ast_attr *dup = symtab_put(S->a, &seen, nm, at);
    if (dup) {
      diag_error(S->c, at->loc, "duplicate @%s on field '%s'", nm, f->name);
      continue;
    }
    int role = -1;
    for (int r = 0; r < NROLES; r++)
      if (strcmp(nm, role_names[r]) == 0) role = r;
    bool is_name = strcmp(nm, "name") == 0, is_omit = strcmp(nm, "omit_empty") == 0;
    if (strcmp(nm, "encrypted") == 0) {
      sema_encrypted_attr(S, at, f, owner == OWNER_MODEL, owner_desc);
      continue;
    }
    if (role < 0 && !is_name && !is_omit) {
      const char *s = closest_name(nm, attr_names, sizeof attr_names / sizeof *attr_names);
      if (s) diag_error(S->c, at->loc, "unknown field attribute '@%s'; did you mean '@%s'?", nm, s);
      else
        diag_error(S->c, at->loc,
                   "unknown field attribute '@%s' (known: @pk @sk @created_at @updated_at @version @ttl "
                   "@omit_empty @name @encrypted)",
                   nm);
      continue;
    }
    if (is_name) {
      if (!at->args || at->args->n != 1 || ((ast_value *)at->args->items[0])->kind != AST_V_STRING) {
        diag_error(S->c, at->loc, "@name takes one string: @name(\"attribute\")");
        continue;
      }
      ast_value *v = at->args->items[0];
      if (!v->text[0]) {
        diag_error(S->c, v->loc, "@name cannot be empty");
        continue;
      }
      f->explicit_attr = v->text;
      continue;
    }
    if (at->args) {
      diag_error(S->c, at->loc, "@%s takes no arguments", nm);
      continue;
    }
    if (is_omit) {
      f->omit_empty = true;
      continue;
    }
    if (owner != OWNER_MODEL) {
      diag_error(S->c, at->loc, "@%s is only allowed on model fields, not in %s", nm, owner_desc);
      continue;
    }
    const char *need = NULL;
    if (type_ok && !role_type_ok(role, &f->type, &need)) {
      diag_error(S->c, at->loc, "@%s needs a field of type %s, but '%s' is %s", nm, need, f->name,
                 sema_type_str(S, &f->type));
      continue;
    }
    if (role_first[role]) {
      diag_error(S->c, at->loc, "@%s is used twice in %s", nm, owner_desc);
      diag_note(S->c, role_attr[role]->loc, "first used on field '%s' here", role_first[role]->name);
      continue;
    }
    role_first[role] = f;
    role_attr[role] = at;
    f->roles |= 1u << role;
  }
}

/* ---- field defaults ----------------------------------------------------- */

static bool number_is_integer(const ast_value *v) {
  return v->kind == AST_V_INT || (v->kind == AST_V_NUMBER && !strpbrk(v->text, ".eE"));
}

/* Checks `name: T = value` and records the default in stored form. A
 * default is the value an item without the attribute reads as, so it goes
 * with a required scalar that every item may lack: not with T? (absent has
 * a meaning there), @omit_empty (an empty value would read back as the
 * default), keys (every item has them) or endpoint payloads (JSON, not
 * stored items). */
static void field_default(sema *S, const ast_member *m, dormc_field *f, field_owner owner, bool type_ok) {
  const ast_value *v = m->value;
  if (!v || !type_ok) return;
  char tb[128];
  const char *tname = dormc_type_str(&f->type, tb, sizeof tb);
  if (owner == OWNER_PAYLOAD) {
    diag_error(S->c, v->loc,
               "a default is not allowed on an endpoint payload field ('%s'); make it optional (%s?) and apply the "
               "default in the handler",
               f->name, tname);
    return;
  }
  if (f->optional) {
    diag_error(S->c, v->loc,
               "field '%s' is optional and has a default; with a default the field always has a value: remove the '?'",
               f->name);
    return;
  }
  if (f->omit_empty) {
    diag_error(S->c, v->loc,
               "field '%s' has a default and @omit_empty: an empty value would not be stored and would read back "
               "as the default; keep one of them",
               f->name);
    return;
  }
  if (f->roles & (DORMC_ROLE_PK | DORMC_ROLE_SK)) {
    diag_error(S->c, v->loc, "key field '%s' cannot have a default: every item stores its key", f->name);
    return;
  }
  dormc_default *d = arena_alloc(S->a, sizeof *d);
  d->loc = v->loc;
  const char *want = NULL;
  switch (f->type.kind) {
  case DORMC_T_STRING:
    if (v->kind != AST_V_STRING) want = "a string (\"text\")";
    d->kind = DORMC_DEFAULT_S;
    d->text = v->text;
    d->c_value = v->text; /* the generator quotes it */
    break;
  case DORMC_T_INT:
  case DORMC_T_EPOCH:
    if (!number_is_integer(v)) want = "an integer";
    d->kind = DORMC_DEFAULT_N;
    d->text = arena_printf(S->a, "%lld", (long long)v->num);
    /* INT64_MIN has no literal of its own in C */
    d->c_value = v->num == INT64_MIN ? "INT64_MIN" : arena_printf(S->a, "INT64_C(%lld)", (long long)v->num);
    break;
  case DORMC_T_FLOAT:
  case DORMC_T_DECIMAL:
    if (v->kind != AST_V_INT && v->kind != AST_V_NUMBER) want = "a number";
    d->kind = DORMC_DEFAULT_N;
    d->text = v->text;
    /* a float as a C double literal; a decimal is text like a string */
    d->c_value = f->type.kind == DORMC_T_FLOAT && !strpbrk(v->text, ".eE") ? arena_printf(S->a, "%s.0", v->text)
                                                                           : v->text;
    break;
  case DORMC_T_BOOL:
    if (v->kind != AST_V_NAME || (strcmp(v->text, "true") != 0 && strcmp(v->text, "false") != 0))
      want = "true or false";
    d->kind = DORMC_DEFAULT_BOOL;
    d->text = v->text;
    d->c_value = v->text;
    break;
  case DORMC_T_TIME: {
    int64_t ns;
    if (v->kind != AST_V_STRING) {
      want = "an RFC 3339 time in a string (\"2024-01-01T00:00:00Z\")";
      break;
    }
    if (!dorm_time_parse(v->text, strlen(v->text), &ns)) {
      diag_error(S->c, v->loc, "default of field '%s': \"%s\" is not an RFC 3339 time (e.g. \"2024-01-01T00:00:00Z\")",
                 f->name, v->text);
      return;
    }
    char out[32];
    dorm_time_format(ns, out);
    d->kind = DORMC_DEFAULT_S;
    d->text = arena_strdup(S->a, out);
    d->c_value = ns == INT64_MIN ? "INT64_MIN" : arena_printf(S->a, "INT64_C(%lld)", (long long)ns);
    break;
  }
  case DORMC_T_ENUM: {
    const dormc_enum *e = f->type.enum_;
    if (v->kind != AST_V_NAME) {
      want = "a member of the enum";
      break;
    }
    for (size_t i = 0; e && i < e->nmembers; i++)
      if (strcmp(e->members[i].name, v->text) == 0) {
        d->kind = DORMC_DEFAULT_S;
        d->text = e->members[i].value;
        d->c_value = NULL; /* the member's C name, given later (sema_c_names): the generator looks it up */
        f->dflt = d;
        return;
      }
    const char **names = arena_alloc(S->a, (e ? e->nmembers : 0) * sizeof *names + 1);
    for (size_t i = 0; e && i < e->nmembers; i++) names[i] = e->members[i].name;
    const char *near = closest_name(v->text, (const char *const *)names, e ? e->nmembers : 0);
    if (near)
      diag_error(S->c, v->loc, "'%s' is not a member of enum %s; did you mean '%s'?", v->text, tname, near);
    else
      diag_error(S->c, v->loc, "'%s' is not a member of enum %s", v->text, tname);
    if (e) diag_note(S->c, e->loc, "enum %s is declared here", tname);
    return;
  }
  default:
    diag_error(S->c, v->loc,
               "field '%s' (%s) cannot have a default; defaults are for string, int, float, decimal, bool, time, "
               "epoch and enum fields",
               f->name, tname);
    return;
  }
  if (want) {
    diag_error(S->c, v->loc, "the default of field '%s' (%s) must be %s", f->name, tname, want);
    return;
  }
  f->dflt = d;
}

dormc_field *sema_fields(sema *S, vec *members, field_owner owner, dormc_naming naming, const char *owner_desc,
                         size_t *nfields, ast_member ***field_members) {
  size_t count = 0;
  for (size_t i = 0; i < members->n; i++)
    if (((ast_member *)members->items[i])->kind == AST_M_FIELD) count++;
  dormc_field *fields = count ? arena_alloc(S->a, count * sizeof *fields) : NULL;
  ast_member **srcs = count ? arena_alloc(S->a, count * sizeof *srcs) : NULL;
  symtab names, attrs;
  symtab_init(&names);
  symtab_init(&attrs);
  const ast_attr *role_attr[NROLES] = {0};
  dormc_field *role_first[NROLES] = {0};
  size_t n = 0;
  for (size_t i = 0; i < members->n; i++) {
    ast_member *m = members->items[i];
    if (m->kind != AST_M_FIELD) continue;
    ast_member *prev = symtab_put(S->a, &names, m->name.text, m);
    if (prev) {
      diag_error(S->c, m->name.loc, "duplicate field '%s'", m->name.text);
      diag_note(S->c, prev->name.loc, "'%s' first declared here", m->name.text);
      continue;
    }
    dormc_field *f = &fields[n];
    f->name = m->name.text;
    f->loc = m->name.loc;
    if (dormc_is_c_keyword(f->name))
      diag_error(S->c, m->name.loc,
                 "field name '%s' is a C keyword; rename the field and keep the attribute with @name(\"%s\")",
                 f->name, f->name);
    bool type_ok = resolve_type(S, m->type, &f->type);
    f->optional = f->type.optional;
    field_attrs(S, m, f, owner, type_ok, role_attr, role_first, owner_desc);
    field_default(S, m, f, owner, type_ok);
    f->attr_by_naming[DORMC_NAMING_CAMEL] = f->explicit_attr ? f->explicit_attr : f->name;
    f->attr_by_naming[DORMC_NAMING_SNAKE] = f->explicit_attr ? f->explicit_attr : dormc_snake_case(S->a, f->name);
    f->attr = owner == OWNER_MODEL ? f->attr_by_naming[naming] : f->attr_by_naming[DORMC_NAMING_CAMEL];
    srcs[n] = m;
    dormc_field *other = symtab_put(S->a, &attrs, f->attr, f);
    if (other) {
      diag_error(S->c, m->name.loc, "fields '%s' and '%s' are both stored as attribute '%s'", other->name, f->name,
                 f->attr);
      diag_note(S->c, other->loc, "'%s' is declared here", other->name);
    }
    n++;
  }
  *nfields = n;
  if (field_members) *field_members = srcs;
  return fields;
}

/* ---- structs ----------------------------------------------------------- */

void sema_struct(sema *S, decl_info *d) {
  dormc_struct *st = d->resolved;
  st->name = d->name;
  st->loc = d->item->name.loc;
  vec *ms = d->item->body->members;
  for (size_t i = 0; i < ms->n; i++) {
    ast_member *m = ms->items[i];
    if (m->kind != AST_M_FIELD) sema_not_allowed(S, m, "a struct");
  }
  const char *desc = arena_printf(S->a, "struct '%s'", d->name);
  st->fields = sema_fields(S, ms, OWNER_STRUCT, DORMC_NAMING_CAMEL, desc, &st->nfields, NULL);
}

static decl_info *struct_decl(sema *S, const dormc_struct *st) { return symtab_get(&S->decls, st->name); }

/* Depth-first search over struct fields held by value (not through
 * list/map); a struct met again on the current path is a cycle. Iterative:
 * a generated schema may chain thousands of structs. */
typedef struct struct_frame {
  decl_info *d;
  size_t next;            /* the next field to look at */
  const dormc_field *via; /* the field that led here */
} struct_frame;

static void visit_struct(sema *S, decl_info *root) {
  size_t cap = 16, n = 0;
  struct_frame *stack = arena_alloc(S->a, cap * sizeof *stack);
  stack[n++] = (struct_frame){root, 0, NULL};
  root->visit = 1;
  while (n) {
    struct_frame *top = &stack[n - 1];
    const dormc_struct *st = top->d->resolved;
    if (top->next >= st->nfields) {
      top->d->visit = 2;
      n--;
      continue;
    }
    const dormc_field *f = &st->fields[top->next++];
    if (f->type.kind != DORMC_T_STRUCT || !f->type.struct_) continue;
    decl_info *next = struct_decl(S, f->type.struct_);
    if (!next) continue;
    if (next->visit == 1) {
      if (next == top->d)
        diag_error(S->c, f->loc, "struct '%s' contains itself through field '%s' (only a list or map may nest it)",
                   next->name, f->name);
      else
        diag_error(S->c, f->loc,
                   "struct '%s' contains itself through field '%s' of '%s' (only a list or map may nest it)",
                   next->name, f->name, top->d->name);
      for (size_t k = n; k-- > 1 && stack[k].d != next;) diag_note(S->c, stack[k].via->loc, "through field '%s'", stack[k].via->name);
      continue;
    }
    if (next->visit != 0) continue;
    if (n == cap) {
      struct_frame *bigger = arena_alloc(S->a, cap * 2 * sizeof *bigger);
      memcpy(bigger, stack, n * sizeof *stack);
      stack = bigger;
      cap *= 2;
    }
    stack[n++] = (struct_frame){next, 0, f};
    next->visit = 1;
  }
}

void sema_struct_cycles(sema *S) {
  for (size_t i = 0; i < S->order->n; i++) {
    decl_info *d = S->order->items[i];
    if (d->kind == AST_I_STRUCT && d->visit == 0) visit_struct(S, d);
  }
}

/* A snake_case model stores its structs' fields under snake_case names too;
 * two fields of one struct must not meet there. Iterative over a worklist
 * of types, like the cycle search. */
void sema_check_snake_structs(sema *S, const dormc_model *m) {
  vec *work = vec_new(S->a);
  for (size_t i = 0; i < m->nfields; i++) vec_push(S->a, work, (void *)&m->fields[i].type);
  while (work->n) {
    const dormc_type *t = work->items[--work->n];
    for (; t; t = t->elem) {
      if (t->kind != DORMC_T_STRUCT || !t->struct_) continue;
      decl_info *d = struct_decl(S, t->struct_);
      if (!d || d->snake_checked) continue;
      d->snake_checked = true;
      symtab attrs;
      symtab_init(&attrs);
      const dormc_struct *st = t->struct_;
      for (size_t i = 0; i < st->nfields; i++) {
        const dormc_field *f = &st->fields[i];
        const char *a = f->attr_by_naming[DORMC_NAMING_SNAKE];
        const dormc_field *o = symtab_put(S->a, &attrs, a, (void *)f);
        if (o && strcmp(o->attr, f->attr) != 0) {
          diag_error(S->c, f->loc,
                     "fields '%s' and '%s' of struct '%s' are both stored as '%s' under snake_case naming", o->name,
                     f->name, st->name, a);
          diag_note(S->c, o->loc, "'%s' is declared here", o->name);
        }
        vec_push(S->a, work, (void *)&f->type);
      }
    }
  }
}
