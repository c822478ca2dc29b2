/* dormc dms export/import: the DynamORM contract models round-trip, the
 * shipped schemas export to what DynamORM's contract says, and bad DMS
 * documents are refused with their YAML line and column.
 *
 * DMS documents are compared after normalizing (this file's own libyaml
 * reader): models, table names, naming, keys, attributes (type, format,
 * required, optional, roles, omit_empty, json) and indexes, sorted by name,
 * so key order, quoting, comments and tags do not matter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yaml.h>

#include "dormc_dms.h"
#include "test_support.h"
#include "test_util.h"

/* ---- a normalized view of DMS documents -------------------------------- */

typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void tput(text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[2048];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < sizeof tmp);
  if (t->len + (size_t)n + 1 > t->cap) {
    t->cap = (t->len + (size_t)n + 1) * 2;
    t->s = realloc(t->s, t->cap);
    assert_non_null(t->s);
  }
  memcpy(t->s + t->len, tmp, (size_t)n + 1);
  t->len += (size_t)n;
}

static yaml_node_t *get(yaml_document_t *d, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(d, p->key);
    if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
      return yaml_document_get_node(d, p->value);
  }
  return NULL;
}

static const char *str(yaml_document_t *d, yaml_node_t *map, const char *key) {
  yaml_node_t *n = get(d, map, key);
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "-";
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lines of one list (attributes, indexes, roles, ...) sorted. */
typedef struct lines {
  char *items[256];
  size_t n;
} lines;

static void lines_add(lines *l, text *t) {
  assert_true(l->n < 256);
  l->items[l->n++] = t->s ? t->s : strdup("");
  memset(t, 0, sizeof *t);
}

static void lines_flush(lines *l, text *out, const char *sep) {
  qsort(l->items, l->n, sizeof l->items[0], cmp_str);
  for (size_t i = 0; i < l->n; i++) {
    tput(out, "%s%s", i ? sep : "", l->items[i]);
    free(l->items[i]);
  }
  l->n = 0;
}

static void scalar_list(yaml_document_t *d, yaml_node_t *seq, text *out) {
  lines l = {.n = 0};
  if (seq && seq->type == YAML_SEQUENCE_NODE)
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
      text t = {0};
      tput(&t, "%s", (const char *)yaml_document_get_node(d, *it)->data.scalar.value);
      lines_add(&l, &t);
    }
  lines_flush(&l, out, ",");
}

static void key(yaml_document_t *d, yaml_node_t *k, text *out) {
  if (!k) tput(out, "-");
  else tput(out, "%s:%s", str(d, k, "attribute"), str(d, k, "type"));
}

static void model(yaml_document_t *d, yaml_node_t *m, text *out) {
  const char *naming = str(d, get(d, m, "naming"), "convention");
  tput(out, "model %s table=%s naming=%s pk=", str(d, m, "name"), str(d, get(d, m, "table"), "name"),
       strcmp(naming, "-") == 0 ? "camelCase" : naming); /* DMS's default */
  key(d, get(d, get(d, m, "keys"), "partition"), out);
  tput(out, " sk=");
  key(d, get(d, get(d, m, "keys"), "sort"), out);
  tput(out, "\n");
  lines l = {.n = 0};
  yaml_node_t *attrs = get(d, m, "attributes");
  for (yaml_node_item_t *it = attrs->data.sequence.items.start; it < attrs->data.sequence.items.top; it++) {
    yaml_node_t *a = yaml_document_get_node(d, *it);
    text t = {0};
    tput(&t, "  attr %s type=%s format=%s required=%s optional=%s omit_empty=%s json=%s roles=",
         str(d, a, "attribute"), str(d, a, "type"), str(d, a, "format"), str(d, a, "required"),
         str(d, a, "optional"), str(d, a, "omit_empty"), str(d, a, "json"));
    scalar_list(d, get(d, a, "roles"), &t);
    tput(&t, "\n");
    lines_add(&l, &t);
  }
  lines_flush(&l, out, "");
  yaml_node_t *idx = get(d, m, "indexes");
  if (idx && idx->type == YAML_SEQUENCE_NODE)
    for (yaml_node_item_t *it = idx->data.sequence.items.start; it < idx->data.sequence.items.top; it++) {
      yaml_node_t *x = yaml_document_get_node(d, *it);
      text t = {0};
      tput(&t, "  index %s %s pk=", str(d, x, "name"), str(d, x, "type"));
      key(d, get(d, x, "partition"), &t);
      tput(&t, " sk=");
      key(d, get(d, x, "sort"), &t);
      tput(&t, " projection=%s fields=", str(d, get(d, x, "projection"), "type"));
      scalar_list(d, get(d, get(d, x, "projection"), "fields"), &t);
      tput(&t, "\n");
      lines_add(&l, &t);
    }
  lines_flush(&l, out, "");
}

/* Appends the normalized models of one DMS document (one text per model)
 * to l; the namespace goes to *ns. */
static void normalize_into(const char *yaml_text, lines *l, char **ns) {
  yaml_parser_t p;
  yaml_document_t d;
  assert_true(yaml_parser_initialize(&p));
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml_text, strlen(yaml_text));
  if (!yaml_parser_load(&p, &d)) fail_msg("not YAML (%s):\n%s", p.problem, yaml_text);
  yaml_node_t *root = yaml_document_get_root_node(&d);
  assert_non_null(root);
  assert_string_equal(str(&d, root, "dms_version"), "0.1");
  if (ns) *ns = strdup(str(&d, root, "namespace"));
  yaml_node_t *models = get(&d, root, "models");
  assert_non_null(models);
  for (yaml_node_item_t *it = models->data.sequence.items.start; it < models->data.sequence.items.top; it++) {
    text t = {0};
    model(&d, yaml_document_get_node(&d, *it), &t);
    lines_add(l, &t);
  }
  yaml_document_delete(&d);
  yaml_parser_delete(&p);
}

static char *normalize(const char *yaml_text) {
  lines l = {.n = 0};
  char *ns = NULL;
  normalize_into(yaml_text, &l, &ns);
  text out = {0};
  tput(&out, "namespace %s\n", ns);
  free(ns);
  lines_flush(&l, &out, "");
  return out.s;
}

/* ---- helpers ----------------------------------------------------------- */

static char *read_src(const char *rel) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", ts_source_dir(), rel);
  char *s = ts_read_file(path, NULL);
  if (!s) fail_msg("cannot read %s", path);
  return s;
}

typedef struct captured {
  text t;
  unsigned errors, warnings;
} captured;

static void capture(const dormc_diagnostic *d, void *user) {
  captured *c = user;
  char *s = dormc_diag_format(d);
  assert_non_null(s);
  tput(&c->t, "%s", s);
  free(s);
  if (d->severity == DORMC_SEV_ERROR) c->errors++;
  if (d->severity == DORMC_SEV_WARNING) c->warnings++;
}

/* Imports text (named path); returns the .dorm or NULL, diagnostics in *cap. */
static char *import(const char *path, const char *yaml_text, captured *cap, int *rc) {
  dormc_options o = {.on_diag = capture, .diag_user = cap};
  char *out = NULL;
  size_t len = 0;
  *rc = dormc_dms_import(&o, path, yaml_text, strlen(yaml_text), &out, &len);
  if (*rc == 0) assert_int_equal(strlen(out), len);
  return out;
}

static char *import_ok(const char *path, const char *yaml_text) {
  captured cap = {0};
  int rc;
  char *out = import(path, yaml_text, &cap, &rc);
  if (rc != 0) fail_msg("import of %s failed:\n%s", path, cap.t.s ? cap.t.s : "");
  free(cap.t.s);
  return out;
}

/* Checks a .dorm text and exports it. */
static char *export_dorm(const char *dorm) {
  tu_result r = tu_compile1(dorm);
  if (!r.schema) fail_msg("does not check:\n%s\n%s", dorm, r.diags ? r.diags : "");
  size_t len = 0;
  char *y = dormc_dms_export(r.schema, &len);
  assert_non_null(y);
  assert_int_equal(strlen(y), len);
  tu_free(&r);
  return y;
}

static void assert_canonical(const char *dorm) {
  char *f = tu_format("t.dorm", dorm, strlen(dorm), NULL);
  assert_non_null(f);
  assert_string_equal(f, dorm);
  free(f);
}

/* ---- round trips ------------------------------------------------------- */

static void roundtrip_contract(const char *file, const char *model_line) {
  char *yml = read_src(file);
  char *dorm = import_ok(file, yml);
  assert_canonical(dorm);
  assert_non_null(strstr(dorm, model_line));
  char *back = export_dorm(dorm);
  char *a = normalize(yml), *b = normalize(back);
  assert_string_equal(b, a);
  free(a);
  free(b);
  free(back);
  free(dorm);
  free(yml);
}

static void test_contract_user_roundtrip(void **state) {
  (void)state;
  roundtrip_contract("tests/compiler/dms/contract/user.yml", "model User table \"users_contract\" {");
}

static void test_contract_order_roundtrip(void **state) {
  (void)state;
  roundtrip_contract("tests/compiler/dms/contract/order.yml", "model Order table \"orders_contract\" {");
}

/* The imported User model, field by field, as the contract describes it. */
static void test_contract_user_dorm(void **state) {
  (void)state;
  char *yml = read_src("tests/compiler/dms/contract/user.yml");
  char *dorm = import_ok("user.yml", yml);
  const char *want = "namespace dynamorm.contract;\n"
                     "\n"
                     "model User table \"users_contract\" {\n"
                     "  PK: string @pk;\n"
                     "  SK: string @sk;\n"
                     "  emailHash: string?;\n"
                     "  nickname: string? @omit_empty;\n"
                     "  tags: set<string>? @omit_empty;\n"
                     "  createdAt: time @created_at;\n"
                     "  updatedAt: time @updated_at;\n"
                     "  version: int @version;\n"
                     "  ttl: epoch? @ttl @omit_empty;\n"
                     "\n"
                     "  gsi \"gsi-email\" (emailHash) project all;\n"
                     "}\n";
  const char *body = strstr(dorm, "namespace");
  assert_non_null(body);
  assert_string_equal(body, want);
  free(dorm);
  free(yml);
}

/* schemas/contract.dorm (written by hand) says what DynamORM's files say. */
static void test_contract_schema_export(void **state) {
  (void)state;
  char *dorm = read_src("schemas/contract.dorm");
  char *y = export_dorm(dorm);
  char *user = read_src("tests/compiler/dms/contract/user.yml");
  char *order = read_src("tests/compiler/dms/contract/order.yml");
  lines l = {.n = 0};
  char *ns = NULL;
  normalize_into(user, &l, &ns);
  normalize_into(order, &l, NULL);
  text want = {0};
  tput(&want, "namespace %s\n", ns);
  lines_flush(&l, &want, "");
  char *got = normalize(y);
  assert_string_equal(got, want.s);
  /* Key order of each entry follows the contract files. */
  assert_non_null(strstr(y, "  - name: \"User\"\n    table:\n      name: \"users_contract\"\n    naming:\n"
                            "      convention: \"camelCase\"\n    keys:\n"
                            "      partition: { attribute: \"PK\", type: \"S\" }\n"));
  assert_non_null(strstr(y, "      - attribute: \"createdAt\"\n        type: \"S\"\n        format: \"rfc3339nano\"\n"
                            "        roles: [\"created_at\"]\n"));
  free(got);
  free(want.s);
  free(ns);
  free(order);
  free(user);
  free(y);
  free(dorm);
}

/* A single-table schema: export, import, export again gives the same
 * models (templates and the entity type become plain attributes). */
static void test_shop_fixed_point(void **state) {
  (void)state;
  char *dorm = read_src("schemas/shop.dorm");
  char *y1 = export_dorm(dorm);
  assert_non_null(strstr(y1, "      - attribute: \"PK\"\n        type: \"S\"\n        required: true\n"
                             "        roles: [\"pk\"]\n        tags: { \"dorm.template\": \"CUSTOMER#{customerId}\" }\n"));
  assert_non_null(strstr(y1, "      - attribute: \"_type\"\n        type: \"S\"\n        required: true\n"
                             "        tags: { \"dorm.entity_type\": \"Order\" }\n"));
  assert_non_null(strstr(y1, "      - attribute: \"customer_note\"\n"));
  assert_non_null(strstr(y1, "      - attribute: \"unit_price\"\n        type: \"N\"\n        required: true\n"));
  captured cap = {0};
  int rc;
  char *dorm2 = import("shop.yml", y1, &cap, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(cap.errors, 0);
  assert_true(cap.warnings >= 4); /* lists and maps whose element type DMS does not carry */
  assert_non_null(strstr(cap.t.s, "warning: DMS does not say what map attribute 'total' holds"));
  assert_canonical(dorm2);
  assert_non_null(strstr(dorm2, "table shop \"shop\" {\n  key (PK: S, SK: S);\n"));
  /* Templates and entity types come back from dormc's tags; placeholders
   * name the imported fields (snake_case here). */
  assert_non_null(strstr(dorm2, "model Order in shop {\n  type \"Order\";\n  key PK = \"CUSTOMER#{customerId}\";\n"
                                "  key SK = \"ORDER#{orderId}\";\n  key GSI1PK = \"STATUS#{status}\";\n"
                                "  key GSI1SK = \"{createdAt}\";\n\n  customerId: string;\n"));
  /* No model declares a naming convention: PK, SK, GSI1PK and _type follow
   * neither, and DMS readers validate the names against a declared one.
   * LineItem's fields are named as its snake_case attributes. */
  assert_null(strstr(y1, "naming"));
  assert_non_null(strstr(dorm2, "model LineItem in shop {\n  type \"LineItem\";\n"
                                "  key PK = \"ORDER#{order_id}\";\n  key SK = \"ITEM#{line_no}\";\n\n  order_id: string;\n"));
  assert_null(strstr(dorm2, "_type"));
  char *y2 = export_dorm(dorm2);
  char *a = normalize(y1), *b = normalize(y2);
  assert_string_equal(b, a);
  free(a);
  free(b);
  free(y2);
  free(dorm2);
  free(cap.t.s);
  free(y1);
  free(dorm);
}

/* Every .dorm type's DMS type and format. */
static void test_type_mapping(void **state) {
  (void)state;
  const char *dorm = "namespace t;\n"
                     "enum E { a; b = \"B\"; }\n"
                     "struct S { x: int; }\n"
                     "model M table \"mtable\" {\n"
                     "  id: string @pk;\n"
                     "  i: int; f: float; d: decimal; b: bool; y: bytes; t: time; e: epoch; j: json?;\n"
                     "  ss: set<string>; si: set<int>; sf: set<float>; sd: set<decimal>; sb: set<bytes>;\n"
                     "  l: list<S>; m: map<int>; en: E; st: S?;\n"
                     "}\n";
  char *y = export_dorm(dorm);
  char *n = normalize(y);
  static const char *const want[] = {
      "attr id type=S format=- required=true optional=- omit_empty=- json=- roles=pk\n",
      "attr i type=N format=int required=true", "attr f type=N format=- required=true",
      "attr d type=N format=- required=true", "attr b type=BOOL format=-", "attr y type=B format=-",
      "attr t type=S format=rfc3339nano required=true", "attr e type=N format=unix_seconds required=true",
      "attr j type=S format=- required=- optional=true omit_empty=- json=true", "attr ss type=SS",
      "attr si type=NS", "attr sf type=NS", "attr sd type=NS", "attr sb type=BS", "attr l type=L",
      "attr m type=M", "attr en type=S format=-", "attr st type=M format=- required=- optional=true",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(n, want[i])) fail_msg("missing '%s' in\n%s", want[i], n);
  /* Importing it back gives the DMS-level types. */
  char *back = import_ok("m.yml", y);
  assert_non_null(strstr(back, "  f: decimal;\n  d: decimal;\n  b: bool;\n  y: bytes;\n  t: time;\n  e: epoch;\n"
                               "  j: json?;\n  ss: set<string>;\n  si: set<decimal>;\n"));
  assert_non_null(strstr(back, "  l: list<string>;\n  m: map<string>;\n  en: string;\n  st: map<string>?;\n"));
  free(back);
  free(n);
  free(y);
}

/* YAML quoting: strings with quotes, backslashes, control characters and
 * non-ASCII text read back unchanged. */
static void test_export_quoting(void **state) {
  (void)state;
  const char *dorm = "namespace q;\n"
                     "table T \"t.able\" { key (PK: S); }\n"
                     "model M in T {\n  type \"say \\\"hi\\\" \\\\ \\n\\t\\u0001 caf\xc3\xa9 \xe2\x82\xac\";\n"
                     "  key PK = \"#{id}: x\";\n  id: string;\n}\n";
  char *y = export_dorm(dorm);
  yaml_parser_t p;
  yaml_document_t d;
  assert_true(yaml_parser_initialize(&p));
  yaml_parser_set_input_string(&p, (const unsigned char *)y, strlen(y));
  assert_true(yaml_parser_load(&p, &d));
  yaml_node_t *root = yaml_document_get_root_node(&d);
  yaml_node_t *m = yaml_document_get_node(&d, get(&d, root, "models")->data.sequence.items.start[0]);
  yaml_node_t *attrs = get(&d, m, "attributes");
  yaml_node_t *pk = yaml_document_get_node(&d, attrs->data.sequence.items.start[0]);
  yaml_node_t *type = yaml_document_get_node(&d, attrs->data.sequence.items.start[1]);
  assert_string_equal(str(&d, get(&d, pk, "tags"), "dorm.template"), "#{id}: x");
  assert_string_equal(str(&d, get(&d, type, "tags"), "dorm.entity_type"),
                      "say \"hi\" \\ \n\t\x01 caf\xc3\xa9 \xe2\x82\xac");
  assert_string_equal(str(&d, get(&d, m, "table"), "name"), "t.able");
  yaml_document_delete(&d);
  yaml_parser_delete(&p);
  free(y);
}

/* ---- import: names, naming, shared tables, JSON ------------------------ */

#define HEAD "dms_version: \"0.1\"\nnamespace: \"acme.payments\"\nmodels:\n"
#define MODEL(name, table) "  - name: \"" name "\"\n    table: { name: \"" table "\" }\n"
#define KEYS_PK "    keys:\n      partition: { attribute: \"PK\", type: \"S\" }\n"
#define ATTR_PK "      - { attribute: \"PK\", type: \"S\", required: true, roles: [\"pk\"] }\n"

static void test_import_names(void **state) {
  (void)state;
  const char *y = "dms_version: \"0.1\"\nnamespace: \"acme.pay-ments\"\nmodels:\n" MODEL("Odd-Model", "odd")
      KEYS_PK "    attributes:\n" ATTR_PK
      "      - { attribute: \"customer-note\", type: \"S\", optional: true }\n"
      "      - { attribute: \"int\", type: \"N\", format: \"int\", required: true }\n"
      "      - { attribute: \"1st\", type: \"BOOL\", required: true }\n"
      "      - { attribute: \"type\", type: \"S\", required: true }\n"
      "      - { attribute: \"key\", type: \"S\", required: true }\n"
      "      - { attribute: \"customer_note\", type: \"S\", required: true }\n";
  char *dorm = import_ok("odd.yml", y);
  assert_canonical(dorm);
  assert_non_null(strstr(dorm, "namespace acme.pay_ments;\n"));
  assert_non_null(strstr(dorm, "model Odd_Model table \"odd\" {\n"));
  assert_non_null(strstr(dorm, "  customer_note_2: string? @name(\"customer-note\");\n"));
  assert_non_null(strstr(dorm, "  int_: int @name(\"int\");\n"));
  assert_non_null(strstr(dorm, "  _1st: bool @name(\"1st\");\n"));
  assert_non_null(strstr(dorm, "  type: string;\n  key: string;\n  customer_note: string;\n"));
  char *back = export_dorm(dorm);
  char *a = normalize(y), *b = normalize(back);
  /* Only the model's name and the namespace change (identifiers). */
  char *fix = strstr(a, "model Odd-Model");
  assert_non_null(fix);
  fix[9] = '_';
  fix = strstr(a, "pay-ments");
  assert_non_null(fix);
  fix[3] = '_';
  assert_string_equal(b, a);
  free(a);
  free(b);
  free(back);
  free(dorm);
}

static void test_import_snake_case(void **state) {
  (void)state;
  const char *y = HEAD MODEL("Event", "events")
      "    naming: { convention: \"snake_case\" }\n"
      "    keys:\n      partition: { attribute: \"tenant_id\", type: \"S\" }\n"
      "      sort: { attribute: \"default\", type: \"N\" }\n"
      "    attributes:\n"
      "      - { attribute: \"tenant_id\", type: \"S\", required: true, roles: [\"pk\"] }\n"
      "      - { attribute: \"default\", type: \"N\", format: \"int\", required: true, roles: [\"sk\"] }\n"
      "      - { attribute: \"created_at\", type: \"S\", format: \"rfc3339nano\", roles: [\"created_at\"] }\n"
      "      - { attribute: \"seen_by\", type: \"NS\", optional: true, omit_empty: true }\n"
      "      - { attribute: \"payload\", type: \"S\", json: true, optional: true }\n"
      "      - { attribute: \"blob\", type: \"B\", binary: true, optional: true }\n"
      "      - { attribute: \"kind\", type: \"S\", required: true, roles: [\"index_pk:by-kind\"] }\n"
      "    indexes:\n"
      "      - { name: \"by-kind\", type: \"GSI\", partition: { attribute: \"kind\", type: \"S\" },\n"
      "          sort: { attribute: \"created_at\", type: \"S\" },\n"
      "          projection: { type: \"INCLUDE\", fields: [\"payload\", \"seen_by\"] } }\n"
      "      - { name: \"lsi-kind\", type: \"LSI\", partition: { attribute: \"tenant_id\", type: \"S\" },\n"
      "          sort: { attribute: \"kind\", type: \"S\" }, projection: { type: \"KEYS_ONLY\" } }\n";
  char *dorm = import_ok("events.yml", y);
  assert_canonical(dorm);
  const char *want = "model Event table \"events\" {\n"
                     "  naming snake_case;\n"
                     "\n"
                     "  tenant_id: string @pk;\n"
                     "  default_: int @sk @name(\"default\");\n"
                     "  created_at: time @created_at;\n"
                     "  seen_by: set<decimal>? @omit_empty;\n"
                     "  payload: json?;\n"
                     "  blob: bytes?;\n"
                     "  kind: string;\n"
                     "\n"
                     "  gsi \"by-kind\" (kind, created_at) project include(payload, seen_by);\n"
                     "  lsi \"lsi-kind\" (kind) project keys_only;\n"
                     "}\n";
  if (!strstr(dorm, want)) fail_msg("got:\n%s", dorm);
  char *back = export_dorm(dorm);
  char *a = normalize(y), *b = normalize(back);
  /* index roles are implied by the indexes and not written back */
  char *r = strstr(a, "roles=index_pk:by-kind");
  assert_non_null(r);
  memmove(r + 6, r + 22, strlen(r + 22) + 1);
  assert_string_equal(b, a);
  free(a);
  free(b);
  free(back);
  free(dorm);
}

/* Models naming the same physical table become one .dorm table; JSON (a
 * YAML subset) is read as well. */
static void test_import_shared_table_json(void **state) {
  (void)state;
  const char *y =
      "{\"dms_version\": \"0.1\", \"namespace\": \"app\", \"models\": [\n"
      " {\"name\": \"A\", \"table\": {\"name\": \"single\"},\n"
      "  \"keys\": {\"partition\": {\"attribute\": \"PK\", \"type\": \"S\"}, \"sort\": {\"attribute\": \"SK\", "
      "\"type\": \"S\"}},\n"
      "  \"attributes\": [{\"attribute\": \"PK\", \"type\": \"S\", \"required\": true},\n"
      "                 {\"attribute\": \"SK\", \"type\": \"S\", \"required\": true},\n"
      "                 {\"attribute\": \"G1\", \"type\": \"S\", \"optional\": true}],\n"
      "  \"indexes\": [{\"name\": \"g-one\", \"type\": \"GSI\", \"partition\": {\"attribute\": \"G1\", \"type\": "
      "\"S\"}}]},\n"
      " {\"name\": \"B\", \"table\": {\"name\": \"single\"},\n"
      "  \"keys\": {\"partition\": {\"attribute\": \"PK\", \"type\": \"S\"}, \"sort\": {\"attribute\": \"SK\", "
      "\"type\": \"S\"}},\n"
      "  \"attributes\": [{\"attribute\": \"PK\", \"type\": \"S\", \"required\": true},\n"
      "                 {\"attribute\": \"SK\", \"type\": \"S\", \"required\": true},\n"
      "                 {\"attribute\": \"ttl\", \"type\": \"N\", \"format\": \"unix_seconds\", \"roles\": "
      "[\"ttl\"], \"optional\": true}]}\n"
      "]}\n";
  char *dorm = import_ok("app.json", y);
  assert_canonical(dorm);
  const char *want = "namespace app;\n"
                     "\n"
                     "table single \"single\" {\n"
                     "  key (PK: S, SK: S);\n"
                     "  gsi \"g-one\" (G1: S) project all;\n"
                     "}\n"
                     "\n"
                     "model A in single {\n"
                     "  PK: string;\n"
                     "  SK: string;\n"
                     "  G1: string?;\n"
                     "}\n"
                     "\n"
                     "model B in single {\n"
                     "  PK: string;\n"
                     "  SK: string;\n"
                     "  ttl: epoch? @ttl;\n"
                     "}\n";
  if (!strstr(dorm, want)) fail_msg("got:\n%s", dorm);
  char *back = export_dorm(dorm);
  char *b = normalize(back);
  /* The keys get their pk/sk roles (the contract gives them). */
  assert_non_null(strstr(b, "attr PK type=S format=- required=true optional=- omit_empty=- json=- roles=pk\n"));
  assert_non_null(strstr(b, "model A table=single naming=camelCase pk=PK:S sk=SK:S\n"));
  assert_non_null(strstr(b, "  index g-one GSI pk=G1:S sk=- projection=ALL fields=\n"));
  free(b);
  free(back);
  free(dorm);
}

/* An owned table filled by templates gets its key declared; a template
 * whose placeholder cannot be resolved (or a tag that is not dormc's shape)
 * leaves a plain field. */
static void test_import_templates_owned(void **state) {
  (void)state;
  const char *dorm = "namespace o;\n"
                     "model Acct table \"accounts\" {\n"
                     "  key (PK: S, SK: S);\n"
                     "  key PK = \"ACCT#{id}\";\n"
                     "  key SK = \"META\";\n"
                     "  id: string;\n"
                     "  n: int;\n"
                     "}\n";
  char *y = export_dorm(dorm);
  char *back = import_ok("acct.yml", y);
  const char *want = "model Acct table \"accounts\" {\n"
                     "  key (PK, SK);\n"
                     "  key PK = \"ACCT#{id}\";\n"
                     "  key SK = \"META\";\n"
                     "\n"
                     "  id: string;\n"
                     "  n: int;\n"
                     "}\n";
  if (!strstr(back, want)) fail_msg("got:\n%s", back);
  char *y2 = export_dorm(back);
  assert_string_equal(y2, y);
  free(y2);
  free(back);
  free(y);

  const char *doc = HEAD MODEL("U", "users") KEYS_PK "    attributes:\n"
      "      - { attribute: \"PK\", type: \"S\", required: true, tags: { \"dorm.template\": \"U#{nope}\" } }\n"
      "      - { attribute: \"G\", type: \"S\", required: true, tags: { \"dorm.template\": \"{n}\" } }\n"
      "      - { attribute: \"n\", type: \"N\", required: true }\n";
  back = import_ok("u.yml", doc);
  /* {nope} names nothing; {n} names a decimal, which templates cannot take */
  assert_non_null(strstr(back, "  PK: string @pk;\n  G: string;\n  n: decimal;\n"));
  assert_null(strstr(back, "key "));
  free(back);
}

/* @encrypted is DMS's encryption: {v: 1}, both ways (issue 15). */
static void test_encrypted_roundtrip(void **state) {
  (void)state;
  const char *dorm = "namespace e;\n"
                     "\n"
                     "model Card table \"cards\" {\n"
                     "  id: string @pk;\n"
                     "  number: string @encrypted(\"alias/cards\");\n"
                     "  note: string? @encrypted;\n"
                     "  plain: string;\n"
                     "}\n";
  char *y = export_dorm(dorm);
  assert_non_null(strstr(y, "      - attribute: \"number\"\n        type: \"S\"\n        required: true\n"
                            "        encryption:\n          v: 1\n"));
  assert_non_null(strstr(y, "      - attribute: \"note\"\n        type: \"S\"\n        optional: true\n"
                            "        encryption:\n          v: 1\n"));
  const char *plain = strstr(y, "\"plain\"");
  assert_non_null(plain);
  assert_null(strstr(plain, "encryption"));
  assert_null(strstr(y, "alias/cards")); /* the key is configuration, not contract */
  char *back = import_ok("cards.yml", y);
  assert_non_null(strstr(back, "  number: string @encrypted;\n  note: string? @encrypted;\n  plain: string;\n"));
  free(back);
  free(y);
}

static void test_import_no_namespace(void **state) {
  (void)state;
  const char *y = "dms_version: \"0.1\"\nmodels:\n" MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK;
  char *dorm = import_ok("dir/my-models.v1.yml", y);
  assert_non_null(strstr(dorm, "// Imported by `dormc dms import` from my-models.v1.yml (DMS 0.1).\n"
                               "namespace my_models;\n"));
  free(dorm);
}

/* ---- import errors ----------------------------------------------------- */

typedef struct bad_case {
  const char *yaml;
  const char *expect; /* "line:col: error: text" (a substring of the output) */
} bad_case;

static const bad_case bad_cases[] = {
    {"dms_version: \"0.2\"\nmodels: []\n", "bad.yml:1:14: error: unsupported DMS version '0.2'; dormc reads DMS 0.1"},
    {"namespace: x\nmodels: []\n", "bad.yml:1:1: error: the document has no 'dms_version'"},
    {"dms_version: \"0.1\"\n", "bad.yml:1:1: error: the document has no 'models'"},
    {"", "bad.yml:1:1: error: the file is empty"},
    {"dms_version: \"0.1\"\nmodels: [\n", "bad.yml:3:1: error: invalid YAML: did not find expected node content"},
    {"dms_version: \"0.1\"\nmodels: {}\n", "bad.yml:2:9: error: models must be a list, not a mapping"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK "      - { attribute: \"x\", type: \"Q\" }\n",
     "bad.yml:10:33: error: unknown type 'Q' (did you mean 'S'?); DMS types are S, N, B, BOOL, SS, NS, BS, L, M and NULL"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\", type: \"N\", format: \"epoch\" }\n",
     "bad.yml:10:46: error: unknown format 'epoch'; DMS v0.1 formats are rfc3339nano, unix_seconds and int"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\", type: \"S\", format: \"int\" }\n",
     "bad.yml:10:46: error: format 'int' needs type N, and attribute 'x' is S"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\", type: \"S\", roles: [\"owner\"] }\n",
     "bad.yml:10:46: error: unknown role 'owner'; DMS v0.1 roles are pk, sk, created_at"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"c\", type: \"S\", roles: [\"created_at\"] }\n",
     "bad.yml:10:45: error: role 'created_at' needs type S with format rfc3339nano, and attribute 'c' is S"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK "      - { attribute: \"n\", type: \"NULL\" }\n",
     "bad.yml:10:33: error: type NULL has no .dorm equivalent"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"s\", type: \"B\", encryption: { key: \"k\" } }\n",
     "bad.yml:10:50: error: encryption has no 'v'"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"s\", type: \"B\", encryption: { v: 2 } }\n",
     "bad.yml:10:55: error: attribute 's': encryption version must be 1 (DynamORM's envelope v1)"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n"
                                      "      - { attribute: \"PK\", type: \"S\", required: true, encryption: { v: 1 } }\n",
     "bad.yml:9:9: error: attribute 'PK' is the table's partition key and cannot be encrypted"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n"
                                      "      - { attribute: \"PK\", type: \"S\", optional: true }\n",
     "bad.yml:9:9: error: attribute 'PK' is the table's partition key and cannot be optional"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK ATTR_PK,
     "bad.yml:10:9: error: attribute 'PK' is declared twice in model 'U'"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n"
                                      "      - { attribute: \"id\", type: \"S\" }\n",
     "bad.yml:7:18: error: partition key 'PK' is not among the attributes of model 'U'"},
    {HEAD MODEL("U", "users") "    keys:\n      partition: { attribute: \"PK\", type: \"N\" }\n"
                              "    attributes:\n" ATTR_PK,
     "bad.yml:7:18: error: partition key 'PK' is declared N, but the attribute is string"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "    indexes:\n      - { name: \"g-x\", type: \"GSI\", partition: { "
                                      "attribute: \"nope\", type: \"S\" } }\n",
     "bad.yml:11:48: error: index partition key 'nope' is not among the attributes of model 'U'"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "    indexes:\n      - { name: \"l-x\", type: \"LSI\", partition: { "
                                      "attribute: \"PK\", type: \"S\" } }\n",
     "bad.yml:11:9: error: LSI \"l-x\" has no sort key"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "    indexes:\n      - { name: \"g-x\", type: \"XSI\", partition: { "
                                      "attribute: \"PK\", type: \"S\" } }\n",
     "bad.yml:11:30: error: unknown index type 'XSI'; use GSI or LSI"},
    {"dms_version: \"0.1\"\nmodels: &m []\n", "bad.yml:2:9: error: anchors (&m) are not allowed"},
    {"dms_version: \"0.1\"\nx: &a 1\nmodels: *a\n", "bad.yml:2:4: error: anchors (&a) are not allowed"},
    {"dms_version: !!str 0.1\nmodels: []\n", "bad.yml:1:14: error: tags (tag:yaml.org,2002:str on a scalar)"},
    {"dms_version: \"0.1\"\nmodels: []\n---\nfoo: 1\n", "bad.yml:3:1: error: a DMS file holds one YAML document"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\", type: \"S\", optional: \"yes\" }\n",
     "bad.yml:10:48: error: optional must be true or false (without quotes)"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\", type: \"S\", required: true, optional: true }\n",
     "bad.yml:10:64: error: attribute 'x' is both required and optional"},
    {HEAD MODEL("U", "users") KEYS_PK "    naming: { convention: \"kebab\" }\n    attributes:\n" ATTR_PK,
     "bad.yml:8:27: error: unknown naming convention 'kebab'; use camelCase or snake_case"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK MODEL("U", "other") KEYS_PK
                                      "    attributes:\n" ATTR_PK,
     "bad.yml:10:5: error: model 'U' is declared twice"},
    {HEAD MODEL("A", "t01") KEYS_PK "    attributes:\n" ATTR_PK MODEL("B", "t01")
         "    keys:\n      partition: { attribute: \"id\", type: \"S\" }\n    attributes:\n"
         "      - { attribute: \"id\", type: \"S\", required: true }\n",
     "bad.yml:13:7: error: models 'A' and 'B' share table \"t01\" but declare different keys"},
    {HEAD "  - name: \"U\"\n" KEYS_PK "    attributes:\n" ATTR_PK, "bad.yml:4:5: error: model 'U' has no 'table'"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "      - { attribute: \"x\\0y\", type: \"S\" }\n",
     "bad.yml:10:22: error: attribute contains a NUL character"},
    {HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                                      "    indexes:\n      - { name: \"g x\", type: \"GSI\", partition: { "
                                      "attribute: \"PK\", type: \"S\" } }\n",
     "bad.yml:11:17: error: invalid index name \"g x\": DynamoDB index names are 3 to 255"},
    {HEAD MODEL("U", "x") KEYS_PK "    attributes:\n" ATTR_PK,
     "bad.yml:5:20: error: invalid table name \"x\": DynamoDB table names are 3 to 255 letters, digits, '_', '-' or '.'"},
};

static void test_import_errors(void **state) {
  (void)state;
  unsigned failed = 0;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    captured cap = {0};
    int rc;
    char *out = import("bad.yml", bad_cases[i].yaml, &cap, &rc);
    if (rc != -1 || !cap.t.s || !strstr(cap.t.s, bad_cases[i].expect) || out || cap.errors == 0) {
      print_error("case %zu: rc %d, expected '%s' in:\n%s\n", i, rc, bad_cases[i].expect,
                  cap.t.s ? cap.t.s : "(none)");
      failed++;
    }
    free(out);
    free(cap.t.s);
  }
  assert_int_equal(failed, 0);
}

/* Diagnostics show the YAML line with a caret, like the compiler's. */
static void test_import_error_format(void **state) {
  (void)state;
  captured cap = {0};
  int rc;
  const char *y = HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
      "      - attribute: \"x\"\n        type: \"SX\"\n";
  char *out = import("f.yml", y, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_string_equal(cap.t.s, "f.yml:11:15: error: unknown type 'SX' (did you mean 'S'?); DMS types are S, N, B, "
                               "BOOL, SS, NS, BS, L, M and NULL\n"
                               "   11 |         type: \"SX\"\n"
                               "      |               ^~~~\n");
  free(cap.t.s);
}

/* Unknown members are ignored with a warning; tags silently. */
static void test_import_unknown_members(void **state) {
  (void)state;
  captured cap = {0};
  int rc;
  const char *y = HEAD MODEL("U", "users") KEYS_PK "    write_policy: { mode: \"mutable\" }\n    attributes:\n"
      "      - { attribute: \"PK\", type: \"S\", required: true, tags: { a: 1 }, colour: \"red\" }\n";
  char *out = import("w.yml", y, &cap, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(cap.warnings, 2);
  assert_non_null(strstr(cap.t.s, "w.yml:8:5: warning: unknown member 'write_policy' in a model is ignored"));
  assert_non_null(strstr(cap.t.s, "warning: unknown member 'colour' in an attribute is ignored"));
  free(out);
  free(cap.t.s);
}

/* At most 20 errors are shown, then a note says the rest were dropped. */
static void test_import_error_limit(void **state) {
  (void)state;
  text y = {0};
  tput(&y, "%s", HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK);
  for (int i = 0; i < 50; i++) tput(&y, "      - { attribute: \"a%d\", type: \"ZZ\" }\n", i);
  captured cap = {0};
  int rc;
  char *out = import("many.yml", y.s, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_int_equal(cap.errors, 20);
  assert_non_null(strstr(cap.t.s, "too many errors; stopping"));
  free(cap.t.s);
  free(y.s);
}

/* Nesting past DMS_MAX_DEPTH is refused where it starts: libyaml's scanner
 * costs the square of the depth (a line of 30,000 '[' took 17 s; a 64 MB
 * file, which dormc reads, hours). 33 levels fail, 32 are read (a document
 * needs 7). 200,000 levels are refused at once. */
static void test_import_depth_limit(void **state) {
  (void)state;
  text y = {0};
  tput(&y, "dms_version: \"0.1\"\nmodels: []\nx: ");
  for (int i = 0; i < 200000; i++) tput(&y, "[");
  captured cap = {0};
  int rc;
  char *out = import("deep.yml", y.s, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_non_null(strstr(cap.t.s, "deep.yml:3:35: error: nested deeper than 32 levels: a DMS document nests 7 at most"));
  free(cap.t.s);
  free(y.s);
  y = (text){0};
  tput(&y, "dms_version: \"0.1\"\nmodels: []\nx: ");
  for (int i = 0; i < 31; i++) tput(&y, "[");
  for (int i = 0; i < 31; i++) tput(&y, "]");
  tput(&y, "\n");
  cap = (captured){0};
  out = import("ok.yml", y.s, &cap, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(cap.errors, 0);
  free(out);
  free(cap.t.s);
  free(y.s);
}

/* Attributes are found by hash (dms_find_attr): a model of 20,000
 * attributes imports, and the one declared twice, far down, is named at its
 * line. (The linear search this replaced made the duplicate check
 * quadratic: 4,000 attributes cost 712 M instructions, now 278 M.) */
static void test_import_many_attributes(void **state) {
  (void)state;
  text y = {0};
  tput(&y, "%s", HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK);
  for (int i = 0; i < 20000; i++) tput(&y, "      - { attribute: \"a%d\", type: \"S\", optional: true }\n", i);
  captured cap = {0};
  int rc;
  char *out = import("many.yml", y.s, &cap, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(out);
  assert_non_null(strstr(out, "  a19999: string?;\n"));
  free(out);
  free(cap.t.s);
  tput(&y, "      - { attribute: \"a12345\", type: \"N\" }\n");
  cap = (captured){0};
  out = import("many.yml", y.s, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_non_null(strstr(cap.t.s, "many.yml:20010:9: error: attribute 'a12345' is declared twice in model 'U'"));
  free(cap.t.s);
  free(y.s);
}

/* Field names made from attributes that are not identifiers take the first
 * free suffix, past the names that attributes keep as they are; names and
 * suffixes are looked up by hash (the linear search from suffix 2 each time
 * made 2,000 attributes of one base, "x!!!" "x!!#" ..., take 104 s). */
static void test_import_name_suffixes(void **state) {
  (void)state;
  const char *y = HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
      "      - { attribute: \"a-b\", type: \"S\" }\n"
      "      - { attribute: \"a_b\", type: \"S\" }\n"
      "      - { attribute: \"a.b\", type: \"S\" }\n"
      "      - { attribute: \"a_b_3\", type: \"S\" }\n"
      "      - { attribute: \"a+b\", type: \"S\" }\n";
  char *dorm = import_ok("sfx.yml", y);
  assert_non_null(strstr(dorm, "  a_b_2: string @name(\"a-b\");\n  a_b: string;\n  a_b_4: string @name(\"a.b\");\n"
                               "  a_b_3: string;\n  a_b_5: string @name(\"a+b\");\n"));
  free(dorm);
  text t = {0};
  tput(&t, "%s", HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK);
  static const char p[] = "!#%&*+,-./:;<=>?@^|~";
  for (int i = 0; i < 3000; i++)
    tput(&t, "      - { attribute: \"x%c%c%c\", type: \"S\" }\n", p[i / 400], p[i / 20 % 20], p[i % 20]);
  captured cap = {0};
  int rc;
  dorm = import("many.yml", t.s, &cap, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(dorm, "  x___: string @name(\"x!!!\");\n  x____2: string @name(\"x!!#\");\n"));
  assert_non_null(strstr(dorm, "  x____3000: string @name(\"x-/~\");\n"));
  free(dorm);
  free(cap.t.s);
  free(t.s);
}

/* DMS: "If naming.convention is present, implementations MUST validate
 * attribute names to that convention." Import refuses a name that does
 * not follow the declared one, at the name, with a note at the convention;
 * PK and SK pass camelCase only. */
static void test_import_naming_checked(void **state) {
  (void)state;
  const char *y = HEAD MODEL("U", "users") "    naming: { convention: \"camelCase\" }\n" KEYS_PK
      "    attributes:\n" ATTR_PK
      "      - { attribute: \"GSI1PK\", type: \"S\" }\n"
      "      - { attribute: \"_type\", type: \"S\" }\n"
      "      - { attribute: \"customer_note\", type: \"S\" }\n"
      "      - { attribute: \"okName2\", type: \"S\" }\n"
      MODEL("E", "events") "    naming:\n      convention: \"snake_case\"\n"
      "    keys:\n      partition: { attribute: \"tenant_id\", type: \"S\" }\n"
      "      sort: { attribute: \"SK\", type: \"S\" }\n"
      "    attributes:\n"
      "      - { attribute: \"tenant_id\", type: \"S\" }\n"
      "      - { attribute: \"SK\", type: \"S\" }\n"
      "      - { attribute: \"seen__by\", type: \"S\" }\n"
      "      - { attribute: \"x_1_y\", type: \"S\" }\n";
  captured cap = {0};
  int rc;
  char *out = import("n.yml", y, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_int_equal(cap.errors, 5);
  const char *want =
      "n.yml:11:22: error: attribute 'GSI1PK' does not follow the naming convention the model declares (camelCase); "
      "rename it, or remove naming (DMS readers validate the names against it)\n"
      "   11 |       - { attribute: \"GSI1PK\", type: \"S\" }\n"
      "      |                      ^~~~~~~~\n"
      "n.yml:6:27: note: camelCase names start with a lower-case letter, then letters and digits (PK and SK are "
      "allowed)\n"
      "    6 |     naming: { convention: \"camelCase\" }\n"
      "      |                           ^~~~~~~~~~~\n";
  if (!strstr(cap.t.s, want)) fail_msg("got:\n%s", cap.t.s);
  assert_non_null(strstr(cap.t.s, "n.yml:12:22: error: attribute '_type' does not follow"));
  assert_non_null(strstr(cap.t.s, "n.yml:13:22: error: attribute 'customer_note' does not follow"));
  assert_non_null(strstr(cap.t.s, "n.yml:24:22: error: attribute 'SK' does not follow the naming convention the model "
                                  "declares (snake_case)"));
  assert_non_null(strstr(cap.t.s, "n.yml:18:19: note: snake_case names are lower-case letters and digits"));
  assert_non_null(strstr(cap.t.s, "n.yml:25:22: error: attribute 'seen__by' does not follow"));
  assert_null(strstr(cap.t.s, "okName2"));
  assert_null(strstr(cap.t.s, "x_1_y"));
  free(cap.t.s);

  /* no convention declared: nothing to validate against */
  out = import_ok("n.yml", HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK
                  "      - { attribute: \"GSI1PK\", type: \"S\" }\n");
  free(out);
}

/* Export declares a model's convention only when every attribute it lists
 * follows it (it wrote camelCase beside GSI1PK, _type and customer_note,
 * which a DMS reader that validates refuses); what it writes imports. */
static void test_export_naming_follows_names(void **state) {
  (void)state;
  const char *dorm = "namespace n;\n"
                     "model Plain table \"plain\" {\n  id: string @pk;\n  totalCents: int;\n}\n"
                     "model Snake table \"snake\" {\n  naming snake_case;\n  tenantId: string @pk;\n"
                     "  seenAt: time;\n}\n"
                     "model Named table \"named\" {\n  id: string @pk;\n  note: string @name(\"customer_note\");\n}\n"
                     "model SnakePk table \"snakepk\" {\n  naming snake_case;\n  pk: string @pk @name(\"PK\");\n}\n"
                     "table t \"single\" {\n  key (PK: S, SK: S);\n}\n"
                     "model Typed in t {\n  type \"Typed\";\n  key PK = \"T#{id}\";\n  key SK = \"T\";\n  id: string;\n}\n";
  char *y = export_dorm(dorm);
  assert_non_null(strstr(y, "  - name: \"Plain\"\n    table:\n      name: \"plain\"\n    naming:\n"
                            "      convention: \"camelCase\"\n"));
  assert_non_null(strstr(y, "  - name: \"Snake\"\n    table:\n      name: \"snake\"\n    naming:\n"
                            "      convention: \"snake_case\"\n"));
  assert_non_null(strstr(y, "  - name: \"Named\"\n    table:\n      name: \"named\"\n    keys:\n"));
  assert_non_null(strstr(y, "  - name: \"SnakePk\"\n    table:\n      name: \"snakepk\"\n    keys:\n"));
  assert_non_null(strstr(y, "  - name: \"Typed\"\n    table:\n      name: \"single\"\n    keys:\n"));
  /* Every model imports (the names follow what is declared). SnakePk comes
   * back a camelCase model (DMS's default when none is declared), whose
   * names follow camelCase: the next export declares it, and is the fixed
   * point. */
  captured cap = {0};
  int rc;
  char *back = import("e.yml", y, &cap, &rc);
  if (rc != 0) fail_msg("%s", cap.t.s ? cap.t.s : "");
  char *y2 = export_dorm(back);
  const char *at = "  - name: \"SnakePk\"\n    table:\n      name: \"snakepk\"\n";
  char *cut = strstr(y, at);
  assert_non_null(cut);
  text want = {0};
  tput(&want, "%.*s%s    naming:\n      convention: \"camelCase\"\n%s", (int)(cut - y), y, at, cut + strlen(at));
  assert_string_equal(y2, want.s);
  char *back2 = import_ok("e2.yml", y2);
  char *y3 = export_dorm(back2);
  assert_string_equal(y3, y2);
  free(y3);
  free(back2);
  free(want.s);
  free(y2);
  free(back);
  free(cap.t.s);
  free(y);
}

/* What only the checker of the .dorm made from a document finds (here a
 * table with 21 GSIs) is reported at the YAML entry it came from, with the
 * .dorm line in a note: it pointed at "FILE.yml.dorm", a file that does
 * not exist. */
static void test_import_checker_errors_at_yaml(void **state) {
  (void)state;
  text y = {0};
  tput(&y, "%s", HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK);
  for (int i = 0; i < 21; i++) tput(&y, "      - { attribute: \"g%d\", type: \"S\" }\n", i);
  tput(&y, "    indexes:\n");
  for (int i = 0; i < 21; i++)
    tput(&y, "      - { name: \"gsi-%02d\", type: \"GSI\", partition: { attribute: \"g%d\", type: \"S\" } }\n", i, i);
  captured cap = {0};
  int rc;
  char *out = import("many.yml", y.s, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_int_equal(cap.errors, 1);
  const char *want =
      "many.yml:52:9: error: table 'U' has more than 20 global secondary indexes\n"
      "   52 |       - { name: \"gsi-20\", type: \"GSI\", partition: { attribute: \"g20\", type: \"S\" } }\n"
      "      |         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
      "many.yml:52:9: note: in the .dorm made from it: gsi \"gsi-20\" (g20) project all;\n";
  assert_string_equal(cap.t.s, want);
  free(cap.t.s);
  free(y.s);
}

/* A document past DORMC_DMS_MAX_BYTES is refused before libyaml reads it:
 * import needs about 40 times a document's size in memory (a 16 MiB one
 * took 660 MB). */
static void test_import_size_limit(void **state) {
  (void)state;
  size_t n = DORMC_DMS_MAX_BYTES + 1;
  char *big = malloc(n + 1);
  assert_non_null(big);
  const char *head = HEAD MODEL("U", "users") KEYS_PK "    attributes:\n" ATTR_PK;
  memset(big, '#', n); /* a comment fills the rest */
  memcpy(big, head, strlen(head));
  big[strlen(head)] = '\n';
  big[n] = '\0';
  captured cap = {0};
  dormc_options o = {.on_diag = capture, .diag_user = &cap};
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(dormc_dms_import(&o, "big.yml", big, n, &out, &len), -1);
  assert_null(out);
  assert_int_equal(cap.errors, 1);
  assert_non_null(strstr(cap.t.s, "big.yml:1:1: error: the document is 4194305 bytes; dormc imports DMS documents of "
                                  "at most 4 MiB"));
  free(cap.t.s);
  /* at the limit it is read */
  big[n - 2] = '\n';
  big[n - 1] = '\0';
  assert_int_equal(strlen(big), DORMC_DMS_MAX_BYTES);
  char *ok = import_ok("big.yml", big);
  free(ok);
  free(big);
}

/* Models sharing a table must agree on an index of the same name; the
 * third model is compared with the first that declared it. */
static void test_import_shared_index_differs(void **state) {
  (void)state;
  const char *y = HEAD MODEL("A", "t01") KEYS_PK "    attributes:\n" ATTR_PK
      "      - { attribute: \"e\", type: \"S\" }\n"
      "    indexes:\n      - { name: \"gsi-e\", type: \"GSI\", partition: { attribute: \"e\", type: \"S\" } }\n"
      MODEL("B", "t01") KEYS_PK "    attributes:\n" ATTR_PK
      "      - { attribute: \"e\", type: \"S\" }\n"
      "    indexes:\n      - { name: \"gsi-e\", type: \"GSI\", partition: { attribute: \"e\", type: \"S\" } }\n"
      MODEL("C", "t01") KEYS_PK "    attributes:\n" ATTR_PK
      "      - { attribute: \"e\", type: \"S\" }\n"
      "    indexes:\n      - { name: \"gsi-e\", type: \"GSI\", partition: { attribute: \"e\", type: \"S\" },"
      " projection: { type: \"KEYS_ONLY\" } }\n";
  captured cap = {0};
  int rc;
  char *out = import("sh.yml", y, &cap, &rc);
  assert_int_equal(rc, -1);
  assert_null(out);
  assert_int_equal(cap.errors, 1);
  assert_non_null(strstr(cap.t.s, "sh.yml:30:9: error: index \"gsi-e\" of table \"t01\" differs between models 'A' and 'C'"));
  free(cap.t.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contract_user_roundtrip),  cmocka_unit_test(test_contract_order_roundtrip),
      cmocka_unit_test(test_contract_user_dorm),       cmocka_unit_test(test_contract_schema_export),
      cmocka_unit_test(test_shop_fixed_point),         cmocka_unit_test(test_type_mapping),
      cmocka_unit_test(test_export_quoting),           cmocka_unit_test(test_import_names),
      cmocka_unit_test(test_import_snake_case),        cmocka_unit_test(test_import_naming_checked),
      cmocka_unit_test(test_export_naming_follows_names), cmocka_unit_test(test_import_checker_errors_at_yaml),
      cmocka_unit_test(test_import_size_limit),        cmocka_unit_test(test_import_shared_table_json),
      cmocka_unit_test(test_import_no_namespace),      cmocka_unit_test(test_import_templates_owned),      cmocka_unit_test(test_import_errors),
      cmocka_unit_test(test_import_error_format),      cmocka_unit_test(test_import_unknown_members),
      cmocka_unit_test(test_import_error_limit),       cmocka_unit_test(test_encrypted_roundtrip),
      cmocka_unit_test(test_import_depth_limit),       cmocka_unit_test(test_import_many_attributes),
      cmocka_unit_test(test_import_name_suffixes),     cmocka_unit_test(test_import_shared_index_differs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
