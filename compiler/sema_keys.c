/* Semantic analysis of keys: each table's key, which field or template fills
 * every key attribute of a model's table and indexes, key templates, the
 * indexes each model fills, TTL, entity types and projections. */
#include <string.h>

#include "lex_util.h"
#include "sema_int.h"

#define MAX_PROJECTED 100

static const dormc_field *field_by_name(const model_build *mb, const char *name) {
  for (size_t i = 0; i < mb->nfields; i++)
    if (strcmp(mb->fields[i].name, name) == 0) return &mb->fields[i];
  return NULL;
}

static const dormc_field *field_by_name_or_attr(const model_build *mb, const char *name) {
  const dormc_field *f = field_by_name(mb, name);
  if (f) return f;
  for (size_t i = 0; i < mb->nfields; i++)
    if (strcmp(mb->fields[i].attr, name) == 0) return &mb->fields[i];
  return NULL;
}

static const char *suggest_field(sema *S, const model_build *mb, const char *word) {
  if (mb->nfields > 2000) return NULL;
  const char **names = arena_alloc(S->a, (mb->nfields + 1) * sizeof *names);
  for (size_t i = 0; i < mb->nfields; i++) names[i] = mb->fields[i].name;
  return closest_name(word, names, mb->nfields);
}

static const dormc_field *role_field(const model_build *mb, unsigned role) {
  for (size_t i = 0; i < mb->nfields; i++)
    if (mb->fields[i].roles & role) return &mb->fields[i];
  return NULL;
}

static bool template_targets(const model_build *mb, const char *attr) {
  for (size_t i = 0; i < mb->templates->n; i++)
    if (strcmp(((ast_member *)mb->templates->items[i])->name.text, attr) == 0) return true;
  return false;
}

/* ---- table keys -------------------------------------------------------- */

static void shared_key(sema *S, table_build *t) {
  dormc_table *out = t->out;
  if (t->ttl) {
    out->ttl_attr = t->ttl->name.text;
    t->ttl_loc = t->ttl->name.loc;
  }
  ast_member *k = t->key_decl;
  if (!k) {
    diag_error(S->c, t->item->name.loc, "table '%s' has no key; declare key (PK: S) or key (PK: S, SK: S)",
               out->name);
    return;
  }
  t->key_loc = k->loc;
  if (k->parts->n < 1 || k->parts->n > 2) {
    diag_error(S->c, k->kw_loc, "a key has a partition key and an optional sort key: key (PK: S) or key (PK: S, SK: S)");
    return;
  }
  dormc_key_attr *slots[2] = {&out->pk, &out->sk};
  bool ok = true;
  for (size_t i = 0; i < k->parts->n; i++) {
    ast_keypart *kp = k->parts->items[i];
    slots[i]->attr = kp->attr.text;
    if (!kp->type.text) {
      diag_error(S->c, kp->attr.loc, "key attribute '%s' needs a type: (%s: S)", kp->attr.text, kp->attr.text);
      ok = false;
    } else if (!key_type_letter(S, &kp->type, &slots[i]->type)) {
      ok = false;
    }
  }
  if (out->sk.attr && strcmp(out->pk.attr, out->sk.attr) == 0) {
    diag_error(S->c, ((ast_keypart *)k->parts->items[1])->attr.loc, "the sort key repeats the partition key '%s'",
               out->pk.attr);
    out->sk.attr = NULL;
    ok = false;
  }
  t->key_ok = ok;
}

/* An owned table's key part written without a type takes it from the field
 * it names (or S when a template fills it). */
static bool owned_part_type(sema *S, table_build *t, ast_keypart *kp, const char **attr, dormc_key_type *type,
                            bool quiet) {
  const model_build *mb = t->owner;
  const dormc_field *f = field_by_name_or_attr(mb, kp->attr.text);
  if (f) {
    *attr = f->attr;
    if (!sema_is_key_scalar(&f->type, type)) *type = DORMC_KEY_S; /* reported when it is bound */
    return true;
  }
  *attr = kp->attr.text;
  *type = DORMC_KEY_S;
  if (template_targets(mb, kp->attr.text)) return true;
  if (quiet) return false;
  const char *s = suggest_field(S, mb, kp->attr.text);
  if (s)
    diag_error(S->c, kp->attr.loc, "unknown field '%s' in key; did you mean '%s'? (or give a type: %s: S)",
               kp->attr.text, s, kp->attr.text);
  else
    diag_error(S->c, kp->attr.loc, "unknown field '%s' in key; declare the field or give the type (%s: S)",
               kp->attr.text, kp->attr.text);
  return false;
}

static bool owned_key_part(sema *S, table_build *t, ast_member *decl, size_t idx, const dormc_field *role,
                           const char *role_name, dormc_key_attr *out) {
  if (decl && idx < decl->parts->n) {
    ast_keypart *kp = decl->parts->items[idx];
    bool ok;
    if (kp->type.text) {
      out->attr = kp->attr.text;
      dormc_key_type ignored;
      const char *attr;
      if (owned_part_type(S, t, kp, &attr, &ignored, true)) out->attr = attr;
      ok = key_type_letter(S, &kp->type, &out->type);
    } else {
      ok = owned_part_type(S, t, kp, &out->attr, &out->type, false);
    }
    if (role && strcmp(role->attr, out->attr) != 0) {
      diag_error(S->c, role->loc, "two sources for the %s key: field '%s' is marked @%s but key (...) names '%s'",
                 idx == 0 ? "partition" : "sort", role->name, role_name, out->attr);
      diag_note(S->c, kp->loc, "the key is declared here");
      ok = false;
    }
    return ok;
  }
  if (role) {
    out->attr = role->attr;
    if (!sema_is_key_scalar(&role->type, &out->type)) out->type = DORMC_KEY_S;
    return true;
  }
  return true;
}

static void owned_key(sema *S, table_build *t) {
  model_build *mb = t->owner;
  dormc_table *out = t->out;
  ast_member *k = t->key_decl;
  const dormc_field *pkf = role_field(mb, DORMC_ROLE_PK), *skf = role_field(mb, DORMC_ROLE_SK);
  if (k && (k->parts->n < 1 || k->parts->n > 2)) {
    diag_error(S->c, k->kw_loc, "a key has a partition key and an optional sort key: key (PK: S) or key (PK: S, SK: S)");
    return;
  }
  if (!k && !pkf) {
    diag_error(S->c, mb->item->name.loc,
               "model '%s' has no partition key; mark a field @pk or declare key (attr: S);", mb->out->name);
    return;
  }
  if (k && k->parts->n == 1 && skf) {
    diag_error(S->c, skf->loc, "field '%s' is marked @sk but key (...) declares no sort key", skf->name);
    diag_note(S->c, k->loc, "the key is declared here");
    return;
  }
  t->key_loc = k ? k->loc : pkf->loc;
  bool ok = owned_key_part(S, t, k, 0, pkf, "pk", &out->pk);
  ok = owned_key_part(S, t, k, 1, skf, "sk", &out->sk) && ok;
  if (out->sk.attr && out->pk.attr && strcmp(out->pk.attr, out->sk.attr) == 0) {
    diag_error(S->c, skf ? skf->loc : k->loc, "the sort key repeats the partition key '%s'", out->pk.attr);
    out->sk.attr = NULL;
    ok = false;
  }
  t->key_ok = ok;

  dormc_model *m = mb->out;
  if (t->ttl) {
    const dormc_field *f = field_by_name_or_attr(mb, t->ttl->name.text);
    if (!f) {
      const char *s = suggest_field(S, mb, t->ttl->name.text);
      diag_error(S->c, t->ttl->name.loc, "unknown field '%s' in ttl%s%s%s", t->ttl->name.text,
                 s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
    } else if (f->type.kind != DORMC_T_EPOCH) {
      diag_error(S->c, t->ttl->name.loc, "the TTL attribute must be an epoch field, but '%s' is %s", f->name,
                 sema_type_str(S, &f->type));
    } else if (m->ttl && m->ttl != f) {
      diag_error(S->c, t->ttl->name.loc, "two TTL fields: ttl names '%s' but '%s' is marked @ttl", f->name,
                 m->ttl->name);
      diag_note(S->c, m->ttl->loc, "'%s' is declared here", m->ttl->name);
    } else {
      m->ttl = f;
    }
    t->ttl_loc = t->ttl->name.loc;
  }
  if (m->ttl) out->ttl_attr = m->ttl->attr;
}

/* ---- templates --------------------------------------------------------- */

static dormc_loc tpl_loc(const ast_str *s, size_t off, size_t len) {
  if (!s->verbatim) return s->loc;
  dormc_loc l = s->loc;
  l.col = s->loc.col + 1 + utf8_count(s->value, off);
  l.end_col = l.col + utf8_count(s->value + off, len);
  l.end_line = l.line;
  l.offset = s->loc.offset + 1 + (uint32_t)off;
  l.end_offset = l.offset + (uint32_t)len;
  return l;
}

static bool is_ident_text(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return false;
  }
  return true;
}

static bool parse_template(sema *S, const model_build *mb, ast_member *tm, dormc_key_binding *b) {
  const ast_str *str = tm->str;
  const char *v = str->value;
  size_t len = str->len;
  if (len == 0) {
    diag_error(S->c, str->loc, "empty key template for '%s'", tm->name.text);
    return false;
  }
  vec *parts = vec_new(S->a);
  bool ok = true, constant = true;
  size_t lit = 0;
  for (size_t i = 0; i < len;) {
    if (v[i] == '}') {
      diag_error(S->c, tpl_loc(str, i, 1), "'}' without '{' in key template");
      ok = false;
      i++;
      continue;
    }
    if (v[i] != '{') {
      i++;
      continue;
    }
    const char *close = memchr(v + i, '}', len - i);
    if (!close) {
      diag_error(S->c, tpl_loc(str, i, 1), "unclosed '{' in key template");
      ok = false;
      break;
    }
    size_t j = (size_t)(close - v);
    if (i > lit) {
      dormc_tpl_part *p = arena_alloc(S->a, sizeof *p);
      p->kind = DORMC_TPL_LITERAL;
      p->text = arena_strndup(S->a, v + lit, i - lit);
      vec_push(S->a, parts, p);
    }
    const char *name = arena_strndup(S->a, v + i + 1, j - i - 1);
    dormc_loc at = tpl_loc(str, i, j - i + 1);
    lit = i = j + 1;
    if (!is_ident_text(name, strlen(name))) {
      diag_error(S->c, at, name[0] ? "invalid placeholder '{%s}'; a placeholder names a field: {fieldName}"
                                   : "empty placeholder '{%s}'; a placeholder names a field: {fieldName}",
                 name);
      ok = false;
      continue;
    }
    const dormc_field *f = field_by_name(mb, name);
    if (!f) {
      const char *s = suggest_field(S, mb, name);
      if (s) diag_error(S->c, at, "unknown field '%s' in key template; did you mean '%s'?", name, s);
      else diag_error(S->c, at, "unknown field '%s' in key template", name);
      ok = false;
      continue;
    }
    dormc_type_kind k = f->type.kind;
    if (k != DORMC_T_STRING && k != DORMC_T_INT && k != DORMC_T_ENUM && k != DORMC_T_TIME && k != DORMC_T_EPOCH) {
      diag_error(S->c, at,
                 "placeholder '{%s}' names field '%s' of type %s; templates take string, int, enum, time or epoch "
                 "fields",
                 name, name, sema_type_str(S, &f->type));
      diag_note(S->c, f->loc, "'%s' is declared here", name);
      ok = false;
      continue;
    }
    if (f->optional) {
      diag_error(S->c, at, "placeholder '{%s}' names optional field '%s'; a key template needs required fields",
                 name, name);
      diag_note(S->c, f->loc, "'%s' is declared here", name);
      ok = false;
      continue;
    }
    /* Two placeholders side by side: the key does not say where the first
     * ends ("{a}{b}": a = "xy", b = "z" and a = "x", b = "yz" are one key,
     * so one item replaces the other), and the library cannot read them
     * back from the key. Only a time, always 30 characters, ends by itself. */
    const dormc_tpl_part *prev = parts->n ? parts->items[parts->n - 1] : NULL;
    if (prev && prev->kind == DORMC_TPL_FIELD && prev->field->type.kind != DORMC_T_TIME) {
      diag_error(S->c, at,
                 "placeholder '{%s}' follows '{%s}' with nothing between them; the key would not say where '%s' "
                 "ends: put literal text between them (\"{%s}#{%s}\")",
                 name, prev->field->name, prev->field->name, prev->field->name, name);
      ok = false;
      continue;
    }
    dormc_tpl_part *p = arena_alloc(S->a, sizeof *p);
    p->kind = DORMC_TPL_FIELD;
    p->field = f;
    vec_push(S->a, parts, p);
    constant = false;
  }
  if (lit < len && ok) {
    dormc_tpl_part *p = arena_alloc(S->a, sizeof *p);
    p->kind = DORMC_TPL_LITERAL;
    p->text = arena_strndup(S->a, v + lit, len - lit);
    vec_push(S->a, parts, p);
  }
  if (!ok) return false;
  dormc_tpl_part *arr = arena_alloc(S->a, parts->n * sizeof *arr);
  for (size_t i = 0; i < parts->n; i++) arr[i] = *(dormc_tpl_part *)parts->items[i];
  b->parts = arr;
  b->nparts = parts->n;
  b->template_text = v;
  b->constant = constant;
  return true;
}

/* ---- bindings ---------------------------------------------------------- */

typedef struct key_slot {
  const char *attr;
  dormc_key_type type;
  dormc_loc decl_loc;
  bool is_pk, is_sk;
  dormc_key_binding *binding;
} key_slot;

static void add_slot(sema *S, vec *slots, symtab *by_attr, const char *attr, dormc_key_type type, dormc_loc at,
                     bool is_pk, bool is_sk) {
  if (!attr || symtab_get(by_attr, attr)) return;
  key_slot *k = arena_alloc(S->a, sizeof *k);
  k->attr = attr;
  k->type = type;
  k->decl_loc = at;
  k->is_pk = is_pk;
  k->is_sk = is_sk;
  symtab_put(S->a, by_attr, attr, k);
  vec_push(S->a, slots, k);
}

static const char *key_type_of_field(const dormc_type *t) {
  dormc_key_type kt;
  if (!sema_is_key_scalar(t, &kt)) return "not a key type";
  return dormc_key_type_str(kt);
}

static void bind_model(sema *S, model_build *mb) {
  table_build *t = mb->table;
  dormc_table *tab = t->out;
  dormc_model *m = mb->out;
  if (!t->key_ok) return;
  vec *slots = vec_new(S->a);
  symtab by_attr;
  symtab_init(&by_attr);
  add_slot(S, slots, &by_attr, tab->pk.attr, tab->pk.type, t->key_loc, true, false);
  add_slot(S, slots, &by_attr, tab->sk.attr, tab->sk.type, t->key_loc, false, true);
  for (int kind = 0; kind < 2; kind++) {
    vec *list = kind == 0 ? t->gsis : t->lsis;
    for (size_t i = 0; i < list->n; i++) {
      index_build *ib = list->items[i];
      for (size_t k = 0; k < ib->nparts; k++)
        add_slot(S, slots, &by_attr, ib->attr[k], ib->type[k], ib->part_loc[k], false, false);
    }
  }

  bool pk_reported = false, sk_reported = false;
  if (!t->owned) {
    const dormc_field *pkf = role_field(mb, DORMC_ROLE_PK), *skf = role_field(mb, DORMC_ROLE_SK);
    pk_reported = pkf && strcmp(pkf->attr, tab->pk.attr) != 0;
    sk_reported = skf && (!tab->sk.attr || strcmp(skf->attr, tab->sk.attr) != 0);
    if (pkf && strcmp(pkf->attr, tab->pk.attr) != 0) {
      diag_error(S->c, pkf->loc,
                 "field '%s' is marked @pk, but the partition key of table '%s' is '%s'; name the field '%s' or add "
                 "@name(\"%s\")",
                 pkf->name, tab->name, tab->pk.attr, tab->pk.attr, tab->pk.attr);
      diag_note(S->c, t->key_loc, "the table's key is declared here");
    }
    if (skf && !tab->sk.attr) {
      diag_error(S->c, skf->loc, "field '%s' is marked @sk, but table '%s' has no sort key", skf->name, tab->name);
      diag_note(S->c, t->key_loc, "the table's key is declared here");
    } else if (skf && strcmp(skf->attr, tab->sk.attr) != 0) {
      diag_error(S->c, skf->loc,
                 "field '%s' is marked @sk, but the sort key of table '%s' is '%s'; name the field '%s' or add "
                 "@name(\"%s\")",
                 skf->name, tab->name, tab->sk.attr, tab->sk.attr, tab->sk.attr);
      diag_note(S->c, t->key_loc, "the table's key is declared here");
    }
  }

  symtab tpls, fields;
  symtab_init(&tpls);
  symtab_init(&fields);
  for (size_t i = 0; i < mb->nfields; i++) symtab_put(S->a, &fields, mb->fields[i].attr, &mb->fields[i]);
  for (size_t i = 0; i < mb->templates->n; i++) {
    ast_member *tm = mb->templates->items[i];
    ast_member *prev = symtab_put(S->a, &tpls, tm->name.text, tm);
    if (prev) {
      diag_error(S->c, tm->name.loc, "two sources for key attribute '%s': two key templates", tm->name.text);
      diag_note(S->c, prev->name.loc, "the first template for '%s' is here", tm->name.text);
      continue;
    }
    if (!symtab_get(&by_attr, tm->name.text)) {
      diag_error(S->c, tm->name.loc, "key template targets '%s', which is not a key attribute of table '%s' or of its indexes",
                 tm->name.text, tab->name);
      diag_note(S->c, t->item->name.loc, "table '%s' is declared here", tab->name);
    }
  }

  size_t nb = 0;
  dormc_key_binding *arr = arena_alloc(S->a, (slots->n + 1) * sizeof *arr);
  symtab bound;
  symtab_init(&bound);
  for (size_t i = 0; i < slots->n; i++) {
    key_slot *k = slots->items[i];
    ast_member *tm = symtab_get(&tpls, k->attr);
    const dormc_field *f = symtab_get(&fields, k->attr);
    dormc_key_binding b = {.attr = k->attr, .type = k->type};
    bool ok = true;
    if (tm && f) {
      diag_error(S->c, tm->name.loc, "two sources for key attribute '%s': a key template and field '%s'", k->attr,
                 f->name);
      diag_note(S->c, f->loc, "field '%s' is stored as '%s'", f->name, k->attr);
      ok = false;
    } else if (tm) {
      b.loc = tm->loc;
      if (k->type != DORMC_KEY_S) {
        diag_error(S->c, tm->str->loc, "a key template makes a string, but key attribute '%s' is declared %s",
                   k->attr, dormc_key_type_str(k->type));
        diag_note(S->c, k->decl_loc, "'%s' is declared here", k->attr);
        ok = false;
      }
      if (!parse_template(S, mb, tm, &b)) ok = false;
    } else if (f) {
      b.field = f;
      b.loc = f->loc;
      dormc_key_type kt;
      if (!sema_is_key_scalar(&f->type, &kt)) {
        diag_error(S->c, f->loc,
                   "field '%s' cannot fill key attribute '%s': %s is not a key type (string, int, float, decimal, "
                   "bytes, time, epoch or an enum)",
                   f->name, k->attr, sema_type_str(S, &f->type));
        ok = false;
      } else if (kt != k->type) {
        diag_error(S->c, f->loc, "key attribute '%s' is declared %s, but field '%s' is %s (stored as %s)", k->attr,
                   dormc_key_type_str(k->type), f->name, sema_type_str(S, &f->type), key_type_of_field(&f->type));
        diag_note(S->c, k->decl_loc, "'%s' is declared here", k->attr);
        ok = false;
      } else if ((k->is_pk || k->is_sk) && f->optional) {
        diag_error(S->c, f->loc, "field '%s' fills the table's %s key '%s' and cannot be optional; remove the '?'",
                   f->name, k->is_pk ? "partition" : "sort", k->attr);
        ok = false;
      }
    } else {
      if ((k->is_pk && !pk_reported) || (k->is_sk && !sk_reported)) {
        const char *which = k->is_pk ? "partition" : "sort";
        diag_error(S->c, mb->item->name.loc,
                   "model '%s' has no %s key: nothing fills attribute '%s' of table '%s'; add key %s = \"...\"; or a "
                   "field stored as '%s'",
                   m->name, which, k->attr, tab->name, k->attr, k->attr);
        diag_note(S->c, t->key_loc, "the table's key is declared here");
      }
      continue;
    }
    if (!ok) continue;
    arr[nb] = b;
    symtab_put(S->a, &bound, k->attr, &arr[nb]);
    nb++;
  }
  m->bindings = arr;
  m->nbindings = nb;
  m->pk = symtab_get(&bound, tab->pk.attr);
  m->sk = tab->sk.attr ? symtab_get(&bound, tab->sk.attr) : NULL;

  for (int kind = 0; kind < 2; kind++) {
    vec *list = kind == 0 ? t->gsis : t->lsis;
    for (size_t i = 0; i < list->n; i++) {
      index_build *ib = list->items[i];
      if (!ib->ok) continue;
      const dormc_index *x = ib->out;
      bool fills = x->pk.attr && symtab_get(&bound, x->pk.attr) && (!x->sk.attr || symtab_get(&bound, x->sk.attr));
      if (!fills) continue;
      vec_push(S->a, mb->indexes, (void *)x);
      vec_push(S->a, ib->models, mb);
    }
  }
  m->indexes = (const dormc_index *const *)mb->indexes->items;
  m->nindexes = mb->indexes->n;
}

/* ---- per table, once the models are bound ------------------------------ */

static void table_ttl(sema *S, table_build *t) {
  if (t->owned) return;
  dormc_table *tab = t->out;
  const dormc_field *first = NULL;
  const model_build *first_mb = NULL;
  bool stored = false;
  for (size_t i = 0; i < t->models->n; i++) {
    model_build *mb = t->models->items[i];
    dormc_model *m = mb->out;
    if (m->ttl) {
      if (tab->ttl_attr && strcmp(m->ttl->attr, tab->ttl_attr) != 0) {
        diag_error(S->c, m->ttl->loc, "field '%s' is marked @ttl, but table '%s' uses TTL attribute '%s'",
                   m->ttl->name, tab->name, tab->ttl_attr);
        diag_note(S->c, t->ttl_loc, "the table's TTL attribute is set here");
        continue;
      }
      if (!tab->ttl_attr && first && strcmp(first->attr, m->ttl->attr) != 0) {
        diag_error(S->c, m->ttl->loc, "models in table '%s' disagree on the TTL attribute: '%s' here, '%s' in model '%s'",
                   tab->name, m->ttl->attr, first->attr, first_mb->out->name);
        diag_note(S->c, first->loc, "'%s' is marked @ttl here", first->name);
        continue;
      }
      if (!first) {
        first = m->ttl;
        first_mb = mb;
      }
    }
    if (tab->ttl_attr) {
      for (size_t k = 0; k < m->nfields; k++) {
        const dormc_field *f = &m->fields[k];
        if (strcmp(f->attr, tab->ttl_attr) != 0) continue;
        stored = true;
        if (f->type.kind != DORMC_T_EPOCH) {
          diag_error(S->c, f->loc, "'%s' is the TTL attribute of table '%s' and must be an epoch field, not %s",
                     f->name, tab->name, sema_type_str(S, &f->type));
          diag_note(S->c, t->ttl_loc, "the table's TTL attribute is set here");
        } else if (!m->ttl) {
          m->ttl = f;
        }
      }
    }
  }
  if (!tab->ttl_attr && first) tab->ttl_attr = first->attr;
  if (t->ttl && !stored && t->models->n > 0)
    diag_error(S->c, t->ttl_loc, "unknown field '%s' in ttl: no model stored in table '%s' has it", tab->ttl_attr,
               tab->name);
}

static void table_finish(sema *S, table_build *t, symtab *physical) {
  dormc_table *tab = t->out;
  const dormc_model **models = arena_alloc(S->a, (t->models->n + 1) * sizeof *models);
  symtab types, attrs;
  symtab_init(&types);
  symtab_init(&attrs);
  for (size_t i = 0; i < t->models->n; i++) {
    model_build *mb = t->models->items[i];
    models[i] = mb->out;
    for (size_t k = 0; k < mb->nfields; k++) symtab_put(S->a, &attrs, mb->fields[k].attr, (void *)&mb->fields[k]);
    if (mb->out->entity_type) {
      model_build *prev = symtab_put(S->a, &types, mb->out->entity_type, mb);
      if (prev) {
        diag_error(S->c, mb->entity_type->str->loc, "models '%s' and '%s' in table '%s' both have entity type \"%s\"",
                   prev->out->name, mb->out->name, tab->name, mb->out->entity_type);
        diag_note(S->c, prev->entity_type->str->loc, "'%s' sets it here", prev->out->name);
      }
    }
  }
  tab->models = models;
  tab->nmodels = t->models->n;
  table_build *other = symtab_put(S->a, physical, tab->physical_name, t);
  if (other) {
    diag_error(S->c, t->item->str ? t->item->str->loc : t->item->name.loc,
               "'%s' and '%s' both use the DynamoDB table \"%s\"", other->out->name, tab->name, tab->physical_name);
    diag_note(S->c, other->item->str ? other->item->str->loc : other->item->name.loc, "'%s' is declared here",
              other->out->name);
  }
  size_t projected = 0;
  for (int kind = 0; kind < 2; kind++) {
    vec *list = kind == 0 ? t->gsis : t->lsis;
    for (size_t i = 0; i < list->n; i++) {
      index_build *ib = list->items[i];
      dormc_index *x = ib->out;
      const dormc_model **im = arena_alloc(S->a, (ib->models->n + 1) * sizeof *im);
      for (size_t k = 0; k < ib->models->n; k++) im[k] = ((model_build *)ib->models->items[k])->out;
      x->models = im;
      x->nmodels = ib->models->n;
      if (x->projection != DORMC_PROJECT_INCLUDE) continue;
      size_t before = projected;
      projected += x->ninclude;
      if (before <= MAX_PROJECTED && projected > MAX_PROJECTED) {
        diag_error(S->c, ib->m->proj.loc,
                   "more than %d projected attributes across the indexes of table '%s' (DynamoDB's limit)",
                   MAX_PROJECTED, tab->name);
      }
      if (t->models->n == 0) continue;
      for (size_t k = 0; k < x->ninclude && k < ib->m->proj_attrs->n; k++) {
        if (symtab_get(&attrs, x->include[k])) continue;
        ast_name *an = NULL;
        for (size_t j = 0; j < ib->m->proj_attrs->n; j++)
          if (strcmp(((ast_name *)ib->m->proj_attrs->items[j])->text, x->include[k]) == 0)
            an = ib->m->proj_attrs->items[j];
        diag_error(S->c, an ? an->loc : ib->m->proj.loc,
                   "unknown field '%s' in the projection of index \"%s\": no model in table '%s' stores it",
                   x->include[k], x->name, tab->name);
      }
    }
  }
}

void sema_keys(sema *S) {
  for (size_t i = 0; i < S->table_builds->n; i++) {
    table_build *t = S->table_builds->items[i];
    sema_table_settings(S, t);
    if (t->owned) owned_key(S, t);
    else shared_key(S, t);
    sema_indexes(S, t, t->owned ? owned_part_type : NULL);
  }
  for (size_t i = 0; i < S->model_builds->n; i++) {
    model_build *mb = S->model_builds->items[i];
    if (mb->table) bind_model(S, mb);
  }
  symtab physical;
  symtab_init(&physical);
  for (size_t i = 0; i < S->table_builds->n; i++) {
    table_build *t = S->table_builds->items[i];
    table_ttl(S, t);
    table_finish(S, t, &physical);
  }
}
