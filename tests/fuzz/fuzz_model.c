/* The model decoder (runtime/src/model/model_decode.c): DynamoDB JSON
 * straight into model structs, against reading the same text through a
 * dorm_av (dorm_item_from_json + dorm_model_from_av), for several models:
 * the ones `dormc gen` makes of schemas/shop.dorm and schemas/contract.dorm
 * (generated at build time), and the hand-written descriptors of
 * tests/runtime/model/test_models.c (Kitchen has every type).
 *
 * Input: one byte that picks the model and the flags (see the end of this
 * file), then item JSON ({"attr":{"S":"..."},...}) or a response body
 * ({"Item":...}, {"Items":[...],"LastEvaluatedKey":...,"Count":n}), which
 * that model reads both ways. Properties:
 *   - items, whole and partial (DORM_READ_PARTIAL): the direct decoder and
 *     the dorm_av path give the same status and the same message, the
 *     direct decoder without its fallback (MODEL_DECODE_DIRECT_ONLY) accepts
 *     exactly what they accept, and the structs they fill write the same
 *     item JSON (dorm_model_to_json);
 *   - responses (with and without the entity-type check): the decoder gives
 *     the status of the dorm_av path (every member converted, then each item
 *     read), the same items, Item and LastEvaluatedKey; the decoder alone
 *     never accepts what the full decoder refuses, and agrees when it accepts.
 */
#include <stdint.h>
#include <string.h>

#include "contract_models.h"
#include "fuzz_support.h"
#include "model_internal.h"
#include "shop_models.h"
#ifdef FUZZ_HAVE_TEST_MODELS
#include "test_models.h"
#endif

static const dorm_model_desc *const models[] = {
#ifdef FUZZ_HAVE_TEST_MODELS
    &tm_Kitchen_desc, &tm_Order_desc, &tm_Customer_desc, &tm_User_desc,
#endif
    &shop_Customer_desc, &shop_Order_desc, &shop_LineItem_desc, &dynamorm_contract_User_desc,
    &dynamorm_contract_Order_desc,
};
#define NMODELS (sizeof models / sizeof models[0])
#define NSLOTS 9 /* the models with the test models; fixed, so that inputs keep their meaning */

typedef struct written {
  dorm_status st;
  const char *text; /* the JSON, or the message */
} written;

static written write_struct(const dorm_model_desc *m, const void *s, dorm_arena *a) {
  char err[512] = "";
  const char *json = NULL;
  size_t len = 0;
  written w;
  w.st = dorm_model_to_json(m, s, a, &json, &len, err, sizeof err);
  w.text = w.st == DORM_OK ? json : dorm_arena_strdup(a, err);
  FUZZ_CHECK(w.text, "out of memory");
  return w;
}

static void same_structs(const dorm_model_desc *m, const void *s1, const void *s2, dorm_arena *a, const char *what,
                         const char *input, size_t len) {
  written w1 = write_struct(m, s1, a), w2 = write_struct(m, s2, a);
  FUZZ_CHECK(w1.st == w2.st && strcmp(w1.text, w2.text) == 0, "%s: %s: different structs for %s:\n  %s: %s\n  %s: %s",
             m->name, what, fuzz_show(input, len), dorm_strerror(w1.st), w1.text, dorm_strerror(w2.st), w2.text);
}

static void *new_struct(const dorm_model_desc *m) {
  void *p = calloc(1, m->size);
  FUZZ_CHECK(p, "out of memory");
  return p;
}

/* One item, both ways. */
static void item_both(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  dorm_arena a = DORM_ARENA_INIT;
  char e1[512] = "", e2[512] = "", e3[512] = "";
  void *s1 = new_struct(m), *s2 = new_struct(m), *s3 = new_struct(m);
  dorm_status st1 = dorm__model_decode_item(text, len, m, flags, &a, s1, e1, sizeof e1);
  dorm_av item;
  dorm_status st2 = dorm_item_from_json(text, len, &a, &item, e2, sizeof e2);
  if (st2 == DORM_OK) st2 = dorm_model_from_av(m, &item, flags, &a, s2, e2, sizeof e2);
  FUZZ_CHECK(st1 == st2 && (st1 == DORM_OK || strcmp(e1, e2) == 0),
             "%s (flags %u): direct: %s (%s), via dorm_av: %s (%s) for %s", m->name, flags, dorm_strerror(st1), e1,
             dorm_strerror(st2), e2, fuzz_show(text, len));
  dorm_status st3 = dorm__model_decode_item(text, len, m, flags | MODEL_DECODE_DIRECT_ONLY, &a, s3, e3, sizeof e3);
  FUZZ_CHECK((st3 == DORM_OK) == (st2 == DORM_OK), "%s (flags %u): the decoder alone: %s (%s), via dorm_av: %s (%s) for %s",
             m->name, flags, dorm_strerror(st3), e3, dorm_strerror(st2), e2, fuzz_show(text, len));
  if (st1 == DORM_OK) {
    same_structs(m, s1, s2, &a, "item", text, len);
    same_structs(m, s3, s2, &a, "item (decoder alone)", text, len);
  } else {
    FUZZ_CHECK(st1 == DORM_ERR_BAD_RESPONSE || st1 == DORM_ERR_SCHEMA_MISMATCH || st1 == DORM_ERR_NO_MEMORY,
               "%s: item refused with %s (%s)", m->name, dorm_strerror(st1), e1);
    FUZZ_CHECK(e1[0], "%s: refused without a message", m->name);
  }
  free(s1);
  free(s2);
  free(s3);
  dorm_arena_free(&a);
}

/* A response read the dorm_av way, written here from the public pieces:
 * every member converted first, then the items read into structs. */
typedef struct av_result {
  dorm_status st;
  bool has_item;
  void *item;
  void *items;
  size_t nitems;
  bool has_last_key;
  dorm_av last_key;
} av_result;

static av_result av_path(const dorm_model_desc *m, const char *text, size_t len, unsigned flags, dorm_arena *a) {
  av_result r;
  memset(&r, 0, sizeof r);
  char err[512];
  cJSON *root = NULL;
  if ((r.st = dorm__json_parse(text, len, &root, err, sizeof err)) != DORM_OK) return r;
  dorm_json_response mem;
  if ((r.st = dorm__json_response_members(root, &mem, err, sizeof err)) != DORM_OK) goto done;
  dorm_av one = dorm_av_empty(DORM_AV_M), *all = NULL;
  size_t n = 0;
  for (const cJSON *c = root->child; c && r.st == DORM_OK; c = c->next) {
    if (c == mem.item) {
      r.st = dorm__json_to_item(c, a, &one, c->string, err, sizeof err);
    } else if (c == mem.last_key) {
      r.st = dorm__json_to_item(c, a, &r.last_key, c->string, err, sizeof err);
      r.has_last_key = true;
    } else if (c == mem.items) {
      r.st = dorm__json_member_items(root, c->string, a, &all, &n, err, sizeof err);
    }
  }
  if (r.st != DORM_OK) goto done;
  bool check_type = (flags & MODEL_DECODE_CHECK_TYPE) != 0;
  if (mem.item && one.u.map.count && (!check_type || dorm_model_is(m, &one))) {
    r.item = dorm_arena_alloc(a, m->size);
    FUZZ_CHECK(r.item, "out of memory");
    if ((r.st = dorm_model_from_av(m, &one, flags & DORM_READ_PARTIAL, a, r.item, err, sizeof err)) != DORM_OK) goto done;
    r.has_item = true;
  }
  r.items = n ? dorm_arena_alloc(a, n * m->size) : NULL;
  FUZZ_CHECK(!n || r.items, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (check_type && !dorm_model_is(m, &all[i])) continue;
    r.st = dorm_model_from_av(m, &all[i], flags & DORM_READ_PARTIAL, a, (char *)r.items + r.nitems * m->size, err,
                              sizeof err);
    if (r.st != DORM_OK) goto done;
    r.nitems++;
  }
done:
  cJSON_Delete(root);
  return r;
}

static void response_both(const dorm_model_desc *m, const char *text, size_t len, unsigned flags) {
  dorm_arena a = DORM_ARENA_INIT;
  char e1[512] = "", e3[512] = "";
  model_response r1, r3;
  dorm_status st1 = dorm__model_decode_response(text, len, m, flags, &a, &r1, e1, sizeof e1);
  av_result av = av_path(m, text, len, flags, &a);
  FUZZ_CHECK(st1 == av.st, "%s (flags %#x): response decoder: %s (%s), via dorm_av: %s for %s", m->name, flags,
             dorm_strerror(st1), e1, dorm_strerror(av.st), fuzz_show(text, len));
  if (st1 != DORM_OK) {
    FUZZ_CHECK(e1[0], "%s: response refused without a message", m->name);
  } else {
    FUZZ_CHECK(r1.has_item == av.has_item && r1.nitems == av.nitems && r1.has_last_key == av.has_last_key,
               "%s: response parts differ (item %d/%d, items %zu/%zu, last key %d/%d) for %s", m->name, r1.has_item,
               av.has_item, r1.nitems, av.nitems, r1.has_last_key, av.has_last_key, fuzz_show(text, len));
    if (r1.has_item) same_structs(m, r1.item, av.item, &a, "Item", text, len);
    for (size_t i = 0; i < r1.nitems; i++)
      same_structs(m, (char *)r1.items + i * m->size, (char *)av.items + i * m->size, &a, "Items[i]", text, len);
    if (r1.has_last_key) FUZZ_CHECK(fuzz_av_same(&r1.last_key, &av.last_key), "%s: LastEvaluatedKey differs", m->name);
  }
  dorm_status st3 = dorm__model_decode_response(text, len, m, flags | MODEL_DECODE_DIRECT_ONLY, &a, &r3, e3, sizeof e3);
  if (st3 == DORM_OK) {
    FUZZ_CHECK(st1 == DORM_OK, "%s: the decoder alone accepts what the decoder refuses (%s) for %s", m->name, e1,
               fuzz_show(text, len));
    FUZZ_CHECK(r3.has_item == r1.has_item && r3.nitems == r1.nitems && r3.has_last_key == r1.has_last_key,
               "%s: the decoder alone read other parts", m->name);
    if (r1.has_item) same_structs(m, r3.item, r1.item, &a, "Item (decoder alone)", text, len);
    for (size_t i = 0; i < r1.nitems; i++)
      same_structs(m, (char *)r3.items + i * m->size, (char *)r1.items + i * m->size, &a, "Items[i] (decoder alone)",
                   text, len);
  }
  dorm_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  /* data[0] picks the model (slot % NSLOTS; without the test models the
   * slots map onto the generated ones) and the flags; the JSON follows. */
  unsigned sel = data[0], variant = (sel / NSLOTS) % 4;
  const dorm_model_desc *m = models[(sel % NSLOTS) % NMODELS];
  char *text = fuzz_exact_copy(data + 1, size - 1);
  item_both(m, text, size - 1, variant & 1 ? DORM_READ_PARTIAL : 0);
  response_both(m, text, size - 1, variant & 2 ? MODEL_DECODE_CHECK_TYPE | DORM_READ_PARTIAL : 0);
  fuzz_exact_free(text);
  return 0;
}
