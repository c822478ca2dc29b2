/* ct_scenario: reading a scenario file into steps (see ct_scenario.h). */
#include "ct_scenario.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_parse.h"

static const struct {
  const char *name;
  ct_op op;
  const char *const keys[12];
} ops[] = {
    {"create", CT_OP_CREATE, {"op", "item", "if_not_exists", "expect", NULL}},
    {"get", CT_OP_GET, {"op", "key", "save", "expect", NULL}},
    {"update", CT_OP_UPDATE, {"op", "item", "fields", "expect", NULL}},
    {"delete", CT_OP_DELETE, {"op", "key", "expect", NULL}},
    {"sleep", CT_OP_SLEEP, {"op", "ms", NULL}},
    {"query",
     CT_OP_QUERY,
     {"op", "index", "partition", "sort", "limit", "order", "cursor", "save_cursor", "fields", "filter", "expect",
      NULL}},
    {"scan", CT_OP_SCAN, {"op", "index", "limit", "cursor", "save_cursor", "fields", "filter", "expect", NULL}},
    {"batch_get", CT_OP_BATCH_GET, {"op", "keys", "expect", NULL}},
    {"batch_write", CT_OP_BATCH_WRITE, {"op", "puts", "deletes", "expect", NULL}},
    {"transact_write", CT_OP_TRANSACT_WRITE, {"op", "ops", "expect", NULL}},
    {"encode_cursor", CT_OP_ENCODE_CURSOR, {"op", "json", "json_file", "expect", NULL}},
};

/* ---- query and scan ---- */

static int index_of(ct_parser *p, const yaml_node_t *n, uint32_t *out) {
  const dorm_model_desc *m = p->model->desc;
  *out = 0;
  if (!n) return 0;
  const char *name = ct_p_str(p, n, "index");
  if (!name) return -1;
  for (uint32_t i = 1; i < m->nindexes; i++)
    if (m->indexes[i].name && !strcmp(m->indexes[i].name, name)) {
      *out = i;
      return 0;
    }
  char list[256] = "";
  for (uint32_t i = 1; i < m->nindexes; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i > 1 ? ", " : "", m->indexes[i].name);
  return CT_PFAIL(p, n, "model %s has no index \"%s\" (indexes: %s)", m->name, name, list[0] ? list : "none");
}

/* The field a key attribute of the index is stored from (DMS models store
 * keys directly; a template key has no single field). */
static int key_field(ct_parser *p, const yaml_node_t *n, int32_t key, const char *what) {
  const dorm_key_desc *kd = &p->model->desc->keys[key];
  if (kd->field < 0)
    return CT_PFAIL(p, n, "%s: key attribute %s is a key template; dorm-contract takes key values of DMS models, "
                          "whose keys are attributes",
                    what, kd->attr);
  return kd->field;
}

static int partition(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  const dorm_model_desc *m = p->model->desc;
  const dorm_index_desc *idx = &m->indexes[s->index];
  const char *want = m->keys[idx->pk].attr;
  if (!n || n->type != YAML_MAPPING_NODE || ct_yaml_map_len(n) != 1)
    return CT_PFAIL(p, n, "partition must be a mapping with one attribute (%s: value)", want);
  const yaml_node_t *k = ct_yaml_map_key(p->y, n, 0), *v = ct_yaml_map_value(p->y, n, 0);
  if (strcmp(ct_yaml_text(k), want))
    return CT_PFAIL(p, k, "partition: the partition key of %s is %s, not %s", idx->name ? idx->name : "the table", want,
                    ct_yaml_text(k));
  int f = key_field(p, k, idx->pk, "partition");
  if (f < 0) return -1;
  return (s->pk_obj = ct_p_value_obj(p, v, (uint32_t)f, "partition")) ? 0 : -1;
}

static int sort_cond(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  static const struct {
    const char *name;
    dorm_sk_op op;
  } sops[] = {{"=", DORM_SK_EQ},      {"<", DORM_SK_LT},           {"<=", DORM_SK_LE},
              {">", DORM_SK_GT},      {">=", DORM_SK_GE},          {"between", DORM_SK_BETWEEN},
              {"begins_with", DORM_SK_BEGINS_WITH}};
  static const char *const keys[] = {"op", "value", "value2", NULL};
  const dorm_model_desc *m = p->model->desc;
  const dorm_index_desc *idx = &m->indexes[s->index];
  if (idx->sk < 0) return CT_PFAIL(p, n, "sort: %s has no sort key", idx->name ? idx->name : "the table");
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "sort must be a mapping {op, value, value2}");
  if (ct_yaml_check_keys(p->y, n, keys, "sort", p->err, p->errcap) != 0) return -1;
  const yaml_node_t *opn = ct_yaml_get(p->y, n, "op"), *v = ct_yaml_get(p->y, n, "value"),
                    *v2 = ct_yaml_get(p->y, n, "value2");
  const char *op = ct_p_str(p, opn ? opn : n, "sort.op");
  if (!op) return -1;
  for (size_t i = 0; i < sizeof sops / sizeof sops[0] && !s->sk_op; i++)
    if (!strcmp(sops[i].name, op)) s->sk_op = sops[i].op;
  if (!s->sk_op) return CT_PFAIL(p, opn, "sort.op: \"%s\" is not one of =, <, <=, >, >=, between, begins_with", op);
  if (!v) return CT_PFAIL(p, n, "sort: value is missing");
  if ((s->sk_op == DORM_SK_BETWEEN) != (v2 != NULL))
    return CT_PFAIL(p, v2 ? v2 : n, s->sk_op == DORM_SK_BETWEEN ? "sort: between needs value2" : "sort: value2 is for between only");
  int f = key_field(p, n, idx->sk, "sort");
  if (f < 0) return -1;
  s->lo = dorm_arena_calloc(p->a, 1, m->size);
  if (!s->lo) return CT_PFAIL(p, n, "out of memory");
  if (s->sk_op == DORM_SK_BEGINS_WITH) return (s->prefix = ct_p_str(p, v, "sort.value")) ? 0 : -1;
  if (!(s->lo = ct_p_value_obj(p, v, (uint32_t)f, "sort.value"))) return -1;
  if (v2 && !(s->hi = ct_p_value_obj(p, v2, (uint32_t)f, "sort.value2"))) return -1;
  return 0;
}

static int filter_term(ct_parser *p, const yaml_node_t *n, ct_filter *t) {
  static const struct {
    const char *name;
    ct_filter_op op;
  } fops[] = {{"=", CT_F_EQ},          {"<>", CT_F_NE},     {"<", CT_F_LT},
              {"<=", CT_F_LE},         {">", CT_F_GT},      {">=", CT_F_GE},
              {"between", CT_F_BETWEEN}, {"begins_with", CT_F_BEGINS_WITH}, {"contains", CT_F_CONTAINS},
              {"exists", CT_F_EXISTS}, {"not_exists", CT_F_NOT_EXISTS}};
  static const char *const keys[] = {"attr", "op", "value", "value2", NULL};
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "filter terms are mappings {attr, op, value}");
  if (ct_yaml_check_keys(p->y, n, keys, "a filter term", p->err, p->errcap) != 0) return -1;
  const yaml_node_t *an = ct_yaml_get(p->y, n, "attr"), *opn = ct_yaml_get(p->y, n, "op"),
                    *v = ct_yaml_get(p->y, n, "value"), *v2 = ct_yaml_get(p->y, n, "value2");
  if (!an || !opn) return CT_PFAIL(p, n, "a filter term needs attr and op");
  int f = ct_p_field(p, an, "filter");
  if (f < 0) return -1;
  t->field = (uint32_t)f;
  const char *op = ct_p_str(p, opn, "filter.op");
  if (!op) return -1;
  for (size_t i = 0; i < sizeof fops / sizeof fops[0] && !t->op; i++)
    if (!strcmp(fops[i].name, op)) t->op = fops[i].op;
  if (!t->op)
    return CT_PFAIL(p, opn, "filter.op: \"%s\" is not one of =, <>, <, <=, >, >=, between, begins_with, contains, "
                            "exists, not_exists",
                    op);
  bool needs_value = t->op != CT_F_EXISTS && t->op != CT_F_NOT_EXISTS;
  if (needs_value != (v != NULL))
    return CT_PFAIL(p, v ? v : n, needs_value ? "filter %s needs a value" : "filter %s takes no value", op);
  if ((t->op == CT_F_BETWEEN) != (v2 != NULL))
    return CT_PFAIL(p, v2 ? v2 : n, t->op == CT_F_BETWEEN ? "filter between needs value2" : "value2 is for between only");
  if (t->op == CT_F_BEGINS_WITH) return (t->prefix = ct_p_str(p, v, "filter.value")) ? 0 : -1;
  if (!needs_value) return 0;
  const dorm_type_desc *ft = &p->model->desc->fields[f].type;
  if (t->op == CT_F_CONTAINS && (ft->kind == DORM_K_SET || ft->kind == DORM_K_LIST)) {
    /* An element: held in a one-element collection of the field's type. */
    dorm_av elem, coll;
    if (ct_value_from_yaml(p->y, v, ft->elem, p->model->desc->naming, "filter.value", p->a, &elem, p->err,
                           p->errcap) != 0)
      return -1;
    if (ft->kind == DORM_K_LIST) {
      coll = dorm_av_empty(DORM_AV_L);
      dorm_av *slot = dorm_av_list_push(p->a, &coll);
      if (!slot) return CT_PFAIL(p, v, "out of memory");
      *slot = elem;
    } else {
      const char *tn = ct_type_dynamo_name(ft);
      coll = dorm_av_empty(!strcmp(tn, "NS") ? DORM_AV_NS : !strcmp(tn, "BS") ? DORM_AV_BS : DORM_AV_SS);
      if (dorm_av_set_add(p->a, &coll, elem.u.s.ptr, elem.u.s.len) != DORM_OK) return CT_PFAIL(p, v, "out of memory");
    }
    t->elem = true;
    return (t->lo = ct_p_av_obj(p, v, (uint32_t)f, &coll, "filter.value")) ? 0 : -1;
  }
  if (!(t->lo = ct_p_value_obj(p, v, (uint32_t)f, "filter.value"))) return -1;
  if (v2 && !(t->hi = ct_p_value_obj(p, v2, (uint32_t)f, "filter.value2"))) return -1;
  return 0;
}

static int query_scan(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  const yaml_node_t *v;
  if (index_of(p, ct_yaml_get(p->y, n, "index"), &s->index) != 0) return -1;
  if (s->op == CT_OP_QUERY) {
    if (partition(p, ct_yaml_get(p->y, n, "partition"), s) != 0) return -1;
    if ((v = ct_yaml_get(p->y, n, "sort")) && sort_cond(p, v, s) != 0) return -1;
    if ((v = ct_yaml_get(p->y, n, "order"))) {
      const char *o = ct_p_str(p, v, "order");
      if (!o) return -1;
      if (!strcmp(o, "desc")) s->descending = true;
      else if (strcmp(o, "asc")) return CT_PFAIL(p, v, "order must be asc or desc, not \"%s\"", o);
    }
  }
  if ((v = ct_yaml_get(p->y, n, "limit"))) {
    long long l;
    if (!ct_yaml_int(v, &l) || l < 1 || l > 1000000) return CT_PFAIL(p, v, "limit must be a whole number from 1 to 1000000");
    s->limit = (uint32_t)l;
  }
  if ((v = ct_yaml_get(p->y, n, "cursor")) && !ct_yaml_is_null(v) && !(s->cursor = ct_p_str(p, v, "cursor"))) return -1;
  if ((v = ct_yaml_get(p->y, n, "save_cursor")) && !(s->save_cursor = ct_p_str(p, v, "save_cursor"))) return -1;
  if ((v = ct_yaml_get(p->y, n, "fields")) && ct_p_fields(p, v, "fields", &s->fields, &s->nfields) != 0) return -1;
  if ((v = ct_yaml_get(p->y, n, "filter"))) {
    if (v->type != YAML_SEQUENCE_NODE || !ct_yaml_seq_len(v))
      return CT_PFAIL(p, v, "filter must be a non-empty list of terms {attr, op, value}");
    s->nfilters = ct_yaml_seq_len(v);
    s->filters = dorm_arena_calloc(p->a, s->nfilters, sizeof *s->filters);
    if (!s->filters) return CT_PFAIL(p, v, "out of memory");
    for (size_t i = 0; i < s->nfilters; i++)
      if (filter_term(p, ct_yaml_seq_at(p->y, v, i), &s->filters[i]) != 0) return -1;
  }
  return 0;
}

/* ---- transactions ---- */

static int tx_condition(ct_parser *p, const yaml_node_t *n, ct_cond *c) {
  if (!n || n->type != YAML_MAPPING_NODE || ct_yaml_map_len(n) != 1)
    return CT_PFAIL(p, n, "condition must be one of {exists: attr}, {not_exists: attr}, {version: n}");
  const yaml_node_t *k = ct_yaml_map_key(p->y, n, 0), *v = ct_yaml_map_value(p->y, n, 0);
  const char *kind = ct_yaml_text(k);
  if (!strcmp(kind, "version")) {
    long long ver;
    if (p->model->desc->version < 0) return CT_PFAIL(p, k, "condition version: model %s has no version field", p->model->desc->name);
    if (!ct_yaml_int(v, &ver)) return CT_PFAIL(p, v, "condition version must be a whole number");
    c->kind = CT_COND_VERSION;
    c->version = ver;
    return 0;
  }
  if (strcmp(kind, "exists") && strcmp(kind, "not_exists"))
    return CT_PFAIL(p, k, "condition: \"%s\" is not exists, not_exists or version", kind);
  int f = ct_p_field(p, v, "condition");
  if (f < 0) return -1;
  c->kind = !strcmp(kind, "exists") ? CT_COND_EXISTS : CT_COND_NOT_EXISTS;
  c->field = (uint32_t)f;
  return 0;
}

static int tx_op(ct_parser *p, const yaml_node_t *n, size_t i, ct_txop *t) {
  static const char *const item_keys[] = {"op", "item", "condition", NULL};
  static const char *const update_keys[] = {"op", "item", "fields", "condition", NULL};
  static const char *const key_keys[] = {"op", "key", "condition", NULL};
  char what[64];
  snprintf(what, sizeof what, "ops[%zu]", i);
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "%s must be a mapping", what);
  const yaml_node_t *opn = ct_yaml_get(p->y, n, "op");
  const char *op = ct_p_str(p, opn ? opn : n, "op");
  if (!op) return -1;
  const char *const *keys;
  if (!strcmp(op, "put")) t->kind = CT_TX_PUT, keys = item_keys;
  else if (!strcmp(op, "create")) t->kind = CT_TX_CREATE, keys = item_keys;
  else if (!strcmp(op, "update")) t->kind = CT_TX_UPDATE, keys = update_keys;
  else if (!strcmp(op, "delete")) t->kind = CT_TX_DELETE, keys = key_keys;
  else if (!strcmp(op, "condition_check")) t->kind = CT_TX_CHECK, keys = key_keys;
  else return CT_PFAIL(p, opn, "%s: op \"%s\" is not put, create, update, delete or condition_check", what, op);
  if (ct_yaml_check_keys(p->y, n, keys, what, p->err, p->errcap) != 0) return -1;
  const yaml_node_t *item = ct_yaml_get(p->y, n, "item"), *key = ct_yaml_get(p->y, n, "key"),
                    *cond = ct_yaml_get(p->y, n, "condition");
  bool keyed = t->kind == CT_TX_DELETE || t->kind == CT_TX_CHECK;
  char w2[80];
  snprintf(w2, sizeof w2, "%s.%s", what, keyed ? "key" : "item");
  if (!(keyed ? key : item)) return CT_PFAIL(p, n, "%s needs %s", what, keyed ? "key" : "item");
  if (!(t->obj = ct_p_obj(p, keyed ? key : item, w2, keyed, &t->item_has_version))) return -1;
  if (t->kind == CT_TX_UPDATE) {
    const yaml_node_t *fields = ct_yaml_get(p->y, n, "fields");
    snprintf(w2, sizeof w2, "%s.fields", what);
    if (ct_p_fields(p, fields ? fields : n, w2, &t->fields, &t->nfields) != 0) return -1;
  }
  if (cond && tx_condition(p, cond, &t->cond) != 0) return -1;
  if (t->kind == CT_TX_CHECK && t->cond.kind == CT_COND_NONE) return CT_PFAIL(p, n, "%s: condition_check needs a condition", what);
  return 0;
}

/* ---- encode_cursor ---- */

static cJSON *yaml_to_json(ct_parser *p, const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE: {
    bool b;
    if (ct_yaml_is_null(n)) return cJSON_CreateNull();
    if (ct_yaml_bool(n, &b)) return cJSON_CreateBool(b);
    if (ct_yaml_is_number(n)) return cJSON_CreateNumber(strtod(ct_yaml_text(n), NULL));
    return cJSON_CreateString(ct_yaml_text(n));
  }
  case YAML_SEQUENCE_NODE: {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < ct_yaml_seq_len(n); i++) {
      cJSON *e = yaml_to_json(p, ct_yaml_seq_at(p->y, n, i));
      if (!e) {
        cJSON_Delete(arr);
        return NULL;
      }
      cJSON_AddItemToArray(arr, e);
    }
    return arr;
  }
  case YAML_MAPPING_NODE: {
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; obj && i < ct_yaml_map_len(n); i++) {
      cJSON *e = yaml_to_json(p, ct_yaml_map_value(p->y, n, i));
      if (!e) {
        cJSON_Delete(obj);
        return NULL;
      }
      cJSON_AddItemToObject(obj, ct_yaml_text(ct_yaml_map_key(p->y, n, i)), e);
    }
    return obj;
  }
  default: return NULL;
  }
}

/* {"lastKey": {...DynamoDB JSON...}, "index": "...", "sort": "..."} */
static int cursor_json(ct_parser *p, const yaml_node_t *at, const cJSON *j, ct_step *s) {
  if (!cJSON_IsObject(j)) return CT_PFAIL(p, at, "the cursor JSON must be an object {lastKey, index, sort}");
  for (const cJSON *e = j->child; e; e = e->next)
    if (strcmp(e->string, "lastKey") && strcmp(e->string, "index") && strcmp(e->string, "sort"))
      return CT_PFAIL(p, at, "the cursor JSON has an unknown member \"%s\" (lastKey, index, sort)", e->string);
  const cJSON *lk = cJSON_GetObjectItemCaseSensitive(j, "lastKey"), *ix = cJSON_GetObjectItemCaseSensitive(j, "index"),
              *so = cJSON_GetObjectItemCaseSensitive(j, "sort");
  if (!cJSON_IsObject(lk)) return CT_PFAIL(p, at, "the cursor JSON needs lastKey, an object of DynamoDB attribute values");
  if ((ix && !cJSON_IsString(ix)) || (so && !cJSON_IsString(so)))
    return CT_PFAIL(p, at, "the cursor JSON's index and sort must be strings");
  char *text = cJSON_PrintUnformatted(lk);
  if (!text) return CT_PFAIL(p, at, "out of memory");
  char why[256];
  dorm_status st = dorm_item_from_json(text, strlen(text), p->a, &s->cursor_key, why, sizeof why);
  free(text);
  if (st != DORM_OK) return CT_PFAIL(p, at, "the cursor JSON's lastKey: %s", why);
  s->cursor_index = dorm_arena_strdup(p->a, ix ? ix->valuestring : "");
  s->cursor_sort = dorm_arena_strdup(p->a, so ? so->valuestring : "");
  if (!s->cursor_index || !s->cursor_sort) return CT_PFAIL(p, at, "out of memory");
  return 0;
}

static int encode_cursor(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  const yaml_node_t *jn = ct_yaml_get(p->y, n, "json"), *fn = ct_yaml_get(p->y, n, "json_file");
  if (!jn == !fn) return CT_PFAIL(p, n, "encode_cursor needs json or json_file (one of them)");
  cJSON *j = NULL;
  if (jn) {
    j = yaml_to_json(p, jn);
    if (!j) return CT_PFAIL(p, jn, "out of memory");
  } else {
    const char *rel = ct_p_str(p, fn, "json_file");
    const char *path = rel ? ct_p_path(p, rel) : NULL;
    if (!path) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return CT_PFAIL(p, fn, "cannot read %s: %s", path, strerror(errno));
    char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    bool more = !feof(f) && fgetc(f) != EOF;
    fclose(f);
    if (more) return CT_PFAIL(p, fn, "%s: larger than 64 KiB", path);
    buf[len] = '\0';
    j = cJSON_ParseWithLength(buf, len);
    if (!j) return CT_PFAIL(p, fn, "%s: not valid JSON", path);
  }
  int rc = cursor_json(p, jn ? jn : fn, j, s);
  cJSON_Delete(j);
  return rc;
}

/* ---- steps ---- */

static int step(ct_parser *p, const yaml_node_t *n, ct_step *s) {
  if (!n || n->type != YAML_MAPPING_NODE) return CT_PFAIL(p, n, "step %zu must be a mapping with an op", s->number);
  const yaml_node_t *opn = ct_yaml_get(p->y, n, "op");
  if (!opn) return CT_PFAIL(p, n, "step %zu has no op", s->number);
  const char *op = ct_p_str(p, opn, "op");
  if (!op) return -1;
  size_t oi = 0;
  while (oi < sizeof ops / sizeof ops[0] && strcmp(ops[oi].name, op)) oi++;
  if (oi == sizeof ops / sizeof ops[0])
    return CT_PFAIL(p, opn, "unknown op \"%s\" (create, get, update, delete, sleep, query, scan, batch_get, "
                            "batch_write, transact_write, encode_cursor)",
                    op);
  s->op = ops[oi].op;
  s->opname = ops[oi].name;
  s->line = n->start_mark.line + 1;
  char what[64];
  snprintf(what, sizeof what, "a %s step", op);
  if (ct_yaml_check_keys(p->y, n, ops[oi].keys, what, p->err, p->errcap) != 0) return -1;
  if (!p->model && s->op != CT_OP_SLEEP && s->op != CT_OP_ENCODE_CURSOR)
    return CT_PFAIL(p, opn, "op %s needs the scenario's model (model: ...)", op);
  const yaml_node_t *v, *ex = ct_yaml_get(p->y, n, "expect");
  if (ex && ct_p_expect(p, ex, s) != 0) return -1;
  switch (s->op) {
  case CT_OP_CREATE:
  case CT_OP_UPDATE:
    if (!(v = ct_yaml_get(p->y, n, "item"))) return CT_PFAIL(p, n, "%s needs an item", op);
    if (!(s->obj = ct_p_obj(p, v, "item", false, NULL))) return -1;
    if (s->op == CT_OP_UPDATE) {
      v = ct_yaml_get(p->y, n, "fields");
      if (ct_p_fields(p, v ? v : n, "fields", &s->fields, &s->nfields) != 0) return -1;
    } else if ((v = ct_yaml_get(p->y, n, "if_not_exists")) && !ct_yaml_bool(v, &s->if_not_exists)) {
      return CT_PFAIL(p, v, "if_not_exists must be true or false");
    }
    break;
  case CT_OP_GET:
  case CT_OP_DELETE:
    if (!(v = ct_yaml_get(p->y, n, "key"))) return CT_PFAIL(p, n, "%s needs a key", op);
    if (!(s->obj = ct_p_obj(p, v, "key", true, NULL))) return -1;
    if ((v = ct_yaml_get(p->y, n, "save"))) {
      if (v->type != YAML_MAPPING_NODE) return CT_PFAIL(p, v, "save must be a mapping variable: attribute");
      size_t len = ct_yaml_map_len(v);
      s->save.items = dorm_arena_calloc(p->a, len ? len : 1, sizeof *s->save.items);
      if (!s->save.items) return CT_PFAIL(p, v, "out of memory");
      s->save.count = len;
      for (size_t i = 0; i < len; i++) {
        const yaml_node_t *attr = ct_yaml_map_value(p->y, v, i);
        if (ct_p_field(p, attr, "save") < 0) return -1;
        s->save.items[i].a = ct_p_str(p, ct_yaml_map_key(p->y, v, i), "save");
        s->save.items[i].b = ct_p_str(p, attr, "save");
        if (!s->save.items[i].a || !s->save.items[i].b) return -1;
      }
    }
    break;
  case CT_OP_SLEEP: {
    long long ms;
    if (!(v = ct_yaml_get(p->y, n, "ms")) || !ct_yaml_int(v, &ms) || ms < 0 || ms > 600000)
      return CT_PFAIL(p, v ? v : n, "sleep needs ms, a whole number from 0 to 600000");
    s->ms = (long)ms;
    break;
  }
  case CT_OP_QUERY:
  case CT_OP_SCAN:
    if (s->op == CT_OP_QUERY && !ct_yaml_get(p->y, n, "partition")) return CT_PFAIL(p, n, "query needs a partition");
    if (query_scan(p, n, s) != 0) return -1;
    break;
  case CT_OP_BATCH_GET:
    if (!(v = ct_yaml_get(p->y, n, "keys"))) return CT_PFAIL(p, n, "batch_get needs keys");
    if (ct_p_objs(p, v, "keys", true, &s->objs, &s->nobjs) != 0) return -1;
    break;
  case CT_OP_BATCH_WRITE: {
    const yaml_node_t *puts = ct_yaml_get(p->y, n, "puts"), *dels = ct_yaml_get(p->y, n, "deletes");
    if (!puts && !dels) return CT_PFAIL(p, n, "batch_write needs puts or deletes");
    if (puts && ct_p_objs(p, puts, "puts", false, &s->objs, &s->nobjs) != 0) return -1;
    if (dels && ct_p_objs(p, dels, "deletes", true, &s->dels, &s->ndels) != 0) return -1;
    break;
  }
  case CT_OP_TRANSACT_WRITE:
    if (!(v = ct_yaml_get(p->y, n, "ops")) || v->type != YAML_SEQUENCE_NODE || !ct_yaml_seq_len(v))
      return CT_PFAIL(p, v ? v : n, "transact_write needs ops, a non-empty list");
    s->ntx = ct_yaml_seq_len(v);
    s->tx = dorm_arena_calloc(p->a, s->ntx, sizeof *s->tx);
    if (!s->tx) return CT_PFAIL(p, v, "out of memory");
    for (size_t i = 0; i < s->ntx; i++)
      if (tx_op(p, ct_yaml_seq_at(p->y, v, i), i, &s->tx[i]) != 0) return -1;
    if (s->expect.has_error_index && s->expect.error_index >= s->ntx)
      return CT_PFAIL(p, ex, "expect.error_index %zu is past the last op (%zu ops)", s->expect.error_index, s->ntx);
    break;
  case CT_OP_ENCODE_CURSOR:
    if (encode_cursor(p, n, s) != 0) return -1;
    break;
  }
  if (!ex && s->op != CT_OP_SLEEP) {
    /* No expectations: the step must succeed. */
    s->expect.has_ok = true;
    s->expect.ok = true;
  }
  return 0;
}

static char *dir_of(dorm_arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return dorm_arena_strdup(a, ".");
  if (slash == path) return dorm_arena_strdup(a, "/");
  return dorm_arena_strndup(a, path, (size_t)(slash - path));
}

int ct_scenario_load(const char *path, ct_models *ms, dorm_arena *a, ct_scenario *out, char *err, size_t errcap,
                     bool *io_error) {
  static const char *const top_keys[] = {"name", "description", "dms_version", "model", "table", "steps", NULL};
  memset(out, 0, sizeof *out);
  ct_yaml y;
  if (ct_yaml_load(&y, path, err, errcap, io_error) != 0) {
    ct_yaml_free(&y);
    return -1;
  }
  ct_parser p = {&y, ms, a, err, errcap, NULL, dir_of(a, path)};
  int rc = -1;
  const yaml_node_t *root = ct_yaml_root(&y), *v;
  out->path = dorm_arena_strdup(a, path);
  if (!root || root->type != YAML_MAPPING_NODE) {
    CT_PFAIL(&p, root, "a scenario is a mapping (name, dms_version, model, table, steps)");
    goto done;
  }
  if (ct_yaml_check_keys(&y, root, top_keys, "a scenario", err, errcap) != 0) goto done;
  if (!(v = ct_yaml_get(&y, root, "name"))) {
    CT_PFAIL(&p, root, "the scenario has no name");
    goto done;
  }
  if (!(out->name = ct_p_str(&p, v, "name"))) goto done;
  if ((v = ct_yaml_get(&y, root, "dms_version"))) {
    const char *ver = ct_p_str(&p, v, "dms_version");
    if (!ver) goto done;
    if (strcmp(ver, "0.1")) {
      CT_PFAIL(&p, v, "dms_version \"%s\" is not supported (0.1)", ver);
      goto done;
    }
  }
  if ((v = ct_yaml_get(&y, root, "model"))) {
    const char *name = ct_p_str(&p, v, "model");
    if (!name) goto done;
    ct_model *m = ct_models_find(ms, name);
    if (!m) {
      char names[256];
      ct_models_names(ms, names, sizeof names);
      CT_PFAIL(&p, v, "unknown model \"%s\": it is not compiled into dorm-contract (compiled: %s)", name, names);
      goto done;
    }
    if (!m->dms_path) {
      CT_PFAIL(&p, v, "model %s is compiled in but no DMS document in --dms lists it", name);
      goto done;
    }
    p.model = out->model = m;
  }
  if ((v = ct_yaml_get(&y, root, "table"))) {
    const yaml_node_t *tn = ct_yaml_get(&y, v, "name");
    const char *t = tn ? ct_p_str(&p, tn, "table.name") : NULL;
    if (!tn || v->type != YAML_MAPPING_NODE || ct_yaml_map_len(v) != 1) {
      CT_PFAIL(&p, v, "table must be a mapping {name: ...}");
      goto done;
    }
    if (!t) goto done;
    if (!p.model) {
      CT_PFAIL(&p, v, "table needs the scenario's model");
      goto done;
    }
    if (strcmp(t, p.model->desc->table)) {
      CT_PFAIL(&p, tn, "table %s: model %s is stored in %s", t, p.model->desc->name, p.model->desc->table);
      goto done;
    }
  }
  v = ct_yaml_get(&y, root, "steps");
  if (!v || v->type != YAML_SEQUENCE_NODE || !ct_yaml_seq_len(v)) {
    CT_PFAIL(&p, v ? v : root, "the scenario needs steps, a non-empty list");
    goto done;
  }
  out->nsteps = ct_yaml_seq_len(v);
  out->steps = dorm_arena_calloc(a, out->nsteps, sizeof *out->steps);
  if (!out->steps || !out->path || !p.dir) {
    snprintf(err, errcap, "%s: out of memory", path);
    goto done;
  }
  for (size_t i = 0; i < out->nsteps; i++) {
    out->steps[i].number = i + 1;
    if (step(&p, ct_yaml_seq_at(&y, v, i), &out->steps[i]) != 0) goto done;
  }
  rc = 0;
done:
  ct_yaml_free(&y);
  return rc;
}
