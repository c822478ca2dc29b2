/* gen_model_types: C names and shapes of .dorm types, the containers a file
 * needs, struct order, and the per-model facts both halves of the generator
 * share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_model.h"

bool gen_mine(const gen_ctx *g, const dormc_loc *loc) {
  return loc->file && strcmp(loc->file, g->file) == 0;
}

bool gen_is_pointer_kind(dormc_type_kind k) {
  return k == DORMC_T_STRING || k == DORMC_T_DECIMAL || k == DORMC_T_JSON || k == DORMC_T_BYTES;
}

void gen_fail(gen_ctx *g, dormc_loc loc, const char *fmt, ...) {
  if (g->failed) return;
  g->failed = true;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!loc.file) loc.file = g->file;
  diag_error(g->comp, loc, "%s", msg);
  diag_flush(g->comp);
}

void gen_declare(gen_ctx *g, const char *name, const char *what, const dormc_loc *loc) {
  const char *key = arena_strdup(&g->mem, name);
  const char *val = arena_strdup(&g->mem, what);
  const char *prev = symtab_put(&g->mem, &g->names, key, (void *)val);
  if (!prev) return;
  dormc_loc at = loc && loc->file ? *loc : (dormc_loc){.file = g->file};
  gen_fail(g, at,
           "the generated C name %s would be declared twice: for %s and for %s; rename one of them (a field keeps "
           "its stored attribute with @name)",
           name, prev, what);
}

char *gen_ident(gen_ctx *g, const char *text) {
  size_t n = strlen(text);
  char *s = arena_strndup(&g->mem, text, n);
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) s[i] = '_';
  }
  return s;
}

const char *gen_param_name(gen_ctx *g, const char *field) {
  /* the query functions' own parameters (gen_model_h.c, gen_model_c.c) and
   * their prep function's and bodies' locals: a key field of the same name
   * (`user: string @pk`) made the generated code fail to compile */
  static const char *const taken[] = {"c", "sk", "opts", "a", "page", "count", "on_items", "user",
                                      "q", "condp", "mp", "st", "t"};
  const char *name = field;
  for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
    if (strcmp(name, taken[i]) == 0) {
      name = arena_printf(&g->mem, "%s_", name);
      i = (size_t)-1; /* "t_" is free, but look again */
    }
  }
  return name;
}

char *gen_upper(gen_ctx *g, const char *text) {
  char *s = arena_strdup(&g->mem, text);
  for (char *p = s; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  return s;
}

/* Appends text as the inside of a C string literal. Non-ASCII bytes are
 * written as octal escapes so the generated file is plain ASCII. */
static void put_c_escaped(strbuf *b, const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    unsigned c = *p;
    if (c == '"' || c == '\\') {
      sb_putc(b, '\\');
      sb_putc(b, (char)c);
    } else if (c == '?') {
      sb_puts(b, "\\?"); /* no trigraphs, ever */
    } else if (c >= 0x20 && c < 0x7f) {
      sb_putc(b, (char)c);
    } else {
      sb_printf(b, "\\%03o", c);
    }
  }
}

char *gen_cstr(gen_ctx *g, const char *text) {
  strbuf b = {0};
  sb_putc(&b, '"');
  put_c_escaped(&b, text);
  sb_putc(&b, '"');
  char *t = sb_take(&b, NULL);
  char *s = t ? arena_strdup(&g->mem, t) : arena_strdup(&g->mem, "\"\"");
  free(t);
  return s;
}

char *gen_comment_cstr(gen_ctx *g, const char *text) {
  char *lit = gen_cstr(g, text);
  size_t n = 0;
  for (const char *p = lit; (p = strstr(p, "*/")) != NULL; p += 2) n++;
  if (!n) return lit;
  char *out = arena_alloc(&g->mem, strlen(lit) + n + 1), *o = out;
  for (const char *p = lit; *p; p++) {
    *o++ = *p;
    if (p[0] == '*' && p[1] == '/') *o++ = '\\';
  }
  *o = '\0';
  return out;
}

char *gen_json_key_lit(gen_ctx *g, const char *attr, size_t *wire_len) {
  /* First the JSON text ("attr": with JSON escapes), then that as a C literal. */
  strbuf j = {0};
  sb_putc(&j, '"');
  for (const unsigned char *p = (const unsigned char *)attr; *p; p++) {
    unsigned c = *p;
    if (c == '"' || c == '\\') {
      sb_putc(&j, '\\');
      sb_putc(&j, (char)c);
    } else if (c < 0x20) {
      sb_printf(&j, "\\u%04x", c);
    } else {
      sb_putc(&j, (char)c);
    }
  }
  sb_puts(&j, "\":");
  size_t len = 0;
  char *json = sb_take(&j, &len);
  if (!json) return arena_strdup(&g->mem, "\"\"");
  *wire_len = len;
  char *lit = gen_cstr(g, json);
  free(json);
  return lit;
}

const char *gen_mangle(gen_ctx *g, const dormc_type *t) {
  const char *inner;
  switch (t->kind) {
  case DORMC_T_STRING: inner = "string"; break;
  case DORMC_T_INT: inner = "int"; break;
  case DORMC_T_FLOAT: inner = "float"; break;
  case DORMC_T_DECIMAL: inner = "decimal"; break;
  case DORMC_T_BOOL: inner = "bool"; break;
  case DORMC_T_BYTES: inner = "bytes"; break;
  case DORMC_T_TIME: inner = "time"; break;
  case DORMC_T_EPOCH: inner = "epoch"; break;
  case DORMC_T_JSON: inner = "json"; break;
  case DORMC_T_ENUM: inner = t->enum_->name; break;
  case DORMC_T_STRUCT: inner = t->struct_->name; break;
  case DORMC_T_SET: inner = arena_printf(&g->mem, "set_%s", gen_mangle(g, t->elem)); break;
  case DORMC_T_LIST: inner = arena_printf(&g->mem, "list_%s", gen_mangle(g, t->elem)); break;
  case DORMC_T_MAP: inner = arena_printf(&g->mem, "map_%s", gen_mangle(g, t->elem)); break;
  default: inner = "unknown"; break;
  }
  if (t->optional && !gen_is_pointer_kind(t->kind)) return arena_printf(&g->mem, "opt_%s", inner);
  return inner;
}

const char *gen_ctype(gen_ctx *g, const dormc_type *t) {
  switch (t->kind) {
  case DORMC_T_STRING:
  case DORMC_T_DECIMAL:
  case DORMC_T_JSON: return "const char *";
  case DORMC_T_INT:
  case DORMC_T_TIME:
  case DORMC_T_EPOCH: return "int64_t";
  case DORMC_T_FLOAT: return "double";
  case DORMC_T_BOOL: return "bool";
  case DORMC_T_BYTES: return "dorm_bytes";
  case DORMC_T_ENUM: return t->enum_->c_name;
  case DORMC_T_STRUCT: return t->struct_->c_name;
  case DORMC_T_SET:
  case DORMC_T_LIST:
  case DORMC_T_MAP: {
    dormc_type plain = *t;
    plain.optional = false;
    return arena_printf(&g->mem, "%s_%s", g->prefix, gen_mangle(g, &plain));
  }
  }
  return "void";
}

const char *gen_elem_ctype(gen_ctx *g, const dormc_type *elem) {
  if (!elem->optional || gen_is_pointer_kind(elem->kind)) return gen_ctype(g, elem);
  switch (elem->kind) {
  case DORMC_T_INT:
  case DORMC_T_TIME:
  case DORMC_T_EPOCH: return "dorm_opt_i64";
  case DORMC_T_FLOAT: return "dorm_opt_f64";
  case DORMC_T_BOOL: return "dorm_opt_bool";
  case DORMC_T_ENUM: return "dorm_opt_enum";
  default: return arena_printf(&g->mem, "%s_%s", g->prefix, gen_mangle(g, elem));
  }
}

/* Records a container (or wrapper) once, after what it depends on. */
static void collect_type(gen_ctx *g, const dormc_type *t);

static void add_container(gen_ctx *g, const dormc_type *t, bool wrapper, const char *cname) {
  for (size_t i = 0; i < g->ncontainers; i++)
    if (strcmp(g->containers[i].cname, cname) == 0) return;
  if (g->ncontainers == g->capcontainers) {
    size_t cap = g->capcontainers ? g->capcontainers * 2 : 16;
    gen_container *bigger = arena_alloc(&g->mem, cap * sizeof *bigger);
    if (g->ncontainers) memcpy(bigger, g->containers, g->ncontainers * sizeof *bigger);
    g->containers = bigger;
    g->capcontainers = cap;
  }
  gen_container *c = &g->containers[g->ncontainers++];
  c->type = t;
  c->wrapper = wrapper;
  c->cname = arena_strdup(&g->mem, cname);
}

static void collect_type(gen_ctx *g, const dormc_type *t) {
  if (t->kind != DORMC_T_SET && t->kind != DORMC_T_LIST && t->kind != DORMC_T_MAP) return;
  const dormc_type *e = t->elem;
  collect_type(g, e);
  if (e->optional && !gen_is_pointer_kind(e->kind) &&
      (e->kind == DORMC_T_STRUCT || e->kind == DORMC_T_SET || e->kind == DORMC_T_LIST ||
       e->kind == DORMC_T_MAP))
    add_container(g, e, true, gen_elem_ctype(g, e));
  add_container(g, t, false, gen_ctype(g, t));
}

void gen_collect_containers(gen_ctx *g) {
  const dormc_schema *s = g->s;
  for (size_t i = 0; i < s->nstructs; i++) {
    if (!gen_mine(g, &s->structs[i].loc)) continue;
    for (size_t k = 0; k < s->structs[i].nfields; k++) collect_type(g, &s->structs[i].fields[k].type);
  }
  for (size_t i = 0; i < s->nmodels; i++) {
    if (!gen_mine(g, &s->models[i].loc)) continue;
    for (size_t k = 0; k < s->models[i].nfields; k++) collect_type(g, &s->models[i].fields[k].type);
  }
}

/* Depth-first over by-value struct members (plain or optional struct fields). */
static void visit_struct(gen_ctx *g, const dormc_struct *st, const dormc_struct **out, size_t *n, size_t cap,
                         const dormc_struct **seen, size_t *nseen) {
  for (size_t i = 0; i < *nseen; i++)
    if (seen[i] == st) return;
  seen[(*nseen)++] = st;
  for (size_t k = 0; k < st->nfields; k++) {
    const dormc_type *t = &st->fields[k].type;
    if (t->kind == DORMC_T_STRUCT) visit_struct(g, t->struct_, out, n, cap, seen, nseen);
  }
  if (gen_mine(g, &st->loc) && *n < cap) out[(*n)++] = st;
}

const dormc_struct **gen_struct_order(gen_ctx *g, size_t *n) {
  size_t cap = g->s->nstructs;
  const dormc_struct **out = arena_alloc(&g->mem, (cap + 1) * sizeof *out);
  const dormc_struct **seen = arena_alloc(&g->mem, (cap + 1) * sizeof *seen);
  size_t nseen = 0;
  *n = 0;
  for (size_t i = 0; i < cap; i++) visit_struct(g, &g->s->structs[i], out, n, cap, seen, &nseen);
  return out;
}

size_t gen_binding_fields(const dormc_key_binding *b, const dormc_field **out, size_t cap) {
  size_t n = 0;
  if (!b) return 0;
  if (b->field) {
    if (cap) out[n++] = b->field;
    return n;
  }
  for (size_t i = 0; i < b->nparts; i++) {
    if (b->parts[i].kind != DORMC_TPL_FIELD) continue;
    bool dup = false;
    for (size_t k = 0; k < n; k++) dup |= out[k] == b->parts[i].field;
    if (!dup && n < cap) out[n++] = b->parts[i].field;
  }
  return n;
}

size_t gen_key_fields(const dormc_model *m, const dormc_field **out, size_t cap) {
  size_t n = gen_binding_fields(m->pk, out, cap);
  const dormc_field *sk[GEN_MAX_KEYS];
  size_t nsk = gen_binding_fields(m->sk, sk, GEN_MAX_KEYS);
  for (size_t i = 0; i < nsk; i++) {
    bool dup = false;
    for (size_t k = 0; k < n; k++) dup |= out[k] == sk[i];
    if (!dup && n < cap) out[n++] = sk[i];
  }
  return n;
}

size_t gen_model_keys(const dormc_model *m, const dormc_key_binding **out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < m->nbindings && n < cap; i++) {
    bool dup = false;
    for (size_t k = 0; k < n; k++) dup |= strcmp(out[k]->attr, m->bindings[i].attr) == 0;
    if (!dup) out[n++] = &m->bindings[i];
  }
  return n;
}

/* "by_status", "by_customerId_orderId"; NULL when the partition key is a constant. */
static char *query_name_by_fields(gen_ctx *g, const dormc_key_binding *pk) {
  const dormc_field *f[GEN_MAX_KEYS];
  size_t n = gen_binding_fields(pk, f, GEN_MAX_KEYS);
  if (n == 0) return NULL;
  strbuf b = {0};
  sb_puts(&b, "by");
  for (size_t i = 0; i < n; i++) sb_printf(&b, "_%s", f[i]->name);
  char *t = sb_take(&b, NULL);
  char *s = arena_strdup(&g->mem, t ? t : "by");
  free(t);
  return s;
}

gen_query *gen_queries(gen_ctx *g, const dormc_model *m, size_t *n) {
  gen_query *q = arena_alloc(&g->mem, (m->nindexes + 1) * sizeof *q);
  size_t k = 0;
  q[k].index = NULL;
  q[k].pk = m->pk;
  q[k].sk = m->sk;
  q[k].desc_index = 0;
  k++;
  for (size_t i = 0; i < m->nindexes; i++) {
    const dormc_index *ix = m->indexes[i];
    q[k].index = ix;
    q[k].pk = dormc_model_binding(m, ix->pk.attr);
    q[k].sk = ix->sk.attr ? dormc_model_binding(m, ix->sk.attr) : NULL;
    q[k].desc_index = (uint32_t)k;
    k++;
  }
  /* Names: the table's query is "query"; an index's is "query_by_<its
   * partition key fields>", or "query_<index name>" when those fields are
   * the table's (every LSI), another index's, or none (a constant). */
  q[0].name = arena_strdup(&g->mem, "query");
  char *table_by = query_name_by_fields(g, q[0].pk);
  for (size_t i = 1; i < k; i++) {
    char *by = query_name_by_fields(g, q[i].pk);
    bool clash = !by || (table_by && strcmp(by, table_by) == 0);
    for (size_t j = 1; j < k && !clash; j++) {
      if (j == i) continue;
      char *other = query_name_by_fields(g, q[j].pk);
      clash = other && strcmp(other, by) == 0;
    }
    q[i].name = clash ? arena_printf(&g->mem, "query_%s", gen_ident(g, q[i].index->name))
                      : arena_printf(&g->mem, "query_%s", by);
  }
  *n = k;
  return q;
}

bool gen_table_mine(const gen_ctx *g, const dormc_table *t) {
  return t->owner ? gen_mine(g, &t->owner->loc) : gen_mine(g, &t->loc);
}

const char *gen_table_cname(gen_ctx *g, const dormc_table *t) {
  return arena_printf(&g->mem, "%s_%s_table", g->prefix, t->name);
}

void gen_collect_type(gen_ctx *g, const dormc_type *t) { collect_type(g, t); }
