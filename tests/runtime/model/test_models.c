/* Descriptors of the test models (see test_models.h), written the way the
 * generator writes them. */
#include "test_models.h"

#include <stddef.h>
#include <string.h>

char tm_kitchen_table[64] = "kitchen";
char tm_shop_table[64] = "shop";
char tm_users_table[64] = "users_contract";

/* attr[2], attr_json[2], attr_json_len[2] of an attribute stored the same
 * under both namings (model fields), and of a struct field whose name
 * differs by naming. */
#define ATTR(a) {a, a}, {"\"" a "\":", "\"" a "\":"}, {sizeof(a) + 2, sizeof(a) + 2}
#define ATTR2(c, s) {c, s}, {"\"" c "\":", "\"" s "\":"}, {sizeof(c) + 2, sizeof(s) + 2}
#define T(kind, ctype) {kind, 0, 0, (uint32_t)sizeof(ctype), NULL, NULL, NULL}
#define TE(kind, ctype, elem) {kind, 0, 0, (uint32_t)sizeof(ctype), elem, NULL, NULL}
#define TS(ctype, sdesc) {DORM_K_STRUCT, 0, 0, (uint32_t)sizeof(ctype), NULL, sdesc, NULL}
#define TN(ctype, edesc) {DORM_K_ENUM, 0, 0, (uint32_t)sizeof(ctype), NULL, NULL, edesc}
#define F(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), -1, type, NULL}
#define FH(S, m, attrs, flags, type) {#m, attrs, flags, (uint32_t)offsetof(S, m), (int32_t)offsetof(S, has_##m), type, NULL}
#define KEY(a, type, field, parts, n) {a, "\"" a "\":", sizeof(a) + 2, type, field, parts, n}
#define LIT(s) {s, sizeof(s) - 1, -1}
#define FLD(i) {NULL, 0, i}

/* ---- enums ---- */

static const char *const color_values[] = {"red", "green", "BLUE"};
const dorm_enum_desc tm_Color_edesc = {"Color", color_values, 3};
static const char *const status_values[] = {"pending", "paid", "SHIPPED"};
const dorm_enum_desc tm_OrderStatus_edesc = {"OrderStatus", status_values, 3};

/* ---- Address ---- */

static const dorm_field_desc address_fields[] = {
    F(tm_Address, street, ATTR("street"), 0, T(DORM_K_STRING, const char *)),
    F(tm_Address, city, ATTR("city"), 0, T(DORM_K_STRING, const char *)),
    F(tm_Address, postCode, ATTR2("postCode", "post_code"), DORM_FF_OPTIONAL, T(DORM_K_STRING, const char *)),
};
static const dorm_struct_desc address_sdesc = {"Address", (uint32_t)sizeof(tm_Address), address_fields, 3};

/* ---- element types ---- */

static const dorm_type_desc td_string = T(DORM_K_STRING, const char *);
static const dorm_type_desc td_int = T(DORM_K_INT, int64_t);
static const dorm_type_desc td_float = T(DORM_K_FLOAT, double);
static const dorm_type_desc td_decimal = T(DORM_K_DECIMAL, const char *);
static const dorm_type_desc td_bytes = T(DORM_K_BYTES, dorm_bytes);
static const dorm_type_desc td_opt_int = {DORM_K_INT, 1, (uint16_t)offsetof(dorm_opt_i64, value),
                                          (uint32_t)sizeof(dorm_opt_i64), NULL, NULL, NULL};
static const dorm_type_desc td_opt_string = {DORM_K_STRING, 1, 0, (uint32_t)sizeof(const char *), NULL, NULL, NULL};
static const dorm_type_desc td_opt_Address = {DORM_K_STRUCT, 1, (uint16_t)offsetof(tm_opt_Address, value),
                                              (uint32_t)sizeof(tm_opt_Address), NULL, &address_sdesc, NULL};
static const dorm_type_desc td_list_int = TE(DORM_K_LIST, tm_list_int, &td_int);

/* ---- Kitchen ---- */

#define K tm_Kitchen
static const dorm_field_desc kitchen_fields[] = {
    F(K, id, ATTR("id"), DORM_FF_PK | DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(K, name, ATTR("name"), 0, T(DORM_K_STRING, const char *)),
    F(K, count, ATTR("count"), 0, T(DORM_K_INT, int64_t)),
    F(K, ratio, ATTR("ratio"), 0, T(DORM_K_FLOAT, double)),
    F(K, price, ATTR("price"), 0, T(DORM_K_DECIMAL, const char *)),
    F(K, active, ATTR("active"), 0, T(DORM_K_BOOL, bool)),
    F(K, blob, ATTR("blob"), 0, T(DORM_K_BYTES, dorm_bytes)),
    F(K, when, ATTR("when"), 0, T(DORM_K_TIME, int64_t)),
    FH(K, expiresAt, ATTR("expires_at"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY | DORM_FF_TTL, T(DORM_K_EPOCH, int64_t)),
    F(K, doc, ATTR("doc"), DORM_FF_OPTIONAL, T(DORM_K_JSON, const char *)),
    F(K, color, ATTR("color"), 0, TN(tm_Color, &tm_Color_edesc)),
    F(K, home, ATTR("home"), 0, TS(tm_Address, &address_sdesc)),
    FH(K, work, ATTR("work"), DORM_FF_OPTIONAL, TS(tm_Address, &address_sdesc)),
    F(K, tags, ATTR("tags"), 0, TE(DORM_K_SET, tm_set_string, &td_string)),
    F(K, nums, ATTR("nums"), 0, TE(DORM_K_SET, tm_set_int, &td_int)),
    FH(K, ratios, ATTR("ratios"), DORM_FF_OPTIONAL, TE(DORM_K_SET, tm_set_float, &td_float)),
    F(K, amounts, ATTR("amounts"), 0, TE(DORM_K_SET, tm_set_decimal, &td_decimal)),
    F(K, blobs, ATTR("blobs"), 0, TE(DORM_K_SET, tm_set_bytes, &td_bytes)),
    F(K, scores, ATTR("scores"), 0, TE(DORM_K_LIST, tm_list_opt_int, &td_opt_int)),
    F(K, labels, ATTR("labels"), 0, TE(DORM_K_LIST, tm_list_opt_string, &td_opt_string)),
    F(K, places, ATTR("places"), 0, TE(DORM_K_LIST, tm_list_opt_Address, &td_opt_Address)),
    F(K, grid, ATTR("grid"), 0, TE(DORM_K_LIST, tm_list_list_int, &td_list_int)),
    F(K, attrs, ATTR("attrs"), 0, TE(DORM_K_MAP, tm_map_string, &td_string)),
    F(K, limits, ATTR("limits"), 0, TE(DORM_K_MAP, tm_map_opt_int, &td_opt_int)),
    F(K, nickname, ATTR("nickname"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY, T(DORM_K_STRING, const char *)),
    FH(K, level, ATTR("level"), DORM_FF_OPTIONAL, T(DORM_K_INT, int64_t)),
    F(K, flag, ATTR("flag"), DORM_FF_OMIT_EMPTY, T(DORM_K_BOOL, bool)),
    F(K, memo, ATTR("the.memo"), DORM_FF_OPTIONAL, T(DORM_K_STRING, const char *)),
};
#undef K
static const dorm_tpl_part kitchen_tpl1[] = {LIT("N#"), FLD(TM_K_name), LIT("#"), FLD(TM_K_color)};
static const dorm_tpl_part kitchen_tpl2[] = {FLD(TM_K_count), LIT("#"), FLD(TM_K_id)};
static const dorm_key_desc kitchen_keys[] = {
    KEY("id", 'S', TM_K_id, NULL, 0),
    KEY("GSI1PK", 'S', -1, kitchen_tpl1, 4),
    KEY("GSI1SK", 'S', -1, kitchen_tpl2, 3),
};
static const dorm_index_desc kitchen_indexes[] = {
    {NULL, DORM_INDEX_TABLE, 0, 0, -1},
    {"by-name", DORM_INDEX_GSI, 0, 1, 2},
};
const dorm_model_desc tm_Kitchen_desc = {
    "Kitchen", tm_kitchen_table, NULL, DORM_NAMING_SNAKE, (uint32_t)sizeof(tm_Kitchen), kitchen_fields, TM_K_NFIELDS,
    kitchen_keys, 3, 1, kitchen_indexes, 2, -1, -1, -1, TM_K_expiresAt, 0, NULL};

/* ---- Money, Order ---- */

static const dorm_field_desc money_fields[] = {
    F(tm_Money, amount, ATTR("amount"), 0, T(DORM_K_DECIMAL, const char *)),
    F(tm_Money, currency, ATTR("currency"), 0, T(DORM_K_STRING, const char *)),
};
static const dorm_struct_desc money_sdesc = {"Money", (uint32_t)sizeof(tm_Money), money_fields, 2};

#define O tm_Order
static const dorm_field_desc order_fields[] = {
    F(O, customerId, ATTR("customerId"), DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(O, orderId, ATTR("orderId"), DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(O, status, ATTR("status"), 0, TN(tm_OrderStatus, &tm_OrderStatus_edesc)),
    F(O, total, ATTR("total"), 0, TS(tm_Money, &money_sdesc)),
    F(O, tags, ATTR("tags"), DORM_FF_OMIT_EMPTY, TE(DORM_K_SET, tm_set_string, &td_string)),
    FH(O, shipTo, ATTR("shipTo"), DORM_FF_OPTIONAL, TS(tm_Address, &address_sdesc)),
    F(O, note, ATTR("customer_note"), DORM_FF_OPTIONAL, T(DORM_K_STRING, const char *)),
    F(O, metadata, ATTR("metadata"), DORM_FF_OPTIONAL, T(DORM_K_JSON, const char *)),
    F(O, createdAt, ATTR("createdAt"), DORM_FF_CREATED_AT, T(DORM_K_TIME, int64_t)),
    F(O, updatedAt, ATTR("updatedAt"), DORM_FF_UPDATED_AT, T(DORM_K_TIME, int64_t)),
    F(O, version, ATTR("version"), DORM_FF_VERSION, T(DORM_K_INT, int64_t)),
    FH(O, expiresAt, ATTR("expiresAt"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY | DORM_FF_TTL, T(DORM_K_EPOCH, int64_t)),
};
#undef O
static const dorm_tpl_part order_tpl0[] = {LIT("CUSTOMER#"), FLD(TM_O_customerId)};
static const dorm_tpl_part order_tpl1[] = {LIT("ORDER#"), FLD(TM_O_orderId)};
static const dorm_tpl_part order_tpl2[] = {LIT("STATUS#"), FLD(TM_O_status)};
static const dorm_tpl_part order_tpl3[] = {FLD(TM_O_createdAt)};
static const dorm_key_desc order_keys[] = {
    KEY("PK", 'S', -1, order_tpl0, 2),
    KEY("SK", 'S', -1, order_tpl1, 2),
    KEY("GSI1PK", 'S', -1, order_tpl2, 2),
    KEY("GSI1SK", 'S', -1, order_tpl3, 1),
};
static const dorm_index_desc order_indexes[] = {
    {NULL, DORM_INDEX_TABLE, 0, 0, 1},
    {"gsi-status", DORM_INDEX_GSI, 0, 2, 3},
};
const dorm_model_desc tm_Order_desc = {
    "Order", tm_shop_table, "Order", DORM_NAMING_CAMEL, (uint32_t)sizeof(tm_Order), order_fields, TM_O_NFIELDS,
    order_keys, 4, 2, order_indexes, 2, TM_O_createdAt, TM_O_updatedAt, TM_O_version, TM_O_expiresAt, 0, NULL};

/* ---- Customer ---- */

#define C tm_Customer
static const dorm_field_desc customer_fields[] = {
    F(C, customerId, ATTR("customerId"), DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(C, email, ATTR("email"), 0, T(DORM_K_STRING, const char *)),
    F(C, name, ATTR("name"), 0, T(DORM_K_STRING, const char *)),
    F(C, createdAt, ATTR("createdAt"), DORM_FF_CREATED_AT, T(DORM_K_TIME, int64_t)),
    F(C, updatedAt, ATTR("updatedAt"), DORM_FF_UPDATED_AT, T(DORM_K_TIME, int64_t)),
    F(C, version, ATTR("version"), DORM_FF_VERSION, T(DORM_K_INT, int64_t)),
};
#undef C
static const dorm_tpl_part customer_tpl0[] = {LIT("CUSTOMER#"), FLD(TM_C_customerId)};
static const dorm_tpl_part customer_tpl1[] = {LIT("PROFILE")};
static const dorm_tpl_part customer_tpl2[] = {LIT("EMAIL#"), FLD(TM_C_email)};
static const dorm_key_desc customer_keys[] = {
    KEY("PK", 'S', -1, customer_tpl0, 2),
    KEY("SK", 'S', -1, customer_tpl1, 1),
    KEY("GSI2PK", 'S', -1, customer_tpl2, 2),
};
static const dorm_index_desc customer_indexes[] = {
    {NULL, DORM_INDEX_TABLE, 0, 0, 1},
    {"gsi-email", DORM_INDEX_GSI, 1, 2, -1},
};
const dorm_model_desc tm_Customer_desc = {
    "Customer", tm_shop_table, "Customer", DORM_NAMING_CAMEL, (uint32_t)sizeof(tm_Customer), customer_fields, 6,
    customer_keys, 3, 2, customer_indexes, 2, TM_C_createdAt, TM_C_updatedAt, TM_C_version, -1, 0, NULL};

/* ---- User (DynamORM's contract model) ---- */

#define U tm_User
static const dorm_field_desc user_fields[] = {
    F(U, PK, ATTR("PK"), DORM_FF_PK | DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(U, SK, ATTR("SK"), DORM_FF_SK | DORM_FF_TABLE_KEY, T(DORM_K_STRING, const char *)),
    F(U, emailHash, ATTR("emailHash"), DORM_FF_OPTIONAL, T(DORM_K_STRING, const char *)),
    F(U, nickname, ATTR("nickname"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY, T(DORM_K_STRING, const char *)),
    FH(U, tags, ATTR("tags"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY, TE(DORM_K_SET, tm_set_string, &td_string)),
    F(U, createdAt, ATTR("createdAt"), DORM_FF_CREATED_AT, T(DORM_K_TIME, int64_t)),
    F(U, updatedAt, ATTR("updatedAt"), DORM_FF_UPDATED_AT, T(DORM_K_TIME, int64_t)),
    F(U, version, ATTR("version"), DORM_FF_VERSION, T(DORM_K_INT, int64_t)),
    FH(U, ttl, ATTR("ttl"), DORM_FF_OPTIONAL | DORM_FF_OMIT_EMPTY | DORM_FF_TTL, T(DORM_K_EPOCH, int64_t)),
};
#undef U
static const dorm_key_desc user_keys[] = {
    KEY("PK", 'S', TM_U_PK, NULL, 0),
    KEY("SK", 'S', TM_U_SK, NULL, 0),
    KEY("emailHash", 'S', TM_U_emailHash, NULL, 0),
};
static const dorm_index_desc user_indexes[] = {
    {NULL, DORM_INDEX_TABLE, 0, 0, 1},
    {"gsi-email", DORM_INDEX_GSI, 0, 2, -1},
};
const dorm_model_desc tm_User_desc = {
    "User", tm_users_table, NULL, DORM_NAMING_CAMEL, (uint32_t)sizeof(tm_User), user_fields, 9,
    user_keys, 3, 2, user_indexes, 2, TM_U_createdAt, TM_U_updatedAt, TM_U_version, TM_U_ttl, 0, NULL};

/* ---- sample objects ---- */

static const uint8_t sample_blob[] = {0, 1, 2, 0xff};
static const char *sample_tags[] = {"b", "a"};
static int64_t sample_nums[] = {3, -1};
static const char *sample_amounts[] = {"1.5", "2"};
static dorm_bytes sample_blobs[] = {{sample_blob, 1}, {sample_blob + 1, 2}};
static dorm_opt_i64 sample_scores[] = {{true, 7}, {false, 0}};
static const char *sample_labels[] = {"x", NULL};
static tm_opt_Address sample_places[] = {{true, {"s", "c", NULL}}, {false, {NULL, NULL, NULL}}};
static int64_t sample_row[] = {1, 2};
static tm_list_int sample_grid[] = {{sample_row, 2}, {NULL, 0}};
static const char *sample_attr_keys[] = {"k<1>", "k2"}, *sample_attr_values[] = {"v1", "v2"};
static const char *sample_limit_keys[] = {"l"};
static dorm_opt_i64 sample_limit_values[] = {{false, 0}};

void tm_sample_kitchen(tm_Kitchen *k, const char *id) {
  memset(k, 0, sizeof *k);
  k->id = id;
  k->name = "Tab\there \"q\" caf\xc3\xa9";
  k->count = -42;
  k->ratio = 0.1;
  k->price = "19.990";
  k->active = true;
  k->blob.data = sample_blob;
  k->blob.len = sizeof sample_blob;
  k->when = 1;
  k->has_expiresAt = true;
  k->expiresAt = 1700000000;
  k->doc = " { \"b\": [1, 2.50, {\"z\":null,\"a\":true}], \"a\": \"x\" } ";
  k->color = TM_COLOR_BLUE;
  k->home.street = "1 Main St";
  k->home.city = "Springfield";
  k->home.postCode = "12345";
  k->tags.items = sample_tags;
  k->tags.count = 2;
  k->nums.items = sample_nums;
  k->nums.count = 2;
  k->amounts.items = sample_amounts;
  k->amounts.count = 2;
  k->blobs.items = sample_blobs;
  k->blobs.count = 2;
  k->scores.items = sample_scores;
  k->scores.count = 2;
  k->labels.items = sample_labels;
  k->labels.count = 2;
  k->places.items = sample_places;
  k->places.count = 2;
  k->grid.items = sample_grid;
  k->grid.count = 2;
  k->attrs.keys = sample_attr_keys;
  k->attrs.values = sample_attr_values;
  k->attrs.count = 2;
  k->limits.keys = sample_limit_keys;
  k->limits.values = sample_limit_values;
  k->limits.count = 1;
  k->memo = "m";
}

/* The sample's item as DynamoDB JSON (attributes in write order). */
const char tm_sample_kitchen_json[] =
    "{\"GSI1PK\":{\"S\":\"N#Tab\\there \\\"q\\\" caf\xc3\xa9#BLUE\"},\"GSI1SK\":{\"S\":\"-42#k1\"},"
    "\"id\":{\"S\":\"k1\"},\"name\":{\"S\":\"Tab\\there \\\"q\\\" caf\xc3\xa9\"},\"count\":{\"N\":\"-42\"},"
    "\"ratio\":{\"N\":\"0.1\"},\"price\":{\"N\":\"19.990\"},\"active\":{\"BOOL\":true},\"blob\":{\"B\":\"AAEC/w==\"},"
    "\"when\":{\"S\":\"1970-01-01T00:00:00.000000001Z\"},\"expires_at\":{\"N\":\"1700000000\"},"
    "\"doc\":{\"S\":\"{\\\"a\\\":\\\"x\\\",\\\"b\\\":[1,2.5,{\\\"a\\\":true,\\\"z\\\":null}]}\"},"
    "\"color\":{\"S\":\"BLUE\"},"
    "\"home\":{\"M\":{\"street\":{\"S\":\"1 Main St\"},\"city\":{\"S\":\"Springfield\"},\"post_code\":{\"S\":\"12345\"}}},"
    "\"tags\":{\"SS\":[\"b\",\"a\"]},\"nums\":{\"NS\":[\"3\",\"-1\"]},\"amounts\":{\"NS\":[\"1.5\",\"2\"]},"
    "\"blobs\":{\"BS\":[\"AA==\",\"AQI=\"]},\"scores\":{\"L\":[{\"N\":\"7\"},{\"NULL\":true}]},"
    "\"labels\":{\"L\":[{\"S\":\"x\"},{\"NULL\":true}]},"
    "\"places\":{\"L\":[{\"M\":{\"street\":{\"S\":\"s\"},\"city\":{\"S\":\"c\"}}},{\"NULL\":true}]},"
    "\"grid\":{\"L\":[{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"}]},{\"L\":[]}]},"
    "\"attrs\":{\"M\":{\"k<1>\":{\"S\":\"v1\"},\"k2\":{\"S\":\"v2\"}}},\"limits\":{\"M\":{\"l\":{\"NULL\":true}}},"
    "\"the.memo\":{\"S\":\"m\"}}";
