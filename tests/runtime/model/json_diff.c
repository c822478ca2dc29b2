/* The differential check of json_jsmn.c against cJSON: see json_diff.h. */
#include "json_diff.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "model_internal.h"

static char msg[1024];

static const char *differ(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return msg;
}

static bool same_cstr(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* Node for node: types, member names, strings, numbers, and the order. */
static bool same_tree(const cJSON *a, const cJSON *b, int depth) {
  if (depth == 0 && (!a || !b)) return a == b;
  for (; a && b; a = a->next, b = b->next) {
    if ((a->type & 0xFF) != (b->type & 0xFF) || !same_cstr(a->string, b->string)) return false;
    if ((a->type & 0xFF) == cJSON_String && !same_cstr(a->valuestring, b->valuestring)) return false;
    if ((a->type & 0xFF) == cJSON_Number &&
        (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 || a->valueint != b->valueint))
      return false;
    if (!same_tree(a->child, b->child, depth + 1)) return false;
    if (depth == 0) break; /* a root has no siblings to compare */
  }
  return depth == 0 || (!a && !b);
}

static bool same_str(dorm_str a, dorm_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }

/* Exactly the same value: types, bytes, order of elements and entries. */
static bool same_av(const dorm_av *a, const dorm_av *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
  case DORM_AV_S:
  case DORM_AV_N:
  case DORM_AV_B: return same_str(a->u.s, b->u.s);
  case DORM_AV_BOOL: return a->u.boolean == b->u.boolean;
  case DORM_AV_NULL: return true;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    if (a->u.set.count != b->u.set.count) return false;
    for (size_t i = 0; i < a->u.set.count; i++)
      if (!same_str(a->u.set.items[i], b->u.set.items[i])) return false;
    return true;
  case DORM_AV_L:
    if (a->u.list.count != b->u.list.count) return false;
    for (size_t i = 0; i < a->u.list.count; i++)
      if (!same_av(&a->u.list.items[i], &b->u.list.items[i])) return false;
    return true;
  case DORM_AV_M:
    if (a->u.map.count != b->u.map.count) return false;
    for (size_t i = 0; i < a->u.map.count; i++)
      if (!same_str(a->u.map.items[i].name, b->u.map.items[i].name) ||
          !same_av(&a->u.map.items[i].value, &b->u.map.items[i].value))
        return false;
    return true;
  default: return false;
  }
}

/* A struct as the JSON it writes (or the writer's message). */
static const char *written(const dorm_model_desc *m, const void *obj, dorm_arena *a) {
  char err[256] = "";
  const char *json = NULL;
  size_t len = 0;
  if (dorm_model_to_json(m, obj, a, &json, &len, err, sizeof err) == DORM_OK) return json;
  const char *copy = dorm_arena_strdup(a, err);
  return copy ? copy : "(out of memory)";
}

static const char *check_trees(const char *buf, size_t len, jd_stats *stats) {
  char ec[512] = "", ef[512] = "", ej[512] = "";
  cJSON *c = NULL, *f = NULL, *j = NULL;
  dorm_status sc = dorm__json_parse_with(DORM_JSON_CJSON, buf, len, &c, ec, sizeof ec);
  dorm_status sf = dorm__json_parse_with(DORM_JSON_FAST, buf, len, &f, ef, sizeof ef);
  dorm_status sj = dorm__json_parse_with(DORM_JSON_JSMN_ONLY, buf, len, &j, ej, sizeof ej);
  const char *bad = NULL;
  if (sc != sf || (sc != DORM_OK && strcmp(ec, ef) != 0))
    bad = differ("parse: cJSON %s (%s), default %s (%s)", dorm_strerror(sc), ec, dorm_strerror(sf), ef);
  else if (sc == DORM_OK && !same_tree(c, f, 0))
    bad = differ("parse: cJSON and the default reading give different trees");
  else if (sj == DORM_OK && sc != DORM_OK)
    bad = differ("parse: jsmn alone accepts what cJSON refuses (%s)", ec);
  else if (sj == DORM_OK && !same_tree(c, j, 0))
    bad = differ("parse: cJSON and jsmn alone give different trees");
  else if (sj != DORM_OK && sj != DORM_ERR_BAD_RESPONSE)
    bad = differ("parse: jsmn alone: %s", dorm_strerror(sj));
  if (stats) {
    stats->cjson_ok += sc == DORM_OK;
    stats->jsmn_ok += sj == DORM_OK;
    stats->jsmn_refused += sc == DORM_OK && sj != DORM_OK;
  }
  dorm__json_free(c);
  dorm__json_free(f);
  dorm__json_free(j);
  return bad;
}

static const char *check_values(const char *buf, size_t len) {
  for (int item = 0; item < 2; item++) {
    dorm_arena a = DORM_ARENA_INIT;
    char ec[512] = "", ef[512] = "";
    dorm_av vc, vf;
    dorm_status sc = dorm__av_from_json_with(DORM_JSON_CJSON, item, buf, len, &a, &vc, ec, sizeof ec);
    dorm_status sf = dorm__av_from_json_with(DORM_JSON_FAST, item, buf, len, &a, &vf, ef, sizeof ef);
    const char *bad = NULL;
    if (sc != sf || (sc != DORM_OK && strcmp(ec, ef) != 0))
      bad = differ("%s: cJSON %s (%s), default %s (%s)", item ? "dorm_item_from_json" : "dorm_av_from_json",
                   dorm_strerror(sc), ec, dorm_strerror(sf), ef);
    else if (sc == DORM_OK && !same_av(&vc, &vf))
      bad = differ("%s: different values", item ? "dorm_item_from_json" : "dorm_av_from_json");
    dorm_arena_free(&a);
    if (bad) return bad;
  }
  /* A GetItem/write response's item (ops_item.c): the direct path against cJSON's. */
  dorm_arena a = DORM_ARENA_INIT;
  char ec[512] = "", ef[512] = "";
  dorm_av vc, vf;
  bool fc = false, ff = false;
  dorm_status sc = dorm__json_read_response_item(DORM_JSON_CJSON, buf, len, &a, &vc, &fc, ec, sizeof ec);
  dorm_status sf = dorm__json_read_response_item(DORM_JSON_FAST, buf, len, &a, &vf, &ff, ef, sizeof ef);
  const char *bad = NULL;
  if (sc != sf || (sc != DORM_OK && strcmp(ec, ef) != 0))
    bad = differ("response item: cJSON %s (%s), default %s (%s)", dorm_strerror(sc), ec, dorm_strerror(sf), ef);
  else if (sc == DORM_OK && (fc != ff || !same_av(&vc, &vf)))
    bad = differ("response item: different values");
  dorm_arena_free(&a);
  return bad;
}

static const char *same_response(const dorm_model_desc *m, const model_response *c, const model_response *f,
                                 dorm_arena *a) {
  if (c->has_item != f->has_item || c->nitems != f->nitems || c->has_last_key != f->has_last_key ||
      c->count != f->count || c->scanned_count != f->scanned_count || c->bad_item != f->bad_item ||
      strcmp(c->bad_key, f->bad_key) != 0)
    return "different shape (item, items, keys, counts or failing item)";
  if (c->has_item && strcmp(written(m, c->item, a), written(m, f->item, a)) != 0) return "different Item";
  for (size_t i = 0; i < c->nitems; i++)
    if (strcmp(written(m, (const char *)c->items + i * m->size, a), written(m, (const char *)f->items + i * m->size, a)) !=
        0)
      return "different Items";
  if (c->has_last_key && !same_av(&c->last_key, &f->last_key)) return "different LastEvaluatedKey";
  return NULL;
}

static const char *check_model(const char *buf, size_t len, const dorm_model_desc *m) {
  static const unsigned flag_sets[] = {0, DORM_READ_PARTIAL, MODEL_DECODE_CHECK_TYPE};
  for (size_t k = 0; k < sizeof flag_sets / sizeof flag_sets[0]; k++) {
    unsigned fl = flag_sets[k];
    dorm_arena a = DORM_ARENA_INIT;
    char ec[512] = "", ef[512] = "";
    model_response rc, rf;
    const char *bad = NULL;
    dorm_status sc = dorm__model_decode_response(buf, len, m, fl | MODEL_DECODE_CJSON, &a, &rc, ec, sizeof ec);
    dorm_status sf = dorm__model_decode_response(buf, len, m, fl, &a, &rf, ef, sizeof ef);
    if (sc != sf || (sc != DORM_OK && strcmp(ec, ef) != 0))
      bad = differ("%s response (flags %#x): cJSON %s (%s), default %s (%s)", m->name, fl, dorm_strerror(sc), ec,
                   dorm_strerror(sf), ef);
    else if (sc == DORM_OK && (bad = same_response(m, &rc, &rf, &a)) != NULL)
      bad = differ("%s response (flags %#x): %s", m->name, fl, bad);
    /* the token path alone (no tree; partial reads are left to the tree
     * path): what it reads, cJSON's path reads the same */
    if (!bad && !(fl & DORM_READ_PARTIAL)) {
      model_response rt;
      char et[512] = "";
      dorm_status stt = dorm__model_decode_response(buf, len, m, fl | MODEL_DECODE_TOKENS_ONLY, &a, &rt, et, sizeof et);
      if (stt != DORM_OK && stt != DORM_ERR_BAD_RESPONSE)
        bad = differ("%s response (flags %#x): token path %s (%s)", m->name, fl, dorm_strerror(stt), et);
      else if (stt == DORM_OK && sc != DORM_OK)
        bad = differ("%s response (flags %#x): the token path read what cJSON's refuses (%s)", m->name, fl, ec);
      else if (stt == DORM_OK && (bad = same_response(m, &rc, &rt, &a)) != NULL)
        bad = differ("%s response (flags %#x): token path: %s", m->name, fl, bad);
    }
    if (!bad && !(fl & MODEL_DECODE_CHECK_TYPE)) {
      void *oc = calloc(1, m->size), *of = calloc(1, m->size);
      if (!oc || !of) {
        bad = "out of memory";
      } else {
        sc = dorm__model_decode_item(buf, len, m, fl | MODEL_DECODE_CJSON, &a, oc, ec, sizeof ec);
        sf = dorm__model_decode_item(buf, len, m, fl, &a, of, ef, sizeof ef);
        if (sc != sf || (sc != DORM_OK && strcmp(ec, ef) != 0))
          bad = differ("%s item (flags %#x): cJSON %s (%s), default %s (%s)", m->name, fl, dorm_strerror(sc), ec,
                       dorm_strerror(sf), ef);
        else if (sc == DORM_OK && strcmp(written(m, oc, &a), written(m, of, &a)) != 0)
          bad = differ("%s item (flags %#x): different structs", m->name, fl);
        if (!bad && !(fl & DORM_READ_PARTIAL)) {
          char et[512] = "";
          dorm_status stt = dorm__model_decode_item(buf, len, m, fl | MODEL_DECODE_TOKENS_ONLY, &a, of, et, sizeof et);
          if (stt != DORM_OK && stt != DORM_ERR_BAD_RESPONSE)
            bad = differ("%s item (flags %#x): token path %s (%s)", m->name, fl, dorm_strerror(stt), et);
          else if (stt == DORM_OK && sc != DORM_OK)
            bad = differ("%s item (flags %#x): the token path read what cJSON's refuses (%s)", m->name, fl, ec);
          else if (stt == DORM_OK && strcmp(written(m, oc, &a), written(m, of, &a)) != 0)
            bad = differ("%s item (flags %#x): token path: different structs", m->name, fl);
        }
      }
      free(oc);
      free(of);
    }
    dorm_arena_free(&a);
    if (bad) return bad;
  }
  return NULL;
}

const char *jd_check(const char *buf, size_t len, const dorm_model_desc *const *models, size_t nmodels,
                     jd_stats *stats) {
  if (stats) stats->inputs++;
  const char *bad = check_trees(buf, len, stats);
  if (!bad) bad = check_values(buf, len);
  for (size_t i = 0; !bad && i < nmodels; i++) bad = check_model(buf, len, models[i]);
  return bad;
}
