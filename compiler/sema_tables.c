/* Semantic analysis of tables and models: table statements (key, billing,
 * stream, ttl, indexes), the models' own statements and fields, and the
 * tables that models own. Key bindings are in sema_keys.c. */
#include <string.h>

#include "sema_int.h"

#define MAX_GSIS 20
#define MAX_LSIS 5

/* DynamoDB's rule for table and index names. */
static bool valid_ddb_name(const char *s) {
  size_t n = strlen(s);
  if (n < 3 || n > 255) return false;
  for (; *s; s++) {
    char ch = *s;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

table_build *sema_table_build(sema *S, ast_item *item, bool owned, dormc_table *out) {
  table_build *t = arena_alloc(S->a, sizeof *t);
  t->out = out;
  t->item = item;
  t->owned = owned;
  t->gsis = vec_new(S->a);
  t->lsis = vec_new(S->a);
  t->models = vec_new(S->a);
  out->name = item->name.text;
  out->loc = item->name.loc;
  if (!item->str) {
    diag_error(S->c, item->name.loc, "table '%s' needs its DynamoDB name: table %s \"%s\" { ... }", item->name.text,
               item->name.text, item->name.text);
    out->physical_name = item->name.text;
  } else {
    out->physical_name = item->str->value;
    if (!valid_ddb_name(item->str->value))
      diag_error(S->c, item->str->loc,
                 "invalid table name \"%s\": DynamoDB table names are 3 to 255 letters, digits, '_', '-' or '.'",
                 item->str->value);
  }
  vec_push(S->a, S->table_builds, t);
  return t;
}

static bool single(sema *S, ast_member **slot, ast_member *m) {
  if (*slot) {
    diag_error(S->c, m->kw_loc, "duplicate '%s' statement", ast_member_kind_name(m->kind));
    diag_note(S->c, (*slot)->kw_loc, "first '%s' statement here", ast_member_kind_name(m->kind));
    return false;
  }
  *slot = m;
  return true;
}

void sema_table_member(sema *S, table_build *t, ast_member *m) {
  switch (m->kind) {
  case AST_M_KEY_DECL: single(S, &t->key_decl, m); break;
  case AST_M_BILLING: single(S, &t->billing, m); break;
  case AST_M_STREAM: single(S, &t->stream, m); break;
  case AST_M_TTL: single(S, &t->ttl, m); break;
  case AST_M_GSI:
  case AST_M_LSI: {
    index_build *ib = arena_alloc(S->a, sizeof *ib);
    ib->m = m;
    ib->models = vec_new(S->a);
    vec_push(S->a, m->kind == AST_M_GSI ? t->gsis : t->lsis, ib);
    break;
  }
  default: break;
  }
}

static const char *const stream_names[] = {"keys_only", "new_image", "old_image", "new_and_old_images"};

void sema_table_settings(sema *S, table_build *t) {
  dormc_table *out = t->out;
  out->billing = DORMC_BILLING_ON_DEMAND;
  if (t->billing) {
    ast_member *m = t->billing;
    const char *mode = m->name.text;
    if (strcmp(mode, "on_demand") == 0) {
      if (m->settings) diag_error(S->c, m->name.loc, "billing on_demand takes no settings");
    } else if (strcmp(mode, "provisioned") == 0) {
      out->billing = DORMC_BILLING_PROVISIONED;
      bool have_r = false, have_w = false;
      for (size_t i = 0; m->settings && i < m->settings->n; i++) {
        ast_setting *st = m->settings->items[i];
        int64_t *slot = NULL;
        bool *have = NULL;
        if (strcmp(st->name.text, "read") == 0) slot = &out->read_capacity, have = &have_r;
        else if (strcmp(st->name.text, "write") == 0) slot = &out->write_capacity, have = &have_w;
        if (!slot) {
          diag_error(S->c, st->name.loc, "unknown capacity '%s'; provisioned takes read and write", st->name.text);
          continue;
        }
        if (*have) {
          diag_error(S->c, st->name.loc, "'%s' is given twice", st->name.text);
          continue;
        }
        *have = true;
        if (st->value->kind != AST_V_INT || st->value->num < 1) {
          diag_error(S->c, st->value->loc, "%s capacity must be a positive integer", st->name.text);
          continue;
        }
        *slot = st->value->num;
      }
      if (!have_r || !have_w)
        diag_error(S->c, m->name.loc, "provisioned billing needs both capacities: provisioned(read N, write N)");
    } else {
      const char *const modes[] = {"on_demand", "provisioned"};
      const char *s = closest_name(mode, modes, 2);
      diag_error(S->c, m->name.loc, "unknown billing mode '%s'%s%s%s; use on_demand or provisioned(read N, write N)",
                 mode, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    }
  }
  out->stream = DORMC_STREAM_NONE;
  if (t->stream) {
    const char *v = t->stream->name.text;
    int found = -1;
    for (int i = 0; i < 4; i++)
      if (strcmp(v, stream_names[i]) == 0) found = i;
    if (found < 0) {
      const char *s = closest_name(v, stream_names, 4);
      diag_error(S->c, t->stream->name.loc,
                 "unknown stream view '%s'%s%s%s; use keys_only, new_image, old_image or new_and_old_images", v,
                 s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    } else {
      out->stream = (dormc_stream)(found + 1);
    }
  }
}

bool key_type_letter(sema *S, const ast_name *n, dormc_key_type *out) {
  if (strcmp(n->text, "S") == 0) *out = DORMC_KEY_S;
  else if (strcmp(n->text, "N") == 0) *out = DORMC_KEY_N;
  else if (strcmp(n->text, "B") == 0) *out = DORMC_KEY_B;
  else {
    diag_error(S->c, n->loc, "unknown key type '%s'; a key attribute is S (string), N (number) or B (binary)",
               n->text);
    return false;
  }
  return true;
}

/* ---- models ------------------------------------------------------------ */

static bool is_table_stmt(ast_member_kind k) {
  return k == AST_M_KEY_DECL || k == AST_M_GSI || k == AST_M_LSI || k == AST_M_BILLING || k == AST_M_STREAM ||
         k == AST_M_TTL;
}

static table_build *find_shared_table(sema *S, ast_item *it) {
  decl_info *d = symtab_get(&S->decls, it->in_table.text);
  if (!d) {
    const char **names = arena_alloc(S->a, (S->order->n + 1) * sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < S->order->n && S->order->n <= 2000; i++) {
      decl_info *x = S->order->items[i];
      if (x->kind == AST_I_TABLE) names[k++] = x->name;
    }
    const char *s = closest_name(it->in_table.text, names, k);
    if (s) diag_error(S->c, it->in_table.loc, "unknown table '%s'; did you mean '%s'?", it->in_table.text, s);
    else diag_error(S->c, it->in_table.loc, "unknown table '%s'", it->in_table.text);
    return NULL;
  }
  if (d->kind != AST_I_TABLE) {
    diag_error(S->c, it->in_table.loc, "'%s' is a %s, not a table; 'in' names a table declared with 'table'",
               d->name, ast_item_kind_name(d->kind));
    diag_note(S->c, d->item->name.loc, "'%s' is declared here", d->name);
    return NULL;
  }
  return d->table;
}

void sema_model(sema *S, decl_info *d) {
  ast_item *it = d->item;
  dormc_model *m = d->resolved;
  model_build *mb = arena_alloc(S->a, sizeof *mb);
  mb->item = it;
  mb->out = m;
  mb->templates = vec_new(S->a);
  mb->bindings = vec_new(S->a);
  mb->indexes = vec_new(S->a);
  m->name = d->name;
  m->loc = it->name.loc;
  vec_push(S->a, S->model_builds, mb);

  table_build *t = NULL;
  if (it->home == AST_HOME_IN) {
    t = find_shared_table(S, it);
  } else if (it->home == AST_HOME_TABLE) {
    dormc_table *slot = &S->tables[S->owned_next++];
    t = sema_table_build(S, it, true, slot);
    t->owner = mb;
    slot->owner = m;
  } else {
    diag_error(S->c, it->name.loc,
               "model '%s' has no table: write 'model %s in <table> {' or 'model %s table \"<name>\" {'", d->name,
               d->name, d->name);
  }
  mb->table = t;
  if (t) {
    vec_push(S->a, t->models, mb);
    m->table = t->out;
  }

  const char *desc = arena_printf(S->a, "model '%s'", d->name);
  vec *ms = it->body->members;
  for (size_t i = 0; i < ms->n; i++) {
    ast_member *x = ms->items[i];
    switch (x->kind) {
    case AST_M_FIELD: break;
    case AST_M_ENTITY_TYPE:
      if (single(S, &mb->entity_type, x)) {
        if (x->str->len == 0) diag_error(S->c, x->str->loc, "the entity type cannot be empty");
        m->entity_type = x->str->value;
      }
      break;
    case AST_M_NAMING:
      if (single(S, &mb->naming, x)) {
        if (strcmp(x->name.text, "camelCase") == 0) m->naming = DORMC_NAMING_CAMEL;
        else if (strcmp(x->name.text, "snake_case") == 0) m->naming = DORMC_NAMING_SNAKE;
        else
          diag_error(S->c, x->name.loc, "unknown naming '%s'; use camelCase or snake_case", x->name.text);
      }
      break;
    case AST_M_KEY_TEMPLATE: vec_push(S->a, mb->templates, x); break;
    default:
      if (!is_table_stmt(x->kind)) {
        sema_not_allowed(S, x, "a model");
      } else if (it->home == AST_HOME_TABLE) {
        if (t) sema_table_member(S, t, x);
      } else if (it->home == AST_HOME_IN) {
        const char *tn = it->in_table.text;
        if (x->kind == AST_M_LSI)
          diag_error(S->c, x->kw_loc,
                     "an lsi is not allowed in model '%s', which lives in the shared table '%s'; declare it on the "
                     "table",
                     d->name, tn);
        else if (x->kind == AST_M_KEY_DECL)
          diag_error(S->c, x->kw_loc,
                     "model '%s' lives in table '%s', whose key is declared there; fill it with key templates "
                     "(key PK = \"...\";)",
                     d->name, tn);
        else
          diag_error(S->c, x->kw_loc, "'%s' is a setting of table '%s'; declare it on the table",
                     ast_member_kind_name(x->kind), tn);
        if (t) diag_note(S->c, t->item->name.loc, "table '%s' is declared here", tn);
      }
      break;
    }
  }
  m->fields = sema_fields(S, ms, OWNER_MODEL, m->naming, desc, &m->nfields, &mb->field_members);
  mb->fields = (dormc_field *)m->fields;
  mb->nfields = m->nfields;
  for (size_t i = 0; i < m->nfields; i++) {
    const dormc_field *f = &m->fields[i];
    if (f->roles & DORMC_ROLE_CREATED_AT) m->created_at = f;
    if (f->roles & DORMC_ROLE_UPDATED_AT) m->updated_at = f;
    if (f->roles & DORMC_ROLE_VERSION) m->version = f;
    if (f->roles & DORMC_ROLE_TTL) m->ttl = f;
    if (m->entity_type && strcmp(f->attr, "_type") == 0) {
      diag_error(S->c, f->loc, "field '%s' is stored as '_type', which holds the entity type of model '%s'", f->name,
                 d->name);
      diag_note(S->c, mb->entity_type->kw_loc, "the entity type is set here");
    }
  }
}

/* ---- indexes ----------------------------------------------------------- */

/* Resolves index key parts, names, projections and limits of one table.
 * part_type resolves a part written without a type (owned tables only). */
void sema_indexes(sema *S, table_build *t,
                  bool (*part_type)(sema *, table_build *, ast_keypart *, const char **, dormc_key_type *, bool quiet)) {
  dormc_table *out = t->out;
  symtab names;
  symtab_init(&names);
  for (int kind = 0; kind < 2; kind++) {
    vec *list = kind == 0 ? t->gsis : t->lsis;
    dormc_index *arr = list->n ? arena_alloc(S->a, list->n * sizeof *arr) : NULL;
    for (size_t i = 0; i < list->n; i++) {
      index_build *ib = list->items[i];
      ast_member *m = ib->m;
      dormc_index *x = &arr[i];
      ib->out = x;
      x->name = m->str->value;
      x->kind = kind == 0 ? DORMC_GSI : DORMC_LSI;
      x->loc = m->str->loc;
      x->table = out;
      ib->ok = true;
      if (kind == 0 && i == MAX_GSIS) {
        diag_error(S->c, m->kw_loc, "table '%s' has more than %d global secondary indexes", out->name, MAX_GSIS);
      }
      if (kind == 1 && i == MAX_LSIS) {
        diag_error(S->c, m->kw_loc, "table '%s' has more than %d local secondary indexes", out->name, MAX_LSIS);
      }
      if (!valid_ddb_name(x->name))
        diag_error(S->c, m->str->loc,
                   "invalid index name \"%s\": index names are 3 to 255 letters, digits, '_', '-' or '.'", x->name);
      index_build *prev = symtab_put(S->a, &names, x->name, ib);
      if (prev) {
        diag_error(S->c, m->str->loc, "duplicate index name \"%s\" in table '%s'", x->name, out->name);
        diag_note(S->c, prev->m->str->loc, "\"%s\" first declared here", x->name);
      }
      size_t np = m->parts->n;
      if (kind == 0 && (np < 1 || np > 2)) {
        diag_error(S->c, m->kw_loc, "a gsi has a partition key and an optional sort key: (PK: S) or (PK: S, SK: S)");
        ib->ok = false;
      } else if (kind == 1 && np != 1) {
        diag_error(S->c, m->kw_loc,
                   "an lsi declares only its sort key, (attr: S); its partition key is the table's");
        ib->ok = false;
      }
      if (kind == 1 && out->pk.attr && !out->sk.attr && t->key_ok) {
        diag_error(S->c, m->kw_loc, "an lsi needs a table with a sort key, and table '%s' has none", out->name);
        diag_note(S->c, t->key_loc, "the table's key is declared here");
        ib->ok = false;
      }
      for (size_t k = 0; k < np && k < 2; k++) {
        ast_keypart *kp = m->parts->items[k];
        ib->part_loc[k] = kp->loc;
        if (kp->type.text) {
          ib->attr[k] = kp->attr.text;
          ib->typed[k] = true;
          /* In an owned table a part may name a field; its attribute is the field's. */
          const char *attr;
          dormc_key_type ignored;
          if (part_type && part_type(S, t, kp, &attr, &ignored, true)) ib->attr[k] = attr;
          if (!key_type_letter(S, &kp->type, &ib->type[k])) ib->ok = false;
        } else if (part_type) {
          if (!part_type(S, t, kp, &ib->attr[k], &ib->type[k], false)) ib->ok = false;
        } else {
          diag_error(S->c, kp->attr.loc, "index key '%s' needs a type in a table: (%s: S)", kp->attr.text,
                     kp->attr.text);
          ib->ok = false;
          ib->attr[k] = kp->attr.text;
        }
      }
      ib->nparts = np > 2 ? 2 : np;
      if (ib->nparts == 2 && ib->attr[0] && ib->attr[1] && strcmp(ib->attr[0], ib->attr[1]) == 0) {
        diag_error(S->c, ib->part_loc[1], "index \"%s\" uses attribute '%s' twice", x->name, ib->attr[0]);
        ib->ok = false;
      }
      if (kind == 0) {
        x->pk.attr = ib->attr[0];
        x->pk.type = ib->type[0];
        if (ib->nparts == 2) {
          x->sk.attr = ib->attr[1];
          x->sk.type = ib->type[1];
        }
      } else {
        x->pk = out->pk;
        x->sk.attr = ib->attr[0];
        x->sk.type = ib->type[0];
        if (ib->attr[0] && out->sk.attr && strcmp(ib->attr[0], out->sk.attr) == 0) {
          diag_error(S->c, ib->part_loc[0], "lsi \"%s\" sorts on '%s', which is already the table's sort key",
                     x->name, ib->attr[0]);
          ib->ok = false;
        }
      }
      /* Projection. */
      x->projection = DORMC_PROJECT_ALL;
      if (m->proj.text) {
        const char *p = m->proj.text;
        if (strcmp(p, "all") == 0 || strcmp(p, "keys_only") == 0) {
          x->projection = p[0] == 'a' ? DORMC_PROJECT_ALL : DORMC_PROJECT_KEYS_ONLY;
          if (m->proj_attrs) diag_error(S->c, m->proj.loc, "project %s takes no attribute list", p);
        } else if (strcmp(p, "include") == 0) {
          x->projection = DORMC_PROJECT_INCLUDE;
          if (!m->proj_attrs) {
            diag_error(S->c, m->proj.loc, "project include needs attributes: include(a, b)");
          } else {
            const char **inc = arena_alloc(S->a, m->proj_attrs->n * sizeof *inc);
            symtab seen;
            symtab_init(&seen);
            size_t n = 0;
            for (size_t k = 0; k < m->proj_attrs->n; k++) {
              ast_name *a = m->proj_attrs->items[k];
              if (symtab_put(S->a, &seen, a->text, a)) {
                diag_error(S->c, a->loc, "'%s' is projected twice", a->text);
                continue;
              }
              inc[n++] = a->text;
            }
            x->include = inc;
            x->ninclude = n;
          }
        } else {
          const char *const kinds[] = {"all", "keys_only", "include"};
          const char *s = closest_name(p, kinds, 3);
          diag_error(S->c, m->proj.loc, "unknown projection '%s'%s%s%s; use all, keys_only or include(a, b)", p,
                     s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
        }
      }
    }
    if (kind == 0) {
      out->gsis = arr;
      out->ngsis = list->n;
    } else {
      out->lsis = arr;
      out->nlsis = list->n;
    }
  }
}
