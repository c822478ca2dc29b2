/* DynamoDB JSON: the reader (runtime/src/core/json_read.c, cJSON underneath)
 * and the writer (json_write.c), on input that is not NUL-terminated.
 *
 * The input is read as one AttributeValue and as an item. Properties:
 *   - the reader accepts it or refuses it with DORM_ERR_BAD_RESPONSE and a
 *     message;
 *   - what it accepts is written back (dorm_av_to_json / dorm_item_to_json,
 *     and the streaming writer dorm__jw_* reused across inputs, which must
 *     give the same text), unless it nests deeper than DORM_AV_MAX_DEPTH,
 *     which the writer refuses (and only then);
 *   - that text reads back to exactly the same value (types, bytes, order),
 *     equal by dorm_av_equal, and writes again to the same bytes;
 *   - dorm_av_copy gives the same value; an item has a DynamoDB size;
 *   - the response readers (dorm__json_response_members, the Item/Items/
 *     LastEvaluatedKey members) accept or refuse without crashing, and an
 *     item they accept is the one the item reader gives for that member.
 */
#include <stdint.h>
#include <string.h>

#include "core_internal.h"
#include "fuzz_support.h"

static dorm_jw W; /* reused, as a client reuses its request writer */
static bool W_ready;

static void round_trip(const char *buf, size_t size, bool item) {
  dorm_arena a = DORM_ARENA_INIT;
  char err[512] = "";
  dorm_av v;
  dorm_status st = item ? dorm_item_from_json(buf, size, &a, &v, err, sizeof err)
                        : dorm_av_from_json(buf, size, &a, &v, err, sizeof err);
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_BAD_RESPONSE || st == DORM_ERR_NO_MEMORY, "read: unexpected %s (%s)", dorm_strerror(st), err);
    FUZZ_CHECK(err[0], "a refusal without a message");
    goto done;
  }
  FUZZ_CHECK(!item || v.type == DORM_AV_M, "an item that is not an M");
  FUZZ_CHECK(dorm_av_equal(&v, &v), "a value read is not equal to itself");

  dorm_av copy;
  FUZZ_CHECK(dorm_av_copy(&a, &v, &copy) == DORM_OK, "dorm_av_copy failed");
  FUZZ_CHECK(fuzz_av_same(&v, &copy), "dorm_av_copy changed the value");
  if (item) {
    size_t isz = 0;
    FUZZ_CHECK(dorm_item_size(&v, &isz) == DORM_OK, "dorm_item_size refused an item");
  }

  size_t depth = fuzz_av_depth(&v, item);
  const char *j1 = NULL;
  size_t l1 = 0;
  st = item ? dorm_item_to_json(&v, &a, 0, &j1, &l1, err, sizeof err) : dorm_av_to_json(&v, &a, 0, &j1, &l1, err, sizeof err);
  if (depth > DORM_AV_MAX_DEPTH || !fuzz_av_writable(&v)) {
    FUZZ_CHECK(st == DORM_ERR_INVALID_ARGUMENT, "nesting %zu or a refused name/set written: %s", depth,
               dorm_strerror(st));
    goto done;
  }
  FUZZ_CHECK(st == DORM_OK, "a value read does not write (depth %zu): %s (%s)", depth, dorm_strerror(st), err);
  FUZZ_CHECK(strlen(j1) == l1, "written length %zu, text %zu", l1, strlen(j1));

  /* the streaming writer, reused */
  if (!W_ready) {
    dorm__jw_init(&W, 0);
    W_ready = true;
  }
  dorm__jw_reset(&W);
  if (item) dorm__jw_item(&W, &v, "Item");
  else dorm__jw_av(&W, &v, "Value");
  const char *jw = NULL;
  size_t lw = 0;
  FUZZ_CHECK(dorm__jw_finish(&W, &jw, &lw) == DORM_OK, "dorm__jw: %s", W.err);
  FUZZ_CHECK(lw == l1 && memcmp(jw, j1, l1) == 0, "dorm__jw and dorm_*_to_json differ:\n  %s\n  %s", jw, j1);

  char *exact = fuzz_exact_copy((const uint8_t *)j1, l1);
  dorm_av v2;
  st = item ? dorm_item_from_json(exact, l1, &a, &v2, err, sizeof err) : dorm_av_from_json(exact, l1, &a, &v2, err, sizeof err);
  fuzz_exact_free(exact);
  FUZZ_CHECK(st == DORM_OK, "written text does not read back: %s (%s): %s", dorm_strerror(st), err, j1);
  FUZZ_CHECK(fuzz_av_same(&v, &v2), "the value changed through write/read: %s", j1);
  FUZZ_CHECK(dorm_av_equal(&v, &v2) && dorm_av_equal(&v2, &v), "dorm_av_equal denies a round trip: %s", j1);
  const char *j2 = NULL;
  size_t l2 = 0;
  st = item ? dorm_item_to_json(&v2, &a, 0, &j2, &l2, err, sizeof err) : dorm_av_to_json(&v2, &a, 0, &j2, &l2, err, sizeof err);
  FUZZ_CHECK(st == DORM_OK && l2 == l1 && memcmp(j1, j2, l1) == 0, "writing is not stable:\n  %s\n  %s", j1, j2 ? j2 : "");
done:
  dorm_arena_free(&a);
}

static void response(const char *buf, size_t size) {
  cJSON *root = NULL;
  char err[512] = "";
  if (dorm__json_parse(buf, size, &root, err, sizeof err) != DORM_OK) {
    FUZZ_CHECK(root == NULL && err[0], "a parse failure without a message");
    return;
  }
  dorm_arena a = DORM_ARENA_INIT;
  dorm_json_response mem;
  (void)dorm__json_response_members(root, &mem, err, sizeof err);
  static const char *const members[] = {"Item", "Attributes", "LastEvaluatedKey", "Keys"};
  for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
    dorm_av v;
    bool found = false;
    dorm_status st = dorm__json_member_item(root, members[i], &a, &v, &found, err, sizeof err);
    FUZZ_CHECK(st == DORM_OK || st == DORM_ERR_BAD_RESPONSE || st == DORM_ERR_NO_MEMORY, "member_item: %s",
               dorm_strerror(st));
    if (st == DORM_OK && found) {
      /* the same as reading that member's text as an item */
      const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, members[i]);
      dorm_av w;
      FUZZ_CHECK(dorm__json_to_item(m, &a, &w, members[i], err, sizeof err) == DORM_OK && fuzz_av_same(&v, &w),
                 "member %s read twice differently", members[i]);
    }
  }
  dorm_av *items = NULL;
  size_t n = 0;
  dorm_status st = dorm__json_member_items(root, "Items", &a, &items, &n, err, sizeof err);
  FUZZ_CHECK(st == DORM_OK || st == DORM_ERR_BAD_RESPONSE || st == DORM_ERR_NO_MEMORY, "member_items: %s",
             dorm_strerror(st));
  for (size_t i = 0; st == DORM_OK && i < n; i++) FUZZ_CHECK(items[i].type == DORM_AV_M, "Items[%zu] is no M", i);
  /* any node as an AttributeValue */
  dorm_av any;
  st = dorm__json_to_av(root, &a, &any, "Value", err, sizeof err);
  FUZZ_CHECK(st == DORM_OK || st == DORM_ERR_BAD_RESPONSE || st == DORM_ERR_NO_MEMORY, "json_to_av: %s",
             dorm_strerror(st));
  cJSON_Delete(root);
  dorm_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = fuzz_exact_copy(data, size);
  round_trip(buf, size, false);
  round_trip(buf, size, true);
  response(buf, size);
  fuzz_exact_free(buf);
  return 0;
}
