/* crypt_bench: encrypted attributes (issue 15), N writes then N reads of
 * items with one encrypted attribute, through DynamoDB (Local) and a
 * loopback KMS (tests/runtime/aws/fake_kms.c), with dorm_crypt's data-key
 * caching and without it (DynamORM's behaviour: GenerateDataKey per write,
 * Decrypt per read). Reads use a fresh context, as another process would.
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
  printf("%-26s %10s %10s %12s %12s %10s\n", "mode", "writes/s", "reads/s", "GenerateKey", "Decrypt", "KMS/item");
  run runs[2];
  for (int m = 0; m < 2; m++) {
    bool cache = m == 0;
    runs[m] = one_mode(c, &kms, table, n, cache);
    printf("%-26s %10.0f %10.0f %12d %12d %10.4f\n",
           cache ? "dorm_crypt (cache 100/60s)" : "no_cache (DynamORM)", n / runs[m].write_s, n / runs[m].read_s,
           runs[m].generate, runs[m].decrypt, (double)(runs[m].generate + runs[m].decrypt) / (2.0 * n));
  }
  printf("KMS requests saved by caching: %d of %d (%.1f%%)\n",
         (runs[1].generate + runs[1].decrypt) - (runs[0].generate + runs[0].decrypt), runs[1].generate + runs[1].decrypt,
         100.0 * (1.0 - (double)(runs[0].generate + runs[0].decrypt) / (runs[1].generate + runs[1].decrypt)));
  if (kms.bad[0]) fprintf(stderr, "crypt_bench: the loopback KMS saw a bad request: %s\n", kms.bad);
  dorm_delete_table(c, table, NULL, NULL);
  dorm_client_free(c);
  fake_kms_stop(&kms);
  return kms.bad[0] ? 1 : 0;
}
