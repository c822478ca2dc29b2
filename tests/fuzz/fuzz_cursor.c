/* DynamORM pagination cursors (runtime/src/model/cursor.c) and the strict
 * base64 under them.
 *
 * Input: a cursor as a caller would pass it (URL-safe base64 text), or, when
 * it starts with '{', the JSON inside a cursor (wrapped in base64 here, so
 * the fuzzer can work on the JSON directly).
 *
 * Properties:
 *   - dorm_cursor_decode accepts the text or refuses it with
 *     DORM_ERR_BAD_CURSOR and a "bad cursor: ..." message;
 *   - decode -> encode -> decode gives the same key, index and sort, and
 *     encoding that again gives the same bytes;
 *   - base64 is strict: text that decodes is exactly the encoding of what it
 *     decodes to (one accepted encoding per byte string), in both alphabets,
 *     and every byte string round-trips.
 */
#include <stdint.h>
#include <string.h>

#include "core_internal.h"
#include "dorm/model.h"
#include "fuzz_support.h"

static void base64_strict(const char *text, size_t len, dorm_b64_alphabet alpha) {
  uint8_t *raw = malloc(dorm__b64_decoded_max(len) + 1);
  FUZZ_CHECK(raw, "out of memory");
  size_t n = 0, bad = 0;
  if (dorm__b64_decode(text, len, raw, &n, alpha, &bad)) {
    size_t elen = dorm__b64_encoded_len(n);
    char *again = malloc(elen + 1);
    FUZZ_CHECK(again, "out of memory");
    size_t wrote = dorm__b64_encode(raw, n, again, alpha);
    FUZZ_CHECK(wrote == elen && elen == len && memcmp(again, text, len) == 0,
               "base64 (alphabet %d) accepted a second encoding of %zu bytes: %s", (int)alpha, n, fuzz_show(text, len));
    free(again);
  } else {
    FUZZ_CHECK(bad <= len, "bad offset %zu past the end (%zu)", bad, len);
  }
  free(raw);
  /* any bytes: encode, decode back */
  size_t elen = dorm__b64_encoded_len(len);
  char *enc = malloc(elen ? elen : 1);
  uint8_t *back = malloc(dorm__b64_decoded_max(elen) + 1);
  FUZZ_CHECK(enc && back, "out of memory");
  FUZZ_CHECK(dorm__b64_encode((const uint8_t *)text, len, enc, alpha) == elen, "encode length");
  FUZZ_CHECK(dorm__b64_decode(enc, elen, back, &n, alpha, NULL) && n == len && (n == 0 || memcmp(back, text, n) == 0),
             "base64 (alphabet %d) does not round-trip %zu bytes", (int)alpha, len);
  free(enc);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *cursor;
  if (size && data[0] == '{') {
    size_t n = dorm__b64_encoded_len(size);
    cursor = malloc(n + 1);
    FUZZ_CHECK(cursor, "out of memory");
    cursor[dorm__b64_encode(data, size, cursor, DORM_B64_URL)] = '\0';
  } else {
    cursor = fuzz_cstr_copy(data, size);
    /* the base64 layer on its own, over the exact bytes */
    char *exact = fuzz_exact_copy(data, size);
    base64_strict(exact, size, DORM_B64_URL);
    base64_strict(exact, size, DORM_B64_STD);
    fuzz_exact_free(exact);
  }

  dorm_arena a = DORM_ARENA_INIT;
  char err[512] = "";
  dorm_av key;
  const char *index = NULL, *sort = NULL;
  dorm_status st = dorm_cursor_decode(cursor, &a, &key, &index, &sort, err, sizeof err);
  FUZZ_CHECK(index && sort && key.type == DORM_AV_M, "decode left its outputs unset");
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_BAD_CURSOR || st == DORM_ERR_NO_MEMORY, "decode: unexpected %s (%s)", dorm_strerror(st),
               err);
    FUZZ_CHECK(st != DORM_ERR_BAD_CURSOR || strncmp(err, "bad cursor: ", 12) == 0, "message: \"%s\"", err);
    FUZZ_CHECK(key.u.map.count == 0 && !*index && !*sort, "a refused cursor left a key, index or sort behind");
    goto done;
  }
  FUZZ_CHECK(!*sort || strcmp(sort, "ASC") == 0 || strcmp(sort, "DESC") == 0, "sort \"%s\"", sort);
  FUZZ_CHECK(dorm_av_equal(&key, &key), "a decoded key is not equal to itself");

  const char *c1 = NULL;
  st = dorm_cursor_encode(&key, index, sort, &a, &c1);
  FUZZ_CHECK(st == DORM_OK, "a decoded cursor does not encode: %s (input %s)", dorm_strerror(st),
             fuzz_show(cursor, strlen(cursor)));
  dorm_av key2;
  const char *index2 = NULL, *sort2 = NULL;
  st = dorm_cursor_decode(c1, &a, &key2, &index2, &sort2, err, sizeof err);
  FUZZ_CHECK(st == DORM_OK, "re-encoded cursor does not decode: %s (%s): %s", dorm_strerror(st), err, c1);
  FUZZ_CHECK(dorm_av_equal(&key, &key2), "the key changed through encode/decode: %s", c1);
  FUZZ_CHECK(strcmp(index, index2) == 0 && strcmp(sort, sort2) == 0, "index/sort changed: \"%s\"/\"%s\" -> \"%s\"/\"%s\"",
             index, sort, index2, sort2);
  const char *c2 = NULL;
  FUZZ_CHECK(dorm_cursor_encode(&key2, index2, sort2, &a, &c2) == DORM_OK, "second encode failed");
  FUZZ_CHECK(strcmp(c1, c2) == 0, "encoding is not stable:\n  %s\n  %s", c1, c2);
  dorm_av key3;
  const char *index3 = NULL, *sort3 = NULL;
  FUZZ_CHECK(dorm_cursor_decode(c2, &a, &key3, &index3, &sort3, err, sizeof err) == DORM_OK, "third decode: %s", err);
  FUZZ_CHECK(fuzz_av_same(&key2, &key3), "decoding the same cursor twice gave different keys");

done:
  dorm_arena_free(&a);
  free(cursor);
  return 0;
}
