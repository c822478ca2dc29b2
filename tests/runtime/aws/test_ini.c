#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ini.h"
#include "test_support.h"

static dorm_ini *parse_ok(const char *text) {
  char err[256] = "";
  dorm_ini *ini = NULL;
  dorm_status st = dorm__ini_parse(text, strlen(text), "test.ini", &ini, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "unexpected error: %s\n", err);
  assert_int_equal(st, DORM_OK);
  assert_non_null(ini);
  return ini;
}

static const char *val(const dorm_ini *ini, const char *sec, const char *key) {
  const dorm_ini_prop *p = dorm__ini_get(dorm__ini_section_find(ini, sec), key);
  return p ? p->value : NULL;
}

static void parse_err(const char *text, dorm_status want, const char *msg) {
  char err[256] = "";
  dorm_ini *ini = (dorm_ini *)1;
  dorm_status st = dorm__ini_parse(text, strlen(text), "~/.aws/config", &ini, err, sizeof err);
  assert_int_equal(st, want);
  assert_null(ini);
  assert_string_equal(err, msg);
}

static void profiles_and_values(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("[default]\nregion = us-east-1\n\n[profile dev]\nregion=eu-west-1\n"
                           "output = json\n");
  assert_int_equal(ini->nsections, 2);
  assert_string_equal(val(ini, "default", "region"), "us-east-1");
  assert_string_equal(val(ini, "profile dev", "region"), "eu-west-1");
  assert_string_equal(val(ini, "profile dev", "output"), "json");
  assert_null(val(ini, "default", "output"));
  assert_null(dorm__ini_section_find(ini, "dev"));
  const dorm_ini_prop *p = dorm__ini_get(dorm__ini_section_find(ini, "profile dev"), "output");
  assert_int_equal(p->line, 6);
  assert_int_equal(dorm__ini_section_find(ini, "profile dev")->line, 4);
  dorm__ini_free(ini);
}

static void comments(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("# leading comment\n"
                           "; another\n"
                           "[default] # header comment\n"
                           "  # indented comment\n"
                           "a = 1 # inline\n"
                           "b = 2 ; inline too\n"
                           "c = x#not-a-comment\n"
                           "d = base64==;still\n"
                           "e = \t# only a comment\n"
                           "[other];comment right after the bracket\n"
                           "f = 3\n");
  assert_string_equal(val(ini, "default", "a"), "1");
  assert_string_equal(val(ini, "default", "b"), "2");
  assert_string_equal(val(ini, "default", "c"), "x#not-a-comment");
  assert_string_equal(val(ini, "default", "d"), "base64==;still");
  assert_string_equal(val(ini, "default", "e"), "");
  assert_string_equal(val(ini, "other", "f"), "3");
  dorm__ini_free(ini);
}

static void odd_whitespace(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("   \n"
                           "[  spaced name  ]\n"
                           "key=value\n"
                           "key2   =   value with  inner  spaces   \n"
                           "key3\t=\tt\t\n"
                           "Mixed_Case = V\n"
                           "empty =\n"
                           "\t\t\n"
                           "after_blank = ok\n");
  assert_string_equal(val(ini, "spaced name", "key"), "value");
  assert_string_equal(val(ini, "spaced name", "key2"), "value with  inner  spaces");
  assert_string_equal(val(ini, "spaced name", "key3"), "t");
  assert_string_equal(val(ini, "spaced name", "mixed_case"), "V");
  assert_string_equal(val(ini, "spaced name", "empty"), "");
  assert_string_equal(val(ini, "spaced name", "after_blank"), "ok");
  dorm__ini_free(ini);
}

static void indented_first_property(void **state) {
  (void)state;
  /* An indented key right under a header is a key, as the AWS CLI reads it. */
  dorm_ini *ini = parse_ok("[default]\n  region = us-west-2\n");
  assert_string_equal(val(ini, "default", "region"), "us-west-2");
  dorm__ini_free(ini);
}

static void crlf_and_bom(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("\xEF\xBB\xBF[default]\r\nregion = ap-south-1\r\n"
                           "services = mine\r\n[services mine]\r\ndynamodb =\r\n"
                           "  endpoint_url = http://localhost:8000\r\n");
  assert_string_equal(val(ini, "default", "region"), "ap-south-1");
  const dorm_ini_prop *ddb = dorm__ini_get(dorm__ini_section_find(ini, "services mine"), "dynamodb");
  assert_string_equal(dorm__ini_sub_get(ddb, "endpoint_url")->value, "http://localhost:8000");
  dorm__ini_free(ini);
}

static void sub_sections(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("[services local]\n"
                           "dynamodb =\n"
                           "  endpoint_url = http://localhost:8000 # local\n"
                           "\n"
                           "  # a comment inside the block\n"
                           "\tEndpoint_URL = http://localhost:9000\n"
                           "s3 =\n"
                           "  endpoint_url = http://localhost:4566\n"
                           "plain = first\n"
                           "  second line\n");
  const dorm_ini_section *sec = dorm__ini_section_find(ini, "services local");
  const dorm_ini_prop *ddb = dorm__ini_get(sec, "dynamodb");
  assert_non_null(ddb);
  assert_string_equal(ddb->value, "");
  assert_int_equal(ddb->nsub, 1);
  /* Sub-property keys are case-insensitive too, and the last one wins. */
  assert_string_equal(dorm__ini_sub_get(ddb, "endpoint_url")->value, "http://localhost:9000");
  assert_int_equal(dorm__ini_sub_get(ddb, "endpoint_url")->line, 6);
  assert_string_equal(dorm__ini_sub_get(dorm__ini_get(sec, "s3"), "endpoint_url")->value,
                      "http://localhost:4566");
  /* An indented line after a non-empty value continues it. */
  assert_string_equal(val(ini, "services local", "plain"), "first\nsecond line");
  dorm__ini_free(ini);
}

static void duplicates(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("[default]\nregion = a\nregion = b\n[other]\nx = 1\n[default]\n"
                           "region = c\noutput = text\n");
  /* Last value wins; a repeated section continues the first. */
  assert_int_equal(ini->nsections, 2);
  assert_string_equal(val(ini, "default", "region"), "c");
  assert_int_equal(dorm__ini_get(dorm__ini_section_find(ini, "default"), "region")->line, 7);
  assert_string_equal(val(ini, "default", "output"), "text");
  assert_string_equal(val(ini, "other", "x"), "1");
  dorm__ini_free(ini);
}

static void empty_input(void **state) {
  (void)state;
  dorm_ini *ini = parse_ok("");
  assert_int_equal(ini->nsections, 0);
  assert_null(dorm__ini_section_find(ini, "default"));
  dorm__ini_free(ini);
  ini = parse_ok("# only comments\n\n; here\n");
  assert_int_equal(ini->nsections, 0);
  dorm__ini_free(ini);
}

static void syntax_errors(void **state) {
  (void)state;
  parse_err("region = x\n", DORM_ERR_CONFIG,
            "~/.aws/config:1: expected a section header such as [default] before the first property");
  parse_err("[default\nk=v\n", DORM_ERR_CONFIG, "~/.aws/config:1: section header must end with ']'");
  parse_err("[default]\nregion us-east-1\n", DORM_ERR_CONFIG, "~/.aws/config:2: expected 'key = value'");
  parse_err("[default]\n= value\n", DORM_ERR_CONFIG, "~/.aws/config:2: key has no name before '='");
  parse_err("[default]\r\nok = 1\r\n\r\n[]\r\n", DORM_ERR_CONFIG, "~/.aws/config:4: empty section name '[]'");
  parse_err("[services x]\ndynamodb =\n  endpoint_url http://x\n", DORM_ERR_CONFIG,
            "~/.aws/config:3: expected 'sub-property = value'");
  const char nul[] = "[default]\nregion = a\0b\n";
  char err[256];
  dorm_ini *ini = NULL;
  assert_int_equal(dorm__ini_parse(nul, sizeof nul - 1, "f", &ini, err, sizeof err), DORM_ERR_CONFIG);
  assert_string_equal(err, "f:2: contains a NUL byte (not a text file?)");
  assert_null(ini);
}

static void load_files(void **state) {
  (void)state;
  char dir[] = "/tmp/dorm_ini_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], err[256] = "";
  dorm_ini *ini = NULL;
  bool found = true;

  snprintf(path, sizeof path, "%s/missing", dir);
  assert_int_equal(dorm__ini_load(path, "~/missing", &ini, &found, err, sizeof err), DORM_OK);
  assert_false(found);
  assert_int_equal(ini->nsections, 0);
  assert_string_equal(ini->path, "~/missing");
  dorm__ini_free(ini);

  snprintf(path, sizeof path, "%s/config", dir);
  const char *text = "[default]\nregion = us-east-2\n";
  assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
  assert_int_equal(dorm__ini_load(path, NULL, &ini, &found, err, sizeof err), DORM_OK);
  assert_true(found);
  assert_string_equal(val(ini, "default", "region"), "us-east-2");
  dorm__ini_free(ini);

  const char *bad = "[default]\nregion = ok\nbroken line\n";
  assert_int_equal(ts_write_file(path, bad, strlen(bad)), 0);
  assert_int_equal(dorm__ini_load(path, "~/.aws/config", &ini, &found, err, sizeof err), DORM_ERR_CONFIG);
  assert_string_equal(err, "~/.aws/config:3: expected 'key = value'");
  assert_null(ini);

  /* A path that exists but is not a readable file is an error, not "missing". */
  assert_int_equal(dorm__ini_load(dir, "~/.aws", &ini, &found, err, sizeof err), DORM_ERR_IO);
  assert_string_equal(err, "~/.aws: cannot read: is a directory");
  assert_null(ini);

  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(profiles_and_values),
    cmocka_unit_test(comments),
    cmocka_unit_test(odd_whitespace),
    cmocka_unit_test(indented_first_property),
    cmocka_unit_test(crlf_and_bom),
    cmocka_unit_test(sub_sections),
    cmocka_unit_test(duplicates),
    cmocka_unit_test(empty_input),
    cmocka_unit_test(syntax_errors),
    cmocka_unit_test(load_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
