/* @encrypted fields through the generated code (tests/models/vault.dorm,
 * issue 15) against DynamoDB Local and the loopback KMS (fake_kms.c):
 *   - without a dorm_crypt on the client every operation fails closed and
 *     writes nothing;
 *   - put/get, query (table and GSI), scan, batch get/put, transactions and
 *     updates round-trip every kind of value an envelope holds;
 *   - what DynamoDB stores is DynamORM's envelope and none of the plaintext;
 *   - envelopes made by hand with OpenSSL as DynamORM makes them (a fixture)
 *     read through the generated get;
 *   - a tampered envelope, or one moved to another attribute, fails the read
 *     with DORM_ERR_BAD_ENVELOPE naming the field;
 *   - data keys are reused (KMS calls counted) and, with no_cache, are not;
 *   - misuse the generator cannot prevent at compile time is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "dorm/crypt.h"
#include "dorm/ops.h"
#include "fake_kms.h"
#include "kms.h"
#include "test_ddb.h"
#include "test_support.h"
#include "vault_models.h"

static char run_id[48];

typedef struct fx {
  fake_kms kms;
  dorm_client *c;
  dorm_arena a;
} fx;

#define CHECK(f, call)                                                                                     \
  do {                                                                                                     \
    dorm_status st_ = (call);                                                                              \
    if (st_ != DORM_OK) fail_msg("%s: %s (%s)", #call, dorm_strerror(st_), dorm_client_errmsg((f)->c));   \
  } while (0)

static int group_setup(void **state) {
  (void)state;
  dorm_client *c = ts_ddb_client();
  ts_unique_name(run_id, sizeof run_id, "vault");
  dorm_status st = vault_Vault_table_ensure(c, 60000);
  if (st != DORM_OK) fprintf(stderr, "ensure: %s\n", dorm_client_errmsg(c));
  dorm_client_free(c);
  return st == DORM_OK ? 0 : -1;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->kms.akid, sizeof f->kms.akid, "dormtest"); /* the DynamoDB Local client's keys sign KMS calls too */
  snprintf(f->kms.secret, sizeof f->kms.secret, "dormtestsecret");
  assert_true(fake_kms_start(&f->kms));
  f->c = ts_ddb_client();
  dorm_arena_init(&f->a, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  assert_string_equal(f->kms.bad, "");
  dorm_client_free(f->c); /* frees the dorm_crypt set on it */
  fake_kms_stop(&f->kms);
  dorm_arena_free(&f->a);
  free(f);
  return 0;
}

/* The schema's key (alias/test), the loopback KMS. */
static void enable(fx *f, bool no_cache) {
  dorm_crypt_opts o = {.kms_endpoint_url = fas_url(f->kms.srv), .no_cache = no_cache};
  CHECK(f, dorm_crypt_enable(f->c, &vault_Account_desc, &o));
  assert_string_equal(dorm_crypt_key_id(dorm_client_crypt(f->c)), "alias/test");
}

static const char *id(const char *suffix) {
  static char buf[16][96];
  static int n;
  char *b = buf[n++ % 16];
  snprintf(b, 96, "%s-%s", run_id, suffix);
  return b;
}

static const int64_t limits_v[] = {100, -5, 7};
static const char *const note_keys[] = {"k1", "k2"};
static const char *const note_vals[] = {"v1", "v\"2\""};
static const char *const tag_v[] = {"gold"};
static const uint8_t blob_v[] = {0, 1, 2, 255};

static vault_Account account(const char *owner, const char *acct, const char *bank) {
  vault_Account o;
  memset(&o, 0, sizeof o);
  o.owner = owner;
  o.accountId = acct;
  o.bank = bank;
  o.card.number = "4111 1111 1111 1111";
  o.card.expiry = "12/29";
  o.card.has_cvv = true;
  o.card.cvv = 737;
  o.pin = "0000-secret-pin";
  o.balance = "1234.50";
  o.limits.items = (int64_t *)limits_v;
  o.limits.count = 3;
  o.has_risk = true;
  o.risk = VAULT_RISK_HIGH;
  o.notes = (vault_map_string){(const char **)note_keys, (const char **)note_vals, 2};
  o.has_notes = true;
  o.has_opened = true;
  o.opened = INT64_C(1700000000123456789);
  o.blob = (dorm_bytes){blob_v, sizeof blob_v};
  o.flags = "{\"a\":[1,2]}";
  o.visits = 3;
  o.tags = (vault_set_string){(const char **)tag_v, 1};
  return o;
}

static void same_account(const vault_Account *want, const vault_Account *got) {
  assert_string_equal(got->owner, want->owner);
  assert_string_equal(got->accountId, want->accountId);
  assert_string_equal(got->bank, want->bank);
  assert_string_equal(got->card.number, want->card.number);
  assert_string_equal(got->card.expiry, want->card.expiry);
  assert_int_equal(got->card.has_cvv, want->card.has_cvv);
  assert_int_equal(got->card.cvv, want->card.cvv);
  if (want->pin) assert_string_equal(got->pin, want->pin);
  else assert_null(got->pin);
  assert_string_equal(got->balance, want->balance);
  assert_int_equal(got->limits.count, want->limits.count);
  for (size_t i = 0; i < want->limits.count; i++) assert_int_equal(got->limits.items[i], want->limits.items[i]);
  assert_int_equal(got->has_risk, want->has_risk);
  assert_int_equal(got->risk, want->risk);
  assert_int_equal(got->notes.count, 2);
  assert_int_equal(got->has_opened, true);
  assert_true(got->opened == want->opened);
  assert_int_equal(got->blob.len, want->blob.len);
  assert_memory_equal(got->blob.data, want->blob.data, want->blob.len);
  assert_non_null(strstr(got->flags, "[1,2]"));
  assert_int_equal(got->visits, want->visits);
  assert_int_equal(got->tags.count, 1);
}

/* The stored item as DynamoDB holds it. */
static dorm_av raw_item(fx *f, const char *pk, const char *sk) {
  dorm_av key = {.type = DORM_AV_M}, item;
  *dorm_av_map_add(&f->a, &key, "PK", 2) = dorm_av_str(dorm_arena_strdup(&f->a, pk));
  *dorm_av_map_add(&f->a, &key, "SK", 2) = dorm_av_str(dorm_arena_strdup(&f->a, sk));
  dorm_get_input in = {.table = "vault_models", .key = &key, .consistent_read = true};
  dorm_status st = dorm_get_item(f->c, &in, &f->a, &item);
  if (st == DORM_ERR_NOT_FOUND) return (dorm_av){.type = DORM_AV_INVALID};
  if (st != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
  return item;
}

static void raw_put(fx *f, const dorm_av *item) {
  dorm_put_input in = {.table = "vault_models", .item = item};
  if (dorm_put_item(f->c, &in, &f->a, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(f->c));
}

static bool has_bytes(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return true;
  return false;
}

/* An envelope: a map of exactly v, edk, nonce (12 bytes), ct (> tag). */
static void is_envelope(const dorm_av *env) {
  assert_non_null(env);
  assert_int_equal(env->type, DORM_AV_M);
  assert_int_equal(env->u.map.count, 4);
  const dorm_av *v = dorm_av_map_get(env, "v"), *nonce = dorm_av_map_get(env, "nonce"),
                *edk = dorm_av_map_get(env, "edk"), *ct = dorm_av_map_get(env, "ct");
  assert_true(v && v->type == DORM_AV_N && v->u.s.len == 1 && v->u.s.ptr[0] == '1');
  assert_true(nonce && nonce->type == DORM_AV_B && nonce->u.s.len == 12);
  assert_true(edk && edk->type == DORM_AV_B && edk->u.s.len > 0);
  assert_true(ct && ct->type == DORM_AV_B && ct->u.s.len > 16);
}

/* ---- no KMS: nothing is written, nothing is read ---- */

static void no_kms_fails_closed(void **state) {
  fx *f = *state;
  const char *owner = id("nokms");
  vault_Account o = account(owner, "a1", "bank-nokms");
  assert_int_equal(vault_Account_put(f->c, &o, NULL, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "Account.card is @encrypted"));
  assert_int_equal(vault_Account_batch_put(f->c, &o, 1, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  dorm_tx tx;
  dorm_tx_init(&tx, &f->a);
  assert_int_equal(vault_Account_tx_put(&tx, &o, NULL), 0);
  assert_int_equal(dorm_tx_commit(f->c, &tx, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  dorm_model_update u;
  vault_Account_update_begin(&u, &f->a);
  assert_int_equal(vault_Account_set_pin(&u, "1234"), DORM_OK);
  vault_Account_key key = {owner, "a1"};
  assert_int_equal(vault_Account_update(f->c, &key, &u, NULL, &f->a, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  /* nothing reached the table */
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  assert_int_equal(raw_item(f, pk, "ACCOUNT#a1").type, DORM_AV_INVALID);
  vault_Account got;
  assert_int_equal(vault_Account_get(f->c, &key, NULL, &f->a, &got), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  vault_Account_page page;
  assert_int_equal(vault_Account_query(f->c, owner, NULL, NULL, &f->a, &page), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  /* the pure conversions fail closed too */
  dorm_av item;
  char err[256];
  assert_int_equal(vault_Account_to_item(&o, &f->a, &item, err, sizeof err), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  /* a model without a schema key, and no DORM_KMS_KEY_ID: no context */
  unsetenv("DORM_KMS_KEY_ID");
  dorm_crypt_opts none = {.kms_endpoint_url = fas_url(f->kms.srv)};
  assert_int_equal(dorm_crypt_enable(f->c, &vault_Note_desc, &none), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  assert_null(dorm_client_crypt(f->c));
  assert_int_equal(f->kms.requests, 0);
}

/* ---- a context for another KMS key ----
 * Account's schema names alias/test. A client whose context uses another
 * key (made for Note, whose key is configured at run time, or by
 * dorm_crypt_new) sealed Account's fields under that key without a word:
 * readable by that key's users, not by alias/test's. Refused now, before
 * anything is sent; the same key under another id (its ARN, given to
 * dorm_crypt_enable with Account's descriptor) still serves Account. */
static void context_for_another_key_refused(void **state) {
  fx *f = *state;
  const char *owner = id("otherkey");
  vault_Account o = account(owner, "a1", "bank-otherkey");
  vault_Account_key key = {owner, "a1"};
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  dorm_crypt_opts other = {.kms_endpoint_url = fas_url(f->kms.srv), .kms_key_id = "alias/other"};
  CHECK(f, dorm_crypt_enable(f->c, &vault_Note_desc, &other));
  assert_int_equal(vault_Account_put(f->c, &o, NULL, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "Account's @encrypted fields use the KMS key alias/test"));
  assert_non_null(strstr(dorm_client_errmsg(f->c), "uses alias/other"));
  assert_int_equal(vault_Account_batch_put(f->c, &o, 1, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  dorm_tx tx;
  dorm_tx_init(&tx, &f->a);
  assert_int_equal(vault_Account_tx_put(&tx, &o, NULL), 0);
  assert_int_equal(dorm_tx_commit(f->c, &tx, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  assert_int_equal(raw_item(f, pk, "ACCOUNT#a1").type, DORM_AV_INVALID);
  assert_int_equal(f->kms.generate, 0);
  /* Note (no schema key) is served by it */
  vault_Note n = {.owner = owner, .noteId = "n1", .body = "note under alias/other", .title = "t"};
  CHECK(f, vault_Note_put(f->c, &n, NULL, NULL));
  /* a context made by dorm_crypt_new for another key: the same */
  dorm_crypt *k;
  CHECK(f, dorm_crypt_new(f->c, &other, &k));
  CHECK(f, dorm_client_set_crypt(f->c, k));
  assert_int_equal(vault_Account_put(f->c, &o, NULL, NULL), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  vault_Account got;
  assert_int_equal(vault_Account_get(f->c, &key, NULL, &f->a, &got), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);
  /* alias/test's ARN for Account: written and read */
  dorm_crypt_opts arn = {.kms_endpoint_url = fas_url(f->kms.srv), .kms_key_id = FAKE_KMS_KEY_ARN};
  CHECK(f, dorm_crypt_enable(f->c, &vault_Account_desc, &arn));
  CHECK(f, vault_Account_put(f->c, &o, NULL, NULL));
  CHECK(f, vault_Account_get(f->c, &key, NULL, &f->a, &got));
  assert_string_equal(got.pin, "0000-secret-pin");
  /* and a client enabled for Account reads it */
  dorm_client_set_crypt(f->c, NULL);
  enable(f, true);
  CHECK(f, vault_Account_get(f->c, &key, NULL, &f->a, &got));
  assert_string_equal(got.card.number, "4111 1111 1111 1111");
}

/* ---- put / get, and what DynamoDB stores ---- */

static void put_get_round_trip(void **state) {
  fx *f = *state;
  enable(f, false);
  const char *owner = id("rt");
  vault_Account o = account(owner, "a1", "bank-rt");
  CHECK(f, vault_Account_create(f->c, &o, NULL, NULL));
  vault_Account_key key = {owner, "a1"};
  vault_Account got;
  CHECK(f, vault_Account_get(f->c, &key, &(dorm_get_opts){.consistent_read = true}, &f->a, &got));
  same_account(&o, &got);
  assert_int_equal(got.version, 0);

  /* stored: envelopes where the fields are encrypted, nothing of their plaintext */
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  dorm_av item = raw_item(f, pk, "ACCOUNT#a1");
  static const char *const enc[] = {"card", "pin", "balance", "limits", "risk", "notes", "opened", "blob", "flags"};
  for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++) is_envelope(dorm_av_map_get(&item, enc[i]));
  assert_int_equal(dorm_av_map_get(&item, "visits")->type, DORM_AV_N);
  assert_int_equal(dorm_av_map_get(&item, "bank")->type, DORM_AV_S);
  assert_int_equal(dorm_av_map_get(&item, "tags")->type, DORM_AV_SS);
  const char *json = NULL;
  size_t len = 0;
  char jerr[128];
  assert_int_equal(dorm_item_to_json(&item, &f->a, 0, &json, &len, jerr, sizeof jerr), DORM_OK);
  assert_false(has_bytes(json, len, "4111"));
  assert_false(has_bytes(json, len, "secret-pin"));
  assert_false(has_bytes(json, len, "1234.50"));
  assert_false(has_bytes(json, len, "HIGH"));
  assert_true(has_bytes(json, len, "bank-rt"));
  /* one data key for all nine values, and the reads used the keys it made */
  assert_int_equal(f->kms.generate, 1);
  assert_int_equal(f->kms.decrypt, 0);

  /* a failed create hands back the stored item, opened */
  vault_Account old;
  bool old_found = false;
  dorm_write_opts wo = {.old_out = &old, .old_found = &old_found};
  assert_int_equal(vault_Account_create(f->c, &o, &wo, &f->a), DORM_ERR_CONDITION_FAILED);
  assert_true(old_found);
  same_account(&o, &old);

  /* a stream record's image: through the client's context */
  vault_Account img;
  CHECK(f, dorm_crypt_model_from_av(f->c, &vault_Account_desc, &item, 0, &f->a, &img));
  same_account(&o, &img);
  char err[256];
  assert_int_equal(vault_Account_from_item(&item, 0, &f->a, &img, err, sizeof err), DORM_ERR_ENCRYPTION_NOT_CONFIGURED);

  /* the other model, its key from configuration at run time */
  vault_Note n = {.owner = owner, .noteId = "n1", .body = "dear diary", .title = "t"};
  assert_int_equal(vault_Note_put(f->c, &n, NULL, NULL), DORM_OK); /* the client's context serves every model */
  vault_Note nb;
  CHECK(f, vault_Note_get(f->c, &(vault_Note_key){owner, "n1"}, NULL, &f->a, &nb));
  assert_string_equal(nb.body, "dear diary");
  dorm_av note = raw_item(f, pk, "NOTE#n1");
  is_envelope(dorm_av_map_get(&note, "body"));
}

/* ---- query, scan, batch, transactions ---- */

typedef struct seen {
  size_t n;
  bool bad;
} seen;

static dorm_status count_items(void *user, const vault_Account *items, size_t count) {
  seen *s = user;
  for (size_t i = 0; i < count; i++)
    if (strcmp(items[i].card.number, "4111 1111 1111 1111") != 0 || strcmp(items[i].pin, "0000-secret-pin") != 0)
      s->bad = true;
  s->n += count;
  return DORM_OK;
}

static dorm_status count_cards(void *user, const vault_Account *items, size_t count) {
  seen *s = user;
  for (size_t i = 0; i < count; i++)
    if (strcmp(items[i].card.number, "4111 1111 1111 1111") != 0 || !items[i].pin) s->bad = true;
  s->n += count;
  return DORM_OK;
}

static void query_scan_batch_tx(void **state) {
  fx *f = *state;
  enable(f, false);
  const char *owner = id("q");
  const char *bank = id("bank-q");
  enum { N = 12 };
  vault_Account objs[N];
  char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "a%02d", i);
    objs[i] = account(owner, names[i], bank);
  }
  CHECK(f, vault_Account_batch_put(f->c, objs, N, NULL));
  vault_Account_page page;
  CHECK(f, vault_Account_query(f->c, owner, NULL, &(dorm_query_opts){.consistent_read = true}, &f->a, &page));
  assert_int_equal(page.count, N);
  for (size_t i = 0; i < page.count; i++) same_account(&objs[i], &page.items[i]);
  CHECK(f, vault_Account_query_by_bank(f->c, bank, NULL, NULL, &f->a, &page));
  assert_int_equal(page.count, N);
  assert_string_equal(page.items[3].card.number, "4111 1111 1111 1111");
  seen s = {0, false};
  CHECK(f, vault_Account_query_each(f->c, owner, NULL, &(dorm_query_opts){.limit = 5}, count_items, &s));
  assert_int_equal(s.n, N);
  assert_false(s.bad);

  vault_Account_key keys[3] = {{owner, "a01"}, {owner, "a07"}, {owner, "zz"}};
  vault_Account out[3];
  bool found[3];
  CHECK(f, vault_Account_batch_get(f->c, keys, 3, true, &f->a, out, found));
  assert_true(found[0] && found[1] && !found[2]);
  same_account(&objs[7], &out[1]);

  /* a transaction: a put and an update of an encrypted field */
  dorm_tx tx;
  dorm_tx_init(&tx, &f->a);
  vault_Account extra = account(owner, "tx1", bank);
  extra.pin = "tx-pin";
  assert_int_equal(vault_Account_tx_create(&tx, &extra, NULL), 0);
  dorm_model_update u;
  vault_Account_update_begin(&u, &f->a);
  CHECK(f, vault_Account_set_pin(&u, "changed-in-tx"));
  assert_int_equal(vault_Account_tx_update(&tx, &keys[0], &u, NULL), 1);
  CHECK(f, dorm_tx_commit(f->c, &tx, NULL));
  vault_Account got;
  CHECK(f, vault_Account_get(f->c, &(vault_Account_key){owner, "tx1"}, NULL, &f->a, &got));
  assert_string_equal(got.pin, "tx-pin");
  CHECK(f, vault_Account_get(f->c, &keys[0], NULL, &f->a, &got));
  assert_string_equal(got.pin, "changed-in-tx");
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  dorm_av item = raw_item(f, pk, "ACCOUNT#a00");
  is_envelope(dorm_av_map_get(&item, "pin"));
  item = raw_item(f, pk, "ACCOUNT#tx1");
  is_envelope(dorm_av_map_get(&item, "card"));

  /* a parallel scan (pages handed over one at a time) */
  seen ps = {0, false};
  char filter_owner[128];
  snprintf(filter_owner, sizeof filter_owner, "%s", owner);
  dorm_expr fx_;
  dorm_expr_init(&fx_, &f->a);
  dorm_query_opts so = {.expr = &fx_, .filter = vault_Account_cond_owner(&fx_, DORM_EQ, filter_owner)};
  CHECK(f, vault_Account_scan_parallel(f->c, &so, 3, 2, count_cards, &ps));
  assert_int_equal(ps.n, N + 1);
  assert_false(ps.bad);

  /* scan through a fresh context: one Decrypt per data key the writes used */
  int generated = f->kms.generate;
  assert_true(generated >= 1 && generated <= 3); /* 13 items x 9 values + 1 in batches of 100 */
  assert_int_equal(f->kms.decrypt, 0);
  enable(f, false); /* replaces (and frees) the writer's context */
  s = (seen){0, false};
  CHECK(f, vault_Account_query_each(f->c, owner, NULL, NULL, count_items, &s));
  assert_int_equal(s.n, N + 1);
  assert_int_equal(f->kms.decrypt, generated);
  dorm_crypt_stats st;
  dorm_crypt_get_stats(dorm_client_crypt(f->c), &st);
  assert_int_equal(st.kms_decrypt, (uint64_t)generated);
  assert_true(st.cache_hits >= (N + 1) * 9 - (uint64_t)generated);
}

/* ---- updates ---- */

static void updates(void **state) {
  fx *f = *state;
  enable(f, false);
  const char *owner = id("up");
  vault_Account o = account(owner, "a1", "bank-up");
  CHECK(f, vault_Account_put(f->c, &o, NULL, NULL));
  vault_Account_key key = {owner, "a1"};
  dorm_model_update u;
  vault_Account_update_begin(&u, &f->a);
  vault_Card card = {.number = "5555 4444 3333 1111", .expiry = "01/31"};
  CHECK(f, vault_Account_set_card(&u, &card));
  CHECK(f, vault_Account_remove_pin(&u));
  CHECK(f, vault_Account_set_default_balance(&u, "99.00")); /* exists: stays 1234.50 */
  CHECK(f, vault_Account_add_visits(&u, 2));
  vault_Account after;
  dorm_update_opts uo = {.w = {.check_version = true, .expected_version = 0}, .return_new = true};
  CHECK(f, vault_Account_update(f->c, &key, &u, &uo, &f->a, &after));
  assert_string_equal(after.card.number, "5555 4444 3333 1111");
  assert_false(after.card.has_cvv);
  assert_null(after.pin);
  assert_string_equal(after.balance, "1234.50");
  assert_int_equal(after.visits, 5);
  assert_int_equal(after.version, 1);
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  dorm_av item = raw_item(f, pk, "ACCOUNT#a1");
  is_envelope(dorm_av_map_get(&item, "card"));
  assert_null(dorm_av_map_get(&item, "pin"));

  /* update_fields (DynamORM's Update(fields...)) */
  after.pin = "new-pin";
  after.balance = "0.01";
  vault_Account_field fields[] = {vault_Account_f_pin, vault_Account_f_balance};
  CHECK(f, vault_Account_update_fields(f->c, &after, fields, 2, NULL, NULL));
  vault_Account got;
  CHECK(f, vault_Account_get(f->c, &key, &(dorm_get_opts){.consistent_read = true}, &f->a, &got));
  assert_string_equal(got.pin, "new-pin");
  assert_string_equal(got.balance, "0.01");
  assert_int_equal(got.version, 2);
  item = raw_item(f, pk, "ACCOUNT#a1");
  is_envelope(dorm_av_map_get(&item, "pin"));

  /* misuse the generated API does not offer: refused at run time too */
  dorm_model_update bad;
  vault_Account_update_begin(&bad, &f->a);
  vault_list_int more = {(int64_t *)limits_v, 1};
  assert_int_equal(dorm_model_update_append(&bad, vault_Account_f_limits, &more), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(bad.err, "Account.limits is @encrypted"));
  dorm_expr x;
  dorm_expr_init(&x, &f->a);
  const char *pin = "new-pin";
  assert_null(dorm_model_cond_cmp(&x, &vault_Account_desc, vault_Account_f_pin, DORM_EQ, &pin));
  assert_int_equal(dorm_expr_status(&x), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(dorm_expr_errmsg(&x), "@encrypted"));
  dorm_expr_init(&x, &f->a);
  assert_non_null(dorm_model_cond_exists(&x, &vault_Account_desc, vault_Account_f_pin));
}

/* ---- tampering ---- */

static void tampered_envelopes_fail(void **state) {
  fx *f = *state;
  enable(f, false);
  const char *owner = id("tamper");
  vault_Account o = account(owner, "a1", "bank-t");
  CHECK(f, vault_Account_put(f->c, &o, NULL, NULL));
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  vault_Account_key key = {owner, "a1"};
  vault_Account got;
  static const char *const parts[] = {"ct", "nonce", "edk"};
  for (size_t p = 0; p < 3; p++) {
    dorm_av item = raw_item(f, pk, "ACCOUNT#a1");
    dorm_av *env = (dorm_av *)dorm_av_map_get(&item, "pin");
    dorm_av *part = (dorm_av *)dorm_av_map_get(env, parts[p]);
    char *bytes = dorm_arena_memdup(&f->a, part->u.s.ptr, part->u.s.len);
    bytes[part->u.s.len - 1] ^= 0x01; /* the tag's last byte, the nonce's, the blob's */
    part->u.s.ptr = bytes;
    dorm_av saved = *env;
    raw_put(f, &item);
    assert_int_equal(vault_Account_get(f->c, &key, NULL, &f->a, &got), DORM_ERR_BAD_ENVELOPE);
    assert_non_null(strstr(dorm_client_errmsg(f->c), "Account.pin"));
    /* restore */
    bytes[part->u.s.len - 1] ^= 0x01;
    *env = saved;
    raw_put(f, &item);
    CHECK(f, vault_Account_get(f->c, &key, NULL, &f->a, &got));
  }
  /* the pin's envelope stored as the balance: bound to "pin", it does not open as "balance" */
  dorm_av item = raw_item(f, pk, "ACCOUNT#a1");
  *(dorm_av *)dorm_av_map_get(&item, "balance") = *dorm_av_map_get(&item, "pin");
  raw_put(f, &item);
  assert_int_equal(vault_Account_get(f->c, &key, NULL, &f->a, &got), DORM_ERR_BAD_ENVELOPE);
  assert_non_null(strstr(dorm_client_errmsg(f->c), "Account.balance"));
  /* plaintext where an envelope belongs */
  *(dorm_av *)dorm_av_map_get(&item, "balance") = dorm_av_num("5");
  raw_put(f, &item);
  assert_int_equal(vault_Account_get(f->c, &key, NULL, &f->a, &got), DORM_ERR_BAD_ENVELOPE);
  vault_Account_page page;
  assert_int_equal(vault_Account_query(f->c, owner, NULL, NULL, &f->a, &page), DORM_ERR_BAD_ENVELOPE);
}

/* ---- DynamORM's envelopes, made by hand ---- */

/* AES-256-GCM as DynamORM seals a value: AAD "dynamorm:encrypted:v1|attr=<attr>",
 * ct = ciphertext || 16-byte tag. */
static dorm_av dynamorm_envelope(fx *f, const uint8_t key[32], dorm_str edk, const char *attr, const char *plain) {
  uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  char aad[128];
  int aad_len = snprintf(aad, sizeof aad, "dynamorm:encrypted:v1|attr=%s", attr);
  size_t n = strlen(plain);
  uint8_t *ct = dorm_arena_alloc(&f->a, n + 16);
  EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
  int len = 0, fin = 0;
  assert_int_equal(EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, key, nonce), 1);
  assert_int_equal(EVP_EncryptUpdate(cx, NULL, &len, (const uint8_t *)aad, aad_len), 1);
  assert_int_equal(EVP_EncryptUpdate(cx, ct, &len, (const uint8_t *)plain, (int)n), 1);
  assert_int_equal(EVP_EncryptFinal_ex(cx, ct + len, &fin), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, 16, ct + n), 1);
  EVP_CIPHER_CTX_free(cx);
  dorm_av env = {.type = DORM_AV_M};
  *dorm_av_map_add(&f->a, &env, "v", 1) = dorm_av_num("1");
  *dorm_av_map_add(&f->a, &env, "edk", 3) = dorm_av_bytes((const uint8_t *)edk.ptr, edk.len);
  *dorm_av_map_add(&f->a, &env, "nonce", 5) = dorm_av_bytes(dorm_arena_memdup(&f->a, nonce, 12), 12);
  *dorm_av_map_add(&f->a, &env, "ct", 2) = dorm_av_bytes(ct, n + 16);
  return env;
}

/* A value that decrypts but does not fit its field (another SDK wrote an
 * enum member this schema lacks, a number past int64, text that is no
 * time) fails the read; the message said the value ("\"SECRET-LEVEL\" is
 * not a value of enum Risk"), putting the plaintext of an @encrypted field
 * into error messages and logs. It names the field and the kind now. */
static void decrypted_mismatch_not_shown(void **state) {
  fx *f = *state;
  enable(f, false);
  const char *owner = id("mismatch");
  vault_Account o = account(owner, "a1", "bank-m");
  CHECK(f, vault_Account_put(f->c, &o, NULL, NULL));
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  vault_Account_key key = {owner, "a1"};
  static const struct {
    const char *attr, *field;
    dorm_av value;
  } bad[] = {
      {"risk", "Account.risk", {.type = DORM_AV_S, .u.s = {"SECRET-LEVEL", 12}}},
      {"opened", "Account.opened", {.type = DORM_AV_S, .u.s = {"SECRET-TIME", 11}}},
      {"limits", "Account.limits", {.type = DORM_AV_S, .u.s = {"SECRET-LIST", 11}}},
      {"limits", "Account.limits", {.type = DORM_AV_L}}, /* [N "99999999999999999999"] below */
  };
  dorm_av big = {.type = DORM_AV_L};
  *dorm_av_list_push(&f->a, &big) = dorm_av_num("99999999999999999999");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dorm_av item = raw_item(f, pk, "ACCOUNT#a1"), env;
    const dorm_av *value = i == 3 ? &big : &bad[i].value;
    CHECK(f, dorm_crypt_encrypt(dorm_client_crypt(f->c), bad[i].attr, value, &f->a, &env));
    dorm_av saved = *dorm_av_map_get(&item, bad[i].attr);
    *(dorm_av *)dorm_av_map_get(&item, bad[i].attr) = env;
    raw_put(f, &item);
    vault_Account got;
    dorm_status st = vault_Account_get(f->c, &key, NULL, &f->a, &got);
    const char *msg = dorm_client_errmsg(f->c);
    if (st == DORM_OK || strstr(msg, "SECRET") || strstr(msg, "99999") || !strstr(msg, bad[i].field) ||
        !strstr(msg, "not shown"))
      fail_msg("%s: %s: %s", bad[i].attr, dorm_strerror(st), msg);
    vault_Account_page page;
    assert_int_not_equal(vault_Account_query(f->c, owner, NULL, NULL, &f->a, &page), DORM_OK);
    assert_null(strstr(dorm_client_errmsg(f->c), "SECRET"));
    *(dorm_av *)dorm_av_map_get(&item, bad[i].attr) = saved;
    raw_put(f, &item);
  }
  vault_Account got;
  CHECK(f, vault_Account_get(f->c, &key, NULL, &f->a, &got));
  /* writing: an invalid value of an @encrypted field is refused without it */
  o.balance = "12,50-SECRET";
  assert_int_equal(vault_Account_put(f->c, &o, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_null(strstr(dorm_client_errmsg(f->c), "SECRET"));
  assert_non_null(strstr(dorm_client_errmsg(f->c), "Account.balance"));
  assert_int_equal(vault_Account_batch_put(f->c, &o, 1, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_null(strstr(dorm_client_errmsg(f->c), "SECRET"));
  dorm_tx tx;
  dorm_tx_init(&tx, &f->a);
  vault_Account_tx_put(&tx, &o, NULL);
  assert_int_equal(dorm_tx_commit(f->c, &tx, NULL), DORM_ERR_INVALID_ARGUMENT);
  if (strstr(dorm_client_errmsg(f->c), "SECRET")) fail_msg("tx: %s", dorm_client_errmsg(f->c));
  dorm_model_update u;
  vault_Account_update_begin(&u, &f->a);
  vault_Account_set_balance(&u, "12,50-SECRET");
  assert_int_equal(vault_Account_update(f->c, &key, &u, NULL, &f->a, NULL), DORM_ERR_INVALID_ARGUMENT);
  if (strstr(dorm_client_errmsg(f->c), "SECRET") || !strstr(dorm_client_errmsg(f->c), "Account.balance"))
    fail_msg("update: %s", dorm_client_errmsg(f->c));
  CHECK(f, vault_Account_get(f->c, &key, NULL, &f->a, &got));
  assert_string_equal(got.balance, "1234.50");
}

static void dynamorm_fixture_reads(void **state) {
  fx *f = *state;
  enable(f, false);
  /* a data key from KMS, as DynamORM's writer gets one */
  char ep[256];
  assert_true(dorm__kms_endpoint(f->c, fas_url(f->kms.srv), ep, sizeof ep));
  uint8_t key[32];
  dorm_str edk;
  CHECK(f, dorm__kms_generate_data_key(f->c, ep, "alias/test", key, &f->a, &edk));
  const char *owner = id("fixture");
  char pk[128];
  snprintf(pk, sizeof pk, "OWNER#%s", owner);
  dorm_av item = {.type = DORM_AV_M};
  *dorm_av_map_add(&f->a, &item, "PK", 2) = dorm_av_str(pk);
  *dorm_av_map_add(&f->a, &item, "SK", 2) = dorm_av_str("NOTE#n1");
  *dorm_av_map_add(&f->a, &item, "_type", 5) = dorm_av_str("Note");
  *dorm_av_map_add(&f->a, &item, "owner", 5) = dorm_av_str(owner);
  *dorm_av_map_add(&f->a, &item, "noteId", 6) = dorm_av_str("n1");
  *dorm_av_map_add(&f->a, &item, "title", 5) = dorm_av_str("from Go");
  *dorm_av_map_add(&f->a, &item, "body", 4) =
      dynamorm_envelope(f, key, edk, "body", "{\"t\":\"S\",\"s\":\"written by DynamORM \\u00e9\"}");
  raw_put(f, &item);
  /* an Account whose card DynamORM wrote: M of S and N inside */
  dorm_av acct = {.type = DORM_AV_M};
  *dorm_av_map_add(&f->a, &acct, "PK", 2) = dorm_av_str(pk);
  *dorm_av_map_add(&f->a, &acct, "SK", 2) = dorm_av_str("ACCOUNT#g1");
  *dorm_av_map_add(&f->a, &acct, "_type", 5) = dorm_av_str("Account");
  *dorm_av_map_add(&f->a, &acct, "owner", 5) = dorm_av_str(owner);
  *dorm_av_map_add(&f->a, &acct, "accountId", 9) = dorm_av_str("g1");
  *dorm_av_map_add(&f->a, &acct, "bank", 4) = dorm_av_str("b");
  *dorm_av_map_add(&f->a, &acct, "visits", 6) = dorm_av_num("1");
  *dorm_av_map_add(&f->a, &acct, "updatedAt", 9) = dorm_av_str("2026-01-02T03:04:05Z");
  *dorm_av_map_add(&f->a, &acct, "version", 7) = dorm_av_num("4");
  *dorm_av_map_add(&f->a, &acct, "card", 4) = dynamorm_envelope(
      f, key, edk, "card",
      "{\"t\":\"M\",\"m\":{\"cvv\":{\"t\":\"N\",\"n\":\"123\"},\"expiry\":{\"t\":\"S\",\"s\":\"02/30\"},"
      "\"number\":{\"t\":\"S\",\"s\":\"6011\"}}}");
  *dorm_av_map_add(&f->a, &acct, "balance", 7) = dynamorm_envelope(f, key, edk, "balance", "{\"t\":\"N\",\"n\":\"7.25\"}");
  raw_put(f, &acct);
  memset(key, 0, sizeof key);
  int before = f->kms.decrypt;
  vault_Note n;
  CHECK(f, vault_Note_get(f->c, &(vault_Note_key){owner, "n1"}, NULL, &f->a, &n));
  assert_string_equal(n.body, "written by DynamORM \xc3\xa9");
  vault_Account a;
  CHECK(f, vault_Account_get(f->c, &(vault_Account_key){owner, "g1"}, NULL, &f->a, &a));
  assert_string_equal(a.card.number, "6011");
  assert_string_equal(a.card.expiry, "02/30");
  assert_true(a.card.has_cvv && a.card.cvv == 123);
  assert_string_equal(a.balance, "7.25");
  assert_int_equal(a.version, 4);
  assert_int_equal(f->kms.decrypt - before, 1); /* three values, one data key */
}

/* ---- data-key reuse through the generated path ---- */

static void cache_reuse_and_no_cache(void **state) {
  fx *f = *state;
  const char *owner = id("cache");
  vault_Note notes[20];
  char ids[20][8];
  for (int mode = 0; mode < 2; mode++) {
    enable(f, mode == 1);
    int g0 = f->kms.generate, d0 = f->kms.decrypt;
    for (int i = 0; i < 20; i++) {
      snprintf(ids[i], sizeof ids[i], "c%d", i);
      notes[i] = (vault_Note){.owner = owner, .noteId = ids[i], .body = "cached?", .title = "x"};
      CHECK(f, vault_Note_put(f->c, &notes[i], NULL, NULL));
    }
    enable(f, mode == 1); /* a fresh reader */
    vault_Note_page page;
    CHECK(f, vault_Note_query(f->c, owner, NULL, &(dorm_query_opts){.consistent_read = true}, &f->a, &page));
    assert_int_equal(page.count, 20);
    for (size_t i = 0; i < page.count; i++) assert_string_equal(page.items[i].body, "cached?");
    if (mode == 0) {
      assert_int_equal(f->kms.generate - g0, 1);
      assert_int_equal(f->kms.decrypt - d0, 1);
    } else { /* DynamORM's behaviour: a data key per value, a Decrypt per read */
      assert_int_equal(f->kms.generate - g0, 20);
      assert_int_equal(f->kms.decrypt - d0, 20);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(no_kms_fails_closed, setup, teardown),
      cmocka_unit_test_setup_teardown(context_for_another_key_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(put_get_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(query_scan_batch_tx, setup, teardown),
      cmocka_unit_test_setup_teardown(updates, setup, teardown),
      cmocka_unit_test_setup_teardown(tampered_envelopes_fail, setup, teardown),
      cmocka_unit_test_setup_teardown(decrypted_mismatch_not_shown, setup, teardown),
      cmocka_unit_test_setup_teardown(dynamorm_fixture_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(cache_reuse_and_no_cache, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
