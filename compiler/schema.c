/* Helpers over the resolved schema, and its structural dump. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *dormc_type_ddb(const dormc_type *t) {
  switch (t->kind) {
  case DORMC_T_STRING:
  case DORMC_T_TIME:
  case DORMC_T_JSON:
  case DORMC_T_ENUM: return "S";
  case DORMC_T_INT:
  case DORMC_T_FLOAT:
  case DORMC_T_DECIMAL:
  case DORMC_T_EPOCH: return "N";
  case DORMC_T_BOOL: return "BOOL";
  case DORMC_T_BYTES: return "B";
  case DORMC_T_SET:
    if (!t->elem) return "SS";
    if (t->elem->kind == DORMC_T_BYTES) return "BS";
    if (t->elem->kind == DORMC_T_STRING) return "SS";
    return "NS";
  case DORMC_T_LIST: return "L";
  case DORMC_T_MAP:
  case DORMC_T_STRUCT: return "M";
  }
  return "S";
}

const char *dormc_type_dms_format(const dormc_type *t) {
  switch (t->kind) {
  case DORMC_T_INT: return "int";
  case DORMC_T_EPOCH: return "unix_seconds";
  case DORMC_T_TIME: return "rfc3339nano";
  default: return NULL;
  }
}

static const char *kind_name(dormc_type_kind k) {
  static const char *const names[] = {"string", "int",   "float", "decimal", "bool", "bytes", "time",
                                      "epoch",  "json",  "set",   "list",    "map",  "enum",  "struct"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void type_str(strbuf *b, const dormc_type *t) {
  if (t->kind == DORMC_T_ENUM) sb_puts(b, t->enum_ && t->enum_->name ? t->enum_->name : "enum");
  else if (t->kind == DORMC_T_STRUCT) sb_puts(b, t->struct_ && t->struct_->name ? t->struct_->name : "struct");
  else sb_puts(b, kind_name(t->kind));
  if (t->elem) {
    sb_putc(b, '<');
    type_str(b, t->elem);
    sb_putc(b, '>');
  }
  if (t->optional) sb_putc(b, '?');
}

const char *dormc_type_str(const dormc_type *t, char *buf, size_t cap) {
  strbuf b = {0};
  type_str(&b, t);
  if (cap) {
    size_t n = b.data ? b.len : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(buf, b.data, n);
    buf[n] = '\0';
  }
  sb_free(&b);
  return buf;
}

const char *dormc_key_type_str(dormc_key_type t) {
  switch (t) {
  case DORMC_KEY_S: return "S";
  case DORMC_KEY_N: return "N";
  case DORMC_KEY_B: return "B";
  }
  return "S";
}

const dormc_key_binding *dormc_model_binding(const dormc_model *m, const char *attr) {
  for (size_t i = 0; i < m->nbindings; i++)
    if (strcmp(m->bindings[i].attr, attr) == 0) return &m->bindings[i];
  return NULL;
}

#define FIND(arr, n, nm)                                                                                        \
  do {                                                                                                          \
    for (size_t i_ = 0; i_ < (n); i_++)                                                                         \
      if ((arr)[i_].name && strcmp((arr)[i_].name, (nm)) == 0) return &(arr)[i_];                              \
    return NULL;                                                                                                \
  } while (0)

const dormc_model *dormc_schema_model(const dormc_schema *s, const char *name) { FIND(s->models, s->nmodels, name); }
const dormc_table *dormc_schema_table(const dormc_schema *s, const char *name) { FIND(s->tables, s->ntables, name); }
const dormc_enum *dormc_schema_enum(const dormc_schema *s, const char *name) { FIND(s->enums, s->nenums, name); }
const dormc_struct *dormc_schema_struct(const dormc_schema *s, const char *name) {
  FIND(s->structs, s->nstructs, name);
}
const dormc_endpoint *dormc_schema_endpoint(const dormc_schema *s, const char *name) {
  FIND(s->endpoints, s->nendpoints, name);
}
const dormc_field *dormc_model_field(const dormc_model *m, const char *name) { FIND(m->fields, m->nfields, name); }

/* ---- dump -------------------------------------------------------------- */

static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }

static void dump_fields(strbuf *b, const char *indent, const dormc_field *f, size_t n) {
  static const char *const roles[] = {"pk", "sk", "created_at", "updated_at", "version", "ttl"};
  for (size_t i = 0; i < n; i++) {
    sb_printf(b, "%sfield %s: ", indent, f[i].name);
    type_str(b, &f[i].type);
    sb_printf(b, " attr=%s camel=%s snake=%s", f[i].attr, f[i].attr_by_naming[0], f[i].attr_by_naming[1]);
    if (f[i].explicit_attr) sb_printf(b, " name=%s", f[i].explicit_attr);
    if (f[i].omit_empty) sb_puts(b, " omit_empty");
    for (int r = 0; r < 6; r++)
      if (f[i].roles & (1u << r)) sb_printf(b, " @%s", roles[r]);
    sb_putc(b, '\n');
  }
}

static void dump_key(strbuf *b, const char *what, dormc_key_attr k) {
  if (k.attr) sb_printf(b, " %s=%s:%s", what, k.attr, dormc_key_type_str(k.type));
}

static void dump_index(strbuf *b, const dormc_index *x) {
  static const char *const proj[] = {"all", "keys_only", "include"};
  sb_printf(b, "  %s \"%s\"", x->kind == DORMC_GSI ? "gsi" : "lsi", x->name);
  dump_key(b, "pk", x->pk);
  dump_key(b, "sk", x->sk);
  sb_printf(b, " project=%s", proj[x->projection]);
  for (size_t i = 0; i < x->ninclude; i++) sb_printf(b, "%s%s", i ? "," : "(", x->include[i]);
  if (x->ninclude) sb_putc(b, ')');
  sb_puts(b, " models=");
  for (size_t i = 0; i < x->nmodels; i++) sb_printf(b, "%s%s", i ? "," : "", x->models[i]->name);
  sb_putc(b, '\n');
}

char *dormc_schema_dump(const dormc_schema *s) {
  static const char *const streams[] = {"none", "keys_only", "new_image", "old_image", "new_and_old_images"};
  strbuf b = {0};
  sb_printf(&b, "namespace %s prefix %s\n", s->namespace_, s->c_prefix);
  for (size_t i = 0; i < s->nenums; i++) {
    const dormc_enum *e = &s->enums[i];
    sb_printf(&b, "enum %s c=%s\n", e->name, e->c_name);
    for (size_t k = 0; k < e->nmembers; k++)
      sb_printf(&b, "  member %s = \"%s\" c=%s\n", e->members[k].name, e->members[k].value, e->members[k].c_name);
  }
  for (size_t i = 0; i < s->nstructs; i++) {
    sb_printf(&b, "struct %s c=%s\n", s->structs[i].name, s->structs[i].c_name);
    dump_fields(&b, "  ", s->structs[i].fields, s->structs[i].nfields);
  }
  for (size_t i = 0; i < s->ntables; i++) {
    const dormc_table *t = &s->tables[i];
    sb_printf(&b, "table %s \"%s\"", t->name, t->physical_name);
    dump_key(&b, "pk", t->pk);
    dump_key(&b, "sk", t->sk);
    if (t->billing == DORMC_BILLING_PROVISIONED)
      sb_printf(&b, " billing=provisioned(%lld,%lld)", (long long)t->read_capacity, (long long)t->write_capacity);
    else sb_puts(&b, " billing=on_demand");
    sb_printf(&b, " stream=%s ttl=%s owner=%s\n", streams[t->stream], str_or(t->ttl_attr, "-"),
              t->owner ? t->owner->name : "-");
    for (size_t k = 0; k < t->ngsis; k++) dump_index(&b, &t->gsis[k]);
    for (size_t k = 0; k < t->nlsis; k++) dump_index(&b, &t->lsis[k]);
    sb_puts(&b, "  models=");
    for (size_t k = 0; k < t->nmodels; k++) sb_printf(&b, "%s%s", k ? "," : "", t->models[k]->name);
    sb_putc(&b, '\n');
  }
  for (size_t i = 0; i < s->nmodels; i++) {
    const dormc_model *m = &s->models[i];
    sb_printf(&b, "model %s c=%s table=%s type=%s naming=%s\n", m->name, m->c_name,
              m->table ? m->table->name : "-", str_or(m->entity_type, "-"),
              m->naming == DORMC_NAMING_SNAKE ? "snake_case" : "camelCase");
    dump_fields(&b, "  ", m->fields, m->nfields);
    for (size_t k = 0; k < m->nbindings; k++) {
      const dormc_key_binding *kb = &m->bindings[k];
      sb_printf(&b, "  bind %s:%s = ", kb->attr, dormc_key_type_str(kb->type));
      if (kb->field) sb_printf(&b, "field %s", kb->field->name);
      else {
        sb_puts(&b, "template");
        for (size_t p = 0; p < kb->nparts; p++) {
          if (kb->parts[p].kind == DORMC_TPL_LITERAL) sb_printf(&b, " \"%s\"", kb->parts[p].text);
          else sb_printf(&b, " {%s}", kb->parts[p].field->name);
        }
        if (kb->constant) sb_puts(&b, " constant");
      }
      sb_putc(&b, '\n');
    }
    sb_printf(&b, "  roles created=%s updated=%s version=%s ttl=%s\n",
              m->created_at ? m->created_at->name : "-", m->updated_at ? m->updated_at->name : "-",
              m->version ? m->version->name : "-", m->ttl ? m->ttl->name : "-");
    sb_puts(&b, "  indexes=");
    for (size_t k = 0; k < m->nindexes; k++) sb_printf(&b, "%s%s", k ? "," : "", m->indexes[k]->name);
    sb_putc(&b, '\n');
  }
  for (size_t i = 0; i < s->nendpoints; i++) {
    const dormc_endpoint *e = &s->endpoints[i];
    sb_printf(&b, "endpoint %s c=%s %s timeout=%lldms\n", e->name, e->c_name,
              e->mode == DORMC_ENDPOINT_ASYNC ? "async" : "sync", (long long)e->timeout_ms);
    sb_puts(&b, " request\n");
    dump_fields(&b, "  ", e->request, e->nrequest);
    if (e->has_progress) {
      sb_puts(&b, " progress\n");
      dump_fields(&b, "  ", e->progress, e->nprogress);
    }
    sb_puts(&b, " result\n");
    dump_fields(&b, "  ", e->result, e->nresult);
    for (size_t k = 0; k < e->nscopes; k++) sb_printf(&b, " scope \"%s\"\n", e->scopes[k]);
  }
  return sb_take(&b, NULL);
}
