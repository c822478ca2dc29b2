/* crypt_bench: encrypted attributes (issue 15), N writes then N reads of
 * items with one encrypted attribute, through DynamoDB (Local) and a
 * loopback KMS (tests/runtime/aws/fake_kms.c), with dorm_crypt's data-key
 * caching and without it (DynamORM's behaviour: GenerateDataKey per write,
 * Decrypt per read). Reads use a fresh context, as another process would.
 * Then the same through generated code (bench/crypt_bench.dorm: cb_Secret_put,
 * cb_Secret_get with the client's dorm_crypt, dorm_crypt_enable).
 * Prints KMS calls and rates; the loopback KMS answers in well under a
 * millisecond, so on AWS (a KMS round trip of milliseconds, and KMS's price
 * per request) the difference is larger than the rates show.
 *
 *   crypt_bench --endpoint http://127.0.0.1:8000 [--n 10000]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypt_bench_models.h"
#include "dorm/crypt.h"
#include "dorm/dorm.h"
#include "fake_kms.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(dorm_client *c, const char *what) {
  fprintf(stderr, "crypt_bench: %s: %s\n", what, c ? dorm_client_errmsg(c) : "");
  exit(1);
}

typedef struct run {
  double write_s, read_s;
  int generate, decrypt;
} run;

static run one_mode(dorm_client *c, fake_kms *kms, const char *table, int n, bool cache) {
  run r = {0};
  int g0 = kms->generate, d0 = kms->decrypt;
  dorm_crypt_opts o = {.kms_key_id = "alias/test", .kms_endpoint_url = fas_url(kms->srv), .no_cache = !cache};
  dorm_crypt *k = NULL;
  if (dorm_crypt_new(c, &o, &k) != DORM_OK) die(c, "dorm_crypt_new");
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char id[32], secret[128];
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    dorm_arena_reset(&a);
    snprintf(id, sizeof id, "%s-%d", cache ? "c" : "n", i);
    snprintf(secret, sizeof secret, "4111-1111-1111-%04d customer note number %d, kept secret", i % 10000, i);
    dorm_av v = dorm_av_str(secret), env, item = {.type = DORM_AV_M};
    if (dorm_crypt_encrypt(k, "secret", &v, &a, &env) != DORM_OK) die(c, "encrypt");
    *dorm_av_map_add(&a, &item, "id", 2) = dorm_av_str(id);
    *dorm_av_map_add(&a, &item, "secret", 6) = env;
    dorm_put_input in = {.table = table, .item = &item};
    if (dorm_put_item(c, &in, &a, NULL) != DORM_OK) die(c, "PutItem");
  }
  r.write_s = now_s() - t0;
  dorm_crypt_free(k);
  if (dorm_crypt_new(c, &o, &k) != DORM_OK) die(c, "dorm_crypt_new");
  t0 = now_s();
  for (int i = 0; i < n; i++) {
    dorm_arena_reset(&a);
    snprintf(id, sizeof id, "%s-%d", cache ? "c" : "n", i);
    dorm_av key = {.type = DORM_AV_M}, item, out;
    *dorm_av_map_add(&a, &key, "id", 2) = dorm_av_str(id);
    dorm_get_input in = {.table = table, .key = &key};
    if (dorm_get_item(c, &in, &a, &item) != DORM_OK) die(c, "GetItem");
    const dorm_av *env = dorm_av_map_getn(&item, "secret", 6);
    if (dorm_crypt_decrypt(k, "secret", env, &a, &out) != DORM_OK) die(c, "decrypt");
    if (out.type != DORM_AV_S || out.u.s.len < 14 || memcmp(out.u.s.ptr, "4111-1111-1111", 14) != 0) {
      fprintf(stderr, "crypt_bench: item %s read back wrong\n", id);
      exit(1);
    }
  }
  r.read_s = now_s() - t0;
  dorm_crypt_free(k);
  dorm_arena_free(&a);
  r.generate = kms->generate - g0;
  r.decrypt = kms->decrypt - d0;
  return r;
}

/* N cb_Secret_put then N cb_Secret_get (a fresh context for the reads). */
static run generated_mode(dorm_client *c, fake_kms *kms, int n, bool cache) {
  run r = {0};
  int g0 = kms->generate, d0 = kms->decrypt;
  dorm_crypt_opts o = {.kms_endpoint_url = fas_url(kms->srv), .no_cache = !cache}; /* the schema's key */
  if (dorm_crypt_enable(c, &cb_Secret_desc, &o) != DORM_OK) die(c, "dorm_crypt_enable");
  dorm_arena a;
  dorm_arena_init(&a, 0);
  char id[32], secret[128];
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "%s-%d", cache ? "gc" : "gn", i);
    snprintf(secret, sizeof secret, "4111-1111-1111-%04d customer note number %d, kept secret", i % 10000, i);
    cb_Secret s = {.id = id, .secret = secret, .label = "bench"};
    if (cb_Secret_put(c, &s, NULL, NULL) != DORM_OK) die(c, "cb_Secret_put");
  }
  r.write_s = now_s() - t0;
  if (dorm_crypt_enable(c, &cb_Secret_desc, &o) != DORM_OK) die(c, "dorm_crypt_enable");
  t0 = now_s();
  for (int i = 0; i < n; i++) {
    dorm_arena_reset(&a);
    snprintf(id, sizeof id, "%s-%d", cache ? "gc" : "gn", i);
    cb_Secret out;
    if (cb_Secret_get(c, &(cb_Secret_key){id}, NULL, &a, &out) != DORM_OK) die(c, "cb_Secret_get");
    if (strncmp(out.secret, "4111-1111-1111", 14) != 0) {
      fprintf(stderr, "crypt_bench: item %s read back wrong\n", id);
      exit(1);
    }
  }
  r.read_s = now_s() - t0;
  dorm_client_set_crypt(c, NULL);
  dorm_arena_free(&a);
  r.generate = kms->generate - g0;
  r.decrypt = kms->decrypt - d0;
  return r;
}

static void print_run(const char *mode, const run *r, int n) {
  printf("%-30s %10.0f %10.0f %9.3f %9.3f %12d %12d %10.4f\n", mode, n / r->write_s, n / r->read_s,
         1000.0 * r->write_s / n, 1000.0 * r->read_s / n, r->generate, r->decrypt,
         (double)(r->generate + r->decrypt) / (2.0 * n));
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("DORM_TEST_ENDPOINT");
  int n = 10000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--endpoint") && i + 1 < argc) endpoint = argv[++i];
    else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: crypt_bench --endpoint URL [--n N]\n");
      return 2;
    }
  }
  if (!endpoint || n <= 0) {
    fprintf(stderr, "usage: crypt_bench --endpoint URL [--n N]\n");
    return 2;
  }
  fake_kms kms;
  memset(&kms, 0, sizeof kms);
  snprintf(kms.akid, sizeof kms.akid, "dormbench");
  snprintf(kms.secret, sizeof kms.secret, "dormbenchsecret");
  if (!fake_kms_start(&kms)) {
    fprintf(stderr, "crypt_bench: cannot start the loopback KMS\n");
    return 1;
  }
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormbench";
  cfg.secret_access_key = "dormbenchsecret";
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) {
    fprintf(stderr, "crypt_bench: %s\n", err);
    return 1;
  }
  char table[64];
  snprintf(table, sizeof table, "crypt_bench_%ld", (long)getpid());
  dorm_table_def t = {.name = table, .pk = {"id", DORM_KEY_S}};
  if (dorm_create_table(c, &t, NULL, NULL) != DORM_OK) die(c, "CreateTable");
  if (dorm_wait_table_active(c, table, 60000, NULL, NULL) != DORM_OK) die(c, "table");

  printf("crypt_bench: %d writes then %d reads (fresh context) of items with one encrypted attribute\n", n, n);
  printf("%-30s %10s %10s %9s %9s %12s %12s %10s\n", "mode", "writes/s", "reads/s", "ms/write", "ms/read",
         "GenerateKey", "Decrypt", "KMS/item");
  run runs[2];
  for (int m = 0; m < 2; m++) {
    bool cache = m == 0;
    runs[m] = one_mode(c, &kms, table, n, cache);
    print_run(cache ? "dorm_crypt (cache 100/60s)" : "no_cache (DynamORM)", &runs[m], n);
  }
  printf("KMS requests saved by caching: %d of %d (%.1f%%)\n",
         (runs[1].generate + runs[1].decrypt) - (runs[0].generate + runs[0].decrypt), runs[1].generate + runs[1].decrypt,
         100.0 * (1.0 - (double)(runs[0].generate + runs[0].decrypt) / (runs[1].generate + runs[1].decrypt)));
  if (dorm_model_table_ensure(c, &cb_Secret_table, 60000) != DORM_OK) die(c, "cb table");
  run gen[2];
  for (int m = 0; m < 2; m++) {
    gen[m] = generated_mode(c, &kms, n, m == 0);
    print_run(m == 0 ? "generated, cache 100/60s" : "generated, no_cache", &gen[m], n);
  }
  printf("generated code: KMS requests saved by caching: %d of %d (%.1f%%)\n",
         (gen[1].generate + gen[1].decrypt) - (gen[0].generate + gen[0].decrypt), gen[1].generate + gen[1].decrypt,
         100.0 * (1.0 - (double)(gen[0].generate + gen[0].decrypt) / (gen[1].generate + gen[1].decrypt)));
  dorm_delete_table(c, "crypt_bench_gen", NULL, NULL);
  if (kms.bad[0]) fprintf(stderr, "crypt_bench: the loopback KMS saw a bad request: %s\n", kms.bad);
  dorm_delete_table(c, table, NULL, NULL);
  dorm_client_free(c);
  fake_kms_stop(&kms);
  return kms.bad[0] ? 1 : 0;
}
