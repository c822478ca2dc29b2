/* dorm_arena: alignment, growth, reset reuse, caller buffers, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/arena.h"

static void alloc_is_aligned_and_distinct(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  char *prev = NULL;
  for (size_t i = 0; i < 1000; i++) {
    char *p = dorm_arena_alloc(&a, i % 37);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    assert_ptr_not_equal(p, prev); /* even size 0 gives a fresh pointer */
    memset(p, 0xAB, i % 37);
    prev = p;
  }
  for (size_t al = 1; al <= 4096; al *= 2) {
    char *p = dorm_arena_alloc_aligned(&a, 3, al);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % al, 0);
  }
  assert_null(dorm_arena_alloc_aligned(&a, 8, 3));    /* not a power of two */
  assert_null(dorm_arena_alloc_aligned(&a, 8, 8192)); /* above the supported maximum */
  dorm_arena_free(&a);
  assert_int_equal(dorm_arena_heap_bytes(&a), 0);
}

static void grows_and_keeps_contents(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 64);
  char *ptrs[500];
  for (int i = 0; i < 500; i++) {
    ptrs[i] = dorm_arena_printf(&a, "value-%d", i);
    assert_non_null(ptrs[i]);
  }
  for (int i = 0; i < 500; i++) {
    char want[32];
    snprintf(want, sizeof want, "value-%d", i);
    assert_string_equal(ptrs[i], want);
  }
  /* A request far bigger than a block gets its own block. */
  char *big = dorm_arena_alloc(&a, 1 << 20);
  assert_non_null(big);
  memset(big, 1, 1 << 20);
  assert_true(dorm_arena_heap_bytes(&a) >= (1u << 20));
  assert_true(dorm_arena_used(&a) >= (1u << 20) + 500 * 8);
  dorm_arena_free(&a);
  assert_int_equal(dorm_arena_used(&a), 0);
}

static void overflow_returns_null(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  assert_null(dorm_arena_alloc(&a, SIZE_MAX));
  assert_null(dorm_arena_alloc(&a, SIZE_MAX - 8));
  assert_null(dorm_arena_calloc(&a, SIZE_MAX / 2, 3));
  assert_null(dorm_arena_alloc_aligned(&a, SIZE_MAX - 100, 64));
  /* The arena still works after failures. */
  int *z = dorm_arena_calloc(&a, 10, sizeof(int));
  assert_non_null(z);
  for (int i = 0; i < 10; i++) assert_int_equal(z[i], 0);
  dorm_arena_free(&a);
}

static void reset_reuses_memory_without_heap(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 256);
  /* First "request": several blocks. */
  for (int i = 0; i < 200; i++) assert_non_null(dorm_arena_alloc(&a, 100));
  size_t used = dorm_arena_used(&a);
  dorm_arena_reset(&a);
  assert_int_equal(dorm_arena_used(&a), 0);
  size_t held = dorm_arena_heap_bytes(&a);
  assert_true(held >= used);
  /* Reset merged the blocks: the same request now fits without new heap. */
  char *first = dorm_arena_alloc(&a, 100);
  for (int i = 1; i < 200; i++) assert_non_null(dorm_arena_alloc(&a, 100));
  assert_int_equal(dorm_arena_heap_bytes(&a), held);
  dorm_arena_reset(&a);
  assert_ptr_equal(dorm_arena_alloc(&a, 100), first);
  assert_int_equal(dorm_arena_heap_bytes(&a), held);
  dorm_arena_free(&a);
  dorm_arena_free(&a); /* twice is fine */
}

static void caller_buffer_first(void **state) {
  (void)state;
  _Alignas(max_align_t) char buf[512];
  dorm_arena a;
  dorm_arena_init_buffer(&a, buf, sizeof buf);
  char *p = dorm_arena_strdup(&a, "in the buffer");
  assert_true(p >= buf && p < buf + sizeof buf);
  assert_int_equal(dorm_arena_heap_bytes(&a), 0);
  char *q = dorm_arena_alloc(&a, 2000); /* spills to the heap */
  assert_non_null(q);
  assert_true(q < buf || q >= buf + sizeof buf);
  assert_true(dorm_arena_heap_bytes(&a) > 0);
  dorm_arena_reset(&a);
  assert_ptr_equal(dorm_arena_strdup(&a, "again"), buf); /* the buffer is used first again */
  dorm_arena_free(&a);
  assert_int_equal(dorm_arena_heap_bytes(&a), 0);
  assert_ptr_equal(dorm_arena_alloc_aligned(&a, 1, 1), buf); /* free keeps the buffer */
  dorm_arena_free(&a);
}

static void string_helpers(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  assert_string_equal(dorm_arena_strdup(&a, ""), "");
  assert_string_equal(dorm_arena_strndup(&a, "abcdef", 3), "abc");
  assert_string_equal(dorm_arena_strndup(&a, "ab\0cd", 5), "ab");
  assert_null(dorm_arena_strdup(&a, NULL));
  const unsigned char bytes[4] = {0, 1, 0xFF, 0};
  unsigned char *d = dorm_arena_memdup(&a, bytes, 4);
  assert_memory_equal(d, bytes, 4);
  assert_string_equal(dorm_arena_printf(&a, "%s=%d", "x", 42), "x=42");
  dorm_arena_free(&a);
}

static void realloc_extends_in_place(void **state) {
  (void)state;
  dorm_arena a;
  dorm_arena_init(&a, 4096);
  char *p = dorm_arena_alloc(&a, 16);
  memcpy(p, "0123456789abcdef", 16);
  char *q = dorm_arena_realloc(&a, p, 16, 64);
  assert_ptr_equal(p, q); /* latest allocation grows in place */
  char *other = dorm_arena_alloc(&a, 8);
  (void)other;
  char *r = dorm_arena_realloc(&a, q, 64, 128); /* no longer the latest: copied */
  assert_ptr_not_equal(r, q);
  assert_memory_equal(r, "0123456789abcdef", 16);
  char *big = dorm_arena_realloc(&a, r, 128, 100000); /* beyond the block */
  assert_non_null(big);
  assert_memory_equal(big, "0123456789abcdef", 16);
  assert_ptr_equal(dorm_arena_realloc(&a, big, 100000, 10), big); /* shrink */
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(alloc_is_aligned_and_distinct),
    cmocka_unit_test(grows_and_keeps_contents),
    cmocka_unit_test(overflow_returns_null),
    cmocka_unit_test(reset_reuses_memory_without_heap),
    cmocka_unit_test(caller_buffer_first),
    cmocka_unit_test(string_helpers),
    cmocka_unit_test(realloc_extends_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
