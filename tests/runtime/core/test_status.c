#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/status.h"

static void every_status_has_text(void **state) {
  (void)state;
  for (int s = DORM_OK; s <= DORM_ERR_BAD_ENVELOPE; s++) {
    assert_string_not_equal(dorm_strerror((dorm_status)s), "unknown status");
  }
  assert_string_equal(dorm_strerror((dorm_status)9999), "unknown status");
}

static void dynamorm_names(void **state) {
  (void)state;
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_CONDITION_FAILED), "ErrConditionFailed");
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_NOT_FOUND), "ErrItemNotFound");
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_BAD_ENVELOPE), "ErrInvalidEncryptedEnvelope");
  assert_string_equal(dorm_status_dynamorm_name(DORM_ERR_ENCRYPTION_NOT_CONFIGURED), "ErrEncryptionNotConfigured");
  assert_null(dorm_status_dynamorm_name(DORM_OK));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_status_has_text),
    cmocka_unit_test(dynamorm_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
