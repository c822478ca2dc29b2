/* The hot path's parser (runtime/src/core/json_jsmn.c: jsmn's tokens into a
 * tree of cJSON's layout in one block) against cJSON, on input that is not
 * NUL-terminated. Property (tests/runtime/model/json_diff.c, shared with
 * test_json_diff): the two readings give the same tree, the same
 * dorm_av values, the same structs for every model below (responses and
 * items, whole, partial and type-checked), or the same status and message;
 * jsmn alone never accepts what cJSON refuses. */
#include <stdint.h>

#include "contract_models.h"
#include "fuzz_support.h"
#include "json_diff.h"
#include "shop_models.h"
#ifdef FUZZ_HAVE_TEST_MODELS
#include "test_models.h"
#endif

static const dorm_model_desc *const models[] = {
#ifdef FUZZ_HAVE_TEST_MODELS
    &tm_Kitchen_desc, &tm_Order_desc,
#endif
    &shop_Order_desc, &dynamorm_contract_User_desc,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = fuzz_exact_copy(data, size);
  const char *bad = jd_check(buf, size, models, sizeof models / sizeof models[0], NULL);
  FUZZ_CHECK(bad == NULL, "%s\n  input: %s", bad ? bad : "", fuzz_show(buf, size));
  fuzz_exact_free(buf);
  return 0;
}
