/* gen_model_c: the generated source: const descriptors (nanopb-style data
 * tables) and the thin typed wrappers over libdorm's model functions. The
 * text is valid C11 and C++ (no designated initializers, explicit casts). */
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"

#define P(...) sb_printf(&g->out, __VA_ARGS__)

static const char *kind_const(dormc_type_kind k) {
  switch (k) {
  case DORMC_T_STRING: return "DORM_K_STRING";
  case DORMC_T_INT: return "DORM_K_INT";
  case DORMC_T_FLOAT: return "DORM_K_FLOAT";
  case DORMC_T_DECIMAL: return "DORM_K_DECIMAL";
  case DORMC_T_BOOL: return "DORM_K_BOOL";
  case DORMC_T_BYTES: return "DORM_K_BYTES";
  case DORMC_T_TIME: return "DORM_K_TIME";
  case DORMC_T_EPOCH: return "DORM_K_EPOCH";
  case DORMC_T_JSON: return "DORM_K_JSON";
  case DORMC_T_ENUM: return "DORM_K_ENUM";
  case DORMC_T_STRUCT: return "DORM_K_STRUCT";
  case DORMC_T_SET: return "DORM_K_SET";
  case DORMC_T_LIST: return "DORM_K_LIST";
  case DORMC_T_MAP: return "DORM_K_MAP";
  }
  return "0";
}

/* Element type descriptors are file-static objects named td_<mangle>; they
 * are emitted once each, inner ones first. */
typedef struct emitted {
  const char **names;
  size_t n, cap;
} emitted;

static bool was_emitted(gen_ctx *g, emitted *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->names[i], name) == 0) return true;
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 32;
    const char **bigger = arena_alloc(&g->mem, cap * sizeof *bigger);
    if (e->n) memcpy(bigger, e->names, e->n * sizeof *bigger);
    e->names = bigger;
    e->cap = cap;
  }
  e->names[e->n++] = name;
  return false;
}

/* The initializer of a dorm_type_desc for t, used as a field's type
 * (optional = 0) or as a container element (elem = true). */
static const char *type_init(gen_ctx *g, const dormc_type *t, bool elem);

/* Emits td_<mangle> for a container element type and returns its name. */
static const char *elem_desc(gen_ctx *g, emitted *e, const dormc_type *t) {
  const char *name = arena_printf(&g->mem, "td_%s", gen_mangle(g, t));
  if (t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST || t->kind == DORMC_T_MAP) elem_desc(g, e, t->elem);
  if (was_emitted(g, e, name)) return name;
  P("DORMGEN_PRIVATE const dorm_type_desc %s = %s;\n", name, type_init(g, t, true));
  return name;
}

/* Emits the element descriptors a type needs (before the table using it). */
static void prepare_type(gen_ctx *g, emitted *e, const dormc_type *t) {
  if (t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST || t->kind == DORMC_T_MAP) elem_desc(g, e, t->elem);
}

static const char *type_init(gen_ctx *g, const dormc_type *t, bool elem) {
  const char *size, *opt_off = "0";
  bool wrapped = elem && t->optional && !gen_is_pointer_kind(t->kind);
  const char *ct = elem ? gen_elem_ctype(g, t) : gen_ctype(g, t);
  size = arena_printf(&g->mem, "sizeof(%s)", ct);
  if (wrapped) opt_off = arena_printf(&g->mem, "offsetof(%s, value)", ct);
  const char *sub = "NULL", *st = "NULL", *en = "NULL";
  if (t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST || t->kind == DORMC_T_MAP)
    sub = arena_printf(&g->mem, "&td_%s", gen_mangle(g, t->elem));
  if (t->kind == DORMC_T_STRUCT) st = arena_printf(&g->mem, "&%s_sdesc", t->struct_->c_name);
  if (t->kind == DORMC_T_ENUM) en = arena_printf(&g->mem, "&%s_edesc", t->enum_->c_name);
  return arena_printf(&g->mem, "{%s, %d, %s, %s, %s, %s, %s}", kind_const(t->kind), elem && t->optional ? 1 : 0,
                      opt_off, size, sub, st, en);
}

/* "DORM_FF_OPTIONAL | DORM_FF_PK" (arena text; generation keeps no state
 * outside g, so that it is reentrant). */
static const char *field_flags(gen_ctx *g, const dormc_field *f, bool table_key) {
  const char *text = "";
  struct {
    bool on;
    const char *name;
  } bits[] = {{f->optional, "DORM_FF_OPTIONAL"},
              {f->omit_empty, "DORM_FF_OMIT_EMPTY"},
              {(f->roles & DORMC_ROLE_PK) != 0, "DORM_FF_PK"},
              {(f->roles & DORMC_ROLE_SK) != 0, "DORM_FF_SK"},
              {(f->roles & DORMC_ROLE_CREATED_AT) != 0, "DORM_FF_CREATED_AT"},
              {(f->roles & DORMC_ROLE_UPDATED_AT) != 0, "DORM_FF_UPDATED_AT"},
              {(f->roles & DORMC_ROLE_VERSION) != 0, "DORM_FF_VERSION"},
              {(f->roles & DORMC_ROLE_TTL) != 0, "DORM_FF_TTL"},
              {table_key, "DORM_FF_TABLE_KEY"},
              {f->encrypted, "DORM_FF_ENCRYPTED"}};
  for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
    if (bits[i].on) text = *text ? arena_printf(&g->mem, "%s | %s", text, bits[i].name) : bits[i].name;
  return *text ? text : "0";
}

/* One dorm_field_desc initializer for field f of the C struct cstruct. */
static void field_desc(gen_ctx *g, const char *cstruct, const dormc_field *f, bool model_field, bool table_key) {
  const char *a0 = model_field ? f->attr : f->attr_by_naming[0];
  const char *a1 = model_field ? f->attr : f->attr_by_naming[1];
  size_t l0 = 0, l1 = 0;
  const char *j0 = gen_json_key_lit(g, a0, &l0);
  const char *j1 = gen_json_key_lit(g, a1, &l1);
  const char *has = (f->optional && !gen_is_pointer_kind(f->type.kind))
                        ? arena_printf(&g->mem, "(int32_t)offsetof(%s, has_%s)", cstruct, f->name)
                        : "-1";
  const char *dflt = f->dflt ? arena_printf(&g->mem, "&%s_%s_default", cstruct, f->name) : "NULL";
  P("  {%s, {%s, %s}, {%s, %s}, {%zu, %zu}, %s,\n   (uint32_t)offsetof(%s, %s), %s, %s, %s},\n", gen_cstr(g, f->name),
    gen_cstr(g, a0), gen_cstr(g, a1), j0, j1, l0, l1, field_flags(g, f, table_key), cstruct, f->name, has,
    type_init(g, &f->type, false), dflt);
}

/* The default of each field of fields[] that has one, as a C value of the
 * member's type named <cstruct>_<field>_default, before the field table
 * that points at it. */
static void emit_defaults(gen_ctx *g, const char *cstruct, const dormc_field *fields, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const dormc_field *f = &fields[i];
    const dormc_default *d = f->dflt;
    if (!d) continue;
    const char *type = NULL, *value = d->c_value;
    switch (f->type.kind) {
    case DORMC_T_STRING:
    case DORMC_T_DECIMAL: type = "const char *const"; value = gen_cstr(g, d->text); break;
    case DORMC_T_INT:
    case DORMC_T_EPOCH:
    case DORMC_T_TIME: type = "const int64_t"; break;
    case DORMC_T_FLOAT: type = "const double"; break;
    case DORMC_T_BOOL: type = "const bool"; break;
    case DORMC_T_ENUM:
      type = arena_printf(&g->mem, "const %s", f->type.enum_->c_name);
      for (size_t k = 0; k < f->type.enum_->nmembers; k++)
        if (strcmp(f->type.enum_->members[k].value, d->text) == 0) value = f->type.enum_->members[k].c_name;
      break;
    default: continue; /* sema allows no other */
    }
    P("DORMGEN_PRIVATE %s %s_%s_default = %s;\n", type, cstruct, f->name, value);
  }
}

/* Whether type t reaches enum e, through elements and struct fields. */
static bool type_reaches_enum(const dormc_type *t, const dormc_enum *e, const dormc_struct **seen, size_t *nseen) {
  if (t->kind == DORMC_T_ENUM) return t->enum_ == e;
  if (t->elem) return type_reaches_enum(t->elem, e, seen, nseen);
  if (t->kind != DORMC_T_STRUCT) return false;
  for (size_t i = 0; i < *nseen; i++)
    if (seen[i] == t->struct_) return false;
  seen[(*nseen)++] = t->struct_;
  for (size_t i = 0; i < t->struct_->nfields; i++)
    if (type_reaches_enum(&t->struct_->fields[i].type, e, seen, nseen)) return true;
  return false;
}

/* Whether a model of this file uses enum e: only then does the source need
 * its descriptor (an enum of endpoint payloads only is described by the
 * endpoint code, and an unused static would not compile). */
static bool models_reach_enum(gen_ctx *g, const dormc_enum *e) {
  const dormc_struct **seen = arena_alloc(&g->mem, (g->s->nstructs + 1) * sizeof *seen);
  size_t nseen = 0;
  for (size_t i = 0; i < g->s->nmodels; i++) {
    const dormc_model *m = &g->s->models[i];
    if (!gen_mine(g, &m->loc)) continue;
    for (size_t k = 0; k < m->nfields; k++)
      if (type_reaches_enum(&m->fields[k].type, e, seen, &nseen)) return true;
  }
  return false;
}

static void emit_enum_desc(gen_ctx *g, const dormc_enum *e, bool described) {
  P("DORMGEN_BEGIN\nDORMGEN_PRIVATE const char *const %s_values[] = {", e->c_name);
  for (size_t i = 0; i < e->nmembers; i++) P("%s%s", i ? ", " : "", gen_cstr(g, e->members[i].value));
  P("};\n");
  if (described)
    P("DORMGEN_PRIVATE const dorm_enum_desc %s_edesc = {%s, %s_values, %zu};\n", e->c_name, gen_cstr(g, e->name),
      e->c_name, e->nmembers);
  P("DORMGEN_END\n");
  P("const char *%s_to_string(%s v) {\n"
    "  return (int)v >= 1 && (int)v <= %zu ? %s_values[(int)v - 1] : NULL;\n}\n",
    e->c_name, e->c_name, e->nmembers, e->c_name);
  P("bool %s_from_string(const char *s, size_t len, %s *out) {\n"
    "  for (size_t i = 0; i < %zu; i++)\n"
    "    if (strlen(%s_values[i]) == len && memcmp(%s_values[i], s, len) == 0) {\n"
    "      *out = (%s)(i + 1);\n      return true;\n    }\n  return false;\n}\n\n",
    e->c_name, e->c_name, e->nmembers, e->c_name, e->c_name, e->c_name);
}

/* Struct descriptors reference each other; every struct of the schema that
 * this file's types reach gets a file-static copy named <c_name>_sdesc. */
static void emit_struct_desc(gen_ctx *g, emitted *e, const dormc_struct *st);

static void prepare_struct_refs(gen_ctx *g, emitted *e, const dormc_type *t) {
  if (t->kind == DORMC_T_STRUCT) emit_struct_desc(g, e, t->struct_);
  if (t->elem) prepare_struct_refs(g, e, t->elem);
}

static void prepare_enum_refs(gen_ctx *g, emitted *e, const dormc_type *t) {
  if (t->kind == DORMC_T_ENUM && !gen_mine(g, &t->enum_->loc)) {
    /* An imported enum: its descriptor is static in the other file, so
     * describe it again here. */
    const char *name = arena_printf(&g->mem, "%s_edesc", t->enum_->c_name);
    if (!was_emitted(g, e, name)) {
      const dormc_enum *en = t->enum_;
      P("DORMGEN_PRIVATE const char *const %s_values[] = {", en->c_name);
      for (size_t i = 0; i < en->nmembers; i++) P("%s%s", i ? ", " : "", gen_cstr(g, en->members[i].value));
      P("};\nDORMGEN_PRIVATE const dorm_enum_desc %s_edesc = {%s, %s_values, %zu};\n", en->c_name,
        gen_cstr(g, en->name), en->c_name, en->nmembers);
    }
  }
  if (t->elem) prepare_enum_refs(g, e, t->elem);
}

static void emit_struct_desc(gen_ctx *g, emitted *e, const dormc_struct *st) {
  const char *name = arena_printf(&g->mem, "%s_sdesc", st->c_name);
  if (was_emitted(g, e, name)) return;
  /* Members reached only through lists/maps may refer back to this struct:
   * declare first, define after the members' descriptors. */
  P("DORMGEN_PRIVATE const dorm_struct_desc %s;\n", name);
  for (size_t i = 0; i < st->nfields; i++) {
    prepare_struct_refs(g, e, &st->fields[i].type);
    prepare_enum_refs(g, e, &st->fields[i].type);
    prepare_type(g, e, &st->fields[i].type);
  }
  emit_defaults(g, st->c_name, st->fields, st->nfields);
  P("DORMGEN_PRIVATE const dorm_field_desc %s_fields[] = {\n", st->c_name);
  for (size_t i = 0; i < st->nfields; i++) field_desc(g, st->c_name, &st->fields[i], false, false);
  if (st->nfields == 0) P("  {NULL, {NULL, NULL}, {NULL, NULL}, {0, 0}, 0, 0, -1, {0, 0, 0, 0, NULL, NULL, NULL}, NULL},\n");
  P("};\n");
  P("DORMGEN_PRIVATE const dorm_struct_desc %s = {%s, (uint32_t)sizeof(%s), %s_fields, %zu};\n\n", name,
    gen_cstr(g, st->name), st->c_name, st->c_name, st->nfields);
}

static int32_t field_index(const dormc_model *m, const dormc_field *f) {
  for (size_t i = 0; i < m->nfields; i++)
    if (&m->fields[i] == f) return (int32_t)i;
  return -1;
}

static bool is_table_key_field(const dormc_model *m, const dormc_field *f) {
  const dormc_field *kf[GEN_MAX_KEYS];
  size_t n = gen_key_fields(m, kf, GEN_MAX_KEYS);
  for (size_t i = 0; i < n; i++)
    if (kf[i] == f) return true;
  return false;
}

static int32_t key_index(const dormc_key_binding *const *keys, size_t n, const char *attr) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(keys[i]->attr, attr) == 0) return (int32_t)i;
  return -1;
}

static char key_type_char(dormc_key_type t) { return t == DORMC_KEY_N ? 'N' : t == DORMC_KEY_B ? 'B' : 'S'; }

static void emit_model_desc(gen_ctx *g, emitted *e, const dormc_model *m) {
  const char *M = m->c_name;
  P("DORMGEN_BEGIN\n");
  for (size_t i = 0; i < m->nfields; i++) {
    prepare_struct_refs(g, e, &m->fields[i].type);
    prepare_enum_refs(g, e, &m->fields[i].type);
    prepare_type(g, e, &m->fields[i].type);
  }
  emit_defaults(g, M, m->fields, m->nfields);
  P("DORMGEN_PRIVATE const dorm_field_desc %s_fields[] = {\n", M);
  for (size_t i = 0; i < m->nfields; i++) field_desc(g, M, &m->fields[i], true, is_table_key_field(m, &m->fields[i]));
  if (m->nfields == 0) P("  {NULL, {NULL, NULL}, {NULL, NULL}, {0, 0}, 0, 0, -1, {0, 0, 0, 0, NULL, NULL, NULL}, NULL},\n");
  P("};\n");

  const dormc_key_binding *keys[GEN_MAX_KEYS];
  size_t nkeys = gen_model_keys(m, keys, GEN_MAX_KEYS);
  for (size_t k = 0; k < nkeys; k++) {
    if (keys[k]->field) continue;
    P("DORMGEN_PRIVATE const dorm_tpl_part %s_tpl%zu[] = {", M, k);
    for (size_t p = 0; p < keys[k]->nparts; p++) {
      const dormc_tpl_part *part = &keys[k]->parts[p];
      if (part->kind == DORMC_TPL_LITERAL)
        P("%s{%s, %zu, -1}", p ? ", " : "", gen_cstr(g, part->text), strlen(part->text));
      else
        P("%s{NULL, 0, %d}", p ? ", " : "", (int)field_index(m, part->field));
    }
    if (keys[k]->nparts == 0) P("{\"\", 0, -1}");
    P("};\n");
  }
  P("DORMGEN_PRIVATE const dorm_key_desc %s_keys[] = {\n", M);
  for (size_t k = 0; k < nkeys; k++) {
    size_t jl = 0;
    const char *jk = gen_json_key_lit(g, keys[k]->attr, &jl);
    if (keys[k]->field)
      P("  {%s, %s, %zu, '%c', %d, NULL, 0},\n", gen_cstr(g, keys[k]->attr), jk, jl, key_type_char(keys[k]->type),
        (int)field_index(m, keys[k]->field));
    else
      P("  {%s, %s, %zu, '%c', -1, %s_tpl%zu, %zu},\n", gen_cstr(g, keys[k]->attr), jk, jl,
        key_type_char(keys[k]->type), M, k, keys[k]->nparts ? keys[k]->nparts : 1);
  }
  P("};\n");

  size_t nq;
  gen_query *q = gen_queries(g, m, &nq);
  P("DORMGEN_PRIVATE const dorm_index_desc %s_indexes[] = {\n", M);
  for (size_t i = 0; i < nq; i++) {
    const dormc_index *ix = q[i].index;
    int proj = ix ? (ix->projection == DORMC_PROJECT_ALL ? 0 : ix->projection == DORMC_PROJECT_KEYS_ONLY ? 1 : 2) : 0;
    P("  {%s, %s, %d, %d, %d},\n", ix ? gen_cstr(g, ix->name) : "NULL",
      !ix ? "DORM_INDEX_TABLE" : ix->kind == DORMC_GSI ? "DORM_INDEX_GSI" : "DORM_INDEX_LSI", proj,
      (int)key_index(keys, nkeys, q[i].pk->attr), q[i].sk ? (int)key_index(keys, nkeys, q[i].sk->attr) : -1);
  }
  P("};\nDORMGEN_END\n");
  P("const dorm_model_desc %s_desc = {\n", M);
  P("  %s, %s, %s, %s,\n", gen_cstr(g, m->name), gen_cstr(g, m->table->physical_name),
    m->entity_type ? gen_cstr(g, m->entity_type) : "NULL",
    m->naming == DORMC_NAMING_SNAKE ? "DORM_NAMING_SNAKE" : "DORM_NAMING_CAMEL");
  P("  (uint32_t)sizeof(%s), %s_fields, %zu,\n", M, M, m->nfields);
  P("  %s_keys, %zu, %d,\n", M, nkeys, m->sk ? 2 : 1);
  P("  %s_indexes, %zu,\n", M, nq);
  P("  %d, %d, %d, %d,\n", m->created_at ? (int)field_index(m, m->created_at) : -1,
    m->updated_at ? (int)field_index(m, m->updated_at) : -1, m->version ? (int)field_index(m, m->version) : -1,
    m->ttl ? (int)field_index(m, m->ttl) : -1);
  /* encrypted fields and the schema's KMS key (sema allows one per model;
   * NULL: the key configured at run time) */
  size_t nenc = 0;
  const char *kms_key = NULL;
  for (size_t i = 0; i < m->nfields; i++)
    if (m->fields[i].encrypted) {
      nenc++;
      if (!kms_key) kms_key = m->fields[i].kms_key;
    }
  P("  %zu, %s\n};\n\n", nenc, kms_key ? gen_cstr(g, kms_key) : "NULL");
}

/* Copies the fields of a binding from a typed source into a model struct. */
static void copy_fields(gen_ctx *g, const dormc_field *const *f, size_t n, const char *dst, const char *src,
                        const char *suffix) {
  for (size_t i = 0; i < n; i++) {
    if (f[i]->optional && !gen_is_pointer_kind(f[i]->type.kind)) P("  %s.has_%s = true;\n", dst, f[i]->name);
    P("  %s.%s = %s%s%s;\n", dst, f[i]->name, src, f[i]->name, suffix);
  }
}

static void emit_key_copy(gen_ctx *g, const dormc_model *m, const char *dst, const char *key) {
  const dormc_field *kf[GEN_MAX_KEYS];
  size_t n = gen_key_fields(m, kf, GEN_MAX_KEYS);
  P("  %s %s;\n  memset(&%s, 0, sizeof %s);\n", m->c_name, dst, dst, dst);
  copy_fields(g, kf, n, dst, arena_printf(&g->mem, "%s->", key), "");
  if (n == 0) P("  (void)%s;\n", key);
}

static void emit_queries(gen_ctx *g, const dormc_model *m) {
  const char *M = m->c_name;
  size_t nq;
  gen_query *q = gen_queries(g, m, &nq);
  /* A query's key structs and sort-key condition (filled by dormgen_<M>_prep_<query>; the
   * prefix keeps these file-local names clear of the schema's). */
  if (nq)
    P("typedef struct dormgen_%s_prep {\n  %s pk, lo, hi;\n  dorm_sk_cond cond;\n} dormgen_%s_prep;\n", M, M, M);
  for (size_t i = 0; i < nq; i++) {
    const dormc_field *pf[GEN_MAX_KEYS], *sf[GEN_MAX_KEYS];
    size_t np = gen_binding_fields(q[i].pk, pf, GEN_MAX_KEYS);
    size_t ns = gen_binding_fields(q[i].sk, sf, GEN_MAX_KEYS);
    strbuf params = {0};
    for (size_t k = 0; k < np; k++) {
      const dormc_type *t = &pf[k]->type;
      bool ptr = t->kind == DORMC_T_STRUCT || t->kind == DORMC_T_SET || t->kind == DORMC_T_LIST ||
                 t->kind == DORMC_T_MAP;
      const char *ct = gen_ctype(g, t);
      sb_printf(&params, ", %s%s%s%s", ptr ? "const " : "", ct, ptr ? " *" : (ct[strlen(ct) - 1] == '*' ? "" : " "),
                gen_param_name(g, pf[k]->name));
    }
    char *ptext = sb_take(&params, NULL);
    const char *skt = q[i].sk ? arena_printf(&g->mem, "%s_%s_sk", M, q[i].name) : "dorm_sk_cond";
    /* The partition key and sort-key condition, once for the three forms. */
    P("static const dorm_sk_cond *dormgen_%s_prep_%s(dormgen_%s_prep *q%s, const %s *sk) {\n"
      "  memset(q, 0, sizeof *q);\n", M, q[i].name, M, ptext ? ptext : "", skt);
    for (size_t k = 0; k < np; k++) {
      if (pf[k]->optional && !gen_is_pointer_kind(pf[k]->type.kind)) P("  q->pk.has_%s = true;\n", pf[k]->name);
      bool ptr = pf[k]->type.kind == DORMC_T_STRUCT || pf[k]->type.kind == DORMC_T_SET ||
                 pf[k]->type.kind == DORMC_T_LIST || pf[k]->type.kind == DORMC_T_MAP;
      P("  q->pk.%s = %s%s;\n", pf[k]->name, ptr ? "*" : "", gen_param_name(g, pf[k]->name));
    }
    if (q[i].sk) {
      P("  if (!sk || sk->op == DORM_SK_NONE) return NULL;\n");
      for (size_t k = 0; k < ns; k++) {
        if (sf[k]->optional && !gen_is_pointer_kind(sf[k]->type.kind))
          P("  q->lo.has_%s = true;\n  q->hi.has_%s = true;\n", sf[k]->name, sf[k]->name);
        P("  q->lo.%s = sk->%s;\n  q->hi.%s = sk->%s_to;\n", sf[k]->name, sf[k]->name, sf[k]->name, sf[k]->name);
      }
      P("  q->cond.op = sk->op;\n  q->cond.lo = &q->lo;\n  q->cond.hi = &q->hi;\n  q->cond.prefix = sk->prefix;\n"
        "  return &q->cond;\n}\n");
    } else {
      P("  return sk;\n}\n");
    }
    /* the arguments again, as a call's: ", customerId" */
    strbuf argv = {0};
    for (size_t k = 0; k < np; k++) sb_printf(&argv, ", %s", gen_param_name(g, pf[k]->name));
    char *atext = sb_take(&argv, NULL);
    /* count: 0 one page, 1 the count, 2 every page to a callback */
    for (int count = 0; count < 3; count++) {
      if (count == 2)
        P("dorm_status %s_%s_each(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts,\n"
          "    %s_items_fn on_items, void *user) {\n",
          M, q[i].name, ptext ? ptext : "", skt, M);
      else if (count)
        P("dorm_status %s_%s_count(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts,\n"
          "    uint64_t *count) {\n",
          M, q[i].name, ptext ? ptext : "", skt);
      else
        P("dorm_status %s_%s(dorm_client *c%s, const %s *sk, const dorm_query_opts *opts, dorm_arena *a,\n"
          "    %s_page *page) {\n",
          M, q[i].name, ptext ? ptext : "", skt, M);
      P("  dormgen_%s_prep q;\n  const dorm_sk_cond *condp = dormgen_%s_prep_%s(&q%s, sk);\n", M, M, q[i].name,
        atext ? atext : "");
      if (count == 2) {
        P("  %s_items_tramp t;\n  t.fn = on_items;\n  t.user = user;\n"
          "  return dorm_model_each(c, &%s_desc, %u, &q.pk, condp, opts, %s_items_cb, &t);\n}\n",
          M, M, q[i].desc_index, M);
      } else if (count) {
        P("  return dorm_model_count(c, &%s_desc, %u, &q.pk, condp, opts, count);\n}\n", M, q[i].desc_index);
      } else {
        P("  dorm_model_page mp;\n");
        P("  dorm_status st = dorm_model_query(c, &%s_desc, %u, &q.pk, condp, opts, a, &mp);\n", M, q[i].desc_index);
        P("  page->items = (%s *)mp.items;\n  page->count = mp.count;\n  page->scanned_count = mp.scanned_count;\n"
          "  page->has_more = mp.has_more;\n  page->cursor = mp.cursor;\n  return st;\n}\n",
          M);
      }
    }
    free(atext);
    free(ptext);
  }
}

static void emit_wrappers(gen_ctx *g, const dormc_model *m) {
  const char *M = m->c_name;
  const char *D = arena_printf(&g->mem, "&%s_desc", M);
  P("dorm_status %s_put(dorm_client *c, %s *o, const dorm_write_opts *opts, dorm_arena *a) {\n"
    "  return dorm_model_put(c, %s, o, false, opts, a);\n}\n", M, M, D);
  P("dorm_status %s_create(dorm_client *c, %s *o, const dorm_write_opts *opts, dorm_arena *a) {\n"
    "  return dorm_model_put(c, %s, o, true, opts, a);\n}\n", M, M, D);
  P("dorm_status %s_get(dorm_client *c, const %s_key *key, const dorm_get_opts *opts, dorm_arena *a,\n"
    "    %s *out) {\n", M, M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_model_get(c, %s, &k, opts, a, out);\n}\n", D);
  P("dorm_status %s_delete(dorm_client *c, const %s_key *key, const dorm_write_opts *opts, dorm_arena *a) {\n", M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_model_delete(c, %s, &k, opts, a);\n}\n", D);
  P("void %s_update_begin(dorm_model_update *u, dorm_arena *a) {\n  dorm_model_update_init(u, %s, a);\n}\n", M, D);
  P("dorm_status %s_update(dorm_client *c, const %s_key *key, dorm_model_update *u,\n"
    "    const dorm_update_opts *opts, dorm_arena *a, %s *new_out) {\n", M, M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_model_update_exec(c, %s, &k, u, opts, a, new_out);\n}\n", D);
  P("dorm_status %s_update_fields(dorm_client *c, %s *o, const %s_field *fields, size_t n,\n"
    "    const dorm_write_opts *opts, dorm_arena *a) {\n"
    "  uint32_t ids[%zu];\n"
    "  if (n > %zu) return dorm_model_update_fields(c, %s, o, NULL, n, opts, a); /* refused, saying why */\n"
    "  for (size_t i = 0; i < n; i++) ids[i] = (uint32_t)fields[i];\n"
    "  return dorm_model_update_fields(c, %s, o, ids, n, opts, a);\n}\n",
    M, M, M, m->nfields ? m->nfields : 1, m->nfields, D, D);
  P("dorm_status %s_update_object(dorm_client *c, %s *o, dorm_model_update *u, dorm_arena *a) {\n"
    "  %s k = *o;\n"
    "  dorm_update_opts opts;\n  memset(&opts, 0, sizeof opts);\n", M, M, M);
  if (m->version) P("  opts.w.check_version = true;\n  opts.w.expected_version = o->%s;\n", m->version->name);
  P("  opts.return_new = true;\n"
    "  return dorm_model_update_exec(c, %s, &k, u, &opts, a, o);\n}\n", D);
  P("typedef struct %s_items_tramp {\n  %s_items_fn fn;\n  void *user;\n} %s_items_tramp;\n", M, M, M);
  P("static dorm_status %s_items_cb(void *user, const void *items, size_t count) {\n"
    "  %s_items_tramp *t = (%s_items_tramp *)user;\n"
    "  return t->fn(t->user, (const %s *)items, count);\n}\n", M, M, M, M);
  emit_queries(g, m);
  P("dorm_status %s_scan(dorm_client *c, const dorm_query_opts *opts, dorm_arena *a, %s_page *page) {\n"
    "  dorm_model_page mp;\n"
    "  dorm_status st = dorm_model_scan(c, %s, 0, opts, a, &mp);\n"
    "  page->items = (%s *)mp.items;\n  page->count = mp.count;\n  page->scanned_count = mp.scanned_count;\n"
    "  page->has_more = mp.has_more;\n  page->cursor = mp.cursor;\n  return st;\n}\n",
    M, M, D, M);
  P("dorm_status %s_count(dorm_client *c, const dorm_query_opts *opts, uint64_t *count) {\n"
    "  return dorm_model_count(c, %s, 0, NULL, NULL, opts, count);\n}\n", M, D);
  P("dorm_status %s_scan_each(dorm_client *c, const dorm_query_opts *opts, %s_items_fn on_items, void *user) {\n"
    "  %s_items_tramp t;\n  t.fn = on_items;\n  t.user = user;\n"
    "  return dorm_model_each(c, %s, 0, NULL, NULL, opts, %s_items_cb, &t);\n}\n",
    M, M, M, D, M);
  P("dorm_status %s_scan_parallel(dorm_client *c, const dorm_query_opts *opts, uint32_t segments,\n"
    "    uint32_t workers, %s_items_fn on_items, void *user) {\n"
    "  %s_items_tramp t;\n  t.fn = on_items;\n  t.user = user;\n"
    "  return dorm_model_scan_parallel(c, %s, opts, segments, workers, %s_items_cb, &t);\n}\n",
    M, M, M, D, M);

  const dormc_field *kf[GEN_MAX_KEYS];
  size_t nk = gen_key_fields(m, kf, GEN_MAX_KEYS);
  /* Keys become model structs (the layout the library renders keys from). */
  P("static %s *%s_keys_to_objs(const %s_key *keys, size_t n, dorm_arena *a) {\n"
    "  %s *objs = (%s *)dorm_arena_calloc(a, n ? n : 1, sizeof(%s));\n"
    "  if (!objs) return NULL;\n"
    "  for (size_t i = 0; i < n; i++) {\n",
    M, M, M, M, M, M);
  for (size_t i = 0; i < nk; i++) {
    if (kf[i]->optional && !gen_is_pointer_kind(kf[i]->type.kind)) P("    objs[i].has_%s = true;\n", kf[i]->name);
    P("    objs[i].%s = keys[i].%s;\n", kf[i]->name, kf[i]->name);
  }
  if (nk == 0) P("    (void)keys;\n");
  P("  }\n  return objs;\n}\n");
  P("dorm_status %s_batch_get(dorm_client *c, const %s_key *keys, size_t n, bool consistent_read,\n"
    "    dorm_arena *a, %s *out, bool *found) {\n"
    "  %s *objs = %s_keys_to_objs(keys, n, a);\n"
    "  if (!objs) return DORM_ERR_NO_MEMORY;\n"
    "  return dorm_model_batch_get(c, %s, objs, n, consistent_read, a, out, found);\n}\n",
    M, M, M, M, M, D);
  P("dorm_status %s_batch_put(dorm_client *c, %s *objs, size_t n, dorm_arena *a) {\n"
    "  return dorm_model_batch_put(c, %s, objs, n, a);\n}\n", M, M, D);
  P("dorm_status %s_batch_delete(dorm_client *c, const %s_key *keys, size_t n, dorm_arena *a) {\n"
    "  %s *objs = %s_keys_to_objs(keys, n, a);\n"
    "  if (!objs) return DORM_ERR_NO_MEMORY;\n"
    "  return dorm_model_batch_delete(c, %s, objs, n, a);\n}\n",
    M, M, M, M, D);
  P("int %s_tx_put(dorm_tx *tx, %s *o, const dorm_write_opts *opts) {\n"
    "  return dorm_tx_index(tx, dorm_tx_put(tx, %s, o, false, opts));\n}\n", M, M, D);
  P("int %s_tx_create(dorm_tx *tx, %s *o, const dorm_write_opts *opts) {\n"
    "  return dorm_tx_index(tx, dorm_tx_put(tx, %s, o, true, opts));\n}\n", M, M, D);
  P("int %s_tx_update(dorm_tx *tx, const %s_key *key, dorm_model_update *u,\n"
    "    const dorm_write_opts *opts) {\n", M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_tx_index(tx, dorm_tx_update(tx, %s, &k, u, opts));\n}\n", D);
  P("int %s_tx_delete(dorm_tx *tx, const %s_key *key, const dorm_write_opts *opts) {\n", M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_tx_index(tx, dorm_tx_delete(tx, %s, &k, opts));\n}\n", D);
  P("int %s_tx_check(dorm_tx *tx, const %s_key *key, const dorm_write_opts *opts) {\n", M, M);
  emit_key_copy(g, m, "k", "key");
  P("  return dorm_tx_index(tx, dorm_tx_check(tx, %s, &k, opts));\n}\n", D);
  P("dorm_status %s_from_item(const dorm_av *item, unsigned flags, dorm_arena *a, %s *out, char *errbuf,\n"
    "    size_t errcap) {\n  return dorm_model_from_av(%s, item, flags, a, out, errbuf, errcap);\n}\n", M, M, D);
  P("dorm_status %s_to_item(const %s *o, dorm_arena *a, dorm_av *item, char *errbuf, size_t errcap) {\n"
    "  return dorm_model_to_av(%s, o, a, item, errbuf, errcap);\n}\n", M, M, D);
  P("bool %s_is(const dorm_av *item) {\n  return dorm_model_is(%s, item);\n}\n\n", M, D);
}

static const char *key_type_const(dormc_key_type t) {
  return t == DORMC_KEY_N ? "DORM_KEY_N" : t == DORMC_KEY_B ? "DORM_KEY_B" : "DORM_KEY_S";
}

static const char *key_attr_init(gen_ctx *g, const dormc_key_attr *k) {
  if (!k->attr) return "{NULL, DORM_KEY_NONE}";
  return arena_printf(&g->mem, "{%s, %s}", gen_cstr(g, k->attr), key_type_const(k->type));
}

static const char *projection_init(gen_ctx *g, const dormc_index *ix, const char *attrs_name) {
  if (ix->projection == DORMC_PROJECT_KEYS_ONLY) return "{DORM_PROJECT_KEYS_ONLY, NULL, 0}";
  if (ix->projection == DORMC_PROJECT_INCLUDE)
    return arena_printf(&g->mem, "{DORM_PROJECT_INCLUDE, %s, %zu}", attrs_name, ix->ninclude);
  return "{DORM_PROJECT_ALL, NULL, 0}";
}

static const char *stream_const(dormc_stream s) {
  switch (s) {
  case DORMC_STREAM_KEYS_ONLY: return "DORM_STREAM_KEYS_ONLY";
  case DORMC_STREAM_NEW_IMAGE: return "DORM_STREAM_NEW_IMAGE";
  case DORMC_STREAM_OLD_IMAGE: return "DORM_STREAM_OLD_IMAGE";
  case DORMC_STREAM_NEW_AND_OLD_IMAGES: return "DORM_STREAM_NEW_AND_OLD_IMAGES";
  default: return "DORM_STREAM_NONE";
  }
}

static void emit_include_attrs(gen_ctx *g, const dormc_index *ix, const char *name) {
  if (ix->projection != DORMC_PROJECT_INCLUDE) return;
  P("DORMGEN_PRIVATE const char *const %s[] = {", name);
  for (size_t i = 0; i < ix->ninclude; i++) P("%s%s", i ? ", " : "", gen_cstr(g, ix->include[i]));
  P("};\n");
}

static void emit_table(gen_ctx *g, const dormc_table *t) {
  const char *T = gen_table_cname(g, t);
  bool prov = t->billing == DORMC_BILLING_PROVISIONED;
  const char *tp = prov ? arena_printf(&g->mem, "{%lld, %lld}", (long long)t->read_capacity,
                                       (long long)t->write_capacity)
                        : "{0, 0}";
  P("DORMGEN_BEGIN\n");
  for (size_t i = 0; i < t->ngsis; i++)
    emit_include_attrs(g, &t->gsis[i], arena_printf(&g->mem, "%s_gsi%zu_attrs", T, i));
  for (size_t i = 0; i < t->nlsis; i++)
    emit_include_attrs(g, &t->lsis[i], arena_printf(&g->mem, "%s_lsi%zu_attrs", T, i));
  if (t->ngsis) {
    P("DORMGEN_PRIVATE const dorm_gsi_def %s_gsis[] = {\n", T);
    for (size_t i = 0; i < t->ngsis; i++) {
      const dormc_index *ix = &t->gsis[i];
      P("  {%s, %s, %s, %s, %s},\n", gen_cstr(g, ix->name), key_attr_init(g, &ix->pk), key_attr_init(g, &ix->sk),
        projection_init(g, ix, arena_printf(&g->mem, "%s_gsi%zu_attrs", T, i)), tp);
    }
    P("};\n");
  }
  if (t->nlsis) {
    P("DORMGEN_PRIVATE const dorm_lsi_def %s_lsis[] = {\n", T);
    for (size_t i = 0; i < t->nlsis; i++) {
      const dormc_index *ix = &t->lsis[i];
      P("  {%s, %s, %s},\n", gen_cstr(g, ix->name), key_attr_init(g, &ix->sk),
        projection_init(g, ix, arena_printf(&g->mem, "%s_lsi%zu_attrs", T, i)));
    }
    P("};\n");
  }
  P("DORMGEN_END\n");
  P("const dorm_model_table %s = {\n  {%s, %s, %s, %s, %s,\n   %s%s, %zu, %s%s, %zu, %s, false},\n  %s\n};\n",
    T, gen_cstr(g, t->physical_name), key_attr_init(g, &t->pk), key_attr_init(g, &t->sk),
    prov ? "DORM_BILLING_PROVISIONED" : "DORM_BILLING_ON_DEMAND", tp, t->ngsis ? T : "NULL",
    t->ngsis ? "_gsis" : "", t->ngsis, t->nlsis ? T : "NULL", t->nlsis ? "_lsis" : "", t->nlsis,
    stream_const(t->stream), t->ttl_attr ? gen_cstr(g, t->ttl_attr) : "NULL");
  P("dorm_status %s_ensure(dorm_client *c, long timeout_ms) {\n"
    "  return dorm_model_table_ensure(c, &%s, timeout_ms);\n}\n\n", T, T);
}

void gen_model_source(gen_ctx *g) {
  const dormc_schema *s = g->s;
  const char *slash = strrchr(g->file, '/');
  P("/* Generated by dormc from %s. Do not edit: change the schema and run `dormc gen`. */\n",
    slash ? slash + 1 : g->file);
  P("#include \"%s_models.h\"\n\n#include <stddef.h>\n#include <string.h>\n\n", g->base);
  P("/* The descriptor tables are private to this file. C++ cannot forward-declare\n"
    " * a static object (recursive structs need that), so there they live in an\n"
    " * unnamed namespace. */\n"
    "#ifdef __cplusplus\n#define DORMGEN_PRIVATE extern\n#define DORMGEN_BEGIN namespace {\n#define DORMGEN_END }\n"
    "#else\n#define DORMGEN_PRIVATE static\n#define DORMGEN_BEGIN\n#define DORMGEN_END\n#endif\n\n");
  emitted e = {0};
  for (size_t i = 0; i < s->nenums; i++) {
    if (!gen_mine(g, &s->enums[i].loc)) continue;
    emit_enum_desc(g, &s->enums[i], models_reach_enum(g, &s->enums[i]));
    was_emitted(g, &e, arena_printf(&g->mem, "%s_edesc", s->enums[i].c_name));
  }
  for (size_t i = 0; i < s->nmodels; i++) {
    if (!gen_mine(g, &s->models[i].loc)) continue;
    P("/* ---- %s ---- */\n\n", s->models[i].name);
    emit_model_desc(g, &e, &s->models[i]);
    emit_wrappers(g, &s->models[i]);
  }
  for (size_t i = 0; i < s->ntables; i++) {
    if (!gen_table_mine(g, &s->tables[i])) continue;
    P("/* ---- table %s ---- */\n\n", s->tables[i].name);
    emit_table(g, &s->tables[i]);
  }
}

/* ---- shared with the endpoint generator (see gen_model.h) ---- */

struct gen_desc_set {
  emitted e;
};

gen_desc_set *gen_desc_set_new(gen_ctx *g) { return arena_alloc(&g->mem, sizeof(gen_desc_set)); }

void gen_desc_prepare(gen_ctx *g, gen_desc_set *e, const dormc_type *t) {
  prepare_struct_refs(g, &e->e, t);
  prepare_enum_refs(g, &e->e, t);
  prepare_type(g, &e->e, t);
}

void gen_desc_field(gen_ctx *g, const char *cstruct, const dormc_field *f) { field_desc(g, cstruct, f, true, false); }
