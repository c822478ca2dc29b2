/* probe */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

static dorm_client *C;
static char T[64]; /* PK S, SK S */

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(T, sizeof T, "it_limits");
  it_create_table(C, T, "PK", DORM_KEY_S, "SK", DORM_KEY_S);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  it_drop_table(C, T);
  dorm_client_free(C);
  return 0;
}

static char *rep(dorm_arena *a, const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = dorm_arena_alloc(a, u * n + 1);
  for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
  s[u * n] = 0;
  return s;
}

static void put_kv(const char *label, dorm_av pk, dorm_av sk, const char *extra, dorm_av ev) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av it = it_map();
  it_set_av(&a, &it, "PK", pk);
  it_set_av(&a, &it, "SK", sk);
  if (extra) it_set_av(&a, &it, extra, ev);
  dorm_put_input pi = {.table = T, .item = &it};
  dorm_status st = dorm_put_item(C, &pi, &a, NULL);
  printf("PROBE put %-28s -> %d %s\n", label, st, dorm_client_errmsg(C));
  dorm_arena_free(&a);
}

static void test_probe_keys(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  put_kv("pk 2048", dorm_av_str(rep(&a, "x", 2048)), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("pk 2049", dorm_av_str(rep(&a, "x", 2049)), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("pk 1024 e-acute (2048B)", dorm_av_str(rep(&a, "\xc3\xa9", 1024)), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("pk 1025 e-acute (2050B)", dorm_av_str(rep(&a, "\xc3\xa9", 1025)), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("sk 1024", dorm_av_str("p"), dorm_av_str(rep(&a, "x", 1024)), NULL, dorm_av_null());
  put_kv("sk 1025", dorm_av_str("p"), dorm_av_str(rep(&a, "x", 1025)), NULL, dorm_av_null());
  put_kv("pk empty", dorm_av_str(""), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("sk empty", dorm_av_str("p"), dorm_av_str(""), NULL, dorm_av_null());
  put_kv("nonkey empty S", dorm_av_str("p"), dorm_av_str("s"), "e", dorm_av_str(""));
  put_kv("nonkey empty B", dorm_av_str("p"), dorm_av_str("s"), "e", dorm_av_bytes("", 0));
  dorm_av ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&a, &ss, "", 0);
  put_kv("SS with empty", dorm_av_str("p"), dorm_av_str("s"), "e", ss);
  dorm_av ss2 = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&a, &ss2, "a", 1);
  dorm_av_set_add(&a, &ss2, "a", 1);
  put_kv("SS dup", dorm_av_str("p"), dorm_av_str("s"), "e", ss2);
  dorm_av ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&a, &ns, "1", 1);
  dorm_av_set_add(&a, &ns, "1.0", 3);
  put_kv("NS 1 and 1.0", dorm_av_str("p"), dorm_av_str("s"), "e", ns);
  put_kv("pk wrong type N", dorm_av_num("1"), dorm_av_str("s"), NULL, dorm_av_null());
  put_kv("empty attr name", dorm_av_str("p"), dorm_av_str("s"), "", dorm_av_str("v"));
  dorm_av m = it_map();
  it_set_av(&a, &m, "", dorm_av_str("v"));
  put_kv("empty nested name", dorm_av_str("p"), dorm_av_str("s"), "m", m);
  put_kv("NUL in S", dorm_av_str("p"), dorm_av_str("nul"), "e", dorm_av_strn("a\0b", 3));
  put_kv("name 65535", dorm_av_str("p"), dorm_av_str("s"), rep(&a, "n", 65535), dorm_av_str("v"));
  put_kv("name 65536", dorm_av_str("p"), dorm_av_str("s"), rep(&a, "n", 65536), dorm_av_str("v"));
  put_kv("pk name 256? (value)", dorm_av_str("p"), dorm_av_str("s"), rep(&a, "n", 256), dorm_av_str("v"));
  /* key on get: 2049 */
  dorm_av key = it_map();
  it_set_av(&a, &key, "PK", dorm_av_str(rep(&a, "x", 2049)));
  it_set_av(&a, &key, "SK", dorm_av_str("s"));
  dorm_av got;
  dorm_get_input gi = {.table = T, .key = &key};
  dorm_status st = dorm_get_item(C, &gi, &a, &got);
  printf("PROBE get pk 2049 -> %d %s\n", st, dorm_client_errmsg(C));
  dorm_av key2 = it_map();
  it_set_av(&a, &key2, "PK", dorm_av_str(""));
  it_set_av(&a, &key2, "SK", dorm_av_str("s"));
  gi.key = &key2;
  st = dorm_get_item(C, &gi, &a, &got);
  printf("PROBE get pk empty -> %d %s\n", st, dorm_client_errmsg(C));
  dorm_arena_free(&a);
}

static void test_probe_numbers(void **state) {
  (void)state;
  const char *nums[] = {"-0", "0.0", "1E+125", "9.9999999999999999999999999999999999999E+125", "1E+126",
                        "1E-130", "1E-131", "0.1E-129", "10E-131", "12345678901234567890123456789012345678",
                        "123456789012345678901234567890123456789", "1234567890123456789012345678901234567800000",
                        "007", "1.", ".5", "+1", "1e5", " 1", "0x10", "-", "1E", "9223372036854775807",
                        "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"};
  char ebuf[128];
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
    dorm_status cs = dorm_number_check(nums[i], strlen(nums[i]), ebuf, sizeof ebuf);
    char lab[64];
    snprintf(lab, sizeof lab, "N %.20s (check %d)", nums[i], cs);
    put_kv(lab, dorm_av_str("p"), dorm_av_str("n"), "n", dorm_av_num(nums[i]));
  }
  dorm_arena a = DORM_ARENA_INIT;
  double ds[] = {1e300, -0.0, 5e-324, 1e-130, 1e125, 9.999999999999999e125, 1e126, 2.2250738585072014e-308};
  for (size_t i = 0; i < sizeof ds / sizeof *ds; i++) {
    dorm_av v;
    dorm_status s = dorm_av_num_double(&a, ds[i], &v);
    printf("PROBE double %.17g -> %d %.*s\n", ds[i], s, s ? 0 : (int)v.u.s.len, s ? "" : v.u.s.ptr);
  }
  dorm_arena_free(&a);
}

static dorm_av nest(dorm_arena *a, int levels, bool list) {
  dorm_av v = dorm_av_str("leaf");
  for (int i = 0; i < levels; i++) {
    if (list) {
      dorm_av l = dorm_av_empty(DORM_AV_L);
      *dorm_av_list_push(a, &l) = v;
      v = l;
    } else {
      dorm_av m = it_map();
      it_set_av(a, &m, "m", v);
      v = m;
    }
  }
  return v;
}

static void test_probe_depth(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  for (int n = 30; n <= 34; n++) {
    char lab[40];
    snprintf(lab, sizeof lab, "maps %d", n);
    put_kv(lab, dorm_av_str("p"), dorm_av_str("d"), "d", nest(&a, n, false));
    snprintf(lab, sizeof lab, "lists %d", n);
    put_kv(lab, dorm_av_str("p"), dorm_av_str("d"), "d", nest(&a, n, true));
  }
  dorm_arena_free(&a);
}

static void test_probe_size(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  /* PK "p"(2+1) SK "z"(2+1) + name "big" + value */
  for (long d = -2; d <= 2; d++) {
    size_t base = 2 + 1 + 2 + 1 + 3;
    size_t vlen = 409600 - base + (size_t)d;
    char lab[40];
    snprintf(lab, sizeof lab, "size 409600%+ld", d);
    put_kv(lab, dorm_av_str("p"), dorm_av_str("z"), "big", dorm_av_strn(rep(&a, "x", vlen), vlen));
  }
  /* long names: 100 attrs each named 4000 bytes with 96-byte values: */
  for (long d = -1; d <= 1; d++) {
    dorm_av it = it_map();
    it_set_av(&a, &it, "PK", dorm_av_str("p"));
    it_set_av(&a, &it, "SK", dorm_av_str("names"));
    size_t total = 2 + 1 + 2 + 5;
    for (int i = 0; i < 100; i++) {
      char *nm = rep(&a, "n", 4000);
      snprintf(nm, 8, "%07d", i); nm[7] = 'n';
      it_set_av(&a, &it, nm, dorm_av_str(rep(&a, "v", 90)));
      total += 4090;
    }
    size_t fill = 409600 - total - 4 + (size_t)d;
    it_set_av(&a, &it, "fill", dorm_av_strn(rep(&a, "f", fill), fill));
    size_t sz; dorm_item_size(&it, &sz);
    dorm_put_input pi = {.table = T, .item = &it};
    dorm_status st = dorm_put_item(C, &pi, &a, NULL);
    printf("PROBE long names size %zu -> %d %s\n", sz, st, dorm_client_errmsg(C));
  }
  /* numbers: 20000 attrs of 38-digit numbers */
  for (long d = -1; d <= 1; d++) {
    dorm_av it = it_map();
    it_set_av(&a, &it, "PK", dorm_av_str("p"));
    it_set_av(&a, &it, "SK", dorm_av_str("nums"));
    dorm_av l = dorm_av_empty(DORM_AV_L);
    for (int i = 0; i < 19000; i++) *dorm_av_list_push(&a, &l) = dorm_av_num("12345678901234567890123456789012345678");
    it_set_av(&a, &it, "l", l);
    size_t sz; dorm_item_size(&it, &sz);
    size_t fill = 409600 - sz - 4 + (size_t)d;
    it_set_av(&a, &it, "fill", dorm_av_strn(rep(&a, "f", fill), fill));
    dorm_item_size(&it, &sz);
    dorm_put_input pi = {.table = T, .item = &it};
    dorm_status st = dorm_put_item(C, &pi, &a, NULL);
    printf("PROBE list of numbers size %zu -> %d %s\n", sz, st, dorm_client_errmsg(C));
  }
  dorm_arena_free(&a);
}


static dorm_av kv(dorm_arena *a, const char *pk, const char *sk) {
  dorm_av it = it_map();
  it_set_s(a, &it, "PK", pk);
  it_set_s(a, &it, "SK", sk);
  return it;
}

static void test_probe_multi(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  /* batch write with two puts of one key */
  dorm_av i1 = kv(&a, "bw", "1"), i2 = kv(&a, "bw", "1"), i3 = kv(&a, "bw", "3");
  dorm_batch_write_entry e[3] = {{T, &i1, NULL}, {T, &i2, NULL}, {T, &i3, NULL}};
  size_t written = 99;
  dorm_status st = dorm_batch_write(C, e, 3, NULL, &written);
  printf("PROBE batch_write dup put -> %d written %zu %s\n", st, written, dorm_client_errmsg(C));
  dorm_av k1 = kv(&a, "bw", "3");
  dorm_batch_write_entry e2[2] = {{T, &i3, NULL}, {T, NULL, &k1}};
  st = dorm_batch_write(C, e2, 2, NULL, &written);
  printf("PROBE batch_write put+delete same -> %d written %zu %s\n", st, written, dorm_client_errmsg(C));
  /* batch get dup */
  dorm_batch_get_entry g[2] = {{T, &k1}, {T, &k1}};
  dorm_av items[2];
  size_t found = 0;
  st = dorm_batch_get(C, g, 2, NULL, &a, items, &found);
  printf("PROBE batch_get dup -> %d found %zu %s\n", st, found, dorm_client_errmsg(C));
  /* transact same item twice */
  dorm_tx_write tw[2] = {{.kind = DORM_TX_PUT, .table = T, .item = &i1}, {.kind = DORM_TX_PUT, .table = T, .item = &i2}};
  size_t fi = 7;
  st = dorm_transact_write(C, tw, 2, NULL, &fi);
  printf("PROBE tx dup -> %d idx %zu %s\n", st, fi, dorm_client_errmsg(C));
  dorm_tx_get tg[2] = {{T, &k1, NULL}, {T, &k1, NULL}};
  st = dorm_transact_get(C, tg, 2, &a, items);
  printf("PROBE txget dup -> %d %s\n", st, dorm_client_errmsg(C));
  /* expression longer than 4 KB */
  for (int n = 150; n <= 400; n += 250) {
    dorm_expr x;
    dorm_expr_init(&x, &a);
    for (int i = 0; i < n; i++) {
      char nm[16];
      snprintf(nm, sizeof nm, "a%d", i);
      dorm_update_set(&x, nm, dorm_av_num("1"));
    }
    dorm_av k = kv(&a, "ex", "1");
    dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
    st = dorm_update_item(C, &ui, &a, NULL);
    dorm_expr_finish(&x);
    printf("PROBE update %d SETs (len %zu) -> %d %s\n", n, x.update ? strlen(x.update) : 0, st, dorm_client_errmsg(C));
  }
  /* names with dots */
  dorm_av it = kv(&a, "dot", "1");
  it_set_s(&a, &it, "a.b", "flat");
  dorm_av inner = it_map();
  it_set_s(&a, &inner, "b", "nested");
  it_set_av(&a, &it, "a", inner);
  dorm_put_input pi = {.table = T, .item = &it};
  st = dorm_put_item(C, &pi, &a, NULL);
  printf("PROBE put dots -> %d %s\n", st, dorm_client_errmsg(C));
  {
    dorm_expr x;
    dorm_expr_init(&x, &a);
    const char *paths[] = {"a\\.b"};
    dorm_expr_projection(&x, paths, 1);
    dorm_av k = kv(&a, "dot", "1"), got;
    dorm_get_input gi = {.table = T, .key = &k, .expr = &x, .consistent_read = true};
    st = dorm_get_item(C, &gi, &a, &got);
    const dorm_av *v = dorm_av_map_get(&got, "a.b");
    printf("PROBE proj a\\.b -> %d count %zu flat=%s\n", st, got.u.map.count, v && v->type == DORM_AV_S ? v->u.s.ptr : "-");
  }
  /* NUL round trip */
  {
    dorm_av k = kv(&a, "p", "nul"), got;
    dorm_get_input gi = {.table = T, .key = &k, .consistent_read = true};
    st = dorm_get_item(C, &gi, &a, &got);
    const dorm_av *v = dorm_av_map_get(&got, "e");
    printf("PROBE NUL get -> %d len %zu %s\n", st, v ? v->u.s.len : 0, dorm_client_errmsg(C));
  }
  /* parallel scan segments */
  for (uint32_t ts = 0; ts <= 1000001; ts += 1000001) {
    dorm_page pg;
    dorm_scan_input si = {.table = T, .limit = 1, .segment = 0, .total_segments = ts};
    st = dorm_scan(C, &si, &a, &pg);
    printf("PROBE scan total_segments %u -> %d %s\n", ts, st, dorm_client_errmsg(C));
  }
  {
    dorm_page pg;
    dorm_scan_input si = {.table = T, .limit = 1, .segment = 5, .total_segments = 5};
    st = dorm_scan(C, &si, &a, &pg);
    printf("PROBE scan segment 5 of 5 -> %d %s\n", st, dorm_client_errmsg(C));
    dorm_scan_input si2 = {.table = T, .limit = 1, .segment = 999999, .total_segments = 1000000};
    st = dorm_scan(C, &si2, &a, &pg);
    printf("PROBE scan segment 999999 of 1000000 -> %d %s\n", st, dorm_client_errmsg(C));
  }
  /* nested expression value 32 wraps */
  {
    dorm_expr x;
    dorm_expr_init(&x, &a);
    dorm_update_set(&x, "deep", nest(&a, 32, true));
    dorm_av k = kv(&a, "ex", "2");
    dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
    st = dorm_update_item(C, &ui, &a, NULL);
    printf("PROBE update value 32 wraps -> %d %s\n", st, dorm_client_errmsg(C));
  }
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe_keys),
      cmocka_unit_test(test_probe_numbers),
      cmocka_unit_test(test_probe_depth),
      cmocka_unit_test(test_probe_size),
      cmocka_unit_test(test_probe_multi),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
