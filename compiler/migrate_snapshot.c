/* The snapshot of a resolved schema for migrations (see dormc_migrate.h). */
#include <string.h>

#include "dormc_migrate.h"

static dorm_key_attr key_of(const dormc_key_attr *k) {
  dorm_key_attr r = {k->attr, DORM_KEY_NONE};
  if (k->attr) r.type = k->type == DORMC_KEY_S ? DORM_KEY_S : k->type == DORMC_KEY_N ? DORM_KEY_N : DORM_KEY_B;
  return r;
}

static dorm_key_type key_type_of(dormc_key_type t) {
  return t == DORMC_KEY_S ? DORM_KEY_S : t == DORMC_KEY_N ? DORM_KEY_N : DORM_KEY_B;
}

static dorm_stream_view stream_of(dormc_stream s) {
  switch (s) {
  case DORMC_STREAM_KEYS_ONLY: return DORM_STREAM_KEYS_ONLY;
  case DORMC_STREAM_NEW_IMAGE: return DORM_STREAM_NEW_IMAGE;
  case DORMC_STREAM_OLD_IMAGE: return DORM_STREAM_OLD_IMAGE;
  case DORMC_STREAM_NEW_AND_OLD_IMAGES: return DORM_STREAM_NEW_AND_OLD_IMAGES;
  default: return DORM_STREAM_NONE;
  }
}

static dorm_status indexes(const dormc_index *xs, size_t n, dorm_arena *a, dorm_mig_index **out) {
  *out = dorm_arena_calloc(a, n ? n : 1, sizeof **out);
  if (!*out) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < n; i++) {
    dorm_mig_index *x = &(*out)[i];
    x->name = xs[i].name;
    x->pk = key_of(&xs[i].pk);
    x->sk = key_of(&xs[i].sk);
    x->projection.type = xs[i].projection == DORMC_PROJECT_KEYS_ONLY ? DORM_PROJECT_KEYS_ONLY
                         : xs[i].projection == DORMC_PROJECT_INCLUDE ? DORM_PROJECT_INCLUDE
                                                                     : DORM_PROJECT_ALL;
    x->projection.attributes = xs[i].include;
    x->projection.attribute_count = xs[i].ninclude;
  }
  return DORM_OK;
}

static dorm_status part_of(const dormc_tpl_part *p, dorm_arena *a, dorm_mig_part *out) {
  memset(out, 0, sizeof *out);
  if (p->kind == DORMC_TPL_LITERAL) {
    out->literal = p->text ? p->text : "";
    return DORM_OK;
  }
  const dormc_field *f = p->field;
  out->field = f->name;
  out->attr = f->attr;
  switch (f->type.kind) {
  case DORMC_T_INT: out->kind = DORM_MIG_INT; break;
  case DORMC_T_EPOCH: out->kind = DORM_MIG_EPOCH; break;
  case DORMC_T_TIME: out->kind = DORM_MIG_TIME; break;
  case DORMC_T_ENUM: {
    out->kind = DORM_MIG_ENUM;
    const dormc_enum *e = f->type.enum_;
    const char **vals = dorm_arena_calloc(a, e->nmembers ? e->nmembers : 1, sizeof *vals);
    if (!vals) return DORM_ERR_NO_MEMORY;
    for (size_t i = 0; i < e->nmembers; i++) vals[i] = e->members[i].value;
    out->enum_values = vals;
    out->enum_count = e->nmembers;
    break;
  }
  default: out->kind = DORM_MIG_STRING; break; /* sema allows only the scalar kinds above and string */
  }
  return DORM_OK;
}

static dorm_status model_of(const dormc_model *m, dorm_arena *a, dorm_mig_model *out) {
  out->name = m->name;
  out->table = m->table->physical_name;
  out->entity_type = m->entity_type;
  out->version_attr = m->version ? m->version->attr : NULL;
  out->keys = dorm_arena_calloc(a, m->nbindings ? m->nbindings : 1, sizeof *out->keys);
  if (!out->keys) return DORM_ERR_NO_MEMORY;
  out->key_count = m->nbindings;
  for (size_t i = 0; i < m->nbindings; i++) {
    const dormc_key_binding *b = &m->bindings[i];
    dorm_mig_key *k = &out->keys[i];
    k->attr = b->attr;
    k->type = key_type_of(b->type);
    if (b->field) {
      k->field_attr = b->field->attr;
      continue;
    }
    k->template_text = b->template_text ? b->template_text : "";
    k->parts = dorm_arena_calloc(a, b->nparts ? b->nparts : 1, sizeof *k->parts);
    if (!k->parts) return DORM_ERR_NO_MEMORY;
    k->part_count = b->nparts;
    for (size_t p = 0; p < b->nparts; p++)
      if (part_of(&b->parts[p], a, &k->parts[p]) != DORM_OK) return DORM_ERR_NO_MEMORY;
  }
  /* The fields, so that a later diff knows which are new and whether the
   * items stored before can do without them. */
  out->fields = dorm_arena_calloc(a, m->nfields ? m->nfields : 1, sizeof *out->fields);
  if (!out->fields) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < m->nfields; i++) {
    const dormc_field *f = &m->fields[i];
    dorm_mig_field *x = &out->fields[i];
    char tb[256];
    x->name = f->name;
    x->attr = f->attr;
    x->type_text = dorm_arena_strdup(a, dormc_type_str(&f->type, tb, sizeof tb));
    if (!x->type_text) return DORM_ERR_NO_MEMORY;
    dormc_type_kind k = f->type.kind;
    x->required = !f->optional && !f->omit_empty && !f->dflt && k != DORMC_T_SET && k != DORMC_T_LIST &&
                  k != DORMC_T_MAP;
    x->encrypted = f->encrypted;
    x->encrypted_known = true;
    if (f->dflt) {
      x->dflt.type = f->dflt->kind == DORMC_DEFAULT_S ? "S" : f->dflt->kind == DORMC_DEFAULT_N ? "N" : "BOOL";
      x->dflt.value = f->dflt->text;
    }
  }
  out->field_count = m->nfields;
  out->has_fields = true;
  return DORM_OK;
}

dorm_status dormc_migrate_snapshot(const dormc_schema *s, dorm_arena *a, dorm_mig_snapshot *out) {
  memset(out, 0, sizeof *out);
  out->tables = dorm_arena_calloc(a, s->ntables ? s->ntables : 1, sizeof *out->tables);
  out->models = dorm_arena_calloc(a, s->nmodels ? s->nmodels : 1, sizeof *out->models);
  if (!out->tables || !out->models) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < s->ntables; i++) {
    const dormc_table *t = &s->tables[i];
    dorm_mig_table *x = &out->tables[i];
    x->name = t->physical_name;
    x->pk = key_of(&t->pk);
    x->sk = key_of(&t->sk);
    x->billing = t->billing == DORMC_BILLING_PROVISIONED ? DORM_BILLING_PROVISIONED : DORM_BILLING_ON_DEMAND;
    if (x->billing == DORM_BILLING_PROVISIONED) {
      x->throughput.read = t->read_capacity;
      x->throughput.write = t->write_capacity;
    }
    x->stream = stream_of(t->stream);
    x->ttl_attr = t->ttl_attr;
    if (indexes(t->gsis, t->ngsis, a, &x->gsis) != DORM_OK || indexes(t->lsis, t->nlsis, a, &x->lsis) != DORM_OK)
      return DORM_ERR_NO_MEMORY;
    x->gsi_count = t->ngsis;
    x->lsi_count = t->nlsis;
  }
  out->table_count = s->ntables;
  for (size_t i = 0; i < s->nmodels; i++)
    if (model_of(&s->models[i], a, &out->models[i]) != DORM_OK) return DORM_ERR_NO_MEMORY;
  out->model_count = s->nmodels;
  dorm_mig_snapshot_sort(out);
  return DORM_OK;
}

static dormc_loc find_table_loc(const dormc_schema *s, const char *physical, const char *index) {
  dormc_loc none = {0};
  for (size_t i = 0; physical && i < s->ntables; i++) {
    const dormc_table *t = &s->tables[i];
    if (strcmp(t->physical_name, physical) != 0) continue;
    for (size_t g = 0; index && g < t->ngsis; g++)
      if (strcmp(t->gsis[g].name, index) == 0) return t->gsis[g].loc;
    for (size_t l = 0; index && l < t->nlsis; l++)
      if (strcmp(t->lsis[l].name, index) == 0) return t->lsis[l].loc;
    return t->loc;
  }
  return none;
}

dormc_loc dormc_migrate_refusal_loc(const dormc_schema *s, const dorm_mig_refusal *r) {
  dormc_loc none = {0};
  if (!s || !r) return none;
  if (!r->model) return find_table_loc(s, r->table, r->index);
  for (size_t i = 0; i < s->nmodels; i++) {
    const dormc_model *m = &s->models[i];
    if (strcmp(m->name, r->model) != 0) continue;
    for (size_t f = 0; r->attr && f < m->nfields; f++)
      if (strcmp(m->fields[f].attr, r->attr) == 0) return m->fields[f].loc;
    for (size_t b = 0; r->attr && b < m->nbindings; b++)
      if (strcmp(m->bindings[b].attr, r->attr) == 0 && m->bindings[b].loc.file) return m->bindings[b].loc;
    return m->loc;
  }
  return none;
}
