/* DMS v0.1 import, the writing half: the records dms_import.c read from a
 * DMS document, as .dorm text (put through the formatter and checked by
 * dms_import.c before it is handed out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dms_import.h"

/* ---- writing .dorm ----------------------------------------------------- */

static void put_dorm_string(strbuf *b, const char *s) {
  sb_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"') sb_puts(b, "\\\"");
    else if (*p == '\\') sb_puts(b, "\\\\");
    else if (*p == '\n') sb_puts(b, "\\n");
    else if (*p == '\t') sb_puts(b, "\\t");
    else if (*p < 0x20 || *p == 0x7F) sb_printf(b, "\\u%04X", *p);
    else sb_putc(b, (char)*p);
  }
  sb_putc(b, '"');
}

/* The namespace: each dotted part made an identifier; without one, the
 * file's name. */
static void put_namespace(imp *I, strbuf *b) {
  const char *ns = I->ns;
  if (!ns) {
    const char *base = strrchr(I->path, '/');
    base = base ? base + 1 : I->path;
    size_t n = strcspn(base, ".");
    ns = n ? arena_strndup(&I->a, base, n) : "dms";
  }
  sb_puts(b, "namespace ");
  bool first = true;
  const char *p = ns;
  while (*p) {
    size_t n = strcspn(p, ".");
    if (n) {
      if (!first) sb_putc(b, '.');
      sb_puts(b, dms_make_ident(I, arena_strndup(&I->a, p, n), false));
      first = false;
    }
    p += n;
    if (*p == '.') p++;
  }
  if (first) sb_puts(b, "dms");
  sb_puts(b, ";\n");
}

static const char *field_of(const dms_model *m, const char *attr) {
  const dms_attr *a = dms_find_attr(m, attr);
  return a && !a->tpl ? a->field : attr;
}

/* ---- restoring what dormc's export put in tags ------------------------- */

static bool template_type(const dms_attr *b) {
  return !b->optional && (!strcmp(b->dorm_type, "string") || !strcmp(b->dorm_type, "int") ||
                          !strcmp(b->dorm_type, "time") || !strcmp(b->dorm_type, "epoch"));
}

/* The template of a with each placeholder renamed to the imported field
 * that stores it, or NULL when one cannot be resolved. */
static const char *restore_template(imp *I, const dms_model *m, const dms_attr *a) {
  strbuf t = {0};
  bool ok = true;
  for (const char *p = a->tag_template; *p && ok;) {
    if (*p == '}') ok = false;
    if (*p != '{') {
      sb_putc(&t, *p++);
      continue;
    }
    const char *end = strchr(p, '}');
    if (!end) {
      ok = false;
      break;
    }
    const char *name = arena_strndup(&I->a, p + 1, (size_t)(end - p - 1));
    const dms_attr *found = NULL;
    for (size_t i = 0; i < m->nattrs && !found; i++) {
      const dms_attr *b = &m->attrs[i];
      if (!b->tag_template && b != a && strcmp(b->field, name) == 0) found = b;
    }
    /* A snake_case model's template names its fields in camelCase; its
     * export declares no convention when a name does not follow snake_case
     * (PK, SK), so the attribute is looked for by that name either way. */
    for (size_t i = 0; i < m->nattrs && !found && dms_is_ident(name); i++) {
      const dms_attr *b = &m->attrs[i];
      if (!b->tag_template && b != a && strcmp(b->attr, dormc_snake_case(&I->a, name)) == 0) found = b;
    }
    if (!found || !template_type(found)) ok = false;
    else sb_printf(&t, "{%s}", found->field);
    p = end + 1;
  }
  if (!ok || t.oom) {
    sb_free(&t);
    return NULL;
  }
  const char *out = arena_strdup(&I->a, t.data ? t.data : "");
  sb_free(&t);
  return out;
}

/* Decides which attributes come back as key templates and entity types.
 * Returns whether any does. */
bool dms_plan_restore(imp *I, dms_model *m) {
  bool any = false, entity = false;
  for (size_t i = 0; i < m->nattrs; i++) {
    dms_attr *a = &m->attrs[i];
    bool plain_string = !strcmp(a->dorm_type, "string") && !a->optional && !a->omit_empty && !a->encrypted &&
                        !(a->roles & ~(unsigned)(R_PK | R_SK));
    if (a->tag_entity && !entity && plain_string && !strcmp(a->attr, "_type") && !(a->roles & (R_PK | R_SK))) {
      a->as_entity = entity = any = true;
    } else if (a->tag_template && plain_string && dms_is_ident(a->attr)) {
      a->tpl = restore_template(I, m, a);
      any |= a->tpl != NULL;
    }
  }
  return any;
}

void dms_forget_restore(dms_model *m) {
  for (size_t i = 0; i < m->nattrs; i++) {
    m->attrs[i].tpl = NULL;
    m->attrs[i].as_entity = false;
  }
}

static void put_index(imp *I, strbuf *b, const dms_model *m, const dms_index *x, bool typed) {
  dms_mark_at(I, b, x->node);
  sb_printf(b, "  %s ", x->lsi ? "lsi" : "gsi");
  put_dorm_string(b, x->name);
  sb_puts(b, " (");
  if (typed) {
    if (!x->lsi) sb_printf(b, "%s: %c", x->pk.attr, x->pk.type);
    if (x->sk.attr) sb_printf(b, "%s%s: %c", x->lsi ? "" : ", ", x->sk.attr, x->sk.type);
  } else {
    if (!x->lsi) sb_puts(b, field_of(m, x->pk.attr));
    if (x->sk.attr) sb_printf(b, "%s%s", x->lsi ? "" : ", ", field_of(m, x->sk.attr));
  }
  sb_printf(b, ") project %s", x->projection);
  if (x->projection[0] == 'i') {
    sb_putc(b, '(');
    for (size_t i = 0; i < x->ninclude; i++) sb_printf(b, "%s%s", i ? ", " : "", x->include[i]);
    sb_putc(b, ')');
  }
  sb_puts(b, ";\n");
}

static void put_shared_table(imp *I, strbuf *b, size_t first) {
  const dms_model *m = &I->models[first];
  sb_putc(b, '\n');
  dms_mark_at(I, b, m->table_node);
  sb_printf(b, "table %s ", m->table_ident);
  put_dorm_string(b, m->table);
  sb_puts(b, " {\n");
  dms_mark_at(I, b, m->keys_node);
  sb_printf(b, "  key (%s: %c", m->pk.attr, m->pk.type);
  if (m->sk.attr) sb_printf(b, ", %s: %c", m->sk.attr, m->sk.type);
  sb_puts(b, ");\n");
  /* Every index any of its models declares, once, in an order that keeps
   * each model's own order (a new index goes right after the model's
   * previous one), so exporting again lists them as the document did. */
  size_t total = 0;
  for (size_t i = first; i < I->nmodels; i++)
    if (strcmp(I->models[i].table, m->table) == 0) total += I->models[i].nindexes;
  const dms_index **order = arena_alloc(&I->a, (total + 1) * sizeof *order);
  size_t n = 0;
  for (size_t i = first; i < I->nmodels; i++) {
    const dms_model *o = &I->models[i];
    if (strcmp(o->table, m->table) != 0) continue;
    size_t next = 0;
    for (size_t x = 0; x < o->nindexes; x++) {
      size_t at = n;
      for (size_t k = 0; k < n && at == n; k++)
        if (strcmp(order[k]->name, o->indexes[x].name) == 0) at = k;
      if (at == n) {
        memmove(&order[next + 1], &order[next], (n - next) * sizeof *order);
        order[next] = &o->indexes[x];
        n++;
        at = next;
      }
      next = at + 1;
    }
  }
  for (size_t k = 0; k < n; k++) put_index(I, b, m, order[k], true);
  dms_mark_at(I, b, m->table_node);
  sb_puts(b, "}\n");
}

static void put_model(imp *I, strbuf *b, const dms_model *m) {
  sb_putc(b, '\n');
  dms_mark_at(I, b, m->node);
  sb_printf(b, "model %s ", m->ident);
  if (m->table_ident) {
    sb_printf(b, "in %s {\n", m->table_ident);
  } else {
    sb_puts(b, "table ");
    put_dorm_string(b, m->table);
    sb_puts(b, " {\n");
  }
  size_t before = b->len;
  for (size_t i = 0; i < m->nattrs; i++) {
    if (!m->attrs[i].as_entity) continue;
    dms_mark_at(I, b, m->attrs[i].node);
    sb_puts(b, "  type ");
    put_dorm_string(b, m->attrs[i].tag_entity);
    sb_puts(b, ";\n");
  }
  if (m->snake) {
    dms_mark_at(I, b, m->naming_node);
    sb_puts(b, "  naming snake_case;\n");
  }
  /* An owned table whose key a template fills declares its key. */
  const dms_attr *pk = dms_find_attr(m, m->pk.attr), *sk = m->sk.attr ? dms_find_attr(m, m->sk.attr) : NULL;
  bool key_decl = !m->table_ident && ((pk && pk->tpl) || (sk && sk->tpl));
  if (key_decl) {
    dms_mark_at(I, b, m->keys_node);
    sb_printf(b, "  key (%s", field_of(m, m->pk.attr));
    if (sk) sb_printf(b, ", %s", field_of(m, m->sk.attr));
    sb_puts(b, ");\n");
  }
  for (size_t i = 0; i < m->nattrs; i++) {
    if (!m->attrs[i].tpl) continue;
    dms_mark_at(I, b, m->attrs[i].node);
    sb_printf(b, "  key %s = ", m->attrs[i].attr);
    put_dorm_string(b, m->attrs[i].tpl);
    sb_puts(b, ";\n");
  }
  if (b->len != before) sb_putc(b, '\n');
  for (size_t i = 0; i < m->nattrs; i++) {
    const dms_attr *a = &m->attrs[i];
    if (a->tpl || a->as_entity) continue;
    dms_mark_at(I, b, a->node);
    sb_printf(b, "  %s: %s%s", a->field, a->dorm_type, a->optional ? "?" : "");
    /* In a shared table the key attributes bind by name; @pk/@sk belong to
     * a model that owns its table. */
    if (!m->table_ident && !key_decl && (a->roles & R_PK)) sb_puts(b, " @pk");
    if (!m->table_ident && !key_decl && (a->roles & R_SK)) sb_puts(b, " @sk");
    if (a->roles & R_CREATED) sb_puts(b, " @created_at");
    if (a->roles & R_UPDATED) sb_puts(b, " @updated_at");
    if (a->roles & R_VERSION) sb_puts(b, " @version");
    if (a->roles & R_TTL) sb_puts(b, " @ttl");
    if (a->omit_empty) sb_puts(b, " @omit_empty");
    if (a->encrypted) sb_puts(b, " @encrypted");
    if (a->needs_name) {
      sb_puts(b, " @name(");
      put_dorm_string(b, a->attr);
      sb_putc(b, ')');
    }
    sb_puts(b, ";\n");
  }
  if (!m->table_ident && m->nindexes) {
    sb_putc(b, '\n');
    for (size_t i = 0; i < m->nindexes; i++) put_index(I, b, m, &m->indexes[i], false);
  }
  dms_mark_at(I, b, m->node);
  sb_puts(b, "}\n");
}

void dms_write_dorm(imp *I, strbuf *b) {
  I->nmarks = 0;
  dms_mark_at(I, b, NULL);
  const char *base = strrchr(I->path, '/');
  base = base ? base + 1 : I->path;
  sb_puts(b, "// Imported by `dormc dms import` from ");
  for (const char *p = base; *p; p++) sb_putc(b, (unsigned char)*p < 0x20 ? '?' : *p);
  sb_puts(b, " (DMS " DORMC_DMS_VERSION ").\n");
  dms_mark_at(I, b, I->ns_node);
  put_namespace(I, b);
  for (size_t i = 0; i < I->nmodels; i++) {
    const dms_model *m = &I->models[i];
    if (!m->table_ident) continue;
    bool first = true;
    for (size_t k = 0; k < i && first; k++) first = strcmp(I->models[k].table, m->table) != 0;
    if (first) put_shared_table(I, b, i);
  }
  for (size_t i = 0; i < I->nmodels; i++) put_model(I, b, &I->models[i]);
}

