/* Semantic analysis: the resolved schema of the shipped schemas, and the
 * semantic rules (each asserted by its message and location). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "test_util.h"

static tu_result compile_shipped(const char *name, char **text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/schemas/%s", ts_source_dir(), name);
  *text = ts_read_file(path, NULL);
  assert_non_null(*text);
  tu_file f = {name, *text, 0};
  tu_result r = tu_compile(&f, 1);
  if (r.analyze_rc != 0 || r.ndiags) fail_msg("%s:\n%s", name, r.diags);
  return r;
}

static void shop_keys_templates_and_indexes(void **state) {
  (void)state;
  char *text;
  tu_result r = compile_shipped("shop.dorm", &text);
  const dormc_schema *s = r.schema;
  assert_string_equal(s->namespace_, "shop");
  assert_string_equal(s->c_prefix, "shop");
  const dormc_table *t = dormc_schema_table(s, "Shop");
  assert_non_null(t);
  assert_string_equal(t->physical_name, "shop");
  assert_string_equal(t->pk.attr, "PK");
  assert_string_equal(t->sk.attr, "SK");
  assert_int_equal(t->stream, DORMC_STREAM_NEW_AND_OLD_IMAGES);
  assert_string_equal(t->ttl_attr, "expiresAt");
  assert_null(t->owner);
  assert_int_equal(t->ngsis, 2);
  assert_int_equal(t->nlsis, 1);
  assert_int_equal(t->nmodels, 3);
  assert_int_equal(t->gsis[1].projection, DORMC_PROJECT_KEYS_ONLY);
  assert_null(t->gsis[1].sk.attr);
  assert_string_equal(t->lsis[0].pk.attr, "PK");

  const dormc_model *o = dormc_schema_model(s, "Order");
  assert_string_equal(o->c_name, "shop_Order");
  assert_string_equal(o->entity_type, "Order");
  assert_ptr_equal(o->table, t);
  assert_string_equal(o->pk->attr, "PK");
  assert_null(o->pk->field);
  assert_int_equal(o->pk->nparts, 2);
  assert_int_equal(o->pk->parts[0].kind, DORMC_TPL_LITERAL);
  assert_string_equal(o->pk->parts[0].text, "CUSTOMER#");
  assert_int_equal(o->pk->parts[1].kind, DORMC_TPL_FIELD);
  assert_string_equal(o->pk->parts[1].field->name, "customerId");
  const dormc_key_binding *g1sk = dormc_model_binding(o, "GSI1SK");
  assert_int_equal(g1sk->nparts, 1);
  assert_string_equal(g1sk->parts[0].field->name, "createdAt");
  /* The LSI's sort key is filled by the createdAt field directly. */
  const dormc_key_binding *lsi = dormc_model_binding(o, "createdAt");
  assert_non_null(lsi);
  assert_string_equal(lsi->field->name, "createdAt");
  assert_int_equal(o->nindexes, 2);
  assert_string_equal(o->indexes[0]->name, "gsi-status");
  assert_string_equal(o->indexes[1]->name, "lsi-created");
  assert_string_equal(o->ttl->name, "expiresAt");
  assert_string_equal(o->version->name, "version");
  assert_string_equal(dormc_model_field(o, "note")->attr, "customer_note");
  assert_int_equal(dormc_model_field(o, "status")->type.kind, DORMC_T_ENUM);
  assert_int_equal(dormc_model_field(o, "tags")->type.kind, DORMC_T_SET);
  assert_string_equal(dormc_type_ddb(&dormc_model_field(o, "tags")->type), "SS");
  assert_true(dormc_model_field(o, "expiresAt")->omit_empty);

  const dormc_model *c = dormc_schema_model(s, "Customer");
  const dormc_key_binding *sk = c->sk;
  assert_true(sk->constant);
  assert_string_equal(sk->parts[0].text, "PROFILE");
  assert_int_equal(c->nindexes, 2);
  assert_null(c->ttl);

  const dormc_model *li = dormc_schema_model(s, "LineItem");
  assert_int_equal(li->naming, DORMC_NAMING_SNAKE);
  assert_string_equal(dormc_model_field(li, "unitPrice")->attr, "unit_price");
  assert_string_equal(dormc_model_field(li, "createdAt")->attr, "created_at");
  assert_int_equal(li->nindexes, 0); /* its createdAt is stored as created_at */

  const dormc_enum *e = dormc_schema_enum(s, "OrderStatus");
  assert_string_equal(e->members[2].value, "SHIPPED");
  assert_string_equal(e->members[2].c_name, "SHOP_ORDER_STATUS_SHIPPED");
  assert_string_equal(t->gsis[0].models[0]->name, "Order");
  tu_free(&r);
  free(text);
}

typedef struct attr_fact {
  const char *attr, *ddb, *format;
  bool optional, omit_empty;
  unsigned roles;
} attr_fact;

static void check_model(const dormc_schema *s, const char *model, const char *table, const attr_fact *facts,
                        size_t n, const char *index, const char *ipk, const char *isk) {
  const dormc_model *m = dormc_schema_model(s, model);
  assert_non_null(m);
  assert_string_equal(m->table->physical_name, table);
  assert_ptr_equal(m->table->owner, m);
  assert_string_equal(m->table->pk.attr, "PK");
  assert_int_equal(m->table->pk.type, DORMC_KEY_S);
  assert_string_equal(m->table->sk.attr, "SK");
  assert_int_equal(m->table->sk.type, DORMC_KEY_S);
  assert_int_equal(m->table->billing, DORMC_BILLING_ON_DEMAND);
  assert_string_equal(m->table->ttl_attr, "ttl");
  assert_int_equal(m->nfields, n);
  for (size_t i = 0; i < n; i++) {
    const dormc_field *f = &m->fields[i];
    assert_string_equal(f->attr, facts[i].attr);
    assert_string_equal(dormc_type_ddb(&f->type), facts[i].ddb);
    const char *fmt = dormc_type_dms_format(&f->type);
    if (facts[i].format) assert_string_equal(fmt, facts[i].format);
    else assert_null(fmt);
    assert_int_equal(f->optional, facts[i].optional);
    assert_int_equal(f->omit_empty, facts[i].omit_empty);
    assert_int_equal(f->roles, facts[i].roles);
  }
  assert_int_equal(m->table->ngsis, 1);
  const dormc_index *g = &m->table->gsis[0];
  assert_string_equal(g->name, index);
  assert_string_equal(g->pk.attr, ipk);
  if (isk) assert_string_equal(g->sk.attr, isk);
  else assert_null(g->sk.attr);
  assert_int_equal(g->projection, DORMC_PROJECT_ALL);
  assert_int_equal(m->nindexes, 1);
}

/* The facts of DynamORM's contract models (dms/v0.1/models, one .yml each). */
static void contract_matches_dynamorm_dms(void **state) {
  (void)state;
  char *text;
  tu_result r = compile_shipped("contract.dorm", &text);
  const dormc_schema *s = r.schema;
  assert_string_equal(s->namespace_, "dynamorm.contract");
  assert_string_equal(s->c_prefix, "dynamorm_contract");
  const unsigned PK = DORMC_ROLE_PK, SK = DORMC_ROLE_SK, CA = DORMC_ROLE_CREATED_AT, UA = DORMC_ROLE_UPDATED_AT,
                 VE = DORMC_ROLE_VERSION, TTL = DORMC_ROLE_TTL;
  const attr_fact user[] = {
      {"PK", "S", NULL, false, false, PK},
      {"SK", "S", NULL, false, false, SK},
      {"emailHash", "S", NULL, true, false, 0},
      {"nickname", "S", NULL, true, true, 0},
      {"tags", "SS", NULL, true, true, 0},
      {"createdAt", "S", "rfc3339nano", false, false, CA},
      {"updatedAt", "S", "rfc3339nano", false, false, UA},
      {"version", "N", "int", false, false, VE},
      {"ttl", "N", "unix_seconds", true, true, TTL},
  };
  check_model(s, "User", "users_contract", user, sizeof user / sizeof user[0], "gsi-email", "emailHash", NULL);
  const attr_fact order[] = {
      {"PK", "S", NULL, false, false, PK},
      {"SK", "S", NULL, false, false, SK},
      {"status", "S", NULL, true, false, 0},
      {"amount", "N", NULL, true, false, 0},
      {"createdAt", "S", "rfc3339nano", false, false, CA},
      {"updatedAt", "S", "rfc3339nano", false, false, UA},
      {"version", "N", "int", false, false, VE},
      {"ttl", "N", "unix_seconds", true, true, TTL},
  };
  check_model(s, "Order", "orders_contract", order, sizeof order / sizeof order[0], "gsi-status", "status",
              "createdAt");
  tu_free(&r);
  free(text);
}

static void endpoints_modes_defaults_and_payloads(void **state) {
  (void)state;
  char *text;
  tu_result r = compile_shipped("endpoints.dorm", &text);
  const dormc_endpoint *g = dormc_schema_endpoint(r.schema, "GenerateReport");
  assert_int_equal(g->mode, DORMC_ENDPOINT_ASYNC);
  assert_int_equal(g->timeout_ms, 15 * 60 * 1000);
  assert_int_equal(g->nrequest, 3);
  assert_true(g->has_progress);
  assert_int_equal(g->nprogress, 2);
  assert_int_equal(g->nresult, 2);
  assert_int_equal(g->nscopes, 1);
  assert_string_equal(g->scopes[0], "reports:write");
  assert_int_equal(g->request[0].type.kind, DORMC_T_STRUCT);
  const dormc_endpoint *e = dormc_schema_endpoint(r.schema, "Echo");
  assert_int_equal(e->mode, DORMC_ENDPOINT_SYNC);
  assert_int_equal(e->timeout_ms, 5000);
  assert_false(e->has_progress);
  assert_int_equal(dormc_schema_endpoint(r.schema, "Ping")->timeout_ms, 2000);
  tu_free(&r);
  free(text);
  r = tu_compile1("namespace t;\nendpoint J async {\n  result { ok: bool; }\n}\n");
  assert_int_equal(dormc_schema_endpoint(r.schema, "J")->timeout_ms, 15 * 60 * 1000);
  tu_free(&r);
}

static void owned_tables_take_key_types_from_fields(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\n"
                            "model Event table \"events\" {\n"
                            "  key (stream, seq);\n"
                            "  billing provisioned(read 3, write 4);\n"
                            "  stream: string;\n  seq: int;\n  tenant: bytes?;\n"
                            "  gsi \"gsi-tenant\" (tenant, seq) project include(stream);\n"
                            "}\n");
  assert_string_equal(r.diags, "");
  const dormc_table *t = dormc_schema_table(r.schema, "Event");
  assert_int_equal(t->pk.type, DORMC_KEY_S);
  assert_int_equal(t->sk.type, DORMC_KEY_N);
  assert_int_equal(t->billing, DORMC_BILLING_PROVISIONED);
  assert_int_equal(t->read_capacity, 3);
  assert_int_equal(t->write_capacity, 4);
  /* A sparse index on an optional field. */
  assert_int_equal(t->gsis[0].pk.type, DORMC_KEY_B);
  assert_int_equal(t->gsis[0].ninclude, 1);
  assert_int_equal(dormc_schema_model(r.schema, "Event")->nindexes, 1);
  tu_free(&r);
}

static void owned_key_parts_name_fields_under_snake_case(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\n"
                            "model Visit table \"visits\" {\n"
                            "  naming snake_case;\n"
                            "  key (visitId: S, seenAt: S);\n"
                            "  visitId: string;\n  seenAt: time;\n  userId: string?;\n"
                            "  gsi \"gsi-user\" (userId: S, seenAt);\n"
                            "}\n");
  assert_string_equal(r.diags, "");
  const dormc_table *t = dormc_schema_table(r.schema, "Visit");
  assert_string_equal(t->pk.attr, "visit_id");
  assert_string_equal(t->sk.attr, "seen_at");
  assert_string_equal(t->gsis[0].pk.attr, "user_id");
  assert_string_equal(t->gsis[0].sk.attr, "seen_at");
  assert_int_equal(t->gsis[0].nmodels, 1);
  tu_free(&r);
}

typedef struct rule_case {
  const char *src;
  const char *expect;
} rule_case;

/* One case per rule of "Semantic errors" in language.md (the diagnostics
 * suite checks the full text; this checks message and place). */
static void semantic_rules(void **state) {
  (void)state;
  const char *shop = "namespace t;\ntable S \"shop\" {\n  key (PK: S, SK: S);\n}\n";
  char buf[2048];
  const rule_case cases[] = {
      {"namespace t;\nstruct A { a: int; }\nenum A { x; }\n", "t.dorm:3:6: error: duplicate declaration 'A'"},
      {"namespace t;\nstruct A {\n  a: int;\n  a: int;\n}\n", "t.dorm:4:3: error: duplicate field 'a'"},
      {"namespace t;\nenum E {\n  a;\n  b = \"a\";\n}\n", "t.dorm:4:7: error: enum members 'a' and 'b' are both stored as \"a\""},
      {"namespace t;\nmodel M table \"mmm\" {\n  id: string @pk;\n  a: int @name(\"id\");\n}\n",
       "t.dorm:4:3: error: fields 'id' and 'a' are both stored as attribute 'id'"},
      {"namespace t;\nstruct A {\n  a: Nope;\n}\n", "t.dorm:3:6: error: unknown type 'Nope'"},
      {"%sstruct X {}\nmodel M in T {\n  key PK = \"A\";\n  key SK = \"B\";\n}\n", "t.dorm:6:12: error: unknown table 'T'"},
      {"%smodel M in S {\n  key PK = \"A#{b}\";\n  key SK = \"B\";\n  a: string;\n}\n",
       "t.dorm:6:15: error: unknown field 'b' in key template"},
      {"%smodel M in S {\n  key SK = \"B\";\n  a: string;\n}\n", "t.dorm:5:7: error: model 'M' has no partition key"},
      {"%smodel M in S {\n  key PK = \"B\";\n}\n", "t.dorm:5:7: error: model 'M' has no sort key"},
      {"%smodel M in S {\n  key PK = \"B\";\n  key SK = \"B\";\n  SK: string;\n}\n",
       "t.dorm:7:7: error: two sources for key attribute 'SK'"},
      {"namespace t;\nmodel M table \"mmm\" {\n  id: int? @pk;\n}\n", "t.dorm:3:3: error: field 'id' fills the table's partition key"},
      {"namespace t;\nmodel M table \"mmm\" {\n  id: bool @pk;\n}\n", "t.dorm:3:3: error: field 'id' cannot fill key attribute 'id'"},
      {"namespace t;\nmodel M table \"mmm\" {\n  id: string @pk;\n  v: float @version;\n}\n",
       "t.dorm:4:12: error: @version needs a field of type int, but 'v' is float"},
      {"namespace t;\nmodel M table \"mmm\" {\n  id: string @pk;\n  a: time @created_at;\n  b: time @created_at;\n}\n",
       "t.dorm:5:11: error: @created_at is used twice in model 'M'"},
      {"%smodel M in S {\n  key PK = \"A#{a}\";\n  key SK = \"B\";\n  a: map<int>;\n}\n",
       "t.dorm:6:15: error: placeholder '{a}' names field 'a' of type map<int>"},
      {"%smodel M in S {\n  key PK = \"A\";\n  key SK = \"B\";\n  key X = \"C\";\n}\n",
       "t.dorm:8:7: error: key template targets 'X', which is not a key attribute"},
      {"%smodel M in S {\n  key PK = \"\";\n  key SK = \"B\";\n}\n", "t.dorm:6:12: error: empty key template for 'PK'"},
      {"%smodel M in S {\n  key PK = \"A\";\n  key SK = \"B\";\n  lsi \"lsi-x\" (x: S);\n}\n",
       "t.dorm:8:3: error: an lsi is not allowed in model 'M'"},
      {"namespace t;\nstruct A {\n  b: B;\n}\nstruct B {\n  a: A?;\n}\n", "t.dorm:6:3: error: struct 'A' contains itself"},
      {"namespace t;\nstruct A {\n  a: set<bool>;\n}\n", "t.dorm:3:10: error: set<bool> is not allowed"},
      {"namespace t;\nstruct A {\n  a: set<int?>;\n}\n", "t.dorm:3:10: error: set elements cannot be optional"},
      {"namespace t;\nstruct A {\n  a: set<set<int>>;\n}\n", "t.dorm:3:10: error: sets cannot contain sets"},
      {"namespace t;\nstruct A {\n  a: map<bytes, int>;\n}\n", "t.dorm:3:10: error: map keys must be strings"},
      {"namespace t;\nstruct A {\n  while: int;\n}\n", "t.dorm:3:3: error: field name 'while' is a C keyword"},
      {"namespace t;\nstruct A {}\nstruct A_b {}\n", "t.dorm:3:8: error: the generated C name 't_A_b'"},
      {"namespace t;\nnamespace u;\n", "t.dorm:2:1: error: second 'namespace' statement"},
      {"namespace t;\nendpoint E sync {\n  progress { a: int; }\n}\n", "t.dorm:3:3: error: a sync endpoint has no progress"},
      {"namespace t;\nendpoint E async {\n  request { a: int; }\n}\n", "t.dorm:2:10: error: async endpoint 'E' has no result block"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(buf, sizeof buf, cases[i].src, shop);
    tu_result r = tu_compile1(buf);
    if (!tu_has(&r, cases[i].expect)) fail_msg("case %zu: expected '%s' in:\n%s", i, cases[i].expect, r.diags);
    assert_int_equal(r.analyze_rc, -1);
    assert_null(r.schema);
    tu_free(&r);
  }
}

static void warnings_do_not_fail_a_schema(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\nenum Unused { a; }\n");
  assert_true(tu_has(&r, "t.dorm:2:6: warning: enum 'Unused' is never used"));
  assert_int_equal(r.analyze_rc, 0);
  assert_non_null(r.schema);
  assert_int_equal(dormc_warning_count(r.c), 1);
  assert_int_equal(dormc_error_count(r.c), 0);
  tu_free(&r);
}

static void dump_is_structural(void **state) {
  (void)state;
  tu_result a = tu_compile1("namespace t;\nmodel M table \"mmm\" {\n  id: string @pk;\n}\n");
  tu_result b = tu_compile1("namespace t;\n\n\nmodel M table \"mmm\" { id: string @pk; }\n");
  tu_result c = tu_compile1("namespace t;\nmodel M table \"mmm\" {\n  id: string @pk @omit_empty;\n}\n");
  char *da = dormc_schema_dump(a.schema), *db = dormc_schema_dump(b.schema), *dc = dormc_schema_dump(c.schema);
  assert_string_equal(da, db);
  assert_string_not_equal(da, dc);
  free(da);
  free(db);
  free(dc);
  tu_free(&a);
  tu_free(&b);
  tu_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(shop_keys_templates_and_indexes),
      cmocka_unit_test(contract_matches_dynamorm_dms),
      cmocka_unit_test(endpoints_modes_defaults_and_payloads),
      cmocka_unit_test(owned_tables_take_key_types_from_fields),
      cmocka_unit_test(owned_key_parts_name_fields_under_snake_case),
      cmocka_unit_test(semantic_rules),
      cmocka_unit_test(warnings_do_not_fail_a_schema),
      cmocka_unit_test(dump_is_structural),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
