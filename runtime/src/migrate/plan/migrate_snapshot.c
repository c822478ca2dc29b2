/* snapshot.json: the tables of a schema and how its models fill key
 * attributes, written deterministically (sorted by name) and read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

#define SNAPSHOT_FORMAT "dorm-snapshot/1"

static int cmp_index(const void *a, const void *b) {
  return strcmp(((const dorm_mig_index *)a)->name, ((const dorm_mig_index *)b)->name);
}
static int cmp_table(const void *a, const void *b) {
  return strcmp(((const dorm_mig_table *)a)->name, ((const dorm_mig_table *)b)->name);
}
static int cmp_model(const void *a, const void *b) {
  return strcmp(((const dorm_mig_model *)a)->name, ((const dorm_mig_model *)b)->name);
}

void dorm_mig_snapshot_sort(dorm_mig_snapshot *s) {
  if (s->table_count > 1) qsort(s->tables, s->table_count, sizeof *s->tables, cmp_table);
  for (size_t i = 0; i < s->table_count; i++) {
    dorm_mig_table *t = &s->tables[i];
    if (t->gsi_count > 1) qsort(t->gsis, t->gsi_count, sizeof *t->gsis, cmp_index);
    if (t->lsi_count > 1) qsort(t->lsis, t->lsi_count, sizeof *t->lsis, cmp_index);
  }
  if (s->model_count > 1) qsort(s->models, s->model_count, sizeof *s->models, cmp_model);
}

static cJSON *index_json(const dorm_mig_index *x, bool lsi) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", x->name);
  if (!lsi) cJSON_AddItemToObject(o, "pk", dorm__mj_key_attr(&x->pk));
  cJSON_AddItemToObject(o, "sk", dorm__mj_key_attr(&x->sk));
  cJSON_AddStringToObject(o, "projection", dorm_projection_type_name(x->projection.type));
  if (x->projection.type == DORM_PROJECT_INCLUDE) {
    cJSON *inc = cJSON_CreateArray();
    for (size_t i = 0; i < x->projection.attribute_count; i++)
      cJSON_AddItemToArray(inc, cJSON_CreateString(x->projection.attributes[i]));
    cJSON_AddItemToObject(o, "include", inc);
  }
  return o;
}

static cJSON *table_json(const dorm_mig_table *t) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", t->name);
  cJSON_AddItemToObject(o, "pk", dorm__mj_key_attr(&t->pk));
  cJSON_AddItemToObject(o, "sk", dorm__mj_key_attr(&t->sk));
  cJSON_AddStringToObject(o, "billing", dorm_billing_mode_name(t->billing));
  if (t->billing == DORM_BILLING_PROVISIONED) {
    cJSON_AddNumberToObject(o, "read_capacity", (double)t->throughput.read);
    cJSON_AddNumberToObject(o, "write_capacity", (double)t->throughput.write);
  }
  cJSON_AddStringToObject(o, "stream", dorm_stream_view_name(t->stream));
  if (t->ttl_attr) cJSON_AddStringToObject(o, "ttl", t->ttl_attr);
  else cJSON_AddNullToObject(o, "ttl");
  cJSON *g = cJSON_AddArrayToObject(o, "gsis");
  for (size_t i = 0; i < t->gsi_count; i++) cJSON_AddItemToArray(g, index_json(&t->gsis[i], false));
  cJSON *l = cJSON_AddArrayToObject(o, "lsis");
  for (size_t i = 0; i < t->lsi_count; i++) cJSON_AddItemToArray(l, index_json(&t->lsis[i], true));
  return o;
}

static cJSON *model_json(const dorm_mig_model *m) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", m->name);
  cJSON_AddStringToObject(o, "table", m->table);
  if (m->entity_type) cJSON_AddStringToObject(o, "entity_type", m->entity_type);
  else cJSON_AddNullToObject(o, "entity_type");
  if (m->version_attr) cJSON_AddStringToObject(o, "version_attribute", m->version_attr);
  else cJSON_AddNullToObject(o, "version_attribute");
  cJSON *keys = cJSON_AddArrayToObject(o, "keys");
  for (size_t i = 0; i < m->key_count; i++) {
    const dorm_mig_key *k = &m->keys[i];
    cJSON *ko = cJSON_CreateObject();
    cJSON_AddStringToObject(ko, "attribute", k->attr);
    cJSON_AddStringToObject(ko, "type", dorm_key_type_name(k->type));
    if (k->field_attr) {
      cJSON_AddStringToObject(ko, "field_attribute", k->field_attr);
    } else {
      cJSON_AddStringToObject(ko, "template", k->template_text ? k->template_text : "");
      cJSON_AddItemToObject(ko, "parts", dorm__mj_parts(k->parts, k->part_count));
    }
    cJSON_AddItemToArray(keys, ko);
  }
  if (m->has_fields) {
    cJSON *fields = cJSON_AddArrayToObject(o, "fields");
    for (size_t i = 0; i < m->field_count; i++) {
      const dorm_mig_field *f = &m->fields[i];
      cJSON *fo = cJSON_CreateObject();
      cJSON_AddStringToObject(fo, "name", f->name);
      cJSON_AddStringToObject(fo, "attribute", f->attr);
      cJSON_AddStringToObject(fo, "type", f->type_text ? f->type_text : "");
      cJSON_AddBoolToObject(fo, "required", f->required);
      if (f->encrypted_known) cJSON_AddBoolToObject(fo, "encrypted", f->encrypted);
      dorm__mj_default(fo, &f->dflt);
      cJSON_AddItemToArray(fields, fo);
    }
  }
  return o;
}

dorm_status dorm_mig_snapshot_json(const dorm_mig_snapshot *s, dorm_arena *a, const char **json) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return DORM_ERR_NO_MEMORY;
  cJSON_AddStringToObject(root, "format", SNAPSHOT_FORMAT);
  cJSON *tables = cJSON_AddArrayToObject(root, "tables");
  for (size_t i = 0; i < s->table_count; i++) cJSON_AddItemToArray(tables, table_json(&s->tables[i]));
  cJSON *models = cJSON_AddArrayToObject(root, "models");
  for (size_t i = 0; i < s->model_count; i++) cJSON_AddItemToArray(models, model_json(&s->models[i]));
  dorm__buf b = DORM__BUF_INIT;
  dorm__mig_json_pretty(&b, root, 0);
  dorm__buf_puts(&b, "\n");
  cJSON_Delete(root);
  *json = dorm__buf_to_arena(&b, a);
  return *json ? DORM_OK : DORM_ERR_NO_MEMORY;
}

static bool read_index(mig_reader *r, const cJSON *o, dorm_mig_index *x, bool lsi, const dorm_key_attr *table_pk,
                       const char *path) {
  x->name = dorm__mr_str(r, o, "name", true, path);
  if (lsi) x->pk = *table_pk;
  else if (!dorm__mig_key_attr_read(r, o, "pk", &x->pk, path)) return false;
  if (!lsi && !x->pk.name) dorm__mr_fail(r, "%s.pk: missing", path);
  if (!dorm__mig_key_attr_read(r, o, "sk", &x->sk, path)) return false;
  if (lsi && !x->sk.name) dorm__mr_fail(r, "%s.sk: missing", path);
  const char *proj = dorm__mr_str(r, o, "projection", true, path);
  if (r->status != DORM_OK) return false;
  bool ok;
  x->projection.type = dorm__mig_projection_from(proj, &ok);
  if (!ok) {
    dorm__mr_fail(r, "%s.projection: \"%s\" is not ALL, KEYS_ONLY or INCLUDE", path, proj);
    return false;
  }
  if (x->projection.type == DORM_PROJECT_INCLUDE) {
    const cJSON *inc = dorm__mr_arr(r, o, "include", true, path);
    if (!inc) return false;
    size_t n = (size_t)cJSON_GetArraySize(inc);
    const char **attrs = dorm_arena_calloc(r->a, n ? n : 1, sizeof *attrs);
    if (!attrs) {
      r->status = DORM_ERR_NO_MEMORY;
      return false;
    }
    size_t i = 0;
    for (const cJSON *e = inc->child; e; e = e->next, i++) {
      if (!cJSON_IsString(e)) {
        dorm__mr_fail(r, "%s.include[%zu]: not a string", path, i);
        return false;
      }
      attrs[i] = dorm_arena_strdup(r->a, e->valuestring);
    }
    x->projection.attributes = attrs;
    x->projection.attribute_count = n;
  }
  return r->status == DORM_OK;
}

static bool read_indexes(mig_reader *r, const cJSON *o, const char *member, bool lsi, dorm_mig_table *t,
                         const char *path) {
  const cJSON *arr = dorm__mr_arr(r, o, member, true, path);
  if (!arr) return false;
  size_t n = (size_t)cJSON_GetArraySize(arr);
  dorm_mig_index *xs = dorm_arena_calloc(r->a, n ? n : 1, sizeof *xs);
  if (!xs) {
    r->status = DORM_ERR_NO_MEMORY;
    return false;
  }
  size_t i = 0;
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s.%s[%zu]", path, member, i);
    if (!read_index(r, e, &xs[i], lsi, &t->pk, sub)) return false;
  }
  if (lsi) {
    t->lsis = xs;
    t->lsi_count = n;
  } else {
    t->gsis = xs;
    t->gsi_count = n;
  }
  return true;
}

static bool read_table(mig_reader *r, const cJSON *o, dorm_mig_table *t, const char *path) {
  t->name = dorm__mr_str(r, o, "name", true, path);
  if (!dorm__mig_key_attr_read(r, o, "pk", &t->pk, path)) return false;
  if (!t->pk.name) {
    dorm__mr_fail(r, "%s.pk: missing", path);
    return false;
  }
  if (!dorm__mig_key_attr_read(r, o, "sk", &t->sk, path)) return false;
  const char *billing = dorm__mr_str(r, o, "billing", true, path);
  if (r->status != DORM_OK) return false;
  if (strcmp(billing, "PAY_PER_REQUEST") == 0) {
    t->billing = DORM_BILLING_ON_DEMAND;
  } else if (strcmp(billing, "PROVISIONED") == 0) {
    t->billing = DORM_BILLING_PROVISIONED;
    t->throughput.read = (int64_t)dorm__mr_num(r, o, "read_capacity", true, path);
    t->throughput.write = (int64_t)dorm__mr_num(r, o, "write_capacity", true, path);
  } else {
    dorm__mr_fail(r, "%s.billing: \"%s\" is not PAY_PER_REQUEST or PROVISIONED", path, billing);
    return false;
  }
  const char *stream = dorm__mr_str(r, o, "stream", true, path);
  if (r->status != DORM_OK) return false;
  t->stream = dorm__mig_stream_from(stream);
  if ((int)t->stream < 0) {
    dorm__mr_fail(r, "%s.stream: unknown stream view \"%s\"", path, stream);
    return false;
  }
  t->ttl_attr = dorm__mr_str(r, o, "ttl", false, path);
  return read_indexes(r, o, "gsis", false, t, path) && read_indexes(r, o, "lsis", true, t, path);
}

static bool read_model(mig_reader *r, const cJSON *o, dorm_mig_model *m, const char *path) {
  m->name = dorm__mr_str(r, o, "name", true, path);
  m->table = dorm__mr_str(r, o, "table", true, path);
  m->entity_type = dorm__mr_str(r, o, "entity_type", false, path);
  m->version_attr = dorm__mr_str(r, o, "version_attribute", false, path);
  const cJSON *keys = dorm__mr_arr(r, o, "keys", true, path);
  if (!keys) return false;
  size_t n = (size_t)cJSON_GetArraySize(keys);
  dorm_mig_key *ks = dorm_arena_calloc(r->a, n ? n : 1, sizeof *ks);
  if (!ks) {
    r->status = DORM_ERR_NO_MEMORY;
    return false;
  }
  size_t i = 0;
  for (const cJSON *e = keys->child; e && r->status == DORM_OK; e = e->next, i++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s.keys[%zu]", path, i);
    dorm_mig_key *k = &ks[i];
    k->attr = dorm__mr_str(r, e, "attribute", true, sub);
    const char *type = dorm__mr_str(r, e, "type", true, sub);
    if (r->status != DORM_OK) break;
    k->type = dorm__mig_key_type_from(type);
    if (!k->type) dorm__mr_fail(r, "%s.type: \"%s\" is not S, N or B", sub, type);
    k->field_attr = dorm__mr_str(r, e, "field_attribute", false, sub);
    if (!k->field_attr) {
      k->template_text = dorm__mr_str(r, e, "template", true, sub);
      char psub[300];
      snprintf(psub, sizeof psub, "%s.parts", sub);
      dorm__mig_parts_read(r, dorm__mr_arr(r, e, "parts", true, sub), &k->parts, &k->part_count, psub);
    }
  }
  m->keys = ks;
  m->key_count = n;
  /* "fields" came later: a snapshot without it says nothing about fields. */
  const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
  if (r->status != DORM_OK || !fields) return r->status == DORM_OK;
  fields = dorm__mr_arr(r, o, "fields", true, path);
  if (!fields) return false;
  size_t nf = (size_t)cJSON_GetArraySize(fields);
  m->fields = dorm_arena_calloc(r->a, nf ? nf : 1, sizeof *m->fields);
  if (!m->fields) {
    r->status = DORM_ERR_NO_MEMORY;
    return false;
  }
  i = 0;
  for (const cJSON *e = fields->child; e && r->status == DORM_OK; e = e->next, i++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s.fields[%zu]", path, i);
    dorm_mig_field *f = &m->fields[i];
    f->name = dorm__mr_str(r, e, "name", true, sub);
    f->attr = dorm__mr_str(r, e, "attribute", true, sub);
    f->type_text = dorm__mr_str(r, e, "type", false, sub);
    f->required = dorm__mr_bool(r, e, "required", sub);
    f->encrypted_known = cJSON_GetObjectItemCaseSensitive(e, "encrypted") != NULL;
    f->encrypted = dorm__mr_bool(r, e, "encrypted", sub);
    if (!dorm__mig_default_read(r, e, &f->dflt, sub)) break;
  }
  m->field_count = nf;
  m->has_fields = true;
  return r->status == DORM_OK;
}

dorm_status dorm_mig_snapshot_parse(const char *json, size_t len, dorm_arena *a, dorm_mig_snapshot *out,
                                    char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) return dorm__fail(errbuf, errcap, DORM_ERR_BAD_RESPONSE, "snapshot.json: not valid JSON");
  mig_reader r = {a, errbuf, errcap, DORM_OK, "snapshot.json"};
  const char *format = dorm__mr_str(&r, root, "format", true, "");
  if (r.status == DORM_OK && strcmp(format, SNAPSHOT_FORMAT) != 0)
    dorm__mr_fail(&r, ".format: \"%s\" (this dorm reads %s)", format, SNAPSHOT_FORMAT);
  const cJSON *tables = dorm__mr_arr(&r, root, "tables", true, "");
  const cJSON *models = dorm__mr_arr(&r, root, "models", true, "");
  if (r.status == DORM_OK) {
    size_t nt = (size_t)cJSON_GetArraySize(tables), nm = (size_t)cJSON_GetArraySize(models);
    out->tables = dorm_arena_calloc(a, nt ? nt : 1, sizeof *out->tables);
    out->models = dorm_arena_calloc(a, nm ? nm : 1, sizeof *out->models);
    if (!out->tables || !out->models) r.status = DORM_ERR_NO_MEMORY;
    size_t i = 0;
    for (const cJSON *e = tables->child; e && r.status == DORM_OK; e = e->next, i++) {
      char sub[64];
      snprintf(sub, sizeof sub, ".tables[%zu]", i);
      read_table(&r, e, &out->tables[i], sub);
    }
    out->table_count = nt;
    i = 0;
    for (const cJSON *e = models->child; e && r.status == DORM_OK; e = e->next, i++) {
      char sub[64];
      snprintf(sub, sizeof sub, ".models[%zu]", i);
      read_model(&r, e, &out->models[i], sub);
    }
    out->model_count = nm;
  }
  cJSON_Delete(root);
  if (r.status != DORM_OK) memset(out, 0, sizeof *out);
  return r.status;
}
