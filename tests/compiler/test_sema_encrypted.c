/* @encrypted (issue 15): what sema records for the generators, and what the
 * C generator makes of it: the flag and the model's KMS key in the
 * descriptors, and no typed helper DynamoDB could not apply to an envelope
 * (add, append, conditions), so that misuse does not compile. The refusals
 * themselves are the diagnostics case E1-encrypted-refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gen_model.h"
#include "test_util.h"

static const char *const schema = "namespace e;\n"
                                  "struct Card { number: string; }\n"
                                  "model Pay table \"pay_enc\" {\n"
                                  "  id: string @pk;\n"
                                  "  card: Card @encrypted(\"arn:aws:kms:eu-west-1:111122223333:key/"
                                  "1234abcd-12ab-34cd-56ef-1234567890ab\");\n"
                                  "  memo: string? @encrypted @omit_empty;\n"
                                  "  seq: int @encrypted;\n"
                                  "  plain: string;\n"
                                  "}\n";

static const dormc_field *field(const dormc_model *m, const char *name) {
  for (size_t i = 0; i < m->nfields; i++)
    if (!strcmp(m->fields[i].name, name)) return &m->fields[i];
  fail_msg("no field %s", name);
  return NULL;
}

static void records_fields_and_keys(void **state) {
  (void)state;
  tu_result r = tu_compile1(schema);
  if (!r.schema) fail_msg("%s", r.diags);
  const dormc_model *m = dormc_schema_model(r.schema, "Pay");
  const dormc_field *card = field(m, "card"), *memo = field(m, "memo"), *seq = field(m, "seq");
  assert_true(card->encrypted);
  assert_string_equal(card->kms_key, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  assert_int_equal(card->encrypted_loc.line, 5);
  assert_true(memo->encrypted);
  assert_null(memo->kms_key); /* from configuration at run time */
  assert_true(memo->omit_empty);
  assert_true(seq->encrypted);
  assert_false(field(m, "plain")->encrypted);
  assert_false(field(m, "id")->encrypted);
  tu_free(&r);
}

/* A key form KMS takes is accepted; each other spelling is refused. */
static void kms_key_forms(void **state) {
  (void)state;
  static const char *const ok[] = {"alias/orders", "alias/team/orders-2", "1234abcd-12ab-34cd-56ef-1234567890ab",
                                   "mrk-1234abcd12ab34cd56ef1234567890ab",
                                   "arn:aws:kms:us-east-1:111122223333:alias/orders"};
  static const char *const bad[] = {"", "alias/", "alias/aws/dynamodb", "orders", "alias/a b",
                                    "arn:aws:s3:::bucket/key/x", "mrk-12"};
  char text[512];
  for (size_t i = 0; i < sizeof ok / sizeof *ok + sizeof bad / sizeof *bad; i++) {
    bool good = i < sizeof ok / sizeof *ok;
    const char *k = good ? ok[i] : bad[i - sizeof ok / sizeof *ok];
    snprintf(text, sizeof text, "namespace e;\nmodel M table \"m_enc\" {\n  id: string @pk;\n  s: string @encrypted(\"%s\");\n}\n",
             k);
    tu_result r = tu_compile1(text);
    if (good && !r.schema) fail_msg("'%s' refused:\n%s", k, r.diags);
    if (!good && (r.schema || !tu_has(&r, "is not a KMS key"))) fail_msg("'%s' accepted", k);
    tu_free(&r);
  }
}

/* The generated code: encrypted fields flagged, the model's KMS key in its
 * descriptor, and none of the helpers that would compare or change a value
 * in place (a compile-time error for the caller). */
static void generator_emits(void **state) {
  (void)state;
  tu_result r = tu_compile1(schema);
  assert_non_null(r.schema);
  char *h = NULL, *c = NULL;
  size_t hl = 0, cl = 0;
  assert_int_equal(dormc_gen_models(r.c, r.schema, "t.dorm", "t", NULL, 0, &h, &hl, &c, &cl), 0);
  assert_non_null(strstr(c, "DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY | DORM_FF_ENCRYPTED"));
  assert_non_null(strstr(c, "  3, \"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"\n};"));
  assert_non_null(strstr(h, "e_Pay_set_seq("));
  assert_non_null(strstr(h, "e_Pay_set_default_memo("));
  assert_non_null(strstr(h, "e_Pay_remove_memo("));
  assert_null(strstr(h, "e_Pay_add_seq("));
  assert_null(strstr(h, "e_Pay_cond_seq"));
  assert_null(strstr(h, "e_Pay_cond_memo"));
  assert_null(strstr(h, "e_Pay_cond_card"));
  assert_non_null(strstr(h, "e_Pay_cond_plain("));
  assert_non_null(strstr(h, "@encrypted (stored as an envelope"));
  free(h);
  free(c);
  tu_free(&r);

  r = tu_compile1("namespace e;\nmodel M table \"m_plain\" {\n  id: string @pk;\n  s: string;\n}\n");
  assert_non_null(r.schema);
  assert_int_equal(dormc_gen_models(r.c, r.schema, "t.dorm", "t", NULL, 0, &h, &hl, &c, &cl), 0);
  assert_non_null(strstr(c, "  0, NULL\n};"));
  free(h);
  free(c);
  tu_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(records_fields_and_keys),
      cmocka_unit_test(kms_key_forms),
      cmocka_unit_test(generator_emits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
