#include "it_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "test_ddb.h"
#include "test_support.h"

void it_name(char *buf, size_t cap, const char *prefix) { ts_unique_name(buf, cap, prefix); }

void it_create_table(dorm_client *c, const char *name, const char *pk, dorm_key_type pkt, const char *sk,
                     dorm_key_type skt) {
  dorm_table_def def;
  memset(&def, 0, sizeof def);
  def.name = name;
  def.pk.name = pk;
  def.pk.type = pkt;
  def.sk.name = sk;
  def.sk.type = sk ? skt : DORM_KEY_NONE;
  if (dorm_create_table(c, &def, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(c));
  if (dorm_wait_table_active(c, name, 30000, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(c));
}

void it_drop_table(dorm_client *c, const char *name) {
  dorm_status st = dorm_delete_table(c, name, NULL, NULL);
  if (st == DORM_ERR_TABLE_NOT_FOUND) return;
  if (st != DORM_OK) fail_msg("%s", dorm_client_errmsg(c));
  if (dorm_wait_table_deleted(c, name, 30000) != DORM_OK) fail_msg("%s", dorm_client_errmsg(c));
}

uint64_t it_attempts(dorm_client *c) {
  dorm_client_stats s;
  dorm_client_get_stats(c, &s);
  return s.attempts;
}

uint64_t it_operations(dorm_client *c) {
  dorm_client_stats s;
  dorm_client_get_stats(c, &s);
  return s.operations;
}

dorm_av it_map(void) { return dorm_av_empty(DORM_AV_M); }

void it_set_av(dorm_arena *a, dorm_av *m, const char *name, dorm_av value) {
  char *n = dorm_arena_strdup(a, name);
  assert_non_null(n);
  assert_int_equal(dorm_av_map_set(a, m, n, value), DORM_OK);
}

void it_set_s(dorm_arena *a, dorm_av *m, const char *name, const char *value) {
  dorm_av v;
  assert_int_equal(dorm_av_str_copy(a, value, strlen(value), &v), DORM_OK);
  it_set_av(a, m, name, v);
}

void it_set_n(dorm_arena *a, dorm_av *m, const char *name, int64_t value) {
  dorm_av v;
  assert_int_equal(dorm_av_num_i64(a, value, &v), DORM_OK);
  it_set_av(a, m, name, v);
}

dorm_av it_key_s(dorm_arena *a, const char *pk, const char *pkv) {
  dorm_av k = it_map();
  it_set_s(a, &k, pk, pkv);
  return k;
}

dorm_av it_key_sn(dorm_arena *a, const char *pk, const char *pkv, const char *sk, int64_t skv) {
  dorm_av k = it_map();
  it_set_s(a, &k, pk, pkv);
  it_set_n(a, &k, sk, skv);
  return k;
}

const char *it_get_s(const dorm_av *item, const char *name) {
  const dorm_av *v = dorm_av_map_get(item, name);
  return v && v->type == DORM_AV_S ? v->u.s.ptr : NULL;
}

int64_t it_get_n(const dorm_av *item, const char *name) {
  int64_t n;
  if (dorm_av_get_i64(dorm_av_map_get(item, name), &n) != DORM_OK) return INT64_MIN;
  return n;
}

void it_assert_msg(dorm_client *c, ...) {
  const char *msg = dorm_client_errmsg(c);
  va_list ap;
  va_start(ap, c);
  const char *want;
  while ((want = va_arg(ap, const char *)) != NULL)
    if (!strstr(msg, want)) fail_msg("error message \"%s\" does not contain \"%s\"", msg, want);
  va_end(ap);
}

double it_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
