/* ct_models: the compiled registry checked against DMS documents (see
 * ct_models.h). */
#include "ct_models.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ct_values.h"
#include "ct_yaml.h"

int ct_field_by_attr(const dorm_model_desc *m, const char *attr) {
  for (uint32_t i = 0; i < m->nfields; i++)
    if (!strcmp(m->fields[i].attr[m->naming ? 1 : 0], attr)) return (int)i;
  return -1;
}

int ct_models_init(ct_models *ms, dorm_arena *a, char *err, size_t errcap) {
  ms->count = ct_compiled_model_count;
  ms->items = dorm_arena_calloc(a, ms->count ? ms->count : 1, sizeof *ms->items);
  if (!ms->items) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < ms->count; i++) {
    ms->items[i].desc = ct_compiled_models[i];
    for (size_t j = 0; j < i; j++)
      if (!strcmp(ms->items[j].desc->name, ms->items[i].desc->name)) {
        snprintf(err, errcap, "two compiled models are named %s: give the DMS models distinct names",
                 ms->items[i].desc->name);
        return -1;
      }
  }
  return 0;
}

ct_model *ct_models_find(const ct_models *ms, const char *name) {
  for (size_t i = 0; i < ms->count; i++)
    if (!strcmp(ms->items[i].desc->name, name)) return &ms->items[i];
  return NULL;
}

void ct_models_names(const ct_models *ms, char *buf, size_t cap) {
  size_t off = 0;
  if (cap) buf[0] = '\0';
  for (size_t i = 0; i < ms->count && off < cap; i++) {
    int w = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", ms->items[i].desc->name);
    if (w < 0) break;
    off += (size_t)w;
  }
}

/* ---- one DMS document ---- */

typedef struct dms {
  ct_yaml *y;
  ct_models *ms;
  dorm_arena *a;
  char *err;
  size_t errcap;
} dms;

static int dms_fail(dms *d, const yaml_node_t *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int dms_fail(dms *d, const yaml_node_t *node, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ct_yaml_errf(d->y, node, d->err, d->errcap, "%s", msg);
  return -1;
}
#define DMS_FAIL dms_fail

static const char *str_member(dms *d, const yaml_node_t *map, const char *key) {
  const yaml_node_t *v = ct_yaml_get(d->y, map, key);
  if (!v || !ct_yaml_is_scalar(v) || ct_yaml_is_null(v)) return NULL;
  return ct_yaml_text(v);
}

static bool bool_member(dms *d, const yaml_node_t *map, const char *key) {
  bool b = false;
  const yaml_node_t *v = ct_yaml_get(d->y, map, key);
  return v && ct_yaml_bool(v, &b) && b;
}

static char key_type_char(const char *t) { return t && strlen(t) == 1 ? t[0] : '?'; }

/* {attribute, type} (node; NULL or null when the DMS has none) against a
 * key descriptor (kd NULL: the compiled model has none). Positions fall
 * back to anchor. */
static int check_key(dms *d, const yaml_node_t *node, const yaml_node_t *anchor, const char *what, const char *model,
                     const dorm_key_desc *kd) {
  if (!node || ct_yaml_is_null(node)) {
    if (kd)
      return DMS_FAIL(d, anchor, "model %s: %s: missing; the compiled model has %s (%c)", model, what, kd->attr,
                      kd->type);
    return 0;
  }
  const char *attr = str_member(d, node, "attribute"), *type = str_member(d, node, "type");
  if (!kd) return DMS_FAIL(d, node, "model %s: %s: %s, but the compiled model has none", model, what, attr ? attr : "?");
  if (!attr || strcmp(attr, kd->attr) || key_type_char(type) != kd->type)
    return DMS_FAIL(d, node, "model %s: %s is %s (%s), the compiled model's is %s (%c)", model, what,
                    attr ? attr : "?", type ? type : "?", kd->attr, kd->type);
  return 0;
}

static const char *kind_format(unsigned kind) {
  switch (kind) {
  case DORM_K_TIME: return "rfc3339nano";
  case DORM_K_INT: return "int";
  case DORM_K_EPOCH: return "unix_seconds";
  default: return NULL;
  }
}

static const struct {
  const char *name;
  unsigned flag;
} roles[] = {{"pk", DORM_FF_PK},           {"sk", DORM_FF_SK},           {"created_at", DORM_FF_CREATED_AT},
             {"updated_at", DORM_FF_UPDATED_AT}, {"version", DORM_FF_VERSION}, {"ttl", DORM_FF_TTL}};

static int check_attribute(dms *d, const yaml_node_t *an, const dorm_model_desc *m, bool *seen) {
  const char *attr = str_member(d, an, "attribute");
  if (!attr) return DMS_FAIL(d, an, "model %s: an attribute without a name", m->name);
  int fi = ct_field_by_attr(m, attr);
  if (fi < 0) {
    if (m->entity_type && !strcmp(attr, "_type")) return 0;
    return DMS_FAIL(d, an, "model %s: attribute %s is not in the compiled model", m->name, attr);
  }
  if (seen[fi]) return DMS_FAIL(d, an, "model %s: attribute %s is listed twice", m->name, attr);
  seen[fi] = true;
  const dorm_field_desc *f = &m->fields[fi];
  const char *type = str_member(d, an, "type"), *format = str_member(d, an, "format");
  const char *want_type = ct_type_dynamo_name(&f->type), *want_format = kind_format(f->type.kind);
  if (!type || strcmp(type, want_type))
    return DMS_FAIL(d, an, "model %s: attribute %s has type %s, the compiled model's is %s", m->name, attr,
                    type ? type : "(none)", want_type);
  if ((format || want_format) && (!format || !want_format || strcmp(format, want_format)))
    return DMS_FAIL(d, an, "model %s: attribute %s has format %s, the compiled model's is %s", m->name, attr,
                    format ? format : "(none)", want_format ? want_format : "(none)");
  if (bool_member(d, an, "json") != (f->type.kind == DORM_K_JSON))
    return DMS_FAIL(d, an, "model %s: attribute %s: json is %s in the DMS, %s in the compiled model", m->name, attr,
                    bool_member(d, an, "json") ? "true" : "false", f->type.kind == DORM_K_JSON ? "true" : "false");
  bool optional = bool_member(d, an, "optional");
  if (optional != ((f->flags & DORM_FF_OPTIONAL) != 0))
    return DMS_FAIL(d, an, "model %s: attribute %s is %s in the DMS, %s in the compiled model", m->name, attr,
                    optional ? "optional" : "required", (f->flags & DORM_FF_OPTIONAL) ? "optional" : "required");
  bool omit = bool_member(d, an, "omit_empty");
  if (omit != ((f->flags & DORM_FF_OMIT_EMPTY) != 0))
    return DMS_FAIL(d, an, "model %s: attribute %s: omit_empty is %s in the DMS, %s in the compiled model", m->name,
                    attr, omit ? "true" : "false", (f->flags & DORM_FF_OMIT_EMPTY) ? "true" : "false");
  unsigned want_roles = f->flags & (DORM_FF_PK | DORM_FF_SK | DORM_FF_CREATED_AT | DORM_FF_UPDATED_AT |
                                    DORM_FF_VERSION | DORM_FF_TTL);
  unsigned have_roles = 0;
  const yaml_node_t *rn = ct_yaml_get(d->y, an, "roles");
  for (size_t i = 0; i < ct_yaml_seq_len(rn); i++) {
    const char *r = ct_yaml_text(ct_yaml_seq_at(d->y, rn, i));
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++)
      if (!strcmp(r, roles[k].name)) have_roles |= roles[k].flag;
  }
  if (have_roles != want_roles) {
    char want[128] = "", have[128] = "";
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
      if (want_roles & roles[k].flag)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", want[0] ? ", " : "", roles[k].name);
      if (have_roles & roles[k].flag)
        snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", have[0] ? ", " : "", roles[k].name);
    }
    return DMS_FAIL(d, rn ? rn : an, "model %s: attribute %s has roles [%s] in the DMS, [%s] in the compiled model",
                    m->name, attr, have, want);
  }
  return 0;
}

static int check_index(dms *d, const yaml_node_t *in, const dorm_model_desc *m, ct_projection *projs, bool *seen) {
  const char *name = str_member(d, in, "name"), *type = str_member(d, in, "type");
  uint32_t ix = 0;
  for (uint32_t i = 1; i < m->nindexes && !ix; i++)
    if (name && m->indexes[i].name && !strcmp(m->indexes[i].name, name)) ix = i;
  if (!ix) return DMS_FAIL(d, in, "model %s: index %s is not in the compiled model", m->name, name ? name : "(unnamed)");
  if (seen[ix]) return DMS_FAIL(d, in, "model %s: index %s is listed twice", m->name, name);
  seen[ix] = true;
  const dorm_index_desc *idx = &m->indexes[ix];
  const char *want_type = idx->kind == DORM_INDEX_LSI ? "LSI" : "GSI";
  if (!type || strcmp(type, want_type))
    return DMS_FAIL(d, in, "model %s: index %s is a %s in the DMS, a %s in the compiled model", m->name, name,
                    type ? type : "(none)", want_type);
  char what[160];
  snprintf(what, sizeof what, "index %s partition key", name);
  const yaml_node_t *pn = ct_yaml_get(d->y, in, "partition");
  /* An LSI may leave out its partition: it is the table's. */
  if (pn || idx->kind != DORM_INDEX_LSI)
    if (check_key(d, pn, in, what, m->name, &m->keys[idx->pk]) != 0) return -1;
  snprintf(what, sizeof what, "index %s sort key", name);
  const yaml_node_t *sn = ct_yaml_get(d->y, in, "sort");
  if (check_key(d, sn, in, what, m->name, idx->sk >= 0 ? &m->keys[idx->sk] : NULL) != 0) return -1;
  const yaml_node_t *proj = ct_yaml_get(d->y, in, "projection");
  const char *ptype = proj ? str_member(d, proj, "type") : NULL;
  if (!ptype) ptype = "ALL";
  static const char *const ptypes[] = {"ALL", "KEYS_ONLY", "INCLUDE"};
  const char *want_p = idx->projection < 3 ? ptypes[idx->projection] : "?";
  if (strcmp(ptype, want_p))
    return DMS_FAIL(d, proj ? proj : in, "model %s: index %s projects %s in the DMS, %s in the compiled model", m->name,
                    name, ptype, want_p);
  if (idx->projection == 2) {
    const yaml_node_t *fields = ct_yaml_get(d->y, proj, "fields");
    size_t n = ct_yaml_seq_len(fields);
    projs[ix].attrs = dorm_arena_calloc(d->a, n ? n : 1, sizeof(char *));
    if (!projs[ix].attrs) return DMS_FAIL(d, in, "out of memory");
    for (size_t i = 0; i < n; i++) {
      projs[ix].attrs[i] = dorm_arena_strdup(d->a, ct_yaml_text(ct_yaml_seq_at(d->y, fields, i)));
      if (!projs[ix].attrs[i]) return DMS_FAIL(d, in, "out of memory");
    }
    projs[ix].count = n;
  }
  return 0;
}

static int check_model(dms *d, const yaml_node_t *mn) {
  const char *name = str_member(d, mn, "name");
  if (!name) return DMS_FAIL(d, mn, "a model without a name");
  ct_model *cm = ct_models_find(d->ms, name);
  if (!cm) {
    char names[256];
    ct_models_names(d->ms, names, sizeof names);
    return DMS_FAIL(d, mn, "model %s is not compiled into dorm-contract (compiled: %s); add its DMS document to "
                           "tests/contract/dms/ and rebuild",
                    name, names);
  }
  if (cm->dms_path)
    return DMS_FAIL(d, mn, "model %s is listed again (first in %s)", name, cm->dms_path);
  const dorm_model_desc *m = cm->desc;
  const yaml_node_t *table = ct_yaml_get(d->y, mn, "table");
  const char *tname = table ? str_member(d, table, "name") : NULL;
  if (!tname || strcmp(tname, m->table))
    return DMS_FAIL(d, table ? table : mn, "model %s: table %s in the DMS, %s in the compiled model", name,
                    tname ? tname : "(none)", m->table);
  const yaml_node_t *naming = ct_yaml_get(d->y, mn, "naming");
  const char *conv = naming ? str_member(d, naming, "convention") : NULL;
  const char *want_conv = m->naming == DORM_NAMING_SNAKE ? "snake_case" : "camelCase";
  /* No convention declared: every attribute is named as stored and
   * compared below (dormc's export declares none when the names do not
   * follow the model's, e.g. PK beside snake_case names). */
  if (conv && strcmp(conv, want_conv))
    return DMS_FAIL(d, naming ? naming : mn, "model %s: naming %s in the DMS, %s in the compiled model", name, conv,
                    want_conv);
  const yaml_node_t *keys = ct_yaml_get(d->y, mn, "keys");
  if (!keys || keys->type != YAML_MAPPING_NODE) return DMS_FAIL(d, mn, "model %s: keys: missing", name);
  if (check_key(d, ct_yaml_get(d->y, keys, "partition"), keys, "partition key", name, &m->keys[0]) != 0) return -1;
  if (check_key(d, ct_yaml_get(d->y, keys, "sort"), keys, "sort key", name, m->table_keys > 1 ? &m->keys[1] : NULL) != 0)
    return -1;

  bool *seen = dorm_arena_calloc(d->a, m->nfields + 1, sizeof(bool));
  if (!seen) return DMS_FAIL(d, mn, "out of memory");
  const yaml_node_t *attrs = ct_yaml_get(d->y, mn, "attributes");
  if (!attrs || attrs->type != YAML_SEQUENCE_NODE) return DMS_FAIL(d, mn, "model %s: attributes: missing", name);
  for (size_t i = 0; i < ct_yaml_seq_len(attrs); i++)
    if (check_attribute(d, ct_yaml_seq_at(d->y, attrs, i), m, seen) != 0) return -1;
  for (uint32_t f = 0; f < m->nfields; f++)
    if (!seen[f])
      return DMS_FAIL(d, attrs, "model %s: the compiled model has attribute %s, the DMS does not", name,
                      m->fields[f].attr[m->naming ? 1 : 0]);

  ct_projection *projs = dorm_arena_calloc(d->a, m->nindexes ? m->nindexes : 1, sizeof *projs);
  bool *iseen = dorm_arena_calloc(d->a, m->nindexes ? m->nindexes : 1, sizeof(bool));
  if (!projs || !iseen) return DMS_FAIL(d, mn, "out of memory");
  const yaml_node_t *idxs = ct_yaml_get(d->y, mn, "indexes");
  for (size_t i = 0; i < ct_yaml_seq_len(idxs); i++)
    if (check_index(d, ct_yaml_seq_at(d->y, idxs, i), m, projs, iseen) != 0) return -1;
  for (uint32_t i = 1; i < m->nindexes; i++)
    if (!iseen[i])
      return DMS_FAIL(d, idxs ? idxs : mn, "model %s: the compiled model has index %s, the DMS does not", name,
                      m->indexes[i].name);
  cm->dms_path = d->y->path;
  cm->projections = projs;
  return 0;
}

/* path lives in the arena: models keep it as their dms_path. */
static int load_document(ct_models *ms, const char *path, dorm_arena *a, char *err, size_t errcap) {
  ct_yaml y;
  if (ct_yaml_load(&y, path, err, errcap, NULL) != 0) {
    ct_yaml_free(&y);
    return -1;
  }
  dms d = {&y, ms, a, err, errcap};
  const yaml_node_t *root = ct_yaml_root(&y);
  int rc = 0;
  const char *ver = root && root->type == YAML_MAPPING_NODE ? str_member(&d, root, "dms_version") : NULL;
  const yaml_node_t *models = ct_yaml_get(&y, root, "models");
  if (!root || root->type != YAML_MAPPING_NODE) rc = DMS_FAIL(&d, root, "a DMS document is a mapping");
  else if (!ver || strcmp(ver, "0.1")) rc = DMS_FAIL(&d, root, "dms_version must be \"0.1\"");
  else if (!models || models->type != YAML_SEQUENCE_NODE) rc = DMS_FAIL(&d, root, "models: missing or not a list");
  for (size_t i = 0; rc == 0 && i < ct_yaml_seq_len(models); i++) rc = check_model(&d, ct_yaml_seq_at(&y, models, i));
  ct_yaml_free(&y);
  return rc;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool dms_file_name(const char *n) {
  size_t l = strlen(n);
  return (l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml")) ||
         (l > 5 && !strcmp(n + l - 5, ".json"));
}

static int walk(ct_models *ms, const char *dir, int depth, dorm_arena *a, size_t *files, char *err, size_t errcap) {
  if (depth > 8) return 0;
  DIR *dh = opendir(dir);
  if (!dh) {
    snprintf(err, errcap, "%s: cannot read the DMS directory: %s", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(dh))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) {
        rc = -1;
        break;
      }
      names = nn;
    }
    names[n] = strdup(e->d_name);
    if (!names[n]) {
      rc = -1;
      break;
    }
    n++;
  }
  closedir(dh);
  if (rc) snprintf(err, errcap, "out of memory");
  if (rc == 0 && n) qsort(names, n, sizeof *names, name_cmp);
  for (size_t i = 0; i < n && rc == 0; i++) {
    char *path = dorm_arena_printf(a, "%s/%s", dir, names[i]);
    struct stat st;
    if (!path) {
      snprintf(err, errcap, "out of memory");
      rc = -1;
    } else if (stat(path, &st) != 0) {
      snprintf(err, errcap, "%s: %s", path, strerror(errno));
      rc = -1;
    } else if (S_ISDIR(st.st_mode)) {
      rc = walk(ms, path, depth + 1, a, files, err, errcap);
    } else if (dms_file_name(names[i])) {
      (*files)++;
      rc = load_document(ms, path, a, err, errcap);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

int ct_dms_load_dir(ct_models *ms, const char *dir, dorm_arena *a, char *err, size_t errcap) {
  size_t files = 0;
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
    /* One document. */
    const char *path = dorm_arena_strdup(a, dir);
    if (!path) {
      snprintf(err, errcap, "out of memory");
      return -1;
    }
    return load_document(ms, path, a, err, errcap);
  }
  if (walk(ms, dir, 0, a, &files, err, errcap) != 0) return -1;
  if (!files) {
    snprintf(err, errcap, "%s: no DMS documents (*.yml, *.yaml, *.json) there", dir);
    return -1;
  }
  return 0;
}
