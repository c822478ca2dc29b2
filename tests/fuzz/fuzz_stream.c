/* DynamoDB Streams events (runtime/src/model/stream.c): a Lambda event
 * {"Records":[...]} or one record, on input that is not NUL-terminated.
 *
 * Properties: dorm_stream_parse accepts it or refuses it with
 * DORM_ERR_BAD_RESPONSE and a message; an accepted event has count records
 * with a known event name, strings for eventID and eventSourceARN, and
 * Keys/NewImage/OldImage that are maps; each image writes as item JSON
 * (unless nested deeper than the writer allows) that reads back to the same
 * value; parsing the same text again gives the same records. */
#include <stdint.h>
#include <string.h>

#include "core_internal.h"
#include "dorm/model.h"
#include "fuzz_support.h"

static void image_round_trip(const dorm_av *img, dorm_arena *a) {
  FUZZ_CHECK(img->type == DORM_AV_M, "an image or key that is not an M");
  char err[512] = "";
  const char *json = NULL;
  size_t len = 0;
  dorm_status st = dorm_item_to_json(img, a, 0, &json, &len, err, sizeof err);
  if (fuzz_av_depth(img, true) > DORM_AV_MAX_DEPTH || !fuzz_av_writable(img)) {
    FUZZ_CHECK(st == DORM_ERR_INVALID_ARGUMENT, "a too deep image (or a refused name/set) was written: %s",
               dorm_strerror(st));
    return;
  }
  FUZZ_CHECK(st == DORM_OK, "an image does not write: %s (%s)", dorm_strerror(st), err);
  dorm_av back;
  FUZZ_CHECK(dorm_item_from_json(json, len, a, &back, err, sizeof err) == DORM_OK, "an image does not read back: %s", err);
  FUZZ_CHECK(fuzz_av_same(img, &back), "an image changed through write/read: %s", json);
}

static bool same_record(const dorm_stream_record *x, const dorm_stream_record *y) {
  return x->event == y->event && strcmp(x->event_id, y->event_id) == 0 && strcmp(x->table_arn, y->table_arn) == 0 &&
         fuzz_av_same(&x->keys, &y->keys) && x->has_new_image == y->has_new_image &&
         x->has_old_image == y->has_old_image && (!x->has_new_image || fuzz_av_same(&x->new_image, &y->new_image)) &&
         (!x->has_old_image || fuzz_av_same(&x->old_image, &y->old_image));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = fuzz_exact_copy(data, size);
  dorm_arena a = DORM_ARENA_INIT;
  char err[512] = "";
  dorm_stream_record *recs = NULL;
  size_t n = 0;
  dorm_status st = dorm_stream_parse(buf, size, &a, &recs, &n, err, sizeof err);
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_BAD_RESPONSE || st == DORM_ERR_NO_MEMORY, "unexpected %s (%s)", dorm_strerror(st), err);
    FUZZ_CHECK(err[0], "refused without a message");
    FUZZ_CHECK(!recs && n == 0, "a refused event left records behind");
    goto done;
  }
  FUZZ_CHECK(n == 0 || recs, "%zu records and no array", n);
  for (size_t i = 0; i < n; i++) {
    const dorm_stream_record *r = &recs[i];
    FUZZ_CHECK(r->event == DORM_STREAM_INSERT || r->event == DORM_STREAM_MODIFY || r->event == DORM_STREAM_REMOVE,
               "Records[%zu]: event %d", i, (int)r->event);
    FUZZ_CHECK(r->event_id && r->table_arn, "Records[%zu]: NULL strings", i);
    image_round_trip(&r->keys, &a);
    if (r->has_new_image) image_round_trip(&r->new_image, &a);
    if (r->has_old_image) image_round_trip(&r->old_image, &a);
  }
  dorm_stream_record *again = NULL;
  size_t n2 = 0;
  FUZZ_CHECK(dorm_stream_parse(buf, size, &a, &again, &n2, err, sizeof err) == DORM_OK && n2 == n,
             "parsing twice: %s", err);
  for (size_t i = 0; i < n; i++) FUZZ_CHECK(same_record(&recs[i], &again[i]), "Records[%zu] read twice differently", i);
done:
  dorm_arena_free(&a);
  fuzz_exact_free(buf);
  return 0;
}
